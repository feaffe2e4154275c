/*
 * wrap_internal.h - what `faultline wrap` (cli/src/cmd_wrap.c) and the
 * preloaded library (wrap/src/preload.c) share: the wrapped calls' point
 * names, the compiled plan form the verb hands the preload, and the layout
 * of the accounting file the preload writes and the verb reads.
 *
 * The preload depends on libc and libdl only, so this header holds plain
 * data and static inline helpers, nothing to link.
 *
 * The compiled plan (environment variable FL_WRAP_ENV_PLAN): "v2 SEED"
 * then one term per ';'-separated group of space-separated unsigned
 * decimal fields, in the order of struct fl__wrap_term. Terms of one point
 * come in the plan's order; the first that fires decides.
 */
#ifndef FL_WRAP_INTERNAL_H
#define FL_WRAP_INTERNAL_H

#include <stdint.h>

/* Environment: the compiled plan, the accounting file's path. */
#define FL_WRAP_ENV_PLAN "FAULTLINE_WRAP_PLAN"
#define FL_WRAP_ENV_OUT "FAULTLINE_WRAP_OUT"
/* --only-from: ':'-separated object names ("prog", "libfoo" matching
 * libfoo.so.1); only calls made from code in them are evaluated. */
#define FL_WRAP_ENV_ONLY "FAULTLINE_WRAP_ONLY"
/* --report-on: the signal number on which the preload writes a leak
 * snapshot (fl__wrap_acct.snap) without the program exiting. */
#define FL_WRAP_ENV_SIGNAL "FAULTLINE_WRAP_SIGNAL"

/* The wrapped calls, in the accounting file's order. */
enum fl__wrap_point {
	FL_WRAP_MALLOC,
	FL_WRAP_CALLOC,
	FL_WRAP_REALLOC,
	FL_WRAP_READ,
	FL_WRAP_WRITE,
	FL_WRAP_OPEN,
	FL_WRAP_CLOSE,
	FL_WRAP_FSYNC,
	FL_WRAP_CONNECT,
	FL_WRAP_ACCEPT,
	FL_WRAP_SEND,
	FL_WRAP_RECV,
	FL_WRAP_THREAD_CREATE,
	FL_WRAP_NANOSLEEP,
	FL_WRAP_PWRITE,
	FL_WRAP_PREAD,
	FL_WRAP_OPENAT,
	FL_WRAP_WRITEV,
	FL_WRAP_READV,
	FL_WRAP_SENDTO,
	FL_WRAP_RECVFROM,
	FL_WRAP_SENDMSG,
	FL_WRAP_RECVMSG,
	FL_WRAP_CLOCK_NANOSLEEP,
	FL_WRAP_POSIX_MEMALIGN,
	FL_WRAP_ALIGNED_ALLOC,
	FL_WRAP_MEMALIGN,
	FL_WRAP_NPOINTS
};

static const char *const fl__wrap_point_names[FL_WRAP_NPOINTS] = {
	"libc/mem/malloc",         "libc/mem/calloc",
	"libc/mem/realloc",        "libc/io/read",
	"libc/io/write",           "libc/io/open",
	"libc/io/close",           "libc/io/fsync",
	"libc/net/connect",        "libc/net/accept",
	"libc/net/send",           "libc/net/recv",
	"libc/thread/create",      "libc/time/nanosleep",
	"libc/io/pwrite",          "libc/io/pread",
	"libc/io/openat",          "libc/io/writev",
	"libc/io/readv",           "libc/net/sendto",
	"libc/net/recvfrom",       "libc/net/sendmsg",
	"libc/net/recvmsg",        "libc/time/clock_nanosleep",
	"libc/mem/posix_memalign", "libc/mem/aligned_alloc",
	"libc/mem/memalign",
};

/* What a compiled term does. */
enum fl__wrap_action {
	FL_WRAP_ACT_OFF,   /* count the firing, do nothing */
	FL_WRAP_ACT_ERROR, /* fail the call with errno (malloc: NULL, ENOMEM) */
	FL_WRAP_ACT_SLEEP, /* sleep a drawn duration, then make the call */
	FL_WRAP_ACT_DELAY, /* spin a drawn duration on the clock, then call */
	FL_WRAP_NACT
};

static const char *const fl__wrap_action_names[FL_WRAP_NACT] = {"off", "error", "sleep", "delay"};

/* Modifier bits (the fault library's FL_FAULT_MOD_* values that wrap runs). */
enum { FL_WRAP_M_AT = 1, FL_WRAP_M_EVERY = 2, FL_WRAP_M_PCT = 64, FL_WRAP_M_CNT = 128 };

/* One compiled term: the fields in the order the plan string lists them. */
struct fl__wrap_term {
	uint64_t point;  /* enum fl__wrap_point */
	uint64_t action; /* enum fl__wrap_action */
	uint64_t mods;   /* FL_WRAP_M_* */
	uint64_t at_lo, at_hi;
	uint64_t every, cnt;
	uint64_t pct_threshold, pct_always;
	uint64_t err;     /* errno for error */
	uint64_t uniform; /* sleep/delay: 1 uniform [a, b], 0 fixed a */
	uint64_t a_ns, b_ns, jitter_ns;
	uint64_t draw; /* the term's index in its rule: its draws' number, as in faults */
};
#define FL_WRAP_TERM_FIELDS 15
#define FL_WRAP_MAX_TERMS 64

/* ---- the accounting file ---------------------------------------------------- */

#define FL_WRAP_MAGIC 0x464c5752u /* "FLWR" */
#define FL_WRAP_VERSION 4u
#define FL_WRAP_LOG 32   /* firings kept with their call stacks */
#define FL_WRAP_FRAMES 8 /* frames kept per firing */
#define FL_WRAP_FRAME_LEN 120

struct fl__wrap_firing {
	uint32_t point, action;
	int32_t err;
	uint32_t thread; /* thread ordinal: 0 main, then creation order */
	uint64_t eval;   /* the point's evaluation index (1-based, process-wide) */
	uint32_t nframes;
	char frames[FL_WRAP_FRAMES][FL_WRAP_FRAME_LEN]; /* "module(symbol+0xoff)" */
};

#define FL_WRAP_LEAK_FDS 16  /* leaked descriptors listed */
#define FL_WRAP_LEAK_SITES 8 /* leaked heap blocks listed */

/* What was still there at exit that was not there when start-up ended. */
struct fl__wrap_leaks {
	uint32_t judged; /* the destructor ran and counted */
	uint32_t nfds;   /* descriptors left open (the first FL_WRAP_LEAK_FDS listed) */
	int32_t fd[FL_WRAP_LEAK_FDS];
	char fd_target[FL_WRAP_LEAK_FDS][FL_WRAP_FRAME_LEN]; /* readlink of /proc/self/fd/N */
	uint32_t threads; /* threads alive beside the exiting one, above the baseline */
	uint64_t heap_blocks, heap_bytes; /* allocated by the program, not freed */
	uint64_t heap_untracked;          /* blocks the full table could not follow */
	uint32_t nsites;                  /* the first leaked blocks, with their callers */
	uint64_t site_bytes[FL_WRAP_LEAK_SITES];
	char site[FL_WRAP_LEAK_SITES][FL_WRAP_FRAME_LEN];
};

/* The file the preload maps shared and the verb reads after the program
 * ends: counters are updated in place (atomics), so a crash loses nothing
 * counted before it. */
struct fl__wrap_acct {
	uint32_t magic, version;
	uint32_t started;  /* the preload's constructor ran */
	uint32_t finished; /* its destructor ran (a normal exit) */
	uint64_t seed;
	uint64_t evals[FL_WRAP_NPOINTS];
	uint64_t fires[FL_WRAP_NPOINTS][FL_WRAP_NACT];
	uint64_t nlog; /* firings ever (the log keeps the first FL_WRAP_LOG) */
	struct fl__wrap_firing log[FL_WRAP_LOG];
	struct fl__wrap_leaks leaks;
	/* --report-on: snapshots taken on the signal (the count is stored
	 * after snap is written); snap holds the latest */
	uint32_t snapshots;
	struct fl__wrap_leaks snap;
};

#endif
