/*
 * util.c -- helpers shared by the subcommands of the mmapio tool: errors and
 * exit codes, option parsing, number parsing, the progress bar, sleeping,
 * interrupt handling and temporary paths. This is the only file of the tool
 * with OS-specific code; the subcommands themselves use the C library and
 * the public mmapio header.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L
#endif
#if !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#  define _DEFAULT_SOURCE 1 /* glibc: d_type and DT_* of struct dirent */
#endif

#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <fcntl.h>
#  include <io.h>
#  include <process.h>
#  include <windows.h>
#  include <sys/stat.h>
#else
#  include <dirent.h>
#  include <fcntl.h>
#  include <sys/stat.h>
#  include <sys/wait.h>
#  include <time.h>
#  include <unistd.h>
#  if defined(__linux__)
#    include <sys/vfs.h>
#  endif
#endif

static int cli_ident_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

void cli_clean_message(const char *in, char *out, size_t n)
{
  const char *p = in, *body = in, *path = NULL;
  size_t path_len = 0, o = 0;
  if (n == 0)
    return;
  out[0] = '\0';
  if (in == NULL)
    return;
  /* "call(path): text" and "call(ARG)(path): text" -> "path: text". */
  while (cli_ident_char(*p))
    p++;
  if (p > in && *p == '(') {
    const char *q = p;
    while (*q == '(') {
      const char *close = strchr(q, ')');
      if (close == NULL)
        break;
      path = q + 1;
      path_len = (size_t)(close - path);
      q = close + 1;
    }
    if (path != NULL && q[0] == ':' && q[1] == ' ') {
      body = q + 2;
    } else {
      path = NULL;
    }
  }
  if (path != NULL && !(path_len == 11 && strncmp(path, "<anonymous>", 11) == 0)) {
    int w = snprintf(out, n, "%.*s: ", (int)path_len, path);
    o = w < 0 ? 0 : ((size_t)w < n ? (size_t)w : n - 1);
  }
  /* Copy the rest, dropping the library's temporary-name suffixes
   * ("x.bin.mmapio-7f4a-0-7ffd.tmp" -> "x.bin"). */
  for (p = body; *p != '\0' && o + 1 < n;) {
    if (strncmp(p, ".mmapio-", 8) == 0) {
      const char *e = p + 8;
      while (*e != '\0' && (cli_ident_char(*e) || *e == '-') && e - p < 96)
        e++;
      if (strncmp(e, ".tmp", 4) == 0) {
        p = e + 4;
        continue;
      }
    }
    out[o++] = *p++;
  }
  out[o] = '\0';
  /* The path may itself carry a temporary suffix. */
  if (path != NULL) {
    char *t = strstr(out, ".mmapio-");
    if (t != NULL && t < out + path_len + 2) {
      char *e = t + 8;
      while (*e != '\0' && (cli_ident_char(*e) || *e == '-'))
        e++;
      if (strncmp(e, ".tmp", 4) == 0)
        memmove(t, e + 4, strlen(e + 4) + 1);
    }
  }
}

int cli_fail(const char *cmd, int status)
{
  char detail[600];
  cli_clean_message(mmapio_last_error(), detail, sizeof detail);
  if (detail[0] == '\0')
    snprintf(detail, sizeof detail, "%s", mmapio_strerror(status));
  fprintf(stderr, "mmapio %s: %s\n", cmd, detail);
  return CLI_FAILED;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "mmapio %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'mmapio %s --help' for more information.\n", cmd);
  return CLI_USAGE;
}

int cli_wants_help(int argc, char **argv)
{
  int i;
  for (i = 1; i < argc; i++) {
    /* "--" ends the options; a file may legitimately be called "--help". */
    if (strcmp(argv[i], "--") == 0)
      break;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return 1;
  }
  return 0;
}

int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0)
    return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
    return 1;
  }
  if (a[n] != '\0')
    return 0;
  if (*i + 1 >= argc)
    return -1;
  *i += 1;
  *value = argv[*i];
  return 1;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
  char *end = NULL;
  unsigned long long v;
  unsigned shift = 0;
  /* strtoull would skip blanks and accept a sign (negating the value):
   * neither makes sense for a size. */
  if (s == NULL || (unsigned char)*s <= ' ' || *s == '-' || *s == '+')
    return -1;
  /* Decimal unless "0x": a leading zero is not octal ("010" is ten). */
  errno = 0;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    /* strtoull would read "0x" with no digit as 0 followed by "x". */
    if (!((s[2] >= '0' && s[2] <= '9') || (s[2] >= 'a' && s[2] <= 'f') || (s[2] >= 'A' && s[2] <= 'F')))
      return -1;
    v = strtoull(s + 2, &end, 16);
  } else {
    v = strtoull(s, &end, 10);
  }
  if (errno != 0 || end == s)
    return -1;
  switch (*end) {
  case '\0': break;
  case 'k': case 'K': shift = 10; end++; break;
  case 'm': case 'M': shift = 20; end++; break;
  case 'g': case 'G': shift = 30; end++; break;
  case 't': case 'T': shift = 40; end++; break;
  default: return -1;
  }
  /* Accept "4K", "4KB" and "4KiB" alike: the suffix is always binary. */
  if (shift != 0) {
    if (end[0] == 'i' && (end[1] == 'B' || end[1] == 'b'))
      end += 2;
    else if (end[0] == 'B' || end[0] == 'b')
      end += 1;
  }
  if (*end != '\0')
    return -1;
  if (shift != 0 && v > (UINT64_MAX >> shift))
    return -1;
  *out = (uint64_t)v << shift;
  return 0;
}

int cli_parse_range(const char *s, uint64_t *off, uint64_t *len, int *has_len)
{
  const char *colon = strchr(s, ':');
  char head[64];
  size_t n;
  if (colon == NULL)
    return -1;
  n = (size_t)(colon - s);
  if (n == 0 || n >= sizeof head)
    return -1;
  memcpy(head, s, n);
  head[n] = '\0';
  if (cli_parse_u64(head, off) != 0)
    return -1;
  if (colon[1] == '\0') {
    *len = 0;
    *has_len = 0;
    return 0;
  }
  if (cli_parse_u64(colon + 1, len) != 0)
    return -1;
  *has_len = 1;
  return 0;
}

const char *cli_human_bytes(uint64_t bytes, char *buf, size_t n)
{
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)bytes;
  unsigned u = 0;
  while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, n, "%llu B", (unsigned long long)bytes);
  else
    snprintf(buf, n, "%.1f %s", v, units[u]);
  return buf;
}

int cli_isatty(int fd)
{
#ifdef _WIN32
  return _isatty(fd) ? 1 : 0;
#else
  return isatty(fd) ? 1 : 0;
#endif
}

/* Files smaller than this are handled in a blink; a bar would only flicker. */
#define CLI_PROGRESS_MIN_BYTES (UINT64_C(64) << 20)
#define CLI_PROGRESS_WIDTH 40

void cli_progress_start(cli_progress *p, const char *label, uint64_t total)
{
  p->label = label;
  p->total = total;
  p->last_percent = -1;
  p->enabled = total >= CLI_PROGRESS_MIN_BYTES && cli_isatty(2);
  cli_progress_update(p, 0);
}

void cli_progress_update(cli_progress *p, uint64_t done)
{
  int percent, filled, i;
  char bar[CLI_PROGRESS_WIDTH + 1];
  char a[32], b[32];
  if (!p->enabled || p->total == 0)
    return;
  if (done > p->total)
    done = p->total;
  percent = (int)((double)done * 100.0 / (double)p->total);
  /* Redraw only when the percentage moves, so huge files do not spend their
   * time writing to the terminal. */
  if (percent == p->last_percent)
    return;
  p->last_percent = percent;
  filled = percent * CLI_PROGRESS_WIDTH / 100;
  for (i = 0; i < CLI_PROGRESS_WIDTH; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[CLI_PROGRESS_WIDTH] = '\0';
  fprintf(stderr, "\r%-6s [%s] %3d%% %s / %s ", p->label, bar, percent,
          cli_human_bytes(done, a, sizeof a), cli_human_bytes(p->total, b, sizeof b));
  fflush(stderr);
}

void cli_progress_finish(cli_progress *p)
{
  if (!p->enabled)
    return;
  cli_progress_update(p, p->total);
  fputc('\n', stderr);
  fflush(stderr);
  p->enabled = 0;
}

void cli_sleep_ms(unsigned ms)
{
#ifdef _WIN32
  Sleep(ms);
#else
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000u);
  ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
  /* An interrupting signal ends the sleep early, which is what the callers
   * want: they check cli_interrupted() right after. */
  (void)nanosleep(&ts, NULL);
#endif
}

static volatile sig_atomic_t cli_stop_flag = 0;

static void cli_on_signal(int sig)
{
  (void)sig;
  cli_stop_flag = 1;
}

void cli_install_interrupt_handler(void)
{
#ifdef _WIN32
  signal(SIGINT, cli_on_signal);
  signal(SIGTERM, cli_on_signal);
#else
  /* sigaction without SA_RESTART, so a blocking call returns at Ctrl-C. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cli_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
#endif
}

int cli_interrupted(void)
{
  return cli_stop_flag != 0;
}

unsigned long cli_pid(void)
{
#ifdef _WIN32
  return (unsigned long)_getpid();
#else
  return (unsigned long)getpid();
#endif
}

int cli_temp_path(char *buf, size_t n, const char *dir, const char *prefix, const char *name)
{
  int w;
  size_t dl;
  const char *sep = "/";
  if (dir == NULL || dir[0] == '\0') {
    dir = getenv("TMPDIR");
#ifdef _WIN32
    if (dir == NULL || dir[0] == '\0')
      dir = getenv("TEMP");
    if (dir == NULL || dir[0] == '\0')
      dir = getenv("TMP");
    if (dir == NULL || dir[0] == '\0')
      dir = ".";
#else
    if (dir == NULL || dir[0] == '\0')
      dir = "/tmp";
#endif
  }
  dl = strlen(dir);
  if (dl > 0 && (dir[dl - 1] == '/' || dir[dl - 1] == '\\'))
    sep = "";
  w = snprintf(buf, n, "%s%s%s-%lu-%s", dir, sep, prefix, cli_pid(), name);
  return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

void cli_stdout_binary(void)
{
#ifdef _WIN32
  _setmode(_fileno(stdout), _O_BINARY);
#endif
}

/* ---- files, directories and processes ----------------------------------- */

double cli_now(void)
{
#ifdef _WIN32
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart / (double)f.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
}

#ifndef _WIN32
static uid_t cli_euid = (uid_t)-1; /* asked once: the tool never changes it */
#endif

int cli_stat_path(const char *path, int follow, cli_stat *out)
{
#ifdef _WIN32
  struct _stat64 st;
  DWORD attr = GetFileAttributesA(path);
  memset(out, 0, sizeof *out);
  /* Reparse points (symbolic links, junctions) are links unless followed. */
  if (!follow && attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_REPARSE_POINT)) {
    out->kind = CLI_KIND_LINK;
    return 0;
  }
  if (_stat64(path, &st) != 0)
    return -1;
  out->kind = (st.st_mode & _S_IFMT) == _S_IFDIR ? CLI_KIND_DIR
              : (st.st_mode & _S_IFMT) == _S_IFREG ? CLI_KIND_FILE
                                                   : CLI_KIND_OTHER;
  out->size = (uint64_t)st.st_size;
  out->dev = (uint64_t)st.st_dev;
  out->ino = (uint64_t)st.st_ino;
  out->writable = 1;
  return 0;
#else
  struct stat st;
  memset(out, 0, sizeof *out);
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0)
    return -1;
  out->kind = S_ISREG(st.st_mode) ? CLI_KIND_FILE
              : S_ISDIR(st.st_mode) ? CLI_KIND_DIR
              : S_ISLNK(st.st_mode) ? CLI_KIND_LINK
                                    : CLI_KIND_OTHER;
  out->size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
  out->dev = (uint64_t)st.st_dev;
  out->ino = (uint64_t)st.st_ino;
  /* The kernel's rule for mincore on a file mapping: owner (or privileged)
   * or write permission. Only the last case costs a system call. */
  out->writable = 1;
  if (cli_euid == (uid_t)-1)
    cli_euid = geteuid();
  if (out->kind == CLI_KIND_FILE && st.st_uid != cli_euid && cli_euid != 0)
    out->writable = faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
  return 0;
#endif
}

#ifdef _WIN32
struct cli_dir {
  HANDLE h;
  WIN32_FIND_DATAA fd;
  int first;
};

cli_dir *cli_dir_open(const char *path)
{
  char pattern[MAX_PATH + 4];
  cli_dir *d;
  int w = snprintf(pattern, sizeof pattern, "%s\\*", path);
  if (w < 0 || (size_t)w >= sizeof pattern) {
    errno = ENAMETOOLONG;
    return NULL;
  }
  d = (cli_dir *)calloc(1, sizeof *d);
  if (d == NULL)
    return NULL;
  d->h = FindFirstFileA(pattern, &d->fd);
  if (d->h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    free(d);
    errno = e == ERROR_ACCESS_DENIED ? EACCES : ENOENT;
    return NULL;
  }
  d->first = 1;
  return d;
}

const char *cli_dir_next(cli_dir *d, cli_kind *kind)
{
  for (;;) {
    if (!d->first && !FindNextFileA(d->h, &d->fd)) {
      errno = GetLastError() == ERROR_NO_MORE_FILES ? 0 : EIO;
      return NULL;
    }
    d->first = 0;
    if (strcmp(d->fd.cFileName, ".") != 0 && strcmp(d->fd.cFileName, "..") != 0) {
      *kind = CLI_KIND_OTHER; /* stat it: reparse points need a closer look */
      return d->fd.cFileName;
    }
  }
}

void cli_dir_close(cli_dir *d)
{
  if (d != NULL) {
    FindClose(d->h);
    free(d);
  }
}
#else
struct cli_dir {
  DIR *dir;
};

cli_dir *cli_dir_open(const char *path)
{
  cli_dir *d = (cli_dir *)calloc(1, sizeof *d);
  if (d == NULL)
    return NULL;
  d->dir = opendir(path);
  if (d->dir == NULL) {
    int e = errno;
    free(d);
    errno = e;
    return NULL;
  }
  return d;
}

const char *cli_dir_next(cli_dir *d, cli_kind *kind)
{
  struct dirent *e;
  /* readdir tells the end from an error only by errno. */
  errno = 0;
  while ((e = readdir(d->dir)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      *kind = CLI_KIND_OTHER;
#if defined(DT_REG) && defined(DT_DIR) && defined(DT_LNK)
      /* d_type saves a stat per entry, as find(1) does; DT_UNKNOWN (some
       * file systems) falls back to stat. */
      if (e->d_type == DT_REG)
        *kind = CLI_KIND_FILE;
      else if (e->d_type == DT_DIR)
        *kind = CLI_KIND_DIR;
      else if (e->d_type == DT_LNK)
        *kind = CLI_KIND_LINK;
#endif
      return e->d_name;
    }
    errno = 0;
  }
  return NULL;
}

void cli_dir_close(cli_dir *d)
{
  if (d != NULL) {
    closedir(d->dir);
    free(d);
  }
}
#endif

int cli_file_stat_optional(void)
{
#ifdef _WIN32
  return 0;
#else
  if (cli_euid == (uid_t)-1)
    cli_euid = geteuid();
  return cli_euid == 0;
#endif
}

int cli_residency_knowable(const char *path, const cli_stat *st)
{
  (void)path;
#if defined(__linux__)
  return st->writable;
#else
  (void)st;
  return 1;
#endif
}

int cli_on_memory_fs(const char *path)
{
#if defined(__linux__)
  struct statfs fs;
  if (statfs(path, &fs) != 0)
    return 0;
  /* TMPFS_MAGIC and RAMFS_MAGIC from <linux/magic.h>. */
  return (unsigned long)fs.f_type == 0x01021994UL || (unsigned long)fs.f_type == 0x858458f6UL;
#else
  (void)path;
  return 0;
#endif
}

#ifndef _WIN32
static int cli_daemon_fd = -1;
#endif

int cli_daemon_start(void)
{
#ifdef _WIN32
  return -1;
#else
  int p[2];
  pid_t pid;
  fflush(stdout);
  fflush(stderr);
  if (pipe(p) != 0)
    return -1;
  pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid > 0) {
    /* The parent: wait for the child's verdict, then leave with it. */
    unsigned char status = CLI_FAILED;
    ssize_t n;
    close(p[1]);
    do {
      n = read(p[0], &status, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
      /* The child died before it was ready. */
      int ws = 0;
      waitpid(pid, &ws, 0);
      status = CLI_FAILED;
    }
    _exit(status);
  }
  close(p[0]);
  cli_daemon_fd = p[1];
  setsid();
  return 0;
#endif
}

void cli_daemon_ready(int status)
{
#ifndef _WIN32
  unsigned char b = (unsigned char)status;
  int fd;
  if (cli_daemon_fd < 0)
    return;
  fflush(stdout);
  fflush(stderr);
  /* Detach from the terminal before the parent returns the prompt. */
  fd = open("/dev/null", O_RDWR);
  if (fd >= 0) {
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
      close(fd);
  }
  if (write(cli_daemon_fd, &b, 1) != 1) {
    /* The parent is gone; nothing to tell. */
  }
  close(cli_daemon_fd);
  cli_daemon_fd = -1;
#else
  (void)status;
#endif
}

int cli_write_pid_file(const char *path)
{
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fprintf(f, "%lu\n", cli_pid());
  return fclose(f) == 0 ? 0 : -1;
}

void cli_remove_file(const char *path)
{
  (void)remove(path);
}

/* Matches one [set] at *pp against c; advances *pp past the set. */
static int cli_match_set(const char **pp, char c)
{
  const char *p = *pp + 1;
  int neg = 0, hit = 0;
  if (*p == '!' || *p == '^') {
    neg = 1;
    p++;
  }
  /* A ']' right after the opening bracket is a member. */
  if (*p == ']') {
    hit = c == ']';
    p++;
  }
  while (*p != '\0' && *p != ']') {
    if (p[1] == '-' && p[2] != '\0' && p[2] != ']') {
      if ((unsigned char)c >= (unsigned char)p[0] && (unsigned char)c <= (unsigned char)p[2])
        hit = 1;
      p += 3;
    } else {
      if (*p == c)
        hit = 1;
      p++;
    }
  }
  if (*p != ']')
    return -1; /* unterminated: the caller treats '[' literally */
  *pp = p + 1;
  return hit != neg;
}

int cli_name_match(const char *p, const char *n)
{
  const char *star_p = NULL, *star_n = NULL;
  while (*n != '\0') {
    if (*p == '*') {
      star_p = ++p;
      star_n = n;
      continue;
    }
    if (*p == '[') {
      const char *q = p;
      int r = cli_match_set(&q, *n);
      if (r == 1) {
        p = q;
        n++;
        continue;
      }
      if (r < 0 && *n == '[') {
        p++;
        n++;
        continue;
      }
    } else if (*p != '\0' && (*p == '?' || *p == *n)) {
      p++;
      n++;
      continue;
    }
    if (star_p == NULL)
      return 0;
    p = star_p;
    n = ++star_n;
  }
  while (*p == '*')
    p++;
  return *p == '\0';
}

void cli_test_hook_after_open(void)
{
#ifdef MMAPIO_CLI_TEST_HOOKS
  const char *cmd = getenv("MMAPIO_CLI_TEST_AFTER_OPEN");
  if (cmd != NULL && cmd[0] != '\0' && system(cmd) != 0)
    fprintf(stderr, "mmapio: test hook '%s' failed\n", cmd);
#endif
}
