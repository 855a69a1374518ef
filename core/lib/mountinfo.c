/* SPDX-License-Identifier: MIT */
/* /proc/self/mountinfo (mountinfo.h). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *text)
{
	char *out = text;

	for (char *p = text; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
}

bool gb_mountinfo_fuse_at(const char *path, bool if_unknown)
{
	FILE *file = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t size = 0;
	bool found = false;

	if (!file)
		return if_unknown;
	/* Fields: id parent major:minor root MOUNT-POINT options ... - TYPE source ... */
	while (!found && getline(&line, &size, file) > 0) {
		char point[PATH_MAX] = "";
		const char *separator = strstr(line, " - ");

		if (!separator || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		unescape(point);
		found = strcmp(point, path) == 0 && strncmp(separator + 3, "fuse", 4) == 0;
	}
	free(line);
	fclose(file);
	return found;
}
