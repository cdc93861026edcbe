/*
 * The power-cut checks of test_ext4_powercut.c on a 300 MiB xfs image
 * (the smallest mkfs.xfs makes; needs xfsprogs). The copy taken at each
 * check is mounted, which replays XFS's log as at the next boot.
 */
#define FS_TYPE "xfs"
#define FS_IMAGE_MIB 300
#include "test_ext4_powercut.c"
