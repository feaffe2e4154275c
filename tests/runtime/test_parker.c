/* fl-test-labels: concurrency memcheck onebackend */
/* onebackend: the parker is used directly, without a scheduler backend. */
/*
 * The OS-thread parker (parker.c), white-box: a token set before park is
 * taken at once; park with a deadline and no token times out; and an
 * unpark racing every phase of a park (the spin, the move to SLEEPING, the
 * sleep, a timeout) delivers exactly one token, never zero, never two.
 * Pairs of threads are lined up with a barrier, never with sleeps.
 */
#define _GNU_SOURCE
#include <fl/task.h>

#include <pthread.h>
#include <stdatomic.h>

#include "parker_internal.h"
#include "fl_test.h"

FL_TEST(token_before_park_is_taken_at_once)
{
	fl__parker_set_max_spin(FL_US(20));
	fl__parker p;
	fl__parker_init(&p);
	fl__parker_unpark(&p);
	ASSERT(fl__parker_park(&p, FL_FOREVER));
	/* Consumed: nothing is left for a later wait. */
	ASSERT(!fl__parker_park(&p, fl__mono_ns()));
}

FL_TEST(park_without_token_times_out)
{
	fl__parker_set_max_spin(FL_US(20));
	fl__parker p;
	fl__parker_init(&p);
	int64_t t0 = fl__mono_ns();
	ASSERT(!fl__parker_park(&p, t0 + FL_MS(2)));
	ASSERT_GE(fl__mono_ns(), t0 + FL_MS(2));
	/* The timed-out sleeper left the word EMPTY: a later unpark lands. */
	fl__parker_unpark(&p);
	ASSERT(fl__parker_park(&p, FL_FOREVER));
}

enum { RACE_ROUNDS = 3000 };

typedef struct race {
	fl__parker p;
	pthread_barrier_t go;
	long rounds;
	atomic_long woken;
	long timeouts;
} race;

static void *waker(void *arg)
{
	race *r = arg;
	for (long i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(&r->go);
		/* Spread the unpark over the park's phases. */
		for (long k = 0; k < (i * 7) % 2000; k++)
			fl__cpu_relax();
		fl__parker_unpark(&r->p);
	}
	return NULL;
}

/* Each round: one unpark, and the owner parks with a deadline that may
 * fire around the same time. A timed-out park must then find the token on
 * its next park, as the wake protocol does; either way exactly one token
 * is consumed per round, so a final park finds none. */
static void race_rounds(int64_t max_spin)
{
	fl__parker_set_max_spin(max_spin);
	race r = {.rounds = RACE_ROUNDS};
	fl__parker_init(&r.p);
	ASSERT_EQ(pthread_barrier_init(&r.go, NULL, 2), 0);
	pthread_t t;
	ASSERT_EQ(pthread_create(&t, NULL, waker, &r), 0);
	for (long i = 0; i < r.rounds; i++) {
		pthread_barrier_wait(&r.go);
		int64_t deadline = (i % 3 == 0) ? FL_FOREVER : fl__mono_ns() + (i % 50) * 400;
		if (!fl__parker_park(&r.p, deadline)) {
			r.timeouts++;
			ASSERT(fl__parker_park(&r.p, FL_FOREVER));
		}
		atomic_fetch_add(&r.woken, 1);
	}
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(atomic_load(&r.woken), r.rounds);
	ASSERT(!fl__parker_park(&r.p, fl__mono_ns())); /* no token left over */
	fprintf(stderr, "max spin %lld ns: %ld rounds, %ld timed out first\n", (long long)max_spin,
		r.rounds, r.timeouts);
	pthread_barrier_destroy(&r.go);
}

FL_TEST(unpark_races_spinning_park) { race_rounds(FL_US(20)); }

FL_TEST(unpark_races_sleeping_park) { race_rounds(0); }

FL_TEST_MAIN(FL_CASE(token_before_park_is_taken_at_once), FL_CASE(park_without_token_times_out),
	     FL_CASE(unpark_races_spinning_park), FL_CASE(unpark_races_sleeping_park))
