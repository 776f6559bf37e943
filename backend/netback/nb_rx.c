/* Guest RX (uplink → guest) on the queue's worker: read frames from the
 * uplink in batches into a bounded backlog, filter multicast, hash, plan each
 * frame into the guest's posted buffers (nb_rx_plan), grant-copy many frames
 * per call, push and notify once per pass. When the guest posts nothing the
 * backlog fills, the uplink is no longer read (the host's queue drops), and
 * after the drain timeout the backlog is dropped. Linux: rx.c, interface.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "netback/nb_rx_plan.h"
#include "netback/nb_vif.h"
#include "offload/off_csum.h"
#include "offload/off_parse.h"
#include "worker.h"

/* Frames held for the guest, and their bytes (Linux XENVIF_RX_QUEUE_BYTES:
 * 512 KiB, above which the netdev queue stops). */
#define NB_RX_BACKLOG       64u
#define NB_RX_BACKLOG_BYTES (512u * 1024u)
#define NB_RX_READ_BATCH    32u
#define NB_RX_BUDGET        256u
/* Linux rx_drain_timeout_msecs, and its 30 ms for frontends that never
 * notify (feature-rx-notify=0). */
#define NB_RX_DRAIN_NS (10000ull * 1000000ull)
#define NB_RX_POLL_NS  (30ull * 1000000ull)
/* Segments per call: full batch plus room for one more frame's data slots. */
#define NB_RX_SEGS (NB_COPY_BATCH + NB_RX_MAX_DATA_SLOTS)

struct nb_rx_frame {
        struct uplink_pkt pkt;
        struct nb_rx_pkt rx; /* prepared for the plan */
};

/* Frames steered to a queue by other queues' workers. Buffers are swapped,
 * never copied: the sender trades its full buffer for an empty one of the
 * inbox, the owner trades an empty backlog buffer for the full one. A mutex,
 * taken only when a hash mapping moves frames between queues (Linux pays a
 * similar price: the skb crosses to another queue's RX kthread). */
#define NB_RX_INBOX 64u

struct nb_rx_inbox {
        pthread_mutex_t lock;
        int fd; /* eventfd: written when frames arrive */
        uint32_t head;
        atomic_uint count; /* written under lock; peeked without */
        uint8_t *bufs[NB_RX_INBOX];
        struct nb_rx_frame frames[NB_RX_INBOX];
};

struct nb_rx_state {
        uint8_t *bufs[NB_RX_BACKLOG];
        struct nb_rx_frame frames[NB_RX_BACKLOG];
        uint32_t head, count; /* backlog ring over frames[] */
        uint32_t bytes;
        struct uplink_pkt reads[NB_RX_READ_BATCH];
        uint8_t *read_bufs[NB_RX_READ_BATCH];
        xh_copy_seg_t segs[NB_RX_SEGS];
        RING_IDX seg_slot[NB_RX_SEGS];
        uint32_t n_segs;
        struct nb_rx_plan plan;
        bool blocked; /* waiting for the guest to post buffers */
};

int nb_rx_state_alloc(struct nb_queue *q)
{
        struct nb_rx_state *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        q->rxs = s;
        /* Large buffers come from mmap: untouched pages cost no memory, so
         * MTU-sized traffic keeps the footprint small. */
        for (uint32_t i = 0; i < NB_RX_BACKLOG; i++) {
                s->bufs[i] = malloc(UPLINK_MAX_FRAME);
                if (!s->bufs[i])
                        goto fail;
        }
        for (uint32_t i = 0; i < NB_RX_READ_BATCH; i++) {
                s->read_bufs[i] = malloc(UPLINK_MAX_FRAME);
                if (!s->read_bufs[i])
                        goto fail;
        }
        return 0;
fail:
        nb_rx_state_free(q);
        return -ENOMEM;
}

void nb_rx_state_free(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        if (!s)
                return;
        for (uint32_t i = 0; i < NB_RX_BACKLOG; i++)
                free(s->bufs[i]);
        for (uint32_t i = 0; i < NB_RX_READ_BATCH; i++)
                free(s->read_bufs[i]);
        free(s);
        q->rxs = NULL;
}

int nb_rx_inbox_alloc(struct nb_queue *q)
{
        struct nb_rx_inbox *ib = calloc(1, sizeof(*ib));
        if (!ib)
                return -ENOMEM;
        pthread_mutex_init(&ib->lock, NULL);
        ib->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        q->inbox = ib;
        if (ib->fd < 0) {
                int err = -errno;
                nb_rx_inbox_free(q);
                return err;
        }
        for (uint32_t i = 0; i < NB_RX_INBOX; i++) {
                ib->bufs[i] = malloc(UPLINK_MAX_FRAME);
                if (!ib->bufs[i]) {
                        nb_rx_inbox_free(q);
                        return -ENOMEM;
                }
        }
        return 0;
}

void nb_rx_inbox_free(struct nb_queue *q)
{
        struct nb_rx_inbox *ib = q->inbox;
        if (!ib)
                return;
        for (uint32_t i = 0; i < NB_RX_INBOX; i++)
                free(ib->bufs[i]);
        if (ib->fd >= 0)
                close(ib->fd);
        pthread_mutex_destroy(&ib->lock);
        free(ib);
        q->inbox = NULL;
}

int nb_rx_inbox_fd(const struct nb_queue *q)
{
        return q->inbox ? q->inbox->fd : -1;
}

/* The ring queue the frame must leave on: the mapping's choice for a hashed
 * frame of a multi-queue vif (Linux xenvif_select_queue: mapping[hash %
 * size], or hash % queues without a mapping), else the queue it came on. */
static uint32_t nb_rx_target(const struct nb_queue *q, const struct nb_rx_frame *f)
{
        if (!f->rx.has_hash || q->vif->nr_queues < 2 || !q->inbox)
                return q->idx;
        return nb_hash_queue(&q->hash, f->rx.hash_value, q->vif->nr_queues);
}

/* Hands the frame in backlog slot `slot` to queue `to`: true if taken (the
 * slot now holds the inbox's spare buffer), false if dropped. */
static bool nb_rx_steer(struct nb_queue *q, uint32_t slot, uint32_t to)
{
        struct nb_rx_state *s = q->rxs;
        struct nb_rx_inbox *ib = q->vif->queues[to].inbox;
        uint64_t one = 1;
        ssize_t r;

        pthread_mutex_lock(&ib->lock);
        uint32_t n = atomic_load(&ib->count);
        if (n == NB_RX_INBOX) {
                pthread_mutex_unlock(&ib->lock);
                q->st.rx_drop_steer++;
                return false;
        }
        uint32_t at = (ib->head + n) % NB_RX_INBOX;
        uint8_t *spare = ib->bufs[at];
        /* The frame's data pointers name the buffer, which moves with it. */
        ib->bufs[at] = s->bufs[slot];
        ib->frames[at] = s->frames[slot];
        s->bufs[slot] = spare;
        atomic_store(&ib->count, n + 1);
        pthread_mutex_unlock(&ib->lock);
        r = write(ib->fd, &one, sizeof(one));
        (void)r;
        q->st.rx_steered++;
        return true;
}

/* Moves steered frames into this queue's backlog, as room allows. */
static void nb_rx_take_inbox(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        struct nb_rx_inbox *ib = q->inbox;

        if (!ib || atomic_load_explicit(&ib->count, memory_order_relaxed) == 0)
                return;
        pthread_mutex_lock(&ib->lock);
        while (atomic_load(&ib->count) && s->count < NB_RX_BACKLOG &&
               s->bytes < NB_RX_BACKLOG_BYTES) {
                uint32_t slot = (s->head + s->count) % NB_RX_BACKLOG;
                uint8_t *empty = s->bufs[slot];
                s->bufs[slot] = ib->bufs[ib->head];
                s->frames[slot] = ib->frames[ib->head];
                ib->bufs[ib->head] = empty;
                ib->head = (ib->head + 1) % NB_RX_INBOX;
                atomic_fetch_sub(&ib->count, 1);
                s->count++;
                s->bytes += s->frames[slot].pkt.len;
                q->st.rx_steered_in++;
        }
        pthread_mutex_unlock(&ib->lock);
}

static void nb_rx_set_polling(struct nb_queue *q, bool on)
{
        if (!q->up_polling || on != q->up_paused)
                return;
        if (worker_mod_fd(q->w, q->up_fd, on ? EPOLLIN : 0) == 0)
                q->up_paused = !on;
}

/* Multicast filter (Linux xenvif_start_xmit): with request-multicast-control
 * set, a group frame whose address the guest did not add is dropped before
 * any copy. */
static bool nb_rx_mcast_pass(struct nb_queue *q, const uint8_t *frame, uint32_t len)
{
        struct nb_vif *vif = q->vif;
        bool ok;
        if (len < NB_ETH_HLEN || !atomic_load(&vif->mcast_control) || !nb_mcast_is_group(frame))
                return true;
        pthread_mutex_lock(&vif->lock);
        ok = nb_mcast_match(&vif->mcast, frame);
        pthread_mutex_unlock(&vif->lock);
        return ok;
}

static void nb_rx_refresh_hash(struct nb_queue *q)
{
        uint64_t gen = atomic_load(&q->vif->hash_gen);
        if (gen == q->hash_gen)
                return;
        pthread_mutex_lock(&q->vif->lock);
        q->hash = q->vif->hash;
        q->hash_gen = atomic_load(&q->vif->hash_gen);
        pthread_mutex_unlock(&q->vif->lock);
}

/* Uplink metadata → what the guest can take. false: drop (counted). */
static bool nb_rx_prepare(struct nb_queue *q, struct nb_rx_frame *f)
{
        const struct nb_fe_cfg *cfg = &q->vif->cfg;
        struct uplink_pkt *p = &f->pkt;
        struct nb_rx_pkt *r = &f->rx;
        uint32_t slots;

        memset(r, 0, sizeof(*r));
        r->data = p->data;
        r->len = p->len;
        r->xdp_headroom = q->xdp_headroom;
        switch (p->meta.gso) {
        case UPLINK_GSO_NONE:
                break;
        case UPLINK_GSO_TCPV4:
        case UPLINK_GSO_TCPV6:
                if (!(p->meta.gso == UPLINK_GSO_TCPV4 ? cfg->gso_tcpv4 : cfg->gso_tcpv6) ||
                    p->meta.gso_size == 0) {
                        q->st.rx_drop_gso++;
                        return false;
                }
                r->gso_type = p->meta.gso == UPLINK_GSO_TCPV4 ? XEN_NETIF_GSO_TYPE_TCPV4
                                                              : XEN_NETIF_GSO_TYPE_TCPV6;
                r->gso_size = p->meta.gso_size;
                break;
        default:
                q->st.rx_drop_gso++;
                return false;
        }
        if (p->meta.needs_csum) {
                bool v6 = p->len >= NB_ETH_HLEN && p->data[12] == 0x86 && p->data[13] == 0xdd;
                if (v6 ? cfg->csum_ipv6 : cfg->csum_ipv4) {
                        r->csum = NB_RX_CSUM_PARTIAL;
                } else if (r->gso_type == XEN_NETIF_GSO_TYPE_NONE &&
                           off_csum_complete_partial(p->data, p->len, p->meta.csum_start,
                                                     p->meta.csum_offset) == 0) {
                        /* The guest cannot finish it: do it here (Linux's
                         * netdev core does, via skb_checksum_help). */
                        r->csum = NB_RX_CSUM_UNNECESSARY;
                } else {
                        q->st.rx_drop_gso++;
                        return false;
                }
        } else if (p->meta.data_valid) {
                r->csum = NB_RX_CSUM_UNNECESSARY;
        }
        nb_rx_refresh_hash(q);
        if (q->hash.alg == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ &&
            nb_hash_frame(&q->hash, p->data, p->len, &r->hash_value, &r->hash_type)) {
                r->has_hash = true;
                q->st.rx_hashed++;
        }
        if (nb_rx_slots_needed(r, &slots) < 0 ||
            (!cfg->sg && slots - (r->gso_type != 0) - r->has_hash - (r->xdp_headroom != 0) > 1)) {
                q->st.rx_drop_size++;
                return false;
        }
        return true;
}

/* Moves frames from the uplink into the backlog, reading straight into the
 * free slots' buffers. A frame dropped on arrival leaves its slot free: the
 * next kept frame's buffer is swapped into it, so slots stay contiguous. */
static void nb_rx_fill(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        nb_rx_take_inbox(q);
        while (s->count < NB_RX_BACKLOG && s->bytes < NB_RX_BACKLOG_BYTES) {
                uint32_t room = NB_RX_BACKLOG - s->count;
                uint32_t want = room < NB_RX_READ_BATCH ? room : NB_RX_READ_BATCH;
                uint32_t count0 = s->count;
                int got;
                for (uint32_t i = 0; i < want; i++) {
                        uint32_t slot = (s->head + count0 + i) % NB_RX_BACKLOG;
                        s->reads[i].data = s->bufs[slot];
                        s->reads[i].cap = UPLINK_MAX_FRAME;
                }
                got = uplink_recv(q->upq, s->reads, want);
                if (got <= 0)
                        return;
                for (uint32_t i = 0; i < (uint32_t)got; i++) {
                        uint32_t from = (s->head + count0 + i) % NB_RX_BACKLOG;
                        uint32_t slot = (s->head + s->count) % NB_RX_BACKLOG;
                        struct nb_rx_frame *f = &s->frames[slot];
                        if (slot != from) {
                                uint8_t *b = s->bufs[slot];
                                s->bufs[slot] = s->bufs[from];
                                s->bufs[from] = b;
                        }
                        f->pkt = s->reads[i];
                        if (!nb_rx_mcast_pass(q, f->pkt.data, f->pkt.len)) {
                                q->st.rx_drop_mcast++;
                                continue;
                        }
                        if (!nb_rx_prepare(q, f))
                                continue;
                        uint32_t to = nb_rx_target(q, f);
                        if (to != q->idx) {
                                nb_rx_steer(q, slot, to);
                                continue;
                        }
                        s->count++;
                        s->bytes += f->pkt.len;
                }
                if ((uint32_t)got < want)
                        return;
        }
}

static void nb_rx_flush(struct nb_queue *q, uint32_t *delivered)
{
        struct nb_rx_state *s = q->rxs;
        if (s->n_segs) {
                int rc = xh_gnttab_copy(q->gt, s->n_segs, s->segs);
                q->st.rx_gcopy_calls++;
                q->st.rx_gcopy_segs += s->n_segs;
                for (uint32_t i = 0; i < s->n_segs; i++) {
                        int16_t st = rc < 0 ? GNTST_general_error : s->segs[i].status;
                        if (st != GNTST_okay) {
                                /* Linux xenvif_rx_copy_flush: the guest sees
                                 * the status in the slot; not fatal, the
                                 * guest only hurts itself. */
                                RING_GET_RESPONSE(&q->rx, s->seg_slot[i])->status = st;
                                q->st.rx_gcopy_errors++;
                        }
                }
        }
        s->n_segs = 0;
        /* The frames are in the guest now: free their backlog slots. */
        for (uint32_t i = 0; i < *delivered; i++) {
                s->bytes -= s->frames[s->head].pkt.len;
                s->head = (s->head + 1) % NB_RX_BACKLOG;
                s->count--;
        }
        *delivered = 0;
}

/* Enough requests for `needed` slots? If not, ask the guest to notify when
 * it posts more (Linux xenvif_rx_ring_slots_available). */
static bool nb_rx_slots_available(struct nb_queue *q, uint32_t needed)
{
        RING_IDX prod = q->rx.sring->req_prod;
        xen_rmb();
        if (prod - q->rx.req_cons >= needed)
                return true;
        q->rx.sring->req_event = prod + 1;
        xen_mb();
        prod = q->rx.sring->req_prod;
        return prod - q->rx.req_cons >= needed;
}

bool nb_rx_run(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        uint32_t delivered = 0, done = 0, cursor;
        int notify;
        bool more = false;

        nb_rx_fill(q);
        cursor = 0;
        while (cursor < s->count) {
                struct nb_rx_frame *f = &s->frames[(s->head + cursor) % NB_RX_BACKLOG];
                RING_IDX rp;
                int rc;

                if (done >= NB_RX_BUDGET) {
                        more = true;
                        break;
                }
                if (s->n_segs + NB_RX_MAX_DATA_SLOTS > NB_RX_SEGS) {
                        nb_rx_flush(q, &delivered);
                        cursor = 0;
                        continue;
                }
                if (!nb_rx_slots_available(q, 1)) {
                        s->blocked = true;
                        break;
                }
                rp = q->rx.sring->req_prod;
                xen_rmb();
                rc = nb_rx_plan_build(&q->rx, rp, q->vif->dev->fedom, &f->rx, &s->plan);
                if (rc == -EAGAIN) {
                        if (!nb_rx_slots_available(q, s->plan.nr_slots)) {
                                s->blocked = true;
                                break;
                        }
                        continue;
                }
                if (rc == -EPROTO) {
                        nb_rx_flush(q, &delivered);
                        nb_queue_fail(q, "rx ring: req_prod %u is %u past req_cons", rp,
                                      rp - q->rx.req_cons);
                        return false;
                }
                if (rc < 0 || nb_rx_plan_write_responses(&q->rx, &s->plan) < 0) {
                        /* Cannot happen after nb_rx_prepare; drop the frame. */
                        q->st.rx_drop_size++;
                        cursor++;
                        delivered++;
                        continue;
                }
                memcpy(&s->segs[s->n_segs], s->plan.segs, s->plan.nr_segs * sizeof(s->segs[0]));
                memcpy(&s->seg_slot[s->n_segs], s->plan.seg_slot,
                       s->plan.nr_segs * sizeof(s->seg_slot[0]));
                s->n_segs += s->plan.nr_segs;
                q->st.rx_packets++;
                q->st.rx_bytes += f->pkt.len;
                s->blocked = false;
                cursor++;
                delivered++;
                done++;
                if (cursor == s->count) {
                        /* Backlog empty: top it up in the same pass. */
                        nb_rx_flush(q, &delivered);
                        cursor = 0;
                        nb_rx_fill(q);
                }
        }
        nb_rx_flush(q, &delivered);
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->rx, notify);
        if (notify) {
                xh_evtchn_notify(q->ev, q->port_rx);
                q->st.rx_notify++;
        }
        /* Backpressure: stop reading the uplink while the backlog is full. */
        nb_rx_set_polling(q, s->count < NB_RX_BACKLOG && s->bytes < NB_RX_BACKLOG_BYTES);
        if (s->blocked && s->count) {
                if (!q->rx_timer_armed) {
                        q->st.rx_stalls++;
                        nb_timer_arm(q->rx_timer_fd,
                                     nb_now_ns() +
                                         (q->vif->cfg.rx_notify ? NB_RX_DRAIN_NS : NB_RX_POLL_NS));
                        q->rx_timer_armed = true;
                }
        } else if (q->rx_timer_armed) {
                nb_timer_arm(q->rx_timer_fd, 0);
                q->rx_timer_armed = false;
        }
        if (!s->blocked && s->count && !more)
                more = true;
        return more;
}

void nb_rx_drain(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        if (!s->blocked)
                return;
        q->st.rx_drop_stall += s->count;
        if (nb_ratelimit_ok(&q->rl, nb_now_ns()))
                pv_warn(q->ctx, "guest posted no receive buffers for %llu ms: dropped %u frames",
                        (unsigned long long)(NB_RX_DRAIN_NS / 1000000ull), s->count);
        s->head = (s->head + s->count) % NB_RX_BACKLOG;
        s->count = 0;
        s->bytes = 0;
        s->blocked = false;
}
