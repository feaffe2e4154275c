/* fl-test-labels: memcheck */
/*
 * test_report_merge.c - fl_report_merge and fl_report_merge_hlogs: shards'
 * results add up (histograms, counters, intervals), nothing is averaged,
 * and a summary-only histogram is refused rather than approximated.
 */
#include <fl/hdr.h>
#include <fl/hdr_log.h>
#include <fl/report.h>

#include "test_report_util.h"

static fl_hdr *hist_of(int64_t from, int64_t to, int64_t step)
{
	fl_hdr *h;
	ASSERT_OK(fl_hdr_new(1, 3600000000000LL, 3, &h));
	for (int64_t v = from; v <= to; v += step)
		fl_hdr_record(h, v);
	return h;
}

FL_TEST(reports_add)
{
	fl_report *a, *b;
	ASSERT_OK(fl_report_new("a", NULL, &a));
	ASSERT_OK(fl_report_new("b", NULL, &b));
	ASSERT_OK(fl_report_add_hist(a, "e2e", hist_of(1000, 2000, 10), FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_hist(b, "e2e", hist_of(5000, 9000, 10), FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_hist(b, "only_b", hist_of(7, 7, 1), FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_slo(b, "e2e", 99, 8000));
	ASSERT_OK(fl_report_add_counter(a, "items", 101));
	ASSERT_OK(fl_report_add_counter(b, "items", 401));
	ASSERT_OK(fl_report_add_series_interval(a, "e2e", 1000, 1000, hist_of(10, 10, 1),
						FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_series_interval(b, "e2e", 1000, 1000, hist_of(20, 20, 1),
						FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_series_interval(b, "e2e", 0, 1000, hist_of(30, 30, 1),
						FL_REPORT_TAKE));
	ASSERT_OK(fl_report_set_duration(a, 5));
	ASSERT_OK(fl_report_set_duration(b, 9));

	ASSERT_OK(fl_report_merge(a, b));
	const fl_report_hist *h = fl_report_find_hist(a, "e2e");
	ASSERT_EQ(fl_hdr_total_count(h->hdr), 101 + 401);
	ASSERT_EQ(fl_hdr_min(h->hdr), 1000);
	ASSERT(fl_hdr_values_are_equivalent(h->hdr, fl_hdr_max(h->hdr), 9000));
	ASSERT_EQ(h->nslos, 1);
	ASSERT_EQ(fl_hdr_total_count(fl_report_find_hist(a, "only_b")->hdr), 1);
	ASSERT_EQ(fl_report_find_counter(a, "items")->value, 502);
	const fl_report_series *s = fl_report_find_series(a, "e2e");
	ASSERT_EQ(s->nivs, 2);
	ASSERT_EQ(s->ivs[0].start_ns, 0);                /* inserted in start order */
	ASSERT_EQ(fl_hdr_total_count(s->ivs[1].hdr), 2); /* same interval: added */
	ASSERT_EQ(a->duration_ns, 9);
	/* Merging again adds again: an SLO stays single. */
	ASSERT_OK(fl_report_merge(a, b));
	ASSERT_EQ(fl_report_find_counter(a, "items")->value, 903);
	ASSERT_EQ(fl_report_find_hist(a, "e2e")->nslos, 1);
	fl_report_free(a);
	fl_report_free(b);
}

static void write_log(const char *path, int64_t t0, int64_t v, const char *tag2)
{
	FILE *f = fopen(path, "w");
	ASSERT(f != NULL);
	fl_hdr_log_writer *w;
	ASSERT_OK(fl_hdr_log_writer_new(f, NULL, &w));
	ASSERT_OK(fl_hdr_log_write_header(w, t0, 0));
	fl_hdr *h = hist_of(v, v + 90, 10);
	ASSERT_OK(fl_hdr_log_write_interval(w, h, t0, t0 + 1000000000, "response"));
	ASSERT_OK(fl_hdr_log_write_interval(w, h, t0, t0 + 1000000000, tag2));
	fl_hdr_free(h);
	fl_hdr_log_writer_free(w);
	ASSERT_EQ(fclose(f), 0);
}

FL_TEST(hlogs_add)
{
	char dir[] = "/tmp/fl-merge-XXXXXX";
	ASSERT(mkdtemp(dir) != NULL);
	char p1[64], p2[64], out[64];
	snprintf(p1, sizeof(p1), "%s/a.hlog", dir);
	snprintf(p2, sizeof(p2), "%s/b.hlog", dir);
	snprintf(out, sizeof(out), "%s/all.hlog", dir);
	int64_t t0 = 1700000000000000000LL;
	write_log(p1, t0, 1000, "a_only");
	write_log(p2, t0, 5000, "b_only");
	const char *in[] = {p1, p2};
	ASSERT_OK(fl_report_merge_hlogs(out, in, 2));
	FILE *f = fopen(out, "r");
	ASSERT(f != NULL);
	fl_hdr *m;
	ASSERT_OK(fl_hdr_log_read_merged(f, "response", &m));
	ASSERT_EQ(fl_hdr_total_count(m), 20); /* the two shards' intervals added */
	ASSERT_EQ(fl_hdr_min(m), 1000);
	fl_hdr_free(m);
	rewind(f);
	fl_hdr_log_reader *r;
	ASSERT_OK(fl_hdr_log_reader_new(f, &r));
	int n = 0;
	for (;;) {
		fl_hdr_log_entry e;
		ASSERT_OK(fl_hdr_log_read(r, &e));
		if (!e.hist)
			break;
		n++;
		ASSERT_EQ(e.start_ns, t0);
		ASSERT_EQ(fl_hdr_total_count(e.hist), strcmp(e.tag, "response") ? 10 : 20);
		fl_hdr_free(e.hist);
	}
	ASSERT_EQ(n, 3); /* a_only, b_only, response (merged) */
	fl_hdr_log_reader_free(r);
	fclose(f);
	/* A missing input is an error naming it; the output is untouched. */
	const char *bad[] = {p1, "/nonexistent/x.hlog"};
	fl_err *e = fl_report_merge_hlogs(out, bad, 2);
	ASSERT(e != NULL);
	char buf[256];
	fl_err_format(e, buf, sizeof(buf));
	ASSERT_CONTAINS(buf, "/nonexistent/x.hlog");
	fl_err_drop(e);
	remove(p1);
	remove(p2);
	remove(out);
	rmdir(dir);
}

FL_TEST_MAIN(FL_CASE(reports_add), FL_CASE(hlogs_add))
