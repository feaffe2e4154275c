/*
 * report_jsonparse.c - a small, strict JSON parser (RFC 8259) for reading
 * our own report files back.
 *
 * Design: recursive descent over a NUL-terminated buffer into a tree of
 * fl__json nodes. Each node remembers the line and column where it starts,
 * so the schema checks in report_load.c can point at the offending value,
 * not just at the file. Numbers are kept as their source text and converted by
 * the reader that knows the wanted type, so int64 and uint64 values stay
 * exact (a double would lose digits above 2^53).
 *
 * Strictness: no comments, no trailing commas, no leading zeros, no bare
 * control characters in strings, only the standard escapes, \u surrogates
 * must pair up, the text must be valid UTF-8, \u0000 is refused (our
 * strings are C strings), duplicate keys are an error, nesting is limited
 * to FL__JSON_MAX_DEPTH, and nothing but whitespace may follow the value.
 *
 * Why not jansson (which writes the reports, report_json.c, and the gate's
 * verdict): its values carry no position, so schema errors could not name
 * a line and column ("1:43: unsupported report version 2"); it refuses
 * integers above INT64_MAX ("too big integer"), which earlier writers used
 * for uint64 seeds; and its syntax errors are worded and placed differently
 * ("1:8: invalid token near '1.'" where this says "1:7: bad fraction").
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_jsonparse_internal.h"
#include "report_internal.h"
#include "fl_alloc_internal.h"

typedef struct parser {
	const char *p;          /* next character */
	const char *line_start; /* first character of the current line */
	int line;               /* 1-based */
	int depth;
	fl__json_error *err;
} parser;

static int col_of(const parser *ps, const char *at) { return (int)(at - ps->line_start) + 1; }

static bool fail_at(parser *ps, const char *at, const char *fmt, ...) FL_PRINTF(3, 4);

static bool fail_at(parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;
	ps->err->line = ps->line;
	ps->err->col = col_of(ps, at);
	va_start(ap, fmt);
	vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
	return false;
}

static void skip_ws(parser *ps)
{
	for (;;) {
		char c = *ps->p;
		if (c == '\n') {
			ps->line++;
			ps->line_start = ++ps->p;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else {
			return;
		}
	}
}

static bool parse_value(parser *ps, fl__json *v);

static void set_pos(parser *ps, fl__json *v)
{
	v->line = ps->line;
	v->col = col_of(ps, ps->p);
}

/* Reads 4 hex digits at p. */
static bool hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return false;
		v = v * 16 + (uint32_t)d;
	}
	*out = v;
	return true;
}

static size_t put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \uXXXX escape at ps->p (on the backslash), with its low surrogate. */
static bool unicode_escape(parser *ps, uint32_t *cp)
{
	const char *at = ps->p;
	if (!hex4(ps->p + 2, cp))
		return fail_at(ps, at, "bad \\u escape");
	ps->p += 6;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return fail_at(ps, at, "unpaired low surrogate");
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		uint32_t lo;
		if (ps->p[0] != '\\' || ps->p[1] != 'u' || !hex4(ps->p + 2, &lo) || lo < 0xdc00 ||
		    lo > 0xdfff)
			return fail_at(ps, at, "unpaired high surrogate");
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
		ps->p += 6;
	}
	if (*cp == 0)
		return fail_at(ps, at, "\\u0000 is not allowed");
	return true;
}

/* One escape sequence at ps->p (the backslash); appends to d, returns len. */
static size_t escape(parser *ps, char *d)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	char c = ps->p[1];
	const char *k = c ? strchr(from, c) : NULL;
	if (k) {
		ps->p += 2;
		*d = to[k - from];
		return 1;
	}
	uint32_t cp;
	if (c != 'u') {
		fail_at(ps, ps->p, "bad escape");
		return 0;
	}
	return unicode_escape(ps, &cp) ? put_utf8(d, cp) : 0;
}

/* The source length of a string body at p, up to its end or a newline. */
static size_t source_len(const char *p)
{
	const char *s = p;
	while (*p && *p != '"' && *p != '\n')
		p += p[0] == '\\' && p[1] ? 2 : 1;
	return (size_t)(p - s);
}

/*
 * A string at ps->p (the opening quote) into a malloc'ed UTF-8 copy.
 * Decoded text is never longer than its source, so one allocation fits.
 */
static bool parse_string(parser *ps, char **out)
{
	const char *start = ps->p++;
	char *d = fl__malloc(source_len(ps->p) + 1), *w = d;
	if (!d)
		return fail_at(ps, start, "out of memory");
	for (;;) {
		unsigned char c = (unsigned char)*ps->p;
		uint32_t cp;
		size_t n;
		if (c == '"')
			break;
		if (c == '\\') {
			n = escape(ps, w);
			if (!n)
				goto bad;
			w += n;
			continue;
		}
		if (c == 0 || c == '\n') {
			fail_at(ps, start, "unterminated string");
			goto bad;
		}
		if (c < 0x20) {
			fail_at(ps, ps->p, "control character in string");
			goto bad;
		}
		n = fl__report_utf8_next(ps->p, &cp);
		if (n == 0) {
			fail_at(ps, ps->p, "invalid UTF-8 in string");
			goto bad;
		}
		memcpy(w, ps->p, n);
		w += n;
		ps->p += n;
	}
	ps->p++;
	*w = '\0';
	*out = d;
	return true;
bad:
	free(d);
	return false;
}

static bool digits(parser *ps)
{
	const char *s = ps->p;
	while (*ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > s;
}

static bool parse_number(parser *ps, fl__json *v)
{
	const char *s = ps->p;
	if (*ps->p == '-')
		ps->p++;
	if (*ps->p == '0' && ps->p[1] >= '0' && ps->p[1] <= '9')
		return fail_at(ps, s, "leading zero in number");
	if (!digits(ps))
		return fail_at(ps, s, "bad number");
	if (*ps->p == '.') {
		ps->p++;
		if (!digits(ps))
			return fail_at(ps, s, "bad fraction");
	}
	if (*ps->p == 'e' || *ps->p == 'E') {
		ps->p++;
		if (*ps->p == '+' || *ps->p == '-')
			ps->p++;
		if (!digits(ps))
			return fail_at(ps, s, "bad exponent");
	}
	v->kind = FL__JSON_NUM;
	v->num = s;
	v->numlen = (size_t)(ps->p - s);
	return true;
}

static bool parse_literal(parser *ps, fl__json *v)
{
	static const struct {
		const char *word;
		enum fl__json_kind kind;
		bool b;
	} lits[] = {{"null", FL__JSON_NULL, false},
		    {"true", FL__JSON_BOOL, true},
		    {"false", FL__JSON_BOOL, false}};
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(lits[i].word);
		if (strncmp(ps->p, lits[i].word, n) == 0) {
			v->kind = lits[i].kind;
			v->b = lits[i].b;
			ps->p += n;
			return true;
		}
	}
	if (*ps->p == 0)
		return fail_at(ps, ps->p, "unexpected end of input");
	return fail_at(ps, ps->p, "unexpected character '%c'",
		       *ps->p >= 0x20 && *ps->p < 0x7f ? *ps->p : '?');
}

/* Appends a zeroed child to v and returns it, or NULL when out of memory. */
static fl__json *add_kid(parser *ps, fl__json *v)
{
	if (!fl__report_grow((void **)&v->kids, &v->cap_, v->nkids + 1, sizeof(*v->kids))) {
		fail_at(ps, ps->p, "out of memory");
		return NULL;
	}
	fl__json *k = &v->kids[v->nkids++];
	memset(k, 0, sizeof(*k));
	return k;
}

/* Parses the comma-separated elements or members of v up to close. */
static bool parse_items(parser *ps, fl__json *v, char close)
{
	bool obj = close == '}';
	ps->p++;
	skip_ws(ps);
	if (*ps->p == close) {
		ps->p++;
		return true;
	}
	for (;;) {
		fl__json *k = add_kid(ps, v);
		if (!k)
			return false;
		if (obj) {
			const char *at = ps->p;
			if (*ps->p != '"')
				return fail_at(ps, at, "expected a member name");
			if (!parse_string(ps, &k->key))
				return false;
			for (size_t i = 0; i + 1 < v->nkids; i++)
				if (strcmp(v->kids[i].key, k->key) == 0)
					return fail_at(ps, at, "duplicate key \"%s\"", k->key);
			skip_ws(ps);
			if (*ps->p++ != ':')
				return fail_at(ps, ps->p - 1, "expected ':'");
			skip_ws(ps);
		}
		if (!parse_value(ps, k))
			return false;
		skip_ws(ps);
		if (*ps->p == close) {
			ps->p++;
			return true;
		}
		if (*ps->p != ',')
			return fail_at(ps, ps->p, "expected ',' or '%c'", close);
		ps->p++;
		skip_ws(ps);
		if (*ps->p == close)
			return fail_at(ps, ps->p, "trailing comma");
	}
}

static bool parse_value(parser *ps, fl__json *v)
{
	set_pos(ps, v);
	char c = *ps->p;
	if (c == '"') {
		v->kind = FL__JSON_STR;
		return parse_string(ps, &v->str);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(ps, v);
	if (c != '[' && c != '{')
		return parse_literal(ps, v);
	if (++ps->depth > FL__JSON_MAX_DEPTH)
		return fail_at(ps, ps->p, "nesting deeper than %d", FL__JSON_MAX_DEPTH);
	v->kind = c == '[' ? FL__JSON_ARR : FL__JSON_OBJ;
	bool ok = parse_items(ps, v, c == '[' ? ']' : '}');
	ps->depth--;
	return ok;
}

fl__json *fl__json_parse(const char *text, fl__json_error *err)
{
	parser ps = {.p = text, .line_start = text, .line = 1, .err = err};
	fl__json *root = fl__calloc(1, sizeof(*root));
	if (!root) {
		fail_at(&ps, text, "out of memory");
		return NULL;
	}
	if (strncmp(ps.p, "\xef\xbb\xbf", 3) == 0)
		ps.p += 3, ps.line_start = ps.p; /* tolerate a UTF-8 BOM */
	skip_ws(&ps);
	bool ok = parse_value(&ps, root);
	if (ok) {
		skip_ws(&ps);
		if (*ps.p)
			ok = fail_at(&ps, ps.p, "trailing characters after the value");
	}
	if (!ok) {
		fl__json_free(root);
		return NULL;
	}
	return root;
}

static void jv_clear(fl__json *v)
{
	for (size_t i = 0; i < v->nkids; i++)
		jv_clear(&v->kids[i]);
	free(v->kids);
	free(v->key);
	free(v->str);
}

void fl__json_free(fl__json *v)
{
	if (!v)
		return;
	jv_clear(v);
	free(v);
}

const fl__json *fl__json_get(const fl__json *obj, const char *key)
{
	if (obj->kind != FL__JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->nkids; i++)
		if (strcmp(obj->kids[i].key, key) == 0)
			return &obj->kids[i];
	return NULL;
}
