/* SPDX-License-Identifier: MIT */
/*
 * Plugin drop-ins (*.ini, parsed with inih), systemd style: every file in
 * the vendor folder and the /etc folder, in lexical order of file name; a
 * file in the /etc folder replaces the vendor file of the same name.
 *
 * A drop-in NAME.ini may be switched on or off without touching it: files
 * .conf files in a folder NAME.ini.d, in either folder, holding only "[plugin] enabled =".
 * They are read in lexical order of file name (an /etc one replaces a
 * vendor one of the same name) and the last one wins. glassboxctl plugin
 * enable|disable writes /etc/.../NAME.ini.d/50-glassboxctl.conf.
 *
 *   [plugin]
 *   kind = encoder          ; capture | encoder | auth | storage
 *   name = x264             ; loads <kind>-<name>.so
 *   enabled = true          ; default true
 *   optional = false        ; default false: a failure stops start-up
 *   namespace = staff       ; auth only: whose identities these are (default: the name)
 *
 *   [settings]
 *   key = value             ; checked later against the plugin's options
 */
#ifndef GB_DROPIN_H
#define GB_DROPIN_H

#include <stdbool.h>
#include <stddef.h>
#include <glassbox/plugin.h>

#define GB_DROPIN_ERROR_MAX 512 /* enough for any error text below */

struct gb_dropin_setting {
	char *key;
	char *value; /* raw text, typed against the plugin's option table at load */
	int line;
};

struct gb_dropin {
	char *path;      /* the file it came from, for errors */
	char *kind_name; /* as written */
	enum gb_plugin_kind kind;
	char *name;
	bool enabled;
	char *enabled_by; /* the .conf (in NAME.ini.d) that set enabled last; NULL: none */
	bool optional;
	/* Auth plugins: the namespace of the identities it vouches for; NULL
	 * when not set (then the plugin's name). Two auth plugins given the
	 * same one vouch for the same people: their "alice" is one user. */
	char *identity_namespace;
	size_t n_settings;
	struct gb_dropin_setting *settings;
};

struct gb_dropin_set {
	size_t count;
	struct gb_dropin *items; /* lexical order of file name */
};

/**
 * Read every *.ini in @vendor_dir and @config_dir (either may be NULL or
 * missing). On failure return a negative errno and write one line naming the
 * file, line and key to @error. A name holding '/' or "..", an unknown kind,
 * key or section, a missing kind or name, a namespace that is not a valid
 * plugin name or is set for a plugin other than auth, and two drop-ins naming
 * the same plugin are errors.
 */
int gb_dropin_set_load(struct gb_dropin_set *set, const char *vendor_dir, const char *config_dir,
                       char *error, size_t error_size);

/** Parse one file into @dropin. Same errors as above. */
int gb_dropin_load_file(struct gb_dropin *dropin, const char *path, char *error,
                        size_t error_size);

void gb_dropin_set_clear(struct gb_dropin_set *set);
void gb_dropin_clear(struct gb_dropin *dropin);

/** "capture" -> GB_PLUGIN_KIND_CAPTURE, ...; -EINVAL when unknown. */
int gb_plugin_kind_from_string(const char *text, enum gb_plugin_kind *kind);
const char *gb_plugin_kind_to_string(enum gb_plugin_kind kind);

/** True when @name is a safe plugin name: non-empty, [a-z0-9._-], no "..". */
bool gb_plugin_name_is_valid(const char *name);

#endif
