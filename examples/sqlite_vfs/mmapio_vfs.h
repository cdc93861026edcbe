/*
 * mmapio_vfs.h -- an SQLite VFS whose file I/O goes through mmapio.
 *
 * Register it once, then open databases with it by name:
 *
 *     mmapio_vfs_register(0);
 *     sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "mmapio");
 *
 * What it supports: rollback journals (journal_mode DELETE, TRUNCATE,
 * PERSIST, MEMORY, OFF), every synchronous setting, temporary files, and
 * locking against other processes and other connections of this process
 * that is compatible with SQLite's own unix VFS (the same lock bytes). It
 * does not support WAL (it has no shared-memory methods; SQLite then
 * refuses journal_mode=WAL unless locking_mode=EXCLUSIVE) and is POSIX only.
 * See the README in this directory.
 */
#ifndef MMAPIO_VFS_H
#define MMAPIO_VFS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The name the VFS is registered under. */
#define MMAPIO_VFS_NAME "mmapio"

/* Register the VFS (idempotent). make_default != 0 also makes it SQLite's
 * default VFS. Returns an SQLite result code (SQLITE_OK, or SQLITE_ERROR
 * when SQLite has no "unix" VFS to take names, time and randomness from). */
int mmapio_vfs_register(int make_default);

#ifdef __cplusplus
}
#endif
#endif
