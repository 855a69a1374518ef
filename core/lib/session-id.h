/* SPDX-License-Identifier: MIT */
#ifndef GB_SESSION_ID_H
#define GB_SESSION_ID_H

#include <stdbool.h>

/** Characters of a session id: lowercase hexadecimal digits. */
#define GB_SESSION_ID_LENGTH 16

/** Whether @id is a session id: exactly 16 lowercase hex digits (NULL is not). */
bool gb_session_id_valid(const char *id);

#endif
