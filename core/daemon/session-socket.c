/* SPDX-License-Identifier: MIT */
/* Connections to a session's sockets, checked against its process (session-socket.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "session-socket.h"

/* The effective uid of @pid now (SO_PEERCRED's uid is the listener's effective uid). */
static int process_euid(pid_t pid, uid_t *uid)
{
	char path[64], buffer[4096];
	unsigned long real, effective;
	ssize_t n;
	char *line;
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buffer, sizeof(buffer) - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	buffer[n] = '\0';
	line = strstr(buffer, "\nUid:");
	if (!line || sscanf(line + strlen("\nUid:"), "%lu %lu", &real, &effective) != 2)
		return -EIO;
	*uid = (uid_t)effective;
	return 0;
}

int gb_session_socket_connect(const struct gb_daemon_session *session, const char *path,
                              const char *what)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	struct ucred peer;
	socklen_t length = sizeof(peer);
	uid_t expected_uid = (uid_t)-1;
	int fd, r;

	if (!path || strlen(path) >= sizeof(address.sun_path))
		return -ENAMETOOLONG;
	memcpy(address.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A unix socket connects at once, or fails (EAGAIN: its backlog is full). */
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0) {
		r = -errno;
		close(fd);
		gb_warning("session %s of user '%s': refusing its %s socket %s: cannot read its "
		           "peer's credentials: %s",
		           session->id, session->user, what, path, strerror(-r));
		return -EPERM;
	}
	r = session->pid > 0 ? process_euid(session->pid, &expected_uid) : -ESRCH;
	if (r == 0 && peer.pid == session->pid && peer.uid == expected_uid)
		return fd;

	close(fd);
	if (session->pid <= 0)
		gb_warning("session %s of user '%s': refusing its %s socket %s: it is served by "
		           "pid %d uid %u, and the session's own pid is not known",
		           session->id, session->user, what, path, (int)peer.pid,
		           (unsigned)peer.uid);
	else if (r < 0)
		gb_warning("session %s of user '%s': refusing its %s socket %s: it is served by "
		           "pid %d uid %u, and the session's pid %d cannot be read: %s",
		           session->id, session->user, what, path, (int)peer.pid,
		           (unsigned)peer.uid, (int)session->pid, strerror(-r));
	else
		gb_warning("session %s of user '%s': refusing its %s socket %s: it is served by "
		           "pid %d uid %u, not the session's pid %d uid %u (was the socket "
		           "replaced?)",
		           session->id, session->user, what, path, (int)peer.pid,
		           (unsigned)peer.uid, (int)session->pid, (unsigned)expected_uid);
	return -EPERM;
}
