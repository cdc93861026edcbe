/*
 * test_stress_procs.c -- two processes share one file through atomic views
 * and reach the exact totals: a u64 counter incremented with fetch_add and a
 * u32 counter incremented with a compare-exchange loop, plus a u64 "ticket"
 * exchange that must never lose a value. Each process also runs two threads
 * so that in-process and cross-process contention mix.
 * POSIX (fork); feature ATOMIC.
 */
#include "internal.h"
#include "test.h"

#ifdef _WIN32
int main(void) { TEST_SKIP("uses fork()"); }
#else

#include <sys/wait.h>
#include <unistd.h>

#define NPROC 2
#define NTHR 2
#define ADDS 40000u
#define CASES 10000u

static char *path;

static void worker(void *arg)
{
  mmapio_map *m = (mmapio_map *)arg;
  mmapio_atomic a64, a32;
  if (mmapio_atomic_u64_array(&a64, m, 0, 2) != MMAPIO_OK) _exit(10);
  if (mmapio_atomic_u32(&a32, m, 16) != MMAPIO_OK) _exit(11);
  uint64_t *c = (uint64_t *)a64.ptr;
  uint32_t *k = (uint32_t *)a32.ptr;
  for (uint32_t i = 0; i < ADDS; i++) {
    mmapio_fetch_add_u64(&c[0], 1, MMAPIO_ORDER_RELAXED);
    /* Sum of all values handed out by exchange must equal the sum put in:
     * each iteration puts 1 in and adds what it took out to the total. */
    uint64_t took = mmapio_exchange_u64(&c[1], 0, MMAPIO_ORDER_ACQ_REL);
    mmapio_fetch_add_u64(&c[1], took + 1u, MMAPIO_ORDER_ACQ_REL);
  }
  for (uint32_t i = 0; i < CASES; i++) {
    uint32_t cur = mmapio_load_u32(k, MMAPIO_ORDER_RELAXED);
    while (!mmapio_compare_exchange_u32(k, &cur, cur + 1u, MMAPIO_ORDER_ACQ_REL, MMAPIO_ORDER_RELAXED)) {
    }
  }
  mmapio_atomic_release(&a32);
  mmapio_atomic_release(&a64);
}

static int child(void)
{
  mmapio_map *m = NULL;
  if (mmapio_open_rw(&m, path) != MMAPIO_OK) return 2;
  mmapio__thread t[NTHR];
  for (int i = 0; i < NTHR; i++)
    if (mmapio__thread_start(&t[i], worker, m) != MMAPIO_OK) return 3;
  for (int i = 0; i < NTHR; i++) mmapio__thread_join(&t[i]);
  if (mmapio_close(m) != MMAPIO_OK) return 4;
  return 0;
}

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) TEST_SKIP("ATOMIC feature not in this build");
  path = test_tmp_path("procs");
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_create_rw(&m, path, 4096));
  ASSERT_OK(mmapio_close(m));

  pid_t pids[NPROC];
  fflush(stdout);
  for (int i = 0; i < NPROC; i++) {
    pids[i] = fork();
    ASSERT(pids[i] >= 0);
    if (pids[i] == 0) _exit(child());
  }
  for (int i = 0; i < NPROC; i++) {
    int st = 0;
    ASSERT_EQ(waitpid(pids[i], &st, 0), pids[i]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) TEST_FAIL_("child %d status 0x%x", i, st);
  }

  ASSERT_OK(mmapio_open_ro(&m, path));
  mmapio_atomic a;
  ASSERT_OK(mmapio_atomic_u64_array(&a, m, 0, 2));
  uint64_t total = (uint64_t)NPROC * NTHR * ADDS;
  ASSERT_U64_EQ(mmapio_load_u64((const uint64_t *)a.ptr, MMAPIO_ORDER_ACQUIRE), total);
  ASSERT_U64_EQ(mmapio_load_u64((const uint64_t *)a.ptr + 1, MMAPIO_ORDER_ACQUIRE), total);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_atomic_u32(&a, m, 16));
  ASSERT_EQ(mmapio_load_u32((const uint32_t *)a.ptr, MMAPIO_ORDER_ACQUIRE), NPROC * NTHR * CASES);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
  printf("procs: %d processes x %d threads reached the exact totals\n", NPROC, NTHR);
  return 0;
}
#endif
