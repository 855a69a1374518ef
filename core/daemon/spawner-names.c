/* SPDX-License-Identifier: MIT */
/*
 * Unit instance names. One session per identity, so the instance is the
 * identity: a system account runs as itself (User=%i finds the static
 * account), any other identity (auth-local, OpenID Connect) gets a name of
 * its own that systemd can allocate a dynamic user for. That name hashes
 * the pair (namespace, user), never the bare user name: auth-local's
 * "alice" and an OpenID provider's "alice" are two people with two homes.
 * Hashing keeps the name short, free of characters a unit name cannot
 * hold, and stable, so the user's StateDirectory (their files) is the same
 * at every login. A hashed name ("gb-" and hex digits) is never a system
 * account's, so no hashed identity can land on PAM's "alice" either.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "error.h"
#include "spawner-names.h"
#include "config.h"

#define UNIT_PREFIX "glassbox-session@"
#define UNIT_SUFFIX ".service"

/* ^[a-z_][a-z0-9_-]{0,31}$: what Debian's adduser accepts and a unit name can hold as is. */
static bool is_system_user_name(const char *name)
{
	return gb_user_name_is_valid(name);
}

static bool is_hashed_name(const char *name)
{
	return strlen(name) == 19 && strncmp(name, "gb-", 3) == 0 &&
	       strspn(name + 3, "0123456789abcdef") == 16;
}

bool gb_spawner_instance_is_valid(const char *instance)
{
	return instance && (is_system_user_name(instance) || is_hashed_name(instance));
}

int gb_spawner_instance_name(const char *identity_namespace, const char *user, bool system_account,
                             char instance[GB_INSTANCE_NAME_MAX + 1], char *error,
                             size_t error_size)
{
	g_autofree char *digest = NULL;
	g_autofree char *identity = NULL;

	if (!user || !user[0]) {
		gb_error_set(error, error_size, "the user name is empty");
		return -EINVAL;
	}
	/* Namespaces are plugin names: no ':', so "namespace:user" is one pair only. */
	if (!identity_namespace || !identity_namespace[0] || strchr(identity_namespace, ':')) {
		gb_error_set(error, error_size, "the identity namespace is empty or holds ':'");
		return -EINVAL;
	}
	if (system_account) {
		if (!is_system_user_name(user)) {
			gb_error_set(error, error_size,
			             "the system account name is not of the form "
			             "[a-z_][a-z0-9_-]{0,31}, which a unit instance needs");
			return -EINVAL;
		}
		/* A system account named like our hashed names would share their units. */
		if (is_hashed_name(user)) {
			gb_error_set(error, error_size,
			             "the system account name looks like a Glassbox dynamic user "
			             "(gb- and 16 hex digits)");
			return -EINVAL;
		}
		snprintf(instance, GB_INSTANCE_NAME_MAX + 1, "%s", user);
		return 0;
	}
	identity = g_strdup_printf("%s:%s", identity_namespace, user);
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, identity, -1);
	if (!digest) {
		gb_error_set(error, error_size, "cannot hash the user name");
		return -ENOMEM;
	}
	snprintf(instance, GB_INSTANCE_NAME_MAX + 1, "gb-%.16s", digest);
	return 0;
}

int gb_spawner_instance_from_unit(const char *unit, char instance[GB_INSTANCE_NAME_MAX + 1])
{
	size_t length = unit ? strlen(unit) : 0;
	size_t prefix = strlen(UNIT_PREFIX), suffix = strlen(UNIT_SUFFIX);
	size_t instance_length;

	if (length <= prefix + suffix || strncmp(unit, UNIT_PREFIX, prefix) != 0 ||
	    strcmp(unit + length - suffix, UNIT_SUFFIX) != 0)
		return -EINVAL;
	instance_length = length - prefix - suffix;
	if (instance_length > GB_INSTANCE_NAME_MAX)
		return -EINVAL;
	memcpy(instance, unit + prefix, instance_length);
	instance[instance_length] = '\0';
	if (!gb_spawner_instance_is_valid(instance))
		return -EINVAL;
	return 0;
}
