/*
 * test_posix_map.c -- mappings of the POSIX backend: map modes, empty maps,
 * reservations, moving resize of file and anonymous (private and shared)
 * maps with the zero-tail rule, failure paths, and the calls a flush makes
 * at each durability level.
 */
#include "test.h"

#include <stdlib.h>
#include <sys/wait.h>

static int open_sized(const char *p, uint64_t len)
{
  int fd = -1;
  ASSERT_OK(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0));
  ASSERT_OK(mmapio__os_file_set_size(fd, 0, len, 0, p));
  return fd;
}

/* Bytes of the file read back with pread (not through the mapping). */
static void file_bytes(int fd, uint64_t off, uint8_t *out, uint64_t n)
{
  ASSERT_EQ(pread(fd, out, (size_t)n, (off_t)off), (ssize_t)n);
}

static void test_map_modes(void)
{
  char *p = test_tmp_path("map");
  int fd = open_sized(p, 10000);
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  ASSERT_OK(mmapio__os_map(&om, fd, MMAPIO_MODE_READ_WRITE, 10000, 10000, 0, p));
  ASSERT(om.base != NULL);
  ASSERT_U64_EQ(om.reserved, 10000);
  ASSERT(om.handle == NULL);
  os_fill_pat(om.base, 10000);
  uint8_t *back = (uint8_t *)malloc(10000);
  file_bytes(fd, 0, back, 10000);
  ASSERT(os_check_pat(back, 10000)); /* shared: visible through the file */
  mmapio__os_unmap(&om, 10000);
  ASSERT(om.base == NULL);
  ASSERT_U64_EQ(om.reserved, 0);

  /* Copy-on-write over a read-only descriptor: writes stay private. */
  int ro = -1;
  ASSERT_OK(mmapio__os_open(&ro, p, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0));
  ASSERT_OK(mmapio__os_map(&om, ro, MMAPIO_MODE_COPY_ON_WRITE, 10000, 10000, 0, p));
  ASSERT(os_check_pat(om.base, 10000));
  memset(om.base, 0xEE, 100);
  file_bytes(fd, 0, back, 10000);
  ASSERT(os_check_pat(back, 10000));
  mmapio__os_unmap(&om, 10000);

  /* Read only: reads the file. */
  ASSERT_OK(mmapio__os_map(&om, ro, MMAPIO_MODE_READ_ONLY, 10000, 10000, 0, p));
  ASSERT(os_check_pat(om.base, 10000));
  mmapio__os_unmap(&om, 10000);

  /* A read-write shared map needs a writable descriptor. */
  ASSERT_STATUS(mmapio__os_map(&om, ro, MMAPIO_MODE_READ_WRITE, 10000, 10000, 0, p), MMAPIO_EACCES);
  ASSERT_MSG_HAS("mmap(");
  ASSERT_MSG_HAS(p);
  ASSERT(om.base == NULL);

  /* An empty read-only file: no mapping and no mmap call at all. */
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_map(&om, ro, MMAPIO_MODE_READ_ONLY, 0, 0, 0, p));
  ASSERT(om.base == NULL);
  ASSERT_U64_EQ(om.reserved, 0);
  ASSERT_EQ(mmapio__sys_count("mmap"), 0);
  mmapio__os_unmap(&om, 0);
  ASSERT_EQ(mmapio__sys_count("munmap"), 0);

  /* Injected mmap failure. */
  if (MMAPIO__HOOKS) {
    mmapio__sys_fail_nth("mmap", 1, ENOMEM);
    ASSERT_STATUS(mmapio__os_map(&om, fd, MMAPIO_MODE_READ_WRITE, 10000, 10000, 0, p), MMAPIO_ENOMEM);
    ASSERT(om.base == NULL);
    mmapio__sys_reset();
  }
  mmapio__os_close_file(ro);
  mmapio__os_close_file(fd);
  test_unlink(p);
  free(back);
  free(p);
}

/* Grow, shrink, grow again: kept bytes survive, grown bytes read zero,
 * including the tail of the last page after a shrink. `keep` is the
 * reservation asked for at open (0 = none). */
static void file_cycle(uint64_t keep)
{
  char *p = test_tmp_path("remap");
  const uint64_t a = 3 * os_pg() + 123;  /* first length */
  const uint64_t b = 9 * os_pg() + 77;   /* grown */
  const uint64_t c = os_pg() + 5;        /* shrunk (not page aligned) */
  const uint64_t d = 20 * os_pg() + 1;   /* grown again */
  int fd = open_sized(p, a);
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  om.keep = keep;
  uint64_t reserve = keep > a ? keep : a;
  ASSERT_OK(mmapio__os_map(&om, fd, MMAPIO_MODE_READ_WRITE, a, reserve, 0, p));
  os_fill_pat(om.base, a);

  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_remap(&om, fd, a, b, 0, p));
  ASSERT(om.reserved >= b);
  ASSERT_U64_EQ(fd_size(fd), b);
  ASSERT(os_check_pat(om.base, a));
  ASSERT(all_zero(om.base + a, b - a));
  if (MMAPIO__HOOKS) {
    ASSERT_EQ(mmapio__sys_count("fallocate"), 1); /* blocks reserved for the growth */
    if (keep >= b) {
      /* Within the reservation: nothing moves. */
      ASSERT_EQ(mmapio__sys_count("mremap") + mmapio__sys_count("mmap"), 0);
    } else {
      ASSERT_EQ(mmapio__sys_count(MMAPIO__LINUX ? "mremap" : "mmap"), 1);
    }
  }
  os_fill_pat(om.base, b);

  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_remap(&om, fd, b, c, 0, p));
  ASSERT_U64_EQ(fd_size(fd), c);
  ASSERT(os_check_pat(om.base, c));
  /* The reservation asked for at open is kept. */
  ASSERT(om.reserved >= c);
  ASSERT(om.reserved >= keep);
  if (keep == 0) ASSERT_U64_EQ(om.reserved, mmapio__round_up(c, os_pg()));

  ASSERT_OK(mmapio__os_remap(&om, fd, c, d, 0, p));
  ASSERT_U64_EQ(fd_size(fd), d);
  ASSERT(os_check_pat(om.base, c));
  ASSERT(all_zero(om.base + c, d - c));
  /* The file agrees with the mapping. */
  uint8_t *back = (uint8_t *)malloc((size_t)d);
  file_bytes(fd, 0, back, d);
  ASSERT(os_check_pat(back, c));
  ASSERT(all_zero(back + c, d - c));
  free(back);

  /* Sparse growth: no blocks reserved. */
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_remap(&om, fd, d, d + os_pg(), 1, p));
  if (MMAPIO__HOOKS) ASSERT_EQ(mmapio__sys_count("fallocate"), 0);
  ASSERT(all_zero(om.base + d, os_pg()));

  mmapio__os_unmap(&om, d + os_pg());
  mmapio__os_close_file(fd);
  test_unlink(p);
  free(p);
}

static void test_file_failures(void)
{
  if (!have_hooks("test_file_failures")) return;
  char *p = test_tmp_path("remapfail");
  const uint64_t a = 2 * os_pg() + 10;
  int fd = open_sized(p, a);
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  ASSERT_OK(mmapio__os_map(&om, fd, MMAPIO_MODE_READ_WRITE, a, a, 0, p));
  os_fill_pat(om.base, a);
  uint8_t *base = om.base;

  /* No disk space: mapping and length unchanged. */
  mmapio__sys_reset();
  mmapio__sys_fail_nth("fallocate", 1, ENOSPC);
  ASSERT_STATUS(mmapio__os_remap(&om, fd, a, 64 * os_pg(), 0, p), MMAPIO_ENOSPC);
  ASSERT(om.base == base);
  ASSERT_U64_EQ(om.reserved, a);
  ASSERT_U64_EQ(fd_size(fd), a);

  /* The mapping cannot move: the file length is put back. */
  mmapio__sys_fail_nth(MMAPIO__LINUX ? "mremap" : "mmap", 1, ENOMEM);
  ASSERT_STATUS(mmapio__os_remap(&om, fd, a, 64 * os_pg(), 0, p), MMAPIO_ENOMEM);
  ASSERT_MSG_HAS(MMAPIO__LINUX ? "mremap(" : "mmap(");
  ASSERT_MSG_HAS(p);
  ASSERT(om.base == base);
  ASSERT_U64_EQ(om.reserved, a);
  ASSERT_U64_EQ(fd_size(fd), a);
  ASSERT(os_check_pat(om.base, a));

  /* Shrinking: a failing ftruncate changes nothing. */
  mmapio__sys_fail_nth("ftruncate", 1, EIO);
  ASSERT_STATUS(mmapio__os_remap(&om, fd, a, 10, 0, p), MMAPIO_EIO);
  ASSERT(om.base == base);
  ASSERT_U64_EQ(om.reserved, a);
  ASSERT_U64_EQ(fd_size(fd), a);
  ASSERT(os_check_pat(om.base, a));
  mmapio__sys_reset();

  mmapio__os_unmap(&om, a);
  mmapio__os_close_file(fd);
  test_unlink(p);
  free(p);
}

static void anon_cycle(uint32_t flags, uint64_t keep)
{
  const uint64_t a = 5 * os_pg() + 3;
  const uint64_t b = 40 * os_pg() + 11;
  const uint64_t c = 2 * os_pg() + 9;
  const uint64_t d = 50 * os_pg();
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  om.keep = keep;
  ASSERT_OK(mmapio__os_map_anon(&om, a, flags));
  ASSERT_EQ(om.anon_shared, (flags & MMAPIO_ANON_SHARED) != 0);
  ASSERT(om.reserved >= a);
  ASSERT(all_zero(om.base, a));
  os_fill_pat(om.base, a);

  ASSERT_OK(mmapio__os_remap(&om, -1, a, b, 0, NULL));
  ASSERT(om.reserved >= b);
  ASSERT(os_check_pat(om.base, a));
  ASSERT(all_zero(om.base + a, b - a));
  os_fill_pat(om.base, b);

  ASSERT_OK(mmapio__os_remap(&om, -1, b, c, 0, NULL));
  ASSERT(om.reserved >= c);
  ASSERT(om.reserved >= keep);
  ASSERT(os_check_pat(om.base, c));

  ASSERT_OK(mmapio__os_remap(&om, -1, c, d, 0, NULL));
  ASSERT(os_check_pat(om.base, c));
  ASSERT(all_zero(om.base + c, d - c));

  /* Shrink within the reservation and grow back: still zero. */
  os_fill_pat(om.base, d);
  ASSERT_OK(mmapio__os_remap(&om, -1, d, 7, 0, NULL));
  ASSERT_OK(mmapio__os_remap(&om, -1, 7, 3 * os_pg(), 0, NULL));
  ASSERT(os_check_pat(om.base, 7));
  ASSERT(all_zero(om.base + 7, 3 * os_pg() - 7));

  /* Flushing anonymous memory does nothing. */
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_flush(&om, -1, 0, os_pg(), MMAPIO_DURABLE_FULL, NULL));
  if (MMAPIO__HOOKS) ASSERT_EQ(mmapio__sys_count(NULL), 0);

  /* Failure to move keeps the old mapping. */
  if (MMAPIO__HOOKS) {
    uint8_t *base = om.base;
    uint64_t res = om.reserved;
    const char *moving = (MMAPIO__LINUX && !(flags & MMAPIO_ANON_SHARED)) ? "mremap" : "mmap";
    mmapio__sys_fail_nth(moving, 1, ENOMEM);
    ASSERT_STATUS(mmapio__os_remap(&om, -1, 3 * os_pg(), 100 * os_pg() + keep, 0, NULL), MMAPIO_ENOMEM);
    ASSERT(om.base == base);
    ASSERT_U64_EQ(om.reserved, res);
    ASSERT(os_check_pat(om.base, 7));
    mmapio__sys_reset();
  }
  mmapio__os_unmap(&om, 3 * os_pg());
  ASSERT(om.base == NULL);
}

/* A shared anonymous map is shared with a child forked after it. */
static void test_anon_shared_fork(void)
{
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  ASSERT_OK(mmapio__os_map_anon(&om, os_pg(), MMAPIO_ANON_SHARED));
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    om.base[0] = 42;
    _exit(0);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_EQ(om.base[0], 42);
  mmapio__os_unmap(&om, os_pg());

  /* Private: the child's write stays in the child. */
  ASSERT_OK(mmapio__os_map_anon(&om, os_pg(), 0));
  pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    om.base[0] = 42;
    _exit(0);
  }
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT_EQ(om.base[0], 0);
  mmapio__os_unmap(&om, os_pg());
}

static void test_grow_in_place(void)
{
  char *p = test_tmp_path("inplace");
  int fd = open_sized(p, os_pg());
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  om.keep = 16 * os_pg();
  ASSERT_OK(mmapio__os_map(&om, fd, MMAPIO_MODE_READ_WRITE, os_pg(), 16 * os_pg(), 0, p));
  uint8_t *base = om.base;
  ASSERT_OK(mmapio__os_file_set_size(fd, os_pg(), 10 * os_pg(), 0, p));
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_grow_in_place(&om, fd, os_pg(), 10 * os_pg(), p));
  if (MMAPIO__HOOKS) ASSERT_EQ(mmapio__sys_count(NULL), 0);
  ASSERT(om.base == base);
  /* The new pages are usable at once and reach the file. */
  om.base[10 * os_pg() - 1] = 0x5A;
  uint8_t v = 0;
  ASSERT_EQ(pread(fd, &v, 1, (off_t)(10 * os_pg() - 1)), 1);
  ASSERT_EQ(v, 0x5A);
  ASSERT_STATUS(mmapio__os_grow_in_place(&om, fd, 10 * os_pg(), 17 * os_pg(), p), MMAPIO_EINVAL);
  mmapio__os_unmap(&om, 10 * os_pg());
  mmapio__os_close_file(fd);
  test_unlink(p);
  free(p);
}

static size_t record_flush(mmapio__os_mapping *om, int fd, uint64_t off, uint64_t len,
                           mmapio_durability d, const char *p, mmapio__sys_call *rec, size_t max)
{
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio__os_flush(om, fd, off, len, d, p));
  return mmapio__sys_record_stop(rec, max);
}

static void test_flush_calls(void)
{
  if (!have_hooks("test_flush_calls")) return;
  char *p = test_tmp_path("flush");
  int fd = open_sized(p, 8 * os_pg());
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  ASSERT_OK(mmapio__os_map(&om, fd, MMAPIO_MODE_READ_WRITE, 8 * os_pg(), 8 * os_pg(), 0, p));
  memset(om.base, 0xAB, (size_t)(8 * os_pg()));
  mmapio__sys_call rec[16];

  /* DATA: exactly one msync(MS_SYNC) over the range. */
  size_t n = record_flush(&om, fd, 2 * os_pg(), 3 * os_pg(), MMAPIO_DURABLE_DATA, p, rec, 16);
  ASSERT_EQ(n, 1);
  ASSERT_STREQ(rec[0].name, "msync");
  ASSERT_U64_EQ(rec[0].a, (uint64_t)(uintptr_t)(om.base + 2 * os_pg()));
  ASSERT_U64_EQ(rec[0].b, 3 * os_pg());
  ASSERT_EQ(rec[0].flags, MS_SYNC);

  /* FULL: msync(MS_SYNC), then the device cache. */
  n = record_flush(&om, fd, 0, 8 * os_pg(), MMAPIO_DURABLE_FULL, p, rec, 16);
  ASSERT_EQ(n, 2);
  ASSERT_STREQ(rec[0].name, "msync");
  ASSERT_EQ(rec[0].flags, MS_SYNC);
  ASSERT_U64_EQ(rec[0].b, 8 * os_pg());
  ASSERT_STREQ(rec[1].name, MMAPIO__APPLE ? "fcntl_fullfsync" : "fsync");

  /* NONE: writeback started (Linux sync_file_range), never MS_SYNC. */
  n = record_flush(&om, fd, os_pg(), 2 * os_pg(), MMAPIO_DURABLE_NONE, p, rec, 16);
  ASSERT_EQ(n, 1);
#if MMAPIO__LINUX
  ASSERT_STREQ(rec[0].name, "sync_file_range");
  ASSERT_U64_EQ(rec[0].a, os_pg());
  ASSERT_U64_EQ(rec[0].b, 2 * os_pg());
  ASSERT_EQ(rec[0].flags, SYNC_FILE_RANGE_WRITE);
#else
  ASSERT_STREQ(rec[0].name, "msync");
  ASSERT_EQ(rec[0].flags, MS_ASYNC);
#endif

  /* A range past the mapping is clamped, never passed to msync. */
  n = record_flush(&om, fd, 6 * os_pg(), 100 * os_pg(), MMAPIO_DURABLE_DATA, p, rec, 16);
  ASSERT_EQ(n, 1);
  ASSERT_U64_EQ(rec[0].b, 2 * os_pg());

  /* Failures are reported with the call and path. */
  mmapio__sys_reset();
  mmapio__sys_fail_nth("msync", 1, EIO);
  ASSERT_STATUS(mmapio__os_flush(&om, fd, 0, os_pg(), MMAPIO_DURABLE_DATA, p), MMAPIO_EIO);
  ASSERT_MSG_HAS("msync(");
  ASSERT_MSG_HAS(p);
  mmapio__sys_fail_nth("fsync", 1, EIO);
  ASSERT_STATUS(mmapio__os_flush(&om, fd, 0, os_pg(), MMAPIO_DURABLE_FULL, p), MMAPIO_EIO);
  ASSERT_MSG_HAS("fsync(");
  /* An msync failure stops before fsync. */
  mmapio__sys_reset();
  mmapio__sys_fail_nth("msync", 1, EIO);
  ASSERT_STATUS(mmapio__os_flush(&om, fd, 0, os_pg(), MMAPIO_DURABLE_FULL, p), MMAPIO_EIO);
  ASSERT_EQ(mmapio__sys_count("fsync"), 0);
  mmapio__sys_reset();

  /* The data did reach the file. */
  uint8_t v = 0;
  ASSERT_EQ(pread(fd, &v, 1, (off_t)(5 * os_pg())), 1);
  ASSERT_EQ(v, 0xAB);
  mmapio__os_unmap(&om, 8 * os_pg());
  mmapio__os_close_file(fd);
  test_unlink(p);
  free(p);
}

/* The public API on top: mmapio_flush of a READ_WRITE map issues
 * msync(MS_SYNC) (the end-to-end claim of the durability table). */
static void test_flush_public(void)
{
  if (!have_hooks("test_flush_public")) return;
  char *p = test_tmp_path("flushapi");
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_create_rw(&m, p, 3 * os_pg()));
  ASSERT_OK(mmapio_write(m, os_pg() + 1, "x", 1));
  mmapio__sys_call rec[64];
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio_flush(m));
  size_t n = mmapio__sys_record_stop(rec, 64);
  size_t msyncs = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(rec[i].name, "msync") == 0) {
      ASSERT_EQ(rec[i].flags, MS_SYNC);
      msyncs++;
    }
    ASSERT(strcmp(rec[i].name, "sync_file_range") != 0);
  }
  ASSERT(msyncs >= 1);
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
}

int main(void)
{
  test_map_modes();
  file_cycle(0);
  file_cycle(4 * os_pg());
  file_cycle(64 * os_pg());
  test_file_failures();
  anon_cycle(0, 0);
  anon_cycle(MMAPIO_ANON_SHARED, 0);
  anon_cycle(0, 64 * os_pg());
  anon_cycle(MMAPIO_ANON_SHARED, 64 * os_pg());
  test_anon_shared_fork();
  test_grow_in_place();
  test_flush_calls();
  test_flush_public();
  printf("ok\n");
  return 0;
}
