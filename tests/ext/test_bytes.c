/*
 * Byte buffers (include/mmapio.h section 14): zero-copy on read-only maps, private copies on
 * RW/COW/anonymous maps; valid after mmapio_close and after the file is
 * removed; immutable; reference counting (also from several threads);
 * every status; the zero-length and bounds edges; use as an iovec.
 */
#include "test.h"

#ifndef _WIN32
#  include <fcntl.h>
#  include <pthread.h>
#  include <sys/uio.h>
#  include <unistd.h>
#endif

#define N 20000u /* more than a page, not a multiple of it */

static void check_statuses(mmapio_map *m, uint64_t total)
{
  mmapio_bytes b;
  ASSERT_STATUS(mmapio_bytes_get(NULL, m, 0, 1), MMAPIO_EINVAL);
  b.data = (const uint8_t *)"x";
  b.len = 1;
  b.owner_ = &b;
  ASSERT_STATUS(mmapio_bytes_get(&b, NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT(b.data == NULL && b.len == 0 && b.owner_ == NULL); /* cleared on failure */
  /* Bounds, with the exact message; zero-length buffers are bounds-checked. */
  EXT_ASSERT_BOUNDS(mmapio_bytes_get(&b, m, total + 1, 0), total + 1, 0, total);
  EXT_ASSERT_BOUNDS(mmapio_bytes_get(&b, m, 0, total + 1), 0, total + 1, total);
  EXT_ASSERT_BOUNDS(mmapio_bytes_get(&b, m, total, 1), total, 1, total);
  EXT_ASSERT_BOUNDS(mmapio_bytes_get(&b, m, UINT64_MAX, 1), UINT64_MAX, 1, total);
  EXT_ASSERT_BOUNDS(mmapio_bytes_get(&b, m, 1, UINT64_MAX), 1, UINT64_MAX, total);
  ASSERT(b.data == NULL && b.owner_ == NULL);
  /* Zero-length at the end and at 0: OK, a non-NULL pointer, nothing owned. */
  ASSERT_OK(mmapio_bytes_get(&b, m, total, 0));
  ASSERT(b.data != NULL);
  ASSERT_EQ(b.len, 0);
  mmapio_bytes c;
  ASSERT_OK(mmapio_bytes_retain(&c, &b));
  ASSERT_EQ(c.len, 0);
  mmapio_bytes_release(&c);
  mmapio_bytes_release(&b);
  ASSERT_OK(mmapio_bytes_get(&b, m, 0, 0));
  mmapio_bytes_release(&b);
  /* retain argument checks. */
  ASSERT_OK(mmapio_bytes_get(&b, m, 0, 1));
  ASSERT_STATUS(mmapio_bytes_retain(NULL, &b), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_bytes_retain(&c, NULL), MMAPIO_EINVAL);
  mmapio_bytes_release(&b);
  ASSERT(b.data == NULL && b.len == 0 && b.owner_ == NULL);
  /* Releasing NULL or an already released buffer is a no-op. */
  mmapio_bytes_release(NULL);
  mmapio_bytes_release(&b);
  /* Retaining a released buffer gives another released buffer. */
  ASSERT_OK(mmapio_bytes_retain(&c, &b));
  ASSERT(c.data == NULL && c.owner_ == NULL);
  mmapio_bytes_release(&c);
}

/* Read-only: zero-copy, and alive after close and unlink. */
static void test_read_only(void)
{
  char *path = ext_make_file("bytes-ro", N, 1);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_ro(&m, path));
  check_statuses(m, N);

  mmapio_bytes all, mid, copy;
  ASSERT_OK(mmapio_bytes_get(&all, m, 0, N));
  ASSERT_OK(mmapio_bytes_get(&mid, m, 4090, 100));
  ASSERT(all.data == (const uint8_t *)mmapio_unsafe_ptr(m)); /* zero-copy */
  ASSERT(mid.data == all.data + 4090);
  ASSERT_EQ(mid.len, 100);
  ASSERT(ext_check(all.data, N, 0, 1));

  /* The buffers hold references: close succeeds and changes nothing for them. */
  ASSERT_OK(mmapio_close(m));
  ASSERT(ext_check(all.data, N, 0, 1));
#ifndef _WIN32
  /* Removing the file does not invalidate the mapping behind the buffers. */
  ASSERT_OK(mmapio_remove_file(path));
  ASSERT(ext_check(mid.data, mid.len, 4090, 1));
#endif
  ASSERT_OK(mmapio_bytes_retain(&copy, &all));
  ASSERT(copy.data == all.data && copy.len == all.len);
  mmapio_bytes_release(&all);
  ASSERT(ext_check(copy.data, N, 0, 1)); /* still one reference */
  mmapio_bytes_release(&mid);
  ASSERT(ext_check(copy.data, N, 0, 1));
  mmapio_bytes_release(&copy); /* the last one: the map goes (ASan checks) */
  test_unlink(path);
  free(path);
}

/* An empty file maps read-only as length 0: only zero-length buffers. */
static void test_empty_read_only(void)
{
  char *path = ext_make_file("bytes-empty", 0, 1);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_ro(&m, path));
  mmapio_bytes b;
  ASSERT_OK(mmapio_bytes_get(&b, m, 0, 0));
  ASSERT_EQ(b.len, 0);
  mmapio_bytes_release(&b);
  EXT_ASSERT_BOUNDS(mmapio_bytes_get(&b, m, 0, 1), 0, 1, 0);
  EXT_ASSERT_BOUNDS(mmapio_bytes_get(&b, m, 1, 0), 1, 0, 0);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* Read-write, copy-on-write and anonymous: private copies that later
 * writes, resizes, close and unlink do not touch. */
static void test_writable(mmapio_mode mode)
{
  char *path = ext_make_file("bytes-rw", N, 2);
  mmapio_map *m;
  if (mode == MMAPIO_MODE_READ_WRITE) {
    ASSERT_OK(mmapio_open_rw(&m, path));
  } else {
    int rc = mmapio_open_cow(&m, path);
    if (rc == MMAPIO_ENOTSUP) {
      printf("COW not available: %s\n", mmapio_last_error());
      test_unlink(path);
      free(path);
      return;
    }
    ASSERT_OK(rc);
  }
  check_statuses(m, N);

  mmapio_bytes b, c;
  ASSERT_OK(mmapio_bytes_get(&b, m, 100, 5000));
  const uint8_t *base = (const uint8_t *)mmapio_unsafe_ptr(m);
  ASSERT(b.data < base || b.data >= base + N); /* a copy, not the mapping */
  ASSERT(ext_check(b.data, 5000, 100, 2));
  /* Writes to the map do not show in the buffer: it is immutable. */
  uint8_t junk[5000];
  memset(junk, 0xEE, sizeof junk);
  ASSERT_OK(mmapio_write(m, 100, junk, sizeof junk));
  ASSERT(ext_check(b.data, 5000, 100, 2));
  ASSERT_OK(mmapio_bytes_get(&c, m, 100, 10));
  ASSERT_EQ(c.data[0], 0xEE);
  mmapio_bytes_release(&c);
  if (mode == MMAPIO_MODE_READ_WRITE) {
    /* A moving resize does not affect the buffer either. */
    ASSERT_OK(mmapio_resize(m, 3 * N));
    ASSERT_OK(mmapio_resize(m, 200));
    ASSERT(ext_check(b.data, 5000, 100, 2));
#ifndef _WIN32
    /* A buffer cannot be made while this thread holds a write view: the
     * copy needs the shared lock (EDEADLK, not a hang). */
    mmapio_view_mut v;
    ASSERT_OK(mmapio_view_get_mut(&v, m, 0, 10));
    ASSERT_STATUS(mmapio_bytes_get(&c, m, 0, 10), MMAPIO_EDEADLK);
    ASSERT(c.owner_ == NULL);
    ASSERT_OK(mmapio_view_mut_release(&v));
#endif
  }
  ASSERT_OK(mmapio_close(m));
  ASSERT(ext_check(b.data, 5000, 100, 2));
  test_unlink(path);
  ASSERT(ext_check(b.data, 5000, 100, 2));
  mmapio_bytes_release(&b);
  free(path);
}

static void test_anonymous(void)
{
  mmapio_map *m;
  ASSERT_OK(mmapio_anon(&m, N, 0));
  uint8_t buf[300];
  ext_fill(buf, sizeof buf, 0, 3);
  ASSERT_OK(mmapio_write(m, 1000, buf, sizeof buf));
  mmapio_bytes b;
  ASSERT_OK(mmapio_bytes_get(&b, m, 1000, sizeof buf));
  ASSERT_OK(mmapio_close(m));
  ASSERT(ext_check(b.data, sizeof buf, 0, 3));
  mmapio_bytes_release(&b);
}

#ifndef _WIN32
/* Buffers of both kinds go straight into writev. */
static void test_writev(void)
{
  char *ro_path = ext_make_file("bytes-iov-ro", N, 4);
  char *rw_path = ext_make_file("bytes-iov-rw", N, 5);
  char *out_path = test_tmp_path("bytes-iov-out");
  mmapio_map *ro, *rw;
  ASSERT_OK(mmapio_open_ro(&ro, ro_path));
  ASSERT_OK(mmapio_open_rw(&rw, rw_path));
  mmapio_bytes b[3];
  ASSERT_OK(mmapio_bytes_get(&b[0], ro, 10, 3000));
  ASSERT_OK(mmapio_bytes_get(&b[1], rw, 7000, 9000));
  ASSERT_OK(mmapio_bytes_get(&b[2], ro, N, 0));
  ASSERT_OK(mmapio_close(ro));
  ASSERT_OK(mmapio_close(rw));

  struct iovec iov[3];
  for (int i = 0; i < 3; i++) {
    iov[i].iov_base = (void *)(uintptr_t)b[i].data; /* writev does not write to it */
    iov[i].iov_len = b[i].len;
  }
  int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(writev(fd, iov, 3), 12000);
  ASSERT_EQ(close(fd), 0);
  size_t len;
  uint8_t *got = (uint8_t *)test_read_file(out_path, &len);
  ASSERT(got != NULL);
  ASSERT_EQ(len, 12000);
  ASSERT(ext_check(got, 3000, 10, 4));
  ASSERT(ext_check(got + 3000, 9000, 7000, 5));
  free(got);
  for (int i = 0; i < 3; i++) mmapio_bytes_release(&b[i]);
  test_unlink(ro_path);
  test_unlink(rw_path);
  test_unlink(out_path);
  free(ro_path);
  free(rw_path);
  free(out_path);
}

/* Retain and release race from several threads on shared buffers. */
static mmapio_bytes shared_ro, shared_rw;

static void *retain_release_thread(void *arg)
{
  (void)arg;
  for (int i = 0; i < 20000; i++) {
    mmapio_bytes a, b;
    ASSERT_OK(mmapio_bytes_retain(&a, &shared_ro));
    ASSERT_OK(mmapio_bytes_retain(&b, &shared_rw));
    ASSERT_EQ(a.data[7], ext_pat(7, 6));
    ASSERT_EQ(b.data[7], ext_pat(7, 7));
    mmapio_bytes_release(&b);
    mmapio_bytes_release(&a);
  }
  return NULL;
}

static void test_threads(void)
{
  char *p1 = ext_make_file("bytes-thr-ro", N, 6);
  char *p2 = ext_make_file("bytes-thr-rw", N, 7);
  mmapio_map *ro, *rw;
  ASSERT_OK(mmapio_open_ro(&ro, p1));
  ASSERT_OK(mmapio_open_rw(&rw, p2));
  ASSERT_OK(mmapio_bytes_get(&shared_ro, ro, 0, N));
  ASSERT_OK(mmapio_bytes_get(&shared_rw, rw, 0, N));
  ASSERT_OK(mmapio_close(ro));
  ASSERT_OK(mmapio_close(rw));
  pthread_t t[4];
  for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_create(&t[i], NULL, retain_release_thread, NULL), 0);
  for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
  ASSERT(ext_check(shared_ro.data, N, 0, 6));
  mmapio_bytes_release(&shared_ro);
  mmapio_bytes_release(&shared_rw);
  test_unlink(p1);
  test_unlink(p2);
  free(p1);
  free(p2);
}
#endif

int main(void)
{
#if !MMAPIO_WITH_BYTES
  {
    mmapio_map *m;
    mmapio_bytes b;
    ASSERT_OK(mmapio_anon(&m, 100, 0));
    ASSERT_STATUS(mmapio_bytes_get(&b, m, 0, 1), MMAPIO_ENOTSUP);
    ASSERT(b.owner_ == NULL);
    ASSERT_OK(mmapio_close(m));
    TEST_SKIP("the BYTES feature is compiled out (stubs checked)");
  }
#endif
  test_read_only();
  test_empty_read_only();
  test_writable(MMAPIO_MODE_READ_WRITE);
  test_writable(MMAPIO_MODE_COPY_ON_WRITE);
  test_anonymous();
#ifndef _WIN32
  test_writev();
  test_threads();
#endif
  printf("ok\n");
  return 0;
}
