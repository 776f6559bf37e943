/* pvbackd with Debian's stock hotplug script (/etc/xen/scripts/block from
 * xen-utils-common, unchanged): for a regular file the script sets up a
 * loop device and writes node, physical-device and physical-device-path;
 * pvbackd serves the loop device, data written by pvback-blkfront lands in
 * the file, and detach releases the loop device. Skipped when the script
 * or loop devices are unavailable. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "bf_tag.h"
#include "proc.h"
#include "check_main.h"
#include "blkworld.h"
#include "simhost.h"

#define STOCK_BLOCK "/etc/xen/scripts/block"
#define FRONT_DOMID 5
#define DISK_BYTES  (16u << 20)
#define BE_PATH     "/local/domain/0/backend/vbd/5/51712"
#define ERR_PATH    "/local/domain/0/error/backend/vbd/5/51712"

static struct simhost host;
static pid_t daemon_pid = -1;
static char disk[PATH_MAX + 16];
static char loopdev[64]; /* the loop device the script set up, once known */

/* Whether loop device `dev` is bound to our backing file. */
static bool loop_backs_disk(const char *dev)
{
        struct loop_info64 li;
        struct stat st;
        int fd = open(dev, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        bool bound = ioctl(fd, LOOP_GET_STATUS64, &li) == 0;
        close(fd);
        return bound && disk[0] && stat(disk, &st) == 0 && li.lo_inode == st.st_ino &&
               li.lo_device == st.st_dev;
}

/* Check's fork mode skips teardown after a failed assertion: clean up at
 * exit, the loop device included (only if it still serves our file). */
static void cleanup(void)
{
        if (daemon_pid > 0) {
                kill(daemon_pid, SIGKILL);
                waitpid(daemon_pid, NULL, 0);
                daemon_pid = -1;
        }
        if (loopdev[0] && loop_backs_disk(loopdev)) {
                int fd = open(loopdev, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        ioctl(fd, LOOP_CLR_FD, 0);
                        close(fd);
                }
        }
        simhost_stop(&host);
}

/* Why this machine cannot run the test, or NULL. */
static const char *unavailable(void)
{
        if (access(STOCK_BLOCK, X_OK) != 0)
                return STOCK_BLOCK " is not installed (xen-utils-common)";
        if (access("/usr/sbin/losetup", X_OK) != 0 && access("/sbin/losetup", X_OK) != 0)
                return "losetup is not installed";
        int fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return "/dev/loop-control cannot be opened (no loop driver or not root)";
        int free_nr = ioctl(fd, LOOP_CTL_GET_FREE);
        close(fd);
        if (free_nr < 0)
                return "no free loop device";
        return NULL;
}

static void start_world(void)
{
        char bin[PATH_MAX];
        atexit(cleanup);
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, FRONT_DOMID), 0);
        snprintf(disk, sizeof(disk), "%s/disk.img", host.dir);
        blkw_disk_size(disk, DISK_BYTES);
        const char *argv[] = {simhost_bin("pvbackd", bin, sizeof(bin)),
                              "--hypervisor",
                              "sim",
                              "--foreground",
                              "--log-level",
                              "error",
                              NULL};
        const struct proc_exec e = {.argv = argv, .close_fds = true};
        daemon_pid = simhost_spawn_exec(&host, 0, &e);
        ck_assert_int_gt(daemon_pid, 0);
}

static int blkfront_run(const char *const args[], char *out, size_t outlen)
{
        const struct proc_exec how = {.close_fds = true};
        return blkw_front_run(&host, FRONT_DOMID, &how, args, out, outlen, 60000);
}

static char *read_key(struct xs_handle *xs, const char *path)
{
        unsigned len;
        return xs_read(xs, XBT_NULL, path, &len);
}

/* What the script wrote: node and physical-device-path name the same loop
 * device, physical-device is its hex maj:min, and it backs our file. */
static void check_script_keys(struct xs_handle *xs)
{
        char *node = read_key(xs, BE_PATH "/node");
        ck_assert_ptr_nonnull(node);
        ck_assert_msg(strlen(node) < sizeof(loopdev), "node %s", node);
        snprintf(loopdev, sizeof(loopdev), "%s", node);
        free(node);
        ck_assert_msg(!strncmp(loopdev, "/dev/loop", 9), "node is %s", loopdev);
        char *pdp = read_key(xs, BE_PATH "/physical-device-path");
        ck_assert_ptr_nonnull(pdp);
        ck_assert_str_eq(pdp, loopdev);
        free(pdp);
        struct stat st;
        ck_assert_int_eq(stat(loopdev, &st), 0);
        char want[32];
        snprintf(want, sizeof(want), "%x:%x", major(st.st_rdev), minor(st.st_rdev));
        char *pd = read_key(xs, BE_PATH "/physical-device");
        ck_assert_ptr_nonnull(pd);
        ck_assert_str_eq(pd, want);
        free(pd);
        ck_assert_msg(loop_backs_disk(loopdev), "%s does not back %s", loopdev, disk);
        char *hs = read_key(xs, BE_PATH "/hotplug-status");
        ck_assert_ptr_nonnull(hs);
        ck_assert_str_eq(hs, "connected");
        free(hs);
}

/* pvbackd holds an fd on the loop device (not on the file itself). */
static bool daemon_holds(const char *target)
{
        char dir[64], path[384], link[PATH_MAX];
        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)daemon_pid);
        for (int fd = 0; fd < 1024; fd++) {
                snprintf(path, sizeof(path), "%s/%d", dir, fd);
                ssize_t n = readlink(path, link, sizeof(link) - 1);
                if (n <= 0)
                        continue;
                link[n] = '\0';
                if (!strcmp(link, target))
                        return true;
        }
        return false;
}

static void check_file(uint64_t start, uint64_t count, uint64_t gen)
{
        blkw_disk_assert_tags(disk, start, count, gen);
}

START_TEST(stock_block_script_loop_device)
{
        const char *why = unavailable();
        if (why) {
                fprintf(stderr, "stock_block_script_loop_device: skipped: %s\n", why);
                return;
        }
        char out[4096];
        start_world();
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        ck_assert_ptr_nonnull(xs);
        const char *attach[] = {"vbd",    "attach", "--domid",  "5",         "--target", disk,
                                "--vdev", "xvda",   "--script", STOCK_BLOCK, NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, attach), 0);
        check_script_keys(xs);
        /* The node came after physical-device: pvbackd waited for it rather
         * than give up (no error node, still InitWait). */
        char *err = read_key(xs, ERR_PATH "/error");
        ck_assert_msg(err == NULL, "pvbackd reported: %s", err);
        char *state = read_key(xs, BE_PATH "/state");
        ck_assert_str_eq(state, "2");
        free(state);

        const char *w[] = {"verify", "--range", "0:8M", "--generation", "4", "-q", NULL};
        int rc = blkfront_run(w, out, sizeof(out));
        ck_assert_msg(rc == 0, "verify exited %d: %s", rc, out);
        ck_assert_msg(strstr(out, " 16384 checked") && strstr(out, " 0 mismatches, 0 I/O errors"),
                      "%s", out);
        ck_assert_msg(daemon_holds(loopdev), "pvbackd does not serve %s", loopdev);
        /* Through the loop device into the file (the loop driver's cache is
         * written back by the flush the verify ends its writes with). */
        check_file(0, 16384, 4);

        const char *detach[] = {"vbd", "detach", "--domid", "5", "--vdev", "xvda", NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, detach), 0);
        ck_assert_msg(!daemon_holds(loopdev), "pvbackd still holds %s", loopdev);
        /* The script's remove ran losetup -d; autoclear may defer it a moment. */
        for (int waited = 0; loop_backs_disk(loopdev); waited += 10) {
                ck_assert_msg(waited < 3000, "%s still backs %s after detach", loopdev, disk);
                sleep_ms(10);
        }
        xs_close(xs);
}
END_TEST

static Suite *blkback_stock_script_suite(void)
{
        Suite *s = suite_create("blkback_stock_script");
        TCase *tc = tcase_create("sim");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, stock_block_script_loop_device);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(blkback_stock_script_suite)
