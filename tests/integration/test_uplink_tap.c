/* The TAP uplink's batched writes and reads, against the kernel: a batch
 * longer than one io_uring turn, its frames with and without headroom for
 * the header, arrives whole and in order; a frame the TAP refuses costs only
 * itself; a single frame takes the writev path; frames the host sends are
 * read whole, in order, each with its own virtio header (read into the
 * frame's headroom or apart), in ring turns rather than a system call
 * each, and an empty TAP reads as nothing at once; closing the queue and
 * the uplink removes the netdev at once (a ring holding the TAP file, as a
 * registered file does, would keep it). Each case runs in a private network
 * namespace, where a packet socket on the netdev sees what the host
 * received and sends what the host sends. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "netns.h"
#include "proc.h"
#include "uplink/tap_uring.h"
#include "uplink/uplink.h"

#define TAP      "pvt0"
#define ETH_TEST 0x88b5 /* IEEE local experimental: the host stack ignores it */
#define FRAME    80u
#define MANY     (2 * TAP_URING_DEPTH + 7)
#define ROOM     16u /* headroom of every other frame: the header goes there */

struct tap_world {
        struct uplink *up;
        struct uplink_queue *q;
        int sniff;
        uint8_t frames[MANY][ROOM + FRAME];
        struct uplink_pkt pkts[MANY];
};

#define CHILD_CHECK(cond, ...)                                                                     \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "test_uplink_tap: " __VA_ARGS__);                          \
                        fprintf(stderr, "\n");                                                     \
                        return 1;                                                                  \
                }                                                                                  \
        } while (0)

static void frame_fill(uint8_t *f, uint32_t seq)
{
        static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x01}, src[6] = {0x02, 0, 0, 0, 0, 0x02};
        uint16_t type = htons(ETH_TEST);
        memcpy(f, dst, 6);
        memcpy(f + 6, src, 6);
        memcpy(f + 12, &type, 2);
        memset(f + 14, (int)(seq & 0xff), FRAME - 14);
        memcpy(f + 14, &seq, sizeof(seq));
}

static int world_up(struct tap_world *w)
{
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_TEST)};
        int rc = uplink_tap_ops.create(TAP, 1, &w->up);
        CHILD_CHECK(rc == 0, "create: %s", strerror(-rc));
        rc = uplink_queue_open(w->up, 0, &w->q);
        CHILD_CHECK(rc == 0, "queue_open: %s", strerror(-rc));
        CHILD_CHECK(system("ip link set " TAP " up") == 0, "ip link set up");
        w->sniff = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_TEST));
        sll.sll_ifindex = (int)if_nametoindex(TAP);
        CHILD_CHECK(w->sniff >= 0 && bind(w->sniff, (void *)&sll, sizeof(sll)) == 0,
                    "packet socket: %s", strerror(errno));
        for (uint32_t i = 0; i < MANY; i++) {
                frame_fill(w->frames[i] + ROOM, i);
                w->pkts[i] = (struct uplink_pkt){
                    .data = w->frames[i] + ROOM, .len = FRAME, .headroom = i % 2 ? ROOM : 0};
        }
        return 0;
}

/* The sequence number of the next frame the host received, or -1 if none
 * came within a second. */
static long next_seq(struct tap_world *w)
{
        uint8_t buf[256];
        struct pollfd p = {.fd = w->sniff, .events = POLLIN};
        for (;;) {
                ssize_t n = recv(w->sniff, buf, sizeof(buf), 0);
                if (n == (ssize_t)FRAME) {
                        uint32_t seq;
                        memcpy(&seq, buf + 14, sizeof(seq));
                        return seq;
                }
                if (n >= 0)
                        continue; /* not one of ours */
                if (errno != EAGAIN || poll(&p, 1, 1000) <= 0)
                        return -1;
        }
}

static int expect_seqs(struct tap_world *w, const uint32_t *seqs, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                long got = next_seq(w);
                CHILD_CHECK(got == (long)seqs[i], "frame %u: got seq %ld, want %u", i, got,
                            seqs[i]);
        }
        CHILD_CHECK(next_seq(w) == -1, "a frame more than sent arrived");
        return 0;
}

static int world_down_gone(struct tap_world *w)
{
        close(w->sniff);
        uplink_queue_close(w->q);
        uplink_destroy(w->up);
        CHILD_CHECK(if_nametoindex(TAP) == 0, TAP " still exists after close and destroy");
        return 0;
}

static int many_in_order(void *arg)
{
        struct tap_world *w = arg;
        uint32_t want[MANY];
        if (world_up(w))
                return 1;
        int sent = uplink_send(w->q, w->pkts, MANY);
        CHILD_CHECK(sent == (int)MANY, "sent %d of %u", sent, MANY);
        for (uint32_t i = 0; i < MANY; i++)
                want[i] = i;
        return expect_seqs(w, want, MANY) || world_down_gone(w);
}

/* A GSO frame without an MSS is refused by the TAP (virtio_net_hdr_to_skb):
 * the frames around it still go, in order. */
static int refused_costs_only_itself(void *arg)
{
        struct tap_world *w = arg;
        static const uint32_t want[] = {0, 2, 3};
        if (world_up(w))
                return 1;
        w->pkts[1].meta.gso = UPLINK_GSO_TCPV4;
        w->pkts[1].meta.gso_size = 0;
        int sent = uplink_send(w->q, w->pkts, 4);
        CHILD_CHECK(sent == 3, "sent %d of 4 (one refused)", sent);
        if (expect_seqs(w, want, 3))
                return 1;
        /* A batch of nothing but refused frames reports the TAP's error, by
         * either path. */
        w->pkts[2].meta = w->pkts[1].meta;
        sent = uplink_send(w->q, &w->pkts[1], 2);
        CHILD_CHECK(sent == -EINVAL, "two refused frames: %d, want -EINVAL", sent);
        sent = uplink_send(w->q, &w->pkts[1], 1);
        CHILD_CHECK(sent == -EINVAL, "a lone refused frame: %d, want -EINVAL", sent);
        return world_down_gone(w);
}

static int single_frame(void *arg)
{
        struct tap_world *w = arg;
        static const uint32_t want[] = {5};
        if (world_up(w))
                return 1;
        CHILD_CHECK(uplink_send(w->q, &w->pkts[5], 1) == 1, "single frame not sent");
        return expect_seqs(w, want, 1) || world_down_gone(w);
}

/* Read system calls this process made so far (/proc/self/io syscr). */
static long read_calls(void)
{
        char buf[512];
        FILE *f = fopen("/proc/self/io", "re");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        long v = -1;
        if (f)
                fclose(f);
        buf[n] = '\0';
        const char *p = strstr(buf, "syscr: ");
        if (p)
                v = strtol(p + 7, NULL, 10);
        return v;
}

/* Whether the uplink can read this TAP on a ring: the kernel has io_uring
 * and its read operations, and reads the TAP without waiting (RWF_NOWAIT;
 * else the uplink reads a frame a call). Asked of an empty TAP: a frame of
 * the host's own that came meanwhile is lost, not one of ours. */
static bool ring_reads(int fd)
{
        static uint8_t buf[2048];
        struct iovec iov[1][2] = {{{buf, sizeof(buf)}, {NULL, 0}}};
        const unsigned char cnt = 1;
        struct tap_uring *r;
        int res = -EOPNOTSUPP;
        bool ok;

        if (tap_uring_open(fd, &r) < 0)
                return false;
        ok = tap_uring_can_read(r) && tap_uring_readv(r, iov, &cnt, 1, &res) == 1 &&
             res != -EOPNOTSUPP;
        tap_uring_close(r);
        return ok;
}

/* Frame i as the host sends it: every third one with a partial checksum,
 * so that each frame's virtio header is checked to stay with it. */
static void host_header(uint32_t i, struct virtio_net_hdr *h)
{
        memset(h, 0, sizeof(*h));
        if (i % 3 == 0) {
                h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
                h->csum_start = (uint16_t)(14 + 20 + i % 16); /* past a minimal IP header */
                h->csum_offset = 6;
        }
}

static int host_send(struct tap_world *w, int s, uint32_t i)
{
        struct virtio_net_hdr h;
        host_header(i, &h);
        struct iovec iov[2] = {{&h, sizeof(h)}, {w->frames[i] + ROOM, FRAME}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
        CHILD_CHECK(sendmsg(s, &m, 0) == (ssize_t)(sizeof(h) + FRAME), "host send %u: %s", i,
                    strerror(errno));
        return 0;
}

static int host_socket(int *out)
{
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_TEST)};
        int one = 1, s = socket(AF_PACKET, SOCK_RAW, htons(ETH_TEST));
        sll.sll_ifindex = (int)if_nametoindex(TAP);
        CHILD_CHECK(s >= 0 && bind(s, (void *)&sll, sizeof(sll)) == 0 &&
                        setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0 &&
                        setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) == 0,
                    "host packet socket: %s", strerror(errno));
        *out = s;
        return 0;
}

static int check_read(const struct uplink_pkt *p, uint32_t want)
{
        struct virtio_net_hdr h;
        uint32_t seq;
        host_header(want, &h);
        CHILD_CHECK(p->len == FRAME, "frame %u: %u bytes, want %u", want, p->len, FRAME);
        memcpy(&seq, p->data + 14, sizeof(seq));
        CHILD_CHECK(seq == want, "frame %u read as frame %u", want, seq);
        CHILD_CHECK(p->meta.needs_csum == !!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
                        (!p->meta.needs_csum || (p->meta.csum_start == h.csum_start &&
                                                 p->meta.csum_offset == h.csum_offset)),
                    "frame %u: header of another frame (csum %d start %u)", want,
                    p->meta.needs_csum, p->meta.csum_start);
        return 0;
}

/* The host's own frames (IPv6 neighbour discovery and MLD on a netdev that
 * just came up) reach the TAP too. */
static bool is_ours(const struct uplink_pkt *p)
{
        uint16_t type;
        if (p->len < 14)
                return false;
        memcpy(&type, p->data + 12, sizeof(type));
        return type == htons(ETH_TEST);
}

/* Read buffer i: every other one with headroom for the header, so that a
 * turn mixes reads into one buffer and into two. */
static struct uplink_pkt read_buf(uint8_t *b, int i)
{
        uint32_t room = i % 2 ? ROOM : 0;
        return (struct uplink_pkt){.data = b + room, .cap = 2048 - room, .headroom = room};
}

/* The host sends MANY frames; the uplink reads them 32 at a time. */
static int reads_in_order(void *arg)
{
        enum { BATCH = 32 };
        struct tap_world *w = arg;
        static uint8_t bufs[BATCH][2048];
        struct uplink_pkt in[BATCH];
        uint32_t next = 0;
        long calls;
        int s;

        if (world_up(w) || host_socket(&s))
                return 1;
        for (uint32_t i = 0; i < MANY; i++)
                if (host_send(w, s, i))
                        return 1;
        calls = read_calls();
        while (next < MANY) {
                for (int i = 0; i < BATCH; i++)
                        in[i] = read_buf(bufs[i], i);
                int got = uplink_recv(w->q, in, BATCH);
                CHILD_CHECK(got > 0, "read %d after %u of %u frames", got, next, MANY);
                for (int i = 0; i < got; i++)
                        if (is_ours(&in[i]) && check_read(&in[i], next++))
                                return 1;
        }
        calls = read_calls() - calls;
        for (int tries = 0;; tries++) { /* the host's own may still come */
                for (int i = 0; i < BATCH; i++)
                        in[i] = read_buf(bufs[i], i);
                int got = uplink_recv(w->q, in, BATCH);
                if (got == 0)
                        break;
                CHILD_CHECK(got > 0 && tries < 10, "an empty TAP read gave %d", got);
                for (int i = 0; i < got; i++)
                        CHILD_CHECK(!is_ours(&in[i]), "a frame more than sent was read");
        }
        /* A read system call a frame is what the ring saves. */
        if (ring_reads(uplink_queue_fd(w->q)))
                CHILD_CHECK(calls < (long)MANY / 8, "%ld read calls for %u frames", calls, MANY);
        close(s);
        return world_down_gone(w);
}

static void run_in_netns(int (*fn)(void *), const char *what)
{
        static struct tap_world w;
        struct netns ns;
        if (!netns_supported()) {
                printf("test_uplink_tap: %s skipped (needs root and TAP devices)\n", what);
                return;
        }
        memset(&w, 0, sizeof(w));
        ck_assert_int_eq(netns_create(&ns, "tap"), 0);
        pid_t pid = netns_spawn(&ns, fn, &w);
        ck_assert_int_gt(pid, 0);
        int st = proc_wait(pid, 30000);
        netns_destroy(&ns);
        ck_assert_msg(st == 0, "%s: the child in the namespace failed (%d); see stderr", what, st);
}

START_TEST(batch_longer_than_a_ring_turn_arrives_in_order)
{
        run_in_netns(many_in_order, "many_in_order");
}
END_TEST

START_TEST(a_refused_frame_costs_only_itself)
{
        run_in_netns(refused_costs_only_itself, "refused_costs_only_itself");
}
END_TEST

START_TEST(a_single_frame_goes_by_writev)
{
        run_in_netns(single_frame, "single_frame");
}
END_TEST

START_TEST(host_frames_read_in_order_in_ring_turns)
{
        run_in_netns(reads_in_order, "reads_in_order");
}
END_TEST

static Suite *uplink_tap_suite(void)
{
        Suite *s = suite_create("uplink_tap");
        TCase *tc = tcase_create("tap");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, batch_longer_than_a_ring_turn_arrives_in_order);
        tcase_add_test(tc, a_refused_frame_costs_only_itself);
        tcase_add_test(tc, a_single_frame_goes_by_writev);
        tcase_add_test(tc, host_frames_read_in_order_in_ring_turns);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(uplink_tap_suite)
