/*
 * test_file_gone.c -- the file changes name, disappears or loses its
 * permissions while it is mapped. The mapping keeps the file's data alive:
 *   - removed: reads, writes and flushes keep working on the mapped data;
 *   - renamed: the same, and the writes land in the file under its new name;
 *   - chmod 000: the open map keeps reading, writing and flushing (access is
 *     checked at open time only).
 * POSIX semantics; on Windows remove/rename of a mapped file opened with
 * FILE_SHARE_DELETE behaves the same, so the test runs there too.
 */
#include "internal.h"
#include "test.h"

#include <stdio.h>
#ifndef _WIN32
#  include <sys/stat.h>
#endif

#define LEN (64u * 1024u)

static uint8_t pat(size_t i) { return (uint8_t)(i * 17u + 11u); }

static void fill(const char *path)
{
  uint8_t *d = (uint8_t *)malloc(LEN);
  ASSERT(d != NULL);
  for (size_t i = 0; i < LEN; i++) d[i] = pat(i);
  ASSERT_EQ(test_write_file(path, d, LEN), 0);
  free(d);
}

static void use_map(mmapio_map *m, uint8_t tag)
{
  uint8_t *buf = (uint8_t *)malloc(LEN);
  ASSERT(buf != NULL);
  ASSERT_OK(mmapio_read(m, 0, buf, LEN));
  for (size_t i = 1000; i < LEN; i++) ASSERT_EQ(buf[i], pat(i));
  memset(buf, tag, 1000);
  ASSERT_OK(mmapio_write(m, 0, buf, 1000));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_read(m, 0, buf, 1000));
  for (size_t i = 0; i < 1000; i++) ASSERT_EQ(buf[i], tag);
  ASSERT_OK(mmapio_probe(m, 0, LEN));
  free(buf);
}

int main(void)
{
  mmapio_map *m = NULL, *r = NULL;

  /* Removed while mapped. */
  char *p1 = test_tmp_path("gone");
  fill(p1);
  ASSERT_OK(mmapio_open_rw(&m, p1));
  ASSERT_OK(mmapio_open_ro(&r, p1));
  ASSERT_EQ(remove(p1), 0);
  use_map(m, 0xA1);
  use_map(m, 0xA2);
  uint8_t b[4];
  ASSERT_OK(mmapio_read(r, 0, b, 4)); /* shared pages: the RO map sees the write */
  ASSERT_EQ(b[0], 0xA2);
  ASSERT_OK(mmapio_close(r));
  ASSERT_OK(mmapio_close(m));

  /* Renamed while mapped. */
  char *p2 = test_tmp_path("ren-a"), *p3 = test_tmp_path("ren-b");
  fill(p2);
  ASSERT_OK(mmapio_open_rw(&m, p2));
  ASSERT_EQ(rename(p2, p3), 0);
  use_map(m, 0xB1);
  ASSERT_OK(mmapio_close(m));
  size_t n = 0;
  uint8_t *back = (uint8_t *)test_read_file(p3, &n);
  ASSERT(back != NULL);
  ASSERT_EQ(n, LEN);
  for (size_t i = 0; i < 1000; i++) ASSERT_EQ(back[i], 0xB1);
  for (size_t i = 1000; i < LEN; i++) ASSERT_EQ(back[i], pat(i));
  free(back);
  test_unlink(p3);

#ifndef _WIN32
  /* Permissions removed while mapped. */
  char *p4 = test_tmp_path("chmod");
  fill(p4);
  ASSERT_OK(mmapio_open_rw(&m, p4));
  ASSERT_EQ(chmod(p4, 0), 0);
  use_map(m, 0xC1);
  ASSERT_OK(mmapio_resize(m, 2 * LEN)); /* the descriptor we hold still allows it */
  ASSERT_U64_EQ(mmapio_len(m), 2 * LEN);
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(chmod(p4, 0600), 0);
  back = (uint8_t *)test_read_file(p4, &n);
  ASSERT(back != NULL);
  ASSERT_EQ(n, 2 * LEN);
  ASSERT_EQ(back[0], 0xC1);
  ASSERT_EQ(back[LEN + 5], 0);
  free(back);
  test_unlink(p4);
  free(p4);
#endif

  free(p1); free(p2); free(p3);
  printf("file gone: removed, renamed and chmod-000 files stay usable through their maps\n");
  return 0;
}
