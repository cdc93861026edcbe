/*
 * mmapio_vfs.c -- an SQLite VFS on mmapio (see mmapio_vfs.h and README.md).
 *
 * Every file SQLite opens (the database, its rollback journal or WAL,
 * temporary files) is a descriptor this VFS opens itself and maps with
 * mmapio_open_fd_opts(MMAPIO_OPEN_BORROW_FD | MMAPIO_OPEN_ALLOW_EMPTY):
 *
 *  - BORROW_FD: the map uses our descriptor and never closes it, so the
 *    descriptor (which holds the locks) lives exactly as long as the
 *    sqlite3_file;
 *  - ALLOW_EMPTY: a new database, journal or WAL is a 0-byte file, and a
 *    truncated one is one again.
 *
 * Reads and writes are mmapio_read / mmapio_write (bounds checked copies).
 *
 * Shared files (the database and its WAL) are read and written by other
 * connections and processes too, so their size is the file's: `fsize` is
 * the length last seen with fstat (or set by us), and every access is
 * bounded by it. The map grows with mmapio_resize within a 1 GiB max_size
 * reservation, so growth stays in place. When another process shortened
 * the file, the map keeps its longer length (a shrink through mmapio would
 * truncate the file, which must only happen while we hold SQLite's right to
 * change it); bytes past `fsize` are never touched, and the map follows the
 * file again when this connection next changes the file's length. A WAL
 * grows in 256 KiB steps (zeros after the last frame are invalid frames to
 * SQLite), the database to the exact size SQLite asks for.
 *
 * Journals and temporary files are private to one connection while they
 * are written, so their size is mmapio's logical end (mmapio_set_logical_len):
 * the capacity grows in steps and the file is cut to the logical end when it
 * is closed. After a crash a journal may be longer than what was written,
 * with zeros after it; SQLite's journal format copes (the header's record
 * count under synchronous=FULL, record checksums otherwise).
 *
 * Locks are mmapio_file_lock byte ranges at the offsets SQLite's own unix
 * VFS uses (the pending byte at 1 GiB, the reserved byte after it, then a
 * 510-byte shared range), so connections through this VFS and through the
 * unix VFS exclude each other correctly. On Linux they are open file
 * description locks: two connections of one process exclude each other, and
 * closing one never drops the locks of another.
 *
 * WAL (shared memory, xShm*): the wal-index is the "<db>-shm" file, mapped
 * read-write and shared through mmapio with a max_size reservation, so the
 * 32 KiB regions SQLite asks for keep their address while the file grows in
 * place. Each connection has its own -shm descriptor; its locks are
 * mmapio_file_lock bytes at the offsets the unix VFS uses in the -shm file:
 * lock slot i (0..7: write, checkpoint, recover, read 0..4) is byte 120 + i,
 * and byte 128 is the "dead man switch" (DMS): every connection holds it
 * shared while it uses the -shm; a connection that can take it exclusively
 * is the only one and starts from an empty -shm (the file is truncated to 0
 * bytes), so a wal-index left behind by a crash is never trusted.
 *
 * Memory-mapped reads (xFetch / xUnfetch, PRAGMA mmap_size): pointers come
 * from a second, read-only map of the database file, created when SQLite
 * first fetches a page and held by one portable view for its whole life.
 * That map is never resized, and it is replaced (closed and mapped again,
 * for a grown file or a new mmap_size) only while no fetched page is out,
 * so a pointer SQLite holds never moves or goes away; where a page cannot
 * be given safely (past the mmap_size limit, past that map while pages are
 * out) xFetch returns NULL and SQLite reads the page with xRead.
 */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#  define _XOPEN_SOURCE 700 /* mkstemp, fdatasync */
#endif
#include "mmapio_vfs.h"

#include "mmapio.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
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

/* The -shm lock bytes of the unix VFS: slot i at MV_SHM_BASE + i, then the
 * dead man switch. */
#define MV_SHM_BASE UINT64_C(120)
#define MV_SHM_DMS (MV_SHM_BASE + SQLITE_SHM_NLOCK)

/* Address space reserved per read-write file for in-place growth. */
#define MV_MAX_SIZE (UINT64_C(1) << 30)
/* SQLITE_OPEN_SUPER_JOURNAL, called SQLITE_OPEN_MASTER_JOURNAL before
 * SQLite 3.33. */
#define MV_OPEN_SUPER_JOURNAL 0x00004000
/* ... and per -shm map (512 regions of 32 KiB: a WAL of 2 million frames);
 * a larger wal-index gets another map with twice the reservation. (A test
 * builds the VFS with a smaller one to reach that case.) */
#ifndef MV_SHM_RESERVE
#  define MV_SHM_RESERVE (UINT64_C(16) << 20)
#endif
#define MV_SHM_MAPS 16
/* WAL growth step. */
#define MV_WAL_STEP (UINT64_C(256) << 10)

typedef struct mv_shm {
  int fd;
  char *path;
  mmapio_map *maps[MV_SHM_MAPS]; /* maps[0] also carries the locks */
  int given[MV_SHM_MAPS];        /* regions handed out from each map */
  int nmaps;
  void **region;                 /* region pointers handed out, by index */
  int nregion;
  unsigned shared_mask, excl_mask; /* lock slots held by this connection */
} mv_shm;

typedef struct mv_file {
  sqlite3_file base;
  mmapio_map *m;
  int fd;
  int readonly;
  int logical;     /* size = mmapio_logical_len (journals, temp files) */
  int wal;         /* the WAL file: grows in steps */
  int need_fsync;  /* the length changed since the last xSync */
  int need_dirsync; /* a journal or WAL opened with CREATE: its name is made
                       durable (the directory fsynced) at its first xSync */
  int lock;        /* SQLITE_LOCK_* held by this connection */
  uint64_t fsize;  /* shared files: the file's length as last seen or set */
  char *path;      /* for re-mapping a read-only database that grew, -shm name */
  /* xFetch */
  sqlite3_int64 mmap_max; /* PRAGMA mmap_size: bytes that may be fetched */
  mmapio_map *fm;         /* read-only map the fetched pages point into */
  mmapio_view fview;      /* holds fm for its life */
  uint64_t flen;          /* length of fm */
  mmapio_vfs_stats st;
  mv_shm *shm;
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
    /* A file larger than the reservation: map it as it is. */
    o.max_size = 0;
    rc = mmapio_open_fd_opts(&f->m, f->fd, &o, f->path);
  }
  return rc;
}

/* A shared file (database, WAL): learn the file's current length, which
 * another connection may have changed, and make the map cover it. A file
 * that got shorter leaves the map as it is (see the top of the file). */
static int mv_refresh(mv_file *f)
{
  struct stat st;
  if (f->logical) return SQLITE_OK;
  if (fstat(f->fd, &st) != 0) return SQLITE_IOERR_FSTAT;
  uint64_t sz = (uint64_t)st.st_size;
  f->fsize = sz;
  if (sz <= mmapio_len(f->m)) return SQLITE_OK;
  if (f->readonly) {
    mmapio_map *old = f->m;
    f->m = NULL;
    if (mv_map(f) != MMAPIO_OK) {
      f->m = old;
      f->fsize = mmapio_len(old);
      return SQLITE_IOERR_FSTAT;
    }
    mmapio_close(old);
    if (f->fsize > mmapio_len(f->m)) f->fsize = mmapio_len(f->m);
    return SQLITE_OK;
  }
  if (mmapio_resize(f->m, sz) != MMAPIO_OK) {
    f->fsize = mmapio_len(f->m);
    return SQLITE_IOERR_FSTAT;
  }
  return SQLITE_OK;
}

/* A shared file: set the file's length to `len` (this connection holds
 * SQLite's right to change it, and mv_refresh has just read it). */
static int mv_set_len(mv_file *f, uint64_t len)
{
  int st = MMAPIO_OK;
  /* A map longer than the file first follows the file again. */
  if (mmapio_len(f->m) > f->fsize) st = mmapio_resize(f->m, f->fsize);
  if (st == MMAPIO_OK) st = mmapio_resize(f->m, len);
  if (st != MMAPIO_OK) return st;
  f->fsize = len;
  f->need_fsync = 1;
  return MMAPIO_OK;
}

static uint64_t mv_size(mv_file *f) { return f->logical ? mmapio_logical_len(f->m) : f->fsize; }

static int mv_status_io(int st, int dflt)
{
  if (st == MMAPIO_ENOSPC) return SQLITE_FULL;
  if (st == MMAPIO_ENOMEM) return SQLITE_IOERR_NOMEM;
  return dflt;
}

static void mv_shm_close(mv_file *f, int delete_file);

/* ---- the fetch map ------------------------------------------------------ */

static void mv_fetch_unmap(mv_file *f)
{
  if (f->fm == NULL) return;
  mmapio_view_release(&f->fview);
  (void)mmapio_close(f->fm);
  f->fm = NULL;
  f->flen = 0;
}

/* Map the database file read-only for fetches; only while no fetched page
 * is out. Returns 0 when it is mapped. */
static int mv_fetch_map(mv_file *f)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_BORROW_FD | MMAPIO_OPEN_ALLOW_EMPTY;
  o.mode = MMAPIO_MODE_READ_ONLY;
  mmapio_map *m = NULL;
  if (mmapio_open_fd_opts(&m, f->fd, &o, f->path) != MMAPIO_OK) return -1;
  /* One portable view of the whole map: it is released from whichever
   * thread the connection runs on when the map is dropped. */
  if (mmapio_view_get_flags(&f->fview, m, 0, mmapio_len(m), MMAPIO_VIEW_PORTABLE) != MMAPIO_OK) {
    (void)mmapio_close(m);
    return -1;
  }
  f->fm = m;
  f->flen = mmapio_len(m);
  f->st.fetch_maps++;
  return 0;
}

/* ---- sqlite3_io_methods ------------------------------------------------- */

static int mv_close(sqlite3_file *pf)
{
  mv_file *f = (mv_file *)pf;
  int rc = SQLITE_OK;
  if (f->shm != NULL) mv_shm_close(f, 0);
  mv_fetch_unmap(f);
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
  } else if (end > f->fsize) {
    /* Another process may have changed the length since we last looked. */
    int rc = mv_refresh(f);
    if (rc != SQLITE_OK) return rc;
    if (end > f->fsize) {
      uint64_t len = f->wal ? mmapio_align_up(end, MV_WAL_STEP) : end;
      st = mv_set_len(f, len);
      if (st != MMAPIO_OK) return mv_status_io(st, SQLITE_IOERR_WRITE);
    }
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
    int rc = mv_refresh(f);
    if (rc != SQLITE_OK) return rc;
    st = (uint64_t)size == f->fsize && mmapio_len(f->m) == f->fsize ? MMAPIO_OK
                                                                   : mv_set_len(f, (uint64_t)size);
  }
  return st == MMAPIO_OK ? SQLITE_OK : mv_status_io(st, SQLITE_IOERR_TRUNCATE);
}

/* fsync the directory that holds `name`, which makes a new name, or a
 * removal, durable: SQLITE_OK (also when the directory cannot be opened,
 * or its file system cannot fsync a directory: EINVAL), SQLITE_IOERR_NOMEM
 * or SQLITE_IOERR_DIR_FSYNC. */
static int mv_fsync_dir(const char *name)
{
  char *dir = sqlite3_mprintf("%s", name);
  if (dir == NULL) return SQLITE_IOERR_NOMEM;
  char *slash = strrchr(dir, '/');
  if (slash == NULL) strcpy(dir, ".");
  else if (slash == dir) slash[1] = '\0';
  else *slash = '\0';
  int dfd = open(dir, O_RDONLY | O_CLOEXEC);
  sqlite3_free(dir);
  if (dfd < 0) return SQLITE_OK;
  int r = fsync(dfd) != 0 && errno != EINVAL ? SQLITE_IOERR_DIR_FSYNC : SQLITE_OK;
  close(dfd);
  return r;
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
  /* A new journal or WAL must not vanish in a power cut after a commit
   * that relied on it: sync its directory entry once, as the unix VFS does.
   * A file system that cannot fsync a directory (EINVAL) has nothing to
   * sync there. */
  if (f->need_dirsync) {
    int rc = mv_fsync_dir(f->path);
    if (rc != SQLITE_OK) return rc;
    f->need_dirsync = 0;
  }
  return SQLITE_OK;
}

static int mv_file_size(sqlite3_file *pf, sqlite3_int64 *out)
{
  mv_file *f = (mv_file *)pf;
  /* In rollback mode nobody else may change the database file while we
   * hold a SHARED lock (or more), and the size was refreshed when the lock
   * was taken. In WAL mode (and for the WAL itself) a checkpoint or a
   * writer of another connection changes it under that lock: ask the file. */
  int rc = f->lock >= SQLITE_LOCK_SHARED && f->shm == NULL ? SQLITE_OK : mv_refresh(f);
  if (rc != SQLITE_OK) return rc;
  *out = (sqlite3_int64)mv_size(f);
  return SQLITE_OK;
}

/* 1 when the range could be locked right now (a shared or exclusive lock
 * is taken: the caller keeps or drops it), 0 when another holds it, -1 on
 * an error. */
static int mv_try_map(mmapio_map *m, uint64_t off, uint64_t len, int excl)
{
  int st = mmapio_file_lock(m, off, len,
                            (excl ? MMAPIO_FILE_LOCK_EXCLUSIVE : MMAPIO_FILE_LOCK_SHARED) |
                                MMAPIO_FILE_LOCK_NOWAIT);
  if (st == MMAPIO_OK) return 1;
  if (st == MMAPIO_EAGAIN || st == MMAPIO_EDEADLK) return 0;
  return -1;
}
static int mv_try(mv_file *f, uint64_t off, uint64_t len, int excl)
{
  return mv_try_map(f->m, off, len, excl);
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
    if (!f->logical && !f->readonly && want > 0 && (uint64_t)want > f->fsize) {
      int rc = mv_refresh(f);
      if (rc != SQLITE_OK) return rc;
      if ((uint64_t)want > f->fsize) {
        int st = mv_set_len(f, (uint64_t)want);
        if (st != MMAPIO_OK) return mv_status_io(st, SQLITE_IOERR_TRUNCATE);
      }
    }
    return SQLITE_OK;
  }
  case SQLITE_FCNTL_MMAP_SIZE: {
    /* PRAGMA mmap_size: how many bytes from the start of the file xFetch
     * may hand out (SQLite caps it at its SQLITE_MAX_MMAP_SIZE). A negative
     * value only asks for the current one. */
    sqlite3_int64 want = *(sqlite3_int64 *)arg;
    *(sqlite3_int64 *)arg = f->mmap_max;
    if (want >= 0 && want != f->mmap_max) {
      f->mmap_max = want;
      if (f->st.fetch_out == 0) mv_fetch_unmap(f); /* mapped afresh when needed */
    }
    return SQLITE_OK;
  }
  case MMAPIO_VFS_FCNTL_STATS:
    *(mmapio_vfs_stats *)arg = f->st;
    return SQLITE_OK;
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

/* ---- shared memory (WAL index) ----------------------------------------- */

static int mv_shm_open_map(mv_shm *s, uint64_t max_size, mmapio_map **out)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_BORROW_FD | MMAPIO_OPEN_ALLOW_EMPTY;
  o.mode = MMAPIO_MODE_READ_WRITE;
  o.max_size = max_size;
  return mmapio_open_fd_opts(out, s->fd, &o, s->path);
}

static void mv_shm_free(mv_shm *s)
{
  for (int i = 0; i < s->nmaps; i++) (void)mmapio_close(s->maps[i]);
  if (s->fd >= 0) close(s->fd); /* drops this connection's -shm locks */
  sqlite3_free(s->region);
  sqlite3_free(s->path);
  sqlite3_free(s);
}

static void mv_shm_close(mv_file *f, int delete_file)
{
  mv_shm *s = f->shm;
  if (s == NULL) return;
  f->shm = NULL;
  /* Removed while we still hold the DMS byte (SQLite asks for it only
   * when it knows this is the last connection). */
  if (delete_file) (void)unlink(s->path);
  mv_shm_free(s);
}

/* Open "<db>-shm" and join the wal-index: the DMS byte decides whether this
 * connection is the first (then the -shm starts empty). */
static int mv_shm_open(mv_file *f)
{
  if (f->path == NULL) return SQLITE_IOERR_SHMOPEN;
  mv_shm *s = (mv_shm *)sqlite3_malloc((int)sizeof *s);
  if (s == NULL) return SQLITE_IOERR_NOMEM;
  memset(s, 0, sizeof *s);
  s->fd = -1;
  s->path = sqlite3_mprintf("%s-shm", f->path);
  if (s->path == NULL) {
    mv_shm_free(s);
    return SQLITE_IOERR_NOMEM;
  }
  /* Created with the database's permission bits, as the unix VFS does. */
  struct stat dbst;
  mode_t mode = fstat(f->fd, &dbst) == 0 ? (dbst.st_mode & 0777) : 0644;
  s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
  if (s->fd < 0) {
    mv_shm_free(s);
    return SQLITE_CANTOPEN;
  }
  struct stat st;
  if (fstat(s->fd, &st) != 0) {
    mv_shm_free(s);
    return SQLITE_IOERR_SHMOPEN;
  }
  uint64_t reserve = MV_SHM_RESERVE;
  if ((uint64_t)st.st_size > reserve) reserve = mmapio_align_up((uint64_t)st.st_size, MV_SHM_RESERVE);
  if (mv_shm_open_map(s, reserve, &s->maps[0]) != MMAPIO_OK) {
    mv_shm_free(s);
    return SQLITE_IOERR_SHMOPEN;
  }
  s->nmaps = 1;
  f->st.shm_maps++;
  int rc = SQLITE_OK, first = 0;
  int r = mv_try_map(s->maps[0], MV_SHM_DMS, 1, 1);
  if (r == 1) {
    first = 1;
    /* Nobody else uses the wal-index: start from an empty -shm (the map
     * has handed out nothing yet, so it may shrink), then hold the DMS
     * byte shared like every other connection (a conversion: nobody can
     * get in between). */
    if (mmapio_resize(s->maps[0], 0) != MMAPIO_OK) rc = SQLITE_IOERR_SHMOPEN;
    else if (mv_try_map(s->maps[0], MV_SHM_DMS, 1, 0) != 1) rc = SQLITE_IOERR_SHMOPEN;
  } else if (r == 0) {
    /* Others hold it shared (join them) or one holds it exclusively while
     * it starts the wal-index afresh (SQLite retries on SQLITE_BUSY). */
    r = mv_try_map(s->maps[0], MV_SHM_DMS, 1, 0);
    if (r != 1) rc = r == 0 ? SQLITE_BUSY : SQLITE_IOERR_SHMOPEN;
  } else {
    rc = SQLITE_IOERR_SHMOPEN;
  }
  if (rc != SQLITE_OK) {
    mv_shm_free(s);
    return rc;
  }
  f->shm = s;
  f->st.shm_opens++;
  if (first) f->st.shm_first++;
  return SQLITE_OK;
}

static int mv_shm_map(sqlite3_file *pf, int region, int size, int extend, void volatile **pp)
{
  mv_file *f = (mv_file *)pf;
  *pp = NULL;
  if (region < 0 || size <= 0) return SQLITE_IOERR_SHMMAP;
  if (f->shm == NULL) {
    int rc = mv_shm_open(f);
    if (rc != SQLITE_OK) return rc;
  }
  mv_shm *s = f->shm;
  if (region < s->nregion && s->region[region] != NULL) {
    *pp = s->region[region];
    return SQLITE_OK;
  }
  if (region >= s->nregion) {
    int n = region + 16;
    void **nr = (void **)sqlite3_realloc(s->region, (int)(sizeof(void *) * (size_t)n));
    if (nr == NULL) return SQLITE_IOERR_NOMEM;
    memset(nr + s->nregion, 0, sizeof(void *) * (size_t)(n - s->nregion));
    s->region = nr;
    s->nregion = n;
  }
  uint64_t need = ((uint64_t)region + 1) * (uint64_t)size;
  int k = s->nmaps - 1;
  mmapio_map *m = s->maps[k];
  if (mmapio_len(m) < need) {
    struct stat st;
    if (fstat(s->fd, &st) != 0) return SQLITE_IOERR_SHMSIZE;
    /* Not there yet and SQLite does not ask for it to be made: NULL. */
    if ((uint64_t)st.st_size < need && !extend) return SQLITE_OK;
    /* The map grows in place (fallocate of what the file lacks; a part
     * another process already made is kept as it is). A map that has
     * handed out regions never moves: past its reservation a new map
     * takes over, and the regions of the old one stay where they are. */
    if (need > mmapio_capacity(m) && s->given[k] > 0) {
      if (s->nmaps == MV_SHM_MAPS) return SQLITE_IOERR_SHMMAP;
      uint64_t reserve = mmapio_capacity(m) * 2;
      if (reserve < need * 2) reserve = mmapio_align_up(need * 2, MV_SHM_RESERVE);
      if (reserve < (uint64_t)st.st_size) reserve = mmapio_align_up((uint64_t)st.st_size, MV_SHM_RESERVE);
      mmapio_map *nm = NULL;
      if (mv_shm_open_map(s, reserve, &nm) != MMAPIO_OK) return SQLITE_IOERR_SHMMAP;
      k = s->nmaps++;
      s->maps[k] = m = nm;
      f->st.shm_maps++;
    }
    if (mmapio_len(m) < need) {
      int st2 = mmapio_resize(m, need);
      if (st2 != MMAPIO_OK) return st2 == MMAPIO_ENOSPC ? SQLITE_FULL : SQLITE_IOERR_SHMSIZE;
    }
  }
  s->region[region] = (char *)mmapio_unsafe_ptr(m) + (uint64_t)region * (uint64_t)size;
  s->given[k]++;
  f->st.shm_regions++;
  *pp = s->region[region];
  return SQLITE_OK;
}

static int mv_shm_lock(sqlite3_file *pf, int ofst, int n, int flags)
{
  mv_file *f = (mv_file *)pf;
  mv_shm *s = f->shm;
  if (s == NULL || ofst < 0 || n < 1 || ofst + n > SQLITE_SHM_NLOCK) return SQLITE_IOERR_SHMLOCK;
  unsigned mask = ((1u << n) - 1u) << ofst;
  uint64_t off = MV_SHM_BASE + (uint64_t)ofst;
  if (flags & SQLITE_SHM_UNLOCK) {
    unsigned held = (s->shared_mask | s->excl_mask) & mask;
    if (held != 0 && mmapio_file_unlock(s->maps[0], off, (uint64_t)n) != MMAPIO_OK)
      return SQLITE_IOERR_SHMLOCK;
    s->shared_mask &= ~mask;
    s->excl_mask &= ~mask;
    return SQLITE_OK;
  }
  int excl = (flags & SQLITE_SHM_EXCLUSIVE) != 0;
  if (excl ? (s->excl_mask & mask) == mask : (s->shared_mask & mask) == mask) return SQLITE_OK;
  int r = mv_try_map(s->maps[0], off, (uint64_t)n, excl);
  if (r < 0) return SQLITE_IOERR_SHMLOCK;
  if (r == 0) return SQLITE_BUSY;
  if (excl) s->excl_mask |= mask;
  else s->shared_mask |= mask;
  return SQLITE_OK;
}

static void mv_shm_barrier(sqlite3_file *pf)
{
  (void)pf;
  atomic_thread_fence(memory_order_seq_cst);
}

static int mv_shm_unmap(sqlite3_file *pf, int delete_flag)
{
  mv_shm_close((mv_file *)pf, delete_flag);
  return SQLITE_OK;
}

/* ---- memory-mapped reads ------------------------------------------------ */

static int mv_fetch(sqlite3_file *pf, sqlite3_int64 ofst, int amt, void **pp)
{
  mv_file *f = (mv_file *)pf;
  uint64_t off = (uint64_t)ofst, end = off + (uint64_t)amt;
  *pp = NULL;
  if (ofst < 0 || amt <= 0 || f->logical || f->mmap_max <= 0 || end > (uint64_t)f->mmap_max) {
    f->st.fetch_null++;
    return SQLITE_OK;
  }
  if (f->fm == NULL || end > f->flen || end > f->fsize) {
    /* The fetch map is replaced only while no fetched page is out. */
    if (f->st.fetch_out > 0) {
      f->st.fetch_null++;
      return SQLITE_OK;
    }
    if (end > f->fsize) {
      int rc = mv_refresh(f);
      if (rc != SQLITE_OK) return rc;
    }
    if (end > f->fsize) { /* past the end of the file */
      f->st.fetch_null++;
      return SQLITE_OK;
    }
    mv_fetch_unmap(f);
    if (mv_fetch_map(f) != 0 || end > f->flen) {
      f->st.fetch_null++;
      return SQLITE_OK;
    }
  }
  *pp = (void *)(f->fview.data + off);
  f->st.fetch_out++;
  f->st.fetch_pages++;
  if (end > f->st.fetch_max_end) f->st.fetch_max_end = end;
  return SQLITE_OK;
}

static int mv_unfetch(sqlite3_file *pf, sqlite3_int64 ofst, void *p)
{
  mv_file *f = (mv_file *)pf;
  (void)ofst;
  if (p != NULL) {
    if (f->st.fetch_out > 0) f->st.fetch_out--;
  } else if (f->st.fetch_out == 0) {
    /* SQLite asks for the mapping to be dropped (e.g. the database changed
     * while this connection held no lock). */
    mv_fetch_unmap(f);
  }
  return SQLITE_OK;
}

static const sqlite3_io_methods mv_methods = {
  3, /* iVersion: shared memory (WAL) and xFetch */
  mv_close, mv_read, mv_write, mv_truncate, mv_sync, mv_file_size, mv_lock, mv_unlock,
  mv_check_reserved, mv_file_control, mv_sector_size, mv_device_characteristics,
  mv_shm_map, mv_shm_lock, mv_shm_barrier, mv_shm_unmap, mv_fetch, mv_unfetch
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
  /* The database and its WAL are shared with other connections; journals
   * and temporary files belong to this one. */
  f->logical = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) == 0;
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
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
    else if ((flags & SQLITE_OPEN_CREATE) &&
             (flags & (SQLITE_OPEN_MAIN_JOURNAL | MV_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL)))
      f->need_dirsync = 1;
    f->path = sqlite3_mprintf("%s", name);
  }
  if (mv_map(f) != MMAPIO_OK) {
    close(f->fd);
    sqlite3_free(f->path);
    f->fd = -1;
    return SQLITE_CANTOPEN;
  }
  f->fsize = mmapio_len(f->m);
  if (out_flags != NULL) *out_flags = flags;
  f->base.pMethods = &mv_methods;
  return SQLITE_OK;
}

static int mv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
  (void)vfs;
  if (unlink(name) != 0) return errno == ENOENT ? SQLITE_IOERR_DELETE_NOENT : SQLITE_IOERR_DELETE;
  /* Make the removal durable: fsync the directory. */
  return sync_dir ? mv_fsync_dir(name) : SQLITE_OK;
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
