/*
 * Durability, proven by the system calls mmapio_flush makes (docs/design.md,
 * "Durability"), recorded through the backend's syscall table
 * (mmapio__sys_record_start/stop, builds with MMAPIO_TEST_HOOKS):
 *   DATA  msync(MS_SYNC) covering the page range written, never MS_ASYNC
 *   FULL  the same plus fsync
 *   NONE  sync_file_range(WRITE) on Linux, msync(MS_ASYNC) in the portable
 *         build; nothing that waits (no MS_SYNC, no fsync)
 * flush_range(off, len) msyncs exactly the page-expanded range (clamped to
 * the length); flush always reaches the OS, also for bytes written through
 * the raw pointer; close flushes non-MANUAL maps; ALWAYS flushes in write;
 * RO, COW and anonymous maps flush nothing.
 */
#include "test.h"

#if defined(MMAPIO_TEST_HOOKS) && !defined(_WIN32)

#  include "platform.h"

#  include <sys/mman.h>

#  define MAXREC 1024

static size_t PS;
static mmapio__sys_call REC[MAXREC];
static size_t NREC;

static void rec_start(void)
{
  mmapio__sys_reset();
  mmapio__sys_record_start();
}

static void rec_stop(void) { NREC = mmapio__sys_record_stop(REC, MAXREC); }

static void dump(const char *why)
{
  fprintf(stderr, "%s; recorded %zu calls:\n", why, NREC);
  for (size_t i = 0; i < NREC; i++)
    fprintf(stderr, "  %s(a=%#llx, b=%llu, flags=%#x)\n", REC[i].name, (unsigned long long)REC[i].a,
            (unsigned long long)REC[i].b, (unsigned)REC[i].flags);
}

static size_t count(const char *name, int with_flags, int without_flags)
{
  size_t n = 0;
  for (size_t i = 0; i < NREC; i++)
    if (strcmp(REC[i].name, name) == 0 && (REC[i].flags & with_flags) == with_flags &&
        (REC[i].flags & without_flags) == 0)
      n++;
  return n;
}

/* 1 when the msync calls with `flag` cover [lo, hi) (addresses). */
static int msync_covers(uint64_t lo, uint64_t hi, int flag)
{
  /* Repeatedly extend `lo` by any call that starts at or before it. */
  int progress = 1;
  while (lo < hi && progress) {
    progress = 0;
    for (size_t i = 0; i < NREC; i++) {
      if (strcmp(REC[i].name, "msync") != 0 || !(REC[i].flags & flag)) continue;
      if (REC[i].a <= lo && REC[i].a + REC[i].b > lo) {
        lo = REC[i].a + REC[i].b;
        progress = 1;
      }
    }
  }
  return lo >= hi;
}

#  define EXPECT(cond, why)             \
    do {                                \
      if (!(cond)) {                    \
        dump(why);                      \
        TEST_FAIL_("%s: %s", why, #cond); \
      }                                 \
    } while (0)

static mmapio_map *open_dur(const char *p, mmapio_durability d, mmapio_flush_kind k, uint64_t every)
{
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, 0, 0);
  o.durability = d;
  o.flush_policy.kind = k;
  o.flush_policy.every = every;
  mmapio_map *m;
  ASSERT_OK(mmapio_open(&m, p, &o));
  return m;
}

static void check_level(const char *p, mmapio_durability d)
{
  mmapio_map *m = open_dur(p, d, MMAPIO_FLUSH_MANUAL, 0);
  uint64_t base = (uint64_t)(uintptr_t)mmapio_unsafe_ptr(m);
  uint8_t buf[100];
  memset(buf, 0x5C, sizeof buf);
  ASSERT_OK(mmapio_write(m, 3 * PS + 10, buf, sizeof buf));

  rec_start();
  ASSERT_OK(mmapio_flush(m));
  rec_stop();
  size_t sync = count("msync", MS_SYNC, 0), async = count("msync", MS_ASYNC, 0);
  size_t sfr = count("sync_file_range", 0, 0);
  if (d == MMAPIO_DURABLE_DATA || d == MMAPIO_DURABLE_FULL) {
    EXPECT(sync > 0, "flush at DATA/FULL must msync(MS_SYNC)");
    EXPECT(async == 0, "flush at DATA/FULL must never use MS_ASYNC");
    EXPECT(msync_covers(base + 3 * PS, base + 4 * PS, MS_SYNC),
           "msync(MS_SYNC) must cover the page written");
    for (size_t i = 0; i < NREC; i++)
      if (strcmp(REC[i].name, "msync") == 0) EXPECT(REC[i].a % PS == 0, "msync address must be page aligned");
    if (d == MMAPIO_DURABLE_FULL) EXPECT(count("fsync", 0, 0) > 0, "flush at FULL must fsync");
  } else {
    EXPECT(sync == 0, "flush at NONE must not wait (no MS_SYNC)");
    EXPECT(count("fsync", 0, 0) == 0, "flush at NONE must not fsync");
#  if defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)
    EXPECT(sfr > 0, "flush at NONE on Linux starts writeback with sync_file_range");
    int covered = 0;
    for (size_t i = 0; i < NREC; i++)
      if (strcmp(REC[i].name, "sync_file_range") == 0 && REC[i].a <= 3 * PS && REC[i].a + REC[i].b >= 4 * PS)
        covered = 1;
    EXPECT(covered, "sync_file_range must cover the page written");
#  else
    EXPECT(async > 0 || sfr > 0, "flush at NONE starts writeback (msync MS_ASYNC)");
#  endif
  }

  /* flush_range: exactly the page-expanded range. */
  rec_start();
  ASSERT_OK(mmapio_flush_range(m, PS + 10, 20));
  rec_stop();
  if (d != MMAPIO_DURABLE_NONE) {
    EXPECT(count("msync", 0, 0) >= 1, "flush_range must msync");
    EXPECT(count("msync", MS_ASYNC, 0) == 0, "flush_range at DATA/FULL must never use MS_ASYNC");
    EXPECT(msync_covers(base + PS, base + 2 * PS, MS_SYNC), "flush_range must cover its page");
    for (size_t i = 0; i < NREC; i++)
      if (strcmp(REC[i].name, "msync") == 0)
        EXPECT(REC[i].a >= base + PS && REC[i].a + REC[i].b <= base + 2 * PS,
               "flush_range(P+10, 20) must msync only [P, 2P)");
    if (d == MMAPIO_DURABLE_FULL) EXPECT(count("fsync", 0, 0) > 0, "flush_range at FULL must fsync");
  }
  /* Across a page boundary: two pages. */
  rec_start();
  ASSERT_OK(mmapio_flush_range(m, 2 * PS - 1, 2));
  rec_stop();
  if (d != MMAPIO_DURABLE_NONE) {
    EXPECT(msync_covers(base + PS, base + 3 * PS, MS_SYNC), "flush_range(2P-1, 2) must cover [P, 3P)");
    for (size_t i = 0; i < NREC; i++)
      if (strcmp(REC[i].name, "msync") == 0)
        EXPECT(REC[i].a >= base + PS && REC[i].a + REC[i].b <= base + 3 * PS,
               "flush_range(2P-1, 2) must msync only [P, 3P)");
  }
  /* The last, partial page: clamped to the length (4P + 123). */
  rec_start();
  ASSERT_OK(mmapio_flush_range(m, 4 * PS + 122, 1));
  rec_stop();
  if (d != MMAPIO_DURABLE_NONE) {
    EXPECT(msync_covers(base + 4 * PS, base + 4 * PS + 123, MS_SYNC), "the last page must be flushed");
    for (size_t i = 0; i < NREC; i++)
      if (strcmp(REC[i].name, "msync") == 0)
        EXPECT(REC[i].a >= base + 4 * PS && REC[i].a + REC[i].b <= base + 5 * PS,
               "flush_range of the last page stays in it");
  }
  /* Zero length and out of bounds: no system call at all. */
  rec_start();
  ASSERT_OK(mmapio_flush_range(m, 0, 0));
  ASSERT_STATUS(mmapio_flush_range(m, 4 * PS + 123, 1), MMAPIO_EBOUNDS);
  rec_stop();
  EXPECT(count("msync", 0, 0) == 0 && count("fsync", 0, 0) == 0, "no flush for len 0 / EBOUNDS");
  ASSERT_OK(mmapio_close(m));
}

/* flush has no "nothing pending" shortcut: bytes written through the raw
 * pointer (or by a previous process) are flushed too. */
static void check_no_shortcut(const char *p)
{
  mmapio_map *m = open_dur(p, MMAPIO_DURABLE_DATA, MMAPIO_FLUSH_MANUAL, 0);
  uint64_t base = (uint64_t)(uintptr_t)mmapio_unsafe_ptr(m);
  ((uint8_t *)mmapio_unsafe_ptr(m))[2 * PS + 5] = 0x42;
  rec_start();
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_flush(m)); /* twice: still reaches the OS */
  rec_stop();
  EXPECT(count("msync", MS_SYNC, 0) >= 2, "every flush must reach the OS");
  EXPECT(msync_covers(base + 2 * PS, base + 3 * PS, MS_SYNC), "raw pointer writes must be flushed");
  ASSERT_OK(mmapio_close(m));
}

static void check_policies(const char *p)
{
  /* ALWAYS: the write itself flushes durably. */
  mmapio_map *m = open_dur(p, MMAPIO_DURABLE_DATA, MMAPIO_FLUSH_ALWAYS, 0);
  uint64_t base = (uint64_t)(uintptr_t)mmapio_unsafe_ptr(m);
  uint8_t b = 1;
  rec_start();
  ASSERT_OK(mmapio_write(m, PS + 1, &b, 1));
  rec_stop();
  EXPECT(msync_covers(base + PS, base + 2 * PS, MS_SYNC), "ALWAYS: write must msync(MS_SYNC) its page");
  EXPECT(count("msync", MS_ASYNC, 0) == 0, "ALWAYS: never MS_ASYNC");
  ASSERT_OK(mmapio_close(m));

  /* Close of a non-MANUAL map: a final durable flush, also at FULL. */
  m = open_dur(p, MMAPIO_DURABLE_FULL, MMAPIO_FLUSH_EVERY_BYTES, 1u << 30);
  base = (uint64_t)(uintptr_t)mmapio_unsafe_ptr(m);
  ASSERT_OK(mmapio_write(m, 3 * PS, &b, 1));
  rec_start();
  ASSERT_OK(mmapio_close(m));
  rec_stop();
  EXPECT(msync_covers(base + 3 * PS, base + 4 * PS, MS_SYNC), "close must flush a non-MANUAL map");
  EXPECT(count("fsync", 0, 0) > 0, "close at FULL must fsync");

  /* Close of a MANUAL map: no flush (the user asked for none). */
  m = open_dur(p, MMAPIO_DURABLE_DATA, MMAPIO_FLUSH_MANUAL, 0);
  ASSERT_OK(mmapio_write(m, 3 * PS, &b, 1));
  rec_start();
  ASSERT_OK(mmapio_close(m));
  rec_stop();
  EXPECT(count("msync", 0, 0) == 0, "close must not flush a MANUAL map");

  /* EVERY_MILLIS: the background flusher calls msync(MS_SYNC). */
  m = open_dur(p, MMAPIO_DURABLE_DATA, MMAPIO_FLUSH_EVERY_MILLIS, 10);
  mmapio__sys_reset();
  ASSERT_OK(mmapio_write(m, 0, &b, 1));
  uint64_t deadline = now_ms() + POLL_DEADLINE_MS;
  while (mmapio__sys_count("msync") == 0 && now_ms() < deadline) sleep_ms(5);
  if (mmapio__sys_count("msync") == 0) TEST_FAIL_("EVERY_MILLIS: no msync within %u ms", POLL_DEADLINE_MS);
  ASSERT_OK(mmapio_close(m));
}

static void check_no_flush_maps(const char *p)
{
  mmapio_map *m;
  uint8_t b = 3;
  ASSERT_OK(mmapio_open_ro(&m, p));
  rec_start();
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_flush_range(m, 0, 100));
  rec_stop();
  EXPECT(count("msync", 0, 0) == 0 && count("fsync", 0, 0) == 0, "RO flush does nothing");
  ASSERT_OK(mmapio_close(m));
  if (has_cow()) {
    ASSERT_OK(mmapio_open_cow(&m, p));
    ASSERT_OK(mmapio_write(m, 0, &b, 1));
    rec_start();
    ASSERT_OK(mmapio_flush(m));
    ASSERT_OK(mmapio_flush_range(m, 0, 100));
    ASSERT_OK(mmapio_close(m));
    rec_stop();
    EXPECT(count("msync", 0, 0) == 0 && count("fsync", 0, 0) == 0, "COW flush does nothing");
  }
  ASSERT_OK(mmapio_anon(&m, 4 * PS, MMAPIO_ANON_SHARED));
  ASSERT_OK(mmapio_write(m, 0, &b, 1));
  rec_start();
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  rec_stop();
  EXPECT(count("msync", 0, 0) == 0 && count("fsync", 0, 0) == 0, "anonymous flush does nothing");
}

int main(void)
{
  PS = mmapio_page_size();
  char *p = mk_file("durability", 4 * PS + 123, 151);
  /* Is the recorder live in this build? A flush of a dirty RW map must
   * record something; if nothing at all is recorded the hooks are off. */
  {
    mmapio_map *m;
    ASSERT_OK(mmapio_open_rw(&m, p));
    mmapio__sys_reset();
    mmapio__sys_record_start();
    ASSERT_OK(mmapio_flush(m));
    size_t n = mmapio__sys_record_stop(REC, MAXREC);
    ASSERT_OK(mmapio_close(m));
    if (n == 0 && mmapio__sys_count(NULL) == 0) {
      test_unlink(p);
      free(p);
      TEST_SKIP("the library records no system calls (built without MMAPIO_TEST_HOOKS)");
    }
  }
  check_level(p, MMAPIO_DURABLE_DATA);
  check_level(p, MMAPIO_DURABLE_FULL);
  check_level(p, MMAPIO_DURABLE_NONE);
  check_no_shortcut(p);
  check_policies(p);
  check_no_flush_maps(p);
  mmapio__sys_reset();
  test_unlink(p);
  free(p);
  return 0;
}

#else

int main(void)
{
#  ifdef _WIN32
  TEST_SKIP("the syscall recorder is POSIX only");
#  else
  TEST_SKIP("tests built without MMAPIO_TEST_HOOKS (or against a shared library)");
#  endif
}

#endif
