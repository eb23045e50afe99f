/*
 * Included first by every .c file in src/ and tests/.
 *
 * Sets the feature macros before any system header is seen, pulls in the
 * standard headers that declare the functions banned.h forbids (so their
 * prototypes exist before the ban), then applies the ban.
 */
#ifndef AD_COMPAT_H
#define AD_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* pipe2, getrandom, memmem, strcasestr, ... */
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AD_UNUSED __attribute__((unused))

#include "banned.h"

#endif
