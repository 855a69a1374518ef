/* SPDX-License-Identifier: MIT */
/*
 * The "systemd" spawner: every session is glassbox-session@<instance>.service,
 * started and stopped over sd-bus (org.freedesktop.systemd1 on the system
 * bus), so an operator sees it in `systemctl`, systemd runs it as the user
 * (DynamicUser= for identities without an account) with the sandbox and the
 * resource limits, and it outlives a restart of glassboxd.
 *
 * A start, all asynchronous on the main loop:
 *   1. <runtime_dir>/sessions/<instance>.params (0600): what the session
 *      needs (its id, glassbox.conf, its socket paths); the unit loads it as
 *      a credential. <instance>.json next to it is glassboxd's own record,
 *      read back by the next glassboxd to adopt the running unit.
 *   2. A match on the unit's PropertiesChanged, then SetUnitProperties
 *      (runtime): MemoryMax, CPUQuotaPerSecUSec, TasksMax from session.*.
 *   3. StartUnit(name, "replace"): the job's JobRemoved says whether it
 *      started; ActiveState "active" (Type=notify: the session said READY=1)
 *      makes the session ready; "failed" or "inactive" ends it, with the
 *      unit's Result, and ResetFailedUnit clears a failure.
 * A stop is StopUnit(name, "replace"); systemd escalates to SIGKILL after
 * the unit's TimeoutStopSec=.
 *
 * Instance names: see spawner-names.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <systemd/sd-bus.h>

#include "bus-glib.h"
#include "daemon.h"
#include "sessions.h"
#include "error.h"
#include "log.h"
#include "session-params.h"
#include "spawner.h"
#include "storage.h"
#include "systemd-bus.h"

#define UNIT_PATTERN "glassbox-session@*.service"

/* The unit file reads its parameters from here (LoadCredential=). */
#define REQUIRED_RUNTIME_DIR "/run/glassbox"
/* Sessions never run as root or a system service's account. */
#define SESSION_UID_MIN 1000
#define NOBODY_UID      65534

/* The units' StateDirectory=glassbox-homes/%i (DynamicUser=: under private/). */
#define HOMES_DIR "/var/lib/private/glassbox-homes"

#define STATE_VERSION  1
#define STATE_SIZE_MAX 65536
#define ADOPT_MAX      100000 /* units listed at start */

struct systemd_spawner {
	struct gb_daemon *daemon;
	sd_bus *bus;
	GSource *source;
	sd_bus_slot *job_removed;
	sd_bus_slot *unit_changes; /* PropertiesChanged of every unit */
	sd_bus_slot *subscribe;
	GHashTable *by_path; /* unit object path -> struct systemd_session */
	/* Instances whose unit ran at start without a state file of ours: not
	 * ours to reuse until someone stops them. */
	GHashTable *foreign;
};

struct systemd_session {
	struct gb_daemon_session *session;
	struct systemd_spawner *spawner;
	char instance[GB_INSTANCE_NAME_MAX + 1];
	char *unit_path; /* its key in by_path once watched */
	char *params_path;
	char *state_path;
	char *job;         /* the start job, until JobRemoved */
	char *job_result;  /* a start job's result other than "done" */
	sd_bus_slot *call; /* the method call in flight, if any */
	sd_bus_slot *stop_call;
	sd_bus_slot *pid_call; /* GetAll: MainPID and UID, before the session is ready */
	bool wrote_files;      /* the .params and .json are this session's */
	/* From the first call of a start until its job's JobRemoved: the unit's
	 * state before the job (inactive, or failed from an earlier run) is sent
	 * as soon as SetUnitProperties touches it, and means nothing yet. */
	bool start_pending;
	bool ending; /* asking for the unit's Result before ending */
	bool failed; /* ActiveState went "failed": reset it after */
};

static struct systemd_session *systemd_of(struct gb_daemon_session *session)
{
	return session->spawner_data;
}

/* ---- ending ---- */

/* "failed (unit glassbox-session@alice.service, Result=exit-code, status 3)" */
static char *describe_end(struct systemd_session *ss, const char *active_state,
                          const struct gb_service_end *end)
{
	const char *unit = ss->session->unit;
	const char *result = end->result;
	g_autofree char *detail = gb_service_end_detail(end);

	if (ss->job_result && (!result || strcmp(result, "success") == 0))
		return g_strdup_printf("failed to start (unit %s, job result %s)", unit,
		                       ss->job_result);
	if (!result)
		return g_strdup_printf("ended (unit %s is %s)", unit, active_state);
	if (strcmp(result, "success") == 0)
		return g_strdup_printf("exited (unit %s, Result=success%s)", unit,
		                       detail ? detail : "");
	return g_strdup_printf("failed (unit %s, Result=%s%s)", unit, result,
	                       detail ? detail : "");
}

static void finish(struct systemd_session *ss, const char *how)
{
	gb_spawner_events(ss->session->daemon)
	        ->ended(ss->session, how); /* frees ss through release() */
}

static int got_service_properties(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct systemd_session *ss = data;
	struct gb_service_end end = { 0 };
	g_autofree char *how = NULL;
	int r;

	ss->call = sd_bus_slot_unref(ss->call);
	if (sd_bus_message_is_method_error(reply, NULL)) {
		gb_debug("unit %s: cannot read its Result: %s", ss->session->unit,
		         gb_bus_error_text(reply, EIO));
	} else {
		r = gb_bus_read_properties(reply, gb_service_end_read, &end);
		if (r < 0)
			gb_debug("unit %s: cannot parse its properties: %s", ss->session->unit,
			         strerror(-r));
	}
	how = describe_end(ss, ss->failed ? "failed" : "inactive", &end);
	g_free(end.result);
	finish(ss, how);
	return 0;
}

/* The unit is down (or never came up): learn why, then end the session. */
static void begin_end(struct systemd_session *ss, const char *active_state)
{
	int r;

	if (ss->ending)
		return;
	ss->ending = true;
	ss->failed = ss->failed || (active_state && strcmp(active_state, "failed") == 0);
	ss->call = sd_bus_slot_unref(ss->call);
	r = sd_bus_call_method_async(ss->spawner->bus, &ss->call, GB_SYSTEMD_SERVICE,
	                             ss->unit_path, GB_DBUS_PROPERTIES, "GetAll",
	                             got_service_properties, ss, "s", GB_SYSTEMD_SERVICE_IF);
	if (r < 0) {
		struct gb_service_end none = { 0 };
		g_autofree char *how =
		        describe_end(ss, active_state ? active_state : "inactive", &none);

		finish(ss, how);
	}
}

/* ---- the main pid ---- */

/*
 * The session's sockets are in a folder its user can write: glassboxd trusts
 * only a socket served by the unit's main process (session-socket.h), so the
 * session is ready once systemd has said which process that is.
 */
static int got_main_pid(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct systemd_session *ss = data;
	struct gb_daemon_session *session = ss->session;
	uint32_t pid = 0, uid = UINT32_MAX;
	int r = -EIO;

	ss->pid_call = sd_bus_slot_unref(ss->pid_call);
	if (sd_bus_message_is_method_error(reply, NULL)) {
		gb_warning("unit %s: cannot read its MainPID: %s", session->unit,
		           gb_bus_error_text(reply, EIO));
	} else {
		r = sd_bus_message_enter_container(reply, 'a', "{sv}");
		/* Bounded by the message: every round consumes one entry. */
		while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
			const char *name;

			r = sd_bus_message_read(reply, "s", &name);
			if (r < 0)
				break;
			if (strcmp(name, "MainPID") == 0)
				r = sd_bus_message_read(reply, "v", "u", &pid);
			else if (strcmp(name, "UID") == 0)
				r = sd_bus_message_read(reply, "v", "u", &uid);
			else
				r = sd_bus_message_skip(reply, "v");
			if (r < 0)
				break;
			r = sd_bus_message_exit_container(reply);
		}
	}
	if (ss->ending || session->state != GB_SESSION_STARTING)
		return 0;
	if (r < 0 || pid == 0) {
		gb_warning("session %s of user '%s': unit %s has no main process that glassboxd "
		           "could check its sockets against; stopping it",
		           session->id, session->user, session->unit);
		gb_spawner_events(session->daemon)
		        ->failed(session, "the session's process could not be identified");
		return 0;
	}
	session->pid = (pid_t)pid;
	session->uid = uid == UINT32_MAX ? (uid_t)-1 : (uid_t)uid;
	gb_debug("unit %s: MainPID=%u UID=%d", session->unit, pid,
	         uid == UINT32_MAX ? -1 : (int)uid);
	gb_spawner_events(session->daemon)->ready(session);
	return 0;
}

/* The unit is up: ready as soon as its MainPID (and UID) are known. */
static void ready_with_main_pid(struct systemd_session *ss)
{
	struct gb_daemon_session *session = ss->session;
	int r;

	if (ss->ending || session->state != GB_SESSION_STARTING || ss->pid_call)
		return;
	if (session->pid > 0) {
		gb_spawner_events(session->daemon)->ready(session);
		return;
	}
	r = sd_bus_call_method_async(ss->spawner->bus, &ss->pid_call, GB_SYSTEMD_SERVICE,
	                             ss->unit_path, GB_DBUS_PROPERTIES, "GetAll", got_main_pid, ss,
	                             "s", GB_SYSTEMD_SERVICE_IF);
	if (r < 0) {
		gb_warning("session %s of user '%s': cannot ask systemd for the MainPID of %s: "
		           "%s; stopping it",
		           session->id, session->user, session->unit, strerror(-r));
		gb_spawner_events(session->daemon)
		        ->failed(session, "the session's process could not be identified");
	}
}

/* ---- the unit's state ---- */

static void active_state_changed(struct systemd_session *ss, const char *state)
{
	struct gb_daemon_session *session = ss->session;

	gb_debug("unit %s: ActiveState=%s%s", session->unit, state,
	         ss->start_pending ? " (start job pending)" : "");
	if (strcmp(state, "active") == 0) {
		if (session->state == GB_SESSION_STARTING)
			ready_with_main_pid(ss);
	} else if ((strcmp(state, "failed") == 0 || strcmp(state, "inactive") == 0) &&
	           !ss->start_pending) {
		begin_end(ss, state);
	}
}

static int unit_properties_changed(sd_bus_message *message, void *data, sd_bus_error *ret_error)
{
	struct systemd_spawner *spawner = data;
	const char *path = sd_bus_message_get_path(message);
	struct systemd_session *ss = path ? g_hash_table_lookup(spawner->by_path, path) : NULL;
	g_autofree char *active_state = NULL;
	const char *iface;
	int r;

	if (!ss)
		return 0;
	r = sd_bus_message_read(message, "s", &iface);
	if (r < 0 || strcmp(iface, GB_SYSTEMD_UNIT) != 0)
		return 0;
	gb_bus_read_properties(message, gb_bus_read_active_state, &active_state);
	if (active_state && !ss->ending)
		active_state_changed(ss, active_state);
	return 0;
}

static int job_removed(sd_bus_message *message, void *data, sd_bus_error *ret_error)
{
	struct systemd_spawner *spawner = data;
	const char *job, *unit, *result;
	GHashTableIter iter;
	gpointer value;
	uint32_t id;

	if (sd_bus_message_read(message, "uoss", &id, &job, &unit, &result) < 0)
		return 0;
	if (strncmp(unit, "glassbox-session@", strlen("glassbox-session@")) != 0)
		return 0;
	g_hash_table_iter_init(&iter, spawner->daemon->sessions->table);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_daemon_session *session = value;
		struct systemd_session *ss = systemd_of(session);

		/* By path; by name while StartUnit's answer (the path) is not in. */
		if (!ss || !ss->start_pending ||
		    (ss->job ? strcmp(ss->job, job) != 0 : strcmp(session->unit, unit) != 0))
			continue;
		g_clear_pointer(&ss->job, g_free);
		ss->start_pending = false;
		gb_debug("unit %s: start job %u %s", unit, id, result);
		if (strcmp(result, "done") == 0) {
			/* Type=notify: the job is done once the session said READY=1. */
			if (session->state == GB_SESSION_STARTING && !ss->ending)
				ready_with_main_pid(ss);
		} else {
			gb_warning("session %s of user '%s': the start job of %s ended with "
			           "result '%s'",
			           session->id, session->user, unit, result);
			ss->job_result = g_strdup(result);
			/* The unit may never change state (a dependency failed, the
			 * job was cancelled): end here; a change may beat us to it. */
			begin_end(ss, NULL);
		}
		break;
	}
	return 0;
}

/* ---- start ---- */

static int unit_started(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct systemd_session *ss = data;
	struct gb_daemon_session *session = ss->session;
	const char *job;

	ss->call = sd_bus_slot_unref(ss->call);
	if (sd_bus_message_is_method_error(reply, NULL)) {
		g_autofree char *how =
		        g_strdup_printf("was refused by systemd (StartUnit %s: %s)", session->unit,
		                        gb_bus_error_text(reply, EIO));

		gb_error("session %s of user '%s': cannot start %s: %s", session->id,
		         session->user, session->unit, gb_bus_error_text(reply, EIO));
		ss->ending = true;
		finish(ss, how);
		return 0;
	}
	if (sd_bus_message_read(reply, "o", &job) >= 0) {
		g_free(ss->job);
		ss->job = g_strdup(job);
	}
	return 0;
}

static int start_unit(struct systemd_session *ss)
{
	return sd_bus_call_method_async(ss->spawner->bus, &ss->call, GB_SYSTEMD_SERVICE,
	                                GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER, "StartUnit",
	                                unit_started, ss, "ss", ss->session->unit, "replace");
}

static int properties_set(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct systemd_session *ss = data;
	struct gb_daemon_session *session = ss->session;
	int r;

	ss->call = sd_bus_slot_unref(ss->call);
	if (sd_bus_message_is_method_error(reply, NULL)) {
		/* The limits the operator asked for must hold: do not start without. */
		g_autofree char *how =
		        g_strdup_printf("was refused by systemd (SetUnitProperties %s: %s)",
		                        session->unit, gb_bus_error_text(reply, EIO));

		gb_error("session %s of user '%s': cannot set the resource limits of %s "
		         "(session.memory_max, cpu_quota_percent, tasks_max): %s",
		         session->id, session->user, session->unit, gb_bus_error_text(reply, EIO));
		ss->ending = true;
		finish(ss, how);
		return 0;
	}
	r = start_unit(ss);
	if (r < 0) {
		g_autofree char *how = g_strdup_printf("could not be asked for (StartUnit %s: %s)",
		                                       session->unit, strerror(-r));

		ss->ending = true;
		finish(ss, how);
	}
	return 0;
}

/*
 * Every start sets all three: a runtime property stays until the next
 * boot, so a limit an earlier session had must be lifted explicitly when
 * the configuration no longer asks for it (0 becomes "infinity").
 */
static int set_limits(struct systemd_session *ss)
{
	const struct gb_session_config *config = &ss->session->daemon->config->session;
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *call = NULL;
	uint64_t memory = config->memory_max ? config->memory_max : UINT64_MAX;
	uint64_t cpu = config->cpu_quota_percent ? (uint64_t)config->cpu_quota_percent * 10000
	                                         : UINT64_MAX;
	uint64_t tasks = config->tasks_max ? (uint64_t)config->tasks_max : UINT64_MAX;
	int r;

	r = sd_bus_message_new_method_call(ss->spawner->bus, &call, GB_SYSTEMD_SERVICE,
	                                   GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER,
	                                   "SetUnitProperties");
	if (r < 0)
		return r;
	r = sd_bus_message_append(call, "sb", ss->session->unit, 1 /* runtime */);
	if (r < 0)
		return r;
	r = sd_bus_message_append(call, "a(sv)", 3, "MemoryMax", "t", memory, "CPUQuotaPerSecUSec",
	                          "t", cpu, "TasksMax", "t", tasks);
	if (r < 0)
		return r;
	return sd_bus_call_async(ss->spawner->bus, &ss->call, call, properties_set, ss, 0);
}

/* Write @text to @path, 0600 from the first byte, atomically. */
static int write_private_file(const char *path, const char *text)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
	                              &error)) {
		gb_error("cannot write %s: %s", path, error->message);
		return -EIO;
	}
	return 0;
}

static char *state_json(struct gb_daemon_session *session, const char *instance)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "version");
	json_builder_add_int_value(builder, STATE_VERSION);
	json_builder_set_member_name(builder, "id");
	json_builder_add_string_value(builder, session->id);
	json_builder_set_member_name(builder, "user");
	json_builder_add_string_value(builder, session->user);
	json_builder_set_member_name(builder, "namespace");
	json_builder_add_string_value(builder, session->identity_namespace);
	json_builder_set_member_name(builder, "system_account");
	json_builder_add_boolean_value(builder, session->system_account);
	json_builder_set_member_name(builder, "instance");
	json_builder_add_string_value(builder, instance);
	json_builder_set_member_name(builder, "unit");
	json_builder_add_string_value(builder, session->unit);
	json_builder_set_member_name(builder, "signal_socket");
	json_builder_add_string_value(builder, session->socket_path);
	json_builder_set_member_name(builder, "control");
	json_builder_add_string_value(builder, session->control_path);
	json_builder_set_member_name(builder, "started_us");
	json_builder_add_int_value(builder, session->started_realtime_us);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

/* A system account may run a session when it is a person's: not root, not a service's. */
static int check_system_account(const char *user, char *error, size_t error_size)
{
	struct passwd entry, *found = NULL;
	char buffer[4096];
	int r;

	r = getpwnam_r(user, &entry, buffer, sizeof(buffer), &found);
	if (r != 0 || !found) {
		gb_error_set(error, error_size, "no such system account (%s)",
		             r ? strerror(r) : "getpwnam found none");
		return -ENOENT;
	}
	if (entry.pw_uid < SESSION_UID_MIN || entry.pw_uid == NOBODY_UID) {
		gb_error_set(error, error_size,
		             "uid %u is a system service's or root's; sessions run as uid %d and "
		             "above only",
		             (unsigned)entry.pw_uid, SESSION_UID_MIN);
		return -EPERM;
	}
	return 0;
}

static void set_paths(struct gb_daemon_session *session, struct systemd_session *ss)
{
	const char *runtime_dir = session->daemon->config->server.runtime_dir;
	g_autofree char *base = NULL;

	g_free(session->unit); /* systemd_account() may have set it */
	session->unit = g_strdup_printf("glassbox-session@%s.service", ss->instance);
	base = g_build_filename(GB_SESSION_UNIT_RUNTIME_DIR, ss->instance, NULL);
	if (!session->socket_path)
		session->socket_path = g_build_filename(base, "signal.sock", NULL);
	if (!session->control_path)
		session->control_path = g_build_filename(base, "control.sock", NULL);
	ss->params_path = g_strdup_printf("%s/sessions/%s.params", runtime_dir, ss->instance);
	ss->state_path = g_strdup_printf("%s/sessions/%s.json", runtime_dir, ss->instance);
	/* The unit's StateDirectory=glassbox-homes/%i, its HOME. */
	if (!session->home)
		session->home = g_strdup_printf("/var/lib/glassbox-homes/%s", ss->instance);
}

static struct systemd_session *systemd_session_new(struct gb_daemon_session *session,
                                                   const char *instance)
{
	struct systemd_session *ss = g_new0(struct systemd_session, 1);

	ss->session = session;
	ss->spawner = session->daemon->sessions->spawner_state;
	g_strlcpy(ss->instance, instance, sizeof(ss->instance));
	session->spawner_data = ss;
	set_paths(session, ss);
	return ss;
}

/* Follow the unit's changes (the one match on every unit's was installed at init). */
static int watch_unit(struct systemd_session *ss)
{
	int r = sd_bus_path_encode(GB_SYSTEMD_UNIT_PATH, ss->session->unit, &ss->unit_path);

	if (r < 0)
		return r;
	g_hash_table_insert(ss->spawner->by_path, ss->unit_path, ss);
	return 0;
}

static int got_active_state(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct systemd_session *ss = data;
	const char *state;

	ss->call = sd_bus_slot_unref(ss->call);
	if (sd_bus_message_is_method_error(reply, NULL)) {
		gb_warning("unit %s: cannot read its ActiveState: %s", ss->session->unit,
		           gb_bus_error_text(reply, EIO));
		return 0;
	}
	if (sd_bus_message_read(reply, "v", "s", &state) >= 0 && !ss->ending)
		active_state_changed(ss, state);
	return 0;
}

/* An adopted unit may have changed between the listing and the match: ask once. */
static void query_active_state(struct systemd_session *ss)
{
	int r = sd_bus_call_method_async(
	        ss->spawner->bus, &ss->call, GB_SYSTEMD_SERVICE, ss->unit_path, GB_DBUS_PROPERTIES,
	        "Get", got_active_state, ss, "ss", GB_SYSTEMD_UNIT, "ActiveState");

	if (r < 0)
		gb_warning("unit %s: cannot ask for its ActiveState: %s", ss->session->unit,
		           strerror(-r));
}

/* The session (any state) other than @except that has @unit, or NULL. */
static struct gb_daemon_session *unit_owner(struct gb_daemon *daemon, const char *unit,
                                            const struct gb_daemon_session *except)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, daemon->sessions->table);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_daemon_session *session = value;

		if (session != except && session->unit && strcmp(session->unit, unit) == 0)
			return session;
	}
	return NULL;
}

static bool instance_in_use(struct gb_daemon *daemon, const char *unit)
{
	return unit_owner(daemon, unit, NULL) != NULL;
}

/*
 * 0 when no other session has @session's unit, else -EBUSY after logging
 * whose it is. A session that waited for its storage is in the table already.
 */
static int unit_free_for(struct gb_daemon *daemon, const struct gb_daemon_session *session)
{
	struct gb_daemon_session *owner = unit_owner(daemon, session->unit, session);

	if (!owner)
		return 0;
	if (!owner->identity_namespace[0])
		gb_error("user '%s': %s was started by an older glassboxd, which did not record "
		         "whose it is; it ends after session.idle_timeout_s, or now with "
		         "glassboxctl session terminate %s",
		         session->identity, session->unit, owner->id);
	else if (strcmp(owner->identity, session->identity) != 0)
		/* Two namespaces vouching for one system account: it runs as that
		 * account, so only one of them may have it at a time. */
		gb_error("user '%s': %s runs as the same system account for '%s'; refusing to "
		         "share it (map the two auth plugins together with [plugin] namespace "
		         "if they are the same people)",
		         session->identity, session->unit, owner->identity);
	else
		gb_warning("user '%s': the previous session (%s) is still stopping; try again in "
		           "a moment",
		           session->identity, session->unit);
	return -EBUSY;
}

/* The unit instance of @login's session; 0, or a negative errno after logging why not. */
static int instance_of(const struct gb_login *login, char instance[GB_INSTANCE_NAME_MAX + 1])
{
	char error[256];
	int r;

	r = gb_spawner_instance_name(login->identity_namespace, login->user, login->system_account,
	                             instance, error, sizeof(error));
	if (r == 0 && login->system_account)
		r = check_system_account(login->user, error, sizeof(error));
	if (r < 0)
		gb_error("user '%s': refusing to start a session unit: %s", login->user, error);
	return r;
}

/* Storage mounts its sidecars before the session starts: it needs the unit's name. */
static int systemd_account(struct gb_daemon_session *session, const struct gb_login *login)
{
	char instance[GB_INSTANCE_NAME_MAX + 1];
	int r = instance_of(login, instance);

	if (r < 0)
		return r;
	g_free(session->unit);
	session->unit = g_strdup_printf("glassbox-session@%s.service", instance);
	return 0;
}

/*
 * systemd binds the storage mounts onto ~/Cloud (BindPaths=) as root and
 * follows a link there: one the user left in their home would take the bind
 * elsewhere in their sandbox. Before the unit starts (no process of the user
 * runs; the home's parent is root's), anything at ~/Cloud that is not a
 * folder is moved aside, never followed.
 */
static void make_cloud_a_folder(const struct gb_daemon_session *session, const char *instance)
{
	g_autofree char *aside = NULL;
	struct stat st;
	int homes, home;

	homes = open(HOMES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (homes < 0)
		return; /* no home yet: systemd makes it */
	home = openat(homes, instance, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(homes);
	if (home < 0)
		return;
	if (fstatat(home, GB_STORAGE_CLOUD_FOLDER, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode)) {
		aside = g_strdup_printf(GB_STORAGE_CLOUD_FOLDER ".not-a-folder-%" G_GINT64_FORMAT,
		                        g_get_real_time() / G_USEC_PER_SEC);
		if (renameat(home, GB_STORAGE_CLOUD_FOLDER, home, aside) == 0)
			gb_warning("session %s of user '%s': ~/" GB_STORAGE_CLOUD_FOLDER
			           " was not a folder (%s); moved to ~/%s so that the storage "
			           "mounts can be bound there",
			           session->id, session->user,
			           S_ISLNK(st.st_mode)   ? "a symbolic link"
			           : S_ISREG(st.st_mode) ? "a file"
			                                 : "a special file",
			           aside);
		else
			gb_warning("session %s of user '%s': ~/" GB_STORAGE_CLOUD_FOLDER
			           " is not a folder and cannot be moved aside: %s",
			           session->id, session->user, strerror(errno));
	}
	close(home);
}

static int systemd_start(struct gb_daemon_session *session, const struct gb_login *login)
{
	struct gb_daemon *daemon = session->daemon;
	struct systemd_spawner *spawner = daemon->sessions->spawner_state;
	struct gb_session_params params = { 0 };
	char instance[GB_INSTANCE_NAME_MAX + 1];
	g_autofree char *params_text = NULL;
	g_autofree char *state = NULL;
	struct systemd_session *ss;
	struct sockaddr_un address;
	int r;

	if (!spawner || !spawner->bus) {
		gb_error("user '%s': no connection to systemd; cannot start a session unit",
		         session->user);
		return -ENOTCONN;
	}
	r = instance_of(login, instance);
	if (r < 0)
		return r;
	if (g_hash_table_contains(spawner->foreign, instance)) {
		gb_error("user '%s': glassbox-session@%s.service is running but glassboxd has no "
		         "record of it (no %s/sessions/%s.json); stop it (systemctl stop "
		         "glassbox-session@%s.service) and log in again",
		         login->user, instance, daemon->config->server.runtime_dir, instance,
		         instance);
		return -EBUSY;
	}

	ss = systemd_session_new(session, instance);
	r = unit_free_for(daemon, session);
	if (r < 0)
		goto err;
	if (strlen(session->socket_path) >= sizeof(address.sun_path) ||
	    strlen(session->control_path) >= sizeof(address.sun_path)) {
		gb_error("user '%s': %s is longer than a unix socket path may be", login->user,
		         session->control_path);
		r = -ENAMETOOLONG;
		goto err;
	}

	params.session_id = session->id;
	params.config = daemon->config_path;
	params.signal_socket = session->socket_path;
	params.control = session->control_path;
	params.user = session->user;
	params_text = gb_session_params_format(&params);
	if (!params_text) {
		r = -errno;
		gb_error("user '%s': cannot write the session parameters: %s", login->user,
		         strerror(-r));
		goto err;
	}
	make_cloud_a_folder(session, instance);
	state = state_json(session, instance);
	ss->start_pending = true;
	ss->wrote_files = true;
	r = write_private_file(ss->params_path, params_text);
	if (r == 0)
		r = write_private_file(ss->state_path, state);
	if (r < 0)
		goto err;
	r = watch_unit(ss);
	if (r == 0)
		r = set_limits(ss);
	if (r < 0) {
		gb_error("user '%s': cannot ask systemd to start %s: %s", login->user,
		         session->unit, strerror(-r));
		goto err;
	}
	return 0;

err:
	/* The discard event releases the rest. */
	if (ss->wrote_files) {
		unlink(ss->params_path);
		unlink(ss->state_path);
	}
	return r;
}

/* ---- stop ---- */

static int unit_stop_answered(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct systemd_session *ss = data;

	ss->stop_call = sd_bus_slot_unref(ss->stop_call);
	if (!sd_bus_message_is_method_error(reply, NULL))
		return 0;
	gb_warning("session %s of user '%s': StopUnit %s: %s", ss->session->id, ss->session->user,
	           ss->session->unit, gb_bus_error_text(reply, EIO));
	/* Not loaded (never started, or gone already): nothing will change. */
	if (sd_bus_message_is_method_error(reply, "org.freedesktop.systemd1.NoSuchUnit"))
		begin_end(ss, "inactive");
	return 0;
}

static void systemd_stop(struct gb_daemon_session *session)
{
	struct systemd_session *ss = systemd_of(session);
	int r;

	if (!ss || ss->ending)
		return;
	ss->stop_call = sd_bus_slot_unref(ss->stop_call);
	r = sd_bus_call_method_async(ss->spawner->bus, &ss->stop_call, GB_SYSTEMD_SERVICE,
	                             GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER, "StopUnit",
	                             unit_stop_answered, ss, "ss", session->unit, "replace");
	if (r < 0)
		gb_error("session %s of user '%s': cannot ask systemd to stop %s: %s", session->id,
		         session->user, session->unit, strerror(-r));
}

static void systemd_release(struct gb_daemon_session *session, bool ended)
{
	struct systemd_session *ss = systemd_of(session);

	if (!ss)
		return;
	if (ended && ss->wrote_files) {
		if (ss->params_path)
			unlink(ss->params_path);
		if (ss->state_path)
			unlink(ss->state_path);
		/* A failed unit stays "failed" in systemctl until reset. */
		if (ss->failed && ss->spawner->bus)
			sd_bus_call_method_async(ss->spawner->bus, NULL, GB_SYSTEMD_SERVICE,
			                         GB_SYSTEMD_PATH, GB_SYSTEMD_MANAGER,
			                         "ResetFailedUnit", NULL, NULL, "s",
			                         session->unit);
	}
	if (ss->unit_path)
		g_hash_table_remove(ss->spawner->by_path, ss->unit_path);
	sd_bus_slot_unref(ss->call);
	sd_bus_slot_unref(ss->stop_call);
	sd_bus_slot_unref(ss->pid_call);
	g_free(ss->unit_path);
	g_free(ss->params_path);
	g_free(ss->state_path);
	g_free(ss->job);
	g_free(ss->job_result);
	g_free(ss);
	session->spawner_data = NULL;
}

static void systemd_abandon(struct gb_daemon_session *session)
{
	/* Units are left to the next glassboxd: keeps_sessions. */
}

/* ---- adopting what an earlier glassboxd left running ---- */

static char *json_string(JsonObject *object, const char *name)
{
	const char *value = json_object_get_string_member_with_default(object, name, NULL);

	return value && value[0] ? g_strdup(value) : NULL;
}

/* The session a state file describes, or NULL after logging why not. */
static struct gb_daemon_session *read_state(struct systemd_spawner *spawner, const char *instance,
                                            const char *unit)
{
	struct gb_daemon *daemon = spawner->daemon;
	g_autofree char *path = g_strdup_printf("%s/sessions/%s.json",
	                                        daemon->config->server.runtime_dir, instance);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	g_autofree char *id = NULL, *user = NULL, *state_unit = NULL, *identity_namespace = NULL;
	g_autofree char *signal_socket = NULL, *control = NULL;
	struct gb_daemon_session *session;
	struct systemd_session *ss;
	JsonObject *object;
	JsonNode *root;
	gsize length;

	if (!g_file_get_contents(path, &text, &length, &error)) {
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return NULL;
		gb_warning("cannot read %s: %s", path, error->message);
		return NULL;
	}
	if (length > STATE_SIZE_MAX || !json_parser_load_from_data(parser, text, -1, NULL) ||
	    !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root)) {
		gb_warning("%s is not a session state file of glassboxd", path);
		return NULL;
	}
	object = json_node_get_object(root);
	id = json_string(object, "id");
	user = json_string(object, "user");
	state_unit = json_string(object, "unit");
	signal_socket = json_string(object, "signal_socket");
	control = json_string(object, "control");
	if (json_object_get_int_member_with_default(object, "version", 0) != STATE_VERSION ||
	    !id || !gb_session_id_valid(id) || !user || strlen(user) >= GB_IDENTITY_NAME_MAX ||
	    !state_unit || strcmp(state_unit, unit) != 0 || !signal_socket ||
	    signal_socket[0] != '/' || !control || control[0] != '/') {
		gb_warning("%s does not describe %s (version, id, user, unit, sockets)", path,
		           unit);
		return NULL;
	}
	/* A file of a glassboxd that keyed sessions by the bare user name: no
	 * login can tell whose it is, so it is adopted under no namespace,
	 * joined by nobody, and ends after session.idle_timeout_s. */
	identity_namespace = json_string(object, "namespace");
	if (!identity_namespace) {
		gb_warning("%s: %s of user '%s' was started before identities had a namespace; "
		           "no login joins it, it ends when idle",
		           path, unit, user);
		identity_namespace = g_strdup("");
	}
	session = gb_spawner_events(daemon)->adopt(daemon, id, identity_namespace, user);
	if (!session) {
		gb_warning("%s: not adopting %s", path, unit);
		return NULL;
	}
	session->system_account =
	        json_object_get_boolean_member_with_default(object, "system_account", FALSE);
	session->started_realtime_us =
	        json_object_get_int_member_with_default(object, "started_us", g_get_real_time());
	session->socket_path = g_steal_pointer(&signal_socket);
	session->control_path = g_steal_pointer(&control);
	ss = systemd_session_new(session, instance);
	ss->wrote_files = true;
	return session;
}

static void remove_stale_state_files(struct systemd_spawner *spawner)
{
	struct gb_daemon *daemon = spawner->daemon;
	g_autofree char *dir_path =
	        g_build_filename(daemon->config->server.runtime_dir, "sessions", NULL);
	DIR *dir = opendir(dir_path);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		char instance[GB_INSTANCE_NAME_MAX + 1];
		const char *dot = strrchr(entry->d_name, '.');
		size_t length = dot ? (size_t)(dot - entry->d_name) : 0;
		g_autofree char *unit = NULL;

		if (!dot || (strcmp(dot, ".json") != 0 && strcmp(dot, ".params") != 0) ||
		    length == 0 || length > GB_INSTANCE_NAME_MAX)
			continue;
		memcpy(instance, entry->d_name, length);
		instance[length] = '\0';
		if (!gb_spawner_instance_is_valid(instance))
			continue;
		unit = g_strdup_printf("glassbox-session@%s.service", instance);
		if (instance_in_use(daemon, unit))
			continue;
		gb_info("removing %s/%s: its unit is not running", dir_path, entry->d_name);
		unlinkat(dirfd(dir), entry->d_name, 0);
	}
	closedir(dir);
}

/*
 * An active unit's MainPID and UID, read at start-up (before anything is served) so
 * that the session can be adopted as running; false leaves it starting,
 * and its ActiveState query makes it ready with the pid (ready_with_main_pid).
 */
static bool adopt_main_pid(struct systemd_spawner *spawner, struct gb_daemon_session *session)
{
	__attribute__((cleanup(sd_bus_error_free))) sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *path = systemd_of(session)->unit_path;
	uint32_t pid = 0, uid = UINT32_MAX;
	int r;

	r = sd_bus_get_property_trivial(spawner->bus, GB_SYSTEMD_SERVICE, path,
	                                GB_SYSTEMD_SERVICE_IF, "MainPID", &error, 'u', &pid);
	if (r >= 0 && pid != 0) {
		sd_bus_error_free(&error);
		r = sd_bus_get_property_trivial(spawner->bus, GB_SYSTEMD_SERVICE, path,
		                                GB_SYSTEMD_SERVICE_IF, "UID", &error, 'u', &uid);
	}
	if (r < 0 || pid == 0) {
		gb_warning("unit %s: cannot read its MainPID and UID: %s", session->unit,
		           r < 0 ? (error.message ? error.message : strerror(-r)) : "none");
		return false;
	}
	session->pid = (pid_t)pid;
	session->uid = uid == UINT32_MAX ? (uid_t)-1 : (uid_t)uid;
	return true;
}

/* One unit ListUnitsByPatterns gave: adopt it when it is ours. */
static void adopt_unit(void *data, const char *name, const char *active_state)
{
	struct systemd_spawner *spawner = data;
	struct gb_daemon *daemon = spawner->daemon;
	char instance[GB_INSTANCE_NAME_MAX + 1];
	struct gb_daemon_session *session;

	if (gb_spawner_instance_from_unit(name, instance) < 0) {
		gb_warning("unit %s is not a name glassboxd gives; leaving it alone", name);
		return;
	}
	session = read_state(spawner, instance, name);
	if (!session) {
		gb_warning(
		        "unit %s is %s but glassboxd has no record of it (%s/sessions/%s.json); "
		        "leaving it alone",
		        name, active_state, daemon->config->server.runtime_dir, instance);
		g_hash_table_add(spawner->foreign, g_strdup(instance));
		return;
	}
	if (watch_unit(systemd_of(session)) < 0) {
		gb_warning("cannot follow unit %s; leaving it alone", name);
		gb_spawner_events(session->daemon)->discard(session);
		g_hash_table_add(spawner->foreign, g_strdup(instance));
		return;
	}
	gb_spawner_events(session->daemon)
	        ->adopted(session,
	                  strcmp(active_state, "active") == 0 && adopt_main_pid(spawner, session));
	query_active_state(systemd_of(session));
}

static int adopt_running_units(struct systemd_spawner *spawner)
{
	const char *states[] = { "active", "activating", "reloading", NULL };
	int r = gb_systemd_list_units(spawner->bus, states, UNIT_PATTERN, ADOPT_MAX,
	                              "the running session units", adopt_unit, spawner);

	if (r < 0)
		return r;
	remove_stale_state_files(spawner);
	return 0;
}

static int subscribed(sd_bus_message *reply, void *data, sd_bus_error *ret_error)
{
	struct systemd_spawner *spawner = data;

	spawner->subscribe = sd_bus_slot_unref(spawner->subscribe);
	if (sd_bus_message_is_method_error(reply, NULL))
		gb_warning("systemd refused to send us unit changes (Subscribe): %s; sessions may "
		           "not be seen to start or end",
		           gb_bus_error_text(reply, EIO));
	return 0;
}

static int systemd_init(struct gb_daemon *daemon)
{
	struct systemd_spawner *spawner;
	int r;

	if (strcmp(daemon->config->server.runtime_dir, REQUIRED_RUNTIME_DIR) != 0) {
		gb_error("server.spawner = \"systemd\" needs server.runtime_dir = \"%s\" (in %s): "
		         "glassbox-session@.service loads its parameters from there",
		         REQUIRED_RUNTIME_DIR, daemon->config_path);
		return -EINVAL;
	}
	spawner = g_new0(struct systemd_spawner, 1);
	spawner->daemon = daemon;
	spawner->foreign = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	spawner->by_path = g_hash_table_new(g_str_hash, g_str_equal);
	daemon->sessions->spawner_state = spawner;

	r = sd_bus_open_system(&spawner->bus);
	if (r < 0) {
		gb_error("cannot connect to the system bus for the systemd spawner: %s",
		         strerror(-r));
		return r;
	}
	r = gb_sd_bus_attach(spawner->bus, NULL, &spawner->source);
	if (r < 0) {
		gb_error("cannot watch the system bus: %s", strerror(-r));
		return r;
	}
	/*
	 * One match for the changes of every unit rather than one per session:
	 * the system bus allows a connection few match rules (512 by default).
	 * Both are installed before any StartUnit goes out on this connection,
	 * so no change can slip between. A match that fails to install closes
	 * the connection (sd-bus's default).
	 */
	r = gb_systemd_follow(spawner->bus, &spawner->job_removed, job_removed,
	                      &spawner->unit_changes, unit_properties_changed, &spawner->subscribe,
	                      subscribed, spawner);
	if (r < 0) {
		gb_error("cannot follow systemd's jobs: %s", strerror(-r));
		return r;
	}
	return adopt_running_units(spawner);
}

static void systemd_fini(struct gb_daemon *daemon)
{
	struct systemd_spawner *spawner = daemon->sessions->spawner_state;

	if (!spawner)
		return;
	sd_bus_slot_unref(spawner->job_removed);
	sd_bus_slot_unref(spawner->unit_changes);
	sd_bus_slot_unref(spawner->subscribe);
	if (spawner->bus)
		sd_bus_flush(spawner->bus); /* the last ResetFailedUnit calls */
	gb_sd_bus_detach(spawner->source);
	sd_bus_flush_close_unref(spawner->bus);
	g_hash_table_destroy(spawner->foreign);
	g_hash_table_destroy(spawner->by_path);
	g_free(spawner);
	daemon->sessions->spawner_state = NULL;
}

const struct gb_spawner_ops gb_spawner_systemd = {
	.name = "systemd",
	.keeps_sessions = true,
	.init = systemd_init,
	.fini = systemd_fini,
	.account = systemd_account,
	.start = systemd_start,
	.stop = systemd_stop,
	.release = systemd_release,
	.abandon = systemd_abandon,
};
