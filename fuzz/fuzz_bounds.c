/*
 * fuzz_bounds.c -- libFuzzer target for the bounds rule (the conventions at
 * the top of include/mmapio.h).
 *
 * The input drives a sequence of calls on an anonymous map whose size also
 * comes from the input. Offsets and lengths are drawn so that the edges are
 * hit often: 0, the total, total +- small deltas, values near UINT64_MAX
 * (where a naive `off + len > total` overflows) and random 64-bit values.
 * Every call's status is compared with the rule
 *     (off, len) inside total  <=>  off <= total && len <= total - off
 * with the zero-length rule and the check order (zero-length action ->
 * alignment -> bounds), and every byte that goes in or out is compared with
 * a plain in-memory copy of the map.
 */
#include "mmapio.h"
#include "fuzz_input.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXLEN (64u * 1024u)


/* An offset or length near an interesting value. */
static uint64_t pick(input *in, uint64_t total)
{
  unsigned kind = (unsigned)take(in, 1) % 8u;
  uint64_t d = take(in, 1) % 9u;
  switch (kind) {
  case 0: return d;
  case 1: return total + d - 4u; /* wraps below 0 on purpose for small totals */
  case 2: return UINT64_MAX - d;
  case 3: return take(in, 8);
  case 4: return take(in, 2) % (total + 1u);
  case 5: return (uint64_t)1 << (take(in, 1) % 64u);
  case 6: return total / 2u + d;
  default: return take(in, 3);
  }
}

static int in_bounds(uint64_t off, uint64_t len, uint64_t total)
{
  return off <= total && len <= total - off;
}

static void fail(const char *what, uint64_t off, uint64_t len, uint64_t total, int rc)
{
  fprintf(stderr, "fuzz_bounds: %s off=%llu len=%llu total=%llu rc=%d (%s) last_error=\"%s\"\n", what,
          (unsigned long long)off, (unsigned long long)len, (unsigned long long)total, rc,
          mmapio_strerror(rc), mmapio_last_error());
  abort();
}

/* EBOUNDS must carry the exact message of include/mmapio.h section 2. */
static void check_bounds_msg(uint64_t off, uint64_t len, uint64_t total)
{
  char want[160];
  snprintf(want, sizeof want, "range out of bounds: offset=%llu, len=%llu, total=%llu",
           (unsigned long long)off, (unsigned long long)len, (unsigned long long)total);
  if (strcmp(mmapio_last_error(), want) != 0) fail("bounds message", off, len, total, MMAPIO_EBOUNDS);
}

static void expect(int rc, int want, const char *what, uint64_t off, uint64_t len, uint64_t total)
{
  if (rc != want) fail(what, off, len, total, rc);
  if (want == MMAPIO_EBOUNDS) check_bounds_msg(off, len, total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  input in = {data, size};
  uint64_t total = 1u + take(&in, 2) % MAXLEN;
  mmapio_map *m = NULL;
  if (mmapio_anon(&m, total, 0) != MMAPIO_OK) abort();
  uint8_t *model = (uint8_t *)calloc(1, MAXLEN);
  uint8_t *buf = (uint8_t *)malloc(MAXLEN);
  if (model == NULL || buf == NULL) abort();

  for (unsigned step = 0; step < 64 && in.n > 0; step++) {
    unsigned op = (unsigned)take(&in, 1) % 9u;
    uint64_t off = pick(&in, total), len = pick(&in, total);
    uint8_t fillv = (uint8_t)(step * 37u + 1u);
    int ok = in_bounds(off, len, total);
    int rc;
    switch (op) {
    case 0: { /* read view */
      mmapio_view v;
      rc = mmapio_view_get(&v, m, off, len);
      expect(rc, ok ? MMAPIO_OK : MMAPIO_EBOUNDS, "view_get", off, len, total);
      if (rc == MMAPIO_OK) {
        if (v.len != len || (len > 0 && memcmp(v.data, model + off, (size_t)len) != 0))
          fail("view content", off, len, total, rc);
        mmapio_view_release(&v);
      }
      break;
    }
    case 1: { /* write view */
      mmapio_view_mut v;
      rc = mmapio_view_get_mut(&v, m, off, len);
      expect(rc, ok ? MMAPIO_OK : MMAPIO_EBOUNDS, "view_get_mut", off, len, total);
      if (rc == MMAPIO_OK) {
        if (len > 0) {
          memset(v.data, fillv, (size_t)len);
          memset(model + off, fillv, (size_t)len);
        }
        if (mmapio_view_mut_release(&v) != MMAPIO_OK) fail("view_mut_release", off, len, total, -1);
      }
      break;
    }
    case 2: { /* read: the length is a size_t; lengths above the buffer are
                 only passed when they must fail before touching it */
      size_t l = (size_t)len;
      if ((uint64_t)l != len) break;
      if (ok && l > MAXLEN) break;
      rc = mmapio_read(m, off, buf, l);
      expect(rc, ok ? MMAPIO_OK : MMAPIO_EBOUNDS, "read", off, len, total);
      if (rc == MMAPIO_OK && l > 0 && memcmp(buf, model + off, l) != 0) fail("read content", off, len, total, rc);
      break;
    }
    case 3: { /* write: zero bytes succeed before any check */
      size_t l = (size_t)len;
      if ((uint64_t)l != len) break;
      if (ok && l > MAXLEN) break;
      memset(buf, fillv, l < MAXLEN ? l : MAXLEN);
      rc = mmapio_write(m, off, buf, l);
      expect(rc, (ok || l == 0) ? MMAPIO_OK : MMAPIO_EBOUNDS, "write", off, len, total);
      if (rc == MMAPIO_OK && l > 0) memset(model + off, fillv, l);
      break;
    }
    case 4: /* zero-length actions are OK before the bounds check */
      rc = mmapio_flush_range(m, off, len);
      expect(rc, (ok || len == 0) ? MMAPIO_OK : MMAPIO_EBOUNDS, "flush_range", off, len, total);
      rc = mmapio_probe(m, off, len);
      expect(rc, (ok || len == 0) ? MMAPIO_OK : MMAPIO_EBOUNDS, "probe", off, len, total);
      break;
    case 5: { /* segments: bounds at init; writes never leave the segment */
      mmapio_segment s;
      rc = mmapio_segment_init(&s, m, off, len);
      expect(rc, ok ? MMAPIO_OK : MMAPIO_EBOUNDS, "segment_init", off, len, total);
      if (rc != MMAPIO_OK) break;
      uint64_t ro = pick(&in, len), rl = pick(&in, len);
      size_t l = (size_t)rl;
      if ((uint64_t)l == rl && (l <= MAXLEN || !in_bounds(ro, rl, len))) {
        memset(buf, fillv, l < MAXLEN ? l : MAXLEN);
        rc = mmapio_segment_write(&s, ro, buf, l);
        int sok = in_bounds(ro, rl, len);
        if (l > 0 && rc != (sok ? MMAPIO_OK : MMAPIO_EBOUNDS)) fail("segment_write", ro, rl, len, rc);
        if (rc == MMAPIO_OK && l > 0) memset(model + off + ro, fillv, l);
      }
      mmapio_segment_release(&s);
      break;
    }
    case 6: { /* atomics: alignment before bounds */
      if (!mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) break;
      mmapio_atomic a;
      rc = mmapio_atomic_u64(&a, m, off);
      int want = off % 8u != 0 ? MMAPIO_EALIGN : in_bounds(off, 8, total) ? MMAPIO_OK : MMAPIO_EBOUNDS;
      expect(rc, want, "atomic_u64", off, 8, total);
      if (rc == MMAPIO_OK) {
        uint64_t v;
        memcpy(&v, model + off, 8);
        if (mmapio_load_u64((const uint64_t *)a.ptr, MMAPIO_ORDER_ACQUIRE) != v) fail("atomic load", off, 8, total, rc);
        mmapio_atomic_release(&a);
      }
      size_t cnt = (size_t)(len % 64u);
      rc = mmapio_atomic_u32_array(&a, m, off, cnt);
      want = off % 4u != 0 ? MMAPIO_EALIGN : in_bounds(off, 4u * (uint64_t)cnt, total) ? MMAPIO_OK : MMAPIO_EBOUNDS;
      expect(rc, want, "atomic_u32_array", off, 4u * (uint64_t)cnt, total);
      if (rc == MMAPIO_OK) mmapio_atomic_release(&a);
      break;
    }
    case 7: { /* resize the anonymous map: content below min(old, new) kept */
      uint64_t nt = 1u + len % MAXLEN;
      rc = mmapio_resize(m, nt);
      if (rc != MMAPIO_OK) fail("resize", 0, nt, total, rc);
      if (nt > total) memset(model + total, 0, (size_t)(nt - total));
      total = nt;
      if (mmapio_len(m) != total) fail("len after resize", 0, nt, total, rc);
      break;
    }
    default: { /* the reader: seek/read never leave the map */
      mmapio_reader r;
      mmapio_reader_init(&r, m);
      int64_t pos = mmapio_reader_seek(&r, (int64_t)(off & INT64_MAX), SEEK_SET);
      if (pos < 0) break;
      int64_t got = mmapio_reader_read(&r, buf, (size_t)(len % MAXLEN));
      uint64_t p = (uint64_t)pos;
      uint64_t avail = p < total ? total - p : 0;
      uint64_t want = len % MAXLEN < avail ? len % MAXLEN : avail;
      if (got < 0 || (uint64_t)got != want) fail("reader_read", p, len % MAXLEN, total, (int)got);
      if (got > 0 && memcmp(buf, model + p, (size_t)got) != 0) fail("reader content", p, (uint64_t)got, total, 0);
      break;
    }
    }
  }
  /* The whole map equals the model at the end. */
  if (mmapio_read(m, 0, buf, (size_t)total) != MMAPIO_OK || memcmp(buf, model, (size_t)total) != 0)
    fail("final content", 0, total, total, -1);
  if (mmapio_close(m) != MMAPIO_OK) fail("close", 0, 0, total, -1);
  free(model);
  free(buf);
  return 0;
}
