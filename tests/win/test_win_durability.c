/*
 * test_win_durability.c -- which Win32 calls mmapio_flush, mmapio_flush_range
 * and the ALWAYS flush policy make at each durability level, recorded with
 * the test hooks through the public API: DATA and FULL are FlushViewOfFile
 * over the page-aligned range plus FlushFileBuffers; NONE is FlushViewOfFile
 * only; copy-on-write and anonymous maps make no call.
 */
#include "test.h"

#ifndef _WIN32
int main(void) { TEST_SKIP("Win32 backend test; this is not a Windows build"); }
#else

#define MAXREC 64

static size_t record_flush(mmapio_map *m, mmapio__sys_call *rec, uint64_t off, uint64_t len)
{
  mmapio__sys_reset();
  mmapio__sys_record_start();
  if (len == UINT64_MAX) ASSERT_OK(mmapio_flush(m));
  else ASSERT_OK(mmapio_flush_range(m, off, len));
  return mmapio__sys_record_stop(rec, MAXREC);
}

static void expect(const mmapio__sys_call *rec, size_t n, int with_ffb, uint64_t addr, uint64_t len)
{
  ASSERT_EQ(n, with_ffb ? 2 : 1);
  ASSERT_STREQ(rec[0].name, "FlushViewOfFile");
  ASSERT_U64_EQ(rec[0].a, addr);
  ASSERT_U64_EQ(rec[0].b, len);
  if (with_ffb) ASSERT_STREQ(rec[1].name, "FlushFileBuffers");
}

int main(void)
{
  mmapio__sys_call rec[MAXREC];
  uint64_t ps = mmapio_page_size(), size = 10 * 4096 + 123;
  mmapio_durability lv[3] = {MMAPIO_DURABLE_DATA, MMAPIO_DURABLE_FULL, MMAPIO_DURABLE_NONE};
  char *p = test_tmp_path("wdur");
  mmapio_map *m = NULL;
  uint8_t *base;
  size_t n, i;
  if (!WIN_HOOKS) TEST_SKIP("built without MMAPIO_TEST_HOOKS: calls cannot be recorded");

  ASSERT_OK(mmapio_create_rw(&m, p, size));
  ASSERT_OK(mmapio_close(m));
  for (i = 0; i < 3; i++) {
    mmapio_options o;
    mmapio_options_init(&o);
    o.durability = lv[i];
    ASSERT_OK(mmapio_open(&m, p, &o));
    base = (uint8_t *)mmapio_unsafe_ptr(m);
    ASSERT_OK(mmapio_write(m, 5000, "x", 1));
    n = record_flush(m, rec, 0, UINT64_MAX);
    expect(rec, n, lv[i] != MMAPIO_DURABLE_NONE, (uint64_t)(uintptr_t)base, size);
    /* A range is widened to whole pages: [5000, 5010) -> page 1. */
    n = record_flush(m, rec, 5000, 10);
    expect(rec, n, lv[i] != MMAPIO_DURABLE_NONE, (uint64_t)(uintptr_t)(base + ps), ps);
    ASSERT_OK(mmapio_close(m));
  }

  /* The ALWAYS policy flushes each write at the map's durability. */
  {
    mmapio_options o;
    mmapio_options_init(&o);
    o.flush_policy.kind = MMAPIO_FLUSH_ALWAYS;
    ASSERT_OK(mmapio_open(&m, p, &o));
    mmapio__sys_reset();
    mmapio__sys_record_start();
    ASSERT_OK(mmapio_write(m, 3 * ps + 1, "abc", 3));
    n = mmapio__sys_record_stop(rec, MAXREC);
    ASSERT(n >= 2);
    ASSERT_EQ(mmapio__sys_count("FlushViewOfFile"), 1);
    ASSERT_EQ(mmapio__sys_count("FlushFileBuffers"), 1);
    ASSERT_OK(mmapio_close(m));
  }

  /* Copy-on-write and anonymous maps: nothing reaches the OS. */
  ASSERT_OK(mmapio_open_cow(&m, p));
  n = record_flush(m, rec, 0, UINT64_MAX);
  ASSERT_EQ(n, 0);
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_anon(&m, 65536, 0));
  n = record_flush(m, rec, 0, UINT64_MAX);
  ASSERT_EQ(n, 0);
  ASSERT_OK(mmapio_close(m));

  /* A failing FlushFileBuffers is reported with the call and the path. */
  ASSERT_OK(mmapio_open_rw(&m, p));
  mmapio__sys_reset();
  mmapio__sys_fail_nth("FlushFileBuffers", 1, (int)ERROR_CRC);
  ASSERT_STATUS(mmapio_flush(m), MMAPIO_EIO);
  ASSERT_MSG_HAS("FlushFileBuffers(");
  ASSERT_MSG_HAS(p);
  mmapio__sys_reset();
  /* The failure is sticky: flushes and close report it until cleared. */
  ASSERT_STATUS(mmapio_flush(m), MMAPIO_EIO);
  ASSERT_MSG_HAS("FlushFileBuffers(");
  ASSERT_STATUS(mmapio_flush_error(m, NULL, NULL), MMAPIO_EIO);
  ASSERT_OK(mmapio_clear_error(m));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
  printf("win durability: ok\n");
  return 0;
}
#endif
