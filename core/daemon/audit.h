/* SPDX-License-Identifier: MIT */
/*
 * The audit trail: logins, logouts, sessions and admin actions go to the
 * journal as structured entries (GLASSBOX_EVENT=..., a fixed MESSAGE_ID per
 * event type; see README.md "AUDIT"), for `journalctl MESSAGE_ID=...` and
 * log shippers. The callers keep their own stderr line: these add the
 * fields, they do not replace the log.
 *
 * Every function may be called from the main loop only (sd_journal_send()
 * itself is thread-safe, but the callers' data is the main loop's). Without
 * a journal (a container, the tests) the entries are dropped quietly.
 */
#ifndef GB_AUDIT_H
#define GB_AUDIT_H

#include <sys/types.h>

enum gb_audit_login {
	GB_AUDIT_LOGIN_SUCCESS,   /* login-success */
	GB_AUDIT_LOGIN_FAILURE,   /* login-failure */
	GB_AUDIT_LOGIN_THROTTLED, /* login-throttled: refused without a check */
};

/**
 * A login attempt. @user is the name given (or the identity's, on success),
 * @plugin the auth plugin that decided (NULL: none did), @reason why it
 * failed or was throttled (NULL on success). Any may be NULL.
 */
void gb_audit_login(enum gb_audit_login result, const char *user, const char *remote_address,
                    const char *plugin, const char *reason);

/*
 * The functions below take the identity: @identity_namespace (the auth
 * plugin's name, or its drop-in's namespace) and @user. GLASSBOX_USER stays
 * the bare name; GLASSBOX_NAMESPACE says whose, and MESSAGE shows
 * "namespace:user": the same name through two plugins is two people.
 */
/** A user logged out (@reason: "logout" or why the login ended). */
void gb_audit_logout(const char *identity_namespace, const char *user, const char *remote_address,
                     const char *reason);

/** A session started, or ended (@reason: why; NULL when it exited by itself). */
void gb_audit_session_start(const char *session_id, const char *identity_namespace,
                            const char *user);
void gb_audit_session_stop(const char *session_id, const char *identity_namespace,
                           const char *user, const char *reason);

/**
 * An administrative action over D-Bus (or any other admin interface):
 * @uid the caller, @method what it called ("AddUser"), @args its arguments
 * made readable and without secrets (never a password), @result 0 or a
 * negative errno (-EACCES: the caller was refused).
 */
void gb_audit_admin(uid_t uid, const char *method, const char *args, int result);

/**
 * A user changed their own storage remotes from the web client: @action
 * "add", "replace" or "delete" of the remote @remote_name (@remote_type:
 * "webdav", "sftp", "s3"). Never a parameter of the remote: those hold secrets.
 */
void gb_audit_user_remote(const char *identity_namespace, const char *user,
                          const char *remote_address, const char *action, const char *remote_name,
                          const char *remote_type);

/**
 * glassboxd refused to talk to one of a session's sockets (@path) because
 * someone other than the session's process serves it (@reason: who, and
 * whom it expected): its user may have replaced it to reach another session.
 */
void gb_audit_socket_refused(const char *session_id, const char *user, const char *path,
                             const char *reason);

enum gb_audit_transfer {
	GB_AUDIT_UPLOAD,   /* file-upload */
	GB_AUDIT_DOWNLOAD, /* file-download */
};

/**
 * A file sent from or to the browser (transfer.c): the identity, the
 * session, the file's name as asked (shown printable), the bytes moved and
 * @result: "ok", or why it failed or was refused.
 */
void gb_audit_transfer(enum gb_audit_transfer direction, const char *session_id,
                       const char *identity_namespace, const char *user,
                       const char *remote_address, const char *name, unsigned long long bytes,
                       const char *result);

#endif
