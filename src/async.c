/*
 * async.c -- background operations on a small lazy worker pool (include/mmapio.h section 13).
 *
 * Divisions: the task object; the pool (queue, workers, start and stop);
 * starting calls; waiting, events and results.
 *
 * The pool has at most MMAPIO__POOL_MAX threads. The first submitted task
 * starts one; a second starts only when every existing worker is busy.
 * Workers live while at least one submitted task has not been freed: when
 * the last one is freed, mmapio_task_free stops and joins them, so the
 * library never leaves a thread behind that the application cannot account
 * for (and thread sanitizers see every thread joined). A task that is
 * complete at the starting call (a zero-length write, a flush of a read-only
 * map) never touches the pool.
 *
 * One mutex guards the queue, the worker bookkeeping and every task's
 * `done`, `made` and event fields; one condition wakes workers, another
 * wakes waiters. Tasks are few and operations are slow (msync, file copies),
 * so a single lock costs nothing measurable.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#if MMAPIO_WITH_ASYNC

#define MMAPIO__POOL_MAX 2u

typedef enum mmapio__task_kind {
  MMAPIO__TASK_DONE = 0, /* completed by the starting call */
  MMAPIO__TASK_FLUSH,
  MMAPIO__TASK_FLUSH_RANGE,
  MMAPIO__TASK_WRITE,
  MMAPIO__TASK_CREATE,
  MMAPIO__TASK_COPY,
  MMAPIO__TASK_REMOVE
} mmapio__task_kind;

struct mmapio_task {
  struct mmapio_task *next; /* queue link (pool mutex) */
  mmapio__task_kind kind;
  int is_create;            /* take_map is allowed */
  mmapio_map *map;          /* retained for the task's life, or NULL */
  mmapio_map *made;         /* create: the new map until taken (pool mutex) */
  uint64_t off, len;
  void *buf;                /* write: private copy of the caller's bytes */
  char *path, *path2;       /* owned copies for the file operations */
  int queued;               /* counted in pool.live */
  int done;                 /* atomic; set under the pool mutex */
  int status;               /* the operation's status, valid once done */
  int taken;                /* take_map succeeded (pool mutex) */
  int has_event;            /* ev is open (pool mutex) */
  mmapio__os_event ev;
  mmapio__saved_error err;  /* the worker's detail message for a failure */
};

/* ---- The pool ----------------------------------------------------------- */

static struct mmapio__pool {
  mmapio__mutex mu;
  mmapio__fcond work_cv; /* workers: a task was queued, or stop */
  mmapio__fcond done_cv; /* waiters: a task completed, or a stop finished */
  mmapio_task *head, *tail;
  unsigned nthreads;     /* started and not yet joined */
  unsigned idle;         /* workers waiting on work_cv */
  unsigned stopping;     /* a free is joining the workers */
  uint64_t live;         /* queued tasks not yet freed */
  mmapio__thread threads[MMAPIO__POOL_MAX];
  mmapio_task *running[MMAPIO__POOL_MAX]; /* task each worker runs, or NULL */
} mmapio__pool;

static int mmapio__pool_state; /* 0: not set up, 1: being set up, 2: ready */

/* The platform layer has no static initialiser for mutexes, so the pool is
 * set up by whichever thread gets here first; the others wait for it. */
static void mmapio__pool_init(void)
{
  if (mmapio__ld_acquire(&mmapio__pool_state) == 2) return;
  /* A path task may be the process's first use of the library: the fork
   * handlers must exist before the pool has state for them to fix. */
  mmapio__fork_setup();
  int expected = 0;
  if (mmapio__cas(&mmapio__pool_state, &expected, 1)) {
    mmapio__mutex_init(&mmapio__pool.mu);
    mmapio__fcond_init(&mmapio__pool.work_cv);
    mmapio__fcond_init(&mmapio__pool.done_cv);
    mmapio__st_release(&mmapio__pool_state, 2);
    return;
  }
  while (mmapio__ld_acquire(&mmapio__pool_state) != 2) mmapio__sleep_ms(1);
}

/* Run one task on worker `id`. Everything it needs is private to the task
 * until `done` is published, so no lock is held. */
static void mmapio__task_run(mmapio_task *t, unsigned id)
{
  int rc = MMAPIO_OK;
  mmapio_map *made = NULL;
  switch (t->kind) {
    case MMAPIO__TASK_FLUSH:
      rc = mmapio_flush(t->map);
      break;
    case MMAPIO__TASK_FLUSH_RANGE:
      rc = mmapio_flush_range(t->map, t->off, t->len);
      break;
    case MMAPIO__TASK_WRITE:
      rc = mmapio_write(t->map, t->off, t->buf, (size_t)t->len);
      /* The promise is that a fresh read-only map sees the bytes and that
       * they are durable at the map's level: flush exactly what we wrote. */
      if (rc == MMAPIO_OK) rc = mmapio_flush_range(t->map, t->off, t->len);
      break;
    case MMAPIO__TASK_CREATE:
      rc = mmapio_create_rw(&made, t->path, t->len);
      break;
    case MMAPIO__TASK_COPY:
      rc = mmapio_copy_file(t->path, t->path2);
      break;
    case MMAPIO__TASK_REMOVE:
      rc = mmapio_remove_file(t->path);
      break;
    case MMAPIO__TASK_DONE:
      break;
  }
  if (rc != MMAPIO_OK) mmapio__error_save(&t->err);

  mmapio__mutex_lock(&mmapio__pool.mu);
  /* The copy is no longer needed; free it now rather than at task_free so a
   * large write does not keep its memory while the task sits unread. It
   * leaves the task under the mutex, so a child of fork() (whose handler
   * holds the mutex) sees it either still owned by the task or gone: never
   * a pointer already freed. */
  void *buf = t->buf;
  t->buf = NULL;
  t->made = made;
  t->status = rc;
  /* The worker forgets the task in the same step that publishes `done`:
   * once `done` is seen the owner may free it, and a fork() then must not
   * find it in `running` (the child's handler walks that list). */
  mmapio__pool.running[id] = NULL;
  mmapio__st_release(&t->done, 1);
  if (t->has_event) mmapio__os_event_set(&t->ev);
  mmapio__fcond_broadcast(&mmapio__pool.done_cv);
  mmapio__mutex_unlock(&mmapio__pool.mu);
  free(buf);
}

static void mmapio__worker(void *arg)
{
  unsigned id = (unsigned)(uintptr_t)arg;
  mmapio__mutex_lock(&mmapio__pool.mu);
  for (;;) {
    while (mmapio__pool.head == NULL && !mmapio__pool.stopping) {
      mmapio__pool.idle++;
      mmapio__fcond_wait(&mmapio__pool.work_cv, &mmapio__pool.mu);
      mmapio__pool.idle--;
    }
    mmapio_task *t = mmapio__pool.head;
    if (t == NULL) break; /* stopping, and nothing left to do */
    mmapio__pool.head = t->next;
    if (mmapio__pool.head == NULL) mmapio__pool.tail = NULL;
    t->next = NULL;
    mmapio__pool.running[id] = t;
    mmapio__mutex_unlock(&mmapio__pool.mu);
    mmapio__task_run(t, id); /* clears running[id] when it publishes the result */
    mmapio__mutex_lock(&mmapio__pool.mu);
  }
  mmapio__mutex_unlock(&mmapio__pool.mu);
}

/* Queue `t` and make sure a worker will run it. */
static int mmapio__submit(mmapio_task *t, const char *op)
{
  mmapio__pool_init();
  mmapio__mutex_lock(&mmapio__pool.mu);
  /* A free of the last task may be joining the workers right now; queueing
   * behind it could leave the task with no worker, so wait until it is done. */
  while (mmapio__pool.stopping) mmapio__fcond_wait(&mmapio__pool.done_cv, &mmapio__pool.mu);
  if (mmapio__pool.idle == 0 && mmapio__pool.nthreads < MMAPIO__POOL_MAX) {
    unsigned id = mmapio__pool.nthreads;
    int rc = mmapio__thread_start(&mmapio__pool.threads[id], mmapio__worker,
                                  (void *)(uintptr_t)id);
    if (rc == MMAPIO_OK) {
      mmapio__pool.nthreads++;
    } else if (mmapio__pool.nthreads == 0) {
      mmapio__mutex_unlock(&mmapio__pool.mu);
      /* The cause is in this thread's detail buffer, which mmapio__fail
       * writes: copy it out first. */
      mmapio__saved_error cause;
      mmapio__error_save(&cause);
      return mmapio__fail(rc, "%s: cannot start a worker thread: %s", op, cause.msg);
    }
    /* Otherwise a running worker will get to the task. */
  }
  t->queued = 1;
  mmapio__pool.live++;
  if (mmapio__pool.tail != NULL) mmapio__pool.tail->next = t;
  else mmapio__pool.head = t;
  mmapio__pool.tail = t;
  mmapio__fcond_signal(&mmapio__pool.work_cv);
  mmapio__mutex_unlock(&mmapio__pool.mu);
  return MMAPIO_OK;
}

/* Called by task_free for a queued task: when it was the last one, stop and
 * join the workers. */
static void mmapio__pool_release(void)
{
  mmapio__thread joined[MMAPIO__POOL_MAX];
  unsigned n = 0;
  mmapio__mutex_lock(&mmapio__pool.mu);
  mmapio__pool.live--;
  if (mmapio__pool.live == 0 && mmapio__pool.nthreads > 0) {
    mmapio__pool.stopping = 1;
    n = mmapio__pool.nthreads;
    memcpy(joined, mmapio__pool.threads, n * sizeof joined[0]);
    mmapio__fcond_broadcast(&mmapio__pool.work_cv);
  }
  mmapio__mutex_unlock(&mmapio__pool.mu);
  if (n == 0) return;
  /* live == 0 means the queue is empty, so the workers exit at once. */
  for (unsigned i = 0; i < n; i++) mmapio__thread_join(&joined[i]);
  mmapio__mutex_lock(&mmapio__pool.mu);
  mmapio__pool.nthreads = 0;
  mmapio__pool.stopping = 0;
  mmapio__fcond_broadcast(&mmapio__pool.done_cv);
  mmapio__mutex_unlock(&mmapio__pool.mu);
}

void mmapio__async_fork(int phase)
{
  if (phase == MMAPIO__FORK_CHILD) mmapio__setup_after_fork(&mmapio__pool_state);
  if (mmapio__ld_acquire(&mmapio__pool_state) != 2) return;
  if (phase == MMAPIO__FORK_PREPARE) {
    mmapio__mutex_lock(&mmapio__pool.mu);
    return;
  }
  if (phase == MMAPIO__FORK_PARENT) {
    mmapio__mutex_unlock(&mmapio__pool.mu);
    return;
  }
  /* The child has no workers, and no thread waiting for a task or a stop.
   * Tasks that were queued or running belong to the parent (which
   * completes them): here they fail at once, so that nothing runs twice and
   * nobody waits for a worker that does not exist. Tasks stay counted in
   * `live` (the child frees its copies; the first new task starts a
   * worker). A free that was stopping the workers ran on another thread:
   * `stopping` goes too. */
  mmapio_task *t = mmapio__pool.head;
  mmapio__pool.head = mmapio__pool.tail = NULL;
  for (unsigned i = 0; i <= MMAPIO__POOL_MAX; i++) {
    mmapio_task *list = i < MMAPIO__POOL_MAX ? mmapio__pool.running[i] : t;
    if (i < MMAPIO__POOL_MAX) {
      mmapio__pool.running[i] = NULL;
      if (list != NULL) list->next = NULL;
    }
    while (list != NULL) {
      mmapio_task *next = list->next;
      list->next = NULL;
      /* Tasks found here have not completed: a worker drops its task from
       * `running` in the step that publishes `done`, and queued tasks have
       * not started. Should one have a result, it keeps it. */
      if (list->done) {
        list = next;
        continue;
      }
      list->status = MMAPIO_EIO;
      mmapio__saved_error e;
      mmapio__error_save(&e);
      (void)mmapio__fail(MMAPIO_EIO, "task started in the parent process before fork(); "
                                     "it does not run in the child");
      mmapio__error_save(&list->err);
      mmapio__error_restore(&e);
      mmapio__st_release(&list->done, 1);
      if (list->has_event) mmapio__os_event_set(&list->ev);
      list = next;
    }
  }
  mmapio__pool.nthreads = 0;
  mmapio__pool.idle = 0;
  mmapio__pool.stopping = 0;
  mmapio__fcond_after_fork(&mmapio__pool.work_cv);
  mmapio__fcond_after_fork(&mmapio__pool.done_cv);
  /* This thread took it in the prepare handler. */
  mmapio__mutex_unlock(&mmapio__pool.mu);
}

/* ---- Starting calls ----------------------------------------------------- */

static mmapio_task *mmapio__task_new(mmapio__task_kind kind, const char *op, int *rc)
{
  mmapio_task *t = (mmapio_task *)calloc(1, sizeof *t);
  if (t == NULL) {
    *rc = mmapio__fail(MMAPIO_ENOMEM, "%s: out of memory", op);
    return NULL;
  }
  t->kind = kind;
  t->ev.rd = MMAPIO_INVALID_FILE;
  t->ev.wr = MMAPIO_INVALID_FILE;
  if (kind == MMAPIO__TASK_DONE) t->done = 1;
  *rc = MMAPIO_OK;
  return t;
}

static char *mmapio__strdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = (char *)malloc(n);
  if (p != NULL) memcpy(p, s, n);
  return p;
}

static void mmapio__task_destroy(mmapio_task *t)
{
  if (t->made != NULL) (void)mmapio_close(t->made);
  if (t->map != NULL) mmapio__map_release_ref(t->map);
  if (t->has_event) mmapio__os_event_close(&t->ev);
  free(t->buf);
  free(t->path);
  free(t->path2);
  free(t);
}

/* Hand `t` to the caller: completed tasks directly, others via the pool. */
static int mmapio__task_start(mmapio_task **out, mmapio_task *t, const char *op)
{
  if (t->kind != MMAPIO__TASK_DONE) {
    int rc = mmapio__submit(t, op);
    if (rc != MMAPIO_OK) {
      mmapio__task_destroy(t);
      return rc;
    }
  }
  *out = t;
  return MMAPIO_OK;
}

/* A task on `m` that retains it. */
static int mmapio__map_task(mmapio_task **out, mmapio_map *m, mmapio__task_kind kind,
                            uint64_t off, uint64_t len, const char *op)
{
  int rc;
  mmapio_task *t = mmapio__task_new(kind, op, &rc);
  if (t == NULL) return rc;
  t->off = off;
  t->len = len;
  if (kind != MMAPIO__TASK_DONE) {
    (void)mmapio_retain(m);
    t->map = m;
  }
  return mmapio__task_start(out, t, op);
}

/* Flushing a read-only or copy-on-write map does nothing (include/mmapio.h section 6), so
 * such tasks complete in the starting call. */
static int mmapio__flush_is_noop(const mmapio_map *m)
{
  return m->mode != MMAPIO_MODE_READ_WRITE || m->is_anon;
}

int mmapio_flush_async(mmapio_task **out, mmapio_map *m)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_flush_async: out is NULL");
  *out = NULL;
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_flush_async: map is NULL");
  return mmapio__map_task(out, m, mmapio__flush_is_noop(m) ? MMAPIO__TASK_DONE : MMAPIO__TASK_FLUSH,
                          0, 0, "mmapio_flush_async");
}

int mmapio_flush_range_async(mmapio_task **out, mmapio_map *m, uint64_t off, uint64_t len)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_flush_range_async: out is NULL");
  *out = NULL;
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_flush_range_async: map is NULL");
  if (len == 0) return mmapio__map_task(out, m, MMAPIO__TASK_DONE, 0, 0, "mmapio_flush_range_async");
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) return mmapio__fail_bounds(off, len, total);
  return mmapio__map_task(out, m,
                          mmapio__flush_is_noop(m) ? MMAPIO__TASK_DONE : MMAPIO__TASK_FLUSH_RANGE,
                          off, len, "mmapio_flush_range_async");
}

int mmapio_write_async(mmapio_task **out, mmapio_map *m, uint64_t off, const void *src, size_t len)
{
  static const char op[] = "mmapio_write_async";
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "%s: out is NULL", op);
  *out = NULL;
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "%s: map is NULL", op);
  if (src == NULL && len > 0) return mmapio__fail(MMAPIO_EINVAL, "%s: src is NULL", op);
  if (len == 0) return mmapio__map_task(out, m, MMAPIO__TASK_DONE, 0, 0, op);
  if (m->mode == MMAPIO_MODE_READ_ONLY)
    return mmapio__fail(MMAPIO_EMODE, "%s(%s): map is read-only", op, mmapio__path_or(m->path));
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, (uint64_t)len, total))
    return mmapio__fail_bounds(off, (uint64_t)len, total);
  int rc;
  mmapio_task *t = mmapio__task_new(MMAPIO__TASK_WRITE, op, &rc);
  if (t == NULL) return rc;
  t->buf = malloc(len);
  if (t->buf == NULL) {
    free(t);
    return mmapio__fail(MMAPIO_ENOMEM, "%s: cannot copy %llu bytes: out of memory", op,
                        (unsigned long long)len);
  }
  memcpy(t->buf, src, len);
  t->off = off;
  t->len = (uint64_t)len;
  (void)mmapio_retain(m);
  t->map = m;
  return mmapio__task_start(out, t, op);
}

/* Tasks on paths: copy the strings so the caller's buffers may go away. */
static int mmapio__path_task(mmapio_task **out, mmapio__task_kind kind, const char *p1,
                             const char *p2, uint64_t size, const char *op)
{
  int rc;
  mmapio_task *t = mmapio__task_new(kind, op, &rc);
  if (t == NULL) return rc;
  t->is_create = kind == MMAPIO__TASK_CREATE;
  t->len = size;
  t->path = mmapio__strdup(p1);
  t->path2 = p2 != NULL ? mmapio__strdup(p2) : NULL;
  if (t->path == NULL || (p2 != NULL && t->path2 == NULL)) {
    mmapio__task_destroy(t);
    return mmapio__fail(MMAPIO_ENOMEM, "%s: out of memory", op);
  }
  return mmapio__task_start(out, t, op);
}

int mmapio_create_async(mmapio_task **out, const char *path, uint64_t size)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_create_async: out is NULL");
  *out = NULL;
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_create_async: path is NULL");
  if (size == 0) return mmapio__fail(MMAPIO_ESIZE, "Size must be greater than zero");
  if (size > MMAPIO_MAX_SIZE)
    return mmapio__fail(MMAPIO_ESIZE, "Size %llu exceeds maximum safe limit of %llu bytes",
                        (unsigned long long)size, (unsigned long long)MMAPIO_MAX_SIZE);
  return mmapio__path_task(out, MMAPIO__TASK_CREATE, path, NULL, size, "mmapio_create_async");
}

int mmapio_copy_file_async(mmapio_task **out, const char *src, const char *dst)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_copy_file_async: out is NULL");
  *out = NULL;
  if (src == NULL || dst == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_copy_file_async: %s is NULL",
                        src == NULL ? "src" : "dst");
  return mmapio__path_task(out, MMAPIO__TASK_COPY, src, dst, 0, "mmapio_copy_file_async");
}

int mmapio_remove_file_async(mmapio_task **out, const char *path)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_remove_file_async: out is NULL");
  *out = NULL;
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_remove_file_async: path is NULL");
  return mmapio__path_task(out, MMAPIO__TASK_REMOVE, path, NULL, 0, "mmapio_remove_file_async");
}

/* ---- Waiting, events and results ------------------------------------------ */

/* The status of a completed task; a failure also becomes this thread's
 * detail message (the worker's text and OS code). */
static int mmapio__task_result(const mmapio_task *t)
{
  if (t->status != MMAPIO_OK) mmapio__error_restore(&t->err);
  return t->status;
}

int mmapio_task_poll(mmapio_task *t)
{
  if (t == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_task_poll: task is NULL");
  if (!mmapio__ld_acquire(&t->done))
    return mmapio__fail(MMAPIO_EAGAIN, "mmapio_task_poll: task still running");
  return mmapio__task_result(t);
}

int mmapio_task_wait(mmapio_task *t, int64_t timeout_ms)
{
  if (t == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_task_wait: task is NULL");
  if (timeout_ms < -1)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_task_wait: timeout %lld ms is negative (-1 waits forever)",
                        (long long)timeout_ms);
  if (mmapio__ld_acquire(&t->done)) return mmapio__task_result(t);
  /* A write waits for the views of every other thread: if the waiting
   * thread holds one of its map, waiting forever would never end. (A
   * bounded wait just times out: the holder may release and wait again.) */
  if (timeout_ms < 0 && t->kind == MMAPIO__TASK_WRITE && t->map != NULL &&
      mmapio__self_holds(t->map))
    return mmapio__fail(MMAPIO_EDEADLK,
                        "mmapio_task_wait(%s): would deadlock: the write task waits for a view, "
                        "write view or iterator the calling thread holds",
                        mmapio__path_or(t->map->path));
  /* Not done, so the task is queued and the pool is set up. */
  uint64_t start = mmapio__monotonic_ms();
  int timed_out = 0;
  mmapio__mutex_lock(&mmapio__pool.mu);
  while (!t->done) {
    if (timeout_ms < 0) {
      mmapio__fcond_wait(&mmapio__pool.done_cv, &mmapio__pool.mu);
      continue;
    }
    uint64_t waited = mmapio__monotonic_ms() - start;
    if (waited >= (uint64_t)timeout_ms) {
      timed_out = 1;
      break;
    }
    (void)mmapio__fcond_timedwait(&mmapio__pool.done_cv, &mmapio__pool.mu,
                                 (uint64_t)timeout_ms - waited);
  }
  mmapio__mutex_unlock(&mmapio__pool.mu);
  if (timed_out)
    return mmapio__fail(MMAPIO_ETIMEDOUT, "mmapio_task_wait: task not finished after %lld ms",
                        (long long)timeout_ms);
  return mmapio__task_result(t);
}

mmapio_native_file mmapio_task_event(mmapio_task *t)
{
  if (t == NULL) return MMAPIO_INVALID_FILE;
  /* The event is made on first request: most callers wait or poll and
   * never need a descriptor. It is set at once if the task already ended. */
  mmapio__pool_init();
  mmapio__mutex_lock(&mmapio__pool.mu);
  if (!t->has_event && mmapio__os_event_open(&t->ev) == MMAPIO_OK) {
    t->has_event = 1;
    if (t->done) mmapio__os_event_set(&t->ev);
  }
  mmapio_native_file f = t->has_event ? t->ev.rd : MMAPIO_INVALID_FILE;
  mmapio__mutex_unlock(&mmapio__pool.mu);
  return f;
}

int mmapio_task_take_map(mmapio_map **out, mmapio_task *t)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_task_take_map: out is NULL");
  *out = NULL;
  if (t == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_task_take_map: task is NULL");
  if (!t->is_create)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_task_take_map: not a mmapio_create_async task");
  if (!mmapio__ld_acquire(&t->done))
    return mmapio__fail(MMAPIO_EAGAIN, "mmapio_task_take_map: task still running");
  if (t->status != MMAPIO_OK) return mmapio__task_result(t);
  mmapio__pool_init();
  mmapio__mutex_lock(&mmapio__pool.mu);
  mmapio_map *m = t->taken ? NULL : t->made;
  t->made = NULL;
  t->taken = 1;
  mmapio__mutex_unlock(&mmapio__pool.mu);
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_task_take_map: map already taken");
  *out = m;
  return MMAPIO_OK;
}

void mmapio_task_free(mmapio_task *t)
{
  if (t == NULL) return;
  if (t->queued) {
    mmapio__mutex_lock(&mmapio__pool.mu);
    while (!t->done) mmapio__fcond_wait(&mmapio__pool.done_cv, &mmapio__pool.mu);
    mmapio__mutex_unlock(&mmapio__pool.mu);
  }
  int queued = t->queued;
  mmapio__task_destroy(t);
  if (queued) mmapio__pool_release();
}

#else /* !MMAPIO_WITH_ASYNC */

void mmapio__async_fork(int phase) { (void)phase; }

/* The feature is compiled out: every call fails with ENOTSUP and clears the
 * out-parameter, as the conventions at the top of include/mmapio.h require. */
#define MMAPIO__ASYNC_OFF(out, op)                                               \
  do {                                                                           \
    if ((out) != NULL) *(out) = NULL;                                            \
    return mmapio__fail(MMAPIO_ENOTSUP, "%s: the ASYNC feature is not compiled in", op); \
  } while (0)

int mmapio_flush_async(mmapio_task **out, mmapio_map *m)
{
  (void)m;
  MMAPIO__ASYNC_OFF(out, "mmapio_flush_async");
}
int mmapio_flush_range_async(mmapio_task **out, mmapio_map *m, uint64_t off, uint64_t len)
{
  (void)m; (void)off; (void)len;
  MMAPIO__ASYNC_OFF(out, "mmapio_flush_range_async");
}
int mmapio_write_async(mmapio_task **out, mmapio_map *m, uint64_t off, const void *src, size_t len)
{
  (void)m; (void)off; (void)src; (void)len;
  MMAPIO__ASYNC_OFF(out, "mmapio_write_async");
}
int mmapio_create_async(mmapio_task **out, const char *path, uint64_t size)
{
  (void)path; (void)size;
  MMAPIO__ASYNC_OFF(out, "mmapio_create_async");
}
int mmapio_copy_file_async(mmapio_task **out, const char *src, const char *dst)
{
  (void)src; (void)dst;
  MMAPIO__ASYNC_OFF(out, "mmapio_copy_file_async");
}
int mmapio_remove_file_async(mmapio_task **out, const char *path)
{
  (void)path;
  MMAPIO__ASYNC_OFF(out, "mmapio_remove_file_async");
}
int mmapio_task_poll(mmapio_task *t)
{
  (void)t;
  return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_task_poll: the ASYNC feature is not compiled in");
}
int mmapio_task_wait(mmapio_task *t, int64_t timeout_ms)
{
  (void)t; (void)timeout_ms;
  return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_task_wait: the ASYNC feature is not compiled in");
}
mmapio_native_file mmapio_task_event(mmapio_task *t)
{
  (void)t;
  return MMAPIO_INVALID_FILE;
}
int mmapio_task_take_map(mmapio_map **out, mmapio_task *t)
{
  (void)t;
  MMAPIO__ASYNC_OFF(out, "mmapio_task_take_map");
}
void mmapio_task_free(mmapio_task *t) { (void)t; }

#endif /* MMAPIO_WITH_ASYNC */
