/*
 * Window maps (mmapio.h, "Window maps"): mmapio_options.offset/length map
 * a range of a file. Every API call through a window reads and writes the
 * right file bytes (offsets at granularity multiples and odd offsets, RO,
 * RW and COW), bounds stop at the window's edges, flush_range of a window
 * writes the window's bytes and nothing else of the file, atomics check the
 * file offset's alignment, the open-time errors (offset past the end, a
 * window past the end, empty windows, max_size with a fixed window,
 * TRUNCATE/CREATE with a window), resize of tail windows (the file follows)
 * and of fixed windows (ENOTSUP), and callers passing the 1.0 options struct.
 */
#include "test.h"

#include <stddef.h>

#if defined(MMAPIO_TEST_HOOKS) && !defined(_WIN32)
#  include "platform.h"
#  define HAVE_RECORDER 1
#else
#  define HAVE_RECORDER 0
#endif

static uint64_t PS, G, FLEN;
static const unsigned SEED = 7;

static int open_win(mmapio_map **m, const char *p, mmapio_mode mode, uint64_t off, uint64_t len)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  o.offset = off;
  o.length = len;
  return mmapio_open(m, p, &o);
}

/* The file must hold the pattern everywhere except [lo, hi), where `expect`
 * (hi - lo bytes) must be. */
static void check_file(const char *p, uint64_t lo, uint64_t hi, const uint8_t *expect)
{
  size_t n = 0;
  uint8_t *d = (uint8_t *)test_read_file(p, &n);
  ASSERT(d != NULL);
  ASSERT_U64_EQ(n, FLEN);
  for (uint64_t i = 0; i < n; i++) {
    uint8_t want = (i >= lo && i < hi) ? expect[i - lo] : pat_byte(i, SEED);
    if (d[i] != want)
      TEST_FAIL_("file byte %llu is %u, want %u (window change [%llu, %llu))",
                 (unsigned long long)i, d[i], want, (unsigned long long)lo,
                 (unsigned long long)hi);
  }
  free(d);
}

/* Every read-side call through the window [off, off + wl). */
static void check_reads(mmapio_map *m, uint64_t off, uint64_t wl)
{
  ASSERT_U64_EQ(mmapio_len(m), wl);
  const uint8_t *b = (const uint8_t *)mmapio_unsafe_ptr(m);
  ASSERT(b != NULL);
  ASSERT(pat_check(b, (size_t)wl, off, SEED));

  /* read, at both edges and past them */
  uint8_t buf[64];
  ASSERT_OK(mmapio_read(m, 0, buf, 16));
  ASSERT(pat_check(buf, 16, off, SEED));
  ASSERT_OK(mmapio_read(m, wl - 16, buf, 16));
  ASSERT(pat_check(buf, 16, off + wl - 16, SEED));
  ASSERT_BOUNDS(mmapio_read(m, wl - 15, buf, 16), wl - 15, 16, wl);
  ASSERT_BOUNDS(mmapio_read(m, wl + 1, buf, 0), wl + 1, 0, wl);
  ASSERT_OK(mmapio_read(m, wl, buf, 0));

  /* views */
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, m, 0, wl));
  ASSERT(v.len == wl && pat_check(v.data, v.len, off, SEED));
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_view_get(&v, m, wl, 0));
  mmapio_view_release(&v);
  ASSERT_BOUNDS(mmapio_view_get(&v, m, 1, wl), 1, wl, wl);

  /* segments */
  mmapio_segment s;
  ASSERT_OK(mmapio_segment_init(&s, m, 10, 100));
  ASSERT_OK(mmapio_segment_view(&v, &s));
  ASSERT(v.len == 100 && pat_check(v.data, 100, off + 10, SEED));
  mmapio_view_release(&v);
  mmapio_segment_release(&s);
  ASSERT_BOUNDS(mmapio_segment_init(&s, m, wl - 99, 100), wl - 99, 100, wl);

  /* iterators: offsets are window offsets, data the file's */
  if (mmapio_has_feature(MMAPIO_FEATURE_ITERATOR)) {
    mmapio_iter it;
    mmapio_chunk c;
    uint64_t seen = 0;
    ASSERT_OK(mmapio_chunks(&it, m, 1000));
    int r;
    while ((r = mmapio_iter_next(&c, &it)) == 1) {
      ASSERT_U64_EQ(c.offset, seen);
      ASSERT(pat_check(c.data, c.len, off + c.offset, SEED));
      seen += c.len;
    }
    ASSERT_EQ(r, 0);
    mmapio_iter_end(&it);
    ASSERT_U64_EQ(seen, wl);
  }

  /* atomics: alignment is the file offset's */
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    uint64_t a8 = (8u - off % 8u) % 8u; /* first window offset at an 8-aligned file offset */
    mmapio_atomic a;
    ASSERT_OK(mmapio_atomic_u64(&a, m, a8));
    uint64_t want;
    ASSERT_OK(mmapio_read(m, a8, &want, 8));
    ASSERT_U64_EQ(mmapio_load_u64((const uint64_t *)a.ptr, MMAPIO_ORDER_ACQUIRE), want);
    ASSERT((uintptr_t)a.ptr % 8u == 0);
    mmapio_atomic_release(&a);
    ASSERT_ERR(mmapio_atomic_u64(&a, m, a8 + 4), MMAPIO_EALIGN,
               fmt_msg("atomic alignment error: required=8, offset=%llu",
                       (unsigned long long)(a8 + 4)));
    uint64_t last8 = a8 + ((wl - a8) / 8u - 1u) * 8u;
    ASSERT_OK(mmapio_atomic_u64(&a, m, last8));
    mmapio_atomic_release(&a);
    ASSERT_BOUNDS(mmapio_atomic_u64(&a, m, last8 + 8), last8 + 8, 8, wl);
  }

  /* hints: page-expanded inside, bounds at the window's edge */
  if (mmapio_has_feature(MMAPIO_FEATURE_ADVISE)) {
    ASSERT_OK(mmapio_advise(m, 1, wl - 1, MMAPIO_ADVICE_SEQUENTIAL));
    ASSERT_OK(mmapio_advise(m, 0, wl, MMAPIO_ADVICE_WILLNEED));
    ASSERT_BOUNDS(mmapio_advise(m, 1, wl, MMAPIO_ADVICE_NORMAL), 1, wl, wl);
  }
  ASSERT_OK(mmapio_prefetch(m, 3, wl - 3));
  ASSERT_BOUNDS(mmapio_prefetch(m, wl, 1), wl, 1, wl);
  ASSERT_OK(mmapio_touch_range(m, 0, wl));
  ASSERT_OK(mmapio_touch(m));
  ASSERT_OK(mmapio_probe(m, 0, wl));
  ASSERT_OK(mmapio_probe(m, wl - 1, 1));
  ASSERT_BOUNDS(mmapio_probe(m, wl - 1, 2), wl - 1, 2, wl);
  uint64_t res = 0, tot = 0;
  ASSERT_OK(mmapio_residency(&res, &tot, m, 0, wl));
  /* The pages of the file that hold the window. */
  uint64_t first = off / PS, last = (off + wl - 1) / PS;
  ASSERT_U64_EQ(tot, last - first + 1);
  ASSERT(res <= tot);
  ASSERT_OK(mmapio_residency(&res, &tot, m, 0, 1));
  ASSERT_U64_EQ(tot, 1);
  ASSERT_BOUNDS(mmapio_residency(&res, &tot, m, wl, 1), wl, 1, wl);
  if (mmapio_has_feature(MMAPIO_FEATURE_LOCKING)) {
    uint64_t ll = wl - 5 < 2 * PS ? wl - 5 : 2 * PS;
    int rc = mmapio_lock(m, 5, ll);
    ASSERT(rc == MMAPIO_OK || rc == MMAPIO_EACCES || rc == MMAPIO_ENOMEM);
    if (rc == MMAPIO_OK) ASSERT_OK(mmapio_unlock(m, 5, ll));
    ASSERT_BOUNDS(mmapio_lock(m, wl, 1), wl, 1, wl);
  }
  ASSERT_OK(mmapio_evict(m, 0, wl));
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)wl, off, SEED)); /* nothing lost */

  /* the reader and byte buffers */
  mmapio_reader rd;
  mmapio_reader_init(&rd, m);
  ASSERT_EQ(mmapio_reader_seek(&rd, -8, SEEK_END), (int64_t)(wl - 8));
  ASSERT_EQ(mmapio_reader_read(&rd, buf, sizeof buf), 8);
  ASSERT(pat_check(buf, 8, off + wl - 8, SEED));
  if (mmapio_has_feature(MMAPIO_FEATURE_BYTES)) {
    mmapio_bytes by;
    ASSERT_OK(mmapio_bytes_get(&by, m, 7, 50));
    ASSERT(by.len == 50 && pat_check(by.data, 50, off + 7, SEED));
    mmapio_bytes_release(&by);
  }
}

/* The file offsets used: page and granularity multiples and odd ones. */
typedef struct { uint64_t off, len; } win;

static void each_window(void (*fn)(const win *w))
{
  const win ws[] = {
      {0, 0},
      {PS, 0},
      {G, 3 * PS},
      {G + 1, 0},
      {3, 2 * PS + 17},
      {PS - 1, PS + 2},
      {2 * G + PS - 5, G + 9},
      {5 * G - 1, 0},
      {FLEN - 4096, 0},
      {FLEN - 200, 200},
  };
  for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) fn(&ws[i]);
}

static uint64_t wlen(const win *w) { return w->len != 0 ? w->len : FLEN - w->off; }

static void check_ro(const win *w)
{
  char *p = mk_file("win-ro", (size_t)FLEN, SEED);
  mmapio_map *m;
  ASSERT_OK(open_win(&m, p, MMAPIO_MODE_READ_ONLY, w->off, w->len));
  check_reads(m, w->off, wlen(w));
  uint8_t x = 1;
  ASSERT_STATUS(mmapio_write(m, 0, &x, 1), MMAPIO_EMODE);
  ASSERT_OK(mmapio_flush_range(m, 0, wlen(w))); /* RO: bounds only */
  ASSERT_BOUNDS(mmapio_flush_range(m, 1, wlen(w)), 1, wlen(w), wlen(w));
  ASSERT_OK(mmapio_close(m));
  check_file(p, 0, 0, NULL);
  test_unlink(p);
  free(p);
}

static void check_rw(const win *w)
{
  char *p = mk_file("win-rw", (size_t)FLEN, SEED);
  uint64_t wl = wlen(w);
  mmapio_map *m;
  ASSERT_OK(open_win(&m, p, MMAPIO_MODE_READ_WRITE, w->off, w->len));
  check_reads(m, w->off, wl);

  /* Write the first and last bytes of the window and a run in the middle
   * (through write, a mut view, a segment and a mut iterator); the file
   * must change exactly there. */
  uint8_t *expect = (uint8_t *)malloc((size_t)wl);
  ASSERT(expect != NULL);
  pat_fill(expect, (size_t)wl, w->off, SEED);
  uint8_t a = 0xA1, z = 0x5A, mid[40];
  memset(mid, 0xC3, sizeof mid);
  ASSERT_OK(mmapio_write(m, 0, &a, 1));
  expect[0] = a;
  ASSERT_OK(mmapio_write(m, wl - 1, &z, 1));
  expect[wl - 1] = z;
  ASSERT_BOUNDS(mmapio_write(m, wl - 1, mid, 2), wl - 1, 2, wl);
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, m, wl / 2, sizeof mid));
  memcpy(vm.data, mid, sizeof mid);
  ASSERT_OK(mmapio_view_mut_release(&vm));
  memcpy(expect + wl / 2, mid, sizeof mid);
  mmapio_segment s;
  ASSERT_OK(mmapio_segment_init(&s, m, 20, 10));
  ASSERT_OK(mmapio_segment_write(&s, 2, "wxyz", 4));
  ASSERT_BOUNDS(mmapio_segment_write(&s, 8, "wxyz", 4), 8, 4, 10);
  memcpy(expect + 22, "wxyz", 4);
  mmapio_segment_release(&s);
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    uint64_t a4 = (4u - w->off % 4u) % 4u + 4u;
    mmapio_atomic at;
    ASSERT_OK(mmapio_atomic_u32(&at, m, a4));
    uint32_t one = 0x01020304u;
    mmapio_store_u32((uint32_t *)at.ptr, one, MMAPIO_ORDER_RELEASE);
    mmapio_atomic_release(&at);
    memcpy(expect + a4, &one, 4);
  }
  ASSERT(memcmp(mmapio_unsafe_ptr(m), expect, (size_t)wl) == 0);

  /* flush_range of the whole window, then of a range at each edge */
  ASSERT_OK(mmapio_flush_range(m, 0, 1));
  ASSERT_OK(mmapio_flush_range(m, wl - 1, 1));
  ASSERT_OK(mmapio_flush_range(m, 0, wl));
  ASSERT_BOUNDS(mmapio_flush_range(m, wl, 1), wl, 1, wl);
  check_file(p, w->off, w->off + wl, expect);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  check_file(p, w->off, w->off + wl, expect);
  free(expect);
  test_unlink(p);
  free(p);
}

static void check_cow(const win *w)
{
  if (!has_cow()) return;
  char *p = mk_file("win-cow", (size_t)FLEN, SEED);
  uint64_t wl = wlen(w);
  mmapio_map *m;
  ASSERT_OK(open_win(&m, p, MMAPIO_MODE_COPY_ON_WRITE, w->off, w->len));
  check_reads(m, w->off, wl);
  uint8_t junk[32];
  memset(junk, 0xEE, sizeof junk);
  ASSERT_OK(mmapio_write(m, 0, junk, sizeof junk));
  ASSERT_OK(mmapio_write(m, wl - 1, junk, 1));
  uint8_t back[32];
  ASSERT_OK(mmapio_read(m, 0, back, sizeof back));
  ASSERT_MEMEQ(back, junk, sizeof junk);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_flush_range(m, 0, wl));
  ASSERT_STATUS(mmapio_resize(m, wl + 1), MMAPIO_EMODE);
  ASSERT_OK(mmapio_close(m));
  check_file(p, 0, 0, NULL); /* private: the file is untouched */
  test_unlink(p);
  free(p);
}

/* flush_range(off, len) of a window msyncs the pages of the *file* that
 * hold those bytes: recorded on POSIX. */
static void check_flush_syscalls(void)
{
#if HAVE_RECORDER
  char *p = mk_file("win-sys", (size_t)FLEN, SEED);
  const uint64_t offs[] = {3 * PS + 100, PS, 7};
  for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
    uint64_t off = offs[k];
    mmapio_map *m;
    ASSERT_OK(open_win(&m, p, MMAPIO_MODE_READ_WRITE, off, 4 * PS));
    uint8_t *b = (uint8_t *)mmapio_unsafe_ptr(m);
    uint8_t x = 0x11;
    ASSERT_OK(mmapio_write(m, PS, &x, 1));
    mmapio__sys_call rec[64];
    mmapio__sys_reset();
    mmapio__sys_record_start();
    ASSERT_OK(mmapio_flush_range(m, PS, 1));
    size_t n = mmapio__sys_record_stop(rec, 64);
    size_t msyncs = 0;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(rec[i].name, "msync") != 0) continue;
      msyncs++;
      uintptr_t at = (uintptr_t)(b + PS);
      /* From the file page holding the byte; at most that page and the
       * next (the window-relative page the core asked for straddles two
       * file pages when the offset is not a page multiple). */
      ASSERT_U64_EQ(rec[i].a, at - at % PS);
      ASSERT(rec[i].b > at - rec[i].a && rec[i].b <= 2 * PS);
      if (off % PS == 0) ASSERT_U64_EQ(rec[i].b, PS);
    }
    ASSERT_EQ(msyncs, 1);
    ASSERT_OK(mmapio_close(m));
  }
  mmapio__sys_reset();
  test_unlink(p);
  free(p);
#endif
}

static void check_open_errors(void)
{
  char *p = mk_file("win-err", (size_t)FLEN, SEED);
  mmapio_map *m = BAD_MAP;
  ASSERT_ERR(open_win(&m, p, MMAPIO_MODE_READ_ONLY, FLEN + 1, 0), MMAPIO_EBOUNDS,
             fmt_msg("mmapio_open(%s): window offset %llu is past the end of the file (%llu bytes)",
                     p, (unsigned long long)(FLEN + 1), (unsigned long long)FLEN));
  ASSERT(m == NULL);
  ASSERT_ERR(open_win(&m, p, MMAPIO_MODE_READ_WRITE, FLEN - 10, 11), MMAPIO_EBOUNDS,
             fmt_msg("mmapio_open(%s): window [%llu, %llu) passes the end of the file (%llu bytes)",
                     p, (unsigned long long)(FLEN - 10), (unsigned long long)(FLEN + 1),
                     (unsigned long long)FLEN));
  ASSERT_STATUS(open_win(&m, p, MMAPIO_MODE_READ_ONLY, 0, FLEN + 1), MMAPIO_EBOUNDS);
  ASSERT_STATUS(open_win(&m, p, MMAPIO_MODE_READ_ONLY, UINT64_MAX - 5, 10), MMAPIO_EBOUNDS);
  ASSERT_ERR(open_win(&m, p, MMAPIO_MODE_READ_ONLY, 0, MMAPIO_MAX_SIZE + 1), MMAPIO_ESIZE,
             size_max_msg(MMAPIO_MAX_SIZE + 1));

  /* An empty window at the end: RO maps it empty, RW/COW refuse it. */
  ASSERT_OK(open_win(&m, p, MMAPIO_MODE_READ_ONLY, FLEN, 0));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  uint8_t x;
  ASSERT_BOUNDS(mmapio_read(m, 0, &x, 1), 0, 1, 0);
  ASSERT_OK(mmapio_close(m));
  ASSERT_ERR(open_win(&m, p, MMAPIO_MODE_READ_WRITE, FLEN, 0), MMAPIO_ESIZE,
             fmt_msg("Cannot map zero-length file: the window at offset %llu is empty",
                     (unsigned long long)FLEN));

  /* max_size needs a tail window. */
  mmapio_options o;
  mmapio_options_init(&o);
  o.offset = PS;
  o.length = PS;
  o.max_size = 4 * FLEN;
  ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_EINVAL,
             fmt_msg("mmapio_open(%s): max_size needs a window that reaches the end of the file "
                     "(length 0)",
                     p));
  /* max_size bounds the window, not the file. */
  o.length = 0;
  o.max_size = FLEN - PS;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), FLEN - PS);
  ASSERT_OK(mmapio_close(m));
  o.max_size = FLEN - PS - 1;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_ESIZE);

  /* TRUNCATE with a window past the new size: rejected before the file is
   * touched. */
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  o.size = 2 * PS;
  o.offset = 2 * PS + 1;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EBOUNDS);
  o.offset = PS;
  o.length = PS + 1;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EBOUNDS);
  check_file(p, 0, 0, NULL);
  test_unlink(p);

  /* CREATE with a window: size is the file's length; a window that does
   * not fit leaves no file behind. */
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE;
  o.size = 3 * PS;
  o.offset = 3 * PS - 10;
  o.length = 11;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EBOUNDS);
  ASSERT(!file_exists(p));
  o.length = 0;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 10);
  ASSERT_EQ(file_len(p), (int64_t)(3 * PS));
  ASSERT_OK(mmapio_write(m, 9, "q", 1));
  ASSERT_OK(mmapio_close(m));
  {
    size_t n = 0;
    uint8_t *d = (uint8_t *)test_read_file(p, &n);
    ASSERT(d != NULL && n == 3 * PS);
    ASSERT(all_bytes(d, n - 1, 0));
    ASSERT_EQ(d[n - 1], 'q');
    free(d);
  }
  test_unlink(p);
  free(p);
}

/* Resize: a tail window moves the end of file; a fixed window is ENOTSUP. */
static void check_resize(void)
{
  char *p = mk_file("win-rsz", (size_t)FLEN, SEED);
  const uint64_t offs[] = {G + 123, PS, 1};
  for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
    uint64_t off = offs[k];
    test_unlink(p);
    free(p);
    p = mk_file("win-rsz", (size_t)FLEN, SEED);
    mmapio_map *m;
    ASSERT_OK(open_win(&m, p, MMAPIO_MODE_READ_WRITE, off, 0));
    uint64_t wl = FLEN - off;
    ASSERT_OK(mmapio_resize(m, wl + 3 * PS + 5));
    ASSERT_U64_EQ(mmapio_len(m), wl + 3 * PS + 5);
    ASSERT_EQ(file_len(p), (int64_t)(FLEN + 3 * PS + 5));
    const uint8_t *b = (const uint8_t *)mmapio_unsafe_ptr(m);
    ASSERT(pat_check(b, (size_t)wl, off, SEED));
    ASSERT(all_bytes(b + wl, (size_t)(3 * PS + 5), 0));
    ASSERT_OK(mmapio_write(m, wl + 3 * PS + 4, "e", 1));
    ASSERT_OK(mmapio_flush(m));
    /* shrink: the file ends where the window ends */
    ASSERT_OK(mmapio_resize(m, 2 * PS + 1));
    ASSERT_EQ(file_len(p), (int64_t)(off + 2 * PS + 1));
    ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)(2 * PS + 1), off, SEED));
    uint8_t x;
    ASSERT_BOUNDS(mmapio_read(m, 2 * PS + 1, &x, 1), 2 * PS + 1, 1, 2 * PS + 1);
    ASSERT_ERR(mmapio_resize(m, 0), MMAPIO_ESIZE, MSG_NEW_SIZE_ZERO);
    ASSERT_OK(mmapio_close(m));
    {
      size_t n = 0;
      uint8_t *d = (uint8_t *)test_read_file(p, &n);
      ASSERT(d != NULL && n == off + 2 * PS + 1);
      ASSERT(pat_check(d, n, 0, SEED)); /* bytes before the window untouched */
      free(d);
    }
  }

  /* In place within max_size (where the OS can reserve: capacity says). */
  test_unlink(p);
  free(p);
  p = mk_file("win-rsz", (size_t)FLEN, SEED);
  mmapio_options o;
  mmapio_options_init(&o);
  o.offset = 2 * PS + 9;
  o.max_size = 8 * FLEN;
  mmapio_map *m;
  ASSERT_OK(mmapio_open(&m, p, &o));
  uint64_t wl = FLEN - o.offset;
  void *base = mmapio_unsafe_ptr(m);
  int in_place = mmapio_capacity(m) >= 4 * FLEN;
  mmapio_view v;
  if (in_place) ASSERT_OK(mmapio_view_get(&v, m, 0, 16)); /* stays valid */
  ASSERT_OK(mmapio_resize(m, 4 * FLEN));
  ASSERT_EQ(file_len(p), (int64_t)(o.offset + 4 * FLEN));
  if (in_place) {
    ASSERT(mmapio_unsafe_ptr(m) == base);
    ASSERT(pat_check(v.data, 16, o.offset, SEED));
    mmapio_view_release(&v);
  }
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)wl, o.offset, SEED));
  ASSERT_OK(mmapio_write(m, 4 * FLEN - 1, "z", 1));
  ASSERT_OK(mmapio_close(m));

  /* A fixed window cannot be resized. */
  ASSERT_OK(open_win(&m, p, MMAPIO_MODE_READ_WRITE, PS, PS));
  ASSERT_ERR_HAS(mmapio_resize(m, 2 * PS), MMAPIO_ENOTSUP, "explicit length cannot be resized");
  ASSERT_U64_EQ(mmapio_len(m), PS);
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
}

/* FAULT_SAFE through a window: the file is truncated under it, and the
 * fault offsets are window offsets (POSIX: Windows cannot truncate a
 * mapped file). */
static void check_fault_window(void)
{
#ifndef _WIN32
  if (!mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE)) return;
  if (!test_sigbus_addr_exact()) {
    printf("note: under %s SIGBUS reports the wrong address; faults through a window not tested\n",
           test_emulator());
    return;
  }
  char *p = mk_file("win-fault", (size_t)FLEN, SEED);
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_READ_ONLY;
  o.flags = MMAPIO_OPEN_FAULT_SAFE;
  o.offset = PS + 3;
  mmapio_map *m;
  ASSERT_OK(mmapio_open(&m, p, &o));
  uint64_t wl = mmapio_len(m);
  /* File pages up to 3 * PS stay readable (the last one partly zero). */
  ASSERT_EQ(truncate(p, (off_t)(2 * PS + 13)), 0);
  uint64_t first_lost = 3 * PS - o.offset; /* window offset of file page 3 */
  uint8_t *buf = (uint8_t *)malloc((size_t)wl);
  ASSERT(buf != NULL);
  const char *want = fmt_msg("mmapio_read(%s): fault at offset %llu: pages not backed (file "
                             "truncated, disk full or I/O error)",
                             p, (unsigned long long)first_lost);
  ASSERT_ERR(mmapio_read(m, 0, buf, (size_t)wl), MMAPIO_EFAULT, want);
  ASSERT_OK(mmapio_read(m, 0, buf, (size_t)first_lost));
  ASSERT(pat_check(buf, (size_t)(2 * PS + 13 - o.offset), o.offset, SEED));
  ASSERT_OK(mmapio_probe(m, 0, first_lost));
  ASSERT_ERR(mmapio_probe(m, 1, wl - 1), MMAPIO_EFAULT,
             fmt_msg("mmapio_probe(%s): fault at offset %llu: pages not backed (file truncated, "
                     "disk full or I/O error)",
                     p, (unsigned long long)first_lost));
  free(buf);
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
#endif
}

/* A caller built against the 1.0 header passes a shorter struct: accepted,
 * whole file, and the bytes after it are never read. */
static void check_old_struct(void)
{
  char *p = mk_file("win-old", (size_t)FLEN, SEED);
  const size_t v10 = offsetof(mmapio_options, offset);
  /* The 1.0 layout: 56 bytes where uint64_t is 8-byte aligned in structs,
   * 52 where the ABI aligns it to 4 (32-bit x86 Linux). */
  struct u64_in_struct { uint32_t a; uint64_t b; };
  ASSERT_EQ(v10, offsetof(struct u64_in_struct, b) == 4 ? 52 : 56);
  ASSERT_EQ(sizeof(mmapio_options), v10 + 16);
  unsigned char raw[sizeof(mmapio_options) + 16];
  memset(raw, 0xFF, sizeof raw); /* garbage where offset/length would be */
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_READ_ONLY;
  o.struct_size = (uint32_t)v10;
  memcpy(raw, &o, v10);
  mmapio_map *m;
  ASSERT_OK(mmapio_open(&m, p, (const mmapio_options *)(void *)raw));
  ASSERT_U64_EQ(mmapio_len(m), FLEN);
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)FLEN, 0, SEED));
  ASSERT_OK(mmapio_close(m));

  /* The 1.0 struct plus offset: accepted, length keeps its default. */
  mmapio_options_init(&o);
  o.mode = MMAPIO_MODE_READ_ONLY;
  o.offset = 0;
  o.struct_size = (uint32_t)(v10 + 8);
  memset(raw, 0xFF, sizeof raw);
  memcpy(raw, &o, v10 + 8);
  ASSERT_OK(mmapio_open(&m, p, (const mmapio_options *)(void *)raw));
  ASSERT_U64_EQ(mmapio_len(m), FLEN);
  ASSERT_OK(mmapio_close(m));

  /* Sizes no header ever had. */
  const uint32_t bad[] = {0, 8, (uint32_t)v10 - 8, (uint32_t)v10 + 4,
                          (uint32_t)sizeof(mmapio_options) - 4,
                          (uint32_t)sizeof(mmapio_options) + 8};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mmapio_options_init(&o);
    o.struct_size = bad[i];
    ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_EVERSION,
               fmt_msg("mmapio_open(%s): options struct_size %u not understood (this library uses "
                       "%u; call mmapio_options_init)",
                       p, (unsigned)bad[i], (unsigned)sizeof(mmapio_options)));
  }
  /* The current size with the new fields. */
  mmapio_options_init(&o);
  ASSERT_U64_EQ(o.offset, 0);
  ASSERT_U64_EQ(o.length, 0);
  ASSERT_EQ(o.struct_size, sizeof(mmapio_options));
  test_unlink(p);
  free(p);
}

int main(void)
{
  PS = mmapio_page_size();
  G = mmapio_allocation_granularity();
  FLEN = 6 * G + 1234;
  if (FLEN < 8 * PS) FLEN = 8 * PS + 1234;
  each_window(check_ro);
  each_window(check_rw);
  each_window(check_cow);
  check_flush_syscalls();
  check_open_errors();
  check_resize();
  check_fault_window();
  check_old_struct();
  return 0;
}
