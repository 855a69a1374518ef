/* SPDX-License-Identifier: MIT */
/* storage-rclone: conflict copies (conflicts.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "conflicts.h"
#include "rc-client.h"

#define JOB_WAIT_MS 1500 /* a small copy is done before status() returns */

/* ---- parsing: pure, unit-tested ---- */

static bool parse_time_us(const char *text, gint64 *out)
{
	GDateTime *when = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;

	if (!when)
		return false;
	*out = g_date_time_to_unix(when) * G_USEC_PER_SEC + g_date_time_get_microsecond(when);
	g_date_time_unref(when);
	return true;
}

static JsonObject *parse_object(JsonParser *parser, const char *text)
{
	JsonNode *root;

	if (!text || !json_parser_load_from_data(parser, text, -1, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
}

static const char *string_member(JsonObject *object, const char *name)
{
	JsonNode *node = json_object_get_member(object, name);

	if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

int gb_vfs_meta_parse(const char *text, struct gb_vfs_meta *meta)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *object = parse_object(parser, text);
	const char *fingerprint;

	memset(meta, 0, sizeof(*meta));
	if (!object)
		return -EINVAL;
	fingerprint = string_member(object, "Fingerprint");
	if (fingerprint && strlen(fingerprint) >= sizeof(meta->fingerprint))
		return -EINVAL;
	snprintf(meta->fingerprint, sizeof(meta->fingerprint), "%s",
	         fingerprint ? fingerprint : "");
	meta->dirty = json_object_get_boolean_member_with_default(object, "Dirty", FALSE);
	meta->size = json_object_get_int_member_with_default(object, "Size", -1);
	meta->has_modtime = parse_time_us(string_member(object, "ModTime"), &meta->modtime_us);
	return 0;
}

int gb_remote_object_parse(const char *body, struct gb_remote_object *object)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *root = parse_object(parser, body), *item, *hashes;
	JsonNode *node;

	memset(object, 0, sizeof(*object));
	if (!root || !(node = json_object_get_member(root, "item")))
		return -EINVAL;
	if (JSON_NODE_HOLDS_NULL(node))
		return 0;
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return -EINVAL;
	item = json_node_get_object(node);
	object->exists = true;
	object->is_dir = json_object_get_boolean_member_with_default(item, "IsDir", FALSE);
	object->size = json_object_get_int_member_with_default(item, "Size", -1);
	object->has_modtime = parse_time_us(string_member(item, "ModTime"), &object->modtime_us);
	node = json_object_get_member(item, "Hashes");
	hashes = node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	if (hashes) {
		g_autoptr(GList) members = json_object_get_members(hashes);

		for (GList *m = members; m && object->n_hashes < GB_REMOTE_HASHES_MAX;
		     m = m->next) {
			const char *value = string_member(hashes, m->data);

			if (value && value[0] && strlen(value) < sizeof(object->hashes[0]))
				snprintf(object->hashes[object->n_hashes++],
				         sizeof(object->hashes[0]), "%s", value);
		}
	}
	return 0;
}

/* "2026-12-07 17:24:31.262378279 +0000 UTC" (Go's time.Time in UTC, %v). */
static bool parse_fingerprint_time(const char *text, gint64 *out)
{
	const char *end = g_str_has_suffix(text, " +0000 UTC") ? text + strlen(text) - 10 : NULL;
	g_autofree char *iso = NULL;
	char *space;

	if (!end)
		return false;
	iso = g_strdup_printf("%.*sZ", (int)(end - text), text);
	space = strchr(iso, ' ');
	if (!space)
		return false;
	*space = 'T';
	return parse_time_us(iso, out);
}

static gint64 difference_us(gint64 a, gint64 b)
{
	return a > b ? a - b : b - a;
}

static bool hash_known(const struct gb_remote_object *object, const char *value)
{
	for (size_t h = 0; h < object->n_hashes; h++)
		if (g_ascii_strcasecmp(value, object->hashes[h]) == 0)
			return true;
	return false;
}

bool gb_conflict_remote_changed(const struct gb_vfs_meta *meta,
                                const struct gb_remote_object *object)
{
	g_auto(GStrv) parts = NULL;
	gint64 size, when;

	if (!object->exists || object->is_dir)
		return false; /* gone: the upload brings the edit back, nothing is lost */
	if (meta->has_modtime && object->has_modtime && meta->size == object->size &&
	    difference_us(meta->modtime_us, object->modtime_us) < G_USEC_PER_SEC)
		return false; /* the local file itself: rclone's upload just ended */
	if (!meta->fingerprint[0])
		return true; /* made here and there, each without the other */
	parts = g_strsplit(meta->fingerprint, ",", 3);
	if (!parts[0] || !g_ascii_string_to_signed(parts[0], 10, 0, G_MAXINT64, &size, NULL))
		return false; /* not rclone's format: cannot tell, copy nothing */
	if (size != object->size)
		return true;
	for (size_t i = 1; parts[i]; i++) {
		if (parse_fingerprint_time(parts[i], &when)) {
			/*
			 * Within a second is the same time: a fingerprint taken
			 * right after an upload may hold the time sent, finer
			 * than what the remote keeps and lists.
			 */
			if (object->has_modtime &&
			    difference_us(when, object->modtime_us) >= G_USEC_PER_SEC)
				return true;
			continue;
		}
		if (object->n_hashes > 0 && !hash_known(object, parts[i]))
			return true;
	}
	return false;
}

char *gb_conflict_name(const char *name, GDateTime *when, unsigned attempt)
{
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	const char *dot = strrchr(base, '.');
	g_autofree char *stamp = g_date_time_format(when, "%Y-%m-%d %H%M%S");
	g_autofree char *number = attempt ? g_strdup_printf(" %u", attempt + 1) : g_strdup("");

	if (!dot || dot == base)
		dot = base + strlen(base);
	return g_strdup_printf("%.*s (conflict %s%s)%s", (int)(dot - name), name, stamp, number,
	                       dot);
}

/* ---- the cache's metadata, read as root in a folder the user owns ---- */

static bool component_valid(const char *part)
{
	return part[0] && strcmp(part, ".") != 0 && strcmp(part, "..") != 0;
}

/* Open the folder @relative ("a/b") beneath @dirfd, never following a link. */
static int open_folder_beneath(int dirfd, const char *relative)
{
	g_auto(GStrv) parts = g_strsplit(relative, "/", -1);
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);

	for (size_t i = 0; fd >= 0 && parts[i]; i++) {
		int next;

		if (!parts[i][0])
			continue;
		if (!component_valid(parts[i])) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		next = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	return fd;
}

/* One metadata file: regular, the user's, small. */
static int read_meta_at(int dirfd, const char *leaf, uid_t uid, struct gb_vfs_meta *meta)
{
	char *text;
	struct stat st;
	size_t length = 0;
	int fd, r;

	fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != uid ||
	    st.st_size > GB_CONFLICTS_META_MAX) {
		close(fd);
		return -EPERM;
	}
	text = malloc(GB_CONFLICTS_META_MAX + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	while (length < GB_CONFLICTS_META_MAX) {
		ssize_t n = read(fd, text + length, GB_CONFLICTS_META_MAX - length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		length += (size_t)n;
	}
	close(fd);
	text[length] = '\0';
	r = gb_vfs_meta_parse(text, meta); /* half-written by rclone: -EINVAL, next time */
	free(text);
	return r;
}

static int read_meta(int root, const char *name, uid_t uid, struct gb_vfs_meta *meta)
{
	const char *slash = strrchr(name, '/');
	g_autofree char *folder = slash ? g_strndup(name, (size_t)(slash - name)) : g_strdup("");
	int fd = open_folder_beneath(root, folder), r;

	if (fd < 0)
		return -errno;
	r = component_valid(slash ? slash + 1 : name)
	            ? read_meta_at(fd, slash ? slash + 1 : name, uid, meta)
	            : -EINVAL;
	close(fd);
	return r;
}

/*
 * The folder of the mount's metadata, which vfs/stats names (pathMeta); it
 * must lie in home/cache_folder/vfsMeta, and is opened from the home down.
 * *owner: the uid the metadata files must have: the home's owner, which is
 * the session's account (direct spawner) or the sidecar's dynamic user
 * (systemd spawner: mount->uid is -1 there), never root.
 */
int gb_conflicts_open_meta(const struct gb_conflicts_mount *mount, const char *path_meta,
                           uid_t *owner)
{
	g_autofree char *expected =
	        g_strdup_printf("%s/%s/vfsMeta/", mount->home, mount->cache_folder);
	g_autofree char *below = NULL;
	struct stat st;
	int home, fd;

	if (!path_meta || !g_str_has_prefix(path_meta, expected)) {
		errno = EINVAL;
		return -1;
	}
	below = g_strdup_printf("%s/vfsMeta/%s", mount->cache_folder,
	                        path_meta + strlen(expected));
	home = open(mount->home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (home < 0)
		return -1;
	if (fstat(home, &st) < 0 || st.st_uid == 0 ||
	    (mount->uid != (uid_t)-1 && st.st_uid != mount->uid)) {
		close(home);
		errno = EPERM;
		return -1;
	}
	*owner = st.st_uid;
	fd = open_folder_beneath(home, below);
	close(home);
	return fd;
}

struct scan {
	uid_t uid;
	size_t entries;
	GPtrArray *dirty; /* names relative to the mount's root */
};

/* Walk the folder @fd (taken) for files waiting for upload. */
static void scan_folder(struct scan *scan, int fd, const char *prefix, unsigned depth);

void gb_conflicts_waiting(int root, uid_t owner, GPtrArray *names)
{
	struct scan scan = { .uid = owner, .dirty = names };

	scan_folder(&scan, fcntl(root, F_DUPFD_CLOEXEC, 3), "", 0);
}

static void scan_folder(struct scan *scan, int fd, const char *prefix, unsigned depth)
{
	DIR *dir = fdopendir(fd);
	struct dirent *entry;

	if (!dir) {
		close(fd);
		return;
	}
	while (scan->entries < GB_CONFLICTS_ENTRIES_MAX &&
	       scan->dirty->len < GB_CONFLICTS_DIRTY_MAX && (entry = readdir(dir))) {
		g_autofree char *name = NULL;
		unsigned char type = entry->d_type;
		struct gb_vfs_meta meta;

		if (!component_valid(entry->d_name))
			continue;
		scan->entries++;
		name = prefix[0] ? g_strdup_printf("%s/%s", prefix, entry->d_name)
		                 : g_strdup(entry->d_name);
		if (type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(st.st_mode)   ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
			                             : DT_LNK;
		}
		if (type == DT_DIR && depth < GB_CONFLICTS_DEPTH_MAX) {
			int child = openat(dirfd(dir), entry->d_name,
			                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (child >= 0)
				scan_folder(scan, child, name, depth + 1);
		} else if (type == DT_REG &&
		           read_meta_at(dirfd(dir), entry->d_name, scan->uid, &meta) == 0 &&
		           meta.dirty) {
			g_ptr_array_add(scan->dirty, g_steal_pointer(&name));
		}
	}
	closedir(dir);
}

/* ---- the sidecar's remote control ---- */

static char *params_text(JsonBuilder *builder)
{
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(builder);

	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

static int rc_call(const struct gb_conflicts_mount *mount, const char *method,
                   JsonBuilder *builder, char **body, char *error, size_t error_size)
{
	g_autofree char *params = params_text(builder);

	return gb_rc_request(mount->port, mount->rc_user, mount->password, method, params, body,
	                     error, error_size);
}

static int stat_remote(const struct gb_conflicts_mount *mount, const char *name, bool hashes,
                       struct gb_remote_object *object)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autofree char *body = NULL;
	char error[256];
	int r;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "fs");
	json_builder_add_string_value(builder, mount->remote);
	json_builder_set_member_name(builder, "remote");
	json_builder_add_string_value(builder, name);
	json_builder_set_member_name(builder, "opt");
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "showHash");
	json_builder_add_boolean_value(builder, hashes);
	json_builder_end_object(builder);
	json_builder_end_object(builder);
	r = rc_call(mount, "operations/stat", builder, &body, error, sizeof(error));
	if (r == 0)
		r = gb_remote_object_parse(body, object);
	return r;
}

static GHashTable *transferring_names(const char *core_stats)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *core = parse_object(parser, core_stats);
	GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	JsonNode *node = core ? json_object_get_member(core, "transferring") : NULL;
	JsonArray *list = node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;

	for (guint i = 0; list && i < json_array_get_length(list); i++) {
		JsonNode *element = json_array_get_element(list, i);
		const char *name = JSON_NODE_HOLDS_OBJECT(element)
		                           ? string_member(json_node_get_object(element), "name")
		                           : NULL;

		if (name)
			g_hash_table_add(names, g_strdup(name));
	}
	return names;
}

static bool transferring_now(const struct gb_conflicts_mount *mount, const char *name)
{
	g_autofree char *core = NULL;
	g_autoptr(GHashTable) names = NULL;
	char error[256];

	if (gb_rc_call(mount->port, mount->rc_user, mount->password, "core/stats", &core, error,
	               sizeof(error)) < 0)
		return true; /* cannot tell: not now */
	names = transferring_names(core);
	return g_hash_table_contains(names, name);
}

/* A user's file name, for one log line: no control characters. */
static char *shown(const char *name)
{
	char *copy = g_strdup(name);

	for (char *c = copy; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return copy;
}

/* ---- conflicts ---- */

static char *remembered_key(const char *name, const struct gb_remote_object *object)
{
	return g_strdup_printf("%s\n%lld/%lld/%s", name, (long long)object->size,
	                       (long long)(object->has_modtime ? object->modtime_us : 0),
	                       object->n_hashes ? object->hashes[0] : "");
}

static bool remembered(const struct gb_conflicts *conflicts, const char *key)
{
	for (size_t i = 0; i < GB_CONFLICTS_REMEMBERED; i++)
		if (conflicts->remembered[i] && strcmp(conflicts->remembered[i], key) == 0)
			return true;
	return false;
}

static void remember(struct gb_conflicts *conflicts, const char *key)
{
	size_t i = conflicts->next_remembered++ % GB_CONFLICTS_REMEMBERED;

	g_free(conflicts->remembered[i]);
	conflicts->remembered[i] = g_strdup(key);
}

static void forget(struct gb_conflicts *conflicts, const char *key)
{
	for (size_t i = 0; i < GB_CONFLICTS_REMEMBERED; i++)
		if (conflicts->remembered[i] && strcmp(conflicts->remembered[i], key) == 0)
			g_clear_pointer(&conflicts->remembered[i], g_free);
}

static void job_clear(struct gb_conflict_job *job)
{
	g_free(job->name);
	g_free(job->copy);
	memset(job, 0, sizeof(*job));
}

static void job_failed(struct gb_conflicts *conflicts, const struct gb_conflicts_mount *mount,
                       struct gb_conflict_job *job, const char *why)
{
	g_autofree char *name = shown(job->name), *copy = shown(job->copy);
	g_autofree char *key = remembered_key(job->name, &job->object);

	conflicts->failed++;
	forget(conflicts, key); /* tried again at the next check, while the edit still waits */
	gb_plugin_log(mount->host, GB_LOG_ERROR,
	              "mount '%s' of %s: conflict: could not save the remote's version of '%s' "
	              "as '%s' (%s); the upload of the edit made here may overwrite it",
	              mount->mount_name, mount->identity, name, copy, why);
}

/* The copy is done: is it what the remote held when it started? */
static void job_succeeded(struct gb_conflicts *conflicts, const struct gb_conflicts_mount *mount,
                          struct gb_conflict_job *job)
{
	g_autofree char *name = shown(job->name), *copy = shown(job->copy);
	struct gb_remote_object saved;

	if (stat_remote(mount, job->copy, false, &saved) < 0 || !saved.exists ||
	    saved.size != job->object.size) {
		job_failed(conflicts, mount, job,
		           "the copy is not the size the remote's version had: rclone's upload "
		           "may have begun first");
		return;
	}
	conflicts->saved++;
	gb_plugin_log(mount->host, GB_LOG_WARNING,
	              "mount '%s' of %s: conflict: '%s' changed on the remote while it was "
	              "edited here; the remote's version is kept as '%s', the edit made here "
	              "uploads to '%s'",
	              mount->mount_name, mount->identity, name, copy, name);
}

/* Ask the sidecar about job @index; true once it is over (and cleared). */
static bool job_poll(struct gb_conflicts *conflicts, const struct gb_conflicts_mount *mount,
                     size_t index)
{
	struct gb_conflict_job *job = &conflicts->jobs[index];
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *body = NULL;
	JsonObject *answer;
	char error[256];
	int r;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "jobid");
	json_builder_add_int_value(builder, job->jobid);
	json_builder_end_object(builder);
	r = rc_call(mount, "job/status", builder, &body, error, sizeof(error));
	if (r == -ECONNREFUSED || r == -ETIMEDOUT)
		return false; /* the sidecar is busy or restarting: ask again later */
	answer = r == 0 ? parse_object(parser, body) : NULL;
	if (!answer) {
		job_failed(conflicts, mount, job, r < 0 ? error : "job/status: not JSON");
	} else if (!json_object_get_boolean_member_with_default(answer, "finished", FALSE)) {
		return false;
	} else if (json_object_get_boolean_member_with_default(answer, "success", FALSE)) {
		job_succeeded(conflicts, mount, job);
	} else {
		const char *why = string_member(answer, "error");

		job_failed(conflicts, mount, job, why && why[0] ? why : "it failed");
	}
	job_clear(job);
	conflicts->jobs[index] = conflicts->jobs[--conflicts->n_jobs];
	memset(&conflicts->jobs[conflicts->n_jobs], 0, sizeof(conflicts->jobs[0]));
	return true;
}

static void jobs_poll(struct gb_conflicts *conflicts, const struct gb_conflicts_mount *mount)
{
	for (size_t i = 0; i < conflicts->n_jobs;)
		if (!job_poll(conflicts, mount, i))
			i++;
}

/* Wait a little for the newest job: a small file is saved before status() returns. */
static void job_wait(struct gb_conflicts *conflicts, const struct gb_conflicts_mount *mount)
{
	for (unsigned waited = 0; waited < JOB_WAIT_MS; waited += 100) {
		size_t before = conflicts->n_jobs;

		if (before == 0 || job_poll(conflicts, mount, before - 1))
			return;
		g_usleep(100 * 1000);
	}
}

/* Start copying the remote's @name to @copy in the sidecar; 0 with the job's id. */
static int copy_start(const struct gb_conflicts_mount *mount, const char *name, const char *copy,
                      int64_t *jobid, char *error, size_t error_size)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *body = NULL;
	JsonObject *answer;
	int r;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "srcFs");
	json_builder_add_string_value(builder, mount->remote);
	json_builder_set_member_name(builder, "srcRemote");
	json_builder_add_string_value(builder, name);
	json_builder_set_member_name(builder, "dstFs");
	json_builder_add_string_value(builder, mount->remote);
	json_builder_set_member_name(builder, "dstRemote");
	json_builder_add_string_value(builder, copy);
	json_builder_set_member_name(builder, "_async");
	json_builder_add_boolean_value(builder, TRUE);
	json_builder_end_object(builder);
	r = rc_call(mount, "operations/copyfile", builder, &body, error, error_size);
	if (r < 0)
		return r;
	answer = parse_object(parser, body);
	if (!answer || !json_object_has_member(answer, "jobid")) {
		snprintf(error, error_size, "operations/copyfile gave no job id");
		return -EIO;
	}
	*jobid = json_object_get_int_member(answer, "jobid");
	return 0;
}

/* 0, or -ETIMEDOUT when the remote (or the sidecar) does not answer: stop for now. */
static int check_one(struct gb_conflicts *conflicts, const struct gb_conflicts_mount *mount,
                     int root, uid_t owner, const char *name, GDateTime *now)
{
	struct gb_vfs_meta meta, again;
	struct gb_remote_object object, taken;
	g_autofree char *key = NULL, *copy = NULL, *logged = NULL, *logged_copy = NULL;
	struct gb_conflict_job *job;
	char error[256];
	int64_t jobid = 0;
	unsigned attempt;
	int r;

	if (read_meta(root, name, owner, &meta) < 0 || !meta.dirty)
		return 0;
	/* The remote unreachable: asked again at the next check. */
	r = stat_remote(mount, name, strchr(meta.fingerprint, ',') != NULL, &object);
	if (r < 0)
		return r == -ETIMEDOUT ? r : 0;
	if (!gb_conflict_remote_changed(&meta, &object))
		return 0;
	key = remembered_key(name, &object);
	if (remembered(conflicts, key) || conflicts->n_jobs == GB_CONFLICTS_JOBS_MAX)
		return 0;
	/* Not rclone's own upload ending as we looked: still waiting, same origin. */
	if (read_meta(root, name, owner, &again) < 0 || !again.dirty ||
	    strcmp(again.fingerprint, meta.fingerprint) != 0 || transferring_now(mount, name))
		return 0;
	for (attempt = 0; attempt < GB_CONFLICTS_NAME_TRIES; attempt++) {
		g_free(copy);
		copy = gb_conflict_name(name, now, attempt);
		if (stat_remote(mount, copy, false, &taken) < 0)
			return 0;
		if (!taken.exists)
			break;
	}
	logged = shown(name);
	logged_copy = shown(copy);
	if (attempt == GB_CONFLICTS_NAME_TRIES) {
		gb_plugin_log(
		        mount->host, GB_LOG_ERROR,
		        "mount '%s' of %s: conflict: '%s' changed on the remote while it was "
		        "edited here, and no free name for its copy",
		        mount->mount_name, mount->identity, logged);
		return 0;
	}
	if (copy_start(mount, name, copy, &jobid, error, sizeof(error)) < 0) {
		conflicts->failed++;
		gb_plugin_log(mount->host, GB_LOG_ERROR,
		              "mount '%s' of %s: conflict: could not start saving the remote's "
		              "version of '%s' as '%s': %s",
		              mount->mount_name, mount->identity, logged, logged_copy, error);
		return 0;
	}
	gb_plugin_log(mount->host, GB_LOG_INFO,
	              "mount '%s' of %s: '%s' changed on the remote while an edit made here "
	              "waits for upload; saving the remote's version as '%s'",
	              mount->mount_name, mount->identity, logged, logged_copy);
	remember(conflicts, key);
	job = &conflicts->jobs[conflicts->n_jobs++];
	job->jobid = jobid;
	job->name = g_strdup(name);
	job->copy = g_steal_pointer(&copy);
	job->object = object;
	job_wait(conflicts, mount);
	return 0;
}

void gb_conflicts_check(struct gb_conflicts *conflicts, const struct gb_conflicts_mount *mount,
                        const char *vfs_stats, const char *core_stats)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GHashTable) transferring = NULL;
	g_autoptr(GDateTime) now = NULL;
	JsonObject *vfs = parse_object(parser, vfs_stats), *disk;
	JsonNode *node;
	g_autoptr(GPtrArray) waiting = NULL;
	uid_t owner = 0;
	gint64 deadline = g_get_monotonic_time() + GB_CONFLICTS_BUDGET_MS * 1000;
	int root;

	if (g_get_monotonic_time() < conflicts->quiet_until_us ||
	    g_get_monotonic_time() - conflicts->last_check_us < GB_CONFLICTS_INTERVAL_MS * 1000)
		return;
	conflicts->last_check_us = g_get_monotonic_time();
	jobs_poll(conflicts, mount);
	node = vfs ? json_object_get_member(vfs, "diskCache") : NULL;
	disk = node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	/* Nothing waits for upload: nothing can conflict. */
	if (!disk ||
	    json_object_get_int_member_with_default(disk, "uploadsQueued", 0) +
	                    json_object_get_int_member_with_default(disk, "erroredFiles", 0) <=
	            0)
		return;
	root = gb_conflicts_open_meta(mount, string_member(disk, "pathMeta"), &owner);
	if (root < 0)
		return;
	waiting = g_ptr_array_new_with_free_func(g_free);
	gb_conflicts_waiting(root, owner, waiting);
	transferring = transferring_names(core_stats);
	now = g_date_time_new_now_utc();
	/* More than 3 s of requests: the rest in the next checks, from where this one stops. */
	for (guint n = 0; n < waiting->len && g_get_monotonic_time() < deadline; n++) {
		const char *name = waiting->pdata[conflicts->cursor++ % waiting->len];

		if (g_hash_table_contains(transferring, name))
			continue;
		if (check_one(conflicts, mount, root, owner, name, now) == -ETIMEDOUT) {
			conflicts->quiet_until_us =
			        g_get_monotonic_time() + GB_CONFLICTS_QUIET_S * G_USEC_PER_SEC;
			break;
		}
	}
	close(root);
}

void gb_conflicts_clear(struct gb_conflicts *conflicts)
{
	for (size_t i = 0; i < GB_CONFLICTS_REMEMBERED; i++)
		g_clear_pointer(&conflicts->remembered[i], g_free);
	for (size_t i = 0; i < conflicts->n_jobs; i++)
		job_clear(&conflicts->jobs[i]);
	memset(conflicts, 0, sizeof(*conflicts));
}
