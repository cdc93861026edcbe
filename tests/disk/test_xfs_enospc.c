/*
 * The full-disk checks of test_ext4_enospc.c on a 300 MiB xfs image (the
 * smallest mkfs.xfs makes; needs xfsprogs), without ext4's maximum file
 * size.
 */
#define FS_TYPE "xfs"
#define FS_IMAGE_MIB 300
#define FS_EXT4 0
#define FS_FIXTURE_FLAGS 0u
#include "test_ext4_enospc.c"
