/*
 * cat_http.c - a tiny HTTP/1.0 server and client on 127.0.0.1, so that the
 * fetch exercises (task 3, the 200-OK-with-error-body story) make real
 * requests over real sockets.
 *
 * Blocking: every socket is non-blocking; the only call that waits is
 * poll(2), made through fl_blocking in 2 ms slices, and between slices the
 * caller checks its context. A fibers worker therefore never sleeps in the
 * kernel, and a cancelled client or a stopping server gives up within one
 * slice. Connections are one request each (HTTP/1.0, the server closes).
 *
 * Ownership: the server's group owns the accept task and one handler task
 * per connection; a handler owns its connection (fd and struct) and frees
 * it on every path. fl__http_stop cancels the group, waits for every task
 * and only then closes the listening socket, so no task can touch a closed
 * descriptor. The counters are atomics: handlers run concurrently.
 */
#define _GNU_SOURCE /* accept4 */
#include "cat_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fl_alloc_internal.h"

#define POLL_SLICE_MS 2
#define REQ_MAX 1024
#define RESP_MAX 4096

struct fl__http_srv {
	int lfd;          /* immutable; closed by stop after wait */
	int port;         /* immutable */
	int hold;         /* immutable */
	fl_group *g;      /* owner */
	fl_ctx *gctx;     /* the group's context */
	fl_chan *release; /* closed when `hold` /doc/ requests wait */
	atomic_long held; /* /doc/ requests that reached the hold */
	atomic_long requests, ok, errors, hung, broken;
};

typedef struct conn {
	fl__http_srv *s;
	int fd;
} conn;

/* ---- waiting through fl_blocking ------------------------------------------------ */

typedef struct poll_job {
	int fd;
	short events;
	int timeout_ms;
	int rc;
	int err;
} poll_job;

static void poll_run(void *arg)
{
	poll_job *j = arg;
	struct pollfd p = {.fd = j->fd, .events = j->events};
	j->rc = poll(&p, 1, j->timeout_ms);
	j->err = errno;
}

/* Waits until fd is ready for events: 0, FL_CANCELED when ctx ended first,
 * or a positive errno. */
static int io_wait(int fd, short events, fl_ctx *ctx)
{
	/* Under sim, fl_blocking runs inline and the peer is a task on this
	 * very thread: poll without waiting, then sleep the slice on virtual
	 * time, so the peer runs and timers (hedge delays, deadlines) fire. */
	bool sim = fl__scn_virtual_time();
	for (;;) {
		if (fl_ctx_done(ctx))
			return FL_CANCELED;
		poll_job j = {.fd = fd, .events = events, .timeout_ms = sim ? 0 : POLL_SLICE_MS};
		fl_blocking(poll_run, &j);
		if (j.rc > 0)
			return 0;
		if (j.rc < 0 && j.err != EINTR)
			return j.err;
		if (sim && fl_sleep_until(ctx, fl_deadline_in(FL_MS(POLL_SLICE_MS))) != FL_OK)
			return FL_CANCELED;
	}
}

/* Sends all len bytes: 0, FL_CANCELED or an errno. */
static int send_all(int fd, const char *buf, size_t len, fl_ctx *ctx)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return errno;
		int w = io_wait(fd, POLLOUT, ctx);
		if (w)
			return w;
	}
	return 0;
}

/* Receives one chunk into buf: the bytes (0 at EOF), or a negative: -1
 * when ctx ended first, else -(errno + 1). */
static ssize_t recv_some(int fd, char *buf, size_t cap, fl_ctx *ctx)
{
	for (;;) {
		ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -(ssize_t)errno - 1;
		int w = io_wait(fd, POLLIN, ctx);
		if (w == FL_CANCELED)
			return -1;
		if (w)
			return -(ssize_t)w - 1;
	}
}

/* ---- the server ----------------------------------------------------------------- */

static void answer(conn *c, int status, const char *body)
{
	char buf[RESP_MAX];
	const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Error";
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.0 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 status, reason, strlen(body), body);
	if (send_all(c->fd, buf, (size_t)n, c->s->gctx) != 0)
		atomic_fetch_add(&c->s->broken, 1);
	else if (status < 400)
		atomic_fetch_add(&c->s->ok, 1);
	else
		atomic_fetch_add(&c->s->errors, 1);
}

/* /doc/ under a hold: wait until `hold` of them are here at once. */
static bool hold_doc(fl__http_srv *s)
{
	long n = atomic_fetch_add(&s->held, 1) + 1;
	if (n > s->hold)
		return true;
	if (n == s->hold) {
		fl_err_drop(fl_chan_close(s->release));
		return true;
	}
	return fl_chan_recv(s->release, NULL, s->gctx, FL_FOREVER) == FL_CLOSED;
}

static void route(conn *c, const char *path)
{
	fl__http_srv *s = c->s;
	char body[256];
	long n = 0;
	if (sscanf(path, "/doc/%ld", &n) == 1) {
		if (!hold_doc(s))
			return; /* the server is stopping */
		snprintf(body, sizeof(body), "doc %ld", n);
		answer(c, 200, body);
	} else if (sscanf(path, "/json/%ld", &n) == 1) {
		snprintf(body, sizeof(body), "{\"id\":%ld,\"text\":\"doc %ld\"}", n, n);
		answer(c, 200, body);
	} else if (sscanf(path, "/limited/%ld", &n) == 1) {
		answer(c, 200, "{\"error\":\"rate limited\"}");
	} else if (sscanf(path, "/fail/%ld", &n) == 1) {
		answer(c, 500, "internal error");
	} else if (sscanf(path, "/hang/%ld", &n) == 1) {
		atomic_fetch_add(&s->hung, 1);
		char sink[64]; /* until the client closes or the server stops */
		while (recv_some(c->fd, sink, sizeof(sink), s->gctx) > 0)
			;
	} else {
		answer(c, 404, "not found");
	}
}

static fl_err *handle(fl_ctx *ctx, void *arg)
{
	conn *c = arg;
	char req[REQ_MAX];
	size_t len = 0;
	req[0] = '\0';
	while (len + 1 < sizeof(req) && !strstr(req, "\r\n\r\n")) {
		ssize_t n = recv_some(c->fd, req + len, sizeof(req) - 1 - len, ctx);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
	}
	char path[256];
	if (strstr(req, "\r\n\r\n") && sscanf(req, "GET %255s HTTP/1.", path) == 1) {
		atomic_fetch_add(&c->s->requests, 1);
		route(c, path);
	} else {
		atomic_fetch_add(&c->s->broken, 1);
	}
	close(c->fd);
	free(c);
	return NULL;
}

static fl_err *accept_loop(fl_ctx *ctx, void *arg)
{
	fl__http_srv *s = arg;
	for (;;) {
		int w = io_wait(s->lfd, POLLIN, ctx);
		if (w == FL_CANCELED)
			return NULL; /* stopping */
		if (w)
			return fl_err_errno(w, "http server: poll");
		/* Non-blocking: the poll said a connection is waiting. */
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				continue;
			return fl_err_errno(errno, "http server: accept");
		}
		conn *c = fl__malloc(sizeof(*c));
		if (c)
			*c = (conn){.s = s, .fd = fd};
		fl_err *err = c ? fl_group_go_named(s->g, "http.handler", handle, c)
				: fl_err_ref(FL_ERR_NOMEM);
		if (err) {
			close(fd);
			free(c);
			if (fl_ctx_done(ctx)) {
				fl_err_drop(err);
				return NULL;
			}
			return fl_err_wrap(err, "http server: handler");
		}
		/* c belongs to the handler now. */
	}
}

fl_err *fl__http_start(fl_ctx *parent, const struct fl__http_opts *o, fl__http_srv **out)
{
	fl__http_srv *s = fl__calloc(1, sizeof(*s));
	if (!s)
		return fl_err_ref(FL_ERR_NOMEM);
	s->hold = o ? o->hold : 0;
	fl_err *err = NULL;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		err = fl_err_errno(errno, "http server: socket");
		goto fail_free;
	}
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 128) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &alen) < 0) {
		err = fl_err_errno(errno, "http server: listen on 127.0.0.1");
		goto fail_close;
	}
	s->port = ntohs(a.sin_port);
	if ((err = fl_chan_new(1, 0, &(struct fl_chan_opts){.name = "http.release"}, &s->release)))
		goto fail_close;
	if ((err = fl_group_new(parent, &(struct fl_group_opts){.name = "http"}, &s->g, &s->gctx)))
		goto fail_chan;
	if ((err = fl_group_go_named(s->g, "http.accept", accept_loop, s))) {
		fl_group_cancel(s->g, NULL);
		fl_err_drop(fl_group_wait(s->g));
		fl_group_free(s->g);
		goto fail_chan;
	}
	*out = s;
	return NULL;
fail_chan:
	fl_chan_free(s->release);
fail_close:
	close(s->lfd);
fail_free:
	free(s);
	return err;
}

int fl__http_port(const fl__http_srv *s) { return s->port; }

fl_err *fl__http_stop(fl__http_srv *s, fl__http_stats *st)
{
	if (!s)
		return NULL;
	fl_group_cancel(s->g, NULL);
	fl_err *err = fl_group_wait(s->g);
	fl_group_free(s->g);
	fl_chan_free(s->release);
	close(s->lfd);
	if (st)
		*st = (fl__http_stats){
			.requests = atomic_load(&s->requests),
			.ok = atomic_load(&s->ok),
			.errors = atomic_load(&s->errors),
			.hung = atomic_load(&s->hung),
			.broken = atomic_load(&s->broken),
		};
	free(s);
	return err;
}

/* ---- the client ----------------------------------------------------------------- */

/* The error for a failed client step: ctx's error (as Go's client returns
 * ctx.Err(), not the cause) or the errno. */
static fl_err *get_err(fl_ctx *ctx, int code, const char *path, const char *step)
{
	if (code == FL_CANCELED)
		return fl_err_wrap(fl_err_ref(fl_ctx_err(ctx)), "GET %s", path);
	return fl_err_errno(code, "GET %s: %s", path, step);
}

/* Connects fd to 127.0.0.1:port: 0, FL_CANCELED or an errno. */
static int dial(int fd, int port, fl_ctx *ctx)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	int w = io_wait(fd, POLLOUT, ctx);
	if (w)
		return w;
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return errno;
	return soerr;
}

/* Splits a reply into status and body. */
static fl_err *parse_reply(const char *reply, const char *path, int *status, char *body, size_t cap)
{
	const char *sep = strstr(reply, "\r\n\r\n");
	if (!sep || sscanf(reply, "HTTP/1.%*d %d", status) != 1)
		return fl_err_wrap(FL_ERR_INVAL, "GET %s: not an HTTP reply", path);
	snprintf(body, cap, "%s", sep + 4);
	return NULL;
}

fl_err *fl__http_get(fl_ctx *ctx, int port, const char *path, int *status, char *body, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fl_err_errno(errno, "GET %s: socket", path);
	char buf[RESP_MAX];
	int n = snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", path,
			 port);
	int rc = dial(fd, port, ctx);
	fl_err *err = NULL;
	if (rc)
		err = get_err(ctx, rc, path, "connect");
	else if ((rc = send_all(fd, buf, (size_t)n, ctx)))
		err = get_err(ctx, rc, path, "send");
	size_t len = 0;
	while (!err && len + 1 < sizeof(buf)) {
		ssize_t got = recv_some(fd, buf + len, sizeof(buf) - 1 - len, ctx);
		if (got == 0)
			break; /* the server closed: the reply is complete */
		if (got < 0)
			err = get_err(ctx, got == -1 ? FL_CANCELED : (int)(-got - 1), path, "recv");
		else
			len += (size_t)got;
	}
	close(fd);
	if (err)
		return err;
	buf[len] = '\0';
	return parse_reply(buf, path, status, body, cap);
}
