/*
 * internal.h -- the map object, the borrow/lock protocol and error helpers
 * shared by the portable core. Nothing here is exported.
 *
 * Concurrency model (docs/design.md)
 * ---------------------------------------
 * Every map has a list of per-thread *slots*. A slot counts the shared holds
 * (read views, mmapio_read in progress, read iterators) of its owner thread
 * and whether that thread holds the map exclusively. Only the owner writes
 * its count, with plain (relaxed) stores. A slot belongs to one thread at a
 * time, identified by a per-thread id that is never reused; when the thread
 * exits its slots go back to their maps (reused by the next thread that
 * needs one), so a map has as many slots as threads that use it *at once*.
 *
 * Shared acquire (fast path): count += 1; compiler barrier; load the map's
 * writer state `wstate`; if it is 0, done. Release: count -= 1 (release
 * order); if wstate != 0 wake the writer. The inline fast paths of
 * mmapio_read and mmapio_view_get load the map's read gate `rgate` instead
 * of wstate (and rfence and the length): an exclusive holder closes the
 * gate before its heavy barrier, so the one load answers all three.
 *
 * Exclusive acquire: a CAS of wstate from 0 to HELD is the writer lock (one
 * locked instruction; contended writers set WAITERS and sleep on wstate).
 * Unless no other thread owns a slot of the map, it then issues the
 * asymmetric heavy barrier (membarrier / FlushProcessWriteBuffers) so every
 * reader either sees wstate or has its count visible to us, and waits until
 * every other slot's count is 0. Unlock is one exchange of wstate with 0
 * (waking sleepers when WAITERS was set). Where no heavy barrier exists,
 * readers use a full fence instead of the compiler barrier.
 *
 * Portable views (MMAPIO_VIEW_PORTABLE) are not counted in a slot but in the
 * map's `phold`, an atomic counter, so any thread may release them. The
 * writer decides once per hold whether it must wait for them (`pgate`, see
 * lock.c).
 *
 * This makes the shared path a few plain instructions (no atomic
 * read-modify-write, no shared cache line written) while keeping the
 * "many readers, one writer" rule. A thread that already holds shared holds
 * may take more even while a writer waits (no self-deadlock); a call that
 * would wait for the calling thread's own holds returns MMAPIO_EDEADLK.
 *
 * Lock order: exclusive (wstate + slots) -> resize_mu -> stable (wr);
 * in-place growth takes resize_mu alone (it may run while the caller holds
 * views). Flushes take only `stable` (shared): they keep the mapping from
 * moving but do not exclude readers or writers.
 */
#ifndef MMAPIO_INTERNAL_H
#define MMAPIO_INTERNAL_H

#define MMAPIO_BUILDING_ 1
#include "mmapio.h"
#include "platform.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Build configuration (set by CMake; default: everything on) -------- */
#ifndef MMAPIO_WITH_ADVISE
#  define MMAPIO_WITH_ADVISE 1
#endif
#ifndef MMAPIO_WITH_ITERATOR
#  define MMAPIO_WITH_ITERATOR 1
#endif
#ifndef MMAPIO_WITH_ASYNC
#  define MMAPIO_WITH_ASYNC 1
#endif
#ifndef MMAPIO_WITH_BYTES
#  define MMAPIO_WITH_BYTES 1
#endif
#ifndef MMAPIO_WITH_HUGEPAGES
#  define MMAPIO_WITH_HUGEPAGES 1
#endif
#ifndef MMAPIO_WITH_COW
#  define MMAPIO_WITH_COW 1
#endif
#ifndef MMAPIO_WITH_LOCKING
#  define MMAPIO_WITH_LOCKING 1
#endif
#ifndef MMAPIO_WITH_ATOMIC
#  define MMAPIO_WITH_ATOMIC 1
#endif
#ifndef MMAPIO_WITH_WATCH
#  define MMAPIO_WITH_WATCH 1
#endif
#ifndef MMAPIO_WITH_FAULT_SAFE
#  define MMAPIO_WITH_FAULT_SAFE 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define MMAPIO__LIKELY(x) __builtin_expect(!!(x), 1)
#  define MMAPIO__UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define MMAPIO__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define MMAPIO__LIKELY(x) (x)
#  define MMAPIO__UNLIKELY(x) (x)
#  define MMAPIO__PRINTF(a, b)
#endif

/* ---- Internal atomics (GCC/Clang builtins; MinGW has them too) --------- */
/* The library is built with GCC or Clang only (MinGW on Windows); there is
 * no MSVC branch here, so say so instead of failing somewhere below. The
 * public header has its own MSVC branch for programs that use the library. */
#if !defined(__GNUC__) && !defined(__clang__)
#  error "mmapio's sources need GCC or Clang (__atomic builtins); on Windows build with MinGW-w64"
#endif
#define mmapio__ld_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define mmapio__ld_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define mmapio__st_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define mmapio__st_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define mmapio__st_seqcst(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define mmapio__fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define mmapio__fetch_sub(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_ACQ_REL)
#define mmapio__cas(p, e, d) \
  __atomic_compare_exchange_n((p), (e), (d), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define mmapio__compiler_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define mmapio__full_fence() __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* ---- The `stable` lock word ---------------------------------------------
 * Each map's `stable` lock (see struct mmapio_map) is one uint32_t, not an
 * OS rwlock: the count of shared holders in the low bits, SL_WR while the
 * one exclusive holder has it, SL_WWAIT while a would-be exclusive holder
 * waits, SL_RWAIT while a would-be shared holder sleeps. Shared acquires wait
 * while SL_WR or SL_WWAIT is set, so a waiting moving resize is not starved
 * by a stream of flushes. Unlocked is 0, so a zeroed object holds an
 * unlocked lock and a fork child may simply store 0 (see
 * mmapio__fork_child). Not recursive: a thread never takes a shared hold
 * twice (a waiting writer would deadlock it). Sleeps use the address waits
 * (futex, WaitOnAddress or the portable table); a sleeper sets its waiting
 * bit before it sleeps, and an unlock wakes only when it clears a waiting
 * bit, so an uncontended resize makes no wake-up system call. The timeout
 * only bounds a sleep, a wake is never lost. */
#define MMAPIO__SL_WR 0x80000000u
#define MMAPIO__SL_WWAIT 0x40000000u
#define MMAPIO__SL_RWAIT 0x20000000u
void mmapio__slock_rd_slow(uint32_t *w);
void mmapio__slock_wr(uint32_t *w);
static inline void mmapio__slock_rd(uint32_t *w)
{
  uint32_t v = __atomic_load_n(w, __ATOMIC_RELAXED);
  if (MMAPIO__UNLIKELY((v & (MMAPIO__SL_WR | MMAPIO__SL_WWAIT)) != 0u ||
                       !__atomic_compare_exchange_n(w, &v, v + 1u, 0, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_RELAXED)))
    mmapio__slock_rd_slow(w);
}
static inline void mmapio__slock_rdunlock(uint32_t *w)
{
  /* The last shared holder leaving wakes the exclusive waiter (shared
   * sleepers, SL_RWAIT, wait for that writer's unlock, not for this one). */
  uint32_t old = __atomic_fetch_sub(w, 1u, __ATOMIC_RELEASE);
  if (MMAPIO__UNLIKELY((old & ~MMAPIO__SL_RWAIT) == (MMAPIO__SL_WWAIT | 1u))) mmapio__wake_u32(w);
}
static inline void mmapio__slock_wrunlock(uint32_t *w)
{
  /* One exchange; the wake (a system call) only when someone sleeps. It
   * reaches the shared and exclusive sleepers alike. */
  uint32_t old = __atomic_exchange_n(w, 0u, __ATOMIC_RELEASE);
  if ((old & (MMAPIO__SL_WWAIT | MMAPIO__SL_RWAIT)) != 0u) mmapio__wake_u32(w);
}

/* ---- Per-thread slots --------------------------------------------------- */
typedef struct mmapio__slot {
  uint32_t count;             /* shared holds of the owner thread (first member:
                                 a borrow's slot_ points here) */
  uint32_t excl;              /* 1 while the owner holds the map exclusively */
  uint64_t owner;             /* atomic: owner thread's id, 0 = free for reuse */
  uint32_t refs;              /* atomic: 1 for the map's list + 1 while owned */
  uint32_t pad;
  struct mmapio_map *map;     /* the map (valid while count or excl is non-zero) */
  struct mmapio__slot *next;  /* append-only list, published with release */
  /* Statistics (stats.c), written only by the owner thread with relaxed
   * load+store (no read-modify-write, no shared cache line), summed by
   * mmapio_stats. */
  uint32_t st_peak;           /* most shared holds taken by a view get */
  uint32_t st_pad;
  uint64_t st_wcalls;         /* mmapio_write calls, write-view and mut-iterator ends */
  uint64_t st_wbytes;         /* bytes they wrote */
} mmapio__slot;

/* A thread's table of its slots, indexed by the maps' dense `tidx` (unique
 * among live maps, reused after a map is freed; `uid` tells a stale entry). */
typedef struct mmapio__tcache_entry {
  uint64_t uid;
  mmapio__slot *slot;
} mmapio__tcache_entry;
typedef struct mmapio__tcache {
  uint32_t cap;  /* entries in e[] */
  uint32_t rlim; /* for the read fast paths: the byte size of e[] (see the
                    maps' roff/voff), or 0 when readers must fence (no heavy
                    barrier in this process), which sends them to the slow
                    paths with the one compare they make anyway */
  uint32_t wlim; /* for the write fast path: the byte size of e[] */
  uint32_t pad;
  uint64_t tid;  /* this thread's id: unique in the process, never reused */
  mmapio__tcache_entry e[];
} mmapio__tcache;

/* An entry's uid while its slot was claimed during another thread's
 * exclusive hold (mmapio__slot_slow): the fast paths, which compare the uid
 * with the map's, miss until the owner looks again with no writer. */
#define MMAPIO__UID_PENDING (UINT64_C(1) << 63)
/* Thread tables hold at most this many entries at fast-path byte offsets
 * (a uint32_t); maps with a higher tidx take the slow paths. */
#define MMAPIO__FAST_ENTRIES (UINT32_C(1) << 26)

/* The calling thread's table; before its first use of a map (and after its
 * exit handler ran) the empty table mmapio__tc_none (cap 0, tid 0), never
 * NULL, so the fast paths need no test for it. */
extern MMAPIO__TLS_FAST mmapio__tcache *mmapio__tc;
extern MMAPIO__HIDDEN mmapio__tcache mmapio__tc_none;
extern MMAPIO__HIDDEN uint32_t mmapio__reader_fence; /* 1: readers need a full fence (no asym barrier) */

/* The first failed write-back of a map and the range it covered (flush.c). */
typedef struct mmapio__ferr_rec {
  int status;      /* the failure's status (EIO, ENOSPC, ...) */
  int oserr;       /* its OS error code */
  uint64_t off;    /* failed range: union of every failure since the last clear */
  uint64_t end;
  char msg[320];   /* the original detail message ("msync(path): ...") */
} mmapio__ferr_rec;

/* The public header's names of the borrow protocol. */
#define MMAPIO__BORROW_FAST MMAPIO_BORROW_FAST_
#define MMAPIO__BORROW_FENCE MMAPIO_BORROW_FENCE_

/* wstate bits; wstate != 0 exactly while a writer holds the lock. */
#define MMAPIO__W_HELD 0x1u
#define MMAPIO__W_WAITERS 0x2u /* someone sleeps on wstate: unlock wakes */

/* ---- The map ------------------------------------------------------------ */
/* A path up to this many bytes (with its NUL) is kept in the map object;
 * a longer one is allocated. */
#define MMAPIO__PATH_INLINE 160
struct mmapio_map {
  /* hot: the fields of the read and write fast paths (map.c), together at
   * the start so that they share as few cache lines as possible */
  uint64_t uid;          /* unique per map, never reused; keys the thread caches */
  uint64_t rgate;        /* atomic: the read gate of the inline read and view
                            fast paths: len + 1 while they may run, 0 while
                            closed (see mmapio__rgate_value) */
  uint32_t wstate;       /* 0: no writer; else a writer holds or waits */
  uint32_t phold;        /* atomic: portable views (MMAPIO_VIEW_PORTABLE) held */
  uint32_t rfence;       /* atomic: 1 = readers of this map fence (write-heavy
                            phase, writers skip the heavy barrier) */
  uint32_t tidx;         /* dense index into the thread tables (unique among live maps) */
  uint32_t pgate;        /* atomic: the writer's decision on portable holds (lock.c) */
  uint32_t roff;         /* byte offset of the map's entry in a thread table for
                            mmapio_read's fast path, or MMAPIO__NO_FAST
                            (FAULT_SAFE map): see mmapio__map_fast_set */
  uint32_t voff;         /* the same for mmapio_view_get (every map) */
  uint32_t woff;         /* the same for mmapio_write's fast path, or
                            MMAPIO__NO_FAST (read-only, EXTERNAL_SYNC or
                            FAULT_SAFE map) */
  uint64_t len;          /* current length (atomic: grows in place without the lock) */
  mmapio__os_mapping om;     /* base, reserved, backend data */
  mmapio__slot *slots;   /* list head (append under slot_mu, read lock-free) */
  mmapio_mode mode;
  uint32_t excl_n;       /* exclusive acquisitions (writers only, under the hold) */
  uint32_t open_flags;   /* MMAPIO_OPEN_* (the fast paths test roff/woff/xoff instead) */
  uint32_t xoff;         /* the entry offset for mmapio_write's fast path on an
                            EXTERNAL_SYNC map (a shared hold), else MMAPIO__NO_FAST */
  mmapio_flush_policy policy;
  uint64_t win_ms;       /* start of the current rate window (under the hold) */
  uint32_t win_heavy;    /* heavy barriers in that window (under the hold) */
  uint32_t dead_holds;   /* atomic: holds dropped because their thread exited */
  int is_anon;
  int is_shm;            /* mmapio_shm_open (shm.c) */
  int huge_active;
  mmapio_native_file file;
  char *path;            /* the path (path_buf, or malloc'ed when longer); NULL for anonymous */

  /* flushing (the policy is with the hot fields above) */
  mmapio_durability durability;
  uint64_t pending;      /* atomic accumulator (bytes, or writes for EVERY_WRITES) */
  uint64_t flush_due_ms; /* background flusher: next deadline (flusher mutex) */
  size_t flush_idx;      /* background flusher: position in its heap (flusher mutex) */
  int in_flusher;        /* registered with the background flusher (flusher mutex) */
  /* Sticky write-back error (flush.c): `ferr` is 0 until a write-back
   * fails, then the failure's status until mmapio_clear_error. The flush
   * paths test it with one relaxed load; the record behind it is guarded
   * by the spin flag `ferr_lock` (error paths only). */
  int ferr;
  uint32_t ferr_lock;
  /* The mapping cannot move while this is held (mmapio__slock_*): shared
   * by flushes, hints, touch and probe; exclusive by a moving resize. 0
   * when unlocked, as in every clean object. */
  uint32_t stable;

  /* borrow bookkeeping */
  uint64_t max_size;     /* in-place growth limit (0 = none) */
  uint32_t refs;         /* atomic reference count */
  uint32_t pins;         /* atomic: atomic views outstanding */

  /* window maps: om.offset is the file offset of byte 0 */
  int fixed_window;      /* opened with an explicit length: resize is ENOTSUP */

  /* statistics kept where a system call is made anyway (stats.c) */
  struct {
    uint64_t flush_calls, flush_failures, flush_last_ns, flush_max_ns; /* atomic */
    uint64_t resize_in_place, resize_moving; /* atomic */
  } st;

  /* lifetime (lifetime.c) */
  uint32_t busy;         /* atomic: borrow releases still using the map after
                            their hold ended (a mut view's policy flush);
                            MMAPIO__WAITING_BIT while a reaper waits */
  uint32_t dying;        /* atomic: the last reference is gone; a reaper
                            thread destroys the map at the last borrow release */

  /* logical end (append.c) */
  uint64_t logical1;     /* atomic: logical end + 1; 0 = not in use (end = len) */
  uint32_t append_grow;  /* atomic: 1 while one appender grows the capacity, 2 if others sleep */
  uint32_t fastro;       /* opened and mapped by mmapio_open_ro's own path (map.c):
                            its close resets only what such a map's life changes */

  /* ---- Kept when the object is reused --------------------------------------
   * Map objects are never freed but reused (lifetime.c). A pooled object
   * is *clean*: everything above `slot_mu` is zero except tidx, the fields
   * every allocation sets (MMAPIO__MAP_ALLOC_SET below) and the fields that
   * hold what a map of mmapio_open_ro has in them (MMAPIO__MAP_READY_SET,
   * mmapio__map_ready), which that opener therefore does not set: the close
   * of a fastro map resets what it changed; any other map is marked
   * `dirty` and zeroed (then made ready) when it is taken again. What
   * follows keeps its state from one map to the next: the locks stay
   * initialised (they are unlocked whenever the object is not in use), the
   * registry links are set once, the sticky-error record is only read
   * while `ferr` is set, and path_buf only through `path`. */
  mmapio__mutex slot_mu; /* slot claims (a thread's first use of the map) */
  mmapio__mutex resize_mu; /* serialises resizes */
  struct mmapio_map *reg_next;  /* every map object ever made (registry lock; never unlinked) */
  struct mmapio_map *pool_next; /* the pool's free list (registry lock) */
  uint32_t live;         /* atomic: 1 from alloc to retire (mmapio__registry_count) */
  uint32_t dirty;        /* pooled without a reset: zeroed when taken (lifetime.c) */
  mmapio__ferr_rec ferr_rec; /* valid while ferr != 0 (flush.c) */
  char path_buf[MMAPIO__PATH_INLINE]; /* `path` when it fits */
};

/* The fields mmapio__map_alloc and mmapio_open_ro set on every object they
 * hand out, pooled ones too: a clean object may hold stale values in them
 * (mmapio__registry_check_clean skips them). */
#define MMAPIO__MAP_ALLOC_SET(X) X(uid) X(refs) X(file)
/* The fields a clean object holds ready for mmapio_open_ro (see
 * mmapio__map_ready): mmapio__map_alloc sets them on every object it hands
 * out, a fastro map never changes them (mmapio_open_ro's slow rest clears
 * fastro: such a map is zeroed after its close), and
 * mmapio__registry_check_clean checks their values. */
#define MMAPIO__MAP_READY_SET(X) X(roff) X(voff) X(woff) X(xoff) X(mode) X(fastro) X(path)

/* m->roff / m->voff / m->woff / m->xoff of a map whose fast path is closed:
 * never below a thread table's limits, so the fast path's one offset test
 * sends every call to the slow path. mmapio__map_alloc starts roff, woff and xoff there,
 * so a map that no opener configured is slow, never unguarded. */
#define MMAPIO__NO_FAST UINT32_MAX
/* The byte offset of entry `tidx` in a thread table (pre-scaled, so the
 * fast paths index the table without a multiplication). */
static inline uint32_t mmapio__entry_off(uint32_t tidx)
{
  return tidx < MMAPIO__FAST_ENTRIES ? tidx * (uint32_t)sizeof(mmapio__tcache_entry)
                                     : MMAPIO__NO_FAST;
}
/* Open the fast paths the map's mode and flags allow; called wherever an
 * opener sets m->mode or m->open_flags (before the map is published). */
static inline void mmapio__map_fast_set(struct mmapio_map *m)
{
  uint32_t o = mmapio__entry_off(m->tidx);
  m->roff = (m->open_flags & MMAPIO_OPEN_FAULT_SAFE) ? MMAPIO__NO_FAST : o;
  m->voff = o;
  m->woff = (m->mode == MMAPIO_MODE_READ_ONLY ||
             (m->open_flags & (MMAPIO_OPEN_EXTERNAL_SYNC | MMAPIO_OPEN_FAULT_SAFE)) != 0u)
                ? MMAPIO__NO_FAST
                : o;
  m->xoff = (m->mode != MMAPIO_MODE_READ_ONLY &&
             (m->open_flags & (MMAPIO_OPEN_EXTERNAL_SYNC | MMAPIO_OPEN_FAULT_SAFE)) ==
                 MMAPIO_OPEN_EXTERNAL_SYNC)
                ? o
                : MMAPIO__NO_FAST;
}

/* The values of MMAPIO__MAP_READY_SET in a clean object: those of a map
 * of mmapio_open_ro (READ_ONLY, the default options, so the fast paths
 * mmapio__map_fast_set opens for it, and the inline path), so that this
 * opener does not store them. Set on a zeroed object (lifetime.c) and by
 * the first mmapio_open_ro of a new one (map.c). */
static inline void mmapio__map_ready(struct mmapio_map *m)
{
  uint32_t o = mmapio__entry_off(m->tidx);
  m->roff = o;
  m->voff = o;
  m->woff = MMAPIO__NO_FAST;
  m->xoff = MMAPIO__NO_FAST;
  m->mode = MMAPIO_MODE_READ_ONLY;
  m->fastro = 1;
  m->path = m->path_buf;
}

/* High bit of m->pins and m->busy: a reaper waits for the count to drain,
 * so the release that drops it to zero wakes it. */
#define MMAPIO__WAITING_BIT 0x80000000u

/* Read one byte of every page of [b, b + len) (mmapio_touch, guarded or
 * not). Relaxed atomic byte loads: the compiler keeps every one, and a
 * concurrent atomic store to the page (an atomic view) is no data race.
 * Eight pages per step: the loads are independent, so more page walks and
 * cache misses overlap than in a one-page loop (about 15% faster over a
 * warm 1 GiB map); pages are still read in order. */
static inline void mmapio__touch_pages(const uint8_t *b, size_t len, size_t page)
{
  size_t i = 0;
#define MMAPIO__TOUCH1(k) (void)__atomic_load_n(b + i + (k) * page, __ATOMIC_RELAXED)
  for (; i < len && len - i > 7u * page; i += 8u * page) {
    MMAPIO__TOUCH1(0u); MMAPIO__TOUCH1(1u); MMAPIO__TOUCH1(2u); MMAPIO__TOUCH1(3u);
    MMAPIO__TOUCH1(4u); MMAPIO__TOUCH1(5u); MMAPIO__TOUCH1(6u); MMAPIO__TOUCH1(7u);
  }
#undef MMAPIO__TOUCH1
  for (; i < len; i += page) (void)__atomic_load_n(b + i, __ATOMIC_RELAXED);
}

/* ---- Errors ------------------------------------------------------------- */
/* Record a detail message for this thread and return `status`. */
int mmapio__fail(int status, const char *fmt, ...) MMAPIO__PRINTF(2, 3);
/* Record "call(path): OS text" with the OS code and return the mapped status. */
int mmapio__fail_os(int oserr, const char *call, const char *path);
/* Same with an explicit status (e.g. EFAULT for a fault at an offset). */
int mmapio__fail_os_status(int status, int oserr, const char *call, const char *path);
int mmapio__fail_bounds(uint64_t off, uint64_t len, uint64_t total);
/* Like mmapio__fail, but records `oserr` as the OS code (sticky errors
 * repeat the original OS code with their message). */
int mmapio__fail_keep_os(int status, int oserr, const char *fmt, ...) MMAPIO__PRINTF(3, 4);
const char *mmapio__path_or(const char *path);
typedef struct mmapio__saved_error { char msg[512]; int oserr; } mmapio__saved_error;
void mmapio__error_save(mmapio__saved_error *e);
void mmapio__error_restore(const mmapio__saved_error *e);
/* Append printf-style text to this thread's detail message, keeping the OS
 * code (cut at the buffer's end). */
void mmapio__error_append(const char *fmt, ...) MMAPIO__PRINTF(1, 2);

/* Bounds rule: off <= total && len <= total - off (no overflow). */
static inline int mmapio__in_bounds(uint64_t off, uint64_t len, uint64_t total)
{
  return off <= total && len <= total - off;
}

static inline uint64_t mmapio__len(const mmapio_map *m)
{
  return mmapio__ld_acquire(&m->len);
}

/* The read gate m->rgate. The inline fast paths of mmapio_read and
 * mmapio_view_get take a count, load the gate and go on only when
 * off + len < gate, so one load stands for the three tests of the shared
 * acquire: no writer (wstate), no symmetric mode (rfence) and the bounds.
 * The gate is len + 1 while open and 0 while closed (always for an empty map):
 *  - an exclusive holder closes it (mmapio__lock_excl_rest) before its
 *    heavy barrier, so a fast reader either sees it closed or has its count
 *    seen by the writer, exactly as with wstate; it stays closed through
 *    the symmetric mode and wherever readers must fence;
 *  - it is opened again with the length as it is then (a moving resize
 *    changes base and len first) by the holder, before the exchange that
 *    lets the next writer in (mmapio__wstate_clear), and at publication;
 *  - in-place growth moves an open gate up with a CAS (never a closed one);
 *    a gate below len + 1 only sends reads past it to the slow path.
 * Holds taken without closing it (the write fast path, and exclusive holds
 * when no other thread owns a slot) are safe because a thread that claims
 * a slot during such a hold does not enable its table entry for the fast
 * paths (MMAPIO__UID_PENDING, mmapio__slot_slow). */
static inline uint64_t mmapio__rgate_value(const mmapio_map *m)
{
  if (mmapio__ld_relaxed(&mmapio__reader_fence) | mmapio__ld_relaxed(&m->rfence)) return 0u;
  /* An empty map (base NULL) keeps it closed: behind an open gate base is
   * never NULL, so the fast paths add the offset without a test. */
  uint64_t len = mmapio__len(m);
  return len != 0u ? len + 1u : 0u;
}
/* Open (or refresh) the gate: only by the exclusive holder, or before the
 * map is published. */
static inline void mmapio__rgate_open(mmapio_map *m)
{
  mmapio__st_release(&m->rgate, mmapio__rgate_value(m));
}

/* The whole pages of the file that hold the map bytes [off, off + len)
 * (len > 0, in bounds of `total`): a page-aligned start address, the bytes
 * from it to the end of the range rounded up to a page and clamped to the
 * map's end, and the file offset of that start. For a window whose offset
 * is not a page multiple the start may lie up to a page before the window's
 * byte 0 -- still inside the OS mapping, which begins om.delta bytes before
 * om.base at a granularity-aligned address. Returns the address. */
static inline uint8_t *mmapio__file_pages(const mmapio_map *m, uint64_t off, uint64_t len,
                                         uint64_t total, uint64_t pg, uint64_t *span_len,
                                         uint64_t *file_off)
{
  uint64_t d = m->om.delta;
  uint64_t lead = (off + d) % pg;        /* bytes of the first page before off */
  uint64_t e = off + len;                /* <= total <= MMAPIO_MAX_SIZE: no overflow */
  uint64_t tail = (e + d) % pg;
  uint64_t end = tail != 0 ? e + (pg - tail) : e;
  if (end > total) end = total;
  *span_len = end - off + lead;
  *file_off = m->om.offset + off - lead;
  return m->om.base + off - lead;
}

/* ---- Locking ------------------------------------------------------------ */
mmapio__slot *mmapio__slot_slow(mmapio_map *m); /* NULL on ENOMEM (recorded) */
int mmapio__lock_shared_slow(mmapio_map *m, mmapio__slot *s);

static inline mmapio__slot *mmapio__slot_get(mmapio_map *m)
{
  mmapio__tcache *c = mmapio__tc;
  if (MMAPIO__LIKELY(m->tidx < c->cap)) {
    mmapio__tcache_entry *e = &c->e[m->tidx];
    if (MMAPIO__LIKELY(e->uid == m->uid)) return e->slot;
  }
  return mmapio__slot_slow(m);
}

/* The reader's side of the store-load ordering between its slot count and
 * the map's wstate: a compiler barrier when writers issue the asymmetric
 * heavy barrier, a full fence when the process has none or this map is in a
 * write-heavy phase (rfence). rfence is read *after* the count store, which
 * is what makes switching modes safe (see mmapio__writer_barrier). */
static inline void mmapio__reader_barrier(const mmapio_map *m)
{
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&mmapio__reader_fence) |
                       mmapio__ld_relaxed(&m->rfence)))
    mmapio__full_fence();
  else
    mmapio__compiler_fence();
}

/* Take a shared hold. Returns OK or EDEADLK/ENOMEM (recorded). */
static inline int mmapio__lock_shared(mmapio_map *m, mmapio__slot **out)
{
  mmapio__slot *s = mmapio__slot_get(m);
  if (MMAPIO__UNLIKELY(s == NULL)) return MMAPIO_ENOMEM;
  mmapio__st_relaxed(&s->count, mmapio__ld_relaxed(&s->count) + 1u);
  mmapio__reader_barrier(m);
  *out = s;
  if (MMAPIO__LIKELY(mmapio__ld_acquire(&m->wstate) == 0u)) return MMAPIO_OK;
  return mmapio__lock_shared_slow(m, s);
}

/* Wake a writer waiting for slot s. After the count is dropped the map may
 * be gone (its last borrow was released): only the slot's address is used. */
void mmapio__unlock_shared_wake(mmapio_map *m, mmapio__slot *s);

static inline void mmapio__unlock_shared(mmapio_map *m, mmapio__slot *s)
{
  mmapio__st_release(&s->count, mmapio__ld_relaxed(&s->count) - 1u);
  mmapio__reader_barrier(m);
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->wstate) != 0u)) mmapio__unlock_shared_wake(m, s);
}

/* The calling thread holds a view, write view or iterator of m. */
static inline int mmapio__self_holds(mmapio_map *m)
{
  mmapio__slot *s = mmapio__slot_get(m);
  return s != NULL && (mmapio__ld_relaxed(&s->count) != 0u || mmapio__ld_relaxed(&s->excl) != 0u);
}

/* Exclusive hold: waits for other threads' shared and portable holds. `op`
 * names the calling operation for the EDEADLK message. try_only: EBUSY
 * instead of waiting (used by close). */
int mmapio__lock_excl(mmapio_map *m, mmapio__slot **out, const char *op, int try_only);
/* The rest of an exclusive hold once the caller owns wstate (its CAS
 * succeeded) and `self` (the caller's slot) holds nothing: waits for
 * portable holds and other threads' shared holds, then sets self->excl.
 * On failure (try_only: EBUSY) wstate has been released. The inline write
 * fast path (map.c) calls it when it finds portable holds or another slot. */
int mmapio__lock_excl_rest(mmapio_map *m, mmapio__slot *self, const char *op, int try_only);
void mmapio__unlock_excl(mmapio_map *m, mmapio__slot *s);
/* The last close of a map without slots: EBUSY while a writer or a
 * portable view holds it, else MMAPIO_OK with no hold taken; 1 when the map
 * has slots (then take mmapio__lock_excl with try_only). */
int mmapio__close_probe(mmapio_map *m, const char *op);
/* pgate values (the portable-hold protocol, lock.c). */
#define MMAPIO__PG_UNDECIDED 0u
#define MMAPIO__PG_COMMITTED 1u
#define MMAPIO__PG_WAITING 2u
/* Portable holds (any thread may release them). */
int mmapio__lock_portable(mmapio_map *m, const char *op);
void mmapio__unlock_portable(mmapio_map *m);
void mmapio__locks_init(void);          /* once, before the first map */
int mmapio__map_index_get(uint32_t *out); /* a dense tidx for a new map object (ENOMEM) */
void mmapio__slots_free(mmapio_map *m); /* at destruction */
/* White-box counts: slots in the map's list, and those owned by a thread. */
uint32_t mmapio__slots_total(const mmapio_map *m);
uint32_t mmapio__slots_in_use(const mmapio_map *m);
/* The calling thread's id (0 before its first use of any map). */
uint64_t mmapio__self_tid(void);

/* ---- Statistics (stats.c) ------------------------------------------------ */
/* A write of `nbytes` by the owner of slot `s` (it holds the map
 * exclusively). Plain increments, so that each is one instruction
 * (add to memory): atomics would not be fused into one. Only the owner
 * writes these fields; mmapio_stats reads them from other threads without
 * a lock. That is a benign race by design (a statistic may be one write
 * behind; 64-bit fields could tear on 32-bit targets), declared to the
 * thread sanitizer in stats.c. */
static inline void mmapio__stat_write(mmapio__slot *s, uint64_t nbytes)
{
  s->st_wcalls += 1u;
  mmapio__compiler_fence(); /* keeps GCC from merging the two into vector code */
  s->st_wbytes += nbytes;
}
/* A view get took the owner's shared holds to `count`: keep the peak
 * (a compare with memory and a branch; the store is rare). */
static inline void mmapio__stat_view_peak(mmapio__slot *s, uint32_t count)
{
  if (MMAPIO__UNLIKELY(count > s->st_peak)) s->st_peak = count;
}
/* mmapio__os_flush of m's mapping, timed and counted (out of line, so the
 * callers' fast paths do not grow). */
int mmapio__os_flush_counted(mmapio_map *m, uint64_t off, uint64_t len);
/* A successful resize (in place: same address). */
void mmapio__stat_resize(mmapio_map *m, int in_place);

/* ---- Flush helpers (flush.c) -------------------------------------------- */
int mmapio__flush_all(mmapio_map *m);              /* takes `stable` shared */
int mmapio__policy_after_write(mmapio_map *m, uint64_t nbytes);
/* The final flush of the last close: flushes when the policy is not MANUAL,
 * and returns a sticky write-back error even when it is. */
int mmapio__flush_final(mmapio_map *m);
uint64_t mmapio__pending_report(const mmapio_map *m); /* mmapio_pending_bytes */
int mmapio__flusher_add(mmapio_map *m);            /* EVERY_MILLIS maps */
void mmapio__flusher_remove(mmapio_map *m);        /* no flush of m runs after it returns */
/* Set in a child of fork() while EVERY_MILLIS maps wait for a flusher
 * thread; mmapio__flusher_kick starts it. */
extern MMAPIO__HIDDEN uint32_t mmapio__fl_restart;
void mmapio__flusher_kick(void);

/* ---- Empty maps (empty.c) ------------------------------------------------ */
/* Resize of a MMAPIO_OPEN_ALLOW_EMPTY file map to or from length 0, called
 * like mmapio__os_remap (exclusive hold, resize_mu, stable held). The
 * caller publishes the new length on success. */
int mmapio__resize_empty(mmapio_map *m, uint64_t old_len, uint64_t new_len, int sparse);

/* ---- Logical end (append.c) -------------------------------------------- */
/* At the destruction of a READ_WRITE file map whose logical end is in use:
 * cut the file (already unmapped) to the logical end. OK or a recorded
 * failure. */
int mmapio__logical_cut(mmapio_map *m);

/* ---- Map lifetime (map.c) ----------------------------------------------- */
void mmapio__map_release_ref(mmapio_map *m); /* drop a reference taken by a module */
/* A new map object (refs 1, no mapping, file invalid) for the modules that
 * open maps of their own (shm.c); NULL when out of memory (not recorded). */
mmapio_map *mmapio__map_alloc(const char *path);
/* shm.c: mmapio_anon with MMAPIO_ANON_FD (flags and size already checked). */
int mmapio__anon_fd(mmapio_map **out, uint64_t size, uint32_t flags);

/* ---- Map lifetime (map.c, lifetime.c) ------------------------------------ */
/* Drop a reference taken by a module (segment, byte buffer, task, watch).
 * When it was the last one the map is destroyed at once if nothing is
 * borrowed, else by a reaper thread as soon as the last view, iterator, pin
 * and busy release is gone. */
void mmapio__map_release_ref(mmapio_map *m);
int mmapio__map_destroy(mmapio_map *m);      /* map.c: flush, unmap, close, free */
/* lifetime.c: the last reference of `m` is gone. */
void mmapio__map_reap(mmapio_map *m);
/* Registry of every map object, live or pooled (for fork; live ones counted by
 * mmapio__registry_count). */
void mmapio__registry_add(mmapio_map *m);
/* Type-stable map objects: a map object is never freed. _retire takes it
 * out of the registry (when `live`: it was added) and keeps it, locks
 * initialised and unlocked, for reuse by the next mmapio__map_alloc. */
/* _reuse returns a kept object, clean (everything before slot_mu zero but
 * tidx, kept, and the ready fields, see mmapio__map_ready) and counted live, or NULL when none is kept. _retire pools a
 * map object after its destruction (it frees the slots, and the object is
 * zeroed when taken again); _retire_clean pools one that its destroyer
 * has made clean itself and that has no slots (fastro maps, map.c). Every
 * object stays in the registry's list of objects for good, so that the
 * fork handlers find them all; only `live` tells live from pooled. */
extern MMAPIO__HIDDEN mmapio_map *mmapio__pool_spare; /* atomic: one pooled object, or NULL (lifetime.c) */
mmapio_map *mmapio__registry_reuse_slow(mmapio_map *got);
void mmapio__registry_pool_push(mmapio_map *m);
void mmapio__registry_retire(mmapio_map *m);
static inline mmapio_map *mmapio__registry_reuse(void)
{
  /* The spare is taken and put with one exchange each (no lock, no ABA:
   * whoever the exchange hands the object to owns it); the free list
   * behind it takes the registry lock. */
  mmapio_map *m = __atomic_exchange_n(&mmapio__pool_spare, NULL, __ATOMIC_ACQUIRE);
  if (MMAPIO__LIKELY(m != NULL && !m->dirty)) {
    mmapio__st_relaxed(&m->live, 1u);
    return m;
  }
  return mmapio__registry_reuse_slow(m);
}
static inline void mmapio__registry_retire_clean(mmapio_map *m)
{
  mmapio__st_relaxed(&m->live, 0u);
  mmapio_map *old = __atomic_exchange_n(&mmapio__pool_spare, m, __ATOMIC_ACQ_REL);
  if (MMAPIO__UNLIKELY(old != NULL)) mmapio__registry_pool_push(old);
}
/* Debug builds (no NDEBUG): abort unless the object is clean. */
void mmapio__registry_check_clean(const mmapio_map *m);
/* Tests: number of live maps; wait until no reaper thread runs. */
size_t mmapio__registry_count(void);
void mmapio__reap_wait(void);
/* A borrow release that keeps using `m` after its hold ended brackets that
 * use with these (the increment happens while the hold is still held). */
static inline void mmapio__map_busy_begin(mmapio_map *m) { (void)mmapio__fetch_add(&m->busy, 1u); }
static inline void mmapio__map_busy_end(mmapio_map *m)
{
  /* After the decrement the map may be gone: only the address is used. */
  if (mmapio__fetch_sub(&m->busy, 1u) == (MMAPIO__WAITING_BIT | 1u)) mmapio__wake_u32(&m->busy);
}
/* fork(): the core's handlers, registered by the backend (lifetime.c). */
void mmapio__fork_prepare(void);
void mmapio__fork_parent(void);
void mmapio__fork_child(void);
extern MMAPIO__HIDDEN unsigned mmapio__fork_gen; /* bumped in every child */
/* Sets the fork handling up (registers the handlers once) before a module
 * that starts threads without a map -- the async pool's path tasks -- first
 * makes state that the handlers must fix in a child. Idempotent. */
void mmapio__fork_setup(void);
/* Each subsystem's part of fork handling: take its mutex in prepare, drop
 * it in the parent; in the child drop it too (the forking thread took it)
 * and reset only what belonged to threads that do not exist there. */
void mmapio__flusher_fork(int phase);
void mmapio__async_fork(int phase);

/* A condition variable that counts its waiters, so that the child of fork()
 * can tell whether it records threads that do not exist there.
 *
 * Every wait and every signal or broadcast runs with the mutex `mu` the
 * variable is used with, and `waiters` changes only under it. The prepare
 * handler takes `mu`, so at fork time no other thread is inside a signal,
 * and `waiters` counts exactly the threads inside a wait (including one
 * woken and not yet back from it). The forking thread is never one of them.
 * In the child, with `mu` still held by its only thread:
 *  - waiters == 0: no thread was inside any operation on the variable, so
 *    it is in a consistent state with no waiter and stays as it is;
 *  - waiters > 0: it records waiters that do not exist in the child (some
 *    perhaps half-way through their wait's bookkeeping). Destroying it is
 *    no way out: a destroy waits for its waiters to leave (glibc's does),
 *    and these never will. So it is initialised afresh in place, which is
 *    safe exactly because no thread of the child can be using it: the only
 *    one is running the handler. Leaving such a variable as it is does not
 *    work either: with glibc 2.36, children of
 *    tests/concurrency/test_fork_threads.c then hang in their first tasks. */
typedef struct mmapio__fcond {
  mmapio__cond cv;
  unsigned waiters; /* threads inside a wait (under the mutex) */
} mmapio__fcond;

static inline void mmapio__fcond_init(mmapio__fcond *c)
{
  mmapio__cond_init(&c->cv);
  c->waiters = 0;
}
static inline void mmapio__fcond_wait(mmapio__fcond *c, mmapio__mutex *mu)
{
  c->waiters++;
  mmapio__cond_wait(&c->cv, mu);
  c->waiters--;
}
/* As mmapio__cond_timedwait: 0 when signalled (or spuriously), 1 on timeout. */
static inline int mmapio__fcond_timedwait(mmapio__fcond *c, mmapio__mutex *mu, uint64_t timeout_ms)
{
  c->waiters++;
  int r = mmapio__cond_timedwait(&c->cv, mu, timeout_ms);
  c->waiters--;
  return r;
}
static inline void mmapio__fcond_signal(mmapio__fcond *c) { mmapio__cond_signal(&c->cv); }
static inline void mmapio__fcond_broadcast(mmapio__fcond *c) { mmapio__cond_broadcast(&c->cv); }
/* In the child of fork(), with the mutex held by the forking thread. */
static inline void mmapio__fcond_after_fork(mmapio__fcond *c)
{
  if (c->waiters == 0) return;
  mmapio__cond_init(&c->cv);
  c->waiters = 0;
}

/* One-time set-up states of the modules' static locks (0: not yet, 1: being
 * set up, 2: ready). In the child of fork() a 1 was left by a thread that
 * does not exist there and would never finish: it goes back to 0, so that
 * the child's first user sets the module up itself. */
static inline void mmapio__setup_after_fork(int *state)
{
  if (mmapio__ld_relaxed(state) == 1) mmapio__st_relaxed(state, 0);
}
#define MMAPIO__FORK_PREPARE 0
#define MMAPIO__FORK_PARENT 1
#define MMAPIO__FORK_CHILD 2
/* lock.c: in the child, the holds of threads that do not exist any more do
 * not count: zero their slots, and free the writer lock unless the forking
 * thread holds the map exclusively. */
void mmapio__lock_after_fork(mmapio_map *m);
/* lock.c: leave the write-heavy symmetric mode once writes have become rare,
 * without waiting for another write (called by readers now and then). */
void mmapio__writer_mode_poll(mmapio_map *m);

/* ---- Modules' hooks ----------------------------------------------------- */
/* Guarded copies (fault.c). Without MMAPIO_OPEN_FAULT_SAFE they are memcpy. */
int mmapio__copy_out(mmapio_map *m, void *dst, const uint8_t *src, size_t len, uint64_t off);
int mmapio__copy_in(mmapio_map *m, uint8_t *dst, const void *src, size_t len, uint64_t off);
int mmapio__fault_enable(mmapio_map *m);    /* at open with FAULT_SAFE */
/* Read one byte per page of [off, off+len) under the fault guard: EFAULT
 * (message naming `op`, offset, path) instead of SIGBUS. The caller keeps
 * the mapping from moving (holds `stable` or a shared hold). For hints.c's
 * touch on MMAPIO_OPEN_FAULT_SAFE maps. */
int mmapio__guarded_touch(mmapio_map *m, uint64_t off, uint64_t len, const char *op);
/* The guarded touch of mmapio_touch / mmapio_touch_range on FAULT_SAFE maps,
 * race-free against concurrent writers: it takes the map's shared hold (not
 * `stable`; the caller holds nothing) for each batch of pages, so writers
 * wait at most one batch. `whole`: the whole map (off, len ignored). */
int mmapio__guarded_touch_held(mmapio_map *m, uint64_t off, uint64_t len, int whole,
                               const char *op);
/* Touch hint at open (hints.c). */
int mmapio__apply_touch_hint(mmapio_map *m, mmapio_touch_hint t);
/* Huge pages at open (hints.c): sets m->huge_active. */
void mmapio__apply_huge_pages(mmapio_map *m);
/* What the OS grants now (hints.c); also refreshes m->huge_active. */
int mmapio__huge_pages_query(const mmapio_map *m);

#endif /* MMAPIO_INTERNAL_H */
