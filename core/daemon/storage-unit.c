/* SPDX-License-Identifier: MIT */
/* Storage sidecars as transient systemd units (storage-unit.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <systemd/sd-bus.h>

#include "bus-glib.h"
#include "error.h"
#include "gb-build-config.h"
#include "log.h"
#include "storage-unit.h"
#include "systemd-bus.h"

#define UNIT_PREFIX       "glassbox-storage@"
#define UNIT_PATTERN      UNIT_PREFIX "*.service"
#define LEFTOVERS_MAX     10000
#define STOP_TIMEOUT_US   (10ULL * 1000 * 1000)
#define LEFTOVERS_WAIT_US (15 * G_USEC_PER_SEC)

struct gb_sidecar_units {
	sd_bus *bus;
	GSource *source;
	sd_bus_slot *job_removed;
	sd_bus_slot *unit_changes;
	sd_bus_slot *subscribe;
	char *secrets_dir;
	GHashTable *by_path; /* unit object path -> struct gb_sidecar_unit */
};

struct gb_sidecar_unit {
	struct gb_sidecar_units *units;
	char *name;
	char *path;
	char *job;
	char *job_result; /* a start job's result other than "done" */
	char *how;        /* how a failed unit ended, told once it is reset */
	char *secret_paths[GB_STORAGE_SECRETS_MAX];
	size_t n_secrets;
	sd_bus_slot *call;
	sd_bus_slot *stop_call;
	bool start_pending; /* until the start job's JobRemoved */
	bool ending;
	bool failed;
	gb_sidecar_unit_ended_func ended;
	void *data;
};

const char *gb_sidecar_unit_name(const struct gb_sidecar_unit *unit)
{
	return unit->name;
}

static void remove_secrets(struct gb_sidecar_unit *unit)
{
	for (size_t i = 0; i < unit->n_secrets; i++) {
		if (unit->secret_paths[i])
			unlink(unit->secret_paths[i]);
		g_free(unit->secret_paths[i]);
		unit->secret_paths[i] = NULL;
	}
	unit->n_secrets = 0;
}

void gb_sidecar_unit_free(struct gb_sidecar_unit *unit)
{
	if (!unit)
		return;
	if (unit->path)
		g_hash_table_remove(unit->units->by_path, unit->path);
	remove_secrets(unit);
	sd_bus_slot_unref(unit->call);
	sd_bus_slot_unref(unit->stop_call);
	g_free(unit->name);
	g_free(unit->path);
	g_free(unit->job);
	g_free(unit->job_result);
	g_free(unit->how);
	g_free(unit);
}

/* ---- the end ---- */

static void finish(struct gb_sidecar_unit *unit, const char *how)
{
	gb_sidecar_unit_ended_func ended = unit->ended;

	unit->ended = NULL;
	remove_secrets(unit);
	if (ended)
		ended(unit->data, how); /* may free unit */
}

static char *describe_end(const struct gb_sidecar_unit *unit, const struct gb_service_end *end)
{
	g_autofree char *detail = gb_service_end_detail(end);

	if (unit->job_result && (!end->result || strcmp(end->result, "success") == 0))
		return g_strdup_printf("failed to start (unit %s, job result %s; journalctl -u "
		                       "'%s' says why)",
		                       unit->name, unit->job_result, unit->name);
	if (!end->result || strcmp(end->result, "success") == 0)
		return g_strdup_printf("stopped (unit %s%s)", unit->name, detail ? detail : "");
	return g_strdup_printf("failed (unit %s, Result=%s%s; journalctl -u '%s' says why)",
	                       unit->name, end->result, detail ? detail : "", unit->name);
}

static int failure_reset(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct gb_sidecar_unit *unit = data;
	g_autofree char *how = g_steal_pointer(&unit->how);

	unit->call = sd_bus_slot_unref(unit->call);
	finish(unit, how);
	return 0;
}

static int got_end(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct gb_sidecar_unit *unit = data;
	struct gb_service_end end = { 0 };
	g_autofree char *how = NULL;
	int r;

	unit->call = sd_bus_slot_unref(unit->call);
	if (!sd_bus_message_is_method_error(reply, NULL))
		gb_bus_read_properties(reply, gb_service_end_read, &end);
	how = describe_end(unit, &end);
	g_free(end.result);
	if (!unit->failed) {
		finish(unit, how);
		return 0;
	}
	/* A failed unit stays loaded (and its name taken) until reset. */
	g_free(unit->how);
	unit->how = g_steal_pointer(&how);
	r = sd_bus_call_method_async(unit->units->bus, &unit->call, GB_SYSTEMD_SERVICE,
	                             GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER, "ResetFailedUnit",
	                             failure_reset, unit, "s", unit->name);
	if (r < 0) {
		how = g_steal_pointer(&unit->how);
		finish(unit, how);
	}
	return 0;
}

static void begin_end(struct gb_sidecar_unit *unit, const char *active_state)
{
	int r;

	if (unit->ending)
		return;
	unit->ending = true;
	unit->failed = unit->failed || (active_state && strcmp(active_state, "failed") == 0);
	unit->call = sd_bus_slot_unref(unit->call);
	r = sd_bus_call_method_async(unit->units->bus, &unit->call, GB_SYSTEMD_SERVICE, unit->path,
	                             GB_DBUS_PROPERTIES, "GetAll", got_end, unit, "s",
	                             GB_SYSTEMD_SERVICE_IF);
	if (r < 0) {
		struct gb_service_end end = { 0 };
		g_autofree char *how = describe_end(unit, &end);

		finish(unit, how);
	}
}

/* ---- following the units ---- */

static int unit_properties_changed(sd_bus_message *message, void *data, sd_bus_error *ret_error)
{
	struct gb_sidecar_units *units = data;
	const char *path = sd_bus_message_get_path(message);
	struct gb_sidecar_unit *unit = path ? g_hash_table_lookup(units->by_path, path) : NULL;
	g_autofree char *state = NULL;
	const char *iface;
	int r;

	if (!unit || unit->ending)
		return 0;
	r = sd_bus_message_read(message, "s", &iface);
	if (r < 0 || strcmp(iface, GB_SYSTEMD_UNIT) != 0)
		return 0;
	gb_bus_read_properties(message, gb_bus_read_active_state, &state);
	if (!state)
		return 0;
	gb_debug("unit %s: ActiveState=%s%s", unit->name, state,
	         unit->start_pending ? " (start job pending)" : "");
	if (strcmp(state, "failed") == 0 ||
	    (strcmp(state, "inactive") == 0 && !unit->start_pending))
		begin_end(unit, state);
	return 0;
}

static int job_removed(sd_bus_message *message, void *data, sd_bus_error *ret_error)
{
	struct gb_sidecar_units *units = data;
	const char *job, *name, *result;
	GHashTableIter iter;
	gpointer value;
	uint32_t id;

	if (sd_bus_message_read(message, "uoss", &id, &job, &name, &result) < 0 ||
	    strncmp(name, UNIT_PREFIX, strlen(UNIT_PREFIX)) != 0)
		return 0;
	g_hash_table_iter_init(&iter, units->by_path);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_sidecar_unit *unit = value;

		if (!unit->start_pending || strcmp(unit->name, name) != 0 ||
		    (unit->job && strcmp(unit->job, job) != 0))
			continue;
		unit->start_pending = false;
		gb_debug("unit %s: start job %u %s", name, id, result);
		if (strcmp(result, "done") != 0) {
			unit->job_result = g_strdup(result);
			begin_end(unit, NULL);
		}
		break;
	}
	return 0;
}

/* ---- start ---- */

static int unit_started(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct gb_sidecar_unit *unit = data;
	const char *job;

	unit->call = sd_bus_slot_unref(unit->call);
	if (sd_bus_message_is_method_error(reply, NULL)) {
		g_autofree char *how =
		        g_strdup_printf("was refused by systemd (StartTransientUnit "
		                        "%s: %s)",
		                        unit->name, gb_bus_error_text(reply, EIO));

		unit->ending = true;
		finish(unit, how);
		return 0;
	}
	if (sd_bus_message_read(reply, "o", &job) >= 0 && unit->start_pending) {
		g_free(unit->job);
		unit->job = g_strdup(job);
	}
	return 0;
}

static int append_exec(sd_bus_message *call, const char *property, char **argv)
{
	const char *flags[] = { "privileged", NULL };
	int r;

	r = sd_bus_message_open_container(call, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(call, "s", property);
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'v', "a(sasas)");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'a', "(sasas)");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'r', "sasas");
	if (r >= 0)
		r = sd_bus_message_append(call, "s", argv[0]);
	if (r >= 0)
		r = sd_bus_message_append_strv(call, argv);
	if (r >= 0)
		r = sd_bus_message_append_strv(call, (char **)flags);
	for (int i = 0; r >= 0 && i < 4; i++)
		r = sd_bus_message_close_container(call);
	return r;
}

static int append_credentials(sd_bus_message *call, const struct gb_sidecar_unit *unit)
{
	int r;

	r = sd_bus_message_open_container(call, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(call, "s", "LoadCredential");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'v', "a(ss)");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'a', "(ss)");
	for (size_t i = 0; r >= 0 && i < unit->n_secrets; i++) {
		char id[32];

		snprintf(id, sizeof(id), "secret%zu", i);
		r = sd_bus_message_append(call, "(ss)", id, unit->secret_paths[i]);
	}
	for (int i = 0; r >= 0 && i < 3; i++)
		r = sd_bus_message_close_container(call);
	return r;
}

static int append_success_status(sd_bus_message *call)
{
	int r;

	/* rclone ends with 143 on SIGTERM, after it unmounted: a clean stop. */
	r = sd_bus_message_open_container(call, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(call, "s", "SuccessExitStatus");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'v', "(aiai)");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'r', "aiai");
	if (r >= 0)
		r = sd_bus_message_append(call, "ai", 1, 143);
	if (r >= 0)
		r = sd_bus_message_append(call, "ai", 1, SIGTERM);
	for (int i = 0; r >= 0 && i < 3; i++)
		r = sd_bus_message_close_container(call);
	return r;
}

static int write_secrets(struct gb_sidecar_unit *unit, const struct gb_storage_mount *mount,
                         char *error, size_t error_size)
{
	for (size_t i = 0; i < mount->n_secrets && i < GB_STORAGE_SECRETS_MAX; i++) {
		const char *secret = mount->secrets[i] ? mount->secrets[i] : "";
		g_autoptr(GError) gerror = NULL;

		if (strlen(secret) > GB_STORAGE_SECRET_MAX) {
			gb_error_set(error, error_size, "its secret %zu is larger than %d bytes",
			             i, GB_STORAGE_SECRET_MAX);
			return -E2BIG;
		}
		unit->secret_paths[i] = g_strdup_printf("%s/%s.secret%zu",
		                                        unit->units->secrets_dir, unit->name, i);
		unit->n_secrets = i + 1;
		if (!g_file_set_contents_full(unit->secret_paths[i], secret, -1,
		                              G_FILE_SET_CONTENTS_CONSISTENT, 0600, &gerror)) {
			gb_error_set(error, error_size,
			             "cannot write its secrets for the unit: %s", gerror->message);
			return -EIO;
		}
	}
	return 0;
}

static int call_start(struct gb_sidecar_unit *unit, const char *instance,
                      const struct gb_storage_mount *mount, unsigned ready_timeout_s)
{
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *call = NULL;
	g_autoptr(GPtrArray) start = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *description = NULL;
	char *stop[] = { (char *)GB_STORAGE_SIDECAR_HELPER, NULL, NULL, NULL };
	g_autofree char *user_option = g_strdup_printf("--user=%s", instance);
	g_autofree char *unmount_option = g_strdup_printf("--unmount=%s", mount->target);
	int r;

	g_ptr_array_add(start, g_strdup(GB_STORAGE_SIDECAR_HELPER));
	g_ptr_array_add(start, g_strdup(user_option));
	g_ptr_array_add(start, g_strdup_printf("--target=%s", mount->target));
	g_ptr_array_add(start, g_strdup_printf("--secrets=%zu", unit->n_secrets));
	g_ptr_array_add(start, g_strdup("--"));
	for (size_t i = 0; mount->argv[i]; i++)
		g_ptr_array_add(start, g_strdup(mount->argv[i]));
	g_ptr_array_add(start, NULL);
	stop[1] = user_option;
	stop[2] = unmount_option;
	description = g_strdup_printf("Glassbox storage mount '%s' of %s", mount->name, instance);

	r = sd_bus_message_new_method_call(unit->units->bus, &call, GB_SYSTEMD_SERVICE,
	                                   GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER,
	                                   "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(call, "ss", unit->name, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(call, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(
		        call, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "Description", "s", description,
		        "Type", "s", "notify", "NotifyAccess", "s", "main", "DynamicUser", "b", 1,
		        "User", "s", instance, "TimeoutStartUSec", "t",
		        (uint64_t)ready_timeout_s * 1000000 + 5000000, "TimeoutStopUSec", "t",
		        STOP_TIMEOUT_US, "Restart", "s", "no");
	if (r >= 0)
		r = append_exec(call, "ExecStartEx", (char **)start->pdata);
	if (r >= 0)
		r = append_exec(call, "ExecStopPostEx", stop);
	if (r >= 0 && unit->n_secrets)
		r = append_credentials(call, unit);
	if (r >= 0)
		r = append_success_status(call);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (r >= 0)
		r = sd_bus_message_append(call, "a(sa(sv))", 0);
	if (r >= 0)
		r = sd_bus_call_async(unit->units->bus, &unit->call, call, unit_started, unit, 0);
	return r;
}

struct gb_sidecar_unit *gb_sidecar_unit_start(struct gb_sidecar_units *units, const char *instance,
                                              const struct gb_storage_mount *mount,
                                              unsigned ready_timeout_s,
                                              gb_sidecar_unit_ended_func ended, void *data,
                                              char *error, size_t error_size)
{
	struct gb_sidecar_unit *unit = g_new0(struct gb_sidecar_unit, 1);
	int r;

	unit->units = units;
	unit->name = g_strdup_printf(UNIT_PREFIX "%s:%s.service", instance, mount->name);
	r = sd_bus_path_encode(GB_SYSTEMD_UNIT_PATH, unit->name, &unit->path);
	if (r < 0) {
		gb_error_set(error, error_size, "cannot name its unit: %s", strerror(-r));
		goto fail;
	}
	if (g_hash_table_contains(units->by_path, unit->path)) {
		gb_error_set(error, error_size, "its unit %s runs already", unit->name);
		g_clear_pointer(&unit->path, g_free);
		goto fail;
	}
	r = write_secrets(unit, mount, error, error_size);
	if (r < 0)
		goto fail;
	unit->start_pending = true;
	unit->ended = ended;
	unit->data = data;
	g_hash_table_insert(units->by_path, unit->path, unit);
	r = call_start(unit, instance, mount, ready_timeout_s);
	if (r < 0) {
		gb_error_set(error, error_size, "cannot ask systemd to start %s: %s", unit->name,
		             strerror(-r));
		goto fail;
	}
	return unit;
fail:
	gb_sidecar_unit_free(unit);
	return NULL;
}

static int stop_answered(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct gb_sidecar_unit *unit = data;

	unit->stop_call = sd_bus_slot_unref(unit->stop_call);
	if (!sd_bus_message_is_method_error(reply, NULL))
		return 0;
	gb_warning("storage: cannot stop unit %s: %s", unit->name, gb_bus_error_text(reply, EIO));
	/* Not loaded (gone already): nothing will change any more. */
	if (sd_bus_message_is_method_error(reply, "org.freedesktop.systemd1.NoSuchUnit"))
		begin_end(unit, "inactive");
	return 0;
}

void gb_sidecar_unit_stop(struct gb_sidecar_unit *unit)
{
	int r;

	if (unit->ending)
		return;
	unit->stop_call = sd_bus_slot_unref(unit->stop_call);
	r = sd_bus_call_method_async(unit->units->bus, &unit->stop_call, GB_SYSTEMD_SERVICE,
	                             GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER, "StopUnit",
	                             stop_answered, unit, "ss", unit->name, "replace");
	if (r < 0)
		gb_error("storage: cannot ask systemd to stop %s: %s", unit->name, strerror(-r));
}

void gb_sidecar_unit_kill(struct gb_sidecar_unit *unit)
{
	int r = sd_bus_call_method_async(unit->units->bus, NULL, GB_SYSTEMD_SERVICE,
	                                 GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER, "KillUnit", NULL,
	                                 NULL, "ssi", unit->name, "all", SIGKILL);

	if (r < 0)
		gb_error("storage: cannot ask systemd to kill %s: %s", unit->name, strerror(-r));
}

/* ---- the connection ---- */

/* Loaded, not inactive: what an earlier glassboxd left (any state but "inactive"). */
static const char *const LEFT_STATES[] = { "active",    "activating", "deactivating",
	                                   "reloading", "failed",     NULL };

static void stop_leftover(void *data, const char *name, const char *active_state)
{
	struct gb_sidecar_units *units = data;

	if (strcmp(active_state, "failed") == 0) {
		sd_bus_call_method(units->bus, GB_SYSTEMD_SERVICE, GB_SYSTEMD_PATH,
		                   GB_SYSTEMD_MANAGER, "ResetFailedUnit", NULL, NULL, "s", name);
		return;
	}
	gb_warning("storage: stopping %s, which an earlier glassboxd left %s; what it had not "
	           "uploaded stays in its cache and uploads when the mount runs again",
	           name, active_state);
	sd_bus_call_method(units->bus, GB_SYSTEMD_SERVICE, GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER,
	                   "StopUnit", NULL, NULL, "ss", name, "replace");
}

/*
 * What an earlier glassboxd left: its records are gone, so go the units,
 * before a session it left running is given its mounts again under the same
 * unit names (bounded wait: rclone unmounts on SIGTERM, systemd kills it
 * after the unit's TimeoutStopSec=).
 */
static void stop_leftovers(struct gb_sidecar_units *units)
{
	gint64 deadline = g_get_monotonic_time() + LEFTOVERS_WAIT_US;

	if (gb_systemd_list_units(units->bus, LEFT_STATES, UNIT_PATTERN, LEFTOVERS_MAX,
	                          "the storage sidecar units", stop_leftover, units) <= 0)
		return;
	while (g_get_monotonic_time() < deadline &&
	       gb_systemd_list_units(units->bus, LEFT_STATES, UNIT_PATTERN, LEFTOVERS_MAX,
	                             "the storage sidecar units", NULL, NULL) > 0)
		g_usleep(200 * 1000);
	/* The failed ones, reset; any still there, asked again. */
	gb_systemd_list_units(units->bus, LEFT_STATES, UNIT_PATTERN, LEFTOVERS_MAX,
	                      "the storage sidecar units", stop_leftover, units);
}

/* A slot needs a callback: sd-bus calls it, NULL or not, when the answer comes. */
static int subscribed(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct gb_sidecar_units *units = data;

	units->subscribe = sd_bus_slot_unref(units->subscribe);
	if (sd_bus_message_is_method_error(reply, NULL))
		gb_warning("storage: systemd refused to send unit changes (Subscribe): %s; a "
		           "sidecar's end may go unseen",
		           gb_bus_error_text(reply, EIO));
	return 0;
}

/* <runtime_dir>/storage/: 0700, root's, and empty. */
static int prepare_secrets_dir(const char *path)
{
	struct dirent *entry;
	struct stat st;
	DIR *dir;
	int fd;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || fchmod(fd, 0700) < 0) {
		close(fd);
		return -EPERM;
	}
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((entry = readdir(dir)))
		if (entry->d_name[0] != '.')
			unlinkat(dirfd(dir), entry->d_name, 0);
	closedir(dir);
	return 0;
}

struct gb_sidecar_units *gb_sidecar_units_new(const char *runtime_dir)
{
	struct gb_sidecar_units *units = g_new0(struct gb_sidecar_units, 1);
	int r;

	units->by_path = g_hash_table_new(g_str_hash, g_str_equal);
	units->secrets_dir = g_build_filename(runtime_dir, "storage", NULL);
	r = prepare_secrets_dir(units->secrets_dir);
	if (r < 0) {
		gb_error("storage: %s must be a folder of glassboxd's only: %s",
		         units->secrets_dir, strerror(-r));
		goto fail;
	}
	r = sd_bus_open_system(&units->bus);
	if (r < 0) {
		gb_error("storage: cannot connect to the system bus for sidecar units: %s",
		         strerror(-r));
		goto fail;
	}
	r = gb_sd_bus_attach(units->bus, NULL, &units->source);
	if (r >= 0)
		r = gb_systemd_follow(units->bus, &units->job_removed, job_removed,
		                      &units->unit_changes, unit_properties_changed,
		                      &units->subscribe, subscribed, units);
	if (r < 0) {
		gb_error("storage: cannot follow systemd's units: %s", strerror(-r));
		goto fail;
	}
	stop_leftovers(units);
	return units;
fail:
	gb_sidecar_units_free(units);
	errno = r < 0 ? -r : EIO;
	return NULL;
}

void gb_sidecar_units_free(struct gb_sidecar_units *units)
{
	GHashTableIter iter;
	gpointer value;

	if (!units)
		return;
	g_hash_table_iter_init(&iter, units->by_path);
	while (units->bus && g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_sidecar_unit *unit = value;

		gb_warning("storage: stopping %s at exit; what it had not uploaded stays in its "
		           "cache",
		           unit->name);
		sd_bus_call_method_async(units->bus, NULL, GB_SYSTEMD_SERVICE, GB_SYSTEMD_PATH,
		                         GB_SYSTEMD_MANAGER, "StopUnit", NULL, NULL, "ss",
		                         unit->name, "replace");
	}
	sd_bus_slot_unref(units->job_removed);
	sd_bus_slot_unref(units->unit_changes);
	sd_bus_slot_unref(units->subscribe);
	if (units->bus)
		sd_bus_flush(units->bus);
	gb_sd_bus_detach(units->source);
	sd_bus_flush_close_unref(units->bus);
	g_hash_table_destroy(units->by_path);
	g_free(units->secrets_dir);
	g_free(units);
}
