/* SPDX-License-Identifier: MIT */
/* A storage sidecar's process (storage-sidecar.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "error.h"
#include "mountinfo.h"
#include "storage-sidecar.h"

#define FIRST_SECRET_FD 3
#define LINE_MAX_BYTES  2048
#define FOLDERS_MAX     16

/* What the child needs, computed before the fork: no allocation after it. */
struct child_plan {
	uid_t uid;
	gid_t gid;
	bool switch_user;
	const char *home;
	char *folders[FOLDERS_MAX + 1]; /* to create, outermost first */
	pid_t parent;
};

static void child_fail(const char *message)
{
	ssize_t ignored = write(STDERR_FILENO, message, strlen(message));

	(void)ignored;
	_exit(126);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_setup(gpointer data)
{
	const struct child_plan *plan = data;
	uid_t ruid, euid, suid;

	if (plan->switch_user) {
		if (setgroups(1, &plan->gid) < 0 ||
		    setresgid(plan->gid, plan->gid, plan->gid) < 0 ||
		    setresuid(plan->uid, plan->uid, plan->uid) < 0)
			child_fail("cannot switch to the session's user\n");
		if (getresuid(&ruid, &euid, &suid) < 0 || ruid != plan->uid || euid != plan->uid ||
		    suid != plan->uid || setresuid((uid_t)-1, 0, (uid_t)-1) == 0)
			child_fail("could still regain root; not started\n");
	}
	if (chdir(plan->home) < 0)
		child_fail("cannot enter the session's home\n");
	for (size_t i = 0; plan->folders[i]; i++)
		if (mkdir(plan->folders[i], 0700) < 0 && errno != EEXIST)
			child_fail("cannot create the mount's folder\n");
	/* Set after the switch: a change of credentials clears it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != plan->parent)
		_exit(1);
}

/* "<home>/Cloud/work" -> "<home>/Cloud", "<home>/Cloud/work". */
static int plan_folders(struct child_plan *plan, const char *home, const char *target)
{
	size_t home_length = strlen(home), n = 0;

	if (strncmp(target, home, home_length) != 0 || target[home_length] != '/')
		return -EINVAL;
	for (const char *p = target + home_length + 1; n < FOLDERS_MAX; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		plan->folders[n++] = g_strndup(target, (gsize)(p - target));
		if (*p == '\0')
			return 0;
	}
	return -E2BIG;
}

static void plan_clear(struct child_plan *plan)
{
	for (size_t i = 0; i < FOLDERS_MAX && plan->folders[i]; i++)
		g_free(plan->folders[i]);
}

static void deliver_line(struct gb_sidecar_process *process, const char *line)
{
	if (line[0])
		process->line(process->data, line);
}

static gboolean output_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct gb_sidecar_process *process = data;
	char buffer[4096];
	ssize_t n = read(fd, buffer, sizeof(buffer));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		if (process->partial->len)
			deliver_line(process, process->partial->str);
		g_string_truncate(process->partial, 0);
		process->output_source = 0;
		close(process->output_fd);
		process->output_fd = -1;
		process->line(process->data, NULL);
		return G_SOURCE_REMOVE;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buffer[i] == '\n') {
			deliver_line(process, process->partial->str);
			g_string_truncate(process->partial, 0);
		} else if (process->partial->len < LINE_MAX_BYTES) {
			g_string_append_c(process->partial, buffer[i]);
		}
	}
	return G_SOURCE_CONTINUE;
}

/*
 * A sealed memory file holding @secret; -1 with errno. The sidecar opens it
 * again as /dev/fd/N and may seek in it (rclone does), which a pipe would
 * not allow; it never touches a disk, and only its account (and root) can
 * reach it through /proc.
 */
static int secret_file(const char *secret, uid_t uid, gid_t gid)
{
	size_t length = strlen(secret);
	int fd, saved;

	if (length > GB_STORAGE_SECRET_MAX) {
		errno = E2BIG;
		return -1;
	}
	fd = memfd_create("glassbox-storage-secret", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (write(fd, secret, length) != (ssize_t)length) {
		errno = errno ? errno : EIO;
		goto fail;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0 || fchmod(fd, 0400) < 0 ||
	    (geteuid() == 0 && fchown(fd, uid, gid) < 0))
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static char **sidecar_environment(const struct gb_sidecar_account *account)
{
	char **env = g_new0(char *, 1);

	env = g_environ_setenv(env, "HOME", account->home, TRUE);
	env = g_environ_setenv(env, "USER", account->user, TRUE);
	env = g_environ_setenv(env, "PATH", "/usr/local/bin:/usr/bin:/bin", TRUE);
	env = g_environ_setenv(env, "LANG", "C.UTF-8", TRUE);
	return env;
}

int gb_sidecar_spawn(struct gb_sidecar_process *process, const struct gb_storage_mount *mount,
                     const struct gb_sidecar_account *account, gb_sidecar_line_func line,
                     void *data, char *error, size_t error_size)
{
	struct child_plan plan = { 0 };
	gint source_fds[GB_STORAGE_SECRETS_MAX + 1], target_fds[GB_STORAGE_SECRETS_MAX + 1];
	g_auto(GStrv) env = sidecar_environment(account);
	g_autoptr(GError) gerror = NULL;
	int output[2] = { -1, -1 };
	size_t n_fds = 0;
	int r = 0;

	memset(process, 0, sizeof(*process));
	process->output_fd = -1;
	plan.uid = account->uid;
	plan.gid = account->gid;
	plan.home = account->home;
	plan.parent = getpid();
	plan.switch_user = geteuid() == 0 && account->uid != 0;
	if (plan_folders(&plan, account->home, mount->target) < 0) {
		gb_error_set(error, error_size, "its target %s is not a folder of the home %s",
		             mount->target, account->home);
		plan_clear(&plan);
		return -EINVAL;
	}
	for (size_t i = 0; i < mount->n_secrets && i < GB_STORAGE_SECRETS_MAX; i++) {
		int fd = secret_file(mount->secrets[i] ? mount->secrets[i] : "", account->uid,
		                     account->gid);

		if (fd < 0) {
			r = -errno;
			gb_error_set(error, error_size, "cannot hand it its secrets: %s",
			             strerror(-r));
			goto out;
		}
		source_fds[n_fds] = fd;
		target_fds[n_fds] = FIRST_SECRET_FD + (int)i;
		n_fds++;
	}
	if (pipe2(output, O_CLOEXEC) < 0) {
		r = -errno;
		gb_error_set(error, error_size, "pipe: %s", strerror(-r));
		goto out;
	}
	if (!g_spawn_async_with_pipes_and_fds(
	            NULL, (const char *const *)mount->argv, (const char *const *)env,
	            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, child_setup, &plan,
	            -1, output[1], output[1], source_fds, target_fds, n_fds, &process->pid, NULL,
	            NULL, NULL, &gerror)) {
		gb_error_set(error, error_size, "cannot start %s: %s", mount->argv[0],
		             gerror->message);
		r = -ENOEXEC;
		goto out;
	}
	process->output_fd = output[0];
	output[0] = -1;
	process->partial = g_string_new(NULL);
	process->line = line;
	process->data = data;
	g_unix_set_fd_nonblocking(process->output_fd, TRUE, NULL);
	process->output_source = g_unix_fd_add(process->output_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
	                                       output_readable, process);
out:
	for (size_t i = 0; i < n_fds; i++)
		close(source_fds[i]);
	if (output[0] >= 0)
		close(output[0]);
	if (output[1] >= 0)
		close(output[1]);
	plan_clear(&plan);
	return r;
}

void gb_sidecar_close(struct gb_sidecar_process *process)
{
	if (process->output_source)
		g_source_remove(process->output_source);
	process->output_source = 0;
	if (process->output_fd >= 0)
		close(process->output_fd);
	process->output_fd = -1;
	if (process->partial)
		g_string_free(process->partial, TRUE);
	process->partial = NULL;
	if (process->pid)
		g_spawn_close_pid(process->pid);
	process->pid = 0;
}

bool gb_sidecar_mounted(const char *target)
{
	return gb_mountinfo_fuse_at(target, false);
}

void gb_sidecar_unmount_stale(const char *target, const struct gb_sidecar_account *account)
{
	struct child_plan plan = { 0 };
	const char *argv[] = { "fusermount3", "-u", "-z", target, NULL };
	g_auto(GStrv) env = sidecar_environment(account);
	int status = 0;

	if (!gb_sidecar_mounted(target))
		return;
	plan.uid = account->uid;
	plan.gid = account->gid;
	plan.home = account->home;
	plan.parent = getpid();
	plan.switch_user = geteuid() == 0 && account->uid != 0;
	g_spawn_sync(NULL, (char **)argv, env,
	             G_SPAWN_SEARCH_PATH_FROM_ENVP | G_SPAWN_STDOUT_TO_DEV_NULL |
	                     G_SPAWN_STDERR_TO_DEV_NULL,
	             child_setup, &plan, NULL, NULL, &status, NULL);
}
