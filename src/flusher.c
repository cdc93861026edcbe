/*
 * flusher.c -- the one background flusher thread of the process, serving
 * every map whose policy is EVERY_MILLIS.
 *
 * Maps sit in a binary min-heap ordered by their next deadline (monotonic
 * clock), so the thread always serves the earliest deadline first: a map
 * with a 1 ms period cannot starve one with 20 ms, whose deadline comes
 * first once it is due. Deadlines saturate at UINT64_MAX instead of
 * wrapping, and periods are limited to MMAPIO_FLUSH_MAX_MILLIS at open.
 * Each turn of the loop takes the top of the heap in O(log n) under the
 * mutex and then either waits until that deadline or flushes that one map;
 * the flush runs without the mutex (a slow msync does not block other maps
 * from being added or removed). A map's next deadline is `every` ms after
 * the end of its flush (as a "sleep, then msync" loop would have it), so
 * a device slower than the period is not flushed without pause. The flush is mmapio__flush_all, exactly as
 * an explicit flush runs it; what a failure leaves behind for the map's
 * later flushes is decided there (flush.c), and this thread only ignores
 * the status, which nobody is waiting for.
 * mmapio__flusher_remove waits until a flush of its map in progress has
 * finished, so no flush of a map runs after its close. A generation
 * counter lets a new thread start while an old one is still exiting.
 *
 * fork(): the child has no flusher thread. mmapio__flusher_fork releases
 * the mutex the prepare handler took, forgets the thread and its flush in
 * progress, and the thread is started again on demand: by the next
 * EVERY_MILLIS map added, or by the next write to one (mmapio__flusher_kick).
 */
#include "internal.h"

#include <stdlib.h>

static mmapio__mutex mmapio__fl_mu;
static mmapio__fcond mmapio__fl_cond;     /* heap changed / stop (the thread waits) */
static mmapio__fcond mmapio__fl_done;     /* a flush finished (removers wait) */
static mmapio_map **mmapio__fl_heap;      /* min-heap by flush_due_ms */
static size_t mmapio__fl_n, mmapio__fl_cap;
static mmapio_map *mmapio__fl_busy;       /* map being flushed, or NULL */
static unsigned mmapio__fl_gen;           /* bumped to stop the current thread */
static int mmapio__fl_running;
static mmapio__thread mmapio__fl_thread;
static int mmapio__fl_init_state;         /* 0 = not yet, 1 = being set up, 2 = ready */
uint32_t mmapio__fl_restart;              /* atomic: child of fork() whose heap is not empty */

static void mmapio__fl_init(void)
{
  int expect = 0;
  if (mmapio__ld_acquire(&mmapio__fl_init_state) == 2) return;
  if (mmapio__cas(&mmapio__fl_init_state, &expect, 1)) {
    mmapio__mutex_init(&mmapio__fl_mu);
    mmapio__fcond_init(&mmapio__fl_cond);
    mmapio__fcond_init(&mmapio__fl_done);
    mmapio__st_release(&mmapio__fl_init_state, 2);
    return;
  }
  while (mmapio__ld_acquire(&mmapio__fl_init_state) != 2) mmapio__sleep_ms(1);
}

static uint64_t mmapio__sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* ---- The heap (flusher mutex held) ---------------------------------------- */

static void mmapio__fl_set(size_t i, mmapio_map *m)
{
  mmapio__fl_heap[i] = m;
  m->flush_idx = i;
}

static void mmapio__fl_up(size_t i)
{
  mmapio_map *m = mmapio__fl_heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (mmapio__fl_heap[p]->flush_due_ms <= m->flush_due_ms) break;
    mmapio__fl_set(i, mmapio__fl_heap[p]);
    i = p;
  }
  mmapio__fl_set(i, m);
}

static void mmapio__fl_down(size_t i)
{
  mmapio_map *m = mmapio__fl_heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= mmapio__fl_n) break;
    if (c + 1 < mmapio__fl_n && mmapio__fl_heap[c + 1]->flush_due_ms < mmapio__fl_heap[c]->flush_due_ms)
      c++;
    if (m->flush_due_ms <= mmapio__fl_heap[c]->flush_due_ms) break;
    mmapio__fl_set(i, mmapio__fl_heap[c]);
    i = c;
  }
  mmapio__fl_set(i, m);
}

static void mmapio__fl_erase(mmapio_map *m)
{
  size_t i = m->flush_idx;
  mmapio_map *last = mmapio__fl_heap[--mmapio__fl_n];
  if (i == mmapio__fl_n) return;
  mmapio__fl_set(i, last);
  mmapio__fl_up(i);
  mmapio__fl_down(last->flush_idx);
}

/* ---- The thread ------------------------------------------------------------ */

static void mmapio__fl_main(void *arg)
{
  unsigned my_gen = (unsigned)(uintptr_t)arg;
  mmapio__mutex_lock(&mmapio__fl_mu);
  while (mmapio__fl_gen == my_gen) {
    if (mmapio__fl_n == 0) {
      mmapio__fcond_wait(&mmapio__fl_cond, &mmapio__fl_mu);
      continue;
    }
    uint64_t now = mmapio__monotonic_ms();
    mmapio_map *m = mmapio__fl_heap[0];
    if (m->flush_due_ms > now) {
      (void)mmapio__fcond_timedwait(&mmapio__fl_cond, &mmapio__fl_mu, m->flush_due_ms - now);
      continue;
    }
    m->flush_due_ms = mmapio__sat_add(now, m->policy.every);
    mmapio__fl_down(0);
    if (mmapio__ld_acquire(&m->pending) == 0) continue;
    mmapio__fl_busy = m;
    mmapio__mutex_unlock(&mmapio__fl_mu);
    (void)mmapio__flush_all(m);
    mmapio__mutex_lock(&mmapio__fl_mu);
    /* The next period counts from the end of this flush, so a map whose
     * flush takes longer than its period (a busy device) is not flushed
     * back to back: every flush write-protects the pages it cleaned, and
     * the writers would fault on each of them again and again. A map
     * removed meanwhile is no longer in the heap (it waits for
     * mmapio__fl_busy to clear before it goes). */
    if (m->in_flusher) {
      uint64_t due = mmapio__sat_add(mmapio__monotonic_ms(), m->policy.every);
      if (due > m->flush_due_ms) {
        m->flush_due_ms = due;
        mmapio__fl_down(m->flush_idx);
      }
    }
    mmapio__fl_busy = NULL;
    mmapio__fcond_broadcast(&mmapio__fl_done);
  }
  mmapio__mutex_unlock(&mmapio__fl_mu);
}

/* Start the thread if it does not run (flusher mutex held). */
static int mmapio__fl_ensure_thread(void)
{
  if (mmapio__fl_running) return MMAPIO_OK;
  int rc = mmapio__thread_start(&mmapio__fl_thread, mmapio__fl_main,
                                (void *)(uintptr_t)mmapio__fl_gen);
  if (rc != MMAPIO_OK) return rc;
  mmapio__fl_running = 1;
  mmapio__st_release(&mmapio__fl_restart, 0u);
  return MMAPIO_OK;
}

int mmapio__flusher_add(mmapio_map *m)
{
  mmapio__fl_init();
  mmapio__mutex_lock(&mmapio__fl_mu);
  if (mmapio__fl_n == mmapio__fl_cap) {
    size_t cap = mmapio__fl_cap == 0 ? 8u : mmapio__fl_cap * 2u;
    mmapio_map **h = (mmapio_map **)realloc(mmapio__fl_heap, cap * sizeof *h);
    if (h == NULL) {
      mmapio__mutex_unlock(&mmapio__fl_mu);
      return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open(%s): out of memory for the background flusher",
                          mmapio__path_or(m->path));
    }
    mmapio__fl_heap = h;
    mmapio__fl_cap = cap;
  }
  int rc = mmapio__fl_ensure_thread();
  if (rc != MMAPIO_OK) {
    mmapio__mutex_unlock(&mmapio__fl_mu);
    return rc;
  }
  m->flush_due_ms = mmapio__sat_add(mmapio__monotonic_ms(), m->policy.every);
  mmapio__fl_set(mmapio__fl_n++, m);
  mmapio__fl_up(m->flush_idx);
  m->in_flusher = 1;
  mmapio__fcond_broadcast(&mmapio__fl_cond);
  mmapio__mutex_unlock(&mmapio__fl_mu);
  return MMAPIO_OK;
}

void mmapio__flusher_kick(void)
{
  mmapio__mutex_lock(&mmapio__fl_mu);
  if (mmapio__fl_n > 0) (void)mmapio__fl_ensure_thread();
  mmapio__mutex_unlock(&mmapio__fl_mu);
}

void mmapio__flusher_remove(mmapio_map *m)
{
  if (!m->in_flusher) return;
  mmapio__thread to_join;
  int join = 0;
  mmapio__mutex_lock(&mmapio__fl_mu);
  mmapio__fl_erase(m);
  m->in_flusher = 0;
  while (mmapio__fl_busy == m) mmapio__fcond_wait(&mmapio__fl_done, &mmapio__fl_mu);
  if (mmapio__fl_n == 0 && mmapio__fl_running) {
    mmapio__fl_gen++;
    mmapio__fl_running = 0;
    to_join = mmapio__fl_thread;
    join = 1;
    mmapio__fcond_broadcast(&mmapio__fl_cond);
  }
  if (mmapio__fl_n == 0) mmapio__st_release(&mmapio__fl_restart, 0u);
  mmapio__mutex_unlock(&mmapio__fl_mu);
  if (join) mmapio__thread_join(&to_join);
}

void mmapio__flusher_fork(int phase)
{
  if (phase == MMAPIO__FORK_CHILD) mmapio__setup_after_fork(&mmapio__fl_init_state);
  if (mmapio__ld_acquire(&mmapio__fl_init_state) != 2) return;
  if (phase == MMAPIO__FORK_PREPARE) {
    mmapio__mutex_lock(&mmapio__fl_mu);
  } else if (phase == MMAPIO__FORK_PARENT) {
    mmapio__mutex_unlock(&mmapio__fl_mu);
  } else {
    /* The thread, and a flush it was running, exist only in the parent
     * (the parent finishes that flush; the pages are shared). The heap and
     * the maps in it are this process's: they stay, and the thread starts
     * again on demand. A thread of the parent waiting in
     * mmapio__flusher_remove does not exist here either. */
    mmapio__fl_busy = NULL;
    mmapio__fl_running = 0;
    mmapio__fl_gen++;
    mmapio__st_release(&mmapio__fl_restart, mmapio__fl_n > 0 ? 1u : 0u);
    mmapio__fcond_after_fork(&mmapio__fl_cond);
    mmapio__fcond_after_fork(&mmapio__fl_done);
    /* This thread took it in the prepare handler. */
    mmapio__mutex_unlock(&mmapio__fl_mu);
  }
}
