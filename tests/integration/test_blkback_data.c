/* blkback end to end on the simulator: pvbackd as dom0, vbds attached as
 * libxl does (block-pvback script), pvback-blkfront in domain 5. Data
 * integrity for every feature combination, checked by the frontend's
 * read-back and by reading the backing file directly; durability across
 * kill -9; discard; a hostile frontend losing only its own vbd. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_tag.h"
#include "check_main.h"
#include "blkworld.h"
#include "proc.h"
#include "simhost.h"

#define DISK_BYTES    (32u << 20)
#define RANGE_SECTORS 8192u /* 4 MiB verified per combination */

static struct simhost host;
static pid_t daemon_pid = -1;
static char disk[2][PATH_MAX + 32];
static char script[PATH_MAX + 64];

/* Check's fork mode skips teardown after a failed assertion: clean up at exit. */
static void cleanup(void)
{
        proc_reap(&daemon_pid);
        simhost_stop(&host);
        for (int i = 0; i < 2; i++)
                if (disk[i][0])
                        unlink(disk[i]);
}

static void start_daemon(const char *const extra[])
{
        char bin[PATH_MAX];
        const char *argv[32] = {simhost_bin("pvbackd", bin, sizeof(bin)),
                                "--hypervisor",
                                "sim",
                                "--foreground",
                                "--log-level",
                                "error"};
        int n = 6;
        for (int i = 0; extra && extra[i]; i++)
                argv[n++] = extra[i];
        argv[n] = NULL;
        const struct proc_exec e = {.argv = argv};
        daemon_pid = simhost_spawn_exec(&host, 0, &e);
        ck_assert_int_gt(daemon_pid, 0);
        usleep(300000);
}

static void setup_world(const char *const extra[])
{
        char *src = getenv("PVBACK_SRC");
        atexit(cleanup);
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, 5), 0);
        snprintf(script, sizeof(script), "%s/tools/hotplug/block-pvback", src ? src : ".");
        for (int i = 0; i < 2; i++) {
                snprintf(disk[i], sizeof(disk[i]), "%s/disk%d.img", host.dir, i);
                blkw_disk_size(disk[i], DISK_BYTES);
        }
        start_daemon(extra);
}

static void attach(int i, const char *vdev)
{
        const char *args[] = {"vbd",    "attach", "--domid",  "5",    "--target", disk[i],
                              "--vdev", vdev,     "--script", script, NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, args), 0);
}

static int blkfront(const char *const args[], char *out, size_t outlen)
{
        return blkw_front_run(&host, 5, NULL, args, out, outlen, 120000);
}

/* The backing file holds generation `gen` tags for the range. */
static void check_file(int i, uint64_t start, uint64_t count, uint64_t gen)
{
        blkw_disk_assert_tags(disk[i], start, count, gen);
}

/* queues {1,4} x order {0,4} x indirect x persistent x ABI: 32 runs. */
START_TEST(integrity_matrix)
{
        static const char *const extra[] = {"-o", "vbd.max-queues=4", NULL};
        char out[4096], gen[16], range[32];
        setup_world(extra);
        attach(0, "xvda");
        for (int c = 0; c < 32; c++) {
                const char *args[20] = {"verify",
                                        "--range",
                                        range,
                                        "--generation",
                                        gen,
                                        "--queues",
                                        c & 1 ? "4" : "1",
                                        "--ring-order",
                                        c & 2 ? "4" : "0",
                                        "--abi",
                                        c & 16 ? "x86_32-abi" : "x86_64-abi"};
                int n = 11;
                if (!(c & 4))
                        args[n++] = "--no-indirect";
                if (!(c & 8))
                        args[n++] = "--no-persistent";
                args[n] = NULL;
                uint64_t start = (uint64_t)(c % 7) * RANGE_SECTORS;
                snprintf(range, sizeof(range), "%llu:%u", (unsigned long long)start, RANGE_SECTORS);
                snprintf(gen, sizeof(gen), "%d", c + 1);
                int rc = blkfront(args, out, sizeof(out));
                ck_assert_msg(rc == 0, "combination %d: blkfront exit %d\n%s", c, rc, out);
                ck_assert_msg(strstr(out, " 0 mismatches, 0 I/O errors"), "combination %d: %s", c,
                              out);
                check_file(0, start, RANGE_SECTORS, (uint64_t)c + 1);
        }
}
END_TEST

/* A flush acknowledged before pvbackd is killed -9: the data is in the file. */
START_TEST(durability_kill9)
{
        char out[4096];
        setup_world(NULL);
        attach(0, "xvda");
        const char *w[] = {"verify", "--range", "0:4M", "--generation", "7", "--write-only", NULL};
        ck_assert_int_eq(blkfront(w, out, sizeof(out)), 0);
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = -1;
        check_file(0, 0, 8192, 7);
}
END_TEST

/* Discard: the range reads back as zeroes, and the file has a hole there. */
START_TEST(discard_zeroes)
{
        char out[4096];
        struct stat before, after;
        setup_world(NULL);
        attach(0, "xvda");
        const char *w[] = {"verify", "--range", "0:8M", "--generation", "3", NULL};
        ck_assert_int_eq(blkfront(w, out, sizeof(out)), 0);
        ck_assert_int_eq(stat(disk[0], &before), 0);
        const char *d[] = {"discard", "--range", "2048:4M", NULL};
        ck_assert_msg(blkfront(d, out, sizeof(out)) == 0, "%s", out);
        const char *z[] = {"verify", "--range", "2048:4M", "--expect-zero", NULL};
        ck_assert_msg(blkfront(z, out, sizeof(out)) == 0, "%s", out);
        ck_assert_int_eq(stat(disk[0], &after), 0);
        ck_assert_int_le(after.st_blocks, before.st_blocks - (4 << 20) / 512);
}
END_TEST

/* Each hostile class: the daemon survives and a second vbd keeps working. */
START_TEST(hostile_isolated)
{
        static const char *const classes[] = {"bad-op",
                                              "zero-segments",
                                              "too-many-segments",
                                              "first-gt-last",
                                              "last-sect-ge8",
                                              "out-of-range",
                                              "bad-gref",
                                              "foreign-gref",
                                              "too-many-indirect-pages",
                                              "req-prod-far",
                                              NULL};
        char out[4096];
        setup_world(NULL);
        attach(0, "xvda");
        attach(1, "xvdb");
        for (int i = 0; classes[i]; i++) {
                const char *h[] = {"hostile", "--vdev", "xvda", "--class", classes[i], NULL};
                blkfront(h, out, sizeof(out));
                ck_assert_msg(kill(daemon_pid, 0) == 0, "pvbackd died on %s", classes[i]);
                const char *v[] = {"verify", "--vdev", "xvdb", "--range", "0:1M", NULL};
                ck_assert_msg(blkfront(v, out, sizeof(out)) == 0, "after %s: %s", classes[i], out);
        }
}
END_TEST

static Suite *blkback_suite(void)
{
        Suite *s = suite_create("blkback_data");
        TCase *tc = tcase_create("sim");
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, integrity_matrix);
        tcase_add_test(tc, durability_kill9);
        tcase_add_test(tc, discard_zeroes);
        tcase_add_test(tc, hostile_isolated);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(blkback_suite)
