/*
 * A journal or WAL the mmapio VFS creates gets its directory fsynced before
 * the commit that needs it returns: otherwise a power cut right after the
 * commit could lose the new file's name, and with it (WAL) the committed
 * transaction, on a file system that does not make the name durable along
 * with the file's data. (ext4 does, so tests/sqlite/sqlite_powercut.c
 * cannot show this.) The program is linked with -Wl,--wrap=fsync, so every
 * fsync call in it, the VFS's included, is counted here before it goes to
 * the real fsync; a call on the database's directory is what makes a name
 * durable.
 *   - WAL, synchronous=FULL: the first commit (which creates the -wal)
 *     fsyncs the directory; a second commit, with the -wal already durable,
 *     does not again.
 *   - rollback journal, synchronous=FULL: each commit creates the -journal
 *     and fsyncs the directory before COMMIT returns.
 */
#include "sqlite_test.h"

#include <sys/stat.h>
#include <unistd.h>

int __real_fsync(int fd);
int __wrap_fsync(int fd);

static dev_t dir_dev;
static ino_t dir_ino;
static int dir_syncs; /* fsync calls on the database's directory */

int __wrap_fsync(int fd)
{
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == dir_dev && st.st_ino == dir_ino)
    dir_syncs++;
  return __real_fsync(fd);
}

static void one_mode(const char *dir, const char *journal)
{
  char path[1200], sql[200];
  snprintf(path, sizeof path, "%s/%s.db", dir, journal);
  sqlite3 *db = sq_open(path, "mmapio");
  snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", journal);
  sq_exec(db, sql);
  sq_exec(db, "PRAGMA synchronous=FULL");
  int before = dir_syncs;
  sq_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
  int first = dir_syncs - before;
  before = dir_syncs;
  sq_exec(db, "INSERT INTO t VALUES(1, 'one')");
  int second = dir_syncs - before;
  printf("%s: directory fsyncs in the first commit %d, in the second %d\n", journal, first, second);
  if (first < 1)
    TEST_FAIL_("%s: the first commit created the %s file but did not fsync its directory", journal,
               strcmp(journal, "WAL") == 0 ? "-wal" : "-journal");
  if (strcmp(journal, "WAL") == 0) ASSERT_EQ(second, 0);
  else ASSERT(second >= 1); /* a new -journal for every commit */
  sqlite3_close(db);
}

int main(void)
{
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
  char *dir = test_tmp_path("sq-dirsync");
  ASSERT(make_dir(dir) == 0);
  struct stat st;
  ASSERT(stat(dir, &st) == 0);
  dir_dev = st.st_dev;
  dir_ino = st.st_ino;
  one_mode(dir, "WAL");
  one_mode(dir, "DELETE");
  static const char *const names[] = {"WAL.db", "WAL.db-wal", "WAL.db-shm", "DELETE.db",
                                      "DELETE.db-journal"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    (void)unlink(p);
  }
  remove_dir(dir);
  free(dir);
  return 0;
}
