/*
 * Map objects are kept and reused (src/lifetime.c): a closed map's object
 * becomes the next map, keeping its initialised locks and its index into
 * the threads' slot tables; a short path is stored in the object, a longer
 * one allocated. Checked here: paths on both sides of the inline limit are
 * kept whole (mmapio_path, error messages); a reused object's locks work
 * (views, write views, resizes); the calling thread's stale slot of the
 * previous map is not mistaken for one of the new map; the registry of live
 * maps returns to its size (white-box: internal.h).
 */
#include "test.h"

#include "internal.h"

/* A path of at least `want` bytes: the tag is padded with 'p'. */
static char *long_file(size_t want, unsigned seed)
{
  char tag[256];
  char *probe = test_tmp_path("x"); /* the path of a 1-byte tag */
  size_t base = strlen(probe);
  free(probe);
  size_t n = want > base ? want - base + 1 : 1;
  if (n > 200) n = 200; /* a file name stays under NAME_MAX */
  memset(tag, 'p', n);
  tag[n] = '\0';
  return mk_file(tag, 4096, seed);
}

static void test_paths(void)
{
  size_t lens[] = {10, MMAPIO__PATH_INLINE - 2, MMAPIO__PATH_INLINE - 1, MMAPIO__PATH_INLINE,
                   MMAPIO__PATH_INLINE + 1, 230};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    char *p = long_file(lens[i], (unsigned)i + 1);
    for (int round = 0; round < 3; round++) {
      mmapio_map *m;
      ASSERT_OK(mmapio_open_ro(&m, p));
      ASSERT_STREQ(mmapio_path(m), p);
      mmapio_view v;
      ASSERT_OK(mmapio_view_get(&v, m, 0, 16));
      ASSERT_EQ(mmapio_close(m), MMAPIO_EBUSY); /* the message names the path */
      ASSERT(strstr(mmapio_last_error(), p) != NULL);
      mmapio_view_release(&v);
      ASSERT_OK(mmapio_close(m));
    }
    test_unlink(p);
    free(p);
  }
}

/* Open, use and close maps of two files in turn, so that each map is a
 * reused object whose previous map this thread used. */
static void test_reused_objects_work(void)
{
  char *a = mk_file("reuse-a", 8192, 21);
  char *b = mk_file("reuse-b", 8192, 22);
  size_t base = mmapio__registry_count();
  for (int i = 0; i < 200; i++) {
    const char *p = (i & 1) ? b : a;
    unsigned seed = (i & 1) ? 22u : 21u;
    mmapio_map *m;
    ASSERT_OK(mmapio_open_rw(&m, p));
    ASSERT_EQ(mmapio__registry_count(), base + 1);
    ASSERT_EQ(mmapio_len(m), 8192u);
    mmapio_view v;
    ASSERT_OK(mmapio_view_get(&v, m, 100, 200));
    ASSERT(pat_check(v.data, v.len, 100, seed));
    mmapio_view_release(&v);
    ASSERT_EQ(mmapio__slots_total(m), 1u); /* this thread's slot of *this* map only */
    mmapio_view_mut w;
    ASSERT_OK(mmapio_view_get_mut(&w, m, 0, 8));
    ASSERT_OK(mmapio_view_mut_release(&w));
    ASSERT_OK(mmapio_resize(m, 16384)); /* resize lock, stable lock */
    ASSERT_OK(mmapio_resize(m, 8192));
    ASSERT_OK(mmapio_close(m));
    ASSERT_EQ(mmapio__registry_count(), base);
  }
  /* Several live at once, closed in another order: objects come back from
   * the pool in any order. */
  mmapio_map *ms[8];
  for (int i = 0; i < 8; i++) ASSERT_OK(mmapio_open_ro(&ms[i], (i & 1) ? b : a));
  for (int i = 0; i < 8; i++) ASSERT_STREQ(mmapio_path(ms[i]), (i & 1) ? b : a);
  ASSERT_EQ(mmapio__registry_count(), base + 8);
  for (int i = 0; i < 8; i += 2) ASSERT_OK(mmapio_close(ms[i]));
  for (int i = 0; i < 8; i += 2) ASSERT_OK(mmapio_open_ro(&ms[i], b));
  for (int i = 0; i < 8; i++) {
    ASSERT_STREQ(mmapio_path(ms[i]), b);
    mmapio_view v;
    ASSERT_OK(mmapio_view_get(&v, ms[i], 0, 8));
    mmapio_view_release(&v);
  }
  for (int i = 7; i >= 0; i--) ASSERT_OK(mmapio_close(ms[i]));
  ASSERT_EQ(mmapio__registry_count(), base);
  test_unlink(a);
  test_unlink(b);
  free(a);
  free(b);
}

int main(void)
{
  test_paths();
  test_reused_objects_work();
  return 0;
}
