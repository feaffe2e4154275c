/* fl-test-labels: concurrency memcheck */
/*
 * Bulkheads: a tenant's failure cancels only that tenant; a slow tenant
 * fills only its own slots (try_go sheds, others keep running); admission
 * waits end on cancellation (the caller's context or the bulkhead's);
 * per-item mode keeps going and collects every error; per-key results and
 * counts; limits respected under concurrency; misuse and bad input.
 *
 * Ordering comes from channels and the task dump (a task parked on a
 * compartment's semaphore), never from sleeping.
 */
#include <fl/bulkhead.h>
#include <fl/chan.h>

#include <stdatomic.h>

#include "resil_util.h"

FL_ERR_SENTINEL(test_tenant_fail, "tenant failed");

/* A task that blocks until its context ends, and says so. */
typedef struct hold {
	sem entered;
	atomic_int cancelled;
} hold;

static fl_err *hold_task(fl_ctx *ctx, void *arg)
{
	hold *h = arg;
	sem_post_(&h->entered);
	fl_ctx_wait(ctx, FL_FOREVER);
	atomic_fetch_add(&h->cancelled, 1);
	return fl_ctx_cause(ctx);
}

static fl_err *fail_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return fl_err_wrap(test_tenant_fail, "job");
}

/* Tenant b's tasks: wait for a go signal, then report whether their
 * context was still live. */
typedef struct gate {
	fl_chan *go;
	atomic_int live;
} gate;

static fl_err *gated_task(fl_ctx *ctx, void *arg)
{
	gate *g = arg;
	char c;
	ASSERT_EQ(fl_chan_recv(g->go, &c, ctx, FL_FOREVER), FL_OK);
	if (!fl_ctx_done(ctx))
		atomic_fetch_add(&g->live, 1);
	return NULL;
}

static const fl_bulkhead_result *result_of(fl_bulkhead *b, const char *key)
{
	const fl_bulkhead_result *r;
	size_t n = fl_bulkhead_results(b, &r);
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].key, key) == 0)
			return &r[i];
	FL_FAIL("no result for key %s", key);
}

FL_TEST(failure_is_contained_to_its_tenant)
{
	baseline();
	fl_bulkhead *b;
	check(fl_bulkhead_new(fl_ctx_background(), &(struct fl_bulkhead_opts){.limit = 4}, &b));
	hold h = {0};
	sem_init_(&h.entered);
	gate gb = {0};
	check(fl_chan_new(1, 3, NULL, &gb.go));
	for (int i = 0; i < 3; i++)
		check(fl_bulkhead_go(b, NULL, "b", gated_task, &gb));
	check(fl_bulkhead_go(b, NULL, "a", hold_task, &h));
	sem_wait_(&h.entered);
	check(fl_bulkhead_go(b, NULL, "a", fail_task, NULL));
	/* a's failure cancels a's other task ... */
	int64_t give_up = hang_deadline();
	while (atomic_load(&h.cancelled) == 0) {
		ASSERT_LT(fl_now(), give_up);
		fl_yield();
	}
	/* ... but b's tasks still run with live contexts. */
	char c = 1;
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(fl_chan_send(gb.go, &c, NULL, FL_FOREVER), FL_OK);
	fl_err *e = fl_bulkhead_wait(b);
	ASSERT(fl_err_is(e, test_tenant_fail));
	ASSERT_STR_EQ(err_text(e), "tenant 'a': job: tenant failed");
	fl_err_drop(e);
	ASSERT_EQ(atomic_load(&gb.live), 3);
	const fl_bulkhead_result *ra = result_of(b, "a"), *rb = result_of(b, "b");
	ASSERT(fl_err_is(ra->err, test_tenant_fail));
	ASSERT_EQ(ra->started, 2);
	ASSERT_EQ(ra->failed, 2); /* the failure and the cancelled sibling */
	ASSERT_NULL(rb->err);
	ASSERT_EQ(rb->started, 3);
	ASSERT_EQ(rb->succeeded, 3);
	fl_bulkhead_free(b);
	fl_chan_free(gb.go);
	sem_destroy_(&h.entered);
	assert_baseline();
}

static fl_err *quick_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	atomic_fetch_add((atomic_int *)arg, 1);
	fl_yield();
	return NULL;
}

FL_TEST(slow_tenant_does_not_starve_others)
{
	baseline();
	fl_bulkhead *b;
	check(fl_bulkhead_new(fl_ctx_background(), &(struct fl_bulkhead_opts){.limit = 2}, &b));
	hold h = {0};
	sem_init_(&h.entered);
	check(fl_bulkhead_try_go(b, "slow", hold_task, &h));
	check(fl_bulkhead_try_go(b, "slow", hold_task, &h));
	sem_wait_(&h.entered);
	sem_wait_(&h.entered);
	/* The slow tenant is full: shed, not queued. */
	fl_err *e = fl_bulkhead_try_go(b, "slow", hold_task, &h);
	ASSERT(fl_err_is(e, FL_ERR_LIMIT));
	ASSERT_STR_EQ(err_text(e), "bulkhead 'bulkhead': tenant 'slow' full: limit reached");
	fl_err_drop(e);
	/* The fast tenant gets all its work done meanwhile. */
	atomic_int done = 0;
	for (int i = 0; i < 50; i++)
		check(fl_bulkhead_go(b, NULL, "fast", quick_task, &done));
	int64_t give_up = hang_deadline();
	while (atomic_load(&done) < 50) {
		ASSERT_LT(fl_now(), give_up);
		fl_yield();
	}
	ASSERT_EQ(atomic_load(&h.cancelled), 0); /* slow is still stuck */
	fl_bulkhead_cancel(b, NULL);
	fl_err *w = fl_bulkhead_wait(b);
	ASSERT(fl_err_is(w, FL_ERR_CANCELED));
	fl_err_drop(w);
	const fl_bulkhead_result *rs = result_of(b, "slow"), *rf = result_of(b, "fast");
	ASSERT_EQ(rs->started, 2);
	ASSERT_EQ(rs->rejected, 1);
	ASSERT_EQ(rs->hwm, 2); /* it refused while full: every slot was held */
	ASSERT_EQ(rf->succeeded, 50);
	ASSERT_LE(rf->hwm, 2);
	ASSERT_NULL(rf->err);
	fl_bulkhead_free(b);
	sem_destroy_(&h.entered);
	assert_baseline();
}

typedef struct dispatcher {
	fl_bulkhead *b;
	hold *h;
	fl_ctx *wait_ctx; /* NULL: the compartment's */
	fl_err *result;
} dispatcher;

static fl_err *dispatch_task(fl_ctx *ctx, void *arg)
{
	dispatcher *d = arg;
	(void)ctx;
	d->result = fl_bulkhead_go(d->b, d->wait_ctx, "t", hold_task, d->h);
	return NULL;
}

static void admission_case(bool own_ctx)
{
	baseline();
	fl_bulkhead *b;
	check(fl_bulkhead_new(fl_ctx_background(), &(struct fl_bulkhead_opts){.limit = 1}, &b));
	hold h = {0};
	sem_init_(&h.entered);
	check(fl_bulkhead_go(b, NULL, "t", hold_task, &h));
	sem_wait_(&h.entered);
	dispatcher d = {.b = b, .h = &h};
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	if (own_ctx)
		d.wait_ctx = gctx;
	check(fl_group_go_named(g, "dispatcher", dispatch_task, &d));
	wait_dump("chan send on 'bulkhead/t'"); /* parked on admission */
	if (own_ctx)
		fl_group_cancel(g, test_tenant_fail);
	else
		fl_bulkhead_cancel(b, test_tenant_fail);
	check(fl_group_wait(g));
	ASSERT(fl_err_is(d.result, FL_ERR_CANCELED));
	ASSERT(fl_err_is(d.result, test_tenant_fail));
	fl_err_drop(d.result);
	fl_group_free(g);
	fl_bulkhead_free(b); /* cancels and joins the held task */
	ASSERT_EQ(atomic_load(&h.cancelled), 1);
	sem_destroy_(&h.entered);
	assert_baseline();
}

FL_TEST(cancel_during_admission)
{
	admission_case(true);
	admission_case(false);
}

static fl_err *item_task(fl_ctx *ctx, void *arg)
{
	(void)arg;
	return FL_FAULT(ctx, "bulk/item");
}

FL_TEST(per_item_mode_collects_and_continues)
{
	baseline();
	ASSERT_NULL(fl_fault_register_error("ETENANT", test_tenant_fail));
	fl_fault_plan *plan = arm_plan("bulk/item=every(2) error(ETENANT)");
	fl_bulkhead *b;
	check(fl_bulkhead_new(fl_ctx_background(),
			      &(struct fl_bulkhead_opts){.limit = 1, .per_item = true}, &b));
	for (int i = 0; i < 6; i++)
		check(fl_bulkhead_go(b, NULL, "t", item_task, NULL));
	fl_err *e = fl_bulkhead_wait(b);
	const fl_bulkhead_result *r = result_of(b, "t");
	ASSERT(fl_err_is(e, test_tenant_fail));
	ASSERT_EQ(fl_err_join_len(r->err), 3);
	ASSERT_EQ(r->started, 6);
	ASSERT_EQ(r->succeeded, 3);
	ASSERT_EQ(r->failed, 3);
	fl_err_drop(e);
	fl_bulkhead_free(b);
	fl_fault_plan_free(plan);
	assert_baseline();
}

/* Tasks that record the running count; the limit holds per key. */
typedef struct meter {
	atomic_int running, peak;
} meter;

static fl_err *metered_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	meter *m = arg;
	int now = atomic_fetch_add(&m->running, 1) + 1;
	int p = atomic_load(&m->peak);
	while (now > p && !atomic_compare_exchange_weak(&m->peak, &p, now))
		;
	for (int i = 0; i < 5; i++)
		fl_yield();
	atomic_fetch_sub(&m->running, 1);
	return NULL;
}

typedef struct producer {
	fl_bulkhead *b;
	meter *m;
	const char *key;
} producer;

static fl_err *producer_task(fl_ctx *ctx, void *arg)
{
	producer *p = arg;
	for (int i = 0; i < 40; i++) {
		fl_err *e = fl_bulkhead_go(p->b, ctx, p->key, metered_task, p->m);
		if (e)
			return e;
	}
	return NULL;
}

FL_TEST(limit_holds_per_key_under_concurrency)
{
	baseline();
	fl_bulkhead *b;
	check(fl_bulkhead_new(fl_ctx_background(), &(struct fl_bulkhead_opts){.limit = 3}, &b));
	meter m[2] = {0};
	producer args[2] = {{b, &m[0], "x"}, {b, &m[1], "y"}};
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int i = 0; i < 2; i++) {
		check(fl_group_go(g, producer_task, &args[i]));
		check(fl_group_go(g, producer_task, &args[i]));
	}
	check(fl_group_wait(g));
	fl_group_free(g);
	check(fl_bulkhead_wait(b));
	for (int k = 0; k < 2; k++) {
		ASSERT_LE(atomic_load(&m[k].peak), 3);
		const fl_bulkhead_result *r = result_of(b, k ? "y" : "x");
		ASSERT_EQ(r->succeeded, 80);
		ASSERT_LE(r->hwm, 3);
	}
	fl_bulkhead_free(b);
	assert_baseline();
}

FL_TEST(misuse_limits_and_bad_input)
{
	baseline();
	fl_bulkhead *b = NULL;
	ASSERT(fl_bulkhead_new(NULL, NULL, &b) == FL_ERR_INVAL);
	ASSERT(fl_bulkhead_new(fl_ctx_background(), &(struct fl_bulkhead_opts){.limit = -1}, &b) ==
	       FL_ERR_INVAL);
	ASSERT_NULL(b);
	check(fl_bulkhead_new(fl_ctx_background(), &(struct fl_bulkhead_opts){.max_keys = 1}, &b));
	atomic_int n = 0;
	check(fl_bulkhead_go(b, NULL, "one", quick_task, &n));
	fl_err *e = fl_bulkhead_go(b, NULL, "two", quick_task, &n);
	ASSERT(fl_err_is(e, FL_ERR_LIMIT));
	fl_err_drop(e);
	ASSERT(fl_bulkhead_go(b, NULL, NULL, quick_task, &n) == FL_ERR_INVAL);
	check(fl_bulkhead_wait(b));
	check(fl_bulkhead_wait(b)); /* again: same result */
	e = fl_bulkhead_go(b, NULL, "one", quick_task, &n);
	ASSERT(fl_err_is(e, FL_ERR_MISUSE));
	fl_err_drop(e);
	const fl_bulkhead_result *r;
	ASSERT_EQ(fl_bulkhead_results(b, &r), 1);
	ASSERT_EQ(atomic_load(&n), 1);
	fl_bulkhead_free(b);
	/* Freed without wait: cancels and joins. */
	hold h = {0};
	sem_init_(&h.entered);
	check(fl_bulkhead_new(fl_ctx_background(), NULL, &b));
	check(fl_bulkhead_go(b, NULL, "k", hold_task, &h));
	sem_wait_(&h.entered);
	fl_bulkhead_free(b);
	ASSERT_EQ(atomic_load(&h.cancelled), 1);
	sem_destroy_(&h.entered);
	assert_baseline();
}

static fl_err *panic_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	fl_panic("tenant task blew up");
}

/* With panic = FL_PANIC_CAPTURE a panic fails its own compartment (even in
 * per-item mode), gives its slot back, and leaves the others running. */
FL_TEST(captured_panic_fails_its_tenant_only)
{
	baseline();
	fl_bulkhead *b;
	check(fl_bulkhead_new(fl_ctx_background(),
			      &(struct fl_bulkhead_opts){.limit = 1,
							 .per_item = true,
							 .panic = FL_PANIC_CAPTURE},
			      &b));
	atomic_int done = 0;
	check(fl_bulkhead_go(b, NULL, "a", panic_task, NULL));
	for (int i = 0; i < 5; i++)
		check(fl_bulkhead_go(b, NULL, "b", quick_task, &done));
	/* a's only slot comes back once the panic has unwound: this waits for
	 * it (it would wait forever for a lost slot), then finds a cancelled */
	fl_err *e = fl_bulkhead_go(b, fl_ctx_background(), "a", quick_task, &done);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	ASSERT(fl_err_is(e, FL_ERR_PANIC));
	fl_err_drop(e);
	e = fl_bulkhead_wait(b);
	ASSERT(fl_err_is(e, FL_ERR_PANIC));
	ASSERT_EQ(fl_err_join_len(e), 0);
	if (!strstr(err_text(e), "tenant 'a'") || !strstr(err_text(e), "blew up"))
		FL_FAIL("wait: %s", err_text(e));
	fl_err_drop(e);
	const fl_bulkhead_result *ra = result_of(b, "a"), *rb = result_of(b, "b");
	ASSERT_EQ(ra->started, 1);
	ASSERT_EQ(ra->failed, 1);
	ASSERT_EQ(ra->hwm, 1);
	ASSERT_NULL(rb->err);
	ASSERT_EQ(rb->succeeded, 5);
	ASSERT_EQ(atomic_load(&done), 5);
	fl_bulkhead_free(b);
	b = NULL;
	ASSERT(fl_bulkhead_new(fl_ctx_background(), &(struct fl_bulkhead_opts){.panic = 7}, &b) ==
	       FL_ERR_INVAL);
	ASSERT_NULL(b);
	assert_baseline();
}

FL_TEST_MAIN(FL_CASE(failure_is_contained_to_its_tenant),
	     FL_CASE(slow_tenant_does_not_starve_others), FL_CASE(cancel_during_admission),
	     FL_CASE(per_item_mode_collects_and_continues),
	     FL_CASE(limit_holds_per_key_under_concurrency), FL_CASE(misuse_limits_and_bad_input),
	     FL_CASE(captured_panic_fails_its_tenant_only))
