/* fl-test-labels: nosim */
/* nosim: the control FIFO runs a second OS thread, which sim refuses. */
/*
 * test_fault_fifo_stale.c - control-FIFO directories left by a SIGKILLed
 * process are removed by the next start, and never those of a live one.
 *
 * The test re-executes itself as a child (--fifo-child BASE) that starts a
 * control FIFO under BASE, prints its directory and waits for its stdin to
 * close. One child is SIGKILLed (its directory stays: the negative
 * control), one stays alive; a start in the parent must then remove the
 * first directory and keep the second, and keep lookalikes it must not
 * touch (a dead owner's directory with a foreign file in it, a name
 * without a pid).
 */
#include <fl/fault.h>

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl_test.h"

extern char **environ;
static const char *g_self;

static int child_main(const char *base)
{
	fl_fault_fifo *f;
	fl_err *e = fl_fault_fifo_start(base, &f);
	if (e) {
		fl_err_print(stderr, e);
		fl_err_drop(e);
		return 1;
	}
	const char *ctl = fl_fault_fifo_ctl_path(f);
	printf("%.*s\n", (int)(strrchr(ctl, '/') - ctl), ctl);
	fflush(stdout);
	char b;
	while (read(0, &b, 1) > 0)
		;
	fl_fault_fifo_stop(f);
	return 0;
}

struct child {
	pid_t pid;
	int in, out; /* its stdin (our write end), its stdout (our read end) */
	char dir[600];
};

static void spawn_child(const char *base, struct child *c)
{
	int in[2], out[2];
	ASSERT_EQ(pipe(in), 0);
	ASSERT_EQ(pipe(out), 0);
	posix_spawn_file_actions_t fa;
	ASSERT_EQ(posix_spawn_file_actions_init(&fa), 0);
	ASSERT_EQ(posix_spawn_file_actions_adddup2(&fa, in[0], 0), 0);
	ASSERT_EQ(posix_spawn_file_actions_adddup2(&fa, out[1], 1), 0);
	ASSERT_EQ(posix_spawn_file_actions_addclose(&fa, in[1]), 0);
	ASSERT_EQ(posix_spawn_file_actions_addclose(&fa, out[0]), 0);
	char *argv[] = {(char *)g_self, (char *)"--fifo-child", (char *)base, NULL};
	ASSERT_EQ(posix_spawn(&c->pid, g_self, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	size_t n = 0;
	char ch;
	while (read(c->out, &ch, 1) == 1 && ch != '\n') /* its directory, once made */
		if (n + 1 < sizeof c->dir)
			c->dir[n++] = ch;
	c->dir[n] = 0;
	ASSERT_GT(n, 0);
}

static int wait_child(struct child *c)
{
	int st;
	ASSERT_EQ(waitpid(c->pid, &st, 0), c->pid);
	close(c->in);
	close(c->out);
	return st;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

FL_TEST(killed_owner_dir_removed_live_owner_dir_kept)
{
	const char *tmp = getenv("TMPDIR");
	char base[512], p[800], decoy[700], odd[700];
	snprintf(base, sizeof base, "%s/fl-fifo-stale-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ASSERT_NOT_NULL(mkdtemp(base));

	struct child dead, live;
	spawn_child(base, &dead);
	ASSERT_EQ(kill(dead.pid, SIGKILL), 0);
	int st = wait_child(&dead);
	ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ASSERT(is_dir(dead.dir)); /* the kill left it behind */
	snprintf(p, sizeof p, "%s/faultline-%ld-", base, (long)dead.pid);
	ASSERT(strncmp(dead.dir, p, strlen(p)) == 0);

	spawn_child(base, &live);
	/* Lookalikes: a dead owner's directory holding a file of someone
	 * else's, and a name that carries no pid. */
	snprintf(decoy, sizeof decoy, "%s/faultline-%ld-zzzzzz", base, (long)dead.pid);
	ASSERT_EQ(mkdir(decoy, 0700), 0);
	snprintf(p, sizeof p, "%s/keep", decoy);
	FILE *k = fopen(p, "w");
	ASSERT_NOT_NULL(k);
	fclose(k);
	snprintf(odd, sizeof odd, "%s/faultline-abcdef", base);
	ASSERT_EQ(mkdir(odd, 0700), 0);

	fl_fault_fifo *f;
	ASSERT_NULL(fl_fault_fifo_start(base, &f));
	if (is_dir(dead.dir))
		FL_FAIL("%s of a killed process is still there", dead.dir);
	ASSERT(is_dir(live.dir));
	ASSERT(is_dir(decoy));
	ASSERT(is_dir(p) == false && access(p, F_OK) == 0);
	ASSERT(is_dir(odd));
	snprintf(p, sizeof p, "%s/faultline-%ld-", base, (long)getpid());
	ASSERT(strncmp(fl_fault_fifo_ctl_path(f), p, strlen(p)) == 0);

	close(live.in); /* the live child stops its FIFO and removes it itself */
	st = wait_child(&live);
	ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ASSERT(!is_dir(live.dir));
	fl_fault_fifo_stop(f);

	snprintf(p, sizeof p, "%s/keep", decoy);
	ASSERT_EQ(unlink(p), 0);
	ASSERT_EQ(rmdir(decoy), 0);
	ASSERT_EQ(rmdir(odd), 0);
	ASSERT_EQ(rmdir(base), 0); /* nothing else was left */
}

static const fl_test_case cases[] = {FL_CASE(killed_owner_dir_removed_live_owner_dir_kept), {0, 0}};

int main(int argc, char **argv)
{
	g_self = argv[0];
	if (argc == 3 && strcmp(argv[1], "--fifo-child") == 0)
		return child_main(argv[2]);
	return fl_test_main(argc, argv, cases);
}
