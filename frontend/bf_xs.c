/* The blkfront side of the xenbus handshake (Linux xen-blkfront
 * talk_to_blkback, blkfront_connect, blkfront_gather_backend_features):
 * waiting for the backend's states, the keys written in one transaction, the
 * properties read at Connected. Xenstore only: rings are bf_ring.c's. */
#include "bf_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xb.h"

#define BF_WATCH_TOKEN "bf-backend-state"

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bf_xs_attach(struct bf_dev *d)
{
        struct bf_info *in = &d->info;
        char *be = NULL;
        uint64_t beid;
        int rc;

        if ((rc = xh_own_domid(d->xs, &in->self)) < 0) {
                bf_dev_fail(d, rc, "cannot read own domain id (xenstore key domid): %s",
                            strerror(-rc));
                return rc;
        }
        snprintf(in->fe_dir, sizeof(in->fe_dir), "/local/domain/%u/device/vbd/%u", in->self,
                 d->opts.devid);
        rc = xb_read_str(d->xs, XBT_NULL, in->fe_dir, "backend", &be);
        rc = rc ?: xb_read_uint(d->xs, XBT_NULL, in->fe_dir, "backend-id", DOMID_FIRST_RESERVED - 1,
                                &beid);
        if (rc < 0) {
                free(be);
                bf_dev_fail(d, -ENODEV, "domain %u has no vbd %u (%s/backend, backend-id: %s)",
                            in->self, d->opts.devid, in->fe_dir, strerror(-rc));
                return -ENODEV;
        }
        snprintf(in->be_dir, sizeof(in->be_dir), "%s", be);
        free(be);
        in->backend_id = (uint16_t)beid;
        char path[sizeof(in->be_dir) + 8];
        snprintf(path, sizeof(path), "%s/state", in->be_dir);
        if (!xs_watch(d->xs, path, BF_WATCH_TOKEN)) {
                rc = errno ? -errno : -EIO;
                bf_dev_fail(d, rc, "cannot watch %s: %s", path, strerror(-rc));
                return rc;
        }
        d->watching = true;
        d->be_state = xb_read_state(d->xs, in->be_dir);
        return 0;
}

void bf_xs_detach(struct bf_dev *d)
{
        if (d->watching) {
                char path[sizeof(d->info.be_dir) + 8];
                snprintf(path, sizeof(path), "%s/state", d->info.be_dir);
                xs_unwatch(d->xs, path, BF_WATCH_TOKEN);
                d->watching = false;
        }
}

int bf_xs_check(struct bf_dev *d)
{
        char **vec;
        /* Watches may fire spuriously or coalesce: the state is re-read. */
        while ((vec = xs_check_watch(d->xs)) != NULL)
                free(vec);
        d->be_state = xb_read_state(d->xs, d->info.be_dir);
        return d->be_state;
}

int bf_xs_wait_backend(struct bf_dev *d, bool (*pred)(int state), int timeout_ms)
{
        int64_t end = now_ms() + timeout_ms;
        for (;;) {
                int st = bf_xs_check(d);
                if (pred(st))
                        return st;
                int64_t left = end - now_ms();
                if (d->opts.stop && *d->opts.stop)
                        return -EINTR;
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd pfd = {.fd = xs_fileno(d->xs), .events = POLLIN};
                if (poll(&pfd, 1, (int)(left < 200 ? left : 200)) < 0 && errno != EINTR)
                        return -errno;
        }
}

int bf_xs_switch_state(struct bf_dev *d, int state)
{
        int rc = xb_printf(d->xs, XBT_NULL, d->info.fe_dir, "state", "%d", state);
        if (rc < 0)
                bf_dev_fail(d, rc, "cannot write %s/state: %s", d->info.fe_dir, strerror(-rc));
        return rc;
}

static bool is_initwait(int st)
{
        return st == XenbusStateInitWait;
}

static bool is_closing_or_closed(int st)
{
        return st == XenbusStateClosing || st == XenbusStateClosed || st == XenbusStateUnknown;
}

static bool is_closed(int st)
{
        return st == XenbusStateClosed || st == XenbusStateUnknown;
}

static int wait_step(struct bf_dev *d, bool (*pred)(int), const char *what)
{
        int rc = bf_xs_wait_backend(d, pred, d->opts.timeout_ms);
        if (rc < 0)
                bf_dev_fail(d, rc, "backend %s did not reach %s within %d ms (state %s)",
                            d->info.be_dir, what, d->opts.timeout_ms, xb_state_name(d->be_state));
        return rc < 0 ? rc : 0;
}

/* A backend still connected to an earlier frontend of this device (a previous
 * run that died) is walked through Closing and Closed back to InitWait, the
 * path Linux blkback takes for a guest that reconnects (frontend_changed:
 * Closed then Initialising re-enters InitWait). */
int bf_xs_wait_initwait(struct bf_dev *d)
{
        int be = bf_xs_check(d);
        int rc;

        if (be == XenbusStateInitialised || be == XenbusStateConnected ||
            be == XenbusStateClosing) {
                if ((rc = bf_xs_switch_state(d, XenbusStateClosing)) < 0 ||
                    (rc = wait_step(d, is_closing_or_closed, "Closing")) < 0)
                        return rc;
                be = d->be_state;
        }
        if (be == XenbusStateClosing || be == XenbusStateClosed) {
                if ((rc = bf_xs_switch_state(d, XenbusStateClosed)) < 0 ||
                    (rc = wait_step(d, is_closed, "Closed")) < 0)
                        return rc;
        }
        if (xb_read_state(d->xs, d->info.fe_dir) != XenbusStateInitialising &&
            (rc = bf_xs_switch_state(d, XenbusStateInitialising)) < 0)
                return rc;
        return wait_step(d, is_initwait, "InitWait");
}

/* Linux xenbus_read_unsigned: absent → default. A present but malformed value
 * is refused here rather than silently defaulted. */
static int read_u(struct bf_dev *d, const char *key, uint64_t max, uint64_t def, uint64_t *out)
{
        int rc = xb_read_uint_default(d->xs, XBT_NULL, d->info.be_dir, key, max, def, out);
        if (rc < 0)
                bf_dev_fail(d, rc, "backend key %s/%s is unreadable or malformed: %s",
                            d->info.be_dir, key, strerror(-rc));
        return rc;
}

static int read_flag(struct bf_dev *d, const char *key, bool *out)
{
        uint64_t v;
        int rc = read_u(d, key, UINT32_MAX, 0, &v);
        *out = rc == 0 && v != 0;
        return rc;
}

static int read_features(struct bf_dev *d)
{
        struct bf_info *in = &d->info;
        uint64_t v;
        int rc = read_u(d, "feature-max-indirect-segments", UINT32_MAX, 0, &v);
        in->be_max_indirect = (uint32_t)v;
        return rc ?: read_flag(d, "feature-persistent", &in->be_persistent);
}

int bf_xs_read_backend_limits(struct bf_dev *d)
{
        struct bf_info *in = &d->info;
        uint64_t q, order;
        int rc = read_u(d, "multi-queue-max-queues", UINT32_MAX, 1, &q);
        rc = rc ?: read_u(d, "max-ring-page-order", UINT32_MAX, 0, &order);
        rc = rc ?: read_features(d);
        if (rc < 0)
                return rc;
        in->be_max_queues = q ? (uint32_t)q : 1;
        in->be_max_ring_order = (uint32_t)order;
        return 0;
}

/* Ring keys of an earlier negotiation must not survive into this one: the
 * backend would read a stale multi-queue-num-queues or ring-ref7. */
static bool stale_key(const char *k)
{
        static const char *const prefixes[] = {"ring-ref", "queue-", "event-channel"};
        static const char *const keys[] = {"ring-page-order", "multi-queue-num-queues",
                                           "feature-large-sector-size", "num-ring-pages"};
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
                if (!strncmp(k, prefixes[i], strlen(prefixes[i])))
                        return true;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (!strcmp(k, keys[i]))
                        return true;
        return false;
}

static int remove_stale(struct bf_dev *d, xs_transaction_t t)
{
        unsigned int n = 0;
        char **ents = xs_directory(d->xs, t, d->info.fe_dir, &n);
        int rc = 0;
        if (!ents)
                return errno == ENOENT ? 0 : -errno;
        for (unsigned i = 0; i < n && rc == 0; i++)
                if (stale_key(ents[i]))
                        rc = xb_rm(d->xs, t, d->info.fe_dir, ents[i]);
        free(ents);
        return rc;
}

/* Linux write_per_ring_nodes: ring-ref for one page, ring-ref0..N-1 for more. */
static int write_ring_nodes(struct bf_dev *d, xs_transaction_t t, const char *dir,
                            const struct bf_ring *r)
{
        int rc = 0;
        if (r->nr_pages == 1) {
                rc = xb_printf(d->xs, t, dir, "ring-ref", "%u", r->refs[0]);
        } else {
                for (uint32_t i = 0; i < r->nr_pages && rc == 0; i++) {
                        char key[24];
                        snprintf(key, sizeof(key), "ring-ref%u", i);
                        rc = xb_printf(d->xs, t, dir, key, "%u", r->refs[i]);
                }
        }
        return rc ?: xb_printf(d->xs, t, dir, "event-channel", "%u", r->port);
}

static int publish_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        struct bf_dev *d = arg;
        const struct bf_info *in = &d->info;
        int rc = remove_stale(d, t);

        if (rc == 0 && in->ring_order > 0)
                rc = xb_printf(xs, t, in->fe_dir, "ring-page-order", "%u", in->ring_order);
        if (rc == 0 && d->nr_rings == 1) {
                rc = write_ring_nodes(d, t, in->fe_dir, &d->rings[0]);
        } else if (rc == 0) {
                rc = xb_printf(xs, t, in->fe_dir, "multi-queue-num-queues", "%u", d->nr_rings);
                for (uint32_t i = 0; i < d->nr_rings && rc == 0; i++) {
                        char dir[sizeof(in->fe_dir) + 24];
                        snprintf(dir, sizeof(dir), "%s/queue-%u", in->fe_dir, i);
                        rc = write_ring_nodes(d, t, dir, &d->rings[i]);
                }
        }
        rc = rc ?: xb_printf(xs, t, in->fe_dir, "protocol", "%s", bf_abi_name(in->abi));
        rc = rc ?: xb_printf(xs, t, in->fe_dir, "feature-persistent", "%u",
                             d->opts.persistent ? 1u : 0u);
        if (rc == 0 && d->opts.large_sectors)
                rc = xb_printf(xs, t, in->fe_dir, "feature-large-sector-size", "1");
        return rc;
}

int bf_xs_publish(struct bf_dev *d)
{
        int rc = xb_transact(d->xs, publish_txn, d);
        if (rc < 0) {
                bf_dev_fail(d, rc, "writing the ring keys under %s failed: %s", d->info.fe_dir,
                            strerror(-rc));
                return rc;
        }
        /* As Linux: the state moves after the transaction, on its own. */
        return bf_xs_switch_state(d, XenbusStateInitialised);
}

static bool connected_or_gone(int st)
{
        return st == XenbusStateConnected || st >= XenbusStateClosing ||
               st == XenbusStateUnknown;
}

int bf_xs_wait_connected(struct bf_dev *d)
{
        int rc = wait_step(d, connected_or_gone, "Connected");
        if (rc < 0 || d->be_state == XenbusStateConnected)
                return rc;
        char *why = NULL;
        xb_read_str(d->xs, XBT_NULL, d->info.be_dir, "error", &why);
        bf_dev_fail(d, -ECONNREFUSED, "backend %s went to %s instead of Connected%s%s",
                    d->info.be_dir, xb_state_name(d->be_state), why ? ": " : "", why ? why : "");
        free(why);
        return -ECONNREFUSED;
}

static int read_discard(struct bf_dev *d)
{
        struct bf_info *in = &d->info;
        uint64_t gran, align;
        int rc = read_flag(d, "feature-discard", &in->discard);
        if (rc < 0 || !in->discard)
                return rc;
        rc = read_u(d, "discard-granularity", UINT32_MAX, 0, &gran);
        rc = rc ?: read_u(d, "discard-alignment", UINT32_MAX, 0, &align);
        rc = rc ?: read_flag(d, "discard-secure", &in->discard_secure);
        in->discard_granularity = (uint32_t)gran;
        in->discard_alignment = (uint32_t)align;
        return rc;
}

/* Linux blkfront_connect: sectors, info and sector-size are required (it
 * gives up with "reading backend fields" otherwise), the rest default. */
static int read_properties(struct bf_dev *d)
{
        struct bf_info *in = &d->info;
        uint64_t sectors, info, ssize, pssize;
        int rc = xb_read_uint(d->xs, XBT_NULL, in->be_dir, "sectors", UINT64_MAX, &sectors);
        rc = rc ?: xb_read_uint(d->xs, XBT_NULL, in->be_dir, "info", UINT32_MAX, &info);
        rc = rc ?: xb_read_uint(d->xs, XBT_NULL, in->be_dir, "sector-size", UINT32_MAX, &ssize);
        if (rc < 0) {
                bf_dev_fail(d, rc, "reading backend fields sectors/info/sector-size of %s: %s",
                            in->be_dir, strerror(-rc));
                return rc;
        }
        if ((rc = read_u(d, "physical-sector-size", UINT32_MAX, ssize, &pssize)) < 0)
                return rc;
        if (ssize < 512 || (ssize & (ssize - 1)) ||
            (d->opts.large_sectors && ssize > BF_PAGE_SIZE)) {
                bf_dev_fail(d, -EINVAL, "backend sector-size %llu is not usable",
                            (unsigned long long)ssize);
                return -EINVAL;
        }
        in->sectors = sectors;
        in->info = (uint32_t)info;
        in->sector_size = (uint32_t)ssize;
        in->physical_sector_size = (uint32_t)pssize;
        return 0;
}

int bf_xs_read_connect_info(struct bf_dev *d)
{
        struct bf_info *in = &d->info;
        int rc = read_properties(d);
        rc = rc ?: read_flag(d, "feature-flush-cache", &in->flush_cache);
        rc = rc ?: read_flag(d, "feature-barrier", &in->barrier);
        rc = rc ?: read_discard(d);
        rc = rc ?: read_features(d);
        return rc;
}
