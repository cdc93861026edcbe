/*
 * test_none_policy.c -- MMAPIO_DURABLE_NONE as the header defines it:
 * a flush triggered by the policy (ALWAYS, EVERY_BYTES, EVERY_WRITES) makes
 * no system call at all, while an explicit mmapio_flush / flush_range still
 * starts writeback (sync_file_range on Linux, msync(MS_ASYNC) elsewhere).
 * Checked with the recording syscall table.
 */
#include "internal.h"
#include "test.h"

static size_t rec(void)
{
  static mmapio__sys_call calls[4096];
  return mmapio__sys_record_stop(calls, sizeof calls / sizeof calls[0]);
}

static void one(mmapio_flush_kind kind, uint64_t every)
{
  char *p = test_tmp_path("none");
  size_t ps = mmapio_page_size();
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE;
  o.size = 64 * ps;
  o.durability = MMAPIO_DURABLE_NONE;
  o.flush_policy.kind = kind;
  o.flush_policy.every = every;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  uint8_t buf[256];
  memset(buf, 0x5a, sizeof buf);
  mmapio__sys_reset();
  mmapio__sys_record_start();
  for (uint64_t off = 0; off + sizeof buf <= 64 * ps; off += sizeof buf)
    ASSERT_OK(mmapio_write(m, off, buf, sizeof buf));
  size_t n = rec();
  ASSERT_EQ(n, 0); /* the write path made no system call */
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_flush_range(m, ps, 1));
  n = rec();
  /* Linux: sync_file_range; portable POSIX: msync(MS_ASYNC); Windows:
   * FlushViewOfFile. */
  unsigned sfr = mmapio__sys_count("sync_file_range") + mmapio__sys_count("FlushViewOfFile"),
           ms = mmapio__sys_count("msync");
  ASSERT(n >= 2);
  ASSERT(sfr + ms >= 2); /* explicit flushes still start writeback */
  ASSERT_EQ(mmapio__sys_count("fsync"), 0);
  ASSERT_EQ(mmapio__sys_count("FlushFileBuffers"), 0);
  mmapio__sys_reset();
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
}

int main(void)
{
  size_t ps = mmapio_page_size();
  one(MMAPIO_FLUSH_ALWAYS, 0);
  one(MMAPIO_FLUSH_EVERY_BYTES, 16 * ps);
  one(MMAPIO_FLUSH_EVERY_WRITES, 4);
  printf("ok\n");
  return 0;
}
