/*
 * test_hints.c -- advise, prefetch, touch, touch_range, residency, evict and
 * the touch hint at open (include/mmapio.h sections 4 and 11): success in every mode,
 * every status, the zero-length rule and the check order, bounds edges with
 * the exact message, "touch writes nothing", "hints never lose data" (COW and
 * private anonymous pages survive DONTNEED and evict), evict flushes dirty
 * pages first, residency falls after evict and rises after touch.
 */
#include "internal.h"
#include "test.h"

#if defined(__linux__)
#  include <sys/vfs.h>
#endif

static size_t pg;
static unsigned caps;
/* 1 when evicting a whole file range really drops its pages here: the
 * backend can do it (Linux) and the test directory is not on tmpfs, whose
 * pages have no backing store to be dropped to. */
static int strict_evict;

static void probe_fs(void)
{
  strict_evict = (caps & MMAPIO__HINTCAP_EVICT_MAPPED) != 0;
#if defined(__linux__)
  char *p = test_tmp_path("fsprobe");
  char *slash = strrchr(p, '/');
  if (slash != NULL) *slash = '\0';
  struct statfs sf;
  if (statfs(p, &sf) == 0 && (unsigned long)sf.f_type == 0x01021994ul) {
    printf("hints: %s is tmpfs: cached pages cannot be evicted there\n", p);
    strict_evict = 0;
  }
  free(p);
#endif
}

/* Modification time with the best resolution the platform reports. */
static int64_t mtime_ns(const char *path)
{
  struct stat st;
  ASSERT(stat(path, &st) == 0);
#if defined(__APPLE__)
  return (int64_t)st.st_mtimespec.tv_sec * 1000000000 + st.st_mtimespec.tv_nsec;
#elif defined(_WIN32)
  return (int64_t)st.st_mtime * 1000000000;
#else
  return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
#endif
}

static uint64_t resident(mmapio_map *m)
{
  uint64_t r = 0, t = 0;
  ASSERT_OK(mmapio_residency(&r, &t, m, 0, mmapio_len(m)));
  ASSERT_U64_EQ(t, (mmapio_len(m) + pg - 1) / pg);
  return r;
}

/* A file of `len` pattern bytes that is written back and not cached (where
 * the platform can drop cached pages). */
static void make_cold(const char *path)
{
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, path));
  ASSERT_OK(mmapio_evict(m, 0, mmapio_len(m)));
  if (strict_evict) ASSERT_U64_EQ(resident(m), 0);
  ASSERT_OK(mmapio_close(m));
}

static char *cold_file(const char *tag, size_t len, unsigned seed)
{
  char *path = mk_file(tag, len, seed);
  make_cold(path);
  return path;
}

static mmapio_map *open_mode(const char *path, mmapio_mode mode)
{
  mmapio_options o = opts(mode, 0, 0);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, path, &o));
  return m;
}

/* ---- argument checks, zero length, bounds, for every hint ---------------- */

static void test_checks(void)
{
  size_t len = 3 * pg + 100;
  char *path = mk_file("hintchk", len, 1);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, path));
  uint64_t r = 7, t = 7;

  ASSERT_STATUS(mmapio_prefetch(NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_prefetch(NULL, 0, 0), MMAPIO_EINVAL); /* arguments before zero length */
  ASSERT_STATUS(mmapio_touch(NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_touch_range(NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_touch_range(NULL, 0, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_evict(NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_evict(NULL, 0, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_residency(NULL, &t, m, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_residency(&r, NULL, m, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_residency(&r, &t, NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_residency(&r, &t, NULL, 0, 0), MMAPIO_EINVAL);
  ASSERT_U64_EQ(r, 7); /* outputs untouched on failure */

  /* Zero-length actions succeed before the bounds check. */
  ASSERT_OK(mmapio_prefetch(m, UINT64_MAX, 0));
  ASSERT_OK(mmapio_touch_range(m, UINT64_MAX, 0));
  ASSERT_OK(mmapio_evict(m, UINT64_MAX, 0));
  ASSERT_OK(mmapio_residency(&r, &t, m, UINT64_MAX, 0));
  ASSERT_U64_EQ(r, 0);
  ASSERT_U64_EQ(t, 0);

  /* Bounds, with the exact message; the last byte is fine. */
  ASSERT_BOUNDS(mmapio_prefetch(m, len, 1), len, 1, len);
  ASSERT_BOUNDS(mmapio_prefetch(m, 0, len + 1), 0, len + 1, len);
  ASSERT_BOUNDS(mmapio_touch_range(m, len - 1, 2), len - 1, 2, len);
  ASSERT_BOUNDS(mmapio_touch_range(m, UINT64_MAX, 1), UINT64_MAX, 1, len);
  ASSERT_BOUNDS(mmapio_evict(m, 1, UINT64_MAX), 1, UINT64_MAX, len);
  ASSERT_BOUNDS(mmapio_residency(&r, &t, m, len + 1, 1), len + 1, 1, len);
  ASSERT_OK(mmapio_prefetch(m, len - 1, 1));
  ASSERT_OK(mmapio_touch_range(m, len - 1, 1));
  ASSERT_OK(mmapio_evict(m, len - 1, 1));

  /* Residency counts the pages the range intersects. */
  ASSERT_OK(mmapio_residency(&r, &t, m, 0, 1));
  ASSERT_U64_EQ(t, 1);
  ASSERT_OK(mmapio_residency(&r, &t, m, pg - 1, 2));
  ASSERT_U64_EQ(t, 2);
  ASSERT_OK(mmapio_residency(&r, &t, m, pg, pg));
  ASSERT_U64_EQ(t, 1);
  ASSERT_OK(mmapio_residency(&r, &t, m, 0, len));
  ASSERT_U64_EQ(t, 4);
  ASSERT(r <= t);
  ASSERT_OK(mmapio_residency(&r, &t, m, len - 1, 1));
  ASSERT_U64_EQ(t, 1);

#if MMAPIO_WITH_ADVISE
  ASSERT_STATUS(mmapio_advise(NULL, 0, 1, MMAPIO_ADVICE_NORMAL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_advise(NULL, 0, 0, MMAPIO_ADVICE_NORMAL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_advise(m, 0, 1, (mmapio_advice)5), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_advise(m, 0, 0, (mmapio_advice)-1), MMAPIO_EINVAL); /* before zero length */
  ASSERT_OK(mmapio_advise(m, UINT64_MAX, 0, MMAPIO_ADVICE_WILLNEED));
  ASSERT_BOUNDS(mmapio_advise(m, len, 1, MMAPIO_ADVICE_RANDOM), len, 1, len);
  ASSERT_BOUNDS(mmapio_advise(m, 5, len, MMAPIO_ADVICE_DONTNEED), 5, len, len);
#else
  ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ADVISE), 0);
  ASSERT_STATUS(mmapio_advise(m, 0, 1, MMAPIO_ADVICE_NORMAL), MMAPIO_ENOTSUP);
#endif
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* ---- every hint succeeds in every mode, unaligned ranges included -------- */

static void run_all_hints(mmapio_map *m)
{
  uint64_t len = mmapio_len(m);
  uint64_t r, t;
#if MMAPIO_WITH_ADVISE
  for (int a = MMAPIO_ADVICE_NORMAL; a <= MMAPIO_ADVICE_DONTNEED; a++) {
    ASSERT_OK(mmapio_advise(m, 0, len, (mmapio_advice)a));
    ASSERT_OK(mmapio_advise(m, 3, len - 5, (mmapio_advice)a));
    ASSERT_OK(mmapio_advise(m, pg + 1, 1, (mmapio_advice)a));
  }
  ASSERT_OK(mmapio_advise(m, 0, len, MMAPIO_ADVICE_NORMAL));
#endif
  ASSERT_OK(mmapio_prefetch(m, 0, len));
  ASSERT_OK(mmapio_prefetch(m, 17, pg));
  ASSERT_OK(mmapio_touch(m));
  ASSERT_OK(mmapio_touch_range(m, pg - 1, 2));
  ASSERT_OK(mmapio_residency(&r, &t, m, 1, len - 1));
  ASSERT(r <= t);
  ASSERT_OK(mmapio_evict(m, 1, len - 2));
  ASSERT_OK(mmapio_evict(m, 0, len));
}

static void test_modes(void)
{
  size_t len = 4 * pg + 10;
  char *path = mk_file("hintmode", len, 2);
  file_snap s = snap_take(path);
  mmapio_map *m = open_mode(path, MMAPIO_MODE_READ_ONLY);
  run_all_hints(m);
  ASSERT_OK(mmapio_close(m));
  m = open_mode(path, MMAPIO_MODE_READ_WRITE);
  run_all_hints(m);
  ASSERT_OK(mmapio_close(m));
  if (has_cow()) {
    m = open_mode(path, MMAPIO_MODE_COPY_ON_WRITE);
    run_all_hints(m);
    ASSERT_OK(mmapio_close(m));
  }
  ASSERT_SNAP_SAME(path, s);
  snap_free(&s);
  ASSERT_OK(mmapio_anon(&m, len, 0));
  run_all_hints(m);
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_anon(&m, len, MMAPIO_ANON_SHARED));
  run_all_hints(m);
  ASSERT_OK(mmapio_close(m));

  /* An empty read-only map: touch has nothing to do. */
  char *empty = mk_file("hintempty", 0, 0);
  ASSERT_OK(mmapio_open_ro(&m, empty));
  ASSERT_OK(mmapio_touch(m));
  ASSERT_OK(mmapio_prefetch(m, 0, 0));
  ASSERT_BOUNDS(mmapio_touch_range(m, 0, 1), 0, 1, 0);
  ASSERT_OK(mmapio_close(m));
  test_unlink(empty);
  free(empty);
  test_unlink(path);
  free(path);
}

/* ---- hints never lose data ------------------------------------------------ */

/* DONTNEED and evict on private pages (COW, private anonymous) must keep the
 * private bytes; on shared pages the bytes stay in the cache / the file. */
static void check_private_survives(mmapio_map *m, unsigned seed)
{
  size_t len = (size_t)mmapio_len(m);
  uint8_t *buf = (uint8_t *)malloc(len);
  ASSERT(buf != NULL);
  pat_fill(buf, len, 0, seed);
  ASSERT_OK(mmapio_write(m, 0, buf, len));
#if MMAPIO_WITH_ADVISE
  ASSERT_OK(mmapio_advise(m, 0, len, MMAPIO_ADVICE_DONTNEED));
  memset(buf, 0, len);
  ASSERT_OK(mmapio_read(m, 0, buf, len));
  ASSERT(pat_check(buf, len, 0, seed));
#endif
  ASSERT_OK(mmapio_evict(m, 0, len));
  memset(buf, 0, len);
  ASSERT_OK(mmapio_read(m, 0, buf, len));
  ASSERT(pat_check(buf, len, 0, seed));
  free(buf);
}

static void test_no_data_loss(void)
{
  size_t len = 8 * pg;
  char *path = mk_file("hintloss", len, 3);
  mmapio_map *m = NULL;
  if (has_cow()) {
    file_snap s = snap_take(path);
    ASSERT_OK(mmapio_open_cow(&m, path));
    check_private_survives(m, 4);
    ASSERT_OK(mmapio_close(m));
    ASSERT_SNAP_SAME(path, s); /* and nothing reached the file */
    snap_free(&s);
  }
  ASSERT_OK(mmapio_anon(&m, len, 0));
  check_private_survives(m, 5);
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_anon(&m, len, MMAPIO_ANON_SHARED));
  check_private_survives(m, 6);
  ASSERT_OK(mmapio_close(m));
  /* RW: DONTNEED on dirty pages keeps them; evict writes them to the file. */
  ASSERT_OK(mmapio_open_rw(&m, path));
  check_private_survives(m, 7);
  ASSERT(file_has_pattern(path, len, 7));
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* ---- evict flushes first, then drops the pages ---------------------------- */

static void test_evict(void)
{
  size_t len = 16 * pg;
  char *path = mk_file("hintevict", len, 8);
  mmapio_map *m = NULL;
  ASSERT_OK(open_policy(&m, path, MMAPIO_FLUSH_EVERY_BYTES, UINT64_C(1) << 40));
  uint8_t *buf = (uint8_t *)malloc(len);
  ASSERT(buf != NULL);
  pat_fill(buf, len, 0, 9);
  ASSERT_OK(mmapio_write(m, 0, buf, len));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), len);
  ASSERT_OK(mmapio_touch(m));
  ASSERT_U64_EQ(resident(m), 16);
  /* Evict half: those pages are flushed (the policy accumulator is debited
   * by the flushed length); pages outside the range stay. (Whether the
   * half's own pages leave memory depends on the page cache's folio size:
   * Linux cannot drop part of a large folio, so that is not checked.) */
  ASSERT_OK(mmapio_evict(m, 0, 8 * pg));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), len - 8 * pg);
  uint64_t r = 0, t = 0;
  ASSERT_OK(mmapio_residency(&r, &t, m, 8 * pg, 8 * pg));
  ASSERT_U64_EQ(r, 8);
  ASSERT_OK(mmapio_evict(m, 0, len));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  if (strict_evict) ASSERT_U64_EQ(resident(m), 0);
  /* The file has the data (read with plain I/O), and so has the map. */
  ASSERT(file_has_pattern(path, len, 9));
  memset(buf, 0, len);
  ASSERT_OK(mmapio_read(m, 0, buf, len));
  ASSERT(pat_check(buf, len, 0, 9));
  ASSERT_OK(mmapio_close(m));
  free(buf);
  test_unlink(path);
  free(path);
}

/* ---- touch writes nothing and brings pages in ------------------------------ */

static void test_touch(mmapio_mode mode)
{
  size_t len = 32 * pg + 1;
  char *path = mk_file("hinttouch", len, 10);
  file_snap s = snap_take(path); /* reads the file: make it cold afterwards */
  int64_t mt = mtime_ns(path);
  make_cold(path);
  mmapio_map *m = open_mode(path, mode);
  uint64_t before = resident(m);
  if (strict_evict) ASSERT_U64_EQ(before, 0);
  ASSERT_OK(mmapio_touch_range(m, pg + 5, 2 * pg)); /* pages 1, 2 and 3 */
  if (strict_evict) {
    uint64_t r = 0, t = 0;
    ASSERT_OK(mmapio_residency(&r, &t, m, pg, 3 * pg));
    ASSERT_U64_EQ(r, 3);
    ASSERT_U64_EQ(t, 3);
  }
  ASSERT_OK(mmapio_touch(m));
  ASSERT_U64_EQ(resident(m), 33);
  ASSERT_OK(mmapio_close(m));
  ASSERT_SNAP_SAME(path, s);
  ASSERT_EQ(mtime_ns(path), mt);
  snap_free(&s);
  test_unlink(path);
  free(path);
}

/* ---- the touch hint applies on every mmapio_open path --------------------- */

static void test_touch_hint(void)
{
  size_t len = 16 * pg;
  mmapio_options o;
  mmapio_map *m = NULL;
  char *path = cold_file("hinthint", len, 11);
  int strict = strict_evict;
  mmapio_mode modes[3] = {MMAPIO_MODE_READ_ONLY, MMAPIO_MODE_READ_WRITE,
                          MMAPIO_MODE_COPY_ON_WRITE};
  for (int i = 0; i < 3; i++) {
    if (modes[i] == MMAPIO_MODE_COPY_ON_WRITE && !has_cow()) continue;
    /* NEVER: nothing is brought in. */
    o = opts(modes[i], 0, 0);
    ASSERT_OK(mmapio_open(&m, path, &o));
    if (strict) ASSERT_U64_EQ(resident(m), 0);
    ASSERT_OK(mmapio_close(m));
    /* EAGER: everything is in memory when open returns. */
    o.touch = MMAPIO_TOUCH_EAGER;
    ASSERT_OK(mmapio_open(&m, path, &o));
    ASSERT_U64_EQ(resident(m), 16);
    ASSERT_OK(mmapio_evict(m, 0, len));
    ASSERT_OK(mmapio_close(m));
    /* LAZY: read-ahead is started; the content is what it was. */
    o.touch = MMAPIO_TOUCH_LAZY;
    ASSERT_OK(mmapio_open(&m, path, &o));
    uint8_t b[64];
    ASSERT_OK(mmapio_read(m, len - 64, b, 64));
    ASSERT(pat_check(b, 64, len - 64, 11));
    ASSERT_OK(mmapio_evict(m, 0, len));
    ASSERT_OK(mmapio_close(m));
  }
  ASSERT(file_has_pattern(path, len, 11));
  test_unlink(path);

  /* CREATE of a new file and TRUNCATE of an existing one. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, len);
  o.touch = MMAPIO_TOUCH_EAGER;
  ASSERT_OK(mmapio_open(&m, path, &o));
  ASSERT_U64_EQ(resident(m), 16);
  ASSERT_OK(mmapio_close(m));
  o.flags = MMAPIO_OPEN_TRUNCATE;
  o.size = 2 * len;
  ASSERT_OK(mmapio_open(&m, path, &o));
  ASSERT_U64_EQ(resident(m), 32);
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(file_len(path), 2 * len);
  test_unlink(path);
  free(path);
}

int main(void)
{
  pg = mmapio_page_size();
  caps = mmapio__os_hint_caps();
  probe_fs();
  printf("hints: page %zu, caps 0x%x, strict eviction checks %d\n", pg, caps, strict_evict);
  test_checks();
  test_modes();
  test_no_data_loss();
  test_evict();
  test_touch(MMAPIO_MODE_READ_ONLY);
  test_touch(MMAPIO_MODE_READ_WRITE);
  if (has_cow()) test_touch(MMAPIO_MODE_COPY_ON_WRITE);
  test_touch_hint();
  printf("hints: all checks passed\n");
  return 0;
}
