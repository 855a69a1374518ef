/* SPDX-License-Identifier: MIT */
/*
 * auth-local: users from a local file, one "name:hash[:roles]" per line,
 * with hashes made and checked by libcrypt (yescrypt by default).
 *
 * The file is read once, at init(), and parsed strictly: any line that is
 * not a comment, blank or a well-formed user is an error naming the file and
 * line, and the plugin refuses to start rather than guess. When the file is
 * missing or holds no user, init() creates user "demo" with a random
 * password, stores only its hash and logs the password exactly once, so that
 * a fresh box can be logged into without a step of its own.
 *
 * Since ABI 1.1 the host can also list, add, re-password and remove users
 * (glassboxctl user ..., over D-Bus). Each change re-reads the file, edits
 * the one line concerned (keeping comments and every other line as they
 * are), checks the result with the same strict parser, writes it atomically
 * and only then makes it the table in memory: memory and file never
 * disagree about what a failed change did.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glassbox/auth.h>

#include "secret.h"
#include "text.h"

#define PLUGIN_NAME "local"

/* The file is the operator's, but a typo (a log pasted into it) should not
 * make us swallow gigabytes: these bound what we are willing to read. */
#define USERS_FILE_MAX (4 * 1024 * 1024)
#define USERS_MAX      100000
#define LINE_MAX_CHARS 1024

/* Bounds what a remote admin can make us hash. */
#define PASSWORD_MAX 1024

#define DEMO_USER            "demo"
#define DEMO_PASSWORD_LENGTH 20

/* Letters and digits that cannot be mistaken for one another when copied
 * from a terminal: no 0/O, 1/l/I. */
static const char password_alphabet[] =
        "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

struct local_user {
	char *name;
	char *hash;
	uint32_t roles; /* enum gb_role bits */
	int line;
};

struct local {
	const struct gb_host *host;
	char *path;
	struct local_user *users;
	size_t n_users;
	/* Checked against when the user is unknown, so that an unknown name
	 * costs as much time as a wrong password. */
	char *dummy_hash;
	int64_t min_password_length; /* for add_user and set_password */
};

static const struct gb_option local_options[] = {
	{ .key = "users_file",
	  .type = GB_VALUE_STRING,
	  .default_value = "/var/lib/glassbox/users",
	  .help = "file of users, one 'name:yescrypt-hash[:roles]' per line, mode 0600" },
	{ .key = "create_demo_user",
	  .type = GB_VALUE_BOOL,
	  .default_value = "true",
	  .help = "when the file is missing or empty, create user 'demo' with a random password "
	          "and log it once" },
	{ .key = "min_password_length",
	  .type = GB_VALUE_INT,
	  .default_value = "8",
	  .min = 1,
	  .max = PASSWORD_MAX,
	  .help = "the fewest characters a password set through glassboxctl may have" },
	{ .key = NULL },
};

static void free_users(struct local *local)
{
	for (size_t i = 0; i < local->n_users; i++) {
		free(local->users[i].name);
		if (local->users[i].hash) {
			explicit_bzero(local->users[i].hash, strlen(local->users[i].hash));
			free(local->users[i].hash);
		}
	}
	free(local->users);
	local->users = NULL;
	local->n_users = 0;
}

static void local_free(struct local *local)
{
	if (!local)
		return;
	free_users(local);
	free(local->path);
	free(local->dummy_hash);
	free(local);
}

/*
 * A user name: 1..63 of [A-Za-z0-9._-], not starting with '.' or '-' (so it
 * can never be a path component like ".." nor look like an option), and it
 * must fit struct gb_identity.
 */
static const char *user_name_problem(const char *name)
{
	size_t length = strlen(name);

	if (length == 0)
		return "is empty";
	if (length >= GB_IDENTITY_NAME_MAX)
		return "is longer than 63 characters";
	if (name[0] == '.' || name[0] == '-')
		return "starts with '.' or '-'";
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	    length)
		return "holds a character other than A-Z a-z 0-9 . _ -";
	return NULL;
}

static int parse_roles(const char *text, uint32_t *roles)
{
	char *copy, *item, *save = NULL;
	int r = 0;

	*roles = 0;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (strcmp(item, "user") == 0) {
			*roles |= GB_ROLE_USER;
		} else if (strcmp(item, "admin") == 0) {
			*roles |= GB_ROLE_ADMIN;
		} else {
			r = -EINVAL;
			break;
		}
	}
	free(copy);
	if (r == 0 && *roles == 0)
		r = -EINVAL;
	/* Every user may use a session; admin only adds to that. */
	*roles |= GB_ROLE_USER;
	return r;
}

/* Parse one non-comment line into @user. Returns 0 or -EINVAL with @problem set. */
static int parse_user_line(char *line, struct local_user *user, const char **problem)
{
	char *name = line, *hash, *roles_text = NULL, *end;
	uint32_t roles = GB_ROLE_USER;

	hash = strchr(line, ':');
	if (!hash) {
		/* Do not quote the line: it might be a password pasted by mistake. */
		*problem = NULL;
		return -EINVAL;
	}
	*hash++ = '\0';
	end = strchr(hash, ':');
	if (end) {
		*end = '\0';
		roles_text = end + 1;
	}
	if ((*problem = user_name_problem(name)))
		return -EINVAL;
	if (hash[0] == '\0') {
		*problem = "the hash is empty";
		return -EINVAL;
	}
	if (strspn(hash, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$./=,-") !=
	            strlen(hash) ||
	    crypt_checksalt(hash) != CRYPT_SALT_OK) {
		*problem = "the hash is not one libcrypt accepts (make one with mkpasswd -m "
		           "yescrypt)";
		return -EINVAL;
	}
	if (roles_text && parse_roles(roles_text, &roles) < 0) {
		*problem = "roles must be a comma-separated list of 'user' and 'admin'";
		return -EINVAL;
	}
	user->name = strdup(name);
	user->hash = strdup(hash);
	user->roles = roles;
	if (!user->name || !user->hash) {
		free(user->name);
		free(user->hash);
		*problem = "out of memory";
		return -ENOMEM;
	}
	return 0;
}

/*
 * Parse @text (the whole file, NUL-terminated) into local->users. Errors are
 * logged as "FILE:LINE: ...".
 */
static int parse_users(struct local *local, char *text)
{
	char *line = text, *next;
	int number = 0;
	int r;

	while (line && *line) {
		const char *problem = NULL;
		struct local_user user = { 0 };
		char *start;
		size_t length;

		number++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		length = strlen(line);
		if (length > LINE_MAX_CHARS) {
			gb_plugin_log(local->host, GB_LOG_ERROR,
			              "%s:%d: line is longer than %d characters", local->path,
			              number, LINE_MAX_CHARS);
			return -EINVAL;
		}
		if (length && line[length - 1] == '\r')
			line[--length] = '\0';
		start = line + strspn(line, " \t");
		if (*start == '\0' || *start == '#') {
			line = next;
			continue;
		}
		if (start != line || strpbrk(line, " \t")) {
			gb_plugin_log(
			        local->host, GB_LOG_ERROR,
			        "%s:%d: white space inside a user line; expected 'name:hash'",
			        local->path, number);
			return -EINVAL;
		}
		if (local->n_users >= USERS_MAX) {
			gb_plugin_log(local->host, GB_LOG_ERROR, "%s:%d: more than %d users",
			              local->path, number, USERS_MAX);
			return -EINVAL;
		}
		r = parse_user_line(line, &user, &problem);
		if (r < 0) {
			char shown[GB_IDENTITY_NAME_MAX + 4];

			/* parse_user_line() cut the line at the first ':'. */
			gb_printable(shown, sizeof(shown), line);
			if (r == -ENOMEM)
				gb_plugin_log(local->host, GB_LOG_ERROR, "%s:%d: out of memory",
				              local->path, number);
			else if (!problem)
				gb_plugin_log(local->host, GB_LOG_ERROR,
				              "%s:%d: expected 'name:hash' or 'name:hash:roles'",
				              local->path, number);
			else
				gb_plugin_log(local->host, GB_LOG_ERROR, "%s:%d: user '%s': %s",
				              local->path, number, shown, problem);
			return r;
		}
		for (size_t i = 0; i < local->n_users; i++) {
			if (strcmp(local->users[i].name, user.name) == 0) {
				gb_plugin_log(local->host, GB_LOG_ERROR,
				              "%s:%d: user '%s' is already defined on line %d",
				              local->path, number, user.name,
				              local->users[i].line);
				explicit_bzero(user.hash, strlen(user.hash));
				free(user.name);
				free(user.hash);
				return -EINVAL;
			}
		}
		if ((local->n_users & (local->n_users - 1)) == 0) {
			size_t capacity = local->n_users ? local->n_users * 2 : 4;
			struct local_user *users;

			users = realloc(local->users, capacity * sizeof(*users));
			if (!users) {
				explicit_bzero(user.hash, strlen(user.hash));
				free(user.name);
				free(user.hash);
				return -ENOMEM;
			}
			local->users = users;
		}
		user.line = number;
		local->users[local->n_users++] = user;
		line = next;
	}
	return 0;
}

/*
 * Read the users file. Returns 0 with *text (NUL-terminated, caller frees),
 * -ENOENT when it does not exist, or another negative errno after logging.
 */
static int read_users_file(struct local *local, char **text)
{
	struct stat st;
	char *data = NULL;
	size_t done = 0;
	int fd, r;

	fd = open(local->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			gb_plugin_log(local->host, GB_LOG_ERROR, "%s: cannot open: %s",
			              local->path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		gb_plugin_log(local->host, GB_LOG_ERROR, "%s: cannot stat: %s", local->path,
		              strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		gb_plugin_log(local->host, GB_LOG_ERROR, "%s: not a regular file", local->path);
		goto out;
	}
	/* Hashes are secrets too: an offline guesser needs only the file. */
	if (st.st_mode & 0077) {
		r = -EPERM;
		gb_plugin_log(local->host, GB_LOG_ERROR,
		              "%s: mode %04o lets others read or change it; run chmod 600 on it",
		              local->path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > USERS_FILE_MAX) {
		r = -EFBIG;
		gb_plugin_log(local->host, GB_LOG_ERROR, "%s: larger than %d bytes", local->path,
		              USERS_FILE_MAX);
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		r = -ENOMEM;
		goto out;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			gb_plugin_log(local->host, GB_LOG_ERROR, "%s: cannot read: %s",
			              local->path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	data[done] = '\0';
	if (strlen(data) != done) {
		r = -EINVAL;
		gb_plugin_log(local->host, GB_LOG_ERROR, "%s: holds a NUL byte; not a users file",
		              local->path);
		goto out;
	}
	*text = data;
	data = NULL;
	r = 0;
out:
	free(data);
	close(fd);
	return r;
}

/* A password of DEMO_PASSWORD_LENGTH characters, uniformly from the alphabet. */
static int make_password(char password[DEMO_PASSWORD_LENGTH + 1])
{
	const unsigned alphabet_size = sizeof(password_alphabet) - 1;
	/* Bytes at or over this limit would favour the first letters. */
	const unsigned limit = 256 - 256 % alphabet_size;
	unsigned char pool[64];
	size_t used = sizeof(pool);
	int length = 0, r;

	while (length < DEMO_PASSWORD_LENGTH) {
		if (used == sizeof(pool)) {
			r = gb_random_bytes(pool, sizeof(pool));
			if (r < 0)
				return r;
			used = 0;
		}
		if (pool[used] < limit)
			password[length++] = password_alphabet[pool[used] % alphabet_size];
		used++;
	}
	password[length] = '\0';
	explicit_bzero(pool, sizeof(pool));
	return 0;
}

/* A new yescrypt hash of @password, malloc()ed; NULL with errno on failure. */
static char *hash_password(const char *password)
{
	struct crypt_data *data;
	char *setting, *hash = NULL, *result;

	setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (!setting)
		return NULL;
	data = calloc(1, sizeof(*data));
	if (!data) {
		free(setting);
		errno = ENOMEM;
		return NULL;
	}
	result = crypt_rn(password, setting, data, sizeof(*data));
	if (result && result[0] != '*')
		hash = strdup(result);
	else
		errno = EINVAL;
	explicit_bzero(data, sizeof(*data));
	free(data);
	free(setting);
	return hash;
}

/* Write @text to @path atomically: temporary file, fsync, rename, fsync folder. */
static int write_file_atomically(struct local *local, const char *path, const char *text)
{
	char *tmp = NULL, *dir = NULL, *slash;
	size_t length = strlen(text), done = 0;
	int fd = -1, dir_fd, r;

	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		gb_plugin_log(local->host, GB_LOG_ERROR, "%s: cannot create: %s", tmp,
		              strerror(-r));
		free(tmp);
		return r;
	}
	if (fchmod(fd, 0600) < 0) {
		r = -errno;
		goto fail;
	}
	while (done < length) {
		ssize_t n = write(fd, text + done, length - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	free(tmp);

	/* The rename is only durable once the folder is. */
	dir = strdup(path);
	if (!dir)
		return 0;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	dir_fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd >= 0) {
		fsync(dir_fd);
		close(dir_fd);
	}
	free(dir);
	return 0;

fail:
	gb_plugin_log(local->host, GB_LOG_ERROR, "%s: cannot write: %s", path, strerror(-r));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return r;
}

/* The folder of the users file, made 0700 when missing (one level only). */
static int ensure_parent_folder(struct local *local)
{
	char *dir = strdup(local->path), *slash;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			r = -errno;
			gb_plugin_log(local->host, GB_LOG_ERROR, "%s: cannot create folder: %s",
			              dir, strerror(-r));
		}
	}
	free(dir);
	return r;
}

/*
 * Add user "demo" with a fresh random password, keeping whatever comments
 * @old_text held, and log the password exactly once.
 */
static int create_demo_user(struct local *local, const char *old_text)
{
	char password[DEMO_PASSWORD_LENGTH + 1];
	char *hash = NULL, *text = NULL, *name = NULL;
	size_t old_length = old_text ? strlen(old_text) : 0;
	int r;

	r = make_password(password);
	if (r < 0) {
		gb_plugin_log(local->host, GB_LOG_ERROR, "cannot get random bytes: %s",
		              strerror(-r));
		return r;
	}
	hash = hash_password(password);
	if (!hash) {
		r = -errno;
		gb_plugin_log(local->host, GB_LOG_ERROR, "cannot hash the demo password: %s",
		              strerror(-r));
		goto out;
	}
	if (asprintf(&text, "%s%s%s:%s\n", old_length ? old_text : "",
	             old_length && old_text[old_length - 1] != '\n' ? "\n" : "", DEMO_USER,
	             hash) < 0) {
		text = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = ensure_parent_folder(local);
	if (r < 0)
		goto out;
	r = write_file_atomically(local, local->path, text);
	if (r < 0)
		goto out;

	name = strdup(DEMO_USER);
	local->users = calloc(1, sizeof(*local->users));
	if (!name || !local->users) {
		free(local->users);
		local->users = NULL;
		r = -ENOMEM;
		goto out;
	}
	local->users[0] = (struct local_user){
		.name = name, .hash = hash, .roles = GB_ROLE_USER, .line = 0
	};
	local->n_users = 1;
	name = NULL;
	hash = NULL;
	/* The one and only time the password exists outside the user's head:
	 * scripts grep this exact phrase (see the README's Quick start). */
	gb_plugin_log(local->host, GB_LOG_WARNING,
	              "created user '" DEMO_USER "' with password '%s' (shown once; only its hash "
	              "is kept, in %s)",
	              password, local->path);
	r = 0;
out:
	explicit_bzero(password, sizeof(password));
	free(name);
	free(hash);
	free(text);
	return r;
}

static int local_init(const struct gb_host *host, const struct gb_settings *settings, void **state)
{
	struct local *local;
	const char *path;
	char *text = NULL;
	int r;

	local = calloc(1, sizeof(*local));
	if (!local)
		return -ENOMEM;
	local->host = host;

	path = gb_settings_get_string(settings, "users_file");
	if (!path || path[0] != '/') {
		gb_plugin_log(local->host, GB_LOG_ERROR,
		              "settings.users_file must be an absolute path");
		r = -EINVAL;
		goto fail;
	}
	local->min_password_length = gb_settings_get_int(settings, "min_password_length", 8);
	local->path = strdup(path);
	if (!local->path) {
		r = -ENOMEM;
		goto fail;
	}

	r = read_users_file(local, &text);
	if (r < 0 && r != -ENOENT)
		goto fail;
	if (r == 0) {
		/* Parsing cuts its copy into lines; @text may still be needed whole. */
		char *copy = strdup(text);

		r = copy ? parse_users(local, copy) : -ENOMEM;
		if (copy) {
			explicit_bzero(copy, strlen(text));
			free(copy);
		}
		if (r < 0)
			goto fail;
	}
	if (local->n_users == 0) {
		if (!gb_settings_get_bool(settings, "create_demo_user", true)) {
			gb_plugin_log(
			        local->host, GB_LOG_ERROR,
			        "%s: no user, and create_demo_user is off: nobody could log in",
			        local->path);
			r = -ENOENT;
			goto fail;
		}
		r = create_demo_user(local, text);
		if (r < 0)
			goto fail;
	}

	local->dummy_hash = hash_password("glassbox: a user that does not exist");
	if (!local->dummy_hash) {
		r = -errno;
		gb_plugin_log(local->host, GB_LOG_ERROR, "cannot make a hash: %s", strerror(-r));
		goto fail;
	}
	gb_plugin_log(local->host, GB_LOG_INFO, "%zu user%s from %s", local->n_users,
	              local->n_users == 1 ? "" : "s", local->path);
	free(text);
	*state = local;
	return 0;

fail:
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	local_free(local);
	return r;
}

static void local_fini(void *state)
{
	local_free(state);
}

static int local_verify_password(void *state, const char *user, const char *password,
                                 struct gb_identity *identity)
{
	struct local *local = state;
	const struct local_user *found = NULL;
	struct crypt_data *data;
	const char *result;
	bool match;

	if (!local || !user || !password || !identity)
		return -EINVAL;
	if (identity->struct_size < offsetof(struct gb_identity, roles) + sizeof(identity->roles))
		return -EINVAL;

	for (size_t i = 0; i < local->n_users; i++)
		if (strcmp(local->users[i].name, user) == 0)
			found = &local->users[i];

	data = calloc(1, sizeof(*data));
	if (!data)
		return -ENOMEM;
	/* An unknown user is checked against a dummy hash of the same cost,
	 * so the answer takes as long as for a wrong password. */
	result = crypt_rn(password, found ? found->hash : local->dummy_hash, data, sizeof(*data));
	match = result && result[0] != '*' &&
	        gb_equal_in_constant_time(result, found ? found->hash : local->dummy_hash);
	explicit_bzero(data, sizeof(*data));
	free(data);
	if (!result)
		return -EIO;
	if (!found || !match)
		return -EACCES;

	snprintf(identity->user, sizeof(identity->user), "%s", found->name);
	identity->has_system_account = false;
	identity->uid = 0;
	identity->gid = 0;
	identity->roles = found->roles;
	return 0;
}

/* ---- User management (ABI 1.1) ---- */

static void free_text(char *text)
{
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
}

static int find_user(const struct local *local, const char *name)
{
	for (size_t i = 0; i < local->n_users; i++)
		if (strcmp(local->users[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A table parsed from text, sharing @local's path and host for its log lines. */
static struct local scratch_for(const struct local *local)
{
	return (struct local){ .host = local->host, .path = local->path };
}

/* Parse @text into @table (a scratch_for() table); logs FILE:LINE on error. */
static int parse_text(struct local *table, const char *text)
{
	char *copy = strdup(text);
	int r;

	if (!copy)
		return -ENOMEM;
	r = parse_users(table, copy);
	free_text(copy);
	if (r < 0)
		free_users(table);
	return r;
}

/*
 * The users file as it is now, as text and parsed into @current. A missing
 * file is an empty one. -EIO when it cannot be read or no longer parses (the
 * reason is logged, with the file and line).
 */
static int load_current(struct local *local, const char *user, char **text, struct local *current)
{
	int r;

	*text = NULL;
	*current = scratch_for(local);
	r = read_users_file(local, text);
	if (r == -ENOENT) {
		*text = strdup("");
		r = *text ? 0 : -ENOMEM;
	}
	if (r == 0)
		r = parse_text(current, *text);
	if (r < 0) {
		gb_plugin_log(
		        local->host, GB_LOG_ERROR,
		        "user '%s': %s: cannot change users until the file is fixed (see above)",
		        user, local->path);
		free_text(*text);
		*text = NULL;
		return r == -ENOMEM ? r : -EIO;
	}
	return 0;
}

/*
 * @text with line @number replaced by @replacement (NULL: removed), or, with
 * @number 0, with @replacement appended as a new last line. malloc()ed.
 */
static char *edit_lines(const char *text, int number, const char *replacement)
{
	size_t length = strlen(text), extra = replacement ? strlen(replacement) + 2 : 0;
	char *out = malloc(length + extra + 1);
	const char *line = text;
	size_t used = 0;
	int current = 0;

	if (!out)
		return NULL;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t size = end ? (size_t)(end - line) + 1 : strlen(line);

		current++;
		if (current == number) {
			if (replacement) {
				used += (size_t)sprintf(out + used, "%s\n", replacement);
			}
		} else {
			memcpy(out + used, line, size);
			used += size;
		}
		line += size;
	}
	if (number == 0 && replacement) {
		if (used && out[used - 1] != '\n')
			out[used++] = '\n';
		used += (size_t)sprintf(out + used, "%s\n", replacement);
	}
	out[used] = '\0';
	return out;
}

/* Line @number of @text, without its newline, malloc()ed; NULL when absent. */
static char *line_of(const char *text, int number)
{
	const char *line = text;

	for (int current = 1; *line; current++) {
		size_t size = strcspn(line, "\n");

		if (current == number)
			return strndup(line, size);
		line += size;
		if (*line == '\n')
			line++;
	}
	return NULL;
}

/*
 * Make @text the users file and the table in memory: parse it (so that we
 * never write a file the next start would refuse), write it atomically, and
 * only when the rename succeeded swap the tables.
 */
static int commit(struct local *local, const char *text)
{
	struct local next = scratch_for(local);
	int r;

	r = parse_text(&next, text);
	if (r < 0)
		return r == -ENOMEM ? r : -EIO;
	r = write_file_atomically(local, local->path, text);
	if (r < 0) {
		free_users(&next);
		return r;
	}
	free_users(local);
	local->users = next.users;
	local->n_users = next.n_users;
	return 0;
}

/* A new hash of @user's new @password into *hash (malloc()ed); on failure, log why. */
static int hash_user_password(struct local *local, const char *user, const char *password,
                              char **hash)
{
	int r;

	*hash = hash_password(password);
	if (*hash)
		return 0;
	r = errno ? -errno : -EIO;
	gb_plugin_log(local->host, GB_LOG_ERROR, "user '%s': cannot hash the password: %s", user,
	              strerror(-r));
	return r;
}

static bool check_name(struct local *local, const char *user, const char *operation)
{
	const char *problem = user_name_problem(user);
	char shown[GB_IDENTITY_NAME_MAX + 4];

	if (!problem)
		return true;
	gb_printable(shown, sizeof(shown), user);
	gb_plugin_log(local->host, GB_LOG_WARNING, "%s: user name '%s' refused: it %s", operation,
	              shown, problem);
	return false;
}

static bool check_password(struct local *local, const char *user, const char *password)
{
	size_t length = strnlen(password, PASSWORD_MAX + 1);

	if (length > PASSWORD_MAX) {
		gb_plugin_log(local->host, GB_LOG_WARNING,
		              "user '%s': new password refused: longer than %d bytes", user,
		              PASSWORD_MAX);
		return false;
	}
	if ((int64_t)length < local->min_password_length) {
		gb_plugin_log(local->host, GB_LOG_WARNING,
		              "user '%s': new password refused: shorter than %lld characters "
		              "(settings.min_password_length)",
		              user, (long long)local->min_password_length);
		return false;
	}
	return true;
}

static int local_list_users(void *state, gb_auth_user_func func, void *data)
{
	struct local *local = state;

	if (!local || !func)
		return -EINVAL;
	for (size_t i = 0; i < local->n_users; i++)
		func(data, local->users[i].name, local->users[i].roles);
	return 0;
}

static int local_add_user(void *state, const char *user, const char *password, uint32_t roles)
{
	struct local *local = state;
	struct local current;
	char *text = NULL, *hash = NULL, *line = NULL, *edited = NULL;
	int r;

	if (!local || !user || !password)
		return -EINVAL;
	if (!check_name(local, user, "add user"))
		return -EINVAL;
	if (roles & ~(uint32_t)(GB_ROLE_USER | GB_ROLE_ADMIN)) {
		gb_plugin_log(local->host, GB_LOG_WARNING, "user '%s': unknown roles 0x%x refused",
		              user, (unsigned)roles);
		return -EINVAL;
	}
	if (!check_password(local, user, password))
		return -EINVAL;

	r = load_current(local, user, &text, &current);
	if (r < 0)
		return r;
	if (find_user(&current, user) >= 0) {
		gb_plugin_log(local->host, GB_LOG_WARNING, "user '%s' already exists in %s", user,
		              local->path);
		r = -EEXIST;
		goto out;
	}
	r = hash_user_password(local, user, password, &hash);
	if (r < 0)
		goto out;
	if (asprintf(&line, "%s:%s%s", user, hash, roles & GB_ROLE_ADMIN ? ":user,admin" : "") <
	    0) {
		line = NULL;
		r = -ENOMEM;
		goto out;
	}
	edited = edit_lines(text, 0, line);
	r = edited ? commit(local, edited) : -ENOMEM;
	if (r == 0)
		gb_plugin_log(local->host, GB_LOG_INFO, "added user '%s'%s to %s", user,
		              roles & GB_ROLE_ADMIN ? " (admin)" : "", local->path);
out:
	free_users(&current);
	free_text(text);
	free_text(hash);
	free_text(line);
	free_text(edited);
	return r;
}

static int local_set_password(void *state, const char *user, const char *password)
{
	struct local *local = state;
	struct local current;
	char *text = NULL, *hash = NULL, *old_line = NULL, *line = NULL, *edited = NULL;
	const char *roles_field;
	int index, r;

	if (!local || !user || !password)
		return -EINVAL;
	if (!check_name(local, user, "set password"))
		return -EINVAL;
	if (!check_password(local, user, password))
		return -EINVAL;

	r = load_current(local, user, &text, &current);
	if (r < 0)
		return r;
	index = find_user(&current, user);
	if (index < 0) {
		gb_plugin_log(local->host, GB_LOG_WARNING, "set password: no user '%s' in %s",
		              user, local->path);
		r = -ENOENT;
		goto out;
	}
	old_line = line_of(text, current.users[index].line);
	if (!old_line) {
		r = -ENOMEM;
		goto out;
	}
	r = hash_user_password(local, user, password, &hash);
	if (r < 0)
		goto out;
	/* name:hash[:roles]: keep the roles exactly as written. */
	roles_field = strchr(strchr(old_line, ':') + 1, ':');
	if (asprintf(&line, "%s:%s%s", user, hash, roles_field ? roles_field : "") < 0) {
		line = NULL;
		r = -ENOMEM;
		goto out;
	}
	edited = edit_lines(text, current.users[index].line, line);
	r = edited ? commit(local, edited) : -ENOMEM;
	if (r == 0)
		gb_plugin_log(local->host, GB_LOG_INFO, "changed the password of user '%s' in %s",
		              user, local->path);
out:
	free_users(&current);
	free_text(text);
	free_text(hash);
	free_text(old_line);
	free_text(line);
	free_text(edited);
	return r;
}

static int local_remove_user(void *state, const char *user)
{
	struct local *local = state;
	struct local current;
	char *text = NULL, *edited = NULL;
	int index, r;

	if (!local || !user)
		return -EINVAL;
	if (!check_name(local, user, "remove user"))
		return -EINVAL;

	r = load_current(local, user, &text, &current);
	if (r < 0)
		return r;
	index = find_user(&current, user);
	if (index < 0) {
		gb_plugin_log(local->host, GB_LOG_WARNING, "remove user: no user '%s' in %s", user,
		              local->path);
		r = -ENOENT;
		goto out;
	}
	edited = edit_lines(text, current.users[index].line, NULL);
	r = edited ? commit(local, edited) : -ENOMEM;
	if (r == 0)
		gb_plugin_log(local->host, GB_LOG_INFO, "removed user '%s' from %s%s", user,
		              local->path, local->n_users ? "" : "; it holds no user now");
out:
	free_users(&current);
	free_text(text);
	free_text(edited);
	return r;
}

static const struct gb_auth_ops local_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = local_verify_password,
	.list_users = local_list_users,
	.add_user = local_add_user,
	.set_password = local_set_password,
	.remove_user = local_remove_user,
};

static const struct gb_plugin_descriptor local_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = PLUGIN_NAME,
	.version = "1.1.0",
	.description = "users and yescrypt password hashes from a local file",
	.options = local_options,
	.init = local_init,
	.fini = local_fini,
	.ops = &local_ops,
};

GB_PLUGIN_DEFINE(local_descriptor)
