/*
 * test_win_map.c -- mappings in the Win32 backend: modes, empty maps, the
 * section handle, moving resize (grow, real shrink with a zero tail), every
 * failure path of a resize leaving the old mapping and length intact, the
 * calls a flush makes at each durability level, anonymous maps, and growth
 * in place with placeholders where the system has them.
 */
#include "test.h"

#ifndef _WIN32
int main(void) { TEST_SKIP("Win32 backend test; this is not a Windows build"); }
#else

static mmapio__os_mapping new_om(void)
{
  mmapio__os_mapping om;
  memset(&om, 0, sizeof om);
  return om;
}

static void test_modes(void)
{
  char *p = test_tmp_path("wmap");
  HANDLE rw = win_open_sized(p, 10000), ro;
  mmapio__os_mapping om = new_om();
  uint8_t *back = (uint8_t *)malloc(10000);

  ASSERT_OK(mmapio__os_map(&om, rw, MMAPIO_MODE_READ_WRITE, 10000, 10000, 0, p));
  ASSERT(om.base != NULL);
  ASSERT_U64_EQ(om.reserved, 10000);
  ASSERT(om.handle != NULL);
  ASSERT(*(HANDLE *)om.handle != NULL); /* the section comes first */
  os_fill_pat(om.base, 10000);
  win_file_bytes(p, 0, back, 10000);
  ASSERT(os_check_pat(back, 10000)); /* one page cache: visible through ReadFile */
  mmapio__os_unmap(&om, 10000);
  ASSERT(om.base == NULL && om.handle == NULL);
  ASSERT_U64_EQ(om.reserved, 0);

  /* Copy-on-write over a read-only handle: private writes. */
  ro = win_open(p, 0, 0);
  ASSERT_OK(mmapio__os_map(&om, ro, MMAPIO_MODE_COPY_ON_WRITE, 10000, 10000, 0, p));
  ASSERT(os_check_pat(om.base, 10000));
  memset(om.base, 0xEE, 100);
  win_file_bytes(p, 0, back, 10000);
  ASSERT(os_check_pat(back, 10000));
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio__os_flush(&om, ro, 0, 10000, MMAPIO_DURABLE_DATA, p));
  ASSERT_EQ(mmapio__sys_record_stop(NULL, 0), 0);
  ASSERT_EQ(mmapio__sys_count("FlushViewOfFile"), 0); /* nothing of ours to write */
  mmapio__os_unmap(&om, 10000);

  ASSERT_OK(mmapio__os_map(&om, ro, MMAPIO_MODE_READ_ONLY, 10000, 10000, 0, p));
  ASSERT(os_check_pat(om.base, 10000));
  mmapio__os_unmap(&om, 10000);

  /* A read-write section needs a writable handle. */
  ASSERT_STATUS(mmapio__os_map(&om, ro, MMAPIO_MODE_READ_WRITE, 10000, 10000, 0, p), MMAPIO_EACCES);
  ASSERT_MSG_HAS("CreateFileMappingW(");
  ASSERT_MSG_HAS(p);
  ASSERT(om.base == NULL && om.handle == NULL);

  /* Empty: no section at all. */
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_map(&om, ro, MMAPIO_MODE_READ_ONLY, 0, 0, 0, p));
  ASSERT(om.base == NULL);
  ASSERT_EQ(mmapio__sys_count("CreateFileMappingW"), 0);
  mmapio__os_unmap(&om, 0);
  ASSERT_STATUS(mmapio__os_map(&om, rw, (mmapio_mode)9, 100, 100, 0, p), MMAPIO_EINVAL);

  if (WIN_HOOKS) {
    mmapio__sys_fail_nth("CreateFileMappingW", 1, (int)ERROR_NOT_ENOUGH_MEMORY);
    ASSERT_STATUS(mmapio__os_map(&om, rw, MMAPIO_MODE_READ_WRITE, 10000, 10000, 0, p), MMAPIO_ENOMEM);
    ASSERT(om.base == NULL && om.handle == NULL);
    mmapio__sys_fail_nth("MapViewOfFile", 1, (int)ERROR_NOT_ENOUGH_MEMORY);
    ASSERT_STATUS(mmapio__os_map(&om, rw, MMAPIO_MODE_READ_WRITE, 10000, 10000, 0, p), MMAPIO_ENOMEM);
    ASSERT_MSG_HAS("MapViewOfFile(");
    ASSERT(om.base == NULL && om.handle == NULL);
    mmapio__sys_reset();
  }
  mmapio__os_close_file(ro);
  mmapio__os_close_file(rw);
  ASSERT_OK(mmapio__os_unlink(p));
  free(back);
  free(p);
}

static void test_remap(void)
{
  char *p = test_tmp_path("wremap");
  HANDLE h = win_open_sized(p, 70000);
  mmapio__os_mapping om = new_om();
  uint8_t *back = (uint8_t *)malloc(300000);

  ASSERT_OK(mmapio__os_map(&om, h, MMAPIO_MODE_READ_WRITE, 70000, 70000, 0, p));
  os_fill_pat(om.base, 70000);

  /* Grow: old bytes kept, new bytes zero, file longer. */
  ASSERT_OK(mmapio__os_remap(&om, h, 70000, 200000, 0, p));
  ASSERT_U64_EQ(win_size(h), 200000);
  ASSERT(om.reserved >= 200000);
  ASSERT(os_check_pat(om.base, 70000));
  ASSERT(all_zero(om.base + 70000, 130000));
  om.base[199999] = 0x5A;

  /* A real shrink (a mapped file cannot be truncated: unmap first), then
   * growth again: the cut bytes come back as zero. */
  ASSERT_OK(mmapio__os_remap(&om, h, 200000, 5000, 0, p));
  ASSERT_U64_EQ(win_size(h), 5000);
  ASSERT(os_check_pat(om.base, 5000));
  ASSERT_OK(mmapio__os_remap(&om, h, 5000, 200000, 1, p));
  ASSERT_U64_EQ(win_size(h), 200000);
  ASSERT(os_check_pat(om.base, 5000));
  ASSERT(all_zero(om.base + 5000, 195000));
  win_file_bytes(p, 0, back, 200000);
  ASSERT(os_check_pat(back, 5000));
  ASSERT(all_zero(back + 5000, 195000));

  if (WIN_HOOKS) {
    /* Every failing step leaves the old mapping (content) and length. */
    static const struct { const char *call; DWORD err; int st; } inj[] = {
      {"UnmapViewOfFile", ERROR_INVALID_PARAMETER, MMAPIO_EINVAL},
      {"SetFileAllocation", ERROR_DISK_FULL, MMAPIO_ENOSPC},
      {"SetEndOfFile", ERROR_DISK_FULL, MMAPIO_ENOSPC},
      {"CreateFileMappingW", ERROR_NOT_ENOUGH_MEMORY, MMAPIO_ENOMEM},
      {"MapViewOfFile", ERROR_NOT_ENOUGH_MEMORY, MMAPIO_ENOMEM},
    };
    size_t i;
    int dir;
    for (dir = 0; dir < 2; dir++) {
      uint64_t to = dir == 0 ? 300000 : 100000;
      for (i = 0; i < sizeof inj / sizeof inj[0]; i++) {
        if (dir == 1 && strcmp(inj[i].call, "SetFileAllocation") == 0) continue; /* shrink: none */
        if (strcmp(inj[i].call, "MapViewOfFile") == 0 && mmapio__win_get_api()->placeholders)
          continue; /* placeholder maps use MapViewOfFile3 */
        mmapio__sys_reset();
        om.base[150000] = 0x3C; /* cut by the shrink: must come back */
        mmapio__sys_fail_nth(inj[i].call, 1, (int)inj[i].err);
        ASSERT_STATUS(mmapio__os_remap(&om, h, 200000, to, 0, p), inj[i].st);
        ASSERT_EQ(om.base[150000], 0x3C);
        om.base[150000] = 0;
        ASSERT(strstr(mmapio_last_error(), "again failed too") == NULL);
        ASSERT_U64_EQ(win_size(h), 200000);
        ASSERT(om.base != NULL);
        ASSERT(os_check_pat(om.base, 5000));
        ASSERT_EQ(om.base[199999], 0);
        om.base[199999] = 7; /* still writable */
        om.base[199999] = 0;
      }
    }
    mmapio__sys_reset();
  }
  mmapio__os_unmap(&om, 200000);
  mmapio__os_close_file(h);
  ASSERT_OK(mmapio__os_unlink(p));
  free(back);
  free(p);
}

static void test_flush_calls(void)
{
  char *p = test_tmp_path("wflush");
  HANDLE h = win_open_sized(p, 3 * 65536);
  mmapio__os_mapping om = new_om();
  mmapio__sys_call rec[16];
  size_t n;
  if (!WIN_HOOKS) {
    mmapio__os_close_file(h);
    mmapio__os_unlink(p);
    TEST_SKIP("built without MMAPIO_TEST_HOOKS: flush calls cannot be recorded");
  }
  ASSERT_OK(mmapio__os_map(&om, h, MMAPIO_MODE_READ_WRITE, 3 * 65536, 3 * 65536, 0, p));
  memset(om.base, 0x11, 3 * 65536);

  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio__os_flush(&om, h, 4096, 8192, MMAPIO_DURABLE_DATA, p));
  n = mmapio__sys_record_stop(rec, 16);
  ASSERT_EQ(n, 2);
  ASSERT_STREQ(rec[0].name, "FlushViewOfFile");
  ASSERT_U64_EQ(rec[0].a, (uint64_t)(uintptr_t)(om.base + 4096));
  ASSERT_U64_EQ(rec[0].b, 8192);
  ASSERT_STREQ(rec[1].name, "FlushFileBuffers");

  mmapio__sys_record_start();
  ASSERT_OK(mmapio__os_flush(&om, h, 0, 3 * 65536, MMAPIO_DURABLE_FULL, p));
  n = mmapio__sys_record_stop(rec, 16);
  ASSERT_EQ(n, 2);
  ASSERT_STREQ(rec[0].name, "FlushViewOfFile");
  ASSERT_U64_EQ(rec[0].b, 3 * 65536);
  ASSERT_STREQ(rec[1].name, "FlushFileBuffers");

  mmapio__sys_record_start();
  ASSERT_OK(mmapio__os_flush(&om, h, 0, 65536, MMAPIO_DURABLE_NONE, p));
  n = mmapio__sys_record_stop(rec, 16);
  ASSERT_EQ(n, 1);
  ASSERT_STREQ(rec[0].name, "FlushViewOfFile");

  /* A range running past the end is clipped to the mapping. */
  mmapio__sys_record_start();
  ASSERT_OK(mmapio__os_flush(&om, h, 2 * 65536, 10 * 65536, MMAPIO_DURABLE_NONE, p));
  n = mmapio__sys_record_stop(rec, 16);
  ASSERT_EQ(n, 1);
  ASSERT_U64_EQ(rec[0].b, 65536);

  mmapio__sys_fail_nth("FlushFileBuffers", 1, (int)ERROR_CRC);
  ASSERT_STATUS(mmapio__os_flush(&om, h, 0, 4096, MMAPIO_DURABLE_DATA, p), MMAPIO_EIO);
  ASSERT_MSG_HAS("FlushFileBuffers(");
  ASSERT_MSG_HAS(p);
  ASSERT_EQ(mmapio_last_os_error(), ERROR_CRC);
  mmapio__sys_fail_nth("FlushViewOfFile", 1, (int)ERROR_CRC);
  ASSERT_STATUS(mmapio__os_flush(&om, h, 0, 4096, MMAPIO_DURABLE_DATA, p), MMAPIO_EIO);
  ASSERT_MSG_HAS("FlushViewOfFile(");
  ASSERT_EQ(mmapio__sys_count("FlushFileBuffers"), 3); /* not reached the second time */
  mmapio__sys_reset();

  mmapio__os_unmap(&om, 3 * 65536);
  mmapio__os_close_file(h);
  ASSERT_OK(mmapio__os_unlink(p));
  free(p);
}

static void test_anon(void)
{
  mmapio__os_mapping om = new_om();
  ASSERT_OK(mmapio__os_map_anon(&om, 100000, 0));
  ASSERT(om.base != NULL);
  ASSERT(all_zero(om.base, 100000));
  os_fill_pat(om.base, 100000);
  mmapio__sys_reset();
  mmapio__sys_record_start();
  ASSERT_OK(mmapio__os_flush(&om, MMAPIO_INVALID_FILE, 0, 100000, MMAPIO_DURABLE_DATA, NULL));
  ASSERT_EQ(mmapio__sys_record_stop(NULL, 0), 0);
  ASSERT_EQ(mmapio__sys_count(NULL), 0); /* paging-file sections: nothing to flush */

  ASSERT_OK(mmapio__os_remap(&om, MMAPIO_INVALID_FILE, 100000, 300000, 0, NULL));
  ASSERT(os_check_pat(om.base, 100000));
  ASSERT(all_zero(om.base + 100000, 200000));
  ASSERT_OK(mmapio__os_remap(&om, MMAPIO_INVALID_FILE, 300000, 5000, 0, NULL));
  ASSERT(os_check_pat(om.base, 5000));
  if (WIN_HOOKS) {
    uint8_t *before = om.base;
    mmapio__sys_fail_nth("CreateFileMappingW", 1, (int)ERROR_COMMITMENT_LIMIT);
    ASSERT_STATUS(mmapio__os_remap(&om, MMAPIO_INVALID_FILE, 5000, 1u << 20, 0, NULL), MMAPIO_ENOMEM);
    ASSERT(om.base == before);
    ASSERT(os_check_pat(om.base, 5000));
    mmapio__sys_reset();
  }
  mmapio__os_unmap(&om, 5000);
  ASSERT(om.base == NULL);

  ASSERT_OK(mmapio__os_map_anon(&om, 4096, MMAPIO_ANON_SHARED));
  om.base[4095] = 1;
  mmapio__os_unmap(&om, 4096);
}

static void test_reserve(void)
{
  char *p = test_tmp_path("wgrow");
  HANDLE h = win_open_sized(p, 10000);
  mmapio__os_mapping om = new_om();
  uint8_t *base;
  om.keep = 1u << 20;
  ASSERT_OK(mmapio__os_map(&om, h, MMAPIO_MODE_READ_WRITE, 10000, 1u << 20, 0, p));
  os_fill_pat(om.base, 10000);
  base = om.base;
  if (!mmapio__win_get_api()->placeholders) {
    /* Documented fallback: only len is reserved, so resizes move. */
    ASSERT_U64_EQ(om.reserved, 10000);
    ASSERT_STATUS(mmapio__os_grow_in_place(&om, h, 10000, 20000, p), MMAPIO_EINVAL);
    printf("note: no placeholders here (%s): growth in place is not available, resizes move\n",
           win_is_wine() ? "Wine" : "Windows before 10 1803");
  } else {
    uint64_t len = 10000, next;
    ASSERT(om.reserved >= (1u << 20));
    /* Grow in place several times, across page and 64 KiB boundaries. */
    for (next = 12000; next <= 900000; next = next * 3 + 17) {
      ASSERT_OK(mmapio__os_file_set_size(h, len, next, 0, p));
      ASSERT_OK(mmapio__os_grow_in_place(&om, h, len, next, p));
      ASSERT(om.base == base);
      ASSERT(os_check_pat(om.base, 10000));
      ASSERT(all_zero(om.base + len - (len > 10000 ? len - 10000 : 0) + (len > 10000 ? len - 10000 : 0), 0));
      om.base[next - 1] = 0x77;
      len = next;
    }
    ASSERT_OK(mmapio__os_flush(&om, h, 0, len, MMAPIO_DURABLE_DATA, p));
    {
      uint8_t last = 0;
      win_file_bytes(p, len - 1, &last, 1);
      ASSERT_EQ(last, 0x77);
    }
    /* A shrink within the reservation keeps the address. */
    ASSERT_OK(mmapio__os_remap(&om, h, len, 10000, 0, p));
    ASSERT(om.base == base);
    ASSERT(os_check_pat(om.base, 10000));
    ASSERT_U64_EQ(win_size(h), 10000);
    /* Growth beyond it moves and keeps the data. */
    ASSERT_OK(mmapio__os_remap(&om, h, 10000, 3u << 20, 1, p));
    ASSERT(os_check_pat(om.base, 10000));
    ASSERT(all_zero(om.base + 10000, 65536));
    mmapio__os_unmap(&om, 3u << 20);
    mmapio__os_close_file(h);
    ASSERT_OK(mmapio__os_unlink(p));
    free(p);
    return;
  }
  mmapio__os_unmap(&om, 10000);
  mmapio__os_close_file(h);
  ASSERT_OK(mmapio__os_unlink(p));
  free(p);
}

/* The same through the public API: create, write, resize both ways, flush,
 * read back through the file, with a non-ASCII name. */
static void test_public(void)
{
  char *base = test_tmp_path("wpub");
  size_t n = strlen(base) + 16;
  char *p = (char *)malloc(n);
  mmapio_map *m = NULL;
  mmapio_options o;
  uint8_t buf[64], back[64];
  snprintf(p, n, "%s-\xc3\xb1", base);
  memset(buf, 0xAB, sizeof buf);
  ASSERT_OK(mmapio_create_rw(&m, p, 100000));
  ASSERT_OK(mmapio_write(m, 99936, buf, sizeof buf));
  ASSERT_OK(mmapio_resize(m, 300000));
  ASSERT_OK(mmapio_write(m, 299936, buf, sizeof buf));
  ASSERT_OK(mmapio_resize(m, 100000));
  ASSERT_OK(mmapio_resize(m, 300000));
  ASSERT_OK(mmapio_read(m, 299936, back, sizeof back));
  ASSERT(all_zero(back, sizeof back)); /* real shrink */
  ASSERT_OK(mmapio_read(m, 99936, back, sizeof back));
  ASSERT_MEMEQ(buf, back, sizeof buf);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  win_file_bytes(p, 99936, back, sizeof back);
  ASSERT_MEMEQ(buf, back, sizeof buf);

  /* max_size: in place with placeholders, moving otherwise; same result. */
  mmapio_options_init(&o);
  o.max_size = 8u << 20;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_resize(m, 5u << 20));
  ASSERT_OK(mmapio_read(m, 99936, back, sizeof back));
  ASSERT_MEMEQ(buf, back, sizeof buf);
  ASSERT_OK(mmapio_write(m, (5u << 20) - 64, buf, sizeof buf));
  ASSERT_OK(mmapio_close(m));
  win_file_bytes(p, (5u << 20) - 64, back, sizeof back);
  ASSERT_MEMEQ(buf, back, sizeof buf);
  ASSERT_OK(mmapio__os_unlink(p));
  free(p);
  free(base);
}

int main(void)
{
  printf("placeholders: %s\n", mmapio__win_get_api()->placeholders ? "yes" : "no");
  test_modes();
  test_remap();
  test_anon();
  test_reserve();
  test_public();
  test_flush_calls(); /* last: skips without hooks */
  printf("win map: ok\n");
  return 0;
}
#endif
