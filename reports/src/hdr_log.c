/*
 * hdr_log.c - the interval histogram log (.hlog, format 1.3).
 *
 * Writer. Emits exactly what Java's HistogramLogWriter emits: comment lines,
 * the version line, StartTime (with Java's Date.toString() in UTC), BaseTime,
 * the legend, then one line per interval whose timestamps are relative to
 * BaseTime, each ending in '\n' and flushed. Times are rounded to whole
 * milliseconds first (Java keeps ms), then printed as seconds with three
 * decimals from integers, so no floating point enters the time columns.
 *
 * Reader. A line-at-a-time state machine over getline(): comments may set
 * StartTime/BaseTime, the legend and blank lines are skipped, everything
 * else must be an interval line. It honours the pitfalls of the reference
 * (spec §8): tokens split on any of ", \r\n" (so CRLF files read), the final
 * newline may be missing, a trailing blank line is fine, and a missing
 * BaseTime is inferred from the first timestamp exactly as Java does. Unlike
 * Java it never stops silently: every malformed line is an error naming its
 * line number.
 */
#include "hdr_codec_internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include "fl_alloc_internal.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)
#define YEAR_NS (INT64_C(365) * 24 * 3600 * NS_PER_S)
#define MAX_LINE ((size_t)128 << 20)

struct fl_hdr_log_writer {
	FILE *out;        /* not owned */
	double max_ratio; /* max column divisor */
	int level;        /* zlib level */
	int64_t base_ms;  /* BaseTime; interval times are relative to it */
};

struct fl_hdr_log_reader {
	FILE *in;         /* not owned */
	char *line;       /* getline buffer */
	size_t cap;       /* its capacity */
	long lineno;      /* lines read so far */
	int64_t start_ns; /* StartTime */
	int64_t base_ns;  /* BaseTime */
	bool have_start;  /* StartTime seen or inferred */
	bool have_base;   /* BaseTime seen or inferred */
};

/* ------------------------------------------------------------------------
 * Writer
 */

static fl_err *write_status(FILE *out, const char *what)
{
	if (ferror(out))
		return fl_err_errno(errno ? errno : EIO, "hlog: writing the %s failed", what);
	return NULL;
}

fl_err *fl_hdr_log_writer_new(FILE *out, const struct fl_hdr_log_writer_opts *opts,
			      fl_hdr_log_writer **w)
{
	struct fl_hdr_log_writer_opts o = opts ? *opts : (struct fl_hdr_log_writer_opts){0};
	if (o.max_value_unit_ratio < 0 || o.compression_level < 0 || o.compression_level > 9)
		return fl_err_wrap(FL_ERR_INVAL, "hlog writer: ratio %g or level %d out of range",
				   o.max_value_unit_ratio, o.compression_level);
	fl_hdr_log_writer *x = fl__calloc(1, sizeof(*x));
	if (!x)
		return FL_ERR_NOMEM;
	x->out = out;
	x->max_ratio = o.max_value_unit_ratio > 0 ? o.max_value_unit_ratio : 1e6;
	x->level = o.compression_level > 0 ? o.compression_level : 9;
	*w = x;
	return NULL;
}

void fl_hdr_log_writer_free(fl_hdr_log_writer *w) { free(w); }

/* ns -> ms, rounding half away from zero (Java's timestamps are ms). */
static int64_t ns_to_ms(int64_t ns)
{
	int64_t ms = ns / NS_PER_MS, rem = ns % NS_PER_MS;
	if (rem >= NS_PER_MS / 2)
		ms++;
	else if (rem <= -NS_PER_MS / 2)
		ms--;
	return ms;
}

/* Milliseconds as "[-]s.mmm". */
static void fmt_secs(char *buf, size_t cap, int64_t ms)
{
	uint64_t a = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;
	snprintf(buf, cap, "%s%llu.%03llu", ms < 0 ? "-" : "", (unsigned long long)(a / 1000),
		 (unsigned long long)(a % 1000));
}

fl_err *fl_hdr_log_write_comment(fl_hdr_log_writer *w, const char *text)
{
	if (strpbrk(text, "\r\n"))
		return fl_err_wrap(FL_ERR_INVAL, "hlog: comment contains a line break");
	fprintf(w->out, "#%s\n", text);
	return write_status(w->out, "comment");
}

fl_err *fl_hdr_log_write_header(fl_hdr_log_writer *w, int64_t start_ns, int64_t base_ns)
{
	char secs[40], date[64] = "";
	int64_t start_ms = ns_to_ms(start_ns);
	time_t t = (time_t)(start_ms / 1000);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &tm);
	fmt_secs(secs, sizeof secs, start_ms);
	fputs("#[Histogram log format version 1.3]\n", w->out);
	fprintf(w->out, "#[StartTime: %s (seconds since epoch), %s]\n", secs, date);
	w->base_ms = base_ns != 0 ? ns_to_ms(base_ns) : 0;
	if (base_ns != 0) {
		fmt_secs(secs, sizeof secs, w->base_ms);
		fprintf(w->out, "#[BaseTime: %s (seconds since epoch)]\n", secs);
	}
	fputs("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
	      "\"Interval_Compressed_Histogram\"\n",
	      w->out);
	return write_status(w->out, "header");
}

bool fl_hdr_log_tag_valid(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;
	return n > 0 && n <= FL_HDR_LOG_TAG_MAX && !strpbrk(tag, ", \r\n");
}

fl_err *fl_hdr_log_write_interval(fl_hdr_log_writer *w, const fl_hdr *h, int64_t start_ns,
				  int64_t end_ns, const char *tag)
{
	if (tag && !fl_hdr_log_tag_valid(tag))
		return fl_err_wrap(
			FL_ERR_INVAL,
			"hlog: tag \"%.*s\" is empty, too long or contains ',', space, CR or LF",
			FL_HDR_LOG_TAG_MAX, tag);
	char *b64;
	fl_err *err = fl_hdr_encode_base64(h, w->level, &b64);
	if (err)
		return err;
	char start[40], len[40], max[64];
	int64_t start_ms = ns_to_ms(start_ns);
	fmt_secs(start, sizeof start, start_ms - w->base_ms);
	fmt_secs(len, sizeof len, ns_to_ms(end_ns) - start_ms);
	fl_hdr_format_fixed(max, sizeof max, (double)fl_hdr_max(h) / w->max_ratio, 3);
	if (tag)
		fprintf(w->out, "Tag=%s,", tag);
	fprintf(w->out, "%s,%s,%s,%s\n", start, len, max, b64);
	free(b64);
	fflush(w->out);
	return write_status(w->out, "interval");
}

fl_err *fl_hdr_log_write(fl_hdr_log_writer *w, const fl_hdr *h, const char *tag)
{
	return fl_hdr_log_write_interval(w, h, h->start_ns, h->end_ns, tag);
}

/* ------------------------------------------------------------------------
 * Reader
 */

fl_err *fl_hdr_log_reader_new(FILE *in, fl_hdr_log_reader **r)
{
	fl_hdr_log_reader *x = fl__calloc(1, sizeof(*x));
	if (!x)
		return FL_ERR_NOMEM;
	x->in = in;
	*r = x;
	return NULL;
}

void fl_hdr_log_reader_free(fl_hdr_log_reader *r)
{
	if (!r)
		return;
	free(r->line);
	free(r);
}

int64_t fl_hdr_log_reader_start_ns(const fl_hdr_log_reader *r) { return r->start_ns; }
int64_t fl_hdr_log_reader_base_ns(const fl_hdr_log_reader *r) { return r->base_ns; }

static bool is_sep(char c) { return c == ',' || c == ' ' || c == '\r' || c == '\n'; }

/* Splits s in place on runs of separators; returns the token count (at
 * most max, with *extra set if more followed). */
static int split(char *s, char **tok, int max, bool *extra)
{
	int n = 0;
	*extra = false;
	for (;;) {
		while (*s && is_sep(*s))
			s++;
		if (!*s)
			return n;
		if (n == max) {
			*extra = true;
			return n;
		}
		tok[n++] = s;
		while (*s && !is_sep(*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* Parses "[+-]digits[.digits]" seconds exactly into ns; false if not. */
static bool parse_decimal_secs(const char *s, int64_t *ns)
{
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	int64_t ip = 0, frac = 0, scale = NS_PER_S / 10;
	int digits = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (ip > INT64_MAX / NS_PER_S / 10)
			return false;
		ip = ip * 10 + (*s - '0');
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++, scale /= 10)
			frac += (*s - '0') * scale; /* digits past ns add 0 */
	if (*s != '\0' || digits == 0 || ip > INT64_MAX / NS_PER_S - 1)
		return false;
	*ns = (ip * NS_PER_S + frac) * (neg ? -1 : 1);
	return true;
}

/* Seconds as written by any producer: exact decimal, else strtod. */
static bool parse_secs(const char *s, int64_t *ns)
{
	if (parse_decimal_secs(s, ns))
		return true;
	char *end;
	double d = strtod(s, &end);
	if (end == s || *end != '\0' || !(d > -9.2e9 && d < 9.2e9))
		return false;
	*ns = (int64_t)(d * 1e9 + (d < 0 ? -0.5 : 0.5));
	return true;
}

static fl_err *bad_line(const fl_hdr_log_reader *r, fl_err *cause, const char *what)
{
	if (!cause)
		cause = FL_ERR_HDR_CORRUPT;
	return fl_err_wrap(cause, "hlog line %ld: %s", r->lineno, what);
}

/* The number after a "#[StartTime: " or "#[BaseTime: " prefix. */
static fl_err *parse_time_comment(fl_hdr_log_reader *r, char *rest, int64_t *ns, bool *seen,
				  const char *name)
{
	char *tok[1];
	bool extra;
	if (split(rest, tok, 1, &extra) != 1 || !parse_secs(tok[0], ns)) {
		char msg[64];
		snprintf(msg, sizeof msg, "%s is not a number of seconds", name);
		return bad_line(r, NULL, msg);
	}
	*seen = true;
	return NULL;
}

static fl_err *parse_comment(fl_hdr_log_reader *r, char *line)
{
	static const char start[] = "#[StartTime: ", base[] = "#[BaseTime: ";
	if (strncmp(line, start, sizeof start - 1) == 0) {
		char *rest = line + sizeof start - 1;
		rest[strcspn(rest, "]")] = '\0';
		return parse_time_comment(r, rest, &r->start_ns, &r->have_start, "StartTime");
	}
	if (strncmp(line, base, sizeof base - 1) == 0) {
		char *rest = line + sizeof base - 1;
		rest[strcspn(rest, "]")] = '\0';
		return parse_time_comment(r, rest, &r->base_ns, &r->have_base, "BaseTime");
	}
	return NULL;
}

/* Java's inference of StartTime and BaseTime from the first interval. */
static void infer_times(fl_hdr_log_reader *r, int64_t ts_ns)
{
	if (!r->have_start) {
		r->start_ns = ts_ns;
		r->have_start = true;
	}
	if (!r->have_base) {
		bool relative = r->start_ns > INT64_MIN + YEAR_NS && ts_ns < r->start_ns - YEAR_NS;
		r->base_ns = relative ? r->start_ns : 0;
		r->have_base = true;
	}
}

/* Takes "Tag=x" off the front of the tokens. */
static fl_err *take_tag(fl_hdr_log_reader *r, char **tok, fl_hdr_log_entry *e)
{
	e->tag[0] = '\0';
	if (strncmp(tok[0], "Tag=", 4) != 0)
		return NULL;
	size_t n = strlen(tok[0] + 4);
	if (n == 0 || n > FL_HDR_LOG_TAG_MAX)
		return bad_line(r, NULL, n ? "tag is too long" : "tag is empty");
	memcpy(e->tag, tok[0] + 4, n + 1);
	return NULL;
}

static fl_err *parse_interval(fl_hdr_log_reader *r, char *line, fl_hdr_log_entry *e)
{
	char *tok[5];
	bool extra;
	int n = split(line, tok, 5, &extra);
	fl_err *err = take_tag(r, tok, e);
	if (err)
		return err;
	int first = e->tag[0] ? 1 : 0;
	if (n - first != 4 || extra)
		return bad_line(r, NULL, "expected start,length,max,histogram");
	int64_t ts, len, start, end;
	if (!parse_secs(tok[first], &ts))
		return bad_line(r, NULL, "start timestamp is not a number");
	if (!parse_secs(tok[first + 1], &len) || len < 0)
		return bad_line(r, NULL, "interval length is not a non-negative number");
	infer_times(r, ts);
	if (__builtin_add_overflow(ts, r->base_ns, &start) ||
	    __builtin_add_overflow(start, len, &end))
		return bad_line(r, NULL, "timestamp out of range");
	err = fl_hdr_decode_base64(tok[first + 3], strlen(tok[first + 3]), &e->hist);
	if (err)
		return bad_line(r, err, "histogram payload");
	e->start_ns = start;
	e->end_ns = end;
	e->line = r->lineno;
	e->hist->start_ns = start;
	e->hist->end_ns = end;
	return NULL;
}

/* Next line without its line end into r->line; *eof at end of input. */
static fl_err *next_line(fl_hdr_log_reader *r, bool *eof)
{
	errno = 0;
	ssize_t n = getline(&r->line, &r->cap, r->in);
	*eof = n < 0;
	if (n < 0)
		return ferror(r->in) ? fl_err_errno(errno ? errno : EIO, "hlog: read failed")
				     : NULL;
	r->lineno++;
	if ((size_t)n > MAX_LINE)
		return bad_line(r, NULL, "line is too long");
	if (memchr(r->line, '\0', (size_t)n))
		return bad_line(r, NULL, "line contains a NUL byte");
	while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
		r->line[--n] = '\0';
	return NULL;
}

static bool blank(const char *s)
{
	while (*s && is_sep(*s))
		s++;
	return *s == '\0';
}

fl_err *fl_hdr_log_read(fl_hdr_log_reader *r, fl_hdr_log_entry *e)
{
	memset(e, 0, sizeof(*e));
	for (;;) {
		bool eof;
		fl_err *err = next_line(r, &eof);
		if (err || eof)
			return err;
		char *line = r->line;
		if (blank(line) || strncmp(line, "\"StartTimestamp\"", 16) == 0)
			continue;
		if (line[0] == '#') {
			if ((err = parse_comment(r, line)))
				return err;
			continue;
		}
		return parse_interval(r, line, e);
	}
}

/* Folds one entry into *out when its tag matches. */
static fl_err *merge_entry(fl_hdr_log_entry *e, const char *tag, fl_hdr **out)
{
	bool match = strcmp(e->tag, tag ? tag : "") == 0;
	if (match && !*out) {
		*out = e->hist;
		return NULL;
	}
	if (match)
		fl_hdr_add(*out, e->hist);
	fl_hdr_free(e->hist);
	return NULL;
}

fl_err *fl_hdr_log_read_merged(FILE *in, const char *tag, fl_hdr **out)
{
	fl_hdr_log_reader *r;
	fl_err *err = fl_hdr_log_reader_new(in, &r);
	if (err)
		return err;
	fl_hdr *merged = NULL;
	fl_hdr_log_entry e;
	while (!(err = fl_hdr_log_read(r, &e)) && e.hist)
		err = merge_entry(&e, tag, &merged);
	fl_hdr_log_reader_free(r);
	if (err) {
		fl_hdr_free(merged);
		return err;
	}
	*out = merged;
	return NULL;
}
