/* SPDX-License-Identifier: MIT */
#include "plugin-loader.h"
