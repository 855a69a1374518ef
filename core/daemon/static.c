/* SPDX-License-Identifier: MIT */
/*
 * The web client: regular files under server.web_dir, GET and HEAD only.
 * A path is split into its components and opened relative to the folder
 * with openat2(RESOLVE_BENEATH), so neither "..", an encoded traversal nor
 * a symbolic link can reach a file outside it. Hidden files (".git",
 * ".htpasswd") are never served and folders are never listed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "log.h"

#define PATH_DEPTH_MAX  32
#define PATH_LENGTH_MAX 1024

/* O_PATH of server.web_dir; -1 when it cannot be opened. One daemon per process. */
static int web_dir_fd = -1;

static const struct {
	const char *extension;
	const char *type;
} mime_types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "ico", "image/x-icon" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "webmanifest", "application/manifest+json" },
	{ "wasm", "application/wasm" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "webp", "image/webp" },
	{ "woff2", "font/woff2" },
};

static const char *mime_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < G_N_ELEMENTS(mime_types); i++)
		if (g_ascii_strcasecmp(dot + 1, mime_types[i].extension) == 0)
			return mime_types[i].type;
	/* nosniff keeps a browser from guessing anything more dangerous. */
	return "application/octet-stream";
}

static int open_beneath(int dir_fd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	char *copy, *component, *save = NULL;
	int fd, next;

	fd = (int)syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return fd;

	/* Kernels before 5.6: walk the components and follow no link at all. */
	copy = strdup(path);
	if (!copy)
		return -1;
	fd = dup(dir_fd);
	for (component = strtok_r(copy, "/", &save); component && fd >= 0;
	     component = strtok_r(NULL, "/", &save)) {
		next = openat(fd, component,
		              O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
		close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

static void reply_status(SoupServerMessage *msg, guint status)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	const char *phrase = soup_status_get_phrase(status);

	gb_http_add_common_headers(msg);
	soup_message_headers_replace(headers, "Cache-Control", "no-store");
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
	                                 phrase, strlen(phrase));
	soup_server_message_set_status(msg, status, NULL);
}

static bool etag_matches(const char *header, const char *etag)
{
	g_auto(GStrv) items = NULL;

	if (!header)
		return false;
	items = g_strsplit(header, ",", 64);
	for (size_t i = 0; items[i]; i++) {
		const char *item = g_strstrip(items[i]);

		if (strcmp(item, "*") == 0)
			return true;
		if (g_str_has_prefix(item, "W/"))
			item += 2;
		if (strcmp(item, etag) == 0)
			return true;
	}
	return false;
}

/* Answer with the regular file open as @fd (closed here), or 304 when the client has it. */
static void serve_file(struct gb_daemon *daemon, SoupServerMessage *msg, int fd,
                       const struct stat *st, const char *relative, const char *last)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	g_autoptr(GMappedFile) mapped = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GDateTime) modified = NULL;
	g_autofree char *etag = NULL;
	g_autofree char *last_modified = NULL;

	/*
	 * The client's files are not fingerprinted, so browsers keep them but
	 * ask every time (no-cache); the ETag makes that a cheap 304.
	 */
	etag = g_strdup_printf("\"%llx-%llx-%lx\"", (unsigned long long)st->st_size,
	                       (unsigned long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
	modified = g_date_time_new_from_unix_utc(st->st_mtim.tv_sec);
	last_modified = modified ? soup_date_time_to_string(modified, SOUP_DATE_HTTP) : NULL;
	gb_http_add_common_headers(msg);
	soup_message_headers_replace(headers, "Cache-Control", "no-cache");
	soup_message_headers_replace(headers, "ETag", etag);
	if (last_modified)
		soup_message_headers_replace(headers, "Last-Modified", last_modified);
	if (etag_matches(soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
	                                              "If-None-Match"),
	                 etag)) {
		close(fd);
		soup_server_message_set_status(msg, SOUP_STATUS_NOT_MODIFIED, NULL);
		return;
	}

	if (st->st_size > 0) {
		g_autoptr(GError) error = NULL;

		mapped = g_mapped_file_new_from_fd(fd, FALSE, &error);
		if (!mapped) {
			gb_warning("cannot read %s/%s: %s", daemon->config->server.web_dir,
			           relative, error->message);
			close(fd);
			reply_status(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR);
			return;
		}
		bytes = g_mapped_file_get_bytes(mapped);
	} else {
		bytes = g_bytes_new(NULL, 0);
	}
	close(fd);
	soup_message_headers_replace(headers, "Content-Type", mime_type(last));
	soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
}

/*
 * The file @path names under the web folder, relative to it (g_free it), and
 * in *@name its last component (for its type); NULL when nothing may be
 * served there: a hidden component ("..", "." and hidden files alike), or a
 * path too deep. A folder's path gets its index.html.
 */
static char *relative_path(const char *path, char **name)
{
	g_autoptr(GString) relative = g_string_new(NULL);
	g_auto(GStrv) components = g_strsplit(path, "/", PATH_DEPTH_MAX + 2);
	const char *last = NULL;
	int depth = 0;

	for (size_t i = 0; components[i]; i++) {
		const char *component = components[i];

		if (component[0] == '\0')
			continue;
		/* '/' only survives in the unsplit rest of a path too deep to serve. */
		if (component[0] == '.' || strpbrk(component, "/\\") || ++depth > PATH_DEPTH_MAX)
			return NULL;
		if (relative->len)
			g_string_append_c(relative, '/');
		g_string_append(relative, component);
		last = component;
	}
	if (g_str_has_suffix(path, "/") || relative->len == 0) {
		if (relative->len)
			g_string_append_c(relative, '/');
		g_string_append(relative, "index.html");
		last = "index.html";
	}
	*name = g_strdup(last);
	return g_string_free(g_steal_pointer(&relative), FALSE);
}

static void handle_static(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer data)
{
	struct gb_daemon *daemon = data;
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	const char *method = soup_server_message_get_method(msg);
	g_autofree char *relative = NULL;
	g_autofree char *last = NULL;
	struct stat st;
	int fd;

	if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
		soup_message_headers_replace(headers, "Allow", "GET, HEAD");
		reply_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
		return;
	}
	if (web_dir_fd < 0 || !path || path[0] != '/' || strlen(path) > PATH_LENGTH_MAX) {
		reply_status(msg, SOUP_STATUS_NOT_FOUND);
		return;
	}
	relative = relative_path(path, &last);
	if (!relative) {
		reply_status(msg, SOUP_STATUS_NOT_FOUND);
		return;
	}

	fd = open_beneath(web_dir_fd, relative);
	if (fd < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			gb_debug("GET %s: %s", path, strerror(errno));
		reply_status(msg, SOUP_STATUS_NOT_FOUND);
		return;
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		reply_status(msg, SOUP_STATUS_NOT_FOUND);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		/* Rebuilt from the checked components: never an open redirect. */
		g_autofree char *location = g_strdup_printf("/%s/", relative);

		close(fd);
		soup_message_headers_replace(headers, "Location", location);
		reply_status(msg, SOUP_STATUS_MOVED_PERMANENTLY);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		reply_status(msg, SOUP_STATUS_NOT_FOUND);
		return;
	}

	serve_file(daemon, msg, fd, &st, relative, last);
}

void gb_static_add_routes(struct gb_daemon *daemon)
{
	const char *web_dir = daemon->config->server.web_dir;

	web_dir_fd = open(web_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (web_dir_fd < 0)
		gb_warning("cannot open the web client folder %s (server.web_dir): %s; only "
		           "/api/ is served",
		           web_dir, strerror(errno));
	gb_http_add_route(daemon, NULL, handle_static, daemon, 0);
}

void gb_static_stop(struct gb_daemon *daemon)
{
	if (web_dir_fd >= 0)
		close(web_dir_fd);
	web_dir_fd = -1;
}
