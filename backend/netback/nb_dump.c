/* A vif as the control socket shows it: what the frontend negotiated, the
 * uplink, and every counter of every queue, offload paths included. Runs on
 * the control thread, which alone connects, disconnects and frees a vif
 * and its queues (queue starts and stops are worker_calls it waits for), so
 * nothing read here goes away meanwhile. Counters are the workers' and are
 * read while they move: each whole, together no snapshot. */
#include "netback/nb_dump.h"

#include <limits.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "be_ring_occ.h"
#include "ctl_json.h"
#include "devmgr.h"
#include "netback/nb.h"
#include "dyncap.h"
#include "netback/nb_dyncap.h"
#include "netback/nb_qos.h"
#include "netback/nb_vif.h"
#include "uplink/netdev_coalesce.h"
#include "worker.h"

/* A counter as its worker last stored it (never torn: aligned 64 bits). */
static uint64_t counter(const void *base, size_t off)
{
        return __atomic_load_n((const uint64_t *)((const char *)base + off), __ATOMIC_RELAXED);
}

/* clang-format off */
#define FIELD(type, f) {#f, offsetof(type, f)}
/* clang-format on */

struct field {
        const char *name;
        size_t off;
};

/* struct nb_queue_stats's plain counters, in its order; the name is the
 * field's, so the JSON and the header say the same. */
static const struct field queue_fields[] = {
    FIELD(struct nb_queue_stats, tx_packets),      FIELD(struct nb_queue_stats, tx_bytes),
    FIELD(struct nb_queue_stats, tx_gcopy_calls),  FIELD(struct nb_queue_stats, tx_gcopy_segs),
    FIELD(struct nb_queue_stats, tx_events),       FIELD(struct nb_queue_stats, tx_notify),
    FIELD(struct nb_queue_stats, tx_drop_parse),   FIELD(struct nb_queue_stats, tx_drop_offload),
    FIELD(struct nb_queue_stats, tx_drop_uplink),  FIELD(struct nb_queue_stats, tx_mcast_ok),
    FIELD(struct nb_queue_stats, tx_mcast_err),    FIELD(struct nb_queue_stats, tx_credit_waits),
    FIELD(struct nb_queue_stats, rx_packets),      FIELD(struct nb_queue_stats, rx_bytes),
    FIELD(struct nb_queue_stats, rx_gcopy_calls),  FIELD(struct nb_queue_stats, rx_gcopy_segs),
    FIELD(struct nb_queue_stats, rx_events),       FIELD(struct nb_queue_stats, rx_notify),
    FIELD(struct nb_queue_stats, rx_gcopy_errors), FIELD(struct nb_queue_stats, rx_drop_mcast),
    FIELD(struct nb_queue_stats, rx_drop_size),    FIELD(struct nb_queue_stats, rx_drop_gso),
    FIELD(struct nb_queue_stats, rx_drop_stall),   FIELD(struct nb_queue_stats, rx_stalls),
    FIELD(struct nb_queue_stats, rx_hashed),       FIELD(struct nb_queue_stats, rx_steered),
    FIELD(struct nb_queue_stats, rx_steered_in),   FIELD(struct nb_queue_stats, rx_drop_steer),
    FIELD(struct nb_queue_stats, rx_drop_qos),     FIELD(struct nb_queue_stats, rx_drop_qos_bytes),
};

static const struct field path_fields[] = {
    FIELD(struct off_path_stats, gso_pass),    FIELD(struct off_path_stats, gso_sw),
    FIELD(struct off_path_stats, gso_sw_segs), FIELD(struct off_path_stats, csum_pass),
    FIELD(struct off_path_stats, csum_sw),     FIELD(struct off_path_stats, linearized),
    FIELD(struct off_path_stats, dropped),
};

static const struct field lro_fields[] = {
    FIELD(struct off_lro_stats, frames),     FIELD(struct off_lro_stats, merged),
    FIELD(struct off_lro_stats, flows),      FIELD(struct off_lro_stats, gso_out),
    FIELD(struct off_lro_stats, single_out), FIELD(struct off_lro_stats, hold_ns_max),
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* A counter added to the structs but not to the tables above would never be
 * seen: the build stops instead. */
_Static_assert(offsetof(struct nb_queue_stats, tx_off) == NFIELDS(queue_fields) * sizeof(uint64_t),
               "struct nb_queue_stats has a counter queue_fields does not list");
_Static_assert(sizeof(struct nb_queue_stats) == offsetof(struct nb_queue_stats, tx_off) +
                                                    2 * sizeof(struct off_path_stats) +
                                                    sizeof(struct off_lro_stats),
               "struct nb_queue_stats has a member nb_dump.c does not show");
_Static_assert(sizeof(struct off_path_stats) == NFIELDS(path_fields) * sizeof(uint64_t),
               "struct off_path_stats has a counter path_fields does not list");
_Static_assert(sizeof(struct off_lro_stats) ==
                   (NFIELDS(lro_fields) + 2 * OFF_LRO_R_COUNT) * sizeof(uint64_t),
               "struct off_lro_stats has a counter lro_fields does not list");

static int add_fields(struct json_object *obj, const void *base, const struct field *f, size_t n)
{
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < n; i++)
                rc = ctl_json_u64(obj, f[i].name, counter(base, f[i].off));
        return rc;
}

/* Per reason, named as off_lro_reason_str names them. */
static int add_reasons(struct json_object *obj, const char *key, const uint64_t *by_reason)
{
        struct json_object *r = ctl_json_child(obj, key);
        int rc = r ? 0 : -ENOMEM;
        for (unsigned i = 0; rc == 0 && i < OFF_LRO_R_COUNT; i++)
                rc = ctl_json_u64(r, off_lro_reason_str((enum off_lro_reason)i),
                                  counter(by_reason, i * sizeof(uint64_t)));
        return rc;
}

static int add_stats(struct json_object *obj, const struct nb_queue_stats *st)
{
        struct json_object *s = ctl_json_child(obj, "stats"), *tx, *rx, *lro;
        if (!s || add_fields(s, st, queue_fields, NFIELDS(queue_fields)))
                return -ENOMEM;
        if (!(tx = ctl_json_child(s, "tx_off")) ||
            add_fields(tx, &st->tx_off, path_fields, NFIELDS(path_fields)))
                return -ENOMEM;
        if (!(rx = ctl_json_child(s, "rx_off")) ||
            add_fields(rx, &st->rx_off, path_fields, NFIELDS(path_fields)))
                return -ENOMEM;
        if (!(lro = ctl_json_child(s, "lro")) ||
            add_fields(lro, &st->lro, lro_fields, NFIELDS(lro_fields)))
                return -ENOMEM;
        return add_reasons(lro, "flush", st->lro.flush) ?: add_reasons(lro, "pass", st->lro.pass);
}

/* prod - cons as key; null and "bogus": true when the guest's index puts
 * more than a ring's worth between them. */
static int add_occupancy(struct json_object *r, const char *key, RING_IDX prod, RING_IDX cons,
                         RING_IDX size)
{
        uint32_t n;
        if (be_ring_occupancy(prod, cons, size, &n))
                return ctl_json_u64(r, key, n);
        int rc = ctl_json_null(r, key);
        return rc ?: ctl_json_bool(r, "bogus", true);
}

/* How full the rings are, from the indexes: the guest's producers on the
 * shared pages and the worker's consumers, read here without stopping
 * either, so the figures may be a few slots stale or even from different
 * moments. Read-only: the shared pages are only loaded from. */
static int add_ring(struct json_object *obj, const struct nb_queue *q)
{
        if (!q->tx_page || !q->rx_page || !q->tx.sring || !q->rx.sring)
                return ctl_json_null(obj, "ring");
        struct json_object *r = ctl_json_child(obj, "ring");
        if (!r)
                return -ENOMEM;
        RING_IDX tx_prod = __atomic_load_n(&q->tx.sring->req_prod, __ATOMIC_RELAXED);
        RING_IDX tx_cons = __atomic_load_n(&q->tx.req_cons, __ATOMIC_RELAXED);
        RING_IDX rx_prod = __atomic_load_n(&q->rx.sring->req_prod, __ATOMIC_RELAXED);
        RING_IDX rx_cons = __atomic_load_n(&q->rx.req_cons, __ATOMIC_RELAXED);
        int rc = ctl_json_u64(r, "tx_size", RING_SIZE(&q->tx));
        /* Requests the guest queued that the worker has not taken yet. */
        rc = rc ?: add_occupancy(r, "tx_pending", tx_prod, tx_cons, RING_SIZE(&q->tx));
        rc = rc ?: ctl_json_u64(r, "rx_size", RING_SIZE(&q->rx));
        /* Buffers the guest posted that no frame has filled yet. */
        return rc ?: add_occupancy(r, "rx_posted", rx_prod, rx_cons, RING_SIZE(&q->rx));
}

/* The uplink's L1 as read once per show: rc 0 with its values, or why not. */
struct l1_state {
        int rc;
        struct netdev_coalesce c;
        const char *kind;
};

static uint64_t word(const void *p)
{
        return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}

static int add_l1(struct json_object *co, const struct l1_state *l1)
{
        struct json_object *o = ctl_json_child(co, "l1");
        int rc;
        if (!o)
                return -ENOMEM;
        if (l1->rc < 0) {
                /* A TAP has no interrupts to coalesce. */
                rc = ctl_json_str(o, "mode", "n/a");
                return rc
                           ?: ctl_json_str(o, "why",
                                           l1->rc == -EOPNOTSUPP ? l1->kind : strerror(-l1->rc));
        }
        rc = ctl_json_str(o, "mode", l1->c.adaptive_rx ? "adaptive" : "fixed");
        rc = rc ?: ctl_json_u64(o, "rx_usecs", l1->c.rx_usecs);
        rc = rc ?: ctl_json_u64(o, "rx_frames", l1->c.rx_frames);
        rc = rc ?: ctl_json_u64(o, "tx_usecs", l1->c.tx_usecs);
        return rc ?: ctl_json_u64(o, "tx_frames", l1->c.tx_frames);
}

/* One direction of L3: its bound now and what it held. */
static int add_l3_dir(struct json_object *l3, const char *name, const struct nb_coal_dir *d,
                      const struct nb_coal_cfg *c)
{
        struct json_object *o = ctl_json_child(l3, name);
        struct nb_coal_dir snap;
        struct nb_coal_prof b;
        int rc;
        if (!o)
                return -ENOMEM;
        /* The worker moves these; each read whole, together no snapshot. */
        snap.profile = (uint32_t)__atomic_load_n(&d->profile, __ATOMIC_RELAXED);
        b = nb_coal_l3_bound(&snap, c);
        rc = ctl_json_u64(o, "frames", b.frames);
        rc = rc ?: ctl_json_u64(o, "usecs", b.usecs);
        rc = rc ?: ctl_json_u64(o, "profile", snap.profile);
        rc = rc ?: ctl_json_u64(o, "held", word(&d->held));
        rc = rc ?: ctl_json_u64(o, "released", word(&d->released));
        rc = rc ?: ctl_json_u64(o, "expired", word(&d->expired));
        rc = rc ?: ctl_json_u64(o, "hold_max_us", word(&d->hold_max_ns) / 1000);
        rc = rc ?: ctl_json_u64(o, "steps_up", word(&d->steps_up));
        rc = rc ?: ctl_json_u64(o, "steps_down", word(&d->steps_down));
        return rc ?: ctl_json_u64(o, "idle_resets", word(&d->idle_resets));
}

/* Per level, with the values in force (the adaptive ones as they are now).
 * The settings are the control thread's own copy (vif->coal equals every
 * running queue's after `set` returns). */
static int add_coalesce(struct json_object *obj, const struct nb_queue *q,
                        const struct l1_state *l1)
{
        const struct nb_coal_cfg *c = &q->vif->coal;
        struct json_object *co = ctl_json_child(obj, "coalesce"), *l2, *l3, *l4;
        struct nb_coal_hints h;
        uint32_t poll_us = 0;
        int rc;
        if (!co || add_l1(co, l1) || !(l2 = ctl_json_child(co, "l2")) ||
            !(l3 = ctl_json_child(co, "l3")) || !(l4 = ctl_json_child(co, "l4")))
                return -ENOMEM;
        if (c->l2 == NB_COAL_FIXED)
                poll_us = c->l2_poll_us;
        else if (c->l2 == NB_COAL_ADAPTIVE)
                poll_us = __atomic_load_n(&q->poll.window_us, __ATOMIC_RELAXED);
        rc = ctl_json_str(l2, "mode", nb_coal_mode_str(c->l2));
        rc = rc ?: ctl_json_u64(l2, "poll_us", poll_us);
        rc = rc ?: ctl_json_u64(l2, "budget", c->l2_budget);
        rc = rc ?: ctl_json_u64(l2, "polls", word(&q->poll.polls));
        rc = rc ?: ctl_json_u64(l2, "poll_hits", word(&q->poll.hits));
        rc = rc ?: ctl_json_str(l3, "mode", nb_coal_mode_str(c->l3));
        rc = rc ?: ctl_json_str(l3, "source", nb_coal_src_str(nb_dyncap_coal_source(q->vif)));
        rc = rc
                 ?: ctl_json_str(co, "preference",
                                 dyncap_pref_name((enum dyncap_pref)nb_dyncap_preference(q->vif)));
        rc = rc ?: ctl_json_u64(l3, "max_frames", c->l3_frames);
        rc = rc ?: ctl_json_u64(l3, "max_usecs", c->l3_usecs);
        rc = rc ?: add_l3_dir(l3, "rx", &q->coal_rx, c);
        rc = rc ?: add_l3_dir(l3, "tx", &q->coal_tx, c);
        /* The top level says the RX direction's: what the guest waits on. */
        rc = rc ?: ctl_json_u64(l3, "frames", nb_coal_l3_bound(&q->coal_rx, c).frames);
        rc = rc ?: ctl_json_u64(l3, "usecs", nb_coal_l3_bound(&q->coal_rx, c).usecs);
        rc = rc ?: ctl_json_u64(l3, "held", word(&q->coal_rx.held) + word(&q->coal_tx.held));
        rc = rc
                 ?: ctl_json_u64(l3, "profile",
                                 __atomic_load_n(&q->coal_rx.profile, __ATOMIC_RELAXED));
        rc = rc ?: ctl_json_str(l4, "mode", c->l4 ? "on" : "off");
        if (rc)
                return rc;
        nb_coal_hints(q, &h);
        struct json_object *l5 = ctl_json_child(co, "l5");
        if (!l5)
                return -ENOMEM;
        rc = ctl_json_u64(l5, "tx_kick_batch", h.tx_kick_batch);
        return rc ?: ctl_json_u64(l5, "rx_poll_us", h.rx_poll_us);
}

static int add_queue(struct json_object *arr, const struct nb_queue *q, const struct l1_state *l1)
{
        struct json_object *obj = ctl_json_append(arr);
        int rc;
        if (!obj)
                return -ENOMEM;
        rc = ctl_json_u64(obj, "index", q->idx);
        if (rc == 0)
                rc = q->w ? ctl_json_u64(obj, "worker", worker_index(q->w))
                          : ctl_json_null(obj, "worker");
        /* Set by the worker when the guest broke the ring. */
        rc = rc ?: ctl_json_bool(obj, "failed", __atomic_load_n(&q->dead, __ATOMIC_RELAXED));
        rc = rc ?: add_ring(obj, q);
        rc = rc ?: add_coalesce(obj, q, l1);
        return rc ?: add_stats(obj, &q->st);
}

static int add_negotiated(struct json_object *obj, const struct nb_vif *vif)
{
        const struct nb_fe_cfg *c = &vif->cfg;
        struct json_object *n = ctl_json_child(obj, "negotiated"), *rate;
        char mac[18];
        int rc;
        if (!n)
                return -ENOMEM;
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1], c->mac[2],
                 c->mac[3], c->mac[4], c->mac[5]);
        rc = ctl_json_u64(n, "queues", vif->nr_queues);
        rc = rc ?: ctl_json_u64(n, "backend_max_queues", vif->max_queues);
        rc = rc ?: ctl_json_str(n, "event_channels", c->queues[0].split ? "split" : "shared");
        rc = rc ?: ctl_json_bool(n, "sg", c->sg);
        rc = rc ?: ctl_json_bool(n, "gso_tcpv4", c->gso_tcpv4);
        rc = rc ?: ctl_json_bool(n, "gso_tcpv6", c->gso_tcpv6);
        rc = rc ?: ctl_json_bool(n, "csum_ipv4", c->csum_ipv4);
        rc = rc ?: ctl_json_bool(n, "csum_ipv6", c->csum_ipv6);
        rc = rc ?: ctl_json_bool(n, "ctrl_ring", c->has_ctrl);
        /* The frontend may flip it while connected: the live value. */
        rc = rc ?: ctl_json_bool(n, "multicast_control", atomic_load(&vif->mcast_control));
        rc = rc ?: ctl_json_bool(n, "rx_notify", c->rx_notify);
        rc = rc ?: ctl_json_u64(n, "xdp_headroom", c->xdp_headroom);
        rc = rc ?: ctl_json_str(n, "mac", mac);
        if (rc)
                return rc;
        if (!c->has_rate)
                return ctl_json_null(n, "rate");
        if (!(rate = ctl_json_child(n, "rate")))
                return -ENOMEM;
        return ctl_json_u64(rate, "bytes", c->credit_bytes)
                   ?: ctl_json_u64(rate, "usec", c->credit_usec);
}

static int add_uplink(struct json_object *obj, const struct nb_vif *vif)
{
        struct json_object *u = ctl_json_child(obj, "uplink");
        char caps[64];
        if (!u)
                return -ENOMEM;
        off_caps_str(atomic_load(&vif->tx_caps), caps, sizeof(caps));
        int rc = ctl_json_str(u, "kind", vif->up->ops->kind);
        rc = rc ?: ctl_json_str(u, "netdev", vif->up->name);
        return rc ?: ctl_json_str(u, "tx_caps", caps);
}

int nb_dump(struct be_dev *dev, struct json_object *obj)
{
        const struct nb_vif *vif = dev->priv;
        struct json_object *arr;
        struct l1_state l1 = {0};
        int rc;
        if (!vif)
                return 0;
        l1.kind = vif->up->ops->kind;
        /* A TAP has no interrupts; the tun driver's only coalescing knob
         * (rx-frames) batches what we write into its netdev, which is not
         * L1. Any other uplink: what its netdev says. */
        l1.rc = !strcmp(l1.kind, "tap") ? -EOPNOTSUPP : netdev_coalesce_read(vif->up->name, &l1.c);
        rc = ctl_json_bool(obj, "connected", vif->connected);
        rc = rc ?: ctl_json_bool(obj, "lro", vif->coal.l4);
        rc = rc ?: add_uplink(obj, vif);
        rc = rc ?: (vif->connected ? add_negotiated(obj, vif) : ctl_json_null(obj, "negotiated"));
        rc = rc ?: nb_dyncap_dump(vif, obj);
        rc = rc ?: nb_qos_dump(vif, obj);
        if (rc)
                return rc;
        arr = json_object_new_array();
        if ((rc = ctl_json_add(obj, "queues", arr)) < 0)
                return rc;
        /* queues is set at connect and freed at disconnect, both here on
         * the control thread. */
        for (uint32_t i = 0; rc == 0 && vif->queues && i < vif->nr_queues; i++)
                rc = add_queue(arr, &vif->queues[i], &l1);
        return rc;
}

/* ---- the class: how vifs are served and their uplinks ----------------------- */

/* The bridge (or other master) the netdev is enslaved to, from sysfs; ""
 * when none or not visible from here. */
static void netdev_master(const char *netdev, char *buf, size_t len)
{
        char link[64 + IFNAMSIZ], target[PATH_MAX];
        snprintf(link, sizeof(link), "/sys/class/net/%s/master", netdev);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        buf[0] = '\0';
        if (n <= 0)
                return;
        target[n] = '\0';
        const char *base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strlen(base) < len)
                memcpy(buf, base, strlen(base) + 1);
}

static int add_uplink_of(struct be_dev *dev, bool probed, void *arg)
{
        const struct nb_vif *vif = dev->priv;
        struct json_object *u;
        char caps[64], master[IFNAMSIZ + 1];
        if (dev->cls != &nb_class || !probed || !vif || !vif->up)
                return 0;
        if (!(u = ctl_json_append(arg)))
                return -ENOMEM;
        off_caps_str(atomic_load(&vif->tx_caps), caps, sizeof(caps));
        netdev_master(vif->up->name, master, sizeof(master));
        int rc = ctl_json_str(u, "device", dev->name);
        rc = rc ?: ctl_json_str(u, "kind", vif->up->ops->kind);
        rc = rc ?: ctl_json_str(u, "netdev", vif->up->name);
        rc = rc ?: ctl_json_str(u, "bridge", master[0] ? master : NULL);
        return rc ?: ctl_json_str(u, "tx_caps", caps);
}

int nb_dump_class(struct devmgr *mgr, struct json_object *obj)
{
        struct json_object *arr;
        int rc = ctl_json_str(obj, "virtualization", "paravirtual, grant copy, TAP uplink");
        if (rc || (rc = ctl_json_add(obj, "uplinks", arr = json_object_new_array())) < 0)
                return rc;
        return devmgr_for_each_dev(mgr, add_uplink_of, arr);
}
