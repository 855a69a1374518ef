/* SPDX-License-Identifier: MIT */
/* The application and the children the session reaps (app.c). */
#ifndef GB_APP_H
#define GB_APP_H

#include "session.h"

void gb_session_watch_child(struct gb_session *session, struct gb_child *child);
int gb_app_spawn(struct gb_session *session, char *const argv[]);
void gb_app_terminate(struct gb_session *session);
/** After the main loop: stop and reap whatever is left of the application. */
void gb_app_cleanup(struct gb_session *session);
int gb_session_reap_children(int signal_number, void *data);

#endif
