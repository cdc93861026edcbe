/*
 * The read gate of the inline read and view fast paths (src/internal.h,
 * mmapio__rgate_value): it is len + 1 while those paths may run and 0
 * while an exclusive hold, the symmetric mode or fencing readers close it.
 *
 *  - after open the gate is open at the length (RO, RW, anonymous maps);
 *    FAULT_SAFE maps keep mmapio_read off its fast path, not views;
 *  - reads of more than 64 bytes go through the same gate (their own path
 *    with a memcpy call): every check below is made with a 64-byte read and
 *    with a large one;
 *  - a write view closes it: the holder's own reads and views are EDEADLK,
 *    and the release opens it again;
 *  - in-place growth moves an open gate up; a moving resize reopens it at
 *    the new length (reads past the old end work, past the new end fail);
 *  - writes to an MMAPIO_OPEN_EXTERNAL_SYNC map take a shared hold through
 *    the gate: counted in the statistics, no EDEADLK for the caller's own
 *    view or write view, EBOUNDS past the end;
 *  - a thread that claims its slot while another thread holds the map
 *    without having seen that thread (here: the writer word taken by hand,
 *    as the write fast path takes it) keeps its table entry off the fast
 *    paths until it looks again with no writer; its read then waits for
 *    the writer and sees the bytes written under the hold.
 * Every check is deterministic: the threads hand over with flags.
 */
#include "test.h"

#include "internal.h"

#if defined(_WIN32)
#  define yield_() SwitchToThread()
#else
#  include <sched.h>
#  define yield_() sched_yield()
#endif

static uint64_t gate_for(const mmapio_map *m)
{
  /* Where readers must fence (no heavy barrier) the gate never opens, nor
   * for an empty map. */
  uint64_t len = mmapio_len(m);
  return __atomic_load_n(&mmapio__reader_fence, __ATOMIC_RELAXED) || len == 0 ? 0u : len + 1u;
}

static uint64_t gate_of(const mmapio_map *m) { return __atomic_load_n(&m->rgate, __ATOMIC_ACQUIRE); }

static mmapio__tcache_entry *my_entry(const mmapio_map *m)
{
  mmapio__tcache *c = mmapio__tc;
  return m->tidx < c->cap ? &c->e[m->tidx] : NULL;
}

static void open_and_gate(void)
{
  size_t n = 3 * 4096 + 17;
  char *p = mk_file("gate-ro", n, 7);
  mmapio_map *m;
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_U64_EQ(gate_of(m), gate_for(m));
  ASSERT_EQ(m->roff, mmapio__entry_off(m->tidx));
  ASSERT_EQ(m->voff, mmapio__entry_off(m->tidx));
  ASSERT_EQ(m->woff, MMAPIO__NO_FAST);
  uint8_t buf[64];
  ASSERT_OK(mmapio_read(m, n - 64, buf, 64));
  ASSERT(pat_check(buf, 64, n - 64, 7));
  ASSERT_BOUNDS(mmapio_read(m, n - 63, buf, 64), n - 63, 64, n);
  uint8_t big[4096];
  ASSERT_OK(mmapio_read(m, n - 4096, big, 4096));
  ASSERT(pat_check(big, 4096, n - 4096, 7));
  ASSERT_OK(mmapio_read(m, 0, big, 65));
  ASSERT(pat_check(big, 65, 0, 7));
  ASSERT_BOUNDS(mmapio_read(m, n - 4095, big, 4096), n - 4095, 4096, n);
  ASSERT_BOUNDS(mmapio_read(m, UINT64_MAX - 10, big, 4096), UINT64_MAX - 10, 4096, n);
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, m, n, 0)); /* empty view at the end */
  mmapio_view_release(&v);
  ASSERT_BOUNDS(mmapio_view_get(&v, m, n, 1), n, 1, n);
  ASSERT_OK(mmapio_close(m));

  /* FAULT_SAFE: mmapio_read takes the guarded slow path; views stay fast. */
  mmapio_options o = opts(MMAPIO_MODE_READ_ONLY, MMAPIO_OPEN_FAULT_SAFE, 0);
  int rc = mmapio_open(&m, p, &o);
  if (rc == MMAPIO_OK) {
    ASSERT_EQ(m->roff, MMAPIO__NO_FAST);
    ASSERT_EQ(m->voff, mmapio__entry_off(m->tidx));
    ASSERT_U64_EQ(gate_of(m), gate_for(m));
    ASSERT_OK(mmapio_read(m, 5, buf, 64));
    ASSERT(pat_check(buf, 64, 5, 7));
    ASSERT_OK(mmapio_read(m, 5, big, 4096));
    ASSERT(pat_check(big, 4096, 5, 7));
    ASSERT_OK(mmapio_close(m));
  } else {
    ASSERT_EQ(rc, MMAPIO_ENOTSUP); /* built without fault safety */
  }
  test_unlink(p);
  free(p);
}

static void write_view_closes(void)
{
  mmapio_map *m;
  ASSERT_OK(mmapio_anon(&m, 8192, 0));
  ASSERT_U64_EQ(gate_of(m), gate_for(m));
  mmapio_view_mut w;
  ASSERT_OK(mmapio_view_get_mut(&w, m, 0, 64));
  ASSERT_U64_EQ(gate_of(m), 0u);
  uint8_t buf[64];
  mmapio_view v;
  uint8_t big[4096];
  ASSERT_STATUS(mmapio_read(m, 0, buf, 64), MMAPIO_EDEADLK);
  ASSERT_STATUS(mmapio_read(m, 0, big, 4096), MMAPIO_EDEADLK);
  ASSERT_STATUS(mmapio_view_get(&v, m, 0, 0), MMAPIO_EDEADLK);
  memset(w.data, 0x5A, 64);
  ASSERT_OK(mmapio_view_mut_release(&w));
  ASSERT_U64_EQ(gate_of(m), gate_for(m));
  ASSERT_OK(mmapio_read(m, 8192 - 64, buf, 64));
  ASSERT_OK(mmapio_read(m, 0, big, 4096));
  ASSERT(all_bytes(big, 64, 0x5A) && all_bytes(big + 64, 4096 - 64, 0));
  /* A moving resize reopens the gate at the new length. */
  ASSERT_OK(mmapio_resize(m, 4096));
  ASSERT_U64_EQ(gate_of(m), gate_for(m));
  ASSERT_BOUNDS(mmapio_read(m, 4096 - 63, buf, 64), 4096 - 63, 64, 4096);
  ASSERT_BOUNDS(mmapio_read(m, 1, big, 4096), 1, 4096, 4096);
  ASSERT_OK(mmapio_resize(m, 3 * 4096));
  ASSERT_U64_EQ(gate_of(m), gate_for(m));
  ASSERT_OK(mmapio_read(m, 3 * 4096 - 64, buf, 64));
  ASSERT(all_bytes(buf, 64, 0));
  ASSERT_OK(mmapio_read(m, 2 * 4096, big, 4096));
  ASSERT(all_bytes(big, 4096, 0));
  ASSERT_OK(mmapio_close(m));
}

static void growth_moves_gate(void)
{
  size_t ps = mmapio_page_size();
  char *p = test_tmp_path("gate-grow");
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, 2 * ps);
  o.max_size = 16 * ps;
  mmapio_map *m;
  ASSERT_OK(mmapio_open(&m, p, &o));
  if (mmapio_capacity(m) >= 16 * ps) {
    uint8_t *base = (uint8_t *)mmapio_unsafe_ptr(m);
    uint8_t buf[64];
    ASSERT_OK(mmapio_read(m, 0, buf, 64)); /* this thread's slot */
    ASSERT_OK(mmapio_resize(m, 5 * ps));
    ASSERT(mmapio_unsafe_ptr(m) == base); /* in place */
    ASSERT_U64_EQ(gate_of(m), gate_for(m));
    ASSERT_OK(mmapio_read(m, 5 * ps - 64, buf, 64));
    ASSERT_BOUNDS(mmapio_read(m, 5 * ps - 1, buf, 2), 5 * ps - 1, 2, 5 * ps);
    uint8_t big[4096];
    ASSERT(ps >= sizeof big);
    ASSERT_OK(mmapio_read(m, 4 * ps, big, sizeof big));
    ASSERT_BOUNDS(mmapio_read(m, 5 * ps - 100, big, 101), 5 * ps - 100, 101, 5 * ps);
  }
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
}

static void ext_sync_write(void)
{
  char *p = test_tmp_path("gate-ext");
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXTERNAL_SYNC, 8192);
  mmapio_map *m;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT(m->xoff == mmapio__entry_off(m->tidx));
  ASSERT_EQ(m->woff, MMAPIO__NO_FAST);
  uint8_t buf[64], back[64];
  memset(buf, 0x3C, sizeof buf);
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, m, 0, 64)); /* EXTERNAL_SYNC: no EDEADLK */
  ASSERT_OK(mmapio_write(m, 8192 - 64, buf, 64));
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_read(m, 8192 - 64, back, 64));
  ASSERT_MEMEQ(back, buf, 64);
  ASSERT_BOUNDS(mmapio_write(m, 8192 - 63, buf, 64), 8192 - 63, 64, 8192);
  mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
  ASSERT_OK(mmapio_stats(&st, m));
  ASSERT_U64_EQ(st.write_calls, 1u);
  ASSERT_U64_EQ(st.write_bytes, 64u);
  ASSERT_U64_EQ(st.views_outstanding, 0u);
  /* An EXTERNAL_SYNC write view is a shared hold too: a write next to it
   * does not wait. */
  mmapio_view_mut w;
  ASSERT_OK(mmapio_view_get_mut(&w, m, 0, 64));
  ASSERT_OK(mmapio_write(m, 64, buf, 64));
  ASSERT_OK(mmapio_view_mut_release(&w));
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
}

/* ---- a slot claimed under a hold its holder did not see ----------------- */

static mmapio_map *M;
static uint32_t Step;
static int Big; /* the claimer's first read is a large one */

static void *claimer(void *arg)
{
  (void)arg;
  /* Claims this thread's slot without taking a hold (the close of an
   * extra reference looks up the caller's slot). */
  THREAD_CHECK(mmapio_retain(M) == MMAPIO_OK);
  THREAD_CHECK(mmapio_close(M) == MMAPIO_OK);
  mmapio__tcache_entry *e = my_entry(M);
  THREAD_CHECK(e != NULL && e->slot != NULL);
  THREAD_CHECK(e->uid == (M->uid | MMAPIO__UID_PENDING)); /* off the fast paths */
  __atomic_store_n(&Step, 1u, __ATOMIC_RELEASE);
  while (__atomic_load_n(&Step, __ATOMIC_ACQUIRE) != 2u) yield_();
  /* The writer is gone: this read finds no writer, enables the entry, and
   * sees what was written under the hold. */
  uint8_t buf[64];
  if (Big) {
    uint8_t big[4096];
    THREAD_CHECK(mmapio_read(M, 0, big, sizeof big) == MMAPIO_OK);
    THREAD_CHECK(all_bytes(big, 64, 0xA5));
  } else {
    THREAD_CHECK(mmapio_read(M, 0, buf, 64) == MMAPIO_OK);
    THREAD_CHECK(all_bytes(buf, 64, 0xA5));
  }
  THREAD_CHECK(e->uid == M->uid);
  mmapio_view v;
  THREAD_CHECK(mmapio_view_get(&v, M, 0, 64) == MMAPIO_OK);
  THREAD_CHECK(all_bytes(v.data, 64, 0xA5));
  mmapio_view_release(&v);
  return NULL;
}

static void claim_under_hold(int big)
{
  Big = big;
  ASSERT_OK(mmapio_anon(&M, 4096, 0));
  uint8_t buf[64];
  ASSERT_OK(mmapio_read(M, 0, buf, 64)); /* the main thread's slot */
  __atomic_store_n(&Step, 0u, __ATOMIC_RELAXED);
  /* Take the writer word as the write fast path does when it sees no other
   * owner: no gate closed, no barrier. */
  uint32_t w = 0u;
  ASSERT(__atomic_compare_exchange_n(&M->wstate, &w, MMAPIO__W_HELD, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED));
  test_thread t;
  thread_start(&t, claimer, NULL);
  while (__atomic_load_n(&Step, __ATOMIC_ACQUIRE) != 1u) yield_();
  memset(M->om.base, 0xA5, 64); /* written under the hold */
  uint32_t old = __atomic_exchange_n(&M->wstate, 0u, __ATOMIC_SEQ_CST);
  if (old & MMAPIO__W_WAITERS) mmapio__wake_u32(&M->wstate);
  __atomic_store_n(&Step, 2u, __ATOMIC_RELEASE);
  ASSERT(thread_join(&t) == NULL);
  ASSERT_OK(mmapio_close(M));
}

int main(void)
{
  open_and_gate();
  write_view_closes();
  growth_moves_gate();
  ext_sync_write();
  claim_under_hold(0);
  claim_under_hold(1);
  printf("ok\n");
  return 0;
}
