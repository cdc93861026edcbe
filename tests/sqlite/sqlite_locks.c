/*
 * Locking of the mmapio SQLite VFS seen from a second process: while a
 * connection holds RESERVED or EXCLUSIVE, another process sees the lock
 * bytes SQLite uses (F_GETLK on the reserved byte and the shared range) and
 * both the mmapio VFS and SQLite's unix VFS get SQLITE_BUSY where SQLite's
 * rules say so; a unix-VFS writer in another process blocks an mmapio
 * writer here. Two connections of this process exclude each other, and
 * closing one does not drop the other's locks (the POSIX close trap).
 */
#include "sqlite_test.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PENDING_BYTE 0x40000000LL
#define RESERVED_BYTE (PENDING_BYTE + 1)
#define SHARED_FIRST (PENDING_BYTE + 2)
#define SHARED_SIZE 510

static const char *g_path;

static short getlk(long long off, long long len)
{
  int fd = open(g_path, O_RDONLY);
  if (fd < 0) _exit(90);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = (off_t)off;
  fl.l_len = (off_t)len;
  if (fcntl(fd, F_GETLK, &fl) != 0) _exit(91);
  close(fd);
  return fl.l_type;
}

/* rc of `sql` on a fresh connection through `vfs`, no busy wait. */
static int try_sql(const char *vfs, const char *sql)
{
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READWRITE, vfs) != SQLITE_OK) _exit(92);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(db);
  return rc;
}

/* Child checks. 'R': someone holds RESERVED; 'X': EXCLUSIVE; 'U': free. */
static int check(char st)
{
  short res = getlk(RESERVED_BYTE, 1), sh = getlk(SHARED_FIRST, SHARED_SIZE);
  const char *vfs[2] = {"unix", "mmapio"};
  for (int i = 0; i < 2; i++) {
    int rd = try_sql(vfs[i], "SELECT count(*) FROM t");
    int wr = try_sql(vfs[i], "BEGIN IMMEDIATE; INSERT INTO t VALUES(-1); ROLLBACK");
    switch (st) {
    case 'R':
      if (res != F_WRLCK || sh != F_RDLCK) return 10;
      if (rd != SQLITE_OK || wr != SQLITE_BUSY) return 11 + i;
      break;
    case 'X':
      if (res != F_WRLCK || sh != F_WRLCK) return 20;
      if (rd != SQLITE_BUSY || wr != SQLITE_BUSY) return 21 + i;
      break;
    default:
      if (res != F_UNLCK || sh != F_UNLCK) return 30;
      if (rd != SQLITE_OK || wr != SQLITE_OK) return 31 + i;
    }
  }
  return 0;
}

static void expect(char st, int line)
{
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
    _exit(check(st));
  }
  int ws = 0;
  ASSERT_EQ(waitpid(pid, &ws, 0), pid);
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
    TEST_FAIL_("line %d: the other process did not see state '%c' (exit %d)", line, st,
               WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
}
#define EXPECT(st) expect((st), __LINE__)

int main(void)
{
#if !defined(__linux__) || defined(MMAPIO_PORTABLE_POSIX)
  TEST_SKIP("needs open file description locks (Linux) for two connections in one process");
#endif
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
  char *p = test_tmp_path("sq-locks");
  g_path = p;
  sqlite3 *a = sq_open(p, "mmapio");
  sq_exec(a, "PRAGMA journal_mode=DELETE");
  sq_exec(a, "CREATE TABLE t(x)");
  sq_exec(a, "INSERT INTO t VALUES(1)");
  EXPECT('U');

  sq_exec(a, "BEGIN IMMEDIATE");
  sq_exec(a, "INSERT INTO t VALUES(2)");
  EXPECT('R');
  /* A second connection here: reads, cannot write, and closing it leaves
   * a's RESERVED lock in place. */
  sqlite3 *b = sq_open(p, "mmapio");
  sqlite3_busy_timeout(b, 0);
  ASSERT_EQ(sq_int(b, "SELECT count(*) FROM t"), 1);
  ASSERT_EQ(sqlite3_exec(b, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
  ASSERT_EQ(sqlite3_close(b), SQLITE_OK);
  int raw = open(p, O_RDONLY); /* and a plain descriptor, opened and closed */
  ASSERT(raw >= 0);
  close(raw);
  EXPECT('R');
  sq_exec(a, "COMMIT");
  EXPECT('U');

  sq_exec(a, "BEGIN EXCLUSIVE");
  EXPECT('X');
  sq_exec(a, "COMMIT");
  EXPECT('U');

  /* The other way round: a unix-VFS writer in another process holds
   * RESERVED; we can read but not write, then write once it is done. */
  int go[2], back[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(back), 0);
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    sqlite3 *c = NULL;
    char ch = 'r';
    if (sqlite3_open_v2(p, &c, SQLITE_OPEN_READWRITE, "unix") != SQLITE_OK) _exit(40);
    if (sqlite3_exec(c, "BEGIN IMMEDIATE; INSERT INTO t VALUES(3)", NULL, NULL, NULL) != SQLITE_OK)
      _exit(41);
    if (write(back[1], &ch, 1) != 1) _exit(42);
    if (read(go[0], &ch, 1) != 1) _exit(43);
    if (sqlite3_exec(c, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) _exit(44);
    sqlite3_close(c);
    _exit(0);
  }
  char ch;
  ASSERT_EQ(read(back[0], &ch, 1), 1);
  sqlite3_busy_timeout(a, 0);
  ASSERT_EQ(sq_int(a, "SELECT count(*) FROM t"), 2);
  ASSERT_EQ(sqlite3_exec(a, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
  ASSERT_EQ(write(go[1], "g", 1), 1);
  int ws = 0;
  ASSERT_EQ(waitpid(pid, &ws, 0), pid);
  ASSERT(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
  ASSERT_EQ(sq_int(a, "SELECT count(*) FROM t"), 3); /* sees the other's commit */
  sq_exec(a, "BEGIN IMMEDIATE");
  sq_exec(a, "INSERT INTO t VALUES(4)");
  sq_exec(a, "COMMIT");
  ASSERT_STREQ(sq_text(a, "PRAGMA integrity_check"), "ok");
  sqlite3_close(a);
  EXPECT('U');
  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
