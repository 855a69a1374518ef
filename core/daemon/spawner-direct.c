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
 *
 * Sessions never run as root: a glassboxd running as root needs
 * session.user, an unprivileged account the child switches to before the
 * exec (setgroups, setresgid, setresuid, then a check that root cannot be
 * regained), with a fresh environment and the session folder its own.
 * Without it glassboxd refuses to start (direct_init), and a session start
 * is refused too should a reload take the key away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "daemon.h"
#include "sessions.h"
#include "log.h"
#include "remove-tree.h"
#include "spawner.h"
#include "text.h"

#define READY_FD 3

/* Tests run as root with the direct spawner and no account to switch to. */
#define ALLOW_ROOT_VARIABLE "GB_TEST_ALLOW_ROOT_SESSIONS"

#define SESSION_PATH "/usr/local/bin:/usr/bin:/bin"

/*
 * Who a session runs as, resolved from session.user before the fork: the
 * child may only make async-signal-safe calls, so no NSS lookups there.
 */
struct direct_account {
	char *name;       /* session.user; NULL: glassboxd's own account, environment kept */
	bool switch_user; /* glassboxd is root: drop to uid/gid/groups in the child */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int n_groups;
	char *home;
	char *shell;
	const char *dir; /* the session's folder, the working folder when home is not usable */
	pid_t parent;
};

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

static void child_exited(GPid pid, gint status, gpointer data)
{
	struct direct_session *direct = data;
	char how[GB_EXIT_STATUS_TEXT_MAX];

	gb_exit_status_text(status, how);
	direct->child_watch = 0; /* removed by GLib after this call */
	g_spawn_close_pid(pid);
	stop_watching_ready(direct);
	gb_spawner_events(direct->session->daemon)->ended(direct->session, how);
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
			gb_spawner_events(session->daemon)
			        ->failed(session, "the session wrote something other than READY");
			return G_SOURCE_REMOVE;
		}
		if (strcmp(direct->ready_buffer, "READY\n") == 0) {
			direct->ready_source = 0;
			stop_watching_ready(direct);
			gb_spawner_events(session->daemon)->ready(session);
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
	gb_spawner_events(session->daemon)->failed(session, "the session did not start in time");
	return G_SOURCE_REMOVE;
}

static void account_clear(struct direct_account *account)
{
	g_free(account->name);
	g_free(account->groups);
	g_free(account->home);
	g_free(account->shell);
	memset(account, 0, sizeof(*account));
}

static bool root_sessions_allowed(void)
{
	const char *value = getenv(ALLOW_ROOT_VARIABLE);

	return value && strcmp(value, "1") == 0;
}

/*
 * session.user of @config into @account; 0, or a negative errno after
 * logging why, naming the file and the key.
 */
static int account_resolve(const struct gb_config *config, struct direct_account *account)
{
	const char *file = config->path ? config->path : "the configuration";
	const char *name = config->session.user;
	struct passwd *pw;
	int n = 16;

	memset(account, 0, sizeof(*account));
	account->parent = getpid();
	if (!name || !name[0]) {
		if (geteuid() == 0 && !root_sessions_allowed()) {
			gb_error("%s: server.spawner is \"direct\" and glassboxd runs as root, so "
			         "every session would run as root; set session.user to an "
			         "unprivileged account for the sessions, or use server.spawner = "
			         "\"systemd\"",
			         file);
			return -EPERM;
		}
		return 0;
	}

	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		int r = errno ? -errno : -ENOENT;

		if (r == -ENOENT || r == -ESRCH)
			gb_error("%s: key 'session.user': there is no user '%s'", file, name);
		else
			gb_error("%s: key 'session.user': cannot look up user '%s': %s", file,
			         name, strerror(-r));
		return r;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		gb_error("%s: key 'session.user': '%s' has uid %u and gid %u; sessions must run "
		         "as an unprivileged account, not root",
		         file, name, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
		return -EPERM;
	}
	if (geteuid() != 0 && pw->pw_uid != geteuid()) {
		gb_error("%s: key 'session.user': glassboxd runs as uid %u and cannot switch to "
		         "'%s' (uid %u); run it as root, or as that user, or leave the key empty",
		         file, (unsigned)geteuid(), name, (unsigned)pw->pw_uid);
		return -EPERM;
	}
	account->name = g_strdup(name);
	account->uid = pw->pw_uid;
	account->gid = pw->pw_gid;
	account->home = g_strdup(pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/");
	account->shell = g_strdup(pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
	account->switch_user = geteuid() == 0;
	if (!account->switch_user)
		return 0;

	/* Its supplementary groups as initgroups() would set them, looked up here. */
	for (int attempt = 0; attempt < 4; attempt++) {
		int count = n;

		account->groups = g_renew(gid_t, account->groups, (gsize)count);
		if (getgrouplist(name, account->gid, account->groups, &count) >= 0) {
			account->n_groups = count;
			break;
		}
		if (count <= n) {
			gb_error("%s: key 'session.user': cannot list the groups of '%s'", file,
			         name);
			account_clear(account);
			return -EIO;
		}
		n = count;
	}
	if (account->n_groups == 0) {
		gb_error("%s: key 'session.user': '%s' is in too many groups", file, name);
		account_clear(account);
		return -E2BIG;
	}
	for (int i = 0; i < account->n_groups; i++) {
		if (account->groups[i] == 0) {
			gb_error("%s: key 'session.user': '%s' is in group 0 (root); sessions "
			         "must run as an unprivileged account",
			         file, name);
			account_clear(account);
			return -EPERM;
		}
	}
	return 0;
}

/*
 * In the child: become the account for good. Groups first (only root may
 * set them), then the gid, then the uid; afterwards neither can be taken
 * back. Async-signal-safe calls only; -1 on any failure.
 */
static int drop_privileges(const struct direct_account *account)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (setgroups((size_t)account->n_groups, account->groups) < 0)
		return -1;
	if (setresgid(account->gid, account->gid, account->gid) < 0)
		return -1;
	if (setresuid(account->uid, account->uid, account->uid) < 0)
		return -1;
	if (getresuid(&ruid, &euid, &suid) < 0 || ruid != account->uid || euid != account->uid ||
	    suid != account->uid)
		return -1;
	if (getresgid(&rgid, &egid, &sgid) < 0 || rgid != account->gid || egid != account->gid ||
	    sgid != account->gid)
		return -1;
	if (setresuid((uid_t)-1, 0, (uid_t)-1) == 0 || setresgid((gid_t)-1, 0, (gid_t)-1) == 0 ||
	    setgroups(0, NULL) == 0)
		return -1;
	return 0;
}

static void child_fail(const char *message)
{
	ssize_t ignored = write(STDERR_FILENO, message, strlen(message));

	(void)ignored;
	_exit(127);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_setup(gpointer data)
{
	const struct direct_account *account = data;

	if (account->switch_user && drop_privileges(account) < 0)
		child_fail("glassbox-session: cannot switch to session.user; not started\n");
	if (account->name && chdir(account->home) < 0 && chdir(account->dir) < 0)
		child_fail("glassbox-session: no usable working folder; not started\n");
	/* A session must not outlive the glassboxd that relays for it. Set after
	 * the switch: a change of credentials clears it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != account->parent)
		_exit(1);
}

static char **session_environment(const char *dir, const struct direct_account *account)
{
	static const char *const passed_on[] = {
		"GLASSBOX_PLUGIN_PATH", /* the plugin folders glassboxd was given */
		"JOURNAL_STREAM",       /* describes the stderr the session inherits */
	};
	char **env;

	if (account->name) {
		/* Another account (or one named on purpose): nothing of glassboxd's. */
		env = g_new0(char *, 1);
		env = g_environ_setenv(env, "HOME", account->home, TRUE);
		env = g_environ_setenv(env, "USER", account->name, TRUE);
		env = g_environ_setenv(env, "LOGNAME", account->name, TRUE);
		env = g_environ_setenv(env, "SHELL", account->shell, TRUE);
		env = g_environ_setenv(env, "PATH", SESSION_PATH, TRUE);
		env = g_environ_setenv(env, "LANG", "C.UTF-8", TRUE);
		env = g_environ_setenv(env, "XDG_RUNTIME_DIR", dir, TRUE);
		for (size_t i = 0; i < G_N_ELEMENTS(passed_on); i++) {
			const char *value = g_getenv(passed_on[i]);

			if (value)
				env = g_environ_setenv(env, passed_on[i], value, TRUE);
		}
		return env;
	}

	env = g_get_environ();
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

static int spawn(struct gb_daemon_session *session, struct direct_session *direct,
                 struct direct_account *account)
{
	struct gb_daemon *daemon = session->daemon;
	const char *binary = daemon->config->server.session_binary;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) env = session_environment(session->dir, account);
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
	            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, child_setup, account,
	            -1, -1, -1, source_fds, target_fds, 1, &session->pid, NULL, NULL, NULL,
	            &error)) {
		gb_error("cannot start %s (server.session_binary) for user '%s': %s", binary,
		         session->user, error->message);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return -ENOEXEC;
	}
	close(pipe_fds[1]);
	/* The uid its sockets and its process have: session.user, or ours. Set
	 * again after direct_account(): a reload while its mounts were prepared
	 * may have changed session.user, and the checks must match the process. */
	session->uid = account->switch_user ? account->uid : geteuid();
	session->gid = account->switch_user ? account->gid : getegid();
	g_free(session->home);
	session->home = g_strdup(account->name ? account->home : g_get_home_dir());
	direct->ready_fd = pipe_fds[0];
	g_unix_set_fd_nonblocking(direct->ready_fd, TRUE, NULL);
	direct->ready_source = g_unix_fd_add(direct->ready_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
	                                     ready_readable, direct);
	direct->ready_timeout =
	        g_timeout_add_seconds(GB_SESSION_READY_TIMEOUT_S, ready_timed_out, direct);
	direct->child_watch = g_child_watch_add(session->pid, child_exited, direct);
	return 0;
}

/* Who the session will run as: session.user's account, or glassboxd's own. */
static int direct_account(struct gb_daemon_session *session, const struct gb_login *login)
{
	struct direct_account account;
	int r = account_resolve(session->daemon->config, &account);

	if (r < 0) {
		gb_error("session for user '%s' not started", login->user);
		return r;
	}
	session->uid = account.switch_user ? account.uid : geteuid();
	session->gid = account.switch_user ? account.gid : getegid();
	g_free(session->home);
	session->home = g_strdup(account.name ? account.home : g_get_home_dir());
	account_clear(&account);
	return 0;
}

static int direct_start(struct gb_daemon_session *session, const struct gb_login *login)
{
	struct gb_daemon *daemon = session->daemon;
	const struct gb_session_config *limits = &daemon->config->session;
	struct direct_session *direct;
	g_autofree char *sessions_dir = NULL;
	struct direct_account account;
	struct sockaddr_un address;
	int r;

	/* Again at every start: a reload may have changed session.user. */
	r = account_resolve(daemon->config, &account);
	if (r < 0) {
		gb_error("session for user '%s' not started", login->user);
		return r;
	}
	if (limits->memory_max || limits->cpu_quota_percent || limits->tasks_max)
		gb_debug("session %s: session.memory_max, cpu_quota_percent and tasks_max "
		         "apply to the systemd spawner only",
		         session->id);
	sessions_dir = g_build_filename(daemon->config->server.runtime_dir, "sessions", NULL);
	session->dir = g_build_filename(sessions_dir, session->id, NULL);
	session->socket_path = g_build_filename(session->dir, "signal.sock", NULL);
	session->control_path =
	        g_strdup_printf("%s/glassbox-%s.control", session->dir, session->id);
	if (strlen(session->socket_path) >= sizeof(address.sun_path)) {
		gb_error("%s is longer than a unix socket path may be; choose a shorter "
		         "server.runtime_dir",
		         session->socket_path);
		account_clear(&account);
		return -ENAMETOOLONG;
	}
	if (mkdir(session->dir, 0700) < 0) {
		r = -errno;
		gb_error("cannot create %s: %s", session->dir, strerror(-r));
		account_clear(&account);
		return r;
	}
	direct = g_new0(struct direct_session, 1);
	direct->session = session;
	direct->ready_fd = -1;
	session->spawner_data = direct;
	account.dir = session->dir;
	/* Its folder is the account's: the session makes its sockets there. It
	 * is new and inside our 0711 sessions/, so nobody could swap it. (0711
	 * again here: session.user may have come with a reload.) */
	if (account.switch_user &&
	    (chmod(sessions_dir, 0711) < 0 || chown(session->dir, account.uid, account.gid) < 0)) {
		r = -errno;
		gb_error("cannot give %s to session.user '%s': %s", session->dir, account.name,
		         strerror(-r));
	} else {
		r = spawn(session, direct, &account);
	}
	if (r == 0 && account.name)
		gb_info("session %s of user '%s' runs as '%s' (uid %u, session.user)", session->id,
		        session->user, account.name, (unsigned)account.uid);
	account_clear(&account);
	if (r < 0) {
		direct_release(session, true); /* removes the folder too */
		return r;
	}
	return 0;
}

/*
 * Run as the account, in a child, what every session will need: reach its
 * folder, read the configuration, run the session program. 0, or the
 * number of the check that failed.
 */
static int probe_account(const struct direct_account *account, const char *sessions_dir,
                         const char *config_path, const char *binary)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (drop_privileges(account) < 0)
			_exit(1);
		if (access(sessions_dir, X_OK) < 0)
			_exit(2);
		if (access(config_path, R_OK) < 0)
			_exit(3);
		if (access(binary, X_OK) < 0)
			_exit(4);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int direct_init(struct gb_daemon *daemon)
{
	const struct gb_config *config = daemon->config;
	const char *file = config->path ? config->path : "the configuration";
	g_autofree char *sessions = NULL;
	struct direct_account account;
	int r;

	r = account_resolve(config, &account);
	if (r < 0)
		return r;
	if (!account.name) {
		if (geteuid() == 0)
			gb_warning("sessions run as root: %s=1 is set (tests only)",
			           ALLOW_ROOT_VARIABLE);
		return 0;
	}
	if (!account.switch_user) {
		gb_info("sessions run as '%s' (session.user), glassboxd's own account",
		        account.name);
		account_clear(&account);
		return 0;
	}

	/* The account must reach its folder in sessions/: search, not list. */
	sessions = g_build_filename(config->server.runtime_dir, "sessions", NULL);
	if (chmod(sessions, 0711) < 0) {
		r = -errno;
		gb_error("cannot make %s searchable for session.user: %s", sessions, strerror(-r));
		account_clear(&account);
		return r;
	}
	r = probe_account(&account, sessions, daemon->config_path, config->server.session_binary);
	switch (r) {
	case 0:
		gb_info("sessions run as '%s' (uid %u, session.user)", account.name,
		        (unsigned)account.uid);
		break;
	case 2:
		gb_error("%s: key 'session.user': '%s' cannot reach %s (server.runtime_dir): "
		         "every folder above it must be searchable (o+x)",
		         file, account.name, sessions);
		break;
	case 3:
		gb_error("%s: key 'session.user': '%s' cannot read %s, which every session reads",
		         file, account.name, daemon->config_path);
		break;
	case 4:
		gb_error("%s: key 'session.user': '%s' cannot run %s (server.session_binary)",
		         file, account.name, config->server.session_binary);
		break;
	default:
		gb_error("%s: key 'session.user': cannot switch to '%s'%s%s", file, account.name,
		         r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
		break;
	}
	account_clear(&account);
	return r == 0 ? 0 : -EPERM;
}

const struct gb_spawner_ops gb_spawner_direct = {
	.name = "direct",
	.keeps_sessions = false,
	.init = direct_init,
	.account = direct_account,
	.start = direct_start,
	.stop = direct_stop,
	.release = direct_release,
	.abandon = direct_abandon,
};
