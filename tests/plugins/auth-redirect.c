/* SPDX-License-Identifier: MIT */
/*
 * A redirect-only auth plugin (ABI 1.1): no verify_password, begin_login and
 * finish_login set, as an OpenID Connect plugin has. It sends the browser to
 * a fixed URL and accepts the code "good-code" with the state it handed out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glassbox/auth.h>

static int redirect_begin_login(void *state, const char *redirect_uri, char *url, size_t url_size)
{
	int n = snprintf(url, url_size, "https://idp.example/authorize?state=s1&redirect_uri=%s",
	                 redirect_uri);

	return n < 0 || (size_t)n >= url_size ? -ENOBUFS : 0;
}

static int redirect_finish_login(void *state, const char *redirect_uri, const char *code,
                                 const char *login_state, struct gb_identity *identity,
                                 char *error, size_t error_size)
{
	if (!code || !login_state || strcmp(login_state, "s1") != 0) {
		snprintf(error, error_size, "state does not match");
		return -EACCES;
	}
	if (strcmp(code, "good-code") != 0) {
		snprintf(error, error_size, "the provider refused the code");
		return -EACCES;
	}
	snprintf(identity->user, sizeof(identity->user), "%s", "oidc-user");
	identity->has_system_account = false;
	identity->roles = GB_ROLE_USER;
	return 0;
}

static const char *redirect_label(void *state)
{
	return "Sign in with Example";
}

static const struct gb_auth_ops redirect_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.verify_password = NULL,
	.begin_login = redirect_begin_login,
	.finish_login = redirect_finish_login,
	.label = redirect_label,
};

static const struct gb_plugin_descriptor redirect_descriptor = {
	GB_PLUGIN_ABI_INIT,
	.kind = GB_PLUGIN_KIND_AUTH,
	.name = "redirect",
	.version = "1.1.0",
	.description = "test: a redirect-only auth plugin",
	.ops = &redirect_ops,
};

GB_PLUGIN_DEFINE(redirect_descriptor)
