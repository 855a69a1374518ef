/* SPDX-License-Identifier: MIT */
/*
 * KeyboardEvent.code to evdev: the table is sorted (bsearch depends on it),
 * every entry is found again, every value is a keyboard key input.c takes,
 * the common keys have the codes a PC keyboard gives, unknown codes are
 * refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit-test.h"

#include "keymap.h"

static void test_keymap__table_sorted_without_duplicates(void)
{
	size_t count;
	const struct gb_keymap_entry *entries = gb_keymap_entries(&count);

	CU_ASSERT(count > 150);
	for (size_t i = 1; i < count; i++) {
		if (strcmp(entries[i - 1].code, entries[i].code) >= 0) {
			fprintf(stderr, "out of order: %s, %s\n", entries[i - 1].code,
			        entries[i].code);
			CU_FAIL("table not strictly sorted");
		}
	}
}

static void test_keymap__every_entry_round_trips(void)
{
	size_t count;
	const struct gb_keymap_entry *entries = gb_keymap_entries(&count);

	for (size_t i = 0; i < count; i++) {
		int code = gb_keymap_code_to_evdev(entries[i].code);

		if (code != entries[i].evdev)
			fprintf(stderr, "%s: %d, not %u\n", entries[i].code, code,
			        entries[i].evdev);
		CU_ASSERT_EQUAL(code, entries[i].evdev);
	}
}

/* gb_input_key() takes 1..KEY_MAX outside the button range. */
static void test_keymap__every_value_is_a_keyboard_key(void)
{
	size_t count;
	const struct gb_keymap_entry *entries = gb_keymap_entries(&count);

	for (size_t i = 0; i < count; i++) {
		unsigned code = entries[i].evdev;

		CU_ASSERT(code >= 1 && code <= KEY_MAX);
		CU_ASSERT(code < BTN_MISC || code >= KEY_OK);
		CU_ASSERT(strlen(entries[i].code) > 0 && strlen(entries[i].code) < 32);
	}
}

static void test_keymap__common_codes(void)
{
	static const struct {
		const char *code;
		int evdev;
	} expected[] = {
		{ "KeyA", 30 },
		{ "KeyQ", KEY_Q },
		{ "KeyZ", 44 },
		{ "Digit1", 2 },
		{ "Digit0", 11 },
		{ "Enter", 28 },
		{ "Escape", 1 },
		{ "Space", 57 },
		{ "Tab", 15 },
		{ "Backspace", 14 },
		{ "ShiftLeft", 42 },
		{ "ShiftRight", 54 },
		{ "ControlLeft", 29 },
		{ "ControlRight", 97 },
		{ "AltLeft", 56 },
		{ "AltRight", 100 },
		{ "MetaLeft", 125 },
		{ "MetaRight", 126 },
		{ "ArrowUp", 103 },
		{ "ArrowDown", 108 },
		{ "ArrowLeft", 105 },
		{ "ArrowRight", 106 },
		{ "F1", 59 },
		{ "F10", 68 },
		{ "F11", 87 },
		{ "F12", 88 },
		{ "F13", 183 },
		{ "F24", 194 },
		{ "Minus", 12 },
		{ "Equal", 13 },
		{ "BracketLeft", 26 },
		{ "BracketRight", 27 },
		{ "Backslash", 43 },
		{ "Semicolon", 39 },
		{ "Quote", 40 },
		{ "Backquote", 41 },
		{ "Comma", 51 },
		{ "Period", 52 },
		{ "Slash", 53 },
		{ "CapsLock", 58 },
		{ "IntlBackslash", 86 },
		{ "IntlRo", 89 },
		{ "IntlYen", 124 },
		{ "Insert", 110 },
		{ "Delete", 111 },
		{ "Home", 102 },
		{ "End", 107 },
		{ "PageUp", 104 },
		{ "PageDown", 109 },
		{ "PrintScreen", 99 },
		{ "ScrollLock", 70 },
		{ "Pause", 119 },
		{ "ContextMenu", 127 },
		{ "NumLock", 69 },
		{ "Numpad0", 82 },
		{ "Numpad5", 76 },
		{ "Numpad9", 73 },
		{ "NumpadEnter", 96 },
		{ "NumpadAdd", 78 },
		{ "NumpadSubtract", 74 },
		{ "NumpadMultiply", 55 },
		{ "NumpadDivide", 98 },
		{ "NumpadDecimal", 83 },
		{ "AudioVolumeMute", 113 },
		{ "AudioVolumeUp", 115 },
		{ "MediaPlayPause", 164 },
	};

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		int code = gb_keymap_code_to_evdev(expected[i].code);

		if (code != expected[i].evdev)
			fprintf(stderr, "%s: %d, expected %d\n", expected[i].code, code,
			        expected[i].evdev);
		CU_ASSERT_EQUAL(code, expected[i].evdev);
	}
}

static void test_keymap__letters_and_digits_all_there(void)
{
	char code[8];

	for (char c = 'A'; c <= 'Z'; c++) {
		snprintf(code, sizeof(code), "Key%c", c);
		CU_ASSERT(gb_keymap_code_to_evdev(code) > 0);
	}
	for (char c = '0'; c <= '9'; c++) {
		snprintf(code, sizeof(code), "Digit%c", c);
		CU_ASSERT(gb_keymap_code_to_evdev(code) > 0);
	}
	for (int f = 1; f <= 24; f++) {
		snprintf(code, sizeof(code), "F%d", f);
		CU_ASSERT(gb_keymap_code_to_evdev(code) > 0);
	}
	for (char c = '0'; c <= '9'; c++) {
		char numpad[16];

		snprintf(numpad, sizeof(numpad), "Numpad%c", c);
		CU_ASSERT(gb_keymap_code_to_evdev(numpad) > 0);
	}
}

static void test_keymap__unknown_codes_refused(void)
{
	static const char *const unknown[] = {
		"",
		"keya",
		"KEYA",
		"KeyA ",
		" KeyA",
		"Key",
		"F0",
		"F25",
		"F100",
		"Digit",
		"Digit10",
		"a",
		"Unidentified",
		"NumpadBackspace",
		"FnLock",
		"Numpad",
		"ArrowUp\n",
		"Shift",
	};

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		CU_ASSERT_EQUAL(gb_keymap_code_to_evdev(unknown[i]), -ENOENT);
	CU_ASSERT_EQUAL(gb_keymap_code_to_evdev(NULL), -ENOENT);
}

static const struct gb_unit_test tests[] = {
	GB_UNIT_TEST(test_keymap__table_sorted_without_duplicates),
	GB_UNIT_TEST(test_keymap__every_entry_round_trips),
	GB_UNIT_TEST(test_keymap__every_value_is_a_keyboard_key),
	GB_UNIT_TEST(test_keymap__common_codes),
	GB_UNIT_TEST(test_keymap__letters_and_digits_all_there),
	GB_UNIT_TEST(test_keymap__unknown_codes_refused),
};

int main(void)
{
	return GB_UNIT_RUN("keymap", NULL, NULL, tests);
}
