/*
 * test_inject_empty.c -- resizes to and from length 0 of MMAPIO_OPEN_ALLOW_EMPTY
 * maps (src/empty.c) with every OS call failing in turn, through the
 * backend's syscall table (platform.h "Test hooks"):
 *
 *   - a failed shrink to 0 returns the status of the OS error with a detail
 *     message, leaves the file exactly as it was (length and content) and
 *     the map readable and writable at its old length;
 *   - when the truncation fails and mapping the old length again fails too,
 *     the map is empty (length 0, no memory) but the file is unchanged;
 *   - a failed growth from 0 leaves the file empty and the map empty and
 *     usable: a later growth works;
 *   - a map the double failure above left empty, whose file still has its
 *     bytes: a failed resize from there gives the file its length and
 *     bytes back (it used to truncate it to 0), a working one maps the
 *     file's bytes, and read, write, flush, resize to 0 and close work.
 */
#include "internal.h"
#include "test.h"

#if !defined(MMAPIO_TEST_HOOKS)
int main(void) { TEST_SKIP("needs a static build with MMAPIO_TEST_HOOKS"); }
#else

#ifdef _WIN32
static const int errs[] = {ERROR_NOT_ENOUGH_MEMORY, ERROR_CRC, ERROR_DISK_FULL, ERROR_ACCESS_DENIED};
#  define TRUNC_CALL "SetEndOfFile"
#  define MAP_CALL "MapViewOfFile"
#else
static const int errs[] = {ENOMEM, EIO, ENOSPC, EACCES};
#  define TRUNC_CALL "ftruncate"
#  define MAP_CALL "mmap"
#endif
#define NERRS (sizeof errs / sizeof errs[0])
#define MAXREC 128

static char *p;
static size_t flen;

/* (Re)write the fixture: `len` bytes of pattern `seed`. */
static void mk_file_at(const char *path, size_t len, unsigned seed)
{
  uint8_t *b = (uint8_t *)calloc(len ? len : 1, 1);
  ASSERT(b != NULL);
  pat_fill(b, len, 0, seed);
  ASSERT_EQ(test_write_file(path, b, len), 0);
  free(b);
}

static mmapio_map *open_empty_ok(void)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_ALLOW_EMPTY;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  return m;
}

/* The detail message of an OS failure names the failing call and the
 * file (include/mmapio.h section 1). */
static void detail_names(const char *call)
{
  const char *d = mmapio_last_error();
#ifndef _WIN32
  if (strstr(d, call) == NULL) TEST_FAIL_("detail \"%s\" does not name the failing %s", d, call);
#else
  (void)call;
#endif
  if (strstr(d, p) == NULL) TEST_FAIL_("detail \"%s\" does not name %s", d, p);
}

/* The map reads the pattern over its whole old length and takes a write. */
static void map_intact(mmapio_map *m)
{
  ASSERT_U64_EQ(mmapio_len(m), flen);
  uint8_t *b = (uint8_t *)malloc(flen);
  ASSERT(b != NULL);
  ASSERT_OK(mmapio_read(m, 0, b, flen));
  ASSERT(pat_check(b, flen, 0, 5));
  ASSERT_OK(mmapio_write(m, 3, b + 3, 1)); /* the same byte: the file stays the same */
  ASSERT_OK(mmapio_flush(m));
  free(b);
}

/* Leave a fresh fixture's map empty the way a double failure does: the
 * truncation of resize(0) fails, and so does mapping the old length again.
 * NULL when this backend makes neither call. */
static mmapio_map *emptied_map(void)
{
  mk_file_at(p, flen, 5);
  mmapio_map *m = open_empty_ok();
  mmapio__sys_reset();
  mmapio__sys_fail_nth(TRUNC_CALL, 1, errs[1]);
  mmapio__sys_fail_nth(MAP_CALL, 1, errs[0]);
  int rc = mmapio_resize(m, 0);
  unsigned truncs = mmapio__sys_count(TRUNC_CALL), maps = mmapio__sys_count(MAP_CALL);
  mmapio__sys_reset();
  if (truncs == 0 || maps == 0) {
    ASSERT_OK(mmapio_close(m));
    return NULL;
  }
  ASSERT_STATUS(rc, mmapio__os_status(errs[0]));
  ASSERT_EQ(mmapio_last_os_error(), errs[0]);
  printf("emptied: %s\n", mmapio_last_error());
  /* The detail names both failures and says that the map is empty. */
  ASSERT_MSG_HAS("mapping the old");
  ASSERT_MSG_HAS(TRUNC_CALL);
  {
    const char *d = mmapio_last_error(), *end = "(the map is empty now)";
    size_t n = strlen(d), k = strlen(end);
    if (n < k || strcmp(d + n - k, end) != 0) TEST_FAIL_("detail \"%s\" does not end in %s", d, end);
  }
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_EQ(file_len(p), (int64_t)flen);
  return m;
}

/* Count the calls of `op` on a fresh fixture, then fail each in turn. */
static unsigned shrink_cases(void)
{
  mmapio__sys_call rec[MAXREC];
  mk_file_at(p, flen, 5);
  mmapio_map *m = open_empty_ok();
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio_resize(m, 0));
  size_t n = mmapio__sys_record_stop(rec, MAXREC);
  mmapio__sys_reset();
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_EQ(file_len(p), 0);
  ASSERT_OK(mmapio_close(m));
  printf("resize(0)       %zu calls:", n);
  for (size_t i = 0; i < n; i++) printf(" %s", rec[i].name);
  printf("\n");
  if (n == 0) return 0;

  unsigned cases = 0;
  for (size_t k = 1; k <= n; k++) {
    for (size_t e = 0; e < NERRS; e++) {
      mk_file_at(p, flen, 5);
      file_snap before = snap_take(p);
      m = open_empty_ok();
      mmapio__sys_reset();
      mmapio__sys_fail_nth(NULL, (unsigned)k, errs[e]);
      int rc = mmapio_resize(m, 0);
      mmapio__sys_reset();
      cases++;
      if (rc == MMAPIO_OK) {
        /* Only a release may fail without failing the resize. */
        if (strcmp(rec[k - 1].name, "munmap") != 0 && strcmp(rec[k - 1].name, "UnmapViewOfFile") != 0 &&
            strcmp(rec[k - 1].name, "close") != 0 && strcmp(rec[k - 1].name, "CloseHandle") != 0)
          TEST_FAIL_("resize(0): call %zu (%s) failed but the resize returned OK", k, rec[k - 1].name);
        ASSERT_U64_EQ(mmapio_len(m), 0);
        ASSERT_EQ(file_len(p), 0);
      } else {
        if (rc != mmapio__os_status(errs[e]))
          TEST_FAIL_("resize(0): call %zu (%s) failing with %d: status %d, want %d", k,
                     rec[k - 1].name, errs[e], rc, mmapio__os_status(errs[e]));
        detail_names(rec[k - 1].name);
        ASSERT_SNAP_SAME(p, before);
        map_intact(m);
        ASSERT_SNAP_SAME(p, before);
        /* And the resize works once the OS does. */
        ASSERT_OK(mmapio_resize(m, 0));
        ASSERT_EQ(file_len(p), 0);
      }
      ASSERT_OK(mmapio_close(m));
      snap_free(&before);
    }
  }

  /* The truncation fails, and so does mapping the old length again: the
   * status and detail are those of the failure that left the map empty, the
   * file keeps its length and content, and the map is a valid empty map. */
  mk_file_at(p, flen, 5);
  file_snap before = snap_take(p); /* emptied_map makes the same file again */
  m = emptied_map();
  if (m != NULL) {
    ASSERT(mmapio_unsafe_ptr(m) == NULL);
    ASSERT_SNAP_SAME(p, before);
    uint8_t b[4];
    ASSERT_OK(mmapio_read(m, 0, b, 0));
    ASSERT_BOUNDS(mmapio_read(m, 0, b, 1), 0, 1, 0);
    ASSERT_OK(mmapio_flush(m));
    ASSERT_SNAP_SAME(p, before);
    cases++;
    ASSERT_OK(mmapio_close(m));
    ASSERT_SNAP_SAME(p, before);
  }
  snap_free(&before);
  return cases;
}

static unsigned grow_cases(void)
{
  mmapio__sys_call rec[MAXREC];
  const uint64_t want = 3 * mmapio_page_size() + 7;
  mk_file_at(p, 0, 5);
  mmapio_map *m = open_empty_ok();
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio_resize(m, want));
  size_t n = mmapio__sys_record_stop(rec, MAXREC);
  mmapio__sys_reset();
  ASSERT_U64_EQ(mmapio_len(m), want);
  ASSERT_OK(mmapio_close(m));
  printf("resize(0 -> %llu) %zu calls:", (unsigned long long)want, n);
  for (size_t i = 0; i < n; i++) printf(" %s", rec[i].name);
  printf("\n");

  unsigned cases = 0;
  for (size_t k = 1; k <= n; k++) {
    for (size_t e = 0; e < NERRS; e++) {
      mk_file_at(p, 0, 5);
      m = open_empty_ok();
      mmapio__sys_reset();
      mmapio__sys_fail_nth(NULL, (unsigned)k, errs[e]);
      int rc = mmapio_resize(m, want);
      mmapio__sys_reset();
      cases++;
      if (rc == MMAPIO_OK) {
        if (strcmp(rec[k - 1].name, "madvise") != 0 && strcmp(rec[k - 1].name, "close") != 0)
          TEST_FAIL_("resize(grow from 0): call %zu (%s) failed but the resize returned OK", k,
                     rec[k - 1].name);
        ASSERT_U64_EQ(mmapio_len(m), want);
      } else {
        if (rc != mmapio__os_status(errs[e]))
          TEST_FAIL_("resize(grow from 0): call %zu (%s) failing with %d: status %d, want %d", k,
                     rec[k - 1].name, errs[e], rc, mmapio__os_status(errs[e]));
        detail_names(rec[k - 1].name);
        ASSERT_EQ(file_len(p), 0); /* the file is empty again */
        ASSERT_U64_EQ(mmapio_len(m), 0);
        ASSERT(mmapio_unsafe_ptr(m) == NULL);
        uint8_t b[4];
        ASSERT_BOUNDS(mmapio_read(m, 0, b, 1), 0, 1, 0);
        ASSERT_OK(mmapio_flush(m));
        ASSERT_OK(mmapio_resize(m, want));
        ASSERT_OK(mmapio_write(m, want - 4, "tail", 4));
        ASSERT_OK(mmapio_read(m, want - 4, b, 4));
        ASSERT_MEMEQ(b, "tail", 4);
      }
      ASSERT_OK(mmapio_close(m));
    }
  }
  return cases;
}

/* A map an earlier failure left empty while its file kept its bytes: the
 * next resizes, failing or not, never lose those bytes, and the map stays
 * usable: read, write, flush and close work. A failed growth from there
 * used to truncate the file to 0 bytes (it put back the map's length, 0,
 * instead of the file's). */
static unsigned emptied_cases(void)
{
  uint8_t b[8];
  mmapio_map *m = emptied_map();
  if (m == NULL) return 0;
  file_snap before = snap_take(p);
  const uint64_t pg = mmapio_page_size();

  /* Growth that fails when mapping: the file as it was, the map empty. */
  mmapio__sys_reset();
  mmapio__sys_fail_nth(MAP_CALL, 1, errs[0]);
  int rc = mmapio_resize(m, flen + 3 * pg);
  mmapio__sys_reset();
  ASSERT_STATUS(rc, mmapio__os_status(errs[0]));
  ASSERT(mmapio_last_error()[0] != '\0');
  ASSERT_SNAP_SAME(p, before);
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_BOUNDS(mmapio_read(m, 0, b, 1), 0, 1, 0);
  ASSERT_BOUNDS(mmapio_write(m, 0, "x", 1), 0, 1, 0);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_SNAP_SAME(p, before);

  /* Growth that works: the file's bytes show, the new ones read zero. */
  ASSERT_OK(mmapio_resize(m, flen + 3 * pg));
  ASSERT_U64_EQ(mmapio_len(m), flen + 3 * pg);
  uint8_t *all = (uint8_t *)malloc(flen + 3 * pg);
  ASSERT(all != NULL);
  ASSERT_OK(mmapio_read(m, 0, all, flen + 3 * pg));
  ASSERT(pat_check(all, flen, 0, 5));
  ASSERT(all_zero(all + flen, 3 * pg));
  free(all);
  ASSERT_OK(mmapio_write(m, flen + 3 * pg - 4, "tail", 4));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_EQ(file_len(p), (int64_t)(flen + 3 * pg));

  /* Down to 0 (allowed with ALLOW_EMPTY) and up again. */
  ASSERT_OK(mmapio_resize(m, 0));
  ASSERT_EQ(file_len(p), 0);
  ASSERT_OK(mmapio_read(m, 0, b, 0));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_resize(m, 100));
  ASSERT_OK(mmapio_write(m, 96, "abcd", 4));
  ASSERT_OK(mmapio_read(m, 96, b, 4));
  ASSERT_MEMEQ(b, "abcd", 4);
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(file_len(p), 100);
  snap_free(&before);

  /* From an emptied map to a length below the file's, failing when
   * mapping: the file's length comes back, the bytes below the new length
   * too, and the detail says that the ones above read zero. */
  m = emptied_map();
  ASSERT(m != NULL);
  uint64_t to = flen / 2;
  mmapio__sys_reset();
  mmapio__sys_fail_nth(MAP_CALL, 1, errs[0]);
  rc = mmapio_resize(m, to);
  mmapio__sys_reset();
  ASSERT_STATUS(rc, mmapio__os_status(errs[0]));
  ASSERT_MSG_HAS("read zero now");
  ASSERT_EQ(file_len(p), (int64_t)flen);
  size_t n = 0;
  uint8_t *fb = (uint8_t *)test_read_file(p, &n);
  ASSERT(fb != NULL && n == flen);
  ASSERT(pat_check(fb, (size_t)to, 0, 5));
  free(fb);
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_OK(mmapio_resize(m, to));
  ASSERT_EQ(file_len(p), (int64_t)to);
  ASSERT_OK(mmapio_close(m));
  return 4;
}

int main(void)
{
  p = test_tmp_path("inj-empty");
  flen = 2 * mmapio_page_size() + 100;
  unsigned cases = shrink_cases();
  if (cases == 0) {
    test_unlink(p);
    TEST_SKIP("the backend routes no OS call through the test hooks");
  }
  cases += grow_cases();
  cases += emptied_cases();
  test_unlink(p);
  free(p);
  printf("inject_empty: %u failure cases\n", cases);
  return 0;
}
#endif
