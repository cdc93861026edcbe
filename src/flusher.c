/*
 * flusher.c -- the one background flusher thread of the process, serving
 * every map whose policy is EVERY_MILLIS.
 *
 * Maps sit in a list with their next deadline (monotonic clock). The thread
 * sleeps until the earliest deadline, flushes the maps that are due and have
 * pending bytes, and exits when the list becomes empty. A flush runs without
 * the flusher mutex held (a slow msync does not block other maps from being
 * added or removed); mmapio__flusher_remove waits until a flush of its map
 * in progress has finished, so no flush of a map runs after its close.
 * A generation counter lets a new thread start while an old one is still
 * exiting.
 */
#include "internal.h"

static mmapio__mutex mmapio__fl_mu;
static mmapio__cond mmapio__fl_cond;      /* list changed / stop */
static mmapio__cond mmapio__fl_done;      /* a flush finished */
static mmapio_map *mmapio__fl_list;
static mmapio_map *mmapio__fl_busy;       /* map being flushed, or NULL */
static unsigned mmapio__fl_gen;           /* bumped to stop the current thread */
static int mmapio__fl_running;
static mmapio__thread mmapio__fl_thread;
static int mmapio__fl_init_state;         /* 0 = not yet, 1 = being set up, 2 = ready */

static void mmapio__fl_init(void)
{
  int expect = 0;
  if (mmapio__cas(&mmapio__fl_init_state, &expect, 1)) {
    mmapio__mutex_init(&mmapio__fl_mu);
    mmapio__cond_init(&mmapio__fl_cond);
    mmapio__cond_init(&mmapio__fl_done);
    mmapio__st_release(&mmapio__fl_init_state, 2);
    return;
  }
  while (mmapio__ld_acquire(&mmapio__fl_init_state) != 2) mmapio__sleep_ms(1);
}

static void mmapio__fl_main(void *arg)
{
  unsigned my_gen = (unsigned)(uintptr_t)arg;
  mmapio__mutex_lock(&mmapio__fl_mu);
  while (mmapio__fl_gen == my_gen) {
    uint64_t now = mmapio__monotonic_ms();
    mmapio_map *due = NULL;
    uint64_t next = UINT64_MAX;
    for (mmapio_map *m = mmapio__fl_list; m != NULL; m = m->flush_next) {
      if (m->flush_due_ms <= now) {
        due = m;
        break;
      }
      if (m->flush_due_ms < next) next = m->flush_due_ms;
    }
    if (due != NULL) {
      due->flush_due_ms = now + due->policy.every;
      if (mmapio__ld_acquire(&due->pending) != 0) {
        mmapio__fl_busy = due;
        mmapio__mutex_unlock(&mmapio__fl_mu);
        /* A failure stays visible as pending bytes and is retried at the
         * next period; explicit flushes report errors to the caller. */
        (void)mmapio__flush_all(due);
        mmapio__mutex_lock(&mmapio__fl_mu);
        mmapio__fl_busy = NULL;
        mmapio__cond_broadcast(&mmapio__fl_done);
      }
      continue;
    }
    if (next == UINT64_MAX) mmapio__cond_wait(&mmapio__fl_cond, &mmapio__fl_mu);
    else (void)mmapio__cond_timedwait(&mmapio__fl_cond, &mmapio__fl_mu, next - now);
  }
  mmapio__mutex_unlock(&mmapio__fl_mu);
}

int mmapio__flusher_add(mmapio_map *m)
{
  mmapio__fl_init();
  mmapio__mutex_lock(&mmapio__fl_mu);
  m->flush_due_ms = mmapio__monotonic_ms() + m->policy.every;
  m->flush_next = mmapio__fl_list;
  mmapio__fl_list = m;
  m->in_flusher = 1;
  if (!mmapio__fl_running) {
    int rc = mmapio__thread_start(&mmapio__fl_thread, mmapio__fl_main,
                                  (void *)(uintptr_t)mmapio__fl_gen);
    if (rc != MMAPIO_OK) {
      mmapio__fl_list = m->flush_next;
      m->in_flusher = 0;
      mmapio__mutex_unlock(&mmapio__fl_mu);
      return rc;
    }
    mmapio__fl_running = 1;
  }
  mmapio__cond_broadcast(&mmapio__fl_cond);
  mmapio__mutex_unlock(&mmapio__fl_mu);
  return MMAPIO_OK;
}

void mmapio__flusher_remove(mmapio_map *m)
{
  if (!m->in_flusher) return;
  mmapio__thread to_join;
  int join = 0;
  mmapio__mutex_lock(&mmapio__fl_mu);
  for (mmapio_map **pp = &mmapio__fl_list; *pp != NULL; pp = &(*pp)->flush_next) {
    if (*pp == m) {
      *pp = m->flush_next;
      break;
    }
  }
  m->in_flusher = 0;
  while (mmapio__fl_busy == m) mmapio__cond_wait(&mmapio__fl_done, &mmapio__fl_mu);
  if (mmapio__fl_list == NULL && mmapio__fl_running) {
    mmapio__fl_gen++;
    mmapio__fl_running = 0;
    to_join = mmapio__fl_thread;
    join = 1;
    mmapio__cond_broadcast(&mmapio__fl_cond);
  }
  mmapio__mutex_unlock(&mmapio__fl_mu);
  if (join) mmapio__thread_join(&to_join);
}
