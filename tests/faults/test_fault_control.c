/* fl-test-labels: concurrency memcheck */
/* fl-test-skip-sim: fifo_end_to_end fifo_in_given_directory */
/* (the control FIFO's thread is a second OS thread; sim refuses to start it) */
/*
 * test_fault_control.c - the control planes: environment variables and the
 * remote-control FIFO, end to end (commands written to the FIFO, replies
 * read back, the point observed firing and stopping).
 */
#include "fl_test.h"

#include <fl/fault.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char ACTIONS[] = "(error, panic, sleep, delay, hang, stuck, slow, drop, dup, oom, "
			      "yield, print, off)";

FL_TEST(env_arms_plan)
{
	setenv("FAULTLINE_FAULTS", "ctl/env=@2 error(inval)", 1);
	setenv("FAULTLINE_SEED", "0x10", 1);
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_init_from_env(&p));
	ASSERT_NOT_NULL(p);
	ASSERT_U64_EQ(fl_fault_plan_seed(p), 16);
	ASSERT_NULL(FL_FAULT(NULL, "ctl/env"));
	fl_err *e = FL_FAULT(NULL, "ctl/env");
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_fault_plan_free(p);
	unsetenv("FAULTLINE_FAULTS");
	ASSERT_NULL(fl_fault_init_from_env(&p));
	ASSERT_NULL(p);
}

FL_TEST(env_reports_parse_errors)
{
	setenv("FAULTLINE_FAULTS", "ctl/env=@1 eror(inval)", 1);
	unsetenv("FAULTLINE_SEED");
	fl_fault_plan *p = (fl_fault_plan *)1;
	fl_err *e = fl_fault_init_from_env(&p);
	ASSERT_NULL(p);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	char buf[512], want[512];
	fl_err_format(e, buf, sizeof(buf));
	snprintf(want, sizeof(want),
		 "FAULTLINE_FAULTS: plan:1:12: in term 'ctl/env=@1 "
		 "eror(inval)': expected action name %s: invalid argument",
		 ACTIONS);
	ASSERT_STR_EQ(buf, want);
	fl_err_drop(e);
	setenv("FAULTLINE_FAULTS", "ctl/env=off", 1);
	setenv("FAULTLINE_SEED", "12abc", 1);
	e = fl_fault_init_from_env(&p);
	fl_err_format(e, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "FAULTLINE_SEED: expected an unsigned decimal or 0x-hex number, got "
			   "'12abc': invalid argument");
	fl_err_drop(e);
	unsetenv("FAULTLINE_FAULTS");
	unsetenv("FAULTLINE_SEED");
}

/* ---- FIFO ------------------------------------------------------------------------- */

/* Reads one reply line (without the newline) from fd, or fails the test
 * after the harness's hang bound. */
static void read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	int timeout_ms = (int)(fl_test_hang_ns() / 1000000);
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		ASSERT_EQ(r, 1);
		char c;
		ASSERT_EQ(read(fd, &c, 1), 1);
		if (c == '\n')
			break;
		ASSERT_LT(n, cap - 1);
		buf[n++] = c;
	}
	buf[n] = '\0';
}

static void send_cmd(int fd, const char *s)
{
	ASSERT_EQ(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void expect_reply(int fd, const char *want)
{
	char line[1024];
	read_line(fd, line, sizeof(line));
	ASSERT_STR_EQ(line, want);
}

static void check_modes(fl_fault_fifo *f)
{
	struct stat st;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", fl_fault_fifo_ctl_path(f));
	*strrchr(dir, '/') = '\0';
	ASSERT_EQ(stat(dir, &st), 0);
	ASSERT(S_ISDIR(st.st_mode));
	ASSERT_EQ(st.st_mode & 0777, 0700);
	ASSERT_EQ(stat(fl_fault_fifo_ctl_path(f), &st), 0);
	ASSERT(S_ISFIFO(st.st_mode));
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(stat(fl_fault_fifo_reply_path(f), &st), 0);
	ASSERT(S_ISFIFO(st.st_mode));
	ASSERT_EQ(st.st_mode & 0777, 0600);
}

/* Arms through the FIFO and checks the point starts firing. */
static void fifo_arm(int wfd, int rfd)
{
	char line[1024];
	send_cmd(wfd, "arm ctl/fifo=@2 error(inval)\n");
	read_line(rfd, line, sizeof(line));
	ASSERT_EQ(strncmp(line, "ok plan ", 8), 0);
	ASSERT_NOT_NULL(strstr(line, " seed 0"));
	ASSERT_NULL(FL_FAULT(NULL, "ctl/fifo"));
	fl_err *e = FL_FAULT(NULL, "ctl/fifo");
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
}

/* "list" answers with the plan, its point, then "ok". */
static void fifo_list(int wfd, int rfd)
{
	char line[1024];
	bool saw_plan = false, saw_point = false;
	send_cmd(wfd, "list\n");
	for (;;) {
		read_line(rfd, line, sizeof(line));
		if (strcmp(line, "ok") == 0)
			break;
		saw_plan |= strstr(line, "global: ctl/fifo=@2 error(inval)") != NULL;
		saw_point |= strstr(line, "point ctl/fifo evals=2 fires=1 error=1") != NULL;
	}
	ASSERT(saw_plan);
	ASSERT(saw_point);
}

/* Bad commands and bad plans get error lines naming the column. */
static void fifo_errors(int wfd, int rfd)
{
	char want[512];
	send_cmd(wfd, "arm ctl/fifo=50%%x(\n");
	snprintf(want, sizeof(want),
		 "error: plan:1:13: in term 'ctl/fifo=50%%%%x(': expected "
		 "action name %s: invalid argument",
		 ACTIONS);
	expect_reply(rfd, want);
	send_cmd(wfd, "  frobnicate now\n");
	expect_reply(rfd,
		     "error: 1:3: unknown command 'frobnicate' (expected arm, disarm or list)");
	send_cmd(wfd, "arm\n");
	expect_reply(rfd, "error: 1:4: expected plan after 'arm'");
	send_cmd(wfd, "\n"); /* blank lines are ignored */
}

FL_TEST(fifo_end_to_end)
{
	fl_fault_fifo *f;
	ASSERT_NULL(fl_fault_fifo_start(NULL, &f));
	check_modes(f);
	char ctl[4096];
	snprintf(ctl, sizeof(ctl), "%s", fl_fault_fifo_ctl_path(f));
	int rfd = open(fl_fault_fifo_reply_path(f), O_RDONLY | O_CLOEXEC);
	int wfd = open(ctl, O_WRONLY | O_CLOEXEC);
	ASSERT_GE(rfd, 0);
	ASSERT_GE(wfd, 0);
	fifo_arm(wfd, rfd);
	fifo_list(wfd, rfd);
	fifo_errors(wfd, rfd);
	ASSERT_NULL(FL_FAULT(NULL, "ctl/fifo")); /* a bad arm keeps the old plan: eval 3 */
	send_cmd(wfd, "disa");                   /* a command split across writes */
	send_cmd(wfd, "rm\n");
	expect_reply(rfd, "ok");
	fl_err *e = FL_FAULT(NULL, "ctl/fifo");
	ASSERT_NULL(e);
	send_cmd(wfd, "disarm\n");
	expect_reply(rfd, "error: nothing armed");
	send_cmd(wfd, "arm ctl/fifo=error(closed)\n"); /* left armed: stop disarms it */
	char line[256];
	read_line(rfd, line, sizeof(line));
	ASSERT_EQ(strncmp(line, "ok plan ", 8), 0);
	close(wfd);
	close(rfd);
	fl_fault_fifo_stop(f);
	ASSERT_NULL(FL_FAULT(NULL, "ctl/fifo"));
	struct stat st;
	ASSERT_NE(stat(ctl, &st), 0);
	*strrchr(ctl, '/') = '\0';
	ASSERT_NE(stat(ctl, &st), 0); /* the directory is gone too */
}

FL_TEST(fifo_in_given_directory)
{
	const char *tmp = getenv("TMPDIR");
	char base[4096];
	snprintf(base, sizeof(base), "%s/fl-fault-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ASSERT_NOT_NULL(mkdtemp(base));
	fl_fault_fifo *f;
	ASSERT_NULL(fl_fault_fifo_start(base, &f));
	ASSERT_EQ(strncmp(fl_fault_fifo_ctl_path(f), base, strlen(base)), 0);
	fl_fault_fifo_stop(f);
	ASSERT_EQ(rmdir(base), 0); /* empty again */
	fl_err *e = fl_fault_fifo_start("/nonexistent/dir", &f);
	ASSERT(fl_err_is(e, FL_ERR_SYSTEM));
	fl_err_drop(e);
}

FL_TEST_MAIN(FL_CASE(env_arms_plan), FL_CASE(env_reports_parse_errors), FL_CASE(fifo_end_to_end),
	     FL_CASE(fifo_in_given_directory))
