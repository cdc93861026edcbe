/*
 * test_iter.c -- chunk/page iteration (include/mmapio.h section 8): exact counts and
 * contents, chunk 0 and empty maps, remaining, every mode, mut iteration
 * (exclusive, counted by the flush policy, private on COW), the lock held for
 * the iterator's life (close EBUSY, EDEADLK), and the ENOTSUP stubs.
 */
#include "test.h"

static size_t count_items(mmapio_map *m, size_t chunk)
{
  mmapio_iter it;
  mmapio_chunk c;
  size_t n = 0;
  ASSERT_OK(mmapio_chunks(&it, m, chunk));
  while (mmapio_iter_next(&c, &it) == 1) n++;
  mmapio_iter_end(&it);
  return n;
}

/* 100 bytes at chunk 7: fourteen chunks of 7, then one of 2, with the right
 * offsets, pointers and bytes; remaining is exact at every step. */
static void test_exact_chunks(mmapio_mode mode)
{
  char *path = mk_file("iter", 100, 3);
  mmapio_options o = opts(mode, 0, 0);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, path, &o));
  const uint8_t *base = (const uint8_t *)mmapio_unsafe_ptr(m);

  mmapio_iter it;
  mmapio_chunk c;
  ASSERT_OK(mmapio_chunks(&it, m, 7));
  ASSERT_EQ(mmapio_iter_remaining(&it), 15);
  for (size_t i = 0; i < 15; i++) {
    ASSERT_EQ(mmapio_iter_next(&c, &it), 1);
    ASSERT_U64_EQ(c.offset, i * 7);
    ASSERT_EQ(c.len, i < 14 ? 7 : 2);
    ASSERT(c.data == base + i * 7);
    ASSERT(pat_check(c.data, c.len, c.offset, 3));
    ASSERT_EQ(mmapio_iter_remaining(&it), 14 - i);
  }
  ASSERT_EQ(mmapio_iter_next(&c, &it), 0);
  ASSERT_EQ(mmapio_iter_next(&c, &it), 0); /* stays at the end */
  ASSERT_EQ(mmapio_iter_remaining(&it), 0);
  mmapio_iter_end(&it);
  mmapio_iter_end(&it); /* idempotent */
  ASSERT_EQ(mmapio_iter_remaining(&it), 0);
  ASSERT_STATUS(mmapio_iter_next(&c, &it), MMAPIO_EINVAL); /* ended */

  /* Other sizes: exact division, chunk 1, chunk larger than the map. */
  ASSERT_EQ(count_items(m, 10), 10);
  ASSERT_EQ(count_items(m, 1), 100);
  ASSERT_EQ(count_items(m, 100), 1);
  ASSERT_EQ(count_items(m, 1000), 1);
  ASSERT_EQ(count_items(m, (size_t)-1), 1);
  /* chunk 0 yields nothing and needs iter_end like any started iterator. */
  ASSERT_OK(mmapio_chunks(&it, m, 0));
  ASSERT_EQ(mmapio_iter_remaining(&it), 0);
  ASSERT_EQ(mmapio_iter_next(&c, &it), 0);
  mmapio_iter_end(&it);

  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

static void test_pages(void)
{
  size_t pg = mmapio_page_size();
  size_t len = 3 * pg + 100;
  char *path = mk_file("iterpg", len, 5);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_ro(&m, path));
  mmapio_iter it;
  mmapio_chunk c;
  ASSERT_OK(mmapio_pages(&it, m));
  ASSERT_EQ(mmapio_iter_remaining(&it), 4);
  size_t n = 0, total = 0;
  while (mmapio_iter_next(&c, &it) == 1) {
    ASSERT_U64_EQ(c.offset, n * pg);
    ASSERT_EQ(c.len, n < 3 ? pg : 100);
    ASSERT(pat_check(c.data, c.len, c.offset, 5));
    total += c.len;
    n++;
  }
  mmapio_iter_end(&it);
  ASSERT_EQ(n, 4);
  ASSERT_EQ(total, len);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* An empty file opened read-only is an empty map: nothing, for every chunk. */
static void test_empty_map(void)
{
  char *path = mk_file("iterempty", 0, 0);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_ro(&m, path));
  ASSERT_EQ(mmapio_len(m), 0);
  mmapio_iter it;
  mmapio_chunk c;
  ASSERT_OK(mmapio_chunks(&it, m, 7));
  ASSERT_EQ(mmapio_iter_remaining(&it), 0);
  ASSERT_EQ(mmapio_iter_next(&c, &it), 0);
  mmapio_iter_end(&it);
  ASSERT_OK(mmapio_pages(&it, m));
  ASSERT_EQ(mmapio_iter_next(&c, &it), 0);
  mmapio_iter_end(&it);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

static void test_arguments(void)
{
  char *path = mk_file("iterarg", 64, 1);
  mmapio_map *m = NULL, *ro = NULL;
  ASSERT_OK(mmapio_open_rw(&m, path));
  ASSERT_OK(mmapio_open_ro(&ro, path));
  mmapio_iter it;
  mmapio_chunk c;
  mmapio_chunk_mut cm;

  ASSERT_STATUS(mmapio_chunks(NULL, m, 4), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_chunks(&it, NULL, 4), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_pages(NULL, m), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_pages(&it, NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_chunks_mut(NULL, m, 4), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_chunks_mut(&it, NULL, 4), MMAPIO_EINVAL);
  /* Mut iteration needs a writable map: EMODE on RO, also for chunk 0. */
  ASSERT_STATUS(mmapio_chunks_mut(&it, ro, 4), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_chunks_mut(&it, ro, 0), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_iter_next(NULL, NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_iter_next_mut(NULL, NULL), MMAPIO_EINVAL);
  ASSERT_EQ(mmapio_iter_remaining(NULL), 0);
  mmapio_iter_end(NULL);

  /* A read iterator is not a mut iterator and the other way round. */
  ASSERT_OK(mmapio_chunks(&it, m, 16));
  ASSERT_STATUS(mmapio_iter_next_mut(&cm, &it), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_iter_next(NULL, &it), MMAPIO_EINVAL);
  ASSERT_EQ(mmapio_iter_next(&c, &it), 1); /* still usable */
  mmapio_iter_end(&it);
  ASSERT_OK(mmapio_chunks_mut(&it, m, 16));
  ASSERT_STATUS(mmapio_iter_next(&c, &it), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_iter_next_mut(NULL, &it), MMAPIO_EINVAL);
  ASSERT_EQ(mmapio_iter_next_mut(&cm, &it), 1);
  mmapio_iter_end(&it);

  ASSERT_OK(mmapio_close(ro));
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* Writes through a mut iterator reach the map (and the file on RW), and the
 * bytes handed out are counted by the flush policy when it ends. */
static void test_mut_rw(void)
{
  char *path = mk_file("itermut", 100, 2);
  mmapio_map *m = NULL;
  ASSERT_OK(open_policy(&m, path, MMAPIO_FLUSH_EVERY_BYTES, UINT64_C(1) << 40));
  mmapio_iter it;
  mmapio_chunk_mut c;
  ASSERT_OK(mmapio_chunks_mut(&it, m, 7));
  ASSERT_EQ(mmapio_iter_remaining(&it), 15);
  size_t n = 0;
  while (mmapio_iter_next_mut(&c, &it) == 1) {
    pat_fill(c.data, c.len, c.offset, 9);
    n++;
  }
  ASSERT_EQ(n, 15);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0); /* counted when it ends */
  mmapio_iter_end(&it);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 100);

  /* Only the bytes actually handed out are counted. */
  ASSERT_OK(mmapio_chunks_mut(&it, m, 30));
  ASSERT_EQ(mmapio_iter_next_mut(&c, &it), 1);
  mmapio_iter_end(&it);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 130);
  ASSERT_OK(mmapio_chunks_mut(&it, m, 0));
  mmapio_iter_end(&it);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 130);

  ASSERT_OK(mmapio_flush(m));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));
  ASSERT(file_has_pattern(path, 100, 9));

  /* ALWAYS: the end of a mut iteration flushes (the accumulator stays 0). */
  ASSERT_OK(open_policy(&m, path, MMAPIO_FLUSH_ALWAYS, 0));
  ASSERT_OK(mmapio_chunks_mut(&it, m, 64));
  while (mmapio_iter_next_mut(&c, &it) == 1) pat_fill(c.data, c.len, c.offset, 10);
  mmapio_iter_end(&it);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));
  ASSERT(file_has_pattern(path, 100, 10));
  test_unlink(path);
  free(path);
}

/* COW: mut iteration is allowed, and the bytes stay private. */
static void test_mut_cow(void)
{
  if (!has_cow()) return;
  char *path = mk_file("itercow", 100, 4);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_cow(&m, path));
  mmapio_iter it;
  mmapio_chunk_mut c;
  ASSERT_OK(mmapio_chunks_mut(&it, m, 7));
  while (mmapio_iter_next_mut(&c, &it) == 1) memset(c.data, 0xAB, c.len);
  mmapio_iter_end(&it);
  uint8_t buf[100];
  ASSERT_OK(mmapio_read(m, 0, buf, sizeof buf));
  ASSERT(all_bytes(buf, sizeof buf, 0xAB));
  ASSERT_OK(mmapio_close(m));
  ASSERT(file_has_pattern(path, 100, 4));
  test_unlink(path);
  free(path);
}

/* Anonymous maps iterate too. */
static void test_anon(void)
{
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_anon(&m, 100, 0));
  mmapio_iter it;
  mmapio_chunk_mut cm;
  mmapio_chunk c;
  ASSERT_OK(mmapio_chunks_mut(&it, m, 7));
  while (mmapio_iter_next_mut(&cm, &it) == 1) pat_fill(cm.data, cm.len, cm.offset, 6);
  mmapio_iter_end(&it);
  ASSERT_OK(mmapio_chunks(&it, m, 7));
  size_t n = 0;
  while (mmapio_iter_next(&c, &it) == 1) {
    ASSERT(pat_check(c.data, c.len, c.offset, 6));
    n++;
  }
  mmapio_iter_end(&it);
  ASSERT_EQ(n, 15);
  ASSERT_OK(mmapio_close(m));
}

/* The iterator holds the lock for its whole life: close refuses, a write
 * from the same thread would wait for itself (EDEADLK), several read
 * iterators coexist. After iter_end everything works again. */
static void test_lock_held(void)
{
  char *path = mk_file("iterlock", 100, 8);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, path));
  mmapio_iter it, it2;
  mmapio_chunk c;
  uint8_t b = 1;

  ASSERT_OK(mmapio_chunks(&it, m, 10));
  ASSERT_EQ(mmapio_iter_next(&c, &it), 1);
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  ASSERT_STATUS(mmapio_write(m, 0, &b, 1), MMAPIO_EDEADLK);
  ASSERT_STATUS(mmapio_chunks_mut(&it2, m, 10), MMAPIO_EDEADLK);
  ASSERT_OK(mmapio_chunks(&it2, m, 50)); /* a second reader is fine */
  ASSERT_EQ(count_items(m, 25), 4);
  mmapio_iter_end(&it2);
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  mmapio_iter_end(&it);

  ASSERT_OK(mmapio_chunks_mut(&it, m, 10));
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  ASSERT_STATUS(mmapio_chunks(&it2, m, 10), MMAPIO_EDEADLK);
  mmapio_iter_end(&it);

  /* Starting an iterator while holding a write view is EDEADLK too. */
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, m, 0, 10));
  ASSERT_STATUS(mmapio_chunks(&it, m, 10), MMAPIO_EDEADLK);
  ASSERT_OK(mmapio_view_mut_release(&vm));

  ASSERT_OK(mmapio_write(m, 0, &b, 1));
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* An iterator that yields nothing holds nothing: close works. */
static void test_nothing_held(void)
{
  char *path = mk_file("iternone", 100, 8);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, path));
  mmapio_iter it;
  ASSERT_OK(mmapio_chunks(&it, m, 0));
  ASSERT_OK(mmapio_close(m));
  mmapio_iter_end(&it); /* must not touch the closed map */
  test_unlink(path);
  free(path);
}

/* A writer thread waits for a read iterator of another thread and goes on
 * once it ends (no timing: the writer's completion is only checked after
 * the end). */
typedef struct writer_arg {
  mmapio_map *m;
  volatile int done;
} writer_arg;

static void *writer_main(void *p)
{
  writer_arg *a = (writer_arg *)p;
  uint8_t v[4] = {0xEE, 0xEE, 0xEE, 0xEE};
  THREAD_CHECK(mmapio_write(a->m, 0, v, sizeof v) == MMAPIO_OK);
  a->done = 1;
  return NULL;
}

static void test_writer_waits(void)
{
  char *path = mk_file("iterwait", 100, 8);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, path));
  mmapio_iter it;
  mmapio_chunk c;
  ASSERT_OK(mmapio_chunks(&it, m, 100));
  writer_arg a;
  a.m = m;
  a.done = 0;
  test_thread t;
  thread_start(&t, writer_main, &a);
  sleep_ms(50);
  /* The chunk still shows the old bytes while the iterator lives. */
  ASSERT_EQ(mmapio_iter_next(&c, &it), 1);
  ASSERT(pat_check(c.data, 4, 0, 8));
  ASSERT_EQ(a.done, 0);
  mmapio_iter_end(&it);
  ASSERT(thread_join(&t) == NULL);
  ASSERT_EQ(a.done, 1);
  uint8_t v[4];
  ASSERT_OK(mmapio_read(m, 0, v, 4));
  ASSERT(all_bytes(v, 4, 0xEE));
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

int main(void)
{
  if (!MMAPIO_WITH_ITERATOR) {
    mmapio_iter it;
    mmapio_chunk c;
    memset(&it, 0, sizeof it);
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ITERATOR), 0);
    ASSERT_STATUS(mmapio_chunks(&it, NULL, 1), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_pages(&it, NULL), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_chunks_mut(&it, NULL, 1), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_iter_next(&c, &it), MMAPIO_ENOTSUP);
    ASSERT_EQ(mmapio_iter_remaining(&it), 0);
    mmapio_iter_end(&it);
    TEST_SKIP("feature ITERATOR is compiled out (stubs checked)");
  }
  ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ITERATOR), 1);
  test_exact_chunks(MMAPIO_MODE_READ_ONLY);
  test_exact_chunks(MMAPIO_MODE_READ_WRITE);
  if (has_cow()) test_exact_chunks(MMAPIO_MODE_COPY_ON_WRITE);
  test_pages();
  test_empty_map();
  test_arguments();
  test_mut_rw();
  test_mut_cow();
  test_anon();
  test_lock_held();
  test_nothing_held();
  test_writer_waits();
  printf("iter: all checks passed\n");
  return 0;
}
