/*
 * Lock order of resizes. Thread A holds a write view and grows the map in
 * place (allowed: in-place growth waits for nobody); thread B meanwhile
 * starts a moving resize, which must wait for A's write view. If B held the
 * resize mutex while waiting for the view, A's in-place growth would wait
 * for B and B for A: a deadlock (caught as a CTest timeout). The pause only
 * makes the bad interleaving likely; the test passes in every interleaving
 * when the lock order is right.
 */
#include "test.h"

static mmapio_map *M;
static uint64_t PS;
static int b_started;

static void *mover(void *arg)
{
  (void)arg;
  __atomic_store_n(&b_started, 1, __ATOMIC_RELEASE);
  /* Beyond max_size: a moving resize; waits for A's write view. */
  THREAD_CHECK(mmapio_resize(M, 64 * PS) == MMAPIO_OK);
  return NULL;
}

int main(void)
{
  PS = mmapio_page_size();
  char *p = test_tmp_path("resize-order");
  for (int round = 0; round < 20; round++) {
    mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, 4 * PS);
    o.max_size = 32 * PS;
    ASSERT_OK(mmapio_open(&M, p, &o));
    int in_place = mmapio_capacity(M) >= 32 * PS;

    mmapio_view_mut w;
    ASSERT_OK(mmapio_view_get_mut(&w, M, 0, 16));
    test_thread b;
    thread_start(&b, mover, NULL);
    while (!__atomic_load_n(&b_started, __ATOMIC_ACQUIRE)) sleep_ms(1);
    sleep_ms(2);
    if (in_place) {
      /* Still allowed while this thread holds a write view. */
      ASSERT_OK(mmapio_resize(M, 8 * PS + (uint64_t)round * PS));
    } else {
      /* Without a reservation (Windows without placeholders) growth moves
       * and would wait for our own view. */
      ASSERT_STATUS(mmapio_resize(M, 8 * PS), MMAPIO_EDEADLK);
    }
    memset(w.data, 0x5A, 16);
    ASSERT_OK(mmapio_view_mut_release(&w));
    ASSERT(thread_join(&b) == NULL);
    ASSERT_U64_EQ(mmapio_len(M), 64 * PS);
    uint8_t got[16];
    ASSERT_OK(mmapio_read(M, 0, got, sizeof got));
    ASSERT(all_bytes(got, sizeof got, 0x5A));
    ASSERT_OK(mmapio_close(M));
    __atomic_store_n(&b_started, 0, __ATOMIC_RELEASE);
  }
  test_unlink(p);
  free(p);
  return 0;
}
