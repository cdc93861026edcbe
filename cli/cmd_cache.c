/*
 * cmd_cache.c -- page-cache control in the spirit of vmtouch: touch (load
 * pages), evict (drop them) and lock (pin them until Ctrl-C or a timeout).
 *
 * The file is mapped read-only: none of these commands needs write access,
 * and a read-only mapping cannot change the file by accident. Large ranges
 * are processed in steps so a progress bar can follow on a terminal and an
 * interrupt is noticed between steps.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* Work per step: big enough that the per-call overhead vanishes, small
 * enough for a smooth progress bar. */
#define CACHE_STEP ((uint64_t)4 << 20)

typedef struct cache_args {
  const char *file;
  uint64_t off;
  uint64_t len;
  int has_range;
  int has_len;
  int has_seconds;
  uint64_t seconds;
} cache_args;

/* Parses "FILE [--range OFF:LEN] [--seconds N]"; --seconds only when
 * `allow_seconds`. Returns -1 when fine, else the exit code. */
static int parse_cache_args(const char *cmd, int argc, char **argv, int allow_seconds, cache_args *a)
{
  int i, r;
  const char *v;
  memset(a, 0, sizeof *a);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      if (i + 1 < argc && a->file == NULL)
        a->file = argv[++i];
      if (i + 1 < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[i + 1]);
      break;
    }
    if ((r = cli_opt_value(argc, argv, &i, "--range", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "--range needs a value OFF:LEN");
      if (cli_parse_range(v, &a->off, &a->len, &a->has_len) != 0)
        return cli_usage(cmd, "invalid --range '%s' (want OFF:LEN, e.g. 0:64M or 4K:)", v);
      a->has_range = 1;
    } else if (allow_seconds && (r = cli_opt_value(argc, argv, &i, "--seconds", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "--seconds needs a value");
      if (cli_parse_u64(v, &a->seconds) != 0 || a->seconds > 100000000u)
        return cli_usage(cmd, "invalid --seconds '%s'", v);
      a->has_seconds = 1;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return cli_usage(cmd, "unknown option '%s'", argv[i]);
    } else if (a->file == NULL) {
      a->file = argv[i];
    } else {
      return cli_usage(cmd, "unexpected argument '%s'", argv[i]);
    }
  }
  if (a->file == NULL)
    return cli_usage(cmd, "missing FILE");
  return -1;
}

/* Opens the file read-only and settles the range (whole file by default,
 * "OFF:" meaning up to the end). Prints the residency before the work,
 * which also validates the range with the library's bounds check. */
static int open_range(const char *cmd, const cache_args *a, mmapio_map **m, uint64_t *off,
                      uint64_t *len)
{
  uint64_t total, res = 0, pages = 0;
  int rc = mmapio_open_ro(m, a->file);
  if (rc != MMAPIO_OK)
    return cli_fail(cmd, rc);
  total = mmapio_len(*m);
  *off = a->has_range ? a->off : 0;
  if (a->has_range && a->has_len)
    *len = a->len;
  else
    *len = *off <= total ? total - *off : 0;
  /* A zero-length residency query is a no-op that checks nothing, so an
   * offset past the end is checked with a zero-length view instead. */
  if (*len == 0) {
    mmapio_view v;
    rc = mmapio_view_get(&v, *m, *off, 0);
    if (rc != MMAPIO_OK) {
      cli_fail(cmd, rc);
      mmapio_close(*m);
      return CLI_FAILED;
    }
    mmapio_view_release(&v);
    return -1;
  }
  rc = mmapio_residency(&res, &pages, *m, *off, *len);
  if (rc != MMAPIO_OK) {
    cli_fail(cmd, rc);
    mmapio_close(*m);
    return CLI_FAILED;
  }
  printf("%s: %llu of %llu pages resident before %s\n", a->file, (unsigned long long)res,
         (unsigned long long)pages, cmd);
  return -1;
}

static void print_residency_after(const char *cmd, mmapio_map *m, const char *file, uint64_t off,
                                  uint64_t len)
{
  uint64_t res = 0, pages = 0;
  if (len == 0)
    return;
  if (mmapio_residency(&res, &pages, m, off, len) == MMAPIO_OK)
    printf("%s: %llu of %llu pages resident after %s (%.1f%%)\n", file, (unsigned long long)res,
           (unsigned long long)pages, cmd, pages ? 100.0 * (double)res / (double)pages : 0.0);
}

typedef int (*range_op)(mmapio_map *m, uint64_t off, uint64_t len);

/* Applies `op` over [off, off+len) in CACHE_STEP pieces with a progress bar.
 * On failure *done tells how far it got. Returns the mmapio status. */
static int run_in_steps(const char *label, range_op op, mmapio_map *m, uint64_t off, uint64_t len,
                        uint64_t *done)
{
  cli_progress p;
  int rc = MMAPIO_OK;
  *done = 0;
  cli_progress_start(&p, label, len);
  while (*done < len) {
    uint64_t step = len - *done < CACHE_STEP ? len - *done : CACHE_STEP;
    rc = op(m, off + *done, step);
    if (rc != MMAPIO_OK)
      break;
    *done += step;
    cli_progress_update(&p, *done);
    if (cli_interrupted())
      break;
  }
  cli_progress_finish(&p);
  return rc;
}

/* ---- touch --------------------------------------------------------------- */

void help_touch(void)
{
  printf("usage: mmapio touch FILE [--range OFF:LEN]\n"
         "\n"
         "Reads one byte of every page of FILE (or of the range) through a\n"
         "read-only mapping so that the pages are in memory afterwards, and\n"
         "prints the residency before and after. A progress bar is drawn on a\n"
         "terminal for files of 64 MiB and more. 'OFF:' means up to the end.\n");
}

int cmd_touch(int argc, char **argv)
{
  cache_args a;
  mmapio_map *m = NULL;
  uint64_t off = 0, len = 0, done = 0;
  char hb[32];
  int rc = parse_cache_args("touch", argc, argv, 0, &a);
  if (rc >= 0)
    return rc;
  if ((rc = open_range("touch", &a, &m, &off, &len)) >= 0)
    return rc;
  cli_install_interrupt_handler();
  rc = run_in_steps("touch", mmapio_touch_range, m, off, len, &done);
  if (rc != MMAPIO_OK) {
    cli_fail("touch", rc);
    mmapio_close(m);
    return CLI_FAILED;
  }
  printf("%s: touched %s%s\n", a.file, cli_human_bytes(done, hb, sizeof hb),
         done < len ? " (interrupted)" : "");
  print_residency_after("touch", m, a.file, off, len);
  mmapio_close(m);
  return done < len ? CLI_FAILED : CLI_OK;
}

/* ---- evict --------------------------------------------------------------- */

void help_evict(void)
{
  printf("usage: mmapio evict FILE [--range OFF:LEN]\n"
         "\n"
         "Asks the OS to drop the cached pages of FILE (or of the range) and\n"
         "prints the residency before and after. Pages dirtied by other\n"
         "processes, and files on memory file systems such as tmpfs, may stay\n"
         "resident: that is the OS's decision, not an error.\n");
}

int cmd_evict(int argc, char **argv)
{
  cache_args a;
  mmapio_map *m = NULL;
  uint64_t off = 0, len = 0, done = 0;
  char hb[32];
  int rc = parse_cache_args("evict", argc, argv, 0, &a);
  if (rc >= 0)
    return rc;
  if ((rc = open_range("evict", &a, &m, &off, &len)) >= 0)
    return rc;
  cli_install_interrupt_handler();
  rc = run_in_steps("evict", mmapio_evict, m, off, len, &done);
  if (rc != MMAPIO_OK) {
    cli_fail("evict", rc);
    mmapio_close(m);
    return CLI_FAILED;
  }
  printf("%s: evicted %s%s\n", a.file, cli_human_bytes(done, hb, sizeof hb),
         done < len ? " (interrupted)" : "");
  print_residency_after("evict", m, a.file, off, len);
  mmapio_close(m);
  return done < len ? CLI_FAILED : CLI_OK;
}

/* ---- lock ---------------------------------------------------------------- */

void help_lock(void)
{
  printf("usage: mmapio lock FILE [--range OFF:LEN] [--seconds N]\n"
         "\n"
         "Loads FILE (or the range) and pins its pages in RAM (mlock /\n"
         "VirtualLock), then holds them until Ctrl-C or SIGTERM, or for N\n"
         "seconds with --seconds (0 = lock, report and release at once).\n"
         "The OS limits how much a process may lock (RLIMIT_MEMLOCK, see\n"
         "'ulimit -l'); beyond it the command fails with the library's message.\n");
}

int cmd_lock(int argc, char **argv)
{
  cache_args a;
  mmapio_map *m = NULL;
  uint64_t off = 0, len = 0, done = 0, ticks = 0;
  char hb[32];
  int rc = parse_cache_args("lock", argc, argv, 1, &a);
  if (rc >= 0)
    return rc;
  if ((rc = open_range("lock", &a, &m, &off, &len)) >= 0)
    return rc;
  cli_install_interrupt_handler();
  rc = run_in_steps("lock", mmapio_lock, m, off, len, &done);
  if (rc != MMAPIO_OK) {
    cli_fail("lock", rc);
    /* Unmapping releases the locks of the pieces already pinned. */
    mmapio_close(m);
    return CLI_FAILED;
  }
  if (done < len) {
    printf("%s: interrupted after locking %s\n", a.file, cli_human_bytes(done, hb, sizeof hb));
  } else {
    print_residency_after("lock", m, a.file, off, len);
    if (a.has_seconds)
      printf("%s: locked %s; holding for %llu s (Ctrl-C releases earlier)\n", a.file,
             cli_human_bytes(len, hb, sizeof hb), (unsigned long long)a.seconds);
    else
      printf("%s: locked %s; holding until Ctrl-C\n", a.file, cli_human_bytes(len, hb, sizeof hb));
    fflush(stdout);
    /* Sleep in short ticks so Ctrl-C is honoured within a tenth of a second
     * even where signals do not interrupt the sleep. */
    while (!cli_interrupted() && (!a.has_seconds || ticks < a.seconds * 10u)) {
      cli_sleep_ms(100);
      ticks++;
    }
  }
  rc = mmapio_unlock(m, off, done);
  if (rc != MMAPIO_OK) {
    cli_fail("lock", rc);
    mmapio_close(m);
    return CLI_FAILED;
  }
  printf("%s: released\n", a.file);
  mmapio_close(m);
  return CLI_OK;
}
