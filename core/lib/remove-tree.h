/* SPDX-License-Identifier: MIT */
/*
 * rm -rf of a folder the program made itself (a session's folder, one left
 * by an earlier run). Links are removed, never followed; a failure to
 * remove something is logged and the rest goes on.
 */
#ifndef GB_REMOVE_TREE_H
#define GB_REMOVE_TREE_H

/** Remove @path and everything below it; NULL does nothing. */
void gb_remove_tree(const char *path);

/** Remove @name, relative to the open folder @dir_fd, and everything below it. */
void gb_remove_tree_at(int dir_fd, const char *name);

#endif
