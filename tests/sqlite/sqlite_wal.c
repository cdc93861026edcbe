/*
 * WAL mode through the mmapio SQLite VFS, with other processes (each a
 * fresh exec of this program, so no connection or descriptor crosses a
 * fork):
 *
 *  1. Concurrent writers (one through mmapio, one through the unix VFS) and
 *     readers (mmapio without and with mmap_size, unix) in separate
 *     processes: every read transaction sees a consistent snapshot (a
 *     constant total moved between accounts, a log row per commit, a
 *     commit counter that never goes back), and everyone ends with every
 *     commit. The writers checkpoint automatically meanwhile.
 *  2. Snapshot isolation across processes: a reader's open transaction
 *     keeps its snapshot while this process commits; a TRUNCATE checkpoint
 *     reports busy while that reader is in, and empties the -wal after.
 *  3. Lock interop with the unix VFS: a unix-VFS writer in another process
 *     holds the WAL write lock (F_GETLK shows byte 120 of the -shm locked,
 *     the DMS byte 128 shared); a writer here gets SQLITE_BUSY, reads still
 *     work; and the other way round.
 *  4. The dead man switch: after a writer is killed, the first connection
 *     (this VFS) starts the -shm afresh and recovers every commit from the
 *     WAL; while a unix-VFS connection has the database open, neither this
 *     VFS nor a second unix connection resets the -shm.
 * Nothing waits on a clock: processes hand over through pipes, and loops
 * end on what they observe.
 */
#include "sqlite_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NACCT 10
#define TOTAL (NACCT * 1000)

static const char *g_self;

/* ---- helpers of the child roles (return codes, never TEST_FAIL) -------- */

/* rc of a query of one integer; *out gets it. */
static int q_int(sqlite3 *db, const char *sql, long long *out)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

static int is_busy(int rc) { return (rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED; }

static sqlite3 *c_open(const char *vfs, const char *path, long long mmap)
{
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, vfs) != SQLITE_OK) _exit(60);
  sqlite3_busy_timeout(db, 1000);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA mmap_size=%lld", mmap);
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) _exit(61);
  return db;
}

/* writer VFS PATH N: N transactions, each retried until it commits. */
static int role_writer(const char *vfs, const char *path, int n)
{
  sqlite3 *db = c_open(vfs, path, 0);
  if (sqlite3_exec(db, "PRAGMA wal_autocheckpoint=40", NULL, NULL, NULL) != SQLITE_OK) return 62;
  uint64_t seed = (uint64_t)getpid();
  for (int t = 0; t < n;) {
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (is_busy(rc)) continue;
    if (rc != SQLITE_OK) return 63;
    int a = (int)(sq_rand(&seed) % NACCT), b = (int)(sq_rand(&seed) % NACCT);
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE acct SET bal = bal - 7 WHERE id = %d; UPDATE acct SET bal = bal + 7 WHERE id = %d;"
             "INSERT INTO log(note, pad) VALUES('%s-%d', zeroblob(%d));"
             "UPDATE meta SET n = n + 1;",
             a, b, vfs, t, 200 + (int)(sq_rand(&seed) % 3000));
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return 64;
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return 65;
    t++;
  }
  return sqlite3_close(db) == SQLITE_OK ? 0 : 66;
}

/* reader VFS PATH MMAP TARGET: read transactions until one sees TARGET
 * commits; each must be a consistent snapshot, and never go back. */
static int role_reader(const char *vfs, const char *path, long long mmap, long long target)
{
  sqlite3 *db = c_open(vfs, path, mmap);
  long long last = -1, txns = 0;
  for (;;) {
    long long n = 0, sum = 0, cnt = 0;
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = q_int(db, "SELECT n FROM meta", &n);
    if (rc == SQLITE_OK) rc = q_int(db, "SELECT sum(bal) FROM acct", &sum);
    if (rc == SQLITE_OK) rc = q_int(db, "SELECT count(*) FROM log", &cnt);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (is_busy(rc)) continue;
    if (rc != SQLITE_OK) return 70;
    txns++;
    if (sum != TOTAL) return 71;
    if (cnt != n) return 72;
    if (n < last) return 73;
    last = n;
    if (n == target) break;
    if (n > target) return 74;
  }
  long long ok = 0;
  (void)ok;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
    return 75;
  sqlite3_finalize(st);
  fprintf(stderr, "reader %s mmap %lld: %lld read transactions\n", vfs, mmap, txns);
  return sqlite3_close(db) == SQLITE_OK ? 0 : 76;
}

static void put_ll(int fd, long long v)
{
  if (write(fd, &v, sizeof v) != (ssize_t)sizeof v) _exit(80);
}
static char get_ch(int fd)
{
  char c = 0;
  if (read(fd, &c, 1) != 1) _exit(81);
  return c;
}

/* holdread VFS PATH IN OUT: open a read transaction, report n, wait; then
 * report n again inside the same transaction, end it, report n once more. */
static int role_holdread(const char *vfs, const char *path, int in, int out)
{
  sqlite3 *db = c_open(vfs, path, 1 << 24);
  long long n = -1;
  if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) return 82;
  if (q_int(db, "SELECT n FROM meta", &n) != SQLITE_OK) return 83;
  put_ll(out, n);
  get_ch(in);
  if (q_int(db, "SELECT count(*) FROM log", &n) != SQLITE_OK) return 84;
  put_ll(out, n);
  get_ch(in);
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) return 85;
  if (q_int(db, "SELECT n FROM meta", &n) != SQLITE_OK) return 86;
  put_ll(out, n);
  return sqlite3_close(db) == SQLITE_OK ? 0 : 87;
}

/* holdwrite PATH IN OUT (unix VFS): hold the WAL write lock with one
 * uncommitted row, report, wait, commit. */
static int role_holdwrite(const char *path, int in, int out)
{
  sqlite3 *db = c_open("unix", path, 0);
  if (sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO log(note) VALUES('unix-held'); "
                       "UPDATE meta SET n = n + 1",
                   NULL, NULL, NULL) != SQLITE_OK)
    return 90;
  put_ll(out, 1);
  get_ch(in);
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) return 91;
  return sqlite3_close(db) == SQLITE_OK ? 0 : 92;
}

/* trywrite VFS PATH: exit 0 when a write is refused with SQLITE_BUSY and
 * a read still works; the count read goes out as the second line. */
static int role_trywrite(const char *vfs, const char *path, int out)
{
  sqlite3 *db = c_open(vfs, path, 0);
  sqlite3_busy_timeout(db, 0);
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  if (rc != SQLITE_BUSY) return 100;
  long long n = -1;
  if (q_int(db, "SELECT count(*) FROM log", &n) != SQLITE_OK) return 101;
  put_ll(out, n);
  return sqlite3_close(db) == SQLITE_OK ? 0 : 102;
}

/* getlk SHMPATH OUT: the lock types others hold on bytes 120..128 of the
 * -shm (F_GETLK with a write probe), as one char each: U, R, W. */
static int role_getlk(const char *shm, int out)
{
  int fd = open(shm, O_RDONLY);
  if (fd < 0) return 110;
  char res[9];
  for (int i = 0; i < 9; i++) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 120 + i;
    fl.l_len = 1;
    if (fcntl(fd, F_GETLK, &fl) != 0) return 111;
    res[i] = fl.l_type == F_UNLCK ? 'U' : fl.l_type == F_RDLCK ? 'R' : 'W';
  }
  close(fd);
  if (write(out, res, 9) != 9) return 112;
  return 0;
}

/* killed PATH N: commit N rows through mmapio, then die holding the
 * connection (the -wal and -shm stay behind, as after a crash). */
static int role_killed(const char *path, int n)
{
  sqlite3 *db = c_open("mmapio", path, 0);
  if (sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL) != SQLITE_OK) return 120;
  for (int i = 0; i < n; i++)
    if (sqlite3_exec(db, "INSERT INTO log(note) VALUES('before-kill'); UPDATE meta SET n = n + 1",
                     NULL, NULL, NULL) != SQLITE_OK)
      return 121;
  raise(SIGKILL);
  return 122;
}

/* hold VFS PATH IN OUT: open, read, report; wait; read the count, report. */
static int role_hold(const char *vfs, const char *path, int in, int out)
{
  sqlite3 *db = c_open(vfs, path, 0);
  long long n = -1;
  if (q_int(db, "SELECT n FROM meta", &n) != SQLITE_OK) return 130;
  put_ll(out, n);
  get_ch(in);
  if (q_int(db, "SELECT n FROM meta", &n) != SQLITE_OK) return 131;
  put_ll(out, n);
  return sqlite3_close(db) == SQLITE_OK ? 0 : 132;
}

static int child_main(int argc, char **argv)
{
  if (mmapio_vfs_register(0) != SQLITE_OK) return 50;
  const char *r = argv[1];
  if (strcmp(r, "writer") == 0 && argc == 5) return role_writer(argv[2], argv[3], atoi(argv[4]));
  if (strcmp(r, "reader") == 0 && argc == 6)
    return role_reader(argv[2], argv[3], atoll(argv[4]), atoll(argv[5]));
  if (strcmp(r, "holdread") == 0 && argc == 6)
    return role_holdread(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
  if (strcmp(r, "holdwrite") == 0 && argc == 5)
    return role_holdwrite(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (strcmp(r, "trywrite") == 0 && argc == 5) return role_trywrite(argv[2], argv[3], atoi(argv[4]));
  if (strcmp(r, "getlk") == 0 && argc == 4) return role_getlk(argv[2], atoi(argv[3]));
  if (strcmp(r, "killed") == 0 && argc == 4) return role_killed(argv[2], atoi(argv[3]));
  if (strcmp(r, "hold") == 0 && argc == 6)
    return role_hold(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
  return 51;
}

/* ---- the parent --------------------------------------------------------- */

static pid_t spawn(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
  char *av[7] = {(char *)g_self, (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, NULL};
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    execv(g_self, av);
    _exit(127);
  }
  return pid;
}

static int wait_code(pid_t pid)
{
  int ws = 0;
  ASSERT_EQ(waitpid(pid, &ws, 0), pid);
  if (WIFEXITED(ws)) return WEXITSTATUS(ws);
  return WIFSIGNALED(ws) ? 1000 + WTERMSIG(ws) : -1;
}
#define EXPECT_EXIT(pid) do { int c_ = wait_code(pid); if (c_ != 0) TEST_FAIL_("child exit %d", c_); } while (0)

static long long rd_ll(int fd)
{
  long long v = -1;
  ASSERT_EQ(read(fd, &v, sizeof v), (ssize_t)sizeof v);
  return v;
}

static const char *num(char *buf, long long v)
{
  snprintf(buf, 32, "%lld", v);
  return buf;
}

static void getlk(const char *shm, char out[10])
{
  int pp[2];
  char o[32];
  ASSERT_EQ(pipe(pp), 0);
  pid_t pid = spawn("getlk", shm, num(o, pp[1]), NULL, NULL);
  EXPECT_EXIT(pid);
  ASSERT_EQ(read(pp[0], out, 9), 9);
  out[9] = '\0';
  close(pp[0]);
  close(pp[1]);
}

static void setup(const char *p)
{
  sqlite3 *db = sq_open(p, "mmapio");
  ASSERT_STREQ(sq_text(db, "PRAGMA journal_mode=WAL"), "wal");
  sq_exec(db, "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER)");
  sq_exec(db, "CREATE TABLE log(id INTEGER PRIMARY KEY, note TEXT, pad BLOB)");
  sq_exec(db, "CREATE TABLE meta(n INTEGER)");
  sq_exec(db, "BEGIN");
  for (int i = 0; i < NACCT; i++) {
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO acct VALUES(%d, 1000)", i);
    sq_exec(db, sql);
  }
  sq_exec(db, "INSERT INTO meta VALUES(0)");
  sq_exec(db, "COMMIT");
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

static void check_db(const char *p, const char *vfs, long long n)
{
  sqlite3 *db = sq_open(p, vfs);
  ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
  ASSERT_EQ(sq_int(db, "SELECT n FROM meta"), n);
  ASSERT_EQ(sq_int(db, "SELECT count(*) FROM log"), n);
  ASSERT_EQ(sq_int(db, "SELECT sum(bal) FROM acct"), TOTAL);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

static long long file_size(const char *p, const char *sfx)
{
  char q[1100];
  struct stat st;
  snprintf(q, sizeof q, "%s%s", p, sfx);
  return stat(q, &st) == 0 ? (long long)st.st_size : -1;
}

/* A marker in region 3 of the -shm, where a small wal-index never writes;
 * a reset of the -shm (truncation) removes it. */
#define MARK_OFF (3 * 32768 + 100)
static void put_marker(const char *shm)
{
  int fd = open(shm, O_RDWR);
  ASSERT(fd >= 0);
  ASSERT_EQ(pwrite(fd, "MARK", 4, MARK_OFF), 4);
  close(fd);
}
static int has_marker(const char *shm)
{
  char b[4] = {0};
  int fd = open(shm, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t r = pread(fd, b, 4, MARK_OFF);
  close(fd);
  return r == 4 && memcmp(b, "MARK", 4) == 0;
}

static void test_concurrent(const char *p)
{
  setup(p);
  const int nw = 150;
  char o1[32], o2[32];
  pid_t w1 = spawn("writer", "mmapio", p, num(o1, nw), NULL);
  pid_t w2 = spawn("writer", "unix", p, num(o1, nw), NULL);
  pid_t r[4];
  r[0] = spawn("reader", "mmapio", p, "0", num(o2, 2 * nw));
  r[1] = spawn("reader", "mmapio", p, "67108864", num(o2, 2 * nw));
  r[2] = spawn("reader", "unix", p, "0", num(o2, 2 * nw));
  r[3] = spawn("reader", "unix", p, "67108864", num(o2, 2 * nw));
  int c1 = wait_code(w1), c2 = wait_code(w2);
  if (c1 != 0 || c2 != 0) {
    for (int i = 0; i < 4; i++) kill(r[i], SIGKILL);
    for (int i = 0; i < 4; i++) (void)wait_code(r[i]);
    TEST_FAIL_("writers exited %d (mmapio) and %d (unix)", c1, c2);
  }
  for (int i = 0; i < 4; i++) {
    int c = wait_code(r[i]);
    if (c != 0) TEST_FAIL_("reader %d exited %d", i, c);
  }
  check_db(p, "mmapio", 2 * nw);
  check_db(p, "unix", 2 * nw);
  ASSERT_EQ(file_size(p, "-wal"), -1); /* the last close checkpointed and removed it */
  ASSERT_EQ(file_size(p, "-shm"), -1);
  printf("concurrent: 2 writers x %d commits, 4 readers: ok\n", nw);
}

static void test_snapshot(const char *p)
{
  sqlite3 *db = sq_open(p, "mmapio");
  sqlite3_busy_timeout(db, 0);
  long long n0 = sq_int(db, "SELECT n FROM meta");
  int to[2], from[2];
  char a[32], b[32];
  ASSERT_EQ(pipe(to), 0);
  ASSERT_EQ(pipe(from), 0);
  pid_t pid = spawn("holdread", "mmapio", p, num(a, to[0]), num(b, from[1]));
  ASSERT_EQ(rd_ll(from[0]), n0);
  sq_exec(db, "INSERT INTO log(note) VALUES('after-snapshot'); UPDATE meta SET n = n + 1");
  ASSERT_EQ(write(to[1], "g", 1), 1);
  ASSERT_EQ(rd_ll(from[0]), n0); /* the reader still sees its snapshot */
  /* A TRUNCATE checkpoint cannot finish while that reader is in. */
  ASSERT(sq_text(db, "PRAGMA wal_checkpoint(TRUNCATE)")[0] == '1');
  ASSERT(file_size(p, "-wal") > 0);
  ASSERT_EQ(write(to[1], "g", 1), 1);
  ASSERT_EQ(rd_ll(from[0]), n0 + 1); /* a new transaction sees the commit */
  EXPECT_EXIT(pid);
  ASSERT_STREQ(sq_text(db, "PRAGMA wal_checkpoint(TRUNCATE)"), "0");
  ASSERT_EQ(file_size(p, "-wal"), 0);
  ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
  ASSERT_EQ(sq_int(db, "SELECT count(*) FROM log"), n0 + 1);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  close(to[0]); close(to[1]); close(from[0]); close(from[1]);
  printf("snapshot isolation and TRUNCATE checkpoint: ok\n");
}

static void test_interop(const char *p)
{
  char shm[1100], lk[10], a[32], b[32];
  snprintf(shm, sizeof shm, "%s-shm", p);
  int to[2], from[2];
  ASSERT_EQ(pipe(to), 0);
  ASSERT_EQ(pipe(from), 0);
  sqlite3 *db = sq_open(p, "mmapio");
  sqlite3_busy_timeout(db, 0);
  long long n0 = sq_int(db, "SELECT n FROM meta");
  getlk(shm, lk);
  ASSERT_STREQ(lk, "UUUUUUUUR"); /* only the DMS byte, held shared by us */

  /* A unix-VFS writer elsewhere holds the write lock. */
  pid_t pid = spawn("holdwrite", p, num(a, to[0]), num(b, from[1]), NULL);
  ASSERT_EQ(rd_ll(from[0]), 1);
  getlk(shm, lk);
  ASSERT_EQ(lk[0], 'W'); /* WAL write lock: slot 0, byte 120 */
  ASSERT_EQ(lk[8], 'R'); /* DMS */
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
  ASSERT_EQ(sq_int(db, "SELECT count(*) FROM log"), n0); /* reads work, old snapshot */
  ASSERT_EQ(write(to[1], "g", 1), 1);
  EXPECT_EXIT(pid);
  ASSERT_EQ(sq_int(db, "SELECT n FROM meta"), n0 + 1);

  /* This VFS holds the write lock: a unix-VFS writer elsewhere gets BUSY
   * and reads the committed state; so does another mmapio connection. */
  sq_exec(db, "BEGIN IMMEDIATE; INSERT INTO log(note) VALUES('mmapio-held'); "
              "UPDATE meta SET n = n + 1");
  getlk(shm, lk);
  ASSERT_EQ(lk[0], 'W');
  const char *vfs[2] = {"unix", "mmapio"};
  for (int i = 0; i < 2; i++) {
    pid = spawn("trywrite", vfs[i], p, num(b, from[1]), NULL);
    EXPECT_EXIT(pid);
    ASSERT_EQ(rd_ll(from[0]), n0 + 1);
  }
  sq_exec(db, "COMMIT");
  getlk(shm, lk);
  ASSERT_EQ(lk[0], 'U');
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  check_db(p, "unix", n0 + 2);
  close(to[0]); close(to[1]); close(from[0]); close(from[1]);
  printf("lock interop with the unix VFS: ok\n");
}

static void test_dms(const char *p)
{
  char shm[1100], a[32], b[32];
  snprintf(shm, sizeof shm, "%s-shm", p);
  sqlite3 *db = sq_open(p, "mmapio");
  long long n0 = sq_int(db, "SELECT n FROM meta");
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);

  /* (a) A writer dies: -wal and -shm stay. The first connection resets
   * the -shm (the marker goes) and recovers the commits from the WAL. */
  pid_t pid = spawn("killed", p, "25", NULL, NULL);
  ASSERT_EQ(wait_code(pid), 1000 + SIGKILL);
  ASSERT(file_size(p, "-wal") > 0);
  ASSERT(file_size(p, "-shm") > 0);
  put_marker(shm);
  ASSERT(has_marker(shm));
  db = sq_open(p, "mmapio");
  ASSERT_EQ(sq_int(db, "SELECT n FROM meta"), n0 + 25);
  mmapio_vfs_stats vs;
  ASSERT_EQ(sqlite3_file_control(db, "main", MMAPIO_VFS_FCNTL_STATS, &vs), SQLITE_OK);
  ASSERT_EQ(vs.shm_first, 1u);
  ASSERT(!has_marker(shm));
  ASSERT(file_size(p, "-shm") < MARK_OFF);
  ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);

  /* (b) A unix-VFS connection elsewhere has the database open: joining it
   * must not reset the -shm, and both see each other's commits. */
  int to[2], from[2];
  ASSERT_EQ(pipe(to), 0);
  ASSERT_EQ(pipe(from), 0);
  pid = spawn("hold", "unix", p, num(a, to[0]), num(b, from[1]));
  ASSERT_EQ(rd_ll(from[0]), n0 + 25);
  put_marker(shm);
  db = sq_open(p, "mmapio");
  ASSERT_EQ(sqlite3_file_control(db, "main", MMAPIO_VFS_FCNTL_STATS, &vs), SQLITE_OK);
  sq_exec(db, "INSERT INTO log(note) VALUES('joined'); UPDATE meta SET n = n + 1");
  ASSERT_EQ(sqlite3_file_control(db, "main", MMAPIO_VFS_FCNTL_STATS, &vs), SQLITE_OK);
  ASSERT_EQ(vs.shm_opens, 1u);
  ASSERT_EQ(vs.shm_first, 0u);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK); /* not the last: the -shm stays */
  ASSERT(has_marker(shm));
  /* (c) ... and a unix connection joining while this VFS holds it open
   * does not reset it either (it sees our DMS lock). */
  db = sq_open(p, "mmapio");
  ASSERT_EQ(sq_int(db, "SELECT n FROM meta"), n0 + 26);
  ASSERT_EQ(write(to[1], "g", 1), 1);
  ASSERT_EQ(rd_ll(from[0]), n0 + 26);
  EXPECT_EXIT(pid);
  ASSERT(has_marker(shm));
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  ASSERT_EQ(file_size(p, "-shm"), -1); /* the last close removed it */
  check_db(p, "unix", n0 + 26);
  close(to[0]); close(to[1]); close(from[0]); close(from[1]);
  printf("dead man switch: ok\n");
}

int main(int argc, char **argv)
{
  g_self = argv[0];
  if (argc > 1) return child_main(argc, argv);
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
  char *p = test_tmp_path("sq-wal");
  unlink_all(p);
  test_concurrent(p);
  test_snapshot(p);
#if defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)
  test_interop(p);
  test_dms(p);
#else
  /* Classic fcntl locks belong to the process: the probes and markers of
   * these parts open and close -shm descriptors in this process while it
   * has a connection, which would drop that connection's locks. */
  (void)test_interop;
  (void)test_dms;
  printf("lock interop and dead man switch parts skipped: they need open file description "
         "locks (Linux)\n");
#endif
  unlink_all(p);
  free(p);
  printf("ok\n");
  return 0;
}
