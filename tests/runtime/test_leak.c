/*
 * Leak scopes (fl/leak.h): a planted leak of each kind is named (tasks with
 * their group and wait, channels, contexts, groups, threads, descriptors
 * with their target, heap bytes), the same scope passes once the plant is
 * cleaned up (the negative control of every case), and two scopes current
 * side by side blame only their own objects.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/leak.h>
#include <fl/task.h>

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fl_test.h"

static void check(fl_err *err)
{
	if (err) {
		fl_err_print(stderr, err);
		FL_FAIL("unexpected error");
	}
}

/* The leak error's text (dropped), or FL_FAIL when there was none. */
static void leak_text(fl_err *err, char *buf, size_t cap)
{
	if (!err)
		FL_FAIL("expected a leak error, got none");
	fl_err_format(err, buf, cap);
	fl_err_drop(err);
}

#define ASSERT_HAS(text, needle)                                         \
	do {                                                             \
		if (!strstr((text), (needle)))                           \
			FL_FAIL("\"%s\" not in:\n%s", (needle), (text)); \
	} while (0)
#define ASSERT_HAS_NOT(text, needle)                                              \
	do {                                                                      \
		if (strstr((text), (needle)))                                     \
			FL_FAIL("\"%s\" unexpectedly in:\n%s", (needle), (text)); \
	} while (0)

static const fl_leak_opts one_look_objects = {.settle_ns = -1,
					      .skip = FL_LEAK_THREADS | FL_LEAK_FDS | FL_LEAK_HEAP};

FL_TEST(invalid_arguments)
{
	fl_err *e = fl_leak_baseline("x", NULL);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	e = fl_leak_verify_none(NULL, NULL);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_leak_scope_free(NULL);
}

FL_TEST(clean_scope_passes)
{
	fl_leak_scope *s;
	check(fl_leak_baseline("clean", &s));
	fl_chan *c;
	check(fl_chan_new(sizeof(int), 1, &(struct fl_chan_opts){.name = "tmp"}, &c));
	fl_chan_free(c);
	check(fl_leak_verify_none(s, NULL));
	fl_leak_scope_free(s);
}

/* Objects made before the baseline, or after the scope ended, are not its
 * own; the control: one made while it is current is. */
FL_TEST(only_objects_made_while_current_are_blamed)
{
	fl_chan *before, *during, *after;
	check(fl_chan_new(sizeof(int), 1, &(struct fl_chan_opts){.name = "before"}, &before));
	fl_leak_scope *s;
	check(fl_leak_baseline("window", &s));
	check(fl_leak_verify_none(s, &one_look_objects));
	check(fl_chan_new(sizeof(int), 1, &(struct fl_chan_opts){.name = "during"}, &during));
	char text[1024];
	leak_text(fl_leak_verify_none(s, &one_look_objects), text, sizeof(text));
	ASSERT_HAS(text, "chan 'during'");
	ASSERT_HAS_NOT(text, "before");
	fl_leak_scope_free(s);
	check(fl_chan_new(sizeof(int), 1, &(struct fl_chan_opts){.name = "after"}, &after));
	fl_chan_free(before);
	fl_chan_free(during); /* its record outlived the scope's handle */
	fl_chan_free(after);
}

/* ---- a leaked OS thread --------------------------------------------------- */

static sem_t thr_ready, thr_release;

static void *leaky_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "leaky-thr");
	sem_post(&thr_ready);
	while (sem_wait(&thr_release) != 0)
		;
	return NULL;
}

FL_TEST(leaked_thread_is_named)
{
	const fl_leak_opts o = {.settle_ns = FL_MS(20), .skip = FL_LEAK_FDS | FL_LEAK_HEAP};
	fl_leak_scope *s;
	check(fl_leak_baseline("threads", &s));
	sem_init(&thr_ready, 0, 0);
	sem_init(&thr_release, 0, 0);
	pthread_t th;
	ASSERT_EQ(pthread_create(&th, NULL, leaky_thread, NULL), 0);
	while (sem_wait(&thr_ready) != 0)
		;
	char text[1024];
	leak_text(fl_leak_verify_none(s, &o), text, sizeof(text));
	ASSERT_HAS(text, "leak scope 'threads'");
	ASSERT_HAS(text, "thread ");
	ASSERT_HAS(text, "'leaky-thr'");
	/* Ignored by name prefix: not a leak. */
	const char *const ign[] = {"leaky-", NULL};
	fl_leak_opts oi = o;
	oi.ignore_threads = ign;
	check(fl_leak_verify_none(s, &oi));
	sem_post(&thr_release);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	check(fl_leak_verify_none(s, &o)); /* joined: clean */
	sem_destroy(&thr_ready);
	sem_destroy(&thr_release);
	fl_leak_scope_free(s);
}

/* ---- a leaked descriptor ------------------------------------------------ */

FL_TEST(leaked_fd_is_named_with_its_target)
{
	const fl_leak_opts o = {.settle_ns = FL_MS(20), .skip = FL_LEAK_THREADS | FL_LEAK_HEAP};
	fl_leak_scope *s;
	check(fl_leak_baseline("fds", &s));
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	char text[1024], want[64];
	leak_text(fl_leak_verify_none(s, &o), text, sizeof(text));
	snprintf(want, sizeof(want), "fd %d -> /dev/null", fd);
	ASSERT_HAS(text, want);
	snprintf(want, sizeof(want), "fd %d -> socket:[", sv[0]);
	ASSERT_HAS(text, want);
	close(fd);
	close(sv[0]);
	close(sv[1]);
	check(fl_leak_verify_none(s, &o));
	fl_leak_scope_free(s);
}

/* ---- leaked heap bytes ---------------------------------------------------- */

FL_TEST(leaked_heap_bytes_are_counted)
{
	const char *src;
	int64_t h = fl_leak_heap_bytes(&src);
	if (h < 0) { /* valgrind: no allocator statistics to read */
		ASSERT_STR_EQ(src, "none");
		return;
	}
	const fl_leak_opts o = {.settle_ns = FL_MS(20), .skip = FL_LEAK_THREADS | FL_LEAK_FDS};
	fl_leak_scope *s;
	check(fl_leak_baseline("heap", &s));
	char *p = malloc(1 << 20);
	ASSERT_NOT_NULL(p);
	memset(p, 1, 1 << 20);
	char text[1024];
	leak_text(fl_leak_verify_none(s, &o), text, sizeof(text));
	ASSERT_HAS(text, "heap +");
	ASSERT_HAS(text, src);
	free(p);
	check(fl_leak_verify_none(s, &o));
	fl_leak_scope_free(s);
}

/* ---- leaked runtime objects ----------------------------------------------- */

static fl_err *recv_one(fl_ctx *ctx, void *arg)
{
	int v;
	(void)fl_chan_recv(arg, &v, ctx, FL_FOREVER);
	return NULL;
}

/* Waits (yielding) until a task named name is blocked receiving. */
static void await_recv(const char *name)
{
	for (;;) {
		fl_task_state st[64];
		size_t n = fl_task_states(st, 64);
		for (size_t i = 0; i < n && i < 64; i++)
			if (strcmp(st[i].name, name) == 0 && st[i].wait == FL_TASK_CHAN_RECV)
				return;
		fl_yield();
	}
}

FL_TEST(leaked_objects_are_named_with_their_creator)
{
	fl_leak_scope *s;
	check(fl_leak_baseline("objects", &s));
	char creator[80];
	snprintf(creator, sizeof(creator), "created by '%s'", fl_task_name());
	fl_chan *c;
	check(fl_chan_new(sizeof(int), 0, &(struct fl_chan_opts){.name = "leak-chan"}, &c));
	fl_ctx *ctx, *gctx;
	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_group *g;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "g-leak"}, &g,
			   &gctx));
	check(fl_group_go_named(g, "leaky-task", recv_one, c));
	await_recv("leaky-task");
	char text[2048];
	leak_text(fl_leak_verify_none(s, &one_look_objects), text, sizeof(text));
	ASSERT_HAS(text, "task 'leaky-task' (group 'g-leak') ");
	ASSERT_HAS(text, "[chan recv on 'leak-chan']");
	ASSERT_HAS(text, "chan 'leak-chan' created by");
	ASSERT_HAS(text, "group 'g-leak' created by");
	ASSERT_HAS(text, "ctx 'ctx' created by");
	ASSERT_HAS(text, creator);
	check(fl_chan_close(c));
	check(fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(c);
	fl_ctx_free(ctx);
	check(fl_leak_verify_none(s, &one_look_objects));
	fl_leak_scope_free(s);
}

/* ---- two scopes side by side --------------------------------------------- */

struct pair {
	fl_chan *a_live, *b_checked, *a_done; /* hand-offs, created outside both scopes */
};

static fl_err *scope_a(fl_ctx *ctx, void *arg)
{
	struct pair *p = arg;
	fl_leak_scope *s;
	check(fl_leak_baseline("A", &s));
	fl_chan *c;
	check(fl_chan_new(sizeof(int), 0, &(struct fl_chan_opts){.name = "a-chan"}, &c));
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(ctx, &(struct fl_group_opts){.name = "a-grp"}, &g, &gctx));
	check(fl_group_go_named(g, "a-child", recv_one, c));
	await_recv("a-child");
	int one = 1;
	ASSERT_EQ(fl_chan_send(p->a_live, &one, NULL, FL_FOREVER), FL_OK);
	ASSERT_EQ(fl_chan_recv(p->b_checked, &one, NULL, FL_FOREVER), FL_OK);
	char text[2048];
	leak_text(fl_leak_verify_none(s, &one_look_objects), text, sizeof(text));
	ASSERT_HAS(text, "chan 'a-chan'");
	ASSERT_HAS(text, "task 'a-child' (group 'a-grp')");
	ASSERT_HAS_NOT(text, "b-");
	check(fl_chan_close(c));
	check(fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(c);
	check(fl_leak_verify_none(s, &one_look_objects));
	fl_leak_scope_free(s);
	ASSERT_EQ(fl_chan_send(p->a_done, &one, NULL, FL_FOREVER), FL_OK);
	return NULL;
}

static fl_err *scope_b(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	struct pair *p = arg;
	fl_leak_scope *s;
	check(fl_leak_baseline("B", &s));
	fl_chan *kept;
	check(fl_chan_new(sizeof(int), 1, &(struct fl_chan_opts){.name = "b-kept"}, &kept));
	int v;
	ASSERT_EQ(fl_chan_recv(p->a_live, &v, NULL, FL_FOREVER), FL_OK);
	char text[2048];
	leak_text(fl_leak_verify_none(s, &one_look_objects), text, sizeof(text));
	ASSERT_HAS(text, "chan 'b-kept'");
	ASSERT_HAS_NOT(text, "a-");
	ASSERT_EQ(fl_chan_send(p->b_checked, &v, NULL, FL_FOREVER), FL_OK);
	ASSERT_EQ(fl_chan_recv(p->a_done, &v, NULL, FL_FOREVER), FL_OK);
	fl_chan_free(kept);
	check(fl_leak_verify_none(s, &one_look_objects));
	fl_leak_scope_free(s);
	return NULL;
}

FL_TEST(two_scopes_side_by_side_blame_only_their_own)
{
	struct pair p;
	check(fl_chan_new(sizeof(int), 0, NULL, &p.a_live));
	check(fl_chan_new(sizeof(int), 0, NULL, &p.b_checked));
	check(fl_chan_new(sizeof(int), 0, NULL, &p.a_done));
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "pair"}, &g,
			   &gctx));
	check(fl_group_go_named(g, "scope-a", scope_a, &p));
	check(fl_group_go_named(g, "scope-b", scope_b, &p));
	check(fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(p.a_live);
	fl_chan_free(p.b_checked);
	fl_chan_free(p.a_done);
}

FL_TEST_MAIN(FL_CASE(invalid_arguments), FL_CASE(clean_scope_passes),
	     FL_CASE(only_objects_made_while_current_are_blamed), FL_CASE(leaked_thread_is_named),
	     FL_CASE(leaked_fd_is_named_with_its_target), FL_CASE(leaked_heap_bytes_are_counted),
	     FL_CASE(leaked_objects_are_named_with_their_creator),
	     FL_CASE(two_scopes_side_by_side_blame_only_their_own))
