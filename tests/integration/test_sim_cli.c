/* pvback-sim's own lifecycle, through its command line as a user drives it:
 * start/stop leave nothing behind, domains come and go, env/socket answer
 * only for domains that exist, and every refusal says why with exit 1. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "simhost.h"

static struct simhost host;

static void setup(void)
{
        ck_assert_int_eq(simhost_start(&host), 0);
}

static void teardown(void)
{
        simhost_stop(&host);
}

static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        int n = 0;
        if (!d)
                return -1;
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

START_TEST(domains_are_created_listed_and_destroyed)
{
        char out[256];
        const char *const list[] = {"domain", "list", NULL};
        ck_assert_int_eq(simhost_domain_create(&host, 3), 0);
        ck_assert_int_eq(simhost_domain_create(&host, 7), 0);
        ck_assert_int_eq(simhost_cli(&host, out, sizeof(out), list), 0);
        ck_assert_str_eq(out, "0\n3\n7\n");
        ck_assert_int_eq(simhost_domain_destroy(&host, 3), 0);
        ck_assert_int_eq(simhost_cli(&host, out, sizeof(out), list), 0);
        ck_assert_str_eq(out, "0\n7\n");

        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/dom3", host.dir);
        ck_assert_int_eq(access(path, F_OK), -1);
        snprintf(path, sizeof(path), "%s/dom7/xenstored.sock", host.dir);
        ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(refusals_exit_1)
{
        const char *const dup[] = {"domain", "create", "--domid", "0", NULL};
        const char *const gone[] = {"domain", "destroy", "--domid", "9", NULL};
        const char *const dom0[] = {"domain", "destroy", "--domid", "0", NULL};
        const char *const reserved[] = {"domain", "create", "--domid", "32752", NULL};
        const char *const env9[] = {"env", "--domid", "9", NULL};
        const char *const again[] = {"start", NULL};
        const char *const bogus[] = {"frobnicate", NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, dup), 1);
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, gone), 1);
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, dom0), 1);
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, reserved), 2);
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, env9), 1);
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, again), 1);
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, bogus), 2);
}
END_TEST

START_TEST(env_and_socket_name_the_domain)
{
        char out[2048], want[PATH_MAX + 64];
        const char *const sock[] = {"socket", "--domid", "4", NULL};
        const char *const env[] = {"env", "--domid", "4", NULL};
        ck_assert_int_eq(simhost_domain_create(&host, 4), 0);
        ck_assert_int_eq(simhost_cli(&host, out, sizeof(out), sock), 0);
        snprintf(want, sizeof(want), "%s/dom4/xenstored.sock\n", host.dir);
        ck_assert_str_eq(out, want);
        ck_assert_int_eq(simhost_cli(&host, out, sizeof(out), env), 0);
        snprintf(want, sizeof(want), "export XENSTORED_PATH='%s/dom4/xenstored.sock'\n", host.dir);
        ck_assert_ptr_nonnull(strstr(out, want));
        ck_assert_ptr_nonnull(strstr(out, "export PVBACK_HYPERVISOR=sim\n"));
        ck_assert_ptr_nonnull(strstr(out, "export PVBACK_SIM_DOMID=4\n"));
}
END_TEST

/* The env output is meant for eval: a shell that evals it reads xenstore as
 * that domain with Debian's tools. */
START_TEST(eval_env_makes_a_shell_act_as_the_domain)
{
        char cmd[PATH_MAX * 3], bin[PATH_MAX], line[256] = "";
        ck_assert_int_eq(simhost_domain_create(&host, 6), 0);
        snprintf(cmd, sizeof(cmd),
                 "sh -c 'eval \"$(%s env --dir %s --domid 6)\" && xenstore-read domid'",
                 simhost_bin("pvback-sim", bin, sizeof(bin)), host.dir);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
        ck_assert_int_eq(pclose(p), 0);
        ck_assert_str_eq(line, "6\n");
}
END_TEST

START_TEST(stop_removes_every_file_it_made)
{
        const char *const stop[] = {"stop", NULL};
        ck_assert_int_eq(simhost_domain_create(&host, 2), 0);
        ck_assert_int_gt(count_entries(host.dir), 0);
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, stop), 0);
        ck_assert_int_eq(simhost_wait(host.pid, 5000), 0);
        host.pid = 0;
        /* The harness made the directory; the host removes what it put there. */
        int left = count_entries(host.dir);
        ck_assert_msg(left <= 0, "%d entries left in %s", left, host.dir);
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, stop), 1);
}
END_TEST

static Suite *sim_cli_suite(void)
{
        Suite *s = suite_create("sim_cli");
        TCase *tc = tcase_create("lifecycle");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, domains_are_created_listed_and_destroyed);
        tcase_add_test(tc, refusals_exit_1);
        tcase_add_test(tc, env_and_socket_name_the_domain);
        tcase_add_test(tc, eval_env_makes_a_shell_act_as_the_domain);
        tcase_add_test(tc, stop_removes_every_file_it_made);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(sim_cli_suite)
