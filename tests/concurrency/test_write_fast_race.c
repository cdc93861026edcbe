/*
 * The inline fast path of mmapio_write (src/map.c) against a thread that
 * claims its first slot of the map, or takes its first portable view, while
 * the writer is on that path.
 *
 * The fast path takes the map without waiting when no other thread owns a
 * slot of it and no portable hold exists; a
 * thread claiming a slot publishes it and fences before it reads wstate, a
 * portable holder adds to phold before it reads wstate. Each round uses a
 * fresh map, so the reader's claim is the map's first one after the
 * writer's: a writer thread rewrites 64 bytes (eight copies of a counter)
 * on the fast path without pause, then a new thread takes its first view
 * (plain or portable) or makes its first mmapio_read -- or, with the free
 * slot of an exited thread in the list, takes that slot again, or claims
 * its slot with no hold (the close of an extra reference) and then reads
 * on the read fast path, which only loads the read gate -- and checks that what
 * it sees is never torn and never changes while its view is held. The
 * checks hold whatever the interleaving; nothing waits for a time.
 * Runs under TSan too.
 */
#include "test.h"

#include "internal.h"

#if defined(_WIN32)
#  define yield_() SwitchToThread()
#else
#  include <sched.h>
#  define yield_() sched_yield()
#endif

#define ROUNDS 150
#define LOOKS 2000

static mmapio_map *M;
static uint32_t Stop, Ready;

static void *writer_thread(void *arg)
{
  (void)arg;
  uint64_t w[8];
  uint64_t k = 0;
  while (!__atomic_load_n(&Stop, __ATOMIC_ACQUIRE)) {
    k++;
    for (int i = 0; i < 8; i++) w[i] = k;
    THREAD_CHECK(mmapio_write(M, 0, w, sizeof w) == MMAPIO_OK);
    if (k == 1) __atomic_store_n(&Ready, 1u, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* Eight equal words (a write is never seen half done). */
static int untorn(const volatile uint64_t *p, uint64_t *val)
{
  uint64_t v = p[0];
  for (int i = 1; i < 8; i++)
    if (p[i] != v) return 0;
  *val = v;
  return 1;
}

enum { FIRST_VIEW, FIRST_PORTABLE, FIRST_READ, REUSED_SLOT, FIRST_CLAIM };

/* Takes a view and exits: its slot stays in the map's list, free. */
static void *passer_thread(void *arg)
{
  (void)arg;
  mmapio_view view;
  THREAD_CHECK(mmapio_view_get(&view, M, 0, 64) == MMAPIO_OK);
  mmapio_view_release(&view);
  return NULL;
}

static void *reader_thread(void *arg)
{
  int how = *(const int *)arg;
  uint64_t buf[8], v0, v;
  if (how == FIRST_CLAIM) {
    THREAD_CHECK(mmapio_retain(M) == MMAPIO_OK);
    THREAD_CHECK(mmapio_close(M) == MMAPIO_OK);
  }
  if (how == FIRST_READ || how == FIRST_CLAIM) {
    for (int i = 0; i < LOOKS; i++) {
      THREAD_CHECK(mmapio_read(M, 0, buf, sizeof buf) == MMAPIO_OK);
      THREAD_CHECK(untorn(buf, &v));
    }
  } else {
    mmapio_view view;
    THREAD_CHECK((how == FIRST_PORTABLE
                      ? mmapio_view_get_flags(&view, M, 0, 64, MMAPIO_VIEW_PORTABLE)
                      : mmapio_view_get(&view, M, 0, 64)) == MMAPIO_OK);
    const volatile uint64_t *p = (const volatile uint64_t *)(const void *)view.data;
    THREAD_CHECK(untorn(p, &v0));
    for (int i = 0; i < LOOKS; i++) {
      THREAD_CHECK(untorn(p, &v));
      THREAD_CHECK(v == v0); /* no write while the view is held */
    }
    mmapio_view_release(&view);
  }
  __atomic_store_n(&Stop, 1u, __ATOMIC_RELEASE);
  return NULL;
}

static void round_once(int how)
{
  ASSERT_OK(mmapio_anon(&M, 4096, 0));
  __atomic_store_n(&Stop, 0u, __ATOMIC_RELAXED);
  __atomic_store_n(&Ready, 0u, __ATOMIC_RELAXED);
  test_thread w, r;
  thread_start(&w, writer_thread, NULL);
  while (!__atomic_load_n(&Ready, __ATOMIC_ACQUIRE)) yield_();
  /* Only the writer's slot: its writes take the fast path now. */
  ASSERT_EQ(mmapio__slots_total(M), 1u);
  int rhow = how;
  if (how == REUSED_SLOT) {
    /* A free slot in the list: the writer's fast path scans past it, and
     * the reader claims it again (ownership published, no new slot). */
    test_thread p;
    thread_start(&p, passer_thread, NULL);
    ASSERT(thread_join(&p) == NULL);
    ASSERT_EQ(mmapio__slots_total(M), 2u);
    ASSERT_EQ(mmapio__slots_in_use(M), 1u);
    rhow = FIRST_VIEW;
  }
  thread_start(&r, reader_thread, &rhow);
  ASSERT(thread_join(&r) == NULL);
  ASSERT(thread_join(&w) == NULL);
  mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
  ASSERT_OK(mmapio_stats(&st, M));
  ASSERT(st.write_calls >= 1u);
  ASSERT_OK(mmapio_close(M));
}

int main(void)
{
  static const int hows[] = {FIRST_VIEW, FIRST_PORTABLE, FIRST_READ, REUSED_SLOT, FIRST_CLAIM};
  for (int h = 0; h < 5; h++)
    for (int i = 0; i < ROUNDS; i++) round_once(hows[h]);
  printf("ok\n");
  return 0;
}
