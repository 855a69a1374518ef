/* SPDX-License-Identifier: MIT */
/*
 * Sessions, started by the "direct" spawner: fork/exec of glassbox-session
 * with a folder of its own under runtime_dir/sessions, a signal socket in
 * it, and a pipe on which it says READY. One session per user; every
 * browser tab of that user is a viewer of it. A session with no viewer ends
 * after session.idle_timeout_s; one that exits is reported to its viewers.
 *
 * Nothing here blocks: READY is read from an fd watch with a time-out, the
 * exit comes through g_child_watch_add(), and the stop escalates from
 * SIGTERM to SIGKILL on a timer.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "daemon.h"
#include "log.h"

#define READY_FD       3
#define TREE_DEPTH_MAX 8

static void remove_tree_at(int dir_fd, const char *name, int depth)
{
	DIR *dir;
	struct dirent *entry;
	int fd;

	if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
		return;
	if (errno != EISDIR || depth > TREE_DEPTH_MAX)
		goto remove_dir;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto remove_dir;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		goto remove_dir;
	}
	while ((entry = readdir(dir))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		remove_tree_at(dirfd(dir), entry->d_name, depth + 1);
	}
	closedir(dir);
remove_dir:
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		gb_warning("cannot remove %s: %s", name, strerror(errno));
}

/* rm -rf of a folder we made; never follows a link out of it. */
static void remove_tree(const char *path)
{
	remove_tree_at(AT_FDCWD, path, 0);
}

static bool is_session_id(const char *name)
{
	return strlen(name) == GB_SESSION_ID_LENGTH &&
	       strspn(name, "0123456789abcdef") == GB_SESSION_ID_LENGTH;
}

void gb_sessions_clean_stale(struct gb_daemon *daemon)
{
	g_autofree char *path =
	        g_build_filename(daemon->config->server.runtime_dir, "sessions", NULL);
	DIR *dir = opendir(path);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		if (!is_session_id(entry->d_name))
			continue;
		gb_info("removing %s/%s, left by an earlier glassboxd", path, entry->d_name);
		remove_tree_at(dirfd(dir), entry->d_name, 0);
	}
	closedir(dir);
}

unsigned gb_sessions_count(struct gb_daemon *daemon)
{
	return daemon->sessions ? g_hash_table_size(daemon->sessions) : 0;
}

struct gb_daemon_session *gb_session_find(struct gb_daemon *daemon, const char *user)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, daemon->sessions);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_daemon_session *session = value;

		if ((session->state == GB_SESSION_STARTING ||
		     session->state == GB_SESSION_RUNNING) &&
		    strcmp(session->user, user) == 0)
			return session;
	}
	return NULL;
}

static void session_free(struct gb_daemon_session *session)
{
	if (session->ready_source)
		g_source_remove(session->ready_source);
	if (session->ready_fd >= 0)
		close(session->ready_fd);
	if (session->ready_timeout)
		g_source_remove(session->ready_timeout);
	if (session->idle_timeout)
		g_source_remove(session->idle_timeout);
	if (session->kill_timeout)
		g_source_remove(session->kill_timeout);
	if (session->child_watch)
		g_source_remove(session->child_watch);
	g_free(session->user);
	g_free(session->dir);
	g_free(session->socket_path);
	g_free(session->control_path);
	g_free(session);
}

static void end_viewers(struct gb_daemon_session *session, const char *reason, gushort code)
{
	GList *link;

	while ((link = g_queue_peek_head_link(&session->viewers)))
		gb_viewer_end(link->data, reason, code);
}

static void stop_watching_ready(struct gb_daemon_session *session)
{
	if (session->ready_source)
		g_source_remove(session->ready_source);
	session->ready_source = 0;
	if (session->ready_fd >= 0)
		close(session->ready_fd);
	session->ready_fd = -1;
	if (session->ready_timeout)
		g_source_remove(session->ready_timeout);
	session->ready_timeout = 0;
}

/* "exited with status 3", "was killed by signal 9 (Killed)" */
static char *describe_exit(int status)
{
	if (WIFEXITED(status))
		return g_strdup_printf("exited with status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return g_strdup_printf("was killed by signal %d (%s)", WTERMSIG(status),
		                       strsignal(WTERMSIG(status)));
	return g_strdup("ended");
}

static void child_exited(GPid pid, gint status, gpointer data)
{
	struct gb_daemon_session *session = data;
	struct gb_daemon *daemon = session->daemon;
	g_autofree char *how = describe_exit(status);
	bool started = session->was_ready;
	g_autofree char *reason = NULL;

	session->child_watch = 0; /* removed by GLib after this call */
	g_spawn_close_pid(pid);
	session->state = GB_SESSION_EXITED;
	stop_watching_ready(session);

	if (session->stop_reason)
		reason = g_strdup(session->stop_reason);
	else if (!started)
		reason = g_strdup_printf("the session could not start (it %s)", how);
	else
		reason = g_strdup_printf("the session %s", how);
	if (session->stop_reason)
		gb_info("session %s of user '%s' %s after it was stopped: %s", session->id,
		        session->user, how, session->stop_reason);
	else
		gb_info("session %s of user '%s' %s%s", session->id, session->user, how,
		        started ? "" : " before it was ready");
	/* A session that never became ready failed; one that did just ended. */
	end_viewers(session, reason, started ? 1000 : SOUP_WEBSOCKET_CLOSE_SERVER_ERROR);

	remove_tree(session->dir);
	g_hash_table_remove(daemon->sessions, session->id);
	gb_events_session_removed(daemon, session, reason);
	session_free(session);
	gb_daemon_quit_if_done(daemon);
}

static gboolean kill_now(gpointer data)
{
	struct gb_daemon_session *session = data;

	session->kill_timeout = 0;
	gb_warning("session %s of user '%s' did not stop within %d ms; sending SIGKILL",
	           session->id, session->user, session->daemon->config->session.stop_grace_ms);
	kill(session->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

void gb_session_stop(struct gb_daemon_session *session, const char *reason)
{
	if (session->state == GB_SESSION_STOPPING || session->state == GB_SESSION_EXITED)
		return;
	gb_info("stopping session %s of user '%s': %s", session->id, session->user, reason);
	session->state = GB_SESSION_STOPPING;
	session->stop_reason = reason;
	stop_watching_ready(session);
	if (session->idle_timeout)
		g_source_remove(session->idle_timeout);
	session->idle_timeout = 0;
	kill(session->pid, SIGTERM);
	session->kill_timeout = g_timeout_add(
	        (guint)session->daemon->config->session.stop_grace_ms, kill_now, session);
}

void gb_sessions_stop_all(struct gb_daemon *daemon)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, daemon->sessions);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		gb_session_stop(value, "glassboxd is stopping");
}

static gboolean idle_expired(gpointer data)
{
	struct gb_daemon_session *session = data;

	session->idle_timeout = 0;
	gb_session_stop(session, "no viewer for session.idle_timeout_s");
	return G_SOURCE_REMOVE;
}

static void start_idle_timer(struct gb_daemon_session *session)
{
	int timeout = session->daemon->config->session.idle_timeout_s;

	if (timeout <= 0 || session->idle_timeout || session->state != GB_SESSION_RUNNING)
		return;
	gb_info("session %s of user '%s' has no viewer; ending it in %d s unless one comes",
	        session->id, session->user, timeout);
	session->idle_timeout = g_timeout_add_seconds((guint)timeout, idle_expired, session);
}

static void session_ready(struct gb_daemon_session *session)
{
	stop_watching_ready(session);
	session->state = GB_SESSION_RUNNING;
	session->was_ready = true;
	gb_info("session %s of user '%s' is ready (pid %d, %u viewer%s)", session->id,
	        session->user, (int)session->pid, session->viewers.length,
	        session->viewers.length == 1 ? "" : "s");
	for (GList *link = session->viewers.head; link;) {
		GList *next = link->next;

		gb_viewer_connect(link->data);
		link = next;
	}
	if (session->viewers.length == 0)
		start_idle_timer(session);
}

static gboolean ready_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct gb_daemon_session *session = data;
	size_t room = sizeof(session->ready_buffer) - 1 - session->ready_length;
	ssize_t n;

	n = read(fd, session->ready_buffer + session->ready_length, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n > 0) {
		session->ready_length += (size_t)n;
		session->ready_buffer[session->ready_length] = '\0';
		if (strncmp(session->ready_buffer, "READY\n", session->ready_length) != 0) {
			session->ready_source = 0;
			gb_session_stop(session, "the session wrote something other than READY");
			return G_SOURCE_REMOVE;
		}
		if (strcmp(session->ready_buffer, "READY\n") == 0) {
			session->ready_source = 0;
			session_ready(session);
			return G_SOURCE_REMOVE;
		}
		return G_SOURCE_CONTINUE;
	}
	/* EOF (or an error) before READY: it failed; its exit tells why. */
	session->ready_source = 0;
	stop_watching_ready(session);
	gb_warning("session %s of user '%s' closed its ready pipe without READY", session->id,
	           session->user);
	return G_SOURCE_REMOVE;
}

static gboolean ready_timed_out(gpointer data)
{
	struct gb_daemon_session *session = data;

	session->ready_timeout = 0;
	gb_error("session %s of user '%s' was not ready within %d s", session->id, session->user,
	         GB_SESSION_READY_TIMEOUT_S);
	gb_session_stop(session, "the session did not start in time");
	return G_SOURCE_REMOVE;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_setup(gpointer data)
{
	pid_t parent = (pid_t)GPOINTER_TO_INT(data);

	/* A session must not outlive the glassboxd that relays for it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
}

static int make_session_id(char id[GB_SESSION_ID_LENGTH + 1])
{
	unsigned char bytes[GB_SESSION_ID_LENGTH / 2];

	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return -errno;
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

static char **session_environment(const char *dir)
{
	char **env = g_get_environ();

	/* Its own folder for the Wayland socket; nothing of a desktop the
	 * daemon may have been started from, nor of systemd's protocol with us. */
	env = g_environ_setenv(env, "XDG_RUNTIME_DIR", dir, TRUE);
	env = g_environ_unsetenv(env, "WAYLAND_DISPLAY");
	env = g_environ_unsetenv(env, "DISPLAY");
	env = g_environ_unsetenv(env, "NOTIFY_SOCKET");
	env = g_environ_unsetenv(env, "WATCHDOG_USEC");
	env = g_environ_unsetenv(env, "WATCHDOG_PID");
	env = g_environ_unsetenv(env, "LISTEN_FDS");
	env = g_environ_unsetenv(env, "LISTEN_PID");
	env = g_environ_unsetenv(env, "LISTEN_FDNAMES");
	return env;
}

static int spawn(struct gb_daemon_session *session)
{
	struct gb_daemon *daemon = session->daemon;
	const char *binary = daemon->config->server.session_binary;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) env = session_environment(session->dir);
	char ready_text[16];
	const char *argv[] = {
		binary,
		"-c",
		daemon->config_path,
		"-i",
		session->id,
		"--signal-socket",
		session->socket_path,
		"--ready-fd",
		ready_text,
		NULL,
	};
	int pipe_fds[2];
	gint source_fds[1], target_fds[1] = { READY_FD };

	snprintf(ready_text, sizeof(ready_text), "%d", READY_FD);
	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -errno;
	source_fds[0] = pipe_fds[1];
	if (!g_spawn_async_with_pipes_and_fds(
	            NULL, argv, (const char *const *)env,
	            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, child_setup,
	            GINT_TO_POINTER((int)getpid()), -1, -1, -1, source_fds, target_fds, 1,
	            &session->pid, NULL, NULL, NULL, &error)) {
		gb_error("cannot start %s (server.session_binary) for user '%s': %s", binary,
		         session->user, error->message);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return -ENOEXEC;
	}
	close(pipe_fds[1]);
	session->ready_fd = pipe_fds[0];
	g_unix_set_fd_nonblocking(session->ready_fd, TRUE, NULL);
	session->ready_source = g_unix_fd_add(session->ready_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
	                                      ready_readable, session);
	session->ready_timeout =
	        g_timeout_add_seconds(GB_SESSION_READY_TIMEOUT_S, ready_timed_out, session);
	session->child_watch = g_child_watch_add(session->pid, child_exited, session);
	return 0;
}

struct gb_daemon_session *gb_session_start(struct gb_daemon *daemon, const char *user)
{
	struct gb_daemon_session *session;
	struct sockaddr_un address;
	int r;

	if (gb_sessions_count(daemon) >= (unsigned)daemon->config->server.max_sessions) {
		errno = EAGAIN;
		return NULL;
	}
	session = g_new0(struct gb_daemon_session, 1);
	session->daemon = daemon;
	session->ready_fd = -1;
	session->user = g_strdup(user);
	session->state = GB_SESSION_STARTING;
	g_queue_init(&session->viewers);
	r = make_session_id(session->id);
	if (r < 0)
		goto fail;
	session->dir = g_build_filename(daemon->config->server.runtime_dir, "sessions",
	                                session->id, NULL);
	session->socket_path = g_build_filename(session->dir, "signal.sock", NULL);
	session->control_path =
	        g_strdup_printf("%s/glassbox-%s.control", session->dir, session->id);
	session->started_realtime_us = g_get_real_time();
	if (strlen(session->socket_path) >= sizeof(address.sun_path)) {
		gb_error("%s is longer than a unix socket path may be; choose a shorter "
		         "server.runtime_dir",
		         session->socket_path);
		r = -ENAMETOOLONG;
		goto fail;
	}
	if (mkdir(session->dir, 0700) < 0) {
		r = -errno;
		gb_error("cannot create %s: %s", session->dir, strerror(-r));
		goto fail;
	}
	r = spawn(session);
	if (r < 0) {
		remove_tree(session->dir);
		goto fail;
	}
	g_hash_table_insert(daemon->sessions, session->id, session);
	gb_events_session_added(daemon, session);
	gb_info("session %s: starting for user '%s' (pid %d, %u of %d sessions)", session->id,
	        user, (int)session->pid, gb_sessions_count(daemon),
	        daemon->config->server.max_sessions);
	return session;

fail:
	session_free(session);
	errno = -r;
	return NULL;
}

void gb_session_add_viewer(struct gb_daemon_session *session, struct gb_viewer *viewer)
{
	viewer->session = session;
	viewer->link.data = viewer;
	g_queue_push_tail_link(&session->viewers, &viewer->link);
	session->viewed = true;
	gb_events_viewers_changed(session->daemon);
	if (session->idle_timeout) {
		g_source_remove(session->idle_timeout);
		session->idle_timeout = 0;
	}
	if (session->state == GB_SESSION_RUNNING)
		gb_viewer_connect(viewer);
}

void gb_session_remove_viewer(struct gb_daemon_session *session, struct gb_viewer *viewer)
{
	g_queue_unlink(&session->viewers, &viewer->link);
	viewer->session = NULL;
	gb_events_viewers_changed(session->daemon);
	if (session->viewers.length == 0)
		start_idle_timer(session);
}

void gb_sessions_destroy_all(struct gb_daemon *daemon)
{
	GHashTableIter iter;
	gpointer value;

	if (!daemon->sessions)
		return;
	g_hash_table_iter_init(&iter, daemon->sessions);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct gb_daemon_session *session = value;

		gb_warning("session %s of user '%s' is still running; killing it", session->id,
		           session->user);
		kill(session->pid, SIGKILL);
		waitpid(session->pid, NULL, 0);
		g_spawn_close_pid(session->pid);
		end_viewers(session, "glassboxd stopped", 1001);
		remove_tree(session->dir);
		g_hash_table_iter_remove(&iter);
		session_free(session);
	}
	g_hash_table_destroy(daemon->sessions);
	daemon->sessions = NULL;
}
