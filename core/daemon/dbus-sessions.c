/* SPDX-License-Identifier: MIT */
/*
 * org.glassbox.Manager1's sessions: ListSessions, TerminateSession and
 * Screenshot, which asks the session's control socket (session-control.h)
 * for its next frame and answers the call when the PNG is there, without
 * blocking the main loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbus-private.h"
#include "error.h"
#include "log.h"
#include "printable.h"
#include "auth.h"
#include "sessions.h"
#include "session-control.h"
#include "spawner.h"

#define SCREENSHOT_TIMEOUT_S  5
#define SCREENSHOT_SIZE_MAX   (64 << 20) /* under sd-bus's 128 MiB message limit */
#define SCREENSHOT_ANSWER_MAX 512

/* One Screenshot call waiting for the session. */
struct screenshot {
	struct gb_dbus *bus;
	sd_bus_message *call;
	uid_t uid;
	char session_id[GB_SESSION_ID_LENGTH + 1];
	char *path; /* the PNG the session writes, in its own folder */
	struct gb_session_control_call *control; /* the question to the session; NULL after */
	GList link;                              /* in gb_dbus.screenshots */
};

static gint compare_sessions(gconstpointer a, gconstpointer b)
{
	const struct gb_daemon_session *sa = *(struct gb_daemon_session *const *)a;
	const struct gb_daemon_session *sb = *(struct gb_daemon_session *const *)b;

	if (sa->started_realtime_us != sb->started_realtime_us)
		return sa->started_realtime_us < sb->started_realtime_us ? -1 : 1;
	return strcmp(sa->id, sb->id);
}

int gb_dbus_list_sessions(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon *daemon = state->daemon;
	sd_bus_message *reply = NULL;
	g_autoptr(GPtrArray) sessions = g_ptr_array_new();
	const char *spawner = gb_sessions_spawner_name(daemon);
	GHashTableIter iter;
	gpointer value;
	int r;

	gb_sessions_iter_init(&iter, daemon);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(sessions, value);
	g_ptr_array_sort(sessions, compare_sessions);

	r = sd_bus_message_new_method_return(call, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, 'a', "(ssssuxs)");
	for (guint i = 0; r >= 0 && i < sessions->len; i++) {
		struct gb_daemon_session *session = sessions->pdata[i];

		/* "namespace:user": the same name through two auth plugins is two people. */
		r = sd_bus_message_append(reply, "(ssssuxs)", session->id, session->identity,
		                          gb_session_state_name(session->state),
		                          session->unit ? session->unit : "",
		                          (uint32_t)session->relays.length,
		                          (int64_t)session->started_realtime_us, spawner);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r < 0 ? r : 1;
}

/* The session with this id that has not exited, or NULL. */
static struct gb_daemon_session *find_session(struct gb_daemon *daemon, const char *id)
{
	struct gb_daemon_session *session = gb_session_lookup(daemon, id);

	return session && session->state != GB_SESSION_EXITED ? session : NULL;
}

/*
 * The session a method's one argument, an id, names: 0 with *@session (not
 * exited) and *@uid, the caller, who is an administrator; < 0 with @error
 * set otherwise. *@args (g_free it) is the id made printable, for the log:
 * a refusal after the caller was identified is for the caller to log
 * (gb_dbus_admin_done()), when *@uid is not (uid_t)-1.
 */
static int session_argument(sd_bus_message *call, struct gb_dbus *state, const char *method,
                            struct gb_daemon_session **session, uid_t *uid, char **args,
                            sd_bus_error *error)
{
	const char *id;
	int r;

	*session = NULL;
	*uid = (uid_t)-1;
	*args = NULL;
	r = sd_bus_message_read(call, "s", &id);
	if (r < 0)
		return r;
	*args = gb_printable_dup(id);
	r = gb_dbus_require_admin(call, method, *args, uid, error);
	if (r < 0) {
		*uid = (uid_t)-1; /* logged already */
		return r;
	}
	r = gb_dbus_check_name("session id", id, NAME_MAX_BYTES, error);
	if (r < 0)
		return r;
	*session = find_session(state->daemon, id);
	if (!*session)
		return sd_bus_error_setf(error, ERROR_NO_SUCH_SESSION, "no session '%s'", *args);
	return 0;
}

int gb_dbus_terminate_session(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon_session *session;
	g_autofree char *args = NULL;
	uid_t uid;
	int r;

	r = session_argument(call, state, "TerminateSession", &session, &uid, &args, error);
	if (r < 0 && uid == (uid_t)-1)
		return r;
	if (r < 0)
		goto out;
	/* Also the user's logins: otherwise the page's next connection, or a
	 * reload of it, would quietly start a new session with the old cookie. */
	gb_auth_end_logins(state->daemon, session->identity_namespace, session->user, NULL,
	                   "logged out: the session was terminated by an administrator");
	gb_session_stop(session, "terminated by an administrator (D-Bus TerminateSession)");
	r = sd_bus_reply_method_return(call, NULL);
out:
	gb_dbus_admin_done(uid, "TerminateSession", args, r);
	return r;
}

static void screenshot_free(struct screenshot *shot)
{
	gb_session_control_cancel(shot->control);
	if (shot->path) {
		unlink(shot->path);
		g_free(shot->path);
	}
	sd_bus_message_unref(shot->call);
	g_free(shot);
}

/* Answer the call with an error (or, with @png, the picture) and free it. */
static void screenshot_finish(struct screenshot *shot, int result, const char *error_name,
                              const char *message, const void *png, size_t png_size)
{
	sd_bus_message *reply = NULL;
	g_autofree char *args = g_strdup(shot->session_id);
	uid_t uid = shot->uid;
	int r;

	g_queue_unlink(&shot->bus->screenshots, &shot->link);
	if (result < 0) {
		sd_bus_reply_method_errorf(shot->call, error_name, "%s", message);
	} else {
		r = sd_bus_message_new_method_return(shot->call, &reply);
		if (r >= 0)
			r = sd_bus_message_append_array(reply, 'y', png, png_size);
		if (r >= 0)
			r = sd_bus_send(NULL, reply, NULL);
		sd_bus_message_unref(reply);
		if (r < 0) {
			result = r;
			sd_bus_reply_method_errnof(shot->call, -r,
			                           "cannot send the screenshot: %s", strerror(-r));
		}
	}
	if (result < 0)
		gb_warning("D-Bus: screenshot of session %s: %s", shot->session_id,
		           message ? message : strerror(-result));
	else
		gb_info("D-Bus: screenshot of session %s: %zu bytes of PNG", shot->session_id,
		        png_size);
	screenshot_free(shot);
	gb_dbus_admin_done(uid, "Screenshot", args, result);
}

/* The session said ok: read its PNG (then screenshot_free() deletes it). */
static void screenshot_read(struct screenshot *shot)
{
	static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	g_autofree char *message = NULL;
	g_autofree unsigned char *png = NULL;
	struct stat st;
	size_t done = 0;
	int fd, r;

	fd = open(shot->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		message = g_strdup_printf("cannot open the screenshot %s: %s", shot->path,
		                          strerror(-r));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(signature) ||
	    st.st_size > SCREENSHOT_SIZE_MAX) {
		r = -EINVAL;
		message = g_strdup_printf("the screenshot %s is not a regular file of 8 bytes to "
		                          "%d MiB",
		                          shot->path, SCREENSHOT_SIZE_MAX >> 20);
		goto fail;
	}
	png = g_malloc((size_t)st.st_size);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, png + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			message = g_strdup_printf("cannot read the screenshot %s: %s", shot->path,
			                          strerror(-r));
			goto fail;
		}
		done += (size_t)n;
	}
	close(fd);
	fd = -1;
	if (memcmp(png, signature, sizeof(signature)) != 0) {
		r = -EINVAL;
		message = g_strdup_printf("the session wrote something other than a PNG to %s",
		                          shot->path);
		goto fail;
	}
	screenshot_finish(shot, 0, NULL, NULL, png, done);
	return;

fail:
	if (fd >= 0)
		close(fd);
	screenshot_finish(shot, r, ERROR_SCREENSHOT, message, NULL, 0);
}

/* The session's answer to "screenshot PATH", or why none came. */
static void screenshot_answered(void *data, int result, const char *line)
{
	struct screenshot *shot = data;
	g_autofree char *message = NULL;
	g_autofree char *answer = NULL;

	shot->control = NULL; /* freed after this returns */
	if (result == -ETIMEDOUT) {
		message = g_strdup_printf("session %s did not deliver a frame within %d s",
		                          shot->session_id, SCREENSHOT_TIMEOUT_S);
		screenshot_finish(shot, -ETIMEDOUT, ERROR_SCREENSHOT, message, NULL, 0);
	} else if (result == -EMSGSIZE) {
		screenshot_finish(shot, -EPROTO, ERROR_SCREENSHOT,
		                  "the session's answer is longer than a line may be", NULL, 0);
	} else if (result < 0) {
		message = g_strdup_printf("the session closed its control socket without an "
		                          "answer%s%s",
		                          result != -EPIPE ? ": " : "",
		                          result != -EPIPE ? strerror(-result) : "");
		screenshot_finish(shot, -EPIPE, ERROR_SCREENSHOT, message, NULL, 0);
	} else if (strcmp(line, "ok") == 0) {
		screenshot_read(shot);
	} else {
		answer = gb_printable_dup(line);
		message = g_strdup_printf(
		        "the session could not take the screenshot: %s",
		        g_str_has_prefix(answer, "error ") ? answer + strlen("error ") : answer);
		screenshot_finish(shot, -EIO, ERROR_SCREENSHOT, message, NULL, 0);
	}
}

/* Ask the session's control socket for the next frame, written to a file of its own. */
static int screenshot_request(struct screenshot *shot, const struct gb_daemon_session *session,
                              char *error, size_t error_size)
{
	unsigned char random_bytes[8];
	g_autofree char *command = NULL;
	g_autofree char *folder = NULL;
	char name[2 * sizeof(random_bytes) + 1];
	int r;

	if (!session->control_path) {
		gb_error_set(error, error_size, "the session has no usable control socket");
		return -EINVAL;
	}
	r = gb_random_bytes(random_bytes, sizeof(random_bytes));
	if (r < 0) {
		gb_error_set(error, error_size, "getrandom: %s", strerror(-r));
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(random_bytes); i++)
		snprintf(name + 2 * i, 3, "%02x", random_bytes[i]);
	/* The session's own folder (direct: runtime_dir/sessions/ID; systemd: its
	 * unit's RuntimeDirectory), where it may write and others may not. */
	folder = g_path_get_dirname(session->control_path);
	shot->path = g_strdup_printf("%s/screenshot-%s.png", folder, name);
	command = g_strdup_printf("screenshot %s\n", shot->path);
	shot->control = gb_session_control_call(session, command, SCREENSHOT_ANSWER_MAX - 1,
	                                        SCREENSHOT_TIMEOUT_S * 1000, screenshot_answered,
	                                        shot, error, error_size);
	if (!shot->control)
		return -errno;
	return 0;
}

int gb_dbus_screenshot(sd_bus_message *call, void *data, sd_bus_error *error)
{
	struct gb_dbus *state = data;
	struct gb_daemon_session *session;
	struct screenshot *shot;
	g_autofree char *args = NULL;
	char message[512];
	uid_t uid;
	int r;

	r = session_argument(call, state, "Screenshot", &session, &uid, &args, error);
	if (r < 0 && uid == (uid_t)-1)
		return r;
	if (r < 0)
		goto refused;
	if (session->state != GB_SESSION_RUNNING) {
		r = sd_bus_error_setf(error, ERROR_NOT_RUNNING, "session %s is %s, not running",
		                      session->id, gb_session_state_name(session->state));
		goto refused;
	}
	if (state->screenshots.length >= SCREENSHOTS_MAX) {
		r = sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
		                      "%d screenshots are being taken already; try again",
		                      SCREENSHOTS_MAX);
		goto refused;
	}

	shot = g_new0(struct screenshot, 1);
	shot->bus = state;
	shot->uid = uid;
	shot->call = sd_bus_message_ref(call);
	g_strlcpy(shot->session_id, session->id, sizeof(shot->session_id));
	shot->link.data = shot;
	r = screenshot_request(shot, session, message, sizeof(message));
	if (r < 0) {
		screenshot_free(shot);
		r = sd_bus_error_setf(error, ERROR_SCREENSHOT, "session %s: %s", session->id,
		                      message);
		goto refused;
	}
	g_queue_push_tail_link(&state->screenshots, &shot->link);
	return 1;

refused:
	gb_dbus_admin_done(uid, "Screenshot", args, r);
	return r;
}

void gb_dbus_screenshots_stop(struct gb_dbus *state)
{
	GList *link;

	while ((link = g_queue_peek_head_link(&state->screenshots)))
		screenshot_finish(link->data, -ECANCELED, ERROR_SCREENSHOT,
		                  "glassboxd is stopping", NULL, 0);
}
