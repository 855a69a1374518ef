/* SPDX-License-Identifier: MIT */
/*
 * Data channel input messages: every type parses into the right values;
 * every malformed shape, range, size and encoding is refused with its
 * errno. Then the viewer, against stubs of input.c and resize.c that record
 * what reaches the session: held keys are released on destroy (but not a
 * key another viewer holds), the rate limit drops and counts, positions are
 * checked against the output, wheel pixels are scaled.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/input-event-codes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "input-message.h"

/* Stubs of the session functions the viewer calls, recording each call. */

#define EVENTS_MAX 64
static char events[EVENTS_MAX][48];
static int n_events;
static uint8_t stub_pressed[KEY_MAX + 1];
static int stub_width = 640, stub_height = 480;

static void record(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void record(const char *format, ...)
{
	va_list args;

	if (n_events >= EVENTS_MAX)
		return;
	va_start(args, format);
	vsnprintf(events[n_events++], sizeof(events[0]), format, args);
	va_end(args);
}

static void events_reset(void)
{
	n_events = 0;
	memset(stub_pressed, 0, sizeof(stub_pressed));
}

/* Behaves as input.c: a press of a pressed key is a no-op. */
int gb_input_key(struct gb_session *session, uint32_t evdev_code, bool pressed)
{
	if (evdev_code == 0 || evdev_code > KEY_MAX ||
	    (evdev_code >= BTN_MISC && evdev_code < KEY_OK))
		return -EINVAL;
	if (stub_pressed[evdev_code] == pressed)
		return 0;
	stub_pressed[evdev_code] = pressed;
	record("key %u %s", evdev_code, pressed ? "down" : "up");
	return 0;
}

int gb_input_button(struct gb_session *session, uint32_t button_code, bool pressed)
{
	if (button_code < BTN_MOUSE || button_code > BTN_TASK)
		return -EINVAL;
	if (stub_pressed[button_code] == pressed)
		return 0;
	stub_pressed[button_code] = pressed;
	record("button %u %s", button_code, pressed ? "down" : "up");
	return 0;
}

int gb_input_pointer_motion(struct gb_session *session, double x, double y)
{
	if (!isfinite(x) || !isfinite(y) || x < 0 || y < 0 || x >= stub_width || y >= stub_height)
		return -ERANGE;
	record("motion %.2f %.2f", x, y);
	return 0;
}

int gb_input_axis(struct gb_session *session, enum gb_axis axis, double value)
{
	if (!isfinite(value) || fabs(value) > 1500)
		return -ERANGE;
	if (value == 0)
		return 0;
	record("axis %s %.3f", axis == GB_AXIS_VERTICAL ? "vertical" : "horizontal", value);
	return 0;
}

int gb_output_resize(struct gb_session *session, int width, int height)
{
	record("resize %d %d", width, height);
	return 0;
}

static struct gb_session session;

static void session_reset(void)
{
	memset(&session, 0, sizeof(session));
	/* release_all() only tells a seat; any non-NULL pointer does here. */
	session.seat = (struct weston_seat *)&session;
	events_reset();
}

static int parse(const char *text, struct gb_input_message *message)
{
	return gb_input_message_parse(text, strlen(text), message);
}

/* Parsing */

static void test_input_message__key(void)
{
	struct gb_input_message m;

	CU_ASSERT_EQUAL(parse("{\"type\":\"key\",\"code\":\"KeyA\",\"down\":true}", &m), 0);
	CU_ASSERT_EQUAL(m.type, GB_INPUT_MESSAGE_KEY);
	CU_ASSERT_EQUAL(m.key.evdev_code, KEY_A);
	CU_ASSERT_EQUAL(m.key.down, true);

	/* any member order, JSON whitespace, escapes in strings */
	CU_ASSERT_EQUAL(
	        parse(" {\n\t\"down\" : false ,\r\n \"code\":\"Enter\", \"type\":\"key\"}\n ", &m),
	        0);
	CU_ASSERT_EQUAL(m.key.evdev_code, KEY_ENTER);
	CU_ASSERT_EQUAL(m.key.down, false);
	CU_ASSERT_EQUAL(
	        parse("{\"type\":\"k\\u0065y\",\"code\":\"\\u0053hiftLeft\",\"down\":true}", &m),
	        0);
	CU_ASSERT_EQUAL(m.key.evdev_code, KEY_LEFTSHIFT);
}

static void test_input_message__move(void)
{
	struct gb_input_message m;

	CU_ASSERT_EQUAL(parse("{\"type\":\"move\",\"x\":640.5,\"y\":360}", &m), 0);
	CU_ASSERT_EQUAL(m.type, GB_INPUT_MESSAGE_MOVE);
	CU_ASSERT_DOUBLE_EQUAL(m.move.x, 640.5, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(m.move.y, 360, 1e-9);
	CU_ASSERT_EQUAL(parse("{\"type\":\"move\",\"x\":0,\"y\":6.4e2}", &m), 0);
	CU_ASSERT_DOUBLE_EQUAL(m.move.y, 640, 1e-9);
	CU_ASSERT_EQUAL(parse("{\"type\":\"move\",\"x\":-0,\"y\":1E+1}", &m), 0);
	CU_ASSERT_DOUBLE_EQUAL(m.move.y, 10, 1e-9);
	CU_ASSERT_EQUAL(parse("{\"type\":\"move\",\"x\":0.30000000000000004,\"y\":1e-300}", &m),
	                0);
}

static void test_input_message__button(void)
{
	static const uint32_t evdev[] = { BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, BTN_SIDE, BTN_EXTRA };
	struct gb_input_message m;
	char text[96];

	for (int b = 0; b <= 4; b++) {
		snprintf(text, sizeof(text), "{\"type\":\"button\",\"button\":%d,\"down\":true}",
		         b);
		CU_ASSERT_EQUAL(parse(text, &m), 0);
		CU_ASSERT_EQUAL(m.type, GB_INPUT_MESSAGE_BUTTON);
		CU_ASSERT_EQUAL(m.button.dom_button, (uint32_t)b);
		CU_ASSERT_EQUAL(m.button.evdev_code, evdev[b]);
		CU_ASSERT_EQUAL(m.button.down, true);
	}
	CU_ASSERT_EQUAL(parse("{\"type\":\"button\",\"button\":2.0,\"down\":false}", &m), 0);
	CU_ASSERT_EQUAL(m.button.evdev_code, BTN_RIGHT);
	CU_ASSERT_EQUAL(m.button.down, false);
}

static void test_input_message__wheel_release_all_resize(void)
{
	struct gb_input_message m;

	CU_ASSERT_EQUAL(parse("{\"type\":\"wheel\",\"dx\":0,\"dy\":120}", &m), 0);
	CU_ASSERT_EQUAL(m.type, GB_INPUT_MESSAGE_WHEEL);
	CU_ASSERT_DOUBLE_EQUAL(m.wheel.dy, 120, 1e-9);
	CU_ASSERT_EQUAL(parse("{\"type\":\"wheel\",\"dx\":-10000,\"dy\":10000}", &m), 0);
	CU_ASSERT_DOUBLE_EQUAL(m.wheel.dx, -10000, 1e-9);

	CU_ASSERT_EQUAL(parse("{\"type\":\"release-all\"}", &m), 0);
	CU_ASSERT_EQUAL(m.type, GB_INPUT_MESSAGE_RELEASE_ALL);

	CU_ASSERT_EQUAL(parse("{\"type\":\"resize\",\"width\":1600,\"height\":900}", &m), 0);
	CU_ASSERT_EQUAL(m.type, GB_INPUT_MESSAGE_RESIZE);
	CU_ASSERT_EQUAL(m.resize.width, 1600);
	CU_ASSERT_EQUAL(m.resize.height, 900);
	/* clamping is resize.c's job: small and odd sizes parse */
	CU_ASSERT_EQUAL(parse("{\"type\":\"resize\",\"width\":1,\"height\":16384}", &m), 0);
}

static const struct {
	const char *text;
	int error;
} malformed[] = {
	/* not JSON */
	{ "", -EBADMSG },
	{ "   ", -EBADMSG },
	{ "{", -EBADMSG },
	{ "{\"type\":\"release-all\"", -EBADMSG },
	{ "{\"type\":\"release-all\",}", -EBADMSG },
	{ "{,\"type\":\"release-all\"}", -EBADMSG },
	{ "{\"type\" \"release-all\"}", -EBADMSG },
	{ "{'type':'release-all'}", -EBADMSG },
	{ "{type:\"release-all\"}", -EBADMSG },
	{ "{\"type\":\"release-all}", -EBADMSG },
	{ "{\"type\":\"release-all\"}x", -EBADMSG },
	{ "{\"type\":\"release-all\"}{}", -EBADMSG },
	{ "{\"type\":\"release-all\"} // comment", -EBADMSG },
	{ "\xef\xbb\xbf{\"type\":\"release-all\"}", -EBADMSG }, /* BOM */
	{ "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":tru}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":truex}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":True}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"Key\\qA\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"Key\\u00\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"\\ud800\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"\\udc00\\ud800\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"Key\tA\",\"down\":true}", -EBADMSG },
	/* invalid UTF-8: stray continuation, overlong, surrogate, too high, cut short */
	{ "{\"type\":\"key\",\"code\":\"\x80\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"\xc0\xaf\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"\xe0\x80\xaf\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"\xed\xa0\x80\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"\xf4\x90\x80\x80\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"\xf5\x80\x80\x80\",\"down\":true}", -EBADMSG },
	{ "{\"type\":\"key\",\"code\":\"\xe2\x82\",\"down\":true}", -EBADMSG },
	{ "{\"ty\xffpe\":\"release-all\"}", -EBADMSG },
	/* numbers JSON does not have */
	{ "{\"type\":\"move\",\"x\":NaN,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":Infinity,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":-Infinity,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":+1,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":01,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":1.,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":.5,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":1e,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":0x10,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":-,\"y\":1}", -EBADMSG },
	{ "{\"type\":\"move\",\"x\":1 2,\"y\":1}", -EBADMSG },
	/* the wrong shape */
	{ "[]", -EINVAL },
	{ "[{\"type\":\"release-all\"}]", -EINVAL },
	{ "\"release-all\"", -EINVAL },
	{ "42", -EINVAL },
	{ "true", -EINVAL },
	{ "null", -EINVAL },
	{ "{}", -EINVAL },
	{ "{\"type\":\"unknown\"}", -EINVAL },
	{ "{\"type\":\"Key\",\"code\":\"KeyA\",\"down\":true}", -EINVAL },
	{ "{\"type\":\"release-all\",\"extra\":1}", -EINVAL },
	{ "{\"type\":\"release-all\",\"down\":true}", -EINVAL },
	{ "{\"type\":1}", -EINVAL },
	{ "{\"type\":null}", -EINVAL },
	{ "{\"type\":[\"key\"]}", -EINVAL },
	{ "{\"type\":{\"type\":\"key\"}}", -EINVAL },
	{ "{\"type\":\"release-all\",\"type\":\"release-all\"}", -EINVAL },
	{ "{\"type\":\"key\",\"type\":\"move\",\"x\":1,\"y\":1}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":\"KeyA\",\"code\":\"KeyB\",\"down\":true}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":\"KeyA\"}", -EINVAL },
	{ "{\"type\":\"key\",\"down\":true}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":30,\"down\":true}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":1}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":\"true\"}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":null}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":true,\"x\":1}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":\"Key\\u0000A\",\"down\":true}", -EINVAL },
	{ "{\"type\":\"key\",\"code\":\"KeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"down\":true}",
	  -EINVAL },
	{ "{\"typetypetypetypetype\":\"key\"}", -EINVAL },
	{ "{\"type\":\"move\",\"x\":\"1\",\"y\":1}", -EINVAL },
	{ "{\"type\":\"move\",\"x\":true,\"y\":1}", -EINVAL },
	{ "{\"type\":\"move\",\"x\":1}", -EINVAL },
	{ "{\"type\":\"move\",\"x\":[1],\"y\":1}", -EINVAL },
	{ "{\"type\":\"button\",\"button\":\"0\",\"down\":true}", -EINVAL },
	{ "{\"type\":\"wheel\",\"dy\":120}", -EINVAL },
	{ "{\"type\":\"resize\",\"width\":1600}", -EINVAL },
	/* out of range */
	{ "{\"type\":\"move\",\"x\":-1,\"y\":1}", -ERANGE },
	{ "{\"type\":\"move\",\"x\":1,\"y\":-0.001}", -ERANGE },
	{ "{\"type\":\"move\",\"x\":65536,\"y\":1}", -ERANGE },
	{ "{\"type\":\"move\",\"x\":1e999,\"y\":1}", -ERANGE },
	{ "{\"type\":\"move\",\"x\":-1e999,\"y\":1}", -ERANGE },
	{ "{\"type\":\"move\",\"x\":1,\"y\":"
	  "100000000000000000000000000000000000000000000000000000000000000}",
	  -ERANGE },
	{ "{\"type\":\"button\",\"button\":5,\"down\":true}", -ERANGE },
	{ "{\"type\":\"button\",\"button\":-1,\"down\":true}", -ERANGE },
	{ "{\"type\":\"button\",\"button\":0.5,\"down\":true}", -ERANGE },
	{ "{\"type\":\"button\",\"button\":4294967296,\"down\":true}", -ERANGE },
	{ "{\"type\":\"wheel\",\"dx\":0,\"dy\":10000.5}", -ERANGE },
	{ "{\"type\":\"wheel\",\"dx\":-10001,\"dy\":0}", -ERANGE },
	{ "{\"type\":\"resize\",\"width\":0,\"height\":900}", -ERANGE },
	{ "{\"type\":\"resize\",\"width\":-1600,\"height\":900}", -ERANGE },
	{ "{\"type\":\"resize\",\"width\":1600,\"height\":16385}", -ERANGE },
	{ "{\"type\":\"resize\",\"width\":1600.5,\"height\":900}", -ERANGE },
	{ "{\"type\":\"resize\",\"width\":1e10,\"height\":900}", -ERANGE },
	/* unknown key codes */
	{ "{\"type\":\"key\",\"code\":\"KeyAA\",\"down\":true}", -ENOENT },
	{ "{\"type\":\"key\",\"code\":\"\",\"down\":true}", -ENOENT },
	{ "{\"type\":\"key\",\"code\":\"Unidentified\",\"down\":true}", -ENOENT },
	{ "{\"type\":\"key\",\"code\":\"\xc3\x84\",\"down\":true}", -ENOENT },
	{ "{\"type\":\"key\",\"code\":\"\\ud83d\\ude00\",\"down\":true}", -ENOENT },
};

static void test_input_message__malformed_refused(void)
{
	struct gb_input_message m;

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		int r = parse(malformed[i].text, &m);

		if (r != malformed[i].error)
			fprintf(stderr, "\n%s: %d (%s), expected %d\n", malformed[i].text, r,
			        strerror(-r), malformed[i].error);
		CU_ASSERT_EQUAL(r, malformed[i].error);
	}
}

static void test_input_message__size_limit(void)
{
	static const char message[] = "{\"type\":\"release-all\"}";
	char text[GB_INPUT_MESSAGE_MAX + 2];
	struct gb_input_message m;

	/* Exactly 1 KiB (padded with JSON whitespace) is fine, one more is not. */
	memset(text, ' ', sizeof(text));
	memcpy(text, message, strlen(message));
	CU_ASSERT_EQUAL(gb_input_message_parse(text, GB_INPUT_MESSAGE_MAX, &m), 0);
	CU_ASSERT_EQUAL(gb_input_message_parse(text, GB_INPUT_MESSAGE_MAX + 1, &m), -EMSGSIZE);
	CU_ASSERT_EQUAL(gb_input_message_parse(text, (size_t)-1, &m), -EMSGSIZE);
	CU_ASSERT_EQUAL(gb_input_message_parse(NULL, 0, &m), -EBADMSG);
	/* only @size bytes are read: a message cut short is incomplete */
	CU_ASSERT_EQUAL(gb_input_message_parse(message, strlen(message) - 1, &m), -EBADMSG);
}

static void test_input_message__embedded_nul(void)
{
	static const char with_nul[] = "{\"type\":\"release-all\"}\0";
	static const char nul_in_string[] = "{\"type\":\"release\0all\"}";
	static const char nul_in_name[] = "{\"ty\0pe\":\"release-all\"}";
	struct gb_input_message m;

	CU_ASSERT_EQUAL(gb_input_message_parse(with_nul, sizeof(with_nul) - 1, &m), -EBADMSG);
	CU_ASSERT_EQUAL(gb_input_message_parse(nul_in_string, sizeof(nul_in_string) - 1, &m),
	                -EBADMSG);
	CU_ASSERT_EQUAL(gb_input_message_parse(nul_in_name, sizeof(nul_in_name) - 1, &m),
	                -EBADMSG);
}

static void test_input_message__deep_nesting(void)
{
	char text[GB_INPUT_MESSAGE_MAX];
	struct gb_input_message m;
	size_t n = sizeof(text);

	memset(text, '[', n);
	CU_ASSERT_EQUAL(gb_input_message_parse(text, n, &m), -EINVAL);
	memset(text, '{', n);
	CU_ASSERT_EQUAL(gb_input_message_parse(text, n, &m), -EBADMSG);
	/* {"type":{"type":{"type":... */
	for (size_t i = 0; i + 8 <= n; i += 8)
		memcpy(text + i, "{\"type\":", 8);
	CU_ASSERT_EQUAL(gb_input_message_parse(text, n, &m), -EINVAL);
	/* {"code":[[[[... */
	memset(text, '[', n);
	memcpy(text, "{\"type\":\"key\",\"code\":", 21);
	CU_ASSERT_EQUAL(gb_input_message_parse(text, n, &m), -EINVAL);
}

static void test_input_message__strerror(void)
{
	CU_ASSERT_STRING_EQUAL(gb_input_message_strerror(-EMSGSIZE), "message too big");
	CU_ASSERT_STRING_EQUAL(gb_input_message_strerror(-EBUSY), "over the rate limit");
	CU_ASSERT_STRING_EQUAL(gb_input_message_strerror(-EPIPE), "refused");
}

/* The viewer */

static int handle(struct gb_input_viewer *viewer, const char *text)
{
	return gb_input_viewer_handle(viewer, text, strlen(text));
}

static bool has_event(const char *event)
{
	for (int i = 0; i < n_events; i++)
		if (strcmp(events[i], event) == 0)
			return true;
	return false;
}

static void test_input_message__viewer_applies_each_type(void)
{
	struct gb_input_viewer *viewer;

	session_reset();
	viewer = gb_input_viewer_create(&session);
	CU_ASSERT_PTR_NOT_NULL_FATAL(viewer);

	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":true}"), 0);
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"key\",\"code\":\"KeyA\",\"down\":false}"), 0);
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"move\",\"x\":200.5,\"y\":150}"), 0);
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"button\",\"button\":2,\"down\":true}"), 0);
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"button\",\"button\":2,\"down\":false}"), 0);
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"wheel\",\"dx\":-60,\"dy\":120}"), 0);
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"resize\",\"width\":1600,\"height\":900}"), 0);
	CU_ASSERT_EQUAL(n_events, 8);
	CU_ASSERT_STRING_EQUAL(events[0], "key 30 down");
	CU_ASSERT_STRING_EQUAL(events[1], "key 30 up");
	CU_ASSERT_STRING_EQUAL(events[2], "motion 200.50 150.00");
	CU_ASSERT_STRING_EQUAL(events[3], "button 273 down");
	CU_ASSERT_STRING_EQUAL(events[4], "button 273 up");
	/* 120 pixels, one wheel notch, are 10 axis units */
	CU_ASSERT_STRING_EQUAL(events[5], "axis horizontal -5.000");
	CU_ASSERT_STRING_EQUAL(events[6], "axis vertical 10.000");
	CU_ASSERT_STRING_EQUAL(events[7], "resize 1600 900");
	CU_ASSERT_EQUAL(session.input_dropped, 0);
	gb_input_viewer_destroy(viewer);
	CU_ASSERT_EQUAL(n_events, 8);
}

static void test_input_message__viewer_drops_and_counts(void)
{
	static const char *const bad[] = {
		"",
		"{",
		"nonsense",
		"{\"type\":\"key\",\"code\":\"NoSuchKey\",\"down\":true}",
		"{\"type\":\"move\",\"x\":640,\"y\":10}", /* outside the 640x480 output */
		"{\"type\":\"move\",\"x\":10,\"y\":480}",
		"{\"type\":\"move\",\"x\":NaN,\"y\":1}",
		"{\"type\":\"wheel\",\"dx\":0,\"dy\":1e6}",
		"{\"type\":\"button\",\"button\":7,\"down\":true}",
	};
	struct gb_input_viewer *viewer;

	session_reset();
	viewer = gb_input_viewer_create(&session);
	CU_ASSERT_PTR_NOT_NULL_FATAL(viewer);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT(handle(viewer, bad[i]) < 0);
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"move\",\"x\":639.9,\"y\":479}"), 0);
	CU_ASSERT_EQUAL(session.input_dropped, sizeof(bad) / sizeof(bad[0]));
	CU_ASSERT_EQUAL(n_events, 1);
	CU_ASSERT_EQUAL(gb_input_viewer_handle(NULL, "{}", 2), -EINVAL);
	gb_input_viewer_destroy(viewer);
	gb_input_viewer_destroy(NULL);
}

static void test_input_message__viewer_releases_what_it_holds(void)
{
	struct gb_input_viewer *viewer;

	session_reset();
	viewer = gb_input_viewer_create(&session);
	CU_ASSERT_PTR_NOT_NULL_FATAL(viewer);
	handle(viewer, "{\"type\":\"key\",\"code\":\"ShiftLeft\",\"down\":true}");
	/* a repeated press (browser key repeat) is applied once */
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"key\",\"code\":\"ShiftLeft\",\"down\":true}"),
	                0);
	handle(viewer, "{\"type\":\"key\",\"code\":\"KeyQ\",\"down\":true}");
	handle(viewer, "{\"type\":\"button\",\"button\":0,\"down\":true}");
	/* a release of a key this viewer does not hold changes nothing */
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"key\",\"code\":\"KeyW\",\"down\":false}"), 0);
	CU_ASSERT_EQUAL(n_events, 3);
	gb_input_viewer_destroy(viewer);
	CU_ASSERT_EQUAL(n_events, 6);
	CU_ASSERT(has_event("key 42 up"));
	CU_ASSERT(has_event("key 16 up"));
	CU_ASSERT(has_event("button 272 up"));
	for (unsigned code = 0; code <= KEY_MAX; code++)
		CU_ASSERT_EQUAL(stub_pressed[code], 0);
}

static void test_input_message__release_all_message(void)
{
	struct gb_input_viewer *viewer;

	session_reset();
	viewer = gb_input_viewer_create(&session);
	CU_ASSERT_PTR_NOT_NULL_FATAL(viewer);
	handle(viewer, "{\"type\":\"key\",\"code\":\"ControlLeft\",\"down\":true}");
	handle(viewer, "{\"type\":\"button\",\"button\":4,\"down\":true}");
	CU_ASSERT_EQUAL(handle(viewer, "{\"type\":\"release-all\"}"), 0);
	CU_ASSERT_EQUAL(n_events, 4);
	CU_ASSERT(has_event("key 29 up"));
	CU_ASSERT(has_event("button 276 up"));
	/* nothing left to release */
	gb_input_viewer_destroy(viewer);
	CU_ASSERT_EQUAL(n_events, 4);
}

static void test_input_message__viewers_share_keys(void)
{
	struct gb_input_viewer *a, *b;

	session_reset();
	a = gb_input_viewer_create(&session);
	b = gb_input_viewer_create(&session);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	handle(a, "{\"type\":\"key\",\"code\":\"AltLeft\",\"down\":true}");
	handle(b, "{\"type\":\"key\",\"code\":\"AltLeft\",\"down\":true}");
	handle(b, "{\"type\":\"key\",\"code\":\"KeyB\",\"down\":true}");
	CU_ASSERT_EQUAL(n_events, 2); /* Alt once */

	/* b leaves: its KeyB goes, the Alt that a still holds stays */
	gb_input_viewer_destroy(b);
	CU_ASSERT_EQUAL(n_events, 3);
	CU_ASSERT_STRING_EQUAL(events[2], "key 48 up");
	CU_ASSERT_EQUAL(stub_pressed[KEY_LEFTALT], 1);

	/* a cannot release what b pressed, but its own release goes through */
	b = gb_input_viewer_create(&session);
	handle(b, "{\"type\":\"key\",\"code\":\"KeyC\",\"down\":true}");
	CU_ASSERT_EQUAL(handle(a, "{\"type\":\"key\",\"code\":\"KeyC\",\"down\":false}"), 0);
	CU_ASSERT_EQUAL(stub_pressed[KEY_C], 1);
	handle(a, "{\"type\":\"key\",\"code\":\"AltLeft\",\"down\":false}");
	CU_ASSERT_EQUAL(stub_pressed[KEY_LEFTALT], 0);
	gb_input_viewer_destroy(a);
	gb_input_viewer_destroy(b);
	CU_ASSERT_EQUAL(stub_pressed[KEY_C], 0);
}

static void test_input_message__rate_limit(void)
{
	struct gb_input_viewer *viewer, *other;
	int accepted = 0, busy = 0;

	session_reset();
	viewer = gb_input_viewer_create(&session);
	other = gb_input_viewer_create(&session);
	CU_ASSERT_PTR_NOT_NULL_FATAL(viewer);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	/* A burst of a second's worth goes through, then the bucket is empty;
	 * the loop takes milliseconds, so only a few tokens come back. */
	for (int i = 0; i < 3 * GB_INPUT_RATE_PER_SECOND; i++) {
		int r = handle(viewer, "{\"type\":\"release-all\"}");

		if (r == 0)
			accepted++;
		else if (r == -EBUSY)
			busy++;
	}
	fprintf(stderr, "\naccepted %d, over the rate %d\n", accepted, busy);
	CU_ASSERT(accepted >= GB_INPUT_RATE_PER_SECOND);
	CU_ASSERT(accepted < GB_INPUT_RATE_PER_SECOND + GB_INPUT_RATE_PER_SECOND / 2);
	CU_ASSERT_EQUAL(accepted + busy, 3 * GB_INPUT_RATE_PER_SECOND);
	CU_ASSERT_EQUAL(session.input_dropped, (uint64_t)busy);
	/* the limit is per viewer */
	CU_ASSERT_EQUAL(handle(other, "{\"type\":\"release-all\"}"), 0);
	gb_input_viewer_destroy(viewer);
	gb_input_viewer_destroy(other);
}

static void test_input_message__create_needs_session(void)
{
	errno = 0;
	CU_ASSERT_PTR_NULL(gb_input_viewer_create(NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_input_message__key),
	GB_UNIT_TEST(test_input_message__move),
	GB_UNIT_TEST(test_input_message__button),
	GB_UNIT_TEST(test_input_message__wheel_release_all_resize),
	GB_UNIT_TEST(test_input_message__malformed_refused),
	GB_UNIT_TEST(test_input_message__size_limit),
	GB_UNIT_TEST(test_input_message__embedded_nul),
	GB_UNIT_TEST(test_input_message__deep_nesting),
	GB_UNIT_TEST(test_input_message__strerror),
	GB_UNIT_TEST(test_input_message__viewer_applies_each_type),
	GB_UNIT_TEST(test_input_message__viewer_drops_and_counts),
	GB_UNIT_TEST(test_input_message__viewer_releases_what_it_holds),
	GB_UNIT_TEST(test_input_message__release_all_message),
	GB_UNIT_TEST(test_input_message__viewers_share_keys),
	GB_UNIT_TEST(test_input_message__rate_limit),
	GB_UNIT_TEST(test_input_message__create_needs_session),
};

int main(void)
{
	return GB_UNIT_RUN("input-message", NULL, NULL, tests);
}
