/* SPDX-License-Identifier: MIT */
/*
 * Remote input from the browser's "input" data channel.
 *
 * Everything here comes from the network, so the parser is a small strict
 * JSON reader of our own rather than a general one: a message is one flat
 * object of at most a handful of short members, so it refuses nesting at the
 * first '{' or '[' (no recursion, no depth to exhaust), bounds every string
 * and number token, validates UTF-8, and never reads past @size. Nothing is
 * allocated while parsing.
 *
 * A viewer keeps its own table of held keys and buttons on top of the
 * session's (input.c), so that when it goes away it releases what it
 * pressed and nothing that another viewer still holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/input-event-codes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "input-message.h"
#include "keymap.h"
#include "log.h"

/* Longest member name and string value we keep; longer ones match nothing. */
#define NAME_MAX_BYTES   16
#define STRING_MAX_BYTES 32
/* Longest number token: enough for any double JSON.stringify() writes. */
#define NUMBER_MAX_CHARS 32

enum member {
	MEMBER_TYPE,
	MEMBER_CODE,
	MEMBER_DOWN,
	MEMBER_X,
	MEMBER_Y,
	MEMBER_BUTTON,
	MEMBER_DX,
	MEMBER_DY,
	MEMBER_WIDTH,
	MEMBER_HEIGHT,
	MEMBER_COUNT,
};

enum value_kind {
	VALUE_STRING,
	VALUE_BOOL,
	VALUE_NUMBER,
};

static const struct {
	const char *name;
	enum value_kind kind;
} members[MEMBER_COUNT] = {
	[MEMBER_TYPE] = { "type", VALUE_STRING },   [MEMBER_CODE] = { "code", VALUE_STRING },
	[MEMBER_DOWN] = { "down", VALUE_BOOL },     [MEMBER_X] = { "x", VALUE_NUMBER },
	[MEMBER_Y] = { "y", VALUE_NUMBER },         [MEMBER_BUTTON] = { "button", VALUE_NUMBER },
	[MEMBER_DX] = { "dx", VALUE_NUMBER },       [MEMBER_DY] = { "dy", VALUE_NUMBER },
	[MEMBER_WIDTH] = { "width", VALUE_NUMBER }, [MEMBER_HEIGHT] = { "height", VALUE_NUMBER },
};

#define BIT(m) (1u << (m))

/* Each type and exactly the members it takes. */
static const struct {
	const char *name;
	enum gb_input_message_type type;
	unsigned members;
} types[] = {
	{ "key", GB_INPUT_MESSAGE_KEY, BIT(MEMBER_CODE) | BIT(MEMBER_DOWN) },
	{ "move", GB_INPUT_MESSAGE_MOVE, BIT(MEMBER_X) | BIT(MEMBER_Y) },
	{ "button", GB_INPUT_MESSAGE_BUTTON, BIT(MEMBER_BUTTON) | BIT(MEMBER_DOWN) },
	{ "wheel", GB_INPUT_MESSAGE_WHEEL, BIT(MEMBER_DX) | BIT(MEMBER_DY) },
	{ "release-all", GB_INPUT_MESSAGE_RELEASE_ALL, 0 },
	{ "resize", GB_INPUT_MESSAGE_RESIZE, BIT(MEMBER_WIDTH) | BIT(MEMBER_HEIGHT) },
};

/* MouseEvent.button to evdev: left, middle, right, back, forward. */
static const uint32_t dom_buttons[] = { BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, BTN_SIDE, BTN_EXTRA };

struct fields {
	unsigned present;
	char type[STRING_MAX_BYTES];
	char code[STRING_MAX_BYTES];
	bool down;
	double number[MEMBER_COUNT];
};

struct reader {
	const unsigned char *p;
	const unsigned char *end;
};

static void skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool accept_char(struct reader *r, unsigned char c)
{
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return true;
	}
	return false;
}

static bool accept_word(struct reader *r, const char *word)
{
	size_t length = strlen(word);

	if ((size_t)(r->end - r->p) < length || memcmp(r->p, word, length) != 0)
		return false;
	r->p += length;
	return true;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u"; -1 when they are not there. */
static long read_hex4(struct reader *r)
{
	long value = 0;

	if (r->end - r->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int digit = hex_value(r->p[i]);

		if (digit < 0)
			return -1;
		value = value * 16 + digit;
	}
	r->p += 4;
	return value;
}

/*
 * Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static size_t utf8_sequence_length(const unsigned char *p, const unsigned char *end)
{
	size_t length;
	unsigned char low = 0x80, high = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		length = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		length = 3;
		if (p[0] == 0xe0)
			low = 0xa0;
		else if (p[0] == 0xed)
			high = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		length = 4;
		if (p[0] == 0xf0)
			low = 0x90;
		else if (p[0] == 0xf4)
			high = 0x8f;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < length)
		return 0;
	if (p[1] < low || p[1] > high)
		return 0;
	for (size_t i = 2; i < length; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return length;
}

/* Append @bytes to out; false once it would not fit with its NUL. */
static bool append(char *out, size_t out_size, size_t *length, const void *bytes, size_t n)
{
	if (*length + n >= out_size)
		return false;
	memcpy(out + *length, bytes, n);
	*length += n;
	out[*length] = '\0';
	return true;
}

static size_t encode_utf8(unsigned long c, unsigned char *out)
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (unsigned char)(0xc0 | (c >> 6));
		out[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (c >> 12));
		out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (c >> 18));
	out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * A JSON string at r->p (which is '"'), decoded into out. -EBADMSG for bad
 * JSON; -EINVAL for a string longer than out_size - 1 bytes or holding a
 * NUL (U+0000), since no member name or value we know is either.
 */
static int read_string(struct reader *r, char *out, size_t out_size)
{
	size_t length = 0;
	bool fits = true;

	out[0] = '\0';
	if (!accept_char(r, '"'))
		return -EBADMSG;
	for (;;) {
		unsigned char bytes[4];
		size_t n;

		if (r->p >= r->end)
			return -EBADMSG;
		if (*r->p == '"') {
			r->p++;
			break;
		}
		if (*r->p < 0x20)
			return -EBADMSG; /* control characters (NUL included) must be escaped */
		if (*r->p >= 0x80) {
			n = utf8_sequence_length(r->p, r->end);
			if (n == 0)
				return -EBADMSG;
			fits = fits && append(out, out_size, &length, r->p, n);
			r->p += n;
			continue;
		}
		if (*r->p != '\\') {
			fits = fits && append(out, out_size, &length, r->p, 1);
			r->p++;
			continue;
		}
		r->p++;
		if (r->p >= r->end)
			return -EBADMSG;
		switch (*r->p++) {
		case '"':
			bytes[0] = '"';
			break;
		case '\\':
			bytes[0] = '\\';
			break;
		case '/':
			bytes[0] = '/';
			break;
		case 'b':
			bytes[0] = '\b';
			break;
		case 'f':
			bytes[0] = '\f';
			break;
		case 'n':
			bytes[0] = '\n';
			break;
		case 'r':
			bytes[0] = '\r';
			break;
		case 't':
			bytes[0] = '\t';
			break;
		case 'u': {
			long c = read_hex4(r), low;

			if (c < 0)
				return -EBADMSG;
			if (c >= 0xdc00 && c <= 0xdfff)
				return -EBADMSG; /* a low surrogate on its own */
			if (c >= 0xd800 && c <= 0xdbff) {
				if (!accept_word(r, "\\u"))
					return -EBADMSG;
				low = read_hex4(r);
				if (low < 0xdc00 || low > 0xdfff)
					return -EBADMSG;
				c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
			}
			if (c == 0)
				fits = false; /* would cut the C string short */
			n = encode_utf8((unsigned long)c, bytes);
			fits = fits && append(out, out_size, &length, bytes, n);
			continue;
		}
		default:
			return -EBADMSG;
		}
		fits = fits && append(out, out_size, &length, bytes, 1);
	}
	return fits ? 0 : -EINVAL;
}

/*
 * A JSON number, strictly by the grammar (no leading '+', no leading zeros,
 * no "NaN" or "Infinity", no hex), at most NUMBER_MAX_CHARS long, finite.
 */
static int read_number(struct reader *r, double *value)
{
	const unsigned char *start = r->p;
	char text[NUMBER_MAX_CHARS + 1];
	size_t length;
	char *end;

	accept_char(r, '-');
	if (accept_char(r, '0')) {
		/* a lone zero: "01" is not JSON */
	} else if (r->p < r->end && *r->p >= '1' && *r->p <= '9') {
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	} else {
		return -EBADMSG;
	}
	if (accept_char(r, '.')) {
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return -EBADMSG;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (accept_char(r, 'e') || accept_char(r, 'E')) {
		if (!accept_char(r, '+'))
			accept_char(r, '-');
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return -EBADMSG;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	length = (size_t)(r->p - start);
	if (length > NUMBER_MAX_CHARS)
		return -ERANGE;
	memcpy(text, start, length);
	text[length] = '\0';
	/* g_ascii_strtod: '.' whatever the locale. The grammar is checked, so
	 * it takes every character; overflow gives an infinity. */
	*value = g_ascii_strtod(text, &end);
	if (end != text + length || !isfinite(*value))
		return -ERANGE;
	return 0;
}

static int find_member(const char *name)
{
	for (int m = 0; m < MEMBER_COUNT; m++)
		if (strcmp(name, members[m].name) == 0)
			return m;
	return -1;
}

/* One "name": value pair, stored in @fields. */
static int read_member(struct reader *r, struct fields *fields)
{
	char name[NAME_MAX_BYTES];
	int m, ret;

	ret = read_string(r, name, sizeof(name)); /* -EINVAL: longer than any name we know */
	if (ret < 0)
		return ret;
	skip_space(r);
	if (!accept_char(r, ':'))
		return -EBADMSG;
	skip_space(r);
	m = find_member(name);
	if (m < 0)
		return -EINVAL;
	if (fields->present & BIT(m))
		return -EINVAL; /* duplicate: which one would count is anyone's guess */
	fields->present |= BIT(m);

	if (r->p >= r->end)
		return -EBADMSG;
	switch (*r->p) {
	case '"':
		if (members[m].kind != VALUE_STRING)
			return -EINVAL;
		return read_string(r, m == MEMBER_TYPE ? fields->type : fields->code,
		                   STRING_MAX_BYTES);
	case 't':
	case 'f':
		if (accept_word(r, "true"))
			fields->down = true;
		else if (accept_word(r, "false"))
			fields->down = false;
		else
			return -EBADMSG;
		return members[m].kind == VALUE_BOOL ? 0 : -EINVAL;
	case 'n':
		if (!accept_word(r, "null"))
			return -EBADMSG;
		return -EINVAL;
	case '{':
	case '[':
		return -EINVAL; /* no member takes an object or array: never descend */
	default:
		if (*r->p != '-' && (*r->p < '0' || *r->p > '9'))
			return -EBADMSG;
		ret = read_number(r, &fields->number[m]);
		if (ret < 0)
			return ret;
		if (members[m].kind != VALUE_NUMBER)
			return -EINVAL;
		return 0;
	}
}

static int read_object(struct reader *r, struct fields *fields)
{
	int ret;

	skip_space(r);
	if (r->p >= r->end)
		return -EBADMSG;
	/* Something that starts like another JSON value is the wrong shape;
	 * this is only a guess at which error to report, both are refusals. */
	if (*r->p != '{')
		return memchr("[\"-0123456789tfn", *r->p, 16) ? -EINVAL : -EBADMSG;
	r->p++;
	skip_space(r);
	if (!accept_char(r, '}')) {
		for (;;) {
			if (r->p >= r->end || *r->p != '"')
				return -EBADMSG;
			ret = read_member(r, fields);
			if (ret < 0)
				return ret;
			skip_space(r);
			if (accept_char(r, '}'))
				break;
			if (!accept_char(r, ','))
				return -EBADMSG;
			skip_space(r);
		}
	}
	skip_space(r);
	return r->p == r->end ? 0 : -EBADMSG;
}

/* An integer-valued number in min..max. */
static int integer_in(double value, int min, int max, int *out)
{
	if (value != floor(value) || value < min || value > max)
		return -ERANGE;
	*out = (int)value;
	return 0;
}

int gb_input_message_parse(const char *data, size_t size, struct gb_input_message *out)
{
	struct reader reader = { (const unsigned char *)data, (const unsigned char *)data + size };
	struct fields fields = { 0 };
	size_t t;
	int ret, value;

	if (size > GB_INPUT_MESSAGE_MAX)
		return -EMSGSIZE;
	if (!data || size == 0)
		return -EBADMSG;
	ret = read_object(&reader, &fields);
	if (ret < 0)
		return ret;
	if (!(fields.present & BIT(MEMBER_TYPE)))
		return -EINVAL;
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		if (strcmp(fields.type, types[t].name) == 0)
			break;
	if (t == sizeof(types) / sizeof(types[0]))
		return -EINVAL;
	if (fields.present != (BIT(MEMBER_TYPE) | types[t].members))
		return -EINVAL; /* a member missing, or one this type does not take */

	memset(out, 0, sizeof(*out));
	out->type = types[t].type;
	switch (out->type) {
	case GB_INPUT_MESSAGE_KEY:
		ret = gb_keymap_code_to_evdev(fields.code);
		if (ret < 0)
			return ret;
		out->key.evdev_code = (uint32_t)ret;
		out->key.down = fields.down;
		break;
	case GB_INPUT_MESSAGE_MOVE:
		out->move.x = fields.number[MEMBER_X];
		out->move.y = fields.number[MEMBER_Y];
		if (out->move.x < 0 || out->move.x >= GB_INPUT_COORDINATE_MAX || out->move.y < 0 ||
		    out->move.y >= GB_INPUT_COORDINATE_MAX)
			return -ERANGE;
		break;
	case GB_INPUT_MESSAGE_BUTTON:
		ret = integer_in(fields.number[MEMBER_BUTTON], 0,
		                 (int)(sizeof(dom_buttons) / sizeof(dom_buttons[0])) - 1, &value);
		if (ret < 0)
			return ret;
		out->button.dom_button = (uint32_t)value;
		out->button.evdev_code = dom_buttons[value];
		out->button.down = fields.down;
		break;
	case GB_INPUT_MESSAGE_WHEEL:
		out->wheel.dx = fields.number[MEMBER_DX];
		out->wheel.dy = fields.number[MEMBER_DY];
		if (fabs(out->wheel.dx) > GB_INPUT_WHEEL_MAX ||
		    fabs(out->wheel.dy) > GB_INPUT_WHEEL_MAX)
			return -ERANGE;
		break;
	case GB_INPUT_MESSAGE_RELEASE_ALL:
		break;
	case GB_INPUT_MESSAGE_RESIZE:
		ret = integer_in(fields.number[MEMBER_WIDTH], 1, GB_INPUT_RESIZE_MAX,
		                 &out->resize.width);
		if (ret == 0)
			ret = integer_in(fields.number[MEMBER_HEIGHT], 1, GB_INPUT_RESIZE_MAX,
			                 &out->resize.height);
		if (ret < 0)
			return ret;
		break;
	}
	return 0;
}

const char *gb_input_message_strerror(int error)
{
	switch (error) {
	case -EMSGSIZE:
		return "message too big";
	case -EBADMSG:
		return "not JSON";
	case -EINVAL:
		return "not a valid input message";
	case -ERANGE:
		return "value out of range";
	case -ENOENT:
		return "unknown key code";
	case -EBUSY:
		return "over the rate limit";
	case -ENOMEM:
		return "out of memory";
	case -ENODEV:
		return "no output";
	default:
		return "refused";
	}
}

/* The viewer */

struct gb_input_viewer {
	struct gb_session *session;
	struct wl_list link; /* all_viewers */
	/* keys and buttons this viewer pressed, by evdev code */
	uint8_t held[(KEY_MAX + 1) / 8];
	/* token bucket: GB_INPUT_RATE_PER_SECOND, burst of as many */
	double tokens;
	struct timespec refilled;
	/* drops since the last log line, and when that was */
	uint64_t dropped_unlogged;
	int last_error;
	struct timespec logged;
};

/* Every viewer of the process (one session per process), so that a release
 * can tell whether another viewer still holds the same key. */
static struct wl_list all_viewers = { &all_viewers, &all_viewers };

static bool held_get(const struct gb_input_viewer *viewer, uint32_t code)
{
	return viewer->held[code / 8] & (1u << (code % 8));
}

static void held_set(struct gb_input_viewer *viewer, uint32_t code, bool held)
{
	if (held)
		viewer->held[code / 8] |= (uint8_t)(1u << (code % 8));
	else
		viewer->held[code / 8] &= (uint8_t) ~(1u << (code % 8));
}

static bool held_by_another(const struct gb_input_viewer *viewer, uint32_t code)
{
	const struct gb_input_viewer *other;

	wl_list_for_each (other, &all_viewers, link)
		if (other != viewer && other->session == viewer->session && held_get(other, code))
			return true;
	return false;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

struct gb_input_viewer *gb_input_viewer_create(struct gb_session *session)
{
	struct gb_input_viewer *viewer;

	if (!session) {
		errno = EINVAL;
		return NULL;
	}
	viewer = calloc(1, sizeof(*viewer));
	if (!viewer)
		return NULL;
	viewer->session = session;
	viewer->tokens = GB_INPUT_RATE_PER_SECOND;
	clock_gettime(CLOCK_MONOTONIC, &viewer->refilled);
	viewer->logged = viewer->refilled;
	wl_list_insert(&all_viewers, &viewer->link);
	return viewer;
}

void gb_input_viewer_destroy(struct gb_input_viewer *viewer)
{
	if (!viewer)
		return;
	gb_input_viewer_release_all(viewer);
	wl_list_remove(&viewer->link);
	free(viewer);
}

/* Press or release @code for this viewer; @button picks gb_input_button(). */
static int press(struct gb_input_viewer *viewer, uint32_t code, bool button, bool down)
{
	struct gb_session *session = viewer->session;
	int ret;

	if (down) {
		if (held_get(viewer, code))
			return 0; /* browser key repeat: the application repeats itself */
		ret = button ? gb_input_button(session, code, true)
		             : gb_input_key(session, code, true);
		if (ret == 0)
			held_set(viewer, code, true);
		return ret;
	}
	if (!held_get(viewer, code))
		return 0; /* not ours to release */
	held_set(viewer, code, false);
	if (held_by_another(viewer, code))
		return 0;
	return button ? gb_input_button(session, code, false) : gb_input_key(session, code, false);
}

void gb_input_viewer_release_all(struct gb_input_viewer *viewer)
{
	if (!viewer)
		return;
	for (uint32_t code = 1; code <= KEY_MAX; code++) {
		if (!held_get(viewer, code))
			continue;
		/* After the compositor is gone there is nobody left to tell. */
		if (!viewer->session->seat) {
			held_set(viewer, code, false);
			continue;
		}
		press(viewer, code, code >= BTN_MOUSE && code <= BTN_TASK, false);
	}
}

static bool take_token(struct gb_input_viewer *viewer)
{
	struct timespec now;
	double elapsed;

	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed = seconds_between(&viewer->refilled, &now);
	viewer->refilled = now;
	if (elapsed > 0)
		viewer->tokens = fmin((double)GB_INPUT_RATE_PER_SECOND,
		                      viewer->tokens + elapsed * GB_INPUT_RATE_PER_SECOND);
	if (viewer->tokens < 1)
		return false;
	viewer->tokens -= 1;
	return true;
}

static int apply(struct gb_input_viewer *viewer, const struct gb_input_message *message)
{
	struct gb_session *session = viewer->session;
	int ret;

	switch (message->type) {
	case GB_INPUT_MESSAGE_KEY:
		return press(viewer, message->key.evdev_code, false, message->key.down);
	case GB_INPUT_MESSAGE_BUTTON:
		return press(viewer, message->button.evdev_code, true, message->button.down);
	case GB_INPUT_MESSAGE_MOVE:
		return gb_input_pointer_motion(session, message->move.x, message->move.y);
	case GB_INPUT_MESSAGE_WHEEL:
		ret = gb_input_axis(session, GB_AXIS_HORIZONTAL,
		                    message->wheel.dx * GB_INPUT_WHEEL_UNITS_PER_PIXEL);
		if (ret == 0)
			ret = gb_input_axis(session, GB_AXIS_VERTICAL,
			                    message->wheel.dy * GB_INPUT_WHEEL_UNITS_PER_PIXEL);
		return ret;
	case GB_INPUT_MESSAGE_RELEASE_ALL:
		gb_input_viewer_release_all(viewer);
		return 0;
	case GB_INPUT_MESSAGE_RESIZE:
		return gb_output_resize(session, message->resize.width, message->resize.height);
	}
	return -EINVAL;
}

/* One debug line a second at most, however fast a viewer sends garbage. */
static void note_drop(struct gb_input_viewer *viewer, int error)
{
	struct timespec now;

	viewer->session->input_dropped++;
	viewer->dropped_unlogged++;
	viewer->last_error = error;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (viewer->dropped_unlogged == 1 || seconds_between(&viewer->logged, &now) >= 1.0) {
		gb_debug("input: dropped %llu message(s), the last one: %s",
		         (unsigned long long)viewer->dropped_unlogged,
		         gb_input_message_strerror(error));
		viewer->dropped_unlogged = 0;
		viewer->logged = now;
	}
}

int gb_input_viewer_handle(struct gb_input_viewer *viewer, const char *data, size_t size)
{
	struct gb_input_message message;
	int ret;

	if (!viewer)
		return -EINVAL;
	if (!take_token(viewer))
		ret = -EBUSY;
	else
		ret = gb_input_message_parse(data, size, &message);
	if (ret == 0)
		ret = apply(viewer, &message);
	if (ret < 0)
		note_drop(viewer, ret);
	return ret;
}
