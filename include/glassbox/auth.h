/* SPDX-License-Identifier: MIT */
/* Glassbox auth plugins: verify credentials and return an identity. */
#ifndef GLASSBOX_AUTH_H
#define GLASSBOX_AUTH_H

#include <glassbox/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GB_IDENTITY_NAME_MAX 64

enum gb_role {
	GB_ROLE_USER = 1u << 0,
	GB_ROLE_ADMIN = 1u << 1,
};

/** Who logged in. uid/gid are meaningful only when has_system_account. */
struct gb_identity {
	uint32_t struct_size;
	char user[GB_IDENTITY_NAME_MAX];
	bool has_system_account;
	uint32_t uid;
	uint32_t gid;
	uint32_t roles; /* enum gb_role bits */
};

struct gb_auth_ops {
	uint32_t struct_size;
	/*
	 * Check a user name and password. Return 0 and fill *identity on
	 * success, -EACCES for wrong credentials (never saying which part was
	 * wrong), or another negative errno when the check itself failed.
	 */
	int (*verify_password)(void *state, const char *user, const char *password,
	                       struct gb_identity *identity);
};

#ifdef __cplusplus
}
#endif

#endif /* GLASSBOX_AUTH_H */
