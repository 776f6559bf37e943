/* The add and remove sequences of libxl_device.c, shared by vif and vbd:
 * write → wait for InitWait (10 s) → hotplug script (40 s) for an add;
 * online=0+state=5 → wait for Closed (10 s) → script → destroy for a remove.
 * Messages follow libxl's wording so logs compare with xl's. */
#include "toolstack.h"
#include "xb.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xh.h"

#define XS_PATH_MAX 3072

enum { XB_INITWAIT = 2, XB_CLOSING = 5, XB_CLOSED = 6 }; /* xen/io/xenbus.h */

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ts_xswait(struct xs_handle *xs, const char *path, int timeout_ms,
              int (*check)(const char *value, void *arg), void *arg)
{
        static const char token[] = "pvback-sim-toolstack";
        int fd = xs_fileno(xs); /* before the watch, so no event is missed */
        if (fd < 0 || !xs_watch(xs, path, token))
                return errno ? -errno : -EIO;
        long long deadline = now_ms() + timeout_ms;
        int rc;
        for (;;) {
                char **ev;
                while ((ev = xs_check_watch(xs)))
                        free(ev);
                /* Re-read on every event: watches may fire spuriously, and the
                 * first one fires on registration. */
                unsigned len;
                char *val = xs_read(xs, XBT_NULL, path, &len);
                if (!val && errno != ENOENT) {
                        rc = -errno;
                        break;
                }
                rc = check(val, arg);
                free(val);
                if (rc != 0) {
                        rc = rc > 0 ? 0 : rc;
                        break;
                }
                long long left = deadline - now_ms();
                if (left <= 0) {
                        rc = -ETIMEDOUT;
                        break;
                }
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
                        rc = -errno;
                        break;
                }
        }
        xs_unwatch(xs, path, token);
        return rc;
}

struct devstate {
        const char *path;
        int wanted;
};

/* libxl_event.c devstate_callback. */
static int devstate_check(const char *val, void *arg)
{
        const struct devstate *ds = arg;
        if (!val) {
                pv_debug(NULL, "backend %s wanted state %d but it was removed", ds->path,
                         ds->wanted);
                return -ENOENT;
        }
        int got = atoi(val);
        if (got == ds->wanted) {
                pv_debug(NULL, "backend %s wanted state %d ok", ds->path, ds->wanted);
                return 1;
        }
        pv_debug(NULL, "backend %s wanted state %d still waiting state %d", ds->path, ds->wanted,
                 got);
        return 0;
}

static int wait_devstate(struct xs_handle *xs, const char *be, int wanted, int timeout_ms)
{
        char path[XS_PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/state", be);
        struct devstate ds = {path, wanted};
        int rc = ts_xswait(xs, path, timeout_ms, devstate_check, &ds);
        if (rc == -ETIMEDOUT) {
                pv_debug(NULL,
                         "backend %s (hoping for state change to %d): xswait timeout (path=%s)",
                         path, wanted, path);
                pv_debug(NULL, "backend %s wanted state %d  timed out", path, wanted);
        }
        return rc;
}

static int removed_check(const char *val, void *arg)
{
        (void)arg;
        return val ? 0 : 1;
}

/* Own domain id; the toolstack runs hotplug scripts only for backends in its
 * own domain (device_hotplug), a driver domain's xl devd runs the others. */
static uint32_t own_domid(struct xs_handle *xs)
{
        uint16_t domid;
        return xh_own_domid(xs, &domid) == 0 ? domid : 0;
}

static int hotplug(struct xs_handle *xs, const struct ts_device *d, enum ts_action action,
                   const struct ts_timeouts *t, const char *ctx, const char *be)
{
        uint32_t self = own_domid(xs);
        if (d->backend_domid == self)
                return ts_hotplug_run(xs, d, action, t->hotplug_ms);
        pv_debug(ctx, "Backend domid %u, domid %u, assuming driver domains", d->backend_domid,
                 self);
        if (action == TS_ADD) {
                pv_debug(ctx, "Not a remove, not executing hotplug scripts");
                return 0;
        }
        int rc = ts_xswait(xs, be, t->destroy_ms, removed_check, NULL);
        if (rc == -ETIMEDOUT)
                pv_err(ctx, "timed out while waiting for %s to be removed", be);
        return rc;
}

/* libxl leaves the result of the script to the backend; the backend in turn
 * stays out of Connected until hotplug-status says connected. Checking here
 * turns a silent hang into a message. */
static int check_hotplug_status(struct xs_handle *xs, const char *ctx, const char *be)
{
        char path[XS_PATH_MAX + 64];
        unsigned len;
        snprintf(path, sizeof(path), "%s/hotplug-status", be);
        char *st = xs_read(xs, XBT_NULL, path, &len);
        int rc = 0;
        if (st && strcmp(st, "error") == 0) {
                snprintf(path, sizeof(path), "%s/hotplug-error", be);
                char *why = xs_read(xs, XBT_NULL, path, &len);
                pv_err(ctx, "hotplug script reported an error%s%s", why ? ": " : "",
                       why ? why : "");
                free(why);
                rc = -EIO;
        } else if (!st || strcmp(st, "connected") != 0) {
                pv_warn(ctx,
                        "%s/hotplug-status is %s%s%s, not \"connected\": the backend will "
                        "not connect",
                        be, st ? "\"" : "absent", st ? st : "", st ? "\"" : "");
        }
        free(st);
        return rc;
}

static bool domain_exists(struct xs_handle *xs, uint32_t domid)
{
        char path[64];
        unsigned len;
        snprintf(path, sizeof(path), "/local/domain/%u", domid);
        char *v = xs_read(xs, XBT_NULL, path, &len);
        free(v);
        return v != NULL;
}

static int add_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        return ts_device_write(xs, t, arg);
}

static void report_failure(const struct ts_device *d, const char *ctx, const char *action)
{
        /* libxl.c device_addrm_aocomplete, xl's last line for device add/remove. */
        pv_err(ctx, "unable to %s %s with id %u", action, d->kind->name, d->devid);
}

int ts_attach(struct xs_handle *xs, const struct ts_device *d, const struct ts_timeouts *t,
              bool no_wait)
{
        char ctx[32], be[XS_PATH_MAX];
        int rc = ts_backend_path(d, be, sizeof(be));
        if (rc < 0)
                return rc;
        ts_ctx(d, ctx, sizeof(ctx));
        if (!domain_exists(xs, d->domid)) {
                pv_err(ctx, "Non-existant domain");
                return -ESRCH;
        }
        if (!domain_exists(xs, d->backend_domid)) {
                pv_err(ctx, "backend domain %u does not exist", d->backend_domid);
                return -ESRCH;
        }
        rc = xb_transact(xs, add_txn, (void *)d);
        if (rc == -EEXIST)
                pv_err(ctx, "device already exists in xenstore");
        else if (rc < 0)
                pv_err(ctx, "xs transaction failed: %s", strerror(-rc));
        if (rc < 0 || no_wait)
                goto out;

        rc = wait_devstate(xs, be, XB_INITWAIT, t->init_ms);
        if (rc < 0) {
                pv_err(ctx, "unable to add device with path %s", be);
                goto out;
        }
        rc = hotplug(xs, d, TS_ADD, t, ctx, be);
        if (rc == 0 && d->backend_domid == own_domid(xs))
                rc = check_hotplug_status(xs, ctx, be);
out:
        if (rc < 0)
                report_failure(d, ctx, "add");
        return rc;
}

int ts_device_lookup(struct xs_handle *xs, struct ts_device *d)
{
        char lx[XS_PATH_MAX + 64], kind[16];
        unsigned len;
        uint32_t domid, devid;
        int rc = ts_libxl_path(d, lx, sizeof(lx));
        if (rc < 0)
                return rc;
        strncat(lx, "/backend", sizeof(lx) - strlen(lx) - 1);
        char *be = xs_read(xs, XBT_NULL, lx, &len);
        if (!be)
                return -ENODEV;
        rc = ts_parse_backend_path(be, &d->backend_domid, kind, &domid, &devid);
        free(be);
        if (rc < 0 || strcmp(kind, d->kind->name) != 0 || domid != d->domid || devid != d->devid)
                return -EINVAL;
        return 0;
}

struct close_args {
        const struct ts_device *d;
        const char *be, *ctx;
        bool force;
        bool gone; /* out: the backend state was already absent */
};

/* libxl__initiate_device_generic_remove's transaction. */
static int close_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        struct close_args *a = arg;
        char path[XS_PATH_MAX + 64];
        unsigned len;
        int rc;
        if (a->force) {
                rc = ts_frontend_path(a->d, path, sizeof(path));
                rc = rc ?: ts_path_cleanup(xs, t, path);
                if (rc < 0)
                        return rc;
        }
        snprintf(path, sizeof(path), "%s/state", a->be);
        char *state = xs_read(xs, t, path, &len);
        a->gone = !state;
        if (!state)
                return errno == ENOENT ? 0 : -errno;
        bool closed = atoi(state) == XB_CLOSED;
        free(state);
        /* online=0 first tells the backend to destroy, not just disconnect. */
        snprintf(path, sizeof(path), "%s/online", a->be);
        if (!xs_write(xs, t, path, "0", 1))
                return -errno;
        snprintf(path, sizeof(path), "%s/state", a->be);
        if (!closed && !xs_write(xs, t, path, "5", 1)) {
                pv_err(a->ctx, "unable to write to xenstore path %s", path);
                return -errno;
        }
        return 0;
}

/* Closing transaction then the wait for Closed; FORCE_AUTO retries once as a
 * forced remove after a timeout, as device_backend_callback does. */
static int close_and_wait(struct xs_handle *xs, struct close_args *a, const struct ts_timeouts *t,
                          bool no_wait)
{
        for (;;) {
                int rc = xb_transact(xs, close_txn, a);
                if (rc < 0 || a->gone || no_wait) {
                        if (a->gone)
                                pv_info(a->ctx, "backend %s already removed, cleanup frontend only",
                                        a->be);
                        return rc;
                }
                rc = wait_devstate(xs, a->be, XB_CLOSED, t->destroy_ms);
                if (rc != -ETIMEDOUT || a->force)
                        return rc;
                pv_debug(a->ctx, "Timeout reached, initiating forced remove");
                a->force = true;
        }
}

int ts_detach(struct xs_handle *xs, const struct ts_device *d, const struct ts_timeouts *t,
              bool force, bool no_wait)
{
        char ctx[32], be[XS_PATH_MAX];
        int rc = ts_backend_path(d, be, sizeof(be));
        if (rc < 0)
                return rc;
        ts_ctx(d, ctx, sizeof(ctx));
        struct close_args a = {.d = d, .be = be, .ctx = ctx, .force = force};
        rc = close_and_wait(xs, &a, t, no_wait);
        if (no_wait && rc == 0 && !a.gone)
                return 0;
        if (rc < 0) {
                pv_err(ctx, "unable to remove device with path %s", be);
                /* Only a forced remove cleans up after a failure. */
                if (a.force)
                        ts_device_destroy(xs, d);
                report_failure(d, ctx, "remove");
                return rc;
        }
        /* A failing script does not stop a removal (device_hotplug_child_death_cb). */
        if (!a.gone)
                hotplug(xs, d, TS_REMOVE, t, ctx, be);
        rc = ts_device_destroy(xs, d);
        if (rc < 0) {
                pv_err(ctx, "unable to remove the device's xenstore directories: %s",
                       strerror(-rc));
                report_failure(d, ctx, "remove");
        }
        return rc;
}
