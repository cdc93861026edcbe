/*
 * What a power cut leaves of an SQLite database written through the mmapio
 * VFS, on a real file system: an ext4, XFS or btrfs image, loop-mounted in
 * a private mount namespace (see tests/disk/test_ext4_powercut.c for the
 * method). Each commit inserts one row and bumps a counter in another
 * table. Every 4th commit, right after COMMIT returned, the image is copied
 * as a power cut would leave it and the copy mounted (its journal replays),
 * and the database there, with its -wal or -journal, is opened with
 * SQLite's own unix VFS (which recovers a WAL or rolls back a hot journal,
 * as after a reboot). Then:
 *   - WAL, synchronous=FULL (checkpoints every 20 pages): integrity_check
 *     is "ok" and every committed transaction is there;
 *   - rollback journal (DELETE), synchronous=EXTRA: the same (EXTRA also
 *     makes the journal's removal durable, which FULL does not promise);
 *   - WAL, synchronous=NORMAL: integrity "ok" and every transaction all or
 *     nothing (the counter equals the rows), at most the committed ones
 *     (NORMAL may lose the last commits, never consistency).
 * Needs root, a loop device and the mkfs of the file system (ext4: also
 * e2fsck); skips with the reason otherwise.
 */
#include "sqlite_test.h"

#include <fcntl.h>
#include <unistd.h>

#define COMMITS 40

typedef test_fs disk;

typedef struct mode {
  const char *name, *journal, *sync;
  int durable; /* every commit must survive */
} mode;

static const mode modes[] = {
    {"wal-full", "WAL", "FULL", 1},
    {"delete-extra", "DELETE", "EXTRA", 1},
    {"wal-normal", "WAL", "NORMAL", 0},
};

/* Checks the database `base` of a power-cut copy of the image against
 * `committed` commits. */
static void check_after_cut(const disk *d, const mode *md, const char *base, long long committed)
{
  char out[1300];
  const char *cut = test_fs_cut(d->type, d->img, d->work);
  if (cut == NULL) {
    test_child_fails++;
    test_fs_cut_end(d->work);
    return;
  }
  /* The database with its -wal and -journal as the next boot finds them
   * (the -shm is rebuilt from the WAL). */
  snprintf(out, sizeof out, "%s/%s", cut, base);
  int have_db = file_exists(out);
  if (!have_db) {
    fprintf(stderr, "%s: after %lld commits the database is not on the device\n", md->name,
            committed);
    test_child_fails++;
  } else {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(out, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
      fprintf(stderr, "%s: cannot open the copy: %s\n", md->name, sqlite3_errmsg(db));
      test_child_fails++;
    } else {
      const char *ic = sq_text(db, "PRAGMA integrity_check");
      if (strcmp(ic, "ok") != 0) {
        fprintf(stderr, "%s: after %lld commits integrity_check says: %s\n", md->name, committed, ic);
        test_child_fails++;
      }
      long long rows = sq_int(db, "SELECT count(*) FROM c");
      long long n = sq_int(db, "SELECT n FROM meta");
      if (rows != n) {
        fprintf(stderr, "%s: a torn transaction: %lld rows, counter %lld\n", md->name, rows, n);
        test_child_fails++;
      }
      if (md->durable ? rows != committed : rows > committed) {
        fprintf(stderr, "%s: %lld rows on the device after %lld commits\n", md->name, rows, committed);
        test_child_fails++;
      }
    }
    sqlite3_close(db);
  }
  test_fs_cut_end(d->work);
}

static void run_mode(const disk *d, const mode *md)
{
  char base[64], path[1200], sql[512];
  snprintf(base, sizeof base, "%s.db", md->name);
  snprintf(path, sizeof path, "%s/%s", d->dir, base);
  sqlite3 *db = sq_open(path, "mmapio");
  snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", md->journal);
  sq_exec(db, sql);
  snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", md->sync);
  sq_exec(db, sql);
  sq_exec(db, "PRAGMA wal_autocheckpoint=20");
  sq_exec(db, "PRAGMA cache_size=20");
  sq_exec(db, "BEGIN");
  sq_exec(db, "CREATE TABLE c(k INTEGER PRIMARY KEY, v TEXT, pad BLOB)");
  sq_exec(db, "CREATE TABLE meta(id INTEGER PRIMARY KEY, n INTEGER)");
  sq_exec(db, "INSERT INTO meta VALUES(1, 0)");
  sq_exec(db, "COMMIT");
  for (long long k = 0; k < COMMITS; k++) {
    sq_exec(db, "BEGIN");
    snprintf(sql, sizeof sql,
             "INSERT INTO c VALUES(%lld, printf('val-%%d', %lld), zeroblob(%lld))", k, k,
             2000 + (k * 7919) % 20000);
    sq_exec(db, sql);
    sq_exec(db, "UPDATE meta SET n = n + 1 WHERE id = 1");
    sq_exec(db, "COMMIT");
    if (k % 4 == 3) check_after_cut(d, md, base, k + 1);
  }
  sqlite3_close(db);
}

static int on_fs(const test_fs *fs, void *arg)
{
  (void)arg;
  if (mmapio_vfs_register(0) != SQLITE_OK) return 1;
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) run_mode(fs, &modes[i]);
  return test_child_result();
}

/* Usage: sqlite_sqlite_powercut [ext4|xfs|btrfs] (default ext4; CTest runs
 * all three). */
int main(int argc, char **argv)
{
  const char *type = argc > 1 ? argv[1] : "ext4";
#if !defined(__linux__)
  TEST_SKIP("the %s loop-device test needs Linux", type);
#else
  /* The smallest image each mkfs makes, or 64 MiB. */
  unsigned mib = strcmp(type, "xfs") == 0 ? 300 : strcmp(type, "btrfs") == 0 ? 128 : 64;
  test_on_fs(type, mib, strcmp(type, "ext4") == 0 ? "e2fsck" : NULL, "SQLite power-cut checks", on_fs,
             NULL);
  return 0;
#endif
}
