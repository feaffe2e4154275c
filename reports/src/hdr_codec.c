/*
 * hdr_codec.c - V2 encoding and V2/V1/V0 decoding, zlib wrapper, base64.
 *
 * Design. Encoding walks the slots up to the max slot once, writing each
 * count as a ZigZag LEB128 varint (at most 9 bytes) and each run of two or
 * more zeros as one negative run length; a lone zero is the literal 0, as
 * Java writes it. The 40-byte header is big-endian. The compressed form is
 * an 8-byte wrapper (cookie, length) around a zlib stream of that block.
 *
 * Decoding treats every byte as hostile. The rules that keep it safe:
 *   - every length read from the input is checked against the bytes that
 *     are really there before anything is read behind it;
 *   - inflating happens in two steps: first exactly the inner header, whose
 *     length claim (or, for V0, configuration) fixes the exact size of the
 *     rest; the output buffer is never larger than that, and that never
 *     exceeds FL_HDR_MAX_ENCODED_BYTES, so a zlib bomb stops early;
 *   - the configuration is validated before the counts array is allocated,
 *     and every run or count is checked against counts_len before it is
 *     stored; the running total is checked for overflow.
 * Errors are leaf messages wrapped around FL_ERR_HDR_CORRUPT.
 */
#include "hdr_codec_internal.h"

#include <string.h>
#include <zlib.h>
#include "fl_alloc_internal.h"

FL_ERR_SENTINEL(FL_ERR_HDR_CORRUPT, "corrupt histogram data");

enum {
	COOKIE_V2 = 0x1c849303,
	COOKIE_V2_COMPRESSED = 0x1c849304,
	COOKIE_V1 = 0x1c849301,
	COOKIE_V1_COMPRESSED = 0x1c849302,
	COOKIE_V0 = 0x1c849308,
	COOKIE_V0_COMPRESSED = 0x1c849309,
	COOKIE_DOUBLE_A = 0x0c72124e,
	COOKIE_DOUBLE_B = 0x0c72124f,
	V2_HEADER = 40,
	V0_HEADER = 32,
	WRAPPER = 8,
};

#define WORD_NIBBLE_V2 0x10u

/* ------------------------------------------------------------------------
 * Big-endian and varint primitives
 */

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

size_t fl__hdr_put_varint(uint8_t *p, int64_t n)
{
	uint64_t u = ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
	size_t k = 0;
	while (k < 8 && u >= 0x80) {
		p[k++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	p[k++] = (uint8_t)u; /* after 8 groups the 9th byte holds bits 56..63 */
	return k;
}

bool fl__hdr_get_varint(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t u = 0;
	for (int shift = 0; shift < 56; shift += 7) {
		if (p == end)
			return false;
		uint8_t b = *p++;
		u |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			goto done;
	}
	if (p == end)
		return false;
	u |= (uint64_t)*p++ << 56;
done:
	*out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	*pp = p;
	return true;
}

/* ------------------------------------------------------------------------
 * Encoding
 */

/* Writes the §7.2 payload of slots 0 .. len-1; returns bytes or -1. */
static int64_t put_payload(const fl_hdr *h, int64_t len, uint8_t *out)
{
	uint8_t *p = out;
	for (int64_t i = 0; i < len;) {
		int64_t c = h->counts[i++];
		if (c < 0)
			return -1;
		if (c > 0) {
			p += fl__hdr_put_varint(p, c);
			continue;
		}
		int64_t run = 1;
		while (i < len && h->counts[i] == 0) {
			run++;
			i++;
		}
		p += fl__hdr_put_varint(p, run == 1 ? 0 : -run);
	}
	return (int64_t)(p - out);
}

fl_err *fl_hdr_encode(const fl_hdr *h, uint8_t **out, size_t *out_len)
{
	int64_t len = fl__hdr_index(&h->lay, h->max_value) + 1;
	if (len > h->lay.counts_len)
		len = h->lay.counts_len;
	uint8_t *buf = fl__malloc(V2_HEADER + (size_t)len * 9);
	if (!buf)
		return FL_ERR_NOMEM;
	int64_t n = put_payload(h, len, buf + V2_HEADER);
	if (n < 0) {
		free(buf);
		return fl_err_wrap(FL_ERR_INVAL, "hdr encode: negative count");
	}
	put_be32(buf, COOKIE_V2 | WORD_NIBBLE_V2);
	put_be32(buf + 4, (uint32_t)n);
	put_be32(buf + 8, 0);
	put_be32(buf + 12, (uint32_t)h->lay.sigfigs);
	put_be64(buf + 16, (uint64_t)h->lay.lowest);
	put_be64(buf + 24, (uint64_t)h->lay.highest);
	put_be64(buf + 32, UINT64_C(0x3ff0000000000000)); /* 1.0 */
	*out = buf;
	*out_len = V2_HEADER + (size_t)n;
	return NULL;
}

fl_err *fl_hdr_encode_compressed(const fl_hdr *h, int level, uint8_t **out, size_t *out_len)
{
	if (level < -1 || level > 9)
		return fl_err_wrap(FL_ERR_INVAL, "hdr encode: zlib level %d not in -1..9", level);
	uint8_t *raw;
	size_t raw_len;
	fl_err *err = fl_hdr_encode(h, &raw, &raw_len);
	if (err)
		return err;
	uLongf zlen = compressBound((uLong)raw_len);
	uint8_t *buf = fl__malloc(WRAPPER + (size_t)zlen);
	if (!buf) {
		free(raw);
		return FL_ERR_NOMEM;
	}
	int rc = compress2(buf + WRAPPER, &zlen, raw, (uLong)raw_len, level);
	free(raw);
	if (rc != Z_OK) {
		free(buf);
		return rc == Z_MEM_ERROR ? FL_ERR_NOMEM
					 : fl_err_new("hdr encode: zlib compress2 failed (%d)", rc);
	}
	put_be32(buf, COOKIE_V2_COMPRESSED | WORD_NIBBLE_V2);
	put_be32(buf + 4, (uint32_t)zlen);
	*out = buf;
	*out_len = WRAPPER + (size_t)zlen;
	return NULL;
}

fl_err *fl_hdr_encode_base64(const fl_hdr *h, int level, char **out)
{
	uint8_t *bin;
	size_t n;
	fl_err *err = fl_hdr_encode_compressed(h, level, &bin, &n);
	if (err)
		return err;
	char *text = fl__malloc(fl__hdr_base64_len(n) + 1);
	if (!text) {
		free(bin);
		return FL_ERR_NOMEM;
	}
	fl__hdr_base64_encode(bin, n, text);
	free(bin);
	*out = text;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Decoding: the uncompressed blocks
 */

/* Makes the histogram for a decoded configuration. */
static fl_err *make_hist(int64_t sig, int64_t lowest, int64_t highest, fl_hdr **out)
{
	if (sig < 1 || sig > 5)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "encoded significant figures %lld not in 1..5", (long long)sig);
	struct fl__hdr_layout l;
	fl_err *err = fl__hdr_layout_init(&l, lowest, highest, (int)sig);
	if (err) {
		char msg[200];
		fl_err_format(err, msg, sizeof msg);
		fl_err_drop(err);
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "encoded configuration invalid: %s", msg);
	}
	return fl_hdr_new(lowest, highest, (int)sig, out);
}

/* Re-establishes total and min/max from the counts (spec §7.5). */
static fl_err *retrack(fl_hdr *h)
{
	int64_t total = 0, first = -1, last = -1;
	for (int64_t i = 0; i < h->lay.counts_len; i++) {
		int64_t c = h->counts[i];
		if (c == 0)
			continue;
		if (__builtin_add_overflow(total, c, &total))
			return fl_err_wrap(FL_ERR_HDR_CORRUPT, "total count overflows int64");
		if (first < 0 && i > 0)
			first = i;
		last = i;
	}
	h->total_count = total;
	if (first > 0)
		fl__hdr_track(h, fl__hdr_value_at(&h->lay, first));
	if (last >= 0)
		fl__hdr_track(h, fl__hdr_highest_eq(&h->lay, fl__hdr_value_at(&h->lay, last)));
	return NULL;
}

/* Fills counts from a V2 payload. */
static fl_err *fill_v2(fl_hdr *h, const uint8_t *p, size_t n)
{
	const uint8_t *start = p, *end = p + n;
	int64_t idx = 0, len = h->lay.counts_len;
	while (p < end) {
		int64_t v;
		if (!fl__hdr_get_varint(&p, end, &v))
			return fl_err_wrap(FL_ERR_HDR_CORRUPT,
					   "truncated varint at payload offset %zu",
					   (size_t)(p - start));
		if (v < 0) {
			if (v < -(len - idx))
				return fl_err_wrap(FL_ERR_HDR_CORRUPT,
						   "zero run at slot %lld runs past the %lld slots",
						   (long long)idx, (long long)len);
			idx -= v;
			continue;
		}
		if (idx >= len)
			return fl_err_wrap(FL_ERR_HDR_CORRUPT,
					   "count at payload offset %zu is past the %lld slots",
					   (size_t)(p - start), (long long)len);
		h->counts[idx++] = v;
	}
	return NULL;
}

/* Reads a signed big-endian word of ws (2, 4 or 8) bytes. */
static int64_t get_word(const uint8_t *p, int ws)
{
	if (ws == 2)
		return (int16_t)(uint16_t)(p[0] << 8 | p[1]);
	if (ws == 4)
		return (int32_t)get_be32(p);
	return (int64_t)get_be64(p);
}

/* Fills counts from fixed-width V1/V0 words. */
static fl_err *fill_words(fl_hdr *h, const uint8_t *p, size_t n, int ws)
{
	if (n % (size_t)ws != 0)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "payload of %zu bytes is not a multiple of %d-byte words", n,
				   ws);
	size_t words = n / (size_t)ws;
	for (size_t i = 0; i < words; i++) {
		int64_t c = get_word(p + i * (size_t)ws, ws);
		if (c < 0)
			return fl_err_wrap(FL_ERR_HDR_CORRUPT, "negative count %lld in slot %zu",
					   (long long)c, i);
		if (c == 0)
			continue;
		if (i >= (size_t)h->lay.counts_len)
			return fl_err_wrap(FL_ERR_HDR_CORRUPT,
					   "count in slot %zu is past the %d slots", i,
					   h->lay.counts_len);
		h->counts[i] = c;
	}
	return NULL;
}

int fl__hdr_word_size(uint32_t cookie) { return (int)(((cookie >> 4) & 0xf) & 0xe); }

/* Decodes a complete uncompressed block of one of the three versions. */
static fl_err *decode_block(const uint8_t *b, size_t len, fl_hdr **out)
{
	uint32_t cookie = get_be32(b);
	uint32_t base = cookie & ~0xf0u;
	bool v0 = base == COOKIE_V0;
	size_t hs = v0 ? V0_HEADER : V2_HEADER;
	if (len < hs)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "%zu bytes are too short for the %zu-byte header", len, hs);
	int ws = fl__hdr_word_size(cookie);
	if (base != COOKIE_V2 && ws != 2 && ws != 4 && ws != 8)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "cookie 0x%08x has an invalid word size",
				   cookie);
	size_t payload = len - hs;
	if (!v0) {
		int32_t claimed = (int32_t)get_be32(b + 4);
		if (claimed < 0 || (size_t)claimed > payload)
			return fl_err_wrap(FL_ERR_HDR_CORRUPT,
					   "payload length %d exceeds the %zu bytes available",
					   claimed, payload);
		if ((size_t)claimed < payload)
			return fl_err_wrap(FL_ERR_HDR_CORRUPT,
					   "%zu trailing bytes after the payload",
					   payload - (size_t)claimed);
	}
	int64_t sig = (int32_t)get_be32(b + (v0 ? 4 : 12));
	int64_t lo = (int64_t)get_be64(b + (v0 ? 8 : 16));
	int64_t hi = (int64_t)get_be64(b + (v0 ? 16 : 24));
	fl_hdr *h;
	fl_err *err = make_hist(sig, lo, hi, &h);
	if (err)
		return err;
	err = base == COOKIE_V2 ? fill_v2(h, b + hs, payload) : fill_words(h, b + hs, payload, ws);
	if (!err)
		err = retrack(h);
	if (err) {
		fl_hdr_free(h);
		return err;
	}
	*out = h;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Decoding: the zlib wrapper
 */

static fl_err *zlib_error(int rc, const z_stream *zs, const char *where)
{
	if (rc == Z_MEM_ERROR)
		return FL_ERR_NOMEM;
	if (rc == Z_BUF_ERROR || (rc == Z_OK && zs->avail_in == 0))
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "zlib data truncated in the %s", where);
	if (rc == Z_STREAM_END)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "zlib stream ends inside the %s", where);
	return fl_err_wrap(FL_ERR_HDR_CORRUPT, "corrupt zlib data in the %s (%s)", where,
			   zs->msg ? zs->msg : "inflate error");
}

/* Inflates until dst (cap bytes) is full or the stream ends. */
static int inflate_into(z_stream *zs, uint8_t *dst, size_t cap)
{
	zs->next_out = dst;
	zs->avail_out = (uInt)cap;
	for (;;) {
		int rc = inflate(zs, Z_NO_FLUSH);
		if (rc != Z_OK || zs->avail_out == 0)
			return rc;
		if (zs->avail_in == 0)
			return Z_BUF_ERROR;
	}
}

/* Total inflated size implied by the inner header; *exact false for V0. */
static fl_err *inner_size(const uint8_t *head, uint32_t inner_base, size_t *need, bool *exact)
{
	uint32_t cookie = get_be32(head);
	if ((cookie & ~0xf0u) != inner_base)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "inner cookie 0x%08x does not match the wrapper", cookie);
	*exact = inner_base != COOKIE_V0;
	if (*exact) {
		int32_t claimed = (int32_t)get_be32(head + 4);
		if (claimed < 0 || (size_t)claimed > FL_HDR_MAX_ENCODED_BYTES - V2_HEADER)
			return fl_err_wrap(FL_ERR_HDR_CORRUPT, "payload length %d is out of range",
					   claimed);
		*need = V2_HEADER + (size_t)claimed;
		return NULL;
	}
	int ws = fl__hdr_word_size(cookie);
	struct fl__hdr_layout l;
	int32_t sig = (int32_t)get_be32(head + 4);
	fl_err *err = ws == 0 ? fl_err_wrap(FL_ERR_HDR_CORRUPT, "V0 cookie 0x%08x has no word size",
					    cookie)
			      : fl__hdr_layout_init(&l, (int64_t)get_be64(head + 8),
						    (int64_t)get_be64(head + 16), sig);
	if (err)
		return fl_err_wrap(err, "V0 header");
	*need = V0_HEADER + (size_t)l.counts_len * (size_t)ws;
	return NULL;
}

/* Inflates the body after the header into buf (need bytes in all). */
static fl_err *inflate_body(z_stream *zs, uint8_t *buf, size_t hs, size_t need, bool exact,
			    size_t *got)
{
	int rc = inflate_into(zs, buf + hs, need - hs);
	*got = need - zs->avail_out;
	if (rc != Z_STREAM_END && zs->avail_out == 0) {
		uint8_t extra; /* does the stream end here? */
		rc = inflate_into(zs, &extra, 1);
		if (zs->avail_out == 0)
			return fl_err_wrap(FL_ERR_HDR_CORRUPT,
					   "inflated data is longer than its header claims");
	}
	if (rc != Z_STREAM_END)
		return zlib_error(rc, zs, "payload");
	if (exact && *got != need)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "inflated %zu bytes, the header claims %zu",
				   *got, need);
	if (zs->avail_in != 0)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "%u bytes after the end of the zlib stream",
				   zs->avail_in);
	return NULL;
}

static fl_err *inflate_block(const uint8_t *src, size_t n, uint32_t inner_base, uint8_t **out,
			     size_t *out_len)
{
	size_t hs = inner_base == COOKIE_V0 ? V0_HEADER : V2_HEADER, need = 0, got = 0;
	uint8_t head[V2_HEADER], *buf = NULL;
	bool exact = true;
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	zs.next_in = (Bytef *)(uintptr_t)src;
	zs.avail_in = (uInt)n;
	if (inflateInit(&zs) != Z_OK)
		return FL_ERR_NOMEM;
	int rc = inflate_into(&zs, head, hs);
	fl_err *err = zs.avail_out == 0 ? NULL : zlib_error(rc, &zs, "header");
	if (!err)
		err = inner_size(head, inner_base, &need, &exact);
	if (!err && !(buf = fl__malloc(need)))
		err = FL_ERR_NOMEM;
	if (!err) {
		memcpy(buf, head, hs);
		err = inflate_body(&zs, buf, hs, need, exact, &got);
	}
	inflateEnd(&zs);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = got;
	return NULL;
}

static fl_err *decode_compressed(const uint8_t *b, size_t len, uint32_t base, fl_hdr **out)
{
	if (len < WRAPPER)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "%zu bytes are too short for the compressed header", len);
	int32_t n = (int32_t)get_be32(b + 4);
	if (n < 0 || (size_t)n > len - WRAPPER)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "compressed length %d exceeds the %zu bytes available", n,
				   len - WRAPPER);
	if ((size_t)n < len - WRAPPER)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "%zu trailing bytes after the compressed data",
				   len - WRAPPER - (size_t)n);
	uint32_t inner = base == COOKIE_V2_COMPRESSED   ? COOKIE_V2
			 : base == COOKIE_V1_COMPRESSED ? COOKIE_V1
							: COOKIE_V0;
	uint8_t *block;
	size_t block_len;
	fl_err *err = inflate_block(b + WRAPPER, (size_t)n, inner, &block, &block_len);
	if (err)
		return err;
	err = decode_block(block, block_len, out);
	free(block);
	return err;
}

fl_err *fl_hdr_decode(const void *buf, size_t len, fl_hdr **out)
{
	const uint8_t *b = buf;
	if (len < 4)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "%zu bytes are too short for a cookie", len);
	if (len > FL_HDR_MAX_ENCODED_BYTES)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "encoding of %zu bytes exceeds the %zu-byte limit", len,
				   FL_HDR_MAX_ENCODED_BYTES);
	uint32_t cookie = get_be32(b), base = cookie & ~0xf0u;
	switch (base) {
	case COOKIE_V2_COMPRESSED:
	case COOKIE_V1_COMPRESSED:
	case COOKIE_V0_COMPRESSED: return decode_compressed(b, len, base, out);
	case COOKIE_V2:
	case COOKIE_V1:
	case COOKIE_V0: return decode_block(b, len, out);
	default: break;
	}
	if (base == (COOKIE_DOUBLE_A & ~0xf0u) || base == (COOKIE_DOUBLE_B & ~0xf0u))
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "cookie 0x%08x is a DoubleHistogram encoding (not supported)",
				   cookie);
	return fl_err_wrap(FL_ERR_HDR_CORRUPT, "unknown cookie 0x%08x", cookie);
}

fl_err *fl_hdr_decode_base64(const char *text, size_t len, fl_hdr **out)
{
	if (len / 4 * 3 > FL_HDR_MAX_ENCODED_BYTES)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "base64 text of %zu bytes exceeds the limit",
				   len);
	uint8_t *bin = fl__malloc(len / 4 * 3 + 3);
	if (!bin)
		return FL_ERR_NOMEM;
	size_t n;
	char why[96];
	fl_err *err = NULL;
	if (!fl__hdr_base64_decode(text, len, bin, &n, why, sizeof(why)))
		err = fl_err_wrap(FL_ERR_HDR_CORRUPT, "%s", why);
	else
		err = fl_hdr_decode(bin, n, out);
	free(bin);
	return err;
}
