/* fl-test-labels: sim onebackend */
/* onebackend: every case starts the sim backend itself (seeded). */
/*
 * The dfs strategy (sim_dfs.c): with the same seed every run, it runs each
 * schedule of a small program with at most P preemptions exactly once and
 * then says the space is exhausted. The counts are worked out by hand
 * below from the program's segments; every run is a distinct schedule
 * (trace hash and order both); no run exceeds the bound; the search
 * starts over after the last one; bad specs are refused.
 */
#include <fl/group.h>
#include <fl/task.h>

#include <inttypes.h>

#include "task_test_util.h"

#define SEED 0x5eed
#define MAXW 3
#define MAXR 4
#define MAXRUNS 64

static void use_sim(void)
{
	check(fl_sched_init(&(struct fl_sched_opts){.backend = "sim", .seed = SEED}));
	ASSERT_STR_EQ(fl_sched_backend(), "sim");
}

typedef struct prog {
	int workers, yields;
	int order[MAXW * MAXR]; /* worker ids in the order their segments ran */
	int n;
	int id[MAXW];
} prog;

static prog *P;

/* Worker: yields+1 segments, each recording the worker's id. */
static fl_err *worker(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	int id = *(int *)arg;
	for (int i = 0; i <= P->yields; i++) {
		P->order[P->n++] = id;
		if (i < P->yields)
			fl_yield();
	}
	return NULL;
}

static uint64_t run(prog *p)
{
	check(fl_sim_begin(SEED)); /* dfs: the same seed every run */
	p->n = 0;
	P = p;
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int i = 0; i < p->workers; i++) {
		p->id[i] = i;
		check(fl_group_go(g, worker, &p->id[i]));
	}
	check(fl_group_wait(g));
	fl_group_free(g);
	ASSERT_EQ(p->n, p->workers * (p->yields + 1));
	return fl_sim_trace_hash();
}

/* Runs the search for workers x yields under spec until it says it is
 * exhausted; checks that every run is a new schedule within the bound;
 * returns the number of runs. */
static int search(const char *spec, int workers, int yields, uint64_t bound)
{
	static prog p;
	static uint64_t hash[MAXRUNS];
	static int order[MAXRUNS][MAXW * MAXR];
	p.workers = workers, p.yields = yields;
	check(fl_sim_strategy(spec));
	int runs = 0;
	do {
		ASSERT(runs < MAXRUNS);
		hash[runs] = run(&p);
		memcpy(order[runs], p.order, sizeof(p.order));
		ASSERT(fl_sim_preemptions() <= bound);
		for (int j = 0; j < runs; j++) {
			ASSERT(hash[j] != hash[runs]);
			ASSERT(memcmp(order[j], order[runs], sizeof(p.order)) != 0);
		}
		runs++;
	} while (!fl_sim_space_exhausted());
	/* The next run starts the search over: run 1 again. */
	ASSERT_U64_EQ(run(&p), hash[0]);
	ASSERT(!fl_sim_space_exhausted() || runs == 1);
	return runs;
}

/*
 * Two workers A and B of two segments each (one yield between): the root
 * spawns both and waits, so the schedules are the interleavings of a1 a2
 * with b1 b2, C(4,2) = 6 of them. A switch away from a worker after its
 * first segment preempts it (it is still runnable after the yield); one
 * after its last does not (it ended), and neither does the first choice
 * (the root is blocked in wait). Per interleaving:
 *   a1 a2 b1 b2: 0   b1 b2 a1 a2: 0
 *   a1 b1 b2 a2: 1   b1 a1 a2 b2: 1
 *   a1 b1 a2 b2: 2   b1 a1 b2 a2: 2
 * so P = 0 gives 2 schedules, P = 1 gives 2 + 2 = 4, P = 2 all 6.
 */
FL_TEST(dfs_counts_the_schedules_within_the_bound)
{
	use_sim();
	ASSERT_EQ(search("dfs:0", 2, 1, 0), 2);
	ASSERT_EQ(search("dfs:1", 2, 1, 1), 4);
	ASSERT_EQ(search("dfs:2", 2, 1, 2), 6);
	ASSERT_EQ(search("dfs", 2, 1, 2), 6); /* dfs is dfs:2 */
	ASSERT_EQ(search("dfs:5", 2, 1, 5), 6);
}

/*
 * Three workers of one segment each (no yield): every switch comes after a
 * worker ended, so none is a preemption and the 3! = 6 orders are all
 * within P = 0. Two workers of three segments each (two yields):
 * interleavings of a1 a2 a3 with b1 b2 b3, C(6,3) = 20; a run of r blocks
 * (maximal stretches of one worker) switches r - 1 times, the last switch
 * free (its worker ended), so it has r - 2 preemptions (0 for r = 2).
 * Starting with A, the number of interleavings with r blocks is
 * C(2, ceil(r/2) - 1) * C(2, floor(r/2) - 1): r = 2: 1, r = 3: 2,
 * r = 4: 4, r = 5: 2, r = 6: 1; twice that for both starts. So P = 0: 2,
 * P = 1: 2 + 4 = 6, P = 2: 6 + 8 = 14, P = 3: 14 + 4 = 18, P = 4: 20.
 */
FL_TEST(dfs_counts_free_choices_and_longer_runs)
{
	use_sim();
	ASSERT_EQ(search("dfs:0", 3, 0, 0), 6);
	ASSERT_EQ(search("dfs:0", 2, 2, 0), 2);
	ASSERT_EQ(search("dfs:1", 2, 2, 1), 6);
	ASSERT_EQ(search("dfs:2", 2, 2, 2), 14);
	ASSERT_EQ(search("dfs:3", 2, 2, 3), 18);
	ASSERT_EQ(search("dfs:4", 2, 2, 4), 20);
}

/* The first run never preempts: it is the non-preemptive schedule, each
 * worker to its end in spawn order. */
FL_TEST(dfs_first_run_is_the_default_schedule)
{
	use_sim();
	static prog p = {.workers = 2, .yields = 2};
	check(fl_sim_strategy("dfs:2"));
	(void)run(&p);
	ASSERT_U64_EQ(fl_sim_preemptions(), 0);
	int want[] = {0, 0, 0, 1, 1, 1};
	ASSERT_EQ(memcmp(p.order, want, sizeof(want)), 0);
	char used[32];
	fl_sim_strategy_used(used, sizeof(used));
	ASSERT_STR_EQ(used, "dfs:2");
	/* Negative control: other strategies never say exhausted. */
	check(fl_sim_strategy("random"));
	(void)run(&p);
	ASSERT(!fl_sim_space_exhausted());
}

/* A program that is not the same from run to run (here a third worker in
 * the first run only, as a one-time initialisation would) gives runnable
 * sets that differ from the trail: the sim says so on standard error and
 * the search goes on from there. Its second run is the first schedule of
 * the two-worker program, whose search then runs in full: 1 + 4 runs at
 * P = 1 (the count of dfs_counts_the_schedules_within_the_bound). */
FL_TEST(dfs_goes_on_when_the_program_changes)
{
	use_sim();
	static prog p = {.yields = 1};
	check(fl_sim_strategy("dfs:1"));
	int runs = 0;
	do {
		ASSERT(runs < MAXRUNS);
		p.workers = runs == 0 ? 3 : 2;
		(void)run(&p);
		ASSERT(fl_sim_preemptions() <= 1);
		runs++;
	} while (!fl_sim_space_exhausted());
	ASSERT_EQ(runs, 5);
	/* The control: the same program from the start, 4. */
	ASSERT_EQ(search("dfs:1", 2, 1, 1), 4);
}

FL_TEST(bad_dfs_specs_are_refused)
{
	use_sim();
	const char *bad[] = {"dfs:",    "dfs:x",      "dfs:65",    "dfsx",
			     "dfs:1:2", "pct:auto:0", "pct:auto:x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fl_err *err = fl_sim_strategy(bad[i]);
		ASSERT(fl_err_is(err, FL_ERR_INVAL));
		char msg[256];
		fl_err_format(err, msg, sizeof(msg));
		ASSERT(strstr(msg, bad[i]) != NULL);
		fl_err_drop(err);
	}
	check(fl_sim_strategy("dfs:64"));
	check(fl_sim_strategy("pct:auto:4:10"));
}

FL_TEST_MAIN(FL_CASE(dfs_counts_the_schedules_within_the_bound),
	     FL_CASE(dfs_counts_free_choices_and_longer_runs),
	     FL_CASE(dfs_first_run_is_the_default_schedule),
	     FL_CASE(dfs_goes_on_when_the_program_changes), FL_CASE(bad_dfs_specs_are_refused))
