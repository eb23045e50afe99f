/*
 * JSON helpers on jansson.
 *
 * The getters validate one field of an object and write a message that
 * names the field ("field 'success': expected boolean"), so callers can turn
 * user input into typed values with one call per field. Returned strings and
 * values are borrowed from the object: they live as long as it does.
 */
#ifndef AUTODEV_JSON_H
#define AUTODEV_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "autodev/buf.h"
#include "autodev/error.h"

/* Field presence for the getters. */
enum ad_json_flags {
    AD_JSON_OPTIONAL = 0,
    AD_JSON_REQUIRED = 1 << 0,
    AD_JSON_NULLABLE = 1 << 1,   /* an explicit null counts as absent */
};

/*
 * Parses len bytes of text into *out (caller owns, json_decref). The text
 * must be one JSON value; on error the message gives line and column.
 * AD_EINVAL, AD_ETOOBIG when len > max_len, AD_ENOMEM (see ad_json_load_code).
 */
int ad_json_parse(const char *text, size_t len, size_t max_len, json_t **out,
                  struct ad_err *err);

/*
 * The AD_E* code of a failed jansson load (json_loadb and friends):
 * AD_ENOMEM when jansson ran out of memory, else AD_EINVAL. jansson's lexer
 * does not report every allocation failure (it ignores a failed growth of
 * its token buffer: jansson issue #362), so this tells only what it reports.
 */
int ad_json_load_code(const json_error_t *jerr);

/*
 * Appends compact JSON (keys in insertion order) to b; on failure b is as
 * it was. AD_ETOOBIG, AD_ENOMEM. Use these rather than json_dumps():
 * jansson ignores a failure while it writes an object's key and returns
 * text that is not JSON as a success; these notice it.
 */
int ad_json_dump(const json_t *v, struct ad_buf *b);
/* Compact JSON as a malloc'd string; NULL on allocation failure. */
char *ad_json_dumps(const json_t *v);
/* The same with jansson's dump flags (JSON_COMPACT, JSON_ENSURE_ASCII, ...). */
char *ad_json_dumps_flags(const json_t *v, size_t flags);

/*
 * Each getter: when the field is absent (or null with AD_JSON_NULLABLE) it
 * returns 0 and leaves *out untouched unless AD_JSON_REQUIRED is set, in
 * which case it returns AD_EINVAL "missing field 'k'". A present field of
 * the wrong type is AD_EINVAL "field 'k': expected T".
 */
int ad_json_get_str(const json_t *obj, const char *key, int flags, size_t max_len,
                    const char **out, struct ad_err *err);
int ad_json_get_bool(const json_t *obj, const char *key, int flags, int *out,
                     struct ad_err *err);
int ad_json_get_int(const json_t *obj, const char *key, int flags, int64_t min, int64_t max,
                    int64_t *out, struct ad_err *err);
int ad_json_get_num(const json_t *obj, const char *key, int flags, double min, double max,
                    double *out, struct ad_err *err);
/*
 * Any JSON value whose compact form is at most max_bytes; types is a mask of
 * (1 << JSON_OBJECT) | (1 << JSON_ARRAY) ... or 0 for any type.
 */
int ad_json_get_value(const json_t *obj, const char *key, int flags, int types,
                      size_t max_bytes, json_t **out, struct ad_err *err);
/*
 * Fails with AD_EINVAL "unknown field 'k'" if obj has a key not in the
 * NULL-terminated list. Strict input catches typos in field names.
 */
int ad_json_check_keys(const json_t *obj, const char *const *allowed, struct ad_err *err);

/*
 * Every dump above prints a real in the shortest form that reads back as
 * the same double (0.524, not jansson's 0.52400000000000002):
 * ad_json_real_format() is that form, for text that prints a real itself.
 * It writes at most AD_JSON_REAL_SIZE bytes with the NUL and returns the
 * length; a real that would read as an integer keeps ".0".
 */
#define AD_JSON_REAL_SIZE 32
int ad_json_real_format(double x, char out[AD_JSON_REAL_SIZE]);

/*
 * Length of jansson's compact serialisation, without building the string;
 * 0 when out of memory. The dumps above are never longer.
 */
size_t ad_json_size(const json_t *v);

/* The string member key of obj; NULL when obj is no object or the member no string. */
const char *ad_json_str(const json_t *obj, const char *key);

/*
 * True when a and b are equal JSON, integers and reals compared by value
 * (1 == 1.0, as Python compares them); NULL equals only NULL.
 */
bool ad_json_equal_loose(const json_t *a, const json_t *b);

#endif
