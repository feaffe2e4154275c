/*
 * spawn.c - W1 spawn and W2 trygo (Go: spawn.go).
 *
 * Timed region: fl_group_new (errgroup.WithContext + SetLimit) .. N times
 * fl_group_go(noop) .. fl_group_wait. fl_group_go blocks at the limit, as
 * errgroup's Go does. W2's loop body is try_go, and on FL_ERR_LIMIT a
 * blocking go; accepted + refused = N is checked. The group is freed after
 * the clock stops (Go leaves it to the collector).
 */
#include "peer_internal.h"

#include <stdio.h>

struct spawn_cfg {
	int64_t n, limit;
	bool try;
};

static fl_err *noop(fl_ctx *ctx, void *arg) { return NULL; }

/* try_go once; true if accepted, false if refused at the limit. */
static bool try_once(fl_group *g)
{
	fl_err *err = fl_group_try_go(g, noop, NULL);
	if (!err)
		return true;
	flb_must(fl_err_is(err, FL_ERR_LIMIT), "trygo: unexpected error");
	fl_err_drop(err);
	return false;
}

static void spawn_run(void *arg, struct flb_metrics *m)
{
	const struct spawn_cfg *c = arg;
	int64_t accepted = 0, refused = 0;
	fl_group *g;
	fl_ctx *ctx;
	int64_t start = flb_clock_ns();
	struct fl_group_opts o = {.limit = (int)c->limit};
	flb_must_ok(fl_group_new(fl_ctx_background(), &o, &g, &ctx), "fl_group_new");
	for (int64_t i = 0; i < c->n; i++) {
		if (c->try) {
			if (try_once(g)) {
				accepted++;
				continue;
			}
			refused++;
		}
		flb_go(g, noop, NULL);
	}
	fl_err *err = fl_group_wait(g);
	int64_t d = flb_clock_ns() - start;
	fl_group_free(g);
	flb_must(err == NULL, "spawn: wait returned an error");
	flb_must(!c->try || accepted + refused == c->n, "trygo: counts %lld+%lld != %lld",
		 (long long)accepted, (long long)refused, (long long)c->n);
	flb_metrics_timing(m, c->n, d);
	if (c->try) {
		flb_metrics_set(m, "accepted", (double)accepted);
		flb_metrics_set(m, "refused", (double)refused);
	}
}

static int spawn_main(const char *name, bool try, int argc, char **argv)
{
	int64_t n = -1, limits[16];
	const char *limit_list = "1,2,8,64";
	struct flb_flag flags[] = {
		{"n", NULL, FLB_INT, &n, "tasks per run"},
		{"limits", "limit", FLB_STR, &limit_list, "limits, one variant each [1,2,8,64]"},
	};
	int runs = flb_setup(name, flags, 2, argc, argv, 3);
	flb_resolve(&n, try ? "trygo.n" : "spawn.n", 1000000);
	size_t nl = flb_int_list(limit_list, limits, 16);
	for (size_t i = 0; i < nl; i++) {
		struct spawn_cfg c = {.n = n, .limit = limits[i], .try = try};
		struct flb_bench b = {.workload = name,
				      .ops = n,
				      .runs = runs,
				      .warmup = 1,
				      .run = spawn_run,
				      .arg = &c};
		flb_json_int(&b.params, "n", n);
		flb_json_int(&b.params, "limit", limits[i]);
		flb_measure(&b);
	}
	return 0;
}

int flb_cmd_spawn(int argc, char **argv) { return spawn_main("spawn", false, argc, argv); }
int flb_cmd_trygo(int argc, char **argv) { return spawn_main("trygo", true, argc, argv); }
