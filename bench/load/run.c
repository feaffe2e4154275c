/*
 * run.c - running a load: checks the options, creates the result and hands
 * it to the real clock (clock_real.c) or the virtual one (clock_virtual.c).
 *
 * Layering: this file sits above both clocks, which sit above result.c and
 * load.c; nothing below calls back up, so the result helpers and the clocks
 * can be read (and linked) without the dispatcher.
 */
#include <fl/bench.h>

#include "load_internal.h"

fl_err *fl_bench_load_run(const struct fl_bench_load_opts *o, fl_bench_result *out)
{
	fl_err *e = fl_bench_load_check(o);
	if (e)
		return e;
	fl_bench_result r;
	if ((e = fl__bench_result_init(&r)))
		return e;
	r.servers = (int64_t)o->stages * o->workers;
	e = o->virtual_clock ? fl__bench_run_virtual(o, &r) : fl__bench_run_real(o, &r);
	if (e) {
		fl_bench_result_destroy(&r);
		return e;
	}
	*out = r;
	return NULL;
}
