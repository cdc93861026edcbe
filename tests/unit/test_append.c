/*
 * mmapio_append / mmapio_logical_len / mmapio_set_logical_len
 * (include/mmapio.h, section 17): appends land at the logical end, the
 * capacity grows in a few geometric steps (in place within max_size), the
 * file is cut to the logical end at close, concurrent appenders get
 * disjoint ranges, and shrinking the logical end clears what was cut off.
 */
#include "test.h"

#define REC 4104u /* 4 + 4096 + 4, a journal-like record */

static void make_rec(uint8_t *r, uint32_t tag)
{
  memcpy(r, &tag, 4);
  for (uint32_t i = 0; i < 4096u; i++) r[4 + i] = (uint8_t)(tag * 31u + i);
  memcpy(r + 4100, &tag, 4);
}

static uint64_t disk_size(const char *p)
{
  struct stat st;
  ASSERT_EQ(stat(p, &st), 0);
  return (uint64_t)st.st_size;
}

typedef struct app_arg { mmapio_map *m; uint32_t first, n; uint64_t *offs; } app_arg;

static void *appender(void *p)
{
  app_arg *a = (app_arg *)p;
  uint8_t rec[REC];
  for (uint32_t i = 0; i < a->n; i++) {
    make_rec(rec, a->first + i);
    THREAD_CHECK(mmapio_append(a->m, rec, REC, &a->offs[i]) == MMAPIO_OK);
  }
  return NULL;
}

int main(void)
{
  char *p = mk_file("append", 100, 7);
  mmapio_map *m = NULL;
  uint8_t rec[REC], back[REC];

  /* Bad input and modes. */
  ASSERT_STATUS(mmapio_append(NULL, rec, 1, NULL), MMAPIO_EINVAL);
  ASSERT_U64_EQ(mmapio_logical_len(NULL), 0);
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_STATUS(mmapio_append(m, rec, 1, NULL), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_set_logical_len(m, 1), MMAPIO_EMODE);
  ASSERT_U64_EQ(mmapio_logical_len(m), 100);
  ASSERT_OK(mmapio_close(m));

  mmapio_options o;
  mmapio_options_init(&o);
  o.max_size = 64 * MIB;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_STATUS(mmapio_append(m, NULL, 1, NULL), MMAPIO_EINVAL);
  ASSERT_U64_EQ(mmapio_logical_len(m), 100);
  uint64_t off = 1;
  ASSERT_OK(mmapio_append(m, NULL, 0, &off));
  ASSERT_U64_EQ(off, 100);
  void *base = mmapio_unsafe_ptr(m);
  uint64_t last_len = mmapio_len(m);
  unsigned grows = 0;
  const uint32_t n = 2000;
  for (uint32_t i = 0; i < n; i++) {
    make_rec(rec, i);
    ASSERT_OK(mmapio_append(m, rec, REC, &off));
    ASSERT_U64_EQ(off, 100 + (uint64_t)i * REC);
    if (mmapio_len(m) != last_len) {
      grows++;
      last_len = mmapio_len(m);
    }
  }
  uint64_t end = 100 + (uint64_t)n * REC;
  ASSERT_U64_EQ(mmapio_logical_len(m), end);
  ASSERT(mmapio_len(m) >= end);
  /* ~8 MiB in geometric steps from 64 KiB: a handful of growths, not 2000. */
  ASSERT(grows <= 12);
  if (mmapio_capacity(m) >= 64 * MIB) ASSERT(mmapio_unsafe_ptr(m) == base);
  ASSERT_OK(mmapio_read(m, 100 + 5 * REC, back, REC));
  make_rec(rec, 5);
  ASSERT_MEMEQ(back, rec, REC);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  ASSERT_U64_EQ(disk_size(p), end); /* capacity cut at close */

  /* Reopen: the logical end starts at the file length. Shrinking it clears
   * the cut bytes; growing it again reads zeros; close cuts. */
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_logical_len(m), end);
  ASSERT_OK(mmapio_set_logical_len(m, 100 + REC));
  ASSERT_U64_EQ(mmapio_logical_len(m), 100 + REC);
  ASSERT_OK(mmapio_set_logical_len(m, 100 + 2 * REC));
  ASSERT_OK(mmapio_read(m, 100 + REC, back, REC));
  static const uint8_t zero[REC];
  ASSERT_MEMEQ(back, zero, REC);
  ASSERT_OK(mmapio_set_logical_len(m, 100 + REC));
  make_rec(rec, 77);
  ASSERT_OK(mmapio_append(m, rec, REC, &off));
  ASSERT_U64_EQ(off, 100 + REC);
  ASSERT_OK(mmapio_close(m));
  ASSERT_U64_EQ(disk_size(p), 100 + 2 * REC);

  /* Concurrent appenders: every record exactly once, at the offset each
   * appender was told. */
  ASSERT_OK(mmapio_open(&m, p, &o));
  enum { T = 4, PER = 300 };
  static uint64_t offs[T][PER];
  app_arg args[T];
  test_thread th[T];
  for (int t = 0; t < T; t++) {
    args[t].m = m;
    args[t].first = 1000u + (uint32_t)t * PER;
    args[t].n = PER;
    args[t].offs = offs[t];
    thread_start(&th[t], appender, &args[t]);
  }
  for (int t = 0; t < T; t++) thread_join(&th[t]);
  uint64_t start = 100 + 2 * REC;
  ASSERT_U64_EQ(mmapio_logical_len(m), start + (uint64_t)T * PER * REC);
  static uint8_t seen[T * PER];
  for (int t = 0; t < T; t++)
    for (int i = 0; i < PER; i++) {
      uint64_t at = offs[t][i];
      ASSERT((at - start) % REC == 0);
      ASSERT_OK(mmapio_read(m, at, back, REC));
      make_rec(rec, args[t].first + (uint32_t)i);
      ASSERT_MEMEQ(back, rec, REC);
      uint64_t k = (at - start) / REC;
      ASSERT(k < T * PER && !seen[k]);
      seen[k] = 1;
    }
  ASSERT_OK(mmapio_close(m));
  ASSERT_U64_EQ(disk_size(p), start + (uint64_t)T * PER * REC);

  /* Without max_size and on an empty file (ALLOW_EMPTY): growth moves. */
  test_unlink(p);
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_ALLOW_EMPTY;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_logical_len(m), 0);
  for (uint32_t i = 0; i < 100; i++) {
    make_rec(rec, i);
    ASSERT_OK(mmapio_append(m, rec, REC, &off));
    ASSERT_U64_EQ(off, (uint64_t)i * REC);
  }
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, m, 0, 1));
  /* The next growth would move the mapping under the caller's own view. */
  uint64_t cap = mmapio_len(m), le = mmapio_logical_len(m);
  while (mmapio_logical_len(m) + REC <= cap) ASSERT_OK(mmapio_append(m, rec, REC, NULL));
  le = mmapio_logical_len(m);
  ASSERT_STATUS(mmapio_append(m, rec, REC, NULL), MMAPIO_EDEADLK);
  ASSERT_U64_EQ(mmapio_logical_len(m), le); /* unchanged on failure */
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_append(m, rec, REC, NULL));
  ASSERT_OK(mmapio_set_logical_len(m, 0));
  ASSERT_OK(mmapio_close(m));
  ASSERT_U64_EQ(disk_size(p), 0);

  /* Anonymous maps have a logical end too (no file to cut). */
  ASSERT_OK(mmapio_anon(&m, 4096, 0));
  ASSERT_OK(mmapio_append(m, rec, REC, &off));
  ASSERT_U64_EQ(off, 4096);
  ASSERT_OK(mmapio_close(m));

  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
