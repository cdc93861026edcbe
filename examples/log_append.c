/*
 * log_append.c -- an append-only log that grows in place.
 *
 * Layout of the file:
 *   offset 0: uint64  number of bytes used by records (the commit point)
 *   offset 8: records, each a uint32 payload length followed by the payload
 *
 * The log starts at 4 KiB and doubles whenever a record does not fit. It is
 * opened with `max_size`, which reserves address space for growth up to that
 * size once, at open: every resize up to it keeps the mapping at the same
 * address, so pointers and views into the log stay valid while it grows.
 *
 * A record is written first and committed second (the `used` counter is
 * updated after the payload), so a reader never sees half a record.
 */
#include "mmapio.h"
#include "example_util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LOG_INITIAL_SIZE 4096u
#define LOG_MAX_SIZE ((uint64_t)64 << 20) /* reserve 64 MiB of address space */
#define LOG_HEADER 8u
#define N_RECORDS 1000

typedef struct log_writer {
  mmapio_map *map;
  uint64_t used; /* bytes of records after the header */
  void *base;    /* to show that growth never moves the mapping */
  int grows;
} log_writer;

static int log_append(log_writer *w, const void *payload, uint32_t len)
{
  uint64_t at = LOG_HEADER + w->used;
  uint64_t need = at + sizeof len + len;
  int rc;

  if (need > mmapio_len(w->map)) {
    uint64_t size = mmapio_len(w->map);
    while (size < need)
      size *= 2;
    if (size > LOG_MAX_SIZE)
      size = LOG_MAX_SIZE;
    if (size < need)
      return MMAPIO_ENOSPC; /* the log is full: a real log would rotate here */
    /* In-place growth: the file is extended first, then the new length is
     * published. No waiting for readers, no copy, same base address (on
     * Windows this needs placeholder mappings, see below). */
    rc = mmapio_resize(w->map, size);
    if (rc != MMAPIO_OK)
      return rc;
    w->grows++;
    if (mmapio_unsafe_ptr(w->map) != w->base) {
#ifdef _WIN32
      /* Windows grows in place only with placeholder mappings (Windows 10
       * 1803+); elsewhere (older Windows, Wine) the mapping may move, so
       * pointers must be re-read after a resize there. */
      w->base = mmapio_unsafe_ptr(w->map);
#else
      fprintf(stderr, "the mapping moved although max_size was reserved\n");
      return MMAPIO_EIO;
#endif
    }
  }
  /* Payload first ... */
  if ((rc = mmapio_write(w->map, at, &len, sizeof len)) != MMAPIO_OK)
    return rc;
  if ((rc = mmapio_write(w->map, at + sizeof len, payload, len)) != MMAPIO_OK)
    return rc;
  /* ... then the commit point. */
  w->used += sizeof len + len;
  return mmapio_write(w->map, 0, &w->used, sizeof w->used);
}

int main(void)
{
  char path[512], rec[64];
  mmapio_options o;
  log_writer w;
  mmapio_map *r = NULL;
  uint64_t used, pos;
  int rc, i, n;

  example_temp_path(path, sizeof path, "log.bin");

  /* Create (or truncate) the log with its initial size and the growth
   * reservation. */
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  o.size = LOG_INITIAL_SIZE;
  o.max_size = LOG_MAX_SIZE;
  memset(&w, 0, sizeof w);
  rc = mmapio_open(&w.map, path, &o);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_open", rc);
  w.base = mmapio_unsafe_ptr(w.map);

  for (i = 0; i < N_RECORDS; i++) {
    n = snprintf(rec, sizeof rec, "record %d: the quick brown fox", i);
    rc = log_append(&w, rec, (uint32_t)n);
    if (rc != MMAPIO_OK)
      return example_fail("log_append", rc);
  }
  printf("appended %d records (%llu bytes); the file grew %d times to %llu bytes,\n"
         "and the mapping is at base address %p\n",
         N_RECORDS, (unsigned long long)w.used, w.grows, (unsigned long long)mmapio_len(w.map),
         mmapio_unsafe_ptr(w.map));

  /* One durable flush for the whole batch; then the log can be closed. */
  if ((rc = mmapio_flush(w.map)) != MMAPIO_OK)
    return example_fail("mmapio_flush", rc);
  if ((rc = mmapio_close(w.map)) != MMAPIO_OK)
    return example_fail("mmapio_close", rc);

  /* Replay: a reader maps the log read-only and walks the committed records
   * through zero-copy views. */
  if ((rc = mmapio_open_ro(&r, path)) != MMAPIO_OK)
    return example_fail("mmapio_open_ro", rc);
  if ((rc = mmapio_read(r, 0, &used, sizeof used)) != MMAPIO_OK)
    return example_fail("mmapio_read", rc);
  for (pos = 0, i = 0; pos < used; i++) {
    uint32_t len;
    mmapio_view v;
    if ((rc = mmapio_read(r, LOG_HEADER + pos, &len, sizeof len)) != MMAPIO_OK)
      return example_fail("mmapio_read", rc);
    if ((rc = mmapio_view_get(&v, r, LOG_HEADER + pos + sizeof len, len)) != MMAPIO_OK)
      return example_fail("mmapio_view_get", rc);
    n = snprintf(rec, sizeof rec, "record %d: the quick brown fox", i);
    if ((uint32_t)n != len || memcmp(v.data, rec, len) != 0) {
      fprintf(stderr, "record %d is corrupt: %.*s\n", i, (int)v.len, (const char *)v.data);
      mmapio_view_release(&v);
      return 1;
    }
    if (i == N_RECORDS - 1)
      printf("last record: %.*s\n", (int)v.len, (const char *)v.data);
    mmapio_view_release(&v);
    pos += sizeof len + len;
  }
  mmapio_close(r);
  mmapio_remove_file(path);
  printf("replayed %d records\n", i);
  return i == N_RECORDS ? 0 : 1;
}
