/*
 * What a power cut would leave behind, on a real file system: a 32 MiB ext4
 * image, loop-mounted in a private mount namespace. Right after each call
 * that promises durability returns, the image file is copied. The copy
 * holds what ext4 has handed to its device, and nothing that sits only in
 * the page cache of the mounted file system: it is the disk as a power cut
 * at that moment would leave it. The copy is checked (e2fsck) and mounted,
 * which replays its journal as at the next boot, and the file is read
 * back from it (test_fs_cut in tests/common/test_util.c). What
 * include/mmapio.h promises must be in it:
 *   - a file created at MMAPIO_DURABLE_FULL, written and flushed: its name,
 *     length and bytes;
 *   - writes to an existing file, mmapio_flush (DATA): the bytes;
 *   - mmapio_flush_range: the bytes of the range;
 *   - mmapio_resize (grow), a write at the new end, mmapio_flush: the new
 *     length and the bytes;
 *   - writes under MMAPIO_FLUSH_ALWAYS and EVERY_WRITES(2), no explicit
 *     flush;
 *   - mmapio_flush_async, once mmapio_task_wait returned OK;
 *   - a write under EVERY_MILLIS(10), once mmapio_pending_bytes says the
 *     background flusher flushed it;
 *   - mmapio_append past the file's end (growing it), then mmapio_flush:
 *     every appended byte;
 *   - the close of an EVERY_BYTES map below its threshold (the final
 *     flush);
 *   - mmapio_write_file;
 *   - TRUNCATE at FULL of an existing file, written and flushed;
 *   - bytes stored through a write view and through mmapio_unsafe_ptr,
 *     then mmapio_flush;
 *   - a shrink (mmapio_resize), then mmapio_flush, at DATA and at FULL:
 *     the new length.
 * With the flushes disabled (msync, fsync and fdatasync doing nothing)
 * every one of these 15 checks fails. ext4 commits its whole journal
 * transaction on any sync, so the directory fsync of a FULL create cannot
 * be told apart here (tests/durability/test_create_durable.c checks that
 * call).
 * A write that nothing flushed is shown for contrast: it is normally not in
 * the copy, but the OS's own writeback may have sent it already, so that
 * is printed, not checked.
 * Needs root, e2fsprogs (mkfs.ext4, e2fsck) and a loop device; skips with
 * the reason otherwise.
 */
#include "test.h"

/* test_xfs_powercut.c and test_btrfs_powercut.c run the same checks there. */
#ifndef FS_TYPE
#  define FS_TYPE "ext4"
#  define FS_IMAGE_MIB 32
#endif

#if defined(__linux__)
#  include <fcntl.h>
#  include <unistd.h>


typedef test_fs disk; /* img: the "device"; work: the copies */

static char *in_dir(const disk *d, const char *name)
{
  static char p[1200];
  snprintf(p, sizeof p, "%s/%s", d->dir, name);
  return p;
}

/* The bytes of /name as a power cut now would leave them (NULL when the
 * file is not on the device), *n its length. */
static uint8_t *on_device(const disk *d, const char *name, size_t *n)
{
  const char *cut = test_fs_cut(FS_TYPE, d->img, d->work);
  if (cut == NULL) {
    test_child_fails++;
    test_fs_cut_end(d->work);
    return NULL;
  }
  char p[1400];
  snprintf(p, sizeof p, "%s/%s", cut, name);
  uint8_t *b = file_exists(p) ? (uint8_t *)test_read_file(p, n) : NULL;
  test_fs_cut_end(d->work);
  return b;
}

/* The device must hold /name with the `len` bytes of `want` (at least
 * `len` bytes when `longer` is set: a file whose tail is not promised). */
static void expect_on_device(const disk *d, const char *name, const uint8_t *want, size_t len,
                             int longer, const char *what)
{
  size_t n = 0;
  uint8_t *got = on_device(d, name, &n);
  if (got == NULL && len == 0 && n == 0) return;
  if (got == NULL) {
    fprintf(stderr, "%s: %s is not on the device at all\n", what, name);
    test_child_fails++;
    return;
  }
  if (n < len || (n > len && !longer)) {
    fprintf(stderr, "%s: %s has %zu bytes on the device, expected %s%zu\n", what, name, n,
            longer ? "at least " : "", len);
    test_child_fails++;
  } else {
    size_t i = 0;
    while (i < len && got[i] == want[i]) i++;
    if (i < len) {
      fprintf(stderr, "%s: %s differs on the device from byte %zu on (0x%02x, expected 0x%02x)\n",
              what, name, i, got[i], want[i]);
      test_child_fails++;
    }
  }
  free(got);
}

/* An existing file: `len` bytes of pattern `seed`, also in `model`. */
static void fixture(const disk *d, const char *name, uint8_t *model, size_t len, unsigned seed)
{
  pat_fill(model, len, 0, seed);
  TALLY_CHECK(test_write_file(in_dir(d, name), model, len) == 0);
}

/* Writes `len` bytes of pattern `seed` at `off` through the map and into
 * the model. */
static void put(mmapio_map *m, uint8_t *model, uint64_t off, size_t len, unsigned seed)
{
  pat_fill(model + off, len, off, seed);
  TALLY_CHECK(mmapio_write(m, off, model + off, len) == MMAPIO_OK);
}

static mmapio_map *open_with(const disk *d, const char *name, const mmapio_options *o)
{
  mmapio_map *m = NULL;
  TALLY_CHECK(mmapio_open(&m, in_dir(d, name), o) == MMAPIO_OK);
  return m;
}

static void checks(const disk *d)
{
  const size_t big = 2 * MIB;
  uint8_t *model = (uint8_t *)calloc(1, big);
  uint8_t *model2 = (uint8_t *)calloc(1, big);
  TALLY_CHECK(model != NULL && model2 != NULL);
  if (model == NULL || model2 == NULL) return;
  mmapio_options o;
  mmapio_map *m;

  /* The fixtures, then everything on the device. */
  uint8_t *m_data = (uint8_t *)malloc(MIB), *m_grow = (uint8_t *)calloc(1, big);
  uint8_t *m_small[6];
  const char *small[6] = {"always.bin", "everyw.bin", "async.bin", "close.bin", "wf.bin", "idle.bin"};
  for (int i = 0; i < 6; i++) m_small[i] = (uint8_t *)malloc(64 * KIB);
  uint8_t *m_log = (uint8_t *)calloc(1, MIB), *m_trunc = (uint8_t *)malloc(MIB);
  fixture(d, "data.bin", m_data, MIB, 2);
  fixture(d, "grow.bin", m_grow, 256 * KIB, 5);
  for (int i = 0; i < 6; i++) fixture(d, small[i], m_small[i], 64 * KIB, 20u + (unsigned)i);
  fixture(d, "log.bin", m_log, 64 * KIB, 8);
  fixture(d, "trunc.bin", m_trunc, MIB, 10);
  uint8_t *m_view = (uint8_t *)malloc(64 * KIB), *m_shrink = (uint8_t *)malloc(MIB),
          *m_shrinkf = (uint8_t *)malloc(MIB);
  fixture(d, "view.bin", m_view, 64 * KIB, 12);
  uint8_t *m_millis = (uint8_t *)malloc(64 * KIB);
  fixture(d, "millis.bin", m_millis, 64 * KIB, 15);
  fixture(d, "shrink.bin", m_shrink, MIB, 13);
  fixture(d, "shrinkf.bin", m_shrinkf, MIB, 14);
  sync();
  expect_on_device(d, "data.bin", m_data, MIB, 0, "the fixture after sync()");

  /* A new file at FULL: name, length and bytes. */
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE;
  o.size = MIB;
  o.durability = MMAPIO_DURABLE_FULL;
  m = open_with(d, "full.bin", &o);
  if (m != NULL) {
    put(m, model, 0, MIB, 1);
    TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
    expect_on_device(d, "full.bin", model, MIB, 0, "create at FULL, write, mmapio_flush");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* An existing file at DATA: mmapio_flush, then mmapio_flush_range. */
  TALLY_CHECK(mmapio_open_rw(&m, in_dir(d, "data.bin")) == MMAPIO_OK);
  if (m != NULL) {
    put(m, m_data, 64 * KIB, 8 * KIB, 3);
    put(m, m_data, 900000, 100, 3);
    TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
    expect_on_device(d, "data.bin", m_data, MIB, 0, "writes, mmapio_flush (DATA)");
    put(m, m_data, 300 * KIB, 4 * KIB, 4);
    TALLY_CHECK(mmapio_flush_range(m, 300 * KIB, 4 * KIB) == MMAPIO_OK);
    expect_on_device(d, "data.bin", m_data, MIB, 0, "a write, mmapio_flush_range of it");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* Grow, write at the new end, flush: the new length is durable too. */
  TALLY_CHECK(mmapio_open_rw(&m, in_dir(d, "grow.bin")) == MMAPIO_OK);
  if (m != NULL) {
    TALLY_CHECK(mmapio_resize(m, big) == MMAPIO_OK);
    put(m, m_grow, big - 4 * KIB, 4 * KIB, 6);
    TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
    expect_on_device(d, "grow.bin", m_grow, big, 0, "mmapio_resize 256 KiB -> 2 MiB, write, mmapio_flush");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* Policies that flush on their own. */
  mmapio_options_init(&o);
  o.flush_policy.kind = MMAPIO_FLUSH_ALWAYS;
  m = open_with(d, "always.bin", &o);
  if (m != NULL) {
    put(m, m_small[0], 12345, 100, 30);
    expect_on_device(d, "always.bin", m_small[0], 64 * KIB, 0, "a write under FLUSH_ALWAYS");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_WRITES;
  o.flush_policy.every = 2;
  m = open_with(d, "everyw.bin", &o);
  if (m != NULL) {
    put(m, m_small[1], 100, 10, 31);
    put(m, m_small[1], 40000, 10, 31);
    expect_on_device(d, "everyw.bin", m_small[1], 64 * KIB, 0, "two writes under EVERY_WRITES(2)");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* The EVERY_MILLIS background flusher: once it has flushed the write
   * (mmapio_pending_bytes drops to 0 only after a flush succeeded). */
  mmapio_options_init(&o);
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_MILLIS;
  o.flush_policy.every = 10;
  m = open_with(d, "millis.bin", &o);
  if (m != NULL) {
    put(m, m_millis, 7000, 3000, 38);
    uint64_t t0 = now_ms();
    while (mmapio_pending_bytes(m) != 0 && now_ms() - t0 < 120000) sleep_ms(5);
    TALLY_CHECK(mmapio_pending_bytes(m) == 0);
    expect_on_device(d, "millis.bin", m_millis, 64 * KIB, 0, "a write under EVERY_MILLIS(10), flushed by the flusher");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* An async flush, waited for (where tasks are built in). */
  m = NULL;
  if (mmapio_has_feature(MMAPIO_FEATURE_ASYNC))
    TALLY_CHECK(mmapio_open_rw(&m, in_dir(d, "async.bin")) == MMAPIO_OK);
  else printf("note: async tasks are not built in; mmapio_flush_async not checked\n");
  if (m != NULL) {
    put(m, m_small[2], 5000, 3000, 32);
    mmapio_task *t = NULL;
    TALLY_CHECK(mmapio_flush_async(&t, m) == MMAPIO_OK);
    if (t != NULL) {
      TALLY_CHECK(mmapio_task_wait(t, -1) == MMAPIO_OK);
      mmapio_task_free(t);
    }
    expect_on_device(d, "async.bin", m_small[2], 64 * KIB, 0, "mmapio_flush_async, waited for");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* Appends that grow the file, then a flush: every appended byte. The
   * file may be longer than the logical end (include/mmapio.h, "Crash
   * safety"). */
  TALLY_CHECK(mmapio_open_rw(&m, in_dir(d, "log.bin")) == MMAPIO_OK);
  if (m != NULL) {
    uint64_t end = 64 * KIB;
    for (int i = 0; i < 3000; i++) {
      uint64_t at = 0;
      pat_fill(m_log + end, 100, end, 9);
      TALLY_CHECK(mmapio_append(m, m_log + end, 100, &at) == MMAPIO_OK);
      TALLY_CHECK(at == end);
      end += 100;
    }
    TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
    expect_on_device(d, "log.bin", m_log, (size_t)end, 1, "3000 appends past the end, mmapio_flush");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* The final flush of close. */
  mmapio_options_init(&o);
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_BYTES;
  o.flush_policy.every = MIB;
  m = open_with(d, "close.bin", &o);
  if (m != NULL) {
    put(m, m_small[3], 777, 100, 33);
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
    expect_on_device(d, "close.bin", m_small[3], 64 * KIB, 0, "close of an EVERY_BYTES map");
  }

  /* mmapio_write_file: open, write, flush, close. */
  pat_fill(m_small[4] + 5000, 300, 5000, 34);
  TALLY_CHECK(mmapio_write_file(in_dir(d, "wf.bin"), 5000, m_small[4] + 5000, 300) == MMAPIO_OK);
  expect_on_device(d, "wf.bin", m_small[4], 64 * KIB, 0, "mmapio_write_file");

  /* TRUNCATE of an existing 1 MiB file to 512 KiB at FULL. */
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_TRUNCATE;
  o.size = 512 * KIB;
  o.durability = MMAPIO_DURABLE_FULL;
  m = open_with(d, "trunc.bin", &o);
  if (m != NULL) {
    put(m, m_trunc, 0, 512 * KIB, 11);
    TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
    expect_on_device(d, "trunc.bin", m_trunc, 512 * KIB, 0, "TRUNCATE to 512 KiB at FULL, write, mmapio_flush");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* Bytes stored through a write view and through the bare pointer: the
   * flush reaches them too. */
  TALLY_CHECK(mmapio_open_rw(&m, in_dir(d, "view.bin")) == MMAPIO_OK);
  if (m != NULL) {
    mmapio_view_mut v;
    TALLY_CHECK(mmapio_view_get_mut(&v, m, 20000, 2000) == MMAPIO_OK);
    pat_fill(m_view + 20000, 2000, 20000, 36);
    memcpy(v.data, m_view + 20000, 2000);
    TALLY_CHECK(mmapio_view_mut_release(&v) == MMAPIO_OK);
    uint8_t *p = (uint8_t *)mmapio_unsafe_ptr(m);
    pat_fill(m_view + 50000, 100, 50000, 37);
    memcpy(p + 50000, m_view + 50000, 100);
    TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
    expect_on_device(d, "view.bin", m_view, 64 * KIB, 0, "a write view and the bare pointer, mmapio_flush");
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  /* A shrink, then a flush: the new length, at DATA and at FULL. */
  for (int full = 0; full <= 1; full++) {
    const char *name = full ? "shrinkf.bin" : "shrink.bin";
    mmapio_options_init(&o);
    o.durability = full ? MMAPIO_DURABLE_FULL : MMAPIO_DURABLE_DATA;
    m = open_with(d, name, &o);
    if (m != NULL) {
      TALLY_CHECK(mmapio_resize(m, 256 * KIB) == MMAPIO_OK);
      TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
      expect_on_device(d, name, full ? m_shrinkf : m_shrink, 256 * KIB, 0,
                       full ? "mmapio_resize 1 MiB -> 256 KiB, mmapio_flush (FULL)"
                            : "mmapio_resize 1 MiB -> 256 KiB, mmapio_flush (DATA)");
      TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
    }
  }

  /* For contrast: a write nothing flushed. */
  TALLY_CHECK(mmapio_open_rw(&m, in_dir(d, "idle.bin")) == MMAPIO_OK);
  if (m != NULL) {
    memcpy(model2, m_small[5], 64 * KIB);
    put(m, m_small[5], 0, 4 * KIB, 35);
    size_t n = 0;
    uint8_t *got = on_device(d, "idle.bin", &n);
    int has_new = got != NULL && n == 64 * KIB && memcmp(got, m_small[5], 4 * KIB) == 0;
    int has_old = got != NULL && n == 64 * KIB && memcmp(got, model2, 4 * KIB) == 0;
    printf("for contrast, a write that was not flushed: %s\n",
           has_new ? "on the device already (the OS wrote it back on its own)"
           : has_old ? "not on the device (the old bytes are there)"
                     : "neither old nor new bytes on the device");
    free(got);
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }

  free(model);
  free(model2);
  free(m_data);
  free(m_grow);
  for (int i = 0; i < 6; i++) free(m_small[i]);
  free(m_log);
  free(m_trunc);
  free(m_view);
  free(m_millis);
  free(m_shrink);
  free(m_shrinkf);
}

static int on_fs(const test_fs *fs, void *arg)
{
  (void)arg;
  checks(fs);
  return test_child_result();
}
#endif

int main(void)
{
#if !defined(__linux__)
  TEST_SKIP("the " FS_TYPE " loop-device test needs Linux");
#else
  test_on_fs(FS_TYPE, FS_IMAGE_MIB, strcmp(FS_TYPE, "ext4") == 0 ? "e2fsck" : NULL, "power-cut checks",
             on_fs, NULL);
  return 0;
#endif
}
