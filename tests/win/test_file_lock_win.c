/*
 * mmapio_file_lock on Windows (LockFileEx / UnlockFileEx, include/mmapio.h
 * section 16): locks belong to the map's handle, so a second map of the
 * same file conflicts; NOWAIT gives EAGAIN; shared locks coexist; closing
 * another map does not drop the lock; unlocking a range that is not locked
 * is EINVAL; a range beyond the end of the file can be locked.
 */
#include "test.h"

int main(void)
{
  char *p = test_tmp_path("flockw");
  static unsigned char data[4096];
  ASSERT_EQ(test_write_file(p, data, sizeof data), 0);
  mmapio_map *a = NULL, *b = NULL, *c = NULL;
  ASSERT_OK(mmapio_open_rw(&a, p));
  ASSERT_OK(mmapio_open_rw(&b, p));
  const uint64_t lock_off = UINT64_C(1) << 30;
  ASSERT_OK(mmapio_file_lock(a, lock_off, 1, MMAPIO_FILE_LOCK_EXCLUSIVE));
  ASSERT_STATUS(mmapio_file_lock(b, lock_off, 1, MMAPIO_FILE_LOCK_EXCLUSIVE | MMAPIO_FILE_LOCK_NOWAIT),
                MMAPIO_EAGAIN);
  ASSERT_STATUS(mmapio_file_lock(b, lock_off, 1, MMAPIO_FILE_LOCK_SHARED | MMAPIO_FILE_LOCK_NOWAIT),
                MMAPIO_EAGAIN);
  ASSERT_OK(mmapio_file_lock(b, lock_off + 1, 1, MMAPIO_FILE_LOCK_EXCLUSIVE | MMAPIO_FILE_LOCK_NOWAIT));
  ASSERT_OK(mmapio_open_rw(&c, p));
  ASSERT_OK(mmapio_close(c)); /* another map closed: a's lock stays */
  ASSERT_STATUS(mmapio_file_lock(b, lock_off, 1, MMAPIO_FILE_LOCK_EXCLUSIVE | MMAPIO_FILE_LOCK_NOWAIT),
                MMAPIO_EAGAIN);
  ASSERT_OK(mmapio_file_unlock(a, lock_off, 1));
  ASSERT_STATUS(mmapio_file_unlock(a, lock_off, 1), MMAPIO_EINVAL);
  ASSERT_OK(mmapio_file_lock(b, lock_off, 1, MMAPIO_FILE_LOCK_EXCLUSIVE | MMAPIO_FILE_LOCK_NOWAIT));
  ASSERT_OK(mmapio_file_unlock(b, lock_off, 1));
  ASSERT_OK(mmapio_file_unlock(b, lock_off + 1, 1));
  /* Shared locks coexist. */
  ASSERT_OK(mmapio_file_lock(a, 0, 10, MMAPIO_FILE_LOCK_SHARED));
  ASSERT_OK(mmapio_file_lock(b, 0, 10, MMAPIO_FILE_LOCK_SHARED | MMAPIO_FILE_LOCK_NOWAIT));
  ASSERT_STATUS(mmapio_file_lock(b, 5, 1, MMAPIO_FILE_LOCK_EXCLUSIVE | MMAPIO_FILE_LOCK_NOWAIT),
                MMAPIO_EAGAIN);
  ASSERT_OK(mmapio_file_unlock(a, 0, 10));
  ASSERT_OK(mmapio_file_unlock(b, 0, 10));
  ASSERT_STATUS(mmapio_file_lock(a, 0, 1, 0x40u), MMAPIO_EINVAL);
  ASSERT_OK(mmapio_close(a));
  ASSERT_OK(mmapio_close(b));
  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
