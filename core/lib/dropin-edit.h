/* SPDX-License-Identifier: MIT */
/*
 * Editing the plugin drop-ins (dropin.h) from a running program: turning a
 * plugin on or off through an override NAME.ini.d/50-glassboxctl.conf in
 * the /etc folder, and finding the drop-in a name a user typed stands for.
 * The drop-in itself is never touched: its owner, its mode (0600 for one
 * holding a client secret) and its settings stay, and a vendor drop-in
 * still gets its package updates. Files are written atomically
 * (g_file_set_contents_full) with mode 0644.
 */
#ifndef GB_DROPIN_EDIT_H
#define GB_DROPIN_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "dropin.h"

/* The override glassboxctl plugin enable|disable writes. */
#define GB_DROPIN_OVERRIDE_NAME "50-glassboxctl.conf"

/**
 * The drop-in @name stands for in @set: "x264" when only one kind has a
 * plugin of that name, or "encoder-x264" (exact: it wins over a bare name of
 * another kind). 0 with *@found, -ENOENT when none matches, -ENOTUNIQ when
 * the bare name is of several kinds.
 */
int gb_dropin_find_by_name(const struct gb_dropin_set *set, const char *name,
                           const struct gb_dropin **found);

/**
 * Switch @dropin on or off: write the override
 * <@config_dir>/<drop-in file name>.d/50-glassboxctl.conf, or remove it
 * where the drop-in itself says what is asked, then read the drop-ins of
 * @vendor_dir and @config_dir back to check that the plugin reads as asked
 * (a later override, 99-local.conf say, would still win: then the change
 * is undone and -EINVAL returned). On success *@target is the override's
 * path and *@previous what it held before (NULL: there was none), both
 * g_malloc'd, so that the change can be undone with
 * gb_dropin_restore_override(). 0 or -errno with one line in @error.
 */
int gb_dropin_set_enabled(const char *vendor_dir, const char *config_dir,
                          const struct gb_dropin *dropin, bool enabled, char **target,
                          char **previous, char *error, size_t error_size);

/**
 * Put the override @target back as it was: @previous written again, or the
 * file removed when @previous is NULL. 0 or -errno with one line in @error.
 */
int gb_dropin_restore_override(const char *target, const char *previous, char *error,
                               size_t error_size);

#endif
