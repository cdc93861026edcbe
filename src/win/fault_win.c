/*
 * fault_win.c -- the in-page-error guard behind MMAPIO_OPEN_FAULT_SAFE and
 * mmapio_probe on Windows (platform.h, "Fault safety").
 *
 * When the pages behind a view cannot be read (the device failed, a network
 * file went away, a sparse file's volume is full) the access raises
 * EXCEPTION_IN_PAGE_ERROR, and an access to an address that is not (or no
 * longer) mapped raises EXCEPTION_ACCESS_VIOLATION. Unhandled, either ends
 * the process.
 *
 * MSVC: the copy runs inside __try / __except, whose filter accepts only
 * those two exceptions at an address inside the guarded range.
 *
 * MinGW (GCC or Clang, x86 and x86-64) has no __try, and longjmp out of an
 * exception handler is not reliable there. Instead the copy is a tiny
 * assembly routine built around one `rep movsb` instruction, and a vectored
 * exception handler recognises a fault at exactly that instruction, inside
 * the guarded range of the faulting thread: it moves the instruction pointer
 * to the instruction after it and resumes. `rep movsb` is restartable, so at
 * that point RCX holds the bytes not copied (at least one: the faulting
 * byte), which the routine returns. The handler never jumps across frames
 * and never allocates; everything else is passed on (EXCEPTION_CONTINUE_SEARCH)
 * so the application's own handlers see it exactly as before.
 *
 * Per-thread state is a Tls slot (TlsGetValue neither allocates nor fails
 * for a valid index; it does clear the last error, which the handler saves
 * and restores).
 */
#include "internal.h"

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <string.h>

typedef struct mmapio__wguard {
  uintptr_t lo, hi;                /* the guarded (mapped) address range */
  volatile uintptr_t addr;         /* fault address, set by the handler */
  volatile LONG faulted;
} mmapio__wguard;

#if defined(_MSC_VER) && !defined(__clang__)
#  define MMAPIO__WIN_SEH 1 /* __try/__except */
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#  define MMAPIO__WIN_REP 1 /* rep movsb + vectored handler */
#endif

#if defined(MMAPIO__WIN_SEH)

int mmapio__os_fault_install(void) { return MMAPIO_OK; }

static int mmapio__seh_filter(unsigned long code, EXCEPTION_POINTERS *ep, mmapio__wguard *g)
{
  if (code != EXCEPTION_IN_PAGE_ERROR && code != EXCEPTION_ACCESS_VIOLATION)
    return EXCEPTION_CONTINUE_SEARCH;
  EXCEPTION_RECORD *r = ep->ExceptionRecord;
  if (r->NumberParameters < 2) return EXCEPTION_CONTINUE_SEARCH;
  uintptr_t a = (uintptr_t)r->ExceptionInformation[1];
  if (a < g->lo || a >= g->hi) return EXCEPTION_CONTINUE_SEARCH;
  g->addr = a;
  return EXCEPTION_EXECUTE_HANDLER;
}

int mmapio__os_guarded_copy(void *dst, const void *src, size_t len, const void *lo,
                            const void *hi, uintptr_t *fault_addr)
{
  mmapio__wguard g;
  g.lo = (uintptr_t)lo;
  g.hi = (uintptr_t)hi;
  g.addr = 0;
  __try {
    memcpy(dst, src, len);
  } __except (mmapio__seh_filter(GetExceptionCode(), GetExceptionInformation(), &g)) {
    *fault_addr = g.addr;
    return MMAPIO_EFAULT;
  }
  return MMAPIO_OK;
}

int mmapio__os_guarded_touch(const void *p, size_t len, size_t page, uintptr_t *fault_addr)
{
  mmapio__wguard g;
  g.lo = (uintptr_t)p;
  g.hi = (uintptr_t)p + len;
  g.addr = 0;
  __try {
    const volatile uint8_t *b = (const volatile uint8_t *)p;
    for (size_t i = 0; i < len; i += page) (void)b[i];
  } __except (mmapio__seh_filter(GetExceptionCode(), GetExceptionInformation(), &g)) {
    *fault_addr = g.addr;
    return MMAPIO_EFAULT;
  }
  return MMAPIO_OK;
}

#elif defined(MMAPIO__WIN_REP)

/* size_t mmapio__win_copy_rep(void *dst, const void *src, size_t n):
 * copies with one `rep movsb` and returns the bytes not copied (0 unless the
 * vectored handler stopped it). The labels mark the faulting instruction and
 * the resume point for the handler. */
#  if defined(__x86_64__)
__asm__(".text\n"
        ".globl mmapio__win_copy_rep\n"
        ".def mmapio__win_copy_rep; .scl 2; .type 32; .endef\n"
        ".seh_proc mmapio__win_copy_rep\n"
        "mmapio__win_copy_rep:\n"
        "  pushq %rdi\n"
        "  .seh_pushreg %rdi\n"
        "  pushq %rsi\n"
        "  .seh_pushreg %rsi\n"
        "  .seh_endprologue\n"
        "  movq %rcx, %rdi\n"
        "  movq %rdx, %rsi\n"
        "  movq %r8, %rcx\n"
        ".globl mmapio__win_copy_fault_ip\n"
        "mmapio__win_copy_fault_ip:\n"
        "  rep movsb\n"
        ".globl mmapio__win_copy_resume_ip\n"
        "mmapio__win_copy_resume_ip:\n"
        "  movq %rcx, %rax\n"
        "  popq %rsi\n"
        "  popq %rdi\n"
        "  ret\n"
        ".seh_endproc\n");
#  else
__asm__(".text\n"
        ".globl _mmapio__win_copy_rep\n"
        "_mmapio__win_copy_rep:\n"
        "  pushl %edi\n"
        "  pushl %esi\n"
        "  movl 12(%esp), %edi\n"
        "  movl 16(%esp), %esi\n"
        "  movl 20(%esp), %ecx\n"
        ".globl _mmapio__win_copy_fault_ip\n"
        "_mmapio__win_copy_fault_ip:\n"
        "  rep movsb\n"
        ".globl _mmapio__win_copy_resume_ip\n"
        "_mmapio__win_copy_resume_ip:\n"
        "  movl %ecx, %eax\n"
        "  popl %esi\n"
        "  popl %edi\n"
        "  ret\n");
#  endif

size_t mmapio__win_copy_rep(void *dst, const void *src, size_t n);
extern const char mmapio__win_copy_fault_ip[];
extern const char mmapio__win_copy_resume_ip[];

static DWORD mmapio__tls_index = TLS_OUT_OF_INDEXES;
static INIT_ONCE mmapio__fault_once = INIT_ONCE_STATIC_INIT;
static int mmapio__fault_ok;

static LONG CALLBACK mmapio__veh(EXCEPTION_POINTERS *ep)
{
  EXCEPTION_RECORD *r = ep->ExceptionRecord;
  if (r->ExceptionCode != EXCEPTION_IN_PAGE_ERROR && r->ExceptionCode != EXCEPTION_ACCESS_VIOLATION)
    return EXCEPTION_CONTINUE_SEARCH;
#  if defined(__x86_64__)
  uintptr_t ip = (uintptr_t)ep->ContextRecord->Rip;
#  else
  uintptr_t ip = (uintptr_t)ep->ContextRecord->Eip;
#  endif
  /* Only our instruction can be resumed this way; anything else belongs to
   * the application. Checked before touching TLS. */
  if (ip != (uintptr_t)mmapio__win_copy_fault_ip || r->NumberParameters < 2)
    return EXCEPTION_CONTINUE_SEARCH;
  DWORD saved = GetLastError();
  mmapio__wguard *g = (mmapio__wguard *)TlsGetValue(mmapio__tls_index);
  SetLastError(saved);
  uintptr_t a = (uintptr_t)r->ExceptionInformation[1];
  if (g == NULL || a < g->lo || a >= g->hi) return EXCEPTION_CONTINUE_SEARCH;
  g->addr = a;
  g->faulted = 1;
#  if defined(__x86_64__)
  ep->ContextRecord->Rip = (DWORD64)(uintptr_t)mmapio__win_copy_resume_ip;
#  else
  ep->ContextRecord->Eip = (DWORD)(uintptr_t)mmapio__win_copy_resume_ip;
#  endif
  return EXCEPTION_CONTINUE_EXECUTION;
}

static BOOL CALLBACK mmapio__fault_install_once(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
  (void)once;
  (void)param;
  (void)ctx;
  DWORD idx = TlsAlloc();
  if (idx == TLS_OUT_OF_INDEXES) return TRUE;
  /* First in the chain: the handler only claims faults of its own
   * instruction, so it cannot steal anything from later handlers. */
  if (AddVectoredExceptionHandler(1, mmapio__veh) == NULL) {
    TlsFree(idx);
    return TRUE;
  }
  mmapio__tls_index = idx;
  mmapio__fault_ok = 1;
  return TRUE;
}

int mmapio__os_fault_install(void)
{
  InitOnceExecuteOnce(&mmapio__fault_once, mmapio__fault_install_once, NULL, NULL);
  return mmapio__fault_ok ? MMAPIO_OK : MMAPIO_ENOTSUP;
}

/* One guarded `rep movsb` of n bytes; nested guards on one thread (an APC
 * running a guarded copy) keep the outer record and restore it. */
static int mmapio__win_guarded(void *dst, const void *src, size_t n, uintptr_t lo, uintptr_t hi,
                               uintptr_t *fault_addr)
{
  mmapio__wguard g;
  g.lo = lo;
  g.hi = hi;
  g.addr = 0;
  g.faulted = 0;
  DWORD saved = GetLastError();
  void *prev = TlsGetValue(mmapio__tls_index);
  TlsSetValue(mmapio__tls_index, &g);
  size_t left = mmapio__win_copy_rep(dst, src, n);
  TlsSetValue(mmapio__tls_index, prev);
  SetLastError(saved);
  if (left == 0 && !g.faulted) return MMAPIO_OK;
  *fault_addr = g.addr;
  return MMAPIO_EFAULT;
}

int mmapio__os_guarded_copy(void *dst, const void *src, size_t len, const void *lo,
                            const void *hi, uintptr_t *fault_addr)
{
  if (len == 0) return MMAPIO_OK;
  if (!mmapio__fault_ok) return MMAPIO_ENOTSUP;
  return mmapio__win_guarded(dst, src, len, (uintptr_t)lo, (uintptr_t)hi, fault_addr);
}

int mmapio__os_guarded_touch(const void *p, size_t len, size_t page, uintptr_t *fault_addr)
{
  if (!mmapio__fault_ok) return MMAPIO_ENOTSUP;
  uintptr_t lo = (uintptr_t)p, hi = lo + len;
  uint8_t sink;
  for (size_t i = 0; i < len; i += page) {
    int rc = mmapio__win_guarded(&sink, (const uint8_t *)p + i, 1, lo, hi, fault_addr);
    if (rc != MMAPIO_OK) return rc;
  }
  return MMAPIO_OK;
}

#else /* neither MSVC nor MinGW on x86: no guarded access in this build */

int mmapio__os_fault_install(void) { return MMAPIO_ENOTSUP; }

int mmapio__os_guarded_copy(void *dst, const void *src, size_t len, const void *lo,
                            const void *hi, uintptr_t *fault_addr)
{
  (void)dst; (void)src; (void)len; (void)lo; (void)hi; (void)fault_addr;
  return MMAPIO_ENOTSUP;
}

int mmapio__os_guarded_touch(const void *p, size_t len, size_t page, uintptr_t *fault_addr)
{
  (void)p; (void)len; (void)page; (void)fault_addr;
  return MMAPIO_ENOTSUP;
}

#endif

/* Windows has no MADV_POPULATE_READ equivalent that reports unbacked pages;
 * probe uses the guarded touch. */
int mmapio__os_populate_read(void *p, size_t len)
{
  (void)p;
  (void)len;
  return MMAPIO_ENOTSUP;
}
