/* SPDX-License-Identifier: MIT */
/*
 * What a user may store as a remote (remotes-check.c, no daemon): the names,
 * the types, and per type a fixed list of keys with their checks. Every
 * value is bounded, valid UTF-8, and free of control characters, line
 * breaks and leading or trailing white space, so that it cannot break out
 * of the "key = value" line of the rclone configuration it becomes.
 */
#ifndef GB_REMOTES_CHECK_H
#define GB_REMOTES_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#define GB_REMOTE_NAME_MAX   32 /* GB_STORAGE_NAME_MAX */
#define GB_REMOTE_PARAMS_MAX 8  /* keys of one remote, at most */

/** [a-z0-9_-]{1,32}. */
bool gb_remote_name_is_valid(const char *name);
/** "webdav", "sftp" or "s3". */
bool gb_remote_type_is_known(const char *type);
/** Whether @key of a remote of @type is a secret: never shown, logged or audited. */
bool gb_remote_key_is_secret(const char *type, const char *key);
/**
 * Check the @n params (@keys, @values) of a remote of @type: every key
 * one the type takes, once; every required key there; every value within
 * its bounds and checks. 0, or -EINVAL with one line for the user in @error
 * (it names the key, never the value).
 */
int gb_remote_check_params(const char *type, const char *const *keys, const char *const *values,
                           size_t n, char *error, size_t error_size);

#endif
