/* SPDX-License-Identifier: MIT */
/*
 * Storage: each session's mounts and their sidecars (storage.h).
 *
 * A record per session holds its sidecars. It outlives the session: when
 * the session leaves the table its mounts flush (every file written is
 * uploaded, or the wait runs out and the user is told what stayed in the
 * cache), then their sidecars stop, and only then does the record go.
 *
 * A sidecar is a child of glassboxd under the direct spawner
 * (storage-sidecar.c) and a transient unit under the systemd spawner
 * (storage-unit.c); the rest of this file does not tell them apart.
 *
 * The plugins' calls (mounts(), status()) run on GLib's task threads, one
 * at a time per plugin set, never on the main loop: status() is a request to
 * the sidecar, which may be slow. Their answers come back to the main loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include <glassbox/storage.h>

#include "daemon.h"
#include "gb-build-config.h"
#include "log.h"
#include "remotes.h"
#include "sessions.h"
#include "spawner-names.h"
#include "storage-sidecar.h"
#include "storage-unit.h"
#include "storage.h"
#include "text.h"

/* The storage plugins of one load; shared by the records made with it. */
struct plugin_set {
	gint refs;
	GMutex lock; /* one plugin call at a time */
	struct gb_plugin_registry registry;
};

struct gb_storage {
	struct gb_daemon *daemon;
	struct plugin_set *plugins;
	GHashTable *records; /* session id -> struct record */
	GHashTable *notices; /* identity -> GPtrArray of char * */
	/* The systemd spawner's sidecar units; NULL: children (direct spawner). */
	struct gb_sidecar_units *units;
	bool units_wanted; /* the systemd spawner, whether or not units could be had */
	unsigned ready_timeout_s;
	unsigned flush_timeout_s;
};

/* What one plugin's mounts() gave for a session. */
struct plugin_mounts {
	struct gb_plugin *plugin;
	struct gb_storage_mount *mounts;
	size_t count;
};

struct record;

struct sidecar {
	struct record *record;
	struct gb_plugin *plugin;
	const struct gb_storage_mount *mount;
	enum gb_mount_state state;
	bool gone; /* stopped, or never started */
	char *problem;
	struct gb_sidecar_process process; /* a child of ours, or */
	struct gb_sidecar_unit *unit;      /* a unit of systemd's */
	guint child_watch;
	guint poll_timer;
	guint kill_timer;
	gint64 deadline_us;
	bool polling;
	unsigned restarts;
	char last_line[512]; /* its last two lines: rclone's cause often precedes its "Fatal error"
	                      */
	char previous_line[256];
	struct gb_storage_status status;
	bool status_known;
	unsigned long long conflicts_told; /* conflict copies the user has heard of */
};

struct record {
	gint refs;
	struct gb_storage *storage;
	struct plugin_set *plugins;
	char id[GB_SESSION_ID_LENGTH + 1];
	char *identity;
	char *identity_namespace;
	char *user;
	char *home; /* the session's, or GB_STORAGE_ROOT_DIR/<instance> for units */
	char instance[GB_INSTANCE_NAME_MAX + 1]; /* the session unit's, for sidecar units */
	uid_t uid; /* (uid_t)-1 for units: systemd gives the uid when they start */
	gid_t gid;
	struct gb_daemon_session *session; /* NULL once it left the table */
	bool preparing;                    /* gb_session_prepared() is due */
	bool waiting;        /* for the same identity's previous mounts to stop: same targets */
	GArray *results;     /* struct plugin_mounts */
	GPtrArray *sidecars; /* struct sidecar * */
};

static struct gb_storage *storage_of(struct gb_daemon *daemon)
{
	return daemon->storage;
}

static struct plugin_set *plugin_set_ref(struct plugin_set *set)
{
	g_atomic_int_inc(&set->refs);
	return set;
}

static void plugin_set_unref(struct plugin_set *set)
{
	if (!set || !g_atomic_int_dec_and_test(&set->refs))
		return;
	gb_plugin_registry_clear(&set->registry);
	g_mutex_clear(&set->lock);
	g_free(set);
}

static const struct gb_storage_ops *ops_of(const struct gb_plugin *plugin)
{
	/* A storage plugin of ABI 1.0-1.2 has no vtable and gives no mounts. */
	if (plugin->descriptor->abi_minor < 3)
		return NULL;
	return plugin->descriptor->ops;
}

const char *gb_mount_state_name(enum gb_mount_state state)
{
	static const char *const names[GB_MOUNT_STATES] = {
		[GB_MOUNT_STARTING] = "starting", [GB_MOUNT_READY] = "ready",
		[GB_MOUNT_FAILED] = "failed",     [GB_MOUNT_FLUSHING] = "flushing",
		[GB_MOUNT_STOPPING] = "stopping",
	};

	return state < GB_MOUNT_STATES ? names[state] : "unknown";
}

/*
 * ---- notices: what the user hears at their next login ----
 *
 * Kept in memory and in state_dir/storage-notices/<SHA-256 of the
 * identity> (one per line, 0600), so that what a flush at glassboxd's stop
 * could not upload is still told after the restart.
 */

static char *notices_path(struct gb_storage *storage, const char *identity)
{
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, identity, -1);

	return g_build_filename(storage->daemon->config->server.state_dir, "storage-notices", hash,
	                        NULL);
}

/* The identity's notices: from memory, else from its file (then remembered). */
static GPtrArray *notices_of(struct gb_storage *storage, const char *identity)
{
	GPtrArray *list = g_hash_table_lookup(storage->notices, identity);
	g_autofree char *path = NULL;
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (list)
		return list;
	list = g_ptr_array_new_with_free_func(g_free);
	path = notices_path(storage, identity);
	if (g_file_get_contents(path, &text, NULL, NULL)) {
		lines = g_strsplit(text, "\n", GB_STORAGE_NOTICES_MAX + 1);
		for (size_t i = 0; lines[i] && i < GB_STORAGE_NOTICES_MAX; i++)
			if (lines[i][0])
				g_ptr_array_add(list, g_strdup(lines[i]));
	}
	g_hash_table_insert(storage->notices, g_strdup(identity), list);
	return list;
}

static void save_notices(struct gb_storage *storage, const char *identity, GPtrArray *list)
{
	g_autofree char *path = notices_path(storage, identity);
	g_autofree char *folder = g_path_get_dirname(path);
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) error = NULL;

	if (list->len == 0) {
		unlink(path);
		return;
	}
	for (guint i = 0; i < list->len; i++)
		g_string_append_printf(text, "%s\n", (const char *)list->pdata[i]);
	if ((mkdir(folder, 0700) < 0 && errno != EEXIST) ||
	    !g_file_set_contents_full(path, text->str, (gssize)text->len,
	                              G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
		gb_warning("storage: cannot keep the notices of %s in %s: %s; they are told only "
		           "until glassboxd stops",
		           identity, path, error ? error->message : strerror(errno));
}

static void add_notice(struct gb_storage *storage, const char *identity, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static void add_notice(struct gb_storage *storage, const char *identity, const char *format, ...)
{
	GPtrArray *list = notices_of(storage, identity);
	char *text, *printable;
	va_list args;

	if (list->len >= GB_STORAGE_NOTICES_MAX)
		g_ptr_array_remove_index(list, 0);
	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	/* One line each: no byte that could start another. */
	printable = g_malloc(strlen(text) + 4);
	gb_printable(printable, strlen(text) + 4, text);
	g_free(text);
	g_ptr_array_add(list, printable);
	save_notices(storage, identity, list);
}

char **gb_storage_take_notices(struct gb_daemon *daemon, const char *identity)
{
	struct gb_storage *storage = storage_of(daemon);
	GPtrArray *list = storage ? notices_of(storage, identity) : NULL;
	GPtrArray *copy = g_ptr_array_new();

	for (guint i = 0; list && i < list->len; i++)
		g_ptr_array_add(copy, g_strdup(list->pdata[i]));
	g_ptr_array_add(copy, NULL);
	if (list) {
		g_ptr_array_set_size(list, 0);
		save_notices(storage, identity, list);
		g_hash_table_remove(storage->notices, identity);
	}
	return (char **)g_ptr_array_free(copy, FALSE);
}

/* "~/Cloud/work": the mount's folder as its user knows it. */
static char *shown_path(const struct record *record, const struct gb_storage_mount *mount)
{
	size_t length = strlen(record->home);

	if (mount->target && strncmp(mount->target, record->home, length) == 0 &&
	    mount->target[length] == '/')
		return g_strdup_printf("~%s", mount->target + length);
	return g_strdup(mount->name);
}

/* ---- records ---- */

static bool sidecar_running(const struct sidecar *sidecar)
{
	return sidecar->process.pid || sidecar->unit;
}

static struct record *record_ref(struct record *record)
{
	record->refs++;
	return record;
}

static void sidecar_free(struct sidecar *sidecar)
{
	if (sidecar->child_watch)
		g_source_remove(sidecar->child_watch);
	if (sidecar->poll_timer)
		g_source_remove(sidecar->poll_timer);
	if (sidecar->kill_timer)
		g_source_remove(sidecar->kill_timer);
	gb_sidecar_close(&sidecar->process);
	gb_sidecar_unit_free(sidecar->unit);
	g_free(sidecar->problem);
	g_free(sidecar);
}

static void record_unref(struct record *record)
{
	if (--record->refs > 0)
		return;
	if (record->sidecars)
		g_ptr_array_free(record->sidecars, TRUE);
	for (guint i = 0; record->results && i < record->results->len; i++) {
		struct plugin_mounts *result =
		        &g_array_index(record->results, struct plugin_mounts, i);

		g_mutex_lock(&record->plugins->lock);
		ops_of(result->plugin)
		        ->free_mounts(result->plugin->state, result->mounts, result->count);
		g_mutex_unlock(&record->plugins->lock);
	}
	if (record->results)
		g_array_free(record->results, TRUE);
	plugin_set_unref(record->plugins);
	g_free(record->identity);
	g_free(record->identity_namespace);
	g_free(record->user);
	g_free(record->home);
	g_free(record);
}

/* Every sidecar of a session that left the table has stopped: forget it. */
static void start_waiting(struct gb_storage *storage, const char *identity);

static void record_maybe_done(struct record *record)
{
	struct gb_storage *storage = record->storage;
	g_autofree char *identity = NULL;

	if (record->session)
		return;
	for (guint i = 0; i < record->sidecars->len; i++) {
		struct sidecar *sidecar = record->sidecars->pdata[i];

		if (!sidecar->gone)
			return;
	}
	identity = g_strdup(record->identity);
	gb_debug("storage: the mounts of session %s are all stopped", record->id);
	g_hash_table_remove(storage->records, record->id); /* drops the table's reference */
	start_waiting(storage, identity);
	if (g_hash_table_size(storage->records) == 0)
		gb_events_emit_storage_idle(&storage->daemon->events);
}

static void sidecar_set_problem(struct sidecar *sidecar, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static void sidecar_set_problem(struct sidecar *sidecar, const char *format, ...)
{
	va_list args;

	g_free(sidecar->problem);
	va_start(args, format);
	sidecar->problem = g_strdup_vprintf(format, args);
	va_end(args);
}

/* ---- preparing: a session waits until every mount is ready or failed ---- */

static void maybe_prepared(struct record *record)
{
	if (!record->preparing)
		return;
	for (guint i = 0; i < record->sidecars->len; i++) {
		struct sidecar *sidecar = record->sidecars->pdata[i];

		if (sidecar->state == GB_MOUNT_STARTING)
			return;
	}
	record->preparing = false;
	if (record->session)
		gb_session_prepared(record->session);
}

/* ---- the sidecar's process ---- */

static void sidecar_account(const struct record *record, struct gb_sidecar_account *account)
{
	account->uid = record->uid;
	account->gid = record->gid;
	account->user = record->user;
	account->home = record->home;
}

/*
 * The part of a sidecar's line that can say why it failed: without the
 * "YYYY/MM/DD HH:MM:SS " of Go's log (rclone's), and NULL for a line at
 * level INFO, NOTICE or DEBUG, which never does.
 */
static const char *reason_part(const char *line)
{
	static const char *const chatter[] = { "INFO", "NOTICE", "DEBUG" };

	if (strlen(line) > 20 && g_ascii_isdigit(line[0]) && line[4] == '/' && line[7] == '/' &&
	    line[10] == ' ' && line[13] == ':' && line[16] == ':' && line[19] == ' ')
		line += 20;
	for (size_t i = 0; i < G_N_ELEMENTS(chatter); i++)
		if (g_str_has_prefix(line, chatter[i]))
			return NULL;
	return line;
}

static void sidecar_line(void *data, const char *line)
{
	struct sidecar *sidecar = data;
	char printable[512];
	const char *reason;

	if (!line)
		return;
	gb_printable(printable, sizeof(printable), line);
	gb_info("storage: mount '%s' of %s (session %s): %s", sidecar->mount->name,
	        sidecar->record->identity, sidecar->record->id, printable);
	reason = reason_part(printable);
	if (!reason)
		return;
	/* The last two such lines: rclone's cause often precedes its "Fatal error". */
	sidecar->last_line[0] = '\0';
	if (sidecar->previous_line[0]) {
		g_strlcat(sidecar->last_line, sidecar->previous_line, sizeof(sidecar->last_line));
		g_strlcat(sidecar->last_line, " / ", sizeof(sidecar->last_line));
	}
	g_strlcat(sidecar->last_line, reason, sizeof(sidecar->last_line));
	g_strlcpy(sidecar->previous_line, reason, sizeof(sidecar->previous_line));
}

static void sidecar_stop(struct sidecar *sidecar);
static void sidecar_fail(struct sidecar *sidecar);
static int sidecar_start(struct sidecar *sidecar);
static void start_polling(struct sidecar *sidecar, guint interval_ms);

static gboolean kill_now(gpointer data)
{
	struct sidecar *sidecar = data;

	sidecar->kill_timer = 0;
	if (sidecar_running(sidecar)) {
		gb_warning("storage: mount '%s' of %s did not stop within %d s; SIGKILL",
		           sidecar->mount->name, sidecar->record->identity,
		           GB_STORAGE_STOP_GRACE_S);
		if (sidecar->process.pid)
			kill(sidecar->process.pid, SIGKILL);
		else
			gb_sidecar_unit_kill(sidecar->unit);
	}
	return G_SOURCE_REMOVE;
}

/* What a killed sidecar left: under units, the unit's ExecStopPost= removed it already. */
static void unmount_stale(const struct sidecar *sidecar)
{
	struct gb_sidecar_account account;

	if (sidecar->record->storage->units_wanted)
		return;
	sidecar_account(sidecar->record, &account);
	gb_sidecar_unmount_stale(sidecar->mount->target, &account);
}

/* The sidecar's process or unit is gone; @how completes "its sidecar ...". */
static void sidecar_ended(struct sidecar *sidecar, const char *how)
{
	struct record *record = sidecar->record;
	g_autofree char *shown = NULL;

	if (sidecar->kill_timer)
		g_source_remove(sidecar->kill_timer);
	sidecar->kill_timer = 0;

	switch (sidecar->state) {
	case GB_MOUNT_READY:
		if (record->session && sidecar->restarts < GB_STORAGE_RESTARTS_MAX) {
			sidecar->restarts++;
			gb_warning("storage: the sidecar of mount '%s' of %s %s; restarting it "
			           "(%u of %d); files written before are in its cache and upload "
			           "once it runs",
			           sidecar->mount->name, record->identity, how, sidecar->restarts,
			           GB_STORAGE_RESTARTS_MAX);
			unmount_stale(sidecar);
			if (sidecar_start(sidecar) == 0)
				return;
		}
		sidecar_set_problem(sidecar, "its sidecar %s: %s", how, sidecar->last_line);
		sidecar_fail(sidecar);
		break;
	case GB_MOUNT_STARTING:
		sidecar_set_problem(sidecar, "its sidecar %s before the mount was ready%s%s", how,
		                    sidecar->last_line[0] ? ": " : "", sidecar->last_line);
		sidecar_fail(sidecar);
		break;
	case GB_MOUNT_FLUSHING:
		shown = shown_path(record, sidecar->mount);
		if (sidecar->status_known && sidecar->status.files_queued +
		                                             sidecar->status.files_uploading +
		                                             sidecar->status.upload_errors >
		                                     0)
			add_notice(
			        record->storage, record->identity,
			        "%llu file(s) of ~/%s were not yet uploaded when its sidecar %s; "
			        "they are kept in the cache and upload at your next session",
			        (unsigned long long)(sidecar->status.files_queued +
			                             sidecar->status.files_uploading +
			                             sidecar->status.upload_errors),
			        sidecar->mount->name, how);
		/* fall through */
	case GB_MOUNT_STOPPING:
	case GB_MOUNT_FAILED:
	default:
		gb_info("storage: the sidecar of mount '%s' of %s %s", sidecar->mount->name,
		        record->identity, how);
		break;
	}
	unmount_stale(sidecar);
	sidecar->gone = true;
	if (sidecar->poll_timer)
		g_source_remove(sidecar->poll_timer);
	sidecar->poll_timer = 0;
	maybe_prepared(record);
	record_maybe_done(record);
}

static void sidecar_exited(GPid pid, gint status, gpointer data)
{
	struct sidecar *sidecar = data;
	char how[GB_EXIT_STATUS_TEXT_MAX];

	gb_exit_status_text(status, how);
	sidecar->child_watch = 0;
	gb_sidecar_close(&sidecar->process);
	sidecar_ended(sidecar, how);
}

static void unit_ended(void *data, const char *how)
{
	struct sidecar *sidecar = data;

	gb_sidecar_unit_free(sidecar->unit);
	sidecar->unit = NULL;
	sidecar_ended(sidecar, how);
}

static int sidecar_start_unit(struct sidecar *sidecar)
{
	struct record *record = sidecar->record;
	struct gb_storage *storage = record->storage;
	char error[512];

	sidecar->unit = gb_sidecar_unit_start(storage->units, record->instance, sidecar->mount,
	                                      storage->ready_timeout_s, unit_ended, sidecar, error,
	                                      sizeof(error));
	if (!sidecar->unit) {
		sidecar_set_problem(sidecar, "%s", error);
		return -EIO;
	}
	sidecar->deadline_us =
	        g_get_monotonic_time() + (gint64)storage->ready_timeout_s * G_USEC_PER_SEC;
	gb_info("storage: mount '%s' of %s (session %s): unit %s started for %s",
	        sidecar->mount->name, record->identity, record->id,
	        gb_sidecar_unit_name(sidecar->unit), sidecar->mount->target);
	start_polling(sidecar, GB_STORAGE_POLL_MS);
	return 0;
}

static int sidecar_start(struct sidecar *sidecar)
{
	struct record *record = sidecar->record;
	struct gb_sidecar_account account;
	char error[512];
	int r;

	sidecar_account(record, &account);
	sidecar->state = GB_MOUNT_STARTING;
	sidecar->last_line[0] = '\0';
	sidecar->previous_line[0] = '\0';
	sidecar->status_known = false;
	if (record->storage->units_wanted)
		return sidecar_start_unit(sidecar);
	r = gb_sidecar_spawn(&sidecar->process, sidecar->mount, &account, sidecar_line, sidecar,
	                     error, sizeof(error));
	if (r < 0) {
		sidecar_set_problem(sidecar, "%s", error);
		return r;
	}
	sidecar->child_watch = g_child_watch_add(sidecar->process.pid, sidecar_exited, sidecar);
	sidecar->deadline_us =
	        g_get_monotonic_time() + (gint64)record->storage->ready_timeout_s * G_USEC_PER_SEC;
	gb_info("storage: mount '%s' of %s (session %s): sidecar started (pid %d) for %s",
	        sidecar->mount->name, record->identity, record->id, (int)sidecar->process.pid,
	        sidecar->mount->target);
	start_polling(sidecar, GB_STORAGE_POLL_MS);
	return 0;
}

/* SIGTERM: rclone unmounts and exits; SIGKILL after the grace. */
static void sidecar_stop(struct sidecar *sidecar)
{
	if (sidecar->poll_timer)
		g_source_remove(sidecar->poll_timer);
	sidecar->poll_timer = 0;
	if (!sidecar_running(sidecar)) {
		sidecar->gone = true;
		return;
	}
	if (sidecar->state != GB_MOUNT_FAILED)
		sidecar->state = GB_MOUNT_STOPPING;
	if (sidecar->unit) {
		/* systemd sends SIGKILL after the unit's TimeoutStopSec= (the same grace). */
		gb_sidecar_unit_stop(sidecar->unit);
		return;
	}
	kill(sidecar->process.pid, SIGTERM);
	if (!sidecar->kill_timer)
		sidecar->kill_timer =
		        g_timeout_add_seconds(GB_STORAGE_STOP_GRACE_S, kill_now, sidecar);
}

/* The mount cannot be had: the user and the log hear why, the session goes on without it. */
static void sidecar_fail(struct sidecar *sidecar)
{
	struct record *record = sidecar->record;
	g_autofree char *shown = shown_path(record, sidecar->mount);

	sidecar->state = GB_MOUNT_FAILED;
	gb_error("storage: mount '%s' of %s (session %s) is not available: %s",
	         sidecar->mount->name, record->identity, record->id,
	         sidecar->problem ? sidecar->problem : "unknown");

	add_notice(record->storage, record->identity, "%s is not available: %s", shown,
	           sidecar->problem ? sidecar->problem : "unknown");
	sidecar_stop(sidecar);
	maybe_prepared(record);
}

/* ---- status polls, on a task thread ---- */

struct poll_job {
	struct sidecar *sidecar;
	struct gb_storage_status status;
	int result;
};

static void poll_in_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	struct poll_job *job = data;
	struct sidecar *sidecar = job->sidecar;
	const struct gb_storage_ops *ops = ops_of(sidecar->plugin);

	memset(&job->status, 0, sizeof(job->status));
	job->status.struct_size = sizeof(job->status);
	g_mutex_lock(&sidecar->record->plugins->lock);
	job->result = ops->status(sidecar->plugin->state, sidecar->mount, &job->status);
	g_mutex_unlock(&sidecar->record->plugins->lock);
	g_task_return_boolean(task, TRUE);
}

static void flush_check(struct sidecar *sidecar, const struct poll_job *job);
static void ready_check(struct sidecar *sidecar, const struct poll_job *job);

/*
 * A plugin that keeps both versions of a file changed on both sides says
 * "conflict copies: N saved, M failed" in a ready mount's message
 * (storage-rclone); the user hears of each new one, the names are in the
 * journal.
 */
static void tell_conflicts(struct sidecar *sidecar, const struct gb_storage_status *status)
{
	unsigned long long saved = 0, failed = 0;
	g_autofree char *shown = NULL;

	if (status->state == GB_STORAGE_FAILED ||
	    sscanf(status->message, "conflict copies: %llu saved, %llu failed", &saved, &failed) !=
	            2 ||
	    saved + failed <= sidecar->conflicts_told)
		return;
	shown = shown_path(sidecar->record, sidecar->mount);
	add_notice(sidecar->record->storage, sidecar->record->identity,
	           "%llu file(s) in %s changed on the remote while they were edited here: "
	           "the remote's versions are kept beside them as \"NAME (conflict DATE "
	           "TIME)\"%s",
	           saved + failed - sidecar->conflicts_told, shown,
	           failed ? "; some could not be saved (the journal names them)" : "");
	sidecar->conflicts_told = saved + failed;
}

static void poll_done(GObject *source, GAsyncResult *result, gpointer data)
{
	struct poll_job *job = g_task_get_task_data(G_TASK(result));
	struct sidecar *sidecar = job->sidecar;
	struct record *record = sidecar->record;

	sidecar->polling = false;
	if (job->result == 0) {
		sidecar->status = job->status;
		sidecar->status_known = true;
		tell_conflicts(sidecar, &job->status);
	}
	if (!sidecar->gone && sidecar_running(sidecar)) {
		if (sidecar->state == GB_MOUNT_STARTING)
			ready_check(sidecar, job);
		else if (sidecar->state == GB_MOUNT_FLUSHING)
			flush_check(sidecar, job);
	}
	record_unref(record);
}

static gboolean poll_now(gpointer data)
{
	struct sidecar *sidecar = data;
	struct poll_job *job;
	g_autoptr(GTask) task = NULL;

	if (sidecar->polling || sidecar->gone || !sidecar_running(sidecar))
		return G_SOURCE_CONTINUE;
	sidecar->polling = true;
	job = g_new0(struct poll_job, 1);
	job->sidecar = sidecar;
	record_ref(sidecar->record);
	task = g_task_new(NULL, NULL, poll_done, NULL);
	g_task_set_task_data(task, job, g_free);
	g_task_run_in_thread(task, poll_in_thread);
	return G_SOURCE_CONTINUE;
}

static void start_polling(struct sidecar *sidecar, guint interval_ms)
{
	if (sidecar->poll_timer)
		g_source_remove(sidecar->poll_timer);
	sidecar->poll_timer = g_timeout_add(interval_ms, poll_now, sidecar);
}

static void ready_check(struct sidecar *sidecar, const struct poll_job *job)
{
	struct record *record = sidecar->record;

	if (job->result == 0 && job->status.state == GB_STORAGE_FAILED) {
		sidecar_set_problem(sidecar, "%s", job->status.message);
		sidecar_fail(sidecar);
		return;
	}
	if (job->result == 0 && job->status.state == GB_STORAGE_READY &&
	    gb_sidecar_mounted(sidecar->mount->target)) {
		sidecar->state = GB_MOUNT_READY;
		gb_info("storage: mount '%s' of %s (session %s) is ready at %s",
		        sidecar->mount->name, record->identity, record->id,
		        sidecar->mount->target);
		start_polling(sidecar, GB_STORAGE_HEALTH_MS);
		maybe_prepared(record);
		return;
	}
	if (g_get_monotonic_time() > sidecar->deadline_us) {
		sidecar_set_problem(sidecar, "not mounted within %u s%s%s",
		                    record->storage->ready_timeout_s,
		                    sidecar->last_line[0] ? ": " : "", sidecar->last_line);
		sidecar_fail(sidecar);
	}
}

static void flush_check(struct sidecar *sidecar, const struct poll_job *job)
{
	struct record *record = sidecar->record;
	/* A failed upload is retried later: its file still waits. */
	uint64_t waiting =
	        job->status.files_queued + job->status.files_uploading + job->status.upload_errors;

	if (job->result == 0 && waiting == 0) {
		gb_info("storage: mount '%s' of %s: everything is uploaded; stopping its sidecar",
		        sidecar->mount->name, record->identity);
		sidecar_stop(sidecar);
		return;
	}
	if (g_get_monotonic_time() <= sidecar->deadline_us)
		return;
	if (job->result == 0) {
		g_autofree char *shown = shown_path(record, sidecar->mount);

		gb_error("storage: mount '%s' of %s: %llu file(s) not yet uploaded "
		         "after %u s (%llu failed to upload); kept in the cache "
		         "under %s, they upload at the user's next session",
		         sidecar->mount->name, record->identity, (unsigned long long)waiting,
		         record->storage->flush_timeout_s,
		         (unsigned long long)job->status.upload_errors, record->home);
		add_notice(record->storage, record->identity,
		           "%llu file(s) of %s not yet uploaded, kept in the cache; "
		           "they upload at your next session",
		           (unsigned long long)waiting, shown);
	} else {
		gb_error("storage: mount '%s' of %s: its sidecar has not answered for %u s; "
		         "stopping it; what it had not uploaded stays in the cache",
		         sidecar->mount->name, record->identity, record->storage->flush_timeout_s);
	}
	sidecar_stop(sidecar);
}

/* ---- the session's end ---- */

static void flush(struct record *record)
{
	for (guint i = 0; i < record->sidecars->len; i++) {
		struct sidecar *sidecar = record->sidecars->pdata[i];

		if (sidecar->gone)
			continue;
		if (sidecar->state == GB_MOUNT_READY) {
			sidecar->state = GB_MOUNT_FLUSHING;
			sidecar->deadline_us =
			        g_get_monotonic_time() +
			        (gint64)record->storage->flush_timeout_s * G_USEC_PER_SEC;
			gb_info("storage: session %s ended; mount '%s' of %s uploads what is left "
			        "(at most %u s)",
			        record->id, sidecar->mount->name, record->identity,
			        record->storage->flush_timeout_s);
			start_polling(sidecar, GB_STORAGE_POLL_MS);
		} else if (sidecar->state == GB_MOUNT_STARTING) {
			sidecar_stop(sidecar);
		}
	}
	record_maybe_done(record);
}

static void storage_session_removed(void *data, const struct gb_daemon_session *session,
                                    const char *reason)
{
	struct gb_daemon *daemon = data;
	struct gb_storage *storage = storage_of(daemon);
	struct record *record =
	        storage ? g_hash_table_lookup(storage->records, session->id) : NULL;

	if (!record)
		return;
	record->session = NULL;
	record->preparing = false;
	flush(record);
}

static void storage_reload_ended(void *data, bool applied);

const struct gb_events_listener gb_storage_events = {
	.session_removed = storage_session_removed,
	.reload_ended = storage_reload_ended,
};

/* ---- asking the plugins, on a task thread ---- */

struct mounts_job {
	struct record *record;
	GPtrArray *remotes; /* struct gb_user_remote */
	struct gb_storage_remote *abi_remotes;
	GArray *results; /* struct plugin_mounts */
};

static void mounts_job_free(gpointer data)
{
	struct mounts_job *job = data;

	if (job->remotes)
		g_ptr_array_unref(job->remotes);
	g_free(job->abi_remotes);
	if (job->results)
		g_array_free(job->results, TRUE);
	g_free(job);
}

static void mounts_in_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	struct mounts_job *job = data;
	struct record *record = job->record;
	struct gb_plugin_registry *registry = &record->plugins->registry;
	struct gb_storage_user user = {
		.struct_size = sizeof(user),
		.identity_namespace = record->identity_namespace,
		.user = record->user,
		.identity = record->identity,
		.home = record->home,
		.uid = (uint32_t)record->uid,
		.gid = (uint32_t)record->gid,
		.n_remotes = job->remotes ? job->remotes->len : 0,
		.remotes = job->abi_remotes,
	};

	for (size_t i = 0; i < registry->count; i++) {
		struct gb_plugin *plugin = registry->plugins[i];
		const struct gb_storage_ops *ops = ops_of(plugin);
		struct plugin_mounts result = { .plugin = plugin };
		char error[512] = "";
		int r;

		if (!ops)
			continue;
		g_mutex_lock(&record->plugins->lock);
		r = ops->mounts(plugin->state, &user, &result.mounts, &result.count, error,
		                sizeof(error));
		g_mutex_unlock(&record->plugins->lock);
		if (r < 0) {
			gb_error("storage: plugin storage-%s gives no mounts for %s: %s",
			         plugin->descriptor->name, record->identity, error);
			continue;
		}
		g_array_append_val(job->results, result);
	}
	g_task_return_boolean(task, TRUE);
}

/*
 * Another sidecar serves @target, or something is mounted there: two
 * identities sharing one account (the direct spawner's session.user) share
 * its home, and a second mount on the same folder would hide the first
 * user's files behind the second's.
 */
static bool target_in_use(struct gb_storage *storage, const char *target,
                          const struct sidecar *self)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, storage->records);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct record *record = value;

		for (guint i = 0; i < record->sidecars->len; i++) {
			const struct sidecar *other = record->sidecars->pdata[i];

			if (other != self && !other->gone && sidecar_running(other) &&
			    strcmp(other->mount->target, target) == 0)
				return true;
		}
	}
	return gb_sidecar_mounted(target);
}

/*
 * Under the systemd spawner the session unit binds <home>/Cloud onto its
 * ~/Cloud (glassbox-session@.service's BindPaths=): only mounts inside it
 * reach the session.
 */
static bool below_cloud(const struct record *record, const char *target)
{
	g_autofree char *cloud = g_build_filename(record->home, GB_STORAGE_CLOUD_FOLDER, NULL);
	size_t length = strlen(cloud);

	return strncmp(target, cloud, length) == 0 && target[length] == '/' &&
	       !strchr(target + length + 1, '/');
}

static void add_sidecars(struct record *record, const struct plugin_mounts *result)
{
	for (size_t m = 0; m < result->count; m++) {
		struct sidecar *sidecar = g_new0(struct sidecar, 1);

		sidecar->record = record;
		sidecar->plugin = result->plugin;
		sidecar->mount = &result->mounts[m];
		g_ptr_array_add(record->sidecars, sidecar);
		if (sidecar->mount->problem || !sidecar->mount->argv || !sidecar->mount->target) {
			sidecar_set_problem(sidecar, "%s",
			                    sidecar->mount->problem
			                            ? sidecar->mount->problem
			                            : "the plugin gave no command");
			sidecar_fail(sidecar);
			continue;
		}
		if (record->storage->units_wanted &&
		    !below_cloud(record, sidecar->mount->target)) {
			sidecar_set_problem(
			        sidecar,
			        "its folder %s is not in ~/" GB_STORAGE_CLOUD_FOLDER
			        ": with the systemd spawner a session sees only that folder's "
			        "mounts (storage-rclone: mount_folder = " GB_STORAGE_CLOUD_FOLDER
			        ")",
			        sidecar->mount->target);
			sidecar_fail(sidecar);
			continue;
		}
		if (target_in_use(record->storage, sidecar->mount->target, sidecar)) {
			sidecar_set_problem(
			        sidecar,
			        "%s is mounted already, for another session: every user of "
			        "this box runs as the same account (session.user of the "
			        "direct spawner) and shares its home",
			        sidecar->mount->target);
			sidecar_fail(sidecar);
			continue;
		}
		if (sidecar_start(sidecar) < 0)
			sidecar_fail(sidecar);
	}
}

static void mounts_done(GObject *source, GAsyncResult *result, gpointer data)
{
	struct mounts_job *job = g_task_get_task_data(G_TASK(result));
	struct record *record = job->record;

	/* The record keeps what the plugins gave (freed with it, through them). */
	record->results = job->results;
	job->results = NULL;
	if (record->session) {
		for (guint i = 0; i < record->results->len; i++)
			add_sidecars(record,
			             &g_array_index(record->results, struct plugin_mounts, i));
		if (record->sidecars->len)
			gb_info("session %s: %u mount%s for %s", record->id, record->sidecars->len,
			        record->sidecars->len == 1 ? "" : "s", record->identity);
	}
	maybe_prepared(record);
	record_maybe_done(record);
	record_unref(record);
}

/* The user's remotes in the ABI's shape, pointing into @remotes. */
static struct gb_storage_remote *abi_remotes(GPtrArray *remotes)
{
	struct gb_storage_remote *out = g_new0(struct gb_storage_remote, remotes->len + 1);

	for (guint i = 0; i < remotes->len; i++) {
		const struct gb_user_remote *remote = remotes->pdata[i];

		out[i].name = remote->name;
		out[i].type = remote->type;
		out[i].n_params = remote->keys->len;
		out[i].keys = (const char *const *)remote->keys->pdata;
		out[i].values = (const char *const *)remote->values->pdata;
	}
	return out;
}

static bool has_mount_plugins(const struct plugin_set *set)
{
	for (size_t i = 0; set && i < set->registry.count; i++)
		if (ops_of(set->registry.plugins[i]))
			return true;
	return false;
}

/* A record of @identity whose session has ended and whose mounts still flush. */
static struct record *flushing_record(struct gb_storage *storage, const char *identity)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, storage->records);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct record *record = value;

		if (!record->session && strcmp(record->identity, identity) == 0)
			return record;
	}
	return NULL;
}

/* Ask the plugins for @record's mounts, on a task thread; mounts_done() follows. */
static void start_mounts(struct record *record)
{
	struct gb_storage *storage = record->storage;
	char error[512] = "";
	struct mounts_job *job = g_new0(struct mounts_job, 1);
	g_autoptr(GTask) task = NULL;

	job->record = record_ref(record);
	job->results = g_array_new(FALSE, TRUE, sizeof(struct plugin_mounts));
	if (gb_remotes_load(storage->daemon, record->identity, &job->remotes, error,
	                    sizeof(error)) < 0) {
		gb_error("storage: the remotes of %s are not mounted: %s", record->identity,
		         error);
		add_notice(storage, record->identity, "your own remotes are not mounted: %s",
		           error);
		job->remotes = NULL;
	}
	if (job->remotes) {
		job->abi_remotes = abi_remotes(job->remotes);
		gb_debug("storage: %s has %u remote%s of their own", record->identity,
		         job->remotes->len, job->remotes->len == 1 ? "" : "s");
	}
	task = g_task_new(NULL, NULL, mounts_done, NULL);
	g_task_set_task_data(task, job, mounts_job_free);
	g_task_run_in_thread(task, mounts_in_thread);
}

/* The previous mounts of @identity are gone: a session that waited for them mounts now. */
static void start_waiting(struct gb_storage *storage, const char *identity)
{
	GHashTableIter iter;
	gpointer value;

	if (flushing_record(storage, identity))
		return;
	g_hash_table_iter_init(&iter, storage->records);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct record *record = value;

		if (record->waiting && strcmp(record->identity, identity) == 0) {
			record->waiting = false;
			start_mounts(record);
		}
	}
}

/* A record for @session and its mounts; false: none (said why). */
static bool attach(struct gb_storage *storage, struct gb_daemon_session *session, bool preparing)
{
	char instance[GB_INSTANCE_NAME_MAX + 1] = "";
	struct record *record;

	if (!storage || !has_mount_plugins(storage->plugins))
		return false;
	if (storage->units_wanted &&
	    (!storage->units || !session->unit ||
	     gb_spawner_instance_from_unit(session->unit, instance) < 0)) {
		gb_warning("session %s of %s starts without storage mounts: %s", session->id,
		           session->identity,
		           storage->units ? "its unit has no instance name"
		                          : "glassboxd has no connection to systemd for sidecar "
		                            "units (the log at its start says why)");
		add_notice(storage, session->identity,
		           "your cloud storage is not mounted: this box cannot start its "
		           "sidecars (its log says why)");
		return false;
	}
	if (!storage->units_wanted && (session->uid == (uid_t)-1 || !session->home)) {
		gb_warning("session %s of %s: the spawner did not say who the session runs as; "
		           "it starts without storage mounts",
		           session->id, session->identity);
		add_notice(storage, session->identity,
		           "your cloud storage is not mounted: this box could not tell which "
		           "account your session runs as");
		return false;
	}
	record = g_new0(struct record, 1);
	record->refs = 1; /* the table's */
	record->storage = storage;
	record->plugins = plugin_set_ref(storage->plugins);
	g_strlcpy(record->id, session->id, sizeof(record->id));
	record->identity = g_strdup(session->identity);
	record->identity_namespace = g_strdup(session->identity_namespace);
	record->user = g_strdup(session->user);
	if (storage->units_wanted) {
		/* The sidecar's side of the session's ~/Cloud; systemd gives the uid. */
		g_strlcpy(record->instance, instance, sizeof(record->instance));
		record->home = g_build_filename(GB_STORAGE_ROOT_DIR, instance, NULL);
		record->uid = (uid_t)-1;
		record->gid = (gid_t)-1;
	} else {
		record->home = g_strdup(session->home);
		record->uid = session->uid;
		record->gid = session->gid;
	}
	record->session = session;
	record->preparing = preparing;
	record->sidecars = g_ptr_array_new_with_free_func((GDestroyNotify)sidecar_free);
	g_hash_table_insert(storage->records, record->id, record);

	if (flushing_record(storage, record->identity)) {
		/* Its folders are still the previous session's mounts, uploading. */
		record->waiting = true;
		gb_info("session %s of %s waits until the mounts of the user's previous session "
		        "have uploaded what was written",
		        record->id, record->identity);
		return true;
	}
	start_mounts(record);
	return true;
}

bool gb_storage_prepare(void *data, struct gb_daemon_session *session)
{
	struct gb_daemon *daemon = data;

	return attach(storage_of(daemon), session, true);
}

void gb_storage_adopted(void *data, struct gb_daemon_session *session)
{
	struct gb_daemon *daemon = data;
	struct gb_storage *storage = storage_of(daemon);

	if (!storage || !storage->units_wanted ||
	    g_hash_table_contains(storage->records, session->id))
		return;
	if (attach(storage, session, false))
		gb_info("session %s of %s: mounting its storage again (adopted from the previous "
		        "glassboxd)",
		        session->id, session->identity);
}

/* ---- readers ---- */

void gb_storage_foreach_mount(struct gb_daemon *daemon, const char *session_id, gb_mount_func func,
                              void *data)
{
	struct gb_storage *storage = storage_of(daemon);
	GHashTableIter iter;
	gpointer value;

	if (!storage)
		return;
	g_hash_table_iter_init(&iter, storage->records);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct record *record = value;

		if (session_id && strcmp(session_id, record->id) != 0)
			continue;
		for (guint i = 0; i < record->sidecars->len; i++) {
			const struct sidecar *sidecar = record->sidecars->pdata[i];
			struct gb_mount_info info = {
				.session_id = record->id,
				.identity = record->identity,
				.plugin = sidecar->plugin->descriptor->name,
				.name = sidecar->mount->name,
				.target = sidecar->mount->target,
				.problem = sidecar->problem,
				.state = sidecar->state,
			};

			if (sidecar->gone && sidecar->state != GB_MOUNT_FAILED)
				continue;
			if (sidecar->status_known) {
				info.files_waiting = sidecar->status.files_queued +
				                     sidecar->status.files_uploading +
				                     sidecar->status.upload_errors;
				info.bytes_uploading = sidecar->status.bytes_uploading;
				info.upload_errors = sidecar->status.upload_errors;
			}
			func(data, &info);
		}
	}
}

/* ---- start and stop ---- */

/* The storage plugins of the drop-ins, loaded now: a new set, or NULL (logged). */
static struct plugin_set *load_plugins(struct gb_daemon *daemon)
{
	const struct gb_config *config = daemon->config;
	struct plugin_set *set = g_new0(struct plugin_set, 1);
	int r;

	set->refs = 1;
	g_mutex_init(&set->lock);
	r = gb_plugin_registry_init(&set->registry, &daemon->host, config->plugins.plugin_dir);
	if (r == 0)
		r = gb_plugin_registry_load_dropins(&set->registry, config->plugins.vendor_dir,
		                                    config->plugins.config_dir,
		                                    GB_PLUGIN_KIND_BIT(GB_PLUGIN_KIND_STORAGE));
	if (r < 0) {
		plugin_set_unref(set);
		return NULL;
	}
	if (has_mount_plugins(set))
		gb_info("storage: %zu plugin%s; sessions get their mounts before they start",
		        set->registry.count, set->registry.count == 1 ? "" : "s");
	return set;
}

/* A reload reads the storage drop-ins again; running sessions keep their mounts. */
static void storage_reload_ended(void *data, bool applied)
{
	struct gb_daemon *daemon = data;
	struct gb_storage *storage = storage_of(daemon);
	struct plugin_set *set;

	if (!storage || !applied)
		return;
	set = load_plugins(daemon);
	if (!set) {
		gb_error("storage: the storage plugins were not reloaded (the line before says "
		         "why); the previous ones stay for new sessions");
		return;
	}
	plugin_set_unref(storage->plugins);
	storage->plugins = set;
}

int gb_storage_init(struct gb_daemon *daemon)
{
	struct gb_storage *storage = g_new0(struct gb_storage, 1);

	storage->daemon = daemon;
	storage->records =
	        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)record_unref);
	storage->notices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                         (GDestroyNotify)g_ptr_array_unref);
	storage->ready_timeout_s = gb_daemon_limit_from_environment(
	        "GB_TEST_STORAGE_READY_TIMEOUT_S", GB_STORAGE_READY_TIMEOUT_S, 3600);
	storage->flush_timeout_s = gb_daemon_limit_from_environment(
	        "GB_TEST_STORAGE_FLUSH_TIMEOUT_S", GB_STORAGE_FLUSH_TIMEOUT_S, 86400);
	daemon->storage = storage;
	if (daemon->config->server.spawner == GB_SPAWNER_SYSTEMD) {
		storage->units_wanted = true;
		/* Without it sessions start without mounts, and say why; glassboxd runs on. */
		storage->units = gb_sidecar_units_new(daemon->config->server.runtime_dir);
	}
	storage->plugins = load_plugins(daemon);
	if (!storage->plugins) {
		gb_error("a storage plugin failed to load; the line before says why");
		return -EINVAL;
	}
	return 0;
}

bool gb_storage_busy(struct gb_daemon *daemon)
{
	struct gb_storage *storage = storage_of(daemon);

	return storage && g_hash_table_size(storage->records) > 0;
}

void gb_storage_fini(struct gb_daemon *daemon)
{
	struct gb_storage *storage = storage_of(daemon);
	GHashTableIter iter;
	gpointer value;

	if (!storage)
		return;
	/* What is left after the main loop: stop it now; the caches keep the rest. */
	g_hash_table_iter_init(&iter, storage->records);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct record *record = value;

		for (guint i = 0; i < record->sidecars->len; i++) {
			struct sidecar *sidecar = record->sidecars->pdata[i];

			if (sidecar->unit) {
				gb_warning("storage: stopping unit %s at exit; what it had not "
				           "uploaded stays in its cache",
				           gb_sidecar_unit_name(sidecar->unit));
				gb_sidecar_unit_stop(sidecar->unit);
				continue;
			}
			if (!sidecar->process.pid)
				continue;
			gb_warning("storage: stopping mount '%s' of %s at exit; what it had not "
			           "uploaded stays in its cache",
			           sidecar->mount->name, record->identity);
			kill(sidecar->process.pid, SIGTERM);
			for (int tries = 0; tries < 50; tries++) {
				if (waitpid(sidecar->process.pid, NULL, WNOHANG) != 0)
					break;
				g_usleep(100 * 1000);
			}
			kill(sidecar->process.pid, SIGKILL);
			waitpid(sidecar->process.pid, NULL, WNOHANG);
		}
	}
	g_hash_table_destroy(storage->records);
	gb_sidecar_units_free(storage->units); /* sends the StopUnit calls */
	g_hash_table_destroy(storage->notices);
	plugin_set_unref(storage->plugins);
	g_free(storage);
	daemon->storage = NULL;
}
