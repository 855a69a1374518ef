/* SPDX-License-Identifier: MIT */
/* One command on a session's control socket, answered on the main loop (session-control.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "daemon.h"
#include "sessions.h"
#include "error.h"
#include "session-control.h"
#include "session-socket.h"

struct gb_session_control_call {
	int fd;
	guint watch;
	guint timeout;
	gb_session_control_done done;
	void *data;
	char *answer; /* answer_max + 1 bytes */
	size_t answer_max;
	size_t length;
};

void gb_session_control_cancel(struct gb_session_control_call *call)
{
	if (!call)
		return;
	if (call->watch)
		g_source_remove(call->watch);
	if (call->timeout)
		g_source_remove(call->timeout);
	if (call->fd >= 0)
		close(call->fd);
	g_free(call->answer);
	g_free(call);
}

/* Tell the caller and free the call; its sources are removed here, not by returning. */
static void finish(struct gb_session_control_call *call, int result, const char *line)
{
	call->done(call->data, result, line);
	gb_session_control_cancel(call);
}

static gboolean readable(gint fd, GIOCondition condition, gpointer data)
{
	struct gb_session_control_call *call = data;
	char *newline;
	ssize_t n;

	n = recv(fd, call->answer + call->length, call->answer_max - call->length, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n > 0) {
		call->length += (size_t)n;
		call->answer[call->length] = '\0';
		newline = strchr(call->answer, '\n');
		if (!newline && call->length < call->answer_max)
			return G_SOURCE_CONTINUE; /* the rest of the line is on its way */
	}
	call->watch = 0; /* removed by the return below */
	if (n < 0)
		finish(call, -errno, NULL);
	else if (n == 0)
		finish(call, -EPIPE, NULL);
	else if (!newline)
		finish(call, -EMSGSIZE, NULL);
	else {
		*newline = '\0';
		finish(call, 0, call->answer);
	}
	return G_SOURCE_REMOVE;
}

static gboolean timed_out(gpointer data)
{
	struct gb_session_control_call *call = data;

	call->timeout = 0;
	finish(call, -ETIMEDOUT, NULL);
	return G_SOURCE_REMOVE;
}

struct gb_session_control_call *gb_session_control_call(const struct gb_daemon_session *session,
                                                        const char *command, size_t answer_max,
                                                        unsigned timeout_ms,
                                                        gb_session_control_done done, void *data,
                                                        char *error, size_t error_size)
{
	const char *path = session->control_path;
	struct gb_session_control_call *call;
	size_t length = strlen(command);
	ssize_t n;
	int fd, r;

	if (!path) {
		gb_error_set(error, error_size, "the session has no usable control socket");
		errno = EINVAL;
		return NULL;
	}
	/* Checked to be the session's own socket before the command is written. */
	fd = gb_session_socket_connect(session, path, "control");
	if (fd < 0) {
		if (fd == -EPERM)
			gb_error_set(error, error_size,
			             "refused its control socket %s: it is not served by the "
			             "session (see glassboxd's log)",
			             path);
		else
			gb_error_set(error, error_size, "cannot connect to %s: %s%s", path,
			             strerror(-fd),
			             fd == -EAGAIN ? " (the session is busy; try again)" : "");
		errno = -fd;
		return NULL;
	}
	n = send(fd, command, length, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != (ssize_t)length) {
		r = n < 0 ? errno : EAGAIN;
		gb_error_set(error, error_size, "cannot write to %s: %s", path, strerror(r));
		close(fd);
		errno = r;
		return NULL;
	}
	call = g_new0(struct gb_session_control_call, 1);
	call->fd = fd;
	call->done = done;
	call->data = data;
	call->answer_max = answer_max;
	call->answer = g_malloc(answer_max + 1);
	call->answer[0] = '\0';
	call->watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, readable, call);
	if (timeout_ms)
		call->timeout = g_timeout_add(timeout_ms, timed_out, call);
	return call;
}
