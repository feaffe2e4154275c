/*
 * chan_internal.h - the channel layout, shared by chan.c and select.c.
 *
 * Not installed and not part of the public API. select.c needs the layout
 * and the "complete now if you can" primitives; white-box tests use
 * fl__chan_waiting to know that a task has blocked, instead of sleeping.
 */
#ifndef FL_CHAN_INTERNAL_H
#define FL_CHAN_INTERNAL_H

#include <fl/chan.h>

#include <stdbool.h>
#include <stddef.h>

#include "sched_internal.h"
#include "sync_internal.h"

/* Largest element a channel carries by copy (Go has the same limit). */
#define FL__CHAN_MAX_ELEM ((size_t)1 << 16)
/* Most cases one fl_select takes. */
#define FL__SELECT_MAX 64

struct fl_chan {
	fl__obj obj;                   /* immutable: label and trace number */
	fl__mutex mu;                  /* protects every field marked (mu) */
	size_t elem_size;              /* immutable: bytes per element, > 0 */
	size_t cap;                    /* immutable: ring slots; 0 = rendezvous */
	unsigned char *buf;            /* immutable pointer; slot bytes (mu) */
	size_t head;                   /* (mu) slot of the oldest element */
	size_t count;                  /* (mu) buffered elements, <= cap */
	bool closed;                   /* (mu) set once by fl_chan_close */
	fl__wqueue recvq;              /* (mu) blocked receivers; elem = dest */
	fl__wqueue sendq;              /* (mu) blocked senders; elem = source */
	void (*free_elem)(void *elem); /* immutable; may be NULL */
	char *name;                    /* immutable copy; may be NULL */
};
_Static_assert(offsetof(struct fl_chan, obj) == 0, "the seam reads the header");

/*
 * Completes a send of *elem if that needs no waiting: hands it to a blocked
 * receiver (firing and unparking it) or buffers it.
 * Returns FL_OK, FL_CLOSED, or FL_AGAIN if the caller would have to block.
 * Caller holds ch->mu.
 */
int fl__chan_try_send_locked(fl_chan *ch, const void *elem);

/*
 * Completes a receive into *elem (may be NULL) if that needs no waiting:
 * takes a blocked sender's element or the oldest buffered one (then moving a
 * blocked sender's element into the freed slot).
 * Returns FL_OK, FL_CLOSED (closed and drained), or FL_AGAIN.
 * Caller holds ch->mu.
 */
int fl__chan_try_recv_locked(fl_chan *ch, void *elem);

/*
 * Tests only: the number of links queued on ch for op (FL_SEND or FL_RECV).
 * A link is queued from the moment a task commits to blocking until it is
 * woken, so a non-zero count means "that task will now only return through
 * a wake, a cancellation or its deadline". Takes ch->mu.
 */
size_t fl__chan_waiting(fl_chan *ch, int op);

/* ch's name for messages and dumps: "chan" if it has none, "nil" for
 * NULL. */
const char *fl__chan_label(const void *ch);

#endif
