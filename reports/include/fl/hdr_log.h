/*
 * fl/hdr_log.h - HDR histogram formats: V2 encoding, .hlog, .hgrm and CSV.
 *
 * Everything written here is readable by Gil Tene's HdrHistogram reference
 * implementations and agrees with the Java library byte for byte where the
 * format is deterministic:
 *   - V2 encoding: a 40-byte big-endian header and the counts as ZigZag
 *     LEB128 varints with runs of zeros folded into one negative number;
 *     optionally wrapped in zlib (cookie 0x1c849314) and base64 ("HISTFAAA").
 *     Decoding also accepts the older V1 and V0 cookies, compressed or not.
 *   - .hlog: interval histogram log, format 1.3 (HistogramLogWriter).
 *   - .hgrm: the percentile distribution text (outputPercentileDistribution)
 *     and its CSV variant, with Java's decimal rounding.
 *
 * Errors on input: every malformed input yields an error for which
 * fl_err_is(err, FL_ERR_HDR_CORRUPT) holds and whose message says what was
 * wrong and where (payload offset, slot, or .hlog line number). Decoders
 * never read outside the given buffer and bound every allocation by the
 * validated configuration and FL_HDR_MAX_ENCODED_BYTES.
 *
 * Thread safety: the functions are reentrant; a writer or reader object is
 * used by one thread at a time.
 */
#ifndef FL_HDR_LOG_H
#define FL_HDR_LOG_H

#include <stdio.h>

#include <fl/hdr.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sentinel matched by every "malformed input" error ("corrupt histogram
 * data"). */
FL_ERR_DECLARE(FL_ERR_HDR_CORRUPT);

/* Largest uncompressed encoding accepted by the decoders (64 MiB, above the
 * worst case of the largest valid configuration). */
#define FL_HDR_MAX_ENCODED_BYTES ((size_t)64 << 20)

/* ------------------------------------------------------------------------
 * V2 encoding
 */

/*
 * Encodes h as an uncompressed V2 block (header + payload), byte-identical
 * to Java's encodeIntoByteBuffer.
 * Returns NULL and sets *out (malloc'd) and *out_len on success.
 * Errors: FL_ERR_INVAL if a count is negative; FL_ERR_NOMEM.
 * Ownership: release *out with free().
 */
FL_MUST_CHECK fl_err *fl_hdr_encode(const fl_hdr *h, uint8_t **out, size_t *out_len);

/*
 * Encodes h as a compressed V2 block (cookie, length, zlib stream of the
 * uncompressed block). level is a zlib level 0..9, or -1 for zlib's default
 * (6, as Java's encodeIntoCompressedByteBuffer); the .hlog writer uses 9.
 * Errors: FL_ERR_INVAL (bad level, negative count); FL_ERR_NOMEM.
 * Ownership: release *out with free().
 */
FL_MUST_CHECK fl_err *fl_hdr_encode_compressed(const fl_hdr *h, int level, uint8_t **out,
					       size_t *out_len);

/* fl_hdr_encode_compressed, then base64 (RFC 4648, padded, one line).
 * *out is a NUL-terminated malloc'd string starting "HISTFAAA"; free(). */
FL_MUST_CHECK fl_err *fl_hdr_encode_base64(const fl_hdr *h, int level, char **out);

/*
 * Decodes one histogram encoding of any supported kind: V2, V1 or V0,
 * compressed or not. The buffer must hold exactly one encoding.
 * Returns NULL and sets *out on success: a new histogram with the encoded
 * configuration, counts, and min/max re-established from the counts.
 * Errors: FL_ERR_HDR_CORRUPT (unknown or DoubleHistogram cookie, truncated
 *   header, length claims beyond the buffer or FL_HDR_MAX_ENCODED_BYTES,
 *   corrupt or truncated zlib data, invalid configuration, bad varint,
 *   counts past the array, negative counts, trailing bytes);
 *   FL_ERR_NOMEM.
 * Ownership: free *out with fl_hdr_free.
 */
FL_MUST_CHECK fl_err *fl_hdr_decode(const void *buf, size_t len, fl_hdr **out);

/* Decodes base64 text (len bytes, no NUL needed; padding optional) holding
 * a compressed or plain encoding. Errors: as fl_hdr_decode, plus
 * FL_ERR_HDR_CORRUPT for an invalid base64 character or length. */
FL_MUST_CHECK fl_err *fl_hdr_decode_base64(const char *text, size_t len, fl_hdr **out);

/* ------------------------------------------------------------------------
 * Percentile distribution (.hgrm) and CSV
 */

enum fl_hdr_text_format {
	FL_HDR_TEXT_CLASSIC = 0, /* the .hgrm table with its #[...] footer */
	FL_HDR_TEXT_CSV = 1,     /* "Value","Percentile",... without footer */
};

/*
 * Prints h's percentile distribution exactly as Java's
 * outputPercentileDistribution(out, ticks, value_scale[, csv]): the
 * percentile walk with ticks_per_half_distance (the reference uses 5),
 * values divided by value_scale (1.0 = raw units; 1000.0 prints
 * microseconds from nanoseconds), numbers rounded like Java.
 * Errors: FL_ERR_INVAL for ticks < 1 or value_scale <= 0; a system error
 *   (FL_ERR_SYSTEM) if writing fails.
 */
FL_MUST_CHECK fl_err *fl_hdr_percentiles_print(const fl_hdr *h, FILE *out,
					       int32_t ticks_per_half_distance, double value_scale,
					       enum fl_hdr_text_format format);

/*
 * Formats v with `decimals` fractional digits like Java's "%.{decimals}f":
 * the shortest decimal that round-trips is rounded half-up (C's printf
 * rounds the binary value, half-even). Writes at most cap bytes including
 * the NUL; returns the length the full text needs, like snprintf.
 * Infinite and NaN values print "Infinity", "-Infinity", "NaN".
 */
size_t fl_hdr_format_fixed(char *buf, size_t cap, double v, int decimals);

/* ------------------------------------------------------------------------
 * Interval log (.hlog, format 1.3)
 */

/* Longest tag accepted by the writer and the reader. */
#define FL_HDR_LOG_TAG_MAX 127

/* Writer options; all-zero means defaults. */
struct fl_hdr_log_writer_opts {
	/* The informational max column is max / this (default 1e6: ns
	 * shown as ms, as Java's writer). */
	double max_value_unit_ratio;
	/* zlib level 1..9 of the payloads; 0 = 9, as Java's writer. */
	int compression_level;
};

typedef struct fl_hdr_log_writer fl_hdr_log_writer;

/*
 * Creates a writer that appends to out (not owned, not closed).
 * Errors: FL_ERR_INVAL for options out of range; FL_ERR_NOMEM.
 * Ownership: free with fl_hdr_log_writer_free (does not close out).
 */
FL_MUST_CHECK fl_err *fl_hdr_log_writer_new(FILE *out, const struct fl_hdr_log_writer_opts *opts,
					    fl_hdr_log_writer **w);
void fl_hdr_log_writer_free(fl_hdr_log_writer *w); /* Accepts NULL. */

/* Writes "#<text>\n" (by convention text is "[...]").
 * Errors: FL_ERR_INVAL if text contains CR or LF; FL_ERR_SYSTEM. */
FL_MUST_CHECK fl_err *fl_hdr_log_write_comment(fl_hdr_log_writer *w, const char *text);

/*
 * Writes the version line, "#[StartTime: ...]" for start_ns, then, if
 * base_ns != 0, "#[BaseTime: ...]", and the legend. Interval timestamps
 * written afterwards are relative to base_ns (absolute when 0). Times are
 * ns since the epoch, printed as seconds with 3 decimals.
 * Errors: FL_ERR_SYSTEM if writing fails.
 */
FL_MUST_CHECK fl_err *fl_hdr_log_write_header(fl_hdr_log_writer *w, int64_t start_ns,
					      int64_t base_ns);

/*
 * Writes one interval line "[Tag=<tag>,]<start>,<length>,<max>,<base64>\n"
 * for the interval [start_ns, end_ns) and flushes the stream, so a crash
 * loses at most the line being written. tag may be NULL (untagged).
 * Errors: FL_ERR_INVAL for a tag that is empty, longer than
 *   FL_HDR_LOG_TAG_MAX or contains ',', space, CR or LF; encoding errors;
 *   FL_ERR_SYSTEM if writing fails.
 */
FL_MUST_CHECK fl_err *fl_hdr_log_write_interval(fl_hdr_log_writer *w, const fl_hdr *h,
						int64_t start_ns, int64_t end_ns, const char *tag);

/* fl_hdr_log_write_interval with h's own start/end timestamps. */
FL_MUST_CHECK fl_err *fl_hdr_log_write(fl_hdr_log_writer *w, const fl_hdr *h, const char *tag);

/* True if tag may be written (see fl_hdr_log_write_interval). */
bool fl_hdr_log_tag_valid(const char *tag);

typedef struct fl_hdr_log_reader fl_hdr_log_reader;

/* One interval read from a log. */
typedef struct fl_hdr_log_entry {
	fl_hdr *hist;                     /* the interval; caller frees; NULL at end of log */
	char tag[FL_HDR_LOG_TAG_MAX + 1]; /* "" when untagged */
	int64_t start_ns;                 /* absolute start, ns since the epoch */
	int64_t end_ns;                   /* start + interval length */
	long line;                        /* 1-based line number of the interval */
} fl_hdr_log_entry;

/*
 * Creates a reader over in (not owned, not closed).
 * Errors: FL_ERR_NOMEM. Ownership: fl_hdr_log_reader_free.
 */
FL_MUST_CHECK fl_err *fl_hdr_log_reader_new(FILE *in, fl_hdr_log_reader **r);
void fl_hdr_log_reader_free(fl_hdr_log_reader *r); /* Accepts NULL. */

/*
 * Reads the next interval, skipping comments, the legend and blank lines,
 * and applying StartTime/BaseTime as Java's reader does (timestamps more
 * than a year before StartTime are relative to it). Accepts CRLF line
 * ends and a missing final newline. The histogram's start/end timestamps
 * are set to the entry's.
 * Returns NULL with e->hist set, or NULL with e->hist == NULL at the end.
 * Errors: FL_ERR_HDR_CORRUPT naming the line for a malformed line (bad
 *   tag, unparsable number, missing or extra field, bad payload), with
 *   the decoder's error wrapped; FL_ERR_SYSTEM for read errors;
 *   FL_ERR_NOMEM. After an error the reader may be freed only.
 */
FL_MUST_CHECK fl_err *fl_hdr_log_read(fl_hdr_log_reader *r, fl_hdr_log_entry *e);

/* StartTime and BaseTime in ns since the epoch as known so far (0 until
 * seen or inferred). */
int64_t fl_hdr_log_reader_start_ns(const fl_hdr_log_reader *r);
int64_t fl_hdr_log_reader_base_ns(const fl_hdr_log_reader *r);

/*
 * Reads a whole log and merges the intervals whose tag equals tag (NULL or
 * "" selects the untagged ones, like Java's HistogramLogProcessor) with
 * fl_hdr_add into one histogram with the first interval's configuration.
 * Returns NULL and sets *out (NULL if no interval matched).
 * Errors: as fl_hdr_log_read. Ownership: free *out with fl_hdr_free.
 */
FL_MUST_CHECK fl_err *fl_hdr_log_read_merged(FILE *in, const char *tag, fl_hdr **out);

#ifdef __cplusplus
}
#endif
#endif
