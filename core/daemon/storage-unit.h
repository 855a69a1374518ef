/* SPDX-License-Identifier: MIT */
/*
 * Storage sidecars as systemd units, for the systemd spawner: one transient
 * glassbox-storage@<instance>:<mount>.service per mount, started and
 * followed over glassboxd's own connection to the system bus.
 *
 * The unit runs as the session's (dynamic) user, DynamicUser=yes and
 * User=<instance> as the session unit, so both hold the same uid. Its
 * ExecStart=+ is glassbox-storage-sidecar (storage-sidecar-helper.c), which
 * mounts under GB_STORAGE_ROOT_DIR/<instance>/ in PID 1's mount namespace;
 * glassbox-session@.service binds that folder's Cloud/ onto ~/Cloud. The
 * mount's secrets go to 0600 files of root's in <runtime_dir>/storage/,
 * which the unit loads with LoadCredential=, removed when the unit is
 * forgotten. Why not a unit file: each mount has its own command, secrets
 * and User= (a part of its name), which a template cannot say; and why not
 * BindsTo= the session unit: the sidecar outlives the session until its
 * uploads are done (storage.c orders them).
 */
#ifndef GB_STORAGE_UNIT_H
#define GB_STORAGE_UNIT_H

#include <stddef.h>

#include <glassbox/storage.h>

struct gb_sidecar_units;
struct gb_sidecar_unit;

/* @how completes "its sidecar ...": "failed (unit ..., Result=signal, signal 9 (Killed))". */
typedef void (*gb_sidecar_unit_ended_func)(void *data, const char *how);

/**
 * Connect to the system bus for sidecar units: leftover units of an
 * earlier glassboxd are stopped (their sessions' storage records are gone)
 * and <runtime_dir>/storage/ is emptied. NULL with errno after logging why.
 */
struct gb_sidecar_units *gb_sidecar_units_new(const char *runtime_dir);
/** Stop every unit still running (what it had not uploaded stays in its cache) and disconnect. */
void gb_sidecar_units_free(struct gb_sidecar_units *units);

/**
 * Start @mount's sidecar unit for the session unit instance @instance.
 * @home is GB_STORAGE_ROOT_DIR/<instance>, which @mount's target must be
 * below. The unit or NULL with one line in @error. @ended is called once,
 * when the unit has stopped or failed (or never started); the caller then
 * frees it.
 */
struct gb_sidecar_unit *gb_sidecar_unit_start(struct gb_sidecar_units *units, const char *instance,
                                              const struct gb_storage_mount *mount,
                                              unsigned ready_timeout_s,
                                              gb_sidecar_unit_ended_func ended, void *data,
                                              char *error, size_t error_size);
/** StopUnit: SIGTERM (rclone unmounts and exits), SIGKILL after the unit's TimeoutStopSec=. */
void gb_sidecar_unit_stop(struct gb_sidecar_unit *unit);
/** KillUnit with SIGKILL. */
void gb_sidecar_unit_kill(struct gb_sidecar_unit *unit);
/** "glassbox-storage@gb-0123456789abcdef:work.service" */
const char *gb_sidecar_unit_name(const struct gb_sidecar_unit *unit);
/** Forget @unit (no more calls to ended): its secrets' files go. NULL is fine. */
void gb_sidecar_unit_free(struct gb_sidecar_unit *unit);

#endif
