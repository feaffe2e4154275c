/* fl-test-labels: onebackend notsan */
/* onebackend: the wrapped program is no faultline program; it has no
 * backend. notsan: a preloaded library and a sanitizer runtime cannot both
 * come first in a process (tests/CMakeLists.txt leaves this file out of
 * the sanitizer builds). */
/*
 * test_wrap.c - `faultline wrap` over wrap_prog.c, a plain pthreads
 * program: an @N error reaches the program as errno at the Nth call and
 * nowhere else; a seed gives the same firings per thread twice, another
 * seed others; a probability plan's firings are exactly the failures the
 * program saw; plans wrap cannot run exit 2 naming the field; a crash is
 * reported with its signal; with no plan nothing fires; leaked fds, heap
 * and threads fail their checks; and the malloc sweep finds the planted
 * unchecked malloc at the right n.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fl/fault.h>

#include "fl_test.h"
#include "fl_test_sh.h"

FL_ERR_SENTINEL(wrap_test_eio, "EIO, as the fault library sees it");

#define BIN FL_BINARY_DIR "/cli/faultline"
#define PROG FL_BINARY_DIR "/tests/fl_wrap_prog"
#define PROG64 FL_BINARY_DIR "/tests/fl_wrap_prog64"
#define SQLITE_PROG FL_BINARY_DIR "/tests/fl_wrap_sqlite"

static char out[1 << 16];

static int sh(const char *cmd) { return fl_test_sh(cmd, out, sizeof(out)); }

static void expect(const char *want)
{
	if (!strstr(out, want))
		FL_FAIL("expected \"%s\" in:\n%s", want, out);
}

static void expect_not(const char *unwanted)
{
	if (strstr(out, unwanted))
		FL_FAIL("did not expect \"%s\" in:\n%s", unwanted, out);
}

/* Runs wrap with extra options on wrap_prog's args; exit status. */
static int wrap(const char *opts, const char *args)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), BIN " wrap %s -- " PROG " %s", opts, args);
	return sh(cmd);
}

FL_TEST(no_plan_nothing_fires)
{
	char dir[256], args[300];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args), "io %s", dir);
	ASSERT_EQ(wrap("--seed 1", args), 0);
	for (int i = 1; i <= 5; i++) {
		char line[32];
		snprintf(line, sizeof(line), "write %d: ok", i);
		expect(line);
	}
	expect("read: 30 bytes");
	/* every call was counted, none fired */
	ASSERT(strstr(out, "libc/io/write") != NULL);
	expect_not("error");
	expect_not("firings");
	expect("PASS");
}

FL_TEST(write_at_3_fails_the_third_write)
{
	char dir[256], args[300];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args), "io %s", dir);
	ASSERT_EQ(wrap("--seed 1 --faults 'libc/io/write=@3 error(EIO)'", args), 1);
	expect("write 1: ok");
	expect("write 2: ok");
	expect("write 3: Input/output error");
	expect("write 4: ok");
	expect("write 5: ok");
	expect("read: 24 bytes"); /* the lost chunk is really lost */
	expect("libc/io/write eval 3, thread 0: error(EIO)");
	expect("= io at wrap_prog.c:"); /* the call site, symbolised */
	expect("exited 3");
	expect("replay: ");
}

/* The firings of one seed over 4 threads: the program's own view. */
static void threads_run(const char *seed, char *lines, size_t cap)
{
	char opts[256];
	snprintf(opts, sizeof(opts), "--seed %s --faults 'libc/mem/malloc=10%% error(ENOMEM)'",
		 seed);
	ASSERT_EQ(wrap(opts, "threads 200"), 0);
	lines[0] = '\0';
	for (char *p = strstr(out, "thread 1: "); p && strncmp(p, "thread ", 7) == 0;) {
		char *nl = strchr(p, '\n');
		ASSERT(nl != NULL);
		strncat(lines, p,
			(size_t)(nl - p + 1) < cap - strlen(lines) - 1 ? (size_t)(nl - p + 1)
								       : cap - strlen(lines) - 1);
		p = nl + 1;
	}
	ASSERT(strstr(lines, "thread 4: ") != NULL);
	ASSERT(strchr(lines, 'x') != NULL); /* something fired */
}

FL_TEST(same_seed_same_firings_under_threads)
{
	static char a[4096], b[4096], c[4096];
	threads_run("7", a, sizeof(a));
	threads_run("7", b, sizeof(b));
	threads_run("8", c, sizeof(c));
	ASSERT_STR_EQ(a, b);
	/* the negative control: another seed decides otherwise */
	ASSERT(strcmp(a, c) != 0);
}

FL_TEST(probability_firings_are_what_the_program_saw)
{
	char dir[256], args[300];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args), "writes %s 200", dir);
	ASSERT_EQ(wrap("--seed 3 --faults 'libc/io/write=25% error(EIO)'", args), 0);
	int failed = -1, n = 0;
	char *p = strstr(out, "writes failed: ");
	ASSERT(p && sscanf(p, "writes failed: %d of %d", &failed, &n) == 2);
	ASSERT(failed > 0 && failed < n);
	/* the accounting's line: evaluations, then the firings */
	p = strstr(out, "libc/io/write ");
	ASSERT(p != NULL);
	long evals = 0, fired = 0;
	ASSERT(sscanf(p, "libc/io/write %ld %ld error", &evals, &fired) == 2);
	ASSERT_EQ(evals, n);
	ASSERT_EQ(fired, failed);
	/* and they are the fault library's own decisions: the same plan and
	 * seed armed here, at a point of the same name, evaluated n times */
	ASSERT_NULL(fl_fault_register_error("EIO", wrap_test_eio));
	fl_fault_plan *plan = NULL;
	ASSERT_NULL(fl_fault_arm("libc/io/write=25% error(EIO)", 3, &plan));
	static fl_fault_site site = FL_FAULT_SITE_INIT("libc/io/write");
	char mine[4096];
	for (int i = 0; i < n && i < 4095; i++) {
		fl_err *e = fl_fault_point(&site, NULL);
		mine[i] = e ? 'x' : '.';
		fl_err_drop(e);
		mine[i + 1] = '\0';
	}
	fl_fault_plan_free(plan);
	p = strstr(out, "writes seen: ");
	ASSERT(p != NULL);
	ASSERT(strncmp(p + 13, mine, strlen(mine)) == 0);
}

FL_TEST(plans_wrap_cannot_run_exit_2_naming_the_field)
{
	ASSERT_EQ(wrap("--faults 'libc/io/write=@3 error(ENOMEM)'", "crash"), 2);
	expect("error(ENOMEM) is not valid for libc/io/write (valid: EIO ENOSPC EINTR EPIPE)");
	/* the fault library's own syntax message, as every --faults */
	ASSERT_EQ(wrap("--faults 'libc/io/write=@3 eror(EIO)'", "crash"), 2);
	expect("plan:1:18: in term 'libc/io/write=@3 eror(EIO)': expected action name");
	ASSERT_EQ(wrap("--faults 'libc/io/write=hang'", "crash"), 2);
	expect("action 'hang' is not supported by wrap");
	ASSERT_EQ(wrap("--faults 'libc/io/wrte=error(EIO)'", "crash"), 2);
	expect("'libc/io/wrte' names no wrapped call");
	ASSERT_EQ(wrap("--faults 'libc/io/*=after(1s) error(EIO)'", "crash"), 2);
	expect("modifier after(..) is not supported by wrap");
	ASSERT_EQ(wrap("--faults 'libc/net/recv=sleep(exp(2ms))'", "crash"), 2);
	expect("wrap draws fixed and uniform(..) durations only");
	/* a glob is checked against every call it names */
	ASSERT_EQ(wrap("--faults 'libc/io/*=error(EIO)'", "crash"), 2);
	expect("error(EIO) is not valid for libc/io/open");
	/* the positive control: valid rules are taken (the program then crashes) */
	ASSERT_EQ(wrap("--faults 'libc/io/read=error(EIO); libc/io/write=error(EIO)'", "crash"), 1);
}

FL_TEST(leaks_fail_their_checks)
{
	char dir[256], args[300], want[400], opts[400];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args), "leaky %s", dir);
	snprintf(opts, sizeof(opts), "--seed 1 --json %s/r.json", dir);
	ASSERT_EQ(wrap(opts, args), 1); /* the program itself exited 0 */
	expect("exited 0");
	snprintf(want, sizeof(want), "no leaked fds: FAIL (1 descriptors left open: ");
	expect(want);
	snprintf(want, sizeof(want), "-> %s/kept)", dir);
	expect(want);
	expect("no leaked heap: FAIL (100 bytes in 1 blocks not freed: 100 bytes from "
	       "fl_wrap_prog");
	expect("= leaky at wrap_prog.c:"); /* the leaking malloc's caller */
	expect("no leaked threads: FAIL (1 threads still alive at exit)");
	/* the same checks in the report */
	snprintf(want, sizeof(want), "tr -d ' \\n' < %s/r.json", dir);
	sh(want);
	expect("\"name\":\"noleakedthreads\",\"verdict\":\"fail\"");
	expect("\"name\":\"programexit\",\"verdict\":\"pass\"");
	/* the negative control: the io mode closes and frees everything */
	snprintf(args, sizeof(args), "io %s", dir);
	ASSERT_EQ(wrap("--seed 1", args), 0);
	expect("no leaked fds: pass");
	expect("no leaked heap: pass");
	expect("no leaked threads: pass");
}

FL_TEST(malloc_sweep_finds_the_planted_crash_at_n_3)
{
	ASSERT_EQ(wrap("--sweep libc/mem/malloc", "sweep"), 1);
	expect("  n=1: exited 1\n");
	expect("  n=2: exited 1\n");
	expect("  n=3: killed by signal 11");
	expect("planted_copy at wrap_prog.c:"); /* the failing call site */
	expect_not("n=4:");                     /* run 4 made only 3 calls: the end */
	expect("4 runs, 1 bad");
	/* the negative control: bounded before the planted call, nothing bad */
	ASSERT_EQ(wrap("--sweep libc/mem/malloc --max 2", "sweep"), 0);
	expect("2 runs, 0 bad");
	expect("stopped at --max");
	ASSERT_EQ(wrap("--sweep libc/mem/malloc --faults 'libc/io/read=off'", "sweep"), 2);
	ASSERT_EQ(wrap("--sweep libc/mem/mallok", "sweep"), 2);
	expect("'libc/mem/mallok' is no wrapped call");
}

FL_TEST(no_progress_is_a_hang)
{
	/* both threads sit in pause(): no wrapped call is ever made again */
	ASSERT_EQ(wrap("--seed 1 --hang-after 300ms", "hang"), 3);
	expect("hung (no wrapped call for the --hang-after window), killed");
	expect("threads when it stopped: ");
	expect("(fl_wrap_prog)");
	/* the negative control: a program that finishes is no hang */
	char dir[256], args[300];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args), "io %s", dir);
	ASSERT_EQ(wrap("--seed 1 --hang-after 5s", args), 0);
	expect_not("hung");
	ASSERT_EQ(wrap("--hang-after 5x", "io"), 2);
}

FL_TEST(only_from_keeps_faults_in_the_programs_own_calls)
{
	char dir[256], args[300];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args), "libcfirst %s", dir);
	/* every malloc fails: libc's for fopen's FILE too */
	ASSERT_EQ(wrap("--seed 1 --faults 'libc/mem/malloc=error(ENOMEM)'", args), 0);
	expect("fopen: failed");
	expect("malloc: failed");
	/* only the program's own calls: fopen's allocation is left alone */
	ASSERT_EQ(wrap("--seed 1 --faults 'libc/mem/malloc=error(ENOMEM)' --only-from fl_wrap_prog",
		       args),
		  0);
	expect("fopen: ok");
	expect("malloc: failed");
	/* a library named instead of the program: the program's call is left alone */
	ASSERT_EQ(wrap("--seed 1 --faults 'libc/mem/malloc=error(ENOMEM)' --only-from libc", args),
		  0);
	expect("fopen: failed");
	expect("malloc: ok");
}

/* The calls of the second landing, one rule each firing at its first call. */
static const char *const MORE[][3] = {
	{"pwrite", "libc/io/pwrite", "EIO"},
	{"pread", "libc/io/pread", "EIO"},
	{"openat", "libc/io/openat", "EACCES"},
	{"writev", "libc/io/writev", "ENOSPC"},
	{"readv", "libc/io/readv", "EIO"},
	{"sendto", "libc/net/sendto", "EPIPE"},
	{"recvfrom", "libc/net/recvfrom", "ECONNRESET"},
	{"sendmsg", "libc/net/sendmsg", "ECONNRESET"},
	{"recvmsg", "libc/net/recvmsg", "EAGAIN"},
	{"clock_nanosleep", "libc/time/clock_nanosleep", "EINTR"},
	{"posix_memalign", "libc/mem/posix_memalign", "ENOMEM"},
	{"aligned_alloc", "libc/mem/aligned_alloc", "ENOMEM"},
	{"memalign", "libc/mem/memalign", "ENOMEM"},
};
#define NMORE (sizeof(MORE) / sizeof(MORE[0]))

static void calls_run(const char *prog)
{
	char dir[256], cmd[3000], want[128];
	fl_test_tmpdir(dir, sizeof(dir));
	/* the negative control: no plan, every call succeeds and is counted */
	snprintf(cmd, sizeof(cmd), BIN " wrap --seed 1 -- %s calls %s", prog, dir);
	ASSERT_EQ(sh(cmd), 0);
	for (size_t i = 0; i < NMORE; i++) {
		snprintf(want, sizeof(want), "%s: ok\n", MORE[i][0]);
		expect(want);
		snprintf(want, sizeof(want), "  %s ", MORE[i][1]);
		expect(want); /* its accounting line: the call was seen */
	}
	expect("no leaked heap: pass"); /* the aligned blocks were tracked and freed */
	/* every point at its first call, each with an errno of its table */
	size_t k = (size_t)snprintf(cmd, sizeof(cmd), BIN " wrap --seed 1 --faults '");
	for (size_t i = 0; i < NMORE; i++)
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, "%s%s=@1 error(%s)", i ? "; " : "",
				      MORE[i][1], MORE[i][2]);
	snprintf(cmd + k, sizeof(cmd) - k, "' -- %s calls %s", prog, dir);
	ASSERT_EQ(sh(cmd), 0);
	for (size_t i = 0; i < NMORE; i++) {
		snprintf(want, sizeof(want), "%s eval 1, thread 0: error(%s)", MORE[i][1],
			 MORE[i][2]);
		expect(want);
		snprintf(want, sizeof(want), "%s: ok\n", MORE[i][0]);
		expect_not(want);
	}
	expect("pwrite: Input/output error");
	expect("openat: Permission denied");
	expect("clock_nanosleep: Interrupted system call"); /* returned, not in errno */
	expect("posix_memalign: Cannot allocate memory");
	/* a posix_memalign block left unfreed is a leak like malloc's */
	snprintf(cmd, sizeof(cmd), BIN " wrap --seed 1 -- %s calls %s keep", prog, dir);
	ASSERT_EQ(sh(cmd), 1);
	expect("no leaked heap: FAIL (48 bytes in 1 blocks not freed");
}

FL_TEST(more_calls_are_fault_points)
{
	calls_run(PROG);
	/* built with _FILE_OFFSET_BITS=64: pwrite64, pread64, openat64 */
	calls_run(PROG64);
	ASSERT_EQ(wrap("--faults 'libc/io/pwrite=@1 error(ENOMEM)'", "crash"), 2);
	expect("error(ENOMEM) is not valid for libc/io/pwrite (valid: EIO ENOSPC EINTR EFBIG)");
	ASSERT_EQ(wrap("--faults 'libc/io/pread=oom'", "crash"), 2);
	expect("oom applies to libc/mem/* only, not libc/io/pread");
}

FL_TEST(fortified_entry_points_are_the_same_points)
{
	char dir[256], cmd[1024];
	fl_test_tmpdir(dir, sizeof(dir));
	/* fl_wrap_prog64 is fortified: its open and read are __open64_2 and
	 * __read_chk; fl_wrap_prog's are open and read. Both are faulted. */
	const char *progs[] = {PROG64, PROG};
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), BIN " wrap --seed 1 -- %s fort %s", progs[i], dir);
		ASSERT_EQ(sh(cmd), 0); /* the negative control: no plan, both succeed */
		expect("open: ok\n");
		expect("read: ok\n");
		snprintf(cmd, sizeof(cmd),
			 BIN
			 " wrap --seed 1 --faults 'libc/io/open=@1 error(ENOENT)' -- %s fort %s",
			 progs[i], dir);
		ASSERT_EQ(sh(cmd), 0);
		expect("open: No such file or directory");
		expect("libc/io/open eval 1, thread 0: error(ENOENT)");
		snprintf(cmd, sizeof(cmd),
			 BIN " wrap --seed 1 --faults 'libc/io/read=@1 error(EIO)' -- %s fort %s",
			 progs[i], dir);
		ASSERT_EQ(sh(cmd), 0);
		expect("open: ok\n");
		expect("read: Input/output error");
	}
}

FL_TEST(sqlite_writes_can_be_faulted)
{
	char dir[256], cmd[1024];
	fl_test_tmpdir(dir, sizeof(dir));
	/* the negative control: unfaulted, every step succeeds */
	snprintf(cmd, sizeof(cmd), BIN " wrap --seed 1 -- " SQLITE_PROG " %s", dir);
	ASSERT_EQ(sh(cmd), 0);
	expect("INSERT INTO t VALUES (42): rc 0 (not an error)");
	snprintf(cmd, sizeof(cmd), "rm -f %s/t.db", dir);
	sh(cmd);
	snprintf(cmd, sizeof(cmd),
		 BIN " wrap --seed 1 --faults 'libc/io/pwrite=@1 error(EIO)' -- " SQLITE_PROG " %s",
		 dir);
	ASSERT_EQ(sh(cmd), 1);
	expect("rc 10 (disk I/O error)"); /* SQLITE_IOERR */
	expect("libc/io/pwrite eval 1, thread 0: error(EIO)");
	expect("exited 1");
}

FL_TEST(report_on_a_signal_snapshots_leaks_without_exit)
{
	char dir[256], args[300], want[400];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args), "snap %s", dir);
	ASSERT_EQ(wrap("--seed 1 --report-on SIGUSR2", args), 0);
	/* the snapshot, taken while the fd and the block were held */
	expect("snapshot 1 (signal 12):\n");
	snprintf(want, sizeof(want), "  no leaked fds: FAIL (1 descriptors left open: ");
	expect(want);
	snprintf(want, sizeof(want), "-> %s/snap)", dir);
	expect(want);
	expect("  no leaked heap: FAIL (100 bytes in 1 blocks not freed: 100 bytes from "
	       "fl_wrap_prog");
	expect("  no leaked threads: pass (0 threads still alive"); /* ours is the baseline */
	expect("raised"); /* the program went on after the snapshot */
	/* at exit both were released: the verdict is the exit's */
	expect("\nno leaked fds: pass");
	expect("\nno leaked heap: pass");
	expect("exited 0");
	/* the negative control: without --report-on the signal kills it, no snapshot */
	ASSERT_EQ(wrap("--seed 1", args), 1);
	expect("killed by signal 12");
	expect_not("snapshot");
	ASSERT_EQ(wrap("--report-on SIGKILL", args), 2);
	expect("--report-on: expected a signal a handler can take");
	ASSERT_EQ(wrap("--report-on USR2 --sweep libc/mem/malloc", args), 2);
}

FL_TEST(crash_is_reported_with_its_signal)
{
	ASSERT_EQ(wrap("--seed 1", "crash"), 1);
	expect("killed by signal 11");
	expect("leaks: not judged");
	expect("FAIL");
	ASSERT_EQ(sh(BIN " wrap -- /nonexistent/program"), 2);
	expect("/nonexistent/program: No such file or directory");
}

FL_TEST_MAIN(FL_CASE(no_plan_nothing_fires), FL_CASE(write_at_3_fails_the_third_write),
	     FL_CASE(same_seed_same_firings_under_threads),
	     FL_CASE(probability_firings_are_what_the_program_saw),
	     FL_CASE(plans_wrap_cannot_run_exit_2_naming_the_field),
	     FL_CASE(leaks_fail_their_checks), FL_CASE(malloc_sweep_finds_the_planted_crash_at_n_3),
	     FL_CASE(no_progress_is_a_hang),
	     FL_CASE(only_from_keeps_faults_in_the_programs_own_calls),
	     FL_CASE(more_calls_are_fault_points), FL_CASE(sqlite_writes_can_be_faulted),
	     FL_CASE(fortified_entry_points_are_the_same_points),
	     FL_CASE(report_on_a_signal_snapshots_leaks_without_exit),
	     FL_CASE(crash_is_reported_with_its_signal))
