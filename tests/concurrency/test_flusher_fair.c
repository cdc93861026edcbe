/*
 * The background flusher is fair and bounded (src/flusher.c):
 *  - periods are validated at open (0..MMAPIO_FLUSH_MAX_MILLIS; above is
 *    EINVAL and nothing is created), and the longest period neither wraps
 *    its deadline nor keeps the flusher from serving other maps;
 *  - earliest deadline first: a map with a 20 ms period is flushed while a
 *    1 ms map is written without pause (it used to starve behind it);
 *  - `stable` prefers writers: moving resizes get through while three
 *    threads flush the same map without pause.
 * Nothing waits on time except for a condition to become true (with a
 * generous deadline as a backstop).
 */
#include "test.h"

#define LEN (256u * 1024u)

static void wait_flushed(mmapio_map *m)
{
  uint64_t t0 = now_ms();
  while (mmapio_pending_bytes(m) != 0) {
    ASSERT(now_ms() - t0 < POLL_DEADLINE_MS);
    sleep_ms(1);
  }
}

static void test_periods(void)
{
  char *p = test_tmp_path("fl-range");
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, LEN);
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_MILLIS;
  mmapio_map *m;
  o.flush_policy.every = MMAPIO_FLUSH_MAX_MILLIS + 1;
  ASSERT_ERR_HAS(mmapio_open(&m, p, &o), MMAPIO_EINVAL, "flush period");
  o.flush_policy.every = UINT64_MAX;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  ASSERT(!file_exists(p));

  /* The longest period: accepted, never due, and the flusher still serves
   * a 1 ms map next to it. */
  o.flush_policy.every = MMAPIO_FLUSH_MAX_MILLIS;
  mmapio_map *slow, *fast;
  ASSERT_OK(mmapio_open(&slow, p, &o));
  ASSERT_OK(mmapio_write(slow, 0, "slow", 4));
  char *p2 = mk_file("fl-fast", 16, 40);
  ASSERT_OK(open_policy(&fast, p2, MMAPIO_FLUSH_EVERY_MILLIS, 1));
  ASSERT_OK(mmapio_write(fast, 0, "fast", 4));
  wait_flushed(fast);
  ASSERT(mmapio_pending_bytes(slow) != 0); /* its period has not come */
  ASSERT_OK(mmapio_close(fast));
  ASSERT_OK(mmapio_close(slow)); /* the final flush; no hang */
  test_unlink(p2);
  test_unlink(p);
  free(p2);
  free(p);
}

static mmapio_map *hot;
static int stop;

static void *write_hot(void *arg)
{
  (void)arg;
  uint8_t buf[4096];
  unsigned i = 0;
  while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
    memset(buf, (int)(i & 0xff), sizeof buf);
    /* Dirty many pages so that each flush of this map takes a while. */
    THREAD_CHECK(mmapio_write(hot, (uint64_t)(i % (LEN / sizeof buf)) * sizeof buf, buf,
                              sizeof buf) == MMAPIO_OK);
    i++;
  }
  return NULL;
}

static void test_earliest_deadline(void)
{
  char *pa = mk_file("fl-20ms", LEN, 41);
  char *pb = mk_file("fl-1ms", LEN, 42);
  mmapio_map *slow;
  /* The 20 ms map first, so that the 1 ms one would come first in a list. */
  ASSERT_OK(open_policy(&slow, pa, MMAPIO_FLUSH_EVERY_MILLIS, 20));
  ASSERT_OK(open_policy(&hot, pb, MMAPIO_FLUSH_EVERY_MILLIS, 1));
  test_thread t;
  thread_start(&t, write_hot, NULL);
  for (int round = 0; round < 5; round++) {
    ASSERT_OK(mmapio_write(slow, (uint64_t)round, "x", 1));
    wait_flushed(slow);
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  thread_join(&t);
  ASSERT_OK(mmapio_close(hot));
  ASSERT_OK(mmapio_close(slow));
  free(pa);
  free(pb);
}

static mmapio_map *rs;
static int rs_stop;

static void *flush_loop(void *arg)
{
  (void)arg;
  unsigned i = 0;
  while (!__atomic_load_n(&rs_stop, __ATOMIC_ACQUIRE)) {
    uint8_t b = (uint8_t)i++;
    THREAD_CHECK(mmapio_write(rs, 0, &b, 1) == MMAPIO_OK);
    THREAD_CHECK(mmapio_flush(rs) == MMAPIO_OK);
  }
  return NULL;
}

static void test_resize_between_flushes(void)
{
  char *p = mk_file("fl-resize", LEN, 43);
  ASSERT_OK(mmapio_open_rw(&rs, p));
  test_thread t[3];
  for (int i = 0; i < 3; i++) thread_start(&t[i], flush_loop, NULL);
  for (int i = 0; i < 20; i++) ASSERT_OK(mmapio_resize(rs, i % 2 ? LEN : LEN / 2));
  __atomic_store_n(&rs_stop, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < 3; i++) thread_join(&t[i]);
  ASSERT_OK(mmapio_close(rs));
  free(p);
}

int main(void)
{
  test_periods();
  test_earliest_deadline();
  test_resize_between_flushes();
  printf("ok\n");
  return 0;
}
