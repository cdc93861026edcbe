/*
 * test_empty_window.c -- an empty window (MMAPIO_OPEN_ALLOW_EMPTY, offset at
 * the end of the file, length 0) resized (src/empty.c): the file length is
 * offset + the new length, as for any window opened with length 0
 * (include/mmapio.h, "Windows of a file"), and the bytes before the window
 * are never touched. The resize used to set the file length to the new
 * length itself: growth left the window past the end of the file (the next
 * read crashed with SIGBUS), and a shrink to 0 truncated the whole file.
 */
#include "test.h"

#define OFF 8197u /* not a multiple of the page size or of 64 KiB */

static void prefix_intact(const char *p, size_t want_len)
{
  size_t n = 0;
  uint8_t *b = (uint8_t *)test_read_file(p, &n);
  ASSERT(b != NULL);
  ASSERT_EQ(n, want_len);
  ASSERT(pat_check(b, OFF, 0, 9));
  free(b);
}

int main(void)
{
  char *p = mk_file("ewin", OFF, 9);
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_ALLOW_EMPTY;
  o.offset = OFF;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 0);

  /* Growth: the file grows past the window's start, which reads zero. */
  ASSERT_OK(mmapio_resize(m, 100));
  ASSERT_U64_EQ(mmapio_len(m), 100);
  ASSERT_EQ(file_len(p), OFF + 100);
  uint8_t b[100];
  ASSERT_OK(mmapio_read(m, 0, b, sizeof b));
  ASSERT(all_zero(b, sizeof b));
  ASSERT_OK(mmapio_write(m, 0, "win!", 4));
  ASSERT_OK(mmapio_flush(m));
  {
    size_t n = 0;
    uint8_t *f = (uint8_t *)test_read_file(p, &n);
    ASSERT(f != NULL && n == OFF + 100);
    ASSERT_MEMEQ(f + OFF, "win!", 4);
    free(f);
  }
  prefix_intact(p, OFF + 100);

  /* Down to 0: the file ends where the window starts. */
  ASSERT_OK(mmapio_resize(m, 0));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_EQ(file_len(p), OFF);
  prefix_intact(p, OFF);

  /* And up again, larger than the part before the window. */
  ASSERT_OK(mmapio_resize(m, 3 * OFF));
  ASSERT_EQ(file_len(p), 4 * OFF);
  ASSERT_OK(mmapio_read(m, 3 * OFF - 1, b, 1));
  ASSERT_EQ(b[0], 0);
  ASSERT_OK(mmapio_close(m));
  prefix_intact(p, 4 * OFF);

  test_unlink(p);
  free(p);
  printf("empty_window: OK\n");
  return 0;
}
