/*
 * orders.c - the pipeline of orders.h on faultline's runtime: channels
 * carry orders between stages, a group joins them and cancels the rest at
 * the first failure, and FL_FAULT names the places a fault plan can hit
 * ("orders.read", "orders.price", "orders.store"). orders_run_planted
 * adds the bugs the scenarios plant on purpose (leaks of every kind, a
 * lost order) so that each of faultline's checks is seen catching one;
 * orders_serve_one is the same work for one order, as a load serves it.
 */
#define _POSIX_C_SOURCE 200809L /* pause, open */
#include "orders.h"

#include <fl/chan.h>
#include <fl/fault.h>
#include <fl/group.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FL_ERR_SENTINEL(orders_err_rejected, "order rejected");

typedef struct order {
	long id;
	long cents;
} order;

typedef struct run {
	long n;
	int workers;
	bool lose_order, swallow;
	fl_chan *parsed, *priced;
	atomic_int pricers_left; /* the last pricer closes priced */
	atomic_long produced, stored, rejected, seen;
} run;

static fl_err *reader(fl_ctx *ctx, void *arg)
{
	run *r = arg;
	fl_err *err = NULL;
	for (long id = 1; id <= r->n && !err; id++) {
		if ((err = FL_FAULT(ctx, "orders.read")))
			break;
		order o = {id, 0};
		if (fl_chan_send(r->parsed, &o, ctx, FL_FOREVER) != FL_OK)
			break; /* cancelled: another stage failed */
		atomic_fetch_add(&r->produced, 1);
	}
	return fl_err_join2(fl_err_wrap(err, "read"), fl_chan_close(r->parsed));
}

static fl_err *pricer(fl_ctx *ctx, void *arg)
{
	run *r = arg;
	fl_err *err = NULL;
	order o;
	while (!err && fl_chan_recv(r->parsed, &o, ctx, FL_FOREVER) == FL_OK) {
		atomic_fetch_add(&r->seen, 1);
		err = FL_FAULT(ctx, "orders.price");
		if (err && fl_err_is(err, orders_err_rejected)) {
			atomic_fetch_add(&r->rejected, 1); /* per order: go on */
			fl_err_drop(err);
			err = NULL;
			continue;
		}
		if (err)
			break;
		o.cents = 100 + o.id % 7;
		if (fl_chan_send(r->priced, &o, ctx, FL_FOREVER) != FL_OK)
			break;
	}
	fl_err *cerr = NULL;
	if (atomic_fetch_sub(&r->pricers_left, 1) == 1)
		cerr = fl_chan_close(r->priced);
	return fl_err_join2(fl_err_wrap(err, "price"), cerr);
}

static fl_err *store(fl_ctx *ctx, void *arg)
{
	run *r = arg;
	order o;
	int st;
	while ((st = fl_chan_recv(r->priced, &o, ctx, FL_FOREVER)) == FL_OK) {
		fl_err *err = FL_FAULT(ctx, "orders.store");
		if (err && r->swallow) { /* the planted bug: "retry later" */
			fl_err_drop(err);
			continue;
		}
		if (err)
			return fl_err_wrap(err, "store order %ld", o.id);
		if (r->lose_order && o.id == 7)
			continue; /* the planted bug: dropped, counted nowhere */
		atomic_fetch_add(&r->stored, 1);
	}
	return NULL; /* closed: done, or cancelled: the failing stage reports */
}

/* ---- planted leaks -------------------------------------------------------- */

static fl_err *audit(fl_ctx *ctx, void *arg)
{
	(void)ctx; /* the bug: it waits on the background context, not ctx */
	long id;
	(void)fl_chan_recv(arg, &id, fl_ctx_background(), FL_FOREVER);
	return NULL;
}

/* A task (with its group, context and channel) nobody joins. */
static void leak_task(void)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_chan *ch;
	if (fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "audit"}, &g, &ctx))
		return;
	if (fl_chan_new(sizeof(long), 0, &(struct fl_chan_opts){.name = "audit"}, &ch)) {
		fl_group_free(g);
		return;
	}
	fl_err_drop(fl_group_go_named(g, "auditor", audit, ch));
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void plant_leaks(const orders_plants *pl)
{
	if (pl->leak_task)
		leak_task();
	if (pl->leak_thread) {
		pthread_t t;
		if (pthread_create(&t, NULL, idle_thread, NULL) == 0)
			pthread_detach(t);
	}
	if (pl->leak_fd)
		(void)open("/dev/null", O_RDONLY);
	if (pl->leak_heap) {
		static void *_Atomic kept; /* a list, so the leak is "reachable" */
		void **p = malloc(64 * 1024);
		if (p) {
			memset(p, 1, 64 * 1024);
			*p = atomic_exchange(&kept, p);
		}
	}
}

fl_err *orders_run(long n, int workers, orders_stats *st)
{
	return orders_run_planted(n, workers, NULL, st);
}

fl_err *orders_run_planted(long n, int workers, const orders_plants *pl, orders_stats *st)
{
	run r = {.n = n,
		 .workers = workers,
		 .lose_order = pl && pl->lose_order,
		 .swallow = pl && pl->swallow};
	if (pl)
		plant_leaks(pl);
	atomic_init(&r.pricers_left, workers);
	*st = (orders_stats){0};
	fl_group *g;
	fl_ctx *ctx;
	fl_err *err = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "orders"},
				   &g, &ctx);
	if (err)
		return err;
	if ((err = fl_chan_new(sizeof(order), 4, &(struct fl_chan_opts){.name = "parsed"},
			       &r.parsed)) ||
	    (err = fl_chan_new(sizeof(order), 4, &(struct fl_chan_opts){.name = "priced"},
			       &r.priced))) {
		fl_chan_free(r.parsed);
		fl_group_free(g);
		return err;
	}
	err = fl_group_go_named(g, "reader", reader, &r);
	for (int i = 0; !err && i < workers; i++)
		err = fl_group_go_named(g, "pricer", pricer, &r);
	if (!err)
		err = fl_group_go_named(g, "store", store, &r);
	if (err)
		fl_group_cancel(g, err);
	err = fl_err_join2(err, fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(r.parsed);
	fl_chan_free(r.priced);
	st->produced = atomic_load(&r.produced);
	st->stored = atomic_load(&r.stored);
	st->rejected = atomic_load(&r.rejected);
	st->cancelled = st->produced - st->stored - st->rejected;
	return err;
}

fl_err *orders_serve_one(fl_ctx *ctx, long id)
{
	fl_err *err = FL_FAULT(ctx, "orders.read");
	if (!err)
		err = FL_FAULT(ctx, "orders.price");
	if (!err)
		err = FL_FAULT(ctx, "orders.store");
	if (!err && fl_ctx_done(ctx))
		err = fl_ctx_stop_err(ctx);
	return err ? fl_err_wrap(err, "order %ld", id) : NULL;
}
