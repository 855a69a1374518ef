/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_program = "glassbox";
static enum gb_log_level log_level = GB_LOG_INFO;
static char log_session[128];
static int log_to_journal = -1; /* -1: not decided yet */

static const char *const level_names[] = {
	[GB_LOG_ERROR] = "error",
	[GB_LOG_WARNING] = "warning",
	[GB_LOG_INFO] = "info",
	[GB_LOG_DEBUG] = "debug",
};

/* syslog priorities, as the journal expects in PRIORITY= */
static const int level_priority[] = {
	[GB_LOG_ERROR] = 3,
	[GB_LOG_WARNING] = 4,
	[GB_LOG_INFO] = 6,
	[GB_LOG_DEBUG] = 7,
};

/*
 * systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected to
 * stdout/stderr. Only when stderr is still that stream do we talk to the
 * journal directly; otherwise (redirected by a test or a shell) stderr wins.
 */
static int stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void gb_log_init(const char *program, enum gb_log_level level)
{
	if (program)
		log_program = program;
	log_level = level;
	log_to_journal = stderr_is_journal();
}

void gb_log_set_level(enum gb_log_level level)
{
	log_level = level;
}

enum gb_log_level gb_log_get_level(void)
{
	return log_level;
}

int gb_log_level_from_string(const char *text, enum gb_log_level *level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (text && strcasecmp(text, level_names[i]) == 0) {
			*level = (enum gb_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void gb_log_set_session(const char *session_id)
{
	snprintf(log_session, sizeof(log_session), "%s", session_id ? session_id : "");
}

void gb_log_fullv(enum gb_log_level level, const char *plugin, const char *format, va_list args)
{
	char message[2048];
	int saved_errno = errno;

	if (level > log_level || level < GB_LOG_ERROR)
		goto out;
	if (log_to_journal < 0)
		log_to_journal = stderr_is_journal();

	vsnprintf(message, sizeof(message), format, args);

	if (log_to_journal) {
		sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", level_priority[level],
		                "SYSLOG_IDENTIFIER=%s", log_program, "GLASSBOX_SESSION=%s",
		                log_session, "GLASSBOX_PLUGIN=%s", plugin ? plugin : "", NULL);
		goto out;
	}

	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "[%5lld.%03ld] %s%s%s%s %s: %s%s%s\n", (long long)now.tv_sec,
	        now.tv_nsec / 1000000, log_program, log_session[0] ? "[" : "", log_session,
	        log_session[0] ? "]" : "", level_names[level], plugin ? plugin : "",
	        plugin ? ": " : "", message);
out:
	errno = saved_errno;
}

void gb_log_full(enum gb_log_level level, const char *plugin, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	gb_log_fullv(level, plugin, format, args);
	va_end(args);
}

static void host_log(const struct gb_host *host, const char *plugin, enum gb_log_level level,
                     const char *format, ...) __attribute__((format(printf, 4, 5)));

static void host_log(const struct gb_host *host, const char *plugin, enum gb_log_level level,
                     const char *format, ...)
{
	va_list args;

	va_start(args, format);
	gb_log_fullv(level, plugin, format, args);
	va_end(args);
}

static void host_logv(const struct gb_host *host, enum gb_log_level level, const char *format,
                      va_list args) __attribute__((format(printf, 3, 0)));

static void host_logv(const struct gb_host *host, enum gb_log_level level, const char *format,
                      va_list args)
{
	gb_log_fullv(level, host->plugin_name, format, args);
}

void gb_host_init(struct gb_host *host, const char *session_id)
{
	memset(host, 0, sizeof(*host));
	host->struct_size = sizeof(*host);
	host->abi_major = GB_PLUGIN_ABI_MAJOR;
	host->abi_minor = GB_PLUGIN_ABI_MINOR;
	host->session_id = session_id;
	host->log = host_log;
	/* The plugin loader gives each plugin a copy that carries its name. */
	host->plugin_name = NULL;
	host->logv = host_logv;
}
