/* SPDX-License-Identifier: MIT */
/*
 * glassbox-storage-sidecar: the privileged first step of a storage
 * sidecar unit (glassbox-storage@<instance>:<mount>.service) under the
 * systemd spawner. systemd runs it as root (ExecStart=+) in a mount
 * namespace of the unit's own; it
 *
 *   1. enters PID 1's mount namespace, so that the FUSE mount it leads to is
 *      the host's and propagates into the session unit's BindPaths= of
 *      /var/lib/glassbox-storage/<instance>/Cloud (a mount made in the
 *      unit's namespace never reaches the host: docs/storage-systemd-notes.md);
 *   2. makes /var/lib/glassbox-storage (0711 root) and the user's folder in it
 *      (0700, the unit's user), opening each with O_NOFOLLOW and never
 *      following anything inside the user's folder;
 *   3. copies the mount's secrets from $CREDENTIALS_DIRECTORY (LoadCredential=
 *      of glassboxd's 0600 files) into sealed memory files on fds 3, 4, ...;
 *   4. drops to the user (no supplementary groups, no way back), sets umask
 *      077, makes the mount's folders as that user, and executes the plugin's
 *      command (rclone mount) in place of itself, so systemd's Type=notify
 *      hears rclone's READY=1.
 *
 * With --unmount it does 1 and 4, then runs `fusermount3 -u -z` on a mount a
 * killed sidecar left behind (the unit's ExecStopPost=+): as the user, so
 * fusermount3 only unmounts what that user mounted.
 *
 * It holds no capability after step 4: the mount itself is made by the
 * set-uid fusermount3 that rclone runs, which is why the unit cannot set
 * NoNewPrivileges=.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glassbox/storage.h>

#include "gb-build-config.h"
#include "mountinfo.h"
#include "spawner-names.h"

#define FIRST_SECRET_FD   3
#define FOLDERS_MAX       16
#define CHOWN_DEPTH_MAX   64
#define CHOWN_ENTRIES_MAX 1000000
/* Sessions run as uid 1000 and above (spawner-systemd.c); never root's or nobody's. */
#define USER_UID_MIN 1000
#define NOBODY_UID   65534

struct options {
	const char *user;
	const char *target;
	const char *unmount;
	const char *mount_namespace;
	unsigned secrets;
	char **argv; /* the sidecar's command, after "--" */
};

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: glassbox-storage-sidecar --user=INSTANCE --target=FOLDER [--secrets=N]\n"
	        "                                -- COMMAND [ARG...]\n"
	        "       glassbox-storage-sidecar --user=INSTANCE --unmount=FOLDER\n"
	        "\n"
	        "The first step of a Glassbox storage sidecar unit under the systemd spawner,\n"
	        "run by systemd as root (ExecStart=+). It enters PID 1's mount namespace,\n"
	        "makes %s/INSTANCE (0700, INSTANCE's), puts the\n"
	        "credentials secret0 .. secretN-1 of $CREDENTIALS_DIRECTORY on fds 3.. as\n"
	        "sealed memory files, becomes INSTANCE for good (no capabilities, umask 077),\n"
	        "creates FOLDER and executes COMMAND, which mounts there. With --unmount it\n"
	        "unmounts FOLDER (fusermount3 -u -z) as INSTANCE. glassboxd starts these\n"
	        "units; this program is not meant to be run by hand.\n"
	        "\n"
	        "  --user=INSTANCE   the session's user (the unit's User=)\n"
	        "  --target=FOLDER   the mount point, below %s/INSTANCE\n"
	        "  --secrets=N       how many credentials to hand over (0..%d)\n"
	        "  --unmount=FOLDER  unmount FOLDER, below %s/INSTANCE\n"
	        "  --mount-namespace=FILE\n"
	        "                    the mount namespace to enter (default /proc/1/ns/mnt;\n"
	        "                    tests name their own, where PID 1's is out of reach)\n"
	        "  --help            this text\n",
	        GB_STORAGE_ROOT_DIR, GB_STORAGE_ROOT_DIR, GB_STORAGE_SECRETS_MAX,
	        GB_STORAGE_ROOT_DIR);
}

static int fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *format, ...)
{
	va_list args;

	fputs("glassbox-storage-sidecar: ", stderr);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	return 1;
}

static int parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "target", required_argument, NULL, 't' },
		{ "secrets", required_argument, NULL, 's' },
		{ "unmount", required_argument, NULL, 'm' },
		{ "mount-namespace", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	long value;
	int c;

	while ((c = getopt_long(argc, argv, "+", long_options, NULL)) != -1) {
		switch (c) {
		case 'u':
			options->user = optarg;
			break;
		case 't':
			options->target = optarg;
			break;
		case 's':
			errno = 0;
			value = strtol(optarg, &end, 10);
			if (errno || *end || value < 0 || value > GB_STORAGE_SECRETS_MAX)
				return fail("--secrets=%s: a number from 0 to %d", optarg,
				            GB_STORAGE_SECRETS_MAX);
			options->secrets = (unsigned)value;
			break;
		case 'm':
			options->unmount = optarg;
			break;
		case 'n':
			options->mount_namespace = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!options->user)
		return fail("--user is required (--help)");
	if (!gb_spawner_instance_is_valid(options->user))
		return fail("--user=%s is not a session unit's instance", options->user);
	options->argv = argv + optind;
	if (!options->unmount && (!options->argv[0] || !options->target))
		return fail("--target and a command after -- are required (--help)");
	if (!options->unmount && options->argv[0][0] != '/')
		return fail("the command %s is not an absolute path", options->argv[0]);
	return 0;
}

/* The folder of @user: GB_STORAGE_ROOT_DIR/<user>. */
static void user_folder(const char *user, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", GB_STORAGE_ROOT_DIR, user);
}

/* Enter PID 1's mount namespace (where the session unit's bind comes from). */
static int enter_host_mounts(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return fail("cannot open %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNS) < 0)
		r = fail("cannot enter the mount namespace %s: %s", path, strerror(errno));
	close(fd);
	return r;
}

/*
 * Give every entry below @fd owned by @old_uid to @uid:@gid: the dynamic uid
 * systemd allocates for an instance can change between sessions, as the
 * folders systemd manages (StateDirectory=) are chowned for it. Never follows
 * a link (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW); bounded in depth and entries.
 */
struct tree_count {
	unsigned long seen;
	unsigned long given;
};

static int chown_tree(int fd, uid_t old_uid, uid_t uid, gid_t gid, unsigned depth,
                      struct tree_count *count)
{
	struct dirent *entry;
	DIR *dir;
	int r = 0;

	if (depth > CHOWN_DEPTH_MAX)
		return -ELOOP;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while (r == 0 && (entry = readdir(dir))) {
		struct stat st;
		int child;

		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (++count->seen > CHOWN_ENTRIES_MAX) {
			r = -E2BIG;
			break;
		}
		if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (st.st_uid == old_uid) {
			if (fchownat(dirfd(dir), entry->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) <
			    0) {
				r = -errno;
				break;
			}
			count->given++;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		child = openat(dirfd(dir), entry->d_name,
		               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (child < 0)
			continue;
		r = chown_tree(child, old_uid, uid, gid, depth + 1, count);
	}
	closedir(dir);
	return r;
}

/*
 * GB_STORAGE_ROOT_DIR (0711 root: the user can reach their folder by name,
 * no one can list whose folders there are) and the user's folder in it
 * (0700, theirs). An fd of the user's folder, or -1 after saying why.
 */
static int open_user_folder(const char *user, uid_t uid, gid_t gid)
{
	char folder[PATH_MAX];
	struct stat st;
	int root, fd;

	if (mkdir(GB_STORAGE_ROOT_DIR, 0711) < 0 && errno != EEXIST) {
		fail("cannot create %s: %s", GB_STORAGE_ROOT_DIR, strerror(errno));
		return -1;
	}
	root = open(GB_STORAGE_ROOT_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0 || fstat(root, &st) < 0 || st.st_uid != 0 || fchmod(root, 0711) < 0) {
		fail("%s is not a folder of root's (it must be; nothing is mounted)",
		     GB_STORAGE_ROOT_DIR);
		if (root >= 0)
			close(root);
		return -1;
	}
	user_folder(user, folder, sizeof(folder));
	if (mkdirat(root, user, 0700) < 0 && errno != EEXIST) {
		fail("cannot create %s: %s", folder, strerror(errno));
		close(root);
		return -1;
	}
	fd = openat(root, user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(root);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fail("cannot open %s (a folder, not a link): %s", folder, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_uid != uid || st.st_gid != gid) {
		struct tree_count count = { 0 };
		uid_t old_uid = st.st_uid;
		int r;

		if (fchown(fd, uid, gid) < 0) {
			fail("cannot give %s to uid %u: %s", folder, (unsigned)uid,
			     strerror(errno));
			close(fd);
			return -1;
		}
		/* A fresh folder was root's: nothing in it to hand over. */
		r = old_uid == 0 ? 0
		                 : chown_tree(openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		                              old_uid, uid, gid, 0, &count);
		if (r < 0) {
			fail("cannot give the files of %s from uid %u to uid %u: %s", folder,
			     (unsigned)old_uid, (unsigned)uid, strerror(-r));
			close(fd);
			return -1;
		}
		if (old_uid != 0)
			fprintf(stderr,
			        "glassbox-storage-sidecar: %s was uid %u's; it and the %lu "
			        "entries "
			        "of that uid in it are uid %u's now (a dynamic user's uid "
			        "changed)\n",
			        folder, (unsigned)old_uid, count.given, (unsigned)uid);
	}
	if (fchmod(fd, 0700) < 0) {
		fail("cannot set the mode of %s: %s", folder, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Read @name of the credentials folder @dir into a sealed memory file; -1 after saying why. */
static int secret_file(int dir, const char *name, uid_t uid, gid_t gid)
{
	static char buffer[GB_STORAGE_SECRET_MAX + 1];
	ssize_t length = 0, n;
	int in, out;

	in = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0) {
		fail("cannot open the credential %s: %s", name, strerror(errno));
		return -1;
	}
	while ((size_t)length < sizeof(buffer) &&
	       (n = read(in, buffer + length, sizeof(buffer) - (size_t)length)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail("cannot read the credential %s: %s", name, strerror(errno));
			close(in);
			return -1;
		}
		length += n;
	}
	close(in);
	if (length > GB_STORAGE_SECRET_MAX) {
		fail("the credential %s is larger than %d bytes", name, GB_STORAGE_SECRET_MAX);
		return -1;
	}
	out = memfd_create("glassbox-storage-secret", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (out < 0 || write(out, buffer, (size_t)length) != length ||
	    fcntl(out, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) <
	            0 ||
	    lseek(out, 0, SEEK_SET) < 0 || fchmod(out, 0400) < 0 || fchown(out, uid, gid) < 0) {
		fail("cannot hand over the credential %s: %s", name, strerror(errno));
		explicit_bzero(buffer, sizeof(buffer));
		if (out >= 0)
			close(out);
		return -1;
	}
	explicit_bzero(buffer, sizeof(buffer));
	return out;
}

/* The secrets on fds 3 .. 3 + count - 1 (not close-on-exec); 0 or 1. */
static int hand_over_secrets(unsigned count, uid_t uid, gid_t gid)
{
	const char *folder = getenv("CREDENTIALS_DIRECTORY");
	int fds[GB_STORAGE_SECRETS_MAX];
	int dir;

	if (count == 0)
		return 0;
	if (!folder || folder[0] != '/')
		return fail("no $CREDENTIALS_DIRECTORY: the unit loads its secrets with "
		            "LoadCredential=");
	dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return fail("cannot open %s: %s", folder, strerror(errno));
	for (unsigned i = 0; i < count; i++) {
		char name[32];

		snprintf(name, sizeof(name), "secret%u", i);
		fds[i] = secret_file(dir, name, uid, gid);
		if (fds[i] < 0) {
			close(dir);
			return 1;
		}
	}
	close(dir);
	/* Above every target first, so that no dup2() overwrites a source. */
	for (unsigned i = 0; i < count; i++) {
		int high =
		        fcntl(fds[i], F_DUPFD_CLOEXEC, FIRST_SECRET_FD + GB_STORAGE_SECRETS_MAX);

		if (high < 0)
			return fail("cannot move a secret's fd: %s", strerror(errno));
		close(fds[i]);
		fds[i] = high;
	}
	for (unsigned i = 0; i < count; i++) {
		if (dup2(fds[i], FIRST_SECRET_FD + (int)i) < 0)
			return fail("cannot put a secret on fd %u: %s", FIRST_SECRET_FD + i,
			            strerror(errno));
		close(fds[i]);
	}
	return 0;
}

/* Become @uid:@gid for good. */
static int drop_to(uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return fail("cannot become uid %u: %s", (unsigned)uid, strerror(errno));
	if (getresuid(&ruid, &euid, &suid) < 0 || ruid != uid || euid != uid || suid != uid ||
	    setresuid((uid_t)-1, 0, (uid_t)-1) == 0)
		return fail("could still become root again; stopping");
	return 0;
}

/* Is @path below @folder ("<folder>/...")? */
static bool below(const char *path, const char *folder)
{
	size_t length = strlen(folder);

	return strncmp(path, folder, length) == 0 && path[length] == '/' && path[length + 1];
}

/*
 * As the user, in their folder (the working directory): every folder from
 * it down to @target. Relative paths: what the user made there is theirs
 * to follow.
 */
static int make_target_folders(const char *folder, const char *target)
{
	size_t length = strlen(folder);
	char part[PATH_MAX];

	if (strlen(target) >= sizeof(part))
		return fail("the mount point %s is too long", target);
	for (const char *p = target + length + 1, *start = p;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p == start || (p - start == 1 && start[0] == '.') ||
		    (p - start == 2 && start[0] == '.' && start[1] == '.'))
			return fail("the mount point %s is not a plain folder name", target);
		memcpy(part, target + length + 1, (size_t)(p - target) - length - 1);
		part[(size_t)(p - target) - length - 1] = '\0';
		if (mkdir(part, 0700) < 0 && errno != EEXIST)
			return fail("cannot create %s/%s: %s", folder, part, strerror(errno));
		if (*p == '\0')
			return 0;
		start = p + 1;
	}
}

static int lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *entry;

	errno = 0;
	entry = getpwnam(user);
	if (!entry)
		return fail("no user %s (%s); the unit holds DynamicUser=yes, User=%s, and "
		            "needs libnss-systemd in /etc/nsswitch.conf to resolve it",
		            user, errno ? strerror(errno) : "not found", user);
	if (entry->pw_uid < USER_UID_MIN || entry->pw_uid == NOBODY_UID)
		return fail("%s is uid %u: a system account, never a session's", user,
		            (unsigned)entry->pw_uid);
	*uid = entry->pw_uid;
	*gid = entry->pw_gid;
	return 0;
}

static char *environment_entry(const char *name, const char *value)
{
	size_t size = strlen(name) + strlen(value) + 2;
	char *entry = malloc(size);

	if (entry)
		snprintf(entry, size, "%s=%s", name, value);
	return entry;
}

int main(int argc, char **argv)
{
	struct options options = { 0 };
	const char *notify = getenv("NOTIFY_SOCKET");
	char folder[PATH_MAX];
	char *env[6] = { 0 };
	size_t n = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	int fd, r;

	r = parse_options(argc, argv, &options);
	if (r)
		return r;
	if (geteuid() != 0)
		return fail("must run as root (the unit's ExecStart=+)");
	if (lookup(options.user, &uid, &gid) ||
	    enter_host_mounts(options.mount_namespace ? options.mount_namespace
	                                              : "/proc/1/ns/mnt"))
		return 1;
	user_folder(options.user, folder, sizeof(folder));

	if (options.unmount) {
		const char *unmount[] = { "fusermount3", "-u", "-z", options.unmount, NULL };

		if (!below(options.unmount, folder))
			return fail("--unmount=%s is not below %s", options.unmount, folder);
		/* A clean stop unmounted it already: nothing left to do, no failure. */
		if (!gb_mountinfo_fuse_at(options.unmount, true))
			return 0;
		if (drop_to(uid, gid))
			return 1;
		execvp(unmount[0], (char **)unmount);
		return fail("cannot run fusermount3: %s", strerror(errno));
	}

	if (!below(options.target, folder))
		return fail("--target=%s is not below %s", options.target, folder);
	fd = open_user_folder(options.user, uid, gid);
	if (fd < 0)
		return 1;
	if (fchdir(fd) < 0)
		return fail("cannot enter %s: %s", folder, strerror(errno));
	close(fd); /* before the secrets take fds 3 and up */
	if (hand_over_secrets(options.secrets, uid, gid))
		return 1;
	if (drop_to(uid, gid))
		return 1;
	umask(0077);
	if (make_target_folders(folder, options.target))
		return 1;
	env[n++] = environment_entry("HOME", folder);
	env[n++] = environment_entry("USER", options.user);
	env[n++] = environment_entry("PATH", "/usr/local/bin:/usr/bin:/bin");
	env[n++] = environment_entry("LANG", "C.UTF-8");
	if (notify)
		env[n++] = environment_entry("NOTIFY_SOCKET", notify);
	for (size_t i = 0; i < n; i++)
		if (!env[i])
			return fail("out of memory");
	execve(options.argv[0], options.argv, env);
	return fail("cannot run %s: %s", options.argv[0], strerror(errno));
}
