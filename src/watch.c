/*
 * watch.c -- file watching (include/mmapio.h section 12, feature WATCH): the portable part.
 *
 * Each watch owns one thread that loops on its backend's wait(), which
 * blocks in the OS (inotify, kqueue, ReadDirectoryChangesW, or a short poll
 * interval) and calls back for each change. Stopping sets a flag, wakes the
 * backend through its wake-up descriptor/event (no waiting for a timeout)
 * and joins the thread, so after mmapio_watch_stop returns the callback can
 * never run again. The watch holds a map reference for its whole life.
 *
 * The backends report what the OS tells them in the terms of
 * mmapio_change_kind; mmapio__watch_diff is the one place that turns two
 * observations of a file into a change, so every backend classifies size,
 * time and attribute changes the same way.
 */
#include "internal.h"

#include <stdlib.h>

#if MMAPIO_WITH_WATCH

struct mmapio_watch {
  mmapio_map *map;          /* retained */
  mmapio_watch_fn fn;
  void *payload;
  mmapio__os_watch *os;
  mmapio__thread thread;
  int stop;                 /* atomic: stop was requested */
  int running;              /* atomic: the thread is still in its loop */
  unsigned fork_gen;        /* mmapio__fork_gen at start: the thread exists
                               only in the process that started it */
};

int mmapio__watch_diff(mmapio_change *out, const mmapio__file_state *before,
                       const mmapio__file_state *after)
{
  if (!before->exists || !after->exists) return 0;
  out->offset = 0;
  out->len = 0;
  if (after->size != before->size) {
    /* Truncation or extension: the bytes that appeared or disappeared. The
     * content below the old end may have changed too (a write that also
     * extended the file); that is not described by the range. */
    uint64_t lo = after->size < before->size ? after->size : before->size;
    uint64_t hi = after->size < before->size ? before->size : after->size;
    out->kind = MMAPIO_CHANGE_MODIFIED;
    out->offset = lo;
    out->len = hi - lo;
    return 1;
  }
  if (after->mtime_ns != before->mtime_ns) {
    out->kind = MMAPIO_CHANGE_MODIFIED;
    return 1;
  }
  /* The last link going away is a removal, which the backends report from
   * the directory side; it is not a metadata change of its own. */
  if (after->nlink == 0 && before->nlink != 0) return 0;
  if (after->mode != before->mode || after->uid != before->uid || after->gid != before->gid ||
      after->nlink != before->nlink || after->ctime_ns != before->ctime_ns) {
    out->kind = MMAPIO_CHANGE_METADATA;
    return 1;
  }
  return 0;
}

static void mmapio__watch_emit_fn(void *ctx, const mmapio_change *c)
{
  mmapio_watch *w = (mmapio_watch *)ctx;
  /* Changes found in the same batch as a stop request are dropped: the
   * caller has said it no longer wants them. */
  if (mmapio__ld_acquire(&w->stop)) return;
  w->fn(c, w->payload);
}

static void mmapio__watch_thread(void *arg)
{
  mmapio_watch *w = (mmapio_watch *)arg;
  while (!mmapio__ld_acquire(&w->stop)) {
    /* A backend failure ends the watch; mmapio_watch_active turns 0. */
    if (w->os->wait(w->os, mmapio__watch_emit_fn, w) != MMAPIO_OK) break;
  }
  mmapio__st_release(&w->running, 0);
}

int mmapio__watch_start_backend(mmapio_watch **out, mmapio_map *m, mmapio_watch_fn fn,
                                void *payload, int backend)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_watch_start: out is NULL");
  *out = NULL;
  if (m == NULL || fn == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_watch_start: %s is NULL", m == NULL ? "map" : "fn");
  if (m->is_anon || m->path == NULL)
    return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_watch_start: the map has no file path to watch");
  mmapio_watch *w = (mmapio_watch *)calloc(1, sizeof *w);
  if (w == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_watch_start(%s): out of memory", m->path);
  int rc = mmapio__os_watch_open(&w->os, m->path, backend);
  if (rc != MMAPIO_OK) {
    free(w);
    return rc;
  }
  (void)mmapio_retain(m);
  w->map = m;
  w->fn = fn;
  w->payload = payload;
  w->running = 1;
  w->fork_gen = mmapio__fork_gen;
  rc = mmapio__thread_start(&w->thread, mmapio__watch_thread, w);
  if (rc != MMAPIO_OK) {
    w->os->destroy(w->os);
    mmapio__map_release_ref(m);
    free(w);
    return rc;
  }
  *out = w;
  return MMAPIO_OK;
}

int mmapio_watch_start(mmapio_watch **out, mmapio_map *m, mmapio_watch_fn fn, void *payload)
{
  return mmapio__watch_start_backend(out, m, fn, payload, MMAPIO__WATCH_AUTO);
}

const char *mmapio__watch_backend(const mmapio_watch *w)
{
  return w != NULL ? w->os->backend : "";
}

int mmapio_watch_active(const mmapio_watch *w)
{
  if (w == NULL) return 0;
  if (w->fork_gen != mmapio__fork_gen) return 0; /* inherited through fork() */
  return mmapio__ld_acquire(&w->running) && !mmapio__ld_acquire(&w->stop);
}

void mmapio_watch_stop(mmapio_watch *w)
{
  if (w == NULL) return;
  mmapio__st_release(&w->stop, 1);
  /* In a child of fork() the watch thread does not exist: nothing to wake
   * or join, only this process's copies of the descriptors to close. */
  if (w->fork_gen == mmapio__fork_gen) {
    w->os->wake(w->os);
    mmapio__thread_join(&w->thread);
  }
  w->os->destroy(w->os);
  mmapio__map_release_ref(w->map);
  free(w);
}

#else /* !MMAPIO_WITH_WATCH */

int mmapio__watch_diff(mmapio_change *out, const mmapio__file_state *before,
                       const mmapio__file_state *after)
{
  (void)out; (void)before; (void)after;
  return 0;
}

int mmapio__watch_start_backend(mmapio_watch **out, mmapio_map *m, mmapio_watch_fn fn,
                                void *payload, int backend)
{
  (void)m; (void)fn; (void)payload; (void)backend;
  if (out != NULL) *out = NULL;
  return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_watch_start: the WATCH feature is not compiled in");
}

int mmapio_watch_start(mmapio_watch **out, mmapio_map *m, mmapio_watch_fn fn, void *payload)
{
  return mmapio__watch_start_backend(out, m, fn, payload, MMAPIO__WATCH_AUTO);
}

const char *mmapio__watch_backend(const mmapio_watch *w)
{
  (void)w;
  return "";
}

int mmapio_watch_active(const mmapio_watch *w)
{
  (void)w;
  return 0;
}

void mmapio_watch_stop(mmapio_watch *w) { (void)w; }

#endif /* MMAPIO_WITH_WATCH */
