/* Frontend key list (see nf_keys.h). Order and formats follow Linux
 * talk_to_netback: multi-queue-num-queues, ring and event keys (top level for
 * one queue, queue-N/ for more), then the global feature keys. */
#include "nf_keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "xb.h"

struct kv_list {
        struct nf_kv *kv;
        size_t max, n;
        int err;
};

static void add(struct kv_list *l, const char *prefix, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void add(struct kv_list *l, const char *prefix, const char *key, const char *fmt, ...)
{
        if (l->err)
                return;
        if (l->n == l->max) {
                l->err = -ENOSPC;
                return;
        }
        struct nf_kv *e = &l->kv[l->n];
        va_list ap;
        int a = snprintf(e->key, sizeof(e->key), "%s%s", prefix, key);
        va_start(ap, fmt);
        int b = vsnprintf(e->val, sizeof(e->val), fmt, ap);
        va_end(ap);
        if (a < 0 || (size_t)a >= sizeof(e->key) || b < 0 || (size_t)b >= sizeof(e->val)) {
                l->err = -ENOSPC;
                return;
        }
        l->n++;
}

/* write_queue_xenstore_keys: shared channel when tx and rx ports coincide. */
static void add_queue(struct kv_list *l, const char *prefix, const struct nf_queue_keys *q)
{
        add(l, prefix, "tx-ring-ref", "%u", q->tx_ring_ref);
        add(l, prefix, "rx-ring-ref", "%u", q->rx_ring_ref);
        if (q->evtchn_tx == q->evtchn_rx) {
                add(l, prefix, "event-channel", "%u", q->evtchn_tx);
        } else {
                add(l, prefix, "event-channel-tx", "%u", q->evtchn_tx);
                add(l, prefix, "event-channel-rx", "%u", q->evtchn_rx);
        }
}

int nf_keys_build(const struct nf_negotiated *neg, const struct nf_queue_keys *q,
                  const struct nf_ctrl_keys *ctrl, struct nf_kv *out, size_t max, size_t *n)
{
        struct kv_list l = {.kv = out, .max = max};
        char prefix[24];

        if (neg->write_num_queues)
                add(&l, "", "multi-queue-num-queues", "%u", neg->queues);
        if (neg->queues == 1) {
                add_queue(&l, "", &q[0]);
        } else {
                for (uint32_t i = 0; i < neg->queues; i++) {
                        snprintf(prefix, sizeof(prefix), "queue-%u/", i);
                        add_queue(&l, prefix, &q[i]);
                }
        }
        add(&l, "", "request-rx-copy", "%u", 1u);
        if (neg->rx_notify)
                add(&l, "", "feature-rx-notify", "%d", 1);
        if (neg->rx_sg)
                add(&l, "", "feature-sg", "%d", 1);
        if (neg->rx_gso_tcpv4)
                add(&l, "", "feature-gso-tcpv4", "%d", 1);
        if (neg->rx_gso_tcpv6)
                add(&l, "", "feature-gso-tcpv6", "1");
        if (neg->rx_ipv6_csum)
                add(&l, "", "feature-ipv6-csum-offload", "1");
        /* Linux never turns IPv4 checksum offload off; the key is netif.h's. */
        if (!neg->rx_csum)
                add(&l, "", "feature-no-csum-offload", "1");
        /* Linux writes xdp-headroom (%hu) whenever the backend offers it. */
        if (neg->xdp)
                add(&l, "", "xdp-headroom", "%hu", neg->xdp_headroom);
        if (neg->mcast_ctrl)
                add(&l, "", "request-multicast-control", "1");
        if (neg->ctrl_ring && ctrl) {
                add(&l, "", "ctrl-ring-ref", "%u", ctrl->ring_ref);
                add(&l, "", "event-channel-ctrl", "%u", ctrl->evtchn);
        }
        *n = l.n;
        return l.err;
}

struct write_arg {
        const char *dir;
        const struct nf_kv *kv;
        size_t n;
};

/* Every key nf_keys_build may write. A frontend that reconnects after
 * Closed (a new guest kernel, or this tool run again with other switches)
 * must not leave the last connection's keys behind: netback reads
 * event-channel-tx before event-channel, queue-N/ when it sees them, and
 * treats a present feature-sg or feature-no-csum-offload as said. */
static const char *const nf_keys_owned[] = {
        "multi-queue-num-queues", "tx-ring-ref", "rx-ring-ref", "event-channel",
        "event-channel-tx", "event-channel-rx", "request-rx-copy", "feature-rx-notify",
        "feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6", "feature-ipv6-csum-offload",
        "feature-no-csum-offload", "xdp-headroom", "request-multicast-control", "ctrl-ring-ref",
        "event-channel-ctrl",
};

static void remove_stale(struct xs_handle *xs, xs_transaction_t t, const char *dir)
{
        char path[256];
        for (size_t i = 0; i < sizeof(nf_keys_owned) / sizeof(nf_keys_owned[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, nf_keys_owned[i]);
                xs_rm(xs, t, path); /* absent is fine */
        }
        for (uint32_t i = 0; i < NF_MAX_QUEUES; i++) {
                snprintf(path, sizeof(path), "%s/queue-%u", dir, i);
                xs_rm(xs, t, path);
        }
}

static int write_all(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        const struct write_arg *w = arg;
        remove_stale(xs, t, w->dir);
        for (size_t i = 0; i < w->n; i++) {
                int rc = xb_printf(xs, t, w->dir, w->kv[i].key, "%s", w->kv[i].val);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

int nf_keys_write(struct xs_handle *xs, const char *fe_dir, const struct nf_kv *kv, size_t n)
{
        struct write_arg w = {.dir = fe_dir, .kv = kv, .n = n};
        return xb_transact(xs, write_all, &w);
}
