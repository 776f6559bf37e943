/* Guest RX (uplink → guest) on the queue's worker: read frames from the
 * uplink in batches into a bounded backlog, filter multicast, decide per
 * frame what the guest cannot finish itself (off_decide: complete a partial
 * checksum, segment a GSO frame in software, or drop), hash, then turn each
 * frame into the packets the guest gets (itself, its segments, or what LRO
 * emits), plan those into the guest's posted buffers (nb_rx_plan), grant-copy
 * many per call, push once per pass and notify as L3 decides (nb_notify.c).
 * When the guest posts nothing the backlog fills, the uplink is no longer
 * read (the host's queue drops), and after the drain timeout the backlog is
 * dropped. Linux: rx.c, interface.c; the software paths are what its netdev
 * core does for a vif without the offload (validate_xmit_skb) and what GRO
 * does on a NIC. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "netback/nb_rx_off.h"
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
/* Room before every frame buffer: the uplink reads its header there, so
 * a read takes one buffer instead of two (uplink_pkt.headroom). */
#define NB_RX_HEADROOM 16u
/* Linux rx_drain_timeout_msecs, and its 30 ms for frontends that never
 * notify (feature-rx-notify=0). */
#define NB_RX_DRAIN_NS   (10000ull * 1000000ull)
#define NB_RX_POLL_NS    (30ull * 1000000ull)
#define NB_RX_REWATCH_NS 1000000ull /* retry of a failed return to the epoll set */
/* Segments per call: full batch plus room for one more frame's data slots. */
#define NB_RX_SEGS (NB_COPY_BATCH + NB_RX_MAX_DATA_SLOTS)

/* How a backlog frame becomes packets for the guest. */
enum nb_rx_path {
        NB_RX_PATH_DIRECT,  /* itself, as prepared */
        NB_RX_PATH_SEGMENT, /* its segments (OFF_ACT_SEGMENT) */
        NB_RX_PATH_LRO,     /* whatever the queue's LRO emits for it */
};

struct nb_rx_frame {
        struct uplink_pkt pkt;
        struct nb_rx_pkt rx; /* prepared for the plan */
        enum nb_rx_path path;
        struct off_pkt_info pi; /* NB_RX_PATH_SEGMENT: its parsed headers, */
        uint32_t seg_next;      /* and the first segment of its next turn */
};

/* Packets the guest gets out of one frame (or one LRO flush), planned one by
 * one: the guest ring may run short in the middle, and the rest waits here
 * in order, ahead of every later frame. Up to a turn of a GSO frame's
 * segments. */
#define NB_RX_OUT_MAX NB_RX_GSO_SEGS_MAX
_Static_assert(NB_RX_OUT_MAX >= OFF_LRO_FLOWS_MAX + 1, "an LRO call's packets fit");

/* Where a packet's bytes live until its grant copy is issued. */
enum nb_rx_src {
        NB_RX_SRC_FRAME, /* the backlog frame's buffer */
        NB_RX_SRC_GSO,   /* the segment scratch: reused by the next segmented frame */
        NB_RX_SRC_LRO,   /* a buffer LRO lent: returned once its copies are issued */
};

struct nb_rx_out {
        uint32_t n, next;
        bool of_frame; /* the packets are the backlog frame's at the cursor */
        bool more;     /* ... which has segments left for another turn */
        uint8_t src[NB_RX_OUT_MAX];
        struct nb_rx_pkt pkts[NB_RX_OUT_MAX];
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
        xh_copy_seg_t segs[NB_RX_SEGS];
        RING_IDX seg_slot[NB_RX_SEGS];
        uint32_t n_segs;
        struct nb_rx_plan plan;
        bool blocked;         /* waiting for the guest to post buffers */
        uint64_t progress_ns; /* a pass that ended blocked last moved something */

        unsigned caps; /* the guest's (enum off_cap) */
        struct nb_rx_out out;
        /* Copies planned but not issued read the scratch: issue them
         * before it is written again. */
        bool gso_refs;
        /* ... and the backlog frames' buffers: with none (everything
         * planned came out of LRO or the segmenter), planned frames give
         * their slots back without waiting for the copies. */
        bool frame_refs;
        /* LRO packets planned (or dropped) since the copies were last
         * issued: their buffers go back to LRO once the copies are. */
        uint32_t lro_done;
        uint8_t *gso_mem;
        struct off_gso_seg *gso_segs;
        struct off_lro *lro; /* NULL: no LRO for this guest */
        struct off_lro_pkt *lro_pkts;
        uint32_t lro_max;
};

/* Buffers LRO lends: a grant-copy batch (NB_RX_SEGS) takes about five
 * 64 KiB packets or a few dozen small ones; past this many the batch goes
 * out early, which costs a call, not a packet. 16 x 64 KiB of address
 * space, of which only what is used gets touched. */
#define NB_RX_LRO_LEND 16u

/* LRO for a guest that takes GSO of a family (Linux GRO hands the same
 * guest merged packets too, when its netdev has GRO on the way in). */
static int nb_rx_lro_create(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        int rc;

        if (!(s->caps & (OFF_CAP_TSO4 | OFF_CAP_TSO6)))
                return 0;
        struct off_lro_config cfg = {.lend = NB_RX_LRO_LEND};
        rc = off_lro_create(&cfg, &s->lro);
        if (rc < 0)
                return rc;
        s->lro_max = off_lro_out_max(s->lro);
        s->lro_pkts = calloc(s->lro_max, sizeof(*s->lro_pkts));
        return s->lro_pkts ? 0 : -ENOMEM;
}

/* L4 as the queue starts (nb_queue_start copied the vif's settings). */
static int nb_rx_lro_alloc(struct nb_queue *q)
{
        return q->coal.l4 ? nb_rx_lro_create(q) : 0;
}

int nb_rx_lro_enable(struct nb_queue *q)
{
        int rc;
        if (q->rxs->lro)
                return 0;
        rc = nb_rx_lro_create(q);
        if (rc < 0) {
                off_lro_destroy(q->rxs->lro);
                q->rxs->lro = NULL;
                free(q->rxs->lro_pkts);
                q->rxs->lro_pkts = NULL;
        }
        return rc;
}

/* A frame buffer with NB_RX_HEADROOM before it. Large buffers come from
 * mmap: untouched pages cost no memory, so MTU-sized traffic keeps the
 * footprint small. */
static uint8_t *nb_rx_buf_new(void)
{
        uint8_t *b = malloc(NB_RX_HEADROOM + UPLINK_MAX_FRAME);
        return b ? b + NB_RX_HEADROOM : NULL;
}

static void nb_rx_buf_free(uint8_t *b)
{
        if (b)
                free(b - NB_RX_HEADROOM);
}

int nb_rx_state_alloc(struct nb_queue *q)
{
        struct nb_rx_state *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        q->rxs = s;
        s->caps = nb_rx_guest_caps(&q->vif->cfg);
        s->gso_mem = malloc(NB_RX_GSO_MEM);
        s->gso_segs = calloc(NB_RX_GSO_SEGS_MAX, sizeof(*s->gso_segs));
        if (!s->gso_mem || !s->gso_segs || nb_rx_lro_alloc(q) < 0)
                goto fail;
        for (uint32_t i = 0; i < NB_RX_BACKLOG; i++) {
                s->bufs[i] = nb_rx_buf_new();
                if (!s->bufs[i])
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
                nb_rx_buf_free(s->bufs[i]);
        if (s->lro)
                q->st.lro = *off_lro_get_stats(s->lro);
        off_lro_destroy(s->lro);
        free(s->lro_pkts);
        free(s->gso_segs);
        free(s->gso_mem);
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
                ib->bufs[i] = nb_rx_buf_new();
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
                nb_rx_buf_free(ib->bufs[i]);
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

/* QoS early drop, on the queue that delivers the frame (its bucket is the
 * part of the vif's allocation sized by what that queue delivers): after
 * the drops that would happen anyway (multicast filter, nb_rx_prepare) and
 * before any grant copy, which is what dropping early saves. One clock
 * read per batch: *now is 0 until the first frame that meets a limit. */
static bool nb_rx_admit(struct nb_queue *q, const struct nb_rx_frame *f, uint64_t *now)
{
        if (!q->rx_bucket.bytes_per_s)
                return true;
        if (!*now)
                *now = nb_now_ns();
        return nb_queue_rx_admit(q, f->pkt.len, *now);
}

/* Moves steered frames into this queue's backlog, as room allows; those
 * beyond this queue's QoS part are dropped here, not by the sender. */
static void nb_rx_take_inbox(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        struct nb_rx_inbox *ib = q->inbox;
        uint64_t now = 0;

        if (!ib || atomic_load_explicit(&ib->count, memory_order_relaxed) == 0)
                return;
        pthread_mutex_lock(&ib->lock);
        while (atomic_load(&ib->count) && s->count < NB_RX_BACKLOG &&
               s->bytes < NB_RX_BACKLOG_BYTES) {
                uint32_t slot = (s->head + s->count) % NB_RX_BACKLOG;
                struct nb_rx_frame *f = &ib->frames[ib->head];
                bool admitted = nb_rx_admit(q, f, &now);
                if (admitted) {
                        /* Swap: a dropped frame's buffer stays the inbox's spare. */
                        uint8_t *empty = s->bufs[slot];
                        s->bufs[slot] = ib->bufs[ib->head];
                        s->frames[slot] = *f;
                        ib->bufs[ib->head] = empty;
                }
                ib->head = (ib->head + 1) % NB_RX_INBOX;
                atomic_fetch_sub(&ib->count, 1);
                if (!admitted)
                        continue;
                s->count++;
                s->bytes += s->frames[slot].pkt.len;
                q->st.rx_steered_in++;
        }
        pthread_mutex_unlock(&ib->lock);
}

static void nb_rx_set_polling(struct nb_queue *q, bool on)
{
        int rc;
        if (!q->up_polling || on != q->up_paused)
                return;
        rc = worker_mod_fd(q->w, q->up_fd, on ? EPOLLIN : 0);
        if (rc == 0) {
                q->up_paused = !on;
                return;
        }
        if (nb_ratelimit_ok(&q->rl, nb_now_ns()))
                pv_warn(q->ctx, "%s the uplink %s the worker's epoll set: %s",
                        on ? "putting" : "taking", on ? "into" : "out of", strerror(-rc));
        /* Frames may wait in the TAP with nothing else due to run the
         * queue (epoll_ctl ADD can fail: ENOMEM, max_user_watches): the
         * RX timer brings a pass that tries again. */
        if (on && !q->rx_timer_armed &&
            nb_timer_arm(q->rx_timer_fd, nb_now_ns() + NB_RX_REWATCH_NS) == 0)
                q->rx_timer_armed = true;
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

/* The one per-frame offload decision: uplink metadata against what the guest
 * negotiated (off_decide), counted in rx_off as decided; what the guest
 * cannot finish is done here or on the way out. false: drop (counted). */
static bool nb_rx_prepare(struct nb_queue *q, struct nb_rx_frame *f)
{
        struct nb_rx_state *s = q->rxs;
        struct uplink_pkt *p = &f->pkt;
        struct nb_rx_pkt *r = &f->rx;
        struct off_meta m;
        uint32_t slots;
        unsigned act;

        memset(r, 0, sizeof(*r));
        r->data = p->data;
        r->len = p->len;
        r->xdp_headroom = q->xdp_headroom;
        f->path = NB_RX_PATH_DIRECT;
        f->seg_next = 0;
        nb_rx_off_meta(&p->meta, p->data, p->len, nb_rx_data_slots_needed(r), &m);
        act = off_decide(&m, s->caps);
        /* A guest slot is one page: a frame a guest without SG would need in
         * several cannot be made to fit (Linux clamps such a vif's MTU). */
        if (act & OFF_ACT_LINEARIZE) {
                off_path_count(&q->st.rx_off, &m, OFF_ACT_DROP);
                q->st.rx_drop_size++;
                return false;
        }
        off_path_count(&q->st.rx_off, &m, act);
        if (act & OFF_ACT_DROP) {
                q->st.rx_drop_gso++;
                return false;
        }
        if (act & OFF_ACT_SEGMENT) {
                if (nb_rx_segment_check(p->data, p->len, &p->meta, &f->pi) < 0) {
                        q->st.rx_off.dropped++;
                        q->st.rx_drop_gso++;
                        return false;
                }
                f->path = NB_RX_PATH_SEGMENT;
        } else if (m.gso != OFF_GSO_KIND_NONE) {
                /* A GSO extra with size 0 is fatal to a Linux guest. */
                if (p->meta.gso_size == 0) {
                        q->st.rx_off.dropped++;
                        q->st.rx_drop_gso++;
                        return false;
                }
                r->gso_type = m.gso == OFF_GSO_KIND_TCP4 ? XEN_NETIF_GSO_TYPE_TCPV4
                                                         : XEN_NETIF_GSO_TYPE_TCPV6;
                r->gso_size = p->meta.gso_size;
        }
        /* Linux netback's mapping: CHECKSUM_PARTIAL is csum_blank |
         * data_validated, CHECKSUM_UNNECESSARY data_validated. */
        if (p->meta.needs_csum) {
                if (act & OFF_ACT_CSUM) {
                        /* The guest cannot finish it: do it here (Linux's
                         * netdev core does, via skb_checksum_help). */
                        if (off_csum_complete_partial(p->data, p->len, p->meta.csum_start,
                                                      p->meta.csum_offset) < 0) {
                                q->st.rx_off.dropped++;
                                return false;
                        }
                        r->csum = NB_RX_CSUM_UNNECESSARY;
                } else {
                        r->csum = NB_RX_CSUM_PARTIAL;
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
        if (f->path == NB_RX_PATH_SEGMENT) {
                /* The largest segment must reach the guest the way it takes
                 * frames: in one slot without SG. */
                struct nb_rx_pkt seg = *r;
                uint16_t mss = p->meta.gso_size;
                seg.len = f->pi.payload_off + (f->pi.payload_len < mss ? f->pi.payload_len : mss);
                seg.gso_type = XEN_NETIF_GSO_TYPE_NONE;
                seg.gso_size = 0;
                if (nb_rx_slots_needed(&seg, &slots) < 0 ||
                    (!(s->caps & OFF_CAP_SG) && nb_rx_data_slots_needed(&seg) > 1)) {
                        q->st.rx_drop_size++;
                        return false;
                }
                return true;
        }
        if (nb_rx_slots_needed(r, &slots) < 0) {
                q->st.rx_drop_size++;
                return false;
        }
        if (s->lro && q->coal.l4 && nb_rx_lro_candidate(p->data, p->len, s->caps))
                f->path = NB_RX_PATH_LRO;
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
                uint64_t now = 0; /* nb_rx_admit: read at its first frame */
                int got;
                for (uint32_t i = 0; i < want; i++) {
                        uint32_t slot = (s->head + count0 + i) % NB_RX_BACKLOG;
                        s->reads[i].data = s->bufs[slot];
                        s->reads[i].cap = UPLINK_MAX_FRAME;
                        s->reads[i].headroom = NB_RX_HEADROOM;
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
                        if (!nb_rx_admit(q, f, &now))
                                continue;
                        s->count++;
                        s->bytes += f->pkt.len;
                }
                if ((uint32_t)got < want)
                        return;
        }
}

/* Reads more frames while the backlog has free slots; true if any came. */
static bool nb_rx_fill_more(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        uint32_t before = s->count;

        if (s->count >= NB_RX_BACKLOG || s->bytes >= NB_RX_BACKLOG_BYTES)
                return false;
        nb_rx_fill(q);
        return s->count > before;
}

static void nb_rx_free_slots(struct nb_rx_state *s, uint32_t *delivered);

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
        s->gso_refs = s->frame_refs = false;
        if (s->lro)
                off_lro_release(s->lro, s->lro_done);
        s->lro_done = 0;
        /* The frames are in the guest now: free their backlog slots. */
        nb_rx_free_slots(s, delivered);
}

/* Backlog slots of the `delivered` frames planned, for reading more. */
static void nb_rx_free_slots(struct nb_rx_state *s, uint32_t *delivered)
{
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

static void nb_rx_out_push(struct nb_rx_out *o, const struct nb_rx_pkt *pkt, enum nb_rx_src src)
{
        o->src[o->n] = (uint8_t)src;
        o->pkts[o->n++] = *pkt;
}

static void nb_rx_out_reset(struct nb_rx_out *o)
{
        o->n = o->next = 0;
        o->of_frame = o->more = false;
}

/* Plans the next waiting packet into the guest's ring and queues its
 * copies. 0: planned (or dropped, counted); -EAGAIN: too few requests posted
 * (s->blocked, the guest notifies when it posts); -EPROTO: the queue failed. */
static int nb_rx_deliver(struct nb_queue *q, uint32_t *delivered)
{
        struct nb_rx_state *s = q->rxs;
        struct nb_rx_out *o = &s->out;
        const struct nb_rx_pkt *pkt = &o->pkts[o->next];
        RING_IDX rp;
        int rc;

        for (;;) {
                if (!nb_rx_slots_available(q, 1)) {
                        s->blocked = true;
                        return -EAGAIN;
                }
                rp = q->rx.sring->req_prod;
                xen_rmb();
                rc = nb_rx_plan_build(&q->rx, rp, q->vif->dev->fedom, pkt, &s->plan);
                if (rc != -EAGAIN)
                        break;
                if (!nb_rx_slots_available(q, s->plan.nr_slots)) {
                        s->blocked = true;
                        return -EAGAIN;
                }
        }
        if (rc == -EPROTO) {
                nb_rx_flush(q, delivered);
                nb_queue_fail(q, "rx ring: req_prod %u is %u past req_cons", rp,
                              rp - q->rx.req_cons);
                return -EPROTO;
        }
        if (rc < 0 || nb_rx_plan_write_responses(&q->rx, &s->plan) < 0) {
                /* A packet the guest cannot take: checked for frames in
                 * nb_rx_prepare, and what LRO builds fits 18 slots. */
                q->st.rx_drop_size++;
        } else {
                memcpy(&s->segs[s->n_segs], s->plan.segs, s->plan.nr_segs * sizeof(s->segs[0]));
                memcpy(&s->seg_slot[s->n_segs], s->plan.seg_slot,
                       s->plan.nr_segs * sizeof(s->seg_slot[0]));
                s->n_segs += s->plan.nr_segs;
                s->gso_refs |= o->src[o->next] == NB_RX_SRC_GSO;
                s->frame_refs |= o->src[o->next] == NB_RX_SRC_FRAME;
                q->st.rx_packets++;
                q->st.rx_bytes += pkt->len;
                s->blocked = false;
        }
        if (o->src[o->next] == NB_RX_SRC_LRO)
                s->lro_done++;
        if (++o->next == o->n) {
                /* The frame's last packet is planned: its slot is freed
                 * once the copies are issued. A frame with segments left
                 * stays at the cursor, and nb_rx_run makes its next turn. */
                if (o->of_frame && !o->more)
                        (*delivered)++;
                nb_rx_out_reset(o);
        }
        return 0;
}

/* LRO's packets, in the order it returned them: its PASS packet is the
 * frame `f` as prepared; the others live in LRO's buffers. */
static void nb_rx_take_lro(struct nb_queue *q, const struct off_lro_out *lo,
                           const struct nb_rx_frame *f)
{
        struct nb_rx_state *s = q->rxs;

        for (uint32_t i = 0; i < lo->n; i++) {
                const struct off_lro_pkt *p = &lo->pkts[i];
                struct nb_rx_pkt r;

                if (p->flags & OFF_LRO_PKT_PASS) {
                        if (f)
                                nb_rx_out_push(&s->out, &f->rx, NB_RX_SRC_FRAME);
                        continue;
                }
                nb_rx_pkt_from_lro(p, &r);
                r.xdp_headroom = q->xdp_headroom;
                /* One flow, one hash: that of its first segment. */
                if (q->hash.alg == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
                        r.has_hash =
                            nb_hash_frame(&q->hash, r.data, r.len, &r.hash_value, &r.hash_type);
                nb_rx_out_push(&s->out, &r, NB_RX_SRC_LRO);
        }
}

/* Segments in software (OFF_ACT_SEGMENT). Into the queue's scratch with
 * OFF_GSO_COPY rather than OFF_GSO_SLICE: the full checksum every segment
 * needs reads each payload byte anyway, and copying in that same pass
 * (off_csum_copy) only adds writes into a scratch small enough to stay in
 * cache. In exchange each segment is one contiguous source: one grant-copy
 * op per segment instead of two (header, payload), and every op carries a
 * fixed cost in the hypervisor (grant lookup, lock and map on both sides)
 * whatever its length; nb_rx_plan keeps taking one flat frame. A turn of
 * the frame's segments is made at a time (NB_RX_GSO_SEGS_MAX); if the guest
 * ring runs short, the rest of the turn waits in the scratch, in order, and
 * nothing after the frame moves until its last turn is planned. */
static void nb_rx_produce_segments(struct nb_queue *q, struct nb_rx_frame *f)
{
        struct nb_rx_state *s = q->rxs;
        struct off_gso_out go = {.mem = s->gso_mem,
                                 .mem_len = NB_RX_GSO_MEM,
                                 .segs = s->gso_segs,
                                 .max_segs = NB_RX_GSO_SEGS_MAX};
        struct nb_rx_pkt tmpl = f->rx;
        uint16_t mss = f->pkt.meta.gso_size;
        int n = nb_rx_segment(f->pkt.data, f->pkt.len, &f->pi, mss, f->seg_next, &go, &tmpl,
                              s->out.pkts, NB_RX_OUT_MAX);

        if (n < 0) {
                /* Checked in nb_rx_prepare, alike for every turn: an
                 * internal error. The frame is dropped (counted once, its
                 * first turn being the one to fail). */
                q->st.rx_off.dropped++;
                if (nb_ratelimit_ok(&q->rl, nb_now_ns()))
                        pv_err(q->ctx, "segmenting a %u-byte GSO frame at MSS %u failed: %s",
                               f->pkt.len, mss, strerror(-n));
                return;
        }
        for (int i = 0; i < n; i++)
                s->out.src[i] = NB_RX_SRC_GSO;
        s->out.n = (uint32_t)n;
        f->seg_next += (uint32_t)n;
        s->out.more = f->seg_next < off_gso_seg_count(&f->pi, mss);
        q->st.rx_off.gso_sw_segs += (uint64_t)n;
}

/* -EBUSY: every buffer LRO lends is in copies not yet issued. */
static int nb_rx_produce_lro(struct nb_queue *q, struct nb_rx_frame *f)
{
        struct nb_rx_state *s = q->rxs;
        struct off_lro_out lo = {.pkts = s->lro_pkts, .max = s->lro_max};
        int rc = off_lro_add(s->lro, f->pkt.data, f->pkt.len, nb_rx_lro_rx(&f->pkt.meta),
                             nb_now_ns(), &lo);

        if (rc == -EBUSY)
                return rc;
        if (rc < 0) {
                /* Only a wrong out size fails: deliver the frame as it is. */
                nb_rx_out_push(&s->out, &f->rx, NB_RX_SRC_FRAME);
                return 0;
        }
        nb_rx_take_lro(q, &lo, f);
        return 0;
}

/* The packets the guest gets for backlog frame `f`, into s->out (none when
 * LRO holds it or it failed). -EBUSY: copies not yet issued still read the
 * memory this would overwrite; issue them and call again. */
static int nb_rx_produce(struct nb_queue *q, struct nb_rx_frame *f)
{
        struct nb_rx_state *s = q->rxs;

        nb_rx_out_reset(&s->out);
        switch (f->path) {
        case NB_RX_PATH_SEGMENT:
                if (s->gso_refs)
                        return -EBUSY;
                nb_rx_produce_segments(q, f);
                break;
        case NB_RX_PATH_LRO:
                /* Decided by the queue the frame came in on (steering);
                 * every queue of a vif has the same LRO setup, so this is
                 * only a guard. */
                if (!s->lro) {
                        nb_rx_out_push(&s->out, &f->rx, NB_RX_SRC_FRAME);
                        break;
                }
                if (nb_rx_produce_lro(q, f) == -EBUSY)
                        return -EBUSY;
                break;
        default:
                nb_rx_out_push(&s->out, &f->rx, NB_RX_SRC_FRAME);
                break;
        }
        s->out.of_frame = s->out.n != 0;
        return 0;
}

static void nb_rx_lro_hold_of(const struct nb_queue *q, uint64_t now, struct nb_rx_lro_hold *h)
{
        h->l3_holding = q->coal.l3 != NB_COAL_OFF && q->coal_rx.holding;
        h->l3_deadline = nb_coal_deadline(&q->coal_rx, &q->coal);
        h->lro_deadline = off_lro_deadline(q->rxs->lro);
        h->now = now;
}

/* Emits held packets into s->out: all of them (@why BATCH or HOLD_END) or
 * the expired ones (AGE). */
static void nb_rx_lro_emit(struct nb_queue *q, enum off_lro_reason why, uint64_t now)
{
        struct nb_rx_state *s = q->rxs;
        struct off_lro_out lo = {.pkts = s->lro_pkts, .max = s->lro_max};
        int rc = why == OFF_LRO_R_AGE ? off_lro_flush_expired(s->lro, now, &lo)
                                      : off_lro_flush_all_for(s->lro, now, why, &lo);

        nb_rx_out_reset(&s->out);
        if (rc == 0)
                nb_rx_take_lro(q, &lo, NULL);
}

/* End of a batch (Linux: napi_gro_flush at the end of a poll): nothing read
 * stays held waiting for a next frame, unless L3 is holding the RX
 * notification: then the flows stay open, to go out with it
 * (nb_rx_lro_close), no later than LRO's own age bound (the coalescing
 * timer wakes for whichever comes first). Without a hold, a pass ends with
 * LRO holding packets only while the guest ring is full (they could not
 * leave anyway, and the guest's notification resumes the pass) or when the
 * budget ran out (the queue is kicked at once); within a pass off_lro_add
 * emits whatever aged out. false: the flows stay open. */
static bool nb_rx_lro_flush(struct nb_queue *q)
{
        uint64_t now = nb_now_ns();
        struct nb_rx_lro_hold h;
        enum off_lro_reason why;

        nb_rx_lro_hold_of(q, now, &h);
        why = nb_rx_lro_pass_end(&h);
        if (why == OFF_LRO_R_NONE)
                return false;
        nb_rx_lro_emit(q, why, now);
        return true;
}

/* The guest ring is full with packets waiting: the drain timer (or, for a
 * frontend that never notifies, the poll timer) resumes the queue. */
static void nb_rx_stall_arm(struct nb_queue *q)
{
        if (q->rx_timer_armed)
                return;
        q->st.rx_stalls++;
        nb_timer_arm(q->rx_timer_fd,
                     nb_now_ns() + (q->vif->cfg.rx_notify ? NB_RX_DRAIN_NS : NB_RX_POLL_NS));
        q->rx_timer_armed = true;
}

/* Delivers what s->out holds, issues the copies and pushes the responses
 * (outside a pass: from the coalescing side). */
static void nb_rx_deliver_out(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        uint32_t delivered = 0, next0 = s->out.next;
        int rc = 0;

        while (s->out.next < s->out.n) {
                if (s->n_segs + NB_RX_MAX_DATA_SLOTS > NB_RX_SEGS)
                        nb_rx_flush(q, &delivered);
                rc = nb_rx_deliver(q, &delivered);
                if (rc < 0)
                        break;
        }
        if (rc == -EPROTO)
                return; /* the queue failed (nb_rx_deliver flushed) */
        nb_rx_flush(q, &delivered);
        q->st.lro = *off_lro_get_stats(s->lro);
        RING_PUSH_RESPONSES(&q->rx);
        if (rc == -EAGAIN) {
                if (s->out.next != next0)
                        s->progress_ns = nb_now_ns();
                nb_rx_stall_arm(q);
        }
}

/* Flows kept open past a pass leave: all of them when the RX notification
 * is about to be sent (@hold_end), else those LRO's age bound reached.
 * Only when nothing else waits for the ring: packets of an earlier frame
 * go first, and a guest ring that is full resumes a pass when it has room,
 * whose end flushes them. */
void nb_rx_lro_close(struct nb_queue *q, bool hold_end)
{
        struct nb_rx_state *s = q->rxs;
        uint64_t now = nb_now_ns();

        if (!s || !s->lro || !off_lro_held(s->lro) || s->out.next < s->out.n)
                return;
        if (!hold_end && now < off_lro_deadline(s->lro))
                return;
        nb_rx_lro_emit(q, hold_end ? OFF_LRO_R_HOLD_END : OFF_LRO_R_AGE, now);
        nb_rx_deliver_out(q);
}

uint64_t nb_rx_lro_wake(const struct nb_queue *q)
{
        const struct nb_rx_state *s = q->rxs;
        struct nb_rx_lro_hold h;

        if (!s || !s->lro || !off_lro_held(s->lro) || s->out.next < s->out.n)
                return 0;
        nb_rx_lro_hold_of(q, nb_now_ns(), &h);
        return nb_rx_lro_wake_at(&h);
}

/* A zero expiry disarms (nb_timer_arm(fd, 0) would fire at once, and a
 * firing drain timer drops the backlog of a guest that is merely busy). */
static void nb_rx_timer_disarm(struct nb_queue *q)
{
        struct itimerspec off = {0};
        timerfd_settime(q->rx_timer_fd, 0, &off, NULL);
        q->rx_timer_armed = false;
}

/* A copy batch within a pass: its responses go out at once (the guest may
 * be polling, or about to run out of buffers), not at the pass's end. */
static void nb_rx_flush_batch(struct nb_queue *q, uint32_t *delivered)
{
        nb_rx_flush(q, delivered);
        nb_notify_rx_batch(q);
}

bool nb_rx_run(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        uint32_t delivered = 0, done = 0;
        uint64_t pkts0 = q->st.rx_packets;
        bool more = false;

        nb_rx_fill(q);
        for (;;) {
                if (done >= q->coal.l2_budget) {
                        more = true;
                        break;
                }
                if (s->n_segs + NB_RX_MAX_DATA_SLOTS > NB_RX_SEGS) {
                        nb_rx_flush_batch(q, &delivered);
                        continue;
                }
                /* Packets already made go first, whatever their origin. */
                if (s->out.next < s->out.n) {
                        int rc = nb_rx_deliver(q, &delivered);
                        if (rc == -EAGAIN)
                                break;
                        if (rc == -EPROTO)
                                return false;
                        done++;
                        continue;
                }
                if (delivered < s->count) {
                        struct nb_rx_frame *f = &s->frames[(s->head + delivered) % NB_RX_BACKLOG];
                        if (nb_rx_produce(q, f) == -EBUSY) {
                                nb_rx_flush_batch(q, &delivered);
                                continue;
                        }
                        if (!s->out.of_frame) {
                                /* Held by LRO (copied there) or dropped. */
                                delivered++;
                                done++;
                        }
                        continue;
                }
                /* Backlog planned: read what came into the free slots;
                 * when there are none, free the planned frames' slots,
                 * issuing the copies first only if they read those frames
                 * (LRO's and the segmenter's packets live elsewhere), so
                 * one call carries the copies of as many packets as the
                 * batch holds. */
                if (nb_rx_fill_more(q))
                        continue;
                if (s->count) {
                        if (s->frame_refs)
                                nb_rx_flush_batch(q, &delivered);
                        else
                                nb_rx_free_slots(s, &delivered);
                        nb_rx_fill(q);
                        if (s->count)
                                continue;
                }
                if (s->lro && off_lro_held(s->lro) && nb_rx_lro_flush(q))
                        continue;
                break;
        }
        nb_rx_flush(q, &delivered);
        if (s->lro)
                q->st.lro = *off_lro_get_stats(s->lro);
        bool waiting = s->count || s->out.next < s->out.n;
        if (s->blocked && waiting) {
                if (done)
                        s->progress_ns = nb_now_ns();
                nb_rx_stall_arm(q);
        } else if (q->rx_timer_armed) {
                nb_rx_timer_disarm(q);
        }
        if (!s->blocked && waiting && !more)
                more = true;
        /* Wake-ups from the uplink only while they are what the queue waits
         * for: not while the backlog is full (backpressure), nor while the
         * pass comes back by itself. Every frame the kernel queues on a
         * watched TAP runs epoll's callback in the sender's context. */
        nb_rx_set_polling(q, s->count < NB_RX_BACKLOG && s->bytes < NB_RX_BACKLOG_BYTES && !more);
        /* LRO flushed above, or kept open while L3 holds: then the
         * notification's release closes it first (nb_rx_lro_close). */
        nb_notify_rx(q, (uint32_t)(q->st.rx_packets - pkts0), more);
        return more;
}

void nb_rx_drain(struct nb_queue *q)
{
        struct nb_rx_state *s = q->rxs;
        uint32_t lost;
        /* Only a guest that took nothing for the whole timeout loses the
         * backlog (Linux drops what waited that long); a busy one that
         * keeps the ring full is re-armed by the pass that follows. */
        if (!s->blocked || nb_now_ns() - s->progress_ns < NB_RX_DRAIN_NS)
                return;
        /* Everything waiting: the backlog (which holds the frame whose
         * packets are half delivered), packets of an LRO flush, and what
         * LRO still holds. A pass always ends with its copies issued, so
         * nothing planned refers to the scratch or LRO's buffers now. */
        lost = s->count;
        if (!s->out.of_frame)
                lost += s->out.n - s->out.next;
        nb_rx_out_reset(&s->out);
        if (s->lro) {
                struct off_lro_out lo = {.pkts = s->lro_pkts, .max = s->lro_max};
                if (off_lro_held(s->lro) && off_lro_flush_all(s->lro, nb_now_ns(), &lo) == 0)
                        lost += lo.n;
                off_lro_release(s->lro, off_lro_lent(s->lro));
                q->st.lro = *off_lro_get_stats(s->lro);
        }
        s->lro_done = 0;
        q->st.rx_drop_stall += lost;
        if (nb_ratelimit_ok(&q->rl, nb_now_ns()))
                pv_warn(q->ctx, "guest posted no receive buffers for %llu ms: dropped %u frames",
                        (unsigned long long)(NB_RX_DRAIN_NS / 1000000ull), lost);
        s->head = (s->head + s->count) % NB_RX_BACKLOG;
        s->count = 0;
        s->bytes = 0;
        s->blocked = false;
        s->gso_refs = s->frame_refs = false;
}
