/* SPDX-License-Identifier: MIT */
/*
 * One viewer's WebRTC peer (peer.c): its branch of the stream's pipeline,
 * the negotiation with the browser and the data channel "input". It talks
 * to the browser through the struct gb_peer_events its owner registers,
 * and never names the transport.
 */
#ifndef GB_PEER_H
#define GB_PEER_H

#include <stdint.h>

#include <json-glib/json-glib.h>

struct gb_handoff;
struct gb_peer;
struct gb_stream;

/** How a peer reaches its browser; on the main loop. */
struct gb_peer_events {
	/** Send @message, a JSON object of docs/streaming-protocol.md. */
	void (*send)(void *data, JsonNode *message);
	/**
	 * Close the connection, telling the browser why unless @error is NULL.
	 * The owner destroys the peer later, never from inside this call.
	 */
	void (*close)(void *data, const char *error);
};

/**
 * A new peer numbered @id (for the log) streaming @stream, whose GStreamer
 * callbacks come back through @handoff; NULL with errno on failure.
 * @events and @data must outlive it.
 */
struct gb_peer *gb_peer_create(struct gb_stream *stream, struct gb_handoff *handoff, uint64_t id,
                               const struct gb_peer_events *events, void *data);
/** Release its input, take its branch down, log its figures. NULL is fine. */
void gb_peer_destroy(struct gb_peer *peer);
/** One message from the browser (an object with a string "type"). */
void gb_peer_handle_message(struct gb_peer *peer, JsonObject *message);

#endif
