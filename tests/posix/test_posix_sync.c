/*
 * test_posix_sync.c -- threads and synchronisation of the POSIX backend:
 * address wait/wake without lost wake-ups, condition variable timeouts,
 * thread-exit callbacks, the asymmetric fence, clocks, and the thread
 * safety of the syscall hooks.
 */
#include "test.h"

#include <stdlib.h>
/* The library returns 0 from asym_init under ThreadSanitizer. */
#if defined(__SANITIZE_THREAD__)
#  define TEST_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define TEST_TSAN 1
#  endif
#endif
#ifndef TEST_TSAN
#  define TEST_TSAN 0
#endif

#if MMAPIO__LINUX
#  include <linux/membarrier.h>
#  include <sys/syscall.h>
#endif

/* ---- wait / wake: ping-pong ---------------------------------------------- */
/* Two threads hand a token back and forth through one word, each waiting
 * with a very long timeout: a lost wake-up would hang the test (and CTest's
 * timeout would fail it) rather than slow it down. */
#define ROUNDS 20000u

static uint32_t token; /* even: main's turn; odd: the worker's */

static void pong(void *arg)
{
  (void)arg;
  for (uint32_t i = 0; i < ROUNDS; i++) {
    uint32_t want = 2u * i + 1u;
    uint32_t v;
    while ((v = __atomic_load_n(&token, __ATOMIC_ACQUIRE)) != want)
      mmapio__wait_u32(&token, v, 60000);
    __atomic_store_n(&token, want + 1u, __ATOMIC_RELEASE);
    mmapio__wake_u32(&token);
  }
}

static void test_ping_pong(void)
{
  mmapio__thread t;
  ASSERT_OK(mmapio__thread_start(&t, pong, NULL));
  for (uint32_t i = 0; i < ROUNDS; i++) {
    uint32_t want = 2u * i;
    uint32_t v;
    while ((v = __atomic_load_n(&token, __ATOMIC_ACQUIRE)) != want)
      mmapio__wait_u32(&token, v, 60000);
    __atomic_store_n(&token, want + 1u, __ATOMIC_RELEASE);
    mmapio__wake_u32(&token);
  }
  mmapio__thread_join(&t);
  ASSERT_EQ(token, 2u * ROUNDS);
}

/* Many waiters on one word, all released by one wake. */
static uint32_t gate;
static uint32_t passed;

static void gate_waiter(void *arg)
{
  (void)arg;
  while (__atomic_load_n(&gate, __ATOMIC_ACQUIRE) == 0) mmapio__wait_u32(&gate, 0, 60000);
  __atomic_fetch_add(&passed, 1u, __ATOMIC_ACQ_REL);
}

static void test_wake_all(void)
{
  enum { N = 6 };
  mmapio__thread t[N];
  for (int i = 0; i < N; i++) ASSERT_OK(mmapio__thread_start(&t[i], gate_waiter, NULL));
  mmapio__sleep_ms(20); /* let some of them block (not needed for correctness) */
  __atomic_store_n(&gate, 1u, __ATOMIC_RELEASE);
  mmapio__wake_u32(&gate);
  for (int i = 0; i < N; i++) mmapio__thread_join(&t[i]);
  ASSERT_EQ(passed, N);

  /* A value that already differs returns at once; a timeout returns. */
  uint32_t w = 5;
  mmapio__wait_u32(&w, 4, 60000);
  uint64_t t0 = mmapio__monotonic_ms();
  mmapio__wait_u32(&w, 5, 30);
  ASSERT(mmapio__monotonic_ms() >= t0); /* returned at all: the timeout works */
  mmapio__wake_u32(&w);                 /* nobody waiting: harmless */
}

/* ---- condition variables ------------------------------------------------- */
static mmapio__mutex cmu;
static mmapio__cond ccv;
static int cflag;

static void signaller(void *arg)
{
  (void)arg;
  mmapio__mutex_lock(&cmu);
  cflag = 1;
  mmapio__cond_broadcast(&ccv);
  mmapio__mutex_unlock(&cmu);
}

static void test_cond(void)
{
  mmapio__mutex_init(&cmu);
  mmapio__cond_init(&ccv);
  /* Nobody signals: the timed wait reports a timeout, after at least the
   * timeout on the monotonic clock. */
  mmapio__mutex_lock(&cmu);
  uint64_t t0 = mmapio__monotonic_ms();
  int timed_out = 0;
  while (!timed_out) timed_out = mmapio__cond_timedwait(&ccv, &cmu, 25);
  ASSERT(mmapio__monotonic_ms() - t0 >= 20);
  mmapio__mutex_unlock(&cmu);

  mmapio__thread t;
  mmapio__mutex_lock(&cmu);
  ASSERT_OK(mmapio__thread_start(&t, signaller, NULL));
  while (!cflag) (void)mmapio__cond_timedwait(&ccv, &cmu, 60000);
  mmapio__mutex_unlock(&cmu);
  mmapio__thread_join(&t);

  /* Very long timeouts do not overflow into an immediate return... */
  mmapio__mutex_lock(&cmu);
  cflag = 0;
  ASSERT_OK(mmapio__thread_start(&t, signaller, NULL));
  while (!cflag) ASSERT_EQ(mmapio__cond_timedwait(&ccv, &cmu, UINT64_MAX), 0);
  mmapio__mutex_unlock(&cmu);
  mmapio__thread_join(&t);

  ASSERT_EQ(mmapio__mutex_trylock(&cmu), 1);
  mmapio__mutex_unlock(&cmu);
  mmapio__cond_destroy(&ccv);
  mmapio__mutex_destroy(&cmu);

  /* The core's shared/exclusive lock word (the maps' `stable`), which
   * replaced the OS rwlock; it sleeps on these address waits. */
  uint32_t rw = 0;
  mmapio__slock_rd(&rw);
  mmapio__slock_rd(&rw);
  ASSERT_EQ(rw, 2u);
  mmapio__slock_rdunlock(&rw);
  mmapio__slock_rdunlock(&rw);
  mmapio__slock_wr(&rw);
  ASSERT_EQ(rw, MMAPIO__SL_WR);
  mmapio__slock_wrunlock(&rw);
  ASSERT_EQ(rw, 0u);
}

/* ---- the `stable` lock word with sleepers ------------------------------ */
/* Each sleeper announces itself with a bit before it sleeps, and only an
 * unlock that clears such a bit makes the wake-up call: these are the states
 * a lost wake-up would come from. Every step waits for a state, never for a
 * time. */
static uint32_t sw;
static uint32_t sw_done;

static void sw_reader(void *arg)
{
  (void)arg;
  mmapio__slock_rd(&sw);
  __atomic_store_n(&sw_done, 1u, __ATOMIC_RELEASE);
  while (__atomic_load_n(&sw_done, __ATOMIC_ACQUIRE) != 2u) mmapio__wait_u32(&sw_done, 1u, 60000);
  mmapio__slock_rdunlock(&sw);
}

static void sw_writer(void *arg)
{
  (void)arg;
  mmapio__slock_wr(&sw);
  __atomic_store_n(&sw_done, 3u, __ATOMIC_RELEASE);
  mmapio__slock_wrunlock(&sw);
}

static uint32_t sw_load(void) { return __atomic_load_n(&sw, __ATOMIC_ACQUIRE); }

static void test_stable_sleepers(void)
{
  /* A shared acquire that meets an exclusive holder sets SL_RWAIT. */
  mmapio__slock_wr(&sw);
  mmapio__thread r, w;
  ASSERT_OK(mmapio__thread_start(&r, sw_reader, NULL));
  while ((sw_load() & MMAPIO__SL_RWAIT) == 0u) mmapio__sleep_ms(1);
  ASSERT_EQ(sw_load(), MMAPIO__SL_WR | MMAPIO__SL_RWAIT);
  ASSERT_EQ(__atomic_load_n(&sw_done, __ATOMIC_ACQUIRE), 0u);
  /* The unlock clears the bit and wakes the reader, which then holds it. */
  mmapio__slock_wrunlock(&sw);
  while (__atomic_load_n(&sw_done, __ATOMIC_ACQUIRE) != 1u) mmapio__sleep_ms(1);
  ASSERT_EQ(sw_load(), 1u);

  /* An exclusive acquire that meets the shared holder sets SL_WWAIT and
   * gets the lock when the last shared holder leaves. */
  ASSERT_OK(mmapio__thread_start(&w, sw_writer, NULL));
  while ((sw_load() & MMAPIO__SL_WWAIT) == 0u) mmapio__sleep_ms(1);
  ASSERT_EQ(sw_load(), MMAPIO__SL_WWAIT | 1u);
  __atomic_store_n(&sw_done, 2u, __ATOMIC_RELEASE);
  mmapio__wake_u32(&sw_done);
  mmapio__thread_join(&r);
  mmapio__thread_join(&w);
  ASSERT_EQ(__atomic_load_n(&sw_done, __ATOMIC_ACQUIRE), 3u);
  ASSERT_EQ(sw_load(), 0u);

  /* A writer that takes the lock while a reader sleeps keeps SL_RWAIT for
   * its own unlock; uncontended, no bit is left behind. */
  sw = MMAPIO__SL_RWAIT;
  mmapio__slock_wr(&sw);
  ASSERT_EQ(sw_load(), MMAPIO__SL_WR | MMAPIO__SL_RWAIT);
  mmapio__slock_wrunlock(&sw);
  ASSERT_EQ(sw_load(), 0u);
  mmapio__slock_wr(&sw);
  ASSERT_EQ(sw_load(), MMAPIO__SL_WR);
  mmapio__slock_wrunlock(&sw);
  ASSERT_EQ(sw_load(), 0u);
}

/* ---- thread exit callbacks ----------------------------------------------- */
static int exit_calls[3];

static void on_exit_cb(void *arg) { exit_calls[(intptr_t)arg]++; }

static void registers_twice(void *arg)
{
  (void)arg;
  mmapio__on_thread_exit(on_exit_cb, (void *)(intptr_t)0);
  mmapio__on_thread_exit(on_exit_cb, (void *)(intptr_t)1); /* the last one wins */
}

static void registers_then_clears(void *arg)
{
  (void)arg;
  mmapio__on_thread_exit(on_exit_cb, (void *)(intptr_t)2);
  mmapio__on_thread_exit(NULL, NULL);
}

static void test_thread_exit(void)
{
  mmapio__thread t;
  ASSERT_OK(mmapio__thread_start(&t, registers_twice, NULL));
  mmapio__thread_join(&t);
  ASSERT_EQ(exit_calls[0], 0);
  ASSERT_EQ(exit_calls[1], 1);
  ASSERT_OK(mmapio__thread_start(&t, registers_twice, NULL));
  mmapio__thread_join(&t);
  ASSERT_EQ(exit_calls[1], 2);
  ASSERT_OK(mmapio__thread_start(&t, registers_then_clears, NULL));
  mmapio__thread_join(&t);
  ASSERT_EQ(exit_calls[2], 0);
}

/* ---- asymmetric fence, clocks -------------------------------------------- */
static void test_asym_and_clock(void)
{
  int have = mmapio__asym_init();
#if MMAPIO__LINUX && !TEST_TSAN
  long mask = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
  int expect = mask > 0 && (mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
               (mask & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
  ASSERT_EQ(have, expect);
#else
  ASSERT_EQ(have, 0);
#endif
  mmapio__asym_heavy(); /* must not fail (or abort) either way */
  mmapio__asym_heavy();

  uint64_t a = mmapio__monotonic_ms();
  mmapio__sleep_ms(30);
  uint64_t b = mmapio__monotonic_ms();
  ASSERT(b >= a + 30 - 1); /* the clock has millisecond granularity */
  mmapio__sleep_ms(0);
}

/* ---- hooks: thread safety and semantics ---------------------------------- */
#if MMAPIO__HOOKS
/* The engine's answer as an errno: 0 = go ahead. */
static int hook(const char *name, uint64_t a, uint64_t b, int flags)
{
  int err = 0;
  return mmapio__hook_call(name, a, b, flags, &err) ? err : 0;
}

static void hammer(void *arg)
{
  (void)arg;
  for (int i = 0; i < 5000; i++) (void)hook("fsync", 0, 0, 0);
}
#endif

static void test_hooks(void)
{
  if (!have_hooks("test_hooks")) return;
#if MMAPIO__HOOKS
  mmapio__sys_reset();
  enum { N = 4 };
  mmapio__thread t[N];
  mmapio__sys_record_start();
  for (int i = 0; i < N; i++) ASSERT_OK(mmapio__thread_start(&t[i], hammer, NULL));
  for (int i = 0; i < N; i++) mmapio__thread_join(&t[i]);
  ASSERT_EQ(mmapio__sys_count("fsync"), N * 5000);
  ASSERT_EQ(mmapio__sys_count(NULL), N * 5000);
  ASSERT_EQ(mmapio__sys_count("msync"), 0);
  /* The buffer keeps the first 4096 calls. */
  mmapio__sys_call *rec = (mmapio__sys_call *)calloc(8192, sizeof *rec);
  ASSERT_EQ(mmapio__sys_record_stop(rec, 8192), 4096);
  ASSERT_STREQ(rec[4095].name, "fsync");
  ASSERT_EQ(mmapio__sys_record_stop(rec, 8192), 4096); /* stop is repeatable */
  ASSERT_EQ(mmapio__sys_record_stop(rec, 3), 3);
  free(rec);

  /* fail_nth: only the nth matching call fails, once; NULL matches any. */
  mmapio__sys_reset();
  mmapio__sys_fail_nth("msync", 2, EIO);
  ASSERT_EQ(hook("fsync", 0, 0, 0), 0);
  ASSERT_EQ(hook("msync", 0, 0, 0), 0);
  ASSERT_EQ(hook("msync", 0, 0, 0), EIO);
  ASSERT_EQ(hook("msync", 0, 0, 0), 0);
  mmapio__sys_fail_nth(NULL, 3, ENOSPC);
  ASSERT_EQ(hook("a", 0, 0, 0), 0);
  ASSERT_EQ(hook("b", 0, 0, 0), 0);
  ASSERT_EQ(hook("c", 0, 0, 0), ENOSPC);
  ASSERT_EQ(hook("d", 0, 0, 0), 0);
  /* Reset clears pending injections. */
  mmapio__sys_fail_nth("msync", 1, EIO);
  mmapio__sys_reset();
  ASSERT_EQ(hook("msync", 0, 0, 0), 0);
  ASSERT_EQ(mmapio__sys_count("msync"), 1);
  /* Recording keeps the arguments. */
  mmapio__sys_reset();
  mmapio__sys_record_start();
  (void)hook("msync", 11, 22, 4);
  mmapio__sys_call one;
  ASSERT_EQ(mmapio__sys_record_stop(&one, 1), 1);
  ASSERT_STREQ(one.name, "msync");
  ASSERT_U64_EQ(one.a, 11);
  ASSERT_U64_EQ(one.b, 22);
  ASSERT_EQ(one.flags, 4);
  /* Not recording: nothing added to the last recording, still counted. */
  (void)hook("msync", 0, 0, 0);
  mmapio__sys_call two[2];
  ASSERT_EQ(mmapio__sys_record_stop(two, 2), 1);
  ASSERT_U64_EQ(two[0].a, 11);
  ASSERT_EQ(mmapio__sys_count("msync"), 2);
  mmapio__sys_reset();
#endif
}

int main(void)
{
  test_ping_pong();
  test_wake_all();
  test_cond();
  test_stable_sleepers();
  test_thread_exit();
  test_asym_and_clock();
  test_hooks();
  printf("ok\n");
  return 0;
}
