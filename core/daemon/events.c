/* SPDX-License-Identifier: MIT */
/*
 * Events: a session started or ended, a viewer came or went. Each part of
 * glassboxd that cares (the D-Bus signals, sd_notify's STATUS line, the
 * audit log, metrics) is called from here, so sessions.c and viewer.c have
 * one call to make and no list of listeners to keep.
 */
#include "audit.h"
#include "daemon.h"
#include "dbus.h"

void gb_events_session_added(struct gb_daemon *daemon, struct gb_daemon_session *session)
{
	(void)daemon;
	(void)session;
	gb_dbus_session_added(daemon, session);
	gb_audit_session_start(session->id, session->identity_namespace, session->user);
	gb_notify_status(daemon);
}

void gb_events_session_removed(struct gb_daemon *daemon, struct gb_daemon_session *session,
                               const char *reason)
{
	(void)daemon;
	(void)session;
	(void)reason;
	gb_dbus_session_removed(daemon, session, reason);
	gb_audit_session_stop(session->id, session->identity_namespace, session->user, reason);
	gb_notify_status(daemon);
}

void gb_events_viewers_changed(struct gb_daemon *daemon)
{
	(void)daemon;
	gb_notify_status(daemon);
}
