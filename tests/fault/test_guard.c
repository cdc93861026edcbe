/*
 * test_guard.c -- the OS guard behind fault-safe copies, tested directly
 * through the platform contract (platform.h, "Fault safety"), on POSIX and
 * on Windows (MinGW under Wine too).
 *
 * A region of three pages is made whose middle page cannot be accessed
 * (POSIX: PROT_NONE; Windows: reserved, not committed). Guarded copies and
 * touches over it must return MMAPIO_EFAULT with the exact fault address,
 * again and again (the recovery path must leave the thread able to fault
 * once more), from several threads at once. A copy that does not fault must
 * copy every byte.
 */
#include "internal.h"
#include "test.h"

#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#else
#  include <sys/mman.h>
#  include <unistd.h>
#endif

static size_t page;

/* Each thread has its own region: the sanitizers' copy interceptors record
 * the whole destination range before the copy faults, and threads sharing
 * one region would look like a data race to TSan. */
static uint8_t *make_region(void)
{
  uint8_t *region;
#ifdef _WIN32
  region = (uint8_t *)VirtualAlloc(NULL, 3 * page, MEM_RESERVE, PAGE_NOACCESS);
  ASSERT(region != NULL);
  ASSERT(VirtualAlloc(region, page, MEM_COMMIT, PAGE_READWRITE) != NULL);
  ASSERT(VirtualAlloc(region + 2 * page, page, MEM_COMMIT, PAGE_READWRITE) != NULL);
#else
  void *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT(p != MAP_FAILED);
  region = (uint8_t *)p;
  ASSERT_EQ(mprotect(region + page, page, PROT_NONE), 0);
#endif
  for (size_t i = 0; i < page; i++) {
    region[i] = (uint8_t)(i * 7u + 1u);
    region[2 * page + i] = (uint8_t)(i * 3u + 5u);
  }
  return region;
}

static void free_region(uint8_t *region)
{
#ifdef _WIN32
  VirtualFree(region, 0, MEM_RELEASE);
#else
  munmap(region, 3 * page);
#endif
}

/* One round of every case; returns normally or exits through ASSERT. */
static void one_round(uint8_t *region, uint8_t *buf)
{
  uintptr_t at = 0;

  /* A copy out of accessible memory copies every byte. */
  memset(buf, 0, 3 * page);
  ASSERT_OK(mmapio__os_guarded_copy(buf, region + 10, page - 10, region, region + 3 * page, &at));
  ASSERT_MEMEQ(buf, region + 10, page - 10);

  /* Copy out across the hole: faults at the first byte of the middle page. */
  at = 0;
  ASSERT_STATUS(mmapio__os_guarded_copy(buf, region + page / 2, page, region, region + 3 * page, &at),
                MMAPIO_EFAULT);
  ASSERT(at == (uintptr_t)(region + page));

  /* Copy in (the mapped side is the destination). */
  memset(buf, 0xAB, page);
  at = 0;
  ASSERT_STATUS(mmapio__os_guarded_copy(region + page + 5, buf, 16, region + page, region + 2 * page, &at),
                MMAPIO_EFAULT);
  ASSERT(at >= (uintptr_t)(region + page) && at < (uintptr_t)(region + 2 * page));

  /* Touch: one byte per page; the first page is fine, the second faults. */
  at = 0;
  ASSERT_STATUS(mmapio__os_guarded_touch(region, 3 * page, page, &at), MMAPIO_EFAULT);
  ASSERT(at == (uintptr_t)(region + page));
  ASSERT_OK(mmapio__os_guarded_touch(region + 2 * page, page, page, &at));
  ASSERT_OK(mmapio__os_guarded_touch(region, page, page, &at));
}

#define NTHREADS 4
#define ROUNDS 300

static volatile int thread_failed;

static void worker(void *arg)
{
  (void)arg;
  uint8_t *region = make_region();
  uint8_t *buf = (uint8_t *)malloc(3 * page);
  ASSERT(buf != NULL);
  for (int r = 0; r < ROUNDS; r++) one_round(region, buf);
  free(buf);
  free_region(region);
}

int main(void)
{
  ASSERT_OK(mmapio__os_fault_install());
  ASSERT_OK(mmapio__os_fault_install()); /* idempotent */
  page = mmapio__os_page_size();
  uint8_t *region = make_region();

  uint8_t *buf = (uint8_t *)malloc(3 * page);
  ASSERT(buf != NULL);
  for (int r = 0; r < 50; r++) one_round(region, buf);

  /* Zero bytes never fault. */
  uintptr_t at = 0;
  ASSERT_OK(mmapio__os_guarded_copy(buf, region + page, 0, region, region + 3 * page, &at));
  free(buf);

  /* Many threads fault at once: the guard is per thread, with no lock. */
  mmapio__thread t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) ASSERT_OK(mmapio__thread_start(&t[i], worker, NULL));
  for (int i = 0; i < NTHREADS; i++) mmapio__thread_join(&t[i]);
  ASSERT_EQ(thread_failed, 0);

  free_region(region);
  printf("guard: %d rounds on %d threads OK\n", ROUNDS, NTHREADS);
  return 0;
}
