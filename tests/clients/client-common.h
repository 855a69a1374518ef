/* SPDX-License-Identifier: MIT */
/* What the two test clients share: output lines, option parsing, main-loop fds. */
#ifndef GB_TEST_CLIENT_COMMON_H
#define GB_TEST_CLIENT_COMMON_H

#include <stdint.h>

/* One event, one line, visible to the reader at once even through a pipe. */
void emit(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* RRGGBB; 0 or -EINVAL after saying what is wrong with OPTION on stderr. */
int parse_color(const char *option, const char *text, uint32_t *color);

/* Digits only, min..max; 0 or -EINVAL after saying why on stderr. */
int parse_unsigned(const char *option, const char *text, unsigned long min, unsigned long max,
                   unsigned long *result);

/*
 * SIGTERM and SIGINT as a signalfd in *signal_fd, and, when exit_after_ms is
 * not 0, a timerfd expiring then in *timer_fd (left alone otherwise), so
 * that the main loop can tear down cleanly. 0, or -errno after saying why.
 */
int main_loop_fds_open(unsigned long exit_after_ms, int *signal_fd, int *timer_fd);

#endif
