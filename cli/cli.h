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
 * mmapio_last_error() (cleaned by cli_clean_message) and falling back to
 * mmapio_strerror(status) when the library left no detail. Returns CLI_FAILED so callers can `return`. */
int cli_fail(const char *cmd, int status);

/* Rewrites a library detail message for users: "call(path): text" becomes
 * "path: text" (the system call is an internal), and the suffix of the
 * library's temporary file names is dropped. */
void cli_clean_message(const char *in, char *out, size_t n);

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

/* ---- files, directories and processes (OS-specific, in util.c) -------- */

/* Monotonic seconds, for elapsed times. */
double cli_now(void);

typedef enum cli_kind { CLI_KIND_OTHER = 0, CLI_KIND_FILE, CLI_KIND_DIR, CLI_KIND_LINK } cli_kind;

typedef struct cli_stat {
  cli_kind kind;
  uint64_t size; /* UINT64_MAX when not known (no stat was made) */
  uint64_t dev;
  uint64_t ino;
  int writable; /* the caller owns or may write the file (see below) */
} cli_stat;

/* stat (follow = 1) or lstat (follow = 0). Returns 0, or -1 with errno set. */
int cli_stat_path(const char *path, int follow, cli_stat *st);

/* Reading a directory: names other than "." and "..", in the OS's order.
 * *kind is the entry's type when the directory listing tells it (d_type),
 * else CLI_KIND_OTHER (then stat it). */
typedef struct cli_dir cli_dir;
cli_dir *cli_dir_open(const char *path);              /* NULL with errno set */
/* NULL at the end (errno 0) or when the directory cannot be read further
 * (errno set: EOVERFLOW, EIO, ...). */
const char *cli_dir_next(cli_dir *d, cli_kind *kind);

/* Returns 1 when cli_stat_path() of a regular file found in a directory
 * listing can be skipped because nothing it returns is needed: the caller
 * is privileged (residency is always knowable). */
int cli_file_stat_optional(void);
void cli_dir_close(cli_dir *d);

/* Returns 1 when the OS can tell which pages of the file are in memory
 * for this caller. Linux (since 5.2) reports every page of a file mapping
 * as resident unless the caller owns the file or may open it for writing,
 * so the count would be a made-up 100%. */
int cli_residency_knowable(const char *path, const cli_stat *st);

/* Returns 1 when the file lives on a memory file system (tmpfs, ramfs),
 * whose pages cannot be evicted: they are the file. */
int cli_on_memory_fs(const char *path);

/* Daemon mode of `lock`: cli_daemon_start() forks; the parent waits until
 * the child calls cli_daemon_ready() and exits with the status it sent
 * (so errors reach the terminal), the child continues in a new session.
 * Returns 0 in the child, -1 when the platform cannot (Windows). */
int cli_daemon_start(void);
void cli_daemon_ready(int status);

/* Writes the process id to `path` (replacing it). Returns 0 or -1. */
int cli_write_pid_file(const char *path);
void cli_remove_file(const char *path);

/* The help text of the options shared by info, touch, evict and lock. */
#define CLI_CACHE_OPTIONS_HELP                                                                  \
  "  --range OFF:LEN  only this range of each file ('OFF:' = up to the end)\n"                  \
  "  -q               quiet: print nothing but errors (touch, evict and lock\n"                 \
  "                   then skip the residency passes: the fastest form)\n"                     \
  "  -v               verbose: a page map per file ('O' resident, 'o' partly,\n"                \
  "                   ' ' not) and the files that were skipped\n"                              \
  "  -f               follow symbolic links inside directories (links named on\n"             \
  "                   the command line are always followed)\n"                                \
  "  -m SIZE          skip files larger than SIZE (e.g. 500M)\n"                               \
  "  -i PATTERN       ignore files and directories whose name matches PATTERN\n"               \
  "                   (shell pattern: * ? [set]); repeatable\n"                                \
  "  -I PATTERN       only files whose name matches PATTERN; repeatable\n"                     \
  "  -b LIST          also process the paths listed in LIST, one per line\n"                   \
  "                   ('-' reads standard input)\n"                                            \
  "  -0               the LIST is separated by NUL bytes (find -print0)\n"                     \
  "\n"                                                                                          \
  "FILE may be a directory: its files are processed recursively. A line per\n"                \
  "file and a summary with the elapsed time are printed. Where the OS cannot\n"               \
  "tell (Linux, for a file the caller may not write) the residency is\n"                      \
  "reported as unknown rather than as 100%%.\n"

/* `info` with several files, a directory, a list file or -q/-v: the
 * residency report of cmd_cache.c. */
int cache_info_summary(int argc, char **argv);

/* Test builds of the tool only (MMAPIO_CLI_TEST_HOOKS): runs the command in
 * $MMAPIO_CLI_TEST_AFTER_OPEN (the tests' "second process", e.g. one that
 * truncates the file) once a file is mapped and before its pages are read.
 * A no-op in the installed tool. */
void cli_test_hook_after_open(void);

/* Shell-style pattern match (* ? [set] [!set]) of a file name. */
int cli_name_match(const char *pattern, const char *name);

#endif /* MMAPIO_CLI_H */
