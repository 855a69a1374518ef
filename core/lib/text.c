/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "text.h"

void gb_printable(char *out, size_t out_size, const char *text)
{
	size_t length, kept;

	if (!out || out_size == 0)
		return;
	length = text ? strlen(text) : 0;
	kept = length;
	if (length >= out_size)
		kept = out_size > 4 ? out_size - 4 : out_size - 1;
	for (size_t i = 0; i < kept; i++) {
		unsigned char c = (unsigned char)text[i];

		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (kept < length && out_size > 4) {
		memcpy(out + kept, "...", 3);
		kept += 3;
	}
	out[kept] = '\0';
}

void gb_exit_status_text(int status, char out[GB_EXIT_STATUS_TEXT_MAX])
{
	if (WIFEXITED(status))
		snprintf(out, GB_EXIT_STATUS_TEXT_MAX, "exited with status %d",
		         WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, GB_EXIT_STATUS_TEXT_MAX, "was killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, GB_EXIT_STATUS_TEXT_MAX, "ended");
}
