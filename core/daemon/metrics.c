/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: the Prometheus text format (0.0.4), for a login with the
 * admin role or a client on a loopback address (a Prometheus on the box, or
 * a tunnel to it); everyone else gets 403. GET /api/admin: the same kind of
 * overview as JSON, for admins only.
 *
 * glassboxd's own figures (sessions, logins, WebSockets) are at hand; the
 * streaming ones (frames, encode latency, bitrate, RTT, viewers, dropped
 * input) live in each session, which answers `stats` on its control socket
 * (core/session/README.md, CONTROL SOCKET). A scrape asks every running
 * session at once, without blocking the main loop: the HTTP answer is
 * paused, each question is a non-blocking unix socket watched by the main
 * loop, and after SCRAPE_TIMEOUT_MS the sessions that have not answered are
 * left out (glassbox_session_stats_up 0).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "daemon.h"
#include "auth.h"
#include "http.h"
#include "relay.h"
#include "sessions.h"
#include "storage.h"
#include "gb-build-config.h"
#include "log.h"
#include "session-control.h"
#include "metrics.h"

#define SCRAPE_TIMEOUT_MS 1000
#define SCRAPES_MAX       4    /* at once: a session's control socket takes 4 clients */
#define ANSWER_MAX        4096 /* one `stats` line */
#define STATS_FIELDS_MAX  64
#define FDS_COUNTED_MAX   65536

/* The bounds of the session's latency_buckets_ms, in ms (core/session/stream.h). */
static const unsigned latency_bounds_ms[] = { 1, 2, 5, 10, 16, 25, 33, 50, 100, 250 };

static const char *const failure_reasons[GB_LOGIN_FAILURE_REASONS] = {
	[GB_LOGIN_FAILURE_WRONG_CREDENTIALS] = "wrong_credentials",
	[GB_LOGIN_FAILURE_REFUSED] = "refused",
	[GB_LOGIN_FAILURE_ERROR] = "error",
	[GB_LOGIN_FAILURE_THROTTLED_ADDRESS] = "throttled_address",
	[GB_LOGIN_FAILURE_THROTTLED_USER] = "throttled_user",
};

struct gb_metrics {
	GHashTable *logins; /* plugin name -> guint64 *: successful logins */
	guint64 failures[GB_LOGIN_FAILURE_REASONS];
	gint64 started_realtime_us;
	GQueue scrapes; /* struct scrape, in flight */
};

/* One session's answer to `stats`. */
struct session_query {
	struct scrape *scrape;
	char id[GB_SESSION_ID_LENGTH + 1];
	struct gb_session_control_call *call; /* NULL once it ended */
	char answer[ANSWER_MAX];
	bool answered; /* a whole line came */
};

struct scrape {
	struct gb_daemon *daemon;
	SoupServerMessage *msg;
	gulong finished_handler;
	bool gone;
	bool paused;
	guint timeout;
	unsigned pending;
	GPtrArray *queries; /* struct session_query */
	GList link;
};

/* --- counting ------------------------------------------------------------------------- */

static void count_login(void *data, const char *plugin)
{
	struct gb_daemon *daemon = data;
	guint64 *count;

	if (!daemon->metrics || !plugin)
		return;
	count = g_hash_table_lookup(daemon->metrics->logins, plugin);
	if (!count) {
		/* Plugin names come from loaded plugins: a handful. */
		if (g_hash_table_size(daemon->metrics->logins) >= 64)
			return;
		count = g_new0(guint64, 1);
		g_hash_table_insert(daemon->metrics->logins, g_strdup(plugin), count);
	}
	(*count)++;
}

static void count_login_failure(void *data, enum gb_login_failure_reason reason)
{
	struct gb_daemon *daemon = data;

	if (daemon->metrics && reason < GB_LOGIN_FAILURE_REASONS)
		daemon->metrics->failures[reason]++;
}

const struct gb_events_listener gb_metrics_events = {
	.login_made = count_login,
	.login_failed = count_login_failure,
};

/* --- the text format ------------------------------------------------------------------- */

static void family(GString *out, const char *name, const char *type, const char *help)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void append_label(GString *out, const char *value)
{
	for (const char *c = value; *c; c++) {
		if (*c == '\\')
			g_string_append(out, "\\\\");
		else if (*c == '"')
			g_string_append(out, "\\\"");
		else if (*c == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *c);
	}
}

static void sample(GString *out, const char *name, const char *label, const char *value,
                   const char *number)
{
	g_string_append(out, name);
	if (label) {
		g_string_append_printf(out, "{%s=\"", label);
		append_label(out, value);
		g_string_append(out, "\"}");
	}
	g_string_append_printf(out, " %s\n", number);
}

static void sample_u64(GString *out, const char *name, const char *label, const char *value,
                       guint64 number)
{
	char text[32];

	snprintf(text, sizeof(text), "%" G_GUINT64_FORMAT, number);
	sample(out, name, label, value, text);
}

static void sample_double(GString *out, const char *name, const char *label, const char *value,
                          double number)
{
	char text[G_ASCII_DTOSTR_BUF_SIZE];

	g_ascii_dtostr(text, sizeof(text), number); /* '.', whatever the locale */
	sample(out, name, label, value, text);
}

/* "k=v k=v" of an "ok ..." answer into a table; NULL when it is not one. */
static GHashTable *parse_stats(const struct session_query *query)
{
	GHashTable *fields;
	g_auto(GStrv) words = NULL;

	if (!query->answered || !g_str_has_prefix(query->answer, "ok "))
		return NULL;
	fields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	words = g_strsplit(query->answer + 3, " ", STATS_FIELDS_MAX);
	for (size_t i = 0; words[i]; i++) {
		char *equals = strchr(words[i], '=');

		if (equals && equals != words[i])
			g_hash_table_insert(fields,
			                    g_strndup(words[i], (gsize)(equals - words[i])),
			                    g_strdup(equals + 1));
	}
	return fields;
}

static bool field_number(GHashTable *fields, const char *key, double *value)
{
	const char *text = fields ? g_hash_table_lookup(fields, key) : NULL;
	char *end;

	if (!text || !text[0])
		return false;
	*value = g_ascii_strtod(text, &end);
	return *end == '\0' && *value == *value; /* not NaN */
}

/* latency_buckets_ms=1:5,2:9,... into counts matching latency_bounds_ms. */
static bool latency_buckets(GHashTable *fields, guint64 counts[G_N_ELEMENTS(latency_bounds_ms)])
{
	const char *text = fields ? g_hash_table_lookup(fields, "latency_buckets_ms") : NULL;
	g_auto(GStrv) items = NULL;
	size_t i;

	if (!text)
		return false;
	items = g_strsplit(text, ",", G_N_ELEMENTS(latency_bounds_ms) + 1);
	for (i = 0; items[i] && i < G_N_ELEMENTS(latency_bounds_ms); i++) {
		char *end;
		guint64 bound = g_ascii_strtoull(items[i], &end, 10);

		if (*end != ':' || bound != latency_bounds_ms[i])
			return false;
		counts[i] = g_ascii_strtoull(end + 1, &end, 10);
		if (*end || (i > 0 && counts[i] < counts[i - 1]))
			return false;
	}
	return i == G_N_ELEMENTS(latency_bounds_ms) && !items[i];
}

static void render_glassboxd(GString *out, struct gb_daemon *daemon)
{
	struct gb_plugin *const *plugins;
	size_t n_plugins;
	struct gb_metrics *metrics = daemon->metrics;
	unsigned by_state[GB_SESSION_EXITED + 1] = { 0 };
	GHashTableIter iter;
	gpointer key, value;

	gb_sessions_iter_init(&iter, daemon);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		enum gb_session_state state = ((struct gb_daemon_session *)value)->state;

		if (state <= GB_SESSION_EXITED)
			by_state[state]++;
	}
	family(out, "glassbox_sessions", "gauge", "Sessions, by state.");
	for (int state = GB_SESSION_STARTING; state <= GB_SESSION_STOPPING; state++)
		sample_u64(out, "glassbox_sessions", "state", gb_session_state_name(state),
		           by_state[state]);
	family(out, "glassbox_max_sessions", "gauge", "The configured server.max_sessions.");
	sample_u64(out, "glassbox_max_sessions", NULL, NULL,
	           (guint64)daemon->config->server.max_sessions);
	family(out, "glassbox_websockets", "gauge",
	       "Signalling WebSockets open in glassboxd (browser tabs).");
	sample_u64(out, "glassbox_websockets", NULL, NULL, gb_relays_count(daemon));
	family(out, "glassbox_logins", "gauge", "Logins (cookies) currently valid.");
	sample_u64(out, "glassbox_logins", NULL, NULL, gb_auth_login_count(daemon));

	family(out, "glassbox_logins_total", "counter",
	       "Successful logins since glassboxd started, by auth plugin.");
	/* Every loaded plugin, 0 included, then those a reload took away. */
	plugins = gb_auth_plugins(daemon, &n_plugins);
	for (size_t i = 0; i < n_plugins; i++) {
		const char *name = plugins[i]->descriptor->name;
		guint64 *count = g_hash_table_lookup(metrics->logins, name);

		sample_u64(out, "glassbox_logins_total", "plugin", name, count ? *count : 0);
	}
	g_hash_table_iter_init(&iter, metrics->logins);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		bool loaded = false;

		for (size_t i = 0; i < n_plugins && !loaded; i++)
			loaded = strcmp(plugins[i]->descriptor->name, key) == 0;
		if (!loaded)
			sample_u64(out, "glassbox_logins_total", "plugin", key, *(guint64 *)value);
	}
	family(out, "glassbox_login_failures_total", "counter",
	       "Failed or refused logins since glassboxd started, by reason.");
	for (int i = 0; i < GB_LOGIN_FAILURE_REASONS; i++)
		sample_u64(out, "glassbox_login_failures_total", "reason", failure_reasons[i],
		           metrics->failures[i]);
}

struct storage_totals {
	guint64 by_state[GB_MOUNT_STATES];
	guint64 files_waiting;
	guint64 bytes_uploading;
	guint64 upload_errors;
};

static void add_mount(void *data, const struct gb_mount_info *mount)
{
	struct storage_totals *totals = data;

	if (mount->state < GB_MOUNT_STATES)
		totals->by_state[mount->state]++;
	totals->files_waiting += mount->files_waiting;
	totals->bytes_uploading += mount->bytes_uploading;
	totals->upload_errors += mount->upload_errors;
}

/* The sessions' mounts (storage.h), as of their last status. */
static void render_storage(GString *out, struct gb_daemon *daemon)
{
	struct storage_totals totals = { 0 };

	gb_storage_foreach_mount(daemon, NULL, add_mount, &totals);
	family(out, "glassbox_storage_mounts", "gauge",
	       "Storage mounts of the sessions (and of ended sessions still uploading), by "
	       "state.");
	for (int state = 0; state < GB_MOUNT_STATES; state++)
		sample_u64(out, "glassbox_storage_mounts", "state", gb_mount_state_name(state),
		           totals.by_state[state]);
	family(out, "glassbox_storage_files_waiting", "gauge",
	       "Files written through the mounts and not yet on their remotes.");
	sample_u64(out, "glassbox_storage_files_waiting", NULL, NULL, totals.files_waiting);
	family(out, "glassbox_storage_bytes_uploading", "gauge",
	       "Bytes of the uploads under way not yet sent.");
	sample_u64(out, "glassbox_storage_bytes_uploading", NULL, NULL, totals.bytes_uploading);
	family(out, "glassbox_storage_upload_errors", "gauge",
	       "Files whose last upload failed (retried later).");
	sample_u64(out, "glassbox_storage_upload_errors", NULL, NULL, totals.upload_errors);
}

static void render_sessions(GString *out, struct scrape *scrape)
{
	const size_t n = scrape->queries->len;
	g_autofree GHashTable **fields = g_new0(GHashTable *, n ? n : 1);
	struct session_query *query;
	double number;

	for (size_t i = 0; i < n; i++)
		fields[i] = parse_stats(g_ptr_array_index(scrape->queries, i));

	family(out, "glassbox_session_stats_up", "gauge",
	       "1 when the running session answered `stats` within 1 s.");
	for (size_t i = 0; i < n; i++) {
		query = g_ptr_array_index(scrape->queries, i);
		sample_u64(out, "glassbox_session_stats_up", "session", query->id,
		           fields[i] != NULL);
	}

#define PER_SESSION(NAME, KEY, SCALE)                                                             \
	for (size_t i = 0; i < n; i++) {                                                          \
		query = g_ptr_array_index(scrape->queries, i);                                    \
		if (field_number(fields[i], KEY, &number) && number >= 0)                         \
			sample_double(out, NAME, "session", query->id, number *(SCALE));          \
	}

	family(out, "glassbox_viewers", "gauge",
	       "Viewers (WebRTC peers) of each session, as the session counts them.");
	PER_SESSION("glassbox_viewers", "viewers", 1);
	family(out, "glassbox_frames_encoded_total", "counter",
	       "Frames the session's encoder produced.");
	PER_SESSION("glassbox_frames_encoded_total", "frames_encoded", 1);
	/* Prometheus' base unit is the byte: bit/s would fail promtool's lint. */
	family(out, "glassbox_bitrate_bytes_per_second", "gauge",
	       "The session's encoded video rate over the last second, in bytes per second "
	       "(x8 for bit/s).");
	PER_SESSION("glassbox_bitrate_bytes_per_second", "bitrate_kbps", 1000.0 / 8);
	family(out, "glassbox_rtt_seconds", "gauge",
	       "Round-trip time to the session's viewers (mean; from RTCP, webrtcbin "
	       "remote-inbound-rtp); absent until a receiver report came.");
	PER_SESSION("glassbox_rtt_seconds", "rtt_ms", 0.001);
	family(out, "glassbox_input_messages_dropped_total", "counter",
	       "Input messages from viewers the session dropped (over its limits).");
	PER_SESSION("glassbox_input_messages_dropped_total", "input_dropped", 1);
#undef PER_SESSION

	family(out, "glassbox_encode_latency_seconds", "histogram",
	       "Time from a frame's rendering to its last packet leaving for the network.");
	for (size_t i = 0; i < n; i++) {
		guint64 counts[G_N_ELEMENTS(latency_bounds_ms)];
		double total, sum_ms;
		char le[16];

		query = g_ptr_array_index(scrape->queries, i);
		if (!latency_buckets(fields[i], counts) ||
		    !field_number(fields[i], "latency_frames", &total) ||
		    !field_number(fields[i], "latency_sum_ms", &sum_ms))
			continue;
		for (size_t b = 0; b < G_N_ELEMENTS(latency_bounds_ms); b++) {
			g_ascii_formatd(le, sizeof(le), "%g", latency_bounds_ms[b] / 1000.0);
			g_string_append(out, "glassbox_encode_latency_seconds_bucket{session=\"");
			append_label(out, query->id);
			g_string_append_printf(out, "\",le=\"%s\"} %" G_GUINT64_FORMAT "\n", le,
			                       counts[b]);
		}
		g_string_append(out, "glassbox_encode_latency_seconds_bucket{session=\"");
		append_label(out, query->id);
		g_string_append_printf(out, "\",le=\"+Inf\"} %.0f\n", total);
		sample_double(out, "glassbox_encode_latency_seconds_sum", "session", query->id,
		              sum_ms / 1000.0);
		sample_double(out, "glassbox_encode_latency_seconds_count", "session", query->id,
		              total);
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i])
			g_hash_table_destroy(fields[i]);
}

/* The usual process_* family, as client libraries export it. */
static void render_process(GString *out, struct gb_daemon *daemon)
{
	struct rusage usage;
	struct rlimit limit;
	unsigned long pages = 0, resident = 0;
	FILE *statm;
	DIR *fds;
	unsigned open_fds = 0;

	if (getrusage(RUSAGE_SELF, &usage) == 0) {
		family(out, "process_cpu_seconds_total", "counter",
		       "User and system CPU time spent, in seconds.");
		sample_double(out, "process_cpu_seconds_total", NULL, NULL,
		              (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
		                      (double)usage.ru_stime.tv_sec +
		                      usage.ru_stime.tv_usec / 1e6);
	}
	statm = fopen("/proc/self/statm", "re");
	if (statm) {
		if (fscanf(statm, "%lu %lu", &pages, &resident) == 2) {
			family(out, "process_resident_memory_bytes", "gauge",
			       "Resident memory size in bytes.");
			sample_u64(out, "process_resident_memory_bytes", NULL, NULL,
			           (guint64)resident * (guint64)sysconf(_SC_PAGESIZE));
			family(out, "process_virtual_memory_bytes", "gauge",
			       "Virtual memory size in bytes.");
			sample_u64(out, "process_virtual_memory_bytes", NULL, NULL,
			           (guint64)pages * (guint64)sysconf(_SC_PAGESIZE));
		}
		fclose(statm);
	}
	fds = opendir("/proc/self/fd");
	if (fds) {
		struct dirent *entry;

		while (open_fds < FDS_COUNTED_MAX && (entry = readdir(fds)))
			if (entry->d_name[0] != '.')
				open_fds++;
		closedir(fds);
		family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
		sample_u64(out, "process_open_fds", NULL, NULL, open_fds > 0 ? open_fds - 1 : 0);
	}
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
		family(out, "process_max_fds", "gauge",
		       "Maximum number of open file descriptors.");
		sample_u64(out, "process_max_fds", NULL, NULL, (guint64)limit.rlim_cur);
	}
	family(out, "process_start_time_seconds", "gauge",
	       "Start time of the process since the Unix epoch, in seconds.");
	sample_double(out, "process_start_time_seconds", NULL, NULL,
	              (double)(daemon->metrics->started_realtime_us / G_USEC_PER_SEC));
	family(out, "glassbox_build_info", "gauge", "Always 1; the version in a label.");
	sample(out, "glassbox_build_info", "version", GB_VERSION, "1");
}

/* --- a scrape ---------------------------------------------------------------------------- */

static void query_close(struct session_query *query)
{
	gb_session_control_cancel(query->call);
	query->call = NULL;
}

static void query_free(gpointer data)
{
	query_close(data);
	g_free(data);
}

static void scrape_free(struct scrape *scrape)
{
	if (scrape->timeout)
		g_source_remove(scrape->timeout);
	if (scrape->finished_handler)
		g_signal_handler_disconnect(scrape->msg, scrape->finished_handler);
	g_object_unref(scrape->msg);
	g_ptr_array_free(scrape->queries, TRUE);
	g_free(scrape);
}

static void scrape_finish(struct scrape *scrape)
{
	struct gb_daemon *daemon = scrape->daemon;
	GString *out;

	g_queue_unlink(&daemon->metrics->scrapes, &scrape->link);
	if (!scrape->gone && gb_http_serving(daemon)) {
		out = g_string_sized_new(8192);
		render_glassboxd(out, daemon);
		render_storage(out, daemon);
		render_sessions(out, scrape);
		render_process(out, daemon);
		gb_http_add_common_headers(scrape->msg);
		soup_message_headers_replace(soup_server_message_get_response_headers(scrape->msg),
		                             "Cache-Control", "no-store");
		soup_server_message_set_status(scrape->msg, SOUP_STATUS_OK, NULL);
		soup_server_message_set_response(scrape->msg,
		                                 "text/plain; version=0.0.4; "
		                                 "charset=utf-8",
		                                 SOUP_MEMORY_TAKE, out->str, out->len);
		g_string_free(out, FALSE);
	}
	if (scrape->paused && !scrape->gone && gb_http_serving(daemon))
		soup_server_message_unpause(scrape->msg);
	scrape_free(scrape);
}

static void query_done(struct session_query *query)
{
	struct scrape *scrape = query->scrape;

	query_close(query);
	if (--scrape->pending == 0)
		scrape_finish(scrape);
}

static void query_answered(void *data, int result, const char *line)
{
	struct session_query *query = data;

	query->call = NULL; /* freed after this returns */
	if (result == 0) {
		g_strlcpy(query->answer, line, sizeof(query->answer));
		query->answered = true;
	} else {
		gb_debug("metrics: session %s: no stats answer (%s)", query->id,
		         result == -EPIPE      ? "closed"
		         : result == -EMSGSIZE ? "too long"
		                               : strerror(-result));
	}
	query_done(query);
}

static gboolean scrape_timed_out(gpointer data)
{
	struct scrape *scrape = data;

	scrape->timeout = 0;
	/* The queries still open are the pending ones; the scrape ends after them. */
	for (unsigned i = 0; i < scrape->queries->len; i++) {
		struct session_query *query = g_ptr_array_index(scrape->queries, i);

		if (query->call) {
			gb_warning("metrics: session %s did not answer `stats` within %d ms",
			           query->id, SCRAPE_TIMEOUT_MS);
			query_close(query);
			scrape->pending--;
		}
	}
	scrape->pending = 0;
	scrape_finish(scrape);
	return G_SOURCE_REMOVE;
}

/* Connect and ask; false when the session cannot be asked now. */
static bool query_start(struct session_query *query, const struct gb_daemon_session *session)
{
	char error[256];

	/* The scrape has its own clock (scrape_timed_out): no time-out per query. */
	query->call = gb_session_control_call(session, "stats\n", sizeof(query->answer) - 1, 0,
	                                      query_answered, query, error, sizeof(error));
	if (!query->call) {
		gb_debug("metrics: session %s: cannot ask: %s", query->id, error);
		return false;
	}
	return true;
}

static void scrape_request_finished(SoupServerMessage *msg, gpointer data)
{
	((struct scrape *)data)->gone = true;
}

/* --- handlers --------------------------------------------------------------------------- */

static bool accept_get(SoupServerMessage *msg, const char *path, const char *expected)
{
	if (strcmp(path, expected) != 0) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return false;
	}
	return gb_http_accept_get(msg);
}

static void handle_metrics(SoupServer *server, SoupServerMessage *msg, const char *path,
                           GHashTable *query_table, gpointer data)
{
	struct gb_daemon *daemon = data;
	struct gb_login *login;
	struct scrape *scrape;
	GHashTableIter iter;
	gpointer value;

	if (!accept_get(msg, path, "/metrics"))
		return;
	login = gb_auth_find_login(daemon, msg);
	if (!(login && (login->roles & GB_ROLE_ADMIN)) && !gb_http_peer_is_loopback(msg)) {
		gb_http_reply_error(msg, SOUP_STATUS_FORBIDDEN,
		                    "metrics are for admins and for clients on this machine");
		return;
	}
	if (daemon->metrics->scrapes.length >= SCRAPES_MAX) {
		gb_http_reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
		                    "too many scrapes at once; try again");
		return;
	}

	scrape = g_new0(struct scrape, 1);
	scrape->daemon = daemon;
	scrape->msg = g_object_ref(msg);
	scrape->queries = g_ptr_array_new_with_free_func(query_free);
	scrape->link.data = scrape;
	g_queue_push_tail_link(&daemon->metrics->scrapes, &scrape->link);
	gb_sessions_iter_init(&iter, daemon);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_daemon_session *session = value;
		struct session_query *query;

		if (session->state != GB_SESSION_RUNNING)
			continue;
		query = g_new0(struct session_query, 1);
		query->scrape = scrape;
		g_strlcpy(query->id, session->id, sizeof(query->id));
		g_ptr_array_add(scrape->queries, query);
		if (query_start(query, session))
			scrape->pending++;
	}
	if (scrape->pending == 0) {
		scrape_finish(scrape);
		return;
	}
	scrape->finished_handler =
	        g_signal_connect(msg, "finished", G_CALLBACK(scrape_request_finished), scrape);
	scrape->timeout = g_timeout_add(SCRAPE_TIMEOUT_MS, scrape_timed_out, scrape);
	scrape->paused = true;
	soup_server_message_pause(msg);
}

static char *iso_time(gint64 realtime_us)
{
	g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc(realtime_us / G_USEC_PER_SEC);

	return time ? g_date_time_format_iso8601(time) : g_strdup("");
}

static void admin_sessions(JsonBuilder *builder, struct gb_daemon *daemon)
{
	GHashTableIter iter;
	gpointer value;

	json_builder_set_member_name(builder, "sessions");
	json_builder_begin_array(builder);
	gb_sessions_iter_init(&iter, daemon);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_daemon_session *session = value;
		g_autofree char *started = iso_time(session->started_realtime_us);

		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "id");
		json_builder_add_string_value(builder, session->id);
		json_builder_set_member_name(builder, "user");
		json_builder_add_string_value(builder, session->user);
		json_builder_set_member_name(builder, "identity");
		json_builder_add_string_value(builder, session->identity);
		json_builder_set_member_name(builder, "state");
		json_builder_add_string_value(builder, gb_session_state_name(session->state));
		json_builder_set_member_name(builder, "viewers");
		json_builder_add_int_value(builder, session->relays.length);
		json_builder_set_member_name(builder, "started");
		json_builder_add_string_value(builder, started);
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
}

static void admin_plugins(JsonBuilder *builder, struct gb_daemon *daemon)
{
	json_builder_set_member_name(builder, "plugins");
	json_builder_begin_array(builder);
	size_t n_plugins;
	struct gb_plugin *const *plugins = gb_auth_plugins(daemon, &n_plugins);

	for (size_t i = 0; i < n_plugins; i++) {
		const struct gb_plugin_descriptor *descriptor = plugins[i]->descriptor;
		const struct gb_auth_ops *ops = descriptor->ops;

		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "name");
		json_builder_add_string_value(builder, descriptor->name);
		json_builder_set_member_name(builder, "kind");
		json_builder_add_string_value(builder, "auth");
		json_builder_set_member_name(builder, "version");
		json_builder_add_string_value(builder, descriptor->version);
		json_builder_set_member_name(builder, "method");
		json_builder_add_string_value(
		        builder, gb_auth_ops_method(ops) == GB_AUTH_METHOD_REDIRECT ? "redirect"
		                                                                    : "password");
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
}

static void admin_figures(JsonBuilder *builder, struct gb_daemon *daemon)
{
	struct gb_metrics *metrics = daemon->metrics;
	GHashTableIter iter;
	gpointer value;
	guint64 logins = 0;

	g_hash_table_iter_init(&iter, metrics->logins);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		logins += *(guint64 *)value;
	json_builder_set_member_name(builder, "figures");
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "sessions");
	json_builder_add_int_value(builder, gb_sessions_count(daemon));
	json_builder_set_member_name(builder, "max_sessions");
	json_builder_add_int_value(builder, daemon->config->server.max_sessions);
	json_builder_set_member_name(builder, "websockets");
	json_builder_add_int_value(builder, gb_relays_count(daemon));
	json_builder_set_member_name(builder, "logins_total");
	json_builder_add_int_value(builder, (gint64)logins);
	json_builder_set_member_name(builder, "login_failures_total");
	json_builder_begin_object(builder);
	for (int i = 0; i < GB_LOGIN_FAILURE_REASONS; i++) {
		json_builder_set_member_name(builder, failure_reasons[i]);
		json_builder_add_int_value(builder, (gint64)metrics->failures[i]);
	}
	json_builder_end_object(builder);
	json_builder_set_member_name(builder, "started");
	{
		g_autofree char *started = iso_time(metrics->started_realtime_us);
		json_builder_add_string_value(builder, started);
	}
	json_builder_end_object(builder);
}

static void handle_admin(SoupServer *server, SoupServerMessage *msg, const char *path,
                         GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	g_autoptr(JsonBuilder) builder = NULL;
	g_autoptr(JsonGenerator) generator = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *body = NULL;
	struct gb_login *login;

	if (!accept_get(msg, path, "/api/admin"))
		return;
	login = gb_auth_find_login(daemon, msg);
	if (!login) {
		gb_http_reply_error(msg, SOUP_STATUS_UNAUTHORIZED, "not logged in");
		return;
	}
	if (!(login->roles & GB_ROLE_ADMIN)) {
		gb_http_reply_error(msg, SOUP_STATUS_FORBIDDEN, "this needs the admin role");
		return;
	}
	builder = json_builder_new();
	json_builder_begin_object(builder);
	admin_sessions(builder, daemon);
	json_builder_set_member_name(builder, "logins");
	json_builder_add_int_value(builder, gb_auth_login_count(daemon));
	admin_plugins(builder, daemon);
	admin_figures(builder, daemon);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	generator = json_generator_new();
	json_generator_set_root(generator, root);
	body = json_generator_to_data(generator, NULL);
	gb_http_reply_json(msg, SOUP_STATUS_OK, body);
}

/* --- set-up ------------------------------------------------------------------------------ */

int gb_metrics_init(struct gb_daemon *daemon)
{
	struct gb_metrics *metrics = g_new0(struct gb_metrics, 1);

	metrics->logins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	metrics->started_realtime_us = g_get_real_time();
	g_queue_init(&metrics->scrapes);
	daemon->metrics = metrics;
	return 0;
}

void gb_metrics_fini(struct gb_daemon *daemon)
{
	struct gb_metrics *metrics = daemon->metrics;

	if (!metrics)
		return;
	/* Scrapes still out (glassboxd stopping): end them without an answer. */
	while (metrics->scrapes.head) {
		struct scrape *scrape = metrics->scrapes.head->data;

		g_queue_unlink(&metrics->scrapes, &scrape->link);
		scrape_free(scrape);
	}
	g_hash_table_destroy(metrics->logins);
	g_free(metrics);
	daemon->metrics = NULL;
}

void gb_metrics_add_routes(struct gb_daemon *daemon)
{
	gb_http_add_route(daemon, "/metrics", handle_metrics, daemon, 0);
	gb_http_add_route(daemon, "/api/admin", handle_admin, daemon, 0);
}
