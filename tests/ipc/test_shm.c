/*
 * test_shm.c -- named shared memory between unrelated processes.
 *
 * The test runs itself again as a child program ("child NAME N": fork +
 * exec on POSIX, CreateProcess on Windows), so the processes share nothing
 * but the object's name (under qemu-user, which cannot exec an ARM program,
 * the children are only forked). Parent and children increment one atomic counter
 * in the object concurrently; the final count must be exact. Also: the name
 * rules, CREATE / EXCLUSIVE, resize and remove.
 */
#include "test.h"

#include <stdint.h>

#ifdef _WIN32
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#else
#  include <sys/types.h>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

#define SHM_SIZE 65536u
#define INCS 20000u
#define NCHILD 2

static const char child_msg[] = "written by the child";
static const char parent_msg[] = "written by the parent";

/* The counter cells: through an atomic view (a pin) when the ATOMIC feature
 * is built in, else through the base pointer (the inline atomic operations
 * of mmapio.h work on any aligned cell). */
static uint64_t *counter_cells(mmapio_map *m, mmapio_atomic *a)
{
  memset(a, 0, sizeof *a);
  int rc = mmapio_atomic_u64_array(a, m, 0, 2);
  if (rc == MMAPIO_ENOTSUP) return (uint64_t *)mmapio_unsafe_ptr(m);
  ASSERT_OK(rc);
  return (uint64_t *)a->ptr;
}

static unsigned long self_pid(void)
{
#ifdef _WIN32
  return (unsigned long)GetCurrentProcessId();
#else
  return (unsigned long)getpid();
#endif
}

/* The child: open the existing object by name, check what the parent
 * wrote, add INCS to the counter, leave a message. */
static int child_main(const char *name, unsigned idx)
{
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_shm_open(&m, name, 0, 0));
  ASSERT(mmapio_len(m) >= SHM_SIZE);
  char buf[sizeof parent_msg];
  ASSERT_OK(mmapio_read(m, 128, buf, sizeof buf));
  ASSERT_MEMEQ(buf, parent_msg, sizeof buf);
  mmapio_atomic a;
  uint64_t *cells = counter_cells(m, &a);
  /* Wait until every process is ready, so the increments overlap. */
  mmapio_fetch_add_u64(cells + 1, 1, MMAPIO_ORDER_SEQ_CST);
  while (mmapio_load_u64(cells + 1, MMAPIO_ORDER_ACQUIRE) < NCHILD + 1u) {
  }
  for (unsigned i = 0; i < INCS; i++) mmapio_fetch_add_u64(cells, 1, MMAPIO_ORDER_RELAXED);
  mmapio_atomic_release(&a);
  ASSERT_OK(mmapio_write(m, 256 + 64u * idx, child_msg, sizeof child_msg));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  return 0;
}

#ifdef _WIN32
typedef HANDLE proc_t;
static proc_t spawn(const char *self, const char *name, unsigned idx)
{
  char exe[MAX_PATH];
  char cmd[1024];
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  (void)self;
  ASSERT(GetModuleFileNameA(NULL, exe, sizeof exe) > 0);
  snprintf(cmd, sizeof cmd, "\"%s\" child %s %u", exe, name, idx);
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  ASSERT(CreateProcessA(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
  CloseHandle(pi.hThread);
  return pi.hProcess;
}
/* A child that ended already (it failed before it was ready). */
static int proc_ended(proc_t p) { return WaitForSingleObject(p, 0) == WAIT_OBJECT_0; }
static int wait_proc(proc_t p)
{
  DWORD code = 1;
  WaitForSingleObject(p, INFINITE);
  GetExitCodeProcess(p, &code);
  CloseHandle(p);
  return (int)code;
}
#else
typedef pid_t proc_t;
static proc_t spawn(const char *self, const char *name, unsigned idx)
{
  char arg[16];
  snprintf(arg, sizeof arg, "%u", idx);
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0 && test_emulator() != NULL) {
    /* Under qemu-user without binfmt_misc an ARM program cannot exec
     * another one (itself included): the forked child runs the child part
     * directly. It still opens the object by its name, in a map of its
     * own; only the parent's unused mappings come along. */
    int rc = child_main(name, idx);
    fflush(NULL);
    _exit(rc);
  }
  if (pid == 0) {
    char *const argv[] = {(char *)self, (char *)"child", (char *)name, arg, NULL};
    execv(self, argv);
    _exit(127);
  }
  return pid;
}
/* A child that ended already (it failed before it was ready); it is left
 * to wait_proc to reap. */
static int proc_ended(proc_t p)
{
  siginfo_t si;
  memset(&si, 0, sizeof si);
  return waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == p;
}
static int wait_proc(proc_t p)
{
  int st = 0;
  ASSERT(waitpid(p, &st, 0) == p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
#endif

static void bad_names(void)
{
  mmapio_map *m = (mmapio_map *)(uintptr_t)1;
  ASSERT_STATUS(mmapio_shm_open(&m, NULL, 4096, MMAPIO_OPEN_CREATE), MMAPIO_EINVAL);
  ASSERT(m == NULL);
  ASSERT(strstr(mmapio_last_error(), "name is NULL") != NULL);
  ASSERT_STATUS(mmapio_shm_open(&m, "", 4096, MMAPIO_OPEN_CREATE), MMAPIO_EINVAL);
  ASSERT(strstr(mmapio_last_error(), "name is empty") != NULL);
  ASSERT_STATUS(mmapio_shm_open(&m, "a/b", 4096, MMAPIO_OPEN_CREATE), MMAPIO_EINVAL);
  ASSERT(strstr(mmapio_last_error(), "must not contain '/'") != NULL);
  ASSERT_STATUS(mmapio_shm_open(&m, "/lead", 4096, MMAPIO_OPEN_CREATE), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_shm_open(&m, "back\\slash", 4096, MMAPIO_OPEN_CREATE), MMAPIO_EINVAL);
  char longname[400];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  ASSERT_STATUS(mmapio_shm_open(&m, longname, 4096, MMAPIO_OPEN_CREATE), MMAPIO_EINVAL);
  ASSERT(strstr(mmapio_last_error(), "the limit is") != NULL);
  ASSERT_STATUS(mmapio_shm_remove(""), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_shm_remove("a/b"), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_shm_remove(longname), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_shm_remove(NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_shm_open(NULL, "x", 4096, MMAPIO_OPEN_CREATE), MMAPIO_EINVAL);
}

int main(int argc, char **argv)
{
  if (argc == 4 && strcmp(argv[1], "child") == 0)
    return child_main(argv[2], (unsigned)strtoul(argv[3], NULL, 10));

  bad_names();

  char name[64];
  snprintf(name, sizeof name, "mmapio-test-shm-%lu", self_pid());
  (void)mmapio_shm_remove(name); /* a leftover of an earlier crashed run */
  mmapio_map *m = NULL, *m2 = NULL;

  /* Flags and sizes. */
  ASSERT_STATUS(mmapio_shm_open(&m, name, 0, 0), MMAPIO_ENOENT);
  ASSERT_STATUS(mmapio_shm_open(&m, name, 0, MMAPIO_OPEN_CREATE), MMAPIO_ESIZE);
  ASSERT_STATUS(mmapio_shm_open(&m, name, 4096, MMAPIO_OPEN_EXCLUSIVE), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_shm_open(&m, name, 4096, MMAPIO_OPEN_TRUNCATE), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_shm_open(&m, name, (uint64_t)MMAPIO_MAX_SIZE + 1, MMAPIO_OPEN_CREATE),
                MMAPIO_ESIZE);
  ASSERT_STATUS(mmapio_shm_remove(name), MMAPIO_ENOENT);

  ASSERT_OK(mmapio_shm_open(&m, name, SHM_SIZE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE));
  ASSERT_U64_EQ(mmapio_len(m), SHM_SIZE);
  ASSERT(mmapio_path(m) == NULL);
  ASSERT_STATUS(mmapio_shm_open(&m2, name, SHM_SIZE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE),
                MMAPIO_EEXIST);
  /* CREATE without EXCLUSIVE opens the existing object at its size. */
  ASSERT_OK(mmapio_shm_open(&m2, name, 12345, MMAPIO_OPEN_CREATE));
  ASSERT_U64_EQ(mmapio_len(m2), SHM_SIZE);
  ASSERT_OK(mmapio_close(m2));

  /* Zero-filled; the parent's message for the children. */
  {
    mmapio_view v;
    ASSERT_OK(mmapio_view_get(&v, m, 0, SHM_SIZE));
    for (size_t i = 0; i < v.len; i++) ASSERT_EQ(v.data[i], 0);
    mmapio_view_release(&v);
  }
  ASSERT_OK(mmapio_write(m, 128, parent_msg, sizeof parent_msg));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_flush_range(m, 0, 4096));

  /* Two unrelated processes and this one increment one counter. */
  mmapio_atomic a;
  uint64_t *cells = counter_cells(m, &a);
  proc_t kids[NCHILD];
  if (test_emulator() != NULL)
    printf("note: under %s the children are forked, not executed again\n", test_emulator());
  for (unsigned i = 0; i < NCHILD; i++) kids[i] = spawn(argv[0], name, i);
  mmapio_fetch_add_u64(cells + 1, 1, MMAPIO_ORDER_SEQ_CST);
  /* No child can end before all are ready (each waits for the others): one
   * that did failed (could not start, open or check), and waiting for it
   * would never end. The count is read again after the child was seen
   * ended: the last child may have become ready, and all of them finished,
   * since the loop's read. */
  while (mmapio_load_u64(cells + 1, MMAPIO_ORDER_ACQUIRE) < NCHILD + 1u) {
    for (unsigned i = 0; i < NCHILD; i++)
      if (proc_ended(kids[i]) && mmapio_load_u64(cells + 1, MMAPIO_ORDER_ACQUIRE) < NCHILD + 1u)
        TEST_FAIL_("child %u ended before it was ready: status %d", i, wait_proc(kids[i]));
  }
  for (unsigned i = 0; i < INCS; i++) mmapio_fetch_add_u64(cells, 1, MMAPIO_ORDER_RELAXED);
  for (unsigned i = 0; i < NCHILD; i++) ASSERT_EQ(wait_proc(kids[i]), 0);
  ASSERT_U64_EQ(mmapio_load_u64(cells, MMAPIO_ORDER_SEQ_CST), (uint64_t)INCS * (NCHILD + 1u));
  mmapio_atomic_release(&a);
  for (unsigned i = 0; i < NCHILD; i++) {
    char buf[sizeof child_msg];
    ASSERT_OK(mmapio_read(m, 256 + 64u * i, buf, sizeof buf));
    ASSERT_MEMEQ(buf, child_msg, sizeof buf);
  }

  /* The other map operations. */
  ASSERT_OK(mmapio_probe(m, 0, SHM_SIZE));
  ASSERT_OK(mmapio_prefetch(m, 0, SHM_SIZE));
  ASSERT_OK(mmapio_touch(m));
  {
    uint64_t res = 0, tot = 0;
    ASSERT_OK(mmapio_residency(&res, &tot, m, 0, SHM_SIZE));
    ASSERT(tot > 0 && res <= tot);
  }
  ASSERT_OK(mmapio_evict(m, 0, 4096)); /* never loses data */
  {
    char buf[sizeof parent_msg];
    ASSERT_OK(mmapio_read(m, 128, buf, sizeof buf));
    ASSERT_MEMEQ(buf, parent_msg, sizeof buf);
  }
  {
    mmapio_segment sg;
    ASSERT_OK(mmapio_segment_init(&sg, m, 4096, 64));
    ASSERT_OK(mmapio_segment_write(&sg, 0, "seg", 3));
    mmapio_view v;
    ASSERT_OK(mmapio_segment_view(&v, &sg));
    ASSERT_MEMEQ(v.data, "seg", 3);
    mmapio_view_release(&v);
    mmapio_segment_release(&sg);
  }
  if (mmapio_has_feature(MMAPIO_FEATURE_ITERATOR)) {
    mmapio_iter it;
    mmapio_chunk c;
    uint64_t total = 0;
    ASSERT_OK(mmapio_pages(&it, m));
    while (mmapio_iter_next(&c, &it) == 1) total += c.len;
    mmapio_iter_end(&it);
    ASSERT_U64_EQ(total, SHM_SIZE);
  }
  {
    mmapio_map_stats st = MMAPIO_MAP_STATS_INIT;
    ASSERT_OK(mmapio_stats(&st, m));
    ASSERT(st.write_calls >= 2);
  }

  /* A second map in this process sees the same memory. */
  ASSERT_OK(mmapio_shm_open(&m2, name, 0, 0));
  {
    char buf[sizeof parent_msg];
    ASSERT_OK(mmapio_read(m2, 128, buf, sizeof buf));
    ASSERT_MEMEQ(buf, parent_msg, sizeof buf);
  }

  /* Resize: POSIX objects can change length, Windows sections cannot. */
#ifdef _WIN32
  ASSERT_STATUS(mmapio_resize(m, SHM_SIZE * 2), MMAPIO_ENOTSUP);
  ASSERT(strstr(mmapio_last_error(), "section") != NULL);
  ASSERT_U64_EQ(mmapio_len(m), SHM_SIZE);
#else
  ASSERT_OK(mmapio_resize(m, SHM_SIZE * 2));
  ASSERT_U64_EQ(mmapio_len(m), SHM_SIZE * 2);
  ASSERT_OK(mmapio_write(m, SHM_SIZE * 2 - 4, "tail", 4));
  ASSERT_U64_EQ(mmapio_len(m2), SHM_SIZE); /* until it resizes too */
  ASSERT_OK(mmapio_resize(m2, SHM_SIZE * 2));
  {
    char buf[4];
    ASSERT_OK(mmapio_read(m2, SHM_SIZE * 2 - 4, buf, 4));
    ASSERT_MEMEQ(buf, "tail", 4);
    ASSERT_OK(mmapio_read(m2, 128, buf, 4));
    ASSERT_MEMEQ(buf, parent_msg, 4);
  }
  /* A fresh open sees the new length. */
  {
    mmapio_map *m3 = NULL;
    ASSERT_OK(mmapio_shm_open(&m3, name, 0, 0));
    ASSERT_U64_EQ(mmapio_len(m3), SHM_SIZE * 2);
    ASSERT_OK(mmapio_close(m3));
  }
#endif

  /* Remove: POSIX drops the name at once (open maps stay valid); Windows
   * drops it with the last handle. */
  ASSERT_OK(mmapio_shm_remove(name));
#ifndef _WIN32
  {
    mmapio_map *m3 = NULL;
    ASSERT_STATUS(mmapio_shm_open(&m3, name, 0, 0), MMAPIO_ENOENT);
  }
  ASSERT_STATUS(mmapio_shm_remove(name), MMAPIO_ENOENT);
#endif
  {
    char buf[sizeof parent_msg];
    ASSERT_OK(mmapio_read(m, 128, buf, sizeof buf));
    ASSERT_MEMEQ(buf, parent_msg, sizeof buf);
  }
  ASSERT_OK(mmapio_close(m2));
  ASSERT_OK(mmapio_close(m));
  {
    mmapio_map *m3 = NULL;
    ASSERT_STATUS(mmapio_shm_open(&m3, name, 0, 0), MMAPIO_ENOENT);
    ASSERT(m3 == NULL);
  }
  printf("shm: %u processes, %u increments each, exact count\n", NCHILD + 1u, INCS);
  return 0;
}
