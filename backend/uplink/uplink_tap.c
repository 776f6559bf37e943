/* TAP uplink: a multi-queue TAP netdev with virtio_net_hdr on every frame, so
 * GSO and checksum metadata cross in both directions, named like Linux
 * netback's netdev so the stock vif-bridge script bridges it unchanged.
 *
 * Offloads. The vif's netdev is the uplink port pvbackd drives, and its
 * ethtool features are the operator's per-vif switch, as `ethtool -K` on a
 * NIC is. pvbackd offers the kernel everything it can take (TUNSETOFFLOAD:
 * partial checksums, TSO4, TSO6) once, when it creates the netdev, and never
 * again: the kernel's set_offload (drivers/net/tun.c) rewrites the
 * TUN_USER_FEATURES bits of wanted_features, so a second call would undo an
 * operator's `ethtool -K`. What the operator leaves on is then read back as
 * the port's capabilities (tap_tx_caps) and holds both ways: the kernel
 * finishes in software what it may no longer hand to pvbackd (host → guest),
 * and pvbackd finishes in software what it may no longer hand to the kernel
 * (guest → host; netback's off_decide). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "uplink/netdev_features.h"
#include "uplink/tap_uring.h"
#include "uplink/uplink.h"

#define TUN_DEV "/dev/net/tun"
/* The fewest reads a ring turn asks for. */
#define TAP_RX_READS_MIN 2u
#define TAP_FLAGS        (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)

struct uplink_tap {
        struct uplink up;
        /* The fd that created the netdev. It stays open until destroy, so the
         * netdev outlives disconnects (the hotplug script owns its bridge
         * port); between connections it is detached, which keeps the
         * netdev, drops what the host sends and takes the carrier down. */
        int keep_fd;
        bool keep_attached;
};

struct uplink_tap_queue {
        struct uplink_queue q;
        int fd;
        bool own_fd; /* false for queue 0, which is keep_fd attached */
        /* Batched reads and writes (NULL: the kernel has no io_uring for
         * us), and the headers and vectors of the turns in flight. */
        struct tap_uring *ring;
        struct virtio_net_hdr tx_hdr[TAP_URING_DEPTH];
        struct iovec tx_iov[TAP_URING_DEPTH][2];
        unsigned char tx_cnt[TAP_URING_DEPTH];
        bool rx_plain;         /* the kernel will not read the TAP on the ring without waiting */
        unsigned int rx_reads; /* reads the next read turn asks for */
        struct virtio_net_hdr rx_hdr[TAP_URING_DEPTH];
        struct virtio_net_hdr *rx_hdrp[TAP_URING_DEPTH]; /* where each read's went */
        struct iovec rx_iov[TAP_URING_DEPTH][2];
        unsigned char rx_cnt[TAP_URING_DEPTH];
        int rx_res[TAP_URING_DEPTH];
};

static struct uplink_tap *tap_of(struct uplink *u)
{
        return (struct uplink_tap *)u;
}

static int tap_open_fd(const char *name, int *out)
{
        struct ifreq ifr;
        int fd = open(TUN_DEV, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_flags = TAP_FLAGS;
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                int err = -errno;
                close(fd);
                return err;
        }
        *out = fd;
        return 0;
}

static int tap_set_queue(int fd, short flags)
{
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_flags = flags;
        return ioctl(fd, TUNSETQUEUE, &ifr) < 0 ? -errno : 0;
}

static int tap_set_offloads(struct uplink *u, unsigned int offloads);

static int tap_create(const char *name, unsigned int max_queues, struct uplink **out)
{
        /* Linux netback gives the netdev this MAC (xenvif_alloc dummy_addr)
         * so the bridge never takes the guest's address as its own. */
        static const unsigned char dummy_mac[6] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff};
        struct uplink_tap *t;
        struct ifreq ifr;
        int vnet_sz = sizeof(struct virtio_net_hdr);
        int err;

        if (strlen(name) >= IFNAMSIZ || max_queues == 0)
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->up.ops = &uplink_tap_ops;
        t->up.max_queues = max_queues;
        strcpy(t->up.name, name);
        err = tap_open_fd(name, &t->keep_fd);
        if (err < 0)
                goto fail_free;
        t->keep_attached = true;
        t->up.ifindex = if_nametoindex(name);
        if (t->up.ifindex == 0 || ioctl(t->keep_fd, TUNSETVNETHDRSZ, &vnet_sz) < 0) {
                err = -errno;
                goto fail_close;
        }
        /* Everything pvbackd can take, once (see the top of the file). */
        err = tap_set_offloads(&t->up, UPLINK_OFF_CSUM | UPLINK_OFF_TSO4 | UPLINK_OFF_TSO6);
        if (err < 0)
                goto fail_close;
        memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
        memcpy(ifr.ifr_hwaddr.sa_data, dummy_mac, sizeof(dummy_mac));
        if (ioctl(t->keep_fd, SIOCSIFHWADDR, &ifr) < 0) {
                err = -errno;
                goto fail_close;
        }
        err = tap_set_queue(t->keep_fd, IFF_DETACH_QUEUE);
        if (err < 0)
                goto fail_close;
        t->keep_attached = false;
        *out = &t->up;
        return 0;
fail_close:
        close(t->keep_fd);
fail_free:
        free(t);
        return err;
}

static void tap_destroy(struct uplink *u)
{
        struct uplink_tap *t = tap_of(u);
        /* Last fd of a non-persistent TAP: the kernel removes the netdev. */
        close(t->keep_fd);
        free(t);
}

/* Batched reads and writes are a speed-up, never a condition: without them
 * the queue reads and writes a frame a call. Said once per process, not per
 * queue. */
static void tap_queue_open_batch(struct uplink_tap_queue *q)
{
        static bool told;
        int rc = tap_uring_open(q->fd, &q->ring);
        if (rc < 0 && !told) {
                told = true;
                pv_info("tap", "io_uring unavailable (%s): TAP reads and writes go a frame a call",
                        strerror(-rc));
        }
}

static int tap_queue_open(struct uplink *u, unsigned int idx, struct uplink_queue **out)
{
        struct uplink_tap *t = tap_of(u);
        struct uplink_tap_queue *q;
        int err;

        if (idx >= u->max_queues)
                return -EINVAL;
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->q.up = u;
        q->q.idx = idx;
        if (idx == 0) {
                if (t->keep_attached) {
                        free(q);
                        return -EBUSY;
                }
                err = tap_set_queue(t->keep_fd, IFF_ATTACH_QUEUE);
                if (err < 0)
                        goto fail;
                t->keep_attached = true;
                q->fd = t->keep_fd;
        } else {
                err = tap_open_fd(u->name, &q->fd);
                if (err < 0)
                        goto fail;
                q->own_fd = true;
        }
        if (fcntl(q->fd, F_SETFL, fcntl(q->fd, F_GETFL) | O_NONBLOCK) < 0) {
                err = -errno;
                if (q->own_fd)
                        close(q->fd);
                else {
                        tap_set_queue(t->keep_fd, IFF_DETACH_QUEUE);
                        t->keep_attached = false;
                }
                goto fail;
        }
        q->rx_reads = TAP_RX_READS_MIN;
        tap_queue_open_batch(q);
        q->rx_plain = q->ring && !tap_uring_can_read(q->ring);
        *out = &q->q;
        return 0;
fail:
        free(q);
        return err;
}

static void tap_queue_close(struct uplink_queue *uq)
{
        struct uplink_tap_queue *q = (struct uplink_tap_queue *)uq;
        struct uplink_tap *t = tap_of(uq->up);
        tap_uring_close(q->ring);
        if (q->own_fd) {
                close(q->fd);
        } else {
                fcntl(q->fd, F_SETFL, fcntl(q->fd, F_GETFL) & ~O_NONBLOCK);
                tap_set_queue(t->keep_fd, IFF_DETACH_QUEUE);
                t->keep_attached = false;
        }
        free(q);
}

static int tap_queue_fd(struct uplink_queue *uq)
{
        return ((struct uplink_tap_queue *)uq)->fd;
}

static void meta_to_vnet(const struct uplink_meta *m, struct virtio_net_hdr *h)
{
        memset(h, 0, sizeof(*h));
        if (m->needs_csum) {
                h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
                h->csum_start = m->csum_start;
                h->csum_offset = m->csum_offset;
        } else if (m->data_valid) {
                h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
        }
        switch (m->gso) {
        case UPLINK_GSO_TCPV4:
                h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
                break;
        case UPLINK_GSO_TCPV6:
                h->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
                break;
        default:
                h->gso_type = VIRTIO_NET_HDR_GSO_NONE;
                break;
        }
        if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
                h->gso_size = m->gso_size;
                h->hdr_len = m->hdr_len;
        }
}

static void vnet_to_meta(const struct virtio_net_hdr *h, struct uplink_meta *m)
{
        memset(m, 0, sizeof(*m));
        if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
                m->needs_csum = true;
                m->csum_start = h->csum_start;
                m->csum_offset = h->csum_offset;
        }
        if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
                m->data_valid = true;
        switch (h->gso_type) {
        case VIRTIO_NET_HDR_GSO_NONE:
                m->gso = UPLINK_GSO_NONE;
                break;
        case VIRTIO_NET_HDR_GSO_TCPV4:
                m->gso = UPLINK_GSO_TCPV4;
                break;
        case VIRTIO_NET_HDR_GSO_TCPV6:
                m->gso = UPLINK_GSO_TCPV6;
                break;
        default:
                m->gso = UPLINK_GSO_OTHER;
                break;
        }
        m->gso_size = h->gso_size;
        m->hdr_len = h->hdr_len;
}

/* The virtio header, then `len` bytes at p's data, as the TAP writes or
 * reads them: in one buffer when p has room before its data for the header,
 * else as two with the header in *scratch. Returns the iovec count; *hdr:
 * where the header is. */
static unsigned char hdr_iov(const struct uplink_pkt *p, uint32_t len,
                             struct virtio_net_hdr *scratch, struct iovec iov[2],
                             struct virtio_net_hdr **hdr)
{
        const size_t hs = sizeof(struct virtio_net_hdr);
        if (p->headroom >= hs) {
                *hdr = (struct virtio_net_hdr *)(void *)(p->data - hs);
                iov[0] = (struct iovec){p->data - hs, hs + len};
                return 1;
        }
        *hdr = scratch;
        iov[0] = (struct iovec){scratch, hs};
        iov[1] = (struct iovec){p->data, len};
        return 2;
}

/* Frame p as the TAP takes it (hdr_iov), its header filled in. */
static unsigned char frame_iov(const struct uplink_pkt *p, struct virtio_net_hdr *scratch,
                               struct iovec iov[2])
{
        struct virtio_net_hdr *h;
        unsigned char cnt = hdr_iov(p, p->len, scratch, iov, &h);
        meta_to_vnet(&p->meta, h);
        return cnt;
}

/* A TAP fd takes one frame per write; the batch saves the caller's per-frame
 * work and keeps the count honest. */
static int tap_send_each(int fd, const struct uplink_pkt *pkts, unsigned int n)
{
        unsigned int i;
        for (i = 0; i < n; i++) {
                struct virtio_net_hdr h;
                struct iovec iov[2];
                if (writev(fd, iov, frame_iov(&pkts[i], &h, iov)) < 0) {
                        if (i == 0)
                                return -errno;
                        break;
                }
        }
        return (int)i;
}

/* One io_uring turn of at most TAP_URING_DEPTH frames. */
static int tap_send_batch(struct uplink_tap_queue *q, const struct uplink_pkt *pkts, unsigned int n)
{
        for (unsigned int i = 0; i < n; i++)
                q->tx_cnt[i] = frame_iov(&pkts[i], &q->tx_hdr[i], q->tx_iov[i]);
        return tap_uring_writev(q->ring, q->tx_iov, q->tx_cnt, n);
}

static int tap_send(struct uplink_queue *uq, const struct uplink_pkt *pkts, unsigned int n)
{
        struct uplink_tap_queue *q = (struct uplink_tap_queue *)uq;
        unsigned int done = 0;
        int went = 0, rc = 0;

        /* A single frame costs one call either way. */
        if (!q->ring || n < 2)
                return tap_send_each(q->fd, pkts, n);
        while (done < n) {
                unsigned int k = n - done < TAP_URING_DEPTH ? n - done : TAP_URING_DEPTH;
                rc = tap_send_batch(q, pkts + done, k);
                if (rc == -ENOTRECOVERABLE) {
                        tap_uring_close(q->ring);
                        q->ring = NULL;
                        pv_warn(uq->up->name,
                                "q%u: io_uring failed: TAP reads and writes go a frame a call",
                                uq->idx);
                        rc = tap_send_each(q->fd, pkts + done, n - done);
                        k = n - done;
                }
                if (rc > 0)
                        went += rc;
                done += k;
        }
        return went > 0 ? went : rc;
}

/* A frame a readv: the path without a ring. */
static int tap_recv_each(int fd, struct uplink_pkt *pkts, unsigned int n)
{
        unsigned int i;
        for (i = 0; i < n; i++) {
                struct virtio_net_hdr scratch, *h;
                struct iovec iov[2];
                ssize_t r = readv(fd, iov, hdr_iov(&pkts[i], pkts[i].cap, &scratch, iov, &h));
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        if (i == 0 && errno != EAGAIN)
                                return -errno;
                        break;
                }
                if ((size_t)r < sizeof(*h)) {
                        i--; /* cannot happen with a vnet header; skip it */
                        continue;
                }
                vnet_to_meta(h, &pkts[i].meta);
                pkts[i].len = (uint32_t)((size_t)r - sizeof(*h));
        }
        return (int)i;
}

/* Takes read i's result as frame `got`. A frame can follow a read that found
 * the TAP empty (it came in between): it moves down into the buffer of the
 * first free frame, so the frames stay contiguous and in order. false: not
 * a frame. */
static bool tap_take_read(struct uplink_tap_queue *q, struct uplink_pkt *pkts, unsigned int i,
                          unsigned int got)
{
        int r = q->rx_res[i];
        uint32_t len;

        if (r < (int)sizeof(struct virtio_net_hdr))
                return false;
        len = (uint32_t)((size_t)r - sizeof(struct virtio_net_hdr));
        if (got != i) {
                if (len > pkts[got].cap) {
                        /* Only a caller whose buffers differ in size. */
                        pv_warn(q->q.up->name, "q%u: a %u-byte frame lost: no room to move it",
                                q->q.idx, len);
                        return false;
                }
                memcpy(pkts[got].data, pkts[i].data, len);
        }
        vnet_to_meta(q->rx_hdrp[i], &pkts[got].meta);
        pkts[got].len = len;
        return true;
}

/* One ring turn of n reads. Returns the frames got, or the first error
 * other than -EAGAIN if none came; *drained: a read found the TAP empty. */
static int tap_recv_turn(struct uplink_tap_queue *q, struct uplink_pkt *pkts, unsigned int n,
                         bool *drained)
{
        unsigned int got = 0;
        int rc, err = 0;

        for (unsigned int i = 0; i < n; i++)
                q->rx_cnt[i] =
                    hdr_iov(&pkts[i], pkts[i].cap, &q->rx_hdr[i], q->rx_iov[i], &q->rx_hdrp[i]);
        rc = tap_uring_readv(q->ring, q->rx_iov, q->rx_cnt, n, q->rx_res);
        if (rc < 0)
                return rc;
        *drained = (unsigned int)rc < n;
        for (unsigned int i = 0; i < (unsigned int)rc; i++) {
                if (q->rx_res[i] == -EAGAIN)
                        *drained = true;
                else if (q->rx_res[i] < 0 && !err)
                        err = q->rx_res[i];
                else if (tap_take_read(q, pkts, i, got))
                        got++;
        }
        return got ? (int)got : err;
}

/* Falls back to a readv a frame for good: the ring has failed, or the kernel
 * does not read this TAP without waiting (no RWF_NOWAIT for it). A read
 * failing otherwise (-EINVAL: a frame the TAP could not hand over, which it
 * dropped) costs its frame only, as a readv's would. */
static void tap_recv_plain(struct uplink_tap_queue *q, int why)
{
        if (why == -ENOTRECOVERABLE) {
                tap_uring_close(q->ring);
                q->ring = NULL;
                pv_warn(q->q.up->name,
                        "q%u: io_uring failed: TAP reads and writes go a frame a call", q->q.idx);
                return;
        }
        q->rx_plain = true;
        pv_info(q->q.up->name, "q%u: io_uring cannot read the TAP (%s): reads go a frame a call",
                q->q.idx, strerror(-why));
}

/* Reads in ring turns. A read that finds the TAP empty costs about what the
 * call it saves does, so a turn asks for one frame more than the last turn
 * found, and for twice as many after a turn that found all it asked for: a
 * steady stream reads in whole turns, a trickle wastes one read a turn. */
static int tap_recv(struct uplink_queue *uq, struct uplink_pkt *pkts, unsigned int n)
{
        struct uplink_tap_queue *q = (struct uplink_tap_queue *)uq;
        unsigned int got = 0;

        while (got < n && q->ring && !q->rx_plain) {
                unsigned int k = n - got < q->rx_reads ? n - got : q->rx_reads;
                bool drained = false;
                int rc = tap_recv_turn(q, pkts + got, k, &drained);

                if (rc == -ENOTRECOVERABLE || rc == -EOPNOTSUPP) {
                        tap_recv_plain(q, rc);
                        break;
                }
                if (rc < 0)
                        return got ? (int)got : rc;
                got += (unsigned int)rc;
                if (drained) {
                        q->rx_reads = (unsigned int)rc + 1 > TAP_RX_READS_MIN ? (unsigned int)rc + 1
                                                                              : TAP_RX_READS_MIN;
                        return (int)got;
                }
                q->rx_reads = 2 * k < TAP_URING_DEPTH ? 2 * k : TAP_URING_DEPTH;
        }
        if (got < n && (!q->ring || q->rx_plain)) {
                int rc = tap_recv_each(q->fd, pkts + got, n - got);
                if (rc < 0)
                        return got ? (int)got : rc;
                got += (unsigned int)rc;
        }
        return (int)got;
}

static int tap_set_offloads(struct uplink *u, unsigned int offloads)
{
        unsigned long f = 0;
        if (offloads & UPLINK_OFF_CSUM) {
                f |= TUN_F_CSUM;
                /* TSO implies checksum offload on a TAP. */
                if (offloads & UPLINK_OFF_TSO4)
                        f |= TUN_F_TSO4;
                if (offloads & UPLINK_OFF_TSO6)
                        f |= TUN_F_TSO6;
        }
        return ioctl(tap_of(u)->keep_fd, TUNSETOFFLOAD, f) < 0 ? -errno : 0;
}

/* The netdev's features as they are now, by ifindex since the hotplug
 * script or the operator may rename it. */
static int tap_tx_caps(struct uplink *u, unsigned int *caps)
{
        return netdev_features_read_index(u->ifindex, caps);
}

static int tap_set_carrier(struct uplink *u, bool on)
{
        int v = on;
        return ioctl(tap_of(u)->keep_fd, TUNSETCARRIER, &v) < 0 ? -errno : 0;
}

const struct uplink_ops uplink_tap_ops = {
    .kind = "tap",
    .create = tap_create,
    .destroy = tap_destroy,
    .queue_open = tap_queue_open,
    .queue_close = tap_queue_close,
    .queue_fd = tap_queue_fd,
    .send = tap_send,
    .recv = tap_recv,
    .set_offloads = tap_set_offloads,
    .tx_caps = tap_tx_caps,
    .set_carrier = tap_set_carrier,
};
