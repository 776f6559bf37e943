/* Provider selection of the hypervisor seam: precedence (command line, then
 * environment, then auto-detection) and the errors a user gets when nothing
 * is usable. Runs without Xen and without a simulated host. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sim_paths.h"
#include "xh.h"

static char err[512];
static const struct xh_provider *prov;

static void clear_env(void)
{
        unsetenv(XH_ENV_PROVIDER);
        unsetenv(SIM_ENV_DIR);
        unsetenv(SIM_ENV_DOMID);
        err[0] = '\0';
        prov = NULL;
}

START_TEST(unknown_name_is_refused_with_the_choices)
{
        ck_assert_int_eq(xh_provider_select("kvm", &prov, err, sizeof(err)), -EINVAL);
        ck_assert_ptr_null(prov);
        ck_assert_ptr_nonnull(strstr(err, "unknown hypervisor provider 'kvm'"));
        ck_assert_ptr_nonnull(strstr(err, "'xen' or 'sim'"));
}
END_TEST

START_TEST(environment_names_the_provider)
{
        setenv(XH_ENV_PROVIDER, "bogus", 1);
        ck_assert_int_eq(xh_provider_select(NULL, &prov, err, sizeof(err)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "$" XH_ENV_PROVIDER));
}
END_TEST

START_TEST(command_line_wins_over_environment)
{
        setenv(XH_ENV_PROVIDER, "bogus", 1);
        /* "sim" is a known name: the failure is about usability, not the name. */
        int rc = xh_provider_select("sim", &prov, err, sizeof(err));
        ck_assert_int_lt(rc, 0);
        ck_assert_ptr_nonnull(strstr(err, "'sim' (from the command line) is not usable"));
}
END_TEST

START_TEST(nothing_usable_says_how_to_get_a_hypervisor)
{
        ck_assert_int_eq(xh_provider_select(NULL, &prov, err, sizeof(err)), -ENODEV);
        ck_assert_ptr_nonnull(strstr(err, "no hypervisor found"));
        ck_assert_ptr_nonnull(strstr(err, "/dev/xen/evtchn"));
        ck_assert_ptr_nonnull(strstr(err, "pvback-sim env"));
}
END_TEST

START_TEST(sim_needs_an_existing_domain)
{
        setenv(SIM_ENV_DIR, "/nonexistent/pvback-sim", 1);
        setenv(SIM_ENV_DOMID, "3", 1);
        ck_assert_int_lt(xh_provider_select("sim", &prov, err, sizeof(err)), 0);
        ck_assert_ptr_null(prov);
        setenv(SIM_ENV_DOMID, "not-a-number", 1);
        ck_assert_int_lt(xh_provider_select("sim", &prov, err, sizeof(err)), 0);
}
END_TEST

static Suite *xh_select_suite(void)
{
        Suite *s = suite_create("xh_select");
        TCase *tc = tcase_create("select");
        tcase_add_checked_fixture(tc, clear_env, NULL);
        tcase_add_test(tc, unknown_name_is_refused_with_the_choices);
        tcase_add_test(tc, environment_names_the_provider);
        tcase_add_test(tc, command_line_wins_over_environment);
        tcase_add_test(tc, nothing_usable_says_how_to_get_a_hypervisor);
        tcase_add_test(tc, sim_needs_an_existing_domain);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(xh_select_suite)
