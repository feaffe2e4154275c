/*
 * report_merge.c - combining results of shards: reports and .hlog files.
 *
 * Merging is addition, never averaging, so that a merged result is the
 * result one machine would have recorded running every shard's work:
 *   - histograms of the same name add (fl_hdr_add at the destination's
 *     resolution, which is lossless when both have the same layout, as
 *     shards of one sweep do); a histogram known only by its summary
 *     cannot be added and is refused rather than approximated;
 *   - series intervals with the same start and length add, others are
 *     inserted in start order;
 *   - counters of the same name add; SLOs, fault events and checks are
 *     appended (an SLO already present is kept once);
 *   - the duration is the longest (shards run side by side).
 * .hlog files: intervals with equal tag, start and end add; the rest are
 * kept as they are; the output is sorted by start time, then tag, under
 * the earliest StartTime.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <fl/hdr.h>
#include <fl/hdr_log.h>
#include <fl/report.h>

#include "report_internal.h"

static fl_err *merge_hist(fl_report *dst, const fl_report_hist *s)
{
	if (!s->hdr)
		return fl_err_wrap(FL_ERR_INVAL,
				   "histogram \"%s\" has only a summary: it cannot be merged "
				   "losslessly",
				   s->name);
	fl_report_hist *d = NULL;
	for (size_t i = 0; i < dst->nhists; i++)
		if (strcmp(dst->hists[i].name, s->name) == 0)
			d = &dst->hists[i];
	fl_err *e = NULL;
	if (d && !d->hdr)
		return fl_err_wrap(FL_ERR_INVAL,
				   "histogram \"%s\" has only a summary: it cannot be merged "
				   "losslessly",
				   s->name);
	if (d) {
		fl_hdr_add(d->hdr, s->hdr);
	} else {
		fl_hdr *c;
		if ((e = fl_hdr_clone(s->hdr, &c)))
			return e;
		if ((e = fl_report_add_hist(dst, s->name, c, FL_REPORT_TAKE))) {
			fl_hdr_free(c);
			return e;
		}
	}
	for (size_t k = 0; k < s->nslos && !e; k++) {
		const fl_report_hist *h = fl_report_find_hist(dst, s->name);
		bool have = false;
		for (size_t j = 0; j < h->nslos; j++)
			have |= h->slos[j].percentile == s->slos[k].percentile &&
				h->slos[j].threshold_ns == s->slos[k].threshold_ns;
		if (!have)
			e = fl_report_add_slo(dst, s->name, s->slos[k].percentile,
					      s->slos[k].threshold_ns);
	}
	return e;
}

static fl_err *merge_series(fl_report *dst, const fl_report_series *s)
{
	for (size_t k = 0; k < s->nivs; k++) {
		const fl_report_interval *iv = &s->ivs[k];
		if (!iv->hdr)
			return fl_err_wrap(FL_ERR_INVAL,
					   "series \"%s\" interval at %" PRId64 " ns has only a "
					   "summary: it cannot be merged losslessly",
					   s->name, iv->start_ns);
		const fl_report_series *d = fl_report_find_series(dst, s->name);
		fl_report_interval *same = NULL;
		for (size_t j = 0; d && j < d->nivs; j++)
			if (d->ivs[j].start_ns == iv->start_ns &&
			    d->ivs[j].length_ns == iv->length_ns)
				same = &d->ivs[j];
		if (same && !same->hdr)
			return fl_err_wrap(FL_ERR_INVAL, "series \"%s\": a summary-only interval",
					   s->name);
		if (same) {
			fl_hdr_add(same->hdr, iv->hdr);
			continue;
		}
		fl_hdr *c;
		fl_err *e = fl_hdr_clone(iv->hdr, &c);
		if (e)
			return e;
		if ((e = fl_report_add_series_interval(dst, s->name, iv->start_ns, iv->length_ns, c,
						       FL_REPORT_TAKE))) {
			fl_hdr_free(c);
			return e;
		}
		/* Keep the series in start order: move the new interval back. */
		fl_report_series *ds = (fl_report_series *)fl_report_find_series(dst, s->name);
		for (size_t j = ds->nivs - 1;
		     j > 0 && ds->ivs[j - 1].start_ns > ds->ivs[j].start_ns; j--) {
			fl_report_interval t = ds->ivs[j];
			ds->ivs[j] = ds->ivs[j - 1];
			ds->ivs[j - 1] = t;
		}
	}
	return NULL;
}

fl_err *fl_report_merge(fl_report *dst, const fl_report *src)
{
	fl_err *e = NULL;
	for (size_t i = 0; i < src->nhists && !e; i++)
		e = merge_hist(dst, &src->hists[i]);
	for (size_t i = 0; i < src->nseries && !e; i++)
		e = merge_series(dst, &src->series[i]);
	for (size_t i = 0; i < src->ncounters && !e; i++) {
		const fl_report_counter *c = &src->counters[i];
		fl_report_counter *d = (fl_report_counter *)fl_report_find_counter(dst, c->name);
		if (d)
			d->value += c->value;
		else
			e = fl_report_add_counter(dst, c->name, c->value);
	}
	for (size_t i = 0; i < src->nfaults && !e; i++)
		e = fl_report_add_fault_event(dst, src->faults[i].at_ns, src->faults[i].point,
					      src->faults[i].action);
	for (size_t i = 0; i < src->nchecks && !e; i++) {
		const fl_report_check *c = &src->checks[i];
		e = fl_report_add_check(dst, c->name, c->verdict, c->measured, c->threshold,
					c->unit, c->message);
		if (!e)
			dst->checks[dst->nchecks - 1].time_ns = c->time_ns;
	}
	if (!e && src->duration_ns > dst->duration_ns)
		dst->duration_ns = src->duration_ns;
	return e;
}

/* ---- .hlog ------------------------------------------------------------------------- */

typedef struct entry {
	fl_hdr *h;
	char tag[FL_HDR_LOG_TAG_MAX + 1];
	int64_t start, end;
} entry;

static int cmp_entry(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->tag, y->tag);
}

static fl_err *read_log(FILE *in, const char *name, entry **v, size_t *n, size_t *cap,
			int64_t *start)
{
	fl_hdr_log_reader *r;
	fl_err *e = fl_hdr_log_reader_new(in, &r);
	if (e)
		return e;
	for (;;) {
		fl_hdr_log_entry le;
		if ((e = fl_hdr_log_read(r, &le))) {
			e = fl_err_wrap(e, "%s", name);
			break;
		}
		if (!le.hist)
			break;
		entry *same = NULL;
		for (size_t k = 0; k < *n; k++)
			if ((*v)[k].start == le.start_ns && (*v)[k].end == le.end_ns &&
			    strcmp((*v)[k].tag, le.tag) == 0)
				same = &(*v)[k];
		if (same) {
			fl_hdr_add(same->h, le.hist);
			fl_hdr_free(le.hist);
			continue;
		}
		if (!fl__report_grow((void **)v, cap, *n + 1, sizeof(**v))) {
			fl_hdr_free(le.hist);
			e = FL_ERR_NOMEM;
			break;
		}
		entry *x = &(*v)[(*n)++];
		x->h = le.hist;
		memcpy(x->tag, le.tag, sizeof(x->tag));
		x->start = le.start_ns;
		x->end = le.end_ns;
	}
	int64_t s = fl_hdr_log_reader_start_ns(r);
	if (s && (!*start || s < *start))
		*start = s;
	fl_hdr_log_reader_free(r);
	return e;
}

fl_err *fl_report_merge_hlogs(const char *out, const char *const *in, size_t n)
{
	entry *v = NULL;
	size_t nv = 0, cap = 0;
	int64_t start = 0;
	fl_err *e = NULL;
	for (size_t i = 0; i < n && !e; i++) {
		FILE *f = fopen(in[i], "r");
		if (!f) {
			e = fl_err_errno(errno, "open %s", in[i]);
			break;
		}
		e = read_log(f, in[i], &v, &nv, &cap, &start);
		fclose(f);
	}
	if (!e && nv)
		qsort(v, nv, sizeof(*v), cmp_entry);
	fl_report_file *rf = NULL;
	fl_hdr_log_writer *w = NULL;
	if (!e)
		e = fl_report_file_open(out, &rf);
	if (!e)
		e = fl_hdr_log_writer_new(fl_report_file_stream(rf), NULL, &w);
	if (!e)
		e = fl_hdr_log_write_header(w, start ? start : (nv ? v[0].start : 0), 0);
	for (size_t k = 0; k < nv && !e; k++)
		e = fl_hdr_log_write_interval(w, v[k].h, v[k].start, v[k].end,
					      v[k].tag[0] ? v[k].tag : NULL);
	fl_hdr_log_writer_free(w);
	if (rf)
		e = e ? (fl_report_file_abort(rf), e) : fl_report_file_commit(rf);
	for (size_t k = 0; k < nv; k++)
		fl_hdr_free(v[k].h);
	free(v);
	return e;
}
