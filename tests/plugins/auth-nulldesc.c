/* SPDX-License-Identifier: MIT */
/* The entry point exists but returns no descriptor. */
#include <stddef.h>

#include <glassbox/plugin.h>

GB_PLUGIN_EXPORT const struct gb_plugin_descriptor *gb_plugin_entry(void);

GB_PLUGIN_EXPORT const struct gb_plugin_descriptor *gb_plugin_entry(void)
{
	return NULL;
}
