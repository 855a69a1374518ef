/* SPDX-License-Identifier: MIT */
/* The session's listening unix sockets (control, signalling). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <wayland-server-core.h>

#include "listen-socket.h"
#include "log.h"

struct gb_listen_socket {
	char *path;
	int fd;
	struct wl_event_source *source;
	gb_listen_socket_accepted_func accepted;
	void *data;
};

/* The listening fd, or a negative errno after one log line naming @what and @path. */
static int listen_unix(const char *path, const char *what, int backlog)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd, r;

	if (strlen(path) >= sizeof(address.sun_path)) {
		gb_error("%s socket path %s is longer than %zu bytes", what, path,
		         sizeof(address.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	/* A socket left by a crashed session is replaced; anything else is not ours. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			gb_error("%s socket path %s exists and is not a socket", what, path);
			return -EEXIST;
		}
		unlink(path);
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	strcpy(address.sun_path, path);
	old_umask = umask(0177); /* born 0600: no window where others may connect */
	r = bind(fd, (struct sockaddr *)&address, sizeof(address));
	umask(old_umask);
	if (r < 0 || listen(fd, backlog) < 0) {
		r = -errno;
		gb_error("cannot listen on %s socket %s: %s", what, path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

static int socket_readable(int fd, uint32_t mask, void *data)
{
	struct gb_listen_socket *listen_socket = data;
	int client_fd;

	client_fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (client_fd >= 0)
		listen_socket->accepted(listen_socket->data, client_fd);
	return 0;
}

struct gb_listen_socket *gb_listen_socket_create(struct wl_event_loop *loop, const char *path,
                                                 const char *what, int backlog,
                                                 gb_listen_socket_accepted_func accepted,
                                                 void *data)
{
	struct gb_listen_socket *listen_socket = calloc(1, sizeof(*listen_socket));
	int r;

	if (!listen_socket)
		return NULL;
	listen_socket->accepted = accepted;
	listen_socket->data = data;
	listen_socket->fd = listen_unix(path, what, backlog);
	if (listen_socket->fd < 0) {
		r = listen_socket->fd;
		goto fail;
	}
	listen_socket->path = strdup(path);
	if (!listen_socket->path) {
		r = -ENOMEM;
		goto fail;
	}
	listen_socket->source = wl_event_loop_add_fd(loop, listen_socket->fd, WL_EVENT_READABLE,
	                                             socket_readable, listen_socket);
	if (!listen_socket->source) {
		r = -ENOMEM;
		goto fail;
	}
	return listen_socket;

fail:
	gb_listen_socket_destroy(listen_socket);
	errno = -r;
	return NULL;
}

void gb_listen_socket_destroy(struct gb_listen_socket *listen_socket)
{
	if (!listen_socket)
		return;
	if (listen_socket->source)
		wl_event_source_remove(listen_socket->source);
	if (listen_socket->fd >= 0)
		close(listen_socket->fd);
	if (listen_socket->path)
		unlink(listen_socket->path);
	free(listen_socket->path);
	free(listen_socket);
}
