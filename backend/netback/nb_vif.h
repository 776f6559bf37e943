/* Netback's shared internals: the vif (one per backend device) and its queues
 * (one per ring pair, owned by one worker). The files of the component:
 * nb_xenbus.c (the be_class: xenstore and lifecycle, control thread),
 * nb_queue.c (a queue's rings, channels and fds on its worker), nb_tx.c and
 * nb_rx.c (data path), nb_ctrl.c (control ring), nb_notify.c and nb_poll.c
 * (coalescing on the worker, decided by nb_coal.c), nb_set.c (runtime
 * settings). Not a public API. */
#ifndef PVBACK_NB_VIF_H
#define PVBACK_NB_VIF_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "be_dev.h"
#include "netback/nb_coal.h"
#include "netback/nb_credit.h"
#include "netback/nb_fe_parse.h"
#include "netback/nb_hash.h"
#include "netback/nb_limits.h"
#include "netback/nb_mcast.h"
#include "netback/nb_stats.h"
#include "netback/nb_tx_parse.h"
#include "uplink/uplink.h"
#include "xh.h"

struct worker;

/* IFNAMSIZ: a netdev name and its terminator. */
#define NB_NETDEV_NAME_MAX 16
struct nb_tx_state;
struct nb_rx_state;
struct nb_ctrl;
struct nb_dyncap;
struct nb_qos_vif;

/* Lines a guest can trigger: a few per second per queue, then a count. */
struct nb_ratelimit {
        uint64_t window_start;
        uint32_t printed;
        uint32_t suppressed;
};
bool nb_ratelimit_ok(struct nb_ratelimit *rl, uint64_t now_ns);

struct nb_queue {
        struct nb_vif *vif;
        uint32_t idx;
        char ctx[64]; /* "vif5.0 q1" */
        struct worker *w;
        const struct nb_fe_queue *fe; /* rings and ports from the frontend */

        struct xh_gnttab *gt;
        struct xh_evtchn *ev;
        int ev_fd;
        uint32_t port_tx, port_rx; /* local ports (equal when shared) */
        void *tx_page, *rx_page;
        netif_tx_back_ring_t tx;
        netif_rx_back_ring_t rx;

        struct uplink_queue *upq;
        int up_fd;
        bool up_polling; /* up_fd is registered with the worker (worker_add_fd) */
        bool up_paused;  /* ... but out of its epoll set: backlog full, or the pass comes back */
        int kick_fd;     /* eventfd: more work than one pass's budget */
        int credit_fd;   /* timerfd: rate-limit refill */
        int rx_timer_fd; /* timerfd: RX drain/poll while the guest posts nothing */
        bool credit_armed, rx_timer_armed;
        bool started; /* fds registered; stop must undo */
        bool dead;    /* guest error: never touch the rings again */

        struct nb_tx_parse_cfg parse_cfg;
        struct nb_credit credit;
        uint16_t xdp_headroom;
        struct nb_tx_state *txs;
        struct nb_rx_state *rxs;
        /* Frames other queues steered here by the hash mapping. Lives from
         * connect to after every queue stopped (any worker may push). */
        struct nb_rx_inbox *inbox;

        uint64_t hash_gen;       /* generation of the cached copy below */
        struct nb_hash_cfg hash; /* this queue's copy of vif->hash */

        /* The `rate` key's limit (nb_queue_set_rate), kept so that the
         * tighter of it and the QoS allocation applies. */
        bool rate_limited;
        uint64_t rate_bytes, rate_usec;
        /* QoS (nb_qos.c): the control thread stores this queue's share of
         * the vif's allocation every tick, in bytes per second (0: no
         * limit); the worker applies it at its next pass. */
        atomic_uint_fast64_t qos_tx_bytes_per_s, qos_rx_bytes_per_s;
        uint64_t qos_tx_applied, qos_rx_applied;
        struct nb_bucket rx_bucket;
        /* Coalescing (nb_coal.h, nb_notify.c): this queue's copy of the
         * vif's settings, the controller of each direction, the L2 poll,
         * the timer bounding a held notification, and where each ring was
         * last checked for the guest's rsp_event. */
        struct nb_coal_cfg coal;
        struct nb_coal_dir coal_rx, coal_tx;
        struct nb_coal_poll poll;
        int coal_fd; /* timerfd */
        bool coal_armed;
        uint64_t coal_armed_at;
        RING_IDX rx_checked, tx_checked;
        /* The guest's req_prod when TX last stopped for want of requests
         * (none, or a packet whose slots are not all published): only a
         * new one is new TX work (nb_poll.c). */
        RING_IDX tx_seen;
        /* The guest's TX ring was full at a copy batch: it waits for room,
         * and gets its notification once half the ring is free again. */
        bool tx_starved;

        struct nb_ratelimit rl;
        struct nb_queue_stats st;
};

struct nb_vif {
        struct be_dev *dev;
        struct uplink *up;
        uint32_t max_queues;
        struct nb_fe_cfg cfg;
        uint32_t nr_queues;
        struct nb_queue *queues;
        bool connected;
        atomic_bool disabled;      /* a queue caught a guest error */
        atomic_bool mcast_control; /* request-multicast-control, live */
        /* Coalescing settings for queues started from now on (control
         * thread; `set` also hands them to the running queues). */
        struct nb_coal_cfg coal;
        /* What the uplink finishes of guest TX (enum off_cap), as last read
         * from its netdev by the control thread (nb_txcaps.c); each TX batch
         * loads it once. */
        atomic_uint tx_caps;

        /* Shared by the queues: the TX side of any queue changes the
         * multicast list, RX on every queue reads it; the control ring
         * changes the hash, every RX queue reads it. Both change rarely, so
         * a mutex taken only on those paths (never per frame when unused). */
        pthread_mutex_t lock;
        struct nb_mcast mcast;
        struct nb_hash_cfg hash;
        atomic_uint_fast64_t hash_gen;
        atomic_uint mcast_count;

        struct nb_ctrl *ctrl;
        /* The dynamic capability exchange (nb_dyncap.c); NULL when not
         * offered. Control thread only. */
        struct nb_dyncap *dyncap;
        struct nb_qos_vif *qos; /* nb_qos.c: settings and scheduler state */
        uint32_t connects;      /* connections so far: a new one restarts the counters */
        /* BE/bridge as the toolstack wrote it at probe, if a netdev name;
         * else "". The QoS group and the exchange's uplink section. */
        char bridge[NB_NETDEV_NAME_MAX];
};

uint64_t nb_now_ns(void);

/* nb_xenbus.c: whether @name can be a Linux netdev name (1 to IFNAMSIZ - 1
 * characters of [A-Za-z0-9._-]; stricter than the kernel's dev_valid_name,
 * which takes any byte but '/', ':' and whitespace). */
bool nb_netdev_name_ok(const char *name);

/* nb_queue.c: run on the queue's worker through worker_call. */
int nb_queue_start(struct worker *w, void *arg);
int nb_queue_stop(struct worker *w, void *arg);
/* The rate changed: arg is a struct nb_rate_update. */
struct nb_rate_update {
        struct nb_queue *q;
        bool limited;
        uint64_t bytes, usec;
};
int nb_queue_set_rate(struct worker *w, void *arg);
struct nb_headroom_update {
        struct nb_queue *q;
        uint16_t headroom;
};
int nb_queue_set_headroom(struct worker *w, void *arg);
/* Worker: takes up the QoS limits the control thread stored (start of a
 * pass), and admits or refuses a frame of `len` bytes at `now` (the RX
 * batch's clock) against the RX limit of the queue that delivers it
 * (false: drop it before any copy, counted in rx_drop_qos). */
void nb_queue_qos_apply(struct nb_queue *q);
bool nb_queue_rx_admit(struct nb_queue *q, uint32_t len, uint64_t now);
/* New coalescing settings: arg is a struct nb_coal_update (nb_notify.c). */
struct nb_coal_update {
        struct nb_queue *q;
        struct nb_coal_cfg cfg;
};
int nb_queue_set_coal(struct worker *w, void *arg);
/* A guest broke the protocol on this queue: stop touching its rings now and
 * have the control thread disable the vif. Worker thread only. */
void nb_queue_fail(struct nb_queue *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nb_queue_kick(struct nb_queue *q);
/* Arm the one-shot timerfd at an absolute CLOCK_MONOTONIC time. */
int nb_timer_arm(int fd, uint64_t at_ns);

/* nb_tx.c */
int nb_tx_state_alloc(struct nb_queue *q);
void nb_tx_state_free(struct nb_queue *q);
/* Drains the TX ring within a budget; returns true if work remains. */
bool nb_tx_run(struct nb_queue *q);

/* nb_rx.c */
int nb_rx_state_alloc(struct nb_queue *q);
void nb_rx_state_free(struct nb_queue *q);
/* Reads the uplink and fills the guest's posted buffers; true if work remains. */
bool nb_rx_run(struct nb_queue *q);
/* Drain timeout expired: drop what waits for the guest. */
void nb_rx_drain(struct nb_queue *q);
/* Hash steering (Linux xenvif_select_queue): with a Toeplitz hash set on
 * the control ring, a frame goes out on the ring queue the mapping names,
 * whichever uplink queue it came in on. Each queue of a multi-queue vif has
 * an inbox other workers hand such frames to. Control thread: alloc before
 * the queues start, free after all stopped. */
int nb_rx_inbox_alloc(struct nb_queue *q);
void nb_rx_inbox_free(struct nb_queue *q);
/* The inbox's eventfd (readable when frames wait), or -1 without inbox. */
int nb_rx_inbox_fd(const struct nb_queue *q);

/* nb_notify.c: responses are pushed, and the guest notified or not as L3
 * decides. `frames` is what the pass answered, `pending` whether more work
 * is known to wait. */
void nb_notify_rx(struct nb_queue *q, uint32_t frames, bool pending);
void nb_notify_tx(struct nb_queue *q, uint32_t frames, bool pending);
/* Mid-pass, after a TX copy batch: its responses go on the ring, and a guest
 * whose TX ring was full is woken now (if it asked) rather than at the end of
 * the pass, so it refills while the pass goes on. L3 still moderates the
 * rest. */
void nb_notify_tx_batch(struct nb_queue *q);
/* Mid-pass, after an RX copy batch: its responses go on the ring, so a guest
 * that is polling takes them while the pass goes on, and a guest that sleeps
 * (it asked) is woken now if no more than a copy batch of its posted buffers
 * is left, so it refills before the worker runs dry. */
void nb_notify_rx_batch(struct nb_queue *q);
/* The hold timer fired: send what is due. */
void nb_notify_timer(struct nb_queue *q);
/* Send everything owed now (settings change, stop). */
void nb_notify_flush(struct nb_queue *q);
/* Creates the queue's LRO if the guest can take it and it has none (L4
 * switched on at run time). Worker thread. 0 or -ENOMEM. */
int nb_rx_lro_enable(struct nb_queue *q);
/* LRO flows kept open while L3 holds the RX notification (nb_rx.c):
 * delivered to the ring, all (@hold_end: the notification is about to
 * leave) or those past LRO's age bound; and when they must be looked at
 * next (0: none kept open). Worker thread. */
void nb_rx_lro_close(struct nb_queue *q, bool hold_end);
uint64_t nb_rx_lro_wake(const struct nb_queue *q);
/* L2 busy-poll: whether frames or requests wait without a syscall where
 * possible (nb_poll.c), and the machine's idle share (permille). */
bool nb_poll_work_ready(struct nb_queue *q);
unsigned nb_idle_permille(uint64_t now_ns);

/* nb_set.c: the class's `set` hook (be_dev.h), `-o vif.coalesce*`
 * (-ENOENT: not one of its keys), and the coalescing default of new vifs. */
int nb_set(struct be_dev *dev, const char *target, const char *key, const char *value, char *err,
           size_t errlen);
int nb_set_option(const char *key, const char *value);
void nb_coal_default_cfg(struct nb_coal_cfg *out);
/* nb_set.c: @cfg becomes the vif's coalescing, handed to its running
 * queues through worker_call. 0 or -ENOMEM (LRO could not start; @err). */
int nb_set_coal_push(struct nb_vif *vif, const struct nb_coal_cfg *cfg, char *err, size_t errlen);

/* nb_ctrl.c: the control ring, served on queue 0's worker. */
int nb_ctrl_start(struct nb_vif *vif, struct worker *w);
void nb_ctrl_stop(struct nb_vif *vif);

#endif
