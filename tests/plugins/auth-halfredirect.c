/* SPDX-License-Identifier: MIT */
/* begin_login set but finish_login NULL: a login could start and never finish. */
#include <glassbox/auth.h>

static int halfredirect_begin_login(void *state, const char *redirect_uri, char *url,
                                    size_t url_size)
{
	return 0;
}

static const struct gb_auth_ops halfredirect_ops = {
	.struct_size = sizeof(struct gb_auth_ops),
	.begin_login = halfredirect_begin_login,
};

static const struct gb_plugin_descriptor halfredirect_descriptor = {
	GB_PLUGIN_ABI_INIT, .kind = GB_PLUGIN_KIND_AUTH, .name = "halfredirect",
	.version = "1.1.0", .ops = &halfredirect_ops,
};

GB_PLUGIN_DEFINE(halfredirect_descriptor)
