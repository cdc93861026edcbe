/*
 * lock.c -- the per-thread-slot reader/writer protocol described in
 * internal.h: slot lookup and registration, the slow paths of shared holds,
 * and exclusive holds.
 */
#include "internal.h"

#include <stdlib.h>

MMAPIO__TLS_FAST mmapio__tcache *mmapio__tc;
uint32_t mmapio__reader_fence = 1;

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
  mmapio__st_release(&mmapio__reader_fence, heavy ? 0u : 1u);
  mmapio__st_release(&mmapio__asym_state, 1);
}

/* The writer's side, after storing wstate = 1 and before reading the other
 * slots' counts.
 *
 * Asymmetric mode (rfence == 0): readers only have a compiler barrier, so
 * the writer issues the process-wide heavy barrier -- unless no other
 * thread has a slot on this map (a thread registering a new slot issues a
 * full fence after publishing it, so a writer that does not see the slot is
 * seen by that reader).
 *
 * The heavy barrier costs microseconds. When a map is written often by one
 * thread while others read it, the writers switch the map to symmetric mode
 * (rfence = 1): readers then pay a full fence (a few ns) and writers need
 * none. The switch is safe because readers load rfence after storing their
 * count: a reader that still saw rfence == 0 did so before the heavy barrier
 * that follows the switch, so its count is visible to every later writer.
 * Writers serialise on wmu, so they all see the current mode. Switching back
 * happens at unlock (mmapio__writer_mode_end), once writes are rare again;
 * the next writer then sees rfence == 0 and uses the heavy barrier. */
#define MMAPIO__HEAVY_WINDOW_MS 10u   /* window over which heavy barriers are counted */
#define MMAPIO__HEAVY_MAX 16u         /* more heavy barriers than this per window: symmetric */
#define MMAPIO__CALM_CHECK 64u        /* symmetric mode: look at the clock every N writes */
#define MMAPIO__CALM_MS 200u          /* ...and go back if N writes took longer than this */

static void mmapio__writer_barrier(mmapio_map *m, mmapio__slot *self)
{
  mmapio__full_fence();
  mmapio__slot *head = mmapio__ld_acquire(&m->slots);
  if (mmapio__ld_relaxed(&mmapio__reader_fence)) return;
  if (mmapio__ld_relaxed(&m->rfence)) return;
  if (head == self && self->next == NULL) return;
  uint64_t now = mmapio__monotonic_ms();
  if (now - m->win_ms > MMAPIO__HEAVY_WINDOW_MS) {
    m->win_ms = now;
    m->win_heavy = 0;
  }
  if (++m->win_heavy > MMAPIO__HEAVY_MAX) {
    mmapio__st_seqcst(&m->rfence, 1u);
    m->win_ms = now;
    m->excl_n = 0;
  }
  mmapio__asym_heavy();
}

/* Called by the exclusive holder before it lets readers in again. */
static void mmapio__writer_mode_end(mmapio_map *m)
{
  if (!mmapio__ld_relaxed(&m->rfence)) return;
  if (++m->excl_n % MMAPIO__CALM_CHECK != 0u) return;
  uint64_t now = mmapio__monotonic_ms();
  if (now - m->win_ms > MMAPIO__CALM_MS) {
    /* Fewer than CALM_CHECK writes in CALM_MS: back to cheap readers. */
    mmapio__st_seqcst(&m->rfence, 0u);
    m->win_heavy = 0;
  }
  m->win_ms = now;
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
    /* Announce ourselves before looking at wstate; the writer stores 0
     * before looking at rwaiters (both with full fences), so either we see
     * 0 or it sees us and wakes us. The timeout is only a backstop. */
    uint32_t w;
    mmapio__fetch_add(&m->rwaiters, 1u);
    mmapio__full_fence();
    while ((w = mmapio__ld_acquire(&m->wstate)) != 0u) mmapio__wait_u32(&m->wstate, w, 50);
    mmapio__fetch_sub(&m->rwaiters, 1u);
    mmapio__st_relaxed(&s->count, 1u);
    mmapio__reader_barrier(m);
    if (mmapio__ld_acquire(&m->wstate) == 0u) return MMAPIO_OK;
  }
}

void mmapio__unlock_shared_wake(mmapio_map *m, mmapio__slot *s)
{
  (void)m;
  mmapio__wake_u32(&s->count);
}

/* ---- Exclusive holds ---------------------------------------------------- */

/* Let readers in again. The futex wake (a system call) is only made when a
 * reader sleeps: an uncontended write costs no system call at all. */
static void mmapio__wstate_clear(mmapio_map *m)
{
  mmapio__writer_mode_end(m);
  mmapio__st_seqcst(&m->wstate, 0u);
  mmapio__full_fence();
  if (mmapio__ld_relaxed(&m->rwaiters) != 0u) mmapio__wake_u32(&m->wstate);
}

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
        mmapio__wstate_clear(m);
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
  mmapio__wstate_clear(m);
  mmapio__mutex_unlock(&m->wmu);
}

/* ---- Switching back to asymmetric mode without another write ------------- */

/* Readers in the symmetric mode call this now and then (the exported view
 * release does, for views taken in that mode): once no writer has been
 * seen for MMAPIO__CALM_MS, it switches the map back itself, so a map whose
 * writes stopped does not keep its readers fencing until the next write.
 * It only acts when it can take wmu without waiting, so it serialises with
 * writers exactly like mmapio__writer_mode_end; switching to rfence == 0 is
 * always safe (the next writer then issues the heavy barrier). */
void mmapio__writer_mode_poll(mmapio_map *m)
{
  static MMAPIO__TLS uint32_t tick;
  if ((++tick & 255u) != 0u || !mmapio__ld_relaxed(&m->rfence)) return;
  if (!mmapio__mutex_trylock(&m->wmu)) return;
  uint64_t now = mmapio__monotonic_ms();
  if (mmapio__ld_relaxed(&m->rfence) && now - m->win_ms > MMAPIO__CALM_MS) {
    mmapio__st_seqcst(&m->rfence, 0u);
    m->win_heavy = 0;
    m->excl_n = 0;
    m->win_ms = now;
  }
  mmapio__mutex_unlock(&m->wmu);
}

/* ---- fork(): the child's view of the slots ------------------------------- */

/* Called in the child of fork() for every live map (lifetime.c), where
 * only the forking thread exists: the shared holds and exclusive flags of
 * every other thread's slot are dropped, nobody sleeps on wstate any more,
 * and unless the forking thread itself holds the map exclusively (a write
 * view or mut iterator, which stay valid in the child), the writer mutex --
 * possibly held by a vanished writer -- starts afresh with no writer. */
void mmapio__lock_after_fork(mmapio_map *m)
{
  const void *me = mmapio__tc;
  int self_excl = 0;
  for (mmapio__slot *s = m->slots; s != NULL; s = s->next) {
    if (me != NULL && s->owner == me) {
      self_excl = s->excl != 0u;
      continue;
    }
    s->count = 0u;
    s->excl = 0u;
  }
  m->rwaiters = 0u;
  if (!self_excl) {
    mmapio__mutex_init(&m->wmu);
    m->wstate = 0u;
  }
}
