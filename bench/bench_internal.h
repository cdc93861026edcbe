/*
 * bench_internal.h -- what the benchmark runner (bench_lib.c) and the
 * workloads (bench_workloads.c) share. Not installed, not public.
 *
 * A workload measures one mmapio operation ("ours") against the code a user
 * would write without the library ("base"), in the same process and run.
 * The runner calls its `batch` function for one side with an iteration
 * count and gets back the seconds those iterations took; the batch times
 * itself, so untimed preparation (creating a fresh file before a resize,
 * say) can be kept out of the figure.
 */
#ifndef MMAPIO_BENCH_INTERNAL_H
#define MMAPIO_BENCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mmapio.h"

/* Keep the optimiser honest. BENCH_BARRIER() forces every value held in
 * memory to be reloaded after it; BENCH_ESCAPE(p) makes the pointer (and
 * what it points to) "used"; BENCH_OPAQUE(x) hides a value's origin so a
 * loop cannot be hoisted or folded. BENCH_INLINE: a loop shared by several
 * workloads is compiled into each, with its arguments as constants. */
#if defined(__GNUC__) || defined(__clang__)
#  define BENCH_BARRIER() __asm__ __volatile__("" ::: "memory")
#  define BENCH_ESCAPE(p) __asm__ __volatile__("" : : "r"(p) : "memory")
#  define BENCH_OPAQUE(x) __asm__ __volatile__("" : "+r"(x))
#  define BENCH_NOINLINE __attribute__((noinline))
#  define BENCH_INLINE inline __attribute__((always_inline))
#else
#  include <stdatomic.h>
#  define BENCH_BARRIER() atomic_signal_fence(memory_order_seq_cst)
#  define BENCH_ESCAPE(p) bench_escape_fn((const void *)(p))
#  define BENCH_OPAQUE(x) ((void)0)
#  define BENCH_NOINLINE
#  define BENCH_INLINE inline
void bench_escape_fn(const void *p);
#endif

#define BENCH_KIB ((uint64_t)1024)
#define BENCH_MIB ((uint64_t)1024 * 1024)
#define BENCH_GIB ((uint64_t)1024 * 1024 * 1024)

enum bench_side { BENCH_OURS = 0, BENCH_BASE = 1 };

/* How a workload's figure is expressed. TIME: seconds per operation, lower is
 * better; the ratio is ours/base. RATE: bytes per second, higher is better;
 * the ratio is ours/base as well (so > 1 means faster than the baseline). */
enum bench_unit { BENCH_TIME = 0, BENCH_RATE = 1 };

/* Speed targets. RATIO_LE/GE compare ours/base with `target`;
 * ABS_NS_LE compares our time per operation, in nanoseconds. */
enum bench_target_kind { BENCH_T_NONE = 0, BENCH_T_RATIO_LE, BENCH_T_RATIO_GE, BENCH_T_ABS_NS_LE };

/* Return values of setup and batch functions. */
#define BENCH_RC_OK 0
#define BENCH_RC_ERROR (-1) /* `error` says why; the run exits non-zero */
#define BENCH_RC_NA (-2)    /* not available here (feature off, other OS); `note` says why */

typedef struct bench_config {
  int smoke;              /* tiny sizes, few iterations */
  int sparse;             /* open/create with MMAPIO_OPEN_SPARSE (no block reservation) */
  int reps;               /* repetitions per side; the medians are reported */
  int quiet;              /* no progress on stderr */
  double min_time;        /* seconds one batch should last at least (calibration) */
  int cpu_clock;          /* --clock cpu: time CPU-bound workloads with the thread's CPU clock */
  uint64_t touch_size;    /* size of the touch_1g map (--size) */
  const char *dir;        /* directory of the benchmark files */
  char fs_name[64];       /* filesystem type of `dir` ("ext4", "tmpfs", ...) */
  int fs_is_memory;       /* 1 when `dir` is on tmpfs/ramfs (flush timing meaningless) */
} bench_config;

typedef struct bench_run {
  const bench_config *cfg;
  void *state;            /* the workload's own state, set by setup */
  double bytes_per_op;    /* RATE workloads: bytes one iteration moves */
  uint64_t min_iters;     /* lower bound for the calibrated iteration count */
  uint64_t max_iters;     /* upper bound (0 = none) */
  double min_time;        /* 0 = cfg->min_time; else this workload's own */
  int io_bound;           /* 1: waits for a disk or another thread; always timed on the wall clock */
  char note[256];         /* shown next to the result (sizes, modes, filesystem) */
  char error[512];        /* why a setup or batch failed */
} bench_run;

typedef struct bench_workload {
  const char *name;
  const char *group;      /* the mmap-io benchmark group it mirrors */
  const char *ours;       /* what is measured on our side */
  const char *base;       /* what the baseline does */
  enum bench_unit unit;
  enum bench_target_kind target_kind;
  double target;
  const char *goal;       /* what the target promises, in words; NULL without a target */
  int (*setup)(bench_run *r);
  int (*batch)(bench_run *r, int side, uint64_t iters, double *seconds);
  void (*teardown)(bench_run *r);
} bench_workload;

extern const bench_workload bench_workloads[];
extern const size_t bench_workload_count;

/* Helpers the workloads use (bench_lib.c). bench_now() reads the clock the
 * run uses for this workload: monotonic wall time, or with --clock cpu the
 * calling thread's CPU time (user + system) for workloads that are not
 * io_bound, which a busy shared machine disturbs far less (time spent
 * preempted is not counted). */
double bench_now(void);
int bench_fail(bench_run *r, const char *what, int status);       /* mmapio status */
int bench_fail_os(bench_run *r, const char *what, const char *path); /* errno / GetLastError */
void bench_path(char *buf, size_t cap, const bench_config *cfg, const char *tag);
void bench_remove(const char *path);
uint64_t bench_sum(const uint8_t *p, size_t n);

/* Workloads defined outside bench_workloads.c, listed in its table. */
/* bench_append.c */
int bench_setup_append_4k(bench_run *r);
int bench_batch_append_4k(bench_run *r, int side, uint64_t iters, double *sec);
void bench_teardown_append_4k(bench_run *r);
/* bench_create.c */
int bench_setup_create_reserved(bench_run *r);
int bench_setup_create_reserved_excl(bench_run *r);
int bench_setup_create_sparse(bench_run *r);
int bench_setup_resize_reserved(bench_run *r);
int bench_setup_resize_sparse(bench_run *r);
int bench_batch_create_same(bench_run *r, int side, uint64_t iters, double *sec);
int bench_batch_resize_same(bench_run *r, int side, uint64_t iters, double *sec);
void bench_teardown_create_same(bench_run *r);

#endif /* MMAPIO_BENCH_INTERNAL_H */
