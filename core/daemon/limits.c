/* SPDX-License-Identifier: MIT */
/* The limits of daemon.h, as tests may lower them. */
#include <errno.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"

/*
 * The limits, which tests may lower through the environment (never set
 * these in production: the unit file does not).
 */
unsigned gb_daemon_limit_from_environment(const char *name, unsigned value, unsigned max)
{
	const char *text = getenv(name);
	char *end;
	unsigned long parsed;

	if (!text || !text[0])
		return value;
	errno = 0;
	parsed = strtoul(text, &end, 10);
	if (errno || *end || parsed < 1 || parsed > max) {
		gb_warning("%s=%s is not a number 1..%u; ignored", name, text, max);
		return value;
	}
	gb_warning("%s=%lu: limit changed for testing", name, parsed);
	return (unsigned)parsed;
}
