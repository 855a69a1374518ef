/* SPDX-License-Identifier: MIT */
/*
 * Declarations libweston 10 exports but does not put in its public headers.
 *
 * Backends feed input to libweston through notify_*() and create seats with
 * weston_seat_init*(); these live in libweston's private backend.h and
 * libweston-internal.h, which Debian does not install. The symbols are
 * exported from libweston-10.so (see `nm -D`), and their signatures are
 * stable within libweston 10, so we declare them here, once, matching
 * libweston 10.0's headers exactly. If libweston's major version changes,
 * check these against the new sources.
 */
#ifndef GB_WESTON_PRIVATE_H
#define GB_WESTON_PRIVATE_H

#include <time.h>
#include <libweston/libweston.h>
#include <libweston/version.h>

#if WESTON_VERSION_MAJOR != 10
#error "weston-private.h matches libweston 10 only; re-check these declarations"
#endif

void weston_seat_init(struct weston_seat *seat, struct weston_compositor *ec,
                      const char *seat_name);
void weston_seat_release(struct weston_seat *seat);
int weston_seat_init_pointer(struct weston_seat *seat);
int weston_seat_init_keyboard(struct weston_seat *seat, struct xkb_keymap *keymap);

void notify_key(struct weston_seat *seat, const struct timespec *time, uint32_t key,
                enum wl_keyboard_key_state state, enum weston_key_state_update update_state);
void notify_motion_absolute(struct weston_seat *seat, const struct timespec *time, double x,
                            double y);
void notify_button(struct weston_seat *seat, const struct timespec *time, int32_t button,
                   enum wl_pointer_button_state state);
void notify_axis(struct weston_seat *seat, const struct timespec *time,
                 struct weston_pointer_axis_event *event);
void notify_axis_source(struct weston_seat *seat, uint32_t source);
void notify_pointer_frame(struct weston_seat *seat);

#endif
