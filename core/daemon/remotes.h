/* SPDX-License-Identifier: MIT */
/*
 * Remotes: the storage remotes users add from the web client (WebDAV, SFTP,
 * S3, as storage.user_remote_types allows), kept sealed at rest under
 * state_dir/remotes/ with a key only glassboxd can read. remotes.c owns the
 * files and the key; http-remotes.c serves /api/storage/remotes; storage.c
 * reads an identity's remotes, decrypted, when it builds a session's mounts.
 */
#ifndef GB_REMOTES_H
#define GB_REMOTES_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

struct gb_daemon;

/** One remote of a user, decrypted. */
struct gb_user_remote {
	char *name;        /* [a-z0-9_-], 1..GB_STORAGE_NAME_MAX */
	char *type;        /* "webdav", "sftp", "s3" */
	GPtrArray *keys;   /* char *: "url", "user", "pass", ... */
	GPtrArray *values; /* char *: the same count, secrets among them */
};

void gb_user_remote_free(struct gb_user_remote *remote);

/**
 * The remotes of @identity ("namespace:user"), decrypted, into *remotes (a
 * GPtrArray of struct gb_user_remote, freed with g_ptr_array_unref; empty
 * when the user has none). 0, or a negative errno with one line in @error
 * (a file that does not open or decrypt: named, and nothing returned).
 *
 * Only the remotes of the types storage.user_remote_types allows now are
 * returned (the others stay stored). It reads daemon->config on the calling
 * thread: from a worker, use gb_remotes_load_from() with copies instead.
 */
int gb_remotes_load(struct gb_daemon *daemon, const char *identity, GPtrArray **remotes,
                    char *error, size_t error_size);

/**
 * gb_remotes_load() with the state folder (server.state_dir) and the
 * allowed types (NULL-terminated; NULL: every type) given, for any thread.
 */
int gb_remotes_load_from(const char *state_dir, const char *const *allowed_types,
                         const char *identity, GPtrArray **remotes, char *error,
                         size_t error_size);

/** A new remote of @type named @name, without params. */
struct gb_user_remote *gb_user_remote_new(const char *name, const char *type);
/** Add @key = @value (copied) to @remote. */
void gb_user_remote_add(struct gb_user_remote *remote, const char *key, const char *value);
/** A new empty array of remotes, as gb_remotes_load() returns. */
GPtrArray *gb_user_remotes_new(void);

/**
 * Every remote of @identity stored (whatever its type), for the API: as
 * gb_remotes_load(), unfiltered. An error here must stop a change: writing
 * over a file that did not open would lose what it holds.
 */
int gb_remotes_read(struct gb_daemon *daemon, const char *identity, GPtrArray **remotes,
                    char *error, size_t error_size);

/**
 * Seal @remotes as the remotes of @identity and put them in place of the
 * old ones (atomically: a temporary file, fsync, rename; none left: the
 * file is removed). The key is made at first use. 0, or a negative errno
 * with one line, naming the file, in @error.
 */
int gb_remotes_save(struct gb_daemon *daemon, const char *identity, GPtrArray *remotes,
                    char *error, size_t error_size);

/** The remotes object (the limit on changes per user). 0 or -errno. */
int gb_remotes_init(struct gb_daemon *daemon);
void gb_remotes_fini(struct gb_daemon *daemon);
/**
 * Count one change by @identity: false when it is over its changes per
 * minute (*@retry_s: the seconds until it may again).
 */
bool gb_remotes_charge_change(struct gb_daemon *daemon, const char *identity, unsigned *retry_s);

/** GET and POST /api/storage/remotes, DELETE /api/storage/remotes/NAME (http-remotes.c). */
void gb_remotes_add_routes(struct gb_daemon *daemon);

#endif
