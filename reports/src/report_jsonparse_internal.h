/*
 * report_jsonparse_internal.h - the strict JSON parser behind
 * fl_report_load_json. Private to the reports library.
 */
#ifndef FL_REPORT_JSONPARSE_INTERNAL_H
#define FL_REPORT_JSONPARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define FL__JV_MAX_DEPTH 64

enum fl__jv_kind { FL__JV_NULL, FL__JV_BOOL, FL__JV_NUM, FL__JV_STR, FL__JV_ARR, FL__JV_OBJ };

/* One JSON value. The tree owns every kids array, key and str. */
typedef struct fl__jv {
	enum fl__jv_kind kind;
	int line, col;          /* where the value starts, 1-based */
	char *key;              /* as an object member: its name */
	char *str;              /* FL__JV_STR: decoded UTF-8, NUL-terminated */
	const char *num;        /* FL__JV_NUM: the token, in the parsed text */
	size_t numlen;
	bool b;                 /* FL__JV_BOOL */
	struct fl__jv *kids;    /* array elements or object members, in order */
	size_t nkids;
	size_t cap_;
} fl__jv;

/* Where and why parsing failed. */
typedef struct fl__jv_error {
	int line, col;
	char msg[160];
} fl__jv_error;

/*
 * Parses the NUL-terminated text (which must outlive the tree: numbers
 * point into it). Returns the root, or NULL with *err filled.
 */
fl__jv *fl__jv_parse(const char *text, fl__jv_error *err);

/* Frees a tree from fl__jv_parse. Accepts NULL. */
void fl__jv_free(fl__jv *v);

/* The member key of object obj, or NULL (also when obj is no object). */
const fl__jv *fl__jv_get(const fl__jv *obj, const char *key);

#endif
