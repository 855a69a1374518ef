/* SPDX-License-Identifier: MIT */
/*
 * storage-rclone: a user's cloud files in the session, through one
 * `rclone mount` sidecar per mount with a VFS write cache.
 *
 * Mounts come from two places: the operator's `mounts` setting (remotes of
 * the operator's `remotes_file`, with %u and %n in their paths: one
 * org-wide remote, a folder per user) and, when `user_remotes` is on, the
 * remotes each user added from the web client (glassboxd hands them over
 * decrypted, per call). Each sidecar gets its rclone config on fd 3 and the
 * htpasswd of its remote control on fd 4, never on its command line or in
 * its environment; status() asks that remote control (vfs/stats) what is
 * still waiting for upload, which is how glassboxd knows when a mount may be
 * stopped without losing a file.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>

#include <glassbox/storage.h>

#include "conflicts.h"
#include "error.h"
#include "rc-client.h"
#include "rclone-config.h"
#include "secret.h"

#define RC_USER         "glassbox"
#define BCRYPT_COST     5 /* checked on every rc request; the password is random */
#define OBSCURE_TIMEOUT 10
/* How often glassboxd calls status() while a mount is ready (GB_STORAGE_HEALTH_MS). */
#define GB_RCLONE_STATUS_INTERVAL_S 5

struct rclone {
	const struct gb_host *host;
	char *rclone;
	char *remotes_file;
	char *mount_folder;
	char *cache_folder;
	bool user_remotes;
	bool conflict_copies;
	int64_t cache_max_size_mb;
	int64_t write_back_s;
	int64_t dir_cache_time_s;
	int64_t low_level_retries;
	struct gb_rclone_remotes remotes;
	struct gb_rclone_mount_specs specs;
};

/* What status() needs of a mount. */
struct rclone_mount {
	uint16_t port;
	char password[GB_RANDOM_TOKEN_SIZE];
	bool conflict_copies;
	char *remote; /* "section:path" */
	char *home;
	char *cache_folder;
	char *identity;
	char *name;
	uid_t uid;
	struct gb_conflicts conflicts; /* kept across status() calls */
};

static const struct gb_option rclone_options[] = {
	{ .key = "rclone",
	  .type = GB_VALUE_STRING,
	  .default_value = "/usr/bin/rclone",
	  .help = "the rclone program the sidecars run" },
	{ .key = "remotes_file",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "rclone config file with the remotes that 'mounts' names (mode 0600, owned by "
	          "root), or credential:NAME for a systemd credential of glassbox.service; empty: "
	          "none" },
	{ .key = "mounts",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "name=remote:path, ...: each at ~/<mount_folder>/<name>; %u is the user name "
	          "and %n its namespace" },
	{ .key = "user_remotes",
	  .type = GB_VALUE_BOOL,
	  .default_value = "true",
	  .help = "also mount the remotes users added from the web client" },
	{ .key = "mount_folder",
	  .type = GB_VALUE_STRING,
	  .default_value = "Cloud",
	  .help = "folder of the home the mounts go in" },
	{ .key = "cache_folder",
	  .type = GB_VALUE_STRING,
	  .default_value = ".cache/glassbox-storage",
	  .help = "the VFS cache, relative to the home: files written stay there until uploaded" },
	{ .key = "cache_max_size_mb",
	  .type = GB_VALUE_INT,
	  .default_value = "2048",
	  .min = 16,
	  .max = 1048576,
	  .help = "cap on the cache of one mount (rclone --vfs-cache-max-size)" },
	{ .key = "write_back_s",
	  .type = GB_VALUE_INT,
	  .default_value = "10",
	  .min = 0,
	  .max = 3600,
	  .help = "upload a file this long after it was closed (rclone --vfs-write-back); the "
	          "time conflict copies have to be made, so above 5 s (glassboxd asks every 5 "
	          "s)" },
	{ .key = "conflict_copies",
	  .type = GB_VALUE_BOOL,
	  .default_value = "true",
	  .help = "before a file edited here is uploaded over a newer version on the remote, "
	          "keep that version as 'NAME (conflict YYYY-MM-DD HHMMSS).EXT'" },
	{ .key = "dir_cache_time_s",
	  .type = GB_VALUE_INT,
	  .default_value = "10",
	  .min = 1,
	  .max = 86400,
	  .help = "how long a listing is trusted before the remote is asked again" },
	{ .key = "low_level_retries",
	  .type = GB_VALUE_INT,
	  .default_value = "3",
	  .min = 1,
	  .max = 100,
	  .help = "tries of one request to the remote (rclone --low-level-retries, 10 in rclone): "
	          "few, so that an upload to a remote that is down fails and waits for its retry, "
	          "which gives conflict copies their time when the remote is back" },
	{ .key = NULL },
};

/* "Cloud", ".cache/x": relative, no empty, "." or ".." part. */
static bool relative_folder_valid(const char *folder)
{
	g_auto(GStrv) parts = g_strsplit(folder, "/", -1);

	if (!folder[0] || folder[0] == '/')
		return false;
	for (size_t i = 0; parts[i]; i++)
		if (!parts[i][0] || strcmp(parts[i], ".") == 0 || strcmp(parts[i], "..") == 0)
			return false;
	return true;
}

/* The operator's remotes file: root's, not writable or readable by others. */
static int load_remotes_file(struct rclone *rclone)
{
	char error[512];
	char *text = NULL;
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(rclone->remotes_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		gb_plugin_log(rclone->host, GB_LOG_ERROR, "remotes_file %s: %s",
		              rclone->remotes_file, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) || st.st_uid != geteuid() ||
	    st.st_size > GB_RCLONE_REMOTES_FILE_MAX) {
		gb_plugin_log(rclone->host, GB_LOG_ERROR,
		              "remotes_file %s: must be a regular file of at most %d bytes, owned "
		              "by uid %u with mode 0600 (it holds credentials); it is mode %04o, "
		              "uid %u",
		              rclone->remotes_file, GB_RCLONE_REMOTES_FILE_MAX,
		              (unsigned)geteuid(), (unsigned)(st.st_mode & 07777),
		              (unsigned)st.st_uid);
		close(fd);
		return -EPERM;
	}
	text = calloc(1, (size_t)st.st_size + 1);
	n = text ? read(fd, text, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(text);
		gb_plugin_log(rclone->host, GB_LOG_ERROR, "remotes_file %s: cannot read it",
		              rclone->remotes_file);
		return -EIO;
	}
	r = gb_rclone_remotes_parse(&rclone->remotes, rclone->remotes_file, text, error,
	                            sizeof(error));
	explicit_bzero(text, (size_t)st.st_size);
	free(text);
	if (r < 0)
		gb_plugin_log(rclone->host, GB_LOG_ERROR, "%s", error);
	return r;
}

static void rclone_fini(void *state)
{
	struct rclone *rclone = state;

	if (!rclone)
		return;
	gb_rclone_remotes_clear(&rclone->remotes);
	gb_rclone_mount_specs_clear(&rclone->specs);
	free(rclone->rclone);
	free(rclone->remotes_file);
	free(rclone->mount_folder);
	free(rclone->cache_folder);
	free(rclone);
}

static int check_settings(struct rclone *rclone)
{
	if (rclone->rclone[0] != '/' || access(rclone->rclone, X_OK) < 0) {
		gb_plugin_log(rclone->host, GB_LOG_ERROR,
		              "rclone: '%s' is not an absolute path to a program (apt-get install "
		              "rclone)",
		              rclone->rclone);
		return -ENOENT;
	}
	if (!relative_folder_valid(rclone->mount_folder) ||
	    !relative_folder_valid(rclone->cache_folder)) {
		gb_plugin_log(rclone->host, GB_LOG_ERROR,
		              "mount_folder and cache_folder are folders of the home: relative, "
		              "without '..'");
		return -EINVAL;
	}
	return 0;
}

static int rclone_init(const struct gb_host *host, const struct gb_settings *settings,
                       void **state)
{
	struct rclone *rclone = calloc(1, sizeof(*rclone));
	char error[512];
	int r;

	if (!rclone)
		return -ENOMEM;
	rclone->host = host;
	rclone->rclone = strdup(gb_settings_get_string(settings, "rclone"));
	rclone->remotes_file = strdup(gb_settings_get_string(settings, "remotes_file"));
	rclone->mount_folder = strdup(gb_settings_get_string(settings, "mount_folder"));
	rclone->cache_folder = strdup(gb_settings_get_string(settings, "cache_folder"));
	rclone->user_remotes = gb_settings_get_bool(settings, "user_remotes", true);
	rclone->cache_max_size_mb = gb_settings_get_int(settings, "cache_max_size_mb", 2048);
	rclone->conflict_copies = gb_settings_get_bool(settings, "conflict_copies", true);
	rclone->write_back_s = gb_settings_get_int(settings, "write_back_s", 10);
	rclone->dir_cache_time_s = gb_settings_get_int(settings, "dir_cache_time_s", 10);
	rclone->low_level_retries = gb_settings_get_int(settings, "low_level_retries", 3);
	if (!rclone->rclone || !rclone->remotes_file || !rclone->mount_folder ||
	    !rclone->cache_folder) {
		rclone_fini(rclone);
		return -ENOMEM;
	}
	r = gb_rclone_mount_specs_parse(&rclone->specs, gb_settings_get_string(settings, "mounts"),
	                                error, sizeof(error));
	if (r < 0) {
		gb_plugin_log(host, GB_LOG_ERROR, "%s", error);
		rclone_fini(rclone);
		return r;
	}
	r = check_settings(rclone);
	if (r == 0 && rclone->remotes_file[0]) {
		char *path = gb_rclone_remotes_path(rclone->remotes_file,
		                                    getenv("CREDENTIALS_DIRECTORY"), error,
		                                    sizeof(error));

		if (!path) {
			gb_plugin_log(host, GB_LOG_ERROR, "%s", error);
			r = -EINVAL;
		} else {
			free(rclone->remotes_file);
			rclone->remotes_file = path;
			r = load_remotes_file(rclone);
		}
	}
	for (size_t i = 0; r == 0 && i < rclone->specs.count; i++) {
		const struct gb_rclone_mount_spec *spec = &rclone->specs.items[i];

		if (!gb_rclone_remotes_find(&rclone->remotes, spec->remote)) {
			gb_plugin_log(host, GB_LOG_ERROR,
			              "mounts: mount '%s' uses remote '%s', which %s%s does not "
			              "define",
			              spec->name, spec->remote,
			              rclone->remotes_file[0] ? "remotes_file "
			                                      : "the empty remotes_file",
			              rclone->remotes_file);
			r = -EINVAL;
		}
	}
	if (r < 0) {
		rclone_fini(rclone);
		return r;
	}
	gb_plugin_log(host, GB_LOG_INFO, "%zu mount%s for every user%s", rclone->specs.count,
	              rclone->specs.count == 1 ? "" : "s",
	              rclone->user_remotes ? ", and the remotes users add" : "");
	if (rclone->conflict_copies && rclone->write_back_s <= GB_RCLONE_STATUS_INTERVAL_S)
		gb_plugin_log(
		        host, GB_LOG_WARNING,
		        "write_back_s = %lld: a file edited here may be uploaded before its "
		        "conflict with the remote is seen (checked every %d s); set it above %d "
		        "so that the remote's version is kept as a conflict copy",
		        (long long)rclone->write_back_s, GB_RCLONE_STATUS_INTERVAL_S,
		        GB_RCLONE_STATUS_INTERVAL_S);
	*state = rclone;
	return 0;
}

/* A free port on 127.0.0.1 for the sidecar's remote control. */
static int pick_port(uint16_t *port)
{
	struct sockaddr_in address = { .sin_family = AF_INET };
	socklen_t length = sizeof(address);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&address, &length) < 0)
		r = -errno;
	close(fd);
	*port = ntohs(address.sin_port);
	return r;
}

/* "glassbox:<bcrypt of the password>\n": the sidecar's htpasswd. */
static char *htpasswd_line(const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data;
	char *line = NULL;

	memset(&data, 0, sizeof(data));
	if (!crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, salt, sizeof(salt)) ||
	    !crypt_rn(password, salt, &data, sizeof(data)) || data.output[0] == '*')
		return NULL;
	if (asprintf(&line, "%s:%s\n", RC_USER, data.output) < 0)
		line = NULL;
	explicit_bzero(&data, sizeof(data));
	return line;
}

/* rclone keeps some values "obscured" in its config: `rclone obscure -` does it. */
static char *obscure(void *data, const char *value, char *error, size_t error_size)
{
	struct rclone *rclone = data;
	const char *argv[] = { rclone->rclone, "obscure", "-", NULL };
	g_autoptr(GSubprocess) process = NULL;
	g_autoptr(GBytes) input = g_bytes_new(value, strlen(value));
	g_autoptr(GBytes) output = NULL;
	g_autoptr(GError) gerror = NULL;
	char *text;

	process =
	        g_subprocess_newv(argv,
	                          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
	                                  G_SUBPROCESS_FLAGS_STDERR_SILENCE,
	                          &gerror);
	if (!process || !g_subprocess_communicate(process, input, NULL, &output, NULL, &gerror) ||
	    !g_subprocess_get_successful(process) || !output) {
		gb_error_set(error, error_size, "rclone obscure failed: %s",
		             gerror ? gerror->message : "it exited with an error");
		return NULL;
	}
	text = g_strndup(g_bytes_get_data(output, NULL), g_bytes_get_size(output));
	g_strchomp(text);
	return text;
}

static char **sidecar_argv(const struct rclone *rclone, const struct gb_storage_user *user,
                           const char *remote, const char *target, uint16_t port)
{
	GPtrArray *argv = g_ptr_array_new();

	g_ptr_array_add(argv, g_strdup(rclone->rclone));
	g_ptr_array_add(argv, g_strdup("mount"));
	g_ptr_array_add(argv, g_strdup(remote));
	g_ptr_array_add(argv, g_strdup(target));
	g_ptr_array_add(argv, g_strdup("--config=/dev/fd/3"));
	g_ptr_array_add(argv, g_strdup("--rc"));
	g_ptr_array_add(argv, g_strdup_printf("--rc-addr=127.0.0.1:%u", (unsigned)port));
	g_ptr_array_add(argv, g_strdup("--rc-htpasswd=/dev/fd/4"));
	g_ptr_array_add(argv, g_strdup("--vfs-cache-mode=writes"));
	g_ptr_array_add(
	        argv, g_strdup_printf("--vfs-write-back=%llds", (long long)rclone->write_back_s));
	g_ptr_array_add(argv, g_strdup_printf("--vfs-cache-max-size=%lldM",
	                                      (long long)rclone->cache_max_size_mb));
	g_ptr_array_add(argv,
	                g_strdup_printf("--cache-dir=%s/%s", user->home, rclone->cache_folder));
	g_ptr_array_add(argv, g_strdup_printf("--dir-cache-time=%llds",
	                                      (long long)rclone->dir_cache_time_s));
	g_ptr_array_add(argv, g_strdup_printf("--poll-interval=%llds",
	                                      (long long)rclone->dir_cache_time_s));
	g_ptr_array_add(argv, g_strdup_printf("--low-level-retries=%lld",
	                                      (long long)rclone->low_level_retries));
	g_ptr_array_add(argv, g_strdup("--log-level=NOTICE"));
	g_ptr_array_add(argv, NULL);
	return (char **)g_ptr_array_free(argv, FALSE);
}

/* Fill @mount for the remote @section (config text @config) at @remote_path. */
static void fill_mount(struct rclone *rclone, const struct gb_storage_user *user,
                       struct gb_storage_mount *mount, const char *section, const char *config,
                       const char *remote_path)
{
	struct rclone_mount *data = g_new0(struct rclone_mount, 1);
	g_autofree char *remote = g_strdup_printf("%s:%s", section, remote_path);
	char *htpasswd = NULL;
	int r;

	mount->data = data;
	data->conflict_copies = rclone->conflict_copies;
	data->remote = g_strdup(remote);
	data->home = g_strdup(user->home);
	data->cache_folder = g_strdup(rclone->cache_folder);
	data->identity = g_strdup(user->identity ? user->identity : user->user);
	data->name = g_strdup(mount->name);
	data->uid = user->uid;
	r = pick_port(&data->port);
	if (r == 0)
		r = gb_random_token(data->password, sizeof(data->password));
	if (r == 0 && !(htpasswd = htpasswd_line(data->password)))
		r = -EIO;
	if (r < 0) {
		mount->problem =
		        g_strdup_printf("cannot set up its remote control: %s", strerror(-r));
		return;
	}
	mount->target = g_strdup_printf("%s/%s/%s", user->home, rclone->mount_folder, mount->name);
	mount->argv = sidecar_argv(rclone, user, remote, mount->target, data->port);
	mount->n_secrets = 2;
	mount->secrets[0] = g_strdup(config);
	mount->secrets[1] = g_strdup(htpasswd);
	explicit_bzero(htpasswd, strlen(htpasswd));
	free(htpasswd);
}

static bool name_taken(const struct gb_storage_mount *mounts, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(mounts[i].name, name) == 0)
			return true;
	return false;
}

static void operator_mount(struct rclone *rclone, const struct gb_storage_user *user,
                           const struct gb_rclone_mount_spec *spec, struct gb_storage_mount *mount)
{
	const struct gb_rclone_section *section =
	        gb_rclone_remotes_find(&rclone->remotes, spec->remote);
	char error[512];
	char *path;

	path = gb_rclone_substitute(spec->path, user->identity_namespace, user->user, error,
	                            sizeof(error));
	if (!path) {
		mount->problem = g_strdup(error);
		return;
	}
	fill_mount(rclone, user, mount, section->name, section->text, path);
	free(path);
}

static void user_mount(struct rclone *rclone, const struct gb_storage_user *user,
                       const struct gb_storage_remote *remote, struct gb_storage_mount *mount)
{
	g_autofree char *section = g_strdup_printf("user-%s", remote->name);
	char error[512];
	char *config;

	config = gb_rclone_user_section(remote, section, obscure, rclone, error, sizeof(error));
	if (!config) {
		mount->problem = g_strdup(error);
		return;
	}
	fill_mount(rclone, user, mount, section, config, "");
	explicit_bzero(config, strlen(config));
	free(config);
}

static int rclone_mounts(void *state, const struct gb_storage_user *user,
                         struct gb_storage_mount **out, size_t *n_out, char *error,
                         size_t error_size)
{
	struct rclone *rclone = state;
	size_t n_user = rclone->user_remotes ? user->n_remotes : 0;
	size_t count = 0;
	struct gb_storage_mount *mounts;

	*out = NULL;
	*n_out = 0;
	if (!user->home || user->home[0] != '/') {
		gb_error_set(error, error_size, "the session's home is not known");
		return -EINVAL;
	}
	if (rclone->specs.count + n_user == 0)
		return 0;
	mounts = g_new0(struct gb_storage_mount, rclone->specs.count + n_user);
	for (size_t i = 0; i < rclone->specs.count; i++) {
		struct gb_storage_mount *mount = &mounts[count++];

		mount->struct_size = sizeof(*mount);
		snprintf(mount->name, sizeof(mount->name), "%s", rclone->specs.items[i].name);
		operator_mount(rclone, user, &rclone->specs.items[i], mount);
	}
	for (size_t i = 0; i < n_user; i++) {
		const struct gb_storage_remote *remote = &user->remotes[i];
		struct gb_storage_mount *mount = &mounts[count++];

		mount->struct_size = sizeof(*mount);
		snprintf(mount->name, sizeof(mount->name), "%s",
		         gb_rclone_name_valid(remote->name) ? remote->name : "invalid");
		if (!gb_rclone_name_valid(remote->name))
			mount->problem = g_strdup("the remote's name is not valid");
		else if (name_taken(mounts, count - 1, remote->name))
			mount->problem =
			        g_strdup_printf("the name '%s' is taken by a mount of the "
			                        "operator's; rename the remote",
			                        remote->name);
		else
			user_mount(rclone, user, remote, mount);
	}
	*out = mounts;
	*n_out = count;
	return 0;
}

/*
 * Conflict copies (conflicts.h), while files wait for upload; their count
 * goes in the message of a mount that is otherwise fine.
 */
static void check_conflicts(struct rclone *rclone, struct rclone_mount *data, const char *vfs,
                            const char *core, struct gb_storage_status *status)
{
	const struct gb_conflicts_mount target = {
		.host = rclone->host,
		.port = data->port,
		.rc_user = RC_USER,
		.password = data->password,
		.remote = data->remote,
		.home = data->home,
		.cache_folder = data->cache_folder,
		.uid = data->uid,
		.mount_name = data->name,
		.identity = data->identity,
	};

	gb_conflicts_check(&data->conflicts, &target, vfs, core);
	if (status->message[0] || data->conflicts.saved + data->conflicts.failed == 0)
		return;
	snprintf(status->message, sizeof(status->message),
	         "conflict copies: %llu saved, %llu failed",
	         (unsigned long long)data->conflicts.saved,
	         (unsigned long long)data->conflicts.failed);
}

static int rclone_status(void *state, const struct gb_storage_mount *mount,
                         struct gb_storage_status *status)
{
	struct rclone_mount *data = mount->data;
	g_autofree char *vfs = NULL, *core = NULL;
	char error[256];
	int r;

	memset(status, 0, sizeof(*status));
	status->struct_size = sizeof(*status);
	status->state = GB_STORAGE_STARTING;
	if (!data)
		return -EINVAL;
	r = gb_rc_call(data->port, RC_USER, data->password, "vfs/stats", &vfs, error,
	               sizeof(error));
	if (r == 0)
		r = gb_rc_call(data->port, RC_USER, data->password, "core/stats", &core, error,
		               sizeof(error));
	if (r == 0)
		r = gb_rc_parse_status(vfs, core, status, error, sizeof(error));
	if (r == 0 && data->conflict_copies && status->state == GB_STORAGE_READY)
		check_conflicts(state, data, vfs, core, status);
	if (r < 0)
		snprintf(status->message, sizeof(status->message), "%s", error);
	return r;
}

static void rclone_free_mounts(void *state, struct gb_storage_mount *mounts, size_t n_mounts)
{
	(void)state;
	for (size_t i = 0; i < n_mounts; i++) {
		struct gb_storage_mount *mount = &mounts[i];

		for (size_t s = 0; s < mount->n_secrets; s++) {
			if (mount->secrets[s])
				explicit_bzero(mount->secrets[s], strlen(mount->secrets[s]));
			g_free(mount->secrets[s]);
		}
		if (mount->data) {
			struct rclone_mount *data = mount->data;

			gb_conflicts_clear(&data->conflicts);
			g_free(data->remote);
			g_free(data->home);
			g_free(data->cache_folder);
			g_free(data->identity);
			g_free(data->name);
			explicit_bzero(data, sizeof(*data));
		}
		g_free(mount->data);
		g_free(mount->problem);
		g_free(mount->target);
		g_strfreev(mount->argv);
	}
	g_free(mounts);
}

static const struct gb_storage_ops rclone_ops = {
	.struct_size = sizeof(struct gb_storage_ops),
	.mounts = rclone_mounts,
	.status = rclone_status,
	.free_mounts = rclone_free_mounts,
};

static const struct gb_plugin_descriptor rclone_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_STORAGE,
	.name = "rclone",
	.version = "1.0.0",
	.description = "the user's cloud storage in ~/Cloud through rclone mount sidecars",
	.options = rclone_options,
	.init = rclone_init,
	.fini = rclone_fini,
	.ops = &rclone_ops,
};

GB_PLUGIN_DEFINE(rclone_descriptor)
