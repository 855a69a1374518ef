/* SPDX-License-Identifier: MIT */
/*
 * /proc/self/mountinfo: is a folder a FUSE mount point here? Read from the
 * kernel's table, never by following the path (which a user may own). libc
 * only: glassboxd and glassbox-storage-sidecar share it.
 */
#ifndef GB_MOUNTINFO_H
#define GB_MOUNTINFO_H

#include <stdbool.h>

/**
 * True when @path is the mount point of a FUSE file system ("fuse",
 * "fuse.rclone", "fuseblk"...) in this process's mount namespace. When the
 * table cannot be read: @if_unknown.
 */
bool gb_mountinfo_fuse_at(const char *path, bool if_unknown);

#endif
