/*
 * Crash after flush: a fork()ed child writes a pattern (mmapio_write and a
 * write view), calls mmapio_flush, then kills itself with SIGKILL (no
 * atexit, no close, no unmap). The parent reopens the file and must find
 * every byte. Repeated for each durability level and for a created file.
 */
#include "test.h"

#ifndef _WIN32
#  include <signal.h>
#  include <sys/wait.h>

static void run_child(const char *p, mmapio_durability d, int create, size_t len, unsigned seed)
{
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    mmapio_map *m;
    mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, create ? MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE : 0,
                            create ? len : 0);
    o.durability = d;
    if (mmapio_open(&m, p, &o) != MMAPIO_OK) _exit(2);
    uint8_t *buf = (uint8_t *)malloc(len);
    if (buf == NULL) _exit(3);
    pat_fill(buf, len, 0, seed);
    /* First half by mmapio_write, second half through a write view. */
    size_t half = len / 2;
    if (mmapio_write(m, 0, buf, half) != MMAPIO_OK) _exit(4);
    mmapio_view_mut w;
    if (mmapio_view_get_mut(&w, m, half, len - half) != MMAPIO_OK) _exit(5);
    memcpy(w.data, buf + half, len - half);
    if (mmapio_view_mut_release(&w) != MMAPIO_OK) _exit(6);
    if (mmapio_flush(m) != MMAPIO_OK) _exit(7);
    raise(SIGKILL);
    _exit(8); /* not reached */
  }
  int st = 0;
  ASSERT(waitpid(pid, &st, 0) == pid);
  if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
    TEST_FAIL_("child did not die by SIGKILL (status %#x, exit %d)", st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);

  /* Reopen (read-only, a fresh mapping) and compare. */
  mmapio_map *m;
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_U64_EQ(mmapio_len(m), len);
  if (!pat_check(mmapio_unsafe_ptr(m), len, 0, seed))
    TEST_FAIL_("bytes written and flushed before SIGKILL are missing (durability %d)", (int)d);
  ASSERT_OK(mmapio_close(m));
  ASSERT(file_has_pattern(p, len, seed));
}
#endif

int main(void)
{
#ifdef _WIN32
  TEST_SKIP("fork()/SIGKILL crash test is POSIX only");
#else
  size_t ps = mmapio_page_size();
  size_t len = 16 * ps + 333;
  char *p = mk_file("crash", len, 160);
  run_child(p, MMAPIO_DURABLE_DATA, 0, len, 161);
  run_child(p, MMAPIO_DURABLE_FULL, 0, len, 162);
  run_child(p, MMAPIO_DURABLE_NONE, 0, len, 163);
  test_unlink(p);
  run_child(p, MMAPIO_DURABLE_DATA, 1, 3 * ps + 1, 164); /* created by the child */
  test_unlink(p);
  free(p);
  return 0;
#endif
}
