/*
 * Map objects are kept and reused (src/lifetime.c): a closed map's object
 * becomes the next map, keeping its initialised locks and its index into
 * the threads' slot tables; a short path is stored in the object, a longer
 * one allocated. Checked here: paths on both sides of the inline limit are
 * kept whole (mmapio_path, error messages); a reused object's locks work
 * (views, write views, resizes); the calling thread's stale slot of the
 * previous map is not mistaken for one of the new map; the registry of live
 * maps returns to its size (white-box: internal.h); mmapio_open_ro's maps,
 * closed the short way, leave their objects clean for any next map.
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

static void stats_fresh(mmapio_map *m)
{
  mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
  ASSERT_OK(mmapio_stats(&st, m));
  ASSERT_U64_EQ(st.write_calls, 0u);
  ASSERT_U64_EQ(st.flush_calls, 0u);
  ASSERT_U64_EQ(st.flush_max_ns, 0u);
  ASSERT_U64_EQ(st.resizes_in_place + st.resizes_moving, 0u);
  ASSERT_U64_EQ(st.views_outstanding + st.pins_outstanding, 0u);
}

/* mmapio_open_ro's own path: its maps are closed the short way when no
 * thread borrowed them, and their objects go back clean -- checked here by
 * the next maps of every kind (read-only, read-write, empty) starting
 * fresh, and in debug builds by the pool's own check. What a borrow or
 * another reference changes sends the close the general way: atomic pins
 * and portable views (no per-thread slot) make it EBUSY as ever, a second
 * reference keeps the map. */
static void test_open_ro_cycle(void)
{
  char *a = mk_file("ro-cycle", 8192, 31);
  char *e = mk_file("ro-empty", 0, 0);
  size_t base = mmapio__registry_count();
  for (int i = 0; i < 40; i++) {
    mmapio_map *m;
    ASSERT_OK(mmapio_open_ro(&m, a));
    ASSERT_EQ(mmapio__registry_count(), base + 1);
    ASSERT_U64_EQ(mmapio_len(m), 8192u);
    ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_ONLY);
    ASSERT_STREQ(mmapio_path(m), a);
    ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
    ASSERT_U64_EQ(mmapio_capacity(m), 8192u);
    ASSERT(pat_check(mmapio_unsafe_ptr(m), 8192, 0, 31));
    stats_fresh(m);
    switch (i % 5) {
    case 0: { /* a read: the map gets this thread's slot */
      unsigned char b[16];
      ASSERT_OK(mmapio_read(m, 100, b, sizeof b));
      ASSERT(pat_check(b, sizeof b, 100, 31));
      break;
    }
    case 1: { /* a pin */
      mmapio_atomic at;
      int rc = mmapio_atomic_u32(&at, m, 0);
      if (rc == MMAPIO_ENOTSUP) break; /* atomics compiled out */
      ASSERT_OK(rc);
      ASSERT_EQ(mmapio_close(m), MMAPIO_EBUSY);
      ASSERT(strstr(mmapio_last_error(), "atomic view") != NULL);
      mmapio_atomic_release(&at);
      break;
    }
    case 2: { /* a portable view */
      mmapio_view v;
      ASSERT_OK(mmapio_view_get_flags(&v, m, 0, 64, MMAPIO_VIEW_PORTABLE));
      ASSERT_EQ(mmapio_close(m), MMAPIO_EBUSY);
      ASSERT(strstr(mmapio_last_error(), a) != NULL);
      mmapio_view_release(&v);
      break;
    }
    case 3: /* a second reference */
      ASSERT_OK(mmapio_retain(m));
      ASSERT_OK(mmapio_close(m));
      ASSERT_EQ(mmapio__registry_count(), base + 1);
      ASSERT(pat_check(mmapio_unsafe_ptr(m), 64, 0, 31));
      break;
    default: /* the huge-page answer is stored in the map */
      (void)mmapio_huge_pages_active(m);
      break;
    }
    ASSERT_OK(mmapio_close(m));
    ASSERT_EQ(mmapio__registry_count(), base);

    /* The object comes back for other kinds of maps, fresh. */
    ASSERT_OK(mmapio_open_rw(&m, a));
    ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_WRITE);
    stats_fresh(m);
    unsigned char b0;
    ASSERT_OK(mmapio_read(m, 0, &b0, 1));
    ASSERT_OK(mmapio_write(m, 0, "x", 1));
    ASSERT_OK(mmapio_write(m, 0, &b0, 1)); /* the pattern again */
    ASSERT_OK(mmapio_close(m));
    ASSERT_OK(mmapio_open_ro(&m, e));
    ASSERT_U64_EQ(mmapio_len(m), 0u);
    ASSERT(mmapio_unsafe_ptr(m) == NULL);
    ASSERT_STREQ(mmapio_path(m), e);
    stats_fresh(m);
    ASSERT_OK(mmapio_close(m));
    ASSERT_EQ(mmapio__registry_count(), base);
  }
  test_unlink(a);
  test_unlink(e);
  free(a);
  free(e);
}

int main(void)
{
  test_paths();
  test_reused_objects_work();
  test_open_ro_cycle();
  return 0;
}
