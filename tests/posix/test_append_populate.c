/*
 * test_append_populate.c -- appends let the OS populate the pages ahead of
 * the logical end (src/append.c, Linux MADV_POPULATE_WRITE): one madvise per
 * 256 KiB of appends instead of one page fault per page, the populated pages
 * are in memory before anything is written to them, the bytes stay what the
 * appends wrote (zeros past them, and the file is cut to the logical end at
 * close), a failing or unknown advice changes nothing but the speed, and a
 * capacity shrunk below the populated part starts again from the next
 * append. Elsewhere (portable build, other systems) appends make no such call.
 */
#include "test.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

enum { REC = 4104, AHEAD = 256 * 1024 };

static void make_rec(uint8_t *r, uint32_t i)
{
  for (size_t k = 0; k < REC; k++) r[k] = (uint8_t)(i * 31u + k);
}

/* The kernel knows MADV_POPULATE_WRITE (Linux 5.14+). */
static int kernel_populates(void)
{
#if MMAPIO__LINUX && defined(MADV_POPULATE_WRITE)
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT(p != MAP_FAILED);
  int ok = madvise(p, 4096, MADV_POPULATE_WRITE) == 0;
  munmap(p, 4096);
  return ok;
#else
  return 0;
#endif
}

static mmapio_map *open_log(const char *p)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_ALLOW_EMPTY;
  o.size = 0;
  o.max_size = 64 * MIB;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  return m;
}

static void check_recs(mmapio_map *m, uint32_t n)
{
  uint8_t want[REC], back[REC];
  for (uint32_t i = 0; i < n; i++) {
    make_rec(want, i);
    ASSERT_OK(mmapio_read(m, (uint64_t)i * REC, back, REC));
    ASSERT_MEMEQ(back, want, REC);
  }
}

/* Appends records from..to-1 and checks that each lands where it belongs. */
static void append_recs(mmapio_map *m, uint32_t from, uint32_t to)
{
  uint8_t rec[REC];
  for (uint32_t i = from; i < to; i++) {
    make_rec(rec, i);
    uint64_t off = 0;
    ASSERT_OK(mmapio_append(m, rec, REC, &off));
    ASSERT_U64_EQ(off, (uint64_t)i * REC);
  }
}

int main(void)
{
  const int populates = kernel_populates();
  char *p = test_tmp_path("append_pop");

  /* 1000 records (about 4 MiB): a handful of populate calls, not one per
   * page, and the pages ahead of the logical end are in memory already. */
  mmapio_map *m = open_log(p);
  mmapio__sys_reset();
  const uint32_t n = 1000;
  append_recs(m, 0, n);
  unsigned calls = mmapio__sys_count("madvise");
  uint64_t end = (uint64_t)n * REC;
  if (populates && mmapio__sys_count(NULL) > 0) {
    ASSERT(calls >= 1u);
    /* one per 256 KiB, plus one per growth step (64 KiB, 128 KiB, ...),
     * against about 1000 page faults */
    ASSERT(calls <= (unsigned)(end / AHEAD) + 12u);
    uint64_t page = mmapio_page_size();
    uint64_t from = (end + page - 1) / page * page;
    uint64_t len = mmapio_len(m) - from < 128 * 1024 ? mmapio_len(m) - from : 128 * 1024;
    if (len > 0) {
      uint64_t res = 0, tot = 0;
      ASSERT_OK(mmapio_residency(&res, &tot, m, from, len));
      ASSERT_U64_EQ(res, tot); /* populated before any byte was written there */
    }
  } else if (!populates) {
    ASSERT_EQ(calls, 0u);
  }
  check_recs(m, n);
  /* Past the logical end the capacity reads as zeros. */
  uint8_t z[256];
  static const uint8_t zero[256];
  ASSERT_OK(mmapio_read(m, end, z, sizeof z));
  ASSERT_MEMEQ(z, zero, sizeof z);

  /* Shrink the capacity below the populated part: appends go on, correct. */
  ASSERT_OK(mmapio_set_logical_len(m, 10u * REC));
  ASSERT_OK(mmapio_resize(m, 12u * REC));
  append_recs(m, 10, 200);
  check_recs(m, 200);
  ASSERT_OK(mmapio_close(m));
  struct stat st;
  ASSERT_EQ(stat(p, &st), 0);
  ASSERT_U64_EQ((uint64_t)st.st_size, 200u * REC); /* cut to the logical end */

  /* A failing advice (EIO, then EINVAL as from an old kernel) changes
   * nothing but the speed; after EINVAL no more populate calls are made. */
  m = open_log(p);
  mmapio__sys_reset();
  mmapio__sys_fail_nth("madvise", 1, EIO);
  append_recs(m, 0, 100);
  check_recs(m, 100);
  ASSERT_OK(mmapio_close(m));
  if (populates && mmapio__sys_count(NULL) > 0) {
    m = open_log(p);
    mmapio__sys_reset();
    mmapio__sys_fail_nth("madvise", 1, EINVAL);
    append_recs(m, 0, 300);
    ASSERT_EQ(mmapio__sys_count("madvise"), 1u);
    check_recs(m, 300);
    ASSERT_OK(mmapio_close(m));
  }
  mmapio__sys_reset();
  test_unlink(p);
  free(p);
  return 0;
}
