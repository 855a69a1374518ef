/* SPDX-License-Identifier: MIT */
/*
 * What storage-rclone turns into rclone's configuration: the operator's
 * remotes file (rclone's INI format, read once at init), the mounts
 * setting ("name=remote:path, ..." with %u and %n), and the sections it
 * writes for a user's own remotes. Pure text work, unit-tested on its own.
 */
#ifndef GB_RCLONE_CONFIG_H
#define GB_RCLONE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <glassbox/storage.h>

#define GB_RCLONE_REMOTES_FILE_MAX (256 * 1024)

/** One section of the operator's remotes file: "[name]" and its lines, verbatim. */
struct gb_rclone_section {
	char *name;
	char *text; /* "[name]\nkey = value\n..." */
	char *type; /* its "type = " value; NULL when it has none */
};

struct gb_rclone_remotes {
	struct gb_rclone_section *sections;
	size_t count;
};

/** One entry of the mounts setting. */
struct gb_rclone_mount_spec {
	char name[GB_STORAGE_NAME_MAX + 1];
	char *remote; /* the section it uses */
	char *path;   /* after "remote:", %u and %n not yet replaced */
};

struct gb_rclone_mount_specs {
	struct gb_rclone_mount_spec *items;
	size_t count;
};

/** True for [a-z0-9_-]{1,GB_STORAGE_NAME_MAX}: a mount's or remote's name. */
bool gb_rclone_name_valid(const char *name);

/**
 * The file the remotes_file setting names: a path as it is, or
 * "credential:NAME" for NAME in @credentials_dir (systemd's
 * $CREDENTIALS_DIRECTORY: a LoadCredentialEncrypted= of glassbox.service,
 * decrypted by systemd when the service starts, so that the file is
 * encrypted at rest). NULL with @error when it names a credential and there
 * is no such folder, or NAME is not a plain file name.
 */
char *gb_rclone_remotes_path(const char *setting, const char *credentials_dir, char *error,
                             size_t error_size);

/**
 * Parse the text of an rclone config file. 0, or -EINVAL with
 * "FILE:LINE: why" in @error (a line outside a section, a bad section name,
 * a section twice).
 */
int gb_rclone_remotes_parse(struct gb_rclone_remotes *remotes, const char *file, const char *text,
                            char *error, size_t error_size);
const struct gb_rclone_section *gb_rclone_remotes_find(const struct gb_rclone_remotes *remotes,
                                                       const char *name);
void gb_rclone_remotes_clear(struct gb_rclone_remotes *remotes);

/**
 * Parse "name=remote:path, name2=remote2:path2". 0, or -EINVAL with the
 * entry and why in @error.
 */
int gb_rclone_mount_specs_parse(struct gb_rclone_mount_specs *specs, const char *text, char *error,
                                size_t error_size);
void gb_rclone_mount_specs_clear(struct gb_rclone_mount_specs *specs);

/**
 * @path with %u replaced by @user, %n by @identity_namespace and %% by %.
 * NULL with @error when the user name cannot be part of a path (a '/', a
 * leading '.', a control character, more than 64 bytes) or the path holds
 * another %.
 */
char *gb_rclone_substitute(const char *path, const char *identity_namespace, const char *user,
                           char *error, size_t error_size);

/**
 * The config section, named @section, for a user's own remote. Keys the
 * type does not take are refused; values that rclone keeps obscured (pass)
 * go through @obscure. NULL with @error.
 */
typedef char *(*gb_rclone_obscure_func)(void *data, const char *value, char *error,
                                        size_t error_size);
char *gb_rclone_user_section(const struct gb_storage_remote *remote, const char *section,
                             gb_rclone_obscure_func obscure, void *data, char *error,
                             size_t error_size);

#endif
