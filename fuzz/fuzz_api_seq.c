/*
 * fuzz_api_seq.c -- libFuzzer target: random sequences of open / write /
 * read / view / resize / flush / probe / close on one file, with random
 * arguments, checked against a simple in-memory model of the file.
 *
 * The model is the file's content and length. At most one READ_WRITE map is
 * open at a time (it defines the file length: it is the only one that
 * resizes), plus a READ_ONLY and a COPY_ON_WRITE map whose lengths are fixed
 * when they are opened. Those two are opened with MMAPIO_OPEN_FAULT_SAFE:
 * once the RW map shrank the file below them, reading their lost pages must
 * return MMAPIO_EFAULT (never crash), and mmapio_probe must say which pages
 * are gone. COW writes must never reach the file; the bytes the COW map
 * wrote must read back from it.
 *
 * At the end every map is closed and the file on disk must equal the model.
 */
#include "mmapio.h"
#include "fuzz_input.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <process.h>
#  define fuzz_getpid _getpid
#else
#  include <unistd.h>
#  define fuzz_getpid getpid
#endif

#define MAXLEN (48u * 1024u)


static char path[512];
static size_t page;

/* The model. */
static uint8_t file[MAXLEN];
static uint64_t flen;
static mmapio_map *rw, *ro, *cow;
static uint64_t ro_len, cow_len;
/* COW pages become private on their first write: the whole page is copied
 * then and no longer follows the file. cow_priv[page] marks them, cow_data
 * holds their content. (Linux also drops private pages that a truncation
 * puts wholly beyond the end of the file; the resize case models that.) */
#define PGMAX (MAXLEN + 65536u)
static uint8_t cow_data[PGMAX];
static uint8_t cow_priv[PGMAX / 512u + 1u]; /* indexed by page number */

static void fail(const char *what, uint64_t a, uint64_t b, int rc)
{
  fprintf(stderr, "fuzz_api_seq: %s (%llu, %llu) rc=%d (%s) flen=%llu last_error=\"%s\"\n", what,
          (unsigned long long)a, (unsigned long long)b, rc, mmapio_strerror(rc),
          (unsigned long long)flen, mmapio_last_error());
  abort();
}

static int in_bounds(uint64_t off, uint64_t len, uint64_t total)
{
  return off <= total && len <= total - off;
}

/* First byte that is not backed by the file any more, for a map of the
 * file: the file's end rounded up to a page (the rest of the last page
 * reads zero). */
static uint64_t backed_end(void) { return (flen + page - 1u) / page * page; }

static uint64_t pick_off(input *in, uint64_t total)
{
  switch (take(in, 1) % 4u) {
  case 0: return 0;
  case 1: return total - take(in, 1) % (total + 1u);
  case 2: return take(in, 8);
  default: return take(in, 2) % (total + 2u);
  }
}

static void close_all(void)
{
  if (rw != NULL && mmapio_close(rw) != MMAPIO_OK) fail("close rw", 0, 0, -1);
  if (ro != NULL && mmapio_close(ro) != MMAPIO_OK) fail("close ro", 0, 0, -1);
  if (cow != NULL && mmapio_close(cow) != MMAPIO_OK) fail("close cow", 0, 0, -1);
  rw = ro = cow = NULL;
}

static mmapio_map *open_mode(mmapio_mode mode, int *rc)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  o.flags = mode == MMAPIO_MODE_READ_WRITE ? 0u : MMAPIO_OPEN_FAULT_SAFE;
  mmapio_map *m = NULL;
  *rc = mmapio_open(&m, path, &o);
  if (*rc != MMAPIO_OK && m != NULL) fail("*out not NULL on failure", 0, 0, *rc);
  return m;
}

/* Expected content of byte i of a map, or -1 when it must fault. */
static int expect_byte(mmapio_map *m, uint64_t i)
{
  if (m == cow && cow_priv[i / page]) return cow_data[i];
  if (m != rw && i >= backed_end()) return -1;
  return i < flen ? file[i] : 0;
}

static void check_read(mmapio_map *m, uint64_t mlen, uint64_t off, uint64_t len, uint8_t *buf, int via_view)
{
  int ok = in_bounds(off, len, mlen);
  int faults = 0;
  if (ok)
    for (uint64_t i = off; i < off + len; i++)
      if (expect_byte(m, i) < 0) { faults = 1; break; }
  int rc;
  const uint8_t *got = buf;
  mmapio_view v;
  if (via_view) {
    if (faults) return; /* views are not guarded: touching them would crash */
    rc = mmapio_view_get(&v, m, off, len);
    if (rc == MMAPIO_OK) got = v.data;
  } else {
    if (len > MAXLEN && ok) return;
    rc = mmapio_read(m, off, buf, (size_t)len);
  }
  int want = !ok ? MMAPIO_EBOUNDS : faults ? MMAPIO_EFAULT : MMAPIO_OK;
  if (rc != want) fail(via_view ? "view status" : "read status", off, len, rc);
  if (rc == MMAPIO_OK) {
    for (uint64_t i = 0; i < len; i++)
      if (got[i] != (uint8_t)expect_byte(m, off + i)) fail("content", off + i, got[i], rc);
    if (via_view) mmapio_view_release(&v);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static uint8_t buf[MAXLEN + 64];
  if (page == 0) {
    page = mmapio_page_size();
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/mmapio-fuzz-api-%d", dir != NULL && *dir ? dir : "/tmp", (int)fuzz_getpid());
  }
  input in = {data, size};
  mmapio_remove_file(path);

  /* Start from a file of 1..MAXLEN bytes. */
  flen = 1u + take(&in, 2) % MAXLEN;
  memset(file, 0, sizeof file);
  int rc = mmapio_create_rw(&rw, path, flen);
  if (rc != MMAPIO_OK) fail("create_rw", flen, 0, rc);
  ro_len = cow_len = 0;

  for (unsigned step = 0; step < 48 && in.n > 0; step++) {
    unsigned op = (unsigned)take(&in, 1) % 12u;
    unsigned which = (unsigned)take(&in, 1) % 3u;
    mmapio_map *m = which == 0 ? rw : which == 1 ? ro : cow;
    uint64_t mlen = which == 0 ? flen : which == 1 ? ro_len : cow_len;
    uint8_t v = (uint8_t)(take(&in, 1) | 1u);
    switch (op) {
    case 0: /* open the map of this kind (closing the old one) */
      if (m != NULL && mmapio_close(m) != MMAPIO_OK) fail("close", which, 0, -1);
      if (which == 0) {
        rw = open_mode(MMAPIO_MODE_READ_WRITE, &rc);
        if (rc != MMAPIO_OK) fail("open rw", flen, 0, rc);
      } else if (which == 1) {
        ro = open_mode(MMAPIO_MODE_READ_ONLY, &rc);
        if (rc != MMAPIO_OK) fail("open ro", flen, 0, rc);
        ro_len = flen;
      } else {
        cow = open_mode(MMAPIO_MODE_COPY_ON_WRITE, &rc);
        if (rc != MMAPIO_OK) fail("open cow", flen, 0, rc);
        cow_len = flen;
        memset(cow_priv, 0, sizeof cow_priv);
      }
      break;
    case 1: /* close */
      if (m == NULL) break;
      if (mmapio_close(m) != MMAPIO_OK) fail("close", which, 0, -1);
      if (which == 0) rw = NULL;
      else if (which == 1) ro = NULL;
      else cow = NULL;
      break;
    case 2: case 3: { /* write */
      if (m == NULL) break;
      uint64_t off = pick_off(&in, mlen), len = take(&in, 2) % (MAXLEN + 1u);
      memset(buf, v, (size_t)len);
      rc = mmapio_write(m, off, buf, (size_t)len);
      int ok = in_bounds(off, len, mlen);
      int want = len == 0 ? MMAPIO_OK : which == 1 ? MMAPIO_EMODE : !ok ? MMAPIO_EBOUNDS : MMAPIO_OK;
      if (want == MMAPIO_OK && len > 0 && which == 2) {
        for (uint64_t i = off; i < off + len; i++)
          if (!cow_priv[i / page] && i >= backed_end()) { want = MMAPIO_EFAULT; break; }
      }
      if (rc != want) fail("write status", off, len, rc);
      if (rc == MMAPIO_OK && len > 0) {
        if (which == 0) memset(file + off, v, (size_t)len);
        else {
          for (uint64_t pg = off / page; pg <= (off + len - 1u) / page; pg++) {
            if (cow_priv[pg]) continue;
            for (uint64_t i = pg * page; i < (pg + 1u) * page; i++)
              cow_data[i] = i < flen ? file[i] : 0;
            cow_priv[pg] = 1;
          }
          memset(cow_data + off, v, (size_t)len);
        }
      } else if (rc == MMAPIO_EFAULT) {
        /* Pages before the fault may have been copied privately: the COW
         * bytes of the range are unknown from now on; forget the map. */
        if (mmapio_close(cow) != MMAPIO_OK) fail("close cow", 0, 0, -1);
        cow = NULL;
      }
      break;
    }
    case 4: case 5: /* read */
      if (m == NULL) break;
      { uint64_t off = pick_off(&in, mlen), len = take(&in, 2) % (MAXLEN + 1u);
        check_read(m, mlen, off, len, buf, 0); }
      break;
    case 6: /* view */
      if (m == NULL) break;
      { uint64_t off = pick_off(&in, mlen), len = take(&in, 2) % (MAXLEN + 1u);
        check_read(m, mlen, off, len, buf, 1); }
      break;
    case 7: { /* resize (RW only; others EMODE) */
      if (m == NULL) break;
      uint64_t nl;
      switch (take(&in, 1) % 8u) {
      case 0: nl = 0; break;
      case 1: nl = MMAPIO_MAX_SIZE + 1u; break;
      default: nl = 1u + take(&in, 2) % MAXLEN; break;
      }
      rc = mmapio_resize(m, nl);
      int want = which != 0 ? MMAPIO_EMODE : (nl == 0 || nl > MMAPIO_MAX_SIZE) ? MMAPIO_ESIZE : MMAPIO_OK;
      if (rc != want) fail("resize status", nl, which, rc);
      if (rc == MMAPIO_OK) {
        if (nl > flen) memset(file + flen, 0, (size_t)(nl - flen));
        else memset(file + nl, 0, (size_t)(flen - nl));
        flen = nl;
        /* A truncation unmaps even private COW pages wholly past the end. */
        for (uint64_t pg = backed_end() / page; pg < PGMAX / page; pg++) cow_priv[pg] = 0;
        if (mmapio_len(rw) != flen) fail("len after resize", flen, mmapio_len(rw), rc);
      }
      break;
    }
    case 8: /* flush / flush_range */
      if (m == NULL) break;
      rc = mmapio_flush(m);
      if (rc != MMAPIO_OK) fail("flush", which, 0, rc);
      { uint64_t off = pick_off(&in, mlen), len = take(&in, 2);
        rc = mmapio_flush_range(m, off, len);
        int want = (len == 0 || in_bounds(off, len, mlen)) ? MMAPIO_OK : MMAPIO_EBOUNDS;
        if (rc != want) fail("flush_range", off, len, rc); }
      break;
    case 9: { /* probe: OK iff every page of the range is backed */
      if (m == NULL) break;
      uint64_t off = pick_off(&in, mlen), len = take(&in, 2) % (MAXLEN + 1u);
      rc = mmapio_probe(m, off, len);
      int want;
      if (len == 0) want = MMAPIO_OK;
      else if (!in_bounds(off, len, mlen)) want = MMAPIO_EBOUNDS;
      else {
        /* Probe looks at whole pages; COW pages the map wrote are private
         * and backed whatever the file does. */
        uint64_t s = off / page * page, e = (off + len + page - 1u) / page * page;
        want = MMAPIO_OK;
        if (m != rw)
          for (uint64_t pg = s; pg < e; pg += page) {
            if (pg < backed_end()) continue;
            int priv = m == cow && cow_priv[pg / page];
            if (!priv) { want = MMAPIO_EFAULT; break; }
          }
      }
      if (rc != want) fail("probe", off, len, rc);
      break;
    }
    case 10: /* a second RW open while one is open: shares the same file */
      if (rw == NULL) break;
      {
        mmapio_map *m2 = open_mode(MMAPIO_MODE_READ_WRITE, &rc);
        if (rc != MMAPIO_OK) fail("open rw 2", flen, 0, rc);
        if (mmapio_len(m2) != flen) fail("rw2 len", mmapio_len(m2), flen, 0);
        uint64_t off = take(&in, 2) % flen;
        rc = mmapio_write(m2, off, &v, 1);
        if (rc != MMAPIO_OK) fail("rw2 write", off, 1, rc);
        file[off] = v;
        if (mmapio_close(m2) != MMAPIO_OK) fail("close rw2", 0, 0, -1);
      }
      break;
    default: /* the file helper writes through its own short-lived map */
      if (flen == 0) break;
      {
        uint64_t off = take(&in, 2) % flen, len = take(&in, 1) % (flen - off + 1u);
        memset(buf, v, (size_t)len);
        rc = mmapio_write_file(path, off, buf, (size_t)len);
        if (rc != MMAPIO_OK) fail("write_file", off, len, rc);
        memset(file + off, v, (size_t)len);
      }
      break;
    }
  }

  close_all();
  /* The file on disk is the model. */
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail("fopen", 0, 0, -1);
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (n != flen || memcmp(buf, file, (size_t)flen) != 0) fail("file content", n, flen, 0);
  mmapio_remove_file(path);
  return 0;
}
