/*
 * fault_internal.h - what the files of faults/ share (private).
 *
 * parse.c turns plan text into an immutable spec (rules of terms).
 * registry.c owns the armed plans, the interned point names and the
 * resolution of names to (plan, point state) pairs. eval.c decides and runs
 * actions. account.c records fires; stats.c, above account.c and
 * registry.c, reads the statistics back. Lock order: the registry lock (a
 * reader holds one stripe, a writer all of them in index order), then a
 * plan's log lock or a point's item lock (both leaves), then the error-name
 * lock (a leaf). No fault lock is held while an action runs or while a
 * callback of the caller runs.
 */
#ifndef FL_FAULT_INTERNAL_H
#define FL_FAULT_INTERNAL_H

#include <fl/chan.h>
#include <fl/fault.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_annotate_internal.h"
#include "fl_assert_internal.h"

/* ---- the parsed plan (immutable once parsed) ------------------------------ */

enum fl__fault_dist_kind {
	FL__FAULT_FIXED,
	FL__FAULT_UNIFORM,
	FL__FAULT_EXP,
	FL__FAULT_LOGNORMAL,
	FL__FAULT_PARETO,
};

/* A duration distribution: fixed a; uniform [a, b]; exp(mean a);
 * lognormal(median a, sigma shape); pareto(scale a, alpha shape); plus a
 * uniform jitter in [-jitter, +jitter]. */
typedef struct fl__fault_dist {
	enum fl__fault_dist_kind kind;
	int64_t a_ns, b_ns;
	double shape;
	int64_t jitter_ns;
} fl__fault_dist;

/* Which modifiers a term has. */
enum {
	FL__FAULT_M_AT = 1 << 0,
	FL__FAULT_M_EVERY = 1 << 1,
	FL__FAULT_M_AFTER = 1 << 2,
	FL__FAULT_M_UNTIL = 1 << 3,
	FL__FAULT_M_ITEMS = 1 << 4,
	FL__FAULT_M_PERITEM = 1 << 5,
	FL__FAULT_M_PCT = 1 << 6,
	FL__FAULT_M_CNT = 1 << 7,
};

/* One term: [modifiers] action[(args)]. */
typedef struct fl__fault_term {
	enum fl_fault_action action;
	unsigned mods;              /* FL__FAULT_M_* present */
	uint64_t at_lo, at_hi;      /* @N..M, inclusive, 1-based */
	uint64_t every;             /* every(N) */
	uint64_t cnt;               /* cnt*: at most cnt fires */
	uint64_t pct_threshold;     /* p%: fire if draw < threshold */
	bool pct_always;            /* p >= 100 */
	int64_t after_ns, until_ns; /* windows since arm */
	int64_t item_lo, item_hi;   /* items(a..b), inclusive */
	fl_err *err;                /* error: the sentinel (registry-owned) */
	char *text;                 /* error: its name; panic/print: message */
	fl__fault_dist dist;        /* sleep, delay, stuck */
	double factor;              /* slow */
} fl__fault_term;

/* One item of a plan: pattern=term->term->... */
typedef struct fl__fault_rule {
	char *pattern;
	fl__fault_term *terms;
	size_t nterms;
	bool peritem; /* some term counts attempts per item */
} fl__fault_rule;

typedef struct fl__fault_spec {
	fl__fault_rule *rules;
	size_t nrules;
	bool has_seed;
	uint64_t seed;
} fl__fault_spec;

/* Parses text into *out (zeroed first). Errors as fl_fault_check. */
FL_MUST_CHECK fl_err *fl__fault_parse(const char *text, fl__fault_spec *out);
void fl__fault_spec_destroy(fl__fault_spec *spec);

/* Glob match: '*' within one '/'-separated segment, '**' across segments,
 * '**' followed by '/' also matching zero segments. */
bool fl__fault_glob(const char *pattern, const char *name);

/* The sentinel registered for error(name), or NULL. Borrowed (immortal). */
fl_err *fl__fault_error_lookup(const char *name, size_t len);

/* ---- armed state ----------------------------------------------------------- */

/* Per (plan, point name) state. Counters are atomics updated without locks;
 * readers take snapshots. */
typedef struct fl__fault_point {
	const char *name;           /* interned; immutable */
	uint64_t hash;              /* of name; immutable */
	const fl__fault_rule *rule; /* first matching rule; immutable */
	_Atomic uint64_t evals;     /* evaluations so far */
	_Atomic uint64_t fires[FL_FAULT_NACTIONS];
	_Atomic int64_t delay_ns;     /* time spent in injected waits */
	_Atomic uint64_t oom_pending; /* oom fired at a non-alloc site */
	_Atomic uint64_t *term_fires; /* per term, for cnt*; immutable ptr */
	pthread_mutex_t item_mu;      /* protects the item map */
	int64_t *item_keys;           /* open addressing; -1 = empty */
	uint64_t *item_counts;
	size_t item_cap, item_n;
} fl__fault_point;

struct fl_fault_plan {
	_Atomic long refs;          /* handle + each evaluation inside it */
	uint64_t id;                /* immutable */
	char *text;                 /* immutable */
	uint64_t seed;              /* immutable */
	fl_ctx *scope;              /* immutable; compared by identity */
	int64_t armed_at_ns;        /* immutable */
	fl__fault_spec spec;        /* immutable */
	fl_chan *done;              /* never sent on; closed by disarm */
	bool armed;                 /* registry write side */
	fl__fault_point **points;   /* registry write side (growth); entries immutable */
	size_t npoints, cap_points; /* registry write side; read under a stripe */
	pthread_mutex_t log_mu;     /* protects the log */
	fl_fault_event *log;        /* ring of FL_FAULT_LOG_CAP entries */
	uint64_t log_total;         /* events ever appended (log_mu) */
};

/* A plan and point state an evaluation acts through: valid under the
 * registry stripe collect returns with, and after it only with a plan
 * reference (fl__fault_plan_ref). */
typedef struct fl__fault_hit {
	fl_fault_plan *plan;
	fl__fault_point *point;
} fl__fault_hit;

/* Most plans that act on one evaluation; more are ignored. */
#define FL__FAULT_MAX_HITS 8

/* Finds the armed plans that act on this evaluation of site under ctx, in
 * arm order, and returns how many (0..FL__FAULT_MAX_HITS) with the registry's
 * read side held: *stripe is locked, and the hits' plans and points stay
 * valid until fl__fault_unlock(*stripe). No references are taken. The
 * caller must not block on anything but a leaf mutex, nor yield (a fiber
 * must not move to another worker), before it unlocks. */
size_t fl__fault_collect(fl_fault_site *site, fl_ctx *ctx, fl__fault_hit *hits, int *stripe);
/* The registry's read side alone (for a snapshot, stats.c): locks this
 * thread's stripe and returns its index, for fl__fault_unlock. */
int fl__fault_lock(void);
void fl__fault_unlock(int stripe);

/* Takes a reference on a plan found by fl__fault_collect, before the
 * stripe is dropped (the plan is armed then). Relaxed: the stripe orders it
 * before any disarm, and the unref that may free is acq_rel. */
static inline void fl__fault_plan_ref(fl_fault_plan *plan)
{
	atomic_fetch_add_explicit(&plan->refs, 1, memory_order_relaxed);
}

/* The environment's plan has been looked at (armed, or found absent or
 * ignored): clears the fast path's "look" bit unless a plan is armed
 * (registry.c; takes the write side). */
void fl__fault_env_settled(void);

/* Called by every slow-path evaluation before the registry is read: the
 * first one in a process that never called fl_fault_init_from_env (nor
 * fl_fault_env_ignore) arms FAULTLINE_FAULTS (env.c). point names the
 * evaluation, for the message when the plan does not parse. Takes no
 * registry lock on entry; one acquire load once settled. */
void fl__fault_env_lazy(const char *point);

/* Drops a reference taken with fl__fault_plan_ref (or the handle's). */
void fl__fault_plan_unref(fl_fault_plan *plan);

/* Point states: allocation and the per-item attempt counter. */
fl__fault_point *fl__fault_point_new(const char *name, uint64_t hash, const fl__fault_rule *rule);
void fl__fault_point_free(fl__fault_point *pt);
/* Counts one more attempt for item; returns the 1-based attempt number. */
uint64_t fl__fault_point_item_next(fl__fault_point *pt, int64_t item);

/* Accounting (account.c): the log ring and the stats snapshot. */
void fl__fault_record(fl_fault_plan *plan, fl__fault_point *pt, enum fl_fault_action a,
		      uint64_t eval, int64_t item, int term, int64_t delay_ns);
void fl__fault_add_delay(fl__fault_point *pt, int64_t ns);
fl_err *fl__fault_log_init(fl_fault_plan *plan);
void fl__fault_log_destroy(fl_fault_plan *plan);
void fl__fault_point_snapshot(const fl__fault_point *pt, fl_fault_point_stats *out);

/* Forced decisions (force.c): set while fl_fault_force's set is installed;
 * then the action forced at evaluation k of pt, or -1 for none. */
extern _Atomic bool fl__fault_forcing;
int fl__fault_forced_action(const fl__fault_point *pt, uint64_t k);

/* Seeds the counter-based stream: SplitMix64's finaliser. */
uint64_t fl__fault_mix64(uint64_t x);
/* FNV-1a of a name, finalised. */
uint64_t fl__fault_hash(const char *s);

#endif
