/*
 * cat_integration.c - the full integration (task 20): tasks 7, 8, 11, 13
 * and 14 in one pipeline.
 *
 * A shop of three tenants, eight orders each. The outer group runs the
 * tenants; a tenant task records its tenant's outcome and returns NULL
 * (task 14: a tenant's failure stays its own). Each tenant runs
 *
 *     source -> parse (nested group of 3 workers, task 7)
 *            -> process: each order's saga "order" (task 11) goes to the
 *               tenant's compartment of a bulkhead (fl/bulkhead.h, limit
 *               4 per tenant, per-item mode, task 14)
 *
 * with every group capturing panics (task 13). A saga's failure is the
 * order's own: the compartment collects it and goes on, and the shop joins
 * it into the tenant's error after the bulkhead's wait (task 8).
 *
 * The plan: tenant a's order 5 fails at ship and is rolled back; tenant b
 * is healthy; tenant c's order 5 is garbage, on which parse panics. The
 * panic is captured and fails tenant c's pipeline (its orders not yet
 * parsed never reach a saga; sagas already handed to the bulkhead finish)
 * while a and b run on. Afterwards every saga the shop started is in a terminal phase, and
 * every order is accounted for: committed, rolled back, failed (the
 * garbage) or cancelled (never reached a saga).
 */
#include "cat_internal.h"

#include <fl/bulkhead.h>

#include <stdio.h>
#include <string.h>

#define SHOP_TENANTS 3
#define SHOP_ORDERS 8
#define SHOP_BAD 5 /* tenant a: ship fails; tenant c: garbage */
#define PARSE_WORKERS 3
#define SAGA_LIMIT 4

enum { ORD_NONE, ORD_COMMITTED, ORD_ROLLED_BACK, ORD_FAILED };

typedef struct shop shop;
typedef struct tenant tenant;

typedef struct order {
	tenant *t;
	int n;        /* 1-based */
	char id[24];  /* the saga id: "a-5" */
	int outcome;  /* its saga task (or the parse worker, for garbage) */
	bool started; /* its saga task: fl_saga_run was called */
} order;

struct tenant {
	shop *s;
	char name[16]; /* "tenant.a" */
	char letter;
	fl_chan *raw;    /* source -> parse: order numbers */
	fl_chan *parsed; /* parse -> process: order numbers */
	order ord[SHOP_ORDERS];
	fl_err *err;  /* the owner: pipeline and order errors, joined */
	int saga_hwm; /* the owner: its compartment's high-water mark */
};

struct shop {
	fl__cat_order o; /* the saga coordinator, shared by all tenants */
	fl_bulkhead *bh; /* the sagas: one compartment per tenant */
	tenant t[SHOP_TENANTS];
};

static fl_err *shop_source(fl_ctx *ctx, void *arg)
{
	tenant *t = arg;
	fl_err *err = NULL;
	for (long n = 1; n <= SHOP_ORDERS && !err; n++) {
		int st = fl_chan_send(t->raw, &n, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "source");
	}
	return fl_err_join2(err, fl_chan_close(t->raw));
}

static fl_err *parse_worker(fl_ctx *ctx, void *arg)
{
	tenant *t = arg;
	for (;;) {
		long n;
		int st = fl_chan_recv(t->raw, &n, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "parse");
		if (t->letter == 'c' && n == SHOP_BAD) {
			t->ord[n - 1].outcome = ORD_FAILED;
			fl_panic("parse: malformed order %c-%ld", t->letter, n); /* the bug */
		}
		if ((st = fl_chan_send(t->parsed, &n, ctx, FL_FOREVER)) != FL_OK)
			return fl__scn_stopped(ctx, st, "parse");
	}
}

/* Task 7: the parse stage fans out to a nested group and closes its output
 * after the nested wait. */
static fl_err *shop_parse(fl_ctx *ctx, void *arg)
{
	tenant *t = arg;
	fl_group *g;
	fl_ctx *gctx;
	fl_err *err =
		fl_group_new(ctx,
			     &(struct fl_group_opts){.name = "parse", .panic = FL_PANIC_CAPTURE},
			     &g, &gctx);
	if (!err) {
		for (int i = 0; i < PARSE_WORKERS; i++)
			if (!fl__scn_go(g, gctx, "parse.worker", parse_worker, t, &err))
				break;
		err = fl_err_join2(err, fl_group_wait(g));
		fl_group_free(g);
	}
	return fl_err_join2(err, fl_chan_close(t->parsed));
}

static fl_err *shop_saga(fl_ctx *ctx, void *arg)
{
	order *o = arg;
	const char *input = o->t->letter == 'a' && o->n == SHOP_BAD ? " fail=3" : "";
	o->started = true;
	fl_err *err = fl_saga_run(o->t->s->o.c, ctx, "order", o->id, input);
	o->outcome = err ? ORD_ROLLED_BACK : ORD_COMMITTED;
	return err; /* task 8: the compartment collects it and goes on */
}

/* Hands each parsed order to the tenant's compartment of the bulkhead
 * (task 14): at most SAGA_LIMIT sagas at once, per tenant. */
static fl_err *shop_process(fl_ctx *ctx, void *arg)
{
	tenant *t = arg;
	char key[2] = {t->letter, '\0'};
	for (;;) {
		long n;
		int st = fl_chan_recv(t->parsed, &n, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "process");
		fl_err *err = fl_bulkhead_go(t->s->bh, ctx, key, shop_saga, &t->ord[n - 1]);
		if (err)
			return fl_err_wrap(err, "process order %c-%ld", t->letter, n);
	}
}

/* Task 14: one tenant's pipeline; its outcome is recorded, never returned. */
static fl_err *shop_tenant(fl_ctx *parent, void *arg)
{
	tenant *t = arg;
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env =
		fl_group_new(parent,
			     &(struct fl_group_opts){.name = t->name, .panic = FL_PANIC_CAPTURE},
			     &g, &ctx);
	if (env)
		return env;
	if (!(env = fl_chan_new(sizeof(long), 0, NULL, &t->raw)) &&
	    !(env = fl_chan_new(sizeof(long), 0, NULL, &t->parsed)) &&
	    fl__scn_go(g, ctx, "source", shop_source, t, &env) &&
	    fl__scn_go(g, ctx, "parse", shop_parse, t, &env))
		fl__scn_go(g, ctx, "process", shop_process, t, &env);
	if (env)
		fl_group_cancel(g, NULL);
	t->err = fl_group_wait(g); /* recorded; the sagas' errors join later */
	fl_group_free(g);
	fl_chan_free(t->raw);
	fl_chan_free(t->parsed);
	return env; /* only an environment failure fails the shop */
}

/* Joins each tenant's compartment result (the collected order errors)
 * into its error, and takes its high-water mark. */
static void shop_collect(shop *s)
{
	const fl_bulkhead_result *res;
	size_t n = fl_bulkhead_results(s->bh, &res);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < SHOP_TENANTS; k++) {
			tenant *t = &s->t[k];
			if (res[i].key[0] != t->letter)
				continue;
			t->saga_hwm = res[i].hwm;
			/* Errors are immutable and counted: a new reference to the
			 * bulkhead's borrowed one outlives its free. */
			t->err = fl_err_join2(t->err, fl_err_ref((fl_err *)res[i].err));
		}
}

static fl_err *shop_once(shop *s, fl_err **outer)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_bulkhead_new(fl_ctx_background(),
				      &(struct fl_bulkhead_opts){.name = "sagas",
								 .limit = SAGA_LIMIT,
								 .per_item = true},
				      &s->bh);
	if (env)
		return env;
	if ((env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "shop"}, &g,
				&ctx))) {
		fl_bulkhead_free(s->bh);
		s->bh = NULL;
		return env;
	}
	for (int i = 0; i < SHOP_TENANTS; i++) {
		tenant *t = &s->t[i];
		t->s = s;
		t->letter = (char)('a' + i);
		snprintf(t->name, sizeof(t->name), "tenant.%c", t->letter);
		for (int k = 0; k < SHOP_ORDERS; k++) {
			t->ord[k] = (order){.t = t, .n = k + 1};
			snprintf(t->ord[k].id, sizeof(t->ord[k].id), "%c-%d", t->letter, k + 1);
		}
		if (!fl__scn_go(g, ctx, t->name, shop_tenant, t, &env))
			break;
	}
	*outer = fl_group_wait(g);
	fl_group_free(g);
	/* The shop's error stays the tenants' own: the bulkhead's joined
	 * result is read per key, unless out of memory lost that table. */
	fl_err *berr = fl_bulkhead_wait(s->bh);
	if (!env && fl_err_is(berr, FL_ERR_NOMEM))
		env = berr;
	else
		fl_err_drop(berr);
	shop_collect(s);
	fl_bulkhead_free(s->bh);
	s->bh = NULL;
	return env;
}

/* Checks on tenant i's error; counts its orders into n[]. */
static void shop_tenant_check(const fl_scenario_params *p, fl_scenario_result *r, tenant *t,
			      long n[4])
{
	long mine[4] = {0};
	for (int k = 0; k < SHOP_ORDERS; k++)
		mine[t->ord[k].outcome]++;
	for (int k = 0; k < 4; k++)
		n[k] += mine[k];
	fl_scenario_note_err(r, p, t->name, t->err);
	char group[16];
	snprintf(group, sizeof(group), "sagas.%c", t->letter);
	fl_scenario_note_group(r, group, SAGA_LIMIT, t->saga_hwm);
	if (t->letter == 'a') {
		bool ok = fl_err_is(t->err, FL_ERR_SAGA_ROLLED_BACK) &&
			  fl_err_is(t->err, fl_scenario_err_unavailable) &&
			  mine[ORD_COMMITTED] == SHOP_ORDERS - 1 && mine[ORD_ROLLED_BACK] == 1;
		fl_scenario_check(r, "per-order errors aggregated", ok, (double)mine[ORD_COMMITTED],
				  SHOP_ORDERS - 1, NULL, "%s; %ld committed, %ld rolled back",
				  t->err ? r->err_text : "<nil>", mine[ORD_COMMITTED],
				  mine[ORD_ROLLED_BACK]);
	} else if (t->letter == 'b') {
		fl_scenario_check(r, "healthy tenant commits every order",
				  !t->err && mine[ORD_COMMITTED] == SHOP_ORDERS,
				  (double)mine[ORD_COMMITTED], SHOP_ORDERS, NULL,
				  "%s; %ld committed", t->err ? r->err_text : "<nil>",
				  mine[ORD_COMMITTED]);
	} else {
		const fl_panic_info *pi = fl_err_as(t->err, &fl_panic_type);
		bool ok = fl_err_is(t->err, FL_ERR_PANIC) && pi &&
			  strcmp(pi->msg, "parse: malformed order c-5") == 0 &&
			  mine[ORD_FAILED] == 1;
		fl_scenario_check(r, "parse panic captured, tenant contained", ok, ok, 1, NULL,
				  "%s", t->err ? r->err_text : "<nil>: the panic was lost");
	}
}

/* Every saga started is committed or rolled back, never left mid-way. */
static fl_err *shop_terminal(fl_scenario_result *r, shop *s)
{
	long started = 0, terminal = 0;
	char bad[64] = "";
	for (int i = 0; i < SHOP_TENANTS; i++)
		for (int k = 0; k < SHOP_ORDERS; k++) {
			order *o = &s->t[i].ord[k];
			if (!o->started)
				continue;
			fl_saga_info info;
			memset(&info, 0, sizeof(info));
			fl_err *env = fl_saga_info_get(s->o.c, o->id, &info);
			if (env)
				return env;
			started++;
			bool ok = strcmp(info.phase, "committed") == 0 ||
				  strcmp(info.phase, "rolled_back") == 0;
			terminal += ok;
			if (!ok && !bad[0])
				snprintf(bad, sizeof(bad), "; %s is %s", o->id, info.phase);
		}
	fl_scenario_check(r, "every saga terminal", started == terminal, (double)terminal,
			  (double)started, NULL, "%ld of %ld sagas committed or rolled back%s",
			  terminal, started, bad);
	return NULL;
}

static fl_err *shop_check(const fl_scenario_params *p, fl_scenario_result *r, shop *s,
			  const fl_err *outer)
{
	char why[200] = "<nil>";
	if (outer)
		fl_err_format(outer, why, sizeof(why));
	fl_scenario_check(r, "outer group sees no error", outer == NULL, outer != NULL, 0, NULL,
			  "outer wait: %s", why);
	long n[4] = {0};
	for (int i = 0; i < SHOP_TENANTS; i++)
		shop_tenant_check(p, r, &s->t[i], n);
	long produced = SHOP_TENANTS * SHOP_ORDERS;
	fl_scenario_check(
		r, "conservation", produced == n[0] + n[1] + n[2] + n[3], (double)produced, NAN,
		NULL, "%ld orders = %ld committed + %ld rolled back + %ld failed + %ld cancelled",
		produced, n[ORD_COMMITTED], n[ORD_ROLLED_BACK], n[ORD_FAILED], n[ORD_NONE]);
	fl_scenario_count(r, "items", n[ORD_COMMITTED]);
	fl_scenario_count(r, "committed", n[ORD_COMMITTED]);
	fl_scenario_count(r, "rolled_back", n[ORD_ROLLED_BACK]);
	fl_scenario_count(r, "failed", n[ORD_FAILED]);
	fl_scenario_count(r, "cancelled", n[ORD_NONE]);
	return shop_terminal(r, s);
}

static fl_err *shop_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static shop s; /* the scenario thread's alone */
	for (int i = 0; i < p->iterations; i++) {
		char dir[4096];
		fl_err *env = fl__cat_tmpdir("shop", dir, sizeof(dir));
		if (env)
			return env;
		memset(&s, 0, sizeof(s));
		s.o.env.dir = dir;
		fl_err *outer = NULL;
		if (!(env = fl__cat_order_open(&s.o)) && !(env = shop_once(&s, &outer)))
			env = shop_check(p, r, &s, outer);
		fl_err_drop(outer);
		for (int k = 0; k < SHOP_TENANTS; k++)
			fl_err_drop(s.t[k].err);
		fl_saga_coord_free(s.o.c);
		fl__cat_rmdir(dir);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const shop_checks[] = {"outer group sees no error",
					  "per-order errors aggregated",
					  "healthy tenant commits every order",
					  "parse panic captured, tenant contained",
					  "conservation",
					  "every saga terminal",
					  NULL};
const fl_scenario fl__scn_integration = {
	.name = "integration",
	.description = "task 20: tenants with bulkheads, fan-out parse, a saga per order, "
		       "collected order errors and a captured parse panic",
	.checks = shop_checks,
	.default_iterations = 1,
	.run = shop_scn,
};
