/* Hostile request classes (see nf_hostile.h). Slots are written raw, past
 * the builder's checks, with the grants and ids of the queue's own pool so
 * that answers can be matched; frames that should be accepted are real UDP
 * frames with correct checksums. */
#include "nf_hostile.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nf_dev.h"
#include "offload/off_build.h"
#include "offload/off_csum.h"
#include "xb.h"

#define H_CHUNK         64u         /* bytes per slot of the slot-count classes */
#define H_BAD_GREF      0x0FFFFFFFu /* beyond any grant table */
#define H_FAR           1000u       /* req_prod this far past the ring */
#define H_GSO_LEN       254u        /* a TCP frame of 200 payload bytes */
#define H_UNFINISHED_MS 1000        /* between the two slots of "unfinished" */

static const struct {
        const char *name;
        const char *help;
} classes[NF_H_COUNT] = {
    [NF_H_OVERSIZE_SLOT] = {"oversize-slot", "one slot with offset+size > 4096 (fatal)"},
    [NF_H_TOO_MANY_SLOTS] = {"too-many-slots", "a 22-slot packet, > 20 after the first (fatal)"},
    [NF_H_MANY_SLOTS] = {"many-slots", "a packet over exactly --slots N slots; slots-18 and "
                                       "slots-19 must pass, slots-20 is dropped"},
    [NF_H_BAD_GREF] = {"bad-gref", "a grant reference never issued (error response)"},
    [NF_H_FOREIGN_GREF] = {"foreign-gref", "a grant issued to another domain (error response)"},
    [NF_H_BAD_EXTRA_TYPE] = {"bad-extra-type", "an extra of type 7, >= MAX (fatal)"},
    [NF_H_GSO_NO_SIZE] = {"gso-without-size", "a GSO extra with size 0 (fatal)"},
    [NF_H_REQ_PROD_FAR] = {"req-prod-far", "req_prod 1000 past the ring (fatal)"},
    [NF_H_TINY_SLOTS] = {"tiny-slots", "a 128-byte frame over 16 slots of 8 bytes: the header "
                                       "split, legal (accepted)"},
    [NF_H_GSO_SIZE_1] = {"gso-size-1", "a 200-byte TCP GSO packet at size 1, then a 60-byte "
                                       "frame: legal (accepted; a backend segmenting in "
                                       "software has a floor)"},
    [NF_H_UNFINISHED] = {"unfinished", "a 2-slot frame whose second slot is published 1 s "
                                       "after the first: legal (accepted; the backend waits "
                                       "for it)"},
};

int nf_hostile_parse(const char *name, uint32_t *slots)
{
        unsigned n;
        char tail;
        if (sscanf(name, "slots-%u%c", &n, &tail) == 1 && n >= 1 && n <= NF_TX_MAX_SLOTS) {
                *slots = n;
                return NF_H_MANY_SLOTS;
        }
        for (int i = 0; i < NF_H_COUNT; i++)
                if (strcmp(name, classes[i].name) == 0)
                        return i;
        return -1;
}

const char *nf_hostile_name(enum nf_hostile_class c)
{
        return c < NF_H_COUNT ? classes[c].name : "?";
}

const char *nf_hostile_outcome_name(enum nf_hostile_outcome o)
{
        static const char *const names[] = {"okay", "error", "fatal"};
        return o <= NF_H_OUT_FATAL ? names[o] : "?";
}

void nf_hostile_list(FILE *out)
{
        for (int i = 0; i < NF_H_COUNT; i++)
                fprintf(out, "      %-18s %s\n", classes[i].name, classes[i].help);
        fprintf(out, "      %-18s %s\n", "slots-N", "many-slots with N slots (1..32)");
}

/* A UDP frame of exactly len bytes from this vif, checksums complete. */
static int build_frame(struct nf_dev *d, uint8_t *buf, uint32_t len)
{
        struct off_build_spec s = {.ethertype = OFF_ETH_P_IPV4,
                                   .l4_proto = IPPROTO_UDP,
                                   .sport = 7,
                                   .dport = 9,
                                   .saddr = {192, 0, 2, 1},
                                   .daddr = {192, 0, 2, 2},
                                   .dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                   .payload_len = len - 42};
        struct off_pkt_info pi;
        size_t n;
        memcpy(s.src_mac, d->mac, 6);
        int rc = off_build_packet(buf, NF_PAGE_SIZE * 2, &s, &n);
        if (rc == 0 && (rc = off_parse(buf, n, 0, &pi)) == 0)
                rc = off_csum_fill_l4(buf, n, &pi);
        return rc;
}

/* A TCPv4 frame of exactly len bytes from this vif with its checksum left
 * to the backend (csum_blank: the pseudo-header seeded), as a GSO packet
 * leaves Linux. */
static int build_tcp_partial(struct nf_dev *d, uint8_t *buf, uint32_t len)
{
        struct off_build_spec s = {.ethertype = OFF_ETH_P_IPV4,
                                   .l4_proto = IPPROTO_TCP,
                                   .sport = 7,
                                   .dport = 9,
                                   .seq = 1,
                                   .tcp_flags = OFF_TCP_ACK | OFF_TCP_PSH,
                                   .tcp_window = 512,
                                   .saddr = {192, 0, 2, 1},
                                   .daddr = {192, 0, 2, 2},
                                   .dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                   .payload_len = len - 54};
        struct off_pkt_info pi;
        size_t n;
        memcpy(s.src_mac, d->mac, 6);
        int rc = off_build_packet(buf, NF_PAGE_SIZE * 2, &s, &n);
        if (rc == 0 && (rc = off_parse(buf, n, OFF_PARSE_GSO, &pi)) == 0)
                rc = off_csum_seed_partial(buf, n, &pi);
        return rc;
}

/* Spreads frame bytes over n data slots of chunk bytes (the first slot says
 * the total), each slot in its own buffer page. */
static int chain(struct nf_queue *q, const uint8_t *frame, uint32_t len, uint32_t chunk,
                 union nf_tx_slot *s, uint32_t *n)
{
        uint32_t k = 0;
        for (uint32_t off = 0; off < len; off += chunk, k++) {
                uint16_t id;
                uint32_t l = len - off < chunk ? len - off : chunk;
                if (k == NF_TX_MAX_SLOTS || nf_txq_id_get(q, &id) < 0)
                        return -ENOSPC;
                memcpy(q->tx_bufs + (size_t)id * NF_PAGE_SIZE, frame + off, l);
                memset(&s[k], 0, sizeof(s[k]));
                s[k].req = (netif_tx_request_t){.gref = q->tx_buf_refs[id],
                                                .offset = 0,
                                                .id = id,
                                                .size = (uint16_t)(k == 0 ? len : l),
                                                .flags = off + l < len ? NETTXF_more_data : 0};
        }
        *n = k;
        return 0;
}

/* One single-slot frame, with an optional extra after it. */
static int single(struct nf_queue *q, const uint8_t *frame, uint32_t len,
                  const struct netif_extra_info *extra, union nf_tx_slot *s, uint32_t *n)
{
        int rc = chain(q, frame, len, NF_PAGE_SIZE, s, n);
        if (rc < 0 || !extra)
                return rc;
        s[0].req.flags |= NETTXF_extra_info;
        memset(&s[1], 0, sizeof(s[1]));
        s[1].extra = *extra;
        *n = 2;
        return 0;
}

static int build_class(struct nf_dev *d, struct nf_queue *q, enum nf_hostile_class c,
                       uint32_t nslots, uint8_t *frame, union nf_tx_slot *s, uint32_t *n,
                       void **foreign)
{
        struct netif_extra_info ex = {0};
        uint32_t ref;
        int rc;
        switch (c) {
        case NF_H_OVERSIZE_SLOT:
                if ((rc = build_frame(d, frame, 60)) < 0 ||
                    (rc = single(q, frame, 60, NULL, s, n)) < 0)
                        return rc;
                s[0].req.offset = 100;
                s[0].req.size = NF_PAGE_SIZE;
                return 0;
        case NF_H_TOO_MANY_SLOTS:
                nslots = 22;
                /* fall through */
        case NF_H_MANY_SLOTS:
                if ((rc = build_frame(d, frame, nslots * H_CHUNK)) < 0)
                        return rc;
                return chain(q, frame, nslots * H_CHUNK, H_CHUNK, s, n);
        case NF_H_TINY_SLOTS:
                if ((rc = build_frame(d, frame, 128)) < 0)
                        return rc;
                return chain(q, frame, 128, 8, s, n);
        case NF_H_UNFINISHED:
                if ((rc = build_frame(d, frame, 128)) < 0)
                        return rc;
                return chain(q, frame, 128, 64, s, n);
        case NF_H_BAD_GREF:
        case NF_H_REQ_PROD_FAR:
                if ((rc = build_frame(d, frame, 60)) < 0 ||
                    (rc = single(q, frame, 60, NULL, s, n)) < 0)
                        return rc;
                if (c == NF_H_BAD_GREF)
                        s[0].req.gref = H_BAD_GREF;
                return 0;
        case NF_H_FOREIGN_GREF: {
                /* Neither ourselves nor the backend. */
                uint16_t other = (uint16_t)(d->backend + 1);
                while (other == d->self || other == d->backend)
                        other++;
                if ((rc = build_frame(d, frame, 60)) < 0 ||
                    (rc = xh_gntshr_share(d->shr, other, 1, &ref, false, foreign)) < 0 ||
                    (rc = single(q, frame, 60, NULL, s, n)) < 0)
                        return rc;
                memcpy(*foreign, frame, 60);
                s[0].req.gref = ref;
                return 0;
        }
        case NF_H_BAD_EXTRA_TYPE:
                ex.type = NF_EXTRA_TYPE_MAX + 1;
                break;
        case NF_H_GSO_NO_SIZE:
                ex.type = XEN_NETIF_EXTRA_TYPE_GSO;
                ex.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
                ex.u.gso.size = 0;
                break;
        case NF_H_GSO_SIZE_1: {
                /* Linux netback takes any non-zero size; the plain frame
                 * after it shows whether the vif still forwards. */
                uint32_t more = 0;
                ex.type = XEN_NETIF_EXTRA_TYPE_GSO;
                ex.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
                ex.u.gso.size = 1;
                if ((rc = build_tcp_partial(d, frame, H_GSO_LEN)) < 0 ||
                    (rc = single(q, frame, H_GSO_LEN, &ex, s, n)) < 0)
                        return rc;
                s[0].req.flags |= NETTXF_csum_blank | NETTXF_data_validated;
                if ((rc = build_frame(d, frame, 60)) < 0 ||
                    (rc = chain(q, frame, 60, NF_PAGE_SIZE, s + *n, &more)) < 0)
                        return rc;
                *n += more;
                return 0;
        }
        default:
                return -EINVAL;
        }
        if ((rc = build_frame(d, frame, 60)) < 0)
                return rc;
        return single(q, frame, 60, &ex, s, n);
}

/* Every class puts at most one extra, right after the first slot. */
static bool is_data_slot(const union nf_tx_slot *s, uint32_t i)
{
        return !(i == 1 && (s[0].req.flags & NETTXF_extra_info));
}

static bool all_back(const struct nf_queue *q, const union nf_tx_slot *s, uint32_t n)
{
        for (uint32_t i = 0; i < n; i++)
                if (is_data_slot(s, i) && q->tx_inflight[s[i].req.id])
                        return false;
        return true;
}

static void observe(struct nf_dev *d, struct nf_hostile_report *r)
{
        char *e = NULL;
        r->be_state = xb_read_state(d->xs, d->be_dir);
        if (xb_read_str(d->xs, XBT_NULL, d->be_dir, "error", &e) == 0)
                snprintf(r->be_error, sizeof(r->be_error), "%s", e);
        free(e);
}

static void await(struct nf_dev *d, struct nf_queue *q, const union nf_tx_slot *s, uint32_t n,
                  int wait_ms, struct nf_hostile_report *r)
{
        for (int waited = 0; waited < wait_ms; waited += 20) {
                struct pollfd pfd = {.fd = xh_evtchn_fd(d->ev), .events = POLLIN};
                if (poll(&pfd, 1, 20) > 0)
                        nf_handle_events(d);
                else
                        nf_txq_gc(q);
                observe(d, r);
                r->answered = all_back(q, s, n);
                if (r->answered || r->be_state != XenbusStateConnected || r->be_error[0])
                        break;
        }
}

int nf_hostile_run(struct nf_dev *d, enum nf_hostile_class c, uint32_t slots, int wait_ms,
                   struct nf_hostile_report *r)
{
        static uint8_t frame[NF_PAGE_SIZE * 2];
        union nf_tx_slot s[NF_TX_MAX_SLOTS];
        struct nf_queue *q = &d->queues[0];
        struct nf_stats before = q->st;
        void *foreign = NULL;
        uint32_t n = 0;
        memset(r, 0, sizeof(*r));
        nf_txq_gc(q);
        if (nf_txq_ring_space(q) < NF_TX_MAX_SLOTS)
                return -EAGAIN;
        int rc = build_class(d, q, c, slots, frame, s, &n, &foreign);
        if (rc < 0)
                return rc;
        r->slots_sent = n;
        for (uint32_t i = 0; i < n; i++)
                r->data_slots += is_data_slot(s, i);
        if (c == NF_H_REQ_PROD_FAR) {
                /* Publish the slots and the absurd producer in one store:
                 * posting them normally first would let the backend answer
                 * the valid slot before it ever sees the bad index. */
                for (uint32_t i = 0; i < n; i++)
                        memcpy(RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++), &s[i], sizeof(s[i]));
                q->st.tx_slots += n;
                xen_wmb();
                q->tx.sring->req_prod = q->tx.req_prod_pvt + H_FAR;
                xh_evtchn_notify(d->ev, q->port_tx);
        } else if (c == NF_H_UNFINISHED) {
                /* The first slot alone, its more_data flag promising the
                 * rest: the backend must wait for it (without spinning),
                 * then answer the whole frame. */
                nf_txq_post(q, s, 1);
                nf_txq_push(q);
                await(d, q, s, n, H_UNFINISHED_MS, r);
                if (r->be_state == XenbusStateConnected && !r->be_error[0])
                        nf_txq_post(q, s + 1, n - 1);
                nf_txq_push(q);
        } else {
                nf_txq_post(q, s, n);
        }
        await(d, q, s, n, wait_ms, r);
        r->okay = q->st.tx_rsp_okay - before.tx_rsp_okay;
        r->error = q->st.tx_rsp_error - before.tx_rsp_error;
        r->dropped = q->st.tx_rsp_dropped - before.tx_rsp_dropped;
        if (!r->answered || r->be_state != XenbusStateConnected || r->be_error[0])
                r->outcome = NF_H_OUT_FATAL;
        else
                r->outcome = r->error || r->dropped ? NF_H_OUT_ERROR : NF_H_OUT_OKAY;
        if (foreign)
                xh_gntshr_unshare(d->shr, foreign, 1);
        return 0;
}

void nf_hostile_print(FILE *out, enum nf_hostile_class c, const struct nf_hostile_report *r)
{
        fprintf(out, "hostile: sent %s (%u slots, %u data)\n", nf_hostile_name(c), r->slots_sent,
                r->data_slots);
        fprintf(out, "hostile: responses okay=%llu error=%llu dropped=%llu%s\n",
                (unsigned long long)r->okay, (unsigned long long)r->error,
                (unsigned long long)r->dropped, r->answered ? "" : " (not all answered)");
        fprintf(out, "hostile: backend state %s%s%s\n", xb_state_name(r->be_state),
                r->be_error[0] ? ", error: " : "", r->be_error);
        fprintf(out, "hostile: outcome %s\n", nf_hostile_outcome_name(r->outcome));
}
