/*
 * posix_sys.h -- the POSIX backend's route to the operating system.
 *
 * Every OS call of the backend that can fail and matters goes through one of
 * the mmapio__sys_<call>() functions below (modelled on SQLite's aSyscall[]
 * table). In a build without MMAPIO_TEST_HOOKS they are inline functions that
 * call the OS directly, so the indirection costs nothing. With
 * MMAPIO_TEST_HOOKS each call first asks mmapio__hook_call() (src/hooks.c,
 * shared with the Windows backend) whether to record it and whether to fail it (fault injection, see the "Test hooks" section of
 * platform.h), then calls the OS through the function pointer table
 * `mmapio__sys`, which a test may also repoint.
 *
 * Recorded names and arguments (a, b, flags of mmapio__sys_call):
 *   "open"            0, 0, open flags
 *   "fstat"           0, 0, 0
 *   "fcntl"           0, 0, command (F_GETFL / F_SETFL)
 *   "dup"             0, 0, 0             (fcntl F_DUPFD_CLOEXEC)
 *   "close"           0, 0, 0
 *   "ftruncate"       length, 0, 0
 *   "fallocate"       offset, length, mode (also posix_fallocate and macOS
 *                     F_PREALLOCATE: every "reserve disk blocks" call has
 *                     this one name so fault tests work on every platform)
 *   "mmap"            length, offset, MAP_* flags
 *   "munmap"          address, length, 0
 *   "mremap"          old length, new length, MREMAP_* flags
 *   "msync"           address, length, MS_* flags
 *   "madvise"         address, length, advice
 *   "fsync"           0, 0, 0
 *   "fdatasync"       0, 0, 0
 *   "fcntl_fullfsync" 0, 0, 0
 *   "sync_file_range" offset, length, SYNC_FILE_RANGE_* flags
 *   "copy_file_range" 0, length, 0
 *   "read" / "write"  0, length, 0
 *   "unlink"          0, 0, 0
 *   "link"            0, 0, 0
 *   "renameat2"       0, 0, flags (RENAME_NOREPLACE)
 *   "rename"          0, 0, 0
 *   "linkat"          0, 0, flags (AT_SYMLINK_FOLLOW / AT_EMPTY_PATH): naming an
 *                     O_TMPFILE file
 *   "lseek"           offset, 0, whence (the file system's size limit probe)
 *   "fsync_dir"       0, 0, 0             (fsync of a directory)
 *   "flistxattr"      0, buffer size, 0   (Linux: the extended attributes of
 *                     a destination mmapio_copy_file replaces)
 *   "fgetxattr"       0, buffer size, 0
 *   "fsetxattr"       0, value length, flags
 * An injected failure makes the call return its failure value (-1,
 * MAP_FAILED, or the error itself for posix_fallocate) with errno set,
 * without calling the OS.
 *
 * Linux-only calls (fallocate, mremap, sync_file_range, copy_file_range, the
 * three xattr calls) are
 * compiled only when MMAPIO__LINUX is 1: on Linux without
 * MMAPIO_PORTABLE_POSIX. The portable build uses the paths macOS and the BSDs
 * take, so they are exercised on Linux too.
 */
#ifndef MMAPIO_POSIX_SYS_H
#define MMAPIO_POSIX_SYS_H

#include "hooks.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h> /* rename */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)
#  define MMAPIO__LINUX 1
#else
#  define MMAPIO__LINUX 0
#endif
#if MMAPIO__LINUX
#  include <sys/syscall.h>
#  include <sys/xattr.h>
#endif

/* The type of ioctl's request: unsigned long in glibc, macOS and the BSDs,
 * int in musl and Bionic (as POSIX declares it). Requests are passed cast
 * to it, so that one whose top bit is set (_IOR/_IOWR numbers) converts
 * without a warning either way; the kernel reads 32 bits of it. */
#if defined(__linux__) && !defined(__GLIBC__)
typedef int mmapio__ioctl_req;
#else
typedef unsigned long mmapio__ioctl_req;
#endif

#if defined(__APPLE__)
#  define MMAPIO__APPLE 1
#else
#  define MMAPIO__APPLE 0
#endif

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#  define MAP_ANONYMOUS MAP_ANON
#endif

#if MMAPIO__APPLE
/* fstore_t for F_PREALLOCATE; the wrapper takes a pointer to it. */
typedef fstore_t mmapio__fstore;
#else
/* Never used outside macOS; a placeholder keeps the table layout the same. */
typedef struct mmapio__fstore { int unused_; } mmapio__fstore;
#endif

/* Page rounding helpers shared by the backend files. `pg` is a power of two. */
static inline uint64_t mmapio__round_up(uint64_t v, uint64_t pg)
{
  return (v + pg - 1u) & ~(pg - 1u);
}

/* ---- The table ----------------------------------------------------------- */
/* Members are prefixed x_ so that a libc which defines one of these names as
 * a macro cannot rewrite the member name. */
typedef struct mmapio__sys_table {
  int (*x_open)(const char *path, int flags, mode_t mode);
  int (*x_fstat)(int fd, struct stat *st);
  int (*x_fcntl)(int fd, int cmd, int arg);
  int (*x_dup)(int fd);
  int (*x_close)(int fd);
  int (*x_ftruncate)(int fd, off_t len);
  int (*x_fallocate)(int fd, int mode, off_t off, off_t len);   /* Linux only */
  int (*x_posix_fallocate)(int fd, off_t off, off_t len);       /* returns the error */
  int (*x_preallocate)(int fd, mmapio__fstore *fst);            /* macOS only */
  void *(*x_mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t off);
  int (*x_munmap)(void *addr, size_t len);
  void *(*x_mremap)(void *addr, size_t old_len, size_t new_len, int flags); /* Linux only */
  int (*x_msync)(void *addr, size_t len, int flags);
  int (*x_madvise)(void *addr, size_t len, int advice);
  int (*x_fsync)(int fd);
  int (*x_fdatasync)(int fd);
  int (*x_fullfsync)(int fd);                                   /* macOS only */
  int (*x_sync_file_range)(int fd, off_t off, off_t len, unsigned flags); /* Linux only */
  ssize_t (*x_copy_file_range)(int in, int out, size_t len);    /* Linux only */
  ssize_t (*x_read)(int fd, void *buf, size_t n);
  ssize_t (*x_write)(int fd, const void *buf, size_t n);
  int (*x_unlink)(const char *path);
  int (*x_link)(const char *from, const char *to);
  int (*x_rename_noreplace)(const char *from, const char *to);
  int (*x_rename)(const char *from, const char *to);
  int (*x_linkat)(int fromfd, const char *from, int tofd, const char *to, int flags);
  off_t (*x_lseek)(int fd, off_t off, int whence);
  ssize_t (*x_flistxattr)(int fd, char *list, size_t size);                 /* Linux only */
  ssize_t (*x_fgetxattr)(int fd, const char *name, void *value, size_t size); /* Linux only */
  int (*x_fsetxattr)(int fd, const char *name, const void *value, size_t size,
                     int flags);                                            /* Linux only */
} mmapio__sys_table;

#if MMAPIO__HOOKS
extern mmapio__sys_table mmapio__sys;
/* Count (and maybe record) a call through the engine of src/hooks.c; an
 * injected failure sets errno (EIO when the test gave none) and returns
 * `failret` without calling the OS. */
#  define MMAPIO__SYS_PRE(name, a, b, fl, failret)                                    \
    do {                                                                              \
      int e_ = 0;                                                                     \
      if (mmapio__hook_call((name), (uint64_t)(a), (uint64_t)(b), (fl), &e_)) {       \
        errno = e_ != 0 ? e_ : EIO;                                                   \
        return failret;                                                               \
      }                                                                               \
    } while (0)
#  define MMAPIO__SYS_CALL(fn) (mmapio__sys.x_##fn)
#else
#  define MMAPIO__SYS_PRE(name, a, b, fl, failret) ((void)0)
#  define MMAPIO__SYS_CALL(fn) mmapio__sys_real_##fn
#endif

/* EINTR: every wrapper below except close retries a call interrupted by a
 * signal (a handler installed without SA_RESTART, or a file system such as
 * FUSE or NFS that lets signals interrupt its operations), so no backend
 * call ever fails with "Interrupted system call". An injected EINTR is
 * retried too (tests use that). close is never retried: on Linux and the
 * BSDs the descriptor is gone even when close reports EINTR.
 *
 * MMAPIO__SYS_RETRY(type, failret, name, a, b, fl, call) is the body of a
 * wrapper: it runs the hook and `call` until the result is not `failret`
 * with errno EINTR, and returns the result. */
#if MMAPIO__HOOKS
/* The injected error of this call (EIO when the test gave none), or 0. */
static inline int mmapio__sys_hook_err(const char *name, uint64_t a, uint64_t b, int fl)
{
  int e = 0;
  if (mmapio__hook_call(name, a, b, fl, &e)) return e != 0 ? e : EIO;
  return 0;
}
#  define MMAPIO__SYS_HOOK_(name, a, b, fl) \
    mmapio__sys_hook_err((name), (uint64_t)(a), (uint64_t)(b), (fl))
#else
#  define MMAPIO__SYS_HOOK_(name, a, b, fl) 0
#endif
#define MMAPIO__SYS_RETRY(type, failret, name, a, b, fl, call) \
  do {                                                         \
    for (;;) {                                                 \
      type r_;                                                 \
      int e_ = MMAPIO__SYS_HOOK_(name, a, b, fl);              \
      if (e_ != 0) {                                           \
        errno = e_;                                            \
        r_ = (failret);                                        \
      } else {                                                 \
        r_ = (call);                                           \
      }                                                        \
      if (!(r_ == (failret) && errno == EINTR)) return r_;     \
    }                                                          \
  } while (0)
/* Retry helper for code that calls the OS directly (not through the table):
 * evaluates `expr` (an int or ssize_t call returning -1 on failure) until it
 * does not fail with EINTR; `var` receives the result. */
#define MMAPIO__EINTR_LOOP(var, expr) \
  do {                                \
    (var) = (expr);                   \
  } while ((var) == -1 && errno == EINTR)

/* The real calls. The table of a hooked build points at these; a build
 * without hooks calls them directly, and the compiler sees straight through. */
static inline int mmapio__sys_real_open(const char *path, int flags, mode_t mode)
{
  return open(path, flags, mode);
}
static inline int mmapio__sys_real_fstat(int fd, struct stat *st) { return fstat(fd, st); }
static inline int mmapio__sys_real_fcntl(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
static inline int mmapio__sys_real_dup(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }
static inline int mmapio__sys_real_close(int fd) { return close(fd); }
static inline int mmapio__sys_real_ftruncate(int fd, off_t len) { return ftruncate(fd, len); }
static inline int mmapio__sys_real_fallocate(int fd, int mode, off_t off, off_t len)
{
#if MMAPIO__LINUX
  return fallocate(fd, mode, off, len);
#else
  (void)fd; (void)mode; (void)off; (void)len;
  errno = EOPNOTSUPP;
  return -1;
#endif
}
static inline int mmapio__sys_real_posix_fallocate(int fd, off_t off, off_t len)
{
#if MMAPIO__APPLE
  /* macOS has no posix_fallocate; the backend uses F_PREALLOCATE there. */
  (void)fd; (void)off; (void)len;
  return EOPNOTSUPP;
#else
  return posix_fallocate(fd, off, len);
#endif
}
static inline int mmapio__sys_real_preallocate(int fd, mmapio__fstore *fst)
{
#if MMAPIO__APPLE
  return fcntl(fd, F_PREALLOCATE, fst);
#else
  (void)fd; (void)fst;
  errno = EOPNOTSUPP;
  return -1;
#endif
}
static inline void *mmapio__sys_real_mmap(void *addr, size_t len, int prot, int flags, int fd,
                                          off_t off)
{
  return mmap(addr, len, prot, flags, fd, off);
}
static inline int mmapio__sys_real_munmap(void *addr, size_t len) { return munmap(addr, len); }
static inline void *mmapio__sys_real_mremap(void *addr, size_t old_len, size_t new_len, int flags)
{
#if MMAPIO__LINUX
  return mremap(addr, old_len, new_len, flags);
#else
  (void)addr; (void)old_len; (void)new_len; (void)flags;
  errno = EOPNOTSUPP;
  return MAP_FAILED;
#endif
}
static inline int mmapio__sys_real_msync(void *addr, size_t len, int flags)
{
  return msync(addr, len, flags);
}
static inline int mmapio__sys_real_madvise(void *addr, size_t len, int advice)
{
  return madvise(addr, len, advice);
}
static inline int mmapio__sys_real_fsync(int fd) { return fsync(fd); }
static inline int mmapio__sys_real_fdatasync(int fd)
{
#if MMAPIO__APPLE
  /* fdatasync is not declared on every macOS SDK; fsync is the safe choice. */
  return fsync(fd);
#else
  return fdatasync(fd);
#endif
}
static inline int mmapio__sys_real_fullfsync(int fd)
{
#if MMAPIO__APPLE
  return fcntl(fd, F_FULLFSYNC);
#else
  (void)fd;
  errno = EOPNOTSUPP;
  return -1;
#endif
}
static inline int mmapio__sys_real_sync_file_range(int fd, off_t off, off_t len, unsigned flags)
{
#if MMAPIO__LINUX
  return sync_file_range(fd, off, len, flags);
#else
  (void)fd; (void)off; (void)len; (void)flags;
  errno = EOPNOTSUPP;
  return -1;
#endif
}
static inline ssize_t mmapio__sys_real_copy_file_range(int in, int out, size_t len)
{
#if MMAPIO__LINUX
  return copy_file_range(in, NULL, out, NULL, len, 0);
#else
  (void)in; (void)out; (void)len;
  errno = EOPNOTSUPP;
  return -1;
#endif
}
static inline ssize_t mmapio__sys_real_read(int fd, void *buf, size_t n) { return read(fd, buf, n); }
static inline ssize_t mmapio__sys_real_write(int fd, const void *buf, size_t n)
{
  return write(fd, buf, n);
}
static inline int mmapio__sys_real_unlink(const char *path) { return unlink(path); }
static inline int mmapio__sys_real_link(const char *from, const char *to) { return link(from, to); }
/* rename that fails with EEXIST instead of replacing; EINVAL/ENOSYS where
 * the kernel or file system cannot (callers then use link + unlink). */
static inline int mmapio__sys_real_rename_noreplace(const char *from, const char *to)
{
#if MMAPIO__LINUX && defined(SYS_renameat2)
  return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
#else
  (void)from; (void)to;
  errno = ENOSYS;
  return -1;
#endif
}

static inline int mmapio__sys_real_rename(const char *from, const char *to)
{
  return rename(from, to);
}
static inline int mmapio__sys_real_linkat(int fromfd, const char *from, int tofd, const char *to,
                                          int flags)
{
  return linkat(fromfd, from, tofd, to, flags);
}
static inline off_t mmapio__sys_real_lseek(int fd, off_t off, int whence)
{
  return lseek(fd, off, whence);
}

/* Extended attributes (Linux; ENOTSUP elsewhere, and the backend calls them
 * only on Linux). */
static inline ssize_t mmapio__sys_real_flistxattr(int fd, char *list, size_t size)
{
#if MMAPIO__LINUX
  return flistxattr(fd, list, size);
#else
  (void)fd; (void)list; (void)size;
  errno = ENOTSUP;
  return -1;
#endif
}
static inline ssize_t mmapio__sys_real_fgetxattr(int fd, const char *name, void *value,
                                                 size_t size)
{
#if MMAPIO__LINUX
  return fgetxattr(fd, name, value, size);
#else
  (void)fd; (void)name; (void)value; (void)size;
  errno = ENOTSUP;
  return -1;
#endif
}
static inline int mmapio__sys_real_fsetxattr(int fd, const char *name, const void *value,
                                             size_t size, int flags)
{
#if MMAPIO__LINUX
  return fsetxattr(fd, name, value, size, flags);
#else
  (void)fd; (void)name; (void)value; (void)size; (void)flags;
  errno = ENOTSUP;
  return -1;
#endif
}

/* ---- Wrappers used by the backend ---------------------------------------- */
static inline int mmapio__sys_open(const char *path, int flags, mode_t mode)
{
  MMAPIO__SYS_RETRY(int, -1, "open", 0, 0, flags,
                    MMAPIO__SYS_CALL(open)(path, flags, mode));
}
static inline int mmapio__sys_fstat(int fd, struct stat *st)
{
  MMAPIO__SYS_RETRY(int, -1, "fstat", 0, 0, 0,
                    MMAPIO__SYS_CALL(fstat)(fd, st));
}
static inline int mmapio__sys_fcntl(int fd, int cmd, int arg)
{
  MMAPIO__SYS_RETRY(int, -1, "fcntl", 0, 0, cmd,
                    MMAPIO__SYS_CALL(fcntl)(fd, cmd, arg));
}
static inline int mmapio__sys_dup(int fd)
{
  MMAPIO__SYS_PRE("dup", 0, 0, 0, -1);
  return MMAPIO__SYS_CALL(dup)(fd);
}
static inline int mmapio__sys_close(int fd)
{
  MMAPIO__SYS_PRE("close", 0, 0, 0, -1);
  return MMAPIO__SYS_CALL(close)(fd);
}
static inline int mmapio__sys_ftruncate(int fd, off_t len)
{
  MMAPIO__SYS_RETRY(int, -1, "ftruncate", len, 0, 0,
                    MMAPIO__SYS_CALL(ftruncate)(fd, len));
}
#if MMAPIO__LINUX
static inline int mmapio__sys_fallocate(int fd, int mode, off_t off, off_t len)
{
  MMAPIO__SYS_RETRY(int, -1, "fallocate", off, len, mode,
                    MMAPIO__SYS_CALL(fallocate)(fd, mode, off, len));
}
#endif
/* Returns 0 or the error number (like posix_fallocate itself). */
static inline int mmapio__sys_posix_fallocate(int fd, off_t off, off_t len)
{
  /* posix_fallocate returns the error instead of setting errno. */
  for (;;) {
    int e_ = MMAPIO__SYS_HOOK_("fallocate", off, len, 0);
    int r_ = e_ != 0 ? e_ : MMAPIO__SYS_CALL(posix_fallocate)(fd, off, len);
    if (r_ != EINTR) return r_;
  }
}
#if MMAPIO__APPLE
static inline int mmapio__sys_preallocate(int fd, mmapio__fstore *fst)
{
  MMAPIO__SYS_RETRY(int, -1, "fallocate", fst->fst_offset, fst->fst_length, (int)fst->fst_flags,
                    MMAPIO__SYS_CALL(preallocate)(fd, fst));
}
static inline int mmapio__sys_fullfsync(int fd)
{
  MMAPIO__SYS_RETRY(int, -1, "fcntl_fullfsync", 0, 0, 0,
                    MMAPIO__SYS_CALL(fullfsync)(fd));
}
#endif
static inline void *mmapio__sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
                                     off_t off)
{
  MMAPIO__SYS_PRE("mmap", len, off, flags, MAP_FAILED);
  return MMAPIO__SYS_CALL(mmap)(addr, len, prot, flags, fd, off);
}
static inline int mmapio__sys_munmap(void *addr, size_t len)
{
  MMAPIO__SYS_PRE("munmap", (uintptr_t)addr, len, 0, -1);
  return MMAPIO__SYS_CALL(munmap)(addr, len);
}
#if MMAPIO__LINUX
static inline void *mmapio__sys_mremap(void *addr, size_t old_len, size_t new_len, int flags)
{
  MMAPIO__SYS_PRE("mremap", old_len, new_len, flags, MAP_FAILED);
  return MMAPIO__SYS_CALL(mremap)(addr, old_len, new_len, flags);
}
#endif
static inline int mmapio__sys_msync(void *addr, size_t len, int flags)
{
  MMAPIO__SYS_RETRY(int, -1, "msync", (uintptr_t)addr, len, flags,
                    MMAPIO__SYS_CALL(msync)(addr, len, flags));
}
static inline int mmapio__sys_madvise(void *addr, size_t len, int advice)
{
  MMAPIO__SYS_PRE("madvise", (uintptr_t)addr, len, advice, -1);
  return MMAPIO__SYS_CALL(madvise)(addr, len, advice);
}
static inline int mmapio__sys_fsync(int fd)
{
  MMAPIO__SYS_RETRY(int, -1, "fsync", 0, 0, 0,
                    MMAPIO__SYS_CALL(fsync)(fd));
}
static inline int mmapio__sys_fdatasync(int fd)
{
  MMAPIO__SYS_RETRY(int, -1, "fdatasync", 0, 0, 0,
                    MMAPIO__SYS_CALL(fdatasync)(fd));
}
#if MMAPIO__LINUX
static inline int mmapio__sys_sync_file_range(int fd, off_t off, off_t len, unsigned flags)
{
  MMAPIO__SYS_RETRY(int, -1, "sync_file_range", off, len, (int)flags,
                    MMAPIO__SYS_CALL(sync_file_range)(fd, off, len, flags));
}
static inline ssize_t mmapio__sys_copy_file_range(int in, int out, size_t len)
{
  MMAPIO__SYS_RETRY(ssize_t, -1, "copy_file_range", 0, len, 0,
                    MMAPIO__SYS_CALL(copy_file_range)(in, out, len));
}
#endif
static inline ssize_t mmapio__sys_read(int fd, void *buf, size_t n)
{
  MMAPIO__SYS_RETRY(ssize_t, -1, "read", 0, n, 0,
                    MMAPIO__SYS_CALL(read)(fd, buf, n));
}
static inline ssize_t mmapio__sys_write(int fd, const void *buf, size_t n)
{
  MMAPIO__SYS_RETRY(ssize_t, -1, "write", 0, n, 0,
                    MMAPIO__SYS_CALL(write)(fd, buf, n));
}
static inline int mmapio__sys_unlink(const char *path)
{
  MMAPIO__SYS_RETRY(int, -1, "unlink", 0, 0, 0,
                    MMAPIO__SYS_CALL(unlink)(path));
}
static inline int mmapio__sys_rename_noreplace(const char *from, const char *to)
{
  MMAPIO__SYS_RETRY(int, -1, "renameat2", 0, 0, 1,
                    MMAPIO__SYS_CALL(rename_noreplace)(from, to));
}
static inline int mmapio__sys_link(const char *from, const char *to)
{
  MMAPIO__SYS_RETRY(int, -1, "link", 0, 0, 0,
                    MMAPIO__SYS_CALL(link)(from, to));
}
static inline int mmapio__sys_rename(const char *from, const char *to)
{
  MMAPIO__SYS_PRE("rename", 0, 0, 0, -1);
  return MMAPIO__SYS_CALL(rename)(from, to);
}
static inline int mmapio__sys_linkat(int fromfd, const char *from, int tofd, const char *to,
                                     int flags)
{
  MMAPIO__SYS_PRE("linkat", 0, 0, flags, -1);
  return MMAPIO__SYS_CALL(linkat)(fromfd, from, tofd, to, flags);
}
static inline off_t mmapio__sys_lseek(int fd, off_t off, int whence)
{
  MMAPIO__SYS_PRE("lseek", off, 0, whence, (off_t)-1);
  return MMAPIO__SYS_CALL(lseek)(fd, off, whence);
}
#if MMAPIO__LINUX
static inline ssize_t mmapio__sys_flistxattr(int fd, char *list, size_t size)
{
  MMAPIO__SYS_RETRY(ssize_t, -1, "flistxattr", 0, size, 0,
                    MMAPIO__SYS_CALL(flistxattr)(fd, list, size));
}
static inline ssize_t mmapio__sys_fgetxattr(int fd, const char *name, void *value, size_t size)
{
  MMAPIO__SYS_RETRY(ssize_t, -1, "fgetxattr", 0, size, 0,
                    MMAPIO__SYS_CALL(fgetxattr)(fd, name, value, size));
}
static inline int mmapio__sys_fsetxattr(int fd, const char *name, const void *value, size_t size,
                                        int flags)
{
  MMAPIO__SYS_RETRY(int, -1, "fsetxattr", 0, size, flags,
                    MMAPIO__SYS_CALL(fsetxattr)(fd, name, value, size, flags));
}
#endif
static inline int mmapio__sys_fsync_dir(int fd)
{
  MMAPIO__SYS_PRE("fsync_dir", 0, 0, 0, -1);
  return MMAPIO__SYS_CALL(fsync)(fd);
}

/* ---- Shared backend helpers (posix_file.c) -------------------------------- */
/* close() that keeps errno: used on error paths after the failure has been
 * captured. */
void mmapio__posix_close_quiet(int fd);
/* A named temporary file in the directory of `path`, created exclusively
 * with `perms` (posix_publish.c); nf->tmp is its malloc'ed name.
 * mmapio__os_newfile_discard removes it. */
int mmapio__posix_temp_beside(mmapio__os_newfile *nf, const char *path, int perms);
/* Record the failure `e` of mmap of `path` (posix_map.c). */
int mmapio__posix_map_failed(int e, const char *path);

/* ---- fork() (posix_sync.c, posix_fork.c) ----------------------------------- */
/* The address-wait table's part of fork handling (MMAPIO__FORK_* phases). */
void mmapio__posix_waits_fork(int phase);
/* The syscall hooks' part (posix_sys.c). */

#endif /* MMAPIO_POSIX_SYS_H */
