/*
 * test_stats.c -- mmapio_stats: every counter moves exactly as documented,
 * an older caller's smaller struct gets only its fields, bad sizes are
 * EVERSION without writing anything.
 */
#include "test.h"
#include "platform.h"

#include <stddef.h>

static mmapio_map_stats get(mmapio_map *m)
{
  mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
  ASSERT_OK(mmapio_stats(&st, m));
  ASSERT_EQ(st.struct_size, sizeof st);
  ASSERT_EQ(st.reserved0, 0);
  return st;
}

static void *other_thread(void *arg)
{
  mmapio_map *m = (mmapio_map *)arg;
  THREAD_CHECK(mmapio_write(m, 0, "x", 1) == MMAPIO_OK);
  return NULL;
}

#define BUSY_WRITES 2000u
static void *busy_writer(void *arg)
{
  mmapio_map *m = (mmapio_map *)arg;
  for (unsigned i = 0; i < BUSY_WRITES; i++) THREAD_CHECK(mmapio_write(m, 8, "yy", 2) == MMAPIO_OK);
  return NULL;
}

int main(void)
{
  char *path = test_tmp_path("stats");
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE;
  o.size = 64 * KIB;
  o.max_size = 1 * MIB;
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_BYTES;
  o.flush_policy.every = 1 * MIB;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, path, &o));

  /* Arguments and sizes. */
  mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
  ASSERT_STATUS(mmapio_stats(NULL, m), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_stats(&st, NULL), MMAPIO_EINVAL);
  uint32_t bad[] = {0, 4, 12, (uint32_t)sizeof st + 8u};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&st, 0xAA, sizeof st);
    st.struct_size = bad[i];
    ASSERT_STATUS(mmapio_stats(&st, m), MMAPIO_EVERSION);
    ASSERT(strstr(mmapio_last_error(), "struct_size") != NULL);
    ASSERT_U64_EQ(st.write_calls, UINT64_C(0xAAAAAAAAAAAAAAAA));
  }

  st = get(m);
  ASSERT_U64_EQ(st.write_calls, 0);
  ASSERT_U64_EQ(st.flush_calls, 0);
  ASSERT_U64_EQ(st.views_outstanding, 0);

  /* Writes: mmapio_write, write views, mut iterators; failures not counted. */
  char buf[100];
  memset(buf, 'w', sizeof buf);
  ASSERT_OK(mmapio_write(m, 0, buf, 10));
  ASSERT_OK(mmapio_write(m, 100, buf, 20));
  ASSERT_OK(mmapio_write(m, 200, buf, 0)); /* no-op: not a write */
  ASSERT_STATUS(mmapio_write(m, 64 * KIB, buf, 1), MMAPIO_EBOUNDS);
  mmapio_view_mut w;
  ASSERT_OK(mmapio_view_get_mut(&w, m, 1000, 100));
  st = get(m);
  ASSERT_U64_EQ(st.views_outstanding, 1);
  ASSERT_OK(mmapio_view_mut_release(&w));
  st = get(m);
  ASSERT_U64_EQ(st.write_calls, 3);
  ASSERT_U64_EQ(st.write_bytes, 130);
  ASSERT_U64_EQ(st.pending_bytes, 130);
  ASSERT_U64_EQ(st.pending_bytes, mmapio_pending_bytes(m));
  if (mmapio_has_feature(MMAPIO_FEATURE_ITERATOR)) {
    mmapio_iter it;
    mmapio_chunk_mut c;
    ASSERT_OK(mmapio_chunks_mut(&it, m, 4096));
    ASSERT_EQ(mmapio_iter_next_mut(&c, &it), 1);
    ASSERT_EQ(mmapio_iter_next_mut(&c, &it), 1);
    mmapio_iter_end(&it);
    st = get(m);
    ASSERT_U64_EQ(st.write_calls, 4);
    ASSERT_U64_EQ(st.write_bytes, 130 + 8192);
  }

  /* A second thread has a slot of its own; its writes are summed. */
  test_thread t;
  thread_start(&t, other_thread, m);
  ASSERT(thread_join(&t) == NULL);
  st = get(m);
  ASSERT_U64_EQ(st.slots_in_use, 2);
  uint64_t wc = st.write_calls, wb = st.write_bytes;
  ASSERT_U64_EQ(wc, mmapio_has_feature(MMAPIO_FEATURE_ITERATOR) ? 5 : 4);

  /* Views: outstanding now, and the peak. */
  mmapio_view v[3];
  for (int i = 0; i < 3; i++) ASSERT_OK(mmapio_view_get(&v[i], m, 0, 10));
  st = get(m);
  ASSERT_U64_EQ(st.views_outstanding, 3);
  ASSERT_U64_EQ(st.views_peak, 3);
  for (int i = 0; i < 3; i++) mmapio_view_release(&v[i]);
  st = get(m);
  ASSERT_U64_EQ(st.views_outstanding, 0);
  ASSERT_U64_EQ(st.views_peak, 3);
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    mmapio_atomic a;
    ASSERT_OK(mmapio_atomic_u64(&a, m, 0));
    ASSERT_U64_EQ(get(m).pins_outstanding, 1);
    mmapio_atomic_release(&a);
    ASSERT_U64_EQ(get(m).pins_outstanding, 0);
  }

  /* Flushes: counted with their latency; a failure is counted too. */
  ASSERT_OK(mmapio_flush(m));
  st = get(m);
  ASSERT_U64_EQ(st.flush_calls, 1);
  ASSERT_U64_EQ(st.flush_failures, 0);
  ASSERT_U64_EQ(st.pending_bytes, 0);
  ASSERT(st.flush_max_ns >= st.flush_last_ns);
  ASSERT_OK(mmapio_flush_range(m, 0, 10));
  ASSERT_U64_EQ(get(m).flush_calls, 2);
  mmapio__sys_reset();
  mmapio__sys_fail_nth(MMAPIO__OS_WINDOWS ? "FlushViewOfFile" : "msync", 1, 5 /* EIO / ERROR_ACCESS_DENIED */);
  ASSERT(mmapio_flush(m) != MMAPIO_OK);
  mmapio__sys_reset();
  st = get(m);
  ASSERT_U64_EQ(st.flush_calls, 3);
  ASSERT_U64_EQ(st.flush_failures, 1);
  /* The failure is sticky until acknowledged (close would report it). */
  uint64_t eoff = 0, elen = 0;
  ASSERT(mmapio_flush_error(m, &eoff, &elen) != MMAPIO_OK);
  ASSERT_OK(mmapio_clear_error(m));

  /* Resizes: growth within max_size stays in place where the platform can
   * (mmapio_capacity tells), a shrink moves. */
  int can_grow_in_place = mmapio_capacity(m) > mmapio_len(m);
  ASSERT_OK(mmapio_resize(m, 128 * KIB));
  ASSERT_OK(mmapio_resize(m, 128 * KIB)); /* same size: no resize */
  ASSERT_OK(mmapio_resize(m, 32 * KIB));
  st = get(m);
  ASSERT_U64_EQ(st.resizes_in_place, can_grow_in_place ? 1 : 0);
  ASSERT_U64_EQ(st.resizes_moving, can_grow_in_place ? 1 : 2);
  ASSERT_U64_EQ(st.write_calls, wc);
  ASSERT_U64_EQ(st.write_bytes, wb);

  /* Statistics read while another thread writes: never going backwards,
   * exact once it is done (the slots' counters are only read racily). */
  {
    uint64_t last = wc;
    thread_start(&t, busy_writer, m);
    for (unsigned i = 0; i < BUSY_WRITES; i++) {
      uint64_t now = get(m).write_calls;
      ASSERT(now >= last);
      last = now;
    }
    ASSERT(thread_join(&t) == NULL);
    st = get(m);
    ASSERT_U64_EQ(st.write_calls, wc + BUSY_WRITES);
    ASSERT_U64_EQ(st.write_bytes, wb + 2u * BUSY_WRITES);
    ASSERT(st.slots_in_use >= 2 && st.slots_in_use <= 3); /* a new thread may reuse a slot */
    wc = st.write_calls;
    wb = st.write_bytes;
  }

  /* An older, smaller struct: only its fields are written. */
  memset(&st, 0xAA, sizeof st);
  st.struct_size = (uint32_t)offsetof(mmapio_map_stats, flush_calls);
  ASSERT_OK(mmapio_stats(&st, m));
  ASSERT_U64_EQ(st.write_calls, wc);
  ASSERT_U64_EQ(st.write_bytes, wb);
  ASSERT_U64_EQ(st.flush_calls, UINT64_C(0xAAAAAAAAAAAAAAAA));
  ASSERT_U64_EQ(st.slots_in_use, UINT64_C(0xAAAAAAAAAAAAAAAA));

  /* Anonymous maps make no OS flushes. */
  mmapio_map *an = NULL;
  ASSERT_OK(mmapio_anon(&an, 4096, 0));
  ASSERT_OK(mmapio_write(an, 0, "abc", 3));
  ASSERT_OK(mmapio_flush(an));
  st = get(an);
  ASSERT_U64_EQ(st.write_calls, 1);
  ASSERT_U64_EQ(st.flush_calls, 0);
  ASSERT_OK(mmapio_close(an));

  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
  return 0;
}
