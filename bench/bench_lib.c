/*
 * bench_lib.c -- the benchmark runner of mmapio: command line, calibration,
 * repetitions and medians, and the three outputs (a table for people, JSON
 * for machines, an SVG bar chart of the ratios).
 *
 * Method. For every workload both sides (ours = the mmapio call, base = the
 * raw-syscall code a user would otherwise write) run in the same process on
 * the same kind of file. A calibration phase doubles the iteration count
 * until one batch lasts at least --min-time (this also warms caches and page
 * tables), then each side runs --reps batches with that count, alternating
 * which side goes first so that slow drifts of a shared machine hit both
 * equally. The figures reported are the medians of the per-batch figures;
 * the ratio is median(ours) / median(base).
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1 /* statfs, uname, sysconf on glibc with -std=c11 */
#endif

#include "bench.h"
#include "bench_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#  include <process.h>
#  define bench_getpid _getpid
#else
#  include <sys/utsname.h>
#  include <time.h>
#  include <unistd.h>
#  define bench_getpid getpid
#  if defined(__linux__)
#    include <sys/vfs.h>
#  endif
#endif

#ifndef MMAPIO_BENCH_BUILD_TYPE
#  define MMAPIO_BENCH_BUILD_TYPE "unknown"
#endif

/* ------------------------------------------------------------------------ */
/* Helpers shared with the workloads                                         */
/* ------------------------------------------------------------------------ */

#if !(defined(__GNUC__) || defined(__clang__))
void bench_escape_fn(const void *p)
{
  static const void *volatile sink;
  sink = p;
}
#endif

/* The clock of the workload being run: set by run_workload. */
static int bench_use_cpu_clock;

static double bench_wall(void)
{
#ifdef _WIN32
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart / (double)f.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
}

double bench_now(void)
{
#if defined(_WIN32)
  if (bench_use_cpu_clock) {
    FILETIME c, e, k, u;
    if (GetThreadTimes(GetCurrentThread(), &c, &e, &k, &u)) {
      ULARGE_INTEGER a, b;
      a.LowPart = k.dwLowDateTime;
      a.HighPart = k.dwHighDateTime;
      b.LowPart = u.dwLowDateTime;
      b.HighPart = u.dwHighDateTime;
      return (double)(a.QuadPart + b.QuadPart) * 1e-7; /* 100 ns units */
    }
  }
#elif defined(CLOCK_THREAD_CPUTIME_ID)
  if (bench_use_cpu_clock) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
      return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
  }
#endif
  return bench_wall();
}

int bench_fail(bench_run *r, const char *what, int status)
{
  if (status == MMAPIO_ENOTSUP) {
    snprintf(r->note, sizeof r->note, "%s: not supported in this build (%s)", what,
             mmapio_last_error());
    return BENCH_RC_NA;
  }
  snprintf(r->error, sizeof r->error, "%s: %s (%s)", what, mmapio_strerror(status),
           mmapio_last_error());
  return BENCH_RC_ERROR;
}

int bench_fail_os(bench_run *r, const char *what, const char *path)
{
#ifdef _WIN32
  snprintf(r->error, sizeof r->error, "%s(%s): Windows error %lu", what, path ? path : "",
           (unsigned long)GetLastError());
#else
  int e = errno;
  snprintf(r->error, sizeof r->error, "%s(%s): %s", what, path ? path : "", strerror(e));
#endif
  return BENCH_RC_ERROR;
}

void bench_path(char *buf, size_t cap, const bench_config *cfg, const char *tag)
{
  snprintf(buf, cap, "%s/mmapio-bench-%d-%s.bin", cfg->dir, (int)bench_getpid(), tag);
}

void bench_remove(const char *path)
{
  if (path != NULL && path[0] != '\0') remove(path);
}

/* The byte sum every scan uses, on both sides, so that the loop the compiler
 * generates is the same code for ours and base; noinline keeps it from being
 * specialised differently at each call site. */
BENCH_NOINLINE uint64_t bench_sum(const uint8_t *p, size_t n)
{
  uint64_t s = 0;
  size_t i;
  for (i = 0; i < n; i++) s += p[i];
  return s;
}

/* ------------------------------------------------------------------------ */
/* Results                                                                   */
/* ------------------------------------------------------------------------ */

enum bench_status { BENCH_S_OK = 0, BENCH_S_NA, BENCH_S_ERROR };

typedef struct bench_result {
  const bench_workload *w;
  enum bench_status status;
  uint64_t iters;
  int reps;
  double *ours;       /* per-rep figure: seconds per op (TIME) or bytes/s (RATE) */
  double *base;
  double ours_med, base_med, ratio;
  double best_ratio;  /* best (min time / max rate) of ours over best of base */
  double bytes_per_op;
  int pass;           /* 1 pass, 0 miss, -1 no target */
  int cpu_clock;      /* timed with the thread CPU clock */
  char note[256];
  char error[512];
} bench_result;

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
  double *t;
  double m;
  if (n <= 0) return 0.0;
  t = (double *)malloc((size_t)n * sizeof *t);
  if (t == NULL) return v[0];
  memcpy(t, v, (size_t)n * sizeof *t);
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  m = (n % 2) ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  free(t);
  return m;
}

/* ------------------------------------------------------------------------ */
/* Running one workload                                                      */
/* ------------------------------------------------------------------------ */

static double figure(const bench_run *r, enum bench_unit u, double seconds, uint64_t iters)
{
  if (seconds <= 0.0) seconds = 1e-12; /* a clock tick of 0: avoid dividing by 0 */
  if (u == BENCH_RATE) return r->bytes_per_op * (double)iters / seconds;
  return seconds / (double)iters;
}

static void run_workload(const bench_workload *w, const bench_config *cfg, bench_result *res)
{
  bench_run r;
  double t[2];
  uint64_t iters;
  double min_time;
  int rc, k, side, cal;

  memset(&r, 0, sizeof r);
  memset(res, 0, sizeof *res);
  res->w = w;
  res->pass = -1;
  r.cfg = cfg;
  r.min_iters = 1;

  bench_use_cpu_clock = 0;
  rc = w->setup(&r);
  if (rc != BENCH_RC_OK) goto done;
  bench_use_cpu_clock = cfg->cpu_clock && !r.io_bound;
  res->cpu_clock = bench_use_cpu_clock;

  /* Calibration: double (or extrapolate) until the slower side's batch
   * reaches the minimum time. These batches also warm both sides up. */
  min_time = r.min_time > 0.0 ? r.min_time : cfg->min_time;
  iters = r.min_iters > 0 ? r.min_iters : 1;
  if (r.max_iters > 0 && iters > r.max_iters) iters = r.max_iters;
  for (cal = 0;; cal++) {
    double slow, w0 = bench_wall(), wall;
    for (side = 0; side < 2; side++) {
      rc = w->batch(&r, side, iters, &t[side]);
      if (rc != BENCH_RC_OK) goto done;
    }
    wall = bench_wall() - w0;
    slow = t[0] > t[1] ? t[0] : t[1];
    /* Stop at the minimum time, the workload's cap, or when untimed set-up
     * inside the batches (fresh files before each resize) makes the wall
     * time of a step long. */
    if (slow >= min_time || (r.max_iters > 0 && iters >= r.max_iters) || cal >= 40 ||
        wall >= 20.0 * min_time + 0.5)
      break;
    {
      double want = slow > 0.0 ? (double)iters * min_time / slow * 1.2 : (double)iters * 16.0;
      uint64_t next;
      if (want > (double)iters * 16.0) want = (double)iters * 16.0;
      if (want < (double)iters * 2.0) want = (double)iters * 2.0;
      next = (uint64_t)want;
      if (r.max_iters > 0 && next > r.max_iters) next = r.max_iters;
      iters = next;
    }
  }

  res->ours = (double *)calloc((size_t)cfg->reps, sizeof(double));
  res->base = (double *)calloc((size_t)cfg->reps, sizeof(double));
  if (res->ours == NULL || res->base == NULL) {
    snprintf(r.error, sizeof r.error, "out of memory");
    rc = BENCH_RC_ERROR;
    goto done;
  }
  for (k = 0; k < cfg->reps; k++) {
    int first = k % 2; /* alternate which side runs first */
    for (side = 0; side < 2; side++) {
      int s = side ^ first;
      rc = w->batch(&r, s, iters, &t[s]);
      if (rc != BENCH_RC_OK) goto done;
    }
    res->ours[k] = figure(&r, w->unit, t[BENCH_OURS], iters);
    res->base[k] = figure(&r, w->unit, t[BENCH_BASE], iters);
    res->reps = k + 1;
  }
  res->iters = iters;
  res->bytes_per_op = r.bytes_per_op;
  res->ours_med = median(res->ours, res->reps);
  res->base_med = median(res->base, res->reps);
  res->ratio = res->base_med > 0.0 ? res->ours_med / res->base_med : 0.0;
  {
    /* The best batch of each side: on a busy machine the least disturbed
     * figure, shown next to the medians as a cross-check. */
    double bo = res->ours[0], bb = res->base[0];
    for (k = 1; k < res->reps; k++) {
      if (w->unit == BENCH_RATE) {
        if (res->ours[k] > bo) bo = res->ours[k];
        if (res->base[k] > bb) bb = res->base[k];
      } else {
        if (res->ours[k] < bo) bo = res->ours[k];
        if (res->base[k] < bb) bb = res->base[k];
      }
    }
    res->best_ratio = bb > 0.0 ? bo / bb : 0.0;
  }
  switch (w->target_kind) {
  case BENCH_T_RATIO_LE: res->pass = res->ratio <= w->target; break;
  case BENCH_T_RATIO_GE: res->pass = res->ratio >= w->target; break;
  case BENCH_T_ABS_NS_LE: res->pass = res->ours_med * 1e9 <= w->target; break;
  default: res->pass = -1; break;
  }

done:
  bench_use_cpu_clock = 0;
  if (w->teardown != NULL) w->teardown(&r);
  if (rc == BENCH_RC_NA) res->status = BENCH_S_NA;
  else if (rc != BENCH_RC_OK) res->status = BENCH_S_ERROR;
  else res->status = BENCH_S_OK;
  snprintf(res->note, sizeof res->note, "%s", r.note);
  snprintf(res->error, sizeof res->error, "%s", r.error);
}

/* ------------------------------------------------------------------------ */
/* The machine                                                               */
/* ------------------------------------------------------------------------ */

typedef struct bench_machine {
  long ncpu;
  char cpu[128];
  char os[256];
} bench_machine;

#ifndef _WIN32
static void trim(char *s)
{
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
}
#endif

static void machine_info(bench_machine *mi)
{
  memset(mi, 0, sizeof *mi);
  snprintf(mi->cpu, sizeof mi->cpu, "unknown");
#ifdef _WIN32
  {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    mi->ncpu = (long)si.dwNumberOfProcessors;
    snprintf(mi->os, sizeof mi->os, "Windows");
  }
#else
  {
    struct utsname u;
    FILE *f;
    mi->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (uname(&u) == 0) snprintf(mi->os, sizeof mi->os, "%s %s %s", u.sysname, u.release, u.machine);
    f = fopen("/proc/cpuinfo", "r");
    if (f != NULL) {
      char line[512];
      while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
          char *c = strchr(line, ':');
          if (c != NULL) {
            c++;
            while (*c == ' ' || *c == '\t') c++;
            snprintf(mi->cpu, sizeof mi->cpu, "%s", c);
            trim(mi->cpu);
          }
          break;
        }
      }
      fclose(f);
    }
  }
#endif
}

/* Name the filesystem of the benchmark directory: a flush on tmpfs costs
 * nothing, so the reader must know where the flush figures come from. */
static void fs_info(bench_config *cfg)
{
  snprintf(cfg->fs_name, sizeof cfg->fs_name, "unknown");
  cfg->fs_is_memory = 0;
#if defined(__linux__)
  {
    struct statfs sf;
    if (statfs(cfg->dir, &sf) == 0) {
      static const struct { unsigned long magic; const char *name; int mem; } k[] = {
        { 0xEF53ul, "ext4", 0 },      { 0x01021994ul, "tmpfs", 1 }, { 0x858458F6ul, "ramfs", 1 },
        { 0x58465342ul, "xfs", 0 },   { 0x9123683Eul, "btrfs", 0 }, { 0x794C7630ul, "overlayfs", 0 },
        { 0x2FC12FC1ul, "zfs", 0 },   { 0x6969ul, "nfs", 0 },       { 0xF2F52010ul, "f2fs", 0 },
        { 0x65735546ul, "fuse", 0 },  { 0x01021997ul, "9p", 0 },    { 0x4D44ul, "vfat", 0 },
      };
      size_t i;
      unsigned long t = (unsigned long)sf.f_type & 0xFFFFFFFFul;
      snprintf(cfg->fs_name, sizeof cfg->fs_name, "fs magic 0x%lx", t);
      for (i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (k[i].magic == t) {
          snprintf(cfg->fs_name, sizeof cfg->fs_name, "%s", k[i].name);
          cfg->fs_is_memory = k[i].mem;
          break;
        }
      }
    }
  }
#endif
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                                */
/* ------------------------------------------------------------------------ */

static void fmt_value(char *buf, size_t cap, enum bench_unit u, double v)
{
  if (u == BENCH_RATE) {
    if (v >= 1024.0 * 1024.0 * 1024.0) snprintf(buf, cap, "%.2f GiB/s", v / (1024.0 * 1024.0 * 1024.0));
    else snprintf(buf, cap, "%.1f MiB/s", v / (1024.0 * 1024.0));
  } else {
    if (v < 1e-6) snprintf(buf, cap, "%.2f ns", v * 1e9);
    else if (v < 1e-3) snprintf(buf, cap, "%.2f us", v * 1e6);
    else if (v < 1.0) snprintf(buf, cap, "%.2f ms", v * 1e3);
    else snprintf(buf, cap, "%.2f s", v);
  }
}

static void fmt_target(char *buf, size_t cap, const bench_workload *w)
{
  switch (w->target_kind) {
  case BENCH_T_RATIO_LE: snprintf(buf, cap, "<= %.2fx", w->target); break;
  case BENCH_T_RATIO_GE: snprintf(buf, cap, ">= %.2fx", w->target); break;
  case BENCH_T_ABS_NS_LE: snprintf(buf, cap, "<= %.0f ns", w->target); break;
  default: snprintf(buf, cap, "-"); break;
  }
}

/* How far a result is from its target, in percent of the target (positive =
 * missed by that much). */
static double miss_percent(const bench_result *r)
{
  const bench_workload *w = r->w;
  switch (w->target_kind) {
  case BENCH_T_RATIO_LE: return (r->ratio / w->target - 1.0) * 100.0;
  case BENCH_T_RATIO_GE: return (1.0 - r->ratio / w->target) * 100.0;
  case BENCH_T_ABS_NS_LE: return (r->ours_med * 1e9 / w->target - 1.0) * 100.0;
  default: return 0.0;
  }
}

static const char *result_word(const bench_result *r)
{
  if (r->status == BENCH_S_NA) return "n/a";
  if (r->status == BENCH_S_ERROR) return "ERROR";
  if (r->pass < 0) return "-";
  return r->pass ? "pass" : "MISS";
}

static void print_table(FILE *out, const bench_result *res, size_t n, const bench_config *cfg,
                        const bench_machine *mi)
{
  size_t i;
  fprintf(out, "mmapio %s benchmarks (%s build%s): median of %d repetitions per side\n",
          mmapio_version_string(), MMAPIO_BENCH_BUILD_TYPE, cfg->smoke ? ", SMOKE sizes" : "",
          cfg->reps);
  fprintf(out, "machine: %ld CPUs, %s, %s\n", mi->ncpu, mi->cpu, mi->os);
  fprintf(out, "files in: %s (%s)%s%s\n", cfg->dir, cfg->fs_name,
          cfg->fs_is_memory ? "  [memory filesystem: flush timings are not disk timings]" : "",
          cfg->sparse ? "  [--sparse: no block reservation]" : "");
  fprintf(out, "ratio = ours / baseline (time: lower is better; throughput: higher is better)\n");
  fprintf(out, "ours/baseline: medians; best: best batch of ours / best batch of baseline (cross-check)\n");
  fprintf(out, "clock: wall = monotonic time; cpu = thread CPU time (--clock cpu; preemption not counted)\n\n");
  fprintf(out, "%-15s %14s %14s %9s %10s %5s %9s  %s\n", "workload", "ours", "baseline", "ratio", "target",
          "clock", "best", "result");
  for (i = 0; i < n; i++) {
    const bench_result *r = &res[i];
    char a[32], b[32], t[32], ratio[32], best[32], word[48];
    fmt_target(t, sizeof t, r->w);
    if (r->status == BENCH_S_OK) {
      fmt_value(a, sizeof a, r->w->unit, r->ours_med);
      fmt_value(b, sizeof b, r->w->unit, r->base_med);
      snprintf(ratio, sizeof ratio, "%.3fx", r->ratio);
      snprintf(best, sizeof best, "%.3fx", r->best_ratio);
      if (r->pass == 0) snprintf(word, sizeof word, "MISS by %.0f%%", miss_percent(r));
      else snprintf(word, sizeof word, "%s", result_word(r));
    } else {
      snprintf(a, sizeof a, "n/a");
      snprintf(b, sizeof b, "n/a");
      snprintf(ratio, sizeof ratio, "n/a");
      snprintf(best, sizeof best, "n/a");
      snprintf(word, sizeof word, "%s", result_word(r));
    }
    fprintf(out, "%-15s %14s %14s %9s %10s %5s %9s  %s\n", r->w->name, a, b, ratio, t,
            r->status == BENCH_S_OK ? (r->cpu_clock ? "cpu" : "wall") : "", best, word);
  }
  fprintf(out, "\n");
  for (i = 0; i < n; i++) {
    const bench_result *r = &res[i];
    fprintf(out, "%-15s ours: %s\n%-15s base: %s\n", r->w->name, r->w->ours, "", r->w->base);
    if (r->note[0] != '\0') fprintf(out, "%-15s note: %s\n", "", r->note);
    if (r->status == BENCH_S_OK)
      fprintf(out, "%-15s %llu iterations per batch\n", "", (unsigned long long)r->iters);
    if (r->status == BENCH_S_ERROR) fprintf(out, "%-15s error: %s\n", "", r->error);
  }
}

static void json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v)
{
  /* JSON has no NaN or infinity. */
  if (v != v || v > 1e300 || v < -1e300) fputs("null", f);
  else fprintf(f, "%.6g", v);
}

static int write_json(const char *path, const bench_result *res, size_t n, const bench_config *cfg,
                      const bench_machine *mi)
{
  FILE *f = fopen(path, "wb");
  size_t i;
  int k;
  if (f == NULL) {
    fprintf(stderr, "mmapio-bench: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "{\n  \"mmapio_version\": ");
  json_str(f, mmapio_version_string());
  fprintf(f, ",\n  \"build_type\": ");
  json_str(f, MMAPIO_BENCH_BUILD_TYPE);
  fprintf(f, ",\n  \"machine\": {\"ncpu\": %ld, \"cpu\": ", mi->ncpu);
  json_str(f, mi->cpu);
  fprintf(f, ", \"os\": ");
  json_str(f, mi->os);
  fprintf(f, "},\n  \"config\": {\"smoke\": %s, \"sparse\": %s, \"clock\": \"%s\", \"reps\": %d, \"min_time_s\": ",
          cfg->smoke ? "true" : "false", cfg->sparse ? "true" : "false", cfg->cpu_clock ? "cpu" : "wall", cfg->reps);
  json_num(f, cfg->min_time);
  fprintf(f, ", \"touch_size\": %llu, \"dir\": ", (unsigned long long)cfg->touch_size);
  json_str(f, cfg->dir);
  fprintf(f, ", \"filesystem\": ");
  json_str(f, cfg->fs_name);
  fprintf(f, "},\n  \"results\": [");
  for (i = 0; i < n; i++) {
    const bench_result *r = &res[i];
    static const char *kinds[] = { "none", "ratio_le", "ratio_ge", "abs_ns_le" };
    fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
    json_str(f, r->w->name);
    fprintf(f, ", \"group\": ");
    json_str(f, r->w->group);
    fprintf(f, ", \"ours\": ");
    json_str(f, r->w->ours);
    fprintf(f, ", \"baseline\": ");
    json_str(f, r->w->base);
    fprintf(f, ", \"unit\": ");
    json_str(f, r->w->unit == BENCH_RATE ? "bytes_per_second" : "seconds_per_op");
    fprintf(f, ", \"status\": ");
    json_str(f, r->status == BENCH_S_OK ? "ok" : r->status == BENCH_S_NA ? "n/a" : "error");
    fprintf(f, ", \"target\": {\"kind\": ");
    json_str(f, kinds[r->w->target_kind]);
    fprintf(f, ", \"value\": ");
    if (r->w->target_kind == BENCH_T_NONE) fputs("null", f);
    else json_num(f, r->w->target);
    fprintf(f, ", \"goal\": ");
    if (r->w->goal != NULL) json_str(f, r->w->goal);
    else fputs("null", f);
    fprintf(f, "}");
    if (r->status == BENCH_S_OK) {
      fprintf(f, ", \"iterations\": %llu, \"reps\": %d, \"ours_median\": ",
              (unsigned long long)r->iters, r->reps);
      json_num(f, r->ours_med);
      fprintf(f, ", \"baseline_median\": ");
      json_num(f, r->base_med);
      fprintf(f, ", \"ratio\": ");
      json_num(f, r->ratio);
      fprintf(f, ", \"pass\": %s", r->pass < 0 ? "null" : r->pass ? "true" : "false");
      fprintf(f, ", \"clock\": \"%s\", \"best_ratio\": ", r->cpu_clock ? "cpu" : "wall");
      json_num(f, r->best_ratio);
      fprintf(f, ", \"ours_samples\": [");
      for (k = 0; k < r->reps; k++) {
        if (k) fputs(", ", f);
        json_num(f, r->ours[k]);
      }
      fprintf(f, "], \"baseline_samples\": [");
      for (k = 0; k < r->reps; k++) {
        if (k) fputs(", ", f);
        json_num(f, r->base[k]);
      }
      fprintf(f, "]");
    }
    fprintf(f, ", \"note\": ");
    json_str(f, r->note);
    if (r->status == BENCH_S_ERROR) {
      fprintf(f, ", \"error\": ");
      json_str(f, r->error);
    }
    fprintf(f, "}");
  }
  fprintf(f, "\n  ]\n}\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "mmapio-bench: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

static void xml_text(FILE *f, const char *s)
{
  for (; *s != '\0'; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else if (*s == '"') fputs("&quot;", f);
    else fputc(*s, f);
  }
}

/* The chart: two panels, one for the time rows (ours/baseline of the time
 * per operation: lower is better) and one for the throughput rows
 * (ours/baseline of bytes per second: higher is better), each a horizontal
 * bar per workload on a log2 axis centred on ratio 1 (the baseline), so
 * 0.5x and 2x are equally far from it. Bars have one colour per panel; the
 * verdict is a word in the right column, never a bar colour. A bar past the
 * axis (beyond 1/32x or 32x) ends in an arrow and carries its value. A ratio
 * target is a black tick; an absolute target (view_ro) is written out. */
#define BENCH_SVG_LO (-5.0) /* log2 range: 1/32x .. 32x */
#define BENCH_SVG_HI 5.0

typedef struct svg_layout {
  int label_w, plot_w, right_w, row_h;
} svg_layout;

static double svg_x(const svg_layout *L, double l2)
{
  return (double)L->label_w + (l2 - BENCH_SVG_LO) / (BENCH_SVG_HI - BENCH_SVG_LO) * (double)L->plot_w;
}

/* Draws one panel starting at y = top; returns the y below it. */
static int svg_panel(FILE *f, const svg_layout *L, const bench_result *res, size_t n, enum bench_unit unit,
                     int top)
{
  const int is_time = unit == BENCH_TIME;
  const char *fill = is_time ? "#4f7cac" : "#c77d2e";
  size_t i, rows = 0;
  int g, y;
  for (i = 0; i < n; i++)
    if (res[i].w->unit == unit) rows++;
  if (rows == 0) return top;
  fprintf(f, "<text x=\"10\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", top + 14,
          is_time ? "Time per operation, ours / baseline: LOWER is better (left of 1x = faster than the baseline)"
                  : "Throughput, ours / baseline: HIGHER is better (right of 1x = faster than the baseline)");
  top += 62;
  for (g = (int)BENCH_SVG_LO; g <= (int)BENCH_SVG_HI; g++) {
    double x = svg_x(L, (double)g);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", x, top - 8, x,
            top + (int)rows * L->row_h, g == 0 ? "#444" : "#ddd");
    if (g >= 0) fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%dx</text>\n", x, top - 12, 1 << g);
    else fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">1/%dx</text>\n", x, top - 12, 1 << -g);
  }
  fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" fill=\"#555\">%s</text>\n", svg_x(L, 0.0) - 6,
          top - 28, is_time ? "&#8592; faster" : "&#8592; slower");
  fprintf(f, "<text x=\"%.1f\" y=\"%d\" fill=\"#555\">%s</text>\n", svg_x(L, 0.0) + 6, top - 28,
          is_time ? "slower &#8594;" : "faster &#8594;");
  y = top;
  for (i = 0; i < n; i++) {
    const bench_result *r = &res[i];
    char tgt[48], val[48];
    if (r->w->unit != unit) continue;
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", L->label_w - 14, y + 17);
    xml_text(f, r->w->name);
    fprintf(f, "</text>\n");
    if (r->status != BENCH_S_OK) {
      fprintf(f, "<text x=\"%.1f\" y=\"%d\" fill=\"#888\">%s</text>\n", svg_x(L, 0.0) + 6, y + 17,
              result_word(r));
      y += L->row_h;
      continue;
    }
    {
      double l2 = r->ratio > 0.0 ? log2(r->ratio) : BENCH_SVG_LO - 1.0;
      int clipped = l2 < BENCH_SVG_LO ? -1 : l2 > BENCH_SVG_HI ? 1 : 0;
      double c = clipped < 0 ? BENCH_SVG_LO : clipped > 0 ? BENCH_SVG_HI : l2;
      double x0 = svg_x(L, c < 0.0 ? c : 0.0), x1 = svg_x(L, c < 0.0 ? 0.0 : c);
      int rx = L->label_w + L->plot_w + 8;
      fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", x0, y + 5,
              x1 - x0 < 1.0 ? 1.0 : x1 - x0, L->row_h - 10, fill);
      if (clipped != 0) {
        /* An arrow head past the axis end and the value inside the bar. */
        double xe = clipped > 0 ? x1 : x0, d = clipped > 0 ? 9.0 : -9.0;
        fprintf(f, "<polygon points=\"%.1f,%d %.1f,%d %.1f,%d\" fill=\"%s\"/>\n", xe, y + 2, xe + d,
                y + L->row_h / 2, xe, y + L->row_h - 2, fill);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" fill=\"white\" font-weight=\"bold\" text-anchor=\"%s\">"
                   "%.2gx (off the scale)</text>\n",
                clipped > 0 ? x1 - 6 : x0 + 6, y + 17, clipped > 0 ? "end" : "start", r->ratio);
      }
      if (r->w->target_kind == BENCH_T_RATIO_LE || r->w->target_kind == BENCH_T_RATIO_GE) {
        double tx = svg_x(L, log2(r->w->target));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\" stroke-width=\"3\"/>\n",
                tx, y + 1, tx, y + L->row_h - 1);
      }
      fmt_target(tgt, sizeof tgt, r->w);
      fprintf(f, "<text x=\"%d\" y=\"%d\">%.3fx</text>\n", rx, y + 17, r->ratio);
      if (r->w->target_kind == BENCH_T_ABS_NS_LE) {
        fmt_value(val, sizeof val, unit, r->ours_med);
        fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"%s\" font-weight=\"bold\">%s</text>"
                   "<text x=\"%d\" y=\"%d\" fill=\"#555\">%s, target &lt;= %.0f ns absolute</text>\n",
                rx + 62, y + 17, r->pass ? "#1b5e20" : "#b71c1c", r->pass ? "pass" : "MISS", rx + 104, y + 17,
                val, r->w->target);
      } else if (r->pass >= 0) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"%s\" font-weight=\"bold\">%s</text>"
                   "<text x=\"%d\" y=\"%d\" fill=\"#555\">target ",
                rx + 62, y + 17, r->pass ? "#1b5e20" : "#b71c1c", r->pass ? "pass" : "MISS", rx + 104, y + 17);
        xml_text(f, tgt);
        fprintf(f, "</text>\n");
      } else {
        fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#888\">no target</text>\n", rx + 62, y + 17);
      }
    }
    y += L->row_h;
  }
  return y + 10;
}

static int write_svg(const char *path, const bench_result *res, size_t n, const bench_config *cfg,
                     const bench_machine *mi)
{
  svg_layout L;
  size_t i, n_time = 0, n_rate = 0;
  int width, height, y;
  FILE *f;
  L.label_w = 130;
  L.plot_w = 520;
  L.right_w = 370;
  L.row_h = 26;
  for (i = 0; i < n; i++) {
    if (res[i].w->unit == BENCH_RATE) n_rate++;
    else n_time++;
  }
  width = L.label_w + L.plot_w + L.right_w;
  height = 60 + (n_time ? 90 + (int)n_time * L.row_h : 0) + (n_rate ? 90 + (int)n_rate * L.row_h : 0) + 50;
  f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "mmapio-bench: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
          width, height, width, height);
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height);
  fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">mmapio %s: each workload "
             "against the raw code a user would write (median of %d runs per side)</text>\n",
          mmapio_version_string(), cfg->reps);
  fprintf(f, "<text x=\"10\" y=\"38\" fill=\"#555\">");
  xml_text(f, mi->cpu);
  fprintf(f, ", %ld CPUs, ", mi->ncpu);
  xml_text(f, mi->os);
  fprintf(f, ", files on ");
  xml_text(f, cfg->fs_name);
  fprintf(f, "%s; ratio axis is logarithmic.</text>\n", cfg->smoke ? " (smoke sizes: not meaningful)" : "");
  y = svg_panel(f, &L, res, n, BENCH_TIME, 56);
  y = svg_panel(f, &L, res, n, BENCH_RATE, y + 6);
  fprintf(f, "<text x=\"10\" y=\"%d\" fill=\"#333\">pass: the workload met its speed target (a ratio to "
             "its baseline, drawn as a black tick, or an absolute time where written out);</text>\n",
          y + 14);
  fprintf(f, "<text x=\"10\" y=\"%d\" fill=\"#333\">MISS: it did not; no target: measured for "
             "comparison only. A bar ending in an arrow is clipped at the axis; its value is written "
             "in it.</text>\n",
          y + 32);
  fprintf(f, "</svg>\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "mmapio-bench: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Command line                                                              */
/* ------------------------------------------------------------------------ */

static void usage(FILE *out, const char *prog)
{
  fprintf(out,
          "usage: %s [options]\n"
          "Runs mmapio's benchmark workloads, each next to the raw-syscall baseline\n"
          "measured in the same run, and prints medians and ratios.\n\n"
          "  --list             list the workloads and their targets, then exit\n"
          "  --only A[,B...]    run only these workloads\n"
          "  --smoke            tiny sizes and few iterations (checks that it runs)\n"
          "  --reps N           repetitions per side, median reported (default 7, smoke 3)\n"
          "  --size SIZE        map size of touch_1g, e.g. 64M, 1G (default 1G, smoke 64M)\n"
          "  --min-time MS      minimum duration of one batch (default 50, smoke 1)\n"
          "  --dir DIR          directory of the benchmark files (default .); use a disk,\n"
          "                     not tmpfs, for meaningful flush figures\n"
          "  --sparse           open/create with MMAPIO_OPEN_SPARSE (no block reservation)\n"
          "  --clock wall|cpu   wall (default): monotonic time; cpu: the thread's CPU time\n"
          "                     for CPU-bound workloads (robust on a busy machine; disk\n"
          "                     and flusher workloads always use wall time)\n"
          "  --json FILE        also write the results as JSON\n"
          "  --svg FILE         also write a bar chart of the ratios as SVG\n"
          "  --redraw JSON      with --svg: draw the chart of an earlier run's JSON, run nothing\n"
          "  --strict           exit 3 when a target is missed\n"
          "  --quiet            no progress messages on stderr\n"
          "  --help             this text\n\n"
          "Exit status: 0 every workload ran (and, with --strict, met its target);\n"
          "1 a workload failed or DIR is unusable; 2 bad command line; 3 with\n"
          "--strict, at least one target was missed.\n",
          prog);
}

static int parse_size(const char *s, uint64_t *out)
{
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (end == s || errno != 0 || v <= 0.0) return -1;
  switch (*end) {
  case '\0': break;
  case 'k': case 'K': v *= 1024.0; end++; break;
  case 'm': case 'M': v *= 1024.0 * 1024.0; end++; break;
  case 'g': case 'G': v *= 1024.0 * 1024.0 * 1024.0; end++; break;
  default: return -1;
  }
  if (*end == 'i' || *end == 'I') end++;
  if (*end == 'b' || *end == 'B') end++;
  if (*end != '\0' || v > 9.0e18) return -1;
  *out = (uint64_t)v;
  return 0;
}

static const bench_workload *find_workload(const char *name, size_t len)
{
  size_t i;
  for (i = 0; i < bench_workload_count; i++) {
    if (strlen(bench_workloads[i].name) == len && strncmp(bench_workloads[i].name, name, len) == 0)
      return &bench_workloads[i];
  }
  return NULL;
}

/* --redraw JSON: the chart of an earlier run, from the JSON this program
 * wrote (one result per line). Only the figures the chart shows are read. */
static const char *json_field(const char *line, const char *key)
{
  char pat[64];
  const char *p;
  snprintf(pat, sizeof pat, "\"%s\": ", key);
  p = strstr(line, pat);
  return p != NULL ? p + strlen(pat) : NULL;
}

static void json_copy_str(const char *p, char *out, size_t cap)
{
  size_t n = 0;
  if (p == NULL || *p != '"') {
    if (cap > 0) out[0] = '\0';
    return;
  }
  for (p++; *p != '\0' && *p != '"' && n + 1 < cap; p++) {
    if (*p == '\\' && p[1] != '\0') p++;
    out[n++] = *p;
  }
  out[n] = '\0';
}

static int redraw(const char *prog, const char *json_path, const char *svg_path)
{
  FILE *f = fopen(json_path, "rb");
  bench_config cfg;
  bench_machine mi;
  bench_result *res;
  size_t n = 0;
  char line[16384];
  int rc;
  if (f == NULL) {
    fprintf(stderr, "%s: cannot read %s: %s\n", prog, json_path, strerror(errno));
    return MMAPIO_BENCH_EXIT_ERROR;
  }
  memset(&cfg, 0, sizeof cfg);
  memset(&mi, 0, sizeof mi);
  res = (bench_result *)calloc(bench_workload_count, sizeof *res);
  if (res == NULL) {
    fclose(f);
    return MMAPIO_BENCH_EXIT_ERROR;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    const char *p;
    char name[64], status[16];
    const bench_workload *w;
    if ((p = json_field(line, "machine")) != NULL) {
      const char *q = json_field(line, "ncpu");
      mi.ncpu = q != NULL ? strtol(q, NULL, 10) : 0;
      json_copy_str(json_field(line, "cpu"), mi.cpu, sizeof mi.cpu);
      json_copy_str(json_field(line, "os"), mi.os, sizeof mi.os);
    }
    if ((p = json_field(line, "config")) != NULL) {
      const char *q = json_field(line, "reps");
      cfg.reps = q != NULL ? (int)strtol(q, NULL, 10) : 0;
      q = json_field(line, "smoke");
      cfg.smoke = q != NULL && strncmp(q, "true", 4) == 0;
      json_copy_str(json_field(line, "filesystem"), cfg.fs_name, sizeof cfg.fs_name);
    }
    if (strstr(line, "{\"name\": ") == NULL) continue;
    json_copy_str(json_field(line, "name"), name, sizeof name);
    w = find_workload(name, strlen(name));
    if (w == NULL || n == bench_workload_count) continue;
    res[n].w = w;
    json_copy_str(json_field(line, "status"), status, sizeof status);
    res[n].status = strcmp(status, "ok") == 0 ? BENCH_S_OK : strcmp(status, "n/a") == 0 ? BENCH_S_NA : BENCH_S_ERROR;
    if ((p = json_field(line, "ratio")) != NULL) res[n].ratio = strtod(p, NULL);
    if ((p = json_field(line, "ours_median")) != NULL) res[n].ours_med = strtod(p, NULL);
    if ((p = json_field(line, "baseline_median")) != NULL) res[n].base_med = strtod(p, NULL);
    p = json_field(line, "pass");
    res[n].pass = p == NULL || strncmp(p, "null", 4) == 0 ? -1 : strncmp(p, "true", 4) == 0;
    if (w->target_kind == BENCH_T_NONE) res[n].pass = -1;
    n++;
  }
  fclose(f);
  if (n == 0) {
    fprintf(stderr, "%s: %s holds no results of this program\n", prog, json_path);
    free(res);
    return MMAPIO_BENCH_EXIT_ERROR;
  }
  rc = write_svg(svg_path, res, n, &cfg, &mi) == 0 ? MMAPIO_BENCH_EXIT_OK : MMAPIO_BENCH_EXIT_ERROR;
  free(res);
  return rc;
}

static void list_workloads(FILE *out)
{
  size_t i;
  fprintf(out, "%-15s %-10s %-12s %s\n", "workload", "target", "mmap-io", "ours / baseline");
  for (i = 0; i < bench_workload_count; i++) {
    const bench_workload *w = &bench_workloads[i];
    char t[32];
    fmt_target(t, sizeof t, w);
    fprintf(out, "%-15s %-10s %-12s %s\n%-40s vs %s\n", w->name, t, w->group, w->ours, "", w->base);
  }
}

int mmapio_bench_main(int argc, char **argv)
{
  const char *prog = (argc > 0 && argv[0] != NULL) ? argv[0] : "mmapio-bench";
  const char *json_path = NULL, *svg_path = NULL, *only = NULL, *redraw_path = NULL;
  bench_config cfg;
  bench_machine mi;
  bench_result *res;
  const bench_workload **sel;
  size_t nsel = 0, i;
  int reps = 0, strict = 0, size_given = 0, min_time_given = 0, exit_code = MMAPIO_BENCH_EXIT_OK;
  double min_time_ms = 0.0;
  int a;

  memset(&cfg, 0, sizeof cfg);
  cfg.dir = ".";
  cfg.touch_size = BENCH_GIB;

  for (a = 1; a < argc; a++) {
    const char *arg = argv[a];
    const char *val = NULL;
    char name[32];
    const char *eq;
    if (strncmp(arg, "--", 2) != 0) {
      fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, arg);
      return MMAPIO_BENCH_EXIT_USAGE;
    }
    eq = strchr(arg, '=');
    if (eq != NULL) {
      size_t l = (size_t)(eq - arg);
      if (l >= sizeof name) l = sizeof name - 1;
      memcpy(name, arg, l);
      name[l] = '\0';
      val = eq + 1;
    } else {
      snprintf(name, sizeof name, "%s", arg);
    }
#define BENCH_NEED_VALUE()                                                     \
  do {                                                                         \
    if (val == NULL) {                                                         \
      if (a + 1 >= argc) {                                                     \
        fprintf(stderr, "%s: %s needs a value (see --help)\n", prog, name);    \
        return MMAPIO_BENCH_EXIT_USAGE;                                        \
      }                                                                        \
      val = argv[++a];                                                         \
    }                                                                          \
  } while (0)
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
      usage(stdout, prog);
      return MMAPIO_BENCH_EXIT_OK;
    } else if (strcmp(name, "--list") == 0) {
      list_workloads(stdout);
      return MMAPIO_BENCH_EXIT_OK;
    } else if (strcmp(name, "--smoke") == 0) {
      cfg.smoke = 1;
    } else if (strcmp(name, "--sparse") == 0) {
      cfg.sparse = 1;
    } else if (strcmp(name, "--strict") == 0) {
      strict = 1;
    } else if (strcmp(name, "--clock") == 0) {
      BENCH_NEED_VALUE();
      if (strcmp(val, "cpu") == 0) cfg.cpu_clock = 1;
      else if (strcmp(val, "wall") == 0) cfg.cpu_clock = 0;
      else {
        fprintf(stderr, "%s: --clock wants 'wall' or 'cpu', got '%s'\n", prog, val);
        return MMAPIO_BENCH_EXIT_USAGE;
      }
    } else if (strcmp(name, "--quiet") == 0) {
      cfg.quiet = 1;
    } else if (strcmp(name, "--only") == 0) {
      BENCH_NEED_VALUE();
      only = val;
    } else if (strcmp(name, "--json") == 0) {
      BENCH_NEED_VALUE();
      json_path = val;
    } else if (strcmp(name, "--svg") == 0) {
      BENCH_NEED_VALUE();
      svg_path = val;
    } else if (strcmp(name, "--redraw") == 0) {
      BENCH_NEED_VALUE();
      redraw_path = val;
    } else if (strcmp(name, "--dir") == 0) {
      BENCH_NEED_VALUE();
      cfg.dir = val;
    } else if (strcmp(name, "--reps") == 0) {
      char *end;
      long v;
      BENCH_NEED_VALUE();
      v = strtol(val, &end, 10);
      if (*end != '\0' || v < 1 || v > 1000) {
        fprintf(stderr, "%s: --reps wants 1..1000, got '%s'\n", prog, val);
        return MMAPIO_BENCH_EXIT_USAGE;
      }
      reps = (int)v;
    } else if (strcmp(name, "--size") == 0) {
      BENCH_NEED_VALUE();
      if (parse_size(val, &cfg.touch_size) != 0 || cfg.touch_size < 4096) {
        fprintf(stderr, "%s: --size wants a size of at least 4K such as 64M or 1G, got '%s'\n", prog, val);
        return MMAPIO_BENCH_EXIT_USAGE;
      }
      size_given = 1;
    } else if (strcmp(name, "--min-time") == 0) {
      char *end;
      BENCH_NEED_VALUE();
      min_time_ms = strtod(val, &end);
      if (*end != '\0' || !(min_time_ms > 0.0) || min_time_ms > 60000.0) {
        fprintf(stderr, "%s: --min-time wants milliseconds in (0, 60000], got '%s'\n", prog, val);
        return MMAPIO_BENCH_EXIT_USAGE;
      }
      min_time_given = 1;
    } else {
      fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, arg);
      return MMAPIO_BENCH_EXIT_USAGE;
    }
#undef BENCH_NEED_VALUE
  }

  if (redraw_path != NULL) {
    if (svg_path == NULL) {
      fprintf(stderr, "%s: --redraw needs --svg FILE\n", prog);
      return MMAPIO_BENCH_EXIT_USAGE;
    }
    return redraw(prog, redraw_path, svg_path);
  }
  {
    /* One line and stop, rather than one failure per workload. */
    struct stat st;
    errno = 0;
    if (stat(cfg.dir, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR) {
      fprintf(stderr, "%s: --dir %s: %s\n", prog, cfg.dir,
              errno == ENOENT ? "no such directory" : (errno != 0 ? strerror(errno) : "not a directory"));
      return MMAPIO_BENCH_EXIT_ERROR;
    }
  }
  cfg.reps = reps > 0 ? reps : (cfg.smoke ? 3 : 7);
  cfg.min_time = min_time_given ? min_time_ms / 1000.0 : (cfg.smoke ? 0.001 : 0.05);
  if (!size_given && cfg.smoke) cfg.touch_size = 64 * BENCH_MIB;
  fs_info(&cfg);
  machine_info(&mi);

  sel = (const bench_workload **)calloc(bench_workload_count, sizeof *sel);
  res = (bench_result *)calloc(bench_workload_count, sizeof *res);
  if (sel == NULL || res == NULL) {
    free(sel);
    free(res);
    fprintf(stderr, "%s: out of memory\n", prog);
    return MMAPIO_BENCH_EXIT_ERROR;
  }
  if (only != NULL) {
    const char *p = only;
    while (*p != '\0') {
      size_t l = strcspn(p, ",");
      if (l > 0) {
        const bench_workload *w = find_workload(p, l);
        size_t j;
        int dup = 0;
        if (w == NULL) {
          fprintf(stderr, "%s: unknown workload '%.*s' (see --list)\n", prog, (int)l, p);
          free(sel);
          free(res);
          return MMAPIO_BENCH_EXIT_USAGE;
        }
        for (j = 0; j < nsel; j++) dup |= sel[j] == w;
        if (!dup) sel[nsel++] = w;
      }
      p += l;
      if (*p == ',') p++;
    }
  } else {
    for (i = 0; i < bench_workload_count; i++) sel[nsel++] = &bench_workloads[i];
  }

  for (i = 0; i < nsel; i++) {
    double t0 = bench_now();
    if (!cfg.quiet) {
      fprintf(stderr, "[%zu/%zu] %-15s ...", i + 1, nsel, sel[i]->name);
      fflush(stderr);
    }
    run_workload(sel[i], &cfg, &res[i]);
    if (!cfg.quiet) fprintf(stderr, " %s (%.1f s)\n", result_word(&res[i]), bench_now() - t0);
    if (res[i].status == BENCH_S_ERROR) {
      fprintf(stderr, "%s: %s failed: %s\n", prog, sel[i]->name, res[i].error);
      exit_code = MMAPIO_BENCH_EXIT_ERROR;
    }
  }

  print_table(stdout, res, nsel, &cfg, &mi);
  fflush(stdout);
  if (json_path != NULL && write_json(json_path, res, nsel, &cfg, &mi) != 0)
    exit_code = MMAPIO_BENCH_EXIT_ERROR;
  if (svg_path != NULL && write_svg(svg_path, res, nsel, &cfg, &mi) != 0)
    exit_code = MMAPIO_BENCH_EXIT_ERROR;
  if (strict && exit_code == MMAPIO_BENCH_EXIT_OK) {
    for (i = 0; i < nsel; i++)
      if (res[i].status == BENCH_S_OK && res[i].pass == 0) exit_code = MMAPIO_BENCH_EXIT_MISSED;
  }
  for (i = 0; i < nsel; i++) {
    free(res[i].ours);
    free(res[i].base);
  }
  free(res);
  free(sel);
  return exit_code;
}
