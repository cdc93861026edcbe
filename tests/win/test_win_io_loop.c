/*
 * test_win_io_loop.c -- the Win32 backend's whole-buffer transfers
 * (src/win/files.c, mmapio__win_write_at and mmapio__win_read_at; a
 * resize's undo writes a cut tail back with the first and reads one with
 * the second, src/win/map.c):
 *   - a transfer is split into ReadFile/WriteFile calls of at most the
 *     piece size (tiny pieces here, MMAPIO__WIN_IO_MAX = 1 GiB by
 *     default), each at the right offset, and moves every byte;
 *   - a length above 4 GiB is not cut by a DWORD cast: the first call asks
 *     for MMAPIO__WIN_IO_MAX bytes (the call is failed through the test
 *     hooks before it could touch the buffer);
 *   - the first failure stops the transfer and is returned with the count
 *     of bytes moved before it; nothing after it is written;
 *   - reading past the end is ERROR_HANDLE_EOF with the bytes there were;
 *   - the handle's file pointer stays where it was.
 */
#include "test.h"

#ifndef _WIN32
int main(void) { TEST_SKIP("Win32 backend test; this is not a Windows build"); }
#else

#define LEN 10333u
#define AT 5000u
#define MAXREC 64

static void set_ptr(HANDLE h, int64_t v)
{
  LARGE_INTEGER li;
  li.QuadPart = v;
  ASSERT(SetFilePointerEx(h, li, NULL, FILE_BEGIN));
}

static int64_t get_ptr(HANDLE h)
{
  LARGE_INTEGER zero, cur;
  zero.QuadPart = 0;
  ASSERT(SetFilePointerEx(h, zero, &cur, FILE_CURRENT));
  return (int64_t)cur.QuadPart;
}

int main(void)
{
  if (!WIN_HOOKS) TEST_SKIP("needs the test hooks (MMAPIO_TEST_HOOKS)");
  char *p = test_tmp_path("wioloop");
  HANDLE h = win_open_sized(p, AT);
  uint8_t *src = (uint8_t *)malloc(LEN), *back = (uint8_t *)malloc(AT + LEN + 10);
  ASSERT(src != NULL && back != NULL);
  os_fill_pat(src, LEN);
  mmapio__sys_call rec[MAXREC];
  uint64_t done = 0;

  /* Pieces of 1000 bytes: 11 calls, back to back, every byte written. */
  set_ptr(h, 17);
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_EQ(mmapio__win_write_at(h, AT, src, LEN, 1000, &done), 0);
  size_t n = mmapio__sys_record_stop(rec, MAXREC);
  mmapio__sys_reset();
  ASSERT_U64_EQ(done, LEN);
  ASSERT_EQ(get_ptr(h), 17);
  size_t writes = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(rec[i].name, "WriteFile") != 0) continue;
    ASSERT_U64_EQ(rec[i].a, AT + 1000u * writes);
    ASSERT_U64_EQ(rec[i].b, writes < 10 ? 1000u : LEN - 10000u);
    writes++;
  }
  ASSERT_EQ(writes, 11);
  ASSERT_U64_EQ(win_size(h), AT + LEN);
  win_file_bytes(p, AT, back, LEN);
  ASSERT(os_check_pat(back, LEN));

  /* Read back in pieces of 777 bytes. */
  memset(back, 0, LEN);
  mmapio__sys_reset();
  ASSERT_EQ(mmapio__win_read_at(h, AT, back, LEN, 777, &done), 0);
  ASSERT_U64_EQ(done, LEN);
  ASSERT_EQ(mmapio__sys_count("ReadFile"), (LEN + 776u) / 777u);
  ASSERT(os_check_pat(back, LEN));
  ASSERT_EQ(get_ptr(h), 17);

  /* The default piece: one call for all of it. */
  mmapio__sys_reset();
  ASSERT_EQ(mmapio__win_write_at(h, AT, src, LEN, 0, &done), 0);
  ASSERT_EQ(mmapio__sys_count("WriteFile"), 1);
  ASSERT_U64_EQ(done, LEN);

  /* The 4th call fails: three pieces are written, the error comes back,
   * no later call is made and nothing after the third piece changes. */
  char *p2 = test_tmp_path("wioloop2");
  HANDLE h2 = win_open_sized(p2, 1);
  mmapio__sys_reset();
  mmapio__sys_fail_nth("WriteFile", 4, (int)ERROR_DISK_FULL);
  ASSERT_EQ(mmapio__win_write_at(h2, 0, src, LEN, 1000, &done), ERROR_DISK_FULL);
  ASSERT_EQ(mmapio__sys_count("WriteFile"), 4);
  mmapio__sys_reset();
  ASSERT_U64_EQ(done, 3000);
  ASSERT_U64_EQ(win_size(h2), 3000);
  CloseHandle(h2);
  ASSERT_OK(mmapio__os_unlink(p2));
  free(p2);

  /* Reading past the end of the file: what there is, then EOF. */
  mmapio__sys_reset();
  ASSERT_EQ(mmapio__win_read_at(h, AT + LEN - 100, back, 1000, 64, &done), ERROR_HANDLE_EOF);
  ASSERT_U64_EQ(done, 100);
  ASSERT_MEMEQ(back, src + LEN - 100, 100);
  /* A failing read: its error, with the bytes read before it. */
  mmapio__sys_fail_nth("ReadFile", 2, (int)ERROR_CRC);
  ASSERT_EQ(mmapio__win_read_at(h, AT, back, LEN, 1000, &done), ERROR_CRC);
  ASSERT_U64_EQ(done, 1000);
  mmapio__sys_reset();

  /* More than 4 GiB at once: the first call asks for 1 GiB, not for the
   * length cut to 32 bits (100 bytes). The injected failure keeps the
   * call from reading the (small) buffer. */
  const uint64_t huge = ((uint64_t)1 << 32) + 100u;
  mmapio__sys_reset();
  mmapio__sys_record_start();
  mmapio__sys_fail_nth("WriteFile", 1, (int)ERROR_DISK_FULL);
  ASSERT_EQ(mmapio__win_write_at(h, 0, src, huge, 0, &done), ERROR_DISK_FULL);
  mmapio__sys_fail_nth("ReadFile", 1, (int)ERROR_CRC);
  ASSERT_EQ(mmapio__win_read_at(h, 0, back, huge, 0, &done), ERROR_CRC);
  n = mmapio__sys_record_stop(rec, MAXREC);
  mmapio__sys_reset();
  ASSERT_U64_EQ(done, 0);
  size_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(rec[i].name, "WriteFile") != 0 && strcmp(rec[i].name, "ReadFile") != 0) continue;
    ASSERT_U64_EQ(rec[i].b, MMAPIO__WIN_IO_MAX);
    seen++;
  }
  ASSERT_EQ(seen, 2);
  ASSERT_U64_EQ(win_size(h), AT + LEN);

  CloseHandle(h);
  ASSERT_OK(mmapio__os_unlink(p));
  free(src);
  free(back);
  free(p);
  printf("win_io_loop: OK\n");
  return 0;
}
#endif
