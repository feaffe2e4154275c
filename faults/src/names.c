/*
 * names.c - point-name globs, name hashing, and the error-name registry.
 *
 * Globs: a point name is a '/'-separated path ("tenant/a/enrich"). In a
 * pattern '*' matches any run of characters within one segment, '**' any
 * run across segments, and "**" followed by '/' may also match nothing, so
 * "**\/enrich" matches "enrich" as well as "x/y/enrich". Matching is a
 * dynamic programme over name positions, O(len(pattern) * len(name)), so
 * no pattern can make it exponential. It runs only when a point's
 * resolution is (re)computed, never on the per-evaluation path.
 *
 * Error names: error(NAME) in a plan resolves, at parse time, through a
 * table of built-in names (the FL_ERR_* sentinels) and then a growable
 * table of user registrations, protected by err_mu (a leaf lock). Entries
 * are never removed, so a looked-up sentinel is valid for the life of the
 * process.
 */
#include "fault_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

/* ---- hashing --------------------------------------------------------------- */

uint64_t fl__fault_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t fl__fault_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return fl__fault_mix64(h);
}

/* ---- globs ----------------------------------------------------------------- */

enum { G_LIT, G_STAR, G_DSTAR, G_DSTAR_SLASH };

/* Reads the pattern token at *p, advancing it; *lit receives a literal. */
static int glob_token(const char **p, char *lit)
{
	const char *s = *p;
	if (s[0] != '*') {
		*lit = s[0];
		*p = s + 1;
		return G_LIT;
	}
	if (s[1] != '*') {
		*p = s + 1;
		return G_STAR;
	}
	*p = s[2] == '/' ? s + 3 : s + 2;
	return s[2] == '/' ? G_DSTAR_SLASH : G_DSTAR;
}

/* One DP step: next[j] = "the name's first j chars match the pattern up
 * to and including this token". */
static void glob_step(int tok, char lit, const char *name, size_t n, const bool *cur, bool *next)
{
	bool any = false;
	for (size_t j = 0; j <= n; j++) {
		bool v;
		switch (tok) {
		case G_LIT: v = j > 0 && cur[j - 1] && name[j - 1] == lit; break;
		case G_STAR: v = cur[j] || (j > 0 && next[j - 1] && name[j - 1] != '/'); break;
		case G_DSTAR: v = cur[j] || (j > 0 && next[j - 1]); break;
		default: /* "**" then '/': nothing, or anything ending in '/' */
			v = cur[j] || (j > 0 && name[j - 1] == '/' && any);
			break;
		}
		any |= cur[j];
		next[j] = v;
	}
}

bool fl__fault_glob(const char *pattern, const char *name)
{
	size_t n = strlen(name);
	bool small[2][128];
	bool *buf = n < 128 ? NULL : fl__malloc(2 * (n + 1));
	if (n >= 128 && !buf) {
		fl__alloc_absorbed();
		return false; /* out of memory: treat as no match */
	}
	bool *cur = buf ? buf : small[0], *next = buf ? buf + n + 1 : small[1];
	memset(cur, 0, n + 1);
	cur[0] = true;
	for (const char *p = pattern; *p;) {
		char lit = 0;
		int tok = glob_token(&p, &lit);
		glob_step(tok, lit, name, n, cur, next);
		bool *t = cur;
		cur = next;
		next = t;
	}
	bool ok = cur[n];
	free(buf);
	return ok;
}

/* ---- error names ------------------------------------------------------------ */

static const struct {
	const char *name;
	fl_err *err;
} BUILTIN[] = {
	{"canceled", FL_ERR_CANCELED}, {"deadline", FL_ERR_DEADLINE}, {"nomem", FL_ERR_NOMEM},
	{"closed", FL_ERR_CLOSED},     {"limit", FL_ERR_LIMIT},       {"inval", FL_ERR_INVAL},
	{"again", FL_ERR_AGAIN},       {"misuse", FL_ERR_MISUSE},     {"panic", FL_ERR_PANIC},
	{"system", FL_ERR_SYSTEM},
};
#define NBUILTIN (sizeof(BUILTIN) / sizeof(BUILTIN[0]))

struct user_err {
	char *name;
	fl_err *err; /* one reference, kept forever */
};

static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static struct user_err *user_errs; /* err_mu */
static size_t n_user, cap_user;    /* err_mu */

static fl_err *builtin_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < NBUILTIN; i++)
		if (strlen(BUILTIN[i].name) == len && memcmp(BUILTIN[i].name, name, len) == 0)
			return BUILTIN[i].err;
	return NULL;
}

/* Caller holds err_mu. */
static struct user_err *user_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < n_user; i++)
		if (strlen(user_errs[i].name) == len && memcmp(user_errs[i].name, name, len) == 0)
			return &user_errs[i];
	return NULL;
}

fl_err *fl__fault_error_lookup(const char *name, size_t len)
{
	fl_err *e = builtin_lookup(name, len);
	if (e)
		return e;
	FL_LOCK(&err_mu);
	struct user_err *u = user_lookup(name, len);
	e = u ? u->err : NULL;
	FL_UNLOCK(&err_mu);
	return e;
}

static bool valid_error_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* Appends name -> sentinel; caller holds err_mu. */
static fl_err *user_add(const char *name, fl_err *sentinel)
{
	if (n_user == cap_user) {
		size_t ncap = cap_user ? cap_user * 2 : 8;
		struct user_err *p = fl__realloc(user_errs, ncap * sizeof(*p));
		if (!p)
			return FL_ERR_NOMEM;
		user_errs = p;
		cap_user = ncap;
	}
	char *copy = fl__strdup(name);
	if (!copy)
		return FL_ERR_NOMEM;
	user_errs[n_user++] = (struct user_err){copy, fl_err_ref(sentinel)};
	return NULL;
}

fl_err *fl_fault_register_error(const char *name, fl_err *sentinel)
{
	if (!name || !sentinel || !valid_error_name(name))
		return fl_err_wrap(FL_ERR_INVAL, "fl_fault_register_error: bad name '%s'",
				   name ? name : "(null)");
	if (builtin_lookup(name, strlen(name)))
		return fl_err_wrap(FL_ERR_INVAL, "fl_fault_register_error: '%s' is built in", name);
	FL_LOCK(&err_mu);
	struct user_err *u = user_lookup(name, strlen(name));
	fl_err *e = NULL;
	if (u && u->err != sentinel)
		e = fl_err_wrap(FL_ERR_INVAL,
				"fl_fault_register_error: '%s' is already "
				"registered to another error",
				name);
	else if (!u)
		e = user_add(name, sentinel);
	FL_UNLOCK(&err_mu);
	return e;
}
