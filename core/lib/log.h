/* SPDX-License-Identifier: MIT */
/*
 * Logging for Glassbox programs. Lines go to stderr; when the process runs
 * under systemd with stderr connected to the journal (JOURNAL_STREAM matches
 * stderr), they go to the journal instead, with GLASSBOX_SESSION= and
 * GLASSBOX_PLUGIN= fields.
 */
#ifndef GB_LOG_H
#define GB_LOG_H

#include <stdarg.h>
#include <glassbox/plugin.h>

/** Name the program (shown in stderr lines) and pick the threshold. */
void gb_log_init(const char *program, enum gb_log_level level);
void gb_log_set_level(enum gb_log_level level);
enum gb_log_level gb_log_get_level(void);
/** Parse "error", "warning", "info" or "debug"; -EINVAL otherwise. */
int gb_log_level_from_string(const char *text, enum gb_log_level *level);
/** Tag every later line with this session id (NULL clears it). */
void gb_log_set_session(const char *session_id);

void gb_log_full(enum gb_log_level level, const char *plugin, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
void gb_log_fullv(enum gb_log_level level, const char *plugin, const char *format, va_list args)
        __attribute__((format(printf, 3, 0)));

#define gb_error(...)   gb_log_full(GB_LOG_ERROR, NULL, __VA_ARGS__)
#define gb_warning(...) gb_log_full(GB_LOG_WARNING, NULL, __VA_ARGS__)
#define gb_info(...)    gb_log_full(GB_LOG_INFO, NULL, __VA_ARGS__)
#define gb_debug(...)   gb_log_full(GB_LOG_DEBUG, NULL, __VA_ARGS__)

/**
 * A struct gb_host whose log() and logv() go through gb_log_full(). The
 * plugin loader hands each plugin its own copy, with plugin_name set.
 */
void gb_host_init(struct gb_host *host, const char *session_id);

#endif
