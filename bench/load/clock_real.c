/*
 * clock_real.c - the real clock: an open-loop generator feeding runtime tasks.
 *
 * Threads: the calling thread is the generator; one sampler pthread takes
 * the interval histograms and samples the items in flight; the pipeline is
 * `stages` x `workers` tasks of one group, joined by channels of `buffer`
 * slots (ch[s] feeds stage s).
 *
 * The generator never blocks on the pipeline. At each intended start it
 * records its own lateness (the scheduling error), then offers the item
 * with a non-blocking send; an item the pipeline cannot take yet (channel
 * full, or `limit` items in flight) waits in the generator's backlog, in
 * order, keeping its intended start, so the wait shows in its response
 * time instead of delaying later arrivals (no coordinated omission). To be
 * on time to the microsecond it sleeps until SPIN_NS before the intended
 * start and spins the rest on fl_now().
 *
 * Completion: the last stage records response (now - intended) and service
 * (now - first stage start) into two fl_hdr_recorders. A stage closes the
 * next channel when its last worker sees its input closed, so every issued
 * item is processed before fl_group_wait returns.
 *
 * Accounting (atomics, relaxed: counters only, read after the joins):
 * issued and completed count items; busy is the measured items' stage
 * work; last is the latest measured completion; area is the integral of
 * items in flight over the measured window, each item counted from its
 * intended start (or the window's start) to its completion, added exactly
 * at completion. Sampling the in-flight count instead (a thread reading it
 * every millisecond) read 18% low at high load: the sampler ran when the
 * workers had blocked, that is when the queue was short.
 */
#include <fl/bench.h>
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/fault.h>
#include <fl/group.h>
#include <fl/hdr.h>
#include <fl/hdr_log.h>
#include <fl/task.h>

#include "load_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fl_valgrind_internal.h"

#define SPIN_NS 200000    /* sleep until this close to an intended start, then spin */
#define SAMPLE_NS 1000000 /* the interval writer's polling period */

typedef struct item {
	int64_t intended; /* monotonic ns */
	int64_t start;    /* first stage start, monotonic ns */
	int64_t busy;     /* work so far, ns */
	uint64_t id;
	bool measured;
	bool failed; /* a user load's request returned an error */
} item;

typedef struct drv drv;

typedef struct worker_arg {
	drv *d;
	int stage;
} worker_arg;

struct drv {
	const struct fl_bench_load_opts *o;
	fl_chan **ch; /* immutable after setup */
	fl_group *g;
	fl_ctx *ctx;
	worker_arg *args;
	fl_fault_site *sites; /* one per stage */
	char (*names)[24];
	_Atomic int *left; /* workers of stage s still running */
	fl_hdr_recorder *rresp, *rsvc;
	int64_t t0;   /* monotonic start of the run */
	int64_t wend; /* t0 + warm-up: the measured window's start */
	_Atomic int64_t issued, completed, busy, last, area, failed;
	_Atomic(fl_err *) first_failure; /* a user load's first failed request */
	/* sampler (owned by the sampler thread until joined) */
	pthread_t sampler;
	_Atomic bool stop;
	fl_bench_result *res;
	fl_hdr_log_writer *log;
	fl_err *sampler_err;
};

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {ns / 1000000000, ns % 1000000000};
	nanosleep(&ts, NULL);
}

/* Spins until t. Under valgrind, which runs one thread at a time, a spin
 * would starve the very stages it waits for. sched_yield is not enough
 * there: valgrind's default lock may hand the CPU straight back to the
 * yielding thread, and on a busy machine the stages then crawled past the
 * test timeout. A short sleep blocks in the kernel and gives the lock up. */
static void spin_until(int64_t t)
{
	bool nap = RUNNING_ON_VALGRIND;
	while (fl_now() < t)
		if (nap)
			sleep_ns(FL_US(50));
}

/* Waits until t: sleeps the bulk, spins the last SPIN_NS. */
static void wait_until(int64_t t)
{
	int64_t now = fl_now();
	if (t - now > SPIN_NS)
		sleep_ns(t - now - SPIN_NS);
	spin_until(t);
}

static void atomic_max(_Atomic int64_t *a, int64_t v)
{
	int64_t cur = atomic_load_explicit(a, memory_order_relaxed);
	while (cur < v && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
								 memory_order_relaxed))
		;
}

/* A user load's request: its error counts the item as failed (the first
 * one is kept for the report) and the run goes on. With a timeout, the
 * request runs under a child context with its deadline (from the intended
 * start, as its response time), and ending past it is a failure too. */
static void serve(drv *d, fl_ctx *ctx, item *it)
{
	const struct fl_bench_load_opts *o = d->o;
	int64_t t = it->start = fl_now(), dl = it->intended + o->timeout_ns;
	fl_ctx *rctx = ctx;
	fl_err *e = o->timeout_ns > 0 ? fl_ctx_with_deadline(ctx, dl, NULL, &rctx) : NULL;
	if (!e)
		e = o->serve(rctx, (int64_t)it->id, o->serve_arg);
	if (rctx != ctx)
		fl_ctx_free(rctx);
	int64_t end = fl_now();
	it->busy = end - t;
	if (!e && o->timeout_ns > 0 && end > dl)
		e = fl_err_wrap(FL_ERR_DEADLINE, "request %llu ended %lld ns past its deadline",
				(unsigned long long)it->id, (long long)(end - dl));
	if (!e)
		return;
	it->failed = true;
	if (it->measured)
		atomic_fetch_add_explicit(&d->failed, 1, memory_order_relaxed);
	fl_err *none = NULL;
	if (!atomic_compare_exchange_strong(&d->first_failure, &none, e))
		fl_err_drop(e);
}

/* The stage's work on one item; NULL or the fault injector's error. */
static fl_err *work(drv *d, int s, fl_ctx *ctx, item *it)
{
	const struct fl_bench_load_opts *o = d->o;
	if (o->serve) {
		serve(d, ctx, it);
		return NULL;
	}
	int64_t t = fl_now();
	if (s == 0)
		it->start = t;
	int64_t w = fl_bench_dist_draw(&o->service, o->seed, (uint64_t)s + 1, it->id);
	if (o->sleep_work)
		fl_sleep_until(ctx, t + w);
	else
		spin_until(t + w);
	fl_err *e = fl_fault_work(&d->sites[s], ctx, w);
	it->busy += fl_now() - t;
	return e;
}

static void complete(drv *d, item *it)
{
	int64_t now = fl_now();
	if (it->measured) {
		if (!it->failed) { /* failures are counted apart, not timed */
			fl_hdr_recorder_record(d->rresp, now - it->intended);
			fl_hdr_recorder_record(d->rsvc, now - it->start);
		}
		atomic_fetch_add_explicit(&d->busy, it->busy, memory_order_relaxed);
		atomic_max(&d->last, now);
	}
	int64_t from = it->intended > d->wend ? it->intended : d->wend;
	if (now > from)
		atomic_fetch_add_explicit(&d->area, now - from, memory_order_relaxed);
	atomic_fetch_add_explicit(&d->completed, 1, memory_order_release);
}

static fl_err *stage_worker(fl_ctx *ctx, void *arg)
{
	worker_arg *a = arg;
	drv *d = a->d;
	int s = a->stage;
	bool last = s == d->o->stages - 1;
	fl_err *e = NULL;
	item it;
	int st;
	while ((st = fl_chan_recv(d->ch[s], &it, ctx, FL_FOREVER)) == FL_OK) {
		if ((e = work(d, s, ctx, &it)))
			break;
		if (last)
			complete(d, &it);
		else if ((st = fl_chan_send(d->ch[s + 1], &it, ctx, FL_FOREVER)) != FL_OK)
			break;
	}
	if (!e && st != FL_OK && st != FL_CLOSED)
		e = fl_err_from_status(st);
	if (atomic_fetch_sub(&d->left[s], 1) == 1 && !last)
		fl_err_drop(fl_chan_close(d->ch[s + 1]));
	return e;
}

/* ---- sampler ---------------------------------------------------------------------- */

static fl_err *take_interval(drv *d, int64_t start, int64_t end)
{
	fl_hdr *resp, *svc;
	fl_err *e = fl_hdr_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG, &resp);
	if (e)
		return e;
	if ((e = fl_hdr_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG, &svc))) {
		fl_hdr_free(resp);
		return e;
	}
	fl_hdr_recorder_sample_into(d->rresp, resp);
	fl_hdr_recorder_sample_into(d->rsvc, svc);
	fl_hdr_add(d->res->response, resp);
	fl_hdr_add(d->res->service, svc);
	if (d->log) {
		char t[160];
		if (!(e = fl_hdr_log_write(d->log, resp,
					   fl__bench_tag(d->o, "response", t, sizeof(t)))))
			e = fl_hdr_log_write(d->log, svc,
					     fl__bench_tag(d->o, "service", t, sizeof(t)));
	}
	fl_err *e2 = fl__bench_result_push(d->res, start, end - start, resp, svc);
	return e ? (fl_err_drop(e2), e) : e2;
}

static void *sampler_main(void *arg)
{
	drv *d = arg;
	const struct fl_bench_load_opts *o = d->o;
	int64_t len = o->interval_ns ? o->interval_ns : FL_BENCH_SEC(1);
	int64_t wend = d->t0 + o->warmup_ns, next = wend + len, from = wend;
	/* Only measured items are recorded, and none completes before the
	 * warm-up ends, so the first interval needs no reset: a sampler woken
	 * late must not throw away what was recorded meanwhile. */
	wait_until(wend);
	while (!atomic_load(&d->stop) && !d->sampler_err) {
		int64_t now = fl_now();
		if (now >= next) {
			d->sampler_err = take_interval(d, from - wend, next - wend);
			from = next;
			next += len;
		}
		sleep_ns(SAMPLE_NS);
	}
	if (!d->sampler_err)
		d->sampler_err = take_interval(d, from - wend, fl_now() - wend);
	return NULL;
}

/* ---- generator ---------------------------------------------------------------------- */

typedef struct backlog {
	item *v;
	size_t head, n, cap; /* ring */
} backlog;

static bool backlog_push(backlog *b, const item *it)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 1024;
		item *v = malloc(cap * sizeof(*v));
		if (!v)
			return false;
		for (size_t k = 0; k < b->n; k++)
			v[k] = b->v[(b->head + k) % b->cap];
		free(b->v);
		b->v = v;
		b->head = 0;
		b->cap = cap;
	}
	b->v[(b->head + b->n++) % b->cap] = *it;
	return true;
}

/* Offers it to the pipeline without blocking: FL_OK, FL_AGAIN or a failure. */
static int offer(drv *d, const item *it, int64_t *admitted)
{
	int limit = d->o->limit;
	if (limit > 0 &&
	    *admitted - atomic_load_explicit(&d->completed, memory_order_acquire) >= limit)
		return FL_AGAIN;
	int st = fl_chan_send(d->ch[0], it, d->ctx, FL_TRY);
	if (st == FL_OK)
		(*admitted)++;
	return st;
}

static fl_err *generate(drv *d)
{
	const struct fl_bench_load_opts *o = d->o;
	fl__bench_arrivals a;
	fl__bench_arrivals_init(&a, o);
	backlog b = {0};
	int64_t admitted = 0, at;
	bool meas, more = fl__bench_arrivals_next(&a, &at, &meas);
	fl_err *e = NULL;
	fl_hdr *sched = d->res->sched_error;
	while (more || b.n) {
		/* A failed stage cancels the group: stop issuing (the items
		 * still in the backlog are not lost silently: the run fails
		 * with the stage's error from fl_group_wait). */
		if (fl_ctx_done(d->ctx))
			break;
		int st = FL_OK;
		while (b.n && (st = offer(d, &b.v[b.head], &admitted)) == FL_OK) {
			b.head = (b.head + 1) % b.cap;
			b.n--;
		}
		if (st != FL_OK && st != FL_AGAIN) {
			e = fl_err_from_status(st);
			break;
		}
		if (!more) {
			spin_until(fl_now() + 2000);
			continue;
		}
		int64_t target = d->t0 + at, now = fl_now();
		if (now < target) {
			if (b.n)
				spin_until(now + 2000 < target ? now + 2000 : target);
			else
				wait_until(target);
			continue;
		}
		if (meas)
			fl_hdr_record(sched, now - target);
		item it = {target, 0, 0, a.index - 1, meas, false};
		atomic_fetch_add_explicit(&d->issued, 1, memory_order_relaxed);
		st = b.n ? FL_AGAIN : offer(d, &it, &admitted);
		if (st == FL_AGAIN) {
			if (!backlog_push(&b, &it)) {
				e = FL_ERR_NOMEM;
				break;
			}
			d->res->backlog_max = (int64_t)b.n > d->res->backlog_max
						      ? (int64_t)b.n
						      : d->res->backlog_max;
		} else if (st != FL_OK) {
			e = fl_err_from_status(st);
			break;
		}
		more = fl__bench_arrivals_next(&a, &at, &meas);
	}
	free(b.v);
	d->res->items = a.measured;
	d->res->issued = (int64_t)a.index;
	return e;
}

/* ---- setup ----------------------------------------------------------------------------- */

static void drv_free(drv *d)
{
	for (int s = 0; d->ch && s < d->o->stages; s++)
		fl_chan_free(d->ch[s]);
	free(d->ch);
	free(d->args);
	free(d->sites);
	free(d->names);
	free((void *)d->left);
	fl_hdr_recorder_free(d->rresp);
	fl_hdr_recorder_free(d->rsvc);
	fl_hdr_log_writer_free(d->log);
}

static fl_err *drv_setup(drv *d)
{
	const struct fl_bench_load_opts *o = d->o;
	int S = o->stages;
	d->ch = calloc((size_t)S, sizeof(*d->ch));
	d->args = calloc((size_t)S, sizeof(*d->args));
	d->sites = calloc((size_t)S, sizeof(*d->sites));
	d->names = calloc((size_t)S, sizeof(*d->names));
	d->left = calloc((size_t)S, sizeof(*d->left));
	if (!d->ch || !d->args || !d->sites || !d->names || !d->left)
		return FL_ERR_NOMEM;
	fl_err *e;
	for (int s = 0; s < S; s++) {
		if (o->stage_names)
			snprintf(d->names[s], sizeof(d->names[s]), "%s", o->stage_names[s]);
		else
			snprintf(d->names[s], sizeof(d->names[s]), "stage%d", s + 1);
		fl_fault_site_init(&d->sites[s], d->names[s]);
		d->args[s] = (worker_arg){d, s};
		atomic_init(&d->left[s], o->workers);
		struct fl_chan_opts co = {.name = d->names[s]};
		if ((e = fl_chan_new(sizeof(item), (size_t)o->buffer, &co, &d->ch[s])))
			return e;
	}
	if ((e = fl_hdr_recorder_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG,
				     &d->rresp)) ||
	    (e = fl_hdr_recorder_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG,
				     &d->rsvc)))
		return e;
	if (o->hlog) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		if ((e = fl_hdr_log_writer_new(o->hlog, NULL, &d->log)) ||
		    (e = fl_hdr_log_write_header(d->log, now, 0)))
			return e;
	}
	return NULL;
}

fl_err *fl__bench_run_real(const struct fl_bench_load_opts *o, fl_bench_result *r)
{
	drv d = {.o = o, .res = r};
	fl_err *e = drv_setup(&d);
	if (e) {
		drv_free(&d);
		return e;
	}
	struct fl_group_opts go = {.name = "bench"};
	if ((e = fl_group_new(fl_ctx_background(), &go, &d.g, &d.ctx))) {
		drv_free(&d);
		return e;
	}
	for (int s = 0; s < o->stages && !e; s++)
		for (int w = 0; w < o->workers && !e; w++)
			e = fl_group_go_named(d.g, d.names[s], stage_worker, &d.args[s]);
	d.t0 = fl_now() + 1000000;    /* the first arrival, 1 ms from now */
	d.wend = d.t0 + o->warmup_ns; /* items reach workers through channels: after this */
	bool sampling = false;
	if (!e) {
		int rc = pthread_create(&d.sampler, NULL, sampler_main, &d);
		sampling = rc == 0;
		if (rc)
			e = fl_err_errno(rc, "pthread_create (sampler)");
	}
	if (!e)
		e = generate(&d);
	if (e)
		fl_group_cancel(d.g, e);
	fl_err_drop(fl_chan_close(d.ch[0]));
	e = fl_err_join2(e, fl_group_wait(d.g));
	atomic_store(&d.stop, true);
	if (sampling)
		pthread_join(d.sampler, NULL);
	e = fl_err_join2(e, d.sampler_err);
	int64_t wend = d.t0 + o->warmup_ns, last = atomic_load(&d.last);
	r->window_ns = last > wend ? last - wend : 0;
	r->busy_ns = atomic_load(&d.busy);
	r->failed = atomic_load(&d.failed);
	r->first_failure = atomic_load(&d.first_failure);
	r->mean_in_system = r->window_ns ? (double)atomic_load(&d.area) / (double)r->window_ns : 0;
	int64_t span = 0;
	for (size_t k = 0; k < o->schedule.n; k++)
		span += o->schedule.seg[k].dur_ns;
	r->offered_rate =
		span > 0 && !o->max_items
			? (double)r->items * 1e9 / (double)span
			: (double)r->items * 1e9 / (double)(r->window_ns ? r->window_ns : 1);
	if (!e && fl_hdr_total_count(r->response) + r->failed != r->items)
		e = fl_err_wrap(FL_ERR_INVAL,
				"driver: %lld measured items but %lld recorded "
				"and %lld failed (an item was lost)",
				(long long)r->items, (long long)fl_hdr_total_count(r->response),
				(long long)r->failed);
	fl_group_free(d.g);
	drv_free(&d);
	return e;
}
