/* The netfront's xenbus side: find the device and its backend, wait for
 * InitWait, negotiate, publish the keys in one transaction, go Connected,
 * and close as Linux netfront does (netback_changed, talk_to_netback,
 * xennet_remove). Not the data path. */
#include "nf_dev.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xb.h"

#define NF_CLOSE_TIMEOUT_MS 5000 /* Linux XENNET_TIMEOUT */

static long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int read_device(struct nf_dev *d, char *err, size_t errlen)
{
        char *be = NULL, *mac = NULL;
        uint64_t beid;
        if (xb_read_str(d->xs, XBT_NULL, d->fe_dir, "backend", &be) < 0) {
                snprintf(err, errlen, "%s has no backend key: is vif %u attached to domain %u?",
                         d->fe_dir, d->cfg.devid, d->self);
                return -ENODEV;
        }
        int rc =
            xb_read_uint(d->xs, XBT_NULL, d->fe_dir, "backend-id", DOMID_FIRST_RESERVED - 1, &beid);
        if (rc == 0 && strlen(be) >= sizeof(d->be_dir))
                rc = -ENAMETOOLONG;
        if (rc == 0)
                snprintf(d->be_dir, sizeof(d->be_dir), "%s", be);
        free(be);
        if (rc < 0) {
                snprintf(err, errlen, "%s/backend-id unreadable: %s", d->fe_dir, strerror(-rc));
                return rc;
        }
        d->backend = (uint16_t)beid;
        /* xen_net_read_mac: the toolstack's mac key is mandatory. */
        if ((rc = xb_read_str(d->xs, XBT_NULL, d->fe_dir, "mac", &mac)) == 0)
                rc = xb_parse_mac(mac, d->mac);
        free(mac);
        if (rc < 0) {
                snprintf(err, errlen, "parsing %s/mac: %s", d->fe_dir, strerror(-rc));
                return rc;
        }
        uint64_t mtu;
        if (xb_read_uint_default(d->xs, XBT_NULL, d->fe_dir, "mtu", NF_MAX_TX_SIZE, 1500, &mtu) < 0)
                mtu = 1500;
        d->mtu = (uint32_t)mtu;
        return 0;
}

int nf_open(const struct nf_config *cfg, const char *provider, struct nf_dev **out, char *err,
            size_t errlen)
{
        struct nf_dev *d = calloc(1, sizeof(*d));
        int rc;
        if (!d)
                return -ENOMEM;
        d->cfg = *cfg;
        snprintf(d->name, sizeof(d->name), "vif%u", cfg->devid);
        fe_dyncap_init(&d->dyncap, d->name, cfg->dyncap, cfg->prefer, NULL);
        if ((rc = xh_provider_select(provider, &d->hv, err, errlen)) < 0)
                goto fail;
        d->xs = xs_open(0);
        if (!d->xs) {
                rc = errno ? -errno : -EIO;
                snprintf(err, errlen, "cannot open xenstore: %s", strerror(-rc));
                goto fail;
        }
        if ((rc = xh_own_domid(d->xs, &d->self)) < 0) {
                snprintf(err, errlen, "cannot read own domid from xenstore: %s", strerror(-rc));
                goto fail;
        }
        snprintf(d->fe_dir, sizeof(d->fe_dir), "/local/domain/%u/device/vif/%u", d->self,
                 cfg->devid);
        if ((rc = read_device(d, err, errlen)) < 0)
                goto fail;
        if ((rc = xh_evtchn_open(d->hv, &d->ev)) < 0 || (rc = xh_gntshr_open(d->hv, &d->shr)) < 0) {
                snprintf(err, errlen, "opening event channels / grant sharing: %s", strerror(-rc));
                goto fail;
        }
        d->scratch = malloc(NF_RX_MAX_FRAME);
        d->scratch2 = malloc(2 * NF_RX_MAX_FRAME);
        if (!d->scratch || !d->scratch2) {
                rc = -ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto fail;
        }
        *out = d;
        return 0;
fail:
        nf_close(d);
        return rc;
}

static int switch_state(struct nf_dev *d, enum xenbus_state s)
{
        return xb_printf(d->xs, XBT_NULL, d->fe_dir, "state", "%d", (int)s);
}

/* Drains watch events; the state is re-read by the caller in any case. */
static void drain_watches(struct nf_dev *d)
{
        char **vec;
        while ((vec = xs_check_watch(d->xs)) != NULL)
                free(vec);
}

/* Waits until the backend state is one of `mask` (bit per state). Returns the
 * state, or -ETIMEDOUT. */
static int wait_backend(struct nf_dev *d, unsigned mask, int timeout_ms)
{
        long end = now_ms() + timeout_ms;
        for (;;) {
                drain_watches(d);
                d->be_state = xb_read_state(d->xs, d->be_dir);
                if (mask & (1u << d->be_state))
                        return d->be_state;
                long left = end - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd pfd = {.fd = xs_fileno(d->xs), .events = POLLIN};
                poll(&pfd, 1, left > 200 ? 200 : (int)left);
        }
}

static int setup_queues(struct nf_dev *d, char *err, size_t errlen)
{
        d->queues = calloc(d->neg.queues, sizeof(*d->queues));
        if (!d->queues)
                return -ENOMEM;
        d->nqueues = d->neg.queues;
        d->split_in_use = d->neg.split_evtchn;
        for (uint32_t i = 0; i < d->nqueues; i++) {
                d->queues[i].id = i;
                int rc = nf_queue_setup(d, &d->queues[i], d->neg.split_evtchn);
                if (rc < 0) {
                        snprintf(err, errlen, "setting up queue %u: %s", i, strerror(-rc));
                        return rc;
                }
                d->split_in_use &= d->queues[i].port_tx != d->queues[i].port_rx;
        }
        if (d->neg.ctrl_ring) {
                int rc = nf_ctrl_setup(d);
                if (rc < 0) {
                        snprintf(err, errlen, "setting up the control ring: %s", strerror(-rc));
                        return rc;
                }
        }
        return 0;
}

static int publish(struct nf_dev *d, char *err, size_t errlen)
{
        struct nf_queue_keys qk[NF_MAX_QUEUES];
        struct nf_ctrl_keys ck = {.ring_ref = d->ctrl.ring_ref, .evtchn = d->ctrl.port};
        struct nf_kv kv[NF_KEYS_MAX];
        size_t n;
        for (uint32_t i = 0; i < d->nqueues; i++)
                nf_queue_keys(&d->queues[i], &qk[i]);
        int rc = nf_keys_build(&d->neg, qk, d->ctrl.active ? &ck : NULL, kv, NF_KEYS_MAX, &n);
        if (rc == 0)
                rc = nf_keys_write(d->xs, d->fe_dir, kv, n);
        if (rc == 0)
                rc = switch_state(d, XenbusStateConnected);
        if (rc < 0)
                snprintf(err, errlen, "writing the frontend keys under %s: %s", d->fe_dir,
                         strerror(-rc));
        return rc;
}

static int wait_initwait(struct nf_dev *d, char *err, size_t errlen)
{
        int rc = wait_backend(d, 1u << XenbusStateInitWait, d->cfg.timeout_ms);
        if (rc < 0)
                snprintf(err, errlen, "backend %s did not reach InitWait within %d ms (state %s)",
                         d->be_dir, d->cfg.timeout_ms, xb_state_name(d->be_state));
        return rc;
}

static int negotiate(struct nf_dev *d, char *err, size_t errlen)
{
        long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
        nf_backend_features_read(d->xs, d->be_dir, &d->bf);
        return nf_negotiate(&d->cfg, &d->bf, ncpus > 0 ? (uint32_t)ncpus : 1, &d->neg, err, errlen);
}

static int wait_connected(struct nf_dev *d, char *err, size_t errlen)
{
        unsigned mask =
            1u << XenbusStateConnected | 1u << XenbusStateClosing | 1u << XenbusStateClosed;
        int rc = wait_backend(d, mask, d->cfg.timeout_ms);
        if (rc == XenbusStateConnected)
                return 0;
        char *why = NULL;
        xb_read_str(d->xs, XBT_NULL, d->be_dir, "error", &why);
        if (rc < 0)
                snprintf(err, errlen, "backend %s did not reach Connected within %d ms (state %s)",
                         d->be_dir, d->cfg.timeout_ms, xb_state_name(d->be_state));
        else
                snprintf(err, errlen, "backend %s refused the connection (state %s)%s%s", d->be_dir,
                         xb_state_name(rc), why ? ": " : "", why ? why : "");
        free(why);
        return rc < 0 ? rc : -ECONNREFUSED;
}

int nf_connect(struct nf_dev *d, char *err, size_t errlen)
{
        char path[200];
        int rc;
        snprintf(path, sizeof(path), "%s/state", d->be_dir);
        if (!xs_watch(d->xs, path, "nf-backend-state")) {
                snprintf(err, errlen, "watching %s: %s", path, strerror(errno));
                return -errno;
        }
        d->watching = true;
        /* xennet_create_dev: Initialising, then act on the backend's InitWait. */
        if ((rc = switch_state(d, XenbusStateInitialising)) < 0) {
                snprintf(err, errlen, "writing %s/state: %s", d->fe_dir, strerror(-rc));
                return rc;
        }
        if ((rc = wait_initwait(d, err, errlen)) < 0 || (rc = negotiate(d, err, errlen)) < 0 ||
            (rc = setup_queues(d, err, errlen)) < 0)
                return rc;
        /* The preference before Connected: the backend's first generation
         * is then already tuned for it. */
        if ((rc = fe_dyncap_announce(&d->dyncap, d->xs, d->fe_dir, d->be_dir)) < 0)
                pv_warn(d->name, "writing capabilities-preference: %s", strerror(-rc));
        if ((rc = publish(d, err, errlen)) < 0)
                return rc;
        /* xennet_connect: post RX buffers and kick every channel once. */
        for (uint32_t i = 0; i < d->nqueues; i++) {
                struct nf_queue *q = &d->queues[i];
                nf_rxq_refill(q);
                xh_evtchn_notify(d->ev, q->port_tx);
                if (q->port_rx != q->port_tx)
                        xh_evtchn_notify(d->ev, q->port_rx);
        }
        if ((rc = wait_connected(d, err, errlen)) < 0)
                return rc;
        if (d->ctrl.active && d->cfg.hash_set && (rc = nf_ctrl_apply_hash(d, err, errlen)) < 0)
                return rc;
        /* A failure here leaves the capabilities unacknowledged; the
         * data path does not depend on them. */
        if ((rc = fe_dyncap_start(&d->dyncap, d->xs, d->fe_dir, d->be_dir)) < 0)
                pv_warn(d->name, "following the dynamic capabilities: %s", strerror(-rc));
        d->connected = true;
        nf_hints_update(d);
        pv_info(d->name, "connected to %s (%u queue%s, %s event channels)", d->be_dir, d->nqueues,
                d->nqueues == 1 ? "" : "s", d->split_in_use ? "split" : "shared");
        return nf_poll_queues(d);
}

void nf_disconnect(struct nf_dev *d)
{
        if (!d || !d->xs)
                return;
        unsigned gone =
            1u << XenbusStateClosing | 1u << XenbusStateClosed | 1u << XenbusStateUnknown;
        int tmo = d->cfg.timeout_ms < NF_CLOSE_TIMEOUT_MS ? d->cfg.timeout_ms : NF_CLOSE_TIMEOUT_MS;
        /* xennet_bus_close: Closing, wait for the backend to follow, Closed. */
        if (xb_exists(d->xs, XBT_NULL, d->fe_dir, "state")) {
                switch_state(d, XenbusStateClosing);
                if (d->watching)
                        wait_backend(d, gone, tmo);
                switch_state(d, XenbusStateClosed);
                if (d->watching)
                        wait_backend(d, 1u << XenbusStateClosed | 1u << XenbusStateUnknown, tmo);
        }
        d->connected = false;
        fe_dyncap_stop(&d->dyncap, d->xs);
        nf_ctrl_teardown(d);
        for (uint32_t i = 0; i < d->nqueues; i++)
                nf_queue_teardown(d, &d->queues[i]);
        free(d->queues);
        d->queues = NULL;
        d->nqueues = 0;
}

void nf_close(struct nf_dev *d)
{
        if (!d)
                return;
        if (d->queues)
                nf_disconnect(d);
        if (d->shr)
                xh_gntshr_close(d->shr);
        if (d->ev)
                xh_evtchn_close(d->ev);
        if (d->xs)
                xs_close(d->xs);
        free(d->scratch);
        free(d->scratch2);
        free(d);
}

int nf_handle_xenstore(struct nf_dev *d)
{
        drain_watches(d);
        d->be_state = xb_read_state(d->xs, d->be_dir);
        /* Reconfiguring/Reconfigured are a live device changing xdp-headroom
         * (Linux netfront waits for Reconfigured), not a lost connection. */
        bool live = d->be_state == XenbusStateConnected ||
                    d->be_state == XenbusStateReconfiguring ||
                    d->be_state == XenbusStateReconfigured;
        if (d->connected && !live) {
                pv_warn(d->name, "backend %s is now %s", d->be_dir, xb_state_name(d->be_state));
                return -ECONNRESET;
        }
        if (d->connected && fe_dyncap_poll(&d->dyncap, d->xs) > 0)
                nf_hints_update(d);
        return 0;
}
