/* main.c -- the stand-alone `mmapio-bench` program; all work is in bench_lib.c. */
#include "bench.h"

int main(int argc, char **argv)
{
  return mmapio_bench_main(argc, argv);
}
