/*
 * mmapio_vfs.c -- an SQLite VFS on mmapio (see mmapio_vfs.h and README.md).
 *
 * Every file SQLite opens (the database, its rollback journal, temporary
 * files) is a descriptor this VFS opens itself and maps with
 * mmapio_open_fd_opts(MMAPIO_OPEN_BORROW_FD | MMAPIO_OPEN_ALLOW_EMPTY):
 *
 *  - BORROW_FD: the map uses our descriptor and never closes it, so the
 *    descriptor (which holds the locks) lives exactly as long as the
 *    sqlite3_file;
 *  - ALLOW_EMPTY: a new database or journal is a 0-byte file, and a
 *    truncated journal is one again.
 *
 * Reads and writes are mmapio_read / mmapio_write (bounds checked copies).
 * The database file keeps its exact length (other connections and other
 * processes learn the size from the file), growing with mmapio_resize within
 * a 1 GiB max_size reservation, so growth stays in place. Journals and
 * temporary files are private to one connection while they are written, so
 * their size is mmapio's logical end (mmapio_set_logical_len): the capacity
 * grows in steps and the file is cut to the logical end when it is closed.
 * After a crash a journal may be longer than what was written, with zeros
 * after it; SQLite's journal format copes (the header's record count under
 * synchronous=FULL, record checksums otherwise).
 *
 * Locks are mmapio_file_lock byte ranges at the offsets SQLite's own unix
 * VFS uses (the pending byte at 1 GiB, the reserved byte after it, then a
 * 510-byte shared range), so connections through this VFS and through the
 * unix VFS exclude each other correctly. On Linux they are open file
 * description locks: two connections of one process exclude each other, and
 * closing one never drops the locks of another.
 */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#  define _XOPEN_SOURCE 700 /* mkstemp, fdatasync */
#endif
#include "mmapio_vfs.h"

#include "mmapio.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#  define O_CLOEXEC 0
#endif

/* SQLite's lock bytes (the defaults of its unix and Windows VFSes). */
#define MV_PENDING_BYTE UINT64_C(0x40000000)
#define MV_RESERVED_BYTE (MV_PENDING_BYTE + 1)
#define MV_SHARED_FIRST (MV_PENDING_BYTE + 2)
#define MV_SHARED_SIZE UINT64_C(510)

/* Address space reserved per read-write file for in-place growth. */
#define MV_MAX_SIZE (UINT64_C(1) << 30)

typedef struct mv_file {
  sqlite3_file base;
  mmapio_map *m;
  int fd;
  int readonly;
  int logical;     /* size = mmapio_logical_len (journals, temp files) */
  int need_fsync;  /* the length changed since the last xSync */
  int lock;        /* SQLITE_LOCK_* held by this connection */
  char *path;      /* for re-mapping a read-only database that grew */
} mv_file;

static sqlite3_vfs *mv_unix(sqlite3_vfs *vfs) { return (sqlite3_vfs *)vfs->pAppData; }

static int mv_map(mv_file *f)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_BORROW_FD | MMAPIO_OPEN_ALLOW_EMPTY;
  o.mode = f->readonly ? MMAPIO_MODE_READ_ONLY : MMAPIO_MODE_READ_WRITE;
  if (!f->readonly) o.max_size = MV_MAX_SIZE;
  int rc = mmapio_open_fd_opts(&f->m, f->fd, &o, f->path);
  if (rc == MMAPIO_ESIZE && !f->readonly) {
    /* A database larger than the reservation: map it as it is. */
    o.max_size = 0;
    rc = mmapio_open_fd_opts(&f->m, f->fd, &o, f->path);
  }
  return rc;
}

/* The database file: make the map's length follow the file's, which
 * another connection may have changed (SQLite calls this under a lock that
 * keeps others from changing it meanwhile). */
static int mv_refresh(mv_file *f)
{
  struct stat st;
  if (f->logical) return SQLITE_OK;
  if (fstat(f->fd, &st) != 0) return SQLITE_IOERR_FSTAT;
  uint64_t sz = (uint64_t)st.st_size;
  if (sz == mmapio_len(f->m)) return SQLITE_OK;
  if (f->readonly) {
    mmapio_map *old = f->m;
    f->m = NULL;
    if (mv_map(f) != MMAPIO_OK) {
      f->m = old;
      return SQLITE_IOERR_FSTAT;
    }
    mmapio_close(old);
    return SQLITE_OK;
  }
  return mmapio_resize(f->m, sz) == MMAPIO_OK ? SQLITE_OK : SQLITE_IOERR_FSTAT;
}

static uint64_t mv_size(mv_file *f)
{
  return f->logical ? mmapio_logical_len(f->m) : mmapio_len(f->m);
}

static int mv_status_io(int st, int dflt)
{
  if (st == MMAPIO_ENOSPC) return SQLITE_FULL;
  if (st == MMAPIO_ENOMEM) return SQLITE_IOERR_NOMEM;
  return dflt;
}

/* ---- sqlite3_io_methods ------------------------------------------------- */

static int mv_close(sqlite3_file *pf)
{
  mv_file *f = (mv_file *)pf;
  int rc = SQLITE_OK;
  if (f->m != NULL) {
    (void)mmapio_file_unlock(f->m, 0, 0);
    /* Cuts a journal's file to its logical end. */
    if (mmapio_close(f->m) != MMAPIO_OK) rc = SQLITE_IOERR_CLOSE;
    f->m = NULL;
  }
  if (f->fd >= 0 && close(f->fd) != 0 && rc == SQLITE_OK) rc = SQLITE_IOERR_CLOSE;
  f->fd = -1;
  sqlite3_free(f->path);
  f->path = NULL;
  return rc;
}

static int mv_read(sqlite3_file *pf, void *buf, int amt, sqlite3_int64 ofst)
{
  mv_file *f = (mv_file *)pf;
  uint64_t off = (uint64_t)ofst, n = (uint64_t)amt;
  uint64_t sz = mv_size(f);
  if (off + n > sz && !f->logical) {
    int rc = mv_refresh(f);
    if (rc != SQLITE_OK) return rc;
    sz = mv_size(f);
  }
  uint64_t have = off >= sz ? 0 : (sz - off < n ? sz - off : n);
  if (have > 0 && mmapio_read(f->m, off, buf, (size_t)have) != MMAPIO_OK) return SQLITE_IOERR_READ;
  if (have < n) {
    /* SQLite requires the rest of the buffer zeroed on a short read. */
    memset((char *)buf + have, 0, (size_t)(n - have));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

static int mv_write(sqlite3_file *pf, const void *buf, int amt, sqlite3_int64 ofst)
{
  mv_file *f = (mv_file *)pf;
  uint64_t off = (uint64_t)ofst, end = off + (uint64_t)amt;
  int st;
  if (f->logical) {
    if (end > mmapio_logical_len(f->m)) {
      st = mmapio_set_logical_len(f->m, end);
      if (st != MMAPIO_OK) return mv_status_io(st, SQLITE_IOERR_WRITE);
    }
  } else if (end > mmapio_len(f->m)) {
    st = mmapio_resize(f->m, end);
    if (st != MMAPIO_OK) return mv_status_io(st, SQLITE_IOERR_WRITE);
    f->need_fsync = 1;
  }
  st = mmapio_write(f->m, off, buf, (size_t)amt);
  return st == MMAPIO_OK ? SQLITE_OK : mv_status_io(st, SQLITE_IOERR_WRITE);
}

static int mv_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
  mv_file *f = (mv_file *)pf;
  int st;
  if (f->logical) {
    st = mmapio_set_logical_len(f->m, (uint64_t)size);
  } else {
    st = mmapio_resize(f->m, (uint64_t)size);
    f->need_fsync = 1;
  }
  return st == MMAPIO_OK ? SQLITE_OK : mv_status_io(st, SQLITE_IOERR_TRUNCATE);
}

static int mv_sync(sqlite3_file *pf, int flags)
{
  mv_file *f = (mv_file *)pf;
  /* The pages (msync MS_SYNC); then the descriptor when the length changed
   * (a shrink or an empty file leaves no page to sync) or when SQLite asks
   * for a full sync. */
  if (mmapio_flush(f->m) != MMAPIO_OK) return SQLITE_IOERR_FSYNC;
  if ((flags & 0x0F) == SQLITE_SYNC_FULL || f->need_fsync || mmapio_len(f->m) == 0) {
#if defined(__APPLE__)
    int r = fsync(f->fd);
#else
    int r = (flags & 0x0F) == SQLITE_SYNC_FULL ? fsync(f->fd) : fdatasync(f->fd);
#endif
    if (r != 0) return SQLITE_IOERR_FSYNC;
    f->need_fsync = 0;
  }
  return SQLITE_OK;
}

static int mv_file_size(sqlite3_file *pf, sqlite3_int64 *out)
{
  mv_file *f = (mv_file *)pf;
  /* Under a SHARED lock (or more) nobody else may change the database
   * file, and the size was refreshed when the lock was taken. */
  int rc = f->lock >= SQLITE_LOCK_SHARED ? SQLITE_OK : mv_refresh(f);
  if (rc != SQLITE_OK) return rc;
  *out = (sqlite3_int64)mv_size(f);
  return SQLITE_OK;
}

/* 1 when the range could be locked right now (a shared or exclusive lock
 * is taken: the caller keeps or drops it), 0 when another holds it, -1 on
 * an error. */
static int mv_try(mv_file *f, uint64_t off, uint64_t len, int excl)
{
  int st = mmapio_file_lock(f->m, off, len,
                            (excl ? MMAPIO_FILE_LOCK_EXCLUSIVE : MMAPIO_FILE_LOCK_SHARED) |
                                MMAPIO_FILE_LOCK_NOWAIT);
  if (st == MMAPIO_OK) return 1;
  if (st == MMAPIO_EAGAIN || st == MMAPIO_EDEADLK) return 0;
  return -1;
}

static int mv_lock(sqlite3_file *pf, int level)
{
  mv_file *f = (mv_file *)pf;
  int r;
  if (f->lock >= level) return SQLITE_OK;
  if (f->lock == SQLITE_LOCK_NONE) {
    /* SHARED: hold the pending byte shared while taking the shared range,
     * so that no new reader gets in while a writer waits for EXCLUSIVE. */
    r = mv_try(f, MV_PENDING_BYTE, 1, 0);
    if (r <= 0) return r < 0 ? SQLITE_IOERR_LOCK : SQLITE_BUSY;
    r = mv_try(f, MV_SHARED_FIRST, MV_SHARED_SIZE, 0);
    (void)mmapio_file_unlock(f->m, MV_PENDING_BYTE, 1);
    if (r <= 0) return r < 0 ? SQLITE_IOERR_LOCK : SQLITE_BUSY;
    f->lock = SQLITE_LOCK_SHARED;
    /* Another connection may have changed the database meanwhile. */
    int rc = mv_refresh(f);
    if (rc != SQLITE_OK) {
      (void)mmapio_file_unlock(f->m, 0, 0);
      f->lock = SQLITE_LOCK_NONE;
      return rc;
    }
    if (level == SQLITE_LOCK_SHARED) return SQLITE_OK;
  }
  if (level == SQLITE_LOCK_RESERVED) {
    r = mv_try(f, MV_RESERVED_BYTE, 1, 1);
    if (r <= 0) return r < 0 ? SQLITE_IOERR_LOCK : SQLITE_BUSY;
    f->lock = SQLITE_LOCK_RESERVED;
    return SQLITE_OK;
  }
  /* EXCLUSIVE (through PENDING): take the pending byte, then the whole
   * shared range exclusively once the readers are gone. */
  if (f->lock < SQLITE_LOCK_PENDING) {
    r = mv_try(f, MV_PENDING_BYTE, 1, 1);
    if (r <= 0) return r < 0 ? SQLITE_IOERR_LOCK : SQLITE_BUSY;
    f->lock = SQLITE_LOCK_PENDING;
  }
  r = mv_try(f, MV_SHARED_FIRST, MV_SHARED_SIZE, 1);
  if (r <= 0) return r < 0 ? SQLITE_IOERR_LOCK : SQLITE_BUSY;
  f->lock = SQLITE_LOCK_EXCLUSIVE;
  return SQLITE_OK;
}

static int mv_unlock(sqlite3_file *pf, int level)
{
  mv_file *f = (mv_file *)pf;
  if (f->lock <= level) return SQLITE_OK;
  if (level == SQLITE_LOCK_SHARED) {
    /* Back to a shared hold of the shared range (a conversion, never a
     * moment without a lock), then drop the pending and reserved bytes. */
    if (f->lock >= SQLITE_LOCK_EXCLUSIVE &&
        mmapio_file_lock(f->m, MV_SHARED_FIRST, MV_SHARED_SIZE,
                         MMAPIO_FILE_LOCK_SHARED | MMAPIO_FILE_LOCK_NOWAIT) != MMAPIO_OK)
      return SQLITE_IOERR_RDLOCK;
    if (mmapio_file_unlock(f->m, MV_PENDING_BYTE, 2) != MMAPIO_OK) return SQLITE_IOERR_UNLOCK;
    f->lock = SQLITE_LOCK_SHARED;
    return SQLITE_OK;
  }
  if (mmapio_file_unlock(f->m, MV_PENDING_BYTE, 2 + MV_SHARED_SIZE) != MMAPIO_OK)
    return SQLITE_IOERR_UNLOCK;
  f->lock = SQLITE_LOCK_NONE;
  return SQLITE_OK;
}

static int mv_check_reserved(sqlite3_file *pf, int *out)
{
  mv_file *f = (mv_file *)pf;
  if (f->lock >= SQLITE_LOCK_RESERVED) {
    *out = 1;
    return SQLITE_OK;
  }
  /* A shared probe of the reserved byte fails only while someone holds it
   * (exclusively: RESERVED or above). */
  int r = mv_try(f, MV_RESERVED_BYTE, 1, 0);
  if (r < 0) return SQLITE_IOERR_CHECKRESERVEDLOCK;
  if (r == 1) (void)mmapio_file_unlock(f->m, MV_RESERVED_BYTE, 1);
  *out = r == 0;
  return SQLITE_OK;
}

static int mv_file_control(sqlite3_file *pf, int op, void *arg)
{
  mv_file *f = (mv_file *)pf;
  switch (op) {
  case SQLITE_FCNTL_LOCKSTATE:
    *(int *)arg = f->lock;
    return SQLITE_OK;
  case SQLITE_FCNTL_SIZE_HINT: {
    /* The database is about to grow to this size: one resize instead of
     * one per page written past the end. */
    sqlite3_int64 want = *(sqlite3_int64 *)arg;
    if (!f->logical && !f->readonly && want > 0 && (uint64_t)want > mmapio_len(f->m)) {
      int st = mmapio_resize(f->m, (uint64_t)want);
      if (st != MMAPIO_OK) return mv_status_io(st, SQLITE_IOERR_TRUNCATE);
      f->need_fsync = 1;
    }
    return SQLITE_OK;
  }
  case SQLITE_FCNTL_VFSNAME:
    *(char **)arg = sqlite3_mprintf("%s", MMAPIO_VFS_NAME);
    return SQLITE_OK;
  default:
    return SQLITE_NOTFOUND;
  }
}

static int mv_sector_size(sqlite3_file *pf)
{
  (void)pf;
  return 4096;
}

static int mv_device_characteristics(sqlite3_file *pf)
{
  (void)pf;
  return SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

static const sqlite3_io_methods mv_methods = {
  1, /* iVersion: no shared memory (no WAL), no xFetch */
  mv_close, mv_read, mv_write, mv_truncate, mv_sync, mv_file_size, mv_lock, mv_unlock,
  mv_check_reserved, mv_file_control, mv_sector_size, mv_device_characteristics,
  NULL, NULL, NULL, NULL, NULL, NULL
};

/* ---- sqlite3_vfs -------------------------------------------------------- */

static int mv_temp_fd(char **path_out)
{
  const char *dir = getenv("SQLITE_TMPDIR");
  if (dir == NULL) dir = getenv("TMPDIR");
  if (dir == NULL) dir = "/tmp";
  char *p = sqlite3_mprintf("%s/mmapio-vfs-XXXXXX", dir);
  if (p == NULL) return -1;
  int fd = mkstemp(p);
  if (fd >= 0) {
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    (void)unlink(p); /* gone when closed, whatever happens */
  }
  *path_out = p;
  return fd;
}

static int mv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
  mv_file *f = (mv_file *)pf;
  (void)vfs;
  memset(f, 0, sizeof *f);
  f->fd = -1;
  f->logical = (flags & SQLITE_OPEN_MAIN_DB) == 0;
  f->readonly = (flags & SQLITE_OPEN_READWRITE) == 0;
  if (name == NULL) {
    f->fd = mv_temp_fd(&f->path);
    if (f->fd < 0) {
      sqlite3_free(f->path);
      return SQLITE_CANTOPEN;
    }
  } else {
    int of = (f->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    if (flags & SQLITE_OPEN_CREATE) of |= O_CREAT;
    if (flags & SQLITE_OPEN_EXCLUSIVE) of |= O_EXCL;
    f->fd = open(name, of, 0644);
    if (f->fd < 0 && !f->readonly && (errno == EACCES || errno == EROFS) &&
        !(flags & SQLITE_OPEN_CREATE)) {
      /* Read-write refused: fall back to read-only, as SQLite expects. */
      f->readonly = 1;
      flags = (flags & ~SQLITE_OPEN_READWRITE) | SQLITE_OPEN_READONLY;
      f->fd = open(name, O_RDONLY | O_CLOEXEC);
    }
    if (f->fd < 0) return SQLITE_CANTOPEN;
    if (flags & SQLITE_OPEN_DELETEONCLOSE) (void)unlink(name);
    f->path = sqlite3_mprintf("%s", name);
  }
  if (mv_map(f) != MMAPIO_OK) {
    close(f->fd);
    sqlite3_free(f->path);
    f->fd = -1;
    return SQLITE_CANTOPEN;
  }
  if (out_flags != NULL) *out_flags = flags;
  f->base.pMethods = &mv_methods;
  return SQLITE_OK;
}

static int mv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
  (void)vfs;
  if (unlink(name) != 0) return errno == ENOENT ? SQLITE_IOERR_DELETE_NOENT : SQLITE_IOERR_DELETE;
  if (sync_dir) {
    /* Make the removal durable: fsync the directory. */
    char *dir = sqlite3_mprintf("%s", name);
    if (dir == NULL) return SQLITE_IOERR_NOMEM;
    char *slash = strrchr(dir, '/');
    if (slash == NULL) strcpy(dir, ".");
    else if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    sqlite3_free(dir);
    if (dfd >= 0) {
      int r = fsync(dfd);
      close(dfd);
      if (r != 0) return SQLITE_IOERR_DIR_FSYNC;
    }
  }
  return SQLITE_OK;
}

/* Names, time, randomness and dynamic loading come from the unix VFS. */
static int mv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
  return mv_unix(vfs)->xAccess(mv_unix(vfs), name, flags, out);
}
static int mv_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
  return mv_unix(vfs)->xFullPathname(mv_unix(vfs), name, n, out);
}
static void *mv_dl_open(sqlite3_vfs *vfs, const char *name)
{
  return mv_unix(vfs)->xDlOpen(mv_unix(vfs), name);
}
static void mv_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
  mv_unix(vfs)->xDlError(mv_unix(vfs), n, msg);
}
static void (*mv_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
  return mv_unix(vfs)->xDlSym(mv_unix(vfs), h, sym);
}
static void mv_dl_close(sqlite3_vfs *vfs, void *h) { mv_unix(vfs)->xDlClose(mv_unix(vfs), h); }
static int mv_randomness(sqlite3_vfs *vfs, int n, char *out)
{
  return mv_unix(vfs)->xRandomness(mv_unix(vfs), n, out);
}
static int mv_sleep(sqlite3_vfs *vfs, int us) { return mv_unix(vfs)->xSleep(mv_unix(vfs), us); }
static int mv_current_time(sqlite3_vfs *vfs, double *out)
{
  return mv_unix(vfs)->xCurrentTime(mv_unix(vfs), out);
}
static int mv_last_error(sqlite3_vfs *vfs, int n, char *out)
{
  (void)vfs;
  if (n > 0) snprintf(out, (size_t)n, "%s", mmapio_last_error());
  return errno;
}
static int mv_current_time_i64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
  return mv_unix(vfs)->xCurrentTimeInt64(mv_unix(vfs), out);
}

static sqlite3_vfs mv_vfs = {
  2, (int)sizeof(mv_file), 1024, NULL, MMAPIO_VFS_NAME, NULL,
  mv_open, mv_delete, mv_access, mv_full_pathname, mv_dl_open, mv_dl_error, mv_dl_sym,
  mv_dl_close, mv_randomness, mv_sleep, mv_current_time, mv_last_error, mv_current_time_i64,
  NULL, NULL, NULL
};

int mmapio_vfs_register(int make_default)
{
  if (mv_vfs.pAppData == NULL) {
    sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
    if (unix_vfs == NULL || unix_vfs->iVersion < 2) return SQLITE_ERROR;
    mv_vfs.pAppData = unix_vfs;
    mv_vfs.mxPathname = unix_vfs->mxPathname;
  }
  return sqlite3_vfs_register(&mv_vfs, make_default);
}
