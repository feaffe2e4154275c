/*
 * common.c - what every verb of faultline-bench uses: printing an error,
 * creating an output directory, arming the fault plan of a command line.
 *
 * The bottom layer of the command: it calls only the libraries.
 */
#include "cli_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

void fl__bench_cli_print_err(const char *what, fl_err *e)
{
	fprintf(stderr, "faultline-bench: %s: ", what);
	fl_err_print(stderr, e);
	fl_err_drop(e);
}

fl_err *fl__bench_cli_make_dirs(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return fl_err_wrap(FL_ERR_INVAL, "directory name too long: %s", path);
	for (char *p = buf + 1;; p++) {
		bool end = *p == '\0';
		if (*p == '/' || end) {
			*p = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return fl_err_errno(errno, "mkdir %s", buf);
			if (end)
				return NULL;
			*p = '/';
		}
	}
}

fl_err *fl__bench_cli_arm(const fl__bench_cli_opts *o, fl_fault_plan **plan)
{
	*plan = NULL;
	return o->fault_plan ? fl_fault_arm(o->fault_plan, o->load.seed, plan) : NULL;
}
