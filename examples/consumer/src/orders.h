/*
 * orders.h - a user's pipeline, as a C engineer would write it against the
 * installed faultline: orders are parsed, priced and stored by three
 * stages joined by channels, in one errgroup. Each stage names a fault
 * point, so a plan can break it without touching the code.
 */
#ifndef ORDERS_H
#define ORDERS_H

#include <fl/ctx.h>
#include <fl/err.h>

#include <stdbool.h>

/* What one run did: every order is stored, rejected or cancelled. */
typedef struct orders_stats {
	long produced;  /* orders the reader sent */
	long stored;    /* orders the store accepted */
	long rejected;  /* orders a stage refused (a per-order error) */
	long cancelled; /* orders in flight when the run stopped */
} orders_stats;

/* The error a stage returns for an order it refuses; fault plans name it
 * "rejected" once main registers it (fl_fault_register_error). */
FL_ERR_DECLARE(orders_err_rejected);

/*
 * Runs the pipeline over n orders: reader -> price (workers tasks) ->
 * store. A rejected order is counted and the run goes on; any other error
 * from a stage (an injected one, say) cancels the run and is returned,
 * wrapped with the stage's name. Returns NULL on success; *st is filled
 * either way. Blocks until every stage has returned.
 */
fl_err *orders_run(long n, int workers, orders_stats *st);

/*
 * Bugs to plant, for the scenarios that prove faultline's checks catch
 * them (examples/consumer/src/scenarios.c). All false: orders_run.
 */
typedef struct orders_plants {
	bool leak_task;   /* an audit task that waits forever, never joined */
	bool leak_thread; /* a helper thread never joined */
	bool leak_fd;     /* a file opened and never closed */
	bool leak_heap;   /* 64 KiB per run never freed */
	bool lose_order;  /* the store drops order 7 without counting it */
	bool swallow;     /* the store drops an order whose store fails and
			     goes on: a lost order and a swallowed error,
			     seen only when a fault hits orders.store */
} orders_plants;

/* orders_run with bugs planted (pl may be NULL: none). */
fl_err *orders_run_planted(long n, int workers, const orders_plants *pl, orders_stats *st);

/*
 * Serves one order by itself: read, price and store it, through the same
 * fault points as the pipeline (a request of the `orders_one` load).
 * Returns NULL, orders_err_rejected for a refused order, or the injected
 * or cancellation error. Thread-safe; blocks only in injected faults.
 */
fl_err *orders_serve_one(fl_ctx *ctx, long id);

#endif
