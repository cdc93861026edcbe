/*
 * cmd_cache.c -- page-cache control in the spirit of vmtouch: touch (load
 * pages), evict (drop them), lock (pin them until Ctrl-C, a timeout or, as a
 * daemon, SIGTERM) and the residency report of `info` for several files.
 *
 * Every command takes several FILE arguments and directories (walked
 * recursively; symbolic links inside them are followed only with -f), a
 * list file (-b), name patterns (-i, -I) and a size limit (-m). Each file is
 * mapped read-only with MMAPIO_OPEN_FAULT_SAFE: none of these commands needs
 * write access, a read-only mapping cannot change the file by accident, and
 * a file truncated by another process while it is read is reported instead
 * of killing the tool.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* With a progress bar (terminal, large range) the work is done in about a
 * hundred steps; without one the whole range is one library call, which is
 * what makes evict cheap (one page-cache invalidation, not one per step). */
#define CACHE_MIN_STEP ((uint64_t)16 << 20)
#define CACHE_MAX_PATTERNS 32
#define CACHE_MAP_WIDTH 60

typedef enum cache_op { OP_INFO, OP_TOUCH, OP_EVICT, OP_LOCK } cache_op;

typedef struct cache_opts {
  const char *cmd;
  cache_op op;
  uint64_t off, len;
  int has_range, has_len;
  int has_seconds;
  uint64_t seconds;
  int quiet, verbose, follow, nul, daemon;
  uint64_t max_size;
  int has_max;
  const char *ignore[CACHE_MAX_PATTERNS];
  int n_ignore;
  const char *only[CACHE_MAX_PATTERNS];
  int n_only;
  const char *list_file;
  const char *pid_file;
  int huge;
} cache_opts;

typedef struct cache_state {
  const cache_opts *o;
  uint64_t files, dirs, skipped, failed, unknown, cannot_evict, truncated;
  uint64_t bytes, pages, res_before, res_after;
  int interrupted;
  /* lock keeps its maps until the end */
  mmapio_map **held;
  uint64_t *held_off, *held_len;
  size_t n_held, cap_held;
  /* directories on the current walk path (loop detection with -f) */
  uint64_t stack_dev[256], stack_ino[256];
  int depth;
} cache_state;

static int has_fault_safe(void)
{
  return mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE);
}

/* ---- the per-file work ---------------------------------------------------- */

/* "FILE was truncated at offset N": N is the file's size now (the offset of
 * the first byte that is gone), at most `at`, the end of the failed range. */
static void report_truncated(cache_state *s, const char *path, uint64_t at)
{
  cli_stat st;
  if (cli_stat_path(path, 1, &st) == 0 && st.size < at)
    at = st.size;
  fprintf(stderr, "mmapio %s: %s was truncated at offset %llu while it was read\n", s->o->cmd,
          path, (unsigned long long)at);
  s->truncated++;
}

/* The -v page map: one character per bucket of pages, 'O' all resident,
 * 'o' some, ' ' none. */
static void print_page_map(mmapio_map *m, uint64_t off, uint64_t len)
{
  char line[CACHE_MAP_WIDTH + 1];
  uint64_t page = mmapio_page_size();
  uint64_t first = off / page, last = (off + len + page - 1) / page;
  uint64_t pages = last - first, i;
  uint64_t cols = pages < CACHE_MAP_WIDTH ? pages : CACHE_MAP_WIDTH;
  for (i = 0; i < cols; i++) {
    uint64_t a = first + pages * i / cols, b = first + pages * (i + 1) / cols;
    uint64_t lo = a * page > off ? a * page : off;
    uint64_t hi = b * page < off + len ? b * page : off + len;
    uint64_t res = 0, tot = 0;
    char c = '?';
    if (hi > lo && mmapio_residency(&res, &tot, m, lo, hi - lo) == MMAPIO_OK)
      c = res == 0 ? ' ' : res == tot ? 'O' : 'o';
    line[i] = c;
  }
  line[cols] = '\0';
  printf("  [%s] %llu pages\n", line, (unsigned long long)pages);
}

typedef int (*range_op)(mmapio_map *m, uint64_t off, uint64_t len);

/* Applies `op` over [off, off+len), in steps only when a progress bar is
 * drawn. On failure *done tells how far it got. */
static int run_op(const char *label, range_op op, mmapio_map *m, uint64_t off, uint64_t len,
                  uint64_t *done)
{
  cli_progress p;
  int rc = MMAPIO_OK;
  uint64_t step;
  *done = 0;
  cli_progress_start(&p, label, len);
  step = p.enabled ? len / 100 : len;
  if (step < CACHE_MIN_STEP)
    step = p.enabled ? CACHE_MIN_STEP : len;
  while (*done < len) {
    uint64_t n = len - *done < step ? len - *done : step;
    rc = op(m, off + *done, n);
    if (rc != MMAPIO_OK)
      break;
    *done += n;
    cli_progress_update(&p, *done);
    if (cli_interrupted())
      break;
  }
  cli_progress_finish(&p);
  return rc;
}

static double pct(uint64_t a, uint64_t b)
{
  return b ? 100.0 * (double)a / (double)b : 0.0;
}

static int hold_map(cache_state *s, mmapio_map *m, uint64_t off, uint64_t len)
{
  if (s->n_held == s->cap_held) {
    size_t cap = s->cap_held ? s->cap_held * 2 : 16;
    mmapio_map **h = (mmapio_map **)realloc(s->held, cap * sizeof *h);
    uint64_t *o, *l;
    if (h == NULL)
      return -1;
    s->held = h;
    o = (uint64_t *)realloc(s->held_off, cap * sizeof *o);
    if (o == NULL)
      return -1;
    s->held_off = o;
    l = (uint64_t *)realloc(s->held_len, cap * sizeof *l);
    if (l == NULL)
      return -1;
    s->held_len = l;
    s->cap_held = cap;
  }
  s->held[s->n_held] = m;
  s->held_off[s->n_held] = off;
  s->held_len[s->n_held] = len;
  s->n_held++;
  return 0;
}

static void do_file(cache_state *s, const char *path, const cli_stat *st)
{
  const cache_opts *o = s->o;
  mmapio_options mo;
  mmapio_map *m = NULL;
  uint64_t total, off, len, res = 0, pages = 0, res2 = 0, done = 0;
  int rc, knowable, measure;
  char hb[32];

  if (o->has_max && st->size != UINT64_MAX && st->size > o->max_size) {
    if (o->verbose)
      printf("%s: skipped (%s is larger than -m)\n", path, cli_human_bytes(st->size, hb, sizeof hb));
    s->skipped++;
    return;
  }
  if (o->op == OP_EVICT && cli_on_memory_fs(path)) {
    fprintf(stderr, "mmapio evict: %s is on a memory file system (tmpfs or ramfs): its pages are "
                    "the file's only copy and cannot be evicted\n", path);
    s->cannot_evict++;
    s->files++;
    return;
  }
  mmapio_options_init(&mo);
  mo.mode = MMAPIO_MODE_READ_ONLY;
  if (has_fault_safe())
    mo.flags |= MMAPIO_OPEN_FAULT_SAFE;
  if (o->huge)
    mo.flags |= MMAPIO_OPEN_HUGE_PAGES;
  rc = mmapio_open(&m, path, &mo);
  if (rc != MMAPIO_OK) {
    cli_fail(o->cmd, rc);
    s->failed++;
    return;
  }
  total = mmapio_len(m);
  if (o->has_max && total > o->max_size) {
    if (o->verbose)
      printf("%s: skipped (%s is larger than -m)\n", path, cli_human_bytes(total, hb, sizeof hb));
    s->skipped++;
    mmapio_close(m);
    return;
  }
  s->files++;
  off = o->has_range ? o->off : 0;
  len = o->has_range && o->has_len ? o->len : (off <= total ? total - off : 0);
  /* The library's bounds check gives the exact message; a zero-length
   * residency query checks nothing, so a zero-length view does it. */
  if (len == 0) {
    mmapio_view v;
    rc = mmapio_view_get(&v, m, off, 0);
    if (rc != MMAPIO_OK) {
      cli_fail(o->cmd, rc);
      s->failed++;
      mmapio_close(m);
      return;
    }
    mmapio_view_release(&v);
  }
  knowable = cli_residency_knowable(path, st);
  /* -q prints no residency, so touch, evict and lock skip both passes (on
   * a 1 GiB file each is a mincore of 262,144 pages: several times the
   * cost of the eviction itself). */
  measure = !o->quiet || o->op == OP_INFO;
  if (len > 0 && measure) {
    rc = mmapio_residency(&res, &pages, m, off, len);
    if (rc != MMAPIO_OK) {
      cli_fail(o->cmd, rc);
      s->failed++;
      mmapio_close(m);
      return;
    }
  }
  if (!knowable)
    s->unknown++;
  s->bytes += len;

  cli_test_hook_after_open();
  rc = MMAPIO_OK;
  if (o->op == OP_TOUCH)
    rc = run_op("touch", mmapio_touch_range, m, off, len, &done);
  else if (o->op == OP_EVICT)
    rc = run_op("evict", mmapio_evict, m, off, len, &done);
  else if (o->op == OP_LOCK)
    rc = run_op("lock", mmapio_lock, m, off, len, &done);
  if (rc == MMAPIO_EFAULT) {
    report_truncated(s, path, off + len);
    s->failed++;
    mmapio_close(m);
    return;
  }
  if (rc != MMAPIO_OK) {
    if (o->op == OP_LOCK && (rc == MMAPIO_ENOMEM || rc == MMAPIO_EACCES)) {
      /* The library names the chunk it was given; the user asked for the
       * whole range, and other files may already be locked. */
      char detail[600];
      const char *d;
      size_t pl = strlen(path);
      cli_clean_message(mmapio_last_error(), detail, sizeof detail);
      /* The cleaned detail starts with the path, which the line names. */
      d = strncmp(detail, path, pl) == 0 && detail[pl] == ':' ? detail + pl + 2 : detail;
      fprintf(stderr, "mmapio lock: cannot lock %s of %s (%llu bytes at offset %llu): %s\n",
              cli_human_bytes(len, hb, sizeof hb), path, (unsigned long long)len,
              (unsigned long long)off, d);
    } else {
      cli_fail(o->cmd, rc);
    }
    s->failed++;
    mmapio_close(m);
    return;
  }
  if (o->op != OP_INFO && done < len)
    s->interrupted = 1;
  if (o->op != OP_INFO && len > 0 && measure && mmapio_residency(&res2, &pages, m, off, len) != MMAPIO_OK)
    res2 = 0;
  if (o->op == OP_INFO)
    res2 = res;
  if (knowable) {
    s->pages += pages;
    s->res_before += res;
    s->res_after += res2;
  }
  if (!o->quiet) {
    if (!knowable)
      printf("%s: residency unknown%s%s (the OS reports every page as resident to a caller that "
             "may not write the file)\n",
             path, o->op == OP_INFO ? "" : " after ", o->op == OP_INFO ? "" : o->cmd);
    else if (o->op == OP_INFO)
      printf("%s: %llu of %llu pages resident (%.1f%%)\n", path, (unsigned long long)res,
             (unsigned long long)pages, pct(res, pages));
    else
      printf("%s: %llu of %llu pages resident after %s (%.1f%%), %llu before%s\n", path,
             (unsigned long long)res2, (unsigned long long)pages, o->cmd, pct(res2, pages),
             (unsigned long long)res, o->op != OP_INFO && done < len ? " (interrupted)" : "");
    if (o->verbose && len > 0 && knowable)
      print_page_map(m, off, len);
  }
  if (o->op == OP_LOCK && done > 0) {
    if (hold_map(s, m, off, done) == 0)
      return;
    fprintf(stderr, "mmapio lock: out of memory\n");
    s->failed++;
  }
  mmapio_close(m);
}

/* ---- walking the arguments ----------------------------------------------- */

static const char *base_name(const char *path)
{
  const char *b = path, *p;
  for (p = path; *p != '\0'; p++)
    if ((*p == '/' || *p == '\\') && p[1] != '\0')
      b = p + 1;
  return b;
}

static int matches_any(const char *const *pats, int n, const char *name)
{
  int i;
  for (i = 0; i < n; i++)
    if (cli_name_match(pats[i], name))
      return 1;
  return 0;
}

static void do_path(cache_state *s, const char *path, int top, cli_kind hint);

static void do_dir(cache_state *s, const char *path, const cli_stat *st)
{
  cli_dir *d;
  const char *name = NULL;
  int i;
  size_t pl = strlen(path);
  /* Loops need followed links: without -f no directory is entered twice
   * (and dev/ino are not even known, the listing's type was enough). */
  for (i = 0; s->o->follow && i < s->depth; i++) {
    if (s->stack_dev[i] == st->dev && s->stack_ino[i] == st->ino) {
      fprintf(stderr, "mmapio %s: %s: directory loop through a symbolic link, skipped\n", s->o->cmd,
              path);
      s->skipped++;
      return;
    }
  }
  if (s->depth >= (int)(sizeof s->stack_dev / sizeof s->stack_dev[0])) {
    fprintf(stderr, "mmapio %s: %s: directories nested too deeply, skipped\n", s->o->cmd, path);
    s->skipped++;
    return;
  }
  d = cli_dir_open(path);
  if (d == NULL) {
    fprintf(stderr, "mmapio %s: %s: %s\n", s->o->cmd, path, strerror(errno));
    s->failed++;
    return;
  }
  s->dirs++;
  s->stack_dev[s->depth] = st->dev;
  s->stack_ino[s->depth] = st->ino;
  s->depth++;
  cli_kind kind;
  while (!cli_interrupted() && (name = cli_dir_next(d, &kind)) != NULL) {
    size_t nl = strlen(name);
    char *child = (char *)malloc(pl + nl + 2);
    if (child == NULL) {
      fprintf(stderr, "mmapio %s: out of memory\n", s->o->cmd);
      s->failed++;
      break;
    }
    memcpy(child, path, pl);
    if (pl > 0 && path[pl - 1] != '/' && path[pl - 1] != '\\')
      child[pl++] = '/';
    memcpy(child + pl, name, nl + 1);
    do_path(s, child, 0, kind);
    free(child);
    pl = strlen(path);
  }
  /* A listing that ends in an error is reported, never taken for the end:
   * the files after that point were not looked at. */
  if (name == NULL && errno != 0 && !cli_interrupted()) {
    fprintf(stderr, "mmapio %s: %s: reading the directory: %s\n", s->o->cmd, path, strerror(errno));
    s->failed++;
  }
  s->depth--;
  cli_dir_close(d);
}

/* `top`: named on the command line or in the list file; such a symbolic
 * link is followed (like find -H), links found inside directories only
 * with -f. */
static void do_path(cache_state *s, const char *path, int top, cli_kind hint)
{
  cli_stat st;
  const cache_opts *o = s->o;
  const char *name = base_name(path);
  if (!top && matches_any(o->ignore, o->n_ignore, name)) {
    s->skipped++;
    return;
  }
  /* What the directory listing already told needs no stat: a link not to
   * be followed, a directory when links are not followed (no loop is
   * possible then), a file when its owner does not matter. */
  memset(&st, 0, sizeof st);
  st.size = UINT64_MAX;
  st.writable = 1;
  if (!top && hint == CLI_KIND_LINK && !o->follow) {
    st.kind = CLI_KIND_LINK;
  } else if (!top && hint == CLI_KIND_DIR && !o->follow) {
    st.kind = CLI_KIND_DIR;
  } else if (!top && hint == CLI_KIND_FILE && cli_file_stat_optional()) {
    st.kind = CLI_KIND_FILE;
  } else if (cli_stat_path(path, top || o->follow, &st) != 0) {
    fprintf(stderr, "mmapio %s: %s: %s\n", o->cmd, path, strerror(errno));
    s->failed++;
    return;
  }
  if (st.kind == CLI_KIND_LINK) {
    if (o->verbose)
      printf("%s: symbolic link, skipped (-f follows links)\n", path);
    s->skipped++;
    return;
  }
  if (st.kind == CLI_KIND_DIR) {
    do_dir(s, path, &st);
    return;
  }
  if (st.kind != CLI_KIND_FILE) {
    if (top) {
      fprintf(stderr, "mmapio %s: %s: not a regular file or directory\n", o->cmd, path);
      s->failed++;
    } else {
      s->skipped++;
    }
    return;
  }
  if (o->n_only > 0 && !matches_any(o->only, o->n_only, name)) {
    s->skipped++;
    return;
  }
  if (top && matches_any(o->ignore, o->n_ignore, name)) {
    s->skipped++;
    return;
  }
  do_file(s, path, &st);
}

/* -b: one path per line (or per NUL byte with -0); "-" reads stdin. */
static int do_list(cache_state *s, const char *list, int nul)
{
  FILE *f = strcmp(list, "-") == 0 ? stdin : fopen(list, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  int c, sep = nul ? '\0' : '\n';
  if (f == NULL) {
    fprintf(stderr, "mmapio %s: cannot read the list %s: %s\n", s->o->cmd, list, strerror(errno));
    return -1;
  }
  for (;;) {
    c = getc(f);
    if (c == EOF || c == sep) {
      if (n > 0 && !nul && buf[n - 1] == '\r')
        n--;
      if (n > 0) {
        buf[n] = '\0';
        do_path(s, buf, 1, CLI_KIND_OTHER);
      }
      n = 0;
      if (c == EOF || cli_interrupted())
        break;
      continue;
    }
    if (n + 2 > cap) {
      size_t nc = cap ? cap * 2 : 256;
      char *nb = (char *)realloc(buf, nc);
      if (nb == NULL) {
        fprintf(stderr, "mmapio %s: out of memory\n", s->o->cmd);
        free(buf);
        if (f != stdin)
          fclose(f);
        return -1;
      }
      buf = nb;
      cap = nc;
    }
    buf[n++] = (char)c;
  }
  free(buf);
  if (f != stdin)
    fclose(f);
  return 0;
}

/* ---- the command line ---------------------------------------------------- */

/* Options shared by info, touch, evict and lock. Returns -1 when fine (the
 * non-option arguments are compacted into argv[1..*nfiles]), else the exit
 * code. */
static int parse_opts(cache_opts *o, int argc, char **argv, int *nfiles)
{
  int i, r, n = 0, only_files = 0;
  const char *v;
  const char *cmd = o->cmd;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_files || a[0] != '-' || a[1] == '\0') {
      argv[1 + n++] = argv[i];
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_files = 1;
    } else if ((r = cli_opt_value(argc, argv, &i, "--range", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "--range needs a value OFF:LEN");
      if (cli_parse_range(v, &o->off, &o->len, &o->has_len) != 0)
        return cli_usage(cmd, "invalid --range '%s' (want OFF:LEN, e.g. 0:64M or 4K:)", v);
      o->has_range = 1;
    } else if (o->op == OP_LOCK && (r = cli_opt_value(argc, argv, &i, "--seconds", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "--seconds needs a value");
      if (cli_parse_u64(v, &o->seconds) != 0 || o->seconds > 100000000u)
        return cli_usage(cmd, "invalid --seconds '%s'", v);
      o->has_seconds = 1;
    } else if (o->op == OP_INFO && strcmp(a, "--huge-pages") == 0) {
      o->huge = 1;
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      o->quiet = 1;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      o->verbose = 1;
    } else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0) {
      o->follow = 1;
    } else if (strcmp(a, "-0") == 0) {
      o->nul = 1;
    } else if (o->op == OP_LOCK && (strcmp(a, "-d") == 0 || strcmp(a, "--daemon") == 0)) {
      o->daemon = 1;
    } else if ((r = cli_opt_value(argc, argv, &i, "-m", &v)) != 0 ||
               (r = cli_opt_value(argc, argv, &i, "--max-size", &v)) != 0) {
      if (r < 0 || cli_parse_u64(v, &o->max_size) != 0)
        return cli_usage(cmd, "-m needs a size such as 500M");
      o->has_max = 1;
    } else if ((r = cli_opt_value(argc, argv, &i, "-i", &v)) != 0 ||
               (r = cli_opt_value(argc, argv, &i, "--ignore", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "-i needs a PATTERN");
      if (o->n_ignore == CACHE_MAX_PATTERNS)
        return cli_usage(cmd, "at most %d -i patterns", CACHE_MAX_PATTERNS);
      o->ignore[o->n_ignore++] = v;
    } else if ((r = cli_opt_value(argc, argv, &i, "-I", &v)) != 0 ||
               (r = cli_opt_value(argc, argv, &i, "--only", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "-I needs a PATTERN");
      if (o->n_only == CACHE_MAX_PATTERNS)
        return cli_usage(cmd, "at most %d -I patterns", CACHE_MAX_PATTERNS);
      o->only[o->n_only++] = v;
    } else if ((r = cli_opt_value(argc, argv, &i, "-b", &v)) != 0 ||
               (r = cli_opt_value(argc, argv, &i, "--list", &v)) != 0) {
      if (r < 0)
        return cli_usage(cmd, "-b needs a LIST file ('-' for standard input)");
      o->list_file = v;
    } else if (o->op == OP_LOCK && ((r = cli_opt_value(argc, argv, &i, "-P", &v)) != 0 ||
                                    (r = cli_opt_value(argc, argv, &i, "--pid-file", &v)) != 0)) {
      if (r < 0)
        return cli_usage(cmd, "-P needs a FILE");
      o->pid_file = v;
    } else {
      return cli_usage(cmd, "unknown option '%s'", a);
    }
  }
  if (n == 0 && o->list_file == NULL)
    return cli_usage(cmd, "missing FILE");
  if (o->quiet && o->verbose)
    return cli_usage(cmd, "-q and -v cannot be combined");
  if (o->daemon && o->has_seconds)
    return cli_usage(cmd, "-d holds until SIGTERM; it cannot be combined with --seconds");
  *nfiles = n;
  return -1;
}

static void print_summary(const cache_state *s, double elapsed)
{
  const cache_opts *o = s->o;
  char hb[32];
  printf("files: %llu, directories: %llu, size: %s", (unsigned long long)s->files,
         (unsigned long long)s->dirs, cli_human_bytes(s->bytes, hb, sizeof hb));
  if (s->skipped)
    printf(", skipped: %llu", (unsigned long long)s->skipped);
  if (s->failed)
    printf(", failed: %llu", (unsigned long long)s->failed);
  printf("\n");
  if (o->op == OP_INFO)
    printf("resident pages: %llu of %llu (%.1f%%)\n", (unsigned long long)s->res_before,
           (unsigned long long)s->pages, pct(s->res_before, s->pages));
  else
    printf("resident pages: %llu of %llu before (%.1f%%), %llu after %s (%.1f%%)\n",
           (unsigned long long)s->res_before, (unsigned long long)s->pages,
           pct(s->res_before, s->pages), (unsigned long long)s->res_after, o->cmd,
           pct(s->res_after, s->pages));
  if (s->unknown)
    printf("residency unknown for %llu file%s (not counted above)\n", (unsigned long long)s->unknown,
           s->unknown == 1 ? "" : "s");
  printf("elapsed: %.3g s\n", elapsed);
}

/* Runs the command over every argument; returns the exit code. */
static int run_cache(cache_opts *o, int argc, char **argv, int nfiles)
{
  cache_state s;
  double t0 = cli_now();
  int i, code;
  size_t k;
  memset(&s, 0, sizeof s);
  s.o = o;
  cli_install_interrupt_handler();
  if (o->daemon && cli_daemon_start() != 0) {
    fprintf(stderr, "mmapio lock: -d (daemon) is not available on this platform\n");
    return CLI_FAILED;
  }
  (void)argc;
  for (i = 1; i <= nfiles && !cli_interrupted(); i++)
    do_path(&s, argv[i], 1, CLI_KIND_OTHER);
  if (o->list_file != NULL && !cli_interrupted() && do_list(&s, o->list_file, o->nul) != 0)
    s.failed++;
  if (cli_interrupted())
    s.interrupted = 1;
  if (!o->quiet)
    print_summary(&s, cli_now() - t0);
  code = s.failed || s.truncated || s.cannot_evict || s.interrupted ? CLI_FAILED : CLI_OK;

  if (o->op == OP_LOCK) {
    uint64_t bytes = 0, ticks = 0;
    char hb[32];
    for (k = 0; k < s.n_held; k++)
      bytes += s.held_len[k];
    if (code == CLI_OK && s.n_held > 0) {
      if (o->pid_file != NULL && cli_write_pid_file(o->pid_file) != 0) {
        fprintf(stderr, "mmapio lock: cannot write the pid file %s: %s\n", o->pid_file,
                strerror(errno));
        code = CLI_FAILED;
      }
    }
    if (code == CLI_OK && s.n_held > 0) {
      if (o->daemon)
        printf("locked %s; daemon process %lu holds it until SIGTERM\n",
               cli_human_bytes(bytes, hb, sizeof hb), cli_pid());
      else if (o->has_seconds)
        printf("locked %s; holding for %llu s (Ctrl-C releases earlier)\n",
               cli_human_bytes(bytes, hb, sizeof hb), (unsigned long long)o->seconds);
      else
        printf("locked %s; holding until Ctrl-C\n", cli_human_bytes(bytes, hb, sizeof hb));
      fflush(stdout);
      if (o->daemon)
        cli_daemon_ready(CLI_OK);
      /* Short ticks so Ctrl-C is honoured within a tenth of a second even
       * where signals do not interrupt the sleep. */
      while (!cli_interrupted() && (!o->has_seconds || ticks < o->seconds * 10u)) {
        cli_sleep_ms(100);
        ticks++;
      }
    }
    for (k = 0; k < s.n_held; k++) {
      int rc = mmapio_unlock(s.held[k], s.held_off[k], s.held_len[k]);
      if (rc != MMAPIO_OK && code == CLI_OK)
        code = cli_fail("lock", rc);
      mmapio_close(s.held[k]);
    }
    if (s.n_held > 0 && !o->daemon)
      printf("released\n");
    if (o->pid_file != NULL && code == CLI_OK)
      cli_remove_file(o->pid_file);
    free(s.held);
    free(s.held_off);
    free(s.held_len);
  }
  if (o->daemon)
    cli_daemon_ready(code); /* only reached before readiness on failure */
  return code;
}

static int cache_main(const char *cmd, cache_op op, int argc, char **argv)
{
  cache_opts o;
  int n = 0, rc;
  memset(&o, 0, sizeof o);
  o.cmd = cmd;
  o.op = op;
  rc = parse_opts(&o, argc, argv, &n);
  if (rc >= 0)
    return rc;
  return run_cache(&o, argc, argv, n);
}

void help_touch(void)
{
  printf("usage: mmapio touch [options] FILE...\n"
         "\n"
         "Reads one byte of every page of each FILE (or of the range) through a\n"
         "read-only mapping so that the pages are in memory afterwards, and\n"
         "prints the residency before and after. A progress bar is drawn on a\n"
         "terminal for files of 64 MiB and more. A file that another process\n"
         "truncates meanwhile is reported (\"FILE was truncated at offset N\").\n"
         "\n" CLI_CACHE_OPTIONS_HELP);
}

int cmd_touch(int argc, char **argv)
{
  return cache_main("touch", OP_TOUCH, argc, argv);
}

void help_evict(void)
{
  printf("usage: mmapio evict [options] FILE...\n"
         "\n"
         "Asks the OS to drop the cached pages of each FILE (or of the range) and\n"
         "prints the residency before and after. Pages dirtied by other\n"
         "processes may stay resident: that is the OS's decision, not an error.\n"
         "Files on memory file systems (tmpfs, ramfs) cannot be evicted: their\n"
         "pages are the file; such a file is reported and the exit status is 1.\n"
         "\n" CLI_CACHE_OPTIONS_HELP);
}

int cmd_evict(int argc, char **argv)
{
  return cache_main("evict", OP_EVICT, argc, argv);
}

void help_lock(void)
{
  printf("usage: mmapio lock [options] [--seconds N | -d [-P PIDFILE]] FILE...\n"
         "\n"
         "Loads each FILE (or the range) and pins its pages in RAM (mlock /\n"
         "VirtualLock), then holds them until Ctrl-C or SIGTERM, or for N\n"
         "seconds with --seconds (0 = lock, report and release at once).\n"
         "\n"
         "  -d, --daemon     lock, then hold the pages in a background process\n"
         "                   (detached from the terminal) until it gets SIGTERM;\n"
         "                   the command returns once everything is locked\n"
         "                   (POSIX only)\n"
         "  -P FILE          write the holding process's id to FILE (removed on\n"
         "                   release)\n"
         "\n"
         "The OS limits how much a process may lock (RLIMIT_MEMLOCK, see\n"
         "'ulimit -l'); beyond it the command fails, names the whole request and\n"
         "releases what it had locked.\n"
         "\n" CLI_CACHE_OPTIONS_HELP);
}

int cmd_lock(int argc, char **argv)
{
  return cache_main("lock", OP_LOCK, argc, argv);
}

/* `info` with several files, a directory, a list or -q/-v: the residency
 * report of the files (cmd_file.c prints the detailed block of one file). */
int cache_info_summary(int argc, char **argv)
{
  return cache_main("info", OP_INFO, argc, argv);
}
