/* SPDX-License-Identifier: MIT */
/*
 * The users' own remotes at rest. One file per identity,
 * state_dir/remotes/<SHA-256 of "namespace:user", hex>.sealed (0600, in a
 * 0700 folder), holding the JSON list of that identity's remotes sealed
 * with state_dir/remotes.key (remotes-seal.c). glassboxd alone reads the
 * key; an administrator who can read state_dir can open the files too, but
 * nothing else (a session, another user, a backup of the folder without the
 * key) can.
 *
 * A file that does not open is an error naming it, never an empty list:
 * the API refuses every change until an operator deals with it, so a user
 * never overwrites remotes that only failed to decrypt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "daemon.h"
#include "log.h"
#include "printable.h"
#include "remotes-check.h"
#include "remotes-seal.h"
#include "remotes.h"

#define KEY_FILE       "remotes.key"
#define FOLDER         "remotes"
#define FILE_SUFFIX    ".sealed"
#define FORMAT         1
#define REMOTES_MAX    64 /* storage.max_user_remotes' ceiling: more in a file is refused */
#define CHANGES_MAX    30 /* changes per user and minute through the API */
#define CHANGE_WINDOW  (60 * G_USEC_PER_SEC)
#define IDENTITIES_MAX 10000 /* entries of the change table */

struct gb_remotes {
	GHashTable *changes; /* identity -> struct change_window */
	unsigned changes_max;
};

struct change_window {
	gint64 start_us;
	unsigned count;
};

static void wipe_free(gpointer data)
{
	char *text = data;

	if (text)
		explicit_bzero(text, strlen(text));
	g_free(text);
}

struct gb_user_remote *gb_user_remote_new(const char *name, const char *type)
{
	struct gb_user_remote *remote = g_new0(struct gb_user_remote, 1);

	remote->name = g_strdup(name);
	remote->type = g_strdup(type);
	remote->keys = g_ptr_array_new_with_free_func(g_free);
	remote->values = g_ptr_array_new_with_free_func(wipe_free);
	return remote;
}

void gb_user_remote_add(struct gb_user_remote *remote, const char *key, const char *value)
{
	g_ptr_array_add(remote->keys, g_strdup(key));
	g_ptr_array_add(remote->values, g_strdup(value));
}

void gb_user_remote_free(struct gb_user_remote *remote)
{
	if (!remote)
		return;
	g_free(remote->name);
	g_free(remote->type);
	if (remote->keys)
		g_ptr_array_unref(remote->keys);
	if (remote->values)
		g_ptr_array_unref(remote->values);
	g_free(remote);
}

GPtrArray *gb_user_remotes_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)gb_user_remote_free);
}

/* The identity's file name: its SHA-256, so that no user name is a path. */
static char *file_name(const char *identity)
{
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, identity, -1);

	return g_strconcat(hash, FILE_SUFFIX, NULL);
}

/* The folder state_dir/remotes, opened; made 0700 when @create. -ENOENT: none yet. */
static int open_folder(const char *state_dir, bool create, char *error, size_t error_size)
{
	g_autofree char *path = g_build_filename(state_dir, FOLDER, NULL);
	struct stat st = { 0 };
	int fd;

	if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
		int r = -errno;
		snprintf(error, error_size, "cannot create %s: %s", path, strerror(-r));
		return r;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		if (r != -ENOENT)
			snprintf(error, error_size, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 0077)) {
		snprintf(error, error_size,
		         "%s must be a folder of glassboxd's user (uid %u) with mode 0700 (it has "
		         "uid %u, mode %04o)",
		         path, (unsigned)geteuid(), (unsigned)st.st_uid,
		         (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* So that a new name survives a crash. */
static void fsync_folder_of(const char *path)
{
	g_autofree char *folder = g_path_get_dirname(path);
	int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Make state_dir/remotes.key: 32 random bytes, 0600, whole or not at all. */
static int create_key(const char *path, uint8_t key[GB_SEAL_KEY_SIZE], char *error,
                      size_t error_size)
{
	g_autofree char *temporary = g_strdup_printf("%s.new-%d", path, (int)getpid());
	int fd, r;

	r = gb_random_bytes(key, GB_SEAL_KEY_SIZE);
	if (r < 0) {
		snprintf(error, error_size, "cannot make %s: no random bytes: %s", path,
		         strerror(-r));
		return r;
	}
	unlink(temporary); /* one a crash of this very pid left */
	fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto err;
	}
	r = 0;
	errno = 0;
	if (write(fd, key, GB_SEAL_KEY_SIZE) != GB_SEAL_KEY_SIZE || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	/* link(), not rename(): a key another glassboxd made meanwhile is kept. */
	if (r == 0 && link(temporary, path) < 0)
		r = -errno;
	unlink(temporary);
	if (r < 0)
		goto err;
	fsync_folder_of(path);
	gb_info("made the key of the users' remotes, %s", path);
	return 0;

err:
	explicit_bzero(key, GB_SEAL_KEY_SIZE);
	if (r != -EEXIST)
		snprintf(error, error_size, "cannot make %s: %s", path, strerror(-r));
	return r;
}

/* Read the key, refusing one that anyone but glassboxd could read or write. */
static int read_key_file(const char *path, uint8_t key[GB_SEAL_KEY_SIZE], char *error,
                         size_t error_size)
{
	struct stat st = { 0 };
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			snprintf(error, error_size, "%s is a symbolic link; refusing it", path);
		else if (r != -ENOENT)
			snprintf(error, error_size, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0077)) {
		snprintf(error, error_size,
		         "%s must be a file of glassboxd's user (uid %u) with mode 0600 (it has "
		         "uid %u, mode %04o): refusing a key others may have read",
		         path, (unsigned)geteuid(), (unsigned)st.st_uid,
		         (unsigned)(st.st_mode & 07777));
		r = -EPERM;
	} else if (st.st_size != GB_SEAL_KEY_SIZE ||
	           (n = read(fd, key, GB_SEAL_KEY_SIZE)) != GB_SEAL_KEY_SIZE) {
		snprintf(error, error_size, "%s holds %lld bytes, not the %d of a key", path,
		         (long long)st.st_size, GB_SEAL_KEY_SIZE);
		r = -EINVAL;
	}
	close(fd);
	if (r < 0)
		explicit_bzero(key, GB_SEAL_KEY_SIZE);
	return r;
}

/* The key; made when @create and there is none. */
static int load_key(const char *state_dir, bool create, uint8_t key[GB_SEAL_KEY_SIZE], char *error,
                    size_t error_size)
{
	g_autofree char *path = g_build_filename(state_dir, KEY_FILE, NULL);
	int r = read_key_file(path, key, error, error_size);

	if (r != -ENOENT || !create)
		return r;
	r = create_key(path, key, error, error_size);
	/* Another glassboxd made it first: use that one. */
	return r == -EEXIST ? read_key_file(path, key, error, error_size) : r;
}

/* One remote of the file, checked as the API checks it: NULL when it is not. */
static struct gb_user_remote *parse_remote(JsonNode *node)
{
	JsonObject *object = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	JsonObject *params;
	const char *name, *type;
	struct gb_user_remote *remote;
	g_autoptr(GList) members = NULL;
	char error[256];

	if (!object || !json_object_has_member(object, "params"))
		return NULL;
	name = json_object_get_string_member_with_default(object, "name", NULL);
	type = json_object_get_string_member_with_default(object, "type", NULL);
	params = json_object_get_object_member(object, "params");
	if (!gb_remote_name_is_valid(name) || !gb_remote_type_is_known(type) || !params)
		return NULL;
	remote = gb_user_remote_new(name, type);
	members = json_object_get_members(params);
	for (GList *item = members; item; item = item->next) {
		JsonNode *value = json_object_get_member(params, item->data);

		if (!JSON_NODE_HOLDS_VALUE(value) ||
		    json_node_get_value_type(value) != G_TYPE_STRING)
			goto err_remote;
		gb_user_remote_add(remote, item->data, json_node_get_string(value));
	}
	if (gb_remote_check_params(type, (const char *const *)remote->keys->pdata,
	                           (const char *const *)remote->values->pdata, remote->keys->len,
	                           error, sizeof(error)) < 0)
		goto err_remote;
	return remote;

err_remote:
	gb_user_remote_free(remote);
	return NULL;
}

static int parse_remotes(const char *path, const char *text, size_t size, GPtrArray **remotes,
                         char *error, size_t error_size)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GPtrArray) list = gb_user_remotes_new();
	JsonObject *root;
	JsonArray *array;

	if (!json_parser_load_from_data(parser, text, (gssize)size, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
		goto err_format;
	root = json_node_get_object(json_parser_get_root(parser));
	if (json_object_get_int_member_with_default(root, "version", 0) != FORMAT ||
	    !json_object_has_member(root, "remotes") ||
	    !JSON_NODE_HOLDS_ARRAY(json_object_get_member(root, "remotes")))
		goto err_format;
	array = json_object_get_array_member(root, "remotes");
	for (guint i = 0; i < json_array_get_length(array) && i < REMOTES_MAX; i++) {
		struct gb_user_remote *remote = parse_remote(json_array_get_element(array, i));

		if (remote)
			g_ptr_array_add(list, remote);
		else
			gb_warning("%s: remote %u is not one this glassboxd takes; it is left out",
			           path, i + 1);
	}
	*remotes = g_steal_pointer(&list);
	return 0;

err_format:
	snprintf(error, error_size, "%s opens but is not a list of remotes (format %d)", path,
	         FORMAT);
	return -EINVAL;
}

/* The whole file @name in @folder_fd; -ENOENT: the identity has none. */
static int read_sealed(int folder_fd, const char *path, const char *name, GBytes **bytes,
                       char *error, size_t error_size)
{
	g_autofree uint8_t *data = NULL;
	struct stat st;
	size_t done = 0;
	int fd = openat(folder_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			snprintf(error, error_size, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > GB_SEAL_PLAIN_MAX + GB_SEAL_OVERHEAD) {
		snprintf(error, error_size, "%s is not a regular file of at most %d bytes", path,
		         GB_SEAL_PLAIN_MAX + GB_SEAL_OVERHEAD);
		close(fd);
		return -EINVAL;
	}
	data = g_malloc((size_t)st.st_size + 1);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, (size_t)st.st_size - done);

		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			snprintf(error, error_size, "cannot read %s: %s", path, strerror(-r));
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	if (r == 0)
		*bytes = g_bytes_new_take(g_steal_pointer(&data), done);
	return r;
}

static const char *unseal_reason(int r)
{
	switch (r) {
	case -EPROTONOSUPPORT:
		return "it is not a sealed remotes file of this version (GBR1)";
	case -EINVAL:
		return "it is too short: cut off";
	case -EBADMSG:
		return "it does not decrypt: changed, copied from another user's file, or "
		       "sealed with another key than remotes.key";
	default:
		return "it cannot be decrypted";
	}
}

/* Read, unseal and parse @identity's file: every remote, whatever its type. */
static int read_remotes(const char *state_dir, const char *identity, GPtrArray **remotes,
                        char *error, size_t error_size)
{
	g_autofree char *name = file_name(identity);
	g_autofree char *path = g_build_filename(state_dir, FOLDER, name, NULL);
	g_autoptr(GBytes) bytes = NULL;
	uint8_t key[GB_SEAL_KEY_SIZE];
	char *plain = NULL;
	size_t plain_size = 0, size;
	const void *data;
	int folder_fd, r;

	folder_fd = open_folder(state_dir, false, error, error_size);
	if (folder_fd == -ENOENT)
		goto none;
	if (folder_fd < 0)
		return folder_fd;
	r = read_sealed(folder_fd, path, name, &bytes, error, error_size);
	close(folder_fd);
	if (r == -ENOENT)
		goto none;
	if (r < 0)
		return r;
	r = load_key(state_dir, false, key, error, error_size);
	if (r == -ENOENT)
		snprintf(error, error_size, "%s cannot be opened: its key %s/%s is missing", path,
		         state_dir, KEY_FILE);
	if (r < 0)
		return r;
	data = g_bytes_get_data(bytes, &size);
	r = gb_unseal(key, identity, data, size, &plain, &plain_size);
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		snprintf(error, error_size, "%s cannot be opened: %s", path, unseal_reason(r));
		return r;
	}
	r = parse_remotes(path, plain, plain_size, remotes, error, error_size);
	gb_seal_free_plain(plain, plain_size);
	return r;

none:
	*remotes = gb_user_remotes_new();
	return 0;
}

static bool type_allowed(const char *const *allowed, const char *type)
{
	if (!allowed)
		return true;
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(allowed[i], type) == 0)
			return true;
	return false;
}

int gb_remotes_load_from(const char *state_dir, const char *const *allowed_types,
                         const char *identity, GPtrArray **remotes, char *error, size_t error_size)
{
	GPtrArray *all = NULL;
	int r;

	if (!state_dir || !identity || !remotes)
		return -EINVAL;
	r = read_remotes(state_dir, identity, &all, error, error_size);
	if (r < 0)
		return r;
	for (guint i = all->len; i > 0; i--) {
		struct gb_user_remote *remote = all->pdata[i - 1];

		if (type_allowed(allowed_types, remote->type))
			continue;
		g_autofree char *who = gb_printable_dup(identity);

		gb_info("remote '%s' of %s is of type %s, which storage.user_remote_types no "
		        "longer allows: not mounted (it stays stored)",
		        remote->name, who, remote->type);
		g_ptr_array_remove_index(all, i - 1);
	}
	*remotes = all;
	return 0;
}

int gb_remotes_load(struct gb_daemon *daemon, const char *identity, GPtrArray **remotes,
                    char *error, size_t error_size)
{
	const struct gb_config *config = daemon->config;

	return gb_remotes_load_from(config->server.state_dir,
	                            (const char *const *)config->storage.user_remote_types,
	                            identity, remotes, error, error_size);
}

int gb_remotes_read(struct gb_daemon *daemon, const char *identity, GPtrArray **remotes,
                    char *error, size_t error_size)
{
	return read_remotes(daemon->config->server.state_dir, identity, remotes, error,
	                    error_size);
}

static char *format_remotes(GPtrArray *remotes, size_t *size)
{
	g_autoptr(JsonBuilder) builder = json_builder_new_immutable();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	char *text;
	gsize length;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "version");
	json_builder_add_int_value(builder, FORMAT);
	json_builder_set_member_name(builder, "remotes");
	json_builder_begin_array(builder);
	for (guint i = 0; i < remotes->len; i++) {
		const struct gb_user_remote *remote = remotes->pdata[i];

		json_builder_begin_object(builder);
		json_builder_set_member_name(builder, "name");
		json_builder_add_string_value(builder, remote->name);
		json_builder_set_member_name(builder, "type");
		json_builder_add_string_value(builder, remote->type);
		json_builder_set_member_name(builder, "params");
		json_builder_begin_object(builder);
		for (guint j = 0; j < remote->keys->len; j++) {
			json_builder_set_member_name(builder, remote->keys->pdata[j]);
			json_builder_add_string_value(builder, remote->values->pdata[j]);
		}
		json_builder_end_object(builder);
		json_builder_end_object(builder);
	}
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	text = json_generator_to_data(generator, &length);
	*size = length;
	/* The builder's copies of the secrets are freed with it, unwiped: json-glib
	 * gives no way to wipe them. The text, which we own, is wiped. */
	return text;
}

/* Write @data as @name in @folder_fd: a temporary file, fsync, rename, fsync the folder. */
static int write_atomically(int folder_fd, const char *path, const char *name, const void *data,
                            size_t size, char *error, size_t error_size)
{
	g_autofree char *temporary = g_strdup_printf(".%s.new-%d", name, (int)getpid());
	size_t done = 0;
	int fd, r = 0;

	unlinkat(folder_fd, temporary, 0);
	fd = openat(folder_fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	            0600);
	if (fd < 0) {
		r = -errno;
		snprintf(error, error_size, "cannot write %s: %s", path, strerror(-r));
		return r;
	}
	while (r == 0 && done < size) {
		ssize_t n = write(fd, (const char *)data + done, size - done);

		if (n < 0)
			r = -errno;
		else
			done += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(folder_fd, temporary, folder_fd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(folder_fd, temporary, 0);
		snprintf(error, error_size, "cannot write %s: %s", path, strerror(-r));
		return r;
	}
	fsync(folder_fd);
	return 0;
}

static int remove_file(int folder_fd, const char *path, const char *name, char *error,
                       size_t error_size)
{
	if (unlinkat(folder_fd, name, 0) < 0 && errno != ENOENT) {
		int r = -errno;
		snprintf(error, error_size, "cannot remove %s: %s", path, strerror(-r));
		return r;
	}
	fsync(folder_fd);
	return 0;
}

int gb_remotes_save(struct gb_daemon *daemon, const char *identity, GPtrArray *remotes,
                    char *error, size_t error_size)
{
	const char *state_dir = daemon->config->server.state_dir;
	g_autofree char *name = file_name(identity);
	g_autofree char *path = g_build_filename(state_dir, FOLDER, name, NULL);
	g_autofree uint8_t *sealed = NULL;
	uint8_t key[GB_SEAL_KEY_SIZE];
	size_t plain_size = 0, sealed_size = 0;
	char *plain;
	int folder_fd, r;

	folder_fd = open_folder(state_dir, true, error, error_size);
	if (folder_fd < 0)
		return folder_fd;
	if (remotes->len == 0) {
		r = remove_file(folder_fd, path, name, error, error_size);
		close(folder_fd);
		return r;
	}
	r = load_key(state_dir, true, key, error, error_size);
	if (r < 0)
		goto out;
	plain = format_remotes(remotes, &plain_size);
	r = gb_seal(key, identity, plain, plain_size, &sealed, &sealed_size);
	explicit_bzero(key, sizeof(key));
	gb_seal_free_plain(plain, plain_size);
	if (r < 0) {
		snprintf(error, error_size, "cannot seal %s: %s", path, strerror(-r));
		goto out;
	}
	r = write_atomically(folder_fd, path, name, sealed, sealed_size, error, error_size);
out:
	close(folder_fd);
	return r;
}

int gb_remotes_init(struct gb_daemon *daemon)
{
	daemon->remotes = g_new0(struct gb_remotes, 1);
	daemon->remotes->changes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	daemon->remotes->changes_max = gb_daemon_limit_from_environment(
	        "GB_TEST_REMOTE_CHANGES_PER_MINUTE", CHANGES_MAX, 100000);
	return 0;
}

void gb_remotes_fini(struct gb_daemon *daemon)
{
	if (!daemon->remotes)
		return;
	g_hash_table_destroy(daemon->remotes->changes);
	g_clear_pointer(&daemon->remotes, g_free);
}

static gboolean window_ended(gpointer key, gpointer value, gpointer data)
{
	const struct change_window *window = value;

	return window->start_us + CHANGE_WINDOW <= *(const gint64 *)data;
}

bool gb_remotes_charge_change(struct gb_daemon *daemon, const char *identity, unsigned *retry_s)
{
	struct gb_remotes *remotes = daemon->remotes;
	gint64 now = g_get_monotonic_time();
	struct change_window *window = g_hash_table_lookup(remotes->changes, identity);

	if (!window) {
		/* Bounded: ended windows go first; if every one is running, all go (the
		 * table only ever holds logged-in users, so this is a flood of logins). */
		if (g_hash_table_size(remotes->changes) >= IDENTITIES_MAX)
			g_hash_table_foreach_remove(remotes->changes, window_ended, &now);
		if (g_hash_table_size(remotes->changes) >= IDENTITIES_MAX)
			g_hash_table_remove_all(remotes->changes);
		window = g_new0(struct change_window, 1);
		window->start_us = now;
		g_hash_table_insert(remotes->changes, g_strdup(identity), window);
	} else if (window->start_us + CHANGE_WINDOW <= now) {
		window->start_us = now;
		window->count = 0;
	}
	if (window->count >= remotes->changes_max) {
		*retry_s =
		        (unsigned)((window->start_us + CHANGE_WINDOW - now + G_USEC_PER_SEC - 1) /
		                   G_USEC_PER_SEC);
		return false;
	}
	window->count++;
	return true;
}
