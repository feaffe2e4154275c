/* fl-test-labels: sim onebackend */
/* onebackend: every case starts the sim backend itself (seeded). */
/*
 * The sim backend: the same seed gives the same run (the trace hash and
 * what the program observed) five times in one process and in another
 * process; another seed gives another run; virtual time jumps over
 * minutes of sleeps and timeouts; a deadlock is detected, reported with
 * the task dump and fails the root's wait, and can be resolved; timers,
 * deadlines and cancellation fire at their exact virtual instants; select
 * is fair and its choices repeat per seed; fl_blocking runs inline; a raw
 * thread calling the runtime aborts with a clear message; the text trace
 * has one line per event.
 *
 * Not labelled "concurrency" or "memcheck": Valgrind does not follow
 * hand-written stack switches, so the Helgrind and memcheck gates skip it.
 */
#define _GNU_SOURCE
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/task.h>

#include <pthread.h>
#include <time.h>

#include "task_test_util.h"

#define SEED 0x5eed

static void use_sim(uint64_t seed)
{
	check(fl_sched_init(&(struct fl_sched_opts){.backend = "sim", .seed = seed}));
	ASSERT_STR_EQ(fl_sched_backend(), "sim");
}

static fl_chan *chan_make(size_t elem_size, size_t cap, const char *name)
{
	fl_chan *ch = NULL;
	check(fl_chan_new(elem_size, cap, &(struct fl_chan_opts){.name = name}, &ch));
	return ch;
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- a program with real scheduling choices ---------------------------------- */

#define PRODUCERS 4
#define PER_PRODUCER 25
#define TOTAL (PRODUCERS * PER_PRODUCER)

typedef struct prog {
	fl_chan *work;    /* unbuffered: producers -> consumer */
	fl_chan *side;    /* buffered: producers -> consumer (select) */
	int order[TOTAL]; /* what the consumer received, in order */
	int n;
	int sleeps; /* sleeper wake-ups before the deadline */
	struct who {
		struct prog *p;
		int id;
	} who[PRODUCERS];
} prog;

static fl_err *producer(fl_ctx *ctx, void *arg)
{
	struct who *w = arg;
	prog *p = w->p;
	int id = w->id;
	for (int i = 0; i < PER_PRODUCER; i++) {
		int v = id * 1000 + i;
		fl_chan *ch = (i % 3 == 0) ? p->side : p->work;
		if (fl_chan_send(ch, &v, ctx, FL_FOREVER) != FL_OK)
			return fl_err_new("producer %d: send failed", id);
		if (i % 7 == 0)
			fl_yield();
	}
	return NULL;
}

static fl_err *consumer(fl_ctx *ctx, void *arg)
{
	prog *p = arg;
	while (p->n < TOTAL) {
		int a, b;
		fl_select_case cs[2] = {
			{.ch = p->work, .op = FL_RECV, .elem = &a},
			{.ch = p->side, .op = FL_RECV, .elem = &b},
		};
		int idx = fl_select(cs, 2, ctx, FL_FOREVER);
		if (idx < 0)
			return fl_err_new("consumer: select returned %d", idx);
		p->order[p->n++] = idx == 0 ? a : b;
	}
	return NULL;
}

/* Sleeps in short random-looking steps until a shared deadline cancels it. */
static fl_err *sleeper(fl_ctx *ctx, void *arg)
{
	prog *p = arg;
	for (int i = 1; fl_sleep_until(ctx, fl_deadline_in(FL_MS(3 * i))) == FL_OK; i++)
		p->sleeps++;
	return NULL;
}

/* Runs the program (as a new sim run if begin); returns its trace hash. */
static uint64_t run_prog_as(bool begin, uint64_t seed, prog *p)
{
	if (begin)
		check(fl_sim_begin(seed));
	memset(p, 0, sizeof(*p));
	p->work = chan_make(sizeof(int), 0, "work");
	p->side = chan_make(sizeof(int), 2, "side");
	fl_ctx *dl;
	check(fl_ctx_with_timeout(fl_ctx_background(), FL_MS(50), NULL, &dl));
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "prog"}, &g,
			   &gctx));
	for (int i = 0; i < PRODUCERS; i++) {
		p->who[i] = (struct who){.p = p, .id = i};
		check(fl_group_go(g, producer, &p->who[i]));
	}
	check(fl_group_go(g, consumer, p));
	fl_group *sg;
	fl_ctx *sctx;
	check(fl_group_new(dl, &(struct fl_group_opts){.name = "sleepers"}, &sg, &sctx));
	check(fl_group_go(sg, sleeper, p));
	check(fl_group_go(sg, sleeper, p));
	check(fl_group_wait(g));
	check(fl_group_wait(sg));
	fl_group_free(g);
	fl_group_free(sg);
	fl_ctx_free(dl);
	fl_chan_free(p->work);
	fl_chan_free(p->side);
	ASSERT_EQ(p->n, TOTAL);
	return fl_sim_trace_hash();
}

static uint64_t run_prog(uint64_t seed, prog *p) { return run_prog_as(true, seed, p); }

FL_TEST(same_seed_same_hash_five_runs)
{
	use_sim(SEED);
	static prog first, again;
	uint64_t h = run_prog(SEED, &first);
	ASSERT_NE(h, 0);
	ASSERT_GT(fl_sim_trace_events(), 2 * TOTAL);
	for (int run = 1; run < 5; run++) {
		ASSERT_U64_EQ(run_prog(SEED, &again), h);
		ASSERT_EQ(memcmp(first.order, again.order, sizeof(first.order)), 0);
		ASSERT_EQ(first.sleeps, again.sleeps);
	}
	fprintf(stderr, "seed %#x: trace hash %016" PRIx64 " over %" PRIu64 " events, 5 runs\n",
		SEED, h, fl_sim_trace_events());
}

FL_TEST(different_seed_different_run)
{
	use_sim(SEED);
	static prog a, b;
	uint64_t ha = run_prog(1, &a);
	uint64_t hb = run_prog(2, &b);
	ASSERT_NE(ha, hb);
	/* The seed changed real choices, not only the hash: the consumer saw
	 * the producers' items interleaved differently. */
	ASSERT_NE(memcmp(a.order, b.order, sizeof(a.order)), 0);
	/* Each producer's items still arrive in its own order (FIFO per
	 * channel and producer). */
	for (int pid = 0; pid < PRODUCERS; pid++) {
		int last = -1;
		for (int i = 0; i < TOTAL; i++)
			if (a.order[i] / 1000 == pid && a.order[i] % 1000 % 3 != 0) {
				ASSERT_GT(a.order[i], last);
				last = a.order[i];
			}
	}
}

/* The same seed in another process (other addresses, other ASLR) gives the
 * same hash: the child prints it, the parent compares. */
FL_TEST(same_seed_same_hash_across_processes)
{
	use_sim(SEED);
	static prog p;
	uint64_t h = run_prog(SEED, &p);
	if (in_child()) {
		fprintf(stderr, "hash=%016" PRIx64 "\n", h);
		return;
	}
	for (int i = 0; i < 2; i++) {
		char out[8192];
		int status = run_child("same_seed_same_hash_across_processes", out, sizeof(out));
		ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		const char *at = strstr(out, "hash=");
		ASSERT_NOT_NULL(at);
		ASSERT_U64_EQ(strtoull(at + 5, NULL, 16), h);
	}
}

/* FAULTLINE_BACKEND, FAULTLINE_SEED and FAULTLINE_TRACE do what opts do: a
 * child started with them replays the parent's first run and writes its
 * trace; a bad seed is refused with a message naming the variable. */
FL_TEST(environment_chooses_backend_seed_and_trace)
{
	static prog p;
	if (in_child()) {
		ASSERT_STR_EQ(fl_sched_backend(), "sim");
		fprintf(stderr, "hash=%016" PRIx64 " events=%" PRIu64 "\n",
			run_prog_as(false, 0, &p), fl_sim_trace_events());
		return;
	}
	use_sim(SEED); /* opts.seed, no begin: the first run of the process */
	uint64_t h = run_prog_as(false, 0, &p);
	char path[] = "/tmp/fl-sim-env-XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	close(fd);
	char seed[32];
	snprintf(seed, sizeof(seed), "%#x", SEED);
	ASSERT_EQ(setenv("FAULTLINE_BACKEND", "sim", 1), 0);
	ASSERT_EQ(setenv("FAULTLINE_SEED", seed, 1), 0);
	ASSERT_EQ(setenv("FAULTLINE_TRACE", path, 1), 0);
	char out[8192];
	int status = run_child("environment_chooses_backend_seed_and_trace", out, sizeof(out));
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	const char *at = strstr(out, "hash=");
	ASSERT_NOT_NULL(at);
	ASSERT_U64_EQ(strtoull(at + 5, NULL, 16), h);
	FILE *f = fopen(path, "r");
	ASSERT_NOT_NULL(f);
	uint64_t lines = 0;
	for (int c; (c = fgetc(f)) != EOF;)
		lines += c == '\n';
	fclose(f);
	unlink(path);
	ASSERT_U64_EQ(lines, fl_sim_trace_events());

	ASSERT_EQ(setenv("FAULTLINE_SEED", "12abc", 1), 0);
	ASSERT_EQ(unsetenv("FAULTLINE_TRACE"), 0);
	status = run_child("environment_chooses_backend_seed_and_trace", out, sizeof(out));
	assert_aborted_with(status, out, "FAULTLINE_SEED='12abc' is not an unsigned integer");
	unsetenv("FAULTLINE_SEED");
	unsetenv("FAULTLINE_BACKEND");
}

/* ---- virtual time ------------------------------------------------------------- */

static fl_err *sleep_ten_minutes(fl_ctx *ctx, void *arg)
{
	int64_t *woke = arg;
	/* Many short sleeps first: each one is a clock jump. */
	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(fl_sleep_until(ctx, fl_deadline_in(FL_MS(100))), FL_OK);
	ASSERT_EQ(fl_sleep_until(ctx, fl_deadline_in(FL_SEC(600))), FL_OK);
	*woke = fl_now();
	return NULL;
}

static fl_err *recv_with_timeout(fl_ctx *ctx, void *arg)
{
	int64_t *at = arg;
	fl_chan *never = chan_make(sizeof(int), 0, "never");
	int v;
	ASSERT_EQ(fl_chan_recv(never, &v, ctx, fl_deadline_in(FL_SEC(300))), FL_TIMEDOUT);
	*at = fl_now();
	fl_chan_free(never);
	return NULL;
}

FL_TEST(ten_virtual_minutes_take_no_time)
{
	use_sim(SEED);
	int64_t t0 = fl_now(), w0 = wall_ns();
	int64_t woke = 0, timed_out = 0;
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	check(fl_group_go(g, sleep_ten_minutes, &woke));
	check(fl_group_go(g, recv_with_timeout, &timed_out));
	check(fl_group_wait(g));
	fl_group_free(g);
	int64_t wall = wall_ns() - w0;
	ASSERT_EQ(timed_out - t0, FL_SEC(300));
	ASSERT_EQ(woke - t0, FL_SEC(100) + FL_SEC(600));
	ASSERT_GT(timed_out, 0);
	ASSERT_EQ(fl_now(), woke); /* nothing ran later: the clock stopped there */
	fprintf(stderr, "virtual %.1f s passed in %.3f ms of wall time\n",
		(double)(fl_now() - t0) / 1e9, (double)wall / 1e6);
}

/* ---- timers, deadlines, cancellation ---------------------------------------------- */

typedef struct when {
	int64_t t0;
	int64_t cancelled_at, deadline_at, slept_at, after_at;
	fl_ctx *parent;
	fl_chan *after_done;
} when;

static fl_err *wait_ctx(fl_ctx *ctx, void *arg)
{
	when *w = arg;
	ASSERT_EQ(fl_ctx_wait(ctx, FL_FOREVER), FL_CANCELED);
	ASSERT(fl_err_is(fl_ctx_err(ctx), FL_ERR_CANCELED));
	w->cancelled_at = fl_now() - w->t0;
	return NULL;
}

static fl_err *wait_deadline(fl_ctx *ctx, void *arg)
{
	when *w = arg;
	fl_ctx *dl;
	check(fl_ctx_with_timeout(ctx, FL_SEC(30), NULL, &dl));
	fl_chan *ch = chan_make(sizeof(int), 0, "dl");
	int v;
	ASSERT_EQ(fl_chan_recv(ch, &v, dl, FL_FOREVER), FL_CANCELED);
	ASSERT(fl_err_is(fl_ctx_err(dl), FL_ERR_DEADLINE));
	w->deadline_at = fl_now() - w->t0;
	fl_chan_free(ch);
	fl_ctx_free(dl);
	return NULL;
}

static fl_err *cancel_later(fl_ctx *ctx, void *arg)
{
	when *w = arg;
	ASSERT_EQ(fl_sleep_until(ctx, w->t0 + FL_SEC(60)), FL_OK);
	w->slept_at = fl_now() - w->t0;
	fl_ctx_cancel(w->parent, NULL);
	return NULL;
}

static void after(void *arg)
{
	when *w = arg;
	w->after_at = fl_now() - w->t0;
	char c = 1;
	ASSERT_EQ(fl_chan_send(w->after_done, &c, NULL, FL_TRY), FL_OK);
}

FL_TEST(timers_deadlines_and_cancellation_in_virtual_time)
{
	use_sim(SEED);
	when w = {.t0 = fl_now(), .after_done = chan_make(1, 1, "after")};
	check(fl_ctx_with_cancel(fl_ctx_background(), &w.parent));
	fl_ctx_after *af;
	check(fl_ctx_after_func(w.parent, after, &w, &af));
	fl_group *g, *cg;
	fl_ctx *gctx, *cgctx;
	check(fl_group_new(w.parent, NULL, &g, &gctx));
	check(fl_group_new(fl_ctx_background(), NULL, &cg, &cgctx));
	check(fl_group_go(g, wait_ctx, &w));
	check(fl_group_go(g, wait_deadline, &w));
	check(fl_group_go(cg, cancel_later, &w));
	check(fl_group_wait(cg));
	check(fl_group_wait(g));
	fl_group_free(g);
	fl_group_free(cg);
	ASSERT_EQ(fl_chan_recv(w.after_done, NULL, NULL, FL_FOREVER), FL_OK);
	fl_chan_free(w.after_done);
	ASSERT_EQ(w.deadline_at, FL_SEC(30));
	ASSERT_EQ(w.slept_at, FL_SEC(60));
	ASSERT_EQ(w.cancelled_at, FL_SEC(60)); /* no time passes between wake-ups */
	ASSERT_EQ(w.after_at, FL_SEC(60));
	fl_ctx_free(w.parent);
	ASSERT(!fl_ctx_after_stop(af)); /* it ran; the handle is released after the free */
	/* A deadline already in the past fails at once, without a jump. */
	int64_t now = fl_now();
	fl_chan *ch = chan_make(sizeof(int), 0, "past");
	int v;
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, now - 1), FL_TIMEDOUT);
	ASSERT_EQ(fl_now(), now);
	fl_chan_free(ch);
}

/* ---- deadlock --------------------------------------------------------------------- */

static fl_err *recv_forever(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	int v, rc;
	while ((rc = fl_chan_recv(arg, &v, NULL, FL_FOREVER)) == FL_OK)
		;
	ASSERT_EQ(rc, FL_CLOSED);
	return NULL;
}

FL_TEST(deadlock_is_detected_with_dump_and_can_be_resolved)
{
	use_sim(SEED);
	char *text = NULL;
	size_t len = 0;
	FILE *rep = open_memstream(&text, &len);
	ASSERT_NOT_NULL(rep);
	fl_sim_set_report(rep);
	fl_chan *stuck = chan_make(sizeof(int), 0, "stuck");
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "blocked"}, &g,
			   &gctx));
	check(fl_group_go_named(g, "reader-a", recv_forever, stuck));
	check(fl_group_go_named(g, "reader-b", recv_forever, stuck));

	fl_err *err = fl_group_wait(g);
	ASSERT(fl_err_is(err, FL_ERR_DEADLOCK));
	fl_err_drop(err);
	ASSERT_EQ(fl_sim_deadlocks(), 1);

	/* The root's own unbounded channel wait fails the same way. */
	int v = 0;
	ASSERT_EQ(fl_chan_send(stuck, &v, NULL, FL_TRY), FL_OK); /* a reader takes it */
	ASSERT_EQ(fl_chan_recv(stuck, &v, NULL, FL_FOREVER), FL_DEADLOCK);
	ASSERT_EQ(fl_sim_deadlocks(), 2);
	fflush(rep);
	ASSERT_NOT_NULL(strstr(text, "deadlock at virtual time"));
	ASSERT_NOT_NULL(strstr(text, "reader-b"));
	ASSERT_NOT_NULL(strstr(text, "chan recv on 'stuck'"));
	ASSERT_NOT_NULL(strstr(text, "group wait on 'blocked'"));

	/* Resolve it: closing the channel ends the remaining reader. */
	check(fl_chan_close(stuck));
	check(fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(stuck);
	fl_sim_set_report(NULL);
	fclose(rep);
	free(text);
	ASSERT_EQ(fl_stats_get().tasks, 0);
}

static fl_err *wait_forever(fl_ctx *ctx, void *arg)
{
	(void)arg;
	ASSERT_EQ(fl_ctx_wait(ctx, FL_FOREVER), FL_CANCELED);
	return NULL;
}

FL_TEST(deadlock_at_the_group_limit)
{
	use_sim(SEED);
	FILE *devnull = fopen("/dev/null", "w");
	ASSERT_NOT_NULL(devnull);
	fl_sim_set_report(devnull);
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "lim", .limit = 1},
			   &g, &gctx));
	check(fl_group_go(g, wait_forever, NULL));
	fl_err *err = fl_group_go(g, wait_forever, NULL);
	ASSERT(fl_err_is(err, FL_ERR_DEADLOCK));
	fl_err_drop(err);
	/* A context wait of the root deadlocks too. */
	ASSERT_EQ(fl_ctx_wait(gctx, FL_FOREVER), FL_DEADLOCK);
	ASSERT_EQ(fl_sim_deadlocks(), 2);
	err = fl_group_stop(g, NULL);
	ASSERT_NULL(err);
	fl_group_free(g);
	fl_sim_set_report(NULL);
	fclose(devnull);
}

/* ---- select --------------------------------------------------------------------------- */

#define PICKS 2000

/* Selects PICKS times over two always-ready channels; returns case 0's
 * count and fills choice[]. */
static int select_run(uint64_t seed, unsigned char *choice)
{
	check(fl_sim_begin(seed));
	fl_chan *a = chan_make(sizeof(int), 1, "a"), *b = chan_make(sizeof(int), 1, "b");
	int v = 1, got, zeros = 0;
	ASSERT_EQ(fl_chan_send(a, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(fl_chan_send(b, &v, NULL, FL_TRY), FL_OK);
	for (int i = 0; i < PICKS; i++) {
		fl_select_case cs[2] = {{.ch = a, .op = FL_RECV, .elem = &got},
					{.ch = b, .op = FL_RECV, .elem = &got}};
		int idx = fl_select(cs, 2, NULL, FL_TRY);
		ASSERT(idx == 0 || idx == 1);
		choice[i] = (unsigned char)idx;
		zeros += idx == 0;
		ASSERT_EQ(fl_chan_send(cs[idx].ch, &v, NULL, FL_TRY), FL_OK);
	}
	fl_chan_free(a);
	fl_chan_free(b);
	return zeros;
}

FL_TEST(select_fair_and_deterministic)
{
	use_sim(SEED);
	static unsigned char c1[PICKS], c2[PICKS], c3[PICKS];
	int z1 = select_run(7, c1);
	uint64_t h1 = fl_sim_trace_hash();
	int z2 = select_run(7, c2);
	ASSERT_U64_EQ(fl_sim_trace_hash(), h1);
	ASSERT_EQ(z1, z2);
	ASSERT_EQ(memcmp(c1, c2, PICKS), 0);
	select_run(8, c3);
	ASSERT_NE(memcmp(c1, c3, PICKS), 0);
	ASSERT_NE(fl_sim_trace_hash(), h1);
	/* Fair: each case wins about half (a binomial 2000/0.5 is within
	 * +-200 of 1000 with overwhelming probability; the seed makes it fixed). */
	ASSERT_GT(z1, PICKS / 2 - 200);
	ASSERT_LT(z1, PICKS / 2 + 200);
}

/* ---- blocking, foreign threads, trace file, misuse ------------------------------------- */

typedef struct inline_probe {
	pthread_t th;
	int64_t t;
} inline_probe;

static void probe(void *arg)
{
	inline_probe *p = arg;
	p->th = pthread_self();
	p->t = fl_now();
}

FL_TEST(blocking_runs_inline)
{
	use_sim(SEED);
	inline_probe p = {0};
	int64_t t = fl_now();
	fl_blocking(probe, &p);
	ASSERT(pthread_equal(p.th, pthread_self()));
	ASSERT_EQ(p.t, t);
	ASSERT_EQ(fl_stats_get().threads, 0);
}

static void *raw_thread(void *arg)
{
	int v = 1;
	(void)fl_chan_send(arg, &v, NULL, FL_TRY);
	return NULL;
}

FL_TEST(raw_thread_calling_runtime_aborts)
{
	if (!in_child()) {
		char out[8192];
		int status = run_child("raw_thread_calling_runtime_aborts", out, sizeof(out));
		assert_aborted_with(status, out, "not the simulation thread");
		return;
	}
	use_sim(SEED);
	fl_chan *ch = chan_make(sizeof(int), 1, "c");
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, raw_thread, ch), 0);
	pthread_join(th, NULL);
	FL_FAIL("the raw thread's runtime call did not abort");
}

FL_TEST(trace_file_has_a_line_per_event)
{
	use_sim(SEED);
	char path[] = "/tmp/fl-sim-trace-XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	close(fd);
	check(fl_sim_trace_file(path));
	static prog p;
	uint64_t h = run_prog(SEED, &p);
	check(fl_sim_trace_file(NULL));
	FILE *f = fopen(path, "r");
	ASSERT_NOT_NULL(f);
	char line[256];
	uint64_t lines = 0, switches = 0, sends = 0;
	while (fgets(line, sizeof(line), f)) {
		lines++;
		switches += strstr(line, " switch ") != NULL;
		sends += strstr(line, " send ") != NULL;
	}
	fclose(f);
	unlink(path);
	ASSERT_U64_EQ(lines, fl_sim_trace_events());
	ASSERT_GT(switches, 10);
	ASSERT_EQ(sends, TOTAL);
	ASSERT_U64_EQ(fl_sim_trace_hash(), h);
}

static fl_err *sleep_a_bit(fl_ctx *ctx, void *arg)
{
	(void)arg;
	(void)fl_sleep_until(ctx, fl_deadline_in(FL_SEC(1)));
	return NULL;
}

FL_TEST(sim_api_needs_the_sim_backend)
{
	fl_err *err = fl_sim_begin(1);
	ASSERT(fl_err_is(err, FL_ERR_MISUSE)); /* the default backend is not sim */
	fl_err_drop(err);
	ASSERT_U64_EQ(fl_sim_trace_hash(), 0);
	ASSERT_EQ(fl_sim_deadlocks(), 0);
}

FL_TEST(begin_refuses_live_tasks)
{
	use_sim(SEED);
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	check(fl_group_go(g, sleep_a_bit, NULL));
	fl_err *err = fl_sim_begin(1);
	ASSERT(fl_err_is(err, FL_ERR_MISUSE));
	fl_err_drop(err);
	check(fl_group_wait(g));
	fl_group_free(g);
	check(fl_sim_begin(1));
}

FL_TEST_MAIN(FL_CASE(same_seed_same_hash_five_runs), FL_CASE(different_seed_different_run),
	     FL_CASE(same_seed_same_hash_across_processes),
	     FL_CASE(environment_chooses_backend_seed_and_trace),
	     FL_CASE(ten_virtual_minutes_take_no_time),
	     FL_CASE(timers_deadlines_and_cancellation_in_virtual_time),
	     FL_CASE(deadlock_is_detected_with_dump_and_can_be_resolved),
	     FL_CASE(deadlock_at_the_group_limit), FL_CASE(select_fair_and_deterministic),
	     FL_CASE(blocking_runs_inline), FL_CASE(raw_thread_calling_runtime_aborts),
	     FL_CASE(trace_file_has_a_line_per_event), FL_CASE(sim_api_needs_the_sim_backend),
	     FL_CASE(begin_refuses_live_tasks))
