/*
 * fl/main.h - the faultline command line over a program's own scenarios.
 *
 * A test binary registers its scenarios (FL_SCENARIO, fl/scenario.h) and
 * either links faultline::main, whose main() returns fl_main(argc, argv),
 * or calls fl_main from its own main. It then has every verb of the
 * faultline command over the registered scenarios:
 *
 *   prog list [NAME|GLOB...] [--json | --names]
 *   prog run [NAME|GLOB|FILE...] [--seed N] [--faults PLAN] [--backend B]
 *            [--iterations N] [--duration D] [--report DIR] [--json FILE]
 *            [--junit FILE] [--skip-timing] [--no-isolate]
 *   prog stress NAME... / replay SEED NAME / sweep POINT NAME
 *   prog report compare BASE NEW / report merge OUT IN...
 *   prog bench ...
 *
 * Names take globs (fnmatch: 'orders_*'); FILE is a job file
 * (docs/scenarios.md). man/faultline.1 describes each verb and flag.
 */
#ifndef FL_MAIN_H
#define FL_MAIN_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Runs the command line argv (argv[0] the program, argv[1] the verb) over
 * the registered scenarios (fl_scenario_catalogue). argv[0]'s base name
 * starts every message, and argv[0] as given starts the replay command a
 * failed stress iteration prints, so the line runs the same binary again.
 * Every scenario runs in a forked child (crash isolation) unless
 * --no-isolate; call it before this process starts the runtime's
 * scheduler (fork keeps only the calling thread).
 * Returns the exit status: 0 every check passed, 1 a check failed, 2 a
 * usage, input or environment error (an unknown verb, a bad flag, a
 * scenario that failed to register: printed to stderr), 3 a hang was
 * detected (the live tasks dumped to stderr).
 * Ownership: borrows argv for the call; changes and keeps none of it.
 * Thread safety: call it once, from the main thread, with no other thread
 * using the runtime. Blocks: for as long as the verb runs.
 */
int fl_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
