/* The vif device class: what Linux netback's xenbus.c does, on pvbackd's
 * control thread. probe creates the netdev and advertises features before
 * InitWait; connect validates the frontend's keys, starts the queues on the
 * workers and raises the carrier; disconnect and remove undo them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netback/nb.h"
#include "netback/nb_dump.h"
#include "netback/nb_dyncap.h"
#include "netback/nb_qos.h"
#include "netback/nb_rx_off.h"
#include "netback/nb_txcaps.h"
#include "netback/nb_vif.h"
#include "worker.h"
#include "xb.h"

static uint32_t nb_opt_max_queues; /* 0: min(8, CPUs) */
static const struct uplink_ops *nb_opt_uplink = &uplink_tap_ops;
static bool nb_opt_lro = true; /* -o vif.lro: merge TCP segments for guests taking GSO */

static uint32_t nb_max_queues(void)
{
        long cpus;
        if (nb_opt_max_queues)
                return nb_opt_max_queues;
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (cpus < 1)
                cpus = 1;
        return cpus < NB_MAX_QUEUES_DEFAULT ? (uint32_t)cpus : NB_MAX_QUEUES_DEFAULT;
}

static int nb_configure(const char *key, const char *value)
{
        uint64_t v;
        int qrc = nb_qos_configure(key, value);
        if (qrc != -ENOENT)
                return qrc;
        if (!strcmp(key, "max-queues")) {
                int rc = xb_parse_uint(value, NB_MAX_QUEUES, &v);
                if (rc < 0 || v == 0) {
                        pv_err("vif", "max-queues=%s: expected 1..%u", value, NB_MAX_QUEUES);
                        return rc < 0 ? rc : -ERANGE;
                }
                nb_opt_max_queues = (uint32_t)v;
                return 0;
        }
        if (!strcmp(key, "uplink")) {
                const struct uplink_ops *ops = uplink_ops_find(value);
                if (!ops) {
                        pv_err("vif", "uplink=%s: unknown uplink kind (known: tap)", value);
                        return -EINVAL;
                }
                nb_opt_uplink = ops;
                return 0;
        }
        if (!strcmp(key, "lro")) {
                if (strcmp(value, "on") && strcmp(value, "off")) {
                        pv_err("vif", "lro=%s: expected on or off", value);
                        return -EINVAL;
                }
                nb_opt_lro = !strcmp(value, "on");
                return 0;
        }
        if (!strncmp(key, "coalesce", 8)) {
                int rc = nb_set_option(key, value);
                if (rc != -ENOENT)
                        return rc < 0 ? -EINVAL : 0;
        }
        pv_err("vif", "unknown option vif.%s", key);
        return -EINVAL;
}

/* ---- probe: netdev and features before InitWait --------------------------- */

static int nb_write_features(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        struct nb_vif *vif = arg;
        const char *be = vif->dev->be_path;
        /* Linux netback_probe's keys and values (phaseB reference dump). */
        static const char *const ones[] = {
            "feature-sg",
            "feature-gso-tcpv4",
            "feature-gso-tcpv6",
            "feature-ipv6-csum-offload",
            "feature-rx-copy",
            "feature-multicast-control",
            "feature-dynamic-multicast-control",
            "feature-split-event-channels",
            "feature-ctrl-ring",
            "feature-xdp-headroom",
        };
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < sizeof(ones) / sizeof(ones[0]); i++)
                rc = xb_printf(xs, t, be, ones[i], "1");
        rc = rc ?: xb_printf(xs, t, be, "feature-rx-flip", "0");
        rc = rc ?: xb_printf(xs, t, be, "multi-queue-max-queues", "%" PRIu32, vif->max_queues);
        return rc;
}

bool nb_netdev_name_ok(const char *name)
{
        size_t n = strlen(name);
        if (n == 0 || n >= NB_NETDEV_NAME_MAX)
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

/* libxl writes the vif's bridge into the backend directory (and vif-bridge
 * adds the netdev to it). The toolstack's key, not the guest's, but it ends
 * up in other guests' capabilities/ and names a QoS group: a name that
 * cannot be a netdev's is ignored (said once, here). */
static void nb_read_bridge(struct nb_vif *vif)
{
        struct be_dev *dev = vif->dev;
        char *bridge = NULL;

        vif->bridge[0] = '\0';
        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "bridge", &bridge) == 0 && bridge[0]) {
                if (nb_netdev_name_ok(bridge))
                        snprintf(vif->bridge, sizeof(vif->bridge), "%s", bridge);
                else
                        pv_warn(dev->name,
                                "bridge \"%.32s\" is not a netdev name: no QoS group, not "
                                "published",
                                bridge);
        }
        free(bridge);
}

static int nb_probe(struct be_dev *dev)
{
        struct nb_vif *vif = calloc(1, sizeof(*vif));
        char name[64], *vifname = NULL;
        int rc;

        if (!vif)
                return -ENOMEM;
        nb_coal_default_cfg(&vif->coal);
        vif->coal.l4 = vif->coal.l4 && nb_opt_lro;
        vif->dev = dev;
        vif->max_queues = nb_max_queues();
        pthread_mutex_init(&vif->lock, NULL);
        /* The hotplug script is handed vif<domid>.<devid> and renames it to
         * vifname itself unless a netdev of that name exists already
         * (vif-common.sh): creating it under vifname keeps our queue opens
         * and the script agreeing on one name. */
        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "vifname", &vifname) == 0 && vifname[0])
                snprintf(name, sizeof(name), "%s", vifname);
        else
                snprintf(name, sizeof(name), "vif%u.%u", dev->fedom, dev->devid);
        free(vifname);
        if (strlen(name) >= IFNAMSIZ) {
                be_dev_fatal(dev, -ENAMETOOLONG, "netdev name %s is longer than %d characters",
                             name, IFNAMSIZ - 1);
                rc = -ENAMETOOLONG;
                goto fail;
        }
        rc = uplink_create(nb_opt_uplink, name, vif->max_queues, &vif->up);
        if (rc < 0) {
                be_dev_fatal(dev, rc, "creating %s netdev %s", nb_opt_uplink->kind, name);
                goto fail;
        }
        rc = xb_transact(dev->xs, nb_write_features, vif);
        if (rc < 0) {
                be_dev_fatal(dev, rc, "writing the feature keys");
                uplink_destroy(vif->up);
                goto fail;
        }
        nb_read_bridge(vif);
        rc = nb_qos_vif_add(vif);
        if (rc < 0) {
                be_dev_fatal(dev, rc, "joining the QoS scheduler");
                uplink_destroy(vif->up);
                goto fail;
        }
        dev->priv = vif;
        pv_info(dev->name, "netdev %s created (%s uplink, up to %" PRIu32 " queues)", name,
                nb_opt_uplink->kind, vif->max_queues);
        nb_txcaps_watch(vif);
        nb_dyncap_init(vif);
        return 0;
fail:
        pthread_mutex_destroy(&vif->lock);
        free(vif);
        return rc;
}

static bool nb_backend_ready(struct be_dev *dev)
{
        char *st = NULL;
        bool ok = xb_read_str(dev->xs, XBT_NULL, dev->be_path, "hotplug-status", &st) == 0 &&
                  !strcmp(st, "connected");
        free(st);
        return ok;
}

/* ---- connect ------------------------------------------------------------- */

#define NB_KV_MAX 96

struct nb_kv_xs {
        struct be_dev *dev;
        char *vals[NB_KV_MAX];
        unsigned n;
};

static const char *nb_kv_xs_get(void *arg, enum nb_kv_dir dir, const char *key)
{
        struct nb_kv_xs *kv = arg;
        char *v = NULL;
        const char *base = dir == NB_KV_FRONTEND ? kv->dev->fe_path : kv->dev->be_path;
        if (kv->n == NB_KV_MAX)
                return NULL;
        if (xb_read_str(kv->dev->xs, XBT_NULL, base, key, &v) < 0)
                return NULL;
        kv->vals[kv->n++] = v;
        return v;
}

static int nb_write_carrier(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        struct nb_vif *vif = arg;
        /* Never recreate a directory the toolstack is removing. */
        if (!xb_exists(xs, t, vif->dev->be_path, "state"))
                return 0;
        return xb_printf(xs, t, vif->dev->be_path, "carrier", "%d",
                         vif->connected && !atomic_load(&vif->disabled));
}

static void nb_queues_stop(struct nb_vif *vif)
{
        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                struct nb_queue *q = &vif->queues[i];
                if (q->w) {
                        worker_call(q->w, nb_queue_stop, q);
                        worker_unload(q->w, 1);
                        q->w = NULL;
                }
        }
        nb_ctrl_stop(vif);
        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                uplink_queue_close(vif->queues[i].upq);
                vif->queues[i].upq = NULL;
        }
}

static void nb_log_stats(struct nb_vif *vif)
{
        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                const struct nb_queue *q = &vif->queues[i];
                const struct nb_queue_stats *s = &q->st;
                char rx_off[512];
                nb_rx_off_format(&s->rx_off, &s->lro, rx_off, sizeof(rx_off));
                pv_info(q->ctx,
                        "tx %" PRIu64 " pkts %" PRIu64 " B, %" PRIu64 " copy calls %" PRIu64
                        " segs, %" PRIu64 " events %" PRIu64 " notifies, drops parse %" PRIu64
                        " offload %" PRIu64 " uplink %" PRIu64 "; rx %" PRIu64 " pkts %" PRIu64
                        " B, %" PRIu64 " copy calls %" PRIu64 " segs, %" PRIu64 " events %" PRIu64
                        " notifies, drops mcast %" PRIu64 " size %" PRIu64 " gso %" PRIu64
                        " stall %" PRIu64 "; hashed %" PRIu64 ", steered out %" PRIu64
                        " in %" PRIu64 " dropped %" PRIu64 "; tx offload gso_pass %" PRIu64
                        " gso_sw %" PRIu64 " gso_sw_segs %" PRIu64 " csum_pass %" PRIu64
                        " csum_sw %" PRIu64 " linearized %" PRIu64 " dropped %" PRIu64 "; %s",
                        s->tx_packets, s->tx_bytes, s->tx_gcopy_calls, s->tx_gcopy_segs,
                        s->tx_events, s->tx_notify, s->tx_drop_parse, s->tx_drop_offload,
                        s->tx_drop_uplink, s->rx_packets, s->rx_bytes, s->rx_gcopy_calls,
                        s->rx_gcopy_segs, s->rx_events, s->rx_notify, s->rx_drop_mcast,
                        s->rx_drop_size, s->rx_drop_gso, s->rx_drop_stall, s->rx_hashed,
                        s->rx_steered, s->rx_steered_in, s->rx_drop_steer, s->tx_off.gso_pass,
                        s->tx_off.gso_sw, s->tx_off.gso_sw_segs, s->tx_off.csum_pass,
                        s->tx_off.csum_sw, s->tx_off.linearized, s->tx_off.dropped, rx_off);
        }
}

static void nb_queues_free(struct nb_vif *vif)
{
        /* Inboxes last: any worker may push into any of them until every
         * queue has stopped. */
        for (uint32_t i = 0; i < vif->nr_queues; i++)
                nb_rx_inbox_free(&vif->queues[i]);
        free(vif->queues);
        vif->queues = NULL;
        vif->nr_queues = 0;
}

static int nb_connect(struct be_dev *dev)
{
        struct nb_vif *vif = dev->priv;
        struct nb_kv_xs kv = {.dev = dev};
        struct nb_kv_src src = {nb_kv_xs_get, &kv};
        char err[200], caps[64];
        uint64_t now = nb_now_ns();
        int rc;

        rc = nb_fe_parse(&src, vif->max_queues, &vif->cfg, err, sizeof(err));
        for (unsigned i = 0; i < kv.n; i++)
                free(kv.vals[i]);
        if (rc < 0) {
                be_dev_fatal(dev, rc, "frontend %s: %s", dev->fe_path, err);
                return rc;
        }
        vif->nr_queues = vif->cfg.nr_queues;
        vif->queues = calloc(vif->nr_queues, sizeof(*vif->queues));
        if (!vif->queues) {
                vif->nr_queues = 0;
                be_dev_fatal(dev, -ENOMEM, "allocating queues");
                return -ENOMEM;
        }
        atomic_store(&vif->disabled, false);
        atomic_store(&vif->mcast_control, vif->cfg.mcast_control);
        nb_mcast_init(&vif->mcast);
        atomic_store(&vif->mcast_count, 0);
        nb_hash_cfg_init(&vif->hash);
        atomic_store(&vif->hash_gen, 1);

        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                struct nb_queue *q = &vif->queues[i];
                q->vif = vif;
                q->idx = i;
                q->fe = &vif->cfg.queues[i];
                snprintf(q->ctx, sizeof(q->ctx), "%s q%" PRIu32, dev->name, i);
                q->ev_fd = q->up_fd = q->kick_fd = q->credit_fd = q->rx_timer_fd = q->coal_fd = -1;
                nb_tx_parse_cfg_default(&q->parse_cfg);
                q->rate_limited = vif->cfg.has_rate;
                q->rate_bytes = vif->cfg.credit_bytes;
                q->rate_usec = vif->cfg.credit_usec;
                nb_credit_init(&q->credit, vif->cfg.has_rate, vif->cfg.credit_bytes,
                               vif->cfg.credit_usec, now);
                q->xdp_headroom = vif->cfg.xdp_headroom;
                nb_hash_cfg_init(&q->hash);
                if (vif->nr_queues > 1 && (rc = nb_rx_inbox_alloc(q)) < 0) {
                        be_dev_fatal(dev, rc, "allocating queue %" PRIu32 "'s inbox", i);
                        goto undo;
                }
                rc = uplink_queue_open(vif->up, i, &q->upq);
                if (rc < 0) {
                        be_dev_fatal(dev, rc, "opening queue %" PRIu32 " of netdev %s", i,
                                     vif->up->name);
                        goto undo;
                }
        }
        /* The uplink's offloads are the operator's (ethtool -K on the
         * netdev, see uplink_tap.c), not renegotiated per guest: read, never
         * set. Later changes arrive through nb_txcaps' listener. */
        nb_txcaps_refresh(vif);
        /* Linux connects the control ring before the data rings. */
        if (vif->cfg.has_ctrl) {
                rc = nb_ctrl_start(vif, worker_pool_get(dev->workers, 0));
                if (rc < 0) {
                        be_dev_fatal(dev, rc,
                                     "connecting the control ring (ctrl-ring-ref %" PRIu32
                                     ", event-channel-ctrl %" PRIu32 ")",
                                     vif->cfg.ctrl_ring_ref, vif->cfg.ctrl_evtchn);
                        goto undo;
                }
        }
        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                struct nb_queue *q = &vif->queues[i];
                struct worker *w = worker_pool_pick(dev->workers, 1);
                rc = worker_call(w, nb_queue_start, q);
                if (rc < 0) {
                        worker_unload(w, 1);
                        q->w = NULL;
                        be_dev_fatal(dev, rc,
                                     "connecting queue %" PRIu32 " (tx-ring-ref %" PRIu32
                                     ", rx-ring-ref %" PRIu32 ", event channel %" PRIu32 "/%" PRIu32
                                     ")",
                                     i, q->fe->tx_ring_ref, q->fe->rx_ring_ref, q->fe->evtchn_tx,
                                     q->fe->evtchn_rx);
                        goto undo;
                }
        }
        vif->connected = true;
        vif->connects++;
        uplink_set_carrier(vif->up, true);
        xb_transact(dev->xs, nb_write_carrier, vif);
        pv_info(dev->name,
                "frontend connected: %" PRIu32
                " queue(s), %s event channels, sg %d, gso v4 %d v6 %d, "
                "csum v4 %d v6 %d, ctrl ring %d, multicast control %d, xdp headroom %u%s; "
                "uplink tx offloads %s",
                vif->nr_queues, vif->cfg.queues[0].split ? "split" : "shared", vif->cfg.sg,
                vif->cfg.gso_tcpv4, vif->cfg.gso_tcpv6, vif->cfg.csum_ipv4, vif->cfg.csum_ipv6,
                vif->cfg.has_ctrl, vif->cfg.mcast_control, vif->cfg.xdp_headroom,
                vif->cfg.has_rate ? ", rate limited" : "",
                off_caps_str(atomic_load(&vif->tx_caps), caps, sizeof(caps)));
        nb_dyncap_connected(vif);
        return 0;
undo:
        nb_queues_stop(vif);
        nb_queues_free(vif);
        return rc;
}

static void nb_disconnect(struct be_dev *dev)
{
        struct nb_vif *vif = dev->priv;
        if (!vif || !vif->queues)
                return;
        if (atomic_load(&vif->disabled))
                uplink_set_carrier(vif->up, false);
        nb_queues_stop(vif);
        nb_log_stats(vif);
        vif->connected = false;
        nb_dyncap_disconnected(vif);
        if (dev->online)
                xb_transact(dev->xs, nb_write_carrier, vif);
        nb_queues_free(vif);
        pv_info(dev->name, "disconnected");
}

static void nb_remove(struct be_dev *dev)
{
        struct nb_vif *vif = dev->priv;
        if (!vif)
                return;
        nb_disconnect(dev);
        nb_dyncap_free(vif);
        nb_qos_vif_del(vif);
        nb_txcaps_unwatch(vif);
        uplink_destroy(vif->up);
        pthread_mutex_destroy(&vif->lock);
        free(vif);
        dev->priv = NULL;
}

/* ---- live changes -------------------------------------------------------- */

static void nb_backend_changed(struct be_dev *dev, const char *key)
{
        struct nb_vif *vif = dev->priv;
        struct nb_rate_update u = {0};
        char *rate = NULL;

        if (!vif || strcmp(key, "rate") || !vif->connected)
                return;
        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "rate", &rate) == 0) {
                if (nb_parse_rate(rate, &u.bytes, &u.usec) == 0)
                        u.limited = true;
                else
                        /* Linux xen_net_read_rate: malformed means unlimited. */
                        pv_warn(dev->name, "rate \"%s\" is not <bytes>,<usecs>: unlimited", rate);
        }
        free(rate);
        if (u.limited == vif->cfg.has_rate && u.bytes == vif->cfg.credit_bytes &&
            u.usec == vif->cfg.credit_usec)
                return; /* a spurious watch */
        vif->cfg.has_rate = u.limited;
        vif->cfg.credit_bytes = u.bytes;
        vif->cfg.credit_usec = u.usec;
        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                u.q = &vif->queues[i];
                if (u.q->w)
                        worker_call(u.q->w, nb_queue_set_rate, &u);
        }
        if (u.limited)
                pv_info(dev->name, "rate now %" PRIu64 " bytes per %" PRIu64 " us", u.bytes,
                        u.usec);
        else
                pv_info(dev->name, "rate now unlimited");
        nb_dyncap_changed(vif); /* qos/max includes the rate */
}

/* Re-reads xdp-headroom and hands it to every queue's worker. */
static int nb_apply_xdp_headroom(struct be_dev *dev)
{
        struct nb_vif *vif = dev->priv;
        struct nb_headroom_update u;
        uint64_t v = 0;
        int rc = xb_read_uint_default(dev->xs, XBT_NULL, dev->fe_path, "xdp-headroom", UINT32_MAX,
                                      0, &v);
        if (rc < 0)
                return rc;
        u.headroom = v > NB_MAX_XDP_HEADROOM ? NB_MAX_XDP_HEADROOM : (uint16_t)v;
        vif->cfg.xdp_headroom = u.headroom;
        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                u.q = &vif->queues[i];
                if (u.q->w)
                        worker_call(u.q->w, nb_queue_set_headroom, &u);
        }
        return 0;
}

static void nb_frontend_changed(struct be_dev *dev, const char *key)
{
        struct nb_vif *vif = dev->priv;
        if (!vif || !vif->connected)
                return;
        if (nb_dyncap_frontend_key(vif, key))
                return;
        /* feature-dynamic-multicast-control: the frontend may flip the
         * filter while connected (Linux xen_mcast_ctrl_changed). */
        if (!strcmp(key, "request-multicast-control")) {
                bool on = false;
                if (xb_read_bool_default(dev->xs, XBT_NULL, dev->fe_path, key, false, &on) < 0)
                        return;
                if (on != atomic_load(&vif->mcast_control))
                        pv_info(dev->name, "multicast filter %s", on ? "on" : "off");
                atomic_store(&vif->mcast_control, on);
        } else if (!strcmp(key, "xdp-headroom")) {
                nb_apply_xdp_headroom(dev);
        }
}

/* Linux netfront changes xdp-headroom through Reconfiguring; netback
 * re-reads it and answers Reconfigured (read_xenbus_frontend_xdp). */
static int nb_reconfigure(struct be_dev *dev)
{
        struct nb_vif *vif = dev->priv;
        if (!vif || !vif->connected)
                return 0;
        int rc = nb_apply_xdp_headroom(dev);
        if (rc < 0)
                be_dev_fatal(dev, rc, "reading %s/xdp-headroom", dev->fe_path);
        else
                pv_info(dev->name, "reconfigured: xdp headroom %u", vif->cfg.xdp_headroom);
        return rc;
}

const struct be_class nb_class = {
    .kind = "vif",
    .dump_class = nb_dump_class,
    .configure = nb_configure,
    .options_help = "  vif.max-queues=N      queues a frontend may use (default min(8, CPUs))\n"
                    "  vif.lro=on|off        merge received TCP segments into GSO packets for\n"
                    "                        guests that take GSO (default on)\n"
                    "  vif.uplink=KIND       where frames go: tap (default)\n"
                    "  vif.coalesce=MODE     notification coalescing of new vifs, every level:\n"
                    "                        off, fixed or adaptive (default); also\n"
                    "                        vif.coalesce.l3.usecs=N etc. (README "
                    "\"Coalescing\")\n" NB_QOS_OPTIONS_HELP,
    .connect_on_initialised = false,
    .probe = nb_probe,
    .backend_ready = nb_backend_ready,
    .connect = nb_connect,
    .publish_connected = NULL,
    .disconnect = nb_disconnect,
    .remove = nb_remove,
    .backend_changed = nb_backend_changed,
    .frontend_changed = nb_frontend_changed,
    .reconfigure = nb_reconfigure,
    .dump = nb_dump,
    .set = nb_set,
};
