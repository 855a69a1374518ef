/* SPDX-License-Identifier: MIT */
/*
 * org.glassbox.Manager1: the administration API on the system bus, spoken
 * by glassboxctl. See docs/dbus-api.md for the interface.
 *
 * Everything runs on the main loop (bus-glib.c drives sd-bus from it)
 * except the calls into an auth plugin's user management, which hash
 * passwords and so run on a worker thread of their own, one at a time under
 * daemon->auth_lock like the login checks; screenshots wait on the
 * session's control socket through fd watches. Neither blocks the loop: the
 * method call is kept (sd_bus_message_ref) and answered when the work is
 * done.
 *
 * Who may do what is decided here, not by the bus policy: reading the state
 * is open to everyone, anything that changes it (and Screenshot, ListUsers)
 * needs euid 0 or the group glassbox-admin in the caller's credentials as
 * the bus daemon reports them. Asking the bus daemon for them is a
 * synchronous call (sd_bus_query_sender_creds() makes one too): a round trip
 * to a local, trusted peer, made only for administrative calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "gb-build-config.h"
#include "audit.h"
#include "bus-glib.h"
#include "dbus.h"
#include "dropin.h"
#include "log.h"
#include "session-control.h"
#include "spawner.h"

/* Limits on what a caller sends. */
#define NAME_MAX_BYTES        64   /* session ids, plugin names */
#define PASSWORD_MAX_BYTES    1024 /* like POST /api/login */
#define ROLES_MAX             8    /* entries of AddUser's roles */
#define USER_OPS_PENDING_MAX  16   /* user management calls waiting for the worker */
#define USERS_LISTED_MAX      100000
#define SCREENSHOTS_MAX       4 /* at once; a session takes 4 control connections */
#define SCREENSHOT_TIMEOUT_S  5
#define SCREENSHOT_SIZE_MAX   (64 << 20) /* under sd-bus's 128 MiB message limit */
#define SCREENSHOT_ANSWER_MAX 512
#define DROPIN_SIZE_MAX       (1 << 20)
/* Refused calls (not an administrator) logged and audited per caller uid and
 * window; the rest are counted and summed up in one line when it ends. */
#define REFUSALS_LOGGED_MAX 10
#define REFUSAL_WINDOW_S    60
#define REFUSAL_CALLERS_MAX 1024 /* caller uids followed at once */

#define ERROR_PREFIX          GB_DBUS_INTERFACE ".Error."
#define ERROR_NO_SUCH_SESSION ERROR_PREFIX "NoSuchSession"
#define ERROR_NO_SUCH_PLUGIN  ERROR_PREFIX "NoSuchPlugin"
#define ERROR_NO_SUCH_USER    ERROR_PREFIX "NoSuchUser"
#define ERROR_USER_EXISTS     ERROR_PREFIX "UserExists"
#define ERROR_NOT_SUPPORTED   ERROR_PREFIX "NotSupported"
#define ERROR_RELOAD_REFUSED  ERROR_PREFIX "ReloadRefused"
#define ERROR_NOT_RUNNING     ERROR_PREFIX "SessionNotRunning"
#define ERROR_SCREENSHOT      ERROR_PREFIX "ScreenshotFailed"

enum user_op_kind {
	USER_LIST,
	USER_ADD,
	USER_SET_PASSWORD,
	USER_REMOVE,
};

static const char *const user_op_methods[] = {
	[USER_LIST] = "ListUsers",
	[USER_ADD] = "AddUser",
	[USER_SET_PASSWORD] = "SetPassword",
	[USER_REMOVE] = "RemoveUser",
};

struct listed_user {
	char *user;
	uint32_t roles;
};

/* One user management call, handed to the worker and back. */
struct user_op {
	struct gb_dbus *bus;
	enum user_op_kind kind;
	sd_bus_message *call;
	uid_t uid;
	char *args; /* for the log: never the password */
	char *user;
	char *password;
	uint32_t roles;
	/* filled by the worker */
	int result;
	char plugin[GB_IDENTITY_NAME_MAX];
	GPtrArray *users; /* struct listed_user, for USER_LIST */
	bool truncated;
	GList link; /* in gb_dbus.user_ops */
};

/* One Screenshot call waiting for the session. */
struct screenshot {
	struct gb_dbus *bus;
	sd_bus_message *call;
	uid_t uid;
	char session_id[GB_SESSION_ID_LENGTH + 1];
	char *path; /* the PNG the session writes, in its own folder */
	struct gb_session_control_call *control; /* the question to the session; NULL after */
	GList link;                              /* in gb_dbus.screenshots */
};

struct gb_dbus {
	struct gb_daemon *daemon;
	sd_bus *bus;
	sd_bus_slot *object;
	GSource *source;
	GThreadPool *worker;  /* user management, one call at a time */
	GQueue user_ops;      /* struct user_op not yet answered */
	GQueue screenshots;   /* struct screenshot not yet answered */
	GHashTable *refusals; /* caller uid -> struct refusal_window */
};

/* The refused calls of one caller uid in its current window. */
struct refusal_window {
	uid_t uid;
	gint64 start_us;   /* g_get_monotonic_time() */
	unsigned logged;   /* up to REFUSALS_LOGGED_MAX */
	unsigned unlogged; /* after that */
	guint summary;     /* at the window's end, logs how many went unlogged */
};

/* glassboxd runs one daemon per process, so one API. */
static struct gb_dbus bus_state;

int gb_dbus_mode_from_string(const char *text, enum gb_dbus_mode *mode)
{
	if (strcmp(text, "auto") == 0)
		*mode = GB_DBUS_AUTO;
	else if (strcmp(text, "required") == 0)
		*mode = GB_DBUS_REQUIRED;
	else if (strcmp(text, "off") == 0)
		*mode = GB_DBUS_OFF;
	else
		return -EINVAL;
	return 0;
}

static void free_secret(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	g_free(secret);
}

/* ---- who is calling ---- */

/*
 * The caller's groups as the bus daemon took them from its socket
 * (SO_PEERGROUPS; the primary gid is among them): org.freedesktop.DBus's
 * GetConnectionCredentials, UnixGroupIDs. sd-bus 252 does not read that
 * field, so it is asked here. Returns how many (0: the bus does not say) or
 * a negative errno; *@gids is g_malloc'd.
 */
static int bus_group_ids(sd_bus_message *call, gid_t **gids)
{
	sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *key;
	int r, count = 0;

	*gids = NULL;
	r = sd_bus_call_method(sd_bus_message_get_bus(call), "org.freedesktop.DBus",
	                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
	                       "GetConnectionCredentials", &error, &reply, "s",
	                       sd_bus_message_get_sender(call));
	sd_bus_error_free(&error);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		r = sd_bus_message_read(reply, "s", &key);
		if (r >= 0 && strcmp(key, "UnixGroupIDs") == 0) {
			const uint32_t *ids = NULL;
			size_t size = 0;

			r = sd_bus_message_enter_container(reply, 'v', "au");
			if (r >= 0)
				r = sd_bus_message_read_array(reply, 'u', (const void **)&ids,
				                              &size);
			if (r >= 0) {
				g_free(*gids);
				count = (int)MIN(size / sizeof(uint32_t), 65536);
				*gids = g_new(gid_t, count ? count : 1);
				for (int i = 0; i < count; i++)
					(*gids)[i] = ids[i];
				r = sd_bus_message_exit_container(reply);
			}
		} else if (r >= 0) {
			r = sd_bus_message_skip(reply, "v");
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	sd_bus_message_unref(reply);
	if (r < 0) {
		g_free(*gids);
		*gids = NULL;
		return r;
	}
	return count;
}

static bool gids_contain(const gid_t *gids, int count, gid_t gid)
{
	for (int i = 0; i < count; i++)
		if (gids[i] == gid)
			return true;
	return false;
}

/*
 * The caller's effective uid and whether it is an administrator, from what
 * the bus daemon took from the caller's socket (SO_PEERCRED, SO_PEERGROUPS)
 * when it connected. sd-bus fills in from /proc/PID what the bus does not
 * say (augmented), and that is racy against the pid being reused; /proc is
 * used only when the bus says nothing about the groups, and then only when
 * /proc agrees with the bus on the uid.
 */
static int caller_identify(sd_bus_message *call, uid_t *uid, bool *admin, sd_bus_error *error)
{
	sd_bus_creds *creds = NULL;
	uint64_t augmented;
	uid_t bus_uid = (uid_t)-1, proc_uid = (uid_t)-1;
	gid_t primary;
	const gid_t *groups = NULL;
	g_autofree gid_t *bus_groups = NULL;
	struct group group_entry, *group = NULL;
	const char *source;
	char buffer[16384];
	int r, n_groups;

	*admin = false;
	r = sd_bus_query_sender_creds(call,
	                              SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_GID |
	                                      SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
	                                      SD_BUS_CREDS_AUGMENT,
	                              &creds);
	if (r < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
		                         "cannot read the caller's credentials: %s", strerror(-r));
	augmented = sd_bus_creds_get_augmented_mask(creds);

	/* dbus-daemon's UnixUserID is SO_PEERCRED's uid: the effective one. */
	bool have_uid =
	        (!(augmented & SD_BUS_CREDS_EUID) &&
	         sd_bus_creds_get_euid(creds, &bus_uid) >= 0) ||
	        (!(augmented & SD_BUS_CREDS_UID) && sd_bus_creds_get_uid(creds, &bus_uid) >= 0);
	if (!have_uid) {
		sd_bus_creds_unref(creds);
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
		                         "the bus did not say which user is calling");
	}
	*uid = bus_uid;
	if (bus_uid == 0) {
		*admin = true;
		goto out;
	}

	r = getgrnam_r(GB_DBUS_ADMIN_GROUP, &group_entry, buffer, sizeof(buffer), &group);
	if (r != 0 || !group) {
		if (r != 0)
			gb_warning("D-Bus: cannot look up the group %s: %s", GB_DBUS_ADMIN_GROUP,
			           strerror(r));
		goto out; /* no such group: only root is an administrator */
	}

	if (!(augmented & SD_BUS_CREDS_SUPPLEMENTARY_GIDS)) {
		source = "the bus (sd-bus)";
		n_groups = sd_bus_creds_get_supplementary_gids(creds, &groups);
		*admin = gids_contain(groups, n_groups, group->gr_gid) ||
		         (!(augmented & SD_BUS_CREDS_GID) &&
		          sd_bus_creds_get_gid(creds, &primary) >= 0 && primary == group->gr_gid);
	} else if ((n_groups = bus_group_ids(call, &bus_groups)) > 0) {
		source = "the bus (UnixGroupIDs)";
		*admin = gids_contain(bus_groups, n_groups, group->gr_gid);
	} else if (sd_bus_creds_get_uid(creds, &proc_uid) >= 0 && proc_uid == bus_uid &&
	           sd_bus_creds_get_euid(creds, &proc_uid) >= 0 && proc_uid == bus_uid) {
		source = "/proc";
		n_groups = sd_bus_creds_get_supplementary_gids(creds, &groups);
		*admin = gids_contain(groups, n_groups, group->gr_gid) ||
		         (sd_bus_creds_get_gid(creds, &primary) >= 0 && primary == group->gr_gid);
	} else {
		gb_warning("D-Bus: uid %u: neither the bus nor /proc tells the caller's groups "
		           "reliably; treating it as no member of %s",
		           (unsigned)bus_uid, GB_DBUS_ADMIN_GROUP);
		goto out;
	}
	gb_debug("D-Bus: caller uid %u: groups from %s: %s %s", (unsigned)bus_uid, source,
	         *admin ? "a member of" : "not in", GB_DBUS_ADMIN_GROUP);
out:
	sd_bus_creds_unref(creds);
	return 0;
}

static void refusal_window_free(gpointer data)
{
	struct refusal_window *window = data;

	if (window->summary)
		g_source_remove(window->summary);
	g_free(window);
}

static gboolean refusal_window_ended(gpointer data)
{
	struct refusal_window *window = data;

	window->summary = 0;
	gb_warning("D-Bus: uid %u: %u more refused call%s in %d s, not logged one by one",
	           (unsigned)window->uid, window->unlogged, window->unlogged == 1 ? "" : "s",
	           REFUSAL_WINDOW_S);
	g_hash_table_remove(bus_state.refusals, GUINT_TO_POINTER(window->uid));
	return G_SOURCE_REMOVE;
}

static gboolean refusal_window_over(gpointer key, gpointer value, gpointer data)
{
	const struct refusal_window *window = value;

	return !window->summary &&
	       *(const gint64 *)data - window->start_us >= REFUSAL_WINDOW_S * G_USEC_PER_SEC;
}

/*
 * Whether a refused call of @uid is logged and audited: a local user
 * calling in a loop must not flood the journal. The first
 * REFUSALS_LOGGED_MAX of each uid in a window of REFUSAL_WINDOW_S are (the
 * last of them says that the next ones are not); the others are counted
 * and one line at the window's end says how many. Past REFUSAL_CALLERS_MAX
 * uids at once, a new uid's refusals are not logged until windows end.
 */
static bool refusal_is_logged(uid_t uid)
{
	struct gb_dbus *state = &bus_state;
	gint64 now = g_get_monotonic_time();
	struct refusal_window *window;
	gint64 left_us;

	if (!state->refusals)
		state->refusals = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
		                                        refusal_window_free);
	window = g_hash_table_lookup(state->refusals, GUINT_TO_POINTER(uid));
	if (window && refusal_window_over(NULL, window, &now)) {
		g_hash_table_remove(state->refusals, GUINT_TO_POINTER(uid));
		window = NULL;
	}
	if (!window) {
		if (g_hash_table_size(state->refusals) >= REFUSAL_CALLERS_MAX)
			g_hash_table_foreach_remove(state->refusals, refusal_window_over, &now);
		if (g_hash_table_size(state->refusals) >= REFUSAL_CALLERS_MAX)
			return false;
		window = g_new0(struct refusal_window, 1);
		window->uid = uid;
		window->start_us = now;
		g_hash_table_insert(state->refusals, GUINT_TO_POINTER(uid), window);
	}
	if (window->logged < REFUSALS_LOGGED_MAX) {
		if (++window->logged == REFUSALS_LOGGED_MAX)
			gb_warning("D-Bus: uid %u: %d refused calls in %d s; the next ones until "
			           "then are counted, not logged",
			           (unsigned)uid, REFUSALS_LOGGED_MAX, REFUSAL_WINDOW_S);
		return true;
	}
	window->unlogged++;
	if (!window->summary) {
		left_us = window->start_us + REFUSAL_WINDOW_S * G_USEC_PER_SEC - now;
		window->summary =
		        g_timeout_add((guint)MAX(left_us / 1000, 1), refusal_window_ended, window);
	}
	return false;
}

/* Log and audit an administrative action and how it ended. */
static void admin_done(uid_t uid, const char *method, const char *args, int result)
{
	if (result == -EACCES && !refusal_is_logged(uid))
		return;
	if (result >= 0)
		gb_info("D-Bus: uid %u: %s(%s): done", (unsigned)uid, method, args);
	else if (result == -EACCES)
		gb_warning("D-Bus: uid %u: %s(%s): refused, not root nor in group %s",
		           (unsigned)uid, method, args, GB_DBUS_ADMIN_GROUP);
	else
		gb_warning("D-Bus: uid %u: %s(%s): failed: %s", (unsigned)uid, method, args,
		           strerror(-result));
	gb_audit_admin(uid, method, args, result);
}

/*
 * Refuse callers that are not administrators: 0 when @call may go on (with
 * *@uid), or a negative errno with @error set (AccessDenied naming the uid).
 */
static int require_admin(sd_bus_message *call, const char *method, const char *args, uid_t *uid,
                         sd_bus_error *error)
{
	bool admin;
	int r;

	*uid = (uid_t)-1;
	r = caller_identify(call, uid, &admin, error);
	if (r < 0) {
		if (refusal_is_logged(*uid)) {
			gb_warning("D-Bus: %s(%s) refused: %s", method, args, error->message);
			gb_audit_admin(*uid, method, args, -EACCES);
		}
		return r;
	}
	if (!admin) {
		admin_done(*uid, method, args, -EACCES);
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
		                         "uid %u may not call %s: only root and members of the "
		                         "group %s may",
		                         (unsigned)*uid, method, GB_DBUS_ADMIN_GROUP);
	}
	return 0;
}

static int check_name(const char *what, const char *name, size_t max, sd_bus_error *error)
{
	size_t length = strnlen(name, max + 1);

	if (length == 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "the %s is empty",
		                         what);
	if (length > max)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
		                         "the %s is longer than %zu bytes", what, max);
	return 0;
}

/* ---- properties ---- */

static int get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *data, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", GB_VERSION);
}

static int get_session_count(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *data,
                             sd_bus_error *error)
{
	struct gb_dbus *state = data;

	return sd_bus_message_append(reply, "u", (uint32_t)gb_sessions_count(state->daemon));
}

static int get_max_sessions(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *data,
                            sd_bus_error *error)
{
	struct gb_dbus *state = data;

	return sd_bus_message_append(reply, "u",
	                             (uint32_t)state->daemon->config->server.max_sessions);
}

/* ---- sessions ---- */

static const char *session_state_name(enum gb_session_state state)
{
	switch (state) {
	case GB_SESSION_STARTING:
		return "starting";
	case GB_SESSION_RUNNING:
		return "running";
	case GB_SESSION_STOPPING:
	case GB_SESSION_EXITED:
		break;
	}
	return "stopping";
}

static gint compare_sessions(gconstpointer a, gconstpointer b)
{
	const struct gb_daemon_session *sa = *(struct gb_daemon_session *const *)a;
	const struct gb_daemon_session *sb = *(struct gb_daemon_session *const *)b;

	if (sa->started_realtime_us != sb->started_realtime_us)
		return sa->started_realtime_us < sb->started_realtime_us ? -1 : 1;
	return strcmp(sa->id, sb->id);
}

static int method_list_sessions(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon *daemon = state->daemon;
	sd_bus_message *reply = NULL;
	g_autoptr(GPtrArray) sessions = g_ptr_array_new();
	const char *spawner = daemon->spawner ? daemon->spawner->name : "direct";
	GHashTableIter iter;
	gpointer value;
	int r;

	g_hash_table_iter_init(&iter, daemon->sessions);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(sessions, value);
	g_ptr_array_sort(sessions, compare_sessions);

	r = sd_bus_message_new_method_return(call, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', "(ssssuxs)");
	for (guint i = 0; r >= 0 && i < sessions->len; i++) {
		struct gb_daemon_session *session = sessions->pdata[i];

		/* "namespace:user": the same name through two auth plugins is two people. */
		r = sd_bus_message_append(reply, "(ssssuxs)", session->id, session->identity,
		                          session_state_name(session->state),
		                          session->unit ? session->unit : "",
		                          (uint32_t)session->relays.length,
		                          (int64_t)session->started_realtime_us, spawner);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 1;
}

/* The session with this id that has not exited, or NULL. */
static struct gb_daemon_session *find_session(struct gb_daemon *daemon, const char *id)
{
	struct gb_daemon_session *session = g_hash_table_lookup(daemon->sessions, id);

	return session && session->state != GB_SESSION_EXITED ? session : NULL;
}

static int method_terminate_session(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon_session *session;
	g_autofree char *args = NULL;
	const char *id;
	uid_t uid;
	int r;

	r = sd_bus_message_read(call, "s", &id);
	if (r < 0)
		return r;
	args = gb_printable_dup(id);
	r = require_admin(call, "TerminateSession", args, &uid, error);
	if (r < 0)
		return r;
	r = check_name("session id", id, NAME_MAX_BYTES, error);
	if (r < 0)
		goto out;
	session = find_session(state->daemon, id);
	if (!session) {
		r = sd_bus_error_setf(error, ERROR_NO_SUCH_SESSION, "no session '%s'", args);
		goto out;
	}
	/* Also the user's logins: otherwise the page's next connection, or a
	 * reload of it, would quietly start a new session with the old cookie. */
	gb_auth_end_logins(state->daemon, session->identity_namespace, session->user, NULL,
	                   "logged out: the session was terminated by an administrator");
	gb_session_stop(session, "terminated by an administrator (D-Bus TerminateSession)");
	r = sd_bus_reply_method_return(call, NULL);
out:
	admin_done(uid, "TerminateSession", args, r);
	return r;
}

static void session_added(void *data, const struct gb_daemon_session *session)
{
	struct gb_daemon *daemon = data;
	sd_bus *bus = bus_state.bus;

	if (!bus || bus_state.daemon != daemon)
		return;
	sd_bus_emit_signal(bus, GB_DBUS_PATH, GB_DBUS_INTERFACE, "SessionNew", "ss", session->id,
	                   session->identity);
	sd_bus_emit_properties_changed(bus, GB_DBUS_PATH, GB_DBUS_INTERFACE, "SessionCount", NULL);
}

static void session_removed(void *data, const struct gb_daemon_session *session,
                            const char *reason)
{
	struct gb_daemon *daemon = data;
	sd_bus *bus = bus_state.bus;

	if (!bus || bus_state.daemon != daemon)
		return;
	sd_bus_emit_signal(bus, GB_DBUS_PATH, GB_DBUS_INTERFACE, "SessionRemoved", "sss",
	                   session->id, session->identity, reason ? reason : "");
	sd_bus_emit_properties_changed(bus, GB_DBUS_PATH, GB_DBUS_INTERFACE, "SessionCount", NULL);
}

/* MaxSessions may have changed. */
static void reload_ended(void *data, bool applied)
{
	struct gb_daemon *daemon = data;

	if (!applied || !bus_state.bus || bus_state.daemon != daemon)
		return;
	sd_bus_emit_properties_changed(bus_state.bus, GB_DBUS_PATH, GB_DBUS_INTERFACE,
	                               "MaxSessions", NULL);
}

const struct gb_events_listener gb_dbus_events = {
	.session_added = session_added,
	.session_removed = session_removed,
	.reload_ended = reload_ended,
};

/* ---- plugins ---- */

static int load_dropins(struct gb_daemon *daemon, struct gb_dropin_set *set, sd_bus_error *error)
{
	const struct gb_plugins_config *plugins = &daemon->config->plugins;
	char message[GB_DROPIN_ERROR_MAX];
	int r;

	r = gb_dropin_set_load(set, plugins->vendor_dir, plugins->config_dir, message);
	if (r < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", message);
	return 0;
}

static int method_list_plugins(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon *daemon = state->daemon;
	struct gb_dropin_set set = { 0 };
	sd_bus_message *reply = NULL;
	int r;

	r = load_dropins(daemon, &set, error);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_return(call, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(sssbs)");
	for (size_t i = 0; r >= 0 && i < set.count; i++) {
		const struct gb_dropin *dropin = &set.items[i];
		/* Only glassboxd's own (auth) plugins are loaded here; the sessions
		 * load the others, so their version is not known to us. */
		struct gb_plugin *plugin =
		        gb_plugin_registry_find(&daemon->registry, dropin->kind, dropin->name);
		const char *version =
		        plugin && plugin->descriptor->version ? plugin->descriptor->version : "";

		r = sd_bus_message_append(reply, "(sssbs)", dropin->name,
		                          gb_plugin_kind_to_string(dropin->kind), version,
		                          (int)dropin->enabled, dropin->path);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	gb_dropin_set_clear(&set);
	return r < 0 ? r : 1;
}

/*
 * The drop-in a plugin name stands for: "x264" when only one kind has a
 * plugin of that name, or "encoder-x264". NULL with @error set otherwise.
 */
static const struct gb_dropin *find_dropin(const struct gb_dropin_set *set, const char *name,
                                           const char *printable_name, sd_bus_error *error)
{
	const struct gb_dropin *found = NULL;
	unsigned matches = 0;

	for (size_t i = 0; i < set->count; i++) {
		const struct gb_dropin *dropin = &set->items[i];
		const char *kind = gb_plugin_kind_to_string(dropin->kind);
		size_t kind_length = strlen(kind);

		if (strcmp(name, dropin->name) == 0 ||
		    (strncmp(name, kind, kind_length) == 0 && name[kind_length] == '-' &&
		     strcmp(name + kind_length + 1, dropin->name) == 0)) {
			/* "kind-name" is exact: it wins over a bare name of another kind. */
			if (strncmp(name, kind, kind_length) == 0 && name[kind_length] == '-' &&
			    strcmp(name + kind_length + 1, dropin->name) == 0)
				return dropin;
			found = dropin;
			matches++;
		}
	}
	if (matches == 0) {
		sd_bus_error_setf(error, ERROR_NO_SUCH_PLUGIN,
		                  "no drop-in configures a plugin '%s' (see ListPlugins)",
		                  printable_name);
		return NULL;
	}
	if (matches > 1) {
		sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
		                  "plugin name '%s' is ambiguous: say KIND-NAME (encoder-x264)",
		                  printable_name);
		return NULL;
	}
	return found;
}

/* Write @path atomically with mode 0644: a hidden temporary file, then rename. */
static int write_file_atomically(const char *path, const char *text, char **why)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *temporary = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	size_t length = strlen(text), done = 0;
	int fd, r;

	if (g_mkdir_with_parents(dir, 0755) < 0) {
		r = -errno;
		*why = g_strdup_printf("cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	fd = g_mkstemp_full(temporary, O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		*why = g_strdup_printf("cannot create a file in %s: %s", dir, strerror(-r));
		return r;
	}
	while (done < length) {
		ssize_t n = write(fd, text + done, length - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto fail;
		}
		done += (size_t)n;
	}
	/* The umask must not decide who may read the configuration. */
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(temporary, path) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	unlink(temporary);
	*why = g_strdup_printf("cannot write %s: %s", path, strerror(-r));
	return r;
}

static int read_small_file(const char *path, char **text, char **why)
{
	g_autoptr(GError) gerror = NULL;
	gsize length;
	struct stat st;

	if (stat(path, &st) < 0) {
		int r = -errno;
		*why = g_strdup_printf("cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if (st.st_size > DROPIN_SIZE_MAX) {
		*why = g_strdup_printf("%s is larger than %d bytes", path, DROPIN_SIZE_MAX);
		return -EFBIG;
	}
	if (!g_file_get_contents(path, text, &length, &gerror)) {
		*why = g_strdup(gerror->message);
		return -EIO;
	}
	if (strlen(*text) != length) {
		*why = g_strdup_printf("%s holds a NUL byte", path);
		g_free(*text);
		*text = NULL;
		return -EINVAL;
	}
	return 0;
}

#define OVERRIDE_NAME "50-glassboxctl.conf"

/* The drop-in of @kind and @name in @set, or NULL. */
static const struct gb_dropin *find_exact(const struct gb_dropin_set *set,
                                          enum gb_plugin_kind kind, const char *name)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->items[i].kind == kind && strcmp(set->items[i].name, name) == 0)
			return &set->items[i];
	return NULL;
}

/*
 * Write the override <config_dir>/<drop-in file name>.d/50-glassboxctl.conf
 * that turns the plugin on or off (see dropin.h), or remove it where the
 * drop-in itself says what is asked. The drop-in is never touched: its
 * owner, its mode (0600 for one holding a client secret) and its settings
 * stay, and a vendor drop-in still gets its package updates.
 * On success *@previous is what the override held before (NULL: there was
 * none), so that a refused reload can put it back.
 */
static int write_plugin_override(struct gb_daemon *daemon, const struct gb_dropin *dropin,
                                 bool enabled, char **target, char **previous, char **why)
{
	const struct gb_plugins_config *plugins = &daemon->config->plugins;
	g_autofree char *base = g_path_get_basename(dropin->path);
	g_autofree char *text = NULL;
	g_autofree char *old = NULL;
	g_autofree char *read_why = NULL;
	struct gb_dropin_set check = { 0 };
	struct gb_dropin own = { 0 };
	const struct gb_dropin *now;
	char message[GB_DROPIN_ERROR_MAX];
	int r;

	*previous = NULL;
	*target = g_strdup_printf("%s/%s.d/%s", plugins->config_dir, base, OVERRIDE_NAME);
	r = read_small_file(*target, &old, &read_why);
	if (r < 0 && r != -ENOENT) {
		*why = g_steal_pointer(&read_why);
		return r;
	}
	text = g_strdup_printf(
	        "; Written by glassboxctl (org.glassbox.Manager1.SetPluginEnabled):\n"
	        "; plugin %s %s, whose drop-in is %s.\n"
	        "[plugin]\nenabled = %s\n",
	        gb_plugin_kind_to_string(dropin->kind), dropin->name, dropin->path,
	        enabled ? "true" : "false");
	/* Where the drop-in itself says so already, no override is needed:
	 * ours goes, so that a later edit of the drop-in is not overruled. */
	r = gb_dropin_load_file(&own, dropin->path, message);
	if (r < 0) {
		*why = g_strdup(message);
		return r;
	}
	if (own.enabled == enabled) {
		r = old && unlink(*target) < 0 ? -errno : 0;
		if (r < 0)
			*why = g_strdup_printf("cannot remove %s: %s", *target, strerror(-r));
	} else {
		r = write_file_atomically(*target, text, why);
	}
	gb_dropin_clear(&own);
	if (r < 0)
		return r;

	/* The plugin must now read back switched as asked: a later override
	 * (99-local.conf, say) would still win over ours. */
	r = gb_dropin_set_load(&check, plugins->vendor_dir, plugins->config_dir, message);
	now = r == 0 ? find_exact(&check, dropin->kind, dropin->name) : NULL;
	if (r < 0)
		*why = g_strdup_printf("the override written to %s does not read back: %s",
		                       *target, message);
	else if (!now || now->enabled != enabled) {
		*why = g_strdup_printf("%s is written, but %s still says enabled = %s", *target,
		                       now && now->enabled_by ? now->enabled_by : dropin->path,
		                       enabled ? "false" : "true");
		r = -EINVAL;
	}
	gb_dropin_set_clear(&check);
	if (r < 0) {
		g_autofree char *undo_why = NULL;

		if (old)
			write_file_atomically(*target, old, &undo_why);
		else
			unlink(*target);
		return r;
	}
	*previous = g_steal_pointer(&old);
	return 0;
}

static int method_set_plugin_enabled(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon *daemon = state->daemon;
	struct gb_dropin_set set = { 0 };
	const struct gb_dropin *dropin;
	g_autofree char *args = NULL;
	g_autofree char *name_text = NULL;
	g_autofree char *target = NULL;
	g_autofree char *previous = NULL;
	g_autofree char *why = NULL;
	const char *name;
	int enabled, r;
	uid_t uid;

	r = sd_bus_message_read(call, "sb", &name, &enabled);
	if (r < 0)
		return r;
	name_text = gb_printable_dup(name);
	args = g_strdup_printf("%s, %s", name_text, enabled ? "true" : "false");
	r = require_admin(call, "SetPluginEnabled", args, &uid, error);
	if (r < 0)
		return r;
	r = check_name("plugin name", name, NAME_MAX_BYTES, error);
	if (r < 0)
		goto out;
	r = load_dropins(daemon, &set, error);
	if (r < 0)
		goto out;
	dropin = find_dropin(&set, name, name_text, error);
	if (!dropin) {
		r = -sd_bus_error_get_errno(error);
		goto out;
	}
	if (dropin->enabled == (bool)enabled) {
		gb_info("D-Bus: plugin %s %s is %s already (%s); nothing to change",
		        gb_plugin_kind_to_string(dropin->kind), dropin->name,
		        enabled ? "enabled" : "disabled", dropin->path);
		r = sd_bus_reply_method_return(call, NULL);
		goto out;
	}

	r = write_plugin_override(daemon, dropin, enabled, &target, &previous, &why);
	if (r < 0) {
		gb_error("D-Bus: %s", why);
		r = sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s", why);
		goto out;
	}
	gb_info("D-Bus: plugin %s %s %s: %s %s", gb_plugin_kind_to_string(dropin->kind),
	        dropin->name, enabled ? "enabled" : "disabled",
	        g_file_test(target, G_FILE_TEST_EXISTS) ? "wrote" : "removed", target);

	g_clear_pointer(&why, g_free);
	r = gb_daemon_reload(daemon, &why);
	if (r < 0) {
		g_autofree char *undo_why = NULL;

		/* Leave no file behind that the next start would refuse. */
		if (previous)
			write_file_atomically(target, previous, &undo_why);
		else if (unlink(target) < 0)
			undo_why =
			        g_strdup_printf("cannot remove %s: %s", target, strerror(errno));
		if (undo_why)
			gb_error("D-Bus: cannot undo the change: %s", undo_why);
		else
			gb_info("D-Bus: reload refused; %s put back as it was", target);
		r = sd_bus_error_setf(error, ERROR_RELOAD_REFUSED, "%s (the drop-in was put back)",
		                      why ? why : "reload refused");
		goto out;
	}
	r = sd_bus_reply_method_return(call, NULL);
out:
	gb_dropin_set_clear(&set);
	admin_done(uid, "SetPluginEnabled", args, r);
	return r;
}

static int method_reload(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	g_autofree char *why = NULL;
	uid_t uid;
	int r;

	r = require_admin(call, "Reload", "", &uid, error);
	if (r < 0)
		return r;
	r = gb_daemon_reload(state->daemon, &why);
	if (r < 0)
		r = sd_bus_error_setf(error, ERROR_RELOAD_REFUSED, "%s",
		                      why ? why : "reload refused");
	else
		r = sd_bus_reply_method_return(call, NULL);
	admin_done(uid, "Reload", "", r);
	return r;
}

/* ---- users, through the auth plugins' user management ---- */

static void listed_user_free(gpointer data)
{
	struct listed_user *user = data;

	g_free(user->user);
	g_free(user);
}

static void user_op_free(struct user_op *op)
{
	sd_bus_message_unref(op->call);
	g_free(op->args);
	g_free(op->user);
	free_secret(op->password);
	if (op->users)
		g_ptr_array_unref(op->users);
	g_free(op);
}

static void collect_user(void *data, const char *user, uint32_t roles)
{
	struct user_op *op = data;
	struct listed_user *listed;

	if (!user || op->users->len >= USERS_LISTED_MAX) {
		op->truncated = op->truncated || user != NULL;
		return;
	}
	listed = g_new0(struct listed_user, 1);
	listed->user = g_strndup(user, GB_IDENTITY_NAME_MAX - 1);
	listed->roles = roles;
	g_ptr_array_add(op->users, listed);
}

/* True when the plugin's ops have the member @kind needs. */
static bool plugin_can(const struct gb_auth_ops *ops, enum user_op_kind kind)
{
	switch (kind) {
	case USER_LIST:
		return GB_AUTH_OPS_HAS(ops, list_users);
	case USER_ADD:
		return GB_AUTH_OPS_HAS(ops, add_user);
	case USER_SET_PASSWORD:
		return GB_AUTH_OPS_HAS(ops, set_password);
	case USER_REMOVE:
		return GB_AUTH_OPS_HAS(ops, remove_user);
	}
	return false;
}

static gboolean user_op_finished(gpointer data);

/* On the worker thread: one call into the first plugin that manages users. */
static void user_op_run(gpointer data, gpointer pool_data)
{
	struct user_op *op = data;
	struct gb_daemon *daemon = op->bus->daemon;
	const struct gb_plugin *plugin = NULL;
	const struct gb_auth_ops *ops = NULL;

	g_mutex_lock(&daemon->auth_lock);
	for (size_t i = 0; i < daemon->n_auth_plugins && !plugin; i++) {
		const struct gb_auth_ops *candidate = daemon->auth_plugins[i]->descriptor->ops;

		if (candidate && plugin_can(candidate, op->kind)) {
			plugin = daemon->auth_plugins[i];
			ops = candidate;
		}
	}
	if (!plugin) {
		op->result = -EOPNOTSUPP;
	} else {
		g_strlcpy(op->plugin, plugin->descriptor->name, sizeof(op->plugin));
		switch (op->kind) {
		case USER_LIST:
			op->result = ops->list_users(plugin->state, collect_user, op);
			break;
		case USER_ADD:
			op->result =
			        ops->add_user(plugin->state, op->user, op->password, op->roles);
			break;
		case USER_SET_PASSWORD:
			op->result = ops->set_password(plugin->state, op->user, op->password);
			break;
		case USER_REMOVE:
			op->result = ops->remove_user(plugin->state, op->user);
			break;
		}
		if (op->result > 0)
			op->result = 0;
	}
	g_mutex_unlock(&daemon->auth_lock);
	/* The password is not needed any more: wipe it now, not later. */
	free_secret(op->password);
	op->password = NULL;
	g_idle_add(user_op_finished, op);
}

static char *roles_text(uint32_t roles)
{
	GString *text = g_string_new(NULL);

	if (roles & GB_ROLE_ADMIN)
		g_string_append(text, "admin");
	if (roles & GB_ROLE_USER)
		g_string_append_printf(text, "%suser", text->len ? "," : "");
	return g_string_free(text, FALSE);
}

static int user_op_error(struct user_op *op, sd_bus_error *error)
{
	g_autofree char *user = op->user ? gb_printable_dup(op->user) : g_strdup("");

	switch (op->result) {
	case -EOPNOTSUPP:
		return sd_bus_error_setf(error, ERROR_NOT_SUPPORTED,
		                         "no enabled auth plugin manages users (%s needs one "
		                         "such as auth-local)",
		                         user_op_methods[op->kind]);
	case -EEXIST:
		return sd_bus_error_setf(error, ERROR_USER_EXISTS,
		                         "user '%s' exists already in %s", user, op->plugin);
	case -ENOENT:
		return sd_bus_error_setf(error, ERROR_NO_SUCH_USER, "no user '%s' in %s", user,
		                         op->plugin);
	case -EINVAL:
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
		                         "auth plugin %s refused the user name or password for "
		                         "'%s' (glassboxd's log says why)",
		                         op->plugin, user);
	default:
		return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
		                         "auth plugin %s: %s failed: %s", op->plugin,
		                         user_op_methods[op->kind], strerror(-op->result));
	}
}

static int user_op_reply(struct user_op *op)
{
	sd_bus_message *reply = NULL;
	int r;

	if (op->kind != USER_LIST)
		return sd_bus_reply_method_return(op->call, NULL);
	if (op->truncated)
		gb_warning("D-Bus: ListUsers: %s has more than %d users; listing the first ones",
		           op->plugin, USERS_LISTED_MAX);
	r = sd_bus_message_new_method_return(op->call, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(sss)");
	for (guint i = 0; r >= 0 && i < op->users->len; i++) {
		const struct listed_user *user = op->users->pdata[i];
		g_autofree char *roles = roles_text(user->roles);

		/* A name that is not UTF-8 would make sd-bus refuse the whole reply. */
		if (!g_utf8_validate(user->user, -1, NULL))
			continue;
		r = sd_bus_message_append(reply, "(sss)", user->user, roles, op->plugin);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

/* Back on the main loop: answer the call. */
static gboolean user_op_finished(gpointer data)
{
	struct user_op *op = data;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	g_queue_unlink(&op->bus->user_ops, &op->link);
	/* Whoever knew the old password, or was the user, is out now. */
	if (op->result == 0 && op->kind == USER_SET_PASSWORD)
		gb_auth_end_logins(op->bus->daemon, NULL, op->user, op->plugin,
		                   "logged out: the password was changed");
	else if (op->result == 0 && op->kind == USER_REMOVE)
		gb_auth_end_logins(op->bus->daemon, NULL, op->user, op->plugin,
		                   "logged out: the user was removed");
	if (op->result < 0) {
		r = user_op_error(op, &error);
		sd_bus_reply_method_error(op->call, &error);
		sd_bus_error_free(&error);
	} else {
		r = user_op_reply(op);
		if (r < 0) {
			sd_bus_reply_method_errnof(op->call, -r, "cannot send the answer: %s",
			                           strerror(-r));
			gb_warning("D-Bus: %s: cannot send the answer: %s",
			           user_op_methods[op->kind], strerror(-r));
		}
	}
	admin_done(op->uid, user_op_methods[op->kind], op->args, op->result < 0 ? op->result : r);
	user_op_free(op);
	return G_SOURCE_REMOVE;
}

static int parse_roles(sd_bus_message *call, uint32_t *roles, sd_bus_error *error)
{
	const char *role;
	unsigned count = 0;
	int r;

	*roles = 0;
	r = sd_bus_message_enter_container(call, 'a', "s");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(call, "s", &role)) > 0) {
		if (++count > ROLES_MAX)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			                         "more than %d roles", ROLES_MAX);
		if (strcmp(role, "admin") == 0)
			*roles |= GB_ROLE_ADMIN;
		else if (strcmp(role, "user") == 0)
			*roles |= GB_ROLE_USER;
		else {
			g_autofree char *text = gb_printable_dup(role);

			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			                         "unknown role '%s' (expected admin or user)",
			                         text);
		}
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(call);
	if (r < 0)
		return r;
	/* Everyone who logs in may use their own session. */
	*roles |= GB_ROLE_USER;
	return 0;
}

static int start_user_op(sd_bus_message *call, struct gb_dbus *state, enum user_op_kind kind,
                         sd_bus_error *error)
{
	const char *method = user_op_methods[kind];
	const char *user = NULL, *password = NULL;
	g_autofree char *args = NULL;
	struct user_op *op;
	uint32_t roles = 0;
	uid_t uid;
	int r;

	switch (kind) {
	case USER_LIST:
		break;
	case USER_ADD:
		r = sd_bus_message_read(call, "ss", &user, &password);
		if (r >= 0)
			r = parse_roles(call, &roles, error);
		if (r < 0)
			return r;
		break;
	case USER_SET_PASSWORD:
		r = sd_bus_message_read(call, "ss", &user, &password);
		if (r < 0)
			return r;
		break;
	case USER_REMOVE:
		r = sd_bus_message_read(call, "s", &user);
		if (r < 0)
			return r;
		break;
	}
	if (user) {
		g_autofree char *roles_part = kind == USER_ADD ? roles_text(roles) : NULL;
		g_autofree char *user_text = gb_printable_dup(user);

		args = roles_part ? g_strdup_printf("%s, roles %s", user_text, roles_part)
		                  : g_steal_pointer(&user_text);
	} else {
		args = g_strdup("");
	}

	r = require_admin(call, method, args, &uid, error);
	if (r < 0)
		return r;
	if (user) {
		r = check_name("user name", user, GB_IDENTITY_NAME_MAX - 1, error);
		if (r < 0)
			goto refused;
	}
	if (password) {
		r = check_name("password", password, PASSWORD_MAX_BYTES, error);
		if (r < 0)
			goto refused;
	}
	if (state->user_ops.length >= USER_OPS_PENDING_MAX) {
		r = sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
		                      "%u user management calls are waiting already; try again",
		                      state->user_ops.length);
		goto refused;
	}

	op = g_new0(struct user_op, 1);
	op->bus = state;
	op->kind = kind;
	op->call = sd_bus_message_ref(call);
	op->uid = uid;
	op->args = g_steal_pointer(&args);
	op->user = g_strdup(user);
	op->password = g_strdup(password);
	op->roles = roles;
	op->users = g_ptr_array_new_with_free_func(listed_user_free);
	op->link.data = op;
	g_queue_push_tail_link(&state->user_ops, &op->link);
	g_thread_pool_push(state->worker, op, NULL);
	return 1;

refused:
	admin_done(uid, method, args, r);
	return r;
}

static int method_list_users(sd_bus_message *call, void *data, sd_bus_error *error)
{
	return start_user_op(call, data, USER_LIST, error);
}

static int method_add_user(sd_bus_message *call, void *data, sd_bus_error *error)
{
	return start_user_op(call, data, USER_ADD, error);
}

static int method_set_password(sd_bus_message *call, void *data, sd_bus_error *error)
{
	return start_user_op(call, data, USER_SET_PASSWORD, error);
}

static int method_remove_user(sd_bus_message *call, void *data, sd_bus_error *error)
{
	return start_user_op(call, data, USER_REMOVE, error);
}

/* ---- screenshots, from the session's control socket ---- */

static void screenshot_free(struct screenshot *shot)
{
	gb_session_control_cancel(shot->control);
	if (shot->path) {
		unlink(shot->path);
		g_free(shot->path);
	}
	sd_bus_message_unref(shot->call);
	g_free(shot);
}

/* Answer the call with an error (or, with @png, the picture) and free it. */
static void screenshot_finish(struct screenshot *shot, int result, const char *error_name,
                              const char *message, const void *png, size_t png_size)
{
	sd_bus_message *reply = NULL;
	g_autofree char *args = g_strdup(shot->session_id);
	uid_t uid = shot->uid;
	int r;

	g_queue_unlink(&shot->bus->screenshots, &shot->link);
	if (result < 0) {
		sd_bus_reply_method_errorf(shot->call, error_name, "%s", message);
	} else {
		r = sd_bus_message_new_method_return(shot->call, &reply);
		if (r >= 0)
			r = sd_bus_message_append_array(reply, 'y', png, png_size);
		if (r >= 0)
			r = sd_bus_send(NULL, reply, NULL);
		sd_bus_message_unref(reply);
		if (r < 0) {
			result = r;
			sd_bus_reply_method_errnof(shot->call, -r,
			                           "cannot send the screenshot: %s", strerror(-r));
		}
	}
	if (result < 0)
		gb_warning("D-Bus: screenshot of session %s: %s", shot->session_id,
		           message ? message : strerror(-result));
	else
		gb_info("D-Bus: screenshot of session %s: %zu bytes of PNG", shot->session_id,
		        png_size);
	screenshot_free(shot);
	admin_done(uid, "Screenshot", args, result);
}

/* The session said ok: read its PNG (then screenshot_free() deletes it). */
static void screenshot_read(struct screenshot *shot)
{
	static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	g_autofree char *message = NULL;
	g_autofree unsigned char *png = NULL;
	struct stat st;
	size_t done = 0;
	int fd, r;

	fd = open(shot->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		message = g_strdup_printf("cannot open the screenshot %s: %s", shot->path,
		                          strerror(-r));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(signature) ||
	    st.st_size > SCREENSHOT_SIZE_MAX) {
		r = -EINVAL;
		message = g_strdup_printf("the screenshot %s is not a regular file of 8 bytes to "
		                          "%d MiB",
		                          shot->path, SCREENSHOT_SIZE_MAX >> 20);
		goto fail;
	}
	png = g_malloc((size_t)st.st_size);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, png + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			message = g_strdup_printf("cannot read the screenshot %s: %s", shot->path,
			                          strerror(-r));
			goto fail;
		}
		done += (size_t)n;
	}
	close(fd);
	fd = -1;
	if (memcmp(png, signature, sizeof(signature)) != 0) {
		r = -EINVAL;
		message = g_strdup_printf("the session wrote something other than a PNG to %s",
		                          shot->path);
		goto fail;
	}
	screenshot_finish(shot, 0, NULL, NULL, png, done);
	return;

fail:
	if (fd >= 0)
		close(fd);
	screenshot_finish(shot, r, ERROR_SCREENSHOT, message, NULL, 0);
}

/* The session's answer to "screenshot PATH", or why none came. */
static void screenshot_answered(void *data, int result, const char *line)
{
	struct screenshot *shot = data;
	g_autofree char *message = NULL;
	g_autofree char *answer = NULL;

	shot->control = NULL; /* freed after this returns */
	if (result == -ETIMEDOUT) {
		message = g_strdup_printf("session %s did not deliver a frame within %d s",
		                          shot->session_id, SCREENSHOT_TIMEOUT_S);
		screenshot_finish(shot, -ETIMEDOUT, ERROR_SCREENSHOT, message, NULL, 0);
	} else if (result == -EMSGSIZE) {
		screenshot_finish(shot, -EPROTO, ERROR_SCREENSHOT,
		                  "the session's answer is longer than a line may be", NULL, 0);
	} else if (result < 0) {
		message = g_strdup_printf("the session closed its control socket without an "
		                          "answer%s%s",
		                          result != -EPIPE ? ": " : "",
		                          result != -EPIPE ? strerror(-result) : "");
		screenshot_finish(shot, -EPIPE, ERROR_SCREENSHOT, message, NULL, 0);
	} else if (strcmp(line, "ok") == 0) {
		screenshot_read(shot);
	} else {
		answer = gb_printable_dup(line);
		message = g_strdup_printf(
		        "the session could not take the screenshot: %s",
		        g_str_has_prefix(answer, "error ") ? answer + strlen("error ") : answer);
		screenshot_finish(shot, -EIO, ERROR_SCREENSHOT, message, NULL, 0);
	}
}

/* Ask the session's control socket for the next frame, written to a file of its own. */
static int screenshot_request(struct screenshot *shot, const struct gb_daemon_session *session,
                              char **why)
{
	unsigned char random_bytes[8];
	g_autofree char *command = NULL;
	g_autofree char *folder = NULL;
	char name[2 * sizeof(random_bytes) + 1];
	char error[512];
	int r;

	if (!session->control_path) {
		*why = g_strdup("the session has no usable control socket");
		return -EINVAL;
	}
	r = gb_random_bytes(random_bytes, sizeof(random_bytes));
	if (r < 0) {
		*why = g_strdup_printf("getrandom: %s", strerror(-r));
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(random_bytes); i++)
		snprintf(name + 2 * i, 3, "%02x", random_bytes[i]);
	/* The session's own folder (direct: runtime_dir/sessions/ID; systemd: its
	 * unit's RuntimeDirectory), where it may write and others may not. */
	folder = g_path_get_dirname(session->control_path);
	shot->path = g_strdup_printf("%s/screenshot-%s.png", folder, name);
	command = g_strdup_printf("screenshot %s\n", shot->path);
	shot->control = gb_session_control_call(session, command, SCREENSHOT_ANSWER_MAX - 1,
	                                        SCREENSHOT_TIMEOUT_S * 1000, screenshot_answered,
	                                        shot, error, sizeof(error));
	if (!shot->control) {
		r = -errno;
		*why = g_strdup(error);
		return r;
	}
	return 0;
}

static int method_screenshot(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon_session *session;
	struct screenshot *shot;
	g_autofree char *args = NULL;
	g_autofree char *why = NULL;
	const char *id;
	uid_t uid;
	int r;

	r = sd_bus_message_read(call, "s", &id);
	if (r < 0)
		return r;
	args = gb_printable_dup(id);
	r = require_admin(call, "Screenshot", args, &uid, error);
	if (r < 0)
		return r;
	r = check_name("session id", id, NAME_MAX_BYTES, error);
	if (r < 0)
		goto refused;
	session = find_session(state->daemon, id);
	if (!session) {
		r = sd_bus_error_setf(error, ERROR_NO_SUCH_SESSION, "no session '%s'", args);
		goto refused;
	}
	if (session->state != GB_SESSION_RUNNING) {
		r = sd_bus_error_setf(error, ERROR_NOT_RUNNING, "session %s is %s, not running",
		                      session->id, session_state_name(session->state));
		goto refused;
	}
	if (state->screenshots.length >= SCREENSHOTS_MAX) {
		r = sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
		                      "%d screenshots are being taken already; try again",
		                      SCREENSHOTS_MAX);
		goto refused;
	}

	shot = g_new0(struct screenshot, 1);
	shot->bus = state;
	shot->uid = uid;
	shot->call = sd_bus_message_ref(call);
	g_strlcpy(shot->session_id, session->id, sizeof(shot->session_id));
	shot->link.data = shot;
	r = screenshot_request(shot, session, &why);
	if (r < 0) {
		screenshot_free(shot);
		r = sd_bus_error_setf(error, ERROR_SCREENSHOT, "session %s: %s", session->id, why);
		goto refused;
	}
	g_queue_push_tail_link(&state->screenshots, &shot->link);
	return 1;

refused:
	admin_done(uid, "Screenshot", args, r);
	return r;
}

/* ---- the object ---- */

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("SessionCount", "u", get_session_count, 0,
	                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("MaxSessions", "u", get_max_sessions, 0,
	                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_NAMES("ListSessions", "", , "a(ssssuxs)", SD_BUS_PARAM(sessions),
	                         method_list_sessions, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("TerminateSession", "s", SD_BUS_PARAM(id), "", ,
	                         method_terminate_session, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("Screenshot", "s", SD_BUS_PARAM(id), "ay", SD_BUS_PARAM(png),
	                         method_screenshot, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("ListPlugins", "", , "a(sssbs)", SD_BUS_PARAM(plugins),
	                         method_list_plugins, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("SetPluginEnabled", "sb",
	                         SD_BUS_PARAM(name) SD_BUS_PARAM(enabled), "", ,
	                         method_set_plugin_enabled, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Reload", "", "", method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("ListUsers", "", , "a(sss)", SD_BUS_PARAM(users),
	                         method_list_users, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("AddUser", "ssas",
	                         SD_BUS_PARAM(user) SD_BUS_PARAM(password) SD_BUS_PARAM(roles), "",
	                         , method_add_user, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("SetPassword", "ss", SD_BUS_PARAM(user) SD_BUS_PARAM(password),
	                         "", , method_set_password, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_NAMES("RemoveUser", "s", SD_BUS_PARAM(user), "", , method_remove_user,
	                         SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_NAMES("SessionNew", "ss", SD_BUS_PARAM(id) SD_BUS_PARAM(user), 0),
	SD_BUS_SIGNAL_WITH_NAMES("SessionRemoved", "sss",
	                         SD_BUS_PARAM(id) SD_BUS_PARAM(user) SD_BUS_PARAM(reason), 0),
	SD_BUS_VTABLE_END,
};

static const char *bus_address_for_log(void)
{
	const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");

	return address ? address : "the system bus";
}

int gb_dbus_start(struct gb_daemon *daemon, enum gb_dbus_mode mode)
{
	struct gb_dbus *state = &bus_state;
	g_autoptr(GError) gerror = NULL;
	const char *step;
	int r;

	if (mode == GB_DBUS_OFF) {
		gb_info("D-Bus: the API is off (--dbus=off); glassboxctl will not reach "
		        "glassboxd");
		return 0;
	}
	memset(state, 0, sizeof(*state));
	state->daemon = daemon;
	g_queue_init(&state->user_ops);
	g_queue_init(&state->screenshots);

	step = "connect to";
	r = sd_bus_open_system_with_description(&state->bus, "glassboxd");
	if (r >= 0) {
		step = "export " GB_DBUS_PATH " on";
		r = sd_bus_add_object_vtable(state->bus, &state->object, GB_DBUS_PATH,
		                             GB_DBUS_INTERFACE, manager_vtable, state);
	}
	if (r >= 0) {
		step = "own the name " GB_DBUS_NAME " on";
		r = sd_bus_request_name(state->bus, GB_DBUS_NAME, 0);
	}
	if (r >= 0) {
		step = "watch";
		r = gb_sd_bus_attach(state->bus, NULL, &state->source);
	}
	if (r < 0) {
		const char *hint = r == -EEXIST ? " (another glassboxd owns it)"
		                   : r == -EACCES
		                           ? " (the bus policy, packaging/dbus/" GB_DBUS_NAME
		                             ".conf, lets only root own it)"
		                           : "";

		if (mode == GB_DBUS_REQUIRED) {
			gb_error("D-Bus: cannot %s %s: %s%s; refusing to start (--dbus=required)",
			         step, bus_address_for_log(), strerror(-r), hint);
		} else {
			gb_warning("D-Bus: cannot %s %s: %s%s; going on without the "
			           "org.glassbox.Manager1 API (glassboxctl will not reach "
			           "glassboxd)",
			           step, bus_address_for_log(), strerror(-r), hint);
			r = 0;
		}
		gb_dbus_stop(daemon);
		state->daemon = NULL;
		return r;
	}

	/* One thread: an auth plugin sees one call at a time anyway. */
	state->worker = g_thread_pool_new(user_op_run, NULL, 1, FALSE, &gerror);
	if (!state->worker) {
		gb_error("D-Bus: cannot start the user management thread: %s", gerror->message);
		gb_dbus_stop(daemon);
		return -ENOMEM;
	}
	gb_info("D-Bus: %s on %s", GB_DBUS_NAME, bus_address_for_log());
	return 0;
}

void gb_dbus_stop(struct gb_daemon *daemon)
{
	struct gb_dbus *state = &bus_state;
	GList *link;

	if (state->daemon != daemon)
		return;
	/* Let a running plugin call end before the plugins are unloaded; calls
	 * still queued are not started, and answered below. */
	if (state->worker)
		g_thread_pool_free(state->worker, TRUE, TRUE);
	state->worker = NULL;
	while ((link = g_queue_pop_head_link(&state->user_ops))) {
		struct user_op *op = link->data;

		g_source_remove_by_user_data(op);
		sd_bus_reply_method_errorf(op->call, SD_BUS_ERROR_FAILED, "glassboxd is stopping");
		user_op_free(op);
	}
	while ((link = g_queue_peek_head_link(&state->screenshots)))
		screenshot_finish(link->data, -ECANCELED, ERROR_SCREENSHOT,
		                  "glassboxd is stopping", NULL, 0);
	g_clear_pointer(&state->refusals, g_hash_table_destroy);
	gb_sd_bus_detach(state->source);
	state->source = NULL;
	state->object = sd_bus_slot_unref(state->object);
	if (state->bus)
		state->bus = sd_bus_flush_close_unref(state->bus);
	state->daemon = NULL;
}
