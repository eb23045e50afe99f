/*
 * The PostgreSQL backend's ops table (store.c picks it for postgres:// and
 * postgresql:// URIs). Built from pg/conn.c and the entity files when
 * libpq was found (HAVE_PG); otherwise pg/stub.c gives a table whose open
 * says the build has no PostgreSQL support.
 */
#ifndef AD_STORE_PG_H
#define AD_STORE_PG_H

struct ad_store_ops;

extern const struct ad_store_ops ad__store_pg_ops;

#endif
