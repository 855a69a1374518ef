/* SPDX-License-Identifier: MIT */
/* Xwayland and the X11 main windows (xwayland.c). */
#ifndef GB_XWAYLAND_H
#define GB_XWAYLAND_H

#include "session.h"

int gb_xwayland_start(struct gb_session *session);
void gb_xwayland_destroy(struct gb_xwayland *xwayland);
/**
 * Soon (on the event loop), ask libweston's X11 window manager to make every
 * X11 main window (managed, not transient, not a popup type) fill the
 * output without a frame: fullscreen, or maximized when the application
 * draws its own decorations. @xwayland may be NULL.
 */
void gb_xwayland_fill_output(struct gb_xwayland *xwayland);

#endif
