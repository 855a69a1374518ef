/* SPDX-License-Identifier: MIT */
/*
 * What the files of org.glassbox.Manager1 share: dbus.c (the object, its
 * method table, properties and signals), dbus-caller.c (who is calling and
 * what they may do), dbus-sessions.c, dbus-plugins.c and dbus-users.c (the
 * methods).
 */
#ifndef GB_DBUS_PRIVATE_H
#define GB_DBUS_PRIVATE_H

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>

#include "dbus.h"

/* Limits on what a caller sends. */
#define NAME_MAX_BYTES       64   /* session ids, plugin names */
#define PASSWORD_MAX_BYTES   1024 /* like POST /api/login */
#define ROLES_MAX            8    /* entries of AddUser's roles */
#define USER_OPS_PENDING_MAX 16   /* user management calls waiting for the worker */
#define USERS_LISTED_MAX     100000
#define SCREENSHOTS_MAX      4 /* at once; a session takes 4 control connections */

#define ERROR_PREFIX          GB_DBUS_INTERFACE ".Error."
#define ERROR_NO_SUCH_SESSION ERROR_PREFIX "NoSuchSession"
#define ERROR_NO_SUCH_PLUGIN  ERROR_PREFIX "NoSuchPlugin"
#define ERROR_NO_SUCH_USER    ERROR_PREFIX "NoSuchUser"
#define ERROR_USER_EXISTS     ERROR_PREFIX "UserExists"
#define ERROR_NOT_SUPPORTED   ERROR_PREFIX "NotSupported"
#define ERROR_RELOAD_REFUSED  ERROR_PREFIX "ReloadRefused"
#define ERROR_NOT_RUNNING     ERROR_PREFIX "SessionNotRunning"
#define ERROR_SCREENSHOT      ERROR_PREFIX "ScreenshotFailed"

struct gb_dbus {
	struct gb_daemon *daemon;
	sd_bus *bus;
	sd_bus_slot *object;
	GSource *source;
	GQueue user_ops;    /* struct user_op not yet answered (dbus-users.c) */
	GQueue screenshots; /* struct screenshot not yet answered (dbus-sessions.c) */
};

/* dbus-caller.c */
/**
 * Refuse callers that are not administrators (root, or the group
 * glassbox-admin): 0 when @call may go on (with *@uid), or a negative errno
 * with @error set (AccessDenied naming the uid), logged and audited.
 */
int gb_dbus_require_admin(sd_bus_message *call, const char *method, const char *args, uid_t *uid,
                          sd_bus_error *error);
/** Log and audit an administrative action and how it ended (0 or -errno). */
void gb_dbus_admin_done(uid_t uid, const char *method, const char *args, int result);
/** InvalidArgs unless @name is 1..@max bytes; @what names it in the error. */
int gb_dbus_check_name(const char *what, const char *name, size_t max, sd_bus_error *error);
/** Forget the refused callers (at stop). */
void gb_dbus_caller_fini(void);

/* The methods, for dbus.c's table; @data is the struct gb_dbus. */
int gb_dbus_list_sessions(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_terminate_session(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_screenshot(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_list_plugins(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_set_plugin_enabled(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_reload(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_list_users(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_add_user(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_set_password(sd_bus_message *call, void *data, sd_bus_error *error);
int gb_dbus_remove_user(sd_bus_message *call, void *data, sd_bus_error *error);
/* dbus-storage.c */
int gb_dbus_list_mounts(sd_bus_message *call, void *data, sd_bus_error *error);

/* dbus-users.c: answer the user management calls still out at stop. */
void gb_dbus_users_stop(struct gb_dbus *state);
/* dbus-sessions.c: answer the screenshots still out at stop. */
void gb_dbus_screenshots_stop(struct gb_dbus *state);

#endif
