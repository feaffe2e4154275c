/*
 * cursor.c - stream consumer with a persisted cursor (fl/cursor.h).
 *
 * Table cursor(name primary key, next_offset). The in-memory cursor keeps
 * the highest done offset and a count of dones since the last record;
 * recording is one UPSERT, so the stored value only ever names events that
 * were processed before it was written (process -> done -> record). That
 * order is the whole at-least-once argument: a crash loses records, never
 * processing, so a restart re-delivers from the last record, which is at
 * most `every` - 1 events behind the last processed one (`every` if the
 * crash hit between processing and counting).
 */
#include <fl/cursor.h>
#include <fl/group.h>
#include <fl/task.h>

#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "fl_alloc_internal.h"

struct fl_cursor {
	fl__store *store; /* see store_internal.h */
	char *name;       /* immutable */
	int every;        /* immutable, >= 1 */
	int64_t next;     /* the owner task: last done offset + 1 */
	int64_t saved;    /* the owner task: what the store holds */
	int since;        /* the owner task: dones since the last record */
};

static const char cursor_schema[] =
	"CREATE TABLE IF NOT EXISTS cursor(name TEXT PRIMARY KEY, next_offset INTEGER NOT NULL);";

struct rw {
	fl_cursor *c;
	int64_t value;
};

static fl_err *tx_read(fl__store *s, void *arg)
{
	struct rw *a = arg;
	sqlite3_stmt *st;
	fl_err *e = fl__store_prepare(s, "SELECT next_offset FROM cursor WHERE name = ?", &st);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, a->c->name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	a->value = 0;
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || sqlite3_column_int64(st, 0) < 0)
			e = fl_err_wrap(FL_ERR_INVAL, "%s: cursor %s: next_offset is not an offset",
					s->path, a->c->name);
		else
			a->value = sqlite3_column_int64(st, 0);
	} else if (rc != SQLITE_DONE) {
		e = fl__store_err(s, rc, "read cursor");
	}
	sqlite3_finalize(st);
	return e;
}

static fl_err *tx_write(fl__store *s, void *arg)
{
	struct rw *a = arg;
	sqlite3_stmt *st;
	fl_err *e = fl__store_prepare(
		s,
		"INSERT INTO cursor(name, next_offset) VALUES(?, ?)"
		" ON CONFLICT(name) DO UPDATE SET next_offset = excluded.next_offset",
		&st);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, a->c->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->value);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		e = fl__store_err(s, rc, "record cursor");
	sqlite3_finalize(st);
	return e;
}

fl_err *fl_cursor_open(const struct fl_cursor_opts *opts, fl_cursor **out, int64_t *next)
{
	if (!opts || !opts->path || !opts->name || !opts->name[0] || !out || opts->every < 0)
		return FL_ERR_INVAL;
	fl_cursor *c = fl__calloc(1, sizeof *c);
	if (!c || !(c->name = fl__strdup(opts->name))) {
		free(c);
		return FL_ERR_NOMEM;
	}
	c->every = opts->every ? opts->every : 1;
	/* synchronous=NORMAL: a power loss may roll the cursor back a few
	 * records, which at-least-once delivery already tolerates. */
	fl_err *e = fl__store_open(opts->path, cursor_schema, false, &c->store);
	struct rw a = {c, 0};
	if (!e)
		e = fl__store_call(c->store, tx_read, &a);
	if (e) {
		fl_cursor_close(c);
		return fl_err_wrap(e, "cursor %s", opts->name);
	}
	c->next = c->saved = a.value;
	if (next)
		*next = a.value;
	*out = c;
	return NULL;
}

void fl_cursor_close(fl_cursor *c)
{
	if (!c)
		return;
	fl__store_close(c->store);
	free(c->name);
	free(c);
}

fl_err *fl_cursor_save(fl_cursor *c)
{
	if (!c)
		return FL_ERR_INVAL;
	if (c->next == c->saved)
		return NULL;
	struct rw a = {c, c->next};
	fl_err *e = fl__store_call(c->store, tx_write, &a);
	if (!e) {
		c->saved = c->next;
		c->since = 0;
	}
	return e;
}

fl_err *fl_cursor_done(fl_cursor *c, int64_t offset)
{
	if (!c || offset < 0)
		return FL_ERR_INVAL;
	if (offset + 1 > c->next)
		c->next = offset + 1;
	if (++c->since < c->every)
		return NULL;
	return fl_cursor_save(c);
}

int64_t fl_cursor_saved(const fl_cursor *c) { return c->saved; }

struct source_task {
	fl_cursor_source_fn fn;
	void *arg;
	int64_t from;
	fl_chan *ch;
};

static fl_err *source_main(fl_ctx *ctx, void *arg)
{
	struct source_task *t = arg;
	fl_err *e = t->fn(ctx, t->from, t->ch, t->arg);
	fl_err_drop(fl_chan_close(t->ch));
	return e;
}

fl_err *fl_cursor_run(fl_ctx *ctx, const struct fl_cursor_opts *opts, size_t event_size,
		      fl_cursor_source_fn source, fl_cursor_process_fn process, void *arg,
		      size_t *processed)
{
	if (processed)
		*processed = 0;
	if (!ctx || !opts || event_size < sizeof(int64_t) || !source || !process)
		return FL_ERR_INVAL;
	fl_cursor *c;
	int64_t from;
	fl_err *e = fl_cursor_open(opts, &c, &from);
	if (e)
		return e;
	void *ev = fl__malloc(event_size);
	fl_chan *ch = NULL;
	fl_group *g = NULL;
	fl_ctx *gctx;
	struct fl_group_opts go = {.name = opts->name};
	if (!ev)
		e = FL_ERR_NOMEM;
	else if (!(e = fl_chan_new(event_size, 16, NULL, &ch)))
		e = fl_group_new(ctx, &go, &g, &gctx);
	if (e)
		goto out;
	struct source_task st = {source, arg, from, ch};
	if ((e = fl_group_go_named(g, "cursor source", source_main, &st)))
		goto wait;
	while (fl_chan_recv(ch, ev, gctx, FL_FOREVER) == FL_OK) {
		int64_t off;
		memcpy(&off, ev, sizeof off);
		fl_err *pe = process(gctx, ev, arg);
		if (!pe)
			pe = fl_cursor_done(c, off);
		if (pe) {
			e = fl_err_wrap(pe, "cursor %s: event %lld", opts->name, (long long)off);
			fl_group_cancel(g, e);
			break;
		}
		if (processed)
			(*processed)++;
	}
	if (!e && fl_ctx_done(gctx) && !fl_group_first_err(g))
		e = fl_ctx_stop_err(gctx);
wait : {
	fl_err *we = fl_group_wait(g);
	if (e)
		fl_err_drop(we);
	else
		e = we;
}
	e = fl_err_join2(e, fl_cursor_save(c));
out:
	fl_group_free(g);
	fl_chan_free(ch);
	free(ev);
	fl_cursor_close(c);
	return e;
}
