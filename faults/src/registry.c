/*
 * registry.c - armed plans, interned point names, and name resolution.
 *
 * Problem: a point is evaluated millions of times, from every task of every
 * stage at once, plans are armed and disarmed rarely, several plans (scoped
 * to different contexts) may be armed at once, and a plan must not be freed
 * while a task is inside one of its actions (a hang can last until the test
 * ends).
 *
 * The registry lock is a big-reader lock (as Linux's lglock): NSTRIPES
 * pthread mutexes, each on its own cache line pair. A thread gets a stripe
 * round-robin at its first evaluation (a thread-local index; nothing to
 * clean up at thread exit, and threads beyond NSTRIPES share stripes). The
 * read side is the caller's stripe alone; the write side is every stripe,
 * so it excludes every reader. Evaluating threads thus lock different
 * mutexes and write no shared line for the lock.
 *
 * Data structures, written under the write side, read under any stripe
 * unless noted:
 *   - armed: the armed plans in arm order, and gen, a generation number
 *     bumped by every arm and disarm;
 *   - fl__fault_state = (gen << 1) | look, an atomic the inline fast path
 *     reads without the lock (acquire; it is a hint: the slow path
 *     re-checks everything under the lock). look is "a plan is armed, or
 *     the environment's plan has not been looked at yet" (env.c arms
 *     FAULTLINE_FAULTS at the first evaluation of a process that did not
 *     call fl_fault_init_from_env, then calls fl__fault_env_settled). gen
 *     starts at 1, so a site's zeroed cache never matches and the first
 *     evaluation in the process always reaches the slow path;
 *   - interned names: one entry per point name ever evaluated while a plan
 *     was armed, in a hash table and a first-seen list. An entry caches its
 *     resolution - the (plan, point state) pairs of every armed plan whose
 *     first matching rule names it - valid while entry->gen == gen. Entries
 *     are never freed, so sites may point at them without references;
 *     site->entry is set under the write side;
 *   - a site caches (gen << 1) | (resolution non-empty) in an atomic, so a
 *     point no armed plan matches is skipped with two relaxed loads. Readers
 *     store it only when it changes, so a hot site's line is not bounced.
 *
 * Evaluation (fl__fault_collect, eval.c): under its stripe, an evaluation
 * finds the site's entry and, while entry->gen == gen, its resolution;
 * eval.c counts and decides each plan under that same stripe and returns
 * it with fl__fault_unlock. Only when a plan fires are references taken -
 * on it and every later plan - before the stripe is dropped, and the action
 * runs without any fault lock. A site's first evaluation, or its first in a
 * new generation, must intern or resolve, which write: the reader drops its
 * stripe, takes the write side for that (once per name per generation),
 * and retries the read side.
 *
 * Lifetimes: a plan is reference counted - one reference for the handle,
 * one for every evaluation that runs an action of it or of an earlier plan
 * (taken under a stripe, dropped without a lock). Disarm unlinks the plan
 * and bumps gen under the write side (so no stale resolution is ever used
 * again), then closes the plan's done channel, which wakes every task in
 * its hang/sleep/stuck actions. The last reference frees the plan. A
 * resolution's plan and point pointers carry no reference: they are only
 * dereferenced under a stripe while gen matches, which proves the plans are
 * still armed, since disarm needs the write side and so waits for every
 * stripe holder to leave.
 *
 * Fibers: the read side is held from fl__fault_collect to fl__fault_unlock
 * in one call of fl__fault_eval, which neither blocks (but on a leaf
 * mutex) nor yields in between: no fiber switch, so the OS thread that
 * locked the stripe unlocks it. The stripe index is read once into a local
 * (not re-read from TLS at unlock), and stripe_index() is not inlined, so a
 * fiber that moved to another worker since its last evaluation reads the
 * index of the thread it runs on now.
 *
 * Lock order: the stripes in index order (a reader holds one, a writer all),
 * then a plan's log_mu or a point's item_mu (leaves). No user code and no
 * blocking call runs under a stripe. NSTRIPES is 16: more than the worker
 * threads we run, and a writer's 16 held locks stay well under the 64 that
 * ThreadSanitizer's deadlock detector can track per thread.
 */
#include "fault_internal.h"

#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

#define NBUCKETS 1024

/* One interned point name and its cached resolution (write side; read
 * under any stripe). */
struct entry {
	char *name;         /* immutable */
	uint64_t hash;      /* immutable */
	uint64_t gen;       /* generation res is valid for; 0 = never */
	fl__fault_hit *res; /* no references held (see the note) */
	size_t nres, cap;
	struct entry *chain; /* hash bucket */
	struct entry *next;  /* first-seen order */
};

/* gen 1, look set: see the note (env_pending). */
_Atomic uint64_t fl__fault_state = 1 << 1 | 1;

/* ---- the registry lock: NSTRIPES mutexes, a big-reader lock --------------------- */

#define NSTRIPES 16

/* 128 bytes, not 64: the adjacent-line prefetcher moves lines in pairs, so
 * neighbouring stripes on 64-byte lines still bounce between cores. */
struct stripe {
	_Alignas(128) pthread_mutex_t mu;
};

#define STRIPE1                           \
	{                                 \
		PTHREAD_MUTEX_INITIALIZER \
	}
#define STRIPE4 STRIPE1, STRIPE1, STRIPE1, STRIPE1
_Static_assert(NSTRIPES == 16, "the initialiser below spells out 16 stripes");
static struct stripe stripes[NSTRIPES] = {STRIPE4, STRIPE4, STRIPE4, STRIPE4};

static _Atomic unsigned next_stripe;     /* round-robin for new threads */
static _Thread_local int my_stripe = -1; /* this thread's; -1 = none yet */

/* This thread's stripe, assigned on first use. Not inlined, so a fiber that
 * moved to another worker since its last evaluation reads the TLS of the
 * thread it runs on now, not an address computed on the old one. The
 * caller keeps the index in a local and unlocks that stripe. */
#if defined(__clang__)
#define FRESH __attribute__((noinline))
#else
#define FRESH __attribute__((noinline, noipa))
#endif
FRESH static int stripe_index(void)
{
	int s = my_stripe;
	if (s < 0) {
		s = (int)(atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed) %
			  NSTRIPES);
		my_stripe = s;
	}
	return s;
}

/* Read side: locks this thread's stripe and returns its index. */
static int read_lock(void)
{
	int s = stripe_index();
	FL_LOCK(&stripes[s].mu);
	return s;
}

static void read_unlock(int s) { FL_UNLOCK(&stripes[s].mu); }

/* Write side: every stripe, in index order (the lock order). */
static void write_lock(void)
{
	for (int i = 0; i < NSTRIPES; i++)
		FL_LOCK(&stripes[i].mu);
}

static void write_unlock(void)
{
	for (int i = NSTRIPES - 1; i >= 0; i--)
		FL_UNLOCK(&stripes[i].mu);
}

static struct {
	uint64_t gen;          /* bumped by arm and disarm */
	fl_fault_plan **armed; /* arm order */
	size_t narmed, cap;
	struct entry *buckets[NBUCKETS];
	struct entry *first, *last; /* first-seen order */
	uint64_t next_id;
	bool env_settled; /* env.c looked at FAULTLINE_FAULTS */
} R = {.gen = 1};         /* written under the write side, read under any stripe */

/* Publishes gen and "anything armed" for the fast path. Caller holds the
 * write side. */
static void publish(void)
{
	FL_BENIGN_RACE(&fl__fault_state, "fast-path hint, re-checked under the registry lock");
	atomic_store_explicit(&fl__fault_state, R.gen << 1 | (R.narmed > 0 || !R.env_settled),
			      memory_order_release);
}

void fl__fault_env_settled(void)
{
	write_lock();
	R.env_settled = true;
	publish();
	write_unlock();
}

/* ---- interning and resolution ----------------------------------------------- */

/* Finds or adds name. NULL only when out of memory. Caller holds the write side. */
static struct entry *intern(const char *name)
{
	uint64_t h = fl__fault_hash(name);
	struct entry **b = &R.buckets[h % NBUCKETS];
	for (struct entry *e = *b; e; e = e->chain)
		if (e->hash == h && strcmp(e->name, name) == 0)
			return e;
	struct entry *e = fl__calloc(1, sizeof(*e));
	if (!e || !(e->name = fl__strdup(name))) {
		free(e);
		return NULL;
	}
	e->hash = h;
	e->chain = *b;
	*b = e;
	if (R.last)
		R.last->next = e;
	else
		R.first = e;
	R.last = e;
	return e;
}

/* The plan's state for e, created on first use. Caller holds the write side. */
static fl__fault_point *plan_point(fl_fault_plan *p, struct entry *e, const fl__fault_rule *r)
{
	for (size_t i = 0; i < p->npoints; i++)
		if (p->points[i]->name == e->name)
			return p->points[i];
	if (p->npoints == p->cap_points) {
		size_t ncap = p->cap_points ? p->cap_points * 2 : 8;
		fl__fault_point **a = fl__realloc(p->points, ncap * sizeof(*a));
		if (!a)
			return NULL;
		p->points = a;
		p->cap_points = ncap;
	}
	fl__fault_point *pt = fl__fault_point_new(e->name, e->hash, r);
	if (pt)
		p->points[p->npoints++] = pt;
	return pt;
}

/* The plan's first rule whose pattern matches name, or NULL. */
static const fl__fault_rule *first_rule(const fl_fault_plan *p, const char *name)
{
	for (size_t i = 0; i < p->spec.nrules; i++)
		if (fl__fault_glob(p->spec.rules[i].pattern, name))
			return &p->spec.rules[i];
	return NULL;
}

/* Appends a hit to e->res; false when out of memory. */
static bool res_push(struct entry *e, fl_fault_plan *p, fl__fault_point *pt)
{
	if (e->nres == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 4;
		fl__fault_hit *a = fl__realloc(e->res, ncap * sizeof(*a));
		if (!a)
			return false;
		e->res = a;
		e->cap = ncap;
	}
	e->res[e->nres++] = (fl__fault_hit){p, pt};
	return true;
}

/* Recomputes e's resolution for the current gen. Caller holds the write side.
 * Out of memory drops matches (the point then does not fire), never
 * crashes. */
static void resolve(struct entry *e)
{
	e->nres = 0;
	for (size_t i = 0; i < R.narmed; i++) {
		fl_fault_plan *p = R.armed[i];
		const fl__fault_rule *r = first_rule(p, e->name);
		fl__fault_point *pt = r ? plan_point(p, e, r) : NULL;
		if (r && !pt)
			fl__alloc_absorbed();
		if (pt && !res_push(e, p, pt)) {
			fl__alloc_absorbed();
			break;
		}
	}
	e->gen = R.gen;
}

static bool in_scope(const fl_fault_plan *p, const fl_ctx *ctx)
{
	return !p->scope || (ctx && fl_ctx_has_ancestor(ctx, p->scope));
}

/* Fills hits with the plans of e's resolution that act under ctx and
 * publishes the site's cache. Caller holds a stripe and e->gen == R.gen,
 * so the plans are armed: disarm needs the write side. */
static size_t collect_locked(fl_fault_site *site, struct entry *e, fl_ctx *ctx, fl__fault_hit *hits)
{
	size_t n = 0;
	/* Store only on change: every evaluating thread reads the site's
	 * cache line, and a store per evaluation would bounce it. */
	uint64_t c = R.gen << 1 | (e->nres > 0);
	if (atomic_load_explicit(&site->cache, memory_order_relaxed) != c)
		atomic_store_explicit(&site->cache, c, memory_order_relaxed);
	for (size_t i = 0; i < e->nres && n < FL__FAULT_MAX_HITS; i++)
		if (in_scope(e->res[i].plan, ctx))
			hits[n++] = e->res[i];
	return n;
}

size_t fl__fault_collect(fl_fault_site *site, fl_ctx *ctx, fl__fault_hit *hits, int *stripe)
{
	int s = stripe_index();
	bool refreshed = false;
	*stripe = s;
	for (;;) {
		FL_LOCK(&stripes[s].mu);
		struct entry *e = site->entry;
		if (e && e->gen == R.gen)
			return collect_locked(site, e, ctx, hits);
		if (!e && refreshed) {
			fl__alloc_absorbed();
			return 0; /* out of memory: no plan acts here */
		}
		FL_UNLOCK(&stripes[s].mu);

		/* First evaluation of the site, or a new generation: interning
		 * and resolving write, so they take the write side (once per
		 * name per generation). Then retry the read side; an arm or
		 * disarm in between only means another round. */
		write_lock();
		if (!site->entry) {
			FL_BENIGN_RACE(&site->cache,
				       "fast-path hint, re-checked under the registry lock");
			site->entry = intern(site->name);
		}
		e = site->entry;
		if (e && e->gen != R.gen)
			resolve(e);
		write_unlock();
		refreshed = true;
	}
}

int fl__fault_lock(void) { return read_lock(); }

void fl__fault_unlock(int stripe) { read_unlock(stripe); }

void fl_fault_site_init(fl_fault_site *site, const char *name)
{
	site->name = name;
	atomic_init(&site->cache, 0);
	site->entry = NULL;
}

/* ---- plan lifecycle ---------------------------------------------------------- */

static void plan_destroy(fl_fault_plan *p)
{
	for (size_t i = 0; i < p->npoints; i++)
		fl__fault_point_free(p->points[i]);
	free(p->points);
	fl_chan_free(p->done);
	fl__fault_log_destroy(p);
	fl__fault_spec_destroy(&p->spec);
	free(p->text);
	free(p);
}

void fl__fault_plan_unref(fl_fault_plan *p)
{
	FL_HAPPENS_BEFORE(&p->refs);
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	FL_HAPPENS_AFTER(&p->refs);
	plan_destroy(p);
}

/* Allocates and parses a plan (not yet armed). */
static fl_err *plan_new(const char *text, uint64_t seed, fl_ctx *scope, fl_fault_plan **out)
{
	fl_fault_plan *p = fl__calloc(1, sizeof(*p));
	if (!p)
		return FL_ERR_NOMEM;
	fl_err *e = fl__fault_parse(text, &p->spec);
	if (e)
		goto fail_parse;
	e = FL_ERR_NOMEM;
	if (!(p->text = fl__strdup(text)))
		goto fail_text;
	struct fl_chan_opts co = {.name = "fault-plan"};
	if ((e = fl_chan_new(1, 0, &co, &p->done)))
		goto fail_chan;
	if ((e = fl__fault_log_init(p)))
		goto fail_log;
	atomic_init(&p->refs, 1);
	p->seed = p->spec.has_seed ? p->spec.seed : seed;
	p->scope = scope;
	*out = p;
	return NULL;
fail_log:
	fl_chan_free(p->done);
fail_chan:
	free(p->text);
fail_text:
	fl__fault_spec_destroy(&p->spec);
fail_parse:
	free(p);
	return e;
}

/* Adds p to the armed list; false when out of memory. Caller holds the write side. */
static bool armed_push(fl_fault_plan *p)
{
	if (R.narmed == R.cap) {
		size_t ncap = R.cap ? R.cap * 2 : 8;
		fl_fault_plan **a = fl__realloc(R.armed, ncap * sizeof(*a));
		if (!a)
			return false;
		R.armed = a;
		R.cap = ncap;
	}
	R.armed[R.narmed++] = p;
	return true;
}

static fl_err *arm(const char *text, uint64_t seed, fl_ctx *scope, fl_fault_plan **out)
{
	if (!out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_fault_arm: NULL out");
	fl_fault_plan *p;
	fl_err *e = plan_new(text, seed, scope, &p);
	if (e)
		return e;
	p->armed_at_ns = fl_now();
	write_lock();
	bool ok = armed_push(p);
	if (ok) {
		p->id = ++R.next_id;
		p->armed = true;
		R.gen++;
		publish();
	}
	write_unlock();
	if (!ok) {
		fl__fault_plan_unref(p);
		return FL_ERR_NOMEM;
	}
	*out = p;
	return NULL;
}

fl_err *fl_fault_arm(const char *text, uint64_t seed, fl_fault_plan **out)
{
	return arm(text, seed, NULL, out);
}

fl_err *fl_fault_arm_scoped(const char *text, uint64_t seed, fl_ctx *scope, fl_fault_plan **out)
{
	if (!scope)
		return fl_err_wrap(FL_ERR_INVAL, "fl_fault_arm_scoped: NULL scope");
	return arm(text, seed, scope, out);
}

void fl_fault_disarm(fl_fault_plan *p)
{
	if (!p)
		return;
	write_lock();
	bool was = p->armed;
	if (was) {
		size_t i = 0;
		while (R.armed[i] != p)
			i++;
		memmove(&R.armed[i], &R.armed[i + 1], (R.narmed - i - 1) * sizeof(*R.armed));
		R.narmed--;
		p->armed = false;
		R.gen++;
		publish();
	}
	write_unlock();
	if (was)
		fl_err_drop(fl_chan_close(p->done)); /* wakes hang, sleep, stuck */
}

int fl_fault_disarm_all(void)
{
	write_lock();
	size_t n = R.narmed;
	fl_fault_plan **plans = n ? fl__malloc(n * sizeof(*plans)) : NULL;
	if (n && !plans) {
		/* out of memory: one at a time, each found again under the lock */
		write_unlock();
		int k = 0;
		for (;;) {
			write_lock();
			fl_fault_plan *p = R.narmed ? R.armed[0] : NULL;
			if (p)
				fl__fault_plan_ref(p);
			write_unlock();
			if (!p)
				return k;
			fl_fault_disarm(p);
			fl__fault_plan_unref(p);
			k++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		plans[i] = R.armed[i];
		plans[i]->armed = false;
		fl__fault_plan_ref(plans[i]); /* its owner may free it meanwhile */
	}
	R.narmed = 0;
	if (n) {
		R.gen++;
		publish();
	}
	write_unlock();
	for (size_t i = 0; i < n; i++) {
		fl_err_drop(fl_chan_close(plans[i]->done)); /* wakes hang, sleep, stuck */
		fl__fault_plan_unref(plans[i]);
	}
	free(plans);
	return (int)n;
}

void fl_fault_plan_free(fl_fault_plan *p)
{
	if (!p)
		return;
	fl_fault_disarm(p);
	fl__fault_plan_unref(p);
}

uint64_t fl_fault_plan_seed(const fl_fault_plan *p) { return p->seed; }

const char *fl_fault_plan_text(const fl_fault_plan *p) { return p->text; }

uint64_t fl_fault_plan_id(const fl_fault_plan *p) { return p->id; }

/* ---- listing ---------------------------------------------------- */

/* Writes one plan and its points. Caller holds a stripe. */
static void list_plan(FILE *out, const fl_fault_plan *p)
{
	fprintf(out, "plan %llu seed=%llu %s: %s\n", (unsigned long long)p->id,
		(unsigned long long)p->seed, p->scope ? "scoped" : "global", p->text);
	for (size_t i = 0; i < p->npoints; i++) {
		fl_fault_point_stats st;
		fl__fault_point_snapshot(p->points[i], &st);
		fprintf(out, "  point %s evals=%llu fires=%llu", st.point,
			(unsigned long long)st.evals, (unsigned long long)st.fires_total);
		for (int a = 0; a < FL_FAULT_NACTIONS; a++)
			if (st.fires[a])
				fprintf(out, " %s=%llu",
					fl_fault_action_name((enum fl_fault_action)a),
					(unsigned long long)st.fires[a]);
		fprintf(out, " delay=%lldns\n", (long long)st.delay_ns);
	}
}

void fl_fault_list(FILE *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return;
	int s = read_lock();
	for (size_t i = 0; i < R.narmed; i++)
		list_plan(m, R.armed[i]);
	for (struct entry *e = R.first; e; e = e->next)
		fprintf(m, "point %s\n", e->name);
	read_unlock(s);
	fclose(m);
	fputs(buf, out);
	free(buf);
}
