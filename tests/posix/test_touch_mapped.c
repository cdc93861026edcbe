/*
 * test_touch_mapped.c -- after mmapio_touch / mmapio_touch_range every page
 * of the range is mapped: reading it makes no page fault. The maps are large
 * enough for the Linux path that asks the kernel which pages are mapped
 * already (one scan per 64 MiB, 32 runs of unmapped pages per answer) and
 * reads only the others, so the holes are laid out to cross both limits;
 * small maps, read-write and copy-on-write maps take the same check.
 *
 * Pages are unmapped with madvise(MADV_DONTNEED) on shared file mappings,
 * which only drops them from the page tables (the page cache keeps them).
 * Faults are counted with getrusage(RUSAGE_SELF).ru_minflt; a control read
 * right after the unmapping must fault, or the test skips (the OS did not
 * unmap and the check would say nothing).
 */
#include "test.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

static size_t pg;

static long minflt(void)
{
  struct rusage ru;
  ASSERT(getrusage(RUSAGE_SELF, &ru) == 0);
  return ru.ru_minflt;
}

/* Page faults taken while reading one byte of every page of [off, off+len). */
static long faults_reading(const uint8_t *base, uint64_t off, uint64_t len)
{
  uint64_t first = off - off % pg, end = off + len;
  long before = minflt();
  unsigned sum = 0;
  for (uint64_t o = first; o < end; o += pg) sum += __atomic_load_n(base + o, __ATOMIC_RELAXED);
  long after = minflt();
  __atomic_store_n(&sum, sum, __ATOMIC_RELAXED);
  return after - before;
}

static void drop(uint8_t *base, uint64_t off, uint64_t len)
{
  ASSERT(madvise(base + off, (size_t)len, MADV_DONTNEED) == 0);
}

/* Holes: every other run of 4 pages over the first 32 MiB (thousands of
 * runs), 3 pages straddling the 64 MiB step, and the last page. */
static void punch(uint8_t *base, uint64_t len)
{
  for (uint64_t o = 0; o < 32 * MIB && o < len; o += 8 * pg) drop(base, o, 4 * pg);
  if (len > 64 * MIB + 2 * pg) drop(base, 64 * MIB - pg, 3 * pg);
  drop(base, len - pg, pg);
}

static int control_faults(uint8_t *base, uint64_t len)
{
  punch(base, len);
  return faults_reading(base, 0, len) > 0;
}

static void check_map(const char *path, mmapio_mode mode, uint64_t len)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, path, &o));
  ASSERT_U64_EQ(mmapio_len(m), len);
  uint8_t *base = (uint8_t *)mmapio_unsafe_ptr(m);
  ASSERT(base != NULL);

  /* Nothing mapped yet (a fresh map): the whole map. */
  ASSERT_OK(mmapio_touch(m));
  ASSERT_EQ(faults_reading(base, 0, len), 0);

  /* The control: the holes fault when read without a touch. */
  if (!control_faults(base, len)) {
    ASSERT_OK(mmapio_close(m));
    TEST_SKIP("madvise(MADV_DONTNEED) does not unmap file pages here: no fault to count");
  }

  /* Holes in a map that is otherwise mapped. */
  punch(base, len);
  ASSERT_OK(mmapio_touch(m));
  ASSERT_EQ(faults_reading(base, 0, len), 0);

  /* touch_range: an unaligned range in the middle, then the tail. */
  if (len > 40 * MIB) {
    drop(base, 0, (size_t)len);
    ASSERT_OK(mmapio_touch_range(m, 10 * MIB + 123, 30 * MIB));
    ASSERT_EQ(faults_reading(base, 10 * MIB + 123, 30 * MIB), 0);
  }
  punch(base, len);
  ASSERT_OK(mmapio_touch_range(m, len - 5 * pg - 1, 5 * pg + 1));
  ASSERT_EQ(faults_reading(base, len - 5 * pg - 1, 5 * pg + 1), 0);

  ASSERT_OK(mmapio_close(m));
}

int main(void)
{
  pg = mmapio_page_size();
  char *big = test_tmp_path("touchbig");
  char *small = test_tmp_path("touchsmall");
  /* Sparse files: the page cache gives zero pages; nothing to write out. */
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE;
  o.mode = MMAPIO_MODE_READ_WRITE;
  o.size = 80 * MIB + 3 * pg;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, big, &o));
  ASSERT_OK(mmapio_close(m));
  o.size = 1 * MIB;
  ASSERT_OK(mmapio_open(&m, small, &o));
  ASSERT_OK(mmapio_close(m));

  check_map(big, MMAPIO_MODE_READ_ONLY, 80 * MIB + 3 * pg);
  check_map(big, MMAPIO_MODE_READ_WRITE, 80 * MIB + 3 * pg);
  if (has_cow()) check_map(big, MMAPIO_MODE_COPY_ON_WRITE, 80 * MIB + 3 * pg);
  check_map(small, MMAPIO_MODE_READ_ONLY, 1 * MIB);
  check_map(small, MMAPIO_MODE_READ_WRITE, 1 * MIB);

  test_unlink(big);
  test_unlink(small);
  free(big);
  free(small);
  printf("touch_mapped: ok\n");
  return 0;
}
