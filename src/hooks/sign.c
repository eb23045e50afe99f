/*
 * Signing (hooks.h): HMAC-SHA256 over "<timestamp>.<body>", the check of
 * a signed request, the master key file, and topic matching. Nothing here
 * touches the store.
 *
 * Sections: HMAC and signatures; the key file; topics.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "autodev/clock.h"
#include "autodev/hooks.h"
#include "autodev/topics.h"

/* ---- HMAC and signatures ------------------------------------------------------------ */

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void ad_hmac_sha256_hex(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        char out[AD_HOOKS_SECRET_SIZE])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    /* HMAC() fails only without memory for its context: then no MAC matches. */
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, mac, &n) || n != 32) {
        memset(out, 0, AD_HOOKS_SECRET_SIZE);
        return;
    }
    hex(mac, 32, out);
    OPENSSL_cleanse(mac, sizeof(mac));
}

/* HMAC of "<ts>." + body (one copy of the body: HMAC() is the one-shot call OpenSSL 3 keeps). */
static int sign_raw(const char *secret, int64_t ts, const void *body, size_t len,
                    unsigned char mac[32])
{
    char prefix[32];
    unsigned int n = 0;
    int plen = snprintf(prefix, sizeof(prefix), "%" PRId64 ".", ts);
    unsigned char *msg = malloc((size_t)plen + len + 1);
    int ok;

    if (!msg)
        return AD_ENOMEM;
    memcpy(msg, prefix, (size_t)plen);
    if (len)
        memcpy(msg + plen, body, len);
    ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)plen + len, mac, &n) &&
         n == 32;
    free(msg);
    return ok ? 0 : AD_ENOMEM;
}

void ad_hooks_sign(const char *secret, int64_t ts, const void *body, size_t len,
                   char out[AD_HOOKS_SIGNATURE_SIZE])
{
    unsigned char mac[32];

    memcpy(out, "sha256=", 7);
    if (sign_raw(secret, ts, body, len, mac) < 0) {
        out[7] = '\0';
        return;
    }
    hex(mac, 32, out + 7);
}

/* A timestamp header: 1..12 decimal digits, nothing else. */
static int parse_ts(const char *s, int64_t *ts)
{
    int64_t v = 0;
    size_t i;

    for (i = 0; s[i]; i++) {
        if (i >= 12 || s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0)
        return -1;
    *ts = v;
    return 0;
}

static int unhex(const char *s, unsigned char out[32])
{
    for (size_t i = 0; i < 64; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (unsigned char)(v << 4);
        else
            out[i / 2] |= (unsigned char)v;
    }
    return s[64] == '\0' ? 0 : -1;
}

int ad_hooks_verify(const char *secret, const char *ts_header, const char *sig_header,
                    const void *body, size_t len, int64_t now_s, struct ad_err *err)
{
    unsigned char want[32], got[32];
    int64_t ts;

    if (!ts_header || !*ts_header)
        return ad_error(err, AD_EPERM, "missing X-Autodev-Timestamp header");
    if (!sig_header || !*sig_header)
        return ad_error(err, AD_EPERM, "missing X-Autodev-Signature header");
    if (parse_ts(ts_header, &ts) < 0)
        return ad_error(err, AD_EPERM, "malformed X-Autodev-Timestamp: expected unix seconds");
    if (ts < now_s - AD_HOOKS_TOLERANCE_S || ts > now_s + AD_HOOKS_TOLERANCE_S)
        return ad_error(err, AD_EPERM, "timestamp outside the %d-second tolerance",
                        AD_HOOKS_TOLERANCE_S);
    if (strncmp(sig_header, "sha256=", 7) != 0 || unhex(sig_header + 7, got) < 0)
        return ad_error(err, AD_EPERM, "malformed X-Autodev-Signature: expected "
                        "sha256=<64 lower-case hex digits>");
    if (sign_raw(secret, ts, body, len, want) < 0)
        return ad_error(err, AD_ENOMEM, "out of memory");
    if (CRYPTO_memcmp(want, got, sizeof(want)) != 0)
        return ad_error(err, AD_EPERM, "signature does not match");
    return 0;
}

/* ---- the key file ------------------------------------------------------------------- */

/* Reads the key from an open file after checking who may read it. */
static int read_key(int fd, const char *path, unsigned char key[AD_SIGNING_KEY_SIZE],
                    struct ad_err *err)
{
    struct stat sb;
    ssize_t n;

    if (fstat(fd, &sb) < 0)
        return ad_error(err, AD_EIO, "cannot stat signing key '%s': %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return ad_error(err, AD_EPERM, "signing key '%s' is not a regular file", path);
    if (sb.st_uid != geteuid())
        return ad_error(err, AD_EPERM, "signing key '%s' belongs to another user (uid %u)", path,
                        (unsigned)sb.st_uid);
    if (sb.st_mode & 077)
        return ad_error(err, AD_EPERM, "signing key '%s' is open to group or others (mode %03o);"
                        " chmod 600 it", path, (unsigned)(sb.st_mode & 0777));
    if (sb.st_size != AD_SIGNING_KEY_SIZE)
        return ad_error(err, AD_EPERM, "signing key '%s' is %lld bytes, not %d", path,
                        (long long)sb.st_size, AD_SIGNING_KEY_SIZE);
    n = pread(fd, key, AD_SIGNING_KEY_SIZE, 0);
    if (n != AD_SIGNING_KEY_SIZE)
        return ad_error(err, AD_EIO, "cannot read signing key '%s'", path);
    return 0;
}

/*
 * A new key file: written in full under a temporary name, then linked to
 * path, which fails if another process got there first (then theirs is
 * read): no process ever sees half a key, and two racing ones agree.
 */
static int create_key(const char *path, struct ad_err *err)
{
    unsigned char key[AD_SIGNING_KEY_SIZE];
    char tmp[4200];
    int fd, rc = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp))
        return ad_error(err, AD_EINVAL, "signing key path too long");
    if (ad_random(key, sizeof(key)) < 0)
        return ad_error(err, AD_EIO, "no random bytes for a signing key");
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ad_error(err, AD_EIO, "cannot create signing key '%s': %s", path, strerror(errno));
    if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) < 0)
        rc = ad_error(err, AD_EIO, "cannot write signing key '%s': %s", path, strerror(errno));
    close(fd);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == 0 && link(tmp, path) < 0 && errno != EEXIST)
        rc = ad_error(err, AD_EIO, "cannot create signing key '%s': %s", path, strerror(errno));
    unlink(tmp);
    return rc;
}

int ad_signing_key_load(const char *path, unsigned char key[AD_SIGNING_KEY_SIZE],
                        struct ad_err *err)
{
    int fd, rc;

    if (!path || !*path)
        return ad_error(err, AD_EINVAL, "no signing key file given");
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        rc = create_key(path, err);
        if (rc < 0)
            return rc;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return ad_error(err, errno == ELOOP ? AD_EPERM : AD_EIO, "cannot open signing key '%s':"
                        " %s", path, strerror(errno));
    rc = read_key(fd, path, key, err);
    close(fd);
    return rc;
}

/* ---- topics ----------------------------------------------------------------------------- */

int ad_hooks_topics_match(const json_t *topics, const char *topic)
{
    size_t i;
    json_t *t;

    json_array_foreach(topics, i, t) {
        const char *s = json_string_value(t);

        if (s && (!strcmp(s, "*") || !strcmp(s, topic)))
            return 1;
    }
    return 0;
}

int ad_hooks_topics_parse(const char *csv, json_t **out, struct ad_err *err)
{
    json_t *arr;
    const char *p = csv;

    *out = NULL;
    if (!csv || !*csv)
        return ad_error(err, AD_EINVAL, "no topics given (a comma-separated list, or *)");
    arr = json_array();
    if (!arr)
        return ad_error(err, AD_ENOMEM, "out of memory");
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char t[AD_TOPIC_MAX + 1];

        if (n == 0 || n > AD_TOPIC_MAX) {
            json_decref(arr);
            return ad_error(err, AD_EINVAL, "invalid topic list '%s'", csv);
        }
        memcpy(t, p, n);
        t[n] = '\0';
        if (strcmp(t, "*") != 0 && !ad_topic_find(t)) {
            json_decref(arr);
            return ad_error(err, AD_EINVAL, "unknown topic '%s' (see the topic table, or use *)",
                            t);
        }
        if (!ad_hooks_topics_match(arr, t) && json_array_append_new(arr, json_string(t)) < 0) {
            json_decref(arr);
            return ad_error(err, AD_ENOMEM, "out of memory");
        }
        p += n;
        if (*p == ',')
            p++;
    }
    *out = arr;
    return 0;
}
