/* SPDX-License-Identifier: MIT */
/* The session's listening unix sockets: control and signalling (listen-socket.c). */
#ifndef GB_LISTEN_SOCKET_H
#define GB_LISTEN_SOCKET_H

struct wl_event_loop;
struct gb_listen_socket;

/** A new connection: @fd is non-blocking and close-on-exec, and the callee's to close. */
typedef void (*gb_listen_socket_accepted_func)(void *data, int fd);

/**
 * Listen on a unix stream socket at @path, mode 0600, replacing a socket a
 * crashed session left there, and call @accepted on @loop for each
 * connection. NULL with errno set on failure, after one log line naming
 * @what and @path where there is something to say.
 */
struct gb_listen_socket *gb_listen_socket_create(struct wl_event_loop *loop, const char *path,
                                                 const char *what, int backlog,
                                                 gb_listen_socket_accepted_func accepted,
                                                 void *data);
/** Stop listening and remove the socket file. NULL is fine. */
void gb_listen_socket_destroy(struct gb_listen_socket *listen_socket);

#endif
