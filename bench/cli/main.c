/*
 * main.c - the faultline-bench program: fl_bench_main (fl/bench.h, in
 * fl_bench) is the whole command line, so that the faultline command and
 * users' binaries with their own loads (FL_LOAD) offer the same verbs.
 */
#include <fl/bench.h>

int main(int argc, char **argv) { return fl_bench_main(argc, argv); }
