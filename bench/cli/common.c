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

fl_err *fl__bench_cli_arm(const fl__bench_cli_opts *o, fl_fault_plan **plan)
{
	*plan = NULL;
	return o->fault_plan ? fl_fault_arm(o->fault_plan, o->load.seed, plan) : NULL;
}
