/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader against the small plugins in tests/plugins/ and the
 * example plugin in plugins/auth-example/. Every refusal must return the
 * right errno, leave the registry as it was and log exactly one line naming
 * the file and the reason, so each test captures stderr around the call.
 *
 * Drop-ins are built in memory: the drop-in parser has its own tests.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <glassbox/auth.h>
#include <glassbox/capture.h>
#include <glassbox/encoder.h>
#include <glassbox/storage.h>

#include "log.h"
#include "plugin-loader.h"

#define DROPIN_PATH "/etc/glassbox/plugins.d/50-test.ini"

/* The build's tests/plugins folder, as meson passes it in GLASSBOX_PLUGIN_PATH. */
static char *plugin_dir;
static const char *build_root;

/* Shared by every test; the suite's teardown clears it, even after a fatal assert. */
static struct gb_plugin_registry registry;

/* What plugins logged through the host (not the loader's own lines). */
static char host_log[8192];
static struct gb_host test_host;

/* What the loader wrote to stderr during the last captured call. */
static char captured[16384];

__attribute__((format(printf, 4, 5))) static void test_host_log(const struct gb_host *host,
                                                                const char *plugin,
                                                                enum gb_log_level level,
                                                                const char *format, ...)
{
	size_t used = strlen(host_log);
	va_list args;

	snprintf(host_log + used, sizeof(host_log) - used, "%s: ", plugin ? plugin : "");
	used = strlen(host_log);
	va_start(args, format);
	vsnprintf(host_log + used, sizeof(host_log) - used, format, args);
	va_end(args);
	used = strlen(host_log);
	snprintf(host_log + used, sizeof(host_log) - used, "\n");
}

struct capture {
	int saved_fd;
	int fd;
};

/*
 * Point stderr at a memory file. gb_log_init() runs after the switch because
 * it decides once whether stderr is the journal.
 */
static int capture_start(struct capture *capture)
{
	fflush(stderr);
	capture->fd = memfd_create("gb-test-log", MFD_CLOEXEC);
	if (capture->fd < 0)
		return -errno;
	capture->saved_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (capture->saved_fd < 0 || dup2(capture->fd, STDERR_FILENO) < 0) {
		int r = -errno;

		if (capture->saved_fd >= 0)
			close(capture->saved_fd);
		close(capture->fd);
		return r;
	}
	gb_log_init("test-plugin-loader", GB_LOG_INFO);
	return 0;
}

static void capture_stop(struct capture *capture)
{
	ssize_t n;

	fflush(stderr);
	dup2(capture->saved_fd, STDERR_FILENO);
	close(capture->saved_fd);
	gb_log_init("test-plugin-loader", GB_LOG_INFO);

	n = pread(capture->fd, captured, sizeof(captured) - 1, 0);
	captured[n > 0 ? n : 0] = '\0';
	close(capture->fd);
	/* Show what was captured in the test's own output, for whoever reads a failure. */
	fputs(captured, stderr);
}

static int count_lines(const char *text)
{
	int lines = 0;

	for (; *text; text++)
		lines += *text == '\n';
	return lines;
}

static int load_captured(const struct gb_dropin *dropin)
{
	struct capture capture;
	int r;

	captured[0] = '\0';
	if (capture_start(&capture) < 0) {
		CU_FAIL("cannot capture stderr");
		return gb_plugin_registry_load(&registry, dropin);
	}
	r = gb_plugin_registry_load(&registry, dropin);
	capture_stop(&capture);
	return r;
}

static int load_all_captured(const struct gb_dropin_set *set)
{
	struct capture capture;
	int r;

	captured[0] = '\0';
	if (capture_start(&capture) < 0) {
		CU_FAIL("cannot capture stderr");
		return gb_plugin_registry_load_all(&registry, set);
	}
	r = gb_plugin_registry_load_all(&registry, set);
	capture_stop(&capture);
	return r;
}

/*
 * A refusal: the errno, the registry untouched, one error line holding both
 * needles. A macro so that CUnit reports the caller's line.
 */
#define ASSERT_REFUSED(dropin, expected_errno, needle, reason)                                    \
	do {                                                                                      \
		size_t count_before = registry.count;                                             \
		int r_ = load_captured(dropin);                                                   \
		CU_ASSERT_EQUAL(r_, expected_errno);                                              \
		CU_ASSERT_EQUAL(registry.count, count_before);                                    \
		CU_ASSERT_EQUAL(count_lines(captured), 1);                                        \
		CU_ASSERT_PTR_NOT_NULL(strstr(captured, " error: "));                             \
		CU_ASSERT_PTR_NOT_NULL(strstr(captured, needle));                                 \
		CU_ASSERT_PTR_NOT_NULL(strstr(captured, reason));                                 \
	} while (0)

static struct gb_dropin make_dropin(enum gb_plugin_kind kind, const char *name)
{
	struct gb_dropin dropin = {
		.path = (char *)DROPIN_PATH,
		.kind_name = (char *)gb_plugin_kind_to_string(kind),
		.kind = kind,
		.name = (char *)name,
		.enabled = true,
	};
	return dropin;
}

#define SETTING(k, v, l)                                                                          \
	{                                                                                         \
		.key = (char *)(k), .value = (char *)(v), .line = (l)                             \
	}

/* <plugin_dir>/<file> */
static const char *plugin_file(char buffer[PATH_MAX], const char *file)
{
	snprintf(buffer, PATH_MAX, "%s/%s", plugin_dir, file);
	return buffer;
}

static int init_registry(void)
{
	return gb_plugin_registry_init(&registry, &test_host, "/nonexistent/glassbox/plugins");
}

static void setup(void)
{
	host_log[0] = '\0';
	captured[0] = '\0';
	setenv("GLASSBOX_PLUGIN_PATH", plugin_dir, 1);
}

static void teardown(void)
{
	gb_plugin_registry_clear(&registry);
	setenv("GLASSBOX_PLUGIN_PATH", plugin_dir, 1);
}

static void test_plugin_loader__loads_and_unloads_auth_plugin(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "good");
	struct gb_identity identity = { .struct_size = sizeof(identity) };
	const struct gb_auth_ops *ops;
	struct gb_plugin *plugin;
	char path[PATH_MAX], expected[PATH_MAX + 64];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL(load_captured(&dropin), 0);
	CU_ASSERT_EQUAL(registry.count, 1);
	CU_ASSERT_EQUAL(count_lines(captured), 1);
	snprintf(expected, sizeof(expected),
	         " info: good: loaded auth-good 1.2.3 (ABI %d.%d) from %s\n", GB_PLUGIN_ABI_MAJOR,
	         GB_PLUGIN_ABI_MINOR, plugin_file(path, "auth-good.so"));
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, expected));
	CU_ASSERT_STRING_EQUAL(host_log, "good: init\n");

	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "good");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	CU_ASSERT_STRING_EQUAL(plugin->path, path);
	CU_ASSERT_PTR_NULL(gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_CAPTURE, "good"));
	CU_ASSERT_PTR_NULL(gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "bad"));

	ops = plugin->descriptor->ops;
	CU_ASSERT_EQUAL(ops->verify_password(plugin->state, "alice", "wonderland", &identity), 0);
	CU_ASSERT_STRING_EQUAL(identity.user, "alice");
	CU_ASSERT_EQUAL(identity.roles, GB_ROLE_USER);
	CU_ASSERT_EQUAL(ops->verify_password(plugin->state, "alice", "looking-glass", &identity),
	                -EACCES);

	gb_plugin_registry_clear(&registry);
	CU_ASSERT_STRING_EQUAL(host_log, "good: init\ngood: fini\n");
	CU_ASSERT_EQUAL(registry.count, 0);
	CU_ASSERT_PTR_NULL(registry.plugins);
	CU_ASSERT_PTR_NULL(registry.search_path);
}

static void test_plugin_loader__refuses_invalid_name(void)
{
	static const char *const names[] = { "../auth-good", "a/b",       "..", "x..y", "",
		                             "Good",         "evil\nline" };

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, names[i]);

		ASSERT_REFUSED(&dropin, -EINVAL, DROPIN_PATH, "invalid plugin name");
	}
	{
		struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, NULL);

		ASSERT_REFUSED(&dropin, -EINVAL, DROPIN_PATH, "invalid plugin name");
	}
}

static void test_plugin_loader__refuses_unknown_kind(void)
{
	struct gb_dropin dropin = make_dropin((enum gb_plugin_kind)42, "good");

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EINVAL, DROPIN_PATH, "unknown plugin kind 42");
}

static void test_plugin_loader__refuses_missing_file(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "missing");

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -ENOENT, "plugin auth-missing.so not found in", plugin_dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, DROPIN_PATH));
}

static void test_plugin_loader__refuses_file_that_is_not_elf(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "garbage");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -ENOEXEC, plugin_file(path, "auth-garbage.so"), "cannot load");
}

static void test_plugin_loader__refuses_missing_entry_symbol(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "noentry");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -ENOSYS, plugin_file(path, "auth-noentry.so"),
	               "no entry symbol " GB_PLUGIN_ENTRY_SYMBOL);
}

static void test_plugin_loader__refuses_null_descriptor(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "nulldesc");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EBADMSG, plugin_file(path, "auth-nulldesc.so"),
	               "returned no descriptor");
}

static void test_plugin_loader__refuses_small_descriptor(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "smalldesc");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EBADMSG, plugin_file(path, "auth-smalldesc.so"),
	               "descriptor struct_size is 16 bytes");
}

static void test_plugin_loader__refuses_abi_major_mismatch(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "abi2");
	char path[PATH_MAX], expected[PATH_MAX + 64];

	snprintf(expected, sizeof(expected), "plugin %s built for ABI 2.0, host is %d.%d",
	         plugin_file(path, "auth-abi2.so"), GB_PLUGIN_ABI_MAJOR, GB_PLUGIN_ABI_MINOR);
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EPROTO, path, expected);
}

static void test_plugin_loader__refuses_newer_abi_minor(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "minor99");
	char path[PATH_MAX], expected[PATH_MAX + 64];

	snprintf(expected, sizeof(expected), "plugin %s built for ABI %d.99, host is %d.%d",
	         plugin_file(path, "auth-minor99.so"), GB_PLUGIN_ABI_MAJOR, GB_PLUGIN_ABI_MAJOR,
	         GB_PLUGIN_ABI_MINOR);
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EPROTO, path, expected);
}

static void test_plugin_loader__gives_each_plugin_its_log_handle(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "good");
	struct gb_plugin *plugin;

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL_FATAL(load_captured(&dropin), 0);
	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "good");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	/* The plugin's own copy of the host, carrying its name and every 1.2 member. */
	CU_ASSERT_PTR_NOT_EQUAL(&plugin->host, &test_host);
	CU_ASSERT_EQUAL(plugin->host.struct_size, sizeof(struct gb_host));
	CU_ASSERT_EQUAL(plugin->host.abi_minor, GB_PLUGIN_ABI_MINOR);
	CU_ASSERT_STRING_EQUAL(plugin->host.plugin_name, "good");
	CU_ASSERT_PTR_NOT_NULL(plugin->host.logv);
	/* test_host has no logv: the handle goes through its log(), tagged with the name. */
	host_log[0] = '\0';
	gb_plugin_log(&plugin->host, GB_LOG_INFO, "%s %d", "tagged", 1);
	CU_ASSERT_STRING_EQUAL(host_log, "good: tagged 1\n");
	/* auth-good's fini() logs through the handle. */
	gb_plugin_registry_clear(&registry);
	CU_ASSERT_STRING_EQUAL(host_log, "good: tagged 1\ngood: fini\n");
}

static void test_plugin_loader__loads_older_abi_minor(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "minor1");
	char path[PATH_MAX], expected[PATH_MAX + 64];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL(load_captured(&dropin), 0);
	snprintf(expected, sizeof(expected), "loaded auth-minor1 1.1.0 (ABI %d.1) from %s",
	         GB_PLUGIN_ABI_MAJOR, plugin_file(path, "auth-minor1.so"));
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, expected));
	/* Its 1.0 log() still works on the 1.2 host it was handed. */
	snprintf(expected, sizeof(expected), "minor1: init on a host of ABI %d.%d\n",
	         GB_PLUGIN_ABI_MAJOR, GB_PLUGIN_ABI_MINOR);
	CU_ASSERT_STRING_EQUAL(host_log, expected);
}

static void test_plugin_loader__refuses_kind_mismatch(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "kindmismatch");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EINVAL, plugin_file(path, "auth-kindmismatch.so"),
	               "declares kind capture, but drop-in " DROPIN_PATH " asks for kind auth");
}

static void test_plugin_loader__refuses_name_mismatch(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "namemismatch");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EINVAL, plugin_file(path, "auth-namemismatch.so"),
	               "declares name 'other', but drop-in " DROPIN_PATH
	               " asks for 'namemismatch'");
}

static void test_plugin_loader__refuses_duplicate(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "good");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL_FATAL(load_captured(&dropin), 0);
	ASSERT_REFUSED(&dropin, -EEXIST, plugin_file(path, "auth-good.so"), "already loaded");
	/* The second copy never ran: not even its constructors or init(). */
	CU_ASSERT_STRING_EQUAL(host_log, "good: init\n");
	CU_ASSERT_EQUAL(registry.count, 1);
}

static void test_plugin_loader__refuses_auth_without_ops(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "noops");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EBADMSG, plugin_file(path, "auth-noops.so"),
	               "ops (struct gb_auth_ops) are 0 bytes");
}

static void test_plugin_loader__refuses_too_small_vtable(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "tinyvtable");
	char path[PATH_MAX], expected[128];

	snprintf(expected, sizeof(expected),
	         "ops (struct gb_auth_ops) are 4 bytes, host needs at least %zu",
	         offsetof(struct gb_auth_ops, verify_password) + sizeof(void (*)(void)));
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EBADMSG, plugin_file(path, "auth-tinyvtable.so"), expected);
}

static void test_plugin_loader__refuses_null_verify_password(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "nullverify");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EBADMSG, plugin_file(path, "auth-nullverify.so"),
	               "verify_password is NULL");
}

static void test_plugin_loader__loads_redirect_only_auth_plugin(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "redirect");
	struct gb_identity identity = { .struct_size = sizeof(identity) };
	const struct gb_auth_ops *ops;
	struct gb_plugin *plugin;
	char url[256], why[128] = "";

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL(load_captured(&dropin), 0);
	CU_ASSERT_EQUAL(registry.count, 1);
	CU_ASSERT_EQUAL(count_lines(captured), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, " info: redirect: loaded auth-redirect 1.1.0"));
	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "redirect");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);

	/* What the host looks at to call it: the method, the label, the two ops. */
	ops = plugin->descriptor->ops;
	CU_ASSERT_PTR_NULL(ops->verify_password);
	CU_ASSERT_EQUAL(gb_auth_ops_method(ops), GB_AUTH_METHOD_REDIRECT);
	CU_ASSERT(GB_AUTH_OPS_HAS(ops, label));
	CU_ASSERT_STRING_EQUAL(ops->label(plugin->state), "Sign in with Example");
	CU_ASSERT_FALSE(GB_AUTH_OPS_HAS(ops, add_user));
	CU_ASSERT_EQUAL(ops->begin_login(plugin->state, "http://127.0.0.1/cb", url, sizeof(url)),
	                0);
	CU_ASSERT_STRING_EQUAL(url, "https://idp.example/authorize?state=s1&redirect_uri=http://"
	                            "127.0.0.1/cb");
	CU_ASSERT_EQUAL(ops->finish_login(plugin->state, "http://127.0.0.1/cb", "bad", "s1",
	                                  &identity, why, sizeof(why)),
	                -EACCES);
	CU_ASSERT_STRING_EQUAL(why, "the provider refused the code");
	CU_ASSERT_EQUAL(ops->finish_login(plugin->state, "http://127.0.0.1/cb", "good-code", "s1",
	                                  &identity, why, sizeof(why)),
	                0);
	CU_ASSERT_STRING_EQUAL(identity.user, "oidc-user");
}

static void test_plugin_loader__refuses_begin_login_without_finish_login(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "halfredirect");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EBADMSG, plugin_file(path, "auth-halfredirect.so"),
	               "ops begin_login is set but finish_login is not");
}

static void test_plugin_loader__refuses_option_declared_twice(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_STORAGE, "dupoption");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EBADMSG, plugin_file(path, "storage-dupoption.so"),
	               "option 'fps' is declared twice");
}

/* ABI 1.3: a storage plugin with its vtable loads, and its ops answer as documented. */
static void test_plugin_loader__loads_storage_plugin(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_STORAGE, "good");
	const struct gb_storage_user user = {
		.struct_size = sizeof(user),
		.identity_namespace = "local",
		.user = "alice",
		.identity = "local:alice",
		.home = "/home/alice",
		.uid = 1000,
		.gid = 1000,
	};
	const struct gb_storage_ops *ops;
	struct gb_storage_status status = { .struct_size = sizeof(status) };
	struct gb_storage_mount *mounts = NULL;
	struct gb_plugin *plugin;
	char error[64] = "";
	size_t n_mounts = 0;

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL_FATAL(load_captured(&dropin), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, "loaded storage-good 1.0.0 (ABI 1.3)"));
	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_STORAGE, "good");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	ops = plugin->descriptor->ops;
	CU_ASSERT_EQUAL_FATAL(
	        ops->mounts(plugin->state, &user, &mounts, &n_mounts, error, sizeof(error)), 0);
	CU_ASSERT_EQUAL_FATAL(n_mounts, 1);
	CU_ASSERT_STRING_EQUAL(mounts[0].name, "notes");
	CU_ASSERT_STRING_EQUAL(mounts[0].target, "/home/alice/Cloud/notes");
	CU_ASSERT_STRING_EQUAL(mounts[0].argv[0], "/bin/sh");
	CU_ASSERT_STRING_EQUAL(mounts[0].argv[4], "alice@files.example.com");
	CU_ASSERT_PTR_NULL(mounts[0].argv[5]);
	CU_ASSERT_EQUAL(mounts[0].n_secrets, 1);
	CU_ASSERT_PTR_NULL(mounts[0].problem);
	CU_ASSERT_EQUAL(ops->status(plugin->state, &mounts[0], &status), -ECONNREFUSED);
	CU_ASSERT_EQUAL(status.state, GB_STORAGE_STARTING);
	ops->free_mounts(plugin->state, mounts, n_mounts);
}

static void test_plugin_loader__refuses_storage_without_vtable(void)
{
	struct gb_dropin noops = make_dropin(GB_PLUGIN_KIND_STORAGE, "noops");
	struct gb_dropin nullstatus = make_dropin(GB_PLUGIN_KIND_STORAGE, "nullstatus");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&noops, -EBADMSG, plugin_file(path, "storage-noops.so"),
	               "ops (struct gb_storage_ops) are 0 bytes");
	ASSERT_REFUSED(&nullstatus, -EBADMSG, plugin_file(path, "storage-nullstatus.so"),
	               "ops mounts, status and free_mounts must all be set");
}

static void test_plugin_loader__accepts_other_kinds_without_ops(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_STORAGE, "any");

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL(load_captured(&dropin), 0);
	CU_ASSERT_EQUAL(registry.count, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, "loaded storage-any 0.0.1"));
	CU_ASSERT_PTR_NOT_NULL(gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_STORAGE, "any"));
}

static void test_plugin_loader__loads_capture_and_encoder_plugins(void)
{
	struct gb_dropin capture = make_dropin(GB_PLUGIN_KIND_CAPTURE, "good");
	struct gb_dropin encoder = make_dropin(GB_PLUGIN_KIND_ENCODER, "good");
	const struct gb_encoder_ops *encoder_ops;
	const struct gb_capture_ops *capture_ops;
	struct gb_plugin *plugin;
	char error[64] = "";

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL(load_captured(&capture), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, "loaded capture-good 1.0.0"));
	CU_ASSERT_EQUAL(load_captured(&encoder), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, "loaded encoder-good 1.0.0"));
	CU_ASSERT_EQUAL(registry.count, 2);

	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_CAPTURE, "good");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	capture_ops = plugin->descriptor->ops;
	CU_ASSERT_EQUAL(capture_ops->struct_size, sizeof(struct gb_capture_ops));
	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_ENCODER, "good");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	encoder_ops = plugin->descriptor->ops;
	CU_ASSERT_EQUAL(encoder_ops->codec, GB_CODEC_H264);
	CU_ASSERT_EQUAL(encoder_ops->probe(plugin->state, error, sizeof(error)), 0);
}

/* The vtable stops one member short of what the host calls: the boundary is exact. */
static void test_plugin_loader__refuses_small_capture_and_encoder_vtables(void)
{
	struct gb_dropin capture = make_dropin(GB_PLUGIN_KIND_CAPTURE, "tinyvtable");
	struct gb_dropin encoder = make_dropin(GB_PLUGIN_KIND_ENCODER, "tinyvtable");
	char path[PATH_MAX], expected[128];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	snprintf(expected, sizeof(expected),
	         "ops (struct gb_capture_ops) are %zu bytes, host needs at least %zu",
	         offsetof(struct gb_capture_ops, stop),
	         offsetof(struct gb_capture_ops, stop) + sizeof(void (*)(void)));
	ASSERT_REFUSED(&capture, -EBADMSG, plugin_file(path, "capture-tinyvtable.so"), expected);
	snprintf(expected, sizeof(expected),
	         "ops (struct gb_encoder_ops) are %zu bytes, host needs at least %zu",
	         offsetof(struct gb_encoder_ops, create_bin),
	         offsetof(struct gb_encoder_ops, create_bin) + sizeof(void (*)(void)));
	ASSERT_REFUSED(&encoder, -EBADMSG, plugin_file(path, "encoder-tinyvtable.so"), expected);
}

static void test_plugin_loader__refuses_bad_capture_and_encoder_vtables(void)
{
	struct gb_dropin nullstop = make_dropin(GB_PLUGIN_KIND_CAPTURE, "nullstop");
	struct gb_dropin nullprobe = make_dropin(GB_PLUGIN_KIND_ENCODER, "nullprobe");
	struct gb_dropin badcodec = make_dropin(GB_PLUGIN_KIND_ENCODER, "badcodec");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&nullstop, -EBADMSG, plugin_file(path, "capture-nullstop.so"),
	               "ops stop is NULL");
	ASSERT_REFUSED(&nullprobe, -EBADMSG, plugin_file(path, "encoder-nullprobe.so"),
	               "ops probe is NULL");
	ASSERT_REFUSED(&badcodec, -EBADMSG, plugin_file(path, "encoder-badcodec.so"),
	               "ops codec 99 is not a known codec");
}

static const struct gb_setting *find_setting(const struct gb_plugin *plugin, const char *key)
{
	return gb_settings_find(&plugin->settings_view, key);
}

static void test_plugin_loader__types_settings(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "settings");
	struct gb_identity identity = { .struct_size = sizeof(identity) };
	const struct gb_auth_ops *ops;
	const struct gb_setting *setting;
	struct gb_plugin *plugin;
	char *token = strdup("s3cret token");
	char *port = strdup("443");

	CU_ASSERT_PTR_NOT_NULL_FATAL(token);
	CU_ASSERT_PTR_NOT_NULL_FATAL(port);
	{
		struct gb_dropin_setting settings[] = {
			SETTING("port", port, 7),
			SETTING("verbose", "yes", 8),
			SETTING("token", token, 9),
			SETTING("ratio", "2.5e-1", 10),
			SETTING("offset", "-9223372036854775808", 11),
		};

		dropin.settings = settings;
		dropin.n_settings = sizeof(settings) / sizeof(settings[0]);
		CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
		CU_ASSERT_EQUAL(load_captured(&dropin), 0);
	}
	/* The drop-in is gone: the plugin must still have its strings. */
	memset(token, 'x', strlen(token));
	free(token);
	free(port);

	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "settings");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	CU_ASSERT_EQUAL(plugin->n_settings, 6);
	CU_ASSERT_EQUAL(plugin->settings_view.count, 6);
	CU_ASSERT_PTR_EQUAL(plugin->settings_view.items, plugin->settings);
	/* Table order, defaults filled in. */
	CU_ASSERT_STRING_EQUAL(plugin->settings[0].key, "greeting");
	CU_ASSERT_STRING_EQUAL(plugin->settings[5].key, "token");

	setting = find_setting(plugin, "greeting");
	CU_ASSERT_PTR_NOT_NULL_FATAL(setting);
	CU_ASSERT_EQUAL(setting->type, GB_VALUE_STRING);
	CU_ASSERT_STRING_EQUAL(setting->value.string, "hello");
	setting = find_setting(plugin, "port");
	CU_ASSERT_PTR_NOT_NULL_FATAL(setting);
	CU_ASSERT_EQUAL(setting->type, GB_VALUE_INT);
	CU_ASSERT_EQUAL(setting->value.integer, 443);
	setting = find_setting(plugin, "offset");
	CU_ASSERT_PTR_NOT_NULL_FATAL(setting);
	CU_ASSERT_EQUAL(setting->value.integer, INT64_MIN);
	setting = find_setting(plugin, "verbose");
	CU_ASSERT_PTR_NOT_NULL_FATAL(setting);
	CU_ASSERT_EQUAL(setting->type, GB_VALUE_BOOL);
	CU_ASSERT_TRUE(setting->value.boolean);
	setting = find_setting(plugin, "ratio");
	CU_ASSERT_PTR_NOT_NULL_FATAL(setting);
	CU_ASSERT_EQUAL(setting->type, GB_VALUE_DOUBLE);
	CU_ASSERT_DOUBLE_EQUAL(setting->value.number, 0.25, 1e-12);
	CU_ASSERT_STRING_EQUAL(gb_settings_get_string(&plugin->settings_view, "token"),
	                       "s3cret token");

	/* auth-settings kept init()'s pointer to "token" and compares against it now. */
	ops = plugin->descriptor->ops;
	CU_ASSERT_EQUAL(ops->verify_password(plugin->state, "any", "s3cret token", &identity), 0);
	CU_ASSERT_EQUAL(ops->verify_password(plugin->state, "any", "xxxxxxxxxxxx", &identity),
	                -EACCES);
}

static void test_plugin_loader__defaults_settings(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "settings");
	struct gb_dropin_setting settings[] = {
		SETTING("token", "t", 3),
		SETTING("verbose", "No", 4),
		SETTING("ratio", "1e3", 5),
	};
	struct gb_plugin *plugin;

	dropin.settings = settings;
	dropin.n_settings = sizeof(settings) / sizeof(settings[0]);
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL_FATAL(load_captured(&dropin), 0);
	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "settings");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	CU_ASSERT_EQUAL(gb_settings_get_int(&plugin->settings_view, "port", 0), 8080);
	CU_ASSERT_EQUAL(gb_settings_get_int(&plugin->settings_view, "offset", 0), -3);
	CU_ASSERT_FALSE(gb_settings_get_bool(&plugin->settings_view, "verbose", true));
	CU_ASSERT_DOUBLE_EQUAL(gb_settings_get_double(&plugin->settings_view, "ratio", 0), 1000,
	                       1e-9);
}

static void test_plugin_loader__refuses_unknown_setting(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "settings");
	struct gb_dropin_setting settings[] = {
		SETTING("token", "t", 11),
		SETTING("foo", "1", 12),
	};

	dropin.settings = settings;
	dropin.n_settings = sizeof(settings) / sizeof(settings[0]);
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EINVAL,
	               DROPIN_PATH ":12: key 'settings.foo': plugin auth-settings has no such "
	                           "setting",
	               "no such setting");
}

static void test_plugin_loader__refuses_duplicate_setting(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "settings");
	struct gb_dropin_setting settings[] = {
		SETTING("token", "t", 2),
		SETTING("port", "1", 3),
		SETTING("port", "2", 5),
	};

	dropin.settings = settings;
	dropin.n_settings = sizeof(settings) / sizeof(settings[0]);
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EINVAL, DROPIN_PATH ":5: key 'settings.port'",
	               "set twice (first on line 3)");
}

static void test_plugin_loader__refuses_bad_setting_values(void)
{
	static const struct {
		const char *key, *value;
		int expected_errno;
		const char *reason;
	} cases[] = {
		{ "port", "abc", -EINVAL, "'abc' is not an integer" },
		{ "port", "12x", -EINVAL, "'12x' is not an integer" },
		{ "port", "", -EINVAL, "'' is not an integer" },
		{ "port", " 12", -EINVAL, "not an integer" },
		{ "port", "0x10", -EINVAL, "not an integer" },
		{ "port", "0", -ERANGE, "0 is out of range 1..65535" },
		{ "port", "65536", -ERANGE, "65536 is out of range 1..65535" },
		{ "offset", "99999999999999999999", -ERANGE, "is out of range" },
		{ "verbose", "maybe", -EINVAL, "'maybe' is not a boolean" },
		{ "verbose", "", -EINVAL, "is not a boolean" },
		{ "ratio", "fast", -EINVAL, "'fast' is not a finite number" },
		{ "ratio", "inf", -EINVAL, "not a finite number" },
		{ "ratio", "nan", -EINVAL, "not a finite number" },
		{ "ratio", "1e999", -EINVAL, "not a finite number" },
		{ "ratio", "1.5 ", -EINVAL, "not a finite number" },
	};

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "settings");
		struct gb_dropin_setting settings[] = {
			SETTING("token", "t", 20),
			SETTING(cases[i].key, cases[i].value, 21),
		};
		char where[128];

		snprintf(where, sizeof(where),
		         DROPIN_PATH ":21: key 'settings.%s': ", cases[i].key);
		dropin.settings = settings;
		dropin.n_settings = sizeof(settings) / sizeof(settings[0]);
		ASSERT_REFUSED(&dropin, cases[i].expected_errno, where, cases[i].reason);
	}
}

static void test_plugin_loader__refuses_missing_required_setting(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "settings");
	struct gb_dropin_setting settings[] = {
		SETTING("port", "80", 4),
	};

	dropin.settings = settings;
	dropin.n_settings = 1;
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EINVAL, DROPIN_PATH ": key 'settings.token'",
	               "required by plugin auth-settings, not set");
}

static void test_plugin_loader__refuses_bad_default(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "baddefault");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EBADMSG, plugin_file(path, "auth-baddefault.so"),
	               "option 'limit': bad default: 'lots' is not an integer");
}

static void test_plugin_loader__refuses_failing_init(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "initfail");
	char path[PATH_MAX];

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	ASSERT_REFUSED(&dropin, -EIO, plugin_file(path, "auth-initfail.so"),
	               "init failed: Input/output error");
	CU_ASSERT_PTR_NULL(strstr(host_log, "fini called"));
}

static void test_plugin_loader__load_all_skips_optional_failure(void)
{
	struct gb_dropin items[] = {
		make_dropin(GB_PLUGIN_KIND_AUTH, "good"),
		make_dropin(GB_PLUGIN_KIND_AUTH, "abi2"),
		make_dropin(GB_PLUGIN_KIND_STORAGE, "any"),
	};
	struct gb_dropin_set set = { .count = 3, .items = items };

	items[1].optional = true;
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL(load_all_captured(&set), 0);
	CU_ASSERT_EQUAL(registry.count, 2);
	CU_ASSERT_PTR_NOT_NULL(gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "good"));
	CU_ASSERT_PTR_NOT_NULL(gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_STORAGE, "any"));
	/* loaded, refused, skipped, loaded */
	CU_ASSERT_EQUAL(count_lines(captured), 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, "built for ABI 2.0"));
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(captured, " warning: abi2: optional plugin auth-abi2 skipped (drop-in "));
}

static void test_plugin_loader__load_all_stops_on_required_failure(void)
{
	struct gb_dropin items[] = {
		make_dropin(GB_PLUGIN_KIND_AUTH, "good"),
		make_dropin(GB_PLUGIN_KIND_AUTH, "abi2"),
		make_dropin(GB_PLUGIN_KIND_STORAGE, "any"),
	};
	struct gb_dropin_set set = { .count = 3, .items = items };

	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL(load_all_captured(&set), -EPROTO);
	/* What loaded before the failure stays loaded; the caller clears. */
	CU_ASSERT_EQUAL(registry.count, 1);
	CU_ASSERT_PTR_NOT_NULL(gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "good"));
	CU_ASSERT_PTR_NULL(gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_STORAGE, "any"));
	CU_ASSERT_EQUAL(count_lines(captured), 2);
	CU_ASSERT_PTR_NULL(strstr(captured, "skipped"));
}

static void test_plugin_loader__load_all_skips_disabled(void)
{
	struct gb_dropin items[] = {
		make_dropin(GB_PLUGIN_KIND_AUTH, "good"),
		make_dropin(GB_PLUGIN_KIND_STORAGE, "any"),
		make_dropin(GB_PLUGIN_KIND_AUTH, "abi2"),
	};
	struct gb_dropin_set set = { .count = 3, .items = items };

	items[0].enabled = false;
	items[2].enabled = false;
	CU_ASSERT_EQUAL_FATAL(init_registry(), 0);
	CU_ASSERT_EQUAL(load_all_captured(&set), 0);
	CU_ASSERT_EQUAL(registry.count, 1);
	CU_ASSERT_PTR_NULL(gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "good"));
	CU_ASSERT_STRING_EQUAL(host_log, "");
	/* Disabled drop-ins are logged at debug level only. */
	CU_ASSERT_EQUAL(count_lines(captured), 1);

	CU_ASSERT_EQUAL(gb_plugin_registry_load_all(&registry, NULL), 0);
	CU_ASSERT_EQUAL(gb_plugin_registry_load_all(NULL, &set), -EINVAL);
}

static void test_plugin_loader__searches_every_folder_in_order(void)
{
	char empty[] = "/tmp/gb-plugin-path-empty-XXXXXX";
	char other[] = "/tmp/gb-plugin-path-other-XXXXXX";
	char link_path[PATH_MAX], target[PATH_MAX], path_list[3 * PATH_MAX];
	struct gb_dropin good = make_dropin(GB_PLUGIN_KIND_AUTH, "good");
	struct gb_dropin any = make_dropin(GB_PLUGIN_KIND_STORAGE, "any");
	struct gb_dropin missing = make_dropin(GB_PLUGIN_KIND_AUTH, "missing");
	struct gb_plugin *plugin;
	char *joined;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(empty));
	if (!mkdtemp(other)) {
		rmdir(empty);
		CU_FAIL_FATAL("mkdtemp");
	}
	snprintf(link_path, sizeof(link_path), "%s/auth-good.so", other);
	CU_ASSERT_EQUAL(symlink(plugin_file(target, "auth-good.so"), link_path), 0);

	/* Empty items are ignored; the first folder holding the file wins. */
	snprintf(path_list, sizeof(path_list), ":%s::%s:%s:", empty, other, plugin_dir);
	setenv("GLASSBOX_PLUGIN_PATH", path_list, 1);
	CU_ASSERT_EQUAL(init_registry(), 0);
	CU_ASSERT_PTR_NOT_NULL(registry.search_path);
	CU_ASSERT_EQUAL(load_captured(&good), 0);
	CU_ASSERT_EQUAL(load_captured(&any), 0);

	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "good");
	CU_ASSERT_PTR_NOT_NULL(plugin);
	if (plugin)
		CU_ASSERT_STRING_EQUAL(plugin->path, link_path);
	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_STORAGE, "any");
	CU_ASSERT_PTR_NOT_NULL(plugin);
	if (plugin)
		CU_ASSERT_STRING_EQUAL(plugin->path, plugin_file(target, "storage-any.so"));

	/* The refusal lists what was searched, without the empty items. */
	if (asprintf(&joined, "not found in %s:%s:%s (drop-in", empty, other, plugin_dir) > 0) {
		ASSERT_REFUSED(&missing, -ENOENT, "auth-missing.so", joined);
		free(joined);
	}

	gb_plugin_registry_clear(&registry);
	unlink(link_path);
	rmdir(other);
	rmdir(empty);
}

static void test_plugin_loader__uses_plugin_dir_without_environment(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "good");
	char path[PATH_MAX];

	unsetenv("GLASSBOX_PLUGIN_PATH");
	CU_ASSERT_EQUAL_FATAL(gb_plugin_registry_init(&registry, &test_host, plugin_dir), 0);
	CU_ASSERT_EQUAL(load_captured(&dropin), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, plugin_file(path, "auth-good.so")));
	gb_plugin_registry_clear(&registry);

	/* A variable with no folder in it counts as unset. */
	setenv("GLASSBOX_PLUGIN_PATH", "::", 1);
	CU_ASSERT_EQUAL_FATAL(gb_plugin_registry_init(&registry, &test_host, plugin_dir), 0);
	CU_ASSERT_EQUAL(load_captured(&dropin), 0);
	gb_plugin_registry_clear(&registry);

	/* Nowhere to look at all. */
	CU_ASSERT_EQUAL(gb_plugin_registry_init(&registry, &test_host, NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(registry.search_path);
}

static void test_plugin_loader__accepts_zeroed_registry(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "good");
	struct gb_plugin_registry zeroed = { 0 };

	gb_plugin_registry_clear(NULL);
	gb_plugin_registry_clear(&zeroed);
	CU_ASSERT_PTR_NULL(gb_plugin_registry_find(&zeroed, GB_PLUGIN_KIND_AUTH, "good"));
	CU_ASSERT_PTR_NULL(gb_plugin_registry_find(NULL, GB_PLUGIN_KIND_AUTH, "good"));
	CU_ASSERT_EQUAL(gb_plugin_registry_load(&zeroed, &dropin), -EINVAL);
	CU_ASSERT_EQUAL(gb_plugin_registry_load(NULL, &dropin), -EINVAL);
	CU_ASSERT_EQUAL(gb_plugin_registry_init(&zeroed, NULL, plugin_dir), -EINVAL);
	CU_ASSERT_PTR_NULL(zeroed.search_path);
	gb_plugin_registry_clear(&zeroed);
}

/* plugins/auth-example, loaded from its build folder as an operator's drop-in would. */
static int init_example_registry(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/plugins/auth-example", build_root);
	unsetenv("GLASSBOX_PLUGIN_PATH");
	return gb_plugin_registry_init(&registry, &test_host, dir);
}

static void test_plugin_loader__auth_example_verifies_passwords(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "example");
	struct gb_dropin_setting settings[] = {
		SETTING("user", "operator", 7),
		SETTING("password", "correct horse", 8),
		SETTING("admin", "true", 9),
	};
	struct gb_identity identity;
	const struct gb_auth_ops *ops;
	struct gb_plugin *plugin;
	static const char *const wrong[][2] = {
		{ "operator", "correct" },        { "operator", "correct horse!" },
		{ "operator", "Correct horse" },  { "operator", "" },
		{ "Operator", "correct horse" },  { "", "correct horse" },
		{ "operator2", "correct horse" },
	};

	dropin.settings = settings;
	dropin.n_settings = 3;
	CU_ASSERT_EQUAL_FATAL(init_example_registry(), 0);
	CU_ASSERT_EQUAL_FATAL(load_captured(&dropin), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, "loaded auth-example 1.0.0 (ABI 1.3) from "));
	CU_ASSERT_PTR_NOT_NULL(strstr(captured, "/plugins/auth-example/auth-example.so"));

	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "example");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	ops = plugin->descriptor->ops;

	memset(&identity, 0xa5, sizeof(identity));
	identity.struct_size = sizeof(identity);
	CU_ASSERT_EQUAL(
	        ops->verify_password(plugin->state, "operator", "correct horse", &identity), 0);
	CU_ASSERT_STRING_EQUAL(identity.user, "operator");
	CU_ASSERT_FALSE(identity.has_system_account);
	CU_ASSERT_EQUAL(identity.roles, GB_ROLE_USER | GB_ROLE_ADMIN);

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		CU_ASSERT_EQUAL(
		        ops->verify_password(plugin->state, wrong[i][0], wrong[i][1], &identity),
		        -EACCES);

	/* An identity smaller than the 1.0 layout is refused, not overrun. */
	identity.struct_size = 8;
	CU_ASSERT_EQUAL(
	        ops->verify_password(plugin->state, "operator", "correct horse", &identity),
	        -EINVAL);
	gb_plugin_registry_clear(&registry);

	/* admin defaults to false. */
	dropin.n_settings = 2;
	CU_ASSERT_EQUAL_FATAL(init_example_registry(), 0);
	CU_ASSERT_EQUAL_FATAL(load_captured(&dropin), 0);
	plugin = gb_plugin_registry_find(&registry, GB_PLUGIN_KIND_AUTH, "example");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	ops = plugin->descriptor->ops;
	identity.struct_size = sizeof(identity);
	CU_ASSERT_EQUAL(
	        ops->verify_password(plugin->state, "operator", "correct horse", &identity), 0);
	CU_ASSERT_EQUAL(identity.roles, GB_ROLE_USER);
}

static void test_plugin_loader__auth_example_refuses_bad_settings(void)
{
	struct gb_dropin dropin = make_dropin(GB_PLUGIN_KIND_AUTH, "example");
	struct gb_dropin_setting missing_password[] = {
		SETTING("user", "operator", 7),
	};
	struct gb_dropin_setting empty_password[] = {
		SETTING("user", "operator", 7),
		SETTING("password", "", 8),
	};

	CU_ASSERT_EQUAL_FATAL(init_example_registry(), 0);
	dropin.settings = missing_password;
	dropin.n_settings = 1;
	ASSERT_REFUSED(&dropin, -EINVAL, DROPIN_PATH ": key 'settings.password'",
	               "required by plugin auth-example, not set");

	/* The plugin's own check, reported by the loader as a failed init(). */
	dropin.settings = empty_password;
	dropin.n_settings = 2;
	ASSERT_REFUSED(&dropin, -EINVAL, "auth-example.so", "init failed");
	CU_ASSERT_PTR_NOT_NULL(strstr(host_log, "settings.password must not be empty"));
}

static void test_plugin_loader__auth_example_exports_only_entry(void)
{
	char path[PATH_MAX];
	void *handle;

	snprintf(path, sizeof(path), "%s/plugins/auth-example/auth-example.so", build_root);
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(handle);
	CU_ASSERT_PTR_NOT_NULL(dlsym(handle, GB_PLUGIN_ENTRY_SYMBOL));
	/* -fvisibility=hidden: nothing else, not even the descriptor. */
	CU_ASSERT_PTR_NULL(dlsym(handle, "example_descriptor"));
	CU_ASSERT_PTR_NULL(dlsym(handle, "example_verify_password"));
	CU_ASSERT_PTR_NULL(dlsym(handle, "equal_in_constant_time"));
	CU_ASSERT_PTR_NULL(dlsym(handle, "gb_equal_in_constant_time"));
	dlclose(handle);
}

#define TEST(name)                                                                                \
	{                                                                                         \
#name, name                                                                       \
	}

static const struct {
	const char *name;
	CU_TestFunc function;
} tests[] = {
	TEST(test_plugin_loader__loads_and_unloads_auth_plugin),
	TEST(test_plugin_loader__refuses_invalid_name),
	TEST(test_plugin_loader__refuses_unknown_kind),
	TEST(test_plugin_loader__refuses_missing_file),
	TEST(test_plugin_loader__refuses_file_that_is_not_elf),
	TEST(test_plugin_loader__refuses_missing_entry_symbol),
	TEST(test_plugin_loader__refuses_null_descriptor),
	TEST(test_plugin_loader__refuses_small_descriptor),
	TEST(test_plugin_loader__refuses_abi_major_mismatch),
	TEST(test_plugin_loader__refuses_newer_abi_minor),
	TEST(test_plugin_loader__gives_each_plugin_its_log_handle),
	TEST(test_plugin_loader__loads_older_abi_minor),
	TEST(test_plugin_loader__refuses_kind_mismatch),
	TEST(test_plugin_loader__refuses_name_mismatch),
	TEST(test_plugin_loader__refuses_duplicate),
	TEST(test_plugin_loader__refuses_auth_without_ops),
	TEST(test_plugin_loader__refuses_too_small_vtable),
	TEST(test_plugin_loader__refuses_null_verify_password),
	TEST(test_plugin_loader__loads_redirect_only_auth_plugin),
	TEST(test_plugin_loader__refuses_begin_login_without_finish_login),
	TEST(test_plugin_loader__refuses_option_declared_twice),
	TEST(test_plugin_loader__loads_storage_plugin),
	TEST(test_plugin_loader__refuses_storage_without_vtable),
	TEST(test_plugin_loader__accepts_other_kinds_without_ops),
	TEST(test_plugin_loader__loads_capture_and_encoder_plugins),
	TEST(test_plugin_loader__refuses_small_capture_and_encoder_vtables),
	TEST(test_plugin_loader__refuses_bad_capture_and_encoder_vtables),
	TEST(test_plugin_loader__types_settings),
	TEST(test_plugin_loader__defaults_settings),
	TEST(test_plugin_loader__refuses_unknown_setting),
	TEST(test_plugin_loader__refuses_duplicate_setting),
	TEST(test_plugin_loader__refuses_bad_setting_values),
	TEST(test_plugin_loader__refuses_missing_required_setting),
	TEST(test_plugin_loader__refuses_bad_default),
	TEST(test_plugin_loader__refuses_failing_init),
	TEST(test_plugin_loader__load_all_skips_optional_failure),
	TEST(test_plugin_loader__load_all_stops_on_required_failure),
	TEST(test_plugin_loader__load_all_skips_disabled),
	TEST(test_plugin_loader__searches_every_folder_in_order),
	TEST(test_plugin_loader__uses_plugin_dir_without_environment),
	TEST(test_plugin_loader__accepts_zeroed_registry),
	TEST(test_plugin_loader__auth_example_verifies_passwords),
	TEST(test_plugin_loader__auth_example_refuses_bad_settings),
	TEST(test_plugin_loader__auth_example_exports_only_entry),
};

int main(void)
{
	const char *env = getenv("GLASSBOX_PLUGIN_PATH");
	unsigned int failures;
	CU_pSuite suite;

	build_root = getenv("GB_BUILD_ROOT");
	if (!env || !env[0] || strchr(env, ':') || !build_root) {
		fprintf(stderr, "run through `meson test`: GLASSBOX_PLUGIN_PATH must name the "
		                "build's tests/plugins folder and GB_BUILD_ROOT the build root\n");
		return 1;
	}
	/* Tests change the variable: keep our own copy. */
	plugin_dir = strdup(env);
	if (!plugin_dir)
		return 1;

	test_host.struct_size = sizeof(test_host);
	test_host.abi_major = GB_PLUGIN_ABI_MAJOR;
	test_host.abi_minor = GB_PLUGIN_ABI_MINOR;
	test_host.log = test_host_log;
	gb_log_init("test-plugin-loader", GB_LOG_INFO);

	if (CU_initialize_registry() != CUE_SUCCESS) {
		free(plugin_dir);
		return 1;
	}
	suite = CU_add_suite_with_setup_and_teardown("plugin-loader", NULL, NULL, setup, teardown);
	for (size_t i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].function))
			suite = NULL;
	if (!suite) {
		CU_cleanup_registry();
		free(plugin_dir);
		return 1;
	}

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	free(plugin_dir);
	return failures == 0 && CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
