/*
 * hdr_base64_internal.h - RFC 4648 base64 for the .hlog payloads (private).
 *
 * A leaf of the reports library: hdr_codec.c calls it, it calls nothing of
 * the library and knows no error type.
 */
#ifndef FL_HDR_BASE64_INTERNAL_H
#define FL_HDR_BASE64_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the padded base64 text of n bytes (without NUL). */
size_t fl__hdr_base64_len(size_t n);

/* Writes the padded base64 text of src[0..n) and a NUL into dst. */
void fl__hdr_base64_encode(const uint8_t *src, size_t n, char *dst);

/* Decodes len bytes of base64 (padding optional) into dst, which holds
 * len / 4 * 3 + 3 bytes, and sets *out_len. Returns false on bad input,
 * with the reason (naming the offset) written into why[0..cap). */
bool fl__hdr_base64_decode(const char *src, size_t len, uint8_t *dst, size_t *out_len, char *why,
			   size_t cap);

#endif
