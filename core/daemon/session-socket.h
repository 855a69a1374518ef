/* SPDX-License-Identifier: MIT */
/*
 * Connections to a session's own sockets (signal, control). They live in a
 * folder the session's user can write, so that user may have replaced them
 * with links to another session's sockets; connect() follows links. Every
 * connection is therefore checked, before anything is written to it, to be
 * served by the session's own process (SO_PEERCRED).
 */
#ifndef GB_SESSION_SOCKET_H
#define GB_SESSION_SOCKET_H

#include "daemon.h"

/**
 * Connect to @path, one of @session's sockets (@what names it in the log:
 * "signal", "control"), and check its peer: the pid must be the session's
 * (session->pid: the direct spawner's child, the systemd unit's MainPID)
 * and the uid session->uid (glassboxd's own for the direct spawner, the
 * unit's UID for systemd; not checked when (uid_t)-1). Nothing is read from
 * /proc: glassboxd's unit has ProtectProc=invisible.
 *
 * Returns a non-blocking, close-on-exec, connected fd, or a negative errno:
 * -EPERM when the peer is someone else, after logging one warning that
 * names the session, its user, the socket, and the pid and uid found and
 * expected (nothing was written to the socket); else connect()'s error,
 * not logged (-EAGAIN: the backlog is full, try later).
 */
int gb_session_socket_connect(const struct gb_daemon_session *session, const char *path,
                              const char *what);

#endif
