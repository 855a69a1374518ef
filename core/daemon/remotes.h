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
 */
int gb_remotes_load(struct gb_daemon *daemon, const char *identity, GPtrArray **remotes,
                    char *error, size_t error_size);

#endif
