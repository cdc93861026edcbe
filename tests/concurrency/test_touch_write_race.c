/*
 * test_touch_write_race.c -- the guarded touch of a FAULT_SAFE map
 * (mmapio_touch_range, mmapio_touch) and mmapio_write of the same pages run
 * at once. They must not race (ThreadSanitizer checks it in the tsan
 * stage): the touch reads under the map's shared hold, the write copies
 * under the exclusive one. Also a touch by a thread that holds a write view
 * of the same map (EDEADLK for a shared hold) works. Bounded iterations.
 */
#include "test.h"

#include <pthread.h>

static mmapio_map *m;
static size_t ps;

static void *writer(void *arg)
{
  (void)arg;
  uint8_t b[64];
  for (int i = 0; i < 2000; i++) {
    memset(b, i & 0xff, sizeof b);
    ASSERT_OK(mmapio_write(m, (uint64_t)(i % 4) * ps, b, sizeof b));
  }
  return NULL;
}

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE))
    TEST_SKIP("MMAPIO_OPEN_FAULT_SAFE is not available in this build");
  char *p = test_tmp_path("touchrace");
  ps = mmapio_page_size();
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_FAULT_SAFE;
  o.size = 4 * ps;
  ASSERT_OK(mmapio_open(&m, p, &o));
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, writer, NULL), 0);
  for (int i = 0; i < 2000; i++) {
    ASSERT_OK(mmapio_touch_range(m, 0, 4 * ps));
    if (i % 100 == 0) ASSERT_OK(mmapio_touch(m));
  }
  ASSERT_EQ(pthread_join(t, NULL), 0);
  /* A touch while this thread holds a write view. */
  mmapio_view_mut v;
  ASSERT_OK(mmapio_view_get_mut(&v, m, 0, ps));
  ASSERT_OK(mmapio_touch_range(m, 0, 4 * ps));
  ASSERT_STATUS(mmapio_touch_range(m, 0, 4 * ps + 1), MMAPIO_EBOUNDS);
  ASSERT_OK(mmapio_view_mut_release(&v));
  ASSERT_STATUS(mmapio_touch_range(m, 4 * ps, 1), MMAPIO_EBOUNDS);
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
