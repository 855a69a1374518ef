/* SPDX-License-Identifier: MIT */
#include "json-depth.h"

bool gb_json_depth_within(const char *text, size_t length, int max_depth)
{
	bool in_string = false, escaped = false;
	int depth = 0;

	for (size_t i = 0; i < length; i++) {
		char c = text[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return false;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return true;
}
