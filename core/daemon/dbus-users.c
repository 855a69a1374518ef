/* SPDX-License-Identifier: MIT */
/*
 * org.glassbox.Manager1's users: ListUsers, AddUser, SetPassword and
 * RemoveUser, through the user management of the first enabled auth plugin
 * that has it (auth-local). Those calls hash passwords, so they run on the
 * auth worker (gb_auth_queue_work()), one at a time like the login checks;
 * the method call is kept (sd_bus_message_ref) and answered when the work
 * is done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "daemon.h"
#include "auth.h"
#include "dbus-private.h"
#include "log.h"
#include "printable.h"

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
	GList link; /* in gb_dbus.user_ops, until answered */
	/* Answered already (glassboxd is stopping): the worker skips it, its
	 * end only frees it. Set on the main loop, read on the worker. */
	gint cancelled;
};

static void free_secret(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	g_free(secret);
}

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

/* On the worker thread: one call into the first plugin that manages users. */
static void user_op_run(void *data, struct gb_plugin *const *plugins, size_t n_plugins)
{
	struct user_op *op = data;
	const struct gb_plugin *plugin = NULL;
	const struct gb_auth_ops *ops = NULL;

	for (size_t i = 0; i < n_plugins && !plugin; i++) {
		const struct gb_auth_ops *candidate = plugins[i]->descriptor->ops;

		if (candidate && plugin_can(candidate, op->kind)) {
			plugin = plugins[i];
			ops = candidate;
		}
	}
	if (g_atomic_int_get(&op->cancelled)) {
		op->result = -ECANCELED;
	} else if (!plugin) {
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
	/* The password is not needed any more: wipe it now, not later. */
	free_secret(op->password);
	op->password = NULL;
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
static void user_op_finished(void *data)
{
	struct user_op *op = data;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	if (g_atomic_int_get(&op->cancelled)) {
		user_op_free(op); /* answered at the stop */
		return;
	}
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
	gb_dbus_admin_done(op->uid, user_op_methods[op->kind], op->args,
	                   op->result < 0 ? op->result : r);
	user_op_free(op);
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

	r = gb_dbus_require_admin(call, method, args, &uid, error);
	if (r < 0)
		return r;
	if (user) {
		r = gb_dbus_check_name("user name", user, GB_IDENTITY_NAME_MAX - 1, error);
		if (r < 0)
			goto refused;
	}
	if (password) {
		r = gb_dbus_check_name("password", password, PASSWORD_MAX_BYTES, error);
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
	r = gb_auth_queue_work(state->daemon, user_op_run, user_op_finished, op);
	if (r < 0) {
		r = sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "glassboxd is stopping");
		gb_dbus_admin_done(uid, method, op->args, r);
		user_op_free(op);
		return r;
	}
	g_queue_push_tail_link(&state->user_ops, &op->link);
	return 1;

refused:
	gb_dbus_admin_done(uid, method, args, r);
	return r;
}

int gb_dbus_list_users(sd_bus_message *call, void *data, sd_bus_error *error)
{
	return start_user_op(call, data, USER_LIST, error);
}

int gb_dbus_add_user(sd_bus_message *call, void *data, sd_bus_error *error)
{
	return start_user_op(call, data, USER_ADD, error);
}

int gb_dbus_set_password(sd_bus_message *call, void *data, sd_bus_error *error)
{
	return start_user_op(call, data, USER_SET_PASSWORD, error);
}

int gb_dbus_remove_user(sd_bus_message *call, void *data, sd_bus_error *error)
{
	return start_user_op(call, data, USER_REMOVE, error);
}

void gb_dbus_users_stop(struct gb_dbus *state)
{
	GList *link;

	/* Answered now; the worker skips those it has not begun, and frees
	 * each when its end comes back (gb_auth_fini() waits for that). */
	while ((link = g_queue_pop_head_link(&state->user_ops))) {
		struct user_op *op = link->data;

		sd_bus_reply_method_errorf(op->call, SD_BUS_ERROR_FAILED, "glassboxd is stopping");
		g_atomic_int_set(&op->cancelled, 1);
	}
}
