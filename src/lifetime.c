/*
 * lifetime.c -- when a map may be destroyed, the registry of live maps, and
 * fork() handling.
 *
 * A map is destroyed only when no reference, view, write view, iterator,
 * atomic pin or busy release of any thread is left. References are counted
 * in m->refs; borrows are counted where the lock protocol keeps them (the
 * per-thread slots, m->pins, m->busy), without any shared atomic on the
 * view fast path. So when the last reference goes:
 *
 *  - mmapio_close of the last reference refuses (MMAPIO_EBUSY) while
 *    anything is borrowed, as the header promises;
 *  - a module dropping the last reference (segment, byte buffer, task,
 *    watch: their releases return nothing) destroys the map at once when a
 *    non-waiting exclusive hold proves that nothing is borrowed, else hands
 *    it to a *reaper*: a library thread that takes the map exclusively --
 *    waiting for every view, write view and iterator like any writer --
 *    waits for the pins and busy releases to drain, and destroys it. The
 *    borrows stay valid until they are released; the releases wake the
 *    reaper through the ordinary writer wake-ups.
 *
 * A release's last access to the map is a plain load right after it drops
 * its count (the reader's half of the writer handshake, in the header's
 * inline release); everything a release does later (wakes) only uses
 * addresses. The reaper acts only after seeing the count dropped, then
 * takes several more steps (pins, busy, unlock, flusher removal, the final
 * flush) before it retires the object, and map objects are never returned
 * to the allocator (mmapio__registry_reuse), so that load never reads
 * freed memory.
 *
 * Reapers are detached: one per map that died with borrows outstanding,
 * which is rare. mmapio__reap_wait lets tests wait for them.
 *
 * fork(): the registry lets the child fix every map object. The prepare
 * handler takes the short-lived locks (reaper count, registry; each map
 * object's resize and slot mutexes; the flusher's; the async pool's) so
 * that no other thread is inside them at fork time, and the parent handler
 * releases them. In the child, whose only thread is the one that forked
 * and took them, the child handler releases them too (a locked mutex is
 * never initialised again), and resets only what belonged to threads that
 * do not exist there: their slot holds (lock.c), the writer lock (wstate)
 * unless the forking thread holds the map exclusively, the `stable` lock
 * word (held by flushes of other threads; not taken by the prepare
 * handler, so set to unlocked), the flusher thread (restarted on demand), the async
 * workers (tasks that were queued or running fail), the reapers, condition
 * variables that recorded waiters (mmapio__fcond, internal.h), and the
 * watches (inactive in the child). The fork handlers are registered before
 * the first map or async task exists (mmapio__fork_setup).
 */
#include "internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registry lock: a futex-style word (0 free, 1 held, 2 held with
 * sleepers) rather than a mutex (a few instructions when nobody else wants
 * it). It guards the list of map objects and the pool's free list; the
 * reaper count has its own mutex and condition variable (rare).
 *
 * The list holds every map object ever made, live or pooled: objects are
 * never freed, so an object is linked once, when it is made, and never
 * unlinked. Opening and closing a map therefore do not touch the list; a
 * pooled object is just one whose `live` is 0. The fork handlers walk
 * every object: a pooled one has no slots and its locks are unlocked, so
 * taking and reinitialising them there is harmless. */
static uint32_t mmapio__reg_lock;
static mmapio_map *mmapio__reg_head;
static mmapio_map *mmapio__pool; /* pooled objects beyond the spare (registry lock) */
mmapio_map *mmapio__pool_spare;  /* see mmapio__registry_reuse (internal.h) */
static mmapio__mutex mmapio__reap_mu;
static mmapio__fcond mmapio__reap_cv; /* a reaper finished */
static unsigned mmapio__reapers; /* reaper threads running (reap_mu) */
static int mmapio__reg_state;    /* 0: not set up, 1: being set up, 2: ready */
unsigned mmapio__fork_gen;

static void mmapio__reg_init_slow(void)
{
  int expect = 0;
  if (mmapio__cas(&mmapio__reg_state, &expect, 1)) {
    mmapio__mutex_init(&mmapio__reap_mu);
    mmapio__fcond_init(&mmapio__reap_cv);
    mmapio__os_atfork_register();
    mmapio__st_release(&mmapio__reg_state, 2);
    return;
  }
  while (mmapio__ld_acquire(&mmapio__reg_state) != 2) mmapio__sleep_ms(1);
}

static inline void mmapio__reg_init(void)
{
  if (MMAPIO__UNLIKELY(mmapio__ld_acquire(&mmapio__reg_state) != 2)) mmapio__reg_init_slow();
}

void mmapio__fork_setup(void) { mmapio__reg_init(); }

static void mmapio__reg_lock_slow(void)
{
  uint32_t c = __atomic_exchange_n(&mmapio__reg_lock, 2u, __ATOMIC_ACQUIRE);
  while (c != 0u) {
    mmapio__wait_u32(&mmapio__reg_lock, 2u, 100);
    c = __atomic_exchange_n(&mmapio__reg_lock, 2u, __ATOMIC_ACQUIRE);
  }
}

static inline void mmapio__reg_acquire(void)
{
  uint32_t expect = 0u;
  if (MMAPIO__UNLIKELY(!__atomic_compare_exchange_n(&mmapio__reg_lock, &expect, 1u, 0,
                                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
    mmapio__reg_lock_slow();
}

static inline void mmapio__reg_release(void)
{
  if (MMAPIO__UNLIKELY(__atomic_exchange_n(&mmapio__reg_lock, 0u, __ATOMIC_RELEASE) == 2u))
    mmapio__wake_u32(&mmapio__reg_lock);
}

/* A new object (zeroed, locks initialised): linked for good, and live. */
void mmapio__registry_add(mmapio_map *m)
{
  mmapio__reg_init();
  mmapio__reg_acquire();
  m->reg_next = mmapio__reg_head;
  mmapio__reg_head = m;
  mmapio__st_relaxed(&m->live, 1u);
  mmapio__reg_release();
}

/* Map objects are type-stable: a destroyed map's object is kept for the
 * next map instead of being freed. A release on another thread may still
 * make its last plain load of the map's writer word right after it dropped
 * its count, which is what lets the destroying thread go ahead; that load
 * then reads a field of a map object (at worst a spurious wake-up of the
 * releasing thread's own slot), never freed memory -- and since such a
 * map (it had slots) is pooled dirty, it is zeroed only when it is taken
 * again, as late as possible. The pool holds at most as many objects as
 * maps were alive at once. A pooled object keeps its initialised
 * (unlocked) locks and its dense index (see internal.h). `got` is what the
 * spare exchange returned: NULL, or a dirty object. */
mmapio_map *mmapio__registry_reuse_slow(mmapio_map *got)
{
  mmapio_map *m = got;
  if (m == NULL) {
    mmapio__reg_init();
    mmapio__reg_acquire();
    m = mmapio__pool;
    if (m != NULL) mmapio__pool = m->pool_next;
    mmapio__reg_release();
    if (m == NULL) return NULL;
  }
  if (m->dirty) {
    uint32_t tidx = m->tidx;
    memset(m, 0, offsetof(mmapio_map, slot_mu));
    m->tidx = tidx;
    mmapio__map_ready(m);
    m->dirty = 0;
  }
  mmapio__st_relaxed(&m->live, 1u);
  return m;
}

void mmapio__registry_pool_push(mmapio_map *m)
{
  mmapio__reg_acquire();
  m->pool_next = mmapio__pool;
  mmapio__pool = m;
  mmapio__reg_release();
}

void mmapio__registry_retire(mmapio_map *m)
{
  /* Under the lock: a fork now must not find a map whose slots are being
   * freed (the child's handler walks them). */
  if (m->slots != NULL) {
    mmapio__reg_acquire();
    mmapio__slots_free(m);
    mmapio__reg_release();
  }
  m->dirty = 1;
  mmapio__registry_retire_clean(m); /* the spare exchange orders `dirty` for the taker */
}

void mmapio__registry_check_clean(const mmapio_map *m)
{
#ifndef NDEBUG
  const unsigned char *p = (const unsigned char *)m;
  size_t bad = SIZE_MAX;
  for (size_t i = 0; i < offsetof(mmapio_map, slot_mu); i++) {
    /* i - offset wraps around below the field: one unsigned compare. */
#  define MMAPIO__SKIP(f) \
    if ((size_t)(i - offsetof(mmapio_map, f)) < sizeof m->f) continue;
    MMAPIO__SKIP(tidx)
    MMAPIO__MAP_ALLOC_SET(MMAPIO__SKIP)
    MMAPIO__MAP_READY_SET(MMAPIO__SKIP)
#  undef MMAPIO__SKIP
    if (p[i] != 0) {
      bad = i;
      break;
    }
  }
  /* The ready fields hold exactly what mmapio__map_ready stores. */
  mmapio_map r;
  memset(&r, 0, sizeof r);
  r.tidx = m->tidx;
  mmapio__map_ready(&r);
  if (r.path == r.path_buf) r.path = (char *)m->path_buf; /* the same field of m */
#  define MMAPIO__READY(f) \
  if (bad == SIZE_MAX && memcmp(&r.f, &m->f, sizeof m->f) != 0) bad = offsetof(mmapio_map, f);
  MMAPIO__MAP_READY_SET(MMAPIO__READY)
#  undef MMAPIO__READY
  if (bad != SIZE_MAX) {
    fprintf(stderr, "mmapio: internal error: a pooled map object is not clean (byte %zu)\n", bad);
    abort();
  }
#else
  (void)m;
#endif
}

size_t mmapio__registry_count(void)
{
  mmapio__reg_init();
  mmapio__reg_acquire();
  size_t n = 0;
  for (mmapio_map *m = mmapio__reg_head; m != NULL; m = m->reg_next)
    n += mmapio__ld_relaxed(&m->live) != 0u;
  mmapio__reg_release();
  return n;
}

void mmapio__reap_wait(void)
{
  mmapio__reg_init();
  mmapio__mutex_lock(&mmapio__reap_mu);
  while (mmapio__reapers != 0) mmapio__fcond_wait(&mmapio__reap_cv, &mmapio__reap_mu);
  mmapio__mutex_unlock(&mmapio__reap_mu);
}

/* ---- Reaping ------------------------------------------------------------- */

/* Wait until *count (pins or busy) has drained, with the waiting bit set so
 * that the release dropping it to zero wakes us. The timeout only bounds a
 * wake-up that raced with setting the bit. */
static void mmapio__drain(uint32_t *count)
{
  (void)__atomic_fetch_or(count, MMAPIO__WAITING_BIT, __ATOMIC_ACQ_REL);
  uint32_t c;
  while ((c = mmapio__ld_acquire(count)) != MMAPIO__WAITING_BIT) mmapio__wait_u32(count, c, 50);
  mmapio__st_release(count, 0u);
}

static void mmapio__reaper_main(void *arg)
{
  mmapio_map *m = (mmapio_map *)arg;
  mmapio__slot *s;
  /* Waits like any writer for the views, write views and iterators of
   * every thread. It only fails without memory for this thread's slot. */
  while (mmapio__lock_excl(m, &s, "mmapio_close", 0) != MMAPIO_OK) mmapio__sleep_ms(10);
  mmapio__drain(&m->pins);
  mmapio__drain(&m->busy);
  mmapio__unlock_excl(m, s);
  (void)mmapio__map_destroy(m);
  mmapio__mutex_lock(&mmapio__reap_mu);
  mmapio__reapers--;
  mmapio__fcond_broadcast(&mmapio__reap_cv);
  mmapio__mutex_unlock(&mmapio__reap_mu);
}

void mmapio__map_reap(mmapio_map *m)
{
  /* The release that got us here returns nothing: keep the caller's
   * detail message as it was. */
  mmapio__saved_error e;
  mmapio__error_save(&e);
  mmapio__slot *s;
  if (mmapio__lock_excl(m, &s, "mmapio_close", 1) == MMAPIO_OK) {
    uint32_t pins = mmapio__ld_acquire(&m->pins);
    uint32_t busy = mmapio__ld_acquire(&m->busy);
    mmapio__unlock_excl(m, s);
    if (pins == 0u && busy == 0u) {
      /* The final flush's failure is not reported here either. */
      (void)mmapio__map_destroy(m);
      mmapio__error_restore(&e);
      return;
    }
  }
  mmapio__st_release(&m->dying, 1u);
  mmapio__mutex_lock(&mmapio__reap_mu);
  mmapio__reapers++;
  mmapio__mutex_unlock(&mmapio__reap_mu);
  mmapio__thread t;
  if (mmapio__thread_start(&t, mmapio__reaper_main, m) == MMAPIO_OK) {
    mmapio__thread_detach(&t);
  } else if (!mmapio__self_holds(m)) {
    /* No thread: wait here instead (this thread holds nothing of m). */
    mmapio__reaper_main(m);
  } else {
    /* No thread, and waiting here would wait for ourselves: the map stays
     * mapped until the process ends. */
    fprintf(stderr, "mmapio: cannot start a thread to close %s once its views are released; "
                    "it stays open\n", mmapio__path_or(m->path));
    mmapio__mutex_lock(&mmapio__reap_mu);
    mmapio__reapers--;
    mmapio__fcond_broadcast(&mmapio__reap_cv);
    mmapio__mutex_unlock(&mmapio__reap_mu);
  }
  mmapio__error_restore(&e);
}

/* ---- fork() --------------------------------------------------------------- */

/* 1 from a prepare handler that took the locks to the parent's or child's
 * handler (which then release them): the registry's state may become ready
 * between the two. */
static int mmapio__fork_held;

void mmapio__fork_prepare(void)
{
  if (mmapio__ld_acquire(&mmapio__reg_state) != 2) return;
  /* Order: the reaper count, the registry, then each map's resize and slot
   * mutexes, then the flusher's and the async pool's (and after this
   * handler, in the POSIX backend, the stripes of the portable address-wait
   * table and the test hooks' mutex). No thread takes the registry or the
   * reaper count while holding one of the others, nor a map mutex while
   * holding the flusher's or the async pool's; the writer locks (wstate,
   * held for as long as a write view lives) and the `stable` locks (held
   * across a flush's system call) are never taken here, so a fork never
   * waits for a write view or for the device. The parent and child
   * handlers release in the reverse order.
   * The list has the pooled objects too; nobody holds their locks, so
   * taking them costs nothing and keeps one walk for both kinds. */
  mmapio__mutex_lock(&mmapio__reap_mu);
  mmapio__reg_acquire();
  for (mmapio_map *m = mmapio__reg_head; m != NULL; m = m->reg_next) {
    mmapio__mutex_lock(&m->resize_mu);
    mmapio__mutex_lock(&m->slot_mu);
  }
  mmapio__flusher_fork(MMAPIO__FORK_PREPARE);
  mmapio__async_fork(MMAPIO__FORK_PREPARE);
  mmapio__fork_held = 1;
}

void mmapio__fork_parent(void)
{
  if (!mmapio__fork_held) return;
  mmapio__fork_held = 0;
  mmapio__async_fork(MMAPIO__FORK_PARENT);
  mmapio__flusher_fork(MMAPIO__FORK_PARENT);
  for (mmapio_map *m = mmapio__reg_head; m != NULL; m = m->reg_next) {
    mmapio__mutex_unlock(&m->slot_mu);
    mmapio__mutex_unlock(&m->resize_mu);
  }
  mmapio__reg_release();
  mmapio__mutex_unlock(&mmapio__reap_mu);
}

/* The child's only thread is the one that forked; it holds every lock the
 * prepare handler took and releases each one (a mutex is never initialised
 * again while locked). What belonged to other threads is reset: their
 * holds, the flusher and the workers, the reapers, condition variables
 * that recorded them as waiters (mmapio__fcond_after_fork). */
void mmapio__fork_child(void)
{
  mmapio__fork_gen++;
  if (!mmapio__fork_held) {
    /* Not ready at fork time: a 1 was left by a thread of the parent. */
    mmapio__setup_after_fork(&mmapio__reg_state);
    return;
  }
  mmapio__fork_held = 0;
  mmapio__async_fork(MMAPIO__FORK_CHILD);
  mmapio__flusher_fork(MMAPIO__FORK_CHILD);
  for (mmapio_map *m = mmapio__reg_head; m != NULL; m = m->reg_next) {
    /* This thread took them in the prepare handler, so it lets them go
     * (pooled objects' too: the next map of such an object uses them). */
    mmapio__mutex_unlock(&m->slot_mu);
    mmapio__mutex_unlock(&m->resize_mu);
    /* `stable` (a lock word, internal.h) may be held shared by flushes and
     * hints of other threads, which are gone: the prepare handler does not
     * take it (a fork would wait for the device). No exclusive holder or
     * waiter exists: the only one, a moving resize, holds resize_mu, which
     * the prepare handler holds. And this thread holds no share: it is in
     * the application's fork() (the library never forks, and calls no
     * application code while it holds `stable`). So every share belongs
     * to a thread that is gone, and the word is set to "unlocked". */
    mmapio__st_relaxed(&m->stable, 0u);
    mmapio__lock_after_fork(m);
    /* Pins are not tied to threads and stay counted; the releases that
     * were using the map after their hold (busy) ran on other threads. */
    m->pins &= ~MMAPIO__WAITING_BIT;
    m->busy = 0;
    /* A map whose reaper ran in the parent has none here: it stays mapped
     * until the child exits or execs (descriptors are close-on-exec). */
  }
  /* This thread holds the registry lock (a word, not a mutex): free it.
   * The sleepers a 2 announced are threads of the parent: no wake. */
  mmapio__st_release(&mmapio__reg_lock, 0u);
  /* Reaper threads, and any thread of mmapio__reap_wait, are the parent's. */
  mmapio__reapers = 0;
  mmapio__fcond_after_fork(&mmapio__reap_cv);
  mmapio__mutex_unlock(&mmapio__reap_mu);
}
