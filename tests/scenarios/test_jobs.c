/*
 * test_jobs.c - job files: what parses, and every kind of bad file is
 * rejected with the file, the line and the key.
 */
#include <fl/job.h>
#include <fl/scenario.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fl_test.h"

/* Parses text; asserts it fails with a message containing every needle. */
static void rejects(const char *text, const char *n1, const char *n2)
{
	fl_jobs *j = NULL;
	fl_err *err = fl_jobs_parse(text, "bad.ini", &j);
	if (!err)
		FL_FAIL("accepted: %s", text);
	ASSERT(j == NULL);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	char msg[512];
	fl_err_format(err, msg, sizeof(msg));
	if (!strstr(msg, n1) || (n2 && !strstr(msg, n2)))
		FL_FAIL("message '%s' lacks '%s' / '%s'", msg, n1, n2 ? n2 : "");
	fl_err_drop(err);
}

FL_TEST(parses_sections_with_global_defaults)
{
	const char *text = "# a comment\n"
			   "[global]\nitems = 50\nbuffer = 4\n\n"
			   "[a]\nshape = linear\nstages = read, parse, store\n"
			   "faults = parse=@3 error(inval); store=1% sleep(1ms) # terms\n"
			   "[global]\nitems = 7\n"
			   "[b]\nshape = diamond\nwidth = 2\nstress_faults = read=1% drop | "
			   "read=1% dup\n";
	fl_jobs *j;
	fl_err *err = fl_jobs_parse(text, "ok.ini", &j);
	if (err)
		fl_err_print(stderr, err);
	ASSERT(err == NULL);
	ASSERT_EQ(fl_jobs_count(j), 2);
	const fl_scenario *a = fl_jobs_scenario(j, 0), *b = fl_jobs_find(j, "b");
	ASSERT(strcmp(a->name, "a") == 0);
	ASSERT(b == fl_jobs_scenario(j, 1));
	ASSERT(fl_jobs_find(j, "global") == NULL);
	ASSERT(a->stress_faults == NULL);
	ASSERT(b->stress_faults && strcmp(b->stress_faults[0], "read=1% drop") == 0 &&
	       strcmp(b->stress_faults[1], "read=1% dup") == 0 && !b->stress_faults[2]);
	/* b gets the refined default: 7 items, each teed to 2 branches */
	fl_scenario_params p = {.skip_timing = true};
	fl_scenario_result r;
	fl_scenario_result_init(&r, b);
	ASSERT(fl_scenario_run(b, &p, &r) == NULL);
	ASSERT_EQ(fl_scenario_counter_value(&r, "produced"), 7);
	ASSERT_EQ(fl_scenario_counter_value(&r, "delivered"), 14);
	ASSERT_EQ(fl_scenario_counter_value(&r, "duplicated"), 7);
	fl_scenario_result_destroy(&r);
	fl_jobs_free(j);
}

FL_TEST(unknown_key_names_file_line_key)
{
	rejects("[a]\nshape = linear\nworkerz = 3\n", "bad.ini:3: key 'workerz'", "unknown key");
	rejects("[global]\nnope = 1\n[a]\nshape = linear\n", "bad.ini:2: key 'nope'", NULL);
}

FL_TEST(bad_number_is_rejected)
{
	rejects("[a]\nshape = linear\nitems = lots\n", "bad.ini:3: key 'items'", "not a number");
	rejects("[a]\nshape = linear\nitems = 2.5\n", "bad.ini:3: key 'items'", "out of range");
	rejects("[a]\nshape = linear\nworkers = 0\n", "key 'workers'", "out of range");
	rejects("[a]\nshape = linear\nwork = 5 parsecs\n", "key 'work'", "not a duration");
	rejects("[a]\nshape = linear\nwork = 5\n", "key 'work'", "not a duration");
}

FL_TEST(bad_enum_is_rejected)
{
	rejects("[a]\nshape = spiral\n", "bad.ini:2: key 'shape'", "fan-out");
	rejects("[a]\nshape = linear\nerror_mode = some\n", "key 'error_mode'", "collect-all");
	rejects("[a]\nshape = linear\ndlq = maybe\n", "key 'dlq'", "boolean");
}

FL_TEST(missing_required_key_names_section_line)
{
	rejects("[global]\nitems = 3\n\n[a]\nitems = 4\n", "bad.ini:4: key 'shape'", "[a]");
	rejects("[global]\nitems = 3\n", "no scenario sections", NULL);
}

FL_TEST(duplicates_are_rejected)
{
	rejects("[a]\nshape = linear\nitems = 3\nitems = 4\n", "bad.ini:4: key 'items'",
		"set twice");
	rejects("[a]\nshape = linear\n[b]\nshape = linear\n[a]\nshape = linear\n",
		"bad.ini:5:", "[a] declared twice");
	rejects("[a]\nshape = linear\nstages = x, y, x\n", "key 'stages'", "listed twice");
}

FL_TEST(bad_values_of_structured_keys)
{
	rejects("[a]\nshape = linear\nfaults = work=50%x(\n", "bad.ini:3: key 'faults'", "plan");
	rejects("[a]\nshape = linear\nexpect_stage = nowhere\n", "key 'expect_stage'",
		"not one of");
	rejects("[a]\nshape = linear\nstages = only\n", "key 'stages'", "at least 2");
	rejects("[a]\nshape = fan-out\nstages = in, out\n", "key 'stages'", "3 or more");
	rejects("[A b]\nshape = linear\n", "bad.ini:1:", "bad section name");
	rejects("shape = linear\n", "bad.ini:1: key 'shape'", "outside any section");
	rejects("[a]\nshape = linear\njust words\n", "bad.ini:3:", "not INI syntax");
}

FL_TEST(bulkhead_keys_are_validated)
{
	/* only shapes with a dispatcher starting one task per item */
	rejects("[a]\nshape = linear\nitems = 8\nbulkhead = 4\n", "bad.ini:4: key 'bulkhead'",
		"fan-out and per-item");
	rejects("[global]\nbulkhead = 4\n[a]\nshape = diamond\n", "bad.ini:2: key 'bulkhead'",
		"is diamond");
	/* tenants and bulkhead_wait need a bulkhead, named at their own line */
	rejects("[a]\nshape = fan-out\ntenants = 3\n", "bad.ini:3: key 'tenants'",
		"needs bulkhead");
	rejects("[global]\nbulkhead_wait = 5ms\n[a]\nshape = fan-out\n",
		"bad.ini:2: key 'bulkhead_wait'", "needs bulkhead");
	rejects("[a]\nshape = fan-out\nbulkhead = 4\ngroup_limit = 2\n",
		"bad.ini:3: key 'bulkhead'", "group_limit (line 4)");
	rejects("[a]\nshape = fan-out\nplant = shared-bulkhead\n", "bad.ini:3: key 'plant'",
		"needs bulkhead");
	rejects("[a]\nshape = fan-out\nbulkhead = 4\ntenants = 65\n", "key 'tenants'",
		"out of range");
	rejects("[a]\nshape = fan-out\nbulkhead = 4\nbulkhead_wait = soon\n", "key 'bulkhead_wait'",
		"or forever");
	/* tenants default to 4; each dispatching stage gets its cap checks */
	fl_jobs *j;
	fl_err *err = fl_jobs_parse("[a]\nshape = fan-out\nstages = in, x, y, out\n"
				    "bulkhead = 3\nbulkhead_wait = forever\n"
				    "[b]\nshape = per-item\nstages = in, x, y, out\nbulkhead = 2\n"
				    "tenants = 7\nbulkhead_wait = 0\n",
				    "ok.ini", &j);
	if (err)
		fl_err_print(stderr, err);
	ASSERT(err == NULL);
	static const char *const want_a[] = {"bulkhead x hwm <= 3", "bulkhead x reaches 3",
					     "bulkhead y hwm <= 3", "bulkhead y reaches 3",
					     "tenant isolation"};
	static const char *const want_b[] = {"bulkhead per-item hwm <= 2",
					     "bulkhead per-item reaches 2", "tenant isolation"};
	const char *const *wants[] = {want_a, want_b};
	size_t nwant[] = {5, 3};
	for (int s = 0; s < 2; s++) {
		const fl_scenario *sc = fl_jobs_scenario(j, (size_t)s);
		for (size_t w = 0; w < nwant[s]; w++) {
			bool found = false;
			for (const char *const *c = sc->checks; *c; c++)
				found |= strcmp(*c, wants[s][w]) == 0;
			if (!found)
				FL_FAIL("[%s] does not declare '%s'", sc->name, wants[s][w]);
		}
	}
	fl_jobs_free(j);
}

FL_TEST(unreadable_file_is_an_errno_error)
{
	fl_jobs *j = NULL;
	fl_err *err = fl_jobs_load("/nonexistent/dir/jobs.ini", &j);
	ASSERT(err != NULL);
	ASSERT(fl_err_is(err, FL_ERR_SYSTEM));
	char msg[256];
	fl_err_format(err, msg, sizeof(msg));
	if (!strstr(msg, "/nonexistent/dir/jobs.ini"))
		FL_FAIL("message: %s", msg);
	fl_err_drop(err);
	/* a directory is not a job file either */
	err = fl_jobs_load(FL_SOURCE_DIR, &j);
	ASSERT(err != NULL);
	fl_err_drop(err);
	/* nor a device that never ends, nor a FIFO with no writer: both are
	 * refused at once (they read until memory ran out, or blocked) */
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "/tmp/fl-jobs-fifo-%d", (int)getpid());
	ASSERT_EQ(mkfifo(fifo, 0600), 0);
	const char *specials[] = {"/dev/zero", fifo};
	for (int i = 0; i < 2; i++) {
		err = fl_jobs_load(specials[i], &j);
		ASSERT(fl_err_is(err, FL_ERR_INVAL));
		fl_err_format(err, msg, sizeof(msg));
		if (!strstr(msg, specials[i]) || !strstr(msg, "not a regular file"))
			FL_FAIL("message: %s", msg);
		fl_err_drop(err);
	}
	unlink(fifo);
}

/* Parses text, which must hold exactly the sections names[0..n). */
static void parses_sections(const char *text, const char *const *names, size_t n)
{
	fl_jobs *j = NULL;
	fl_err *err = fl_jobs_parse(text, "ok.ini", &j);
	if (err)
		fl_err_print(stderr, err);
	ASSERT(err == NULL);
	ASSERT_EQ(fl_jobs_count(j), n);
	for (size_t i = 0; i < n; i++)
		if (!fl_jobs_find(j, names[i]))
			FL_FAIL("section [%s] lost", names[i]);
	fl_jobs_free(j);
}

/* The reader once missed a section header longer than inih's first buffer
 * (199 bytes: [b] and 250 blanks merged into [a]), took a UTF-8 BOM for
 * text outside any section, and counted a CR-only file as one line. */
FL_TEST(any_line_length_bom_and_line_endings)
{
	static const char *const ab[] = {"a", "b"};
	char text[1024];
	snprintf(text, sizeof(text), "[a]\nshape = linear\n[b]%250s\nshape = linear\n", "");
	parses_sections(text, ab, 2);
	snprintf(text, sizeof(text), "[a]\nshape = linear\n%200s[b]\nshape = fan-in\n", "");
	parses_sections(text, ab, 2);
	/* a key line of 400 bytes: inih takes it in pieces, none may be lost */
	size_t n = (size_t)snprintf(text, sizeof(text), "[a]\nshape = linear\nfaults = ");
	for (int k = 0; k < 45; k++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "w%02d=off;", k);
	snprintf(text + n, sizeof(text) - n, " work=@5 error(again)\n[b]\nshape = linear\n");
	parses_sections(text, ab, 2);
	parses_sections("\xEF\xBB\xBF[a]\nshape = linear\n[b]\nshape = linear\n", ab, 2);
	parses_sections("[a]\r\nshape = linear\r\n[b]\r\nshape = linear\r\n", ab, 2);
	parses_sections("[a]\rshape = linear\r[b]\rshape = linear", ab, 2);
	/* and the errors name the file's own line */
	rejects("[a]\rshape = linear\ritems = many\r", "bad.ini:3: key 'items'", NULL);
	rejects("[a]\r\nshape = linear\r\n\r\nitems = many\r\n", "bad.ini:4: key 'items'", NULL);
	rejects("[a]\nshape = linear\n\n[s\nitems = 3\n", "bad.ini:4:", "not INI syntax");
	char longname[300];
	snprintf(longname, sizeof(longname), "[%0200d]\nshape = linear\n", 7);
	rejects(longname, "bad.ini:1:", "longer than 63");
}

/* Every documented value runs: a diamond 15 wide once overflowed a fixed
 * table of 28 channels (64 is its documented top), a fan-in as wide as 256
 * runs; a diamond past 64 and a rate so low its schedule overflows int64
 * nanoseconds are refused by name rather than crashing or being ignored. */
FL_TEST(documented_ranges_run_or_are_refused)
{
	static const char *const shapes[] = {"diamond", "fan-in", "diamond"};
	static const int widths[] = {15, 256, 64};
	static const int copies[] = {15, 1, 64}; /* a diamond tees every item */
#ifdef FL_TSAN
	/* The 64-wide sink's select holds 64 channel locks and then a parker's:
	 * one more than ThreadSanitizer's deadlock detector can track (64 per
	 * thread; it aborts in its own CHECK). The widest diamond runs in the
	 * other builds. */
	size_t ncases = 2;
#else
	size_t ncases = 3;
#endif
	for (size_t i = 0; i < ncases; i++) {
		char text[128];
		snprintf(text, sizeof(text), "[d]\nshape = %s\nitems = 300\nwidth = %d\n",
			 shapes[i], widths[i]);
		fl_jobs *j;
		ASSERT_NULL(fl_jobs_parse(text, "w.ini", &j));
		fl_scenario_params p = {.skip_timing = true, .time_scale = fl_test_time_scale()};
		fl_scenario_result r;
		fl_scenario_result_init(&r, fl_jobs_find(j, "d"));
		fl_err *err = fl_scenario_run(fl_jobs_find(j, "d"), &p, &r);
		if (err)
			fl_err_print(stderr, err);
		ASSERT(err == NULL);
		ASSERT(fl_scenario_result_passed(&r));
		ASSERT_EQ(fl_scenario_counter_value(&r, "delivered"), 300 * copies[i]);
		fl_scenario_result_destroy(&r);
		fl_jobs_free(j);
	}
	rejects("[d]\nshape = diamond\nwidth = 65\n", "bad.ini:1: key 'width'", "at most 64");
	rejects("[r]\nshape = linear\nrate = 0.0000000001\n", "key 'rate'", "146 years");
	rejects("[r]\nshape = linear\nitems = 1000000\nrate = 0.0001\n", "key 'rate'", NULL);
}

FL_TEST(shipped_job_files_load)
{
	static const char *const files[] = {"shapes.ini", "policies.ini", "controls.ini",
					    "chaos.ini"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/scenarios/jobs/%s", FL_SOURCE_DIR, files[i]);
		fl_jobs *j;
		fl_err *err = fl_jobs_load(path, &j);
		if (err)
			fl_err_print(stderr, err);
		ASSERT(err == NULL);
		ASSERT_GT(fl_jobs_count(j), 0);
		fl_jobs_free(j);
	}
}

FL_TEST_MAIN(FL_CASE(parses_sections_with_global_defaults),
	     FL_CASE(unknown_key_names_file_line_key),
	     FL_CASE(any_line_length_bom_and_line_endings),
	     FL_CASE(documented_ranges_run_or_are_refused), FL_CASE(bad_number_is_rejected),
	     FL_CASE(bad_enum_is_rejected), FL_CASE(missing_required_key_names_section_line),
	     FL_CASE(duplicates_are_rejected), FL_CASE(bad_values_of_structured_keys),
	     FL_CASE(unreadable_file_is_an_errno_error), FL_CASE(shipped_job_files_load),
	     FL_CASE(bulkhead_keys_are_validated))
