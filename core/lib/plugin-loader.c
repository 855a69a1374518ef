/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: find <kind>-<name>.so along the search path, dlopen()
 * it, check everything the ABI promises, type the drop-in's settings against
 * the plugin's option table and call init().
 *
 * Every refusal is exactly one ERROR line naming the file and the reason, and
 * leaves the registry as it was: an operator reading the journal must see why
 * a plugin is missing without turning on debug logging, and a daemon that
 * goes on after an optional plugin failed must not carry half of it around.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <glassbox/auth.h>
#include <glassbox/storage.h>

#include "log.h"
#include "error.h"
#include "plugin-loader.h"
#include "text.h"

#define member_end(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

/* The descriptor as ABI 1.0 laid it out: a plugin's may be bigger, never smaller. */
#define DESCRIPTOR_SIZE_1_0 member_end(struct gb_plugin_descriptor, ops)

/* The last auth vtable member this host calls. */
#define AUTH_OPS_SIZE_NEEDED member_end(struct gb_auth_ops, verify_password)
/* Storage has a vtable since ABI 1.3; a 1.0-1.2 storage plugin has none and gives no mounts. */
#define STORAGE_OPS_SIZE_NEEDED member_end(struct gb_storage_ops, free_mounts)

/*
 * The capture and encoder vtables as ABI 1.0 lays them out. Their headers
 * pull in GStreamer, which libglassbox (glassboxd links it too) does not
 * build against, so the layout is restated here with plain function
 * pointers, which have the same size and alignment. tests/plugins has
 * plugins built against the real headers whose vtable stops one member
 * short: the unit tests fail if these ever drift apart.
 */
typedef void (*any_function)(void);
struct capture_ops_1_0 {
	uint32_t struct_size;
	any_function start;
	any_function set_active;
	any_function repeat_frame;
	any_function stop;
};
struct encoder_ops_1_0 {
	uint32_t struct_size;
	uint32_t codec;
	uint32_t flags;
	int32_t priority;
	any_function probe;
	any_function create_bin;
	any_function set_bitrate; /* may be NULL */
};
/* glassbox-session calls every capture member, and the encoder's up to create_bin. */
#define CAPTURE_OPS_SIZE_NEEDED member_end(struct capture_ops_1_0, stop)
#define ENCODER_OPS_SIZE_NEEDED member_end(struct encoder_ops_1_0, create_bin)
/* enum gb_codec: H264 = 1 .. AV1 = 4 */
#define CODEC_FIRST 1
#define CODEC_LAST  4

/* "<kind>-<name>": the kind is at most 7 characters, a valid name at most 64. */
#define LABEL_MAX 96

/* Text quoted from drop-ins or plugins; keeps one refusal on one log line. */
#define QUOTE_MAX 128

static const char *dropin_file(const struct gb_dropin *dropin)
{
	return dropin->path ? dropin->path : "(drop-in in memory)";
}

static bool kind_is_known(uint32_t kind)
{
	return kind >= GB_PLUGIN_KIND_CAPTURE && kind <= GB_PLUGIN_KIND_STORAGE;
}

/*
 * Copy text we did not write (a rejected name, a plugin's idea of its own
 * name) so that it cannot break the log line: see gb_printable().
 */
static const char *quote(char buffer[QUOTE_MAX], const char *text)
{
	if (!text)
		return "(null)";
	gb_printable(buffer, QUOTE_MAX, text);
	return buffer;
}

static void free_search_path(char **search_path)
{
	if (!search_path)
		return;
	for (char **dir = search_path; *dir; dir++)
		free(*dir);
	free(search_path);
}

/* Split @list on ':', dropping empty items; *out is NULL when none is left. */
static int split_search_path(const char *list, char ***out)
{
	char **dirs = NULL, *copy, *cursor, *item;
	size_t n = 0;
	int r = -ENOMEM;

	*out = NULL;
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	/* At most one folder more than there are separators. */
	dirs = calloc(strlen(list) / 2 + 2, sizeof(*dirs));
	if (!dirs)
		goto out;
	cursor = copy;
	while ((item = strsep(&cursor, ":"))) {
		if (!item[0])
			continue;
		dirs[n] = strdup(item);
		if (!dirs[n])
			goto out;
		n++;
	}
	if (n > 0) {
		*out = dirs;
		dirs = NULL;
	}
	r = 0;
out:
	free_search_path(dirs);
	free(copy);
	return r;
}

int gb_plugin_registry_init(struct gb_plugin_registry *registry, const struct gb_host *host,
                            const char *plugin_dir)
{
	const char *env;
	int r;

	if (!registry)
		return -EINVAL;
	memset(registry, 0, sizeof(*registry));
	if (!host)
		return -EINVAL;

	env = getenv("GLASSBOX_PLUGIN_PATH");
	if (env) {
		r = split_search_path(env, &registry->search_path);
		if (r < 0)
			return r;
	}
	/* An empty GLASSBOX_PLUGIN_PATH= means "not set", as for PATH-like variables. */
	if (!registry->search_path) {
		if (!plugin_dir || !plugin_dir[0])
			return -EINVAL;
		registry->search_path = calloc(2, sizeof(*registry->search_path));
		if (!registry->search_path)
			return -ENOMEM;
		registry->search_path[0] = strdup(plugin_dir);
		if (!registry->search_path[0]) {
			free_search_path(registry->search_path);
			registry->search_path = NULL;
			return -ENOMEM;
		}
	}
	registry->host = host;
	return 0;
}

/* Undo what gb_plugin_registry_load() did to @plugin, however far it got. */
static void plugin_destroy(struct gb_plugin *plugin)
{
	if (!plugin)
		return;
	if (plugin->initialised && plugin->descriptor->fini)
		plugin->descriptor->fini(plugin->state);
	/* The descriptor lives in the module: forget it before unmapping. */
	plugin->descriptor = NULL;
	if (plugin->handle)
		dlclose(plugin->handle);
	free(plugin->settings);
	free(plugin->strings);
	free(plugin->path);
	free(plugin->identity_namespace);
	free(plugin);
}

void gb_plugin_registry_clear(struct gb_plugin_registry *registry)
{
	if (!registry)
		return;
	/* Reverse load order: a later plugin may rely on what an earlier one set up. */
	for (size_t i = registry->count; i > 0 && registry->plugins; i--)
		plugin_destroy(registry->plugins[i - 1]);
	free(registry->plugins);
	free_search_path(registry->search_path);
	memset(registry, 0, sizeof(*registry));
}

struct gb_plugin *gb_plugin_registry_find(struct gb_plugin_registry *registry,
                                          enum gb_plugin_kind kind, const char *name)
{
	if (!registry || !name)
		return NULL;
	for (size_t i = 0; i < registry->count && registry->plugins; i++) {
		struct gb_plugin *plugin = registry->plugins[i];

		if (plugin && plugin->descriptor->kind == (uint32_t)kind &&
		    strcmp(plugin->descriptor->name, name) == 0)
			return plugin;
	}
	return NULL;
}

/* "a:b:c" for messages; NULL on allocation failure. */
static char *search_path_join(const struct gb_plugin_registry *registry)
{
	size_t size = 1;
	char *text, *p;

	for (char **dir = registry->search_path; dir && *dir; dir++)
		size += strlen(*dir) + 1;
	text = malloc(size);
	if (!text)
		return NULL;
	p = text;
	*p = '\0';
	for (char **dir = registry->search_path; dir && *dir; dir++)
		p = stpcpy(stpcpy(p, dir == registry->search_path ? "" : ":"), *dir);
	return text;
}

/* The first <dir>/<label>.so that exists along the search path. */
static int find_plugin_file(const struct gb_plugin_registry *registry, const char *label,
                            char **out)
{
	*out = NULL;
	for (char **dir = registry->search_path; dir && *dir; dir++) {
		char *candidate;

		if (asprintf(&candidate, "%s/%s.so", *dir, label) < 0)
			return -ENOMEM;
		/*
		 * Existence only: a file that is there but unreadable or broken
		 * must be reported as such, not silently passed over for a
		 * different copy further down the path.
		 */
		if (access(candidate, F_OK) == 0) {
			*out = candidate;
			return 0;
		}
		free(candidate);
	}
	return -ENOENT;
}

/*
 * strtoll() and strtod() skip leading blanks and accept "" as 0: a setting
 * must be the number and nothing else.
 */
static bool is_whole_number_text(const char *text)
{
	return text[0] && !isspace((unsigned char)text[0]);
}

/*
 * Parse @text as @option's type into @setting. String values point at @text;
 * the caller copies them. On failure write one line to @error.
 */
static int parse_value(const struct gb_option *option, const char *text,
                       struct gb_setting *setting, char *error, size_t error_size)
{
	char quoted[QUOTE_MAX], *end = NULL;

	setting->key = option->key;
	setting->type = option->type;

	switch (option->type) {
	case GB_VALUE_STRING:
		setting->value.string = text;
		return 0;

	case GB_VALUE_INT: {
		long long value = 0;

		errno = 0;
		if (is_whole_number_text(text))
			value = strtoll(text, &end, 10);
		if (!is_whole_number_text(text) || *end) {
			gb_error_set(error, error_size, "'%s' is not an integer",
			             quote(quoted, text));
			return -EINVAL;
		}
		if (errno == ERANGE) {
			gb_error_set(error, error_size, "%s is out of range", quote(quoted, text));
			return -ERANGE;
		}
		/* min > max: the plugin asked for no range check. */
		if (option->min <= option->max && (value < option->min || value > option->max)) {
			gb_error_set(error, error_size, "%lld is out of range %lld..%lld", value,
			             (long long)option->min, (long long)option->max);
			return -ERANGE;
		}
		setting->value.integer = value;
		return 0;
	}

	case GB_VALUE_BOOL:
		if (strcasecmp(text, "true") == 0 || strcasecmp(text, "yes") == 0 ||
		    strcmp(text, "1") == 0) {
			setting->value.boolean = true;
			return 0;
		}
		if (strcasecmp(text, "false") == 0 || strcasecmp(text, "no") == 0 ||
		    strcmp(text, "0") == 0) {
			setting->value.boolean = false;
			return 0;
		}
		gb_error_set(error, error_size,
		             "'%s' is not a boolean (true, false, yes, no, 1 or 0)",
		             quote(quoted, text));
		return -EINVAL;

	case GB_VALUE_DOUBLE: {
		double value = 0;

		if (is_whole_number_text(text))
			value = strtod(text, &end);
		/* Overflow gives HUGE_VAL, caught as not finite; underflow to 0 is fine. */
		if (!is_whole_number_text(text) || *end || !isfinite(value)) {
			gb_error_set(error, error_size, "'%s' is not a finite number",
			             quote(quoted, text));
			return -EINVAL;
		}
		setting->value.number = value;
		return 0;
	}
	}

	gb_error_set(error, error_size, "unknown value type %u", option->type);
	return -EINVAL;
}

static const struct gb_dropin_setting *dropin_find_setting(const struct gb_dropin *dropin,
                                                           const char *key)
{
	for (size_t i = 0; i < dropin->n_settings; i++)
		if (dropin->settings[i].key && strcmp(dropin->settings[i].key, key) == 0)
			return &dropin->settings[i];
	return NULL;
}

/*
 * The plugin's own option table: keys declared once, known types, and every
 * default parseable, not only those the drop-in leaves unset: a plugin bug
 * must not hide until an operator removes a line. Errors name the plugin file.
 */
static int check_option_table(const struct gb_plugin *plugin, const struct gb_dropin *dropin,
                              size_t n_options)
{
	const struct gb_option *options = plugin->descriptor->options;
	char error[256], quoted[QUOTE_MAX];
	struct gb_setting scratch;

	for (size_t i = 0; i < n_options; i++) {
		const struct gb_option *option = &options[i];

		for (size_t j = 0; j < i; j++) {
			if (strcmp(options[j].key, option->key) == 0) {
				gb_log_full(GB_LOG_ERROR, dropin->name,
				            "plugin %s: option '%s' is declared twice",
				            plugin->path, quote(quoted, option->key));
				return -EBADMSG;
			}
		}
		if (option->type < GB_VALUE_STRING || option->type > GB_VALUE_DOUBLE) {
			gb_log_full(GB_LOG_ERROR, dropin->name,
			            "plugin %s: option '%s' has unknown value type %u",
			            plugin->path, quote(quoted, option->key), option->type);
			return -EBADMSG;
		}
		if (!option->default_value)
			continue;
		if (parse_value(option, option->default_value, &scratch, error, sizeof(error)) <
		    0) {
			gb_log_full(GB_LOG_ERROR, dropin->name,
			            "plugin %s: option '%s': bad default: %s", plugin->path,
			            quote(quoted, option->key), error);
			return -EBADMSG;
		}
	}
	return 0;
}

/* The drop-in's [settings]: each key declared by the plugin, and set once. */
static int check_dropin_settings(const struct gb_plugin *plugin, const struct gb_dropin *dropin,
                                 const char *label, size_t n_options)
{
	const struct gb_option *options = plugin->descriptor->options;
	char quoted[QUOTE_MAX];

	for (size_t i = 0; i < dropin->n_settings; i++) {
		const struct gb_dropin_setting *setting = &dropin->settings[i];
		const struct gb_dropin_setting *first;
		size_t j;

		for (j = 0; j < n_options; j++)
			if (setting->key && strcmp(options[j].key, setting->key) == 0)
				break;
		if (j == n_options) {
			gb_log_full(GB_LOG_ERROR, dropin->name,
			            "%s:%d: key 'settings.%s': plugin %s has no such setting",
			            dropin_file(dropin), setting->line,
			            quote(quoted, setting->key), label);
			return -EINVAL;
		}
		first = dropin_find_setting(dropin, setting->key);
		if (first != setting) {
			gb_log_full(GB_LOG_ERROR, dropin->name,
			            "%s:%d: key 'settings.%s': set twice (first on line %d)",
			            dropin_file(dropin), setting->line,
			            quote(quoted, setting->key), first->line);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Fill plugin->settings with one entry per option, in table order: the
 * drop-in's value or the default. Adds to *strings_size what the string
 * values need. -ENOMEM is left to the caller to log.
 */
static int type_settings(struct gb_plugin *plugin, const struct gb_dropin *dropin,
                         const char *label, size_t n_options, size_t *strings_size)
{
	const struct gb_option *options = plugin->descriptor->options;
	char error[256];
	int r;

	plugin->settings = calloc(n_options, sizeof(*plugin->settings));
	if (!plugin->settings)
		return -ENOMEM;

	for (size_t i = 0; i < n_options; i++) {
		const struct gb_option *option = &options[i];
		const struct gb_dropin_setting *setting = dropin_find_setting(dropin, option->key);
		const char *text = setting ? setting->value : option->default_value;

		if (!text) {
			gb_log_full(GB_LOG_ERROR, dropin->name,
			            "%s: key 'settings.%s': required by plugin %s, not set",
			            dropin_file(dropin), option->key, label);
			return -EINVAL;
		}
		r = parse_value(option, text, &plugin->settings[i], error, sizeof(error));
		if (r < 0) {
			/* Defaults were checked before: this is the drop-in's value. */
			gb_log_full(GB_LOG_ERROR, dropin->name, "%s:%d: key 'settings.%s': %s",
			            dropin_file(dropin), setting ? setting->line : 0, option->key,
			            error);
			return r;
		}
		if (option->type == GB_VALUE_STRING)
			*strings_size += strlen(text) + 1;
		plugin->n_settings++;
	}
	return 0;
}

/*
 * String values still point into the drop-in or the option table. Copy
 * them into one block the plugin owns until fini(): the caller may free
 * the drop-in set as soon as loading is done.
 */
static int copy_setting_strings(struct gb_plugin *plugin, size_t strings_size)
{
	char *p;

	if (strings_size == 0)
		return 0;
	plugin->strings = malloc(strings_size);
	if (!plugin->strings)
		return -ENOMEM;
	p = plugin->strings;
	for (size_t i = 0; i < plugin->n_settings; i++) {
		struct gb_setting *setting = &plugin->settings[i];
		size_t size;

		if (setting->type != GB_VALUE_STRING)
			continue;
		size = strlen(setting->value.string) + 1;
		memcpy(p, setting->value.string, size);
		setting->value.string = p;
		p += size;
	}
	return 0;
}

/*
 * Check the plugin's option table (its bugs name the plugin file), then the
 * drop-in's [settings] against it (errors name the drop-in file and line),
 * and fill plugin->settings with one entry per option, in table order.
 */
static int resolve_settings(struct gb_plugin *plugin, const struct gb_dropin *dropin,
                            const char *label)
{
	const struct gb_option *options = plugin->descriptor->options;
	size_t n_options = 0, strings_size = 0;
	int r;

	while (options && options[n_options].key)
		n_options++;

	r = check_option_table(plugin, dropin, n_options);
	if (r < 0)
		return r;
	r = check_dropin_settings(plugin, dropin, label, n_options);
	if (r < 0)
		return r;
	if (n_options == 0)
		return 0;
	r = type_settings(plugin, dropin, label, n_options, &strings_size);
	if (r == 0)
		r = copy_setting_strings(plugin, strings_size);
	if (r == -ENOMEM) {
		gb_log_full(GB_LOG_ERROR, dropin->name, "plugin %s: out of memory typing settings",
		            plugin->path);
		return r;
	}
	if (r < 0)
		return r;
	plugin->settings_view.count = plugin->n_settings;
	plugin->settings_view.items = plugin->settings;
	return 0;
}

static int refuse_small_ops(const struct gb_plugin *plugin, const char *name, const char *type,
                            uint32_t size, size_t needed)
{
	gb_log_full(GB_LOG_ERROR, name,
	            "plugin %s: ops (struct %s) are %u bytes, host needs at least %zu",
	            plugin->path, type, size, needed);
	return -EBADMSG;
}

static int refuse_null_member(const struct gb_plugin *plugin, const char *name, const char *member)
{
	gb_log_full(GB_LOG_ERROR, name, "plugin %s: ops %s is NULL", plugin->path, member);
	return -EBADMSG;
}

static int check_capture_ops(const struct gb_plugin *plugin, const char *name)
{
	const struct capture_ops_1_0 *ops = plugin->descriptor->ops;

	if (!ops || ops->struct_size < CAPTURE_OPS_SIZE_NEEDED)
		return refuse_small_ops(plugin, name, "gb_capture_ops", ops ? ops->struct_size : 0,
		                        CAPTURE_OPS_SIZE_NEEDED);
	if (!ops->start)
		return refuse_null_member(plugin, name, "start");
	if (!ops->set_active)
		return refuse_null_member(plugin, name, "set_active");
	if (!ops->repeat_frame)
		return refuse_null_member(plugin, name, "repeat_frame");
	if (!ops->stop)
		return refuse_null_member(plugin, name, "stop");
	return 0;
}

static int check_encoder_ops(const struct gb_plugin *plugin, const char *name)
{
	const struct encoder_ops_1_0 *ops = plugin->descriptor->ops;

	if (!ops || ops->struct_size < ENCODER_OPS_SIZE_NEEDED)
		return refuse_small_ops(plugin, name, "gb_encoder_ops", ops ? ops->struct_size : 0,
		                        ENCODER_OPS_SIZE_NEEDED);
	/* A codec this host does not know would be offered to browsers under no name. */
	if (ops->codec < CODEC_FIRST || ops->codec > CODEC_LAST) {
		gb_log_full(GB_LOG_ERROR, name, "plugin %s: ops codec %u is not a known codec",
		            plugin->path, ops->codec);
		return -EBADMSG;
	}
	if (!ops->probe)
		return refuse_null_member(plugin, name, "probe");
	if (!ops->create_bin)
		return refuse_null_member(plugin, name, "create_bin");
	return 0;
}

static int check_storage_ops(const struct gb_plugin *plugin, const char *name)
{
	const struct gb_plugin_descriptor *descriptor = plugin->descriptor;
	const struct gb_storage_ops *ops = descriptor->ops;

	if (descriptor->abi_minor < 3)
		return 0;
	if (!ops || ops->struct_size < STORAGE_OPS_SIZE_NEEDED) {
		gb_log_full(GB_LOG_ERROR, name,
		            "plugin %s: ops (struct gb_storage_ops) are %u bytes, host needs at "
		            "least %zu",
		            plugin->path, ops ? ops->struct_size : 0, STORAGE_OPS_SIZE_NEEDED);
		return -EBADMSG;
	}
	if (!ops->mounts || !ops->status || !ops->free_mounts) {
		gb_log_full(GB_LOG_ERROR, name,
		            "plugin %s: ops mounts, status and free_mounts must all be set",
		            plugin->path);
		return -EBADMSG;
	}
	return 0;
}

/* Checks on the descriptor: everything here is read before any plugin code but the entry runs. */
static int check_descriptor(const struct gb_plugin *plugin, const struct gb_dropin *dropin)
{
	const struct gb_plugin_descriptor *descriptor = plugin->descriptor;
	const char *name = dropin->name;
	char quoted[QUOTE_MAX];

	if (!descriptor) {
		gb_log_full(GB_LOG_ERROR, name, "plugin %s: %s() returned no descriptor",
		            plugin->path, GB_PLUGIN_ENTRY_SYMBOL);
		return -EBADMSG;
	}
	/*
	 * abi_major and abi_minor are the first two members in every ABI
	 * version, so they are safe to read before anything else.
	 */
	if (descriptor->abi_major != GB_PLUGIN_ABI_MAJOR ||
	    descriptor->abi_minor > GB_PLUGIN_ABI_MINOR) {
		gb_log_full(GB_LOG_ERROR, name, "plugin %s built for ABI %u.%u, host is %u.%u",
		            plugin->path, descriptor->abi_major, descriptor->abi_minor,
		            GB_PLUGIN_ABI_MAJOR, GB_PLUGIN_ABI_MINOR);
		return -EPROTO;
	}
	if (descriptor->struct_size < DESCRIPTOR_SIZE_1_0) {
		gb_log_full(GB_LOG_ERROR, name,
		            "plugin %s: descriptor struct_size is %u bytes, ABI %u.0 needs at "
		            "least %zu",
		            plugin->path, descriptor->struct_size, GB_PLUGIN_ABI_MAJOR,
		            DESCRIPTOR_SIZE_1_0);
		return -EBADMSG;
	}
	if (descriptor->kind != (uint32_t)dropin->kind) {
		const char *declared = "unknown";

		if (kind_is_known(descriptor->kind))
			declared = gb_plugin_kind_to_string((enum gb_plugin_kind)descriptor->kind);
		gb_log_full(GB_LOG_ERROR, name,
		            "plugin %s declares kind %s, but drop-in %s asks for kind %s",
		            plugin->path, declared, dropin_file(dropin),
		            gb_plugin_kind_to_string(dropin->kind));
		return -EINVAL;
	}
	if (!descriptor->name || strcmp(descriptor->name, dropin->name) != 0) {
		gb_log_full(GB_LOG_ERROR, name,
		            "plugin %s declares name '%s', but drop-in %s asks for '%s'",
		            plugin->path, quote(quoted, descriptor->name), dropin_file(dropin),
		            dropin->name);
		return -EINVAL;
	}

	/* Only kinds with a vtable defined in this ABI have size requirements yet. */
	if (descriptor->kind == GB_PLUGIN_KIND_CAPTURE)
		return check_capture_ops(plugin, name);
	if (descriptor->kind == GB_PLUGIN_KIND_ENCODER)
		return check_encoder_ops(plugin, name);
	if (descriptor->kind == GB_PLUGIN_KIND_STORAGE)
		return check_storage_ops(plugin, name);
	if (descriptor->kind == GB_PLUGIN_KIND_AUTH) {
		const struct gb_auth_ops *ops = descriptor->ops;

		if (!ops || ops->struct_size < AUTH_OPS_SIZE_NEEDED) {
			gb_log_full(GB_LOG_ERROR, name,
			            "plugin %s: ops (struct gb_auth_ops) are %u bytes, host needs "
			            "at least %zu",
			            plugin->path, ops ? ops->struct_size : 0,
			            AUTH_OPS_SIZE_NEEDED);
			return -EBADMSG;
		}
		if (!ops->verify_password && gb_auth_ops_method(ops) != GB_AUTH_METHOD_REDIRECT) {
			gb_log_full(GB_LOG_ERROR, name,
			            "plugin %s: ops verify_password is NULL and there is no "
			            "begin_login",
			            plugin->path);
			return -EBADMSG;
		}
		if (gb_auth_ops_method(ops) == GB_AUTH_METHOD_REDIRECT &&
		    !GB_AUTH_OPS_HAS(ops, finish_login)) {
			gb_log_full(GB_LOG_ERROR, name,
			            "plugin %s: ops begin_login is set but finish_login is not",
			            plugin->path);
			return -EBADMSG;
		}
	}
	return 0;
}

/* A host whose struct ends before logv (made by hand, not by gb_host_init()): through log(). */
static void forward_logv(const struct gb_host *host, enum gb_log_level level, const char *format,
                         va_list args) __attribute__((format(printf, 3, 0)));

static void forward_logv(const struct gb_host *host, enum gb_log_level level, const char *format,
                         va_list args)
{
	char message[2048];
	int saved_errno = errno;

	if (!host->log)
		return;
	vsnprintf(message, sizeof(message), format, args);
	host->log(host, host->plugin_name, level, "%s", message);
	errno = saved_errno;
}

/*
 * The plugin's own copy of the registry's host, tagged with its name: its
 * log handle. Every member of this ABI is set, so that a plugin never has
 * to check for one; an older plugin reads only the members it knows.
 */
static void plugin_host_init(struct gb_plugin *plugin, const struct gb_host *host)
{
	size_t size = host->struct_size < sizeof(plugin->host) ? host->struct_size
	                                                       : sizeof(plugin->host);

	memset(&plugin->host, 0, sizeof(plugin->host));
	memcpy(&plugin->host, host, size);
	plugin->host.struct_size = sizeof(plugin->host);
	plugin->host.abi_major = GB_PLUGIN_ABI_MAJOR;
	plugin->host.abi_minor = GB_PLUGIN_ABI_MINOR;
	plugin->host.plugin_name = plugin->descriptor->name;
	if (size < member_end(struct gb_host, logv) || !plugin->host.logv)
		plugin->host.logv = forward_logv;
}

/* What gb_plugin_registry_load() checks before the name goes anywhere near a path. */
static int check_dropin(const struct gb_dropin *dropin)
{
	char quoted[QUOTE_MAX];

	if (!gb_plugin_name_is_valid(dropin->name)) {
		const char *shown = quote(quoted, dropin->name);

		gb_log_full(GB_LOG_ERROR, shown,
		            "drop-in %s: invalid plugin name '%s' (allowed: a-z 0-9 . _ -, no '/' "
		            "or '..')",
		            dropin_file(dropin), shown);
		return -EINVAL;
	}
	if (!kind_is_known(dropin->kind)) {
		gb_log_full(GB_LOG_ERROR, dropin->name, "drop-in %s: unknown plugin kind %d",
		            dropin_file(dropin), (int)dropin->kind);
		return -EINVAL;
	}
	return 0;
}

/*
 * Set plugin->path to @label's file along the search path, and refuse a
 * plugin that is already loaded. -ENOMEM is left to the caller to log.
 */
static int locate_plugin(struct gb_plugin_registry *registry, struct gb_plugin *plugin,
                         const struct gb_dropin *dropin, const char *label)
{
	struct gb_plugin *loaded;
	char *dirs;
	int r;

	r = find_plugin_file(registry, label, &plugin->path);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		dirs = search_path_join(registry);
		gb_log_full(GB_LOG_ERROR, dropin->name,
		            "plugin %s.so not found in %s (drop-in %s)", label,
		            dirs ? dirs : "(out of memory)", dropin_file(dropin));
		free(dirs);
		return r;
	}

	/* Before dlopen(): loading a module runs its constructors. */
	loaded = gb_plugin_registry_find(registry, dropin->kind, dropin->name);
	if (loaded) {
		gb_log_full(GB_LOG_ERROR, dropin->name,
		            "plugin %s: %s is already loaded from %s (drop-in %s)", plugin->path,
		            label, loaded->path, dropin_file(dropin));
		return -EEXIST;
	}
	return 0;
}

/* dlopen() plugin->path and call its entry point: plugin->descriptor, still unchecked. */
static int open_plugin(struct gb_plugin *plugin, const struct gb_dropin *dropin)
{
	gb_plugin_entry_func entry;
	void *symbol;

	/*
	 * RTLD_NOW: a missing symbol fails here, with a message, not in the
	 * middle of a session. RTLD_LOCAL: plugins cannot see each other.
	 */
	dlerror();
	plugin->handle = dlopen(plugin->path, RTLD_NOW | RTLD_LOCAL);
	if (!plugin->handle) {
		const char *error = dlerror();

		gb_log_full(GB_LOG_ERROR, dropin->name, "plugin %s: cannot load: %s", plugin->path,
		            error ? error : "unknown dlopen() error");
		return -ENOEXEC;
	}
	dlerror();
	symbol = dlsym(plugin->handle, GB_PLUGIN_ENTRY_SYMBOL);
	if (!symbol) {
		gb_log_full(GB_LOG_ERROR, dropin->name,
		            "plugin %s: no entry symbol %s (built without GB_PLUGIN_DEFINE, or "
		            "without -fvisibility=hidden and GB_PLUGIN_EXPORT?)",
		            plugin->path, GB_PLUGIN_ENTRY_SYMBOL);
		return -ENOSYS;
	}
	/* ISO C has no object-to-function pointer cast; POSIX guarantees the sizes match. */
	static_assert(sizeof(entry) == sizeof(symbol), "function and object pointers differ");
	memcpy(&entry, &symbol, sizeof(entry));

	plugin->descriptor = entry();
	return 0;
}

/* Call the plugin's init() with its own host; on failure, log it and return the errno. */
static int init_plugin(const struct gb_plugin_registry *registry, struct gb_plugin *plugin,
                       const struct gb_dropin *dropin)
{
	int r;

	plugin_host_init(plugin, registry->host);
	if (plugin->descriptor->init) {
		r = plugin->descriptor->init(&plugin->host, &plugin->settings_view,
		                             &plugin->state);
		if (r != 0) {
			/* init() must return 0 or a negative errno; anything else is a bug. */
			if (r > 0)
				r = -EBADMSG;
			gb_log_full(GB_LOG_ERROR, dropin->name, "plugin %s: init failed: %s",
			            plugin->path, strerror(-r));
			return r;
		}
	}
	plugin->initialised = true;
	return 0;
}

int gb_plugin_registry_load(struct gb_plugin_registry *registry, const struct gb_dropin *dropin)
{
	const struct gb_plugin_descriptor *descriptor;
	char label[LABEL_MAX], quoted[QUOTE_MAX];
	struct gb_plugin *plugin = NULL, **plugins;
	int r;

	if (!registry || !dropin)
		return -EINVAL;
	if (!registry->host) {
		gb_log_full(GB_LOG_ERROR, NULL, "drop-in %s: plugin registry not initialised",
		            dropin_file(dropin));
		return -EINVAL;
	}
	r = check_dropin(dropin);
	if (r < 0)
		return r;
	snprintf(label, sizeof(label), "%s-%s", gb_plugin_kind_to_string(dropin->kind),
	         dropin->name);

	plugin = calloc(1, sizeof(*plugin));
	if (!plugin) {
		r = -ENOMEM;
		goto oom;
	}
	r = locate_plugin(registry, plugin, dropin, label);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0)
		goto fail;
	r = open_plugin(plugin, dropin);
	if (r < 0)
		goto fail;
	r = check_descriptor(plugin, dropin);
	if (r < 0)
		goto fail;
	descriptor = plugin->descriptor;

	r = resolve_settings(plugin, dropin, label);
	if (r < 0)
		goto fail;
	if (dropin->identity_namespace) {
		plugin->identity_namespace = strdup(dropin->identity_namespace);
		if (!plugin->identity_namespace) {
			r = -ENOMEM;
			goto oom;
		}
	}

	/* Take the slot now, so that nothing can fail after init() succeeded. */
	plugins = realloc(registry->plugins, (registry->count + 1) * sizeof(*plugins));
	if (!plugins) {
		r = -ENOMEM;
		goto oom;
	}
	registry->plugins = plugins;

	r = init_plugin(registry, plugin, dropin);
	if (r < 0)
		goto fail;
	registry->plugins[registry->count++] = plugin;
	gb_log_full(GB_LOG_INFO, dropin->name, "loaded %s %s (ABI %u.%u) from %s", label,
	            quote(quoted, descriptor->version ? descriptor->version : "(no version)"),
	            descriptor->abi_major, descriptor->abi_minor, plugin->path);
	return 0;

oom:
	gb_log_full(GB_LOG_ERROR, dropin->name, "plugin %s%s: out of memory (drop-in %s)",
	            plugin && plugin->path ? plugin->path : label,
	            plugin && plugin->path ? "" : ".so", dropin_file(dropin));
fail:
	plugin_destroy(plugin);
	return r;
}

int gb_plugin_registry_load_all(struct gb_plugin_registry *registry,
                                const struct gb_dropin_set *set)
{
	int r;

	if (!registry)
		return -EINVAL;
	for (size_t i = 0; set && i < set->count; i++) {
		const struct gb_dropin *dropin = &set->items[i];
		char quoted[QUOTE_MAX];

		if (!dropin->enabled) {
			gb_log_full(GB_LOG_DEBUG, dropin->name,
			            "drop-in %s: plugin %s disabled, skipped", dropin_file(dropin),
			            quote(quoted, dropin->name));
			continue;
		}
		r = gb_plugin_registry_load(registry, dropin);
		if (r >= 0)
			continue;
		if (!dropin->optional)
			return r;
		gb_log_full(GB_LOG_WARNING, dropin->name,
		            "optional plugin %s-%s skipped (drop-in %s): %s",
		            gb_plugin_kind_to_string(dropin->kind), quote(quoted, dropin->name),
		            dropin_file(dropin), strerror(-r));
	}
	return 0;
}

int gb_plugin_registry_load_dropins(struct gb_plugin_registry *registry, const char *vendor_dir,
                                    const char *config_dir, uint32_t kinds)
{
	char error[GB_DROPIN_ERROR_MAX];
	struct gb_dropin_set all = { 0 };
	struct gb_dropin_set ours = { 0 };
	int r;

	r = gb_dropin_set_load(&all, vendor_dir, config_dir, error, sizeof(error));
	if (r < 0) {
		gb_error("%s", error);
		return r;
	}
	ours.items = calloc(all.count ? all.count : 1, sizeof(*ours.items));
	if (!ours.items) {
		gb_dropin_set_clear(&all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < all.count; i++)
		if (all.items[i].kind < 32 && (kinds & GB_PLUGIN_KIND_BIT(all.items[i].kind)))
			ours.items[ours.count++] = all.items[i];
	r = gb_plugin_registry_load_all(registry, &ours);
	free(ours.items); /* the drop-ins themselves belong to @all */
	gb_dropin_set_clear(&all);
	return r;
}
