/* SPDX-License-Identifier: MIT */
/* Connections to a session's sockets, checked against its process (session-socket.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "daemon.h"
#include "log.h"
#include "session-socket.h"

int gb_session_socket_connect(const struct gb_daemon_session *session, const char *path,
                              const char *what)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	struct ucred peer;
	socklen_t length = sizeof(peer);
	g_autofree char *reason = NULL;
	int fd;

	if (!path || strlen(path) >= sizeof(address.sun_path))
		return -ENAMETOOLONG;
	memcpy(address.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A unix socket connects at once, or fails (EAGAIN: its backlog is full). */
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0) {
		reason =
		        g_strdup_printf("cannot read its peer's credentials: %s", strerror(errno));
	} else if (session->pid > 0 && peer.pid == session->pid &&
	           (session->uid == (uid_t)-1 || peer.uid == session->uid)) {
		return fd;
	} else if (session->pid <= 0) {
		reason =
		        g_strdup_printf("it is served by pid %d uid %u, and the session's own pid "
		                        "is not known",
		                        (int)peer.pid, (unsigned)peer.uid);
	} else {
		char uid[16] = "not known";

		if (session->uid != (uid_t)-1)
			snprintf(uid, sizeof(uid), "%u", (unsigned)session->uid);
		reason =
		        g_strdup_printf("it is served by pid %d uid %u, not the session's pid %d "
		                        "uid %s (was the socket replaced?)",
		                        (int)peer.pid, (unsigned)peer.uid, (int)session->pid, uid);
	}
	close(fd);
	gb_warning("session %s of user '%s': refusing its %s socket %s: %s", session->id,
	           session->user, what, path, reason);
	gb_audit_socket_refused(session->id, session->user, path, reason);
	return -EPERM;
}
