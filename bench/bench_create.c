/*
 * bench_create.c -- creating and resizing files against raw code that gives
 * the same guarantee (Linux: the baselines use fallocate, O_TMPFILE and
 * mremap).
 *
 * create_reserved      ours: mmapio_create_rw (blocks reserved, the file
 *                      appears under its name only once sized) + close +
 *                      mmapio_remove_file.
 *                      base: open(dir, O_TMPFILE) + fallocate + mmap +
 *                      linkat + munmap + close + unlink: the same two
 *                      guarantees with plain calls.
 * create_excl          ours: the same. base: open(O_CREAT|O_EXCL) +
 *                      fallocate + mmap + munmap + close + unlink: blocks
 *                      reserved, but the name is visible (empty) while the
 *                      file is sized -- the cheapest reserving create.
 * create_sparse        ours: CREATE|TRUNCATE|SPARSE + close + remove.
 *                      base: open(O_CREAT|O_TRUNC) + ftruncate + mmap +
 *                      munmap + close + unlink (what the Rust crate mmap-io
 *                      does for create_rw, minus its fstat).
 * resize_reserved      ours: mmapio_resize 1 MiB -> 8 MiB -> 1 MiB of a map
 *                      that reserves blocks. base: fallocate of the growth +
 *                      mremap(MAYMOVE), ftruncate + mremap back.
 * resize_sparse        the same with MMAPIO_OPEN_SPARSE; base: ftruncate +
 *                      mremap both ways.
 * Each operation is timed whole; both sides use files in the same directory.
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1
#endif

#include "bench_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <unistd.h>
#endif

enum { CR_RESERVED, CR_RESERVED_EXCL, CR_SPARSE, RS_RESERVED, RS_SPARSE };

typedef struct create_state {
  char path[1024], path2[1024], dir[1024];
  int kind;
  mmapio_map *m; /* resize: ours */
  int fd;        /* resize: base */
  void *p;
  size_t len;
} create_state;

#if defined(__linux__)

static uint64_t cr_size(const bench_run *r) { return r->cfg->smoke ? 64 * BENCH_KIB : BENCH_MIB; }

static int setup_kind(bench_run *r, int kind)
{
  create_state *s = (create_state *)calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(r->error, sizeof r->error, "out of memory");
    return BENCH_RC_ERROR;
  }
  r->state = s;
  s->kind = kind;
  s->fd = -1;
  r->io_bound = 1;
  bench_path(s->path, sizeof s->path, r->cfg, "samecreate_ours");
  bench_path(s->path2, sizeof s->path2, r->cfg, "samecreate_base");
  snprintf(s->dir, sizeof s->dir, "%s", r->cfg->dir);
  unlink(s->path);
  unlink(s->path2);
  if (kind == RS_RESERVED || kind == RS_SPARSE) {
    int sparse = kind == RS_SPARSE;
    mmapio_options o;
    mmapio_options_init(&o);
    o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | (sparse ? MMAPIO_OPEN_SPARSE : 0u);
    o.size = BENCH_MIB;
    int rc = mmapio_open(&s->m, s->path, &o);
    if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_open", rc);
    s->fd = open(s->path2, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (s->fd < 0) return bench_fail_os(r, "open", s->path2);
    s->len = (size_t)BENCH_MIB;
    int e = sparse ? (ftruncate(s->fd, (off_t)s->len) != 0 ? errno : 0)
                   : posix_fallocate(s->fd, 0, (off_t)s->len);
    if (e != 0) {
      errno = e;
      return bench_fail_os(r, sparse ? "ftruncate" : "posix_fallocate", s->path2);
    }
    s->p = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (s->p == MAP_FAILED) {
      s->p = NULL;
      return bench_fail_os(r, "mmap", s->path2);
    }
    r->max_iters = 20000;
    snprintf(r->note, sizeof r->note,
             "one 1 MiB -> 8 MiB -> 1 MiB cycle; ours %s; base: %s", sparse ? "SPARSE" : "reserves blocks",
             sparse ? "ftruncate + mremap both ways"
                    : "fallocate(growth) + mremap(MAYMOVE), ftruncate + mremap back");
    return BENCH_RC_OK;
  }
  r->max_iters = 100000;
  snprintf(r->note, sizeof r->note, "%llu KiB file created, mapped, closed and removed; ours %s; base: %s",
           (unsigned long long)(cr_size(r) / BENCH_KIB),
           kind == CR_SPARSE ? "CREATE|TRUNCATE|SPARSE" : "mmapio_create_rw (reserves blocks)",
           kind == CR_RESERVED        ? "O_TMPFILE + fallocate + mmap + linkat (same guarantees)"
           : kind == CR_RESERVED_EXCL ? "O_CREAT|O_EXCL + fallocate + mmap (visible while sized)"
                                      : "O_CREAT|O_TRUNC + ftruncate + mmap");
  return BENCH_RC_OK;
}

static int base_create(bench_run *r, create_state *s, uint64_t size)
{
  int fd;
  if (s->kind == CR_RESERVED) fd = open(s->dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0666);
  else if (s->kind == CR_RESERVED_EXCL) fd = open(s->path2, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  else fd = open(s->path2, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return bench_fail_os(r, "open", s->path2);
  int bad = s->kind == CR_SPARSE ? ftruncate(fd, (off_t)size) : fallocate(fd, 0, 0, (off_t)size);
  if (bad != 0) {
    close(fd);
    return bench_fail_os(r, s->kind == CR_SPARSE ? "ftruncate" : "fallocate", s->path2);
  }
  void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return bench_fail_os(r, "mmap", s->path2);
  }
  if (s->kind == CR_RESERVED) {
    char proc[48];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, s->path2, AT_SYMLINK_FOLLOW) != 0) {
      munmap(p, (size_t)size);
      close(fd);
      return bench_fail_os(r, "linkat", s->path2);
    }
  }
  munmap(p, (size_t)size);
  close(fd);
  if (unlink(s->path2) != 0) return bench_fail_os(r, "unlink", s->path2);
  return BENCH_RC_OK;
}

static int ours_create(bench_run *r, create_state *s, uint64_t size)
{
  mmapio_map *m = NULL;
  int rc;
  if (s->kind == CR_SPARSE) {
    mmapio_options o;
    mmapio_options_init(&o);
    o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE;
    o.size = size;
    rc = mmapio_open(&m, s->path, &o);
  } else {
    rc = mmapio_create_rw(&m, s->path, size);
  }
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_create_rw", rc);
  rc = mmapio_close(m);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_close", rc);
  rc = mmapio_remove_file(s->path);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_remove_file", rc);
  return BENCH_RC_OK;
}

int bench_batch_create_same(bench_run *r, int side, uint64_t iters, double *sec)
{
  create_state *s = (create_state *)r->state;
  uint64_t size = cr_size(r);
  double t0 = bench_now();
  for (uint64_t i = 0; i < iters; i++) {
    int rc = side == BENCH_OURS ? ours_create(r, s, size) : base_create(r, s, size);
    if (rc != BENCH_RC_OK) return rc;
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

static int base_resize(bench_run *r, create_state *s, size_t to)
{
  if (to > s->len) {
    int bad = s->kind == RS_SPARSE ? ftruncate(s->fd, (off_t)to)
                                   : fallocate(s->fd, 0, (off_t)s->len, (off_t)(to - s->len));
    if (bad != 0) return bench_fail_os(r, s->kind == RS_SPARSE ? "ftruncate" : "fallocate", s->path2);
    void *q = mremap(s->p, s->len, to, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return bench_fail_os(r, "mremap", s->path2);
    s->p = q;
  } else {
    if (ftruncate(s->fd, (off_t)to) != 0) return bench_fail_os(r, "ftruncate", s->path2);
    void *q = mremap(s->p, s->len, to, 0);
    if (q == MAP_FAILED) return bench_fail_os(r, "mremap", s->path2);
    s->p = q;
  }
  s->len = to;
  return BENCH_RC_OK;
}

int bench_batch_resize_same(bench_run *r, int side, uint64_t iters, double *sec)
{
  create_state *s = (create_state *)r->state;
  double t0 = bench_now();
  for (uint64_t i = 0; i < iters; i++) {
    if (side == BENCH_OURS) {
      int rc = mmapio_resize(s->m, 8 * BENCH_MIB);
      if (rc == MMAPIO_OK) rc = mmapio_resize(s->m, BENCH_MIB);
      if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_resize", rc);
    } else {
      int rc = base_resize(r, s, (size_t)(8 * BENCH_MIB));
      if (rc == BENCH_RC_OK) rc = base_resize(r, s, (size_t)BENCH_MIB);
      if (rc != BENCH_RC_OK) return rc;
    }
  }
  *sec = bench_now() - t0;
  return BENCH_RC_OK;
}

void bench_teardown_create_same(bench_run *r)
{
  create_state *s = (create_state *)r->state;
  if (s == NULL) return;
  if (s->m != NULL) mmapio_close(s->m);
  if (s->p != NULL) munmap(s->p, s->len);
  if (s->fd >= 0) close(s->fd);
  bench_remove(s->path);
  bench_remove(s->path2);
  free(s);
  r->state = NULL;
}

#else /* not Linux */

static int setup_kind(bench_run *r, int kind)
{
  (void)kind;
  snprintf(r->note, sizeof r->note, "the baselines use fallocate, O_TMPFILE and mremap (Linux only)");
  return BENCH_RC_NA;
}

int bench_batch_create_same(bench_run *r, int side, uint64_t iters, double *sec)
{
  (void)r;
  (void)side;
  (void)iters;
  (void)sec;
  return BENCH_RC_NA;
}

int bench_batch_resize_same(bench_run *r, int side, uint64_t iters, double *sec)
{
  return bench_batch_create_same(r, side, iters, sec);
}

void bench_teardown_create_same(bench_run *r) { (void)r; }

#endif

int bench_setup_create_reserved(bench_run *r) { return setup_kind(r, CR_RESERVED); }
int bench_setup_create_reserved_excl(bench_run *r) { return setup_kind(r, CR_RESERVED_EXCL); }
int bench_setup_create_sparse(bench_run *r) { return setup_kind(r, CR_SPARSE); }
int bench_setup_resize_reserved(bench_run *r) { return setup_kind(r, RS_RESERVED); }
int bench_setup_resize_sparse(bench_run *r) { return setup_kind(r, RS_SPARSE); }
