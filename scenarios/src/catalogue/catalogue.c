/*
 * catalogue.c - the scenario table: every catalogue scenario in suite
 * order, registered with the public fl_scenario_register (../registry.c)
 * when a program asks for the built-ins. It sits on top of the scenario files
 * (cat_*.c) and nothing below calls back into it; the helpers they share
 * are in ../stage.c, their sentinel errors in cat_sentinels.c.
 */
#include "cat_internal.h"

/* The default suite, in the order of the reference exercises. */
static const fl_scenario *const catalogue[] = {
	&fl__scn_sum,
	&fl__scn_early_return,
	&fl__scn_drain_on_error,
	&fl__scn_fanout_nested,
	&fl__scn_join_errors,
	&fl__scn_stage_as,
	&fl__scn_deadline,
	&fl__scn_panic_capture,
	&fl__scn_set_limit,
	&fl__scn_cancel_latency,
	/* The reference-task catalogue (cat_*.c). */
	&fl__scn_fetch_all,
	&fl__scn_retry_item,
	&fl__scn_skip_sentinel,
	&fl__scn_saga,
	&fl__scn_saga_restart,
	&fl__scn_bulkhead_tenants,
	&fl__scn_circuit_breaker,
	&fl__scn_dead_letter,
	&fl__scn_cursor_restart,
	&fl__scn_hedged_fetch,
	&fl__scn_stream_aggregate,
	&fl__scn_integration,
	&fl__scn_tail_at_scale,
	&fl__scn_leak_found,
	&fl__scn_chaos_1pct,
	&fl__scn_translate_999,
	&fl__scn_forgotten_drain,
	&fl__scn_cancelled_too_early,
	&fl__scn_ok_error_body,
	&fl__scn_typed_errors,
	&fl__scn_mini_group,
	&fl__scn_rate_limited_pool,
	/* The bug zoo (cat_zoo.c): exploration targets, not in the suite. */
	&fl__scn_zoo_lost_wakeup,
	&fl__scn_zoo_lost_wakeup_fixed,
	&fl__scn_zoo_order,
	&fl__scn_zoo_order_fixed,
	&fl__scn_zoo_atomicity,
	&fl__scn_zoo_atomicity_fixed,
	&fl__scn_zoo_deadlock,
	&fl__scn_zoo_deadlock_fixed,
	&fl__scn_zoo_missed_close,
	&fl__scn_zoo_missed_close_fixed,
	&fl__scn_zoo_double_done,
	&fl__scn_zoo_double_done_fixed,
	&fl__scn_zoo_torn_read,
	&fl__scn_zoo_torn_read_fixed,
	&fl__scn_zoo_real_clock,
};

fl_err *fl_scenario_register_builtins(void)
{
	/* Registering the same scenario again is a no-op: idempotent. */
	for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++) {
		fl_err *err = fl_scenario_register(catalogue[i]);
		if (err)
			return fl_err_wrap(err, "the built-in catalogue");
	}
	return NULL;
}
