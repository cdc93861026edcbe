/*
 * watch_kqueue.c -- the macOS / BSD watch backend.
 *
 * EVFILT_VNODE on a descriptor of the file (write, extend, attribute, link,
 * delete, rename, revoke) and NOTE_WRITE on a descriptor of its directory:
 * the directory's entries change when the path is replaced (rename over
 * it), which the file's own events do not show, so on a directory event the
 * path's identity is compared with the followed file's and the backend
 * moves to the new file, reporting MMAPIO_CHANGE_RENAMED. The wake-up event
 * is a pipe registered with EVFILT_READ (EVFILT_USER is not on every BSD).
 *
 * Like the inotify backend it compares the file's state every
 * MMAPIO__KQ_CHECK_MS when nothing happens, because stores through a
 * mapping raise no vnode event; they show up once the kernel updates mtime.
 *
 * This file is compiled on Apple and BSD systems, or anywhere with
 * MMAPIO_USE_KQUEUE defined (e.g. Linux with libkqueue).
 */
#include "internal.h"
#include "watch_posix.h"

#if MMAPIO_WITH_WATCH &&                                                  \
    (defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
     defined(__OpenBSD__) || defined(__DragonFly__) || defined(MMAPIO_USE_KQUEUE))

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#define MMAPIO__KQ_CHECK_MS 250
#define MMAPIO__KQ_FILE_NOTES \
  (NOTE_DELETE | NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_LINK | NOTE_RENAME | NOTE_REVOKE)

typedef struct mmapio__kq_watch {
  mmapio__os_watch base;
  char *path;
  char *dir;
  int kq;
  int dfd;                /* directory descriptor */
  int fd;                 /* the followed file, or -1 */
  mmapio__file_state cur;
  int gone;
  uint64_t next_check_ms; /* monotonic time of the next state check */
  mmapio__os_event wake;
} mmapio__kq_watch;

static void mmapio__kq_emit_kind(mmapio__watch_emit emit, void *ctx, mmapio_change_kind kind)
{
  mmapio_change c;
  c.kind = kind;
  c.offset = 0;
  c.len = 0;
  emit(ctx, &c);
}

static int mmapio__kq_register(int kq, int fd, short filter, unsigned fflags)
{
  struct kevent ev;
  EV_SET(&ev, (uintptr_t)fd, filter, EV_ADD | EV_CLEAR, fflags, 0, NULL);
  return kevent(kq, &ev, 1, NULL, 0, NULL);
}

/* Follow whatever the path names now. Closing the old descriptor removes
 * its kevent registration. */
static int mmapio__kq_follow_path(mmapio__kq_watch *w)
{
  if (w->fd >= 0) (void)close(w->fd);
  w->fd = mmapio__posix_watch_open_file(w->path);
  int err = 0;
  if (w->fd < 0) err = errno;
  else if (mmapio__kq_register(w->kq, w->fd, EVFILT_VNODE, MMAPIO__KQ_FILE_NOTES) != 0) err = errno;
  (void)mmapio__posix_file_state(&w->cur, w->fd, w->path);
  w->gone = 0;
  return err;
}

/* Is the path still our file? If another file took it, follow that one. */
static void mmapio__kq_check_path(mmapio__kq_watch *w, mmapio__watch_emit emit, void *ctx)
{
  mmapio__file_state ps, fs;
  (void)mmapio__posix_file_state(&ps, -1, w->path);
  if (ps.exists && (!w->cur.exists || ps.dev != w->cur.dev || ps.ino != w->cur.ino)) {
    (void)mmapio__kq_follow_path(w);
    mmapio__kq_emit_kind(emit, ctx, MMAPIO_CHANGE_RENAMED);
    return;
  }
  if (ps.exists) w->gone = 0; /* the path names our file (again) */
  if (!ps.exists && !w->gone) {
    w->gone = 1;
    if (w->fd >= 0) (void)mmapio__posix_file_state(&fs, w->fd, NULL);
    else fs = ps;
    mmapio__kq_emit_kind(emit, ctx,
                         fs.exists && fs.nlink > 0 ? MMAPIO_CHANGE_RENAMED : MMAPIO_CHANGE_REMOVED);
    if (fs.exists) {
      /* Take in the rename itself; size and mtime changes stay visible. */
      w->cur.nlink = fs.nlink;
      w->cur.ctime_ns = fs.ctime_ns;
    }
  }
}

static void mmapio__kq_check_file(mmapio__kq_watch *w, mmapio__watch_emit emit, void *ctx,
                                  int modified, int attrib)
{
  mmapio__file_state s;
  if (w->fd < 0 || mmapio__posix_file_state(&s, w->fd, NULL) != 0) return;
  mmapio_change c;
  int have = mmapio__watch_diff(&c, &w->cur, &s);
  int unlinked = s.nlink == 0 && w->cur.nlink != 0;
  w->cur = s;
  if (have && (c.kind == MMAPIO_CHANGE_MODIFIED || !modified)) emit(ctx, &c);
  else if (modified) mmapio__kq_emit_kind(emit, ctx, MMAPIO_CHANGE_MODIFIED);
  else if (attrib && !unlinked) mmapio__kq_emit_kind(emit, ctx, MMAPIO_CHANGE_METADATA);
}

static int mmapio__kq_wait(mmapio__os_watch *base, mmapio__watch_emit emit, void *ctx)
{
  mmapio__kq_watch *w = (mmapio__kq_watch *)base;
  struct kevent evs[8];
  /* The state check runs on a clock, not only when nothing happens: a busy
   * directory could otherwise postpone it forever. */
  uint64_t now = mmapio__monotonic_ms();
  uint64_t due = w->next_check_ms > now ? w->next_check_ms - now : 0;
  struct timespec ts;
  ts.tv_sec = (time_t)(due / 1000u);
  ts.tv_nsec = (long)(due % 1000u) * 1000000L;
  int n = kevent(w->kq, NULL, 0, evs, 8, &ts);
  if (n < 0) {
    if (errno == EINTR) return MMAPIO_OK;
    return mmapio__fail_os(errno, "kevent", w->path);
  }
  for (int i = 0; i < n; i++)
    if (evs[i].filter == EVFILT_READ && (int)evs[i].ident == w->wake.rd) return MMAPIO_OK;
  now = mmapio__monotonic_ms();
  if (now >= w->next_check_ms) {
    w->next_check_ms = now + MMAPIO__KQ_CHECK_MS;
    mmapio__kq_check_file(w, emit, ctx, 0, 0);
  }
  for (int i = 0; i < n; i++) {
    const struct kevent *ev = &evs[i];
    if ((int)ev->ident == w->dfd) {
      mmapio__kq_check_path(w, emit, ctx);
      continue;
    }
    if ((int)ev->ident != w->fd) continue; /* an old file's leftovers */
    unsigned f = (unsigned)ev->fflags;
    if (f & (NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_LINK))
      mmapio__kq_check_file(w, emit, ctx, (f & (NOTE_WRITE | NOTE_EXTEND)) != 0,
                            (f & (NOTE_ATTRIB | NOTE_LINK)) != 0);
    if (f & (NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE)) mmapio__kq_check_path(w, emit, ctx);
  }
  return MMAPIO_OK;
}

static void mmapio__kq_wake(mmapio__os_watch *base)
{
  mmapio__os_event_set(&((mmapio__kq_watch *)base)->wake);
}

static void mmapio__kq_destroy(mmapio__os_watch *base)
{
  mmapio__kq_watch *w = (mmapio__kq_watch *)base;
  if (w->fd >= 0) (void)close(w->fd);
  if (w->dfd >= 0) (void)close(w->dfd);
  if (w->kq >= 0) (void)close(w->kq);
  if (w->wake.rd >= 0) mmapio__os_event_close(&w->wake);
  free(w->path);
  free(w->dir);
  free(w);
}

int mmapio__os_watch_open_kqueue(mmapio__os_watch **out, const char *path)
{
  mmapio__kq_watch *w = (mmapio__kq_watch *)calloc(1, sizeof *w);
  if (w == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_watch_start(%s): out of memory", path);
  w->kq = -1;
  w->dfd = -1;
  w->fd = -1;
  w->wake.rd = -1;
  w->wake.wr = -1;
  const char *name;
  int rc = mmapio__posix_split_path(path, &w->path, &w->dir, &name);
  if (rc != MMAPIO_OK) {
    mmapio__kq_destroy(&w->base);
    return rc;
  }
  (void)name;
  rc = mmapio__os_event_open(&w->wake);
  if (rc != MMAPIO_OK) {
    mmapio__kq_destroy(&w->base);
    return rc;
  }
  w->kq = kqueue();
  if (w->kq < 0) {
    int err = errno;
    mmapio__kq_destroy(&w->base);
    return mmapio__fail_os(err, "kqueue", path);
  }
  (void)fcntl(w->kq, F_SETFD, FD_CLOEXEC);
  if (mmapio__kq_register(w->kq, w->wake.rd, EVFILT_READ, 0) != 0) {
    int err = errno;
    mmapio__kq_destroy(&w->base);
    return mmapio__fail_os(err, "kevent", path);
  }
  w->dfd = mmapio__posix_watch_open_file(w->dir);
  if (w->dfd < 0 || mmapio__kq_register(w->kq, w->dfd, EVFILT_VNODE, NOTE_WRITE) != 0) {
    int err = errno;
    mmapio__kq_destroy(&w->base);
    return mmapio__fail_os(err, "kevent(directory)", path);
  }
  int err = mmapio__kq_follow_path(w);
  if (err != 0 || !w->cur.exists) {
    if (err == 0) err = ENOENT;
    mmapio__kq_destroy(&w->base);
    return mmapio__fail_os(err, "kevent", path);
  }
  w->base.backend = "kqueue";
  w->base.wait = mmapio__kq_wait;
  w->base.wake = mmapio__kq_wake;
  w->base.destroy = mmapio__kq_destroy;
  *out = &w->base;
  return MMAPIO_OK;
}

#else

int mmapio__os_watch_open_kqueue(mmapio__os_watch **out, const char *path)
{
  (void)out;
  return mmapio__fail(MMAPIO_ENOTSUP, "kqueue(%s): not available in this build", mmapio__path_or(path));
}

#endif
