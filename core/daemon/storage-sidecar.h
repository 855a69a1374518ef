/* SPDX-License-Identifier: MIT */
/*
 * A storage sidecar's process: run as the session's user, its secrets in
 * sealed memory files (fd 3 and up), its output logged line by line, its mount looked up
 * in /proc/self/mountinfo (never by following a path the user can write).
 */
#ifndef GB_STORAGE_SIDECAR_H
#define GB_STORAGE_SIDECAR_H

#include <stdbool.h>
#include <sys/types.h>

#include <glib.h>

#include <glassbox/storage.h>

/** Who a sidecar runs as, and where. */
struct gb_sidecar_account {
	uid_t uid;
	gid_t gid;
	const char *user; /* for USER= */
	const char *home;
};

/** Called with each line the sidecar writes, and once with NULL at EOF. */
typedef void (*gb_sidecar_line_func)(void *data, const char *line);

struct gb_sidecar_process {
	GPid pid; /* 0 when not running */
	int output_fd;
	guint output_source;
	GString *partial;
	gb_sidecar_line_func line;
	void *data;
};

/**
 * Start @mount's sidecar as @account: its target's folders made (as the
 * user), its secrets in sealed memory files that become fds 3, 4, ... 0, or a
 * negative errno with one line in @error. The caller watches @process->pid
 * (g_child_watch_add) and calls gb_sidecar_close() once it has exited.
 */
int gb_sidecar_spawn(struct gb_sidecar_process *process, const struct gb_storage_mount *mount,
                     const struct gb_sidecar_account *account, gb_sidecar_line_func line,
                     void *data, char *error, size_t error_size);
/** Stop reading its output and forget the pid. */
void gb_sidecar_close(struct gb_sidecar_process *process);
/** True when @target is a FUSE mount point in /proc/self/mountinfo. */
bool gb_sidecar_mounted(const char *target);
/** `fusermount3 -u -z TARGET` as @account: what a killed sidecar left behind. */
void gb_sidecar_unmount_stale(const char *target, const struct gb_sidecar_account *account);

#endif
