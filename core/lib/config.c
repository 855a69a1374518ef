/* SPDX-License-Identifier: MIT */
/*
 * glassbox.conf is read with libconfig and then checked against one static
 * schema table. libconfig itself accepts any key of any type, so without the
 * table a typo ("widht = 1920") would silently fall back to a default; the
 * daemon is meant to refuse to start instead, naming the file, line and key.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "file-error.h"
#include "file-name.h"
#include "config.h"
#include "gb-build-config.h"

/* Long enough for any path in the schema; longer names cannot be known keys. */
#define KEY_PATH_MAX 256

enum schema_type {
	SCHEMA_INT,     /* int field, range-checked */
	SCHEMA_BOOL,    /* bool field */
	SCHEMA_STRING,  /* char * field, owned */
	SCHEMA_ENUM,    /* int-sized enum field, from one of a list of strings */
	SCHEMA_ARGV,    /* char ** field: a list or array of >= 1 non-empty strings */
	SCHEMA_LIST,    /* char ** field: a list or array of >= 0 non-empty strings */
	SCHEMA_BYTES,   /* uint64_t field, from a string: "" or NUMBER[K|M|G|T] */
	SCHEMA_USER,    /* char * field: "" or a user name, [a-z_][a-z0-9_-]{0,31} */
	SCHEMA_CHOICES, /* char ** field: a list of >= 0 distinct strings, each one of values */
	SCHEMA_FOLDER,  /* char * field: a folder inside a home (gb_folder_path_is_valid) */
};

struct schema_enum_value {
	const char *name;
	int value;
};

struct schema_key {
	const char *path; /* "group.subgroup.key" */
	enum schema_type type;
	long long min; /* SCHEMA_INT */
	long long max;
	const struct schema_enum_value *values; /* SCHEMA_ENUM; ends with a NULL name */
	size_t offset;                          /* of the field in struct gb_config */
};

/*
 * The field's type is checked at compile time (_Generic has no default, so a
 * mismatch does not build): the table writes through the offset blindly.
 */
#define FIELD(field, type)                                                                        \
	_Generic(((struct gb_config *)0)->field, type : offsetof(struct gb_config, field))

/* An enum is stored as an int: refuse to build if the compiler picked another size. */
#define ENUM_FIELD(field)                                                                         \
	(offsetof(struct gb_config, field) +                                                      \
	 0 * sizeof(char[sizeof(((struct gb_config *)0)->field) == sizeof(int) ? 1 : -1]))

/* One line per macro reads better than clang-format's expanded braces. */
/* clang-format off */
#define KEY_INT(path, field, min, max) { path, SCHEMA_INT, min, max, NULL, FIELD(field, int) }
#define KEY_BOOL(path, field)          { path, SCHEMA_BOOL, 0, 0, NULL, FIELD(field, bool) }
#define KEY_STRING(path, field)        { path, SCHEMA_STRING, 0, 0, NULL, FIELD(field, char *) }
#define KEY_ENUM(path, field, values)  { path, SCHEMA_ENUM, 0, 0, values, ENUM_FIELD(field) }
#define KEY_ARGV(path, field)          { path, SCHEMA_ARGV, 0, 0, NULL, FIELD(field, char **) }
#define KEY_LIST(path, field)          { path, SCHEMA_LIST, 0, 0, NULL, FIELD(field, char **) }
#define KEY_BYTES(path, field)         { path, SCHEMA_BYTES, 0, 0, NULL, FIELD(field, uint64_t) }
#define KEY_USER(path, field)          { path, SCHEMA_USER, 0, 0, NULL, FIELD(field, char *) }
#define KEY_CHOICES(path, field, values) { path, SCHEMA_CHOICES, 0, 0, values, FIELD(field, char **) }
#define KEY_FOLDER(path, field)        { path, SCHEMA_FOLDER, 0, 0, NULL, FIELD(field, char *) }
/* clang-format on */

static const struct schema_enum_value log_levels[] = {
	{ "error", GB_LOG_ERROR },
	{ "warning", GB_LOG_WARNING },
	{ "info", GB_LOG_INFO },
	{ "debug", GB_LOG_DEBUG },
	{ NULL, 0 },
};

static const struct schema_enum_value spawners[] = {
	{ "direct", GB_SPAWNER_DIRECT },
	{ "systemd", GB_SPAWNER_SYSTEMD },
	{ NULL, 0 },
};

static const struct schema_enum_value codecs[] = {
	{ "auto", GB_CODEC_CHOICE_AUTO },
	{ "h264", GB_CODEC_CHOICE_H264 },
	{ "vp8", GB_CODEC_CHOICE_VP8 },
	{ NULL, 0 },
};

static const struct schema_enum_value renderers[] = {
	{ "pixman", GB_RENDERER_PIXMAN },
	{ "gl", GB_RENDERER_GL },
	{ NULL, 0 },
};

/* The values are not used: the strings are kept. */
static const struct schema_enum_value remote_types[] = {
	{ "webdav", 0 },
	{ "sftp", 0 },
	{ "s3", 0 },
	{ NULL, 0 },
};

/*
 * Every key glassbox.conf accepts. Groups are implied by the paths: a group
 * is known when some key lives under it. Adding a key is one line here (and
 * its default in gb_config_new_defaults()).
 */
static const struct schema_key schema[] = {
	KEY_ENUM("log.level", log_level, log_levels),

	KEY_STRING("server.listen", server.listen),
	KEY_STRING("server.tls_certificate", server.tls_certificate),
	KEY_STRING("server.tls_key", server.tls_key),
	KEY_STRING("server.state_dir", server.state_dir),
	KEY_STRING("server.runtime_dir", server.runtime_dir),
	KEY_STRING("server.web_dir", server.web_dir),
	KEY_STRING("server.session_binary", server.session_binary),
	KEY_ENUM("server.spawner", server.spawner, spawners),
	KEY_INT("server.max_sessions", server.max_sessions, 1, 10000),
	KEY_INT("server.login_lifetime_s", server.login_lifetime_s, 60, 2592000),
	KEY_LIST("server.allowed_origins", server.allowed_origins),

	KEY_ARGV("session.command", session.command),
	KEY_INT("session.width", session.width, 64, 7680),
	KEY_INT("session.height", session.height, 64, 4320),
	KEY_ENUM("session.renderer", session.renderer, renderers),
	KEY_BOOL("session.xwayland", session.xwayland),
	KEY_INT("session.stop_grace_ms", session.stop_grace_ms, 0, 600000),
	KEY_STRING("session.keyboard.layout", session.keyboard_layout),
	KEY_STRING("session.keyboard.variant", session.keyboard_variant),
	KEY_STRING("session.keyboard.model", session.keyboard_model),
	KEY_STRING("session.keyboard.options", session.keyboard_options),
	KEY_INT("session.max_width", session.max_width, 64, 7680),
	KEY_INT("session.max_height", session.max_height, 64, 4320),
	KEY_INT("session.max_viewers", session.max_viewers, 1, 64),
	KEY_INT("session.idle_timeout_s", session.idle_timeout_s, 0, 604800),
	KEY_BYTES("session.memory_max", session.memory_max),
	KEY_INT("session.cpu_quota_percent", session.cpu_quota_percent, 0, 100000),
	KEY_INT("session.tasks_max", session.tasks_max, 0, 4194304),
	KEY_USER("session.user", session.user),

	KEY_LIST("webrtc.ice_addresses", webrtc.ice_addresses),
	KEY_STRING("webrtc.stun_server", webrtc.stun_server),
	KEY_LIST("webrtc.turn_servers", webrtc.turn_servers),
	KEY_ENUM("webrtc.codec", webrtc.codec, codecs),
	KEY_STRING("webrtc.encoder", webrtc.encoder),
	KEY_INT("webrtc.bitrate_kbps", webrtc.bitrate_kbps, 100, 100000),
	KEY_INT("webrtc.max_fps", webrtc.max_fps, 1, 240),
	KEY_INT("webrtc.idle_refresh_ms", webrtc.idle_refresh_ms, 100, 10000),
	KEY_BOOL("webrtc.playout_delay", webrtc.playout_delay),

	KEY_FOLDER("files.uploads_dir", files.uploads_dir),
	KEY_FOLDER("files.downloads_dir", files.downloads_dir),
	KEY_BYTES("files.max_upload_size", files.max_upload_size),

	KEY_STRING("plugins.vendor_dir", plugins.vendor_dir),
	KEY_STRING("plugins.config_dir", plugins.config_dir),
	KEY_STRING("plugins.plugin_dir", plugins.plugin_dir),

	KEY_CHOICES("storage.user_remote_types", storage.user_remote_types, remote_types),
	KEY_INT("storage.max_user_remotes", storage.max_user_remotes, 1, 64),
};

#define SCHEMA_COUNT (sizeof(schema) / sizeof(schema[0]))

struct parser {
	const char *name; /* the file, as given, for errors */
	const config_t *cf;
	char *error; /* or NULL */
	size_t error_size;
	struct gb_config *config;
};

#define set_error(error, error_size, file, line, ...)                                             \
	gb_file_error(error, error_size, file, line, __VA_ARGS__)

/*
 * The file a setting or a parse error comes from: NULL from libconfig means
 * the top-level text; an @include'd file is named as written in the
 * directive, relative to the include directory.
 */
static const char *source_name(const config_t *cf, const char *file, const char *name,
                               char *buffer, size_t size)
{
	const char *dir = config_get_include_dir(cf);

	if (!file)
		return name;
	if (file[0] == '/' || !dir)
		return file;
	snprintf(buffer, size, "%s/%s", dir, file);
	return buffer;
}

static void __attribute__((format(printf, 4, 5)))
setting_error(struct parser *parser, const config_setting_t *setting, const char *path,
              const char *format, ...)
{
	char message[GB_CONFIG_ERROR_MAX];
	char file[GB_CONFIG_ERROR_MAX];
	va_list args;

	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);

	set_error(parser->error, parser->error_size,
	          source_name(parser->cf, config_setting_source_file(setting), parser->name, file,
	                      sizeof(file)),
	          (int)config_setting_source_line(setting), "key '%s': %s", path, message);
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "an unknown type";
	}
}

static const char *schema_type_name(enum schema_type type)
{
	switch (type) {
	case SCHEMA_INT:
		return "an integer";
	case SCHEMA_BOOL:
		return "a boolean (true or false)";
	case SCHEMA_STRING:
	case SCHEMA_ENUM:
		return "a string";
	case SCHEMA_USER:
		return "a string (a user name, or \"\")";
	case SCHEMA_FOLDER:
		return "a string (a folder inside the home, such as \"Uploads\")";
	case SCHEMA_BYTES:
		return "a string (a size such as \"2G\", or \"\")";
	case SCHEMA_ARGV:
	case SCHEMA_LIST:
	case SCHEMA_CHOICES:
		return "a list of strings";
	}
	return "?";
}

static const struct schema_key *schema_find(const char *path)
{
	for (size_t i = 0; i < SCHEMA_COUNT; i++)
		if (strcmp(schema[i].path, path) == 0)
			return &schema[i];
	return NULL;
}

/* "a.b" is a group when a key "a.b.<something>" exists. */
static bool schema_is_group(const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < SCHEMA_COUNT; i++)
		if (strncmp(schema[i].path, path, len) == 0 && schema[i].path[len] == '.')
			return true;
	return false;
}

/*
 * The names allowed directly inside @group ("" for the top level), comma
 * separated, in schema order, for "unknown key" messages.
 */
static void schema_list_children(const char *group, char *out, size_t size)
{
	size_t prefix = strlen(group) + (group[0] ? 1 : 0);
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < SCHEMA_COUNT; i++) {
		const char *path = schema[i].path;
		const char *child;
		size_t child_len;
		bool seen = false;

		if (group[0] && (strncmp(path, group, prefix - 1) != 0 || path[prefix - 1] != '.'))
			continue;
		child = path + prefix;
		child_len = strcspn(child, ".");

		/* session.keyboard.* gives "keyboard" once. */
		for (size_t j = 0; j < i && !seen; j++) {
			const char *other = schema[j].path;

			seen = strncmp(other, path, prefix + child_len) == 0 &&
			       (other[prefix + child_len] == '.' ||
			        other[prefix + child_len] == '\0');
		}
		if (seen)
			continue;

		int n = snprintf(out + used, size - used, "%s%.*s", used ? ", " : "",
		                 (int)child_len, child);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}

static void *field(struct gb_config *config, const struct schema_key *key)
{
	return (char *)config + key->offset;
}

static void free_argv(char **argv)
{
	if (!argv)
		return;
	for (char **arg = argv; *arg; arg++)
		free(*arg);
	free(argv);
}

static int apply_int(struct parser *parser, const struct schema_key *key,
                     const config_setting_t *setting)
{
	long long value = config_setting_get_int64(setting);
	int as_int;

	if (value < key->min || value > key->max) {
		setting_error(parser, setting, key->path, "value %lld is out of range %lld..%lld",
		              value, key->min, key->max);
		return -EINVAL;
	}
	as_int = (int)value;
	memcpy(field(parser->config, key), &as_int, sizeof(as_int));
	return 0;
}

/* The names of @values, comma separated, for errors. */
static void list_values(const struct schema_enum_value *values, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (const struct schema_enum_value *v = values; v->name; v++) {
		int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "", v->name);
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}

static int apply_enum(struct parser *parser, const struct schema_key *key,
                      const config_setting_t *setting)
{
	const char *text = config_setting_get_string(setting);
	char allowed[GB_CONFIG_ERROR_MAX];

	for (const struct schema_enum_value *v = key->values; v->name; v++) {
		if (strcmp(v->name, text) == 0) {
			memcpy(field(parser->config, key), &v->value, sizeof(v->value));
			return 0;
		}
	}

	list_values(key->values, allowed, sizeof(allowed));
	setting_error(parser, setting, key->path, "value '%s' is not one of %s", text, allowed);
	return -EINVAL;
}

static int apply_string(struct parser *parser, const struct schema_key *key,
                        const config_setting_t *setting)
{
	char **target = field(parser->config, key);
	char *copy = strdup(config_setting_get_string(setting));

	if (!copy)
		return -ENOMEM;
	free(*target);
	*target = copy;
	return 0;
}

static int apply_argv(struct parser *parser, const struct schema_key *key,
                      const config_setting_t *setting)
{
	char ***target = field(parser->config, key);
	int count = config_setting_length(setting);
	char **argv;
	int r;

	if (count < 1 && key->type == SCHEMA_ARGV) {
		setting_error(parser, setting, key->path, "must hold at least one string");
		return -EINVAL;
	}

	argv = calloc((size_t)count + 1, sizeof(*argv));
	if (!argv)
		return -ENOMEM;

	for (int i = 0; i < count; i++) {
		const config_setting_t *element = config_setting_get_elem(setting, (unsigned)i);
		/* Elements carry their own line; a list spanning lines points at the culprit. */
		const config_setting_t *where =
		        config_setting_source_line(element) ? element : setting;

		if (config_setting_type(element) != CONFIG_TYPE_STRING) {
			setting_error(parser, where, key->path,
			              "element %d is %s, expected a non-empty string", i + 1,
			              type_name(config_setting_type(element)));
			r = -EINVAL;
			goto err_argv;
		}
		if (config_setting_get_string(element)[0] == '\0') {
			setting_error(parser, where, key->path,
			              "element %d is empty, expected a non-empty string", i + 1);
			r = -EINVAL;
			goto err_argv;
		}
		argv[i] = strdup(config_setting_get_string(element));
		if (!argv[i]) {
			r = -ENOMEM;
			goto err_argv;
		}
	}

	free_argv(*target);
	*target = argv;
	return 0;

err_argv:
	free_argv(argv);
	return r;
}

/* Sizes as systemd writes them (K, M, G, T: powers of 1024), kept strict. */
#define BYTES_MIN (UINT64_C(1) << 20)
#define BYTES_MAX (UINT64_C(1) << 62)

int gb_config_parse_bytes(const char *text, uint64_t *bytes)
{
	static const char suffixes[] = "KMGT";
	uint64_t value = 0, scale = 1;
	size_t digits;
	const char *suffix;

	if (!text || !bytes)
		return -EINVAL;
	if (text[0] == '\0') {
		*bytes = 0;
		return 0;
	}
	digits = strspn(text, "0123456789");
	if (digits == 0 || digits > 19)
		return digits ? -ERANGE : -EINVAL;
	if (text[digits] != '\0') {
		if (text[digits + 1] != '\0')
			return -EINVAL;
		suffix = strchr(suffixes, text[digits]);
		if (!suffix)
			return -EINVAL;
		scale = UINT64_C(1) << (10 * (suffix - suffixes + 1));
	}
	for (size_t i = 0; i < digits; i++)
		value = value * 10 + (uint64_t)(text[i] - '0');
	if (value > BYTES_MAX / scale)
		return -ERANGE;
	value *= scale;
	if (value < BYTES_MIN)
		return -ERANGE;
	*bytes = value;
	return 0;
}

static int apply_bytes(struct parser *parser, const struct schema_key *key,
                       const config_setting_t *setting)
{
	const char *text = config_setting_get_string(setting);
	uint64_t value;
	int r = gb_config_parse_bytes(text, &value);

	if (r == -ERANGE) {
		setting_error(parser, setting, key->path, "size '%s' is out of range 1M..4194304T",
		              text);
		return -EINVAL;
	}
	if (r < 0) {
		setting_error(parser, setting, key->path,
		              "'%s' is not a size: expected \"\" (no limit) or a number of bytes "
		              "with an optional K, M, G or T suffix, such as \"2G\"",
		              text);
		return -EINVAL;
	}
	memcpy(field(parser->config, key), &value, sizeof(value));
	return 0;
}

/* The portable user names of useradd without its trailing '$': what
 * getpwnam() is then asked is never a path or an option. */
bool gb_user_name_is_valid(const char *name)
{
	size_t length = name ? strlen(name) : 0;

	if (length == 0 || length > 32)
		return false;
	if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z')))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == length;
}

static int apply_user(struct parser *parser, const struct schema_key *key,
                      const config_setting_t *setting)
{
	const char *text = config_setting_get_string(setting);

	if (text[0] != '\0' && !gb_user_name_is_valid(text)) {
		setting_error(parser, setting, key->path,
		              "'%s' is not a user name: expected \"\" or 1..32 of a-z, 0-9, '_' "
		              "and '-', starting with a letter or '_'",
		              text);
		return -EINVAL;
	}
	return apply_string(parser, key, setting);
}

/* A list of strings, each one of key->values and each once. */
static int apply_choices(struct parser *parser, const struct schema_key *key,
                         const config_setting_t *setting)
{
	int count = config_setting_length(setting);
	char allowed[GB_CONFIG_ERROR_MAX];

	list_values(key->values, allowed, sizeof(allowed));
	for (int i = 0; i < count; i++) {
		const config_setting_t *element = config_setting_get_elem(setting, (unsigned)i);
		const config_setting_t *where =
		        config_setting_source_line(element) ? element : setting;
		const char *text = config_setting_get_string(element);
		bool known = false;

		for (const struct schema_enum_value *v = key->values; text && v->name; v++)
			known = known || strcmp(v->name, text) == 0;
		if (!known) {
			setting_error(parser, where, key->path,
			              "element %d is not one of %s (a list of strings)", i + 1,
			              allowed);
			return -EINVAL;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(config_setting_get_string_elem(setting, j), text) == 0) {
				setting_error(parser, where, key->path,
				              "element %d ('%s') is listed twice", i + 1, text);
				return -EINVAL;
			}
		}
	}
	return apply_argv(parser, key, setting);
}

static int apply_folder(struct parser *parser, const struct schema_key *key,
                        const config_setting_t *setting)
{
	const char *text = config_setting_get_string(setting);

	if (!gb_folder_path_is_valid(text)) {
		setting_error(parser, setting, key->path,
		              "'%s' is not a folder inside the home: expected a relative path "
		              "such as \"Uploads\", without '.', '..', empty or hidden components",
		              text);
		return -EINVAL;
	}
	return apply_string(parser, key, setting);
}

static bool type_matches(enum schema_type expected, int type)
{
	switch (expected) {
	case SCHEMA_INT:
		return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
	case SCHEMA_BOOL:
		return type == CONFIG_TYPE_BOOL;
	case SCHEMA_STRING:
	case SCHEMA_ENUM:
	case SCHEMA_BYTES:
	case SCHEMA_USER:
	case SCHEMA_FOLDER:
		return type == CONFIG_TYPE_STRING;
	case SCHEMA_ARGV:
	case SCHEMA_LIST:
	case SCHEMA_CHOICES:
		return type == CONFIG_TYPE_LIST || type == CONFIG_TYPE_ARRAY;
	}
	return false;
}

static int apply_key(struct parser *parser, const struct schema_key *key,
                     const config_setting_t *setting)
{
	int type = config_setting_type(setting);

	if (!type_matches(key->type, type)) {
		setting_error(parser, setting, key->path, "expected %s, got %s",
		              schema_type_name(key->type), type_name(type));
		return -EINVAL;
	}

	switch (key->type) {
	case SCHEMA_INT:
		return apply_int(parser, key, setting);
	case SCHEMA_BOOL: {
		bool value = config_setting_get_bool(setting);

		memcpy(field(parser->config, key), &value, sizeof(value));
		return 0;
	}
	case SCHEMA_STRING:
		return apply_string(parser, key, setting);
	case SCHEMA_ENUM:
		return apply_enum(parser, key, setting);
	case SCHEMA_ARGV:
	case SCHEMA_LIST:
		return apply_argv(parser, key, setting);
	case SCHEMA_BYTES:
		return apply_bytes(parser, key, setting);
	case SCHEMA_USER:
		return apply_user(parser, key, setting);
	case SCHEMA_CHOICES:
		return apply_choices(parser, key, setting);
	case SCHEMA_FOLDER:
		return apply_folder(parser, key, setting);
	}
	return -EINVAL;
}

static int apply_group(struct parser *parser, const config_setting_t *group,
                       const char *group_path)
{
	int count = config_setting_length(group);

	for (int i = 0; i < count; i++) {
		const config_setting_t *setting = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(setting);
		const struct schema_key *key;
		char path[KEY_PATH_MAX];
		char known[GB_CONFIG_ERROR_MAX];
		int type = config_setting_type(setting);
		int n, r;

		n = snprintf(path, sizeof(path), "%s%s%s", group_path, group_path[0] ? "." : "",
		             name ? name : "");
		/* A truncated path cannot name a known key; report what fits. */
		key = n >= 0 && (size_t)n < sizeof(path) ? schema_find(path) : NULL;

		if (key) {
			r = apply_key(parser, key, setting);
		} else if (schema_is_group(path)) {
			if (type != CONFIG_TYPE_GROUP) {
				setting_error(parser, setting, path, "expected a group, got %s",
				              type_name(type));
				return -EINVAL;
			}
			r = apply_group(parser, setting, path);
		} else {
			schema_list_children(group_path, known, sizeof(known));
			setting_error(parser, setting, path, "unknown %s (expected %s)",
			              type == CONFIG_TYPE_GROUP ? "group" : "key", known);
			return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

struct gb_config *gb_config_new_defaults(void)
{
	struct gb_config *config = calloc(1, sizeof(*config));

	if (!config)
		return NULL;

	config->log_level = GB_LOG_INFO;
	config->server.listen = strdup("127.0.0.1:8080");
	config->server.tls_certificate = strdup("");
	config->server.tls_key = strdup("");
	config->server.state_dir = strdup("/var/lib/glassbox");
	config->server.runtime_dir = strdup("/run/glassbox");
	config->server.web_dir = strdup(GB_WEB_DIR);
	config->server.session_binary = strdup(GB_BINDIR "/glassbox-session");
	config->server.spawner = GB_SPAWNER_DIRECT;
	config->server.max_sessions = 16;
	config->server.login_lifetime_s = 43200;
	config->server.allowed_origins = calloc(1, sizeof(char *));
	config->session.command = NULL;
	config->session.width = 1280;
	config->session.height = 720;
	config->session.renderer = GB_RENDERER_PIXMAN;
	config->session.xwayland = true;
	config->session.stop_grace_ms = 5000;
	config->session.keyboard_layout = strdup("us");
	config->session.keyboard_variant = strdup("");
	config->session.keyboard_model = strdup("pc105");
	config->session.keyboard_options = strdup("");
	config->session.max_width = 3840;
	config->session.max_height = 2160;
	config->session.max_viewers = 4;
	config->session.idle_timeout_s = 300;
	config->session.memory_max = 0;
	config->session.cpu_quota_percent = 0;
	config->session.tasks_max = 0;
	config->session.user = strdup("");
	config->webrtc.ice_addresses = calloc(1, sizeof(char *));
	config->webrtc.stun_server = strdup("");
	config->webrtc.turn_servers = calloc(1, sizeof(char *));
	config->webrtc.codec = GB_CODEC_CHOICE_AUTO;
	config->webrtc.encoder = strdup("");
	config->webrtc.bitrate_kbps = 6000;
	config->webrtc.max_fps = 60;
	config->webrtc.idle_refresh_ms = 1000;
	config->webrtc.playout_delay = true;
	config->files.uploads_dir = strdup("Uploads");
	config->files.downloads_dir = strdup("Downloads");
	config->files.max_upload_size = 2ULL << 30;
	config->plugins.vendor_dir = strdup(GB_VENDOR_DROPIN_DIR);
	config->plugins.config_dir = strdup(GB_ETC_DIR "/plugins.d");
	config->plugins.plugin_dir = strdup(GB_PLUGIN_DIR);
	config->storage.user_remote_types = calloc(1, sizeof(char *));
	config->storage.max_user_remotes = 8;

	if (!config->session.keyboard_layout || !config->session.keyboard_variant ||
	    !config->session.keyboard_model || !config->session.keyboard_options ||
	    !config->session.user || !config->plugins.vendor_dir || !config->plugins.config_dir ||
	    !config->plugins.plugin_dir || !config->server.listen ||
	    !config->server.tls_certificate || !config->server.tls_key ||
	    !config->server.state_dir || !config->server.runtime_dir || !config->server.web_dir ||
	    !config->server.session_binary || !config->server.allowed_origins ||
	    !config->webrtc.ice_addresses || !config->webrtc.stun_server ||
	    !config->webrtc.turn_servers || !config->webrtc.encoder ||
	    !config->storage.user_remote_types || !config->files.uploads_dir ||
	    !config->files.downloads_dir) {
		gb_config_free(config);
		errno = ENOMEM;
		return NULL;
	}
	return config;
}

void gb_config_free(struct gb_config *config)
{
	if (!config)
		return;

	free(config->path);
	free(config->server.listen);
	free(config->server.tls_certificate);
	free(config->server.tls_key);
	free(config->server.state_dir);
	free(config->server.runtime_dir);
	free(config->server.web_dir);
	free(config->server.session_binary);
	free_argv(config->server.allowed_origins);
	free_argv(config->webrtc.ice_addresses);
	free(config->webrtc.stun_server);
	free_argv(config->webrtc.turn_servers);
	free(config->webrtc.encoder);
	free_argv(config->session.command);
	free(config->session.keyboard_layout);
	free(config->session.keyboard_variant);
	free(config->session.keyboard_model);
	free(config->session.keyboard_options);
	free(config->session.user);
	free(config->files.uploads_dir);
	free(config->files.downloads_dir);
	free(config->plugins.vendor_dir);
	free(config->plugins.config_dir);
	free(config->plugins.plugin_dir);
	free_argv(config->storage.user_remote_types);
	free(config);
}

/*
 * Parse with @read (a file or a string), then apply every setting onto a fresh
 * set of defaults. The result is built aside and only returned when the whole
 * file is valid, so that nothing is half-applied.
 */
static struct gb_config *load(config_t *cf, int read_ok, const char *name, char *error,
                              size_t error_size)
{
	struct parser parser = {
		.name = name, .cf = cf, .error = error, .error_size = error_size
	};
	struct gb_config *config;
	char buffer[GB_CONFIG_ERROR_MAX];
	int r;

	if (!read_ok) {
		const char *file =
		        source_name(cf, config_error_file(cf), name, buffer, sizeof(buffer));

		if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
			set_error(error, error_size, file, 0, "cannot read: %s",
			          config_error_text(cf));
		else
			set_error(error, error_size, file, config_error_line(cf), "%s",
			          config_error_text(cf));
		errno = EINVAL;
		return NULL;
	}

	config = gb_config_new_defaults();
	if (!config) {
		r = -ENOMEM;
		goto err;
	}
	if (name) {
		config->path = strdup(name);
		if (!config->path) {
			r = -ENOMEM;
			goto err_config;
		}
	}

	parser.config = config;
	r = apply_group(&parser, config_root_setting(cf), "");
	if (r < 0)
		goto err_config;

	return config;

err_config:
	gb_config_free(config);
err:
	if (r == -ENOMEM)
		set_error(error, error_size, name, 0, "out of memory");
	errno = -r;
	return NULL;
}

struct gb_config *gb_config_load(const char *path, char *error, size_t error_size)
{
	struct gb_config *config;
	struct stat st;
	config_t cf;
	char *dir;
	FILE *file;
	int r;

	if (!path) {
		set_error(error, error_size, "(null)", 0, "no configuration file given");
		errno = EINVAL;
		return NULL;
	}

	file = fopen(path, "re");
	if (!file) {
		r = -errno;
		set_error(error, error_size, path, 0, "cannot open: %s", strerror(-r));
		errno = -r;
		return NULL;
	}
	/* libconfig would report a directory as a bare "file I/O error". */
	r = 0;
	if (fstat(fileno(file), &st) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	if (r < 0) {
		set_error(error, error_size, path, 0, "cannot read: %s", strerror(-r));
		fclose(file);
		errno = -r;
		return NULL;
	}

	config_init(&cf);
	/* @include "x.conf" is resolved next to the file, not the working directory. */
	dir = strdup(path);
	if (!dir) {
		config_destroy(&cf);
		fclose(file);
		set_error(error, error_size, path, 0, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	config_set_include_dir(&cf, dirname(dir));
	free(dir);

	config = load(&cf, config_read(&cf, file), path, error, error_size);
	r = config ? 0 : errno;
	config_destroy(&cf);
	fclose(file);
	errno = r;
	return config;
}

struct gb_config *gb_config_load_string(const char *text, const char *name, char *error,
                                        size_t error_size)
{
	struct gb_config *config;
	config_t cf;
	int r;

	if (!name)
		name = "<string>";
	if (!text) {
		set_error(error, error_size, name, 0, "no configuration text given");
		errno = EINVAL;
		return NULL;
	}

	config_init(&cf);
	config = load(&cf, config_read_string(&cf, text), name, error, error_size);
	r = config ? 0 : errno;
	config_destroy(&cf);
	errno = r;
	return config;
}
