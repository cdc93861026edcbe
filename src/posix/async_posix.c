/*
 * async_posix.c -- completion events for async tasks (platform.h, "Async and
 * watch").
 *
 * An event is something any event loop can wait on with poll/select/epoll/
 * kqueue: on Linux an eventfd, elsewhere (and in the portable build) the read
 * end of a pipe. Setting it makes it readable, and it stays readable because
 * nothing inside the library ever reads it back: a task completes once.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#if defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)
#  include <sys/eventfd.h>
#  define MMAPIO__HAVE_EVENTFD 1
#else
#  define MMAPIO__HAVE_EVENTFD 0
#endif

#if !MMAPIO__HAVE_EVENTFD
/* pipe2() is not available on macOS, so flags are set one by one. A fork()
 * racing between pipe() and FD_CLOEXEC could leak the descriptors into a
 * child; the portable build accepts that (there is no portable atomic
 * alternative), Linux uses eventfd with EFD_CLOEXEC. */
static int mmapio__set_fd_flags(int fd)
{
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return -1;
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  return 0;
}
#endif

int mmapio__os_event_open(mmapio__os_event *e)
{
#if MMAPIO__HAVE_EVENTFD
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return mmapio__fail_os(errno, "eventfd", NULL);
  e->rd = fd;
  e->wr = fd;
  return MMAPIO_OK;
#else
  int p[2];
  if (pipe(p) != 0) return mmapio__fail_os(errno, "pipe", NULL);
  if (mmapio__set_fd_flags(p[0]) != 0 || mmapio__set_fd_flags(p[1]) != 0) {
    int err = errno;
    (void)close(p[0]);
    (void)close(p[1]);
    return mmapio__fail_os(err, "fcntl", NULL);
  }
  e->rd = p[0];
  e->wr = p[1];
  return MMAPIO_OK;
#endif
}

void mmapio__os_event_set(mmapio__os_event *e)
{
  /* EAGAIN means the counter / pipe is already non-empty: the event is set,
   * which is all that matters. EINTR cannot leave it unset, so retry. */
#if MMAPIO__HAVE_EVENTFD
  uint64_t one = 1;
  while (write(e->wr, &one, sizeof one) < 0 && errno == EINTR) {
  }
#else
  const char one = 1;
  while (write(e->wr, &one, 1) < 0 && errno == EINTR) {
  }
#endif
}

void mmapio__os_event_close(mmapio__os_event *e)
{
  if (e->wr != e->rd && e->wr >= 0) (void)close(e->wr);
  if (e->rd >= 0) (void)close(e->rd);
  e->rd = -1;
  e->wr = -1;
}
