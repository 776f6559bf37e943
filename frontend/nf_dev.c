/* The netfront's runtime entry points: event dispatch over all queues, queue
 * selection for transmit, multicast dummies, counters and accessors. */
#include "nf_dev.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "offload/off_parse.h"

void nf_set_rx_cb(struct nf_dev *d, nf_rx_cb cb, void *arg)
{
        d->rx_cb = cb;
        d->rx_arg = arg;
}

int nf_evtchn_fd(const struct nf_dev *d)
{
        return xh_evtchn_fd(d->ev);
}

int nf_xs_fd(const struct nf_dev *d)
{
        return xs_fileno(d->xs);
}

static struct nf_queue *queue_of_port(struct nf_dev *d, uint32_t port)
{
        for (uint32_t i = 0; i < d->nqueues; i++)
                if (d->queues[i].port_tx == port || d->queues[i].port_rx == port)
                        return &d->queues[i];
        return NULL;
}

int nf_poll_queues(struct nf_dev *d)
{
        if (d->broken[0])
                return -EIO;
        for (uint32_t i = 0; i < d->nqueues; i++) {
                int rc = nf_txq_gc(&d->queues[i]);
                if (rc == 0)
                        rc = nf_rxq_poll(&d->queues[i]);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

int nf_handle_events(struct nf_dev *d)
{
        uint32_t port;
        /* Unmask before processing: a response published after our final
         * check raises a new event rather than being lost. */
        while (xh_evtchn_pending(d->ev, &port) == 0) {
                struct nf_queue *q = queue_of_port(d, port);
                if (q)
                        q->st.events++;
                xh_evtchn_unmask(d->ev, port);
        }
        return nf_poll_queues(d);
}

void nf_tx_flush(struct nf_dev *d)
{
        for (uint32_t i = 0; d->connected && i < d->nqueues; i++)
                if (d->queues[i].tx_unpushed)
                        nf_txq_push(&d->queues[i]);
}

static uint64_t mono_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool rx_pending(const struct nf_dev *d)
{
        for (uint32_t i = 0; i < d->nqueues; i++)
                if (RING_HAS_UNCONSUMED_RESPONSES(&d->queues[i].rx))
                        return true;
        return false;
}

bool nf_rx_spin(struct nf_dev *d)
{
        uint32_t us = d->hints.rx_poll_us;
        if (!d->connected || !us || d->broken[0])
                return false;
        d->hint_rx_spins++;
        for (uint64_t end = mono_us() + us; mono_us() < end;) {
                if (rx_pending(d)) {
                        d->hint_rx_spin_hits++;
                        return true;
                }
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
        }
        return false;
}

bool nf_tx_batching(const struct nf_dev *d)
{
        return d->hints.tx_kick_batch > 1;
}

void nf_hints_update(struct nf_dev *d)
{
        if (d->cfg.no_hints)
                return;
        nf_hints_parse(fe_dyncap_get(&d->dyncap, "coalesce/tx-kick-batch"),
                       fe_dyncap_get(&d->dyncap, "coalesce/rx-poll-us"), &d->hints);
        /* A smaller batch (or none) takes effect now, not at the next frame. */
        nf_tx_flush(d);
}

/* Waits for a kick and processes it (used while a queue's ring is full). */
static int wait_room(struct nf_dev *d, int timeout_ms)
{
        struct pollfd pfd = {.fd = xh_evtchn_fd(d->ev), .events = POLLIN};
        int n = poll(&pfd, 1, timeout_ms);
        if (n < 0)
                return -errno;
        return nf_handle_events(d);
}

/* xennet_select_queue: skb_get_hash % queues; here the flow's addresses and
 * ports, so one flow stays on one queue. */
static uint32_t pick_queue(const struct nf_dev *d, const struct nf_frame *f)
{
        struct off_pkt_info pi;
        if (d->nqueues == 1 || off_parse(f->data, f->len, f->gso_type ? OFF_PARSE_GSO : 0, &pi) < 0)
                return 0;
        uint32_t h = 2166136261u;
        size_t alen = pi.ethertype == OFF_ETH_P_IPV6 ? 32 : 8;
        size_t aoff = pi.l3_off + (pi.ethertype == OFF_ETH_P_IPV6 ? 8 : 12);
        for (size_t i = 0; i < alen && aoff + i < f->len; i++)
                h = (h ^ f->data[aoff + i]) * 16777619u;
        if (pi.flags & OFF_PKT_L4)
                for (size_t i = 0; i < 4; i++)
                        h = (h ^ f->data[pi.l4_off + i]) * 16777619u;
        return h % d->nqueues;
}

int nf_xmit(struct nf_dev *d, uint32_t q, const struct nf_frame *f)
{
        if (!d->connected)
                return -ENOTCONN;
        if (q == NF_QUEUE_ANY)
                q = pick_queue(d, f);
        if (q >= d->nqueues)
                return -EINVAL;
        int rc = nf_txq_send(&d->queues[q], f);
        /* Refused or not, nothing of a last frame may stay unpushed. */
        if (rc < 0 && !d->tx_more)
                nf_tx_flush(d);
        /* A software-segmented frame can need more slots than one wait frees. */
        for (int tries = 0; rc == -EAGAIN && f->gso_type && tries < 500; tries++) {
                if ((rc = wait_room(d, 10)) < 0)
                        return rc;
                rc = nf_txq_send(&d->queues[q], f);
        }
        return rc;
}

int nf_xmit_more(struct nf_dev *d, uint32_t q, const struct nf_frame *f, bool more)
{
        d->tx_more = more && nf_tx_batching(d);
        int rc = nf_xmit(d, q, f);
        d->tx_more = false;
        return rc;
}

int nf_mcast(struct nf_dev *d, bool add, const uint8_t mac[6])
{
        if (!d->connected)
                return -ENOTCONN;
        if (!d->neg.mcast_ctrl)
                return -EOPNOTSUPP;
        struct nf_queue *q = &d->queues[0];
        union nf_tx_slot slots[2];
        uint32_t n;
        uint16_t id;
        if (nf_txq_ring_space(q) < 2 || nf_txq_id_get(q, &id) < 0)
                return -EAGAIN;
        /* A dummy request: netback answers it and forwards no data. */
        struct nf_tx_frag frag = {.gref = q->tx_buf_refs[id], .id = id};
        struct nf_tx_meta m = {.mcast_type = add ? XEN_NETIF_EXTRA_TYPE_MCAST_ADD
                                                 : XEN_NETIF_EXTRA_TYPE_MCAST_DEL};
        memcpy(m.mcast_addr, mac, 6);
        int rc = nf_tx_build_slots(&m, &frag, 1, slots, 2, &n);
        if (rc < 0)
                return rc;
        nf_txq_post(q, slots, n);
        return 0;
}

uint32_t nf_num_queues(const struct nf_dev *d)
{
        return d->nqueues;
}

bool nf_tx_idle(const struct nf_dev *d)
{
        for (uint32_t i = 0; i < d->nqueues; i++)
                if (d->queues[i].tx_nfree != NF_TX_RING_SIZE)
                        return false;
        return true;
}

void nf_stats_get(const struct nf_dev *d, uint32_t q, struct nf_stats *st)
{
        memset(st, 0, sizeof(*st));
        if (q < d->nqueues)
                *st = d->queues[q].st;
}

void nf_stats_sum(const struct nf_dev *d, struct nf_stats *st)
{
        memset(st, 0, sizeof(*st));
        for (uint32_t i = 0; i < d->nqueues; i++) {
                const uint64_t *src = (const uint64_t *)&d->queues[i].st;
                uint64_t *dst = (uint64_t *)st;
                for (size_t k = 0; k < sizeof(*st) / sizeof(uint64_t); k++)
                        dst[k] += src[k];
        }
}

const struct nf_negotiated *nf_negotiated(const struct nf_dev *d)
{
        return &d->neg;
}

const char *nf_broken_reason(const struct nf_dev *d)
{
        return d->broken[0] ? d->broken : NULL;
}

const uint8_t *nf_mac(const struct nf_dev *d)
{
        return d->mac;
}

uint32_t nf_mtu(const struct nf_dev *d)
{
        return d->mtu;
}

const char *nf_fe_dir(const struct nf_dev *d)
{
        return d->fe_dir;
}

const char *nf_be_dir(const struct nf_dev *d)
{
        return d->be_dir;
}

/* Which hints the netfront applied and what they did. */
static void nf_hints_print(const struct nf_dev *d, FILE *out)
{
        const struct nf_hints *h = &d->hints;
        if (!h->tx_applied && !h->rx_applied) {
                fprintf(out, "coalescing-hints: none applied\n");
                return;
        }
        fprintf(out, "coalescing-hints:");
        if (h->tx_applied)
                fprintf(out, " tx-kick-batch %u (%llu pushes deferred)", h->tx_kick_batch,
                        (unsigned long long)d->hint_tx_deferred);
        if (h->rx_applied)
                fprintf(out, "%s rx-poll-us %u (%llu spins, %llu found responses)",
                        h->tx_applied ? "," : "", h->rx_poll_us,
                        (unsigned long long)d->hint_rx_spins,
                        (unsigned long long)d->hint_rx_spin_hits);
        fputc('\n', out);
}

void nf_print_negotiated(const struct nf_dev *d, FILE *out)
{
        nf_negotiated_print(out, &d->cfg, &d->bf, &d->neg, d->split_in_use);
        fe_dyncap_print(&d->dyncap, out);
        nf_hints_print(d, out);
}

void nf_dyncap_report(struct nf_dev *d, FILE *out)
{
        d->dyncap.report = out;
}

const struct fe_dyncap *nf_dyncap(const struct nf_dev *d)
{
        return &d->dyncap;
}
