/* SPDX-License-Identifier: MIT */
/*
 * Glassbox storage plugins (ABI 1.3): the mounts of a user's session.
 *
 * For each session glassboxd asks every enabled storage plugin, through
 * mounts(), which folders of the session's home it serves and how. Each
 * mount is a sidecar: a command the host runs as the session's user before
 * the application starts, which mounts a file system at the target (rclone
 * mount, for storage-rclone). The host starts it with every secret in a
 * sealed memory file on an fd (never in its command line or environment), waits until status()
 * says it is ready and the target is a mount, and at the end of the session
 * waits until status() says nothing is left to upload before it stops it.
 */
#ifndef GLASSBOX_STORAGE_H
#define GLASSBOX_STORAGE_H

#include <glassbox/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GB_STORAGE_NAME_MAX    32          /* a mount's or a remote's name: [a-z0-9_-], 1..32 */
#define GB_STORAGE_SECRETS_MAX 4           /* secret files a sidecar gets: fds 3..6 */
#define GB_STORAGE_SECRET_MAX  (60 * 1024) /* bytes in one secret */
#define GB_STORAGE_MESSAGE_MAX 256

/** A remote a user added from the web client (its type one the operator allows). */
struct gb_storage_remote {
	const char *name; /* [a-z0-9_-], 1..GB_STORAGE_NAME_MAX */
	const char *type; /* "webdav", "sftp", "s3" */
	size_t n_params;
	const char *const *keys;   /* n_params keys: "url", "user", "pass"... */
	const char *const *values; /* their values, secrets among them */
};

/** Whose session it is. */
struct gb_storage_user {
	uint32_t struct_size;
	const char *identity_namespace; /* the auth plugin's namespace */
	const char *user;               /* the user name it gave */
	const char *identity;           /* "namespace:user", for %u-style paths and logs */
	/*
	 * Where the mounts and caches go, absolute: the session's HOME under
	 * the direct spawner; under the systemd spawner the sidecar's folder
	 * /var/lib/glassbox-storage/<instance>, whose Cloud/ the session sees
	 * as ~/Cloud (only mounts at <home>/Cloud/<name> reach it there).
	 */
	const char *home;
	/* The account the session and its sidecars run as; (uint32_t)-1 under
	 * the systemd spawner, where systemd allocates it when the unit starts. */
	uint32_t uid;
	uint32_t gid;
	size_t n_remotes; /* the user's own remotes, decrypted for this call */
	const struct gb_storage_remote *remotes;
};

/**
 * One mount, filled by mounts(). Everything is the plugin's, allocated as
 * it likes and freed by free_mounts().
 */
struct gb_storage_mount {
	uint32_t struct_size;
	char name[GB_STORAGE_NAME_MAX + 1]; /* what the user sees: ~/Cloud/<name> */
	/*
	 * NULL, or why this mount cannot be had (bad settings, a missing
	 * credential): the host leaves it out, logs it and tells the user, and
	 * the session starts without it.
	 */
	char *problem;
	char *target; /* absolute, inside user->home; the sidecar creates it */
	/*
	 * The sidecar: argv[0] absolute, NULL-terminated. It runs as
	 * user->uid/gid in user->home, with the environment HOME, USER, PATH
	 * and LANG only, and secrets[i] on fd 3 + i: a sealed, read-only memory
	 * file it may open again as /dev/fd/<3 + i> and seek in.
	 */
	char **argv;
	size_t n_secrets; /* up to GB_STORAGE_SECRETS_MAX */
	char *secrets[GB_STORAGE_SECRETS_MAX];
	void *data; /* the plugin's, for status() */
};

enum gb_storage_state {
	GB_STORAGE_STARTING = 1, /* the sidecar does not answer yet */
	GB_STORAGE_READY = 2,    /* it serves the target */
	GB_STORAGE_FAILED = 3,   /* it answers but cannot serve; message says why */
};

/** What status() reports of one mount. */
struct gb_storage_status {
	uint32_t struct_size;
	uint32_t state;           /* enum gb_storage_state */
	uint64_t files_queued;    /* written and closed, waiting to be uploaded */
	uint64_t files_uploading; /* being uploaded now */
	uint64_t bytes_uploading; /* bytes of the uploads under way not yet sent */
	uint64_t upload_errors; /* files whose last upload failed: retried later, still waiting */
	char message[GB_STORAGE_MESSAGE_MAX];
};

/*
 * The host never calls two ops of one plugin at the same time, but it
 * calls them from a worker thread, not the one that called init: status()
 * may block for a few seconds (requests to the sidecar on loopback; keep it
 * under 5 s: the host asks every 5 s, and one call at a time per plugin).
 */
struct gb_storage_ops {
	uint32_t struct_size;
	/*
	 * The mounts of @user's session: 0 with *mounts (an array of *n_mounts,
	 * which may be 0) or a negative errno with one line in @error. A mount
	 * with a problem is still returned, so the user hears of it.
	 */
	int (*mounts)(void *state, const struct gb_storage_user *user,
	              struct gb_storage_mount **mounts, size_t *n_mounts, char *error,
	              size_t error_size);
	/*
	 * Ask the sidecar of @mount how it is: 0 with @status filled, or a
	 * negative errno (-ECONNREFUSED: not answering yet).
	 */
	int (*status)(void *state, const struct gb_storage_mount *mount,
	              struct gb_storage_status *status);
	/* Free what mounts() returned. */
	void (*free_mounts)(void *state, struct gb_storage_mount *mounts, size_t n_mounts);
};

#ifdef __cplusplus
}
#endif

#endif
