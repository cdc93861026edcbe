/*
 * helpers.h -- small helpers shared by the unit, concurrency, durability,
 * crash and disk tests (fixtures, file facts, exact error checks, a thread
 * shim). Everything is static inline so each test program takes only what
 * it uses. Works on POSIX and on Windows (MinGW, run under Wine).
 */
#ifndef MMAPIO_TEST_HELPERS_H
#define MMAPIO_TEST_HELPERS_H

#include "test.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef _WIN32
#  include <direct.h>
#  include <io.h>
#  include <windows.h>
#else
#  include <pthread.h>
#  include <time.h>
#  include <unistd.h>
#endif

#define KIB (UINT64_C(1024))
#define MIB (UINT64_C(1024) * 1024)

/* ---- Exact status + detail message -------------------------------------- */

/* The call must return `want` and leave exactly `msg` in mmapio_last_error(). */
#define ASSERT_ERR(expr, want, msg)                                           \
  do {                                                                        \
    ASSERT_STATUS(expr, want);                                                \
    ASSERT_STREQ(mmapio_last_error(), (msg));                                 \
  } while (0)

/* The call must return `want` and the detail message must contain `part`. */
#define ASSERT_ERR_HAS(expr, want, part)                                      \
  do {                                                                        \
    ASSERT_STATUS(expr, want);                                                \
    if (strstr(mmapio_last_error(), (part)) == NULL)                          \
      TEST_FAIL_("detail message of %s lacks \"%s\"", #expr, (part));         \
  } while (0)

static inline const char *fmt_msg(const char *fmt, ...)
{
  static char buf[4][256];
  static unsigned k;
  char *b = buf[k++ % 4u];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b, sizeof buf[0], fmt, ap);
  va_end(ap);
  return b;
}

/* The exact EBOUNDS message of include/mmapio.h section 2. */
static inline const char *bounds_msg(uint64_t off, uint64_t len, uint64_t total)
{
  return fmt_msg("range out of bounds: offset=%llu, len=%llu, total=%llu",
                 (unsigned long long)off, (unsigned long long)len, (unsigned long long)total);
}

#define ASSERT_BOUNDS(expr, off, len, total) \
  ASSERT_ERR(expr, MMAPIO_EBOUNDS, bounds_msg((off), (len), (total)))

static inline const char *size_max_msg(uint64_t size)
{
  return fmt_msg("Size %llu exceeds maximum safe limit of %llu bytes", (unsigned long long)size,
                 (unsigned long long)MMAPIO_MAX_SIZE);
}

static inline const char *new_size_max_msg(uint64_t size)
{
  return fmt_msg("New size %llu exceeds maximum safe limit of %llu bytes",
                 (unsigned long long)size, (unsigned long long)MMAPIO_MAX_SIZE);
}

#define MSG_SIZE_ZERO "Size must be greater than zero"
#define MSG_NEW_SIZE_ZERO "New size must be greater than zero"
#define MSG_ZERO_FILE "Cannot map zero-length file"

/* ---- Data patterns ------------------------------------------------------- */

static inline uint8_t pat_byte(uint64_t i, unsigned seed)
{
  uint64_t x = (i + 1u) * UINT64_C(0x9E3779B97F4A7C15) ^ ((uint64_t)seed * UINT64_C(0xBF58476D1CE4E5B9));
  x ^= x >> 29;
  return (uint8_t)(x & 0xFFu);
}

static inline void pat_fill(void *buf, size_t n, uint64_t start, unsigned seed)
{
  uint8_t *b = (uint8_t *)buf;
  for (size_t i = 0; i < n; i++) b[i] = pat_byte(start + i, seed);
}

/* 1 when buf[0..n) holds the pattern of offsets start.. */
static inline int pat_check(const void *buf, size_t n, uint64_t start, unsigned seed)
{
  const uint8_t *b = (const uint8_t *)buf;
  for (size_t i = 0; i < n; i++)
    if (b[i] != pat_byte(start + i, seed)) return 0;
  return 1;
}

static inline int all_bytes(const void *buf, size_t n, uint8_t v)
{
  const uint8_t *b = (const uint8_t *)buf;
  for (size_t i = 0; i < n; i++)
    if (b[i] != v) return 0;
  return 1;
}

/* ---- Files ----------------------------------------------------------------- */

/* A fresh temp path holding `len` bytes of pattern `seed` (len 0: empty file). */
static inline char *mk_file(const char *tag, size_t len, unsigned seed)
{
  char *p = test_tmp_path(tag);
  void *buf = malloc(len ? len : 1);
  ASSERT(buf != NULL);
  pat_fill(buf, len, 0, seed);
  if (test_write_file(p, buf, len) != 0) TEST_FAIL_("cannot create fixture %s", p);
  free(buf);
  return p;
}

/* File length, or -1 when the path does not exist. */
static inline int64_t file_len(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  return (int64_t)st.st_size;
}

static inline int file_exists(const char *path) { return file_len(path) >= 0; }

static inline int make_dir(const char *path)
{
#ifdef _WIN32
  return _mkdir(path);
#else
  return mkdir(path, 0755);
#endif
}

static inline int remove_dir(const char *path)
{
#ifdef _WIN32
  return _rmdir(path);
#else
  return rmdir(path);
#endif
}

/* A snapshot of a file's length and content, to prove "nothing on disk changed". */
typedef struct file_snap {
  int64_t len;
  size_t n;
  void *data;
} file_snap;

static inline file_snap snap_take(const char *path)
{
  file_snap s;
  s.len = file_len(path);
  s.n = 0;
  s.data = s.len >= 0 ? test_read_file(path, &s.n) : NULL;
  return s;
}

#define ASSERT_SNAP_SAME(path, s)                                             \
  do {                                                                        \
    file_snap now_ = snap_take(path);                                         \
    if (now_.len != (s).len)                                                  \
      TEST_FAIL_("%s changed length: %lld -> %lld", (path), (long long)(s).len, (long long)now_.len); \
    if (now_.n != (s).n || (now_.n && memcmp(now_.data, (s).data, now_.n) != 0)) \
      TEST_FAIL_("%s content changed", (path));                               \
    free(now_.data);                                                          \
  } while (0)

static inline void snap_free(file_snap *s) { free(s->data); s->data = NULL; }

/* Read a whole file and compare it with pattern `seed` over [0, len). */
static inline int file_has_pattern(const char *path, size_t len, unsigned seed)
{
  size_t n = 0;
  void *d = test_read_file(path, &n);
  int ok = d != NULL && n == len && pat_check(d, n, 0, seed);
  free(d);
  return ok;
}

/* ---- Time ---------------------------------------------------------------- */

static inline uint64_t now_ms(void)
{
#ifdef _WIN32
  return (uint64_t)GetTickCount64();
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
}

static inline void sleep_ms(unsigned ms)
{
#ifdef _WIN32
  Sleep(ms);
#else
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000u);
  ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
#endif
}

/* Generous deadline for anything asynchronous: never a pass/fail by timing. */
#define POLL_DEADLINE_MS 20000u

/* ---- Threads ----------------------------------------------------------- */

typedef void *(*thread_fn)(void *);
#ifdef _WIN32
typedef struct test_thread { HANDLE h; thread_fn fn; void *arg; void *ret; } test_thread;
static inline DWORD WINAPI test_thread_tramp_(LPVOID p)
{
  test_thread *t = (test_thread *)p;
  t->ret = t->fn(t->arg);
  return 0;
}
static inline void thread_start(test_thread *t, thread_fn fn, void *arg)
{
  t->fn = fn;
  t->arg = arg;
  t->ret = NULL;
  t->h = CreateThread(NULL, 0, test_thread_tramp_, t, 0, NULL);
  if (t->h == NULL) TEST_FAIL_("CreateThread failed");
}
static inline void *thread_join(test_thread *t)
{
  WaitForSingleObject(t->h, INFINITE);
  CloseHandle(t->h);
  return t->ret;
}
#else
typedef struct test_thread { pthread_t t; } test_thread;
static inline void thread_start(test_thread *t, thread_fn fn, void *arg)
{
  if (pthread_create(&t->t, NULL, fn, arg) != 0) TEST_FAIL_("pthread_create failed");
}
static inline void *thread_join(test_thread *t)
{
  void *r = NULL;
  pthread_join(t->t, &r);
  return r;
}
#endif

/* Thread results: NULL = success, else a static failure text. */
#define THREAD_CHECK(cond)                                                    \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: thread check failed: %s (last_error \"%s\")\n", \
              __FILE__, __LINE__, #cond, mmapio_last_error());                \
      return (void *)"failed";                                                \
    }                                                                         \
  } while (0)

/* ---- Convenience --------------------------------------------------------- */

static inline mmapio_options opts(mmapio_mode mode, uint32_t flags, uint64_t size)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  o.flags = flags;
  o.size = size;
  return o;
}

/* Open `path` with a given flush policy (READ_WRITE, existing file). */
static inline int open_policy(mmapio_map **out, const char *path, mmapio_flush_kind k, uint64_t every)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flush_policy.kind = k;
  o.flush_policy.every = every;
  return mmapio_open(out, path, &o);
}

static inline int has_cow(void) { return mmapio_has_feature(MMAPIO_FEATURE_COW); }

/* A sentinel for "**out must be set to NULL on failure". */
#define BAD_MAP ((mmapio_map *)(uintptr_t)0x1)

#endif
