/* fl-test-labels: concurrency memcheck */
/*
 * Panics and deferred cleanups: capture in FL_PANIC_CAPTURE groups (the
 * task unwinds, its cleanups run LIFO, siblings are cancelled at once and
 * wait reports the panic), the default abort, and fl_defer on tasks and
 * foreign threads. Aborting cases run in a fresh child process.
 */
#define _GNU_SOURCE
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/task.h>

#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl_test.h"
#include "task_test_util.h"

/* ---- capture ------------------------------------------------------------ */

typedef struct cap_state {
	sem siblings_ready;  /* each sibling is about to block */
	sem siblings_woke;   /* each sibling saw the cancellation */
	atomic_int order[8]; /* cleanup ids in the order they ran */
	atomic_int norder;
	atomic_int after_panic; /* code after fl_panic ran (must not) */
	atomic_int clean_exits;
	_Atomic int64_t panic_at_ns;
	_Atomic int64_t max_wake_latency_ns;
} cap_state;

typedef struct cleanup_arg {
	cap_state *s;
	int id;
	bool await_siblings; /* proves the siblings were cancelled first */
} cleanup_arg;

static void cleanup(void *arg)
{
	cleanup_arg *c = arg;
	if (c->await_siblings)
		for (int i = 0; i < 3; i++)
			sem_wait_(&c->s->siblings_woke);
	int k = atomic_fetch_add(&c->s->norder, 1);
	atomic_store(&c->s->order[k], c->id);
}

static cleanup_arg cleanups[3];

/* Panics a few frames down, so the unwinding skips real frames. */
static void deep_panic(int depth)
{
	if (depth < 0)
		return;
	if (depth == 0)
		fl_panic("boom %d", 42);
	deep_panic(depth - 1);
}

static fl_err *panicker_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	cap_state *s = arg;
	for (int i = 0; i < 3; i++) {
		cleanups[i] = (cleanup_arg){s, i + 1, i == 0};
		check(fl_defer(cleanup, &cleanups[i]));
	}
	for (int i = 0; i < 3; i++)
		sem_wait_(&s->siblings_ready);
	atomic_store(&s->panic_at_ns, fl_now());
	deep_panic(3);
	atomic_store(&s->after_panic, 1); /* not reached */
	return NULL;
}

static fl_err *sibling_task(fl_ctx *ctx, void *arg)
{
	cap_state *s = arg;
	sem_post_(&s->siblings_ready);
	ASSERT_EQ(fl_ctx_wait(ctx, hang_deadline()), FL_CANCELED);
	int64_t lat = fl_now() - atomic_load(&s->panic_at_ns);
	int64_t m = atomic_load(&s->max_wake_latency_ns);
	while (lat > m && !atomic_compare_exchange_weak(&s->max_wake_latency_ns, &m, lat))
		;
	fl_err *cause = fl_ctx_cause(ctx);
	ASSERT(fl_err_is(cause, FL_ERR_PANIC));
	fl_err_drop(cause);
	sem_post_(&s->siblings_woke);
	atomic_fetch_add(&s->clean_exits, 1);
	return NULL;
}

FL_TEST(capture_unwinds_runs_cleanups_and_cancels_siblings)
{
	baseline();
	cap_state s = {.norder = 0};
	sem_init_(&s.siblings_ready);
	sem_init_(&s.siblings_woke);
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(),
			   &(struct fl_group_opts){.name = "cap", .panic = FL_PANIC_CAPTURE}, &g,
			   &ctx));
	for (int i = 0; i < 3; i++)
		check(fl_group_go(g, sibling_task, &s));
	check(fl_group_go_named(g, "panicker", panicker_task, &s));
	fl_err *err = fl_group_wait(g);
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);

	ASSERT(fl_err_is(err, FL_ERR_PANIC));
	const fl_panic_info *p = fl_err_as(err, &fl_panic_type);
	ASSERT_NOT_NULL(p);
	ASSERT_STR_EQ(p->msg, "boom 42");
	ASSERT_STR_EQ(p->task, "panicker");
	ASSERT(strchr(p->backtrace, '\n') != NULL);
	char line[512];
	fl_err_format(err, line, sizeof(line));
	ASSERT(strstr(line, "panic in task 'panicker': boom 42") != NULL);
	fl_err *cause = fl_ctx_cause(ctx);
	ASSERT(cause == err);
	fl_err_drop(cause);

	ASSERT_EQ(atomic_load(&s.after_panic), 0);
	ASSERT_EQ(atomic_load(&s.clean_exits), 3);
	ASSERT_EQ(atomic_load(&s.norder), 3);
	ASSERT_EQ(atomic_load(&s.order[0]), 3); /* LIFO */
	ASSERT_EQ(atomic_load(&s.order[1]), 2);
	ASSERT_EQ(atomic_load(&s.order[2]), 1);
	/* "At once": no time passes between the panic and the siblings' wake on
	 * virtual time; on real clocks FL_CANCELED above shows the cancel, not
	 * the hang bound, woke them. */
	if (fl_test_virtual_time())
		ASSERT_EQ(atomic_load(&s.max_wake_latency_ns), 0);

	fl_err_drop(err);
	fl_group_free(g);
	sem_destroy_(&s.siblings_ready);
	sem_destroy_(&s.siblings_woke);
	assert_baseline();
}

static void count_cleanup(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

static fl_err *panic_or_fail_task(fl_ctx *ctx, void *arg)
{
	if ((intptr_t)arg == 0)
		fl_panic("first");
	ASSERT_EQ(fl_ctx_wait(ctx, hang_deadline()), FL_CANCELED);
	return fl_err_new("after the panic");
}

FL_TEST(capture_in_collect_mode_puts_panic_first)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(),
			   &(struct fl_group_opts){.panic = FL_PANIC_CAPTURE, .collect = true}, &g,
			   &ctx));
	check(fl_group_go(g, panic_or_fail_task, (void *)1));
	check(fl_group_go(g, panic_or_fail_task, (void *)0));
	fl_err *err = fl_group_wait(g);
	ASSERT_EQ(fl_err_join_len(err), 2);
	ASSERT(fl_err_is(fl_err_join_at(err, 0), FL_ERR_PANIC));
	ASSERT(!fl_err_is(fl_err_join_at(err, 1), FL_ERR_PANIC));
	fl_err_drop(err);
	fl_group_free(g);
	assert_baseline();
}

/* ---- cleanups ----------------------------------------------------------- */

static fl_err *defer_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	for (int i = 0; i < 4; i++)
		check(fl_defer(count_cleanup, arg));
	return NULL;
}

FL_TEST(cleanups_run_when_task_returns)
{
	baseline();
	atomic_int ran = 0;
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &ctx));
	for (int i = 0; i < 5; i++)
		check(fl_group_go(g, defer_task, &ran));
	check(fl_group_wait(g));
	ASSERT_EQ(atomic_load(&ran), 20);
	fl_group_free(g);
	assert_baseline();
}

static int seq_log[4];
static int seq_n;

static void log_cleanup(void *arg) { seq_log[seq_n++] = (int)(intptr_t)arg; }

FL_TEST(cleanups_on_foreign_thread_run_lifo_on_demand)
{
	seq_n = 0;
	for (intptr_t i = 1; i <= 3; i++)
		check(fl_defer(log_cleanup, (void *)i));
	ASSERT_EQ(seq_n, 0);
	fl_defer_run_all();
	ASSERT_EQ(seq_n, 3);
	ASSERT_EQ(seq_log[0], 3);
	ASSERT_EQ(seq_log[1], 2);
	ASSERT_EQ(seq_log[2], 1);
	fl_defer_run_all(); /* nothing left */
	ASSERT_EQ(seq_n, 3);
	fl_err *err = fl_defer(NULL, NULL);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
}

/* ---- aborts --------------------------------------------------------------- */

static fl_err *doomed_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	fl_panic("kaboom %d", 7);
}

FL_TEST(default_policy_aborts_with_message)
{
	if (in_child()) {
		fl_group *g;
		fl_ctx *ctx;
		check(fl_group_new(fl_ctx_background(), NULL, &g, &ctx));
		check(fl_group_go_named(g, "doomed", doomed_task, NULL));
		fl_err_drop(fl_group_wait(g)); /* not reached */
		fl_group_free(g);
		return;
	}
	char out[16384];
	int status = run_child("default_policy_aborts_with_message", out, sizeof(out));
	assert_aborted_with(status, out, "faultline: panic in task 'doomed': kaboom 7");
	assert_aborted_with(status, out, "backtrace:");
}

FL_TEST(panic_outside_task_aborts)
{
	if (in_child())
		fl_panic("no task here");
	char out[16384];
	int status = run_child("panic_outside_task_aborts", out, sizeof(out));
	assert_aborted_with(status, out, "': no task here");
}

FL_TEST(free_unwaited_reports_captured_panic)
{
	if (in_child()) {
		fl_group *g;
		fl_ctx *ctx;
		check(fl_group_new(fl_ctx_background(),
				   &(struct fl_group_opts){.name = "forgotten",
							   .panic = FL_PANIC_CAPTURE},
				   &g, &ctx));
		check(fl_group_go_named(g, "doomed", doomed_task, NULL));
		int64_t until = hang_deadline();
		while (!fl_group_first_err(g) && fl_now() < until)
			fl_yield();
		fl_group_free(g); /* aborts */
		return;
	}
	char out[16384];
	int status = run_child("free_unwaited_reports_captured_panic", out, sizeof(out));
	assert_aborted_with(status, out, "group 'forgotten' was never waited on");
	assert_aborted_with(status, out, "task 'doomed' panicked: kaboom 7");
	assert_aborted_with(status, out, "backtrace:");
}

FL_TEST_MAIN(FL_CASE(capture_unwinds_runs_cleanups_and_cancels_siblings),
	     FL_CASE(capture_in_collect_mode_puts_panic_first),
	     FL_CASE(cleanups_run_when_task_returns),
	     FL_CASE(cleanups_on_foreign_thread_run_lifo_on_demand),
	     FL_CASE(default_policy_aborts_with_message), FL_CASE(panic_outside_task_aborts),
	     FL_CASE(free_unwaited_reports_captured_panic))
