/*
 * cmd_demo.c -- "mmapio demo": a short guided tour of the library on a
 * temporary file. Each step says what it does, calls the public API and
 * prints what it observed, then checks that the observation is what the
 * header documents. Features compiled out of the build, or not available on
 * this platform (MMAPIO_ENOTSUP), are reported as "skipped: <reason>".
 *
 * The exit status is 0 only if every step that ran behaved as documented,
 * so the demo doubles as an end-to-end smoke test of a fresh build.
 *
 * Steps are independent: each opens what it needs from the file created by
 * the first step and closes it again, so one failing step does not hide the
 * results of the others, and every map is closed before the clean-up
 * removes the files (Windows refuses to delete a mapped file).
 */
#include "cli.h"

#include <errno.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_SIZE ((uint64_t)64 << 10)       /* the working file: 64 KiB */
#define DEMO_SEG_OFF ((uint64_t)4096)         /* where the segment lives */
#define DEMO_SEG_LEN ((uint64_t)64)
#define DEMO_COUNTER_OFF ((uint64_t)8192)     /* where the atomic counter lives */
#define DEMO_LOG_START ((uint64_t)4096)       /* growth step: initial size */
#define DEMO_LOG_MAX ((uint64_t)1 << 20)      /* growth step: reserved maximum */

static const char greeting[] = "Hello from mmapio!";
static const char seg_text[] = "segment data";

enum { STEP_OK = 0, STEP_SKIPPED = 1, STEP_FAILED = 2 };

typedef struct demo {
  char path[1024];     /* the working file */
  char log_path[1024]; /* the file of the growth step */
  int keep;
  int step;
  int passed, skipped, failed;
} demo;

/* ---- output helpers ------------------------------------------------------ */

static void title(demo *d, const char *text)
{
  d->step++;
  printf("\n[%2d] %s\n", d->step, text);
}

static void say(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void say(const char *fmt, ...)
{
  va_list ap;
  fputs("     ", stdout);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
}

static const char *status_name(int rc)
{
  switch (rc) {
  case MMAPIO_OK: return "MMAPIO_OK";
  case MMAPIO_EINVAL: return "MMAPIO_EINVAL";
  case MMAPIO_EBOUNDS: return "MMAPIO_EBOUNDS";
  case MMAPIO_EMODE: return "MMAPIO_EMODE";
  case MMAPIO_EALIGN: return "MMAPIO_EALIGN";
  case MMAPIO_ESIZE: return "MMAPIO_ESIZE";
  case MMAPIO_EBUSY: return "MMAPIO_EBUSY";
  case MMAPIO_EDEADLK: return "MMAPIO_EDEADLK";
  case MMAPIO_ENOENT: return "MMAPIO_ENOENT";
  case MMAPIO_EEXIST: return "MMAPIO_EEXIST";
  case MMAPIO_EACCES: return "MMAPIO_EACCES";
  case MMAPIO_ENOSPC: return "MMAPIO_ENOSPC";
  case MMAPIO_ENOMEM: return "MMAPIO_ENOMEM";
  case MMAPIO_EIO: return "MMAPIO_EIO";
  case MMAPIO_EFAULT: return "MMAPIO_EFAULT";
  case MMAPIO_ENOTSUP: return "MMAPIO_ENOTSUP";
  case MMAPIO_EVERSION: return "MMAPIO_EVERSION";
  case MMAPIO_EAGAIN: return "MMAPIO_EAGAIN";
  case MMAPIO_ETIMEDOUT: return "MMAPIO_ETIMEDOUT";
  }
  return "unknown status";
}

/* The length of the function name at the start of `call`, the expression
 * text of the macros below: messages show the function, not C source. */
static int call_name_len(const char *call)
{
  const char *paren = strchr(call, '(');
  return paren != NULL ? (int)(paren - call) : (int)strlen(call);
}

/* A call failed that should have worked. */
static int failed_call(const char *call, int rc)
{
  char detail[600];
  cli_clean_message(mmapio_last_error(), detail, sizeof detail);
  say("FAILED: %.*s returned %s (%s): %s", call_name_len(call), call, status_name(rc),
      mmapio_strerror(rc), detail);
  return STEP_FAILED;
}

/* A call returned a status other than the documented one. */
static int wrong_status(const char *call, int rc, int want)
{
  char detail[600];
  cli_clean_message(rc != MMAPIO_OK ? mmapio_last_error() : "", detail, sizeof detail);
  say("FAILED: %.*s returned %s, expected %s (detail: \"%s\")", call_name_len(call), call,
      status_name(rc), status_name(want), detail);
  return STEP_FAILED;
}

/* A feature the step needs is compiled out or not available here. `call`
 * is the expression text; only the function name is shown. */
static int skipped(const char *call, int rc)
{
  char detail[600];
  cli_clean_message(mmapio_last_error(), detail, sizeof detail);
  if (detail[0] == '\0')
    snprintf(detail, sizeof detail, "%s", mmapio_strerror(rc));
  say("skipped: %s (%.*s returned %s)", detail, call_name_len(call), call, status_name(rc));
  return STEP_SKIPPED;
}

/* Run `expr`; on failure record the outcome and jump to the step's clean-up. */
#define CALL(expr)                                                                 \
  do {                                                                             \
    rc = (expr);                                                                   \
    if (rc != MMAPIO_OK) {                                                         \
      res = failed_call(#expr, rc);                                                \
      goto out;                                                                    \
    }                                                                              \
  } while (0)

/* As CALL, but MMAPIO_ENOTSUP means "skip this step". */
#define CALL_OPTIONAL(expr)                                                        \
  do {                                                                             \
    rc = (expr);                                                                   \
    if (rc == MMAPIO_ENOTSUP) {                                                    \
      res = skipped(#expr, rc);                                                    \
      goto out;                                                                    \
    }                                                                              \
    if (rc != MMAPIO_OK) {                                                         \
      res = failed_call(#expr, rc);                                                \
      goto out;                                                                    \
    }                                                                              \
  } while (0)

/* Run `expr`, which must fail with status `want`. */
#define CALL_EXPECT(expr, want)                                                    \
  do {                                                                             \
    rc = (expr);                                                                   \
    if (rc != (want)) {                                                            \
      res = wrong_status(#expr, rc, (want));                                       \
      goto out;                                                                    \
    }                                                                              \
  } while (0)

/* An observation that must hold. */
#define EXPECT(cond, ...)                                                          \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      say("FAILED: expected %s", #cond);                                           \
      say(__VA_ARGS__);                                                            \
      res = STEP_FAILED;                                                           \
      goto out;                                                                    \
    }                                                                              \
  } while (0)

static int all_equal(const uint8_t *p, size_t n, uint8_t v)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i] != v)
      return 0;
  return 1;
}

/* Closes a map the step opened, counting a failing close as a failure of
 * the step (close reports outstanding views and final-flush errors). */
static void close_map(mmapio_map **m, int *res)
{
  int rc;
  if (*m == NULL)
    return;
  rc = mmapio_close(*m);
  *m = NULL;
  if (rc != MMAPIO_OK && *res != STEP_FAILED)
    *res = failed_call("mmapio_close(m)", rc);
}

/* ---- the steps ----------------------------------------------------------- */

static int step_create(demo *d)
{
  mmapio_map *m = NULL;
  uint8_t buf[64];
  int rc, res = STEP_OK;
  title(d, "Create a 64 KiB file and map it read-write (mmapio_create_rw)");
  CALL(mmapio_create_rw(&m, d->path, DEMO_SIZE));
  say("created %s", mmapio_path(m));
  say("length %llu bytes, mode %s, base address %p", (unsigned long long)mmapio_len(m),
      mmapio_mode_of(m) == MMAPIO_MODE_READ_WRITE ? "read-write" : "?", mmapio_unsafe_ptr(m));
  EXPECT(mmapio_len(m) == DEMO_SIZE, "the length is %llu", (unsigned long long)mmapio_len(m));
  EXPECT(mmapio_mode_of(m) == MMAPIO_MODE_READ_WRITE, "the mode is %d", (int)mmapio_mode_of(m));
  CALL(mmapio_read(m, DEMO_SIZE - sizeof buf, buf, sizeof buf));
  EXPECT(all_equal(buf, sizeof buf, 0), "a new file must read as zeros");
  say("a new file reads as zeros");
out:
  close_map(&m, &res);
  return res;
}

static int step_write_read(demo *d)
{
  mmapio_map *m = NULL;
  char buf[sizeof greeting];
  int rc, res = STEP_OK;
  title(d, "Write bytes with mmapio_write, copy them back with mmapio_read");
  CALL(mmapio_open_rw(&m, d->path));
  CALL(mmapio_write(m, 0, greeting, sizeof greeting - 1));
  say("wrote %u bytes at offset 0: \"%s\"", (unsigned)(sizeof greeting - 1), greeting);
  memset(buf, 0, sizeof buf);
  CALL(mmapio_read(m, 0, buf, sizeof greeting - 1));
  say("read them back: \"%s\"", buf);
  EXPECT(memcmp(buf, greeting, sizeof greeting - 1) == 0, "read back \"%s\"", buf);
out:
  close_map(&m, &res);
  return res;
}

static int step_view(demo *d)
{
  mmapio_map *m = NULL;
  mmapio_view v;
  int rc, res = STEP_OK, held = 0;
  title(d, "Zero-copy read view (mmapio_view_get)");
  CALL(mmapio_open_rw(&m, d->path));
  CALL(mmapio_view_get(&v, m, 6, 4));
  held = 1;
  say("view of 4 bytes at offset 6: \"%.*s\" at address %p", (int)v.len, (const char *)v.data,
      (const void *)v.data);
  say("mapping base %p + 6 = %p: the view points into the mapping, nothing was copied",
      mmapio_unsafe_ptr(m), (void *)((uint8_t *)mmapio_unsafe_ptr(m) + 6));
  EXPECT(v.len == 4 && memcmp(v.data, "from", 4) == 0, "the view shows \"%.*s\"", (int)v.len,
         (const char *)v.data);
  EXPECT(v.data == (const uint8_t *)mmapio_unsafe_ptr(m) + 6, "the view is not inside the mapping");
out:
  if (held)
    mmapio_view_release(&v);
  close_map(&m, &res);
  return res;
}

static int step_segment(demo *d)
{
  mmapio_map *m = NULL;
  mmapio_segment s;
  mmapio_view v;
  int rc, res = STEP_OK, have_seg = 0, held = 0;
  title(d, "A segment: a bounds-checked window [4096, 4160) of the map");
  CALL(mmapio_open_rw(&m, d->path));
  CALL(mmapio_segment_init(&s, m, DEMO_SEG_OFF, DEMO_SEG_LEN));
  have_seg = 1;
  CALL(mmapio_segment_write(&s, 0, seg_text, sizeof seg_text - 1));
  CALL(mmapio_segment_view(&v, &s));
  held = 1;
  say("wrote \"%s\" at segment offset 0; the segment's view starts at file offset %llu",
      seg_text, (unsigned long long)s.offset);
  EXPECT(v.len == DEMO_SEG_LEN && memcmp(v.data, seg_text, sizeof seg_text - 1) == 0,
         "the segment view shows other bytes");
  EXPECT(v.data == (const uint8_t *)mmapio_unsafe_ptr(m) + DEMO_SEG_OFF,
         "the segment view is not at base + 4096");
  mmapio_view_release(&v);
  held = 0;
  /* 8 bytes at relative offset 60 would cross the segment's end: refused,
   * even though the map itself has room there. */
  CALL_EXPECT(mmapio_segment_write(&s, 60, "overflow", 8), MMAPIO_EBOUNDS);
  say("writing 8 bytes at offset 60 of the 64-byte segment is refused: %s",
      status_name(rc));
  say("  \"%s\"", mmapio_last_error());
out:
  if (held)
    mmapio_view_release(&v);
  if (have_seg)
    mmapio_segment_release(&s);
  close_map(&m, &res);
  return res;
}

static int step_flush(demo *d)
{
  mmapio_map *m = NULL;
  mmapio_options o;
  int rc, res = STEP_OK;
  title(d, "Flush with durability (mmapio_flush, then mmapio_close)");
  /* Open with an explicit durability level to show where it is chosen;
   * DATA is also the default. */
  mmapio_options_init(&o);
  o.durability = MMAPIO_DURABLE_DATA;
  CALL(mmapio_open(&m, d->path, &o));
  CALL(mmapio_write(m, 32, "flushed", 7));
  CALL(mmapio_flush(m));
  say("mmapio_flush returned OK: with MMAPIO_DURABLE_DATA the written pages have");
  say("reached the storage device (msync(MS_SYNC) / FlushViewOfFile+FlushFileBuffers),");
  say("not just the page cache; MMAPIO_DURABLE_FULL would also flush the device cache");
  CALL(mmapio_flush_range(m, 0, 64));
  say("mmapio_flush_range(0, 64) flushes just the page that holds those bytes");
out:
  close_map(&m, &res);
  if (res == STEP_OK)
    say("closed the map");
  return res;
}

static int step_reopen_ro(demo *d)
{
  mmapio_map *m = NULL;
  char a[sizeof greeting], b[sizeof seg_text], c[8];
  int rc, res = STEP_OK;
  title(d, "Reopen read-only (mmapio_open_ro) and verify what was written");
  CALL(mmapio_open_ro(&m, d->path));
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  memset(c, 0, sizeof c);
  CALL(mmapio_read(m, 0, a, sizeof a - 1));
  CALL(mmapio_read(m, DEMO_SEG_OFF, b, sizeof b - 1));
  CALL(mmapio_read(m, 32, c, 7));
  say("offset 0: \"%s\", offset 32: \"%s\", offset 4096: \"%s\"", a, c, b);
  EXPECT(strcmp(a, greeting) == 0, "offset 0 holds \"%s\"", a);
  EXPECT(strcmp(b, seg_text) == 0, "offset 4096 holds \"%s\"", b);
  EXPECT(strcmp(c, "flushed") == 0, "offset 32 holds \"%s\"", c);
  EXPECT(mmapio_mode_of(m) == MMAPIO_MODE_READ_ONLY, "the mode is %d", (int)mmapio_mode_of(m));
out:
  close_map(&m, &res);
  return res;
}

static int step_cow(demo *d)
{
  mmapio_map *cow = NULL, *ro = NULL;
  char buf[16];
  int rc, res = STEP_OK;
  title(d, "Copy-on-write (mmapio_open_cow): changes stay private to this map");
  CALL_OPTIONAL(mmapio_open_cow(&cow, d->path));
  CALL(mmapio_write(cow, 0, "PRIVATE!", 8));
  memset(buf, 0, sizeof buf);
  CALL(mmapio_read(cow, 0, buf, 8));
  say("wrote \"PRIVATE!\" through the copy-on-write map, which now reads \"%s\"", buf);
  EXPECT(memcmp(buf, "PRIVATE!", 8) == 0, "the COW map reads \"%s\"", buf);
  CALL(mmapio_flush(cow));
  say("mmapio_flush on it is an OK no-op: nothing is ever written back");
  CALL(mmapio_open_ro(&ro, d->path));
  memset(buf, 0, sizeof buf);
  CALL(mmapio_read(ro, 0, buf, 8));
  say("a separate read-only map of the file still reads \"%s\"", buf);
  EXPECT(memcmp(buf, greeting, 8) == 0, "the file was changed to \"%s\"", buf);
  CALL_EXPECT(mmapio_resize(cow, DEMO_SIZE * 2), MMAPIO_EMODE);
  say("resizing a copy-on-write map is refused: %s", status_name(rc));
out:
  close_map(&cow, &res);
  close_map(&ro, &res);
  return res;
}

static int step_atomic(demo *d)
{
  mmapio_map *m1 = NULL, *m2 = NULL;
  mmapio_atomic a1, a2, bad;
  uint64_t *c1 = NULL, *c2 = NULL, v;
  int rc, res = STEP_OK, have1 = 0, have2 = 0, i;
  title(d, "An atomic counter in the file (mmapio_atomic_u64 + mmapio_fetch_add_u64)");
  /* Two independent maps of one file behave like two processes: both see
   * the same physical page, so their atomic adds never lose an update. */
  CALL(mmapio_open_rw(&m1, d->path));
  CALL(mmapio_open_rw(&m2, d->path));
  CALL_OPTIONAL(mmapio_atomic_u64(&a1, m1, DEMO_COUNTER_OFF));
  have1 = 1;
  CALL(mmapio_atomic_u64(&a2, m2, DEMO_COUNTER_OFF));
  have2 = 1;
  c1 = (uint64_t *)a1.ptr;
  c2 = (uint64_t *)a2.ptr;
  mmapio_store_u64(c1, 0, MMAPIO_ORDER_SEQ_CST);
  for (i = 0; i < 1000; i++) {
    mmapio_fetch_add_u64(c1, 1, MMAPIO_ORDER_RELAXED);
    mmapio_fetch_add_u64(c2, 2, MMAPIO_ORDER_RELAXED);
  }
  v = mmapio_load_u64(c1, MMAPIO_ORDER_SEQ_CST);
  say("1000 x (+1 through map A, +2 through map B) at offset %llu: the counter reads %llu",
      (unsigned long long)DEMO_COUNTER_OFF, (unsigned long long)v);
  EXPECT(v == 3000, "the counter is %llu, not 3000", (unsigned long long)v);
  EXPECT(mmapio_load_u64(c2, MMAPIO_ORDER_SEQ_CST) == 3000, "map B sees another value");
  /* A u64 cell must be 8-byte aligned: the library refuses before any
   * misaligned access could happen. */
  CALL_EXPECT(mmapio_atomic_u64(&bad, m1, DEMO_COUNTER_OFF + 1), MMAPIO_EALIGN);
  say("an atomic view at offset %llu is refused: %s", (unsigned long long)(DEMO_COUNTER_OFF + 1),
      status_name(rc));
  say("  \"%s\"", mmapio_last_error());
out:
  if (have1)
    mmapio_atomic_release(&a1);
  if (have2)
    mmapio_atomic_release(&a2);
  close_map(&m1, &res);
  close_map(&m2, &res);
  return res;
}

static int step_chunks(demo *d)
{
  mmapio_map *m = NULL;
  mmapio_iter it;
  mmapio_chunk c;
  int rc, res = STEP_OK, started = 0, r;
  size_t chunks = 0, remaining;
  uint64_t bytes = 0, nonzero = 0;
  const size_t chunk = 16u << 10;
  title(d, "Chunk iteration (mmapio_chunks): walk the file in 16 KiB pieces");
  CALL(mmapio_open_ro(&m, d->path));
  CALL_OPTIONAL(mmapio_chunks(&it, m, chunk));
  started = 1;
  remaining = mmapio_iter_remaining(&it);
  say("the iterator announces %llu chunks", (unsigned long long)remaining);
  while ((r = mmapio_iter_next(&c, &it)) == 1) {
    size_t i;
    EXPECT(c.offset == bytes, "chunk %llu starts at %llu", (unsigned long long)chunks,
           (unsigned long long)c.offset);
    for (i = 0; i < c.len; i++)
      nonzero += c.data[i] != 0;
    bytes += c.len;
    chunks++;
  }
  if (r < 0) {
    res = failed_call("mmapio_iter_next(&c, &it)", r);
    goto out;
  }
  say("visited %llu chunks, %llu bytes, %llu of them non-zero (the text written so far)",
      (unsigned long long)chunks, (unsigned long long)bytes, (unsigned long long)nonzero);
  EXPECT(remaining == 4 && chunks == 4 && bytes == DEMO_SIZE,
         "%llu announced, %llu chunks, %llu bytes", (unsigned long long)remaining,
         (unsigned long long)chunks, (unsigned long long)bytes);
  EXPECT(nonzero > 0, "no written byte was seen");
out:
  if (started)
    mmapio_iter_end(&it);
  close_map(&m, &res);
  return res;
}

static int step_growth(demo *d)
{
  mmapio_map *m = NULL;
  mmapio_options o;
  mmapio_view v;
  void *base;
  uint8_t tail[16];
  int rc, res = STEP_OK, held = 0;
  title(d, "In-place growth: reserve max_size at open, grow without moving");
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  o.size = DEMO_LOG_START;
  o.max_size = DEMO_LOG_MAX;
  CALL(mmapio_open(&m, d->log_path, &o));
  base = mmapio_unsafe_ptr(m);
  say("opened %s with size %llu and max_size %llu; base %p", d->log_path,
      (unsigned long long)mmapio_len(m), (unsigned long long)DEMO_LOG_MAX, base);
  CALL(mmapio_write(m, 0, "log header", 10));
  /* A view stays valid across in-place growth: the mapping does not move,
   * so growing neither waits for views nor invalidates them. */
  CALL(mmapio_view_get(&v, m, 0, 10));
  held = 1;
  rc = mmapio_resize(m, 256u << 10);
#ifdef _WIN32
  /* Windows reserves address space for growth with placeholder mappings
   * (Windows 10 1803 and later). Where they are missing (older Windows,
   * Wine) the library grows by moving the mapping, which must wait for
   * views and so refuses ours. That is a platform limit, not a bug. */
  if (rc == MMAPIO_EDEADLK) {
    mmapio_view_release(&v);
    held = 0;
    say("skipped: this system has no placeholder mappings (Windows 10 1803+), so growth");
    say("within max_size moves the mapping here instead of growing in place");
    res = STEP_SKIPPED;
    goto out;
  }
#endif
  if (rc != MMAPIO_OK) {
    res = failed_call("mmapio_resize(m, 256u << 10)", rc);
    goto out;
  }
  say("grew to %llu bytes while holding a view: base %p", (unsigned long long)mmapio_len(m),
      mmapio_unsafe_ptr(m));
  EXPECT(mmapio_len(m) == (256u << 10), "the length is %llu", (unsigned long long)mmapio_len(m));
  EXPECT(mmapio_unsafe_ptr(m) == base, "the base moved from %p to %p", base, mmapio_unsafe_ptr(m));
  EXPECT(memcmp(v.data, "log header", 10) == 0, "the held view changed");
  mmapio_view_release(&v);
  held = 0;
  CALL(mmapio_resize(m, DEMO_LOG_MAX));
  EXPECT(mmapio_unsafe_ptr(m) == base, "the base moved from %p to %p", base, mmapio_unsafe_ptr(m));
  CALL(mmapio_read(m, DEMO_LOG_MAX - sizeof tail, tail, sizeof tail));
  EXPECT(all_equal(tail, sizeof tail, 0), "the grown bytes are not zero");
  say("grew to max_size (%llu bytes): base still %p, the new bytes read as zeros",
      (unsigned long long)mmapio_len(m), mmapio_unsafe_ptr(m));
out:
  if (held)
    mmapio_view_release(&v);
  close_map(&m, &res);
  return res;
}

static int step_shrink_grow(demo *d)
{
  mmapio_map *m = NULL;
  uint8_t *pattern = NULL, *back = NULL;
  const size_t half = (size_t)(DEMO_SIZE / 2);
  char head[sizeof greeting];
  int rc, res = STEP_OK;
  title(d, "Shrink, then grow again: the regrown tail reads as zeros");
  pattern = (uint8_t *)malloc(half);
  back = (uint8_t *)malloc(half);
  if (pattern == NULL || back == NULL) {
    say("FAILED: out of memory");
    res = STEP_FAILED;
    goto out;
  }
  memset(pattern, 0xAB, half);
  CALL(mmapio_open_rw(&m, d->path));
  CALL(mmapio_write(m, half, pattern, half));
  say("filled [32 KiB, 64 KiB) with 0xAB");
  CALL(mmapio_resize(m, half));
  say("shrank to %llu bytes", (unsigned long long)mmapio_len(m));
  CALL_EXPECT(mmapio_read(m, half, back, 1), MMAPIO_EBOUNDS);
  say("reading at 32 KiB is now out of bounds: \"%s\"", mmapio_last_error());
  CALL(mmapio_resize(m, DEMO_SIZE));
  CALL(mmapio_read(m, half, back, half));
  say("grew back to %llu bytes: [32 KiB, 64 KiB) reads %s", (unsigned long long)mmapio_len(m),
      all_equal(back, half, 0) ? "all zeros" : "OLD DATA");
  EXPECT(all_equal(back, half, 0), "the old bytes came back after shrink + grow");
  memset(head, 0, sizeof head);
  CALL(mmapio_read(m, 0, head, sizeof head - 1));
  EXPECT(strcmp(head, greeting) == 0, "the kept part changed: \"%s\"", head);
  say("the bytes below the smaller size were kept: \"%s\"", head);
out:
  free(pattern);
  free(back);
  close_map(&m, &res);
  return res;
}

static int step_residency(demo *d)
{
  mmapio_map *m = NULL;
  uint64_t res_pages = 0, total = 0;
  int rc, res = STEP_OK;
  title(d, "Page residency, touch and evict (mmapio_residency/touch/evict)");
  CALL(mmapio_open_ro(&m, d->path));
  CALL(mmapio_residency(&res_pages, &total, m, 0, mmapio_len(m)));
  say("before touch: %llu of %llu pages resident", (unsigned long long)res_pages,
      (unsigned long long)total);
  EXPECT(total == (DEMO_SIZE + mmapio_page_size() - 1) / mmapio_page_size(),
         "%llu pages counted", (unsigned long long)total);
  CALL(mmapio_touch(m));
  CALL(mmapio_residency(&res_pages, &total, m, 0, mmapio_len(m)));
  say("after touch:  %llu of %llu pages resident", (unsigned long long)res_pages,
      (unsigned long long)total);
  EXPECT(res_pages == total, "touch left %llu pages out", (unsigned long long)(total - res_pages));
  CALL(mmapio_evict(m, 0, mmapio_len(m)));
  CALL(mmapio_residency(&res_pages, &total, m, 0, mmapio_len(m)));
  say("after evict:  %llu of %llu pages resident%s", (unsigned long long)res_pages,
      (unsigned long long)total,
      res_pages == total ? " (the OS kept them: on tmpfs the page cache is the file)" : "");
out:
  close_map(&m, &res);
  return res;
}

static int step_errors(demo *d)
{
  mmapio_map *m = NULL;
  char buf[16], want[128];
  int rc, res = STEP_OK;
  title(d, "Errors come with detail messages: a bounds error and a mode error");
  CALL(mmapio_open_ro(&m, d->path));
  CALL_EXPECT(mmapio_read(m, DEMO_SIZE - 4, buf, sizeof buf), MMAPIO_EBOUNDS);
  say("read of 16 bytes at offset %llu: %s", (unsigned long long)(DEMO_SIZE - 4), status_name(rc));
  say("  \"%s\"", mmapio_last_error());
  snprintf(want, sizeof want, "range out of bounds: offset=%llu, len=16, total=%llu",
           (unsigned long long)(DEMO_SIZE - 4), (unsigned long long)DEMO_SIZE);
  EXPECT(strcmp(mmapio_last_error(), want) == 0, "the documented message is \"%s\"", want);
  CALL_EXPECT(mmapio_write(m, 0, "x", 1), MMAPIO_EMODE);
  say("write to a read-only map: %s", status_name(rc));
  say("  \"%s\"", mmapio_last_error());
  EXPECT(mmapio_last_error()[0] != '\0', "the mode error has no detail message");
out:
  close_map(&m, &res);
  return res;
}

static int step_deadlock(demo *d)
{
  mmapio_map *m = NULL;
  mmapio_view v;
  int rc, res = STEP_OK, held = 0;
  title(d, "EDEADLK instead of a self-deadlock");
  CALL(mmapio_open_rw(&m, d->path));
  CALL(mmapio_view_get(&v, m, 0, 16));
  held = 1;
  /* A write must wait until no view is held. Waiting for a view held by
   * this very thread would hang forever, so the library refuses instead. */
  CALL_EXPECT(mmapio_write(m, 0, "H", 1), MMAPIO_EDEADLK);
  say("mmapio_write while this thread holds a read view: %s", status_name(rc));
  say("  \"%s\"", mmapio_last_error());
  mmapio_view_release(&v);
  held = 0;
  CALL(mmapio_write(m, 0, "H", 1));
  say("after releasing the view the same write succeeds");
out:
  if (held)
    mmapio_view_release(&v);
  close_map(&m, &res);
  return res;
}

/* Per-map statistics: counted by the map object of this process only. */
static int step_stats(demo *d)
{
  mmapio_map *m = NULL;
  mmapio_view v;
  mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
  int rc, res = STEP_OK;
  title(d, "Statistics of this process's map (mmapio_stats)");
  CALL(mmapio_open_rw(&m, d->path));
  CALL(mmapio_write(m, 0, "stats", 5));
  CALL(mmapio_write(m, 100, greeting, sizeof greeting - 1));
  CALL(mmapio_view_get(&v, m, 0, 16));
  mmapio_view_release(&v);
  CALL(mmapio_flush(m));
  CALL(mmapio_stats(&st, m));
  say("writes %llu (%llu bytes), flushes %llu (%llu failed), last flush %llu us, longest %llu us",
      (unsigned long long)st.write_calls, (unsigned long long)st.write_bytes,
      (unsigned long long)st.flush_calls, (unsigned long long)st.flush_failures,
      (unsigned long long)(st.flush_last_ns / 1000u), (unsigned long long)(st.flush_max_ns / 1000u));
  say("views outstanding %llu (peak %llu), pins %llu, thread slots %llu, resizes %llu in place + %llu moving",
      (unsigned long long)st.views_outstanding, (unsigned long long)st.views_peak,
      (unsigned long long)st.pins_outstanding, (unsigned long long)st.slots_in_use,
      (unsigned long long)st.resizes_in_place, (unsigned long long)st.resizes_moving);
  EXPECT(st.write_calls == 2 && st.write_bytes == 5 + sizeof greeting - 1,
         "2 writes of %u bytes were made", (unsigned)(5 + sizeof greeting - 1));
  EXPECT(st.flush_calls == 1 && st.views_outstanding == 0 && st.views_peak == 1,
         "one flush and one view were made");
  say("the counters belong to this map object: other processes' maps are not counted");
out:
  close_map(&m, &res);
  return res;
}

static int step_cleanup(demo *d)
{
  mmapio_map *m = NULL;
  int rc, res = STEP_OK;
  title(d, "Clean up");
  if (d->keep) {
    say("--keep: leaving %s and %s in place", d->path, d->log_path);
    return STEP_OK;
  }
  rc = mmapio_remove_file(d->log_path);
  if (rc != MMAPIO_OK && rc != MMAPIO_ENOENT) {
    res = failed_call("mmapio_remove_file(log_path)", rc);
    goto out;
  }
  rc = mmapio_remove_file(d->path);
  if (rc != MMAPIO_OK && rc != MMAPIO_ENOENT) {
    res = failed_call("mmapio_remove_file(path)", rc);
    goto out;
  }
  say("removed %s and %s", d->path, d->log_path);
  CALL_EXPECT(mmapio_open_ro(&m, d->path), MMAPIO_ENOENT);
  say("opening it again: %s", status_name(rc));
  say("  \"%s\"", mmapio_last_error());
out:
  close_map(&m, &res);
  return res;
}

/* ---- driver -------------------------------------------------------------- */

void help_demo(void)
{
  printf("usage: mmapio demo [--dir DIR] [--keep]\n"
         "\n"
         "A guided tour of mmapio on a temporary file: create, write, zero-copy\n"
         "views, segments, durable flush, read-only reopen, copy-on-write, an\n"
         "atomic counter, chunk iteration, in-place growth, shrink and grow,\n"
         "page residency, error messages, deadlock detection and clean-up.\n"
         "Each step prints what it did and what it observed. Steps whose\n"
         "feature is not in this build are shown as skipped.\n"
         "\n"
         "  --dir DIR   create the temporary files in DIR (default: the system's\n"
         "              temporary directory)\n"
         "  --keep      do not delete the files at the end\n"
         "\n"
         "Exit status 0 means every step that ran behaved as documented.\n");
}

int cmd_demo(int argc, char **argv)
{
  typedef int (*step_fn)(demo *d);
  static const step_fn steps[] = {
    step_create,   step_write_read, step_view,        step_segment,   step_flush,
    step_reopen_ro, step_cow,       step_atomic,      step_chunks,    step_growth,
    step_shrink_grow, step_residency, step_errors,    step_deadlock,  step_stats,     step_cleanup,
  };
  demo d;
  const char *dir = NULL, *v;
  size_t i;
  int r;
  memset(&d, 0, sizeof d);
  for (r = 1; r < argc; r++) {
    int o = cli_opt_value(argc, argv, &r, "--dir", &v);
    if (o < 0)
      return cli_usage("demo", "--dir needs a directory");
    if (o > 0)
      dir = v;
    else if (strcmp(argv[r], "--keep") == 0)
      d.keep = 1;
    else if (argv[r][0] == '-')
      return cli_usage("demo", "unknown option '%s'", argv[r]);
    else
      return cli_usage("demo", "unexpected argument '%s'", argv[r]);
  }
  if (dir != NULL) {
    cli_stat st;
    errno = 0;
    if (cli_stat_path(dir, 1, &st) != 0 || st.kind != CLI_KIND_DIR) {
      fprintf(stderr, "mmapio demo: --dir %s: %s\n", dir,
              errno == ENOENT ? "no such directory" : "not a usable directory");
      return CLI_FAILED;
    }
  }
  if (cli_temp_path(d.path, sizeof d.path, dir, "mmapio-demo", "data.bin") != 0 ||
      cli_temp_path(d.log_path, sizeof d.log_path, dir, "mmapio-demo", "log.bin") != 0)
    return cli_usage("demo", "--dir is too long");

  printf("mmapio %s demo: a tour of memory-mapped file I/O\n", mmapio_version_string());
  printf("working file %s\n", d.path);
  printf("page size %llu bytes, allocation granularity %llu bytes\n",
         (unsigned long long)mmapio_page_size(), (unsigned long long)mmapio_allocation_granularity());

  for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    r = steps[i](&d);
    if (r == STEP_OK) {
      say("ok");
      d.passed++;
    } else if (r == STEP_SKIPPED) {
      d.skipped++;
    } else {
      d.failed++;
      /* Without the working file nothing else can run (and a failed create
       * leaves no file behind to clean up). */
      if (i == 0) {
        say("cannot continue without the working file");
        break;
      }
    }
    fflush(stdout);
  }
  printf("\ndemo %s: %d passed, %d skipped, %d failed\n", d.failed ? "FAILED" : "finished",
         d.passed, d.skipped, d.failed);
  return d.failed ? CLI_FAILED : CLI_OK;
}
