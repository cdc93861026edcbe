/*
 * Async tasks (include/mmapio.h section 13): every starting call's checks (reported at once),
 * results and the worker's detail message, waiting with and without a
 * timeout, the completion event polled from an ordinary event loop, the
 * copy of the source bytes, the map reference a task holds, create + take,
 * file copy and removal, and many tasks from several threads (the pool
 * starts, grows and stops underneath).
 *
 * The "still running" cases do not depend on timing: the test holds a write
 * view, so a write task cannot finish until the test releases it.
 */
#include "test.h"

#include "platform.h" /* test hooks: the syscall recorder */

#ifdef _WIN32
#  include <windows.h>
#else
#  include <poll.h>
#  include <pthread.h>
#  include <sys/mman.h>
#endif

#define N 65536u

/* 1 once the task's event is readable/signalled, 0 if not within ms. */
static int event_ready(mmapio_native_file ev, int ms)
{
#ifdef _WIN32
  return WaitForSingleObject((HANDLE)ev, (DWORD)ms) == WAIT_OBJECT_0;
#else
  struct pollfd p;
  p.fd = ev;
  p.events = POLLIN;
  p.revents = 0;
  int r = poll(&p, 1, ms);
  ASSERT(r >= 0);
  return r == 1 && (p.revents & POLLIN) != 0;
#endif
}

static void test_start_checks(mmapio_map *rw, mmapio_map *ro)
{
  mmapio_task *t = (mmapio_task *)&t; /* must be cleared on failure */
  uint8_t b[8] = {0};
  char want[200];

  ASSERT_STATUS(mmapio_flush_async(NULL, rw), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_flush_async(&t, NULL), MMAPIO_EINVAL);
  ASSERT(t == NULL);
  ASSERT_STATUS(mmapio_flush_range_async(NULL, rw, 0, 1), MMAPIO_EINVAL);
  t = (mmapio_task *)&t;
  ASSERT_STATUS(mmapio_flush_range_async(&t, NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT(t == NULL);
  EXT_ASSERT_BOUNDS(mmapio_flush_range_async(&t, rw, N, 1), N, 1, N);
  EXT_ASSERT_BOUNDS(mmapio_flush_range_async(&t, rw, 1, UINT64_MAX), 1, UINT64_MAX, N);
  ASSERT(t == NULL);

  ASSERT_STATUS(mmapio_write_async(NULL, rw, 0, b, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write_async(&t, NULL, 0, b, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write_async(&t, rw, 0, NULL, 1), MMAPIO_EINVAL);
  t = (mmapio_task *)&t;
  ASSERT_STATUS(mmapio_write_async(&t, ro, 0, b, 1), MMAPIO_EMODE);
  ASSERT(t == NULL);
  EXT_ASSERT_BOUNDS(mmapio_write_async(&t, rw, N - 4, b, 8), N - 4, 8, N);
  EXT_ASSERT_BOUNDS(mmapio_write_async(&t, rw, UINT64_MAX, b, 1), UINT64_MAX, 1, N);
  /* Check order: mode before bounds. */
  ASSERT_STATUS(mmapio_write_async(&t, ro, UINT64_MAX, b, 1), MMAPIO_EMODE);

  ASSERT_STATUS(mmapio_create_async(NULL, "x", 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_create_async(&t, NULL, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_create_async(&t, "x", 0), MMAPIO_ESIZE);
  ASSERT_STREQ(mmapio_last_error(), "Size must be greater than zero");
  ASSERT_STATUS(mmapio_create_async(&t, "x", MMAPIO_MAX_SIZE + 1), MMAPIO_ESIZE);
  snprintf(want, sizeof want, "Size %llu exceeds maximum safe limit of %llu bytes",
           (unsigned long long)(MMAPIO_MAX_SIZE + 1), (unsigned long long)MMAPIO_MAX_SIZE);
  ASSERT_STREQ(mmapio_last_error(), want);
  ASSERT(t == NULL);

  ASSERT_STATUS(mmapio_copy_file_async(NULL, "a", "b"), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_copy_file_async(&t, NULL, "b"), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_copy_file_async(&t, "a", NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_remove_file_async(NULL, "a"), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_remove_file_async(&t, NULL), MMAPIO_EINVAL);
  ASSERT(t == NULL);

  /* Task functions on NULL. */
  ASSERT_STATUS(mmapio_task_poll(NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_task_wait(NULL, -1), MMAPIO_EINVAL);
  ASSERT(mmapio_task_event(NULL) == MMAPIO_INVALID_FILE);
  mmapio_map *m = (mmapio_map *)&m;
  ASSERT_STATUS(mmapio_task_take_map(&m, NULL), MMAPIO_EINVAL);
  ASSERT(m == NULL);
  mmapio_task_free(NULL);
}

/* Zero-length actions and no-op flushes complete in the starting call. */
static void test_immediate(mmapio_map *rw, mmapio_map *ro)
{
  mmapio_task *t;
  ASSERT_OK(mmapio_write_async(&t, rw, UINT64_MAX, NULL, 0)); /* zero length first */
  ASSERT_OK(mmapio_task_poll(t));
  ASSERT(event_ready(mmapio_task_event(t), 10000));
  mmapio_task_free(t);
  ASSERT_OK(mmapio_write_async(&t, ro, 0, "x", 0)); /* even on a RO map */
  ASSERT_OK(mmapio_task_wait(t, 0));
  mmapio_task_free(t);
  ASSERT_OK(mmapio_flush_range_async(&t, rw, UINT64_MAX, 0));
  ASSERT_OK(mmapio_task_poll(t));
  mmapio_task_free(t);
  ASSERT_OK(mmapio_flush_async(&t, ro));
  ASSERT_OK(mmapio_task_wait(t, -1));
  mmapio_task_free(t);
  ASSERT_OK(mmapio_flush_range_async(&t, ro, 0, N));
  ASSERT_OK(mmapio_task_wait(t, -1));
  mmapio_task_free(t);
}

/* write_async: visible to a fresh read-only map, and flushed. */
static void test_write(const char *path, mmapio_map *rw)
{
  uint8_t src[5000];
  ext_fill(src, sizeof src, 3000, 9);
#if MMAPIO_TEST_HOOKS
  mmapio__sys_reset();
  mmapio__sys_record_start();
#endif
  mmapio_task *t;
  ASSERT_OK(mmapio_write_async(&t, rw, 3000, src, sizeof src));
  memset(src, 0, sizeof src); /* the task copied the bytes */
  ASSERT_OK(mmapio_task_wait(t, -1));
#if MMAPIO_TEST_HOOKS
  {
    mmapio__sys_call calls[256];
    size_t n = mmapio__sys_record_stop(calls, 256);
    int synced = 0;
    for (size_t i = 0; i < n && i < 256; i++)
#  ifndef _WIN32
      if (strcmp(calls[i].name, "msync") == 0 && (calls[i].flags & MS_SYNC)) synced = 1;
#  else
      if (strcmp(calls[i].name, "FlushViewOfFile") == 0) synced = 1;
#  endif
    ASSERT(synced);
    mmapio__sys_reset();
  }
#endif
  ASSERT_OK(mmapio_task_poll(t)); /* the result can be read again */
  mmapio_task_free(t);

  mmapio_map *fresh;
  ASSERT_OK(mmapio_open_ro(&fresh, path));
  ASSERT(ext_check((const uint8_t *)mmapio_unsafe_ptr(fresh) + 3000, 5000, 3000, 9));
  ASSERT_OK(mmapio_close(fresh));
  size_t len;
  uint8_t *file = (uint8_t *)test_read_file(path, &len);
  ASSERT(file != NULL && len == N);
  ASSERT(ext_check(file + 3000, 5000, 3000, 9));
  free(file);

  ASSERT_OK(mmapio_flush_async(&t, rw));
  ASSERT_OK(mmapio_task_wait(t, -1));
  mmapio_task_free(t);
  ASSERT_OK(mmapio_flush_range_async(&t, rw, 100, 10));
  ASSERT_OK(mmapio_task_wait(t, -1));
  mmapio_task_free(t);
}

/* A task that cannot finish while the test holds a write view. */
static void test_running(mmapio_map *rw)
{
  mmapio_view_mut v;
  mmapio_task *t;
  ASSERT_OK(mmapio_view_get_mut(&v, rw, 0, 16));
  ASSERT_OK(mmapio_write_async(&t, rw, 0, "ABCDEFGH", 8));
  mmapio_native_file ev = mmapio_task_event(t);
  ASSERT(ev != MMAPIO_INVALID_FILE);
  ASSERT(mmapio_task_event(t) == ev); /* the same event every time */
  ASSERT_STATUS(mmapio_task_poll(t), MMAPIO_EAGAIN);
  ASSERT_STATUS(mmapio_task_wait(t, 0), MMAPIO_ETIMEDOUT);
  ASSERT_STATUS(mmapio_task_wait(t, 30), MMAPIO_ETIMEDOUT);
  ASSERT_STATUS(mmapio_task_wait(t, -2), MMAPIO_EINVAL);
  ASSERT(!event_ready(ev, 0));
  mmapio_map *m;
  ASSERT_STATUS(mmapio_task_take_map(&m, t), MMAPIO_EINVAL); /* not a create task */
  ASSERT_OK(mmapio_view_mut_release(&v));
  /* An event loop sees the completion. */
  ASSERT(event_ready(ev, 10000));
  ASSERT_OK(mmapio_task_poll(t));
  ASSERT(event_ready(ev, 0)); /* and it stays readable */
  uint8_t got[8];
  ASSERT_OK(mmapio_read(rw, 0, got, 8));
  ASSERT_MEMEQ(got, "ABCDEFGH", 8);
  mmapio_task_free(t);

  /* task_free waits for a running task. */
  ASSERT_OK(mmapio_view_get_mut(&v, rw, 0, 16));
  ASSERT_OK(mmapio_write_async(&t, rw, 8, "12345678", 8));
  ASSERT_OK(mmapio_view_mut_release(&v));
  mmapio_task_free(t);
  ASSERT_OK(mmapio_read(rw, 8, got, 8));
  ASSERT_MEMEQ(got, "12345678", 8);
}

/* A task keeps its map alive after the caller's close. */
static void test_retains_map(const char *path)
{
  mmapio_map *m;
  mmapio_task *t;
  ASSERT_OK(mmapio_open_rw(&m, path));
  ASSERT_OK(mmapio_write_async(&t, m, 10, "retained", 8));
  ASSERT_OK(mmapio_close(m)); /* the task still holds a reference */
  ASSERT_OK(mmapio_task_wait(t, -1));
  mmapio_task_free(t); /* the last reference: the map goes */
  size_t len;
  uint8_t *file = (uint8_t *)test_read_file(path, &len);
  ASSERT(file != NULL && len == N);
  ASSERT_MEMEQ(file + 10, "retained", 8);
  free(file);
}

static void test_create_copy_remove(void)
{
  char *path = test_tmp_path("async-create");
  char *copy = test_tmp_path("async-copy");
  mmapio_task *t;
  mmapio_map *m;

  ASSERT_OK(mmapio_create_async(&t, path, 12345));
  ASSERT_OK(mmapio_task_wait(t, -1));
  ASSERT(event_ready(mmapio_task_event(t), 0)); /* made after completion: set at once */
  ASSERT_STATUS(mmapio_task_take_map(NULL, t), MMAPIO_EINVAL);
  ASSERT_OK(mmapio_task_take_map(&m, t));
  ASSERT(m != NULL);
  mmapio_map *again = m;
  ASSERT_STATUS(mmapio_task_take_map(&again, t), MMAPIO_EINVAL); /* already taken */
  ASSERT(again == NULL);
  mmapio_task_free(t); /* the taken map is ours now: still valid */
  ASSERT_U64_EQ(mmapio_len(m), 12345);
  ASSERT_OK(mmapio_write(m, 0, "copyme", 6));
  ASSERT_OK(mmapio_close(m));

  /* A created map that is never taken is closed by task_free (ASan). */
  ASSERT_OK(mmapio_create_async(&t, path, 100));
  ASSERT_OK(mmapio_task_wait(t, -1));
  mmapio_task_free(t);
  ASSERT_OK(mmapio_open_ro(&m, path));
  ASSERT_U64_EQ(mmapio_len(m), 100);
  ASSERT_OK(mmapio_close(m));

  ASSERT_OK(mmapio_create_async(&t, path, 4096));
  ASSERT_OK(mmapio_task_wait(t, -1));
  ASSERT_OK(mmapio_task_take_map(&m, t));
  mmapio_task_free(t);
  ASSERT_OK(mmapio_write(m, 0, "copyme", 6));
  ASSERT_OK(mmapio_close(m));

  /* A failing create: the status comes from poll, wait and take_map, with
   * the worker's detail message naming the path. */
  char *bad = test_tmp_path("async-no-such-dir");
  size_t bl = strlen(bad);
  bad = (char *)realloc(bad, bl + 8);
  memcpy(bad + bl, "/x.bin", 7);
  ASSERT_OK(mmapio_create_async(&t, bad, 100));
  ASSERT_STATUS(mmapio_task_wait(t, -1), MMAPIO_ENOENT);
  ASSERT(strstr(mmapio_last_error(), bad) != NULL);
  ASSERT_STATUS(mmapio_open_ro(&m, ""), MMAPIO_ENOENT); /* another detail */
  ASSERT(strstr(mmapio_last_error(), bad) == NULL);
  ASSERT_STATUS(mmapio_task_poll(t), MMAPIO_ENOENT);
  ASSERT(strstr(mmapio_last_error(), bad) != NULL);
  ASSERT(mmapio_last_os_error() != 0);
  ASSERT_STATUS(mmapio_task_take_map(&m, t), MMAPIO_ENOENT);
  ASSERT(m == NULL);
  mmapio_task_free(t);
  free(bad);

  /* Copy, then remove the copy; removing it again fails in the task. */
  ASSERT_OK(mmapio_copy_file_async(&t, path, copy));
  ASSERT_OK(mmapio_task_wait(t, -1));
  ASSERT_STATUS(mmapio_task_take_map(&m, t), MMAPIO_EINVAL);
  mmapio_task_free(t);
  size_t len;
  uint8_t *got = (uint8_t *)test_read_file(copy, &len);
  ASSERT(got != NULL);
  ASSERT_EQ(len, 4096);
  ASSERT_MEMEQ(got, "copyme", 6);
  free(got);
  ASSERT_OK(mmapio_remove_file_async(&t, copy));
  ASSERT_OK(mmapio_task_wait(t, -1));
  mmapio_task_free(t);
  ASSERT(test_read_file(copy, &len) == NULL);
  ASSERT_OK(mmapio_remove_file_async(&t, copy));
  ASSERT_STATUS(mmapio_task_wait(t, -1), MMAPIO_ENOENT);
  ASSERT(strstr(mmapio_last_error(), copy) != NULL);
  mmapio_task_free(t);
  ASSERT_OK(mmapio_copy_file_async(&t, copy, path)); /* missing source */
  ASSERT_STATUS(mmapio_task_wait(t, -1), MMAPIO_ENOENT);
  mmapio_task_free(t);

  test_unlink(path);
  free(path);
  free(copy);
}

/* Many tasks at once: the pool grows to its limit and every task runs. */
static void test_many(mmapio_map *rw)
{
  enum { TASKS = 64 };
  mmapio_task *t[TASKS];
  uint8_t src[1000];
  for (int i = 0; i < TASKS; i++) {
    ext_fill(src, sizeof src, (uint64_t)i * 1000u, 20);
    ASSERT_OK(mmapio_write_async(&t[i], rw, (uint64_t)i * 1000u, src, sizeof src));
  }
  /* Wait through the events, in reverse order. */
  for (int i = TASKS - 1; i >= 0; i--) ASSERT(event_ready(mmapio_task_event(t[i]), 10000));
  for (int i = 0; i < TASKS; i++) {
    ASSERT_OK(mmapio_task_poll(t[i]));
    mmapio_task_free(t[i]);
  }
  uint8_t *all = (uint8_t *)malloc(TASKS * 1000);
  ASSERT(all != NULL);
  ASSERT_OK(mmapio_read(rw, 0, all, TASKS * 1000));
  ASSERT(ext_check(all, TASKS * 1000, 0, 20));
  free(all);
}

#ifndef _WIN32
/* Several threads start, wait and free tasks at once, so the pool stops and
 * restarts while others submit (ThreadSanitizer checks the pool). */
static mmapio_map *shared_map;

static void *task_thread(void *arg)
{
  int id = (int)(intptr_t)arg;
  uint8_t buf[64];
  for (int i = 0; i < 100; i++) {
    mmapio_task *t;
    memset(buf, id + i, sizeof buf);
    ASSERT_OK(mmapio_write_async(&t, shared_map, (uint64_t)id * 64u, buf, sizeof buf));
    if (i % 3 == 0) ASSERT_OK(mmapio_task_wait(t, -1));
    else if (i % 3 == 1) ASSERT(event_ready(mmapio_task_event(t), 10000));
    mmapio_task_free(t); /* waits itself in the third case */
  }
  return NULL;
}

static void test_threads(mmapio_map *rw)
{
  pthread_t th[4];
  shared_map = rw;
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(pthread_create(&th[i], NULL, task_thread, (void *)(intptr_t)i), 0);
  for (int i = 0; i < 4; i++) ASSERT_EQ(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < 4; i++) {
    uint8_t got[64];
    ASSERT_OK(mmapio_read(rw, (uint64_t)i * 64u, got, sizeof got));
    ASSERT_EQ(got[0], (uint8_t)(i + 99));
    ASSERT_EQ(got[63], (uint8_t)(i + 99));
  }
}
#endif

int main(void)
{
#if !MMAPIO_WITH_ASYNC
  {
    mmapio_task *t = (mmapio_task *)&t;
    ASSERT_STATUS(mmapio_create_async(&t, "x", 1), MMAPIO_ENOTSUP);
    ASSERT(t == NULL);
    ASSERT(mmapio_task_event(NULL) == MMAPIO_INVALID_FILE);
    TEST_SKIP("the ASYNC feature is compiled out (stubs checked)");
  }
#endif
  char *path = ext_make_file("async", N, 1);
  mmapio_map *rw, *ro;
  ASSERT_OK(mmapio_open_rw(&rw, path));
  ASSERT_OK(mmapio_open_ro(&ro, path));
  test_start_checks(rw, ro);
  test_immediate(rw, ro);
  test_write(path, rw);
  test_running(rw);
  test_many(rw);
#ifndef _WIN32
  test_threads(rw);
#endif
  ASSERT_OK(mmapio_close(ro));
  ASSERT_OK(mmapio_close(rw));
  test_retains_map(path);
  test_create_copy_remove();
  test_unlink(path);
  free(path);
  printf("ok\n");
  return 0;
}
