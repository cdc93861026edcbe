/*
 * The reader (include/mmapio.h section 14): sequential reads, SEEK_SET/CUR/END, negative and
 * overflowing positions, reads past the end, every status, and a reader
 * that outlives resizes of its map.
 */
#include "test.h"

#include <stdio.h>

#define N 10000u

static void test_read_seek(mmapio_map *m)
{
  mmapio_reader r;
  uint8_t buf[N + 100];
  mmapio_reader_init(&r, m);
  ASSERT(r.map == m);
  ASSERT_U64_EQ(r.pos, 0);

  /* Sequential reads up to the end, then 0. */
  ASSERT_EQ(mmapio_reader_read(&r, buf, 3000), 3000);
  ASSERT(ext_check(buf, 3000, 0, 1));
  ASSERT_EQ(mmapio_reader_read(&r, buf, 6000), 6000);
  ASSERT(ext_check(buf, 6000, 3000, 1));
  ASSERT_EQ(mmapio_reader_read(&r, buf, sizeof buf), 1000); /* short: the rest */
  ASSERT(ext_check(buf, 1000, 9000, 1));
  ASSERT_EQ(mmapio_reader_read(&r, buf, sizeof buf), 0);
  ASSERT_EQ(mmapio_reader_read(&r, buf, 1), 0);
  ASSERT_U64_EQ(r.pos, N);

  /* Zero-byte reads, NULL buffer with and without a length. */
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_SET), 0);
  ASSERT_EQ(mmapio_reader_read(&r, buf, 0), 0);
  ASSERT_EQ(mmapio_reader_read(&r, NULL, 0), 0);
  ASSERT_STATUS((int)mmapio_reader_read(&r, NULL, 1), MMAPIO_EINVAL);
  ASSERT_U64_EQ(r.pos, 0);

  /* SEEK_SET / SEEK_CUR / SEEK_END. */
  ASSERT_EQ(mmapio_reader_seek(&r, 4095, SEEK_SET), 4095);
  ASSERT_EQ(mmapio_reader_read(&r, buf, 10), 10);
  ASSERT(ext_check(buf, 10, 4095, 1));
  ASSERT_EQ(mmapio_reader_seek(&r, -10, SEEK_CUR), 4095);
  ASSERT_EQ(mmapio_reader_seek(&r, 5, SEEK_CUR), 4100);
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_CUR), 4100);
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_END), N);
  ASSERT_EQ(mmapio_reader_read(&r, buf, 10), 0);
  ASSERT_EQ(mmapio_reader_seek(&r, -1, SEEK_END), N - 1);
  ASSERT_EQ(mmapio_reader_read(&r, buf, 10), 1);
  ASSERT_EQ(buf[0], ext_pat(N - 1, 1));
  ASSERT_EQ(mmapio_reader_seek(&r, -(int64_t)N, SEEK_END), 0);

  /* Past the end is allowed; reads there return 0. */
  ASSERT_EQ(mmapio_reader_seek(&r, 100, SEEK_END), N + 100);
  ASSERT_EQ(mmapio_reader_read(&r, buf, 10), 0);
  ASSERT_EQ(mmapio_reader_seek(&r, INT64_MAX, SEEK_SET), INT64_MAX);
  ASSERT_EQ(mmapio_reader_read(&r, buf, 10), 0);

  /* Negative results, overflow and unknown whence: EINVAL, position kept. */
  ASSERT_EQ(mmapio_reader_seek(&r, 50, SEEK_SET), 50);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, -51, SEEK_CUR), MMAPIO_EINVAL);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, -1, SEEK_SET), MMAPIO_EINVAL);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, -(int64_t)N - 1, SEEK_END), MMAPIO_EINVAL);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, INT64_MIN, SEEK_END), MMAPIO_EINVAL);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, 0, 42), MMAPIO_EINVAL);
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_CUR), 50);
  ASSERT_EQ(mmapio_reader_seek(&r, INT64_MAX, SEEK_SET), INT64_MAX);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, 1, SEEK_CUR), MMAPIO_EINVAL);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, INT64_MAX, SEEK_END), MMAPIO_EINVAL);
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_CUR), INT64_MAX);
  /* A position stored by hand beyond INT64_MAX is refused, not wrapped. */
  r.pos = (uint64_t)INT64_MAX + 10u;
  ASSERT_STATUS((int)mmapio_reader_seek(&r, 0, SEEK_CUR), MMAPIO_EINVAL);
  ASSERT_EQ(mmapio_reader_read(&r, buf, 10), 0);

  /* Reading the whole map in odd-sized pieces gives the file. */
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_SET), 0);
  size_t total = 0;
  for (;;) {
    int64_t k = mmapio_reader_read(&r, buf + total, 777);
    ASSERT(k >= 0);
    if (k == 0) break;
    total += (size_t)k;
  }
  ASSERT_EQ(total, N);
  ASSERT(ext_check(buf, N, 0, 1));
}

static void test_statuses(void)
{
  mmapio_reader r;
  uint8_t b[4];
  mmapio_reader_init(NULL, NULL); /* no-op */
  ASSERT_STATUS((int)mmapio_reader_read(NULL, b, 1), MMAPIO_EINVAL);
  ASSERT_STATUS((int)mmapio_reader_seek(NULL, 0, SEEK_SET), MMAPIO_EINVAL);
  mmapio_reader_init(&r, NULL);
  ASSERT_STATUS((int)mmapio_reader_read(&r, b, 1), MMAPIO_EINVAL);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, 0, SEEK_SET), MMAPIO_EINVAL);
}

static void test_empty(void)
{
  char *path = ext_make_file("reader-empty", 0, 1);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_ro(&m, path));
  mmapio_reader r;
  uint8_t b[4];
  mmapio_reader_init(&r, m);
  ASSERT_EQ(mmapio_reader_read(&r, b, sizeof b), 0);
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_END), 0);
  ASSERT_STATUS((int)mmapio_reader_seek(&r, -1, SEEK_END), MMAPIO_EINVAL);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* The reader re-reads the length on every call: resizes are seen. */
static void test_resize(void)
{
  char *path = ext_make_file("reader-resize", N, 2);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_rw(&m, path));
  mmapio_reader r;
  uint8_t b[N];
  mmapio_reader_init(&r, m);
  ASSERT_EQ(mmapio_reader_seek(&r, 9000, SEEK_SET), 9000);
  ASSERT_OK(mmapio_resize(m, 5000));
  ASSERT_EQ(mmapio_reader_read(&r, b, 10), 0);
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_END), 5000);
  ASSERT_OK(mmapio_resize(m, 12000));
  ASSERT_EQ(mmapio_reader_read(&r, b, sizeof b), 7000);
  for (size_t i = 0; i < 7000; i++) ASSERT_EQ(b[i], 0); /* grown bytes read zero */
  ASSERT_EQ(mmapio_reader_seek(&r, 4990, SEEK_SET), 4990);
  ASSERT_EQ(mmapio_reader_read(&r, b, 20), 20);
  ASSERT(ext_check(b, 10, 4990, 2));

  /* The reader shares the map's lock: it refuses to wait for this thread's
   * own write view (EDEADLK) and leaves the position alone. */
  mmapio_view_mut v;
  ASSERT_OK(mmapio_view_get_mut(&v, m, 0, 1));
  ASSERT_STATUS((int)mmapio_reader_read(&r, b, 10), MMAPIO_EDEADLK);
  ASSERT_EQ(mmapio_reader_seek(&r, 0, SEEK_CUR), 5010);
  ASSERT_OK(mmapio_view_mut_release(&v));
  ASSERT_EQ(mmapio_reader_read(&r, b, 10), 10);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

int main(void)
{
  char *path = ext_make_file("reader", N, 1);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_ro(&m, path));
  test_read_seek(m);
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_open_rw(&m, path));
  test_read_seek(m);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
  test_statuses();
  test_empty();
  test_resize();
  printf("ok\n");
  return 0;
}
