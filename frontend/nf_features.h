/* Feature negotiation of the userspace netfront: what the user allows, what
 * the backend advertises, and the pure rule that turns both into what the
 * device uses, as Linux netfront decides it (talk_to_netback,
 * xennet_fix_features). Not for writing keys (nf_keys.h). */
#ifndef PVBACK_NF_FEATURES_H
#define PVBACK_NF_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xenstore.h>

#include "nf_proto.h"

/* Toeplitz setup sent over the control ring (netif.h "Control ring"). */
struct nf_hash_cfg {
        uint32_t flags; /* XEN_NETIF_CTRL_HASH_TYPE_* bits */
        uint8_t key[NF_HASH_KEY_MAX];
        uint32_t key_len;
        uint32_t mapping[NF_HASH_MAPPING_MAX];
        uint32_t mapping_size; /* 0: backend uses hash % queues */
};

/* What the user allows; everything on by default (nf_config_default). */
struct nf_config {
        uint32_t devid;
        uint32_t queues; /* 0: Linux's rule, min(backend max, CPUs, 8) */
        bool split_evtchn;
        bool sg;
        bool gso_tcpv4;
        bool gso_tcpv6;
        bool csum; /* off: writes feature-no-csum-offload=1, fills own sums */
        bool ipv6_csum;
        bool ctrl_ring; /* needs hash to be useful; see nf_config_default */
        bool mcast_ctrl;
        bool rx_notify;
        /* RX buffers kept posted per queue: 0 for the whole ring; fewer make
         * a guest short of buffers (at least NF_RX_BUFFERS_MIN). */
        uint32_t rx_buffers;
        bool xdp;              /* write xdp-headroom when the backend offers it */
        uint16_t xdp_headroom; /* value written (Linux: 0 until a program loads) */
        bool hash_set;         /* apply `hash` over the ctrl ring after connecting */
        struct nf_hash_cfg hash;
        int timeout_ms; /* for the backend's InitWait / Connected */
        /* pvback's dynamic capability exchange (fe_dyncap.h): follow it when
         * the backend offers it; off behaves as a standard frontend. */
        bool dyncap;
        const char *prefer; /* capabilities-preference to write, or NULL */
        bool no_hints;      /* follow the exchange, but apply no coalescing hint */
};

/* What the backend wrote in its directory before InitWait. */
struct nf_backend_features {
        bool has_max_queues; /* multi-queue-max-queues present (Linux writes num-queues then) */
        uint32_t max_queues;
        bool split_evtchn;
        bool sg;
        bool gso_tcpv4;
        bool gso_tcpv6;
        bool ipv6_csum;
        bool rx_copy;
        bool ctrl_ring;
        bool mcast_ctrl;
        bool dyn_mcast_ctrl;
        bool xdp_headroom;
};

/* The outcome. tx_* is what this frontend sends; rx_* what it advertises it
 * can receive (the keys it writes). */
struct nf_negotiated {
        uint32_t queues;
        bool write_num_queues;
        bool split_evtchn; /* asked for; queue setup may fall back to one channel */
        bool tx_sg, tx_gso_tcpv4, tx_gso_tcpv6, tx_csum, tx_ipv6_csum;
        bool rx_sg, rx_gso_tcpv4, rx_gso_tcpv6, rx_csum, rx_ipv6_csum;
        bool ctrl_ring;
        bool mcast_ctrl;
        bool rx_notify;
        bool xdp;
        uint16_t xdp_headroom;
};

void nf_config_default(struct nf_config *cfg);

/* Reads the backend's feature keys. Absent or malformed keys read as 0, as
 * xenbus_read_unsigned() does for Linux netfront. */
int nf_backend_features_read(struct xs_handle *xs, const char *be_dir,
                             struct nf_backend_features *bf);

/* Pure. ncpus caps the default queue count. -ENODEV when the backend cannot
 * copy on RX (Linux xennet_connect refuses it), -EINVAL for a bad config;
 * err then says why. */
int nf_negotiate(const struct nf_config *cfg, const struct nf_backend_features *bf, uint32_t ncpus,
                 struct nf_negotiated *neg, char *err, size_t errlen);

/* One line per feature ("sg: on", "gso-tcpv4: off (backend lacks it)"). */
void nf_negotiated_print(FILE *out, const struct nf_config *cfg,
                         const struct nf_backend_features *bf, const struct nf_negotiated *neg,
                         bool split_in_use);

#endif
