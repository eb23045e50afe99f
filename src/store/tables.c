/*
 * The schema's tables, by name, and their row counts (every tenant's), for
 * `autodev db status`. The names come from the fixed list AD__STORE_TABLES,
 * never from the caller's text, so each count is a static statement.
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

#define NAME(t) #t,
static const char *const table_names[] = { AD__STORE_TABLES(NAME) };
#undef NAME

#define COUNT(t) "SELECT count(*) FROM " #t,
const char *const ad__store_count_sql[] = { AD__STORE_TABLES(COUNT) };
#undef COUNT

size_t ad_store_table_total(void)
{
    return AD_ARRAY_SIZE(table_names);
}

const char *ad_store_table_name(size_t i)
{
    return i < AD_ARRAY_SIZE(table_names) ? table_names[i] : NULL;
}

int ad_store_table_count(struct ad_store *st, const char *table, int64_t *count,
                         struct ad_err *err)
{
    for (size_t i = 0; table && i < AD_ARRAY_SIZE(table_names); i++) {
        if (!strcmp(table, table_names[i]))
            return st->ops->table_count(st, (int)i, count, err);
    }
    return ad_error(err, AD_EINVAL, "unknown table '%s'", table ? table : "");
}
