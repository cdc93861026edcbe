/*
 * mmapio_anon (include/mmapio.h section 4): private and shared anonymous maps, zero
 * content, no path or file, flush a no-op, resize keeps content, shared
 * maps are visible to fork() children and private ones are not.
 */
#include "test.h"

#ifndef _WIN32
#  include <sys/wait.h>
#endif

static void check_basic(uint32_t flags)
{
  size_t ps = mmapio_page_size();
  mmapio_map *m = BAD_MAP;
  ASSERT_OK(mmapio_anon(&m, 3 * ps + 1, flags));
  ASSERT(m != NULL && m != BAD_MAP);
  ASSERT_U64_EQ(mmapio_len(m), 3 * ps + 1);
  ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_WRITE);
  ASSERT(mmapio_path(m) == NULL);
  ASSERT(mmapio_native_handle(m) == MMAPIO_INVALID_FILE);
  ASSERT(all_bytes(mmapio_unsafe_ptr(m), 3 * ps + 1, 0));
  uint8_t buf[300], got[300];
  pat_fill(buf, sizeof buf, 0, 31);
  ASSERT_OK(mmapio_write(m, 3 * ps + 1 - sizeof buf, buf, sizeof buf));
  ASSERT_OK(mmapio_read(m, 3 * ps + 1 - sizeof got, got, sizeof got));
  ASSERT_MEMEQ(buf, got, sizeof buf);
  ASSERT_BOUNDS(mmapio_write(m, 3 * ps + 1 - 10, buf, 11), 3 * ps + 1 - 10, 11, 3 * ps + 1);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_flush_range(m, 0, 10));
  ASSERT_BOUNDS(mmapio_flush_range(m, 3 * ps + 2, 1), 3 * ps + 2, 1, 3 * ps + 1);

  /* Resize keeps the content below min(old, new), grown bytes read zero. */
  ASSERT_OK(mmapio_write(m, 0, buf, sizeof buf));
  ASSERT_OK(mmapio_resize(m, 10 * ps));
  ASSERT_U64_EQ(mmapio_len(m), 10 * ps);
  ASSERT_OK(mmapio_read(m, 0, got, sizeof got));
  ASSERT_MEMEQ(buf, got, sizeof buf);
  ASSERT(all_bytes((uint8_t *)mmapio_unsafe_ptr(m) + 3 * ps + 1, 7 * ps - 1, 0));
  ASSERT_OK(mmapio_resize(m, 100));
  ASSERT_U64_EQ(mmapio_len(m), 100);
  ASSERT_OK(mmapio_read(m, 0, got, 100));
  ASSERT_MEMEQ(buf, got, 100);
  ASSERT_OK(mmapio_resize(m, 2 * ps));
  ASSERT(all_bytes((uint8_t *)mmapio_unsafe_ptr(m) + 100, 2 * ps - 100, 0));
  ASSERT_ERR(mmapio_resize(m, 0), MMAPIO_ESIZE, MSG_NEW_SIZE_ZERO);
  ASSERT_U64_EQ(mmapio_len(m), 2 * ps);
  ASSERT_OK(mmapio_close(m));
}

static void check_errors(void)
{
  mmapio_map *m = BAD_MAP;
  ASSERT_ERR(mmapio_anon(&m, 0, 0), MMAPIO_ESIZE, MSG_SIZE_ZERO);
  ASSERT(m == NULL);
  m = BAD_MAP;
  ASSERT_ERR(mmapio_anon(&m, MMAPIO_MAX_SIZE + 1, 0), MMAPIO_ESIZE, size_max_msg(MMAPIO_MAX_SIZE + 1));
  ASSERT(m == NULL);
  ASSERT_ERR(mmapio_anon(&m, UINT64_MAX, MMAPIO_ANON_SHARED), MMAPIO_ESIZE, size_max_msg(UINT64_MAX));
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_anon(&m, 4096, 0x2u), MMAPIO_EINVAL);
  ASSERT(m == NULL);
  ASSERT_STATUS(mmapio_anon(&m, 4096, 0x80000000u), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_anon(NULL, 4096, 0), MMAPIO_EINVAL);
  /* A size equal to the maximum passes the size check: OK or ENOMEM
   * (address space), never ESIZE. */
  int s = mmapio_anon(&m, MMAPIO_MAX_SIZE, 0);
  if (s == MMAPIO_OK) {
    ASSERT_U64_EQ(mmapio_len(m), MMAPIO_MAX_SIZE);
    ASSERT_OK(mmapio_close(m));
  } else {
    ASSERT_STATUS(s, MMAPIO_ENOMEM);
  }
}

#ifndef _WIN32
/* The child writes `v` through the map; returns what the parent then reads. */
static uint8_t child_writes(uint32_t flags)
{
  mmapio_map *m;
  ASSERT_OK(mmapio_anon(&m, 4096, flags));
  uint8_t v = 0;
  ASSERT_OK(mmapio_write(m, 100, &v, 1));
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    uint8_t w = 0xC3;
    int ok = mmapio_write(m, 100, &w, 1) == MMAPIO_OK;
    _exit(ok ? 0 : 3);
  }
  int st = 0;
  ASSERT(waitpid(pid, &st, 0) == pid);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ASSERT_OK(mmapio_read(m, 100, &v, 1));
  ASSERT_OK(mmapio_close(m));
  return v;
}
#endif

int main(void)
{
  check_basic(0);
  check_basic(MMAPIO_ANON_SHARED);
  check_errors();
#ifndef _WIN32
  ASSERT_EQ(child_writes(MMAPIO_ANON_SHARED), 0xC3);
  ASSERT_EQ(child_writes(0), 0);
#else
  printf("fork() visibility checks are POSIX only\n");
#endif
  return 0;
}
