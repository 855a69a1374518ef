/* SPDX-License-Identifier: MIT */
/* Placeholder until the sealed store lands: nobody has remotes of their own. */
#include "remotes.h"

void gb_user_remote_free(struct gb_user_remote *remote)
{
	if (!remote)
		return;
	g_free(remote->name);
	g_free(remote->type);
	g_ptr_array_unref(remote->keys);
	g_ptr_array_unref(remote->values);
	g_free(remote);
}

int gb_remotes_load(struct gb_daemon *daemon, const char *identity, GPtrArray **remotes,
                    char *error, size_t error_size)
{
	(void)daemon;
	(void)identity;
	(void)error;
	(void)error_size;
	*remotes = g_ptr_array_new_with_free_func((GDestroyNotify)gb_user_remote_free);
	return 0;
}
