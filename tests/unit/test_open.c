/*
 * mmapio_options_init, mmapio_open (the builder) and its shortcuts
 * open_ro / open_rw / open_cow / create_rw (include/mmapio.h section 4): the success
 * paths in every mode, every status the builder returns, the exact ESIZE
 * messages, and "on failure nothing on disk changes".
 */
#include "test.h"

static size_t PS;

static void check_options_init(void)
{
  mmapio_options o;
  memset(&o, 0xA5, sizeof o);
  mmapio_options_init(&o);
  ASSERT_EQ(o.struct_size, sizeof(mmapio_options));
  ASSERT_EQ(o.flags, 0);
  ASSERT_EQ(o.mode, MMAPIO_MODE_READ_WRITE);
  ASSERT_EQ(o.touch, MMAPIO_TOUCH_NEVER);
  ASSERT_EQ(o.durability, MMAPIO_DURABLE_DATA);
  ASSERT_EQ(o.reserved0, 0);
  ASSERT_U64_EQ(o.size, 0);
  ASSERT_U64_EQ(o.max_size, 0);
  ASSERT_EQ(o.flush_policy.kind, MMAPIO_FLUSH_MANUAL);
  mmapio_options_init(NULL); /* no-op */
  /* The struct grows a uint64_t at a time: 8-byte units where uint64_t is
   * 8-byte aligned in structs (all but 32-bit x86 Linux, where it is 4). */
  struct u64_in_struct { uint32_t a; uint64_t b; };
  ASSERT_EQ(sizeof(mmapio_options) % offsetof(struct u64_in_struct, b), 0);
}

static void check_modes_and_accessors(void)
{
  char *p = mk_file("open-modes", 3 * PS + 123, 7);
  uint64_t total = 3 * PS + 123;
  uint8_t buf[256];
  mmapio_map *m = BAD_MAP;

  /* Defaults (NULL options): READ_WRITE on an existing file. */
  ASSERT_OK(mmapio_open(&m, p, NULL));
  ASSERT(m != NULL && m != BAD_MAP);
  ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_WRITE);
  ASSERT_U64_EQ(mmapio_len(m), total);
  ASSERT_OK(mmapio_close(m));

  /* READ_ONLY. */
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_ONLY);
  ASSERT_U64_EQ(mmapio_len(m), total);
  ASSERT(mmapio_path(m) != NULL);
  ASSERT_STREQ(mmapio_path(m), p);
  ASSERT(mmapio_path(m) != p); /* the map keeps its own copy */
  ASSERT(mmapio_native_handle(m) != MMAPIO_INVALID_FILE);
  ASSERT(mmapio_unsafe_ptr(m) != NULL);
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)total, 0, 7));
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  int hp = mmapio_huge_pages_active(m);
  ASSERT(hp == 0 || hp == 1);
  ASSERT_OK(mmapio_read(m, total - 100, buf, 100));
  ASSERT(pat_check(buf, 100, total - 100, 7));
  ASSERT_OK(mmapio_close(m));

  /* READ_WRITE: changes reach the file. */
  ASSERT_OK(mmapio_open_rw(&m, p));
  ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_WRITE);
  ASSERT_U64_EQ(mmapio_len(m), total);
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)total, 0, 7));
  memset(buf, 0xEE, sizeof buf);
  ASSERT_OK(mmapio_write(m, PS - 10, buf, 20));
  ASSERT_OK(mmapio_close(m));
  {
    size_t n = 0;
    uint8_t *d = (uint8_t *)test_read_file(p, &n);
    ASSERT(d != NULL);
    ASSERT_EQ(n, total);
    ASSERT(pat_check(d, PS - 10, 0, 7));
    ASSERT(all_bytes(d + PS - 10, 20, 0xEE));
    ASSERT(pat_check(d + PS + 10, (size_t)total - PS - 10, PS + 10, 7));
    free(d);
  }

  /* COPY_ON_WRITE (detailed in test_cow). */
  if (has_cow()) {
    ASSERT_OK(mmapio_open_cow(&m, p));
    ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_COPY_ON_WRITE);
    ASSERT_U64_EQ(mmapio_len(m), total);
    ASSERT_OK(mmapio_close(m));
  } else {
    ASSERT_STATUS(mmapio_open_cow(&m, p), MMAPIO_ENOTSUP);
    ASSERT(m == NULL);
  }

  /* Every touch hint and durability level opens and reads the same data. */
  for (int t = MMAPIO_TOUCH_NEVER; t <= MMAPIO_TOUCH_EAGER; t++) {
    for (int d = MMAPIO_DURABLE_DATA; d <= MMAPIO_DURABLE_NONE; d++) {
      mmapio_options o = opts(MMAPIO_MODE_READ_ONLY, 0, 0);
      o.touch = (mmapio_touch_hint)t;
      o.durability = (mmapio_durability)d;
      ASSERT_OK(mmapio_open(&m, p, &o));
      ASSERT_OK(mmapio_read(m, 0, buf, 10));
      ASSERT(pat_check(buf, 10, 0, 7));
      ASSERT_OK(mmapio_close(m));
      o.mode = MMAPIO_MODE_READ_WRITE;
      ASSERT_OK(mmapio_open(&m, p, &o));
      ASSERT_OK(mmapio_close(m));
    }
  }

  /* Flags that are best effort or need a feature. */
  {
    mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_HUGE_PAGES, 0);
    int s = mmapio_open(&m, p, &o);
    if (MMAPIO_WITH_HUGEPAGES) {
      ASSERT_OK(s);
      hp = mmapio_huge_pages_active(m);
      ASSERT(hp == 0 || hp == 1);
      ASSERT_U64_EQ(mmapio_len(m), total);
      ASSERT_OK(mmapio_close(m));
    } else {
      ASSERT_STATUS(s, MMAPIO_ENOTSUP);
    }
    o.flags = MMAPIO_OPEN_FAULT_SAFE;
    s = mmapio_open(&m, p, &o);
    if (MMAPIO_WITH_FAULT_SAFE) {
      ASSERT_OK(s);
      ASSERT_OK(mmapio_read(m, 0, buf, 10));
      ASSERT_OK(mmapio_close(m));
    } else {
      ASSERT_STATUS(s, MMAPIO_ENOTSUP);
    }
  }

  /* Missing file without CREATE: ENOENT in every mode, no file created. */
  char *missing = test_tmp_path("open-missing");
  ASSERT_ERR_HAS(mmapio_open_ro(&m, missing), MMAPIO_ENOENT, missing);
  ASSERT(m == NULL);
  m = BAD_MAP;
  ASSERT_ERR_HAS(mmapio_open_rw(&m, missing), MMAPIO_ENOENT, missing);
  ASSERT(m == NULL);
  if (has_cow()) {
    m = BAD_MAP;
    ASSERT_ERR_HAS(mmapio_open_cow(&m, missing), MMAPIO_ENOENT, missing);
    ASSERT(m == NULL);
  }
  {
    mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE, 100);
    m = BAD_MAP;
    ASSERT_STATUS(mmapio_open(&m, missing, &o), MMAPIO_ENOENT);
    ASSERT(m == NULL);
  }
  ASSERT(!file_exists(missing));
  free(missing);
  test_unlink(p);
  free(p);
}

static void check_empty_file(void)
{
  char *p = mk_file("open-empty", 0, 0);
  mmapio_map *m = BAD_MAP;
  mmapio_view v;
  uint8_t b;

  /* RO: an empty mapping. */
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT(mmapio_unsafe_ptr(m) == NULL);
  ASSERT_OK(mmapio_read(m, 0, &b, 0));
  ASSERT_BOUNDS(mmapio_read(m, 0, &b, 1), 0, 1, 0);
  ASSERT_OK(mmapio_view_get(&v, m, 0, 0));
  ASSERT_EQ(v.len, 0);
  mmapio_view_release(&v);
  ASSERT_BOUNDS(mmapio_view_get(&v, m, 1, 0), 1, 0, 0);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));

  /* RW and COW: ESIZE, exact message. */
  m = BAD_MAP;
  ASSERT_ERR(mmapio_open_rw(&m, p), MMAPIO_ESIZE, MSG_ZERO_FILE);
  ASSERT(m == NULL);
  m = BAD_MAP;
  ASSERT_ERR(mmapio_open(&m, p, NULL), MMAPIO_ESIZE, MSG_ZERO_FILE);
  ASSERT(m == NULL);
  if (has_cow()) {
    m = BAD_MAP;
    ASSERT_ERR(mmapio_open_cow(&m, p), MMAPIO_ESIZE, MSG_ZERO_FILE);
    ASSERT(m == NULL);
  }
  /* CREATE on an existing empty file keeps it as it is: still empty. */
  {
    mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, 100);
    m = BAD_MAP;
    ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_ESIZE, MSG_ZERO_FILE);
    ASSERT(m == NULL);
  }
  ASSERT_EQ(file_len(p), 0);
  test_unlink(p);
  free(p);
}

static void check_create(void)
{
  char *p = test_tmp_path("open-create");
  mmapio_map *m = BAD_MAP;
  mmapio_options o;

  /* create_rw: new file, zero content, the size on disk. */
  ASSERT_OK(mmapio_create_rw(&m, p, 5000));
  ASSERT_U64_EQ(mmapio_len(m), 5000);
  ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_WRITE);
  ASSERT_EQ(file_len(p), 5000);
  ASSERT(all_bytes(mmapio_unsafe_ptr(m), 5000, 0));
  uint8_t buf[64];
  pat_fill(buf, sizeof buf, 0, 3);
  ASSERT_OK(mmapio_write(m, 0, buf, sizeof buf));
  ASSERT_OK(mmapio_close(m));
#ifndef _WIN32
  {
    /* New files get 0666 & ~umask. */
    mode_t old = umask(022);
    umask(old);
    struct stat st;
    ASSERT(stat(p, &st) == 0);
    ASSERT_EQ(st.st_mode & 0777, 0666 & ~old);
  }
#endif

  /* create_rw of an existing file truncates it to `size` zero bytes. */
  ASSERT_OK(mmapio_create_rw(&m, p, 3000));
  ASSERT_U64_EQ(mmapio_len(m), 3000);
  ASSERT_EQ(file_len(p), 3000);
  ASSERT(all_bytes(mmapio_unsafe_ptr(m), 3000, 0));
  ASSERT_OK(mmapio_close(m));

  /* Size 0 and above the maximum: ESIZE, exact messages, file untouched. */
  pat_fill(buf, sizeof buf, 0, 4);
  ASSERT(test_write_file(p, buf, sizeof buf) == 0);
  file_snap s = snap_take(p);
  m = BAD_MAP;
  ASSERT_ERR(mmapio_create_rw(&m, p, 0), MMAPIO_ESIZE, MSG_SIZE_ZERO);
  ASSERT(m == NULL);
  ASSERT_ERR(mmapio_create_rw(&m, p, MMAPIO_MAX_SIZE + 1), MMAPIO_ESIZE,
             size_max_msg(MMAPIO_MAX_SIZE + 1));
  ASSERT_ERR(mmapio_create_rw(&m, p, UINT64_MAX), MMAPIO_ESIZE, size_max_msg(UINT64_MAX));
  ASSERT_SNAP_SAME(p, s);
  snap_free(&s);
  test_unlink(p);

  /* ... and no file is left behind when it did not exist. */
  ASSERT_ERR(mmapio_create_rw(&m, p, 0), MMAPIO_ESIZE, MSG_SIZE_ZERO);
  ASSERT(!file_exists(p));
  ASSERT_ERR(mmapio_create_rw(&m, p, MMAPIO_MAX_SIZE + 1), MMAPIO_ESIZE,
             size_max_msg(MMAPIO_MAX_SIZE + 1));
  ASSERT(!file_exists(p));

  /* mmapio_open with CREATE: size from the options. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, 2 * PS);
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 2 * PS);
  ASSERT_EQ(file_len(p), (int64_t)(2 * PS));
  pat_fill(buf, sizeof buf, 0, 5);
  ASSERT_OK(mmapio_write(m, 100, buf, sizeof buf));
  ASSERT_OK(mmapio_close(m));

  /* CREATE on an existing file opens it as it is (size and content kept),
   * whatever o.size says. */
  o.size = 7;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 2 * PS);
  ASSERT_MEMEQ((uint8_t *)mmapio_unsafe_ptr(m) + 100, buf, sizeof buf);
  ASSERT_OK(mmapio_close(m));
  o.size = 0; /* 0 = keep the file's size: fine for an existing file */
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 2 * PS);
  ASSERT_OK(mmapio_close(m));

  /* CREATE|EXCLUSIVE on an existing file: EEXIST, nothing changed. */
  s = snap_take(p);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE, 100);
  m = BAD_MAP;
  ASSERT_ERR_HAS(mmapio_open(&m, p, &o), MMAPIO_EEXIST, p);
  ASSERT(m == NULL);
  o.flags |= MMAPIO_OPEN_TRUNCATE;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EEXIST);
  ASSERT_SNAP_SAME(p, s);
  snap_free(&s);

  /* TRUNCATE with size 0 or too large: ESIZE, file untouched. */
  s = snap_take(p);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE, 0);
  ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_ESIZE, MSG_SIZE_ZERO);
  o.size = MMAPIO_MAX_SIZE + 1;
  ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_ESIZE, size_max_msg(MMAPIO_MAX_SIZE + 1));
  ASSERT_SNAP_SAME(p, s);
  snap_free(&s);

  /* TRUNCATE (without CREATE) of an existing file: new size, zero content. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE, PS + 1);
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), PS + 1);
  ASSERT(all_bytes(mmapio_unsafe_ptr(m), PS + 1, 0));
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(file_len(p), (int64_t)PS + 1);

  /* CREATE|TRUNCATE on an existing file behaves like create_rw. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, 999);
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 999);
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(file_len(p), 999);
  test_unlink(p);

  /* CREATE|EXCLUSIVE on a missing file creates it. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE, 10);
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 10);
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(file_len(p), 10);
  test_unlink(p);

  /* CREATE with size 0 / too large on a missing file: ESIZE, no file. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, 0);
  ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_ESIZE, MSG_SIZE_ZERO);
  ASSERT(!file_exists(p));
  o.size = MMAPIO_MAX_SIZE + 1;
  ASSERT_ERR(mmapio_open(&m, p, &o), MMAPIO_ESIZE, size_max_msg(MMAPIO_MAX_SIZE + 1));
  ASSERT(!file_exists(p));

  /* SPARSE creates too (no blocks reserved, same observable content). */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_SPARSE, 8 * PS);
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT(all_bytes(mmapio_unsafe_ptr(m), 8 * PS, 0));
  ASSERT_OK(mmapio_close(m));
  ASSERT_EQ(file_len(p), (int64_t)(8 * PS));
  test_unlink(p);

#ifndef _WIN32
  /* PRIVATE_PERMS: 0600 whatever the umask. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_PRIVATE_PERMS, 10);
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_close(m));
  {
    struct stat st;
    ASSERT(stat(p, &st) == 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
  }
  test_unlink(p);
#endif
  free(p);
}

static void check_invalid_options(void)
{
  char *p = mk_file("open-opts", 2 * PS, 9);
  char *missing = test_tmp_path("open-opts-missing");
  file_snap s = snap_take(p);
  mmapio_map *m = BAD_MAP;
  mmapio_options o;

  /* NULL out / path. */
  ASSERT_STATUS(mmapio_open(NULL, p, NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_open(&m, NULL, NULL), MMAPIO_EINVAL);
  ASSERT(m == NULL);
  ASSERT_STATUS(mmapio_open_ro(NULL, p), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_open_rw(NULL, p), MMAPIO_EINVAL);
  if (has_cow()) ASSERT_STATUS(mmapio_open_cow(NULL, p), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_create_rw(NULL, missing, 10), MMAPIO_EINVAL);
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_open_ro(&m, NULL), MMAPIO_EINVAL);
  ASSERT(m == NULL);
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_open_rw(&m, NULL), MMAPIO_EINVAL);
  ASSERT(m == NULL);
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_create_rw(&m, NULL, 10), MMAPIO_EINVAL);
  ASSERT(m == NULL);

  /* Unknown flag bits, with and without CREATE (no file may appear). */
  const uint32_t bad_flags[] = {0x4000u, 0x800u, 0x80000000u, ~MMAPIO_OPEN_ALL_FLAGS_};
  for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
    o = opts(MMAPIO_MODE_READ_WRITE, bad_flags[i], 0);
    m = BAD_MAP;
    ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
    ASSERT(m == NULL);
    o = opts(MMAPIO_MODE_READ_WRITE, bad_flags[i] | MMAPIO_OPEN_CREATE, 100);
    ASSERT_STATUS(mmapio_open(&m, missing, &o), MMAPIO_EINVAL);
    ASSERT(!file_exists(missing));
  }

  /* MMAPIO_OPEN_NOCOW where the file system has no such attribute (the
   * test directory: ext4, tmpfs, NTFS under Wine ...): a plain create, and
   * on an existing file nothing at all. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_NOCOW, 100);
  ASSERT_OK(mmapio_open(&m, missing, &o));
  ASSERT_U64_EQ(mmapio_len(m), 100);
  ASSERT_OK(mmapio_close(m));
  ASSERT(file_len(missing) == 100);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_NOCOW, 0);
  ASSERT_OK(mmapio_open(&m, missing, &o));
  ASSERT_OK(mmapio_close(m));
  test_unlink(missing);

  /* Bad enum values. */
  o = opts((mmapio_mode)0, 0, 0);
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts((mmapio_mode)4, 0, 0);
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts(MMAPIO_MODE_READ_WRITE, 0, 0);
  o.touch = (mmapio_touch_hint)3;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts(MMAPIO_MODE_READ_WRITE, 0, 0);
  o.durability = (mmapio_durability)3;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts(MMAPIO_MODE_READ_WRITE, 0, 0);
  o.flush_policy.kind = (mmapio_flush_kind)5;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts(MMAPIO_MODE_READ_WRITE, 0, 0);
  o.reserved0 = 1;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);

  /* EXCLUSIVE without CREATE. */
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_EXCLUSIVE, 0);
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_EXCLUSIVE | MMAPIO_OPEN_TRUNCATE, 10);
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);

  /* CREATE or TRUNCATE need READ_WRITE. */
  const mmapio_mode not_rw[] = {MMAPIO_MODE_READ_ONLY, MMAPIO_MODE_COPY_ON_WRITE};
  for (size_t i = 0; i < (has_cow() ? 2u : 1u); i++) {
    o = opts(not_rw[i], MMAPIO_OPEN_CREATE, 100);
    ASSERT_STATUS(mmapio_open(&m, missing, &o), MMAPIO_EINVAL);
    ASSERT(!file_exists(missing));
    ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
    o = opts(not_rw[i], MMAPIO_OPEN_TRUNCATE, 100);
    ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
    o = opts(not_rw[i], MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, 100);
    ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  }

  /* struct_size: larger than this library knows, or too small. */
  o = opts(MMAPIO_MODE_READ_WRITE, 0, 0);
  o.struct_size = (uint32_t)sizeof(mmapio_options) + 8;
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EVERSION);
  ASSERT(m == NULL);
  o.struct_size = UINT32_MAX;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EVERSION);
  o.struct_size = 0;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EVERSION);
  o.struct_size = 4;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EVERSION);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, 10);
  o.struct_size = (uint32_t)sizeof(mmapio_options) + 8;
  ASSERT_STATUS(mmapio_open(&m, missing, &o), MMAPIO_EVERSION);
  ASSERT(!file_exists(missing));

  /* max_size smaller than the file, or above the maximum: ESIZE. */
  o = opts(MMAPIO_MODE_READ_WRITE, 0, 0);
  o.max_size = PS; /* file is 2 pages */
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_ESIZE);
  o.max_size = MMAPIO_MAX_SIZE + 1;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_ESIZE);
  o.max_size = 4 * PS; /* fine */
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_U64_EQ(mmapio_len(m), 2 * PS);
  ASSERT_OK(mmapio_close(m));

  ASSERT_SNAP_SAME(p, s);
  snap_free(&s);
  test_unlink(p);
  free(p);
  free(missing);
}

/* The policy given at open applies on every path; RO and COW force MANUAL. */
static void check_policy_paths(void)
{
  char *p = test_tmp_path("open-policy");
  mmapio_map *m;
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, PS);
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_BYTES;
  o.flush_policy.every = 12345;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_EVERY_BYTES);
  ASSERT_U64_EQ(mmapio_flush_policy_of(m).every, 12345);
  ASSERT_OK(mmapio_close(m));
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_EVERY_BYTES);
  ASSERT_OK(mmapio_close(m));
  o.flags = 0;
  o.size = 0;
  o.mode = MMAPIO_MODE_READ_ONLY;
  o.flush_policy.kind = MMAPIO_FLUSH_ALWAYS;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
  ASSERT_OK(mmapio_close(m));
  if (has_cow()) {
    o.mode = MMAPIO_MODE_COPY_ON_WRITE;
    o.flush_policy.kind = MMAPIO_FLUSH_EVERY_WRITES;
    o.flush_policy.every = 1;
    ASSERT_OK(mmapio_open(&m, p, &o));
    ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
    uint8_t b = 1;
    ASSERT_OK(mmapio_write(m, 0, &b, 1));
    ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
    ASSERT_OK(mmapio_close(m));
  }
  test_unlink(p);
  free(p);
}

int main(void)
{
  PS = mmapio_page_size();
  check_options_init();
  check_modes_and_accessors();
  check_empty_file();
  check_create();
  check_invalid_options();
  check_policy_paths();
  return 0;
}
