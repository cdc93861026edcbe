/*
 * The power-cut checks of test_ext4_powercut.c on a 128 MiB btrfs image
 * (the smallest mkfs.btrfs makes; needs btrfs-progs). The copy taken at each
 * check is mounted, which replays btrfs's log tree as at the next boot.
 */
#define FS_TYPE "btrfs"
#define FS_IMAGE_MIB 128
#include "test_ext4_powercut.c"
