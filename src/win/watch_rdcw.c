/*
 * watch_rdcw.c -- the Windows watch backend: ReadDirectoryChangesW on the
 * file's directory, filtered on the file's name.
 *
 * Windows reports changes per directory entry, so the backend follows the
 * *path*: FILE_ACTION_REMOVED is REMOVED, FILE_ACTION_RENAMED_OLD_NAME is
 * RENAMED (moved away), FILE_ACTION_ADDED / RENAMED_NEW_NAME under our name
 * is RENAMED (a new file now has the name: atomic replace), and
 * FILE_ACTION_MODIFIED is classified by comparing the file's state (size,
 * last write time, attributes, file index, link count) with the last one.
 * After a move away, changes of the moved file are not followed.
 *
 * The wait is overlapped: WaitForMultipleObjects on the wake-up event and
 * the I/O completion event, with a timeout for a periodic state check. NTFS
 * updates the last write time of a file written through a mapping lazily
 * (when the view is flushed or unmapped, or the handle closed), so such
 * writes are reported within MMAPIO__RDCW_CHECK_MS of that update.
 */
#include "win.h"

#if MMAPIO_WITH_WATCH

#include <stdlib.h>
#include <string.h>

#define MMAPIO__RDCW_CHECK_MS 250
#define MMAPIO__RDCW_FILTER                                                            \
  (FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_ATTRIBUTES | FILE_NOTIFY_CHANGE_SIZE | \
   FILE_NOTIFY_CHANGE_LAST_WRITE | FILE_NOTIFY_CHANGE_SECURITY | FILE_NOTIFY_CHANGE_CREATION)

typedef struct mmapio__rdcw_watch {
  mmapio__os_watch base;
  char *path;              /* UTF-8, for messages */
  wchar_t *wpath;          /* the file */
  const wchar_t *name;     /* its last component, inside wpath */
  size_t name_len;         /* in wchar_t */
  HANDLE dir;              /* the directory, opened for overlapped I/O */
  HANDLE io_event;         /* signalled when a read completes */
  OVERLAPPED ov;
  int pending;             /* a ReadDirectoryChangesW is outstanding */
  mmapio__os_event wake;
  mmapio__file_state cur;  /* the last observed state of the file at the path */
  int gone;                /* removal / move away already reported */
  uint64_t next_check_ms;
  DWORD buf[16384];        /* 64 KiB of records; DWORD alignment is required */
} mmapio__rdcw_watch;

/* The state of whatever the path names now; exists == 0 if nothing. Only
 * FILE_READ_ATTRIBUTES is asked for, with every share mode, so this never
 * gets in the way of writers, renames or deletes. */
static void mmapio__rdcw_state(mmapio__file_state *s, const wchar_t *wpath)
{
  BY_HANDLE_FILE_INFORMATION bi;
  memset(s, 0, sizeof *s);
  HANDLE h = CreateFileW(wpath, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                  NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
  if (h == INVALID_HANDLE_VALUE) return;
  if (GetFileInformationByHandle(h, &bi)) {
    s->exists = 1;
    s->dev = bi.dwVolumeSerialNumber;
    s->ino = ((uint64_t)bi.nFileIndexHigh << 32) | bi.nFileIndexLow;
    s->nlink = bi.nNumberOfLinks;
    s->size = ((uint64_t)bi.nFileSizeHigh << 32) | bi.nFileSizeLow;
    s->mtime_ns = (int64_t)((((uint64_t)bi.ftLastWriteTime.dwHighDateTime << 32) |
                             bi.ftLastWriteTime.dwLowDateTime) * 100u);
    s->mode = bi.dwFileAttributes;
  }
  (void)CloseHandle(h);
}

static void mmapio__rdcw_emit_kind(mmapio__watch_emit emit, void *ctx, mmapio_change_kind kind)
{
  mmapio_change c;
  c.kind = kind;
  c.offset = 0;
  c.len = 0;
  emit(ctx, &c);
}

/* Compare the file at the path with the last state. `notified`: Windows
 * said it was modified, so report MODIFIED even if nothing we compare
 * changed (two writes within the timestamp granularity, an ACL change). */
static void mmapio__rdcw_check(mmapio__rdcw_watch *w, mmapio__watch_emit emit, void *ctx,
                               int notified)
{
  mmapio__file_state s;
  mmapio_change c;
  mmapio__rdcw_state(&s, w->wpath);
  if (!s.exists) return; /* removal and renames come as their own actions */
  if (!w->cur.exists || s.dev != w->cur.dev || s.ino != w->cur.ino) {
    /* Another file has the name (an event was missed or coalesced). */
    w->cur = s;
    w->gone = 0;
    mmapio__rdcw_emit_kind(emit, ctx, MMAPIO_CHANGE_RENAMED);
    return;
  }
  if (mmapio__watch_diff(&c, &w->cur, &s)) emit(ctx, &c);
  else if (notified) mmapio__rdcw_emit_kind(emit, ctx, MMAPIO_CHANGE_MODIFIED);
  w->cur = s;
}

static int mmapio__rdcw_is_ours(const mmapio__rdcw_watch *w, const FILE_NOTIFY_INFORMATION *fi)
{
  size_t n = fi->FileNameLength / sizeof(WCHAR);
  if (n != w->name_len) return 0;
  /* NTFS names compare case-insensitively. */
  return CompareStringOrdinal(fi->FileName, (int)n, w->name, (int)n, TRUE) == CSTR_EQUAL;
}

static void mmapio__rdcw_record(mmapio__rdcw_watch *w, const FILE_NOTIFY_INFORMATION *fi,
                                mmapio__watch_emit emit, void *ctx)
{
  if (!mmapio__rdcw_is_ours(w, fi)) return;
  switch (fi->Action) {
    case FILE_ACTION_MODIFIED:
      mmapio__rdcw_check(w, emit, ctx, 1);
      break;
    case FILE_ACTION_REMOVED:
      if (!w->gone) mmapio__rdcw_emit_kind(emit, ctx, MMAPIO_CHANGE_REMOVED);
      w->gone = 1;
      break;
    case FILE_ACTION_RENAMED_OLD_NAME:
      if (!w->gone) mmapio__rdcw_emit_kind(emit, ctx, MMAPIO_CHANGE_RENAMED);
      w->gone = 1;
      break;
    case FILE_ACTION_ADDED:
    case FILE_ACTION_RENAMED_NEW_NAME: {
      mmapio__file_state s;
      mmapio__rdcw_state(&s, w->wpath);
      if (s.exists) {
        w->cur = s;
        w->gone = 0;
        mmapio__rdcw_emit_kind(emit, ctx, MMAPIO_CHANGE_RENAMED);
      }
      break;
    }
    default:
      break;
  }
}

static int mmapio__rdcw_issue(mmapio__rdcw_watch *w)
{
  memset(&w->ov, 0, sizeof w->ov);
  w->ov.hEvent = w->io_event;
  if (!ReadDirectoryChangesW(w->dir, w->buf, (DWORD)sizeof w->buf, FALSE, MMAPIO__RDCW_FILTER, NULL,
                             &w->ov, NULL))
    return mmapio__fail_os((int)GetLastError(), "ReadDirectoryChangesW", w->path);
  w->pending = 1;
  return MMAPIO_OK;
}

static int mmapio__rdcw_wait(mmapio__os_watch *base, mmapio__watch_emit emit, void *ctx)
{
  mmapio__rdcw_watch *w = (mmapio__rdcw_watch *)base;
  HANDLE hs[2];
  DWORD r, bytes = 0;
  uint64_t now, due;
  if (!w->pending) {
    int rc = mmapio__rdcw_issue(w);
    if (rc != MMAPIO_OK) return rc;
  }
  hs[0] = (HANDLE)w->wake.rd;
  hs[1] = w->io_event;
  /* The state check runs on a clock, so a busy directory cannot postpone it. */
  now = mmapio__monotonic_ms();
  due = w->next_check_ms > now ? w->next_check_ms - now : 0;
  r = WaitForMultipleObjects(2, hs, FALSE, (DWORD)due);
  if (r == WAIT_OBJECT_0) return MMAPIO_OK; /* woken: the caller is stopping */
  if (r == WAIT_FAILED) return mmapio__fail_os((int)GetLastError(), "WaitForMultipleObjects", w->path);
  if (r == WAIT_OBJECT_0 + 1) {
    w->pending = 0;
    if (!GetOverlappedResult(w->dir, &w->ov, &bytes, FALSE)) {
      DWORD err = GetLastError();
      if (err != ERROR_NOTIFY_ENUM_DIR && err != ERROR_OPERATION_ABORTED)
        return mmapio__fail_os((int)err, "ReadDirectoryChangesW", w->path);
      bytes = 0;
    }
    if (bytes == 0) {
      /* The record buffer overflowed: changes were lost. */
      mmapio__rdcw_emit_kind(emit, ctx, MMAPIO_CHANGE_MODIFIED);
      mmapio__rdcw_check(w, emit, ctx, 0);
    } else {
      const unsigned char *p = (const unsigned char *)w->buf;
      for (;;) {
        const FILE_NOTIFY_INFORMATION *fi = (const FILE_NOTIFY_INFORMATION *)(const void *)p;
        mmapio__rdcw_record(w, fi, emit, ctx);
        if (fi->NextEntryOffset == 0) break;
        p += fi->NextEntryOffset;
      }
    }
  }
  now = mmapio__monotonic_ms();
  if (now >= w->next_check_ms) {
    w->next_check_ms = now + MMAPIO__RDCW_CHECK_MS;
    mmapio__rdcw_check(w, emit, ctx, 0);
  }
  return MMAPIO_OK;
}

static void mmapio__rdcw_wake(mmapio__os_watch *base)
{
  mmapio__os_event_set(&((mmapio__rdcw_watch *)base)->wake);
}

static void mmapio__rdcw_destroy(mmapio__os_watch *base)
{
  mmapio__rdcw_watch *w = (mmapio__rdcw_watch *)base;
  if (w->pending) {
    /* The kernel writes into w->buf until the read ends: cancel it and wait
     * for the cancellation before the memory goes. */
    DWORD bytes;
    (void)CancelIoEx(w->dir, &w->ov);
    (void)GetOverlappedResult(w->dir, &w->ov, &bytes, TRUE);
  }
  if (w->dir != NULL && w->dir != INVALID_HANDLE_VALUE) (void)CloseHandle(w->dir);
  if (w->io_event != NULL) (void)CloseHandle(w->io_event);
  if (w->wake.rd != NULL && w->wake.rd != MMAPIO_INVALID_FILE) mmapio__os_event_close(&w->wake);
  free(w->path);
  free(w->wpath);
  free(w);
}

int mmapio__os_watch_open(mmapio__os_watch **out, const char *path, int backend)
{
  const wchar_t *slash = NULL;
  DWORD err = 0;
  (void)backend; /* there is only one backend on Windows */
  *out = NULL;
  mmapio__rdcw_watch *w = (mmapio__rdcw_watch *)calloc(1, sizeof *w);
  if (w == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_watch_start(%s): out of memory", path);
  w->dir = INVALID_HANDLE_VALUE;
  w->wake.rd = MMAPIO_INVALID_FILE;
  w->wake.wr = MMAPIO_INVALID_FILE;
  size_t n = strlen(path) + 1;
  w->path = (char *)malloc(n);
  if (w->path == NULL) {
    mmapio__rdcw_destroy(&w->base);
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_watch_start(%s): out of memory", path);
  }
  memcpy(w->path, path, n);
  w->wpath = mmapio__win_widen(path, &err);
  if (w->wpath == NULL) {
    mmapio__rdcw_destroy(&w->base);
    return mmapio__fail_os((int)err, "MultiByteToWideChar", path);
  }
  for (size_t i = 0; w->wpath[i] != 0; i++)
    if (w->wpath[i] == L'\\' || w->wpath[i] == L'/') slash = &w->wpath[i];
  w->name = slash != NULL ? slash + 1 : w->wpath;
  w->name_len = wcslen(w->name);
  /* The directory: everything before the last separator ("C:\" keeps its
   * separator, a bare name means the current directory). */
  n = slash != NULL ? (size_t)(slash - w->wpath) : 0;
  wchar_t *wdir = (wchar_t *)malloc((n + 3) * sizeof(wchar_t));
  if (wdir == NULL) {
    mmapio__rdcw_destroy(&w->base);
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_watch_start(%s): out of memory", path);
  }
  if (slash == NULL) {
    wdir[0] = L'.';
    wdir[1] = 0;
  } else {
    memcpy(wdir, w->wpath, n * sizeof(wchar_t));
    if (n == 0 || (n == 2 && wdir[1] == L':')) wdir[n++] = *slash;
    wdir[n] = 0;
  }
  w->dir = CreateFileW(wdir, FILE_LIST_DIRECTORY,
                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                       FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED, NULL);
  free(wdir);
  if (w->dir == INVALID_HANDLE_VALUE) {
    err = GetLastError();
    mmapio__rdcw_destroy(&w->base);
    return mmapio__fail_os((int)err, "CreateFileW(directory)", path);
  }
  w->io_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (w->io_event == NULL) {
    err = GetLastError();
    mmapio__rdcw_destroy(&w->base);
    return mmapio__fail_os((int)err, "CreateEventW", path);
  }
  int rc = mmapio__os_event_open(&w->wake);
  if (rc != MMAPIO_OK) {
    mmapio__rdcw_destroy(&w->base);
    return rc;
  }
  mmapio__rdcw_state(&w->cur, w->wpath);
  if (!w->cur.exists) {
    mmapio__rdcw_destroy(&w->base);
    return mmapio__fail(MMAPIO_ENOENT, "mmapio_watch_start(%s): the file does not exist", path);
  }
  /* Start listening now, so changes right after watch_start are seen. */
  rc = mmapio__rdcw_issue(w);
  if (rc != MMAPIO_OK) {
    mmapio__rdcw_destroy(&w->base);
    return rc;
  }
  w->next_check_ms = mmapio__monotonic_ms() + MMAPIO__RDCW_CHECK_MS;
  w->base.backend = "rdcw";
  w->base.wait = mmapio__rdcw_wait;
  w->base.wake = mmapio__rdcw_wake;
  w->base.destroy = mmapio__rdcw_destroy;
  *out = &w->base;
  return MMAPIO_OK;
}

#endif /* MMAPIO_WITH_WATCH */
