/*
 * cli.h -- shared helpers of the mmapio command-line tool.
 *
 * The tool is built on the public header only (include/mmapio.h); this file
 * holds what several subcommands need: option parsing, error reporting with
 * the tool's exit codes, a progress bar, sleeping, Ctrl-C handling and
 * temporary paths. Everything OS-specific lives in util.c behind these
 * declarations.
 */
#ifndef MMAPIO_CLI_H
#define MMAPIO_CLI_H

#include "mmapio.h"

#include <stddef.h>
#include <stdint.h>

/* Exit codes of every subcommand: 0 success, 1 the operation failed,
 * 2 the command line was wrong. */
#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2

/* One subcommand: `run` receives argv with argv[0] = the subcommand name. */
typedef struct cli_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
  void (*help)(void);
} cli_command;

int cmd_info(int argc, char **argv);
int cmd_touch(int argc, char **argv);
int cmd_evict(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_counter(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_demo(int argc, char **argv);

void help_info(void);
void help_touch(void);
void help_evict(void);
void help_lock(void);
void help_cat(void);
void help_dump(void);
void help_counter(void);
void help_watch(void);
void help_bench(void);
void help_demo(void);

/* Reports a failed mmapio call as "mmapio <cmd>: <detail>" on stderr, using
 * mmapio_last_error() and falling back to mmapio_strerror(status) when the
 * library left no detail. Returns CLI_FAILED so callers can `return`. */
int cli_fail(const char *cmd, int status);

/* Reports a command-line mistake as "mmapio <cmd>: <message>" plus a hint
 * to run --help, and returns CLI_USAGE. printf-style. */
int cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Returns 1 if some argument is -h or --help (the subcommand then prints
 * its help and exits 0). */
int cli_wants_help(int argc, char **argv);

/* A small option scanner. It accepts "--name VALUE" and "--name=VALUE";
 * cli_opt_value() returns 1 and sets *value when argv[*i] is option `name`
 * taking a value (advancing *i past a separate value), 0 when it is another
 * argument, and -1 when the value is missing. */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value);

/* Parses a size or offset: decimal (a leading 0 is still decimal) or
 * 0x-hex, with an optional binary
 * suffix K, M, G or T (case-insensitive, "KiB" style also accepted).
 * Returns 0 on success, -1 on malformed input or overflow. */
int cli_parse_u64(const char *s, uint64_t *out);

/* Parses "OFF:LEN" (LEN may be empty meaning "to the end"). *has_len is
 * set to 0 when LEN was omitted. Returns 0 or -1. */
int cli_parse_range(const char *s, uint64_t *off, uint64_t *len, int *has_len);

/* Formats a byte count as "12.3 MiB" into buf (at least 32 bytes). */
const char *cli_human_bytes(uint64_t bytes, char *buf, size_t n);

/* The progress bar on stderr. It only draws when stderr is a terminal and
 * the total is large enough to be worth it (64 MiB); otherwise every call
 * is a no-op, so callers use it unconditionally. */
typedef struct cli_progress {
  const char *label;
  uint64_t total;
  int enabled;
  int last_percent;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, uint64_t total);
void cli_progress_update(cli_progress *p, uint64_t done);
void cli_progress_finish(cli_progress *p);

/* Sleeps about `ms` milliseconds. */
void cli_sleep_ms(unsigned ms);

/* Installs SIGINT/SIGTERM handlers that only set a flag, which
 * cli_interrupted() reads. Used by `lock` and `watch`, which run until
 * the user presses Ctrl-C. */
void cli_install_interrupt_handler(void);
int cli_interrupted(void);

/* Writes "<dir>/<prefix>-<pid>-<name>" into buf. `dir` NULL means the
 * system's temporary directory (TMPDIR, TEMP or /tmp). Returns 0, or -1
 * when the result does not fit. */
int cli_temp_path(char *buf, size_t n, const char *dir, const char *prefix, const char *name);

/* The process id, for unique temporary names. */
unsigned long cli_pid(void);

/* Puts stdout in binary mode (matters on Windows only, where text mode
 * would turn "\n" into "\r\n" inside `cat` output). */
void cli_stdout_binary(void);

/* Returns 1 when the file descriptor refers to a terminal. */
int cli_isatty(int fd);

#endif /* MMAPIO_CLI_H */
