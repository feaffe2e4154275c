/*
 * cat_sentinels.c - the catalogue's sentinel errors (declared in
 * fl/scenario.h), defined in one place below every scenario file: a
 * scenario that matches another's error (hedged_fetch matching fetch_all's
 * ErrHTTPStatus, stream_aggregate the retry's transient failure) depends
 * on this file, not on its sibling.
 */
#include <fl/scenario.h>

/* The reference exercises (cat_pipeline.c, cat_errors.c). */
FL_ERR_SENTINEL(fl_scenario_err_negative, "negative value");
FL_ERR_SENTINEL(fl_scenario_err_rejected, "item rejected");
FL_ERR_SENTINEL(fl_scenario_err_invalid, "invalid item");
FL_ERR_SENTINEL(fl_scenario_err_unavailable, "backend unavailable");
FL_ERR_SENTINEL(fl_scenario_err_quota, "quota exceeded");

/* The reference-task catalogue. */
FL_ERR_SENTINEL(fl_scenario_err_http_status, "bad HTTP status");
FL_ERR_SENTINEL(fl_scenario_err_bad_record, "invalid record");
FL_ERR_SENTINEL(fl_scenario_err_skip, "skip item");
FL_ERR_SENTINEL(fl_scenario_err_rate_limited, "rate limited");
FL_ERR_SENTINEL(fl_scenario_err_transient, "transient failure");
FL_ERR_SENTINEL(fl_scenario_err_chaos, "injected fault");
