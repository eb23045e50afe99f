/*
 * Skill bundles over HTTP: GET /v1/skills/{skill}/export answers the
 * Agent Skills folder `autodev skill export` writes (the same files, the
 * same bytes: ad_skill_export_files) as a zip or tar archive; POST
 * /v1/skills/import takes such an archive and adds its skill to the
 * catalog, as `autodev skill import` does with a folder: every shape the
 * specification allows (instructions only, several scripts, references),
 * read by the same code (ad_skill_bundle_from_files).
 *
 * The archive is read in memory and never unpacked to disk. It is refused,
 * with nothing changed, when it is not a zip or tar (400 when it is broken,
 * 415 when it is neither), when an entry is a link, a device or has an
 * unsafe path (absolute, "..", a backslash: 422), when it unpacks past the
 * caps (413), or when a folder would be refused (422 with the same reason,
 * 413 past a folder's caps).
 *
 * Sections: archive entries; writing zip and tar; reading zip; reading tar;
 * the bundle in an archive; handlers.
 */
#include "compat.h"

#include <zlib.h>

#include "autodev/json.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "server_int.h"

#define BUNDLE_ENTRIES_MAX 64
#define BUNDLE_UNPACKED_MAX ((size_t)4 << 20)   /* all entries together */
#define ENTRY_NAME_MAX 255

/* ---- archive entries ------------------------------------------------------------------ */

struct entry {
    char name[ENTRY_NAME_MAX + 1];   /* "NAME/scripts/x.py"; a folder's ends without '/' */
    int dir;
    unsigned char *data;             /* owned; NULL for a folder */
    size_t len;
};

struct archive {
    struct entry v[BUNDLE_ENTRIES_MAX];
    size_t n;
    size_t total;                    /* bytes unpacked */
};

static void archive_release(struct archive *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i].data);
    a->n = 0;
}

/*
 * Whether an entry's path is safe to hold: relative, no "." or ".."
 * component, no empty component, no backslash or control character.
 */
static int path_safe(const char *p)
{
    if (!*p || *p == '/')
        return 0;
    for (const char *c = p; *c; c++) {
        if (*c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
            return 0;
    }
    for (const char *seg = p; *seg;) {
        size_t n = strcspn(seg, "/");

        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        seg += n;
        if (*seg == '/')
            seg++;
    }
    return 1;
}

/*
 * Adds an entry named name (len bytes, not NUL-terminated) of data (taken:
 * freed on failure too). Answers 413/422 into res and returns < 0 when refused.
 */
static int archive_add(struct archive *a, struct ad__res *res, const char *name, size_t nlen,
                       int dir, unsigned char *data, size_t len)
{
    struct entry *e;

    if (a->n == BUNDLE_ENTRIES_MAX) {
        free(data);
        return ad__res_fail(res, 413, "the archive holds more than %d entries",
                            BUNDLE_ENTRIES_MAX), AD_ETOOBIG;
    }
    e = &a->v[a->n];
    if (nlen > ENTRY_NAME_MAX || memchr(name, '\0', nlen)) {
        free(data);
        return ad__res_fail(res, 422, "refused: an entry name is over %d bytes or holds a NUL",
                            ENTRY_NAME_MAX), AD_EINVAL;
    }
    memcpy(e->name, name, nlen);
    e->name[nlen] = '\0';
    while (nlen > 0 && e->name[nlen - 1] == '/') {
        e->name[--nlen] = '\0';
        dir = 1;
    }
    /* "./NAME/..." as tar writes it. */
    if (!strncmp(e->name, "./", 2))
        memmove(e->name, e->name + 2, strlen(e->name + 2) + 1);
    if (!path_safe(e->name)) {
        free(data);
        return ad__res_fail(res, 422, "refused: unsafe path '%.100s' in the archive",
                            e->name), AD_EPERM;
    }
    if (len > BUNDLE_UNPACKED_MAX - a->total) {
        free(data);
        return ad__res_fail(res, 413, "the archive unpacks past %zu bytes",
                            BUNDLE_UNPACKED_MAX), AD_ETOOBIG;
    }
    e->dir = dir;
    e->data = data;
    e->len = len;
    a->total += len;
    a->n++;
    return 0;
}

/* ---- writing zip and tar ---------------------------------------------------------------- */

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8 & 0xff);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

struct out_file {
    const char *name;      /* path in the archive; a folder ends with '/' */
    const char *data;      /* NULL: a folder */
    size_t len;
};

/*
 * A zip of files, stored (not compressed: a skill is a few kilobytes),
 * made on Unix with their modes, dated dos_time/dos_date.
 */
static int zip_write(const struct out_file *f, size_t n, unsigned dos_time, unsigned dos_date,
                     struct ad_buf *out)
{
    struct ad_buf cd = AD_BUF_INIT;
    unsigned char h[46];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t nl = strlen(f[i].name), off = out->len;
        uint32_t crc = f[i].data ? (uint32_t)crc32(0L, (const Bytef *)f[i].data,
                                                   (uInt)f[i].len) : 0;
        uint32_t mode = f[i].data ? 0100644 : 040755;

        memset(h, 0, sizeof(h));
        put32(h, 0x04034b50);
        put16(h + 4, 20);
        put16(h + 10, dos_time);
        put16(h + 12, dos_date);
        put32(h + 14, crc);
        put32(h + 18, (uint32_t)f[i].len);
        put32(h + 22, (uint32_t)f[i].len);
        put16(h + 26, (unsigned)nl);
        rc = ad_buf_add(out, h, 30);
        rc = rc ? rc : ad_buf_add(out, f[i].name, nl);
        rc = rc || !f[i].data ? rc : ad_buf_add(out, f[i].data, f[i].len);
        memset(h, 0, sizeof(h));
        put32(h, 0x02014b50);
        put16(h + 4, 3u << 8 | 20);   /* made on Unix, by zip 2.0 */
        put16(h + 6, 20);
        put16(h + 12, dos_time);
        put16(h + 14, dos_date);
        put32(h + 16, crc);
        put32(h + 20, (uint32_t)f[i].len);
        put32(h + 24, (uint32_t)f[i].len);
        put16(h + 28, (unsigned)nl);
        put32(h + 38, mode << 16 | (f[i].data ? 0 : 0x10));
        put32(h + 42, (uint32_t)off);
        rc = rc ? rc : ad_buf_add(&cd, h, 46);
        rc = rc ? rc : ad_buf_add(&cd, f[i].name, nl);
    }
    if (rc == 0) {
        size_t cd_off = out->len;

        memset(h, 0, sizeof(h));
        put32(h, 0x06054b50);
        put16(h + 8, (unsigned)n);
        put16(h + 10, (unsigned)n);
        put32(h + 12, (uint32_t)cd.len);
        put32(h + 16, (uint32_t)cd_off);
        rc = ad_buf_add(out, cd.ptr, cd.len);
        rc = rc ? rc : ad_buf_add(out, h, 22);
    }
    ad_buf_release(&cd);
    return rc;
}

/* A ustar header block of one file or folder; 0, or -1 when the name cannot be held. */
static int tar_header(const struct out_file *f, int64_t mtime, unsigned char h[512])
{
    size_t nl = strlen(f->name), cut = 0;
    unsigned sum = 0;

    memset(h, 0, 512);
    /* A name over 100 bytes goes in the prefix up to a '/'. */
    if (nl > 100) {
        for (size_t i = nl - 1; i > 0 && !cut; i--) {
            if (f->name[i] == '/' && nl - i - 1 <= 100 && i <= 155 && i < nl - 1)
                cut = i;
        }
        if (!cut)
            return -1;
        memcpy(h + 345, f->name, cut);
        memcpy(h, f->name + cut + 1, nl - cut - 1);
    } else {
        memcpy(h, f->name, nl);
    }
    snprintf((char *)h + 100, 8, "%07o", f->data ? 0644u : 0755u);
    snprintf((char *)h + 108, 8, "%07o", 0u);
    snprintf((char *)h + 116, 8, "%07o", 0u);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)(f->data ? f->len : 0));
    snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)mtime);
    h[156] = f->data ? '0' : '5';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return 0;
}

static int tar_write(const struct out_file *f, size_t n, int64_t mtime, struct ad_buf *out)
{
    static const unsigned char zero[1024];
    unsigned char h[512];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (tar_header(&f[i], mtime, h) < 0)
            return AD_EINVAL;
        rc = ad_buf_add(out, h, 512);
        if (rc == 0 && f[i].data) {
            rc = ad_buf_add(out, f[i].data, f[i].len);
            if (rc == 0 && f[i].len % 512)
                rc = ad_buf_add(out, zero, 512 - f[i].len % 512);
        }
    }
    return rc ? rc : ad_buf_add(out, zero, 1024);
}

/* ---- reading zip ------------------------------------------------------------------------ */

/* The entry's data inflated (raw deflate) into exactly want bytes; -1 otherwise. */
static int inflate_exact(const unsigned char *in, size_t inlen, unsigned char *out, size_t want)
{
    z_stream z;
    unsigned char extra;
    int zr;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        return -1;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)inlen;
    z.next_out = want ? out : &extra;
    z.avail_out = want ? (uInt)want : 1;
    zr = inflate(&z, Z_FINISH);
    /* Z_STREAM_END with every byte wanted and no more: anything else is a lie of the sizes. */
    if (zr == Z_STREAM_END && z.total_out == want) {
        inflateEnd(&z);
        return 0;
    }
    inflateEnd(&z);
    return -1;
}

static int zip_read(const unsigned char *p, size_t len, struct archive *a, struct ad__res *res)
{
    size_t eocd = 0, cd, cdlen, count, pos;
    int found = 0;

    if (len < 22)
        return ad__res_fail(res, 400, "not a zip archive: too short"), AD_EINVAL;
    for (size_t i = len - 22 + 1; i-- > 0 && len - i <= 22 + 65535;) {
        if (get32(p + i) == 0x06054b50) {
            eocd = i;
            found = 1;
            break;
        }
    }
    if (!found)
        return ad__res_fail(res, 400, "not a zip archive: no end of central directory"),
               AD_EINVAL;
    count = get16(p + eocd + 10);
    cdlen = get32(p + eocd + 12);
    cd = get32(p + eocd + 16);
    if (get16(p + eocd + 4) || get16(p + eocd + 6) || cd > eocd || cdlen > eocd - cd)
        return ad__res_fail(res, 400, "broken zip archive: bad central directory (or a "
                            "multi-part or zip64 archive)"), AD_EINVAL;
    pos = cd;
    for (size_t k = 0; k < count; k++) {
        const unsigned char *h = p + pos;
        unsigned flags, method, nl, xl, cl, lnl, lxl, made;
        uint32_t crc, csize, usize, ext, loff;
        unsigned char *data = NULL;
        size_t start;
        int rc;

        if (pos + 46 > cd + cdlen || get32(h) != 0x02014b50)
            return ad__res_fail(res, 400, "broken zip archive: bad central directory entry"),
                   AD_EINVAL;
        made = get16(h + 4) >> 8;
        flags = get16(h + 8);
        method = get16(h + 10);
        crc = get32(h + 16);
        csize = get32(h + 20);
        usize = get32(h + 24);
        nl = get16(h + 28);
        xl = get16(h + 30);
        cl = get16(h + 32);
        ext = get32(h + 38);
        loff = get32(h + 42);
        if (pos + 46 + nl + xl + cl > cd + cdlen)
            return ad__res_fail(res, 400, "broken zip archive: bad central directory entry"),
                   AD_EINVAL;
        if (flags & 1)
            return ad__res_fail(res, 422, "refused: '%.*s' is encrypted", (int)nl, h + 46),
                   AD_EINVAL;
        /*
         * Unix modes: a link or anything but a file or folder is refused, as from a
         * folder (no type bits, as Python's zipfile writes them, is a file).
         */
        if (made == 3 && ((ext >> 16) & 0170000) && ((ext >> 16) & 0170000) != 0100000 &&
            ((ext >> 16) & 0170000) != 040000)
            return ad__res_fail(res, 422, "refused: '%.*s' is %s", (int)nl, h + 46,
                                ((ext >> 16) & 0170000) == 0120000 ? "a symbolic link"
                                                                   : "not a regular file"),
                   AD_EPERM;
        if (method != 0 && method != 8)
            return ad__res_fail(res, 422, "refused: '%.*s' is compressed with method %u "
                                "(stored and deflate only)", (int)nl, h + 46, method),
                   AD_EINVAL;
        if (usize > BUNDLE_UNPACKED_MAX - a->total)
            return ad__res_fail(res, 413, "the archive unpacks past %zu bytes",
                                BUNDLE_UNPACKED_MAX), AD_ETOOBIG;
        if ((size_t)loff + 30 > len || get32(p + loff) != 0x04034b50)
            return ad__res_fail(res, 400, "broken zip archive: bad local header"), AD_EINVAL;
        lnl = get16(p + loff + 26);
        lxl = get16(p + loff + 28);
        start = (size_t)loff + 30 + lnl + lxl;
        if (start > len || csize > len - start)
            return ad__res_fail(res, 400, "broken zip archive: an entry runs past its end"),
                   AD_EINVAL;
        if (usize > 0 || method == 8) {
            data = malloc(usize ? usize : 1);
            if (!data)
                return ad__res_fail(res, 500, "out of memory"), AD_ENOMEM;
            if (method == 0 ? csize != usize || (memcpy(data, p + start, usize), 0)
                            : inflate_exact(p + start, csize, data, usize) < 0) {
                free(data);
                return ad__res_fail(res, 400, "broken zip archive: '%.*s' does not unpack to "
                                    "its size", (int)nl, h + 46), AD_EINVAL;
            }
            if ((uint32_t)crc32(0L, data, usize) != crc) {
                free(data);
                return ad__res_fail(res, 400, "broken zip archive: '%.*s' fails its CRC",
                                    (int)nl, h + 46), AD_EINVAL;
            }
        }
        rc = archive_add(a, res, (const char *)h + 46, nl,
                         nl > 0 && h[46 + nl - 1] == '/', data, usize);
        if (rc < 0)
            return rc;
        pos += 46 + nl + xl + cl;
    }
    return 0;
}

/* ---- reading tar ------------------------------------------------------------------------- */

/* An octal field; -1 when it is not one. */
static int64_t octal(const unsigned char *f, size_t n)
{
    int64_t v = 0;
    size_t i = 0;

    while (i < n && f[i] == ' ')
        i++;
    if (i == n || f[i] < '0' || f[i] > '7')
        return -1;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (INT64_MAX >> 3))
            return -1;
        v = v << 3 | (f[i] - '0');
    }
    for (; i < n; i++) {
        if (f[i] != ' ' && f[i] != '\0')
            return -1;
    }
    return v;
}

static int tar_read(const unsigned char *p, size_t len, struct archive *a, struct ad__res *res)
{
    size_t pos = 0;

    for (;;) {
        const unsigned char *h = p + pos;
        char name[ENTRY_NAME_MAX + 2];
        unsigned sum = 0;
        int64_t size, chk;
        unsigned char *data = NULL;
        size_t nl, pl;
        int rc, zero = 1;

        if (pos + 512 > len)
            return ad__res_fail(res, 400, "broken tar archive: no end-of-archive block"),
                   AD_EINVAL;
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero)
            return 0;
        chk = octal(h + 148, 8);
        for (int i = 0; i < 512; i++)
            sum += i >= 148 && i < 156 ? ' ' : h[i];
        if (chk != (int64_t)sum)
            return ad__res_fail(res, 400, "broken tar archive: a header fails its checksum"),
                   AD_EINVAL;
        size = octal(h + 124, 12);
        if (size < 0)
            return ad__res_fail(res, 400, "broken tar archive: a bad size field"), AD_EINVAL;
        nl = strnlen((const char *)h, 100);
        pl = memcmp(h + 257, "ustar", 5) == 0 ? strnlen((const char *)h + 345, 155) : 0;
        snprintf(name, sizeof(name), "%.*s%s%.*s", (int)pl, h + 345, pl ? "/" : "", (int)nl, h);
        switch (h[156]) {
        case '0': case '\0': case '5':
            break;
        case '1': case '2':
            return ad__res_fail(res, 422, "refused: '%.100s' is a %s link", name,
                                h[156] == '2' ? "symbolic" : "hard"), AD_EPERM;
        case 'x': case 'g': case 'L': case 'K':
            return ad__res_fail(res, 422, "refused: '%.100s': extended tar headers (pax or "
                                "GNU) are not read; use ustar", name), AD_EINVAL;
        default:
            return ad__res_fail(res, 422, "refused: '%.100s' is not a regular file or folder",
                                name), AD_EPERM;
        }
        pos += 512;
        if (h[156] == '5')
            size = 0;
        if ((uint64_t)size > len - pos)
            return ad__res_fail(res, 400, "broken tar archive: '%.100s' runs past its end",
                                name), AD_EINVAL;
        if ((uint64_t)size > BUNDLE_UNPACKED_MAX - a->total)
            return ad__res_fail(res, 413, "the archive unpacks past %zu bytes",
                                BUNDLE_UNPACKED_MAX), AD_ETOOBIG;
        if (h[156] != '5') {
            data = malloc(size ? (size_t)size : 1);
            if (!data)
                return ad__res_fail(res, 500, "out of memory"), AD_ENOMEM;
            memcpy(data, p + pos, (size_t)size);
        }
        rc = archive_add(a, res, name, strlen(name), h[156] == '5', data, (size_t)size);
        if (rc < 0)
            return rc;
        pos += ((size_t)size + 511) / 512 * 512;
    }
}

/* ---- the bundle in an archive ------------------------------------------------------------ */

/* The status of a catalog error about the bundle: what a folder would be refused with. */
static int bundle_fail(struct ad__res *res, const struct ad_err *err)
{
    int st = err->code == AD_ETOOBIG ? 413 : err->code == AD_ENOMEM ? 500 : 422;

    return ad__res_fail(res, st, "cannot import the bundle: %s", err->msg);
}

/*
 * The skill bundle of the archive: one folder NAME (the skill's name in the
 * Agent Skills form), read by the catalog's own code for a folder
 * (ad_skill_bundle_from_files: every shape the specification allows, the
 * same refusals and reasons as `autodev skill import`). 0 with *b filled,
 * or answered into res.
 */
static int bundle_of(const struct archive *a, struct ad__res *res, struct ad_skill_bundle *b)
{
    struct ad_err err = AD_ERR_INIT;
    char top[ENTRY_NAME_MAX + 1];
    json_t *files;
    size_t tl;
    int rc = 0;

    memset(b, 0, sizeof(*b));
    if (a->n == 0)
        return ad__res_fail(res, 422, "cannot import the bundle: the archive is empty"),
               AD_EINVAL;
    tl = strcspn(a->v[0].name, "/");
    snprintf(top, sizeof(top), "%.*s", (int)tl, a->v[0].name);
    for (size_t i = 0; i < a->n; i++) {
        if (strncmp(a->v[i].name, top, tl) || (a->v[i].name[tl] && a->v[i].name[tl] != '/') ||
            (!a->v[i].name[tl] && !a->v[i].dir))
            return ad__res_fail(res, 422, "cannot import the bundle: the archive must hold one "
                                "folder, the skill's ('%s' is outside '%s')", a->v[i].name,
                                top), AD_EINVAL;
    }
    files = json_object();
    for (size_t i = 0; files && rc == 0 && i < a->n; i++) {
        if (!a->v[i].dir && a->v[i].name[tl] == '/' && a->v[i].name[tl + 1])
            rc = ad_skill_files_put(files, a->v[i].name + tl + 1,
                                    a->v[i].data ? (const char *)a->v[i].data : "",
                                    a->v[i].len);
    }
    if (!files || rc < 0) {
        json_decref(files);
        return ad__res_fail(res, 500, "out of memory"), AD_ENOMEM;
    }
    rc = ad_skill_bundle_from_files(top, files, b, &err);
    json_decref(files);
    if (rc < 0) {
        /* The folder is said once, as the CLI says it: "NAME: SKILL.md line 2: ..." loses NAME. */
        size_t n = strlen(top);

        if (!strncmp(err.msg, top, n) && err.msg[n] == ':' && err.msg[n + 1] == ' ')
            memmove(err.msg, err.msg + n + 2, strlen(err.msg + n + 2) + 1);
        return bundle_fail(res, &err), rc;
    }
    return 0;
}

/* ---- handlers ------------------------------------------------------------------------------ */

/* The DOS time and date of an ISO-8601 UTC time (1980-01-01 when it is older or unreadable). */
static void dos_stamp(const char *iso, unsigned *t, unsigned *d)
{
    int y, mo, da, h, mi, se;

    *t = 0;
    *d = 1u << 5 | 1;
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &da, &h, &mi, &se) == 6 && y >= 1980 &&
        y < 2108) {
        *t = (unsigned)(h << 11 | mi << 5 | se / 2);
        *d = (unsigned)((y - 1980) << 9 | mo << 5 | da);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The folder's files (ad_skill_export_files) as archive entries under
 * folder/, each parent folder before its files, in path order. f, names
 * and datas are sized 2n + 1; the caller frees names[] and datas[].
 */
static int folder_entries(const char *folder, const json_t *files, struct out_file *f,
                          char **names, char **datas, size_t *nf, struct ad_err *err)
{
    const char **paths = calloc(json_object_size(files) + 1, sizeof(*paths));
    const char *path;
    json_t *v;
    size_t n = 0, k = 0;
    int rc = 0;

    if (!paths)
        return ad_error(err, AD_ENOMEM, "out of memory");
    json_object_foreach((json_t *)files, path, v)
        paths[n++] = path;
    qsort(paths, n, sizeof(*paths), cmp_str);
    names[k] = ad_strdupf("%s/", folder);
    f[k] = (struct out_file){ names[k], NULL, 0 };
    rc = names[k++] ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* The folders on the way that the previous path did not open. */
        for (const char *sl = strchr(paths[i], '/'); rc == 0 && sl; sl = strchr(sl + 1, '/')) {
            size_t dl = (size_t)(sl - paths[i]) + 1;

            if (i > 0 && !strncmp(paths[i - 1], paths[i], dl))
                continue;
            names[k] = ad_strdupf("%s/%.*s", folder, (int)dl, paths[i]);
            f[k] = (struct out_file){ names[k], NULL, 0 };
            rc = names[k++] ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
        }
        if (rc == 0) {
            size_t len = 0;

            names[k] = ad_strdupf("%s/%s", folder, paths[i]);
            rc = names[k] ? ad_skill_export_file(files, paths[i], &datas[k], &len, err)
                          : ad_error(err, AD_ENOMEM, "out of memory");
            f[k] = (struct out_file){ names[k], datas[k], len };
            k++;
        }
    }
    free(paths);
    *nf = k;
    return rc;
}

int ad__h_skill_export(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_skill_bundle b = { 0 };
    struct ad_buf arc;
    const char *format = ad__query(r, "format"), *semver = ad__query(r, "version");
    char folder[128], script[AD_NAME_MAX + 8], *desc = NULL, **names = NULL, **datas = NULL;
    json_t *owned = NULL, *files = NULL;
    struct out_file *f = NULL;
    size_t nf = 0, cap = 0;
    unsigned dt, dd;
    int64_t ms = 0;
    int rc, zip;

    ad_buf_init(&arc, BUNDLE_UNPACKED_MAX + (1u << 20));
    if (format && strcmp(format, "zip") && strcmp(format, "tar"))
        return ad__res_fail(res, 400, "invalid format '%s': expected zip or tar", format);
    zip = !format || !strcmp(format, "zip");
    /* By name, or by id as the other skill routes take it. */
    if (ad_id_valid(r->param[0])) {
        struct ad_skill byid = { 0 };

        rc = ad_catalog_skill_get(r->st, r->tok.tenant_id, r->param[0], &byid, &err);
        if (rc == 0)
            rc = ad_catalog_get(r->st, r->tok.tenant_id, byid.name, semver, &s, &v, &err);
        ad_skill_release(&byid);
    } else if (ad_skill_name_valid(r->param[0])) {
        rc = ad_catalog_get(r->st, r->tok.tenant_id, r->param[0], semver, &s, &v, &err);
    } else {
        return ad__res_fail(res, 404, "unknown skill '%s'", r->param[0]);
    }
    if (rc < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    /* The bundle as `autodev skill export` makes it (cmd_skill.c write_bundle), the files too. */
    snprintf(script, sizeof(script), "%s.py", s.name);
    desc = ad_skill_md_description(s.description, s.name, s.entry_function);
    if (!desc) {
        ad__res_fail(res, 500, "out of memory");
        goto out;
    }
    b.name = s.name;
    b.description = desc;
    b.semver = v.semver;
    b.entry = s.entry_function;
    b.script = script;
    b.code = v.code;
    b.input_schema = (json_t *)ad_skill_version_schema(&s, &v, &owned);
    rc = ad_skill_name_to_agentskills(s.name, folder, sizeof(folder), &err);
    if (rc == 0)
        rc = ad_skill_export_files(&b, &files, &err);
    if (rc == 0) {
        cap = 2 * json_object_size(files) + 1;
        f = calloc(cap, sizeof(*f));
        names = calloc(cap, sizeof(*names));
        datas = calloc(cap, sizeof(*datas));
        rc = f && names && datas ? folder_entries(folder, files, f, names, datas, &nf, &err)
                                 : ad_error(&err, AD_ENOMEM, "out of memory");
    }
    if (rc < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    ad_time_parse(v.created_at, &ms);
    dos_stamp(v.created_at, &dt, &dd);
    rc = zip ? zip_write(f, nf, dt, dd, &arc) : tar_write(f, nf, ms / 1000, &arc);
    if (rc < 0) {
        ad__res_fail(res, 500, "the %s archive cannot be made", zip ? "zip" : "tar");
        goto out;
    }
    res->status = 200;
    res->text_len = arc.len;
    res->text = ad_buf_detach(&arc, NULL);
    res->content_type = zip ? "application/zip" : "application/x-tar";
    snprintf(res->disposition, sizeof(res->disposition), "attachment; filename=\"%s-%s.%s\"",
             folder, v.semver, zip ? "zip" : "tar");
out:
    for (size_t i = 0; i < cap && names; i++) {
        free(names[i]);
        free(datas ? datas[i] : NULL);
    }
    free(names);
    free(datas);
    free(f);
    free(desc);
    json_decref(files);
    json_decref(owned);
    ad_buf_release(&arc);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return 0;
}

int ad__h_skill_import(struct ad__req *r, struct ad__res *res)
{
    const unsigned char *p = (const unsigned char *)r->body.ptr;
    const char *ct = ad__header(r, "Content-Type");
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_bundle b = { 0 };
    struct ad_skill_add add = { .origin = AD_ORIGIN_IMPORT };
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct archive *a;
    char *code = NULL;
    size_t len = r->body.len, n = ct ? strcspn(ct, "; \t") : 0;
    int is_zip = len >= 4 && get32(p) == 0x04034b50, is_tar = len >= 512 &&
                 !memcmp(p + 257, "ustar", 5);
    int rc;

    if (len == 0)
        return ad__res_fail(res, 400, "no bundle: send a zip or tar archive as the body");
    if (ct && n == 15 && !strncasecmp(ct, "application/zip", 15))
        is_tar = 0;
    else if (ct && n == 17 && !strncasecmp(ct, "application/x-tar", 17))
        is_zip = 0;
    if (!is_zip && !is_tar)
        return ad__res_fail(res, ct && n == 24 && !strncasecmp(ct, "application/octet-stream",
                                                                24) ? 415 : 400,
                            "not a %s archive", ct && n == 17 ? "tar" : ct && n == 15 ? "zip"
                                                                       : "zip or tar");
    a = calloc(1, sizeof(*a));
    if (!a)
        return ad__res_fail(res, 500, "out of memory");
    rc = is_zip ? zip_read(p, len, a, res) : tar_read(p, len, a, res);
    if (rc == 0)
        rc = bundle_of(a, res, &b);
    if (rc < 0)
        goto out;
    add.tenant_id = r->tok.tenant_id;
    add.name = b.name;
    add.description = b.description;
    /* A bundle that names no entry calls the function named like the skill. */
    add.entry = b.entry ? b.entry : b.name;
    add.input_schema = b.input_schema;
    add.semver = b.semver ? b.semver : "1.0.0";
    /* A one-script folder's SKILL.md goes along, for an export byte for byte. */
    if (ad_skill_bundle_catalog_code(&b, &code, &err) < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    add.code = code;
    if (ad_catalog_add(r->st, &add, &s, &v, &err) < 0) {
        if (err.code == AD_EEXIST)
            ad__res_fail(res, 409, "%s (raise metadata.version in SKILL.md to import it as a "
                         "new version)", err.msg);
        else if (err.code == AD_EINVAL || err.code == AD_ETOOBIG)
            bundle_fail(res, &err);
        else
            ad__res_err(res, &err);
        goto out;
    }
    ad__res_json(res, 201, json_pack("{s:s, s:s, s:s, s:s, s:s}", "skill", s.name, "semver",
                                     v.semver, "skill_id", s.id, "version_id", v.id, "origin",
                                     "import"));
out:
    free(code);
    ad_skill_bundle_release(&b);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    archive_release(a);
    free(a);
    return 0;
}
