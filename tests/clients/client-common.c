/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include "client-common.h"

void emit(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vprintf(format, args);
	va_end(args);
	putchar('\n');
	fflush(stdout);
}

int parse_color(const char *option, const char *text, uint32_t *color)
{
	uint32_t value = 0;

	if (strlen(text) != 6)
		goto err;
	for (int i = 0; i < 6; i++) {
		char c = text[i];
		uint32_t digit;

		if (c >= '0' && c <= '9')
			digit = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			digit = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			digit = (uint32_t)(c - 'A' + 10);
		else
			goto err;
		value = value << 4 | digit;
	}
	*color = value;
	return 0;

err:
	fprintf(stderr, "%s: invalid %s '%s': expected six hex digits RRGGBB\n",
	        program_invocation_short_name, option, text);
	return -EINVAL;
}

int parse_unsigned(const char *option, const char *text, unsigned long min, unsigned long max,
                   unsigned long *result)
{
	unsigned long value;
	char *end;

	/* strtoul() would accept blanks and a minus sign; we want digits only. */
	if (text[0] < '0' || text[0] > '9')
		goto err;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max)
		goto err;
	*result = value;
	return 0;

err:
	fprintf(stderr, "%s: invalid %s '%s': expected an integer from %lu to %lu\n",
	        program_invocation_short_name, option, text, min, max);
	return -EINVAL;
}

int main_loop_fds_open(unsigned long exit_after_ms, int *signal_fd, int *timer_fd)
{
	struct itimerspec spec = { 0 };
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		goto err_signal;
	*signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*signal_fd < 0)
		goto err_signal;

	if (exit_after_ms == 0)
		return 0;
	*timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (*timer_fd < 0)
		goto err_timer;
	spec.it_value.tv_sec = (time_t)(exit_after_ms / 1000);
	spec.it_value.tv_nsec = (long)(exit_after_ms % 1000) * 1000000L;
	if (timerfd_settime(*timer_fd, 0, &spec, NULL) < 0)
		goto err_timer;
	return 0;

err_signal:
	fprintf(stderr, "%s: cannot set up signal handling: %s\n", program_invocation_short_name,
	        strerror(errno));
	return -errno;
err_timer:
	fprintf(stderr, "%s: cannot set up the exit timer: %s\n", program_invocation_short_name,
	        strerror(errno));
	return -errno;
}
