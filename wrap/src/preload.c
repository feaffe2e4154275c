/*
 * preload.c - the core of libfaultline-preload.so: the compiled plan the
 * verb handed over, the per-call decision, the accounting file, start-up
 * and exit. calls.c, above it, holds the interposed libc calls.
 *
 * Depends on libc and libdl only: no faultline library, no allocator of
 * ours, no scheduler. Every call it makes runs under the thread's guard,
 * so the wrappers pass them straight to libc.
 *
 * Decisions: @N..M and every(N) count the point's evaluations process-wide
 * (one atomic counter per point, as the fault library counts per plan and
 * point); a probability draw is a pure function of (seed, point, thread
 * ordinal, that thread's own evaluation count at the point). So a seed
 * gives the same firings per thread however the threads interleave, as
 * long as the threads are created in the same order. cnt* limits count
 * process-wide, so which thread uses them up depends on the schedule.
 */
#define _GNU_SOURCE
#include "preload_internal.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

FL_TLS int fl__wrap_guard;
FL_TLS long fl__wrap_thread = -1;
static FL_TLS uint64_t thread_evals[FL_WRAP_NPOINTS];

static struct fl__wrap_acct local_acct; /* when no accounting file was named */
static struct fl__wrap_acct *book = &local_acct;
static volatile int ready; /* the constructor finished */
static long next_thread = 1;
static long next_foreign = 1L << 20; /* threads not created through the wrapper */

static struct fl__wrap_term terms[FL_WRAP_MAX_TERMS];
static uint64_t term_fires[FL_WRAP_MAX_TERMS];
static size_t nterms;
static uint64_t seed;
static uint64_t point_hash[FL_WRAP_NPOINTS];
static uint64_t armed_points; /* bit per point with a term */
static uintptr_t ldso_lo, ldso_hi, self_lo, self_hi, libc_lo, libc_hi;
/* --only-from: only calls made from these objects are evaluated */
#define MAX_ONLY 8
static const char *only; /* the module names, ':'-separated; NULL: every caller */
static uintptr_t only_lo[MAX_ONLY], only_hi[MAX_ONLY];
static int nonly;
static uint64_t base_fds[16]; /* descriptors 0..1023 open when start-up ended */
static long base_threads;

/* ---- draws (the fault library's, fl_fault_draw) ------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t draw(uint64_t stream, uint64_t idx, uint64_t j)
{
	return mix64(mix64(mix64(seed ^ stream) + idx) + j);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix64(h);
}

long fl__wrap_next_thread(void) { return __atomic_fetch_add(&next_thread, 1, __ATOMIC_RELAXED); }

/* ---- the compiled plan -------------------------------------------------------- */

/* Reads "v2 SEED;term;term..." (wrap_internal.h). A malformed plan is the
 * verb's bug: say so and run with none rather than guess. */
static void read_plan(const char *s)
{
	char *end;
	if (strncmp(s, "v2 ", 3) != 0)
		goto bad;
	seed = strtoull(s + 3, &end, 10);
	s = end;
	while (*s == ';' && nterms < FL_WRAP_MAX_TERMS) {
		uint64_t f[FL_WRAP_TERM_FIELDS];
		s++;
		for (int i = 0; i < FL_WRAP_TERM_FIELDS; i++) {
			f[i] = strtoull(s, &end, 10);
			if (end == s)
				goto bad;
			s = end;
		}
		if (f[0] >= FL_WRAP_NPOINTS || f[1] >= FL_WRAP_NACT)
			goto bad;
		memcpy(&terms[nterms++], f, sizeof(f));
		armed_points |= 1ull << f[0];
	}
	if (*s == '\0')
		return;
bad:
	nterms = 0;
	armed_points = 0;
	fputs("libfaultline-preload: malformed " FL_WRAP_ENV_PLAN "; running without faults\n",
	      stderr);
}

/* ---- deciding ----------------------------------------------------------------- */

static const struct fl__wrap_term *decide(int point, uint64_t k, uint64_t tk, uint64_t stream)
{
	for (size_t i = 0; i < nterms; i++) {
		const struct fl__wrap_term *t = &terms[i];
		if (t->point != (uint64_t)point)
			continue;
		if ((t->mods & FL_WRAP_M_AT) && (k < t->at_lo || k > t->at_hi))
			continue;
		if ((t->mods & FL_WRAP_M_EVERY) && k % t->every != 0)
			continue;
		if ((t->mods & FL_WRAP_M_PCT) && !t->pct_always &&
		    draw(stream, tk, 4 * t->draw) >= t->pct_threshold)
			continue;
		if ((t->mods & FL_WRAP_M_CNT) &&
		    __atomic_fetch_add(&term_fires[i], 1, __ATOMIC_RELAXED) >= t->cnt)
			continue;
		return t;
	}
	return NULL;
}

static double unit(uint64_t x) { return (double)(x >> 11) * 0x1.0p-53; }

/* The wait a sleep or delay term drew (as the fault library's sample). */
static int64_t wait_ns(const struct fl__wrap_term *t, uint64_t stream, uint64_t tk)
{
	double a = (double)t->a_ns, v = a;
	uint64_t j = 4 * t->draw;
	if (t->uniform)
		v = a + ((double)t->b_ns - a) * unit(draw(stream, tk, j + 1));
	v += (2 * unit(draw(stream, tk, j + 3)) - 1) * (double)t->jitter_ns;
	return v <= 0 ? 0 : (int64_t)v;
}

static void wait_for(const struct fl__wrap_term *t, int64_t ns)
{
	struct timespec now, end;
	clock_gettime(CLOCK_MONOTONIC, &now);
	end.tv_sec = now.tv_sec + ns / 1000000000;
	end.tv_nsec = now.tv_nsec + ns % 1000000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	if (t->action == FL_WRAP_ACT_SLEEP) {
		/* the system call, not clock_nanosleep(): that is the wrapper's symbol */
		int saved = errno;
		while (syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) !=
			       0 &&
		       errno == EINTR)
			;
		errno = saved;
		return;
	}
	do /* delay: spin on the clock */
		clock_gettime(CLOCK_MONOTONIC, &now);
	while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
}

/* ---- the firing log ------------------------------------------------------------- */

static void frame_text(void *addr, char *out, size_t cap)
{
	Dl_info di;
	if (!dladdr(addr, &di) || !di.dli_fname) {
		snprintf(out, cap, "[%p]", addr);
		return;
	}
	const char *mod = strrchr(di.dli_fname, '/');
	mod = mod ? mod + 1 : di.dli_fname;
	uintptr_t off = (uintptr_t)addr - (uintptr_t)di.dli_fbase;
	if (di.dli_sname)
		snprintf(out, cap, "%s(%s+0x%lx) +0x%lx", mod, di.dli_sname,
			 (unsigned long)((uintptr_t)addr - (uintptr_t)di.dli_saddr),
			 (unsigned long)off);
	else
		snprintf(out, cap, "%s +0x%lx", mod, (unsigned long)off);
}

/* Keeps the first FL_WRAP_LOG firings with their callers' stacks (the
 * preload's own frames left out). */
static void log_firing(int point, const struct fl__wrap_term *t, uint64_t k)
{
	uint64_t n = __atomic_fetch_add(&book->nlog, 1, __ATOMIC_RELAXED);
	if (n >= FL_WRAP_LOG)
		return;
	struct fl__wrap_firing *f = &book->log[n];
	f->point = (uint32_t)point;
	f->action = (uint32_t)t->action;
	f->err = (int32_t)t->err;
	f->thread = (uint32_t)fl__wrap_thread;
	f->eval = k;
	void *pcs[FL_WRAP_FRAMES + 8];
	int np = backtrace(pcs, FL_WRAP_FRAMES + 8);
	uint32_t nf = 0;
	for (int i = 0; i < np && nf < FL_WRAP_FRAMES; i++) {
		uintptr_t a = (uintptr_t)pcs[i];
		if (a >= self_lo && a < self_hi)
			continue;
		/* a return address: the call is the byte before it */
		frame_text((char *)pcs[i] - 1, f->frames[nf++], FL_WRAP_FRAME_LEN);
	}
	f->nframes = nf;
}

/* ---- the entry of every wrapper --------------------------------------------------- */

/* Whether a caller lies in an object --only-from chose (or none was). */
static bool from_chosen(uintptr_t a)
{
	if (!only)
		return true;
	for (int i = 0; i < nonly; i++)
		if (a >= only_lo[i] && a < only_hi[i])
			return true;
	return false;
}

int fl__wrap_enter(int point, const void *ra)
{
	uintptr_t a = (uintptr_t)ra;
	if (fl__wrap_guard || !ready || (a >= ldso_lo && a < ldso_hi) || !from_chosen(a))
		return 0;
	fl__wrap_guard = 1;
	uint64_t k = __atomic_add_fetch(&book->evals[point], 1, __ATOMIC_RELAXED);
	uint64_t tk = ++thread_evals[point];
	int err = 0;
	if (armed_points & (1ull << point)) {
		if (fl__wrap_thread < 0)
			fl__wrap_thread = __atomic_fetch_add(&next_foreign, 1, __ATOMIC_RELAXED);
		uint64_t stream = point_hash[point];
		if (fl__wrap_thread > 0)
			stream = mix64(stream ^ mix64((uint64_t)fl__wrap_thread));
		const struct fl__wrap_term *t = decide(point, k, tk, stream);
		if (t) {
			__atomic_add_fetch(&book->fires[point][t->action], 1, __ATOMIC_RELAXED);
			log_firing(point, t, k);
			if (t->action == FL_WRAP_ACT_ERROR)
				err = (int)t->err;
			else if (t->action == FL_WRAP_ACT_SLEEP || t->action == FL_WRAP_ACT_DELAY)
				wait_for(t, wait_ns(t, stream, tk));
		}
	}
	fl__wrap_guard = 0;
	return err;
}

/* ---- leaks ------------------------------------------------------------------------- */

bool fl__wrap_from_libc(const void *ra)
{
	uintptr_t a = (uintptr_t)ra;
	return (a >= libc_lo && a < libc_hi) || (a >= ldso_lo && a < ldso_hi);
}

bool fl__wrap_counting(void) { return ready; }

/* Calls fn on each entry of a /proc/self directory that is a number. */
static long each_number(const char *dir, void (*fn)(long n, int dfd, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	long count = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		count++;
		if (fn)
			fn(strtol(e->d_name, NULL, 10), dirfd(d), arg);
	}
	closedir(d);
	return count;
}

static void fd_base(long fd, int dfd, void *arg)
{
	if (fd != dfd && fd >= 0 && fd < 1024)
		base_fds[fd / 64] |= 1ull << (fd % 64);
}

static void fd_left(long fd, int dfd, void *arg)
{
	struct fl__wrap_leaks *L = arg;
	if (fd == dfd || (fd >= 0 && fd < 1024 && (base_fds[fd / 64] >> (fd % 64)) & 1))
		return;
	if (L->nfds < FL_WRAP_LEAK_FDS) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%ld", fd);
		char *t = L->fd_target[L->nfds];
		ssize_t n = readlink(path, t, FL_WRAP_FRAME_LEN - 1);
		t[n > 0 ? n : 0] = '\0';
		L->fd[L->nfds] = (int32_t)fd;
	}
	L->nfds++;
}

static void heap_left(void *arg, uint64_t size, const void *site)
{
	struct fl__wrap_leaks *L = arg;
	if (L->nsites >= FL_WRAP_LEAK_SITES)
		return;
	L->site_bytes[L->nsites] = size;
	frame_text((char *)site - 1, L->site[L->nsites], FL_WRAP_FRAME_LEN);
	L->nsites++;
}

/* At exit: what is there now that was not when start-up ended. */
static void judge_leaks(struct fl__wrap_leaks *L)
{
	each_number("/proc/self/fd", fd_left, L);
	long t = each_number("/proc/self/task", NULL, NULL);
	L->threads = t > base_threads ? (uint32_t)(t - base_threads) : 0;
	fl__wrap_heap_summary(&L->heap_blocks, &L->heap_bytes, &L->heap_untracked, heap_left, L);
	__atomic_store_n(&L->judged, 1, __ATOMIC_RELEASE);
}

/* ---- snapshots on a signal (--report-on) -------------------------------------------
 * The handler only writes a byte to a pipe (async-signal-safe, a system
 * call) and waits, bounded, on a futex for the snapshot's count to move.
 * A thread of the preload's own, started before the baseline (so neither
 * it nor the pipe counts as a leak) and guarded (its calls are never
 * faulted or counted), reads the pipe and judges the leaks into the
 * accounting's snap. Judging outside the handler keeps the handler safe
 * even when it interrupts a thread holding the heap table's lock or the
 * loader's: the snapshot then waits for that thread, the handler gives up
 * waiting after two seconds and returns, and the snapshot completes. The
 * wait makes a program's raise() return after its snapshot is written. */

static int snap_pipe[2] = {-1, -1};
static int snap_done; /* futex word: snapshots completed */
static long snap_pid; /* a forked child has no snapshot thread: it is left out */

static void snap_handler(int sig)
{
	int saved = errno;
	if (syscall(SYS_getpid) != snap_pid)
		return;
	int seen = __atomic_load_n(&snap_done, __ATOMIC_ACQUIRE);
	char c = 1;
	if (syscall(SYS_write, snap_pipe[1], &c, 1) == 1) {
		struct timespec left = {2, 0}; /* relative, per wait */
		while (__atomic_load_n(&snap_done, __ATOMIC_ACQUIRE) == seen &&
		       syscall(SYS_futex, &snap_done, FUTEX_WAIT_PRIVATE, seen, &left, NULL, 0) ==
			       0)
			;
	}
	errno = saved;
}

static void *snap_thread(void *arg)
{
	fl__wrap_guard = 1;
	char c;
	for (;;) {
		ssize_t n = syscall(SYS_read, snap_pipe[0], &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return arg;
		memset(&book->snap, 0, sizeof(book->snap));
		judge_leaks(&book->snap);
		__atomic_add_fetch(&book->snapshots, 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&snap_done, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &snap_done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
	}
}

/* Start-up, before the baseline: the pipe, the thread, the handler. */
static void snap_start(const char *sigtext)
{
	int sig = sigtext ? atoi(sigtext) : 0;
	if (sig <= 0 || sig > SIGRTMAX || syscall(SYS_pipe2, snap_pipe, O_CLOEXEC) != 0)
		return;
	int (*create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
			 void *))dlsym(RTLD_NEXT, "pthread_create");
	pthread_t t;
	if (!create || create(&t, NULL, snap_thread, NULL) != 0)
		return;
	pthread_detach(t);
	snap_pid = syscall(SYS_getpid);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = snap_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* ---- start-up and exit ------------------------------------------------------------ */

static int find_ranges(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (s < lo)
			lo = s;
		if (s + ph->p_memsz > hi)
			hi = s + ph->p_memsz;
	}
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (strstr(name, "/libc.so")) {
		libc_lo = lo;
		libc_hi = hi;
	}
	if (strstr(name, "/ld-linux") || strstr(name, "/ld64") || strstr(name, "/ld-musl")) {
		ldso_lo = lo;
		ldso_hi = hi;
	}
	if ((uintptr_t)arg >= lo && (uintptr_t)arg < hi) {
		self_lo = lo;
		self_hi = hi;
	}
	/* the program itself has no name here: it is the first object */
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : *name ? name : program_invocation_short_name;
	size_t bl = strlen(base);
	for (const char *p = only; p && *p && nonly < MAX_ONLY;) {
		size_t n = strcspn(p, ":");
		if (n && (n == bl || (n < bl && base[n] == '.')) && strncmp(p, base, n) == 0) {
			only_lo[nonly] = lo;
			only_hi[nonly++] = hi;
			break;
		}
		p += n + (p[n] == ':');
	}
	return 0;
}

/* Maps the accounting file the verb named (shared, so the counts survive
 * a crash); without one the counts stay in this process. */
static void map_acct(const char *path)
{
	/* the system call, not openat(): that is the wrapper's symbol */
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ftruncate(fd, sizeof(struct fl__wrap_acct)) == 0) {
		void *m = mmap(NULL, sizeof(struct fl__wrap_acct), PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, 0);
		if (m != MAP_FAILED)
			book = m;
	}
	syscall(SYS_close, fd); /* not close(): that is the wrapper's symbol */
}

__attribute__((constructor)) static void preload_init(void)
{
	fl__wrap_guard = 1;
	fl__wrap_thread = 0;
	only = getenv(FL_WRAP_ENV_ONLY);
	if (only && !*only)
		only = NULL;
	dl_iterate_phdr(find_ranges, (void *)(uintptr_t)preload_init);
	const char *out = getenv(FL_WRAP_ENV_OUT);
	if (out && *out)
		map_acct(out);
	const char *plan = getenv(FL_WRAP_ENV_PLAN);
	if (plan && *plan)
		read_plan(plan);
	for (int p = 0; p < FL_WRAP_NPOINTS; p++)
		point_hash[p] = name_hash(fl__wrap_point_names[p]);
	/* The program's own children (exec) run unfaulted and uncounted. */
	unsetenv(FL_WRAP_ENV_OUT);
	unsetenv(FL_WRAP_ENV_PLAN);
	/* only (in the environment block, not copied) stays valid: unsetenv
	 * moves pointers, it does not free the strings */
	unsetenv(FL_WRAP_ENV_ONLY);
	void *warm[2];
	backtrace(warm, 2); /* loads the unwinder now, not at the first firing */
	fl__wrap_heap_atfork();
	snap_start(getenv(FL_WRAP_ENV_SIGNAL));
	unsetenv(FL_WRAP_ENV_SIGNAL);
	each_number("/proc/self/fd", fd_base, NULL);
	base_threads = each_number("/proc/self/task", NULL, NULL);
	book->seed = seed;
	book->version = FL_WRAP_VERSION;
	book->magic = FL_WRAP_MAGIC;
	__atomic_store_n(&book->started, 1, __ATOMIC_RELEASE);
	fl__wrap_guard = 0;
	ready = 1;
}

__attribute__((destructor)) static void preload_fini(void)
{
	fl__wrap_guard = 1;
	judge_leaks(&book->leaks);
	__atomic_store_n(&book->finished, 1, __ATOMIC_RELEASE);
}
