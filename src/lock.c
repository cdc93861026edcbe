/*
 * lock.c -- the per-thread-slot reader/writer protocol described in
 * internal.h: slot lookup and registration, the slow paths of shared holds,
 * and exclusive holds.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mmapio__tcache mmapio__tc_none;
MMAPIO__TLS_FAST mmapio__tcache *mmapio__tc = &mmapio__tc_none;
uint32_t mmapio__reader_fence = 1;

/* ---- One-time set-up of the asymmetric fence ---------------------------- */
static int mmapio__asym_state; /* 0 unknown, 1 ready */

static void mmapio__asym_setup(void)
{
  /* Racing first calls may both run mmapio__asym_init(); registering for
   * membarrier twice is harmless, and readers only switch to the cheap path
   * after the flag below is published. */
  if (mmapio__ld_acquire(&mmapio__asym_state)) return;
  int heavy = 1;
#if defined(MMAPIO_TEST_HOOKS)
  /* MMAPIO_FORCE_FENCE=1 selects the fallback protocol (readers fence), so
   * tests can exercise it on systems that have a heavy barrier. Test builds
   * only: the shipped library reads no environment here. */
  const char *force = getenv("MMAPIO_FORCE_FENCE");
  if (force != NULL && force[0] == '1') heavy = 0;
#endif
  if (heavy) heavy = mmapio__asym_init();
  mmapio__st_release(&mmapio__reader_fence, heavy ? 0u : 1u);
  mmapio__st_release(&mmapio__asym_state, 1);
}

/* The writer's side, after taking wstate and before reading the other
 * slots' counts, when another thread owns a slot of this map (a thread
 * claiming a slot issues a full fence after publishing its ownership, so a
 * writer that does not see the owner is seen by that reader).
 *
 * Asymmetric mode (rfence == 0): readers only have a compiler barrier, so
 * the writer issues the process-wide heavy barrier.
 *
 * The heavy barrier costs microseconds. When a map is written often by one
 * thread while others read it, the writers switch the map to symmetric mode
 * (rfence = 1): readers then pay a full fence (a few ns) and writers need
 * none. The switch is safe because readers load rfence after storing their
 * count: a reader that still saw rfence == 0 did so before the heavy barrier
 * that follows the switch, so its count is visible to every later writer.
 * (The inline read and view fast paths load the read gate instead, which
 * the switching writer closed before that barrier and which stays closed
 * while rfence is 1.)
 * Writers are serialised by wstate, so they all see the current mode.
 * Switching back happens at unlock (mmapio__writer_mode_end), once writes
 * are rare again; the next writer then sees rfence == 0 and uses the heavy
 * barrier. */
#define MMAPIO__HEAVY_WINDOW_MS 10u   /* window over which heavy barriers are counted */
#define MMAPIO__HEAVY_MAX 16u         /* more heavy barriers than this per window: symmetric */
#define MMAPIO__CALM_CHECK 64u        /* symmetric mode: look at the clock every N writes */
#define MMAPIO__CALM_MS 200u          /* ...and go back if N writes took longer than this */

static void mmapio__writer_barrier(mmapio_map *m)
{
  if (mmapio__ld_relaxed(&mmapio__reader_fence)) return;
  if (mmapio__ld_relaxed(&m->rfence)) return;
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

/* ---- Dense map indices -------------------------------------------------- */
/* Each map object has a small index, unique among map objects, so that a
 * thread finds its slot of the map in a plain array (no hashing, no
 * collisions, no lock). Map objects are never freed but reused (lifetime.c)
 * and keep their index, so the indices stay as dense as the most maps alive
 * at once; the map's never-reused uid tells a thread that its entry is
 * stale. Taken once per new map object. */
static uint32_t mmapio__idx_next;

int mmapio__map_index_get(uint32_t *out)
{
  uint32_t i = mmapio__ld_relaxed(&mmapio__idx_next);
  do {
    if (i >= UINT32_MAX - 1u) return mmapio__fail(MMAPIO_ENOMEM, "out of map indices");
  } while (!__atomic_compare_exchange_n(&mmapio__idx_next, &i, i + 1u, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
  *out = i;
  return MMAPIO_OK;
}

/* ---- Slots: ownership and reuse ----------------------------------------- */

static uint64_t mmapio__next_tid = 1;

static void mmapio__slot_unref(mmapio__slot *s)
{
  if (mmapio__fetch_sub(&s->refs, 1u) == 1u) free(s);
}

/* The owner gives its slot back: at thread exit, or when the thread finds
 * the slot's map gone. Holds still counted belong to a thread that can no
 * longer release them: they are dropped (waking a writer that waits for
 * them) and reported. A slot whose count or excl is set keeps its map alive
 * (close refuses), so s->map is valid then. */
static void mmapio__slot_disown(mmapio__slot *s)
{
  uint32_t n = mmapio__ld_relaxed(&s->count);
  uint32_t x = mmapio__ld_relaxed(&s->excl);
  if (n != 0u || x != 0u) {
    mmapio_map *m = s->map;
    fprintf(stderr,
            "mmapio: a thread exited holding %u view(s) or iterator(s)%s of %s; they were "
            "released (views that outlive their thread need MMAPIO_VIEW_PORTABLE)\n",
            (unsigned)n, x ? " and a write view" : "", mmapio__path_or(m->path));
    mmapio__fetch_add(&m->dead_holds, n + x);
    if (x != 0u) mmapio__unlock_excl(m, s);
    if (n != 0u) {
      mmapio__st_seqcst(&s->count, 0u);
      mmapio__wake_u32(&s->count);
    }
  }
  mmapio__st_release(&s->owner, (uint64_t)0);
  mmapio__slot_unref(s);
}

static void mmapio__tcache_free(void *p)
{
  mmapio__tcache *c = (mmapio__tcache *)p;
  if (mmapio__tc == c) mmapio__tc = &mmapio__tc_none;
  for (uint32_t i = 0; i < c->cap; i++)
    if (c->e[i].slot != NULL) mmapio__slot_disown(c->e[i].slot);
  free(c);
}

/* The calling thread's table with room for index `idx`. */
static mmapio__tcache *mmapio__tcache_get(uint32_t idx)
{
  mmapio__tcache *c = mmapio__tc;
  if (idx < c->cap) return c;
  if (c == &mmapio__tc_none) c = NULL;
  uint32_t old = c != NULL ? c->cap : 0u;
  uint32_t cap = old ? old : 16u;
  while (cap <= idx) cap = cap > UINT32_MAX / 2u ? idx + 1u : cap * 2u;
  mmapio__tcache *n =
      (mmapio__tcache *)realloc(c, sizeof *c + (size_t)cap * sizeof(mmapio__tcache_entry));
  if (n == NULL) return NULL;
  memset(&n->e[old], 0, (size_t)(cap - old) * sizeof(mmapio__tcache_entry));
  if (c == NULL) n->tid = mmapio__fetch_add(&mmapio__next_tid, (uint64_t)1);
  n->cap = cap;
  /* Byte limits of the fast paths' pre-scaled offsets (mmapio__entry_off). */
  uint32_t lim = (cap < MMAPIO__FAST_ENTRIES ? cap : MMAPIO__FAST_ENTRIES) *
                 (uint32_t)sizeof(mmapio__tcache_entry);
  /* reader_fence is final: it is set before the first map exists. */
  n->rlim = mmapio__ld_relaxed(&mmapio__reader_fence) ? 0u : lim;
  n->wlim = lim;
  mmapio__tc = n;
  mmapio__on_thread_exit(mmapio__tcache_free, n);
  return n;
}

uint64_t mmapio__self_tid(void) { return mmapio__tc->tid; }

/* Find or claim the calling thread's slot on `m` and record it in the
 * thread's table. A free slot of the map (its thread exited) is reused
 * before a new one is allocated. */
mmapio__slot *mmapio__slot_slow(mmapio_map *m)
{
  mmapio__tcache *c = mmapio__tcache_get(m->tidx);
  if (c == NULL) {
    (void)mmapio__fail(MMAPIO_ENOMEM, "out of memory allocating a per-thread table");
    return NULL;
  }
  mmapio__tcache_entry *e = &c->e[m->tidx];
  if ((e->uid | MMAPIO__UID_PENDING) == (m->uid | MMAPIO__UID_PENDING) && e->slot != NULL) {
    /* Claimed during an exclusive hold (below): the owner was published
     * and fenced then, so a writer that takes wstate after this load sees
     * it and closes the read gate. */
    if (e->uid != m->uid && __atomic_load_n(&m->wstate, __ATOMIC_SEQ_CST) == 0u)
      e->uid = m->uid;
    return e->slot;
  }
  if (e->slot != NULL) {
    /* The map that had this index is gone: give its slot back. */
    mmapio__slot_disown(e->slot);
    e->slot = NULL;
    e->uid = 0;
  }
  mmapio__slot *s;
  mmapio__mutex_lock(&m->slot_mu);
  for (s = m->slots; s != NULL; s = s->next)
    if (mmapio__ld_acquire(&s->owner) == 0u) break;
  if (s == NULL) {
    s = (mmapio__slot *)calloc(1, sizeof *s);
    if (s == NULL) {
      mmapio__mutex_unlock(&m->slot_mu);
      (void)mmapio__fail(MMAPIO_ENOMEM, "out of memory allocating a per-thread slot");
      return NULL;
    }
    s->map = m;
    s->refs = 1u; /* the map's list */
    s->next = m->slots;
    mmapio__st_release(&m->slots, s);
  }
  mmapio__fetch_add(&s->refs, 1u); /* the owner */
  mmapio__st_seqcst(&s->owner, c->tid);
  mmapio__mutex_unlock(&m->slot_mu);
  mmapio__full_fence(); /* pairs with the writer's owner scan */
  /* A writer that took wstate before our owner was published may not have
   * seen it and then did not close the read gate (no other owner): until a
   * later look finds no writer, this thread's fast paths must miss, so
   * they do not run under that hold. Every other path reads wstate. */
  e->uid = __atomic_load_n(&m->wstate, __ATOMIC_SEQ_CST) == 0u ? m->uid
                                                                : m->uid | MMAPIO__UID_PENDING;
  e->slot = s;
  return s;
}

void mmapio__slots_free(mmapio_map *m)
{
  mmapio__slot *s = m->slots;
  while (s != NULL) {
    mmapio__slot *n = s->next;
    mmapio__slot_unref(s); /* an owning thread frees it when it lets go */
    s = n;
  }
  m->slots = NULL;
}

uint32_t mmapio__slots_total(const mmapio_map *m)
{
  uint32_t n = 0;
  for (const mmapio__slot *s = mmapio__ld_acquire(&m->slots); s != NULL; s = s->next) n++;
  return n;
}

uint32_t mmapio__slots_in_use(const mmapio_map *m)
{
  uint32_t n = 0;
  for (const mmapio__slot *s = mmapio__ld_acquire(&m->slots); s != NULL; s = s->next)
    n += mmapio__ld_acquire(&s->owner) != 0u;
  return n;
}

/* ---- Waiting for the writer -------------------------------------------- */

/* Sleep until no writer holds the map. WAITERS tells the writer's unlock to
 * wake us; the timeout is only a backstop. */
static void mmapio__wstate_wait(mmapio_map *m)
{
  uint32_t w = mmapio__ld_acquire(&m->wstate);
  while (w != 0u) {
    if (!(w & MMAPIO__W_WAITERS)) {
      if (!mmapio__cas(&m->wstate, &w, w | MMAPIO__W_WAITERS)) continue;
      w |= MMAPIO__W_WAITERS;
    }
    mmapio__wait_u32(&m->wstate, w, 50);
    w = mmapio__ld_acquire(&m->wstate);
  }
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
    mmapio__wstate_wait(m);
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

/* ---- Portable holds ----------------------------------------------------- */
/* A portable hold is one count in m->phold (sequentially consistent
 * read-modify-writes on both sides). A writer that took wstate decides once
 * whether it waits for portable holds, and publishes the decision in pgate:
 *   UNDECIDED (0): stored before every look at phold (and at unlock);
 *   COMMITTED (1): it saw phold == 0 and will not look again: new portable
 *                  holders back off until the writer is done;
 *   WAITING (2):   it saw holders and will look again before it proceeds,
 *                  and that look sees every hold taken before pgate was read.
 * So a portable holder that finds a writer only backs off when the writer
 * ignores it, and a thread that already holds a portable view can take more
 * while a writer waits (no self-deadlock), as with per-thread slots. */
/* (MMAPIO__PG_UNDECIDED, _COMMITTED and _WAITING are defined in internal.h:
 * the inline write fast path in map.c takes the same steps.) */

static void mmapio__portable_drop(mmapio_map *m)
{
  __atomic_fetch_sub(&m->phold, 1u, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&m->wstate, __ATOMIC_SEQ_CST) != 0u) mmapio__wake_u32(&m->phold);
}

int mmapio__lock_portable(mmapio_map *m, const char *op)
{
  for (;;) {
    __atomic_fetch_add(&m->phold, 1u, __ATOMIC_SEQ_CST);
    if (MMAPIO__LIKELY(__atomic_load_n(&m->wstate, __ATOMIC_SEQ_CST) == 0u)) return MMAPIO_OK;
    uint32_t g;
    while ((g = __atomic_load_n(&m->pgate, __ATOMIC_SEQ_CST)) == MMAPIO__PG_UNDECIDED &&
           __atomic_load_n(&m->wstate, __ATOMIC_SEQ_CST) != 0u)
      mmapio__wait_u32(&m->pgate, MMAPIO__PG_UNDECIDED, 1);
    if (g == MMAPIO__PG_WAITING || __atomic_load_n(&m->wstate, __ATOMIC_SEQ_CST) == 0u)
      return MMAPIO_OK;
    /* The writer proceeds without us: back off until it is done. */
    mmapio__portable_drop(m);
    mmapio__slot *s = mmapio__slot_get(m);
    if (s != NULL && (mmapio__ld_relaxed(&s->count) != 0u || mmapio__ld_relaxed(&s->excl)))
      return mmapio__fail(MMAPIO_EDEADLK,
                          "%s(%s): would deadlock: the calling thread holds a %s of this map",
                          op, mmapio__path_or(m->path),
                          mmapio__ld_relaxed(&s->excl) ? "write view" : "view or iterator");
    mmapio__wstate_wait(m);
  }
}

void mmapio__unlock_portable(mmapio_map *m) { mmapio__portable_drop(m); }

/* With wstate held: wait until no portable hold is left (try_only: EBUSY). */
static int mmapio__writer_wait_portable(mmapio_map *m, int try_only)
{
  uint32_t c = __atomic_load_n(&m->phold, __ATOMIC_SEQ_CST);
  while (c != 0u) {
    __atomic_store_n(&m->pgate, MMAPIO__PG_WAITING, __ATOMIC_SEQ_CST);
    mmapio__wake_u32(&m->pgate);
    if (try_only) return MMAPIO_EBUSY;
    mmapio__wait_u32(&m->phold, c, 10);
    __atomic_store_n(&m->pgate, MMAPIO__PG_UNDECIDED, __ATOMIC_SEQ_CST);
    c = __atomic_load_n(&m->phold, __ATOMIC_SEQ_CST);
  }
  /* A release store is enough: a portable holder that reads UNDECIDED
   * waits until it sees a decision. */
  mmapio__st_release(&m->pgate, MMAPIO__PG_COMMITTED);
  return MMAPIO_OK;
}

/* ---- Exclusive holds ---------------------------------------------------- */

/* Let readers and writers in again: one exchange. The wake (a system call)
 * is only made when someone sleeps: an uncontended write makes none. */
static void mmapio__wstate_clear(mmapio_map *m)
{
  mmapio__writer_mode_end(m);
  /* Still holding wstate: the next holder closes the gate after us. */
  mmapio__rgate_open(m);
  /* Ordered before the exchange, which the next writer's CAS reads: a
   * portable holder that sees that writer's wstate sees this reset. */
  mmapio__st_release(&m->pgate, MMAPIO__PG_UNDECIDED);
  uint32_t old = __atomic_exchange_n(&m->wstate, 0u, __ATOMIC_SEQ_CST);
  if (old & MMAPIO__W_WAITERS) mmapio__wake_u32(&m->wstate);
}

/* Take wstate when another writer has it: announce ourselves and sleep. */
static int mmapio__wstate_take_slow(mmapio_map *m, uint32_t w)
{
  for (;;) {
    if (w == 0u) {
      /* Others may sleep too: keep WAITERS so our unlock wakes them. */
      if (mmapio__cas(&m->wstate, &w, MMAPIO__W_HELD | MMAPIO__W_WAITERS)) return MMAPIO_OK;
      continue;
    }
    if (!(w & MMAPIO__W_WAITERS)) {
      if (!mmapio__cas(&m->wstate, &w, w | MMAPIO__W_WAITERS)) continue;
      w |= MMAPIO__W_WAITERS;
    }
    mmapio__wait_u32(&m->wstate, w, 50);
    w = mmapio__ld_relaxed(&m->wstate);
  }
}

static int mmapio__excl_busy(mmapio_map *m, const char *op)
{
  return mmapio__fail(MMAPIO_EBUSY, "%s(%s): views or iterators are still outstanding", op,
                      mmapio__path_or(m->path));
}

/* The non-waiting exclusive hold of a map no thread has ever borrowed (no
 * slot in its list): no slot is claimed for the caller, which owns none, so
 * closing a map that was only opened costs no slot allocation. A thread
 * claiming its first slot now fences and then reads wstate
 * (mmapio__slot_slow), so it sees the hold taken here; the list is checked
 * again after the CAS: if one appeared, 1 sends the caller to the scanning
 * path. On success *out is NULL. */
static int mmapio__lock_excl_noslot(mmapio_map *m, mmapio__slot **out, const char *op)
{
  uint32_t w = 0u;
  if (!__atomic_compare_exchange_n(&m->wstate, &w, MMAPIO__W_HELD, 0, __ATOMIC_SEQ_CST,
                                   __ATOMIC_RELAXED))
    return mmapio__fail(MMAPIO_EBUSY, "%s(%s): a write view or writer is active", op,
                        mmapio__path_or(m->path));
  if (mmapio__writer_wait_portable(m, 1) != MMAPIO_OK) {
    mmapio__wstate_clear(m);
    return mmapio__excl_busy(m, op);
  }
  if (__atomic_load_n(&m->slots, __ATOMIC_SEQ_CST) != NULL) {
    mmapio__wstate_clear(m);
    return 1; /* a slot appeared meanwhile: take the scanning path */
  }
  *out = NULL;
  return MMAPIO_OK;
}

/* The last close of a map no thread has ever borrowed (no slot in its
 * list) takes no hold: it only has to see that nothing is held now -- no
 * writer, no portable view -- as the non-waiting hold would find. A hold
 * would only keep out a thread starting to use the map from now on, which
 * no program may do while its last reference is being closed (the map is
 * gone once close returns). The loads are sequentially consistent like the
 * hold's CAS, so a writer or portable view that ended before is seen
 * ended. 1: the map has slots, take the hold (mmapio__lock_excl). */
int mmapio__close_probe(mmapio_map *m, const char *op)
{
  if (__atomic_load_n(&m->slots, __ATOMIC_SEQ_CST) != NULL) return 1;
  if (__atomic_load_n(&m->wstate, __ATOMIC_SEQ_CST) != 0u)
    return mmapio__fail(MMAPIO_EBUSY, "%s(%s): a write view or writer is active", op,
                        mmapio__path_or(m->path));
  if (__atomic_load_n(&m->phold, __ATOMIC_SEQ_CST) != 0u) return mmapio__excl_busy(m, op);
  return MMAPIO_OK;
}

int mmapio__lock_excl(mmapio_map *m, mmapio__slot **out, const char *op, int try_only)
{
  if (try_only && __atomic_load_n(&m->slots, __ATOMIC_SEQ_CST) == NULL) {
    int rc = mmapio__lock_excl_noslot(m, out, op);
    if (rc != 1) return rc;
  }
  mmapio__slot *self = mmapio__slot_get(m);
  if (MMAPIO__UNLIKELY(self == NULL)) return MMAPIO_ENOMEM;
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&self->count) != 0u ||
                       mmapio__ld_relaxed(&self->excl))) {
    if (try_only) return mmapio__excl_busy(m, op);
    return mmapio__fail(MMAPIO_EDEADLK,
                        "%s(%s): would deadlock: the calling thread holds a %s of this map", op,
                        mmapio__path_or(m->path), mmapio__ld_relaxed(&self->excl) ? "write view" : "view or iterator");
  }
  uint32_t w = 0u;
  if (MMAPIO__UNLIKELY(!__atomic_compare_exchange_n(&m->wstate, &w, MMAPIO__W_HELD, 0,
                                                    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))) {
    if (try_only)
      return mmapio__fail(MMAPIO_EBUSY, "%s(%s): a write view or writer is active", op,
                          mmapio__path_or(m->path));
    (void)mmapio__wstate_take_slow(m, w);
  }
  int rc = mmapio__lock_excl_rest(m, self, op, try_only);
  if (rc == MMAPIO_OK) *out = self;
  return rc;
}

int mmapio__lock_excl_rest(mmapio_map *m, mmapio__slot *self, const char *op, int try_only)
{
  /* Close the read gate before the heavy barrier below (see
   * mmapio__rgate_value); closed also without other owners, so that this
   * thread's own reads and views see its hold (EDEADLK). It stays closed in
   * the symmetric mode: no store then. */
  if (mmapio__ld_relaxed(&m->rgate) != 0u) mmapio__st_seqcst(&m->rgate, (uint64_t)0);
  /* Portable holds first: the decision is published early, so portable
   * readers arriving now do not wait for the slot scan below. */
  if (MMAPIO__UNLIKELY(mmapio__writer_wait_portable(m, try_only) != MMAPIO_OK)) {
    mmapio__wstate_clear(m);
    return mmapio__excl_busy(m, op);
  }
  /* Another thread owns a slot of this map: make its count visible (heavy
   * barrier or symmetric mode), then wait for every other count to drain.
   * With no other owner there is nothing to wait for and no barrier. */
  /* Sequentially consistent, like the owner loads: a thread that publishes
   * a new slot fences before it reads wstate (mmapio__slot_slow). */
  mmapio__slot *head = __atomic_load_n(&m->slots, __ATOMIC_SEQ_CST);
  int others = 0;
  for (mmapio__slot *s = head; s != NULL; s = s->next)
    if (s != self && __atomic_load_n(&s->owner, __ATOMIC_SEQ_CST) != 0u) {
      others = 1;
      break;
    }
  if (others) {
    mmapio__writer_barrier(m);
    for (mmapio__slot *s = head; s != NULL; s = s->next) {
      if (s == self) continue;
      uint32_t c;
      while ((c = __atomic_load_n(&s->count, __ATOMIC_SEQ_CST)) != 0u) {
        if (try_only) {
          mmapio__wstate_clear(m);
          return mmapio__excl_busy(m, op);
        }
        /* The timeout only bounds the wait for a wake-up that raced with our
         * barrier; correctness never depends on it. */
        mmapio__wait_u32(&s->count, c, 10);
      }
    }
  }
  mmapio__st_relaxed(&self->excl, 1u);
  return MMAPIO_OK;
}

void mmapio__unlock_excl(mmapio_map *m, mmapio__slot *s)
{
  if (s != NULL) mmapio__st_relaxed(&s->excl, 0u);
  mmapio__wstate_clear(m);
}

/* ---- Switching back to asymmetric mode without another write ------------- */

/* Readers in the symmetric mode call this now and then (the exported view
 * release does, for views taken in that mode): once no writer has been
 * seen for MMAPIO__CALM_MS, it switches the map back itself, so a map whose
 * writes stopped does not keep its readers fencing until the next write.
 * It only acts when it can take the writer lock without waiting, so it
 * serialises with writers exactly like mmapio__writer_mode_end; switching
 * to rfence == 0 is always safe (the next writer then issues the heavy
 * barrier). */
void mmapio__writer_mode_poll(mmapio_map *m)
{
  static MMAPIO__TLS uint32_t tick;
  if ((++tick & 255u) != 0u || !mmapio__ld_relaxed(&m->rfence)) return;
  uint32_t w = 0u;
  if (!__atomic_compare_exchange_n(&m->wstate, &w, MMAPIO__W_HELD, 0, __ATOMIC_SEQ_CST,
                                   __ATOMIC_RELAXED))
    return;
  uint64_t now = mmapio__monotonic_ms();
  if (mmapio__ld_relaxed(&m->rfence) && now - m->win_ms > MMAPIO__CALM_MS) {
    mmapio__st_seqcst(&m->rfence, 0u);
    m->win_heavy = 0;
    m->excl_n = 0;
    m->win_ms = now;
  }
  mmapio__rgate_open(m);
  uint32_t old = __atomic_exchange_n(&m->wstate, 0u, __ATOMIC_SEQ_CST);
  if (old & MMAPIO__W_WAITERS) mmapio__wake_u32(&m->wstate);
}

/* ---- The `stable` lock word (internal.h) ---------------------------------- */

void mmapio__slock_rd_slow(uint32_t *w)
{
  for (;;) {
    uint32_t v = mmapio__ld_relaxed(w);
    if ((v & (MMAPIO__SL_WR | MMAPIO__SL_WWAIT)) == 0u) {
      /* A stale SL_RWAIT may stay set: it only costs the next exclusive
       * unlock one wake-up call. */
      if (__atomic_compare_exchange_n(w, &v, v + 1u, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
      continue;
    }
    /* Announce the sleep, so that the exclusive holder's unlock wakes us. */
    if ((v & MMAPIO__SL_RWAIT) == 0u) {
      if (!__atomic_compare_exchange_n(w, &v, v | MMAPIO__SL_RWAIT, 0, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED))
        continue;
      v |= MMAPIO__SL_RWAIT;
    }
    /* Returns at once if the word changed since the announcement. */
    mmapio__wait_u32(w, v, 100);
  }
}

void mmapio__slock_wr(uint32_t *w)
{
  uint32_t v = mmapio__ld_relaxed(w);
  for (;;) {
    if ((v & ~(MMAPIO__SL_WWAIT | MMAPIO__SL_RWAIT)) == 0u) {
      /* No holder: take it, clearing our waiting bit and keeping the shared
       * sleepers' bit for our unlock. */
      if (__atomic_compare_exchange_n(w, &v, MMAPIO__SL_WR | (v & MMAPIO__SL_RWAIT), 0,
                                      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
      continue; /* v was reloaded */
    }
    if ((v & MMAPIO__SL_WWAIT) == 0u) {
      /* Announce the wait: new shared holders now wait too, and the last
       * one out (or the exclusive holder's unlock) wakes us. */
      if (!__atomic_compare_exchange_n(w, &v, v | MMAPIO__SL_WWAIT, 0, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED))
        continue;
      v |= MMAPIO__SL_WWAIT;
    }
    mmapio__wait_u32(w, v, 100);
    v = mmapio__ld_relaxed(w);
  }
}

/* ---- fork(): the child's view of the slots ------------------------------- */

/* Called in the child of fork() for every live map (lifetime.c), where
 * only the forking thread exists: the shared holds and exclusive flags of
 * every other thread's slot are dropped and their slots freed for reuse,
 * nobody sleeps on wstate
 * any more, and unless the forking thread itself holds the map exclusively
 * (a write view or mut iterator, which stay valid in the child), the writer
 * lock -- possibly held by a vanished writer -- starts afresh. Portable
 * holds are not tied to threads and stay counted, like atomic pins. */
void mmapio__lock_after_fork(mmapio_map *m)
{
  uint64_t me = mmapio__self_tid();
  int self_excl = 0;
  for (mmapio__slot *s = m->slots; s != NULL; s = s->next) {
    if (me != 0u && s->owner == me) {
      self_excl = s->excl != 0u;
      continue;
    }
    s->count = 0u;
    s->excl = 0u;
    if (s->owner != 0u) {
      s->owner = 0u;
      mmapio__slot_unref(s); /* the vanished owner's reference (the list keeps one) */
    }
  }
  if (self_excl) {
    m->wstate = MMAPIO__W_HELD; /* the read gate stays closed */
  } else {
    m->wstate = 0u;
    m->pgate = MMAPIO__PG_UNDECIDED;
    mmapio__rgate_open(m);
  }
}
