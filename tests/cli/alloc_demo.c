/*
 * alloc_demo.c - scenarios of a user's program for the allocation sweep's
 * test (test_alloc_sweep.c), built as a user builds theirs.
 *
 *   two_chans_ok     creates two channels and frees what it created when
 *                    the second fails: every run of the sweep is good
 *   two_chans_leaky  the same, but returns on the second failure without
 *                    freeing the first channel: the sweep reports the run
 *                    that fails the second channel's allocations as a leak
 *                    (the negative control)
 */
#include <fl/chan.h>
#include <fl/scenario.h>

static fl_err *two_chans(bool free_first)
{
	fl_chan *a, *b;
	fl_err *err = fl_chan_new(sizeof(int), 4, NULL, &a);
	if (err)
		return err;
	err = fl_chan_new(sizeof(int), 4, NULL, &b);
	if (err) {
		if (free_first)
			fl_chan_free(a);
		return err;
	}
	fl_chan_free(b);
	fl_chan_free(a);
	return NULL;
}

FL_SCENARIO(two_chans_ok, "two channels, the first freed when the second fails")
{
	(void)result;
	for (int i = 0; i < params->iterations; i++) {
		fl_err *err = two_chans(true);
		if (err)
			return err;
	}
	return NULL;
}

FL_SCENARIO(two_chans_leaky, "two channels, the first leaked when the second fails (planted)")
{
	(void)result;
	for (int i = 0; i < params->iterations; i++) {
		fl_err *err = two_chans(false);
		if (err)
			return err;
	}
	return NULL;
}
