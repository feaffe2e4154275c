/*
 * fl/chan.h - typed-by-size channels and select (Go's channels).
 *
 * A channel carries fixed-size elements, copied in on send and out on
 * receive. Capacity 0 is a rendezvous: a send completes only when a receiver
 * takes the element. Buffered channels hold up to cap elements.
 *
 * Every blocking call takes a context (may be NULL: not watched) and an
 * absolute monotonic deadline: FL_TRY (0) never blocks and returns FL_AGAIN,
 * FL_FOREVER never times out. Results are fl_status codes:
 *   FL_OK        done
 *   FL_CLOSED    send: the channel is closed (the element was not sent);
 *                recv: the channel is closed and drained
 *   FL_CANCELED  ctx was cancelled first (see fl_ctx_err / fl_ctx_cause)
 *   FL_TIMEDOUT  the deadline passed first
 *   FL_AGAIN     FL_TRY and the operation would have blocked
 *   FL_DEADLOCK  sim backend only: an FL_FOREVER wait of the root (the
 *                thread that runs the simulation) while every task is
 *                blocked and no timer is pending (see fl_sim_begin)
 * A call whose ctx is already cancelled on entry returns FL_CANCELED without
 * touching the channel, even if it could complete, so a stage that watches
 * ctx stops promptly. Once a call is waiting, the first event wins; if a peer
 * completes the operation as ctx is cancelled, the call reports the
 * completion (FL_OK), never a half-done operation.
 *
 * Ownership: pointer payloads belong to the sender until a send succeeds
 * (on any other result the element was not sent). A channel's optional free
 * callback is called, with a pointer to the element's slot, for every
 * element still buffered when the channel is freed.
 *
 * Thread safety: any number of tasks may send, receive and select on a
 * channel concurrently. fl_chan_free must not race with other use.
 */
#ifndef FL_CHAN_H
#define FL_CHAN_H

#include <fl/err.h>
#include <fl/task.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_chan fl_chan;

/* Channel options; all-zero means defaults. */
struct fl_chan_opts {
	const char *name;              /* for task dumps; copied */
	void (*free_elem)(void *elem); /* drains buffered elements on free */
};

/*
 * Creates a channel of elements of elem_size bytes (1 to 65536) with
 * capacity cap. opts may be NULL. *out is set only on success.
 * Errors: FL_ERR_INVAL (elem_size 0 or too large, out NULL), FL_ERR_NOMEM
 * (including a capacity too large to allocate).
 */
FL_MUST_CHECK fl_err *fl_chan_new(size_t elem_size, size_t cap, const struct fl_chan_opts *opts,
				  fl_chan **out);

/*
 * Frees a channel. Buffered elements are passed to free_elem (if set).
 * Aborts (misuse) if a task is still blocked on it. NULL is ignored.
 * Thread safety: must not race with any other use of ch.
 */
void fl_chan_free(fl_chan *ch);

/*
 * Sends a copy of *elem (elem_size bytes).
 * Returns FL_OK, FL_CLOSED, FL_CANCELED, FL_TIMEDOUT or FL_AGAIN.
 * Blocks: until a receiver takes it or a buffer slot frees, the channel
 * closes, ctx is cancelled or the deadline passes.
 */
int fl_chan_send(fl_chan *ch, const void *elem, fl_ctx *ctx, int64_t deadline_ns);
/*
 * Receives into *elem (may be NULL to discard); elements arrive in FIFO
 * order. *elem is written only on FL_OK.
 * Returns FL_OK, FL_CLOSED (closed and drained), FL_CANCELED, FL_TIMEDOUT
 * or FL_AGAIN. Blocks: until an element arrives, the channel closes, ctx is
 * cancelled or the deadline passes.
 */
int fl_chan_recv(fl_chan *ch, void *elem, fl_ctx *ctx, int64_t deadline_ns);

/*
 * Closes the channel: blocked and later senders get FL_CLOSED, receivers
 * drain the buffer and then get FL_CLOSED.
 * Errors: an error matching FL_ERR_CLOSED on a second close (never a crash).
 */
FL_MUST_CHECK fl_err *fl_chan_close(fl_chan *ch);

/* Elements buffered right now (a snapshot; always 0 for capacity 0). */
size_t fl_chan_len(fl_chan *ch);
/* The capacity given to fl_chan_new. */
size_t fl_chan_cap(const fl_chan *ch);
/* True once fl_chan_close has been called (a snapshot). */
bool fl_chan_closed(fl_chan *ch);

/* One case of fl_select. A NULL ch is never ready (Go's nil channel). */
enum fl_select_op { FL_SEND = 1, FL_RECV = 2 };
typedef struct fl_select_case {
	int op; /* FL_SEND or FL_RECV */
	fl_chan *ch;
	void *elem; /* send: source; recv: destination (may be NULL) */
	int status; /* out, chosen case only: FL_OK or FL_CLOSED */
} fl_select_case;

/*
 * Waits until one case can proceed, performs it and returns its index.
 * Returns FL_CANCELED, FL_TIMEDOUT or FL_AGAIN (negative) if none did; the
 * ctx and deadline rules are those of fl_chan_send.
 * Fairness: when several cases are ready, one is chosen uniformly at random
 * (as Go does), so no case starves. A send case on a closed channel, and a
 * receive case on a closed and drained one, are "ready" and complete with
 * status FL_CLOSED. Several cases may name the same channel. At most 64
 * cases (more is misuse and aborts); n == 0 waits for ctx or the deadline.
 * Under ThreadSanitizer keep to 63: a select holds every channel's lock and
 * then a waker's, and TSan's deadlock detector tracks 64 locks per thread.
 */
int fl_select(fl_select_case *cases, size_t n, fl_ctx *ctx, int64_t deadline_ns);

#ifdef __cplusplus
}
#endif
#endif
