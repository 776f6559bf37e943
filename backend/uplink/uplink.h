/* The uplink: where a vif's frames leave and enter the host (a TAP netdev
 * today; AF_XDP on a NIC queue and a null uplink later). One small ops table,
 * so netback never knows which kind it drives. Not for offload decisions:
 * the metadata here is what crosses the boundary, netback decides. */
#ifndef PVBACK_UPLINK_H
#define PVBACK_UPLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GSO and checksum metadata of one frame, virtio_net_hdr semantics (the
 * lingua franca of TAP, vhost and AF_XDP's tx metadata). */
enum uplink_gso {
        UPLINK_GSO_NONE,
        UPLINK_GSO_TCPV4,
        UPLINK_GSO_TCPV6,
        UPLINK_GSO_OTHER, /* anything netback cannot hand to a guest (UDP, ECN) */
};

struct uplink_meta {
        enum uplink_gso gso;
        uint16_t gso_size; /* MSS */
        uint16_t hdr_len;  /* L2..L4 headers of a GSO frame */
        bool needs_csum;   /* CHECKSUM_PARTIAL: sum from csum_start, store at +csum_offset */
        bool data_valid;   /* CHECKSUM_UNNECESSARY */
        uint16_t csum_start;
        uint16_t csum_offset;
};

struct uplink_pkt {
        struct uplink_meta meta;
        uint8_t *data;
        uint32_t len; /* frame length (recv: set by the uplink) */
        uint32_t cap; /* recv: room at data */
        /* bytes before data the uplink may overwrite, so it can put its
         * own header there (send) or read it there (recv) and hand the
         * kernel one buffer */
        uint32_t headroom;
};

/* Offloads the receiver (the guest) takes, so the uplink may hand over frames
 * with partial checksums or GSO instead of finishing them itself. */
enum uplink_offload {
        UPLINK_OFF_CSUM = 1u << 0,
        UPLINK_OFF_TSO4 = 1u << 1,
        UPLINK_OFF_TSO6 = 1u << 2,
};

/* Largest frame an uplink hands over or takes (a 64 KiB GSO frame). */
#define UPLINK_MAX_FRAME 65550u

struct uplink;
struct uplink_queue;

struct uplink_ops {
        const char *kind;
        /* The netdev (or NIC queue set) named `name`, with room for
         * max_queues queues; it exists from here on (hotplug scripts see it). */
        int (*create)(const char *name, unsigned int max_queues, struct uplink **out);
        void (*destroy)(struct uplink *u);
        /* Queue idx (0..max_queues-1) starts carrying frames. */
        int (*queue_open)(struct uplink *u, unsigned int idx, struct uplink_queue **out);
        void (*queue_close)(struct uplink_queue *q);
        /* Readable when recv has frames; -1 if the uplink has no fd. */
        int (*queue_fd)(struct uplink_queue *q);
        /* Sends n frames; returns how many went (>= 0) or -errno if none did. */
        int (*send)(struct uplink_queue *q, const struct uplink_pkt *pkts, unsigned int n);
        /* Fills up to n frames; returns the count (0: nothing now) or -errno. */
        int (*recv)(struct uplink_queue *q, struct uplink_pkt *pkts, unsigned int n);
        int (*set_offloads)(struct uplink *u, unsigned int offloads);
        /* What the uplink finishes itself of the frames pvbackd sends it
         * (enum off_cap): read from the netdev's features now, so a change
         * (ethtool -K) shows at the next call. 0 or -errno. */
        int (*tx_caps)(struct uplink *u, unsigned int *caps);
        int (*set_carrier)(struct uplink *u, bool on);
};

/* Common head of every uplink. */
struct uplink {
        const struct uplink_ops *ops;
        char name[IFNAMSIZ];
        unsigned int max_queues;
        /* The netdev whose changes (rtnetlink RTM_NEWLINK) concern this
         * uplink; stable across renames, unlike name. */
        unsigned int ifindex;
};

extern const struct uplink_ops uplink_tap_ops;

/* The ops table for a kind ("tap"), or NULL. */
const struct uplink_ops *uplink_ops_find(const char *kind);

static inline int uplink_create(const struct uplink_ops *ops, const char *name,
                                unsigned int max_queues, struct uplink **out)
{
        return ops->create(name, max_queues, out);
}
static inline void uplink_destroy(struct uplink *u)
{
        if (u)
                u->ops->destroy(u);
}
static inline int uplink_queue_open(struct uplink *u, unsigned int idx, struct uplink_queue **out)
{
        return u->ops->queue_open(u, idx, out);
}
static inline int uplink_set_offloads(struct uplink *u, unsigned int offloads)
{
        return u->ops->set_offloads(u, offloads);
}
static inline int uplink_tx_caps(struct uplink *u, unsigned int *caps)
{
        return u->ops->tx_caps(u, caps);
}
static inline int uplink_set_carrier(struct uplink *u, bool on)
{
        return u->ops->set_carrier(u, on);
}

/* Queue calls go through the queue's own uplink. */
struct uplink_queue {
        struct uplink *up;
        unsigned int idx;
};
static inline void uplink_queue_close(struct uplink_queue *q)
{
        if (q)
                q->up->ops->queue_close(q);
}
static inline int uplink_queue_fd(struct uplink_queue *q)
{
        return q->up->ops->queue_fd(q);
}
static inline int uplink_send(struct uplink_queue *q, const struct uplink_pkt *pkts, unsigned int n)
{
        return q->up->ops->send(q, pkts, n);
}
static inline int uplink_recv(struct uplink_queue *q, struct uplink_pkt *pkts, unsigned int n)
{
        return q->up->ops->recv(q, pkts, n);
}

#endif
