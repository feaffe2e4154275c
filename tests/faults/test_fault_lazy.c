/*
 * test_fault_lazy.c - FAULTLINE_FAULTS in a program that never calls
 * fl_fault_init_from_env: the first fault point arms it (once, under
 * concurrency too), a later init call hands that plan over, the opt-out
 * works, and nothing about it is silent: a plan that does not parse exits 2
 * with one stderr line, a plan set but never armed and a rule that matched
 * no point are reported at exit.
 *
 * Every ctest case is its own process, so a case may set the variable
 * before its first point. Cases about exit statuses and stderr run this
 * binary again as a child (the child_* cases, which are not ctest cases:
 * they are listed in the table but not declared with FL_TEST).
 */
#include "fl_test.h"

#include <fl/chan.h>
#include <fl/fault.h>
#include <fl/group.h>

#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

FL_ERR_SENTINEL(app_transient, "transient");

/* A constructor may register error names: nothing needs initialising. */
__attribute__((constructor)) static void register_names(void)
{
	fl_err *e = fl_fault_register_error("ETRANSIENT", app_transient);
	if (e)
		abort();
}

/* ---- in-process cases --------------------------------------------------------- */

FL_TEST(first_point_arms_env_plan)
{
	setenv("FAULTLINE_FAULTS", "lazy/p=@2 error(ETRANSIENT)", 1);
	setenv("FAULTLINE_SEED", "9", 1);
	ASSERT_NULL(FL_FAULT(NULL, "lazy/p"));
	fl_err *e = FL_FAULT(NULL, "lazy/p");
	ASSERT(fl_err_is(e, app_transient));
	fl_err_drop(e);
	/* init after the fact hands over the lazily armed plan, not a twin */
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_init_from_env(&p));
	ASSERT_NOT_NULL(p);
	ASSERT_U64_EQ(fl_fault_plan_seed(p), 9);
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "lazy/p", &st));
	ASSERT_U64_EQ(st.evals, 2);
	fl_fault_plan_free(p);
	for (int i = 0; i < 3; i++)
		ASSERT_NULL(FL_FAULT(NULL, "lazy/p")); /* nothing else armed */
}

/* main's init(&p) then a library's init(NULL) (the scenario runner's):
 * one plan, not two. */
FL_TEST(init_then_init_null_arms_once)
{
	setenv("FAULTLINE_FAULTS", "lazy/p=error(inval)", 1);
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_init_from_env(&p));
	ASSERT_NOT_NULL(p);
	ASSERT_NULL(fl_fault_init_from_env(NULL));
	fl_err *e = FL_FAULT(NULL, "lazy/p");
	ASSERT(fl_err_is(e, FL_ERR_INVAL)); /* the control: armed */
	fl_err_drop(e);
	fl_fault_plan_free(p);
	ASSERT_NULL(FL_FAULT(NULL, "lazy/p")); /* no twin left */
}

/* Negative controls: the opt-out call, and an unset variable. */
FL_TEST(ignore_and_unset_arm_nothing)
{
	setenv("FAULTLINE_FAULTS", "lazy/p=error(inval)", 1);
	fl_fault_env_ignore();
	ASSERT_NULL(FL_FAULT(NULL, "lazy/p"));
	/* explicit init still works after the opt-out */
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_init_from_env(&p));
	fl_err *e = FL_FAULT(NULL, "lazy/p");
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_fault_plan_free(p);
	ASSERT_NULL(FL_FAULT(NULL, "lazy/p"));
}

/* The opt-out after a point armed the plan disarms it. */
FL_TEST(ignore_disarms_lazy_plan)
{
	setenv("FAULTLINE_FAULTS", "lazy/p=error(inval)", 1);
	fl_err *e = FL_FAULT(NULL, "lazy/p");
	ASSERT(fl_err_is(e, FL_ERR_INVAL)); /* the control: it was armed */
	fl_err_drop(e);
	fl_fault_env_ignore();
	ASSERT_NULL(FL_FAULT(NULL, "lazy/p"));
}

#define RACERS 8

struct race {
	fl_chan *go; /* closed to release every racer at once */
	atomic_int errors;
};

static fl_err *racer(fl_ctx *ctx, void *arg)
{
	struct race *r = arg;
	int x;
	ASSERT_EQ(fl_chan_recv(r->go, &x, ctx, FL_FOREVER), FL_CLOSED);
	fl_err *e = FL_FAULT(ctx, "lazy/race");
	if (fl_err_is(e, FL_ERR_INVAL))
		atomic_fetch_add(&r->errors, 1);
	fl_err_drop(e);
	return NULL;
}

/* RACERS first evaluations at once arm one plan, not RACERS plans. */
FL_TEST(concurrent_first_points_arm_once)
{
	setenv("FAULTLINE_FAULTS", "lazy/race=error(inval)", 1);
	struct race r = {0};
	ASSERT_NULL(fl_chan_new(sizeof(int), 0, NULL, &r.go));
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int i = 0; i < RACERS; i++)
		ASSERT_NULL(fl_group_go(g, racer, &r));
	ASSERT_NULL(fl_chan_close(r.go));
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(r.go);
	ASSERT_EQ(atomic_load(&r.errors), RACERS);
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_init_from_env(&p));
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "lazy/race", &st));
	ASSERT_U64_EQ(st.evals, RACERS); /* one plan saw every evaluation */
	fl_fault_plan_free(p);
	ASSERT_NULL(FL_FAULT(NULL, "lazy/race")); /* and no twin is left */
}

/* ---- child processes ---------------------------------------------------------- */

/* Evaluates lazy/p once (the variable comes from the parent). */
static void test_child_point(void) { fl_err_drop(FL_FAULT(NULL, "lazy/p")); }

/* Evaluates no fault point at all. */
static void test_child_nothing(void) {}

struct outcome {
	int status;     /* exit status, or -1 if killed */
	char err[2048]; /* stderr, without the harness's [ RUN ]/[ OK ] lines */
};

/* Drops the harness's own lines, keeping what the library printed. */
static void keep_library_lines(char *s)
{
	char *w = s;
	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
		if (strncmp(line, "[ ", 2) != 0) {
			memmove(w, line, n);
			w += n;
		}
		line += n;
	}
	*w = '\0';
}

/* Runs this binary's case name with FAULTLINE_FAULTS=plan (unset if NULL). */
static void run_child(const char *name, const char *plan, struct outcome *o)
{
	int fds[2];
	ASSERT_EQ(pipe(fds), 0);
	if (plan)
		setenv("FAULTLINE_FAULTS", plan, 1);
	else
		unsetenv("FAULTLINE_FAULTS");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	char self[] = "test_fault_lazy", arg[64];
	snprintf(arg, sizeof(arg), "%s", name);
	char *argv[] = {self, arg, NULL};
	pid_t pid;
	ASSERT_EQ(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	unsetenv("FAULTLINE_FAULTS");
	close(fds[1]);
	size_t n = 0;
	ssize_t k;
	while ((k = read(fds[0], o->err + n, sizeof(o->err) - 1 - n)) > 0)
		n += (size_t)k;
	o->err[n] = '\0';
	close(fds[0]);
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	keep_library_lines(o->err);
}

FL_TEST(bad_plan_at_first_point_exits_2)
{
	struct outcome o;
	run_child("child_point", "lazy/p=@1 eror(inval)", &o);
	ASSERT_EQ(o.status, 2);
	ASSERT_STR_EQ(o.err,
		      "faultline: FAULTLINE_FAULTS: plan:1:11: in term 'lazy/p=@1 "
		      "eror(inval)': expected action name (error, panic, sleep, delay, hang, "
		      "stuck, slow, drop, dup, oom, yield, print, off): invalid argument (armed "
		      "at the first fault point evaluated, 'lazy/p', since the program did not "
		      "call fl_fault_init_from_env); exiting with status 2\n");
	/* negative control: the same child with a good plan exits 0, quietly */
	run_child("child_point", "lazy/p=@1 error(inval)", &o);
	ASSERT_EQ(o.status, 0);
	ASSERT_STR_EQ(o.err, "");
}

FL_TEST(unknown_error_name_says_the_call)
{
	struct outcome o;
	run_child("child_point", "lazy/p=error(EUNKNOWN)", &o);
	ASSERT_EQ(o.status, 2);
	ASSERT(strstr(o.err, "unknown error name 'EUNKNOWN'"));
	ASSERT(strstr(o.err, "registered before arming with "
			     "fl_fault_register_error(\"EUNKNOWN\", sentinel)"));
	/* the name this binary registers in a constructor is known */
	run_child("child_point", "lazy/p=error(ETRANSIENT)", &o);
	ASSERT_EQ(o.status, 0);
	ASSERT_STR_EQ(o.err, "");
}

FL_TEST(set_but_never_armed_is_reported_at_exit)
{
	struct outcome o;
	run_child("child_nothing", "lazy/p=error(inval)", &o);
	ASSERT_EQ(o.status, 0);
	ASSERT_STR_EQ(o.err, "faultline: FAULTLINE_FAULTS is set but was never armed: this "
			     "process evaluated no fault point and did not call "
			     "fl_fault_init_from_env\n");
	/* negative control: unset, nothing is said */
	run_child("child_nothing", NULL, &o);
	ASSERT_EQ(o.status, 0);
	ASSERT_STR_EQ(o.err, "");
}

FL_TEST(rule_matching_no_point_is_reported_at_exit)
{
	struct outcome o;
	run_child("child_point", "lazy/p=off; lazy/typo=off; **/q=off", &o);
	ASSERT_EQ(o.status, 0);
	ASSERT_STR_EQ(o.err,
		      "faultline: FAULTLINE_FAULTS: rule 'lazy/typo' matched none of the "
		      "fault points this process evaluated\nfaultline: FAULTLINE_FAULTS: rule "
		      "'**/q' matched none of the fault points this process evaluated\n");
	/* negative control: every rule matched */
	run_child("child_point", "lazy/p=off; lazy/*=off", &o);
	ASSERT_STR_EQ(o.err, "faultline: FAULTLINE_FAULTS: rule 'lazy/*' matched none of the "
			     "fault points this process evaluated\n");
	run_child("child_point", "lazy/*=off", &o);
	ASSERT_EQ(o.status, 0);
	ASSERT_STR_EQ(o.err, "");
}

FL_TEST_MAIN(FL_CASE(first_point_arms_env_plan), FL_CASE(init_then_init_null_arms_once),
	     FL_CASE(ignore_and_unset_arm_nothing), FL_CASE(ignore_disarms_lazy_plan),
	     FL_CASE(concurrent_first_points_arm_once), FL_CASE(bad_plan_at_first_point_exits_2),
	     FL_CASE(unknown_error_name_says_the_call),
	     FL_CASE(set_but_never_armed_is_reported_at_exit),
	     FL_CASE(rule_matching_no_point_is_reported_at_exit), FL_CASE(child_point),
	     FL_CASE(child_nothing))
