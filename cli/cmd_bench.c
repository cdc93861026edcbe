/*
 * cmd_bench.c -- "mmapio bench" forwards to the benchmark program of bench/
 * (the mmapio_bench_lib target). CMake defines MMAPIO_CLI_HAVE_BENCH when
 * that target exists in the build; otherwise the command explains that the
 * benchmarks were not built.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#if defined(MMAPIO_CLI_HAVE_BENCH)
/* Provided by mmapio_bench_lib; argv[0] is the program name, the rest are the
 * benchmark's own options (it handles --help itself). */
int mmapio_bench_main(int argc, char **argv);
#endif

void help_bench(void)
{
#if defined(MMAPIO_CLI_HAVE_BENCH)
  char arg0[] = "mmapio bench", arg1[] = "--help";
  char *args[] = {arg0, arg1, NULL};
  (void)mmapio_bench_main(2, args);
#else
  printf("usage: mmapio bench [benchmark options]\n"
         "\n"
         "Runs the benchmarks on a temporary file and prints mmapio's figures\n"
         "next to the raw-syscall baselines. The benchmarks are not built into\n"
         "this binary (the bench/ directory was absent or MMAPIO_BUILD_TOOLS\n"
         "was OFF when it was configured).\n");
#endif
}

int cmd_bench(int argc, char **argv)
{
#if defined(MMAPIO_CLI_HAVE_BENCH)
  /* The benchmark names itself after argv[0] in its usage text. */
  char arg0[] = "mmapio bench";
  argv[0] = arg0;
  return mmapio_bench_main(argc, argv);
#else
  if (cli_wants_help(argc, argv)) {
    help_bench();
    return CLI_OK;
  }
  fprintf(stderr, "mmapio bench: benchmarks are not built in this build of mmapio\n");
  return CLI_FAILED;
#endif
}
