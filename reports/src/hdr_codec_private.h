/*
 * hdr_codec_private.h - helpers shared by the codec, the log and the tests.
 */
#ifndef FL_HDR_CODEC_PRIVATE_H
#define FL_HDR_CODEC_PRIVATE_H

#include "hdr_private.h"

#include <fl/hdr_log.h>

/* Writes n as a ZigZag LEB128-64b9B varint into p (9 bytes of room);
 * returns the number of bytes written (1..9). */
size_t fl__hdr_put_varint(uint8_t *p, int64_t n);

/* Reads one varint from *pp (not past end), advancing *pp. Returns false
 * if the input ends inside the varint. */
bool fl__hdr_get_varint(const uint8_t **pp, const uint8_t *end, int64_t *out);

/* V1/V0 word size from a cookie's word-size nibble (0, 2, 4 or 8). */
int fl__hdr_word_size(uint32_t cookie);

/* Length of the padded base64 text of n bytes (without NUL). */
size_t fl__hdr_base64_len(size_t n);

/* Writes the padded base64 text of src[0..n) and a NUL into dst. */
void fl__hdr_base64_encode(const uint8_t *src, size_t n, char *dst);

/* Decodes len bytes of base64 (padding optional) into dst, which holds
 * len / 4 * 3 + 3 bytes. Errors: FL_ERR_HDR_CORRUPT naming the offset. */
FL_MUST_CHECK fl_err *fl__hdr_base64_decode(const char *src, size_t len, uint8_t *dst,
					    size_t *out_len);

#endif
