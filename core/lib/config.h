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

#define GB_CONFIG_ERROR_MAX 512 /* enough for any error text below */

enum gb_renderer {
	GB_RENDERER_PIXMAN = 0,
	GB_RENDERER_GL = 1,
};

enum gb_spawner {
	GB_SPAWNER_DIRECT = 0,  /* fork/exec of glassbox-session */
	GB_SPAWNER_SYSTEMD = 1, /* a glassbox-session@.service unit per session, over sd-bus */
};

enum gb_codec_choice {
	GB_CODEC_CHOICE_AUTO = 0, /* hardware first, then H.264, then VP8 */
	GB_CODEC_CHOICE_H264 = 1,
	GB_CODEC_CHOICE_VP8 = 2,
};

struct gb_server_config {
	char *listen;            /* "ADDRESS:PORT", default "127.0.0.1:8080" */
	char *tls_certificate;   /* PEM file; "" (default): generated in state_dir */
	char *tls_key;           /* PEM file; "" (default): generated in state_dir */
	char *state_dir;         /* default "/var/lib/glassbox" */
	char *runtime_dir;       /* default "/run/glassbox" */
	char *web_dir;           /* the browser client, default GB_WEB_DIR */
	char *session_binary;    /* default GB_BINDIR "/glassbox-session" */
	enum gb_spawner spawner; /* "direct" (default) or "systemd" */
	int max_sessions;        /* 1..10000, default 16 */
	int login_lifetime_s;    /* cookie lifetime, 60..2592000, default 43200 */
	char **allowed_origins;  /* Origins accepted besides the server's own; default none */
};

struct gb_webrtc_config {
	char **ice_addresses;       /* local addresses ICE may use; empty (default): all */
	char *stun_server;          /* "stun://HOST:PORT" or "" (default) */
	char **turn_servers;        /* "turn(s)://USER:PASS@HOST:PORT"; default none */
	enum gb_codec_choice codec; /* "auto" (default), "h264", "vp8" */
	char *encoder;       /* pin an encoder plugin by name; "" (default): best available */
	int bitrate_kbps;    /* 100..100000, default 6000 */
	int max_fps;         /* 1..240, default 60 */
	int idle_refresh_ms; /* repeat the last frame this often when idle, 100..10000, default
	                        1000 */
	bool playout_delay;  /* ask the browser for no playout delay, default true */
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
	int max_width;             /* browser-driven resize limit, 64..7680, default 3840 */
	int max_height;            /* 64..4320, default 2160 */
	int max_viewers;           /* viewers of one session, 1..64, default 4 */
	int idle_timeout_s; /* end a session this long without a viewer; 0..604800, default 300 */
	/* Resource limits of a session unit (spawner "systemd"); 0: none (default). */
	uint64_t memory_max;   /* bytes; from "" (none) or "NUMBER[K|M|G|T]" */
	int cpu_quota_percent; /* CPUQuota=, 0..100000 (100 = one CPU) */
	int tasks_max;         /* TasksMax=, 0..4194304 */
	/* The account the direct spawner runs sessions as; "" (default): glassboxd's own,
	 * refused when that is root. A user name: [a-z_][a-z0-9_-]{0,31}. */
	char *user;
};

/* Files in the browser (glassboxd's transfer.c): folders inside the session's home. */
struct gb_files_config {
	char *uploads_dir;        /* where uploads land, default "Uploads" */
	char *downloads_dir;      /* what is offered for download, default "Downloads" */
	uint64_t max_upload_size; /* bytes per file, default 2 GiB; 0 ("" in the file): no limit */
};

struct gb_plugins_config {
	char *vendor_dir; /* default GB_VENDOR_DROPIN_DIR */
	char *config_dir; /* default GB_ETC_DIR "/plugins.d" */
	char *plugin_dir; /* default GB_PLUGIN_DIR */
};

/* The users' own storage remotes (glassboxd: /api/storage/remotes). */
struct gb_storage_config {
	char **user_remote_types; /* of "webdav", "sftp", "s3"; default none: users add none */
	int max_user_remotes;     /* per user, 1..64, default 8 */
};

struct gb_config {
	char *path;                  /* the file this came from; NULL for defaults */
	enum gb_log_level log_level; /* log.level, default info */
	struct gb_server_config server;
	struct gb_session_config session;
	struct gb_webrtc_config webrtc;
	struct gb_files_config files;
	struct gb_plugins_config plugins;
	struct gb_storage_config storage;
};

/** A configuration holding every default. NULL with errno on allocation failure. */
struct gb_config *gb_config_new_defaults(void);

/**
 * Read @path. On failure return NULL, set errno and write one line to
 * @error ("FILE:LINE: key 'session.width': ...").
 */
struct gb_config *gb_config_load(const char *path, char *error, size_t error_size);

/** Same as gb_config_load() on text in memory; @name stands for the file in errors. */
struct gb_config *gb_config_load_string(const char *text, const char *name, char *error,
                                        size_t error_size);

void gb_config_free(struct gb_config *config);

/**
 * Parse a byte size as session.memory_max takes it: "" (0: no limit), or a
 * decimal number with an optional K, M, G or T suffix (powers of 1024), at
 * least 1 MiB and at most 2^62. 0 or -EINVAL (-ERANGE when out of range).
 */
int gb_config_parse_bytes(const char *text, uint64_t *bytes);

/**
 * Whether @name is a user name as session.user and system accounts take it:
 * ^[a-z_][a-z0-9_-]{0,31}$ (Debian's adduser; a unit instance holds it as is).
 */
bool gb_user_name_is_valid(const char *name);

#endif
