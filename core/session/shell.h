/* SPDX-License-Identifier: MIT */
/* The window policy (shell.c). */
#ifndef GB_SHELL_H
#define GB_SHELL_H

#include "session.h"

int gb_shell_create(struct gb_session *session);
void gb_shell_destroy(struct gb_shell *shell);

#endif
