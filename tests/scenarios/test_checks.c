/*
 * test_checks.c - the checks' negative controls: each check is shown to
 * fail on a pipeline with a planted bug (a `plant` job key), next to the
 * same pipeline without the bug passing it. Timing goals are skipped
 * (skip_timing) except where the planted breach cannot be a race (an SLO of
 * 1 ns against items that each sleep 1 ms).
 */
/* fl-test-labels: memcheck */
/* fl-test-skip-sim: progressing_run_is_not_hung */
/* (the virtual-time watchdog measures virtual time; progress is a real-clock notion) */
#include <fl/hdr.h>
#include <fl/job.h>
#include <fl/scenario.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fl_test.h"
#include "fl_test_hdr.h"

static fl_jobs *jobs_of(const char *text)
{
	fl_jobs *j = NULL;
	fl_err *err = fl_jobs_parse(text, "test.ini", &j);
	if (err) {
		fl_err_print(stderr, err);
		FL_FAIL("job text did not parse");
	}
	return j;
}

/* Runs section name of text into r, with the whole-run watchdog after
 * hang_ns (0: the default). */
static void run_job_hang(const char *text, const char *name, fl_scenario_result *r, bool isolated,
			 int64_t hang_ns)
{
	fl_jobs *j = jobs_of(text);
	const fl_scenario *s = fl_jobs_find(j, name);
	ASSERT(s != NULL);
	fl_scenario_params p = {.skip_timing = true,
				.time_scale = fl_test_time_scale(),
				.seed = 7,
				.hang_ns = hang_ns};
	fl_scenario_result_init(r, s);
	fl_err *err = isolated ? fl_scenario_run_isolated(s, &p, r) : fl_scenario_run(s, &p, r);
	if (err)
		fl_err_print(stderr, err);
	ASSERT(err == NULL);
	fl_jobs_free(j);
}

/* Runs section name of text in-process (or isolated) into r. */
static void run_job(const char *text, const char *name, fl_scenario_result *r, bool isolated)
{
	run_job_hang(text, name, r, isolated, 0);
}

static enum fl_report_verdict verdict(const fl_scenario_result *r, const char *check)
{
	const fl_scenario_verdict *v = fl_scenario_find_check(r, check);
	if (!v)
		FL_FAIL("no check '%s'", check);
	return v->verdict;
}

/*
 * A "reaches N" check is judged only once the dispatcher found the group
 * (or a compartment) full, try_go refused: absent or skipped otherwise.
 * Then hwm == N held at that moment in a correct group,
 * a starved one holds one slot less and a breached one one more. Whether
 * the 2 ms items ever overlap enough to fill it is up to the real clock
 * and the machine's load; on virtual time every spawn happens before the
 * first item ends, so there it must happen. Returns whether it did.
 */
static bool saturated(const fl_scenario_result *r, const char *reaches)
{
	const fl_scenario_verdict *v = fl_scenario_find_check(r, reaches);
	bool found = v && v->verdict != FL_REPORT_SKIP;
	if (fl_test_virtual_time() && !found)
		FL_FAIL("never saturated on virtual time: no check '%s'", reaches);
	return found;
}

static const char *message(const fl_scenario_result *r, const char *check)
{
	return fl_scenario_find_check(r, check)->message;
}

#define BASE "[global]\nitems = 40\nbuffer = 0\n"

/* ---- tail latency: service and response are the same item's times ------ */

/* Closed loop, so every item's intended start is its actual start: on every
 * shape the service histogram must equal the end-to-end one, slot for slot.
 * (The per-item shape once moved items through channels sized for another
 * struct and lost their start time: garbage service times.) */
static const char shapes_job[] =
	BASE "[linear]\nshape = linear\n[fan_out]\nshape = fan-out\ngroup_limit = 4\n"
	     "[fan_in]\nshape = fan-in\n[diamond]\nshape = diamond\n"
	     "[per_item]\nshape = per-item\nstages = source, a, b, sink\ngroup_limit = 4\n";

FL_TEST(service_equals_response_in_closed_loop)
{
	static const char *const sections[] = {"linear", "fan_out", "fan_in", "diamond",
					       "per_item"};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		fl_scenario_result r;
		run_job(shapes_job, sections[i], &r, false);
		const fl_hdr *e2e = fl_scenario_find_hist(&r, "e2e");
		const fl_hdr *svc = fl_scenario_find_hist(&r, "service");
		ASSERT(e2e && svc);
		ASSERT_GT(fl_hdr_total_count(e2e), 0);
		char what[64];
		snprintf(what, sizeof(what), "[%s] e2e vs service", sections[i]);
		fl_test_assert_same_hdr(what, e2e, svc);
		fl_scenario_result_destroy(&r);
	}
}

/* ---- prompt cancellation: a stuck stage is caught and named ------------- */

static const char stuck_job[] =
	BASE "[ok]\nshape = linear\nstages = source, work, sink\ncancel_hang = 300ms\n"
	     "faults = source=@3 error(inval)\n"
	     "[stuck]\nshape = linear\nstages = source, work, sink\ncancel_hang = 300ms\n"
	     "faults = source=@3 error(inval); work=@2 stuck(30s)\n";

FL_TEST(cancel_passes_when_stages_cooperate)
{
	fl_scenario_result r;
	run_job(stuck_job, "ok", &r, false);
	ASSERT_EQ(verdict(&r, "prompt cancellation"), FL_REPORT_PASS);
	ASSERT(!r.hung);
	ASSERT_EQ(verdict(&r, "error identity"), FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
}

FL_TEST(stuck_stage_is_caught_and_named)
{
	fl_scenario_result r;
	run_job(stuck_job, "stuck", &r, false);
	ASSERT_EQ(verdict(&r, "prompt cancellation"), FL_REPORT_FAIL);
	ASSERT(r.hung);
	const char *m = message(&r, "prompt cancellation");
	if (!strstr(m, "work") || strstr(m, "sink") || strstr(m, "source"))
		FL_FAIL("the stuck stage is not named alone: %s", m);
	/* the watchdog disarmed the plan: the run finished, nothing leaked */
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_LEAKS), FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
}

/* ---- the whole-run watchdog judges progress, not length ----------------- */

/* 40 items of 40 ms each (x time_scale, like hang_ns): steady progress for
 * three hang periods. Timed by length, the watchdog would call it hung.
 * The period is long next to an item, so only a stall of the whole process
 * for half a second, which no busy machine inflicts, could fire it. */
FL_TEST(progressing_run_is_not_hung)
{
	int64_t hang = FL_MS(500) * fl_test_time_scale();
	fl_scenario_result r;
	run_job_hang(BASE "[slow]\nshape = linear\nwork = 40ms\n", "slow", &r, false, hang);
	ASSERT_GT(r.duration_ns, 2 * hang); /* it did outlast the period */
	ASSERT(!r.hung);
	const fl_scenario_verdict *v = fl_scenario_find_check(&r, FL_SCENARIO_CHECK_HANG);
	if (v && v->verdict != FL_REPORT_PASS)
		FL_FAIL("a run that progressed was called hung: %s", v->message);
	ASSERT(fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

/* Each item's work is a sleep three times the hang bound (the `work = 60s`
 * of a 60 s bound): nothing completes for a whole period, but a stage is
 * sleeping towards a known end, so the run is slow, not hung. On sim, a
 * 50 ms bound and 3 items of 150 ms take no real time. On the real clocks
 * the stage also runs between its sleeps, and a runnable thread a loaded
 * machine keeps off the CPU for a whole period looks stuck: a 50 ms bound
 * was crossed there under TSan with stress-ng on both cores. So the real
 * clocks get a 500 ms bound and 2 items of 1.5 s, a stall no busy machine
 * inflicts (as progressing_run_is_not_hung). */
FL_TEST(work_longer_than_the_bound_is_not_hung)
{
	bool virt = fl_test_virtual_time();
	int64_t hang = (virt ? FL_MS(50) : FL_MS(500)) * fl_test_time_scale();
	char job[160];
	snprintf(job, sizeof(job),
		 "[global]\nitems = %d\nbuffer = 0\n[long]\nshape = linear\nwork = %dms\n",
		 virt ? 3 : 2, virt ? 150 : 1500);
	fl_scenario_result r;
	run_job_hang(job, "long", &r, false, hang);
	ASSERT(!r.hung);
	const fl_scenario_verdict *v = fl_scenario_find_check(&r, FL_SCENARIO_CHECK_HANG);
	if (v && v->verdict != FL_REPORT_PASS)
		FL_FAIL("a run sleeping through its work was called hung: %s", v->message);
	ASSERT_GT(r.duration_ns, 2 * hang); /* it did outlast the period */
	ASSERT(fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
}

/* The negative control: with the same short hang_ns, a stage stuck after
 * the cancel stops all progress, and the whole-run watchdog names it. */
FL_TEST(stuck_stage_is_hung_with_short_hang_ns)
{
	fl_scenario_result r;
	run_job_hang(stuck_job, "stuck", &r, false, FL_MS(50) * fl_test_time_scale());
	ASSERT(r.hung);
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_HANG), FL_REPORT_FAIL);
	const char *m = message(&r, FL_SCENARIO_CHECK_HANG);
	if (!strstr(m, "work") || strstr(m, "sink") || strstr(m, "source"))
		FL_FAIL("the stuck stage is not named alone: %s", m);
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_LEAKS), FL_REPORT_PASS); /* disarmed: it ended */
	fl_scenario_result_destroy(&r);
}

/* A job file's own plan holds a stage in stuck(30m) with no cancel in
 * sight: only the whole-run watchdog can end it, and it used to disarm
 * the runner's plan alone, so the run sat out its minutes and exited 3.
 * Now every plan is disarmed: the stage comes back and the run reports. */
FL_TEST(job_file_plan_is_disarmed_by_the_run_watchdog)
{
	fl_scenario_result r;
	run_job_hang(BASE "[own]\nshape = linear\nfaults = work=@2 stuck(30m)\n", "own", &r, false,
		     FL_MS(300) * fl_test_time_scale());
	ASSERT(r.hung);
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_HANG), FL_REPORT_FAIL);
	if (!strstr(message(&r, FL_SCENARIO_CHECK_HANG), "work"))
		FL_FAIL("the stuck stage is not named: %s", message(&r, FL_SCENARIO_CHECK_HANG));
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_LEAKS), FL_REPORT_PASS); /* it came back */
	fl_scenario_result_destroy(&r);
}

/* ---- leak-freedom ---------------------------------------------------------- */

static const char leak_job[] = BASE "[ok]\nshape = linear\n"
				    "[leak]\nshape = linear\nplant = leak\n"
				    "[heap]\nshape = linear\nplant = leak-heap\n";

FL_TEST(planted_leak_is_caught)
{
	fl_scenario_result r;
	run_job(leak_job, "ok", &r, false);
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_LEAKS), FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
	run_job(leak_job, "leak", &r, false);
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_LEAKS), FL_REPORT_FAIL);
	if (!strstr(message(&r, FL_SCENARIO_CHECK_LEAKS), "chans +1"))
		FL_FAIL("leak message: %s", message(&r, FL_SCENARIO_CHECK_LEAKS));
	fl_scenario_result_destroy(&r);
}

FL_TEST(planted_heap_leak_is_caught)
{
	fl_scenario_result r;
	run_job(leak_job, "heap", &r, false);
#ifdef FL_HAVE_JEMALLOC
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_HEAP), FL_REPORT_FAIL);
	ASSERT_GE(r.heap_delta, (int64_t)32 << 20);
#else
	/* sanitizer and valgrind builds: no jemalloc, the check says so */
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_HEAP), FL_REPORT_SKIP);
#endif
	fl_scenario_result_destroy(&r);
}

/* ---- SetLimit caps ----------------------------------------------------------- */

static const char limit_job[] =
	BASE "[global]\nshape = fan-out\nstages = source, work, sink\ngroup_limit = 4\nwork = 2ms\n"
	     "[ok]\n[breach]\nplant = breach-limit\n[starve]\nplant = starve-limit\n";

FL_TEST(limit_holds_and_is_reached)
{
	fl_scenario_result r;
	run_job(limit_job, "ok", &r, false);
	ASSERT_EQ(verdict(&r, "group work hwm <= 4"), FL_REPORT_PASS);
	if (saturated(&r, "group work reaches 4"))
		ASSERT_EQ(verdict(&r, "group work reaches 4"), FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
}

FL_TEST(planted_limit_breach_is_caught)
{
	fl_scenario_result r;
	run_job(limit_job, "breach", &r, false);
	if (saturated(&r, "group work reaches 4")) /* then 5 ran at once */
		ASSERT_EQ(verdict(&r, "group work hwm <= 4"), FL_REPORT_FAIL);
	fl_scenario_result_destroy(&r);
}

FL_TEST(planted_starved_limit_is_caught)
{
	fl_scenario_result r;
	run_job(limit_job, "starve", &r, false);
	ASSERT_EQ(verdict(&r, "group work hwm <= 4"), FL_REPORT_PASS);
	if (saturated(&r, "group work reaches 4")) /* full at 3 */
		ASSERT_EQ(verdict(&r, "group work reaches 4"), FL_REPORT_FAIL);
	fl_scenario_result_destroy(&r);
}

/* ---- conservation -------------------------------------------------------------- */

static const char lose_job[] = BASE "[ok]\nshape = linear\nfaults = work=10% drop; source=5% dup\n"
				    "[lose]\nshape = linear\nplant = lose-item\n";

FL_TEST(conservation_counts_drops_and_dups)
{
	fl_scenario_result r;
	run_job(lose_job, "ok", &r, false);
	ASSERT_EQ(verdict(&r, "conservation"), FL_REPORT_PASS);
	ASSERT_GT(fl_scenario_counter_value(&r, "skipped"), 0);
	ASSERT_GT(fl_scenario_counter_value(&r, "duplicated"), 0);
	fl_scenario_result_destroy(&r);
}

FL_TEST(planted_lost_item_is_caught)
{
	fl_scenario_result r;
	run_job(lose_job, "lose", &r, false);
	ASSERT_EQ(verdict(&r, "conservation"), FL_REPORT_FAIL);
	ASSERT_EQ(fl_scenario_counter_value(&r, "delivered"), 39);
	fl_scenario_result_destroy(&r);
}

/* ---- error identity ---------------------------------------------------------------- */

static const char err_job[] =
	BASE "[global]\nshape = linear\nstages = source, parse, sink\n"
	     "faults = parse=@3 error(inval)\n"
	     "[typed]\nexpect_error = inval\nexpect_stage = parse\n"
	     "[wrong_stage]\nexpect_error = inval\nexpect_stage = sink\n"
	     "[swallow]\nplant = swallow-error\n"
	     "[collect]\nerror_mode = collect-all\nfaults = parse=@2..4 error(inval)\n";

FL_TEST(error_identity_matches_sentinel_and_stage)
{
	fl_scenario_result r;
	run_job(err_job, "typed", &r, false);
	ASSERT_EQ(verdict(&r, "error identity"), FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
	run_job(err_job, "wrong_stage", &r, false);
	ASSERT_EQ(verdict(&r, "error identity"), FL_REPORT_FAIL);
	fl_scenario_result_destroy(&r);
	run_job(err_job, "collect", &r, false);
	ASSERT_EQ(verdict(&r, "error identity"), FL_REPORT_PASS);
	ASSERT_EQ(fl_scenario_counter_value(&r, "failed"), 3);
	ASSERT_EQ(verdict(&r, "conservation"), FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
}

FL_TEST(swallowed_error_is_caught)
{
	fl_scenario_result r;
	run_job(err_job, "swallow", &r, false);
	ASSERT_EQ(verdict(&r, "error identity"), FL_REPORT_FAIL);
	if (!strstr(message(&r, "error identity"), "<nil>"))
		FL_FAIL("message: %s", message(&r, "error identity"));
	fl_scenario_result_destroy(&r);
}

/* ---- crash isolation ----------------------------------------------------------------- */

static const char crash_job[] = BASE "[crash]\nshape = linear\nplant = crash\n"
				     "[after]\nshape = diamond\nwidth = 2\n";

FL_TEST(crashing_scenario_is_isolated)
{
	fl_scenario_result r;
	run_job(crash_job, "crash", &r, true);
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_CRASH), FL_REPORT_FAIL);
	ASSERT_EQ(r.signal, SIGABRT);
	if (!strstr(message(&r, FL_SCENARIO_CHECK_CRASH), "signal 6"))
		FL_FAIL("message: %s", message(&r, FL_SCENARIO_CHECK_CRASH));
	/* The backtrace names the crashing function and its file and line, the
	 * frames of the signal's delivery cut off (it once held 256 bytes of
	 * handler and libc addresses). Under valgrind (a time scale) the
	 * child's frames are valgrind's to give; the name is not asserted. */
	const char *bt = strstr(message(&r, FL_SCENARIO_CHECK_CRASH), "backtrace: ");
	ASSERT(bt != NULL);
	if (fl_test_time_scale() == 1 && strncmp(bt, "backtrace: fl__eng_handle (item.c:", 34) != 0)
		FL_FAIL("the crashing function is not the first frame: %s", bt);
	ASSERT(!fl_scenario_result_passed(&r));
	fl_scenario_result_destroy(&r);
	/* the suite goes on: the next scenario runs and its result comes back
	 * whole over the pipe (checks, counters, histograms) */
	run_job(crash_job, "after", &r, true);
	ASSERT(fl_scenario_result_passed(&r));
	ASSERT_EQ(verdict(&r, FL_SCENARIO_CHECK_CRASH), FL_REPORT_PASS);
	ASSERT_EQ(fl_scenario_counter_value(&r, "delivered"), 80);
	const fl_hdr *h = fl_scenario_find_hist(&r, "e2e");
	ASSERT(h != NULL);
	ASSERT_EQ(fl_hdr_total_count(h), 80);
	fl_scenario_result_destroy(&r);
}

/* ---- tail latency --------------------------------------------------------------------- */

static const char slo_job[] = BASE "[global]\nshape = linear\nwork = 1ms\nitems = 10\n"
				   "[tight]\nslo_p99 = 1ns\n[loose]\nslo_p99 = 1h\nslo_max = 1h\n";

static void run_timed(const char *name, fl_scenario_result *r)
{
	fl_jobs *j = jobs_of(slo_job);
	const fl_scenario *s = fl_jobs_find(j, name);
	fl_scenario_params p = {.time_scale = fl_test_time_scale()};
	fl_scenario_result_init(r, s);
	ASSERT(fl_scenario_run(s, &p, r) == NULL);
	fl_jobs_free(j);
}

FL_TEST(latency_slo_breach_is_caught)
{
	fl_scenario_result r;
	/* every item sleeps 1 ms in the work stage: a 1 ns p99 cannot hold */
	run_timed("tight", &r);
	ASSERT_EQ(verdict(&r, "latency slo"), FL_REPORT_FAIL);
	ASSERT_GE(fl_scenario_find_check(&r, "latency slo")->measured, 1e6);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "e2e")), 10);
	ASSERT_EQ(fl_hdr_total_count(fl_scenario_find_hist(&r, "stage.work")), 10);
	fl_scenario_result_destroy(&r);
	run_timed("loose", &r);
	ASSERT_EQ(verdict(&r, "latency slo"), FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
}

/* ---- the policies go through the runtime's patterns ----------------------- */

static const char policy_job[] =
	BASE "[global]\nshape = linear\nitems = 10\n"
	     "[retried]\nfaults = work=@2..3 error(again)\nretry = 2\nretry_backoff = 0\n"
	     "[hedged]\nfaults = work=@3 sleep(30s)\nhedge = 1ms\n"
	     "[broken]\nfaults = work=@2..100 error(system)\nbreaker = 2\nbreaker_cooldown = 1h\n"
	     "error_mode = per-item\n";

FL_TEST(policies_are_wired)
{
	fl_scenario_result r;
	/* item 2 fails twice at work, the third attempt passes (fl_retry) */
	run_job(policy_job, "retried", &r, false);
	ASSERT(fl_scenario_result_passed(&r));
	ASSERT_EQ(fl_scenario_counter_value(&r, "retries"), 2);
	ASSERT_EQ(fl_scenario_counter_value(&r, "absorbed_errors"), 2);
	ASSERT_EQ(fl_scenario_counter_value(&r, "delivered"), 10);
	fl_scenario_result_destroy(&r);
	/* item 3's first attempt stalls; the hedge (fl_hedge) answers, the
	 * stalled one is cancelled when the hedge wins */
	run_job(policy_job, "hedged", &r, false);
	ASSERT(fl_scenario_result_passed(&r));
	ASSERT_GE(fl_scenario_counter_value(&r, "hedges"), 1);
	ASSERT_EQ(fl_scenario_counter_value(&r, "delivered"), 10);
	fl_scenario_result_destroy(&r);
	/* from item 2 on work fails: two failures open the breaker, and
	 * the remaining items are refused without a call (fl_breaker) */
	run_job(policy_job, "broken", &r, false);
	ASSERT(fl_scenario_result_passed(&r));
	ASSERT_EQ(fl_scenario_counter_value(&r, "failed"), 9);
	ASSERT_EQ(fl_scenario_counter_value(&r, "injected_errors"), 2);
	ASSERT_EQ(fl_scenario_counter_value(&r, "breaker_rejected"), 7);
	fl_scenario_result_destroy(&r);
}

/* ---- bulkheads: tenants in their own compartments ----------------------------- */

static long tenant_count(const fl_scenario_result *r, int t, const char *fate)
{
	char name[64];
	snprintf(name, sizeof(name), "tenant.t%d.%s", t, fate);
	int64_t v = fl_scenario_counter_value(r, name);
	return v < 0 ? 0 : (long)v; /* fates other than produced/delivered: only when not 0 */
}

/* 10 items per tenant and 10 slots: no compartment ever fills, so nothing
 * is shed whatever the timing; t1 (or t2) fails one item. */
static const char contain_job[] = BASE
	"[global]\nshape = fan-out\nstages = source, work, sink\nbulkhead = 10\ntenants = 4\n"
	"[failing]\nfaults = t1/work=@2 error(inval)\nexpect_error = inval\nexpect_stage = work\n"
	"[panicking]\nfaults = t1/work=@2 panic\n"
	"[per_item_shape]\nshape = per-item\nstages = source, a, b, sink\n"
	"faults = t2/b=@3 error(inval)\n";

FL_TEST(bulkhead_contains_a_failing_tenant)
{
	static const char *const sections[] = {"failing", "panicking", "per_item_shape"};
	for (int i = 0; i < 3; i++) {
		int bad = i == 2 ? 2 : 1;
		fl_scenario_result r;
		run_job(contain_job, sections[i], &r, false);
		if (!fl_scenario_result_passed(&r))
			FL_FAIL("[%s] did not pass", sections[i]);
		/* the failure stays in its tenant: the pipeline is not cancelled */
		ASSERT_EQ(verdict(&r, "tenant isolation"), FL_REPORT_PASS);
		ASSERT_EQ(verdict(&r, "prompt cancellation"), FL_REPORT_SKIP);
		ASSERT_EQ(fl_scenario_counter_value(&r, "failed"), 1);
		ASSERT_EQ(tenant_count(&r, bad, "failed"), 1);
		ASSERT_EQ(tenant_count(&r, bad, "delivered") + tenant_count(&r, bad, "cancelled"),
			  9);
		for (int t = 0; t < 4; t++)
			if (t != bad)
				ASSERT_EQ(tenant_count(&r, t, "delivered"), 10);
		ASSERT_EQ(fl_scenario_counter_value(&r, "shed"), 0);
		/* the result is the tenant's, wrapped: "tenant 't1': stage work, ..." */
		char want[32];
		snprintf(want, sizeof(want), "tenant 't%d'", bad);
		if (!strstr(r.err_text, want) || (i == 1 && !strstr(r.err_text, "panic")))
			FL_FAIL("[%s] result: %s", sections[i], r.err_text);
		fl_scenario_result_destroy(&r);
	}
}

/* Every tenant has 8 items and 8 slots, so only a shared compartment can
 * fill up: t1's items hang in it and never leave. */
static const char tenant_job[] =
	BASE "[global]\nshape = fan-out\nstages = source, work, sink\nitems = 32\nbulkhead = 8\n"
	     "tenants = 4\nbulkhead_wait = 50ms\ncancel_hang = 100ms\nfaults = t1/*=hang\n"
	     "[isolated]\n[shared]\nplant = shared-bulkhead\n";

FL_TEST(planted_shared_bulkhead_is_caught)
{
	fl_scenario_result r;
	/* t1 hangs in its own compartment; at the end of input it makes no
	 * progress, so the dispatcher cancels it and the run ends */
	run_job(tenant_job, "isolated", &r, false);
	ASSERT(fl_scenario_result_passed(&r));
	ASSERT(!r.hung);
	ASSERT_EQ(verdict(&r, "tenant isolation"), FL_REPORT_PASS);
	ASSERT_EQ(verdict(&r, "bulkhead work hwm <= 8"), FL_REPORT_PASS);
	ASSERT_EQ(verdict(&r, "bulkhead work reaches 8"), FL_REPORT_SKIP); /* never full */
	for (int t = 0; t < 4; t++)
		if (t != 1)
			ASSERT_EQ(tenant_count(&r, t, "delivered"), 8);
	ASSERT_EQ(tenant_count(&r, 1, "cancelled"), 8);
	ASSERT_EQ(fl_scenario_counter_value(&r, "shed"), 0);
	fl_scenario_result_destroy(&r);
	/* the bug: one compartment for all; once t1's 8 hung items hold every
	 * slot, t2's and t3's last items wait bulkhead_wait and are shed */
	run_job(tenant_job, "shared", &r, false);
	ASSERT(!r.hung);
	ASSERT_EQ(verdict(&r, "tenant isolation"), FL_REPORT_FAIL);
	ASSERT_EQ(verdict(&r, "conservation"), FL_REPORT_PASS);
	const char *m = message(&r, "tenant isolation");
	if (!strstr(m, "t2: no fault met it") || !strstr(m, "hit: t1"))
		FL_FAIL("isolation message: %s", m);
	ASSERT_EQ(tenant_count(&r, 2, "shed") + tenant_count(&r, 3, "shed"), 2);
	fl_scenario_result_destroy(&r);
}

/* The caps per compartment: 2 tenants, 2 slots each, 2 ms per item, so the
 * dispatcher finds compartments full (as limit_job's group). */
static const char bh_limit_job[] =
	BASE "[global]\nshape = fan-out\nstages = source, work, sink\nbulkhead = 2\ntenants = 2\n"
	     "work = 2ms\n[ok]\n[breach]\nplant = breach-limit\n[starve]\nplant = starve-limit\n";

FL_TEST(planted_bulkhead_breach_and_starve_are_caught)
{
	fl_scenario_result r;
	run_job(bh_limit_job, "ok", &r, false);
	ASSERT(fl_scenario_result_passed(&r));
	ASSERT_EQ(verdict(&r, "bulkhead work hwm <= 2"), FL_REPORT_PASS);
	if (saturated(&r, "bulkhead work reaches 2"))
		ASSERT_EQ(verdict(&r, "bulkhead work reaches 2"), FL_REPORT_PASS);
	fl_scenario_result_destroy(&r);
	run_job(bh_limit_job, "breach", &r, false);
	if (saturated(&r, "bulkhead work reaches 2"))
		ASSERT_EQ(verdict(&r, "bulkhead work hwm <= 2"), FL_REPORT_FAIL);
	fl_scenario_result_destroy(&r);
	run_job(bh_limit_job, "starve", &r, false);
	ASSERT_EQ(verdict(&r, "bulkhead work hwm <= 2"), FL_REPORT_PASS);
	if (saturated(&r, "bulkhead work reaches 2"))
		ASSERT_EQ(verdict(&r, "bulkhead work reaches 2"), FL_REPORT_FAIL);
	fl_scenario_result_destroy(&r);
}

FL_TEST_MAIN(FL_CASE(policies_are_wired), FL_CASE(service_equals_response_in_closed_loop),
	     FL_CASE(cancel_passes_when_stages_cooperate), FL_CASE(stuck_stage_is_caught_and_named),
	     FL_CASE(progressing_run_is_not_hung), FL_CASE(work_longer_than_the_bound_is_not_hung),
	     FL_CASE(stuck_stage_is_hung_with_short_hang_ns),
	     FL_CASE(job_file_plan_is_disarmed_by_the_run_watchdog),
	     FL_CASE(planted_leak_is_caught), FL_CASE(planted_heap_leak_is_caught),
	     FL_CASE(limit_holds_and_is_reached), FL_CASE(planted_limit_breach_is_caught),
	     FL_CASE(planted_starved_limit_is_caught), FL_CASE(conservation_counts_drops_and_dups),
	     FL_CASE(planted_lost_item_is_caught),
	     FL_CASE(error_identity_matches_sentinel_and_stage), FL_CASE(swallowed_error_is_caught),
	     FL_CASE(crashing_scenario_is_isolated), FL_CASE(latency_slo_breach_is_caught),
	     FL_CASE(bulkhead_contains_a_failing_tenant),
	     FL_CASE(planted_shared_bulkhead_is_caught),
	     FL_CASE(planted_bulkhead_breach_and_starve_are_caught))
