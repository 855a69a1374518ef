/* SPDX-License-Identifier: MIT */
#include "dropin.h"
