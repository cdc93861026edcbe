/*
 * asset_loader.c -- load game assets from a pack file without copying.
 *
 * A pack is a header, a table of contents and the asset blobs one after
 * another. The loader maps the pack read-only, asks the OS to read it ahead
 * (mmapio_prefetch), verifies its checksum by walking it in chunks
 * (mmapio_chunks), then hands out each asset as a zero-copy view: the bytes
 * the game sees are the page-cache pages themselves, shared by every process
 * that loads the same pack.
 */
#include "mmapio.h"
#include "example_util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PACK_MAGIC 0x4B434150u /* "PACK" */
#define PACK_MAX_ASSETS 8u

typedef struct pack_header {
  uint32_t magic;
  uint32_t count;
  uint32_t checksum; /* FNV-1a of everything after the header */
  uint32_t pad;
} pack_header;

typedef struct pack_entry {
  char name[24];
  uint32_t offset;
  uint32_t size;
} pack_entry;

static const struct {
  const char *name;
  uint32_t size;
} assets[] = {
  {"textures/grass.raw", 20000},
  {"sounds/jump.pcm", 7000},
  {"levels/1.map", 513},
  {"fonts/mono.bin", 4096},
};
#define N_ASSETS (sizeof assets / sizeof assets[0])

static uint8_t asset_byte(size_t asset, uint32_t i)
{
  return (uint8_t)(i * 31u + (uint32_t)asset * 7u + (i >> 8));
}

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

/* Writes a pack with the assets above; returns an mmapio status. */
static int build_pack(const char *path)
{
  pack_header h;
  pack_entry toc[N_ASSETS];
  uint32_t off = (uint32_t)(sizeof h + sizeof toc);
  uint8_t blob[20000];
  mmapio_map *m = NULL;
  mmapio_view v;
  size_t a;
  uint32_t i;
  int rc;

  memset(toc, 0, sizeof toc);
  for (a = 0; a < N_ASSETS; a++) {
    strncpy(toc[a].name, assets[a].name, sizeof toc[a].name - 1);
    toc[a].offset = off;
    toc[a].size = assets[a].size;
    off += assets[a].size;
  }
  if ((rc = mmapio_create_rw(&m, path, off)) != MMAPIO_OK)
    return rc;
  memset(&h, 0, sizeof h);
  h.magic = PACK_MAGIC;
  h.count = (uint32_t)N_ASSETS;
  rc = mmapio_write(m, sizeof h, toc, sizeof toc);
  for (a = 0; a < N_ASSETS && rc == MMAPIO_OK; a++) {
    for (i = 0; i < assets[a].size; i++)
      blob[i] = asset_byte(a, i);
    rc = mmapio_write(m, toc[a].offset, blob, assets[a].size);
  }
  /* The checksum covers the table and the blobs. */
  if (rc == MMAPIO_OK && (rc = mmapio_view_get(&v, m, sizeof h, off - sizeof h)) == MMAPIO_OK) {
    h.checksum = fnv1a(2166136261u, v.data, v.len);
    mmapio_view_release(&v);
    rc = mmapio_write(m, 0, &h, sizeof h);
  }
  if (rc == MMAPIO_OK)
    rc = mmapio_flush(m);
  mmapio_close(m);
  return rc;
}

/* Checksum of [from, end) with the chunk iterator; falls back to one view
 * when the iterator is compiled out of this build. */
static int checksum(mmapio_map *m, uint64_t from, uint32_t *out)
{
  mmapio_iter it;
  mmapio_chunk c;
  uint32_t h = 2166136261u;
  int rc = mmapio_chunks(&it, m, 4096);
  if (rc == MMAPIO_ENOTSUP) {
    mmapio_view v;
    printf("(chunk iterator not in this build: checksumming through one view)\n");
    if ((rc = mmapio_view_get(&v, m, from, mmapio_len(m) - from)) != MMAPIO_OK)
      return rc;
    *out = fnv1a(h, v.data, v.len);
    mmapio_view_release(&v);
    return MMAPIO_OK;
  }
  if (rc != MMAPIO_OK)
    return rc;
  /* Chunks cover the whole map; skip the bytes before `from`. */
  while ((rc = mmapio_iter_next(&c, &it)) == 1) {
    if (c.offset + c.len <= from)
      continue;
    if (c.offset < from)
      h = fnv1a(h, c.data + (from - c.offset), c.len - (size_t)(from - c.offset));
    else
      h = fnv1a(h, c.data, c.len);
  }
  /* Every successfully started iterator is ended exactly once. */
  mmapio_iter_end(&it);
  if (rc < 0)
    return rc;
  *out = h;
  return MMAPIO_OK;
}

int main(void)
{
  char path[512];
  mmapio_map *m = NULL;
  pack_header h;
  pack_entry toc[PACK_MAX_ASSETS];
  uint32_t sum = 0, i;
  size_t a;
  int rc, bad = 0;

  example_temp_path(path, sizeof path, "assets.pack");
  if ((rc = build_pack(path)) != MMAPIO_OK)
    return example_fail("build_pack", rc);

  /* ---- the loader ---- */
  if ((rc = mmapio_open_ro(&m, path)) != MMAPIO_OK)
    return example_fail("mmapio_open_ro", rc);
  /* Start reading the whole pack from disk in the background; the views
   * below then rarely wait for a page fault. This is only a hint. */
  if ((rc = mmapio_prefetch(m, 0, mmapio_len(m))) != MMAPIO_OK)
    return example_fail("mmapio_prefetch", rc);
  /* We are about to read sequentially; ADVISE may be compiled out. */
  rc = mmapio_advise(m, 0, mmapio_len(m), MMAPIO_ADVICE_SEQUENTIAL);
  if (rc != MMAPIO_OK && rc != MMAPIO_ENOTSUP)
    return example_fail("mmapio_advise", rc);

  if ((rc = mmapio_read(m, 0, &h, sizeof h)) != MMAPIO_OK)
    return example_fail("mmapio_read(header)", rc);
  if (h.magic != PACK_MAGIC || h.count > PACK_MAX_ASSETS) {
    fprintf(stderr, "not a pack file\n");
    return 1;
  }
  if ((rc = checksum(m, sizeof h, &sum)) != MMAPIO_OK)
    return example_fail("checksum", rc);
  printf("pack %s: %u assets, %llu bytes, checksum %08x (%s)\n", path, (unsigned)h.count,
         (unsigned long long)mmapio_len(m), (unsigned)sum, sum == h.checksum ? "ok" : "BAD");
  if (sum != h.checksum)
    return 1;

  if ((rc = mmapio_read(m, sizeof h, toc, h.count * sizeof toc[0])) != MMAPIO_OK)
    return example_fail("mmapio_read(toc)", rc);
  for (a = 0; a < h.count; a++) {
    mmapio_view v;
    /* Bounds are checked by the library: a corrupt table of contents gives
     * MMAPIO_EBOUNDS here instead of a read past the end of the mapping. */
    if ((rc = mmapio_view_get(&v, m, toc[a].offset, toc[a].size)) != MMAPIO_OK)
      return example_fail("mmapio_view_get(asset)", rc);
    for (i = 0; i < toc[a].size; i++)
      if (v.data[i] != asset_byte(a, i)) {
        bad++;
        break;
      }
    printf("  %-20.20s %6u bytes at offset %6u, zero-copy at %p\n", toc[a].name,
           (unsigned)toc[a].size, (unsigned)toc[a].offset, (const void *)v.data);
    mmapio_view_release(&v);
  }
  mmapio_close(m);
  mmapio_remove_file(path);
  return bad == 0 ? 0 : 1;
}
