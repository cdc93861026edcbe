/*
 * sqlite_test.h -- what the SQLite VFS tests share: a deterministic workload
 * (inserts, updates, deletes, index builds, queries), a digest of all rows,
 * and small wrappers that fail the test with SQLite's message.
 */
#ifndef MMAPIO_SQLITE_TEST_H
#define MMAPIO_SQLITE_TEST_H

#include "test.h"
#include "mmapio_vfs.h"

#include <sqlite3.h>
#include <stdint.h>

static inline void sq_exec(sqlite3 *db, const char *sql)
{
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) TEST_FAIL_("sqlite3_exec(%s): %d %s", sql, rc, err ? err : "");
}

static inline sqlite3 *sq_open(const char *path, const char *vfs)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
  if (rc != SQLITE_OK) TEST_FAIL_("sqlite3_open_v2(%s, %s): %s", path, vfs ? vfs : "default",
                                  db ? sqlite3_errmsg(db) : "?");
  sqlite3_busy_timeout(db, 10000);
  return db;
}

/* The first column of the first row as text (static buffer). */
static inline const char *sq_text(sqlite3 *db, const char *sql)
{
  static char out[4096];
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    TEST_FAIL_("prepare(%s): %s", sql, sqlite3_errmsg(db));
  int rc = sqlite3_step(st);
  out[0] = '\0';
  if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
    snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    TEST_FAIL_("step(%s): %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return out;
}

static inline long long sq_int(sqlite3 *db, const char *sql) { return atoll(sq_text(db, sql)); }

/* FNV-1a over every column of every row of `sql`, with type tags. */
static inline uint64_t sq_digest(sqlite3 *db, const char *sql)
{
  uint64_t h = UINT64_C(1469598103934665603);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    TEST_FAIL_("prepare(%s): %s", sql, sqlite3_errmsg(db));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int n = sqlite3_column_count(st);
    for (int c = 0; c < n; c++) {
      int t = sqlite3_column_type(st, c);
      const unsigned char *p = (const unsigned char *)sqlite3_column_blob(st, c);
      int len = sqlite3_column_bytes(st, c);
      h = (h ^ (uint64_t)t) * UINT64_C(1099511628211);
      for (int i = 0; i < len; i++) h = (h ^ p[i]) * UINT64_C(1099511628211);
      h = (h ^ 0xFFu) * UINT64_C(1099511628211);
    }
  }
  if (rc != SQLITE_DONE) TEST_FAIL_("step(%s): %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return h;
}

/* Digest of the whole database content: schema and every table's rows. */
static inline uint64_t sq_db_digest(sqlite3 *db)
{
  uint64_t h = sq_digest(db, "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name");
  h ^= sq_digest(db, "SELECT * FROM items ORDER BY id") * 3u;
  h ^= sq_digest(db, "SELECT * FROM events ORDER BY seq") * 5u;
  return h;
}

/* A small deterministic generator (the same sequence on every run). */
static inline uint32_t sq_rand(uint64_t *s)
{
  *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (uint32_t)(*s >> 33);
}

/* The workload: `rounds` transactions of inserts, updates and deletes on
 * two tables, index builds half way, a VACUUM, and queries whose answers
 * are folded into the returned digest. Same seed, same content. */
static inline uint64_t sq_workload(sqlite3 *db, int rounds, uint64_t seed)
{
  uint64_t q = 0;
  sq_exec(db, "CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, "
              "price REAL, data BLOB)");
  sq_exec(db, "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY AUTOINCREMENT, "
              "item INTEGER, kind TEXT, note TEXT)");
  sqlite3_stmt *ins = NULL, *upd = NULL, *del = NULL, *ev = NULL;
  if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO items VALUES(?1, ?2, ?3, ?4, ?5)",
                         -1, &ins, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "UPDATE items SET qty = qty + ?2, name = name || 'u' WHERE id = ?1", -1,
                         &upd, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "DELETE FROM items WHERE id BETWEEN ?1 AND ?1 + 3", -1, &del, NULL) !=
          SQLITE_OK ||
      sqlite3_prepare_v2(db, "INSERT INTO events(item, kind, note) VALUES(?1, ?2, ?3)", -1, &ev,
                         NULL) != SQLITE_OK)
    TEST_FAIL_("prepare: %s", sqlite3_errmsg(db));
  static unsigned char blob[3000];
  for (int r = 0; r < rounds; r++) {
    sq_exec(db, "BEGIN");
    for (int i = 0; i < 60; i++) {
      uint32_t id = sq_rand(&seed) % 5000u;
      char name[64];
      snprintf(name, sizeof name, "item-%u-%u", id, sq_rand(&seed) % 1000u);
      int bl = (int)(sq_rand(&seed) % sizeof blob);
      for (int k = 0; k < bl; k += 97) blob[k] = (unsigned char)sq_rand(&seed);
      sqlite3_bind_int(ins, 1, (int)id);
      sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(ins, 3, (int)(sq_rand(&seed) % 100u));
      sqlite3_bind_double(ins, 4, (double)(sq_rand(&seed) % 100000u) / 100.0);
      sqlite3_bind_blob(ins, 5, blob, bl, SQLITE_TRANSIENT);
      if (sqlite3_step(ins) != SQLITE_DONE) TEST_FAIL_("insert: %s", sqlite3_errmsg(db));
      sqlite3_reset(ins);
      sqlite3_bind_int(ev, 1, (int)id);
      sqlite3_bind_text(ev, 2, "ins", -1, SQLITE_STATIC);
      sqlite3_bind_text(ev, 3, name, -1, SQLITE_TRANSIENT);
      if (sqlite3_step(ev) != SQLITE_DONE) TEST_FAIL_("event: %s", sqlite3_errmsg(db));
      sqlite3_reset(ev);
    }
    for (int i = 0; i < 20; i++) {
      sqlite3_bind_int(upd, 1, (int)(sq_rand(&seed) % 5000u));
      sqlite3_bind_int(upd, 2, (int)(sq_rand(&seed) % 7u));
      if (sqlite3_step(upd) != SQLITE_DONE) TEST_FAIL_("update: %s", sqlite3_errmsg(db));
      sqlite3_reset(upd);
    }
    for (int i = 0; i < 5; i++) {
      sqlite3_bind_int(del, 1, (int)(sq_rand(&seed) % 5000u));
      if (sqlite3_step(del) != SQLITE_DONE) TEST_FAIL_("delete: %s", sqlite3_errmsg(db));
      sqlite3_reset(del);
    }
    sq_exec(db, "COMMIT");
    if (r == rounds / 2) {
      sq_exec(db, "CREATE INDEX IF NOT EXISTS items_name ON items(name)");
      sq_exec(db, "CREATE INDEX IF NOT EXISTS items_qty_price ON items(qty, price)");
      sq_exec(db, "CREATE INDEX IF NOT EXISTS events_item ON events(item, kind)");
    }
    if (r == (rounds * 3) / 4) {
      sq_exec(db, "DELETE FROM events WHERE seq % 3 = 0");
      sq_exec(db, "VACUUM");
    }
    if (r % 10 == 9) {
      q = q * 31u + (uint64_t)sq_int(db, "SELECT count(*) FROM items WHERE qty > 50");
      q = q * 31u + sq_digest(db, "SELECT qty, count(*), sum(price) FROM items GROUP BY qty ORDER BY qty");
      q = q * 31u + sq_digest(db, "SELECT i.id, count(e.seq) FROM items i JOIN events e ON e.item = i.id "
                                  "WHERE i.id % 17 = 0 GROUP BY i.id ORDER BY i.id");
      q = q * 31u + sq_digest(db, "SELECT name FROM items ORDER BY name LIMIT 50 OFFSET 10");
    }
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(upd);
  sqlite3_finalize(del);
  sqlite3_finalize(ev);
  return q;
}

/* Remove a database and its journal, WAL and shared-memory files. */
static inline void unlink_all(const char *p)
{
  const char *sfx[] = {"", "-journal", "-wal", "-shm"};
  for (int i = 0; i < 4; i++) {
    char q[1100];
    snprintf(q, sizeof q, "%s%s", p, sfx[i]);
    test_unlink(q);
  }
}

#endif
