/* The keys netfront writes into its frontend directory before Connected, as
 * an ordered (key, value) list built purely from the negotiation and the
 * queues' grants and ports, then written in one transaction. Mirrors Linux
 * talk_to_netback / write_queue_xenstore_keys. */
#ifndef PVBACK_NF_KEYS_H
#define PVBACK_NF_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <xenstore.h>

#include "nf_features.h"

/* Per-queue values: tx == rx port means one shared channel. */
struct nf_queue_keys {
        uint32_t tx_ring_ref, rx_ring_ref;
        uint32_t evtchn_tx, evtchn_rx;
};

struct nf_ctrl_keys {
        uint32_t ring_ref;
        uint32_t evtchn;
};

struct nf_kv {
        char key[40]; /* relative to the frontend directory ("queue-1/tx-ring-ref") */
        char val[16];
};

/* Enough for NF_MAX_QUEUES queues with split channels plus every global key. */
#define NF_KEYS_MAX (NF_MAX_QUEUES * 4u + 16u)

/* Pure. ctrl may be NULL when the control ring is not used. 0 or -ENOSPC. */
int nf_keys_build(const struct nf_negotiated *neg, const struct nf_queue_keys *q,
                  const struct nf_ctrl_keys *ctrl, struct nf_kv *out, size_t max, size_t *n);

/* Writes the list under fe_dir in one transaction (retried on EAGAIN). */
int nf_keys_write(struct xs_handle *xs, const char *fe_dir, const struct nf_kv *kv, size_t n);

#endif
