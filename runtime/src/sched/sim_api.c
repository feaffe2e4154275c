/*
 * sim_api.c - the sim backend's public controls (fl/task.h): fl_sim_begin,
 * the trace hash, event count and file, the deadlock report stream and
 * count, the scheduling strategy (sim_strategy.c).
 *
 * Like every runtime call, each starts the backend on first use (through
 * fl__sched, the seam's selection), then checks that it is sim; sim.c does
 * the work. They live apart from sim.c so that the backend never calls up
 * into the seam that selects it: selection (sched.c) sits above the
 * backends, and this file above both.
 */
#include "sched_internal.h"
#include "sim_strategy_internal.h"

#include <fl/task.h>

static fl_err *need_sim(const char *fn)
{
	const fl__sched_ops *ops = fl__sched();
	if (ops != &fl__sched_sim)
		return fl_err_wrap(FL_ERR_MISUSE, "%s: the backend is '%s', not 'sim'", fn,
				   ops->name);
	return NULL;
}

static bool sim_active(void) { return fl__sched() == &fl__sched_sim; }

fl_err *fl_sim_begin(uint64_t seed)
{
	fl_err *err = need_sim("fl_sim_begin");
	return err ? err : fl__sim_begin(seed);
}

uint64_t fl_sim_trace_hash(void) { return sim_active() ? fl__sim_hash() : 0; }

uint64_t fl_sim_trace_events(void) { return sim_active() ? fl__sim_events() : 0; }

fl_err *fl_sim_trace_file(const char *path)
{
	fl_err *err = need_sim("fl_sim_trace_file");
	return err ? err : fl__sim_trace_open(path);
}

void fl_sim_set_report(FILE *out)
{
	if (sim_active())
		fl__sim_set_report(out);
}

long fl_sim_deadlocks(void) { return sim_active() ? fl__sim_deadlocks() : 0; }

fl_err *fl_sim_strategy(const char *spec)
{
	fl_err *err = need_sim("fl_sim_strategy");
	fl__strat_spec st;
	if (!err)
		err = fl__strat_parse(spec, &st);
	if (!err)
		fl__strat_set(&st);
	return err;
}

void fl_sim_strategy_used(char *buf, size_t cap)
{
	fl__strat_spec st = {.kind = FL__STRAT_RANDOM};
	if (sim_active())
		fl__strat_current(&st);
	if (cap)
		fl__strat_format(&st, buf, cap);
}

uint64_t fl_sim_steps(void) { return sim_active() ? fl__strat_steps() : 0; }

uint64_t fl_sim_tasks(void) { return sim_active() ? fl__strat_tasks() : 0; }

uint64_t fl_sim_preemptions(void) { return sim_active() ? fl__strat_preemptions() : 0; }

bool fl_sim_space_exhausted(void) { return sim_active() && fl__strat_exhausted(); }
