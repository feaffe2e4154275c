/*
 * report_jsonparse_internal.h - the strict JSON parser behind
 * fl_report_load_json. Private to the reports library.
 */
#ifndef FL_REPORT_JSONPARSE_INTERNAL_H
#define FL_REPORT_JSONPARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define FL__JSON_MAX_DEPTH 64

enum fl__json_kind {
	FL__JSON_NULL,
	FL__JSON_BOOL,
	FL__JSON_NUM,
	FL__JSON_STR,
	FL__JSON_ARR,
	FL__JSON_OBJ
};

/* One JSON value. The tree owns every kids array, key and str. */
typedef struct fl__json {
	enum fl__json_kind kind;
	int line, col;   /* where the value starts, 1-based */
	char *key;       /* as an object member: its name */
	char *str;       /* FL__JSON_STR: decoded UTF-8, NUL-terminated */
	const char *num; /* FL__JSON_NUM: the token, in the parsed text */
	size_t numlen;
	bool b;                /* FL__JSON_BOOL */
	struct fl__json *kids; /* array elements or object members, in order */
	size_t nkids;
	size_t cap_;
} fl__json;

/* Where and why parsing failed. */
typedef struct fl__json_error {
	int line, col;
	char msg[160];
} fl__json_error;

/*
 * Parses the NUL-terminated text (which must outlive the tree: numbers
 * point into it). Returns the root, or NULL with *err filled.
 */
fl__json *fl__json_parse(const char *text, fl__json_error *err);

/* Frees a tree from fl__json_parse. Accepts NULL. */
void fl__json_free(fl__json *v);

/* The member key of object obj, or NULL (also when obj is no object). */
const fl__json *fl__json_get(const fl__json *obj, const char *key);

#endif
