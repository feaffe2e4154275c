/*
 * sim_trace_internal.h - the sim backend's trace (sim_trace.c): a running
 * hash of every event and an optional text file. Sim thread only.
 */
#ifndef FL_SIM_TRACE_INTERNAL_H
#define FL_SIM_TRACE_INTERNAL_H

#include <fl/err.h>

#include <stdint.h>
#include <stdio.h>

/* Folds one event into the hash (and writes its line): kind is an
 * FL__EV_*, task and obj per-run sequence numbers, t_ns the run-relative
 * virtual time. */
void fl__trace_record(int kind, uint32_t task, uint32_t obj, int64_t arg, int64_t t_ns);
/* Starts a new run's hash (the file stays open). */
void fl__trace_reset(void);
uint64_t fl__trace_hash(void);
uint64_t fl__trace_events(void);
/* Closes the current text trace, then opens path (NULL or "": none). */
FL_MUST_CHECK fl_err *fl__trace_open(const char *path);

#endif
