/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader. Every plugin loaded or refused gets one log line that
 * names its file; refusals also return a negative errno.
 */
#ifndef GB_PLUGIN_LOADER_H
#define GB_PLUGIN_LOADER_H

#include <stddef.h>
#include <glassbox/plugin.h>
#include "dropin.h"

struct gb_plugin {
	char *path;
	const struct gb_plugin_descriptor *descriptor;
	void *handle;                /* dlopen() handle */
	void *state;                 /* from descriptor->init() */
	struct gb_setting *settings; /* resolved, passed to init() */
	size_t n_settings;
	char *strings; /* storage backing string settings */
	bool initialised;
	/* The drop-in's [plugin] namespace (auth plugins), or NULL: the name. */
	char *identity_namespace;
	/*
	 * What init() receives: { n_settings, settings }. It lives as long as
	 * the plugin, so a plugin may keep the pointer, like the strings it
	 * points to, until fini().
	 */
	struct gb_settings settings_view;
	/*
	 * What init() receives as its host: the registry's, with the plugin's
	 * name, so that gb_plugin_log() tags its lines. Lives as long as the
	 * plugin.
	 */
	struct gb_host host;
};

struct gb_plugin_registry {
	const struct gb_host *host;
	char **search_path; /* NULL-terminated; GLASSBOX_PLUGIN_PATH (colon-separated) wins */
	size_t count;
	struct gb_plugin **plugins;
};

/**
 * @host: copied for every plugin's init() (see struct gb_plugin's host);
 * must outlive the registry, whose log() the copies call.
 * @plugin_dir: where <kind>-<name>.so live. When GLASSBOX_PLUGIN_PATH is set
 * (a colon-separated list of folders, for uninstalled builds and tests) it
 * is searched instead, in order; empty items are ignored, and a variable
 * with no folder in it counts as unset. Returns 0, -EINVAL (no host, or no
 * folder at all) or -ENOMEM; on failure @registry is left zeroed.
 */
int gb_plugin_registry_init(struct gb_plugin_registry *registry, const struct gb_host *host,
                            const char *plugin_dir);
/**
 * Unloads every plugin, in reverse load order: fini() then dlclose(). Frees
 * the search path too and zeroes @registry (call init again to reuse it).
 * Accepts NULL, a zeroed or a half-initialised registry.
 */
void gb_plugin_registry_clear(struct gb_plugin_registry *registry);

/**
 * Load the plugin a drop-in names: dlopen with RTLD_NOW|RTLD_LOCAL, check
 * the entry symbol, ABI, kind, name and uniqueness, type its settings
 * against the option table, and call init(). Returns 0, or a negative
 * errno after logging one line naming the file.
 */
int gb_plugin_registry_load(struct gb_plugin_registry *registry, const struct gb_dropin *dropin);

/**
 * Load every enabled drop-in, in order. A failing plugin stops the load
 * (negative errno) unless its drop-in says optional = true, in which case it
 * is logged and skipped. Plugins loaded before a failure stay loaded: the
 * caller clears the registry.
 */
int gb_plugin_registry_load_all(struct gb_plugin_registry *registry,
                                const struct gb_dropin_set *set);

/** A set of plugin kinds for gb_plugin_registry_load_dropins(). */
#define GB_PLUGIN_KIND_BIT(kind) (1u << (kind))

/**
 * Read the drop-ins of @vendor_dir and @config_dir (gb_dropin_set_load())
 * and load, as gb_plugin_registry_load_all() does, those whose kind is in
 * @kinds (GB_PLUGIN_KIND_BIT()s): glassboxd hosts the auth plugins, the
 * session the others. Errors in any drop-in are logged and refused.
 */
int gb_plugin_registry_load_dropins(struct gb_plugin_registry *registry, const char *vendor_dir,
                                    const char *config_dir, uint32_t kinds);

/** The loaded plugin of that kind and name; NULL when there is none. */
struct gb_plugin *gb_plugin_registry_find(struct gb_plugin_registry *registry,
                                          enum gb_plugin_kind kind, const char *name);

#endif
