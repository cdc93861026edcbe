/*
 * test.h -- the in-repo test harness and every helper the tests share. Each
 * test file is one program and one CTest entry; exit 0 = pass, 77 = skipped
 * (SKIP_RETURN_CODE), anything else = fail. Assertions print file:line, the
 * expression and, for mmapio statuses, mmapio_last_error().
 *
 * Sections: assertions; exact errors; data patterns; files; time; threads;
 * sanitizers; child processes, limits, mount namespaces and root/FUSE skips
 * (POSIX); convenience; the pattern helpers of the byte-buffer, reader,
 * async and watch tests; the white-box helpers of the backend tests (POSIX or
 * Win32, which call the mmapio__os_* contract of src/platform.h directly).
 * Everything but the few functions in test_util.c is static inline, so each
 * test program takes only what it uses. Works on POSIX and on Windows
 * (MinGW, run under Wine).
 */
#ifndef MMAPIO_TEST_H
#define MMAPIO_TEST_H

#include "mmapio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef _WIN32
#  include <direct.h>
#  include <io.h>
#  include <windows.h>
#else
#  include <fcntl.h>
#  include <pthread.h>
#  include <sys/resource.h>
#  include <sys/wait.h>
#  include <time.h>
#  include <unistd.h>
#endif

#define TEST_SKIP_CODE 77

/* Start marker: every test program proves to scripts/wine-run.sh that it
 * started (tests/common/start_marker.h). */
#include "start_marker.h"

#define TEST_FAIL_(...)                                                      \
  do {                                                                       \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                          \
    fprintf(stderr, __VA_ARGS__);                                            \
    fprintf(stderr, "\n  last_error: \"%s\" (os %d)\n", mmapio_last_error(), \
            mmapio_last_os_error());                                         \
    exit(1);                                                                 \
  } while (0)

#define ASSERT(cond)                                                         \
  do { if (!(cond)) TEST_FAIL_("assertion failed: %s", #cond); } while (0)

#define ASSERT_EQ(a, b)                                                      \
  do {                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                     \
    if (a_ != b_) TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);      \
  } while (0)

#define ASSERT_NE(a, b)                                                      \
  do {                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                     \
    if (a_ == b_) TEST_FAIL_("%s != %s: both %lld", #a, #b, a_);             \
  } while (0)

#define ASSERT_U64_EQ(a, b)                                                  \
  do {                                                                       \
    uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                         \
    if (a_ != b_) TEST_FAIL_("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_); \
  } while (0)

/* Status checks: print the status name and the detail message. */
#define ASSERT_OK(expr)                                                      \
  do {                                                                       \
    int s_ = (expr);                                                         \
    if (s_ != MMAPIO_OK) TEST_FAIL_("%s returned %d (%s)", #expr, s_, mmapio_strerror(s_)); \
  } while (0)

#define ASSERT_STATUS(expr, want)                                            \
  do {                                                                       \
    int s_ = (expr), w_ = (want);                                            \
    if (s_ != w_) TEST_FAIL_("%s returned %d (%s), want %d (%s)", #expr, s_, \
                             mmapio_strerror(s_), w_, mmapio_strerror(w_));  \
  } while (0)

#define ASSERT_STREQ(a, b)                                                   \
  do {                                                                       \
    const char *a_ = (a), *b_ = (b);                                         \
    if (strcmp(a_, b_) != 0) TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_, b_); \
  } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                \
  do { if (memcmp((a), (b), (n)) != 0) TEST_FAIL_("memory differs: %s vs %s (%zu bytes)", #a, #b, (size_t)(n)); } while (0)

#define TEST_SKIP(...)                                                       \
  do { printf("SKIP: "); printf(__VA_ARGS__); printf("\n"); exit(TEST_SKIP_CODE); } while (0)

/* A unique temporary path under $TMPDIR (or the build dir): "<dir>/mmapio-<tag>-<pid>-<n>",
 * never one that exists (Wine reuses pids). The file is not created. Free with free(). */
char *test_tmp_path(const char *tag);
/* "<dir>/" followed by a name of `n` 'n' characters (for file-name length
 * limits). Free with free(). */
char *test_long_name(const char *dir, size_t n);
/* Write `len` bytes of `data` as a new file (for fixtures). Returns 0 on success. */
int test_write_file(const char *path, const void *data, size_t len);
/* Read a whole file; *len receives its size. NULL on error. Free with free(). */
void *test_read_file(const char *path, size_t *len);
/* Remove a file, ignoring errors. */
void test_unlink(const char *path);

/* "<dir>/<name>" in new memory (free() it). */
char *test_path_in(const char *dir, const char *name);

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

/* ---- Sanitizers --------------------------------------------------------- */

/* 1 under ASan, TSan or MSan. Their runtimes install SIGSEGV/SIGBUS handlers
 * of their own (a crash is a report and a non-zero exit, not a death by the
 * signal), reserve terabytes of address space and make mlock a no-op. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define UNDER_SANITIZER 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
      __has_feature(memory_sanitizer)
#    define UNDER_SANITIZER 1
#  endif
#endif
#ifndef UNDER_SANITIZER
#  define UNDER_SANITIZER 0
#endif

/* ---- Emulation ------------------------------------------------------------ */

/* The aarch64 and armhf stages of scripts/run-tests.sh cross-compile the
 * tests and CTest runs each program under qemu-user
 * (cmake/toolchain-linux-arm.cmake). Their build defines
 * MMAPIO_TEST_EMULATED to the emulator's name ("qemu-aarch64", "qemu-arm");
 * no other build defines it, so nothing below ever skips natively. */
static inline const char *test_emulator(void)
{
#ifdef MMAPIO_TEST_EMULATED
  return MMAPIO_TEST_EMULATED;
#else
  return NULL;
#endif
}

/* Skips the test (77) under an emulator, with `why`: for what qemu-user
 * cannot do (start another ARM program without binfmt_misc, ...). */
#define TEST_SKIP_IF_EMULATED(why)                                           \
  do {                                                                       \
    if (test_emulator() != NULL) TEST_SKIP("under %s: %s", test_emulator(), (why)); \
  } while (0)

/* 1 when a SIGBUS reports the address that faulted. qemu-arm 7.2 (32-bit
 * ARM guests) reports it one page too high (SIGSEGV addresses are right),
 * so a guarded access (MMAPIO_OPEN_FAULT_SAFE, mmapio_probe's fallback)
 * cannot recognise its own fault there and the process dies of SIGBUS. */
static inline int test_sigbus_addr_exact(void)
{
  return test_emulator() == NULL || strcmp(test_emulator(), "qemu-arm") != 0;
}
#define TEST_SKIP_IF_SIGBUS_ADDR_WRONG()                                     \
  do {                                                                       \
    if (!test_sigbus_addr_exact())                                           \
      TEST_SKIP("under %s: SIGBUS reports the fault address one page too high, " \
                "so no guarded access can recover", test_emulator());        \
  } while (0)

#ifdef __linux__
#  include <dirent.h>
#endif
/* Descriptors this process has open (Linux, from /proc/self/fd, not
 * counting the one used to read it); -1 where that cannot be read. */
static inline int test_count_fds(void)
{
#ifdef __linux__
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1;
#else
  return -1;
#endif
}

#ifndef _WIN32
#  include <dirent.h>

/* The number of entries of `dir` other than . and .. (POSIX). */
static inline int test_dir_entries(const char *dir)
{
  DIR *d = opendir(dir);
  if (d == NULL) TEST_FAIL_("opendir(%s) failed: errno %d", dir, errno);
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  return n;
}

/* ---- Child processes (POSIX) --------------------------------------------- */

/* Checks in a child process that must not stop at the first failure: each
 * failed TALLY_CHECK prints file:line and counts in test_child_fails; the
 * child then exits with test_child_result() (1 if any failed, else 0). */
extern int test_child_fails;
#  define TALLY_CHECK(cond)                                                               \
    do {                                                                                  \
      if (!(cond)) {                                                                      \
        fprintf(stderr, "%s:%d: child check failed: %s (last_error \"%s\")\n", __FILE__,  \
                __LINE__, #cond, mmapio_last_error());                                    \
        test_child_fails++;                                                               \
      }                                                                                   \
    } while (0)
static inline int test_child_result(void) { return test_child_fails ? 1 : 0; }

/* Checks in a child process that stop it at the first failure: prints
 * file:line, the condition and mmapio_last_error(), then _exit(1). */
#  define CHILD_CHECK(cond)                                                               \
    do {                                                                                  \
      if (!(cond)) {                                                                      \
        fprintf(stderr, "child %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,             \
                mmapio_last_error());                                                     \
        _exit(1);                                                                         \
      }                                                                                   \
    } while (0)

/* Waits for child `pid` (retrying EINTR): its exit code, or -1 when it was
 * killed by a signal (named on stderr) or cannot be waited for. */
int test_wait_child(pid_t pid);

/* Runs fn(arg) in a forked child that exits (_exit) with what fn returns;
 * stdio is flushed before the fork and in the child before it exits.
 * Returns the child's wait status. */
int test_fork_call(int (*fn)(void *), void *arg);
/* The same, but the child first lowers the limit `resource` (RLIMIT_*) to
 * soft `cur` and hard `max`, and exits 77 if setrlimit refuses. */
int test_fork_rlimit(int resource, uint64_t cur, uint64_t max, int (*fn)(void *), void *arg);
/* The exit code of a child by its wait status `st`; a child that did not
 * exit (killed by a signal) fails the test, naming `what`. */
int test_child_exit(int st, const char *what);
/* The child must have been killed by signal `sig`; under a sanitizer (whose
 * handler reports the crash and exits instead) it must not have exited 0. */
void test_child_killed_by(int st, int sig, const char *what);

/* Skips the test (77, with "needs root <for_what>") unless it runs as root. */
void test_require_root(const char *for_what);

#  if defined(__linux__)
/* Moves the calling process into a private mount namespace: unshare
 * (CLONE_NEWNS), then / made private so that its mounts stay in it (and go
 * away with it). NULL on success, else the reason it is not possible here
 * (for a skip), in a static buffer. */
const char *test_private_mount_ns(void);
/* test_private_mount_ns, then a tmpfs with options `opts` ("size=1m")
 * mounted on `dir`. NULL on success, else the reason. */
const char *test_private_tmpfs(const char *dir, const char *opts);
/* Skips the test (77, with the reason) unless /dev/fuse is usable. */
void test_require_dev_fuse(void);
/* In a child that called test_private_mount_ns: makes a file system of
 * `type` ("ext4", "btrfs", "xfs") in the image file `img` (its whole
 * length) and loop-mounts it on `dir`. 0, or TEST_FS_NO_MKFS (mkfs.<type>
 * missing or failed) or TEST_FS_NO_MOUNT (no loop device, or the kernel
 * lacks the file system): exit codes the parent turns into skips. */
#    define TEST_FS_NO_MKFS 78
#    define TEST_FS_NO_MOUNT 79
int test_fs_mount(const char *type, const char *img, const char *dir);
/* A file system to test on: the paths of test_on_fs's call. */
typedef struct test_fs {
  const char *type; /* "ext4", "xfs", "btrfs" */
  const char *img;  /* its image file (the "device") */
  const char *dir;  /* where it is mounted */
  const char *work; /* a directory outside it, for the test's own files */
} test_fs;
/* Runs fn(fs, arg) in a child process, in a private mount namespace, on a
 * new file system of `type` made in an image file of `mib` MiB and
 * mounted on fs->dir (test_fs_mount); `what` names the checks. Returns when
 * fn returned 0 (use test_child_result()); skips the test (77) with the
 * reason when root, the namespace, mkfs.<type>, the loop mount or a tool
 * `needs` (a command name, or NULL) is missing; fails it otherwise. */
void test_on_fs(const char *type, unsigned mib, const char *needs, const char *what,
                int (*fn)(const test_fs *fs, void *arg), void *arg);
/* What a power cut now would leave of the file system of `type` in the
 * image `img` while it is mounted: copies the image file into the
 * directory `work` (the image holds what the file system has handed to its
 * loop device, nothing that is only in its page cache) and mounts the copy
 * on `work`/cut, which replays its journal as at the next boot (ext4: the
 * copy is checked with e2fsck first). The path of that mount point, or
 * NULL after printing why. test_fs_cut_end unmounts and removes it. */
const char *test_fs_cut(const char *type, const char *img, const char *work);
void test_fs_cut_end(const char *work);
#  endif
#endif /* !_WIN32 */

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

/* ---- Byte buffers, reader, async, watch ---------------------------------- */

/* Byte i of the pattern `seed` at absolute offset `off + i`. */
static inline uint8_t ext_pat(uint64_t pos, unsigned seed)
{
  return (uint8_t)((pos * 131u + seed * 7u + (pos >> 8)) & 0xffu);
}

static inline void ext_fill(uint8_t *p, size_t n, uint64_t off, unsigned seed)
{
  for (size_t i = 0; i < n; i++) p[i] = ext_pat(off + i, seed);
}

static inline int ext_check(const uint8_t *p, size_t n, uint64_t off, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != ext_pat(off + i, seed)) return 0;
  return 1;
}

/* A new file of `n` pattern bytes; returns its path (free() it). */
static inline char *ext_make_file(const char *tag, size_t n, unsigned seed)
{
  char *path = test_tmp_path(tag);
  uint8_t *buf = (uint8_t *)malloc(n > 0 ? n : 1);
  ASSERT(buf != NULL);
  ext_fill(buf, n, 0, seed);
  ASSERT_EQ(test_write_file(path, buf, n), 0);
  free(buf);
  return path;
}

/* The exact EBOUNDS detail of include/mmapio.h section 2. */
#define EXT_ASSERT_BOUNDS(expr, off, len, total)                                        \
  do {                                                                                  \
    char want_[160];                                                                    \
    ASSERT_STATUS((expr), MMAPIO_EBOUNDS);                                              \
    snprintf(want_, sizeof want_, "range out of bounds: offset=%llu, len=%llu, total=%llu", \
             (unsigned long long)(off), (unsigned long long)(len),                      \
             (unsigned long long)(total));                                              \
    ASSERT_STREQ(mmapio_last_error(), want_);                                           \
  } while (0)

/* ---- Backend white-box helpers ------------------------------------------ */

#define ASSERT_MSG_HAS(needle)                                                  \
  do {                                                                          \
    if (strstr(mmapio_last_error(), (needle)) == NULL)                          \
      TEST_FAIL_("last error does not contain \"%s\"", (needle));               \
  } while (0)

/* 1 when every byte of [p, p+n) is zero. */
static inline int all_zero(const uint8_t *p, uint64_t n)
{
  for (uint64_t i = 0; i < n; i++)
    if (p[i] != 0) return 0;
  return 1;
}

/* A deterministic byte pattern that differs from zero everywhere. */
static inline uint8_t os_pat(uint64_t i) { return (uint8_t)(1u + (i * 7u + (i >> 9)) % 251u); }

static inline void os_fill_pat(uint8_t *p, uint64_t n)
{
  for (uint64_t i = 0; i < n; i++) p[i] = os_pat(i);
}

static inline int os_check_pat(const uint8_t *p, uint64_t n)
{
  for (uint64_t i = 0; i < n; i++)
    if (p[i] != os_pat(i)) return 0;
  return 1;
}

#ifdef _WIN32
/* Win32 backend (tests/win): the test hooks of src/platform.h. */
#  include "win/win.h"

#  if defined(MMAPIO_TEST_HOOKS) && MMAPIO_TEST_HOOKS
#    define WIN_HOOKS 1
#  else
#    define WIN_HOOKS 0
#  endif

static inline int win_is_wine(void) { return mmapio__win_get_api()->is_wine; }

static inline HANDLE win_open(const char *p, int rw, int excl)
{
  mmapio_native_file f = NULL;
  ASSERT_OK(mmapio__os_open(&f, p, rw ? MMAPIO__OPEN_RDWR : MMAPIO__OPEN_READ,
                            excl ? MMAPIO__CREATE_EXCL : MMAPIO__CREATE_NO, 0));
  return (HANDLE)f;
}

static inline HANDLE win_open_sized(const char *p, uint64_t len)
{
  HANDLE h = win_open(p, 1, 1);
  ASSERT_OK(mmapio__os_file_set_size(h, 0, len, 0, p));
  return h;
}

static inline uint64_t win_size(HANDLE h)
{
  LARGE_INTEGER sz;
  if (!GetFileSizeEx(h, &sz)) TEST_FAIL_("GetFileSizeEx: %lu", (unsigned long)GetLastError());
  return (uint64_t)sz.QuadPart;
}

/* Read bytes of the file through a separate handle (not the mapping). */
static inline void win_file_bytes(const char *p, uint64_t off, uint8_t *out, uint64_t n)
{
  DWORD err = 0, got = 0;
  wchar_t *w = mmapio__win_widen(p, &err);
  HANDLE h;
  OVERLAPPED ov;
  ASSERT(w != NULL);
  h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  OPEN_EXISTING, 0, NULL);
  free(w);
  ASSERT(h != INVALID_HANDLE_VALUE);
  memset(&ov, 0, sizeof ov);
  ov.Offset = (DWORD)(off & 0xffffffffu);
  ov.OffsetHigh = (DWORD)(off >> 32);
  if (!ReadFile(h, out, (DWORD)n, &got, &ov)) TEST_FAIL_("ReadFile: %lu", (unsigned long)GetLastError());
  CloseHandle(h);
  ASSERT_EQ(got, n);
}

#else
/* POSIX backend (tests/posix): the syscall hooks of src/platform.h. */
#  include "internal.h"
#  include "posix/posix_sys.h"

/* 1 when the library has the syscall hooks (MMAPIO_TEST_HOOKS); otherwise
 * prints that `what` is not tested and returns 0, and the caller returns. */
static inline int have_hooks(const char *what)
{
#if MMAPIO__HOOKS
  (void)what;
  return 1;
#else
  printf("note: built without MMAPIO_TEST_HOOKS, %s not tested\n", what);
  return 0;
#endif
}

static inline uint64_t fd_size(int fd)
{
  struct stat st;
  if (fstat(fd, &st) != 0) TEST_FAIL_("fstat: %s", strerror(errno));
  return (uint64_t)st.st_size;
}

static inline uint64_t fd_blocks_bytes(int fd)
{
  struct stat st;
  if (fstat(fd, &st) != 0) TEST_FAIL_("fstat: %s", strerror(errno));
  return (uint64_t)st.st_blocks * 512u;
}

static inline uint64_t os_pg(void) { return (uint64_t)mmapio__os_page_size(); }
#endif /* _WIN32 */

#endif
