/* SPDX-License-Identifier: MIT */
/*
 * The smallest storage plugin of ABI 1.3, the worked example of
 * docs/plugin-abi.md ("Storage plugins"): one mount, ~/Cloud/notes, served
 * by `sshfs` from the server its "host" setting names, with the password on
 * fd 3 (a shell puts it on sshfs's stdin for -o password_stdin), and a
 * status() with no sidecar to ask.
 * The loader test loads it and calls its ops; nothing runs its sidecar.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glassbox/storage.h>

struct good {
	char host[128];
};

static const struct gb_option good_options[] = {
	{ .key = "host",
	  .type = GB_VALUE_STRING,
	  .default_value = "files.example.com",
	  .help = "the SFTP server" },
	{ .key = NULL },
};

static int good_init(const struct gb_host *host, const struct gb_settings *settings, void **state)
{
	struct good *good = calloc(1, sizeof(*good));

	if (!good)
		return -ENOMEM;
	snprintf(good->host, sizeof(good->host), "%s", gb_settings_get_string(settings, "host"));
	*state = good;
	return 0;
}

static void good_fini(void *state)
{
	free(state);
}

/* "@a@sep@b", newly allocated. */
static char *join(const char *a, const char *separator, const char *b)
{
	size_t size = strlen(a) + strlen(separator) + strlen(b) + 1;
	char *text = malloc(size);

	if (text)
		snprintf(text, size, "%s%s%s", a, separator, b);
	return text;
}

static int good_mounts(void *state, const struct gb_storage_user *user,
                       struct gb_storage_mount **mounts, size_t *n_mounts, char *error,
                       size_t error_size)
{
	struct good *good = state;
	struct gb_storage_mount *mount = calloc(1, sizeof(*mount));

	if (!mount) {
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	mount->struct_size = sizeof(*mount);
	snprintf(mount->name, sizeof(mount->name), "notes");
	mount->target = join(user->home, "/Cloud/", mount->name);
	mount->argv = calloc(6, sizeof(char *));
	if (mount->argv) {
		mount->argv[0] = strdup("/bin/sh");
		mount->argv[1] = strdup("-c");
		/* The user's name goes in as $1, never into the script's text. */
		mount->argv[2] = strdup(
		        "exec sshfs -f -o password_stdin \"$1:\" \"$HOME/Cloud/notes\" <&3");
		mount->argv[3] = strdup("sh");
		mount->argv[4] = join(user->user, "@", good->host);
	}
	mount->n_secrets = 1;
	mount->secrets[0] = strdup("the user's password\n");
	if (!mount->target || !mount->argv || !mount->argv[0] || !mount->argv[1] ||
	    !mount->argv[2] || !mount->argv[3] || !mount->argv[4] || !mount->secrets[0])
		mount->problem = strdup("out of memory");
	*mounts = mount;
	*n_mounts = 1;
	return 0;
}

static int good_status(void *state, const struct gb_storage_mount *mount,
                       struct gb_storage_status *status)
{
	/* A real plugin asks its sidecar; this one has none to ask. */
	status->state = GB_STORAGE_STARTING;
	snprintf(status->message, sizeof(status->message), "%s: no sidecar to ask", mount->name);
	return -ECONNREFUSED;
}

static void good_free_mounts(void *state, struct gb_storage_mount *mounts, size_t n_mounts)
{
	for (size_t i = 0; i < n_mounts; i++) {
		for (size_t a = 0; mounts[i].argv && mounts[i].argv[a]; a++)
			free(mounts[i].argv[a]);
		free(mounts[i].argv);
		free(mounts[i].target);
		free(mounts[i].problem);
		for (size_t s = 0; s < mounts[i].n_secrets; s++)
			free(mounts[i].secrets[s]);
	}
	free(mounts);
}

static const struct gb_storage_ops good_ops = {
	.struct_size = sizeof(struct gb_storage_ops),
	.mounts = good_mounts,
	.status = good_status,
	.free_mounts = good_free_mounts,
};

static const struct gb_plugin_descriptor good_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_STORAGE,
	.name = "good",
	.version = "1.0.0",
	.description = "~/Cloud/notes over sshfs: the worked example of a storage plugin",
	.options = good_options,
	.init = good_init,
	.fini = good_fini,
	.ops = &good_ops,
};

GB_PLUGIN_DEFINE(good_descriptor)
