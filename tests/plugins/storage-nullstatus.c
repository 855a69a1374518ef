/* SPDX-License-Identifier: MIT */
/* A storage plugin of ABI 1.3 whose vtable is big enough but has no status(). */
#include <glassbox/storage.h>

static int nullstatus_mounts(void *state, const struct gb_storage_user *user,
                             struct gb_storage_mount **mounts, size_t *n_mounts, char *error,
                             size_t error_size)
{
	(void)state;
	(void)user;
	(void)error;
	(void)error_size;
	*mounts = NULL;
	*n_mounts = 0;
	return 0;
}

static void nullstatus_free_mounts(void *state, struct gb_storage_mount *mounts, size_t n_mounts)
{
	(void)state;
	(void)mounts;
	(void)n_mounts;
}

static const struct gb_storage_ops nullstatus_ops = {
	.struct_size = sizeof(struct gb_storage_ops),
	.mounts = nullstatus_mounts,
	.free_mounts = nullstatus_free_mounts,
};

static const struct gb_plugin_descriptor nullstatus_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_STORAGE, .name = "nullstatus",
	.version = "0.0.1", .ops = &nullstatus_ops,
};

GB_PLUGIN_DEFINE(nullstatus_descriptor)
