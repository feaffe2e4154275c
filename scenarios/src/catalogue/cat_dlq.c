/*
 * cat_dlq.c - a dead-letter queue for poison items (task 16), on
 * fl/retry.h and fl/dlq.h with the poison from the fault injector.
 *
 * 30 items through 4 workers; items 7 and 19 are poison, failing every
 * attempt:
 *
 *     dlq.process=items(7) error(invalid) -> items(19) error(invalid)
 *
 * A worker retries an item 3 times (fl_retry, backoff from 100 us,
 * scaled), recording each failed attempt, then moves it to the DLQ with
 * its attempt history and carries on: the pipeline never fails on poison.
 * After wait the DLQ holds exactly the two poison items, each with 3
 * attempts and the "invalid item" kind; draining it and processing them
 * again (the poison cured: the plan disarmed) delivers them, so every item
 * is delivered once in the end.
 */
#include "cat_internal.h"

#include <fl/check.h>
#include <fl/dlq.h>
#include <fl/fault.h>
#include <fl/retry.h>

#include <stdatomic.h>
#include <string.h>

#define DQ_ITEMS 30
#define DQ_WORKERS 4
#define DQ_ATTEMPTS 3

static const char dq_plan[] = "dlq.process=items(7) error(invalid) -> items(19) error(invalid)";

typedef struct dq_run {
	const fl_scenario_params *p;
	fl_retry_policy policy;
	fl_dlq *q;
	fl_chan *items;                      /* owner -> workers, buffered, closed */
	_Atomic unsigned char got[DQ_ITEMS]; /* times each item was delivered */
	atomic_long delivered;
	atomic_long dead;
} dq_run;

typedef struct dq_call {
	long item;
	fl_dlq_attempt att[DQ_ATTEMPTS];
	int natt;
} dq_call;

static fl_err *dq_process(fl_ctx *ctx, int attempt, void *arg)
{
	dq_call *c = arg;
	enum fl_fault_verdict v;
	fl_err *err = FL_FAULT_ITEM(ctx, "dlq.process", c->item, &v);
	if (err && c->natt < DQ_ATTEMPTS)
		fl_dlq_attempt_set(&c->att[c->natt++], attempt, err);
	return err;
}

static void dq_deliver(dq_run *d, long item)
{
	atomic_fetch_add(&d->got[item], 1);
	atomic_fetch_add(&d->delivered, 1);
}

static fl_err *dq_worker(fl_ctx *ctx, void *arg)
{
	dq_run *d = arg;
	for (;;) {
		long item;
		int st = fl_chan_recv(d->items, &item, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "worker");
		dq_call c = {.item = item};
		fl_err *err = fl_retry(ctx, &d->policy, dq_process, &c, NULL);
		if (!err) {
			dq_deliver(d, item);
			continue;
		}
		/* Poison: to the DLQ with its history; the pipeline goes on. */
		fl_err *perr = fl_dlq_put(d->q, &item, sizeof(item), err, c.att, (size_t)c.natt);
		fl_err_drop(err);
		if (perr)
			return fl_err_wrap(perr, "dead-letter item %ld", item);
		atomic_fetch_add(&d->dead, 1);
	}
}

static fl_err *dq_once(dq_run *d, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_fault_plan *plan = NULL;
	fl_err *env = fl_fault_register_error("invalid", fl_scenario_err_invalid);
	if (!env)
		env = fl_chan_new(sizeof(long), DQ_ITEMS, NULL, &d->items);
	if (env)
		return env;
	for (long i = 0; i < DQ_ITEMS; i++)
		(void)fl_chan_send(d->items, &i, NULL, FL_TRY); /* room for all */
	fl_err_drop(fl_chan_close(d->items));
	if ((env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "dlq"}, &g,
				&ctx))) {
		fl_chan_free(d->items);
		return env;
	}
	if ((env = fl_fault_arm_scoped(dq_plan, d->p->seed, ctx, &plan)))
		fl_group_cancel(g, NULL);
	for (int i = 0; !env && i < DQ_WORKERS; i++)
		if (!fl__scn_go(g, ctx, "worker", dq_worker, d, &env))
			break;
	*err = fl_group_wait(g);
	fl_fault_plan_free(plan);
	fl_group_free(g);
	fl_chan_free(d->items);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

/* Drains the DLQ, checks the entries and delivers their items again. */
static fl_err *dq_recover(const fl_scenario_params *p, fl_scenario_result *r, dq_run *d)
{
	fl_dlq_entry *e = NULL;
	size_t n = 0;
	fl_err *env = fl_dlq_drain(d->q, &e, &n);
	if (env)
		return env;
	int good = 0;
	for (size_t i = 0; i < n; i++) {
		long item = -1;
		if (e[i].item_len == sizeof(item))
			memcpy(&item, e[i].item, sizeof(item));
		good += (item == 7 || item == 19) && e[i].nattempts == DQ_ATTEMPTS &&
			strstr(e[i].kind, "invalid item") != NULL;
		if (item >= 0 && item < DQ_ITEMS)
			dq_deliver(d, item); /* cured: processed again */
	}
	fl_scenario_check(r, "poison items dead-lettered with their attempts", n == 2 && good == 2,
			  (double)n, 2, NULL,
			  "%zu entries, %d with a poison item, %d attempts and its kind", n, good,
			  DQ_ATTEMPTS);
	fl_dlq_entries_free(e, n);
	return NULL;
}

static fl_err *dq_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		static fl_err *const kinds[] = {fl_scenario_err_invalid};
		dq_run d = {.p = p,
			    .policy = {.max_attempts = DQ_ATTEMPTS,
				       .initial_ns = fl__scn_scaled(p, FL_US(100)),
				       .multiplier = 2}};
		fl_err *err = NULL;
		fl_err *env = fl_dlq_new(&(struct fl_dlq_opts){.sentinels = kinds, .nsentinels = 1},
					 &d.q);
		if (!env && !(env = dq_once(&d, &err))) {
			fl_scenario_note_err(r, p, "pipeline", err);
			long delivered = atomic_load(&d.delivered), dead = atomic_load(&d.dead);
			fl_scenario_check(r, "pipeline does not fail on poison", !err, err != NULL,
					  0, NULL, "%s", err ? r->err_text : "wait <nil>");
			fl_check_items items;
			fl_check_items_init(&items);
			fl_check_items_add(&items, FL_ITEM_PRODUCED, DQ_ITEMS);
			fl_check_items_add(&items, FL_ITEM_DONE, delivered);
			fl_check_items_add(&items, FL_ITEM_DEAD_LETTERED, dead);
			fl_check_items_judge(&items, r, "conservation");
			fl_scenario_count(r, "dead_lettered", dead);
			env = dq_recover(p, r, &d);
		}
		if (!env) {
			long once = 0;
			for (int k = 0; k < DQ_ITEMS; k++)
				once += atomic_load(&d.got[k]) == 1;
			fl_scenario_check(r, "every item delivered once after recovery",
					  once == DQ_ITEMS, (double)once, DQ_ITEMS, NULL,
					  "%ld of %d items delivered exactly once", once, DQ_ITEMS);
			fl_scenario_count(r, "items", atomic_load(&d.delivered));
		}
		fl_err_drop(err);
		fl_dlq_free(d.q);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const dq_checks[] = {"pipeline does not fail on poison", "conservation",
					"poison items dead-lettered with their attempts",
					"every item delivered once after recovery", NULL};
const fl_scenario fl__scn_dead_letter = {
	.name = "dead_letter",
	.description = "task 16: poison items fail 3 attempts and go to the DLQ with their "
		       "history; the pipeline goes on; drained, they are recovered",
	.checks = dq_checks,
	.default_iterations = 1,
	.run = dq_scn,
};
