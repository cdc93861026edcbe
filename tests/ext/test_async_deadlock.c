/*
 * Self-deadlocks of async writes are reported, not hung: a thread holding
 * a view of a map that waits without a time limit for a write task on that
 * map gets MMAPIO_EDEADLK (the task's write waits for that very view). A
 * bounded wait times out as usual, and once the view is released the task
 * completes.
 */
#include "test.h"

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_ASYNC)) {
    printf("SKIP: the ASYNC feature is not built in\n");
    return TEST_SKIP_CODE;
  }
  char *p = mk_file("async-dl", 4096, 61);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_rw(&m, p));
  for (int mut = 0; mut < 2; mut++) {
    mmapio_view v;
    mmapio_view_mut w;
    mmapio_task *t;
    if (mut) ASSERT_OK(mmapio_view_get_mut(&w, m, 0, 8));
    else ASSERT_OK(mmapio_view_get(&v, m, 0, 8));
    ASSERT_OK(mmapio_write_async(&t, m, 100, "deadlock", 8));
    ASSERT_ERR_HAS(mmapio_task_wait(t, -1), MMAPIO_EDEADLK, "would deadlock");
    ASSERT_STATUS(mmapio_task_wait(t, 20), MMAPIO_ETIMEDOUT);
    if (mut) ASSERT_OK(mmapio_view_mut_release(&w));
    else mmapio_view_release(&v);
    ASSERT_OK(mmapio_task_wait(t, -1));
    mmapio_task_free(t);
    uint8_t got[8];
    ASSERT_OK(mmapio_read(m, 100, got, 8));
    ASSERT_MEMEQ(got, "deadlock", 8);
  }
  /* A flush task does not wait for views: waiting for it while holding one
   * is fine. */
  mmapio_view v;
  mmapio_task *t;
  ASSERT_OK(mmapio_view_get(&v, m, 0, 8));
  ASSERT_OK(mmapio_flush_async(&t, m));
  ASSERT_OK(mmapio_task_wait(t, -1));
  mmapio_task_free(t);
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_close(m));
  free(p);
  printf("ok\n");
  return 0;
}
