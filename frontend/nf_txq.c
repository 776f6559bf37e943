/* Guest TX data path of one queue: copy a frame into granted buffers, build
 * its slots, push with event-index suppression, and reclaim buffers from the
 * responses (Linux xennet_start_xmit / xennet_tx_buf_gc). Offloads the
 * backend did not negotiate are done here in software, as the Linux stack
 * does before ndo_start_xmit (skb_checksum_help, skb_gso_segment). */
#include "nf_dev.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "log.h"
#include "offload/off_csum.h"
#include "offload/off_gso.h"
#include "offload/off_parse.h"

/* Segments made per turn of software GSO (off_gso_segment_from): a 64 KiB
 * frame at the segmenter's floor is OFF_GSO_SEGS_MAX, made and sent in
 * turns through scratch2. */
#define NF_GSO_MAX_SEGS 1024u

void nf_txq_init(struct nf_queue *q)
{
        q->tx_nfree = NF_TX_RING_SIZE;
        for (uint32_t i = 0; i < NF_TX_RING_SIZE; i++) {
                q->tx_free[i] = (uint16_t)(NF_TX_RING_SIZE - 1 - i);
                q->tx_inflight[i] = false;
        }
}

uint32_t nf_txq_ring_space(const struct nf_queue *q)
{
        return NF_TX_RING_SIZE - (q->tx.req_prod_pvt - q->tx.rsp_cons);
}

int nf_txq_id_get(struct nf_queue *q, uint16_t *id)
{
        if (q->tx_nfree == 0)
                return -EAGAIN;
        *id = q->tx_free[--q->tx_nfree];
        q->tx_inflight[*id] = true;
        return 0;
}

static void count_status(struct nf_queue *q, int16_t status)
{
        if (status == NETIF_RSP_OKAY)
                q->st.tx_rsp_okay++;
        else if (status == NETIF_RSP_DROPPED)
                q->st.tx_rsp_dropped++;
        else
                q->st.tx_rsp_error++;
}

/* One pass over the published responses; NULL ones answer extras. */
static int gc_once(struct nf_queue *q)
{
        struct nf_dev *d = q->dev;
        RING_IDX prod = q->tx.sring->rsp_prod;
        if (RING_RESPONSE_PROD_OVERFLOW(&q->tx, prod)) {
                nf_set_broken(d, "%s: illegal number of tx responses %u", q->name,
                              prod - q->tx.rsp_cons);
                return -EIO;
        }
        xen_rmb(); /* see responses up to prod */
        for (RING_IDX cons = q->tx.rsp_cons; cons != prod; cons++) {
                netif_tx_response_t r;
                RING_COPY_RESPONSE(&q->tx, cons, &r);
                if (r.status == NETIF_RSP_NULL)
                        continue;
                if (r.id >= NF_TX_RING_SIZE || !q->tx_inflight[r.id]) {
                        nf_set_broken(d, "%s: tx response for inactive request id %u", q->name,
                                      r.id);
                        return -EIO;
                }
                q->tx_inflight[r.id] = false;
                q->tx_free[q->tx_nfree++] = r.id;
                count_status(q, r.status);
        }
        q->tx.rsp_cons = prod;
        return 0;
}

int nf_txq_gc(struct nf_queue *q)
{
        int more;
        do {
                int rc = gc_once(q);
                if (rc < 0)
                        return rc;
                RING_FINAL_CHECK_FOR_RESPONSES(&q->tx, more);
        } while (more);
        return 0;
}

void nf_txq_push(struct nf_queue *q)
{
        int notify;
        q->tx_unpushed = 0;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, notify);
        if (notify) {
                xh_evtchn_notify(q->dev->ev, q->port_tx);
                q->st.notify_tx++;
        }
}

void nf_txq_post(struct nf_queue *q, const union nf_tx_slot *slots, uint32_t n)
{
        struct nf_dev *d = q->dev;
        for (uint32_t i = 0; i < n; i++)
                memcpy(RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++), &slots[i], sizeof(slots[i]));
        q->st.tx_slots += n;
        /* tx-kick-batch: while more frames wait behind this one, up to N
         * go out with one push (and at most one kick). */
        if (!nf_hints_tx_push_now(d->hints.tx_kick_batch, ++q->tx_unpushed, d->tx_more)) {
                d->hint_tx_deferred++;
                return;
        }
        nf_txq_push(q);
}

/* Copies the frame into one buffer page per data slot and posts it. */
static int send_one(struct nf_queue *q, const struct nf_frame *f)
{
        const struct nf_negotiated *neg = &q->dev->neg;
        uint16_t lens[NF_TX_MAX_SLOTS];
        struct nf_tx_frag frags[NF_TX_MAX_SLOTS];
        union nf_tx_slot slots[NF_TX_MAX_SLOTS];
        uint32_t n, nslots;
        int rc = nf_tx_layout(f->len, neg->tx_sg, f->head, lens, NF_TX_MAX_SLOTS, &n);
        if (rc < 0)
                return rc;
        uint32_t need = n + (f->gso_type != XEN_NETIF_GSO_TYPE_NONE);
        if (nf_txq_ring_space(q) < need || q->tx_nfree < n) {
                /* What waits unpushed must reach the backend to free room. */
                if (q->tx_unpushed)
                        nf_txq_push(q);
                if ((rc = nf_txq_gc(q)) < 0)
                        return rc;
                if (nf_txq_ring_space(q) < need || q->tx_nfree < n) {
                        q->st.tx_busy++;
                        return -EAGAIN;
                }
        }
        uint32_t off = 0;
        for (uint32_t i = 0; i < n; i++) {
                uint16_t id = 0;
                nf_txq_id_get(q, &id); /* cannot fail: tx_nfree >= n checked */
                memcpy(q->tx_bufs + (size_t)id * NF_PAGE_SIZE, f->data + off, lens[i]);
                frags[i] = (struct nf_tx_frag){
                    .gref = q->tx_buf_refs[id], .offset = 0, .len = lens[i], .id = id};
                off += lens[i];
        }
        struct nf_tx_meta m = {.len = f->len,
                               .csum_blank = f->csum_blank,
                               .data_validated = f->data_validated,
                               .gso_type = f->gso_type,
                               .gso_size = f->gso_size};
        rc = nf_tx_build_slots(&m, frags, n, slots, NF_TX_MAX_SLOTS, &nslots);
        if (rc < 0) {
                for (uint32_t i = 0; i < n; i++) {
                        q->tx_inflight[frags[i].id] = false;
                        q->tx_free[q->tx_nfree++] = frags[i].id;
                }
                return rc;
        }
        nf_txq_post(q, slots, nslots);
        q->st.tx_packets++;
        q->st.tx_bytes += f->len;
        return 0;
}

static bool csum_offloaded(const struct nf_negotiated *neg, const struct off_pkt_info *pi)
{
        return pi->ethertype == OFF_ETH_P_IPV6 ? neg->tx_ipv6_csum : neg->tx_csum;
}

static bool gso_offloaded(const struct nf_negotiated *neg, uint8_t gso_type)
{
        return gso_type == XEN_NETIF_GSO_TYPE_TCPV6 ? neg->tx_gso_tcpv6 : neg->tx_gso_tcpv4;
}

/* skb_gso_segment in software: each segment leaves with full checksums. */
static int send_sw_gso(struct nf_queue *q, const struct nf_frame *f, const struct off_pkt_info *pi)
{
        static struct off_gso_seg segs[NF_GSO_MAX_SEGS];
        struct off_gso_out out = {.mem = q->dev->scratch2,
                                  .mem_len = 2 * NF_RX_MAX_FRAME,
                                  .segs = segs,
                                  .max_segs = NF_GSO_MAX_SEGS};
        uint32_t total = off_gso_seg_count(pi, f->gso_size), first = 0;
        int rc;
        /* send_one copies each segment into a granted buffer: the scratch
         * is free for the next turn once the turn is sent. */
        do {
                rc = off_gso_segment_from(f->data, f->len, pi, f->gso_size, first, OFF_GSO_COPY,
                                          &out);
                if (rc < 0)
                        return rc;
                if (first == 0)
                        q->st.tx_sw_gso++;
                first += out.nsegs;
                for (uint32_t i = 0; i < out.nsegs; i++) {
                        struct nf_frame s = {.data = segs[i].hdr,
                                             .len = segs[i].hdr_len + segs[i].payload_len,
                                             .data_validated = true};
                        while ((rc = send_one(q, &s)) == -EAGAIN) {
                                /* The frame is already half sent: wait for room. */
                                if ((rc = nf_txq_gc(q)) < 0)
                                        return rc;
                        }
                        if (rc < 0)
                                return rc;
                }
        } while (first < total);
        return 0;
}

/* skb_checksum_help: fill the partial checksum before sending. */
static int send_sw_csum(struct nf_queue *q, const struct nf_frame *f, const struct off_pkt_info *pi)
{
        uint8_t *buf = q->dev->scratch2;
        memcpy(buf, f->data, f->len);
        size_t field = pi->l4_proto == IPPROTO_TCP ? 16 : 6;
        int rc = off_csum_complete_partial(buf, f->len, pi->l4_off, field);
        if (rc < 0)
                return rc;
        q->st.tx_sw_csum++;
        struct nf_frame s = *f;
        s.data = buf;
        s.csum_blank = false;
        s.data_validated = true;
        return send_one(q, &s);
}

int nf_txq_send(struct nf_queue *q, const struct nf_frame *f)
{
        const struct nf_negotiated *neg = &q->dev->neg;
        struct off_pkt_info pi;
        if (q->dev->broken[0])
                return -EIO;
        if (f->len == 0 || f->len > NF_MAX_TX_SIZE)
                return -EMSGSIZE;
        bool gso = f->gso_type != XEN_NETIF_GSO_TYPE_NONE;
        if (!gso && !f->csum_blank)
                return send_one(q, f);
        bool need_gso = gso && !gso_offloaded(neg, f->gso_type);
        if (!need_gso && !f->csum_blank)
                return send_one(q, f);
        if (off_parse(f->data, f->len, gso ? OFF_PARSE_GSO : 0, &pi) < 0 ||
            !(pi.flags & OFF_PKT_L4))
                return f->csum_blank && !gso ? send_one(q, f) : -EINVAL;
        if (need_gso)
                return send_sw_gso(q, f, &pi);
        if (f->csum_blank && !csum_offloaded(neg, &pi))
                return send_sw_csum(q, f, &pi);
        return send_one(q, f);
}
