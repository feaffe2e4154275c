/*
 * report_text.c - text and memory helpers shared by the report files.
 *
 * UTF-8 decoding (so XML and JSON escapers can replace bytes that are not
 * valid UTF-8 instead of emitting invalid documents), XML/HTML escaping,
 * shortest round-trip formatting of doubles, human formats for durations,
 * SI quantities and ISO 8601 times, and the growable-array and string-copy
 * helpers every builder uses.
 *
 * Layering: a leaf of the reports library. Every other report file may
 * call it; it calls nothing of the library (only libc and libm). No state.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fl/report.h>

#include "report_internal.h"
#include "fl_alloc_internal.h"

bool fl__report_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return false;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		return false;
	void *p = fl__realloc(*arr, ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

char *fl__report_strdup(const char *s)
{
	if (!s)
		s = "";
	size_t n = strlen(s) + 1;
	char *d = fl__malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

size_t fl__report_utf8_next(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c = s[0];
	size_t n;
	uint32_t min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL terminator */
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static const char *xml_entity(unsigned char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

void fl__report_xml_escape(FILE *out, const char *s)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	while (*s) {
		unsigned char c = (unsigned char)*s;
		const char *ent = xml_entity(c);
		uint32_t cp;
		size_t n = fl__report_utf8_next(s, &cp);
		if (ent)
			fputs(ent, out);
		else if (n == 0 || (cp < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			 cp == 0xfffe || cp == 0xffff)
			fputs(repl, out);
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
}

char *fl__report_fmt_double(double d, char *buf, size_t cap)
{
	if (!isfinite(d)) {
		snprintf(buf, cap, "null");
		return buf;
	}
	if (d == trunc(d) && fabs(d) < 9007199254740992.0) { /* 2^53: exact */
		snprintf(buf, cap, "%.0f", d);
		return buf;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return buf;
}

char *fl__report_fmt_si(double v, char *buf, size_t cap)
{
	static const char *const sfx[] = {"", "k", "M", "G", "T", "P"};
	double a = fabs(v);
	size_t u = 0;
	while (a >= 999.5 && u + 1 < sizeof(sfx) / sizeof(sfx[0])) {
		a /= 1000.0;
		u++;
	}
	snprintf(buf, cap, "%s%.3g%s", v < 0 ? "-" : "", a, sfx[u]);
	return buf;
}

char *fl_report_format_ns(double ns, bool ascii, char *buf, size_t cap)
{
	static const char *const unit[] = {"ns", "us", "ms", "s"};
	double a = fabs(ns);
	size_t u = 0;
	if (!isfinite(ns)) {
		snprintf(buf, cap, "-");
		return buf;
	}
	while (a >= 999.5 && u < 3) {
		a /= 1000.0;
		u++;
	}
	int dec = u == 0 || a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2;
	const char *un = u == 1 && !ascii ? "\xc2\xb5s" : unit[u];
	snprintf(buf, cap, "%s%.*f %s", ns < 0 ? "-" : "", dec, a, un);
	return buf;
}

char *fl__report_fmt_ns_g(double ns, bool ascii, char *buf, size_t cap)
{
	static const char *const unit[] = {"ns", "us", "ms", "s"};
	double a = ns;
	size_t u = 0;
	if (ns == 0) {
		snprintf(buf, cap, "0");
		return buf;
	}
	while (fabs(a) >= 999.95 && u < 3) {
		a /= 1000.0;
		u++;
	}
	snprintf(buf, cap, "%.3g %s", a, u == 1 && !ascii ? "\xc2\xb5s" : unit[u]);
	return buf;
}

char *fl_report_format_time(int64_t unix_ns, char *buf, size_t cap)
{
	int64_t sec = unix_ns / 1000000000, rem = unix_ns % 1000000000;
	if (rem < 0) {
		sec--;
		rem += 1000000000;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	char day[24];
	if (!gmtime_r(&t, &tm) || strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(day, sizeof(day), "1970-01-01T00:00:00");
	snprintf(buf, cap, "%s.%03dZ", day, (int)(rem / 1000000));
	return buf;
}

char *fl_report_format_num(double v, char *buf, size_t cap)
{
	if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, cap, "%.0f", v);
	else
		snprintf(buf, cap, "%.6g", v);
	return buf;
}
