/*
 * Per-thread slots of the reader/writer protocol (src/lock.c), white-box:
 *  - thread churn: 20,000 short-lived threads that each took a view leave
 *    the map with a handful of slots (reused), so a writer scans no dead
 *    threads; counted, not timed;
 *  - a thread that exits holding a view has it dropped (counted in
 *    dead_holds) and a later write does not wait for it;
 *  - a new thread whose table lands at the address of a dead thread's table
 *    does not inherit the dead thread's slot (no EDEADLK for a view it
 *    never took);
 *  - portable views: taken on one thread, released on another after the
 *    first exited; writers and close see them; a holder may take more
 *    while a writer waits;
 *  - many maps per thread: 1000 maps, one slot each, index reuse after
 *    close;
 *  - the borrow protocol version is checked on release.
 * Runs under TSan too.
 */
#include "test.h"

#include "internal.h"

#define CHURN 20000
#define NMAPS 1000

static mmapio_map *M;

static void *churn_thread(void *arg)
{
  void **keep = (void **)arg;
  /* A small allocation that stays alive, so that the next thread's table is
   * not simply the same block again. */
  *keep = malloc(48);
  mmapio_view v;
  THREAD_CHECK(mmapio_view_get(&v, M, 0, 64) == MMAPIO_OK);
  mmapio_view_release(&v);
  return NULL;
}

static void test_churn(void)
{
  ASSERT_OK(mmapio_anon(&M, 4096, 0));
  uint8_t b[64] = {1};
  ASSERT_OK(mmapio_write(M, 0, b, sizeof b)); /* the main thread's slot */
  void **keep = (void **)calloc(CHURN, sizeof *keep);
  ASSERT(keep != NULL);
  for (int i = 0; i < CHURN; i++) {
    test_thread t;
    thread_start(&t, churn_thread, &keep[i]);
    ASSERT(thread_join(&t) == NULL);
  }
  /* Every thread gave its slot back at exit; the next one reused it. */
  uint32_t total = mmapio__slots_total(M);
  uint32_t used = mmapio__slots_in_use(M);
  printf("after %d threads: %u slot(s) in the list, %u in use\n", CHURN, (unsigned)total,
         (unsigned)used);
  ASSERT(total <= 2u);
  ASSERT_EQ(used, 1u);
  ASSERT_OK(mmapio_write(M, 0, b, sizeof b));
  ASSERT(mmapio__slots_total(M) <= 2u);
  ASSERT_EQ(mmapio__ld_relaxed(&M->dead_holds), 0u);
  ASSERT_OK(mmapio_close(M));
  for (int i = 0; i < CHURN; i++) free(keep[i]);
  free(keep);
}

/* ---- A thread exits holding a view ------------------------------------- */

static void *leak_view_thread(void *arg)
{
  void **tc = (void **)arg;
  mmapio_view v;
  THREAD_CHECK(mmapio_view_get(&v, M, 0, 64) == MMAPIO_OK);
  *tc = (void *)mmapio__tc;
  tc[1] = (void *)(uintptr_t)mmapio__self_tid();
  return NULL; /* exits without releasing */
}

static void *write_thread(void *arg)
{
  void **tc = (void **)arg;
  uint8_t b[8] = {7};
  /* Must neither wait for the dead thread's view nor see it as its own. */
  THREAD_CHECK(mmapio_write(M, 0, b, sizeof b) == MMAPIO_OK);
  mmapio_view v;
  THREAD_CHECK(mmapio_view_get(&v, M, 0, 8) == MMAPIO_OK);
  THREAD_CHECK(mmapio_write(M, 0, b, sizeof b) == MMAPIO_EDEADLK); /* own view: still detected */
  mmapio_view_release(&v);
  *tc = (void *)mmapio__tc;
  tc[1] = (void *)(uintptr_t)mmapio__self_tid();
  return NULL;
}

static void test_dead_holder_and_address_reuse(void)
{
  ASSERT_OK(mmapio_anon(&M, 4096, 0));
  unsigned same_address = 0;
  for (unsigned i = 0; i < 50; i++) {
    void *a[2] = {NULL, NULL}, *b[2] = {NULL, NULL};
    test_thread t;
    thread_start(&t, leak_view_thread, a);
    ASSERT(thread_join(&t) == NULL);
    ASSERT_EQ(mmapio__ld_relaxed(&M->dead_holds), i + 1u);
    thread_start(&t, write_thread, b);
    ASSERT(thread_join(&t) == NULL);
    ASSERT(a[1] != b[1]); /* thread ids are never reused */
    same_address += a[0] == b[0];
  }
  printf("the new thread's table was at the dead thread's address %u of 50 times\n",
         same_address);
  ASSERT(mmapio__slots_total(M) <= 2u);
  ASSERT_OK(mmapio_close(M));
}

/* ---- Portable views ------------------------------------------------------ */

static mmapio_view PV;

static void *take_portable(void *arg)
{
  (void)arg;
  THREAD_CHECK(mmapio_view_get_flags(&PV, M, 64, 64, MMAPIO_VIEW_PORTABLE) == MMAPIO_OK);
  return NULL;
}

static void *release_portable(void *arg)
{
  (void)arg;
  mmapio_view_release(&PV);
  return NULL;
}

static void *writer_thread(void *arg)
{
  (void)arg;
  uint8_t b[64];
  memset(b, 0x5a, sizeof b);
  THREAD_CHECK(mmapio_write(M, 64, b, sizeof b) == MMAPIO_OK);
  return NULL;
}

static void test_portable(void)
{
  ASSERT_OK(mmapio_anon(&M, 4096, 0));
  mmapio_view v;
  ASSERT_STATUS(mmapio_view_get_flags(&v, M, 0, 8, 0x2u), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_view_get_flags(&v, M, 4096, 1, MMAPIO_VIEW_PORTABLE), MMAPIO_EBOUNDS);
  ASSERT_EQ(mmapio__ld_relaxed(&M->phold), 0u);

  /* Taken on thread 1, which exits; released on thread 2. */
  test_thread t;
  thread_start(&t, take_portable, NULL);
  ASSERT(thread_join(&t) == NULL);
  ASSERT_EQ(mmapio__ld_relaxed(&M->phold), 1u);
  ASSERT_EQ(mmapio__ld_relaxed(&M->dead_holds), 0u); /* not dropped at thread exit */
  ASSERT_STATUS(mmapio_close(M), MMAPIO_EBUSY);       /* close sees it */
  /* A writer on another thread waits for it; while it waits, a holder of a
   * portable view may take another one (no self-deadlock). */
  test_thread w;
  thread_start(&w, writer_thread, NULL);
  uint64_t t0 = now_ms();
  while (mmapio__ld_acquire(&M->wstate) == 0u) {
    ASSERT(now_ms() - t0 < POLL_DEADLINE_MS);
    sleep_ms(1);
  }
  mmapio_view v2;
  ASSERT_OK(mmapio_view_get_flags(&v2, M, 64, 64, MMAPIO_VIEW_PORTABLE));
  ASSERT(all_bytes(v2.data, 64, 0)); /* the writer has not written under the view */
  mmapio_view_release(&v2);
  thread_start(&t, release_portable, NULL);
  ASSERT(thread_join(&t) == NULL);
  ASSERT(thread_join(&w) == NULL);
  ASSERT_EQ(mmapio__ld_relaxed(&M->phold), 0u);
  ASSERT_OK(mmapio_view_get_flags(&v, M, 64, 64, MMAPIO_VIEW_PORTABLE));
  ASSERT(all_bytes(v.data, 64, 0x5a));
  mmapio_view_release(&v);
  mmapio_view_release(&v); /* twice: no-op */
  ASSERT_EQ(mmapio__ld_relaxed(&M->phold), 0u);

  /* A writer that decided without portable holds waits for this thread's
   * ordinary view; a portable view now would wait for that writer, which
   * waits for us: EDEADLK instead of a hang. */
  ASSERT_OK(mmapio_view_get(&v, M, 0, 8));
  thread_start(&w, writer_thread, NULL);
  t0 = now_ms();
  while (mmapio__ld_acquire(&M->wstate) == 0u || mmapio__ld_acquire(&M->pgate) != 1u) {
    ASSERT(now_ms() - t0 < POLL_DEADLINE_MS);
    sleep_ms(1);
  }
  ASSERT_STATUS(mmapio_view_get_flags(&v2, M, 0, 8, MMAPIO_VIEW_PORTABLE), MMAPIO_EDEADLK);
  ASSERT_EQ(mmapio__ld_relaxed(&M->phold), 0u);
  mmapio_view_release(&v);
  ASSERT(thread_join(&w) == NULL);
  ASSERT_OK(mmapio_close(M));
}

/* ---- Many maps per thread ----------------------------------------------- */

static void test_many_maps(void)
{
  mmapio_map **ms = (mmapio_map **)calloc(NMAPS, sizeof *ms);
  ASSERT(ms != NULL);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < NMAPS; i++) ASSERT_OK(mmapio_anon(&ms[i], 4096, 0));
    for (int k = 0; k < 3; k++)
      for (int i = 0; i < NMAPS; i++) {
        mmapio_view v;
        ASSERT_OK(mmapio_view_get(&v, ms[i], 0, 16));
        mmapio_view_release(&v);
      }
    for (int i = 0; i < NMAPS; i++) {
      /* Distinct maps never share a slot: the indices are unique. */
      ASSERT_EQ(mmapio__slots_total(ms[i]), 1u);
      ASSERT(mmapio__tc->e[ms[i]->tidx].slot == ms[i]->slots);
    }
    /* The thread's table holds one entry per live index; closing the maps
     * and opening new ones reuses the indices (the stale entries are given
     * back on first use: ASan's leak check covers that). */
    ASSERT(mmapio__tc->cap < 4u * NMAPS);
    for (int i = 0; i < NMAPS; i++) ASSERT_OK(mmapio_close(ms[i]));
  }
  free(ms);
}

/* ---- Borrow protocol version ------------------------------------------- */

static void test_borrow_version(void)
{
  ASSERT_OK(mmapio_anon(&M, 4096, 0));
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, M, 0, 8));
  ASSERT_EQ(v.priv_.version_, MMAPIO_BORROW_VERSION_);
  mmapio__slot *s = mmapio__slot_get(M);
  ASSERT_EQ(s->count, 1u);
  v.priv_.version_ = MMAPIO_BORROW_VERSION_ + 1u;
  mmapio_view_release(&v); /* another protocol: neither path touches it */
  ASSERT_EQ(s->count, 1u);
  v.priv_.version_ = MMAPIO_BORROW_VERSION_;
  mmapio_view_release(&v);
  ASSERT_EQ(s->count, 0u);
  mmapio_view z;
  memset(&z, 0, sizeof z);
  mmapio_view_release(&z);
  ASSERT_OK(mmapio_close(M));
}

int main(void)
{
  test_borrow_version();
  test_many_maps();
  test_portable();
  test_dead_holder_and_address_reuse();
  test_churn();
  printf("ok\n");
  return 0;
}
