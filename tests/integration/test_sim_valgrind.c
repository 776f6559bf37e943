/* The pvback-sim daemon's whole lifecycle under valgrind: start, domains
 * created and destroyed with clients still connected, xenstore traffic with
 * watches and transactions, a grant-copy/event-channel stream between two
 * domains, stop. Any leak or memory error fails the test through valgrind's
 * exit code. Skipped in the sanitizer build (ASan and valgrind exclude each
 * other; ASan covers that build). */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "sanitizer.h"
#include "simhost.h"

static const char *const valgrind[] = {VALGRIND_MEMCHECK, NULL};

static int run_demo_back(void *arg)
{
        char bin[PATH_MAX];
        (void)arg;
        execl(simhost_bin("pvback-demo", bin, sizeof(bin)), "pvback-demo", "back",
              "--frontend-domid", "1", (char *)NULL);
        return 127;
}

static int run_demo_front(void *arg)
{
        char bin[PATH_MAX];
        (void)arg;
        execl(simhost_bin("pvback-demo", bin, sizeof(bin)), "pvback-demo", "front",
              "--backend-domid", "0", "--bytes", "8M", (char *)NULL);
        return 127;
}

static void xenstore_traffic(struct simhost *h)
{
        struct xs_handle *xs1 = simhost_xs_open(h, 1);
        struct xs_handle *xs2 = simhost_xs_open(h, 2);
        ck_assert_ptr_nonnull(xs1);
        ck_assert_ptr_nonnull(xs2);
        ck_assert(xs_write(xs1, XBT_NULL, "data/k", "v", 1));
        ck_assert(xs_watch(xs1, "data", "tok"));
        ck_assert(xs_watch(xs2, "@releaseDomain", "rel") || errno == EACCES);
        xs_transaction_t t = xs_transaction_start(xs1);
        ck_assert(t != XBT_NULL);
        ck_assert(xs_write(xs1, t, "data/t", "1", 1));
        ck_assert(xs_transaction_end(xs1, t, false));
        /* A transaction left open and a watch left registered by a client
         * that goes away with its domain must not leak in the daemon. */
        ck_assert(xs_transaction_start(xs2) != XBT_NULL);
        ck_assert(xs_watch(xs2, "data", "tok2"));
        ck_assert_int_eq(simhost_domain_destroy(h, 2), 0);
        xs_close(xs2);
        xs_close(xs1);
}

START_TEST(daemon_lifecycle_is_valgrind_clean)
{
        struct simhost h;
        if (valgrind_skipped())
                return;
        ck_assert_int_eq(simhost_start_wrapped(&h, valgrind, 60000), 0);
        ck_assert_int_eq(simhost_domain_create(&h, 1), 0);
        ck_assert_int_eq(simhost_domain_create(&h, 2), 0);
        xenstore_traffic(&h);

        pid_t back = simhost_spawn(&h, 0, run_demo_back, NULL);
        pid_t front = simhost_spawn(&h, 1, run_demo_front, NULL);
        ck_assert_int_gt(back, 0);
        ck_assert_int_gt(front, 0);
        ck_assert_int_eq(simhost_wait(front, 60000), 0);
        ck_assert_int_eq(simhost_wait(back, 60000), 0);

        ck_assert_int_eq(simhost_domain_destroy(&h, 1), 0);
        ck_assert_int_eq(simhost_domain_create(&h, 1), 0);
        int status = simhost_shutdown(&h, 60000);
        ck_assert_msg(status == 0, "pvback-sim under valgrind exited %d (%s)", status,
                      VALGRIND_VERDICT(status));
}
END_TEST

static Suite *sim_valgrind_suite(void)
{
        Suite *s = suite_create("sim_valgrind");
        TCase *tc = tcase_create("lifecycle");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, daemon_lifecycle_is_valgrind_clean);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(sim_valgrind_suite)
