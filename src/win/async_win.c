/*
 * async_win.c -- completion events for async tasks on Windows (platform.h,
 * "Async and watch").
 *
 * A manual-reset event: once set it stays signalled, so any number of
 * WaitForSingleObject / WaitForMultipleObjects / thread-pool waits see the
 * completion, before or after it happened. The handle is not inheritable
 * (no security attributes), so child processes never get it by accident.
 */
#include "win.h"

int mmapio__os_event_open(mmapio__os_event *e)
{
  HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (h == NULL) return mmapio__fail_os((int)GetLastError(), "CreateEventW", NULL);
  e->rd = (mmapio_native_file)h;
  e->wr = (mmapio_native_file)h;
  return MMAPIO_OK;
}

void mmapio__os_event_set(mmapio__os_event *e)
{
  (void)SetEvent((HANDLE)e->wr);
}

void mmapio__os_event_close(mmapio__os_event *e)
{
  if (e->rd != NULL && e->rd != MMAPIO_INVALID_FILE) (void)CloseHandle((HANDLE)e->rd);
  e->rd = MMAPIO_INVALID_FILE;
  e->wr = MMAPIO_INVALID_FILE;
}
