/* SPDX-License-Identifier: MIT */
/*
 * The "direct" spawner: fork/exec of glassbox-session with a folder of its
 * own under runtime_dir/sessions, a signal socket in it, and a pipe on which
 * it says READY. For containers and development; the appliance uses systemd
 * units (spawner-systemd.c).
 *
 * Nothing here blocks: READY is read from an fd watch with a time-out, the
 * exit comes through g_child_watch_add(), and the stop escalates from
 * SIGTERM to SIGKILL on a timer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "daemon.h"
#include "log.h"
#include "spawner.h"

#define READY_FD 3

struct direct_session {
	struct gb_daemon_session *session;
	guint child_watch;
	int ready_fd; /* read end of the --ready-fd pipe; -1 when done */
	guint ready_source;
	guint ready_timeout;
	char ready_buffer[16];
	size_t ready_length;
	guint kill_timeout;
};

static struct direct_session *direct_of(struct gb_daemon_session *session)
{
	return session->spawner_data;
}

static void stop_watching_ready(struct direct_session *direct)
{
	if (direct->ready_source)
		g_source_remove(direct->ready_source);
	direct->ready_source = 0;
	if (direct->ready_fd >= 0)
		close(direct->ready_fd);
	direct->ready_fd = -1;
	if (direct->ready_timeout)
		g_source_remove(direct->ready_timeout);
	direct->ready_timeout = 0;
}

static void direct_release(struct gb_daemon_session *session, bool ended)
{
	struct direct_session *direct = direct_of(session);

	if (!direct)
		return;
	stop_watching_ready(direct);
	if (direct->kill_timeout)
		g_source_remove(direct->kill_timeout);
	if (direct->child_watch)
		g_source_remove(direct->child_watch);
	if (ended)
		gb_remove_tree(session->dir);
	g_free(direct);
	session->spawner_data = NULL;
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
	struct direct_session *direct = data;
	g_autofree char *how = describe_exit(status);

	direct->child_watch = 0; /* removed by GLib after this call */
	g_spawn_close_pid(pid);
	stop_watching_ready(direct);
	gb_session_ended(direct->session, how);
}

static gboolean kill_now(gpointer data)
{
	struct direct_session *direct = data;
	struct gb_daemon_session *session = direct->session;

	direct->kill_timeout = 0;
	gb_warning("session %s of user '%s' did not stop within %d ms; sending SIGKILL",
	           session->id, session->user, session->daemon->config->session.stop_grace_ms);
	kill(session->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

static void direct_stop(struct gb_daemon_session *session)
{
	struct direct_session *direct = direct_of(session);

	stop_watching_ready(direct);
	kill(session->pid, SIGTERM);
	if (!direct->kill_timeout)
		direct->kill_timeout = g_timeout_add(
		        (guint)session->daemon->config->session.stop_grace_ms, kill_now, direct);
}

static void direct_abandon(struct gb_daemon_session *session)
{
	kill(session->pid, SIGKILL);
	waitpid(session->pid, NULL, 0);
	g_spawn_close_pid(session->pid);
}

static gboolean ready_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct direct_session *direct = data;
	struct gb_daemon_session *session = direct->session;
	size_t room = sizeof(direct->ready_buffer) - 1 - direct->ready_length;
	ssize_t n;

	n = read(fd, direct->ready_buffer + direct->ready_length, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n > 0) {
		direct->ready_length += (size_t)n;
		direct->ready_buffer[direct->ready_length] = '\0';
		if (strncmp(direct->ready_buffer, "READY\n", direct->ready_length) != 0) {
			direct->ready_source = 0;
			gb_session_stop(session, "the session wrote something other than READY");
			return G_SOURCE_REMOVE;
		}
		if (strcmp(direct->ready_buffer, "READY\n") == 0) {
			direct->ready_source = 0;
			stop_watching_ready(direct);
			gb_session_mark_ready(session);
			return G_SOURCE_REMOVE;
		}
		return G_SOURCE_CONTINUE;
	}
	/* EOF (or an error) before READY: it failed; its exit tells why. */
	direct->ready_source = 0;
	stop_watching_ready(direct);
	gb_warning("session %s of user '%s' closed its ready pipe without READY", session->id,
	           session->user);
	return G_SOURCE_REMOVE;
}

static gboolean ready_timed_out(gpointer data)
{
	struct direct_session *direct = data;
	struct gb_daemon_session *session = direct->session;

	direct->ready_timeout = 0;
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

static int spawn(struct gb_daemon_session *session, struct direct_session *direct)
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
	session->uid = geteuid(); /* the child runs as we do */
	direct->ready_fd = pipe_fds[0];
	g_unix_set_fd_nonblocking(direct->ready_fd, TRUE, NULL);
	direct->ready_source = g_unix_fd_add(direct->ready_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
	                                     ready_readable, direct);
	direct->ready_timeout =
	        g_timeout_add_seconds(GB_SESSION_READY_TIMEOUT_S, ready_timed_out, direct);
	direct->child_watch = g_child_watch_add(session->pid, child_exited, direct);
	return 0;
}

static int direct_start(struct gb_daemon_session *session, const struct gb_login *login)
{
	struct gb_daemon *daemon = session->daemon;
	const struct gb_session_config *limits = &daemon->config->session;
	struct direct_session *direct;
	struct sockaddr_un address;
	int r;

	if (limits->memory_max || limits->cpu_quota_percent || limits->tasks_max)
		gb_debug("session %s: session.memory_max, cpu_quota_percent and tasks_max "
		         "apply to the systemd spawner only",
		         session->id);
	session->dir = g_build_filename(daemon->config->server.runtime_dir, "sessions",
	                                session->id, NULL);
	session->socket_path = g_build_filename(session->dir, "signal.sock", NULL);
	session->control_path =
	        g_strdup_printf("%s/glassbox-%s.control", session->dir, session->id);
	if (strlen(session->socket_path) >= sizeof(address.sun_path)) {
		gb_error("%s is longer than a unix socket path may be; choose a shorter "
		         "server.runtime_dir",
		         session->socket_path);
		return -ENAMETOOLONG;
	}
	if (mkdir(session->dir, 0700) < 0) {
		r = -errno;
		gb_error("cannot create %s: %s", session->dir, strerror(-r));
		return r;
	}
	direct = g_new0(struct direct_session, 1);
	direct->session = session;
	direct->ready_fd = -1;
	session->spawner_data = direct;
	r = spawn(session, direct);
	if (r < 0) {
		direct_release(session, true); /* removes the folder too */
		return r;
	}
	return 0;
}

const struct gb_spawner_ops gb_spawner_direct = {
	.name = "direct",
	.keeps_sessions = false,
	.start = direct_start,
	.stop = direct_stop,
	.release = direct_release,
	.abandon = direct_abandon,
};
