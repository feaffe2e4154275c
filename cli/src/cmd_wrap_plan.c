/*
 * cmd_wrap_plan.c - `faultline wrap`'s plan compiler: the plan is parsed by
 * the fault library (same syntax, same messages as --faults elsewhere),
 * then every term is checked against what the preloaded library can run
 * and written in the flat form wrap_internal.h defines. What the preload
 * cannot run is refused here, naming the rule and the field, never
 * silently dropped.
 */
#include "cli_internal.h"
#include "wrap_internal.h"

#include <fl/fault.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The errno values each wrapped call may fail with (as libfiu's tables:
 * only what the real call can return there). */
static const char *const ERRNOS[FL_WRAP_NPOINTS] = {
	[FL_WRAP_MALLOC] = "ENOMEM",
	[FL_WRAP_CALLOC] = "ENOMEM",
	[FL_WRAP_REALLOC] = "ENOMEM",
	[FL_WRAP_READ] = "EIO EINTR EAGAIN",
	[FL_WRAP_WRITE] = "EIO ENOSPC EINTR EPIPE",
	[FL_WRAP_OPEN] = "EACCES EMFILE ENOENT ENFILE",
	[FL_WRAP_CLOSE] = "EIO EINTR",
	[FL_WRAP_FSYNC] = "EIO ENOSPC",
	[FL_WRAP_CONNECT] = "ECONNREFUSED ETIMEDOUT ENETUNREACH",
	[FL_WRAP_ACCEPT] = "ECONNABORTED EMFILE",
	[FL_WRAP_SEND] = "EPIPE ECONNRESET EAGAIN",
	[FL_WRAP_RECV] = "ECONNRESET EAGAIN",
	[FL_WRAP_THREAD_CREATE] = "EAGAIN",
	[FL_WRAP_NANOSLEEP] = "EINTR",
	[FL_WRAP_PWRITE] = "EIO ENOSPC EINTR EFBIG",
	[FL_WRAP_PREAD] = "EIO EINTR EAGAIN",
	[FL_WRAP_OPENAT] = "EACCES EMFILE ENOENT ENFILE",
	[FL_WRAP_WRITEV] = "EIO ENOSPC EINTR EPIPE",
	[FL_WRAP_READV] = "EIO EINTR EAGAIN",
	[FL_WRAP_SENDTO] = "EPIPE ECONNRESET EAGAIN",
	[FL_WRAP_RECVFROM] = "ECONNRESET EAGAIN",
	[FL_WRAP_SENDMSG] = "EPIPE ECONNRESET EAGAIN",
	[FL_WRAP_RECVMSG] = "ECONNRESET EAGAIN",
	[FL_WRAP_CLOCK_NANOSLEEP] = "EINTR",
	[FL_WRAP_POSIX_MEMALIGN] = "ENOMEM",
	[FL_WRAP_ALIGNED_ALLOC] = "ENOMEM",
	[FL_WRAP_MEMALIGN] = "ENOMEM",
};

static const struct {
	const char *name;
	int value;
} ERRNO_VALUES[] = {
	{"ENOMEM", ENOMEM},
	{"EIO", EIO},
	{"EINTR", EINTR},
	{"EAGAIN", EAGAIN},
	{"ENOSPC", ENOSPC},
	{"EPIPE", EPIPE},
	{"EACCES", EACCES},
	{"EMFILE", EMFILE},
	{"ENOENT", ENOENT},
	{"ENFILE", ENFILE},
	{"ECONNREFUSED", ECONNREFUSED},
	{"ETIMEDOUT", ETIMEDOUT},
	{"ENETUNREACH", ENETUNREACH},
	{"ECONNABORTED", ECONNABORTED},
	{"ECONNRESET", ECONNRESET},
	{"EFBIG", EFBIG},
};
#define NERRNO (sizeof(ERRNO_VALUES) / sizeof(ERRNO_VALUES[0]))

FL_ERR_SENTINEL(fl__wrap_errno, "injected errno (faultline wrap)");

const char *fl__wrap_errnos(int point) { return ERRNOS[point]; }

const char *fl__wrap_errno_name(int value)
{
	for (size_t i = 0; i < NERRNO; i++)
		if (ERRNO_VALUES[i].value == value)
			return ERRNO_VALUES[i].name;
	return "?";
}

/* The errno names resolve in plans from here on (the fault library
 * resolves error names when it parses). */
static fl_err *register_errnos(void)
{
	for (size_t i = 0; i < NERRNO; i++) {
		fl_err *e = fl_fault_register_error(ERRNO_VALUES[i].name, fl__wrap_errno);
		if (e)
			return e;
	}
	return NULL;
}

static bool errno_valid(int point, const char *name)
{
	const char *s = ERRNOS[point];
	size_t n = strlen(name);
	for (const char *p = strstr(s, name); p; p = strstr(p + 1, name))
		if ((p == s || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static int errno_value(const char *name)
{
	for (size_t i = 0; i < NERRNO; i++)
		if (strcmp(ERRNO_VALUES[i].name, name) == 0)
			return ERRNO_VALUES[i].value;
	return 0;
}

struct compile {
	char *buf;
	size_t len, cap;
	size_t nterms;
};

/* FL_ERR_INVAL naming the rule and term of d, then what is wrong. */
static FL_PRINTF(2, 3) fl_err *refuse(const fl_fault_term_desc *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fl_err_wrap(FL_ERR_INVAL, "plan: rule '%s', term %zu: %s", d->pattern, d->term + 1,
			   msg);
}
#define REFUSE refuse

/* What the preload cannot run, or NULL. */
static fl_err *supported(const fl_fault_term_desc *d)
{
	unsigned bad = d->mods & (FL_FAULT_MOD_AFTER | FL_FAULT_MOD_UNTIL | FL_FAULT_MOD_ITEMS |
				  FL_FAULT_MOD_PERITEM);
	if (bad)
		return REFUSE(d,
			      "modifier %s is not supported by wrap (supported: N%%, cnt*, "
			      "@N..M, every(N))",
			      bad & FL_FAULT_MOD_AFTER   ? "after(..)"
			      : bad & FL_FAULT_MOD_UNTIL ? "until(..)"
			      : bad & FL_FAULT_MOD_ITEMS ? "items(..)"
							 : "peritem");
	switch (d->action) {
	case FL_FAULT_ACT_OFF:
	case FL_FAULT_ACT_ERROR:
	case FL_FAULT_ACT_OOM: return NULL;
	case FL_FAULT_ACT_SLEEP:
	case FL_FAULT_ACT_DELAY:
		if (d->dist_kind != FL_FAULT_DIST_FIXED && d->dist_kind != FL_FAULT_DIST_UNIFORM)
			return REFUSE(d, "%s: wrap draws fixed and uniform(..) durations only",
				      fl_fault_action_name(d->action));
		return NULL;
	default:
		return REFUSE(d,
			      "action '%s' is not supported by wrap (supported: error(ERRNO), "
			      "oom, sleep, delay, off)",
			      fl_fault_action_name(d->action));
	}
}

/* One (term, point) pair: the errno check, then the flat fields. */
static fl_err *emit(struct compile *c, const fl_fault_term_desc *d, int point)
{
	const char *pname = fl__wrap_point_names[point];
	int act = FL_WRAP_ACT_OFF, err = 0;
	if (d->action == FL_FAULT_ACT_ERROR) {
		if (!errno_value(d->text))
			return REFUSE(d, "error(%s): wrap takes an errno name; %s fails with %s",
				      d->text, pname, ERRNOS[point]);
		if (!errno_valid(point, d->text))
			return REFUSE(d, "error(%s) is not valid for %s (valid: %s)", d->text,
				      pname, ERRNOS[point]);
		act = FL_WRAP_ACT_ERROR;
		err = errno_value(d->text);
	} else if (d->action == FL_FAULT_ACT_OOM) {
		if (strncmp(pname, "libc/mem/", 9) != 0)
			return REFUSE(d, "oom applies to libc/mem/* only, not %s", pname);
		act = FL_WRAP_ACT_ERROR;
		err = ENOMEM;
	} else if (d->action == FL_FAULT_ACT_SLEEP) {
		act = FL_WRAP_ACT_SLEEP;
	} else if (d->action == FL_FAULT_ACT_DELAY) {
		act = FL_WRAP_ACT_DELAY;
	}
	if (c->nterms == FL_WRAP_MAX_TERMS)
		return REFUSE(d, "more than %d terms after expanding patterns", FL_WRAP_MAX_TERMS);
	if (c->cap - c->len < 400) {
		char *nb = realloc(c->buf, c->cap * 2);
		if (!nb)
			return fl_err_wrap(FL_ERR_NOMEM, "plan: compiling");
		c->buf = nb;
		c->cap *= 2;
	}
	c->len += (size_t)snprintf(c->buf + c->len, c->cap - c->len,
				   ";%d %d %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
				   " %" PRIu64 " %d %d %d %" PRId64 " %" PRId64 " %" PRId64 " %zu",
				   point, act,
				   d->mods & (FL_FAULT_MOD_AT | FL_FAULT_MOD_EVERY |
					      FL_FAULT_MOD_PCT | FL_FAULT_MOD_CNT),
				   d->at_lo, d->at_hi, d->every, d->cnt, d->pct_threshold,
				   d->pct_always ? 1 : 0, err,
				   d->dist_kind == FL_FAULT_DIST_UNIFORM ? 1 : 0, d->dist_a_ns,
				   d->dist_b_ns, d->dist_jitter_ns, d->term);
	c->nterms++;
	return NULL;
}

/* The first rule whose pattern matches a point applies to it (as in the
 * fault library); a rule that applies to no wrapped call is refused. */
struct rules_seen {
	size_t rule_of_point[FL_WRAP_NPOINTS]; /* rule index + 1; 0 none yet */
};

static fl_err *term_cb(void *arg, const fl_fault_term_desc *d)
{
	void **a = arg;
	struct compile *c = a[0];
	struct rules_seen *rs = a[1];
	fl_err *e = supported(d);
	if (e)
		return e;
	bool matched = false;
	for (int p = 0; p < FL_WRAP_NPOINTS && !e; p++) {
		if (!fl_fault_pattern_match(d->pattern, fl__wrap_point_names[p]))
			continue;
		matched = true;
		if (rs->rule_of_point[p] == 0)
			rs->rule_of_point[p] = d->rule + 1;
		if (rs->rule_of_point[p] != d->rule + 1)
			continue; /* an earlier rule has this point */
		e = emit(c, d, p);
	}
	if (!e && !matched)
		e = REFUSE(
			d,
			"'%s' names no wrapped call (libc/mem/{malloc,calloc,realloc,"
			"posix_memalign,aligned_alloc,memalign}, "
			"libc/io/{read,write,open,close,fsync,pwrite,pread,openat,writev,readv}, "
			"libc/net/{connect,accept,send,recv,sendto,recvfrom,sendmsg,recvmsg}, "
			"libc/thread/create, libc/time/{nanosleep,clock_nanosleep})",
			d->pattern);
	return e;
}

fl_err *fl__wrap_compile(const char *plan, uint64_t seed, char **out, uint64_t *seed_used)
{
	struct compile c = {malloc(1024), 0, 1024, 0};
	if (!c.buf)
		return fl_err_wrap(FL_ERR_NOMEM, "plan: compiling");
	struct rules_seen rs = {{0}};
	bool has_seed = false;
	uint64_t plan_seed = 0;
	fl_err *e = register_errnos();
	c.len = (size_t)snprintf(c.buf, c.cap, "v2 ");
	void *arg[2] = {&c, &rs};
	if (!e && plan)
		e = fl_fault_describe(plan, term_cb, arg, &plan_seed, &has_seed);
	if (e) {
		free(c.buf);
		return e;
	}
	*seed_used = has_seed ? plan_seed : seed;
	/* the seed goes first: rebuild the head now that it is known */
	char head[32];
	int hn = snprintf(head, sizeof(head), "v2 %" PRIu64, *seed_used);
	char *s = malloc(c.len + (size_t)hn + 1);
	if (!s) {
		free(c.buf);
		return fl_err_wrap(FL_ERR_NOMEM, "plan: compiling");
	}
	memcpy(s, head, (size_t)hn);
	memcpy(s + hn, c.buf + 3, c.len - 3 + 1);
	free(c.buf);
	*out = s;
	return NULL;
}
