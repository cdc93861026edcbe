/*
 * os_fast.h (Windows) -- the backend calls of mmapio_open_ro and of its
 * close. The POSIX backend defines them inline (src/posix/os_fast.h, which
 * also describes them); here they stay out of line: the open leaves the
 * mapping to the core's general steps (a section and a view, with their
 * own checks), so it never returns MMAPIO_OK and no Windows map is a
 * fastro map (map.c); the unmap and close take any mapping and file. Only
 * map.c includes this header.
 */
#ifndef MMAPIO_OS_FAST_H
#define MMAPIO_OS_FAST_H

#include "internal.h"

#define MMAPIO__OS_NOT_MAPPED 1
int mmapio__os_open_map_ro(mmapio__os_mapping *om, mmapio_native_file *f, uint64_t *len,
                           const char *path);                                   /* files.c */
void mmapio__os_unmap_close(const mmapio__os_mapping *om, mmapio_native_file f); /* map.c */

#endif /* MMAPIO_OS_FAST_H */
