/* SPDX-License-Identifier: MIT */
/*
 * Xwayland for X11 applications. libweston's xwayland module owns the X11
 * sockets and the window manager; it calls us to start the X server on the
 * first X11 connection, and the X server tells us it is ready with SIGUSR1
 * (because we start it with SIGUSR1 ignored). Started with -terminate, it
 * exits when its last client leaves and is started again on demand.
 *
 * libweston 10's X11 window manager frames every X11 window (a title bar,
 * borders and a shadow margin) unless it is fullscreen, and it gives a shell
 * no call to change that: its only word from the shell is a size. So the
 * session asks it the way an X11 pager would, with an EWMH _NET_WM_STATE
 * client message on the root window, to make each X11 main window
 * fullscreen. The window manager then drops the frame, the sizes the shell
 * sends are the window's own, the output's, and it refuses the window's own
 * requests to change size. Maximized would not do: the frame (or, for an
 * application that draws its own decorations, the shadow margin) stays, and
 * the window manager lets the application grow past the output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libweston/libweston.h>
#include <libweston/xwayland-api.h>
#include <xcb/xcb.h>

#include "app.h"
#include "gb-build-config.h"
#include "log.h"
#include "session.h"
#include "xwayland.h"

struct gb_xwayland {
	struct gb_session *session;
	const struct weston_xwayland_api *api;
	struct weston_xwayland *xwayland;
	struct wl_event_source *sigusr1_source;
	struct wl_client *client;
	int wm_fd;
	struct gb_child process;
	/*
	 * libweston 10's xwayland module frees its state when listen() fails
	 * but leaves that state's listener on the compositor's destroy signal,
	 * so destroying the compositor later reads freed memory. These two
	 * listeners of ours bracket the module's one: on that failure we cut it
	 * out of the list by relinking our own two, never touching the freed
	 * listener.
	 */
	struct wl_listener before_module, after_module;
	bool can_unlink_module;
	char *display_name;                      /* ":N", as the module exported it */
	struct wl_event_source *fullscreen_idle; /* a pending fullscreen_main_windows() */
};

#define X11_SOCKET_DIR "/tmp/.X11-unix"

static int xserver_ready(int signal_number, void *data)
{
	struct gb_xwayland *xw = data;

	gb_debug("Xwayland is ready");
	xw->api->xserver_loaded(xw->xwayland, xw->client, xw->wm_fd);
	xw->wm_fd = -1; /* the window manager owns it now */
	wl_event_source_remove(xw->sigusr1_source);
	xw->sigusr1_source = NULL;
	return 1;
}

static void xserver_exited(struct gb_child *child, int status)
{
	struct gb_xwayland *xw = wl_container_of(child, xw, process);

	if (WIFSIGNALED(status))
		gb_info("Xwayland (pid %d) killed by signal %d", (int)child->pid,
		        WTERMSIG(status));
	else
		gb_debug("Xwayland (pid %d) exited with status %d", (int)child->pid,
		         WEXITSTATUS(status));
	child->pid = 0;
	xw->client = NULL;
	xw->api->xserver_exited(xw->xwayland, status);
	if (!xw->sigusr1_source)
		xw->sigusr1_source =
		        wl_event_loop_add_signal(xw->session->loop, SIGUSR1, xserver_ready, xw);
}

/* In the child: make an inherited copy of @fd and return it as text. */
static int pass_fd(int fd, char text[static 12])
{
	int copy = dup(fd); /* dup() clears FD_CLOEXEC on the copy */

	if (copy < 0)
		return -1;
	snprintf(text, 12, "%d", copy);
	return 0;
}

static pid_t spawn_xserver(void *data, const char *display, int abstract_fd, int unix_fd)
{
	struct gb_xwayland *xw = data;
	char wayland_socket[12], abstract_text[12], unix_text[12], wm_text[12];
	int wayland_pair[2], wm_pair[2];
	sigset_t none;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wayland_pair) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wm_pair) < 0) {
		close(wayland_pair[0]);
		close(wayland_pair[1]);
		goto fail;
	}

	pid = fork();
	if (pid == 0) {
		if (pass_fd(wayland_pair[1], wayland_socket) < 0 ||
		    pass_fd(abstract_fd, abstract_text) < 0 || pass_fd(unix_fd, unix_text) < 0 ||
		    pass_fd(wm_pair[1], wm_text) < 0)
			_exit(EXIT_FAILURE);
		setenv("WAYLAND_SOCKET", wayland_socket, 1);
		/* The signal mask survives exec: clear what main() blocked. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* An X server whose SIGUSR1 is ignored signals its parent
		 * once it is ready to take clients. */
		signal(SIGUSR1, SIG_IGN);
		execl(GB_XWAYLAND_PATH, GB_XWAYLAND_PATH, display, "-rootless", "-listenfd",
		      abstract_text, "-listenfd", unix_text, "-wm", wm_text, "-terminate",
		      (char *)NULL);
		fprintf(stderr, "glassbox-session: cannot run %s: %s\n", GB_XWAYLAND_PATH,
		        strerror(errno));
		_exit(EXIT_FAILURE);
	}

	close(wayland_pair[1]);
	close(wm_pair[1]);
	if (pid < 0) {
		close(wayland_pair[0]);
		close(wm_pair[0]);
		goto fail;
	}

	xw->client = wl_client_create(xw->session->display, wayland_pair[0]);
	if (!xw->client)
		close(wayland_pair[0]);
	if (xw->wm_fd >= 0)
		close(xw->wm_fd);
	xw->wm_fd = wm_pair[0];
	xw->process.pid = pid;
	gb_session_watch_child(xw->session, &xw->process);
	gb_info("started Xwayland on %s (pid %d)", display, (int)pid);
	return pid;

fail:
	gb_error("cannot start Xwayland: %s", strerror(errno));
	return -1;
}

/*
 * X clients find the server's socket in /tmp/.X11-unix, which systemd-tmpfiles
 * makes at boot (x11.conf) and nothing makes on a machine without systemd or
 * in a fresh private /tmp (PrivateTmp=). Make it as X servers do: 1777, so
 * that every user's server can add its socket and none can remove another's.
 */
static int ensure_x11_socket_dir(void)
{
	struct stat st;

	if (mkdir(X11_SOCKET_DIR, 01777) == 0) {
		/* mkdir() honours the umask; the sticky, world-writable mode is the point. */
		if (chmod(X11_SOCKET_DIR, 01777) < 0) {
			int r = -errno;

			gb_error("cannot make %s mode 1777: %s", X11_SOCKET_DIR, strerror(errno));
			return r;
		}
		gb_info("created %s (mode 1777) for Xwayland's socket", X11_SOCKET_DIR);
		return 0;
	}
	if (errno != EEXIST) {
		int r = -errno;

		gb_error("cannot create %s for Xwayland's socket: %s; create it as root with "
		         "'install -d -m 1777 %s' (systemd-tmpfiles does at boot), or set "
		         "session.xwayland = false",
		         X11_SOCKET_DIR, strerror(errno), X11_SOCKET_DIR);
		return r;
	}
	if (lstat(X11_SOCKET_DIR, &st) < 0) {
		int r = -errno;

		gb_error("cannot inspect %s: %s", X11_SOCKET_DIR, strerror(errno));
		return r;
	}
	if (!S_ISDIR(st.st_mode)) {
		gb_error("%s is not a directory (a symbolic link or a file is in the way); remove "
		         "it, or set session.xwayland = false",
		         X11_SOCKET_DIR);
		return -ENOTDIR;
	}
	if (access(X11_SOCKET_DIR, W_OK | X_OK) < 0) {
		int r = -errno;

		gb_error("%s is not writable by uid %u (mode %04o, owner %u); make it mode 1777 "
		         "('chmod 1777 %s' as root), or set session.xwayland = false",
		         X11_SOCKET_DIR, (unsigned)getuid(), (unsigned)(st.st_mode & 07777),
		         (unsigned)st.st_uid, X11_SOCKET_DIR);
		return r;
	}
	/* Anyone who owns the folder can replace our socket in it. */
	if (st.st_uid != 0 && st.st_uid != getuid())
		gb_warning("%s belongs to uid %u, who can replace this session's X11 socket; "
		           "it should belong to root, mode 1777",
		           X11_SOCKET_DIR, (unsigned)st.st_uid);
	else if ((st.st_mode & 01000) == 0 && (st.st_mode & 0002))
		gb_warning("%s is world-writable without the sticky bit (mode %04o): other users "
		           "can remove this session's X11 socket; it should be 1777",
		           X11_SOCKET_DIR, (unsigned)(st.st_mode & 07777));
	return 0;
}

static void bracket_destroyed(struct wl_listener *listener, void *data)
{
	(void)data;
	wl_list_remove(&listener->link);
	wl_list_init(&listener->link);
}

/* Cut the module's dangling listener out from between our two (see struct gb_xwayland). */
static void unlink_module_listener(struct gb_xwayland *xw)
{
	xw->before_module.link.next = &xw->after_module.link;
	xw->after_module.link.prev = &xw->before_module.link;
}

/*
 * Main windows, as libweston's window manager tells them apart: managed
 * (WM_STATE NormalState), without WM_TRANSIENT_FOR (a dialog), and of no
 * type that it shows as a popup (tooltip, menus, combo, DnD, utility). The
 * shell gives the same windows the whole output.
 */
enum {
	ATOM_WM_STATE,
	ATOM_NET_WM_STATE,
	ATOM_NET_WM_STATE_FULLSCREEN,
	ATOM_NET_WM_WINDOW_TYPE,
	ATOM_FIRST_POPUP_TYPE,
	ATOM_COUNT = ATOM_FIRST_POPUP_TYPE + 6,
};

static const char *const atom_names[ATOM_COUNT] = {
	[ATOM_WM_STATE] = "WM_STATE",
	[ATOM_NET_WM_STATE] = "_NET_WM_STATE",
	[ATOM_NET_WM_STATE_FULLSCREEN] = "_NET_WM_STATE_FULLSCREEN",
	[ATOM_NET_WM_WINDOW_TYPE] = "_NET_WM_WINDOW_TYPE",
	[ATOM_FIRST_POPUP_TYPE + 0] = "_NET_WM_WINDOW_TYPE_TOOLTIP",
	[ATOM_FIRST_POPUP_TYPE + 1] = "_NET_WM_WINDOW_TYPE_DROPDOWN_MENU",
	[ATOM_FIRST_POPUP_TYPE + 2] = "_NET_WM_WINDOW_TYPE_DND",
	[ATOM_FIRST_POPUP_TYPE + 3] = "_NET_WM_WINDOW_TYPE_COMBO",
	[ATOM_FIRST_POPUP_TYPE + 4] = "_NET_WM_WINDOW_TYPE_POPUP_MENU",
	[ATOM_FIRST_POPUP_TYPE + 5] = "_NET_WM_WINDOW_TYPE_UTILITY",
};

/* ICCCM 4.1.3.1 */
#define ICCCM_NORMAL_STATE 1
/* EWMH _NET_WM_STATE actions and source indication */
#define NET_WM_STATE_ADD    1
#define NET_WM_SOURCE_PAGER 2

/* Bounds on what a scan reads from an X server the application shares. */
#define MAX_WINDOWS_SCANNED 256
#define MAX_PROPERTY_ATOMS  32

static int intern_atoms(xcb_connection_t *connection, xcb_atom_t atoms[ATOM_COUNT])
{
	xcb_intern_atom_cookie_t cookies[ATOM_COUNT];
	int r = 0;

	for (int i = 0; i < ATOM_COUNT; i++)
		cookies[i] = xcb_intern_atom(connection, 0, strlen(atom_names[i]), atom_names[i]);
	for (int i = 0; i < ATOM_COUNT; i++) {
		xcb_intern_atom_reply_t *reply =
		        xcb_intern_atom_reply(connection, cookies[i], NULL);

		if (!reply) {
			r = -EIO;
			continue;
		}
		atoms[i] = reply->atom;
		free(reply);
	}
	return r;
}

/* The 32-bit values of @property on @window (at most MAX_PROPERTY_ATOMS),
 * or NULL when it has none; free() the reply. */
static xcb_get_property_reply_t *get_property32(xcb_connection_t *connection, xcb_window_t window,
                                                xcb_atom_t property, const uint32_t **values,
                                                int *count)
{
	xcb_get_property_reply_t *reply;

	reply = xcb_get_property_reply(connection,
	                               xcb_get_property(connection, 0, window, property,
	                                                XCB_ATOM_ANY, 0, MAX_PROPERTY_ATOMS),
	                               NULL);
	if (!reply || reply->format != 32 || xcb_get_property_value_length(reply) < 4) {
		free(reply);
		return NULL;
	}
	*values = xcb_get_property_value(reply);
	*count = xcb_get_property_value_length(reply) / 4;
	return reply;
}

static bool has_value(xcb_connection_t *connection, xcb_window_t window, xcb_atom_t property,
                      const xcb_atom_t *wanted, int wanted_count, bool first_only)
{
	const uint32_t *values;
	xcb_get_property_reply_t *reply;
	bool found = false;
	int count;

	reply = get_property32(connection, window, property, &values, &count);
	if (!reply)
		return false;
	if (first_only)
		count = 1;
	for (int i = 0; i < count && !found; i++)
		for (int j = 0; j < wanted_count && !found; j++)
			found = values[i] == wanted[j];
	free(reply);
	return found;
}

static bool wants_fullscreen(xcb_connection_t *connection, xcb_window_t window,
                             const xcb_atom_t atoms[ATOM_COUNT])
{
	const uint32_t *values;
	xcb_get_property_reply_t *reply;
	bool managed;
	int count;

	reply = get_property32(connection, window, atoms[ATOM_WM_STATE], &values, &count);
	managed = reply && values[0] == ICCCM_NORMAL_STATE;
	free(reply);
	if (!managed)
		return false;
	reply = get_property32(connection, window, XCB_ATOM_WM_TRANSIENT_FOR, &values, &count);
	if (reply) {
		bool dialog = values[0] != XCB_WINDOW_NONE;

		free(reply);
		if (dialog)
			return false;
	}
	/* libweston's window manager looks at the first type only. */
	if (has_value(connection, window, atoms[ATOM_NET_WM_WINDOW_TYPE],
	              &atoms[ATOM_FIRST_POPUP_TYPE], ATOM_COUNT - ATOM_FIRST_POPUP_TYPE, true))
		return false;
	return !has_value(connection, window, atoms[ATOM_NET_WM_STATE],
	                  &atoms[ATOM_NET_WM_STATE_FULLSCREEN], 1, false);
}

static void ask_fullscreen(xcb_connection_t *connection, xcb_window_t root, xcb_window_t window,
                           const xcb_atom_t atoms[ATOM_COUNT])
{
	xcb_client_message_event_t message = {
		.response_type = XCB_CLIENT_MESSAGE,
		.format = 32,
		.window = window,
		.type = atoms[ATOM_NET_WM_STATE],
		.data.data32 = { NET_WM_STATE_ADD, atoms[ATOM_NET_WM_STATE_FULLSCREEN], 0,
		                 NET_WM_SOURCE_PAGER, 0 },
	};

	xcb_send_event(connection, 0, root,
	               XCB_EVENT_MASK_SUBSTRUCTURE_NOTIFY | XCB_EVENT_MASK_SUBSTRUCTURE_REDIRECT,
	               (const char *)&message);
}

/* The window manager reparents each managed window into a frame, a child
 * of the root: look one level down. Returns how many it asked for. */
static int fullscreen_children(xcb_connection_t *connection, xcb_window_t root,
                               xcb_window_t parent, const xcb_atom_t atoms[ATOM_COUNT], int depth,
                               int *budget)
{
	xcb_query_tree_reply_t *tree;
	xcb_window_t *children;
	int asked = 0, count;

	tree = xcb_query_tree_reply(connection, xcb_query_tree(connection, parent), NULL);
	if (!tree)
		return 0;
	children = xcb_query_tree_children(tree);
	count = xcb_query_tree_children_length(tree);
	for (int i = 0; i < count; i++) {
		if (*budget <= 0)
			break;
		(*budget)--;
		if (depth == 0) {
			asked += fullscreen_children(connection, root, children[i], atoms, 1,
			                             budget);
		} else if (wants_fullscreen(connection, children[i], atoms)) {
			ask_fullscreen(connection, root, children[i], atoms);
			gb_debug("asked the X11 window manager to make window 0x%x fullscreen",
			         children[i]);
			asked++;
		}
	}
	free(tree);
	return asked;
}

static void fullscreen_main_windows(void *data)
{
	struct gb_xwayland *xw = data;
	xcb_atom_t atoms[ATOM_COUNT];
	xcb_connection_t *connection;
	const xcb_setup_t *setup;
	xcb_window_t root;
	int budget = MAX_WINDOWS_SCANNED, screen_number = 0;

	xw->fullscreen_idle = NULL;
	if (!xw->client || !xw->display_name)
		return; /* no X server (any more) */

	/* A short connection: a lasting one would keep a -terminate X server
	 * alive after the application's last client left. */
	connection = xcb_connect(xw->display_name, &screen_number);
	if (xcb_connection_has_error(connection)) {
		gb_error("cannot connect to X11 display %s to make its main windows fill the "
		         "output",
		         xw->display_name);
		xcb_disconnect(connection);
		return;
	}
	setup = xcb_get_setup(connection);
	if (intern_atoms(connection, atoms) < 0 || xcb_setup_roots_length(setup) < 1) {
		gb_error("X11 display %s: cannot look up the EWMH atoms", xw->display_name);
		xcb_disconnect(connection);
		return;
	}
	root = xcb_setup_roots_iterator(setup).data->root;
	if (fullscreen_children(connection, root, root, atoms, 0, &budget) > 0)
		/* A round trip: the messages are handled before we hang up. */
		free(xcb_get_input_focus_reply(connection, xcb_get_input_focus(connection), NULL));
	xcb_disconnect(connection);
}

void gb_xwayland_fill_output(struct gb_xwayland *xw)
{
	if (!xw || xw->fullscreen_idle)
		return;
	xw->fullscreen_idle =
	        wl_event_loop_add_idle(xw->session->loop, fullscreen_main_windows, xw);
	if (!xw->fullscreen_idle)
		gb_error("cannot schedule making the X11 main windows fill the output: %s",
		         strerror(errno));
}

int gb_xwayland_start(struct gb_session *session)
{
	struct wl_signal *destroy_signal = &session->compositor->destroy_signal;
	struct gb_xwayland *xw;
	int r;

	r = ensure_x11_socket_dir();
	if (r < 0)
		return r;

	xw = calloc(1, sizeof(*xw));
	if (!xw)
		return -ENOMEM;
	xw->session = session;
	xw->wm_fd = -1;
	xw->process.exited = xserver_exited;
	wl_list_init(&xw->process.link);
	xw->before_module.notify = bracket_destroyed;
	xw->after_module.notify = bracket_destroyed;
	session->xwayland = xw;

	wl_signal_add(destroy_signal, &xw->before_module);
	if (weston_compositor_load_xwayland(session->compositor) < 0) {
		gb_error("cannot load libweston's xwayland module");
		return -ENOENT;
	}
	wl_signal_add(destroy_signal, &xw->after_module);
	/* Exactly one listener between ours: the module's. */
	xw->can_unlink_module = xw->before_module.link.next != &xw->after_module.link &&
	                        xw->before_module.link.next->next == &xw->after_module.link;

	xw->api = weston_xwayland_get_api(session->compositor);
	xw->xwayland = xw->api ? xw->api->get(session->compositor) : NULL;
	if (!xw->xwayland) {
		gb_error("libweston's xwayland module offers no API");
		return -ENOTSUP;
	}
	if (xw->api->listen(xw->xwayland, xw, spawn_xserver) < 0) {
		/* libweston logged why (its lines are in our log as warnings). */
		gb_error("cannot open an X11 display socket in %s (or its abstract twin); X11 "
		         "applications need it, or set session.xwayland = false",
		         X11_SOCKET_DIR);
		xw->xwayland = NULL; /* freed by the module */
		if (xw->can_unlink_module)
			unlink_module_listener(xw);
		else
			gb_warning("cannot detach libweston's failed xwayland module: the "
			           "compositor's teardown may crash");
		return -EADDRINUSE;
	}
	xw->sigusr1_source = wl_event_loop_add_signal(session->loop, SIGUSR1, xserver_ready, xw);
	if (!xw->sigusr1_source)
		return -errno;
	/* The module exported DISPLAY into our environment. */
	if (getenv("DISPLAY")) {
		xw->display_name = strdup(getenv("DISPLAY"));
		if (!xw->display_name)
			return -ENOMEM;
	}
	gb_info("X11 display %s", xw->display_name ? xw->display_name : "(none)");
	return 0;
}

/*
 * Called after the compositor is gone: the X server has lost its Wayland
 * connection and is on its way out. Make sure, and reap it, so that no
 * process is left behind.
 */
void gb_xwayland_destroy(struct gb_xwayland *xw)
{
	if (!xw)
		return;
	if (xw->process.pid > 0) {
		pid_t pid = xw->process.pid;
		int status;

		kill(pid, SIGTERM);
		for (int i = 0; i < 200; i++) { /* 2 s */
			if (waitpid(pid, &status, WNOHANG) != 0)
				break;
			if (i == 199) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		}
		wl_list_remove(&xw->process.link);
		wl_list_init(&xw->process.link);
	}
	if (xw->sigusr1_source)
		wl_event_source_remove(xw->sigusr1_source);
	if (xw->fullscreen_idle)
		wl_event_source_remove(xw->fullscreen_idle);
	if (xw->wm_fd >= 0)
		close(xw->wm_fd);
	/* Unlinked by bracket_destroyed() when the compositor went first. */
	if (xw->before_module.notify)
		wl_list_remove(&xw->before_module.link);
	if (xw->after_module.notify && xw->after_module.link.next)
		wl_list_remove(&xw->after_module.link);
	free(xw->display_name);
	free(xw);
}
