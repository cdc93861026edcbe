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

/* Every case: a fresh fixture file of LEN pattern bytes `seed`, and the
 * number of live maps before the case. */
static char *fixture(const char *tag, unsigned seed, size_t *base)
{
  char *p = mk_file(tag, LEN, seed);
  *base = live();
  return p;
}

/* A segment [off, off + len) of a new map of `p` (FLUSH_ALWAYS when
 * `flush_always`) that holds the map's only reference: the map's own one is
 * closed. */
static void segment_only(mmapio_segment *s, const char *p, int flush_always, uint64_t off, uint64_t len)
{
  mmapio_map *m;
  if (flush_always)
    ASSERT_OK(open_policy(&m, p, MMAPIO_FLUSH_ALWAYS, 0));
  else
    ASSERT_OK(mmapio_open_rw(&m, p));
  ASSERT_OK(mmapio_segment_init(s, m, off, len));
  ASSERT_OK(mmapio_close(m)); /* the segment keeps the map */
}

/* Once the reaper has run, the maps of the case are all destroyed. */
static void all_destroyed(size_t base)
{
  mmapio__reap_wait();
  ASSERT_EQ(live(), base);
}

/* create -> segment_init -> close -> segment_view -> segment_release: the
 * view outlives the map's last reference. */
static void test_segment_view(void)
{
  size_t base;
  char *p = fixture("life-seg", 11, &base);
  mmapio_segment s;
  mmapio_view v;
  segment_only(&s, p, 0, 100, 200);
  ASSERT_OK(mmapio_segment_view(&v, &s));
  mmapio_segment_release(&s); /* last reference: the view is still out */
  ASSERT_EQ(live(), base + 1);
  ASSERT(pat_check(v.data, v.len, 100, 11)); /* the view is still valid */
  mmapio_view_release(&v);
  all_destroyed(base);
  free(p);
}

/* The same with a write view on a FLUSH_ALWAYS map: its release applies the
 * policy after the hold is gone, while the map is about to be destroyed. */
static void test_segment_view_mut(void)
{
  size_t base;
  char *p = fixture("life-mut", 12, &base);
  mmapio_segment s;
  mmapio_view_mut w;
  segment_only(&s, p, 1, 0, 64);
  ASSERT_OK(mmapio_segment_view_mut(&w, &s));
  mmapio_segment_release(&s);
  memset(w.data, 0x5a, w.len);
  ASSERT_OK(mmapio_view_mut_release(&w));
  all_destroyed(base);
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
  size_t base;
  char *p = fixture("life-pin", 13, &base);
  mmapio_segment s;
  segment_only(&s, p, 0, 0, LEN);
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    mmapio_atomic a;
    ASSERT_OK(mmapio_atomic_u64(&a, s.map, 64));
    mmapio_segment_release(&s); /* last reference, a pin is out */
    ASSERT_EQ(live(), base + 1);
    (void)mmapio_fetch_add_u64((uint64_t *)a.ptr, 1, MMAPIO_ORDER_SEQ_CST);
    mmapio_atomic_release(&a);
    all_destroyed(base);
    segment_only(&s, p, 0, 0, LEN);
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
  all_destroyed(base);
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

/* Starts a thread that takes a view of all of `m` (pattern `seed`) and
 * returns once it holds it. */
static void holder_start(holder *h, test_thread *t, mmapio_map *m, unsigned seed)
{
  h->m = m;
  h->state = 0;
  h->ok = 0;
  h->seed = seed;
  thread_start(t, hold_view, h);
  while (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != 1) sleep_ms(1);
}

/* Lets the thread check and release its view, and joins it. */
static void holder_finish(holder *h, test_thread *t)
{
  __atomic_store_n(&h->state, 2, __ATOMIC_RELEASE);
  thread_join(t);
  ASSERT(h->ok);
}

static void test_bytes_and_thread(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_BYTES)) return;
  size_t base;
  char *p = fixture("life-bytes", 14, &base);
  mmapio_map *m;
  mmapio_bytes b;
  holder h;
  test_thread t;
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_OK(mmapio_bytes_get(&b, m, 0, 16));
  holder_start(&h, &t, m, 14);
  ASSERT_OK(mmapio_close(m));  /* not the last reference: the buffer has one */
  mmapio_bytes_release(&b);    /* the last one, while the thread holds a view */
  ASSERT_EQ(live(), base + 1);
  holder_finish(&h, &t);
  all_destroyed(base);
  free(p);
}

/* Without borrows the last release still destroys the map at once, and a
 * task's reference keeps the map for the task. */
static void test_immediate(void)
{
  size_t base;
  char *p = fixture("life-now", 15, &base);
  mmapio_map *m;
  mmapio_segment s;
  segment_only(&s, p, 0, 0, 8);
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
  holder h;
  test_thread t;
  ASSERT_OK(mmapio_open_ro(&m, p));
  holder_start(&h, &t, m, 16);
  ASSERT_STATUS(mmapio_close(m), MMAPIO_EBUSY);
  holder_finish(&h, &t);
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
