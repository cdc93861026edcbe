/*
 * test_hugepages.c -- MMAPIO_OPEN_HUGE_PAGES (feature HUGEPAGES): the flag is
 * accepted in every mode, never pre-faults or dirties the file (residency
 * stays 0, content and mtime unchanged), and mmapio_huge_pages_active()
 * reports what the OS actually granted: on Linux it agrees with this test's
 * own reading of /proc/self/smaps, and is 0 when THP is disabled.
 */
#include "internal.h"
#include "test.h"

#if defined(__linux__)
#  include <sys/vfs.h>
#endif

int mmapio__huge_pages_query(const mmapio_map *m); /* hints.c */

static size_t pg;

static int64_t mtime_s(const char *path)
{
  struct stat st;
  ASSERT(stat(path, &st) == 0);
  return (int64_t)st.st_mtime;
}

/* Linux: 1 when any smaps entry overlapping [p, p+len) shows huge pages. */
static int smaps_huge(const void *p, size_t len)
{
#if defined(__linux__)
  FILE *f = fopen("/proc/self/smaps", "r");
  if (f == NULL) return 0;
  char line[1024];
  unsigned long lo = (unsigned long)(uintptr_t)p, hi = lo + len, a, b;
  int in = 0, huge = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strchr(line, '-') != NULL && sscanf(line, "%lx-%lx ", &a, &b) == 2 &&
        strchr(line, ':') != NULL && line[0] != ' ' && strncmp(line, "Anon", 4) != 0 &&
        strncmp(line, "File", 4) != 0) {
      in = a < hi && b > lo;
      continue;
    }
    unsigned long kb = 0;
    if (in && (sscanf(line, "AnonHugePages: %lu", &kb) == 1 ||
               sscanf(line, "FilePmdMapped: %lu", &kb) == 1 ||
               sscanf(line, "ShmemPmdMapped: %lu", &kb) == 1) && kb > 0)
      huge = 1;
  }
  fclose(f);
  return huge;
#else
  (void)p; (void)len;
  return 0;
#endif
}

/* "always", "madvise" or "never" (Linux THP), else "". */
static const char *thp_mode(void)
{
  static char mode[16];
  mode[0] = '\0';
#if defined(__linux__)
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (f != NULL) {
    char line[128];
    if (fgets(line, sizeof line, f) != NULL) {
      char *o = strchr(line, '['), *c = o ? strchr(o, ']') : NULL;
      if (o && c && (size_t)(c - o - 1) < sizeof mode) {
        memcpy(mode, o + 1, (size_t)(c - o - 1));
        mode[c - o - 1] = '\0';
      }
    }
    fclose(f);
  }
#endif
  return mode;
}

static int on_tmpfs(const char *path)
{
#if defined(__linux__)
  struct statfs sf;
  return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == 0x01021994ul;
#else
  (void)path;
  return 0;
#endif
}

static void test_file_maps(void)
{
  size_t len = 8u << 20;
  char *path = test_tmp_path("huge");
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_create_rw(&m, path, len));
  ASSERT_EQ(mmapio_huge_pages_active(m), 0); /* not requested */
  ASSERT_OK(mmapio_evict(m, 0, len));
  ASSERT_OK(mmapio_close(m));
  int64_t mt = mtime_s(path);
  int strict = (mmapio__os_hint_caps() & MMAPIO__HINTCAP_EVICT_MAPPED) && !on_tmpfs(path);

  mmapio_mode modes[3] = {MMAPIO_MODE_READ_ONLY, MMAPIO_MODE_READ_WRITE,
                          MMAPIO_MODE_COPY_ON_WRITE};
  for (int i = 0; i < 3; i++) {
    if (modes[i] == MMAPIO_MODE_COPY_ON_WRITE && !has_cow()) continue;
    mmapio_options o = opts(modes[i], MMAPIO_OPEN_HUGE_PAGES, 0);
    ASSERT_OK(mmapio_open(&m, path, &o));
    ASSERT_U64_EQ(mmapio_len(m), len);
    /* Nothing was faulted in by the request. */
    uint64_t r = 0, t = 0;
    ASSERT_OK(mmapio_residency(&r, &t, m, 0, len));
    if (strict) ASSERT_U64_EQ(r, 0);
    int act = mmapio_huge_pages_active(m);
    ASSERT(act == 0 || act == 1);
    /* Reading works; the query agrees with smaps after the pages exist. */
    ASSERT_OK(mmapio_touch(m));
    int q = mmapio__huge_pages_query(m);
    ASSERT_EQ(q, smaps_huge(mmapio_unsafe_ptr(m), len));
    ASSERT_EQ(mmapio_huge_pages_active(m) == q || mmapio_huge_pages_active(m) == act, 1);
    printf("huge: file map mode %d: huge pages %s\n", (int)modes[i], q ? "granted" : "not granted");
    ASSERT_OK(mmapio_evict(m, 0, len));
    ASSERT_OK(mmapio_close(m));
  }
  /* Neither the requests nor the touches dirtied the file. */
  ASSERT_EQ(mtime_s(path), mt);
  ASSERT_EQ(file_len(path), (int64_t)len);
  {
    size_t n = 0;
    void *d = test_read_file(path, &n);
    ASSERT(d != NULL && n == len && all_bytes(d, n, 0));
    free(d);
  }
  /* CREATE path with the flag. */
  test_unlink(path);
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_HUGE_PAGES, len);
  ASSERT_OK(mmapio_open(&m, path, &o));
  uint64_t r = 0, t = 0;
  ASSERT_OK(mmapio_residency(&r, &t, m, 0, len));
  if (strict) ASSERT_U64_EQ(r, 0);
  ASSERT_OK(mmapio_write(m, 12345, "abc", 3));
  ASSERT_OK(mmapio_close(m));
  test_unlink(path);
  free(path);
}

/* Anonymous memory (white-box: mmapio_anon has no huge-page flag yet, so the
 * hook the core calls at open is applied by hand). With THP enabled,
 * MADV_HUGEPAGE memory usually gets huge pages when first written; either
 * way the answer must match smaps, and be 0 when THP is off. */
static void test_anon(void)
{
  size_t len = 16u << 20;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_anon(&m, len, 0));
  ASSERT_EQ(mmapio__huge_pages_query(m), 0); /* flag not set: 0 without looking */
  /* The hook keeps the caller's last error (a refusal is not an error). */
  ASSERT_STATUS(mmapio_touch(NULL), MMAPIO_EINVAL);
  char before[512];
  snprintf(before, sizeof before, "%s", mmapio_last_error());
  m->open_flags |= MMAPIO_OPEN_HUGE_PAGES;
  mmapio__apply_huge_pages(m);
  ASSERT_STREQ(mmapio_last_error(), before);
  ASSERT_EQ(mmapio_huge_pages_active(m), 0); /* nothing faulted in yet */
  uint64_t r = 0, t = 0;
  ASSERT_OK(mmapio_residency(&r, &t, m, 0, len));
  ASSERT_U64_EQ(r, 0); /* not pre-faulted */

  uint8_t *buf = (uint8_t *)malloc(len);
  ASSERT(buf != NULL);
  memset(buf, 0x11, len);
  ASSERT_OK(mmapio_write(m, 0, buf, len));
  free(buf);
  int q = mmapio__huge_pages_query(m);
  ASSERT_EQ(mmapio_huge_pages_active(m), q);
  ASSERT_EQ(q, smaps_huge(mmapio_unsafe_ptr(m), len));
  const char *mode = thp_mode();
  if (strcmp(mode, "never") == 0) ASSERT_EQ(q, 0);
  printf("huge: anonymous map, THP \"%s\": huge pages %s\n", mode, q ? "granted" : "not granted");
  ASSERT_OK(mmapio_close(m));
}

int main(void)
{
  pg = mmapio_page_size();
  (void)pg;
  if (!MMAPIO_WITH_HUGEPAGES) {
    char *path = mk_file("hugeoff", 4096, 1);
    mmapio_map *m = NULL;
    mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_HUGE_PAGES, 0);
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_HUGEPAGES), 0);
    ASSERT_STATUS(mmapio_open(&m, path, &o), MMAPIO_ENOTSUP);
    ASSERT(m == NULL);
    test_unlink(path);
    free(path);
    TEST_SKIP("feature HUGEPAGES is compiled out (open refuses the flag)");
  }
  ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_HUGEPAGES), 1);
  test_file_maps();
  test_anon();
  printf("hugepages: all checks passed\n");
  return 0;
}
