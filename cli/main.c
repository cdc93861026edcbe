/*
 * main.c -- entry point of the mmapio tool: finds the subcommand and runs it.
 *
 * Each subcommand lives in its own file (cmd_*.c) and follows the same
 * rules: `--help` prints its usage and exits 0, a failing library call is
 * reported as "mmapio <cmd>: <mmapio_last_error()>" with exit code 1, and a
 * malformed command line exits with 2.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_command commands[] = {
  {"info", "show a file's size, mode, page size, residency and build features", cmd_info, help_info},
  {"touch", "load a file (or range) into the page cache", cmd_touch, help_touch},
  {"evict", "drop a file's pages from the page cache", cmd_evict, help_evict},
  {"lock", "pin a file's pages in RAM until Ctrl-C or --seconds N", cmd_lock, help_lock},
  {"cat", "write raw bytes of a file range to stdout", cmd_cat, help_cat},
  {"dump", "hex dump of a file range (like hexdump -C)", cmd_dump, help_dump},
  {"counter", "atomic 64-bit counter in a file, shareable between processes", cmd_counter, help_counter},
  {"watch", "print change events of a file", cmd_watch, help_watch},
  {"bench", "run the benchmarks and print the comparison table", cmd_bench, help_bench},
  {"demo", "a guided tour of the library on a temporary file", cmd_demo, help_demo},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_main_help(FILE *f)
{
  size_t i;
  fprintf(f,
          "usage: mmapio <command> [options] [FILE]\n"
          "\n"
          "Memory-mapped file tool built on libmmapio %s.\n"
          "\n"
          "commands:\n",
          mmapio_version_string());
  for (i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\n"
          "Run 'mmapio <command> --help' for the options of a command.\n"
          "Start with 'mmapio demo' for a tour of what the library does.\n"
          "\n"
          "Exit status: 0 success, 1 the operation failed, 2 usage error,\n"
          "3 (bench --strict only) a benchmark target was missed.\n"
          "The manual page: man mmapio (or man -l man/mmapio.1 in the sources).\n");
}

int main(int argc, char **argv)
{
  size_t i;
  const char *name;
  if (argc < 2) {
    print_main_help(stderr);
    return CLI_USAGE;
  }
  name = argv[1];
  if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
    /* "mmapio help CMD" is a friendly alias of "mmapio CMD --help". */
    if (argc >= 3 && strcmp(name, "help") == 0) {
      for (i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[2], commands[i].name) == 0) {
          commands[i].help();
          return CLI_OK;
        }
      }
      fprintf(stderr, "mmapio: unknown command '%s'\n", argv[2]);
      return CLI_USAGE;
    }
    print_main_help(stdout);
    return CLI_OK;
  }
  if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
    printf("mmapio %s (header %s)\n", mmapio_version_string(), MMAPIO_VERSION_STRING);
    return CLI_OK;
  }
  for (i = 0; i < N_COMMANDS; i++) {
    if (strcmp(name, commands[i].name) == 0) {
      /* bench forwards its arguments to the benchmark program, which has
       * its own --help. */
      if (commands[i].run != cmd_bench && cli_wants_help(argc - 1, argv + 1)) {
        commands[i].help();
        return CLI_OK;
      }
      return commands[i].run(argc - 1, argv + 1);
    }
  }
  fprintf(stderr, "mmapio: unknown command '%s'\nTry 'mmapio --help' for the list of commands.\n", name);
  return CLI_USAGE;
}
