/*
 * hdr_test_util.h - what the HDR format tests share: an error check, a
 * histogram maker, the corrupt-input expectations and a seeded generator.
 */
#ifndef FL_HDR_TEST_UTIL_H
#define FL_HDR_TEST_UTIL_H

#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include "fl_test.h"

static inline void check_err(fl_err *err)
{
	if (err) {
		char msg[512];
		fl_err_format(err, msg, sizeof msg);
		fl_err_drop(err);
		FL_FAIL("unexpected error: %s", msg);
	}
}

static inline fl_hdr *mk(int64_t lo, int64_t hi, int sig)
{
	fl_hdr *h;
	check_err(fl_hdr_new(lo, hi, sig, &h));
	return h;
}

/* Asserts err is a corrupt-input error whose text contains want. */
static inline void expect_corrupt(fl_err *err, const char *want)
{
	char msg[512];
	ASSERT_NOT_NULL(err);
	fl_err_format(err, msg, sizeof msg);
	if (!fl_err_is(err, FL_ERR_HDR_CORRUPT) || !strstr(msg, want))
		FL_FAIL("error \"%s\" is not a corrupt-input error mentioning \"%s\"", msg, want);
	fl_err_drop(err);
}

static inline void expect_decode_fails(const void *buf, size_t len, const char *want)
{
	fl_hdr *h = NULL;
	expect_corrupt(fl_hdr_decode(buf, len, &h), want);
	ASSERT_NULL(h);
}

static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

#endif
