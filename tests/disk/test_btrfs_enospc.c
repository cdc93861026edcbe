/*
 * The full-disk checks of test_ext4_enospc.c on a 128 MiB btrfs image (the
 * smallest mkfs.btrfs makes; needs btrfs-progs), without ext4's maximum file
 * size. The fixtures are
 * created with MMAPIO_OPEN_NOCOW: on btrfs only such a file can be written
 * again once the disk is full (see tests/disk/test_btrfs_full.c).
 */
#define FS_TYPE "btrfs"
#define FS_IMAGE_MIB 128
#define FS_EXT4 0
#define FS_FIXTURE_FLAGS MMAPIO_OPEN_NOCOW
#define FS_SKIP_PORTABLE "the portable build (the calls of macOS and the BSDs) has no FS_NOCOW_FL"
#include "test_ext4_enospc.c"
