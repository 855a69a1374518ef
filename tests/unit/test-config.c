/* SPDX-License-Identifier: MIT */
/*
 * glassbox.conf parsing: values, defaults, and that every error names the
 * file, the exact line and the key. Runs with tests/unit as the working
 * directory, so fixtures are data/config/...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "config.h"
#include "gb-build-config.h"

#define NAME "test.conf"

static char error[GB_CONFIG_ERROR_MAX];

/*
 * Load @text and check it is refused with EINVAL and an error starting with
 * @prefix ("FILE:LINE: key '...'") that also holds @detail, on one line.
 */
static void check_refused(const char *text, const char *prefix, const char *detail)
{
	struct gb_config *config;

	memset(error, 0, sizeof(error));
	errno = 0;
	config = gb_config_load_string(text, NAME, error, sizeof(error));
	CU_ASSERT_PTR_NULL(config);
	gb_config_free(config);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(strncmp(error, prefix, strlen(prefix)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, detail));
	CU_ASSERT_PTR_NULL(strchr(error, '\n'));
	if (strncmp(error, prefix, strlen(prefix)) != 0 || !strstr(error, detail))
		fprintf(stderr, "\n    got: %s\n    want: %s ... %s\n", error, prefix, detail);
}

static void test_config__full_file_parses_to_values(void)
{
	struct gb_config *config = gb_config_load("data/config/full.conf", error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->path, "data/config/full.conf");
	CU_ASSERT_EQUAL(config->log_level, GB_LOG_DEBUG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(config->session.command);
	CU_ASSERT_STRING_EQUAL(config->session.command[0], "gimp");
	CU_ASSERT_STRING_EQUAL(config->session.command[1], "--no-splash");
	CU_ASSERT_PTR_NULL(config->session.command[2]);
	CU_ASSERT_EQUAL(config->session.width, 1920);
	CU_ASSERT_EQUAL(config->session.height, 1080);
	CU_ASSERT_EQUAL(config->session.renderer, GB_RENDERER_GL);
	CU_ASSERT_FALSE(config->session.xwayland);
	CU_ASSERT_EQUAL(config->session.stop_grace_ms, 0);
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_layout, "de");
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_variant, "nodeadkeys");
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_model, "pc104");
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_options, "ctrl:nocaps");
	CU_ASSERT_STRING_EQUAL(config->plugins.vendor_dir, "/opt/vendor/plugins.d");
	CU_ASSERT_STRING_EQUAL(config->plugins.config_dir, "/opt/etc/plugins.d");
	CU_ASSERT_STRING_EQUAL(config->plugins.plugin_dir, "/opt/lib/plugins");
	CU_ASSERT_EQUAL(config->session.max_width, 1920);
	CU_ASSERT_EQUAL(config->session.max_height, 1200);
	CU_ASSERT_EQUAL(config->session.max_viewers, 2);
	CU_ASSERT_EQUAL(config->session.idle_timeout_s, 0);
	CU_ASSERT_EQUAL(config->session.memory_max, UINT64_C(1536) << 20);
	CU_ASSERT_EQUAL(config->session.cpu_quota_percent, 250);
	CU_ASSERT_EQUAL(config->session.tasks_max, 512);
	CU_ASSERT_STRING_EQUAL(config->server.listen, "0.0.0.0:443");
	CU_ASSERT_STRING_EQUAL(config->server.tls_certificate, "/etc/ssl/glassbox.pem");
	CU_ASSERT_STRING_EQUAL(config->server.tls_key, "/etc/ssl/private/glassbox.key");
	CU_ASSERT_STRING_EQUAL(config->server.state_dir, "/srv/glassbox");
	CU_ASSERT_STRING_EQUAL(config->server.runtime_dir, "/run/gbx");
	CU_ASSERT_STRING_EQUAL(config->server.web_dir, "/opt/web");
	CU_ASSERT_STRING_EQUAL(config->server.session_binary, "/opt/bin/glassbox-session");
	CU_ASSERT_EQUAL(config->server.spawner, GB_SPAWNER_SYSTEMD);
	CU_ASSERT_EQUAL(config->server.max_sessions, 3);
	CU_ASSERT_EQUAL(config->server.login_lifetime_s, 600);
	CU_ASSERT_STRING_EQUAL(config->server.allowed_origins[0], "https://proxy.example");
	CU_ASSERT_PTR_NULL(config->server.allowed_origins[1]);
	CU_ASSERT_STRING_EQUAL(config->webrtc.ice_addresses[0], "127.0.0.1");
	CU_ASSERT_PTR_NULL(config->webrtc.ice_addresses[1]);
	CU_ASSERT_STRING_EQUAL(config->webrtc.stun_server, "stun://127.0.0.1:3478");
	CU_ASSERT_STRING_EQUAL(config->webrtc.turn_servers[0], "turn://u:p@127.0.0.1:3478");
	CU_ASSERT_EQUAL(config->webrtc.codec, GB_CODEC_CHOICE_VP8);
	CU_ASSERT_STRING_EQUAL(config->webrtc.encoder, "vp8");
	CU_ASSERT_EQUAL(config->webrtc.bitrate_kbps, 2000);
	CU_ASSERT_EQUAL(config->webrtc.max_fps, 30);
	CU_ASSERT_EQUAL(config->webrtc.idle_refresh_ms, 500);
	CU_ASSERT_FALSE(config->webrtc.playout_delay);
	gb_config_free(config);
}

static void check_defaults(const struct gb_config *config)
{
	CU_ASSERT_EQUAL(config->log_level, GB_LOG_INFO);
	CU_ASSERT_PTR_NULL(config->session.command);
	CU_ASSERT_EQUAL(config->session.width, 1280);
	CU_ASSERT_EQUAL(config->session.height, 720);
	CU_ASSERT_EQUAL(config->session.renderer, GB_RENDERER_PIXMAN);
	CU_ASSERT_TRUE(config->session.xwayland);
	CU_ASSERT_EQUAL(config->session.idle_timeout_s, 300);
	CU_ASSERT_EQUAL(config->session.max_viewers, 4);
	CU_ASSERT_EQUAL(config->session.memory_max, 0);
	CU_ASSERT_EQUAL(config->session.cpu_quota_percent, 0);
	CU_ASSERT_EQUAL(config->session.tasks_max, 0);
	CU_ASSERT_STRING_EQUAL(config->session.user, "");
	CU_ASSERT_EQUAL(config->server.spawner, GB_SPAWNER_DIRECT);
	CU_ASSERT_STRING_EQUAL(config->server.listen, "127.0.0.1:8080");
	CU_ASSERT_EQUAL(config->server.max_sessions, 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(config->webrtc.ice_addresses);
	CU_ASSERT_PTR_NULL(config->webrtc.ice_addresses[0]);
	CU_ASSERT_EQUAL(config->webrtc.codec, GB_CODEC_CHOICE_AUTO);
	CU_ASSERT_TRUE(config->webrtc.playout_delay);
	CU_ASSERT_EQUAL(config->session.stop_grace_ms, 5000);
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_layout, "us");
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_variant, "");
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_model, "pc105");
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_options, "");
	CU_ASSERT_STRING_EQUAL(config->plugins.vendor_dir, GB_VENDOR_DROPIN_DIR);
	CU_ASSERT_STRING_EQUAL(config->plugins.config_dir, GB_ETC_DIR "/plugins.d");
	CU_ASSERT_STRING_EQUAL(config->plugins.plugin_dir, GB_PLUGIN_DIR);
	/* Users add no remotes of their own unless the operator says which. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(config->storage.user_remote_types);
	CU_ASSERT_PTR_NULL(config->storage.user_remote_types[0]);
	CU_ASSERT_EQUAL(config->storage.max_user_remotes, 8);
}

static void test_config__new_defaults_has_every_default(void)
{
	struct gb_config *config = gb_config_new_defaults();

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_PTR_NULL(config->path);
	check_defaults(config);
	gb_config_free(config);
}

static void test_config__empty_file_gives_defaults(void)
{
	struct gb_config *config = gb_config_load_string("", NAME, error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->path, NAME);
	check_defaults(config);
	gb_config_free(config);

	/* Empty groups are fine too. */
	config = gb_config_load_string("log = {};\nsession = { keyboard = {}; };\nplugins = {};\n",
	                               NAME, error, sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	check_defaults(config);
	gb_config_free(config);
}

static void test_config__absent_keys_keep_defaults(void)
{
	struct gb_config *config = gb_config_load_string(
	        "session = {\n  width = 800;\n  keyboard = { layout = \"fr\"; };\n};\n", NAME,
	        error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_EQUAL(config->session.width, 800);
	CU_ASSERT_EQUAL(config->session.height, 720);
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_layout, "fr");
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_model, "pc105");
	CU_ASSERT_EQUAL(config->log_level, GB_LOG_INFO);
	CU_ASSERT_STRING_EQUAL(config->plugins.plugin_dir, GB_PLUGIN_DIR);
	gb_config_free(config);
}

static void test_config__accepts_list_and_64_bit_literals(void)
{
	struct gb_config *config = gb_config_load_string(
	        "session = { command = ( \"sh\", \"-c\", \"exec foot\" ); width = 2048L; };\n",
	        NAME, error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->session.command[2], "exec foot");
	CU_ASSERT_PTR_NULL(config->session.command[3]);
	CU_ASSERT_EQUAL(config->session.width, 2048);
	gb_config_free(config);
}

static void test_config__range_bounds_are_inclusive(void)
{
	struct gb_config *config = gb_config_load_string(
	        "session = { width = 64; height = 4320; stop_grace_ms = 600000; };\n", NAME, error,
	        sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_EQUAL(config->session.width, 64);
	CU_ASSERT_EQUAL(config->session.height, 4320);
	CU_ASSERT_EQUAL(config->session.stop_grace_ms, 600000);
	gb_config_free(config);
}

static void test_config__unknown_key_names_line(void)
{
	check_refused("session = {\n  width = 800;\n  widht = 1920;\n};\n",
	              NAME ":3: key 'session.widht': unknown key", "(expected command, width");
	check_refused("log = { level = \"info\"; colour = true; };\n",
	              NAME ":1: key 'log.colour': unknown key", "(expected level)");
	check_refused("session = {\n keyboard = {\n\n  layuot = \"us\";\n };\n};\n",
	              NAME ":4: key 'session.keyboard.layuot': unknown key",
	              "(expected layout, variant, model, options)");
	/* A top-level scalar is an unknown key too. */
	check_refused("\nverbose = true;\n", NAME ":2: key 'verbose': unknown key",
	              "(expected log, server, session, webrtc, files, plugins, storage)");
}

static void test_config__unknown_group_names_line(void)
{
	check_refused("log = {};\n\nhttp = {\n  port = 8443;\n};\n",
	              NAME ":3: key 'http': unknown group",
	              "(expected log, server, session, webrtc, files, plugins, storage)");
	check_refused("session = {\n  mouse = { accel = 1; };\n};\n",
	              NAME ":2: key 'session.mouse': unknown group", "keyboard");
}

static void test_config__wrong_type_names_line(void)
{
	check_refused("session = {\n  width = \"1920\";\n};\n", NAME ":2: key 'session.width'",
	              "expected an integer, got a string");
	check_refused("session = { height = 720.0; };\n", NAME ":1: key 'session.height'",
	              "expected an integer, got a float");
	check_refused("session = {\n\n  xwayland = 1;\n};\n", NAME ":3: key 'session.xwayland'",
	              "expected a boolean (true or false), got an integer");
	check_refused("log = {\n  level = 3;\n};\n", NAME ":2: key 'log.level'",
	              "expected a string, got an integer");
	check_refused("session = {\n  command = \"weston-terminal\";\n};\n",
	              NAME ":2: key 'session.command'",
	              "expected a list of strings, got a string");
	check_refused("session = {\n  width = { x = 1; };\n};\n", NAME ":2: key 'session.width'",
	              "expected an integer, got a group");
	/* A known group given as a scalar. */
	check_refused("log = \"debug\";\n", NAME ":1: key 'log'",
	              "expected a group, got a string");
	check_refused("session = {\n  keyboard = \"us\";\n};\n", NAME ":2: key 'session.keyboard'",
	              "expected a group, got a string");
	/* Command elements must be strings. */
	check_refused("session = {\n  command = ( \"a\",\n    42 );\n};\n",
	              NAME ":3: key 'session.command'", "element 2 is an integer");
}

static void test_config__out_of_range_names_line(void)
{
	check_refused("session = {\n  width = 99999;\n};\n", NAME ":2: key 'session.width'",
	              "value 99999 is out of range 64..7680");
	check_refused("session = {\n  height = 63;\n};\n", NAME ":2: key 'session.height'",
	              "value 63 is out of range 64..4320");
	check_refused("session = {\n  stop_grace_ms = -1;\n};\n",
	              NAME ":2: key 'session.stop_grace_ms'",
	              "value -1 is out of range 0..600000");
	/* A 64-bit value must not wrap into range. */
	check_refused("session = {\n  width = 4294968576L;\n};\n", NAME ":2: key 'session.width'",
	              "value 4294968576 is out of range 64..7680");
}

static void test_config__out_of_range_in_file_names_file_and_line(void)
{
	struct gb_config *config;

	errno = 0;
	config = gb_config_load("data/config/out-of-range.conf", error, sizeof(error));
	CU_ASSERT_PTR_NULL(config);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_STRING_EQUAL(error, "data/config/out-of-range.conf:4: key 'session.height': "
	                              "value 99999 is out of range 64..4320");
}

static void test_config__included_file_is_named_in_errors(void)
{
	struct gb_config *config;

	errno = 0;
	config = gb_config_load("data/config/include-main.conf", error, sizeof(error));
	CU_ASSERT_PTR_NULL(config);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_STRING_EQUAL(error, "data/config/include-session.conf:3: key 'session.width': "
	                              "value 32 is out of range 64..7680");
}

static void test_config__bad_enum_lists_allowed_values(void)
{
	check_refused("log = {\n  level = \"loud\";\n};\n", NAME ":2: key 'log.level'",
	              "value 'loud' is not one of error, warning, info, debug");
	check_refused("session = {\n\n  renderer = \"vulkan\";\n};\n",
	              NAME ":3: key 'session.renderer'",
	              "value 'vulkan' is not one of pixman, gl");
	/* Case matters, as in every other key. */
	check_refused("session = { renderer = \"GL\"; };\n", NAME ":1: key 'session.renderer'",
	              "'GL'");
}

static void test_config__error_stays_one_line(void)
{
	check_refused("log = { level = \"a\\nb\"; };\n", NAME ":1: key 'log.level'", "'a?b'");
}

static void test_config__syntax_error_names_line(void)
{
	struct gb_config *config;

	check_refused("session = {\n  width = 1920;\n  height 1080;\n};\n",
	              NAME ":3: ", "syntax error");
	/* libconfig refuses a key set twice in one group. */
	check_refused("session = {\n  width = 1920;\n  width = 1280;\n};\n",
	              NAME ":3: ", "duplicate");

	errno = 0;
	config = gb_config_load("data/config/syntax-error.conf", error, sizeof(error));
	CU_ASSERT_PTR_NULL(config);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_STRING_EQUAL(error, "data/config/syntax-error.conf:4: syntax error");
}

static void test_config__empty_command_list_is_refused(void)
{
	check_refused("session = {\n  command = [ ];\n};\n", NAME ":2: key 'session.command'",
	              "must hold at least one string");
	check_refused("session = {\n  command = ( );\n};\n", NAME ":2: key 'session.command'",
	              "must hold at least one string");
	check_refused("session = {\n  command = [ \"\" ];\n};\n", NAME ":2: key 'session.command'",
	              "element 1 is empty");
}

static void test_config__string_list_may_be_empty(void)
{
	struct gb_config *config = gb_config_load_string(
	        "webrtc = {\n  ice_addresses = [ ];\n};\n", NAME, error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_PTR_NULL(config->webrtc.ice_addresses[0]);
	gb_config_free(config);
	check_refused("webrtc = {\n  ice_addresses = [ \"\" ];\n};\n",
	              NAME ":2: key 'webrtc.ice_addresses'", "element 1 is empty");
	check_refused("webrtc = {\n  ice_addresses = \"127.0.0.1\";\n};\n",
	              NAME ":2: key 'webrtc.ice_addresses'", "expected a list of strings");
}

static void test_config__storage_user_remotes(void)
{
	struct gb_config *config = gb_config_load_string(
	        "storage = {\n  user_remote_types = [ \"webdav\", \"s3\" ];\n"
	        "  max_user_remotes = 64;\n};\n",
	        NAME, error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->storage.user_remote_types[0], "webdav");
	CU_ASSERT_STRING_EQUAL(config->storage.user_remote_types[1], "s3");
	CU_ASSERT_PTR_NULL(config->storage.user_remote_types[2]);
	CU_ASSERT_EQUAL(config->storage.max_user_remotes, 64);
	gb_config_free(config);

	check_refused("storage = {\n  user_remote_types = [ \"webdav\",\n    \"local\" ];\n};\n",
	              NAME ":3: key 'storage.user_remote_types'",
	              "element 2 is not one of webdav, sftp, s3");
	check_refused("storage = {\n  user_remote_types = [ \"sftp\", \"sftp\" ];\n};\n",
	              NAME ":2: key 'storage.user_remote_types'",
	              "element 2 ('sftp') is listed twice");
	check_refused("storage = {\n  user_remote_types = [ 1 ];\n};\n",
	              NAME ":2: key 'storage.user_remote_types'", "element 1 is not one of");
	check_refused("storage = {\n  user_remote_types = \"webdav\";\n};\n",
	              NAME ":2: key 'storage.user_remote_types'", "expected a list of strings");
	check_refused("storage = {\n\n  max_user_remotes = 0;\n};\n",
	              NAME ":3: key 'storage.max_user_remotes'", "value 0 is out of range 1..64");
	check_refused("storage = { max_user_remotes = 65; };\n",
	              NAME ":1: key 'storage.max_user_remotes'", "value 65 is out of range 1..64");
	check_refused("storage = {\n  remotes = 1;\n};\n", NAME ":2: key 'storage.remotes'",
	              "unknown key (expected user_remote_types, max_user_remotes)");
}

static void test_config__missing_file_is_enoent(void)
{
	struct gb_config *config;

	errno = 0;
	config = gb_config_load("data/config/does-not-exist.conf", error, sizeof(error));
	CU_ASSERT_PTR_NULL(config);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_STRING_EQUAL(error, "data/config/does-not-exist.conf: cannot open: "
	                              "No such file or directory");

	errno = 0;
	config = gb_config_load("data/config", error, sizeof(error));
	CU_ASSERT_PTR_NULL(config);
	CU_ASSERT_EQUAL(errno, EISDIR);
	CU_ASSERT_STRING_EQUAL(error, "data/config: cannot read: Is a directory");
}

static void test_config__shipped_config_parses(void)
{
	const char *root = getenv("GB_SOURCE_ROOT");
	struct gb_config *config;
	char path[4096];

	snprintf(path, sizeof(path), "%s/config/glassbox.conf", root ? root : "../..");
	config = gb_config_load(path, error, sizeof(error));
	if (!config)
		fprintf(stderr, "\n    %s\n", error);
	CU_ASSERT_PTR_NOT_NULL_FATAL(config);

	/* The shipped file documents the defaults; it must not change them. */
	CU_ASSERT_EQUAL(config->log_level, GB_LOG_INFO);
	CU_ASSERT_PTR_NULL(config->storage.user_remote_types[0]);
	CU_ASSERT_EQUAL(config->storage.max_user_remotes, 8);
	CU_ASSERT_EQUAL(config->session.width, 1280);
	CU_ASSERT_EQUAL(config->session.height, 720);
	CU_ASSERT_EQUAL(config->session.renderer, GB_RENDERER_PIXMAN);
	CU_ASSERT_TRUE(config->session.xwayland);
	CU_ASSERT_EQUAL(config->session.stop_grace_ms, 5000);
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_layout, "us");
	CU_ASSERT_STRING_EQUAL(config->session.keyboard_model, "pc105");
	CU_ASSERT_PTR_NOT_NULL_FATAL(config->session.command);
	CU_ASSERT_STRING_EQUAL(config->session.command[0], "weston-terminal");
	/* What `meson install` puts in /etc: never sessions as root (issue 8). */
	CU_ASSERT_EQUAL(config->server.spawner, GB_SPAWNER_SYSTEMD);
	CU_ASSERT_STRING_EQUAL(config->session.user, "");
	CU_ASSERT_EQUAL(config->session.memory_max, 0);
	CU_ASSERT_EQUAL(config->session.cpu_quota_percent, 0);
	CU_ASSERT_EQUAL(config->session.tasks_max, 0);
	CU_ASSERT_STRING_EQUAL(config->plugins.vendor_dir, GB_VENDOR_DROPIN_DIR);
	CU_ASSERT_STRING_EQUAL(config->plugins.config_dir, GB_ETC_DIR "/plugins.d");
	CU_ASSERT_STRING_EQUAL(config->plugins.plugin_dir, GB_PLUGIN_DIR);
	gb_config_free(config);
}

static void test_config__spawner_is_direct_or_systemd(void)
{
	struct gb_config *config = gb_config_load_string("server = { spawner = \"systemd\"; };\n",
	                                                 NAME, error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_EQUAL(config->server.spawner, GB_SPAWNER_SYSTEMD);
	gb_config_free(config);
	check_refused("server = {\n  spawner = \"kubernetes\";\n};\n",
	              NAME ":2: key 'server.spawner'",
	              "value 'kubernetes' is not one of direct, systemd");
}

static void test_config__session_user_is_a_user_name(void)
{
	struct gb_config *config = gb_config_load_string(
	        "session = { user = \"glassbox-demo\"; };\n", NAME, error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->session.user, "glassbox-demo");
	gb_config_free(config);

	config = gb_config_load_string("session = { user = \"_gb0\"; };\n", NAME, error,
	                               sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->session.user, "_gb0");
	gb_config_free(config);

	/* "" is the default: glassboxd's own account. */
	config =
	        gb_config_load_string("session = { user = \"\"; };\n", NAME, error, sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->session.user, "");
	gb_config_free(config);

	check_refused("session = {\n\n  user = 1000;\n};\n", NAME ":3: key 'session.user'",
	              "expected a string (a user name, or \"\"), got an integer");
	check_refused("session = {\n  user = \"../etc\";\n};\n", NAME ":2: key 'session.user'",
	              "'../etc' is not a user name");
	check_refused("session = { user = \"Alice\"; };\n", NAME ":1: key 'session.user'",
	              "'Alice' is not a user name");
	check_refused("session = { user = \"-alice\"; };\n", NAME ":1: key 'session.user'",
	              "'-alice' is not a user name");
	check_refused("session = { user = \"1000\"; };\n", NAME ":1: key 'session.user'",
	              "'1000' is not a user name");
	check_refused("session = { user = \"a b\"; };\n", NAME ":1: key 'session.user'",
	              "'a b' is not a user name");
	check_refused("session = { user = \"abcdefghijklmnopqrstuvwxyz0123456\"; };\n",
	              NAME ":1: key 'session.user'", "is not a user name");
	check_refused("server = { user = \"alice\"; };\n", NAME ":1: key 'server.user'",
	              "unknown key");
}

static void test_config__files_folders_and_upload_size(void)
{
	struct gb_config *config = gb_config_new_defaults();

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->files.uploads_dir, "Uploads");
	CU_ASSERT_STRING_EQUAL(config->files.downloads_dir, "Downloads");
	CU_ASSERT_EQUAL(config->files.max_upload_size, UINT64_C(2) << 30);
	gb_config_free(config);

	config = gb_config_load_string("files = { uploads_dir = \"In/From browser\"; "
	                               "downloads_dir = \"Out\"; max_upload_size = \"10M\"; };\n",
	                               NAME, error, sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_STRING_EQUAL(config->files.uploads_dir, "In/From browser");
	CU_ASSERT_STRING_EQUAL(config->files.downloads_dir, "Out");
	CU_ASSERT_EQUAL(config->files.max_upload_size, UINT64_C(10) << 20);
	gb_config_free(config);

	check_refused("files = {\n  uploads_dir = \"../etc\";\n};\n",
	              NAME ":2: key 'files.uploads_dir'",
	              "'../etc' is not a folder inside the home");
	check_refused("files = { downloads_dir = \"/tmp\"; };\n",
	              NAME ":1: key 'files.downloads_dir'", "is not a folder inside the home");
	check_refused("files = { downloads_dir = \".ssh\"; };\n",
	              NAME ":1: key 'files.downloads_dir'", "is not a folder inside the home");
	check_refused("files = { uploads_dir = \"\"; };\n", NAME ":1: key 'files.uploads_dir'",
	              "is not a folder inside the home");
	check_refused("files = { max_upload_size = \"lots\"; };\n",
	              NAME ":1: key 'files.max_upload_size'", "is not a size");
}

static void test_config__resource_limits_parse(void)
{
	struct gb_config *config = gb_config_load_string(
	        "session = { memory_max = \"4G\"; cpu_quota_percent = 100000; "
	        "tasks_max = 4194304; };\n",
	        NAME, error, sizeof(error));

	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_EQUAL(config->session.memory_max, UINT64_C(4) << 30);
	CU_ASSERT_EQUAL(config->session.cpu_quota_percent, 100000);
	CU_ASSERT_EQUAL(config->session.tasks_max, 4194304);
	gb_config_free(config);

	config = gb_config_load_string("session = { memory_max = \"\"; };\n", NAME, error,
	                               sizeof(error));
	CU_ASSERT_PTR_NOT_NULL_FATAL(config);
	CU_ASSERT_EQUAL(config->session.memory_max, 0);
	gb_config_free(config);

	check_refused("session = {\n  memory_max = \"2 G\";\n};\n",
	              NAME ":2: key 'session.memory_max'", "'2 G' is not a size");
	check_refused("session = {\n  memory_max = \"2GB\";\n};\n",
	              NAME ":2: key 'session.memory_max'", "'2GB' is not a size");
	check_refused("session = {\n  memory_max = \"-1\";\n};\n",
	              NAME ":2: key 'session.memory_max'", "is not a size");
	check_refused("session = {\n  memory_max = \"512\";\n};\n",
	              NAME ":2: key 'session.memory_max'", "size '512' is out of range");
	check_refused("session = {\n  memory_max = \"99999999T\";\n};\n",
	              NAME ":2: key 'session.memory_max'", "out of range");
	check_refused("session = {\n  memory_max = 1073741824;\n};\n",
	              NAME ":2: key 'session.memory_max'", "expected a string");
	check_refused("session = {\n\n  cpu_quota_percent = 100001;\n};\n",
	              NAME ":3: key 'session.cpu_quota_percent'",
	              "value 100001 is out of range 0..100000");
	check_refused("session = {\n  tasks_max = -1;\n};\n", NAME ":2: key 'session.tasks_max'",
	              "value -1 is out of range 0..4194304");
}

static void test_config__parse_bytes(void)
{
	uint64_t bytes = 1;

	CU_ASSERT_EQUAL(gb_config_parse_bytes("", &bytes), 0);
	CU_ASSERT_EQUAL(bytes, 0);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("1048576", &bytes), 0);
	CU_ASSERT_EQUAL(bytes, 1048576);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("1M", &bytes), 0);
	CU_ASSERT_EQUAL(bytes, 1048576);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("1024K", &bytes), 0);
	CU_ASSERT_EQUAL(bytes, 1048576);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("3T", &bytes), 0);
	CU_ASSERT_EQUAL(bytes, UINT64_C(3) << 40);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("4194304T", &bytes), 0);
	CU_ASSERT_EQUAL(bytes, UINT64_C(1) << 62);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("4194305T", &bytes), -ERANGE);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("1048575", &bytes), -ERANGE);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("99999999999999999999", &bytes), -ERANGE);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("1m", &bytes), -EINVAL);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("M", &bytes), -EINVAL);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("1MM", &bytes), -EINVAL);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("+1M", &bytes), -EINVAL);
	CU_ASSERT_EQUAL(gb_config_parse_bytes(" 1M", &bytes), -EINVAL);
	CU_ASSERT_EQUAL(gb_config_parse_bytes("infinity", &bytes), -EINVAL);
	CU_ASSERT_EQUAL(gb_config_parse_bytes(NULL, &bytes), -EINVAL);
	/* Failures leave the value alone. */
	CU_ASSERT_EQUAL(bytes, UINT64_C(1) << 62);
}

static void test_config__free_accepts_null(void)
{
	gb_config_free(NULL);
	CU_PASS("gb_config_free(NULL) returned");
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_config__full_file_parses_to_values),
	GB_UNIT_TEST(test_config__new_defaults_has_every_default),
	GB_UNIT_TEST(test_config__empty_file_gives_defaults),
	GB_UNIT_TEST(test_config__absent_keys_keep_defaults),
	GB_UNIT_TEST(test_config__accepts_list_and_64_bit_literals),
	GB_UNIT_TEST(test_config__range_bounds_are_inclusive),
	GB_UNIT_TEST(test_config__unknown_key_names_line),
	GB_UNIT_TEST(test_config__unknown_group_names_line),
	GB_UNIT_TEST(test_config__wrong_type_names_line),
	GB_UNIT_TEST(test_config__out_of_range_names_line),
	GB_UNIT_TEST(test_config__out_of_range_in_file_names_file_and_line),
	GB_UNIT_TEST(test_config__included_file_is_named_in_errors),
	GB_UNIT_TEST(test_config__bad_enum_lists_allowed_values),
	GB_UNIT_TEST(test_config__error_stays_one_line),
	GB_UNIT_TEST(test_config__syntax_error_names_line),
	GB_UNIT_TEST(test_config__empty_command_list_is_refused),
	GB_UNIT_TEST(test_config__string_list_may_be_empty),
	GB_UNIT_TEST(test_config__storage_user_remotes),
	GB_UNIT_TEST(test_config__missing_file_is_enoent),
	GB_UNIT_TEST(test_config__shipped_config_parses),
	GB_UNIT_TEST(test_config__spawner_is_direct_or_systemd),
	GB_UNIT_TEST(test_config__session_user_is_a_user_name),
	GB_UNIT_TEST(test_config__resource_limits_parse),
	GB_UNIT_TEST(test_config__files_folders_and_upload_size),
	GB_UNIT_TEST(test_config__parse_bytes),
	GB_UNIT_TEST(test_config__free_accepts_null),
};

int main(void)
{
	return GB_UNIT_RUN("config", NULL, NULL, tests);
}
