/* The vif's connect-time configuration: every frontend key (and the backend's
 * mac and rate) read and validated into one struct, as Linux netback's
 * connect()/read_xenbus_vif_flags() do. Pure: the keys come from a lookup
 * callback, so tests need no xenstore. Not for mapping or binding anything. */
#ifndef PVBACK_NB_FE_PARSE_H
#define PVBACK_NB_FE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hard cap on queues a vif can have (the advertised maximum is lower). */
#define NB_MAX_QUEUES 16u
/* Linux MAX_QUEUES_DEFAULT: multi-queue-max-queues is min(this, CPUs). */
#define NB_MAX_QUEUES_DEFAULT 8u

enum nb_kv_dir {
        NB_KV_FRONTEND,
        NB_KV_BACKEND,
};

/* Value of dir/key (key may be "queue-1/tx-ring-ref"), NULL when absent. The
 * string belongs to the source and lives until the parse returns. */
struct nb_kv_src {
        const char *(*get)(void *arg, enum nb_kv_dir dir, const char *key);
        void *arg;
};

struct nb_fe_queue {
        uint32_t tx_ring_ref;
        uint32_t rx_ring_ref;
        bool split;         /* event-channel-tx/-rx rather than event-channel */
        uint32_t evtchn_tx; /* the shared channel when !split */
        uint32_t evtchn_rx; /* == evtchn_tx when !split */
};

struct nb_fe_cfg {
        uint32_t nr_queues;
        struct nb_fe_queue queues[NB_MAX_QUEUES];

        bool rx_notify; /* feature-rx-notify (Linux: 0 means poll every 30 ms) */
        bool sg;        /* feature-sg */
        bool gso_tcpv4; /* feature-gso-tcpv4, and only with sg */
        bool gso_tcpv6;
        bool csum_ipv4;        /* !feature-no-csum-offload */
        bool csum_ipv6;        /* feature-ipv6-csum-offload */
        bool mcast_control;    /* request-multicast-control at connect time */
        uint16_t xdp_headroom; /* clamped to NB_MAX_XDP_HEADROOM */

        bool has_ctrl;
        uint32_t ctrl_ring_ref;
        uint32_t ctrl_evtchn;

        /* Backend keys. */
        uint8_t mac[6];
        bool has_rate; /* false: unlimited */
        uint64_t credit_bytes;
        uint64_t credit_usec;
};

/* Reads and validates everything; max_queues is what we advertised. On an
 * inconsistency returns a negative errno (-EOPNOTSUPP for request-rx-copy != 1
 * as Linux, -EINVAL for malformed or contradictory keys, -ERANGE for numbers
 * out of range, -ENOENT for a required key missing) and writes a sentence
 * naming the key into err ("queue-1/tx-ring-ref missing"). */
int nb_fe_parse(const struct nb_kv_src *src, uint32_t max_queues, struct nb_fe_cfg *cfg, char *err,
                size_t errlen);

/* BE/rate "<bytes>,<usecs>": 0 and the two numbers, or -EINVAL. As Linux
 * xen_net_read_rate, a zero in either field is malformed. */
int nb_parse_rate(const char *s, uint64_t *bytes, uint64_t *usec);

#endif
