/* Guest TX parsing: the checks of Linux xenvif_tx_build_gops(),
 * xenvif_get_extras() and xenvif_count_requests(), in their order, over a local
 * copy of each slot (the guest may rewrite a slot while we look at it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nb_tx_parse.h"

/* Where the parser is in the ring. `avail` already excludes slots the guest
 * has no right to publish yet (XEN_RING_NR_UNCONSUMED_REQUESTS semantics). */
struct nb_tx_cursor {
        const netif_tx_back_ring_t *ring;
        RING_IDX next;
        uint32_t avail;
};

/* Extras seen so far; Linux keeps one per type, the last one wins. */
struct nb_tx_extras {
        bool gso_seen;
        uint32_t gso_slot;
        bool add_seen, del_seen;
        uint32_t add_slot, del_slot;
        uint8_t add_addr[6], del_addr[6];
};

/* An extra-info slot is read through a tx request copy. */
_Static_assert(sizeof(struct netif_extra_info) <= sizeof(netif_tx_request_t),
               "extra info fits a tx slot");

void nb_tx_parse_cfg_default(struct nb_tx_parse_cfg *cfg)
{
        cfg->max_slots = NB_TX_LEGACY_SLOTS_MAX;
        cfg->fatal_slots = NB_TX_FATAL_SLOTS_DEFAULT;
        cfg->partial_is_fatal = false;
}

int nb_tx_parse_cfg_check(const struct nb_tx_parse_cfg *cfg)
{
        /* Below XEN_NETIF_NR_SLOTS_MIN we would refuse what every frontend may
         * send; Linux likewise forces fatal_skb_slots >= the legacy limit. */
        if (cfg->max_slots < NB_TX_LEGACY_SLOTS_MAX || cfg->fatal_slots < cfg->max_slots ||
            cfg->fatal_slots > NB_TX_FATAL_SLOTS_CAP)
                return -EINVAL;
        return 0;
}

static uint32_t nb_tx_work(const netif_tx_back_ring_t *ring, RING_IDX req_prod)
{
        uint32_t req = req_prod - ring->req_cons;
        uint32_t unanswered = ring->req_cons - ring->rsp_prod_pvt;
        uint32_t room = unanswered <= RING_SIZE(ring) ? RING_SIZE(ring) - unanswered : 0;

        return req < room ? req : room;
}

/* Copies the next slot once; false when none is published. */
static bool nb_tx_next(struct nb_tx_cursor *c, netif_tx_request_t *out)
{
        if (c->avail == 0)
                return false;
        RING_COPY_REQUEST(c->ring, c->next, out);
        c->next++;
        c->avail--;
        return true;
}

/* Position of the next slot inside the packet (0 = first slot). */
static uint32_t nb_tx_pos(const struct nb_tx_cursor *c, const struct nb_tx_pkt *pkt)
{
        return c->next - pkt->first;
}

static enum nb_tx_verdict nb_tx_set(struct nb_tx_pkt *pkt, enum nb_tx_verdict v,
                                    enum nb_tx_reason r, uint32_t slot, uint32_t a, uint32_t b)
{
        pkt->verdict = v;
        pkt->fault.reason = r;
        pkt->fault.slot = slot;
        pkt->fault.a = a;
        pkt->fault.b = b;
        if (v == NB_TX_FATAL || v == NB_TX_INCOMPLETE || v == NB_TX_EMPTY)
                pkt->nr_slots = 0;
        return v;
}

/* The packet continues past what is published. Linux treats that as fatal
 * ("Missing extra info", "Asked for %d slots"); FreeBSD waits for the rest.
 * Waiting is only sound while the guest can still publish more, i.e. while the
 * packet does not already span the whole ring. */
static enum nb_tx_verdict nb_tx_short(const struct nb_tx_cursor *c,
                                      const struct nb_tx_parse_cfg *cfg, struct nb_tx_pkt *pkt,
                                      enum nb_tx_reason r)
{
        uint32_t seen = nb_tx_pos(c, pkt);

        if (cfg->partial_is_fatal || seen >= RING_SIZE(c->ring))
                return nb_tx_set(pkt, NB_TX_FATAL, r, seen, seen, RING_SIZE(c->ring));
        return nb_tx_set(pkt, NB_TX_INCOMPLETE, r, seen, seen, 0);
}

static bool nb_tx_hash_type_known(uint8_t type)
{
        /* Linux netback sets skb->hash only for these; others are ignored. */
        return type == _XEN_NETIF_CTRL_HASH_TYPE_IPV4 ||
               type == _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP ||
               type == _XEN_NETIF_CTRL_HASH_TYPE_IPV6 || type == _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
}

static uint32_t nb_le32(const uint8_t b[4])
{
        return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void nb_tx_store_extra(struct nb_tx_pkt *pkt, struct nb_tx_extras *ex,
                              const struct netif_extra_info *e, uint32_t slot)
{
        switch (e->type) {
        case XEN_NETIF_EXTRA_TYPE_GSO:
                ex->gso_seen = true;
                ex->gso_slot = slot;
                pkt->gso_type = e->u.gso.type;
                pkt->gso_size = e->u.gso.size;
                pkt->gso_features = e->u.gso.features;
                break;
        case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
                ex->add_seen = true;
                ex->add_slot = slot;
                memcpy(ex->add_addr, e->u.mcast.addr, sizeof(ex->add_addr));
                break;
        case XEN_NETIF_EXTRA_TYPE_MCAST_DEL:
                ex->del_seen = true;
                ex->del_slot = slot;
                memcpy(ex->del_addr, e->u.mcast.addr, sizeof(ex->del_addr));
                break;
        case XEN_NETIF_EXTRA_TYPE_HASH:
                pkt->has_hash = nb_tx_hash_type_known(e->u.hash.type);
                pkt->hash_type = e->u.hash.type;
                pkt->hash_alg = e->u.hash.algorithm;
                pkt->hash_value = nb_le32(e->u.hash.value);
                break;
        case NB_EXTRA_TYPE_XDP:
                /* u.xdp.headroom is the union's first u16 (Linux netif.h). */
                pkt->has_xdp = true;
                pkt->xdp_headroom = e->u.pad[0];
                break;
        }
}

/* Linux xenvif_get_extras(): a chain linked by XEN_NETIF_EXTRA_FLAG_MORE. */
static enum nb_tx_verdict nb_tx_read_extras(struct nb_tx_cursor *c,
                                            const struct nb_tx_parse_cfg *cfg,
                                            struct nb_tx_pkt *pkt, struct nb_tx_extras *ex)
{
        netif_tx_request_t slot;
        struct netif_extra_info e;

        do {
                uint32_t pos = nb_tx_pos(c, pkt);

                if (!nb_tx_next(c, &slot))
                        return nb_tx_short(c, cfg, pkt, NB_TX_R_EXTRA_MISSING);
                memcpy(&e, &slot, sizeof(e));
                pkt->nr_extras++;
                if (e.type == XEN_NETIF_EXTRA_TYPE_NONE || e.type >= NB_EXTRA_TYPE_MAX)
                        return nb_tx_set(pkt, NB_TX_FATAL, NB_TX_R_EXTRA_TYPE, pos, e.type,
                                         NB_EXTRA_TYPE_MAX);
                nb_tx_store_extra(pkt, ex, &e, pos);
        } while (e.flags & XEN_NETIF_EXTRA_FLAG_MORE);
        return NB_TX_OK;
}

/* A request carrying MCAST_ADD/DEL is a dummy (Linux checks ADD first). Like
 * Linux, only the first slot and its extras are consumed, even if the first
 * slot claims more_data. */
static enum nb_tx_verdict nb_tx_mcast(struct nb_tx_pkt *pkt, const struct nb_tx_extras *ex)
{
        bool add = ex->add_seen;

        pkt->mcast_add = add;
        pkt->mcast_del = !add;
        memcpy(pkt->mcast_addr, add ? ex->add_addr : ex->del_addr, sizeof(pkt->mcast_addr));
        pkt->nr_frags = 1;
        pkt->nr_slots = 1 + pkt->nr_extras;
        return nb_tx_set(pkt, NB_TX_MCAST, add ? NB_TX_R_MCAST_ADD : NB_TX_R_MCAST_DEL,
                         add ? ex->add_slot : ex->del_slot, 0, 0);
}

/* Linux xenvif_count_requests(): the data slots after the first. Every slot is
 * kept (ids are needed to answer a drop); the size checks stop at the first
 * drop reason, the page check never does. */
static enum nb_tx_verdict nb_tx_read_frags(struct nb_tx_cursor *c,
                                           const struct nb_tx_parse_cfg *cfg, struct nb_tx_pkt *pkt)
{
        uint16_t remaining = pkt->total_len;
        bool drop = false;
        uint32_t n = 0;
        netif_tx_request_t txp;

        do {
                uint32_t pos = nb_tx_pos(c, pkt);

                if (n >= cfg->fatal_slots)
                        return nb_tx_set(pkt, NB_TX_FATAL, NB_TX_R_SLOTS_FATAL, pos, n + 1,
                                         cfg->fatal_slots);
                if (!drop && n >= cfg->max_slots) {
                        drop = true;
                        nb_tx_set(pkt, NB_TX_DROP, NB_TX_R_SLOTS_DROP, pos, n + 1, cfg->max_slots);
                }
                if (!nb_tx_next(c, &txp))
                        return nb_tx_short(c, cfg, pkt, NB_TX_R_DATA_MISSING);
                /* n < fatal_slots <= NB_TX_FATAL_SLOTS_CAP: 1 + n is in bounds. */
                pkt->frags[1 + n] = (struct nb_tx_frag){
                    .gref = txp.gref, .offset = txp.offset, .len = txp.size, .id = txp.id};
                /* A frame >= 64 KiB overflows slot 1's size, so a later slot looks
                 * larger than the frame. Buggy frontends do this: drop, not fatal. */
                if (!drop && txp.size > remaining) {
                        drop = true;
                        nb_tx_set(pkt, NB_TX_DROP, NB_TX_R_FRAG_TOO_BIG, pos, txp.size, remaining);
                }
                remaining -= txp.size;
                n++;
                if ((uint32_t)txp.offset + txp.size > NB_PAGE_SIZE)
                        return nb_tx_set(pkt, NB_TX_FATAL, NB_TX_R_CROSS_PAGE, pos,
                                         (uint32_t)txp.offset + txp.size, NB_PAGE_SIZE);
        } while (txp.flags & NETTXF_more_data);

        pkt->nr_frags = 1 + n;
        pkt->frags[0].len = remaining;
        if (drop) {
                pkt->nr_slots = nb_tx_pos(c, pkt);
                return NB_TX_DROP;
        }
        return NB_TX_OK;
}

/* The checks Linux makes once the slots are counted, in its order. */
static enum nb_tx_verdict nb_tx_finish(const struct nb_tx_cursor *c, struct nb_tx_pkt *pkt,
                                       const struct nb_tx_extras *ex)
{
        const struct nb_tx_frag *f0 = &pkt->frags[0];

        pkt->nr_slots = nb_tx_pos(c, pkt);
        /* Linux compares slot 1's own length (its linear area) with ETH_HLEN;
         * we copy the whole frame into one buffer, so the total is what counts
         * and a header split over tiny slots is fine. */
        if (pkt->total_len < NB_ETH_HLEN)
                return nb_tx_set(pkt, NB_TX_DROP, NB_TX_R_RUNT, 0, pkt->total_len, NB_ETH_HLEN);
        if ((uint32_t)f0->offset + f0->len > NB_PAGE_SIZE)
                return nb_tx_set(pkt, NB_TX_FATAL, NB_TX_R_CROSS_PAGE, 0,
                                 (uint32_t)f0->offset + f0->len, NB_PAGE_SIZE);
        if (ex->gso_seen) {
                /* Linux xenvif_set_skb_gso(): both failures are fatal. */
                if (pkt->gso_size == 0)
                        return nb_tx_set(pkt, NB_TX_FATAL, NB_TX_R_GSO_SIZE, ex->gso_slot, 0, 0);
                if (pkt->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 &&
                    pkt->gso_type != XEN_NETIF_GSO_TYPE_TCPV6)
                        return nb_tx_set(pkt, NB_TX_FATAL, NB_TX_R_GSO_TYPE, ex->gso_slot,
                                         pkt->gso_type, 0);
                pkt->has_gso = true;
        }
        return nb_tx_set(pkt, NB_TX_OK, NB_TX_R_NONE, 0, 0, 0);
}

static void nb_tx_pkt_reset(struct nb_tx_pkt *pkt, RING_IDX first)
{
        /* The slot array is written before it is read; clearing it per packet
         * would cost more than the parse. */
        memset(pkt, 0, offsetof(struct nb_tx_pkt, frags));
        pkt->first = first;
}

enum nb_tx_verdict nb_tx_parse_slots(const netif_tx_back_ring_t *ring, RING_IDX req_prod,
                                     const struct nb_tx_parse_cfg *cfg, struct nb_tx_pkt *pkt)
{
        struct nb_tx_cursor c = {.ring = ring, .next = ring->req_cons};
        struct nb_tx_extras ex = {0};
        uint32_t pending = req_prod - ring->req_cons;
        netif_tx_request_t first;
        enum nb_tx_verdict v;

        nb_tx_pkt_reset(pkt, ring->req_cons);
        /* Linux: "Impossible number of requests" - the guest moved req_prod
         * further than a ring can hold. */
        if (pending > RING_SIZE(ring))
                return nb_tx_set(pkt, NB_TX_FATAL, NB_TX_R_RING_OVERFLOW, 0, pending,
                                 RING_SIZE(ring));
        c.avail = nb_tx_work(ring, req_prod);
        if (!nb_tx_next(&c, &first))
                return nb_tx_set(pkt, NB_TX_EMPTY, NB_TX_R_NONE, 0, 0, 0);

        pkt->total_len = first.size;
        pkt->csum_blank = first.flags & NETTXF_csum_blank;
        pkt->data_validated = first.flags & NETTXF_data_validated;
        pkt->frags[0] = (struct nb_tx_frag){
            .gref = first.gref, .offset = first.offset, .len = first.size, .id = first.id};
        pkt->nr_frags = 1;

        if (first.flags & NETTXF_extra_info) {
                v = nb_tx_read_extras(&c, cfg, pkt, &ex);
                if (v != NB_TX_OK)
                        return v;
        }
        if (ex.add_seen || ex.del_seen)
                return nb_tx_mcast(pkt, &ex);
        if (first.flags & NETTXF_more_data) {
                v = nb_tx_read_frags(&c, cfg, pkt);
                if (v != NB_TX_OK)
                        return v;
        }
        return nb_tx_finish(&c, pkt, &ex);
}

const char *nb_tx_verdict_name(enum nb_tx_verdict v)
{
        switch (v) {
        case NB_TX_EMPTY:
                return "empty";
        case NB_TX_OK:
                return "ok";
        case NB_TX_MCAST:
                return "mcast";
        case NB_TX_DROP:
                return "drop";
        case NB_TX_INCOMPLETE:
                return "incomplete";
        case NB_TX_FATAL:
                return "fatal";
        }
        return "?";
}

const char *nb_tx_reason_name(enum nb_tx_reason r)
{
        switch (r) {
        case NB_TX_R_NONE:
                return "none";
        case NB_TX_R_RING_OVERFLOW:
                return "ring-overflow";
        case NB_TX_R_EXTRA_TYPE:
                return "extra-type";
        case NB_TX_R_EXTRA_MISSING:
                return "extra-missing";
        case NB_TX_R_DATA_MISSING:
                return "data-missing";
        case NB_TX_R_SLOTS_FATAL:
                return "slots-fatal";
        case NB_TX_R_CROSS_PAGE:
                return "cross-page";
        case NB_TX_R_GSO_SIZE:
                return "gso-size";
        case NB_TX_R_GSO_TYPE:
                return "gso-type";
        case NB_TX_R_SLOTS_DROP:
                return "slots-drop";
        case NB_TX_R_FRAG_TOO_BIG:
                return "frag-too-big";
        case NB_TX_R_RUNT:
                return "runt";
        case NB_TX_R_MCAST_ADD:
                return "mcast-add";
        case NB_TX_R_MCAST_DEL:
                return "mcast-del";
        }
        return "?";
}

int nb_tx_fault_format(const struct nb_tx_fault *f, char *buf, size_t len)
{
        uint32_t s = f->slot, a = f->a, b = f->b;

        switch (f->reason) {
        case NB_TX_R_NONE:
                return snprintf(buf, len, "no fault");
        case NB_TX_R_RING_OVERFLOW:
                return snprintf(buf, len, "req_prod - req_cons = %u > ring size %u", a, b);
        case NB_TX_R_EXTRA_TYPE:
                return snprintf(buf, len, "slot %u extra type %u invalid (max %u)", s, a, b);
        case NB_TX_R_EXTRA_MISSING:
                return snprintf(buf, len, "slot %u extra info chain runs past %u published slots",
                                s, a);
        case NB_TX_R_DATA_MISSING:
                return snprintf(buf, len, "slot %u more_data runs past %u published slots", s, a);
        case NB_TX_R_SLOTS_FATAL:
                return snprintf(buf, len, "slot %u: %u slots after the first > fatal limit %u", s,
                                a, b);
        case NB_TX_R_CROSS_PAGE:
                return snprintf(buf, len, "slot %u offset+size %u > %u", s, a, b);
        case NB_TX_R_GSO_SIZE:
                return snprintf(buf, len, "slot %u GSO size 0", s);
        case NB_TX_R_GSO_TYPE:
                return snprintf(buf, len, "slot %u GSO type %u unknown", s, a);
        case NB_TX_R_SLOTS_DROP:
                return snprintf(buf, len, "slot %u: %u slots after the first > limit %u", s, a, b);
        case NB_TX_R_FRAG_TOO_BIG:
                return snprintf(buf, len, "slot %u size %u > remaining %u", s, a, b);
        case NB_TX_R_RUNT:
                return snprintf(buf, len, "packet size %u < %u", a, b);
        case NB_TX_R_MCAST_ADD:
                return snprintf(buf, len, "slot %u multicast add", s);
        case NB_TX_R_MCAST_DEL:
                return snprintf(buf, len, "slot %u multicast del", s);
        }
        return snprintf(buf, len, "unknown fault %d", (int)f->reason);
}
