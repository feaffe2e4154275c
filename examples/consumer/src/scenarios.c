/*
 * scenarios.c - the orders pipeline under faultline, as its owner writes
 * it: four scenarios and one load, registered with FL_SCENARIO and
 * FL_LOAD. Linked with faultline::main, the program gets the whole
 * faultline command line over them (list, run, stress, replay, sweep,
 * bench); CMakeLists.txt turns each scenario into a ctest test.
 *
 *   orders_clean    the pipeline as shipped: every order accounted for,
 *                   an injected failure surfaces with its cause, nothing
 *                   left running (stress draws fault plans against it)
 *   orders_leaky    planted leaks of every kind: a task (with its group,
 *                   context and channel), a thread, a file descriptor and
 *                   64 KiB of heap per run; each generic check names one
 *   orders_lossy    a planted lost order and a planted stall of the store
 *                   (a fault plan holds it, ignoring cancellation): the
 *                   conservation check and the watchdog name them
 *   orders_swallow  passes when nothing fails; stress finds that a failed
 *                   store is swallowed and its order lost, and replay
 *                   under --backend sim reproduces the seed exactly
 *   orders_one      (a load) one order read, priced and stored, for
 *                   `bench run|sweep|gate`
 */
#include "orders.h"

#include <fl/bench.h>
#include <fl/check.h>
#include <fl/fault.h>
#include <fl/scenario.h>

#include <stdlib.h>

/* Fault plans may name the pipeline's own error: "error(rejected)". */
__attribute__((constructor)) static void register_errors(void)
{
	fl_err *err = fl_fault_register_error("rejected", orders_err_rejected);
	if (err) { /* out of memory at start: say so, the plans will fail */
		fl_err_print(stderr, err);
		fl_err_drop(err);
	}
}

/*
 * Runs the pipeline params->iterations times with pl planted and holds
 * each run to the pipeline's promises, with faultline's public checks:
 * every order is stored, rejected or was in flight when the run failed
 * (conservation), and a failed run reports the injected fault that
 * caused it, not a bare cancellation (error identity).
 */
static fl_err *run_checked(const fl_scenario_params *params, fl_scenario_result *result,
			   const orders_plants *pl)
{
	for (int i = 0; i < params->iterations; i++) {
		orders_stats st;
		fl_err *err = orders_run_planted(1000, 4, pl, &st);
		fl_scenario_note_err(result, params, "orders", err);
		fl_check_items items;
		fl_check_items_init(&items);
		fl_check_items_add(&items, FL_ITEM_PRODUCED, st.produced);
		fl_check_items_add(&items, FL_ITEM_DONE, st.stored);
		fl_check_items_add(&items, FL_ITEM_FAILED, st.rejected);
		if (err) /* in flight when the run stopped; none in a clean run */
			fl_check_items_add(&items, FL_ITEM_CANCELLED, st.cancelled);
		fl_check_items_judge(&items, result, "every order accounted for");
		if (err)
			fl_check_err_as(result, "a failure carries its cause", err,
					&fl_fault_info_type, NULL, NULL, NULL);
		fl_scenario_count(result, "items", st.stored);
		fl_scenario_count(result, "rejected", st.rejected);
		fl_err_drop(err);
	}
	return NULL;
}

FL_SCENARIO_WITH(orders_clean, "the order pipeline as shipped, under any fault plan",
		 .iterations = 5,
		 .stress_faults = (const char *const[]){
			 "orders.price=5% error(rejected)", "orders.store=1% error(inval)",
			 "orders.read=@300 error(inval); orders.price=2% sleep(100us)", NULL})
{
	return run_checked(params, result, NULL);
}

FL_SCENARIO_WITH(orders_leaky, "planted: a task, a thread, an fd and heap leak per run",
		 .iterations = 20)
{
	orders_plants pl = {.leak_task = true,
			    .leak_thread = true,
			    .leak_fd = true,
			    .leak_heap = true};
	return run_checked(params, result, &pl);
}

FL_SCENARIO_WITH(orders_lossy, "planted: order 7 is lost and the store stalls at order 500",
		 .iterations = 1, .hang_ns = 2000000000)
{
	fl_fault_plan *stall;
	fl_err *err = fl_fault_arm("orders.store=@500 stuck(30m)", params->seed, &stall);
	if (err)
		return err;
	orders_plants pl = {.lose_order = true};
	err = run_checked(params, result, &pl);
	fl_fault_plan_free(stall);
	return err;
}

FL_SCENARIO_WITH(orders_swallow, "planted: a failed store is swallowed (stress finds it)",
		 .iterations = 5,
		 .stress_faults = (const char *const[]){"orders.store=0.005% error(inval)", NULL})
{
	orders_plants pl = {.swallow = true};
	return run_checked(params, result, &pl);
}

FL_LOAD(orders_one, "one order read, priced and stored")
{
	return orders_serve_one(ctx, (long)index);
}
