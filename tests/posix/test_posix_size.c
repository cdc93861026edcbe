/*
 * test_posix_size.c -- file_set_size (growth with block reservation, sparse
 * growth, shrink, failure restoring the length) and file_can_reserve.
 */
#include "test.h"

#include <signal.h>
#include <stdlib.h>

/* Whether the test directory's file system can reserve blocks at all (if
 * not, the backend falls back to sparse growth and block counts say
 * nothing). */
static int fs_reserves(const char *dir_file)
{
  int fd = open(dir_file, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  int ok = posix_fallocate(fd, 0, 65536) == 0;
  close(fd);
  unlink(dir_file);
  return ok;
}

static int new_file(const char *p)
{
  int fd = -1;
  ASSERT_OK(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0));
  return fd;
}

static void test_grow_shrink(void)
{
  char *p = test_tmp_path("size");
  int reserves = fs_reserves(p);
  int fd = new_file(p);
  const uint64_t mb = 1024u * 1024u;

  /* Reserved growth: blocks for the whole length. */
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_file_set_size(fd, 0, 4 * mb + 1, 0, p));
  ASSERT_U64_EQ(fd_size(fd), 4 * mb + 1);
  if (reserves) ASSERT(fd_blocks_bytes(fd) >= 4 * mb);
  if (MMAPIO__HOOKS) ASSERT_EQ(mmapio__sys_count("fallocate"), 1);

  /* Shrink is a plain ftruncate. */
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_file_set_size(fd, 4 * mb + 1, mb, 0, p));
  ASSERT_U64_EQ(fd_size(fd), mb);
  if (MMAPIO__HOOKS) {
    ASSERT_EQ(mmapio__sys_count("ftruncate"), 1);
    ASSERT_EQ(mmapio__sys_count("fallocate"), 0);
  }
  /* Same size: nothing happens. */
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_file_set_size(fd, mb, mb, 0, p));
  if (MMAPIO__HOOKS) ASSERT_EQ(mmapio__sys_count(NULL), 0);
  ASSERT_U64_EQ(fd_size(fd), mb);
  mmapio__os_close_file(fd);
  test_unlink(p);

  /* Sparse growth reserves nothing. */
  fd = new_file(p);
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_file_set_size(fd, 0, 64 * mb, 1, p));
  ASSERT_U64_EQ(fd_size(fd), 64 * mb);
  ASSERT(fd_blocks_bytes(fd) < 64 * mb);
  if (MMAPIO__HOOKS) {
    ASSERT_EQ(mmapio__sys_count("fallocate"), 0);
    ASSERT_EQ(mmapio__sys_count("ftruncate"), 1);
  }
  /* Growth of a sparse file reserves only the new part. */
  ASSERT_OK(mmapio__os_file_set_size(fd, 64 * mb, 65 * mb, 0, p));
  ASSERT_U64_EQ(fd_size(fd), 65 * mb);
  if (reserves) {
    ASSERT(fd_blocks_bytes(fd) >= mb);
    ASSERT(fd_blocks_bytes(fd) < 64 * mb);
  }
  /* Lengths an off_t cannot hold: a size problem, not a full disk. */
  ASSERT_STATUS(mmapio__os_file_set_size(fd, 65 * mb, UINT64_MAX, 0, p), MMAPIO_ESIZE);
  ASSERT_U64_EQ(fd_size(fd), 65 * mb);
  mmapio__os_close_file(fd);
  test_unlink(p);
  mmapio__sys_reset();
  free(p);
}

#if MMAPIO__HOOKS
/* A block reservation that extends the file part way and then runs out of
 * space, as ext4 and xfs do. */
static int partial_fallocate(int fd, int mode, off_t off, off_t len)
{
  (void)mode;
  if (ftruncate(fd, off + len / 2) != 0) return -1;
  errno = ENOSPC;
  return -1;
}
static int partial_posix_fallocate(int fd, off_t off, off_t len)
{
  if (ftruncate(fd, off + len / 2) != 0) return errno;
  return ENOSPC;
}
#endif

static void test_enospc_restores(void)
{
  if (!have_hooks("test_enospc_restores")) return;
#if MMAPIO__HOOKS
  char *p = test_tmp_path("enospc");
  int fd = new_file(p);
  ASSERT_OK(mmapio__os_file_set_size(fd, 0, 10000, 0, p));

  /* The reservation call itself fails. */
  mmapio__sys_reset();
  mmapio__sys_fail_nth("fallocate", 1, ENOSPC);
  ASSERT_STATUS(mmapio__os_file_set_size(fd, 10000, 1u << 20, 0, p), MMAPIO_ENOSPC);
  ASSERT_U64_EQ(fd_size(fd), 10000);
  ASSERT_EQ(mmapio_last_os_error(), ENOSPC);
  ASSERT_MSG_HAS("fallocate(");
  ASSERT_MSG_HAS(p);
  ASSERT_EQ(mmapio__sys_count("fallocate"), 1);

  /* It fails after extending part way: the old length comes back. */
  int (*saved_fa)(int, int, off_t, off_t) = mmapio__sys.x_fallocate;
  int (*saved_pfa)(int, off_t, off_t) = mmapio__sys.x_posix_fallocate;
  mmapio__sys.x_fallocate = partial_fallocate;
  mmapio__sys.x_posix_fallocate = partial_posix_fallocate;
  ASSERT_STATUS(mmapio__os_file_set_size(fd, 10000, 1u << 20, 0, p), MMAPIO_ENOSPC);
  ASSERT_U64_EQ(fd_size(fd), 10000);
  mmapio__sys.x_fallocate = saved_fa;
  mmapio__sys.x_posix_fallocate = saved_pfa;

  /* A file system without block reservation: sparse growth, no emulation. */
  mmapio__sys_reset();
  mmapio__sys_fail_nth("fallocate", 1, EOPNOTSUPP);
  ASSERT_OK(mmapio__os_file_set_size(fd, 10000, 1u << 20, 0, p));
  ASSERT_U64_EQ(fd_size(fd), 1u << 20);
  ASSERT_EQ(mmapio__sys_count("ftruncate"), 1);
  ASSERT_EQ(mmapio__sys_count("write"), 0);

  /* ftruncate failing during a shrink leaves the length alone. */
  mmapio__sys_fail_nth("ftruncate", 1, EIO);
  ASSERT_STATUS(mmapio__os_file_set_size(fd, 1u << 20, 4096, 0, p), MMAPIO_EIO);
  ASSERT_MSG_HAS("ftruncate(");
  ASSERT_U64_EQ(fd_size(fd), 1u << 20);
  mmapio__sys_reset();
  mmapio__os_close_file(fd);
  test_unlink(p);
  free(p);
#endif
}

/* A real refusal from the kernel: RLIMIT_FSIZE makes growth beyond the
 * limit fail with EFBIG (reported as ESIZE), in a child process so the
 * limit does not leak into the other tests. */
static int real_limit_child(void *arg)
{
  const char *p = (const char *)arg;
  signal(SIGXFSZ, SIG_IGN);
  int fd = -1;
  if (mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0) != MMAPIO_OK) return 2;
  if (mmapio__os_file_set_size(fd, 0, 4096, 0, p) != MMAPIO_OK) return 3;
  if (mmapio__os_file_set_size(fd, 4096, 8u << 20, 0, p) != MMAPIO_ESIZE) return 4;
  if (fd_size(fd) != 4096) return 5;
  if (mmapio__os_file_set_size(fd, 4096, 8u << 20, 1, p) != MMAPIO_ESIZE) return 6;
  if (fd_size(fd) != 4096) return 7;
  return 0;
}

static void test_real_limit(void)
{
  char *p = test_tmp_path("fsize");
  int code = test_child_exit(test_fork_rlimit(RLIMIT_FSIZE, 1u << 20, 1u << 20, real_limit_child, p),
                             "RLIMIT_FSIZE checks");
  if (code == 77) printf("note: setrlimit refused, EFBIG not tested\n");
  else ASSERT_EQ(code, 0);
  test_unlink(p);
  free(p);
}

#if defined(__linux__)
static int real_enospc_child(void *arg)
{
  const char *dir = (const char *)arg;
  if (test_private_tmpfs(dir, "size=1m") != NULL) return 77;
  char p[4096];
  snprintf(p, sizeof p, "%s/f", dir);
  int fd = -1;
  if (mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0) != MMAPIO_OK) return 2;
  const uint64_t k = 1024;
  if (mmapio__os_file_set_size(fd, 0, 512 * k, 0, p) != MMAPIO_OK) return 3;
  if (pwrite(fd, "precious", 8, 0) != 8) return 4;
  /* Growth beyond the free space. */
  if (mmapio__os_file_set_size(fd, 512 * k, 8192 * k, 0, p) != MMAPIO_ENOSPC) return 5;
  if (fd_size(fd) != 512 * k) return 6;
  if (fd_blocks_bytes(fd) > 600 * k) return 7;
  /* The check before a truncation. */
  if (MMAPIO__LINUX && mmapio__os_file_can_reserve(fd, 8192 * k, p) != MMAPIO_ENOSPC) return 8;
  if (fd_size(fd) != 512 * k || fd_blocks_bytes(fd) > 600 * k) return 9;
  char buf[8];
  if (pread(fd, buf, 8, 0) != 8 || memcmp(buf, "precious", 8) != 0) return 10;
  /* A moving resize of a mapping: ENOSPC, mapping and length intact. */
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  if (mmapio__os_map(&om, fd, MMAPIO_MODE_READ_WRITE, 512 * k, 512 * k, 0, p) != MMAPIO_OK) return 11;
  uint8_t *base = om.base;
  if (mmapio__os_remap(&om, fd, 512 * k, 4096 * k, 0, p) != MMAPIO_ENOSPC) return 12;
  if (om.base != base || om.reserved != 512 * k || fd_size(fd) != 512 * k) return 13;
  if (memcmp(om.base, "precious", 8) != 0) return 14;
  /* The space of the failed attempts was given back. */
  if (mmapio__os_remap(&om, fd, 512 * k, 768 * k, 0, p) != MMAPIO_OK) return 15;
  om.base[768 * k - 1] = 1;
  mmapio__os_unmap(&om, 768 * k);
  /* Sparse growth does not need the space. */
  if (mmapio__os_file_set_size(fd, 768 * k, 64 * 1024 * k, 1, p) != MMAPIO_OK) return 16;
  mmapio__os_close_file(fd);
  return 0;
}
#endif

/* A real full disk: a 1 MiB tmpfs mounted in a private mount namespace of
 * a child process (Linux, root only; the mount disappears with the child).
 * Failed reservations must leave length and content alone and give the
 * space back, so that a smaller growth still succeeds afterwards. */
static void test_real_enospc(void)
{
#if defined(__linux__)
  char *dir = test_tmp_path("mnt");
  ASSERT_EQ(mkdir(dir, 0700), 0);
  int code = test_child_exit(test_fork_call(real_enospc_child, dir), "ENOSPC checks");
  if (code == 77) printf("note: cannot mount a private tmpfs, real ENOSPC not tested\n");
  else ASSERT_EQ(code, 0);
  ASSERT_EQ(rmdir(dir), 0);
  free(dir);
#endif
}

static void test_can_reserve(void)
{
  char *p = test_tmp_path("reserve");
  int fd = new_file(p);
  ASSERT_EQ(write(fd, "precious", 8), 8);
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_file_can_reserve(fd, 8u << 20, p));
  /* Neither the length nor the content changed. */
  ASSERT_U64_EQ(fd_size(fd), 8);
  char buf[8];
  ASSERT_EQ(pread(fd, buf, 8, 0), 8);
  ASSERT_MEMEQ(buf, "precious", 8);
  if (MMAPIO__HOOKS) {
    /* Linux asks fallocate(KEEP_SIZE); portable builds cannot ask. */
    ASSERT_EQ(mmapio__sys_count("fallocate"), MMAPIO__LINUX ? 1 : 0);
    ASSERT_EQ(mmapio__sys_count("ftruncate"), 0);
#if MMAPIO__LINUX
    mmapio__sys_fail_nth("fallocate", 1, ENOSPC);
    ASSERT_STATUS(mmapio__os_file_can_reserve(fd, 8u << 20, p), MMAPIO_ENOSPC);
    ASSERT_MSG_HAS("fallocate(");
    mmapio__sys_fail_nth("fallocate", 1, EOPNOTSUPP);
    ASSERT_OK(mmapio__os_file_can_reserve(fd, 8u << 20, p)); /* unsupported: OK */
#endif
    ASSERT_U64_EQ(fd_size(fd), 8);
  }
  ASSERT_OK(mmapio__os_file_can_reserve(fd, 0, p));
  mmapio__sys_reset();
  mmapio__os_close_file(fd);
  test_unlink(p);
  free(p);
}

int main(void)
{
  test_grow_shrink();
  test_real_limit();
  test_real_enospc();
  test_can_reserve();
  test_enospc_restores();
  printf("ok\n");
  return 0;
}
