/* SPDX-License-Identifier: MIT */
/*
 * Pins the layout of every public struct in include/glassbox/ (plugin.h,
 * auth.h, capture.h, encoder.h, storage.h), the values of every public enum and the ABI version,
 * so that an accidental ABI break fails here instead of in a plugin built against the previous
 * header.
 *
 * The numbers are x86_64 (LP64, System V), computed once and written down by
 * hand: they are what plugins already built were compiled against.
 *
 * CHANGING A NUMBER HERE IS AN ABI CHANGE. If you appended a member at the
 * end of a struct, update its sizeof, pin the new member's offset and bump
 * GB_PLUGIN_ABI_MINOR (plugins built before still load; the host checks
 * struct_size before touching the new member). If you moved, removed, resized
 * or retyped a member, or changed an enum value, bump GB_PLUGIN_ABI_MAJOR:
 * every existing plugin must be rebuilt, and the host refuses the old ones.
 * See docs/plugin-abi.md.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include <glassbox/auth.h>
#include <glassbox/capture.h>
#include <glassbox/encoder.h>
#include <glassbox/plugin.h>
#include <glassbox/storage.h>

/* Say which number moved, so that whoever broke it knows what to fix. */
#define PIN(expression, expected)                                                                 \
	do {                                                                                      \
		unsigned long long actual_ = (unsigned long long)(expression);                    \
		if (actual_ != (unsigned long long)(expected))                                    \
			fprintf(stderr, "\n    %s is %llu, pinned at %llu\n", #expression,        \
			        actual_, (unsigned long long)(expected));                         \
		CU_ASSERT_EQUAL(actual_, (unsigned long long)(expected));                         \
	} while (0)

#define PIN_SIZE(type, size)             PIN(sizeof(type), size)
#define PIN_OFFSET(type, member, offset) PIN(offsetof(type, member), offset)

static void test_abi_layout__version(void)
{
	PIN(GB_PLUGIN_ABI_MAJOR, 1);
	PIN(GB_PLUGIN_ABI_MINOR, 3);
	CU_ASSERT_STRING_EQUAL(GB_PLUGIN_ENTRY_SYMBOL, "gb_plugin_entry");
}

static void test_abi_layout__enums(void)
{
	PIN(sizeof(enum gb_plugin_kind), 4);
	PIN(GB_PLUGIN_KIND_CAPTURE, 1);
	PIN(GB_PLUGIN_KIND_ENCODER, 2);
	PIN(GB_PLUGIN_KIND_AUTH, 3);
	PIN(GB_PLUGIN_KIND_STORAGE, 4);

	PIN(sizeof(enum gb_log_level), 4);
	PIN(GB_LOG_ERROR, 0);
	PIN(GB_LOG_WARNING, 1);
	PIN(GB_LOG_INFO, 2);
	PIN(GB_LOG_DEBUG, 3);

	PIN(sizeof(enum gb_value_type), 4);
	PIN(GB_VALUE_STRING, 1);
	PIN(GB_VALUE_INT, 2);
	PIN(GB_VALUE_BOOL, 3);
	PIN(GB_VALUE_DOUBLE, 4);

	PIN(sizeof(enum gb_role), 4);
	PIN(GB_ROLE_USER, 1);
	PIN(GB_ROLE_ADMIN, 2);

	PIN(GB_IDENTITY_NAME_MAX, 64);

	PIN(sizeof(enum gb_codec), 4);
	PIN(GB_CODEC_H264, 1);
	PIN(GB_CODEC_VP8, 2);
	PIN(GB_CODEC_VP9, 3);
	PIN(GB_CODEC_AV1, 4);
	PIN(GB_ENCODER_HARDWARE, 1);
}

static void test_abi_layout__gb_option(void)
{
	PIN_SIZE(struct gb_option, 48);
	PIN_OFFSET(struct gb_option, key, 0);
	PIN_OFFSET(struct gb_option, type, 8);
	PIN_OFFSET(struct gb_option, default_value, 16);
	PIN_OFFSET(struct gb_option, min, 24);
	PIN_OFFSET(struct gb_option, max, 32);
	PIN_OFFSET(struct gb_option, help, 40);
}

static void test_abi_layout__gb_setting(void)
{
	PIN_SIZE(struct gb_setting, 24);
	PIN_OFFSET(struct gb_setting, key, 0);
	PIN_OFFSET(struct gb_setting, type, 8);
	PIN_OFFSET(struct gb_setting, value, 16);
	PIN_OFFSET(struct gb_setting, value.string, 16);
	PIN_OFFSET(struct gb_setting, value.integer, 16);
	PIN_OFFSET(struct gb_setting, value.boolean, 16);
	PIN_OFFSET(struct gb_setting, value.number, 16);
	PIN(sizeof(((struct gb_setting *)0)->value), 8);
}

static void test_abi_layout__gb_settings(void)
{
	PIN_SIZE(struct gb_settings, 16);
	PIN_OFFSET(struct gb_settings, count, 0);
	PIN_OFFSET(struct gb_settings, items, 8);
}

static void test_abi_layout__gb_host(void)
{
	PIN_SIZE(struct gb_host, 48);
	PIN_OFFSET(struct gb_host, struct_size, 0);
	PIN_OFFSET(struct gb_host, abi_major, 4);
	PIN_OFFSET(struct gb_host, abi_minor, 8);
	PIN_OFFSET(struct gb_host, session_id, 16);
	PIN_OFFSET(struct gb_host, log, 24);
	/* ABI 1.2: the plugin's log handle */
	PIN_OFFSET(struct gb_host, plugin_name, 32);
	PIN_OFFSET(struct gb_host, logv, 40);
}

static void test_abi_layout__gb_plugin_descriptor(void)
{
	PIN_SIZE(struct gb_plugin_descriptor, 72);
	/* abi_major and abi_minor come first in every ABI version: the host reads them first. */
	PIN_OFFSET(struct gb_plugin_descriptor, abi_major, 0);
	PIN_OFFSET(struct gb_plugin_descriptor, abi_minor, 4);
	PIN_OFFSET(struct gb_plugin_descriptor, struct_size, 8);
	PIN_OFFSET(struct gb_plugin_descriptor, kind, 12);
	PIN_OFFSET(struct gb_plugin_descriptor, name, 16);
	PIN_OFFSET(struct gb_plugin_descriptor, version, 24);
	PIN_OFFSET(struct gb_plugin_descriptor, description, 32);
	PIN_OFFSET(struct gb_plugin_descriptor, options, 40);
	PIN_OFFSET(struct gb_plugin_descriptor, init, 48);
	PIN_OFFSET(struct gb_plugin_descriptor, fini, 56);
	PIN_OFFSET(struct gb_plugin_descriptor, ops, 64);
}

static void test_abi_layout__gb_identity(void)
{
	PIN_SIZE(struct gb_identity, 84);
	PIN_OFFSET(struct gb_identity, struct_size, 0);
	PIN_OFFSET(struct gb_identity, user, 4);
	PIN(sizeof(((struct gb_identity *)0)->user), 64);
	PIN_OFFSET(struct gb_identity, has_system_account, 68);
	PIN_OFFSET(struct gb_identity, uid, 72);
	PIN_OFFSET(struct gb_identity, gid, 76);
	PIN_OFFSET(struct gb_identity, roles, 80);
}

static void test_abi_layout__gb_auth_ops(void)
{
	PIN_SIZE(struct gb_auth_ops, 72);
	/* Every vtable starts with its uint32_t struct_size. */
	PIN_OFFSET(struct gb_auth_ops, struct_size, 0);
	PIN_OFFSET(struct gb_auth_ops, verify_password, 8);
	/* ABI 1.1 */
	PIN_OFFSET(struct gb_auth_ops, begin_login, 16);
	PIN_OFFSET(struct gb_auth_ops, finish_login, 24);
	PIN_OFFSET(struct gb_auth_ops, label, 32);
	PIN_OFFSET(struct gb_auth_ops, list_users, 40);
	PIN_OFFSET(struct gb_auth_ops, add_user, 48);
	PIN_OFFSET(struct gb_auth_ops, set_password, 56);
	PIN_OFFSET(struct gb_auth_ops, remove_user, 64);
	PIN(GB_AUTH_METHOD_PASSWORD, 1);
	PIN(GB_AUTH_METHOD_REDIRECT, 2);
}

/* ABI 1.3: storage.h */
static void test_abi_layout__gb_storage(void)
{
	PIN(GB_STORAGE_NAME_MAX, 32);
	PIN(GB_STORAGE_SECRETS_MAX, 4);
	PIN(GB_STORAGE_MESSAGE_MAX, 256);
	PIN(sizeof(enum gb_storage_state), 4);
	PIN(GB_STORAGE_STARTING, 1);
	PIN(GB_STORAGE_READY, 2);
	PIN(GB_STORAGE_FAILED, 3);

	PIN_SIZE(struct gb_storage_remote, 40);
	PIN_OFFSET(struct gb_storage_remote, name, 0);
	PIN_OFFSET(struct gb_storage_remote, type, 8);
	PIN_OFFSET(struct gb_storage_remote, n_params, 16);
	PIN_OFFSET(struct gb_storage_remote, keys, 24);
	PIN_OFFSET(struct gb_storage_remote, values, 32);

	PIN_SIZE(struct gb_storage_user, 64);
	PIN_OFFSET(struct gb_storage_user, struct_size, 0);
	PIN_OFFSET(struct gb_storage_user, identity_namespace, 8);
	PIN_OFFSET(struct gb_storage_user, user, 16);
	PIN_OFFSET(struct gb_storage_user, identity, 24);
	PIN_OFFSET(struct gb_storage_user, home, 32);
	PIN_OFFSET(struct gb_storage_user, uid, 40);
	PIN_OFFSET(struct gb_storage_user, gid, 44);
	PIN_OFFSET(struct gb_storage_user, n_remotes, 48);
	PIN_OFFSET(struct gb_storage_user, remotes, 56);

	PIN_SIZE(struct gb_storage_mount, 112);
	PIN_OFFSET(struct gb_storage_mount, struct_size, 0);
	PIN_OFFSET(struct gb_storage_mount, name, 4);
	PIN(sizeof(((struct gb_storage_mount *)0)->name), 33);
	PIN_OFFSET(struct gb_storage_mount, problem, 40);
	PIN_OFFSET(struct gb_storage_mount, target, 48);
	PIN_OFFSET(struct gb_storage_mount, argv, 56);
	PIN_OFFSET(struct gb_storage_mount, n_secrets, 64);
	PIN_OFFSET(struct gb_storage_mount, secrets, 72);
	PIN_OFFSET(struct gb_storage_mount, data, 104);

	PIN_SIZE(struct gb_storage_status, 296);
	PIN_OFFSET(struct gb_storage_status, struct_size, 0);
	PIN_OFFSET(struct gb_storage_status, state, 4);
	PIN_OFFSET(struct gb_storage_status, files_queued, 8);
	PIN_OFFSET(struct gb_storage_status, files_uploading, 16);
	PIN_OFFSET(struct gb_storage_status, bytes_uploading, 24);
	PIN_OFFSET(struct gb_storage_status, upload_errors, 32);
	PIN_OFFSET(struct gb_storage_status, message, 40);

	PIN_SIZE(struct gb_storage_ops, 32);
	PIN_OFFSET(struct gb_storage_ops, struct_size, 0);
	PIN_OFFSET(struct gb_storage_ops, mounts, 8);
	PIN_OFFSET(struct gb_storage_ops, status, 16);
	PIN_OFFSET(struct gb_storage_ops, free_mounts, 24);
}

static void test_abi_layout__gb_encoder_params(void)
{
	PIN_SIZE(struct gb_encoder_params, 20);
	PIN_OFFSET(struct gb_encoder_params, struct_size, 0);
	PIN_OFFSET(struct gb_encoder_params, width, 4);
	PIN_OFFSET(struct gb_encoder_params, height, 8);
	PIN_OFFSET(struct gb_encoder_params, max_fps, 12);
	PIN_OFFSET(struct gb_encoder_params, bitrate_kbps, 16);
}

static void test_abi_layout__gb_encoder_ops(void)
{
	PIN_SIZE(struct gb_encoder_ops, 40);
	PIN_OFFSET(struct gb_encoder_ops, struct_size, 0);
	PIN_OFFSET(struct gb_encoder_ops, codec, 4);
	PIN_OFFSET(struct gb_encoder_ops, flags, 8);
	PIN_OFFSET(struct gb_encoder_ops, priority, 12);
	PIN_OFFSET(struct gb_encoder_ops, probe, 16);
	PIN_OFFSET(struct gb_encoder_ops, create_bin, 24);
	PIN_OFFSET(struct gb_encoder_ops, set_bitrate, 32);
}

static void test_abi_layout__gb_capture_target(void)
{
	PIN_SIZE(struct gb_capture_target, 48);
	PIN_OFFSET(struct gb_capture_target, struct_size, 0);
	PIN_OFFSET(struct gb_capture_target, compositor, 8);
	PIN_OFFSET(struct gb_capture_target, output, 16);
	PIN_OFFSET(struct gb_capture_target, add_frame_listener, 24);
	PIN_OFFSET(struct gb_capture_target, remove_frame_listener, 32);
	PIN_OFFSET(struct gb_capture_target, damage_all, 40);
}

static void test_abi_layout__gb_capture_ops(void)
{
	PIN_SIZE(struct gb_capture_ops, 40);
	PIN_OFFSET(struct gb_capture_ops, struct_size, 0);
	PIN_OFFSET(struct gb_capture_ops, start, 8);
	PIN_OFFSET(struct gb_capture_ops, set_active, 16);
	PIN_OFFSET(struct gb_capture_ops, repeat_frame, 24);
	PIN_OFFSET(struct gb_capture_ops, stop, 32);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_abi_layout__version),
	GB_UNIT_TEST(test_abi_layout__enums),
	GB_UNIT_TEST(test_abi_layout__gb_option),
	GB_UNIT_TEST(test_abi_layout__gb_setting),
	GB_UNIT_TEST(test_abi_layout__gb_settings),
	GB_UNIT_TEST(test_abi_layout__gb_host),
	GB_UNIT_TEST(test_abi_layout__gb_plugin_descriptor),
	GB_UNIT_TEST(test_abi_layout__gb_identity),
	GB_UNIT_TEST(test_abi_layout__gb_auth_ops),
	GB_UNIT_TEST(test_abi_layout__gb_storage),
	GB_UNIT_TEST(test_abi_layout__gb_encoder_params),
	GB_UNIT_TEST(test_abi_layout__gb_encoder_ops),
	GB_UNIT_TEST(test_abi_layout__gb_capture_target),
	GB_UNIT_TEST(test_abi_layout__gb_capture_ops),
};

int main(void)
{
#if !defined(__x86_64__) || !defined(__LP64__)
	/* The pinned numbers are x86_64's; elsewhere there is nothing to compare with. */
	fprintf(stderr, "ABI layout is pinned for x86_64 only: skipped\n");
	return 77;
#endif
	return GB_UNIT_RUN("abi-layout", NULL, NULL, tests);
}
