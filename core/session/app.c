/* SPDX-License-Identifier: MIT */
/*
 * The application and the other children of the session.
 *
 * The application runs in its own process group with a clean environment
 * (see app_environment()). glassbox-session is a child subreaper, so
 * whatever the application forks and abandons comes back to us and is
 * reaped. When the application exits, the session exits with its status;
 * on SIGTERM the application's group gets SIGTERM, then SIGKILL after
 * session.stop_grace_ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "session.h"

#define APP_ENV_MAX 64

/* Variables the application inherits from glassbox-session, when set. */
static const char *const inherited_variables[] = {
	"PATH",
	"HOME",
	"USER",
	"LOGNAME",
	"SHELL",
	"LANG",
	"LANGUAGE",
	"TZ",
	"XDG_RUNTIME_DIR",
	"XDG_DATA_DIRS",
	"XDG_CONFIG_DIRS",
	"XDG_DATA_HOME",
	"XDG_CONFIG_HOME",
	"XDG_CACHE_HOME",
	"XDG_STATE_HOME",
	"DBUS_SESSION_BUS_ADDRESS",
	"ASAN_OPTIONS",
	"UBSAN_OPTIONS",
	"LSAN_OPTIONS",
};

void gb_session_watch_child(struct gb_session *session, struct gb_child *child)
{
	wl_list_insert(&session->children, &child->link);
}

int gb_session_reap_children(int signal_number, void *data)
{
	struct gb_session *session = data;
	struct gb_child *child, *next;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool known = false;

		wl_list_for_each_safe (child, next, &session->children, link) {
			if (child->pid != pid)
				continue;
			wl_list_remove(&child->link);
			wl_list_init(&child->link);
			child->exited(child, status);
			known = true;
			break;
		}
		if (!known)
			gb_debug("reaped process %d, left behind by the application", (int)pid);
	}
	return 1;
}

static bool add_variable(char **env, size_t *count, const char *name, const char *value)
{
	char *entry;

	if (*count + 1 >= APP_ENV_MAX || asprintf(&entry, "%s=%s", name, value) < 0)
		return false;
	env[(*count)++] = entry;
	env[*count] = NULL;
	return true;
}

/*
 * The application's environment: the variables of inherited_variables (and
 * LC_*) as glassbox-session got them, a default PATH when it had none, and
 * what the application needs to find the session: WAYLAND_DISPLAY, DISPLAY
 * when Xwayland runs, XDG_SESSION_TYPE=wayland and GLASSBOX_SESSION.
 * Nothing else: no secrets of the service reach the user's application.
 */
static char **app_environment(struct gb_session *session)
{
	char **env = calloc(APP_ENV_MAX, sizeof(char *));
	size_t count = 0;
	const char *display = getenv("DISPLAY");
	extern char **environ;

	if (!env)
		return NULL;
	for (size_t i = 0; i < sizeof(inherited_variables) / sizeof(inherited_variables[0]); i++) {
		const char *value = getenv(inherited_variables[i]);
		if (value && !add_variable(env, &count, inherited_variables[i], value))
			goto fail;
	}
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "LC_", 3) != 0)
			continue;
		if (count + 1 >= APP_ENV_MAX || !(env[count] = strdup(*e)))
			goto fail;
		env[++count] = NULL;
	}
	if (!getenv("PATH") && !add_variable(env, &count, "PATH", "/usr/local/bin:/usr/bin:/bin"))
		goto fail;
	if (!add_variable(env, &count, "WAYLAND_DISPLAY", session->socket_name) ||
	    !add_variable(env, &count, "XDG_SESSION_TYPE", "wayland") ||
	    !add_variable(env, &count, "GLASSBOX_SESSION", session->id))
		goto fail;
	if (session->xwayland && display && !add_variable(env, &count, "DISPLAY", display))
		goto fail;
	return env;

fail:
	for (size_t i = 0; i < count; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void free_environment(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static void app_exited(struct gb_child *child, int status)
{
	struct gb_session *session = wl_container_of(child, session, app);

	session->app_running = false;
	if (WIFSIGNALED(status))
		gb_info("application (pid %d) killed by signal %d", (int)child->pid,
		        WTERMSIG(status));
	else
		gb_info("application (pid %d) exited with status %d", (int)child->pid,
		        WEXITSTATUS(status));

	if (session->stopping)
		session->exit_code = 0;
	else if (WIFSIGNALED(status))
		session->exit_code = 128 + WTERMSIG(status);
	else
		session->exit_code = WEXITSTATUS(status);
	wl_display_terminate(session->display);
}

int gb_app_spawn(struct gb_session *session, char *const argv[])
{
	char **env;
	sigset_t none;
	pid_t pid;

	env = app_environment(session);
	if (!env)
		return -ENOMEM;

	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		/* The signal mask and ignored signals survive exec. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvpe(argv[0], argv, env);
		fprintf(stderr, "glassbox-session: cannot run '%s': %s\n", argv[0],
		        strerror(errno));
		_exit(127);
	}
	free_environment(env);
	if (pid < 0)
		return -errno;

	/* Also here, so that a signal sent right after fork() finds the group. */
	setpgid(pid, pid);
	session->app.pid = pid;
	session->app.exited = app_exited;
	session->app_running = true;
	gb_session_watch_child(session, &session->app);
	gb_info("started application '%s' (pid %d)", argv[0], (int)pid);
	return 0;
}

static int kill_timer_expired(void *data)
{
	struct gb_session *session = data;

	if (session->app_running) {
		gb_warning("application did not stop within %d ms of SIGTERM; sending SIGKILL",
		           session->config->session.stop_grace_ms);
		kill(-session->app.pid, SIGKILL);
	}
	return 0;
}

void gb_app_terminate(struct gb_session *session)
{
	session->stopping = true;
	if (!session->app_running) {
		wl_display_terminate(session->display);
		return;
	}
	gb_info("stopping: SIGTERM to the application (pid %d)", (int)session->app.pid);
	kill(-session->app.pid, SIGTERM);
	if (!session->kill_timer)
		session->kill_timer =
		        wl_event_loop_add_timer(session->loop, kill_timer_expired, session);
	if (session->kill_timer)
		wl_event_source_timer_update(session->kill_timer,
		                             session->config->session.stop_grace_ms > 0
		                                     ? session->config->session.stop_grace_ms
		                                     : 1);
}

/*
 * After the application's main process is gone, its group may live on.
 * Give the rest the same grace period, then kill and reap them.
 */
void gb_app_cleanup(struct gb_session *session)
{
	pid_t group = session->app.pid;
	int grace_ms = session->config->session.stop_grace_ms;
	int status;

	if (session->kill_timer)
		wl_event_source_remove(session->kill_timer);
	session->kill_timer = NULL;
	if (group <= 0)
		return;
	if (session->app_running)
		wl_list_remove(&session->app.link);
	if (kill(-group, SIGTERM) < 0)
		return; /* nobody left */

	for (int waited = 0; waited <= grace_ms; waited += 10) {
		while (waitpid(-group, &status, WNOHANG) > 0)
			;
		if (kill(-group, 0) < 0)
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	gb_warning("processes of the application still running after %d ms; sending SIGKILL",
	           grace_ms);
	kill(-group, SIGKILL);
	while (waitpid(-group, &status, 0) > 0)
		;
}
