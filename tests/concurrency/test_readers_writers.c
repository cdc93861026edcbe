/*
 * "Many readers, one writer" under load: 4 readers, 2 writers and 1 resizer
 * share one READ_WRITE map for a fixed number of iterations (never a time).
 * Writers replace whole 64-byte records (all bytes equal) under the
 * exclusive hold, through write views and mmapio_write; readers check that
 * every record they see through a view or mmapio_read is consistent; the
 * resizer grows and shrinks the map (moving resizes) past the records. The
 * final content must match what each writer wrote last. Runs under TSan.
 */
#include "test.h"

#define REC 64u
#define NREC 128u
#define NREADERS 4
#define NWRITERS 2
#define ITERS 3000
#define RESIZES 150

static mmapio_map *M;
static uint64_t BASE;
static uint8_t last_val[NREC]; /* written by the record's owner only */

static void *reader(void *arg)
{
  unsigned id = (unsigned)(uintptr_t)arg;
  uint8_t buf[REC];
  for (unsigned i = 0; i < ITERS; i++) {
    unsigned r = (i * 31u + id * 7u) % NREC;
    if (i % 2 == 0) {
      mmapio_view v;
      THREAD_CHECK(mmapio_view_get(&v, M, (uint64_t)r * REC, REC) == MMAPIO_OK);
      THREAD_CHECK(v.len == REC);
      int ok = all_bytes(v.data, REC, v.data[0]);
      mmapio_view_release(&v);
      THREAD_CHECK(ok);
    } else {
      THREAD_CHECK(mmapio_read(M, (uint64_t)r * REC, buf, REC) == MMAPIO_OK);
      THREAD_CHECK(all_bytes(buf, REC, buf[0]));
    }
    if (i % 100 == 0) {
      /* All records at once: each one whole. */
      mmapio_view v;
      THREAD_CHECK(mmapio_view_get(&v, M, 0, (uint64_t)NREC * REC) == MMAPIO_OK);
      int ok = 1;
      for (unsigned k = 0; k < NREC && ok; k++) ok = all_bytes(v.data + k * REC, REC, v.data[k * REC]);
      mmapio_view_release(&v);
      THREAD_CHECK(ok);
      THREAD_CHECK(mmapio_len(M) >= BASE);
    }
  }
  return NULL;
}

static void *writer(void *arg)
{
  unsigned id = (unsigned)(uintptr_t)arg;
  uint8_t buf[REC];
  for (unsigned i = 0; i < ITERS; i++) {
    unsigned r = id + NWRITERS * (i % (NREC / NWRITERS));
    uint8_t v = (uint8_t)(i * 7u + id * 13u + 1u);
    if (v == 0) v = 1;
    if (i % 2 == 0) {
      mmapio_view_mut w;
      THREAD_CHECK(mmapio_view_get_mut(&w, M, (uint64_t)r * REC, REC) == MMAPIO_OK);
      memset(w.data, v, REC);
      THREAD_CHECK(mmapio_view_mut_release(&w) == MMAPIO_OK);
    } else {
      memset(buf, v, REC);
      THREAD_CHECK(mmapio_write(M, (uint64_t)r * REC, buf, REC) == MMAPIO_OK);
    }
    last_val[r] = v;
  }
  return NULL;
}

static void *resizer(void *arg)
{
  size_t ps = mmapio_page_size();
  (void)arg;
  for (unsigned i = 0; i < RESIZES; i++) {
    THREAD_CHECK(mmapio_resize(M, BASE + (uint64_t)((i % 4) + 1) * ps) == MMAPIO_OK);
    THREAD_CHECK(mmapio_resize(M, BASE) == MMAPIO_OK);
  }
  return NULL;
}

int main(void)
{
  size_t ps = mmapio_page_size();
  BASE = mmapio_align_up((uint64_t)NREC * REC, ps);
  char *p = test_tmp_path("rw-conc");
  ASSERT_OK(mmapio_create_rw(&M, p, BASE));

  test_thread t[NREADERS + NWRITERS + 1];
  int n = 0;
  for (int i = 0; i < NWRITERS; i++) thread_start(&t[n++], writer, (void *)(uintptr_t)i);
  for (int i = 0; i < NREADERS; i++) thread_start(&t[n++], reader, (void *)(uintptr_t)i);
  thread_start(&t[n++], resizer, NULL);
  int failed = 0;
  for (int i = 0; i < n; i++)
    if (thread_join(&t[i]) != NULL) failed++;
  if (failed) TEST_FAIL_("%d threads reported failures", failed);

  ASSERT_U64_EQ(mmapio_len(M), BASE);
  uint8_t *all = (uint8_t *)malloc((size_t)BASE);
  ASSERT(all != NULL);
  ASSERT_OK(mmapio_read(M, 0, all, (size_t)BASE));
  for (unsigned r = 0; r < NREC; r++)
    if (!all_bytes(all + r * REC, REC, last_val[r]))
      TEST_FAIL_("record %u: first byte %u, want all %u", r, all[r * REC], last_val[r]);
  ASSERT(all_bytes(all + NREC * REC, (size_t)(BASE - NREC * REC), 0));
  ASSERT_OK(mmapio_close(M));
  /* And the file holds the same. */
  size_t fl = 0;
  uint8_t *d = (uint8_t *)test_read_file(p, &fl);
  ASSERT(d != NULL && fl == BASE);
  ASSERT_MEMEQ(d, all, (size_t)BASE);
  free(d);
  free(all);
  test_unlink(p);
  free(p);
  return 0;
}
