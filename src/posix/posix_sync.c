/*
 * posix_sync.c -- threads and synchronisation for the POSIX backend:
 * pthread mutex / condition variable, threads, the monotonic clock,
 * address waits (futex on Linux, a striped mutex+cond table elsewhere), the
 * asymmetric fence (membarrier) and thread-exit callbacks.
 *
 * Lock primitives abort on errors: pthread only reports them for invalid
 * objects or a broken lock discipline, and continuing would silently break
 * the library's memory-safety rules.
 */
#include "posix_sys.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if MMAPIO__LINUX
#  include <linux/futex.h>
#  include <linux/membarrier.h>
#  include <sys/syscall.h>
#endif

/* ThreadSanitizer does not model membarrier: with it, readers must use real
 * fences so that TSan sees the synchronisation. */
#if defined(__SANITIZE_THREAD__)
#  define MMAPIO__TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define MMAPIO__TSAN 1
#  endif
#endif
#ifndef MMAPIO__TSAN
#  define MMAPIO__TSAN 0
#endif

/* macOS has no pthread_condattr_setclock; it waits with a relative timeout
 * instead (pthread_cond_timedwait_relative_np), which is immune to wall
 * clock changes too. */
#if MMAPIO__APPLE
#  define MMAPIO__COND_MONOTONIC 0
#else
#  define MMAPIO__COND_MONOTONIC 1
#endif

static void check(int r, const char *what)
{
  if (MMAPIO__UNLIKELY(r != 0)) {
    char buf[128];
    mmapio__os_strerror(r, buf, sizeof buf);
    fprintf(stderr, "mmapio: %s failed: %s\n", what, buf);
    abort();
  }
}

/* ---- Mutex, condition variable -------------------------------------------- */

void mmapio__mutex_init(mmapio__mutex *mu) { check(pthread_mutex_init(mu, NULL), "pthread_mutex_init"); }
void mmapio__mutex_destroy(mmapio__mutex *mu) { (void)pthread_mutex_destroy(mu); }
void mmapio__mutex_lock(mmapio__mutex *mu) { check(pthread_mutex_lock(mu), "pthread_mutex_lock"); }
int mmapio__mutex_trylock(mmapio__mutex *mu) { return pthread_mutex_trylock(mu) == 0; }
void mmapio__mutex_unlock(mmapio__mutex *mu) { check(pthread_mutex_unlock(mu), "pthread_mutex_unlock"); }

void mmapio__cond_init(mmapio__cond *c)
{
#if MMAPIO__COND_MONOTONIC
  pthread_condattr_t a;
  check(pthread_condattr_init(&a), "pthread_condattr_init");
  check(pthread_condattr_setclock(&a, CLOCK_MONOTONIC), "pthread_condattr_setclock");
  check(pthread_cond_init(c, &a), "pthread_cond_init");
  (void)pthread_condattr_destroy(&a);
#else
  check(pthread_cond_init(c, NULL), "pthread_cond_init");
#endif
}
void mmapio__cond_destroy(mmapio__cond *c) { (void)pthread_cond_destroy(c); }
void mmapio__cond_wait(mmapio__cond *c, mmapio__mutex *mu) { check(pthread_cond_wait(c, mu), "pthread_cond_wait"); }

/* A timespec `ms` milliseconds from now on CLOCK_MONOTONIC, or just `ms`
 * when `relative`.
 * Very long timeouts are capped at about 30 years so tv_sec cannot
 * overflow. */
static struct timespec deadline(uint64_t ms, int relative)
{
  struct timespec ts = {0, 0};
  const uint64_t cap = (uint64_t)1000u * 60u * 60u * 24u * 365u * 30u;
  if (ms > cap) ms = cap;
  if (!relative) (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000u);
  long ns = ts.tv_nsec + (long)(ms % 1000u) * 1000000L;
  if (ns >= 1000000000L) {
    ts.tv_sec += 1;
    ns -= 1000000000L;
  }
  ts.tv_nsec = ns;
  return ts;
}

int mmapio__cond_timedwait(mmapio__cond *c, mmapio__mutex *mu, uint64_t timeout_ms)
{
#if MMAPIO__APPLE
  struct timespec rel = deadline(timeout_ms, 1);
  int r = pthread_cond_timedwait_relative_np(c, mu, &rel);
#else
  struct timespec abs_ts = deadline(timeout_ms, 0);
  int r = pthread_cond_timedwait(c, mu, &abs_ts);
#endif
  if (r == ETIMEDOUT) return 1;
  check(r, "pthread_cond_timedwait");
  return 0;
}
void mmapio__cond_signal(mmapio__cond *c) { check(pthread_cond_signal(c), "pthread_cond_signal"); }
void mmapio__cond_broadcast(mmapio__cond *c) { check(pthread_cond_broadcast(c), "pthread_cond_broadcast"); }

/* ---- Threads -------------------------------------------------------------- */

typedef struct mmapio__thread_start_arg {
  void (*fn)(void *);
  void *arg;
} mmapio__thread_start_arg;

static void *thread_main(void *p)
{
  mmapio__thread_start_arg a = *(mmapio__thread_start_arg *)p;
  free(p);
  a.fn(a.arg);
  return NULL;
}

int mmapio__thread_start(mmapio__thread *t, void (*fn)(void *), void *arg)
{
  mmapio__thread_start_arg *a = (mmapio__thread_start_arg *)malloc(sizeof *a);
  if (a == NULL) return mmapio__fail(MMAPIO_ENOMEM, "pthread_create: out of memory");
  a->fn = fn;
  a->arg = arg;
  /* Library threads block asynchronous signals so that the application's
   * handlers keep running on the application's threads; the new thread
   * inherits the mask in effect while it is created. Faults (SIGBUS,
   * SIGSEGV, ...) are synchronous and are never blocked. */
  sigset_t all, old;
  sigfillset(&all);
  sigdelset(&all, SIGBUS);
  sigdelset(&all, SIGSEGV);
  sigdelset(&all, SIGFPE);
  sigdelset(&all, SIGILL);
  sigdelset(&all, SIGTRAP);
  int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
  int r = pthread_create(&t->t_, NULL, thread_main, a);
  if (masked) (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    free(a);
    /* EAGAIN: the thread limit or memory for a stack. */
    return mmapio__fail_os_status(r == EAGAIN ? MMAPIO_ENOMEM : mmapio__os_status(r), r,
                                  "pthread_create", NULL);
  }
  return MMAPIO_OK;
}

void mmapio__thread_join(mmapio__thread *t) { check(pthread_join(t->t_, NULL), "pthread_join"); }
void mmapio__thread_detach(mmapio__thread *t) { check(pthread_detach(t->t_), "pthread_detach"); }

uint64_t mmapio__monotonic_ms(void)
{
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void mmapio__sleep_ms(uint32_t ms)
{
  struct timespec req = deadline(ms, 1), rem;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
}

/* ---- Address waits ---------------------------------------------------------- */
#if MMAPIO__LINUX

#  if !defined(SYS_futex) && defined(SYS_futex_time64)
#    define SYS_futex SYS_futex_time64
#  endif

void mmapio__wait_u32(const uint32_t *addr, uint32_t expected, uint32_t timeout_ms)
{
  /* FUTEX_WAIT takes a relative timeout and returns at once (EAGAIN) if the
   * value already differs, so a wake between our caller's check and the
   * wait is never lost. EINTR and spurious returns are allowed. */
  struct timespec rel = deadline(timeout_ms, 1);
  (void)syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, &rel, NULL, 0);
}

void mmapio__wake_u32(const uint32_t *addr)
{
  (void)syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Futexes have no user-space state to prepare for fork(). */
void mmapio__posix_waits_fork(int phase) { (void)phase; }

#else /* portable: striped mutex + condition variable table */

/* Waiters on an address sleep on the stripe its hash selects. A waiter
 * re-checks *addr under the stripe lock, and a waker takes the same lock
 * (after its caller changed *addr) before broadcasting, so a wake-up can
 * never fall between a waiter's check and its sleep. Addresses sharing a
 * stripe only cause spurious wake-ups. */
#  define MMAPIO__STRIPES 64u

typedef struct mmapio__stripe {
  mmapio__mutex mu;
  mmapio__fcond cv;
  char pad[64];
} mmapio__stripe;

static mmapio__stripe stripes[MMAPIO__STRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void stripes_init(void)
{
  for (unsigned i = 0; i < MMAPIO__STRIPES; i++) {
    mmapio__mutex_init(&stripes[i].mu);
    mmapio__fcond_init(&stripes[i].cv);
  }
}

static mmapio__stripe *stripe_of(const uint32_t *addr)
{
  uint64_t h = (uint64_t)(uintptr_t)addr;
  h ^= h >> 17;
  h *= 0x9E3779B97F4A7C15ull;
  (void)pthread_once(&stripes_once, stripes_init);
  return &stripes[(h >> 40) & (MMAPIO__STRIPES - 1u)];
}

void mmapio__wait_u32(const uint32_t *addr, uint32_t expected, uint32_t timeout_ms)
{
  mmapio__stripe *s = stripe_of(addr);
  mmapio__mutex_lock(&s->mu);
  if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) == expected)
    (void)mmapio__fcond_timedwait(&s->cv, &s->mu, timeout_ms);
  mmapio__mutex_unlock(&s->mu);
}

void mmapio__wake_u32(const uint32_t *addr)
{
  mmapio__stripe *s = stripe_of(addr);
  mmapio__mutex_lock(&s->mu);
  mmapio__fcond_broadcast(&s->cv);
  mmapio__mutex_unlock(&s->mu);
}

/* fork(): a stripe held by another thread would stay locked in the child,
 * so the prepare handler takes them all (after the core's locks: a stripe
 * is held only around one wait or wake, with no other lock taken inside).
 * The child's only thread is the one that took them, so it releases them;
 * a stripe's condition variable is initialised afresh only when threads of
 * the parent, which do not exist in the child, were inside a wait on it
 * (mmapio__fcond_after_fork in internal.h). */
void mmapio__posix_waits_fork(int phase)
{
  (void)pthread_once(&stripes_once, stripes_init);
  for (unsigned i = 0; i < MMAPIO__STRIPES; i++) {
    if (phase == MMAPIO__FORK_PREPARE) {
      mmapio__mutex_lock(&stripes[i].mu);
    } else if (phase == MMAPIO__FORK_PARENT) {
      mmapio__mutex_unlock(&stripes[i].mu);
    } else {
      mmapio__fcond_after_fork(&stripes[i].cv);
      mmapio__mutex_unlock(&stripes[i].mu);
    }
  }
}

#endif

/* ---- Asymmetric fence ------------------------------------------------------- */
#if MMAPIO__LINUX && !MMAPIO__TSAN && defined(SYS_membarrier)

static int membarrier(int cmd, unsigned flags)
{
  return (int)syscall(SYS_membarrier, cmd, flags);
}

int mmapio__asym_init(void)
{
  /* PRIVATE_EXPEDITED (Linux 4.14) interrupts only the CPUs running this
   * process's threads; it needs a one-time registration. */
  int mask = membarrier(MEMBARRIER_CMD_QUERY, 0);
  if (mask < 0) return 0;
  if (!(mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
      !(mask & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
    return 0;
  return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0;
}

void mmapio__asym_heavy(void)
{
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  /* Once registered the command cannot fail; if it did, readers that rely
   * on it would race with the writer, so stop rather than corrupt. */
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) != 0) {
    fprintf(stderr, "mmapio: membarrier(PRIVATE_EXPEDITED) failed after registration\n");
    abort();
  }
}

#else

/* No process-wide barrier: readers use full fences (asym_init returns 0),
 * and the writer's side is an ordinary full fence. */
int mmapio__asym_init(void) { return 0; }
void mmapio__asym_heavy(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

#endif

/* ---- Thread-exit callbacks -------------------------------------------------- */

typedef struct mmapio__exit_cb {
  void (*fn)(void *);
  void *arg;
} mmapio__exit_cb;

static MMAPIO__TLS mmapio__exit_cb exit_cb;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_key_ok;

/* The key's value is the address of this thread's exit_cb, so the destructor
 * is told which record to run; the TLS block is still alive while key
 * destructors run. */
static void exit_run(void *p)
{
  mmapio__exit_cb *cb = (mmapio__exit_cb *)p;
  void (*fn)(void *) = cb->fn;
  void *arg = cb->arg;
  cb->fn = NULL;
  cb->arg = NULL;
  if (fn != NULL) fn(arg);
}

static void exit_key_init(void) { exit_key_ok = pthread_key_create(&exit_key, exit_run) == 0; }

void mmapio__on_thread_exit(void (*fn)(void *), void *arg)
{
  (void)pthread_once(&exit_once, exit_key_init);
  if (!exit_key_ok) return; /* out of keys: the cache leaks at thread exit */
  exit_cb.fn = fn;
  exit_cb.arg = arg;
  (void)pthread_setspecific(exit_key, fn != NULL ? (void *)&exit_cb : NULL);
}
