/*
 * fork() while the library's own threads exist (include/mmapio.h, "Threads,
 * fork, signals"; the handlers are in src/lifetime.c): the background
 * flusher, the async workers and threads sleeping in an address wait (in
 * portable builds the striped table of src/posix/posix_sync.c). None of
 * them exists in the child, whose handlers must leave every lock the
 * prepare handler took released and every condition variable usable.
 *
 * First, a process that has used only a path task (no map yet) forks while
 * its async worker waits for work. Then two states at fork time:
 *  - busy, held by real synchronisation: the test routes msync through a
 *    wrapper (the backend's call table) that blocks the calling library
 *    thread on a pipe until the parent opens it. At the fork the flusher is
 *    inside a flush of an EVERY_MILLIS map, both async workers are inside
 *    flush tasks, a third task is queued behind them, and a thread of the
 *    test is inside mmapio_write, waiting for a view the forking thread
 *    holds;
 *  - idle, repeated: the flusher waits for its next deadline and the
 *    workers wait for work (a completed task is kept, so they stay).
 * Every child, where those threads are gone: finds the inherited tasks
 * complete (EIO when they had not finished in the parent) and frees them;
 * opens a new EVERY_MILLIS map whose writes its own restarted flusher
 * flushes; runs async tasks to completion on new workers; writes the
 * inherited maps and closes them; exits 0. The parent checks every child's
 * status while its own threads are still held, then lets them go and checks
 * that its flush, tasks and writer complete and its flusher and workers
 * keep working.
 *
 * Waits on the pipes and on the flusher are bounded by POLL_DEADLINE_MS and
 * every child arms alarm(): both only turn a hang into a failure.
 */
#include "test.h"

#ifdef _WIN32
int main(void)
{
  printf("SKIP: Windows has no fork()\n");
  return TEST_SKIP_CODE;
}
#else

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#define LEN 65536u
#define IDLE_FORKS 8
#define CHILD_ALARM_S 120u

static pid_t parent_pid;
static int (*real_msync)(void *addr, size_t len, int flags);
static int have_async;

/* ---- Holding a library thread inside msync ------------------------------- */

/* One armed gate blocks the first msync of its address range in the parent
 * process: the thread writes a byte to `entered`, then reads one from
 * `release`. Children never block (getpid() differs). */
typedef struct gate {
  uintptr_t lo, hi; /* atomic; set before `armed` is published */
  int armed;        /* atomic */
  int entered[2];
  int release[2];
} gate;

enum { GATE_FLUSHER, GATE_WORKER1, GATE_WORKER2, NGATES };
static gate gates[NGATES];

static int gated_msync(void *addr, size_t len, int flags)
{
  uintptr_t a = (uintptr_t)addr;
  if (getpid() == parent_pid) {
    for (int i = 0; i < NGATES; i++) {
      gate *g = &gates[i];
      if (!__atomic_load_n(&g->armed, __ATOMIC_ACQUIRE)) continue;
      if (a < __atomic_load_n(&g->lo, __ATOMIC_RELAXED) ||
          a >= __atomic_load_n(&g->hi, __ATOMIC_RELAXED))
        continue;
      if (!__atomic_exchange_n(&g->armed, 0, __ATOMIC_ACQ_REL)) continue;
      char c = 'e';
      while (write(g->entered[1], &c, 1) < 0 && errno == EINTR) {
      }
      while (read(g->release[0], &c, 1) < 0 && errno == EINTR) {
      }
    }
  }
  return real_msync(addr, len, flags);
}

static void gate_arm(gate *g, mmapio_map *m)
{
  uintptr_t lo = (uintptr_t)mmapio_unsafe_ptr(m);
  __atomic_store_n(&g->lo, lo, __ATOMIC_RELAXED);
  __atomic_store_n(&g->hi, lo + (uintptr_t)mmapio_len(m), __ATOMIC_RELAXED);
  __atomic_store_n(&g->armed, 1, __ATOMIC_RELEASE);
}

/* Until the gated thread is inside msync (bounded: a hang guard only). */
static void gate_wait_entered(gate *g, const char *who)
{
  struct pollfd p = {g->entered[0], POLLIN, 0};
  int rc;
  while ((rc = poll(&p, 1, (int)POLL_DEADLINE_MS)) < 0 && errno == EINTR) {
  }
  if (rc != 1) TEST_FAIL_("%s did not reach msync within %u ms", who, POLL_DEADLINE_MS);
  char c;
  ASSERT_EQ(read(g->entered[0], &c, 1), 1);
}

static void gate_open(gate *g)
{
  char c = 'r';
  ASSERT_EQ(write(g->release[1], &c, 1), 1);
}

/* ---- Helpers ------------------------------------------------------------- */

/* The background flusher flushed everything written to `m` (1), or the
 * deadline passed (0). */
static int flushed_by_flusher(mmapio_map *m)
{
  uint64_t t0 = now_ms();
  while (mmapio_pending_bytes(m) != 0) {
    if (now_ms() - t0 > POLL_DEADLINE_MS) return 0;
    sleep_ms(1);
  }
  return 1;
}

static pid_t fork_flushed(void)
{
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) alarm(CHILD_ALARM_S);
  return pid;
}

/* What every child does with the library after the fork: a new
 * EVERY_MILLIS map flushed by the child's own flusher, then flushed and
 * closed by hand; async tasks on new workers, two at once so that both
 * workers start. */
static void child_uses_library(const char *path)
{
  mmapio_map *n;
  CHILD_CHECK(open_policy(&n, path, MMAPIO_FLUSH_EVERY_MILLIS, 1) == MMAPIO_OK);
  CHILD_CHECK(mmapio_write(n, 0, "child-new", 9) == MMAPIO_OK);
  CHILD_CHECK(flushed_by_flusher(n));
  CHILD_CHECK(mmapio_write(n, 4096, "again", 5) == MMAPIO_OK);
  CHILD_CHECK(mmapio_flush(n) == MMAPIO_OK);
  if (have_async) {
    mmapio_task *w, *f;
    CHILD_CHECK(mmapio_write_async(&w, n, 8192, "async", 5) == MMAPIO_OK);
    CHILD_CHECK(mmapio_flush_async(&f, n) == MMAPIO_OK);
    CHILD_CHECK(mmapio_task_wait(w, POLL_DEADLINE_MS) == MMAPIO_OK);
    CHILD_CHECK(mmapio_task_wait(f, POLL_DEADLINE_MS) == MMAPIO_OK);
    mmapio_task_free(w);
    mmapio_task_free(f);
    uint8_t b[5];
    CHILD_CHECK(mmapio_read(n, 8192, b, 5) == MMAPIO_OK && memcmp(b, "async", 5) == 0);
  }
  CHILD_CHECK(mmapio_close(n) == MMAPIO_OK);
}

/* An inherited EVERY_MILLIS map: the child's flusher (started again by this
 * write) flushes it, the child resizes it moving (which takes the map's
 * `stable` lock exclusively: in the busy state the parent's flusher held it
 * shared at the fork, and a child that still counted that hold would hang
 * here until the alarm), then the child closes it. */
static void child_every_millis_inherited(mmapio_map *f)
{
  CHILD_CHECK(mmapio_write(f, 100, "child", 5) == MMAPIO_OK);
  CHILD_CHECK(flushed_by_flusher(f));
  mmapio_map_stats before = MMAPIO_MAP_STATS_INIT, after = MMAPIO_MAP_STATS_INIT;
  CHILD_CHECK(mmapio_stats(&before, f) == MMAPIO_OK);
  CHILD_CHECK(mmapio_resize(f, 2u * LEN) == MMAPIO_OK);
  CHILD_CHECK(mmapio_stats(&after, f) == MMAPIO_OK);
  CHILD_CHECK(after.resizes_moving == before.resizes_moving + 1u);
  CHILD_CHECK(mmapio_len(f) == 2u * LEN);
  CHILD_CHECK(mmapio_close(f) == MMAPIO_OK);
}

/* ---- The writer that waits for the forking thread's view ------------------ */

typedef struct writer {
  mmapio_map *m;
} writer;

static void *write_waiting(void *arg)
{
  writer *w = (writer *)arg;
  THREAD_CHECK(mmapio_write(w->m, 0, "writer", 6) == MMAPIO_OK);
  return NULL;
}

/* ---- The test ------------------------------------------------------------ */

static char *path_f, *path_a, *path_b, *path_c, *path_n;
static mmapio_map *mf, *ma, *mb, *mc;

static void fork_busy(void)
{
  mmapio_task *t1 = NULL, *t2 = NULL, *t3 = NULL;

  /* The flusher, inside a flush of mf. */
  gate_arm(&gates[GATE_FLUSHER], mf);
  ASSERT_OK(mmapio_write(mf, 0, "busy", 4));
  gate_wait_entered(&gates[GATE_FLUSHER], "the flusher");

  if (have_async) {
    /* Worker 1 inside a flush of ma; worker 2 (started because worker 1 is
     * busy) inside a flush of mb; t3 queued: both workers are busy and the
     * pool has no third. */
    gate_arm(&gates[GATE_WORKER1], ma);
    ASSERT_OK(mmapio_flush_async(&t1, ma));
    gate_wait_entered(&gates[GATE_WORKER1], "async worker 1");
    gate_arm(&gates[GATE_WORKER2], mb);
    ASSERT_OK(mmapio_flush_async(&t2, mb));
    gate_wait_entered(&gates[GATE_WORKER2], "async worker 2");
    ASSERT_OK(mmapio_write_async(&t3, ma, 512, "queued", 6));
    ASSERT_STATUS(mmapio_task_poll(t1), MMAPIO_EAGAIN);
    ASSERT_STATUS(mmapio_task_poll(t2), MMAPIO_EAGAIN);
    ASSERT_STATUS(mmapio_task_poll(t3), MMAPIO_EAGAIN);
  }

  /* A writer of mc waiting for this thread's view: it holds mc's writer
   * lock and sleeps until the view's count drains. */
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, mc, 0, 16));
  writer wr = {mc};
  test_thread wt;
  thread_start(&wt, write_waiting, &wr);
  {
    uint64_t t0 = now_ms();
    while (__atomic_load_n(&mc->wstate, __ATOMIC_ACQUIRE) == 0u) {
      if (now_ms() - t0 > POLL_DEADLINE_MS) TEST_FAIL_("the writer never took the writer lock");
      sleep_ms(1);
    }
  }

  pid_t pid = fork_flushed();
  if (pid == 0) {
    if (have_async) {
      mmapio_task *ts[3] = {t1, t2, t3};
      for (int i = 0; i < 3; i++) {
        CHILD_CHECK(mmapio_task_poll(ts[i]) == MMAPIO_EIO);
        CHILD_CHECK(strstr(mmapio_last_error(), "before fork()") != NULL);
        CHILD_CHECK(mmapio_task_wait(ts[i], -1) == MMAPIO_EIO);
        mmapio_task_free(ts[i]);
      }
    }
    /* The waiting writer does not exist here: its writer lock is gone, and
     * this thread's view still counts for itself. */
    CHILD_CHECK(mmapio_write(mc, 0, "x", 1) == MMAPIO_EDEADLK);
    mmapio_view_release(&v);
    CHILD_CHECK(mmapio_write(mc, 0, "child", 5) == MMAPIO_OK);
    child_uses_library(path_n);
    child_every_millis_inherited(mf);
    CHILD_CHECK(mmapio_close(ma) == MMAPIO_OK);
    CHILD_CHECK(mmapio_close(mb) == MMAPIO_OK);
    CHILD_CHECK(mmapio_close(mc) == MMAPIO_OK);
    _exit(0);
  }
  /* The child finished while this process's threads are still held. */
  ASSERT_EQ(test_wait_child(pid), 0);

  gate_open(&gates[GATE_FLUSHER]);
  if (have_async) {
    gate_open(&gates[GATE_WORKER1]);
    gate_open(&gates[GATE_WORKER2]);
  }
  mmapio_view_release(&v);
  ASSERT(thread_join(&wt) == NULL);
  ASSERT(flushed_by_flusher(mf));
  if (have_async) {
    ASSERT_OK(mmapio_task_wait(t1, POLL_DEADLINE_MS));
    ASSERT_OK(mmapio_task_wait(t2, POLL_DEADLINE_MS));
    ASSERT_OK(mmapio_task_wait(t3, POLL_DEADLINE_MS));
    uint8_t b[6];
    ASSERT_OK(mmapio_read(ma, 512, b, 6));
    ASSERT_MEMEQ(b, "queued", 6);
    mmapio_task_free(t1);
    mmapio_task_free(t2);
    mmapio_task_free(t3);
  }
  uint8_t b[6];
  ASSERT_OK(mmapio_read(mc, 0, b, 6));
  ASSERT_MEMEQ(b, "writer", 6);
}

static void fork_idle(void)
{
  mmapio_task *keep = NULL;
  if (have_async) {
    /* Two workers (the first is busy when the second task comes), then
     * both idle while `keep` is not freed. */
    mmapio_task *other;
    gate_arm(&gates[GATE_WORKER1], ma);
    ASSERT_OK(mmapio_flush_async(&keep, ma));
    gate_wait_entered(&gates[GATE_WORKER1], "async worker 1");
    ASSERT_OK(mmapio_flush_async(&other, mb));
    ASSERT_OK(mmapio_task_wait(other, POLL_DEADLINE_MS));
    gate_open(&gates[GATE_WORKER1]);
    ASSERT_OK(mmapio_task_wait(keep, POLL_DEADLINE_MS));
    mmapio_task_free(other);
  }
  for (int n = 0; n < IDLE_FORKS; n++) {
    ASSERT_OK(mmapio_write(mf, 200, "idle", 4));
    ASSERT(flushed_by_flusher(mf));
    pid_t pid = fork_flushed();
    if (pid == 0) {
      if (have_async) {
        CHILD_CHECK(mmapio_task_poll(keep) == MMAPIO_OK);
        mmapio_task_free(keep);
      }
      child_uses_library(path_n);
      child_every_millis_inherited(mf);
      CHILD_CHECK(mmapio_write(mc, 0, "child", 5) == MMAPIO_OK);
      CHILD_CHECK(mmapio_close(ma) == MMAPIO_OK);
      CHILD_CHECK(mmapio_close(mb) == MMAPIO_OK);
      CHILD_CHECK(mmapio_close(mc) == MMAPIO_OK);
      _exit(0);
    }
    ASSERT_EQ(test_wait_child(pid), 0);
    if (have_async) {
      /* The parent's idle workers still take work. */
      mmapio_task *t;
      ASSERT_OK(mmapio_flush_async(&t, mb));
      ASSERT_OK(mmapio_task_wait(t, POLL_DEADLINE_MS));
      mmapio_task_free(t);
    }
  }
  if (have_async) mmapio_task_free(keep);
}

/* A process whose only library use so far is a path task (no map: nothing
 * else has set the library's fork handling up) forks while its worker waits
 * for work. The child must get a worker of its own for its tasks. */
static void fork_before_any_map(void)
{
  if (!have_async) return;
  char *src = mk_file("forkthr-src", 4096, 46);
  char *dst = test_tmp_path("forkthr-dst");
  char *dst2 = test_tmp_path("forkthr-dst2");
  mmapio_task *keep;
  ASSERT_OK(mmapio_copy_file_async(&keep, src, dst));
  ASSERT_OK(mmapio_task_wait(keep, POLL_DEADLINE_MS));
  pid_t pid = fork_flushed();
  if (pid == 0) {
    mmapio_task *t;
    CHILD_CHECK(mmapio_task_poll(keep) == MMAPIO_OK);
    CHILD_CHECK(mmapio_copy_file_async(&t, src, dst2) == MMAPIO_OK);
    CHILD_CHECK(mmapio_task_wait(t, POLL_DEADLINE_MS) == MMAPIO_OK);
    mmapio_task_free(t);
    mmapio_task_free(keep);
    CHILD_CHECK(file_has_pattern(dst2, 4096, 46));
    _exit(0);
  }
  ASSERT_EQ(test_wait_child(pid), 0);
  mmapio_task_free(keep);
  ASSERT(file_has_pattern(dst, 4096, 46));
  test_unlink(src);
  test_unlink(dst);
  test_unlink(dst2);
  free(src);
  free(dst);
  free(dst2);
}

int main(void)
{
  /* qemu-user 7.2 aborts (qemu_plugin_vcpu_init_hook assertion) in a
   * child forked while other threads ran as soon as the child starts a
   * thread, which these children do (the flusher, async workers). */
  TEST_SKIP_IF_EMULATED("a child forked from a threaded process cannot start threads (qemu aborts)");
  parent_pid = getpid();
  have_async = mmapio_has_feature(MMAPIO_FEATURE_ASYNC);
  for (int i = 0; i < NGATES; i++) {
    ASSERT_EQ(pipe(gates[i].entered), 0);
    ASSERT_EQ(pipe(gates[i].release), 0);
  }
  /* Before any library thread exists, so no thread reads the table while
   * it changes. */
  real_msync = mmapio__sys.x_msync;
  mmapio__sys.x_msync = gated_msync;

  fork_before_any_map();

  path_f = mk_file("forkthr-f", LEN, 41);
  path_a = mk_file("forkthr-a", LEN, 42);
  path_b = mk_file("forkthr-b", LEN, 43);
  path_c = mk_file("forkthr-c", LEN, 44);
  path_n = mk_file("forkthr-n", LEN, 45);
  ASSERT_OK(open_policy(&mf, path_f, MMAPIO_FLUSH_EVERY_MILLIS, 1));
  ASSERT_OK(mmapio_open_rw(&ma, path_a));
  ASSERT_OK(mmapio_open_rw(&mb, path_b));
  ASSERT_OK(mmapio_open_rw(&mc, path_c));

  fork_busy();
  fork_idle();

  /* The parent's flusher and a fresh pool still work. */
  ASSERT_OK(mmapio_write(mf, 300, "end", 3));
  ASSERT(flushed_by_flusher(mf));
  if (have_async) {
    mmapio_task *t;
    ASSERT_OK(mmapio_write_async(&t, mb, 64, "end", 3));
    ASSERT_OK(mmapio_task_wait(t, POLL_DEADLINE_MS));
    mmapio_task_free(t);
  }
  ASSERT_OK(mmapio_close(mf));
  ASSERT_OK(mmapio_close(ma));
  ASSERT_OK(mmapio_close(mb));
  ASSERT_OK(mmapio_close(mc));
  mmapio__sys.x_msync = real_msync;
  test_unlink(path_f);
  test_unlink(path_a);
  test_unlink(path_b);
  test_unlink(path_c);
  test_unlink(path_n);
  free(path_f);
  free(path_a);
  free(path_b);
  free(path_c);
  free(path_n);
  printf("ok\n");
  return 0;
}

#endif /* !_WIN32 */
