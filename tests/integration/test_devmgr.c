/* The device manager's xenbus state machine against the real toolstack
 * stand-in, with a fake "vif" class that only records what it is asked to do.
 * The test process plays the frontend (domain 1) by writing its state, and
 * checks the backend state libxl and the frontend would see at every step:
 * InitWait, Connected only after hotplug-status, Closing/Closed, reconnect,
 * bad frontend keys, a guest error reported from another thread, removal on
 * detach and on domain destroy, and a clean exit on SIGTERM. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "devmgr.h"
#include "simhost.h"
#include "xb.h"

#define BE    "/local/domain/0/backend/vif/1/0"
#define FE    "/local/domain/1/device/vif/0"
#define MARKS "/local/domain/0/data/fake"

static struct simhost host;
static char script[PATH_MAX + 32];

/* ---- the fake class (runs in the backend child) ------------------------- */

static void mark(struct be_dev *dev, const char *what)
{
        uint64_t n = 0;
        xb_read_uint(dev->xs, XBT_NULL, MARKS, what, UINT32_MAX, &n);
        xb_printf(dev->xs, XBT_NULL, MARKS, what, "%llu", (unsigned long long)n + 1);
}

static int fake_probe(struct be_dev *dev)
{
        mark(dev, "probe");
        return xb_printf(dev->xs, XBT_NULL, dev->be_path, "feature-fake", "1");
}

static bool fake_ready(struct be_dev *dev)
{
        char *v = NULL;
        bool ok = xb_read_str(dev->xs, XBT_NULL, dev->be_path, "hotplug-status", &v) == 0 &&
                  !strcmp(v, "connected");
        free(v);
        return ok;
}

static int fake_connect(struct be_dev *dev)
{
        uint64_t ref;
        int rc = xb_read_uint(dev->xs, XBT_NULL, dev->fe_path, "ring-ref", UINT32_MAX, &ref);
        if (rc < 0) {
                /* Quotes what the guest wrote, as the real classes do. */
                char *raw = NULL;
                xb_read_str(dev->xs, XBT_NULL, dev->fe_path, "ring-ref", &raw);
                be_dev_fatal(dev, rc, "%s/ring-ref = \"%s\"", dev->fe_path, raw ? raw : "");
                free(raw);
                return rc;
        }
        mark(dev, "connect");
        return 0;
}

static void fake_disconnect(struct be_dev *dev)
{
        mark(dev, "disconnect");
}

static void fake_remove(struct be_dev *dev)
{
        mark(dev, "remove");
}

static int fake_reconfigure(struct be_dev *dev)
{
        mark(dev, "reconfigure");
        return 0;
}

struct report {
        struct be_dev *dev;
};

static void *report_from_thread(void *arg)
{
        be_dev_report_guest_error(((struct report *)arg)->dev,
                                  "q0: slot 3 offset+size 4200 > 4096");
        return NULL;
}

/* A worker thread catching a protocol violation, simulated. */
static void fake_frontend_changed(struct be_dev *dev, const char *key)
{
        if (strcmp(key, "misbehave"))
                return;
        struct report r = {.dev = dev};
        pthread_t t;
        pthread_create(&t, NULL, report_from_thread, &r);
        pthread_join(t, NULL);
}

static const struct be_class fake_class = {
    .kind = "vif",
    .probe = fake_probe,
    .backend_ready = fake_ready,
    .connect = fake_connect,
    .disconnect = fake_disconnect,
    .remove = fake_remove,
    .frontend_changed = fake_frontend_changed,
    .reconfigure = fake_reconfigure,
};

static int run_backend(void *arg)
{
        const struct xh_provider *hv;
        struct devmgr *m;
        char err[256];
        sigset_t set;
        (void)arg;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        int stop = signalfd(-1, &set, 0);
        if (xh_provider_select(NULL, &hv, err, sizeof(err)) < 0)
                return 10;
        struct devmgr_config cfg = {.hv = hv, .nr_workers = 1};
        if (devmgr_create(&cfg, &m) < 0 || devmgr_register_class(m, &fake_class) < 0)
                return 11;
        int rc = devmgr_run(m, stop);
        devmgr_destroy(m);
        return rc < 0 ? 12 : 0;
}

/* ---- helpers (test process) --------------------------------------------- */

/* Waits until dir/key reads `want` (NULL: absent). */
static bool wait_value(struct xs_handle *xs, const char *dir, const char *key, const char *want,
                       int timeout_ms)
{
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms; now_ms() < end; usleep(2000)) {
                char *v = NULL;
                int rc = xb_read_str(xs, XBT_NULL, dir, key, &v);
                bool match = want ? rc == 0 && !strcmp(v, want) : rc == -ENOENT;
                free(v);
                if (match)
                        return true;
        }
        return false;
}

static void fe_state(struct xs_handle *fe, int state)
{
        ck_assert_int_eq(xb_printf(fe, XBT_NULL, FE, "state", "%d", state), 0);
}

static int attach(void)
{
        const char *const args[] = {"vif", "attach", "--domid", "1", "--script", script, NULL};
        return simhost_cli(&host, NULL, 0, args);
}

static int run_detach(void *arg)
{
        const char *const args[] = {"vif", "detach", "--domid", "1", "--devid", "0", NULL};
        (void)arg;
        return simhost_cli(&host, NULL, 0, args);
}

static void setup(void)
{
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, 1), 0);
        snprintf(script, sizeof(script), "%s/hotplug.sh", host.dir);
        FILE *f = fopen(script, "w");
        ck_assert_ptr_nonnull(f);
        fputs("#!/bin/sh\n"
              "case \"$1\" in online|add) xenstore-write \"$XENBUS_PATH/hotplug-status\" "
              "connected;; esac\n",
              f);
        fclose(f);
        chmod(script, 0755);
}

static void teardown(void)
{
        simhost_stop(&host);
}

/* ---- the test ------------------------------------------------------------ */

START_TEST(handshake_reconnect_errors_and_removal)
{
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        struct xs_handle *fe = simhost_xs_open(&host, 1);
        ck_assert_ptr_nonnull(xs);
        ck_assert_ptr_nonnull(fe);
        pid_t be = simhost_spawn(&host, 0, run_backend, NULL);
        ck_assert_int_gt(be, 0);

        /* libxl: attach returns once InitWait was reached and the script ran. */
        ck_assert_int_eq(attach(), 0);
        ck_assert(wait_value(xs, BE, "state", "2", 2000));
        ck_assert(wait_value(xs, BE, "feature-fake", "1", 100));
        ck_assert(wait_value(xs, MARKS, "probe", "1", 100));

        /* Frontend connects: Connected needs hotplug-status (already there). */
        ck_assert_int_eq(xb_printf(fe, XBT_NULL, FE, "ring-ref", "8"), 0);
        fe_state(fe, XenbusStateConnected);
        ck_assert(wait_value(xs, BE, "state", "4", 2000));
        ck_assert(wait_value(xs, MARKS, "connect", "1", 100));

        /* Guest closes and comes back (reboot, kexec). */
        fe_state(fe, XenbusStateClosing);
        ck_assert(wait_value(xs, BE, "state", "5", 2000));
        ck_assert(wait_value(xs, MARKS, "disconnect", "1", 100));
        fe_state(fe, XenbusStateClosed);
        ck_assert(wait_value(xs, BE, "state", "6", 2000));
        fe_state(fe, XenbusStateInitialising);
        ck_assert(wait_value(xs, BE, "state", "2", 2000));
        ck_assert(wait_value(xs, MARKS, "probe", "1", 100)); /* not probed twice */
        fe_state(fe, XenbusStateConnected);
        ck_assert(wait_value(xs, BE, "state", "4", 2000));

        /* Reconfiguring (netfront changing xdp-headroom): Reconfigured, then
         * Connected again when the frontend is. */
        fe_state(fe, XenbusStateReconfiguring);
        ck_assert(wait_value(xs, BE, "state", "8", 2000));
        ck_assert(wait_value(xs, MARKS, "reconfigure", "1", 100));
        fe_state(fe, XenbusStateConnected);
        ck_assert(wait_value(xs, BE, "state", "4", 2000));
        ck_assert(wait_value(xs, MARKS, "disconnect", "1", 100)); /* stayed connected */

        /* A guest error from a worker thread: disabled, reason visible. */
        ck_assert_int_eq(xb_printf(fe, XBT_NULL, FE, "misbehave", "1"), 0);
        ck_assert(wait_value(xs, BE, "state", "5", 2000));
        ck_assert(wait_value(xs, "/local/domain/0/error/backend/vif/1/0", "error",
                             "71 q0: slot 3 offset+size 4200 > 4096", 1000));
        ck_assert(wait_value(xs, MARKS, "disconnect", "2", 100));

        /* Garbage in a frontend key refuses the connection, with the reason. */
        fe_state(fe, XenbusStateClosed);
        ck_assert(wait_value(xs, BE, "state", "6", 2000));
        fe_state(fe, XenbusStateInitialising);
        ck_assert(wait_value(xs, BE, "state", "2", 2000));
        ck_assert(wait_value(xs, "/local/domain/0/error/backend/vif/1/0", "error", NULL, 1000));
        /* Control bytes in it reach the error node escaped, never raw. */
        ck_assert_int_eq(xb_printf(fe, XBT_NULL, FE, "ring-ref", "0x8\x1b[2J"), 0);
        fe_state(fe, XenbusStateConnected);
        ck_assert(wait_value(xs, BE, "state", "5", 2000));
        ck_assert(wait_value(xs, "/local/domain/0/error/backend/vif/1/0", "error",
                             "22 /local/domain/1/device/vif/0/ring-ref = \"0x8\\x1b[2J\"", 1000));

        /* libxl's detach: online=0 + state=5, the frontend closes, the
         * backend reaches Closed, the class is removed, directories go. */
        ck_assert_int_eq(xb_printf(fe, XBT_NULL, FE, "ring-ref", "8"), 0);
        fe_state(fe, XenbusStateClosed);
        ck_assert(wait_value(xs, BE, "state", "6", 2000));
        pid_t det = simhost_spawn(&host, 0, run_detach, NULL);
        ck_assert_int_eq(simhost_wait(det, 15000), 0);
        ck_assert(wait_value(xs, BE, "state", NULL, 2000));
        ck_assert(wait_value(xs, MARKS, "remove", "1", 2000));

        /* A device of a domain that is destroyed goes with it. */
        ck_assert_int_eq(attach(), 0);
        ck_assert(wait_value(xs, MARKS, "probe", "2", 2000));
        ck_assert_int_eq(simhost_domain_destroy(&host, 1), 0);
        ck_assert(wait_value(xs, MARKS, "remove", "2", 2000));

        kill(be, SIGTERM);
        ck_assert_int_eq(simhost_wait(be, 5000), 0);
        xs_close(fe);
        xs_close(xs);
}
END_TEST

/* The toolstack removes a device and writes it again at the same path while
 * the daemon is not looking (stopped here; busy or slow in life): the daemon
 * sees only the end result, a device in Initialising where it had served
 * one, and must treat it as new (remove the old, probe, InitWait) rather
 * than leave libxl waiting out its timeout. */
START_TEST(device_removed_and_added_again_unseen)
{
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        ck_assert_ptr_nonnull(xs);
        pid_t be = simhost_spawn(&host, 0, run_backend, NULL);
        ck_assert_int_gt(be, 0);
        ck_assert_int_eq(attach(), 0);
        ck_assert(wait_value(xs, BE, "state", "2", 2000));
        ck_assert(wait_value(xs, MARKS, "probe", "1", 100));

        ck_assert_int_eq(kill(be, SIGSTOP), 0);
        ck_assert(xs_rm(xs, XBT_NULL, BE));
        ck_assert(xs_rm(xs, XBT_NULL, FE));
        ck_assert(xs_rm(xs, XBT_NULL, "/libxl/1/device/vif/0"));
        const char *const args[] = {"vif",      "attach", "--domid",   "1",
                                    "--script", script,   "--no-wait", NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, args), 0);
        ck_assert(wait_value(xs, BE, "state", "1", 100));
        ck_assert_int_eq(kill(be, SIGCONT), 0);

        ck_assert(wait_value(xs, MARKS, "remove", "1", 2000));
        ck_assert(wait_value(xs, MARKS, "probe", "2", 2000));
        ck_assert(wait_value(xs, BE, "state", "2", 2000));

        kill(be, SIGTERM);
        ck_assert_int_eq(simhost_wait(be, 5000), 0);
        xs_close(xs);
}
END_TEST

static Suite *devmgr_suite(void)
{
        Suite *s = suite_create("devmgr");
        TCase *tc = tcase_create("xenbus");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, handshake_reconnect_errors_and_removal);
        tcase_add_test(tc, device_removed_and_added_again_unseen);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(devmgr_suite)
