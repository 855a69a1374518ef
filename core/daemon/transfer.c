/* SPDX-License-Identifier: MIT */
/*
 * Files in the browser (transfer.h): the HTTP side.
 *
 *   PUT /api/files/uploads/NAME     the body is the file (or, with
 *                                   Content-Range, a piece of it)
 *   GET /api/files/uploads/NAME     {"offset":N}: how much of an upload cut
 *                                   short is kept, to resume from
 *   GET /api/files/downloads        {"folder":…,"files":[{name,size,mtime}],"truncated":…}
 *   GET /api/files/downloads/NAME   the file, as an attachment
 *
 * glassboxd never opens a path under the home itself: it opens the home
 * (checking that it belongs to the session's uid) and hands it to a child
 * that runs as the session's user (transfer-child.c). An upload's body goes
 * to the child through a pipe as it arrives: when the pipe is full the
 * request is paused, so memory holds at most one piece (8 KiB) per upload;
 * a download comes back the same way, one 64 KiB piece written before the
 * next is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "daemon.h"
#include "audit.h"
#include "auth.h"
#include "file-name.h"
#include "http.h"
#include "log.h"
#include "printable.h"
#include "transfer-child.h"
#include "transfer.h"

#define UPLOADS_PATH            "/api/files/uploads"
#define DOWNLOADS_PATH          "/api/files/downloads"
#define TRANSFERS_PER_LOGIN_MAX 4             /* uploads, downloads, lists under way per login */
#define LIST_ENTRIES_MAX        1000          /* files a download list shows */
#define STATUS_MAX              (1024 * 1024) /* what a child may say (a list) */
#define DOWNLOAD_PIECE          (64 * 1024)
#define JOB_KEY                 "gb-transfer-job"

struct gb_transfer {
	struct gb_daemon *daemon;
	GHashTable *per_login; /* login key -> transfers under way (GUINT_TO_POINTER) */
	GHashTable *uploading; /* "SESSION/NAME": an upload of NAME into SESSION is under way */
	GQueue jobs;           /* struct job, through link */
};

/* One request's transfer, from its child's start to the request's end. */
struct job {
	struct gb_transfer *owner;
	GList link;
	enum gb_transfer_operation operation;
	SoupServerMessage *msg; /* a reference */
	gulong finished_handler, chunk_handler, wrote_handler;
	char *login_key, *identity_namespace, *user, *session_id, *peer, *upload_key;
	char name[GB_FILE_NAME_MAX + 1];
	char *folder; /* files.uploads_dir or downloads_dir (a copy: a reload frees the config) */
	struct gb_transfer_child child;
	GByteArray *status;
	guint status_watch, data_watch;
	bool status_done, body_done, paused, answered, audited, finished, data_broken, waited;
	uint64_t offset, length, total, received; /* upload */
	GBytes *pending;                          /* upload: what the pipe did not take yet */
	uint64_t size, sent;                      /* download */
};

static void job_status_done(struct job *job);

/* ---- who may ---- */

int gb_transfer_may(const struct gb_login *login, const struct gb_daemon_session *session,
                    const char **reason)
{
	if (!session) {
		*reason = "you have no session running";
		return -ENOENT;
	}
	if (!session->identity_namespace ||
	    strcmp(session->identity_namespace, login->identity_namespace) != 0 ||
	    strcmp(session->user, login->user) != 0) {
		*reason = "this session is not yours";
		return -EPERM;
	}
	if (session->state != GB_SESSION_RUNNING) {
		*reason = "your session is not running (yet)";
		return -EAGAIN;
	}
	if (!session->home || session->uid == (uid_t)-1 || session->gid == (gid_t)-1) {
		*reason = "where your session keeps its files is not known";
		return -ENODATA;
	}
	return 0;
}

static guint may_status(int r)
{
	switch (r) {
	case -EPERM:
		return SOUP_STATUS_FORBIDDEN;
	case -ENODATA:
		return SOUP_STATUS_SERVICE_UNAVAILABLE;
	default:
		return SOUP_STATUS_CONFLICT;
	}
}

/* ---- answers ---- */

static char *json_of(JsonBuilder *builder)
{
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(builder);

	json_generator_set_root(generator, root);
	return json_generator_to_data(generator, NULL);
}

/* {"error": @message} and, when @offset is not -1, "offset". */
static char *error_json(const char *message, gint64 offset)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "error");
	json_builder_add_string_value(builder, message);
	if (offset >= 0) {
		json_builder_set_member_name(builder, "offset");
		json_builder_add_int_value(builder, offset);
	}
	json_builder_end_object(builder);
	return json_of(builder);
}

static void job_answer(struct job *job, guint status, const char *json)
{
	if (job->finished || job->answered)
		return;
	job->answered = true;
	gb_http_reply_json(job->msg, status, json);
	if (job->paused) {
		job->paused = false;
		soup_server_message_unpause(job->msg);
	}
}

static void job_audit(struct job *job, uint64_t bytes, const char *result)
{
	if (job->audited || job->operation == GB_TRANSFER_LIST ||
	    job->operation == GB_TRANSFER_PART_SIZE)
		return;
	job->audited = true;
	gb_audit_transfer(job->operation == GB_TRANSFER_UPLOAD ? GB_AUDIT_UPLOAD
	                                                       : GB_AUDIT_DOWNLOAD,
	                  job->session_id, job->identity_namespace, job->user, job->peer,
	                  job->name, (unsigned long long)bytes, result);
}

/* ---- a job's life ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void job_free(struct job *job)
{
	struct gb_transfer *owner = job->owner;
	guint count = GPOINTER_TO_UINT(g_hash_table_lookup(owner->per_login, job->login_key));

	if (count > 1)
		g_hash_table_insert(owner->per_login, g_strdup(job->login_key),
		                    GUINT_TO_POINTER(count - 1));
	else
		g_hash_table_remove(owner->per_login, job->login_key);
	if (job->upload_key)
		g_hash_table_remove(owner->uploading, job->upload_key);
	g_queue_unlink(&owner->jobs, &job->link);
	if (job->status_watch)
		g_source_remove(job->status_watch);
	if (job->data_watch)
		g_source_remove(job->data_watch);
	close_fd(&job->child.status_fd);
	close_fd(&job->child.data_fd);
	g_signal_handler_disconnect(job->msg, job->finished_handler);
	if (job->chunk_handler)
		g_signal_handler_disconnect(job->msg, job->chunk_handler);
	if (job->wrote_handler)
		g_signal_handler_disconnect(job->msg, job->wrote_handler);
	g_object_set_data(G_OBJECT(job->msg), JOB_KEY, NULL);
	g_object_unref(job->msg);
	g_clear_pointer(&job->status, g_byte_array_unref);
	g_clear_pointer(&job->pending, g_bytes_unref);
	g_free(job->login_key);
	g_free(job->identity_namespace);
	g_free(job->user);
	g_free(job->session_id);
	g_free(job->peer);
	g_free(job->upload_key);
	g_free(job->folder);
	g_free(job);
}

/* The request is over: answered, or its connection gone. */
static void job_finished(SoupServerMessage *msg, gpointer data)
{
	struct job *job = data;

	job->finished = true;
	if (job->operation == GB_TRANSFER_DOWNLOAD && job->answered && job->size == job->sent)
		job_audit(job, job->sent, "ok");
	else if (job->operation == GB_TRANSFER_DOWNLOAD)
		job_audit(job, job->sent, "cut short");
	else
		job_audit(job, job->received, "cut short: the connection ended");
	job_free(job);
}

static struct job *job_new(struct gb_transfer *owner, SoupServerMessage *msg,
                           const struct gb_login *login, const struct gb_daemon_session *session,
                           enum gb_transfer_operation operation, const char *name)
{
	struct job *job = g_new0(struct job, 1);
	guint count = GPOINTER_TO_UINT(g_hash_table_lookup(owner->per_login, login->key));

	g_hash_table_insert(owner->per_login, g_strdup(login->key), GUINT_TO_POINTER(count + 1));
	job->owner = owner;
	job->link.data = job;
	g_queue_push_tail_link(&owner->jobs, &job->link);
	job->operation = operation;
	job->msg = g_object_ref(msg);
	job->login_key = g_strdup(login->key);
	job->identity_namespace = g_strdup(login->identity_namespace);
	job->user = g_strdup(login->user);
	job->session_id = g_strdup(session->id);
	job->peer = g_strdup(gb_http_peer(msg));
	g_strlcpy(job->name, name ? name : "", sizeof(job->name));
	job->folder =
	        g_strdup(operation == GB_TRANSFER_UPLOAD || operation == GB_TRANSFER_PART_SIZE
	                         ? owner->daemon->config->files.uploads_dir
	                         : owner->daemon->config->files.downloads_dir);
	job->status = g_byte_array_new();
	job->child.status_fd = job->child.data_fd = -1;
	g_object_set_data(G_OBJECT(msg), JOB_KEY, job);
	job->finished_handler = g_signal_connect(msg, "finished", G_CALLBACK(job_finished), job);
	return job;
}

static void child_reaped(GPid pid, gint status, gpointer data)
{
	g_spawn_close_pid(pid);
}

/* Everything the child said, until it closed the status pipe. */
static gboolean status_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct job *job = data;
	guint8 buffer[16384];

	for (;;) {
		ssize_t n = read(fd, buffer, sizeof(buffer));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n > 0 && job->status->len + (size_t)n <= STATUS_MAX) {
			g_byte_array_append(job->status, buffer, (guint)n);
			continue;
		}
		if (n > 0)
			g_byte_array_set_size(job->status, 0); /* too much: no result */
		break;
	}
	job->status_watch = 0;
	job->status_done = true;
	close_fd(&job->child.status_fd);
	job_status_done(job);
	return G_SOURCE_REMOVE;
}

/* The session's home, a folder of the session's uid (glassboxd never goes further). */
static int open_home(const struct gb_daemon_session *session)
{
	struct stat st;
	int fd = open(session->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != session->uid) {
		gb_warning("session %s of user '%s': its home %s belongs to uid %u, not the "
		           "session's uid %u; refusing file transfers",
		           session->id, session->identity, session->home, (unsigned)st.st_uid,
		           (unsigned)session->uid);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Fork the child for @job (@child_job: what it does, less the home and user). */
static int job_start(struct job *job, const struct gb_daemon_session *session,
                     struct gb_transfer_job *child_job)
{
	int r;

	child_job->home_fd = open_home(session);
	if (child_job->home_fd < 0) {
		gb_warning("session %s of user '%s': cannot open its home %s: %s", session->id,
		           session->identity, session->home, strerror(-child_job->home_fd));
		return child_job->home_fd;
	}
	child_job->uid = session->uid;
	child_job->gid = session->gid;
	child_job->folder = job->folder;
	r = gb_transfer_child_start(child_job, &job->child);
	close(child_job->home_fd);
	if (r < 0) {
		gb_warning("session %s of user '%s': cannot start a file transfer: %s",
		           session->id, session->identity, strerror(-r));
		return r;
	}
	g_child_watch_add(job->child.pid, child_reaped, NULL);
	job->status_watch = g_unix_fd_add(job->child.status_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
	                                  status_readable, job);
	return 0;
}

/* The child's result: the last bytes it said (an I/O error when it said none). */
static void job_result(struct job *job, struct gb_transfer_result *result)
{
	memset(result, 0, sizeof(*result));
	if (job->status->len < sizeof(*result)) {
		result->error = EIO;
		result->stage = GB_TRANSFER_STAGE_USER;
		return;
	}
	memcpy(result, job->status->data + job->status->len - sizeof(*result), sizeof(*result));
	result->name[sizeof(result->name) - 1] = '\0';
}

/* What went wrong, for the browser and the log, and the status to answer with. */
static char *failure_message(const struct job *job, const struct gb_transfer_result *result,
                             guint *status)
{
	const char *error = g_strerror(result->error);

	*status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
	switch (result->stage) {
	case GB_TRANSFER_STAGE_FOLDER:
		if (result->error == ELOOP || result->error == ENOTDIR) {
			*status = SOUP_STATUS_FORBIDDEN;
			return g_strdup_printf("~/%s is a symbolic link or not a folder: refused",
			                       job->folder);
		}
		if (result->error == ENOENT) {
			*status = SOUP_STATUS_NOT_FOUND;
			return g_strdup_printf("there is no folder ~/%s", job->folder);
		}
		return g_strdup_printf("cannot open ~/%s: %s", job->folder, error);
	case GB_TRANSFER_STAGE_FILE:
		if (result->error == ERANGE) {
			*status = SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE;
			return g_strdup_printf("the upload of '%s' has %" G_GUINT64_FORMAT
			                       " bytes so far, not %" G_GUINT64_FORMAT,
			                       job->name, result->value, job->offset);
		}
		if (job->operation == GB_TRANSFER_DOWNLOAD &&
		    (result->error == ENOENT || result->error == ELOOP ||
		     result->error == EINVAL)) {
			*status = SOUP_STATUS_NOT_FOUND;
			return g_strdup_printf("there is no file '%s' in ~/%s", job->name,
			                       job->folder);
		}
		if (result->error == ELOOP || result->error == EISDIR || result->error == EEXIST) {
			*status = SOUP_STATUS_CONFLICT;
			return g_strdup_printf("~/%s/%s is in the way (a link or a folder)",
			                       job->folder, job->name);
		}
		return g_strdup_printf("cannot open '%s' in ~/%s: %s", job->name, job->folder,
		                       error);
	case GB_TRANSFER_STAGE_WRITE:
		if (result->error == ENOSPC || result->error == EDQUOT) {
			*status = SOUP_STATUS_INSUFFICIENT_STORAGE;
			return g_strdup_printf(
			        "%s writing '%s' into ~/%s; the partial file was removed",
			        result->error == ENOSPC ? "no space left on the device"
			                                : "over the disk quota",
			        job->name, job->folder);
		}
		return g_strdup_printf(
		        "cannot write '%s' into ~/%s (the partial file was removed): %s",
		        job->name, job->folder, error);
	case GB_TRANSFER_STAGE_RENAME:
		*status = result->error == EEXIST ? SOUP_STATUS_CONFLICT : *status;
		return g_strdup_printf(
		        "cannot name the file '%s' in ~/%s: %s", job->name, job->folder,
		        result->error == EEXIST ? "too many files of that name" : error);
	case GB_TRANSFER_STAGE_DATA:
		*status = SOUP_STATUS_BAD_REQUEST;
		return g_strdup_printf("the upload of '%s' ended early; send the rest from byte "
		                       "%" G_GUINT64_FORMAT,
		                       job->name, result->value);
	default:
		return g_strdup_printf("cannot act as the session's user: %s", error);
	}
}

static void job_fail(struct job *job, const struct gb_transfer_result *result, uint64_t bytes)
{
	g_autofree char *json = NULL;
	g_autofree char *message = NULL;
	char shown[GB_PRINTABLE_SIZE];
	guint status;

	message = failure_message(job, result, &status);
	gb_printable(shown, sizeof(shown), job->name);
	gb_warning("session %s of user '%s:%s' from %s: %s of '%s' refused: %s", job->session_id,
	           job->identity_namespace, job->user, job->peer,
	           job->operation == GB_TRANSFER_UPLOAD ? "upload" : "download", shown, message);
	job_audit(job, bytes, message);
	json = error_json(message, result->error == ERANGE ? (gint64)result->value : -1);
	job_answer(job, status, json);
}

/* ---- uploads ---- */

static void upload_answer(struct job *job)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autofree char *json = NULL;
	struct gb_transfer_result result;
	char shown[GB_PRINTABLE_SIZE];

	job_result(job, &result);
	if (result.error) {
		job_fail(job, &result, job->received);
		return;
	}
	json_builder_begin_object(builder);
	if (result.name[0]) {
		gb_printable(shown, sizeof(shown), result.name);
		gb_info("session %s of user '%s:%s': uploaded '%s' into ~/%s (%" G_GUINT64_FORMAT
		        " bytes)",
		        job->session_id, job->identity_namespace, job->user, shown, job->folder,
		        job->total);
		json_builder_set_member_name(builder, "name");
		json_builder_add_string_value(builder, result.name);
		json_builder_set_member_name(builder, "size");
		json_builder_add_int_value(builder, (gint64)job->total);
		json_builder_set_member_name(builder, "folder");
		json_builder_add_string_value(builder, job->folder);
		job_audit(job, job->received, "ok");
	} else {
		job_audit(job, job->received, "ok: a piece, more to come");
	}
	json_builder_set_member_name(builder, "offset");
	json_builder_add_int_value(builder, (gint64)result.value);
	json_builder_end_object(builder);
	json = json_of(builder);
	job_answer(job, result.name[0] ? SOUP_STATUS_CREATED : SOUP_STATUS_OK, json);
}

/* The child is gone while the body still comes: what comes is dropped. */
static void upload_broken(struct job *job)
{
	job->data_broken = true;
	g_clear_pointer(&job->pending, g_bytes_unref);
	close_fd(&job->child.data_fd);
}

/* Write what the pipe takes of @bytes; keep the rest in job->pending. */
static void upload_write(struct job *job, GBytes *bytes)
{
	gsize size;
	const guint8 *data = g_bytes_get_data(bytes, &size);
	ssize_t n = 0;

	while ((gsize)n < size) {
		ssize_t written = write(job->child.data_fd, data + n, size - (gsize)n);

		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0 && errno == EAGAIN)
			break;
		if (written < 0) {
			upload_broken(job);
			return;
		}
		n += written;
	}
	g_clear_pointer(&job->pending, g_bytes_unref);
	if ((gsize)n < size)
		job->pending = g_bytes_new_from_bytes(bytes, (gsize)n, size - (gsize)n);
}

static gboolean upload_writable(gint fd, GIOCondition condition, gpointer data)
{
	struct job *job = data;
	g_autoptr(GBytes) pending = g_bytes_ref(job->pending);

	upload_write(job, pending);
	if (job->pending && !job->data_broken)
		return G_SOURCE_CONTINUE;
	job->data_watch = 0;
	if (job->paused) {
		job->paused = false;
		soup_server_message_unpause(job->msg);
	}
	return G_SOURCE_REMOVE;
}

static void upload_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
	struct job *job = data;

	job->received += g_bytes_get_size(chunk);
	gb_connections_request_progress(job->owner->daemon, msg);
	if (job->data_broken)
		return;
	upload_write(job, chunk);
	if (!job->pending)
		return;
	/* The child is behind: read no more of the request until it caught up. */
	if (!job->waited)
		gb_debug("session %s: the upload waits for the disk (%" G_GUINT64_FORMAT
		         " bytes in); reading paused",
		         job->session_id, job->received);
	job->waited = true;
	job->paused = true;
	soup_server_message_pause(msg);
	job->data_watch = g_unix_fd_add(job->child.data_fd, G_IO_OUT | G_IO_ERR | G_IO_HUP,
	                                upload_writable, job);
}

/* ---- the checks every request passes ---- */

/* The file name after @prefix + "/" in @path, or NULL when there is none. */
static const char *name_in_path(const char *path, const char *prefix)
{
	size_t length = strlen(prefix);

	if (strncmp(path, prefix, length) != 0 || path[length] != '/' || !path[length + 1])
		return NULL;
	return path + length + 1;
}

/*
 * The login of the request and its session, when it may transfer files
 * (gb_transfer_may()), the Origin is ours (@origin_required: a PUT, which
 * the page always sends with one) and it has room for one more transfer;
 * else NULL, answered (and audited as @operation of @name).
 */
static struct gb_login *check_request(struct gb_transfer *transfer, SoupServerMessage *msg,
                                      bool origin_required, enum gb_transfer_operation operation,
                                      const char *name, struct gb_daemon_session **session)
{
	struct gb_daemon *daemon = transfer->daemon;
	struct gb_login *login = gb_auth_find_login(daemon, msg);
	const char *reason = NULL;
	guint status = 0;
	int r;

	if (!login) {
		gb_http_reply_error(msg, SOUP_STATUS_UNAUTHORIZED, "not logged in");
		return NULL;
	}
	*session = gb_session_find(daemon, login->identity_namespace, login->user);
	if (!gb_http_origin_allowed(daemon, msg, origin_required)) {
		status = SOUP_STATUS_FORBIDDEN;
		reason = "this origin may not transfer files here";
	} else if ((r = gb_transfer_may(login, *session, &reason)) < 0) {
		status = may_status(r);
	} else if (GPOINTER_TO_UINT(g_hash_table_lookup(transfer->per_login, login->key)) >=
	           TRANSFERS_PER_LOGIN_MAX) {
		status = 429 /* Too Many Requests: libsoup 3.2 has no name for it */;
		reason = "4 file transfers are under way already; wait for one to end";
	}
	if (!status)
		return login;
	if (name && (operation == GB_TRANSFER_UPLOAD || operation == GB_TRANSFER_DOWNLOAD)) {
		g_autofree char *shown = gb_printable_dup(name);

		gb_warning("user '%s:%s' from %s: %s of '%s' refused: %s",
		           login->identity_namespace, login->user, gb_http_peer(msg),
		           operation == GB_TRANSFER_UPLOAD ? "upload" : "download", shown, reason);
		gb_audit_transfer(operation == GB_TRANSFER_UPLOAD ? GB_AUDIT_UPLOAD
		                                                  : GB_AUDIT_DOWNLOAD,
		                  *session ? (*session)->id : NULL, login->identity_namespace,
		                  login->user, gb_http_peer(msg), name, 0, reason);
	}
	gb_http_reply_error(msg, status, reason);
	return NULL;
}

/* "bytes START-END/TOTAL": the piece this body is; false when malformed. */
static bool parse_content_range(const char *text, uint64_t *start, uint64_t *end, uint64_t *total)
{
	char *rest;

	if (!g_str_has_prefix(text, "bytes ") || !g_ascii_isdigit(text[6]))
		return false;
	*start = g_ascii_strtoull(text + 6, &rest, 10);
	if (*rest++ != '-' || !g_ascii_isdigit(*rest))
		return false;
	*end = g_ascii_strtoull(rest, &rest, 10);
	if (*rest++ != '/' || !g_ascii_isdigit(*rest))
		return false;
	*total = g_ascii_strtoull(rest, &rest, 10);
	return *rest == '\0' && *start <= *end && *end < *total;
}

/* Where the body goes in the file (Content-Length, Content-Range); 0 or an answered status. */
static guint upload_extent(struct gb_transfer *transfer, SoupServerMessage *msg, struct job *job,
                           char **message)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const char *range = soup_message_headers_get_one(headers, "Content-Range");
	uint64_t max = transfer->daemon->config->files.max_upload_size, end;

	if (soup_message_headers_get_encoding(headers) != SOUP_ENCODING_CONTENT_LENGTH) {
		*message = g_strdup("send the file with a Content-Length");
		return SOUP_STATUS_LENGTH_REQUIRED;
	}
	job->length = (uint64_t)soup_message_headers_get_content_length(headers);
	job->total = job->length;
	if (range && (!parse_content_range(range, &job->offset, &end, &job->total) ||
	              end - job->offset + 1 != job->length)) {
		*message = g_strdup("Content-Range must be \"bytes START-END/TOTAL\" and match "
		                    "Content-Length");
		return SOUP_STATUS_BAD_REQUEST;
	}
	if (max && job->total > max) {
		*message =
		        g_strdup_printf("'%s' is %" G_GUINT64_FORMAT " bytes, over the limit of "
		                        "%" G_GUINT64_FORMAT " bytes per file",
		                        job->name, job->total, max);
		return SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
	}
	return 0;
}

/* PUT /api/files/uploads/NAME, once its head is in: start the child, stream the body to it. */
static void upload_early(SoupServer *server, SoupServerMessage *msg, const char *path,
                         GHashTable *query, gpointer data)
{
	struct gb_transfer *transfer = data;
	struct gb_transfer_job child_job = { .operation = GB_TRANSFER_UPLOAD };
	const char *asked = name_in_path(path, UPLOADS_PATH);
	char name[GB_FILE_NAME_MAX + 1], part[64];
	g_autofree char *message = NULL, *key = NULL, *digest = NULL;
	struct gb_daemon_session *session = NULL;
	struct gb_login *login;
	struct job *job;
	guint status;

	if (soup_server_message_get_method(msg) != SOUP_METHOD_PUT || !asked)
		return; /* the handler answers */
	if (gb_file_name_sanitise(asked, name, sizeof(name)) < 0) {
		gb_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST,
		                    "file names must be UTF-8, at most 255 bytes, without '/' or "
		                    "control characters");
		return;
	}
	login = check_request(transfer, msg, true, GB_TRANSFER_UPLOAD, name, &session);
	if (!login)
		return;
	key = g_strdup_printf("%s/%s", session->id, name);
	if (g_hash_table_contains(transfer->uploading, key)) {
		gb_http_reply_error(msg, SOUP_STATUS_CONFLICT,
		                    "an upload of this name is under way already");
		return;
	}
	job = job_new(transfer, msg, login, session, GB_TRANSFER_UPLOAD, name);
	status = upload_extent(transfer, msg, job, &message);
	if (status) {
		g_autofree char *json = error_json(message, -1);

		job_audit(job, 0, message);
		job_answer(job, status, json);
		return;
	}
	/* The part file's name is the same for every piece of one name: a resume finds it. */
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);
	g_snprintf(part, sizeof(part), ".glassbox-upload-%.16s.part", digest);
	child_job.name = name;
	child_job.part_name = part;
	child_job.create_folder = true;
	child_job.offset = job->offset;
	child_job.length = job->length;
	child_job.total = job->total;
	if (job_start(job, session, &child_job) < 0) {
		g_autofree char *json = error_json("cannot reach your session's files", -1);

		job_audit(job, 0, "the transfer could not start");
		job_answer(job, SOUP_STATUS_INTERNAL_SERVER_ERROR, json);
		return;
	}
	job->upload_key = g_steal_pointer(&key);
	g_hash_table_add(transfer->uploading, g_strdup(job->upload_key));
	job->chunk_handler = g_signal_connect(msg, "got-chunk", G_CALLBACK(upload_chunk), job);
}

/* GET /api/files/uploads/NAME: how much of an upload cut short is kept. */
static void part_size_start(struct gb_transfer *transfer, SoupServerMessage *msg,
                            const char *asked)
{
	struct gb_transfer_job child_job = { .operation = GB_TRANSFER_PART_SIZE };
	char name[GB_FILE_NAME_MAX + 1], part[64];
	g_autofree char *digest = NULL;
	struct gb_daemon_session *session = NULL;
	struct gb_login *login;
	struct job *job;

	if (gb_file_name_sanitise(asked, name, sizeof(name)) < 0) {
		gb_http_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "not a file name");
		return;
	}
	login = check_request(transfer, msg, false, GB_TRANSFER_PART_SIZE, name, &session);
	if (!login)
		return;
	job = job_new(transfer, msg, login, session, GB_TRANSFER_PART_SIZE, name);
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);
	g_snprintf(part, sizeof(part), ".glassbox-upload-%.16s.part", digest);
	child_job.name = name;
	child_job.part_name = part;
	if (job_start(job, session, &child_job) < 0) {
		job_answer(job, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
		return;
	}
	job->paused = true;
	soup_server_message_pause(msg);
}

static void part_size_answer(struct job *job)
{
	struct gb_transfer_result result;
	g_autofree char *json = NULL;

	job_result(job, &result);
	if (result.error) {
		job_fail(job, &result, 0);
		return;
	}
	json = g_strdup_printf("{\"offset\":%" G_GUINT64_FORMAT "}", result.value);
	job_answer(job, SOUP_STATUS_OK, json);
}

static void uploads_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                            GHashTable *query, gpointer data)
{
	struct gb_transfer *transfer = data;
	struct job *job = g_object_get_data(G_OBJECT(msg), JOB_KEY);
	const char *method = soup_server_message_get_method(msg);
	const char *asked = name_in_path(path, UPLOADS_PATH);

	if (method == SOUP_METHOD_GET && asked) {
		part_size_start(transfer, msg, asked);
	} else if (method != SOUP_METHOD_PUT && method != SOUP_METHOD_GET) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
		                             "Allow", "GET, PUT");
		gb_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use PUT (or GET)");
	} else if (!asked) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND,
		                    "name the file: PUT " UPLOADS_PATH "/NAME");
	} else if (!job) {
		gb_http_reply_error(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
		                    "the upload did not start");
	} else {
		/* The whole body is in: the child sees the end of its pipe. */
		job->body_done = true;
		close_fd(&job->child.data_fd);
		if (job->status_done) {
			upload_answer(job);
			return;
		}
		job->paused = true;
		soup_server_message_pause(msg);
	}
}

/* ---- downloads ---- */

static gint compare_newest_first(gconstpointer a, gconstpointer b)
{
	JsonObject *x = json_node_get_object(*(JsonNode *const *)a);
	JsonObject *y = json_node_get_object(*(JsonNode *const *)b);
	gint64 mx = json_object_get_int_member(x, "mtime"),
	       my = json_object_get_int_member(y, "mtime");

	if (mx != my)
		return mx > my ? -1 : 1;
	return strcmp(json_object_get_string_member(x, "name"),
	              json_object_get_string_member(y, "name"));
}

/* The child's entries, newest first; names that are no valid file names are left out. */
static JsonNode *list_entries(struct job *job, const struct gb_transfer_result *result)
{
	g_autoptr(GPtrArray) entries =
	        g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	size_t end = job->status->len - sizeof(*result), at = 0;
	JsonArray *array = json_array_new();
	JsonNode *node = json_node_new(JSON_NODE_ARRAY);

	while (at + sizeof(struct gb_transfer_entry) <= end) {
		struct gb_transfer_entry entry;
		char name[GB_FILE_NAME_MAX + 1];
		JsonObject *object;

		memcpy(&entry, job->status->data + at, sizeof(entry));
		at += sizeof(entry);
		if (entry.name_length > GB_FILE_NAME_MAX || at + entry.name_length > end)
			break;
		memcpy(name, job->status->data + at, entry.name_length);
		name[entry.name_length] = '\0';
		at += entry.name_length;
		if (!gb_file_name_is_valid(name))
			continue;
		object = json_object_new();
		json_object_set_string_member(object, "name", name);
		json_object_set_int_member(object, "size", (gint64)entry.size);
		json_object_set_int_member(object, "mtime", entry.mtime);
		g_ptr_array_add(entries, json_node_init_object(json_node_alloc(), object));
		json_object_unref(object);
	}
	g_ptr_array_sort(entries, compare_newest_first);
	for (guint i = 0; i < entries->len; i++)
		json_array_add_element(array, json_node_ref(entries->pdata[i]));
	json_node_take_array(node, array);
	return node;
}

static void list_answer(struct job *job)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autofree char *json = NULL;
	struct gb_transfer_result result;

	job_result(job, &result);
	if (result.error) {
		job_fail(job, &result, 0);
		return;
	}
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "folder");
	json_builder_add_string_value(builder, job->folder);
	json_builder_set_member_name(builder, "files");
	json_builder_add_value(builder, list_entries(job, &result));
	json_builder_set_member_name(builder, "truncated");
	json_builder_add_boolean_value(builder, (result.flags & GB_TRANSFER_TRUNCATED) != 0);
	json_builder_end_object(builder);
	json = json_of(builder);
	job_answer(job, SOUP_STATUS_OK, json);
}

/* attachment; filename="ASCII"; filename*=UTF-8''PERCENT-ENCODED (RFC 6266). */
static char *content_disposition(const char *name)
{
	g_autofree char *ascii = g_strdup(name);
	g_autofree char *encoded = g_uri_escape_string(name, NULL, FALSE);

	for (char *c = ascii; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e || *c == '"' ||
		    *c == '\\' || *c == '%')
			*c = '_';
	return g_strdup_printf("attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, encoded);
}

/* The file ended before its size (or the child failed): the answer cannot be whole. */
static void download_cut(struct job *job, const char *why)
{
	GSocket *socket = soup_server_message_get_socket(job->msg);
	char shown[GB_PRINTABLE_SIZE];

	gb_printable(shown, sizeof(shown), job->name);
	gb_warning("session %s of user '%s:%s': download of '%s' cut after %" G_GUINT64_FORMAT
	           " of %" G_GUINT64_FORMAT " bytes: %s",
	           job->session_id, job->identity_namespace, job->user, shown, job->sent,
	           job->size, why);
	job_audit(job, job->sent, why);
	if (socket)
		g_socket_shutdown(socket, TRUE, TRUE, NULL);
}

/* One piece from the child into the answer; the next after libsoup has written it. */
static gboolean download_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct job *job = data;
	SoupMessageBody *body = soup_server_message_get_response_body(job->msg);
	gsize want = (gsize)MIN((uint64_t)DOWNLOAD_PIECE, job->size - job->sent);
	guint8 *buffer = g_malloc(want);
	ssize_t n;

	do
		n = read(fd, buffer, want);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN) {
		g_free(buffer);
		return G_SOURCE_CONTINUE;
	}
	job->data_watch = 0;
	if (n <= 0) {
		g_free(buffer);
		download_cut(job, n < 0 ? g_strerror(errno) : "the file ended early");
		return G_SOURCE_REMOVE;
	}
	job->sent += (uint64_t)n;
	soup_message_body_append_bytes(body, g_bytes_new_take(buffer, (gsize)n));
	if (job->sent == job->size) {
		soup_message_body_complete(body);
		close_fd(&job->child.data_fd);
	}
	soup_server_message_unpause(job->msg);
	return G_SOURCE_REMOVE;
}

static void download_wrote(SoupServerMessage *msg, guint size, gpointer data)
{
	struct job *job = data;

	if (job->sent < job->size && !job->data_watch && job->child.data_fd >= 0)
		job->data_watch = g_unix_fd_add(job->child.data_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
		                                download_readable, job);
}

static void download_answer(struct job *job)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(job->msg);
	SoupMessageBody *body = soup_server_message_get_response_body(job->msg);
	g_autofree char *disposition = content_disposition(job->name);
	struct gb_transfer_result result;

	job_result(job, &result);
	if (result.error) {
		job_fail(job, &result, 0);
		return;
	}
	job->size = result.value;
	gb_http_add_common_headers(job->msg);
	soup_message_headers_replace(headers, "Cache-Control", "no-store");
	soup_message_headers_replace(headers, "Content-Type", "application/octet-stream");
	soup_message_headers_replace(headers, "Content-Disposition", disposition);
	soup_message_headers_set_content_length(headers, (goffset)job->size);
	soup_message_body_set_accumulate(body, FALSE);
	soup_server_message_set_status(job->msg, SOUP_STATUS_OK, NULL);
	job->answered = true;
	job->wrote_handler =
	        g_signal_connect(job->msg, "wrote-chunk", G_CALLBACK(download_wrote), job);
	if (job->size == 0) {
		soup_message_body_complete(body);
		close_fd(&job->child.data_fd);
	} else {
		job->data_watch = g_unix_fd_add(job->child.data_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
		                                download_readable, job);
	}
	if (job->paused) {
		job->paused = false;
		soup_server_message_unpause(job->msg);
	}
}

/* GET /api/files/downloads (the list) and /api/files/downloads/NAME (a file). */
static void downloads_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
                              GHashTable *query, gpointer data)
{
	struct gb_transfer *transfer = data;
	const char *name = name_in_path(path, DOWNLOADS_PATH);
	struct gb_transfer_job child_job = { .operation = GB_TRANSFER_LIST };
	struct gb_daemon_session *session = NULL;
	struct gb_login *login;
	struct job *job;

	if (strcmp(path, DOWNLOADS_PATH) != 0 && strcmp(path, DOWNLOADS_PATH "/") != 0 && !name) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such API");
		return;
	}
	if (soup_server_message_get_method(msg) != SOUP_METHOD_GET) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
		                             "Allow", "GET");
		gb_http_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
		return;
	}
	if (name && !gb_file_name_is_valid(name)) {
		gb_http_reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such file");
		return;
	}
	if (name)
		child_job.operation = GB_TRANSFER_DOWNLOAD;
	login = check_request(transfer, msg, false, child_job.operation, name, &session);
	if (!login)
		return;
	job = job_new(transfer, msg, login, session, child_job.operation, name);
	child_job.name = name;
	child_job.max_entries = LIST_ENTRIES_MAX;
	if (job_start(job, session, &child_job) < 0) {
		job_audit(job, 0, "the transfer could not start");
		job_answer(job, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
		return;
	}
	job->paused = true;
	soup_server_message_pause(msg);
}

/* The child has said all it will (for a download: the file's size, before the data). */
static void job_status_done(struct job *job)
{
	switch (job->operation) {
	case GB_TRANSFER_UPLOAD:
		if (job->body_done)
			upload_answer(job);
		break;
	case GB_TRANSFER_PART_SIZE:
		part_size_answer(job);
		break;
	case GB_TRANSFER_LIST:
		list_answer(job);
		break;
	case GB_TRANSFER_DOWNLOAD:
		download_answer(job);
		break;
	}
}

/* ---- logins that end ---- */

/* Cut @job now: its login ended. The part file of an upload stays, for a resume. */
static void job_cut(struct job *job, const char *why)
{
	GSocket *socket = soup_server_message_get_socket(job->msg);
	g_autofree char *result = g_strdup_printf("cut short: %s", why);
	char shown[GB_PRINTABLE_SIZE];

	gb_printable(shown, sizeof(shown), job->name);
	gb_info("session %s of user '%s:%s': cutting the transfer of '%s': %s", job->session_id,
	        job->identity_namespace, job->user, shown, why);
	job_audit(job, job->operation == GB_TRANSFER_UPLOAD ? job->received : job->sent, result);
	if (job->data_watch) {
		g_source_remove(job->data_watch);
		job->data_watch = 0;
	}
	if (job->operation == GB_TRANSFER_UPLOAD)
		upload_broken(job);
	close_fd(&job->child.data_fd);
	if (socket)
		g_socket_shutdown(socket, TRUE, TRUE, NULL);
	if (!job->answered) {
		g_autofree char *json = error_json("your login ended", -1);

		job_answer(job, SOUP_STATUS_UNAUTHORIZED, json);
	} else if (job->operation == GB_TRANSFER_DOWNLOAD) {
		/* libsoup waits for the next piece: none comes, the answer ends short. */
		soup_message_body_complete(soup_server_message_get_response_body(job->msg));
		soup_server_message_unpause(job->msg);
	}
}

/* A login ended (logout, revocation, expiry): its transfers under way are cut too. */
static void login_ended(void *data, const char *key, const char *reason)
{
	struct gb_daemon *daemon = data;
	GList *link = daemon->transfer ? daemon->transfer->jobs.head : NULL;

	while (link) {
		struct job *job = link->data;

		link = link->next;
		if (strcmp(job->login_key, key) == 0)
			job_cut(job, reason ? reason : "the user logged out");
	}
}

const struct gb_events_listener gb_transfer_events = {
	.login_ended = login_ended,
};

/* ---- the object ---- */

int gb_transfer_init(struct gb_daemon *daemon)
{
	struct gb_transfer *transfer = g_new0(struct gb_transfer, 1);

	transfer->daemon = daemon;
	transfer->per_login = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	transfer->uploading = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_queue_init(&transfer->jobs);
	daemon->transfer = transfer;
	return 0;
}

void gb_transfer_add_routes(struct gb_daemon *daemon)
{
	gb_http_add_streaming_route(daemon, UPLOADS_PATH, upload_early, uploads_handler,
	                            daemon->transfer);
	gb_http_add_route(daemon, DOWNLOADS_PATH, downloads_handler, daemon->transfer, 0);
}

void gb_transfer_fini(struct gb_daemon *daemon)
{
	struct gb_transfer *transfer = daemon->transfer;

	if (!transfer)
		return;
	while (transfer->jobs.head)
		job_free(transfer->jobs.head->data);
	g_hash_table_destroy(transfer->per_login);
	g_hash_table_destroy(transfer->uploading);
	g_free(transfer);
	daemon->transfer = NULL;
}
