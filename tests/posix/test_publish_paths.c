/*
 * test_publish_paths.c -- the ways a new file gets its name
 * (src/posix/posix_publish.c), each forced through the backend's syscall
 * table, with every OS call failing in turn:
 *
 *   tmpfile   open(O_TMPFILE) + linkat          (Linux default)
 *   renameat2 a hidden temporary name + renameat2(RENAME_NOREPLACE)
 *                                               (file systems without O_TMPFILE)
 *   link      temporary name + link + unlink    (no RENAME_NOREPLACE: macOS, BSD, old kernels)
 *   claim     temporary name + O_EXCL claim + rename (no hard links: FAT, some FUSE)
 *
 * For create_rw, open(CREATE|EXCLUSIVE) and a DURABLE_FULL create it checks:
 * the new file has the size and zero content; a failure returns the status
 * the OS error maps to with a detail message, leaves no file under the new
 * name and no temporary name in the directory, and never touches the other
 * file there; a name published by someone else meanwhile is EEXIST for
 * EXCLUSIVE (their file untouched) and opened by create_rw; a name too long
 * for the file system is EINVAL "file name too long" on every path.
 */
#include "test.h"

#if !defined(MMAPIO_TEST_HOOKS) || defined(_WIN32)
int main(void) { TEST_SKIP("needs the POSIX backend's syscall table (MMAPIO_TEST_HOOKS)"); }
#else

#include <dirent.h>

enum { P_TMPFILE, P_RENAMEAT2, P_LINK, P_CLAIM, P_COUNT };
static const char *const path_names[P_COUNT] = {"tmpfile", "renameat2", "link", "claim"};

static int mode;           /* one of P_* */
static const char *fresh;  /* the name being created */
static const char *racer;  /* non-NULL: create this file (pattern 7) just before naming */
static size_t page;

static mmapio__sys_table real;

static void race_now(const char *to)
{
  if (racer != NULL && strcmp(to, racer) == 0) {
    const char *p = racer;
    racer = NULL;
    uint8_t b[100];
    pat_fill(b, sizeof b, 0, 7);
    ASSERT_EQ(test_write_file(p, b, sizeof b), 0);
  }
}

static int fake_open(const char *path, int flags, mode_t m)
{
#ifdef O_TMPFILE
  if (mode != P_TMPFILE && (flags & O_TMPFILE) == O_TMPFILE) {
    errno = EOPNOTSUPP;
    return -1;
  }
#endif
  if ((flags & O_EXCL) != 0) race_now(path);
  return real.x_open(path, flags, m);
}

static int fake_rename_noreplace(const char *from, const char *to)
{
  if (mode > P_RENAMEAT2) {
    errno = EINVAL; /* no RENAME_NOREPLACE here */
    return -1;
  }
  race_now(to);
  return real.x_rename_noreplace(from, to);
}

static int fake_link(const char *from, const char *to)
{
  if (mode > P_LINK) {
    errno = EPERM; /* no hard links on this file system */
    return -1;
  }
  race_now(to);
  return real.x_link(from, to);
}

static int fake_linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
  race_now(to);
  return real.x_linkat(fromfd, from, tofd, to, flags);
}

static void install(int m)
{
  mode = m;
  mmapio__sys.x_open = fake_open;
  mmapio__sys.x_rename_noreplace = fake_rename_noreplace;
  mmapio__sys.x_link = fake_link;
  mmapio__sys.x_linkat = fake_linkat;
}

/* ---- the directory ------------------------------------------------------ */

static char *dir;    /* a directory of this test's own */
static char *other;  /* a file in it that no operation may touch */
static file_snap other_snap;

/* The number of entries in `dir` besides "." and "..", and whether one of
 * them is neither `other` nor `fresh` (a leftover temporary name). */
static int dir_entries(int *stray)
{
  DIR *d = opendir(dir);
  ASSERT(d != NULL);
  int n = 0;
  *stray = 0;
  const char *on = strrchr(other, '/') + 1, *fn = strrchr(fresh, '/') + 1;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    n++;
    if (strcmp(e->d_name, on) != 0 && strcmp(e->d_name, fn) != 0) {
      fprintf(stderr, "stray directory entry: %s\n", e->d_name);
      *stray = 1;
    }
  }
  closedir(d);
  return n;
}

static void check_clean(int want_fresh)
{
  int stray = 0;
  int n = dir_entries(&stray);
  ASSERT(!stray);
  ASSERT_EQ(file_exists(fresh), want_fresh);
  ASSERT_EQ(n, 1 + want_fresh);
  ASSERT_SNAP_SAME(other, other_snap);
}

/* ---- operations --------------------------------------------------------- */

static mmapio_map *m;

static int op_create_rw(void) { return mmapio_create_rw(&m, fresh, 3 * page); }
static int op_create_excl(void)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE;
  o.size = 3 * page;
  return mmapio_open(&m, fresh, &o);
}
static int op_create_full(void)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  o.durability = MMAPIO_DURABLE_FULL;
  o.size = 3 * page;
  return mmapio_open(&m, fresh, &o);
}

typedef struct op_desc { const char *name; int (*op)(void); } op_desc;
static const op_desc ops[] = {
  {"create_rw", op_create_rw},
  {"open(CREATE|EXCLUSIVE)", op_create_excl},
  {"open(CREATE|TRUNCATE, DURABLE_FULL)", op_create_full},
};
#define NOPS (sizeof ops / sizeof ops[0])

static void check_created(void)
{
  ASSERT(m != NULL);
  ASSERT_U64_EQ(mmapio_len(m), 3 * page);
  ASSERT_EQ(file_len(fresh), (int64_t)(3 * page));
  uint8_t *b = (uint8_t *)malloc(3 * page);
  ASSERT(b != NULL);
  ASSERT_OK(mmapio_read(m, 0, b, 3 * page));
  ASSERT(all_bytes(b, 3 * page, 0));
  free(b);
  /* The new file is a real, writable file under its name. */
  ASSERT_OK(mmapio_write(m, page, "abc", 3));
  ASSERT_OK(mmapio_flush(m));
  size_t n = 0;
  uint8_t *d = (uint8_t *)test_read_file(fresh, &n);
  ASSERT(d != NULL && n == 3 * page && memcmp(d + page, "abc", 3) == 0);
  free(d);
  ASSERT_OK(mmapio_close(m));
  m = NULL;
  check_clean(1);
  test_unlink(fresh);
}

/* Calls whose failure the create survives: releases and cleanup, and the
 * first way of naming an O_TMPFILE file (AT_EMPTY_PATH) whose refusal
 * sends the backend through /proc. */
static int tolerated(const char *call)
{
  static const char *const ok[] = {"close", "munmap", "madvise", "unlink", NULL};
  for (size_t i = 0; ok[i] != NULL; i++)
    if (strcmp(call, ok[i]) == 0) return 1;
  return 0;
}

static const int errs[] = {ENOMEM, EIO, ENOSPC, EACCES};
#define NERRS (sizeof errs / sizeof errs[0])
#define MAXREC 128

static unsigned run_op(const op_desc *d, int pm)
{
  mmapio__sys_call rec[MAXREC];
  /* Once to count the calls (and to prove the path works). */
  mmapio__sys_reset();
  mmapio__sys_record_start();
  m = NULL;
  ASSERT_OK(d->op());
  size_t nrec = mmapio__sys_record_stop(rec, MAXREC);
  mmapio__sys_reset();
  check_created();
  printf("%-10s %-38s %2zu calls:", path_names[pm], d->name, nrec);
  for (size_t i = 0; i < nrec; i++) printf(" %s", rec[i].name);
  printf("\n");
  ASSERT(nrec < MAXREC);
  unsigned cases = 0;
  for (size_t k = 1; k <= nrec; k++) {
    for (size_t e = 0; e < NERRS; e++) {
      m = NULL;
      mmapio__sys_reset();
      mmapio__sys_fail_nth(NULL, (unsigned)k, errs[e]);
      int rc = d->op();
      mmapio__sys_reset();
      cases++;
      if (rc == MMAPIO_OK) {
        if (!tolerated(rec[k - 1].name))
          TEST_FAIL_("%s/%s: call %zu (%s) failed with errno %d but the create returned OK",
                     path_names[pm], d->name, k, rec[k - 1].name, errs[e]);
        check_created();
        continue;
      }
      if (rc != mmapio__os_status(errs[e]))
        TEST_FAIL_("%s/%s: call %zu (%s) failed with errno %d: status %d, want %d",
                   path_names[pm], d->name, k, rec[k - 1].name, errs[e], rc,
                   mmapio__os_status(errs[e]));
      ASSERT(m == NULL);
      if (strstr(mmapio_last_error(), strrchr(fresh, '/') + 1) == NULL &&
          strstr(mmapio_last_error(), dir) == NULL)
        TEST_FAIL_("%s/%s: call %zu (%s): detail \"%s\" names neither the file nor its directory",
                   path_names[pm], d->name, k, rec[k - 1].name, mmapio_last_error());
      check_clean(0);
    }
  }
  return cases;
}

/* Someone else publishes the name between our create and our naming. */
static void run_race(void)
{
  m = NULL;
  racer = fresh;
  ASSERT_ERR_HAS(op_create_excl(), MMAPIO_EEXIST, "");
  ASSERT(racer == NULL); /* the race really ran */
  ASSERT(m == NULL);
  ASSERT(file_has_pattern(fresh, 100, 7)); /* their file, untouched */
  int stray = 0;
  ASSERT_EQ(dir_entries(&stray), 2);
  ASSERT(!stray);
  test_unlink(fresh);

  /* create_rw opens (and truncates) the file that won. */
  racer = fresh;
  ASSERT_OK(op_create_rw());
  ASSERT(racer == NULL);
  check_created();
}

/* A name longer than NAME_MAX: EINVAL with the documented detail, nothing left. */
static void run_long_name(void)
{
  char *saved = (char *)fresh;
  char *lp = test_long_name(dir, 299);
  fresh = lp;
  m = NULL;
  ASSERT_ERR_HAS(mmapio_create_rw(&m, lp, 3 * page), MMAPIO_EINVAL, "file name too long");
  ASSERT(m == NULL);
  check_clean(0);
  /* EXCLUSIVE goes to the create (and the naming) without opening first. */
  ASSERT_ERR_HAS(op_create_excl(), MMAPIO_EINVAL, "file name too long");
  ASSERT(m == NULL);
  check_clean(0);
  fresh = saved;
  free(lp);
}

int main(void)
{
  page = mmapio_page_size();
  real = mmapio__sys;
  dir = test_tmp_path("publish");
  ASSERT_EQ(make_dir(dir), 0);
  other = test_path_in(dir, "other.bin");
  char *fp = test_path_in(dir, "new.bin");
  fresh = fp;
  uint8_t b[777];
  pat_fill(b, sizeof b, 0, 3);
  ASSERT_EQ(test_write_file(other, b, sizeof b), 0);
  other_snap = snap_take(other);

  unsigned cases = 0;
  for (int pm = 0; pm < P_COUNT; pm++) {
    install(pm);
    for (size_t o = 0; o < NOPS; o++) cases += run_op(&ops[o], pm);
    run_race();
    run_long_name();
  }
  mmapio__sys = real;
  snap_free(&other_snap);
  test_unlink(other);
  ASSERT_EQ(remove_dir(dir), 0);
  free(other);
  free(fp);
  free(dir);
  printf("publish paths: %u failure cases\n", cases);
  return 0;
}
#endif
