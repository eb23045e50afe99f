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

#include <sqlite3.h>

/* PRAGMA application_id of every autodev database: "ADEV". */
#define AD_SQLITE_APPLICATION_ID 0x41444556

struct ad__sqlite_migration {
    int version;       /* 1, 2, ... without gaps */
    const char *sql;   /* one or more statements */
    /* What SQL alone cannot say, run after sql in the same transaction; NULL for none. */
    int (*after)(sqlite3 *db);   /* SQLITE_OK or an error code */
};

extern const struct ad__sqlite_migration ad__sqlite_migrations[];
extern const size_t ad__sqlite_nmigrations;

/*
 * Registers on db the SQL functions the migrations call (ad_error_type).
 * They appear in no schema object, so a database never needs them after
 * its migration: the sqlite3 shell and other tools open it as usual.
 * SQLITE_OK or a SQLite error code.
 */
int ad__sqlite_schema_functions(sqlite3 *db);

#endif
