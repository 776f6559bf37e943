/* pvback-blkfront end to end through pvbackd on a private simulated host: the
 * vbd attached as libxl does, verify runs for feature combinations, and the
 * backing file itself checked sector by sector against the tags. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bf_tag.h"
#include "check_main.h"
#include "simhost.h"

#define SECTORS 32768u /* 16 MiB */

static struct simhost host;
static pid_t backend;
static char disk[PATH_MAX + 16];

static int exec_argv(void *arg)
{
        char *const *argv = arg;
        execv(argv[0], argv);
        return 127;
}

static void setup(void)
{
        char bin[PATH_MAX];
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, 1), 0);
        snprintf(disk, sizeof(disk), "%s/disk.img", host.dir);
        int fd = open(disk, O_CREAT | O_RDWR, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, (off_t)SECTORS * 512), 0);
        close(fd);
        static char *argv[3];
        argv[0] = strdup(simhost_bin("pvbackd", bin, sizeof(bin)));
        argv[1] = "-f";
        argv[2] = NULL;
        backend = simhost_spawn(&host, 0, exec_argv, argv);
        ck_assert_int_gt(backend, 0);
        /* pvback's own script: the stock one would set up a loop device
         * per run (covered once, with cleanup, by test_blkback_stock_script). */
        char script[PATH_MAX + 64];
        snprintf(script, sizeof(script), "%s/tools/hotplug/block-pvback",
                 getenv("PVBACK_SRC") ? getenv("PVBACK_SRC") : ".");
        const char *attach[] = {"vbd",    "attach", "--domid", "1",    "--target", disk,
                                "--vdev", "xvda",   "--script", script, NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, attach), 0);
}

static void teardown(void)
{
        if (backend > 0) {
                kill(backend, SIGTERM);
                simhost_wait(backend, 10000);
        }
        simhost_stop(&host);
}

static int run_cli(const char *const *args)
{
        char bin[PATH_MAX];
        char *argv[32] = {strdup(simhost_bin("pvback-blkfront", bin, sizeof(bin)))};
        int n = 1;
        for (; args[n - 1] && n < 31; n++)
                argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        pid_t pid = simhost_spawn(&host, 1, exec_argv, argv);
        int rc = simhost_wait(pid, 60000);
        free(argv[0]);
        return rc;
}

static void check_backing_file(uint64_t generation)
{
        uint8_t buf[BF_TAG_SECTOR];
        int fd = open(disk, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        for (uint64_t s = 0; s < SECTORS; s++) {
                ck_assert_int_eq(pread(fd, buf, sizeof(buf), (off_t)(s * 512)), 512);
                ck_assert_msg(bf_tag_check(buf, s, generation, NULL, NULL) == BF_TAG_OK,
                              "backing file sector %lu", (unsigned long)s);
        }
        close(fd);
}

/* queues {1,4} × ring order {0,4} × indirect × persistent × ABI, the issue's
 * data-integrity matrix, one device reconnected for each. */
START_TEST(verify_matrix_through_pvbackd)
{
        char gen[16];
        snprintf(gen, sizeof(gen), "%d", 10 + _i);
        const char *args[24] = {"verify", "-q", "--generation", gen, "--queues", _i & 1 ? "4" : "1",
                                "--ring-order", _i & 2 ? "4" : "0",
                                "--abi", _i & 16 ? "x86_32-abi" : "x86_64-abi"};
        int n = 10;
        args[n++] = _i & 4 ? "--indirect-segs" : "--no-indirect";
        if (_i & 4)
                args[n++] = "256";
        if (_i & 8)
                args[n++] = "--no-persistent";
        args[n] = NULL;
        ck_assert_int_eq(run_cli(args), 0);
        check_backing_file(10u + (unsigned)_i);
}
END_TEST

START_TEST(hostile_then_verify)
{
        const char *h[] = {"hostile", "-q", "--class", "bad-gref", NULL};
        ck_assert_int_eq(run_cli(h), 0);
        const char *v[] = {"verify", "-q", "--range", "0:4096", "--generation", "7", NULL};
        ck_assert_int_eq(run_cli(v), 0);
}
END_TEST

static Suite *blkfront_pvbackd_suite(void)
{
        Suite *s = suite_create("blkfront_pvbackd");
        TCase *tc = tcase_create("e2e");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, verify_matrix_through_pvbackd, 0, 32);
        tcase_add_test(tc, hostile_then_verify);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(blkfront_pvbackd_suite)
