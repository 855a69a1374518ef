/* SPDX-License-Identifier: MIT */
/*
 * glassbox.conf, parsed with libconfig. Parsing is strict: an unknown key,
 * a value of the wrong type or out of range is an error naming the file,
 * line and key, and nothing is half-applied.
 */
#ifndef GB_CONFIG_H
#define GB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <glassbox/plugin.h>

#define GB_CONFIG_ERROR_MAX 512

enum gb_renderer {
	GB_RENDERER_PIXMAN = 0,
	GB_RENDERER_GL = 1,
};

struct gb_session_config {
	char **command;            /* NULL-terminated argv; NULL when not set */
	int width;                 /* 64..7680, default 1280 */
	int height;                /* 64..4320, default 720 */
	enum gb_renderer renderer; /* "pixman" (default) or "gl" */
	bool xwayland;             /* default true */
	int stop_grace_ms;         /* SIGTERM -> SIGKILL, 0..600000, default 5000 */
	char *keyboard_layout;     /* xkb layout, default "us" */
	char *keyboard_variant;    /* xkb variant, default "" */
	char *keyboard_model;      /* default "pc105" */
	char *keyboard_options;    /* default "" */
};

struct gb_plugins_config {
	char *vendor_dir; /* default GB_VENDOR_DROPIN_DIR */
	char *config_dir; /* default GB_ETC_DIR "/plugins.d" */
	char *plugin_dir; /* default GB_PLUGIN_DIR */
};

struct gb_config {
	char *path;                  /* the file this came from; NULL for defaults */
	enum gb_log_level log_level; /* log.level, default info */
	struct gb_session_config session;
	struct gb_plugins_config plugins;
};

/** A configuration holding every default. NULL with errno on allocation failure. */
struct gb_config *gb_config_new_defaults(void);

/**
 * Read @path. On failure return NULL, set errno and write one line to
 * @error ("FILE:LINE: key 'session.width': ...").
 */
struct gb_config *gb_config_load(const char *path, char error[GB_CONFIG_ERROR_MAX]);

/** Same as gb_config_load() on text in memory; @name stands for the file in errors. */
struct gb_config *gb_config_load_string(const char *text, const char *name,
                                        char error[GB_CONFIG_ERROR_MAX]);

void gb_config_free(struct gb_config *config);

#endif
