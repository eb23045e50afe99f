/* Row counts of the schema's tables on PostgreSQL, every tenant's (autodev db status). */
#include "compat.h"

#include "pg/pg_int.h"

int ad__pg_table_count(struct ad_store *st, int table, int64_t *count, struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), AD_PG_ALL_TENANTS, ad__store_count_sql[table], 0, NULL, &r,
                        "count rows", err);

    if (!rc)
        *count = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}
