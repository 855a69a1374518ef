/* SPDX-License-Identifier: MIT */
/*
 * Storage: the mounts of each session, from the storage plugins
 * (include/glassbox/storage.h). Before a session's process starts, storage
 * asks every plugin for the session's mounts, runs each mount's sidecar as
 * the session's user (storage-sidecar.c) and waits until each is ready or
 * has failed; the session starts either way, without the failed ones, and
 * the user hears why. When the session is gone, storage waits until each
 * mount has uploaded what was written (bounded), then stops its sidecar.
 *
 * sessions.c knows storage only through struct gb_session_hooks (main.c
 * wires them); the metrics, the D-Bus session list and /api/storage/status
 * read it through the functions below.
 */
#ifndef GB_STORAGE_DAEMON_H
#define GB_STORAGE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "events.h"

struct gb_daemon;
struct gb_daemon_session;

#define GB_STORAGE_READY_TIMEOUT_S 30  /* a sidecar's mount ready */
#define GB_STORAGE_FLUSH_TIMEOUT_S 300 /* uploads done at the session's end */
#define GB_STORAGE_STOP_GRACE_S    10  /* SIGTERM to SIGKILL */
#define GB_STORAGE_RESTARTS_MAX    3   /* sidecar restarts in one session */
#define GB_STORAGE_POLL_MS         250 /* readiness and flush checks */
#define GB_STORAGE_HEALTH_MS       5000
#define GB_STORAGE_NOTICES_MAX     16 /* kept per user for their next login */
/* The folder of the home whose mounts a session unit sees (systemd spawner). */
#define GB_STORAGE_CLOUD_FOLDER "Cloud"

/* What a mount is doing, for /metrics, D-Bus and the page. */
enum gb_mount_state {
	GB_MOUNT_STARTING,
	GB_MOUNT_READY,
	GB_MOUNT_FAILED,   /* never ready, or gave up after restarts */
	GB_MOUNT_FLUSHING, /* the session ended: uploading what is left */
	GB_MOUNT_STOPPING, /* SIGTERM sent */
	GB_MOUNT_STATES
};

/** One mount, as the readers below see it. */
struct gb_mount_info {
	const char *session_id;
	const char *identity;
	const char *plugin;
	const char *name;
	const char *target;
	const char *problem; /* why it failed; NULL otherwise */
	enum gb_mount_state state;
	uint64_t files_waiting; /* queued + uploading + failed (retried) */
	uint64_t bytes_uploading;
	uint64_t upload_errors;
};

typedef void (*gb_mount_func)(void *data, const struct gb_mount_info *mount);

/** Load the storage plugins of the drop-ins; 0 or a negative errno (logged). */
int gb_storage_init(struct gb_daemon *daemon);
/** True while some mount is still flushing or stopping (a stop of glassboxd waits). */
bool gb_storage_busy(struct gb_daemon *daemon);
/** At exit: stop every sidecar (SIGTERM; the caches keep what was not uploaded). */
void gb_storage_fini(struct gb_daemon *daemon);
/** The listener main.c registers: a session gone means flush its mounts. */
extern const struct gb_events_listener gb_storage_events;
/** sessions.c's prepare hook (struct gb_session_hooks). */
bool gb_storage_prepare(void *data, struct gb_daemon_session *session);
/**
 * sessions.c's adopted hook: a session that outlived the previous glassboxd
 * (systemd spawner) gets its mounts again, while it runs; its bind of ~/Cloud
 * shows them as they come.
 */
void gb_storage_adopted(void *data, struct gb_daemon_session *session);

const char *gb_mount_state_name(enum gb_mount_state state);
/** Call @func for every mount (of @session_id only, when not NULL). */
void gb_storage_foreach_mount(struct gb_daemon *daemon, const char *session_id, gb_mount_func func,
                              void *data);
/** GET /api/storage/status (storage-http.c). */
void gb_storage_add_routes(struct gb_daemon *daemon);
/**
 * What the user of @identity should hear (a mount that failed, files left in
 * a cache): a NULL-terminated list (g_strfreev), each told once.
 */
char **gb_storage_take_notices(struct gb_daemon *daemon, const char *identity);

#endif
