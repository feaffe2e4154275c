/*
 * hdr_codec_internal.h - helpers shared by the codec, the log and the tests.
 */
#ifndef FL_HDR_CODEC_INTERNAL_H
#define FL_HDR_CODEC_INTERNAL_H

#include "hdr_internal.h"

#include <fl/hdr_log.h>

#include "hdr_base64_internal.h"

/* Writes n as a ZigZag LEB128-64b9B varint into p (9 bytes of room);
 * returns the number of bytes written (1..9). */
size_t fl__hdr_put_varint(uint8_t *p, int64_t n);

/* Reads one varint from *pp (not past end), advancing *pp. Returns false
 * if the input ends inside the varint. */
bool fl__hdr_get_varint(const uint8_t **pp, const uint8_t *end, int64_t *out);

/* V1/V0 word size from a cookie's word-size nibble (0, 2, 4 or 8). */
int fl__hdr_word_size(uint32_t cookie);

#endif
