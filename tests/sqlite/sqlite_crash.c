/*
 * Crash safety of the mmapio SQLite VFS, in rollback-journal mode
 * (journal_mode=DELETE) and in WAL mode: 20 times per mode, a child process
 * commits transactions (synchronous=FULL) and reports each
 * commit through a pipe once COMMIT has returned; the parent SIGKILLs it
 * right after the Nth report (N from a fixed pseudo-random sequence), so
 * the kill lands somewhere inside a later transaction. Then, through the
 * VFS again: integrity_check is "ok", every reported commit is present,
 * and every transaction is all or nothing (each commit adds one row and
 * bumps a counter in another table, and writes enough to spill pages).
 * In WAL mode the child checkpoints every 30 pages, so kills also land in
 * checkpoints, and the -wal and -shm it leaves behind are taken over by the
 * next connection (the first one: it resets the -shm and recovers from the
 * WAL); every other round that check is made through the unix VFS instead.
 * Pass or fail never depends on when exactly the kill lands.
 */
#include "sqlite_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(const char *path, int wfd, int wal)
{
  sqlite3 *db = sq_open(path, "mmapio");
  sq_exec(db, wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE");
  if (wal) sq_exec(db, "PRAGMA wal_autocheckpoint=30");
  sq_exec(db, "PRAGMA synchronous=FULL");
  sq_exec(db, "PRAGMA cache_size=20");
  sq_exec(db, "CREATE TABLE IF NOT EXISTS c(k INTEGER PRIMARY KEY, v TEXT, pad BLOB)");
  sq_exec(db, "CREATE TABLE IF NOT EXISTS meta(id INTEGER PRIMARY KEY, n INTEGER)");
  sq_exec(db, "INSERT OR IGNORE INTO meta VALUES(1, 0)");
  long long k = sq_int(db, "SELECT coalesce(max(k) + 1, 0) FROM c");
  for (;; k++) {
    char sql[512];
    sq_exec(db, "BEGIN");
    snprintf(sql, sizeof sql,
             "INSERT INTO c VALUES(%lld, printf('val-%%d', %lld), zeroblob(%lld))", k, k,
             1000 + (k * 7919) % 20000);
    sq_exec(db, sql);
    /* Rewrite older rows too, so the journal holds many pages. */
    snprintf(sql, sizeof sql, "UPDATE c SET pad = zeroblob(length(pad)) WHERE k %% 13 = %lld", k % 13);
    sq_exec(db, sql);
    sq_exec(db, "UPDATE meta SET n = n + 1 WHERE id = 1");
    sq_exec(db, "COMMIT");
    if (write(wfd, &k, sizeof k) != (ssize_t)sizeof k) _exit(3);
  }
}

static void rounds(const char *p, int wal)
{
  uint64_t seed = wal ? 4048 : 2024;
  long long reported_max = -1;
  int hot = 0;
  for (int round = 0; round < 20; round++) {
    int pp[2];
    ASSERT_EQ(pipe(pp), 0);
    int want = 1 + (int)(sq_rand(&seed) % 12u);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
      close(pp[0]);
      child(p, pp[1], wal);
      _exit(0);
    }
    close(pp[1]);
    long long k;
    int got = 0;
    while (got < want && read(pp[0], &k, sizeof k) == (ssize_t)sizeof k) {
      if (k > reported_max) reported_max = k;
      got++;
    }
    ASSERT_EQ(got, want);
    kill(pid, SIGKILL);
    int ws = 0;
    ASSERT_EQ(waitpid(pid, &ws, 0), pid);
    ASSERT(WIFSIGNALED(ws));
    /* Reports written before the kill count too. */
    while (read(pp[0], &k, sizeof k) == (ssize_t)sizeof k)
      if (k > reported_max) reported_max = k;
    close(pp[0]);
    /* Informational: a journal or WAL left behind (where the kill lands is
     * up to the scheduler). */
    char jp[1100];
    snprintf(jp, sizeof jp, "%s%s", p, wal ? "-wal" : "-journal");
    if (access(jp, F_OK) == 0) hot++;

    const char *vfs = wal && round % 2 == 1 ? "unix" : "mmapio";
    sqlite3 *db = sq_open(p, vfs);
    ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
    long long n = sq_int(db, "SELECT count(*) FROM c");
    long long mx = sq_int(db, "SELECT max(k) FROM c");
    long long counter = sq_int(db, "SELECT n FROM meta WHERE id = 1");
    printf("%s round %2d (%s): killed after %d reports, %lld rows, last reported %lld\n",
           wal ? "WAL" : "DELETE", round, vfs, want, n, reported_max);
    ASSERT(mx >= reported_max);   /* every reported commit is there */
    ASSERT_EQ(n, mx + 1);         /* and nothing half done: no gaps */
    ASSERT_EQ(counter, n);        /* both tables of each commit */
    ASSERT_EQ(sq_int(db, "SELECT count(*) FROM c WHERE v != printf('val-%d', k)"), 0);
    if (wal) {
      mmapio_vfs_stats vs;
      if (strcmp(vfs, "mmapio") == 0) {
        ASSERT_EQ(sqlite3_file_control(db, "main", MMAPIO_VFS_FCNTL_STATS, &vs), SQLITE_OK);
        ASSERT_EQ(vs.shm_first, 1u); /* the dead writer's -shm was not trusted */
      }
      ASSERT_STREQ(sq_text(db, "PRAGMA journal_mode"), "wal");
    }
    sqlite3_close(db);
  }
  printf("%s: %d of 20 kills left a %s behind\n", wal ? "WAL" : "DELETE", hot,
         wal ? "WAL" : "hot journal");
}

int main(void)
{
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
  const char *sfx[] = {"", "-journal", "-wal", "-shm"};
  for (int wal = 0; wal < 2; wal++) {
    char *p = test_tmp_path(wal ? "sq-crash-wal" : "sq-crash");
    rounds(p, wal);
    for (int i = 0; i < 4; i++) {
      char q[1100];
      snprintf(q, sizeof q, "%s%s", p, sfx[i]);
      test_unlink(q);
    }
    free(p);
  }
  printf("ok\n");
  return 0;
}
