/* SPDX-License-Identifier: MIT */
/* PNG of the next frame (screenshot.c). */
#ifndef GB_SCREENSHOT_H
#define GB_SCREENSHOT_H

#include "session.h"

typedef void (*gb_screenshot_done_func)(void *data, int result);
/**
 * Write the next frame of the output to @path as PNG, then call @done with
 * 0 or a negative errno. Forces a repaint, so it works on an idle screen.
 */
int gb_screenshot_request(struct gb_session *session, const char *path,
                          gb_screenshot_done_func done, void *data);
void gb_screenshot_cancel_all(struct gb_session *session);

#endif
