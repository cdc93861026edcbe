/*
 * The mmapio SQLite VFS (examples/sqlite_vfs/) runs a workload of inserts,
 * updates, deletes, index builds, a VACUUM and queries in rollback-journal
 * mode; PRAGMA integrity_check is "ok"; the final content and every query
 * answer equal those of the same workload through SQLite's unix VFS; the
 * database written through mmapio reads back identically through the unix
 * VFS and vice versa; temporary files (a large sort) work; journal files do
 * not outlive their transaction. The same in WAL mode (the -wal and -shm
 * files are gone after the last close), and with PRAGMA mmap_size, where
 * xFetch must actually hand out pages (counted by the VFS), never past the
 * mmap_size limit, and every fetched page is released again.
 */
#include "sqlite_test.h"

#include <sys/stat.h>
#include <unistd.h>

static uint64_t run_mmap(const char *path, const char *vfs, const char *mode, long long mmap_size,
                         uint64_t *content, mmapio_vfs_stats *stats)
{
  sqlite3 *db = sq_open(path, vfs);
  char sql[128];
  snprintf(sql, sizeof sql, "PRAGMA mmap_size=%lld", mmap_size);
  sq_exec(db, sql);
  snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", mode);
  sq_exec(db, sql);
  sq_exec(db, "PRAGMA synchronous=FULL");
  sq_exec(db, "PRAGMA cache_size=50"); /* small cache: pages spill and are re-read */
  uint64_t q = sq_workload(db, 80, 42);
  /* A sort larger than the cache goes through temporary files. */
  q = q * 31u + sq_digest(db, "SELECT data, name FROM items ORDER BY data, name");
  ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
  *content = sq_db_digest(db);
  if (stats != NULL) {
    memset(stats, 0, sizeof *stats);
    ASSERT_EQ(sqlite3_file_control(db, "main", MMAPIO_VFS_FCNTL_STATS, stats), SQLITE_OK);
  }
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  return q;
}

static uint64_t run(const char *path, const char *vfs, const char *mode, uint64_t *content)
{
  return run_mmap(path, vfs, mode, 0, content, NULL);
}

static int exists(const char *p, const char *sfx)
{
  char q[1100];
  struct stat st;
  snprintf(q, sizeof q, "%s%s", p, sfx);
  return stat(q, &st) == 0;
}

int main(void)
{
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK); /* idempotent */
  ASSERT(sqlite3_vfs_find("mmapio") != NULL);
  const char *modes[] = {"DELETE", "TRUNCATE", "PERSIST", "WAL"};
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

  /* WAL: the -wal and -shm exist while a connection is open, the -shm
   * as whole 32 KiB regions, and the last close removes both. */
  {
    char *pw = test_tmp_path("sq-wal");
    sqlite3 *db = sq_open(pw, "mmapio");
    ASSERT_STREQ(sq_text(db, "PRAGMA journal_mode=WAL"), "wal");
    sq_exec(db, "CREATE TABLE t(x)");
    sq_exec(db, "INSERT INTO t VALUES(1)");
    ASSERT(exists(pw, "-wal"));
    char q[1100];
    struct stat st;
    snprintf(q, sizeof q, "%s-shm", pw);
    ASSERT_EQ(stat(q, &st), 0);
    ASSERT(st.st_size > 0 && st.st_size % 32768 == 0);
    mmapio_vfs_stats vs;
    ASSERT_EQ(sqlite3_file_control(db, "main", MMAPIO_VFS_FCNTL_STATS, &vs), SQLITE_OK);
    ASSERT_EQ(vs.shm_opens, 1u);
    ASSERT_EQ(vs.shm_first, 1u); /* nobody else: the -shm was started afresh */
    ASSERT(vs.shm_regions >= 1u);
    ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
    ASSERT(!exists(pw, "-wal"));
    ASSERT(!exists(pw, "-shm"));
    db = sq_open(pw, "unix"); /* the file says WAL: the unix VFS reads it */
    ASSERT_STREQ(sq_text(db, "PRAGMA journal_mode"), "wal");
    ASSERT_EQ(sq_int(db, "SELECT count(*) FROM t"), 1);
    sqlite3_close(db);
    unlink_all(pw);
    free(pw);
  }

  /* Memory-mapped reads (xFetch): the same answers as the unix VFS without
   * mmap, pages really handed out, every one released, none past the
   * mmap_size limit; mmap_size 0 fetches nothing. */
  const char *fmodes[] = {"DELETE", "WAL"};
  const long long limits[] = {256LL << 20, 65536, 0};
  for (size_t i = 0; i < 2; i++) {
    char *pu = test_tmp_path("sq-f-unix");
    uint64_t cu = 0;
    uint64_t qu = run(pu, "unix", fmodes[i], &cu);
    for (size_t l = 0; l < 3; l++) {
      char *pm = test_tmp_path("sq-f-mmapio");
      uint64_t cm = 0;
      mmapio_vfs_stats vs;
      uint64_t qm = run_mmap(pm, "mmapio", fmodes[i], limits[l], &cm, &vs);
      printf("%s mmap_size=%lld: %llu pages fetched, %llu NULL, %llu out, %llu fetch maps, "
             "highest end %llu\n", fmodes[i], limits[l], vs.fetch_pages, vs.fetch_null,
             vs.fetch_out, vs.fetch_maps, vs.fetch_max_end);
      ASSERT_U64_EQ(qm, qu);
      ASSERT_U64_EQ(cm, cu);
      ASSERT_EQ(vs.fetch_out, 0u);
      if (limits[l] == 0) {
        ASSERT_EQ(vs.fetch_pages, 0u);
        ASSERT_EQ(vs.fetch_maps, 0u);
      } else {
        ASSERT(vs.fetch_pages > 100u);
        ASSERT(vs.fetch_max_end <= (unsigned long long)limits[l]);
      }
      if (limits[l] == 65536) ASSERT(vs.fetch_null > 0u); /* the database is larger */
      sqlite3 *db = sq_open(pm, "unix");
      ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
      sqlite3_close(db);
      unlink_all(pm);
      free(pm);
    }
    unlink_all(pu);
    free(pu);
  }
  printf("ok\n");
  return 0;
}
