/*
 * bench_workloads.c -- the named benchmark workloads of mmapio-bench.
 *
 * Each workload has a setup (files, maps, raw baselines), a batch function
 * that runs `iters` iterations of one side and returns the seconds they took,
 * and a teardown. "ours" uses only the public API of mmapio.h; "base" is what
 * a user would write with raw system calls. Both sides work on the same kind
 * of file, created the same way, in the same directory.
 *
 * The workloads mirror the benchmark groups of the Rust crate mmap-io
 * (create, read_into, as_slice, random/sequential reads, chunks/pages, touch,
 * atomics, flush policies, resize, advise, COW open) so that results can be
 * compared one to one, plus the speed targets the library promises (see
 * docs/benchmarks.md).
 *
 * Windows: the program compiles with MinGW. Raw baselines use the Win32
 * equivalents (SRW locks, file mappings, FlushViewOfFile, ReadFile);
 * workloads without one (resize via mremap, madvise) report n/a there.
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1 /* mremap, MAP_* and pread with -std=c11 */
#endif

#include "bench_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#else
#  include <fcntl.h>
#  include <pthread.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <time.h>
#  include <unistd.h>
#  ifndef O_CLOEXEC
#    define O_CLOEXEC 0
#  endif
#endif

/* ------------------------------------------------------------------------ */
/* Raw baselines: a file mapped without mmapio                               */
/* ------------------------------------------------------------------------ */

typedef struct raw_file {
#ifdef _WIN32
  HANDLE fh, mh;
#else
  int fd;
#endif
  uint8_t *p;
  size_t len;
} raw_file;

static void raw_init(raw_file *f)
{
  memset(f, 0, sizeof *f);
#ifdef _WIN32
  f->fh = INVALID_HANDLE_VALUE;
  f->mh = NULL;
#else
  f->fd = -1;
#endif
}

static void raw_close(raw_file *f)
{
#ifdef _WIN32
  if (f->p != NULL) UnmapViewOfFile(f->p);
  if (f->mh != NULL) CloseHandle(f->mh);
  if (f->fh != INVALID_HANDLE_VALUE) CloseHandle(f->fh);
#else
  if (f->p != NULL) munmap(f->p, f->len);
  if (f->fd >= 0) close(f->fd);
#endif
  raw_init(f);
}

/* Open `path` (an existing file) and map all of it: read-only, shared
 * writable, or private writable (copy-on-write). map == 0 only opens. */
enum { RAW_RO = 0, RAW_RW = 1, RAW_COW = 2 };
static int raw_open(bench_run *r, raw_file *f, const char *path, int how, int map)
{
  raw_init(f);
#ifdef _WIN32
  {
    LARGE_INTEGER sz;
    DWORD acc = how == RAW_RW ? (GENERIC_READ | GENERIC_WRITE) : GENERIC_READ;
    f->fh = CreateFileA(path, acc, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                        OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (f->fh == INVALID_HANDLE_VALUE) return bench_fail_os(r, "CreateFileA", path);
    if (!GetFileSizeEx(f->fh, &sz)) {
      bench_fail_os(r, "GetFileSizeEx", path);
      raw_close(f);
      return BENCH_RC_ERROR;
    }
    f->len = (size_t)sz.QuadPart;
    if (!map) return BENCH_RC_OK;
    f->mh = CreateFileMappingA(f->fh, NULL,
                               how == RAW_RW ? PAGE_READWRITE : how == RAW_COW ? PAGE_WRITECOPY : PAGE_READONLY,
                               0, 0, NULL);
    if (f->mh == NULL) {
      bench_fail_os(r, "CreateFileMappingA", path);
      raw_close(f);
      return BENCH_RC_ERROR;
    }
    f->p = (uint8_t *)MapViewOfFile(f->mh, how == RAW_RW ? FILE_MAP_WRITE : how == RAW_COW ? FILE_MAP_COPY : FILE_MAP_READ,
                                    0, 0, 0);
    if (f->p == NULL) {
      bench_fail_os(r, "MapViewOfFile", path);
      raw_close(f);
      return BENCH_RC_ERROR;
    }
  }
#else
  {
    struct stat st;
    void *p;
    f->fd = open(path, (how == RAW_RW ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (f->fd < 0) return bench_fail_os(r, "open", path);
    if (fstat(f->fd, &st) != 0) {
      bench_fail_os(r, "fstat", path);
      raw_close(f);
      return BENCH_RC_ERROR;
    }
    f->len = (size_t)st.st_size;
    if (!map) return BENCH_RC_OK;
    p = mmap(NULL, f->len, how == RAW_RO ? PROT_READ : PROT_READ | PROT_WRITE,
             how == RAW_COW ? MAP_PRIVATE : MAP_SHARED, f->fd, 0);
    if (p == MAP_FAILED) {
      bench_fail_os(r, "mmap", path);
      raw_close(f);
      return BENCH_RC_ERROR;
    }
    f->p = (uint8_t *)p;
  }
#endif
  return BENCH_RC_OK;
}

/* A raw reader-writer lock for the view_rw and write_shared baselines. */
#ifdef _WIN32
typedef SRWLOCK raw_rwlock;
static int raw_rwlock_init(raw_rwlock *l) { InitializeSRWLock(l); return 0; }
static void raw_rwlock_destroy(raw_rwlock *l) { (void)l; }
static void raw_rdlock(raw_rwlock *l) { AcquireSRWLockShared(l); }
static void raw_rdunlock(raw_rwlock *l) { ReleaseSRWLockShared(l); }
static void raw_wrlock(raw_rwlock *l) { AcquireSRWLockExclusive(l); }
static void raw_wrunlock(raw_rwlock *l) { ReleaseSRWLockExclusive(l); }
#else
typedef pthread_rwlock_t raw_rwlock;
static int raw_rwlock_init(raw_rwlock *l) { return pthread_rwlock_init(l, NULL); }
static void raw_rwlock_destroy(raw_rwlock *l) { pthread_rwlock_destroy(l); }
static void raw_rdlock(raw_rwlock *l) { pthread_rwlock_rdlock(l); }
static void raw_rdunlock(raw_rwlock *l) { pthread_rwlock_unlock(l); }
static void raw_wrlock(raw_rwlock *l) { pthread_rwlock_wrlock(l); }
static void raw_wrunlock(raw_rwlock *l) { pthread_rwlock_unlock(l); }
#endif

/* ------------------------------------------------------------------------ */
/* Shared workload state                                                     */
/* ------------------------------------------------------------------------ */

/* What a baseline "map object" holds: the bounds check of a raw view reads
 * these from memory each time, as mmapio reads its map's length. */
typedef struct raw_obj {
  const uint8_t *base;
  uint64_t len;
} raw_obj;

/* One state shape serves every workload; teardown releases whatever is set. */
typedef struct wstate {
  char path[1024], path2[1024];
  mmapio_map *m, *m2;
  mmapio_atomic at;
  int have_at;
  raw_file raw;
  raw_rwlock rw;
  int have_rw;
  raw_obj obj;
  uint8_t *buf;
  uint64_t *offs;
  size_t noffs;
  uint64_t size;
  size_t chunk;
  uint64_t sink;
  mmapio_map **ms;   /* many-maps workloads */
  size_t nms;
  raw_obj *objs;
  void **keep;       /* thread churn: allocations kept alive */
  size_t nkeep;
  void *rawfl;       /* millis_rewrite: the raw reference's msync thread */
} wstate;

static wstate *ws_new(bench_run *r)
{
  wstate *s = (wstate *)calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(r->error, sizeof r->error, "out of memory");
    return NULL;
  }
  raw_init(&s->raw);
  r->state = s;
  return s;
}

static void raw_flusher_stop(wstate *s);

static void ws_teardown(bench_run *r)
{
  wstate *s = (wstate *)r->state;
  if (s == NULL) return;
  if (s->have_at) mmapio_atomic_release(&s->at);
  if (s->m != NULL) mmapio_close(s->m);
  if (s->m2 != NULL) mmapio_close(s->m2);
  for (size_t k = 0; k < s->nms; k++)
    if (s->ms[k] != NULL) mmapio_close(s->ms[k]);
  free(s->ms);
  free(s->objs);
  for (size_t k = 0; k < s->nkeep; k++) free(s->keep[k]);
  free(s->keep);
  raw_flusher_stop(s);
  raw_close(&s->raw);
  if (s->have_rw) raw_rwlock_destroy(&s->rw);
  bench_remove(s->path);
  bench_remove(s->path2);
  BENCH_ESCAPE(&s->sink);
  free(s->buf);
  free(s->offs);
  free(s);
  r->state = NULL;
}

/* Create `path` with `size` bytes through mmapio (so both sides get the same
 * kind of file: blocks reserved unless --sparse), optionally filled with a
 * byte pattern and flushed so that later timings see clean pages. */
static int make_file(bench_run *r, const char *path, uint64_t size, int fill)
{
  mmapio_options o;
  mmapio_map *m = NULL;
  int rc;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | (r->cfg->sparse ? MMAPIO_OPEN_SPARSE : 0u);
  o.size = size;
  rc = mmapio_open(&m, path, &o);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_open(create)", rc);
  if (fill) {
    uint8_t *p = (uint8_t *)mmapio_unsafe_ptr(m);
    uint64_t i;
    for (i = 0; i < size; i++) p[i] = (uint8_t)(i * 131u + 7u);
    rc = mmapio_flush(m);
    if (rc != MMAPIO_OK) {
      mmapio_close(m);
      return bench_fail(r, "mmapio_flush", rc);
    }
  }
  rc = mmapio_close(m);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_close", rc);
  return BENCH_RC_OK;
}

static int open_mode(bench_run *r, mmapio_map **out, const char *path, mmapio_mode mode)
{
  int rc;
  switch (mode) {
  case MMAPIO_MODE_READ_ONLY: rc = mmapio_open_ro(out, path); break;
  case MMAPIO_MODE_COPY_ON_WRITE: rc = mmapio_open_cow(out, path); break;
  default: rc = mmapio_open_rw(out, path); break;
  }
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_open", rc);
  return BENCH_RC_OK;
}

/* The common setup: one filled file of `size` bytes, opened through mmapio in
 * `mode` and mapped raw (`raw_how`, or not at all with -1). */
static int setup_file_pair(bench_run *r, const char *tag, uint64_t size, mmapio_mode mode, int raw_how,
                           wstate **out)
{
  wstate *s = ws_new(r);
  int rc;
  if (s == NULL) return BENCH_RC_ERROR;
  s->size = size;
  bench_path(s->path, sizeof s->path, r->cfg, tag);
  rc = make_file(r, s->path, size, 1);
  if (rc != BENCH_RC_OK) return rc;
  rc = open_mode(r, &s->m, s->path, mode);
  if (rc != BENCH_RC_OK) return rc;
  if (raw_how >= 0) {
    rc = raw_open(r, &s->raw, s->path, raw_how, 1);
    if (rc != BENCH_RC_OK) return rc;
    s->obj.base = s->raw.p;
    s->obj.len = s->raw.len;
  }
  *out = s;
  return BENCH_RC_OK;
}

#define WS(r) ((wstate *)(r)->state)

static size_t page_size(void) { return mmapio_page_size(); }

/* ------------------------------------------------------------------------ */
/* view_rw, view_ro: view get + release vs rwlock / bounds check             */
/* ------------------------------------------------------------------------ */

static int setup_view(bench_run *r, mmapio_mode mode, const char *tag)
{
  wstate *s;
  int rc = setup_file_pair(r, tag, BENCH_MIB, mode, RAW_RO, &s);
  if (rc != BENCH_RC_OK) return rc;
  if (raw_rwlock_init(&s->rw) != 0) return bench_fail_os(r, "pthread_rwlock_init", NULL);
  s->have_rw = 1;
  r->min_iters = r->cfg->smoke ? 1000 : 10000000;
  snprintf(r->note, sizeof r->note, "%s map of 1 MiB, 64-byte views at offset 4096",
           mode == MMAPIO_MODE_READ_ONLY ? "RO" : "RW");
  return BENCH_RC_OK;
}

static int setup_view_rw(bench_run *r) { return setup_view(r, MMAPIO_MODE_READ_WRITE, "view_rw"); }
static int setup_view_ro(bench_run *r) { return setup_view(r, MMAPIO_MODE_READ_ONLY, "view_ro"); }

static int batch_view_ours(bench_run *r, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  mmapio_map *m = s->m;
  uint64_t off = 4096, len = 64, i;
  double t0;
  BENCH_OPAQUE(off);
  BENCH_OPAQUE(len);
  t0 = bench_now();
  for (i = 0; i < iters; i++) {
    mmapio_view v;
    int rc = mmapio_view_get(&v, m, off, len);
    if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_view_get", rc);
    BENCH_ESCAPE(v.data);
    mmapio_view_release(&v);
    BENCH_BARRIER();
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* The baseline "view": lock (or not), check bounds against the object's
 * length read from memory, form the pointer, unlock. */
static int batch_view_base(bench_run *r, int locked, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  raw_obj *o = &s->obj;
  uint64_t off = 4096, len = 64, i;
  double t0;
  BENCH_OPAQUE(off);
  BENCH_OPAQUE(len);
  BENCH_ESCAPE(o);
  t0 = bench_now();
  if (locked) {
    for (i = 0; i < iters; i++) {
      raw_rdlock(&s->rw);
      if (!(off <= o->len && len <= o->len - off)) {
        raw_rdunlock(&s->rw);
        snprintf(r->error, sizeof r->error, "baseline bounds check failed");
        return BENCH_RC_ERROR;
      }
      BENCH_ESCAPE(o->base + off);
      raw_rdunlock(&s->rw);
      BENCH_BARRIER();
    }
  } else {
    for (i = 0; i < iters; i++) {
      if (!(off <= o->len && len <= o->len - off)) {
        snprintf(r->error, sizeof r->error, "baseline bounds check failed");
        return BENCH_RC_ERROR;
      }
      BENCH_ESCAPE(o->base + off);
      BENCH_BARRIER();
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

static int batch_view_rw(bench_run *r, int side, uint64_t iters, double *sec)
{
  return side == BENCH_OURS ? batch_view_ours(r, iters, sec) : batch_view_base(r, 1, iters, sec);
}

static int batch_view_ro(bench_run *r, int side, uint64_t iters, double *sec)
{
  return side == BENCH_OURS ? batch_view_ours(r, iters, sec) : batch_view_base(r, 0, iters, sec);
}

/* ------------------------------------------------------------------------ */
/* read_1m: mmapio_read of 1 MiB vs memcpy from a raw mapping                */
/* ------------------------------------------------------------------------ */

static int setup_read_1m(bench_run *r)
{
  wstate *s;
  int rc = setup_file_pair(r, "read_1m", BENCH_MIB, MMAPIO_MODE_READ_WRITE, RAW_RO, &s);
  if (rc != BENCH_RC_OK) return rc;
  s->buf = (uint8_t *)malloc((size_t)BENCH_MIB);
  if (s->buf == NULL) return bench_fail_os(r, "malloc", NULL);
  memset(s->buf, 1, (size_t)BENCH_MIB);
  r->bytes_per_op = (double)BENCH_MIB;
  snprintf(r->note, sizeof r->note, "RW map of 1 MiB (takes the shared lock), warm page cache");
  return BENCH_RC_OK;
}

static int batch_read_1m(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i;
  double t0 = bench_now();
  if (side == BENCH_OURS) {
    for (i = 0; i < iters; i++) {
      int rc = mmapio_read(s->m, 0, s->buf, (size_t)BENCH_MIB);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_read", rc);
      BENCH_ESCAPE(s->buf);
    }
  } else {
    for (i = 0; i < iters; i++) {
      BENCH_ESCAPE(s->obj.base);
      memcpy(s->buf, s->obj.base, (size_t)BENCH_MIB);
      BENCH_ESCAPE(s->buf);
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* scan_views: sum of bytes through 64 KiB views vs a raw-pointer scan       */
/* ------------------------------------------------------------------------ */

static int setup_scan_views(bench_run *r)
{
  wstate *s;
  uint64_t size = r->cfg->smoke ? BENCH_MIB : 16 * BENCH_MIB;
  int rc = setup_file_pair(r, "scan_views", size, MMAPIO_MODE_READ_WRITE, RAW_RO, &s);
  if (rc != BENCH_RC_OK) return rc;
  s->chunk = (size_t)(64 * BENCH_KIB);
  r->bytes_per_op = (double)size;
  snprintf(r->note, sizeof r->note,
           "RW map of %llu MiB; ours: one view per 64 KiB; base: one pass over the raw mapping",
           (unsigned long long)(size / BENCH_MIB));
  return BENCH_RC_OK;
}

static int batch_scan_views(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i, sum = 0;
  double t0 = bench_now();
  if (side == BENCH_OURS) {
    for (i = 0; i < iters; i++) {
      uint64_t off;
      for (off = 0; off < s->size; off += s->chunk) {
        mmapio_view v;
        uint64_t n = s->size - off < s->chunk ? s->size - off : s->chunk;
        int rc = mmapio_view_get(&v, s->m, off, n);
        if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_view_get", rc);
        sum += bench_sum(v.data, v.len);
        mmapio_view_release(&v);
      }
    }
  } else {
    for (i = 0; i < iters; i++) {
      BENCH_ESCAPE(s->obj.base);
      sum += bench_sum(s->obj.base, (size_t)s->obj.len);
    }
  }
  *sec = bench_now() - t0;
  s->sink += sum;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* flush_page: dirty one page, mmapio_flush vs msync(MS_SYNC) of that page   */
/* ------------------------------------------------------------------------ */

static int setup_flush_page(bench_run *r)
{
  wstate *s = ws_new(r);
  int rc;
  if (s == NULL) return BENCH_RC_ERROR;
  r->io_bound = 1;
  s->size = BENCH_MIB;
  bench_path(s->path, sizeof s->path, r->cfg, "flush_ours");
  bench_path(s->path2, sizeof s->path2, r->cfg, "flush_base");
  rc = make_file(r, s->path, s->size, 1);
  if (rc == BENCH_RC_OK) rc = make_file(r, s->path2, s->size, 1);
  if (rc == BENCH_RC_OK) rc = open_mode(r, &s->m, s->path, MMAPIO_MODE_READ_WRITE);
  if (rc == BENCH_RC_OK) rc = raw_open(r, &s->raw, s->path2, RAW_RW, 1);
  if (rc != BENCH_RC_OK) return rc;
  r->max_iters = r->cfg->smoke ? 4 : 2000;
  if (!r->cfg->smoke && r->cfg->min_time < 0.2) r->min_time = 0.2;
  snprintf(r->note, sizeof r->note,
           "two 1 MiB files in %s (%s%s); ours flushes the whole map (durability DATA), base msyncs the page",
           r->cfg->dir, r->cfg->fs_name, r->cfg->fs_is_memory ? ": memory, NOT a disk" : "");
  return BENCH_RC_OK;
}

static int batch_flush_page(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  const uint64_t off = 64 * BENCH_KIB; /* page aligned on every supported OS */
  uint64_t i;
  double t0 = bench_now();
  for (i = 0; i < iters; i++) {
    uint8_t b = (uint8_t)(i + 1u + (uint64_t)side * 7u);
    if (side == BENCH_OURS) {
      int rc = mmapio_write(s->m, off, &b, 1);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_write", rc);
      rc = mmapio_flush(s->m);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_flush", rc);
    } else {
      s->raw.p[off] = b;
#ifdef _WIN32
      if (!FlushViewOfFile(s->raw.p + off, page_size())) return bench_fail_os(r, "FlushViewOfFile", s->path2);
      if (!FlushFileBuffers(s->raw.fh)) return bench_fail_os(r, "FlushFileBuffers", s->path2);
#else
      if (msync(s->raw.p + off, page_size(), MS_SYNC) != 0) return bench_fail_os(r, "msync", s->path2);
#endif
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* millis_writes: a sequential stream of 64 KiB writes under EVERY_MILLIS(10)
 * vs the raw reference with the same guarantee (memcpy into a raw mapping
 * while a raw thread calls msync(MS_SYNC) every 10 ms). Each iteration
 * writes a freshly created file once from start to end, so the background
 * flusher cleans pages the writer has finished with.
 * millis_rewrite: the worst case, rewriting the same 16 MiB over and over,
 * so that nearly every write lands on a page the flusher has just cleaned
 * (the kernel write-protects cleaned pages: each rewrite faults again),
 * against the same raw reference rewriting its own 16 MiB.
 * millis_raw: the cost of the reference itself (with vs without its msync
 * thread). */
/* ------------------------------------------------------------------------ */
/* The raw reference's flusher: sleep 10 ms, msync(MS_SYNC) the whole
 * mapping, again (so the period counts from the end of each msync, as
 * mmapio's flusher counts it). */
#if !defined(_WIN32)
typedef struct raw_flusher {
  uint8_t *p;
  size_t len;
  int stop;   /* atomic */
  int failed; /* atomic */
} raw_flusher;

static void *raw_flusher_main(void *arg)
{
  raw_flusher *f = (raw_flusher *)arg;
  while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = 10 * 1000 * 1000;
    nanosleep(&ts, NULL);
    if (msync(f->p, f->len, MS_SYNC) != 0) __atomic_store_n(&f->failed, 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* A reference thread that runs from set-up to teardown (millis_rewrite),
 * as mmapio's flusher does for an open map. */
typedef struct raw_flusher_th {
  raw_flusher f;
  pthread_t th;
} raw_flusher_th;

static int raw_flusher_start(bench_run *r, wstate *s, uint8_t *p, size_t len)
{
  raw_flusher_th *t = (raw_flusher_th *)calloc(1, sizeof *t);
  if (t == NULL) return bench_fail_os(r, "calloc", NULL);
  t->f.p = p;
  t->f.len = len;
  if (pthread_create(&t->th, NULL, raw_flusher_main, &t->f) != 0) {
    free(t);
    return bench_fail_os(r, "pthread_create", NULL);
  }
  s->rawfl = t;
  return BENCH_RC_OK;
}
#endif

static void raw_flusher_stop(wstate *s)
{
#if !defined(_WIN32)
  raw_flusher_th *t = (raw_flusher_th *)s->rawfl;
  if (t == NULL) return;
  __atomic_store_n(&t->f.stop, 1, __ATOMIC_RELEASE);
  pthread_join(t->th, NULL);
  free(t);
#endif
  s->rawfl = NULL;
}


static int open_with_policy(bench_run *r, mmapio_map **out, const char *path, uint64_t size,
                            mmapio_flush_kind kind, uint64_t every)
{
  mmapio_options o;
  int rc;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | (r->cfg->sparse ? MMAPIO_OPEN_SPARSE : 0u);
  o.size = size;
  o.flush_policy.kind = kind;
  o.flush_policy.every = every;
  rc = mmapio_open(out, path, &o);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_open", rc);
  return BENCH_RC_OK;
}

static int setup_millis_common(bench_run *r, int rewrite)
{
  wstate *s = ws_new(r);
  uint64_t size;
  int rc;
  size_t i;
  if (s == NULL) return BENCH_RC_ERROR;
  r->io_bound = 1;
  if (rewrite) size = r->cfg->smoke ? BENCH_MIB : 16 * BENCH_MIB;
  else size = r->cfg->smoke ? 2 * BENCH_MIB : 64 * BENCH_MIB;
  s->size = size;
  s->chunk = (size_t)(64 * BENCH_KIB);
  bench_path(s->path, sizeof s->path, r->cfg, rewrite ? "millis_rw_ours" : "millis_ours");
  bench_path(s->path2, sizeof s->path2, r->cfg, rewrite ? "millis_rw_base" : "millis_base");
  if (rewrite) {
    rc = open_with_policy(r, &s->m, s->path, size, MMAPIO_FLUSH_EVERY_MILLIS, 10);
#if defined(_WIN32)
    if (rc == BENCH_RC_OK) rc = open_with_policy(r, &s->m2, s->path2, size, MMAPIO_FLUSH_MANUAL, 0);
#else
    /* The raw reference: a file made like mmapio makes it, a raw mapping
     * and a raw msync(MS_SYNC) thread every 10 ms. */
    if (rc == BENCH_RC_OK) rc = make_file(r, s->path2, size, 0);
    if (rc == BENCH_RC_OK) rc = raw_open(r, &s->raw, s->path2, RAW_RW, 1);
    if (rc == BENCH_RC_OK) rc = raw_flusher_start(r, s, s->raw.p, s->raw.len);
#endif
    if (rc != BENCH_RC_OK) return rc;
  }
  s->buf = (uint8_t *)malloc(s->chunk);
  if (s->buf == NULL) return bench_fail_os(r, "malloc", NULL);
  for (i = 0; i < s->chunk; i++) s->buf[i] = (uint8_t)(i * 7u + 1u);
  r->bytes_per_op = (double)size;
  if (!r->cfg->smoke && r->cfg->min_time < 0.2) r->min_time = 0.2; /* >= 20 flush periods */
  if (!rewrite) {
    r->max_iters = r->cfg->smoke ? 2 : 64;
    /* A pass lasts a few flush periods; the slow first pass of the
     * calibration would otherwise leave one pass per batch. */
    if (!r->cfg->smoke) r->min_iters = 4;
  }
  snprintf(r->note, sizeof r->note,
           rewrite ? "two maps of %llu MiB in %s (%s), rewritten again and again in 64 KiB "
                     "steps; baseline = memcpy into a raw mapping + a raw msync(MS_SYNC) thread "
                     "every 10 ms (Windows: policy MANUAL)"
                   : "a fresh %llu MiB file per pass in %s (%s; created untimed), written once "
                     "front to back in 64 KiB mmapio_write calls; baseline = memcpy into a raw "
                     "mapping + a raw msync(MS_SYNC) thread every 10 ms",
           (unsigned long long)(size / BENCH_MIB), r->cfg->dir, r->cfg->fs_name);
  return BENCH_RC_OK;
}

static int setup_millis_writes(bench_run *r) { return setup_millis_common(r, 0); }
static int setup_millis_rewrite(bench_run *r) { return setup_millis_common(r, 1); }

static int write_pass(bench_run *r, wstate *s, mmapio_map *m)
{
  uint64_t off;
  for (off = 0; off < s->size; off += s->chunk) {
    int rc = mmapio_write(m, off, s->buf, s->chunk);
    if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_write", rc);
  }
  return BENCH_RC_OK;
}

static int raw_millis_passes(bench_run *r, const char *path, int with_thread, uint64_t iters,
                             double *sec);

/* The baseline is the raw reference with the same guarantee: memcpy into a
 * raw mapping of a fresh file (blocks reserved) while a raw thread calls
 * msync(MS_SYNC) every 10 ms (see millis_raw); MANUAL where that reference
 * is not available (Windows). */
static int batch_millis_writes(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i;
  double total = 0.0;
#if !defined(_WIN32)
  if (side != BENCH_OURS) return raw_millis_passes(r, s->path2, 1, iters, sec);
#endif
  for (i = 0; i < iters; i++) {
    mmapio_map *m = NULL;
    double t0;
    int rc = side == BENCH_OURS
                 ? open_with_policy(r, &m, s->path, s->size, MMAPIO_FLUSH_EVERY_MILLIS, 10)
                 : open_with_policy(r, &m, s->path2, s->size, MMAPIO_FLUSH_MANUAL, 0);
    if (rc != BENCH_RC_OK) return rc;
    s->buf[0] = (uint8_t)i;
    t0 = bench_now();
    rc = write_pass(r, s, m);
    total += bench_now() - t0;
    /* Closing the EVERY_MILLIS map flushes what is still pending (untimed). */
    {
      int crc = mmapio_close(m);
      if (crc != MMAPIO_OK && rc == BENCH_RC_OK) rc = bench_fail(r, "mmapio_close", crc);
    }
    if (rc != BENCH_RC_OK) return rc;
  }
  *sec = total;
  return BENCH_RC_OK;
}

static int batch_millis_rewrite(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i;
  double t0 = bench_now();
  for (i = 0; i < iters; i++) {
    int rc;
    s->buf[0] = (uint8_t)i;
#if !defined(_WIN32)
    if (side != BENCH_OURS) {
      uint64_t off;
      for (off = 0; off < s->size; off += s->chunk) memcpy(s->raw.p + off, s->buf, s->chunk);
      if (__atomic_load_n(&((raw_flusher_th *)s->rawfl)->f.failed, __ATOMIC_ACQUIRE))
        return bench_fail_os(r, "msync", s->path2);
      continue;
    }
#endif
    rc = write_pass(r, s, side == BENCH_OURS ? s->m : s->m2);
    if (rc != BENCH_RC_OK) return rc;
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

static int setup_millis_raw(bench_run *r)
{
#if defined(_WIN32)
  snprintf(r->note, sizeof r->note, "POSIX only (raw msync thread)");
  return BENCH_RC_NA;
#else
  wstate *s = ws_new(r);
  size_t i;
  if (s == NULL) return BENCH_RC_ERROR;
  r->io_bound = 1;
  s->size = r->cfg->smoke ? 2 * BENCH_MIB : 64 * BENCH_MIB;
  s->chunk = (size_t)(64 * BENCH_KIB);
  bench_path(s->path, sizeof s->path, r->cfg, "millis_raw");
  s->buf = (uint8_t *)malloc(s->chunk);
  if (s->buf == NULL) return bench_fail_os(r, "malloc", NULL);
  for (i = 0; i < s->chunk; i++) s->buf[i] = (uint8_t)(i * 7u + 1u);
  r->bytes_per_op = (double)s->size;
  if (!r->cfg->smoke && r->cfg->min_time < 0.2) r->min_time = 0.2;
  r->max_iters = r->cfg->smoke ? 2 : 64;
  if (!r->cfg->smoke) r->min_iters = 4; /* as millis_writes */
  snprintf(r->note, sizeof r->note,
           "reference without mmapio: a fresh %llu MiB file per pass (created like mmapio does, "
           "blocks reserved), memcpy in 64 KiB steps into a raw mapping",
           (unsigned long long)(s->size / BENCH_MIB));
  return BENCH_RC_OK;
#endif
}

static int raw_millis_passes(bench_run *r, const char *path, int with_thread, uint64_t iters,
                             double *sec)
{
#if defined(_WIN32)
  (void)r;
  (void)path;
  (void)with_thread;
  (void)iters;
  (void)sec;
  return BENCH_RC_NA;
#else
  wstate *s = WS(r);
  uint64_t i, off;
  double total = 0.0;
  for (i = 0; i < iters; i++) {
    raw_file f;
    raw_flusher fl;
    pthread_t th;
    double t0;
    int rc = make_file(r, path, s->size, 0);
    if (rc != BENCH_RC_OK) return rc;
    rc = raw_open(r, &f, path, RAW_RW, 1);
    if (rc != BENCH_RC_OK) return rc;
    fl.p = f.p;
    fl.len = f.len;
    fl.stop = 0;
    fl.failed = 0;
    if (with_thread && pthread_create(&th, NULL, raw_flusher_main, &fl) != 0) {
      raw_close(&f);
      return bench_fail_os(r, "pthread_create", NULL);
    }
    s->buf[0] = (uint8_t)i;
    t0 = bench_now();
    for (off = 0; off < s->size; off += s->chunk) memcpy(f.p + off, s->buf, s->chunk);
    total += bench_now() - t0;
    if (with_thread) {
      __atomic_store_n(&fl.stop, 1, __ATOMIC_RELEASE);
      pthread_join(th, NULL);
    }
    raw_close(&f);
    if (fl.failed) return bench_fail_os(r, "msync", path);
  }
  *sec = total;
  return BENCH_RC_OK;
#endif
}

static int batch_millis_raw(bench_run *r, int side, uint64_t iters, double *sec)
{
  return raw_millis_passes(r, WS(r)->path, side == BENCH_OURS, iters, sec);
}

/* ------------------------------------------------------------------------ */
/* chunks_4k, chunks_64k: mmapio_chunks vs a raw pointer loop                */
/* ------------------------------------------------------------------------ */

static int setup_chunks(bench_run *r, size_t chunk, const char *tag)
{
  wstate *s;
  mmapio_iter it;
  uint64_t size = r->cfg->smoke ? BENCH_MIB : 16 * BENCH_MIB;
  int rc = setup_file_pair(r, tag, size, MMAPIO_MODE_READ_WRITE, RAW_RO, &s);
  if (rc != BENCH_RC_OK) return rc;
  s->chunk = chunk;
  rc = mmapio_chunks(&it, s->m, chunk);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_chunks", rc);
  mmapio_iter_end(&it);
  r->bytes_per_op = (double)size;
  snprintf(r->note, sizeof r->note,
           "RW map of %llu MiB, sum of bytes per chunk; base steps a raw pointer by the same chunk size",
           (unsigned long long)(size / BENCH_MIB));
  return BENCH_RC_OK;
}

static int setup_chunks_4k(bench_run *r) { return setup_chunks(r, (size_t)(4 * BENCH_KIB), "chunks_4k"); }
static int setup_chunks_64k(bench_run *r) { return setup_chunks(r, (size_t)(64 * BENCH_KIB), "chunks_64k"); }

static int batch_chunks(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i, sum = 0;
  double t0 = bench_now();
  if (side == BENCH_OURS) {
    for (i = 0; i < iters; i++) {
      mmapio_iter it;
      mmapio_chunk c;
      int rc = mmapio_chunks(&it, s->m, s->chunk);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_chunks", rc);
      while ((rc = mmapio_iter_next(&c, &it)) == 1) sum += bench_sum(c.data, c.len);
      mmapio_iter_end(&it);
      if (rc < 0) return bench_fail(r, "mmapio_iter_next", rc);
    }
  } else {
    for (i = 0; i < iters; i++) {
      const uint8_t *p = s->obj.base;
      uint64_t len = s->obj.len, off;
      BENCH_ESCAPE(p);
      for (off = 0; off < len; off += s->chunk) {
        uint64_t n = len - off < s->chunk ? len - off : s->chunk;
        sum += bench_sum(p + off, (size_t)n);
      }
    }
  }
  *sec = bench_now() - t0;
  s->sink += sum;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* atomic_add: fetch_add through an atomic view vs a raw atomic              */
/* ------------------------------------------------------------------------ */

static int setup_atomic_add(bench_run *r)
{
  wstate *s;
  int rc = setup_file_pair(r, "atomic_add", 64 * BENCH_KIB, MMAPIO_MODE_READ_WRITE, RAW_RW, &s);
  if (rc != BENCH_RC_OK) return rc;
  rc = mmapio_atomic_u64(&s->at, s->m, 0);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_atomic_u64", rc);
  s->have_at = 1;
  r->min_iters = r->cfg->smoke ? 1000 : 10000000;
  snprintf(r->note, sizeof r->note,
           "one thread, SEQ_CST; ours: cell 0 of an atomic view, base: cell 8 of a raw shared mapping");
  return BENCH_RC_OK;
}

static int batch_atomic_add(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i;
  double t0;
  if (side == BENCH_OURS) {
    uint64_t *p = (uint64_t *)s->at.ptr;
    t0 = bench_now();
    for (i = 0; i < iters; i++) {
      (void)mmapio_fetch_add_u64(p, 1, MMAPIO_ORDER_SEQ_CST);
      BENCH_BARRIER();
    }
  } else {
    uint64_t *p = (uint64_t *)(void *)(s->raw.p + 64);
    t0 = bench_now();
    for (i = 0; i < iters; i++) {
#if defined(__GNUC__) || defined(__clang__)
      (void)__atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST);
#else
      (void)InterlockedExchangeAdd64((volatile LONG64 *)p, 1);
#endif
      BENCH_BARRIER();
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* touch_1g: mmapio_touch of a warm map vs a raw page-stride read loop       */
/* ------------------------------------------------------------------------ */

static uint64_t raw_touch(const raw_file *f)
{
  const volatile uint8_t *p = f->p;
  size_t ps = page_size(), off;
  uint64_t sum = 0;
  for (off = 0; off < f->len; off += ps) sum += p[off];
  return sum;
}

static int setup_touch(bench_run *r)
{
  wstate *s = ws_new(r);
  uint64_t size = r->cfg->touch_size;
  int rc;
  if (s == NULL) return BENCH_RC_ERROR;
  s->size = size;
  bench_path(s->path, sizeof s->path, r->cfg, "touch");
  /* Not filled: the pages of a fresh file read as zeros and stay clean, so
   * no gigabyte of writeback competes with the other workloads. */
  rc = make_file(r, s->path, size, 0);
  if (rc == BENCH_RC_OK) rc = open_mode(r, &s->m, s->path, MMAPIO_MODE_READ_ONLY);
  if (rc == BENCH_RC_OK) rc = raw_open(r, &s->raw, s->path, RAW_RO, 1);
  if (rc != BENCH_RC_OK) return rc;
  /* Warm both: page cache filled and both mappings' page tables populated. */
  rc = mmapio_touch(s->m);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_touch", rc);
  s->sink += raw_touch(&s->raw);
  r->max_iters = 1000;
  snprintf(r->note, sizeof r->note, "RO map of %llu MiB, touched once before timing (warm)",
           (unsigned long long)(size / BENCH_MIB));
  return BENCH_RC_OK;
}

static int batch_touch(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i;
  double t0 = bench_now();
  for (i = 0; i < iters; i++) {
    if (side == BENCH_OURS) {
      int rc = mmapio_touch(s->m);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_touch", rc);
    } else {
      s->sink += raw_touch(&s->raw);
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* create: mmapio_create_rw + close vs open + ftruncate + mmap + munmap      */
/* ------------------------------------------------------------------------ */

static int setup_create(bench_run *r)
{
  wstate *s = ws_new(r);
  if (s == NULL) return BENCH_RC_ERROR;
  r->io_bound = 1;
  s->size = r->cfg->smoke ? 64 * BENCH_KIB : BENCH_MIB;
  bench_path(s->path, sizeof s->path, r->cfg, "create_ours");
  bench_path(s->path2, sizeof s->path2, r->cfg, "create_base");
  r->max_iters = 100000;
  snprintf(r->note, sizeof r->note,
           "%llu KiB file, created or truncated each time; ours %s, base is sparse (ftruncate only)",
           (unsigned long long)(s->size / BENCH_KIB),
           r->cfg->sparse ? "with MMAPIO_OPEN_SPARSE" : "reserves the disk blocks (fallocate)");
  return BENCH_RC_OK;
}

static int batch_create(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i;
  double t0 = bench_now();
  for (i = 0; i < iters; i++) {
    if (side == BENCH_OURS) {
      mmapio_map *m = NULL;
      int rc;
      if (r->cfg->sparse) {
        mmapio_options o;
        mmapio_options_init(&o);
        o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE;
        o.size = s->size;
        rc = mmapio_open(&m, s->path, &o);
      } else {
        rc = mmapio_create_rw(&m, s->path, s->size);
      }
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_create_rw", rc);
      rc = mmapio_close(m);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_close", rc);
    } else {
#ifdef _WIN32
      LARGE_INTEGER li;
      HANDLE fh = CreateFileA(s->path2, GENERIC_READ | GENERIC_WRITE,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, CREATE_ALWAYS,
                              FILE_ATTRIBUTE_NORMAL, NULL);
      HANDLE mh;
      void *p;
      if (fh == INVALID_HANDLE_VALUE) return bench_fail_os(r, "CreateFileA", s->path2);
      li.QuadPart = (LONGLONG)s->size;
      if (!SetFilePointerEx(fh, li, NULL, FILE_BEGIN) || !SetEndOfFile(fh)) {
        CloseHandle(fh);
        return bench_fail_os(r, "SetEndOfFile", s->path2);
      }
      mh = CreateFileMappingA(fh, NULL, PAGE_READWRITE, 0, 0, NULL);
      if (mh == NULL) {
        CloseHandle(fh);
        return bench_fail_os(r, "CreateFileMappingA", s->path2);
      }
      p = MapViewOfFile(mh, FILE_MAP_WRITE, 0, 0, 0);
      if (p == NULL) {
        CloseHandle(mh);
        CloseHandle(fh);
        return bench_fail_os(r, "MapViewOfFile", s->path2);
      }
      UnmapViewOfFile(p);
      CloseHandle(mh);
      CloseHandle(fh);
#else
      void *p;
      int fd = open(s->path2, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
      if (fd < 0) return bench_fail_os(r, "open", s->path2);
      if (ftruncate(fd, (off_t)s->size) != 0) {
        close(fd);
        return bench_fail_os(r, "ftruncate", s->path2);
      }
      p = mmap(NULL, (size_t)s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) {
        close(fd);
        return bench_fail_os(r, "mmap", s->path2);
      }
      munmap(p, (size_t)s->size);
      close(fd);
#endif
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* random_reads, seq_reads: mmapio_read vs pread / read                      */
/* ------------------------------------------------------------------------ */

static int setup_reads(bench_run *r, const char *tag, int random)
{
  wstate *s;
  uint64_t size = r->cfg->smoke ? BENCH_MIB : 16 * BENCH_MIB;
  size_t bs = random ? (size_t)(4 * BENCH_KIB) : (size_t)(64 * BENCH_KIB);
  int rc = setup_file_pair(r, tag, size, MMAPIO_MODE_READ_ONLY, RAW_RO, &s);
  if (rc != BENCH_RC_OK) return rc;
  s->chunk = bs;
  s->buf = (uint8_t *)malloc(bs);
  if (s->buf == NULL) return bench_fail_os(r, "malloc", NULL);
  memset(s->buf, 0, bs);
  if (random) {
    uint64_t x = 0x9E3779B97F4A7C15ull, npages = size / bs;
    size_t i;
    s->noffs = 4096;
    s->offs = (uint64_t *)malloc(s->noffs * sizeof *s->offs);
    if (s->offs == NULL) return bench_fail_os(r, "malloc", NULL);
    for (i = 0; i < s->noffs; i++) {
      /* xorshift64: a fixed sequence, the same for both sides. */
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      s->offs[i] = (x % npages) * bs;
    }
    r->min_iters = r->cfg->smoke ? 100 : 4096;
  } else {
    r->bytes_per_op = (double)size;
  }
  snprintf(r->note, sizeof r->note, "RO map of %llu MiB, warm page cache, %s KiB reads",
           (unsigned long long)(size / BENCH_MIB), random ? "4" : "64 sequential");
  return BENCH_RC_OK;
}

static int setup_random_reads(bench_run *r) { return setup_reads(r, "random_reads", 1); }
static int setup_seq_reads(bench_run *r) { return setup_reads(r, "seq_reads", 0); }

static int raw_pread(bench_run *r, raw_file *f, void *buf, size_t len, uint64_t off)
{
#ifdef _WIN32
  OVERLAPPED ov;
  DWORD got = 0;
  memset(&ov, 0, sizeof ov);
  ov.Offset = (DWORD)(off & 0xFFFFFFFFu);
  ov.OffsetHigh = (DWORD)(off >> 32);
  if (!ReadFile(f->fh, buf, (DWORD)len, &got, &ov) || got != len) return bench_fail_os(r, "ReadFile", NULL);
#else
  ssize_t got = pread(f->fd, buf, len, (off_t)off);
  if (got != (ssize_t)len) return bench_fail_os(r, "pread", NULL);
#endif
  return BENCH_RC_OK;
}

static int batch_random_reads(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i;
  size_t mask = s->noffs - 1; /* noffs is a power of two */
  double t0 = bench_now();
  for (i = 0; i < iters; i++) {
    uint64_t off = s->offs[i & mask];
    if (side == BENCH_OURS) {
      int rc = mmapio_read(s->m, off, s->buf, s->chunk);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_read", rc);
    } else {
      int rc = raw_pread(r, &s->raw, s->buf, s->chunk, off);
      if (rc != BENCH_RC_OK) return rc;
    }
    BENCH_ESCAPE(s->buf);
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

static int batch_seq_reads(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i, off;
  double t0 = bench_now();
  for (i = 0; i < iters; i++) {
    if (side == BENCH_OURS) {
      for (off = 0; off < s->size; off += s->chunk) {
        int rc = mmapio_read(s->m, off, s->buf, s->chunk);
        if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_read", rc);
        BENCH_ESCAPE(s->buf);
      }
    } else {
#ifdef _WIN32
      LARGE_INTEGER zero;
      zero.QuadPart = 0;
      if (!SetFilePointerEx(s->raw.fh, zero, NULL, FILE_BEGIN)) return bench_fail_os(r, "SetFilePointerEx", s->path);
      for (;;) {
        DWORD got = 0;
        if (!ReadFile(s->raw.fh, s->buf, (DWORD)s->chunk, &got, NULL)) return bench_fail_os(r, "ReadFile", s->path);
        if (got == 0) break;
        BENCH_ESCAPE(s->buf);
      }
#else
      if (lseek(s->raw.fd, 0, SEEK_SET) != 0) return bench_fail_os(r, "lseek", s->path);
      for (;;) {
        ssize_t got = read(s->raw.fd, s->buf, s->chunk);
        if (got < 0) return bench_fail_os(r, "read", s->path);
        if (got == 0) break;
        BENCH_ESCAPE(s->buf);
      }
#endif
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* resize, resize_inplace: grow 1 MiB -> 9 MiB vs ftruncate + mremap         */
/* ------------------------------------------------------------------------ */

#define RESIZE_STEPS 8u

static int setup_resize_common(bench_run *r, int inplace)
{
#if defined(__linux__)
  wstate *s = ws_new(r);
  if (s == NULL) return BENCH_RC_ERROR;
  r->io_bound = 1;
  bench_path(s->path, sizeof s->path, r->cfg, inplace ? "resize_inplace_ours" : "resize_ours");
  bench_path(s->path2, sizeof s->path2, r->cfg, inplace ? "resize_inplace_base" : "resize_base");
  s->size = inplace ? 1u : 0u; /* remembered for the batch */
  r->max_iters = 20000;
  snprintf(r->note, sizeof r->note,
           "time per growth step (1 MiB -> 9 MiB by 1 MiB, fresh file each sequence); ours %s%s, "
           "base: ftruncate + mremap(MAYMOVE), sparse",
           inplace ? "with max_size 16 MiB (in place)" : "without max_size (mremap)",
           r->cfg->sparse ? ", SPARSE" : ", reserves blocks");
  return BENCH_RC_OK;
#else
  (void)inplace;
  snprintf(r->note, sizeof r->note, "no mremap baseline on this OS");
  return BENCH_RC_NA;
#endif
}

static int setup_resize(bench_run *r) { return setup_resize_common(r, 0); }
static int setup_resize_inplace(bench_run *r) { return setup_resize_common(r, 1); }

static int batch_resize(bench_run *r, int side, uint64_t iters, double *sec)
{
#if defined(__linux__)
  wstate *s = WS(r);
  int inplace = s->size != 0;
  uint64_t i, k;
  double total = 0.0;
  for (i = 0; i < iters; i++) {
    double t0;
    if (side == BENCH_OURS) {
      mmapio_options o;
      mmapio_map *m = NULL;
      int rc;
      mmapio_options_init(&o);
      o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | (r->cfg->sparse ? MMAPIO_OPEN_SPARSE : 0u);
      o.size = BENCH_MIB;
      o.max_size = inplace ? 16 * BENCH_MIB : 0;
      rc = mmapio_open(&m, s->path, &o);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_open", rc);
      t0 = bench_now();
      for (k = 1; k <= RESIZE_STEPS; k++) {
        rc = mmapio_resize(m, (1 + k) * BENCH_MIB);
        if (rc != MMAPIO_OK) {
          mmapio_close(m);
          return bench_fail(r, "mmapio_resize", rc);
        }
      }
      total += bench_now() - t0;
      rc = mmapio_close(m);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_close", rc);
    } else {
      size_t len = (size_t)BENCH_MIB;
      void *p;
      int fd = open(s->path2, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
      if (fd < 0) return bench_fail_os(r, "open", s->path2);
      if (ftruncate(fd, (off_t)len) != 0) {
        close(fd);
        return bench_fail_os(r, "ftruncate", s->path2);
      }
      p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) {
        close(fd);
        return bench_fail_os(r, "mmap", s->path2);
      }
      t0 = bench_now();
      for (k = 1; k <= RESIZE_STEPS; k++) {
        size_t nl = (size_t)((1 + k) * BENCH_MIB);
        void *q;
        if (ftruncate(fd, (off_t)nl) != 0) {
          munmap(p, len);
          close(fd);
          return bench_fail_os(r, "ftruncate", s->path2);
        }
        q = mremap(p, len, nl, MREMAP_MAYMOVE);
        if (q == MAP_FAILED) {
          munmap(p, len);
          close(fd);
          return bench_fail_os(r, "mremap", s->path2);
        }
        p = q;
        len = nl;
      }
      total += bench_now() - t0;
      munmap(p, len);
      close(fd);
    }
  }
  *sec = total / (double)RESIZE_STEPS; /* the runner divides by iters: time per growth */
  return BENCH_RC_OK;
#else
  (void)r;
  (void)side;
  (void)iters;
  (void)sec;
  return BENCH_RC_NA;
#endif
}

/* ------------------------------------------------------------------------ */
/* advise: mmapio_advise vs madvise (SEQUENTIAL then NORMAL, whole map)      */
/* ------------------------------------------------------------------------ */

static int setup_advise(bench_run *r)
{
#ifdef _WIN32
  snprintf(r->note, sizeof r->note, "no madvise baseline on Windows");
  return BENCH_RC_NA;
#else
  wstate *s;
  uint64_t size = r->cfg->smoke ? BENCH_MIB : 16 * BENCH_MIB;
  int rc = setup_file_pair(r, "advise", size, MMAPIO_MODE_READ_WRITE, RAW_RW, &s);
  if (rc != BENCH_RC_OK) return rc;
  rc = mmapio_advise(s->m, 0, size, MMAPIO_ADVICE_NORMAL);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_advise", rc);
  snprintf(r->note, sizeof r->note, "RW map of %llu MiB; one op = SEQUENTIAL then NORMAL over the whole map",
           (unsigned long long)(size / BENCH_MIB));
  return BENCH_RC_OK;
#endif
}

static int batch_advise(bench_run *r, int side, uint64_t iters, double *sec)
{
#ifdef _WIN32
  (void)r;
  (void)side;
  (void)iters;
  (void)sec;
  return BENCH_RC_NA;
#else
  wstate *s = WS(r);
  uint64_t i;
  double t0 = bench_now();
  for (i = 0; i < iters; i++) {
    if (side == BENCH_OURS) {
      int rc = mmapio_advise(s->m, 0, s->size, MMAPIO_ADVICE_SEQUENTIAL);
      if (rc == MMAPIO_OK) rc = mmapio_advise(s->m, 0, s->size, MMAPIO_ADVICE_NORMAL);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_advise", rc);
    } else {
      if (madvise(s->raw.p, s->raw.len, MADV_SEQUENTIAL) != 0 || madvise(s->raw.p, s->raw.len, MADV_NORMAL) != 0)
        return bench_fail_os(r, "madvise", s->path);
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
#endif
}

/* ------------------------------------------------------------------------ */
/* cow_open: mmapio_open_cow + first read + close vs raw MAP_PRIVATE         */
/* ------------------------------------------------------------------------ */

static int setup_cow_open(bench_run *r)
{
  wstate *s = ws_new(r);
  int rc;
  if (s == NULL) return BENCH_RC_ERROR;
  s->size = BENCH_MIB;
  bench_path(s->path, sizeof s->path, r->cfg, "cow_open");
  rc = make_file(r, s->path, s->size, 1);
  if (rc != BENCH_RC_OK) return rc;
  r->max_iters = 1000000;
  snprintf(r->note, sizeof r->note, "1 MiB file; one op = open, read the first byte, close");
  return BENCH_RC_OK;
}

static int batch_cow_open(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t i;
  double t0 = bench_now();
  for (i = 0; i < iters; i++) {
    uint8_t b = 0;
    if (side == BENCH_OURS) {
      mmapio_map *m = NULL;
      int rc = mmapio_open_cow(&m, s->path);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_open_cow", rc);
      rc = mmapio_read(m, 0, &b, 1);
      if (rc != MMAPIO_OK) {
        mmapio_close(m);
        return bench_fail(r, "mmapio_read", rc);
      }
      rc = mmapio_close(m);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_close", rc);
    } else {
      raw_file f;
      int rc = raw_open(r, &f, s->path, RAW_COW, 1);
      if (rc != BENCH_RC_OK) return rc;
      b = f.p[0];
      raw_close(&f);
    }
    s->sink += b;
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* 64-byte writes: what write_shared, write_64, write_churn and              */
/* write_ext_shared share                                                    */
/* ------------------------------------------------------------------------ */

/* A 1 MiB file, its RW map (opened with `flags`), a raw RW mapping of it for
 * the baseline and a 64-byte source buffer; smoke runs take 1000 iterations
 * at least, others `min_iters`. */
static int setup_writes(bench_run *r, const char *tag, uint32_t flags, uint64_t min_iters, wstate **out)
{
  wstate *s = NULL;
  int rc = setup_file_pair(r, tag, BENCH_MIB, MMAPIO_MODE_READ_WRITE, RAW_RW, &s);
  *out = s;
  if (rc != BENCH_RC_OK) return rc;
  if (flags != 0) {
    mmapio_options o;
    mmapio_close(s->m);
    s->m = NULL;
    mmapio_options_init(&o);
    o.flags = flags;
    rc = mmapio_open(&s->m, s->path, &o);
    if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_open(flags)", rc);
  }
  s->buf = (uint8_t *)calloc(1, 64);
  if (s->buf == NULL) return bench_fail_os(r, "calloc", NULL);
  r->min_iters = r->cfg->smoke ? 1000 : min_iters;
  return BENCH_RC_OK;
}

/* The function a second thread runs (write_shared, write_ext_shared). */
typedef void *(*peer_main)(void *);

/* The baselines of the writes. */
#define RAW_WRITE_CHECKED 0 /* bounds check + memcpy */
#define RAW_WRITE_LOCKED 1  /* rwlock wrlock + memcpy + unlock */

/* The timed loop: `iters` 64-byte writes, one a page at offset 64, round-
 * robin over the pages from `first` on; ours is mmapio_write, the baseline
 * is `raw_how`. Always inlined, so that each batch times a loop of its own
 * with `first` and `raw_how` as constants. */
static BENCH_INLINE int run_writes(bench_run *r, int side, uint64_t iters, uint64_t first, int raw_how,
                                   double *sec)
{
  wstate *s = WS(r);
  uint64_t i, span = s->size / 4096u - first;
  raw_obj o;
  double t0;
  o.base = s->raw.p;
  o.len = s->size;
  BENCH_ESCAPE(&o);
  t0 = bench_now();
  for (i = 0; i < iters; i++) {
    uint64_t off = (first + i % span) * 4096u + 64u;
    s->buf[0] = (uint8_t)i;
    if (side == BENCH_OURS) {
      int rc = mmapio_write(s->m, off, s->buf, 64);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_write", rc);
    } else if (raw_how == RAW_WRITE_LOCKED) {
      raw_wrlock(&s->rw);
      memcpy(s->raw.p + off, s->buf, 64);
      raw_wrunlock(&s->rw);
    } else {
      if (!(off <= o.len && 64u <= o.len - off)) {
        snprintf(r->error, sizeof r->error, "baseline bounds check failed");
        return BENCH_RC_ERROR;
      }
      memcpy(s->raw.p + off, s->buf, 64);
    }
    BENCH_BARRIER();
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

#if !defined(_WIN32)
/* The second thread of write_shared and write_ext_shared: it runs `main`
 * only while a batch is timed, until `stop` is set, and sets `failed` when
 * it cannot take a view. */
typedef struct peer {
  wstate *s;
  int side;
  int stop; /* atomic */
  int failed;
  int running;
  pthread_t th;
} peer;

static int peer_start(bench_run *r, peer *p, int side, peer_main main_fn)
{
  p->s = WS(r);
  p->side = side;
  p->stop = 0;
  p->failed = 0;
  p->running = 0;
  if (main_fn == NULL) return BENCH_RC_OK;
  if (pthread_create(&p->th, NULL, main_fn, p) != 0) return bench_fail_os(r, "pthread_create", NULL);
  p->running = 1;
  return BENCH_RC_OK;
}

static int peer_stopped(const peer *p) { return __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE); }

static void peer_pause(void)
{
  struct timespec ts = {0, 20 * 1000};
  nanosleep(&ts, NULL);
}

/* Stops and joins the thread. Returns `rc`, the writes' result, or, when
 * they succeeded but the `who` thread failed, an error. */
static int peer_stop(bench_run *r, peer *p, int rc, const char *who)
{
  if (!p->running) return rc;
  __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
  pthread_join(p->th, NULL);
  p->running = 0;
  if (p->failed && rc == BENCH_RC_OK) {
    snprintf(r->error, sizeof r->error, "the %s thread's mmapio_view_get failed", who);
    rc = BENCH_RC_ERROR;
  }
  return rc;
}
#endif

/* The set-up of write_shared and write_ext_shared (POSIX only: `who` names
 * the second thread): setup_writes, and the baseline's lock for
 * RAW_WRITE_LOCKED. */
static int setup_shared(bench_run *r, const char *tag, uint32_t flags, uint64_t min_iters, int raw_how,
                        const char *who, const char *note)
{
#if defined(_WIN32)
  (void)tag; (void)flags; (void)min_iters; (void)raw_how; (void)note;
  snprintf(r->note, sizeof r->note, "POSIX only (%s thread)", who);
  return BENCH_RC_NA;
#else
  wstate *s;
  int rc = setup_writes(r, tag, flags, min_iters, &s);
  (void)who;
  if (rc != BENCH_RC_OK) return rc;
  if (raw_how == RAW_WRITE_LOCKED) {
    if (raw_rwlock_init(&s->rw) != 0) return bench_fail_os(r, "pthread_rwlock_init", NULL);
    s->have_rw = 1;
  }
  snprintf(r->note, sizeof r->note, "%s", note);
  return BENCH_RC_OK;
#endif
}

/* A batch of write_shared or write_ext_shared: the writes while the `who`
 * thread runs `main_fn` (NULL: no thread). */
static BENCH_INLINE int batch_shared(bench_run *r, int side, uint64_t iters, double *sec,
                                     peer_main main_fn, const char *who, uint64_t first,
                                     int raw_how)
{
#if defined(_WIN32)
  (void)r; (void)side; (void)iters; (void)sec; (void)main_fn; (void)who; (void)first; (void)raw_how;
  return BENCH_RC_NA;
#else
  peer p;
  int rc = peer_start(r, &p, side, main_fn);
  if (rc != BENCH_RC_OK) return rc;
  return peer_stop(r, &p, run_writes(r, side, iters, first, raw_how, sec), who);
#endif
}

/* ------------------------------------------------------------------------ */
/* write_shared: 64-byte writes while another thread keeps reading           */
/* ------------------------------------------------------------------------ */

/* The "many readers, one writer" case a database has: one thread writes
 * small records while another reads through views. Ours: mmapio_write on a
 * RW map whose other thread takes read views. Baseline: pthread_rwlock
 * wrlock + memcpy + unlock while the other thread takes the read lock. The
 * reader takes 64 holds, then sleeps 20 us, and runs only while a batch is
 * timed. */
#if !defined(_WIN32)
static void *shared_reader_main(void *arg)
{
  peer *p = (peer *)arg;
  while (!peer_stopped(p)) {
    int k;
    for (k = 0; k < 64; k++) {
      if (p->side == BENCH_OURS) {
        mmapio_view v;
        if (mmapio_view_get(&v, p->s->m, 0, 64) != MMAPIO_OK) {
          p->failed = 1;
          return NULL;
        }
        BENCH_ESCAPE(v.data);
        mmapio_view_release(&v);
      } else {
        raw_rdlock(&p->s->rw);
        BENCH_ESCAPE(p->s->obj.base);
        raw_rdunlock(&p->s->rw);
      }
    }
    peer_pause();
  }
  return NULL;
}
#else
#  define shared_reader_main ((peer_main)0)
#endif

static int setup_write_shared(bench_run *r)
{
  return setup_shared(r, "write_shared", 0, 100000, RAW_WRITE_LOCKED, "reader",
                      "RW map of 1 MiB, 64-byte writes at 4 KiB steps; a second thread takes 64 "
                      "read holds every 20 us");
}

static int batch_write_shared(bench_run *r, int side, uint64_t iters, double *sec)
{
  return batch_shared(r, side, iters, sec, shared_reader_main, "reader", 0, RAW_WRITE_LOCKED);
}

/* ------------------------------------------------------------------------ */
/* views_maps_N: view get + release round-robin over N maps                  */
/* ------------------------------------------------------------------------ */

/* Each thread finds its slot of a map in a per-thread array indexed by the
 * map, so the cost must not depend on how many maps the thread uses.
 * Anonymous maps of one page, 64-byte views; baseline: the bounds check
 * against each object's length, round-robin over as many objects. */
static int setup_views_maps(bench_run *r, size_t n)
{
  wstate *s = ws_new(r);
  if (s == NULL) return BENCH_RC_ERROR;
  s->ms = (mmapio_map **)calloc(n, sizeof *s->ms);
  s->objs = (raw_obj *)calloc(n, sizeof *s->objs);
  if (s->ms == NULL || s->objs == NULL) return bench_fail_os(r, "calloc", NULL);
  s->nms = n;
  for (size_t k = 0; k < n; k++) {
    int rc = mmapio_anon(&s->ms[k], 4096, 0);
    if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_anon", rc);
    s->objs[k].base = (const uint8_t *)mmapio_unsafe_ptr(s->ms[k]);
    s->objs[k].len = 4096;
  }
  r->min_iters = r->cfg->smoke ? 1000 : 10000000;
  snprintf(r->note, sizeof r->note, "%u anonymous RW maps of 4 KiB, one 64-byte view each in turn",
           (unsigned)n);
  return BENCH_RC_OK;
}
static int setup_views_maps_1(bench_run *r) { return setup_views_maps(r, 1); }
static int setup_views_maps_16(bench_run *r) { return setup_views_maps(r, 16); }
static int setup_views_maps_64(bench_run *r) { return setup_views_maps(r, 64); }
static int setup_views_maps_1000(bench_run *r) { return setup_views_maps(r, 1000); }

static int batch_views_maps(bench_run *r, int side, uint64_t iters, double *sec)
{
  wstate *s = WS(r);
  uint64_t off = 1024, len = 64, i;
  size_t k = 0, n = s->nms;
  double t0;
  BENCH_OPAQUE(off);
  BENCH_OPAQUE(len);
  t0 = bench_now();
  for (i = 0; i < iters; i++) {
    if (side == BENCH_OURS) {
      mmapio_view v;
      int rc = mmapio_view_get(&v, s->ms[k], off, len);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_view_get", rc);
      BENCH_ESCAPE(v.data);
      mmapio_view_release(&v);
    } else {
      const raw_obj *o = &s->objs[k];
      if (!(off <= o->len && len <= o->len - off)) {
        snprintf(r->error, sizeof r->error, "baseline bounds check failed");
        return BENCH_RC_ERROR;
      }
      BENCH_ESCAPE(o->base + off);
    }
    if (++k == n) k = 0;
    BENCH_BARRIER();
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

/* ------------------------------------------------------------------------ */
/* write_64, write_churn: uncontended 64-byte writes                         */
/* ------------------------------------------------------------------------ */

#if !defined(_WIN32)
static void *churn_main(void *arg)
{
  wstate *s = (wstate *)arg;
  mmapio_view v;
  if (mmapio_view_get(&v, s->m, 0, 64) == MMAPIO_OK) mmapio_view_release(&v);
  return NULL;
}
#endif

static int setup_write_common(bench_run *r, const char *tag, int churn)
{
  wstate *s;
  int rc = setup_writes(r, tag, 0, 1000000, &s);
  if (rc != BENCH_RC_OK) return rc;
  snprintf(r->note, sizeof r->note, "RW map of 1 MiB, 64-byte writes at 4 KiB steps%s",
           churn ? ", after 20,000 threads each took one view and exited" : "");
  if (!churn) return BENCH_RC_OK;
#if defined(_WIN32)
  return BENCH_RC_NA;
#else
  size_t n = r->cfg->smoke ? 200 : 20000;
  s->keep = (void **)calloc(n, sizeof *s->keep);
  if (s->keep == NULL) return bench_fail_os(r, "calloc", NULL);
  s->nkeep = n;
  for (size_t k = 0; k < n; k++) {
    pthread_t th;
    if (pthread_create(&th, NULL, churn_main, s) != 0) return bench_fail_os(r, "pthread_create", NULL);
    pthread_join(th, NULL);
    s->keep[k] = malloc(48); /* so that thread memory is not simply reused */
  }
  return BENCH_RC_OK;
#endif
}
static int setup_write_64(bench_run *r) { return setup_write_common(r, "write_64", 0); }
static int setup_write_churn(bench_run *r) { return setup_write_common(r, "write_churn", 1); }

static int batch_write_64(bench_run *r, int side, uint64_t iters, double *sec)
{
  return run_writes(r, side, iters, 0, RAW_WRITE_CHECKED, sec);
}

/* ------------------------------------------------------------------------ */
/* write_ext_shared: EXTERNAL_SYNC writes while another thread holds views   */
/* ------------------------------------------------------------------------ */

/* Ours only: the holder takes 8 views of pages 0..7, sleeps 20 us and
 * releases them; the writes go to pages 8 and up, which it never views. */
#if !defined(_WIN32)
static void *ext_holder_main(void *arg)
{
  peer *p = (peer *)arg;
  while (!peer_stopped(p)) {
    mmapio_view v[8];
    for (int k = 0; k < 8; k++)
      if (mmapio_view_get(&v[k], p->s->m, (uint64_t)k * 4096u, 64) != MMAPIO_OK) {
        p->failed = 1;
        return NULL;
      }
    peer_pause();
    for (int k = 0; k < 8; k++) mmapio_view_release(&v[k]);
  }
  return NULL;
}
#else
#  define ext_holder_main ((peer_main)0)
#endif

static int setup_write_ext(bench_run *r)
{
  return setup_shared(r, "write_ext", MMAPIO_OPEN_EXTERNAL_SYNC, 1000000, RAW_WRITE_CHECKED, "holder",
                      "MMAPIO_OPEN_EXTERNAL_SYNC map of 1 MiB, 64-byte writes at 4 KiB steps; a "
                      "second thread holds 8 views of other pages");
}

static int batch_write_ext(bench_run *r, int side, uint64_t iters, double *sec)
{
  peer_main holder = side == BENCH_OURS ? ext_holder_main : (peer_main)0;
  return batch_shared(r, side, iters, sec, holder, "holder", 8, RAW_WRITE_CHECKED);
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */


const bench_workload bench_workloads[] = {
  { "view_rw", "as_slice", "mmapio_view_get + mmapio_view_release, RW map, one thread",
    "pthread_rwlock_rdlock + bounds check + unlock", BENCH_TIME, BENCH_T_RATIO_LE, 0.5, "a read view costs at most half a reader lock",
    setup_view_rw, batch_view_rw, ws_teardown },
  { "view_ro", "as_slice", "mmapio_view_get + mmapio_view_release, RO map, one thread",
    "bounds check against a length in memory", BENCH_TIME, BENCH_T_ABS_NS_LE, 3.0, "a read view of a read-only map costs at most 3 ns",
    setup_view_ro, batch_view_ro, ws_teardown },
  { "read_1m", "read_into", "mmapio_read of 1 MiB (RW map)", "memcpy of 1 MiB from a raw mapping",
    BENCH_RATE, BENCH_T_RATIO_GE, 0.95, "mmapio_read copies at memcpy speed", setup_read_1m, batch_read_1m, ws_teardown },
  { "scan_views", "as_slice", "sum of bytes through 64 KiB read views", "sum of bytes over a raw pointer",
    BENCH_RATE, BENCH_T_RATIO_GE, 0.95, "reading through views is as fast as through a raw pointer", setup_scan_views, batch_scan_views, ws_teardown },
  { "flush_page", "flush", "dirty one page (mmapio_write) + mmapio_flush",
    "dirty one page + msync(MS_SYNC) of that page", BENCH_TIME, BENCH_T_RATIO_LE, 1.1, "a flush costs what msync costs",
    setup_flush_page, batch_flush_page, ws_teardown },
  { "millis_writes", "flush policies", "sequential 64 KiB mmapio_write calls, policy EVERY_MILLIS(10)",
    "raw reference: memcpy stream + raw msync(MS_SYNC) thread every 10 ms", BENCH_RATE, BENCH_T_RATIO_GE, 0.9, "EVERY_MILLIS(10) keeps 90% of the raw memcpy + 10 ms msync reference", setup_millis_writes,
    batch_millis_writes, ws_teardown },
  { "millis_rewrite", "flush policies", "64 KiB mmapio_write calls rewriting 16 MiB, EVERY_MILLIS(10)",
    "raw reference: memcpy rewrites + raw msync(MS_SYNC) thread every 10 ms", BENCH_RATE, BENCH_T_NONE, 0.0, NULL, setup_millis_rewrite,
    batch_millis_rewrite, ws_teardown },
  { "millis_raw", "flush policies", "reference, no mmapio: memcpy stream + raw msync(MS_SYNC) thread every 10 ms",
    "the same memcpy stream without the msync thread", BENCH_RATE, BENCH_T_NONE, 0.0, NULL, setup_millis_raw,
    batch_millis_raw, ws_teardown },
  { "chunks_4k", "chunks/pages", "mmapio_chunks(4 KiB) iteration, sum of bytes",
    "raw pointer loop in 4 KiB steps, sum of bytes", BENCH_RATE, BENCH_T_RATIO_GE, 0.95, "iteration is as fast as a raw loop",
    setup_chunks_4k, batch_chunks, ws_teardown },
  { "chunks_64k", "chunks/pages", "mmapio_chunks(64 KiB) iteration, sum of bytes",
    "raw pointer loop in 64 KiB steps, sum of bytes", BENCH_RATE, BENCH_T_RATIO_GE, 0.95, "iteration is as fast as a raw loop",
    setup_chunks_64k, batch_chunks, ws_teardown },
  { "atomic_add", "atomics", "mmapio_fetch_add_u64 through an atomic view",
    "__atomic_fetch_add on a raw mapping", BENCH_TIME, BENCH_T_RATIO_LE, 1.1, "atomic views cost what the compiler builtins cost", setup_atomic_add,
    batch_atomic_add, ws_teardown },
  { "touch_1g", "touch", "mmapio_touch of a warm map", "page-stride read loop over a warm raw mapping",
    BENCH_TIME, BENCH_T_RATIO_LE, 1.1, "touch is as fast as a page-stride loop", setup_touch, batch_touch, ws_teardown },
  { "create", "create", "mmapio_create_rw + mmapio_close",
    "open(O_CREAT|O_TRUNC) + ftruncate + mmap + munmap + close", BENCH_TIME, BENCH_T_NONE, 0.0, NULL,
    setup_create, batch_create, ws_teardown },
  { "create_reserved", "create", "mmapio_create_rw + mmapio_close + mmapio_remove_file (1 MiB)",
    "O_TMPFILE + fallocate + mmap + linkat + munmap + close + unlink", BENCH_TIME, BENCH_T_RATIO_LE, 1.2,
    "a reserving create costs at most 1.2x the raw calls with the same guarantees",
    bench_setup_create_reserved, bench_batch_create_same, bench_teardown_create_same },
  { "create_excl", "create", "mmapio_create_rw + mmapio_close + mmapio_remove_file (1 MiB)",
    "open(O_CREAT|O_EXCL) + fallocate + mmap + munmap + close + unlink", BENCH_TIME, BENCH_T_RATIO_LE, 1.2,
    "a reserving create costs at most 1.2x a raw reserving create",
    bench_setup_create_reserved_excl, bench_batch_create_same, bench_teardown_create_same },
  { "create_sparse", "create", "CREATE|TRUNCATE|SPARSE open + mmapio_close + mmapio_remove_file (1 MiB)",
    "open(O_CREAT|O_TRUNC) + ftruncate + mmap + munmap + close + unlink", BENCH_TIME, BENCH_T_RATIO_LE, 1.1,
    "a SPARSE create costs what the raw calls cost",
    bench_setup_create_sparse, bench_batch_create_same, bench_teardown_create_same },
  { "resize_reserved", "resize", "mmapio_resize 1 MiB -> 8 MiB -> 1 MiB (blocks reserved)",
    "fallocate + mremap(MAYMOVE), ftruncate + mremap", BENCH_TIME, BENCH_T_RATIO_LE, 1.2,
    "a reserving resize costs at most 1.2x the raw calls",
    bench_setup_resize_reserved, bench_batch_resize_same, bench_teardown_create_same },
  { "resize_sparse", "resize", "mmapio_resize 1 MiB -> 8 MiB -> 1 MiB (SPARSE)",
    "ftruncate + mremap(MAYMOVE), ftruncate + mremap", BENCH_TIME, BENCH_T_RATIO_LE, 1.2,
    "a SPARSE resize costs at most 1.2x the raw calls",
    bench_setup_resize_sparse, bench_batch_resize_same, bench_teardown_create_same },
  { "random_reads", "random reads", "mmapio_read of 4 KiB at random offsets (RO map)",
    "pread of 4 KiB at the same offsets", BENCH_TIME, BENCH_T_NONE, 0.0, NULL, setup_random_reads,
    batch_random_reads, ws_teardown },
  { "seq_reads", "sequential reads", "mmapio_read of 64 KiB blocks, whole file (RO map)",
    "read() of 64 KiB blocks, whole file", BENCH_RATE, BENCH_T_NONE, 0.0, NULL, setup_seq_reads,
    batch_seq_reads, ws_teardown },
  { "resize", "resize", "mmapio_resize growth without max_size", "ftruncate + mremap(MREMAP_MAYMOVE)",
    BENCH_TIME, BENCH_T_NONE, 0.0, NULL, setup_resize, batch_resize, ws_teardown },
  { "resize_inplace", "resize", "mmapio_resize growth within max_size (in place)",
    "ftruncate + mremap(MREMAP_MAYMOVE)", BENCH_TIME, BENCH_T_NONE, 0.0, NULL, setup_resize_inplace,
    batch_resize, ws_teardown },
  { "advise", "advise", "mmapio_advise SEQUENTIAL + NORMAL", "madvise MADV_SEQUENTIAL + MADV_NORMAL",
    BENCH_TIME, BENCH_T_NONE, 0.0, NULL, setup_advise, batch_advise, ws_teardown },
  { "write_shared", "update_region", "64-byte mmapio_write while another thread takes read views",
    "pthread_rwlock wrlock + memcpy + unlock while another thread takes the read lock", BENCH_TIME,
    BENCH_T_NONE, 0.0, NULL, setup_write_shared, batch_write_shared, ws_teardown },
  { "cow_open", "cow open", "mmapio_open_cow + mmapio_read(1 byte) + mmapio_close",
    "open + mmap(MAP_PRIVATE) + read + munmap + close", BENCH_TIME, BENCH_T_NONE, 0.0, NULL, setup_cow_open,
    batch_cow_open, ws_teardown },
  { "append_4k", "appends", "mmapio_append of 4+4096+4-byte records to a fresh file, then close",
    "pwrite of each record at the end of the file, then close", BENCH_RATE, BENCH_T_RATIO_GE, 1.0,
    "appending records is at least as fast as pwrite", bench_setup_append_4k, bench_batch_append_4k, bench_teardown_append_4k },
  { "views_maps_1", "as_slice", "view get + release, 1 map", "bounds check, 1 object", BENCH_TIME,
    BENCH_T_NONE, 0.0, NULL, setup_views_maps_1, batch_views_maps, ws_teardown },
  { "views_maps_16", "as_slice", "view get + release round-robin over 16 maps",
    "bounds check round-robin over 16 objects", BENCH_TIME, BENCH_T_NONE, 0.0, NULL,
    setup_views_maps_16, batch_views_maps, ws_teardown },
  { "views_maps_64", "as_slice", "view get + release round-robin over 64 maps",
    "bounds check round-robin over 64 objects", BENCH_TIME, BENCH_T_NONE, 0.0, NULL,
    setup_views_maps_64, batch_views_maps, ws_teardown },
  { "views_maps_1000", "as_slice", "view get + release round-robin over 1000 maps",
    "bounds check round-robin over 1000 objects", BENCH_TIME, BENCH_T_NONE, 0.0, NULL,
    setup_views_maps_1000, batch_views_maps, ws_teardown },
  { "write_64", "update_region", "64-byte mmapio_write, one thread", "bounds check + memcpy of 64 bytes",
    BENCH_TIME, BENCH_T_NONE, 0.0, NULL, setup_write_64, batch_write_64, ws_teardown },
  { "write_churn", "update_region", "64-byte mmapio_write after 20,000 threads used the map",
    "bounds check + memcpy of 64 bytes", BENCH_TIME, BENCH_T_NONE, 0.0, NULL, setup_write_churn,
    batch_write_64, ws_teardown },
  { "write_ext_shared", "update_region",
    "64-byte mmapio_write on an EXTERNAL_SYNC map while another thread holds views",
    "bounds check + memcpy of 64 bytes", BENCH_TIME, BENCH_T_RATIO_LE, 1.2, "a caller-synchronised write costs a bounds check and the copy", setup_write_ext,
    batch_write_ext, ws_teardown },
};

const size_t bench_workload_count = sizeof bench_workloads / sizeof bench_workloads[0];
