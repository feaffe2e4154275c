/*
 * common.c - what every verb of faultline-bench uses: the program name in
 * messages, printing an error, arming the fault plan of a command line and
 * judging a user load's failures.
 *
 * The program name is process state set once by fl_bench_main (which is
 * not reentrant): "faultline-bench" when run as that program, "faultline
 * bench" when another program (the faultline command, a user's test
 * binary) calls fl_bench_main with the verb "bench" as argv[0].
 *
 * The bottom layer of the command: it calls only the libraries.
 */
#include "cli_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char prog[160] = "faultline-bench";
static char prefix[64]; /* "" or the verb that runs us inside another binary */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

void fl__bench_cli_set_prog(const char *argv0)
{
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[l > 0 ? l : 0] = '\0';
	prefix[0] = '\0';
	if (!argv0 || !*argv0) {
		snprintf(prog, sizeof(prog), "%.150s", l > 0 ? base_name(exe) : "faultline-bench");
		return;
	}
	if (l > 0 && !strchr(argv0, '/') && strcmp(argv0, base_name(exe)) != 0 &&
	    strlen(argv0) < sizeof(prefix)) {
		snprintf(prefix, sizeof(prefix), "%s", argv0);
		snprintf(prog, sizeof(prog), "%.90s %.63s", base_name(exe), prefix);
	} else {
		snprintf(prog, sizeof(prog), "%.150s", base_name(argv0));
	}
}

const char *fl__bench_cli_prog(void) { return prog; }

const char *fl__bench_cli_verb_prefix(void) { return prefix; }

void fl__bench_cli_print_err(const char *what, fl_err *e)
{
	fprintf(stderr, "%s: %s: ", prog, what);
	fl_err_print(stderr, e);
	fl_err_drop(e);
}

fl_err *fl__bench_cli_arm(const fl__bench_cli_opts *o, fl_fault_plan **plan)
{
	*plan = NULL;
	return o->fault_plan ? fl_fault_arm(o->fault_plan, o->load.seed, plan) : NULL;
}

struct fault_sink {
	fl_report *r;
	int64_t warmup_ns;
	fl_err *err;
};

static void add_fault(const fl_fault_event *ev, void *arg)
{
	struct fault_sink *k = arg;
	char what[48];
	if (k->err || ev->since_arm_ns < k->warmup_ns)
		return;
	k->err = fl_report_add_fault_event(k->r, ev->since_arm_ns - k->warmup_ns, ev->point,
					   fl_fault_event_describe(ev, what, sizeof(what)));
}

fl_err *fl__bench_cli_add_faults(fl_report *r, const fl_fault_plan *plan, int64_t warmup_ns)
{
	struct fault_sink k = {r, warmup_ns, NULL};
	if (plan)
		fl_fault_log_foreach(plan, add_fault, &k);
	return k.err;
}

bool fl__bench_cli_failures_over(const fl__bench_cli_opts *o, const fl_bench_result *res)
{
	if (res->failed <= 0)
		return false;
	double frac = res->items > 0 ? (double)res->failed / (double)res->items : 1.0;
	bool over = frac > o->max_failures;
	fprintf(o->text, "failed %lld of %lld requests (%.3g%%, allowed %.3g%%): %s\n",
		(long long)res->failed, (long long)res->items, 100 * frac, 100 * o->max_failures,
		over ? "FAIL" : "within the allowance");
	if (res->first_failure) {
		fputs("first failure: ", o->text);
		fl_err_print(o->text, res->first_failure);
	}
	return over;
}
