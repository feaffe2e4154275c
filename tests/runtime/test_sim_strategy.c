/* fl-test-labels: sim onebackend */
/* onebackend: every case starts the sim backend itself (seeded). */
/*
 * The sim backend's strategies (fl_sim_strategy): random is the sim's
 * original choices (setting it gives the hash of a run that never set a
 * strategy, and PCT or POS give another); PCT and POS replay exactly per
 * seed and differ between seeds; PCT learns its step bound k from the
 * runs before and reports it in the spec that replays the run alone; PCT
 * of depth 1 runs the highest-priority task to its end; bad specs are
 * refused with the field named.
 */
#include <fl/chan.h>
#include <fl/group.h>
#include <fl/task.h>

#include <inttypes.h>

#include "task_test_util.h"

#define SEED 0x5eed
#define WORKERS 4
#define ROUNDS 5

static void use_sim(void)
{
	check(fl_sched_init(&(struct fl_sched_opts){.backend = "sim", .seed = SEED}));
	ASSERT_STR_EQ(fl_sched_backend(), "sim");
}

typedef struct prog {
	int order[WORKERS * ROUNDS]; /* worker ids in the order they ran */
	int n;
	int id[WORKERS];
} prog;

static prog *P;

static fl_err *worker(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	int id = *(int *)arg;
	for (int i = 0; i < ROUNDS; i++) {
		P->order[P->n++] = id;
		fl_yield();
	}
	return NULL;
}

/* One run of the program with seed; returns its trace hash. */
static uint64_t run(uint64_t seed, prog *p)
{
	check(fl_sim_begin(seed));
	memset(p, 0, sizeof(*p));
	P = p;
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int i = 0; i < WORKERS; i++) {
		p->id[i] = i;
		check(fl_group_go(g, worker, &p->id[i]));
	}
	check(fl_group_wait(g));
	fl_group_free(g);
	ASSERT_EQ(p->n, WORKERS * ROUNDS);
	return fl_sim_trace_hash();
}

FL_TEST(random_is_the_original_schedule)
{
	use_sim();
	static prog a, b, c;
	uint64_t h = run(7, &a); /* no strategy set: the default */
	check(fl_sim_strategy("random"));
	ASSERT_U64_EQ(run(7, &b), h);
	ASSERT_EQ(memcmp(a.order, b.order, sizeof(a.order)), 0);
	char used[32];
	fl_sim_strategy_used(used, sizeof(used));
	ASSERT_STR_EQ(used, "random");
	/* Negative control: another strategy, same seed, another run. */
	check(fl_sim_strategy("pos"));
	ASSERT_NE(run(7, &c), h);
}

static void replays_per_seed(const char *spec)
{
	static prog a, b, c;
	check(fl_sim_strategy(spec));
	(void)run(1, &a); /* PCT: a run to learn k from */
	char used[32];
	uint64_t h = run(2, &a);
	fl_sim_strategy_used(used, sizeof(used));
	for (int i = 0; i < 3; i++) {
		check(fl_sim_strategy(used));
		ASSERT_U64_EQ(run(2, &b), h);
		ASSERT_EQ(memcmp(a.order, b.order, sizeof(a.order)), 0);
	}
	bool other = false;
	for (uint64_t s = 3; s < 8 && !other; s++)
		other = run(s, &c) != h;
	ASSERT(other);
}

FL_TEST(pct_and_pos_replay_per_seed)
{
	use_sim();
	replays_per_seed("pct:2");
	replays_per_seed("pct:3");
	replays_per_seed("pos");
}

FL_TEST(pct_learns_k_from_earlier_runs)
{
	use_sim();
	static prog a;
	check(fl_sim_strategy("pct:2"));
	(void)run(1, &a);
	uint64_t steps = fl_sim_steps();
	ASSERT_GT(steps, WORKERS * ROUNDS); /* every yield is a step */
	(void)run(2, &a);
	char used[32], want[32];
	fl_sim_strategy_used(used, sizeof(used));
	snprintf(want, sizeof(want), "pct:2:%" PRIu64, steps);
	ASSERT_STR_EQ(used, want);
	/* A bound given is a floor. */
	check(fl_sim_strategy("pct:2:100000"));
	(void)run(3, &a);
	fl_sim_strategy_used(used, sizeof(used));
	ASSERT_STR_EQ(used, "pct:2:100000");
}

/* Depth 1: no change point, so the task with the highest priority runs
 * until it ends (yield keeps it on top): each worker's rounds are
 * consecutive. Random interleaves them (the control). */
FL_TEST(pct_depth_one_runs_by_priority)
{
	use_sim();
	static prog a;
	check(fl_sim_strategy("pct:1"));
	for (uint64_t s = 1; s <= 5; s++) {
		(void)run(s, &a);
		for (int i = 0; i < WORKERS * ROUNDS; i++)
			ASSERT_EQ(a.order[i], a.order[i / ROUNDS * ROUNDS]);
	}
	check(fl_sim_strategy("random"));
	bool interleaved = false;
	for (uint64_t s = 1; s <= 5; s++) {
		(void)run(s, &a);
		for (int i = 0; i < WORKERS * ROUNDS; i++)
			interleaved |= a.order[i] != a.order[i / ROUNDS * ROUNDS];
	}
	ASSERT(interleaved);
}

/* A preemption is a step that leaves a task still runnable for another.
 * pct:1 never does (a yield keeps the top task on top); random does, and
 * every switch between two workers' rounds that both had rounds left is
 * one of them (a lower bound read off the order). */
FL_TEST(preemptions_are_counted)
{
	use_sim();
	static prog a;
	check(fl_sim_strategy("pct:1"));
	for (uint64_t s = 1; s <= 5; s++) {
		(void)run(s, &a);
		ASSERT_U64_EQ(fl_sim_preemptions(), 0);
	}
	check(fl_sim_strategy("random"));
	for (uint64_t s = 1; s <= 5; s++) {
		(void)run(s, &a);
		int done[WORKERS] = {0};
		uint64_t floor = 0;
		for (int i = 0; i < WORKERS * ROUNDS; i++) {
			int w = a.order[i];
			if (i > 0 && a.order[i - 1] != w && done[a.order[i - 1]] < ROUNDS)
				floor++;
			done[w]++;
		}
		ASSERT_GT(floor, 0);
		ASSERT(fl_sim_preemptions() >= floor);
		ASSERT(fl_sim_preemptions() < fl_sim_steps());
	}
}

/* pct:auto:3 runs depth 1 + seed mod 3 and names it in the run's spec,
 * which replays the run alone; pct:2 names 2 whatever the seed (the
 * control). */
FL_TEST(pct_auto_cycles_the_depth_by_seed)
{
	use_sim();
	static prog a, b;
	check(fl_sim_strategy("pct:auto:3"));
	(void)run(1, &a); /* a run to learn k from */
	for (uint64_t s = 3; s <= 8; s++) {
		check(fl_sim_strategy("pct:auto:3:40"));
		uint64_t h = run(s, &a);
		char used[32], want[32];
		fl_sim_strategy_used(used, sizeof(used));
		snprintf(want, sizeof(want), "pct:%d:40", (int)(1 + s % 3));
		ASSERT_STR_EQ(used, want);
		check(fl_sim_strategy(used));
		ASSERT_U64_EQ(run(s, &b), h);
		ASSERT_EQ(memcmp(a.order, b.order, sizeof(a.order)), 0);
	}
	check(fl_sim_strategy("pct:2:40"));
	for (uint64_t s = 3; s <= 5; s++) {
		char used[32];
		(void)run(s, &a);
		fl_sim_strategy_used(used, sizeof(used));
		ASSERT_STR_EQ(used, "pct:2:40");
	}
}

FL_TEST(bad_specs_are_refused)
{
	use_sim();
	const char *bad[] = {"bogus", "pct:0", "pct:17", "pct:2:x", "pct:", "pctx", "pos:2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fl_err *err = fl_sim_strategy(bad[i]);
		ASSERT(fl_err_is(err, FL_ERR_INVAL));
		char msg[256];
		fl_err_format(err, msg, sizeof(msg));
		ASSERT(strstr(msg, bad[i]) != NULL);
		fl_err_drop(err);
	}
	check(fl_sim_strategy("pct:16:5"));
	check(fl_sim_strategy("random"));
}

FL_TEST_MAIN(FL_CASE(random_is_the_original_schedule), FL_CASE(pct_and_pos_replay_per_seed),
	     FL_CASE(pct_learns_k_from_earlier_runs), FL_CASE(pct_depth_one_runs_by_priority),
	     FL_CASE(preemptions_are_counted), FL_CASE(pct_auto_cycles_the_depth_by_seed),
	     FL_CASE(bad_specs_are_refused))
