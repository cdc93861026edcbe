/*
 * shared_counter.c -- two processes increment one counter in a file.
 *
 * Every process that maps a file read-write sees the same physical page,
 * so the lock-free atomic operations of mmapio.h work across processes just
 * as they do across threads. Here the parent and a child (fork() on POSIX;
 * a second thread with its own mapping on Windows, which has no fork) each
 * add 1 a hundred thousand times, and not a single increment is lost.
 *
 * An atomic view (mmapio_atomic_u64) is a "pin": it keeps the mapping from
 * moving or closing while held, but never blocks writers, so holding it for
 * the whole loop costs nothing.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L
#endif

#include "mmapio.h"
#include "example_util.h"

#include <stdint.h>
#include <stdio.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <sys/types.h>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

#define ADDS_PER_WORKER 100000u
#define COUNTER_OFFSET 0u

static char path[512];

/* What each process (or thread) does: map the file itself, pin the
 * counter, add. Returns 0 on success. */
static int add_many(unsigned n)
{
  mmapio_map *m = NULL;
  mmapio_atomic a;
  unsigned i;
  int rc = mmapio_open_rw(&m, path);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_open_rw", rc);
  rc = mmapio_atomic_u64(&a, m, COUNTER_OFFSET);
  if (rc != MMAPIO_OK) {
    mmapio_close(m);
    if (rc == MMAPIO_ENOTSUP) {
      fprintf(stderr, "atomic views are not available in this build: skipped\n");
      return EXAMPLE_SKIP;
    }
    return example_fail("mmapio_atomic_u64", rc);
  }
  for (i = 0; i < n; i++)
    mmapio_fetch_add_u64((uint64_t *)a.ptr, 1, MMAPIO_ORDER_RELAXED);
  /* The pin must be released before close, which refuses (EBUSY) while
   * pins are outstanding. */
  mmapio_atomic_release(&a);
  return mmapio_close(m) == MMAPIO_OK ? 0 : 1;
}

#ifdef _WIN32
static DWORD WINAPI worker(LPVOID arg)
{
  (void)arg;
  return (DWORD)add_many(ADDS_PER_WORKER);
}
#endif

int main(void)
{
  mmapio_map *m = NULL;
  uint64_t total = 0;
  int rc, mine, theirs = 1;

  example_temp_path(path, sizeof path, "counter.bin");

  /* The counter file: one page of zeros, so the counter starts at 0. */
  rc = mmapio_create_rw(&m, path, 4096);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_create_rw", rc);
  mmapio_close(m);

#ifdef _WIN32
  {
    HANDLE t = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    DWORD code = 1;
    if (t == NULL)
      return 1;
    mine = add_many(ADDS_PER_WORKER);
    WaitForSingleObject(t, INFINITE);
    GetExitCodeThread(t, &code);
    CloseHandle(t);
    theirs = (int)code;
  }
#else
  {
    int status = 0;
    /* fflush first, or buffered output would be printed twice. */
    pid_t pid;
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0)
      _exit(add_many(ADDS_PER_WORKER));
    mine = add_many(ADDS_PER_WORKER);
    if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
      theirs = WEXITSTATUS(status);
  }
#endif
  if (mine == EXAMPLE_SKIP || theirs == EXAMPLE_SKIP) {
    mmapio_remove_file(path);
    return EXAMPLE_SKIP;
  }
  if (mine != 0 || theirs != 0) {
    mmapio_remove_file(path);
    return 1;
  }

  /* Any later reader sees the final value, even through a read-only map. */
  if ((rc = mmapio_open_ro(&m, path)) != MMAPIO_OK)
    return example_fail("mmapio_open_ro", rc);
  if ((rc = mmapio_read(m, COUNTER_OFFSET, &total, sizeof total)) != MMAPIO_OK)
    return example_fail("mmapio_read", rc);
  mmapio_close(m);
  mmapio_remove_file(path);
  printf("two workers added %u each: the counter reads %llu\n", ADDS_PER_WORKER,
         (unsigned long long)total);
  return total == 2u * ADDS_PER_WORKER ? 0 : 1;
}
