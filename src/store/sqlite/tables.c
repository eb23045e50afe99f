/* Row counts of the schema's tables in SQLite (autodev db status). */
#include "compat.h"

#include "sqlite/sqlite_int.h"

int ad__sq_table_count(struct ad_store *st, int table, int64_t *count, struct ad_err *err)
{
    return ad__sq_ints(ad__sq(st), ad__store_count_sql[table], NULL, NULL, count, 1,
                       "count rows", err);
}
