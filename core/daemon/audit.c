/* SPDX-License-Identifier: MIT */
/*
 * The audit trail in the journal, through sd_journal_send(): one entry per
 * event with GLASSBOX_* fields, a human MESSAGE, a PRIORITY and a fixed
 * MESSAGE_ID per event type (made with `systemd-id128 new`; listed in
 * README.md, never change them: operators filter on them).
 *
 * Field values are sent as they are (the journal's native protocol is
 * binary-safe: libsystemd switches to the length-prefixed form for a value
 * with a newline), but bounded; the MESSAGE, which people read on a
 * terminal, gets printable text only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <syslog.h>

#include <glib.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "log.h"
#include "printable.h"

#define ID_LOGIN_SUCCESS   "6ed9149468d14e7098d6674d18cd45f8"
#define ID_LOGIN_FAILURE   "da7f2424a3034e0c9ce7356b7a88d337"
#define ID_LOGIN_THROTTLED "da0c600f149743138340a0a1b804bffd"
#define ID_LOGOUT          "56692e79b46147399b43f28a6d5aa16f"
#define ID_SESSION_START   "3b52e342a0e941929ae89d72bdf6b8d3"
#define ID_SESSION_STOP    "d0cc147dc339432e954e788f205f6019"
#define ID_ADMIN_ACTION    "3356dda4df114153b1cad01fd2919fac"
#define ID_SOCKET_REFUSED  "8780e433c2194bf89410e3f765748a2e"
#define ID_USER_REMOTE     "3834d95e094a43e3bc723ee21ee69c6f"
#define ID_FILE_UPLOAD     "2619aa7d78a94d5c8d7422eb401a51c9"
#define ID_FILE_DOWNLOAD   "26a26c8e09f6425ea81e6d81045fdc93"

/* Bounds on what a remote user chose (a user name) and on the rest. */
#define VALUE_MAX   256
#define ARGS_MAX    1024
#define IDENTIFIER  "SYSLOG_IDENTIFIER=glassboxd"
#define MAYBE(text) ((text) ? (text) : "")

static bool journal_failed;

/* At most @limit bytes of @text, cut on a character boundary when it is UTF-8. */
static char *bounded(const char *text, size_t limit)
{
	size_t length;

	if (!text)
		return g_strdup("");
	length = strnlen(text, limit + 1);
	if (length <= limit)
		return g_strdup(text);
	length = limit;
	if (g_utf8_validate(text, -1, NULL))
		while (length > 0 && (text[length] & 0xc0) == 0x80)
			length--;
	return g_strndup(text, length);
}

static void sent(int r)
{
	/* No journal here (a container, a test): say so once, then stay quiet. */
	if (r < 0 && !journal_failed) {
		journal_failed = true;
		gb_debug("audit: cannot write to the journal: %s; audit entries are dropped",
		         strerror(-r));
	} else if (r >= 0 && journal_failed) {
		journal_failed = false;
	}
}

static const char *login_event(enum gb_audit_login result, const char **id, int *priority)
{
	switch (result) {
	case GB_AUDIT_LOGIN_SUCCESS:
		*id = ID_LOGIN_SUCCESS;
		*priority = LOG_INFO;
		return "login-success";
	case GB_AUDIT_LOGIN_FAILURE:
		*id = ID_LOGIN_FAILURE;
		*priority = LOG_WARNING;
		return "login-failure";
	case GB_AUDIT_LOGIN_THROTTLED:
	default:
		*id = ID_LOGIN_THROTTLED;
		*priority = LOG_WARNING;
		return "login-throttled";
	}
}

void gb_audit_login(enum gb_audit_login result, const char *user, const char *remote_address,
                    const char *plugin, const char *reason)
{
	g_autofree char *user_value = bounded(user, VALUE_MAX);
	g_autofree char *reason_value = bounded(reason, VALUE_MAX);
	g_autofree char *user_text = gb_printable_dup(user);
	g_autofree char *reason_text = gb_printable_dup(reason);
	g_autofree char *message = NULL;
	const char *id, *event;
	int priority;

	event = login_event(result, &id, &priority);
	if (result == GB_AUDIT_LOGIN_SUCCESS)
		message = g_strdup_printf("login of user '%s' from %s succeeded (auth plugin %s)",
		                          user_text, MAYBE(remote_address), MAYBE(plugin));
	else if (result == GB_AUDIT_LOGIN_FAILURE)
		message = g_strdup_printf("login of user '%s' from %s failed%s%s%s: %s", user_text,
		                          MAYBE(remote_address), plugin ? " (auth plugin " : "",
		                          MAYBE(plugin), plugin ? ")" : "", reason_text);
	else
		message = g_strdup_printf("login of user '%s' from %s refused without a check: %s",
		                          user_text, MAYBE(remote_address), reason_text);
	sent(sd_journal_send("MESSAGE=%s", message, "MESSAGE_ID=%s", id, "PRIORITY=%d", priority,
	                     IDENTIFIER, "GLASSBOX_EVENT=%s", event, "GLASSBOX_USER=%s",
	                     user_value, "GLASSBOX_REMOTE_ADDR=%s", MAYBE(remote_address),
	                     "GLASSBOX_PLUGIN=%s", MAYBE(plugin), "GLASSBOX_REASON=%s",
	                     reason_value, NULL));
}

void gb_audit_logout(const char *identity_namespace, const char *user, const char *remote_address,
                     const char *reason)
{
	g_autofree char *user_value = bounded(user, VALUE_MAX);
	g_autofree char *user_text = gb_printable_dup(user);
	g_autofree char *message =
	        g_strdup_printf("user '%s:%s' logged out from %s", MAYBE(identity_namespace),
	                        user_text, MAYBE(remote_address));

	sent(sd_journal_send("MESSAGE=%s", message, "MESSAGE_ID=%s", ID_LOGOUT, "PRIORITY=%d",
	                     LOG_INFO, IDENTIFIER, "GLASSBOX_EVENT=logout", "GLASSBOX_USER=%s",
	                     user_value, "GLASSBOX_NAMESPACE=%s", MAYBE(identity_namespace),
	                     "GLASSBOX_REMOTE_ADDR=%s", MAYBE(remote_address),
	                     "GLASSBOX_REASON=%s", reason ? reason : "logout", NULL));
}

void gb_audit_session_start(const char *session_id, const char *identity_namespace,
                            const char *user)
{
	g_autofree char *user_value = bounded(user, VALUE_MAX);
	g_autofree char *user_text = gb_printable_dup(user);
	g_autofree char *message =
	        g_strdup_printf("session %s started for user '%s:%s'", MAYBE(session_id),
	                        MAYBE(identity_namespace), user_text);

	sent(sd_journal_send("MESSAGE=%s", message, "MESSAGE_ID=%s", ID_SESSION_START,
	                     "PRIORITY=%d", LOG_INFO, IDENTIFIER, "GLASSBOX_EVENT=session-start",
	                     "GLASSBOX_SESSION=%s", MAYBE(session_id), "GLASSBOX_USER=%s",
	                     user_value, "GLASSBOX_NAMESPACE=%s", MAYBE(identity_namespace),
	                     NULL));
}

void gb_audit_session_stop(const char *session_id, const char *identity_namespace,
                           const char *user, const char *reason)
{
	g_autofree char *user_value = bounded(user, VALUE_MAX);
	g_autofree char *reason_value = bounded(reason ? reason : "exited", VALUE_MAX);
	g_autofree char *user_text = gb_printable_dup(user);
	g_autofree char *message =
	        g_strdup_printf("session %s of user '%s:%s' ended: %s", MAYBE(session_id),
	                        MAYBE(identity_namespace), user_text, reason_value);

	sent(sd_journal_send("MESSAGE=%s", message, "MESSAGE_ID=%s", ID_SESSION_STOP,
	                     "PRIORITY=%d", LOG_INFO, IDENTIFIER, "GLASSBOX_EVENT=session-stop",
	                     "GLASSBOX_SESSION=%s", MAYBE(session_id), "GLASSBOX_USER=%s",
	                     user_value, "GLASSBOX_NAMESPACE=%s", MAYBE(identity_namespace),
	                     "GLASSBOX_REASON=%s", reason_value, NULL));
}

void gb_audit_admin(uid_t uid, const char *method, const char *args, int result)
{
	g_autofree char *method_value = bounded(method, VALUE_MAX);
	g_autofree char *args_value = bounded(args, ARGS_MAX);
	g_autofree char *message = NULL;
	const char *outcome = result == 0 ? "ok" : result == -EACCES ? "refused" : "failed";

	if (result == 0)
		message = g_strdup_printf("admin action by uid %u: %s(%s)", (unsigned)uid,
		                          method_value, args_value);
	else
		message = g_strdup_printf("admin action by uid %u: %s(%s) %s: %s", (unsigned)uid,
		                          method_value, args_value, outcome, strerror(-result));
	sent(sd_journal_send("MESSAGE=%s", message, "MESSAGE_ID=%s", ID_ADMIN_ACTION,
	                     "PRIORITY=%d", result == 0 ? LOG_NOTICE : LOG_WARNING, IDENTIFIER,
	                     "GLASSBOX_EVENT=admin-action", "GLASSBOX_ADMIN_UID=%u", (unsigned)uid,
	                     "GLASSBOX_METHOD=%s", method_value, "GLASSBOX_ARGS=%s", args_value,
	                     "GLASSBOX_RESULT=%s", outcome, "GLASSBOX_ERRNO=%d",
	                     result < 0 ? -result : 0, NULL));
}

void gb_audit_user_remote(const char *identity_namespace, const char *user,
                          const char *remote_address, const char *action, const char *remote_name,
                          const char *remote_type)
{
	g_autofree char *user_value = bounded(user, VALUE_MAX);
	g_autofree char *name_value = bounded(remote_name, VALUE_MAX);
	g_autofree char *user_text = gb_printable_dup(user);
	g_autofree char *name_text = gb_printable_dup(remote_name);
	g_autofree char *message = g_strdup_printf(
	        "user '%s:%s' from %s: %s of storage remote '%s' (%s)", MAYBE(identity_namespace),
	        user_text, MAYBE(remote_address), MAYBE(action), name_text, MAYBE(remote_type));

	sent(sd_journal_send(
	        "MESSAGE=%s", message, "MESSAGE_ID=%s", ID_USER_REMOTE, "PRIORITY=%d", LOG_NOTICE,
	        IDENTIFIER, "GLASSBOX_EVENT=user-remote", "GLASSBOX_USER=%s", user_value,
	        "GLASSBOX_NAMESPACE=%s", MAYBE(identity_namespace), "GLASSBOX_REMOTE_ADDR=%s",
	        MAYBE(remote_address), "GLASSBOX_ACTION=%s", MAYBE(action), "GLASSBOX_REMOTE=%s",
	        name_value, "GLASSBOX_REMOTE_TYPE=%s", MAYBE(remote_type), NULL));
}

void gb_audit_socket_refused(const char *session_id, const char *user, const char *path,
                             const char *reason)
{
	g_autofree char *user_value = bounded(user, VALUE_MAX);
	g_autofree char *path_value = bounded(path, VALUE_MAX);
	g_autofree char *reason_value = bounded(reason, VALUE_MAX);
	g_autofree char *user_text = gb_printable_dup(user);
	g_autofree char *message =
	        g_strdup_printf("session %s of user '%s': refused its socket %s: %s",
	                        MAYBE(session_id), user_text, path_value, reason_value);

	sent(sd_journal_send(
	        "MESSAGE=%s", message, "MESSAGE_ID=%s", ID_SOCKET_REFUSED, "PRIORITY=%d",
	        LOG_WARNING, IDENTIFIER, "GLASSBOX_EVENT=session-socket-refused",
	        "GLASSBOX_SESSION=%s", MAYBE(session_id), "GLASSBOX_USER=%s", user_value,
	        "GLASSBOX_SOCKET=%s", path_value, "GLASSBOX_REASON=%s", reason_value, NULL));
}

void gb_audit_transfer(enum gb_audit_transfer direction, const char *session_id,
                       const char *identity_namespace, const char *user,
                       const char *remote_address, const char *name, unsigned long long bytes,
                       const char *result)
{
	bool upload = direction == GB_AUDIT_UPLOAD;
	bool ok = result && strcmp(result, "ok") == 0;
	g_autofree char *user_value = bounded(user, VALUE_MAX);
	g_autofree char *name_value = bounded(name, VALUE_MAX);
	g_autofree char *result_value = bounded(result ? result : "ok", VALUE_MAX);
	g_autofree char *user_text = gb_printable_dup(user);
	g_autofree char *name_text = gb_printable_dup(name);
	g_autofree char *message = g_strdup_printf(
	        "%s of '%s' %s session %s of user '%s:%s' from %s: %llu bytes, %s",
	        upload ? "upload" : "download", name_text, upload ? "into" : "from",
	        MAYBE(session_id), MAYBE(identity_namespace), user_text, MAYBE(remote_address),
	        bytes, result_value);

	sent(sd_journal_send(
	        "MESSAGE=%s", message, "MESSAGE_ID=%s", upload ? ID_FILE_UPLOAD : ID_FILE_DOWNLOAD,
	        "PRIORITY=%d", ok ? LOG_INFO : LOG_WARNING, IDENTIFIER, "GLASSBOX_EVENT=%s",
	        upload ? "file-upload" : "file-download", "GLASSBOX_SESSION=%s", MAYBE(session_id),
	        "GLASSBOX_USER=%s", user_value, "GLASSBOX_NAMESPACE=%s", MAYBE(identity_namespace),
	        "GLASSBOX_REMOTE_ADDR=%s", MAYBE(remote_address), "GLASSBOX_FILE=%s", name_value,
	        "GLASSBOX_BYTES=%llu", bytes, "GLASSBOX_RESULT=%s", result_value, NULL));
}
