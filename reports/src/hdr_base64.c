/*
 * hdr_base64.c - RFC 4648 base64 (standard alphabet) for the .hlog payloads.
 *
 * Encoding always pads. Decoding is strict about the alphabet (so a stray
 * character is reported with its offset instead of being skipped) and
 * lenient about padding only as Java's decoder is: the '=' padding may be
 * left out, but when present it must complete the last quantum and nothing
 * may follow it.
 *
 * A leaf: it knows no error type. A decoding failure is a message in the
 * caller's buffer, which hdr_codec.c wraps around FL_ERR_HDR_CORRUPT.
 */
#include "hdr_base64_internal.h"

#include <stdio.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t fl__hdr_base64_len(size_t n) { return (n + 2) / 3 * 4; }

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
static bool strip_padding(const char *src, size_t len, size_t *body, char *why, size_t cap)
{
	size_t n = len;
	while (n > 0 && len - n < 2 && src[n - 1] == '=')
		n--;
	if (n != len && len % 4 != 0) {
		snprintf(why, cap, "base64: padded text of %zu characters is not a multiple of 4",
			 len);
		return false;
	}
	if (n % 4 == 1) {
		snprintf(why, cap, "base64: invalid length %zu", len);
		return false;
	}
	*body = n;
	return true;
}

bool fl__hdr_base64_decode(const char *src, size_t len, uint8_t *dst, size_t *out_len, char *why,
			   size_t cap)
{
	size_t body = 0;
	if (!strip_padding(src, len, &body, why, cap))
		return false;
	uint32_t acc = 0;
	size_t out = 0;
	for (size_t i = 0; i < body; i++) {
		int v = sextet((unsigned char)src[i]);
		if (v < 0) {
			unsigned char c = (unsigned char)src[i];
			snprintf(why, cap, "base64: invalid character 0x%02x at offset %zu", c, i);
			return false;
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
	return true;
}
