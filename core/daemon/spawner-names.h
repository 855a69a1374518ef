/* SPDX-License-Identifier: MIT */
/* Unit instance names for the systemd spawner: pure functions, unit-tested
 * (tests/unit/test-spawner.c). */
#ifndef GB_SPAWNER_NAMES_H
#define GB_SPAWNER_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* The longest instance name: a user name, or "gb-" and 16 hex digits. */
#define GB_INSTANCE_NAME_MAX 32

/**
 * The instance of glassbox-session@.service for the identity
 * (@identity_namespace, @user): the user name itself for a system account
 * (it must match ^[a-z_][a-z0-9_-]{0,31}$: the session runs as that
 * account), "gb-" and the first 16 hex digits of
 * SHA-256("<identity_namespace>:<user>") for any other identity. 0, or
 * -EINVAL with a reason in @error.
 */
int gb_spawner_instance_name(const char *identity_namespace, const char *user, bool system_account,
                             char instance[GB_INSTANCE_NAME_MAX + 1], char *error,
                             size_t error_size);
/** The instance of "glassbox-session@<instance>.service", or -EINVAL. */
int gb_spawner_instance_from_unit(const char *unit, char instance[GB_INSTANCE_NAME_MAX + 1]);
/** True for a string gb_spawner_instance_name() can return. */
bool gb_spawner_instance_is_valid(const char *instance);

#endif
