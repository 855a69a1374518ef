/* SPDX-License-Identifier: MIT */
/*
 * init() fails with -EIO. fini() logs "fini called" through the host init()
 * saw, so a test can prove the host did not call it after a failed init().
 */
#include <errno.h>
#include <stddef.h>

#include <glassbox/auth.h>

static const struct gb_host *initfail_host;

static int initfail_init(const struct gb_host *host, const struct gb_settings *settings,
                         void **state)
{
	initfail_host = host;
	return -EIO;
}

static void initfail_fini(void *state)
{
	if (initfail_host)
		initfail_host->log(initfail_host, "initfail", GB_LOG_ERROR, "fini called");
}

static int initfail_verify_password(void *state, const char *user, const char *password,
                                    struct gb_identity *identity)
{
	return -EACCES;
}

static const struct gb_auth_ops initfail_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = initfail_verify_password,
};

static const struct gb_plugin_descriptor initfail_descriptor = {
	GB_PLUGIN_ABI_INIT,   .kind = GB_PLUGIN_KIND_AUTH, .name = "initfail",
	.version = "1.0.0",   .init = initfail_init,       .fini = initfail_fini,
	.ops = &initfail_ops,
};

GB_PLUGIN_DEFINE(initfail_descriptor)
