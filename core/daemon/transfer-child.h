/* SPDX-License-Identifier: MIT */
/*
 * The file operations of browser transfers (transfer.c), done by a child of
 * glassboxd that runs as the session's user: glassboxd (perhaps root) opens
 * the session's home, forks, and the child drops to the session's uid and
 * gid before it touches any path under it. Every open is openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS from the
 * folder above (O_NOFOLLOW, one component at a time, where the kernel has
 * no openat2()), so a link the session's user planted is refused, never
 * followed; a new file is made O_EXCL under a temporary name and renamed
 * into place without replacing anything.
 *
 * The child uses system calls only (no allocation, no GLib): glassboxd has
 * threads. It tells its result on the status pipe: for a list, the entries
 * (struct gb_transfer_entry and the name's bytes) come first; the last
 * sizeof(struct gb_transfer_result) bytes are the result. Data goes
 * through the data pipe: into the child for an upload, out of it for a
 * download (after the status pipe has closed).
 */
#ifndef GB_TRANSFER_CHILD_H
#define GB_TRANSFER_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "file-name.h"

enum gb_transfer_operation {
	GB_TRANSFER_UPLOAD,    /* data pipe -> the part file; the last piece renames it */
	GB_TRANSFER_PART_SIZE, /* how much of an upload's part file there is */
	GB_TRANSFER_LIST,      /* the regular files of the folder */
	GB_TRANSFER_DOWNLOAD,  /* one regular file -> data pipe */
};

/* Where a failed operation stopped, for the message glassboxd gives. */
enum gb_transfer_stage {
	GB_TRANSFER_STAGE_NONE,
	GB_TRANSFER_STAGE_USER,   /* taking the session's uid and gid */
	GB_TRANSFER_STAGE_FOLDER, /* the folder under the home */
	GB_TRANSFER_STAGE_FILE,   /* the file in it */
	GB_TRANSFER_STAGE_WRITE,  /* writing it (the part file is removed) */
	GB_TRANSFER_STAGE_RENAME, /* giving it its name */
	GB_TRANSFER_STAGE_DATA,   /* the data pipe ended early (the upload was cut) */
};

struct gb_transfer_job {
	enum gb_transfer_operation operation;
	int home_fd; /* the session's home, a folder glassboxd opened */
	uid_t uid;   /* whom the child runs as */
	gid_t gid;
	const char *folder;    /* relative to the home (files.uploads_dir, ...) */
	bool create_folder;    /* make missing components (0700) */
	const char *name;      /* the file: a valid name (file-name.h) */
	const char *part_name; /* upload, part size: the temporary name beside it */
	uint64_t offset;       /* upload: where this piece starts in the file */
	uint64_t length;       /* upload: the bytes of this piece */
	uint64_t total;        /* upload: the size of the whole file */
	unsigned max_entries;  /* list: at most so many */
};

#define GB_TRANSFER_TRUNCATED 1u /* result.flags: the list has more than max_entries */

struct gb_transfer_result {
	int32_t error;  /* 0 or a positive errno */
	int32_t stage;  /* enum gb_transfer_stage */
	uint32_t flags; /* GB_TRANSFER_TRUNCATED */
	uint32_t count; /* list: entries sent */
	uint64_t value; /* upload, part size: bytes in the file now; download: its size */
	int64_t mtime;  /* download: the file's, in seconds */
	char name[GB_FILE_NAME_MAX + 1]; /* upload complete: the name the file took; "" else */
};

struct gb_transfer_entry {
	uint64_t size;
	int64_t mtime; /* seconds since the epoch */
	uint32_t name_length;
	uint32_t reserved;
};

struct gb_transfer_child {
	pid_t pid;
	int status_fd; /* ours to read, O_NONBLOCK */
	int data_fd;   /* upload: ours to write; download: ours to read; O_NONBLOCK; else -1 */
};

/**
 * Fork the child for @job. 0 and @child filled (its pid is glassboxd's to
 * reap), or a negative errno. @job->home_fd stays the caller's.
 */
int gb_transfer_child_start(const struct gb_transfer_job *job, struct gb_transfer_child *child);

#endif
