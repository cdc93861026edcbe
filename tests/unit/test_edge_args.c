/*
 * test_edge_args.c -- argument checks and failure paths that no other test
 * reached: each refusal must return the documented status with a detail
 * message naming the call, change nothing on disk and leave the map as it
 * was.
 *
 *   - mmapio_open: max_size on a map that is not READ_WRITE;
 *   - mmapio_open_fd_opts: CREATE/TRUNCATE/EXCLUSIVE/PRIVATE_PERMS or a
 *     non-zero size (the descriptor's file is never resized or truncated);
 *   - mmapio_close of a reference that is not the last while the caller
 *     holds an atomic view (EBUSY, and the reference is kept);
 *   - mmapio_append / mmapio_set_logical_len beyond MMAPIO_MAX_SIZE, and an
 *     append whose growth fails: the logical end and the file stay as they
 *     were and the next append lands where the failed one would have.
 */
#include "internal.h"
#include "test.h"

static size_t ps;

static void open_checks(void)
{
  char *p = mk_file("edge-open", 2 * ps, 11);
  file_snap s = snap_take(p);
  mmapio_map *m = (mmapio_map *)(uintptr_t)1;
  mmapio_options o;

  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_READ_ONLY;
  o.max_size = 4 * ps;
  ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_EINVAL,
             fmt_msg("mmapio_open(%s): max_size needs MMAPIO_MODE_READ_WRITE", p));
  ASSERT(m == NULL);
  if (MMAPIO_WITH_COW) {
    o.mode = MMAPIO_MODE_COPY_ON_WRITE;
    m = (mmapio_map *)(uintptr_t)1;
    ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
    ASSERT(m == NULL);
  }
  ASSERT_SNAP_SAME(p, s);

#ifndef _WIN32
  /* open_fd_opts: nothing that would create, truncate or size the file. */
  int fd = open(p, O_RDWR);
  ASSERT(fd >= 0);
  static const uint32_t bad[] = {MMAPIO_OPEN_CREATE, MMAPIO_OPEN_TRUNCATE,
                                 MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE,
                                 MMAPIO_OPEN_PRIVATE_PERMS};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mmapio_options_init(&o);
    o.flags = bad[i];
    o.size = ps; /* would shrink the file if it were used */
    m = (mmapio_map *)(uintptr_t)1;
    ASSERT_ERR(mmapio_open_fd_opts(&m, fd, &o, "hint.bin"), MMAPIO_EINVAL,
               fmt_msg("mmapio_open_fd(hint.bin): flags 0x%x (CREATE/TRUNCATE/EXCLUSIVE/"
                       "PRIVATE_PERMS) do not apply to an open descriptor",
                       (unsigned)bad[i]));
    ASSERT(m == NULL);
    ASSERT_SNAP_SAME(p, s);
  }
  mmapio_options_init(&o);
  o.size = ps;
  ASSERT_ERR(mmapio_open_fd_opts(&m, fd, &o, NULL), MMAPIO_EINVAL,
             "mmapio_open_fd(<fd>): options size must be 0");
  ASSERT(m == NULL);
  ASSERT_SNAP_SAME(p, s);
  /* The caller's descriptor is still open and usable. */
  mmapio_options_init(&o);
  ASSERT_OK(mmapio_open_fd_opts(&m, fd, &o, NULL));
  ASSERT_U64_EQ(mmapio_len(m), 2 * ps);
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(close(fd), 0);
#endif
  ASSERT_SNAP_SAME(p, s);
  snap_free(&s);
  test_unlink(p);
  free(p);
}

static void close_checks(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) return;
  char *p = mk_file("edge-close", 2 * ps, 12);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, p));
  ASSERT_OK(mmapio_retain(m)); /* two references */
  mmapio_atomic a;
  ASSERT_OK(mmapio_atomic_u64(&a, m, 8));
  ASSERT_ERR(mmapio_close(m), MMAPIO_EBUSY,
             fmt_msg("mmapio_close(%s): 1 atomic view(s) still outstanding", p));
  /* Refused means nothing changed: both references are still there. */
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_close(m));
  uint8_t b[8];
  ASSERT_OK(mmapio_read(m, 0, b, sizeof b)); /* the second reference still works */
  ASSERT(pat_check(b, sizeof b, 0, 12));
  ASSERT_OK(mmapio_close(m));
  ASSERT(file_has_pattern(p, 2 * ps, 12));
  test_unlink(p);
  free(p);
}

static void append_checks(void)
{
  char *p = mk_file("edge-append", 2 * ps, 13);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_rw(&m, p));
  uint64_t off = 0;
  ASSERT_OK(mmapio_append(m, "head", 4, &off));
  ASSERT_U64_EQ(off, 2 * ps);
  uint64_t logical = mmapio_logical_len(m);
  ASSERT_U64_EQ(logical, 2 * ps + 4);
  uint64_t cap = mmapio_len(m);

  /* Too large for any map: refused before anything is reserved. */
  uint8_t one = 1;
  if ((uint64_t)SIZE_MAX > MMAPIO_MAX_SIZE) {
    size_t huge = (size_t)MMAPIO_MAX_SIZE + 1u;
    ASSERT_ERR(mmapio_append(m, &one, huge, &off), MMAPIO_ESIZE,
               fmt_msg("mmapio_append(%s): %llu bytes exceed the maximum size", p,
                       (unsigned long long)huge));
    ASSERT_U64_EQ(mmapio_logical_len(m), logical);
    /* Fits alone, not after the logical end: the reservation is given back. */
    size_t big = (size_t)MMAPIO_MAX_SIZE;
    ASSERT_ERR(mmapio_append(m, &one, big, &off), MMAPIO_ESIZE,
               fmt_msg("mmapio_append(%s): New size %llu exceeds maximum safe limit of %llu bytes",
                       p, (unsigned long long)(logical + big), (unsigned long long)MMAPIO_MAX_SIZE));
    ASSERT_U64_EQ(mmapio_logical_len(m), logical);
  }
  ASSERT_ERR(mmapio_set_logical_len(m, MMAPIO_MAX_SIZE + 1u), MMAPIO_ESIZE,
             fmt_msg("mmapio_set_logical_len(%s): New size %llu exceeds maximum safe limit of %llu bytes",
                     p, (unsigned long long)(MMAPIO_MAX_SIZE + 1u),
                     (unsigned long long)MMAPIO_MAX_SIZE));
  ASSERT_STATUS(mmapio_set_logical_len(m, UINT64_MAX), MMAPIO_ESIZE);
  ASSERT_U64_EQ(mmapio_logical_len(m), logical);
  ASSERT_U64_EQ(mmapio_len(m), cap);

#if defined(MMAPIO_TEST_HOOKS) && !defined(_WIN32)
  /* An append that needs more capacity, whose growth fails. */
  uint8_t *chunk = (uint8_t *)malloc((size_t)cap);
  ASSERT(chunk != NULL);
  pat_fill(chunk, (size_t)cap, 0, 14);
  ASSERT_OK(mmapio_flush(m));
  file_snap s = snap_take(p);
  mmapio__sys_reset();
  mmapio__sys_fail_nth(NULL, 1, ENOSPC);
  int rc = mmapio_append(m, chunk, (size_t)cap, &off);
  unsigned calls = mmapio__sys_count(NULL);
  mmapio__sys_reset();
  if (calls > 0) {
    ASSERT_STATUS(rc, MMAPIO_ENOSPC);
    ASSERT(mmapio_last_error()[0] != '\0');
    ASSERT_U64_EQ(mmapio_logical_len(m), logical);
    ASSERT_U64_EQ(mmapio_len(m), cap);
    ASSERT_SNAP_SAME(p, s);
    /* The next append gets the offset the failed one would have had. */
    ASSERT_OK(mmapio_append(m, chunk, (size_t)cap, &off));
    ASSERT_U64_EQ(off, logical);
    ASSERT_U64_EQ(mmapio_logical_len(m), logical + cap);
  } else {
    ASSERT_OK(rc);
  }
  snap_free(&s);
  free(chunk);
#endif
  uint64_t want_len = mmapio_logical_len(m);
  ASSERT_OK(mmapio_close(m));
  /* Close cut the file back to the logical end. */
  ASSERT_EQ(file_len(p), (int64_t)want_len);
  test_unlink(p);
  free(p);
}

int main(void)
{
  ps = mmapio_page_size();
  open_checks();
  close_checks();
  append_checks();
  return 0;
}
