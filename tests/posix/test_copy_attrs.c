/*
 * test_copy_attrs.c -- mmapio_copy_file over an existing destination keeps
 * its extended attributes and its ACL (Linux builds; ACLs are the
 * system.posix_acl_access attribute there):
 *   - the replace (a temporary file renamed over the destination: a new
 *     inode) gives the new file every attribute of the old one: short and
 *     long values, an empty one, more names than a small list buffer
 *     holds, an access ACL (built by hand, no libacl), and as root a
 *     trusted.* attribute and file capabilities (security.capability,
 *     which writing to a file clears, so it must be set after the bytes);
 *   - a destination without attributes costs one flistxattr and nothing
 *     more;
 *   - an attribute the new file refuses (EPERM, ENOTSUP injected into
 *     fsetxattr) makes the copy go in place: same inode, new content, every
 *     attribute kept;
 *   - a failing flistxattr, fgetxattr or fsetxattr (EIO) is reported naming
 *     the call and the destination, which keeps its content and attributes,
 *     and no temporary file is left;
 *   - flistxattr's ENOTSUP (a file system without extended attributes) means
 *     "none".
 * Skipped where the file system of the test directory has no user.*
 * attributes, and in builds that do not copy attributes (not Linux, or
 * MMAPIO_PORTABLE_POSIX).
 */
#include "test.h"

#if !defined(__linux__) || defined(MMAPIO_PORTABLE_POSIX) || defined(_WIN32)
int main(void)
{
  TEST_SKIP("only Linux builds without MMAPIO_PORTABLE_POSIX copy extended attributes "
            "(include/mmapio.h, mmapio_copy_file)");
}
#else

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* All extended attributes of a file (at most 128), sorted by name: the
 * kernel's list order is not the same for two inodes. */
typedef struct attr_set {
  size_t n;
  char *name[128];
  unsigned char *val[128];
  size_t len[128];
} attr_set;

static int cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void attrs_free(attr_set *s)
{
  for (size_t i = 0; i < s->n; i++) {
    free(s->name[i]);
    free(s->val[i]);
  }
  s->n = 0;
}

static attr_set attrs_take(const char *path)
{
  attr_set s;
  memset(&s, 0, sizeof s);
  static char list[65536];
  ssize_t n = listxattr(path, list, sizeof list);
  if (n < 0) TEST_FAIL_("listxattr(%s): %s", path, strerror(errno));
  for (size_t i = 0; i < (size_t)n; i += strlen(list + i) + 1) {
    ASSERT(s.n < 128);
    const char *nm = list + i;
    ssize_t v = getxattr(path, nm, NULL, 0);
    if (v < 0) TEST_FAIL_("getxattr(%s, %s): %s", path, nm, strerror(errno));
    unsigned char *buf = (unsigned char *)malloc((size_t)v + 1);
    ASSERT(buf != NULL);
    v = getxattr(path, nm, buf, (size_t)v);
    ASSERT(v >= 0);
    s.name[s.n] = strdup(nm);
    ASSERT(s.name[s.n] != NULL);
    s.val[s.n] = buf;
    s.len[s.n] = (size_t)v;
    s.n++;
  }
  /* Sort names with their values (selection sort keeps the parallel
   * arrays together; the sets are small). */
  for (size_t i = 0; i + 1 < s.n; i++) {
    size_t m = i;
    for (size_t j = i + 1; j < s.n; j++)
      if (cmp_names(&s.name[j], &s.name[m]) < 0) m = j;
    char *tn = s.name[i];
    unsigned char *tv = s.val[i];
    size_t tl = s.len[i];
    s.name[i] = s.name[m], s.val[i] = s.val[m], s.len[i] = s.len[m];
    s.name[m] = tn, s.val[m] = tv, s.len[m] = tl;
  }
  return s;
}

static void attrs_expect_same(const char *path, const attr_set *want, int line)
{
  attr_set now = attrs_take(path);
  if (now.n != want->n) {
    for (size_t i = 0; i < now.n; i++) fprintf(stderr, "  now: %s\n", now.name[i]);
    for (size_t i = 0; i < want->n; i++) fprintf(stderr, "  want: %s\n", want->name[i]);
    TEST_FAIL_("line %d: %s has %zu attributes, want %zu", line, path, now.n, want->n);
  }
  for (size_t i = 0; i < now.n; i++) {
    if (strcmp(now.name[i], want->name[i]) != 0)
      TEST_FAIL_("line %d: %s: attribute %s, want %s", line, path, now.name[i], want->name[i]);
    if (now.len[i] != want->len[i] || memcmp(now.val[i], want->val[i], now.len[i]) != 0)
      TEST_FAIL_("line %d: %s: attribute %s changed (%zu bytes, want %zu)", line, path,
                 now.name[i], now.len[i], want->len[i]);
  }
  attrs_free(&now);
}
#define ATTRS_SAME(path, want) attrs_expect_same((path), (want), __LINE__)

static uint64_t ino_of(const char *path)
{
  struct stat st;
  ASSERT_EQ(stat(path, &st), 0);
  return (uint64_t)st.st_ino;
}

static mode_t mode_of(const char *path)
{
  struct stat st;
  ASSERT_EQ(stat(path, &st), 0);
  return st.st_mode & 07777;
}

/* Little-endian stores for the kernel's attribute formats. */
static void le16(unsigned char *p, unsigned v)
{
  p[0] = (unsigned char)(v & 0xffu);
  p[1] = (unsigned char)((v >> 8) & 0xffu);
}
static void le32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)((v >> (8 * i)) & 0xffu);
}

/* An access ACL in the kernel's xattr format (linux/posix_acl_xattr.h):
 * version 2, then {tag, perm, id} entries in tag order: owner rw-, user
 * 4242 r--, owning group r--, mask r--, other ---. */
static size_t make_acl(unsigned char *b)
{
  static const struct { unsigned tag, perm; uint32_t id; } e[] = {
    {0x01, 6, 0xffffffffu}, /* ACL_USER_OBJ */
    {0x02, 4, 4242u},       /* ACL_USER */
    {0x04, 4, 0xffffffffu}, /* ACL_GROUP_OBJ */
    {0x10, 4, 0xffffffffu}, /* ACL_MASK */
    {0x20, 0, 0xffffffffu}, /* ACL_OTHER */
  };
  le32(b, 2u);
  size_t n = 4;
  for (size_t i = 0; i < sizeof e / sizeof e[0]; i++, n += 8) {
    le16(b + n, e[i].tag);
    le16(b + n + 2, e[i].perm);
    le32(b + n + 4, e[i].id);
  }
  return n;
}

static char *src, *dst, *dir;
static file_snap src_snap;
#define SRC_LEN (70u * 1024u + 3u)

/* A fresh `dst` with the old content and the attributes of the test. */
static void make_dst(const uint8_t *old, size_t oldn, int with_attrs, int with_acl)
{
  test_unlink(dst);
  ASSERT_EQ(test_write_file(dst, old, oldn), 0);
  ASSERT_EQ(chmod(dst, 0640), 0);
  if (!with_attrs) return;
  ASSERT_EQ(setxattr(dst, "user.alpha", "first value", 11, 0), 0);
  ASSERT_EQ(setxattr(dst, "user.empty", "", 0, 0), 0);
  static unsigned char big[1500];
  pat_fill(big, sizeof big, 0, 31);
  ASSERT_EQ(setxattr(dst, "user.big", big, sizeof big, 0), 0);
  /* More names than a small list buffer holds (all of the attributes fit
   * in one 4 KiB block, as ext4 needs). */
  for (int i = 0; i < 30; i++) {
    char nm[64];
    snprintf(nm, sizeof nm, "user.many-attribute-%02d", i);
    ASSERT_EQ(setxattr(dst, nm, nm + 20, 2, 0), 0);
  }
  if (with_acl) {
    unsigned char acl[64];
    size_t n = make_acl(acl);
    ASSERT_EQ(setxattr(dst, "system.posix_acl_access", acl, n, 0), 0);
  }
}

/* The copy fails with `err` injected into the nth `call`: reported naming
 * the call and dst, which keeps its content and attributes; no temporary
 * file is left. */
static void expect_fail(const char *call, unsigned nth, int err, const file_snap *snap,
                        const attr_set *attrs, int line)
{
  uint64_t ino = ino_of(dst);
  mmapio__sys_reset();
  mmapio__sys_fail_nth(call, nth, err);
  int rc = mmapio_copy_file(src, dst);
  unsigned hits = mmapio__sys_count(call);
  mmapio__sys_reset();
  if (hits < nth) TEST_FAIL_("line %d: the copy made %u %s calls, want %u", line, hits, call, nth);
  if (rc != mmapio__os_status(err))
    TEST_FAIL_("line %d: status %d (%s), want that of errno %d", line, rc, mmapio_strerror(rc),
               err);
  char want[1024];
  snprintf(want, sizeof want, "%s(%s)", call, dst);
  if (strstr(mmapio_last_error(), want) == NULL)
    TEST_FAIL_("line %d: detail \"%s\" lacks \"%s\"", line, mmapio_last_error(), want);
  ASSERT_EQ(mmapio_last_os_error(), err);
  ASSERT_SNAP_SAME(dst, *snap);
  ASSERT_SNAP_SAME(src, src_snap);
  attrs_expect_same(dst, attrs, line);
  ASSERT_EQ(ino_of(dst), ino);
  ASSERT_EQ(test_dir_entries(dir), 1);
}

int main(void)
{
  if (!have_hooks("mmapio_copy_file's attribute copy")) return 0;
  src = mk_file("copya-src", SRC_LEN, 41);
  src_snap = snap_take(src);
  dir = test_tmp_path("copya-dir");
  ASSERT_EQ(make_dir(dir), 0);
  dst = test_path_in(dir, "dst");
  uint8_t old[1000];
  pat_fill(old, sizeof old, 0, 42);

  /* Does the file system of the test directory take user.* attributes? */
  ASSERT_EQ(test_write_file(dst, old, sizeof old), 0);
  if (setxattr(dst, "user.mmapio-probe", "1", 1, 0) != 0) {
    int e = errno;
    test_unlink(dst);
    ASSERT_EQ(remove_dir(dir), 0);
    if (e == ENOTSUP || e == EOPNOTSUPP)
      TEST_SKIP("the file system of %s has no user.* extended attributes", dir);
    TEST_FAIL_("setxattr(%s, user.mmapio-probe): %s", dst, strerror(e));
  }
  /* Room for the test's attributes (a 1500-byte value and 30 more names):
   * ext4 with 1 KiB blocks keeps all of a file's attributes in one block. */
  {
    static unsigned char big[1500];
    int fits = setxattr(dst, "user.big", big, sizeof big, 0) == 0;
    for (int i = 0; fits && i < 30; i++) {
      char nm[64];
      snprintf(nm, sizeof nm, "user.many-attribute-%02d", i);
      fits = setxattr(dst, nm, nm + 20, 2, 0) == 0;
    }
    int e = errno;
    if (!fits && (e == ENOSPC || e == E2BIG)) {
      test_unlink(dst);
      ASSERT_EQ(remove_dir(dir), 0);
      TEST_SKIP("the file system of %s holds fewer extended attributes per file than the test "
                "sets (%s; ext4 with 1 KiB blocks)", dir, strerror(e));
    }
    if (!fits) TEST_FAIL_("setxattr(%s, user.*): %s", dst, strerror(e));
  }
  test_unlink(dst);
  ASSERT_EQ(test_write_file(dst, old, sizeof old), 0);
  unsigned char acl[64];
  size_t acln = make_acl(acl);
  int has_acl = setxattr(dst, "system.posix_acl_access", acl, acln, 0) == 0;
  if (!has_acl) printf("note: no POSIX ACLs on this file system (%s), ACL not tested\n",
                       strerror(errno));
  test_unlink(dst);

  /* 1. Replace: a new inode with the new content, the old attributes,
   *    the ACL and the permission bits the ACL gave. */
  make_dst(old, sizeof old, 1, has_acl);
  attr_set want = attrs_take(dst);
  ASSERT(want.n >= 33);
  mode_t mode = mode_of(dst);
  if (has_acl) ASSERT_EQ(mode, 0640); /* group r-- is the mask */
  uint64_t ino = ino_of(dst);
  mmapio__sys_reset();
  ASSERT_OK(mmapio_copy_file(src, dst));
  ASSERT(mmapio__sys_count("flistxattr") >= 1);
  ASSERT_EQ(mmapio__sys_count("ftruncate"), 0); /* not in place */
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 41));
  ASSERT_NE(ino_of(dst), ino);
  ATTRS_SAME(dst, &want);
  ASSERT_EQ(mode_of(dst), mode);
  ASSERT_EQ(test_dir_entries(dir), 1);
  attrs_free(&want);

  /* 2. No attributes: one flistxattr, no other attribute call. A system
   *    that labels every new file (SELinux) gives it one; the count is
   *    only checked without. */
  make_dst(old, sizeof old, 0, 0);
  want = attrs_take(dst);
  mmapio__sys_reset();
  ASSERT_OK(mmapio_copy_file(src, dst));
  if (want.n == 0) {
    ASSERT_EQ(mmapio__sys_count("flistxattr"), 1);
    ASSERT_EQ(mmapio__sys_count("fgetxattr"), 0);
    ASSERT_EQ(mmapio__sys_count("fsetxattr"), 0);
  }
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 41));
  ASSERT_EQ(mode_of(dst), 0640);
  attrs_free(&want);

  /* 3. An attribute the new file refuses: in place (same inode), new
   *    content, every attribute kept. */
  static const int refusals[] = {EPERM, ENOTSUP, EACCES};
  for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
    make_dst(old, sizeof old, 1, has_acl);
    want = attrs_take(dst);
    ino = ino_of(dst);
    mmapio__sys_reset();
    mmapio__sys_fail_nth("fsetxattr", 3, refusals[i]);
    ASSERT_OK(mmapio_copy_file(src, dst));
    ASSERT_EQ(mmapio__sys_count("ftruncate"), 1);
    mmapio__sys_reset();
    ASSERT(file_has_pattern(dst, SRC_LEN, 41));
    ASSERT_EQ(ino_of(dst), ino);
    ATTRS_SAME(dst, &want);
    ASSERT_EQ(mode_of(dst), mode);
    ASSERT_EQ(test_dir_entries(dir), 1);
    attrs_free(&want);
  }

  /* 4. Failures of the attribute calls: reported, nothing changed, no
   *    temporary file. The first fgetxattr of user.big (1500 bytes) is
   *    answered ERANGE by the small buffer, so the later ones are tested
   *    too. */
  make_dst(old, sizeof old, 1, has_acl);
  want = attrs_take(dst);
  file_snap dst_snap = snap_take(dst);
  expect_fail("flistxattr", 1, EIO, &dst_snap, &want, __LINE__);
  expect_fail("flistxattr", 2, EIO, &dst_snap, &want, __LINE__); /* the size query */
  expect_fail("fgetxattr", 1, EIO, &dst_snap, &want, __LINE__);
  expect_fail("fgetxattr", 20, ENOMEM, &dst_snap, &want, __LINE__);
  expect_fail("fsetxattr", 1, EIO, &dst_snap, &want, __LINE__);
  expect_fail("fsetxattr", 30, ENOSPC, &dst_snap, &want, __LINE__);
  snap_free(&dst_snap);
  attrs_free(&want);

  /* 5. flistxattr's ENOTSUP: a file system without attributes, so none
   *    to copy; the replace goes ahead. */
  make_dst(old, sizeof old, 0, 0);
  mmapio__sys_reset();
  mmapio__sys_fail_nth("flistxattr", 1, ENOTSUP);
  ASSERT_OK(mmapio_copy_file(src, dst));
  ASSERT_EQ(mmapio__sys_count("fgetxattr"), 0);
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 41));
  ASSERT_EQ(test_dir_entries(dir), 1);

  /* 6. root: trusted.* and file capabilities (VFS_CAP_REVISION_2 with the
   *    effective flag, CAP_NET_BIND_SERVICE permitted). Writing to a file
   *    drops security.capability, so the copy sets it after the bytes. */
  if (geteuid() == 0) {
    make_dst(old, sizeof old, 1, 0);
    int have_trusted = setxattr(dst, "trusted.mmapio", "t", 1, 0) == 0;
    unsigned char cap[20];
    memset(cap, 0, sizeof cap);
    le32(cap, 0x02000000u | 0x1u);
    le32(cap + 4, 1u << 10);
    int have_cap = setxattr(dst, "security.capability", cap, sizeof cap, 0) == 0;
    if (!have_trusted || !have_cap)
      printf("note: trusted.* %s, security.capability %s here\n",
             have_trusted ? "set" : "refused", have_cap ? "set" : "refused");
    want = attrs_take(dst);
    ino = ino_of(dst);
    ASSERT_OK(mmapio_copy_file(src, dst));
    ASSERT(file_has_pattern(dst, SRC_LEN, 41));
    ASSERT_NE(ino_of(dst), ino);
    ATTRS_SAME(dst, &want);
    attrs_free(&want);
  } else {
    printf("note: not root, trusted.* and security.capability not tested\n");
  }

  test_unlink(dst);
  ASSERT_EQ(remove_dir(dir), 0);
  free(dst);
  free(dir);
  snap_free(&src_snap);
  test_unlink(src);
  free(src);
  printf("ok\n");
  return 0;
}
#endif
