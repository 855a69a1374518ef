/* SPDX-License-Identifier: MIT */
/*
 * The auth object: the auth plugins, the one worker thread that calls them
 * and the lock around those calls, the logins (cookies) and their saved
 * copy, and the failed-login limits. auth.c (password logins, logout,
 * whoami, expiry), auth-worker.c (the plugins, the worker and its lock),
 * auth-redirect.c (logins through a
 * provider), auth-store.c (the saved logins), login-limits.c (the limit
 * tables).
 */
#ifndef GB_AUTH_H
#define GB_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <libsoup/soup.h>

#include "login.h"
#include "login-store.h"
#include "plugin-loader.h"

struct gb_daemon;

int gb_auth_init(struct gb_daemon *daemon);
void gb_auth_fini(struct gb_daemon *daemon);
/** POST /api/login, POST /api/logout, GET /api/whoami (gb_http_add_route()). */
void gb_auth_add_routes(struct gb_daemon *daemon);
/** The redirect logins under way (auth-redirect.c): after gb_auth_init(), before gb_auth_fini().
 */
void gb_auth_redirect_init(struct gb_daemon *daemon);
void gb_auth_redirect_fini(struct gb_daemon *daemon);
/** GET /api/auth/methods, /api/login/redirect, /api/login/callback/NAME (auth-redirect.c). */
void gb_auth_redirect_add_routes(struct gb_daemon *daemon);
/** The login the request's cookie stands for, or NULL (none, unknown, expired). */
struct gb_login *gb_auth_find_login(struct gb_daemon *daemon, SoupServerMessage *msg);
struct gb_login *gb_auth_lookup_key(struct gb_daemon *daemon, const char *key);
/** The identity namespace of the auth plugin @plugin: its drop-in's, or its name. */
const char *gb_auth_plugin_namespace(const struct gb_plugin *plugin);
/** The namespace of the enabled auth plugin named @plugin now, or NULL (none such). */
const char *gb_auth_namespace_of(struct gb_daemon *daemon, const char *plugin);
/**
 * Revoke: end every login of @user (NULL: anyone's) in @identity_namespace
 * (NULL: any) that auth plugin @plugin (NULL: any) vouched for, close their
 * WebSockets with @reason (short: it goes in the close frame) and save the
 * logins table. Returns how many.
 */
unsigned gb_auth_end_logins(struct gb_daemon *daemon, const char *identity_namespace,
                            const char *user, const char *plugin, const char *reason);
/** True when auth plugin @name is loaded (enabled in plugins.d). */
bool gb_auth_plugin_is_enabled(struct gb_daemon *daemon, const char *name);
/** After a reload: end the logins whose auth plugin is no longer enabled. */
unsigned gb_auth_end_orphaned_logins(struct gb_daemon *daemon);
/** Arm the timer that ends logins (and closes their WebSockets) at expiry. */
void gb_auth_schedule_expiry(struct gb_daemon *daemon);

/** Work on the worker thread: the plugins as they are under the lock, which is held. */
typedef void (*gb_auth_work_run)(void *data, struct gb_plugin *const *plugins, size_t n_plugins);
/** Its end, back on the main loop. */
typedef void (*gb_auth_work_done)(void *data);
/**
 * Queue @run(@data) on the one worker thread that calls the auth plugins
 * (one call at a time, as the ABI promises), then @done(@data) on the main
 * loop. Every plugin call goes this way: HTTP and redirect logins, the
 * D-Bus user management. -ESHUTDOWN when the worker is gone (stopping).
 */
int gb_auth_queue_work(struct gb_daemon *daemon, gb_auth_work_run run, gb_auth_work_done done,
                       void *data);
/**
 * After a reload: the plugins of @registry (taken over; the old registry is
 * cleared) are the ones in force, listed in @plugins (taken over, free()).
 * Swapped under the lock: no plugin call can be in an old plugin after it.
 */
void gb_auth_replace_plugins(struct gb_daemon *daemon, struct gb_plugin_registry *registry,
                             struct gb_plugin **plugins, size_t n_plugins);

/**
 * Load the auth plugins that @config's plugins.d enables into @registry
 * (zeroed or cleared) and list them in a new *@plugins array (free()). On
 * failure the caller clears @registry; @error holds one line.
 */
int gb_auth_load_plugins(const struct gb_config *config, const struct gb_host *host,
                         struct gb_plugin_registry *registry, struct gb_plugin ***plugins,
                         size_t *n_plugins, char *error, size_t error_size);

/**
 * The auth object, with the auth plugins plugins.d enables (logged when
 * none could be loaded): 0, or -errno and daemon->auth NULL.
 */
int gb_auth_new(struct gb_daemon *daemon);
/** The loaded auth plugins, in drop-in order; main loop only. */
struct gb_plugin *const *gb_auth_plugins(struct gb_daemon *daemon, size_t *n_plugins);
/** The loaded plugin of @kind and @name, or NULL. */
struct gb_plugin *gb_auth_find_plugin(struct gb_daemon *daemon, enum gb_plugin_kind kind,
                                      const char *name);
/** How many logins (cookies) are valid now. */
unsigned gb_auth_login_count(struct gb_daemon *daemon);

/* auth-store.c: the logins table kept in <runtime_dir>/logins (0600), so
 * that relays reconnect with their cookie after a restart. */
/** Save soon (from an idle callback); call whenever a login is added or removed. */
void gb_login_store_changed(struct gb_daemon *daemon);
/** Save now; 0 or a negative errno (logged). */
int gb_login_store_save(struct gb_daemon *daemon);
/**
 * What a previous glassboxd saved (login-store.h), less the expired logins
 * and those @check refuses: NULL when there is nothing to restore.
 */
GPtrArray *gb_login_store_load(struct gb_daemon *daemon, gb_login_store_check check, void *data,
                               unsigned *skipped);
/** <runtime_dir>/logins (g_free it). */
char *gb_login_store_path(struct gb_daemon *daemon);
void gb_login_store_fini(struct gb_daemon *daemon);
/** Restore the logins a previous glassboxd saved (auth.c). */
void gb_auth_restore_logins(struct gb_daemon *daemon);

#endif
