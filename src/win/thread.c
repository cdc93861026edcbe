/*
 * thread.c -- locks, condition variables, threads, clocks, address waits,
 * the asymmetric barrier and thread-exit callbacks on Win32.
 *
 * Locks are SRW locks (a mutex is an SRW lock used only exclusively) and
 * condition variables are CONDITION_VARIABLEs. Both are one pointer wide
 * and need no destruction, which is why platform.h can declare them as
 * opaque one-pointer structs without including <windows.h>.
 */
#include "win.h"

#include <process.h>
#include <stdlib.h>

/* The opaque types of platform.h must be exactly as large as the Win32
 * objects they stand for (a negative array size fails the build). */
typedef char mmapio__win_check_srw[sizeof(SRWLOCK) == sizeof(mmapio__mutex) ? 1 : -1];
typedef char mmapio__win_check_cv[sizeof(CONDITION_VARIABLE) == sizeof(mmapio__cond) ? 1 : -1];

#define MMAPIO__SRW(x) ((PSRWLOCK)(void *)(x))
#define MMAPIO__CV(x) ((PCONDITION_VARIABLE)(void *)(x))

void mmapio__mutex_init(mmapio__mutex *mu) { InitializeSRWLock(MMAPIO__SRW(mu)); }
void mmapio__mutex_destroy(mmapio__mutex *mu) { (void)mu; }
void mmapio__mutex_lock(mmapio__mutex *mu) { AcquireSRWLockExclusive(MMAPIO__SRW(mu)); }
int mmapio__mutex_trylock(mmapio__mutex *mu)
{
  return TryAcquireSRWLockExclusive(MMAPIO__SRW(mu)) ? 1 : 0;
}
void mmapio__mutex_unlock(mmapio__mutex *mu) { ReleaseSRWLockExclusive(MMAPIO__SRW(mu)); }

void mmapio__cond_init(mmapio__cond *c) { InitializeConditionVariable(MMAPIO__CV(c)); }
void mmapio__cond_destroy(mmapio__cond *c) { (void)c; }

void mmapio__cond_wait(mmapio__cond *c, mmapio__mutex *mu)
{
  SleepConditionVariableSRW(MMAPIO__CV(c), MMAPIO__SRW(mu), INFINITE, 0);
}

int mmapio__cond_timedwait(mmapio__cond *c, mmapio__mutex *mu, uint64_t timeout_ms)
{
  /* INFINITE is 0xFFFFFFFF; longer timeouts become the longest finite one
   * (about 49 days), which callers cannot tell from a spurious wakeup. */
  DWORD ms = timeout_ms >= (uint64_t)INFINITE ? INFINITE - 1u : (DWORD)timeout_ms;
  if (SleepConditionVariableSRW(MMAPIO__CV(c), MMAPIO__SRW(mu), ms, 0)) return 0;
  return GetLastError() == ERROR_TIMEOUT ? 1 : 0;
}

void mmapio__cond_signal(mmapio__cond *c) { WakeConditionVariable(MMAPIO__CV(c)); }
void mmapio__cond_broadcast(mmapio__cond *c) { WakeAllConditionVariable(MMAPIO__CV(c)); }

/* ---- Threads ------------------------------------------------------------- */

typedef struct mmapio__win_start {
  void (*fn)(void *);
  void *arg;
} mmapio__win_start;

static unsigned __stdcall mmapio__win_thread_main(void *p)
{
  mmapio__win_start st = *(mmapio__win_start *)p;
  free(p);
  st.fn(st.arg);
  return 0;
}

int mmapio__thread_start(mmapio__thread *t, void (*fn)(void *), void *arg)
{
  mmapio__win_start *st = (mmapio__win_start *)malloc(sizeof *st);
  if (st == NULL) return mmapio__fail_os((int)ERROR_NOT_ENOUGH_MEMORY, "malloc", "<thread>");
  st->fn = fn;
  st->arg = arg;
  /* _beginthreadex rather than CreateThread: it sets up the C runtime's
   * per-thread data, which the thread uses (errno, snprintf). */
  uintptr_t h = _beginthreadex(NULL, 0, mmapio__win_thread_main, st, 0, NULL);
  if (h == 0) {
    DWORD e = GetLastError();
    free(st);
    return mmapio__fail_os((int)(e != 0 ? e : ERROR_NOT_ENOUGH_MEMORY), "_beginthreadex", "<thread>");
  }
  t->h_ = (void *)h;
  return MMAPIO_OK;
}

void mmapio__thread_join(mmapio__thread *t)
{
  if (t->h_ == NULL) return;
  WaitForSingleObject((HANDLE)t->h_, INFINITE);
  CloseHandle((HANDLE)t->h_);
  t->h_ = NULL;
}

void mmapio__thread_detach(mmapio__thread *t)
{
  if (t->h_ == NULL) return;
  CloseHandle((HANDLE)t->h_);
  t->h_ = NULL;
}

/* Windows has no fork(). */
void mmapio__os_atfork_register(void) {}

/* ---- Time ---------------------------------------------------------------- */

uint64_t mmapio__monotonic_ms(void) { return (uint64_t)GetTickCount64(); }

void mmapio__sleep_ms(uint32_t ms) { Sleep((DWORD)ms); }

/* ---- Address waits ------------------------------------------------------- */
/* WaitOnAddress (Windows 8+) is looked up at run time so the library also
 * loads where it is missing; there a short sleep stands in for it, which
 * the contract allows (spurious and early returns are fine). */

void mmapio__wait_u32(const uint32_t *addr, uint32_t expected, uint32_t timeout_ms)
{
  const mmapio__win_api *api = mmapio__win_get_api();
  DWORD ms = timeout_ms >= (uint32_t)INFINITE ? INFINITE - 1u : (DWORD)timeout_ms;
  if (api->WaitOnAddress != NULL) {
    api->WaitOnAddress((volatile VOID *)(uintptr_t)addr, &expected, sizeof expected, ms);
    return;
  }
  if (*(const volatile uint32_t *)addr == expected) Sleep(ms < 1u ? ms : 1u);
}

void mmapio__wake_u32(const uint32_t *addr)
{
  const mmapio__win_api *api = mmapio__win_get_api();
  if (api->WakeByAddressAll != NULL) api->WakeByAddressAll((PVOID)(uintptr_t)addr);
}

/* ---- Asymmetric barrier -------------------------------------------------- */

int mmapio__asym_init(void)
{
  /* Wine 8 implements FlushProcessWriteBuffers as an empty stub
   * ("fixme:virtual:NtFlushProcessWriteBuffers stub"), which would break
   * the reader-slot protocol; under Wine readers use full fences instead. */
  return mmapio__win_get_api()->is_wine ? 0 : 1;
}

void mmapio__asym_heavy(void) { FlushProcessWriteBuffers(); }

/* ---- Thread-exit callbacks ----------------------------------------------- */
/* A fiber-local-storage slot with a callback: Windows calls it with the
 * slot's value when a thread exits (no DllMain needed, so it works in a
 * static library). The value is a heap block holding fn and arg. */

typedef struct mmapio__win_exit_cb {
  void (*fn)(void *);
  void *arg;
} mmapio__win_exit_cb;

static DWORD mmapio__win_fls = FLS_OUT_OF_INDEXES;
static INIT_ONCE mmapio__win_fls_once = INIT_ONCE_STATIC_INIT;

static VOID WINAPI mmapio__win_fls_cb(PVOID p)
{
  mmapio__win_exit_cb *cb = (mmapio__win_exit_cb *)p;
  if (cb == NULL) return;
  cb->fn(cb->arg);
  free(cb);
}

static BOOL CALLBACK mmapio__win_fls_init(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
  (void)once; (void)param; (void)ctx;
  mmapio__win_fls = FlsAlloc(mmapio__win_fls_cb);
  return TRUE;
}

void mmapio__on_thread_exit(void (*fn)(void *), void *arg)
{
  InitOnceExecuteOnce(&mmapio__win_fls_once, mmapio__win_fls_init, NULL, NULL);
  if (mmapio__win_fls == FLS_OUT_OF_INDEXES) return;
  mmapio__win_exit_cb *cb = (mmapio__win_exit_cb *)FlsGetValue(mmapio__win_fls);
  if (cb == NULL) {
    cb = (mmapio__win_exit_cb *)malloc(sizeof *cb);
    /* Out of memory: the cache of this thread leaks at exit, as it would
     * with a failing pthread_setspecific. */
    if (cb == NULL) return;
    if (!FlsSetValue(mmapio__win_fls, cb)) {
      free(cb);
      return;
    }
  }
  cb->fn = fn;
  cb->arg = arg;
}
