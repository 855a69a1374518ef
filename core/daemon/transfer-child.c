/* SPDX-License-Identifier: MIT */
/*
 * The child of a browser transfer (transfer-child.h): fork, take the
 * session's uid and gid, do one operation under the session's home, say how
 * it went, exit. After fork() only system calls: glassboxd has threads
 * (the auth worker, GLib's), whose locks the child must never wait for.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "transfer-child.h"

#define PIPE_SIZE     (1024 * 1024) /* fewer wake-ups on a fast upload */
#define COPY_BUFFER   (64 * 1024)
#define MAX_NUMBERED  1000   /* "name (999).ext" at most */
#define MAX_SCANNED   100000 /* folder entries a list looks at */
#define RESOLVE_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* The child's own copy of memory: no allocation after fork(). */
static char copy_buffer[COPY_BUFFER];

static int fail(struct gb_transfer_result *result, enum gb_transfer_stage stage, int error)
{
	result->error = error < 0 ? -error : error;
	result->stage = (int32_t)stage;
	return -result->error;
}

/* One component @name under @dir_fd, never through a link (see the header). */
static int open_beneath(int dir_fd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_FLAGS,
	};
	int fd = (int)syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = openat(dir_fd, name, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	return fd < 0 ? -errno : fd;
}

/* The folder @path (components) under @home_fd, made when @create; a negative errno. */
static int open_folder(int home_fd, const char *path, bool create)
{
	char component[GB_FILE_NAME_MAX + 1];
	int dir_fd = home_fd;

	while (*path) {
		size_t length = strcspn(path, "/");
		int fd;

		if (length == 0 || length > GB_FILE_NAME_MAX) {
			fd = -EINVAL;
		} else {
			memcpy(component, path, length);
			component[length] = '\0';
			if (create && mkdirat(dir_fd, component, 0700) < 0 && errno != EEXIST)
				fd = -errno;
			else
				fd = open_beneath(dir_fd, component, O_RDONLY | O_DIRECTORY, 0);
		}
		if (dir_fd != home_fd)
			close(dir_fd);
		if (fd < 0)
			return fd;
		dir_fd = fd;
		path += length;
		while (*path == '/')
			path++;
	}
	return dir_fd == home_fd ? fcntl(home_fd, F_DUPFD_CLOEXEC, 3) : dir_fd;
}

static int write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

/*
 * The part file of an upload, positioned at job->offset: a new one (O_EXCL,
 * after removing a stale one) for a piece at 0, the existing one of exactly
 * job->offset bytes for a later piece (else -ERANGE, its size in value).
 */
static int open_part(int folder_fd, const struct gb_transfer_job *job,
                     struct gb_transfer_result *result)
{
	struct stat st = { 0 };
	int fd;

	if (job->offset == 0) {
		if (unlinkat(folder_fd, job->part_name, 0) < 0 && errno != ENOENT)
			return -errno;
		return open_beneath(folder_fd, job->part_name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	}
	fd = open_beneath(folder_fd, job->part_name, O_WRONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd == -ENOENT ? -ERANGE : fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != job->offset ||
	    lseek(fd, (off_t)job->offset, SEEK_SET) < 0) {
		result->value = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		close(fd);
		return -ERANGE;
	}
	fcntl(fd, F_SETFL, O_WRONLY);
	return fd;
}

/* Copy at most @length bytes from @in to @out; *@copied says how many. -EFBIG past it. */
static int copy_in(int in, int out, uint64_t length, uint64_t *copied, bool *write_failed)
{
	*copied = 0;
	for (;;) {
		ssize_t n = read(in, copy_buffer, sizeof(copy_buffer));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (*copied + (uint64_t)n > length)
			return -EFBIG;
		r = write_all(out, copy_buffer, (size_t)n);
		if (r < 0) {
			*write_failed = true;
			return r;
		}
		*copied += (uint64_t)n;
	}
}

/* Give the part file its name, or "name (N).ext" when taken; never replaces a file. */
static int rename_into_place(int folder_fd, const struct gb_transfer_job *job,
                             struct gb_transfer_result *result)
{
	for (unsigned number = 0; number < MAX_NUMBERED; number++) {
		int r = gb_file_name_numbered(job->name, number, result->name,
		                              sizeof(result->name));

		if (r < 0)
			return r;
		r = (int)syscall(SYS_renameat2, folder_fd, job->part_name, folder_fd, result->name,
		                 RENAME_NOREPLACE);
		if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
			/* A file system without RENAME_NOREPLACE: link(2) never replaces either.
			 */
			r = linkat(folder_fd, job->part_name, folder_fd, result->name, 0);
			if (r == 0)
				unlinkat(folder_fd, job->part_name, 0);
		}
		if (r == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	result->name[0] = '\0';
	return -EEXIST;
}

static void run_upload(const struct gb_transfer_job *job, int data_fd,
                       struct gb_transfer_result *result)
{
	uint64_t copied = 0;
	bool write_failed = false;
	int folder_fd, fd, r;

	folder_fd = open_folder(job->home_fd, job->folder, true);
	if (folder_fd < 0) {
		fail(result, GB_TRANSFER_STAGE_FOLDER, folder_fd);
		return;
	}
	fd = open_part(folder_fd, job, result);
	if (fd < 0) {
		fail(result, GB_TRANSFER_STAGE_FILE, fd);
		return;
	}
	r = copy_in(data_fd, fd, job->length, &copied, &write_failed);
	if (close(fd) < 0 && r == 0) {
		r = -errno;
		write_failed = true;
	}
	result->value = job->offset + copied;
	if (r < 0 || write_failed) {
		/* A full disk or quota: nothing half-written stays behind. */
		unlinkat(folder_fd, job->part_name, 0);
		result->value = 0;
		fail(result, GB_TRANSFER_STAGE_WRITE, r < 0 ? r : -EIO);
	} else if (copied < job->length) {
		/* The upload was cut: the part file stays for a resume. */
		fail(result, GB_TRANSFER_STAGE_DATA, -ECONNABORTED);
	} else if (result->value == job->total) {
		r = rename_into_place(folder_fd, job, result);
		if (r < 0) {
			unlinkat(folder_fd, job->part_name, 0);
			fail(result, GB_TRANSFER_STAGE_RENAME, r);
		}
	}
	close(folder_fd);
}

static void run_part_size(const struct gb_transfer_job *job, struct gb_transfer_result *result)
{
	int folder_fd = open_folder(job->home_fd, job->folder, false);
	struct stat st;

	if (folder_fd == -ENOENT)
		return;
	if (folder_fd < 0) {
		fail(result, GB_TRANSFER_STAGE_FOLDER, folder_fd);
		return;
	}
	if (fstatat(folder_fd, job->part_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		result->value = (uint64_t)st.st_size;
	close(folder_fd);
}

/* One listed entry on the status pipe, when @name is a regular file (not followed). */
static int list_entry(int folder_fd, const char *name, int status_fd)
{
	struct gb_transfer_entry entry = { 0 };
	struct stat st;
	int r;

	if (name[0] == '.' || fstatat(folder_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	entry.size = (uint64_t)st.st_size;
	entry.mtime = (int64_t)st.st_mtime;
	entry.name_length = (uint32_t)strnlen(name, GB_FILE_NAME_MAX + 1);
	if (entry.name_length > GB_FILE_NAME_MAX)
		return 0;
	r = write_all(status_fd, &entry, sizeof(entry));
	if (r == 0)
		r = write_all(status_fd, name, entry.name_length);
	return r < 0 ? r : 1;
}

static void run_list(const struct gb_transfer_job *job, int status_fd,
                     struct gb_transfer_result *result)
{
	int folder_fd = open_folder(job->home_fd, job->folder, false);
	unsigned scanned = 0;
	long n;

	if (folder_fd == -ENOENT)
		return; /* no folder yet: nothing to offer */
	if (folder_fd < 0) {
		fail(result, GB_TRANSFER_STAGE_FOLDER, folder_fd);
		return;
	}
	while ((n = syscall(SYS_getdents64, folder_fd, copy_buffer, sizeof(copy_buffer))) > 0) {
		for (long offset = 0; offset < n;) {
			struct dirent64 *entry = (struct dirent64 *)(copy_buffer + offset);
			int r;

			offset += entry->d_reclen;
			if (++scanned > MAX_SCANNED || result->count >= job->max_entries) {
				result->flags |= GB_TRANSFER_TRUNCATED;
				goto done;
			}
			r = list_entry(folder_fd, entry->d_name, status_fd);
			if (r < 0) {
				fail(result, GB_TRANSFER_STAGE_FILE, r);
				goto done;
			}
			result->count += (uint32_t)r;
		}
	}
	if (n < 0)
		fail(result, GB_TRANSFER_STAGE_FOLDER, -errno);
done:
	close(folder_fd);
}

/* Opens the file, says its size on the status pipe, closes it, then copies it out. */
static void run_download(const struct gb_transfer_job *job, int status_fd, int data_fd,
                         struct gb_transfer_result *result)
{
	int folder_fd = open_folder(job->home_fd, job->folder, false);
	uint64_t left;
	struct stat st;
	int fd;

	if (folder_fd < 0) {
		fail(result, GB_TRANSFER_STAGE_FOLDER, folder_fd);
		return;
	}
	/* O_NONBLOCK: a FIFO planted under the name must not hang the open. */
	fd = open_beneath(folder_fd, job->name, O_RDONLY | O_NONBLOCK, 0);
	close(folder_fd);
	if (fd < 0) {
		fail(result, GB_TRANSFER_STAGE_FILE, fd);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		fail(result, GB_TRANSFER_STAGE_FILE, -EINVAL);
		return;
	}
	fcntl(fd, F_SETFL, O_RDONLY);
	result->value = (uint64_t)st.st_size;
	result->mtime = (int64_t)st.st_mtime;
	if (write_all(status_fd, result, sizeof(*result)) < 0)
		_exit(1);
	close(status_fd);
	for (left = result->value; left > 0;) {
		ssize_t n = read(fd, copy_buffer,
		                 left < sizeof(copy_buffer) ? (size_t)left : sizeof(copy_buffer));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(data_fd, copy_buffer, (size_t)n) < 0)
			_exit(1); /* glassboxd sees the data end early */
		left -= (uint64_t)n;
	}
	_exit(0);
}

/* setgroups (the primary group only), setresgid, setresuid, and no way back. */
static int take_user(uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (geteuid() != 0) /* an unprivileged glassboxd: only its own sessions */
		return uid == geteuid() ? 0 : -EPERM;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (getresuid(&ruid, &euid, &suid) < 0 || ruid != uid || euid != uid || suid != uid ||
	    getresgid(&rgid, &egid, &sgid) < 0 || rgid != gid || egid != gid || sgid != gid)
		return -EPERM;
	if (uid != 0 && (setresuid((uid_t)-1, 0, (uid_t)-1) == 0 || setgroups(0, NULL) == 0))
		return -EPERM;
	return 0;
}

/* Close every descriptor but the three the child uses (no exec: nothing else may stay). */
static void close_others(int a, int b, int c)
{
	int keep[3] = { a, b, c };
	int from = 3;

	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (int i = 0; i <= 3; i++) {
		int to = i < 3 ? keep[i] - 1 : 1 << 20;

		if (i < 3 && keep[i] < from)
			continue;
		if (to >= from && syscall(SYS_close_range, from, to, 0) < 0)
			for (int fd = from; fd <= to && fd < 65536; fd++)
				close(fd);
		if (i < 3)
			from = keep[i] + 1;
	}
}

static void __attribute__((noreturn))
child_main(const struct gb_transfer_job *job, int status_fd, int data_fd)
{
	struct gb_transfer_result result = { 0 };
	sigset_t all;
	int r;

	/* GLib's handlers write to glassboxd's own wake-up pipe: not ours. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN); /* a closed pipe is an error to report, not an end */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	close_others(job->home_fd, status_fd, data_fd);
	r = take_user(job->uid, job->gid);
	if (r == 0 && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		r = -errno;
	if (r < 0) {
		fail(&result, GB_TRANSFER_STAGE_USER, r);
	} else {
		switch (job->operation) {
		case GB_TRANSFER_UPLOAD:
			run_upload(job, data_fd, &result);
			break;
		case GB_TRANSFER_PART_SIZE:
			run_part_size(job, &result);
			break;
		case GB_TRANSFER_LIST:
			run_list(job, status_fd, &result);
			break;
		case GB_TRANSFER_DOWNLOAD:
			run_download(job, status_fd, data_fd, &result);
			break;
		}
	}
	_exit(write_all(status_fd, &result, sizeof(result)) < 0 ? 1 : 0);
}

int gb_transfer_child_start(const struct gb_transfer_job *job, struct gb_transfer_child *child)
{
	int status[2], data[2] = { -1, -1 };
	bool has_data =
	        job->operation == GB_TRANSFER_UPLOAD || job->operation == GB_TRANSFER_DOWNLOAD;
	bool upload = job->operation == GB_TRANSFER_UPLOAD;
	pid_t pid;

	if (pipe2(status, O_CLOEXEC) < 0)
		return -errno;
	if (has_data && pipe2(data, O_CLOEXEC) < 0) {
		int r = -errno;
		close(status[0]);
		close(status[1]);
		return r;
	}
	if (has_data)
		fcntl(data[0], F_SETPIPE_SZ, PIPE_SIZE);
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		for (int i = 0; i < 2; i++) {
			close(status[i]);
			if (has_data)
				close(data[i]);
		}
		return r;
	}
	if (pid == 0)
		child_main(job, status[1], has_data ? data[upload ? 0 : 1] : -1);
	close(status[1]);
	child->pid = pid;
	child->status_fd = status[0];
	fcntl(status[0], F_SETFL, O_NONBLOCK);
	child->data_fd = -1;
	if (has_data) {
		close(data[upload ? 0 : 1]);
		child->data_fd = data[upload ? 1 : 0];
		fcntl(child->data_fd, F_SETFL, O_NONBLOCK);
	}
	return 0;
}
