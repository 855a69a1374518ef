/* SPDX-License-Identifier: MIT */
/* The session's listening unix sockets (control, signalling). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "session.h"

int gb_listen_unix(const char *path, const char *what, int backlog)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd, r;

	if (strlen(path) >= sizeof(address.sun_path)) {
		gb_error("%s socket path %s is longer than %zu bytes", what, path,
		         sizeof(address.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	/* A socket left by a crashed session is replaced; anything else is not ours. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			gb_error("%s socket path %s exists and is not a socket", what, path);
			return -EEXIST;
		}
		unlink(path);
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	strcpy(address.sun_path, path);
	old_umask = umask(0177); /* born 0600: no window where others may connect */
	r = bind(fd, (struct sockaddr *)&address, sizeof(address));
	umask(old_umask);
	if (r < 0 || listen(fd, backlog) < 0) {
		r = -errno;
		gb_error("cannot listen on %s socket %s: %s", what, path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}
