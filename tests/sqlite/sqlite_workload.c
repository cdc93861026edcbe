/*
 * The mmapio SQLite VFS (examples/sqlite_vfs/) runs a workload of inserts,
 * updates, deletes, index builds, a VACUUM and queries in rollback-journal
 * mode; PRAGMA integrity_check is "ok"; the final content and every query
 * answer equal those of the same workload through SQLite's unix VFS; the
 * database written through mmapio reads back identically through the unix
 * VFS and vice versa; temporary files (a large sort) work; journal files do
 * not outlive their transaction; WAL is refused (no shared memory methods).
 */
#include "sqlite_test.h"

#include <sys/stat.h>
#include <unistd.h>

static uint64_t run(const char *path, const char *vfs, const char *mode, uint64_t *content)
{
  sqlite3 *db = sq_open(path, vfs);
  char sql[128];
  snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", mode);
  sq_exec(db, sql);
  sq_exec(db, "PRAGMA synchronous=FULL");
  sq_exec(db, "PRAGMA cache_size=50"); /* small cache: pages spill and are re-read */
  uint64_t q = sq_workload(db, 80, 42);
  /* A sort larger than the cache goes through temporary files. */
  q = q * 31u + sq_digest(db, "SELECT data, name FROM items ORDER BY data, name");
  ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
  *content = sq_db_digest(db);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  return q;
}

int main(void)
{
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK); /* idempotent */
  ASSERT(sqlite3_vfs_find("mmapio") != NULL);
  const char *modes[] = {"DELETE", "TRUNCATE", "PERSIST"};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    char *pm = test_tmp_path("sq-mmapio"), *pu = test_tmp_path("sq-unix");
    uint64_t cm = 0, cu = 0;
    uint64_t qm = run(pm, "mmapio", modes[i], &cm);
    uint64_t qu = run(pu, "unix", modes[i], &cu);
    printf("%s: queries %016llx / %016llx, content %016llx / %016llx\n", modes[i],
           (unsigned long long)qm, (unsigned long long)qu, (unsigned long long)cm,
           (unsigned long long)cu);
    ASSERT_U64_EQ(qm, qu);
    ASSERT_U64_EQ(cm, cu);
    /* Cross-read: each file through the other VFS. */
    sqlite3 *db = sq_open(pm, "unix");
    ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
    ASSERT_U64_EQ(sq_db_digest(db), cu);
    sqlite3_close(db);
    db = sq_open(pu, "mmapio");
    ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
    ASSERT_U64_EQ(sq_db_digest(db), cm);
    /* More work through mmapio on the unix-written file, then check again. */
    sq_workload(db, 10, 7);
    ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);
    /* The journal is gone after DELETE; a file's size is a page multiple. */
    char jp[1100];
    snprintf(jp, sizeof jp, "%s-journal", pm);
    struct stat st;
    if (i == 0) ASSERT(stat(jp, &st) != 0);
    ASSERT_EQ(stat(pm, &st), 0);
    ASSERT_EQ(st.st_size % 4096, 0);
    test_unlink(jp);
    snprintf(jp, sizeof jp, "%s-journal", pu);
    test_unlink(jp);
    test_unlink(pm);
    test_unlink(pu);
    free(pm);
    free(pu);
  }

  /* WAL needs shared memory, which this VFS does not have. */
  char *pw = test_tmp_path("sq-wal");
  sqlite3 *db = sq_open(pw, "mmapio");
  ASSERT_STREQ(sq_text(db, "PRAGMA journal_mode=WAL"), "delete");
  sq_exec(db, "CREATE TABLE t(x)");
  sq_exec(db, "INSERT INTO t VALUES(1)");
  sqlite3_close(db);
  test_unlink(pw);
  free(pw);
  printf("ok\n");
  return 0;
}
