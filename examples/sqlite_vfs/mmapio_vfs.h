/*
 * mmapio_vfs.h -- an SQLite VFS whose file I/O goes through mmapio.
 *
 * Register it once, then open databases with it by name:
 *
 *     mmapio_vfs_register(0);
 *     sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "mmapio");
 *
 * What it supports: rollback journals (journal_mode DELETE, TRUNCATE,
 * PERSIST, MEMORY, OFF) and WAL (the "-shm" wal-index is a shared mmapio
 * map), every synchronous setting, temporary files, memory-mapped reads
 * (PRAGMA mmap_size: xFetch), and locking against other processes and
 * other connections of this process that is compatible with SQLite's own
 * unix VFS (the same lock bytes in the database and in the -shm file). It
 * is POSIX only. See the README in this directory.
 */
#ifndef MMAPIO_VFS_H
#define MMAPIO_VFS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The name the VFS is registered under. */
#define MMAPIO_VFS_NAME "mmapio"

/* Counters of one open file, read with
 *     mmapio_vfs_stats st;
 *     sqlite3_file_control(db, "main", MMAPIO_VFS_FCNTL_STATS, &st);
 * (for tests and tuning; they count this connection's database file). */
typedef struct mmapio_vfs_stats {
  unsigned long long fetch_pages;   /* xFetch calls that returned a pointer */
  unsigned long long fetch_null;    /* xFetch calls answered with NULL (xRead instead) */
  unsigned long long fetch_out;     /* fetched pages not yet released (xUnfetch) */
  unsigned long long fetch_maps;    /* times the read-only fetch map was (re)made */
  unsigned long long fetch_max_end; /* highest end offset of a fetched page */
  unsigned long long shm_opens;     /* -shm files joined */
  unsigned long long shm_first;     /* ... as the first connection (the -shm was reset) */
  unsigned long long shm_regions;   /* wal-index regions mapped */
  unsigned long long shm_maps;      /* -shm maps made (a second one past the reservation) */
} mmapio_vfs_stats;

/* The file-control opcode of mmapio_vfs_stats (outside SQLite's range). */
#define MMAPIO_VFS_FCNTL_STATS 0x6d760001

/* Register the VFS (idempotent). make_default != 0 also makes it SQLite's
 * default VFS. Returns an SQLite result code (SQLITE_OK, or SQLITE_ERROR
 * when SQLite has no "unix" VFS to take names, time and randomness from). */
int mmapio_vfs_register(int make_default);

#ifdef __cplusplus
}
#endif
#endif
