/* SPDX-License-Identifier: MIT */
/*
 * The client of a session's control socket (core/session/README.md,
 * CONTROL SOCKET): connect, checked to be the session's own socket
 * (session-socket.h), send one command line, read one answer line, within
 * a time-out. Everything runs on the main loop through fd watches; the
 * caller hears the end through a callback. Used by metrics (`stats`) and
 * by the D-Bus Screenshot method (`screenshot PATH`).
 */
#ifndef GB_SESSION_CONTROL_H
#define GB_SESSION_CONTROL_H

#include <stddef.h>

struct gb_daemon_session;
struct gb_session_control_call;

/**
 * The end of a call. @result is 0 with @line the answer (without its
 * newline), or a negative errno with @line NULL: -ETIMEDOUT (no answer in
 * time), -EPIPE (the session closed the socket without an answer),
 * -EMSGSIZE (the answer is longer than allowed), or the error of the read.
 * The call is freed after the callback returns.
 */
typedef void (*gb_session_control_done)(void *data, int result, const char *line);

/**
 * Connect to @session's control socket and send @command (one line, its
 * newline included). The answer may be up to @answer_max bytes; @timeout_ms
 * 0 waits for ever (the caller has its own clock). Returns the call, or
 * NULL with errno set and one line in @error: it was refused (EPERM, logged
 * and audited by session-socket.c), could not connect (EAGAIN: the session
 * is busy) or could not send. @done is not called then.
 */
struct gb_session_control_call *gb_session_control_call(const struct gb_daemon_session *session,
                                                        const char *command, size_t answer_max,
                                                        unsigned timeout_ms,
                                                        gb_session_control_done done, void *data,
                                                        char *error, size_t error_size);

/** Forget a call that is still out: its callback never comes. Accepts NULL. */
void gb_session_control_cancel(struct gb_session_control_call *call);

#endif
