/*
 * map.c -- file and anonymous mappings with sections and views.
 *
 * A mapping is one section (CreateFileMappingW) and one or more views of it
 * laid out back to back from om->base. om->handle points to a
 * mmapio__win_map whose first member is the newest section HANDLE (closed on
 * unmap; the views keep older sections alive by themselves).
 *
 * Three Windows rules shape this file:
 *  - A file cannot be truncated while any view of it exists
 *    (ERROR_USER_MAPPED_FILE), so a shrink unmaps, truncates and maps again.
 *  - A section is as long as the file was when it was created; reaching
 *    bytes added later needs a new section.
 *  - Without placeholders there is no way to reserve address space next to
 *    a view and map into it later, so growth in place needs placeholders
 *    (VirtualAlloc2 + MapViewOfFile3, Windows 10 1803+). With them the whole
 *    reservation is one placeholder; the file is mapped into its front, and
 *    growth splits the rest and maps a view of a new, longer section into
 *    the split-off piece. Placeholders can be split at page granularity and
 *    views replacing a placeholder may start at any page offset, so views
 *    simply follow each other. Where placeholders are missing (before
 *    Windows 10 1803, and Wine 8, which rejects MEM_RESERVE_PLACEHOLDER)
 *    mmapio__os_map reserves only `len` and the core resizes by moving.
 *
 * Windows of a file (platform.h): MapViewOfFile needs a file offset that is
 * a multiple of the allocation granularity (64 KiB), so a window is mapped
 * from the offset rounded down to it (wm->aoff) and om->delta bytes precede
 * om->base. Sections are aoff + length bytes long (a section counts from
 * the start of the file). The contract functions turn the window into the
 * real mapping on entry (mmapio__win_to_real) and back on exit, so that
 * everything below them works on views starting at om->base = the real
 * start, with lengths counted from there.
 */
#include "os_fast.h"
#include "win.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mmapio__win_view {
  uint8_t *addr;
  uint64_t len; /* page multiple */
} mmapio__win_view;

typedef struct mmapio__win_map {
  HANDLE section;   /* first member: the newest section (see platform.h) */
  int anon;         /* backed by the paging file */
  int ph;           /* [base, base + reserved) is a placeholder reservation */
  DWORD prot;       /* PAGE_* of the section and the views */
  DWORD access;     /* FILE_MAP_* of MapViewOfFile */
  size_t nviews, cap;
  mmapio__win_view *views; /* back to back from om->base */
  uint64_t mapped;  /* sum of the views' lengths */
  uint64_t aoff;    /* file offset of the first view (window maps; else 0) */
  /* Guards views/nviews/cap/mapped against the one change that can run
   * while flushes walk them: growth in place, which the core runs under its
   * resize mutex only, while flushes (mmapio_flush, the background flusher)
   * hold the map's `stable` lock shared. Growth takes it exclusively to
   * reallocate and append, mmapio__os_flush shared while it walks. Moving
   * resizes and unmap run with `stable` held exclusively, so no flush runs
   * then. Zero (calloc) is SRWLOCK_INIT. */
  SRWLOCK vlock;
} mmapio__win_map;

/* Describe the real mapping in om (base at the view start, reserved counted
 * from it) or, with back = 1, the window again. An empty mapping has no
 * base and stays so. */
static void mmapio__win_to_real(mmapio__os_mapping *om, int back)
{
  uint64_t d = om->delta;
  if (om->base == NULL || d == 0) return;
  if (back) {
    om->base += d;
    om->reserved -= d;
  } else {
    om->base -= d;
    om->reserved += d;
  }
}

static uint64_t mmapio__win_page_up(uint64_t v)
{
  uint64_t p = (uint64_t)mmapio__os_page_size();
  return (v + p - 1u) & ~(p - 1u);
}

static int mmapio__win_file_invalid(mmapio_native_file f)
{
  return (HANDLE)f == NULL || (HANDLE)f == INVALID_HANDLE_VALUE;
}

/* Make room for one more view before mapping it, so that bookkeeping can
 * never fail after the OS call succeeded. */
static DWORD mmapio__win_views_reserve(mmapio__win_map *wm)
{
  DWORD rc = 0;
  if (wm->nviews < wm->cap) return 0;
  AcquireSRWLockExclusive(&wm->vlock);
  {
    size_t cap = wm->cap == 0 ? 4u : wm->cap * 2u;
    mmapio__win_view *v =
        (mmapio__win_view *)realloc(wm->views, cap * sizeof(mmapio__win_view));
    if (v == NULL) {
      rc = ERROR_NOT_ENOUGH_MEMORY;
    } else {
      wm->views = v;
      wm->cap = cap;
    }
  }
  ReleaseSRWLockExclusive(&wm->vlock);
  return rc;
}

static void mmapio__win_views_push(mmapio__win_map *wm, uint8_t *addr, uint64_t len)
{
  AcquireSRWLockExclusive(&wm->vlock);
  wm->views[wm->nviews].addr = addr;
  wm->views[wm->nviews].len = len;
  wm->nviews++;
  wm->mapped += len;
  ReleaseSRWLockExclusive(&wm->vlock);
}

static HANDLE mmapio__win_section(HANDLE f, DWORD prot, uint64_t len)
{
  if (MMAPIO__WIN_INJECT("CreateFileMappingW", 0, len, (int)prot)) return NULL;
  return CreateFileMappingW(f, NULL, prot, (DWORD)(len >> 32), (DWORD)(len & 0xffffffffu), NULL);
}

/* Map a whole section of `len` bytes anywhere, preferring `hint` (the old
 * base after a remap, so that addresses change as rarely as possible). */
static uint8_t *mmapio__win_view_plain(mmapio__win_map *wm, HANDLE s, uint64_t len, void *hint)
{
  if (len > (uint64_t)(SIZE_T)-1) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return NULL;
  }
  if (mmapio__win_views_reserve(wm) != 0) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return NULL;
  }
  if (MMAPIO__WIN_INJECT("MapViewOfFile", 0, len, (int)wm->access)) return NULL;
  void *v = NULL;
  {
    DWORD hi = (DWORD)(wm->aoff >> 32), lo = (DWORD)(wm->aoff & 0xffffffffu);
    if (hint != NULL) v = MapViewOfFileEx(s, wm->access, hi, lo, (SIZE_T)len, hint);
    if (v == NULL) v = MapViewOfFileEx(s, wm->access, hi, lo, (SIZE_T)len, NULL);
  }
  if (v != NULL) mmapio__win_views_push(wm, (uint8_t *)v, mmapio__win_page_up(len));
  return (uint8_t *)v;
}

/* Reserve `res` bytes (a page multiple) as one placeholder. */
static uint8_t *mmapio__win_ph_reserve(uint64_t res)
{
  const mmapio__win_api *api = mmapio__win_get_api();
  if (res > (uint64_t)(SIZE_T)-1) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return NULL;
  }
  if (MMAPIO__WIN_INJECT("VirtualAlloc2", 0, res, 0)) return NULL;
  return (uint8_t *)api->VirtualAlloc2(NULL, NULL, (SIZE_T)res,
                                       MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS,
                                       NULL, 0);
}

/* Map [start, end) of section `s` (page offsets) at base + start, where
 * [base + start, base + res) is currently one placeholder. */
static int mmapio__win_ph_map(mmapio__win_map *wm, uint8_t *base, uint64_t res, HANDLE s,
                              uint64_t start, uint64_t end)
{
  const mmapio__win_api *api = mmapio__win_get_api();
  int split = 0;
  if (mmapio__win_views_reserve(wm) != 0) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return 0;
  }
  if (end < res) {
    if (MMAPIO__WIN_INJECT("VirtualFree", start, end - start, MEM_PRESERVE_PLACEHOLDER) ||
        !VirtualFree(base + start, (SIZE_T)(end - start), MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER))
      return 0;
    split = 1;
  }
  void *v = NULL;
  if (!MMAPIO__WIN_INJECT("MapViewOfFile3", start, end - start, (int)wm->prot)) {
    v = api->MapViewOfFile3(s, GetCurrentProcess(), base + start, wm->aoff + start,
                            (SIZE_T)(end - start),
                            MEM_REPLACE_PLACEHOLDER, wm->prot, NULL, 0);
  }
  if (v == NULL) {
    if (split) {
      /* Join the pieces again so the next attempt finds one placeholder. */
      DWORD e = GetLastError();
      VirtualFree(base + start, (SIZE_T)(res - start), MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS);
      SetLastError(e);
    }
    return 0;
  }
  mmapio__win_views_push(wm, (uint8_t *)v, end - start);
  return 1;
}

/* Unmap every view. With `preserve` (placeholder mappings) the views turn
 * back into placeholders that are joined into one covering [base, base +
 * reserved); otherwise everything, the placeholder tail included, is
 * released. `fallible`: an injected failure aborts before anything changes
 * (remap); close ignores it. */
static int mmapio__win_unmap_all(mmapio__os_mapping *om, mmapio__win_map *wm, int preserve,
                                 int fallible)
{
  const mmapio__win_api *api = mmapio__win_get_api();
  if (wm->nviews == 0 && !wm->ph) return 1;
  if (MMAPIO__WIN_INJECT("UnmapViewOfFile", (uint64_t)(uintptr_t)om->base, wm->mapped, preserve) &&
      fallible)
    return 0;
  for (size_t i = 0; i < wm->nviews; i++) {
    if (preserve) api->UnmapViewOfFile2(GetCurrentProcess(), wm->views[i].addr, MEM_PRESERVE_PLACEHOLDER);
    else UnmapViewOfFile(wm->views[i].addr);
  }
  if (wm->ph) {
    if (preserve) {
      if (wm->nviews > 1 || wm->mapped < om->reserved)
        VirtualFree(om->base, (SIZE_T)om->reserved, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS);
    } else if (wm->mapped < om->reserved) {
      VirtualFree(om->base + wm->mapped, 0, MEM_RELEASE);
    }
  }
  wm->nviews = 0;
  wm->mapped = 0;
  return 1;
}

static int mmapio__win_prot(mmapio_mode mode, DWORD *prot, DWORD *access)
{
  switch (mode) {
    case MMAPIO_MODE_READ_ONLY: *prot = PAGE_READONLY; *access = FILE_MAP_READ; return 1;
    case MMAPIO_MODE_READ_WRITE: *prot = PAGE_READWRITE; *access = FILE_MAP_WRITE; return 1;
    case MMAPIO_MODE_COPY_ON_WRITE: *prot = PAGE_WRITECOPY; *access = FILE_MAP_COPY; return 1;
    default: return 0;
  }
}

/* Map `len` bytes of section `s` into a new region: a placeholder of
 * `res` bytes when placeholders work and res > len, else a plain view.
 * Fills om->base/reserved and wm->ph. Returns 1, or 0 with the last error
 * set and *call naming the failing call. */
static int mmapio__win_map_new(mmapio__os_mapping *om, mmapio__win_map *wm, HANDLE s, uint64_t len,
                               uint64_t res, void *hint, const char **call)
{
  const mmapio__win_api *api = mmapio__win_get_api();
  uint64_t lp = mmapio__win_page_up(len);
  res = mmapio__win_page_up(res);
  if (!wm->anon && api->placeholders && res > lp) {
    uint8_t *base = mmapio__win_ph_reserve(res);
    if (base == NULL) {
      *call = "VirtualAlloc2";
      return 0;
    }
    if (!mmapio__win_ph_map(wm, base, res, s, 0, lp)) {
      DWORD e = GetLastError();
      *call = "MapViewOfFile3";
      VirtualFree(base, 0, MEM_RELEASE);
      SetLastError(e);
      return 0;
    }
    om->base = base;
    om->reserved = res;
    wm->ph = 1;
    return 1;
  }
  {
    uint8_t *v = mmapio__win_view_plain(wm, s, len, hint);
    if (v == NULL) {
      *call = "MapViewOfFile";
      return 0;
    }
    om->base = v;
    om->reserved = len;
    wm->ph = 0;
    return 1;
  }
}

/* Create the section of `file` (INVALID_HANDLE_VALUE: the paging file) with
 * wm->prot and map it; on failure free `wm` and report the failing call. */
static int mmapio__win_map_section(mmapio__os_mapping *om, mmapio__win_map *wm, HANDLE file,
                                   uint64_t len, uint64_t reserve, const char *path)
{
  const char *call = "MapViewOfFile";
  wm->section = mmapio__win_section(file, wm->prot, wm->aoff + len);
  if (wm->section == NULL) {
    int st = mmapio__fail_os((int)GetLastError(), "CreateFileMappingW", path);
    free(wm);
    return st;
  }
  if (!mmapio__win_map_new(om, wm, wm->section, len, reserve, NULL, &call)) {
    int st = mmapio__fail_os((int)GetLastError(), call, path);
    CloseHandle(wm->section);
    free(wm->views);
    free(wm);
    return st;
  }
  om->handle = wm;
  return MMAPIO_OK;
}

int mmapio__os_map(mmapio__os_mapping *om, mmapio_native_file f, mmapio_mode mode, uint64_t len,
                   uint64_t reserve, uint32_t open_flags, const char *path)
{
  DWORD prot, access;
  (void)open_flags;
  if (!mmapio__win_prot(mode, &prot, &access))
    return mmapio__fail(MMAPIO_EINVAL, "mmapio__os_map(%s): unknown mode %d", mmapio__path_or(path), (int)mode);
  om->base = NULL;
  om->reserved = 0;
  om->handle = NULL;
  om->delta = om->offset % (uint64_t)mmapio__os_granularity();
  /* om->keep (max_size) belongs to the caller; it is only read here. */
  if (reserve < len) reserve = len;
  /* A section cannot be empty; an empty file is an empty mapping. */
  if (len == 0) return MMAPIO_OK;
  mmapio__win_map *wm = (mmapio__win_map *)calloc(1, sizeof *wm);
  if (wm == NULL) return mmapio__fail_os((int)ERROR_NOT_ENOUGH_MEMORY, "calloc", path);
  wm->prot = prot;
  wm->access = access;
  wm->aoff = om->offset - om->delta;
  /* The section ends where the window ends, never past the file: a longer
   * read-write section would silently extend the file. */
  {
    int st = mmapio__win_map_section(om, wm, (HANDLE)f, len + om->delta, reserve + om->delta, path);
    if (st == MMAPIO_OK) mmapio__win_to_real(om, 1);
    return st;
  }
}

int mmapio__os_can_map(uint64_t offset, uint64_t reserve, const char *path)
{
  /* The span mmapio__os_map would reserve: the window from its aligned
   * start. A 32-bit process cannot hold a large one (2 GiB at most). */
  uint64_t span = reserve + offset % (uint64_t)mmapio__os_granularity();
  if (span > (uint64_t)SIZE_MAX) return mmapio__fail_os((int)ERROR_NOT_ENOUGH_MEMORY, "VirtualAlloc", path);
  void *p = MMAPIO__WIN_INJECT("VirtualAlloc", span, 0, 0)
                ? NULL
                : VirtualAlloc(NULL, (SIZE_T)span, MEM_RESERVE, PAGE_NOACCESS);
  if (p == NULL) {
    /* A size beyond the process's whole address space (2 GiB of a 32-bit
     * one) is "invalid parameter" to VirtualAlloc: still no space. */
    DWORD e = GetLastError();
    if (e == ERROR_INVALID_PARAMETER) e = ERROR_NOT_ENOUGH_MEMORY;
    return mmapio__fail_os((int)e, "VirtualAlloc", path);
  }
  VirtualFree(p, 0, MEM_RELEASE);
  return MMAPIO_OK;
}

int mmapio__os_map_anon(mmapio__os_mapping *om, uint64_t len, uint32_t anon_flags)
{
  om->base = NULL;
  om->reserved = 0;
  om->handle = NULL;
  /* Windows has no fork(): MMAPIO_ANON_SHARED changes nothing. */
  om->anon_shared = (anon_flags & MMAPIO_ANON_SHARED) != 0;
  if (len == 0) return MMAPIO_OK;
  mmapio__win_map *wm = (mmapio__win_map *)calloc(1, sizeof *wm);
  if (wm == NULL) return mmapio__fail_os((int)ERROR_NOT_ENOUGH_MEMORY, "calloc", NULL);
  wm->anon = 1;
  wm->prot = PAGE_READWRITE;
  wm->access = FILE_MAP_WRITE;
  /* A section backed by the paging file: zero-filled, committed up front,
   * so running out of commit is ENOMEM here and not a fault later. */
  return mmapio__win_map_section(om, wm, INVALID_HANDLE_VALUE, len, len, NULL);
}

void mmapio__os_unmap(mmapio__os_mapping *om, uint64_t len)
{
  mmapio__win_map *wm = (mmapio__win_map *)om->handle;
  (void)len;
  mmapio__win_to_real(om, 0);
  if (wm != NULL) {
    mmapio__win_unmap_all(om, wm, 0, 0);
    if (wm->section != NULL) CloseHandle(wm->section);
    free(wm->views);
    free(wm);
  }
  om->base = NULL;
  om->reserved = 0;
  om->handle = NULL;
}

void mmapio__os_unmap_close(const mmapio__os_mapping *om, mmapio_native_file f)
{
  mmapio__os_mapping c = *om; /* the caller's is left as it was */
  mmapio__os_unmap(&c, 0);
  mmapio__os_close_file(f);
}

static int mmapio__win_grow_real(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                                 uint64_t new_len, const char *path)
{
  mmapio__win_map *wm = (mmapio__win_map *)om->handle;
  HANDLE s;
  (void)old_len;
  if (wm == NULL || !wm->ph || wm->anon || new_len > om->reserved)
    return mmapio__fail(MMAPIO_EINVAL, "grow in place(%s): no reservation covers %llu bytes",
                        mmapio__path_or(path), (unsigned long long)new_len);
  /* The file was extended by the caller; a new section reaches the new
   * bytes. Views of the older sections stay valid and see the same pages
   * (all sections of a file share its cache pages). */
  s = mmapio__win_section((HANDLE)f, wm->prot, wm->aoff + new_len);
  if (s == NULL) return mmapio__fail_os((int)GetLastError(), "CreateFileMappingW", path);
  uint64_t end = mmapio__win_page_up(new_len);
  if (end > wm->mapped && !mmapio__win_ph_map(wm, om->base, om->reserved, s, wm->mapped, end)) {
    int st = mmapio__fail_os((int)GetLastError(), "MapViewOfFile3", path);
    CloseHandle(s);
    return st;
  }
  CloseHandle(wm->section);
  wm->section = s;
  return MMAPIO_OK;
}

int mmapio__os_grow_in_place(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                             uint64_t new_len, const char *path)
{
  uint64_t d = om->base != NULL ? om->delta : 0;
  mmapio__win_to_real(om, 0);
  int st = mmapio__win_grow_real(om, f, old_len + d, new_len + d, path);
  mmapio__win_to_real(om, 1);
  return st;
}

/* Map `len` bytes of the file again after a failed remap: back into the
 * old placeholder region (ph) or, for plain views, preferably at the old
 * address. Raw calls only: the detail message of the first failure stays. */
static int mmapio__win_restore(mmapio__os_mapping *om, mmapio__win_map *wm, HANDLE f, uint64_t len,
                               uint8_t *old_base, uint64_t old_reserved, int old_ph)
{
  HANDLE s = mmapio__win_section(f, wm->prot, wm->aoff + len);
  if (s == NULL) return 0;
  if (old_ph) {
    if (!mmapio__win_ph_map(wm, old_base, old_reserved, s, 0, mmapio__win_page_up(len))) {
      CloseHandle(s);
      return 0;
    }
    om->base = old_base;
    om->reserved = old_reserved;
    wm->ph = 1;
  } else {
    uint8_t *v = mmapio__win_view_plain(wm, s, len, old_base);
    if (v == NULL) {
      CloseHandle(s);
      return 0;
    }
    om->base = v;
    om->reserved = len;
    wm->ph = 0;
  }
  if (wm->section != NULL) CloseHandle(wm->section);
  wm->section = s;
  return 1;
}

/* Largest shrink whose cut bytes are kept in memory until it succeeded. */
#define MMAPIO__WIN_TAIL_MAX ((uint64_t)64 << 20)

static int mmapio__win_remap_anon(mmapio__os_mapping *om, mmapio__win_map *wm, uint64_t old_len,
                                  uint64_t new_len)
{
  /* Anonymous memory has no file to keep the bytes: map a new section,
   * copy, then drop the old one. The old mapping is untouched on failure. */
  mmapio__win_map nw;
  mmapio__os_mapping nom;
  const char *call = "MapViewOfFile";
  memset(&nw, 0, sizeof nw);
  memset(&nom, 0, sizeof nom);
  nw.anon = 1;
  nw.prot = PAGE_READWRITE;
  nw.access = FILE_MAP_WRITE;
  nw.section = mmapio__win_section(INVALID_HANDLE_VALUE, PAGE_READWRITE, new_len);
  if (nw.section == NULL) return mmapio__fail_os((int)GetLastError(), "CreateFileMappingW", NULL);
  if (!mmapio__win_map_new(&nom, &nw, nw.section, new_len, new_len, NULL, &call)) {
    int st = mmapio__fail_os((int)GetLastError(), call, NULL);
    CloseHandle(nw.section);
    free(nw.views);
    return st;
  }
  if (om->base != NULL) memcpy(nom.base, om->base, (size_t)(old_len < new_len ? old_len : new_len));
  mmapio__win_unmap_all(om, wm, 0, 0);
  if (wm->section != NULL) CloseHandle(wm->section);
  free(wm->views);
  *wm = nw;
  om->base = nom.base;
  om->reserved = nom.reserved;
  return MMAPIO_OK;
}

/* The state of a file mapping before a remap, to go back to on failure. */
typedef struct mmapio__win_old {
  uint8_t *base;
  uint64_t reserved;
  uint64_t len;
  int ph;
  uint64_t keep;    /* address space to reserve (max_size, real mapping) */
  uint8_t *tail;    /* copy of the bytes a shrink cuts off (or NULL) */
  uint64_t tail_len;
} mmapio__win_old;

/* Backend data for a mapping that has none yet (an empty one). */
static int mmapio__win_remap_data(mmapio__os_mapping *om, mmapio_native_file f,
                                  mmapio__win_map **out, const char *path)
{
  mmapio__win_map *wm = (mmapio__win_map *)om->handle;
  if (wm == NULL) {
    wm = (mmapio__win_map *)calloc(1, sizeof *wm);
    if (wm == NULL) return mmapio__fail_os((int)ERROR_NOT_ENOUGH_MEMORY, "calloc", path);
    wm->anon = mmapio__win_file_invalid(f);
    wm->prot = PAGE_READWRITE;
    wm->access = FILE_MAP_WRITE;
    wm->aoff = om->offset - om->delta;
    om->handle = wm;
  }
  *out = wm;
  return MMAPIO_OK;
}

/* Step 0: a shrink truncates before the new section and view exist
 * (Windows refuses to truncate while either exists), so a failure after the
 * truncation could not give the cut bytes back. Keep a copy of them for
 * that case, up to MMAPIO__WIN_TAIL_MAX; a larger shrink that fails after
 * truncating (only CreateFileMappingW or MapViewOfFile running out of
 * memory right after a larger mapping was released) restores the length
 * with zeros there. */
static int mmapio__win_save_tail(mmapio__win_old *old, const mmapio__os_mapping *om,
                                 const mmapio__win_map *wm, HANDLE f, uint64_t new_len,
                                 const char *path)
{
  old->tail = NULL;
  old->tail_len = 0;
  if (new_len >= old->len || old->len - new_len > MMAPIO__WIN_TAIL_MAX) return MMAPIO_OK;
  old->tail_len = old->len - new_len;
  old->tail = (uint8_t *)malloc((size_t)old->tail_len);
  if (old->tail == NULL)
    return mmapio__fail_os((int)ERROR_NOT_ENOUGH_MEMORY, "malloc(resize undo buffer)", path);
  if (om->base != NULL) {
    memcpy(old->tail, om->base + new_len, (size_t)old->tail_len);
    return MMAPIO_OK;
  }
  /* Nothing is mapped (a map an earlier failure left empty): the bytes are
   * in the file only. */
  DWORD e = mmapio__win_read_at(f, wm->aoff + new_len, old->tail, old->tail_len, 0, NULL);
  if (e == 0) return MMAPIO_OK;
  free(old->tail);
  old->tail = NULL;
  return mmapio__fail_os((int)e, "ReadFile(resize undo buffer)", path);
}

/* Step 1: no view may remain while the file shrinks, and unmapping first
 * also lets a failed growth truncate back. The caller holds the map
 * exclusively, so nobody touches the bytes meanwhile. An open section
 * blocks truncation too (ERROR_USER_MAPPED_FILE), even without views; the
 * restore path makes a new one if needed. */
static int mmapio__win_release(mmapio__os_mapping *om, mmapio__win_map *wm, int ph,
                               const char *path)
{
  if (!mmapio__win_unmap_all(om, wm, ph, 1))
    return mmapio__fail_os((int)GetLastError(), "UnmapViewOfFile", path);
  if (wm->section != NULL) {
    CloseHandle(wm->section);
    wm->section = NULL;
  }
  return MMAPIO_OK;
}

/* Step 3: a section of the new length, mapped in place when the
 * placeholder reservation is large enough, else into a new region. On
 * failure nothing is mapped and om describes the old region again. */
static int mmapio__win_map_resized(mmapio__os_mapping *om, mmapio__win_map *wm, HANDLE f,
                                   uint64_t new_len, const mmapio__win_old *old, const char *path)
{
  const char *call = "MapViewOfFile";
  HANDLE s = mmapio__win_section(f, wm->prot, wm->aoff + new_len);
  if (s == NULL) return mmapio__fail_os((int)GetLastError(), "CreateFileMappingW", path);
  uint64_t res = mmapio__win_page_up(old->keep > new_len ? old->keep : new_len);
  if (old->ph && res <= old->reserved) {
    if (!mmapio__win_ph_map(wm, old->base, old->reserved, s, 0, mmapio__win_page_up(new_len))) {
      int st = mmapio__fail_os((int)GetLastError(), "MapViewOfFile3", path);
      CloseHandle(s);
      return st;
    }
  } else {
    if (!mmapio__win_map_new(om, wm, s, new_len, res, old->ph ? NULL : old->base, &call)) {
      int st = mmapio__fail_os((int)GetLastError(), call, path);
      om->base = old->base;
      om->reserved = old->reserved;
      wm->ph = old->ph;
      CloseHandle(s);
      return st;
    }
    /* The old placeholder region is not used any more. */
    if (old->ph) VirtualFree(old->base, 0, MEM_RELEASE);
  }
  wm->section = s;
  return MMAPIO_OK;
}

/* What the undo says about the cut bytes when they could not be put back,
 * written into buf ("" when nothing was lost): a shrink larger than
 * MMAPIO__WIN_TAIL_MAX kept no copy, or writing the copy back failed with
 * `we` after `put` bytes. File offset `at` is where the cut bytes start. */
static void mmapio__win_tail_note(char *buf, size_t n, uint64_t at, uint64_t cut,
                                  const mmapio__win_old *old, DWORD we, uint64_t put)
{
  buf[0] = '\0';
  if (we != 0) {
    char os[160];
    mmapio__os_strerror((int)we, os, sizeof os);
    snprintf(buf, n,
             "; writing the %llu bytes the shrink had cut off back into the file failed "
             "(WriteFile: %s): the file reads zero from offset %llu",
             (unsigned long long)old->tail_len, os, (unsigned long long)(at + put));
  } else if (cut != 0 && old->tail == NULL) {
    snprintf(buf, n,
             "; the %llu bytes the shrink had cut off were not kept (more than %llu): the file "
             "reads zero from offset %llu",
             (unsigned long long)cut, (unsigned long long)MMAPIO__WIN_TAIL_MAX,
             (unsigned long long)at);
  }
}

/* After a failed step 2 or 3: the old length back (when `unsize`, reserving
 * nothing: the blocks up to the old length were there before), the old
 * bytes mapped again (and the cut tail copied back). Returns `st`, with the
 * message extended when even that fails: nothing is mapped then, the
 * backend data is freed (om is that of an empty mapping, which the core
 * makes the map: see mmapio__os_remap in platform.h), and a cut tail goes
 * back into the file (mmapio__win_write_at: all of it, or the message says
 * where the file reads zero). A map that was empty before (old->base NULL:
 * an earlier resize left it so) stays empty, with the file's length and
 * bytes back. The status and the OS error stay those of the first failure. */
static int mmapio__win_remap_undo(mmapio__os_mapping *om, mmapio__win_map *wm, HANDLE f,
                                  uint64_t new_len, const mmapio__win_old *old, int unsize, int st)
{
  uint64_t at = wm->aoff + new_len;
  uint64_t cut = unsize && old->len > new_len ? old->len - new_len : 0;
  char note[400];
  if (unsize) {
    const char *c2;
    mmapio__win_set_size(f, wm->aoff + new_len, wm->aoff + old->len, 1, &c2);
  }
  if (old->base != NULL &&
      mmapio__win_restore(om, wm, f, old->len, old->base, old->reserved, old->ph)) {
    if (old->tail != NULL) memcpy(om->base + new_len, old->tail, (size_t)old->tail_len);
    mmapio__win_tail_note(note, sizeof note, at, cut, old, 0, 0);
    if (note[0] != '\0') mmapio__error_append("%s", note);
    return st;
  }
  /* Nothing is mapped any more: say so, keeping the first cause. */
  char first[400];
  const char *le = mmapio_last_error();
  int oserr = mmapio_last_os_error();
  size_t n = strlen(le);
  if (n >= sizeof first) n = sizeof first - 1;
  memcpy(first, le, n);
  first[n] = '\0';
  if (old->ph) VirtualFree(old->base, 0, MEM_RELEASE);
  DWORD we = 0;
  uint64_t put = 0;
  if (cut != 0 && old->tail != NULL)
    we = mmapio__win_write_at(f, at, old->tail, old->tail_len, 0, &put);
  if (wm->section != NULL) CloseHandle(wm->section);
  free(wm->views);
  free(wm);
  om->handle = NULL;
  om->base = NULL;
  om->reserved = 0;
  mmapio__win_tail_note(note, sizeof note, at, cut, old, we, put);
  char again[120];
  if (old->base != NULL)
    snprintf(again, sizeof again, "; mapping the old %llu bytes again failed too",
             (unsigned long long)old->len);
  else
    again[0] = '\0';
  const char *end = old->base != NULL ? " (the map is empty now)" : " (the map is still empty)";
  /* The message ends in `end` however long the first cause was. */
  size_t room = 511u - strlen(again) - strlen(note) - strlen(end);
  return mmapio__fail_keep_os(st, oserr, "%.*s%s%s%s", (int)(n < room ? n : room), first, again,
                              note, end);
}

static int mmapio__win_remap_real(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                                  uint64_t new_len, uint64_t keep, int sparse, const char *path)
{
  mmapio__win_map *wm = NULL;
  mmapio__win_old old;
  const char *call = "SetEndOfFile";

  if (new_len == 0) return mmapio__fail(MMAPIO_ESIZE, "New size must be greater than zero");
  int st = mmapio__win_remap_data(om, f, &wm, path);
  if (st != MMAPIO_OK) return st;
  if (wm->anon || mmapio__win_file_invalid(f)) return mmapio__win_remap_anon(om, wm, old_len, new_len);
  if (om->base == NULL) {
    /* Nothing is mapped: an earlier resize failed and left the map empty
     * (len 0) while the file kept its bytes. Those are the old length to
     * go back to if this resize fails, not 0. */
    uint64_t flen = 0;
    st = mmapio__os_file_size(&flen, f, path);
    if (st != MMAPIO_OK) return st;
    old_len = flen > wm->aoff ? flen - wm->aoff : 0;
  }
  old.base = om->base;
  old.reserved = om->reserved;
  old.len = old_len;
  old.ph = wm->ph;
  old.keep = keep;

  st = mmapio__win_save_tail(&old, om, wm, (HANDLE)f, new_len, path);         /* 0 */
  if (st == MMAPIO_OK) st = mmapio__win_release(om, wm, old.ph, path);         /* 1 */
  if (st != MMAPIO_OK) {
    free(old.tail);
    return st;
  }
  DWORD e = mmapio__win_set_size((HANDLE)f, wm->aoff + old_len, wm->aoff + new_len, sparse, &call); /* 2 */
  if (e != 0) {
    st = mmapio__win_remap_undo(om, wm, (HANDLE)f, new_len, &old, 0,
                                mmapio__fail_os((int)e, call, path));
  } else {
    st = mmapio__win_map_resized(om, wm, (HANDLE)f, new_len, &old, path);        /* 3 */
    if (st != MMAPIO_OK) st = mmapio__win_remap_undo(om, wm, (HANDLE)f, new_len, &old, 1, st);
  }
  free(old.tail);
  return st;
}

int mmapio__os_remap(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                     uint64_t new_len, int sparse, const char *path)
{
  /* A window (delta > 0) is remapped as its real mapping, which starts
   * delta bytes before it; an empty one gets its delta from the offset. */
  uint64_t d = om->delta;
  uint64_t keep = om->keep != 0 ? om->keep + d : 0;
  if (mmapio__win_file_invalid(f)) d = 0;
  mmapio__win_to_real(om, 0);
  int st = mmapio__win_remap_real(om, f, old_len == 0 && om->base == NULL ? 0 : old_len + d,
                                  new_len + d, keep, sparse, path);
  if (d != 0 && om->base != NULL) {
    om->base += d;
    om->reserved -= d;
  }
  return st;
}

/* FlushViewOfFile can fail with ERROR_LOCK_VIOLATION while the memory
 * manager is writing the same pages; a short retry resolves it. */
static BOOL mmapio__win_flush_view(uint8_t *addr, uint64_t len)
{
  for (int tries = 0; tries < 20; tries++) {
    if (FlushViewOfFile(addr, (SIZE_T)len)) return TRUE;
    if (GetLastError() != ERROR_LOCK_VIOLATION) return FALSE;
    Sleep(1);
  }
  return FALSE;
}

int mmapio__os_flush(mmapio__os_mapping *om, mmapio_native_file f, uint64_t off, uint64_t len,
                     mmapio_durability d, const char *path)
{
  mmapio__win_map *wm = (mmapio__win_map *)om->handle;
  uint64_t vstart = 0;
  /* Paging-file sections have nothing to write back, and read-only or
   * copy-on-write views never dirty the file. */
  if (wm == NULL || wm->anon || wm->prot != PAGE_READWRITE || len == 0) return MMAPIO_OK;
  off += om->delta; /* the views start delta bytes before the window */
  /* Growth in place may append a view meanwhile (see vlock). */
  AcquireSRWLockShared(&wm->vlock);
  uint64_t end = off + len;
  if (end < off || end > wm->mapped) end = wm->mapped;
  /* One FlushViewOfFile per view the range touches (several only after
   * growth in place). */
  for (size_t i = 0; i < wm->nviews && vstart < end; i++) {
    uint64_t vend = vstart + wm->views[i].len;
    if (vend > off) {
      uint64_t s = off > vstart ? off : vstart;
      uint64_t e = end < vend ? end : vend;
      uint8_t *addr = wm->views[i].addr + (s - vstart);
      if (MMAPIO__WIN_INJECT("FlushViewOfFile", (uint64_t)(uintptr_t)addr, e - s, 0) ||
          !mmapio__win_flush_view(addr, e - s)) {
        DWORD err = GetLastError();
        ReleaseSRWLockShared(&wm->vlock);
        return mmapio__fail_os((int)err, "FlushViewOfFile", path);
      }
    }
    vstart = vend;
  }
  ReleaseSRWLockShared(&wm->vlock);
  /* FlushViewOfFile only starts the writes and returns; FlushFileBuffers
   * waits for them and for the file's metadata (the length). */
  if (d != MMAPIO_DURABLE_NONE) {
    if (MMAPIO__WIN_INJECT("FlushFileBuffers", 0, 0, (int)d) || !FlushFileBuffers((HANDLE)f))
      return mmapio__fail_os((int)GetLastError(), "FlushFileBuffers", path);
  }
  return MMAPIO_OK;
}

/* shm_win.c: map all `len` bytes of the named paging-file section `s`
 * (adopted: closed on unmap, also on failure here) like an anonymous
 * mapping: flush is a no-op. Resizing is refused by the core before it
 * reaches mmapio__os_remap. */
int mmapio__win_map_adopt(mmapio__os_mapping *om, HANDLE s, uint64_t len, const char *name)
{
  const char *call = "MapViewOfFile";
  om->base = NULL;
  om->reserved = 0;
  om->handle = NULL;
  om->anon_shared = 1;
  mmapio__win_map *wm = (mmapio__win_map *)calloc(1, sizeof *wm);
  if (wm == NULL) {
    CloseHandle(s);
    return mmapio__fail_os((int)ERROR_NOT_ENOUGH_MEMORY, "calloc", name);
  }
  wm->anon = 1;
  wm->prot = PAGE_READWRITE;
  wm->access = FILE_MAP_WRITE;
  wm->section = s;
  if (!mmapio__win_map_new(om, wm, s, len, len, NULL, &call)) {
    int st = mmapio__fail_os((int)GetLastError(), call, name);
    CloseHandle(s);
    free(wm->views);
    free(wm);
    return st;
  }
  om->handle = wm;
  return MMAPIO_OK;
}
