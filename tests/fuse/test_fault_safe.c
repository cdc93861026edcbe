/*
 * test_fault_safe.c -- reads of pages the file server cannot deliver, with
 * and without MMAPIO_OPEN_FAULT_SAFE, on an ordinary thread and on a thread
 * that blocks every signal (the sigwait design).
 *
 *   - faultfs fails READs of page 8 of a 16-page file with EIO; the page
 *     cache is dropped by reopening (faultfs has no kernel_cache).
 *   - FAULT_SAFE: mmapio_read / mmapio_write / mmapio_touch_range /
 *     mmapio_probe of page 8 return MMAPIO_EFAULT naming offset 8 pages,
 *     on both threads; page 0 reads fine; the process lives.
 *   - A truncated file (another descriptor shrinks it) read past the new
 *     end on the all-blocked thread: MMAPIO_EFAULT.
 *   - Without FAULT_SAFE the read of the failing page kills the process
 *     with SIGBUS (checked in a child): that is what the flag is for.
 */
#if !defined(__linux__)
#include "test.h"
int main(void) { TEST_SKIP("FUSE tests need Linux"); }
#else
#include "fusetest.h"

#include <pthread.h>

static size_t ps;
static char *path;

static mmapio_map *open_map(uint32_t flags)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = flags;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, path, &o));
  return m;
}

static void check_faults(void)
{
  mmapio_map *m = open_map(MMAPIO_OPEN_FAULT_SAFE);
  uint8_t *buf = (uint8_t *)malloc(ps);
  ASSERT(buf != NULL);
  char want[64];
  snprintf(want, sizeof want, "fault at offset %llu", (unsigned long long)(8 * ps));
  ASSERT_STATUS(mmapio_read(m, 8 * ps, buf, ps), MMAPIO_EFAULT);
  ASSERT(strstr(mmapio_last_error(), want) != NULL);
  ASSERT_STATUS(mmapio_read(m, 8 * ps + 100, buf, 10), MMAPIO_EFAULT);
  ASSERT_STATUS(mmapio_write(m, 8 * ps + 5, "abc", 3), MMAPIO_EFAULT);
  ASSERT_STATUS(mmapio_touch_range(m, 8 * ps, ps), MMAPIO_EFAULT);
  ASSERT_STATUS(mmapio_probe(m, 7 * ps, 2 * ps), MMAPIO_EFAULT);
  ASSERT_OK(mmapio_read(m, 0, buf, ps));
  for (size_t i = 0; i < ps; i++) ASSERT_EQ(buf[i], (uint8_t)(i * 3u + 1u));
  ASSERT_OK(mmapio_close(m));
  free(buf);
}

static void *blocked_thread(void *arg)
{
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &all, NULL), 0);
  check_faults();
  /* The thread's mask is as it was. */
  sigset_t now;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
  ASSERT_EQ(sigismember(&now, SIGBUS), 1);
  ASSERT_EQ(sigismember(&now, SIGSEGV), 1);
  return NULL;
}

static void *blocked_truncated(void *arg)
{
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &all, NULL), 0);
  mmapio_map *m = open_map(MMAPIO_OPEN_FAULT_SAFE);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  ASSERT(fd >= 0);
  ASSERT_EQ(ftruncate(fd, (off_t)(4 * ps)), 0);
  close(fd);
  uint8_t b[16];
  ASSERT_STATUS(mmapio_read(m, 10 * ps, b, sizeof b), MMAPIO_EFAULT);
  ASSERT_STATUS(mmapio_probe(m, 10 * ps, 1), MMAPIO_EFAULT);
  ASSERT_OK(mmapio_read(m, 0, b, sizeof b));
  ASSERT_OK(mmapio_close(m));
  return NULL;
}

/* In a child: the read of the failing page without the flag. */
static int read_unsafe(void *arg)
{
  (void)arg;
  mmapio_map *m = open_map(0);
  uint8_t b[8];
  (void)mmapio_read(m, 8 * ps, b, sizeof b);
  return 0;
}

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE))
    TEST_SKIP("MMAPIO_OPEN_FAULT_SAFE is not available in this build");
  fusetest_mount();
  ps = mmapio_page_size();
  path = fusetest_path("pages");
  char *bp = fusetest_backing("pages");
  uint8_t *data = (uint8_t *)malloc(16 * ps);
  ASSERT(data != NULL);
  for (size_t i = 0; i < 16 * ps; i++) data[i] = (uint8_t)(i * 3u + 1u);
  ASSERT_EQ(test_write_file(bp, data, 16 * ps), 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "read %llu %llu 5", (unsigned long long)(8 * ps),
           (unsigned long long)ps);
  fusetest_ctl(cmd);

  /* An ordinary thread. */
  check_faults();
  /* A thread that blocks every signal. */
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, blocked_thread, NULL), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT(fusetest_counter("read_fail") > 0);

  /* Without the flag: SIGBUS, in a child. */
  test_child_killed_by(test_fork_call(read_unsafe, NULL), SIGBUS, "read of page 8 without FAULT_SAFE");

  /* A truncated file on the all-blocked thread. */
  fusetest_ctl("clear");
  ASSERT_EQ(pthread_create(&t, NULL, blocked_truncated, NULL), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  free(data);
  free(bp);
  free(path);
  printf("ok\n");
  return 0;
}

#endif /* __linux__ */
