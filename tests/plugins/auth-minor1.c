/* SPDX-License-Identifier: MIT */
/*
 * A plugin built for ABI 1.1, before struct gb_host had a log handle: it
 * says so in its descriptor, knows struct gb_host only up to log(), and
 * logs through that. A 1.2 host must load it and log its line.
 */
#include <errno.h>
#include <string.h>

#include <glassbox/auth.h>

/* struct gb_host as ABI 1.1 declared it. */
struct host_1_1 {
	uint32_t struct_size;
	uint32_t abi_major;
	uint32_t abi_minor;
	const char *session_id;
	void (*log)(const struct host_1_1 *host, const char *plugin, enum gb_log_level level,
	            const char *format, ...) __attribute__((format(printf, 4, 5)));
};

static int minor1_init(const struct gb_host *host, const struct gb_settings *settings,
                       void **state)
{
	const struct host_1_1 *old = (const void *)host;

	if (old->struct_size < sizeof(*old) || !old->log)
		return -EINVAL;
	old->log(old, "minor1", GB_LOG_INFO, "init on a host of ABI %u.%u", old->abi_major,
	         old->abi_minor);
	return 0;
}

static int minor1_verify_password(void *state, const char *user, const char *password,
                                  struct gb_identity *identity)
{
	return -EACCES;
}

static const struct gb_auth_ops minor1_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = minor1_verify_password,
};

static const struct gb_plugin_descriptor minor1_descriptor = {
	.abi_major = GB_PLUGIN_ABI_MAJOR,
	.abi_minor = 1,
	.struct_size = sizeof(struct gb_plugin_descriptor),
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = "minor1",
	.version = "1.1.0",
	.description = "test: a plugin built for ABI 1.1",
	.init = minor1_init,
	.ops = &minor1_ops,
};

GB_PLUGIN_DEFINE(minor1_descriptor)
