/*
 * store_internal.h - the SQLite file behind the persistent patterns (private).
 *
 * DLQ, saga and cursor stores share one file format: a SQLite database in
 * WAL mode whose application_id is FL__STORE_APP_ID and whose user_version
 * is FL__STORE_VERSION. A module adds its own tables (CREATE ... IF NOT
 * EXISTS), so one file may hold several stores. Opening checks the file and
 * names it in every error: not a database, a foreign database (another
 * application_id, or tables of somebody else), a schema version we do not
 * know.
 *
 * Every statement runs through fl__store_call: on the caller's task under
 * the threads backend, on a side thread (fl_blocking) under fibers, so a
 * fsync never stalls a fibers worker. The store's mutex is taken inside the
 * blocking call, on the thread that talks to SQLite, never held across a
 * park.
 */
#ifndef FL_STORE_INTERNAL_H
#define FL_STORE_INTERNAL_H

#include <fl/err.h>

#include <sqlite3.h>

#include "sync_internal.h"

#define FL__STORE_APP_ID 0x464c5431 /* "FLT1" */
#define FL__STORE_VERSION 1

typedef struct fl__store {
	sqlite3 *db;  /* under mu */
	char *path;   /* immutable */
	fl__mutex mu; /* serialises statements and transactions */
} fl__store;

/*
 * Opens (creating if missing) path and runs schema (one or more CREATE ...
 * IF NOT EXISTS statements). sync_full selects synchronous=FULL rather than
 * NORMAL. Errors: a wrapped FL_ERR_INVAL naming the file for bad input,
 * FL_ERR_SYSTEM-matching errors for I/O, FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl__store_open(const char *path, const char *schema, bool sync_full,
				     fl__store **out);
void fl__store_close(fl__store *s);

/* Runs fn(s, arg) under the store's mutex, through fl_blocking. */
FL_MUST_CHECK fl_err *fl__store_call(fl__store *s, fl_err *(*fn)(fl__store *s, void *arg),
				     void *arg);

/* An error for the last failure on db: "<path>: <what>: <sqlite message>". */
FL_MUST_CHECK fl_err *fl__store_err(fl__store *s, int rc, const char *what);
/* Runs SQL with no results (inside fn). */
FL_MUST_CHECK fl_err *fl__store_exec(fl__store *s, const char *sql);
/* Prepares sql (inside fn); *out NULL on error. */
FL_MUST_CHECK fl_err *fl__store_prepare(fl__store *s, const char *sql, sqlite3_stmt **out);

/* A heap copy of the one-line form of err ("" for NULL). */
char *fl__err_text(const fl_err *err);

#endif
