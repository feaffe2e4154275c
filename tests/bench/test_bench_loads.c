/*
 * test_bench_loads.c - users' loads: FL_LOAD registers a function that
 * serves one request, and fl_bench_main (faultline-bench's command line as
 * a library function) drives it with the open-loop generator. Every issued
 * request is served exactly once, a failing request is counted (and fails
 * the run unless --max-failures allows it), the interval log decodes with
 * the repo's HDR reader, a sweep over workers and rate makes its cells;
 * the registry refuses bad and duplicate names and keeps a constructor's
 * failure for its first read. The flag names of issue 16 (--faults,
 * --report, --opt=value, -h per verb) and the deprecation line of the old
 * spellings are checked on the synthetic virtual-clock load. Only counts
 * and orderings are asserted, never time.
 */
/* fl-test-labels: nosim */
/* nosim: a user load runs on the real-clock driver, whose generator is an
 * OS thread spinning on the clock (see test_bench_driver.c); the registry
 * cases need no backend at all. */
#include <fl/bench.h>
#include <fl/chan.h>
#include <fl/hdr.h>
#include <fl/hdr_log.h>
#include <fl/report.h>
#include <fl/task.h>

#include "fl_test.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_INDEX 4096

static _Atomic int served[MAX_INDEX];
static _Atomic int64_t calls;

/* Serves every request; counts each index. */
FL_LOAD(echo, "serves every request at once")
{
	atomic_fetch_add(&calls, 1);
	if (index >= 0 && index < MAX_INDEX)
		atomic_fetch_add(&served[index], 1);
	return NULL;
}

/* Every tenth request fails. */
FL_LOAD(tenth_fails, "request 0, 10, 20, ... fails")
{
	return index % 10 == 0 ? fl_err_wrap(FL_ERR_INVAL, "request %lld refused", (long long)index)
			       : NULL;
}

/* Sleeps 20 ms through the runtime, cut short by its context. */
FL_LOAD(sleeper, "sleeps 20 ms unless its context ends first")
{
	int st = fl_sleep_until(ctx, fl_now() + 20000000);
	return st == FL_OK ? NULL : fl_err_wrap(FL_ERR_CANCELED, "sleep cut short");
}

/* Sleeps 20 ms ignoring its context, and reports success. */
FL_LOAD(deaf_sleeper, "sleeps 20 ms whatever its context says")
{
	fl_sleep_until(NULL, fl_now() + 20000000);
	return NULL;
}

/* ---- helpers ------------------------------------------------------------------ */

static char *scratch(void)
{
	const char *t = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof(tmpl), "%s/fl-loads-XXXXXX", t && *t ? t : "/tmp");
	ASSERT_NOT_NULL(mkdtemp(tmpl));
	char *d = strdup(tmpl);
	ASSERT_NOT_NULL(d);
	return d;
}

/* Removes dir, the files in it and one level of subdirectories. */
static void scratch_free(char *dir)
{
	DIR *d = opendir(dir);
	ASSERT_NOT_NULL(d);
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[1024];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) != 0) {
			DIR *sub = opendir(p);
			ASSERT_NOT_NULL(sub);
			for (struct dirent *f; (f = readdir(sub));) {
				char q[1400];
				snprintf(q, sizeof(q), "%s/%s", p, f->d_name);
				if (strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
					ASSERT_EQ(unlink(q), 0);
			}
			closedir(sub);
			ASSERT_EQ(rmdir(p), 0);
		}
	}
	closedir(d);
	ASSERT_EQ(rmdir(dir), 0);
	free(dir);
}

/* fl_bench_main on a NULL-terminated list; its stderr into err. */
static int bench(char *err, size_t cap, const char *const *args)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)"bench";
	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	FILE *cap_f = tmpfile();
	ASSERT_NOT_NULL(cap_f);
	int saved = dup(2);
	ASSERT(saved >= 0);
	ASSERT(dup2(fileno(cap_f), 2) >= 0);
	int rc = fl_bench_main(argc, argv);
	fflush(stderr);
	ASSERT(dup2(saved, 2) >= 0);
	close(saved);
	rewind(cap_f);
	size_t n = fread(err, 1, cap - 1, cap_f);
	err[n] = '\0';
	fclose(cap_f);
	return rc;
}

#define BENCH(err, ...) bench(err, sizeof(err), (const char *const[]){__VA_ARGS__, NULL})

static int64_t counter(const fl_report *r, const char *name)
{
	const fl_report_counter *c = fl_report_find_counter(r, name);
	if (!c)
		FL_FAIL("no counter '%s'", name);
	return c->value;
}

static const fl_report_check *check(const fl_report *r, const char *name)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].name, name) == 0)
			return &r->checks[i];
	FL_FAIL("no check '%s'", name);
	return NULL;
}

static fl_report *load_json(const char *dir, const char *file)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fl_report *r = NULL;
	fl_err *e = fl_report_load_json(p, &r);
	if (e) {
		char b[512];
		fl_err_format(e, b, sizeof(b));
		FL_FAIL("%s: %s", p, b);
	}
	return r;
}

/* ---- the registry ---------------------------------------------------------------- */

static fl_err *nothing(fl_ctx *ctx, int64_t index, void *arg) { return NULL; }

FL_TEST(registry_finds_lists_and_refuses)
{
	const fl_bench_user_load *l;
	ASSERT(fl_bench_load_find("echo", &l) == NULL);
	ASSERT_STR_EQ(l->name, "echo");
	ASSERT_STR_EQ(l->description, "serves every request at once");
	static const fl_bench_user_load mine = {"mine_2", "registered at run time", nothing, NULL};
	ASSERT(fl_bench_load_register(&mine) == NULL);
	ASSERT(fl_bench_load_find("mine_2", &l) == NULL);
	ASSERT(l == &mine);
	const fl_bench_user_load *all[8];
	size_t n;
	ASSERT(fl_bench_load_list(all, 8, &n) == NULL);
	ASSERT_EQ(n, 5); /* echo, tenth_fails, sleeper, deaf_sleeper, then mine_2 */
	ASSERT(all[4] == &mine);
	/* refused: a duplicate, names outside [a-z0-9_]+, no function */
	static const fl_bench_user_load dup = {"echo", NULL, nothing, NULL};
	static const fl_bench_user_load upper = {"Echo", NULL, nothing, NULL};
	static const fl_bench_user_load dash = {"my-load", NULL, nothing, NULL};
	static const fl_bench_user_load empty = {"", NULL, nothing, NULL};
	static const fl_bench_user_load nofn = {"nofn", NULL, NULL, NULL};
	const fl_bench_user_load *bad[] = {&dup, &upper, &dash, &empty, &nofn};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fl_err *e = fl_bench_load_register(bad[i]);
		ASSERT(fl_err_is(e, FL_ERR_INVAL));
		fl_err_drop(e);
	}
	ASSERT(fl_bench_load_list(NULL, 0, &n) == NULL);
	ASSERT_EQ(n, 5); /* none of them went in */
	fl_err *e = fl_bench_load_find("missing", &l);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	char b[512];
	fl_err_format(e, b, sizeof(b));
	ASSERT(strstr(b, "'missing'") &&
	       strstr(b, "echo, tenth_fails, sleeper, deaf_sleeper, mine_2"));
	fl_err_drop(e);
}

/* A constructor's failed registration is kept: every read reports it, and
 * fl_bench_main exits 2 naming it. In a child, so that the registry of the
 * other cases stays clean (the parent's read afterwards is the control). */
FL_TEST(constructor_failure_is_reported_on_first_read)
{
	static const fl_bench_user_load dup = {"echo", NULL, nothing, NULL};
	fflush(NULL);
	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		fl_bench_load_register_kept(&dup);
		const fl_bench_user_load *l;
		fl_err *e = fl_bench_load_find("echo", &l);
		char b[512] = "";
		fl_err_format(e, b, sizeof(b));
		size_t n;
		fl_err *e2 = fl_bench_load_list(NULL, 0, &n);
		char err[2048];
		int rc = BENCH(err, "run", "echo", "--items", "10");
		bool ok = fl_err_is(e, FL_ERR_INVAL) && strstr(b, "'echo' registered twice") &&
			  fl_err_is(e2, FL_ERR_INVAL) && rc == 2 && strstr(err, "registered twice");
		_exit(ok ? 0 : 1);
	}
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	const fl_bench_user_load *l;
	ASSERT(fl_bench_load_find("echo", &l) == NULL);
}

/* ---- driving a load ------------------------------------------------------------- */

FL_TEST(run_serves_every_request_once_and_writes_the_hlog)
{
	char *dir = scratch();
	char json[1100];
	snprintf(json, sizeof(json), "%s/run.json", dir);
	char err[4096];
	int rc = BENCH(err, "run", "echo", "--rate", "2000", "--items", "300", "--warmup", "20ms",
		       "--workers", "3", "--limit", "4", "--report", dir, "--json", json);
	if (rc != 0)
		FL_FAIL("exit %d: %s", rc, err);
	fl_report *r = load_json(dir, "run.json");
	ASSERT_EQ(counter(r, "items"), 300);
	ASSERT_EQ(counter(r, "failed"), 0);
	ASSERT_EQ(check(r, "failed requests")->verdict, FL_REPORT_PASS);
	const fl_report_hist *h = fl_report_find_hist(r, "response");
	ASSERT(h && h->hdr);
	ASSERT_EQ(fl_hdr_total_count(h->hdr), 300);
	fl_report_free(r);
	/* every issued request (warm-up's 40 too) exactly once, by index */
	int64_t n = atomic_load(&calls);
	ASSERT_EQ(n, 340);
	for (int64_t i = 0; i < n; i++)
		ASSERT_EQ(atomic_load(&served[i]), 1);
	ASSERT_EQ(atomic_load(&served[n]), 0);
	/* the interval log decodes with the repo's reader into the same count */
	char p[1100];
	snprintf(p, sizeof(p), "%s/run.hlog", dir);
	FILE *f = fopen(p, "r");
	ASSERT_NOT_NULL(f);
	fl_hdr *merged = NULL;
	ASSERT(fl_hdr_log_read_merged(f, "response", &merged) == NULL);
	ASSERT_NOT_NULL(merged);
	ASSERT_EQ(fl_hdr_total_count(merged), 300);
	fl_hdr_free(merged);
	fclose(f);
	scratch_free(dir);
}

FL_TEST(failing_requests_are_counted_and_fail_the_run)
{
	char *dir = scratch();
	char json[1100];
	snprintf(json, sizeof(json), "%s/run.json", dir);
	char err[4096];
	/* no warm-up: the measured indices are 0..199, 20 of them fail */
	int rc = BENCH(err, "run", "--load", "tenth_fails", "--rate", "2000", "--items", "200",
		       "--warmup", "0", "--workers", "2", "--json", json);
	ASSERT_EQ(rc, 1); /* failures are not a pass by default */
	fl_report *r = load_json(dir, "run.json");
	ASSERT_EQ(counter(r, "items"), 200);
	ASSERT_EQ(counter(r, "failed"), 20);
	const fl_report_check *c = check(r, "failed requests");
	ASSERT_EQ(c->verdict, FL_REPORT_FAIL);
	ASSERT(strstr(c->message, "refused"));
	/* failures are counted apart: the response histogram times the rest */
	ASSERT_EQ(fl_hdr_total_count(fl_report_find_hist(r, "response")->hdr), 180);
	fl_report_free(r);
	/* allowed: 10% failed is within 20%, and not within 5% */
	ASSERT_EQ(BENCH(err, "run", "tenth_fails", "--rate", "2000", "--items", "200", "--warmup",
			"0", "--max-failures", "20%", "--json", json),
		  0);
	r = load_json(dir, "run.json");
	ASSERT_EQ(check(r, "failed requests")->verdict, FL_REPORT_PASS);
	fl_report_free(r);
	ASSERT_EQ(BENCH(err, "run", "tenth_fails", "--rate", "2000", "--items", "200", "--warmup",
			"0", "--max-failures=0.05"),
		  1);
	ASSERT_EQ(BENCH(err, "run", "tenth_fails", "--max-failures", "2"), 2);
	ASSERT(strstr(err, "--max-failures"));
	scratch_free(dir);
}

/* A request's deadline runs from its intended start: a 20 ms sleep under a
 * 5 ms timeout always ends cancelled, whatever the machine's speed (a
 * slower machine only makes it later); without a timeout none fails. */
FL_TEST(timeout_cancels_the_request_and_counts_it_failed)
{
	char *dir = scratch();
	char json[1100], err[4096];
	snprintf(json, sizeof(json), "%s/run.json", dir);
	ASSERT_EQ(BENCH(err, "run", "sleeper", "--rate", "200", "--items", "20", "--warmup", "0",
			"--workers", "4", "--timeout", "5ms", "--json", json),
		  1);
	fl_report *r = load_json(dir, "run.json");
	ASSERT_EQ(counter(r, "items"), 20);
	ASSERT_EQ(counter(r, "failed"), 20);
	ASSERT(strstr(check(r, "failed requests")->message, "cut short"));
	fl_report_free(r);
	ASSERT_EQ(BENCH(err, "run", "sleeper", "--rate", "200", "--items", "20", "--warmup", "0",
			"--workers", "4", "--json", json),
		  0);
	r = load_json(dir, "run.json");
	ASSERT_EQ(counter(r, "failed"), 0);
	fl_report_free(r);
	/* a request that ignores its context and succeeds late fails anyway */
	ASSERT_EQ(BENCH(err, "run", "deaf_sleeper", "--rate", "200", "--items", "20", "--warmup",
			"0", "--workers", "4", "--timeout", "5ms", "--json", json),
		  1);
	r = load_json(dir, "run.json");
	ASSERT_EQ(counter(r, "failed"), 20);
	ASSERT(strstr(check(r, "failed requests")->message, "past its deadline"));
	fl_report_free(r);
	/* a timeout needs a user load */
	ASSERT_EQ(BENCH(err, "run", "--clock", "virtual", "--timeout", "5ms"), 2);
	ASSERT(strstr(err, "--timeout"));
	scratch_free(dir);
}

/* A sweep of a failing load fails as a run does, cell by cell. */
FL_TEST(sweep_fails_on_failures_unless_allowed)
{
	char *dir = scratch();
	char err[8192];
	ASSERT_EQ(BENCH(err, "sweep", "tenth_fails", "--rate", "500,1000", "--cell", "100ms",
			"--warmup", "0", "--report", dir),
		  1);
	fl_report *r = load_json(dir, "sweep.json");
	ASSERT_EQ(counter(r, "cell.l0_b64_w1_r500.failed"), 5);
	ASSERT_EQ(counter(r, "cell.l0_b64_w1_r1000.failed"), 10);
	fl_report_free(r);
	ASSERT_EQ(BENCH(err, "sweep", "tenth_fails", "--rate", "500,1000", "--cell", "100ms",
			"--warmup", "0", "--report", dir, "--max-failures", "10%"),
		  0);
	scratch_free(dir);
}

/* The gate takes a load by name, after --save FILE or after BASELINE. Its
 * verdict on real-clock samples is timing, so only that it decides (exit 0
 * or 1, from 3 + 3 repetitions) is asserted; a repetition with failures is
 * an error (exit 2), the control that the load really ran. */
FL_TEST(gate_takes_a_load_by_name)
{
	char *dir = scratch();
	char base[1100], verdict[1100], err[8192];
	snprintf(base, sizeof(base), "%s/base.json", dir);
	snprintf(verdict, sizeof(verdict), "%s/verdict.json", dir);
	ASSERT_EQ(BENCH(err, "gate", "--save", base, "echo", "--rate", "2000", "--items", "100",
			"--warmup", "0", "--reps", "3", "--warmup-reps", "0"),
		  0);
	ASSERT_EQ(atomic_load(&calls), 300);
	int rc = BENCH(err, "gate", base, "echo", "--rate", "2000", "--items", "100", "--warmup",
		       "0", "--reps", "3", "--warmup-reps", "0", "--json", verdict);
	if (rc != 0 && rc != 1)
		FL_FAIL("exit %d: %s", rc, err);
	ASSERT_EQ(atomic_load(&calls), 600);
	ASSERT_EQ(access(verdict, R_OK), 0);
	ASSERT_EQ(BENCH(err, "gate", base, "--load", "tenth_fails", "--rate", "2000", "--items",
			"100", "--warmup", "0", "--reps", "3", "--warmup-reps", "0"),
		  2);
	ASSERT(strstr(err, "more failed requests than --max-failures allows"));
	scratch_free(dir);
}

FL_TEST(sweep_over_workers_and_rate_makes_cells)
{
	char *dir = scratch();
	char err[8192];
	int rc = BENCH(err, "sweep", "echo", "--workers", "1,2", "--rate", "500,1000", "--cell",
		       "100ms", "--warmup", "10ms", "--report", dir);
	if (rc != 0)
		FL_FAIL("exit %d: %s", rc, err);
	fl_report *r = load_json(dir, "sweep.json");
	fl_bench_cell *cells;
	size_t n;
	ASSERT(fl_bench_sweep_cells(r, 10000000, &cells, &n) == NULL);
	ASSERT_EQ(n, 4);
	int w1 = 0, w2 = 0;
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(cells[i].reps, 1);
		w1 += cells[i].workers == 1;
		w2 += cells[i].workers == 2;
		/* 100 ms at 500/s or 1000/s: 50 or 100 measured requests */
		char key[80];
		snprintf(key, sizeof(key), "cell.%s.items", cells[i].key);
		ASSERT_EQ(counter(r, key), cells[i].offered < 750 ? 50 : 100);
	}
	ASSERT_EQ(w1, 2);
	ASSERT_EQ(w2, 2);
	free(cells);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST(user_load_options_that_cannot_apply_are_refused)
{
	char err[4096];
	ASSERT_EQ(BENCH(err, "run", "echo", "--clock", "virtual"), 2);
	ASSERT(strstr(err, "--clock virtual: a user load runs in real time"));
	ASSERT_EQ(BENCH(err, "run", "echo", "--stages", "2"), 2);
	ASSERT(strstr(err, "--stages"));
	ASSERT_EQ(BENCH(err, "run", "no_such_load"), 2);
	ASSERT(strstr(err, "no load named 'no_such_load'"));
	ASSERT_EQ(BENCH(err, "run", "echo", "tenth_fails"), 2);
	ASSERT(strstr(err, "unexpected argument 'tenth_fails'"));
	ASSERT_EQ(BENCH(err, "run", "echo", "--load", "tenth_fails"), 2);
	ASSERT(strstr(err, "two loads"));
	ASSERT_EQ(BENCH(err, "run", "echo", "--rate", "1000", "--job",
			FL_SOURCE_DIR "/scenarios/jobs/shapes.ini:linear_first_error"),
		  2);
	ASSERT(strstr(err, "not both"));
	ASSERT_EQ(atomic_load(&calls), 0); /* none of them served anything */
}

/* ---- one set of flag names ------------------------------------------------------------ */

#define VLOAD "--clock", "virtual", "--rate", "2000", "--items", "500", "--warmup", "0"

FL_TEST(new_flag_names_and_deprecated_aliases)
{
	char *dir = scratch();
	char err[4096], a[1100], b[1100], rep[1100], junit[1100];
	snprintf(a, sizeof(a), "%s/a.json", dir);
	snprintf(b, sizeof(b), "%s/b.json", dir);
	snprintf(rep, sizeof(rep), "%s/rep", dir);
	snprintf(junit, sizeof(junit), "%s/j.xml", dir);
	/* the faultline names: no deprecation line */
	ASSERT_EQ(BENCH(err, "run", VLOAD, "--faults", "stage1=slow(3)", "--json", a, "--report",
			rep, "--junit", junit),
		  0);
	ASSERT(!strstr(err, "deprecated"));
	/* the old names: the same run, and a line saying what to use */
	ASSERT_EQ(BENCH(err, "run", VLOAD, "--fault-plan", "stage1=slow(3)", "--json", b), 0);
	ASSERT(strstr(err, "--fault-plan is deprecated, use --faults"));
	fl_report *ra = load_json(dir, "a.json"), *rb = load_json(dir, "b.json");
	ASSERT_STR_EQ(ra->fault_plan, "stage1=slow(3)");
	ASSERT_EQ(fl_hdr_value_at_percentile(fl_report_find_hist(ra, "response")->hdr, 99),
		  fl_hdr_value_at_percentile(fl_report_find_hist(rb, "response")->hdr, 99));
	fl_report_free(ra);
	fl_report_free(rb);
	ASSERT_EQ(BENCH(err, "run", VLOAD, "--out", rep), 0);
	ASSERT(strstr(err, "--out is deprecated, use --report"));
	/* --report wrote the report files; --junit its file */
	char p[1200];
	snprintf(p, sizeof(p), "%s/report.json", rep);
	ASSERT_EQ(access(p, R_OK), 0);
	ASSERT_EQ(access(junit, R_OK), 0);
	/* --opt=value and --opt value are the same option */
	ASSERT_EQ(BENCH(err, "run", "--clock=virtual", "--rate=2000", "--items=500", "--warmup=0",
			"--faults=stage1=slow(3)", "--json", b),
		  0);
	rb = load_json(dir, "b.json");
	ASSERT_EQ(counter(rb, "items"), 500);
	ASSERT_STR_EQ(rb->fault_plan, "stage1=slow(3)");
	fl_report_free(rb);
	ASSERT_EQ(BENCH(err, "run", "--poisson=1"), 2); /* a flag takes no value */
	ASSERT(strstr(err, "--poisson takes no value"));
	ASSERT_EQ(BENCH(err, "run", "--no-such-flag=3"), 2);
	scratch_free(dir);
}

FL_TEST(help_per_verb)
{
	char err[1024];
	const char *verbs[] = {"run", "sweep", "gate", "sweep-report", "loads"};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		ASSERT_EQ(BENCH(err, verbs[i], "-h"), 0);
		ASSERT_EQ(BENCH(err, verbs[i], "--help"), 0);
	}
	ASSERT_EQ(BENCH(err, "help"), 0);
	ASSERT_EQ(BENCH(err, "loads"), 0);
	ASSERT_EQ(BENCH(err, "loads", "extra"), 2); /* control: not everything exits 0 */
	ASSERT_EQ(BENCH(err, "frobnicate"), 2);
	ASSERT(strstr(err, "unknown command 'frobnicate'"));
	/* called as a verb ("bench") of another program, messages name both */
	ASSERT(strstr(err, "test_bench_loads bench: unknown command"));
}

FL_TEST_MAIN(FL_CASE(registry_finds_lists_and_refuses),
	     FL_CASE(constructor_failure_is_reported_on_first_read),
	     FL_CASE(run_serves_every_request_once_and_writes_the_hlog),
	     FL_CASE(failing_requests_are_counted_and_fail_the_run),
	     FL_CASE(sweep_over_workers_and_rate_makes_cells),
	     FL_CASE(timeout_cancels_the_request_and_counts_it_failed),
	     FL_CASE(sweep_fails_on_failures_unless_allowed), FL_CASE(gate_takes_a_load_by_name),
	     FL_CASE(user_load_options_that_cannot_apply_are_refused),
	     FL_CASE(new_flag_names_and_deprecated_aliases), FL_CASE(help_per_verb))
