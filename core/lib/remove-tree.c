/* SPDX-License-Identifier: MIT */
/* rm -rf of folders a program made itself (remove-tree.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "remove-tree.h"

/* Deeper than any folder we make: a deeper one is left, not recursed into. */
#define TREE_DEPTH_MAX 8

static void remove_tree_at(int dir_fd, const char *name, int depth)
{
	DIR *dir;
	struct dirent *entry;
	int fd;

	if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
		return;
	if (errno != EISDIR || depth > TREE_DEPTH_MAX)
		goto remove_dir;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto remove_dir;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		goto remove_dir;
	}
	while ((entry = readdir(dir))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		remove_tree_at(dirfd(dir), entry->d_name, depth + 1);
	}
	closedir(dir);
remove_dir:
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		gb_warning("cannot remove %s: %s", name, strerror(errno));
}

void gb_remove_tree(const char *path)
{
	if (path)
		remove_tree_at(AT_FDCWD, path, 0);
}

void gb_remove_tree_at(int dir_fd, const char *name)
{
	if (name)
		remove_tree_at(dir_fd, name, 0);
}
