/* SPDX-License-Identifier: MIT */
/*
 * Names of files a browser sends or is offered (uploads, downloads), and the
 * folders glassbox.conf names inside a session's home. libc only and
 * without allocation: the transfer child (core/daemon/transfer-child.c) uses
 * gb_file_name_numbered() after fork().
 */
#ifndef GB_FILE_NAME_H
#define GB_FILE_NAME_H

#include <stdbool.h>
#include <stddef.h>

/* The longest name one folder entry may have, in bytes (Linux's NAME_MAX). */
#define GB_FILE_NAME_MAX 255

/**
 * True when @name may be used as is as one folder entry that a user sees:
 * 1..GB_FILE_NAME_MAX bytes of valid UTF-8 (no overlong forms, surrogates
 * or code points past U+10FFFF), no '/', no control character (C0, DEL,
 * C1), and not starting with '.' (so neither "." nor ".." nor a hidden file).
 */
bool gb_file_name_is_valid(const char *name);

/**
 * The name an uploaded file gets from the name @name the browser sent:
 * leading dots become '_' (".bashrc" -> "_bashrc"); anything else that
 * gb_file_name_is_valid() refuses is refused, not repaired. Writes
 * @out (@out_size bytes, at least GB_FILE_NAME_MAX + 1) and returns 0, or
 * -EINVAL (not UTF-8, a '/', a control character, empty, only dots) or
 * -ENAMETOOLONG (over GB_FILE_NAME_MAX bytes).
 */
int gb_file_name_sanitise(const char *name, char *out, size_t out_size);

/**
 * "@name (@number).ext" ("report (2).pdf"; a name without an extension, or
 * whose only dot leads it, gets " (2)" at its end): the name a new file
 * takes when @name is taken. @number 0 gives @name. The part before the
 * extension is cut on a UTF-8 boundary so that the result fits in
 * GB_FILE_NAME_MAX bytes. 0, or -ENAMETOOLONG when @out_size is too small.
 */
int gb_file_name_numbered(const char *name, unsigned number, char *out, size_t out_size);

/**
 * True when @path names a folder inside a home as glassbox.conf gives it
 * (files.uploads_dir): relative, at most 1024 bytes, components separated
 * by single '/', each a valid file name (gb_file_name_is_valid()).
 */
bool gb_folder_path_is_valid(const char *path);

#endif
