/*
 * fork() right after a finished async task was freed, while the workers
 * stay (another task is kept): the child's fork handler (src/async.c) must
 * not find the freed task among the tasks the parent's workers were
 * running. A worker used to publish a task's result, let go of the pool's
 * lock, free the task's copy of the written bytes and only then, after
 * taking the lock again, forget the task; a fork in between gave the child
 * a pointer to memory the parent had freed, which the child's handler wrote
 * to (a use after free: AddressSanitizer reports it, and without it the
 * child's heap is corrupted).
 *
 * Each round writes 8 MiB through mmapio_write_async, waits, frees the task
 * and forks at once. Freeing so large a copy unmaps it (glibc), which takes
 * long enough that the fork's handlers run in that window, and fork() itself
 * waits for the unmapping. Each child allocates blocks of the freed task's
 * size (a corrupted free list aborts there), checks the kept task and exits
 * 0; every child must exit 0.
 */
#include "test.h"

#if defined(_WIN32)
int main(void) { TEST_SKIP("Windows has no fork()"); }
#else

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 40
#define BIG (8u << 20)
#define CHILD_ALARM_S 60u

int main(void)
{
  char *p = test_tmp_path("fork_task");
  mmapio_map *m = NULL;
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE;
  o.size = BIG;
  o.durability = MMAPIO_DURABLE_NONE; /* the flush only starts write-back */
  ASSERT_OK(mmapio_open(&m, p, &o));
  uint8_t *big = (uint8_t *)malloc(BIG);
  ASSERT(big != NULL);
  mmapio_task *keep = NULL;
  int rc = mmapio_flush_async(&keep, m);
  if (rc == MMAPIO_ENOTSUP) {
    mmapio_close(m);
    test_unlink(p);
    TEST_SKIP("async tasks are not compiled in");
  }
  ASSERT_OK(rc);
  ASSERT_OK(mmapio_task_wait(keep, -1)); /* kept: the workers stay */
  for (int i = 0; i < ROUNDS; i++) {
    memset(big, (int)(i & 0xff), BIG);
    mmapio_task *t = NULL;
    ASSERT_OK(mmapio_write_async(&t, m, 0, big, BIG));
    ASSERT_OK(mmapio_task_wait(t, -1));
    mmapio_task_free(t);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
      alarm(CHILD_ALARM_S);
      /* The size of a task object and around it: a free list the fork
       * handler wrote to hands out a bad block here. */
      void *b[8];
      for (int k = 0; k < 8; k++) b[k] = malloc(512 + 32 * (size_t)k);
      for (int k = 0; k < 8; k++) free(b[k]);
      CHILD_CHECK(mmapio_task_poll(keep) == MMAPIO_OK);
      _exit(0);
    }
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      TEST_FAIL_("round %d: child ended with status 0x%x", i, (unsigned)st);
  }
  mmapio_task_free(keep);
  uint8_t back[16];
  ASSERT_OK(mmapio_read(m, BIG - sizeof back, back, sizeof back));
  ASSERT_EQ(back[0], (uint8_t)((ROUNDS - 1) & 0xff));
  free(big);
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
  printf("fork after task: %d rounds ok\n", ROUNDS);
  return 0;
}
#endif
