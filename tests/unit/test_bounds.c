/*
 * The bounds rule, the zero-length rule and the check order (the conventions
 * at the top of include/mmapio.h) for mmapio_read, mmapio_write, mmapio_view_get, mmapio_view_get_mut,
 * mmapio_flush_range and mmapio_segment_init, in every mode, at 0, total,
 * total +- 1 and near UINT64_MAX (including sums that wrap around), with the
 * exact EBOUNDS message.
 */
#include "test.h"

static uint64_t TOTAL;
static uint8_t *BUF; /* TOTAL bytes */

enum { OP_READ, OP_WRITE, OP_VIEW, OP_VIEW_MUT, OP_FLUSH_RANGE, OP_SEGMENT, OP_COUNT };
static const char *op_name[] = {"read", "write", "view", "view_mut", "flush_range", "segment"};

static int in_bounds(uint64_t off, uint64_t len) { return off <= TOTAL && len <= TOTAL - off; }

/* Run one operation; returns its status and releases whatever it got. */
static int run_op(int op, mmapio_map *m, uint64_t off, uint64_t len)
{
  int s;
  switch (op) {
  case OP_READ:
    return mmapio_read(m, off, BUF, (size_t)len);
  case OP_WRITE:
    return mmapio_write(m, off, BUF, (size_t)len);
  case OP_VIEW: {
    mmapio_view v;
    s = mmapio_view_get(&v, m, off, len);
    if (s == MMAPIO_OK) {
      ASSERT_EQ(v.len, len);
      if (len > 0) ASSERT(v.data == (const uint8_t *)mmapio_unsafe_ptr(m) + off);
      mmapio_view_release(&v);
    }
    return s;
  }
  case OP_VIEW_MUT: {
    mmapio_view_mut v;
    s = mmapio_view_get_mut(&v, m, off, len);
    if (s == MMAPIO_OK) {
      ASSERT_EQ(v.len, len);
      if (len > 0) ASSERT(v.data == (uint8_t *)mmapio_unsafe_ptr(m) + off);
      ASSERT_OK(mmapio_view_mut_release(&v));
    }
    return s;
  }
  case OP_FLUSH_RANGE:
    return mmapio_flush_range(m, off, len);
  case OP_SEGMENT: {
    mmapio_segment sg;
    s = mmapio_segment_init(&sg, m, off, len);
    if (s == MMAPIO_OK) {
      ASSERT(sg.map == m);
      ASSERT_U64_EQ(sg.offset, off);
      ASSERT_U64_EQ(sg.len, len);
      ASSERT_EQ(mmapio_segment_valid(&sg), 1);
      mmapio_segment_release(&sg);
    }
    return s;
  }
  }
  return -100;
}

/* What the contract says the result must be. */
static int expected(int op, mmapio_mode mode, uint64_t off, uint64_t len)
{
  int ro = mode == MMAPIO_MODE_READ_ONLY;
  switch (op) {
  case OP_WRITE:
    if (len == 0) return MMAPIO_OK; /* zero-length action: before everything */
    if (ro) return MMAPIO_EMODE;    /* mode before bounds */
    break;
  case OP_FLUSH_RANGE:
    if (len == 0) return MMAPIO_OK;
    break;
  case OP_VIEW_MUT:
    if (ro) return MMAPIO_EMODE; /* a zero-length view is not an action */
    break;
  default:
    break;
  }
  return in_bounds(off, len) ? MMAPIO_OK : MMAPIO_EBOUNDS;
}

static void run_table(mmapio_map *m, const char *what)
{
  mmapio_mode mode = mmapio_mode_of(m);
  const uint64_t T = TOTAL, M = UINT64_MAX, H = UINT64_C(1) << 63;
  const uint64_t cases[][2] = {
    {0, 0}, {0, 1}, {0, T - 1}, {0, T}, {0, T + 1}, {1, T - 1}, {1, T}, {T - 1, 0}, {T - 1, 1},
    {T - 1, 2}, {T, 0}, {T, 1}, {T + 1, 0}, {T + 1, 1}, {T / 2, T / 2}, {T / 2, T - T / 2},
    {T / 2, T - T / 2 + 1}, {M, 0}, {M, 1}, {M, M}, {0, M}, {1, M}, {T, M}, {M - T, T},
    {H, H},          /* off + len wraps to 0 */
    {2, M - 1},      /* off + len wraps to 0 */
    {T, M - T + 1},  /* off + len wraps to 0 */
    {M - 1, 2},      /* wraps to 0 */
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    uint64_t off = cases[c][0], len = cases[c][1];
    for (int op = 0; op < OP_COUNT; op++) {
      if ((op == OP_READ || op == OP_WRITE) && len > SIZE_MAX) continue;
      int want = expected(op, mode, off, len);
      int got = run_op(op, m, off, len);
      if (got != want)
        TEST_FAIL_("%s map: %s(off=%llu, len=%llu) returned %d (%s), want %d (%s)", what,
                   op_name[op], (unsigned long long)off, (unsigned long long)len, got,
                   mmapio_strerror(got), want, mmapio_strerror(want));
      if (want == MMAPIO_EBOUNDS && strcmp(mmapio_last_error(), bounds_msg(off, len, T)) != 0)
        TEST_FAIL_("%s map: %s(off=%llu, len=%llu): detail \"%s\", want \"%s\"", what,
                   op_name[op], (unsigned long long)off, (unsigned long long)len,
                   mmapio_last_error(), bounds_msg(off, len, T));
    }
  }
  /* NULL arguments come before everything, zero-length actions included. */
  ASSERT_STATUS(mmapio_flush_range(NULL, 0, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_flush_range(NULL, M, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_view_get(NULL, m, 0, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_view_get_mut(NULL, m, 0, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_segment_init(NULL, m, 0, 0), MMAPIO_EINVAL);
  mmapio_view v;
  mmapio_view_mut vm;
  mmapio_segment sg;
  ASSERT_STATUS(mmapio_view_get(&v, NULL, 0, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_view_get_mut(&vm, NULL, 0, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_segment_init(&sg, NULL, 0, 0), MMAPIO_EINVAL);
  /* The length seen by the checks is the current one. */
  ASSERT_U64_EQ(mmapio_len(m), T);
}

int main(void)
{
  size_t ps = mmapio_page_size();
  TOTAL = 3 * ps + 123;
  BUF = (uint8_t *)calloc(1, (size_t)TOTAL);
  ASSERT(BUF != NULL);
  char *p = mk_file("bounds", (size_t)TOTAL, 61);
  mmapio_map *m;

  ASSERT_OK(mmapio_open_ro(&m, p));
  run_table(m, "RO");
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_open_rw(&m, p));
  run_table(m, "RW");
  ASSERT_OK(mmapio_close(m));
  if (has_cow()) {
    ASSERT_OK(mmapio_open_cow(&m, p));
    run_table(m, "COW");
    ASSERT_OK(mmapio_close(m));
  }
  ASSERT_OK(mmapio_anon(&m, TOTAL, 0));
  run_table(m, "anon");
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_anon(&m, TOTAL, MMAPIO_ANON_SHARED));
  run_table(m, "anon shared");
  ASSERT_OK(mmapio_close(m));

  /* An empty RO map: total 0. */
  char *e = mk_file("bounds-empty", 0, 0);
  TOTAL = 0;
  ASSERT_OK(mmapio_open_ro(&m, e));
  {
    mmapio_view v;
    ASSERT_OK(mmapio_view_get(&v, m, 0, 0));
    mmapio_view_release(&v);
    ASSERT_BOUNDS(mmapio_view_get(&v, m, 1, 0), 1, 0, 0);
    ASSERT_BOUNDS(mmapio_view_get(&v, m, 0, 1), 0, 1, 0);
    ASSERT_BOUNDS(mmapio_view_get(&v, m, UINT64_MAX, 1), UINT64_MAX, 1, 0);
    ASSERT_OK(mmapio_flush_range(m, 5, 0));
    ASSERT_BOUNDS(mmapio_flush_range(m, 0, 1), 0, 1, 0);
    mmapio_segment sg;
    ASSERT_OK(mmapio_segment_init(&sg, m, 0, 0));
    mmapio_segment_release(&sg);
    ASSERT_BOUNDS(mmapio_segment_init(&sg, m, 1, 0), 1, 0, 0);
  }
  ASSERT_OK(mmapio_close(m));

  test_unlink(e);
  test_unlink(p);
  free(e);
  free(p);
  free(BUF);
  return 0;
}
