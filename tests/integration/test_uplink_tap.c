/* The TAP uplink's batched writes, against the kernel: a batch longer than
 * one io_uring turn, its frames with and without headroom for the header,
 * arrives whole and in order; a frame the TAP refuses costs only itself; a
 * single frame takes the writev path; closing the queue and the uplink
 * removes the netdev at once (a ring holding the TAP file, as a registered
 * file does, would keep it). Each case runs in a private network namespace,
 * where a packet socket on the netdev sees what the host received. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_packet.h>
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

static Suite *uplink_tap_suite(void)
{
        Suite *s = suite_create("uplink_tap");
        TCase *tc = tcase_create("tap");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, batch_longer_than_a_ring_turn_arrives_in_order);
        tcase_add_test(tc, a_refused_frame_costs_only_itself);
        tcase_add_test(tc, a_single_frame_goes_by_writev);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(uplink_tap_suite)
