/*
 * sim.c - the `sim` backend: deterministic simulation on one thread.
 *
 * Problem: a chaos run that fails once in a thousand seeds is useless if
 * the failure cannot be replayed, and a scenario with minute-long timeouts
 * is useless if it takes minutes. Here every task is a fiber on the one
 * thread that started the backend (the "sim thread", normally main), time
 * is virtual, and every scheduling choice comes from one seeded generator,
 * so a seed and a program give the same run, event for event, in
 * microseconds of real time per virtual minute.
 *
 * Data structures (all touched only on the sim thread, so no locks):
 *   - sim_task: the backend half of a task: its lane (a machine context
 *     plus the stack bounds and sanitizer handles a switch needs), a park
 *     token, flags, a park-deadline timer and a per-run sequence number.
 *     The sim thread's own task is the root: its lane is the thread's
 *     original stack.
 *   - the scheduler lane: a loop on a fiber stack of its own (Go's g0).
 *     A task that parks, yields or exits switches to it; it picks the next
 *     task and switches there. When the root parks, the loop runs on the
 *     sim thread in its place, which is how a test's fl_group_wait on main
 *     "runs" the simulation.
 *   - the run set: an array of runnable tasks (with their sequence
 *     numbers beside); the strategy (sim_strategy.c: random, PCT, POS, dfs)
 *     picks the next one (swap-remove keeps it deterministic).
 *   - timers: a binary min-heap by deadline. Timers due at the same
 *     virtual instant fire in an order drawn from the generator.
 *
 * The loop: fire one due timer (when <= now), else run one runnable task,
 * else jump the clock to the earliest timer, else deadlock. On deadlock
 * the loop prints the task dump and wakes the root, whose blocked wait
 * then fails: FL_DEADLOCK from a channel, select or context wait,
 * FL_ERR_DEADLOCK from fl_group_wait and fl_group_go (a root wait is
 * always unbounded here, since a bounded one would have a timer).
 *
 * Trace: each event (task switch, spawn, exit, wake, park timeout, timer
 * fire, channel send/recv/close with its result, select choice,
 * cancellation, deadlock) goes to sim_trace.c, which folds it into the
 * run's hash. Objects and tasks are named by per-run sequence numbers,
 * never addresses (element bytes are left out for the same reason: they
 * may be pointers), and times are relative to the run's start, so the
 * hash is the same in any process. The hooks in
 * chan.c, select.c and ctx.c test fl__sim_on, which stays false on other
 * backends, and reach this file through the seam's ops (trace, obj_id).
 */
#define _GNU_SOURCE /* pthread_getattr_np, pthread_getname_np */
#include "fiber_internal.h"
#include "fiber_switch_internal.h"
#include "sim_schedule_internal.h"
#include "sim_strategy_internal.h"
#include "sim_trace_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sync_internal.h"
#include "fl_alloc_internal.h"

#define VCLOCK_START FL_SEC(1000) /* virtual time at start: far from FL_TRY */
#define NO_TASK UINT32_MAX

enum { AFTER_PARK = 1, AFTER_YIELD, AFTER_EXIT };

typedef struct lane {
	fl__fctx *ctx;
	void *stack_lo;
	size_t stack_size;
	void *tsan;
	void *asan_fake;
} lane;

typedef struct sim_task {
	lane ln;
	fl__fiber *f; /* NULL for the root */
	fl__task *task;
	uint32_t seq;    /* per run: 0 is the root */
	bool token;      /* the park token (sched_internal.h) */
	bool parked;     /* switched out in park, not yet runnable */
	bool queued;     /* in the run set */
	fl__timer timer; /* park deadline */
} sim_task;

static struct {
	int64_t now;       /* virtual clock */
	int64_t run_start; /* clock at fl_sim_begin */
	uint64_t rng;      /* splitmix64 state */
	uint32_t task_seq, obj_seq, timer_seq;
	long live; /* spawned tasks not yet exited */
	long deadlocks;
	sim_task **rq;   /* the run set */
	uint32_t *rqseq; /* their seqs, for the strategy */
	size_t nrq, caprq;
	fl__timer **heap;
	size_t nheap, capheap;
	size_t ntimers; /* timers armed through the seam (not park deadlines) */
	sim_task *cur;  /* running task; NULL in the loop */
	sim_task *last; /* last task switched to (trace) */
	int after;      /* AFTER_*: why cur switched out */
	lane sched;     /* the loop's lane */
	fl__fiber *sched_f;
	sim_task root;
	fl__task root_task;
	void *tsan_free[256]; /* TSan fibers of exited tasks, for reuse */
	int ntsan_free;       /* (all NULL without TSan) */
	FILE *report;         /* deadlock reports; NULL = stderr */
} S;

static _Thread_local bool on_sim_thread;

/* ---- checks, generator, trace ------------------------------------------------ */

static void check_thread(void)
{
	if (__builtin_expect(on_sim_thread, 1))
		return;
	static char msg[256]; /* we abort: no reentrancy */
	char name[16] = "?";
	pthread_getname_np(pthread_self(), name, sizeof(name));
	snprintf(msg, sizeof(msg),
		 "sim backend: runtime call from OS thread '%s', which is not the simulation "
		 "thread; under sim every task must be started by the runtime (raw threads "
		 "would make runs nondeterministic)",
		 name);
	FL_ABORT(msg);
}

static uint64_t next_rand(void)
{
	uint64_t z = (S.rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t pick(uint64_t n) { return next_rand() % n; }

/* One event, at the run-relative virtual time (sim_trace.c). */
static void record(int kind, uint32_t task, uint32_t obj, int64_t arg)
{
	fl__trace_record(kind, task, obj, arg, S.now - S.run_start);
}

static uint32_t cur_seq(void) { return S.cur ? S.cur->seq : NO_TASK; }

static void sim_trace(int kind, uint32_t obj, int64_t arg)
{
	check_thread();
	record(kind, cur_seq(), obj, arg);
}

static uint32_t sim_obj_id(void)
{
	check_thread();
	return ++S.obj_seq;
}

/* ---- switching ---------------------------------------------------------------- */

static void lane_switch(lane *from, lane *to, bool from_exits)
{
	fl__fswitch(from->ctx, from_exits ? NULL : &from->asan_fake,
		    (fl__fswitch_to){to->ctx, to->stack_lo, to->stack_size, to->tsan});
}

/* On a task: back to the loop. */
static void switch_out(sim_task *s, int after)
{
	S.after = after;
	lane_switch(&s->ln, &S.sched, after == AFTER_EXIT);
}

/*
 * Room is made when it is promised, never when it is used: a task is in
 * the run set at most once and has at most one park deadline in the heap,
 * so spawning a task reserves a slot in each (and fails with out of memory
 * when it cannot), and a seam timer reserves its own slot when armed. The
 * root counts as one task. Queueing and parking then never allocate, so
 * out of memory is an error at spawn or arm time and never an abort in
 * the middle of a wait.
 */
static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *a = fl__realloc(*arr, n * elem);
	if (!a)
		return false;
	*arr = a;
	*cap = n;
	return true;
}

static size_t tasks_reserved(void) { return (size_t)S.live + 1; }

static bool heap_reserve(size_t tasks, size_t timers)
{
	return grow((void **)&S.heap, &S.capheap, tasks + timers, sizeof(*S.heap));
}

static void rq_push(sim_task *s)
{
	FL_ASSERT(!s->queued);
	FL_ASSERT(S.nrq < S.caprq); /* reserved at spawn */
	S.rqseq[S.nrq] = s->seq;
	S.rq[S.nrq++] = s;
	s->queued = true;
	fl__strat_ready(s->seq);
}

static sim_task *rq_take(void)
{
	size_t i = fl__strat_choose(S.rqseq, S.nrq, pick);
	sim_task *s = S.rq[i];
	S.rq[i] = S.rq[--S.nrq];
	S.rqseq[i] = S.rqseq[S.nrq];
	s->queued = false;
	return s;
}

/* ---- timers --------------------------------------------------------------------- */

static void heap_set(size_t i, fl__timer *t)
{
	S.heap[i] = t;
	t->heap_index = (int64_t)i;
}

static void heap_up(size_t i)
{
	fl__timer *t = S.heap[i];
	while (i > 0 && S.heap[(i - 1) / 2]->when_ns > t->when_ns) {
		heap_set(i, S.heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(i, t);
}

static void heap_down(size_t i)
{
	fl__timer *t = S.heap[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = l;
		if (l >= S.nheap)
			break;
		if (r < S.nheap && S.heap[r]->when_ns < S.heap[l]->when_ns)
			m = r;
		if (S.heap[m]->when_ns >= t->when_ns)
			break;
		heap_set(i, S.heap[m]);
		i = m;
	}
	heap_set(i, t);
}

static void heap_remove(size_t i)
{
	S.heap[i]->heap_index = -1;
	S.nheap--;
	if (i == S.nheap)
		return;
	heap_set(i, S.heap[S.nheap]);
	if (i > 0 && S.heap[(i - 1) / 2]->when_ns > S.heap[i]->when_ns)
		heap_up(i);
	else
		heap_down(i);
}

static void heap_insert(fl__timer *t)
{
	FL_ASSERT(S.nheap < S.capheap); /* reserved */
	t->seq = ++S.timer_seq;
	S.heap[S.nheap] = t;
	t->heap_index = (int64_t)S.nheap++;
	heap_up((size_t)t->heap_index);
}

static void park_timeout(fl__timer *tm);

/* A timer leaves the heap (stopped or fired): a seam timer's slot is
 * given back; a park deadline's stays with its task. */
static void heap_take(fl__timer *t)
{
	heap_remove((size_t)t->heap_index);
	if (t->fn != park_timeout)
		S.ntimers--;
}

static bool sim_timer_start(fl__timer *t)
{
	check_thread();
	if (!heap_reserve(tasks_reserved(), S.ntimers + 1))
		return false;
	S.ntimers++;
	heap_insert(t);
	return true;
}

static bool sim_timer_stop(fl__timer *t)
{
	check_thread();
	if (t->heap_index < 0)
		return false; /* fired, firing (one thread: it is our caller), or never armed */
	heap_take(t);
	return true;
}

/* Collects the heap positions holding the earliest deadline (they form a
 * subtree at the root); returns how many. */
static size_t ties(size_t i, int64_t when, size_t *out, size_t n, size_t cap)
{
	if (i >= S.nheap || S.heap[i]->when_ns != when || n == cap)
		return n;
	out[n++] = i;
	n = ties(2 * i + 1, when, out, n, cap);
	return ties(2 * i + 2, when, out, n, cap);
}

/* Fires one timer due now, chosen among ties by the generator. */
static bool fire_one_due(void)
{
	if (S.nheap == 0 || S.heap[0]->when_ns > S.now)
		return false;
	size_t idx[64];
	size_t n = ties(0, S.heap[0]->when_ns, idx, 0, 64);
	fl__timer *t = S.heap[idx[pick(n)]];
	heap_take(t);
	record(FL__EV_TIMER, NO_TASK, t->seq, 0);
	t->fn(t); /* may free t */
	return true;
}

/* ---- the loop ------------------------------------------------------------------- */

static void task_exit(sim_task *s)
{
	record(FL__EV_EXIT, s->seq, 0, 0);
	fl__fiber *f = s->f;
	fl__task_finish(s->task);
	/* Creating a TSan fiber costs about a millisecond: keep some. The
	 * reuse orders the old task before the new one for TSan, which hides
	 * nothing here: every task runs on this one thread anyway. */
	if (S.ntsan_free < (int)(sizeof(S.tsan_free) / sizeof(S.tsan_free[0])))
		S.tsan_free[S.ntsan_free++] = s->ln.tsan;
	else
		fl__fswitch_tsan_free(s->ln.tsan);
	fl__fswitch_stack_done(f->stack_lo, f->stack_size);
	fl__fiber_stack_put(f);
	free(s);
	S.live--;
}

/* The loop's half of a switch-out: s's stack is quiet now. */
static void switched_out(sim_task *s)
{
	S.cur = NULL;
	switch (S.after) {
	case AFTER_PARK: break; /* s->parked is set; an unpark or its timer requeues it */
	case AFTER_YIELD: rq_push(s); break;
	case AFTER_EXIT: task_exit(s); break;
	default: FL_ABORT("sim: task switched out without a reason");
	}
}

static void run(sim_task *s)
{
	if (S.last != s)
		record(FL__EV_SWITCH, s->seq, 0, 0);
	S.last = s;
	S.cur = s;
	lane_switch(&S.sched, &s->ln, false);
	switched_out(s);
}

static void deadlock(void)
{
	FILE *out = S.report ? S.report : stderr;
	S.deadlocks++;
	record(FL__EV_DEADLOCK, NO_TASK, 0, S.live);
	fprintf(out,
		"faultline sim: deadlock at virtual time +%.3f ms: every task is blocked and no "
		"timer is pending; the root's wait fails with FL_DEADLOCK\n",
		(double)(S.now - S.run_start) / 1e6);
	/* fl_task_dump's output, without calling up into the seam. */
	fprintf(out, "live tasks (backend sim):\n");
	fl__task_dump_tasks(out, S.now);
	fflush(out);
	FL_ASSERT(S.root.parked); /* the loop runs only while the root is out */
	S.root.parked = false;
	rq_push(&S.root);
}

static void sched_main(void *arg)
{
	(void)arg;
	fl__fswitch_entered();
	switched_out(S.cur); /* the root, switching out for the first time */
	for (;;) {
		if (fire_one_due())
			continue;
		if (S.nrq > 0) {
			run(rq_take());
			continue;
		}
		if (S.nheap > 0) {
			S.now = S.heap[0]->when_ns; /* virtual time jumps */
			continue;
		}
		deadlock();
	}
}

/* ---- park / unpark ----------------------------------------------------------------- */

static void park_timeout(fl__timer *tm)
{
	sim_task *s = tm->arg;
	if (!s->parked)
		return;
	record(FL__EV_TIMEOUT, s->seq, 0, 0);
	s->parked = false;
	rq_push(s);
}

static bool sim_park(fl__task *self, int64_t deadline_ns)
{
	check_thread();
	sim_task *s = self->backend;
	if (s->token) {
		s->token = false;
		return true;
	}
	bool timed = deadline_ns != FL_FOREVER;
	if (timed && deadline_ns <= S.now)
		return false;
	if (timed) {
		s->timer.when_ns = deadline_ns;
		s->timer.fn = park_timeout;
		s->timer.arg = s;
		heap_insert(&s->timer); /* its slot was reserved at spawn */
	}
	s->parked = true;
	switch_out(s, AFTER_PARK);
	if (timed && s->timer.heap_index >= 0)
		heap_take(&s->timer);
	if (s->token) {
		s->token = false;
		return true;
	}
	return false; /* its deadline, or a deadlock (the root only) */
}

static void sim_unpark(fl__task *t)
{
	check_thread();
	sim_task *s = t->backend;
	FL_ASSERT(!s->token); /* one token per wait */
	s->token = true;
	record(FL__EV_WAKE, s->seq, 0, 0);
	if (s->parked) {
		s->parked = false;
		rq_push(s);
	}
}

/* ---- the rest of the seam ------------------------------------------------------------ */

/* Room for n tasks in the run set (and their seqs beside). */
static bool rq_reserve(size_t n)
{
	size_t cap = S.caprq;
	return grow((void **)&S.rqseq, &cap, n, sizeof(*S.rqseq)) &&
	       grow((void **)&S.rq, &S.caprq, n, sizeof(*S.rq));
}

static void fiber_main(void *arg)
{
	sim_task *s = arg;
	fl__fswitch_entered();
	s->task->entry(s->task);
	switch_out(s, AFTER_EXIT);
	FL_ABORT("sim: a finished task was resumed");
}

static fl_err *sim_spawn(fl__task *t)
{
	check_thread();
	/* One more task: its run-set slot and park deadline, reserved now. */
	if (!rq_reserve(tasks_reserved() + 1) || !heap_reserve(tasks_reserved() + 1, S.ntimers) ||
	    !fl__strat_spawned(S.task_seq + 1))
		return FL_ERR_NOMEM;
	sim_task *s = fl__calloc(1, sizeof(*s));
	if (!s)
		return FL_ERR_NOMEM;
	fl__fiber *f = fl__fiber_stack_get();
	if (!f) {
		int e = errno;
		free(s);
		return fl_err_errno(e, "sim: mapping a %zu-byte stack", fl__fiber_stack_size());
	}
	s->f = f;
	s->task = t;
	s->seq = ++S.task_seq;
	s->timer.heap_index = -1;
	s->ln = (lane){.ctx = &f->ctx, .stack_lo = f->stack_lo, .stack_size = f->stack_size};
	fl__fctx_make(&f->ctx, f->stack_lo, f->stack_size, fiber_main, s);
	s->ln.tsan = S.ntsan_free ? S.tsan_free[--S.ntsan_free] : fl__fswitch_tsan_new();
	t->backend = s;
	S.live++;
	record(FL__EV_SPAWN, cur_seq(), s->seq, 0);
	rq_push(s);
	return NULL;
}

static fl__task *sim_self(void)
{
	check_thread();
	if (!S.cur)
		FL_ABORT("sim: a timer callback called a blocking runtime function");
	return S.cur->task;
}

static void sim_yield(void)
{
	check_thread();
	sim_task *s = S.cur;
	FL_ASSERT(s != NULL);
	record(FL__EV_YIELD, s->seq, 0, 0);
	switch_out(s, AFTER_YIELD);
}

static int64_t sim_now(void)
{
	check_thread();
	return S.now;
}

static uint64_t sim_rand(void)
{
	check_thread();
	return next_rand();
}

static long sim_threads_live(void) { return 0; }

/* Runs inline: the one thread blocks, virtual time stands still. */
static void sim_blocking(void (*fn)(void *), void *arg) { fn(arg); }

static void reset_run(uint64_t seed)
{
	S.rng = seed;
	fl__strat_begin(seed);
	fl__trace_reset();
	S.task_seq = 0;
	S.obj_seq = 0;
	S.timer_seq = 0;
	S.run_start = S.now;
	S.last = NULL;
}

static fl_err *sim_init(const struct fl_sched_opts *opts)
{
	uint64_t seed = opts->seed;
	const char *env = getenv("FAULTLINE_SEED");
	if (!seed && env && *env) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(env, &end, 0);
		if (errno || *end)
			return fl_err_wrap(FL_ERR_INVAL,
					   "FAULTLINE_SEED='%s' is not an unsigned integer", env);
		seed = v;
	}
	fl__strat_spec st;
	fl_err *err = fl__strat_parse(getenv("FAULTLINE_STRATEGY"), &st);
	if (err)
		return fl_err_wrap(err, "FAULTLINE_STRATEGY");
	fl__strat_set(&st);
	err = fl__schedfile_record(getenv("FAULTLINE_SCHEDULE_OUT"));
	if (!err)
		err = fl__trace_open(getenv("FAULTLINE_TRACE"));
	if (err)
		return err;
	fl__fiber_stack_config(opts->stack_size);
	/* The root's run-set slot and park deadline (see rq_push). */
	if (!rq_reserve(1) || !heap_reserve(1, 0))
		return fl_err_wrap(FL_ERR_NOMEM, "sim: the run set and timer heap");
	on_sim_thread = true;
	S.now = VCLOCK_START;
	reset_run(seed);

	/* The root: this thread, on its own stack. */
	static fl__fctx root_ctx;
	S.root.ln.ctx = &root_ctx;
	S.root.task = &S.root_task;
	S.root.timer.heap_index = -1;
	char name[16] = "main";
	pthread_getname_np(pthread_self(), name, sizeof(name));
	snprintf(S.root_task.name, sizeof(S.root_task.name), "%s", name);
	S.root_task.backend = &S.root;
	fl__task_adopt(&S.root_task);
	S.root.ln.tsan = fl__fswitch_tsan_current();
	fl__fswitch_thread_stack(&S.root.ln.stack_lo, &S.root.ln.stack_size);
	S.cur = &S.root;
	S.last = &S.root;

	/* The loop's own stack. */
	S.sched_f = fl__fiber_stack_get();
	if (!S.sched_f)
		return fl_err_errno(errno, "sim: mapping the scheduler stack");
	S.sched = (lane){.ctx = &S.sched_f->ctx,
			 .stack_lo = S.sched_f->stack_lo,
			 .stack_size = S.sched_f->stack_size};
	fl__fctx_make(&S.sched_f->ctx, S.sched_f->stack_lo, S.sched_f->stack_size, sched_main,
		      NULL);
	S.sched.tsan = fl__fswitch_tsan_new();
	return NULL;
}

static void sim_shutdown(void) {}

const fl__sched_ops fl__sched_sim = {
	.name = "sim",
	.init = sim_init,
	.shutdown = sim_shutdown,
	.spawn = sim_spawn,
	.self = sim_self,
	.park = sim_park,
	.unpark = sim_unpark,
	.now = sim_now,
	.yield = sim_yield,
	.timer_start = sim_timer_start,
	.timer_stop = sim_timer_stop,
	.rand = sim_rand,
	.threads_live = sim_threads_live,
	.blocking = sim_blocking,
	.trace = sim_trace,
	.obj_id = sim_obj_id,
};

/* ---- controls behind the public API (sim_api.c) ------------------------------------ */

fl_err *fl__sim_begin(uint64_t seed)
{
	check_thread();
	if (S.cur != &S.root)
		return fl_err_wrap(FL_ERR_MISUSE,
				   "fl_sim_begin: called from task '%s', not the root",
				   S.cur->task->name);
	if (S.live > 0 || S.nheap > 0)
		return fl_err_wrap(
			FL_ERR_MISUSE,
			"fl_sim_begin: the last run is not over (%ld tasks live, %zu timers "
			"pending)",
			S.live, S.nheap);
	reset_run(seed);
	return NULL;
}

uint64_t fl__sim_hash(void)
{
	check_thread();
	return fl__trace_hash();
}

uint64_t fl__sim_events(void)
{
	check_thread();
	return fl__trace_events();
}

fl_err *fl__sim_trace_open(const char *path)
{
	check_thread();
	return fl__trace_open(path);
}

void fl__sim_set_report(FILE *out)
{
	check_thread();
	S.report = out;
}

long fl__sim_deadlocks(void)
{
	check_thread();
	return S.deadlocks;
}
