/*
 * The store's conformance suite: every group of store_conf_*.c against the
 * backend AUTODEV_TEST_STORE names (store_suite.h; SQLite by default).
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>

#include "autodev/log.h"

#include "store_suite.h"

int main(void)
{
    int failed = 0;

    if (!suite_backend()) {
        fprintf(stderr, "test_store: no test backend for AUTODEV_TEST_STORE='%s'\n",
                suite_base());
        return 1;
    }
    /* Tests provoke logged warnings on purpose (a stray rollback). */
    ad_log_set_level(AD_LOG_ERROR);
    failed += _cmocka_run_group_tests("store core", suite_core, suite_ncore, NULL, NULL);
    failed += _cmocka_run_group_tests("store skills", suite_skills, suite_nskills, NULL, NULL);
    failed += _cmocka_run_group_tests("store learn", suite_learn, suite_nlearn, NULL, NULL);
    failed += _cmocka_run_group_tests("store patterns", suite_patterns, suite_npatterns, NULL,
                                      NULL);
    failed += _cmocka_run_group_tests("store alpha", suite_alpha, suite_nalpha, NULL, NULL);
    failed += _cmocka_run_group_tests("store fitness terms", suite_terms, suite_nterms, NULL,
                                      NULL);
    return failed ? 1 : 0;
}
