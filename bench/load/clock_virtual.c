/*
 * clock_virtual.c - the virtual clock: a deterministic discrete-event run
 * of the load model, for the gate's controls, the shard-merge test and
 * quick what-if sweeps.
 *
 * Model: the pipeline of clock_real.c, simulated over all stages at once.
 * ch[s] feeds stage s and holds `buffer` items (0: a rendezvous). A worker
 * is idle (parked on its input), busy (working until its finish event) or
 * blocked (sending into a full next channel). As in the runtime's channels
 * (Go's), a sent item goes straight to an idle receiver, else into a free
 * slot, else its sender waits in FIFO order; a receive takes the oldest
 * item and lets the oldest blocked sender's item in behind the buffered
 * ones, which frees that sender to receive in turn. The last stage
 * completes the item and sends nowhere. The generator offers each item at
 * its intended start to ch[0] without blocking: when ch[0] is full, or
 * `limit` > 0 and admitted - completed >= limit, the item waits in the FIFO
 * backlog (and every later item behind it) and is offered again at the
 * first instant something frees up (a receive from ch[0], a completion).
 * Response counts from the intended start, service from the first stage's
 * start. work = the item's seeded draw x what the fault injector's
 * FL_FAULT_SLOW returns at the point "stage<N>" (or the stage's name) when
 * the work starts, so `stage1=slow(1.05)` makes stage 1 exactly 5% slower.
 *
 * Events are the ends of work, in a heap ordered by (time, sequence
 * number), merged with the arrivals; at equal times the ends go first, so
 * a worker freed at t takes an item arriving at t (as FCFS does). All else
 * is an instantaneous hand-off inside an event: O(log(stages x workers))
 * per item and stage. Idle and blocked workers are mere counts: a stage's
 * workers are interchangeable, since the draws belong to (stage, item).
 * With a buffer no smaller than the items and no limit this is exactly
 * FCFS with `workers` parallel servers per stage.
 *
 * Not modelled: the generator's own cost and lateness (sched_error stays
 * empty), the scheduler (wake-up latency, context switches, preemption),
 * the cost of channels and hand-offs, and how real work spins or sleeps; a
 * real run on a loaded machine is slower. Nothing here reads a clock but
 * the hlog's wall-clock stamp, so the same options give the same
 * histograms everywhere.
 */
#include <fl/bench.h>
#include <fl/fault.h>
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include "load_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct vitem {
	int64_t intended; /* arrival at the pipeline */
	int64_t start;    /* start at the first stage */
	int64_t done;     /* completion at the last stage */
	bool measured;
} vitem;

/* A FIFO of item numbers: a growable ring. */
typedef struct vqueue {
	uint32_t *v;
	size_t head, n, cap;
} vqueue;

/* The end of stage's work on item at t. */
typedef struct vevent {
	int64_t t;
	uint64_t seq;
	uint32_t item;
	int stage;
} vevent;

typedef struct vsim {
	const struct fl_bench_load_opts *o;
	fl_bench_result *r;
	vitem *v;
	size_t n;
	vqueue *ch;           /* ch[s] feeds stage s; entries past `buffer` are
				  held by blocked workers of stage s - 1 */
	int *idle;            /* workers of stage s parked on ch[s] */
	fl_fault_site *sites; /* one per stage */
	char (*names)[24];    /* "stage<N>" */
	vevent *heap;         /* at most one event per worker */
	size_t nheap;
	uint64_t seq;
	size_t arrived;  /* items issued; the backlog is [admitted, arrived) */
	size_t admitted; /* items sent to ch[0] */
	int64_t completed;
	int64_t in_system; /* issued and not completed */
	int64_t area_t;    /* the integral of in_system runs up to here */
	double area;       /* ... from the end of the warm-up */
	double area_last;  /* ... up to the latest measured completion */
	int64_t last;      /* the latest measured completion */
	bool nomem;
} vsim;

/* Generates the arrivals into *items (malloc'ed). */
static fl_err *arrivals(const struct fl_bench_load_opts *o, vitem **items, size_t *n,
			int64_t *issued)
{
	fl__bench_arrivals a;
	fl__bench_arrivals_init(&a, o);
	size_t cap = 1024, k = 0;
	vitem *v = malloc(cap * sizeof(*v));
	int64_t at;
	bool meas;
	while (v && fl__bench_arrivals_next(&a, &at, &meas)) {
		if (k == UINT32_MAX) {
			free(v);
			return fl_err_wrap(FL_ERR_INVAL, "virtual run: more than 2^32 items");
		}
		if (k == cap) {
			vitem *g = realloc(v, 2 * cap * sizeof(*v));
			if (!g)
				break;
			v = g;
			cap *= 2;
		}
		v[k] = (vitem){at, 0, 0, meas};
		k++;
	}
	if (!v || k < a.index) {
		free(v);
		return FL_ERR_NOMEM;
	}
	*items = v;
	*n = k;
	*issued = (int64_t)k;
	return NULL;
}

/* ---- channels and events ------------------------------------------------------- */

static void q_push(vsim *m, vqueue *q, uint32_t x)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;
		uint32_t *v = malloc(cap * sizeof(*v));
		if (!v) {
			m->nomem = true; /* the run stops after this event */
			return;
		}
		for (size_t k = 0; k < q->n; k++)
			v[k] = q->v[(q->head + k) % q->cap];
		free(q->v);
		q->v = v;
		q->head = 0;
		q->cap = cap;
	}
	q->v[(q->head + q->n++) % q->cap] = x;
}

static uint32_t q_pop(vqueue *q)
{
	uint32_t x = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return x;
}

static bool before(const vevent *a, const vevent *b)
{
	return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void heap_push(vsim *m, vevent ev)
{
	size_t i = m->nheap++;
	while (i > 0 && before(&ev, &m->heap[(i - 1) / 2])) {
		m->heap[i] = m->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	m->heap[i] = ev;
}

static vevent heap_pop(vsim *m)
{
	vevent top = m->heap[0], last = m->heap[--m->nheap];
	size_t i = 0, n = m->nheap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(&m->heap[c + 1], &m->heap[c]))
			c++;
		if (!before(&m->heap[c], &last))
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	m->heap[i] = last;
	return top;
}

/* ---- the pipeline ---------------------------------------------------------------- */

/* The integral of the items in flight, from the end of the warm-up to t. */
static void advance(vsim *m, int64_t t)
{
	if (t > m->area_t) {
		m->area += (double)m->in_system * (double)(t - m->area_t);
		m->area_t = t;
	}
}

/* A worker of stage s starts on item x at t. */
static void start(vsim *m, int s, uint32_t x, int64_t t)
{
	const struct fl_bench_load_opts *o = m->o;
	int64_t work = fl_bench_dist_draw(&o->service, o->seed, (uint64_t)s + 1, x);
	double slow = fl_fault_slow(&m->sites[s], NULL);
	if (slow != 1.0)
		work = (int64_t)llround((double)work * slow);
	if (s == 0)
		m->v[x].start = t;
	if (m->v[x].measured)
		m->r->busy_ns += work;
	heap_push(m, (vevent){t + work, m->seq++, x, s});
}

/*
 * Sends item x into ch[s] at t: to an idle worker, else into a free slot.
 * Otherwise, with block, x waits in line held by its sender (a blocked
 * worker of stage s - 1); without (the generator's try), x stays out.
 * Returns whether the sender is free to go on.
 */
static bool send(vsim *m, int s, uint32_t x, int64_t t, bool block)
{
	if (m->idle[s] > 0) { /* then ch[s] is empty */
		m->idle[s]--;
		start(m, s, x, t);
		return true;
	}
	bool room = m->ch[s].n < (size_t)m->o->buffer;
	if (room || block)
		q_push(m, &m->ch[s], x);
	return room;
}

/* A worker of stage s receives at t: it takes the oldest item, which lets
 * the oldest blocked sender of stage s - 1 go on to receive in turn, or it
 * parks. */
static void receive(vsim *m, int s, int64_t t)
{
	for (;;) {
		vqueue *q = &m->ch[s];
		if (q->n == 0) {
			m->idle[s]++;
			return;
		}
		bool held = q->n > (size_t)m->o->buffer;
		start(m, s, q_pop(q), t);
		if (!held)
			return;
		s--; /* never below 0: the generator does not block on ch[0] */
	}
}

static void complete(vsim *m, uint32_t x, int64_t t)
{
	vitem *it = &m->v[x];
	it->done = t;
	m->completed++;
	m->in_system--;
	if (!it->measured)
		return;
	fl_hdr_record(m->r->response, t - it->intended);
	fl_hdr_record(m->r->service, t - it->start);
	m->r->items++;
	m->last = t;
	m->area_last = m->area;
}

/* The end of a stage's work: the item moves on (or completes), then the
 * worker receives again, unless the next channel is full. */
static void finish(vsim *m, const vevent *ev)
{
	int s = ev->stage;
	if (s == m->o->stages - 1)
		complete(m, ev->item, ev->t);
	else if (!send(m, s + 1, ev->item, ev->t, true))
		return;
	receive(m, s, ev->t);
}

/* The generator offers its backlog, oldest first, while the pipeline takes
 * it. */
static void admit(vsim *m, int64_t t)
{
	int limit = m->o->limit;
	while (m->admitted < m->arrived) {
		if (limit > 0 && (int64_t)m->admitted - m->completed >= limit)
			break;
		if (!send(m, 0, (uint32_t)m->admitted, t, false))
			break;
		m->admitted++;
	}
	int64_t backlog = (int64_t)(m->arrived - m->admitted);
	if (backlog > m->r->backlog_max)
		m->r->backlog_max = backlog;
}

static fl_err *simulate(vsim *m)
{
	const struct fl_bench_load_opts *o = m->o;
	int S = o->stages;
	m->ch = calloc((size_t)S, sizeof(*m->ch));
	m->idle = calloc((size_t)S, sizeof(*m->idle));
	m->sites = calloc((size_t)S, sizeof(*m->sites));
	m->names = calloc((size_t)S, sizeof(*m->names));
	m->heap = malloc((size_t)S * (size_t)o->workers * sizeof(*m->heap));
	if (!m->ch || !m->idle || !m->sites || !m->names || !m->heap)
		return FL_ERR_NOMEM;
	for (int s = 0; s < S; s++) {
		snprintf(m->names[s], sizeof(m->names[s]), "stage%d", s + 1);
		fl_fault_site_init(&m->sites[s], o->stage_names ? o->stage_names[s] : m->names[s]);
		m->idle[s] = o->workers;
	}
	m->area_t = o->warmup_ns;
	m->last = o->warmup_ns;
	while (m->arrived < m->n || m->nheap) {
		int64_t t;
		if (m->nheap && (m->arrived == m->n || m->heap[0].t <= m->v[m->arrived].intended)) {
			vevent ev = heap_pop(m);
			t = ev.t;
			advance(m, t);
			finish(m, &ev);
		} else {
			t = m->v[m->arrived].intended;
			advance(m, t);
			m->arrived++;
			m->in_system++;
		}
		admit(m, t);
		if (m->nomem)
			return FL_ERR_NOMEM;
	}
	return NULL;
}

static void vsim_free(vsim *m)
{
	for (int s = 0; m->ch && s < m->o->stages; s++)
		free(m->ch[s].v);
	free(m->ch);
	free(m->idle);
	free(m->sites);
	free(m->names);
	free(m->heap);
}

/* The interval histograms: measured items by completion time. */
static fl_err *intervals(const struct fl_bench_load_opts *o, const vitem *v, size_t n,
			 fl_bench_result *r)
{
	int64_t len = o->interval_ns ? o->interval_ns : FL_BENCH_SEC(1);
	size_t nivs = (size_t)(r->window_ns / len) + 1;
	fl_err *e = NULL;
	for (size_t k = 0; k < nivs && !e; k++) {
		fl_hdr *resp, *svc;
		if ((e = fl_hdr_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG, &resp)))
			break;
		if ((e = fl_hdr_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG, &svc))) {
			fl_hdr_free(resp);
			break;
		}
		e = fl__bench_result_push(r, (int64_t)k * len, len, resp, svc);
	}
	for (size_t k = 0; k < n && !e; k++) {
		if (!v[k].measured)
			continue;
		size_t b = (size_t)((v[k].done - o->warmup_ns) / len);
		fl_hdr_record(r->ivs[b].response, v[k].done - v[k].intended);
		fl_hdr_record(r->ivs[b].service, v[k].done - v[k].start);
	}
	if (e || !o->hlog)
		return e;
	/* The log is stamped from the wall clock at the (virtual) warm-up end. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t base = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	fl_hdr_log_writer *w;
	if ((e = fl_hdr_log_writer_new(o->hlog, NULL, &w)))
		return e;
	e = fl_hdr_log_write_header(w, base, base);
	char t1[160], t2[160];
	fl__bench_tag(o, "response", t1, sizeof(t1));
	fl__bench_tag(o, "service", t2, sizeof(t2));
	for (size_t k = 0; k < r->nivs && !e; k++) {
		int64_t s = base + r->ivs[k].start_ns, end = s + r->ivs[k].length_ns;
		if (!(e = fl_hdr_log_write_interval(w, r->ivs[k].response, s, end, t1)))
			e = fl_hdr_log_write_interval(w, r->ivs[k].service, s, end, t2);
	}
	fl_hdr_log_writer_free(w);
	return e;
}

fl_err *fl__bench_run_virtual(const struct fl_bench_load_opts *o, fl_bench_result *r)
{
	vsim m = {.o = o, .r = r};
	fl_err *e = arrivals(o, &m.v, &m.n, &r->issued);
	if (e)
		return e;
	e = simulate(&m);
	vsim_free(&m);
	if (e) {
		free(m.v);
		return e;
	}
	int64_t first = INT64_MAX, lastin = o->warmup_ns;
	for (size_t k = 0; k < m.n; k++) {
		if (!m.v[k].measured)
			continue;
		first = m.v[k].intended < first ? m.v[k].intended : first;
		lastin = m.v[k].intended > lastin ? m.v[k].intended : lastin;
	}
	r->window_ns = m.last - o->warmup_ns;
	r->offered_rate = r->items > 1 && lastin > first
				  ? (double)(r->items - 1) * 1e9 / (double)(lastin - first)
				  : 0;
	r->mean_in_system = r->window_ns > 0 ? m.area_last / (double)r->window_ns : 0;
	e = intervals(o, m.v, m.n, r);
	free(m.v);
	return e;
}
