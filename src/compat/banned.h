/*
 * Functions that are easy to misuse, turned into compile errors.
 *
 * strcpy/strcat/sprintf write without a bound; strtok keeps hidden state;
 * atoi/atol cannot report errors; gmtime/localtime/ctime/asctime return
 * static storage. Use ad_buf, snprintf, strtoll with checks, gmtime_r.
 */
#ifndef AD_BANNED_H
#define AD_BANNED_H

#define AD_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) AD_BANNED(strcpy)
#undef strcat
#define strcat(x, y) AD_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) AD_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) AD_BANNED(strncat)
#undef sprintf
#define sprintf(...) AD_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) AD_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) AD_BANNED(strtok)
#undef atoi
#define atoi(x) AD_BANNED(atoi)
#undef atol
#define atol(x) AD_BANNED(atol)
#undef gmtime
#define gmtime(x) AD_BANNED(gmtime)
#undef localtime
#define localtime(x) AD_BANNED(localtime)
#undef ctime
#define ctime(x) AD_BANNED(ctime)
#undef asctime
#define asctime(x) AD_BANNED(asctime)

#endif
