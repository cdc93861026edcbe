/*
 * bench.h -- entry point of the mmapio benchmark library.
 *
 * The benchmarks live in a static library (mmapio_bench_lib) so that both
 * the stand-alone program `mmapio-bench` and the `mmapio bench` subcommand
 * of the command-line tool run exactly the same code.
 */
#ifndef MMAPIO_BENCH_H
#define MMAPIO_BENCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes of mmapio_bench_main. Missed targets are not an error unless
 * --strict is given, because timing depends on the machine. */
#define MMAPIO_BENCH_EXIT_OK 0
#define MMAPIO_BENCH_EXIT_ERROR 1    /* a workload failed (an mmapio call or syscall error) */
#define MMAPIO_BENCH_EXIT_USAGE 2    /* bad command line */
#define MMAPIO_BENCH_EXIT_MISSED 3   /* --strict and at least one target was missed */

/* Run the benchmark program. argv[0] is the program name shown in usage
 * messages (e.g. "mmapio bench"); the options follow (see --help). Prints the
 * table on stdout and progress on stderr. Returns one of the exit codes
 * above. Not thread-safe: run one at a time. */
int mmapio_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* MMAPIO_BENCH_H */
