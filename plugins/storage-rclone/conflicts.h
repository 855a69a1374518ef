/* SPDX-License-Identifier: MIT */
/*
 * storage-rclone: conflict copies. rclone 1.60's VFS cache uploads a file
 * edited here over the remote's copy even when that copy changed since the
 * file was cached (vfs/vfscache/item.go, _checkObject: "local modifications
 * take precedence"). Before that upload, while the file waits out the
 * write-back delay, status() finds such files in the cache's metadata and
 * has the sidecar copy the remote's version to "NAME (conflict
 * YYYY-MM-DD HHMMSS).EXT" on the remote; then rclone's upload puts the local
 * edit at NAME. Neither version is lost when the check comes first; see the
 * README for the race when it does not.
 *
 * The metadata lives in the user's home, which root must not trust: every
 * folder and file is opened beneath a folder fd with O_NOFOLLOW, files must
 * be regular, the user's and small, and the walk is bounded in depth and
 * entries. What is read is only ever used on the user's own remote, by the
 * user's own sidecar.
 */
#ifndef GB_RCLONE_CONFLICTS_H
#define GB_RCLONE_CONFLICTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include <glassbox/plugin.h>

#define GB_CONFLICTS_META_MAX        (64 * 1024) /* bytes of one vfsMeta file */
#define GB_CONFLICTS_DEPTH_MAX       32          /* folders below the cache's root */
#define GB_CONFLICTS_ENTRIES_MAX     20000       /* entries looked at in one check */
#define GB_CONFLICTS_DIRTY_MAX       1024        /* files waiting for upload found in one walk */
#define GB_CONFLICTS_REMEMBERED      64          /* conflicts already saved, not saved twice */
#define GB_CONFLICTS_JOBS_MAX        8           /* copies under way */
#define GB_CONFLICTS_NAME_TRIES      10
#define GB_CONFLICTS_BUDGET_MS       3000 /* time one check may take, besides a copy's wait */
#define GB_CONFLICTS_QUIET_S         10   /* no check this long after the remote timed out */
#define GB_CONFLICTS_INTERVAL_MS     1000 /* between checks: the flush asks every 250 ms */
#define GB_CONFLICTS_FINGERPRINT_MAX 512

/** What rclone's cache says of one file (vfsMeta/<remote>/<name>, JSON). */
struct gb_vfs_meta {
	bool dirty;   /* written here, not yet uploaded */
	int64_t size; /* of the local file */
	bool has_modtime;
	gint64 modtime_us;                              /* of the local file, Unix time in µs */
	char fingerprint[GB_CONFLICTS_FINGERPRINT_MAX]; /* of the remote's copy when cached */
};

#define GB_REMOTE_HASHES_MAX 4

/** One file on the remote, from operations/stat. */
struct gb_remote_object {
	bool exists;
	bool is_dir;
	int64_t size;
	bool has_modtime;
	gint64 modtime_us;
	size_t n_hashes;
	char hashes[GB_REMOTE_HASHES_MAX][160];
};

/** Parse a vfsMeta file's text. 0, or -EINVAL. */
int gb_vfs_meta_parse(const char *text, struct gb_vfs_meta *meta);

/** Parse the body of operations/stat. 0 (object->exists false when "item" is null), or -EINVAL. */
int gb_remote_object_parse(const char *body, struct gb_remote_object *object);

/**
 * Whether the remote's copy of a file that waits for upload (@meta dirty)
 * differs from the one it was cached from (its fingerprint: "size[,modtime
 * UTC][,hash]", as rclone's fs.Fingerprint writes it), so that uploading
 * would overwrite a version nobody here has seen. False when the remote's
 * copy is gone or is the local file itself (same size and modification time
 * to the second: rclone's own upload).
 */
bool gb_conflict_remote_changed(const struct gb_vfs_meta *meta,
                                const struct gb_remote_object *object);

/**
 * "dir/NAME (conflict YYYY-MM-DD HHMMSS).EXT" for @name at @when (UTC);
 * @attempt > 0 adds " N" after the time. A leading dot is no extension.
 * g_free() it.
 */
char *gb_conflict_name(const char *name, GDateTime *when, unsigned attempt);

/** What the checks need of one mount. */
struct gb_conflicts_mount {
	const struct gb_host *host;
	uint16_t port;
	const char *rc_user;
	const char *password;
	const char *remote;       /* "section:path", the sidecar's remote */
	const char *home;         /* absolute */
	const char *cache_folder; /* relative to home */
	uid_t uid;                /* the session's account; (uid_t)-1 when not known (systemd) */
	const char *mount_name;
	const char *identity;
};

struct gb_conflict_job {
	int64_t jobid;
	char *name;
	char *copy;
	struct gb_remote_object object; /* what the remote held when the copy started */
};

/**
 * Open the folder of @mount's cache metadata, @path_meta (what vfs/stats
 * says), from the home down without following a link; it must lie in
 * home/cache_folder/vfsMeta. The fd, with the uid its files must have in
 * *owner (the home's, never root, @mount->uid when known); or -1 with errno.
 */
int gb_conflicts_open_meta(const struct gb_conflicts_mount *mount, const char *path_meta,
                           uid_t *owner);

/**
 * Add to @names (g_free()d strings) the files of the metadata folder @root
 * that wait for upload, relative to it: links are not followed, files not
 * @owner's, not regular or too large are skipped, and the walk is bounded.
 */
void gb_conflicts_waiting(int root, uid_t owner, GPtrArray *names);

/** One mount's conflict state, kept from one status() to the next. */
struct gb_conflicts {
	uint64_t saved;
	uint64_t failed;
	char *remembered[GB_CONFLICTS_REMEMBERED]; /* "name\nremote state" */
	size_t next_remembered;
	struct gb_conflict_job jobs[GB_CONFLICTS_JOBS_MAX];
	size_t n_jobs;
	gint64 quiet_until_us; /* the remote did not answer: do not block status() on it */
	size_t cursor;         /* where the next check starts among the waiting files */
	gint64 last_check_us;
};

/**
 * Look for conflicts in @mount's cache and save the remote's version of
 * each; finish the copies earlier calls started. @vfs_stats and
 * @core_stats are the bodies status() just got. Blocks for a few rc
 * requests (2 s each at most); a long copy goes on in the sidecar and is
 * checked at the next call. Logs what it does, names only.
 */
void gb_conflicts_check(struct gb_conflicts *conflicts, const struct gb_conflicts_mount *mount,
                        const char *vfs_stats, const char *core_stats);

/** Free what @conflicts holds (not @conflicts). */
void gb_conflicts_clear(struct gb_conflicts *conflicts);

#endif
