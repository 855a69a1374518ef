/* SPDX-License-Identifier: MIT */
/*
 * A libFuzzer-compatible driver for compilers without libFuzzer (gcc):
 * replays every file of the corpus folders given, then a fixed number of
 * deterministic random mutations of them (the same every run, so a failure
 * reproduces), through LLVMFuzzerTestOneInput().
 *
 *   fuzz-input-message-replay [-n MUTATIONS] [-s SEED] CORPUS_DIR...
 *
 * Exit status 0 when every input ran; a bug aborts (or trips a sanitizer).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX  2048 /* past the 1 KiB limit, to hit it too */
#define CORPUS_MAX 1024
#define MUTATE_MAX 8

struct input {
	uint8_t *data;
	size_t size;
};

static struct input corpus[CORPUS_MAX];
static size_t corpus_size;
static uint64_t rng_state;

static uint64_t next_random(void)
{
	/* xorshift64*: small, and the same sequence everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t random_below(size_t n)
{
	return n ? (size_t)(next_random() % n) : 0;
}

static int load_file(const char *path)
{
	uint8_t buffer[INPUT_MAX];
	ssize_t n;
	int fd;

	if (corpus_size >= CORPUS_MAX)
		return -ENOSPC;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buffer, sizeof(buffer));
	close(fd);
	if (n < 0)
		return -errno;
	corpus[corpus_size].data = malloc(n > 0 ? (size_t)n : 1);
	if (!corpus[corpus_size].data)
		return -ENOMEM;
	memcpy(corpus[corpus_size].data, buffer, (size_t)n);
	corpus[corpus_size].size = (size_t)n;
	corpus_size++;
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files in name order, so the mutations do not depend on readdir(). */
static int load_dir(const char *dir)
{
	char *names[CORPUS_MAX];
	size_t n_names = 0;
	struct dirent *entry;
	char path[4096];
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((entry = readdir(d)) && n_names < CORPUS_MAX) {
		if (entry->d_name[0] == '.')
			continue;
		names[n_names] = strdup(entry->d_name);
		if (!names[n_names]) {
			r = -ENOMEM;
			break;
		}
		n_names++;
	}
	closedir(d);
	qsort(names, n_names, sizeof(names[0]), compare_names);
	for (size_t i = 0; i < n_names; i++) {
		if (r == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			r = load_file(path);
			if (r < 0)
				fprintf(stderr, "%s: %s\n", path, strerror(-r));
		}
		free(names[i]);
	}
	return r;
}

/* Pieces that JSON parsers trip on. */
static const char *const tokens[] = {
	"{",
	"}",
	"[",
	"]",
	"\"",
	":",
	",",
	"\\",
	"\\u",
	"\\ud800",
	"\\udc00",
	"\\u0000",
	"true",
	"false",
	"null",
	"NaN",
	"Infinity",
	"-",
	"0",
	"1e999",
	"-1e-999",
	"1.5e+3",
	"\xff",
	"\xc0\xaf",
	"\xed\xa0\x80",
	"\xf4\x90\x80\x80",
	"\x00",
	" ",
	"\t\n",
	"\"type\"",
	"\"key\"",
	"\"code\"",
	"\"KeyA\"",
	"\"down\"",
	"\"x\"",
	"\"y\"",
	"\"button\"",
	"\"dx\"",
	"\"dy\"",
	"\"width\"",
	"\"height\"",
	"\"release-all\"",
	"\"resize\"",
	"\"move\"",
	"\"wheel\"",
	"65535.99",
	"16384",
	"10000",
	"4",
};

static size_t mutate(uint8_t *data, size_t size)
{
	size_t rounds = 1 + random_below(MUTATE_MAX);

	for (size_t k = 0; k < rounds; k++) {
		size_t at = random_below(size + 1);

		switch (random_below(7)) {
		case 0: /* flip a bit */
			if (size)
				data[random_below(size)] ^= (uint8_t)(1u << random_below(8));
			break;
		case 1: /* set a byte */
			if (size)
				data[random_below(size)] = (uint8_t)next_random();
			break;
		case 2: /* delete a run */
			if (size) {
				size_t n = 1 + random_below(size - at < 16 ? size - at : 16);

				if (at + n > size)
					n = size - at;
				memmove(data + at, data + at + n, size - at - n);
				size -= n;
			}
			break;
		case 3: { /* insert a token */
			const char *token =
			        tokens[random_below(sizeof(tokens) / sizeof(tokens[0]))];
			size_t n = token[0] ? strlen(token) : 1;

			if (size + n <= INPUT_MAX) {
				memmove(data + at + n, data + at, size - at);
				memcpy(data + at, token, n);
				size += n;
			}
			break;
		}
		case 4: { /* splice in a piece of another corpus entry */
			const struct input *other = &corpus[random_below(corpus_size)];
			size_t from = random_below(other->size);
			size_t n = random_below(other->size - from + 1);

			if (size + n <= INPUT_MAX) {
				memmove(data + at + n, data + at, size - at);
				memcpy(data + at, other->data + from, n);
				size += n;
			}
			break;
		}
		case 5: /* cut */
			size = at;
			break;
		default: { /* repeat a run: nesting, long strings, long numbers */
			size_t n = 1 + random_below(4), times = random_below(600);

			if (at + n > size)
				break;
			while (times-- && size + n <= INPUT_MAX) {
				memmove(data + at + n, data + at, size - at);
				size += n;
			}
			break;
		}
		}
	}
	return size;
}

int main(int argc, char *argv[])
{
	unsigned long mutations = 200000;
	uint8_t *buffer;
	int c;

	rng_state = 0x9e3779b97f4a7c15ull;
	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		switch (c) {
		case 'n':
			mutations = strtoul(optarg, NULL, 10);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0) | 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n MUTATIONS] [-s SEED] CORPUS_DIR...\n",
			        argv[0]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: %s [-n MUTATIONS] [-s SEED] CORPUS_DIR...\n", argv[0]);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		int r = load_dir(argv[i]);

		if (r < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
			return 1;
		}
	}
	if (corpus_size == 0) {
		fprintf(stderr, "empty corpus\n");
		return 1;
	}

	/* a private copy per run, of exactly its size, so that ASan sees any
	 * read past the end */
	for (size_t i = 0; i < corpus_size; i++) {
		uint8_t *copy = malloc(corpus[i].size ? corpus[i].size : 1);

		if (!copy)
			return 1;
		memcpy(copy, corpus[i].data, corpus[i].size);
		LLVMFuzzerTestOneInput(copy, corpus[i].size);
		free(copy);
	}
	buffer = malloc(INPUT_MAX);
	if (!buffer)
		return 1;
	for (unsigned long m = 0; m < mutations; m++) {
		const struct input *seed = &corpus[random_below(corpus_size)];
		size_t size;
		uint8_t *copy;

		memcpy(buffer, seed->data, seed->size);
		size = mutate(buffer, seed->size);
		copy = malloc(size ? size : 1);
		if (!copy)
			return 1;
		memcpy(copy, buffer, size);
		LLVMFuzzerTestOneInput(copy, size);
		free(copy);
	}
	free(buffer);
	for (size_t i = 0; i < corpus_size; i++)
		free(corpus[i].data);
	printf("%zu corpus inputs and %lu mutations ran\n", corpus_size, mutations);
	return 0;
}
