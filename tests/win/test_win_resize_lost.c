/*
 * test_win_resize_lost.c -- a resize whose undo fails too (Win32 backend):
 * the new section cannot be made and neither can the old one again, so
 * nothing is mapped any more (src/win/map.c, mmapio__win_remap_undo). The
 * map must then be empty -- mmapio_len 0, reads, writes and views
 * EBOUNDS instead of touching a mapping that is gone (they crashed on a
 * NULL base before) -- the file must keep its old length and bytes (a
 * shrink's cut bytes included), the OS error of the first failure must
 * stay, and close must work (include/mmapio.h, mmapio_resize). Both
 * CreateFileMappingW calls are failed through the test hooks (platform.h).
 * A shrink's cut bytes go back into the file (mmapio__win_write_at); when
 * that fails too the detail says where the file reads zero. Resizing the
 * empty map again works, and when it fails it keeps the file's length and
 * bytes and the map empty (the failed growth truncated the file to 0).
 */
#include "test.h"

#ifndef _WIN32
int main(void) { TEST_SKIP("Win32 backend test; this is not a Windows build"); }
#else

#define OLD_LEN 200000u

/* The detail message ends in `tail`. */
static void msg_ends(const char *tail)
{
  const char *d = mmapio_last_error();
  size_t n = strlen(d), k = strlen(tail);
  if (n < k || strcmp(d + n - k, tail) != 0)
    TEST_FAIL_("detail \"%s\" does not end in \"%s\"", d, tail);
}

/* Check the file: `len` bytes, the pattern below `pat_to`, zero above. */
static void file_is(const char *p, HANDLE f, uint64_t len, uint64_t pat_to)
{
  uint8_t *back = (uint8_t *)malloc(len);
  ASSERT(back != NULL);
  ASSERT_U64_EQ(win_size(f), len);
  win_file_bytes(p, 0, back, len);
  ASSERT(os_check_pat(back, pat_to));
  for (uint64_t i = pat_to; i < len; i++)
    if (back[i] != 0) TEST_FAIL_("byte %llu of the file is %u, not 0", (unsigned long long)i, back[i]);
  free(back);
}

/* A map of OLD_LEN pattern bytes whose resize to `to` fails, and so does
 * mapping the old length again; `wfail`: writing a shrink's cut bytes back
 * fails too. */
static mmapio_map *lose(const char *p, uint64_t to, int wfail)
{
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_create_rw(&m, p, OLD_LEN));
  os_fill_pat((uint8_t *)mmapio_unsafe_ptr(m), OLD_LEN);
  ASSERT_OK(mmapio_flush(m));

  mmapio__sys_reset();
  mmapio__sys_fail_nth("CreateFileMappingW", 1, (int)ERROR_NOT_ENOUGH_MEMORY);
  mmapio__sys_fail_nth("CreateFileMappingW", 2, (int)ERROR_NOT_ENOUGH_MEMORY);
  if (wfail) mmapio__sys_fail_nth("WriteFile", 1, (int)ERROR_DISK_FULL);
  int rc = mmapio_resize(m, to);
  unsigned sections = mmapio__sys_count("CreateFileMappingW");
  unsigned writes = mmapio__sys_count("WriteFile");
  mmapio__sys_reset();
  ASSERT_STATUS(rc, MMAPIO_ENOMEM);
  ASSERT_EQ(sections, 2);
  /* A shrink's cut bytes go back into the file in one call (they are far
   * below MMAPIO__WIN_IO_MAX); a growth cut nothing. */
  ASSERT_EQ(writes, to < OLD_LEN ? 1 : 0);
  ASSERT(strstr(mmapio_last_error(), "again failed too") != NULL);
  msg_ends("(the map is empty now)");
  /* The status and OS error of the first failure, not of the write. */
  ASSERT_EQ(mmapio_last_os_error(), (int)ERROR_NOT_ENOUGH_MEMORY);
  return m;
}

/* Writing the cut bytes back fails: still reported as the double failure
 * it is, and the detail says where the file reads zero now. */
static void run_writeback_fails(void)
{
  char *p = test_tmp_path("wlostw");
  mmapio_map *m = lose(p, 100000, 1);
  char want[160];
  snprintf(want, sizeof want, "writing the %u bytes the shrink had cut off back into the file failed",
           OLD_LEN - 100000u);
  ASSERT_MSG_HAS(want);
  ASSERT_MSG_HAS("the file reads zero from offset 100000");
  ASSERT_U64_EQ(mmapio_len(m), 0);
  file_is(p, (HANDLE)mmapio_native_handle(m), OLD_LEN, 100000);
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio__os_unlink(p));
  free(p);
}

/* The map is empty and its file still holds the old bytes: resizes from
 * there, failing or not, keep them; the map works again after one. */
static void resize_again(const char *p, mmapio_map *m)
{
  HANDLE f = (HANDLE)mmapio_native_handle(m);
  uint8_t b[8];

  ASSERT_STATUS(mmapio_resize(m, 0), MMAPIO_ESIZE);
  ASSERT_MSG_HAS("New size must be greater than zero");
  file_is(p, f, OLD_LEN, OLD_LEN);

  /* Growth and shrink that fail when mapping: the file keeps its length
   * and bytes (a failed growth used to truncate it to 0: it put back the
   * map's length), the map stays empty and says so. */
  for (int k = 0; k < 2; k++) {
    uint64_t to = k == 0 ? 300000u : 50000u;
    mmapio__sys_reset();
    mmapio__sys_fail_nth("CreateFileMappingW", 1, (int)ERROR_NOT_ENOUGH_MEMORY);
    int rc = mmapio_resize(m, to);
    unsigned sections = mmapio__sys_count("CreateFileMappingW");
    mmapio__sys_reset();
    ASSERT_STATUS(rc, MMAPIO_ENOMEM);
    ASSERT_EQ(sections, 1); /* nothing to map again */
    msg_ends("(the map is still empty)");
    ASSERT_EQ(mmapio_last_os_error(), (int)ERROR_NOT_ENOUGH_MEMORY);
    ASSERT_U64_EQ(mmapio_len(m), 0);
    ASSERT_BOUNDS(mmapio_read(m, 0, b, 1), 0, 1, 0);
    ASSERT_OK(mmapio_flush(m));
    file_is(p, f, OLD_LEN, OLD_LEN);
  }

  /* Growth that works: the file's bytes, then zeros. */
  ASSERT_OK(mmapio_resize(m, 300000));
  ASSERT_U64_EQ(mmapio_len(m), 300000);
  uint8_t *all = (uint8_t *)malloc(300000);
  ASSERT(all != NULL);
  ASSERT_OK(mmapio_read(m, 0, all, 300000));
  ASSERT(os_check_pat(all, OLD_LEN));
  ASSERT(all_zero(all + OLD_LEN, 300000 - OLD_LEN));
  free(all);
  ASSERT_OK(mmapio_write(m, 300000 - 4, "tail", 4));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_U64_EQ(win_size(f), 300000);

  /* A real shrink, then reads, a view, a flush and close. */
  ASSERT_OK(mmapio_resize(m, 100000));
  ASSERT_U64_EQ(mmapio_len(m), 100000);
  ASSERT_OK(mmapio_read(m, 0, b, sizeof b));
  ASSERT(os_check_pat(b, sizeof b));
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, m, 99990, 10));
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_flush(m));
  file_is(p, f, 100000, 100000);
  ASSERT_OK(mmapio_close(m));
}

/* A shrink by more than 64 MiB keeps no copy of the cut bytes: when it
 * fails after the truncation (the new section cannot be made) and the old
 * length is mapped again, the detail says that they read zero now. */
static void run_big_shrink(void)
{
  char *p = test_tmp_path("wlostbig");
  const uint64_t big = ((uint64_t)64 << 20) + 131072u, to = 65536u;
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_SPARSE;
  o.size = big;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_write(m, 0, "head", 4));
  mmapio__sys_reset();
  mmapio__sys_fail_nth("CreateFileMappingW", 1, (int)ERROR_NOT_ENOUGH_MEMORY);
  int rc = mmapio_resize(m, to);
  mmapio__sys_reset();
  ASSERT_STATUS(rc, MMAPIO_ENOMEM);
  ASSERT_MSG_HAS("CreateFileMappingW(");
  ASSERT_MSG_HAS("were not kept (more than 67108864): the file reads zero from offset 65536");
  ASSERT_EQ(mmapio_last_os_error(), (int)ERROR_NOT_ENOUGH_MEMORY);
  ASSERT_U64_EQ(mmapio_len(m), big);
  ASSERT_U64_EQ(win_size((HANDLE)mmapio_native_handle(m)), big);
  uint8_t b[4];
  ASSERT_OK(mmapio_read(m, 0, b, 4));
  ASSERT_MEMEQ(b, "head", 4);
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio__os_unlink(p));
  free(p);
}

static void run(uint64_t to)
{
  char *p = test_tmp_path("wlost");
  uint8_t buf[16];
  uint8_t *back = (uint8_t *)malloc(OLD_LEN);
  ASSERT(back != NULL);
  mmapio_map *m = lose(p, to, 0);

  /* Nothing is mapped: an empty map, not a dangling one. */
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_BOUNDS(mmapio_read(m, 0, buf, sizeof buf), 0, sizeof buf, 0);
  ASSERT_BOUNDS(mmapio_write(m, 8, "x", 1), 8, 1, 0);
  mmapio_view v;
  ASSERT_STATUS(mmapio_view_get(&v, m, 0, 1), MMAPIO_EBOUNDS);

  /* The file as it was. */
  mmapio_native_file f = mmapio_native_handle(m);
  ASSERT_U64_EQ(win_size((HANDLE)f), OLD_LEN);
  win_file_bytes(p, 0, back, OLD_LEN);
  ASSERT(os_check_pat(back, OLD_LEN));

  resize_again(p, m);
  ASSERT_OK(mmapio__os_unlink(p));
  free(back);
  free(p);
}

int main(void)
{
  if (!WIN_HOOKS) TEST_SKIP("needs the test hooks (MMAPIO_TEST_HOOKS)");
  run(300000); /* growth */
  run(100000); /* shrink: the cut bytes were already truncated away */
  run_writeback_fails();
  run_big_shrink();
  printf("win_resize_lost: OK\n");
  return 0;
}
#endif
