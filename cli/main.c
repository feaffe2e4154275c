/*
 * main.c - faultline::main: a main() for a test binary of scenarios, as
 * gtest_main is for tests. The program registers its scenarios (FL_SCENARIO
 * in any of its files) and links this library; everything else is fl_main.
 */
#include <fl/main.h>

int main(int argc, char **argv) { return fl_main(argc, argv); }
