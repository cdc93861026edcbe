/*
 * watch_inotify.c -- the Linux watch backend (not in the portable build).
 *
 * Two inotify watches: one on the file (writes, attribute changes, its own
 * deletion or move) and one on its directory, filtered on the file's name.
 * The directory watch is what makes an atomic replace visible: rename(tmp,
 * path) creates no event on the old file except a link-count change, but
 * the directory reports IN_MOVED_TO for the name. The backend then reports
 * MMAPIO_CHANGE_RENAMED and moves its file watch to the new file. It also
 * reports an unlink at once: the old file's own IN_DELETE_SELF only comes
 * when its last user goes, and the watched map is such a user.
 *
 * inotify says nothing about stores through a shared mapping, so between
 * events the backend compares the file's state (size, mtime, ...) every
 * MMAPIO__INOTIFY_CHECK_MS. The kernel updates mtime on the first store to
 * a page after that page was written back (and at msync), so a store made
 * through a mapping is reported within that interval of the mtime update.
 *
 * A descriptor of the followed file is kept so that fstat() describes the
 * file we watch even after its name was taken by another one.
 */
#include "internal.h"
#include "watch_posix.h"

#if MMAPIO_WITH_WATCH && defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define MMAPIO__INOTIFY_CHECK_MS 250
#define MMAPIO__INOTIFY_FILE_MASK \
  (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define MMAPIO__INOTIFY_DIR_MASK \
  (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR)

typedef struct mmapio__inotify_watch {
  mmapio__os_watch base;
  char *path;             /* as given */
  char *dir;              /* its directory ("." when none) */
  const char *name;       /* the last component, inside `path` */
  int ifd;                /* the inotify instance */
  int dwd, fwd;           /* directory and file watch descriptors (-1: none) */
  int fd;                 /* our descriptor of the followed file, or -1 */
  mmapio__file_state cur; /* its last observed state */
  int gone;               /* removal / move away already reported */
  mmapio__os_event wake;
  mmapio_change last;     /* last change emitted in the current batch */
  int have_last;
  uint64_t next_check_ms; /* monotonic time of the next state check */
  /* Room for many events, aligned for struct inotify_event. */
  _Alignas(struct inotify_event) char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)];
} mmapio__inotify_watch;

/* Emit, dropping exact repeats within one batch (a burst of writes arrives
 * as many IN_MODIFY events that say nothing more than the first). */
static void mmapio__ino_emit(mmapio__inotify_watch *w, mmapio__watch_emit emit, void *ctx,
                             const mmapio_change *c)
{
  if (w->have_last && w->last.kind == c->kind && w->last.offset == c->offset &&
      w->last.len == c->len)
    return;
  w->last = *c;
  w->have_last = 1;
  emit(ctx, c);
}

static void mmapio__ino_emit_kind(mmapio__inotify_watch *w, mmapio__watch_emit emit, void *ctx,
                                  mmapio_change_kind kind)
{
  mmapio_change c;
  c.kind = kind;
  c.offset = 0;
  c.len = 0;
  mmapio__ino_emit(w, emit, ctx, &c);
}

/* Watch whatever the path names now. Returns 0, or the errno of a failed
 * inotify_add_watch (the directory watch still reports replacement). */
static int mmapio__ino_follow_path(mmapio__inotify_watch *w)
{
  if (w->fwd >= 0) (void)inotify_rm_watch(w->ifd, w->fwd);
  if (w->fd >= 0) (void)close(w->fd);
  w->fd = mmapio__posix_watch_open_file(w->path);
  w->fwd = inotify_add_watch(w->ifd, w->path, MMAPIO__INOTIFY_FILE_MASK);
  int err = w->fwd < 0 ? errno : 0;
  (void)mmapio__posix_file_state(&w->cur, w->fd, w->path);
  w->gone = 0;
  return err;
}

/* The directory says something appeared under our name: if it is another
 * file than ours, the path was replaced. */
static void mmapio__ino_check_path(mmapio__inotify_watch *w, mmapio__watch_emit emit, void *ctx)
{
  mmapio__file_state ps;
  if (mmapio__posix_file_state(&ps, -1, w->path) != 0) return;
  if (w->cur.exists && ps.dev == w->cur.dev && ps.ino == w->cur.ino) {
    w->gone = 0; /* our file came back under its name (moved back) */
    return;
  }
  (void)mmapio__ino_follow_path(w);
  mmapio__ino_emit_kind(w, emit, ctx, MMAPIO_CHANGE_RENAMED);
}

/* Compare the followed file with its last state. `modified`: inotify said
 * the content changed, so report MODIFIED even when size and mtime look the
 * same (two writes within the clock's granularity). `attrib`: inotify said
 * metadata changed. */
static void mmapio__ino_check_file(mmapio__inotify_watch *w, mmapio__watch_emit emit, void *ctx,
                                   int modified, int attrib)
{
  mmapio__file_state s;
  if (mmapio__posix_file_state(&s, w->fd, w->path) != 0) return;
  mmapio_change c;
  int have = mmapio__watch_diff(&c, &w->cur, &s);
  int unlinked = s.nlink == 0 && w->cur.nlink != 0;
  w->cur = s;
  if (have && (c.kind == MMAPIO_CHANGE_MODIFIED || !modified)) {
    mmapio__ino_emit(w, emit, ctx, &c);
  } else if (modified) {
    mmapio__ino_emit_kind(w, emit, ctx, MMAPIO_CHANGE_MODIFIED);
  } else if (attrib && !unlinked) {
    /* An attribute change that leaves every compared field equal, e.g. a
     * chmod to the same mode or touch -a. The link count dropping to 0 is
     * the removal, reported from the directory. */
    mmapio__ino_emit_kind(w, emit, ctx, MMAPIO_CHANGE_METADATA);
  }
}

/* Take in the link count and change time of a removal or rename, so that
 * they are not reported again as METADATA. Size and mtime stay as they
 * were: a content change racing with the rename is still reported, with
 * its range, when its own event is handled. */
static void mmapio__ino_absorb_rename(mmapio__inotify_watch *w)
{
  mmapio__file_state s;
  if (mmapio__posix_file_state(&s, w->fd, w->path) != 0) return;
  w->cur.nlink = s.nlink;
  w->cur.ctime_ns = s.ctime_ns;
}

static void mmapio__ino_removed(mmapio__inotify_watch *w, mmapio__watch_emit emit, void *ctx)
{
  if (w->gone) return;
  w->gone = 1;
  mmapio__ino_absorb_rename(w);
  mmapio__ino_emit_kind(w, emit, ctx, MMAPIO_CHANGE_REMOVED);
}

/* Our file was renamed. Every move is reported; afterwards the path may or
 * may not name it (moved away, or moved back / renamed onto the path). */
static void mmapio__ino_moved(mmapio__inotify_watch *w, mmapio__watch_emit emit, void *ctx)
{
  mmapio__file_state ps;
  int here = mmapio__posix_file_state(&ps, -1, w->path) == 0 && ps.dev == w->cur.dev &&
             ps.ino == w->cur.ino;
  w->gone = !here;
  mmapio__ino_absorb_rename(w);
  mmapio__ino_emit_kind(w, emit, ctx, MMAPIO_CHANGE_RENAMED);
}

static void mmapio__ino_event(mmapio__inotify_watch *w, const struct inotify_event *ev,
                              mmapio__watch_emit emit, void *ctx)
{
  if (ev->mask & IN_Q_OVERFLOW) {
    /* Events were lost: say "something changed" and look at the path. */
    mmapio__ino_emit_kind(w, emit, ctx, MMAPIO_CHANGE_MODIFIED);
    mmapio__ino_check_path(w, emit, ctx);
    return;
  }
  if (ev->wd == w->dwd) {
    if (ev->len == 0 || strcmp(ev->name, w->name) != 0) return;
    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
      mmapio__ino_check_path(w, emit, ctx);
    } else if (ev->mask & IN_DELETE) {
      mmapio__ino_removed(w, emit, ctx);
    } else if ((ev->mask & IN_MOVED_FROM) && w->fwd < 0 && !w->gone) {
      /* Normally IN_MOVE_SELF on the file reports this; without a file
       * watch the directory is all we have. */
      mmapio__ino_moved(w, emit, ctx);
    }
    return;
  }
  if (ev->wd != w->fwd || w->fwd < 0) return; /* an old file's leftovers */
  if (ev->mask & IN_IGNORED) {
    w->fwd = -1;
    return;
  }
  if (ev->mask & (IN_MODIFY | IN_ATTRIB))
    mmapio__ino_check_file(w, emit, ctx, (ev->mask & IN_MODIFY) != 0, (ev->mask & IN_ATTRIB) != 0);
  if (ev->mask & IN_DELETE_SELF) mmapio__ino_removed(w, emit, ctx);
  if (ev->mask & IN_MOVE_SELF) mmapio__ino_moved(w, emit, ctx);
}

static int mmapio__ino_wait(mmapio__os_watch *base, mmapio__watch_emit emit, void *ctx)
{
  mmapio__inotify_watch *w = (mmapio__inotify_watch *)base;
  struct pollfd p[2];
  p[0].fd = w->wake.rd;
  p[0].events = POLLIN;
  p[0].revents = 0;
  p[1].fd = w->ifd;
  p[1].events = POLLIN;
  p[1].revents = 0;
  /* The state check runs on a clock, not only when inotify is quiet: a
   * busy directory (think /tmp) could otherwise postpone it forever. */
  uint64_t now = mmapio__monotonic_ms();
  uint64_t due = w->next_check_ms > now ? w->next_check_ms - now : 0;
  int r = poll(p, 2, (int)due);
  if (r < 0) {
    if (errno == EINTR) return MMAPIO_OK;
    return mmapio__fail_os(errno, "poll", w->path);
  }
  if (p[0].revents != 0) return MMAPIO_OK; /* woken: the caller is stopping */
  w->have_last = 0;
  if (r > 0) {
    ssize_t n = read(w->ifd, w->buf, sizeof w->buf);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return mmapio__fail_os(errno, "read(inotify)", w->path);
    for (ssize_t i = 0; i < n;) {
      const struct inotify_event *ev = (const struct inotify_event *)(const void *)(w->buf + i);
      mmapio__ino_event(w, ev, emit, ctx);
      i += (ssize_t)(sizeof *ev + ev->len);
    }
  }
  now = mmapio__monotonic_ms();
  if (now >= w->next_check_ms) {
    /* Catch stores through mappings (see the top). */
    w->next_check_ms = now + MMAPIO__INOTIFY_CHECK_MS;
    mmapio__ino_check_file(w, emit, ctx, 0, 0);
  }
  return MMAPIO_OK;
}

static void mmapio__ino_wake(mmapio__os_watch *base)
{
  mmapio__os_event_set(&((mmapio__inotify_watch *)base)->wake);
}

static void mmapio__ino_destroy(mmapio__os_watch *base)
{
  mmapio__inotify_watch *w = (mmapio__inotify_watch *)base;
  if (w->fd >= 0) (void)close(w->fd);
  if (w->ifd >= 0) (void)close(w->ifd); /* drops every inotify watch */
  if (w->wake.rd >= 0) mmapio__os_event_close(&w->wake);
  free(w->path);
  free(w->dir);
  free(w);
}

int mmapio__os_watch_open_inotify(mmapio__os_watch **out, const char *path)
{
  mmapio__inotify_watch *w = (mmapio__inotify_watch *)calloc(1, sizeof *w);
  if (w == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_watch_start(%s): out of memory", path);
  w->ifd = -1;
  w->dwd = -1;
  w->fwd = -1;
  w->fd = -1;
  w->wake.rd = -1;
  w->wake.wr = -1;
  int rc = mmapio__posix_split_path(path, &w->path, &w->dir, &w->name);
  if (rc != MMAPIO_OK) {
    mmapio__ino_destroy(&w->base);
    return rc;
  }
  rc = mmapio__os_event_open(&w->wake);
  if (rc != MMAPIO_OK) {
    mmapio__ino_destroy(&w->base);
    return rc;
  }
  w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w->ifd < 0) {
    int err = errno;
    mmapio__ino_destroy(&w->base);
    return mmapio__fail_os(err, "inotify_init1", path);
  }
  w->dwd = inotify_add_watch(w->ifd, w->dir, MMAPIO__INOTIFY_DIR_MASK);
  if (w->dwd < 0) {
    int err = errno;
    mmapio__ino_destroy(&w->base);
    return mmapio__fail_os(err, "inotify_add_watch", path);
  }
  int err = mmapio__ino_follow_path(w);
  if (err != 0 || !w->cur.exists) {
    if (err == 0) err = ENOENT;
    mmapio__ino_destroy(&w->base);
    return mmapio__fail_os(err, "inotify_add_watch", path);
  }
  w->base.backend = "inotify";
  w->base.wait = mmapio__ino_wait;
  w->base.wake = mmapio__ino_wake;
  w->base.destroy = mmapio__ino_destroy;
  *out = &w->base;
  return MMAPIO_OK;
}

#else

int mmapio__os_watch_open_inotify(mmapio__os_watch **out, const char *path)
{
  (void)out;
  return mmapio__fail(MMAPIO_ENOTSUP, "inotify(%s): not available in this build", mmapio__path_or(path));
}

#endif
