/* libpvfront's netfront: a userspace netif frontend for device/vif/<devid> of
 * the domain it runs in, negotiating like Linux xen-netfront with any netif
 * backend. The caller owns the event loop: poll nf_evtchn_fd() and
 * nf_xs_fd(), then call nf_handle_events() / nf_handle_xenstore(). */
#ifndef PVBACK_NETFRONT_H
#define PVBACK_NETFRONT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nf_features.h"

struct nf_dev;

/* Counters per queue (and summed by nf_stats_sum). */
struct nf_stats {
        uint64_t tx_packets, tx_bytes, tx_slots;
        uint64_t tx_rsp_okay, tx_rsp_error, tx_rsp_dropped; /* per response slot */
        uint64_t tx_busy;    /* xmit refused for lack of ring slots or buffers */
        uint64_t tx_sw_gso;  /* frames segmented here: GSO not negotiated */
        uint64_t tx_sw_csum; /* checksums filled here: offload not negotiated */
        uint64_t rx_packets, rx_bytes, rx_slots, rx_errors;
        uint64_t rx_gso, rx_csum_blank;
        uint64_t notify_tx, notify_rx; /* kicks sent to the backend */
        uint64_t events;               /* kicks received */
};

/* A frame to send; data is contiguous and only read. */
struct nf_frame {
        const uint8_t *data;
        uint32_t len;
        bool csum_blank; /* L4 checksum is partial (seeded with the pseudo-header) */
        bool data_validated;
        uint8_t gso_type; /* XEN_NETIF_GSO_TYPE_* */
        uint16_t gso_size;
        uint32_t head; /* bytes in the first slot; 0: a full page */
};

/* A received frame, valid during the callback only. */
struct nf_rx_frame {
        const uint8_t *data;
        uint32_t len;
        uint32_t queue;
        bool csum_blank;
        bool data_validated;
        uint8_t gso_type;
        uint16_t gso_size;
        bool has_hash;
        uint8_t hash_type;
        uint32_t hash_value;
};

typedef void (*nf_rx_cb)(void *arg, const struct nf_rx_frame *f);

/* Opens xenstore and the hypervisor seam (provider: NULL = auto), finds
 * device/vif/<cfg->devid> and its backend. Does not connect. On failure err
 * says why. */
int nf_open(const struct nf_config *cfg, const char *provider, struct nf_dev **out, char *err,
            size_t errlen);
/* Waits for the backend's InitWait, negotiates, shares rings and buffers,
 * writes the keys in one transaction, switches to Connected, posts RX
 * buffers, applies the control-ring hash setup, and waits (cfg timeout) for
 * the backend to be Connected. */
int nf_connect(struct nf_dev *d, char *err, size_t errlen);
/* Closing → (backend Closing/Closed) → Closed; unshares and unbinds. Safe
 * on a half-connected device and after the backend went away. */
void nf_disconnect(struct nf_dev *d);
void nf_close(struct nf_dev *d);

void nf_set_rx_cb(struct nf_dev *d, nf_rx_cb cb, void *arg);
int nf_evtchn_fd(const struct nf_dev *d);
int nf_xs_fd(const struct nf_dev *d);
/* Drains pending ports: TX completions, RX delivery, refills. 0 or -EIO
 * once the device is broken (a backend protocol error; see nf_broken_reason). */
int nf_handle_events(struct nf_dev *d);
/* Reacts to backend state changes. -ECONNRESET when the backend left
 * Connected (closing, closed or gone): the caller should nf_disconnect. */
int nf_handle_xenstore(struct nf_dev *d);
/* Checks every queue's rings without waiting for a kick (after xmit bursts). */
int nf_poll_queues(struct nf_dev *d);

/* Sends one frame on queue q (ANY: chosen by flow hash). -EAGAIN when the
 * ring is full (wait for events), -EMSGSIZE, -EINVAL, -EIO when broken. */
#define NF_QUEUE_ANY UINT32_MAX
int nf_xmit(struct nf_dev *d, uint32_t q, const struct nf_frame *f);
/* Multicast filter updates as TX dummies (multicast-control negotiated). */
int nf_mcast(struct nf_dev *d, bool add, const uint8_t mac[6]);

uint32_t nf_num_queues(const struct nf_dev *d);
/* Whether every queue's TX buffers came back (all frames answered). */
bool nf_tx_idle(const struct nf_dev *d);
void nf_stats_get(const struct nf_dev *d, uint32_t q, struct nf_stats *st);
void nf_stats_sum(const struct nf_dev *d, struct nf_stats *st);
const struct nf_negotiated *nf_negotiated(const struct nf_dev *d);
const char *nf_broken_reason(const struct nf_dev *d);
const uint8_t *nf_mac(const struct nf_dev *d);
/* The toolstack's mtu key in the frontend directory (1500 when absent). */
uint32_t nf_mtu(const struct nf_dev *d);
const char *nf_fe_dir(const struct nf_dev *d);
const char *nf_be_dir(const struct nf_dev *d);
/* nf_xmit for a frame with @more frames already waiting behind it: with
 * the backend's tx-kick-batch hint, up to that many are pushed with one
 * kick; a frame with !more always goes at once. */
int nf_xmit_more(struct nf_dev *d, uint32_t q, const struct nf_frame *f, bool more);
/* Whether tx-kick-batch is in force (worth telling nf_xmit_more). */
bool nf_tx_batching(const struct nf_dev *d);
/* Pushes whatever tx-kick-batch left unpushed: before sleeping. */
void nf_tx_flush(struct nf_dev *d);
/* The backend's rx-poll-us hint: spins up to that long for RX responses
 * before the caller sleeps; true when some arrived (do not sleep). */
bool nf_rx_spin(struct nf_dev *d);
/* The negotiation, one line per feature (the dynamic capabilities'
 * acknowledged generation and the coalescing hints applied last). */
void nf_print_negotiated(const struct nf_dev *d, FILE *out);
/* Where each capabilities generation applied is printed (one line with
 * what changed); NULL (the default) prints nothing. Before nf_connect. */
void nf_dyncap_report(struct nf_dev *d, FILE *out);
struct fe_dyncap;
/* The dynamic capabilities last applied and acknowledged (fe_dyncap.h). */
const struct fe_dyncap *nf_dyncap(const struct nf_dev *d);

#endif
