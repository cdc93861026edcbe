/*
 * test_memfd.c -- an anonymous map handed to another process by descriptor:
 * mmapio_anon(MMAPIO_ANON_FD), mmapio_native_handle, sendmsg(SCM_RIGHTS)
 * over a socketpair, mmapio_open_fd in the receiver. The map is created
 * after fork(), so the child can only reach it through the passed
 * descriptor. Both processes increment one atomic counter; the final count
 * must be exact. Skipped where MMAPIO_ANON_FD is not supported (ENOTSUP).
 */
#include "test.h"

#ifdef _WIN32
int main(void)
{
  mmapio_map *m = NULL;
  ASSERT_STATUS(mmapio_anon(&m, 4096, MMAPIO_ANON_FD), MMAPIO_ENOTSUP);
  ASSERT(m == NULL);
  TEST_SKIP("MMAPIO_ANON_FD is Linux only (named sections serve on Windows)");
}
#else
#  include <signal.h>
#  include <sys/socket.h>
#  include <sys/types.h>
#  include <sys/wait.h>
#  include <unistd.h>

#  define SIZE 8192u
#  define INCS 50000u

static void send_fd(int sock, int fd)
{
  char byte = 'F';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  memset(&u, 0, sizeof u);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ASSERT(sendmsg(sock, &msg, 0) == 1);
}

static int recv_fd(int sock)
{
  char byte = 0;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  ASSERT(recvmsg(sock, &msg, 0) == 1);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  ASSERT(c != NULL && c->cmsg_type == SCM_RIGHTS);
  int fd = -1;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* Atomic view when built in, else the base pointer (see test_shm.c). */
static uint64_t *counter_cells(mmapio_map *m, mmapio_atomic *a)
{
  memset(a, 0, sizeof *a);
  int rc = mmapio_atomic_u64_array(a, m, 0, 2);
  if (rc == MMAPIO_ENOTSUP) return (uint64_t *)mmapio_unsafe_ptr(m);
  ASSERT_OK(rc);
  return (uint64_t *)a->ptr;
}

static int child(int sock)
{
  int fd = recv_fd(sock);
  ASSERT(fd >= 0);
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open_fd(&m, fd, MMAPIO_MODE_READ_WRITE, "received memfd"));
  close(fd); /* mmapio_open_fd duplicated it */
  ASSERT_U64_EQ(mmapio_len(m), SIZE);
  char buf[6];
  ASSERT_OK(mmapio_read(m, 100, buf, sizeof buf));
  ASSERT_MEMEQ(buf, "parent", 6);
  mmapio_atomic a;
  uint64_t *cells = counter_cells(m, &a);
  mmapio_fetch_add_u64(cells + 1, 1, MMAPIO_ORDER_SEQ_CST);
  while (mmapio_load_u64(cells + 1, MMAPIO_ORDER_ACQUIRE) < 2u) {
  }
  for (unsigned i = 0; i < INCS; i++) mmapio_fetch_add_u64(cells, 1, MMAPIO_ORDER_RELAXED);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_write(m, 200, "child", 5));
  ASSERT_OK(mmapio_close(m));
  return 0;
}

int main(void)
{
  int sv[2];
  ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    close(sv[0]);
    _exit(child(sv[1]));
  }
  close(sv[1]);

  mmapio_map *m = NULL;
  int rc = mmapio_anon(&m, SIZE, MMAPIO_ANON_FD);
  if (rc == MMAPIO_ENOTSUP) {
    printf("anon fd: %s\n", mmapio_last_error());
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    TEST_SKIP("MMAPIO_ANON_FD not supported here");
  }
  ASSERT_OK(rc);
  {
    mmapio_map *bad = NULL;
    ASSERT_STATUS(mmapio_anon(&bad, 0, MMAPIO_ANON_FD), MMAPIO_ESIZE);
    ASSERT(bad == NULL);
  }
  int fd = mmapio_native_handle(m);
  ASSERT(fd >= 0);
  ASSERT(mmapio_path(m) == NULL);
  ASSERT_OK(mmapio_write(m, 100, "parent", 6));
  ASSERT_OK(mmapio_flush(m));
  send_fd(sv[0], fd);

  mmapio_atomic a;
  uint64_t *cells = counter_cells(m, &a);
  mmapio_fetch_add_u64(cells + 1, 1, MMAPIO_ORDER_SEQ_CST);
  while (mmapio_load_u64(cells + 1, MMAPIO_ORDER_ACQUIRE) < 2u) {
  }
  for (unsigned i = 0; i < INCS; i++) mmapio_fetch_add_u64(cells, 1, MMAPIO_ORDER_RELAXED);
  int st = 0;
  ASSERT(waitpid(pid, &st, 0) == pid);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ASSERT_U64_EQ(mmapio_load_u64(cells, MMAPIO_ORDER_SEQ_CST), 2u * INCS);
  mmapio_atomic_release(&a);
  char buf[5];
  ASSERT_OK(mmapio_read(m, 200, buf, 5));
  ASSERT_MEMEQ(buf, "child", 5);

  /* The memfd grows like a file, content kept. */
  ASSERT_OK(mmapio_resize(m, SIZE * 4));
  ASSERT_OK(mmapio_read(m, 100, buf, 5));
  ASSERT_MEMEQ(buf, "paren", 5);
  ASSERT_OK(mmapio_close(m));
  close(sv[0]);
  printf("memfd: passed by SCM_RIGHTS, %u increments from each of 2 processes\n", INCS);
  return 0;
}
#endif
