/*
 * watch_poll.c -- the POSIX watch backend chooser, shared helpers, and the
 * stat-polling backend.
 *
 * The chooser (mmapio__os_watch_open) takes the native backend of the
 * platform -- inotify on Linux, kqueue on macOS and the BSDs -- and falls
 * back to polling when that is not compiled in (the MMAPIO_PORTABLE_POSIX
 * build) or cannot start (for example the inotify watch limit is reached).
 *
 * The polling backend looks at the file every MMAPIO__POLL_MS milliseconds.
 * It follows the file it started with through its own descriptor (so a
 * rename away or an unlink can be told apart: the link count is 0 only
 * after an unlink) and compares the path's identity (device, inode) to
 * notice that the path now names another file (atomic replace). It sees a
 * change when size, modification time, mode, owner, link count or change
 * time differ between two looks, so two changes within one interval that
 * leave the same state look like one, and a change that restores every one
 * of those fields is not seen. Its sleep is a poll() on the wake-up event,
 * so a stop never waits for the interval to end.
 */
#include "internal.h"
#include "watch_posix.h"

#if MMAPIO_WITH_WATCH

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copy `path` and split it into its directory and last component, for the
 * backends that also watch the directory (atomic replace, removal). A
 * trailing slash cannot name a regular file, so the last '/' separates them.
 * *name points into *copy. Both strings are freed by the caller. */
int mmapio__posix_split_path(const char *path, char **copy, char **dir, const char **name)
{
  size_t n = strlen(path) + 1;
  *copy = (char *)malloc(n);
  *dir = (char *)malloc(n + 2);
  if (*copy == NULL || *dir == NULL) {
    free(*copy);
    free(*dir);
    *copy = *dir = NULL;
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_watch_start(%s): out of memory", path);
  }
  memcpy(*copy, path, n);
  const char *slash = strrchr(*copy, '/');
  if (slash == NULL) {
    memcpy(*dir, ".", 2);
    *name = *copy;
  } else if (slash == *copy) {
    memcpy(*dir, "/", 2);
    *name = slash + 1;
  } else {
    memcpy(*dir, *copy, (size_t)(slash - *copy));
    (*dir)[slash - *copy] = '\0';
    *name = slash + 1;
  }
  return MMAPIO_OK;
}

#define MMAPIO__POLL_MS 50

/* ---- Shared helpers ------------------------------------------------------- */

int mmapio__posix_file_state(mmapio__file_state *s, int fd, const char *path)
{
  struct stat st;
  memset(s, 0, sizeof *s);
  int r;
  do {
    r = fd >= 0 ? fstat(fd, &st) : stat(path, &st);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return errno != 0 ? errno : EIO;
  s->exists = 1;
  s->dev = (uint64_t)st.st_dev;
  s->ino = (uint64_t)st.st_ino;
  s->size = (uint64_t)st.st_size;
  s->nlink = (uint64_t)st.st_nlink;
  s->mode = (uint32_t)st.st_mode;
  s->uid = (uint32_t)st.st_uid;
  s->gid = (uint32_t)st.st_gid;
#if defined(__APPLE__)
  s->mtime_ns = (int64_t)st.st_mtimespec.tv_sec * 1000000000 + st.st_mtimespec.tv_nsec;
  s->ctime_ns = (int64_t)st.st_ctimespec.tv_sec * 1000000000 + st.st_ctimespec.tv_nsec;
#else
  s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  s->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
#endif
  return 0;
}

int mmapio__posix_watch_open_file(const char *path)
{
#if defined(O_EVTONLY)
  /* macOS: a descriptor for events only does not keep the volume busy. */
  int flags = O_EVTONLY | O_CLOEXEC;
#else
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
#endif
  int fd;
  do {
    fd = open(path, flags);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

int mmapio__os_watch_open(mmapio__os_watch **out, const char *path, int backend)
{
  *out = NULL;
  if (backend == MMAPIO__WATCH_AUTO) {
    if (mmapio__os_watch_open_inotify(out, path) == MMAPIO_OK) return MMAPIO_OK;
    if (mmapio__os_watch_open_kqueue(out, path) == MMAPIO_OK) return MMAPIO_OK;
  }
  return mmapio__os_watch_open_poll(out, path);
}

/* ---- The polling backend ----------------------------------------------------- */

typedef struct mmapio__poll_watch {
  mmapio__os_watch base;
  char *path;
  int fd;                  /* our descriptor of the followed file, or -1 */
  mmapio__file_state cur;  /* its last observed state */
  int gone;                /* the path no longer names it, and that was reported */
  mmapio__os_event wake;
} mmapio__poll_watch;

static void mmapio__poll_emit(mmapio__watch_emit emit, void *ctx, mmapio_change_kind kind)
{
  mmapio_change c;
  c.kind = kind;
  c.offset = 0;
  c.len = 0;
  emit(ctx, &c);
}

/* Start following whatever the path names now. */
static void mmapio__poll_follow_path(mmapio__poll_watch *w)
{
  if (w->fd >= 0) (void)close(w->fd);
  w->fd = mmapio__posix_watch_open_file(w->path);
  (void)mmapio__posix_file_state(&w->cur, w->fd, w->path);
  w->gone = 0;
}

static void mmapio__poll_check(mmapio__poll_watch *w, mmapio__watch_emit emit, void *ctx)
{
  mmapio__file_state ps, fs;
  mmapio_change c;
  (void)mmapio__posix_file_state(&ps, -1, w->path);
  if (ps.exists && (ps.dev != w->cur.dev || ps.ino != w->cur.ino || !w->cur.exists)) {
    /* The path names another file: an atomic replace (rename over the
     * path), or a new file after a removal. Watch the new one from now on. */
    mmapio__poll_follow_path(w);
    mmapio__poll_emit(emit, ctx, MMAPIO_CHANGE_RENAMED);
    return;
  }
  if (ps.exists) w->gone = 0; /* the path names our file (again) */
  if (w->fd >= 0) (void)mmapio__posix_file_state(&fs, w->fd, NULL);
  else fs = ps;
  if (!ps.exists && !w->gone) {
    /* Our descriptor tells whether the file still has a name elsewhere. */
    w->gone = 1;
    mmapio__poll_emit(emit, ctx,
                      fs.exists && fs.nlink > 0 ? MMAPIO_CHANGE_RENAMED : MMAPIO_CHANGE_REMOVED);
    /* The unlink/rename is not a separate METADATA change. Size and mtime
     * stay: a content change seen in the same look is reported below. */
    if (fs.exists) {
      w->cur.nlink = fs.nlink;
      w->cur.ctime_ns = fs.ctime_ns;
    }
  }
  if (fs.exists && mmapio__watch_diff(&c, &w->cur, &fs)) emit(ctx, &c);
  if (fs.exists) w->cur = fs;
}

static int mmapio__poll_wait(mmapio__os_watch *base, mmapio__watch_emit emit, void *ctx)
{
  mmapio__poll_watch *w = (mmapio__poll_watch *)base;
  struct pollfd p;
  p.fd = w->wake.rd;
  p.events = POLLIN;
  p.revents = 0;
  int r = poll(&p, 1, MMAPIO__POLL_MS);
  if (r > 0) return MMAPIO_OK; /* woken: the caller is stopping */
  if (r < 0) {
    if (errno == EINTR) return MMAPIO_OK;
    return mmapio__fail_os(errno, "poll", w->path);
  }
  mmapio__poll_check(w, emit, ctx);
  return MMAPIO_OK;
}

static void mmapio__poll_wake(mmapio__os_watch *base)
{
  mmapio__os_event_set(&((mmapio__poll_watch *)base)->wake);
}

static void mmapio__poll_destroy(mmapio__os_watch *base)
{
  mmapio__poll_watch *w = (mmapio__poll_watch *)base;
  if (w->fd >= 0) (void)close(w->fd);
  mmapio__os_event_close(&w->wake);
  free(w->path);
  free(w);
}

int mmapio__os_watch_open_poll(mmapio__os_watch **out, const char *path)
{
  mmapio__poll_watch *w = (mmapio__poll_watch *)calloc(1, sizeof *w);
  size_t n = strlen(path) + 1;
  char *p = (char *)malloc(n);
  if (w == NULL || p == NULL) {
    free(w);
    free(p);
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_watch_start(%s): out of memory", path);
  }
  memcpy(p, path, n);
  w->path = p;
  w->fd = -1;
  int rc = mmapio__os_event_open(&w->wake);
  if (rc != MMAPIO_OK) {
    free(p);
    free(w);
    return rc;
  }
  mmapio__poll_follow_path(w);
  if (!w->cur.exists) {
    int err = mmapio__posix_file_state(&w->cur, -1, path);
    mmapio__poll_destroy(&w->base);
    return mmapio__fail_os(err != 0 ? err : ENOENT, "stat", path);
  }
  w->base.backend = "poll";
  w->base.wait = mmapio__poll_wait;
  w->base.wake = mmapio__poll_wake;
  w->base.destroy = mmapio__poll_destroy;
  *out = &w->base;
  return MMAPIO_OK;
}

#endif /* MMAPIO_WITH_WATCH */
