/*
 * main.c - the consumer's own check of its pipeline: run it, arm the
 * fault plan from the environment (FAULTLINE_FAULTS, FAULTLINE_SEED), and
 * hold it to what must be true under any plan: every order accounted for,
 * a failed run reports the injected error, nothing left running.
 *
 *   orders [N [WORKERS]]        exit 0 when every check held, 1 otherwise
 *   FAULTLINE_FAULTS='orders.price=5% error(rejected)' orders 1000
 */
#include "orders.h"

#include <fl/fault.h>
#include <fl/task.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	int workers = argc > 2 ? atoi(argv[2]) : 4;
	fl_fault_plan *plan = NULL;
	fl_err *err = fl_fault_register_error("rejected", orders_err_rejected);
	if (!err)
		err = fl_fault_init_from_env(&plan);
	if (err) {
		fl_err_print(stderr, err);
		fl_err_drop(err);
		return 2;
	}
	fl_stats before = fl_stats_get();
	orders_stats st;
	err = orders_run(n, workers, &st);
	fl_stats after = fl_stats_get();
	int bad = 0;
	/* Conservation: each order is stored, rejected or was in flight at a
	 * failure; a clean run leaves none in flight. */
	if (st.produced != st.stored + st.rejected + st.cancelled || (!err && st.cancelled) ||
	    (!err && st.produced != n)) {
		fprintf(stderr,
			"orders: lost orders: %ld produced, %ld stored, %ld rejected, "
			"%ld cancelled\n",
			st.produced, st.stored, st.rejected, st.cancelled);
		bad = 1;
	}
	/* A failed run carries the fault's error (an injected one names its
	 * point), never a bare "canceled". */
	if (err && fl_err_is(err, FL_ERR_CANCELED) && !fl_err_as(err, &fl_fault_info_type)) {
		fprintf(stderr, "orders: the run failed without its cause: ");
		fl_err_print(stderr, err);
		bad = 1;
	}
	/* Nothing outlives the run: tasks, channels, contexts, groups. */
	if (after.tasks != before.tasks || after.chans != before.chans ||
	    after.ctxs != before.ctxs || after.groups != before.groups) {
		fprintf(stderr,
			"orders: leaked %ld tasks, %ld channels, %ld contexts, %ld groups\n",
			after.tasks - before.tasks, after.chans - before.chans,
			after.ctxs - before.ctxs, after.groups - before.groups);
		bad = 1;
	}
	printf("orders: %ld produced, %ld stored, %ld rejected, %ld cancelled; run: ", st.produced,
	       st.stored, st.rejected, st.cancelled);
	fl_err_print(stdout, err);
	fl_err_drop(err);
	fl_fault_plan_free(plan);
	return bad;
}
