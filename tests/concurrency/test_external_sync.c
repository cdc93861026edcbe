/*
 * MMAPIO_OPEN_EXTERNAL_SYNC (include/mmapio.h): writes and write views take
 * no reader/writer hold, so they neither wait for other threads' views nor
 * return EDEADLK for the caller's own read views; bounds are still checked,
 * close still refuses while views exist, and a moving resize still waits
 * for them (EDEADLK for the caller's own). White-box where "does not wait"
 * must be shown without timing: the writer finishes while the view is held.
 */
#include "test.h"

#include "internal.h"

static mmapio_map *M;

static void *writer(void *arg)
{
  (void)arg;
  uint8_t b[64];
  memset(b, 0x33, sizeof b);
  THREAD_CHECK(mmapio_write(M, 4096, b, sizeof b) == MMAPIO_OK);
  mmapio_view_mut w;
  THREAD_CHECK(mmapio_view_get_mut(&w, M, 8192, 16) == MMAPIO_OK);
  memset(w.data, 0x44, 16);
  THREAD_CHECK(mmapio_view_mut_release(&w) == MMAPIO_OK);
  return NULL;
}

static int resized;

static void *resizer(void *arg)
{
  (void)arg;
  THREAD_CHECK(mmapio_resize(M, 64 * 1024) == MMAPIO_OK);
  __atomic_store_n(&resized, 1, __ATOMIC_RELEASE);
  return NULL;
}

int main(void)
{
  char *p = mk_file("extsync", 16 * 1024, 1);
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_EXTERNAL_SYNC, 0);
  ASSERT_OK(mmapio_open(&M, p, &o));

  /* The calling thread holds a read view: it may still write (no EDEADLK),
   * and so may another thread, which finishes while the view is held. */
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, M, 0, 64));
  ASSERT_OK(mmapio_write(M, 128, "abc", 3));
  mmapio_view_mut w;
  ASSERT_OK(mmapio_view_get_mut(&w, M, 256, 8));
  memset(w.data, 0x11, 8);
  mmapio_view v2; /* a read view while this thread holds a write view */
  ASSERT_OK(mmapio_view_get(&v2, M, 256, 8));
  ASSERT(all_bytes(v2.data, 8, 0x11));
  mmapio_view_release(&v2);
  ASSERT_OK(mmapio_view_mut_release(&w));
  test_thread t;
  thread_start(&t, writer, NULL);
  ASSERT(thread_join(&t) == NULL);
  uint8_t b[64];
  ASSERT_OK(mmapio_read(M, 4096, b, sizeof b));
  ASSERT(all_bytes(b, sizeof b, 0x33));
  ASSERT_OK(mmapio_read(M, 8192, b, 16));
  ASSERT(all_bytes(b, 16, 0x44));
  ASSERT_EQ(M->wstate, 0u); /* no exclusive hold was ever taken */

  /* Bounds are checked; read-only rules stay. */
  ASSERT_BOUNDS(mmapio_write(M, 16 * 1024 - 1, "ab", 2), 16 * 1024 - 1, 2, 16 * 1024);
  ASSERT_STATUS(mmapio_view_get_mut(&w, M, 16 * 1024, 1), MMAPIO_EBOUNDS);

  /* Close and moving resizes still see the view. */
  ASSERT_STATUS(mmapio_close(M), MMAPIO_EBUSY);
  ASSERT_STATUS(mmapio_resize(M, 64 * 1024), MMAPIO_EDEADLK);
  thread_start(&t, resizer, NULL);
  uint64_t t0 = now_ms();
  while (mmapio__ld_acquire(&M->wstate) == 0u) { /* the resizer waits for our view */
    ASSERT(now_ms() - t0 < POLL_DEADLINE_MS);
    sleep_ms(1);
  }
  ASSERT(!__atomic_load_n(&resized, __ATOMIC_ACQUIRE));
  ASSERT_EQ(mmapio_len(M), 16u * 1024u); /* unchanged while the view is held */
  mmapio_view_release(&v);
  ASSERT(thread_join(&t) == NULL);
  ASSERT_EQ(mmapio_len(M), 64u * 1024u);
  ASSERT_OK(mmapio_read(M, 128, b, 3));
  ASSERT_MEMEQ(b, "abc", 3);
  ASSERT_OK(mmapio_close(M));

  /* Without the flag the same sequence is EDEADLK (the default rule). */
  ASSERT_OK(mmapio_open_rw(&M, p));
  ASSERT_OK(mmapio_view_get(&v, M, 0, 64));
  ASSERT_STATUS(mmapio_write(M, 128, "abc", 3), MMAPIO_EDEADLK);
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_close(M));
  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
