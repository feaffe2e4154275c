/*
 * store.c - opening, checking and calling into the patterns' SQLite file.
 *
 * Opening is the only place bad input can enter, so it checks in order and
 * stops at the first problem, naming the file: SQLite's own verdict (not a
 * database, corrupt, unreadable), then the application_id (0 on a fresh
 * file; 0 with tables already present, or any other id, is somebody else's
 * database), then user_version (our schema version; 0 on a fresh file).
 * A fresh file is stamped inside the same transaction that creates the
 * schema, so a crash mid-open leaves either nothing or a complete store.
 */
#include "store_internal.h"

#include <fl/task.h>

#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

char *fl__err_text(const fl_err *err)
{
	if (!err)
		return fl__strdup("");
	size_t n = fl_err_format(err, NULL, 0);
	char *buf = fl__malloc(n + 1);
	if (buf)
		fl_err_format(err, buf, n + 1);
	return buf;
}

fl_err *fl__store_err(fl__store *s, int rc, const char *what)
{
	int prim = rc & 0xff;
	fl_err *base = FL_ERR_SYSTEM;
	if (prim == SQLITE_NOMEM)
		base = FL_ERR_NOMEM;
	else if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT || prim == SQLITE_MISMATCH ||
		 prim == SQLITE_CONSTRAINT)
		base = FL_ERR_INVAL;
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	return fl_err_wrap(base, "%s: %s: %s (sqlite %d)", s->path, what, msg, rc);
}

fl_err *fl__store_exec(fl__store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? NULL : fl__store_err(s, rc, sql);
}

fl_err *fl__store_prepare(fl__store *s, const char *sql, sqlite3_stmt **out)
{
	*out = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);
	return rc == SQLITE_OK ? NULL : fl__store_err(s, rc, "prepare");
}

/* One integer from a pragma or a count query. */
static fl_err *query_int(fl__store *s, const char *sql, long long *out)
{
	sqlite3_stmt *st;
	fl_err *e = fl__store_prepare(s, sql, &st);
	if (e)
		return e;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		e = fl__store_err(s, rc, sql);
	sqlite3_finalize(st);
	return e;
}

/* Checks (or stamps) the application id and schema version, then creates
 * the module's tables. Runs inside one immediate transaction. */
static fl_err *check_and_create(fl__store *s, const char *schema)
{
	long long app = 0, ver = 0, tables = 0;
	fl_err *e = query_int(s, "PRAGMA application_id", &app);
	if (!e)
		e = query_int(s, "PRAGMA user_version", &ver);
	if (!e)
		e = query_int(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
			      &tables);
	if (e)
		return e;
	if (app == 0 && tables > 0)
		return fl_err_wrap(FL_ERR_INVAL,
				   "%s: foreign SQLite database (no faultline application_id; "
				   "tables of another program: %lld)",
				   s->path, tables);
	if (app != 0 && app != FL__STORE_APP_ID)
		return fl_err_wrap(FL_ERR_INVAL,
				   "%s: foreign SQLite database (application_id 0x%llx, "
				   "expected 0x%x)",
				   s->path, app, FL__STORE_APP_ID);
	if (app != 0 && ver != FL__STORE_VERSION)
		return fl_err_wrap(FL_ERR_INVAL,
				   "%s: schema version %lld, this build reads version %d", s->path,
				   ver, FL__STORE_VERSION);
	if (app == 0) {
		char sql[96];
		snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d",
			 FL__STORE_APP_ID, FL__STORE_VERSION);
		if ((e = fl__store_exec(s, sql)))
			return e;
	}
	return fl__store_exec(s, schema);
}

struct open_args {
	const char *schema;
	bool sync_full;
};

static fl_err *open_in(fl__store *s, void *arg)
{
	struct open_args *a = arg;
	int rc = sqlite3_open_v2(s->path, &s->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK)
		return fl__store_err(s, rc, "open");
	sqlite3_busy_timeout(s->db, 10000);
	sqlite3_extended_result_codes(s->db, 1);
	/* The first read is where SQLite notices a file that is not a
	 * database or is corrupt. */
	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = SQLITE_OK;
	fl_err *e = rc == SQLITE_OK ? NULL : fl__store_err(s, rc, "cannot read it as a database");
	sqlite3_finalize(st);
	if (e)
		return e;
	if ((e = fl__store_exec(s, "PRAGMA journal_mode = WAL")))
		return e;
	if ((e = fl__store_exec(s, a->sync_full ? "PRAGMA synchronous = FULL"
						: "PRAGMA synchronous = NORMAL")))
		return e;
	if ((e = fl__store_exec(s, "BEGIN IMMEDIATE")))
		return e;
	e = check_and_create(s, a->schema);
	fl_err_drop(fl__store_exec(s, e ? "ROLLBACK" : "COMMIT"));
	return e;
}

fl_err *fl__store_open(const char *path, const char *schema, bool sync_full, fl__store **out)
{
	if (!path || !schema || !out)
		return FL_ERR_INVAL;
	fl__store *s = fl__calloc(1, sizeof *s);
	if (!s)
		return FL_ERR_NOMEM;
	if (!(s->path = fl__strdup(path))) {
		free(s);
		return FL_ERR_NOMEM;
	}
	fl__mutex_init(&s->mu);
	struct open_args a = {schema, sync_full};
	fl_err *e = fl__store_call(s, open_in, &a);
	if (e) {
		fl__store_close(s);
		return e;
	}
	*out = s;
	return NULL;
}

void fl__store_close(fl__store *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	fl__mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

struct call {
	fl__store *s;
	fl_err *(*fn)(fl__store *s, void *arg);
	void *arg;
	fl_err *result;
};

static void call_locked(void *arg)
{
	struct call *c = arg;
	fl__mutex_lock(&c->s->mu);
	c->result = c->fn(c->s, c->arg);
	fl__mutex_unlock(&c->s->mu);
}

fl_err *fl__store_call(fl__store *s, fl_err *(*fn)(fl__store *s, void *arg), void *arg)
{
	struct call c = {s, fn, arg, NULL};
	fl_blocking(call_locked, &c);
	return c.result;
}
