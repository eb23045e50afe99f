/*
 * A scratch database for unit tests: a fresh directory under /tmp holding
 * autodev.db, and its removal with the WAL, shared-memory and journal files
 * SQLite leaves beside it. Header-only: each test binary includes it once.
 */
#ifndef AD_TEST_TMPDB_H
#define AD_TEST_TMPDB_H

#include <unistd.h>

struct tmpdb {
    char dir[64];
    char path[128];    /* dir/autodev.db */
};

/* Makes the directory; tag names the test in the path. Asserts on failure. */
static void tmpdb_make(struct tmpdb *t, const char *tag)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/ad-test-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/autodev.db", t->dir);
}

/* Removes the database file at path and its SQLite side files. */
static AD_UNUSED void tmpdb_remove_files(const char *path)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char p[256];

    for (size_t i = 0; i < AD_ARRAY_SIZE(suffixes); i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* Removes autodev.db with its side files, then the directory (if now empty). */
static void tmpdb_remove(const struct tmpdb *t)
{
    tmpdb_remove_files(t->path);
    rmdir(t->dir);
}

#endif
