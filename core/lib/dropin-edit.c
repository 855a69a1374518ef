/* SPDX-License-Identifier: MIT */
/* Switching plugins on and off through override files (dropin-edit.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "dropin-edit.h"
#include "error.h"

#define DROPIN_SIZE_MAX (1 << 20)

/* True when @name is "KIND-NAME" of @dropin. */
static bool is_kind_name(const struct gb_dropin *dropin, const char *name)
{
	const char *kind = gb_plugin_kind_to_string(dropin->kind);
	size_t kind_length = strlen(kind);

	return strncmp(name, kind, kind_length) == 0 && name[kind_length] == '-' &&
	       strcmp(name + kind_length + 1, dropin->name) == 0;
}

int gb_dropin_find_by_name(const struct gb_dropin_set *set, const char *name,
                           const struct gb_dropin **found)
{
	unsigned matches = 0;

	*found = NULL;
	for (size_t i = 0; i < set->count; i++) {
		const struct gb_dropin *dropin = &set->items[i];

		if (is_kind_name(dropin, name)) {
			*found = dropin;
			return 0;
		}
		if (strcmp(name, dropin->name) == 0) {
			*found = dropin;
			matches++;
		}
	}
	if (matches == 0)
		return -ENOENT;
	if (matches > 1) {
		*found = NULL;
		return -ENOTUNIQ;
	}
	return 0;
}

/* The file's text, NUL-free and at most DROPIN_SIZE_MAX bytes; -ENOENT when missing. */
static int read_small_file(const char *path, char **text, char *error, size_t error_size)
{
	g_autoptr(GError) gerror = NULL;
	struct stat st;
	gsize length;

	*text = NULL;
	if (stat(path, &st) < 0) {
		int r = -errno;

		gb_error_set(error, error_size, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if (st.st_size > DROPIN_SIZE_MAX) {
		gb_error_set(error, error_size, "%s is larger than %d bytes", path,
		             DROPIN_SIZE_MAX);
		return -EFBIG;
	}
	if (!g_file_get_contents(path, text, &length, &gerror)) {
		gb_error_set(error, error_size, "%s", gerror->message);
		return -EIO;
	}
	if (strlen(*text) != length) {
		gb_error_set(error, error_size, "%s holds a NUL byte", path);
		g_free(*text);
		*text = NULL;
		return -EINVAL;
	}
	return 0;
}

/* @path atomically, mode 0644 whatever the umask: who may read the configuration is ours. */
static int write_file(const char *path, const char *text, char *error, size_t error_size)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autoptr(GError) gerror = NULL;
	int r;

	if (g_mkdir_with_parents(dir, 0755) < 0) {
		r = -errno;
		gb_error_set(error, error_size, "cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
	                              &gerror)) {
		gb_error_set(error, error_size, "cannot write %s: %s", path, gerror->message);
		return -EIO;
	}
	if (chmod(path, 0644) < 0) {
		r = -errno;
		gb_error_set(error, error_size, "cannot write %s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

int gb_dropin_restore_override(const char *target, const char *previous, char *error,
                               size_t error_size)
{
	int r;

	if (previous)
		return write_file(target, previous, error, error_size);
	if (unlink(target) < 0 && errno != ENOENT) {
		r = -errno;
		gb_error_set(error, error_size, "cannot remove %s: %s", target, strerror(-r));
		return r;
	}
	return 0;
}

/* The drop-in of @kind and @name in @set, or NULL. */
static const struct gb_dropin *find_exact(const struct gb_dropin_set *set,
                                          enum gb_plugin_kind kind, const char *name)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->items[i].kind == kind && strcmp(set->items[i].name, name) == 0)
			return &set->items[i];
	return NULL;
}

/* The override written (or removed): @dropin must now read back switched as asked. */
static int check_read_back(const char *vendor_dir, const char *config_dir,
                           const struct gb_dropin *dropin, bool enabled, const char *target,
                           char *error, size_t error_size)
{
	struct gb_dropin_set check = { 0 };
	const struct gb_dropin *now;
	char message[GB_DROPIN_ERROR_MAX];
	int r;

	r = gb_dropin_set_load(&check, vendor_dir, config_dir, message, sizeof(message));
	now = r == 0 ? find_exact(&check, dropin->kind, dropin->name) : NULL;
	if (r < 0) {
		gb_error_set(error, error_size,
		             "the override written to %s does not read back: %s", target, message);
	} else if (!now || now->enabled != enabled) {
		gb_error_set(error, error_size, "%s is written, but %s still says enabled = %s",
		             target, now && now->enabled_by ? now->enabled_by : dropin->path,
		             enabled ? "false" : "true");
		r = -EINVAL;
	}
	gb_dropin_set_clear(&check);
	return r;
}

int gb_dropin_set_enabled(const char *vendor_dir, const char *config_dir,
                          const struct gb_dropin *dropin, bool enabled, char **target,
                          char **previous, char *error, size_t error_size)
{
	g_autofree char *base = g_path_get_basename(dropin->path);
	g_autofree char *text = NULL;
	g_autofree char *old = NULL;
	struct gb_dropin own = { 0 };
	char message[GB_DROPIN_ERROR_MAX];
	int r;

	*previous = NULL;
	*target = g_strdup_printf("%s/%s.d/%s", config_dir, base, GB_DROPIN_OVERRIDE_NAME);
	r = read_small_file(*target, &old, error, error_size);
	if (r < 0 && r != -ENOENT)
		return r;
	text = g_strdup_printf(
	        "; Written by glassboxctl (org.glassbox.Manager1.SetPluginEnabled):\n"
	        "; plugin %s %s, whose drop-in is %s.\n"
	        "[plugin]\nenabled = %s\n",
	        gb_plugin_kind_to_string(dropin->kind), dropin->name, dropin->path,
	        enabled ? "true" : "false");
	/* Where the drop-in itself says so already, no override is needed:
	 * ours goes, so that a later edit of the drop-in is not overruled. */
	r = gb_dropin_load_file(&own, dropin->path, message, sizeof(message));
	if (r < 0) {
		gb_error_set(error, error_size, "%s", message);
		return r;
	}
	if (own.enabled == enabled) {
		r = old && unlink(*target) < 0 ? -errno : 0;
		if (r < 0)
			gb_error_set(error, error_size, "cannot remove %s: %s", *target,
			             strerror(-r));
	} else {
		r = write_file(*target, text, error, error_size);
	}
	gb_dropin_clear(&own);
	if (r < 0)
		return r;
	r = check_read_back(vendor_dir, config_dir, dropin, enabled, *target, error, error_size);
	if (r < 0) {
		gb_dropin_restore_override(*target, old, NULL, 0);
		return r;
	}
	*previous = g_steal_pointer(&old);
	return 0;
}
