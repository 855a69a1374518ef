/* SPDX-License-Identifier: MIT */
/*
 * Who is calling org.glassbox.Manager1, and whether they may: reading the
 * state is open to everyone, anything that changes it (and Screenshot,
 * ListUsers) needs euid 0 or the group glassbox-admin in the caller's
 * credentials as the bus daemon reports them. Asking the bus daemon for
 * them is a synchronous call (sd_bus_query_sender_creds() makes one too): a
 * round trip to a local, trusted peer, made only for administrative calls.
 * Refused calls are logged and audited, a bounded number per caller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <string.h>

#include <glib.h>

#include "audit.h"
#include "dbus-private.h"
#include "log.h"

/* Refused calls (not an administrator) logged and audited per caller uid and
 * window; the rest are counted and summed up in one line when it ends. */
#define REFUSALS_LOGGED_MAX 10
#define REFUSAL_WINDOW_S    60
#define REFUSAL_CALLERS_MAX 1024 /* caller uids followed at once */

/* The refused calls of one caller uid in its current window. */
struct refusal_window {
	uid_t uid;
	gint64 start_us;   /* g_get_monotonic_time() */
	unsigned logged;   /* up to REFUSALS_LOGGED_MAX */
	unsigned unlogged; /* after that */
	guint summary;     /* at the window's end, logs how many went unlogged */
};

static GHashTable *refusals; /* caller uid -> struct refusal_window */

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
	g_hash_table_remove(refusals, GUINT_TO_POINTER(window->uid));
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
	gint64 now = g_get_monotonic_time();
	struct refusal_window *window;
	gint64 left_us;

	if (!refusals)
		refusals = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
		                                 refusal_window_free);
	window = g_hash_table_lookup(refusals, GUINT_TO_POINTER(uid));
	if (window && refusal_window_over(NULL, window, &now)) {
		g_hash_table_remove(refusals, GUINT_TO_POINTER(uid));
		window = NULL;
	}
	if (!window) {
		if (g_hash_table_size(refusals) >= REFUSAL_CALLERS_MAX)
			g_hash_table_foreach_remove(refusals, refusal_window_over, &now);
		if (g_hash_table_size(refusals) >= REFUSAL_CALLERS_MAX)
			return false;
		window = g_new0(struct refusal_window, 1);
		window->uid = uid;
		window->start_us = now;
		g_hash_table_insert(refusals, GUINT_TO_POINTER(uid), window);
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
void gb_dbus_admin_done(uid_t uid, const char *method, const char *args, int result)
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
int gb_dbus_require_admin(sd_bus_message *call, const char *method, const char *args, uid_t *uid,
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
		gb_dbus_admin_done(*uid, method, args, -EACCES);
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
		                         "uid %u may not call %s: only root and members of the "
		                         "group %s may",
		                         (unsigned)*uid, method, GB_DBUS_ADMIN_GROUP);
	}
	return 0;
}

int gb_dbus_check_name(const char *what, const char *name, size_t max, sd_bus_error *error)
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

void gb_dbus_caller_fini(void)
{
	g_clear_pointer(&refusals, g_hash_table_destroy);
}
