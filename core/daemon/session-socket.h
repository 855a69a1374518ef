/* SPDX-License-Identifier: MIT */
/*
 * Connections to a session's own sockets (signal, control). They live in a
 * folder the session's user can write, so that user may have replaced them,
 * for instance with links to another session's sockets, and connect()
 * follows links. So every connection is checked twice before anything is
 * written to it: the file (no link, a socket, the session's uid), and the
 * process that serves it (SO_PEERCRED).
 */
#ifndef GB_SESSION_SOCKET_H
#define GB_SESSION_SOCKET_H

#include "daemon.h"

/**
 * Connect to @path, one of @session's sockets (@what names it in the log:
 * "signal", "control"):
 *  1. the file is opened with O_PATH | O_NOFOLLOW and must be a socket (not
 *     a symbolic link) owned by session->uid; the connection goes to that
 *     very inode (through /proc/self/fd), so nothing can be swapped in
 *     between. A link is thus refused before the socket it names sees a
 *     connection.
 *  2. the peer (SO_PEERCRED) must be the session's process, session->pid
 *     (the direct spawner's child, the systemd unit's MainPID), with uid
 *     session->uid (glassboxd's own for the direct spawner, the unit's UID
 *     for systemd). A uid of (uid_t)-1 is not checked. Nothing is read from
 *     /proc/PID: glassboxd's unit has ProtectProc=invisible.
 *
 * Returns a non-blocking, close-on-exec, connected fd, or a negative errno:
 * -EPERM when either check fails, after logging one warning and one audit
 * entry (session-socket-refused) that name the session, its user, the
 * socket and what was found instead of what was expected; else the error of
 * open() or connect(), not logged (-EAGAIN: the backlog is full, try later).
 */
int gb_session_socket_connect(const struct gb_daemon_session *session, const char *path,
                              const char *what);

#endif
