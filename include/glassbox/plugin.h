/* SPDX-License-Identifier: MIT */
/*
 * Glassbox plugin ABI.
 *
 * A plugin is a shared object exporting exactly one symbol,
 * GB_PLUGIN_ENTRY_SYMBOL, a function returning a pointer to a constant
 * struct gb_plugin_descriptor. Define it with GB_PLUGIN_DEFINE().
 *
 * The host accepts a plugin when its ABI major equals the host's and its
 * ABI minor is not newer than the host's. Structures only grow at the end;
 * each carries its own size so that either side can tell which members the
 * other knows about. See docs/plugin-abi.md.
 */
#ifndef GLASSBOX_PLUGIN_H
#define GLASSBOX_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GB_PLUGIN_ABI_MAJOR 1
#define GB_PLUGIN_ABI_MINOR 3

#define GB_PLUGIN_ENTRY_SYMBOL "gb_plugin_entry"

#define GB_PLUGIN_EXPORT __attribute__((visibility("default")))

/** What a plugin provides. The drop-in names the kind it expects. */
enum gb_plugin_kind {
	GB_PLUGIN_KIND_CAPTURE = 1,
	GB_PLUGIN_KIND_ENCODER = 2,
	GB_PLUGIN_KIND_AUTH = 3,
	GB_PLUGIN_KIND_STORAGE = 4,
};

enum gb_log_level {
	GB_LOG_ERROR = 0,
	GB_LOG_WARNING = 1,
	GB_LOG_INFO = 2,
	GB_LOG_DEBUG = 3,
};

/** Type of a setting, declared by the plugin in its option table. */
enum gb_value_type {
	GB_VALUE_STRING = 1,
	GB_VALUE_INT = 2,
	GB_VALUE_BOOL = 3,
	GB_VALUE_DOUBLE = 4,
};

/**
 * One setting a plugin accepts in the [settings] section of its drop-in.
 * The host parses and range-checks values against this table, so a plugin
 * never sees a key it did not declare or a value of the wrong type.
 * The table ends with an entry whose key is NULL.
 */
struct gb_option {
	const char *key;
	uint32_t type;             /* enum gb_value_type */
	const char *default_value; /* text, parsed like a drop-in value; NULL: required */
	int64_t min;               /* GB_VALUE_INT only; ignored when min > max */
	int64_t max;
	const char *help; /* one line for `glassboxctl plugin info` */
};

/** A parsed setting, as handed to the plugin's init(). */
struct gb_setting {
	const char *key;
	uint32_t type; /* enum gb_value_type */
	union {
		const char *string;
		int64_t integer;
		bool boolean;
		double number;
	} value;
};

/** Every option of the plugin, each with its configured or default value. */
struct gb_settings {
	size_t count;
	const struct gb_setting *items;
};

/**
 * Services the host offers a plugin. Each plugin gets its own copy, valid
 * until fini(). A plugin built for ABI 1.N only loads in a host of 1.N or
 * later, so it may use every member its header declares; struct_size tells
 * a plugin that adapts to older hosts what is there.
 */
struct gb_host {
	uint32_t struct_size;
	uint32_t abi_major;
	uint32_t abi_minor;
	/* NULL in glassboxd; the session id in glassbox-session. */
	const char *session_id;
	/* Log one line, tagged with @plugin. Since 1.2, prefer gb_plugin_log(). */
	void (*log)(const struct gb_host *host, const char *plugin, enum gb_log_level level,
	            const char *format, ...) __attribute__((format(printf, 4, 5)));

	/* ---- ABI 1.2 ---- */

	/* The name of the plugin this copy was made for (its descriptor's name). */
	const char *plugin_name;
	/* Log one line tagged with plugin_name; always set. See gb_plugin_log(). */
	void (*logv)(const struct gb_host *host, enum gb_log_level level, const char *format,
	             va_list args) __attribute__((format(printf, 3, 0)));
};

struct gb_plugin_descriptor {
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t struct_size; /* sizeof(struct gb_plugin_descriptor) when built */
	uint32_t kind;        /* enum gb_plugin_kind */
	const char *name;     /* matches <name> in <kind>-<name>.so */
	const char *version;
	const char *description;
	const struct gb_option *options; /* may be NULL: no settings */

	/*
	 * Called once after loading, with every option resolved. Return 0 or
	 * a negative errno; on success *state is passed back to the other
	 * callbacks. May be NULL.
	 */
	int (*init)(const struct gb_host *host, const struct gb_settings *settings, void **state);
	/* Undo init(). May be NULL. */
	void (*fini)(void *state);

	/*
	 * The kind-specific vtable (struct gb_auth_ops for GB_PLUGIN_KIND_AUTH,
	 * ...). Every vtable starts with a uint32_t struct_size.
	 */
	const void *ops;
};

typedef const struct gb_plugin_descriptor *(*gb_plugin_entry_func)(void);

/**
 * Define the plugin's entry point. Build plugins with
 * -fvisibility=hidden: this is then the only exported symbol.
 */
#define GB_PLUGIN_DEFINE(descriptor)                                                              \
	GB_PLUGIN_EXPORT const struct gb_plugin_descriptor *gb_plugin_entry(void);                \
	GB_PLUGIN_EXPORT const struct gb_plugin_descriptor *gb_plugin_entry(void)                 \
	{                                                                                         \
		return &(descriptor);                                                             \
	}

/** Fill in the ABI fields of a descriptor initialiser. */
#define GB_PLUGIN_ABI_INIT                                                                        \
	.abi_major = GB_PLUGIN_ABI_MAJOR, .abi_minor = GB_PLUGIN_ABI_MINOR,                       \
	.struct_size = sizeof(struct gb_plugin_descriptor)

/**
 * Log one line through the host, tagged with the plugin's name: the
 * plugin's log handle is the struct gb_host its init() received. Does
 * nothing when @host is NULL (a plugin's unit test may pass none).
 */
static inline void gb_plugin_log(const struct gb_host *host, enum gb_log_level level,
                                 const char *format, ...) __attribute__((format(printf, 3, 4)));

static inline void gb_plugin_log(const struct gb_host *host, enum gb_log_level level,
                                 const char *format, ...)
{
	va_list args;

	if (!host)
		return;
	va_start(args, format);
	host->logv(host, level, format, args);
	va_end(args);
}

/** Find a setting by key; NULL when absent. */
static inline const struct gb_setting *gb_settings_find(const struct gb_settings *settings,
                                                        const char *key)
{
	for (size_t i = 0; settings && i < settings->count; i++)
		if (strcmp(settings->items[i].key, key) == 0)
			return &settings->items[i];
	return NULL;
}

static inline const char *gb_settings_get_string(const struct gb_settings *settings,
                                                 const char *key)
{
	const struct gb_setting *s = gb_settings_find(settings, key);
	return s && s->type == GB_VALUE_STRING ? s->value.string : NULL;
}

static inline int64_t gb_settings_get_int(const struct gb_settings *settings, const char *key,
                                          int64_t fallback)
{
	const struct gb_setting *s = gb_settings_find(settings, key);
	return s && s->type == GB_VALUE_INT ? s->value.integer : fallback;
}

static inline bool gb_settings_get_bool(const struct gb_settings *settings, const char *key,
                                        bool fallback)
{
	const struct gb_setting *s = gb_settings_find(settings, key);
	return s && s->type == GB_VALUE_BOOL ? s->value.boolean : fallback;
}

static inline double gb_settings_get_double(const struct gb_settings *settings, const char *key,
                                            double fallback)
{
	const struct gb_setting *s = gb_settings_find(settings, key);
	return s && s->type == GB_VALUE_DOUBLE ? s->value.number : fallback;
}

#ifdef __cplusplus
}
#endif

#endif /* GLASSBOX_PLUGIN_H */
