/* The netfront's internal state, shared by its files (xenbus, queues, TX, RX,
 * control ring) and by the CLI's hostile mode, which writes raw slots.
 * Library users include netfront.h only. */
#ifndef PVBACK_NF_DEV_H
#define PVBACK_NF_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "fe_dyncap.h"
#include "nf_hints.h"
#include "netfront.h"
#include "nf_keys.h"
#include "nf_proto.h"
#include "nf_tx_slots.h"

#define NF_NO_ID 0xFFFFu

struct nf_queue {
        struct nf_dev *dev;
        uint32_t id;
        char name[32]; /* "vif0 q1": log context */

        netif_tx_front_ring_t tx;
        void *tx_sring;
        uint32_t tx_ring_ref;
        uint8_t *tx_bufs; /* one page per TX id, granted read-only */
        uint32_t tx_buf_refs[NF_TX_RING_SIZE];
        uint16_t tx_free[NF_TX_RING_SIZE]; /* stack of free ids */
        uint32_t tx_nfree;
        bool tx_inflight[NF_TX_RING_SIZE];
        uint32_t tx_unpushed; /* frames on the ring not pushed yet (tx-kick-batch) */

        netif_rx_front_ring_t rx;
        void *rx_sring;
        uint32_t rx_ring_ref;
        /* Buffer i always serves ring index i mod size: netfront keeps the
         * ring full, so a consumed slot is reposted at the same index. */
        uint8_t *rx_bufs;
        uint32_t rx_buf_refs[NF_RX_RING_SIZE];

        uint32_t port_tx, port_rx; /* equal with one shared channel */
        bool bound;
        struct nf_stats st;
};

struct nf_ctrl {
        bool active;
        void *sring;
        uint32_t ring_ref;
        xen_netif_ctrl_front_ring_t ring;
        uint8_t *page; /* key / mapping table staging page */
        uint32_t page_ref;
        uint32_t port;
        uint16_t next_id;
};

struct nf_dev {
        struct nf_config cfg;
        const struct xh_provider *hv;
        struct xs_handle *xs;
        struct xh_evtchn *ev;
        struct xh_gntshr *shr;
        uint16_t self, backend;
        char fe_dir[128];
        char be_dir[160];
        char name[24]; /* "vif<devid>" */
        uint8_t mac[6];
        uint32_t mtu;
        struct nf_backend_features bf;
        struct nf_negotiated neg;
        bool split_in_use;
        bool watching;
        bool connected;
        int be_state;
        char broken[160]; /* non-empty once the backend broke the protocol */
        struct nf_queue *queues;
        uint32_t nqueues;
        struct nf_ctrl ctrl;
        nf_rx_cb rx_cb;
        void *rx_arg;
        uint8_t *scratch; /* RX reassembly and software offload fallbacks */
        uint8_t *scratch2;
        struct fe_dyncap dyncap; /* pvback's dynamic capabilities */
        /* The backend's L5 coalescing hints as last applied, whether the
         * frame being sent has another queued behind it, and what the
         * hints did. */
        struct nf_hints hints;
        bool tx_more;
        uint64_t hint_tx_deferred; /* pushes left for a later frame */
        uint64_t hint_rx_spins, hint_rx_spin_hits;
};

/* nf_queue.c: rings, buffers and channels of one queue. */
int nf_queue_setup(struct nf_dev *d, struct nf_queue *q, bool split);
void nf_queue_teardown(struct nf_dev *d, struct nf_queue *q);
void nf_queue_keys(const struct nf_queue *q, struct nf_queue_keys *k);
/* Marks the device broken (first reason wins) and logs it. */
void nf_set_broken(struct nf_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* nf_txq.c */
void nf_txq_init(struct nf_queue *q);
int nf_txq_gc(struct nf_queue *q);
/* Free ring slots for new requests (Linux keeps NR_SLOTS_MIN + 1 in reserve
 * before stopping; callers ask for what they need). */
uint32_t nf_txq_ring_space(const struct nf_queue *q);
int nf_txq_id_get(struct nf_queue *q, uint16_t *id);
/* Copies prepared slots to the ring, marks their ids in flight, pushes and
 * notifies as the event index asks. */
void nf_txq_post(struct nf_queue *q, const union nf_tx_slot *slots, uint32_t n);
/* Pushes what tx-kick-batch left unpushed, and kicks as the event index
 * asks. */
void nf_txq_push(struct nf_queue *q);
int nf_txq_send(struct nf_queue *q, const struct nf_frame *f);

/* nf_dev.c: the backend's coalescing hints (re)read from the applied
 * capabilities. */
void nf_hints_update(struct nf_dev *d);

/* nf_rxq.c */
void nf_rxq_refill(struct nf_queue *q);
int nf_rxq_poll(struct nf_queue *q);

/* nf_ctrl.c */
int nf_ctrl_setup(struct nf_dev *d);
void nf_ctrl_teardown(struct nf_dev *d);
/* Sends the Toeplitz setup of cfg.hash and waits for each answer. */
int nf_ctrl_apply_hash(struct nf_dev *d, char *err, size_t errlen);

#endif
