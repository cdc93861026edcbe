/*
 * error.c -- status strings and the per-thread detail message.
 *
 * The detail lives in a fixed per-thread buffer: recording an error never
 * allocates, so out-of-memory failures can be reported too.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define MMAPIO__STATUS_MAP(X)                                              \
  X(MMAPIO_OK, "success")                                                  \
  X(MMAPIO_EINVAL, "invalid argument")                                     \
  X(MMAPIO_EBOUNDS, "range out of bounds")                                 \
  X(MMAPIO_EMODE, "operation not allowed in this mapping mode")            \
  X(MMAPIO_EALIGN, "misaligned atomic view")                               \
  X(MMAPIO_ESIZE, "invalid size")                                          \
  X(MMAPIO_EBUSY, "views, pins or iterators still outstanding")            \
  X(MMAPIO_EDEADLK, "would wait for a view held by the calling thread")    \
  X(MMAPIO_ENOENT, "no such file")                                         \
  X(MMAPIO_EEXIST, "file exists")                                          \
  X(MMAPIO_EACCES, "permission denied")                                    \
  X(MMAPIO_ENOSPC, "no space left on device")                              \
  X(MMAPIO_ENOMEM, "out of memory or address space")                       \
  X(MMAPIO_EIO, "operating system error")                                  \
  X(MMAPIO_EFAULT, "mapped pages could not be accessed")                   \
  X(MMAPIO_ENOTSUP, "not supported on this platform or in this build")     \
  X(MMAPIO_EVERSION, "options struct version not understood")              \
  X(MMAPIO_EAGAIN, "task not finished yet")                                \
  X(MMAPIO_ETIMEDOUT, "wait timed out")

const char *mmapio_strerror(int status)
{
  switch (status) {
#define MMAPIO__CASE(code, text) case code: return text;
    MMAPIO__STATUS_MAP(MMAPIO__CASE)
#undef MMAPIO__CASE
    default: return "unknown status";
  }
}

#define MMAPIO__ERRBUF 512
static MMAPIO__TLS char mmapio__errbuf[MMAPIO__ERRBUF];
static MMAPIO__TLS int mmapio__oserr;

const char *mmapio_last_error(void) { return mmapio__errbuf; }
int mmapio_last_os_error(void) { return mmapio__oserr; }

int mmapio__fail(int status, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(mmapio__errbuf, sizeof mmapio__errbuf, fmt, ap);
  va_end(ap);
  mmapio__oserr = 0;
  return status;
}

const char *mmapio__path_or(const char *path) { return path != NULL ? path : "<anonymous>"; }

int mmapio__fail_os_status(int status, int oserr, const char *call, const char *path)
{
  char text[256];
  mmapio__os_strerror(oserr, text, sizeof text);
  snprintf(mmapio__errbuf, sizeof mmapio__errbuf, "%s(%s): %s", call, mmapio__path_or(path), text);
  mmapio__oserr = oserr;
  return status;
}

int mmapio__fail_os(int oserr, const char *call, const char *path)
{
  return mmapio__fail_os_status(mmapio__os_status(oserr), oserr, call, path);
}

int mmapio__fail_bounds(uint64_t off, uint64_t len, uint64_t total)
{
  return mmapio__fail(MMAPIO_EBOUNDS, "range out of bounds: offset=%llu, len=%llu, total=%llu",
                      (unsigned long long)off, (unsigned long long)len, (unsigned long long)total);
}

void mmapio__error_save(mmapio__saved_error *e)
{
  memcpy(e->msg, mmapio__errbuf, sizeof e->msg);
  e->oserr = mmapio__oserr;
}

void mmapio__error_restore(const mmapio__saved_error *e)
{
  memcpy(mmapio__errbuf, e->msg, sizeof e->msg);
  mmapio__oserr = e->oserr;
}

void mmapio__error_append(const char *fmt, ...)
{
  size_t n = strlen(mmapio__errbuf);
  if (n + 1 >= sizeof mmapio__errbuf) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(mmapio__errbuf + n, sizeof mmapio__errbuf - n, fmt, ap);
  va_end(ap);
}

int mmapio__fail_keep_os(int status, int oserr, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(mmapio__errbuf, sizeof mmapio__errbuf, fmt, ap);
  va_end(ap);
  mmapio__oserr = oserr;
  return status;
}
