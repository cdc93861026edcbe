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
 */
#include "test.h"

#ifndef _WIN32
int main(void) { TEST_SKIP("Win32 backend test; this is not a Windows build"); }
#else

#define OLD_LEN 200000u

static void run(uint64_t to)
{
  char *p = test_tmp_path("wlost");
  mmapio_map *m = NULL;
  uint8_t buf[16];
  uint8_t *back = (uint8_t *)malloc(OLD_LEN);
  ASSERT(back != NULL);
  ASSERT_OK(mmapio_create_rw(&m, p, OLD_LEN));
  os_fill_pat((uint8_t *)mmapio_unsafe_ptr(m), OLD_LEN);
  ASSERT_OK(mmapio_flush(m));

  mmapio__sys_reset();
  mmapio__sys_fail_nth("CreateFileMappingW", 1, (int)ERROR_NOT_ENOUGH_MEMORY);
  mmapio__sys_fail_nth("CreateFileMappingW", 2, (int)ERROR_NOT_ENOUGH_MEMORY);
  int rc = mmapio_resize(m, to);
  unsigned sections = mmapio__sys_count("CreateFileMappingW");
  mmapio__sys_reset();
  ASSERT_STATUS(rc, MMAPIO_ENOMEM);
  ASSERT_EQ(sections, 2);
  ASSERT(strstr(mmapio_last_error(), "again failed too (the map is empty now)") != NULL);
  ASSERT_EQ(mmapio_last_os_error(), (int)ERROR_NOT_ENOUGH_MEMORY);

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

  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio__os_unlink(p));
  free(back);
  free(p);
}

int main(void)
{
  if (!WIN_HOOKS) TEST_SKIP("needs the test hooks (MMAPIO_TEST_HOOKS)");
  run(300000); /* growth */
  run(100000); /* shrink: the cut bytes were already truncated away */
  printf("win_resize_lost: OK\n");
  return 0;
}
#endif
