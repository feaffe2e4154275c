/*
 * prims.c - W7 pingpong and W8 sync (Go: prims.go).
 *
 * W7: two tasks of one group and two unbuffered channels, ping and pong.
 * A does `for i < N { ping <- i; <-pong }`, B `for i < N { pong <- <-ping }`,
 * with plain channel operations (ctx NULL, no select). Timed region: from
 * before starting both tasks (fl_group_new, the WaitGroup) until both are
 * done. A checks every echo, one compare per round trip.
 *
 * W8: single-thread, uncontended anchors. mutex: pthread_mutex lock, ++ on
 * a global, unlock. atomic_add: atomic_fetch_add (lock xadd). time_now:
 * Go's time.Now reads the wall and the monotonic clock, so two
 * clock_gettime calls (REALTIME, summed into a sink, and MONOTONIC).
 * time_since: one clock_gettime(CLOCK_MONOTONIC) minus a start value.
 */
#include "peer_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* ---- W7 ------------------------------------------------------------------ */

struct pingpong {
	int64_t n;
	fl_chan *ping, *pong;
	bool ok; /* written by A, read after wait */
};

static fl_err *ping_side(fl_ctx *ctx, void *arg)
{
	struct pingpong *p = arg;
	bool ok = true;
	for (int64_t i = 0; i < p->n; i++) {
		int64_t v;
		fl_chan_send(p->ping, &i, NULL, FL_FOREVER);
		fl_chan_recv(p->pong, &v, NULL, FL_FOREVER);
		ok &= v == i;
	}
	p->ok = ok;
	return NULL;
}

static fl_err *pong_side(fl_ctx *ctx, void *arg)
{
	struct pingpong *p = arg;
	for (int64_t i = 0; i < p->n; i++) {
		int64_t v = -1;
		fl_chan_recv(p->ping, &v, NULL, FL_FOREVER);
		fl_chan_send(p->pong, &v, NULL, FL_FOREVER);
	}
	return NULL;
}

static void pingpong_run(void *arg, struct flb_metrics *m)
{
	struct pingpong *p = arg;
	fl_group *g;
	fl_ctx *ctx;
	p->ping = flb_chan(0);
	p->pong = flb_chan(0);
	p->ok = false;
	int64_t start = flb_clock_ns();
	flb_must_ok(fl_group_new(fl_ctx_background(), NULL, &g, &ctx), "fl_group_new");
	flb_go(g, ping_side, p);
	flb_go(g, pong_side, p);
	fl_err *err = fl_group_wait(g);
	int64_t d = flb_clock_ns() - start;
	fl_group_free(g);
	fl_chan_free(p->ping);
	fl_chan_free(p->pong);
	flb_must(err == NULL && p->ok, "pingpong: a round trip lost its value");
	flb_metrics_timing(m, p->n, d);
	flb_metrics_set(m, "ns_one_way", (double)d / (double)p->n / 2);
}

int flb_cmd_pingpong(int argc, char **argv)
{
	int64_t n = -1;
	struct flb_flag flags[] = {
		{"n", NULL, FLB_INT, &n, "round trips per run"},
	};
	int runs = flb_setup("pingpong", flags, 1, argc, argv, 3);
	flb_resolve(&n, "pingpong.n", 1000000);
	struct pingpong p = {.n = n};
	struct flb_bench b = {.workload = "pingpong",
			      .ops = n,
			      .runs = runs,
			      .warmup = 1,
			      .run = pingpong_run,
			      .arg = &p};
	flb_json_int(&b.params, "n", n);
	flb_json_int(&b.params, "cap", 0);
	flb_measure(&b);
	return 0;
}

/* ---- W8 ------------------------------------------------------------------ */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t counter; /* mu */
static atomic_llong acounter;
static volatile uint64_t sink; /* keeps the clock reads alive */

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void mutex_loop(int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
}

static void atomic_loop(int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		atomic_fetch_add(&acounter, 1);
}

static void now_loop(int64_t n)
{
	uint64_t acc = 0; /* wraps, as Go's int64 sum does */
	for (int64_t i = 0; i < n; i++) {
		acc += (uint64_t)read_clock(CLOCK_REALTIME);
		acc ^= (uint64_t)read_clock(CLOCK_MONOTONIC) & 1;
	}
	sink = acc;
}

static void since_loop(int64_t n)
{
	int64_t start = read_clock(CLOCK_MONOTONIC);
	uint64_t acc = 0;
	for (int64_t i = 0; i < n; i++)
		acc += (uint64_t)(read_clock(CLOCK_MONOTONIC) - start);
	sink = acc;
}

struct sync_cfg {
	int64_t n;
	void (*loop)(int64_t n);
};

static void sync_run(void *arg, struct flb_metrics *m)
{
	const struct sync_cfg *c = arg;
	int64_t start = flb_clock_ns();
	c->loop(c->n);
	flb_metrics_timing(m, c->n, flb_clock_ns() - start);
}

int flb_cmd_sync(int argc, char **argv)
{
	static const struct {
		const char *op;
		void (*loop)(int64_t n);
	} ops[] = {
		{"mutex", mutex_loop},
		{"atomic_add", atomic_loop},
		{"time_now", now_loop},
		{"time_since", since_loop},
	};
	int64_t n = -1;
	struct flb_flag flags[] = {
		{"n", NULL, FLB_INT, &n, "operations per run"},
	};
	int runs = flb_setup("sync", flags, 1, argc, argv, 3);
	flb_resolve(&n, "sync.n", 10000000);
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		struct sync_cfg c = {.n = n, .loop = ops[i].loop};
		struct flb_bench b = {.workload = "sync",
				      .ops = n,
				      .runs = runs,
				      .warmup = 1,
				      .run = sync_run,
				      .arg = &c};
		flb_json_str(&b.params, "op", ops[i].op);
		flb_json_int(&b.params, "n", n);
		flb_measure(&b);
	}
	return 0;
}
