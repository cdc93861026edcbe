/*
 * bench_append.c -- the append_4k workload: journal-like records (a 4-byte
 * header, 4096 bytes of payload, a 4-byte trailer) appended to a fresh file.
 *
 * ours: mmapio_append on a map opened with MMAPIO_OPEN_ALLOW_EMPTY and a
 *       1 GiB max_size (the capacity grows in place, in geometric steps),
 *       then mmapio_close, which cuts the file to the logical end.
 * base: pwrite of each record at the end of the file, then close.
 * Neither side flushes (durability is measured by the flush workloads).
 * Each pass writes 16 MiB to a fresh file; the create is untimed, the close
 * is timed on both sides.
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE 1
#endif

#include "bench_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#  include <fcntl.h>
#  include <unistd.h>
#  ifndef O_CLOEXEC
#    define O_CLOEXEC 0
#  endif
#endif

#define APPEND_REC 4104u

typedef struct append_state {
  char path[1024], path2[1024];
  uint8_t rec[APPEND_REC];
  uint64_t per_pass;
} append_state;

int bench_setup_append_4k(bench_run *r)
{
#ifdef _WIN32
  snprintf(r->note, sizeof r->note, "the pwrite baseline is POSIX only");
  return BENCH_RC_NA;
#else
  append_state *s = (append_state *)calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(r->error, sizeof r->error, "out of memory");
    return BENCH_RC_ERROR;
  }
  r->state = s;
  for (size_t i = 0; i < APPEND_REC; i++) s->rec[i] = (uint8_t)(i * 13u + 5u);
  s->per_pass = (r->cfg->smoke ? BENCH_MIB : 16 * BENCH_MIB) / APPEND_REC;
  bench_path(s->path, sizeof s->path, r->cfg, "append_ours");
  bench_path(s->path2, sizeof s->path2, r->cfg, "append_base");
  r->bytes_per_op = (double)APPEND_REC;
  r->io_bound = 1;
  snprintf(r->note, sizeof r->note,
           "records of 4+4096+4 bytes, a fresh file per %llu records in %s (%s); ours: "
           "mmapio_append (max_size 1 GiB) + close; base: pwrite at the end + close; no flush",
           (unsigned long long)s->per_pass, r->cfg->dir, r->cfg->fs_name);
  return BENCH_RC_OK;
#endif
}

#ifndef _WIN32
static int pass_ours(bench_run *r, append_state *s, uint64_t n, double *sec)
{
  mmapio_options o;
  mmapio_map *m = NULL;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_ALLOW_EMPTY |
            (r->cfg->sparse ? MMAPIO_OPEN_SPARSE : 0u);
  o.size = 0;
  o.max_size = BENCH_GIB;
  int rc = mmapio_open(&m, s->path, &o);
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_open", rc);
  double t0 = bench_now();
  for (uint64_t i = 0; i < n; i++) {
    s->rec[0] = (uint8_t)i;
    rc = mmapio_append(m, s->rec, APPEND_REC, NULL);
    if (rc != MMAPIO_OK) {
      mmapio_close(m);
      return bench_fail(r, "mmapio_append", rc);
    }
  }
  rc = mmapio_close(m);
  *sec += bench_now() - t0;
  if (rc != MMAPIO_OK) return bench_fail(r, "mmapio_close", rc);
  return BENCH_RC_OK;
}

static int pass_base(bench_run *r, append_state *s, uint64_t n, double *sec)
{
  int fd = open(s->path2, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return bench_fail_os(r, "open", s->path2);
  double t0 = bench_now();
  uint64_t end = 0;
  for (uint64_t i = 0; i < n; i++) {
    s->rec[0] = (uint8_t)i;
    ssize_t w = pwrite(fd, s->rec, APPEND_REC, (off_t)end);
    if (w != (ssize_t)APPEND_REC) {
      close(fd);
      return bench_fail_os(r, "pwrite", s->path2);
    }
    end += APPEND_REC;
  }
  int crc = close(fd);
  *sec += bench_now() - t0;
  if (crc != 0) return bench_fail_os(r, "close", s->path2);
  return BENCH_RC_OK;
}
#endif

int bench_batch_append_4k(bench_run *r, int side, uint64_t iters, double *sec)
{
#ifdef _WIN32
  (void)r; (void)side; (void)iters; (void)sec;
  return BENCH_RC_NA;
#else
  append_state *s = (append_state *)r->state;
  double total = 0.0;
  while (iters > 0) {
    uint64_t n = iters < s->per_pass ? iters : s->per_pass;
    int rc = side == BENCH_OURS ? pass_ours(r, s, n, &total) : pass_base(r, s, n, &total);
    if (rc != BENCH_RC_OK) return rc;
    iters -= n;
  }
  *sec = total;
  return BENCH_RC_OK;
#endif
}

void bench_teardown_append_4k(bench_run *r)
{
  append_state *s = (append_state *)r->state;
  if (s == NULL) return;
  bench_remove(s->path);
  bench_remove(s->path2);
  free(s);
  r->state = NULL;
}
