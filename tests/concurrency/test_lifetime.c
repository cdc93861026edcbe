/*
 * Map lifetime (include/mmapio.h, mmapio_close): a map is never destroyed
 * while a view, write view, iterator or atomic pin of any thread exists,
 * even when the last *reference* is dropped by a segment, a byte buffer, a
 * task or a watch (whose releases cannot fail). Each case below dropped the
 * last reference while something was still borrowed and then used the
 * borrow: before, the map was freed at once (use after free under ASan,
 * SIGSEGV with a second thread). Now the borrow stays valid, and the map is
 * destroyed once it is released (white-box: the registry of live maps and
 * mmapio__reap_wait, so nothing here waits on time).
 */
#include "test.h"

#include "internal.h"

#define LEN 8192u

static size_t live(void) { return mmapio__registry_count(); }

/* create -> segment_init -> close -> segment_view -> segment_release: the
 * view outlives the map's last reference. */
static void test_segment_view(void)
{
  char *p = mk_file("life-seg", LEN, 11);
  size_t base = live();
  mmapio_map *m;
  mmapio_segment s;
  mmapio_view v;
  ASSERT_OK(mmapio_open_rw(&m, p));
  ASSERT_OK(mmapio_segment_init(&s, m, 100, 200));
  ASSERT_OK(mmapio_close(m)); /* the segment keeps the map */
  ASSERT_OK(mmapio_segment_view(&v, &s));
  mmapio_segment_release(&s); /* last reference: the view is still out */
  ASSERT_EQ(live(), base + 1);
  ASSERT(pat_check(v.data, v.len, 100, 11)); /* the view is still valid */
  mmapio_view_release(&v);
  mmapio__reap_wait();
  ASSERT_EQ(live(), base);
  free(p);
}

/* The same with a write view on a FLUSH_ALWAYS map: its release applies the
 * policy after the hold is gone, while the map is about to be destroyed. */
static void test_segment_view_mut(void)
{
  char *p = mk_file("life-mut", LEN, 12);
  size_t base = live();
  mmapio_map *m;
  mmapio_segment s;
  mmapio_view_mut w;
  ASSERT_OK(open_policy(&m, p, MMAPIO_FLUSH_ALWAYS, 0));
  ASSERT_OK(mmapio_segment_init(&s, m, 0, 64));
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_segment_view_mut(&w, &s));
  mmapio_segment_release(&s);
  memset(w.data, 0x5a, w.len);
  ASSERT_OK(mmapio_view_mut_release(&w));
  mmapio__reap_wait();
  ASSERT_EQ(live(), base);
  mmapio_map *ro;
  uint8_t got[64];
  ASSERT_OK(mmapio_open_ro(&ro, p));
  ASSERT_OK(mmapio_read(ro, 0, got, sizeof got));
  ASSERT(all_bytes(got, sizeof got, 0x5a));
  ASSERT_OK(mmapio_close(ro));
  free(p);
}

/* An atomic pin and an iterator as the last borrows. */
static void test_pin_and_iter(void)
{
  char *p = mk_file("life-pin", LEN, 13);
  size_t base = live();
  mmapio_map *m;
  mmapio_segment s;
  ASSERT_OK(mmapio_open_rw(&m, p));
  ASSERT_OK(mmapio_segment_init(&s, m, 0, LEN));
  ASSERT_OK(mmapio_close(m));
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    mmapio_atomic a;
    ASSERT_OK(mmapio_atomic_u64(&a, s.map, 64));
    mmapio_segment_release(&s); /* last reference, a pin is out */
    ASSERT_EQ(live(), base + 1);
    (void)mmapio_fetch_add_u64((uint64_t *)a.ptr, 1, MMAPIO_ORDER_SEQ_CST);
    mmapio_atomic_release(&a);
    mmapio__reap_wait();
    ASSERT_EQ(live(), base);
    ASSERT_OK(mmapio_open_rw(&m, p));
    ASSERT_OK(mmapio_segment_init(&s, m, 0, LEN));
    ASSERT_OK(mmapio_close(m));
  }
  if (mmapio_has_feature(MMAPIO_FEATURE_ITERATOR)) {
    mmapio_iter it;
    mmapio_chunk c;
    ASSERT_OK(mmapio_chunks(&it, s.map, 1024));
    mmapio_segment_release(&s);
    ASSERT_EQ(live(), base + 1);
    size_t n = 0;
    while (mmapio_iter_next(&c, &it) == 1) {
      if (c.offset != 64) ASSERT(pat_check(c.data, 8, c.offset, 13));
      n++;
    }
    ASSERT_EQ(n, LEN / 1024);
    mmapio_iter_end(&it);
  } else {
    mmapio_segment_release(&s);
  }
  mmapio__reap_wait();
  ASSERT_EQ(live(), base);
  free(p);
}

/* A thread holds a view while another thread closes its reference and then
 * releases the last byte buffer (which held the map). */
typedef struct holder {
  mmapio_map *m;
  int state; /* 1: view taken; 2: may use and release it */
  int ok;
  unsigned seed;
} holder;

static void *hold_view(void *arg)
{
  holder *h = (holder *)arg;
  mmapio_view v;
  THREAD_CHECK(mmapio_view_get(&v, h->m, 0, LEN) == MMAPIO_OK);
  __atomic_store_n(&h->state, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != 2) sleep_ms(1);
  h->ok = pat_check(v.data, v.len, 0, h->seed);
  mmapio_view_release(&v);
  return NULL;
}

static void test_bytes_and_thread(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_BYTES)) return;
  char *p = mk_file("life-bytes", LEN, 14);
  size_t base = live();
  mmapio_map *m;
  mmapio_bytes b;
  holder h = {NULL, 0, 0, 14};
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_OK(mmapio_bytes_get(&b, m, 0, 16));
  h.m = m;
  test_thread t;
  thread_start(&t, hold_view, &h);
  while (__atomic_load_n(&h.state, __ATOMIC_ACQUIRE) != 1) sleep_ms(1);
  ASSERT_OK(mmapio_close(m));  /* not the last reference: the buffer has one */
  mmapio_bytes_release(&b);    /* the last one, while the thread holds a view */
  ASSERT_EQ(live(), base + 1);
  __atomic_store_n(&h.state, 2, __ATOMIC_RELEASE);
  thread_join(&t);
  ASSERT(h.ok);
  mmapio__reap_wait();
  ASSERT_EQ(live(), base);
  free(p);
}

/* Without borrows the last release still destroys the map at once, and a
 * task's reference keeps the map for the task. */
static void test_immediate(void)
{
  char *p = mk_file("life-now", LEN, 15);
  size_t base = live();
  mmapio_map *m;
  mmapio_segment s;
  ASSERT_OK(mmapio_open_rw(&m, p));
  ASSERT_OK(mmapio_segment_init(&s, m, 0, 8));
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(live(), base + 1);
  mmapio_segment_release(&s);
  ASSERT_EQ(live(), base); /* no reaper needed */
  if (mmapio_has_feature(MMAPIO_FEATURE_ASYNC)) {
    mmapio_task *t;
    ASSERT_OK(mmapio_open_rw(&m, p));
    ASSERT_OK(mmapio_write_async(&t, m, 0, "lifetime", 8));
    ASSERT_OK(mmapio_close(m));
    ASSERT_OK(mmapio_task_wait(t, -1));
    mmapio_task_free(t);
    ASSERT_EQ(live(), base);
  }
  free(p);
}

/* Close of the last reference still refuses while a view of another thread
 * exists, and works once it is released. */
static void test_close_last_busy(void)
{
  char *p = mk_file("life-close", LEN, 16);
  mmapio_map *m;
  holder h = {NULL, 0, 0, 16};
  ASSERT_OK(mmapio_open_ro(&m, p));
  h.m = m;
  test_thread t;
  thread_start(&t, hold_view, &h);
  while (__atomic_load_n(&h.state, __ATOMIC_ACQUIRE) != 1) sleep_ms(1);
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  __atomic_store_n(&h.state, 2, __ATOMIC_RELEASE);
  thread_join(&t);
  ASSERT(h.ok);
  ASSERT_OK(mmapio_close(m));
  free(p);
}

int main(void)
{
  test_segment_view();
  test_segment_view_mut();
  test_pin_and_iter();
  test_bytes_and_thread();
  test_immediate();
  test_close_last_busy();
  printf("ok\n");
  return 0;
}
