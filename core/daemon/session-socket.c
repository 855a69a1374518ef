/* SPDX-License-Identifier: MIT */
/* Connections to a session's sockets, checked against its process (session-socket.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "daemon.h"
#include "sessions.h"
#include "log.h"
#include "text.h"
#include "session-socket.h"

#define LINK_TARGET_SHOWN 200 /* bytes of a link's target in the log */

/* Where the link open as @link_fd (O_PATH | O_NOFOLLOW) points, printable, for the log. */
static char *link_target(int link_fd)
{
	char target[LINK_TARGET_SHOWN + 1], shown[LINK_TARGET_SHOWN + 1];
	ssize_t n = readlinkat(link_fd, "", target, sizeof(target) - 1);

	if (n < 0)
		return g_strdup("?");
	target[n] = '\0';
	gb_printable(shown, sizeof(shown), target);
	return g_strdup(shown);
}

/*
 * What is at @path, before any connection: NULL when it is a socket of the
 * session's uid (then *@path_fd is an O_PATH fd of that very inode), else
 * why not (a link, another file, another owner). A negative errno in *@error
 * when it cannot be looked at (ENOENT: not there yet).
 */
static char *check_socket_file(const struct gb_daemon_session *session, const char *path,
                               int *path_fd, int *error)
{
	struct stat st;
	char *reason = NULL;
	int fd;

	*path_fd = -1;
	*error = 0;
	/* O_NOFOLLOW: a link the session's user put there is seen, not followed. */
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*error = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (S_ISLNK(st.st_mode)) {
		g_autofree char *target = link_target(fd);

		reason = g_strdup_printf("it is a symbolic link (to %s), not the session's socket",
		                         target);
	} else if (!S_ISSOCK(st.st_mode)) {
		reason = g_strdup_printf("it is not a socket (mode %06o)", (unsigned)st.st_mode);
	} else if (session->uid != (uid_t)-1 && st.st_uid != session->uid) {
		reason = g_strdup_printf("it belongs to uid %u, not to the session's uid %u",
		                         (unsigned)st.st_uid, (unsigned)session->uid);
	}
	if (reason)
		close(fd);
	else
		*path_fd = fd;
	return reason;
}

/* connect() to the inode open as @path_fd, so that nothing can be swapped in between. */
static int connect_checked(int fd, const char *path, int path_fd)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };

	snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d", path_fd);
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	/* No /proc (a bare container): by name; the peer check still holds. */
	memcpy(address.sun_path, path, strlen(path) + 1);
	return connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0 ? 0 : -errno;
}

int gb_session_socket_connect(const struct gb_daemon_session *session, const char *path,
                              const char *what)
{
	struct sockaddr_un address;
	struct ucred peer;
	socklen_t length = sizeof(peer);
	g_autofree char *reason = NULL;
	int fd = -1, path_fd, r;

	if (!path || strlen(path) >= sizeof(address.sun_path))
		return -ENAMETOOLONG;
	reason = check_socket_file(session, path, &path_fd, &r);
	if (!reason && r < 0)
		return r;
	if (!reason) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		/* A unix socket connects at once, or fails (EAGAIN: its backlog is full). */
		r = fd < 0 ? -errno : connect_checked(fd, path, path_fd);
		close(path_fd);
		if (r < 0) {
			if (fd >= 0)
				close(fd);
			return r;
		}
	}
	if (reason) {
		/* refused before connecting */
	} else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0) {
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
	if (fd >= 0)
		close(fd);
	gb_warning("session %s of user '%s': refusing its %s socket %s: %s", session->id,
	           session->user, what, path, reason);
	gb_audit_socket_refused(session->id, session->user, path, reason);
	return -EPERM;
}
