/*
 * posix_file.c -- files for the POSIX backend: open, duplicate, size, disk
 * block reservation, unlink and whole-file copy.
 *
 * Disk blocks: growth reserves blocks so that a full disk is ENOSPC when the
 * file grows rather than SIGBUS when a page of the mapping is first written.
 *   Linux:    fallocate(fd, 0, old, new - old) (extends the length too); a
 *             file system without fallocate falls back to ftruncate (sparse)
 *             rather than glibc's slow byte-per-block emulation.
 *   macOS:    fcntl(F_PREALLOCATE) beyond the physical end, then ftruncate.
 *   portable: posix_fallocate (which reports the error as its result).
 * Any failure after the length may have changed puts the old length back.
 */
#include "os_fast.h"
#include "posix_sys.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#if defined(__linux__)
#  include <linux/falloc.h> /* FALLOC_FL_ZERO_RANGE: glibc's fcntl.h has it, musl's does not */
#  include <linux/fs.h>     /* BLKGETSIZE64 */
#endif

void mmapio__posix_close_quiet(int fd)
{
  int saved = errno;
  if (fd >= 0) (void)mmapio__sys_close(fd);
  errno = saved;
}

/* Largest length an off_t can hold (off_t is 64-bit with
 * _FILE_OFFSET_BITS=64 and on every 64-bit system). */
#define MMAPIO__OFF_MAX ((uint64_t)INT64_MAX)

/* Reject anything that is not a regular file, with a message naming the
 * call and the path: directories as "Is a directory" (EISDIR), the rest
 * (FIFOs, devices, sockets) as "not a regular file". */
static int check_regular(const struct stat *st, const char *call, const char *path)
{
  if (S_ISREG(st->st_mode) || S_ISBLK(st->st_mode)) return MMAPIO_OK; /* devices: windows */
  if (S_ISDIR(st->st_mode)) return mmapio__fail_os_status(MMAPIO_EINVAL, EISDIR, call, path);
  return mmapio__fail(MMAPIO_EINVAL, "%s(%s): not a regular file", call, mmapio__path_or(path));
}

static int block_size(uint64_t *out, int fd, const char *path);

/* The open(2) flags of mmapio__os_open_stat. O_NOCTTY keeps a terminal
 * from becoming our controlling one. An existing path is opened with
 * O_NONBLOCK so that a FIFO (or a device that waits for a carrier) never
 * blocks the open; the flag is left set: it has no effect on the regular
 * files accepted, and clearing it would cost two more calls. A new file
 * (O_EXCL) is regular anyway. */
static inline int open_flags(int access, int create)
{
  int flags = (access == MMAPIO__OPEN_RDWR ? O_RDWR : O_RDONLY) | MMAPIO__OPEN_BASE_FLAGS;
  if (create == MMAPIO__CREATE_EXCL) flags |= O_CREAT | O_EXCL;
  else flags |= O_NONBLOCK;
  return flags;
}

/* The open failed (fd < 0, errno set): a regular file under a lease (fcntl
 * F_SETLEASE) refuses a non-blocking open instead of waiting for the lease
 * to be broken; a FIFO never answers this, so a blocking open is safe
 * then. Returns the descriptor, or the recorded failure (negative) with
 * *fd_out < 0. */
static int open_again_or_fail(int *fd_out, const char *path, int flags, mode_t perms)
{
  int fd = -1;
  if ((errno == EAGAIN || errno == EWOULDBLOCK) && (flags & O_NONBLOCK))
    fd = mmapio__sys_open(path, flags & ~O_NONBLOCK, perms);
  *fd_out = fd;
  if (fd >= 0) return MMAPIO_OK;
  int e = errno;
  if (e == EISDIR) return mmapio__fail_os_status(MMAPIO_EINVAL, e, "open", path);
  if (e == ENAMETOOLONG)
    return mmapio__fail(MMAPIO_EINVAL, "open(%s): file name too long (longer than the system "
                                       "allows for a name or a path)", path);
  return mmapio__fail_os(e, "open", path);
}

/* After the fstat of a descriptor open_stat opened: regular file (or block
 * device) check and the length. On failure `fd` is closed and *out left
 * MMAPIO_INVALID_FILE; `st_ok`: the fstat succeeded (else errno is its
 * error). */
static inline int open_stat_finish(mmapio_native_file *out, uint64_t *len, int fd, int st_ok,
                            const struct stat *st, const char *path, int create)
{
  int rc;
  mode_t mode = S_IFREG; /* what O_CREAT|O_EXCL made (when st is not filled in) */
  if (!st_ok) rc = mmapio__fail_os(errno, "fstat", path);
  else rc = check_regular(st, "open", path);
  if (st_ok) mode = st->st_mode;
  if (rc == MMAPIO_OK) {
    if (len != NULL && S_ISBLK(st->st_mode)) {
      rc = block_size(len, fd, path);
      if (rc != MMAPIO_OK) {
        mmapio__posix_close_quiet(fd);
        return rc;
      }
    } else if (len != NULL) {
      *len = st->st_size > 0 ? (uint64_t)st->st_size : 0u;
    }
    *out = fd;
    return MMAPIO_OK;
  }
  mmapio__posix_close_quiet(fd);
  /* A file this call created must not be left behind (O_EXCL guarantees
   * that the name refers to the file we created). */
  if (create == MMAPIO__CREATE_EXCL && S_ISREG(mode)) (void)mmapio__sys_unlink(path);
  return rc;
}

int mmapio__os_open_stat(mmapio_native_file *out, uint64_t *len, const char *path, int access,
                         int create, int private_perms)
{
  *out = MMAPIO_INVALID_FILE;
  int flags = open_flags(access, create);
  mode_t perms = private_perms ? (mode_t)0600 : (mode_t)0666; /* the umask applies */
  int fd = mmapio__sys_open(path, flags, perms);
  if (fd < 0) {
    int rc = open_again_or_fail(&fd, path, flags, perms);
    if (fd < 0) return rc;
  }
  struct stat st;
  int st_ok = mmapio__sys_fstat(fd, &st) == 0;
  return open_stat_finish(out, len, fd, st_ok, &st, path, create);
}

/* mmapio__os_open_map_ro's cold paths (os_fast.h: out of line, so that
 * the plain case inlined into the core needs few registers). */

/* The open failed: its retry when it was interrupted (os_fast.h makes one
 * attempt), then what mmapio__os_open_stat does from there (the blocking
 * retry of a leased file, then its checks); MMAPIO__OS_NOT_MAPPED when a
 * retry opened the file. */
static int open_ro_unopened(mmapio_native_file *out, uint64_t *len, const char *path,
                            int flags)
{
  *out = MMAPIO_INVALID_FILE;
  int fd = -1;
  int rc;
  if (errno == EINTR) fd = mmapio__sys_open(path, flags, (mode_t)0666);
  if (fd < 0) {
    rc = open_again_or_fail(&fd, path, flags, (mode_t)0666);
    if (fd < 0) return rc;
  }
  struct stat st;
  int st_ok = mmapio__sys_fstat(fd, &st) == 0;
  rc = open_stat_finish(out, len, fd, st_ok, &st, path, MMAPIO__CREATE_NO);
  return rc == MMAPIO_OK ? MMAPIO__OS_NOT_MAPPED : rc;
}

/* Anything but a plain regular file of 1 to MMAPIO_MAX_SIZE bytes was
 * found (or the fstat failed, errno; an interrupted one is retried here):
 * what mmapio__os_open_stat does, then MMAPIO__OS_NOT_MAPPED (the core maps
 * a regular file found by that retry the general way). */
static int open_ro_other(mmapio_native_file *out, uint64_t *len, int fd, int st_ok,
                         struct stat *st, const char *path)
{
  *out = MMAPIO_INVALID_FILE;
  if (!st_ok && errno == EINTR) st_ok = mmapio__sys_fstat(fd, st) == 0;
  int rc = open_stat_finish(out, len, fd, st_ok, st, path, MMAPIO__CREATE_NO);
  return rc == MMAPIO_OK ? MMAPIO__OS_NOT_MAPPED : rc;
}

/* The mapping failed (errno): record it, and look at the length again, as
 * the core does after a failed mapping of a shared file (map.c): if another
 * process resized it in between, the caller maps the new length the
 * general way. */
static int open_ro_failed(uint64_t *len, int fd, const char *path)
{
  int rc = mmapio__posix_map_failed(errno, path);
  mmapio__saved_error e;
  mmapio__error_save(&e);
  uint64_t now = *len;
  int rc2 = mmapio__os_file_size(&now, fd, path);
  mmapio__error_restore(&e);
  if (rc2 != MMAPIO_OK || now == *len) return rc;
  *len = now;
  return MMAPIO__OS_NOT_MAPPED;
}

int mmapio__posix_open_ro_cold(mmapio_native_file *out, uint64_t *len, const char *path,
                               int stage, int fd, struct stat *st)
{
  switch (stage) {
  case MMAPIO__RO_UNOPENED: return open_ro_unopened(out, len, path, MMAPIO__OPEN_RO_FLAGS);
  case MMAPIO__RO_NO_STAT: return open_ro_other(out, len, fd, 0, st, path);
  case MMAPIO__RO_OTHER: return open_ro_other(out, len, fd, 1, st, path);
  default: return open_ro_failed(len, fd, path);
  }
}

int mmapio__os_open(mmapio_native_file *out, const char *path, int access, int create,
                    int private_perms)
{
  return mmapio__os_open_stat(out, NULL, path, access, create, private_perms);
}

int mmapio__os_dup(mmapio_native_file *out, mmapio_native_file f, int need_write,
                   const char *path)
{
  *out = MMAPIO_INVALID_FILE;
  if (f < 0) return mmapio__fail_os_status(MMAPIO_EINVAL, EBADF, "dup", path);
  int fl = mmapio__sys_fcntl(f, F_GETFL, 0);
  if (fl < 0) return mmapio__fail_os_status(MMAPIO_EINVAL, errno, "fcntl", path);
#ifdef O_PATH
  /* An O_PATH descriptor can be fstat'ed but neither read nor mapped. */
  if (fl & O_PATH)
    return mmapio__fail(MMAPIO_EACCES, "dup(%s): descriptor is not open for reading",
                        mmapio__path_or(path));
#endif
  int acc = fl & O_ACCMODE;
  /* Every mapping needs read access, even a write-only use of it. */
  if (acc == O_WRONLY)
    return mmapio__fail(MMAPIO_EACCES, "dup(%s): descriptor is not open for reading",
                        mmapio__path_or(path));
  if (need_write && acc != O_RDWR)
    return mmapio__fail(MMAPIO_EACCES, "dup(%s): descriptor is not open for writing",
                        mmapio__path_or(path));
  struct stat st;
  if (mmapio__sys_fstat(f, &st) != 0) return mmapio__fail_os(errno, "fstat", path);
  int rc = check_regular(&st, "dup", path);
  if (rc != MMAPIO_OK) return rc;
  int nfd = mmapio__sys_dup(f);
  if (nfd < 0) return mmapio__fail_os(errno, "dup", path);
  *out = nfd;
  return MMAPIO_OK;
}

void mmapio__os_close_file(mmapio_native_file f)
{
  /* close() is not retried on EINTR: on Linux and the BSDs the descriptor
   * is released even then, and a retry could close a reused number. */
  if (f >= 0) (void)mmapio__sys_close(f);
}

/* A block device's size (st_size is 0 for them): BLKGETSIZE64 on Linux,
 * the end offset elsewhere (and where the ioctl is refused). */
static int block_size(uint64_t *out, int fd, const char *path)
{
#ifdef BLKGETSIZE64
  uint64_t n = 0;
  if (ioctl(fd, (mmapio__ioctl_req)BLKGETSIZE64, &n) == 0) {
    *out = n;
    return MMAPIO_OK;
  }
#endif
  off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0) return mmapio__fail_os(errno, "lseek(SEEK_END)", path);
  *out = (uint64_t)end;
  return MMAPIO_OK;
}

int mmapio__os_file_size(uint64_t *out, mmapio_native_file f, const char *path)
{
  struct stat st;
  *out = 0;
  if (mmapio__sys_fstat(f, &st) != 0) return mmapio__fail_os(errno, "fstat", path);
  if (S_ISBLK(st.st_mode)) return block_size(out, f, path);
  *out = st.st_size > 0 ? (uint64_t)st.st_size : 0u;
  return MMAPIO_OK;
}

static int set_len(int fd, uint64_t len)
{
  return mmapio__sys_ftruncate(fd, (off_t)len);
}

/* Put the length back to `len` after a failed growth; keeps errno. The
 * truncation runs even when the length looks unchanged: it also frees
 * blocks a failed reservation may have allocated past the end of file,
 * which matters most when the disk is full. */
static void restore_len(int fd, uint64_t len)
{
  int saved = errno;
  (void)set_len(fd, len);
  errno = saved;
}

/* Errors meaning "this file system cannot reserve blocks". */
static int reserve_unsupported(int e)
{
  return e == EOPNOTSUPP || e == ENOSYS || e == EINVAL
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
         || e == ENOTSUP
#endif
#ifdef ENOTTY
         || e == ENOTTY
#endif
      ;
}

/* Grow from old_len to new_len reserving blocks. Returns 0 or an errno; on
 * failure the length is old_len again. */
static int grow_reserved(int fd, uint64_t old_len, uint64_t new_len)
{
#if MMAPIO__LINUX
  int r = mmapio__sys_fallocate(fd, 0, (off_t)old_len, (off_t)(new_len - old_len));
  if (r == 0) return 0;
  int e = errno;
  if (reserve_unsupported(e)) {
    /* No fallocate here (e.g. tmpfs before 2.6.38, some FUSE and network
     * file systems): the file stays sparse instead of being zero-filled
     * byte by byte. */
    if (set_len(fd, new_len) == 0) return 0;
    e = errno;
  }
  /* ext4 and xfs may have extended the length for the part they allocated. */
  errno = e;
  restore_len(fd, old_len);
  return e;
#elif MMAPIO__APPLE
  /* Allocate beyond the physical end of file (the length does not change),
   * contiguous first, then anywhere; then set the length. */
  mmapio__fstore fst;
  memset(&fst, 0, sizeof fst);
  fst.fst_flags = F_ALLOCATECONTIG | F_ALLOCATEALL;
  fst.fst_posmode = F_PEOFPOSMODE;
  fst.fst_offset = 0;
  fst.fst_length = (off_t)(new_len - old_len);
  int r = mmapio__sys_preallocate(fd, &fst);
  if (r != 0 && errno == ENOSPC) {
    fst.fst_flags = F_ALLOCATEALL;
    r = mmapio__sys_preallocate(fd, &fst);
  }
  if (r != 0 && !reserve_unsupported(errno)) return errno;
  if (set_len(fd, new_len) != 0) {
    int e = errno;
    restore_len(fd, old_len);
    return e;
  }
  return 0;
#else
  /* The wrapper retries EINTR itself. */
  int e = mmapio__sys_posix_fallocate(fd, (off_t)old_len, (off_t)(new_len - old_len));
  if (e == 0) return 0;
  if (reserve_unsupported(e)) {
    /* ZFS and some others answer EINVAL / EOPNOTSUPP: keep the file sparse. */
    if (set_len(fd, new_len) == 0) return 0;
    e = errno;
  }
  errno = e;
  restore_len(fd, old_len);
  return e;
#endif
}

/* EFBIG: `len` is more than this file system (or the process's
 * RLIMIT_FSIZE) allows for one file. MMAPIO_ESIZE with a message that says
 * so, keeping the OS code. */
static int fail_too_large(const char *call, const char *path, uint64_t len)
{
  mmapio__saved_error se;
  char text[128];
  mmapio__os_strerror(EFBIG, text, sizeof text);
  snprintf(se.msg, sizeof se.msg,
           "%s(%s): %s: %llu bytes is more than the file system (or RLIMIT_FSIZE) allows "
           "for one file",
           call, mmapio__path_or(path), text, (unsigned long long)len);
  se.oserr = EFBIG;
  mmapio__error_restore(&se);
  return MMAPIO_ESIZE;
}

static int fail_size_call(int e, const char *call, const char *path, uint64_t len)
{
  if (e == EFBIG) return fail_too_large(call, path, len);
  return mmapio__fail_os(e, call, path);
}

/* A plain fstat (not an injectable call): it only picks the message. */
static int is_blockdev(int f)
{
  struct stat st;
  return fstat(f, &st) == 0 && S_ISBLK(st.st_mode);
}

static int fail_blockdev(const char *path)
{
  return mmapio__fail(MMAPIO_ENOTSUP, "ftruncate(%s): a block device has a fixed size",
                      mmapio__path_or(path));
}

int mmapio__os_file_nocow(mmapio_native_file f, const char *path)
{
#if MMAPIO__LINUX && defined(FS_IOC_GETFLAGS) && defined(FS_NOCOW_FL)
  /* The attribute ioctls take an int (the kernel reads 32 bits). A file
   * system without attributes (tmpfs, FUSE, NFS, ...) or without this one
   * refuses either call: nothing to turn off there. */
  int flags = 0;
  const char *call = "ioctl(FS_IOC_GETFLAGS)";
  int r = ioctl(f, (mmapio__ioctl_req)FS_IOC_GETFLAGS, &flags);
  if (r == 0 && !(flags & FS_NOCOW_FL)) {
    flags |= FS_NOCOW_FL;
    call = "ioctl(FS_IOC_SETFLAGS)";
    r = ioctl(f, (mmapio__ioctl_req)FS_IOC_SETFLAGS, &flags);
  }
  if (r == 0) return MMAPIO_OK;
  int e = errno;
  if (e == ENOTTY || e == EOPNOTSUPP || e == ENOTSUP || e == EINVAL || e == ENOSYS) return MMAPIO_OK;
  return mmapio__fail_os(e, call, path);
#else
  (void)f;
  (void)path;
  return MMAPIO_OK;
#endif
}

int mmapio__os_file_set_size(mmapio_native_file f, uint64_t old_len, uint64_t new_len,
                             int sparse, const char *path)
{
  if (new_len > MMAPIO__OFF_MAX) return fail_too_large("ftruncate", path, new_len);
  if (new_len == old_len) return MMAPIO_OK;
#if MMAPIO__LINUX
  /* Linux refuses both ftruncate and a mode-0 fallocate on a block device
   * without changing it, so the fstat that tells it apart is only made
   * after a failure (not on every create and resize). */
  int bd_late = 1;
#else
  int bd_late = 0;
  if (is_blockdev(f)) return fail_blockdev(path);
#endif
  if (new_len < old_len || sparse) {
    if (set_len(f, new_len) != 0) {
      int e = errno;
      if (bd_late && is_blockdev(f)) return fail_blockdev(path);
      return fail_size_call(e, "ftruncate", path, new_len);
    }
    return MMAPIO_OK;
  }
  int e = grow_reserved(f, old_len, new_len);
  if (e != 0) {
    if (bd_late && is_blockdev(f)) return fail_blockdev(path);
    return fail_size_call(e, MMAPIO__LINUX ? "fallocate" : "posix_fallocate", path, new_len);
  }
  return MMAPIO_OK;
}

#if MMAPIO__LINUX
/* mmapio__os_file_can_reserve; *reserved tells whether the blocks are now
 * allocated (0 where fallocate is refused: no support, or a block device,
 * which refuses a KEEP_SIZE-only fallocate without changing anything). */
static int can_reserve_linux(int f, uint64_t len, const char *path, int *reserved)
{
  *reserved = 0;
  if (len > MMAPIO__OFF_MAX) return fail_too_large("fallocate", path, len);
  if (len == 0) return MMAPIO_OK;
  /* KEEP_SIZE allocates blocks without changing the length or the content,
   * so the file is unchanged if the disk turns out to be full. */
  int r = mmapio__sys_fallocate(f, FALLOC_FL_KEEP_SIZE, 0, (off_t)len);
  if (r == 0) {
    *reserved = 1;
    return MMAPIO_OK;
  }
  int e = errno;
  if (e == ENOSPC || e == EDQUOT || e == EFBIG) {
    /* Give back what the failed attempt allocated past the end of file
     * (same length, same content). */
    struct stat st;
    if (mmapio__sys_fstat(f, &st) == 0) restore_len(f, (uint64_t)st.st_size);
    return fail_size_call(e, "fallocate", path, len);
  }
  return MMAPIO_OK;
}
#endif

int mmapio__os_file_can_reserve(mmapio_native_file f, uint64_t len, const char *path)
{
#if MMAPIO__LINUX
  int reserved;
  return can_reserve_linux(f, len, path, &reserved);
#else
  if (len > MMAPIO__OFF_MAX) return fail_too_large("fallocate", path, len);
  if (len == 0) return MMAPIO_OK;
#  if MMAPIO__APPLE
  /* F_PREALLOCATE allocates beyond the physical end without changing the
   * length; the truncation that follows frees the current blocks, so only
   * the difference has to fit. */
  struct stat st;
  if (mmapio__sys_fstat(f, &st) != 0) return mmapio__fail_os(errno, "fstat", path);
  uint64_t cur = st.st_size > 0 ? (uint64_t)st.st_size : 0u;
  if (len <= cur) return MMAPIO_OK;
  mmapio__fstore fst;
  memset(&fst, 0, sizeof fst);
  fst.fst_flags = F_ALLOCATEALL;
  fst.fst_posmode = F_PEOFPOSMODE;
  fst.fst_length = (off_t)(len - cur);
  if (mmapio__sys_preallocate(f, &fst) != 0 && (errno == ENOSPC || errno == EDQUOT))
    return mmapio__fail_os(errno, "fcntl(F_PREALLOCATE)", path);
  return MMAPIO_OK;
#  else
  /* posix_fallocate would change the length: no check possible. */
  (void)f; (void)path;
  return MMAPIO_OK;
#  endif
#endif
}

/* The process's file size limit (RLIMIT_FSIZE), UINT64_MAX when none. */
static uint64_t fsize_limit(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return (uint64_t)rl.rlim_cur;
}

/* Fail with ESIZE unless `f` may be given `len` bytes, without changing the
 * file: RLIMIT_FSIZE (growing past it would also raise SIGXFSZ), then the
 * file system's own maximum file size, which lseek enforces (Linux refuses
 * an offset beyond it with EINVAL, exactly where ftruncate would answer
 * EFBIG). The file offset moves; the library never uses it. */
int mmapio__os_file_can_hold(mmapio_native_file f, uint64_t len, const char *path)
{
  if (len > MMAPIO__OFF_MAX) return fail_too_large("lseek", path, len);
  uint64_t lim = fsize_limit();
  if (len > lim)
    return mmapio__fail(MMAPIO_ESIZE,
                        "mmapio_open(%s): %llu bytes exceed this process's file size limit "
                        "(RLIMIT_FSIZE = %llu bytes)",
                        mmapio__path_or(path), (unsigned long long)len, (unsigned long long)lim);
  if (mmapio__sys_lseek(f, (off_t)len, SEEK_SET) < 0) {
    int e = errno;
    if (e == EINVAL || e == EFBIG || e == EOVERFLOW) return fail_too_large("lseek", path, len);
    return mmapio__fail_os(e, "lseek", path);
  }
  return MMAPIO_OK;
}

#if !MMAPIO__APPLE
/* A TRUNCATE that met "disk full" (`e`) while it reserved or zeroed blocks
 * in place, and may go the way of 2' in mmapio__os_file_reset instead: a
 * shrink of a file that has at least new_len bytes of blocks, which 2'
 * gives back before it reserves new_len again. (A full XFS refuses even a
 * reservation of blocks the file has; XFS and btrfs free and allocate
 * again what they zero; ZFS allocates anew.) */
static int shrink_can_recreate(int f, int e, uint64_t old_len, uint64_t new_len)
{
  struct stat st;
  return e == ENOSPC && new_len <= old_len && mmapio__sys_fstat(f, &st) == 0 &&
         st.st_blocks >= 0 && (uint64_t)st.st_blocks * 512u >= new_len;
}
#endif

int mmapio__os_file_reset(mmapio_native_file f, uint64_t old_len, uint64_t new_len, int sparse,
                          const char *path)
{
  /* 1. The blocks, before any change (the caller has checked the size
   *    limits with mmapio__os_file_can_hold). */
  int rc = MMAPIO_OK;
#if MMAPIO__LINUX
  /* A block device (fixed size) refuses the KEEP_SIZE-only fallocate of
   * the check and the ftruncate of the sparse path without changing: the
   * fstat that tells it apart is only made after such a refusal, not on
   * every TRUNCATE (the open's fstat came before). */
  int reserved = 0;
  if (!sparse) rc = can_reserve_linux(f, new_len, path, &reserved);
  if (rc == MMAPIO_ENOSPC && shrink_can_recreate(f, ENOSPC, old_len, new_len))
    rc = MMAPIO_OK; /* nothing reserved: 2' below */
  if (rc != MMAPIO_OK) return rc;
  if (!sparse && !reserved && new_len > 0 && is_blockdev(f)) return fail_blockdev(path);
  if (!sparse && reserved) {
    /* 2. The blocks of [0, new_len) are reserved now (the check keeps what
     *    it allocated). Zero the part that stays in place, which keeps its
     *    blocks, and set the length: no step after the check needs new
     *    space, so a disk that fills up meanwhile cannot fail us half way.
     *    Growing sets the length first (undone if the zeroing fails), so
     *    the zeroing is the one step that changes content. File systems
     *    without FALLOC_FL_ZERO_RANGE (tmpfs) take the truncate-and-grow
     *    path below. */
    int grow = new_len > old_len;
    uint64_t keep = grow ? old_len : new_len;
    if (grow && set_len(f, new_len) != 0) return fail_size_call(errno, "ftruncate", path, new_len);
    int r = 0;
    if (keep > 0) {
      r = mmapio__sys_fallocate(f, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, (off_t)keep);
    }
    if (r == 0) {
      if (!grow && new_len != old_len && set_len(f, new_len) != 0)
        return fail_size_call(errno, "ftruncate", path, new_len);
      return MMAPIO_OK;
    }
    int e = errno;
    if (!shrink_can_recreate(f, e, old_len, new_len) && !reserve_unsupported(e)) {
      if (grow) restore_len(f, old_len);
      return mmapio__fail_os(e, "fallocate", path);
    }
    /* 2' sets the length itself (and puts old_len back if its truncation
     * fails): no restore here, whose failure could only be ignored. */
  }
#else
  if (is_blockdev(f)) return fail_blockdev(path);
  if (!sparse) rc = mmapio__os_file_can_reserve(f, new_len, path);
  if (rc != MMAPIO_OK) return rc;
#endif
#if !MMAPIO__LINUX && !MMAPIO__APPLE
  if (!sparse) {
    /* posix_fallocate cannot check without changing the length, but it
     * keeps the content: reserve [0, new_len) on the file as it is, and put
     * the old length back if that fails. The truncation below frees and
     * reallocates the blocks (only a concurrent consumer of the space can
     * make that second reservation fail). */
    int e = mmapio__sys_posix_fallocate(f, 0, (off_t)new_len); /* EINTR retried inside */
    if (e != 0 && !reserve_unsupported(e) && !shrink_can_recreate(f, e, old_len, new_len)) {
      if (new_len > old_len) {
        errno = e;
        restore_len(f, old_len);
      }
      return fail_size_call(e, "posix_fallocate", path, new_len);
    }
  }
#endif
  /* 2'. Truncate to 0 and grow again (reserving blocks unless sparse). A
   *     failure of the truncation itself puts a length the reservation
   *     changed back. */
  rc = mmapio__os_file_set_size(f, old_len, 0, 1, path);
  if (rc != MMAPIO_OK) {
    errno = mmapio_last_os_error();
    restore_len(f, old_len);
    return rc;
  }
  return mmapio__os_file_set_size(f, 0, new_len, sparse, path);
}

int mmapio__os_unlink(const char *path)
{
  if (mmapio__sys_unlink(path) != 0) return mmapio__fail_os(errno, "unlink", path);
  return MMAPIO_OK;
}

/* read/write copy from the current offsets to the end of `in`. Returns 0 or
 * an errno; *call names the failing call. The wrappers retry EINTR; a short
 * write is continued; a write that takes nothing of a non-empty buffer
 * (which POSIX leaves possible) is ENOSPC, as GNU coreutils' full_write
 * treats it, instead of a loop that never ends. */
static int copy_rw(int in, int out, const char **call)
{
  enum { BUFSZ = 256 * 1024 }; /* far below Linux's 0x7ffff000 bytes per call */
  char *buf = (char *)malloc(BUFSZ);
  if (buf == NULL) {
    *call = "malloc";
    return ENOMEM;
  }
  int e = 0;
  for (;;) {
    ssize_t n = mmapio__sys_read(in, buf, BUFSZ);
    if (n < 0) {
      e = errno;
      *call = "read";
      break;
    }
    if (n == 0) break;
    size_t done = 0;
    while (done < (size_t)n) {
      ssize_t w = mmapio__sys_write(out, buf + done, (size_t)n - done);
      if (w < 0) {
        e = errno;
        break;
      }
      if (w == 0) {
        e = ENOSPC;
        break;
      }
      done += (size_t)w;
    }
    if (e != 0) {
      *call = "write";
      break;
    }
  }
  free(buf);
  return e;
}

/* Remove a file a failed copy created, keeping errno. */
static void unlink_quiet(const char *path)
{
  int saved = errno;
  (void)mmapio__sys_unlink(path);
  errno = saved;
}

/* Copy step 1: open the source, which must be a regular file; *st gets
 * its status (to recognise the destination as the same file). */
static int copy_open_src(int *out, struct stat *st, const char *src)
{
  int in = mmapio__sys_open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (in < 0) {
    int e = errno;
    if (e == EISDIR) return mmapio__fail_os_status(MMAPIO_EINVAL, e, "open", src);
    return mmapio__fail_os(e, "open", src);
  }
  int rc = MMAPIO_OK;
  if (mmapio__sys_fstat(in, st) != 0) rc = mmapio__fail_os(errno, "fstat", src);
  else rc = check_regular(st, "open", src);
  if (rc != MMAPIO_OK) {
    mmapio__posix_close_quiet(in);
    return rc;
  }
  /* O_NONBLOCK only kept a FIFO from blocking the open; reads of a regular
   * file ignore it, so it stays. */
  *out = in;
  return MMAPIO_OK;
}

/* The name a symbolic link `path` leads to when that name does not exist
 * (a dangling link): the chain of links is followed, each relative target
 * taken from the directory of its link, to the first name that is missing.
 * Returns it malloc'ed, or NULL with errno: EEXIST when the end of the
 * chain exists (it changed meanwhile: the caller opens again), ELOOP,
 * ENOMEM, or the error of lstat/readlink. */
#define MMAPIO__LINK_HOPS 40 /* Linux's limit of links followed in one path */
static char *link_end(const char *path)
{
  size_t n0 = strlen(path);
  char *cur = (char *)malloc(n0 + 1);
  if (cur == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  memcpy(cur, path, n0 + 1);
  for (int hops = 0; hops <= MMAPIO__LINK_HOPS; hops++) {
    struct stat st;
    if (lstat(cur, &st) != 0) {
      if (errno == ENOENT) return cur;
      break;
    }
    if (!S_ISLNK(st.st_mode)) {
      errno = EEXIST;
      break;
    }
    /* st_size is the target's length (0 on some file systems). */
    size_t cap = (st.st_size > 0 ? (size_t)st.st_size : (size_t)PATH_MAX) + 1;
    const char *slash = strrchr(cur, '/');
    size_t dlen = slash == NULL ? 0 : (size_t)(slash - cur) + 1; /* with the slash */
    char *next = (char *)malloc(dlen + cap);
    if (next == NULL) {
      errno = ENOMEM;
      break;
    }
    ssize_t t = readlink(cur, next + dlen, cap);
    if (t < 0 || (size_t)t >= cap) {
      if (t >= 0) errno = EEXIST; /* the link grew meanwhile: start again */
      int e = errno;
      free(next);
      errno = e;
      break;
    }
    next[dlen + (size_t)t] = '\0';
    if (next[dlen] == '/') memmove(next, next + dlen, (size_t)t + 1); /* absolute */
    else memcpy(next, cur, dlen); /* relative to the link's directory */
    free(cur);
    cur = next;
    if (hops == MMAPIO__LINK_HOPS) errno = ELOOP;
  }
  int e = errno;
  free(cur);
  errno = e;
  return NULL;
}

/* Open an existing destination, which O_EXCL refused: a file, or a
 * symbolic link (which O_EXCL refuses even when it dangles). A link whose
 * target is missing gets that target created, exclusively, so that a
 * failed copy can remove what it made and leave the link as it was;
 * *made is then the created name (malloc'ed), else NULL. Returns the
 * descriptor, or -1 with errno. */
static int open_dst_existing(const char *dst, char **made)
{
  *made = NULL;
  for (int tries = 0;; tries++) {
    int fd = mmapio__sys_open(dst, O_WRONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd >= 0 || errno != ENOENT || tries == 8) return fd;
    /* The name exists but leads nowhere (or was removed meanwhile). */
    char *end = link_end(dst);
    if (end == NULL) {
      if (errno == EEXIST) continue;
      return -1;
    }
    fd = mmapio__sys_open(end, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK, 0666);
    if (fd >= 0) {
      *made = end;
      return fd;
    }
    int e = errno;
    free(end);
    errno = e;
    if (e != EEXIST) return -1;
  }
}

/* Copy step 2: open the destination without O_TRUNC and truncate it only
 * once it is known to be a regular file other than the source (copying a
 * file onto itself, or onto a hard link of itself, would otherwise destroy
 * it). O_NONBLOCK keeps a FIFO without a reader from blocking the open.
 * *made tells whether this call created the file (O_EXCL), so that a
 * failed copy can remove it instead of leaving a partial file behind: it
 * is `dst` itself, or the target a dangling symbolic link `dst` names
 * (malloc'ed), or NULL when the file existed. With *replace set on entry
 * and an existing file with one name, *replace stays 1 and the descriptor
 * is returned untruncated, for copy_replace. */
static int copy_open_dst(int *out, char **made, struct stat *dst_st, int *replace,
                         const struct stat *src_st, const char *src, const char *dst)
{
  int may_replace = *replace;
  *replace = 0;
  *made = NULL;
  int fd = mmapio__sys_open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK, 0666);
  if (fd >= 0) *made = (char *)dst;
  else if (errno == EEXIST) fd = open_dst_existing(dst, made);
  if (fd < 0) {
    int e = errno;
    if (e == EISDIR || e == ENXIO) return mmapio__fail_os_status(MMAPIO_EINVAL, e, "open", dst);
    return mmapio__fail_os(e, "open", dst);
  }
  struct stat st;
  int rc = MMAPIO_OK;
  if (mmapio__sys_fstat(fd, &st) != 0) {
    rc = mmapio__fail_os(errno, "fstat", dst);
  } else if ((rc = check_regular(&st, "open", dst)) != MMAPIO_OK) {
    /* rc and the message are set */
  } else if (st.st_dev == src_st->st_dev && st.st_ino == src_st->st_ino) {
    rc = mmapio__fail(MMAPIO_EINVAL, "copy_file(%s, %s): source and destination are the same file",
                      src, dst);
  } else if (may_replace && *made == NULL && st.st_nlink == 1) {
    /* An existing file with one name: the copy goes to a new file that
     * replaces it at the end (copy_replace), so nothing is truncated. */
    *dst_st = st;
    *replace = 1;
    *out = fd;
    return MMAPIO_OK;
  } else if (set_len(fd, 0) != 0) {
    rc = mmapio__fail_os(errno, "ftruncate", dst);
  }
  if (rc != MMAPIO_OK) {
    mmapio__posix_close_quiet(fd);
    if (*made != NULL) unlink_quiet(*made);
    if (*made != dst) free(*made);
    *made = NULL;
    return rc;
  }
  *out = fd;
  return MMAPIO_OK;
}

/* Copy step 3: the bytes. copy_file_range (Linux) lets the kernel copy (or
 * reflink) without a round trip through user space; where it is refused
 * (old kernels, cross-device before 5.3, special file systems) the
 * read/write loop continues from the same offsets, since both calls advance
 * the file positions. Returns 0 or an errno; *call and *epath name the
 * failing call and its file. */
static int copy_bytes(int in, int out, const char *src, const char *dst, const char **call,
                      const char **epath)
{
  *epath = dst;
#if MMAPIO__LINUX
  /* copy_file_range returns 0 at the end of the source, but also at once
   * for files whose size reads 0 although they have bytes (procfs and
   * sysfs files, which are regular files): a 0 before any byte was copied
   * hands over to read/write, which finds out. */
  for (int copied = 0;; copied = 1) {
    ssize_t n = mmapio__sys_copy_file_range(in, out, (size_t)1 << 30);
    if (n > 0) continue;
    if (n == 0) {
      if (copied) return 0;
      break;
    }
    if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL ||
        errno == EBADF || errno == EPERM)
      break;
    *call = "copy_file_range";
    return errno;
  }
#endif
  int e = copy_rw(in, out, call);
  if (e != 0 && *call != NULL && strcmp(*call, "read") == 0) *epath = src;
  return e;
}

#define MMAPIO__COPY_IN_PLACE 1

#if MMAPIO__LINUX
/* A buffer for attribute lists and values: on the stack, moved to the heap
 * when one is larger (p != small). */
typedef struct xattr_buf {
  char *p;
  size_t cap;
  char small[512];
} xattr_buf;

static void xattr_buf_init(xattr_buf *b)
{
  b->p = b->small;
  b->cap = sizeof b->small;
}

static void xattr_buf_free(xattr_buf *b)
{
  if (b->p != b->small) free(b->p);
}

/* flistxattr (name NULL) or fgetxattr of `fd` into b, grown when the list
 * or value is larger. Returns the length or -1 with errno. */
static ssize_t xattr_read(int fd, const char *name, xattr_buf *b)
{
  for (int tries = 0; tries < 4; tries++) {
    ssize_t n = name == NULL ? mmapio__sys_flistxattr(fd, b->p, b->cap)
                             : mmapio__sys_fgetxattr(fd, name, b->p, b->cap);
    if (n >= 0 || errno != ERANGE) return n;
    /* Larger than the buffer: ask for the size (it may grow again before
     * the next read, hence the loop). */
    n = name == NULL ? mmapio__sys_flistxattr(fd, NULL, 0)
                     : mmapio__sys_fgetxattr(fd, name, NULL, 0);
    if (n < 0) return n;
    size_t want = (size_t)n + 256u;
    char *nb = (char *)(b->p != b->small ? realloc(b->p, want) : malloc(want));
    if (nb == NULL) {
      errno = ENOMEM;
      return -1;
    }
    b->p = nb;
    b->cap = want;
  }
  errno = ERANGE;
  return -1;
}

/* Errors of fsetxattr meaning "this file cannot take this attribute here"
 * (a security.* or trusted.* name without the privilege, a name space the
 * file system refuses), as opposed to a failure of the device. */
static int xattr_refused(int e)
{
  return e == EPERM || e == EACCES || e == EOPNOTSUPP || e == EINVAL || e == ERANGE ||
         e == E2BIG
#  if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
         || e == ENOTSUP
#  endif
      ;
}

/* Give the temporary file `to` every extended attribute of the destination
 * `from` (ACLs are the system.posix_acl_* attributes). A destination
 * without any costs the one flistxattr; a file system without extended
 * attributes (ENOTSUP) has none. Returns MMAPIO_OK; MMAPIO__COPY_IN_PLACE
 * (nothing recorded) when `to` refuses one that it does not already have
 * with the same value (the security label a new file is given, say); or a
 * recorded failure naming the call and `dst`. */
static int copy_xattrs(int from, int to, const char *dst)
{
  xattr_buf list, val, cur;
  xattr_buf_init(&list);
  xattr_buf_init(&val);
  xattr_buf_init(&cur);
  int rc = MMAPIO_OK;
  ssize_t n = xattr_read(from, NULL, &list);
  if (n < 0) {
    int e = errno;
    if (e != ENOTSUP && e != EOPNOTSUPP && e != ENOSYS) rc = mmapio__fail_os(e, "flistxattr", dst);
    n = 0;
  }
  for (size_t i = 0; rc == MMAPIO_OK && i < (size_t)n;) {
    const char *name = list.p + i;
    size_t nlen = strnlen(name, (size_t)n - i);
    i += nlen + 1;
    if (nlen == 0 || i > (size_t)n) continue; /* an unterminated tail: none */
    ssize_t v = xattr_read(from, name, &val);
    if (v < 0) {
      if (errno == ENODATA) continue; /* removed since the list was read */
      rc = mmapio__fail_os(errno, "fgetxattr", dst);
      break;
    }
    if (mmapio__sys_fsetxattr(to, name, val.p, (size_t)v, 0) == 0) continue;
    int e = errno;
    if (!xattr_refused(e)) {
      rc = mmapio__fail_os(e, "fsetxattr", dst);
      break;
    }
    /* Refused: fine if the new file has it already, as it is. */
    ssize_t c = xattr_read(to, name, &cur);
    if (c != v || memcmp(cur.p, val.p, (size_t)v) != 0) rc = MMAPIO__COPY_IN_PLACE;
  }
  xattr_buf_free(&list);
  xattr_buf_free(&val);
  xattr_buf_free(&cur);
  return rc;
}
#endif

/* The copy over an existing file with one name (open as `out`): into a
 * temporary file in the directory of the file (of its target when `dst`
 * is a symbolic link) that takes the file's owner, permission bits and,
 * on Linux, extended attributes and ACLs, then renamed over it. The
 * permission bits and attributes are set after the bytes, since writing
 * clears set-user-ID bits and file capabilities (security.capability).
 * A failure removes the temporary file and leaves `dst` as it was.
 * Returns MMAPIO_OK, a recorded failure, or MMAPIO__COPY_IN_PLACE (nothing
 * recorded, nothing changed) where a replace cannot keep what the file is:
 * the directory refuses a new file (EACCES, EPERM), the owner, the
 * permission bits or an attribute cannot be given, or the link cannot be
 * resolved. */
static int copy_replace(int in, int out, const struct stat *dst_st, const char *src,
                        const char *dst)
{
  char *target = NULL;
  struct stat lst;
  if (lstat(dst, &lst) != 0) return MMAPIO__COPY_IN_PLACE;
  if (S_ISLNK(lst.st_mode)) {
    target = realpath(dst, NULL);
    if (target == NULL) return MMAPIO__COPY_IN_PLACE;
  }
  const char *path = target != NULL ? target : dst;
  mmapio__os_newfile nf;
  int rc = mmapio__posix_temp_beside(&nf, path, 0600);
  if (rc != MMAPIO_OK) {
    int e = mmapio_last_os_error();
    free(target);
    return e == EACCES || e == EPERM ? MMAPIO__COPY_IN_PLACE : rc;
  }
  struct stat tst;
  if (mmapio__sys_fstat(nf.f, &tst) != 0 ||
      ((tst.st_uid != dst_st->st_uid || tst.st_gid != dst_st->st_gid) &&
       fchown(nf.f, dst_st->st_uid, dst_st->st_gid) != 0)) {
    rc = MMAPIO__COPY_IN_PLACE;
    goto done;
  }
  const char *call = NULL, *epath = dst;
  int e = copy_bytes(in, nf.f, src, dst, &call, &epath);
  rc = MMAPIO_OK;
  if (e == 0 && fchmod(nf.f, dst_st->st_mode & 07777) != 0) rc = MMAPIO__COPY_IN_PLACE;
#if MMAPIO__LINUX
  if (e == 0 && rc == MMAPIO_OK) rc = copy_xattrs(out, nf.f, dst);
#else
  (void)out;
#endif
  if (rc != MMAPIO_OK) goto done;
  int fd = nf.f;
  nf.f = MMAPIO_INVALID_FILE;
  /* close() reports delayed write errors on network file systems. */
  if (mmapio__sys_close(fd) != 0 && e == 0 && errno != EINTR) {
    e = errno;
    call = "close";
    epath = dst;
  }
  if (e == 0 && mmapio__sys_rename(nf.tmp, path) != 0) {
    e = errno;
    call = "rename";
    epath = dst;
  }
  rc = e != 0 ? mmapio__fail_os(e, call, epath) : MMAPIO_OK;
  if (rc == MMAPIO_OK) {
    free(nf.tmp); /* renamed: the name is the file's now */
    nf.tmp = NULL;
  }
done:
  mmapio__os_newfile_discard(&nf);
  free(target);
  return rc;
}

int mmapio__os_copy_file(const char *src, const char *dst)
{
  int in = -1, out = -1;
  struct stat st, dst_st;
  int rc = copy_open_src(&in, &st, src);
  if (rc != MMAPIO_OK) return rc;
  char *made = NULL;
  int replace = 1;
  rc = copy_open_dst(&out, &made, &dst_st, &replace, &st, src, dst);
  if (rc == MMAPIO_OK && replace) {
    rc = copy_replace(in, out, &dst_st, src, dst);
    if (rc != MMAPIO__COPY_IN_PLACE) {
      mmapio__posix_close_quiet(out);
      mmapio__posix_close_quiet(in);
      return rc;
    }
    /* In place after all, into the file already open: from the start of
     * the source again. */
    rc = MMAPIO_OK;
    if (mmapio__sys_lseek(in, 0, SEEK_SET) != 0) rc = mmapio__fail_os(errno, "lseek", src);
    else if (set_len(out, 0) != 0) rc = mmapio__fail_os(errno, "ftruncate", dst);
    if (rc != MMAPIO_OK) mmapio__posix_close_quiet(out);
  }
  if (rc != MMAPIO_OK) {
    mmapio__posix_close_quiet(in);
    return rc;
  }
  const char *call = NULL, *epath = dst;
  int e = copy_bytes(in, out, src, dst, &call, &epath);
  mmapio__posix_close_quiet(in);
  /* close() reports delayed write errors on network file systems. */
  if (mmapio__sys_close(out) != 0 && e == 0 && errno != EINTR) {
    e = errno;
    call = "close";
    epath = dst;
  }
  if (e != 0) {
    rc = mmapio__fail_os(e, call, epath);
    /* A file this call created holds only part of the source: remove it
     * (the target it created for a dangling link: the link stays as it
     * was). An existing destination copied in place stays (truncated,
     * partly written). */
    if (made != NULL) unlink_quiet(made);
  }
  if (made != dst) free(made);
  return rc;
}
