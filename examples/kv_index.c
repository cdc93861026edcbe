/*
 * kv_index.c -- a fixed-slot hash index stored in a file.
 *
 * The file is an array of 64-byte slots after a 64-byte header. A key is
 * hashed (FNV-1a) to a slot, and collisions probe the following slots
 * (linear probing). Lookups read slots through zero-copy views, so a lookup
 * on a read-only mapping costs no system call and no copy; inserts fill a
 * slot through a write view.
 *
 * Because slots sit at multiples of 64 from a page-aligned base, a slot
 * pointer obtained from a view is suitably aligned for the struct.
 */
#include "mmapio.h"
#include "example_util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define KV_MAGIC "MMKVIDX1"
#define KV_SLOTS 512u
#define KV_KEY_MAX 48u

typedef struct kv_header {
  char magic[8];
  uint32_t slots;
  uint32_t pad;
  uint8_t reserved[48];
} kv_header;

typedef struct kv_slot {
  uint32_t used;
  uint32_t key_len;
  char key[KV_KEY_MAX];
  uint64_t value;
} kv_slot;

#define KV_FILE_SIZE (sizeof(kv_header) + (uint64_t)KV_SLOTS * sizeof(kv_slot))

static uint64_t slot_offset(uint32_t i)
{
  return sizeof(kv_header) + (uint64_t)i * sizeof(kv_slot);
}

static uint32_t fnv1a(const char *s, size_t n)
{
  uint32_t h = 2166136261u;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= (uint8_t)s[i];
    h *= 16777619u;
  }
  return h;
}

/* Finds the slot of `key`, or the empty slot where it would go. Returns the
 * slot index, or -1 when the table is full without the key. */
static int kv_find(mmapio_map *m, const char *key, size_t n, int *found)
{
  uint32_t start = fnv1a(key, n) % KV_SLOTS, k;
  *found = 0;
  for (k = 0; k < KV_SLOTS; k++) {
    uint32_t i = (start + k) % KV_SLOTS;
    mmapio_view v;
    const kv_slot *s;
    int used, match;
    if (mmapio_view_get(&v, m, slot_offset(i), sizeof(kv_slot)) != MMAPIO_OK)
      return -1;
    s = (const kv_slot *)(const void *)v.data;
    used = s->used != 0;
    match = used && s->key_len == n && memcmp(s->key, key, n) == 0;
    mmapio_view_release(&v);
    if (match) {
      *found = 1;
      return (int)i;
    }
    if (!used)
      return (int)i;
  }
  return -1;
}

static int kv_put(mmapio_map *m, const char *key, uint64_t value)
{
  size_t n = strlen(key);
  int found, i, rc;
  mmapio_view_mut w;
  kv_slot *s;
  if (n > KV_KEY_MAX)
    return MMAPIO_EINVAL;
  i = kv_find(m, key, n, &found);
  if (i < 0)
    return MMAPIO_ENOSPC;
  /* A write view is exclusive: no reader sees the slot half-filled. */
  rc = mmapio_view_get_mut(&w, m, slot_offset((uint32_t)i), sizeof(kv_slot));
  if (rc != MMAPIO_OK)
    return rc;
  s = (kv_slot *)(void *)w.data;
  if (!found) {
    memset(s->key, 0, sizeof s->key);
    memcpy(s->key, key, n);
    s->key_len = (uint32_t)n;
    s->used = 1;
  }
  s->value = value;
  return mmapio_view_mut_release(&w);
}

/* Returns 1 and sets *value when the key exists, 0 when not. */
static int kv_get(mmapio_map *m, const char *key, uint64_t *value)
{
  int found, i = kv_find(m, key, strlen(key), &found);
  if (i < 0 || !found)
    return 0;
  return mmapio_read(m, slot_offset((uint32_t)i) + offsetof(kv_slot, value), value,
                     sizeof *value) == MMAPIO_OK;
}

int main(void)
{
  char path[512], key[32];
  mmapio_map *m = NULL;
  kv_header h;
  uint64_t v;
  int rc, i, errors = 0;

  example_temp_path(path, sizeof path, "kv.idx");

  /* A new, zero-filled index file: every slot starts empty. */
  rc = mmapio_create_rw(&m, path, KV_FILE_SIZE);
  if (rc != MMAPIO_OK)
    return example_fail("mmapio_create_rw", rc);
  memset(&h, 0, sizeof h);
  memcpy(h.magic, KV_MAGIC, 8);
  h.slots = KV_SLOTS;
  if ((rc = mmapio_write(m, 0, &h, sizeof h)) != MMAPIO_OK)
    return example_fail("mmapio_write(header)", rc);

  for (i = 0; i < 300; i++) {
    snprintf(key, sizeof key, "user:%d", i);
    if ((rc = kv_put(m, key, (uint64_t)i * 1000u)) != MMAPIO_OK)
      return example_fail("kv_put", rc);
  }
  /* Updating an existing key rewrites its slot in place. */
  if ((rc = kv_put(m, "user:7", 777)) != MMAPIO_OK)
    return example_fail("kv_put", rc);

  if ((rc = mmapio_flush(m)) != MMAPIO_OK)
    return example_fail("mmapio_flush", rc);
  if ((rc = mmapio_close(m)) != MMAPIO_OK)
    return example_fail("mmapio_close", rc);

  /* Any process can now answer lookups from a read-only mapping. */
  if ((rc = mmapio_open_ro(&m, path)) != MMAPIO_OK)
    return example_fail("mmapio_open_ro", rc);
  if ((rc = mmapio_read(m, 0, &h, sizeof h)) != MMAPIO_OK)
    return example_fail("mmapio_read(header)", rc);
  if (memcmp(h.magic, KV_MAGIC, 8) != 0 || h.slots != KV_SLOTS) {
    fprintf(stderr, "bad index header\n");
    return 1;
  }
  for (i = 0; i < 300; i++) {
    uint64_t want = i == 7 ? 777u : (uint64_t)i * 1000u;
    snprintf(key, sizeof key, "user:%d", i);
    if (!kv_get(m, key, &v) || v != want) {
      fprintf(stderr, "%s: wrong or missing value\n", key);
      errors++;
    }
  }
  if (kv_get(m, "user:300", &v)) {
    fprintf(stderr, "user:300 should not exist\n");
    errors++;
  }
  kv_get(m, "user:42", &v);
  printf("300 keys stored in %u slots of %s\n", KV_SLOTS, path);
  printf("user:42 -> %llu, user:7 -> 777 after the update, user:300 -> not found\n",
         (unsigned long long)v);
  mmapio_close(m);
  mmapio_remove_file(path);
  return errors == 0 ? 0 : 1;
}
