/*
 * test_inject.c -- every OS call of open / create / resize / flush / close /
 * anon fails in turn (fault injection through the backend's syscall table,
 * platform.h "Test hooks"), with each of ENOMEM, EIO, ENOSPC and EACCES.
 *
 * For each operation the test first runs it once successfully and counts
 * (and records, for the messages) the OS calls it makes. Then for k = 1..n
 * and each error it sets the fixture up again, makes the k-th call fail and
 * checks:
 *   - the operation returns the status that error maps to (or OK when the
 *     failing call is one the operation is documented to tolerate, listed in
 *     `tolerated` below with the reason);
 *   - on failure `*out` is NULL, and an open map is still usable with its
 *     old length and content;
 *   - the fixture file is never corrupted: its content is unchanged by
 *     failures of non-destructive operations, and its length is unchanged
 *     when a resize fails;
 *   - nothing leaks (the suite runs this test under AddressSanitizer, whose
 *     leak checker fails the process at exit).
 */
#include "internal.h"
#include "test.h"

#if !defined(MMAPIO_TEST_HOOKS)
int main(void) { TEST_SKIP("needs a static build with MMAPIO_TEST_HOOKS"); }
#else

#include <errno.h>
#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
static const int errs[] = {ERROR_NOT_ENOUGH_MEMORY, ERROR_CRC, ERROR_DISK_FULL, ERROR_ACCESS_DENIED};
static const char *const err_names[] = {"NOT_ENOUGH_MEMORY", "CRC", "DISK_FULL", "ACCESS_DENIED"};
#else
static const int errs[] = {ENOMEM, EIO, ENOSPC, EACCES};
static const char *const err_names[] = {"ENOMEM", "EIO", "ENOSPC", "EACCES"};
#endif
#define NERRS (sizeof errs / sizeof errs[0])

static size_t page;
static char *fix;        /* fixture path */
static char *fresh;      /* path that does not exist before the op */
static uint8_t *fix_data;
static size_t fix_len;
static mmapio_map *m;    /* the map the op works on or produces */

static uint8_t pat(size_t i) { return (uint8_t)(i * 97u + (i >> 9) + 1u); }

static void write_fixture(void)
{
  ASSERT_EQ(test_write_file(fix, fix_data, fix_len), 0);
  test_unlink(fresh);
}

/* The fixture file holds exactly `len` bytes equal to the reference. */
static int fixture_intact(size_t len)
{
  size_t n = 0;
  uint8_t *d = (uint8_t *)test_read_file(fix, &n);
  if (d == NULL) return 0;
  size_t cmp = len < fix_len ? len : fix_len;
  int ok = n == len && memcmp(d, fix_data, cmp) == 0;
  for (size_t i = cmp; ok && i < n; i++) ok = d[i] == 0;
  free(d);
  return ok;
}

/* The map reads the fixture's first `len` bytes (zeros past the fixture)
 * and accepts a write + read back. */
static void map_usable(mmapio_map *mm, size_t len, int writable)
{
  ASSERT_U64_EQ(mmapio_len(mm), len);
  uint8_t *b = (uint8_t *)malloc(len);
  ASSERT(b != NULL);
  ASSERT_OK(mmapio_read(mm, 0, b, len));
  size_t cmp = len < fix_len ? len : fix_len;
  ASSERT_MEMEQ(b, fix_data, cmp);
  for (size_t i = cmp; i < len; i++) ASSERT_EQ(b[i], 0);
  if (writable) {
    uint8_t v = b[len / 2];
    ASSERT_OK(mmapio_write(mm, len / 2, &v, 1)); /* same byte: content unchanged */
    ASSERT_OK(mmapio_read(mm, len / 2, b, 1));
    ASSERT_EQ(b[0], v);
  }
  free(b);
}

/* ---- Operations -------------------------------------------------------- */
/* setup() prepares the state (not counted), op() is the operation under
 * test, check_fail() verifies the state after a failed op, check_ok() after
 * a successful one, teardown() releases everything. */
typedef struct op_desc {
  const char *name;
  const char *may_ignore;     /* calls this op may survive (space separated), with why */
  void (*setup)(void);
  int (*op)(void);
  void (*check_fail)(void);
  void (*check_ok)(void);
  void (*teardown)(void);
} op_desc;

static void setup_none(void) { write_fixture(); m = NULL; }
static void setup_open_rw(void) { write_fixture(); ASSERT_OK(mmapio_open_rw(&m, fix)); }
static void setup_max(void)
{
  write_fixture();
  mmapio_options o;
  mmapio_options_init(&o);
  o.max_size = 16 * page;
  ASSERT_OK(mmapio_open(&m, fix, &o));
}
static void setup_dirty_policy(void)
{
  write_fixture();
  mmapio_options o;
  mmapio_options_init(&o);
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_BYTES;
  o.flush_policy.every = 1u << 30; /* never reached: close does the final flush */
  ASSERT_OK(mmapio_open(&m, fix, &o));
  ASSERT_OK(mmapio_write(m, 0, fix_data, 1));
}
static void setup_full(void)
{
  write_fixture();
  mmapio_options o;
  mmapio_options_init(&o);
  o.durability = MMAPIO_DURABLE_FULL;
  ASSERT_OK(mmapio_open(&m, fix, &o));
  ASSERT_OK(mmapio_write(m, 0, fix_data, 1));
}

static void teardown_map(void)
{
  if (m != NULL) ASSERT_OK(mmapio_close(m));
  m = NULL;
}
static void teardown_none(void) { m = NULL; }

static int op_open_rw(void) { return mmapio_open_rw(&m, fix); }
static int op_open_ro(void) { return mmapio_open_ro(&m, fix); }
static int op_open_cow(void) { return mmapio_open_cow(&m, fix); }
static int op_open_or_create(void) { return mmapio_open_or_create(&m, fix, 8 * page); }
static int op_open_safe_max(void)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_FAULT_SAFE;
  o.max_size = 32 * page;
  o.touch = MMAPIO_TOUCH_EAGER;
  return mmapio_open(&m, fix, &o);
}
static int op_create_new(void) { return mmapio_create_rw(&m, fresh, 3 * page); }
static int op_create_sparse(void)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_SPARSE;
  o.size = 3 * page;
  return mmapio_open(&m, fresh, &o);
}
static int op_create_trunc_sparse(const char *p)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE;
  o.size = 3 * page;
  return mmapio_open(&m, p, &o);
}
static int op_create_sparse_new(void) { return op_create_trunc_sparse(fresh); }
static int op_create_sparse_over(void) { return op_create_trunc_sparse(fix); }
static int op_create_over(void) { return mmapio_create_rw(&m, fix, 2 * page); }
static int op_create_over_grow(void) { return mmapio_create_rw(&m, fix, 8 * page); }
static int op_anon(void) { return mmapio_anon(&m, 5 * page, 0); }
static int op_anon_shared(void) { return mmapio_anon(&m, 5 * page, MMAPIO_ANON_SHARED); }
static int op_grow(void) { return mmapio_resize(m, 8 * page); }
static int op_shrink(void) { return mmapio_resize(m, 2 * page); }
static int op_grow_in_place(void) { return mmapio_resize(m, 12 * page); }
static int op_flush(void) { return mmapio_flush(m); }
static int op_flush_range(void) { return mmapio_flush_range(m, page + 1, page); }
static int op_close(void)
{
  int rc = mmapio_close(m);
  m = NULL; /* released whatever the status (close documents it) */
  return rc;
}
static int op_anon_resize(void) { return mmapio_resize(m, 9 * page); }
static void setup_anon(void)
{
  write_fixture();
  ASSERT_OK(mmapio_anon(&m, 5 * page, 0));
  ASSERT_OK(mmapio_write(m, 0, fix_data, 5 * page));
}

/* After failures. */
static void fail_out_null(void)
{
  ASSERT(m == NULL);
  ASSERT(fixture_intact(fix_len));
}
/* A failed create leaves no file under the new name. */
static void fail_no_new_file(void)
{
  fail_out_null();
  ASSERT(!file_exists(fresh));
}
/* The call that failed in the current case, and the index of the first
 * call of the operation's recording that changes the fixture (SIZE_MAX:
 * none). A TRUNCATE runs every check that can refuse it (size limits,
 * address space, block reservation) before it changes the file; only an OS
 * failure of the change itself, after that point of no return, may leave
 * the fixture changed. */
static size_t cur_k;
static size_t first_change = (size_t)-1;
static void fail_truncate(void)
{
  ASSERT(m == NULL);
  if (cur_k > first_change + 1) return; /* past the point of no return */
  ASSERT(fixture_intact(fix_len));
}

/* The first call of a TRUNCATE that changes content or length: the zeroing
 * fallocate (FALLOC_FL_ZERO_RANGE), or an ftruncate / SetEndOfFile. */
static size_t find_first_change(const mmapio__sys_call *rec, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (strcmp(rec[i].name, "ftruncate") == 0 || strcmp(rec[i].name, "SetEndOfFile") == 0) return i;
    if (strcmp(rec[i].name, "fallocate") == 0 && (rec[i].flags & 0x10 /* ZERO_RANGE */)) return i;
  }
  return (size_t)-1;
}
static void fail_map_intact(void)
{
  map_usable(m, fix_len, 1);
  /* A failed flush is sticky: the next flush reports it again until it is
   * acknowledged. */
  int ferr = mmapio_flush_error(m, NULL, NULL);
  if (ferr != MMAPIO_OK) {
    ASSERT_STATUS(mmapio_flush(m), ferr);
    ASSERT(mmapio_pending_bytes(m) != 0);
    ASSERT_OK(mmapio_clear_error(m));
  }
  ASSERT_OK(mmapio_flush(m));
  ASSERT(fixture_intact(fix_len));
}
static void fail_anon_intact(void)
{
  ASSERT_U64_EQ(mmapio_len(m), 5 * page);
  uint8_t *b = (uint8_t *)malloc(5 * page);
  ASSERT(b != NULL);
  ASSERT_OK(mmapio_read(m, 0, b, 5 * page));
  ASSERT_MEMEQ(b, fix_data, 5 * page);
  free(b);
}
static void fail_closed(void) { ASSERT(m == NULL); ASSERT(fixture_intact(fix_len)); }

/* After successes. */
static void ok_open(void) { ASSERT(m != NULL); map_usable(m, fix_len, mmapio_mode_of(m) != MMAPIO_MODE_READ_ONLY); }
static void ok_created(void) { ASSERT(m != NULL); ASSERT_U64_EQ(mmapio_len(m), 3 * page); }
static void ok_created_over(void) { ASSERT(m != NULL); ASSERT_U64_EQ(mmapio_len(m), 2 * page); }
static void ok_created_over_grow(void) { ASSERT(m != NULL); ASSERT_U64_EQ(mmapio_len(m), 8 * page); }
static void ok_anon(void) { ASSERT(m != NULL); ASSERT_U64_EQ(mmapio_len(m), 5 * page); }
static void ok_len8(void) { map_usable(m, 8 * page, 1); }
static void ok_len2(void) { ASSERT_U64_EQ(mmapio_len(m), 2 * page); }
static void ok_len12(void) { map_usable(m, 12 * page, 1); }
static void ok_len9(void) { ASSERT_U64_EQ(mmapio_len(m), 9 * page); }
static void ok_map(void) { map_usable(m, fix_len, 1); }
static void ok_closed(void) { ASSERT(m == NULL); }

static const op_desc ops[] = {
  {"open_rw", NULL, setup_none, op_open_rw, fail_out_null, ok_open, teardown_map},
  {"open_ro", NULL, setup_none, op_open_ro, fail_out_null, ok_open, teardown_map},
  {"open_cow", NULL, setup_none, op_open_cow, fail_out_null, ok_open, teardown_map},
  {"open_or_create(existing)", NULL, setup_none, op_open_or_create, fail_out_null, ok_open, teardown_map},
  {"open(FAULT_SAFE, max_size, TOUCH_EAGER)", NULL, setup_none, op_open_safe_max, fail_out_null, ok_open, teardown_map},
  {"create_rw(new)", NULL, setup_none, op_create_new, fail_no_new_file, ok_created, teardown_map},
  {"open(CREATE|SPARSE, new)", NULL, setup_none, op_create_sparse, fail_no_new_file, ok_created, teardown_map},
  {"open(CREATE|TRUNCATE|SPARSE, new)", NULL, setup_none, op_create_sparse_new, fail_no_new_file, ok_created, teardown_map},
  {"open(CREATE|TRUNCATE|SPARSE, existing)", NULL, setup_none, op_create_sparse_over, fail_truncate, ok_created, teardown_map},
  {"create_rw(existing: truncate)", NULL, setup_none, op_create_over, fail_truncate, ok_created_over, teardown_map},
  {"create_rw(existing: truncate, grow)", NULL, setup_none, op_create_over_grow, fail_truncate, ok_created_over_grow, teardown_map},
  {"anon", NULL, setup_none, op_anon, fail_out_null, ok_anon, teardown_map},
  {"anon(SHARED)", NULL, setup_none, op_anon_shared, fail_out_null, ok_anon, teardown_map},
  {"resize(grow, moving)", NULL, setup_open_rw, op_grow, fail_map_intact, ok_len8, teardown_map},
  {"resize(shrink)", "mremap" /* giving address space back is optional */, setup_open_rw, op_shrink, fail_map_intact, ok_len2, teardown_map},
  {"resize(grow in place)", NULL, setup_max, op_grow_in_place, fail_map_intact, ok_len12, teardown_map},
  {"resize(anon)", NULL, setup_anon, op_anon_resize, fail_anon_intact, ok_len9, teardown_map},
  {"flush", NULL, setup_open_rw, op_flush, fail_map_intact, ok_map, teardown_map},
  {"flush(FULL)", NULL, setup_full, op_flush, fail_map_intact, ok_map, teardown_map},
  {"flush_range", NULL, setup_open_rw, op_flush_range, fail_map_intact, ok_map, teardown_map},
  {"close(final policy flush)", NULL, setup_dirty_policy, op_close, fail_closed, ok_closed, teardown_none},
  {"close", NULL, setup_open_rw, op_close, fail_closed, ok_closed, teardown_none},
};
#define NOPS (sizeof ops / sizeof ops[0])

/* Calls whose failure an operation survives by design (status OK):
 *   close / munmap   -- releasing: the descriptor or mapping is gone either
 *                       way, and POSIX says not to retry close();
 *   madvise          -- advice and the touch hint are best effort;
 *   unlink           -- only used to clean up (a temporary name after a
 *                       failed publish, a file a failed create made): the
 *                       operation's own result does not depend on it;
 *   fallocate(KEEP_SIZE) -- the pre-check before truncating an existing
 *                       file (platform.h mmapio__os_file_can_reserve) only
 *                       acts on "disk full": other refusals mean "cannot
 *                       check here", and the real allocation that follows
 *                       is checked (and injected) on its own; and for a
 *                       shrink of a file that holds its blocks, "disk
 *                       full" too (see below).
 * Anything else that fails must fail the operation. Every tolerated case is
 * counted and printed. */
static int tolerated(const mmapio__sys_call *c, int err, const op_desc *d)
{
  if (d->may_ignore != NULL) {
    size_t n = strlen(c->name);
    const char *p = strstr(d->may_ignore, c->name);
    if (p != NULL && (p == d->may_ignore || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ')) return 1;
  }
  static const char *const ok[] = {"close", "munmap", "madvise", "unlink", "CloseHandle", "UnmapViewOfFile", "DeleteFileW",
                                   "PrefetchVirtualMemory", NULL};
  for (size_t i = 0; ok[i] != NULL; i++)
    if (strcmp(c->name, ok[i]) == 0) return 1;
#if defined(__linux__) && !defined(_WIN32)
  if (strcmp(c->name, "fallocate") == 0 && (c->flags & 1 /* FALLOC_FL_KEEP_SIZE */) && err != ENOSPC)
    return 1;
#endif
  /* A shrinking TRUNCATE of a file that holds its blocks survives "disk
   * full" at the pre-check and at the zeroing (a full XFS refuses even
   * blocks the file has, XFS and btrfs reallocate what they zero): it gives
   * the blocks back first and reserves the smaller length again. */
  if (strcmp(c->name, "fallocate") == 0 && err == ENOSPC &&
      strcmp(d->name, "create_rw(existing: truncate)") == 0)
    return 1;
  return 0;
}

#define MAXREC 256

/* The case being checked, printed if a check exits the process. */
static char cur_case[256];
static int in_check;
static void print_case(void)
{
  if (in_check) fprintf(stderr, "  while checking: %s\n", cur_case);
}

int main(void)
{
  page = mmapio_page_size();
  fix = test_tmp_path("inj");
  fresh = test_tmp_path("inj-new");
  fix_len = 4 * page + 100;
  fix_data = (uint8_t *)malloc(16 * page);
  ASSERT(fix_data != NULL);
  for (size_t i = 0; i < 16 * page; i++) fix_data[i] = pat(i);

  atexit(print_case);
  mmapio__sys_call *rec = (mmapio__sys_call *)calloc(MAXREC, sizeof *rec);
  ASSERT(rec != NULL);
  unsigned total_cases = 0, total_calls = 0, total_tolerated = 0;
  int saw_any = 0;

  for (size_t o = 0; o < NOPS; o++) {
    const op_desc *d = &ops[o];
    /* Operations whose feature is compiled out are not part of this build. */
    if ((strstr(d->name, "cow") != NULL && !mmapio_has_feature(MMAPIO_FEATURE_COW)) ||
        (strstr(d->name, "FAULT_SAFE") != NULL && !mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE))) {
      printf("%-40s skipped: feature compiled out\n", d->name);
      continue;
    }
    /* Warm up (first-use initialisation is not part of the op), then count. */
    for (int pass = 0; pass < 2; pass++) {
      d->setup();
      mmapio__sys_reset();
      mmapio__sys_record_start();
      int rc = d->op();
      size_t nrec = mmapio__sys_record_stop(rec, MAXREC);
      unsigned n = mmapio__sys_count(NULL);
      mmapio__sys_reset();
      if (rc != MMAPIO_OK) TEST_FAIL_("%s: fails without injection: %d", d->name, rc);
      d->check_ok();
      d->teardown();
      if (pass == 0) continue;
      ASSERT(nrec == n || n > MAXREC);
      first_change = find_first_change(rec, nrec);
      if (n > 0) saw_any = 1;
      printf("%-40s %2u OS calls:", d->name, n);
      for (size_t i = 0; i < nrec; i++) printf(" %s", rec[i].name);
      printf("\n");
      total_calls += n;

      for (unsigned k = 1; k <= n; k++) {
        mmapio__sys_call unknown = {"?", 0, 0, 0};
        const mmapio__sys_call *cr = k <= nrec ? &rec[k - 1] : &unknown;
        const char *call = cr->name;
        for (size_t e = 0; e < NERRS; e++) {
          d->setup();
          cur_k = k;
          mmapio__sys_reset();
          mmapio__sys_fail_nth(NULL, k, errs[e]);
          int r = d->op();
          mmapio__sys_reset();
          total_cases++;
          snprintf(cur_case, sizeof cur_case, "%s: call %u (%s) failing with %s returned %d", d->name,
                   k, call, err_names[e], r);
          in_check = 1;
          if (r == MMAPIO_OK) {
            if (!tolerated(cr, errs[e], d))
              TEST_FAIL_("%s: call %u (%s) failed with %s but the op returned OK", d->name, k,
                         call, err_names[e]);
            d->check_ok();
            total_tolerated++;
            printf("  tolerated: call %u (%s) failing with %s\n", k, call, err_names[e]);
          } else {
            int want = mmapio__os_status(errs[e]);
            if (r != want)
              TEST_FAIL_("%s: call %u (%s) failed with %s: status %d (%s), want %d (%s)", d->name,
                         k, call, err_names[e], r, mmapio_strerror(r), want, mmapio_strerror(want));
            if (mmapio_last_error()[0] == '\0')
              TEST_FAIL_("%s: call %u (%s): no detail message", d->name, k, call);
            d->check_fail();
          }
          d->teardown();
          in_check = 0;
        }
      }
    }
  }
  test_unlink(fix);
  test_unlink(fresh);
  free(fix);
  free(fresh);
  free(fix_data);
  free(rec);
  if (!saw_any) TEST_SKIP("the backend routes no OS call through the test hooks");
  printf("inject: %u failure cases over %u OS calls of %u operations (%u tolerated)\n",
         total_cases, total_calls, (unsigned)NOPS, total_tolerated);
  return 0;
}
#endif
