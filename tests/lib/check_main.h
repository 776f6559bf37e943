/* Every test file is its own Check runner: `PV_CHECK_MAIN(foo_suite)` at the
 * end of tests/<kind>/test_foo.c. The summary line Check prints reaches CI. */
#ifndef PVBACK_TEST_CHECK_MAIN_H
#define PVBACK_TEST_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define PV_CHECK_MAIN(suite_fn)                                                                    \
        int main(void)                                                                             \
        {                                                                                          \
                SRunner *sr = srunner_create(suite_fn());                                          \
                srunner_run_all(sr, CK_NORMAL);                                                    \
                int failed = srunner_ntests_failed(sr);                                            \
                srunner_free(sr);                                                                  \
                return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                       \
        }

#endif
