/*
 * hdr_base64.c - RFC 4648 base64 (standard alphabet) for the .hlog payloads.
 *
 * Encoding always pads. Decoding is strict about the alphabet (so a stray
 * character is reported with its offset instead of being skipped) and
 * lenient about padding only as Java's decoder is: the '=' padding may be
 * left out, but when present it must complete the last quantum and nothing
 * may follow it.
 */
#include "hdr_codec_private.h"

static const char ALPHABET[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t fl__hdr_base64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void fl__hdr_base64_encode(const uint8_t *src, size_t n, char *dst)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
		*dst++ = ALPHABET[v >> 18];
		*dst++ = ALPHABET[(v >> 12) & 63];
		*dst++ = ALPHABET[(v >> 6) & 63];
		*dst++ = ALPHABET[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0);
		*dst++ = ALPHABET[v >> 18];
		*dst++ = ALPHABET[(v >> 12) & 63];
		*dst++ = i + 1 < n ? ALPHABET[(v >> 6) & 63] : '=';
		*dst++ = '=';
	}
	*dst = '\0';
}

/* Value of one base64 character, or -1. */
static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Length of the text without its padding; checks the padding. */
static fl_err *strip_padding(const char *src, size_t len, size_t *body)
{
	size_t n = len;
	while (n > 0 && len - n < 2 && src[n - 1] == '=')
		n--;
	if (n != len && len % 4 != 0)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT,
				   "base64: padded text of %zu characters is not a multiple of 4", len);
	if (n % 4 == 1)
		return fl_err_wrap(FL_ERR_HDR_CORRUPT, "base64: invalid length %zu", len);
	*body = n;
	return NULL;
}

fl_err *fl__hdr_base64_decode(const char *src, size_t len, uint8_t *dst, size_t *out_len)
{
	size_t body = 0;
	fl_err *err = strip_padding(src, len, &body);
	if (err)
		return err;
	uint32_t acc = 0;
	size_t out = 0;
	for (size_t i = 0; i < body; i++) {
		int v = sextet((unsigned char)src[i]);
		if (v < 0) {
			unsigned char c = (unsigned char)src[i];
			return fl_err_wrap(FL_ERR_HDR_CORRUPT,
					   "base64: invalid character 0x%02x at offset %zu", c, i);
		}
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			dst[out++] = (uint8_t)(acc >> 16);
			dst[out++] = (uint8_t)(acc >> 8);
			dst[out++] = (uint8_t)acc;
			acc = 0;
		}
	}
	size_t rest = body % 4; /* 0, 2 or 3 sextets left over */
	if (rest == 2)
		dst[out++] = (uint8_t)(acc >> 4);
	if (rest == 3) {
		dst[out++] = (uint8_t)(acc >> 10);
		dst[out++] = (uint8_t)(acc >> 2);
	}
	*out_len = out;
	return NULL;
}
