/*
 * vfs_bench.c -- the same SQLite workload through SQLite's unix VFS and
 * through the mmapio VFS, each without and with PRAGMA mmap_size, in
 * rollback-journal mode and in WAL mode.
 *
 *   sqlite_vfs_bench [--smoke] [--dir DIR] [--only ROW]
 *
 * Rows: unix, unix_mmap, mmapio, mmapio_mmap (journal_mode=DELETE) and
 * unix_wal, unix_wal_mmap, mmapio_wal, mmapio_wal_mmap (journal_mode=WAL).
 * Phases, each timed on the wall clock and printed per row:
 *   write: transactions of 100 inserts of ~200-byte rows plus updates
 *          (synchronous=NORMAL);
 *   read:  point lookups by primary key and by an index, on a warm cache
 *          smaller than the database (pages come from the VFS);
 *   scan:  full-table aggregates.
 * Target: the mmapio VFS is no slower than the unix VFS in the same mode.
 * Timing is only meaningful on a quiet machine; to compare costs on a
 * busy one, count instructions (valgrind --tool=callgrind) or system calls
 * (strace -f -c) of one VFS at a time with --only.
 */
#define _POSIX_C_SOURCE 200809L
#include "mmapio_vfs.h"

#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int exec(sqlite3 *db, const char *sql)
{
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "sqlite_vfs_bench: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    return -1;
  }
  return 0;
}

static uint32_t rnd(uint64_t *s)
{
  *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (uint32_t)(*s >> 33);
}

typedef struct result { double write, read, scan; } result;

static void remove_all(const char *path)
{
  char q[4200];
  remove(path);
  snprintf(q, sizeof q, "%s-wal", path);
  remove(q);
  snprintf(q, sizeof q, "%s-shm", path);
  remove(q);
}

static int run(const char *path, const char *vfs, int use_mmap, int wal, int smoke, result *res)
{
  sqlite3 *db = NULL;
  remove_all(path);
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) != SQLITE_OK) {
    fprintf(stderr, "sqlite_vfs_bench: cannot open %s with %s\n", path, vfs);
    return -1;
  }
  int txns = smoke ? 20 : 500, lookups = smoke ? 2000 : 200000, scans = smoke ? 2 : 20;
  if (exec(db, wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE") || exec(db, "PRAGMA synchronous=NORMAL") ||
      exec(db, "PRAGMA cache_size=-2000") ||
      exec(db, use_mmap ? "PRAGMA mmap_size=1073741824" : "PRAGMA mmap_size=0") ||
      exec(db, "CREATE TABLE kv(id INTEGER PRIMARY KEY, k TEXT, v BLOB, n INTEGER)") ||
      exec(db, "CREATE INDEX kv_k ON kv(k)"))
    return -1;
  sqlite3_stmt *ins = NULL, *upd = NULL, *get = NULL, *getk = NULL;
  sqlite3_prepare_v2(db, "INSERT INTO kv VALUES(?1, ?2, zeroblob(200), ?3)", -1, &ins, NULL);
  sqlite3_prepare_v2(db, "UPDATE kv SET n = n + 1 WHERE id = ?1", -1, &upd, NULL);
  sqlite3_prepare_v2(db, "SELECT n, length(v) FROM kv WHERE id = ?1", -1, &get, NULL);
  sqlite3_prepare_v2(db, "SELECT id FROM kv WHERE k = ?1", -1, &getk, NULL);
  uint64_t seed = 1;
  int id = 0;
  double t0 = now();
  for (int t = 0; t < txns; t++) {
    exec(db, "BEGIN");
    for (int i = 0; i < 100; i++, id++) {
      char k[32];
      snprintf(k, sizeof k, "key-%08u", rnd(&seed));
      sqlite3_bind_int(ins, 1, id);
      sqlite3_bind_text(ins, 2, k, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(ins, 3, i);
      if (sqlite3_step(ins) != SQLITE_DONE) return -1;
      sqlite3_reset(ins);
    }
    for (int i = 0; i < 20; i++) {
      sqlite3_bind_int(upd, 1, (int)(rnd(&seed) % (uint32_t)id));
      sqlite3_step(upd);
      sqlite3_reset(upd);
    }
    if (exec(db, "COMMIT")) return -1;
  }
  res->write = now() - t0;
  long long sink = 0;
  t0 = now();
  for (int i = 0; i < lookups; i++) {
    sqlite3_bind_int(get, 1, (int)(rnd(&seed) % (uint32_t)id));
    if (sqlite3_step(get) == SQLITE_ROW) sink += sqlite3_column_int(get, 0);
    sqlite3_reset(get);
    if (i % 4 == 0) {
      char k[32];
      snprintf(k, sizeof k, "key-%08u", rnd(&seed));
      sqlite3_bind_text(getk, 1, k, -1, SQLITE_TRANSIENT);
      while (sqlite3_step(getk) == SQLITE_ROW) sink += sqlite3_column_int(getk, 0);
      sqlite3_reset(getk);
    }
  }
  res->read = now() - t0;
  t0 = now();
  for (int i = 0; i < scans; i++) {
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT sum(n), sum(length(v)), count(k) FROM kv", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW) sink += sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  res->scan = now() - t0;
  sqlite3_finalize(ins);
  sqlite3_finalize(upd);
  sqlite3_finalize(get);
  sqlite3_finalize(getk);
  sqlite3_stmt *ic = NULL;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &ic, NULL);
  int ok = sqlite3_step(ic) == SQLITE_ROW &&
           strcmp((const char *)sqlite3_column_text(ic, 0), "ok") == 0;
  sqlite3_finalize(ic);
  sqlite3_close(db);
  remove_all(path);
  if (!ok) {
    fprintf(stderr, "sqlite_vfs_bench: integrity_check failed with %s\n", vfs);
    return -1;
  }
  if (sink == 42) printf(" ");
  return 0;
}

int main(int argc, char **argv)
{
  int smoke = 0;
  const char *dir = ".", *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--smoke") == 0) smoke = 1;
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir = argv[++i];
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
    else {
      fprintf(stderr,
              "usage: %s [--smoke] [--dir DIR] [--only unix|unix_mmap|mmapio|mmapio_mmap|"
              "unix_wal|unix_wal_mmap|mmapio_wal|mmapio_wal_mmap]\n",
              argv[0]);
      return 2;
    }
  }
  if (mmapio_vfs_register(0) != SQLITE_OK) return 1;
  const struct { const char *name, *vfs; int mmap, wal; } cfg[] = {
    {"unix", "unix", 0, 0},           {"unix_mmap", "unix", 1, 0},
    {"mmapio", MMAPIO_VFS_NAME, 0, 0}, {"mmapio_mmap", MMAPIO_VFS_NAME, 1, 0},
    {"unix_wal", "unix", 0, 1},       {"unix_wal_mmap", "unix", 1, 1},
    {"mmapio_wal", MMAPIO_VFS_NAME, 0, 1}, {"mmapio_wal_mmap", MMAPIO_VFS_NAME, 1, 1}};
  enum { NCFG = (int)(sizeof cfg / sizeof cfg[0]) };
  result r[NCFG];
  memset(r, 0, sizeof r);
  printf("%-16s %10s %10s %10s\n", "row", "write s", "read s", "scan s");
  for (int c = 0; c < NCFG; c++) {
    if (only != NULL && strcmp(only, cfg[c].name) != 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/sqlite-vfs-bench-%d-%s.db", dir, (int)getpid(), cfg[c].name);
    if (run(path, cfg[c].vfs, cfg[c].mmap, cfg[c].wal, smoke, &r[c]) != 0) return 1;
    printf("%-16s %10.4f %10.4f %10.4f\n", cfg[c].name, r[c].write, r[c].read, r[c].scan);
  }
  if (only == NULL) {
    /* mmapio row / the unix row of the same mode and mmap setting. */
    for (int c = 0; c < NCFG; c += 2) {
      int u = c % 4 < 2 ? c : c - 2, m = u + 2;
      if (c % 4 >= 2) continue;
      for (int k = 0; k < 2; k++) {
        const result *a = &r[m + k], *b = &r[u + k];
        if (b->write > 0 && b->read > 0 && b->scan > 0)
          printf("%s / %s: write %.2fx, read %.2fx, scan %.2fx (lower is faster)\n",
                 cfg[m + k].name, cfg[u + k].name, a->write / b->write, a->read / b->read,
                 a->scan / b->scan);
      }
    }
  }
  return 0;
}
