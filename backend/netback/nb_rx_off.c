/* Implementation of nb_rx_off.h. */
#include "netback/nb_rx_off.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "offload/off_bytes.h"

unsigned nb_rx_guest_caps(const struct nb_fe_cfg *cfg)
{
        unsigned caps = 0;

        if (cfg->csum_ipv4)
                caps |= OFF_CAP_CSUM4;
        if (cfg->csum_ipv6)
                caps |= OFF_CAP_CSUM6;
        if (cfg->sg)
                caps |= OFF_CAP_SG;
        /* A GSO packet always leaves with a partial checksum; Linux
         * (netdev_fix_features) drops NETIF_F_TSO without IP_CSUM and TSO6
         * without IPV6_CSUM, so such a guest gets segments, never GSO.
         * nb_fe_parse already tied GSO to SG. */
        if (cfg->gso_tcpv4 && cfg->csum_ipv4)
                caps |= OFF_CAP_TSO4;
        if (cfg->gso_tcpv6 && cfg->csum_ipv6)
                caps |= OFF_CAP_TSO6;
        return caps;
}

/* The ethertype after at most one 802.1Q tag, and where L3 starts. */
static uint16_t nb_rx_ethertype(const uint8_t *frame, uint32_t len, uint32_t *l3)
{
        uint16_t type;

        if (len < OFF_ETH_HLEN)
                return 0;
        type = off_get_be16(frame + 12);
        *l3 = OFF_ETH_HLEN;
        if (type == OFF_ETH_P_8021Q) {
                if (len < OFF_ETH_HLEN + OFF_VLAN_HLEN)
                        return 0;
                type = off_get_be16(frame + 16);
                *l3 = OFF_ETH_HLEN + OFF_VLAN_HLEN;
        }
        return type;
}

void nb_rx_off_meta(const struct uplink_meta *um, const uint8_t *frame, uint32_t len,
                    uint32_t nr_bufs, struct off_meta *m)
{
        uint32_t l3;

        switch (um->gso) {
        case UPLINK_GSO_NONE:
                m->gso = OFF_GSO_KIND_NONE;
                break;
        case UPLINK_GSO_TCPV4:
                m->gso = OFF_GSO_KIND_TCP4;
                break;
        case UPLINK_GSO_TCPV6:
                m->gso = OFF_GSO_KIND_TCP6;
                break;
        default:
                m->gso = OFF_GSO_KIND_OTHER;
                break;
        }
        m->csum_partial = um->needs_csum;
        if (m->gso == OFF_GSO_KIND_TCP4 || m->gso == OFF_GSO_KIND_TCP6)
                m->ipv6 = m->gso == OFF_GSO_KIND_TCP6;
        else
                m->ipv6 = nb_rx_ethertype(frame, len, &l3) == OFF_ETH_P_IPV6;
        m->nr_bufs = nr_bufs ? nr_bufs : 1;
}

int nb_rx_segment_check(const uint8_t *frame, uint32_t len, const struct uplink_meta *um,
                        struct off_pkt_info *pi)
{
        uint16_t want = um->gso == UPLINK_GSO_TCPV4 ? OFF_ETH_P_IPV4 : OFF_ETH_P_IPV6;

        if (um->gso != UPLINK_GSO_TCPV4 && um->gso != UPLINK_GSO_TCPV6)
                return -EINVAL;
        if (off_parse(frame, len, OFF_PARSE_GSO, pi) != 0 || !(pi->flags & OFF_PKT_L4) ||
            (pi->flags & OFF_PKT_FRAGMENT) || pi->l4_proto != IPPROTO_TCP || pi->ethertype != want)
                return -EINVAL;
        if (um->gso_size < OFF_GSO_MSS_MIN)
                return -ERANGE;
        return 0;
}

/* A turn always makes progress: one segment of the largest frame fits. */
_Static_assert(NB_RX_GSO_MEM >= UPLINK_MAX_FRAME, "a segment fits the scratch");

int nb_rx_segment(const uint8_t *frame, uint32_t len, const struct off_pkt_info *pi, uint16_t mss,
                  uint32_t first, struct off_gso_out *go, const struct nb_rx_pkt *tmpl,
                  struct nb_rx_pkt *out, uint32_t max)
{
        struct off_gso_out turn = *go;
        int rc;

        if (turn.max_segs > max)
                turn.max_segs = max;
        rc = off_gso_segment_from(frame, len, pi, mss, first, OFF_GSO_COPY, &turn);
        if (rc < 0)
                return rc;
        go->nsegs = turn.nsegs;
        go->mem_used = turn.mem_used;
        for (uint32_t i = 0; i < go->nsegs; i++) {
                const struct off_gso_seg *seg = &go->segs[i];
                struct nb_rx_pkt *r = &out[i];

                *r = *tmpl;
                r->data = seg->hdr;
                r->len = seg->hdr_len + seg->payload_len;
                r->gso_type = XEN_NETIF_GSO_TYPE_NONE;
                r->gso_size = 0;
                r->csum = NB_RX_CSUM_UNNECESSARY;
        }
        return (int)go->nsegs;
}

bool nb_rx_lro_candidate(const uint8_t *frame, uint32_t len, unsigned caps)
{
        uint32_t l3 = 0;
        uint16_t type = nb_rx_ethertype(frame, len, &l3);

        if (type == OFF_ETH_P_IPV4)
                return (caps & OFF_CAP_TSO4) && len >= l3 + OFF_IPV4_MIN_HLEN &&
                       frame[l3 + 9] == IPPROTO_TCP;
        if (type == OFF_ETH_P_IPV6 && (caps & OFF_CAP_TSO6) && len >= l3 + OFF_IPV6_HLEN) {
                uint8_t next = frame[l3 + 6];
                return next == IPPROTO_TCP || next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
                       next == IPPROTO_DSTOPTS || next == IPPROTO_AH;
        }
        return false;
}

uint32_t nb_rx_lro_rx(const struct uplink_meta *um)
{
        uint32_t rx = OFF_LRO_RX_CSUM_NONE;

        if (um->needs_csum)
                rx = OFF_LRO_RX_CSUM_PARTIAL;
        else if (um->data_valid)
                rx = OFF_LRO_RX_CSUM_VALID;
        if (um->gso != UPLINK_GSO_NONE)
                rx |= OFF_LRO_RX_GSO;
        return rx;
}

void nb_rx_pkt_from_lro(const struct off_lro_pkt *p, struct nb_rx_pkt *r)
{
        memset(r, 0, sizeof(*r));
        r->data = p->data;
        r->len = (uint32_t)p->len;
        if (p->gso_segs > 1 && p->gso_type != OFF_LRO_GSO_NONE) {
                /* FIXEDID has no netif flag: the guest's stack re-segments
                 * with incrementing IDs, which RFC 6864 allows for atomic
                 * datagrams. */
                r->gso_type = p->gso_type == OFF_LRO_GSO_TCPV4 ? XEN_NETIF_GSO_TYPE_TCPV4
                                                               : XEN_NETIF_GSO_TYPE_TCPV6;
                r->gso_size = p->gso_size;
        }
        switch (p->csum) {
        case OFF_LRO_CSUM_PARTIAL:
                r->csum = NB_RX_CSUM_PARTIAL;
                break;
        case OFF_LRO_CSUM_VALID:
                r->csum = NB_RX_CSUM_UNNECESSARY;
                break;
        default:
                /* Not verified, or known bad: the guest checks it itself. */
                r->csum = NB_RX_CSUM_NONE;
                break;
        }
}

enum off_lro_reason nb_rx_lro_pass_end(const struct nb_rx_lro_hold *h)
{
        if (!h->l3_holding || !h->l3_deadline)
                return OFF_LRO_R_BATCH;
        if (h->now >= h->lro_deadline)
                return OFF_LRO_R_AGE;
        if (h->now >= h->l3_deadline)
                return OFF_LRO_R_HOLD_END;
        return OFF_LRO_R_NONE;
}

uint64_t nb_rx_lro_wake_at(const struct nb_rx_lro_hold *h)
{
        if (nb_rx_lro_pass_end(h) != OFF_LRO_R_NONE)
                return 0;
        return h->lro_deadline < h->l3_deadline ? h->lro_deadline : h->l3_deadline;
}

void nb_rx_off_format(const struct off_path_stats *o, const struct off_lro_stats *l, char *buf,
                      size_t len)
{
        uint64_t flushes = 0;

        for (unsigned i = 0; i < OFF_LRO_R_COUNT; i++)
                flushes += l->flush[i];
        snprintf(buf, len,
                 "rx offload gso_pass %" PRIu64 " gso_sw %" PRIu64 " gso_sw_segs %" PRIu64
                 " csum_pass %" PRIu64 " csum_sw %" PRIu64 " linearized %" PRIu64
                 " dropped %" PRIu64 "; lro frames %" PRIu64 " merged %" PRIu64 " gso_out %" PRIu64
                 " single_out %" PRIu64 " flushes %" PRIu64 " (batch %" PRIu64 " hold_end %" PRIu64
                 " age %" PRIu64 " size %" PRIu64 " psh %" PRIu64 " short %" PRIu64
                 ") hold_max_us %" PRIu64,
                 o->gso_pass, o->gso_sw, o->gso_sw_segs, o->csum_pass, o->csum_sw, o->linearized,
                 o->dropped, l->frames, l->merged, l->gso_out, l->single_out, flushes,
                 l->flush[OFF_LRO_R_BATCH], l->flush[OFF_LRO_R_HOLD_END], l->flush[OFF_LRO_R_AGE],
                 l->flush[OFF_LRO_R_SIZE], l->flush[OFF_LRO_R_PSH], l->flush[OFF_LRO_R_SHORT],
                 l->hold_ns_max / 1000);
}
