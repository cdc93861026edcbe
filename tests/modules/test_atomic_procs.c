/*
 * test_atomic_procs.c -- atomic views work across processes: several forked
 * processes, each mapping the same file on its own, increment one counter
 * with mmapio_fetch_add_u64 (and a 32-bit one with mmapio_fetch_add_u32);
 * the totals are exact, in the mapping and in the file.
 *
 * POSIX only (fork); Windows would need a helper executable, so it skips.
 */
#include "test.h"

#ifdef _WIN32
int main(void) { TEST_SKIP("needs fork()"); }
#else

#include <sys/wait.h>

#define NPROC 3
#define NINC 200000

/* Child: map the file itself, count, and report through the exit status. */
static int child(const char *path)
{
  mmapio_map *m = NULL;
  mmapio_atomic a, b;
  if (mmapio_open_rw(&m, path) != MMAPIO_OK) return 2;
  if (mmapio_atomic_u64(&a, m, 64) != MMAPIO_OK) return 3;
  if (mmapio_atomic_u32(&b, m, 128) != MMAPIO_OK) return 4;
  for (int i = 0; i < NINC; i++) {
    (void)mmapio_fetch_add_u64((uint64_t *)a.ptr, 1, MMAPIO_ORDER_RELAXED);
    (void)mmapio_fetch_add_u32((uint32_t *)b.ptr, 1, MMAPIO_ORDER_ACQ_REL);
  }
  mmapio_atomic_release(&a);
  mmapio_atomic_release(&b);
  if (mmapio_close(m) != MMAPIO_OK) return 5;
  return 0;
}

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) TEST_SKIP("feature ATOMIC is compiled out");
  char *path = test_tmp_path("atomprocs");
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_create_rw(&m, path, 4096));
  fflush(NULL);

  pid_t pids[NPROC];
  for (int i = 0; i < NPROC; i++) {
    pids[i] = fork();
    ASSERT(pids[i] >= 0);
    if (pids[i] == 0) _exit(child(path));
  }
  /* The parent counts too, through its own mapping, at the same time. */
  mmapio_atomic a;
  ASSERT_OK(mmapio_atomic_u64(&a, m, 64));
  for (int i = 0; i < NINC; i++) (void)mmapio_fetch_add_u64((uint64_t *)a.ptr, 1, MMAPIO_ORDER_SEQ_CST);
  for (int i = 0; i < NPROC; i++) {
    int st = 0;
    ASSERT_EQ(waitpid(pids[i], &st, 0), pids[i]);
    ASSERT(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
  }
  uint64_t want64 = (uint64_t)(NPROC + 1) * NINC;
  ASSERT_U64_EQ(mmapio_load_u64((const uint64_t *)a.ptr, MMAPIO_ORDER_SEQ_CST), want64);
  mmapio_atomic_release(&a);
  uint32_t c32 = 0;
  ASSERT_OK(mmapio_read(m, 128, &c32, 4));
  ASSERT_EQ(c32, (uint32_t)NPROC * NINC);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));

  /* The file holds the totals too. */
  size_t n = 0;
  uint8_t *d = (uint8_t *)test_read_file(path, &n);
  ASSERT(d != NULL && n == 4096);
  uint64_t v64;
  memcpy(&v64, d + 64, 8);
  memcpy(&c32, d + 128, 4);
  ASSERT_U64_EQ(v64, want64);
  ASSERT_EQ(c32, (uint32_t)NPROC * NINC);
  free(d);
  test_unlink(path);
  free(path);
  printf("atomic_procs: %d processes reached %llu\n", NPROC + 1, (unsigned long long)want64);
  return 0;
}
#endif
