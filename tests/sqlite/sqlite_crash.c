/*
 * Crash safety of the mmapio SQLite VFS: 20 times, a child process commits
 * transactions (journal_mode=DELETE, synchronous=FULL) and reports each
 * commit through a pipe once COMMIT has returned; the parent SIGKILLs it
 * right after the Nth report (N from a fixed pseudo-random sequence), so
 * the kill lands somewhere inside a later transaction. Then, through the
 * VFS again: integrity_check is "ok", every reported commit is present,
 * and every transaction is all or nothing (each commit adds one row and
 * bumps a counter in another table, and writes enough to spill pages).
 * Pass or fail never depends on when exactly the kill lands.
 */
#include "sqlite_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(const char *path, int wfd)
{
  sqlite3 *db = sq_open(path, "mmapio");
  sq_exec(db, "PRAGMA journal_mode=DELETE");
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

int main(void)
{
  ASSERT_EQ(mmapio_vfs_register(0), SQLITE_OK);
  char *p = test_tmp_path("sq-crash");
  uint64_t seed = 2024;
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
      child(p, pp[1]);
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
    /* Informational: a journal left behind is a hot journal that the next
     * open rolls back (where the kill lands is up to the scheduler). */
    char jp[1100];
    snprintf(jp, sizeof jp, "%s-journal", p);
    if (access(jp, F_OK) == 0) hot++;

    sqlite3 *db = sq_open(p, "mmapio");
    ASSERT_STREQ(sq_text(db, "PRAGMA integrity_check"), "ok");
    long long n = sq_int(db, "SELECT count(*) FROM c");
    long long mx = sq_int(db, "SELECT max(k) FROM c");
    long long counter = sq_int(db, "SELECT n FROM meta WHERE id = 1");
    printf("round %2d: killed after %d reports, %lld rows, last reported %lld\n", round, want, n,
           reported_max);
    ASSERT(mx >= reported_max);   /* every reported commit is there */
    ASSERT_EQ(n, mx + 1);         /* and nothing half done: no gaps */
    ASSERT_EQ(counter, n);        /* both tables of each commit */
    ASSERT_EQ(sq_int(db, "SELECT count(*) FROM c WHERE v != printf('val-%d', k)"), 0);
    sqlite3_close(db);
  }
  printf("%d of 20 kills left a hot journal behind\n", hot);
  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
