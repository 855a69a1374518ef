/* SPDX-License-Identifier: MIT */
/*
 * KeyboardEvent.code to evdev. The browser reports physical key positions
 * (the "code" names a key by where it sits on a US QWERTY keyboard), and
 * evdev codes are positions too, so the mapping is fixed and the session's
 * xkb layout turns keys into characters, exactly as for a local keyboard.
 *
 * The table covers the UI Events code table for a PC keyboard: the
 * alphanumeric, functional, control pad, arrow, numpad and function
 * sections, the IME keys (Lang1..5, Convert, NonConvert, KanaMode), and the
 * media and browser keys that evdev has a code for. A few legacy names that
 * older Firefox versions send (OSLeft, OSRight, VolumeMute, ...) map to the
 * same keys. Codes without an evdev key (NumpadBackspace, NumpadMemory*,
 * FnLock, ...) are not listed and are refused.
 *
 * Sorted by strcmp() order for bsearch(); tests/unit/test-keymap.c checks it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

#include "keymap.h"

static const struct gb_keymap_entry keymap[] = {
	{ "Again", KEY_AGAIN },
	{ "AltLeft", KEY_LEFTALT },
	{ "AltRight", KEY_RIGHTALT },
	{ "ArrowDown", KEY_DOWN },
	{ "ArrowLeft", KEY_LEFT },
	{ "ArrowRight", KEY_RIGHT },
	{ "ArrowUp", KEY_UP },
	{ "AudioVolumeDown", KEY_VOLUMEDOWN },
	{ "AudioVolumeMute", KEY_MUTE },
	{ "AudioVolumeUp", KEY_VOLUMEUP },
	{ "Backquote", KEY_GRAVE },
	{ "Backslash", KEY_BACKSLASH },
	{ "Backspace", KEY_BACKSPACE },
	{ "BracketLeft", KEY_LEFTBRACE },
	{ "BracketRight", KEY_RIGHTBRACE },
	{ "BrightnessDown", KEY_BRIGHTNESSDOWN },
	{ "BrightnessUp", KEY_BRIGHTNESSUP },
	{ "BrowserBack", KEY_BACK },
	{ "BrowserFavorites", KEY_BOOKMARKS },
	{ "BrowserForward", KEY_FORWARD },
	{ "BrowserHome", KEY_HOMEPAGE },
	{ "BrowserRefresh", KEY_REFRESH },
	{ "BrowserSearch", KEY_SEARCH },
	{ "BrowserStop", KEY_STOP },
	{ "CapsLock", KEY_CAPSLOCK },
	{ "Comma", KEY_COMMA },
	{ "ContextMenu", KEY_COMPOSE },
	{ "ControlLeft", KEY_LEFTCTRL },
	{ "ControlRight", KEY_RIGHTCTRL },
	{ "Convert", KEY_HENKAN },
	{ "Copy", KEY_COPY },
	{ "Cut", KEY_CUT },
	{ "Delete", KEY_DELETE },
	{ "Digit0", KEY_0 },
	{ "Digit1", KEY_1 },
	{ "Digit2", KEY_2 },
	{ "Digit3", KEY_3 },
	{ "Digit4", KEY_4 },
	{ "Digit5", KEY_5 },
	{ "Digit6", KEY_6 },
	{ "Digit7", KEY_7 },
	{ "Digit8", KEY_8 },
	{ "Digit9", KEY_9 },
	{ "Eject", KEY_EJECTCD },
	{ "End", KEY_END },
	{ "Enter", KEY_ENTER },
	{ "Equal", KEY_EQUAL },
	{ "Escape", KEY_ESC },
	{ "F1", KEY_F1 },
	{ "F10", KEY_F10 },
	{ "F11", KEY_F11 },
	{ "F12", KEY_F12 },
	{ "F13", KEY_F13 },
	{ "F14", KEY_F14 },
	{ "F15", KEY_F15 },
	{ "F16", KEY_F16 },
	{ "F17", KEY_F17 },
	{ "F18", KEY_F18 },
	{ "F19", KEY_F19 },
	{ "F2", KEY_F2 },
	{ "F20", KEY_F20 },
	{ "F21", KEY_F21 },
	{ "F22", KEY_F22 },
	{ "F23", KEY_F23 },
	{ "F24", KEY_F24 },
	{ "F3", KEY_F3 },
	{ "F4", KEY_F4 },
	{ "F5", KEY_F5 },
	{ "F6", KEY_F6 },
	{ "F7", KEY_F7 },
	{ "F8", KEY_F8 },
	{ "F9", KEY_F9 },
	{ "Find", KEY_FIND },
	{ "Fn", KEY_FN },
	{ "Help", KEY_HELP },
	{ "Home", KEY_HOME },
	{ "Insert", KEY_INSERT },
	{ "IntlBackslash", KEY_102ND },
	{ "IntlRo", KEY_RO },
	{ "IntlYen", KEY_YEN },
	{ "KanaMode", KEY_KATAKANAHIRAGANA },
	{ "KeyA", KEY_A },
	{ "KeyB", KEY_B },
	{ "KeyC", KEY_C },
	{ "KeyD", KEY_D },
	{ "KeyE", KEY_E },
	{ "KeyF", KEY_F },
	{ "KeyG", KEY_G },
	{ "KeyH", KEY_H },
	{ "KeyI", KEY_I },
	{ "KeyJ", KEY_J },
	{ "KeyK", KEY_K },
	{ "KeyL", KEY_L },
	{ "KeyM", KEY_M },
	{ "KeyN", KEY_N },
	{ "KeyO", KEY_O },
	{ "KeyP", KEY_P },
	{ "KeyQ", KEY_Q },
	{ "KeyR", KEY_R },
	{ "KeyS", KEY_S },
	{ "KeyT", KEY_T },
	{ "KeyU", KEY_U },
	{ "KeyV", KEY_V },
	{ "KeyW", KEY_W },
	{ "KeyX", KEY_X },
	{ "KeyY", KEY_Y },
	{ "KeyZ", KEY_Z },
	{ "Lang1", KEY_HANGEUL },
	{ "Lang2", KEY_HANJA },
	{ "Lang3", KEY_KATAKANA },
	{ "Lang4", KEY_HIRAGANA },
	{ "Lang5", KEY_ZENKAKUHANKAKU },
	{ "LaunchApp1", KEY_COMPUTER },
	{ "LaunchApp2", KEY_CALC },
	{ "LaunchAssistant", KEY_ASSISTANT },
	{ "LaunchMail", KEY_MAIL },
	{ "LaunchScreenSaver", KEY_SCREENSAVER },
	{ "MailForward", KEY_FORWARDMAIL },
	{ "MailReply", KEY_REPLY },
	{ "MailSend", KEY_SEND },
	{ "MediaFastForward", KEY_FASTFORWARD },
	{ "MediaPause", KEY_PAUSECD },
	{ "MediaPlay", KEY_PLAYCD },
	{ "MediaPlayPause", KEY_PLAYPAUSE },
	{ "MediaRecord", KEY_RECORD },
	{ "MediaRewind", KEY_REWIND },
	{ "MediaSelect", KEY_MEDIA },
	{ "MediaStop", KEY_STOPCD },
	{ "MediaTrackNext", KEY_NEXTSONG },
	{ "MediaTrackPrevious", KEY_PREVIOUSSONG },
	{ "MetaLeft", KEY_LEFTMETA },
	{ "MetaRight", KEY_RIGHTMETA },
	{ "MicrophoneMuteToggle", KEY_MICMUTE },
	{ "Minus", KEY_MINUS },
	{ "NonConvert", KEY_MUHENKAN },
	{ "NumLock", KEY_NUMLOCK },
	{ "Numpad0", KEY_KP0 },
	{ "Numpad1", KEY_KP1 },
	{ "Numpad2", KEY_KP2 },
	{ "Numpad3", KEY_KP3 },
	{ "Numpad4", KEY_KP4 },
	{ "Numpad5", KEY_KP5 },
	{ "Numpad6", KEY_KP6 },
	{ "Numpad7", KEY_KP7 },
	{ "Numpad8", KEY_KP8 },
	{ "Numpad9", KEY_KP9 },
	{ "NumpadAdd", KEY_KPPLUS },
	{ "NumpadComma", KEY_KPCOMMA },
	{ "NumpadDecimal", KEY_KPDOT },
	{ "NumpadDivide", KEY_KPSLASH },
	{ "NumpadEnter", KEY_KPENTER },
	{ "NumpadEqual", KEY_KPEQUAL },
	{ "NumpadMultiply", KEY_KPASTERISK },
	{ "NumpadParenLeft", KEY_KPLEFTPAREN },
	{ "NumpadParenRight", KEY_KPRIGHTPAREN },
	{ "NumpadSubtract", KEY_KPMINUS },
	{ "OSLeft", KEY_LEFTMETA },
	{ "OSRight", KEY_RIGHTMETA },
	{ "Open", KEY_OPEN },
	{ "PageDown", KEY_PAGEDOWN },
	{ "PageUp", KEY_PAGEUP },
	{ "Paste", KEY_PASTE },
	{ "Pause", KEY_PAUSE },
	{ "Period", KEY_DOT },
	{ "Power", KEY_POWER },
	{ "PrintScreen", KEY_SYSRQ },
	{ "Props", KEY_PROPS },
	{ "Quote", KEY_APOSTROPHE },
	{ "ScrollLock", KEY_SCROLLLOCK },
	{ "Select", KEY_SELECT },
	{ "Semicolon", KEY_SEMICOLON },
	{ "ShiftLeft", KEY_LEFTSHIFT },
	{ "ShiftRight", KEY_RIGHTSHIFT },
	{ "Slash", KEY_SLASH },
	{ "Sleep", KEY_SLEEP },
	{ "Space", KEY_SPACE },
	{ "Tab", KEY_TAB },
	{ "Undo", KEY_UNDO },
	{ "VolumeDown", KEY_VOLUMEDOWN },
	{ "VolumeMute", KEY_MUTE },
	{ "VolumeUp", KEY_VOLUMEUP },
	{ "WakeUp", KEY_WAKEUP },
	{ "ZoomToggle", KEY_ZOOM },
};

static int compare_entry(const void *key, const void *member)
{
	const struct gb_keymap_entry *entry = member;

	return strcmp(key, entry->code);
}

int gb_keymap_code_to_evdev(const char *code)
{
	const struct gb_keymap_entry *entry;

	if (!code)
		return -ENOENT;
	entry = bsearch(code, keymap, sizeof(keymap) / sizeof(keymap[0]), sizeof(keymap[0]),
	                compare_entry);
	return entry ? entry->evdev : -ENOENT;
}

const struct gb_keymap_entry *gb_keymap_entries(size_t *count)
{
	*count = sizeof(keymap) / sizeof(keymap[0]);
	return keymap;
}
