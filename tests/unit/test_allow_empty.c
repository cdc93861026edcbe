/*
 * MMAPIO_OPEN_ALLOW_EMPTY (include/mmapio.h, section 16): length 0 is a
 * valid state -- RW/RO/COW maps of an empty file, views of (0,0), reads and
 * writes of 0 bytes, growth from 0, shrink to 0, flushes of an empty map --
 * while the default keeps "Cannot map zero-length file".
 */
#include "test.h"

static void open_empty(mmapio_map **m, const char *p, mmapio_mode mode, uint32_t flags)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  o.flags = flags | MMAPIO_OPEN_ALLOW_EMPTY;
  ASSERT_OK(mmapio_open(m, p, &o));
}

static uint64_t disk_size(const char *p)
{
  struct stat st;
  ASSERT_EQ(stat(p, &st), 0);
  return (uint64_t)st.st_size;
}

int main(void)
{
  char *p = test_tmp_path("empty");
  ASSERT_EQ(test_write_file(p, "", 0), 0);
  mmapio_map *m = NULL;
  uint8_t buf[16];
  mmapio_view v;

  /* The default is unchanged. */
  ASSERT_ERR(mmapio_open_rw(&m, p), MMAPIO_ESIZE, "Cannot map zero-length file");
  ASSERT(m == NULL);
  if (MMAPIO_WITH_COW)
    ASSERT_ERR(mmapio_open_cow(&m, p), MMAPIO_ESIZE, "Cannot map zero-length file");

  /* RO and COW of an empty file. */
  open_empty(&m, p, MMAPIO_MODE_READ_ONLY, 0);
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_OK(mmapio_view_get(&v, m, 0, 0));
  ASSERT_EQ(v.len, 0);
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_close(m));
  if (MMAPIO_WITH_COW) { /* copy-on-write may be compiled out (minimal preset) */
    open_empty(&m, p, MMAPIO_MODE_COPY_ON_WRITE, 0);
    ASSERT_U64_EQ(mmapio_len(m), 0);
    ASSERT_OK(mmapio_read(m, 0, buf, 0));
    ASSERT_OK(mmapio_write(m, 0, buf, 0));
    ASSERT_STATUS(mmapio_write(m, 0, buf, 1), MMAPIO_EBOUNDS);
    ASSERT_STATUS(mmapio_resize(m, 10), MMAPIO_EMODE);
    ASSERT_OK(mmapio_close(m));
  }

  /* RW: everything of length 0 works, anything else is out of bounds. */
  open_empty(&m, p, MMAPIO_MODE_READ_WRITE, 0);
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT(mmapio_unsafe_ptr(m) == NULL);
  ASSERT_OK(mmapio_view_get(&v, m, 0, 0));
  mmapio_view_release(&v);
  ASSERT_STATUS(mmapio_view_get(&v, m, 1, 0), MMAPIO_EBOUNDS);
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, m, 0, 0));
  ASSERT_OK(mmapio_view_mut_release(&vm));
  ASSERT_OK(mmapio_read(m, 0, buf, 0));
  ASSERT_ERR(mmapio_read(m, 0, buf, 1), MMAPIO_EBOUNDS, bounds_msg(0, 1, 0));
  ASSERT_OK(mmapio_write(m, 0, "x", 0));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_flush_range(m, 0, 0));
  ASSERT_OK(mmapio_resize(m, 0));

  /* Growth from 0, content, shrink to 0, growth again reads zeros. */
  ASSERT_OK(mmapio_resize(m, 100));
  ASSERT_U64_EQ(mmapio_len(m), 100);
  ASSERT_U64_EQ(disk_size(p), 100);
  ASSERT_OK(mmapio_write(m, 90, "0123456789", 10));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_read(m, 90, buf, 10));
  ASSERT_MEMEQ(buf, "0123456789", 10);
  ASSERT_OK(mmapio_view_get(&v, m, 0, 0));
  ASSERT_STATUS(mmapio_resize(m, 0), MMAPIO_EDEADLK); /* own view */
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_resize(m, 0));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT(mmapio_unsafe_ptr(m) == NULL);
  ASSERT_U64_EQ(disk_size(p), 0);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_resize(m, 50));
  ASSERT_OK(mmapio_read(m, 40, buf, 10));
  static const uint8_t zero[10];
  ASSERT_MEMEQ(buf, zero, 10);
  ASSERT_OK(mmapio_resize(m, 0));
  ASSERT_OK(mmapio_close(m));
  ASSERT_U64_EQ(disk_size(p), 0);

  /* With max_size: growth from 0 reserves it, later growth stays in place. */
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_ALLOW_EMPTY;
  o.max_size = 1 * MIB;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_resize(m, 4096));
  void *base = mmapio_unsafe_ptr(m);
  ASSERT(base != NULL);
  ASSERT_OK(mmapio_resize(m, 8192));
  if (mmapio_capacity(m) >= 8192) ASSERT(mmapio_unsafe_ptr(m) == base);
  ASSERT_OK(mmapio_close(m));
  ASSERT_U64_EQ(disk_size(p), 8192);

  /* CREATE / TRUNCATE with size 0. */
  test_unlink(p);
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_ALLOW_EMPTY;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_OK(mmapio_resize(m, 10));
  ASSERT_OK(mmapio_close(m));
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_ALLOW_EMPTY;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_OK(mmapio_close(m));
  ASSERT_U64_EQ(disk_size(p), 0);
  /* Without the flag size 0 is still refused and nothing is created. */
  test_unlink(p);
  o.flags = MMAPIO_OPEN_CREATE;
  ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_ESIZE, "Size must be greater than zero");
  ASSERT_EQ(test_read_file(p, &(size_t){0}) == NULL, 1);

  /* Anonymous maps keep their rules; resize to 0 without the flag too. */
  ASSERT_STATUS(mmapio_anon(&m, 0, 0), MMAPIO_ESIZE);
  ASSERT_OK(mmapio_create_rw(&m, p, 10));
  ASSERT_ERR(mmapio_resize(m, 0), MMAPIO_ESIZE, "New size must be greater than zero");
  ASSERT_OK(mmapio_close(m));

  /* BORROW_FD is for mmapio_open_fd_opts only. */
  o.flags = MMAPIO_OPEN_BORROW_FD;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  ASSERT_U64_EQ(disk_size(p), 10);

  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
