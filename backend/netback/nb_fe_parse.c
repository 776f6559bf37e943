/* Frontend key validation after Linux xen-netback xenbus.c (connect,
 * connect_data_rings, read_xenbus_vif_flags, xen_net_read_rate), stricter
 * where Linux silently guesses: a contradiction refuses the connection. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "netback/nb_fe_parse.h"
#include "netback/nb_limits.h"
#include "xb.h"

/* Event channel ports are 32-bit; port 0 is never allocated. */
#define NB_PORT_MAX UINT32_MAX

struct nb_fe_ctx {
        const struct nb_kv_src *src;
        char *err;
        size_t errlen;
};

static int fe_fail(struct nb_fe_ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fe_fail(struct nb_fe_ctx *c, int rc, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        if (c->err && c->errlen)
                vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
        return rc;
}

static const char *fe_get(struct nb_fe_ctx *c, enum nb_kv_dir dir, const char *key)
{
        return c->src->get(c->src->arg, dir, key);
}

/* Absent → def; "0"/"1" → value; anything else refuses. */
static int fe_bool(struct nb_fe_ctx *c, const char *key, bool def, bool *out)
{
        const char *v = fe_get(c, NB_KV_FRONTEND, key);
        if (!v) {
                *out = def;
                return 0;
        }
        if (xb_parse_bool(v, out) < 0)
                return fe_fail(c, -EINVAL, "%s = \"%s\" is not 0 or 1", key, v);
        return 0;
}

static int fe_uint(struct nb_fe_ctx *c, const char *key, uint64_t max, bool required, uint64_t def,
                   uint64_t *out)
{
        const char *v = fe_get(c, NB_KV_FRONTEND, key);
        int rc;
        if (!v) {
                if (required)
                        return fe_fail(c, -ENOENT, "%s missing", key);
                *out = def;
                return 0;
        }
        rc = xb_parse_uint(v, max, out);
        if (rc == -ERANGE)
                return fe_fail(c, rc, "%s = %s exceeds %" PRIu64, key, v, max);
        if (rc < 0)
                return fe_fail(c, rc, "%s = \"%s\" is not a number", key, v);
        return 0;
}

static int fe_port(struct nb_fe_ctx *c, const char *key, uint32_t *out)
{
        uint64_t v;
        int rc = fe_uint(c, key, NB_PORT_MAX, true, 0, &v);
        if (rc < 0)
                return rc;
        if (v == 0)
                return fe_fail(c, -EINVAL, "%s = 0 is not an event channel", key);
        *out = (uint32_t)v;
        return 0;
}

static bool fe_has(struct nb_fe_ctx *c, const char *key)
{
        return fe_get(c, NB_KV_FRONTEND, key) != NULL;
}

/* One queue's rings and channels under prefix ("" or "queue-N/"). */
static int fe_queue(struct nb_fe_ctx *c, const char *prefix, struct nb_fe_queue *q)
{
        char k_tx[48], k_rx[48], k_ev[48], k_evtx[48], k_evrx[48];
        uint64_t v;
        int rc;

        snprintf(k_tx, sizeof(k_tx), "%stx-ring-ref", prefix);
        snprintf(k_rx, sizeof(k_rx), "%srx-ring-ref", prefix);
        snprintf(k_ev, sizeof(k_ev), "%sevent-channel", prefix);
        snprintf(k_evtx, sizeof(k_evtx), "%sevent-channel-tx", prefix);
        snprintf(k_evrx, sizeof(k_evrx), "%sevent-channel-rx", prefix);

        rc = fe_uint(c, k_tx, UINT32_MAX, true, 0, &v);
        if (rc < 0)
                return rc;
        q->tx_ring_ref = (uint32_t)v;
        rc = fe_uint(c, k_rx, UINT32_MAX, true, 0, &v);
        if (rc < 0)
                return rc;
        q->rx_ring_ref = (uint32_t)v;
        if (q->tx_ring_ref == q->rx_ring_ref)
                return fe_fail(c, -EINVAL, "%s and %s are the same grant %" PRIu32, k_tx, k_rx,
                               q->tx_ring_ref);

        /* Linux tries the split pair first, then the single channel. A lone
         * -tx or -rx is a half-written split pair: refuse rather than guess. */
        if (fe_has(c, k_evtx) || fe_has(c, k_evrx)) {
                if (!fe_has(c, k_evtx) || !fe_has(c, k_evrx))
                        return fe_fail(c, -EINVAL, "%s without %s",
                                       fe_has(c, k_evtx) ? k_evtx : k_evrx,
                                       fe_has(c, k_evtx) ? k_evrx : k_evtx);
                rc = fe_port(c, k_evtx, &q->evtchn_tx);
                if (rc < 0)
                        return rc;
                rc = fe_port(c, k_evrx, &q->evtchn_rx);
                if (rc < 0)
                        return rc;
                if (q->evtchn_tx == q->evtchn_rx)
                        return fe_fail(c, -EINVAL, "%s and %s are the same port %" PRIu32, k_evtx,
                                       k_evrx, q->evtchn_tx);
                q->split = true;
                return 0;
        }
        if (!fe_has(c, k_ev))
                return fe_fail(c, -ENOENT, "neither %s nor %s/-rx present", k_ev, k_evtx);
        rc = fe_port(c, k_ev, &q->evtchn_tx);
        if (rc < 0)
                return rc;
        q->evtchn_rx = q->evtchn_tx;
        q->split = false;
        return 0;
}

static int fe_queues(struct nb_fe_ctx *c, uint32_t max_queues, struct nb_fe_cfg *cfg)
{
        uint64_t n;
        int rc;

        if (max_queues == 0 || max_queues > NB_MAX_QUEUES)
                return fe_fail(c, -EINVAL, "backend maximum of %" PRIu32 " queues is invalid",
                               max_queues);
        rc = fe_uint(c, "multi-queue-num-queues", UINT32_MAX, false, 1, &n);
        if (rc < 0)
                return rc;
        if (n == 0)
                return fe_fail(c, -EINVAL, "multi-queue-num-queues = 0");
        if (n > max_queues)
                return fe_fail(c, -ERANGE,
                               "guest requested %" PRIu64
                               " queues, exceeding the maximum of %" PRIu32,
                               n, max_queues);
        cfg->nr_queues = (uint32_t)n;
        if (n == 1) {
                /* Single queue: the keys are at the top (Linux connect_data_rings). */
                if (fe_has(c, "queue-0/tx-ring-ref") && !fe_has(c, "tx-ring-ref"))
                        return fe_fail(
                            c, -EINVAL,
                            "one queue but its keys are under queue-0/ instead of the top level");
                return fe_queue(c, "", &cfg->queues[0]);
        }
        if (fe_has(c, "tx-ring-ref") || fe_has(c, "rx-ring-ref"))
                return fe_fail(c, -EINVAL,
                               "%" PRIu64 " queues but top-level tx-ring-ref/rx-ring-ref present",
                               n);
        for (uint32_t i = 0; i < n; i++) {
                char prefix[24];
                snprintf(prefix, sizeof(prefix), "queue-%" PRIu32 "/", i);
                rc = fe_queue(c, prefix, &cfg->queues[i]);
                if (rc < 0)
                        return rc;
        }
        /* A ring shared by two queues would be served by two workers at once. */
        for (uint32_t i = 0; i < n; i++)
                for (uint32_t j = i + 1; j < n; j++) {
                        const struct nb_fe_queue *a = &cfg->queues[i], *b = &cfg->queues[j];
                        if (a->tx_ring_ref == b->tx_ring_ref || a->tx_ring_ref == b->rx_ring_ref ||
                            a->rx_ring_ref == b->tx_ring_ref || a->rx_ring_ref == b->rx_ring_ref)
                                return fe_fail(c, -EINVAL,
                                               "queue-%" PRIu32 " and queue-%" PRIu32
                                               " share a ring grant",
                                               i, j);
                }
        return 0;
}

static int fe_ctrl(struct nb_fe_ctx *c, struct nb_fe_cfg *cfg)
{
        bool ref = fe_has(c, "ctrl-ring-ref"), ev = fe_has(c, "event-channel-ctrl");
        uint64_t v;
        int rc;

        cfg->has_ctrl = false;
        if (!ref && !ev)
                return 0;
        if (!ref || !ev)
                return fe_fail(c, -EINVAL, "%s without %s",
                               ref ? "ctrl-ring-ref" : "event-channel-ctrl",
                               ref ? "event-channel-ctrl" : "ctrl-ring-ref");
        rc = fe_uint(c, "ctrl-ring-ref", UINT32_MAX, true, 0, &v);
        if (rc < 0)
                return rc;
        cfg->ctrl_ring_ref = (uint32_t)v;
        rc = fe_port(c, "event-channel-ctrl", &cfg->ctrl_evtchn);
        if (rc < 0)
                return rc;
        for (uint32_t i = 0; i < cfg->nr_queues; i++) {
                const struct nb_fe_queue *q = &cfg->queues[i];
                if (q->tx_ring_ref == cfg->ctrl_ring_ref || q->rx_ring_ref == cfg->ctrl_ring_ref)
                        return fe_fail(c, -EINVAL, "ctrl-ring-ref %" PRIu32 " is also a data ring",
                                       cfg->ctrl_ring_ref);
        }
        cfg->has_ctrl = true;
        return 0;
}

static int fe_flags(struct nb_fe_ctx *c, struct nb_fe_cfg *cfg)
{
        bool no_csum, copy;
        uint64_t headroom;
        int rc;

        rc = fe_bool(c, "request-rx-copy", false, &copy);
        if (rc < 0)
                return rc;
        /* Page flipping is gone from every backend (Linux: -EOPNOTSUPP). */
        if (!copy)
                return fe_fail(c, -EOPNOTSUPP,
                               "request-rx-copy is not 1: only copying receive is supported");
        rc = fe_bool(c, "feature-rx-notify", false, &cfg->rx_notify);
        rc = rc ?: fe_bool(c, "feature-sg", false, &cfg->sg);
        rc = rc ?: fe_bool(c, "feature-gso-tcpv4", false, &cfg->gso_tcpv4);
        rc = rc ?: fe_bool(c, "feature-gso-tcpv6", false, &cfg->gso_tcpv6);
        rc = rc ?: fe_bool(c, "feature-no-csum-offload", false, &no_csum);
        rc = rc ?: fe_bool(c, "feature-ipv6-csum-offload", false, &cfg->csum_ipv6);
        rc = rc ?: fe_bool(c, "request-multicast-control", false, &cfg->mcast_control);
        if (rc < 0)
                return rc;
        cfg->csum_ipv4 = !no_csum;
        /* GSO frames span pages: without SG they cannot be received (Linux's
         * netdev core drops TSO when SG is off, xenvif_fix_features). Same
         * for GSO without checksum offload of that family. */
        if (!cfg->sg) {
                cfg->gso_tcpv4 = false;
                cfg->gso_tcpv6 = false;
        }
        if (!cfg->csum_ipv4)
                cfg->gso_tcpv4 = false;
        if (!cfg->csum_ipv6)
                cfg->gso_tcpv6 = false;
        /* Linux clamps rather than refuses (xenvif_... XEN_NETIF_MAX_XDP_HEADROOM). */
        rc = fe_uint(c, "xdp-headroom", UINT32_MAX, false, 0, &headroom);
        if (rc < 0)
                return rc;
        cfg->xdp_headroom =
            headroom > NB_MAX_XDP_HEADROOM ? NB_MAX_XDP_HEADROOM : (uint16_t)headroom;
        return 0;
}

int nb_parse_rate(const char *s, uint64_t *bytes, uint64_t *usec)
{
        char b[24], u[24];
        const char *comma = strchr(s, ',');
        size_t lb;
        if (!comma)
                return -EINVAL;
        lb = (size_t)(comma - s);
        if (lb == 0 || lb >= sizeof(b) || strlen(comma + 1) >= sizeof(u))
                return -EINVAL;
        memcpy(b, s, lb);
        b[lb] = '\0';
        strcpy(u, comma + 1);
        if (xb_parse_uint(b, UINT64_MAX, bytes) < 0 || xb_parse_uint(u, UINT32_MAX, usec) < 0)
                return -EINVAL;
        if (*bytes == 0 || *usec == 0)
                return -EINVAL;
        return 0;
}

static int be_keys(struct nb_fe_ctx *c, struct nb_fe_cfg *cfg)
{
        const char *mac = fe_get(c, NB_KV_BACKEND, "mac");
        const char *rate = fe_get(c, NB_KV_BACKEND, "rate");

        if (!mac)
                return fe_fail(c, -ENOENT, "backend mac missing");
        if (xb_parse_mac(mac, cfg->mac) < 0)
                return fe_fail(c, -EINVAL, "backend mac \"%s\" is malformed", mac);
        cfg->has_rate = false;
        /* Linux reads a malformed rate as unlimited; the toolstack wrote it,
         * not the guest, so we refuse it instead of ignoring a limit. */
        if (rate) {
                if (nb_parse_rate(rate, &cfg->credit_bytes, &cfg->credit_usec) < 0)
                        return fe_fail(c, -EINVAL, "backend rate \"%s\" is not <bytes>,<usecs>",
                                       rate);
                cfg->has_rate = true;
        }
        return 0;
}

int nb_fe_parse(const struct nb_kv_src *src, uint32_t max_queues, struct nb_fe_cfg *cfg, char *err,
                size_t errlen)
{
        struct nb_fe_ctx c = {src, err, errlen};
        int rc;

        memset(cfg, 0, sizeof(*cfg));
        if (err && errlen)
                err[0] = '\0';
        rc = fe_flags(&c, cfg);
        rc = rc ?: fe_queues(&c, max_queues, cfg);
        rc = rc ?: fe_ctrl(&c, cfg);
        rc = rc ?: be_keys(&c, cfg);
        return rc;
}
