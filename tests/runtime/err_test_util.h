/*
 * err_test_util.h - what the error tests share: a user sentinel, the typed
 * errors they build (a pipeline stage, an HTTP status that matches by
 * status and 404 as not-found, a payload owning heap memory with a destroy
 * counter) and a format check.
 */
#ifndef FL_ERR_TEST_UTIL_H
#define FL_ERR_TEST_UTIL_H

#include <fl/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_test.h"

/* A user sentinel, declared in one line. */
static FL_ERR_SENTINEL(app_err_not_found, "not found");

/* A typed error naming the pipeline stage and item that failed. */
struct stage_err {
	char stage[32];
	long item;
};

static inline int stage_format(const void *payload, char *buf, size_t cap)
{
	const struct stage_err *s = payload;
	return snprintf(buf, cap, "stage \"%s\" item %ld", s->stage, s->item);
}

static const fl_err_type stage_type = {
	.name = "stage",
	.size = sizeof(struct stage_err),
	.format = stage_format,
};

static inline fl_err *stage_err(const char *stage, long item, fl_err *cause, const char *msg)
{
	struct stage_err s = {.item = item};
	snprintf(s.stage, sizeof(s.stage), "%s", stage);
	return fl_err_typed(&stage_type, &s, cause, "%s", msg);
}

/* An HTTP status error. It matches another HTTP error with the same status
 * and, for 404, the app_err_not_found sentinel. */
struct http_err {
	int status;
};

static const fl_err_type http_type;

static inline bool http_is(const void *payload, const fl_err *target)
{
	const struct http_err *h = payload;
	if (target == app_err_not_found)
		return h->status == 404;
	const struct http_err *t = fl_err_as(target, &http_type);
	return t && t->status == h->status;
}

static inline int http_format(const void *payload, char *buf, size_t cap)
{
	const struct http_err *h = payload;
	return snprintf(buf, cap, "http %d", h->status);
}

static const fl_err_type http_type = {
	.name = "http",
	.size = sizeof(struct http_err),
	.format = http_format,
	.is = http_is,
};

static inline fl_err *http_err(int status)
{
	struct http_err h = {status};
	return fl_err_typed(&http_type, &h, NULL, NULL);
}

/* A payload that owns heap memory, to check who calls destroy. */
struct owned {
	char *text;
};

static int owned_destroyed;

static inline void owned_destroy(void *payload)
{
	struct owned *o = payload;
	free(o->text);
	owned_destroyed++;
}

static const fl_err_type owned_type = {
	.name = "owned",
	.size = sizeof(struct owned),
	.destroy = owned_destroy,
};

static inline void assert_format(const fl_err *err, const char *want)
{
	char buf[512];
	size_t n = fl_err_format(err, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, want);
	ASSERT_EQ(n, strlen(want));
}

#endif
