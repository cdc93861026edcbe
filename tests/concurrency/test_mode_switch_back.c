/*
 * The write-heavy symmetric mode (src/lock.c) switches back to cheap
 * readers once writes stop, without waiting for another write: readers
 * notice the calm. A burst of writes while another thread holds slots on
 * the map drives it symmetric (where the process has an asymmetric heavy
 * barrier at all); then only views follow, and the map must return to the
 * asymmetric mode. Reading the mode is white-box (m->rfence). The loop
 * ends when the mode is back, with a generous deadline as a backstop.
 */
#include "test.h"

#include "internal.h"

#define LEN 4096u

static mmapio_map *M;
static int phase; /* 0: read while the main thread writes; 1: stop */

static void *reader(void *arg)
{
  (void)arg;
  while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) == 0) {
    mmapio_view v;
    THREAD_CHECK(mmapio_view_get(&v, M, 0, 64) == MMAPIO_OK);
    mmapio_view_release(&v);
  }
  return NULL;
}

int main(void)
{
  char *p = mk_file("mode-back", LEN, 51);
  ASSERT_OK(mmapio_open_rw(&M, p));
  uint8_t b = 0;
  ASSERT_OK(mmapio_write(M, 0, &b, 1)); /* sets up the process's barrier mode */
  if (mmapio__reader_fence) {
    printf("SKIP: readers always fence here (no asymmetric barrier): there is no mode to switch\n");
    ASSERT_OK(mmapio_close(M));
    free(p);
    return TEST_SKIP_CODE;
  }
  test_thread t;
  thread_start(&t, reader, NULL);
  uint64_t t0 = now_ms();
  while (!__atomic_load_n(&M->rfence, __ATOMIC_ACQUIRE)) {
    ASSERT(now_ms() - t0 < POLL_DEADLINE_MS);
    ASSERT_OK(mmapio_write(M, 128, &b, 1));
    b++;
  }
  __atomic_store_n(&phase, 1, __ATOMIC_RELEASE);
  thread_join(&t);

  /* No more writes: views alone bring the mode back. */
  t0 = now_ms();
  while (__atomic_load_n(&M->rfence, __ATOMIC_ACQUIRE)) {
    ASSERT(now_ms() - t0 < POLL_DEADLINE_MS);
    for (int i = 0; i < 1000; i++) {
      mmapio_view v;
      ASSERT_OK(mmapio_view_get(&v, M, 0, 64));
      mmapio_view_release(&v);
    }
    sleep_ms(1);
  }
  printf("back to the asymmetric mode %llu ms after the last write\n",
         (unsigned long long)(now_ms() - t0));
  ASSERT_OK(mmapio_close(M));
  free(p);
  printf("ok\n");
  return 0;
}
