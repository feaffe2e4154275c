/*
 * sim_trace.c - the sim backend's trace: a running hash of every event,
 * and optionally one text line per event.
 *
 * Problem: a seed must give the same run in any process, and a test must
 * be able to say so cheaply. Each event (kind, task and object sequence
 * numbers, an argument, the run-relative virtual time) is folded into a
 * 64-bit FNV-1a hash; FAULTLINE_TRACE or fl_sim_trace_file also writes it
 * as a line. Only the sim thread calls in (sim.c checks), so the state
 * needs no lock.
 */
#include "sim_trace_internal.h"

#include <errno.h>
#include <inttypes.h>

#include "sched_internal.h"

static struct {
	uint64_t hash; /* FNV-1a of the trace */
	uint64_t events;
	FILE *file; /* optional text trace */
} T;

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= FNV_PRIME;
	}
	return h;
}

static const char *const ev_names[] = {
	[FL__EV_SWITCH] = "switch",     [FL__EV_SPAWN] = "spawn",     [FL__EV_EXIT] = "exit",
	[FL__EV_WAKE] = "wake",         [FL__EV_TIMEOUT] = "timeout", [FL__EV_TIMER] = "timer",
	[FL__EV_SEND] = "send",         [FL__EV_RECV] = "recv",       [FL__EV_CLOSE] = "close",
	[FL__EV_SELECT] = "select",     [FL__EV_CANCEL] = "cancel",   [FL__EV_YIELD] = "yield",
	[FL__EV_DEADLOCK] = "deadlock",
};

void fl__trace_record(int kind, uint32_t task, uint32_t obj, int64_t arg, int64_t t)
{
	uint64_t h = T.hash;
	h = fnv_u64(h, (uint64_t)kind | (uint64_t)task << 8);
	h = fnv_u64(h, obj);
	h = fnv_u64(h, (uint64_t)arg);
	h = fnv_u64(h, (uint64_t)t);
	T.hash = h;
	T.events++;
	if (T.file)
		fprintf(T.file, "%" PRId64 " %s task=%" PRIu32 " obj=%" PRIu32 " arg=%" PRId64 "\n",
			t, ev_names[kind], task, obj, arg);
}

void fl__trace_reset(void)
{
	T.hash = FNV_OFFSET;
	T.events = 0;
}

uint64_t fl__trace_hash(void) { return T.hash; }

uint64_t fl__trace_events(void) { return T.events; }

fl_err *fl__trace_open(const char *path)
{
	if (T.file)
		fclose(T.file);
	T.file = NULL;
	if (!path || !*path)
		return NULL;
	FILE *f = fopen(path, "w");
	if (!f)
		return fl_err_errno(errno, "sim: opening trace file '%s'", path);
	setvbuf(f, NULL, _IOLBF, 0); /* a log: each record is flushed as it goes */
	T.file = f;
	return NULL;
}
