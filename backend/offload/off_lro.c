/* Core of the merger: the bounded flow table (hash chains + an age list),
 * the TCP merge rules of Linux tcp_gro_receive(), and emission of held
 * packets with tcp_gro_complete() metadata. IP-version details live in
 * off_lro_tcp4.c and off_lro_tcp6.c; this file knows no IP header layout. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>

#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_lro_internal.h"

#define TCP_PORTS_OFF    0
#define TCP_SEQ_OFF      4
#define TCP_ACK_OFF      8
#define TCP_FLAGWORD_OFF 12 /* data offset, reserved, flags, window */
#define TCP_FLAGS_OFF    13
#define TCP_CHECK_OFF    16
#define FW_DOFF          0xF0000000u
#define FW_FLAG(f)       ((uint32_t)(f) << 16)
#define BUF_ALIGN        64u
#define HASH_MUL         0x9E3779B1u /* golden ratio: spreads the key words over the bits */
#define BUFS_MAX         (OFF_LRO_FLOWS_MAX + 1u + OFF_LRO_LEND_MAX)

struct off_lro {
        struct off_lro_config cfg;
        uint8_t *mem;
        size_t buf_stride;
        uint32_t bucket_mask;
        uint8_t oldest, newest;
        uint32_t held;
        uint32_t nfree_flows, nfree_bufs;
        uint8_t free_flows[OFF_LRO_FLOWS_MAX];
        uint8_t free_bufs[BUFS_MAX];
        /* Buffers of emitted packets, oldest first: the caller reads them
         * until its next call (lend 0) or until it releases them. */
        uint32_t lent_head, nlent;
        uint8_t lent[BUFS_MAX];
        uint8_t bucket[2 * OFF_LRO_FLOWS_MAX];
        struct off_lro_flow flows[OFF_LRO_FLOWS_MAX];
        struct off_lro_stats stats;
};

struct lro_key {
        uint32_t hash, vlan_key, ports;
        const uint8_t *addrs;
        const struct off_lro_l3_ops *ops;
};

/* ---- setup ---- */

static int config_resolve(const struct off_lro_config *in, struct off_lro_config *cfg)
{
        struct off_lro_config c = in ? *in : (struct off_lro_config){0};
        if (!c.max_flows)
                c.max_flows = OFF_LRO_FLOWS_DEFAULT;
        if (!c.max_size)
                c.max_size = OFF_LRO_MAX_SIZE;
        if (!c.max_age_ns)
                c.max_age_ns = OFF_LRO_AGE_DEFAULT_NS;
        /* Below Ethernet MTU-sized L3 packets nothing could ever merge. */
        if (c.max_flows > OFF_LRO_FLOWS_MAX || c.max_size > OFF_LRO_MAX_SIZE ||
            c.lend > OFF_LRO_LEND_MAX || c.max_size < OFF_IPV4_MIN_HLEN + OFF_TCP_MIN_HLEN + 2u)
                return -EINVAL;
        *cfg = c;
        return 0;
}

int off_lro_create(const struct off_lro_config *cfg, struct off_lro **out)
{
        struct off_lro_config c;
        if (!out || config_resolve(cfg, &c))
                return -EINVAL;
        struct off_lro *lro = calloc(1, sizeof(*lro));
        if (!lro)
                return -ENOMEM;
        lro->cfg = c;
        lro->buf_stride = (OFF_LRO_FRAME_MAX + BUF_ALIGN - 1) / BUF_ALIGN * BUF_ALIGN;
        uint32_t nbufs = c.max_flows + 1 + c.lend;
        lro->mem = aligned_alloc(BUF_ALIGN, lro->buf_stride * nbufs);
        if (!lro->mem) {
                free(lro);
                return -ENOMEM;
        }
        uint32_t nb = 1;
        while (nb < 2 * c.max_flows)
                nb <<= 1;
        lro->bucket_mask = nb - 1;
        memset(lro->bucket, OFF_LRO_NIL, sizeof(lro->bucket));
        lro->oldest = lro->newest = OFF_LRO_NIL;
        for (uint32_t i = 0; i < c.max_flows; i++)
                lro->free_flows[lro->nfree_flows++] = (uint8_t)(c.max_flows - 1 - i);
        /* Lowest first out: the same few buffers (and pages) are reused. */
        for (uint32_t i = 0; i < nbufs; i++)
                lro->free_bufs[lro->nfree_bufs++] = (uint8_t)(nbufs - 1 - i);
        *out = lro;
        return 0;
}

void off_lro_destroy(struct off_lro *lro)
{
        if (!lro)
                return;
        free(lro->mem);
        free(lro);
}

uint32_t off_lro_out_max(const struct off_lro *lro)
{
        return lro ? lro->cfg.max_flows + 1 : 0;
}

uint32_t off_lro_held(const struct off_lro *lro)
{
        return lro ? lro->held : 0;
}

uint32_t off_lro_lent(const struct off_lro *lro)
{
        return lro ? lro->nlent : 0;
}

uint32_t off_lro_release(struct off_lro *lro, uint32_t n)
{
        uint32_t done = 0;
        if (!lro)
                return 0;
        while (done < n && lro->nlent) {
                lro->free_bufs[lro->nfree_bufs++] = lro->lent[lro->lent_head];
                lro->lent_head = (lro->lent_head + 1) % BUFS_MAX;
                lro->nlent--;
                done++;
        }
        return done;
}

const struct off_lro_stats *off_lro_get_stats(const struct off_lro *lro)
{
        return lro ? &lro->stats : NULL;
}

/* ---- the table ---- */

static uint32_t hash_word(uint32_t h, uint32_t w)
{
        h = (h ^ w) * HASH_MUL;
        return h ^ (h >> 16);
}

static void key_of(const uint8_t *frame, const struct off_pkt_info *pi,
                   const struct off_lro_l3_ops *ops, struct lro_key *k)
{
        k->ops = ops;
        k->addrs = frame + pi->l3_off + ops->addrs_off;
        memcpy(&k->ports, frame + pi->l4_off + TCP_PORTS_OFF, sizeof(k->ports));
        k->vlan_key = (pi->flags & OFF_PKT_VLAN) ? OFF_LRO_VLAN_PRESENT | pi->vlan_tci : 0;
        uint32_t h = hash_word(ops->ethertype, k->vlan_key);
        h = hash_word(h, k->ports);
        for (uint32_t i = 0; i < ops->addrs_len; i += sizeof(uint32_t)) {
                uint32_t w;
                memcpy(&w, k->addrs + i, sizeof(w));
                h = hash_word(h, w);
        }
        k->hash = h;
}

static int key_match(const struct off_lro_flow *f, const struct lro_key *k)
{
        return f->hash == k->hash && f->ops == k->ops && f->vlan_key == k->vlan_key &&
               f->ports == k->ports && memcmp(f->addrs, k->addrs, k->ops->addrs_len) == 0;
}

static struct off_lro_flow *lookup(struct off_lro *lro, const struct lro_key *k)
{
        for (uint8_t i = lro->bucket[k->hash & lro->bucket_mask]; i != OFF_LRO_NIL;
             i = lro->flows[i].hnext)
                if (key_match(&lro->flows[i], k))
                        return &lro->flows[i];
        return NULL;
}

static void link_flow(struct off_lro *lro, uint8_t idx)
{
        struct off_lro_flow *f = &lro->flows[idx];
        uint8_t *head = &lro->bucket[f->hash & lro->bucket_mask];
        f->hnext = *head;
        *head = idx;
        f->older = lro->newest;
        f->newer = OFF_LRO_NIL;
        if (lro->newest != OFF_LRO_NIL)
                lro->flows[lro->newest].newer = idx;
        else
                lro->oldest = idx;
        lro->newest = idx;
        lro->held++;
}

static void unlink_flow(struct off_lro *lro, uint8_t idx)
{
        struct off_lro_flow *f = &lro->flows[idx];
        uint8_t *pp = &lro->bucket[f->hash & lro->bucket_mask];
        while (*pp != idx)
                pp = &lro->flows[*pp].hnext;
        *pp = f->hnext;
        if (f->older != OFF_LRO_NIL)
                lro->flows[f->older].newer = f->newer;
        else
                lro->oldest = f->newer;
        if (f->newer != OFF_LRO_NIL)
                lro->flows[f->newer].older = f->older;
        else
                lro->newest = f->older;
        lro->lent[(lro->lent_head + lro->nlent++) % BUFS_MAX] = f->buf_idx;
        lro->free_flows[lro->nfree_flows++] = idx;
        lro->held--;
}

/* ---- emission ---- */

static struct off_lro_pkt *next_pkt(struct off_lro_out *out)
{
        struct off_lro_pkt *p = &out->pkts[out->n++];
        memset(p, 0, sizeof(*p));
        p->gso_segs = 1;
        return p;
}

static void set_partial(struct off_lro_pkt *p, const struct off_pkt_info *pi)
{
        p->csum = OFF_LRO_CSUM_PARTIAL;
        p->csum_start = pi->l4_off;
        p->csum_offset = TCP_CHECK_OFF;
}

/* tcp[46]_gro_complete: lengths for the whole packet, the checksum field
 * seeded with the pseudo-header sum and CHECKSUM_PARTIAL, so the guest (or
 * the segmenter, if the packet is re-segmented) finishes it: summing 64 KiB
 * here would be wasted work for a guest that trusts data_validated. */
static void finish_merged(struct off_lro_flow *f, struct off_lro_pkt *p)
{
        struct off_pkt_info pi = f->pi;
        uint32_t grow = f->len - (pi.l3_off + pi.l3_len);
        pi.l3_len += grow;
        pi.l4_len += grow;
        pi.payload_len += grow;
        f->ops->finish(f->buf + pi.l3_off, pi.l3_len);
        off_csum_seed_partial(f->buf, f->len, &pi);
        set_partial(p, &pi);
        p->gso_type = f->ops->gso_type;
        p->gso_size = f->mss;
        if (f->ip_fixedid && f->ops->gso_type == OFF_LRO_GSO_TCPV4)
                p->flags |= OFF_LRO_PKT_FIXEDID;
}

/* A lone segment leaves untouched, checksum state as it came (Linux
 * napi_gro_complete clears gso_size when count == 1). */
static void emit_held(struct off_lro *lro, struct off_lro_flow *f, enum off_lro_reason why,
                      uint64_t now, struct off_lro_out *out)
{
        struct off_lro_pkt *p = next_pkt(out);
        p->data = f->buf;
        p->len = f->len;
        p->reason = why;
        p->hdr_len = (uint16_t)f->pi.payload_off;
        p->gso_segs = f->segs;
        if (f->segs > 1) {
                finish_merged(f, p);
                lro->stats.gso_out++;
        } else {
                p->csum = (enum off_lro_csum)f->csum;
                if (p->csum == OFF_LRO_CSUM_PARTIAL)
                        set_partial(p, &f->pi);
                lro->stats.single_out++;
        }
        uint64_t held_ns = now > f->born_ns ? now - f->born_ns : 0;
        if (held_ns > lro->stats.hold_ns_max)
                lro->stats.hold_ns_max = held_ns;
        lro->stats.flush[why]++;
        unlink_flow(lro, (uint8_t)(f - lro->flows));
}

static void emit_pass(struct off_lro *lro, const uint8_t *frame, size_t len,
                      const struct off_pkt_info *pi, enum off_lro_csum cs, enum off_lro_reason why,
                      struct off_lro_out *out)
{
        struct off_lro_pkt *p = next_pkt(out);
        p->data = frame;
        p->len = len;
        p->flags = OFF_LRO_PKT_PASS;
        p->reason = why;
        p->csum = cs;
        if (pi && (pi->flags & OFF_PKT_L4)) {
                p->hdr_len = (uint16_t)pi->payload_off;
                if (cs == OFF_LRO_CSUM_PARTIAL)
                        set_partial(p, pi);
        }
        lro->stats.pass[why]++;
}

/* @need_buf: the call may start a flow, which takes a free buffer (the
 * emissions before it only move buffers to the caller). */
static int begin(struct off_lro *lro, struct off_lro_out *out, bool need_buf)
{
        if (!lro || !out || !out->pkts)
                return -EINVAL;
        if (out->max < off_lro_out_max(lro))
                return -ENOSPC;
        if (!lro->cfg.lend)
                off_lro_release(lro, lro->nlent);
        else if (need_buf && !lro->nfree_bufs)
                return -EBUSY;
        out->n = 0;
        return 0;
}

static int expired(const struct off_lro *lro, const struct off_lro_flow *f, uint64_t now)
{
        return now >= f->born_ns && now - f->born_ns >= lro->cfg.max_age_ns;
}

static void expire(struct off_lro *lro, uint64_t now, struct off_lro_out *out)
{
        while (lro->oldest != OFF_LRO_NIL && expired(lro, &lro->flows[lro->oldest], now))
                emit_held(lro, &lro->flows[lro->oldest], OFF_LRO_R_AGE, now, out);
}

/* ---- merge rules ---- */

static enum off_lro_reason parse_tcp(const uint8_t *frame, size_t len, uint32_t rx,
                                     struct off_pkt_info *pi, const struct off_lro_l3_ops **ops)
{
        uint32_t pflags = (rx & OFF_LRO_RX_GSO) ? OFF_PARSE_GSO : 0;
        if (!frame || off_parse(frame, len, pflags, pi) != 0 || !(pi->flags & OFF_PKT_L4) ||
            pi->l4_proto != IPPROTO_TCP)
                return OFF_LRO_R_NOT_TCP;
        *ops = pi->ethertype == OFF_ETH_P_IPV4 ? &off_lro_tcp4_ops : &off_lro_tcp6_ops;
        return OFF_LRO_R_NONE;
}

/* Reasons a frame can never be merged, whatever is held: Linux sets
 * NAPI_GRO_CB(skb)->flush for these. The checksum is checked last, and
 * only when needed, as tcp4_gro_receive skips it for a frame flushed anyway. */
static enum off_lro_reason frame_verdict(const struct off_lro *lro, const uint8_t *frame,
                                         size_t len, uint32_t rx, const struct off_pkt_info *pi,
                                         const struct off_lro_l3_ops *ops, enum off_lro_csum *cs)
{
        if (rx & OFF_LRO_RX_GSO)
                return OFF_LRO_R_GSO;
        if (len - OFF_ETH_HLEN >= lro->cfg.max_size)
                return OFF_LRO_R_SIZE;
        enum off_lro_reason why = ops->frame_ok(frame, len, pi);
        if (why != OFF_LRO_R_NONE)
                return why;
        /* CWR too: Linux 6.18 delivers a CWR segment on its own (older
         * kernels let later segments join it); the kernel differential test
         * pins this down. */
        if (pi->tcp_flags & (OFF_TCP_SYN | OFF_TCP_RST | OFF_TCP_URG | OFF_TCP_CWR))
                return OFF_LRO_R_CTRL;
        if (pi->payload_len == 0)
                return OFF_LRO_R_NO_PAYLOAD;
        if (*cs == OFF_LRO_CSUM_NONE)
                *cs = off_csum_l4_ok(frame, len, pi) ? OFF_LRO_CSUM_VALID : OFF_LRO_CSUM_BAD;
        return *cs == OFF_LRO_CSUM_BAD ? OFF_LRO_R_BAD_CSUM : OFF_LRO_R_NONE;
}

/* tcp_gro_receive against the held packet p: the flag word may differ only
 * in FIN/PSH (a CWR segment never gets here, see frame_verdict); ACK number, window and
 * every option byte must be equal (a changed timestamp ends the merge);
 * the sequence must continue p; the payload may not exceed gso_size; and
 * the result must stay under gro_max_size (skb_gro_receive). */
static enum off_lro_reason merge_verdict(const struct off_lro *lro, struct off_lro_flow *f,
                                         const uint8_t *frame, const struct off_pkt_info *pi)
{
        const uint8_t *held = f->buf;
        const uint8_t *th = frame + pi->l4_off, *th2 = held + f->pi.l4_off;
        uint32_t w = off_get_be32(th + TCP_FLAGWORD_OFF), w2 = off_get_be32(th2 + TCP_FLAGWORD_OFF);
        uint32_t may_differ = FW_FLAG(OFF_TCP_FIN | OFF_TCP_PSH) | FW_DOFF;

        if (pi->l2_len != f->pi.l2_len || pi->l3_hdr_len != f->pi.l3_hdr_len ||
            memcmp(frame, held, pi->l2_len) != 0)
                return OFF_LRO_R_IP_HDR;
        if (off_get_be32(th + TCP_SEQ_OFF) != f->next_seq)
                return OFF_LRO_R_SEQ;
        if (((w ^ w2) & ~may_differ) ||
            memcmp(th + TCP_ACK_OFF, th2 + TCP_ACK_OFF, sizeof(uint32_t)) != 0)
                return OFF_LRO_R_TCP_HDR;
        if (((w ^ w2) & FW_DOFF) || memcmp(th + OFF_TCP_MIN_HLEN, th2 + OFF_TCP_MIN_HLEN,
                                           (size_t)pi->l4_hdr_len - OFF_TCP_MIN_HLEN) != 0)
                return OFF_LRO_R_TCP_OPTS;
        enum off_lro_reason why = f->ops->compare(f, frame + pi->l3_off, held + f->pi.l3_off);
        if (why != OFF_LRO_R_NONE)
                return why;
        if (pi->payload_len > f->mss ||
            (size_t)f->len - OFF_ETH_HLEN + pi->payload_len >= lro->cfg.max_size)
                return OFF_LRO_R_SIZE;
        return OFF_LRO_R_NONE;
}

/* After a merge: FIN and PSH are OR'ed into the held header and end the
 * packet, as does a segment shorter than gso_size (out_check_final). */
static enum off_lro_reason end_verdict(const struct off_lro_flow *f, const struct off_pkt_info *pi)
{
        if (pi->tcp_flags & OFF_TCP_FIN)
                return OFF_LRO_R_CTRL;
        if (pi->tcp_flags & OFF_TCP_PSH)
                return OFF_LRO_R_PSH;
        if (pi->payload_len < f->mss)
                return OFF_LRO_R_SHORT;
        return OFF_LRO_R_NONE;
}

static void merge_into(struct off_lro *lro, struct off_lro_flow *f, const uint8_t *frame,
                       const struct off_pkt_info *pi, uint64_t now, struct off_lro_out *out)
{
        memcpy(f->buf + f->len, frame + pi->payload_off, pi->payload_len);
        f->len += pi->payload_len;
        f->next_seq += pi->payload_len;
        f->segs++;
        f->buf[f->pi.l4_off + TCP_FLAGS_OFF] |= pi->tcp_flags & (OFF_TCP_FIN | OFF_TCP_PSH);
        lro->stats.merged++;
        enum off_lro_reason why = end_verdict(f, pi);
        if (why != OFF_LRO_R_NONE)
                emit_held(lro, f, why, now, out);
}

static void start_flow(struct off_lro *lro, const struct lro_key *k, const uint8_t *frame,
                       size_t len, const struct off_pkt_info *pi, enum off_lro_csum cs,
                       uint64_t now, struct off_lro_out *out)
{
        /* Linux gro_flush_oldest: a full table gives up its oldest packet. */
        if (!lro->nfree_flows)
                emit_held(lro, &lro->flows[lro->oldest], OFF_LRO_R_TABLE_FULL, now, out);
        uint8_t idx = lro->free_flows[--lro->nfree_flows];
        uint8_t b = lro->free_bufs[--lro->nfree_bufs];
        struct off_lro_flow *f = &lro->flows[idx];
        f->hash = k->hash;
        f->vlan_key = k->vlan_key;
        f->ports = k->ports;
        memcpy(f->addrs, k->addrs, k->ops->addrs_len);
        f->ops = k->ops;
        f->pi = *pi;
        f->buf_idx = b;
        f->buf = lro->mem + (size_t)b * lro->buf_stride;
        memcpy(f->buf, frame, len);
        f->len = (uint32_t)len;
        f->next_seq = off_get_be32(frame + pi->l4_off + TCP_SEQ_OFF) + pi->payload_len;
        f->mss = (uint16_t)pi->payload_len;
        f->segs = 1;
        k->ops->start(f, frame + pi->l3_off);
        f->csum = (uint8_t)cs;
        f->born_ns = now;
        link_flow(lro, idx);
        lro->stats.flows++;
}

int off_lro_add(struct off_lro *lro, const uint8_t *frame, size_t len, uint32_t rx, uint64_t now,
                struct off_lro_out *out)
{
        int rc = begin(lro, out, true);
        if (rc)
                return rc;
        lro->stats.frames++;
        struct off_pkt_info pi;
        const struct off_lro_l3_ops *ops = NULL;
        enum off_lro_csum cs = (enum off_lro_csum)(rx & OFF_LRO_RX_CSUM_MASK);
        enum off_lro_reason why = parse_tcp(frame, len, rx, &pi, &ops);
        if (why != OFF_LRO_R_NONE) {
                emit_pass(lro, frame, len, NULL, cs, why, out);
                goto done;
        }
        struct lro_key k;
        key_of(frame, &pi, ops, &k);
        struct off_lro_flow *f = lookup(lro, &k);
        why = frame_verdict(lro, frame, len, rx, &pi, ops, &cs);
        if (f) {
                enum off_lro_reason mv =
                    why != OFF_LRO_R_NONE ? why : merge_verdict(lro, f, frame, &pi);
                if (mv == OFF_LRO_R_NONE) {
                        merge_into(lro, f, frame, &pi, now, out);
                        goto done;
                }
                /* Unlike Linux (which passes a frame it flags before the flow
                 * lookup, e.g. with IPv4 options, ahead of the held packet),
                 * the held packet always goes first: order within a flow holds. */
                emit_held(lro, f, mv, now, out);
        }
        /* A frame that cannot follow the held packet starts a new one unless
         * it must be delivered now (Linux: flush = len < 1 || URG|PSH|RST|SYN|FIN). */
        if (why == OFF_LRO_R_NONE && (pi.tcp_flags & OFF_TCP_FIN))
                why = OFF_LRO_R_CTRL;
        if (why == OFF_LRO_R_NONE && (pi.tcp_flags & OFF_TCP_PSH))
                why = OFF_LRO_R_PSH;
        if (why != OFF_LRO_R_NONE)
                emit_pass(lro, frame, len, &pi, cs, why, out);
        else
                start_flow(lro, &k, frame, len, &pi, cs, now, out);
done:
        expire(lro, now, out);
        return 0;
}

int off_lro_flush_all_for(struct off_lro *lro, uint64_t now, enum off_lro_reason why,
                          struct off_lro_out *out)
{
        if ((unsigned)why >= OFF_LRO_R_COUNT)
                return -EINVAL;
        int rc = begin(lro, out, false);
        if (rc)
                return rc;
        while (lro->oldest != OFF_LRO_NIL)
                emit_held(lro, &lro->flows[lro->oldest], why, now, out);
        return 0;
}

int off_lro_flush_all(struct off_lro *lro, uint64_t now, struct off_lro_out *out)
{
        return off_lro_flush_all_for(lro, now, OFF_LRO_R_BATCH, out);
}

int off_lro_flush_expired(struct off_lro *lro, uint64_t now, struct off_lro_out *out)
{
        int rc = begin(lro, out, false);
        if (rc)
                return rc;
        expire(lro, now, out);
        return 0;
}

uint64_t off_lro_deadline(const struct off_lro *lro)
{
        if (!lro || lro->oldest == OFF_LRO_NIL)
                return UINT64_MAX;
        uint64_t born = lro->flows[lro->oldest].born_ns;
        return born > UINT64_MAX - lro->cfg.max_age_ns ? UINT64_MAX : born + lro->cfg.max_age_ns;
}

static const char *const reason_names[OFF_LRO_R_COUNT] = {
    [OFF_LRO_R_NONE] = "none",
    [OFF_LRO_R_PSH] = "psh",
    [OFF_LRO_R_CTRL] = "fin/syn/rst/urg/cwr",
    [OFF_LRO_R_SEQ] = "out of order",
    [OFF_LRO_R_TCP_OPTS] = "tcp options changed",
    [OFF_LRO_R_TCP_HDR] = "ack/window/ecn changed",
    [OFF_LRO_R_IP_HDR] = "ip header changed",
    [OFF_LRO_R_SIZE] = "size limit",
    [OFF_LRO_R_SHORT] = "short segment",
    [OFF_LRO_R_NO_PAYLOAD] = "no payload",
    [OFF_LRO_R_AGE] = "age limit",
    [OFF_LRO_R_TABLE_FULL] = "table full",
    [OFF_LRO_R_BATCH] = "batch end",
    [OFF_LRO_R_HOLD_END] = "hold end",
    [OFF_LRO_R_NOT_TCP] = "not tcp",
    [OFF_LRO_R_BAD_CSUM] = "bad checksum",
    [OFF_LRO_R_GSO] = "gso packet",
};

const char *off_lro_reason_str(enum off_lro_reason reason)
{
        if ((unsigned)reason >= OFF_LRO_R_COUNT)
                return "unknown";
        return reason_names[reason];
}
