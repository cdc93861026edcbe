/*
 * test_eintr.c -- interrupted system calls are retried.
 *
 * 1. Deterministic: the recording syscall table makes fstat, open, msync,
 *    fsync, ftruncate and fallocate fail once with EINTR; open, flush
 *    (DATA and FULL) and resize still succeed.
 * 2. For real: faultfs (tests/fuse/faultfs.c) is mounted with interruptible
 *    requests and slowed down; a storm thread sends the test thread a
 *    signal whose handler is installed without SA_RESTART, again and again,
 *    while it opens, writes, flushes, resizes and closes files on the mount.
 *    The file server fails interrupted requests with EINTR (a budget of
 *    them), so open, fstat, msync and fsync see EINTR from the kernel. Every
 *    mmapio call must still succeed, and the server must hold the bytes.
 *    Bounded: a fixed number of rounds.
 */
#if !defined(__linux__)
#include "test.h"
int main(void) { TEST_SKIP("FUSE tests need Linux"); }
#else
#include "fusetest.h"
#include "internal.h"

#include <pthread.h>

static volatile sig_atomic_t hits;
static void on_usr(int sig)
{
  (void)sig;
  hits++;
}

static pthread_t target;
static int storm_stop; /* atomic */

static void *storm(void *arg)
{
  (void)arg;
  while (!__atomic_load_n(&storm_stop, __ATOMIC_RELAXED)) {
    pthread_kill(target, SIGUSR2);
    struct timespec ts = {0, 200000}; /* 0.2 ms */
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static void injected(void)
{
  char *p = test_tmp_path("eintr");
  mmapio_map *m = NULL;
  uint8_t buf1[1];
  size_t ps = mmapio_page_size();
  ASSERT_OK(mmapio_create_rw(&m, p, 4 * ps));
  ASSERT_OK(mmapio_close(m));
  static const char *const calls[] = {"fstat", "open", "msync", "fsync", "ftruncate", "fallocate"};
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    mmapio__sys_reset();
    mmapio__sys_fail_nth(calls[i], 1, EINTR);
    mmapio_options o;
    mmapio_options_init(&o);
    o.durability = MMAPIO_DURABLE_FULL;
    ASSERT_OK(mmapio_open(&m, p, &o));
    ASSERT_OK(mmapio_write(m, 0, "x", 1));
    ASSERT_OK(mmapio_flush(m));
    ASSERT_OK(mmapio_resize(m, 8 * ps));
    ASSERT_OK(mmapio_resize(m, 4 * ps));
    ASSERT_OK(mmapio_close(m));
  }
  /* mmapio_open_ro's own path makes one attempt of each and retries an
   * interrupted one on its cold paths. */
  static const char *const ro_calls[] = {"open", "fstat"};
  for (size_t i = 0; i < sizeof ro_calls / sizeof ro_calls[0]; i++) {
    for (int round = 0; round < 2; round++) { /* the second one reuses the first's object */
      mmapio__sys_reset();
      mmapio__sys_fail_nth(ro_calls[i], 1, EINTR);
      ASSERT_OK(mmapio_open_ro(&m, p));
      ASSERT_U64_EQ(mmapio_len(m), 4 * ps);
      ASSERT_OK(mmapio_read(m, 0, buf1, 1));
      ASSERT_EQ(buf1[0], 'x');
      ASSERT_OK(mmapio_close(m));
    }
  }
  mmapio__sys_reset();
  test_unlink(p);
  free(p);
}

int main(void)
{
  injected();
  fusetest_mount();

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr;
  sa.sa_flags = 0; /* no SA_RESTART: blocking calls fail with EINTR */
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &sa, NULL), 0);

  size_t ps = mmapio_page_size();
  uint8_t *buf = (uint8_t *)malloc(4 * ps);
  ASSERT(buf != NULL);
  char *p = fusetest_path("storm");
  char *bp = fusetest_backing("storm");
  memset(buf, 0, 4 * ps);
  ASSERT_EQ(test_write_file(bp, buf, 4 * ps), 0);

  fusetest_ctl("slow 2");
  fusetest_ctl("intr 3000");
  target = pthread_self();
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, storm, NULL), 0);
  const int rounds = 40;
  for (int r = 0; r < rounds; r++) {
    mmapio_map *m = NULL;
    mmapio_options o;
    mmapio_options_init(&o);
    o.durability = (r & 1) ? MMAPIO_DURABLE_FULL : MMAPIO_DURABLE_DATA;
    ASSERT_OK(mmapio_open(&m, p, &o));
    memset(buf, r + 1, 4 * ps);
    ASSERT_OK(mmapio_write(m, 0, buf, 4 * ps));
    ASSERT_OK(mmapio_flush(m));
    ASSERT_OK(mmapio_flush_range(m, ps, ps));
    ASSERT_OK(mmapio_close(m));
  }
  __atomic_store_n(&storm_stop, 1, __ATOMIC_RELAXED);
  pthread_join(th, NULL);
  fusetest_ctl("clear");
  unsigned long long intr = fusetest_counter("intr");
  printf("signals delivered: %d, requests failed with EINTR by the server: %llu\n", (int)hits,
         intr);
  /* The storm really interrupted requests (else this test proves nothing). */
  ASSERT(hits > 0);
  ASSERT(intr > 0);
  memset(buf, rounds, 4 * ps);
  ASSERT(fusetest_backing_has("storm", 0, buf, 4 * ps));
  free(p);
  free(bp);
  free(buf);
  return 0;
}

#endif /* __linux__ */
