/*
 * hdr_print.c - the percentile distribution (.hgrm) and CSV, Java-exact.
 *
 * Design. The table is the percentile walk of hdr_iter.c printed with the
 * Java reference's format strings. The only hard part is the numbers: Java's
 * "%.Nf" rounds the *shortest round-trip decimal* of a double half-up,
 * while C's printf rounds the exact binary value half-even; they disagree
 * whenever the shortest form ends in 5 at the first dropped digit (0.125 ->
 * Java "0.13", glibc "0.12"). fl_hdr_format_fixed reproduces Java: it finds
 * the shortest digits with "%.*e" + strtod round trips, then rounds that
 * digit string half-up and lays it out as fixed point. It is not a hot path.
 */
#include "hdr_codec_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

enum { MAX_DECIMALS = 40, MAX_DIGITS = 17 };

/* Shortest round-trip digits of finite v != 0: digits[] (no dot), count,
 * and the decimal exponent of the first digit. */
static int shortest_digits(double v, char *digits, int *exp10)
{
	char tmp[40];
	int p = 1;
	for (; p < MAX_DIGITS; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
	int n = 0;
	const char *s = tmp;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			digits[n++] = *s;
	*exp10 = atoi(s + 1);
	return n;
}

/* Rounds digits (n of them, first at 10^e10) half-up to `dec` decimals and
 * writes the integer N with value = N * 10^-dec into out; returns length. */
static int round_half_up(const char *digits, int n, int e10, int dec, char *out)
{
	int keep = e10 + 1 + dec; /* digits kept, counted from digits[0] */
	if (keep <= 0) {
		bool up = keep == 0 && digits[0] >= '5';
		out[0] = up ? '1' : '0';
		return 1;
	}
	int len = 0;
	for (int i = 0; i < keep; i++)
		out[len++] = i < n ? digits[i] : '0';
	if (keep < n && digits[keep] >= '5') {
		int i = len - 1;
		while (i >= 0 && out[i] == '9')
			out[i--] = '0';
		if (i >= 0) {
			out[i]++;
		} else {
			memmove(out + 1, out, (size_t)len);
			out[0] = '1';
			len++;
		}
	}
	return len;
}

/* Lays out N * 10^-dec as "[-]int.frac" into out; returns length. */
static int layout_fixed(bool neg, const char *num, int len, int dec, char *out)
{
	int o = 0;
	if (neg)
		out[o++] = '-';
	int int_len = len - dec;
	if (int_len <= 0) {
		out[o++] = '0';
	} else {
		memcpy(out + o, num, (size_t)int_len);
		o += int_len;
	}
	if (dec > 0) {
		out[o++] = '.';
		for (int i = 0; i < dec; i++) {
			int src = int_len + i; /* index into num, may be negative */
			out[o++] = src >= 0 ? num[src] : '0';
		}
	}
	out[o] = '\0';
	return o;
}

size_t fl_hdr_format_fixed(char *buf, size_t cap, double v, int decimals)
{
	char out[400 + MAX_DECIMALS];
	if (isnan(v) || isinf(v))
		return (size_t)snprintf(buf, cap, "%s",
					isnan(v) ? "NaN"
					: v > 0  ? "Infinity"
						 : "-Infinity");
	int dec = decimals < 0 ? 0 : decimals > MAX_DECIMALS ? MAX_DECIMALS : decimals;
	char digits[MAX_DIGITS + 1] = "0", num[400 + MAX_DECIMALS];
	int n = 1, e10 = 0;
	if (v != 0.0)
		n = shortest_digits(fabs(v), digits, &e10);
	int len = round_half_up(digits, n, e10, dec, num);
	layout_fixed(signbit(v) != 0, num, len, dec, out);
	return (size_t)snprintf(buf, cap, "%s", out);
}

/* Prints v like Java's "%{width}.{dec}f". */
static void put_fixed(FILE *out, double v, int dec, int width)
{
	char buf[500];
	fl_hdr_format_fixed(buf, sizeof buf, v, dec);
	fprintf(out, "%*s", width, buf);
}

static void print_header(FILE *out, enum fl_hdr_text_format fmt)
{
	if (fmt == FL_HDR_TEXT_CSV)
		fputs("\"Value\",\"Percentile\",\"TotalCount\",\"1/(1-Percentile)\"\n", out);
	else
		fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
			"1/(1-Percentile)");
}

static void print_line(FILE *out, const fl_hdr_iter *it, int dec, double scale,
		       enum fl_hdr_text_format fmt)
{
	bool csv = fmt == FL_HDR_TEXT_CSV, last = it->percentile_level == 100.0;
	double p = it->percentile_level / 100.0;
	put_fixed(out, (double)it->value / scale, dec, csv ? 0 : 12);
	fputc(csv ? ',' : ' ', out);
	put_fixed(out, p, 12, csv ? 0 : 2);
	fprintf(out, csv ? ",%lld" : " %10lld", (long long)it->count_to_here);
	if (last) {
		fputs(csv ? ",Infinity\n" : "\n", out);
		return;
	}
	fputc(csv ? ',' : ' ', out);
	put_fixed(out, 1 / (1.0 - p), 2, csv ? 0 : 14);
	fputc('\n', out);
}

static void print_footer(FILE *out, const fl_hdr *h, int dec, double scale)
{
	fputs("#[Mean    = ", out);
	put_fixed(out, fl_hdr_mean(h) / scale, dec, 12);
	fputs(", StdDeviation   = ", out);
	put_fixed(out, fl_hdr_stddev(h) / scale, dec, 12);
	fputs("]\n#[Max     = ", out);
	put_fixed(out, (double)fl_hdr_max(h) / scale, dec, 12);
	fprintf(out, ", Total count    = %12lld]\n", (long long)h->total_count);
	fprintf(out, "#[Buckets = %12d, SubBuckets     = %12d]\n", h->lay.bucket_count,
		h->lay.sub_bucket_count);
}

fl_err *fl_hdr_percentiles_print(const fl_hdr *h, FILE *out, int32_t ticks, double scale,
				 enum fl_hdr_text_format fmt)
{
	if (ticks < 1 || !(scale > 0.0) || isinf(scale))
		return fl_err_wrap(FL_ERR_INVAL, "hdr percentiles: ticks %d or scale %g invalid",
				   ticks, scale);
	int dec = h->lay.sigfigs;
	print_header(out, fmt);
	fl_hdr_iter it;
	fl_hdr_iter_percentile_init(&it, h, ticks);
	while (fl_hdr_iter_next(&it))
		print_line(out, &it, dec, scale, fmt);
	if (fmt != FL_HDR_TEXT_CSV)
		print_footer(out, h, dec, scale);
	if (fflush(out) != 0 || ferror(out))
		return fl_err_errno(errno ? errno : EIO, "hdr percentiles: write failed");
	return NULL;
}
