/*
 * lock.c -- the per-thread-slot reader/writer protocol described in
 * internal.h: slot lookup and registration, the slow paths of shared holds,
 * and exclusive holds.
 */
#include "internal.h"

#include <stdlib.h>

MMAPIO__TLS_FAST mmapio__tcache *mmapio__tc;
int mmapio__reader_fence = 1;

/* ---- One-time set-up of the asymmetric fence ---------------------------- */
static int mmapio__asym_state; /* 0 unknown, 1 ready */

static void mmapio__asym_setup(void)
{
  /* Racing first calls may both run mmapio__asym_init(); registering for
   * membarrier twice is harmless, and readers only switch to the cheap path
   * after the flag below is published. */
  if (mmapio__ld_acquire(&mmapio__asym_state)) return;
  /* MMAPIO_FORCE_FENCE=1 selects the fallback protocol (readers fence), so
   * tests can exercise it on systems that have a heavy barrier. */
  const char *force = getenv("MMAPIO_FORCE_FENCE");
  int heavy = (force != NULL && force[0] == '1') ? 0 : mmapio__asym_init();
  mmapio__st_release(&mmapio__reader_fence, heavy ? 0 : 1);
  mmapio__st_release(&mmapio__asym_state, 1);
}

/* Writers issue the heavy barrier only when readers skip their fence and
 * another thread has a slot on this map. A thread registering a new slot
 * issues a full fence after publishing it (mmapio__slot_slow), so a writer
 * that does not see the slot in the list is seen by that reader. The mode is
 * fixed before the first map is opened (mmapio__locks_init). */
static void mmapio__writer_barrier(mmapio_map *m, mmapio__slot *self)
{
  mmapio__full_fence();
  mmapio__slot *head = mmapio__ld_acquire(&m->slots);
  if (mmapio__ld_relaxed(&mmapio__reader_fence)) return;
  if (head == self && self->next == NULL) return;
  mmapio__asym_heavy();
}

void mmapio__locks_init(void) { mmapio__asym_setup(); }

/* ---- Thread caches ------------------------------------------------------ */
static void mmapio__tcache_free(void *p)
{
  mmapio__tcache *c = (mmapio__tcache *)p;
  if (mmapio__tc == c) mmapio__tc = NULL;
  free(c);
}

static mmapio__tcache *mmapio__tcache_get(void)
{
  mmapio__tcache *c = mmapio__tc;
  if (c != NULL) return c;
  c = (mmapio__tcache *)calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  mmapio__tc = c;
  mmapio__on_thread_exit(mmapio__tcache_free, c);
  return c;
}

/* Find or create the calling thread's slot on `m` and cache it. Slots are
 * owned by the map and freed with it; a thread cache entry is keyed by the
 * map's never-reused uid, so stale entries can never match a new map. */
mmapio__slot *mmapio__slot_slow(mmapio_map *m)
{
  mmapio__tcache *c = mmapio__tcache_get();
  if (c == NULL) {
    (void)mmapio__fail(MMAPIO_ENOMEM, "out of memory allocating a per-thread cache");
    return NULL;
  }
  mmapio__slot *s;
  mmapio__mutex_lock(&m->slot_mu);
  for (s = m->slots; s != NULL; s = s->next)
    if (s->owner == c) break;
  if (s == NULL) {
    s = (mmapio__slot *)calloc(1, sizeof *s);
    if (s == NULL) {
      mmapio__mutex_unlock(&m->slot_mu);
      (void)mmapio__fail(MMAPIO_ENOMEM, "out of memory allocating a per-thread slot");
      return NULL;
    }
    s->owner = c;
    s->next = m->slots;
    mmapio__st_release(&m->slots, s);
  }
  mmapio__mutex_unlock(&m->slot_mu);
  mmapio__full_fence(); /* pairs with mmapio__writer_barrier's list check */
  mmapio__tcache_entry *e = &c->e[m->uid & (MMAPIO__TCACHE_SIZE - 1u)];
  e->uid = m->uid;
  e->slot = s;
  return s;
}

void mmapio__slots_free(mmapio_map *m)
{
  mmapio__slot *s = m->slots;
  while (s != NULL) {
    mmapio__slot *n = s->next;
    free(s);
    s = n;
  }
  m->slots = NULL;
}

/* ---- Shared holds: slow paths ------------------------------------------- */

/* Called with the count already incremented and wstate seen non-zero. */
int mmapio__lock_shared_slow(mmapio_map *m, mmapio__slot *s)
{
  for (;;) {
    if (mmapio__ld_relaxed(&s->excl)) {
      /* We hold the map exclusively (a write view): a shared hold would wait
       * for ourselves. */
      mmapio__st_release(&s->count, mmapio__ld_relaxed(&s->count) - 1u);
      return mmapio__fail(MMAPIO_EDEADLK,
                          "would deadlock: the calling thread holds a write view of %s",
                          mmapio__path_or(m->path));
    }
    if (mmapio__ld_relaxed(&s->count) > 1u) {
      /* Already holding shared: the waiting writer waits for us anyway, so
       * taking one more cannot make things worse, and backing off would
       * deadlock. */
      return MMAPIO_OK;
    }
    /* Back off: drop our count, wake the writer, wait for it to finish. */
    mmapio__st_release(&s->count, 0u);
    mmapio__full_fence();
    mmapio__wake_u32(&s->count);
    uint32_t w;
    while ((w = mmapio__ld_acquire(&m->wstate)) != 0u) mmapio__wait_u32(&m->wstate, w, 50);
    mmapio__st_relaxed(&s->count, 1u);
    if (mmapio__ld_relaxed(&mmapio__reader_fence)) mmapio__full_fence();
    else mmapio__compiler_fence();
    if (mmapio__ld_acquire(&m->wstate) == 0u) return MMAPIO_OK;
  }
}

void mmapio__unlock_shared_wake(mmapio_map *m)
{
  mmapio__slot *s = mmapio__slot_get(m);
  if (s != NULL) mmapio__wake_u32(&s->count);
}

/* ---- Exclusive holds ---------------------------------------------------- */

int mmapio__lock_excl(mmapio_map *m, mmapio__slot **out, const char *op, int try_only)
{
  mmapio__slot *self = mmapio__slot_get(m);
  if (self == NULL) return MMAPIO_ENOMEM;
  if (mmapio__ld_relaxed(&self->count) != 0u || mmapio__ld_relaxed(&self->excl)) {
    if (try_only)
      return mmapio__fail(MMAPIO_EBUSY, "%s(%s): views or iterators are still outstanding", op,
                          mmapio__path_or(m->path));
    return mmapio__fail(MMAPIO_EDEADLK,
                        "%s(%s): would deadlock: the calling thread holds a %s of this map", op,
                        mmapio__path_or(m->path), mmapio__ld_relaxed(&self->excl) ? "write view" : "view or iterator");
  }
  if (try_only) {
    if (!mmapio__mutex_trylock(&m->wmu))
      return mmapio__fail(MMAPIO_EBUSY, "%s(%s): a write view or writer is active", op,
                          mmapio__path_or(m->path));
  } else {
    mmapio__mutex_lock(&m->wmu);
  }
  mmapio__st_seqcst(&m->wstate, 1u);
  mmapio__writer_barrier(m, self);
  for (mmapio__slot *s = mmapio__ld_acquire(&m->slots); s != NULL; s = s->next) {
    if (s == self) continue;
    uint32_t c;
    while ((c = mmapio__ld_acquire(&s->count)) != 0u) {
      if (try_only) {
        mmapio__st_release(&m->wstate, 0u);
        mmapio__wake_u32(&m->wstate);
        mmapio__mutex_unlock(&m->wmu);
        return mmapio__fail(MMAPIO_EBUSY, "%s(%s): views or iterators are still outstanding", op,
                            mmapio__path_or(m->path));
      }
      /* The timeout only bounds the wait for a wake-up that raced with our
       * barrier; correctness never depends on it. */
      mmapio__wait_u32(&s->count, c, 10);
    }
  }
  mmapio__st_relaxed(&self->excl, 1u);
  *out = self;
  return MMAPIO_OK;
}

void mmapio__unlock_excl(mmapio_map *m, mmapio__slot *s)
{
  mmapio__st_relaxed(&s->excl, 0u);
  mmapio__st_release(&m->wstate, 0u);
  mmapio__wake_u32(&m->wstate);
  mmapio__mutex_unlock(&m->wmu);
}
