/* SPDX-License-Identifier: MIT */
/*
 * Files in the browser: uploads into the session's files.uploads_dir and
 * downloads from its files.downloads_dir, for the login's own running
 * session (README.md, "Files in the browser"). The HTTP side is here
 * (transfer.c); every file operation is done by a child running as the
 * session's user (transfer-child.h). Each upload and download is audited.
 */
#ifndef GB_TRANSFER_H
#define GB_TRANSFER_H

#include "events.h"
#include "login.h"
#include "sessions.h"

struct gb_daemon;

/**
 * Whether @login may transfer files to or from @session: 0, or a negative
 * errno with *@reason (for the browser and the log): -ENOENT no session,
 * -EPERM not the login's identity's session, -EAGAIN not running (yet),
 * -ENODATA its home or user is not known. The one place that decides:
 * uploads, downloads and listings all ask it. Today every viewer is the
 * session's owner; issue 11 ("session sharing") adds view-only viewers, and
 * extends this function to refuse them (and to let a shared session's
 * owner decide).
 */
int gb_transfer_may(const struct gb_login *login, const struct gb_daemon_session *session,
                    const char **reason);

/** What the transfers hear (main.c registers it, data: the daemon): a login
 * that ends cuts its transfers under way. */
extern const struct gb_events_listener gb_transfer_events;

/** The transfer object (daemon->transfer) and its routes under /api/files/. */
int gb_transfer_init(struct gb_daemon *daemon);
void gb_transfer_add_routes(struct gb_daemon *daemon);
/** Cut the transfers under way (their children see their pipes close) and free it. */
void gb_transfer_fini(struct gb_daemon *daemon);

#endif
