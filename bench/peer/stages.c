/*
 * stages.c - the pipeline stages of W3, W4, W5 and W5b (Go: pipeline.go).
 *
 * Each stage is a group task over struct flb_stage. The mapping to Go:
 *   ctx-aware send   `select { case out <- v: case <-ctx.Done(): }`
 *                    -> fl_chan_send(out, &v, ctx, FL_FOREVER)
 *   range receive    `for v := range in` (ctx not watched)
 *                    -> fl_chan_recv(in, &v, NULL, FL_FOREVER) until FL_CLOSED
 *   select receive   `select { case v, ok := <-in: case <-ctx.Done(): }`
 *                    -> fl_chan_recv(in, &v, ctx, FL_FOREVER)
 *   `defer close(out)` -> stage_close() on every return path.
 * A stage that sees cancellation returns ctx.Err() (FL_ERR_CANCELED or
 * FL_ERR_DEADLINE), as the Go stages do. Elements are int64_t (Go's int).
 */
#include "peer_internal.h"

#include <stdio.h>
#include <stdlib.h>

FL_ERR_SENTINEL(flb_err_boom, "stage failed");

fl_err *flb_ctx_err(fl_ctx *ctx) { return fl_err_ref(fl_ctx_err(ctx)); }

void flb_go(fl_group *g, fl_task_fn fn, void *arg)
{
	flb_must_ok(fl_group_go(g, fn, arg), "fl_group_go");
}

fl_chan *flb_chan(size_t cap)
{
	fl_chan *ch;
	flb_must_ok(fl_chan_new(sizeof(int64_t), cap, NULL, &ch), "fl_chan_new");
	return ch;
}

/* Closes out (Go's deferred close) and passes err through. */
static fl_err *stage_close(fl_chan *out, fl_err *err)
{
	fl_err *cerr = fl_chan_close(out);
	if (cerr) {
		fl_err_print(stderr, cerr);
		abort(); /* every channel has exactly one closer */
	}
	return err;
}

fl_err *flb_status_err(fl_ctx *ctx, int st)
{
	if (st == FL_CANCELED)
		return flb_ctx_err(ctx);
	return fl_err_ref(fl_err_from_status(st));
}

fl_err *flb_produce(fl_ctx *ctx, void *arg)
{
	struct flb_stage *s = arg;
	for (int64_t i = 0; s->n < 0 || i < s->n; i++) {
		int st = fl_chan_send(s->out, &i, ctx, FL_FOREVER);
		if (st != FL_OK)
			return stage_close(s->out, flb_status_err(ctx, st));
	}
	return stage_close(s->out, NULL);
}

/*
 * Forwards in to out; a select relay watches ctx on the receive. With
 * fail_at >= 0 it is relayFail: on receiving that value it stamps fail_ns
 * and fails with flb_err_boom without forwarding it.
 */
fl_err *flb_relay(fl_ctx *ctx, void *arg)
{
	struct flb_stage *s = arg;
	fl_ctx *rctx = s->select ? ctx : NULL;
	for (;;) {
		int64_t v;
		int st = fl_chan_recv(s->in, &v, rctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return stage_close(s->out, NULL);
		if (st != FL_OK)
			return stage_close(s->out, flb_status_err(ctx, st));
		if (v == s->fail_at) {
			s->fail_ns = flb_clock_ns();
			return stage_close(s->out, flb_err_boom);
		}
		st = fl_chan_send(s->out, &v, ctx, FL_FOREVER);
		if (st != FL_OK)
			return stage_close(s->out, flb_status_err(ctx, st));
	}
}

/* Adds up (and counts) everything received until in is closed. */
fl_err *flb_consume(fl_ctx *ctx, void *arg)
{
	struct flb_stage *s = arg;
	fl_ctx *rctx = s->select ? ctx : NULL;
	int64_t sum = 0, count = 0, v;
	int st;
	while ((st = fl_chan_recv(s->in, &v, rctx, FL_FOREVER)) == FL_OK) {
		sum += v;
		count++;
	}
	s->sum = sum;
	s->count = count;
	return st == FL_CLOSED ? NULL : flb_status_err(ctx, st);
}

void flb_pipe_start(struct flb_pipe *p, fl_group *g, int64_t n, size_t cap, bool select,
		    int64_t fail_at)
{
	for (int i = 0; i < 3; i++)
		p->c[i] = flb_chan(cap);
	p->s[0] = (struct flb_stage){.out = p->c[0], .n = n, .fail_at = -1};
	p->s[1] = (struct flb_stage){.in = p->c[0],
				     .out = p->c[1],
				     .select = select,
				     .fail_at = fail_at};
	p->s[2] =
		(struct flb_stage){.in = p->c[1], .out = p->c[2], .select = select, .fail_at = -1};
	p->s[3] = (struct flb_stage){.in = p->c[2], .select = select, .fail_at = -1};
	flb_go(g, flb_produce, &p->s[0]);
	flb_go(g, flb_relay, &p->s[1]);
	flb_go(g, flb_relay, &p->s[2]);
	flb_go(g, flb_consume, &p->s[3]);
}

void flb_pipe_free(struct flb_pipe *p)
{
	for (int i = 0; i < 3; i++)
		fl_chan_free(p->c[i]);
}
