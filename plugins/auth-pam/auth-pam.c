/* SPDX-License-Identifier: MIT */
/*
 * auth-pam: system accounts, checked through PAM (pam_authenticate, then
 * pam_acct_mgmt for locked, expired and otherwise barred accounts).
 *
 * The host calls verify_password on its login worker thread, one call at a
 * time, so a PAM stack that blocks (a slow LDAP server, say) delays only
 * other logins. PAM sessions are never opened: glassboxd does not start a
 * login shell; a session runs as the user's system unit (see README.md).
 *
 * Every refusal is -EACCES, whichever step said no; the log line names the
 * user, the PAM step and pam_strerror(), never the password.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include <glassbox/auth.h>

#include "text.h"

#define PLUGIN_NAME "pam"

/* What a remote user hands us is bounded before PAM sees it. */
#define PASSWORD_MAX 1024
/* A conversation asks a handful of questions; more is a module gone wrong. */
#define CONVERSATION_MESSAGES_MAX 8
/* getpwnam_r/getgrnam_r buffers grow up to this; a group of many thousand
 * members needs a few hundred KiB. */
#define NSS_BUFFER_MAX (4 * 1024 * 1024)
/* The groups of one user we look at; NGROUPS_MAX on Linux is 65536. */
#define USER_GROUPS_MAX 65536
#define LABEL_MAX       64

struct pam_plugin {
	const struct gb_host *host;
	/* Point into the host's settings, valid until fini(). */
	const char *service;
	const char *admin_group;   /* "" : nobody gets the admin role */
	const char *allowed_group; /* "" : every account that PAM accepts */
	const char *label;
	uint32_t min_uid;
	bool allow_root;
};

/* What the conversation answers with; see conversation(). */
struct conversation_data {
	const struct pam_plugin *plugin;
	const char *user;
	const char *password;
	/* Set when the conversation refused a message: the reason, for the log. */
	const char *refusal;
};

static const struct gb_option pam_options[] = {
	{ .key = "service",
	  .type = GB_VALUE_STRING,
	  .default_value = "glassbox",
	  .help = "the PAM service: /etc/pam.d/<service>" },
	{ .key = "admin_group",
	  .type = GB_VALUE_STRING,
	  .default_value = "glassbox-admin",
	  .help = "members of this group get the admin role; empty: nobody" },
	{ .key = "allowed_group",
	  .type = GB_VALUE_STRING,
	  .default_value = "",
	  .help = "when set, only members of this group may log in" },
	{ .key = "min_uid",
	  .type = GB_VALUE_INT,
	  .default_value = "1000",
	  .min = 0,
	  .max = 4294967294,
	  .help = "accounts with a lower uid (system accounts) are refused" },
	{ .key = "allow_root",
	  .type = GB_VALUE_BOOL,
	  .default_value = "false",
	  .help = "let root (uid 0) log in even though it is below min_uid" },
	{ .key = "label",
	  .type = GB_VALUE_STRING,
	  .default_value = "System account",
	  .help = "the login page's name for this method" },
	{ .key = NULL },
};

/*
 * A user name: ^[a-z_][a-z0-9_-]{0,31}$ (Debian's adduser default, and what
 * a systemd unit instance and a home folder can hold without escaping).
 * NULL when fine, else why not.
 */
static const char *user_name_problem(const char *name)
{
	size_t length = strlen(name);

	if (length == 0)
		return "is empty";
	if (length > 32)
		return "is longer than 32 characters";
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return "does not start with a-z or _";
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != length)
		return "holds a character other than a-z 0-9 _ -";
	return NULL;
}

/* A group name in the settings: the same rule, plus a trailing '$' (Samba). */
static const char *group_name_problem(const char *name)
{
	size_t length = strlen(name);
	char copy[40];

	if (length && name[length - 1] == '$' && length < sizeof(copy)) {
		memcpy(copy, name, length - 1);
		copy[length - 1] = '\0';
		return user_name_problem(copy);
	}
	return user_name_problem(name);
}

/* A PAM service is a file name in /etc/pam.d. */
static const char *service_name_problem(const char *name)
{
	size_t length = strlen(name);

	if (length == 0)
		return "is empty";
	if (length > 64)
		return "is longer than 64 characters";
	if (name[0] == '.' || name[0] == '-')
		return "starts with '.' or '-'";
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	    length)
		return "holds a character other than A-Z a-z 0-9 . _ -";
	return NULL;
}

static const char *label_problem(const char *label)
{
	size_t length = strlen(label);

	if (length == 0)
		return "is empty";
	if (length > LABEL_MAX)
		return "is longer than 64 bytes";
	for (size_t i = 0; i < length; i++)
		if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
			return "holds a control character";
	return NULL;
}

/*
 * The PAM conversation. Prompts with echo off get the password, prompts
 * with echo on (a module asking for the name) the user name; informational
 * and error texts are logged at debug level and answered with nothing
 * (PAM_SILENT asks modules not to send them; some do anyway). Anything
 * else, a binary prompt or a style we do not know, fails the whole
 * conversation: there is no one at a terminal to answer it.
 */
static int conversation(int count, const struct pam_message **messages,
                        struct pam_response **responses, void *data)
{
	struct conversation_data *conversation = data;
	struct pam_response *answers;
	char text[84]; /* text a module or a client chose: at most 80 and "..." */

	*responses = NULL;
	if (count <= 0 || count > CONVERSATION_MESSAGES_MAX) {
		conversation->refusal = "a module sent too many messages at once";
		return PAM_CONV_ERR;
	}
	answers = calloc((size_t)count, sizeof(*answers));
	if (!answers)
		return PAM_BUF_ERR;
	for (int i = 0; i < count; i++) {
		const struct pam_message *message = messages[i];
		const char *answer = NULL;

		switch (message->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			answer = conversation->password;
			break;
		case PAM_PROMPT_ECHO_ON:
			answer = conversation->user;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			gb_printable(text, sizeof(text), message->msg);
			gb_plugin_log(conversation->plugin->host, GB_LOG_DEBUG,
			              "user '%s': PAM says: %s", conversation->user, text);
			continue;
		default:
			conversation->refusal =
			        message->msg_style == PAM_BINARY_PROMPT
			                ? "a module sent a binary prompt"
			                : "a module sent a message of unknown style";
			goto fail;
		}
		answers[i].resp = strdup(answer);
		if (!answers[i].resp)
			goto fail;
	}
	*responses = answers;
	return PAM_SUCCESS;

fail:
	for (int i = 0; i < count; i++) {
		if (answers[i].resp) {
			explicit_bzero(answers[i].resp, strlen(answers[i].resp));
			free(answers[i].resp);
		}
	}
	free(answers);
	return conversation->refusal ? PAM_CONV_ERR : PAM_BUF_ERR;
}

/*
 * pam_unix and others wait about 2 s after a failure (pam_fail_delay). The
 * host already answers every failed login after its own fixed delay without
 * holding its one login thread; a delay here would hold it, and let a
 * stream of wrong passwords stall everybody's logins.
 */
static void no_fail_delay(int status, unsigned delay, void *data)
{
}

static void plugin_free(struct pam_plugin *plugin)
{
	free(plugin);
}

/*
 * Call @lookup (a getgrnam_r() or getpwnam_r() wrapper returning 0, ENOENT
 * or an errno) with a buffer that doubles while it says ERANGE. 0, -ENOENT
 * when there is no such entry, another negative errno when the lookup failed.
 */
static int nss_lookup(const char *name,
                      int (*lookup)(const char *name, char *buffer, size_t size, void *out),
                      void *out)
{
	for (size_t size = 16384; size <= NSS_BUFFER_MAX; size *= 2) {
		char *buffer = malloc(size);
		int e;

		if (!buffer)
			return -ENOMEM;
		e = lookup(name, buffer, size, out);
		free(buffer);
		if (e != ERANGE)
			return -e;
	}
	return -ENOMEM;
}

static int lookup_group(const char *name, char *buffer, size_t size, void *out)
{
	struct group group, *found = NULL;
	int e = getgrnam_r(name, &group, buffer, size, &found);

	if (e == 0 && !found)
		return ENOENT;
	if (e == 0)
		*(gid_t *)out = found->gr_gid;
	return e;
}

struct user_ids {
	uid_t uid;
	gid_t gid;
};

static int lookup_user(const char *name, char *buffer, size_t size, void *out)
{
	struct passwd passwd, *found = NULL;
	struct user_ids *ids = out;
	int e = getpwnam_r(name, &passwd, buffer, size, &found);

	if (e == 0 && !found)
		return ENOENT;
	if (e == 0) {
		ids->uid = found->pw_uid;
		ids->gid = found->pw_gid;
	}
	return e;
}

/*
 * Look up @name in the group database: 0 with *gid, -ENOENT when there is no
 * such group, another negative errno when the lookup itself failed.
 */
static int group_id(const char *name, gid_t *gid)
{
	*gid = 0;
	return nss_lookup(name, lookup_group, gid);
}

/*
 * The passwd entry of @name: 0 with *uid, *gid; -ENOENT when there is none,
 * another negative errno when the lookup failed.
 */
static int user_ids(const char *name, uid_t *uid, gid_t *gid)
{
	struct user_ids ids = { 0, 0 };
	int r = nss_lookup(name, lookup_user, &ids);

	*uid = ids.uid;
	*gid = ids.gid;
	return r;
}

/*
 * Whether the user (with primary group @gid) is a member of @group: 1 yes,
 * 0 no (or no such group), negative errno when the lookup failed.
 */
static int in_group(const char *user, gid_t gid, const char *group)
{
	gid_t wanted, *groups = NULL;
	int count = 64, r;

	r = group_id(group, &wanted);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (wanted == gid)
		return 1;
	for (;;) {
		int n = count;
		gid_t *more = realloc(groups, (size_t)count * sizeof(*groups));

		if (!more) {
			free(groups);
			return -ENOMEM;
		}
		groups = more;
		if (getgrouplist(user, gid, groups, &n) >= 0) {
			r = 0;
			for (int i = 0; i < n; i++)
				if (groups[i] == wanted)
					r = 1;
			break;
		}
		/* n is now the number needed. */
		if (n <= count || n > USER_GROUPS_MAX) {
			r = -E2BIG;
			break;
		}
		count = n;
	}
	free(groups);
	return r;
}

/* A group setting: empty (no group), or a group name; else log why not. */
static int check_group_setting(const struct pam_plugin *plugin, const char *key, const char *group)
{
	const char *problem = group ? NULL : "is missing";

	if (group && group[0])
		problem = group_name_problem(group);
	if (!problem)
		return 0;
	gb_plugin_log(plugin->host, GB_LOG_ERROR, "settings.%s: the group name %s", key, problem);
	return -EINVAL;
}

static int pam_init(const struct gb_host *host, const struct gb_settings *settings, void **state)
{
	struct pam_plugin *plugin;
	const char *problem;
	gid_t gid;
	int64_t min_uid;
	char path[128];

	plugin = calloc(1, sizeof(*plugin));
	if (!plugin)
		return -ENOMEM;
	plugin->host = host;
	plugin->service = gb_settings_get_string(settings, "service");
	plugin->admin_group = gb_settings_get_string(settings, "admin_group");
	plugin->allowed_group = gb_settings_get_string(settings, "allowed_group");
	plugin->label = gb_settings_get_string(settings, "label");
	plugin->allow_root = gb_settings_get_bool(settings, "allow_root", false);
	min_uid = gb_settings_get_int(settings, "min_uid", 1000);

	if (!plugin->service || (problem = service_name_problem(plugin->service))) {
		gb_plugin_log(plugin->host, GB_LOG_ERROR,
		              "settings.service: the PAM service name %s",
		              plugin->service ? problem : "is missing");
		goto invalid;
	}
	if (check_group_setting(plugin, "admin_group", plugin->admin_group) < 0 ||
	    check_group_setting(plugin, "allowed_group", plugin->allowed_group) < 0)
		goto invalid;
	if (!plugin->label || (problem = label_problem(plugin->label))) {
		gb_plugin_log(plugin->host, GB_LOG_ERROR, "settings.label %s",
		              plugin->label ? problem : "is missing");
		goto invalid;
	}
	if (min_uid < 0 || min_uid > (int64_t)UINT32_MAX - 1) {
		gb_plugin_log(plugin->host, GB_LOG_ERROR,
		              "settings.min_uid: %lld is out of range 0..%u", (long long)min_uid,
		              UINT32_MAX - 1);
		goto invalid;
	}
	plugin->min_uid = (uint32_t)min_uid;

	/* Not errors: the operator may add them after starting us. */
	snprintf(path, sizeof(path), "/etc/pam.d/%s", plugin->service);
	if (access(path, F_OK) < 0)
		gb_plugin_log(
		        plugin->host, GB_LOG_WARNING,
		        "%s does not exist: PAM uses the 'other' service, which usually refuses "
		        "everybody",
		        path);
	if (plugin->admin_group[0] && group_id(plugin->admin_group, &gid) < 0)
		gb_plugin_log(plugin->host, GB_LOG_WARNING,
		              "settings.admin_group: no group '%s': nobody gets the admin role",
		              plugin->admin_group);
	if (plugin->allowed_group[0] && group_id(plugin->allowed_group, &gid) < 0)
		gb_plugin_log(plugin->host, GB_LOG_WARNING,
		              "settings.allowed_group: no group '%s': nobody can log in",
		              plugin->allowed_group);
	gb_plugin_log(plugin->host, GB_LOG_INFO,
	              "PAM service '%s', accounts from uid %u%s, admin group '%s'%s%s%s",
	              plugin->service, plugin->min_uid, plugin->allow_root ? " and root" : "",
	              plugin->admin_group, plugin->allowed_group[0] ? ", only members of '" : "",
	              plugin->allowed_group, plugin->allowed_group[0] ? "'" : "");
	*state = plugin;
	return 0;

invalid:
	plugin_free(plugin);
	return -EINVAL;
}

static void pam_fini(void *state)
{
	plugin_free(state);
}

/* min_uid and allow_root. NULL when @uid may log in, else why not. */
static const char *uid_problem(const struct pam_plugin *plugin, uid_t uid)
{
	if (uid == 0)
		return plugin->allow_root ? NULL : "is root (settings.allow_root is off)";
	if (uid < plugin->min_uid)
		return "is a system account (uid below settings.min_uid)";
	return NULL;
}

/* -EIO for PAM failing, -EACCES for PAM saying no. */
static int pam_error(int status)
{
	return status == PAM_SYSTEM_ERR || status == PAM_BUF_ERR || status == PAM_ABORT ? -EIO
	                                                                                : -EACCES;
}

/* Fill @identity from the account PAM ended with; -EACCES when it may not log in. */
static int make_identity(const struct pam_plugin *plugin, const char *user,
                         struct gb_identity *identity)
{
	uint32_t roles = GB_ROLE_USER;
	const char *problem;
	uid_t uid;
	gid_t gid;
	int r;

	r = user_ids(user, &uid, &gid);
	if (r < 0) {
		gb_plugin_log(plugin->host, r == -ENOENT ? GB_LOG_INFO : GB_LOG_ERROR,
		              "user '%s': PAM accepted it, but %s%s", user,
		              r == -ENOENT ? "there is no such account"
		                           : "the account lookup failed: ",
		              r == -ENOENT ? "" : strerror(-r));
		return r == -ENOENT ? -EACCES : -EIO;
	}
	if ((problem = uid_problem(plugin, uid))) {
		gb_plugin_log(plugin->host, GB_LOG_INFO, "user '%s' (uid %u) refused: it %s", user,
		              (unsigned)uid, problem);
		return -EACCES;
	}
	if (plugin->allowed_group[0]) {
		r = in_group(user, gid, plugin->allowed_group);
		if (r < 0) {
			gb_plugin_log(plugin->host, GB_LOG_ERROR,
			              "user '%s': cannot read its groups: %s", user, strerror(-r));
			return -EIO;
		}
		if (r == 0) {
			gb_plugin_log(
			        plugin->host, GB_LOG_INFO,
			        "user '%s' refused: not a member of settings.allowed_group '%s'",
			        user, plugin->allowed_group);
			return -EACCES;
		}
	}
	if (plugin->admin_group[0]) {
		r = in_group(user, gid, plugin->admin_group);
		if (r < 0) {
			gb_plugin_log(plugin->host, GB_LOG_ERROR,
			              "user '%s': cannot read its groups: %s", user, strerror(-r));
			return -EIO;
		}
		if (r > 0)
			roles |= GB_ROLE_ADMIN;
	}
	snprintf(identity->user, sizeof(identity->user), "%s", user);
	identity->roles = roles;
	identity->has_system_account = true;
	identity->uid = uid;
	identity->gid = gid;
	return 0;
}

static int pam_verify_password(void *state, const char *user, const char *password,
                               struct gb_identity *identity)
{
	const struct pam_plugin *plugin = state;
	struct conversation_data data = { .plugin = plugin, .user = user, .password = password };
	const struct pam_conv conv = { .conv = conversation, .appdata_ptr = &data };
	const void *item = NULL;
	const char *problem, *step;
	pam_handle_t *handle = NULL;
	char name[GB_IDENTITY_NAME_MAX];
	char text[84]; /* text a module or a client chose: at most 80 and "..." */
	/* PAM takes the function as an item pointer; ISO C has no cast for it. */
	union {
		void (*function)(int, unsigned, void *);
		const void *item;
	} fail_delay = { .function = no_fail_delay };
	uid_t uid;
	gid_t gid;
	int status, r;

	if (!plugin || !user || !password || !identity)
		return -EINVAL;
	if (identity->struct_size < offsetof(struct gb_identity, roles) + sizeof(identity->roles))
		return -EINVAL;

	if ((problem = user_name_problem(user))) {
		gb_printable(text, sizeof(text), user);
		gb_plugin_log(plugin->host, GB_LOG_INFO,
		              "user name '%s' refused before PAM: it %s", text, problem);
		return -EACCES;
	}
	if (password[0] == '\0' || strnlen(password, PASSWORD_MAX + 1) > PASSWORD_MAX) {
		gb_plugin_log(
		        plugin->host, GB_LOG_INFO,
		        "user '%s': password refused before PAM: empty or longer than %d bytes",
		        user, PASSWORD_MAX);
		return -EACCES;
	}
	/* Keep root and system accounts away from PAM altogether, so that
	 * guessing at them cannot trip pam_faillock or fill the logs. */
	if (user_ids(user, &uid, &gid) == 0 && (problem = uid_problem(plugin, uid))) {
		gb_plugin_log(plugin->host, GB_LOG_INFO,
		              "user '%s' (uid %u) refused before PAM: it %s", user, (unsigned)uid,
		              problem);
		return -EACCES;
	}

	step = "pam_start";
	status = pam_start(plugin->service, user, &conv, &handle);
	if (status != PAM_SUCCESS) {
		/* No handle to ask pam_strerror with. */
		gb_plugin_log(plugin->host, GB_LOG_ERROR,
		              "user '%s': pam_start (service '%s') failed: %d", user,
		              plugin->service, status);
		return -EIO;
	}
	step = "pam_set_item(PAM_FAIL_DELAY)";
	status = pam_set_item(handle, PAM_FAIL_DELAY, fail_delay.item);
	if (status == PAM_SUCCESS) {
		step = "pam_authenticate";
		status = pam_authenticate(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (status == PAM_SUCCESS) {
		step = "pam_acct_mgmt";
		status = pam_acct_mgmt(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (status == PAM_SUCCESS) {
		/* Modules may map the name (PAM_USER), e.g. to a canonical one. */
		step = "pam_get_item(PAM_USER)";
		status = pam_get_item(handle, PAM_USER, &item);
		if (status == PAM_SUCCESS && !item)
			status = PAM_USER_UNKNOWN;
	}
	if (status != PAM_SUCCESS) {
		r = pam_error(status);
		gb_plugin_log(plugin->host, r == -EIO ? GB_LOG_ERROR : GB_LOG_INFO,
		              "user '%s': %s (service '%s'): %s%s%s", user, step, plugin->service,
		              pam_strerror(handle, status), data.refusal ? ": " : "",
		              data.refusal ? data.refusal : "");
		pam_end(handle, status);
		return r;
	}
	if ((problem = user_name_problem(item))) {
		gb_printable(text, sizeof(text), item);
		gb_plugin_log(plugin->host, GB_LOG_INFO,
		              "user '%s': PAM changed the name to '%s', which is refused: it %s",
		              user, text, problem);
		pam_end(handle, PAM_SUCCESS);
		return -EACCES;
	}
	snprintf(name, sizeof(name), "%s", (const char *)item);
	pam_end(handle, PAM_SUCCESS);

	return make_identity(plugin, name, identity);
}

static const char *pam_label(void *state)
{
	const struct pam_plugin *plugin = state;

	return plugin ? plugin->label : NULL;
}

static const struct gb_auth_ops pam_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = pam_verify_password,
	.label = pam_label,
};

static const struct gb_plugin_descriptor pam_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = PLUGIN_NAME,
	.version = "1.0.0",
	.description = "system accounts, checked through PAM",
	.options = pam_options,
	.init = pam_init,
	.fini = pam_fini,
	.ops = &pam_ops,
};

GB_PLUGIN_DEFINE(pam_descriptor)
