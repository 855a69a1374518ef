/* SPDX-License-Identifier: MIT */
/*
 * The signalling socket (signal-socket.c): one connection per viewer, one JSON
 * object a line both ways. It knows nothing of what the messages mean: its
 * owner registers a struct gb_signal_events and gets each connection's
 * messages through it.
 */
#ifndef GB_SIGNAL_SOCKET_H
#define GB_SIGNAL_SOCKET_H

#include <stdint.h>

#include <json-glib/json-glib.h>

struct gb_session;
struct gb_signal;
struct gb_signal_client;

/** What the signalling socket tells its owner; on the main loop. */
struct gb_signal_events {
	/**
	 * A viewer connected on @client. Returns what its messages go to (the
	 * @viewer of the calls below), or NULL with errno set to drop it.
	 */
	void *(*connected)(void *data, struct gb_signal_client *client);
	/** One message from @viewer: an object with a string "type". */
	void (*message)(void *data, void *viewer, JsonObject *message);
	/** @viewer's connection is going: nothing may be sent on it from now on. */
	void (*disconnected)(void *data, void *viewer);
};

/** Listen on @path (session->signal); @events and @data must outlive it. */
int gb_signal_create(struct gb_session *session, const char *path,
                     const struct gb_signal_events *events, void *data);
/** Disconnects every viewer first. NULL is fine. */
void gb_signal_destroy(struct gb_signal *signal);

/** The connection's number, for the log: "viewer 3". */
uint64_t gb_signal_client_id(struct gb_signal_client *client);
/** Queue one message as a line for the browser. */
void gb_signal_client_send(struct gb_signal_client *client, JsonNode *message);
/**
 * Close the connection once what is queued is written (at most a short
 * while), sending {"type":"error","message":@error} first unless NULL.
 * The disconnected event comes from the main loop, never from inside this
 * call.
 */
void gb_signal_client_close(struct gb_signal_client *client, const char *error);

#endif
