/* SPDX-License-Identifier: MIT */
/*
 * Exports a descriptor function under the wrong name, as a plugin written
 * without GB_PLUGIN_DEFINE() might: the host must not find an entry point.
 */
#include <glassbox/plugin.h>

static const struct gb_plugin_descriptor noentry_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = "noentry",
	.version = "1.0.0",
};

GB_PLUGIN_EXPORT const struct gb_plugin_descriptor *gb_plugin_entry_typo(void);

GB_PLUGIN_EXPORT const struct gb_plugin_descriptor *gb_plugin_entry_typo(void)
{
	return &noentry_descriptor;
}
