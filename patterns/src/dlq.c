/*
 * dlq.c - dead-letter queue, in memory or in SQLite.
 *
 * In memory: a growable array of entries in put order under mu. In SQLite:
 * table dlq_entry (id autoincrement, so put order survives deletes) and
 * dlq_attempt (the history rows of an entry, in rowid order). Drain reads
 * and deletes in one transaction, so an entry is handed out exactly once
 * even across processes sharing the file. Replay works on a snapshot and
 * deletes by id, so puts made meanwhile (by fn or others) are kept.
 *
 * Lock order: mu (memory backend) or the store's mutex (SQLite) is a leaf;
 * user code (replay's fn) never runs under either.
 */
#include <fl/dlq.h>
#include <fl/task.h>

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "sync_internal.h"
#include "fl_alloc_internal.h"

struct fl_dlq {
	fl__store *store; /* NULL: memory backend; immutable */
	fl__mutex mu;     /* memory backend: protects the fields below */
	fl_dlq_entry *v;  /* entries in put order */
	size_t n, cap;
	int64_t next_id;
	fl_err **sentinels; /* immutable copies of the kind lists */
	size_t nsentinels;
	const fl_err_type **types;
	size_t ntypes;
};

static const char dlq_schema[] =
	"CREATE TABLE IF NOT EXISTS dlq_entry(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" item BLOB NOT NULL, reason TEXT NOT NULL, kind TEXT NOT NULL, at_ns INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS dlq_attempt(entry INTEGER NOT NULL, attempt INTEGER NOT NULL,"
	" at_ns INTEGER NOT NULL, error TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS dlq_attempt_entry ON dlq_attempt(entry);";

void fl_dlq_attempt_set(fl_dlq_attempt *a, int attempt, const fl_err *err)
{
	a->attempt = attempt;
	a->at_ns = fl_now();
	fl_err_format(err, a->error, sizeof a->error);
}

static void entry_clear(fl_dlq_entry *e)
{
	free(e->item);
	free(e->reason);
	free(e->kind);
	free(e->attempts);
	memset(e, 0, sizeof *e);
}

void fl_dlq_entries_free(fl_dlq_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		entry_clear(&e[i]);
	free(e);
}

fl_err *fl_dlq_new(const struct fl_dlq_opts *opts, fl_dlq **out)
{
	static const struct fl_dlq_opts none;
	if (!out)
		return FL_ERR_INVAL;
	if (!opts)
		opts = &none;
	fl_dlq *q = fl__calloc(1, sizeof *q);
	if (!q)
		return FL_ERR_NOMEM;
	q->sentinels = fl__calloc(opts->nsentinels + 1, sizeof *q->sentinels);
	q->types = fl__calloc(opts->ntypes + 1, sizeof *q->types);
	if (!q->sentinels || !q->types) {
		free(q->sentinels);
		free(q->types);
		free(q);
		return FL_ERR_NOMEM;
	}
	for (size_t i = 0; i < opts->nsentinels; i++)
		q->sentinels[i] = fl_err_ref(opts->sentinels[i]);
	q->nsentinels = opts->nsentinels;
	if (opts->ntypes)
		memcpy(q->types, opts->types, opts->ntypes * sizeof *q->types);
	q->ntypes = opts->ntypes;
	fl__mutex_init(&q->mu);
	q->next_id = 1;
	if (opts->path) {
		fl_err *e = fl__store_open(opts->path, dlq_schema, true, &q->store);
		if (e) {
			fl_dlq_free(q);
			return fl_err_wrap(e, "dead-letter queue");
		}
	}
	*out = q;
	return NULL;
}

void fl_dlq_free(fl_dlq *q)
{
	if (!q)
		return;
	fl__store_close(q->store);
	fl_dlq_entries_free(q->v, q->n);
	for (size_t i = 0; i < q->nsentinels; i++)
		fl_err_drop(q->sentinels[i]);
	free(q->sentinels);
	free(q->types);
	fl__mutex_destroy(&q->mu);
	free(q);
}

static char *kind_of(const fl_dlq *q, const fl_err *reason)
{
	char buf[160] = "";
	for (size_t i = 0; i < q->nsentinels && !buf[0]; i++)
		if (fl_err_is(reason, q->sentinels[i]))
			snprintf(buf, sizeof buf, "sentinel: %s", fl_err_msg(q->sentinels[i]));
	for (size_t i = 0; i < q->ntypes && !buf[0]; i++)
		if (fl_err_as(reason, q->types[i]))
			snprintf(buf, sizeof buf, "type: %s", q->types[i]->name);
	return fl__strdup(buf);
}

/* ---- SQLite backend ------------------------------------------------------ */

static fl_err *sql_put(fl__store *s, void *arg)
{
	const fl_dlq_entry *en = arg;
	sqlite3_stmt *st = NULL, *at = NULL;
	fl_err *e = fl__store_exec(s, "BEGIN IMMEDIATE");
	if (e)
		return e;
	if ((e = fl__store_prepare(s,
				   "INSERT INTO dlq_entry(item, reason, kind, at_ns)"
				   " VALUES(?, ?, ?, ?)",
				   &st)))
		goto out;
	sqlite3_bind_blob(st, 1, en->item_len ? en->item : "", (int)en->item_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, en->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, en->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, en->at_ns);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		e = fl__store_err(s, rc, "insert dead letter");
		goto out;
	}
	int64_t id = sqlite3_last_insert_rowid(s->db);
	if ((e = fl__store_prepare(s,
				   "INSERT INTO dlq_attempt(entry, attempt, at_ns, error)"
				   " VALUES(?, ?, ?, ?)",
				   &at)))
		goto out;
	for (size_t i = 0; i < en->nattempts; i++) {
		sqlite3_reset(at);
		sqlite3_bind_int64(at, 1, id);
		sqlite3_bind_int(at, 2, en->attempts[i].attempt);
		sqlite3_bind_int64(at, 3, en->attempts[i].at_ns);
		sqlite3_bind_text(at, 4, en->attempts[i].error, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(at)) != SQLITE_DONE) {
			e = fl__store_err(s, rc, "insert attempt");
			goto out;
		}
	}
out:
	sqlite3_finalize(st);
	sqlite3_finalize(at);
	fl_err_drop(fl__store_exec(s, e ? "ROLLBACK" : "COMMIT"));
	return e;
}

struct load {
	bool remove;
	fl_dlq_entry *v;
	size_t n;
	size_t count;
};

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return fl__strdup(t ? (const char *)t : "");
}

static fl_err *load_attempts(fl__store *s, sqlite3_stmt *at, fl_dlq_entry *en)
{
	sqlite3_reset(at);
	sqlite3_bind_int64(at, 1, en->id);
	int rc;
	while ((rc = sqlite3_step(at)) == SQLITE_ROW) {
		fl_dlq_attempt *na = fl__realloc(en->attempts, (en->nattempts + 1) * sizeof *na);
		if (!na)
			return FL_ERR_NOMEM;
		en->attempts = na;
		fl_dlq_attempt *a = &na[en->nattempts++];
		a->attempt = sqlite3_column_int(at, 0);
		a->at_ns = sqlite3_column_int64(at, 1);
		const unsigned char *t = sqlite3_column_text(at, 2);
		snprintf(a->error, sizeof a->error, "%s", t ? (const char *)t : "");
	}
	return rc == SQLITE_DONE ? NULL : fl__store_err(s, rc, "read attempts");
}

static fl_err *sql_load(fl__store *s, void *arg)
{
	struct load *l = arg;
	sqlite3_stmt *st = NULL, *at = NULL;
	fl_err *e = fl__store_exec(s, "BEGIN IMMEDIATE");
	if (e)
		return e;
	if ((e = fl__store_prepare(s,
				   "SELECT id, item, reason, kind, at_ns FROM dlq_entry"
				   " ORDER BY id",
				   &st)) ||
	    (e = fl__store_prepare(s,
				   "SELECT attempt, at_ns, error FROM dlq_attempt"
				   " WHERE entry = ? ORDER BY rowid",
				   &at)))
		goto out;
	int rc;
	while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		fl_dlq_entry *nv = fl__realloc(l->v, (l->n + 1) * sizeof *nv);
		if (!nv) {
			e = FL_ERR_NOMEM;
			break;
		}
		l->v = nv;
		fl_dlq_entry *en = &nv[l->n++];
		memset(en, 0, sizeof *en);
		en->id = sqlite3_column_int64(st, 0);
		en->item_len = (size_t)sqlite3_column_bytes(st, 1);
		en->item = fl__malloc(en->item_len + 1);
		if (en->item && en->item_len)
			memcpy(en->item, sqlite3_column_blob(st, 1), en->item_len);
		en->reason = col_text(st, 2);
		en->kind = col_text(st, 3);
		en->at_ns = sqlite3_column_int64(st, 4);
		if (!en->item || !en->reason || !en->kind)
			e = FL_ERR_NOMEM;
		else
			e = load_attempts(s, at, en);
	}
	if (!e && rc != SQLITE_DONE)
		e = fl__store_err(s, rc, "read dead letters");
	if (!e && l->remove)
		e = fl__store_exec(s, "DELETE FROM dlq_attempt; DELETE FROM dlq_entry");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(at);
	fl_err_drop(fl__store_exec(s, e ? "ROLLBACK" : "COMMIT"));
	return e;
}

static fl_err *sql_remove(fl__store *s, void *arg)
{
	char sql[160];
	int64_t id = *(const int64_t *)arg;
	snprintf(sql, sizeof sql,
		 "BEGIN; DELETE FROM dlq_attempt WHERE entry = %lld;"
		 " DELETE FROM dlq_entry WHERE id = %lld; COMMIT",
		 (long long)id, (long long)id);
	fl_err *e = fl__store_exec(s, sql);
	if (e)
		fl_err_drop(fl__store_exec(s, "ROLLBACK"));
	return e;
}

static fl_err *sql_count(fl__store *s, void *arg)
{
	sqlite3_stmt *st;
	fl_err *e = fl__store_prepare(s, "SELECT count(*) FROM dlq_entry", &st);
	if (e)
		return e;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*(size_t *)arg = (size_t)sqlite3_column_int64(st, 0);
	else
		e = fl__store_err(s, rc, "count dead letters");
	sqlite3_finalize(st);
	return e;
}

/* ---- the API -------------------------------------------------------------- */

/* Deep copy of en into *dst (attempts, strings, bytes). */
static fl_err *entry_copy(fl_dlq_entry *dst, const fl_dlq_entry *en)
{
	*dst = *en;
	dst->item = fl__malloc(en->item_len + 1);
	dst->reason = fl__strdup(en->reason);
	dst->kind = fl__strdup(en->kind);
	dst->attempts = fl__malloc((en->nattempts + 1) * sizeof *dst->attempts);
	if (!dst->item || !dst->reason || !dst->kind || !dst->attempts) {
		entry_clear(dst);
		return FL_ERR_NOMEM;
	}
	if (en->item_len)
		memcpy(dst->item, en->item, en->item_len);
	if (en->nattempts)
		memcpy(dst->attempts, en->attempts, en->nattempts * sizeof *dst->attempts);
	return NULL;
}

fl_err *fl_dlq_put(fl_dlq *q, const void *item, size_t len, const fl_err *reason,
		   const fl_dlq_attempt *attempts, size_t n)
{
	if (!q || !reason || (len && !item) || (n && !attempts))
		return FL_ERR_INVAL;
	fl_dlq_entry en = {
		.item = (void *)item,
		.item_len = len,
		.at_ns = fl_now(),
		.attempts = (fl_dlq_attempt *)attempts,
		.nattempts = n,
	};
	en.reason = fl__err_text(reason);
	en.kind = kind_of(q, reason);
	fl_err *e = NULL;
	if (!en.reason || !en.kind) {
		e = FL_ERR_NOMEM;
	} else if (q->store) {
		e = fl__store_call(q->store, sql_put, &en);
	} else {
		fl_dlq_entry copy;
		if (!(e = entry_copy(&copy, &en))) {
			fl__mutex_lock(&q->mu);
			if (q->n == q->cap) {
				size_t nc = q->cap ? 2 * q->cap : 16;
				fl_dlq_entry *nv = fl__realloc(q->v, nc * sizeof *nv);
				if (nv) {
					q->v = nv;
					q->cap = nc;
				}
			}
			if (q->n < q->cap) {
				copy.id = q->next_id++;
				q->v[q->n++] = copy;
			} else {
				e = FL_ERR_NOMEM;
			}
			fl__mutex_unlock(&q->mu);
			if (e)
				entry_clear(&copy);
		}
	}
	free(en.reason);
	free(en.kind);
	return e;
}

fl_err *fl_dlq_count(fl_dlq *q, size_t *out)
{
	if (!q || !out)
		return FL_ERR_INVAL;
	if (q->store)
		return fl__store_call(q->store, sql_count, out);
	fl__mutex_lock(&q->mu);
	*out = q->n;
	fl__mutex_unlock(&q->mu);
	return NULL;
}

/* Snapshot (remove false) or take (remove true) every entry. */
static fl_err *load(fl_dlq *q, bool remove, fl_dlq_entry **out, size_t *n)
{
	struct load l = {remove, NULL, 0, 0};
	fl_err *e = NULL;
	if (q->store) {
		e = fl__store_call(q->store, sql_load, &l);
	} else {
		fl__mutex_lock(&q->mu);
		if (remove) {
			l.v = q->v;
			l.n = q->n;
			q->v = NULL;
			q->n = q->cap = 0;
		} else if (q->n) {
			l.v = fl__calloc(q->n, sizeof *l.v);
			for (size_t i = 0; l.v && i < q->n && !e; i++, l.n++)
				e = entry_copy(&l.v[i], &q->v[i]);
			if (!l.v)
				e = FL_ERR_NOMEM;
		}
		fl__mutex_unlock(&q->mu);
	}
	if (e) {
		fl_dlq_entries_free(l.v, l.n);
		return e;
	}
	*out = l.v;
	*n = l.n;
	return NULL;
}

fl_err *fl_dlq_drain(fl_dlq *q, fl_dlq_entry **out, size_t *n)
{
	if (!q || !out || !n)
		return FL_ERR_INVAL;
	return load(q, true, out, n);
}

static fl_err *remove_id(fl_dlq *q, int64_t id)
{
	if (q->store)
		return fl__store_call(q->store, sql_remove, &id);
	fl__mutex_lock(&q->mu);
	for (size_t i = 0; i < q->n; i++) {
		if (q->v[i].id != id)
			continue;
		entry_clear(&q->v[i]);
		memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof *q->v);
		q->n--;
		break;
	}
	fl__mutex_unlock(&q->mu);
	return NULL;
}

fl_err *fl_dlq_replay(fl_dlq *q, fl_ctx *ctx,
		      fl_err *(*fn)(fl_ctx *ctx, const fl_dlq_entry *e, void *arg), void *arg,
		      size_t *replayed)
{
	if (replayed)
		*replayed = 0;
	if (!q || !ctx || !fn)
		return FL_ERR_INVAL;
	fl_dlq_entry *v = NULL;
	size_t n = 0;
	fl_err *e = load(q, false, &v, &n);
	if (e)
		return e;
	for (size_t i = 0; i < n; i++) {
		if (fl_ctx_done(ctx)) {
			e = fl_err_join2(e, fl_err_wrap(fl_ctx_stop_err(ctx),
							"replay stopped with %zu entries left",
							n - i));
			break;
		}
		fl_err *fe = fn(ctx, &v[i], arg);
		if (fe) {
			e = fl_err_join2(e,
					 fl_err_wrap(fe, "replay entry %lld", (long long)v[i].id));
			continue;
		}
		fl_err *re = remove_id(q, v[i].id);
		if (re)
			e = fl_err_join2(e, re);
		else if (replayed)
			(*replayed)++;
	}
	fl_dlq_entries_free(v, n);
	return e;
}
