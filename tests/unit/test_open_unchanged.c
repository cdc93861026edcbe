/*
 * A failed open, create or resize never changes an existing file (mmapio.h,
 * mmapio_open "On failure ..."), and names up to the system's limit work:
 *   - TRUNCATE (SPARSE or not) to a size the file system cannot hold
 *     (2^47 bytes is beyond ext4's 16 TiB; tmpfs and xfs may accept it):
 *     MMAPIO_ESIZE naming the file system's limit, file unchanged;
 *   - create_rw over an existing file and open_or_create / CREATE (also
 *     SPARSE|TRUNCATE, which creates the name itself) of a new one under a
 *     small RLIMIT_AS (child process): MMAPIO_ENOMEM, the existing file
 *     unchanged, no new file left;
 *   - resize beyond RLIMIT_AS or beyond the file system's limit: the map
 *     keeps its length and content;
 *   - RLIMIT_FSIZE below the new size: MMAPIO_ESIZE naming RLIMIT_FSIZE,
 *     file unchanged, and no SIGXFSZ for the existing file;
 *   - a 234-byte and a 255-byte file name work with create_rw,
 *     open_or_create and CREATE|EXCLUSIVE; a 256-byte one is MMAPIO_EINVAL
 *     with "file name too long", and nothing is left behind.
 */
#include "test.h"

#if !defined(_WIN32)
#  include <signal.h>
#endif

static mmapio_options opts_of(uint32_t flags, uint64_t size)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = flags;
  o.size = size;
  return o;
}

/* The file system refuses 2^47 bytes (or accepts it: then nothing to test). */
static void test_too_large_for_fs(void)
{
  char *p = mk_file("unch-big", 8192, 3);
  file_snap s = snap_take(p);
  mmapio_map *m = NULL;
  const uint32_t variants[] = {MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE,
                               MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, MMAPIO_OPEN_TRUNCATE};
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
    mmapio_options o = opts_of(variants[i], MMAPIO_MAX_SIZE);
    int st = mmapio_open(&m, p, &o);
    if (st == MMAPIO_OK) {
      printf("note: this file system holds a %llu-byte file; flags %#x not tested\n",
             (unsigned long long)MMAPIO_MAX_SIZE, (unsigned)variants[i]);
      ASSERT_OK(mmapio_close(m));
      ASSERT_EQ(test_write_file(p, s.data, s.n), 0);
      continue;
    }
    ASSERT(m == NULL);
    if (st != MMAPIO_ESIZE && st != MMAPIO_ENOSPC && st != MMAPIO_ENOMEM)
      TEST_FAIL_("open(flags %#x, 2^47) returned %d (%s)", (unsigned)variants[i], st, mmapio_strerror(st));
    if (st == MMAPIO_ESIZE && strstr(mmapio_last_error(), "file system") == NULL)
      TEST_FAIL_("ESIZE without naming the file system's limit: \"%s\"", mmapio_last_error());
    ASSERT_SNAP_SAME(p, s);
  }
  /* Resize of a map of it (reserving and SPARSE): length and content kept. */
  for (int sparse = 0; sparse < 2; sparse++) {
    mmapio_options o = opts_of(sparse ? MMAPIO_OPEN_SPARSE : 0, 0);
    ASSERT_OK(mmapio_open(&m, p, &o));
    int st = mmapio_resize(m, MMAPIO_MAX_SIZE);
    if (st == MMAPIO_OK) {
      ASSERT_OK(mmapio_resize(m, (uint64_t)s.len));
    } else {
      if (st != MMAPIO_ESIZE && st != MMAPIO_ENOSPC && st != MMAPIO_ENOMEM)
        TEST_FAIL_("resize(2^47) returned %d (%s)", st, mmapio_strerror(st));
      ASSERT_U64_EQ(mmapio_len(m), (uint64_t)s.len);
    }
    ASSERT_OK(mmapio_close(m));
    ASSERT_SNAP_SAME(p, s);
  }
  snap_free(&s);
  test_unlink(p);
  free(p);
}

/* Long names: the temporary must not make a legal name too long. */
static void test_long_names(void)
{
#if defined(_WIN32)
  printf("note: long names need long-path support on Windows; not tested\n");
#else
  char *dir = test_tmp_path("unch-names");
  ASSERT(make_dir(dir) == 0);
  size_t lens[] = {234, 255};
  for (size_t i = 0; i < 2; i++) {
    char *p = test_long_name(dir, lens[i]);
    mmapio_map *m = NULL;
    ASSERT_OK(mmapio_create_rw(&m, p, 3 * KIB));
    ASSERT_U64_EQ(mmapio_len(m), 3 * KIB);
    ASSERT_OK(mmapio_write(m, 0, "x", 1));
    ASSERT_OK(mmapio_close(m));
    ASSERT_EQ(file_len(p), 3 * KIB);
    ASSERT_OK(mmapio_create_rw(&m, p, 5 * KIB)); /* over the existing file */
    ASSERT_OK(mmapio_close(m));
    ASSERT_EQ(file_len(p), 5 * KIB);
    test_unlink(p);
    ASSERT_OK(mmapio_open_or_create(&m, p, 2 * KIB));
    ASSERT_OK(mmapio_close(m));
    ASSERT_EQ(file_len(p), 2 * KIB);
    test_unlink(p);
    mmapio_options o = opts_of(MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE, 4 * KIB);
    ASSERT_OK(mmapio_open(&m, p, &o));
    ASSERT_OK(mmapio_close(m));
    ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EEXIST);
    test_unlink(p);
    free(p);
  }
  /* One byte more than NAME_MAX: one clear status, nothing created. */
  char *p = test_long_name(dir, 256);
  mmapio_map *m = BAD_MAP;
  ASSERT_ERR_HAS(mmapio_create_rw(&m, p, 4 * KIB), MMAPIO_EINVAL, "file name too long");
  ASSERT(m == NULL);
  ASSERT_ERR_HAS(mmapio_open_or_create(&m, p, 4 * KIB), MMAPIO_EINVAL, "file name too long");
  ASSERT_ERR_HAS(mmapio_open_ro(&m, p), MMAPIO_EINVAL, "file name too long");
  free(p);
  /* Nothing left in the directory (no temporary names either). */
  ASSERT(remove_dir(dir) == 0);
  free(dir);
#endif
}

#if !defined(_WIN32)
/* The fixture of a child: an existing file and a name that does not exist. */
typedef struct child_files {
  const char *p, *fresh;
} child_files;

static int same(const char *p, const file_snap *s)
{
  file_snap now = snap_take(p);
  int ok = now.len == s->len && now.n == s->n && (now.n == 0 || memcmp(now.data, s->data, now.n) == 0);
  free(now.data);
  return ok;
}

/* In a child: RLIMIT_AS leaves room for the process but not for 1 GiB. */
#  define AS_LIMIT (UINT64_C(256) << 20)
static int as_child(void *arg)
{
  const char *p = ((const child_files *)arg)->p, *fresh = ((const child_files *)arg)->fresh;
  file_snap s = snap_take(p);
  mmapio_map *m = BAD_MAP;
  const uint64_t big = (uint64_t)1 << 30;
  TALLY_CHECK(mmapio_create_rw(&m, p, big) == MMAPIO_ENOMEM);
  TALLY_CHECK(m == NULL);
  TALLY_CHECK(same(p, &s));
  mmapio_options o = opts_of(MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE, big);
  TALLY_CHECK(mmapio_open(&m, p, &o) == MMAPIO_ENOMEM);
  TALLY_CHECK(same(p, &s));
  TALLY_CHECK(mmapio_open_or_create(&m, fresh, big) == MMAPIO_ENOMEM);
  TALLY_CHECK(!file_exists(fresh));
  TALLY_CHECK(mmapio_create_rw(&m, fresh, big) == MMAPIO_ENOMEM);
  TALLY_CHECK(!file_exists(fresh));
  /* SPARSE|TRUNCATE creates the name itself; the failure removes it. */
  TALLY_CHECK(mmapio_open(&m, fresh, &o) == MMAPIO_ENOMEM);
  TALLY_CHECK(!file_exists(fresh));

  /* A map of the file, grown beyond the address space: unchanged. */
  mmapio_map *mm;
  TALLY_CHECK(mmapio_open_rw(&mm, p) == MMAPIO_OK);
  if (mm != NULL) {
    TALLY_CHECK(mmapio_resize(mm, big) == MMAPIO_ENOMEM);
    TALLY_CHECK(mmapio_len(mm) == (uint64_t)s.len);
    TALLY_CHECK(mmapio_close(mm) == MMAPIO_OK);
  }
  TALLY_CHECK(same(p, &s));
  snap_free(&s);
  return test_child_result();
}

/* In a child: RLIMIT_FSIZE of 64 KiB, SIGXFSZ at its default (fatal). */
#  define FSIZE_LIMIT (UINT64_C(64) << 10)
static int fsize_child(void *arg)
{
  const char *p = ((const child_files *)arg)->p, *fresh = ((const child_files *)arg)->fresh;
  file_snap s = snap_take(p);
  mmapio_map *m = BAD_MAP;
  int st = mmapio_create_rw(&m, p, 1u << 20);
  TALLY_CHECK(st == MMAPIO_ESIZE);
  TALLY_CHECK(strstr(mmapio_last_error(), "RLIMIT_FSIZE") != NULL);
  TALLY_CHECK(same(p, &s));
  /* A SPARSE TRUNCATE tries a new file first; growing that one past the
   * limit raises SIGXFSZ like any write would (nothing existing is at
   * stake there). With the signal ignored it is ESIZE, file unchanged. */
  signal(SIGXFSZ, SIG_IGN);
  mmapio_options o = opts_of(MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE, 1u << 20);
  TALLY_CHECK(mmapio_open(&m, p, &o) == MMAPIO_ESIZE);
  TALLY_CHECK(same(p, &s));
  TALLY_CHECK(mmapio_open_or_create(&m, fresh, 1u << 20) == MMAPIO_ESIZE);
  TALLY_CHECK(!file_exists(fresh));
  TALLY_CHECK(mmapio_open(&m, fresh, &o) == MMAPIO_ESIZE); /* created under its name, removed */
  TALLY_CHECK(!file_exists(fresh));
  snap_free(&s);
  return test_child_result();
}

/* fn in a child under the limit `resource` (soft and hard) of `limit`. */
static void run_child(const char *what, int resource, uint64_t limit, int (*fn)(void *))
{
  char *p = mk_file("unch-child", 12345, 9);
  char *fresh = test_tmp_path("unch-fresh");
  child_files f = {p, fresh};
  int code = test_child_exit(test_fork_rlimit(resource, limit, limit, fn, &f), what);
  if (code == 77) printf("note: %s: setrlimit refused, not tested\n", what);
  else if (code != 0) TEST_FAIL_("%s: checks failed in the child", what);
  ASSERT(file_has_pattern(p, 12345, 9));
  test_unlink(p);
  test_unlink(fresh);
  free(p);
  free(fresh);
}
#endif

int main(void)
{
  test_too_large_for_fs();
  test_long_names();
#if !defined(_WIN32)
#  if UNDER_SANITIZER
  printf("note: sanitizers reserve terabytes of address space; RLIMIT_AS not tested\n");
  (void)as_child;
#  else
  if (test_emulator() != NULL) /* qemu-user accepts RLIMIT_AS and ignores it */
    printf("note: %s does not apply RLIMIT_AS to the program; RLIMIT_AS not tested\n",
           test_emulator());
  else
    run_child("RLIMIT_AS", RLIMIT_AS, AS_LIMIT, as_child);
#  endif
  run_child("RLIMIT_FSIZE", RLIMIT_FSIZE, FSIZE_LIMIT, fsize_child);
#endif
  return 0;
}
