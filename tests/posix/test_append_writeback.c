/*
 * test_append_writeback.c -- appends with a durable flush policy write each
 * appended page about once.
 *
 * An append must not dirty pages ahead of the logical end (for instance by
 * pre-faulting them writable): a flush then writes those pages as zeros,
 * and the append that fills them later dirties and writes them again, which
 * doubles what a durable log writes to its device. Linux counts the bytes a
 * process dirties in /proc/self/io (write_bytes, counted when a page cache
 * page becomes dirty), so the test appends 16 MiB with EVERY_BYTES(64 KiB)
 * and checks that no more than 1.5 times that was dirtied (records
 * straddle pages, so the page a flush ends in is dirtied again by the next
 * record: about 1.1 times in all).
 */
#include "test.h"

#if !defined(__linux__)
int main(void) { TEST_SKIP("needs Linux's /proc/self/io"); }
#else

#include <string.h>

/* write_bytes of /proc/self/io, or -1. */
static long long dirtied_bytes(void)
{
  FILE *f = fopen("/proc/self/io", "r");
  if (f == NULL) return -1;
  char key[64];
  long long v, r = -1;
  while (fscanf(f, "%63s %lld", key, &v) == 2)
    if (strcmp(key, "write_bytes:") == 0) r = v;
  fclose(f);
  return r;
}

enum { REC = 4104, RECS = 4096 };

int main(void)
{
  char *p = test_tmp_path("append_wb");
  static uint8_t rec[REC];
  memset(rec, 0x5a, sizeof rec);
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_ALLOW_EMPTY;
  o.size = 0;
  o.max_size = UINT64_C(1) << 30;
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_BYTES;
  o.flush_policy.every = 64 * 1024;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  long long before = dirtied_bytes();
  if (before < 0) {
    mmapio_close(m);
    test_unlink(p);
    TEST_SKIP("/proc/self/io has no write_bytes (task I/O accounting is off)");
  }
  for (uint32_t i = 0; i < RECS; i++) {
    memcpy(rec, &i, sizeof i);
    ASSERT_OK(mmapio_append(m, rec, REC, NULL));
  }
  ASSERT_OK(mmapio_close(m));
  long long dirtied = dirtied_bytes() - before;
  const long long appended = (long long)REC * RECS;
  test_unlink(p);
  free(p);
  if (dirtied == 0)
    TEST_SKIP("the test directory's file system does not count dirtied bytes (tmpfs?)");
  printf("appended %lld bytes, dirtied %lld (%.2fx)\n", appended, dirtied,
         (double)dirtied / (double)appended);
  ASSERT(dirtied <= appended + appended / 2);
  return 0;
}
#endif
