/*
 * cmd_file.c -- the subcommands that look at a file: info, cat and dump.
 *
 * All three map the file read-only, so they work on files the user may not
 * write and never change them. cat and dump copy 1 MiB at a time out of a
 * fault-safe map, which keeps memory use flat for files of any size and
 * survives a file that another process truncates.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bytes per view while streaming; a multiple of 16 so dump lines never
 * straddle two views. */
#define STREAM_STEP ((uint64_t)1 << 20)

/* ---- shared argument parsing ------------------------------------------- */

typedef struct range_args {
  const char *file;
  uint64_t offset;
  uint64_t length;
  int has_length;
} range_args;

/* Parses "FILE [--offset N] [--length N]". Returns -1 when fine, otherwise
 * the exit code to return (a usage error was printed). */
static int parse_range_args(const char *cmd, int argc, char **argv, range_args *ra)
{
  int i, r;
  const char *v;
  memset(ra, 0, sizeof *ra);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      if (i + 1 < argc && ra->file == NULL)
        ra->file = argv[++i];
      if (i + 1 < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[i + 1]);
      break;
    }
    if ((r = cli_opt_value(argc, argv, &i, "--offset", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "--offset needs a value");
      if (cli_parse_u64(v, &ra->offset) != 0)
        return cli_usage(cmd, "invalid --offset '%s' (want a number such as 4096, 0x1000 or 4K)", v);
    } else if ((r = cli_opt_value(argc, argv, &i, "--length", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "--length needs a value");
      if (cli_parse_u64(v, &ra->length) != 0)
        return cli_usage(cmd, "invalid --length '%s' (want a number such as 512, 0x200 or 1M)", v);
      ra->has_length = 1;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return cli_usage(cmd, "unknown option '%s'", argv[i]);
    } else if (ra->file == NULL) {
      ra->file = argv[i];
    } else {
      return cli_usage(cmd, "unexpected argument '%s'", argv[i]);
    }
  }
  if (ra->file == NULL)
    return cli_usage(cmd, "missing FILE");
  return -1;
}

/* The length to stream: --length when given, else up to the end of the map.
 * An offset past the end is left to the library's bounds check, so the user
 * sees its exact message. */
static uint64_t effective_length(const range_args *ra, uint64_t total)
{
  if (ra->has_length)
    return ra->length;
  return ra->offset <= total ? total - ra->offset : 0;
}

/* ---- info ---------------------------------------------------------------- */

void help_info(void)
{
  printf("usage: mmapio info [--huge-pages] [--stats] [--range OFF:LEN] FILE\n"
         "       mmapio info [options] FILE-OR-DIRECTORY...\n"
         "\n"
         "With one FILE: maps it read-only and prints its size, file mode, the\n"
         "page size and allocation granularity of this system, how much of it\n"
         "(or of the range) is resident in memory, whether huge pages back the\n"
         "mapping, and the features compiled into the library.\n"
         "\n"
         "  --huge-pages     request huge pages for the mapping (best effort)\n"
         "  --stats          print mmapio_stats of the map this command opened (its\n"
         "                   own reads and residency check); the statistics live in\n"
         "                   each process's map object, so another process's use of\n"
         "                   FILE cannot be seen\n"
         "\n"
         "With several files, a directory, a list (-b) or any of the options\n"
         "below: one residency line per file and a summary, like vmtouch.\n"
         "\n" CLI_CACHE_OPTIONS_HELP);
}

static const char *feature_name(mmapio_feature f)
{
  switch (f) {
  case MMAPIO_FEATURE_ADVISE: return "advise";
  case MMAPIO_FEATURE_ITERATOR: return "iterator";
  case MMAPIO_FEATURE_ASYNC: return "async";
  case MMAPIO_FEATURE_BYTES: return "bytes";
  case MMAPIO_FEATURE_HUGEPAGES: return "hugepages";
  case MMAPIO_FEATURE_COW: return "cow";
  case MMAPIO_FEATURE_LOCKING: return "locking";
  case MMAPIO_FEATURE_ATOMIC: return "atomic";
  case MMAPIO_FEATURE_WATCH: return "watch";
  case MMAPIO_FEATURE_FAULT_SAFE: return "fault_safe";
  }
  return "?";
}

static void print_file_mode(const char *path)
{
  struct stat st;
  unsigned perm;
  char s[11];
  int i;
  static const char rwx[] = "rwxrwxrwx";
  if (stat(path, &st) != 0) {
    printf("file mode:        unknown (%s)\n", strerror(errno));
    return;
  }
  perm = (unsigned)st.st_mode & 0777u;
  s[0] = '-';
  for (i = 0; i < 9; i++)
    s[i + 1] = (perm & (0400u >> i)) ? rwx[i] : '-';
  s[10] = '\0';
  printf("file mode:        %s (%04o)\n", s, perm);
}

int cmd_info(int argc, char **argv)
{
  const char *file = NULL, *v;
  int huge = 0, stats = 0, i, r, rc, first = 1, nfiles = 0, summary = 0, has_len = 0,
      has_range = 0;
  mmapio_options o;
  mmapio_map *m = NULL;
  uint64_t len, resident = 0, total = 0, roff = 0, rlen = 0;
  cli_stat st;
  char hb[32];
  /* The detailed block is for one file and the two options above; anything
   * else is the multi-file residency report. */
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      nfiles += argc - i - 1;
      if (i + 1 < argc)
        file = argv[i + 1];
      break;
    }
    if (strcmp(argv[i], "--huge-pages") == 0) {
      huge = 1;
    } else if (strcmp(argv[i], "--stats") == 0) {
      stats = 1;
    } else if ((r = cli_opt_value(argc, argv, &i, "--range", &v)) != 0) {
      if (r < 0)
        return cli_usage("info", "--range needs a value OFF:LEN");
      if (cli_parse_range(v, &roff, &rlen, &has_len) != 0)
        return cli_usage("info", "invalid --range '%s' (want OFF:LEN, e.g. 0:64M or 4K:)", v);
      has_range = 1;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      summary = 1;
    } else {
      nfiles++;
      file = argv[i];
    }
  }
  if (nfiles == 0 && !summary)
    return cli_usage("info", "missing FILE");
  if (summary || nfiles > 1 ||
      (cli_stat_path(file, 1, &st) == 0 && st.kind == CLI_KIND_DIR))
    return cache_info_summary(argc, argv);

  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_READ_ONLY;
  if (huge)
    o.flags |= MMAPIO_OPEN_HUGE_PAGES;
  rc = mmapio_open(&m, file, &o);
  if (rc != MMAPIO_OK)
    return cli_fail("info", rc);

  len = mmapio_len(m);
  if (!has_range)
    rlen = len;
  else if (!has_len)
    rlen = roff <= len ? len - roff : 0;
  if (has_range) {
    mmapio_view bv;
    /* The library's bounds check, with its exact message. */
    rc = mmapio_view_get(&bv, m, roff, rlen);
    if (rc != MMAPIO_OK) {
      cli_fail("info", rc);
      mmapio_close(m);
      return CLI_FAILED;
    }
    mmapio_view_release(&bv);
  }
  printf("file:             %s\n", file);
  printf("size:             %llu bytes (%s)\n", (unsigned long long)len,
         cli_human_bytes(len, hb, sizeof hb));
  print_file_mode(file);
  printf("mapped as:        read-only (info never changes the file)\n");
  printf("page size:        %llu bytes\n", (unsigned long long)mmapio_page_size());
  printf("map granularity:  %llu bytes\n", (unsigned long long)mmapio_allocation_granularity());
  if (has_range)
    printf("range:            %llu bytes at offset %llu\n", (unsigned long long)rlen,
           (unsigned long long)roff);
  if (rlen == 0) {
    printf("resident:         n/a (%s)\n", len == 0 ? "empty file" : "empty range");
  } else if (cli_stat_path(file, 1, &st) == 0 && !cli_residency_knowable(file, &st)) {
    printf("resident:         unknown (the OS reports every page as resident to a caller that "
           "may not write the file)\n");
  } else {
    rc = mmapio_residency(&resident, &total, m, roff, rlen);
    if (rc == MMAPIO_OK)
      printf("resident:         %llu of %llu pages (%.1f%%)\n", (unsigned long long)resident,
             (unsigned long long)total, total ? 100.0 * (double)resident / (double)total : 0.0);
    else
      printf("resident:         unknown (%s)\n", mmapio_last_error());
  }
  printf("huge pages:       %s\n", mmapio_huge_pages_active(m) ? "active"
                                   : huge ? "requested, not active"
                                          : "not active (try --huge-pages)");
  printf("features:        ");
  for (i = MMAPIO_FEATURE_ADVISE; i <= MMAPIO_FEATURE_FAULT_SAFE; i++) {
    if (mmapio_has_feature((mmapio_feature)i)) {
      printf(" %s", feature_name((mmapio_feature)i));
      first = 0;
    }
  }
  printf("%s\n", first ? " (none)" : "");
  printf("library:          %s\n", mmapio_version_string());
  if (stats) {
    mmapio_map_stats ms = MMAPIO_MAP_STATS_INIT;
    if (mmapio_stats(&ms, m) == MMAPIO_OK)
      printf("stats (this process's map only): writes %llu (%llu bytes), flushes %llu (%llu failed), "
             "views %llu (peak %llu), slots %llu\n",
             (unsigned long long)ms.write_calls, (unsigned long long)ms.write_bytes,
             (unsigned long long)ms.flush_calls, (unsigned long long)ms.flush_failures,
             (unsigned long long)ms.views_outstanding, (unsigned long long)ms.views_peak,
             (unsigned long long)ms.slots_in_use);
  }
  rc = mmapio_close(m);
  if (rc != MMAPIO_OK)
    return cli_fail("info", rc);
  return CLI_OK;
}

/* ---- cat and dump --------------------------------------------------------- */

/* Both read through a read-only map opened with MMAPIO_OPEN_FAULT_SAFE and
 * copy STREAM_STEP bytes at a time with mmapio_read, which turns a page
 * that vanished (another process truncated the file) into MMAPIO_EFAULT
 * instead of a SIGBUS. Files that report size 0 but have content (Linux
 * /proc and /sys) are read with the C library instead. */

typedef int (*stream_sink)(void *ctx, uint64_t off, const uint8_t *p, size_t n);

static void report_truncated(const char *cmd, const char *path, uint64_t at)
{
  struct stat st;
  if (stat(path, &st) == 0 && st.st_size >= 0 && (uint64_t)st.st_size < at)
    at = (uint64_t)st.st_size;
  fprintf(stderr, "mmapio %s: %s was truncated at offset %llu while it was read\n", cmd, path,
          (unsigned long long)at);
}

/* A size-0 file: read() it. An offset or length beyond its content is an
 * error like the library's bounds check. */
static int stream_by_read(const char *cmd, const range_args *ra, stream_sink sink, void *ctx,
                          uint8_t *buf)
{
  FILE *f = fopen(ra->file, "rb");
  /* An end beyond 2^64 is out of bounds for any file: read it through only
   * to name its length in the message, writing nothing. */
  int impossible = ra->has_length && ra->length > UINT64_MAX - ra->offset;
  uint64_t pos = 0, want_end = ra->has_length && !impossible ? ra->offset + ra->length : UINT64_MAX;
  size_t n;
  if (f == NULL) {
    fprintf(stderr, "mmapio %s: %s: %s\n", cmd, ra->file, strerror(errno));
    return CLI_FAILED;
  }
  while (pos < want_end && (n = fread(buf, 1, (size_t)STREAM_STEP, f)) > 0) {
    uint64_t lo = pos, hi = pos + n;
    if (hi > want_end)
      hi = want_end;
    if (hi > ra->offset && !impossible) {
      uint64_t from = lo > ra->offset ? lo : ra->offset;
      if (sink(ctx, from, buf + (from - lo), (size_t)(hi - from)) != 0) {
        fclose(f);
        return CLI_FAILED;
      }
    }
    pos += n;
  }
  if (ferror(f)) {
    fprintf(stderr, "mmapio %s: reading %s: %s\n", cmd, ra->file, strerror(errno));
    fclose(f);
    return CLI_FAILED;
  }
  fclose(f);
  if (impossible || ra->offset > pos || (ra->has_length && want_end > pos)) {
    fprintf(stderr, "mmapio %s: range out of bounds: offset=%llu, len=%llu, total=%llu (the file "
                    "reports size 0; its content was read instead)\n", cmd,
            (unsigned long long)ra->offset, (unsigned long long)(ra->has_length ? ra->length : 0),
            (unsigned long long)pos);
    return CLI_FAILED;
  }
  return CLI_OK;
}

static int stream_file(const char *cmd, const range_args *ra, stream_sink sink, void *ctx,
                       uint64_t *streamed)
{
  mmapio_options o;
  mmapio_map *m = NULL;
  uint64_t len, done = 0;
  uint8_t *buf;
  int rc, code = CLI_OK;
  *streamed = 0;
  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_READ_ONLY;
  if (mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE))
    o.flags |= MMAPIO_OPEN_FAULT_SAFE;
  rc = mmapio_open(&m, ra->file, &o);
  if (rc != MMAPIO_OK)
    return cli_fail(cmd, rc);
  buf = (uint8_t *)malloc((size_t)STREAM_STEP);
  if (buf == NULL) {
    mmapio_close(m);
    fprintf(stderr, "mmapio %s: out of memory\n", cmd);
    return CLI_FAILED;
  }
  if (mmapio_len(m) == 0) {
    mmapio_close(m);
    code = stream_by_read(cmd, ra, sink, ctx, buf);
    free(buf);
    return code;
  }
  len = effective_length(ra, mmapio_len(m));
  /* The whole range is checked before the first byte goes out: a range
   * that ends past the file prints nothing, and the message names the
   * range asked for (not the chunk that would have failed). A view checks
   * the bounds without copying anything. */
  {
    mmapio_view v;
    rc = mmapio_view_get(&v, m, ra->offset, len);
    if (rc != MMAPIO_OK) {
      code = cli_fail(cmd, rc);
      free(buf);
      mmapio_close(m);
      return code;
    }
    mmapio_view_release(&v);
  }
  cli_test_hook_after_open();
  /* A zero-length read still checks the offset against the file, so
   * "cat --offset 999999" on a small file reports the range error. */
  do {
    uint64_t step = len - done < STREAM_STEP ? len - done : STREAM_STEP;
    rc = mmapio_read(m, ra->offset + done, buf, (size_t)step);
    if (rc == MMAPIO_EFAULT) {
      report_truncated(cmd, ra->file, ra->offset + done + step);
      code = CLI_FAILED;
      break;
    }
    if (rc != MMAPIO_OK) {
      code = cli_fail(cmd, rc);
      break;
    }
    if (step > 0 && sink(ctx, ra->offset + done, buf, (size_t)step) != 0) {
      code = CLI_FAILED;
      break;
    }
    done += step;
  } while (done < len);
  *streamed = done;
  free(buf);
  mmapio_close(m);
  return code;
}

void help_cat(void)
{
  printf("usage: mmapio cat FILE [--offset N] [--length N]\n"
         "\n"
         "Writes the raw bytes of FILE from --offset (default 0) for --length\n"
         "bytes (default: to the end) to standard output, read through a\n"
         "read-only mapping. A range outside the file is an error (exit 1),\n"
         "reported before anything is written.\n"
         "Numbers are decimal unless they start with 0x, and accept the\n"
         "binary suffixes K, M, G and T. A file that reports size 0 (Linux\n"
         "/proc and /sys files) is read with read() instead. A file truncated\n"
         "by another process meanwhile is reported, not a crash.\n");
}

static int cat_sink(void *ctx, uint64_t off, const uint8_t *p, size_t n)
{
  (void)ctx;
  (void)off;
  if (fwrite(p, 1, n, stdout) != n) {
    fprintf(stderr, "mmapio cat: write to standard output failed: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

int cmd_cat(int argc, char **argv)
{
  range_args ra;
  uint64_t done = 0;
  int rc = parse_range_args("cat", argc, argv, &ra);
  if (rc >= 0)
    return rc;
  cli_stdout_binary();
  rc = stream_file("cat", &ra, cat_sink, NULL, &done);
  if (fflush(stdout) != 0 && rc == CLI_OK) {
    fprintf(stderr, "mmapio cat: write to standard output failed: %s\n", strerror(errno));
    return CLI_FAILED;
  }
  return rc;
}

void help_dump(void)
{
  printf("usage: mmapio dump FILE [--offset N] [--length N]\n"
         "\n"
         "Prints FILE (or the range) in the canonical hex+ASCII format of\n"
         "'hexdump -C': absolute offsets, 16 bytes per line, and a '*' line\n"
         "for runs of identical lines. Options and numbers as for 'cat'.\n");
}

static void dump_line(uint64_t off, const uint8_t *p, size_t n)
{
  size_t i;
  printf("%08llx ", (unsigned long long)off);
  for (i = 0; i < 16; i++) {
    if (i == 8)
      putchar(' ');
    if (i < n)
      printf(" %02x", p[i]);
    else
      fputs("   ", stdout);
  }
  fputs("  |", stdout);
  for (i = 0; i < n; i++)
    putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
  fputs("|\n", stdout);
}

typedef struct dump_state {
  uint8_t line[16];  /* bytes of the line being filled */
  size_t fill;
  uint64_t line_off; /* offset of line[0] */
  uint8_t prev[16];
  int have_prev, starred;
  uint64_t end;
} dump_state;

static void dump_flush_line(dump_state *d)
{
  /* Like hexdump, a full line equal to the previous one collapses into a
   * single '*' until the content changes. */
  if (d->fill == 16 && d->have_prev && memcmp(d->prev, d->line, 16) == 0) {
    if (!d->starred)
      puts("*");
    d->starred = 1;
  } else {
    d->starred = 0;
    dump_line(d->line_off, d->line, d->fill);
    if (d->fill == 16) {
      memcpy(d->prev, d->line, 16);
      d->have_prev = 1;
    } else {
      d->have_prev = 0;
    }
  }
  d->line_off += d->fill;
  d->fill = 0;
}

static int dump_sink(void *ctx, uint64_t off, const uint8_t *p, size_t n)
{
  dump_state *d = (dump_state *)ctx;
  size_t i;
  if (d->fill == 0)
    d->line_off = off;
  for (i = 0; i < n; i++) {
    d->line[d->fill++] = p[i];
    if (d->fill == 16)
      dump_flush_line(d);
  }
  d->end = off + n;
  return 0;
}

int cmd_dump(int argc, char **argv)
{
  range_args ra;
  dump_state d;
  uint64_t done = 0;
  int rc = parse_range_args("dump", argc, argv, &ra);
  if (rc >= 0)
    return rc;
  memset(&d, 0, sizeof d);
  d.line_off = ra.offset;
  rc = stream_file("dump", &ra, dump_sink, &d, &done);
  if (d.fill > 0)
    dump_flush_line(&d);
  if (rc == CLI_OK && d.end > 0)
    printf("%08llx\n", (unsigned long long)d.end);
  if (fflush(stdout) != 0 && rc == CLI_OK) {
    fprintf(stderr, "mmapio dump: write to standard output failed: %s\n", strerror(errno));
    return CLI_FAILED;
  }
  return rc;
}
