/* SPDX-License-Identifier: MIT */
/*
 * glassboxctl: the operator's command line over org.glassbox.Manager1
 * (docs/dbus-api.md). Readable tables by default, --json for scripts, and
 * an exit status a script can act on. See README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <systemd/sd-bus.h>

#include "gb-build-config.h"
#include "text.h"

#define BUS_NAME        "org.glassbox.Manager1"
#define BUS_PATH        "/org/glassbox/Manager1"
#define BUS_INTERFACE   "org.glassbox.Manager1"
#define ERROR_PREFIX    BUS_INTERFACE ".Error."
#define PASSWORD_MAX    1024
#define CALL_TIMEOUT_US (30 * 1000000ull)

enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,
	EXIT_USAGE = 2,
	EXIT_NOT_FOUND = 3,
	EXIT_DENIED = 4,
	EXIT_UNREACHABLE = 5,
};

struct context {
	const char *bus_spec; /* system, session or an address */
	bool json;
	bool admin; /* user add --admin */
	sd_bus *bus;
	char **args; /* the command's own arguments */
	int n_args;
};

struct command {
	const char *group; /* "session", or NULL for a command of its own */
	const char *name;
	const char *args; /* for usage lines */
	int n_args;
	const char *summary;
	int (*run)(struct context *context);
};

/* ---- output helpers ---- */

/* Text from the bus, made safe for a terminal: bytes that are not printable ASCII become '?'. */
static char *safe_text(const char *text)
{
	size_t size = (text ? strlen(text) : 0) + 1;
	char *copy = g_malloc(size);

	gb_printable(copy, size, text);
	return copy;
}

struct table {
	unsigned n_columns;
	const char **headers;
	GPtrArray *rows; /* of char ** (n_columns strings each) */
};

static void table_init(struct table *table, unsigned n_columns, const char **headers)
{
	table->n_columns = n_columns;
	table->headers = headers;
	table->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
}

/* Add a row of n_columns strings (copied, made safe). */
static void table_add(struct table *table, const char *const *cells)
{
	char **row = g_new0(char *, table->n_columns + 1);

	for (unsigned i = 0; i < table->n_columns; i++)
		row[i] = safe_text(cells[i]);
	g_ptr_array_add(table->rows, row);
}

static void table_print(struct table *table, const char *empty)
{
	g_autofree size_t *widths = g_new0(size_t, table->n_columns);

	if (table->rows->len == 0) {
		printf("%s\n", empty);
		g_ptr_array_unref(table->rows);
		return;
	}
	for (unsigned c = 0; c < table->n_columns; c++) {
		widths[c] = g_utf8_strlen(table->headers[c], -1);
		for (guint r = 0; r < table->rows->len; r++) {
			char **row = table->rows->pdata[r];
			size_t length = g_utf8_validate(row[c], -1, NULL)
			                        ? (size_t)g_utf8_strlen(row[c], -1)
			                        : strlen(row[c]);

			if (length > widths[c])
				widths[c] = length;
		}
	}
	for (unsigned c = 0; c < table->n_columns; c++)
		printf("%-*s%s", c + 1 < table->n_columns ? (int)widths[c] : 0, table->headers[c],
		       c + 1 < table->n_columns ? "  " : "\n");
	for (guint r = 0; r < table->rows->len; r++) {
		char **row = table->rows->pdata[r];

		for (unsigned c = 0; c < table->n_columns; c++) {
			size_t length = g_utf8_validate(row[c], -1, NULL)
			                        ? (size_t)g_utf8_strlen(row[c], -1)
			                        : strlen(row[c]);

			fputs(row[c], stdout);
			if (c + 1 < table->n_columns)
				printf("%*s", (int)(widths[c] - length + 2), "");
		}
		putchar('\n');
	}
	g_ptr_array_unref(table->rows);
}

static void print_json(JsonBuilder *builder)
{
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(builder);
	g_autofree char *text = NULL;

	json_generator_set_root(generator, root);
	json_generator_set_pretty(generator, TRUE);
	text = json_generator_to_data(generator, NULL);
	printf("%s\n", text);
}

/* {"result": "ok", extra...}: what an action prints with --json. */
static void print_json_done(const char *key, const char *value)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "result");
	json_builder_add_string_value(builder, "ok");
	if (key) {
		json_builder_set_member_name(builder, key);
		json_builder_add_string_value(builder, value);
	}
	json_builder_end_object(builder);
	print_json(builder);
}

/* ---- the bus ---- */

static int connect_bus(struct context *context)
{
	const char *spec = context->bus_spec;
	int r;

	if (strcmp(spec, "system") == 0) {
		r = sd_bus_open_system(&context->bus);
	} else if (strcmp(spec, "session") == 0 || strcmp(spec, "user") == 0) {
		r = sd_bus_open_user(&context->bus);
	} else {
		r = sd_bus_new(&context->bus);
		if (r >= 0)
			r = sd_bus_set_address(context->bus, spec);
		if (r >= 0)
			r = sd_bus_set_bus_client(context->bus, 1);
		if (r >= 0)
			r = sd_bus_start(context->bus);
	}
	if (r < 0) {
		fprintf(stderr, "glassboxctl: cannot connect to the %s bus%s%s: %s\n",
		        strchr(spec, ':') ? "D-Bus" : spec, strchr(spec, ':') ? " at " : "",
		        strchr(spec, ':') ? spec : "", strerror(-r));
		context->bus = sd_bus_unref(context->bus);
		return EXIT_UNREACHABLE;
	}
	return EXIT_OK;
}

/* Say what went wrong and pick the exit status for it. */
static int report_error(const char *what, const sd_bus_error *error, int r)
{
	const char *name = error && error->name ? error->name : "";
	const char *message = error && error->message ? error->message : strerror(-r);

	if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN,
	                           SD_BUS_ERROR_NAME_HAS_NO_OWNER, SD_BUS_ERROR_NO_REPLY,
	                           SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_NO_SERVER,
	                           SD_BUS_ERROR_TIMEOUT) ||
	    ((!error->name || g_str_has_prefix(name, "System.Error.")) &&
	     (r == -ECONNRESET || r == -ENOTCONN || r == -ETIMEDOUT || r == -ECONNREFUSED ||
	      r == -EPIPE))) {
		fprintf(stderr,
		        "glassboxctl: %s: glassboxd is not running or cannot be reached (%s)\n",
		        what, message);
		return EXIT_UNREACHABLE;
	}
	if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED)) {
		fprintf(stderr, "glassboxctl: %s: permission denied: %s\n", what, message);
		return EXIT_DENIED;
	}
	if (sd_bus_error_has_names(error, ERROR_PREFIX "NoSuchSession",
	                           ERROR_PREFIX "NoSuchPlugin", ERROR_PREFIX "NoSuchUser")) {
		fprintf(stderr, "glassboxctl: %s: %s\n", what, message);
		return EXIT_NOT_FOUND;
	}
	if (g_str_has_prefix(name, ERROR_PREFIX))
		fprintf(stderr, "glassboxctl: %s: %s (%s)\n", what, message,
		        name + strlen(ERROR_PREFIX));
	else
		fprintf(stderr, "glassboxctl: %s: %s\n", what, message);
	return EXIT_FAILURE_;
}

static int call_method(struct context *context, const char *method, sd_bus_message **reply,
                       const char *types, ...)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *call = NULL;
	va_list ap;
	int r, status = EXIT_OK;

	r = sd_bus_message_new_method_call(context->bus, &call, BUS_NAME, BUS_PATH, BUS_INTERFACE,
	                                   method);
	if (r >= 0 && types) {
		va_start(ap, types);
		r = sd_bus_message_appendv(call, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_call(context->bus, call, CALL_TIMEOUT_US, &error, reply);
	if (r < 0)
		status = report_error(method, &error, r);
	sd_bus_error_free(&error);
	sd_bus_message_unref(call);
	return status;
}

static int bad_reply(const char *method, int r)
{
	fprintf(stderr, "glassboxctl: %s: unexpected answer from glassboxd: %s\n", method,
	        strerror(-r));
	return EXIT_FAILURE_;
}

/* ---- commands ---- */

static int get_u32_property(struct context *context, const char *name, uint32_t *value)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r, status = EXIT_OK;

	r = sd_bus_get_property_trivial(context->bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, name,
	                                &error, 'u', value);
	if (r < 0)
		status = report_error(name, &error, r);
	sd_bus_error_free(&error);
	return status;
}

static int run_status(struct context *context)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	g_autofree char *version = NULL;
	uint32_t sessions = 0, max_sessions = 0;
	int r, status;

	r = sd_bus_get_property_string(context->bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Version",
	                               &error, &version);
	if (r < 0) {
		status = report_error("status", &error, r);
		sd_bus_error_free(&error);
		return status;
	}
	status = get_u32_property(context, "SessionCount", &sessions);
	if (status == EXIT_OK)
		status = get_u32_property(context, "MaxSessions", &max_sessions);
	if (status != EXIT_OK)
		return status;

	if (context->json) {
		g_autoptr(JsonBuilder) builder = json_builder_new();

		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "version");
		json_builder_add_string_value(builder, version);
		json_builder_set_member_name(builder, "sessions");
		json_builder_add_int_value(builder, sessions);
		json_builder_set_member_name(builder, "max_sessions");
		json_builder_add_int_value(builder, max_sessions);
		json_builder_end_object(builder);
		print_json(builder);
	} else {
		g_autofree char *safe = safe_text(version);

		printf("glassboxd %s: running\n", safe);
		printf("Sessions: %u of %u\n", sessions, max_sessions);
	}
	return EXIT_OK;
}

static char *format_time(int64_t microseconds)
{
	g_autoptr(GDateTime) time = g_date_time_new_from_unix_local(microseconds / 1000000);

	return time ? g_date_time_format(time, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
}

static char *format_time_iso(int64_t microseconds)
{
	g_autoptr(GDateTime) seconds = g_date_time_new_from_unix_utc(microseconds / 1000000);
	g_autoptr(GDateTime) time =
	        seconds ? g_date_time_add(seconds, microseconds % 1000000) : NULL;

	return time ? g_date_time_format_iso8601(time) : g_strdup("");
}

/* One session's mounts, from ListMounts. */
struct session_mounts {
	GString *cell;   /* "work ready, dav failed" */
	GPtrArray *json; /* JsonNode * objects */
};

static void session_mounts_free(gpointer data)
{
	struct session_mounts *mounts = data;

	g_string_free(mounts->cell, TRUE);
	g_ptr_array_unref(mounts->json);
	g_free(mounts);
}

static JsonNode *mount_json(const char *name, const char *state, const char *target,
                            const char *problem, uint64_t waiting, uint64_t bytes, uint64_t errors)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "name");
	json_builder_add_string_value(builder, name);
	json_builder_set_member_name(builder, "state");
	json_builder_add_string_value(builder, state);
	json_builder_set_member_name(builder, "target");
	json_builder_add_string_value(builder, target);
	json_builder_set_member_name(builder, "problem");
	json_builder_add_string_value(builder, problem);
	json_builder_set_member_name(builder, "files_waiting");
	json_builder_add_int_value(builder, (gint64)waiting);
	json_builder_set_member_name(builder, "bytes_uploading");
	json_builder_add_int_value(builder, (gint64)bytes);
	json_builder_set_member_name(builder, "upload_errors");
	json_builder_add_int_value(builder, (gint64)errors);
	json_builder_end_object(builder);
	return json_builder_get_root(builder);
}

/*
 * Session id -> struct session_mounts, from ListMounts; empty when the
 * caller may not ask (it is for administrators) or glassboxd is older.
 */
static GHashTable *list_mounts(struct context *context)
{
	GHashTable *table =
	        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, session_mounts_free);
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *id, *identity, *name, *state, *target, *problem;
	uint64_t waiting, bytes, errors;
	int r;

	r = sd_bus_call_method(context->bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "ListMounts",
	                       &error, &reply, "");
	sd_bus_error_free(&error);
	if (r < 0)
		return table;
	r = sd_bus_message_enter_container(reply, 'a', "(ssssssttt)");
	while (r >= 0 && sd_bus_message_read(reply, "(ssssssttt)", &id, &identity, &name, &state,
	                                     &target, &problem, &waiting, &bytes, &errors) > 0) {
		struct session_mounts *mounts = g_hash_table_lookup(table, id);

		if (!mounts) {
			mounts = g_new0(struct session_mounts, 1);
			mounts->cell = g_string_new(NULL);
			mounts->json =
			        g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
			g_hash_table_insert(table, g_strdup(id), mounts);
		}
		g_string_append_printf(mounts->cell, "%s%s %s", mounts->cell->len ? ", " : "",
		                       name, state);
		if (waiting)
			g_string_append_printf(mounts->cell, " (%" PRIu64 " waiting)", waiting);
		g_ptr_array_add(mounts->json,
		                mount_json(name, state, target, problem, waiting, bytes, errors));
	}
	sd_bus_message_unref(reply);
	return table;
}

static int run_session_list(struct context *context)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	sd_bus_message *reply = NULL;
	const char *id, *user, *state, *unit, *spawner;
	const char *headers[] = { "ID", "USER", "STATE", "VIEWERS", "STARTED", "UNIT", "MOUNTS" };
	g_autoptr(GHashTable) all_mounts = NULL;
	struct table table;
	uint32_t viewers;
	int64_t started;
	int r, status;

	status = call_method(context, "ListSessions", &reply, NULL);
	if (status != EXIT_OK)
		return status;
	all_mounts = list_mounts(context);
	table_init(&table, 7, headers);
	json_builder_begin_array(builder);
	r = sd_bus_message_enter_container(reply, 'a', "(ssssuxs)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssuxs)", &id, &user, &state, &unit,
	                                          &viewers, &started, &spawner)) > 0) {
		g_autofree char *when = format_time(started);
		g_autofree char *count = g_strdup_printf("%u", viewers);
		g_autofree char *where =
		        unit[0] ? g_strdup(unit) : g_strdup_printf("(%s)", spawner);
		struct session_mounts *mounts = g_hash_table_lookup(all_mounts, id);
		const char *cells[] = {
			id, user, state, count, when, where, mounts ? mounts->cell->str : "-"
		};

		table_add(&table, cells);
		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "id");
		json_builder_add_string_value(builder, id);
		json_builder_set_member_name(builder, "user");
		json_builder_add_string_value(builder, user);
		json_builder_set_member_name(builder, "state");
		json_builder_add_string_value(builder, state);
		json_builder_set_member_name(builder, "unit");
		json_builder_add_string_value(builder, unit);
		json_builder_set_member_name(builder, "viewers");
		json_builder_add_int_value(builder, viewers);
		json_builder_set_member_name(builder, "started_us");
		json_builder_add_int_value(builder, started);
		json_builder_set_member_name(builder, "started");
		{
			g_autofree char *iso = format_time_iso(started);

			json_builder_add_string_value(builder, iso);
		}
		json_builder_set_member_name(builder, "spawner");
		json_builder_add_string_value(builder, spawner);
		json_builder_set_member_name(builder, "mounts");
		json_builder_begin_array(builder);
		for (guint i = 0; mounts && i < mounts->json->len; i++)
			json_builder_add_value(builder, json_node_copy(mounts->json->pdata[i]));
		json_builder_end_array(builder);
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	sd_bus_message_unref(reply);
	if (r < 0) {
		g_ptr_array_unref(table.rows);
		return bad_reply("ListSessions", r);
	}
	if (context->json) {
		g_ptr_array_unref(table.rows);
		print_json(builder);
	} else {
		table_print(&table, "No sessions.");
	}
	return EXIT_OK;
}

static int run_session_terminate(struct context *context)
{
	const char *id = context->args[0];
	int status = call_method(context, "TerminateSession", NULL, "s", id);

	if (status != EXIT_OK)
		return status;
	if (context->json)
		print_json_done("id", id);
	else
		printf("Session %s is stopping; its user is logged out.\n", id);
	return EXIT_OK;
}

/* Width and height from a PNG's IHDR; false when it does not look like one. */
static bool png_size(const uint8_t *png, size_t size, uint32_t *width, uint32_t *height)
{
	static const uint8_t signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

	if (size < 24 || memcmp(png, signature, 8) != 0 || memcmp(png + 12, "IHDR", 4) != 0)
		return false;
	*width = (uint32_t)png[16] << 24 | (uint32_t)png[17] << 16 | (uint32_t)png[18] << 8 |
	         png[19];
	*height = (uint32_t)png[20] << 24 | (uint32_t)png[21] << 16 | (uint32_t)png[22] << 8 |
	          png[23];
	return true;
}

static int write_all(int fd, const uint8_t *data, size_t size)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int run_session_screenshot(struct context *context)
{
	const char *id = context->args[0], *file = context->args[1];
	sd_bus_message *reply = NULL;
	const void *png = NULL;
	size_t size = 0;
	uint32_t width = 0, height = 0;
	int r, fd, status;

	status = call_method(context, "Screenshot", &reply, "s", id);
	if (status != EXIT_OK)
		return status;
	r = sd_bus_message_read_array(reply, 'y', &png, &size);
	if (r < 0 || !png_size(png, size, &width, &height)) {
		sd_bus_message_unref(reply);
		return bad_reply("Screenshot", r < 0 ? r : -EBADMSG);
	}
	if (strcmp(file, "-") == 0)
		fd = STDOUT_FILENO;
	else
		fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		fprintf(stderr, "glassboxctl: cannot create %s: %s\n", file, strerror(errno));
		sd_bus_message_unref(reply);
		return EXIT_FAILURE_;
	}
	r = write_all(fd, png, size);
	if (fd != STDOUT_FILENO && close(fd) < 0 && r == 0)
		r = -errno;
	sd_bus_message_unref(reply);
	if (r < 0) {
		fprintf(stderr, "glassboxctl: cannot write %s: %s\n", file, strerror(-r));
		return EXIT_FAILURE_;
	}
	if (strcmp(file, "-") == 0)
		return EXIT_OK;
	if (context->json) {
		g_autoptr(JsonBuilder) builder = json_builder_new();

		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "result");
		json_builder_add_string_value(builder, "ok");
		json_builder_set_member_name(builder, "id");
		json_builder_add_string_value(builder, id);
		json_builder_set_member_name(builder, "file");
		json_builder_add_string_value(builder, file);
		json_builder_set_member_name(builder, "bytes");
		json_builder_add_int_value(builder, (gint64)size);
		json_builder_set_member_name(builder, "width");
		json_builder_add_int_value(builder, width);
		json_builder_set_member_name(builder, "height");
		json_builder_add_int_value(builder, height);
		json_builder_end_object(builder);
		print_json(builder);
	} else {
		printf("Saved a %ux%u screenshot of session %s to %s (%zu bytes).\n", width,
		       height, id, file, size);
	}
	return EXIT_OK;
}

static int run_plugin_list(struct context *context)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	sd_bus_message *reply = NULL;
	const char *name, *kind, *version, *file;
	const char *headers[] = { "NAME", "KIND", "VERSION", "ENABLED", "FILE" };
	struct table table;
	int enabled, r, status;

	status = call_method(context, "ListPlugins", &reply, NULL);
	if (status != EXIT_OK)
		return status;
	table_init(&table, 5, headers);
	json_builder_begin_array(builder);
	r = sd_bus_message_enter_container(reply, 'a', "(sssbs)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(sssbs)", &name, &kind, &version,
	                                          &enabled, &file)) > 0) {
		const char *cells[] = { name, kind, version[0] ? version : "-",
			                enabled ? "yes" : "no", file };

		table_add(&table, cells);
		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "name");
		json_builder_add_string_value(builder, name);
		json_builder_set_member_name(builder, "kind");
		json_builder_add_string_value(builder, kind);
		json_builder_set_member_name(builder, "version");
		json_builder_add_string_value(builder, version);
		json_builder_set_member_name(builder, "enabled");
		json_builder_add_boolean_value(builder, enabled);
		json_builder_set_member_name(builder, "file");
		json_builder_add_string_value(builder, file);
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	sd_bus_message_unref(reply);
	if (r < 0) {
		g_ptr_array_unref(table.rows);
		return bad_reply("ListPlugins", r);
	}
	if (context->json) {
		g_ptr_array_unref(table.rows);
		print_json(builder);
	} else {
		table_print(&table, "No plugin drop-ins.");
	}
	return EXIT_OK;
}

static int set_plugin(struct context *context, bool enabled)
{
	const char *name = context->args[0];
	int status = call_method(context, "SetPluginEnabled", NULL, "sb", name, (int)enabled);

	if (status != EXIT_OK)
		return status;
	if (context->json)
		print_json_done("plugin", name);
	else
		printf("Plugin %s is %s; glassboxd reloaded.\n", name,
		       enabled ? "enabled" : "disabled");
	return EXIT_OK;
}

static int run_plugin_enable(struct context *context)
{
	return set_plugin(context, true);
}

static int run_plugin_disable(struct context *context)
{
	return set_plugin(context, false);
}

static int run_reload(struct context *context)
{
	int status = call_method(context, "Reload", NULL, NULL);

	if (status != EXIT_OK)
		return status;
	if (context->json)
		print_json_done(NULL, NULL);
	else
		printf("glassboxd reloaded its configuration.\n");
	return EXIT_OK;
}

static int run_user_list(struct context *context)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	sd_bus_message *reply = NULL;
	const char *user, *roles, *plugin;
	const char *headers[] = { "USER", "ROLES", "PLUGIN" };
	struct table table;
	int r, status;

	status = call_method(context, "ListUsers", &reply, NULL);
	if (status != EXIT_OK)
		return status;
	table_init(&table, 3, headers);
	json_builder_begin_array(builder);
	r = sd_bus_message_enter_container(reply, 'a', "(sss)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(sss)", &user, &roles, &plugin)) > 0) {
		const char *cells[] = { user, roles, plugin };
		g_auto(GStrv) role_list = g_strsplit(roles, ",", 16);

		table_add(&table, cells);
		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "user");
		json_builder_add_string_value(builder, user);
		json_builder_set_member_name(builder, "roles");
		json_builder_begin_array(builder);
		for (size_t i = 0; role_list[i]; i++)
			if (role_list[i][0])
				json_builder_add_string_value(builder, role_list[i]);
		json_builder_end_array(builder);
		json_builder_set_member_name(builder, "plugin");
		json_builder_add_string_value(builder, plugin);
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	sd_bus_message_unref(reply);
	if (r < 0) {
		g_ptr_array_unref(table.rows);
		return bad_reply("ListUsers", r);
	}
	if (context->json) {
		g_ptr_array_unref(table.rows);
		print_json(builder);
	} else {
		table_print(&table, "No users.");
	}
	return EXIT_OK;
}

/* One line from @in without its newline; false at EOF or when too long. */
static bool read_line(FILE *in, char *buffer, size_t size)
{
	size_t length;

	if (!fgets(buffer, (int)size, in))
		return false;
	length = strlen(buffer);
	if (length > 0 && buffer[length - 1] == '\n')
		buffer[--length] = '\0';
	else if (!feof(in))
		return false; /* longer than the buffer */
	if (length > 0 && buffer[length - 1] == '\r')
		buffer[--length] = '\0';
	return true;
}

/* Prompt on the terminal without echo. */
static bool prompt_password(const char *prompt, char *buffer, size_t size)
{
	struct termios old, quiet;
	bool ok;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return false;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return false;
	ok = read_line(stdin, buffer, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	return ok;
}

/*
 * The new password: from the terminal, asked twice without echo, or the
 * first line of standard input when that is not a terminal (scripts).
 */
static int get_password(const char *user, char *password, size_t size)
{
	char again[PASSWORD_MAX + 2];
	g_autofree char *safe = safe_text(user);
	g_autofree char *prompt = g_strdup_printf("New password for %s: ", safe);

	if (!isatty(STDIN_FILENO)) {
		if (!read_line(stdin, password, size)) {
			fprintf(stderr,
			        "glassboxctl: expected the password on the first line of "
			        "standard input (at most %d bytes)\n",
			        PASSWORD_MAX);
			return EXIT_USAGE;
		}
	} else {
		if (!prompt_password(prompt, password, size) ||
		    !prompt_password("Retype it: ", again, sizeof(again))) {
			fprintf(stderr, "glassboxctl: no password read\n");
			return EXIT_USAGE;
		}
		if (strcmp(password, again) != 0) {
			explicit_bzero(again, sizeof(again));
			fprintf(stderr, "glassboxctl: the passwords differ\n");
			return EXIT_USAGE;
		}
		explicit_bzero(again, sizeof(again));
	}
	if (!password[0] || strlen(password) > PASSWORD_MAX) {
		fprintf(stderr, "glassboxctl: a password is 1 to %d bytes\n", PASSWORD_MAX);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/*
 * AddUser or SetPassword: the password is read here, sent in a message
 * marked sensitive (its buffer is wiped when it goes) and wiped here at once.
 */
static int call_with_password(struct context *context, const char *method, bool with_roles)
{
	const char *user = context->args[0];
	char password[PASSWORD_MAX + 2];
	sd_bus_message *call = NULL, *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r, status;

	status = get_password(user, password, sizeof(password));
	if (status != EXIT_OK)
		return status;
	r = sd_bus_message_new_method_call(context->bus, &call, BUS_NAME, BUS_PATH, BUS_INTERFACE,
	                                   method);
	if (r >= 0)
		r = sd_bus_message_append(call, "ss", user, password);
	explicit_bzero(password, sizeof(password));
	if (r >= 0 && with_roles)
		r = context->admin ? sd_bus_message_append(call, "as", 2, "admin", "user")
		                   : sd_bus_message_append(call, "as", 1, "user");
	if (r >= 0)
		r = sd_bus_message_sensitive(call);
	if (r >= 0)
		r = sd_bus_call(context->bus, call, CALL_TIMEOUT_US, &error, &reply);
	status = r < 0 ? report_error(method, &error, r) : EXIT_OK;
	sd_bus_error_free(&error);
	sd_bus_message_unref(call);
	sd_bus_message_unref(reply);
	return status;
}

static int run_user_add(struct context *context)
{
	const char *user = context->args[0];
	int status = call_with_password(context, "AddUser", true);

	if (status != EXIT_OK)
		return status;
	if (context->json)
		print_json_done("user", user);
	else
		printf("User %s added%s.\n", user, context->admin ? " as an admin" : "");
	return EXIT_OK;
}

static int run_user_passwd(struct context *context)
{
	const char *user = context->args[0];
	int status = call_with_password(context, "SetPassword", false);

	if (status != EXIT_OK)
		return status;
	if (context->json)
		print_json_done("user", user);
	else
		printf("Password of %s changed.\n", user);
	return EXIT_OK;
}

static int run_user_remove(struct context *context)
{
	const char *user = context->args[0];
	int status = call_method(context, "RemoveUser", NULL, "s", user);

	if (status != EXIT_OK)
		return status;
	if (context->json)
		print_json_done("user", user);
	else
		printf("User %s removed.\n", user);
	return EXIT_OK;
}

static const struct command commands[] = {
	{ NULL, "status", "", 0, "show glassboxd's version and how many sessions run",
	  run_status },
	{ "session", "list", "", 0, "list the sessions", run_session_list },
	{ "session", "terminate", "ID", 1, "stop a session and log its user out (everywhere)",
	  run_session_terminate },
	{ "session", "screenshot", "ID FILE.png", 2,
	  "save the session's next frame as PNG (FILE '-': standard output)",
	  run_session_screenshot },
	{ "plugin", "list", "", 0, "list the plugin drop-ins, enabled or not", run_plugin_list },
	{ "plugin", "enable", "NAME", 1,
	  "enable a plugin: write an override beside its drop-in, reload", run_plugin_enable },
	{ "plugin", "disable", "NAME", 1,
	  "disable a plugin (and end its logins): write an override, reload", run_plugin_disable },
	{ NULL, "reload", "", 0, "re-read glassbox.conf and plugins.d (a bad one is refused)",
	  run_reload },
	{ "user", "list", "", 0, "list the users of the auth plugin that manages them",
	  run_user_list },
	{ "user", "add", "NAME [--admin]", 1, "add a user (password: prompted, or from stdin)",
	  run_user_add },
	{ "user", "passwd", "NAME", 1,
	  "set a user's password (prompted, or from stdin); ends their logins", run_user_passwd },
	{ "user", "remove", "NAME", 1, "remove a user and end their logins", run_user_remove },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_command(FILE *out, const struct command *command)
{
	g_autofree char *line = g_strdup_printf("%s%s%s%s%s", command->group ? command->group : "",
	                                        command->group ? " " : "", command->name,
	                                        command->args[0] ? " " : "", command->args);

	fprintf(out, "  %-32s %s\n", line, command->summary);
}

static void usage(FILE *out, const char *group, const struct command *only)
{
	if (only) {
		fprintf(out, "Usage: glassboxctl [OPTION...] %s%s%s%s%s\n\n",
		        only->group ? only->group : "", only->group ? " " : "", only->name,
		        only->args[0] ? " " : "", only->args);
		fprintf(out, "%c%s.\n", g_ascii_toupper(only->summary[0]), only->summary + 1);
		if (strcmp(only->name, "add") == 0 && only->group &&
		    strcmp(only->group, "user") == 0)
			fprintf(out, "\n  --admin     give the user the admin role too\n");
		fprintf(out, "\nOptions: --bus=system|session|ADDRESS, --json, --help "
		             "(see glassboxctl --help).\n");
		return;
	}
	fprintf(out, "Usage: glassboxctl [OPTION...] COMMAND [ARG...]\n\n"
	             "Manage glassboxd over D-Bus (org.glassbox.Manager1).\n\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!group || (commands[i].group && strcmp(commands[i].group, group) == 0))
			print_command(out, &commands[i]);
	fprintf(out,
	        "\nOptions:\n"
	        "      --bus=BUS   system (default), session, or a D-Bus address\n"
	        "                  (unix:path=/run/dbus/system_bus_socket)\n"
	        "      --json      machine-readable output\n"
	        "  -h, --help      show this help (after a command: that command's)\n"
	        "  -V, --version   show the version\n"
	        "\n"
	        "Changing anything (and screenshot, user list) needs root or the group\n"
	        "glassbox-admin.\n"
	        "\n"
	        "Exit status: 0 done; 1 failed; 2 usage error; 3 no such session, plugin or\n"
	        "user; 4 permission denied; 5 glassboxd is not running or cannot be reached.\n");
}

/*
 * The command that @positional (at least one word) names: "status", or a
 * group and a command in it ("session list"). *group is the group when the
 * first word names one, even if the second names no command of it.
 */
static const struct command *find_command(char **positional, int n_positional, const char **group)
{
	const struct command *command = NULL;

	*group = NULL;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct command *candidate = &commands[i];

		if (!candidate->group) {
			if (strcmp(positional[0], candidate->name) == 0)
				command = candidate;
			continue;
		}
		if (strcmp(positional[0], candidate->group) != 0)
			continue;
		*group = candidate->group;
		if (n_positional > 1 && strcmp(positional[1], candidate->name) == 0)
			command = candidate;
	}
	return command;
}

int main(int argc, char *argv[])
{
	enum {
		OPT_BUS = 256,
		OPT_JSON,
		OPT_ADMIN,
	};
	static const struct option long_options[] = {
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "admin", no_argument, NULL, OPT_ADMIN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct context context = { .bus_spec = "system" };
	const struct command *command;
	bool help = false, group_known;
	const char *group = NULL;
	int c, status, n_positional;
	char **positional;

	while ((c = getopt_long(argc, argv, "hV", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_BUS:
			context.bus_spec = optarg;
			break;
		case OPT_JSON:
			context.json = true;
			break;
		case OPT_ADMIN:
			context.admin = true;
			break;
		case 'h':
			help = true;
			break;
		case 'V':
			printf("glassboxctl %s\n", GB_VERSION);
			return EXIT_OK;
		default:
			usage(stderr, NULL, NULL);
			return EXIT_USAGE;
		}
	}
	positional = argv + optind;
	n_positional = argc - optind;

	if (n_positional == 0) {
		usage(help ? stdout : stderr, NULL, NULL);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	command = find_command(positional, n_positional, &group);
	group_known = group != NULL;
	if (!command) {
		if (group_known && help && n_positional == 1) {
			usage(stdout, group, NULL);
			return EXIT_OK;
		}
		if (group_known)
			fprintf(stderr,
			        "glassboxctl: %s: expected one of the commands below%s%s\n",
			        positional[0], n_positional > 1 ? ", not " : "",
			        n_positional > 1 ? positional[1] : "");
		else
			fprintf(stderr, "glassboxctl: unknown command '%s'\n", positional[0]);
		usage(stderr, group_known ? group : NULL, NULL);
		return EXIT_USAGE;
	}
	if (help) {
		usage(stdout, NULL, command);
		return EXIT_OK;
	}
	context.args = positional + (command->group ? 2 : 1);
	context.n_args = n_positional - (command->group ? 2 : 1);
	if (context.n_args != command->n_args) {
		fprintf(stderr, "glassboxctl: %s%s%s: expected %d argument%s, got %d\n",
		        command->group ? command->group : "", command->group ? " " : "",
		        command->name, command->n_args, command->n_args == 1 ? "" : "s",
		        context.n_args);
		usage(stderr, NULL, command);
		return EXIT_USAGE;
	}
	if (context.admin && command->run != run_user_add) {
		fprintf(stderr, "glassboxctl: --admin goes with 'user add' only\n");
		return EXIT_USAGE;
	}

	status = connect_bus(&context);
	if (status != EXIT_OK)
		return status;
	status = command->run(&context);
	sd_bus_flush_close_unref(context.bus);
	return status;
}
