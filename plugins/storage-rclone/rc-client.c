/* SPDX-License-Identifier: MIT */
/* storage-rclone: the sidecar's remote control over HTTP (rc-client.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "error.h"
#include "rc-client.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd until @deadline; 0, or -ETIMEDOUT. */
static int wait_for(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_loopback(uint16_t port, int64_t deadline)
{
	struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t length = sizeof(int);
	int fd, r, so_error = 0;

	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	r = wait_for(fd, POLLOUT, deadline);
	if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length) < 0)
		r = -errno;
	if (r == 0 && so_error)
		r = -so_error;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int send_all(int fd, const char *data, size_t length, int64_t deadline)
{
	while (length > 0) {
		ssize_t n = send(fd, data, length, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			int r = wait_for(fd, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		data += n;
		length -= (size_t)n;
	}
	return 0;
}

/* Read until the peer closes; the response, NUL-terminated, in *out. */
static int receive_all(int fd, char **out, int64_t deadline)
{
	size_t length = 0, size = 4096;
	char *buffer = malloc(size);

	if (!buffer)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (length + 1 == size) {
			char *grown;

			if (size >= GB_RC_RESPONSE_MAX) {
				free(buffer);
				return -EFBIG;
			}
			grown = realloc(buffer, size * 2);
			if (!grown) {
				free(buffer);
				return -ENOMEM;
			}
			buffer = grown;
			size *= 2;
		}
		n = recv(fd, buffer + length, size - length - 1, 0);
		if (n > 0) {
			length += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			int r = wait_for(fd, POLLIN, deadline);

			if (r < 0) {
				free(buffer);
				return r;
			}
			continue;
		}
		free(buffer);
		return -errno;
	}
	buffer[length] = '\0';
	*out = buffer;
	return 0;
}

int gb_rc_call(uint16_t port, const char *user, const char *password, const char *method,
               char **body, char *error, size_t error_size)
{
	return gb_rc_request(port, user, password, method, "{}", body, error, error_size);
}

int gb_rc_request(uint16_t port, const char *user, const char *password, const char *method,
                  const char *params, char **body, char *error, size_t error_size)
{
	int64_t deadline = now_ms() + GB_RC_TIMEOUT_MS;
	g_autofree char *credentials = g_strdup_printf("%s:%s", user, password);
	g_autofree char *basic = g_base64_encode((const guchar *)credentials, strlen(credentials));
	g_autofree char *request = NULL;
	char *response = NULL, *start;
	int fd, r, status = 0;

	*body = NULL;
	request = g_strdup_printf("POST /%s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\nAuthorization: "
	                          "Basic %s\r\nContent-Type: application/json\r\n"
	                          "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                          method, (unsigned)port, basic, strlen(params), params);
	explicit_bzero(credentials, strlen(credentials));
	fd = connect_loopback(port, deadline);
	if (fd < 0) {
		gb_error_set(error, error_size, "rc on 127.0.0.1:%u: %s", (unsigned)port,
		             strerror(-fd));
		return fd;
	}
	r = send_all(fd, request, strlen(request), deadline);
	explicit_bzero(request, strlen(request));
	if (r == 0)
		r = receive_all(fd, &response, deadline);
	close(fd);
	if (r < 0) {
		gb_error_set(error, error_size, "rc on 127.0.0.1:%u: %s", (unsigned)port,
		             strerror(-r));
		return r;
	}
	if (sscanf(response, "HTTP/1.%*d %d", &status) != 1 ||
	    !(start = strstr(response, "\r\n\r\n"))) {
		gb_error_set(error, error_size, "rc on 127.0.0.1:%u: not an HTTP response",
		             (unsigned)port);
		free(response);
		return -EIO;
	}
	if (status != 200) {
		gb_error_set(error, error_size, "rc %s on 127.0.0.1:%u answered %d", method,
		             (unsigned)port, status);
		free(response);
		return status == 401 ? -EACCES : -EIO;
	}
	*body = strdup(start + 4);
	free(response);
	return *body ? 0 : -ENOMEM;
}

static JsonObject *parse_object(JsonParser *parser, const char *text)
{
	JsonNode *root;

	if (!json_parser_load_from_data(parser, text, -1, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
}

static uint64_t member_count(JsonObject *object, const char *name)
{
	gint64 value = json_object_get_int_member_with_default(object, name, 0);

	return value > 0 ? (uint64_t)value : 0;
}

/* Bytes of the transfers under way not yet sent: core/stats "transferring". */
static uint64_t bytes_left(JsonObject *core)
{
	JsonArray *transferring;
	uint64_t left = 0;

	if (!core || !json_object_has_member(core, "transferring"))
		return 0;
	transferring = json_object_get_array_member(core, "transferring");
	for (guint i = 0; transferring && i < json_array_get_length(transferring); i++) {
		JsonNode *node = json_array_get_element(transferring, i);
		JsonObject *item =
		        JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
		uint64_t size, sent;

		if (!item)
			continue;
		size = member_count(item, "size");
		sent = member_count(item, "bytes");
		if (size > sent)
			left += size - sent;
	}
	return left;
}

int gb_rc_parse_status(const char *vfs_stats, const char *core_stats,
                       struct gb_storage_status *status, char *error, size_t error_size)
{
	g_autoptr(JsonParser) vfs_parser = json_parser_new();
	g_autoptr(JsonParser) core_parser = json_parser_new();
	JsonObject *vfs = parse_object(vfs_parser, vfs_stats), *disk;
	JsonObject *core = core_stats ? parse_object(core_parser, core_stats) : NULL;

	if (!vfs || !json_object_has_member(vfs, "diskCache") ||
	    !JSON_NODE_HOLDS_OBJECT(json_object_get_member(vfs, "diskCache"))) {
		gb_error_set(error, error_size,
		             "vfs/stats has no diskCache: is the mount's --vfs-cache-mode off?");
		return -EIO;
	}
	disk = json_object_get_object_member(vfs, "diskCache");
	status->state = GB_STORAGE_READY;
	status->files_queued = member_count(disk, "uploadsQueued");
	status->files_uploading = member_count(disk, "uploadsInProgress");
	status->upload_errors = member_count(disk, "erroredFiles");
	status->bytes_uploading = bytes_left(core);
	status->message[0] = '\0';
	if (json_object_get_boolean_member_with_default(disk, "outOfSpace", FALSE)) {
		status->state = GB_STORAGE_FAILED;
		snprintf(status->message, sizeof(status->message),
		         "the cache folder is out of space");
	}
	return 0;
}
