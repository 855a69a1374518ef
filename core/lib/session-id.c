/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "session-id.h"

bool gb_session_id_valid(const char *id)
{
	if (!id)
		return false;
	return strlen(id) == GB_SESSION_ID_LENGTH &&
	       strspn(id, "0123456789abcdef") == GB_SESSION_ID_LENGTH;
}
