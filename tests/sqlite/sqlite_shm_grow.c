/*
 * A wal-index larger than one -shm map's reservation. This program builds
 * the VFS with a 64 KiB reservation (two 32 KiB regions) instead of 16 MiB,
 * so a WAL of some 10000 frames (512-byte pages, no checkpoints) needs
 * regions beyond it: a second map takes over, and the regions of the first
 * keep their addresses. Everything must still work: reads through this
 * connection, through a unix-VFS connection in another process and (on
 * Linux) a second mmapio connection here, which both use the whole
 * wal-index; then a checkpoint and integrity_check.
 */
#include "sqlite_test.h"

#include <sys/wait.h>
#include <unistd.h>

#define ROWS 12000

static int child_check(const char *path, const char *vfs)
{
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, vfs) != SQLITE_OK) return 10;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT count(*), sum(x) FROM t", -1, &st, NULL) != SQLITE_OK) return 11;
  if (sqlite3_step(st) != SQLITE_ROW) return 12;
  long long n = sqlite3_column_int64(st, 0), sum = sqlite3_column_int64(st, 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (n != ROWS || sum != (long long)ROWS * (ROWS - 1) / 2) return 13;
  return 0;
}

int main(void)
{
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
  char *p = test_tmp_path("sq-shmgrow");
  sqlite3 *db = sq_open(p, "mmapio");
  sq_exec(db, "PRAGMA page_size=512");
  ASSERT_STREQ(sq_text(db, "PRAGMA journal_mode=WAL"), "wal");
  sq_exec(db, "PRAGMA wal_autocheckpoint=0");
  sq_exec(db, "CREATE TABLE t(x INTEGER PRIMARY KEY, pad BLOB)");
  /* One row per transaction: about one new frame each, plus the pages
   * rewritten on the way. */
  sqlite3_stmt *ins = NULL;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, zeroblob(100))", -1, &ins, NULL), SQLITE_OK);
  for (int i = 0; i < ROWS; i++) {
    sqlite3_bind_int(ins, 1, i);
    ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  mmapio_vfs_stats vs;
  ASSERT_EQ(sqlite3_file_control(db, "main", MMAPIO_VFS_FCNTL_STATS, &vs), SQLITE_OK);
  printf("%llu regions in %llu -shm maps\n", vs.shm_regions, vs.shm_maps);
  ASSERT(vs.shm_regions >= 4u);
  ASSERT(vs.shm_maps >= 2u);
  ASSERT_EQ(sq_int(db, "SELECT count(*) FROM t"), ROWS);

  const char *vfs[2] = {"unix", "mmapio"};
  for (int i = 0; i < 2; i++) {
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) _exit(child_check(p, vfs[i])); /* new connections only */
    int ws = 0;
    ASSERT_EQ(waitpid(pid, &ws, 0), pid);
    ASSERT(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
  }
#if defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)
  ASSERT_EQ(child_check(p, "mmapio"), 0); /* a second connection here */
#endif
  ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
  sq_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_EQ(sq_int(db, "SELECT sum(x) FROM t"), (long long)ROWS * (ROWS - 1) / 2);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  db = sq_open(p, "unix");
  ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
  sqlite3_close(db);
  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
