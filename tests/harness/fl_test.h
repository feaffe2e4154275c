/*
 * fl_test.h - the in-tree test harness.
 *
 * A test file defines cases with FL_TEST(name) and ends with a case table:
 *
 *     FL_TEST(wrap_keeps_cause) { ... }
 *     FL_TEST_MAIN(FL_CASE(wrap_keeps_cause), ...)
 *
 * CMake scans the file for FL_TEST(...) and registers every case as its own
 * ctest test ("<file>.<case>"), so each case gets its own process, timeout
 * and labels, and the same binary runs unchanged under ASan, TSan, Helgrind
 * and memcheck. Run one case with `./test_x case`, all with `./test_x`.
 *
 * Asserts print both operands with file:line and abort(); aborting is safe
 * from any thread.
 *
 * Time: no test passes or fails on how fast the machine is. A property
 * about durations (a deadline fires at its instant, a batch flushes at its
 * age, a hedge fires after its delay) is asserted where time is virtual:
 * on the sim backend (fl_test_virtual_time()), or in a case that runs only
 * there (`fl-test-sim-only:` in tests/CMakeLists.txt). On the real-clock
 * backends a test asserts orderings and counts, and lower bounds that a
 * monotonic clock guarantees (a sleep of 5 ms lasted at least 5 ms), never
 * an upper bound on elapsed time. The one wall-time bound left is
 * fl_test_hang_ns(): how long a wait that must end may take before the test
 * calls it a hang, far above any slow run.
 */
#ifndef FL_TEST_H
#define FL_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fl_test_case {
	const char *name;
	void (*fn)(void);
} fl_test_case;

int fl_test_main(int argc, char **argv, const fl_test_case *cases);
void fl_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
/* Multiplier for real-time budgets: 1, or FL_TEST_TIME_SCALE (valgrind). */
int64_t fl_test_time_scale(void);
/* True when the case runs on the sim backend (FAULTLINE_BACKEND=sim):
 * durations are virtual there, so they may be asserted exactly. */
bool fl_test_virtual_time(void);
/* How long a wait that must end may take before the test calls it a hang
 * (60 s x fl_test_time_scale()); only ever turns a hang into a failure. */
int64_t fl_test_hang_ns(void);
/* The backend named by FL_TEST_BACKEND, or NULL for the default. */
const char *fl_test_backend(void);

#define FL_TEST(name) static void test_##name(void)
#define FL_CASE(name)              \
	{                          \
#name, test_##name \
	}
#define FL_TEST_MAIN(...)                                                   \
	static const fl_test_case fl_test_cases_[] = {__VA_ARGS__, {0, 0}}; \
	int main(int argc, char **argv) { return fl_test_main(argc, argv, fl_test_cases_); }

#define FL_FAIL(...) fl_test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT(c)                                            \
	do {                                                 \
		if (!(c))                                    \
			FL_FAIL("assertion failed: %s", #c); \
	} while (0)

#define ASSERT_INT_OP_(a, op, b)                                                      \
	do {                                                                          \
		long long fl_a_ = (long long)(a), fl_b_ = (long long)(b);             \
		if (!(fl_a_ op fl_b_))                                                \
			FL_FAIL("%s %s %s: %lld vs %lld", #a, #op, #b, fl_a_, fl_b_); \
	} while (0)
#define ASSERT_EQ(a, b) ASSERT_INT_OP_(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP_(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP_(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP_(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP_(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP_(a, >=, b)

#define ASSERT_U64_EQ(a, b)                                                                 \
	do {                                                                                \
		uint64_t fl_a_ = (uint64_t)(a), fl_b_ = (uint64_t)(b);                      \
		if (fl_a_ != fl_b_)                                                         \
			FL_FAIL("%s == %s: %" PRIu64 " vs %" PRIu64, #a, #b, fl_a_, fl_b_); \
	} while (0)

#define ASSERT_DBL_NEAR(a, b, eps)                                                 \
	do {                                                                       \
		double fl_a_ = (a), fl_b_ = (b);                                   \
		if (!(fl_a_ - fl_b_ <= (eps) && fl_b_ - fl_a_ <= (eps)))           \
			FL_FAIL("%s ~= %s: %.17g vs %.17g", #a, #b, fl_a_, fl_b_); \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                          \
	do {                                                                         \
		const char *fl_a_ = (a), *fl_b_ = (b);                               \
		if (!fl_a_ || !fl_b_ || strcmp(fl_a_, fl_b_) != 0)                   \
			FL_FAIL("%s == %s:\n  \"%s\"\nvs\n  \"%s\"", #a, #b,         \
				fl_a_ ? fl_a_ : "(null)", fl_b_ ? fl_b_ : "(null)"); \
	} while (0)

#define ASSERT_NULL(p) ASSERT((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT((p) != NULL)

#endif
