/* SPDX-License-Identifier: MIT */
/*
 * auth-oidc: a small blocking HTTP client over libsoup 3 for the provider's
 * discovery document, keys and token endpoint.
 *
 * glassboxd calls the plugin from its auth worker thread, one call at a time,
 * but not always from the same thread: each request gets its own SoupSession,
 * made, used and freed on the calling thread (libsoup wants a session's
 * non-sending API used from the thread that made it). Bodies are read into
 * memory up to OIDC_BODY_MAX and no further, and the whole request must end
 * within twice the time-out even when a provider sends one byte at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libsoup/soup.h>

#include "oidc-private.h"

#define READ_CHUNK 16384

void oidc_http_response_clear(struct oidc_http_response *response)
{
	if (!response)
		return;
	if (response->body)
		g_bytes_unref(response->body);
	response->body = NULL;
	response->status = 0;
}

static int error_to_errno(const GError *gerror)
{
	if (g_error_matches(gerror, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		return -ETIMEDOUT;
	return -EIO;
}

/* Read the body, at most OIDC_BODY_MAX bytes, by @deadline (monotonic µs). */
static int read_body(GInputStream *stream, gint64 deadline, GBytes **body, char *error,
                     size_t error_size)
{
	GByteArray *data = g_byte_array_new();
	guint8 chunk[READ_CHUNK];
	int r = 0;

	for (;;) {
		g_autoptr(GError) gerror = NULL;
		gssize n;

		if (g_get_monotonic_time() > deadline) {
			gb_error_set(error, error_size, "the answer took too long to arrive");
			r = -ETIMEDOUT;
			break;
		}
		n = g_input_stream_read(stream, chunk, sizeof(chunk), NULL, &gerror);
		if (n < 0) {
			gb_error_set(error, error_size, "cannot read the answer: %s",
			             gerror->message);
			r = error_to_errno(gerror);
			break;
		}
		if (n == 0)
			break;
		if (data->len + (gsize)n > OIDC_BODY_MAX) {
			gb_error_set(error, error_size, "the answer is larger than %d bytes",
			             OIDC_BODY_MAX);
			r = -EFBIG;
			break;
		}
		g_byte_array_append(data, chunk, (guint)n);
	}
	if (r < 0) {
		g_byte_array_unref(data);
		return r;
	}
	*body = g_byte_array_free_to_bytes(data);
	return 0;
}

int oidc_http_request(const struct oidc_http_options *options, const char *method, const char *url,
                      const char *authorization, const char *form,
                      struct oidc_http_response *response, char *error, size_t error_size)
{
	g_autoptr(GError) gerror = NULL;
	SoupSession *session;
	SoupMessage *message;
	SoupMessageHeaders *headers;
	GInputStream *stream;
	gint64 deadline;
	goffset length;
	int r;

	memset(response, 0, sizeof(*response));
	deadline = g_get_monotonic_time() + 2 * (gint64)options->timeout_s * G_USEC_PER_SEC;
	session = soup_session_new_with_options("timeout", (guint)options->timeout_s,
	                                        "idle-timeout", (guint)options->timeout_s,
	                                        "user-agent", "glassbox-auth-oidc/1.0", NULL);
	if (options->tls_database)
		soup_session_set_tls_database(session, options->tls_database);
	message = soup_message_new(method, url);
	if (!message) {
		gb_error_set(error, error_size, "%s is not a URL libsoup accepts", url);
		g_object_unref(session);
		return -EINVAL;
	}
	/* A provider's endpoints are where discovery says; never follow a redirect
	 * somewhere else with a code and a verifier in hand. */
	soup_message_add_flags(message, SOUP_MESSAGE_NO_REDIRECT);
	headers = soup_message_get_request_headers(message);
	soup_message_headers_replace(headers, "Accept", "application/json");
	if (authorization)
		soup_message_headers_replace(headers, "Authorization", authorization);
	if (form) {
		GBytes *bytes = g_bytes_new(form, strlen(form));

		soup_message_set_request_body_from_bytes(
		        message, "application/x-www-form-urlencoded", bytes);
		g_bytes_unref(bytes);
	}

	stream = soup_session_send(session, message, NULL, &gerror);
	if (!stream) {
		gb_error_set(error, error_size, "%s %s: %s", method, url, gerror->message);
		r = error_to_errno(gerror);
		goto out;
	}
	response->status = soup_message_get_status(message);
	length = -1;
	if (soup_message_headers_get_encoding(soup_message_get_response_headers(message)) ==
	    SOUP_ENCODING_CONTENT_LENGTH)
		length = soup_message_headers_get_content_length(
		        soup_message_get_response_headers(message));
	if (length > OIDC_BODY_MAX) {
		gb_error_set(error, error_size,
		             "%s %s: the answer is %" G_GOFFSET_FORMAT " bytes, more than %d",
		             method, url, length, OIDC_BODY_MAX);
		r = -EFBIG;
	} else {
		char body_error[256] = "";

		r = read_body(stream, deadline, &response->body, body_error, sizeof(body_error));
		if (r < 0)
			gb_error_set(error, error_size, "%s %s: %s", method, url, body_error);
	}
	g_input_stream_close(stream, NULL, NULL);
	g_object_unref(stream);
out:
	if (r < 0)
		oidc_http_response_clear(response);
	g_object_unref(message);
	soup_session_abort(session);
	g_object_unref(session);
	return r;
}
