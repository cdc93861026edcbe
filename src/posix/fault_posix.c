/*
 * fault_posix.c -- the SIGBUS/SIGSEGV guard behind MMAPIO_OPEN_FAULT_SAFE
 * and mmapio_probe (platform.h, "Fault safety").
 *
 * How it works
 * ------------
 * One process-wide handler for SIGBUS and SIGSEGV is installed the first
 * time it is needed, remembering the handler that was there before. A
 * guarded copy pushes a record "access in progress over [lo, hi)" onto a
 * per-thread stack (the record lives in the copying function's frame, with
 * its sigjmp_buf) and copies. When a fault arrives, the handler looks only
 * at the faulting thread's top record: if the fault address lies inside
 * [lo, hi) it pops the record and siglongjmps back into the copying
 * function, which returns MMAPIO_EFAULT. Every other fault (another address,
 * a thread without a guard, a signal sent with kill) goes to the previous
 * handler exactly as if we had never been installed; when that was the
 * default action we restore it and let the fault happen again, so the
 * process dies with the same signal, the same address and a core dump.
 *
 * The handler is async-signal-safe: it reads one thread-local pointer
 * (initial-exec TLS, no allocation), compares addresses and calls only
 * sigaction, raise and siglongjmp. No lock is taken anywhere, so any number
 * of threads can copy and fault at once.
 *
 * The jump skips the rest of memcpy; that is safe because memcpy holds no
 * lock and no state. sigsetjmp is called with savemask 0 (a sigprocmask
 * system call on every copy would cost more than small copies themselves),
 * so the recovery path unblocks SIGBUS/SIGSEGV itself: the kernel blocked
 * the signal while the handler ran, and a synchronous fault that arrives
 * while it is blocked kills the process.
 */
#include "posix_sys.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

typedef struct mmapio__guard {
  uintptr_t lo, hi;               /* the guarded (mapped) address range */
  volatile uintptr_t addr;        /* fault address, set by the handler */
  struct mmapio__guard *prev;     /* enclosing guard of this thread (nesting) */
  sigjmp_buf env;
} mmapio__guard;

/* The innermost guard of this thread, NULL when no guarded access runs.
 * Initial-exec TLS: reading it from the signal handler never allocates. */
static MMAPIO__TLS_FAST mmapio__guard *volatile mmapio__guard_top;

static struct sigaction mmapio__old_bus, mmapio__old_segv;
static pthread_once_t mmapio__fault_once = PTHREAD_ONCE_INIT;
static int mmapio__fault_ok;

/* Hand a fault we do not own to the handler that was installed before us. */
static void mmapio__fault_chain(int sig, siginfo_t *info, void *uctx)
{
  const struct sigaction *old = sig == SIGBUS ? &mmapio__old_bus : &mmapio__old_segv;
  if (old->sa_flags & SA_SIGINFO) {
    old->sa_sigaction(sig, info, uctx);
    return;
  }
  if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
    old->sa_handler(sig);
    return;
  }
  /* Default action (or ignored, which the kernel does not honour for a
   * synchronous fault either): put the default back. A real fault repeats
   * when we return and terminates the process with this signal; a signal
   * sent by kill()/raise() does not repeat, so send it again (it stays
   * pending while this handler runs and is delivered on return). */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  if (info == NULL || info->si_code <= 0) raise(sig);
}

static void mmapio__fault_handler(int sig, siginfo_t *info, void *uctx)
{
  int saved_errno = errno;
  mmapio__guard *g = mmapio__guard_top;
  if (g != NULL && info != NULL && info->si_code > 0) {
    uintptr_t a = (uintptr_t)info->si_addr;
    if (a >= g->lo && a < g->hi) {
      g->addr = a;
      mmapio__guard_top = g->prev;
      errno = saved_errno;
      siglongjmp(g->env, 1);
    }
  }
  errno = saved_errno;
  mmapio__fault_chain(sig, info, uctx);
}

static void mmapio__fault_install_once(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = mmapio__fault_handler;
  /* SA_ONSTACK: if the application runs its handlers on an alternate stack
   * (to survive stack overflows), ours must run there too, or a stack
   * overflow could no longer reach the application's handler. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, &mmapio__old_bus) != 0) return;
  if (sigaction(SIGSEGV, &sa, &mmapio__old_segv) != 0) {
    sigaction(SIGBUS, &mmapio__old_bus, NULL);
    return;
  }
  mmapio__fault_ok = 1;
}

int mmapio__os_fault_install(void)
{
  pthread_once(&mmapio__fault_once, mmapio__fault_install_once);
  return mmapio__fault_ok ? MMAPIO_OK : MMAPIO_ENOTSUP;
}

/* After a recovered fault: the signal that jumped here is still blocked. */
static void mmapio__fault_unblock(void)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGBUS);
  sigaddset(&set, SIGSEGV);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Threads that block every signal (the sigwait design) cannot take a fault:
 * the kernel forces a blocked synchronous SIGBUS/SIGSEGV to its default
 * action and the process dies. Such a thread gets SIGBUS and SIGSEGV
 * unblocked around each guarded access and its own mask put back after it
 * (two extra system calls). The thread's mask is looked at once, at its
 * first guarded access, and remembered: 1 = they are not blocked, 2 = they
 * are (see docs/reliability.md for threads that block them later). */
static MMAPIO__TLS_FAST int mmapio__mask_state;

static int mmapio__mask_blocks_faults(void)
{
  int st = mmapio__mask_state;
  if (MMAPIO__LIKELY(st != 0)) return st == 2;
  sigset_t cur;
  sigemptyset(&cur);
  if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0) st = 2; /* cannot tell: be safe */
  else st = (sigismember(&cur, SIGBUS) == 1 || sigismember(&cur, SIGSEGV) == 1) ? 2 : 1;
  mmapio__mask_state = st;
  return st == 2;
}

/* Unblock SIGBUS/SIGSEGV for a guarded access when this thread blocks
 * them; *old receives the mask to put back. Returns 1 when it did. */
static int mmapio__guard_unblock(sigset_t *old)
{
  if (MMAPIO__LIKELY(!mmapio__mask_blocks_faults())) return 0;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGBUS);
  sigaddset(&set, SIGSEGV);
  return pthread_sigmask(SIG_UNBLOCK, &set, old) == 0;
}

static void mmapio__guard_restore(int unblocked, const sigset_t *old)
{
  if (unblocked) pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Kept out of line so that the sigsetjmp frame is exactly this function's:
 * nothing the caller keeps in registers can go stale across the jump, and
 * every local that is read after the jump is either unchanged since
 * sigsetjmp or volatile. */
__attribute__((noinline)) int mmapio__os_guarded_copy(void *dst, const void *src, size_t len,
                                                      const void *lo, const void *hi,
                                                      uintptr_t *fault_addr)
{
  mmapio__guard g;
  g.lo = (uintptr_t)lo;
  g.hi = (uintptr_t)hi;
  g.addr = 0;
  g.prev = mmapio__guard_top;
  sigset_t old;
  const volatile int unblocked = mmapio__guard_unblock(&old); /* read after siglongjmp */
  if (sigsetjmp(g.env, 0) != 0) {
    /* The handler already popped g. */
    if (unblocked) mmapio__guard_restore(unblocked, &old);
    else mmapio__fault_unblock();
    *fault_addr = g.addr;
    return MMAPIO_EFAULT;
  }
  mmapio__guard_top = &g;
  mmapio__compiler_fence();
  memcpy(dst, src, len);
  mmapio__compiler_fence();
  mmapio__guard_top = g.prev;
  mmapio__guard_restore(unblocked, &old);
  return MMAPIO_OK;
}

__attribute__((noinline)) int mmapio__os_guarded_touch(const void *p, size_t len, size_t page,
                                                       uintptr_t *fault_addr)
{
  mmapio__guard g;
  g.lo = (uintptr_t)p;
  g.hi = (uintptr_t)p + len;
  g.addr = 0;
  g.prev = mmapio__guard_top;
  sigset_t old;
  const volatile int unblocked = mmapio__guard_unblock(&old); /* read after siglongjmp */
  if (sigsetjmp(g.env, 0) != 0) {
    if (unblocked) mmapio__guard_restore(unblocked, &old);
    else mmapio__fault_unblock();
    *fault_addr = g.addr;
    return MMAPIO_EFAULT;
  }
  mmapio__guard_top = &g;
  mmapio__compiler_fence();
  /* The first page that faults, in page order, is the one reported. */
  mmapio__touch_pages((const uint8_t *)p, len, page);
  mmapio__compiler_fence();
  mmapio__guard_top = g.prev;
  mmapio__guard_restore(unblocked, &old);
  return MMAPIO_OK;
}

#if defined(MADV_POPULATE_READ) && MMAPIO__LINUX
/* Whether madvise()'s answers mean anything. A user-mode emulator may
 * answer every advice it does not emulate with 0 without doing anything
 * (qemu-user does, and runs ARM containers on x86 hosts through
 * binfmt_misc): a MADV_POPULATE_READ that "succeeds" there says nothing
 * about truncated pages, and mmapio_probe would report lost pages as
 * backed. A kernel refuses an advice value it does not know with EINVAL
 * before it looks at the range, so asking once with one no kernel defines
 * tells the two apart. Called directly, not through the syscall table: the
 * tests' madvise counts and injections stay as they were. 0 = not asked
 * yet, 1 = trusted, 2 = not trusted; a race asks twice, harmlessly. */
static int mmapio__madvise_state;

static int mmapio__madvise_trusted(void *p, size_t len)
{
  int st = mmapio__ld_relaxed(&mmapio__madvise_state);
  if (MMAPIO__UNLIKELY(st == 0)) {
    int e = errno;
    st = madvise(p, len, -1) == 0 ? 2 : 1;
    errno = e;
    mmapio__st_relaxed(&mmapio__madvise_state, st);
  }
  return st == 1;
}
#endif

int mmapio__os_populate_read(void *p, size_t len)
{
#if defined(MADV_POPULATE_READ) && MMAPIO__LINUX
  /* An emulator's madvise that succeeds without doing anything: let the
   * guarded touch find the faults. */
  if (!mmapio__madvise_trusted(p, len)) return MMAPIO_ENOTSUP;
  /* Through the backend's syscall table, so tests can make it fail and
   * check the fallback. */
  for (;;) {
    if (mmapio__sys_madvise(p, len, MADV_POPULATE_READ) == 0) return MMAPIO_OK;
    int e = errno;
    if (e == EINTR || e == EAGAIN) continue;
    /* EFAULT: a page would raise SIGBUS; EIO: the device failed reading it
     * (EHWPOISON on newer kernels). EINVAL (kernel < 5.14, or a mapping
     * kind it cannot populate), ENOMEM and anything else: let the guarded
     * touch decide. */
    if (e == EFAULT || e == EIO
#  ifdef EHWPOISON
        || e == EHWPOISON
#  endif
    )
      return MMAPIO_EFAULT;
    return MMAPIO_ENOTSUP;
  }
#else
  (void)p;
  (void)len;
  return MMAPIO_ENOTSUP;
#endif
}
