/* SPDX-License-Identifier: MIT */
/*
 * The session's shell, on libweston-desktop (xdg-shell and Xwayland
 * windows alike). A streaming session shows one application, so the policy
 * is a kiosk's:
 *
 * - a toplevel without a parent (the main window) is maximized to the
 *   output. Maximized rather than fullscreen: GTK 4 and libadwaita
 *   applications keep their menus in the header bar, which fullscreen hides.
 *   An X11 main window is made fullscreen instead, or maximized when it
 *   draws its own decorations (xwayland.c asks the X11 window manager),
 *   because libweston 10's window manager frames the others unless they
 *   are fullscreen;
 * - a toplevel with a parent (a dialog) keeps its own size, centred on the
 *   output, or where an X11 client asked to put it;
 * - popups and menus are placed by libweston-desktop relative to their
 *   parent, where the application asked;
 * - a newly mapped toplevel is raised and gets keyboard focus; a click
 *   raises and focuses the toplevel under the pointer; when the focused
 *   toplevel goes away, the next one down gets focus.
 *
 * Windows cannot be moved or resized interactively: there is nowhere to put
 * them but where they are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdlib.h>

#include <libweston/libweston.h>
#include <libweston/xwayland-api.h>
#include <libweston-desktop/libweston-desktop.h>

#include "log.h"
#include "session.h"
#include "shell.h"
#include "xwayland.h"

struct gb_shell_surface {
	struct gb_shell *shell;
	struct weston_desktop_surface *desktop_surface;
	struct weston_view *view;
	struct gb_shell_surface *parent;
	bool xwayland_position_set;
	int32_t xwayland_x, xwayland_y;
	bool x11;            /* an X11 window, through Xwayland */
	bool was_filling;    /* fullscreen or maximized at the last commit */
	int fill_asks;       /* times this X11 window was asked back to fill the output */
	struct wl_list link; /* gb_shell.surfaces, top of the stack first */
};

struct gb_shell {
	struct gb_session *session;
	struct weston_compositor *compositor;
	struct weston_desktop *desktop;
	struct weston_layer background_layer;
	struct weston_layer normal_layer;
	struct weston_view *background;
	struct gb_shell_surface *focused;
	struct wl_list surfaces;
	struct wl_listener output_resized;
	/* NULL until libweston's xwayland module is loaded */
	const struct weston_xwayland_surface_api *xwayland_surface_api;
};

/* An X11 application that leaves fullscreen or maximized is asked back this
 * many times at most, so that one that insists does not make the two fight
 * forever. */
#define MAX_FILL_ASKS 3

static bool is_root(struct gb_shell_surface *shsurf)
{
	return shsurf->parent == NULL;
}

static struct gb_shell_surface *from_surface(struct weston_surface *surface)
{
	struct weston_desktop_surface *desktop_surface;

	if (!surface || !weston_surface_is_desktop_surface(surface))
		return NULL;
	desktop_surface = weston_surface_get_desktop_surface(surface);
	return weston_desktop_surface_get_user_data(desktop_surface);
}

static void fill_output(struct gb_shell_surface *shsurf)
{
	struct weston_output *output = shsurf->shell->session->output;

	weston_desktop_surface_set_maximized(shsurf->desktop_surface, true);
	weston_desktop_surface_set_size(shsurf->desktop_surface, output->width, output->height);
	/* libweston's X11 window manager does not hear of the maximized flag,
	 * and frames the window unless it is fullscreen or draws its own
	 * decorations: ask it, and until it has done it, the size above is
	 * that of the frame. */
	if (shsurf->x11)
		gb_xwayland_fill_output(shsurf->shell->session->xwayland);
}

static bool is_x11_surface(struct gb_shell *shell, struct weston_surface *surface)
{
	if (!shell->session->xwayland)
		return false;
	if (!shell->xwayland_surface_api)
		shell->xwayland_surface_api = weston_xwayland_surface_get_api(shell->compositor);
	return shell->xwayland_surface_api &&
	       shell->xwayland_surface_api->is_xwayland_surface(surface);
}

static void place_view(struct gb_shell_surface *shsurf)
{
	struct weston_output *output = shsurf->shell->session->output;
	struct weston_geometry geometry =
	        weston_desktop_surface_get_geometry(shsurf->desktop_surface);
	float x, y;

	if (weston_desktop_surface_get_maximized(shsurf->desktop_surface) ||
	    weston_desktop_surface_get_fullscreen(shsurf->desktop_surface)) {
		/* The window's geometry, not its shadow, starts at the origin. */
		x = output->x - geometry.x;
		y = output->y - geometry.y;
	} else if (shsurf->xwayland_position_set) {
		x = shsurf->xwayland_x - geometry.x;
		y = shsurf->xwayland_y - geometry.y;
	} else {
		x = output->x + (output->width - geometry.width) / 2 - geometry.x;
		y = output->y + (output->height - geometry.height) / 2 - geometry.y;
	}
	weston_view_set_position(shsurf->view, x, y);
	weston_view_update_transform(shsurf->view);
	/* X11 applications place their menus from where the X server thinks
	 * their window is: tell it where it is shown. */
	if (shsurf->x11)
		shsurf->shell->xwayland_surface_api->send_position(shsurf->view->surface,
		                                                   (int32_t)x, (int32_t)y);
}

static bool is_descendant(struct gb_shell_surface *shsurf, struct gb_shell_surface *ancestor)
{
	for (struct gb_shell_surface *p = shsurf->parent; p; p = p->parent)
		if (p == ancestor)
			return true;
	return false;
}

static void raise_view(struct gb_shell *shell, struct gb_shell_surface *shsurf)
{
	weston_layer_entry_remove(&shsurf->view->layer_link);
	weston_layer_entry_insert(&shell->normal_layer.view_list, &shsurf->view->layer_link);
	weston_desktop_surface_propagate_layer(shsurf->desktop_surface);
	wl_list_remove(&shsurf->link);
	wl_list_insert(&shell->surfaces, &shsurf->link);
	weston_view_geometry_dirty(shsurf->view);
	weston_surface_damage(shsurf->view->surface);
}

static void activate(struct gb_shell_surface *shsurf, uint32_t flags)
{
	struct gb_shell *shell = shsurf->shell;

	if (shell->focused && shell->focused != shsurf)
		weston_desktop_surface_set_activated(shell->focused->desktop_surface, false);
	shell->focused = shsurf;
	weston_desktop_surface_set_activated(shsurf->desktop_surface, true);
	weston_view_activate_input(shsurf->view, shell->session->seat, flags);

	/* Raise it, then its dialogs above it in their own order, so that a
	 * click on a main window never buries the dialogs it owns. */
	struct gb_shell_surface *other, *next;
	struct wl_list children;

	raise_view(shell, shsurf);
	wl_list_init(&children);
	wl_list_for_each_reverse_safe(other, next, &shell->surfaces, link)
	{
		if (!is_descendant(other, shsurf) || !weston_view_is_mapped(other->view))
			continue;
		wl_list_remove(&other->link);
		wl_list_insert(&children, &other->link); /* ends top first */
	}
	wl_list_for_each_reverse_safe(other, next, &children, link)
	        raise_view(shell, other); /* bottom first */
}

static void focus_next(struct gb_shell *shell, struct gb_shell_surface *leaving)
{
	struct gb_shell_surface *shsurf;

	if (shell->focused != leaving)
		return;
	shell->focused = NULL;
	wl_list_for_each (shsurf, &shell->surfaces, link) {
		if (shsurf != leaving && weston_view_is_mapped(shsurf->view)) {
			activate(shsurf, WESTON_ACTIVATE_FLAG_NONE);
			return;
		}
	}
}

static void surface_added(struct weston_desktop_surface *desktop_surface, void *data)
{
	struct gb_shell *shell = data;
	struct gb_shell_surface *shsurf;

	shsurf = calloc(1, sizeof(*shsurf));
	if (!shsurf)
		goto nomem;
	shsurf->view = weston_desktop_surface_create_view(desktop_surface);
	if (!shsurf->view) {
		free(shsurf);
		goto nomem;
	}
	shsurf->shell = shell;
	shsurf->desktop_surface = desktop_surface;
	shsurf->x11 = is_x11_surface(shell, weston_desktop_surface_get_surface(desktop_surface));
	wl_list_insert(shell->surfaces.prev, &shsurf->link);
	weston_desktop_surface_set_user_data(desktop_surface, shsurf);
	fill_output(shsurf);
	return;

nomem : {
	struct wl_client *client = weston_desktop_client_get_client(
	        weston_desktop_surface_get_client(desktop_surface));
	if (client)
		wl_client_post_no_memory(client);
}
}

static void shell_surface_destroy(struct gb_shell_surface *shsurf)
{
	struct gb_shell_surface *other;

	wl_list_for_each (other, &shsurf->shell->surfaces, link)
		if (other->parent == shsurf)
			other->parent = NULL;
	if (shsurf->shell->focused == shsurf)
		shsurf->shell->focused = NULL;
	wl_list_remove(&shsurf->link);
	weston_desktop_surface_set_user_data(shsurf->desktop_surface, NULL);
	weston_desktop_surface_unlink_view(shsurf->view);
	weston_view_destroy(shsurf->view);
	free(shsurf);
}

static void surface_removed(struct weston_desktop_surface *desktop_surface, void *data)
{
	struct gb_shell *shell = data;
	struct gb_shell_surface *shsurf = weston_desktop_surface_get_user_data(desktop_surface);

	if (!shsurf)
		return;
	focus_next(shell, shsurf);
	shell_surface_destroy(shsurf);
}

static void surface_committed(struct weston_desktop_surface *desktop_surface, int32_t sx,
                              int32_t sy, void *data)
{
	struct gb_shell *shell = data;
	struct gb_shell_surface *shsurf = weston_desktop_surface_get_user_data(desktop_surface);
	struct weston_surface *surface = weston_desktop_surface_get_surface(desktop_surface);
	bool was_mapped;

	if (!shsurf || surface->width == 0)
		return;

	/* An X11 main window that left fullscreen or maximized (F11 in the
	 * application) would get its old size and frame back: ask again, a few
	 * times. */
	bool filling = weston_desktop_surface_get_fullscreen(desktop_surface) ||
	               weston_desktop_surface_get_maximized(desktop_surface);
	if (shsurf->x11 && is_root(shsurf) && shsurf->was_filling && !filling &&
	    shsurf->fill_asks < MAX_FILL_ASKS) {
		shsurf->fill_asks++;
		fill_output(shsurf);
	}
	shsurf->was_filling = filling;

	was_mapped = weston_surface_is_mapped(surface);
	if (!was_mapped)
		weston_view_set_output(shsurf->view, shell->session->output);

	/* The main window (maximized, or an X11 one until the X11 window
	 * manager has handled the shell's request) is re-anchored after every
	 * resize; a dialog keeps its place, moved by the offset the client
	 * asked for. */
	if (!was_mapped || is_root(shsurf) ||
	    weston_desktop_surface_get_maximized(desktop_surface) ||
	    weston_desktop_surface_get_fullscreen(desktop_surface)) {
		place_view(shsurf);
	} else if (sx != 0 || sy != 0) {
		weston_view_set_position(shsurf->view, shsurf->view->geometry.x + sx,
		                         shsurf->view->geometry.y + sy);
		weston_view_update_transform(shsurf->view);
	}

	if (!was_mapped) {
		surface->is_mapped = true;
		shsurf->view->is_mapped = true;
		weston_layer_entry_insert(&shell->normal_layer.view_list,
		                          &shsurf->view->layer_link);
		activate(shsurf, WESTON_ACTIVATE_FLAG_NONE);
		if (!shell->session->app_mapped) {
			shell->session->app_mapped = true;
			gb_info("application window '%s' mapped after %.1f ms",
			        weston_desktop_surface_get_title(desktop_surface)
			                ? weston_desktop_surface_get_title(desktop_surface)
			                : "",
			        gb_session_elapsed_ms(shell->session));
		}
	}
}

static void set_parent(struct weston_desktop_surface *desktop_surface,
                       struct weston_desktop_surface *parent, void *data)
{
	struct gb_shell_surface *shsurf = weston_desktop_surface_get_user_data(desktop_surface);

	if (!shsurf)
		return;
	shsurf->parent = parent ? weston_desktop_surface_get_user_data(parent) : NULL;
	if (is_root(shsurf)) {
		fill_output(shsurf);
	} else {
		weston_desktop_surface_set_maximized(desktop_surface, false);
		weston_desktop_surface_set_size(desktop_surface, 0, 0);
	}
}

static void fullscreen_requested(struct weston_desktop_surface *desktop_surface, bool fullscreen,
                                 struct weston_output *output, void *data)
{
	struct gb_shell_surface *shsurf = weston_desktop_surface_get_user_data(desktop_surface);
	struct weston_output *our_output;

	if (!shsurf)
		return;
	our_output = shsurf->shell->session->output;
	weston_desktop_surface_set_fullscreen(desktop_surface, fullscreen);
	if (fullscreen)
		weston_desktop_surface_set_size(desktop_surface, our_output->width,
		                                our_output->height);
	else if (is_root(shsurf))
		fill_output(shsurf);
	else
		weston_desktop_surface_set_size(desktop_surface, 0, 0);
}

static void maximized_requested(struct weston_desktop_surface *desktop_surface, bool maximized,
                                void *data)
{
	struct gb_shell_surface *shsurf = weston_desktop_surface_get_user_data(desktop_surface);

	if (!shsurf)
		return;
	/* The main window always fills the output; answer with that. */
	if (maximized || is_root(shsurf)) {
		fill_output(shsurf);
		return;
	}
	weston_desktop_surface_set_maximized(desktop_surface, false);
	weston_desktop_surface_set_size(desktop_surface, 0, 0);
}

static void set_xwayland_position(struct weston_desktop_surface *desktop_surface, int32_t x,
                                  int32_t y, void *data)
{
	struct gb_shell_surface *shsurf = weston_desktop_surface_get_user_data(desktop_surface);

	if (!shsurf)
		return;
	shsurf->xwayland_position_set = true;
	shsurf->xwayland_x = x;
	shsurf->xwayland_y = y;
}

static const struct weston_desktop_api desktop_api = {
	.struct_size = sizeof(struct weston_desktop_api),
	.surface_added = surface_added,
	.surface_removed = surface_removed,
	.committed = surface_committed,
	.set_parent = set_parent,
	.fullscreen_requested = fullscreen_requested,
	.maximized_requested = maximized_requested,
	.set_xwayland_position = set_xwayland_position,
};

static void click_to_activate(struct weston_pointer *pointer, const struct timespec *time,
                              uint32_t button, void *data)
{
	struct gb_shell *shell = data;
	struct gb_shell_surface *shsurf;

	if (pointer->grab != &pointer->default_grab || !pointer->focus)
		return;
	shsurf = from_surface(weston_surface_get_main_surface(pointer->focus->surface));
	if (shsurf && shsurf != shell->focused)
		activate(shsurf, WESTON_ACTIVATE_FLAG_CLICKED);
}

static int create_background(struct gb_shell *shell)
{
	struct weston_surface *surface;

	surface = weston_surface_create(shell->compositor);
	if (!surface)
		return -ENOMEM;
	shell->background = weston_view_create(surface);
	if (!shell->background) {
		weston_surface_destroy(surface);
		return -ENOMEM;
	}
	weston_surface_set_color(surface, 0.0f, 0.0f, 0.0f, 1.0f);
	weston_surface_set_label_func(surface, NULL);
	weston_layer_entry_insert(&shell->background_layer.view_list,
	                          &shell->background->layer_link);
	surface->is_mapped = true;
	shell->background->is_mapped = true;
	return 0;
}

static void size_background(struct gb_shell *shell)
{
	struct weston_output *output = shell->session->output;
	struct weston_surface *surface = shell->background->surface;

	pixman_region32_fini(&surface->opaque);
	pixman_region32_init_rect(&surface->opaque, 0, 0, output->width, output->height);
	pixman_region32_fini(&surface->input);
	pixman_region32_init_rect(&surface->input, 0, 0, output->width, output->height);
	weston_surface_set_size(surface, output->width, output->height);
	weston_view_set_position(shell->background, output->x, output->y);
	weston_view_set_output(shell->background, output);
	weston_view_update_transform(shell->background);
	weston_surface_damage(surface);
}

static void output_resized(struct wl_listener *listener, void *data)
{
	struct gb_shell *shell = wl_container_of(listener, shell, output_resized);
	struct gb_shell_surface *shsurf;

	size_background(shell);
	wl_list_for_each (shsurf, &shell->surfaces, link) {
		if (is_root(shsurf) ||
		    weston_desktop_surface_get_maximized(shsurf->desktop_surface) ||
		    weston_desktop_surface_get_fullscreen(shsurf->desktop_surface))
			weston_desktop_surface_set_size(shsurf->desktop_surface,
			                                shell->session->output->width,
			                                shell->session->output->height);
		else if (weston_view_is_mapped(shsurf->view))
			place_view(shsurf);
	}
}

int gb_shell_create(struct gb_session *session)
{
	struct gb_shell *shell;
	int r;

	shell = calloc(1, sizeof(*shell));
	if (!shell)
		return -ENOMEM;
	shell->session = session;
	shell->compositor = session->compositor;
	wl_list_init(&shell->surfaces);
	session->shell = shell;

	weston_layer_init(&shell->background_layer, shell->compositor);
	weston_layer_set_position(&shell->background_layer, WESTON_LAYER_POSITION_BACKGROUND);
	/* NORMAL, so that Xwayland's override-redirect windows (NORMAL + 1)
	 * show above the application. */
	weston_layer_init(&shell->normal_layer, shell->compositor);
	weston_layer_set_position(&shell->normal_layer, WESTON_LAYER_POSITION_NORMAL);

	r = create_background(shell);
	if (r < 0)
		return r;
	size_background(shell);

	shell->desktop = weston_desktop_create(shell->compositor, &desktop_api, shell);
	if (!shell->desktop)
		return -ENOMEM;

	weston_compositor_add_button_binding(shell->compositor, BTN_LEFT, 0, click_to_activate,
	                                     shell);
	weston_compositor_add_button_binding(shell->compositor, BTN_RIGHT, 0, click_to_activate,
	                                     shell);
	weston_compositor_add_button_binding(shell->compositor, BTN_MIDDLE, 0, click_to_activate,
	                                     shell);

	shell->output_resized.notify = output_resized;
	wl_signal_add(&shell->compositor->output_resized_signal, &shell->output_resized);
	return 0;
}

void gb_shell_destroy(struct gb_shell *shell)
{
	struct gb_shell_surface *shsurf, *next;

	if (!shell)
		return;
	if (shell->output_resized.notify)
		wl_list_remove(&shell->output_resized.link);
	wl_list_for_each_safe (shsurf, next, &shell->surfaces, link)
		shell_surface_destroy(shsurf);
	if (shell->desktop)
		weston_desktop_destroy(shell->desktop);
	if (shell->background)
		weston_surface_destroy(shell->background->surface);
	weston_layer_fini(&shell->normal_layer);
	weston_layer_fini(&shell->background_layer);
	shell->session->shell = NULL;
	free(shell);
}
