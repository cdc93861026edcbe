/*
 * test_truncate.c -- another process truncates a mapped file while we read
 * and write it. With MMAPIO_OPEN_FAULT_SAFE every access to the lost pages
 * returns MMAPIO_EFAULT with a message naming the call, the offset and the
 * path; the pages that are still there keep working; mmapio_probe tells the
 * two apart (it needs no flag). A child without the flag really dies of
 * SIGBUS on the same access, which proves the scenario faults at all.
 *
 * POSIX only: Windows refuses to truncate a file that is mapped.
 */
#include "internal.h"
#include "test.h"

#ifdef _WIN32
int main(void) { TEST_SKIP("a mapped file cannot be truncated on Windows"); }
#else

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define NPAGES 16u
#define KEEP 4u /* pages left after the truncation */

static size_t page;

static uint8_t pat(uint64_t i) { return (uint8_t)(i * 131u + (i >> 12) + 7u); }

typedef struct truncation {
  const char *path;
  uint64_t len;
} truncation;

static int truncate_child(void *arg)
{
  const truncation *t = (const truncation *)arg;
  return truncate(t->path, (off_t)t->len) == 0 ? 0 : 1;
}

/* Truncate from another process, as another program would. */
static void truncate_elsewhere(const char *path, uint64_t len)
{
  truncation t = {path, len};
  ASSERT_EQ(test_child_exit(test_fork_call(truncate_child, &t), "truncate"), 0);
}

static void expect_fault_msg(const char *op, const char *path, uint64_t off)
{
  char want[1024];
  snprintf(want, sizeof want, "%s(%s): fault at offset %llu:", op, path, (unsigned long long)off);
  if (strncmp(mmapio_last_error(), want, strlen(want)) != 0)
    TEST_FAIL_("detail message \"%s\" does not start with \"%s\"", mmapio_last_error(), want);
}

static mmapio_map *open_flags(const char *path, mmapio_mode mode, uint32_t flags)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  o.flags = flags;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, path, &o));
  return m;
}

/* In a child: a read of a lost page on the map without the flag. */
static int read_lost_page(void *plain)
{
  uint8_t b[16];
  (void)mmapio_read((mmapio_map *)plain, KEEP * page + 1, b, sizeof b);
  return 0;
}

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE))
    TEST_SKIP("the FAULT_SAFE feature is compiled out");
  TEST_SKIP_IF_SIGBUS_ADDR_WRONG();
  page = mmapio_page_size();
  size_t total = NPAGES * page, keep = KEEP * page;
  uint8_t *data = (uint8_t *)malloc(total), *buf = (uint8_t *)malloc(total);
  ASSERT(data != NULL && buf != NULL);
  for (size_t i = 0; i < total; i++) data[i] = pat(i);
  char *path = test_tmp_path("trunc");
  ASSERT_EQ(test_write_file(path, data, total), 0);

  mmapio_map *rw = open_flags(path, MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_FAULT_SAFE);
  mmapio_map *ro = open_flags(path, MMAPIO_MODE_READ_ONLY, MMAPIO_OPEN_FAULT_SAFE);
  mmapio_map *plain = open_flags(path, MMAPIO_MODE_READ_ONLY, 0); /* probe needs no flag */

  /* Before: everything readable, probe OK everywhere. */
  ASSERT_OK(mmapio_read(rw, 0, buf, total));
  ASSERT_MEMEQ(buf, data, total);
  ASSERT_OK(mmapio_probe(rw, 0, total));
  ASSERT_OK(mmapio_probe(plain, 0, total));

  truncate_elsewhere(path, keep);

  /* The mapping still claims NPAGES pages: bounds pass, the pages fault. */
  ASSERT_U64_EQ(mmapio_len(rw), total);

  /* Reads of lost pages: EFAULT at the first lost byte. */
  ASSERT_STATUS(mmapio_read(rw, keep - 10, buf, 100), MMAPIO_EFAULT);
  expect_fault_msg("mmapio_read", path, keep);
  ASSERT_STATUS(mmapio_read(ro, keep + 3 * page + 5, buf, 1), MMAPIO_EFAULT);
  expect_fault_msg("mmapio_read", path, keep + 3 * page + 5);
  ASSERT_STATUS(mmapio_read(rw, 0, buf, total), MMAPIO_EFAULT);
  expect_fault_msg("mmapio_read", path, keep);

  /* Writes to lost pages: EFAULT too, and the file does not grow back. */
  memset(buf, 0x5A, page);
  ASSERT_STATUS(mmapio_write(rw, keep + page, buf, page), MMAPIO_EFAULT);
  expect_fault_msg("mmapio_write", path, keep + page);

  /* The pages that remain keep working, again and again. */
  for (int round = 0; round < 100; round++) {
    ASSERT_OK(mmapio_read(rw, 0, buf, keep));
    ASSERT_MEMEQ(buf, data, keep);
    ASSERT_STATUS(mmapio_read(rw, keep, buf, 1), MMAPIO_EFAULT);
  }
  memset(buf, 0xC3, 100);
  ASSERT_OK(mmapio_write(rw, keep - 100, buf, 100));
  memset(data + keep - 100, 0xC3, 100);
  ASSERT_OK(mmapio_read(ro, 0, buf, keep));
  ASSERT_MEMEQ(buf, data, keep);

  /* Touch on fault-safe maps: OK on what remains, EFAULT on what is gone
   * (never SIGBUS). */
  ASSERT_OK(mmapio_touch_range(rw, 0, keep));
  ASSERT_STATUS(mmapio_touch_range(ro, keep + 2 * page, page), MMAPIO_EFAULT);
  expect_fault_msg("mmapio_touch_range", path, keep + 2 * page);
  ASSERT_STATUS(mmapio_touch(rw), MMAPIO_EFAULT);
  ASSERT_OK(mmapio_touch_range(rw, 0, keep));

  /* Probe: OK on what remains, EFAULT on what is gone (offset clamped to
   * the range asked for), on a map without the flag too. */
  ASSERT_OK(mmapio_probe(plain, 0, keep));
  ASSERT_OK(mmapio_probe(plain, keep - 1, 1));
  ASSERT_STATUS(mmapio_probe(plain, 0, total), MMAPIO_EFAULT);
  expect_fault_msg("mmapio_probe", path, keep);
  ASSERT_STATUS(mmapio_probe(plain, keep + 17, 5), MMAPIO_EFAULT);
  expect_fault_msg("mmapio_probe", path, keep + 17);
  ASSERT_STATUS(mmapio_probe(rw, keep, page), MMAPIO_EFAULT);
  ASSERT_OK(mmapio_probe(plain, keep + page, 0)); /* zero length: no-op */
  ASSERT_STATUS(mmapio_probe(plain, total + 1, 0), MMAPIO_OK);
  ASSERT_STATUS(mmapio_probe(plain, total, 1), MMAPIO_EBOUNDS);
  ASSERT_STATUS(mmapio_probe(NULL, 0, 1), MMAPIO_EINVAL);

#if defined(MMAPIO_TEST_HOOKS) && defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)
  /* Without MADV_POPULATE_READ (old kernels answer EINVAL) probe falls
   * back to the guarded touch and gives the same answers. */
  mmapio__sys_reset();
  mmapio__sys_fail_nth("madvise", 1, 22 /* EINVAL */);
  ASSERT_STATUS(mmapio_probe(plain, 0, total), MMAPIO_EFAULT);
  expect_fault_msg("mmapio_probe", path, keep);
  mmapio__sys_fail_nth("madvise", 1, 22);
  ASSERT_OK(mmapio_probe(plain, 0, keep));
  mmapio__sys_reset();
#endif

  /* Without the flag the same read kills a process with SIGBUS: the
   * scenario above really faulted. */
  test_child_killed_by(test_fork_call(read_lost_page, plain), SIGBUS,
                       "read of a lost page without FAULT_SAFE");

  ASSERT_OK(mmapio_close(plain));
  ASSERT_OK(mmapio_close(ro));
  ASSERT_OK(mmapio_flush_range(rw, 0, keep));
  ASSERT_OK(mmapio_close(rw));

  /* The file holds exactly what remained, with our write. */
  size_t n = 0;
  uint8_t *back = (uint8_t *)test_read_file(path, &n);
  ASSERT(back != NULL);
  ASSERT_EQ(n, keep);
  ASSERT_MEMEQ(back, data, keep);
  free(back);

  test_unlink(path);
  free(path);
  free(data);
  free(buf);
  printf("truncate: EFAULT on lost pages, remaining pages intact\n");
  return 0;
}
#endif
