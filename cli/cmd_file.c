/*
 * cmd_file.c -- the subcommands that look at a file: info, cat and dump.
 *
 * All three map the file read-only, so they work on files the user may not
 * write and never change them. cat and dump read through zero-copy views in
 * 1 MiB steps, which keeps memory use flat for files of any size.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
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
  printf("usage: mmapio info FILE [--huge-pages] [--stats]\n"
         "\n"
         "Maps FILE read-only and prints its size, file mode, the page size and\n"
         "allocation granularity of this system, how much of it is resident in\n"
         "memory, whether huge pages back the mapping, and the features compiled\n"
         "into the library.\n"
         "\n"
         "  --huge-pages   request huge pages for the mapping (best effort)\n"
         "  --stats        print mmapio_stats of the map this command opened (its own\n"
         "                 reads and residency check); the statistics live in each\n"
         "                 process's map object, so another process's use of FILE\n"
         "                 cannot be seen\n");
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
  const char *file = NULL;
  int huge = 0, stats = 0, i, rc, first = 1;
  mmapio_options o;
  mmapio_map *m = NULL;
  uint64_t len, resident = 0, total = 0;
  char hb[32];
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--huge-pages") == 0)
      huge = 1;
    else if (strcmp(argv[i], "--stats") == 0)
      stats = 1;
    else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && file == NULL)
      file = argv[++i];
    else if (argv[i][0] == '-' && argv[i][1] != '\0')
      return cli_usage("info", "unknown option '%s'", argv[i]);
    else if (file == NULL)
      file = argv[i];
    else
      return cli_usage("info", "unexpected argument '%s'", argv[i]);
  }
  if (file == NULL)
    return cli_usage("info", "missing FILE");

  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_READ_ONLY;
  if (huge)
    o.flags |= MMAPIO_OPEN_HUGE_PAGES;
  rc = mmapio_open(&m, file, &o);
  if (rc != MMAPIO_OK)
    return cli_fail("info", rc);

  len = mmapio_len(m);
  printf("file:             %s\n", file);
  printf("size:             %llu bytes (%s)\n", (unsigned long long)len,
         cli_human_bytes(len, hb, sizeof hb));
  print_file_mode(file);
  printf("mapped as:        read-only (info never changes the file)\n");
  printf("page size:        %llu bytes\n", (unsigned long long)mmapio_page_size());
  printf("map granularity:  %llu bytes\n", (unsigned long long)mmapio_allocation_granularity());
  if (len == 0) {
    printf("resident:         n/a (empty file)\n");
  } else {
    rc = mmapio_residency(&resident, &total, m, 0, len);
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
    mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
    if (mmapio_stats(&st, m) == MMAPIO_OK)
      printf("stats (this process's map only): writes %llu (%llu bytes), flushes %llu (%llu failed), "
             "views %llu (peak %llu), slots %llu\n",
             (unsigned long long)st.write_calls, (unsigned long long)st.write_bytes,
             (unsigned long long)st.flush_calls, (unsigned long long)st.flush_failures,
             (unsigned long long)st.views_outstanding, (unsigned long long)st.views_peak,
             (unsigned long long)st.slots_in_use);
  }
  rc = mmapio_close(m);
  if (rc != MMAPIO_OK)
    return cli_fail("info", rc);
  return CLI_OK;
}

/* ---- cat ----------------------------------------------------------------- */

void help_cat(void)
{
  printf("usage: mmapio cat FILE [--offset N] [--length N]\n"
         "\n"
         "Writes the raw bytes of FILE from --offset (default 0) for --length\n"
         "bytes (default: to the end) to standard output, read through\n"
         "zero-copy views of a read-only mapping. A range outside the file is\n"
         "an error (exit 1). Numbers accept 0x hex and K/M/G/T suffixes.\n");
}

int cmd_cat(int argc, char **argv)
{
  range_args ra;
  mmapio_map *m = NULL;
  mmapio_view v;
  uint64_t len, done = 0;
  int rc = parse_range_args("cat", argc, argv, &ra);
  if (rc >= 0)
    return rc;
  rc = mmapio_open_ro(&m, ra.file);
  if (rc != MMAPIO_OK)
    return cli_fail("cat", rc);
  len = effective_length(&ra, mmapio_len(m));
  cli_stdout_binary();
  /* A zero-length view still checks the offset against the file, so
   * "cat --offset 999999" on a small file reports the range error. */
  do {
    uint64_t step = len - done < STREAM_STEP ? len - done : STREAM_STEP;
    rc = mmapio_view_get(&v, m, ra.offset + done, step);
    if (rc != MMAPIO_OK) {
      cli_fail("cat", rc);
      mmapio_close(m);
      return CLI_FAILED;
    }
    if (v.len > 0 && fwrite(v.data, 1, v.len, stdout) != v.len) {
      mmapio_view_release(&v);
      fprintf(stderr, "mmapio cat: write to stdout failed: %s\n", strerror(errno));
      mmapio_close(m);
      return CLI_FAILED;
    }
    mmapio_view_release(&v);
    done += step;
  } while (done < len);
  mmapio_close(m);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "mmapio cat: write to stdout failed: %s\n", strerror(errno));
    return CLI_FAILED;
  }
  return CLI_OK;
}

/* ---- dump ---------------------------------------------------------------- */

void help_dump(void)
{
  printf("usage: mmapio dump FILE [--offset N] [--length N]\n"
         "\n"
         "Prints FILE (or the range) in the canonical hex+ASCII format of\n"
         "'hexdump -C': absolute offsets, 16 bytes per line, and a '*' line\n"
         "for runs of identical lines.\n");
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

int cmd_dump(int argc, char **argv)
{
  range_args ra;
  mmapio_map *m = NULL;
  mmapio_view v;
  uint64_t len, done = 0;
  uint8_t prev[16];
  int have_prev = 0, starred = 0;
  int rc = parse_range_args("dump", argc, argv, &ra);
  if (rc >= 0)
    return rc;
  rc = mmapio_open_ro(&m, ra.file);
  if (rc != MMAPIO_OK)
    return cli_fail("dump", rc);
  len = effective_length(&ra, mmapio_len(m));
  do {
    uint64_t step = len - done < STREAM_STEP ? len - done : STREAM_STEP;
    size_t i;
    rc = mmapio_view_get(&v, m, ra.offset + done, step);
    if (rc != MMAPIO_OK) {
      cli_fail("dump", rc);
      mmapio_close(m);
      return CLI_FAILED;
    }
    for (i = 0; i < v.len; i += 16) {
      size_t n = v.len - i < 16 ? v.len - i : 16;
      /* Like hexdump, a full line equal to the previous one collapses into
       * a single '*' until the content changes. */
      if (n == 16 && have_prev && memcmp(prev, v.data + i, 16) == 0) {
        if (!starred)
          puts("*");
        starred = 1;
        continue;
      }
      starred = 0;
      dump_line(ra.offset + done + i, v.data + i, n);
      if (n == 16) {
        memcpy(prev, v.data + i, 16);
        have_prev = 1;
      } else {
        have_prev = 0;
      }
    }
    mmapio_view_release(&v);
    done += step;
  } while (done < len);
  if (len > 0)
    printf("%08llx\n", (unsigned long long)(ra.offset + len));
  mmapio_close(m);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "mmapio dump: write to stdout failed: %s\n", strerror(errno));
    return CLI_FAILED;
  }
  return CLI_OK;
}
