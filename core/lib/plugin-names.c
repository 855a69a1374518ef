/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "dropin.h"

static const char *const kind_names[] = {
	[GB_PLUGIN_KIND_CAPTURE] = "capture",
	[GB_PLUGIN_KIND_ENCODER] = "encoder",
	[GB_PLUGIN_KIND_AUTH] = "auth",
	[GB_PLUGIN_KIND_STORAGE] = "storage",
};

int gb_plugin_kind_from_string(const char *text, enum gb_plugin_kind *kind)
{
	for (size_t i = 1; text && i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(text, kind_names[i]) == 0) {
			*kind = (enum gb_plugin_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *gb_plugin_kind_to_string(enum gb_plugin_kind kind)
{
	if ((size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]) && kind_names[kind])
		return kind_names[kind];
	return "unknown";
}

bool gb_plugin_name_is_valid(const char *name)
{
	if (!name || !name[0] || strlen(name) > 64 || strstr(name, ".."))
		return false;
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return false;
	}
	return true;
}
