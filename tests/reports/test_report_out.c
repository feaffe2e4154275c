/* fl-test-labels: memcheck */
/*
 * test_report_out.c - the JUnit, Markdown and HTML writers, and atomic
 * file writing.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fl/hdr.h>
#include <fl/report.h>

#include "test_report_util.h"

#define XSS "<script>alert(1)</script>&\"'"
#define XSS_ESCAPED "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static fl_hdr *hist_of(int64_t base, int n)
{
	fl_hdr *h = NULL;
	ASSERT_OK(fl_hdr_new(1, 3600000000000LL, 3, &h));
	for (int i = 1; i <= n; i++)
		ASSERT(fl_hdr_record(h, base * i + (i % 7) * base / 3));
	return h;
}

/* A report with the XSS string in every user-supplied field. */
static fl_report *hostile_report(void)
{
	struct fl_report_opts o = {.seed = 1,
				   .fault_plan = XSS,
				   .backend = XSS,
				   .git_rev = XSS,
				   .start_unix_ns = 1};
	fl_report *r = NULL;
	ASSERT_OK(fl_report_new(XSS, &o, &r));
	ASSERT_OK(fl_report_set_host(r, XSS, XSS, 1, XSS));
	ASSERT_OK(fl_report_set_duration(r, 3000000000LL));
	ASSERT_OK(fl_report_add_hist(r, "e2e " XSS, hist_of(1000, 2000), FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_hist(r, "stage", hist_of(300, 2000), FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_slo(r, "e2e " XSS, 99, 1500000));
	ASSERT_OK(fl_report_add_slo(r, "stage", 50, 100));
	for (int i = 0; i < 3; i++)
		ASSERT_OK(fl_report_add_series_interval(r, "e2e " XSS, (int64_t)i * 1000000000,
							1000000000, hist_of(1000 * (i + 1), 500),
							FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_counter(r, XSS, 3));
	ASSERT_OK(fl_report_add_counter(r, "items", 1500));
	ASSERT_OK(fl_report_add_fault_event(r, 500000000, XSS, XSS));
	ASSERT_OK(fl_report_add_fault_event(r, 2500000000LL, "disk", "delay 5ms"));
	ASSERT_OK(fl_report_add_check(r, XSS, FL_REPORT_FAIL, 2e6, 1e6, "ns", XSS));
	ASSERT_OK(fl_report_add_check(r, "ok", FL_REPORT_PASS, 1, 2, XSS, ""));
	ASSERT_OK(fl_report_add_check(r, "later", FL_REPORT_SKIP, NAN, NAN, NULL,
				      "not run\x01 here"));
	return r;
}

FL_TEST(junit_counts_and_escaping)
{
	char *dir = scratch_dir();
	fl_report *r = hostile_report();
	ASSERT_OK(fl_report_write_junit(r, path_in(dir, "junit.xml")));
	char *x = slurp_file(path_in(dir, "junit.xml"));
	ASSERT(strncmp(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39) == 0);
	ASSERT_CONTAINS(x, "<testsuites tests=\"3\" failures=\"1\" errors=\"0\" "
			   "skipped=\"1\" time=\"3.000\">");
	ASSERT_CONTAINS(x, "<testsuite name=\"" XSS_ESCAPED "\" tests=\"3\" "
			   "failures=\"1\" errors=\"0\" skipped=\"1\" time=\"3.000\" "
			   "timestamp=\"1970-01-01T00:00:00\" hostname=\"" XSS_ESCAPED "\">");
	ASSERT_EQ(count_of(x, "<testcase "), 3);
	ASSERT_EQ(count_of(x, "<failure "), 1);
	ASSERT_EQ(count_of(x, "<skipped "), 1);
	ASSERT_CONTAINS(x, "<failure message=\"" XSS_ESCAPED "\" type=\"check\">"
			   "measured 2.00 ms, threshold 1.00 ms</failure>");
	ASSERT_CONTAINS(x, "<skipped message=\"not run\xef\xbf\xbd here\"/>");
	ASSERT_CONTAINS(x, "<property name=\"fault_plan\" value=\"" XSS_ESCAPED "\"/>");
	ASSERT_LACKS(x, "<script");
	ASSERT_LACKS(x, "\x01");
	free(x);
	fl_report_free(r);
	scratch_free(dir);
}

/* Runs xmllint against the shipped JUnit schema; its exit status. */
static int xsd_check(const char *path)
{
	char cmd[2560];
	snprintf(cmd, sizeof(cmd),
		 "xmllint --noout --schema %s/tests/reports/junit.xsd '%s' >/dev/null 2>&1",
		 FL_SOURCE_DIR, path);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One <testsuite> per scenario ("scenario: check"), with the scenario's
 * time and the run's properties; schema-valid for CI servers (the XSD is
 * tests/reports/junit.xsd), which a doctored copy is not. */
FL_TEST(junit_one_suite_per_scenario_and_valid)
{
	char *dir = scratch_dir();
	struct fl_report_opts o = {.seed = 9, .backend = "sim", .start_unix_ns = 1};
	fl_report *r = NULL;
	ASSERT_OK(fl_report_new("suite", &o, &r));
	ASSERT_OK(fl_report_add_check(r, "alpha: conservation", FL_REPORT_PASS, 5, 5, NULL, ""));
	ASSERT_OK(fl_report_add_check(r, "beta: no leaks", FL_REPORT_FAIL, 1, 0, NULL, "1 task"));
	ASSERT_OK(fl_report_add_check(r, "alpha: no crash", FL_REPORT_SKIP, NAN, NAN, NULL, "x"));
	ASSERT_OK(fl_report_add_counter(r, "alpha.duration_ns", 1500000000));
	char path[1024];
	snprintf(path, sizeof(path), "%s", path_in(dir, "junit.xml"));
	ASSERT_OK(fl_report_write_junit(r, path));
	char *x = slurp_file(path);
	ASSERT_EQ(count_of(x, "<testsuite "), 2);
	ASSERT_CONTAINS(x, "<testsuite name=\"alpha\" tests=\"2\" failures=\"0\" errors=\"0\" "
			   "skipped=\"1\" time=\"1.500\"");
	ASSERT_CONTAINS(x, "<testsuite name=\"beta\" tests=\"1\" failures=\"1\"");
	ASSERT_CONTAINS(x, "<testcase name=\"conservation\" classname=\"faultline.suite.alpha\"");
	ASSERT_CONTAINS(x, "<property name=\"backend\" value=\"sim\"/>");
	ASSERT_EQ(count_of(x, "<properties>"), 2);
	ASSERT_EQ(xsd_check(path), 0);
	/* the negative control: a testcase without its classname */
	char *cut = strstr(x, " classname=");
	ASSERT(cut != NULL);
	memmove(cut, strchr(cut + 12, '"') + 1, strlen(strchr(cut + 12, '"') + 1) + 1);
	spit_file(path_in(dir, "bad.xml"), x);
	snprintf(path, sizeof(path), "%s", path_in(dir, "bad.xml"));
	ASSERT_NE(xsd_check(path), 0);
	free(x);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST(markdown_escaping)
{
	fl_report *r = fixed_report("md|run");
	ASSERT_OK(fl_report_add_check(r, "a|b*c_d`e", FL_REPORT_FAIL, 1.5e6, 1e6, "ns",
				      "line1\nline2 | <b>x</b>"));
	ASSERT_OK(fl_report_add_check(r, "plain", FL_REPORT_PASS, 3, 4, "ops", NULL));
	ASSERT_OK(fl_report_add_check(r, "big", FL_REPORT_PASS, 2000000, 1e7, "items", NULL));
	fl_report_stats st = {.count = 10, .max = 5000};
	ASSERT_OK(fl_report_add_hist_stats(r, "e2e|x", &st));
	ASSERT_OK(fl_report_add_counter(r, "n|m", 7));
	ASSERT_OK(fl_report_add_fault_event(r, 1, "p|q", "a"));
	fl_report_stats quiet = {0}, busy = mk_stats(300, 1000, 2000000, 3000000, 4000000);
	ASSERT_OK(fl_report_add_series_interval_stats(r, "s|e", 0, 100000000, &quiet));
	ASSERT_OK(fl_report_add_series_interval_stats(r, "s|e", 100000000, 100000000, &busy));
	char *md = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&md, &len);
	ASSERT_OK(fl_report_print_markdown(r, m));
	fclose(m);
	ASSERT(strncmp(md, "# md\\|run — FAIL\n", strlen("# md\\|run — FAIL\n")) == 0);
	ASSERT_CONTAINS(md, "| ❌ **fail** | a\\|b\\*c\\_d\\`e | 1.50 ms | 1.00 ms | "
			    "line1 line2 \\| \\<b\\>x\\</b\\> |\n");
	ASSERT_CONTAINS(md, "| ✅ pass | plain | 3 ops | 4 ops |  |\n");
	ASSERT_CONTAINS(md, "| ✅ pass | big | 2000000 items | 10000000 items |  |\n");
	ASSERT_CONTAINS(md, "| e2e\\|x | 10 |");
	ASSERT_CONTAINS(md, "| n\\|m | 7 |");
	ASSERT_CONTAINS(md, "| p\\|q | a | 1 |");
	/* the series: 0 and 3000 items/s, the busy interval's p99 at 100 ms */
	ASSERT_CONTAINS(md, "## Over time");
	ASSERT_CONTAINS(md, "| s\\|e | 2 x 100 ms | 0..3k/s | 2.00 ms | 100 ms |\n");
	/* Every table row has exactly as many unescaped pipes as its header. */
	for (char *line = md; *line;) {
		char *nl = strchr(line, '\n');
		size_t pipes = 0;
		for (char *p = line; p < nl; p++)
			pipes += *p == '|' && (p == line || p[-1] != '\\');
		ASSERT(pipes == 0 || pipes == 3 || pipes == 4 || pipes == 6 || pipes == 10);
		line = nl + 1;
	}
	free(md);
	fl_report_free(r);
}

FL_TEST(html_escapes_everything_and_fetches_nothing)
{
	char *dir = scratch_dir();
	fl_report *r = hostile_report();
	ASSERT_OK(fl_report_write_html(r, dir));
	char *h = slurp_file(path_in(dir, "index.html"));
	ASSERT(strncmp(h, "<!DOCTYPE html>\n", 16) == 0);
	ASSERT_LACKS(h, "<script");
	ASSERT_LACKS(h, "http://");
	ASSERT_LACKS(h, "https://");
	ASSERT_LACKS(h, "src=");
	ASSERT_LACKS(h, "href=");
	ASSERT_LACKS(h, "url(");
	ASSERT_LACKS(h, "@import");
	ASSERT_CONTAINS(h, "<title>" XSS_ESCAPED " \xe2\x80\x94 faultline run report</title>");
	/* Each field appears escaped: name, plan, backend, rev, host x3, hist,
	 * series, counter, fault point and action, check name and message. */
	ASSERT_GE(count_of(h, XSS_ESCAPED), 14);
	ASSERT_EQ(count_of(h, "<svg class=\"plot\""), 4);
	ASSERT_CONTAINS(h, "<span class=\"pill fail\">fail</span>");
	ASSERT_CONTAINS(h, "<span class=\"verdict fail\">FAIL</span>");
	ASSERT_CONTAINS(h, "<b>500 items/s</b>");       /* 1500 items in 3 s */
	ASSERT_CONTAINS(h, "stroke-dasharray=\"7 4\""); /* SLO lines */
	ASSERT_CONTAINS(h, "\xe2\x9c\x97 broken");      /* stage p50 <= 100 ns */
	ASSERT_CONTAINS(h, "<td class=\"n bad\">");     /* the broken cell */
	free(h);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST(html_of_an_empty_report)
{
	char *dir = scratch_dir();
	fl_report *r = fixed_report("empty");
	fl_hdr *h = NULL;
	ASSERT_OK(fl_hdr_new(1, 1000, 1, &h));
	ASSERT_OK(fl_report_add_hist(r, "nothing", h, FL_REPORT_TAKE));
	ASSERT_OK(fl_report_write_html(r, dir));
	char *s = slurp_file(path_in(dir, "index.html"));
	ASSERT_EQ(count_of(s, "<svg"), 0);
	ASSERT_CONTAINS(s, "No checks were recorded.");
	ASSERT_CONTAINS(s, "No histogram has enough samples to plot.");
	ASSERT_CONTAINS(s, "No interval series were recorded.");
	ASSERT_CONTAINS(s, "No faults were injected.");
	ASSERT_CONTAINS(s, "<span class=\"verdict none\">NO CHECKS</span>");
	ASSERT_CONTAINS(s, "</html>\n");
	free(s);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST(html_of_a_loaded_report)
{
	/* A report read back from JSON has summaries only; it still plots. */
	char *dir = scratch_dir();
	fl_report *r = hostile_report(), *back = NULL;
	ASSERT_OK(fl_report_write_json(r, path_in(dir, "r.json")));
	ASSERT_OK(fl_report_load_json(path_in(dir, "r.json"), &back));
	ASSERT_OK(fl_report_write_all(back, dir));
	char *s = slurp_file(path_in(dir, "index.html"));
	ASSERT_EQ(count_of(s, "<svg class=\"plot\""), 4);
	ASSERT_GE(count_of(s, " d=\"M"), 4);
	ASSERT_LACKS(s, "<script");
	free(s);
	bool tmp;
	ASSERT_EQ(dir_entries(dir, &tmp), 5); /* r.json and the four outputs */
	ASSERT(!tmp);
	fl_report_free(back);
	fl_report_free(r);
	scratch_free(dir);
}

/* The HTML's over-time section of report r, as a string (owned). */
static char *time_section(fl_report *r, char *dir)
{
	ASSERT_OK(fl_report_write_html(r, dir));
	char *s = slurp_file(path_in(dir, "index.html"));
	char *a = strstr(s, "id=\"time\""), *b = a ? strstr(a, "</section>") : NULL;
	ASSERT(a && b);
	*b = 0;
	char *t = strdup(a);
	free(s);
	return t;
}

/* A suite's series: a pair of time plots per scenario that has enough
 * intervals, over its own span, its fault rules only, its prefix out of
 * the legend; a scenario with one interval is listed as not plotted. The
 * control: one scenario's series get one pair on the run's axis. */
FL_TEST(html_time_plots_one_pair_per_scenario)
{
	char *dir = scratch_dir();
	fl_report *r = fixed_report("suite");
	const int64_t S = 1000000000;
	for (int i = 0; i < 4; i++) {
		ASSERT_OK(fl_report_add_series_interval(r, "alpha.e2e", i * S / 10, S / 10,
							hist_of(1000, 50), FL_REPORT_TAKE));
		ASSERT_OK(fl_report_add_series_interval(r, "alpha.stage", i * S / 10, S / 10,
							hist_of(300, 50), FL_REPORT_TAKE));
		ASSERT_OK(fl_report_add_series_interval(r, "beta.e2e", 2 * S + i * S / 10, S / 10,
							hist_of(2000, 50), FL_REPORT_TAKE));
	}
	ASSERT_OK(fl_report_add_series_interval(r, "gamma.e2e", 5 * S, S / 10, hist_of(10, 50),
						FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_fault_event(r, 2 * S + S / 10, "disk", "error"));
	char *t = time_section(r, dir);
	ASSERT_EQ(count_of(t, "<svg class=\"plot\""), 4);
	ASSERT_EQ(count_of(t, "<h3>"), 2);
	char *alpha = strstr(t, "<h3>alpha</h3>"), *beta = strstr(t, "<h3>beta</h3>");
	ASSERT(alpha && beta && alpha < beta);
	beta[-1] = 0; /* alpha's pair alone */
	ASSERT_LACKS(alpha, "beta.e2e");
	ASSERT_LACKS(alpha, "fault fired");
	ASSERT_CONTAINS(alpha, "<title>alpha.stage at ");
	ASSERT_CONTAINS(alpha, ">stage</text>"); /* the legend leaves the prefix out */
	ASSERT_CONTAINS(beta + 1, "fault fired");
	ASSERT_LACKS(t, "gamma.e2e");
	ASSERT_CONTAINS(beta + 1, "Not plotted: 1 scenario whose series have fewer than 3");
	free(t);
	fl_report_free(r);
	r = fixed_report("one");
	for (int i = 0; i < 4; i++)
		ASSERT_OK(fl_report_add_series_interval(r, "alpha.e2e", i * S / 10, S / 10,
							hist_of(1000, 50), FL_REPORT_TAKE));
	t = time_section(r, dir);
	ASSERT_EQ(count_of(t, "<svg class=\"plot\""), 2);
	ASSERT_EQ(count_of(t, "<h3>"), 0);
	free(t);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST(atomic_write_leaves_no_temp_files)
{
	char *dir = scratch_dir();
	fl_report *r = hostile_report();
	ASSERT_OK(fl_report_write_all(r, dir));
	bool tmp;
	ASSERT_EQ(dir_entries(dir, &tmp), 4);
	ASSERT(!tmp);
	/* Overwriting replaces the file whole. */
	spit_file(path_in(dir, "summary.md"), "old");
	ASSERT_OK(fl_report_write_markdown(r, path_in(dir, "summary.md")));
	char *s = slurp_file(path_in(dir, "summary.md"));
	ASSERT(strncmp(s, "# \\<script\\>", strlen("# \\<script\\>")) == 0);
	free(s);
	ASSERT_EQ(dir_entries(dir, &tmp), 4);
	ASSERT(!tmp);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST(atomic_abort_keeps_the_old_file)
{
	char *dir = scratch_dir();
	spit_file(path_in(dir, "t.txt"), "complete old version\n");
	fl_report_file *f = NULL;
	ASSERT_OK(fl_report_file_open(path_in(dir, "t.txt"), &f));
	bool tmp;
	ASSERT_EQ(dir_entries(dir, &tmp), 2);
	ASSERT(tmp); /* the temporary file, not the target, is being written */
	fputs("half a new ver", fl_report_file_stream(f));
	char *s = slurp_file(path_in(dir, "t.txt"));
	ASSERT_STR_EQ(s, "complete old version\n");
	free(s);
	fl_report_file_abort(f);
	ASSERT_EQ(dir_entries(dir, &tmp), 1);
	ASSERT(!tmp);
	ASSERT_OK(fl_report_file_open(path_in(dir, "t.txt"), &f));
	fputs("new\n", fl_report_file_stream(f));
	ASSERT_OK(fl_report_file_commit(f));
	s = slurp_file(path_in(dir, "t.txt"));
	ASSERT_STR_EQ(s, "new\n");
	free(s);
	ASSERT_EQ(dir_entries(dir, &tmp), 1);
	fl_report_file_abort(NULL);
	scratch_free(dir);
}

/* What is not a regular file is never replaced: a FIFO and a device are
 * written in place, a symbolic link keeps pointing at its (renewed)
 * target. (Run as root, --json /dev/stdout once replaced the link with a
 * regular file.) */
FL_TEST(special_files_are_written_in_place)
{
	char *dir = scratch_dir();
	/* a FIFO: its reader gets the bytes, the FIFO stays a FIFO */
	char fifo[1024];
	snprintf(fifo, sizeof(fifo), "%s", path_in(dir, "pipe"));
	ASSERT_EQ(mkfifo(fifo, 0600), 0);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ASSERT(rd >= 0);
	fl_report_file *f = NULL;
	ASSERT_OK(fl_report_file_open(fifo, &f));
	fputs("through the pipe\n", fl_report_file_stream(f));
	ASSERT_OK(fl_report_file_commit(f));
	char buf[64] = {0};
	ASSERT_EQ(read(rd, buf, sizeof(buf) - 1), 17);
	ASSERT_STR_EQ(buf, "through the pipe\n");
	close(rd);
	struct stat st;
	ASSERT_EQ(lstat(fifo, &st), 0);
	ASSERT(S_ISFIFO(st.st_mode));
	/* a character device */
	ASSERT_OK(fl_report_file_open("/dev/null", &f));
	fputs("nothing", fl_report_file_stream(f));
	ASSERT_OK(fl_report_file_commit(f));
	ASSERT_EQ(lstat("/dev/null", &st), 0);
	ASSERT(S_ISCHR(st.st_mode));
	/* a symbolic link: the target is written anew, the link stays */
	spit_file(path_in(dir, "real.json"), "old");
	ASSERT_EQ(symlink("real.json", path_in(dir, "link.json")), 0);
	ASSERT_OK(fl_report_file_open(path_in(dir, "link.json"), &f));
	fputs("new", fl_report_file_stream(f));
	ASSERT_OK(fl_report_file_commit(f));
	ASSERT_EQ(lstat(path_in(dir, "link.json"), &st), 0);
	ASSERT(S_ISLNK(st.st_mode));
	char *s = slurp_file(path_in(dir, "real.json"));
	ASSERT_STR_EQ(s, "new");
	free(s);
	bool tmp;
	ASSERT_EQ(dir_entries(dir, &tmp), 3);
	ASSERT(!tmp);
	/* "-" is standard output, which stays open */
	ASSERT_OK(fl_report_file_open("-", &f));
	ASSERT(fl_report_file_stream(f) == stdout);
	ASSERT_OK(fl_report_file_commit(f));
	ASSERT(fputs("", stdout) >= 0);
	scratch_free(dir);
}

/* Writes with fn into a missing directory and checks the error. */
static void expect_enoent(fl_err *err, const char *path)
{
	char buf[512];
	ASSERT_NOT_NULL(err);
	fl_err_format(err, buf, sizeof(buf));
	ASSERT(fl_err_is(err, FL_ERR_SYSTEM));
	ASSERT_EQ(*(const int *)fl_err_as(err, &fl_err_errno_type), ENOENT);
	ASSERT_CONTAINS(buf, path);
	ASSERT_CONTAINS(buf, "No such file or directory");
	fl_err_drop(err);
}

FL_TEST(write_into_missing_dir_names_the_path)
{
	char *dir = scratch_dir();
	fl_report *r = fixed_report("x");
	char missing[600];
	snprintf(missing, sizeof(missing), "%s/no/such", dir);
	char target[700];
	snprintf(target, sizeof(target), "%s/report.json", missing);
	expect_enoent(fl_report_write_json(r, target), target);
	snprintf(target, sizeof(target), "%s/junit.xml", missing);
	expect_enoent(fl_report_write_junit(r, target), target);
	snprintf(target, sizeof(target), "%s/summary.md", missing);
	expect_enoent(fl_report_write_markdown(r, target), target);
	snprintf(target, sizeof(target), "%s/index.html", missing);
	expect_enoent(fl_report_write_html(r, missing), target);
	expect_enoent(fl_report_write_all(r, missing), missing);
	bool tmp;
	ASSERT_EQ(dir_entries(dir, &tmp), 0);
	fl_report_free(r);
	scratch_free(dir);
}

/* True if s[0..len) is UTF-8 (RFC 3629: no overlongs, no surrogates). */
static bool valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		unsigned c = *p;
		size_t n = c < 0x80                 ? 1
			   : c >= 0xc2 && c <= 0xdf ? 2
			   : c >= 0xe0 && c <= 0xef ? 3
			   : c >= 0xf0 && c <= 0xf4 ? 4
						    : 0;
		if (n == 0 || (size_t)(end - p) < n)
			return false;
		uint32_t cp = n == 1 ? c : c & (0x7f >> n);
		for (size_t i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n;
	}
	return true;
}

/* Names, errors and messages with bytes that are not UTF-8 (a stray
 * 0xff, a truncated sequence, an overlong '/', a surrogate): every file
 * of the set is valid UTF-8 with U+FFFD in their place. */
FL_TEST(invalid_utf8_becomes_replacement_in_every_format)
{
	static const char *const bad[] = {"run\xff", "chk\xe2\x82", "msg\xc0\xaf",
					  "sur\xed\xa0\x80", "ctl\x01"};
	for (size_t i = 0; i < 5; i++) /* the validator's negative control */
		ASSERT(!valid_utf8(bad[i], strlen(bad[i])) || bad[i][3] == 1);
	ASSERT(valid_utf8("\xe2\x80\x94 \xef\xbf\xbd", 7));
	char *dir = scratch_dir();
	fl_report *r = fixed_report(bad[0]);
	ASSERT_OK(fl_report_add_check(r, bad[1], FL_REPORT_FAIL, 2, 1, "ops", bad[2]));
	ASSERT_OK(fl_report_add_check(r, "ok", FL_REPORT_PASS, 1, 2, "ops", bad[3]));
	ASSERT_OK(fl_report_add_counter(r, bad[4], 3));
	ASSERT_OK(fl_report_add_fault_event(r, 1, bad[1], bad[2]));
	ASSERT_OK(fl_report_write_all(r, dir));
	static const char *const files[] = {"summary.md", "index.html", "report.json", "junit.xml"};
	for (size_t f = 0; f < 4; f++) {
		char *text = slurp_file(path_in(dir, files[f]));
		if (!valid_utf8(text, strlen(text)))
			FL_FAIL("%s is not valid UTF-8", files[f]);
		if (count_of(text, "\xef\xbf\xbd") < 3)
			FL_FAIL("%s: %zu replacement characters", files[f],
				count_of(text, "\xef\xbf\xbd"));
		free(text);
	}
	char *md = slurp_file(path_in(dir, "summary.md"));
	ASSERT_CONTAINS(md, "# run\xef\xbf\xbd ");
	ASSERT_CONTAINS(md, "chk\xef\xbf\xbd\xef\xbf\xbd |");
	ASSERT_CONTAINS(md, "msg\xef\xbf\xbd\xef\xbf\xbd |");
	ASSERT_CONTAINS(md, "ctl\xef\xbf\xbd |");
	free(md);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST_MAIN(FL_CASE(junit_counts_and_escaping), FL_CASE(html_time_plots_one_pair_per_scenario),
	     FL_CASE(markdown_escaping), FL_CASE(invalid_utf8_becomes_replacement_in_every_format),
	     FL_CASE(junit_one_suite_per_scenario_and_valid),
	     FL_CASE(special_files_are_written_in_place),
	     FL_CASE(html_escapes_everything_and_fetches_nothing), FL_CASE(html_of_an_empty_report),
	     FL_CASE(html_of_a_loaded_report), FL_CASE(atomic_write_leaves_no_temp_files),
	     FL_CASE(atomic_abort_keeps_the_old_file),
	     FL_CASE(write_into_missing_dir_names_the_path))
