/*
 * watch_posix.h -- helpers shared by the POSIX watch backends.
 */
#ifndef MMAPIO_WATCH_POSIX_H
#define MMAPIO_WATCH_POSIX_H

int mmapio__posix_split_path(const char *path, char **copy, char **dir, const char **name);

#endif
