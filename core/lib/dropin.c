/* SPDX-License-Identifier: MIT */
/*
 * Plugin drop-ins, read with inih.
 *
 * Debian's libinih is built without INI_HANDLER_LINENO, so the handler is not
 * told the line it is called for. Every file is therefore fed to
 * ini_parse_stream() through our own reader, which hands inih one physical
 * line per call and counts them: when the handler runs, the reader's count is
 * the line of the key. inih's own error value counts reader calls too, so
 * both agree.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ini.h>

#include "file-error.h"
#include "dropin.h"

#define KIND_LIST "capture, encoder, auth, storage"

struct parser {
	const char *path;
	FILE *file;
	int line; /* physical line last handed to inih */
	char *error;
	size_t error_size;
	int error_line; /* line of the first error; 0 when none or not tied to a line */
	int r;          /* first error, a negative errno; 0 while all is well */
	struct gb_dropin *dropin;
	size_t settings_allocated;
	/* Line each [plugin] key was set on, to refuse repeats; 0: not set. */
	int kind_line;
	int name_line;
	int enabled_line;
	int optional_line;
	int namespace_line;
	bool override; /* a .conf in NAME.ini.d: only plugin.enabled */
};

#define set_error(error, error_size, file, line, ...)                                             \
	gb_file_error(error, error_size, file, line, __VA_ARGS__)

/* Record an error on the current line; only the first one of a file is kept. */
static void __attribute__((format(printf, 3, 4)))
parser_error(struct parser *parser, int r, const char *format, ...)
{
	char message[GB_DROPIN_ERROR_MAX];
	va_list args;

	if (parser->r < 0)
		return;

	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);

	parser->r = r;
	parser->error_line = parser->line;
	set_error(parser->error, parser->error_size, parser->path, parser->line, "%s", message);
}

static bool section_is_known(const char *name, size_t len)
{
	return (len == strlen("plugin") && strncmp(name, "plugin", len) == 0) ||
	       (len == strlen("settings") && strncmp(name, "settings", len) == 0);
}

/*
 * inih's reader: one physical line per call, so that the parser's line count
 * is the line inih works on.
 *
 * Leading blanks are dropped. inih would otherwise take an indented line as a
 * continuation of the previous value (Python configparser's multi-line
 * values), so "  name = x264" under "kind = encoder" would silently make the
 * kind "encoder name = x264". Drop-ins have no multi-line values.
 *
 * Section headers are checked here rather than in the handler because inih
 * only calls the handler for keys: an empty "[plugn]" would pass unnoticed.
 */
static char *read_line(char *buffer, int size, void *stream)
{
	struct parser *parser = stream;
	const char *start = buffer;
	bool leading = true, too_long = false;
	int c, n = 0;

	if (size < 2)
		return NULL;

	c = getc(parser->file);
	if (c == EOF) {
		if (ferror(parser->file))
			parser_error(parser, errno ? -errno : -EIO, "cannot read: %s",
			             strerror(errno ? errno : EIO));
		return NULL;
	}
	parser->line++;

	for (; c != EOF; c = getc(parser->file)) {
		if (leading && (c == ' ' || c == '\t'))
			continue;
		leading = false;
		if (n < size - 1)
			buffer[n++] = (char)c;
		else if (c != '\n' && c != '\r')
			too_long = true;
		if (c == '\n')
			break;
	}
	buffer[n] = '\0';

	if (ferror(parser->file)) {
		parser_error(parser, errno ? -errno : -EIO, "cannot read: %s",
		             strerror(errno ? errno : EIO));
		return NULL;
	}
	if (too_long)
		/* inih would read the rest as a line of its own. */
		parser_error(parser, -EINVAL, "line is longer than %d characters", size - 3);

	if (parser->line == 1 && strncmp(start, "\xef\xbb\xbf", 3) == 0)
		start += 3;
	if (start[0] == '[') {
		const char *end = strchr(start, ']');

		if (end && !section_is_known(start + 1, (size_t)(end - start - 1)))
			parser_error(parser, -EINVAL,
			             "section '%.*s': unknown section (expected plugin, settings)",
			             (int)(end - start - 1), start + 1);
	}
	return buffer;
}

static int parse_bool(const char *text, bool *value)
{
	static const char *const yes[] = { "true", "yes", "1" };
	static const char *const no[] = { "false", "no", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*value = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*value = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Say what is wrong with a name gb_plugin_name_is_valid() refused. */
static void describe_bad_name(const char *name, char *out, size_t size)
{
	bool slash = strchr(name, '/') != NULL, dots = strstr(name, "..") != NULL;

	if (slash || dots) {
		snprintf(out, size, "must not contain %s",
		         slash && dots ? "'/' or '..'"
		         : slash       ? "'/'"
		                       : "'..'");
	} else if (!name[0]) {
		snprintf(out, size, "must not be empty");
	} else if (strlen(name) > 64) {
		snprintf(out, size, "is longer than 64 characters");
	} else {
		const char *p = name;

		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		       *p == '_' || *p == '.')
			p++;
		snprintf(out, size, "must not contain '%c' (allowed: a-z, 0-9, '.', '_', '-')",
		         *p);
	}
}

static int set_string(char **target, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*target);
	*target = copy;
	return 0;
}

static int handle_plugin_key(struct parser *parser, const char *key, const char *value)
{
	struct gb_dropin *dropin = parser->dropin;
	int *line;
	char problem[128];
	bool flag;

	if (strcmp(key, "kind") == 0)
		line = &parser->kind_line;
	else if (strcmp(key, "name") == 0)
		line = &parser->name_line;
	else if (strcmp(key, "enabled") == 0)
		line = &parser->enabled_line;
	else if (strcmp(key, "optional") == 0)
		line = &parser->optional_line;
	else if (strcmp(key, "namespace") == 0)
		line = &parser->namespace_line;
	else {
		parser_error(
		        parser, -EINVAL,
		        "key 'plugin.%s': unknown key (expected kind, name, enabled, optional, "
		        "namespace)",
		        key);
		return -EINVAL;
	}
	if (parser->override && line != &parser->enabled_line) {
		parser_error(parser, -EINVAL,
		             "key 'plugin.%s': an override (a .conf in NAME.ini.d) may only "
		             "set plugin.enabled",
		             key);
		return -EINVAL;
	}

	/* inih would let the last one win; two values for one key are a mistake. */
	if (*line) {
		parser_error(parser, -EINVAL, "key 'plugin.%s': repeated (first set on line %d)",
		             key, *line);
		return -EINVAL;
	}
	*line = parser->line;

	if (line == &parser->kind_line) {
		if (gb_plugin_kind_from_string(value, &dropin->kind) < 0) {
			parser_error(parser, -EINVAL,
			             "key 'plugin.kind': unknown kind '%s' (expected " KIND_LIST
			             ")",
			             value);
			return -EINVAL;
		}
		return set_string(&dropin->kind_name, value);
	}
	if (line == &parser->name_line) {
		if (!gb_plugin_name_is_valid(value)) {
			describe_bad_name(value, problem, sizeof(problem));
			parser_error(parser, -EINVAL, "key 'plugin.name': name '%s' %s", value,
			             problem);
			return -EINVAL;
		}
		return set_string(&dropin->name, value);
	}
	if (line == &parser->namespace_line) {
		/* Like a plugin's name, the namespace it replaces: "namespace:user". */
		if (!gb_plugin_name_is_valid(value)) {
			describe_bad_name(value, problem, sizeof(problem));
			parser_error(parser, -EINVAL, "key 'plugin.namespace': namespace '%s' %s",
			             value, problem);
			return -EINVAL;
		}
		return set_string(&dropin->identity_namespace, value);
	}

	if (parse_bool(value, &flag) < 0) {
		parser_error(parser, -EINVAL,
		             "key 'plugin.%s': value '%s' is not a boolean "
		             "(expected true, false, yes, no, 1, 0)",
		             key, value);
		return -EINVAL;
	}
	if (line == &parser->enabled_line)
		dropin->enabled = flag;
	else
		dropin->optional = flag;
	return 0;
}

static int handle_setting(struct parser *parser, const char *key, const char *value)
{
	struct gb_dropin *dropin = parser->dropin;
	struct gb_dropin_setting *setting;

	if (parser->override) {
		parser_error(parser, -EINVAL,
		             "key 'settings.%s': an override (a .conf in NAME.ini.d) may only "
		             "set plugin.enabled",
		             key);
		return -EINVAL;
	}
	for (size_t i = 0; i < dropin->n_settings; i++) {
		if (strcmp(dropin->settings[i].key, key) == 0) {
			parser_error(parser, -EINVAL,
			             "key 'settings.%s': repeated (first set on line %d)", key,
			             dropin->settings[i].line);
			return -EINVAL;
		}
	}

	if (dropin->n_settings == parser->settings_allocated) {
		size_t allocated = parser->settings_allocated ? parser->settings_allocated * 2 : 8;
		struct gb_dropin_setting *grown =
		        reallocarray(dropin->settings, allocated, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		dropin->settings = grown;
		parser->settings_allocated = allocated;
	}

	setting = &dropin->settings[dropin->n_settings];
	setting->key = strdup(key);
	setting->value = strdup(value);
	setting->line = parser->line;
	if (!setting->key || !setting->value) {
		free(setting->key);
		free(setting->value);
		return -ENOMEM;
	}
	dropin->n_settings++;
	return 0;
}

/* inih's handler: nonzero to go on. */
static int handle_entry(void *user, const char *section, const char *key, const char *value)
{
	struct parser *parser = user;
	int r;

	/* inih goes on after an error; only the first one is reported. */
	if (parser->r < 0)
		return 1;

	if (strcmp(section, "plugin") == 0)
		r = handle_plugin_key(parser, key, value);
	else if (strcmp(section, "settings") == 0)
		r = handle_setting(parser, key, value);
	else if (section[0] == '\0') {
		parser_error(parser, -EINVAL,
		             "key '%s': outside any section (expected [plugin] or [settings])",
		             key);
		r = -EINVAL;
	} else {
		parser_error(parser, -EINVAL,
		             "section '%s': unknown section (expected plugin, settings)", section);
		r = -EINVAL;
	}

	if (r == -ENOMEM)
		parser_error(parser, r, "out of memory");
	return r < 0 ? 0 : 1;
}

void gb_dropin_clear(struct gb_dropin *dropin)
{
	if (!dropin)
		return;

	free(dropin->path);
	free(dropin->kind_name);
	free(dropin->name);
	free(dropin->identity_namespace);
	free(dropin->enabled_by);
	for (size_t i = 0; dropin->settings && i < dropin->n_settings; i++) {
		free(dropin->settings[i].key);
		free(dropin->settings[i].value);
	}
	free(dropin->settings);
	memset(dropin, 0, sizeof(*dropin));
}

/*
 * gb_dropin_load_file(), also giving the line of "name =" so that a duplicate
 * plugin can be reported at the line that names it. With @override, an
 * override file: only plugin.enabled, no kind or name, and *@name_line is
 * the line of "enabled =" (0: none).
 */
static int load_file(struct gb_dropin *dropin, const char *path, char *error, size_t error_size,
                     int *name_line, bool override)
{
	struct parser parser = {
		.path = path,
		.error = error,
		.error_size = error_size,
		.dropin = dropin,
		.override = override,
	};
	int r, syntax_line;

	memset(dropin, 0, sizeof(*dropin));
	dropin->enabled = true;
	dropin->optional = false;

	dropin->path = strdup(path);
	if (!dropin->path) {
		set_error(error, error_size, path, 0, "out of memory");
		r = -ENOMEM;
		goto err;
	}

	parser.file = fopen(path, "re");
	if (!parser.file) {
		r = -errno;
		set_error(error, error_size, path, 0, "cannot open: %s", strerror(-r));
		goto err;
	}

	syntax_line = ini_parse_stream(read_line, &parser, handle_entry, &parser);
	fclose(parser.file);

	if (syntax_line == -2) {
		set_error(error, error_size, path, 0, "out of memory");
		r = -ENOMEM;
		goto err;
	}
	/* An earlier line inih could not parse wins over a later error of ours. */
	if (syntax_line > 0 && (parser.r == 0 || syntax_line < parser.error_line)) {
		set_error(error, error_size, path, syntax_line,
		          "syntax error (expected '[section]', 'key = value' or a comment)");
		r = -EINVAL;
		goto err;
	}
	if (parser.r < 0) {
		r = parser.r;
		goto err;
	}
	if (override) {
		*name_line = parser.enabled_line;
		return 0;
	}

	if (!dropin->kind_name) {
		set_error(error, error_size, path, 0,
		          "key 'plugin.kind': missing (every drop-in needs [plugin] kind = "
		          "one of " KIND_LIST ")");
		r = -EINVAL;
		goto err;
	}
	if (!dropin->name) {
		set_error(error, error_size, path, 0,
		          "key 'plugin.name': missing (every drop-in needs [plugin] name = "
		          "the plugin to load)");
		r = -EINVAL;
		goto err;
	}

	if (dropin->identity_namespace && dropin->kind != GB_PLUGIN_KIND_AUTH) {
		set_error(error, error_size, path, parser.namespace_line,
		          "key 'plugin.namespace': only auth plugins vouch for identities; remove "
		          "it from this %s plugin",
		          dropin->kind_name);
		r = -EINVAL;
		goto err;
	}

	if (name_line)
		*name_line = parser.name_line;
	return 0;

err:
	gb_dropin_clear(dropin);
	return r;
}

int gb_dropin_load_file(struct gb_dropin *dropin, const char *path, char *error, size_t error_size)
{
	if (!dropin || !path) {
		set_error(error, error_size, path ? path : "(null)", 0, "invalid arguments");
		return -EINVAL;
	}
	return load_file(dropin, path, error, error_size, NULL, false);
}

struct dropin_file {
	char *file_name; /* what an /etc file and a vendor file are matched on */
	char *path;
};

struct file_list {
	size_t count;
	size_t allocated;
	struct dropin_file *items;
};

static void file_list_clear(struct file_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].file_name);
		free(list->items[i].path);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

/* Add @dir/@file_name, replacing an earlier entry of the same file name. */
static int file_list_put(struct file_list *list, const char *dir, const char *file_name)
{
	struct dropin_file *item = NULL;
	char *path;

	size_t size = strlen(dir) + 1 + strlen(file_name) + 1;

	path = malloc(size);
	if (!path)
		return -ENOMEM;
	snprintf(path, size, "%s/%s", dir, file_name);

	for (size_t i = 0; i < list->count && !item; i++)
		if (strcmp(list->items[i].file_name, file_name) == 0)
			item = &list->items[i];
	if (item) {
		free(item->path);
		item->path = path;
		return 0;
	}

	if (list->count == list->allocated) {
		size_t allocated = list->allocated ? list->allocated * 2 : 16;
		struct dropin_file *grown = reallocarray(list->items, allocated, sizeof(*grown));

		if (!grown) {
			free(path);
			return -ENOMEM;
		}
		list->items = grown;
		list->allocated = allocated;
	}

	item = &list->items[list->count];
	item->path = path;
	item->file_name = strdup(file_name);
	if (!item->file_name) {
		free(path);
		return -ENOMEM;
	}
	list->count++;
	return 0;
}

static bool is_dropin_name(const char *name, const char *suffix)
{
	size_t len = strlen(name);

	/* Hidden files are editor backups and package manager leftovers. */
	return name[0] != '.' && len > strlen(suffix) &&
	       strcmp(name + len - strlen(suffix), suffix) == 0;
}

/* The files named *@suffix in @dir, into @list by file name. */
static int list_dir(struct file_list *list, const char *dir, const char *suffix, char *error,
                    size_t error_size)
{
	struct dirent *entry;
	struct stat st;
	DIR *d;
	int r = 0;

	if (!dir)
		return 0;

	d = opendir(dir);
	if (!d) {
		/* No drop-ins is a valid setup: neither folder has to exist. */
		if (errno == ENOENT)
			return 0;
		r = -errno;
		set_error(error, error_size, dir, 0, "cannot open: %s", strerror(-r));
		return r;
	}

	for (;;) {
		errno = 0;
		entry = readdir(d);
		if (!entry) {
			if (errno) {
				r = -errno;
				set_error(error, error_size, dir, 0, "cannot read: %s",
				          strerror(-r));
			}
			break;
		}
		if (!is_dropin_name(entry->d_name, suffix))
			continue;

		/* Follow symlinks: a link to a regular file is a drop-in. */
		if (fstatat(dirfd(d), entry->d_name, &st, 0) < 0) {
			if (errno == ENOENT) /* a dangling link, or removed meanwhile */
				continue;
			r = -errno;
			set_error(error, error_size, dir, 0, "cannot read '%s': %s", entry->d_name,
			          strerror(-r));
			break;
		}
		if (!S_ISREG(st.st_mode))
			continue;

		r = file_list_put(list, dir, entry->d_name);
		if (r < 0) {
			set_error(error, error_size, dir, 0, "out of memory");
			break;
		}
	}

	closedir(d);
	return r;
}

static int compare_file_names(const void *a, const void *b)
{
	const struct dropin_file *fa = a, *fb = b;

	return strcmp(fa->file_name, fb->file_name);
}

/*
 * The .conf files of NAME.ini.d in the vendor and the /etc folder, systemd style: in
 * lexical order of file name, an /etc file replacing the vendor file of the
 * same name; the last that sets plugin.enabled wins. This is how
 * `glassboxctl plugin enable|disable` switches a plugin without rewriting
 * (or copying, with its secrets) the drop-in itself.
 */
static int apply_overrides(struct gb_dropin *dropin, const char *vendor_dir,
                           const char *config_dir, const char *file_name, char *error,
                           size_t error_size)
{
	const char *dirs[] = { vendor_dir, config_dir };
	struct file_list files = { 0 };
	int r = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && r == 0; i++) {
		size_t size;
		char *dir;

		if (!dirs[i])
			continue;
		size = strlen(dirs[i]) + 1 + strlen(file_name) + strlen(".d") + 1;
		dir = malloc(size);
		if (!dir) {
			set_error(error, error_size, file_name, 0, "out of memory");
			r = -ENOMEM;
			break;
		}
		snprintf(dir, size, "%s/%s.d", dirs[i], file_name);
		r = list_dir(&files, dir, ".conf", error, error_size);
		free(dir);
	}
	if (r < 0 || files.count == 0)
		goto out;
	qsort(files.items, files.count, sizeof(files.items[0]), compare_file_names);
	for (size_t i = 0; i < files.count; i++) {
		struct gb_dropin override;
		int enabled_line = 0;

		r = load_file(&override, files.items[i].path, error, error_size, &enabled_line,
		              true);
		if (r < 0)
			goto out;
		if (enabled_line) {
			dropin->enabled = override.enabled;
			free(dropin->enabled_by);
			dropin->enabled_by = strdup(files.items[i].path);
			if (!dropin->enabled_by) {
				gb_dropin_clear(&override);
				set_error(error, error_size, files.items[i].path, 0,
				          "out of memory");
				r = -ENOMEM;
				goto out;
			}
		}
		gb_dropin_clear(&override);
	}
out:
	file_list_clear(&files);
	return r;
}

void gb_dropin_set_clear(struct gb_dropin_set *set)
{
	if (!set)
		return;

	for (size_t i = 0; set->items && i < set->count; i++)
		gb_dropin_clear(&set->items[i]);
	free(set->items);
	set->items = NULL;
	set->count = 0;
}

/*
 * @set is an output: whatever it held is overwritten, not freed (clear it
 * first to reuse it). On failure it is left empty rather than holding the
 * drop-ins read before the bad one: a partial set looks valid, and starting
 * with some plugins silently missing is exactly the guess the daemon must not
 * make. A reload that fails keeps the caller's previous set, since the new
 * one is read into a separate struct.
 */
int gb_dropin_set_load(struct gb_dropin_set *set, const char *vendor_dir, const char *config_dir,
                       char *error, size_t error_size)
{
	struct file_list files = { 0 };
	struct gb_dropin *items = NULL;
	int *name_lines = NULL;
	size_t loaded = 0;
	int r;

	if (!set) {
		set_error(error, error_size, "plugins.d", 0, "invalid arguments");
		return -EINVAL;
	}
	set->count = 0;
	set->items = NULL;

	/* Vendor first: an /etc file of the same name then replaces its entry. */
	r = list_dir(&files, vendor_dir, ".ini", error, error_size);
	if (r < 0)
		goto out;
	r = list_dir(&files, config_dir, ".ini", error, error_size);
	if (r < 0)
		goto out;
	if (files.count == 0)
		goto out;

	qsort(files.items, files.count, sizeof(files.items[0]), compare_file_names);

	items = calloc(files.count, sizeof(*items));
	name_lines = calloc(files.count, sizeof(*name_lines));
	if (!items || !name_lines) {
		set_error(error, error_size, files.items[0].path, 0, "out of memory");
		r = -ENOMEM;
		goto out;
	}

	for (; loaded < files.count; loaded++) {
		r = load_file(&items[loaded], files.items[loaded].path, error, error_size,
		              &name_lines[loaded], false);
		if (r < 0)
			goto out;
		r = apply_overrides(&items[loaded], vendor_dir, config_dir,
		                    files.items[loaded].file_name, error, error_size);
		if (r < 0) {
			gb_dropin_clear(&items[loaded]);
			goto out;
		}
	}

	/* Two drop-ins for one plugin: which settings win would be a guess. */
	for (size_t i = 0; i < loaded; i++) {
		for (size_t j = 0; j < i; j++) {
			if (items[i].kind != items[j].kind ||
			    strcmp(items[i].name, items[j].name) != 0)
				continue;
			set_error(error, error_size, items[i].path, name_lines[i],
			          "key 'plugin.name': plugin %s '%s' is already configured in "
			          "%s:%d",
			          items[i].kind_name, items[i].name, items[j].path, name_lines[j]);
			r = -EINVAL;
			goto out;
		}
	}

	set->items = items;
	set->count = loaded;
	items = NULL;
	r = 0;

out:
	if (items) {
		for (size_t i = 0; i < loaded; i++)
			gb_dropin_clear(&items[i]);
		free(items);
	}
	free(name_lines);
	file_list_clear(&files);
	return r;
}
