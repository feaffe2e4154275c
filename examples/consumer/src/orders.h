/*
 * orders.h - a user's pipeline, as a C engineer would write it against the
 * installed faultline: orders are parsed, priced and stored by three
 * stages joined by channels, in one errgroup. Each stage names a fault
 * point, so a plan can break it without touching the code.
 */
#ifndef ORDERS_H
#define ORDERS_H

#include <fl/err.h>

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

#endif
