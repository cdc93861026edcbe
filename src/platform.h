/*
 * platform.h -- the portable core's only route to the operating system.
 *
 * The core (the .c files in src/) never includes OS headers and never tests _WIN32; it
 * calls the mmapio__os_* contract below, implemented once in src/posix/ and
 * once in src/win/. This is the single place where the backend is chosen.
 *
 * Contract for every mmapio__os_* function returning int: it returns
 * MMAPIO_OK or a negative status, and on failure it has already recorded the
 * detail message ("call(path): OS text") and OS code with mmapio__fail_os()
 * (see internal.h). `path` arguments are only used for messages and may be
 * NULL (then "<anonymous>" or "<fd>" is printed).
 */
#ifndef MMAPIO_PLATFORM_H
#define MMAPIO_PLATFORM_H

#include "mmapio.h"

#ifdef _WIN32
/* Win32 objects are pointer-sized (SRWLOCK, CONDITION_VARIABLE, HANDLE); the
 * core never sees <windows.h>. */
typedef struct { void *p_; } mmapio__mutex;
typedef struct { void *p_; } mmapio__cond;
typedef struct { void *h_; } mmapio__thread;
#  define MMAPIO__MUTEX_INIT {NULL} /* SRWLOCK_INIT */
#  define MMAPIO__OS_MAP_BEYOND_EOF 0
#  define MMAPIO__OS_WINDOWS 1
#else
#  include <pthread.h>
typedef pthread_mutex_t mmapio__mutex;
typedef pthread_cond_t mmapio__cond;
typedef struct { pthread_t t_; } mmapio__thread;
#  define MMAPIO__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#  define MMAPIO__OS_MAP_BEYOND_EOF 1
#  define MMAPIO__OS_WINDOWS 0
#endif

/* Thread-local storage. On ELF the fast-path pointer uses the initial-exec
 * model so that a view get does not call __tls_get_addr. */
#if defined(_MSC_VER)
#  define MMAPIO__TLS __declspec(thread)
#  define MMAPIO__TLS_FAST __declspec(thread)
#elif defined(__GNUC__) && !defined(_WIN32) && !defined(__APPLE__)
#  define MMAPIO__TLS __thread
#  define MMAPIO__TLS_FAST __thread __attribute__((tls_model("initial-exec")))
#else
#  define MMAPIO__TLS __thread
#  define MMAPIO__TLS_FAST __thread
#endif

/* Library-internal data that the core's hot paths use: hidden (as every
 * symbol of the library is, unless exported), so that position-independent
 * code on ELF reaches it directly instead of through the GOT. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#  define MMAPIO__HIDDEN __attribute__((visibility("hidden")))
#else
#  define MMAPIO__HIDDEN
#endif

/* ---- System facts ------------------------------------------------------ */
size_t mmapio__os_page_size(void);
size_t mmapio__os_granularity(void);
/* Text for an OS error code (errno / GetLastError), written into buf. */
void mmapio__os_strerror(int oserr, char *buf, size_t n);
/* Map an OS error code to an mmapio status (ENOENT -> MMAPIO_ENOENT, ...). */
int mmapio__os_status(int oserr);

/* ---- Files ------------------------------------------------------------- */
#define MMAPIO__OPEN_READ 0      /* read only */
#define MMAPIO__OPEN_RDWR 1      /* read and write */
#define MMAPIO__CREATE_NO 0      /* file must exist */
#define MMAPIO__CREATE_EXCL 1    /* create, fail with EEXIST if it exists */
/* Open `path` (UTF-8) close-on-exec / non-inheritable, with share modes that
 * let other processes read, write, rename and delete. New files get
 * 0666 & ~umask, or 0600 when private_perms. Fails with EINVAL for a
 * directory or anything that is not a regular file (POSIX also accepts
 * block devices). */
int mmapio__os_open(mmapio_native_file *out, const char *path, int access, int create,
                    int private_perms);
/* Duplicate `f` (close-on-exec); EACCES if `need_write` and f is read-only;
 * EINVAL if f is invalid or not a regular file. */
int mmapio__os_dup(mmapio_native_file *out, mmapio_native_file f, int need_write,
                   const char *path);
void mmapio__os_close_file(mmapio_native_file f);
/* The file's length; for a block device, the device's size. */
int mmapio__os_file_size(uint64_t *out, mmapio_native_file f, const char *path);
/* Change the file length to new_len (ENOTSUP for a block device, whose
 * length is fixed). Growth reserves disk blocks unless
 * `sparse` (ENOSPC when the device is full, and the length is then left
 * unchanged). Only called while the file is not mapped beyond what the
 * backend allows (see mmapio__os_remap for shrinking mapped files). */
int mmapio__os_file_set_size(mmapio_native_file f, uint64_t old_len, uint64_t new_len,
                             int sparse, const char *path);
/* MMAPIO_OPEN_NOCOW for a file just created (still empty): ask the file
 * system to overwrite its blocks in place (Linux: FS_NOCOW_FL, which btrfs
 * honours). OK where the file system or the platform has no such
 * attribute (its blocks are overwritten in place anyway). */
int mmapio__os_file_nocow(mmapio_native_file f, const char *path);
/* Best-effort check that `len` bytes can be reserved for the file without
 * changing its length or content. OK where unsupported. */
int mmapio__os_file_can_reserve(mmapio_native_file f, uint64_t len, const char *path);
/* ESIZE (message naming the limit) unless `f` may be given `len` bytes:
 * RLIMIT_FSIZE and the file system's maximum file size (POSIX); OK where
 * that cannot be known. Changes nothing. */
int mmapio__os_file_can_hold(mmapio_native_file f, uint64_t len, const char *path);
/* TRUNCATE of an existing file (after mmapio__os_file_can_hold(new_len)):
 * make `f` (now old_len bytes) new_len zero bytes, reserving blocks unless
 * `sparse`. The block reservation (ENOSPC) runs before the first change, so
 * on that failure the length and content are unchanged. */
int mmapio__os_file_reset(mmapio_native_file f, uint64_t old_len, uint64_t new_len, int sparse,
                          const char *path);
/* mmapio__os_open that also returns the file's length (*len, when not NULL)
 * from the same status query. */
int mmapio__os_open_stat(mmapio_native_file *out, uint64_t *len, const char *path, int access,
                         int create, int private_perms);
int mmapio__os_unlink(const char *path);

/* A file being created: it has no name yet (Linux O_TMPFILE; tmp NULL) or a
 * short temporary one in the directory of its final name (tmp, malloc'ed),
 * so it can be sized and mapped before anyone can see it; or (`named`,
 * POSIX with `direct`) it was created exclusively under its final name. */
typedef struct mmapio__os_newfile {
  mmapio_native_file f; /* open read-write */
  char *tmp;
  const char *named; /* the final name when created under it (not owned) */
} mmapio__os_newfile;
/* Create it in the directory of `path` (0666 & ~umask, or 0600 when
 * private_perms). Messages name `path`. A name too long for the system is
 * EINVAL with a message saying so. `direct` (honoured on POSIX): create
 * `path` itself with O_CREAT|O_EXCL (EEXIST, nothing created, when it
 * exists); the file is then visible, empty, until it is sized. */
int mmapio__os_newfile_open(mmapio__os_newfile *nf, const char *path, int private_perms,
                            int direct);
/* Give it the name `path` in one step, unless `path` exists: then EEXIST
 * and nf is unchanged (discard it). On success nf->f stays open (the
 * caller's now) and the temporary name is gone. File systems without hard
 * links publish non-atomically (a concurrent opener may see it empty).
 * A file created under its name (`direct`) has nothing left to do. */
int mmapio__os_newfile_publish(mmapio__os_newfile *nf, const char *path);
/* Close nf->f (unless MMAPIO_INVALID_FILE) and remove the temporary name,
 * or the final name of a file created under it; records nothing (keeps the
 * caller's detail message). */
void mmapio__os_newfile_discard(mmapio__os_newfile *nf);
/* Make the directory entry of `path` durable (POSIX: fsync of its
 * directory; Windows: nothing to do, see mmapio.h). Used once after
 * creating a file at MMAPIO_DURABLE_FULL. */
int mmapio__os_sync_dir(const char *path);
int mmapio__os_copy_file(const char *src, const char *dst);

/* ---- Database support (posix/filelock_posix.c, win/filelock_win.c) ----- */
/* Check that `f` is a usable open regular file for a map that will use it
 * as is (MMAPIO_OPEN_BORROW_FD): the same checks and statuses as
 * mmapio__os_dup, without duplicating. */
int mmapio__os_check_fd(mmapio_native_file f, int need_write, const char *path);
/* Advisory lock of [off, off+len) of f (len 0: to the end of any size; the
 * core has checked off + len <= INT64_MAX). excl: write lock, else read
 * lock; wait: block until granted (retrying EINTR), else EAGAIN when a
 * conflicting lock is held. */
int mmapio__os_file_lock(mmapio_native_file f, uint64_t off, uint64_t len, int excl, int wait,
                         const char *path);
int mmapio__os_file_unlock(mmapio_native_file f, uint64_t off, uint64_t len, const char *path);

/* ---- Mappings ---------------------------------------------------------- */
/* Windows of a file: every length and offset of this contract (len,
 * reserve, old_len, new_len, the flush range) and om->base / om->reserved
 * describe the *window*: byte 0 is file offset om->offset. The backend maps
 * from the offset rounded down to the allocation granularity and records the
 * difference in om->delta: the OS mapping starts at om->base - om->delta
 * (granularity aligned, so page aligned), at file offset om->offset -
 * om->delta. Unmap, flush, remap and growth work on that real range. File
 * lengths follow the window: a resize from old_len to new_len sets the file
 * to om->offset + new_len. Anonymous maps have offset 0 and delta 0. */
typedef struct mmapio__os_mapping {
  uint8_t *base;     /* byte 0 of the window (NULL when len 0) */
  uint64_t reserved; /* bytes of address space reserved from base (>= len) */
  void *handle;      /* backend data (Windows: section handle), else NULL */
  uint64_t keep;     /* reservation asked for at open (max_size): a shrink
                        keeps at least this much address space reserved */
  int anon_shared;   /* anonymous maps: MMAPIO_ANON_SHARED */
  int huge;          /* huge pages were requested */
  uint64_t offset;   /* in: file offset of base, set by the core before
                        mmapio__os_map (0 = from the start of the file) */
  uint64_t delta;    /* out (mmapio__os_map): bytes mapped before base, <
                        mmapio__os_granularity() */
} mmapio__os_mapping;

/* Map `len` bytes of `f` from file offset om->offset (any value; see above)
 * in `mode`, reserving `reserve` (>= len) bytes of address space so the
 * mapping can grow in place up to it. Sets om->base, om->reserved,
 * om->delta. COPY_ON_WRITE is a private writable mapping of a read-only
 * file. Where MMAPIO__OS_MAP_BEYOND_EOF is 1 (POSIX) `len` may exceed the
 * file's length (the file is sized afterwards; no byte past its end is
 * touched meanwhile), so a TRUNCATE can take the address space before it
 * changes the file. Windows cannot: a read-write section extends the file. */
int mmapio__os_map(mmapio__os_mapping *om, mmapio_native_file f, mmapio_mode mode, uint64_t len,
                   uint64_t reserve, uint32_t open_flags, const char *path);
/* Where MMAPIO__OS_MAP_BEYOND_EOF is 0 (Windows), what a TRUNCATE asks
 * before it changes the file it maps afterwards: can `reserve` bytes of
 * address space (from file offset `offset`, as mmapio__os_map would
 * reserve them) be had now? ENOMEM naming `path` when not; changes
 * nothing. A best-effort check: another thread can take the space before
 * the mapping is made. POSIX maps first and does not need it (OK). */
int mmapio__os_can_map(uint64_t offset, uint64_t reserve, const char *path);
int mmapio__os_map_anon(mmapio__os_mapping *om, uint64_t len, uint32_t anon_flags);
void mmapio__os_unmap(mmapio__os_mapping *om, uint64_t len);
/* mmapio_open_ro's own path and its close: mmapio__os_open_map_ro and
 * mmapio__os_unmap_close, declared (or defined inline) by the backend's
 * os_fast.h (src/posix/os_fast.h describes them), which only map.c
 * includes. */
/* In-place growth to new_len <= om->reserved: the file has already been
 * extended; make [old_len, new_len) accessible at the same address.
 * POSIX: nothing to do (the reservation maps the file already).
 * Windows: needs placeholders (VirtualAlloc2 + MapViewOfFile3, Windows 10
 * 1803+); without them (older Windows, Wine 8) mmapio__os_map reserves only
 * len, so om->reserved == len and the core always resizes by moving. There
 * om->handle points to the backend's data, whose first member is the
 * newest section HANDLE. */
int mmapio__os_grow_in_place(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                             uint64_t new_len, const char *path);
/* Moving resize of a READ_WRITE or anonymous mapping (f invalid), called
 * with the map held exclusively: changes the file length (reserving blocks
 * unless sparse) and the mapping, in whatever order the OS needs. On success
 * om->base/reserved describe the new mapping; on failure the old mapping and
 * file length are intact -- except where the backend must unmap before it
 * can change the length (Windows) and even mapping the old length again
 * fails: om is then that of an empty mapping (base NULL, no backend data),
 * the file has its old length and bytes back, and the message says so.
 * Bytes below min(old,new) are kept, grown bytes are zero. */
int mmapio__os_remap(mmapio__os_mapping *om, mmapio_native_file f, uint64_t old_len,
                     uint64_t new_len, int sparse, const char *path);
/* Flush [off, off+len) of the window at durability `d`. The backend
 * extends the start down to the page that holds it (a window's pages need
 * not start at a page multiple of the window). */
int mmapio__os_flush(mmapio__os_mapping *om, mmapio_native_file f, uint64_t off, uint64_t len,
                     mmapio_durability d, const char *path);

/* ---- Named shared memory (posix/shm_posix.c, win/shm_win.c) ------------ */
/* Longest shared-memory name the backend accepts, in bytes, without the
 * leading '/' or "Local\\" the backend adds: NAME_MAX - 1 on POSIX (the '/'
 * takes the last byte), 30 on macOS (PSHMNAMLEN), 254 on Windows. */
size_t mmapio__os_shm_name_max(void);
/* Open the shared-memory object `name` (validated by the core: non-empty,
 * no '/' or '\\', at most mmapio__os_shm_name_max() bytes) read-write and map
 * all of it into `om`. create: MMAPIO__CREATE_NO (must exist),
 * MMAPIO__CREATE_EXCL (must not exist) or MMAPIO__SHM_OPEN_OR_CREATE; a new
 * object gets `size` zero bytes (size > 0), an existing one keeps its size.
 * *f receives the descriptor the mapping keeps (POSIX: close-on-exec, owned
 * by the map from now on; a file-style map of it) or MMAPIO_INVALID_FILE
 * (Windows: the section handle lives in om, the map is paging-file memory
 * like an anonymous one); *len the length mapped. On failure nothing is left
 * open and an object this call created is removed again. Messages name
 * `name`. */
#define MMAPIO__SHM_OPEN_OR_CREATE 2
int mmapio__os_shm_open(mmapio_native_file *f, mmapio__os_mapping *om, uint64_t *len,
                        const char *name, uint64_t size, int create);
/* Remove the name (POSIX shm_unlink: mappings and descriptors stay valid).
 * Windows: names vanish with the last handle; returns OK without doing
 * anything. ENOENT when no such object exists (POSIX). */
int mmapio__os_shm_remove(const char *name);
/* 1 where an open shared-memory object can change its length (POSIX
 * ftruncate), 0 where it cannot (Windows sections have a fixed size). */
int mmapio__os_shm_resizable(void);
/* A new anonymous shared-memory file of `size` zero bytes that another
 * process can map through a passed descriptor (Linux memfd_create,
 * close-on-exec). ENOTSUP (recorded) elsewhere. */
int mmapio__os_memfd(mmapio_native_file *out, uint64_t size);

/* ---- Threads and synchronisation --------------------------------------- */
void mmapio__mutex_init(mmapio__mutex *mu);
void mmapio__mutex_destroy(mmapio__mutex *mu);
void mmapio__mutex_lock(mmapio__mutex *mu);
int mmapio__mutex_trylock(mmapio__mutex *mu); /* 1 = acquired */
void mmapio__mutex_unlock(mmapio__mutex *mu);
void mmapio__cond_init(mmapio__cond *c);
void mmapio__cond_destroy(mmapio__cond *c);
void mmapio__cond_wait(mmapio__cond *c, mmapio__mutex *mu);
/* Wait at most timeout_ms; returns 0 when signalled (or spuriously), 1 on timeout. */
int mmapio__cond_timedwait(mmapio__cond *c, mmapio__mutex *mu, uint64_t timeout_ms);
void mmapio__cond_signal(mmapio__cond *c);
void mmapio__cond_broadcast(mmapio__cond *c);
int mmapio__thread_start(mmapio__thread *t, void (*fn)(void *), void *arg);
void mmapio__thread_join(mmapio__thread *t);
/* Let `t` run on without ever being joined; its resources go when it ends. */
void mmapio__thread_detach(mmapio__thread *t);
/* Register the core's fork handlers (mmapio__fork_prepare/parent/child)
 * with the OS once (pthread_atfork); nothing on Windows, which has no
 * fork(). Idempotent and thread-safe. */
void mmapio__os_atfork_register(void);
uint64_t mmapio__monotonic_ms(void);
/* Monotonic clock in nanoseconds, for statistics (posix/shm_posix.c,
 * win/shm_win.c). */
uint64_t mmapio__os_monotonic_ns(void);
void mmapio__sleep_ms(uint32_t ms);

/* Block while *addr == expected, at most timeout_ms (futex, WaitOnAddress,
 * or a short sleep where neither exists). Spurious returns are allowed. */
void mmapio__wait_u32(const uint32_t *addr, uint32_t expected, uint32_t timeout_ms);
void mmapio__wake_u32(const uint32_t *addr); /* wake all waiters */

/* Asymmetric fence. mmapio__asym_init() returns 1 when a process-wide
 * barrier is available (Linux membarrier PRIVATE_EXPEDITED, Windows
 * FlushProcessWriteBuffers); then readers need only a compiler barrier and
 * writers call mmapio__asym_heavy(). Returns 0 otherwise (readers then use a
 * full fence). Called once. */
int mmapio__asym_init(void);
void mmapio__asym_heavy(void);

/* Call fn(arg) when the calling thread exits (once per thread; the last
 * registration wins). Used to free per-thread caches. */
void mmapio__on_thread_exit(void (*fn)(void *), void *arg);

/* ---- Fault safety (posix/fault_posix.c, win/fault_win.c) ---------------- */
/* These functions record no detail message: the caller (fault.c) knows the
 * operation, offset and path and writes the message itself. */
/* Install the process-wide fault handler (POSIX: SIGBUS/SIGSEGV handler
 * chained to the previous one; Windows: a vectored exception handler) once.
 * Thread-safe and idempotent. Returns OK, or ENOTSUP where this platform or
 * toolchain has no guarded copy. */
int mmapio__os_fault_install(void);
/* Copy len bytes from src to dst. A fault whose address lies in [lo, hi)
 * (the mapped side of the copy) stops the copy: returns MMAPIO_EFAULT and
 * sets *fault_addr. Faults anywhere else go to the previous handler exactly
 * as if the library were absent. Needs mmapio__os_fault_install() first. */
int mmapio__os_guarded_copy(void *dst, const void *src, size_t len, const void *lo,
                            const void *hi, uintptr_t *fault_addr);
/* Read one byte of every page of [p, p+len) (p page aligned, len a multiple
 * of page) under the same guard: OK or MMAPIO_EFAULT with *fault_addr. */
int mmapio__os_guarded_touch(const void *p, size_t len, size_t page, uintptr_t *fault_addr);
/* Let the OS read-fault [p, p+len) (page aligned) without touching it from
 * user space (Linux MADV_POPULATE_READ): OK, MMAPIO_EFAULT (a page is not
 * backed), or MMAPIO_ENOTSUP (not available here: use the guarded touch). */
int mmapio__os_populate_read(void *p, size_t len);

/* ---- Hints, locking, huge pages (posix/hints_posix.c, win/hints_win.c) --- */
/* The caller (hints.c, locking.c) keeps the mapping from moving while these
 * run (it holds m->stable shared), has checked the bounds, and passes a
 * page-aligned start `addr` and a byte length `len` > 0 that may end inside
 * the last page (the OS rounds it up). `file_off` is the file offset of
 * `addr` (for a window: om->offset plus the window offset of addr, which
 * may lie up to a page before the window's byte 0; see mmapio__file_pages in
 * internal.h).
 * `f` is MMAPIO_INVALID_FILE for anonymous maps. `kind` says what dropping a
 * page would do, so that no hint can ever lose data: */
#define MMAPIO__HINT_SHARED_FILE 0  /* RO/RW file maps: pages live in the page cache */
#define MMAPIO__HINT_PRIVATE_FILE 1 /* COW: private pages hold unsaved changes */
#define MMAPIO__HINT_ANON_SHARED 2  /* shared anonymous memory (kept by the OS) */
#define MMAPIO__HINT_ANON_PRIVATE 3 /* private anonymous memory: dropping = zeroing */
/* madvise / posix_madvise / PrefetchVirtualMemory / working-set trim.
 * DONTNEED never discards data: on private kinds it only deactivates pages. */
int mmapio__os_advise(uint8_t *addr, uint64_t len, mmapio_advice a, int kind, const char *path);
/* Start read-ahead of the range (posix_fadvise WILLNEED, F_RDADVISE,
 * madvise WILLNEED for anonymous memory, PrefetchVirtualMemory). */
int mmapio__os_prefetch(uint8_t *addr, uint64_t len, mmapio_native_file f, uint64_t file_off,
                        int kind, const char *path);
/* *resident = number of pages of the range in memory (mincore / QueryWorkingSetEx). */
int mmapio__os_residency(uint64_t *resident, const uint8_t *addr, uint64_t len, const char *path);
/* Drop the range's clean pages from this process and, for files, from the
 * page cache (dirty RW pages were flushed by the caller). Never discards
 * private data. */
int mmapio__os_evict(uint8_t *addr, uint64_t len, mmapio_native_file f, uint64_t file_off,
                     int kind, const char *path);
/* mlock / munlock / VirtualLock / VirtualUnlock. A refused lock is EACCES or
 * ENOMEM with a message naming the limit to raise. */
int mmapio__os_lock(uint8_t *addr, uint64_t len, const char *path);
int mmapio__os_unlock(uint8_t *addr, uint64_t len, const char *path);
/* Ask for transparent huge pages over [addr, addr+len) (MADV_HUGEPAGE).
 * OK when the advice was accepted, ENOTSUP where the OS has no such advice.
 * Never faults a page in. */
int mmapio__os_huge_advise(uint8_t *addr, uint64_t len, int kind, const char *path);
/* 1 if some page of [addr, addr+len) is currently backed by a huge page
 * (Linux: /proc/self/smaps AnonHugePages / ShmemPmdMapped / FilePmdMapped /
 * a hugetlb KernelPageSize), else 0. Records no error. */
int mmapio__os_huge_query(const uint8_t *addr, uint64_t len);
/* Read-fault every page of [p, p+len) (p page aligned, len > 0 a multiple
 * of page) that is not mapped in this process; pages already mapped are left
 * alone. Reads only, so no page is dirtied. Linux finds the unmapped pages
 * with one PAGEMAP_SCAN ioctl per 64 MiB (kernel 6.7+), a few times faster
 * than reading a byte of every page of a map that is already faulted in;
 * below 4 MiB, on older kernels and elsewhere every page is read
 * (mmapio__touch_pages). The caller keeps the mapping from moving. */
void mmapio__os_touch(const uint8_t *p, size_t len, size_t page);
/* What the hint backend can do here (tests use it to know what to expect). */
#define MMAPIO__HINTCAP_EVICT_MAPPED 0x1u /* evict drops pages mapped by this process */
#define MMAPIO__HINTCAP_RESIDENCY 0x2u    /* residency reports real page state */
#define MMAPIO__HINTCAP_HUGE_ADVISE 0x4u  /* huge pages can be requested after mapping */
unsigned mmapio__os_hint_caps(void);

/* ---- Async and watch (posix/async_posix.c, posix/watch_*.c,
 *      win/async_win.c, win/watch_rdcw.c) ------------------------------------ */
/* A one-shot completion event that any event loop can wait on. POSIX: the
 * read end of an eventfd (Linux) or of a pipe (portable builds), readable
 * once set and from then on; Windows: a manual-reset event HANDLE, signalled
 * once set. Close-on-exec / non-inheritable. */
typedef struct mmapio__os_event {
  mmapio_native_file rd; /* handed out by mmapio_task_event() */
  mmapio_native_file wr; /* pipe write end; equal to rd for eventfd / Windows */
} mmapio__os_event;
int mmapio__os_event_open(mmapio__os_event *e); /* OK or a recorded failure */
void mmapio__os_event_set(mmapio__os_event *e); /* idempotent, never fails */
void mmapio__os_event_close(mmapio__os_event *e);

/* The state of a file as a watch compares it. Fields a platform lacks are 0
 * (Windows: ino/dev/nlink/uid/gid; mode holds the file attributes). */
typedef struct mmapio__file_state {
  uint64_t dev, ino, size, nlink;
  int64_t mtime_ns, ctime_ns;
  uint32_t mode, uid, gid;
  int exists;
} mmapio__file_state;
/* watch.c: the change that turned `before` into `after` (the same file):
 * size -> MODIFIED over the bytes added or removed, mtime -> MODIFIED(0,0),
 * mode/owner/ctime/links -> METADATA. Returns 1 and fills *out, or 0. */
int mmapio__watch_diff(mmapio_change *out, const mmapio__file_state *before,
                       const mmapio__file_state *after);

/* A watch backend object starts with this table. wait() blocks until it has
 * something to report or wake() is called, calls emit() for each change (on
 * the calling thread) and returns OK, or a negative status (recorded) when
 * the backend cannot go on. wake() is thread-safe and sticky: it is only used
 * to stop, so every later wait() returns at once. */
typedef void (*mmapio__watch_emit)(void *ctx, const mmapio_change *c);
typedef struct mmapio__os_watch mmapio__os_watch;
struct mmapio__os_watch {
  const char *backend; /* "inotify", "kqueue", "rdcw" or "poll" */
  int (*wait)(mmapio__os_watch *w, mmapio__watch_emit emit, void *ctx);
  void (*wake)(mmapio__os_watch *w);
  void (*destroy)(mmapio__os_watch *w);
};
#define MMAPIO__WATCH_AUTO 0 /* the native backend, else stat polling */
#define MMAPIO__WATCH_POLL 1 /* stat polling (tests, fallback) */
int mmapio__os_watch_open(mmapio__os_watch **out, const char *path, int backend);
#if !MMAPIO__OS_WINDOWS
/* POSIX backends, chosen by mmapio__os_watch_open (posix/watch_poll.c). The
 * native ones return ENOTSUP where they are not compiled in. */
int mmapio__os_watch_open_inotify(mmapio__os_watch **out, const char *path);
int mmapio__os_watch_open_kqueue(mmapio__os_watch **out, const char *path);
int mmapio__os_watch_open_poll(mmapio__os_watch **out, const char *path);
/* fstat(fd) when fd >= 0, else stat(path), into *s. Returns 0 or the errno
 * (then s->exists is 0). Records nothing. */
int mmapio__posix_file_state(mmapio__file_state *s, int fd, const char *path);
/* open(path, O_RDONLY | O_CLOEXEC) for following a watched file; -1 on
 * failure (the watch then falls back to stat(path)). */
int mmapio__posix_watch_open_file(const char *path);
#endif
/* watch.c: mmapio_watch_start with a chosen backend, and the name of the
 * backend a watch uses (white-box tests). */
int mmapio__watch_start_backend(mmapio_watch **out, mmapio_map *m, mmapio_watch_fn fn,
                                void *payload, int backend);
const char *mmapio__watch_backend(const mmapio_watch *w);

/* ---- Test hooks (builds with MMAPIO_TEST_HOOKS) ------------------------- */
/* Every backend OS call goes through a table so tests can record the calls
 * the library makes (durability tests) and make the Nth call fail (fault
 * injection). Names are the OS function names ("msync", "fsync",
 * "sync_file_range", "fcntl_fullfsync", "ftruncate", "fallocate", "mmap",
 * "mremap", "munmap", "open", "FlushViewOfFile", "FlushFileBuffers", ...). */
typedef struct mmapio__sys_call {
  const char *name; /* static string */
  uint64_t a, b;    /* msync: address, length; sync_file_range: offset, length;
                       ftruncate/fallocate: offset/length; others: 0 */
  int flags;        /* msync: MS_* flags; sync_file_range: flags; else 0 */
} mmapio__sys_call;
void mmapio__sys_reset(void);                       /* stop recording, clear injections and counts */
void mmapio__sys_record_start(void);                /* record calls process-wide */
size_t mmapio__sys_record_stop(mmapio__sys_call *out, size_t max); /* stop; returns the count recorded */
/* The nth (1-based) call whose name equals `name` (NULL: any call) after
 * this one fails with OS error `err` (errno / Win32 code; 0: the backend's
 * generic I/O error, EIO / ERROR_GEN_FAILURE), once. Up to 16 injections
 * may be armed at a time; names match up to 47 characters. One engine
 * (src/hooks.c) serves both backends. */
void mmapio__sys_fail_nth(const char *name, unsigned nth, int err);
unsigned mmapio__sys_count(const char *name);       /* calls since reset (NULL: all) */

#endif /* MMAPIO_PLATFORM_H */
