/* SPDX-License-Identifier: MIT */
/*
 * storage-rclone: the sidecar's remote control (rclone rc) on 127.0.0.1,
 * behind HTTP basic authentication with a password only glassboxd and the
 * sidecar know. One request per call, HTTP/1.0, bounded in time and size.
 */
#ifndef GB_RC_CLIENT_H
#define GB_RC_CLIENT_H

#include <stdint.h>

#include <glassbox/storage.h>

#define GB_RC_TIMEOUT_MS   2000
#define GB_RC_RESPONSE_MAX (256 * 1024)

/**
 * POST @method (such as "vfs/stats") to the rc at 127.0.0.1:@port with
 * @user and @password. 0 with the response body in *body (free() it), or a
 * negative errno: -ECONNREFUSED (nothing listens yet), -ETIMEDOUT,
 * -EACCES (401), -EIO (anything else) with one line in @error.
 */
int gb_rc_call(uint16_t port, const char *user, const char *password, const char *method,
               char **body, char *error, size_t error_size);

/**
 * Like gb_rc_call(), with @params (a JSON object, such as {"fs": ...}) as
 * the request's body instead of {}.
 */
int gb_rc_request(uint16_t port, const char *user, const char *password, const char *method,
                  const char *params, char **body, char *error, size_t error_size);

/**
 * Fill @status from the bodies of vfs/stats and core/stats. 0, or -EIO
 * with @error when they are not what rclone answers.
 */
int gb_rc_parse_status(const char *vfs_stats, const char *core_stats,
                       struct gb_storage_status *status, char *error, size_t error_size);

#endif
