/* SPDX-License-Identifier: MIT */
/*
 * auth-pam without a PAM stack: its settings (every bad value refused with
 * a line naming the setting), user-name checks made before PAM sees a name,
 * the uid rules, and the conversation function (which prompt gets what, and
 * that prompts nobody can answer fail the conversation).
 *
 * The plugin's source is included, so that its static conversation and
 * checks can be called directly; tests/integration/test-auth-pam.py runs it
 * against a real PAM stack.
 */
#include "../../plugins/auth-pam/auth-pam.c"

#include <CUnit/Basic.h>

#include "unit-test.h"

#define LOG_LINES_MAX 32

static char log_lines[LOG_LINES_MAX][1200];
static enum gb_log_level log_levels[LOG_LINES_MAX];
static int n_log_lines;

/* The plugin's log handle (struct gb_host's logv, ABI 1.2): what gb_plugin_log() calls. */
static void capture_log(const struct gb_host *host, enum gb_log_level level, const char *format,
                        va_list args) __attribute__((format(printf, 3, 0)));

static void capture_log(const struct gb_host *host, enum gb_log_level level, const char *format,
                        va_list args)
{
	if (n_log_lines >= LOG_LINES_MAX)
		return;
	vsnprintf(log_lines[n_log_lines], sizeof(log_lines[0]), format, args);
	log_levels[n_log_lines++] = level;
}

static const struct gb_host host = {
	.struct_size = sizeof(struct gb_host),
	.abi_major = GB_PLUGIN_ABI_MAJOR,
	.abi_minor = GB_PLUGIN_ABI_MINOR,
	.plugin_name = "pam",
	.logv = capture_log,
};

static int log_count(const char *text)
{
	int count = 0;

	for (int i = 0; i < n_log_lines; i++)
		if (strstr(log_lines[i], text))
			count++;
	return count;
}

static void dump_log(void)
{
	for (int i = 0; i < n_log_lines; i++)
		fprintf(stderr, "\n    log: %s", log_lines[i]);
}

/*
 * init() with every option at its default except @key = @value (typed as
 * the option table says; NULL key: all defaults). Returns init's result.
 */
static int start_with(void **state, const char *key, const char *string_value, int64_t int_value)
{
	struct gb_setting items[16];
	struct gb_settings settings = { .count = 0, .items = items };

	n_log_lines = 0;
	*state = NULL;
	for (const struct gb_option *option = pam_options; option->key; option++) {
		struct gb_setting *item = &items[settings.count++];
		bool chosen = key && strcmp(option->key, key) == 0;

		item->key = option->key;
		item->type = option->type;
		switch (option->type) {
		case GB_VALUE_STRING:
			item->value.string = chosen ? string_value : option->default_value;
			break;
		case GB_VALUE_INT:
			item->value.integer =
			        chosen ? int_value : strtoll(option->default_value, NULL, 10);
			break;
		case GB_VALUE_BOOL:
			item->value.boolean = chosen ? int_value != 0
			                             : strcmp(option->default_value, "true") == 0;
			break;
		}
	}
	return gb_plugin_entry()->init(&host, &settings, state);
}

static void stop(void *state)
{
	gb_plugin_entry()->fini(state);
}

static void test_auth_pam__descriptor(void)
{
	const struct gb_plugin_descriptor *descriptor = gb_plugin_entry();
	const struct gb_auth_ops *ops = descriptor->ops;
	static const char *const keys[] = { "service", "admin_group", "allowed_group",
		                            "min_uid", "allow_root",  "label" };
	static const char *const defaults[] = { "glassbox", "glassbox-admin", "",
		                                "1000",     "false",          "System account" };

	CU_ASSERT_EQUAL(descriptor->abi_major, GB_PLUGIN_ABI_MAJOR);
	CU_ASSERT_EQUAL(descriptor->kind, GB_PLUGIN_KIND_AUTH);
	CU_ASSERT_STRING_EQUAL(descriptor->name, "pam");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		CU_ASSERT_STRING_EQUAL(descriptor->options[i].key, keys[i]);
		CU_ASSERT_STRING_EQUAL(descriptor->options[i].default_value, defaults[i]);
	}
	CU_ASSERT_PTR_NULL(descriptor->options[6].key);
	CU_ASSERT_EQUAL(ops->struct_size, sizeof(struct gb_auth_ops));
	CU_ASSERT_PTR_NOT_NULL(ops->verify_password);
	CU_ASSERT_EQUAL(gb_auth_ops_method(ops), GB_AUTH_METHOD_PASSWORD);
	CU_ASSERT(GB_AUTH_OPS_HAS(ops, label));
	/* The accounts live in the system, not in the plugin. */
	CU_ASSERT_FALSE(GB_AUTH_OPS_HAS(ops, list_users));
	CU_ASSERT_FALSE(GB_AUTH_OPS_HAS(ops, add_user));
	CU_ASSERT_FALSE(GB_AUTH_OPS_HAS(ops, set_password));
	CU_ASSERT_FALSE(GB_AUTH_OPS_HAS(ops, remove_user));
}

static void test_auth_pam__defaults_accepted(void)
{
	const struct gb_auth_ops *ops = gb_plugin_entry()->ops;
	struct pam_plugin *plugin;
	void *state;

	CU_ASSERT_EQUAL_FATAL(start_with(&state, NULL, NULL, 0), 0);
	plugin = state;
	CU_ASSERT_STRING_EQUAL(plugin->service, "glassbox");
	CU_ASSERT_STRING_EQUAL(plugin->admin_group, "glassbox-admin");
	CU_ASSERT_STRING_EQUAL(plugin->allowed_group, "");
	CU_ASSERT_EQUAL(plugin->min_uid, 1000);
	CU_ASSERT_FALSE(plugin->allow_root);
	CU_ASSERT_EQUAL(log_count("PAM service 'glassbox', accounts from uid 1000, admin group "
	                          "'glassbox-admin'"),
	                1);
	CU_ASSERT_STRING_EQUAL(ops->label(state), "System account");
	stop(state);

	CU_ASSERT_EQUAL_FATAL(start_with(&state, "label", "Sign in with your box account", 0), 0);
	CU_ASSERT_STRING_EQUAL(ops->label(state), "Sign in with your box account");
	stop(state);
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "admin_group", "", 0), 0);
	CU_ASSERT_EQUAL(log_count("admin group ''"), 1);
	stop(state);
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "admin_group", "domain-admins$", 0), 0);
	stop(state);
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "service", "Glass.box_2-x", 0), 0);
	stop(state);
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "allow_root", NULL, 1), 0);
	CU_ASSERT_EQUAL(log_count("accounts from uid 1000 and root"), 1);
	stop(state);
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "min_uid", NULL, 0), 0);
	stop(state);
}

static void test_auth_pam__missing_groups_warned(void)
{
	void *state;

	CU_ASSERT_EQUAL_FATAL(start_with(&state, "allowed_group", "no-such-group-here", 0), 0);
	CU_ASSERT_EQUAL(log_count("settings.allowed_group: no group 'no-such-group-here': nobody "
	                          "can log in"),
	                1);
	CU_ASSERT_EQUAL(log_count("only members of 'no-such-group-here'"), 1);
	stop(state);
	CU_ASSERT_EQUAL_FATAL(start_with(&state, "admin_group", "no-such-group-here", 0), 0);
	CU_ASSERT_EQUAL(log_count("settings.admin_group: no group 'no-such-group-here': nobody "
	                          "gets the admin role"),
	                1);
	stop(state);
}

/* @key = @value is refused with -EINVAL and one error line holding @expected. */
static void check_refused(const char *key, const char *value, int64_t number, const char *expected)
{
	void *state;

	CU_ASSERT_EQUAL(start_with(&state, key, value, number), -EINVAL);
	CU_ASSERT_PTR_NULL(state);
	CU_ASSERT_EQUAL(n_log_lines, 1);
	CU_ASSERT_EQUAL(log_levels[0], GB_LOG_ERROR);
	CU_ASSERT_EQUAL(log_count(expected), 1);
	if (n_log_lines != 1 || log_count(expected) != 1) {
		fprintf(stderr, "\n    want: %s", expected);
		dump_log();
	}
}

static void test_auth_pam__bad_settings_refused(void)
{
	char long_label[80];

	check_refused("service", "", 0, "settings.service: the PAM service name is empty");
	check_refused("service", "../../tmp/evil", 0,
	              "settings.service: the PAM service name starts with '.' or '-'");
	check_refused("service", "pam.d/glassbox", 0,
	              "settings.service: the PAM service name holds a character other than "
	              "A-Z a-z 0-9 . _ -");
	check_refused("service", NULL, 0, "settings.service: the PAM service name is missing");
	check_refused("admin_group", "Admins", 0,
	              "settings.admin_group: the group name does not start with a-z or _");
	check_refused("admin_group", "glassbox admin", 0,
	              "settings.admin_group: the group name holds a character other than a-z "
	              "0-9 _ -");
	check_refused("allowed_group", "0users", 0,
	              "settings.allowed_group: the group name does not start with a-z or _");
	check_refused("allowed_group", "a-group-name-that-is-far-too-long", 0,
	              "settings.allowed_group: the group name is longer than 32 characters");
	check_refused("label", "", 0, "settings.label is empty");
	check_refused("label", "two\nlines", 0, "settings.label holds a control character");
	memset(long_label, 'x', 65);
	long_label[65] = '\0';
	check_refused("label", long_label, 0, "settings.label is longer than 64 bytes");
	/* The host range-checks it too; the plugin does not rely on that. */
	check_refused("min_uid", NULL, -1, "settings.min_uid: -1 is out of range 0..4294967294");
	check_refused("min_uid", NULL, 4294967295LL,
	              "settings.min_uid: 4294967295 is out of range 0..4294967294");
}

static void test_auth_pam__user_names(void)
{
	char name[40];

	CU_ASSERT_PTR_NULL(user_name_problem("alice"));
	CU_ASSERT_PTR_NULL(user_name_problem("_svc"));
	CU_ASSERT_PTR_NULL(user_name_problem("a0_-z"));
	memset(name, 'a', 32);
	name[32] = '\0';
	CU_ASSERT_PTR_NULL(user_name_problem(name));
	name[32] = 'a';
	name[33] = '\0';
	CU_ASSERT_STRING_EQUAL(user_name_problem(name), "is longer than 32 characters");
	CU_ASSERT_STRING_EQUAL(user_name_problem(""), "is empty");
	CU_ASSERT_STRING_EQUAL(user_name_problem("Alice"), "does not start with a-z or _");
	CU_ASSERT_STRING_EQUAL(user_name_problem("1alice"), "does not start with a-z or _");
	CU_ASSERT_STRING_EQUAL(user_name_problem("-alice"), "does not start with a-z or _");
	CU_ASSERT_STRING_EQUAL(user_name_problem("al.ice"),
	                       "holds a character other than a-z 0-9 _ -");
	CU_ASSERT_STRING_EQUAL(user_name_problem("alIce"),
	                       "holds a character other than a-z 0-9 _ -");
	CU_ASSERT_STRING_EQUAL(user_name_problem("al ice"),
	                       "holds a character other than a-z 0-9 _ -");
	CU_ASSERT_STRING_EQUAL(user_name_problem("alice\n"),
	                       "holds a character other than a-z 0-9 _ -");
	CU_ASSERT_STRING_EQUAL(user_name_problem("alice@example.com"),
	                       "holds a character other than a-z 0-9 _ -");
	CU_ASSERT_PTR_NULL(group_name_problem("machine$"));
	CU_ASSERT_PTR_NOT_NULL(group_name_problem("$"));
	CU_ASSERT_PTR_NOT_NULL(group_name_problem("ma$chine"));
}

static int verify(void *state, const char *user, const char *password,
                  struct gb_identity *identity)
{
	memset(identity, 0, sizeof(*identity));
	identity->struct_size = sizeof(*identity);
	return pam_verify_password(state, user, password, identity);
}

static void test_auth_pam__refused_before_pam(void)
{
	struct gb_identity identity;
	char password[1100];
	void *state;

	CU_ASSERT_EQUAL_FATAL(start_with(&state, NULL, NULL, 0), 0);
	n_log_lines = 0;
	/* Bad names never reach PAM, and the log shows them made safe. */
	CU_ASSERT_EQUAL(verify(state, "Root", "pw", &identity), -EACCES);
	CU_ASSERT_EQUAL(log_count("user name 'Root' refused before PAM: it does not start"), 1);
	CU_ASSERT_EQUAL(verify(state, "a\x1b[2Jb", "pw", &identity), -EACCES);
	CU_ASSERT_EQUAL(log_count("user name 'a?[2Jb' refused before PAM"), 1);
	CU_ASSERT_EQUAL(verify(state, "", "pw", &identity), -EACCES);
	CU_ASSERT_EQUAL(log_count("user name '' refused before PAM: it is empty"), 1);

	/* Passwords: none, and more than 1024 bytes, are refused; never logged. */
	CU_ASSERT_EQUAL(verify(state, "alice", "", &identity), -EACCES);
	memset(password, 'p', 1025);
	password[1025] = '\0';
	CU_ASSERT_EQUAL(verify(state, "alice", password, &identity), -EACCES);
	CU_ASSERT_EQUAL(log_count("user 'alice': password refused before PAM: empty or longer "
	                          "than 1024 bytes"),
	                2);
	CU_ASSERT_EQUAL(log_count("ppppp"), 0);

	/* root (uid 0) and system accounts (uid 1: daemon on Debian). */
	CU_ASSERT_EQUAL(verify(state, "root", "pw", &identity), -EACCES);
	CU_ASSERT_EQUAL(log_count("user 'root' (uid 0) refused before PAM: it is root "
	                          "(settings.allow_root is off)"),
	                1);
	CU_ASSERT_EQUAL(verify(state, "daemon", "pw", &identity), -EACCES);
	CU_ASSERT_EQUAL(log_count("user 'daemon' (uid 1) refused before PAM: it is a system "
	                          "account (uid below settings.min_uid)"),
	                1);
	CU_ASSERT_STRING_EQUAL(identity.user, "");

	/* A host with an identity older than 1.0 is refused, not overrun. */
	memset(&identity, 0, sizeof(identity));
	identity.struct_size = 8;
	CU_ASSERT_EQUAL(pam_verify_password(state, "alice", "pw", &identity), -EINVAL);
	CU_ASSERT_EQUAL(pam_verify_password(state, NULL, "pw", &identity), -EINVAL);
	stop(state);
}

static void test_auth_pam__uid_rules(void)
{
	struct pam_plugin plugin = { .min_uid = 1000 };

	CU_ASSERT_PTR_NOT_NULL(uid_problem(&plugin, 0));
	CU_ASSERT_PTR_NOT_NULL(uid_problem(&plugin, 999));
	CU_ASSERT_PTR_NULL(uid_problem(&plugin, 1000));
	CU_ASSERT_PTR_NULL(uid_problem(&plugin, 60000));
	plugin.allow_root = true;
	CU_ASSERT_PTR_NULL(uid_problem(&plugin, 0));
	CU_ASSERT_PTR_NOT_NULL(uid_problem(&plugin, 1));
	plugin.min_uid = 0;
	plugin.allow_root = false;
	/* min_uid 0 still keeps root out unless allow_root says otherwise. */
	CU_ASSERT_PTR_NOT_NULL(uid_problem(&plugin, 0));
	CU_ASSERT_PTR_NULL(uid_problem(&plugin, 1));

	CU_ASSERT_EQUAL(pam_error(PAM_AUTH_ERR), -EACCES);
	CU_ASSERT_EQUAL(pam_error(PAM_USER_UNKNOWN), -EACCES);
	CU_ASSERT_EQUAL(pam_error(PAM_ACCT_EXPIRED), -EACCES);
	CU_ASSERT_EQUAL(pam_error(PAM_NEW_AUTHTOK_REQD), -EACCES);
	CU_ASSERT_EQUAL(pam_error(PAM_PERM_DENIED), -EACCES);
	CU_ASSERT_EQUAL(pam_error(PAM_CONV_ERR), -EACCES);
	CU_ASSERT_EQUAL(pam_error(PAM_MAXTRIES), -EACCES);
	CU_ASSERT_EQUAL(pam_error(PAM_SYSTEM_ERR), -EIO);
	CU_ASSERT_EQUAL(pam_error(PAM_BUF_ERR), -EIO);
	CU_ASSERT_EQUAL(pam_error(PAM_ABORT), -EIO);
}

/* Run the conversation on @count messages of the given styles. */
static int converse(struct conversation_data *data, int count, const int *styles,
                    struct pam_response **responses)
{
	struct pam_message messages[CONVERSATION_MESSAGES_MAX + 2];
	const struct pam_message *pointers[CONVERSATION_MESSAGES_MAX + 2];

	for (int i = 0; i < count; i++) {
		messages[i].msg_style = styles[i];
		messages[i].msg = styles[i] == PAM_PROMPT_ECHO_OFF ? "Password: "
		                  : styles[i] == PAM_PROMPT_ECHO_ON
		                          ? "login: "
		                          : "Your\taccount \x1b[1mexpires";
		pointers[i] = &messages[i];
	}
	n_log_lines = 0;
	return conversation(count, pointers, responses, data);
}

static void free_responses(struct pam_response *responses, int count)
{
	for (int i = 0; responses && i < count; i++)
		free(responses[i].resp);
	free(responses);
}

static void test_auth_pam__conversation_answers(void)
{
	struct pam_plugin plugin = { .host = &host };
	struct conversation_data data = { .plugin = &plugin,
		                          .user = "alice",
		                          .password = "correct horse" };
	const int styles[] = { PAM_TEXT_INFO, PAM_PROMPT_ECHO_ON, PAM_PROMPT_ECHO_OFF,
		               PAM_ERROR_MSG };
	struct pam_response *responses = NULL;

	CU_ASSERT_EQUAL_FATAL(converse(&data, 4, styles, &responses), PAM_SUCCESS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(responses);
	CU_ASSERT_PTR_NULL(responses[0].resp);
	CU_ASSERT_STRING_EQUAL(responses[1].resp, "alice");
	CU_ASSERT_STRING_EQUAL(responses[2].resp, "correct horse");
	CU_ASSERT_PTR_NULL(responses[3].resp);
	CU_ASSERT_EQUAL(responses[1].resp_retcode, 0);
	/* Texts go to the debug log, on one line each, control characters made safe. */
	CU_ASSERT_EQUAL(n_log_lines, 2);
	CU_ASSERT_EQUAL(log_count("user 'alice': PAM says: Your?account ?[1mexpires"), 2);
	CU_ASSERT_EQUAL(log_levels[0], GB_LOG_DEBUG);
	CU_ASSERT_PTR_NULL(data.refusal);
	free_responses(responses, 4);

	/* A second password prompt (a stacked module) gets the password again. */
	responses = NULL;
	CU_ASSERT_EQUAL_FATAL(converse(&data, 2,
	                               (const int[]){ PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_OFF },
	                               &responses),
	                      PAM_SUCCESS);
	CU_ASSERT_STRING_EQUAL(responses[0].resp, "correct horse");
	CU_ASSERT_STRING_EQUAL(responses[1].resp, "correct horse");
	/* The answers are copies PAM may free. */
	CU_ASSERT_PTR_NOT_EQUAL(responses[0].resp, data.password);
	free_responses(responses, 2);
}

static void test_auth_pam__conversation_refuses_unexpected(void)
{
	struct pam_plugin plugin = { .host = &host };
	struct conversation_data data = { .plugin = &plugin,
		                          .user = "alice",
		                          .password = "correct horse" };
	int styles[CONVERSATION_MESSAGES_MAX + 1];
	struct pam_response *responses = (struct pam_response *)&data;

	/* A binary prompt after a password prompt: all fails, nothing is returned. */
	CU_ASSERT_EQUAL(converse(&data, 2, (const int[]){ PAM_PROMPT_ECHO_OFF, PAM_BINARY_PROMPT },
	                         &responses),
	                PAM_CONV_ERR);
	CU_ASSERT_PTR_NULL(responses);
	CU_ASSERT_STRING_EQUAL(data.refusal, "a module sent a binary prompt");

	data.refusal = NULL;
	CU_ASSERT_EQUAL(converse(&data, 1, (const int[]){ 77 }, &responses), PAM_CONV_ERR);
	CU_ASSERT_PTR_NULL(responses);
	CU_ASSERT_STRING_EQUAL(data.refusal, "a module sent a message of unknown style");

	/* No message, or more than anyone should ask at once. */
	data.refusal = NULL;
	CU_ASSERT_EQUAL(converse(&data, 0, styles, &responses), PAM_CONV_ERR);
	CU_ASSERT_PTR_NULL(responses);
	for (int i = 0; i < CONVERSATION_MESSAGES_MAX + 1; i++)
		styles[i] = PAM_PROMPT_ECHO_OFF;
	data.refusal = NULL;
	CU_ASSERT_EQUAL(converse(&data, CONVERSATION_MESSAGES_MAX + 1, styles, &responses),
	                PAM_CONV_ERR);
	CU_ASSERT_PTR_NULL(responses);
	CU_ASSERT_STRING_EQUAL(data.refusal, "a module sent too many messages at once");
	CU_ASSERT_EQUAL(converse(&data, CONVERSATION_MESSAGES_MAX, styles, &responses),
	                PAM_SUCCESS);
	free_responses(responses, CONVERSATION_MESSAGES_MAX);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_auth_pam__descriptor),
	GB_UNIT_TEST(test_auth_pam__defaults_accepted),
	GB_UNIT_TEST(test_auth_pam__missing_groups_warned),
	GB_UNIT_TEST(test_auth_pam__bad_settings_refused),
	GB_UNIT_TEST(test_auth_pam__user_names),
	GB_UNIT_TEST(test_auth_pam__refused_before_pam),
	GB_UNIT_TEST(test_auth_pam__uid_rules),
	GB_UNIT_TEST(test_auth_pam__conversation_answers),
	GB_UNIT_TEST(test_auth_pam__conversation_refuses_unexpected),
};

int main(void)
{
	return GB_UNIT_RUN("auth-pam", NULL, NULL, tests);
}
