/*
 * wrap_sqlite.c - SQLite writing a database, no faultline headers: what
 * test_wrap.c faults through `faultline wrap` to show SQLite's writes
 * (pwrite) reach the plan. Creates DIR/t.db in rollback-journal mode,
 * makes a table and inserts a row; prints each step's result code and
 * message as SQLite reports them; exits 0 if every step succeeded, 1 if
 * one failed.
 */
#include <sqlite3.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: wrap_sqlite DIR\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/t.db", argv[1]);
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);
	const char *steps[] = {"PRAGMA journal_mode=DELETE", "CREATE TABLE t(x)",
			       "INSERT INTO t VALUES (42)"};
	for (unsigned i = 0; rc == SQLITE_OK && i < sizeof(steps) / sizeof(steps[0]); i++) {
		rc = sqlite3_exec(db, steps[i], NULL, NULL, NULL);
		printf("%s: rc %d (%s) extended %d\n", steps[i], rc, sqlite3_errstr(rc),
		       sqlite3_extended_errcode(db));
	}
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : 1;
}
