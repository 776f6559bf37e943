/* Guest TX (guest → uplink) on the queue's worker: parse slots, batch the
 * grant copies of many packets into one call (up to NB_COPY_BATCH segments),
 * turn the guest's checksum/GSO flags into uplink metadata, finish in
 * software what the uplink cannot (off_decide against the vif's tx_caps),
 * send the batch, answer every slot, notify as L3 decides (nb_notify.c).
 * Linux: netback.c xenvif_tx_build_gops / xenvif_tx_submit /
 * xenvif_tx_action. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netback/nb_tx_gnttab.h"
#include "netback/nb_vif.h"
#include "offload/off_caps.h"
#include "offload/off_csum.h"
#include "offload/off_gso.h"
#include "offload/off_parse.h"

#define NB_TX_BATCH_PKTS 64u
/* Room for the batch's frames: enough for a full batch of MTU frames or
 * several 64 KiB GSO frames. */
#define NB_TX_ARENA (1024u * 1024u)
/* Room before each frame in the arena for the uplink's own header (a TAP's
 * virtio_net_hdr), so frame and header go to the kernel as one buffer. One
 * cache line keeps the frames aligned. */
#define NB_TX_HEADROOM 64u
/* Software segmentation in turns of at most one uplink batch: a 64 KiB GSO
 * packet at the segmenter's floor (OFF_GSO_MSS_MIN) is 8192 segments, and
 * scratch for all of them at once would cost each queue about a megabyte.
 * A turn holds NB_TX_GSO_SEGS segments with headers of up to
 * NB_TX_GSO_HDR_MAX bytes (Ethernet, VLAN, IPv4 and TCP with full options
 * take 138) and a whole packet's payload (the 16-bit size of slot 1), so a
 * 64 KiB packet at an MSS of 1024 or more is one turn; with larger headers
 * a turn holds fewer. Any one segment fits (it is no larger than the
 * packet): only a packet the segmenter refuses (MSS below its floor, headers
 * it cannot rewrite) is dropped and counted. */
#define NB_TX_GSO_SEGS    NB_TX_BATCH_PKTS
#define NB_TX_GSO_HDR_MAX 256u
#define NB_TX_GSO_MEM     ((size_t)NB_TX_GSO_SEGS * NB_TX_GSO_HDR_MAX + UINT16_MAX)

struct nb_tx_state {
        uint32_t n_pkts, n_segs;
        size_t arena_used;
        uint8_t *arena;
        struct nb_tx_pkt pkts[NB_TX_BATCH_PKTS];
        uint32_t pkt_off[NB_TX_BATCH_PKTS];
        uint32_t seg_first[NB_TX_BATCH_PKTS];
        uint32_t seg_count[NB_TX_BATCH_PKTS];
        xh_copy_seg_t segs[NB_COPY_BATCH];
        struct uplink_pkt up[NB_TX_BATCH_PKTS];
        uint32_t n_up;                /* frames in up[] waiting for the uplink */
        struct nb_tx_pkt scratch;     /* the packet being parsed */
        uint8_t *gso_mem;             /* NB_TX_GSO_MEM: segments, back to back */
        struct off_gso_seg *gso_segs; /* NB_TX_GSO_SEGS */
        bool gso_queued;              /* up[] still points into gso_mem */
};

void nb_tx_state_free(struct nb_queue *q)
{
        if (!q->txs)
                return;
        free(q->txs->arena);
        free(q->txs->gso_mem);
        free(q->txs->gso_segs);
        free(q->txs);
        q->txs = NULL;
}

int nb_tx_state_alloc(struct nb_queue *q)
{
        q->txs = calloc(1, sizeof(*q->txs));
        if (!q->txs)
                return -ENOMEM;
        q->txs->arena = malloc(NB_TX_ARENA);
        q->txs->gso_mem = malloc(NB_TX_GSO_MEM);
        q->txs->gso_segs = calloc(NB_TX_GSO_SEGS, sizeof(*q->txs->gso_segs));
        if (!q->txs->arena || !q->txs->gso_mem || !q->txs->gso_segs) {
                nb_tx_state_free(q);
                return -ENOMEM;
        }
        return 0;
}

/* Checksum and GSO metadata for the uplink, as Linux xenvif_tx_submit +
 * checksum_setup do: csum_blank → CHECKSUM_PARTIAL over the parsed L4 header
 * (the guest already seeded the pseudo-header); a GSO packet without
 * csum_blank gets its pseudo-header recomputed (rx_gso_checksum_fixup). */
static int nb_tx_meta(const struct nb_tx_pkt *pkt, uint8_t *data, uint32_t len,
                      struct uplink_meta *m, struct off_pkt_info *out_pi)
{
        struct off_pkt_info pi;
        bool partial = pkt->csum_blank || pkt->has_gso;

        memset(m, 0, sizeof(*m));
        memset(out_pi, 0, sizeof(*out_pi));
        if (!partial) {
                m->data_valid = pkt->data_validated;
                return 0;
        }
        if (off_parse(data, len, pkt->has_gso ? OFF_PARSE_GSO : 0, &pi) < 0 ||
            !(pi.flags & OFF_PKT_L4) || (pi.flags & OFF_PKT_FRAGMENT))
                return -EPROTO;
        if (pkt->has_gso) {
                bool v4 = pkt->gso_type == XEN_NETIF_GSO_TYPE_TCPV4;
                if (pi.l4_proto != 6 || pi.ethertype != (v4 ? OFF_ETH_P_IPV4 : OFF_ETH_P_IPV6))
                        return -EPROTO;
                if (!pkt->csum_blank && off_csum_seed_partial(data, len, &pi) < 0)
                        return -EPROTO;
                m->gso = v4 ? UPLINK_GSO_TCPV4 : UPLINK_GSO_TCPV6;
                m->gso_size = pkt->gso_size;
                m->hdr_len = (uint16_t)(pi.l4_off + pi.l4_hdr_len);
        }
        m->needs_csum = true;
        m->csum_start = pi.l4_off;
        m->csum_offset = pi.l4_proto == 6 ? 16 : 6;
        *out_pi = pi;
        return 0;
}

/* Hands the frames waiting in up[] to the uplink; what it refuses is
 * counted, as Linux counts a failed dev_queue_xmit. */
static void nb_tx_uplink_flush(struct nb_queue *q)
{
        struct nb_tx_state *s = q->txs;
        int sent;

        if (s->n_up == 0)
                return;
        sent = uplink_send(q->upq, s->up, s->n_up);
        if (sent < 0)
                sent = 0;
        if ((uint32_t)sent < s->n_up)
                q->st.tx_drop_uplink += s->n_up - (uint32_t)sent;
        s->n_up = 0;
        s->gso_queued = false;
}

/* The next free frame of the uplink batch, sending the batch when full: a
 * segmented packet's frames leave in batches of NB_TX_BATCH_PKTS like
 * everything else. */
static struct uplink_pkt *nb_tx_uplink_next(struct nb_queue *q)
{
        struct nb_tx_state *s = q->txs;
        if (s->n_up == NB_TX_BATCH_PKTS)
                nb_tx_uplink_flush(q);
        return &s->up[s->n_up];
}

/* What off_decide needs of a packet nb_tx_meta accepted. */
static void nb_tx_off_meta(const struct nb_tx_pkt *pkt, const struct uplink_meta *m,
                           const struct off_pkt_info *pi, struct off_meta *om)
{
        om->gso = OFF_GSO_KIND_NONE;
        if (pkt->has_gso)
                om->gso = pkt->gso_type == XEN_NETIF_GSO_TYPE_TCPV4   ? OFF_GSO_KIND_TCP4
                          : pkt->gso_type == XEN_NETIF_GSO_TYPE_TCPV6 ? OFF_GSO_KIND_TCP6
                                                                      : OFF_GSO_KIND_OTHER;
        om->csum_partial = m->needs_csum;
        om->ipv6 = pi->ethertype == OFF_ETH_P_IPV6;
        om->nr_bufs = pkt->nr_frags ? pkt->nr_frags : 1;
}

/* Software TSO (OFF_GSO_COPY: copy and checksum in one pass) of the packet
 * at @data into gso_mem, a turn at a time; the segments are plain frames
 * with full checksums and join the uplink batch. 0 or -errno (the packet is
 * to be dropped). The segmenter checks every turn alike, so only the first
 * can fail: a packet is refused whole or sent whole. */
static int nb_tx_segment(struct nb_queue *q, const struct nb_tx_pkt *pkt, const uint8_t *data,
                         const struct off_pkt_info *pi)
{
        struct nb_tx_state *s = q->txs;
        struct off_gso_out out = {.mem = s->gso_mem,
                                  .mem_len = NB_TX_GSO_MEM,
                                  .segs = s->gso_segs,
                                  .max_segs = NB_TX_GSO_SEGS};
        uint32_t total = off_gso_seg_count(pi, pkt->gso_size), first = 0;
        int rc;

        do {
                /* The previous turn's (or packet's) segments must be gone
                 * before gso_mem is written again. */
                if (s->gso_queued)
                        nb_tx_uplink_flush(q);
                rc = off_gso_segment_from(data, pkt->total_len, pi, pkt->gso_size, first,
                                          OFF_GSO_COPY, &out);
                if (rc < 0) {
                        if (nb_ratelimit_ok(&q->rl, nb_now_ns()))
                                pv_warn(q->ctx,
                                        "dropping a tx gso packet of %u bytes, mss %u, %u header "
                                        "bytes: cannot segment it (%s)",
                                        pkt->total_len, pkt->gso_size, pi->payload_off,
                                        strerror(-rc));
                        return rc;
                }
                for (uint32_t i = 0; i < out.nsegs; i++) {
                        struct uplink_pkt *u = nb_tx_uplink_next(q);
                        memset(&u->meta, 0, sizeof(u->meta));
                        u->data = out.segs[i].hdr;
                        u->len = out.segs[i].hdr_len + out.segs[i].payload_len;
                        u->headroom = 0;
                        s->n_up++;
                        s->gso_queued = true;
                }
                q->st.tx_off.gso_sw_segs += out.nsegs;
                first += out.nsegs;
        } while (first < total);
        return 0;
}

/* One packet the grant copy put at @data: its uplink metadata, the offload
 * decision against the uplink's @caps and the software work it calls for,
 * then into the uplink batch. A packet dropped here was copied whole, so
 * its slots are still answered OKAY, as Linux xenvif_tx_submit frees an skb
 * whose checksum_setup failed after the copy. */
static void nb_tx_submit(struct nb_queue *q, const struct nb_tx_pkt *pkt, uint8_t *data,
                         unsigned caps)
{
        struct nb_tx_state *s = q->txs;
        struct uplink_meta meta;
        struct off_pkt_info pi;
        struct off_meta om;
        unsigned act;

        if (nb_tx_meta(pkt, data, pkt->total_len, &meta, &pi) < 0) {
                q->st.tx_drop_offload++;
                return;
        }
        nb_tx_off_meta(pkt, &meta, &pi, &om);
        act = off_decide(&om, caps);
        off_path_count(&q->st.tx_off, &om, act);
        if (act & OFF_ACT_DROP)
                goto drop;
        if (act & OFF_ACT_SEGMENT) {
                if (nb_tx_segment(q, pkt, data, &pi) < 0)
                        goto drop_sw;
        } else {
                struct uplink_pkt *u;
                if (act & OFF_ACT_CSUM) {
                        if (off_csum_complete_partial(data, pkt->total_len, meta.csum_start,
                                                      meta.csum_offset) < 0)
                                goto drop_sw;
                        meta.needs_csum = false;
                }
                /* OFF_ACT_LINEARIZE is free here: the grant copy already put
                 * the packet in one buffer of the arena, whatever the slots
                 * it arrived in. off_path_count counted it. */
                u = nb_tx_uplink_next(q);
                u->meta = meta;
                u->data = data;
                u->len = pkt->total_len;
                u->headroom = NB_TX_HEADROOM;
                s->n_up++;
        }
        q->st.tx_packets++;
        q->st.tx_bytes += pkt->total_len;
        return;
drop_sw:
        q->st.tx_off.dropped++;
drop:
        q->st.tx_drop_offload++;
}

static void nb_tx_respond(struct nb_queue *q, const struct nb_tx_pkt *pkt, int16_t status)
{
        int rc = nb_tx_make_responses(&q->tx, pkt, status);
        if (rc < 0 && nb_ratelimit_ok(&q->rl, nb_now_ns()))
                pv_err(q->ctx, "answering slots at %u: %s", pkt->first, strerror(-rc));
}

static const char *gntst_name(int16_t st)
{
        static const char *const names[] = {"okay",         "general_error",   "bad_domain",
                                            "bad_gntref",   "bad_handle",      "bad_virt_addr",
                                            "bad_dev_addr", "no_device_space", "permission_denied",
                                            "bad_page",     "bad_copy_arg",    "address_too_big",
                                            "eagain",       "no_space"};
        return st <= 0 && -st < (int)(sizeof(names) / sizeof(names[0])) ? names[-st] : "unknown";
}

/* Issues the batch: one grant-copy call, then metadata, uplink, responses.
 * Returns false if the guest proved rogue (queue failed). */
static bool nb_tx_flush(struct nb_queue *q)
{
        struct nb_tx_state *s = q->txs;
        unsigned caps;
        int rc = 0;

        if (s->n_pkts == 0)
                return true;
        /* Once per batch: the control thread may change it any time
         * (nb_txcaps.c), and a batch decides against one value. */
        caps = atomic_load_explicit(&q->vif->tx_caps, memory_order_relaxed);
        if (s->n_segs) {
                rc = xh_gnttab_copy(q->gt, s->n_segs, s->segs);
                q->st.tx_gcopy_calls++;
                q->st.tx_gcopy_segs += s->n_segs;
        }
        for (uint32_t i = 0; i < s->n_pkts; i++) {
                struct nb_tx_pkt *pkt = &s->pkts[i];
                int16_t status = NETIF_RSP_OKAY;
                for (uint32_t j = 0; rc == 0 && j < s->seg_count[i]; j++) {
                        const xh_copy_seg_t *seg = &s->segs[s->seg_first[i] + j];
                        if (seg->status != GNTST_okay) {
                                /* A grant the guest itself put in its ring and
                                 * cannot back: Linux answers ERROR; we treat
                                 * it as the hostile act it is. */
                                nb_tx_respond(q, pkt, NETIF_RSP_ERROR);
                                nb_queue_fail(q, "tx slot %u gref %u: grant copy %s (%d)",
                                              pkt->first + j, seg->source.foreign.ref,
                                              gntst_name(seg->status), seg->status);
                                return false;
                        }
                }
                if (rc < 0) {
                        status = NETIF_RSP_ERROR;
                        if (nb_ratelimit_ok(&q->rl, nb_now_ns()))
                                pv_err(q->ctx, "grant copy of %u segments failed: %s", s->n_segs,
                                       strerror(-rc));
                } else {
                        nb_tx_submit(q, pkt, s->arena + s->pkt_off[i], caps);
                }
                nb_tx_respond(q, pkt, status);
        }
        nb_tx_uplink_flush(q);
        nb_notify_tx_batch(q);
        s->n_pkts = 0;
        s->n_segs = 0;
        s->arena_used = 0;
        return true;
}

static void nb_tx_mcast(struct nb_queue *q, const struct nb_tx_pkt *pkt)
{
        struct nb_vif *vif = q->vif;
        int16_t status = NETIF_RSP_OKAY;
        pthread_mutex_lock(&vif->lock);
        if (pkt->mcast_add) {
                if (nb_mcast_add(&vif->mcast, pkt->mcast_addr) < 0)
                        status = NETIF_RSP_ERROR;
        } else {
                nb_mcast_del(&vif->mcast, pkt->mcast_addr);
        }
        atomic_store(&vif->mcast_count, vif->mcast.n);
        pthread_mutex_unlock(&vif->lock);
        if (status == NETIF_RSP_OKAY)
                q->st.tx_mcast_ok++;
        else
                q->st.tx_mcast_err++;
        nb_tx_respond(q, pkt, status);
}

/* The packet and its used frags only: frags[] is most of the struct and a
 * 64-byte frame uses one entry. */
static void nb_tx_pkt_copy(struct nb_tx_pkt *dst, const struct nb_tx_pkt *src)
{
        memcpy(dst, src, offsetof(struct nb_tx_pkt, frags));
        memcpy(dst->frags, src->frags, src->nr_frags * sizeof(src->frags[0]));
}

/* Adds a parsed OK packet to the batch (flushing first if it does not fit). */
static bool nb_tx_batch_add(struct nb_queue *q, struct nb_tx_pkt *pkt)
{
        struct nb_tx_state *s = q->txs;
        unsigned int need = nb_tx_copy_ops_needed(pkt);
        struct nb_tx_copy_cursor cur;
        unsigned int nr = s->n_segs;
        uint32_t i;

        if (s->n_pkts == NB_TX_BATCH_PKTS || s->n_segs + need > NB_COPY_BATCH ||
            s->arena_used + NB_TX_HEADROOM + pkt->total_len > NB_TX_ARENA) {
                if (!nb_tx_flush(q))
                        return false;
                nr = 0;
        }
        i = s->n_pkts++;
        nb_tx_pkt_copy(&s->pkts[i], pkt);
        s->pkt_off[i] = (uint32_t)(s->arena_used + NB_TX_HEADROOM);
        s->seg_first[i] = s->n_segs;
        nb_tx_copy_cursor_init(&cur);
        if (nb_tx_build_copy_ops(&s->pkts[i], q->vif->dev->fedom, s->arena + s->pkt_off[i],
                                 pkt->total_len, &cur, s->segs, NB_COPY_BATCH, &nr) < 0) {
                /* Cannot happen: room was checked. Answer rather than leak. */
                s->n_pkts--;
                nb_tx_respond(q, pkt, NETIF_RSP_ERROR);
                return true;
        }
        s->seg_count[i] = nr - s->n_segs;
        s->n_segs = nr;
        /* Keep frames 64-byte aligned in the arena (cache lines, csum loads). */
        s->arena_used += NB_TX_HEADROOM + ((pkt->total_len + 63u) & ~63u);
        return true;
}

/* Re-arms req_event past what the guest has published and looks once more
 * before sleeping: true if it published more meanwhile. Not
 * RING_FINAL_CHECK_FOR_REQUESTS, which counts unconsumed requests: the
 * slots of a packet whose rest is not published yet would count as work
 * forever. */
static bool nb_tx_wait_for_more(struct nb_queue *q, RING_IDX seen)
{
        q->tx.sring->req_event = seen + 1;
        xen_mb();
        q->tx_seen = seen;
        return q->tx.sring->req_prod != seen;
}

bool nb_tx_run(struct nb_queue *q)
{
        struct nb_tx_pkt *pkt = &q->txs->scratch;
        uint32_t done = 0;
        bool more = false;

        for (;;) {
                RING_IDX rp = q->tx.sring->req_prod;
                xen_rmb();
                if (done >= q->coal.l2_budget) {
                        more = true; /* the next pass re-arms req_event (final check) */
                        break;
                }
                enum nb_tx_verdict v = nb_tx_parse_slots(&q->tx, rp, &q->parse_cfg, pkt);
                if (v == NB_TX_EMPTY || v == NB_TX_INCOMPLETE) {
                        /* Answered before req_event is re-armed: a guest
                         * waiting for slots sees them, and L3 decides on
                         * the whole pass below. */
                        if (!nb_tx_flush(q))
                                return false;
                        RING_PUSH_RESPONSES(&q->tx);
                        if (!nb_tx_wait_for_more(q, rp))
                                break;
                        continue;
                }
                if (v == NB_TX_FATAL) {
                        char why[160];
                        nb_tx_fault_format(&pkt->fault, why, sizeof(why));
                        nb_queue_fail(q, "%s", why);
                        return false;
                }
                if (v == NB_TX_OK && q->credit.limited) {
                        uint64_t wake;
                        if (!nb_credit_take(&q->credit, nb_now_ns(), pkt->total_len, &wake)) {
                                q->st.tx_credit_waits++;
                                if (!q->credit_armed) {
                                        nb_timer_arm(q->credit_fd, wake);
                                        q->credit_armed = true;
                                }
                                break; /* the timer resumes us */
                        }
                }
                nb_tx_consume(&q->tx, pkt);
                done++;
                switch (v) {
                case NB_TX_OK:
                        if (!nb_tx_batch_add(q, pkt))
                                return false;
                        break;
                case NB_TX_MCAST:
                        nb_tx_mcast(q, pkt);
                        break;
                case NB_TX_DROP:
                default:
                        q->st.tx_drop_parse++;
                        if (nb_ratelimit_ok(&q->rl, nb_now_ns())) {
                                char why[160];
                                nb_tx_fault_format(&pkt->fault, why, sizeof(why));
                                pv_warn(q->ctx, "dropping a tx packet: %s", why);
                        }
                        nb_tx_respond(q, pkt, NETIF_RSP_ERROR);
                        break;
                }
        }
        if (!nb_tx_flush(q))
                return false;
        /* Nothing left, the budget ran out (more), or the rate limiter's
         * timer resumes the queue later. One L3 decision per pass. */
        nb_notify_tx(q, done, more);
        return more;
}
