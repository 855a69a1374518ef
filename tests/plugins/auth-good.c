/* SPDX-License-Identifier: MIT */
/*
 * A well-formed auth plugin: accepts alice / wonderland. It logs "init"
 * through the host's 1.0 log() and "fini" through its ABI 1.2 log handle
 * (gb_plugin_log()), so the tests can tell that each ran exactly once and
 * that both are tagged with its name,
 * and allocates its state, so that a missed fini() shows up under ASan.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glassbox/auth.h>

struct good_state {
	const struct gb_host *host;
};

static int good_init(const struct gb_host *host, const struct gb_settings *settings, void **state)
{
	struct good_state *good = calloc(1, sizeof(*good));

	if (!good)
		return -ENOMEM;
	good->host = host;
	host->log(host, "good", GB_LOG_INFO, "init");
	*state = good;
	return 0;
}

static void good_fini(void *state)
{
	struct good_state *good = state;

	gb_plugin_log(good->host, GB_LOG_INFO, "fini");
	free(good);
}

static int good_verify_password(void *state, const char *user, const char *password,
                                struct gb_identity *identity)
{
	if (strcmp(user, "alice") != 0 || strcmp(password, "wonderland") != 0)
		return -EACCES;
	snprintf(identity->user, sizeof(identity->user), "%s", user);
	identity->has_system_account = false;
	identity->uid = 0;
	identity->gid = 0;
	identity->roles = GB_ROLE_USER;
	return 0;
}

static const struct gb_auth_ops good_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = good_verify_password,
};

static const struct gb_plugin_descriptor good_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = "good",
	.version = "1.2.3",
	.description = "test: a well-formed auth plugin",
	.init = good_init,
	.fini = good_fini,
	.ops = &good_ops,
};

GB_PLUGIN_DEFINE(good_descriptor)
