/*
 * mmapio.h -- zero-copy memory-mapped file I/O for C and C++.
 *
 * This header is the reference manual of mmapio. Every function carries a
 * block that says what it does, what each parameter means, every status it
 * can return and when, what it leaves behind on failure, whether it is
 * thread-safe and since which version it exists.
 *
 * Conventions (they hold for every function unless its block says otherwise)
 *
 *  - Every fallible function returns int: MMAPIO_OK (0) or a negative
 *    mmapio_status. Out-parameters come first, then the object, then the
 *    inputs. Outputs are written only on success, except a `**out` handle,
 *    which is set to NULL on failure.
 *  - After a failure, mmapio_last_error() returns a detail message naming the
 *    operation and its inputs (for OS failures the failing call and the path,
 *    e.g. "msync(/data/x.bin): Input/output error"), and
 *    mmapio_last_os_error() the errno / GetLastError() value behind it. Both
 *    are per thread.
 *  - Check order: arguments (NULL, flags) -> zero-length action -> mode ->
 *    alignment -> bounds -> the operation.
 *  - Bounds rule: (off, len) lies inside a mapping of `total` bytes iff
 *    off <= total && len <= total - off. This never overflows.
 *  - Zero-length rule: a zero-length *action* (write of 0 bytes, flush_range,
 *    advise, prefetch, touch_range, evict, probe, lock/unlock, residency of 0
 *    bytes) succeeds as a no-op before any other check, in every mode. A
 *    zero-length *view* (view, read into an empty buffer, segment, atomic
 *    array of 0 elements) must still satisfy the bounds rule.
 *  - Thread safety: every function taking a mmapio_map * may be called from
 *    any thread concurrently, unless its block says otherwise.
 *  - Functions returning void or a value never fail; when their feature is
 *    compiled out they are no-ops. Functions of a compiled-out feature that
 *    return a status return MMAPIO_ENOTSUP.
 *
 * The header compiles alone as C99, C11 and C++ (no _Atomic, no VLAs).
 */
#ifndef MMAPIO_H
#define MMAPIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Export macro                                                              */
/* ------------------------------------------------------------------------ */

#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(MMAPIO_SHARED_BUILD)
#    define MMAPIO_API __declspec(dllexport)
#  elif defined(MMAPIO_SHARED)
#    define MMAPIO_API __declspec(dllimport)
#  else
#    define MMAPIO_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define MMAPIO_API __attribute__((visibility("default")))
#else
#  define MMAPIO_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define MMAPIO_INLINE_ static __inline__ __attribute__((always_inline, unused))
#elif defined(_MSC_VER)
#  define MMAPIO_INLINE_ static __forceinline
#else
#  define MMAPIO_INLINE_ static inline
#endif

/* ------------------------------------------------------------------------ */
/* 1. Versions and features                                                  */
/* ------------------------------------------------------------------------ */

#define MMAPIO_VERSION_MAJOR 1
#define MMAPIO_VERSION_MINOR 1
#define MMAPIO_VERSION_PATCH 0
#define MMAPIO_VERSION_NUMBER \
  (MMAPIO_VERSION_MAJOR * 10000 + MMAPIO_VERSION_MINOR * 100 + MMAPIO_VERSION_PATCH)
#define MMAPIO_VERSION_STRING "1.1.0"

/*! mmapio_version_number() :
 *  @return MMAPIO_VERSION_NUMBER of the library actually linked. Compare it
 *          with the macro to detect a header/library mismatch.
 *  Never fails, thread-safe. @since 1.0.0 */
MMAPIO_API unsigned mmapio_version_number(void);

/*! mmapio_version_string() :
 *  @return "MAJOR.MINOR.PATCH" of the linked library (static storage).
 *  Never fails, thread-safe. @since 1.0.0 */
MMAPIO_API const char *mmapio_version_string(void);

/** Optional features, one per mmap-io cargo feature plus fault safety.
 *  Each can be left out of a build with the CMake option MMAPIO_WITH_<NAME>. */
typedef enum mmapio_feature {
  MMAPIO_FEATURE_ADVISE = 1,     /* mmapio_advise */
  MMAPIO_FEATURE_ITERATOR = 2,   /* mmapio_chunks, mmapio_pages, ... */
  MMAPIO_FEATURE_ASYNC = 3,      /* mmapio_*_async, tasks */
  MMAPIO_FEATURE_BYTES = 4,      /* mmapio_bytes_* */
  MMAPIO_FEATURE_HUGEPAGES = 5,  /* MMAPIO_OPEN_HUGE_PAGES */
  MMAPIO_FEATURE_COW = 6,        /* MMAPIO_MODE_COPY_ON_WRITE */
  MMAPIO_FEATURE_LOCKING = 7,    /* mmapio_lock, mmapio_unlock, ... */
  MMAPIO_FEATURE_ATOMIC = 8,     /* mmapio_atomic_* */
  MMAPIO_FEATURE_WATCH = 9,      /* mmapio_watch_* */
  MMAPIO_FEATURE_FAULT_SAFE = 10 /* MMAPIO_OPEN_FAULT_SAFE */
} mmapio_feature;

/*! mmapio_has_feature() :
 *  @return 1 if feature `f` is compiled in *and* implemented on this
 *          platform, 0 otherwise (also for unknown values).
 *  Never fails, thread-safe. @since 1.0.0 */
MMAPIO_API int mmapio_has_feature(mmapio_feature f);

/* ------------------------------------------------------------------------ */
/* 2. Status codes and error detail                                          */
/* ------------------------------------------------------------------------ */

/** Status codes. Values are pinned forever; new codes are only appended. */
typedef enum mmapio_status {
  MMAPIO_OK = 0,
  MMAPIO_EINVAL = -1,     /* bad argument: NULL, unknown flag/enum, bad whence, ... */
  MMAPIO_EBOUNDS = -2,    /* offset/length outside the mapping (overflow-safe check) */
  MMAPIO_EMODE = -3,      /* operation not allowed in this mapping's mode */
  MMAPIO_EALIGN = -4,     /* atomic view offset not aligned */
  MMAPIO_ESIZE = -5,      /* size 0, size above MMAPIO_MAX_SIZE, zero-length file where a size is required */
  MMAPIO_EBUSY = -6,      /* views, pins or iterators still outstanding (resize, close) */
  MMAPIO_EDEADLK = -7,    /* the call would wait for a view held by the calling thread */
  MMAPIO_ENOENT = -8,     /* no such file */
  MMAPIO_EEXIST = -9,     /* file exists (MMAPIO_OPEN_EXCLUSIVE) */
  MMAPIO_EACCES = -10,    /* permission or privilege denied (incl. mlock limits, large pages) */
  MMAPIO_ENOSPC = -11,    /* no space left on the device */
  MMAPIO_ENOMEM = -12,    /* out of memory or address space */
  MMAPIO_EIO = -13,       /* any other OS failure; see mmapio_last_os_error() */
  MMAPIO_EFAULT = -14,    /* mapped pages could not be read or written */
  MMAPIO_ENOTSUP = -15,   /* not available on this platform or in this build */
  MMAPIO_EVERSION = -16,  /* options struct size not understood */
  MMAPIO_EAGAIN = -17,    /* async task not finished yet */
  MMAPIO_ETIMEDOUT = -18  /* wait timed out */
} mmapio_status;

/*! mmapio_strerror() :
 *  @return a static description of `status` ("success", "out of bounds",
 *          ...); never NULL, also for unknown codes ("unknown status").
 *  Never fails, thread-safe. @since 1.0.0 */
MMAPIO_API const char *mmapio_strerror(int status);

/*! mmapio_last_error() :
 *  @return this thread's detail message for its last failing mmapio call, or
 *          "" if none failed yet. The text stays valid until this thread's
 *          next failing call. Successful calls do not clear it.
 *  Exact formats (tests compare them):
 *    EBOUNDS  "range out of bounds: offset=%llu, len=%llu, total=%llu"
 *    EALIGN   "atomic alignment error: required=%u, offset=%llu"
 *    ESIZE    "Size must be greater than zero",
 *             "Size %llu exceeds maximum safe limit of %llu bytes",
 *             "New size must be greater than zero",
 *             "New size %llu exceeds maximum safe limit of %llu bytes",
 *             "Cannot map zero-length file"
 *  OS failures: "<call>(<path>): <strerror text>".
 *  Never fails. @since 1.0.0 */
MMAPIO_API const char *mmapio_last_error(void);

/*! mmapio_last_os_error() :
 *  @return errno (POSIX) or GetLastError() (Windows) behind this thread's last
 *          failure, 0 if that failure was not an OS error.
 *  Never fails. @since 1.0.0 */
MMAPIO_API int mmapio_last_os_error(void);

/* ------------------------------------------------------------------------ */
/* 3. Limits and small helpers                                               */
/* ------------------------------------------------------------------------ */

/** Largest mapping size accepted (inclusive): 128 TiB on 64-bit, 2 GiB on 32-bit. */
#if UINTPTR_MAX > 0xFFFFFFFFu
#  define MMAPIO_MAX_SIZE (UINT64_C(1) << 47)
#else
#  define MMAPIO_MAX_SIZE (UINT64_C(1) << 31)
#endif

/*! mmapio_page_size() : the OS page size in bytes (cached after the first call).
 *  Never fails, thread-safe. @since 1.0.0 */
MMAPIO_API size_t mmapio_page_size(void);

/*! mmapio_allocation_granularity() : the alignment mapping offsets need:
 *  64 KiB on Windows, the page size elsewhere. Never fails. @since 1.0.0 */
MMAPIO_API size_t mmapio_allocation_granularity(void);

/*! mmapio_align_up() :
 *  @return `v` rounded up to a multiple of `a`; `v` when a == 0; UINT64_MAX
 *          when the result would not fit in 64 bits. `a` need not be a power
 *          of two. Never fails. @since 1.0.0 */
MMAPIO_API uint64_t mmapio_align_up(uint64_t v, uint64_t a);

/* ------------------------------------------------------------------------ */
/* 4. Opening and closing                                                    */
/* ------------------------------------------------------------------------ */

/** Native file: a descriptor on POSIX, a HANDLE on Windows. */
#ifdef _WIN32
typedef void *mmapio_native_file;
#  define MMAPIO_INVALID_FILE ((mmapio_native_file)(intptr_t)-1)
#else
typedef int mmapio_native_file;
#  define MMAPIO_INVALID_FILE (-1)
#endif

/** A mapping. Opaque and reference counted (mmapio_retain / mmapio_close). */
typedef struct mmapio_map mmapio_map;

typedef enum mmapio_mode {
  MMAPIO_MODE_READ_ONLY = 1,      /* shared read-only mapping; views only, no locking */
  MMAPIO_MODE_READ_WRITE = 2,     /* shared writable mapping; writes reach the file */
  MMAPIO_MODE_COPY_ON_WRITE = 3   /* private writable mapping; writes never reach the file */
} mmapio_mode;

typedef enum mmapio_flush_kind {
  MMAPIO_FLUSH_MANUAL = 0,        /* only explicit mmapio_flush* calls */
  MMAPIO_FLUSH_ALWAYS = 1,        /* flush after every write / mut-view release */
  MMAPIO_FLUSH_EVERY_BYTES = 2,   /* flush when the written bytes reach `every` */
  MMAPIO_FLUSH_EVERY_WRITES = 3,  /* flush when the number of writes reaches `every` */
  MMAPIO_FLUSH_EVERY_MILLIS = 4   /* background flush every `every` ms (monotonic clock),
                                     counted from the end of the previous one */
} mmapio_flush_kind;
#define MMAPIO_FLUSH_NEVER MMAPIO_FLUSH_MANUAL
/** Longest EVERY_MILLIS period: 2^32 - 1 ms (about 49.7 days). @since 1.1 */
#define MMAPIO_FLUSH_MAX_MILLIS UINT64_C(4294967295)

/** A flush policy. `every == 0` means "never" for the counting kinds and
 *  EVERY_MILLIS; `every` is ignored for MANUAL and ALWAYS. EVERY_MILLIS
 *  accepts periods up to MMAPIO_FLUSH_MAX_MILLIS (mmapio_open: EINVAL
 *  above). */
typedef struct mmapio_flush_policy {
  mmapio_flush_kind kind;
  uint64_t every;
} mmapio_flush_policy;

typedef enum mmapio_touch_hint {
  MMAPIO_TOUCH_NEVER = 0,  /* do nothing at open */
  MMAPIO_TOUCH_LAZY = 1,   /* hint the OS (read-ahead), do not wait */
  MMAPIO_TOUCH_EAGER = 2   /* pre-fault every page before open returns (reads only) */
} mmapio_touch_hint;

typedef enum mmapio_durability {
  MMAPIO_DURABLE_DATA = 0, /* default: data reaches the device (msync MS_SYNC /
                              FlushViewOfFile + FlushFileBuffers) */
  MMAPIO_DURABLE_FULL = 1, /* DATA plus the device cache (fsync; F_FULLFSYNC on macOS);
                              a file created or truncated at FULL also gets its
                              directory fsynced once, so its name survives a
                              power cut */
  MMAPIO_DURABLE_NONE = 2  /* not durable; see below */
} mmapio_durability;
/* MMAPIO_DURABLE_NONE precisely (since 1.1):
 *  - A flush *triggered by the policy* (ALWAYS, EVERY_BYTES, EVERY_WRITES
 *    after a write or write-view release) makes no system call: the write
 *    path costs the copy and the accounting only, and the accumulator is
 *    reset. The OS writes the pages back on its own schedule (Linux: its
 *    periodic writeback, typically within 30 s).
 *  - An explicit mmapio_flush / mmapio_flush_range, an async flush task and
 *    the EVERY_MILLIS background flusher start writeback of the dirty pages
 *    of the range and do not wait for it (Linux: sync_file_range(WRITE),
 *    which skips clean pages; elsewhere msync(MS_ASYNC); Windows:
 *    FlushViewOfFile without FlushFileBuffers).
 *  - Nothing at NONE is durable when the call returns, and a write-back
 *    failure is reported only if the OS reports it to that call. */

#define MMAPIO_OPEN_CREATE 0x01u     /* create the file if missing (size from options) */
#define MMAPIO_OPEN_TRUNCATE 0x02u   /* existing file is truncated and resized to options.size */
#define MMAPIO_OPEN_EXCLUSIVE 0x04u  /* with CREATE: fail MMAPIO_EEXIST if it exists */
#define MMAPIO_OPEN_HUGE_PAGES 0x08u /* best effort; see mmapio_huge_pages_active() */
#define MMAPIO_OPEN_SPARSE 0x10u     /* do not reserve disk blocks on create/grow; with
                                        CREATE|TRUNCATE a new file is made under its
                                        name (may be seen empty; see mmapio_open) */
#define MMAPIO_OPEN_FAULT_SAFE 0x20u /* mmapio_read/mmapio_write return MMAPIO_EFAULT instead of crashing */
/* MMAPIO_OPEN_FAULT_SAFE and signal masks (since 1.1): a guarded access
 * (mmapio_read, mmapio_write, mmapio_touch / mmapio_touch_range of such a
 * map, mmapio_probe) also works on a thread that blocks SIGBUS/SIGSEGV (the
 * sigwait design: the kernel would otherwise kill the process with a
 * blocked fault). On such a thread they are unblocked for the duration of
 * the access and the thread's mask is restored after it (two extra system
 * calls per access). The mask is looked at once per thread, at its first
 * guarded access; a thread that starts blocking SIGBUS/SIGSEGV later is not
 * covered. The guarded touch reads under the map's shared hold, 256 pages
 * at a time, so it never races with mmapio_write (writers wait at most one
 * batch). POSIX only; Windows has no signal masks. */
#define MMAPIO_OPEN_PRIVATE_PERMS 0x40u /* create new files with 0600 instead of 0666 & ~umask */
/* Caller-synchronised map (since 1.1): mmapio_write, write views and read
 * views take no reader/writer hold; they only keep the mapping from moving
 * or going away (a moving mmapio_resize waits for them, mmapio_close
 * returns EBUSY while views exist) and check bounds. The caller then
 * guarantees that no byte is written by one thread (mmapio_write, a write
 * view, a mut iterator) while another thread reads or writes it, e.g. with
 * its own page locks, as databases do; mmapio_read and read views may then
 * see a partly written range. A write while another thread holds views of
 * other pages costs a bounds check and the copy. The calling thread may
 * write while it holds read views of the map (no EDEADLK); a resize that
 * moves the mapping still returns EDEADLK for the caller's own views. */
#define MMAPIO_OPEN_EXTERNAL_SYNC 0x80u
/* MMAPIO_OPEN_ALLOW_EMPTY (0x100u) and MMAPIO_OPEN_BORROW_FD (0x200u): see
 * section 17, "Database support". */
#define MMAPIO_OPEN_ALLOW_EMPTY 0x100u
#define MMAPIO_OPEN_BORROW_FD 0x200u
/* MMAPIO_OPEN_NOCOW (since 1.1): a file this open creates is asked to have
 * its blocks overwritten in place (Linux: the file attribute FS_NOCOW_FL,
 * `chattr +C`, set while the file is still empty, before its blocks are
 * reserved).
 *  Why: on a copy-on-write file system (btrfs) every overwrite of a block
 *  needs a new block, so the blocks reserved at create (see mmapio_open)
 *  only cover the first write of each page. Once the disk is full, a store
 *  into a page that was already written and flushed fails in the kernel's
 *  write fault: the process dies of SIGBUS (mmapio_write, views, pointers
 *  alike), or mmapio_read/mmapio_write return MMAPIO_EFAULT on a
 *  MMAPIO_OPEN_FAULT_SAFE map. A NOCOW file is overwritten in place, so its
 *  reserved blocks hold: the full disk was ENOSPC at create or resize
 *  and is never a fault afterwards.
 *  Cost: btrfs keeps no checksums of a NOCOW file's data (and does not
 *  compress it), so it cannot detect or, on RAID1, repair corrupted
 *  blocks; a snapshot makes the next overwrite of each block copy once.
 *  That is why it is not the default.
 *  Where: files created by the open (CREATE of a missing file, with or
 *  without TRUNCATE). An existing file keeps its attributes (btrfs takes
 *  the attribute only while a file is empty: `chattr +C` on an empty file,
 *  or on its directory for the files created in it later). File systems
 *  without the attribute (ext4, XFS, tmpfs, ...) overwrite in place
 *  anyway, and there, on other POSIX systems and on Windows (NTFS) the
 *  flag changes nothing. ZFS copies every overwritten block and has no
 *  such attribute: there, as on btrfs without the flag, a full disk can
 *  fault a later store (use MMAPIO_OPEN_FAULT_SAFE and keep space free).
 *  A file system that refuses to set it fails the open with that status,
 *  leaving no file behind. */
#define MMAPIO_OPEN_NOCOW 0x400u
#define MMAPIO_OPEN_ALL_FLAGS_ \
  (0xFFu | MMAPIO_OPEN_ALLOW_EMPTY | MMAPIO_OPEN_BORROW_FD | MMAPIO_OPEN_NOCOW)

/** Options for mmapio_open. Always fill with mmapio_options_init first: the
 *  struct grows only at its end, a uint64_t field at a time, and
 *  `struct_size` tells the library which version the caller was compiled
 *  with. */
typedef struct mmapio_options {
  uint32_t struct_size;              /* sizeof(mmapio_options); set by mmapio_options_init */
  uint32_t flags;                    /* MMAPIO_OPEN_* */
  mmapio_mode mode;                  /* default READ_WRITE */
  mmapio_touch_hint touch;           /* default NEVER */
  mmapio_durability durability;      /* default DATA */
  uint32_t reserved0;                /* must be 0 */
  uint64_t size;                     /* size for create/truncate; 0 = keep the file's size */
  uint64_t max_size;                 /* address space reserved for in-place growth; 0 = none */
  mmapio_flush_policy flush_policy;  /* default MANUAL */
  /* Since 1.1: a window of the file (see "Window maps" below). */
  uint64_t offset;                   /* file offset of byte 0 of the map; default 0 */
  uint64_t length;                   /* bytes mapped from offset; 0 = up to the end of the file */
} mmapio_options;

/* Window maps (since 1.1)
 *
 *  With `offset` and `length` a map covers only the bytes [offset, offset +
 *  length) of the file (length 0: [offset, end of file)). Everything else
 *  then works on the window as if it were the whole file:
 *   - every offset given to the map API (read, write, views, segments,
 *     iterators, atomics, flush_range, advise, prefetch, touch, residency,
 *     evict, probe, lock, bytes, async writes, the reader) is relative to
 *     the window: map offset 0 is file offset `offset`;
 *   - iterators count chunks from the window's byte 0 (mmapio_pages yields
 *     page-sized chunks of the window, which start at page boundaries of
 *     the file only when `offset` is a page multiple);
 *   - mmapio_len() is the window's length, mmapio_unsafe_ptr() the address
 *     of its first byte, and the bounds rule applies at the window's edges:
 *     bytes outside the window are never reachable through the map;
 *   - `offset` may be any value: the library maps from the offset rounded
 *     down to mmapio_allocation_granularity() (64 KiB on Windows, the page
 *     size elsewhere) and hides the difference. Page-based calls (flush,
 *     hints, locking, residency, probe) round to the pages of the *file*,
 *     so with an offset that is not a page multiple the first and last page
 *     of a window may be shared with bytes just outside it (msync and the
 *     page cache work on whole pages; no byte outside the window is ever
 *     written by the library);
 *   - an atomic view needs its *file* offset (offset + off) aligned, since
 *     that is what makes the address aligned: EALIGN names the map offset;
 *   - a window must lie inside the file: `offset` past the end of the file
 *     is EBOUNDS, and so is a window whose end passes the end of the file
 *     (the file is never grown to fit a window; a window of a file being
 *     created or truncated is checked against `size`, the new file length,
 *     before anything is created). A window of length 0 (offset at the end
 *     of the file, length 0) is an empty RO map, and ESIZE "Cannot map
 *     zero-length file" for RW/COW, as for an empty file;
 *   - `size` keeps its meaning with CREATE/TRUNCATE: the length of the file
 *     (not of the window). To create a file and map its tail from offset X,
 *     give size = the whole file length and offset X;
 *   - resize: a window opened with length 0 reaches the end of the file and
 *     stays so: mmapio_resize(m, n) sets the *file* length to offset + n
 *     (grow or shrink, like a whole-file map, which is the case offset 0),
 *     and max_size bounds the window length. A window opened with an
 *     explicit length is a fixed range of the file: mmapio_resize is
 *     ENOTSUP for it (the file may hold other data after it), and max_size
 *     must be 0 (EINVAL);
 *   - mmapio_watch_start reports changes of the whole file, with *file*
 *     offsets;
 *   - COW windows are private like COW maps; RO windows share the page
 *     cache like RO maps.
 *  Block devices (POSIX): a block device can be opened with mmapio_open or
 *  mmapio_open_fd (RO, RW or COW, whole or as a window); its size is the
 *  device's (BLKGETSIZE64 on Linux, lseek(SEEK_END) elsewhere). Its length
 *  cannot change: TRUNCATE and mmapio_resize are ENOTSUP. Windows opens only
 *  regular files.
 *  A caller compiled against a 1.0 header passes the 1.0 struct_size (the
 *  struct without offset and length): it is accepted and means offset 0,
 *  the whole file; the library reads no byte past struct_size. Any
 *  struct_size from the 1.0 size up to sizeof(mmapio_options) that ends
 *  a field is accepted (fields past it keep their defaults): 56, 64 or 72
 *  where uint64_t is 8-byte aligned, 52, 60 or 68 on 32-bit x86 Linux,
 *  whose ABI aligns it to 4 bytes. Others are EVERSION. mmapio_open_fd
 *  maps whole files only. */

/*! mmapio_options_init() : fills `o` with the defaults (READ_WRITE, no flags,
 *  touch NEVER, durability DATA, size 0, max_size 0, policy MANUAL, offset 0,
 *  length 0: the whole file) and sets struct_size. NULL is a no-op.
 *  @since 1.0.0 (offset and length since 1.1) */
MMAPIO_API void mmapio_options_init(mmapio_options *o);

/*! mmapio_open() : open (and optionally create) `path` as described by `o`.
 *  This is the builder behind every other open function.
 *
 *  @param out   receives the new map (reference count 1); NULL on failure.
 *  @param path  UTF-8 file path, used as given.
 *  @param o     options; NULL means the defaults (READ_WRITE, existing file).
 *
 *  Rules:
 *   - CREATE creates a missing file with `o->size` zero bytes and opens an
 *     existing one as it is (size and content kept) unless TRUNCATE is also
 *     given. CREATE|EXCLUSIVE fails with EEXIST on an existing file.
 *     TRUNCATE resizes an existing file to `o->size` with zero content.
 *   - CREATE or TRUNCATE with a mode other than READ_WRITE is EINVAL;
 *     EXCLUSIVE without CREATE is EINVAL.
 *   - `o->size` must be in 1..MMAPIO_MAX_SIZE when the file is truncated or
 *     created (ESIZE otherwise, and nothing is created). With CREATE alone,
 *     an existing file is opened as it is whatever `o->size` says.
 *   - A created file never exists under its name with another length: it
 *     is created without a name (Linux: O_TMPFILE) or under a short hidden
 *     temporary name (".mmapio-" and 12 hex digits) in the same directory,
 *     sized and mapped, and only then published with an atomic no-replace
 *     link (rename on Windows), so concurrent open_or_create calls of the
 *     same path all see the final file and any name the system accepts
 *     (up to NAME_MAX bytes) works. On file systems without hard links the
 *     name is claimed first and the file moved over it (a concurrent opener
 *     may then briefly see it empty).
 *   - Exception, CREATE|TRUNCATE|SPARSE (POSIX): the file is created under
 *     its final name with O_CREAT|O_EXCL and then sized, as the TRUNCATE of
 *     an existing SPARSE file is done in place, so a concurrent opener may
 *     briefly see it empty (an RW open of it then fails with ESIZE, an RO
 *     open maps length 0). This is the cheapest create the system offers
 *     (no unnamed inode to put on and take off the journal's orphan list,
 *     one call fewer). A failure after the create removes the name again,
 *     so a failed call still leaves nothing behind; a crash in between can
 *     leave an empty or sized file under the name. CREATE|SPARSE without
 *     TRUNCATE (e.g. processes racing to open-or-create a shared file) and
 *     every reserving create keep the publication above.
 *   - TRUNCATE of an existing file changes that file in place (same inode,
 *     links, owner and permissions), after every check that can refuse it:
 *     RLIMIT_FSIZE and the file system's maximum file size, the address
 *     space (POSIX maps before truncating), and the disk blocks (unless
 *     SPARSE). Only an I/O error of the truncation itself can come later.
 *     A shrink on a full disk works where the file already holds the
 *     blocks of the new length: a file system that refuses to reserve
 *     even those (XFS, btrfs) gets the file emptied and the smaller length
 *     reserved again from the blocks that just came free.
 *   - With durability MMAPIO_DURABLE_FULL, creating or truncating a file
 *     also makes its name durable: the directory is fsynced once, right
 *     after the name is published or the file truncated (POSIX; on Windows
 *     the directory is not flushed separately). A later FULL flush syncs
 *     the file itself. DATA and NONE do not sync the directory, and opening
 *     an existing file without TRUNCATE never does.
 *   - `o->max_size` > 0 (READ_WRITE only) reserves address space so that
 *     mmapio_resize up to max_size never moves the mapping. It must be >= the
 *     file size and <= MMAPIO_MAX_SIZE.
 *   - RW and COW opens of an empty file fail with ESIZE; RO maps it as an
 *     empty mapping of length 0. With MMAPIO_OPEN_ALLOW_EMPTY (section 17)
 *     every mode maps it with length 0, and CREATE/TRUNCATE accept size 0.
 *   - The flush policy, touch hint and durability apply on every path; the
 *     policy of RO and COW maps is forced to MANUAL.
 *   - New files get 0666 & ~umask (0600 with MMAPIO_OPEN_PRIVATE_PERMS);
 *     descriptors are close-on-exec.
 *   - Unless MMAPIO_OPEN_SPARSE is given, disk blocks are reserved for the
 *     whole size when a file is created, truncated or grown, so a full disk
 *     is ENOSPC here rather than a crash at write time. On a copy-on-write
 *     file system (btrfs) that holds for the first write of each page
 *     only, unless the file was created with MMAPIO_OPEN_NOCOW (see
 *     there).
 *
 *  @return MMAPIO_OK, or
 *    EINVAL   out/path NULL, unknown flag bits, bad mode/touch/durability/
 *             policy kind, an EVERY_MILLIS period above
 *             MMAPIO_FLUSH_MAX_MILLIS, CREATE/TRUNCATE without READ_WRITE,
 *             path is a directory or not a regular file, reserved0 != 0, a
 *             file name or path longer than the system allows ("file name
 *             too long"); max_size with a window of explicit length
 *    EVERSION o->struct_size larger than this library knows, smaller than
 *             the 1.0 struct, or not at the end of a field
 *    ESIZE    size 0 or above MMAPIO_MAX_SIZE for create/truncate; empty file
 *             (or empty window) in RW/COW mode; max_size smaller than the
 *             file (the window) or too large; window length above
 *             MMAPIO_MAX_SIZE; a size larger than the file system allows
 *             for one file or than RLIMIT_FSIZE (the message names which
 *             limit)
 *    EBOUNDS  the window (offset, length) does not lie inside the file
 *             (see "Window maps")
 *    ENOENT   file missing and no CREATE
 *    EEXIST   CREATE|EXCLUSIVE and the file exists
 *    EACCES   permission denied
 *    ENOSPC   disk blocks could not be reserved
 *    ENOMEM   out of memory or address space
 *    ENOTSUP  the mode's feature (COW, HUGEPAGES, FAULT_SAFE) is compiled out
 *    EIO      any other OS failure
 *  On failure no file is left created (a new file gets its name only after
 *  every step succeeded) and an existing file is not modified. Windows
 *  cannot map a TRUNCATE's new length before the file has it, so it asks
 *  for the address space first (ENOMEM, file unchanged, when a 32-bit
 *  process lacks it); only another thread taking that space in the
 *  moment between can make the mapping fail after the file was emptied.
 *  Thread-safe. @since 1.0.0 */
MMAPIO_API int mmapio_open(mmapio_map **out, const char *path, const mmapio_options *o);

/*! mmapio_open_ro() : map an existing file read-only (empty file -> length 0).
 *  Statuses as mmapio_open. @since 1.0.0 */
MMAPIO_API int mmapio_open_ro(mmapio_map **out, const char *path);

/*! mmapio_open_rw() : map an existing non-empty file read-write (ESIZE
 *  "Cannot map zero-length file" when empty). Statuses as mmapio_open. @since 1.0.0 */
MMAPIO_API int mmapio_open_rw(mmapio_map **out, const char *path);

/*! mmapio_open_cow() : map an existing non-empty file copy-on-write: reads
 *  see the file, writes stay private to this process and never reach the
 *  file; flush is a no-op and resize is EMODE. ENOTSUP when the COW feature is
 *  compiled out. Statuses as mmapio_open. @since 1.0.0 */
MMAPIO_API int mmapio_open_cow(mmapio_map **out, const char *path);

/*! mmapio_create_rw() : create `path`, or truncate an existing file, to
 *  `size` zero bytes and map it read-write. ESIZE "Size must be greater than
 *  zero" for 0, "Size %llu exceeds maximum safe limit of %llu bytes" above
 *  MMAPIO_MAX_SIZE. Statuses as mmapio_open. @since 1.0.0 */
MMAPIO_API int mmapio_create_rw(mmapio_map **out, const char *path, uint64_t size);

/*! mmapio_open_or_create() : open an existing file read-write keeping its
 *  length and content, or create a missing one with `default_size` zero
 *  bytes. Race free (O_CREAT|O_EXCL first, then plain open). An existing
 *  empty file is ESIZE; `default_size` is checked (0 / above max -> ESIZE)
 *  only when the file is created. Statuses as mmapio_open. @since 1.0.0 */
MMAPIO_API int mmapio_open_or_create(mmapio_map **out, const char *path, uint64_t default_size);

/*! mmapio_open_fd() : map an already open file. The descriptor/HANDLE is
 *  duplicated; the caller keeps and closes its own. For options (empty
 *  files, a borrowed descriptor, max_size) see mmapio_open_fd_opts.
 *  @param path_hint  used in error messages and returned by mmapio_path(); may be NULL.
 *  @return as mmapio_open, plus EACCES when `mode` needs access the
 *          descriptor does not have (READ_WRITE on a read-only fd), EINVAL
 *          for an invalid descriptor or mode. @since 1.0.0 */
MMAPIO_API int mmapio_open_fd(mmapio_map **out, mmapio_native_file f, mmapio_mode mode,
                              const char *path_hint);

#define MMAPIO_ANON_SHARED 0x01u /* shared with fork() children; default: private */
#define MMAPIO_ANON_HUGE_PAGES 0x08u /* best effort: transparent huge pages (MADV_HUGEPAGE);
                                        MAP_HUGETLB pools are not used. Feature HUGEPAGES. */
#define MMAPIO_ANON_FD 0x100u /* backed by a descriptor another process can map (Linux
                                memfd_create): see mmapio_shm_open. @since 1.1.0 */

/*! mmapio_anon() : an anonymous READ_WRITE mapping of `size` zero bytes with
 *  no file behind it (paging file on Windows). Flush is a no-op, resize
 *  works (the content below min(old,new) is kept), mmapio_path() is NULL.
 *  With MMAPIO_ANON_FD (Linux only, since 1.1.0) the memory is a memfd:
 *  mmapio_native_handle() returns its descriptor, which another process
 *  receives over a Unix socket (sendmsg with SCM_RIGHTS) or by inheritance
 *  and maps with mmapio_open_fd(..., MMAPIO_MODE_READ_WRITE, ...); both then
 *  share the same pages (views, atomics, writes). Such a map behaves like
 *  a file map of that descriptor: it is shared with fork() children too,
 *  flush succeeds (nothing to write back), resize changes the memfd's
 *  length (the other process keeps its own length until it resizes too).
 *  @return OK, EINVAL (out NULL, unknown flags), ESIZE (0 or above max),
 *          ENOMEM, ENOTSUP (MMAPIO_ANON_FD where memfd_create does not
 *          exist: macOS, the BSDs' portable build, Windows -- use a named
 *          mmapio_shm_open object there), EIO. @since 1.0.0 */
MMAPIO_API int mmapio_anon(mmapio_map **out, uint64_t size, uint32_t flags);

/*! mmapio_retain() : add a reference to `m` (each needs its own mmapio_close).
 *  @return OK, EINVAL for NULL. Thread-safe. @since 1.0.0 */
MMAPIO_API int mmapio_retain(mmapio_map *m);

/*! mmapio_close() : release the caller's reference.
 *
 *  What close guarantees:
 *   - A map is never destroyed while any reference, view, write view,
 *     iterator or atomic pin of it exists, in any thread. Segments, byte
 *     buffers, async tasks and watches hold references of their own.
 *   - Not the last reference: EBUSY, nothing changed, while atomic pins of
 *     `m` exist or the calling thread holds views, write views or
 *     iterators of it (other threads' borrows are not checked: they keep
 *     the map alive by themselves). Otherwise the reference is dropped and
 *     the map lives on for the other holders.
 *   - The last reference: EBUSY, nothing changed, while any thread holds a
 *     view, write view, iterator or pin of `m`, or is inside a call that
 *     holds it (mmapio_read, mmapio_write, a write view's release). Else
 *     the map is destroyed before close returns: the background flusher
 *     stops serving it (no flush of it runs after close returns), RW maps
 *     whose policy is not MANUAL get a final flush whose status is
 *     returned, the memory is unmapped and the file closed -- also when
 *     that final flush fails.
 *   - When the last reference is dropped by a segment, byte buffer, task or
 *     watch release (which cannot fail) while borrows are still out, those
 *     borrows stay valid and the destruction waits for them: a library
 *     thread destroys the map right after the last of them is released
 *     (its final flush's status is then not reported). Until then the only
 *     calls allowed on `m` are the releases of those borrows.
 *  @return OK (also for NULL), EBUSY (see above), or the final flush's
 *          status; for the last reference also a sticky write-back error
 *          not acknowledged with mmapio_clear_error, whatever the policy
 *          (the map is closed anyway).
 *  Thread-safe, but `m` must not be used by the caller after a successful
 *  close. @since 1.0.0; the deferred destruction since 1.1 */
MMAPIO_API int mmapio_close(mmapio_map *m);

/* Accessors. They never fail and are safe on any valid map. */

/*! mmapio_len() : current length in bytes (changes with mmapio_resize). @since 1.0.0 */
MMAPIO_API uint64_t mmapio_len(const mmapio_map *m);
/*! mmapio_mode_of() : the map's mode. @since 1.0.0 */
MMAPIO_API mmapio_mode mmapio_mode_of(const mmapio_map *m);
/*! mmapio_path() : the path given at open (path_hint for open_fd), NULL for
 *  anonymous maps. Valid while the map lives. @since 1.0.0 */
MMAPIO_API const char *mmapio_path(const mmapio_map *m);
/*! mmapio_flush_policy_of() : the map's flush policy (MANUAL for RO/COW). @since 1.0.0 */
MMAPIO_API mmapio_flush_policy mmapio_flush_policy_of(const mmapio_map *m);
/*! mmapio_pending_bytes() : bytes written and not yet flushed by the policy
 *  (the write count under EVERY_WRITES); 0 under MANUAL while no write-back
 *  failed. After a write-back failure (see mmapio_flush_error) it never
 *  reports 0 until mmapio_clear_error: at least the failed range's length
 *  (at least 1 under EVERY_WRITES). @since 1.0.0 */
MMAPIO_API uint64_t mmapio_pending_bytes(const mmapio_map *m);
/*! mmapio_native_handle() : the map's own descriptor/HANDLE (do not close
 *  it); MMAPIO_INVALID_FILE for anonymous maps. @since 1.0.0 */
MMAPIO_API mmapio_native_file mmapio_native_handle(const mmapio_map *m);
/*! mmapio_unsafe_ptr() : base address of the mapping, for code that manages
 *  its own synchronisation. Invalidated by a moving resize and by close; NULL
 *  for an empty mapping. @since 1.0.0 */
MMAPIO_API void *mmapio_unsafe_ptr(mmapio_map *m);
/*! mmapio_capacity() : the length up to which mmapio_resize grows this map in
 *  place (same base address, no waiting, views and pins stay valid): the
 *  address space reserved at open with max_size, else mmapio_len(). On
 *  Windows in-place growth needs placeholder mappings (VirtualAlloc2 +
 *  MapViewOfFile3, Windows 10 1803 and later); where they are missing (older
 *  Windows, Wine) the reservation is not made and this returns mmapio_len():
 *  growth then moves the mapping like a resize without max_size.
 *  @since 1.0.0 */
MMAPIO_API uint64_t mmapio_capacity(const mmapio_map *m);
/*! mmapio_huge_pages_active() : 1 if the OS backs (part of) the map with
 *  huge pages *now*, 0 otherwise (always 0 without MMAPIO_OPEN_HUGE_PAGES /
 *  MMAPIO_ANON_HUGE_PAGES). Huge pages are allocated when pages are first
 *  touched, so this is usually 0 right after open. Linux reads
 *  /proc/self/smaps (AnonHugePages, FilePmdMapped, ShmemPmdMapped). File
 *  maps get huge pages only where the kernel supports large page-cache
 *  folios for the file system, on tmpfs mounted with huge=, or with
 *  CONFIG_READ_ONLY_THP_FOR_FS; anonymous maps need THP set to "madvise"
 *  or "always". Huge pages never pre-fault or dirty the file. @since 1.0.0 */
MMAPIO_API int mmapio_huge_pages_active(const mmapio_map *m);

/* ------------------------------------------------------------------------ */
/* 5. Reading, writing and views                                             */
/* ------------------------------------------------------------------------ */

/** Private bookkeeping of a borrow (view, atomic pin). Do not touch. */
struct mmapio_borrow_ {
  uint32_t *slot_;          /* per-thread reader slot, or NULL */
  const uint32_t *wstate_;  /* the map's writer state word */
  mmapio_map *map_;
  uint32_t kind_;           /* internal: view / mut view / pin and fence mode */
  uint32_t version_;        /* MMAPIO_BORROW_VERSION_ of the library that filled it */
};

/** A read view: `len` bytes at `data`, zero-copy. Valid until released. */
typedef struct mmapio_view {
  const uint8_t *data;
  size_t len;
  struct mmapio_borrow_ priv_;
} mmapio_view;

/** A write view: `len` writable bytes at `data`. Exclusive until released. */
typedef struct mmapio_view_mut {
  uint8_t *data;
  size_t len;
  struct mmapio_borrow_ priv_;
} mmapio_view_mut;

/*! mmapio_read() : copy `len` bytes at `off` into `dst`.
 *  Works in every mode. On RW/COW maps it shares with other readers and read
 *  views and waits for write views / writers of other threads.
 *  With MMAPIO_OPEN_FAULT_SAFE, pages that cannot be read give EFAULT
 *  instead of a crash (dst content is then unspecified).
 *  @return OK, EINVAL (m NULL, dst NULL with len > 0), EBOUNDS, EDEADLK
 *          (this thread holds a write view of m), EFAULT. @since 1.0.0 */
MMAPIO_API int mmapio_read(mmapio_map *m, uint64_t off, void *dst, size_t len);

/*! mmapio_write() : copy `len` bytes from `src` to `off`, then apply the
 *  flush policy. Exclusive on the map while copying (waits for readers and
 *  views of other threads). On COW maps the bytes stay private. A failing
 *  policy flush is returned *after* the data was written. On
 *  MMAPIO_OPEN_EXTERNAL_SYNC maps it neither waits nor returns EDEADLK for
 *  views (the caller synchronises; see the flag).
 *  @return OK, EINVAL (m NULL, src NULL with len > 0), EMODE (RO map),
 *          EBOUNDS, EDEADLK (this thread holds a view of m), EFAULT
 *          (FAULT_SAFE maps), or a policy flush failure (EIO, ENOSPC), also
 *          a sticky one from an earlier write-back (mmapio_flush_error).
 *  Zero bytes: OK before any other check. @since 1.0.0 */
MMAPIO_API int mmapio_write(mmapio_map *m, uint64_t off, const void *src, size_t len);

/*! mmapio_view_get() : a zero-copy read view of [off, off+len).
 *  Works in every mode; on RW/COW maps it shares with other readers and
 *  excludes writers until released. Views are counted: close and a moving
 *  resize refuse / wait while they exist. Cost on an uncontended map: a
 *  bounds check plus a per-thread counter store (no atomic read-modify-write).
 *  @return OK, EINVAL (out or m NULL), EBOUNDS, EDEADLK (this thread holds a
 *          write view of m), ENOMEM (first use by a thread could not
 *          allocate its slot), EBOUNDS also when len exceeds SIZE_MAX.
 *  @since 1.0.0 */
MMAPIO_API int mmapio_view_get(mmapio_view *out, mmapio_map *m, uint64_t off, uint64_t len);

/** Flags of mmapio_view_get_flags (since 1.1). */
#define MMAPIO_VIEW_PORTABLE 0x1u /* release from any thread; may outlive its thread */

/*! mmapio_view_get_flags() : mmapio_view_get with flags.
 *  MMAPIO_VIEW_PORTABLE: the view is not tied to the calling thread. It may
 *  be released by any thread (also after the thread that got it exited),
 *  e.g. when a database connection moves between threads. It is counted in
 *  a per-map atomic counter instead of the calling thread's slot, so it costs
 *  two atomic read-modify-writes on a shared cache line (get and release)
 *  instead of plain stores; writers, moving resizes and close see it like any
 *  view. A thread that holds portable views may take more while a writer
 *  waits. Because a portable view has no owner thread, a write or moving
 *  resize by the thread holding it cannot be told from a write by another
 *  thread: it waits until the view is released (release portable views
 *  before writing on the same thread, or use MMAPIO_OPEN_EXTERNAL_SYNC).
 *  flags 0 is exactly mmapio_view_get. Release with mmapio_view_release.
 *  @return as mmapio_view_get, plus EINVAL (unknown flag bits) and EDEADLK
 *          (a writer is active and this thread holds a per-thread view or
 *          write view of m, so waiting for the writer would hang).
 *  Thread-safe. @since 1.1 */
MMAPIO_API int mmapio_view_get_flags(mmapio_view *out, mmapio_map *m, uint64_t off, uint64_t len,
                                     uint32_t flags);

/*! mmapio_view_get_mut() : a zero-copy write view of [off, off+len). Needs a
 *  RW or COW map (EMODE on RO). Exclusive: waits for the readers, views and
 *  writers of other threads (not on MMAPIO_OPEN_EXTERNAL_SYNC maps, where
 *  the caller synchronises). Release with mmapio_view_mut_release.
 *  @return OK, EINVAL, EMODE, EBOUNDS, EDEADLK (this thread holds a view of m).
 *  @since 1.0.0 */
MMAPIO_API int mmapio_view_get_mut(mmapio_view_mut *out, mmapio_map *m, uint64_t off, uint64_t len);

/*! mmapio_view_release() : release a read view. NULL or an already released
 *  view is a no-op. Must be called on the thread that got the view, unless
 *  it is portable (MMAPIO_VIEW_PORTABLE). A thread that exits while holding
 *  views that are not portable has them released at its exit, with a
 *  message on stderr naming the map (the memory must not be used after
 *  that). A struct that was not filled by this library's view getters, or
 *  by a library of another borrow protocol version, is ignored.
 *  The header turns a call into an inline fast path; (mmapio_view_release)(v)
 *  or its address reach the exported function. @since 1.0.0 */
MMAPIO_API void mmapio_view_release(mmapio_view *v);

/*! mmapio_view_mut_release() : release a write view, count `len` bytes as
 *  written and apply the flush policy. Must be called on the thread that got
 *  the view. @return OK (also for NULL / already released) or the policy
 *  flush's failure; the view is released either way. @since 1.0.0 */
MMAPIO_API int mmapio_view_mut_release(mmapio_view_mut *v);

/*! mmapio_probe() : check that every page of [off, off+len) is backed by the
 *  file (not truncated away, readable), without crashing.
 *  @return OK, EINVAL, EBOUNDS, EFAULT (a page is not backed); zero length:
 *          OK. Needs no flag. @since 1.0.0 */
MMAPIO_API int mmapio_probe(mmapio_map *m, uint64_t off, uint64_t len);

/* ------------------------------------------------------------------------ */
/* 6. Flushing and durability                                                */
/* ------------------------------------------------------------------------ */

/*! mmapio_flush() : make every change to the mapping durable at the map's
 *  durability level (DATA: msync(MS_SYNC) / FlushViewOfFile+FlushFileBuffers;
 *  FULL: plus fsync / F_FULLFSYNC; NONE: writeback started). It always
 *  reaches the OS, also for bytes written through views, pointers and
 *  atomics, and resets the policy accumulator to 0. It keeps the mapping
 *  from moving while it runs but does not block readers or writers.
 *  RO, COW and anonymous maps: OK, nothing done.
 *  After a failed write-back it returns that failure until
 *  mmapio_clear_error (see "Sticky write-back errors" below).
 *  @return OK, EINVAL (NULL), EIO / ENOSPC / EFAULT from the OS, or the
 *          sticky status of an earlier failure. @since 1.0.0 */
MMAPIO_API int mmapio_flush(mmapio_map *m);

/*! mmapio_flush_range() : flush [off, off+len) expanded to whole pages
 *  (start rounded down, end rounded up, clamped to the length). Under
 *  byte-counting policies the accumulator is debited by the expanded length
 *  (saturating at 0); under EVERY_WRITES it is unchanged.
 *  @return OK (also len 0, before any check), EINVAL, EBOUNDS (also on RO/COW
 *          maps, where nothing else is done), OS failures, or the sticky
 *          status of an earlier failed write-back (see below). @since 1.0.0 */
MMAPIO_API int mmapio_flush_range(mmapio_map *m, uint64_t off, uint64_t len);

/* Sticky write-back errors (since 1.1).
 *
 * When the OS fails to write a map's dirty pages to the file (I/O error,
 * disk full, a network file system gone), Linux marks the pages clean and
 * reports the failure once: a retried msync succeeds although the bytes
 * never reached the file. mmapio therefore remembers the first failed
 * write-back of a map -- from mmapio_flush, mmapio_flush_range, any flush
 * policy (ALWAYS, EVERY_BYTES, EVERY_WRITES), the EVERY_MILLIS background
 * flusher, an async flush or write task, or the final flush of close -- and
 * from then on every mmapio_flush, mmapio_flush_range, policy flush and the
 * close of the last reference still reaches the OS but returns that failure:
 * the original status (EIO, ENOSPC, ...), mmapio_last_os_error() the
 * original OS code, and a detail message naming the failed byte range and
 * the original OS message, e.g.
 *   "mmapio_flush(/data/x.bin): an earlier write-back failed for bytes
 *    [0, 65536) and is not acknowledged (mmapio_clear_error):
 *    msync(/data/x.bin): Input/output error"
 * The first failing call itself returns the OS failure as it is. Later
 * failures widen the recorded range. The error stays until the application
 * acknowledges it with mmapio_clear_error.
 *
 * Recovery: when a write-back fails, mmapio immediately makes the pages of
 * the failed range that are still in memory dirty again (it writes one byte
 * of each onto itself under the map's exclusive hold, taken without
 * waiting), so a later flush -- once the device works again -- really
 * writes them; those flushes still return the sticky failure. Pages the OS
 * had already evicted cannot be recovered, and recovery is skipped while
 * any thread holds a view of the map. So after a failure: fix the cause,
 * rewrite the data of the failed range if you still have it, call
 * mmapio_clear_error, then mmapio_flush; only a flush that returns OK after
 * the clear proves the bytes reached the file.
 * Cost when nothing failed: one relaxed load per flush; nothing on writes. */

/*! mmapio_flush_error() : the map's sticky write-back error.
 *  @param off, len  optional (may be NULL); on a sticky error they receive
 *                   the failed range (page aligned, the union of every
 *                   failure since the last mmapio_clear_error); untouched
 *                   when the function returns MMAPIO_OK.
 *  @return MMAPIO_OK when no write-back failed since open or the last
 *          mmapio_clear_error (also for m NULL), else the failure's status
 *          (EIO, ENOSPC, EFAULT, ...). Records no detail message.
 *  Thread-safe. @since 1.1.0 */
MMAPIO_API int mmapio_flush_error(const mmapio_map *m, uint64_t *off, uint64_t *len);

/*! mmapio_clear_error() : acknowledge the map's sticky write-back error.
 *  Later flushes report only new failures; mmapio_pending_bytes no longer
 *  counts the failed range. Nothing is written: flush again to write pages
 *  the application rewrote.
 *  @return OK (also when there was no error), EINVAL (m NULL).
 *  Thread-safe. @since 1.1.0 */
MMAPIO_API int mmapio_clear_error(mmapio_map *m);

/* ------------------------------------------------------------------------ */
/* 7. Resize                                                                 */
/* ------------------------------------------------------------------------ */

/*! mmapio_resize() : change the length of a READ_WRITE map and its file
 *  (anonymous maps: the memory only).
 *  - In-place growth (new_size <= mmapio_capacity(m), i.e. within the
 *    max_size given at open where the OS could reserve it): the file is
 *    extended first, then the new length is published; the base address is
 *    unchanged and views and pins stay valid (no waiting).
 *  - Any other resize (shrink, growth without/beyond max_size) takes the map
 *    exclusively: EBUSY while atomic pins exist, waits for views of other
 *    threads, EDEADLK for views of the calling thread. A shrink truncates the
 *    file only under the exclusive lock. The mapping may move
 *    (mmapio_unsafe_ptr changes).
 *  Bytes below min(old, new) are kept; grown bytes read zero, also after a
 *  shrink followed by a grow. Disk blocks are reserved unless SPARSE.
 *  Windows (since 1.1, see "Window maps"): `new_size` is the window length;
 *  a window opened with length 0 sets the file length to offset + new_size;
 *  a window opened with an explicit length cannot be resized (ENOTSUP).
 *  With MMAPIO_OPEN_ALLOW_EMPTY, new_size 0 is allowed (section 17).
 *  @return OK, EINVAL (NULL), EMODE (not READ_WRITE; checked before the
 *          size), ENOTSUP (a window of explicit length, checked after the
 *          mode; a block device, whose length is fixed), ESIZE ("New size
 *          must be greater than zero", "New size %llu exceeds maximum safe
 *          limit of %llu bytes"; also when the file system or RLIMIT_FSIZE
 *          cannot hold new_size), EBUSY, EDEADLK, ENOSPC, ENOMEM, EIO. On
 *          failure the map and the file keep their old length and content
 *          and the map stays usable. One exception, on Windows (which must
 *          unmap a file before it can change its length): when mapping the
 *          old length again fails too, the detail message ends in "(the map
 *          is empty now)" and so is the map: mmapio_len is 0, reads, writes
 *          and views fail with EBOUNDS, close works; the file keeps its old
 *          length and content (a shrink writes the bytes it cut back; if
 *          that write fails too, the status and mmapio_last_os_error stay
 *          those of the first failure and the message says from which file
 *          offset the file reads zero). Windows also keeps no copy of the
 *          bytes a shrink of more than 64 MiB cuts: if that resize fails
 *          after the truncation, the file has its old length back but reads
 *          zero there, and the message says from which offset. A resize of
 *          such an empty map maps the file afresh (its bytes below the new
 *          size show); if it fails, the file keeps its length and bytes and
 *          the message ends in "(the map is still empty)".
 *  @since 1.0.0 */
MMAPIO_API int mmapio_resize(mmapio_map *m, uint64_t new_size);

/* ------------------------------------------------------------------------ */
/* 8. Iteration (feature ITERATOR)                                           */
/* ------------------------------------------------------------------------ */

/** Iterator state; lives on the caller's stack, no allocation. */
typedef struct mmapio_iter {
  mmapio_map *map_;
  uint64_t pos_;
  uint64_t end_;
  size_t chunk_;
  uint32_t flags_;
  uint32_t pad_;
  struct mmapio_borrow_ priv_;
} mmapio_iter;

typedef struct mmapio_chunk { uint64_t offset; const uint8_t *data; size_t len; } mmapio_chunk;
typedef struct mmapio_chunk_mut { uint64_t offset; uint8_t *data; size_t len; } mmapio_chunk_mut;

/*! mmapio_chunks() : start iterating the whole map in `chunk`-byte pieces.
 *  The last piece may be shorter (100 bytes at chunk 7: 14 x 7 + 2); chunk 0
 *  or an empty map yields nothing. The iterator takes ONE shared hold for
 *  its whole life (like a read view of the whole map: writers of other
 *  threads wait, close returns EBUSY) and allocates nothing, per item or
 *  otherwise. The length is fixed at start. Call mmapio_iter_end exactly
 *  once after a successful start, on the same thread.
 *  @param it     caller-owned iterator state (e.g. on the stack).
 *  @return OK; EINVAL (it or m NULL); EDEADLK (this thread holds a write
 *          view of m); ENOTSUP (ITERATOR feature compiled out). On failure
 *          `it` is left inactive (iter_next returns EINVAL, iter_end is a
 *          no-op). Thread-safe with respect to other users of `m`.
 *  @since 1.0.0 */
MMAPIO_API int mmapio_chunks(mmapio_iter *it, mmapio_map *m, size_t chunk);
/*! mmapio_pages() : mmapio_chunks with chunk = mmapio_page_size(). @since 1.0.0 */
MMAPIO_API int mmapio_pages(mmapio_iter *it, mmapio_map *m);
/*! mmapio_chunks_mut() : like mmapio_chunks with writable chunks. Needs a RW
 *  or COW map. Holds the map exclusively for its life (waits for the views
 *  and readers of other threads). When it ends, the bytes it yielded are
 *  counted by the flush policy like one mmapio_write (a failing policy
 *  flush leaves its detail in mmapio_last_error()).
 *  @return OK, EINVAL, EMODE (read-only map), EDEADLK (this thread holds a
 *          view of m), ENOTSUP. @since 1.0.0 */
MMAPIO_API int mmapio_chunks_mut(mmapio_iter *it, mmapio_map *m, size_t chunk);
/*! mmapio_iter_next() : @return 1 and fills `out` with the next chunk
 *  (offset, pointer into the mapping, length), 0 at the end, EINVAL for
 *  NULL, an ended iterator or a mut iterator. The pointer is valid until
 *  mmapio_iter_end. @since 1.0.0 */
MMAPIO_API int mmapio_iter_next(mmapio_chunk *out, mmapio_iter *it);
/*! mmapio_iter_next_mut() : as mmapio_iter_next for mmapio_chunks_mut
 *  iterators (EINVAL for a read iterator). @since 1.0.0 */
MMAPIO_API int mmapio_iter_next_mut(mmapio_chunk_mut *out, mmapio_iter *it);
/*! mmapio_iter_remaining() : exact number of chunks left (0 for NULL or an
 *  ended iterator). Never fails. @since 1.0.0 */
MMAPIO_API size_t mmapio_iter_remaining(const mmapio_iter *it);
/*! mmapio_iter_end() : release the iterator's hold (and, for mut iterators,
 *  apply the flush policy). NULL, ended or never-started iterators: no-op.
 *  Must run on the thread that started the iterator. @since 1.0.0 */
MMAPIO_API void mmapio_iter_end(mmapio_iter *it);

/* ------------------------------------------------------------------------ */
/* 9. Segments                                                               */
/* ------------------------------------------------------------------------ */

/** A named window [offset, offset+len) of a map; holds a map reference. */
typedef struct mmapio_segment { mmapio_map *map; uint64_t offset; uint64_t len; } mmapio_segment;

/*! mmapio_segment_init() : bounds-checked; retains `m`.
 *  @return OK, EINVAL (NULL), EBOUNDS. @since 1.0.0 */
MMAPIO_API int mmapio_segment_init(mmapio_segment *s, mmapio_map *m, uint64_t off, uint64_t len);
/*! mmapio_segment_release() : drop the segment's map reference. When it was
 *  the map's last one, the map is destroyed -- at once, or, while views,
 *  iterators or pins of it are still out, right after the last of them is
 *  released (see mmapio_close). NULL / released: no-op. @since 1.0.0 */
MMAPIO_API void mmapio_segment_release(mmapio_segment *s);
/*! mmapio_segment_valid() : 1 while the segment lies inside the map's current
 *  length, 0 otherwise (after a shrink past it, or when released). @since 1.0.0 */
MMAPIO_API int mmapio_segment_valid(const mmapio_segment *s);
/*! mmapio_segment_view() : read view of the whole segment; bounds re-checked
 *  against the current length (EBOUNDS after a shrink). @since 1.0.0 */
MMAPIO_API int mmapio_segment_view(mmapio_view *out, const mmapio_segment *s);
/*! mmapio_segment_view_mut() : write view of the whole segment. @since 1.0.0 */
MMAPIO_API int mmapio_segment_view_mut(mmapio_view_mut *out, const mmapio_segment *s);
/*! mmapio_segment_write() : write `len` bytes at `rel_off` inside the
 *  segment (through mmapio_write: exclusive, flush policy applied).
 *  Check order as everywhere: arguments, zero length, mode, bounds.
 *  @return OK (also len 0, before any other check), EINVAL (NULL or
 *          released segment, src NULL), EMODE (read-only map, also for a
 *          range past the segment), EBOUNDS when [rel_off, rel_off+len)
 *          leaves the segment (it never writes past it) or when the map has
 *          shrunk past the segment (even if the bytes asked for are still
 *          inside the map), plus every status of mmapio_write.
 *          @since 1.0.0 */
MMAPIO_API int mmapio_segment_write(const mmapio_segment *s, uint64_t rel_off, const void *src, size_t len);

/* ------------------------------------------------------------------------ */
/* 10. Atomic views (feature ATOMIC)                                         */
/* ------------------------------------------------------------------------ */

/** An atomic view: `count` naturally aligned u32 or u64 cells at `ptr`.
 *  It is a pin: it blocks close and moving resizes (EBUSY), never writers. */
typedef struct mmapio_atomic {
  void *ptr;
  size_t count;
  int writable;  /* 0 on READ_ONLY maps: loads only */
  struct mmapio_borrow_ priv_;
} mmapio_atomic;

/*! mmapio_atomic_u32() / _u64() / _u32_array() / _u64_array() :
 *  an atomic view of 1 (or `count`) naturally aligned u32/u64 cells at `off`.
 *  Works in every mode; `writable` is 0 on READ_ONLY maps (use loads only:
 *  a store would fault). The view is a *pin*: it takes no lock while held,
 *  never blocks writers, and makes mmapio_close and moving resizes return
 *  EBUSY until released; in-place growth (max_size) is allowed and keeps
 *  `ptr` valid. Pins may be released from any thread.
 *  @return OK; EINVAL (out or m NULL); EALIGN "atomic alignment error:
 *          required=%u, offset=%llu" (checked before bounds); EBOUNDS (len =
 *          size * count; an array of 0 cells is still bounds-checked);
 *          EDEADLK; ENOTSUP (ATOMIC compiled out). Thread-safe. @since 1.0.0 */
MMAPIO_API int mmapio_atomic_u32(mmapio_atomic *out, mmapio_map *m, uint64_t off);
MMAPIO_API int mmapio_atomic_u64(mmapio_atomic *out, mmapio_map *m, uint64_t off);
MMAPIO_API int mmapio_atomic_u32_array(mmapio_atomic *out, mmapio_map *m, uint64_t off, size_t count);
MMAPIO_API int mmapio_atomic_u64_array(mmapio_atomic *out, mmapio_map *m, uint64_t off, size_t count);
/*! mmapio_atomic_release() : release the pin. NULL / released: no-op. @since 1.0.0 */
MMAPIO_API void mmapio_atomic_release(mmapio_atomic *a);

typedef enum mmapio_order {
  MMAPIO_ORDER_RELAXED = 0,
  MMAPIO_ORDER_ACQUIRE = 1,
  MMAPIO_ORDER_RELEASE = 2,
  MMAPIO_ORDER_ACQ_REL = 3,
  MMAPIO_ORDER_SEQ_CST = 4
} mmapio_order;

/* Lock-free atomic operations on cells of an atomic view, inline, usable
 * from C and C++, across threads and across processes mapping the same file.
 * fetch_* return the previous value; compare_exchange returns 1 when it
 * swapped, else 0 with *expected set to the current value.
 * On CPUs without 64-bit atomic instructions (armv6 and some other 32-bit
 * targets) the u64 operations are calls into GCC's libatomic, which the
 * CMake target and mmapio.pc then link. They are atomic between processes
 * only where that libatomic is lock-free for 8 bytes
 * (__atomic_is_lock_free(8, p); it is on ARM Linux); one that falls back to
 * locks is atomic between the threads of one process only. */
#if defined(__GNUC__) || defined(__clang__)
#  define MMAPIO_ORD_(o) \
     ((o) == MMAPIO_ORDER_RELAXED ? __ATOMIC_RELAXED : \
      (o) == MMAPIO_ORDER_ACQUIRE ? __ATOMIC_ACQUIRE : \
      (o) == MMAPIO_ORDER_RELEASE ? __ATOMIC_RELEASE : \
      (o) == MMAPIO_ORDER_ACQ_REL ? __ATOMIC_ACQ_REL : __ATOMIC_SEQ_CST)
/* Loads cannot be RELEASE/ACQ_REL and stores cannot be ACQUIRE/ACQ_REL. */
#  define MMAPIO_LOAD_ORD_(o) \
     ((o) == MMAPIO_ORDER_RELAXED ? __ATOMIC_RELAXED : \
      (o) == MMAPIO_ORDER_SEQ_CST ? __ATOMIC_SEQ_CST : __ATOMIC_ACQUIRE)
#  define MMAPIO_STORE_ORD_(o) \
     ((o) == MMAPIO_ORDER_RELAXED ? __ATOMIC_RELAXED : \
      (o) == MMAPIO_ORDER_SEQ_CST ? __ATOMIC_SEQ_CST : __ATOMIC_RELEASE)
#  define MMAPIO_FAIL_ORD_(o) \
     ((o) == MMAPIO_ORDER_RELAXED ? __ATOMIC_RELAXED : \
      (o) == MMAPIO_ORDER_SEQ_CST ? __ATOMIC_SEQ_CST : __ATOMIC_ACQUIRE)
#  define MMAPIO_DEF_ATOMICS_(T, S)                                                          \
  MMAPIO_INLINE_ T mmapio_load_##S(const T *p, mmapio_order o)                             \
  { return __atomic_load_n(p, MMAPIO_LOAD_ORD_(o)); }                                       \
  MMAPIO_INLINE_ void mmapio_store_##S(T *p, T v, mmapio_order o)                           \
  { __atomic_store_n(p, v, MMAPIO_STORE_ORD_(o)); }                                          \
  MMAPIO_INLINE_ T mmapio_fetch_add_##S(T *p, T v, mmapio_order o)                          \
  { return __atomic_fetch_add(p, v, MMAPIO_ORD_(o)); }                                      \
  MMAPIO_INLINE_ T mmapio_fetch_sub_##S(T *p, T v, mmapio_order o)                          \
  { return __atomic_fetch_sub(p, v, MMAPIO_ORD_(o)); }                                      \
  MMAPIO_INLINE_ T mmapio_fetch_and_##S(T *p, T v, mmapio_order o)                          \
  { return __atomic_fetch_and(p, v, MMAPIO_ORD_(o)); }                                      \
  MMAPIO_INLINE_ T mmapio_fetch_or_##S(T *p, T v, mmapio_order o)                           \
  { return __atomic_fetch_or(p, v, MMAPIO_ORD_(o)); }                                       \
  MMAPIO_INLINE_ T mmapio_fetch_xor_##S(T *p, T v, mmapio_order o)                          \
  { return __atomic_fetch_xor(p, v, MMAPIO_ORD_(o)); }                                      \
  MMAPIO_INLINE_ T mmapio_exchange_##S(T *p, T v, mmapio_order o)                           \
  { return __atomic_exchange_n(p, v, MMAPIO_ORD_(o)); }                                     \
  MMAPIO_INLINE_ int mmapio_compare_exchange_##S(T *p, T *expected, T desired,              \
                                                 mmapio_order s, mmapio_order f)           \
  { return __atomic_compare_exchange_n(p, expected, desired, 0, MMAPIO_ORD_(s),            \
                                       MMAPIO_FAIL_ORD_(f)) ? 1 : 0; }
MMAPIO_DEF_ATOMICS_(uint32_t, u32)
MMAPIO_DEF_ATOMICS_(uint64_t, u64)
#  define MMAPIO_COMPILER_FENCE_() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#  define MMAPIO_FULL_FENCE_() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#  define MMAPIO_LOAD_RELAXED_U32_(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#  define MMAPIO_STORE_RELEASE_U32_(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_ARM64))
#  include <intrin.h>
/* MSVC on x64 and ARM64. The Interlocked read-modify-writes are full
 * barriers, at least as strong as any requested order. Loads and stores:
 * on x64 aligned accesses are atomic and the hardware orders them as
 * acquire/release, so only the compiler must be stopped (SEQ_CST stores use
 * an exchange); on ARM64 they use load-acquire / store-release (__ldar /
 * __stlr), which are sequentially consistent together. Loads never write,
 * so they work on read-only mappings. 32-bit x86 is not supported (64-bit
 * cells could not be loaded atomically without writing). */
#  if defined(_M_ARM64)
#    define MMAPIO_MSVC_LD32_(p) ((uint32_t)__ldar32((unsigned __int32 volatile *)(p)))
#    define MMAPIO_MSVC_LD64_(p) ((uint64_t)__ldar64((unsigned __int64 volatile *)(p)))
#    define MMAPIO_MSVC_ST32_(p, v) __stlr32((unsigned __int32 volatile *)(p), (v))
#    define MMAPIO_MSVC_ST64_(p, v) __stlr64((unsigned __int64 volatile *)(p), (v))
#    define MMAPIO_FULL_FENCE_() __dmb(_ARM64_BARRIER_ISH)
#  else
#    define MMAPIO_MSVC_LD32_(p) (*(const volatile uint32_t *)(p))
#    define MMAPIO_MSVC_LD64_(p) (*(const volatile uint64_t *)(p))
#    define MMAPIO_MSVC_ST32_(p, v) (*(volatile uint32_t *)(p) = (v))
#    define MMAPIO_MSVC_ST64_(p, v) (*(volatile uint64_t *)(p) = (v))
#    define MMAPIO_FULL_FENCE_() __faststorefence()
#  endif
/* One definition for both widths, as in the GCC branch: T the cell type, S
 * the name suffix, IT the Interlocked operand type, X the Interlocked name
 * suffix (empty or 64), LD/ST the plain load and store above. */
#  define MMAPIO_DEF_ATOMICS_MSVC_(T, S, IT, X, LD, ST)                                     \
  MMAPIO_INLINE_ T mmapio_load_##S(const T *p, mmapio_order o)                             \
  { T v; (void)o; _ReadWriteBarrier(); v = LD(p); _ReadWriteBarrier(); return v; }          \
  MMAPIO_INLINE_ void mmapio_store_##S(T *p, T v, mmapio_order o)                           \
  { _ReadWriteBarrier();                                                                    \
    if (o == MMAPIO_ORDER_SEQ_CST) _InterlockedExchange##X((volatile IT *)p, (IT)v);         \
    else ST(p, v);                                                                          \
    _ReadWriteBarrier(); }                                                                  \
  MMAPIO_INLINE_ T mmapio_fetch_add_##S(T *p, T v, mmapio_order o)                          \
  { (void)o; return (T)_InterlockedExchangeAdd##X((volatile IT *)p, (IT)v); }               \
  MMAPIO_INLINE_ T mmapio_fetch_sub_##S(T *p, T v, mmapio_order o)                          \
  { (void)o; return (T)_InterlockedExchangeAdd##X((volatile IT *)p, (IT)(0u - v)); }        \
  MMAPIO_INLINE_ T mmapio_fetch_and_##S(T *p, T v, mmapio_order o)                          \
  { (void)o; return (T)_InterlockedAnd##X((volatile IT *)p, (IT)v); }                       \
  MMAPIO_INLINE_ T mmapio_fetch_or_##S(T *p, T v, mmapio_order o)                           \
  { (void)o; return (T)_InterlockedOr##X((volatile IT *)p, (IT)v); }                        \
  MMAPIO_INLINE_ T mmapio_fetch_xor_##S(T *p, T v, mmapio_order o)                          \
  { (void)o; return (T)_InterlockedXor##X((volatile IT *)p, (IT)v); }                       \
  MMAPIO_INLINE_ T mmapio_exchange_##S(T *p, T v, mmapio_order o)                           \
  { (void)o; return (T)_InterlockedExchange##X((volatile IT *)p, (IT)v); }                  \
  MMAPIO_INLINE_ int mmapio_compare_exchange_##S(T *p, T *e, T d, mmapio_order s,           \
                                                 mmapio_order f)                            \
  { IT old = _InterlockedCompareExchange##X((volatile IT *)p, (IT)d, (IT)*e);               \
    (void)s; (void)f;                                                                       \
    if ((T)old == *e) return 1;                                                             \
    *e = (T)old;                                                                            \
    return 0; }
MMAPIO_DEF_ATOMICS_MSVC_(uint32_t, u32, long, , MMAPIO_MSVC_LD32_, MMAPIO_MSVC_ST32_)
MMAPIO_DEF_ATOMICS_MSVC_(uint64_t, u64, __int64, 64, MMAPIO_MSVC_LD64_, MMAPIO_MSVC_ST64_)
#  define MMAPIO_COMPILER_FENCE_() _ReadWriteBarrier()
#  define MMAPIO_LOAD_RELAXED_U32_(p) MMAPIO_MSVC_LD32_(p)
#  define MMAPIO_STORE_RELEASE_U32_(p, v) (_ReadWriteBarrier(), MMAPIO_MSVC_ST32_((p), (v)))
#else
#  error "mmapio.h needs GCC/Clang __atomic builtins, or MSVC targeting x64 or ARM64"
#endif

/* ------------------------------------------------------------------------ */
/* 11. Hints: advise, prefetch, touch, residency, eviction, locking          */
/* ------------------------------------------------------------------------ */

typedef enum mmapio_advice {
  MMAPIO_ADVICE_NORMAL = 0,
  MMAPIO_ADVICE_RANDOM = 1,
  MMAPIO_ADVICE_SEQUENTIAL = 2,
  MMAPIO_ADVICE_WILLNEED = 3,
  MMAPIO_ADVICE_DONTNEED = 4
} mmapio_advice;

/* Every hint below: check order NULL/enum -> zero length (OK, nothing done)
 * -> bounds (EBOUNDS) -> the OS call over the page-expanded range (start
 * rounded down, end rounded up, clamped to the length). The call runs while
 * the mapping is kept from moving (a shared hold on the map's `stable`
 * lock), without blocking readers or writers. None of them ever loses data:
 * on private maps (COW, private anonymous) DONTNEED/evict only use advice
 * that keeps the content (MADV_PAGEOUT / MADV_COLD), never MADV_DONTNEED.
 * All are thread-safe. */

/*! mmapio_advise() : give the OS an access-pattern hint for a range (any
 *  offset: aligned internally). POSIX: madvise with the matching advice
 *  (posix_madvise in portable builds). Windows: WILLNEED =
 *  PrefetchVirtualMemory, DONTNEED = trim the range from the working set
 *  (VirtualUnlock, which also unlocks pages you had locked), NORMAL/RANDOM/
 *  SEQUENTIAL do nothing. Feature ADVISE.
 *  @return OK (also len 0), EINVAL (NULL, unknown advice), EBOUNDS, ENOTSUP
 *          (feature compiled out), EIO (OS refusal). @since 1.0.0 */
MMAPIO_API int mmapio_advise(mmapio_map *m, uint64_t off, uint64_t len, mmapio_advice a);
/*! mmapio_prefetch() : ask the OS to read the range ahead without waiting
 *  (posix_fadvise WILLNEED on the file; madvise WILLNEED for anonymous maps;
 *  PrefetchVirtualMemory on Windows). Always available.
 *  @return OK (also len 0), EINVAL, EBOUNDS, EIO. @since 1.0.0 */
MMAPIO_API int mmapio_prefetch(mmapio_map *m, uint64_t off, uint64_t len);
/*! mmapio_touch() / mmapio_touch_range() : pre-fault every page of the map /
 *  range by reading one byte per page, so later accesses do not fault. Writes
 *  nothing (content and file mtime unchanged). On Linux 6.7+ a range of 4 MiB
 *  or more first asks the kernel which pages this process has mapped already
 *  (PAGEMAP_SCAN on /proc/self/pagemap) and reads only the others: re-touching
 *  a 1 GiB map that is still faulted in costs about a fifth of reading every
 *  page; elsewhere, and when /proc is missing, every page is read. With
 *  MMAPIO_OPEN_FAULT_SAFE a page that cannot be read gives EFAULT instead of a
 *  crash (that path reads every page, 1 MiB per shared hold).
 *  @return OK (also len 0 / empty map), EINVAL, EBOUNDS, EFAULT. @since 1.0.0 */
MMAPIO_API int mmapio_touch(mmapio_map *m);
MMAPIO_API int mmapio_touch_range(mmapio_map *m, uint64_t off, uint64_t len);
/*! mmapio_residency() : count the pages intersecting the range that are in
 *  memory (mincore; QueryWorkingSetEx on Windows, which counts this
 *  process's working set only). Both outputs are set on success; len 0 gives
 *  0 and 0. @return OK, EINVAL (any pointer NULL), EBOUNDS, EIO. @since 1.0.0 */
MMAPIO_API int mmapio_residency(uint64_t *resident_pages, uint64_t *total_pages, mmapio_map *m,
                                uint64_t off, uint64_t len);
/*! mmapio_evict() : drop the range from memory without losing data: RW file
 *  maps are flushed first (at the map's durability), then the clean pages are
 *  dropped from the page cache (Linux: MADV_DONTNEED on shared maps plus
 *  posix_fadvise DONTNEED; private maps: MADV_PAGEOUT/MADV_COLD; Windows:
 *  working-set trim). Linux drops only whole page-cache folios, so evicting
 *  part of a large folio may leave it resident.
 *  @return OK (also len 0), EINVAL, EBOUNDS, the flush's failure, EIO.
 *  @since 1.0.0 */
MMAPIO_API int mmapio_evict(mmapio_map *m, uint64_t off, uint64_t len);
/*! mmapio_lock() / mmapio_unlock() / mmapio_lock_all() / mmapio_unlock_all() :
 *  pin the page-expanded range (or the whole map) in RAM: mlock / munlock;
 *  on Windows VirtualLock / VirtualUnlock after growing the working set with
 *  SetProcessWorkingSetSize. Locks survive in-place growth; a moving resize
 *  creates a new mapping whose pages are not locked. Feature LOCKING.
 *  @return OK (also len 0), EINVAL, EBOUNDS, ENOTSUP (feature compiled out),
 *          ENOMEM or EACCES when the OS refuses, with a message naming the
 *          limit, e.g. "mlock(path): Cannot allocate memory; locking N bytes
 *          exceeds the locked-memory limit RLIMIT_MEMLOCK (currently M bytes):
 *          raise it (ulimit -l, /etc/security/limits.conf memlock) or grant
 *          CAP_IPC_LOCK". @since 1.0.0 */
MMAPIO_API int mmapio_lock(mmapio_map *m, uint64_t off, uint64_t len);
MMAPIO_API int mmapio_unlock(mmapio_map *m, uint64_t off, uint64_t len);
MMAPIO_API int mmapio_lock_all(mmapio_map *m);
MMAPIO_API int mmapio_unlock_all(mmapio_map *m);

/* ------------------------------------------------------------------------ */
/* 12. File watching (feature WATCH)                                         */
/* ------------------------------------------------------------------------ */

/** What happened to the watched file.
 *  - MODIFIED: the content changed (write(), truncation, extension, or a
 *    store through a mapping once the OS updated the modification time).
 *    For a size change, offset/len give the bytes that appeared or
 *    disappeared ([min(old,new), max(old,new))); bytes below the old end may
 *    have changed too. 0,0 when the range is unknown.
 *  - METADATA: mode/permissions, owner, link count or change time changed
 *    (chmod, chown, a new hard link); content and size did not.
 *  - REMOVED: the file was unlinked (its name is gone and it has no other).
 *  - RENAMED: the file was renamed or moved away, or the path now names a
 *    different file (an atomic replace: rename(tmp, path); or a new file
 *    created after a removal). In the second case the watch moves to the
 *    new file and keeps reporting its changes. */
typedef enum mmapio_change_kind {
  MMAPIO_CHANGE_MODIFIED = 1,
  MMAPIO_CHANGE_METADATA = 2,
  MMAPIO_CHANGE_REMOVED = 3,
  MMAPIO_CHANGE_RENAMED = 4
} mmapio_change_kind;

typedef struct mmapio_change { mmapio_change_kind kind; uint64_t offset, len; /* 0,0 when unknown */ } mmapio_change;
typedef void (*mmapio_watch_fn)(const mmapio_change *c, void *payload);
typedef struct mmapio_watch mmapio_watch;

/*! mmapio_watch_start() : call `fn(change, payload)` on an internal thread
 *  when the map's file changes.
 *
 *  The watch follows the path given at open (mmapio_path(m)): its file, and
 *  whichever file later takes that name. Backends: inotify on Linux (the
 *  file and its directory), kqueue on macOS and the BSDs, ReadDirectoryChangesW
 *  on Windows, and stat polling every 50 ms in the portable POSIX build or
 *  when the native backend cannot start (e.g. the inotify watch limit).
 *  One thread per watch runs the callbacks, one at a time, in order; the
 *  callback must not call mmapio_watch_stop on its own watch.
 *
 *  Latency: write(), truncation, chmod, unlink and rename are reported as
 *  the OS notifies them (immediately; within 50 ms when polling). Stores
 *  through a mapping -- this process's or another's -- raise no OS event;
 *  the watch sees them when the kernel updates the file's modification
 *  time and checks that time every 250 ms (50 ms when polling). Linux and
 *  the BSDs update it on the first store to a page since it was last
 *  written back, and at msync; Windows when the view is flushed or unmapped.
 *  So a store to an already dirty page may only show after the next
 *  writeback (Linux: typically up to ~30 s) or mmapio_flush.
 *
 *  A change can be reported more than once, and several changes close
 *  together can be reported as one. The polling backend misses a change
 *  that leaves size, mtime, mode, owner and links exactly as they were.
 *  On Windows a file moved away is no longer followed.
 *
 *  The watch holds a reference to `m` until mmapio_watch_stop (so the
 *  caller may close its own reference first).
 *  @param out  receives the watch; NULL on failure.
 *  @return OK; EINVAL (out, m or fn NULL); ENOTSUP (feature compiled out,
 *          anonymous map, or no path); ENOMEM; ENOENT/EACCES/EIO when the
 *          file or its directory cannot be watched (no thread is started).
 *  Thread-safe. A watch does not survive fork(): in the child it is
 *  inactive, and mmapio_watch_stop only frees it. @since 1.0.0 */
MMAPIO_API int mmapio_watch_start(mmapio_watch **out, mmapio_map *m, mmapio_watch_fn fn, void *payload);
/*! mmapio_watch_active() : 1 while the watch runs; 0 after mmapio_watch_stop
 *  was called, if the backend failed for good (the watch then stops
 *  reporting), for NULL, or when the feature is compiled out. @since 1.0.0 */
MMAPIO_API int mmapio_watch_active(const mmapio_watch *w);
/*! mmapio_watch_stop() : stop, join the watch thread and free the watch.
 *  It interrupts the backend's wait at once (no timeout). After it returns
 *  fn is never called again, and the watch's map reference is released
 *  (the map is closed if that was the last one). Changes found together
 *  with the stop request are dropped. NULL: no-op. Must not be called from
 *  the watch's own callback, nor twice. @since 1.0.0 */
MMAPIO_API void mmapio_watch_stop(mmapio_watch *w);

/* ------------------------------------------------------------------------ */
/* 13. Async (feature ASYNC)                                                 */
/* ------------------------------------------------------------------------ */

typedef struct mmapio_task mmapio_task;

/*! Start background operations on a small pool of library threads (at most
 *  two, started on first use and joined when the last submitted task is
 *  freed). Checks needing no I/O are reported by the starting call, in the
 *  order arguments (NULL) -> zero-length action -> mode -> size -> bounds
 *  (against the current length); everything else by the task's status.
 *  A zero-length action, and a flush of a READ_ONLY, COPY_ON_WRITE or
 *  anonymous map (a no-op), give a task that is already complete.
 *  Tasks on a map hold a reference to it until mmapio_task_free, so the
 *  caller may close its own reference while they run.
 *
 *  - mmapio_flush_async / mmapio_flush_range_async: mmapio_flush /
 *    mmapio_flush_range on a worker. EBOUNDS for a range outside the map.
 *  - mmapio_write_async: copies `src` before returning (the caller may reuse
 *    it at once), then mmapio_write and mmapio_flush_range over the written
 *    range at the map's durability level: after it completes OK, a freshly
 *    opened read-only map sees the bytes and they are as durable as the
 *    map's durability promises. EMODE on READ_ONLY maps; on COW maps the
 *    bytes stay private. ENOMEM if the copy cannot be allocated.
 *  - mmapio_create_async: mmapio_create_rw(path, size); the map is fetched
 *    with mmapio_task_take_map. ESIZE "Size must be greater than zero" and
 *    "Size %llu exceeds maximum safe limit of %llu bytes" at once.
 *  - mmapio_copy_file_async / mmapio_remove_file_async: mmapio_copy_file /
 *    mmapio_remove_file; the paths are copied.
 *  @param out  receives the task; NULL on failure.
 *  @return OK, EINVAL, EMODE, ESIZE, EBOUNDS, ENOMEM (also when no worker
 *          thread can be started), ENOTSUP (feature compiled out).
 *  Thread-safe. @since 1.0.0 */
MMAPIO_API int mmapio_flush_async(mmapio_task **out, mmapio_map *m);
MMAPIO_API int mmapio_flush_range_async(mmapio_task **out, mmapio_map *m, uint64_t off, uint64_t len);
MMAPIO_API int mmapio_write_async(mmapio_task **out, mmapio_map *m, uint64_t off, const void *src, size_t len);
MMAPIO_API int mmapio_create_async(mmapio_task **out, const char *path, uint64_t size);
MMAPIO_API int mmapio_copy_file_async(mmapio_task **out, const char *src, const char *dst);
MMAPIO_API int mmapio_remove_file_async(mmapio_task **out, const char *path);
/*! mmapio_task_poll() : MMAPIO_EAGAIN while running, else the operation's
 *  status (the same every time). When that status is a failure, the
 *  calling thread's mmapio_last_error()/mmapio_last_os_error() become the
 *  worker's detail message and OS code. EINVAL for NULL. Never blocks.
 *  @since 1.0.0 */
MMAPIO_API int mmapio_task_poll(mmapio_task *t);
/*! mmapio_task_wait() : wait until the task completes, at most timeout_ms
 *  milliseconds (monotonic clock); -1 waits forever, 0 only looks.
 *  A write task takes its map exclusively, so it waits for the views of
 *  every other thread -- the worker is another thread -- including the
 *  waiting thread's: waiting forever for an unfinished write task while
 *  holding a view, write view or iterator of its map would never end and
 *  returns EDEADLK instead (release the view, then wait again). A bounded
 *  wait just times out.
 *  @return the operation's status (a failure sets this thread's detail as
 *          mmapio_task_poll does), ETIMEDOUT, EDEADLK (see above; since
 *          1.1), or EINVAL (NULL, timeout < -1).
 *  Several threads may wait for one task. @since 1.0.0 */
MMAPIO_API int mmapio_task_wait(mmapio_task *t, int64_t timeout_ms);
/*! mmapio_task_event() : a descriptor (POSIX: readable; an eventfd on
 *  Linux, a pipe elsewhere) or event HANDLE (Windows: signalled) that
 *  becomes ready when the task completes and stays ready, for poll(),
 *  epoll, kqueue, select or WaitForMultipleObjects. Made on first call
 *  (already ready if the task is done); every call returns the same one.
 *  It belongs to the task: do not read from, close or reset it; it is
 *  closed by mmapio_task_free. MMAPIO_INVALID_FILE for NULL, if it cannot
 *  be created (descriptor limit), or when the feature is compiled out.
 *  @since 1.0.0 */
MMAPIO_API mmapio_native_file mmapio_task_event(mmapio_task *t);
/*! mmapio_task_take_map() : hand over the map made by mmapio_create_async;
 *  the caller then owns it (mmapio_close). Once only.
 *  @return OK; EINVAL (NULL, not a create task, map already taken);
 *          EAGAIN (still running); the task's failure status (with its
 *          detail) if the create failed. *out is NULL on failure.
 *  @since 1.0.0 */
MMAPIO_API int mmapio_task_take_map(mmapio_map **out, mmapio_task *t);
/*! mmapio_task_free() : wait for the task if it is still running, then
 *  free it: its event is closed, a created map nobody took is closed, and
 *  its map reference is released (see mmapio_close for what happens when
 *  that was the last). The last free of a submitted task joins the worker
 *  threads. NULL: no-op. No other call on `t` may run concurrently or
 *  follow. Like a wait without limit, it must not be called for an
 *  unfinished write task by a thread holding a view of the task's map (it
 *  would wait for that view: release it first). @since 1.0.0 */
MMAPIO_API void mmapio_task_free(mmapio_task *t);

/* ------------------------------------------------------------------------ */
/* 14. Byte buffers (feature BYTES) and reader                               */
/* ------------------------------------------------------------------------ */

typedef struct mmapio_bytes { const uint8_t *data; size_t len; void *owner_; } mmapio_bytes;

/*! mmapio_bytes_get() : a reference-counted, read-only buffer of
 *  [off, off+len) that stays valid and unchanged after mmapio_close and
 *  after the file is removed, until its last mmapio_bytes_release.
 *
 *  READ_ONLY maps: zero-copy -- `data` points into the mapping and the
 *  buffer holds a map reference (the mapping stays until the last buffer
 *  goes). Changes made to the file by other processes show through, as in
 *  any view. READ_WRITE, COPY_ON_WRITE and anonymous maps: a private copy
 *  made under the map's shared lock, because those mappings can be written
 *  (or moved by resize) underneath. A zero-length buffer (still bounds
 *  checked: off <= length) owns nothing and has a non-NULL `data`.
 *  The buffer can be handed to writev() as an iovec (cast away const; the
 *  memory is never written). With a READ_ONLY map of a file another process
 *  truncates, reading `data` can fault like any direct access.
 *  @param out  filled on success; {NULL, 0, NULL} on failure.
 *  @return OK; EINVAL (out or m NULL); EBOUNDS; EDEADLK (copying modes:
 *          this thread holds a write view of m); EFAULT (FAULT_SAFE maps);
 *          ENOMEM; ENOTSUP (feature compiled out). Thread-safe. @since 1.0.0 */
MMAPIO_API int mmapio_bytes_get(mmapio_bytes *out, mmapio_map *m, uint64_t off, uint64_t len);
/*! mmapio_bytes_retain() : `*copy` becomes another reference to the same
 *  bytes (same data and len); each needs its own release. Retaining a
 *  released or zero-length buffer gives the same kind of buffer.
 *  @return OK, EINVAL (copy or b NULL), ENOTSUP (feature compiled out).
 *  Thread-safe (atomic count): buffers may be shared between threads.
 *  @since 1.0.0 */
MMAPIO_API int mmapio_bytes_retain(mmapio_bytes *copy, const mmapio_bytes *b);
/*! mmapio_bytes_release() : drop this reference and clear *b to
 *  {NULL, 0, NULL}; the last reference frees the copy or releases the map
 *  (destroying it if that was the map's last reference, as described at
 *  mmapio_close). NULL or an already released buffer: no-op. @since 1.0.0 */
MMAPIO_API void mmapio_bytes_release(mmapio_bytes *b);

/** A cursor over a map, like a file opened for reading. Always available
 *  (no feature). Reads go through mmapio_read: they take the map's shared
 *  lock and check bounds against the length at that moment, so a reader
 *  outlives resizes. One reader must not be used by two threads at once. */
typedef struct mmapio_reader { mmapio_map *map; uint64_t pos; } mmapio_reader;

/*! mmapio_reader_init() : position 0 over `m` (no reference taken: the map
 *  must outlive the reader's use). NULL r: no-op. @since 1.0.0 */
MMAPIO_API void mmapio_reader_init(mmapio_reader *r, mmapio_map *m);
/*! mmapio_reader_read() : copy up to n bytes from the position and advance
 *  it by the count copied.
 *  @return bytes read (short only at the end of the map), 0 when n is 0 or
 *          the position is at or past the end, or a negative status: EINVAL
 *          (r or its map NULL, dst NULL with n > 0), EDEADLK (this thread
 *          holds a write view of the map), EFAULT (FAULT_SAFE maps). On
 *          failure the position is unchanged. @since 1.0.0 */
MMAPIO_API int64_t mmapio_reader_read(mmapio_reader *r, void *dst, size_t n);
/*! mmapio_reader_seek() : set the position to delta from the start
 *  (SEEK_SET), the current position (SEEK_CUR) or the map's current length
 *  (SEEK_END), as for fseek; positions past the end are allowed (reads
 *  there return 0).
 *  @return the new position, or EINVAL (r or its map NULL, unknown whence,
 *          a negative result or one above INT64_MAX), position unchanged.
 *  @since 1.0.0 */
MMAPIO_API int64_t mmapio_reader_seek(mmapio_reader *r, int64_t delta, int whence);

/* ------------------------------------------------------------------------ */
/* 15. File helpers                                                          */
/* ------------------------------------------------------------------------ */

/*! mmapio_copy_file() : copy `src` over `dst` (created, or replaced as below), using
 *  copy_file_range / CopyFileW where possible. Durable is not implied.
 *  On POSIX a failure leaves the files as they were: a new `dst` is removed
 *  again, and an existing `dst` with one name is replaced only at the end,
 *  by a temporary file in its directory renamed over it (readers see the
 *  old or the new content, never a part; the owner and permission bits,
 *  set-user-ID and set-group-ID included, are kept; a symbolic link's
 *  target is replaced and the link stays). A symbolic link whose target
 *  does not exist gets that target created (exclusively); a failure
 *  removes it again and the link dangles as before.
 *  Extended attributes and ACLs: on Linux (not in a MMAPIO_PORTABLE_POSIX
 *  build) the temporary file gets every extended attribute `dst` has,
 *  which includes its POSIX ACL (system.posix_acl_access), file
 *  capabilities (security.capability) and, for a caller who can see them,
 *  trusted.* attributes; a `dst` without any costs one flistxattr call.
 *  A failure to read them (flistxattr, fgetxattr) or to set one for a
 *  reason other than a refusal is reported and leaves `dst` as it was.
 *  Attributes the caller cannot list (trusted.* without CAP_SYS_ADMIN)
 *  are not seen, and are lost by the replace; attributes the new file was
 *  given by its directory (a default ACL) and `dst` lacks stay on it.
 *  Other platforms (macOS, the BSDs) and the portable build do not copy
 *  extended attributes or ACLs: a replaced `dst` loses them (a macOS ACL
 *  too) and has what its directory gives a new file.
 *  Where the replace cannot keep what the file is (a `dst` with several
 *  hard links, a directory that refuses new files, an owner the caller
 *  cannot give, on Linux an attribute the new file refuses, such as a
 *  security.* one without the privilege, unless the new file already has
 *  it with the same value), `dst` is truncated and copied in place, which
 *  keeps the file itself and so its metadata (but for what writing clears:
 *  file capabilities, and set-user-ID bits for a caller without
 *  CAP_FSETID); a failure in the middle then leaves it partly written.
 *  Windows: CopyFileW into a temporary file in the directory of `dst`,
 *  which then takes an existing `dst`'s DACL (protected, or inheriting
 *  from the directory as before), creation time and attributes
 *  (hidden, system, archive, not content indexed), then
 *  MoveFileExW(MOVEFILE_REPLACE_EXISTING) over it, so a failure leaves
 *  `dst` as it was, a failure to read or give the DACL included (the
 *  call's error, typically EACCES). Windows refuses to replace a read-only
 *  `dst` (EACCES); where a system allows it (Wine), the new file is not
 *  read-only. The owner becomes the caller; alternate data streams, the
 *  short name and the encryption or compression state of `dst` are not
 *  kept.
 *  @return OK, EINVAL (NULL, src is a directory), ENOENT, EACCES, ENOSPC,
 *          ENOMEM, EIO.
 *  @since 1.0.0 */
MMAPIO_API int mmapio_copy_file(const char *src, const char *dst);
/*! mmapio_remove_file() : remove a file. @return OK, EINVAL, ENOENT, EACCES, EIO. */
MMAPIO_API int mmapio_remove_file(const char *path);
/*! mmapio_write_file() : open an existing file RW, write `len` bytes at
 *  `off` (within its current length), flush, close.
 *  @return as mmapio_open_rw, mmapio_write and mmapio_flush. @since 1.0.0 */
MMAPIO_API int mmapio_write_file(const char *path, uint64_t off, const void *src, size_t len);

/* ------------------------------------------------------------------------ */
/* Shared memory between unrelated processes                                 */
/* ------------------------------------------------------------------------ */

/*! mmapio_shm_open() : map the named shared-memory object `name`,
 *  read-write, so that unrelated processes opening the same name share its
 *  pages. POSIX: shm_open("/" name) (an object in /dev/shm on Linux);
 *  Windows: a named section backed by the paging file in the session's
 *  "Local\\" namespace (CreateFileMappingW / OpenFileMappingW).
 *  Every map operation works on the result: read/write, views, iterators,
 *  segments, atomic views (lock-free across processes: the cells are the
 *  same physical memory), hints and locking. Flush succeeds and writes
 *  nothing back (there is no file; on POSIX it still costs an msync).
 *  mmapio_path() is NULL; mmapio_native_handle() is the descriptor on
 *  POSIX, MMAPIO_INVALID_FILE on Windows.
 *  Resize: POSIX changes the object's length (ftruncate) and remaps this
 *  process; other processes keep their length until they call
 *  mmapio_resize with the new size (never shrink an object another process
 *  still uses past its length: touching the cut pages there is SIGBUS, or
 *  MMAPIO_EFAULT with FAULT_SAFE). Windows sections cannot change size:
 *  resize returns MMAPIO_ENOTSUP.
 *  @param name   a plain name: non-empty, no '/' or '\\', at most 254 bytes
 *                (30 on macOS). The same name means the same object for
 *                every process of the user (Windows: of the session).
 *  @param size   the length of a new object (zero-filled); an existing
 *                object keeps its own length. On Windows the length of an
 *                opened (not created) section is rounded up to the page
 *                size, because Windows only tells the size of its view.
 *  @param flags  0: the object must exist. MMAPIO_OPEN_CREATE: create it
 *                when missing (size > 0), else open it as it is; with size
 *                0 only opens (a missing object is ESIZE).
 *                MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE: it must not
 *                exist yet. No other MMAPIO_OPEN_* flag applies.
 *  An object found with length 0 (its creator has not sized it yet, POSIX)
 *  is waited for up to about 200 ms, then it is ESIZE.
 *  Lifetime: POSIX objects live until mmapio_shm_remove (or a reboot), also
 *  after every map is closed; a Windows section lives while some process
 *  has it open and disappears with the last mmapio_close.
 *  @return OK; EINVAL (out NULL, name NULL, empty, too long or containing
 *          '/' or '\\' -- each with its own message -- unknown flags,
 *          EXCLUSIVE without CREATE); ESIZE (size 0 where a new object is
 *          needed, above MMAPIO_MAX_SIZE, an existing object of length 0);
 *          ENOENT (no such object and no CREATE); EEXIST (EXCLUSIVE and it
 *          exists); EACCES (another user's object); ENOMEM; ENOSPC; EIO.
 *          On failure *out is NULL and an object this call created is
 *          removed again. Thread-safe. @since 1.1.0 */
MMAPIO_API int mmapio_shm_open(mmapio_map **out, const char *name, uint64_t size, uint32_t flags);

/*! mmapio_shm_remove() : remove the name `name`. POSIX: shm_unlink; maps
 *  already open (here or in other processes) stay valid, a later open of
 *  the name finds nothing or a new object. Windows has no such call: a
 *  section disappears with its last handle, so this only checks that the
 *  name exists and returns OK without changing anything.
 *  @return OK; EINVAL (name NULL, empty, too long, with '/' or '\\');
 *          ENOENT (no such object); EACCES; EIO. Thread-safe. @since 1.1.0 */
MMAPIO_API int mmapio_shm_remove(const char *name);

/* ------------------------------------------------------------------------ */
/* Per-map statistics                                                        */
/* ------------------------------------------------------------------------ */

/** What mmapio_stats reports about one map *in this process* (the counters
 *  live in this process's map object: another process's maps of the same
 *  file or shared-memory object are not seen). The struct grows only at the
 *  end, in 8-byte fields. Set struct_size to sizeof(mmapio_map_stats)
 *  before the call (MMAPIO_MAP_STATS_INIT does); a program built against an
 *  older header passes its smaller size and gets exactly the fields it
 *  knows. Every counter starts at 0 when the map is opened. */
typedef struct mmapio_map_stats {
  uint32_t struct_size;       /* in: sizeof(mmapio_map_stats) as the caller knows it */
  uint32_t reserved0;         /* out: 0 */
  uint64_t write_calls;       /* mmapio_write (also through segments and async writes),
                                 mmapio_view_mut_release of a non-empty view, and the
                                 end of a mut iterator that yielded bytes, when they
                                 succeeded */
  uint64_t write_bytes;       /* bytes those calls wrote (whole views / yielded chunks).
                                 Stores through mmapio_unsafe_ptr or atomics are not seen */
  uint64_t flush_calls;       /* OS flushes made (msync / FlushViewOfFile...): explicit,
                                 by policy, background, at close. Maps with nothing to
                                 write back (anonymous, RO, COW) make none */
  uint64_t flush_failures;    /* those that failed */
  uint64_t flush_last_ns;     /* duration of the latest one, nanoseconds */
  uint64_t flush_max_ns;      /* the longest one */
  uint64_t pending_bytes;     /* as mmapio_pending_bytes() */
  uint64_t resizes_in_place;  /* successful resizes that kept the address (max_size growth) */
  uint64_t resizes_moving;    /* successful resizes that remapped (the address may change) */
  uint64_t views_outstanding; /* now: read views, read iterators and mmapio_read calls in
                                 progress, plus write views, mut iterators and writes in
                                 progress (one each) */
  uint64_t views_peak;        /* the sum over threads of the most views each thread held at
                                 once: exact for one thread, an upper bound of the true peak
                                 with several */
  uint64_t pins_outstanding;  /* now: atomic views (mmapio_atomic_*) */
  uint64_t slots_in_use;      /* per-thread slots the map has: one for each thread that
                                 took a lock on it (read, write, view, iterator); kept until
                                 the map is destroyed, a later thread may reuse the slot of
                                 one that exited */
} mmapio_map_stats;

#define MMAPIO_MAP_STATS_INIT {(uint32_t)sizeof(mmapio_map_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/*! mmapio_stats() : fill `st` (its first st->struct_size bytes) with the
 *  statistics of `m` at this moment. The counters cost nothing on the read,
 *  view and write fast paths: flushes and resizes count next to the system
 *  call they make anyway, writes and view peaks in the calling thread's own
 *  slot with plain stores; this call sums the slots. Values read while other
 *  threads work are each exact but not one consistent snapshot.
 *  @param st  in: st->struct_size; out: the fields that fit in it.
 *  @return OK; EINVAL (st or m NULL); EVERSION (struct_size below 8, above
 *          sizeof(mmapio_map_stats) of this library, or not a multiple of 8;
 *          nothing is written). Thread-safe. @since 1.1.0 */
MMAPIO_API int mmapio_stats(mmapio_map_stats *st, const mmapio_map *m);

/* ------------------------------------------------------------------------ */
/* 16. Threads, fork, signals                                                */
/* ------------------------------------------------------------------------ */

/* Threads
 *  - Every function taking a map may be called from any thread at once.
 *    Read views, read iterators and mmapio_read share a map; write views,
 *    mut iterators, mmapio_write and moving resizes are exclusive. Views,
 *    write views and iterators belong to the thread that took them and are
 *    released there; atomic pins may be released by any thread.
 *  - A call that would wait for a hold of the calling thread itself returns
 *    MMAPIO_EDEADLK instead (mmapio_write, mmapio_view_get_mut,
 *    mmapio_resize, mmapio_task_wait on a write task, ...).
 *  - Writers wait until no other thread holds the map. A thread that
 *    already holds a view may always take more (refusing it could deadlock
 *    it), so a thread that never lets go -- it takes the next view before
 *    releasing the previous one -- keeps writers waiting for as long as it
 *    does so. Release views between steps to let writers in.
 *  - Library threads: one background flusher while EVERY_MILLIS maps exist,
 *    at most two async workers while submitted tasks exist, one thread per
 *    watch, and, for a map whose last reference went while borrows were
 *    still out (see mmapio_close), one short-lived thread that destroys it
 *    once they are released. They block asynchronous signals, so your
 *    signal handlers run on your threads.
 *
 * fork() (POSIX; Windows has none)
 *  - The library registers pthread_atfork handlers when the first map is
 *    made or the first async task is started. They hold its short internal
 *    locks across fork() (a fork waits for a resize in progress to finish),
 *    and fix up the child, where only the thread that called fork()
 *    exists: the locks are released there, and what belonged to the
 *    parent's other threads (their holds, the flusher and async workers,
 *    their waits) is forgotten.
 *  - The child may use every map it inherited -- read, write, flush,
 *    resize, close -- and open new ones. Shared file maps and
 *    MMAPIO_ANON_SHARED maps keep sharing their memory with the parent;
 *    copy-on-write and private anonymous maps are the child's own copies.
 *  - Views, write views and iterators held by other threads of the parent
 *    do not count in the child (a write there does not wait for them); do
 *    not use pointers that those threads held. The forking thread's own
 *    views and write views stay valid and counted.
 *  - EVERY_MILLIS maps are flushed in the child too: its flusher thread
 *    starts on the child's first write to such a map (or the next open of
 *    one). Closing an inherited map, the last EVERY_MILLIS one included,
 *    works as in the parent.
 *  - Atomic pins are not tied to threads and stay counted in the child (its
 *    close and moving resizes see them as EBUSY until it releases them).
 *  - Async tasks queued or running at fork time belong to the parent: in
 *    the child they are complete with MMAPIO_EIO ("task started in the
 *    parent process before fork()"); tasks that had completed keep their
 *    result. Free them in the child as usual; new tasks start new workers.
 *    Watches are inactive in the child; mmapio_watch_stop frees them.
 *  - A map the parent was about to destroy once its last borrows went (see
 *    mmapio_close) stays mapped in the child until it exits or execs.
 *  - Descriptors are close-on-exec: a child that execs keeps none.
 *
 * Signals
 *  - No mmapio function is async-signal-safe: do not call them from a
 *    signal handler. Reading and writing through a view, or the inline
 *    atomics on an atomic view, are plain memory accesses and are as safe
 *    as the memory is (a truncated file raises SIGBUS).
 *  - fork() from a signal handler runs the library's pthread_atfork
 *    handlers, which take its internal locks: if the signal interrupted an
 *    mmapio call on that same thread while it held one (an open, close or
 *    resize), the fork waits forever. In a signal handler use _Fork()
 *    (glibc 2.34+, POSIX.1-2024), which runs no fork handlers, and let the
 *    child only exec or _exit: its copy of the library state is not fixed
 *    up, so it must not call mmapio functions.
 *  - The first map opened with MMAPIO_OPEN_FAULT_SAFE installs
 *    process-wide SIGBUS and SIGSEGV handlers (POSIX), chained to the
 *    handlers that were installed before: faults outside a guarded copy go
 *    to them unchanged. A handler you install later must pass faults it
 *    does not handle to the one it replaced (sigaction's old action), or
 *    FAULT_SAFE copies crash instead of returning MMAPIO_EFAULT. On
 *    Windows a vectored exception handler is used instead.
 */

/* ------------------------------------------------------------------------ */
/* 17. Database support: empty files, borrowed descriptors, file locks       */
/* ------------------------------------------------------------------------ */

/* MMAPIO_OPEN_ALLOW_EMPTY (flag of mmapio_open and mmapio_open_fd_opts):
 *  length 0 is a valid state of the map instead of an error. Without the
 *  flag the rules of section 4 hold ("Cannot map zero-length file",
 *  "New size must be greater than zero").
 *  With it:
 *   - RW, RO and COW maps of a 0-byte file open with mmapio_len() == 0 and
 *     mmapio_unsafe_ptr() == NULL;
 *   - CREATE with o->size == 0 creates an empty file, TRUNCATE with size 0
 *     truncates to empty;
 *   - views of (0, 0), reads into empty buffers at offset 0 and writes of
 *     0 bytes succeed; any other range is EBOUNDS as usual;
 *   - mmapio_resize(m, 0) (READ_WRITE) truncates the file to 0 bytes (a
 *     window opened with length 0: to its offset, like any resize of such
 *     a window, which sets the file length to offset + new size) and
 *     unmaps the memory (same rules as a moving resize: EBUSY with pins,
 *     waits for other threads' views, EDEADLK for the caller's own);
 *     mmapio_resize from 0 maps the file afresh (reserving max_size when it
 *     was given, so later growth is in place). When resize(0) cannot
 *     truncate and then cannot map the old length again either, the map is
 *     empty (len 0) and the file keeps its length and bytes; the status and
 *     mmapio_last_os_error are those of the mapping, and the detail names
 *     both failures and ends in "(the map is empty now)". A failing resize
 *     from such a map gives the file its length back, and its bytes below
 *     the new size (the message says when the bytes above it read zero
 *     now);
 *   - mmapio_flush / mmapio_flush_range of an empty map succeed and do
 *     nothing.
 *  Anonymous maps are not affected (mmapio_anon size 0 stays ESIZE).
 *  @since 1.1.0 */

/* MMAPIO_OPEN_BORROW_FD (flag of mmapio_open_fd_opts only; EINVAL with
 *  mmapio_open): the map uses the caller's descriptor/HANDLE as it is -- no
 *  duplicate is made and the map never closes it. The caller must keep the
 *  descriptor open, unchanged, until the last reference of the map is
 *  closed, and closes it itself afterwards. This is what a database needs
 *  when it holds POSIX record locks (fcntl F_SETLK) through that descriptor:
 *  POSIX drops all of a process's record locks on a file when *any*
 *  descriptor of that file is closed, and a duplicate closed by
 *  mmapio_close would do exactly that. mmapio_native_handle() returns the
 *  caller's descriptor. @since 1.1.0 */

/*! mmapio_open_fd_opts() : map an already open file with full options.
 *  @param out        receives the new map; NULL on failure.
 *  @param f          an open regular file; its access must allow o->mode
 *                    (READ_WRITE needs a read-write descriptor).
 *  @param o          options (NULL = defaults). Used: flags ALLOW_EMPTY,
 *                    BORROW_FD, HUGE_PAGES, SPARSE, FAULT_SAFE; mode, touch,
 *                    durability, max_size, flush_policy. CREATE, TRUNCATE,
 *                    EXCLUSIVE, PRIVATE_PERMS and a non-zero o->size are
 *                    EINVAL (the file exists; resize it with mmapio_resize).
 *  @param path_hint  used in messages and returned by mmapio_path(); may be NULL.
 *  Without MMAPIO_OPEN_BORROW_FD the descriptor is duplicated as by
 *  mmapio_open_fd and the caller keeps and closes its own.
 *  @return OK, or EINVAL (out NULL, invalid descriptor, bad options as
 *          above), EVERSION (o->struct_size), EACCES (mode needs access the
 *          descriptor lacks), ESIZE (empty file without ALLOW_EMPTY, file
 *          larger than max_size), ENOTSUP, ENOMEM, EIO. On failure a borrowed
 *          descriptor is left open and untouched (file length unchanged).
 *  Thread-safe. @since 1.1.0 */
MMAPIO_API int mmapio_open_fd_opts(mmapio_map **out, mmapio_native_file f,
                                   const mmapio_options *o, const char *path_hint);

#define MMAPIO_FILE_LOCK_SHARED 0x0u    /* a read lock: many holders */
#define MMAPIO_FILE_LOCK_EXCLUSIVE 0x1u /* a write lock: one holder, no readers */
#define MMAPIO_FILE_LOCK_NOWAIT 0x2u    /* EAGAIN instead of waiting */

/*! mmapio_file_lock() : take an advisory byte-range lock on the map's file.
 *  The range is a range of the *file*, and may lie beyond its end (databases
 *  lock bytes past the end of the data, e.g. SQLite's lock bytes at 1 GiB).
 *  @param m     a file map (anonymous: EMODE).
 *  @param off   first byte; off + len must not exceed INT64_MAX.
 *  @param len   bytes; 0 means "from off to the end of any file size".
 *  @param flags MMAPIO_FILE_LOCK_SHARED or _EXCLUSIVE, optionally | _NOWAIT.
 *  Locking a range the same map already holds converts it (shared <->
 *  exclusive); unlocking part of a range splits it (POSIX semantics, also on
 *  Linux). Locks belong to the map's open file (its descriptor, or the
 *  caller's with MMAPIO_OPEN_BORROW_FD): two maps of the same file in one
 *  process conflict with each other like two processes do, and closing
 *  another map or descriptor of the file does not drop them. They are
 *  released by mmapio_file_unlock, or when the map's file is closed (the last
 *  mmapio_close; with BORROW_FD when the caller closes its descriptor and no
 *  duplicate of it is left). A wait is retried across signals (EINTR).
 *  Platforms:
 *   - Linux: open file description locks (fcntl F_OFD_SETLK / F_OFD_SETLKW),
 *     visible to other processes' F_GETLK / F_OFD_GETLK and compatible with
 *     their fcntl locks.
 *   - Other POSIX systems and builds with MMAPIO_PORTABLE_POSIX: classic
 *     fcntl F_SETLK / F_SETLKW record locks, with their limits: they belong
 *     to the *process*, so two maps of one file in one process do not
 *     conflict, and closing any descriptor of the file in the process (for
 *     instance mmapio_close of another map of it) drops them all. Use
 *     MMAPIO_OPEN_BORROW_FD and one descriptor per file per process there.
 *     Waiting locks may fail with EDEADLK when the kernel sees a deadlock.
 *   - Windows: LockFileEx / UnlockFileEx on the map's HANDLE. Windows locks
 *     are mandatory for ReadFile/WriteFile of other handles (not for
 *     mappings), cannot be converted (a second lock of the same range by the
 *     same map is EAGAIN/waits like a foreign one) and an unlock must name
 *     exactly a range that was locked (EINVAL otherwise).
 *  @return OK, or EINVAL (NULL map, unknown flag bits, range overflowing
 *          INT64_MAX), EMODE (anonymous map), EAGAIN (NOWAIT and a
 *          conflicting lock is held), EDEADLK (the kernel refused a wait that
 *          would deadlock), ENOTSUP (no record locks on this file system or
 *          platform), ENOMEM (lock table full), EIO. On failure no lock is
 *          taken or changed.
 *  Thread-safe (the map's mutexes are not used; the OS orders the calls).
 *  @since 1.1.0 */
MMAPIO_API int mmapio_file_lock(mmapio_map *m, uint64_t off, uint64_t len, unsigned flags);

/*! mmapio_file_unlock() : release the map's lock on [off, off+len) (len 0:
 *  to the end). Unlocking bytes that are not locked is OK on POSIX.
 *  @return OK, EINVAL (NULL map, range overflowing INT64_MAX; Windows: not
 *          a locked range), EMODE (anonymous map), EIO.
 *  Thread-safe. @since 1.1.0 */
MMAPIO_API int mmapio_file_unlock(mmapio_map *m, uint64_t off, uint64_t len);

/* ------------------------------------------------------------------------ */
/* 18. Appends and a logical end                                             */
/* ------------------------------------------------------------------------ */

/* A READ_WRITE map has a *logical end* separate from its mapped length (its
 * capacity, mmapio_len()). It starts at the file's length and is used by
 * mmapio_append and mmapio_set_logical_len only; mmapio_read, mmapio_write,
 * views and mmapio_resize keep working on the whole capacity and do not
 * move the logical end.
 *
 * Growth: when an append does not fit, the capacity grows by a geometric
 * step (the current length again, at least 64 KiB, at most 1 GiB, page
 * aligned), kept within max_size when the record fits there so that growth
 * is in place (same base address, views stay valid, no waiting). Beyond
 * max_size, or without it, growth is a moving mmapio_resize (EDEADLK when
 * the calling thread holds views).
 *
 * Close: when the last reference of a map whose logical end was used is
 * closed, the file is cut to the logical end (after the final flush, if the
 * policy has one). mmapio_flush does not cut; it makes the bytes durable.
 *
 * Crash safety: nothing about the logical end is stored in the file. After a
 * crash (or a kill) before close, the file may be longer than the logical
 * end was, by at most one growth step, and that tail reads as zeros (unless
 * mmapio_write wrote there). Frame your records so that the end can be found
 * again (e.g. a non-zero length and a checksum per record), scan them after
 * opening, and call mmapio_set_logical_len with the end found.
 * @since 1.1.0 */

/*! mmapio_append() : write `len` bytes at the logical end and advance it.
 *  @param m        a READ_WRITE map (file or anonymous).
 *  @param data     the bytes (may be NULL when len is 0).
 *  @param len      bytes to append; 0 appends nothing and reports the end.
 *  @param off_out  receives the offset the bytes were written at; may be NULL.
 *  Concurrent appends from several threads get disjoint ranges, in some
 *  order. The bytes are visible to readers of the map once the call returns
 *  (another thread's view over the range may see them partly written before
 *  that). The flush policy applies as for mmapio_write.
 *  @return OK, EINVAL (m NULL, data NULL with len > 0), EMODE (not
 *          READ_WRITE), ESIZE (the end would pass MMAPIO_MAX_SIZE), EDEADLK
 *          (growth must move the mapping and the caller holds views), EBUSY
 *          (moving growth with atomic pins), ENOSPC, ENOMEM, EFAULT
 *          (MMAPIO_OPEN_FAULT_SAFE), EIO. On failure the logical end is
 *          unchanged, unless another append reserved bytes after this one
 *          meanwhile: then the failed range stays behind as zeros.
 *  Thread-safe. @since 1.1.0 */
MMAPIO_API int mmapio_append(mmapio_map *m, const void *data, size_t len, uint64_t *off_out);

/*! mmapio_logical_len() : the logical end (mmapio_len() until the first
 *  mmapio_append / mmapio_set_logical_len); 0 for NULL. Never fails.
 *  @since 1.1.0 */
MMAPIO_API uint64_t mmapio_logical_len(const mmapio_map *m);

/*! mmapio_set_logical_len() : move the logical end to `len`. Growing it past
 *  the capacity grows the capacity as an append would (new bytes read zero);
 *  shrinking it clears the bytes cut off (up to the old logical end), so they
 *  read zero when the end grows again, as after ftruncate. Use it to truncate
 *  a journal, or after a crash to set the end your records say.
 *  Do not call it concurrently with mmapio_append of the same map.
 *  @return OK, EINVAL (NULL), EMODE (not READ_WRITE), ESIZE (above
 *          MMAPIO_MAX_SIZE), EDEADLK, EBUSY, ENOSPC, ENOMEM, EIO; on failure
 *          the logical end is unchanged. @since 1.1.0 */
MMAPIO_API int mmapio_set_logical_len(mmapio_map *m, uint64_t len);

/* ------------------------------------------------------------------------ */
/* Inline fast path of mmapio_view_release                                   */
/* ------------------------------------------------------------------------ */

/* A read view owns one count in a per-thread slot. Releasing stores count-1
 * (release order) and, when a writer is waiting (the map's writer state is
 * non-zero), calls the exported function, which wakes it. The library sets
 * kind_ bit 1 when readers must use a full fence (no asymmetric barrier
 * available on this OS). version_ is the protocol version of the library
 * that filled the view: this inline code only handles the version it was
 * written for, so a newer library with another protocol keeps working with
 * programs compiled against this header (they call the exported function).
 * Anything unusual goes through the real function. */
#define MMAPIO_BORROW_VERSION_ 1u
#define MMAPIO_BORROW_FAST_ 0x1u
#define MMAPIO_BORROW_FENCE_ 0x2u
MMAPIO_INLINE_ void mmapio_view_release_inline_(mmapio_view *v)
{
  if (v != NULL && v->priv_.kind_ == MMAPIO_BORROW_FAST_ &&
      v->priv_.version_ == MMAPIO_BORROW_VERSION_) {
    uint32_t *slot = v->priv_.slot_;
    MMAPIO_STORE_RELEASE_U32_(slot, MMAPIO_LOAD_RELAXED_U32_(slot) - 1u);
    MMAPIO_COMPILER_FENCE_();
    v->priv_.kind_ = 0;
    if (MMAPIO_LOAD_RELAXED_U32_(v->priv_.wstate_) != 0u) {
      v->priv_.kind_ = MMAPIO_BORROW_FAST_ | 0x80000000u; /* "count already dropped" */
      (mmapio_view_release)(v);
    }
  } else {
    (mmapio_view_release)(v);
  }
}
#if !defined(MMAPIO_BUILDING_)
#  define mmapio_view_release(v) mmapio_view_release_inline_(v)
#endif

#ifdef __cplusplus
}
#endif
#endif /* MMAPIO_H */
