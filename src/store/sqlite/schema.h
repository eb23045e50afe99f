/*
 * SQLite schema migrations (internal to the sqlite backend).
 *
 * Migrations are applied in order, each at most once, inside one
 * transaction; PRAGMA user_version records the newest one applied and the
 * schema_migrations table keeps when each was applied. A migration is never
 * edited after release: changes go into a new one.
 */
#ifndef AD_STORE_SQLITE_SCHEMA_H
#define AD_STORE_SQLITE_SCHEMA_H

#include <stddef.h>

/* PRAGMA application_id of every autodev database: "ADEV". */
#define AD_SQLITE_APPLICATION_ID 0x41444556

struct ad__sqlite_migration {
    int version;       /* 1, 2, ... without gaps */
    const char *sql;   /* one or more statements */
};

extern const struct ad__sqlite_migration ad__sqlite_migrations[];
extern const size_t ad__sqlite_nmigrations;

#endif
