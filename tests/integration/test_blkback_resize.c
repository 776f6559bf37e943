/* Online resize on the simulator: the backing file of a vbd grows while
 * pvback-blkfront is connected and busy; pvbackd publishes the new
 * `sectors` and rewrites `state` in one transaction (Linux xen_vbd_resize),
 * the busy frontend keeps going, and a frontend connecting afterwards
 * reads and writes the new range (checked in the file as well).
 * pvback-blkfront reads `sectors` only when it connects, so the range past
 * the old end is exercised by the next connection, not the running one. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "bf_tag.h"
#include "proc.h"
#include "check_main.h"
#include "blkworld.h"
#include "simhost.h"

#define FRONT_DOMID      5
#define OLD_BYTES        (16u << 20)
#define NEW_BYTES        (48u << 20)
#define OLD_SECTORS      (OLD_BYTES / 512u)
#define NEW_SECTORS      (NEW_BYTES / 512u)
#define BE_PATH          "/local/domain/0/backend/vbd/5/51712"
#define BLKFRONT_STOPPED 143 /* 128 + SIGTERM after a clean disconnect */
#define RESIZE_POLL_MS   "50"

static struct simhost host;
static pid_t daemon_pid = -1, front_pid = -1;
static char disk[PATH_MAX + 16];
/* The frontend's stdout is the test's to read or nobody's. */
static const struct proc_exec front_how = {.null_out = true, .close_fds = true};

/* Check's fork mode skips teardown after a failed assertion: clean up at exit. */
static void cleanup(void)
{
        proc_reap(&front_pid);
        proc_reap(&daemon_pid);
        simhost_stop(&host);
}

static void start_world(void)
{
        char bin[PATH_MAX], script[PATH_MAX];
        const char *src = getenv("PVBACK_SRC");
        atexit(cleanup);
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, FRONT_DOMID), 0);
        snprintf(disk, sizeof(disk), "%s/disk.img", host.dir);
        blkw_disk_size(disk, OLD_BYTES);
        /* A short poll interval keeps the test fast; the default is 1 s. */
        const char *argv[] = {simhost_bin("pvbackd", bin, sizeof(bin)),
                              "--hypervisor",
                              "sim",
                              "--foreground",
                              "--log-level",
                              "error",
                              "-o",
                              "vbd.resize-poll-ms=" RESIZE_POLL_MS,
                              NULL};
        const struct proc_exec e = {.argv = argv, .null_out = true, .close_fds = true};
        daemon_pid = simhost_spawn_exec(&host, 0, &e);
        ck_assert_int_gt(daemon_pid, 0);
        snprintf(script, sizeof(script), "%s/tools/hotplug/block-pvback", src ? src : ".");
        const char *args[] = {"vbd",    "attach", "--domid",  "5",    "--target", disk,
                              "--vdev", "xvda",   "--script", script, NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, args), 0);
}

static pid_t blkfront_spawn(const char *const args[], int out_fd)
{
        return blkw_front_spawn(&host, FRONT_DOMID, &front_how, args, out_fd);
}

static int blkfront_run(const char *const args[], char *out, size_t outlen)
{
        return blkw_front_run(&host, FRONT_DOMID, &front_how, args, out, outlen, 60000);
}

static char *read_key(struct xs_handle *xs, const char *key)
{
        char path[256];
        unsigned len;
        snprintf(path, sizeof(path), "%s/%s", BE_PATH, key);
        return xs_read(xs, XBT_NULL, path, &len);
}

static unsigned long long read_ull(struct xs_handle *xs, const char *key)
{
        char *v = read_key(xs, key);
        ck_assert_msg(v != NULL, "%s/%s missing", BE_PATH, key);
        unsigned long long x = strtoull(v, NULL, 10);
        free(v);
        return x;
}

/* Next watch event on xs within timeout_ms; its path in buf ("" if none). */
static void next_event(struct xs_handle *xs, int timeout_ms, char *buf, size_t len)
{
        struct pollfd p = {.fd = xs_fileno(xs), .events = POLLIN};
        unsigned n;
        buf[0] = '\0';
        if (poll(&p, 1, timeout_ms) <= 0)
                return;
        char **vec = xs_read_watch(xs, &n);
        if (vec) {
                snprintf(buf, len, "%s", vec[XS_WATCH_PATH]);
                free(vec);
        }
}

/* Drains pending watch events (the initial firing of each watch). */
static void drain_events(struct xs_handle *xs)
{
        char path[256];
        do
                next_event(xs, 100, path, sizeof(path));
        while (path[0]);
}

static void grow_file(off_t bytes)
{
        blkw_disk_size(disk, bytes);
}

/* The file holds generation `gen` tags for count sectors from start. */
static void check_file(uint64_t start, uint64_t count, uint64_t gen)
{
        blkw_disk_assert_tags(disk, start, count, gen);
}

START_TEST(grow_while_connected)
{
        char out[4096], ev[256];
        start_world();
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        ck_assert_ptr_nonnull(xs);

        /* A frontend connected and busy over the whole old disk. */
        static const char *const load[] = {"load",    "--rw", "mix", "--duration", "60",
                                           "--depth", "16",   "-q",  NULL};
        front_pid = blkfront_spawn(load, -1);
        for (int waited = 0; read_ull(xs, "state") != 4; waited += 5) {
                ck_assert_msg(waited < 20000, "vbd not Connected");
                sleep_ms(5);
        }
        ck_assert_uint_eq(read_ull(xs, "sectors"), OLD_SECTORS);

        ck_assert(xs_watch(xs, BE_PATH "/sectors", "sectors"));
        ck_assert(xs_watch(xs, BE_PATH "/state", "state"));
        drain_events(xs);
        grow_file(NEW_BYTES);

        /* sectors first, then the state rewrite that pokes the frontend; one
         * transaction, so both events come together, in that order. */
        next_event(xs, 5000, ev, sizeof(ev));
        ck_assert_str_eq(ev, BE_PATH "/sectors");
        ck_assert_uint_eq(read_ull(xs, "sectors"), NEW_SECTORS);
        next_event(xs, 1000, ev, sizeof(ev));
        ck_assert_str_eq(ev, BE_PATH "/state");
        ck_assert_uint_eq(read_ull(xs, "state"), 4);
        /* Only once per change: nothing more while the size holds still. */
        next_event(xs, 300, ev, sizeof(ev));
        ck_assert_str_eq(ev, "");

        /* The busy frontend was not disturbed: it stops cleanly, no errors. */
        sleep_ms(200);
        ck_assert_msg(waitpid(front_pid, NULL, WNOHANG) == 0, "blkfront died after the resize");
        kill(front_pid, SIGTERM);
        int rc = simhost_wait(front_pid, 30000);
        front_pid = -1;
        ck_assert_int_eq(rc, BLKFRONT_STOPPED);

        /* A new connection sees the new size and uses the range past the old end. */
        const char *info[] = {"info", NULL};
        ck_assert_int_eq(blkfront_run(info, out, sizeof(out)), 0);
        ck_assert_msg(strstr(out, ": 98304 sectors of 512 bytes"), "%s", out);
        char range[32];
        snprintf(range, sizeof(range), "%u:%u", OLD_SECTORS - 64, NEW_SECTORS - OLD_SECTORS + 64);
        const char *v[] = {"verify", "--range", range, "--generation", "9", "-q", NULL};
        rc = blkfront_run(v, out, sizeof(out));
        ck_assert_msg(rc == 0, "verify of the new range exited %d: %s", rc, out);
        ck_assert_msg(strstr(out, " 0 mismatches, 0 I/O errors"), "%s", out);
        check_file(OLD_SECTORS - 64, NEW_SECTORS - OLD_SECTORS + 64, 9);
        /* The new end is the end: a read straddling it gets BLKIF_RSP_ERROR. */
        const char *past[] = {"hostile", "--class", "out-of-range", "--expect", "error", NULL};
        rc = blkfront_run(past, out, sizeof(out));
        ck_assert_msg(rc == 0, "straddling the new end: %s", out);
        ck_assert_msg(strstr(out, "on a disk of 98304"), "%s", out);
        xs_close(xs);
}
END_TEST

static Suite *blkback_resize_suite(void)
{
        Suite *s = suite_create("blkback_resize");
        TCase *tc = tcase_create("sim");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, grow_while_connected);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(blkback_resize_suite)
