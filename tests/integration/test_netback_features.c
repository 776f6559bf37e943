/* netback features end to end through the shipped binaries (pvbackd, the
 * toolstack stand-in with the stock vif-bridge, pvback-netfront tap in a
 * guest namespace; see nbworld.h):
 *  - the toolstack's --rate holds guest→host traffic within ±10 % of the
 *    configured bytes per second, and a live write of the backend's rate key
 *    (Linux netback watches it) moves it to the new rate;
 *  - with --mcast-join, the multicast filter passes the joined group and
 *    drops an unjoined one (exact frame counts seen by a packet socket in
 *    the guest);
 *  - with a Toeplitz key and mapping set over the control ring, each TCP
 *    flow arrives on the ring queue mapping[hash % size] (hash computed here
 *    independently, checked against the Microsoft RSS test vector);
 *  - a frontend that closed reconnects and carries verified traffic again. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "nbworld.h"

#if defined(__SANITIZE_ADDRESS__)
#define RECONNECT_BYTES (16ull << 20)
#else
#define RECONNECT_BYTES (64ull << 20)
#endif

static struct nbw world;

static bool skip(void)
{
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0 || !netns_supported()) {
                fprintf(stderr, "netback_features: skipped: needs root, network namespaces, "
                                "/dev/net/tun and /etc/xen/scripts/vif-bridge\n");
                return true;
        }
        return false;
}

static void up(const struct nbw_opts *o, const char *const nf_args[])
{
        char why[4096];
        ck_assert_msg(nbw_up(&world, o, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_netfront_start(&world, "tap", nf_args, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend not Connected");
        ck_assert_msg(nbw_ping(&world, true, 2) == 0, "guest cannot ping the host");
}

static void stream_verified(bool guest_to_host, uint64_t bytes, uint16_t port, struct nbw_stream *s)
{
        ck_assert_int_eq(nbw_tcp_stream(&world, guest_to_host, bytes, port, port, s), 0);
        ck_assert_msg(s->bytes_received == bytes && s->first_bad == UINT64_MAX &&
                          s->digest_received == s->digest_sent,
                      "port %u: %llu of %llu bytes, first bad %llu, digest %016llx vs %016llx",
                      port, (unsigned long long)s->bytes_received, (unsigned long long)bytes,
                      (unsigned long long)s->first_bad, (unsigned long long)s->digest_received,
                      (unsigned long long)s->digest_sent);
}

/* ---- rate limit ----------------------------------------------------------- */

static uint64_t vif_rx_bytes(void)
{
        char out[64] = "";
        netns_capture(&world.hostns, out, sizeof(out),
                      "cat /sys/class/net/vif1.0/statistics/rx_bytes");
        return strtoull(out, NULL, 10);
}

/* Frame bytes per second the backend let through while a stream ran: the
 * TAP's receive counter counts exactly the frames pvbackd wrote (what the
 * credit is charged for, Linux tx_credit_exceeded), over the receiver's
 * first-to-last byte. Returns the ratio to the configured rate. */
static double measure_rate(uint64_t bytes, uint16_t port, double want_bps)
{
        struct nbw_stream s;
        uint64_t before = vif_rx_bytes();
        stream_verified(true, bytes, port, &s);
        uint64_t wire = vif_rx_bytes() - before;
        double bps = (double)wire / s.seconds;
        printf("netback_features: rate %.0f B/s configured, %.0f B/s measured (%llu frame bytes "
               "in %.2f s, ratio %.3f)\n",
               want_bps, bps, (unsigned long long)wire, s.seconds, bps / want_bps);
        return bps / want_bps;
}

START_TEST(rate_limit_and_live_change)
{
        if (skip())
                return;
        /* 40 Mbit/s in xl syntax: 5,000,000 B/s in 50 ms slices. */
        struct nbw_opts o = {.rate = "40Mb/s"};
        up(&o, NULL);
        char *rate = nbw_be_read(&world, "rate");
        ck_assert_msg(rate && strcmp(rate, "250000,50000") == 0, "rate key %s", rate ? rate : "-");
        free(rate);
        double r = measure_rate(24ull << 20, 7001, 5e6);
        ck_assert_msg(r > 0.9 && r < 1.1, "rate off by more than 10%%: ratio %.3f", r);

        /* Live change, as a toolstack writing the key would: 10 MB/s. */
        ck_assert_int_eq(nbw_be_write(&world, "rate", "500000,50000"), 0);
        usleep(300000);
        r = measure_rate(48ull << 20, 7002, 1e7);
        ck_assert_msg(r > 0.9 && r < 1.1, "live rate off by more than 10%%: ratio %.3f", r);
        nbw_down(&world);
}
END_TEST

/* ---- multicast filter ----------------------------------------------------- */

#define MC_JOINED    "01:00:5e:01:02:03"
#define MC_FRAMES    40
#define MC_ETHERTYPE 0x88b5 /* IEEE local experimental: no stack consumes it */

static const uint8_t mc_joined[6] = {0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
static const uint8_t mc_other[6] = {0x01, 0x00, 0x5e, 0x0a, 0x0b, 0x0c};

struct mc_counts {
        volatile int ready;
        volatile uint32_t joined, other;
};

static int packet_socket(const char *ifname)
{
        int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(MC_ETHERTYPE));
        struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                                  .sll_protocol = htons(MC_ETHERTYPE),
                                  .sll_ifindex = (int)if_nametoindex(ifname)};
        if (s < 0 || sll.sll_ifindex == 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0)
                return -1;
        return s;
}

/* In the guest: counts frames of our ethertype per destination for 3 s. A
 * packet socket sees frames before any address filtering in the guest's
 * kernel, so what it counts is what the backend delivered. */
static int mc_listen(void *arg)
{
        struct mc_counts *c = arg;
        uint8_t buf[2048];
        int s = packet_socket("eth0");
        if (s < 0)
                return 1;
        c->ready = 1;
        for (double end = now_s() + 3; now_s() < end;) {
                struct pollfd p = {.fd = s, .events = POLLIN};
                if (poll(&p, 1, 100) <= 0)
                        continue;
                ssize_t n = recv(s, buf, sizeof(buf), 0);
                if (n < 14)
                        continue;
                if (!memcmp(buf, mc_joined, 6))
                        c->joined++;
                else if (!memcmp(buf, mc_other, 6))
                        c->other++;
        }
        return 0;
}

/* In the host namespace: MC_FRAMES frames to each group through the bridge
 * (which floods non-IP multicast to every port, the vif included). */
static int mc_send(void *arg)
{
        (void)arg;
        int s = packet_socket("xenbr0");
        uint8_t f[64] = {0};
        if (s < 0)
                return 1;
        for (int i = 0; i < 2 * MC_FRAMES; i++) {
                memcpy(f, i % 2 ? mc_other : mc_joined, 6);
                memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
                f[12] = MC_ETHERTYPE >> 8;
                f[13] = MC_ETHERTYPE & 0xff;
                f[14] = (uint8_t)i;
                if (send(s, f, sizeof(f), 0) != (ssize_t)sizeof(f))
                        return 2;
                usleep(1000);
        }
        return 0;
}

START_TEST(multicast_filter_drops_unjoined_groups)
{
        if (skip())
                return;
        const char *const args[] = {"--mcast-join", MC_JOINED, NULL};
        up(NULL, args);
        struct mc_counts *c =
            mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(c, MAP_FAILED);
        memset((void *)c, 0, sizeof(*c));
        pid_t l = netns_spawn(&world.guestns, mc_listen, c);
        ck_assert_int_gt(l, 0);
        for (double end = now_s() + 5; !c->ready && now_s() < end;)
                usleep(5000);
        pid_t snd = netns_spawn(&world.hostns, mc_send, NULL);
        ck_assert_int_eq(simhost_wait(snd, 20000), 0);
        ck_assert_int_eq(simhost_wait(l, 20000), 0);
        printf("netback_features: multicast: %u of %d joined-group frames delivered, %u of %d "
               "unjoined\n",
               c->joined, MC_FRAMES, c->other, MC_FRAMES);
        ck_assert_uint_eq(c->joined, MC_FRAMES);
        ck_assert_uint_eq(c->other, 0);
        /* pvbackd counted the drops (its per-queue line at disconnect). */
        ck_assert_int_eq(nbw_netfront_stop(&world), 0);
        ck_assert(nbw_be_wait(&world, "state", "6", 10000));
        char *log = nbw_slurp(world.pvbackd_log);
        uint64_t drops = 0;
        for (char *p = strstr(log, "drops mcast "); p; p = strstr(p + 1, "drops mcast "))
                drops += strtoull(p + strlen("drops mcast "), NULL, 10);
        free(log);
        ck_assert_msg(drops >= MC_FRAMES, "pvbackd counted %llu multicast drops",
                      (unsigned long long)drops);
        munmap((void *)c, sizeof(*c));
        nbw_down(&world);
}
END_TEST

/* ---- hash mapping --------------------------------------------------------- */

/* The Microsoft RSS verification key (also Linux's netfront test key). */
static const uint8_t rss_key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
                                    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
                                    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
                                    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
#define RSS_KEY_HEX                                                                                \
        "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa"

/* Toeplitz over the input bits, written from the definition (independent of
 * netif.h's helper the backend uses). */
static uint32_t toeplitz(const uint8_t *key, size_t keylen, const uint8_t *in, size_t n)
{
        uint32_t h = 0;
        for (size_t i = 0; i < n; i++)
                for (int b = 7; b >= 0; b--)
                        if (in[i] >> b & 1) {
                                size_t bit = i * 8 + (size_t)(7 - b); /* key bit offset */
                                uint32_t w = 0;
                                for (size_t k = 0; k < 32; k++) {
                                        size_t kb = bit + k;
                                        uint8_t byte = kb / 8 < keylen ? key[kb / 8] : 0;
                                        w = w << 1 | (byte >> (7 - kb % 8) & 1);
                                }
                                h ^= w;
                        }
        return h;
}

static uint32_t flow_hash(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
        uint8_t in[12];
        inet_pton(AF_INET, src, in);
        inet_pton(AF_INET, dst, in + 4);
        in[8] = (uint8_t)(sport >> 8), in[9] = (uint8_t)sport;
        in[10] = (uint8_t)(dport >> 8), in[11] = (uint8_t)dport;
        return toeplitz(rss_key, sizeof(rss_key), in, sizeof(in));
}

#define HASH_FLOWS 8
#define HASH_PORT  7100
#define HASH_SPORT 41000
static const unsigned mapping[8] = {3, 2, 1, 0, 1, 0, 3, 2};

static int hash_listen(void *arg)
{
        volatile int *ready = arg;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(HASH_PORT)};
        int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, HASH_FLOWS) < 0)
                return 1;
        *ready = 1;
        char buf[65536];
        for (int i = 0; i < HASH_FLOWS; i++) {
                struct pollfd p = {.fd = ls, .events = POLLIN};
                if (poll(&p, 1, 20000) != 1)
                        return 2;
                int s = accept(ls, NULL, NULL);
                while (read(s, buf, sizeof(buf)) > 0)
                        ;
                close(s);
        }
        return 0;
}

static int hash_send(void *arg)
{
        (void)arg;
        static char buf[1 << 20];
        for (int i = 0; i < HASH_FLOWS; i++) {
                struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(HASH_SPORT + i)};
                struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(HASH_PORT)};
                inet_pton(AF_INET, NBW_GUEST_IP, &to.sin_addr);
                int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(s, (struct sockaddr *)&me, sizeof(me)) < 0 ||
                    connect(s, (struct sockaddr *)&to, sizeof(to)) < 0)
                        return 10 + i;
                for (size_t off = 0; off < sizeof(buf);) {
                        ssize_t n = write(s, buf + off, sizeof(buf) - off);
                        if (n <= 0)
                                return 30 + i;
                        off += (size_t)n;
                }
                close(s);
        }
        return 0;
}

START_TEST(hash_mapping_steers_each_flow)
{
        if (skip())
                return;
        /* The RSS spec's first IPv4/TCP vector. */
        ck_assert_uint_eq(flow_hash("66.9.149.187", 2794, "161.142.100.80", 1766), 0x51ccc178);
        const char *const args[] = {
            "--queues",      "4", "--hash-key", RSS_KEY_HEX, "--hash-mapping", "3,2,1,0,1,0,3,2",
            "--flow-report", NULL};
        struct nbw_opts o = {.max_queues = 4};
        up(&o, args);
        volatile int *ready =
            mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne((void *)ready, MAP_FAILED);
        *ready = 0;
        pid_t l = netns_spawn(&world.guestns, hash_listen, (void *)ready);
        for (double end = now_s() + 5; !*ready && now_s() < end;)
                usleep(5000);
        pid_t snd = netns_spawn(&world.hostns, hash_send, NULL);
        ck_assert_int_eq(simhost_wait(snd, 60000), 0);
        ck_assert_int_eq(simhost_wait(l, 20000), 0);
        ck_assert_int_eq(nbw_netfront_stop(&world), 0);
        char *log = nbw_slurp(world.nf_log);
        ck_assert_msg(strstr(log, "ctrl-ring: on (toeplitz"), "%s", log);
        bool used[4] = {false};
        for (int i = 0; i < HASH_FLOWS; i++) {
                uint32_t h =
                    flow_hash(NBW_HOST_IP, (uint16_t)(HASH_SPORT + i), NBW_GUEST_IP, HASH_PORT);
                unsigned want = mapping[h % 8];
                char key[48];
                snprintf(key, sizeof(key), "rx-flow: hash 0x%08" PRIx32 " queue ", h);
                unsigned lines = 0;
                for (char *p = strstr(log, key); p; p = strstr(p + 1, key)) {
                        unsigned q = 0;
                        unsigned long long frames = 0;
                        sscanf(p + strlen(key), "%u frames %llu", &q, &frames);
                        ck_assert_msg(q == want,
                                      "flow %d (hash %08x): %llu frames on queue %u, mapping "
                                      "says %u\n%s",
                                      i, h, frames, q, want, log);
                        lines++;
                }
                ck_assert_msg(lines == 1, "flow %d (hash %08x): %u report lines\n%s", i, h, lines,
                              log);
                used[want] = true;
                printf("netback_features: flow sport %d hash %08x → queue %u (mapping[%u])\n",
                       HASH_SPORT + i, h, want, h % 8);
        }
        ck_assert_msg(used[0] + used[1] + used[2] + used[3] >= 2, "flows all map to one queue");
        free(log);
        nbw_down(&world);
}
END_TEST

/* ---- reconnect ------------------------------------------------------------ */

START_TEST(frontend_reconnects_after_closed)
{
        if (skip())
                return;
        char why[4096];
        struct nbw_stream s;
        up(NULL, NULL);
        stream_verified(true, RECONNECT_BYTES, 7201, &s);
        ck_assert_int_eq(nbw_netfront_stop(&world), 0);
        ck_assert_msg(nbw_be_wait(&world, "state", "6", 10000), "backend not Closed");
        /* A different configuration this time: one queue, one channel. */
        const char *const args[] = {"--queues", "1", "--no-split-evtchn", NULL};
        ck_assert_msg(nbw_netfront_start(&world, "tap", args, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend not Connected again");
        ck_assert_int_eq(nbw_ping(&world, true, 2), 0);
        stream_verified(true, RECONNECT_BYTES, 7202, &s);
        stream_verified(false, RECONNECT_BYTES, 7203, &s);
        char *log = nbw_slurp(world.pvbackd_log);
        ck_assert_msg(strstr(log, "frontend connected: 1 queue(s), shared event channels"), "%s",
                      log);
        free(log);
        nbw_down(&world);
}
END_TEST

/* ---- Reconfiguring (xdp-headroom) ---------------------------------------- */

/* Linux netfront changes xdp-headroom on a live vif by writing the key and
 * going Reconfiguring; netback re-reads it, answers Reconfigured, and is
 * Connected again when the frontend is. Traffic must survive it. */
START_TEST(reconfiguring_applies_xdp_headroom)
{
        if (skip())
                return;
        struct nbw_stream st;
        up(NULL, NULL);
        struct xs_handle *fe = simhost_xs_open(&world.host, 1);
        ck_assert_ptr_nonnull(fe);
        ck_assert(xs_write(fe, XBT_NULL, "/local/domain/1/device/vif/0/xdp-headroom", "64", 2));
        ck_assert(xs_write(fe, XBT_NULL, "/local/domain/1/device/vif/0/state", "7", 1));
        ck_assert_msg(nbw_be_wait(&world, "state", "8", 10000), "backend not Reconfigured");
        ck_assert(xs_write(fe, XBT_NULL, "/local/domain/1/device/vif/0/state", "4", 1));
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend not Connected again");
        char *log = nbw_slurp(world.pvbackd_log);
        ck_assert_msg(strstr(log, "reconfigured: xdp headroom 64"), "%s", log);
        free(log);
        /* Back to no headroom, which this netfront expects, then traffic. */
        ck_assert(xs_write(fe, XBT_NULL, "/local/domain/1/device/vif/0/xdp-headroom", "0", 1));
        ck_assert(xs_write(fe, XBT_NULL, "/local/domain/1/device/vif/0/state", "7", 1));
        ck_assert_msg(nbw_be_wait(&world, "state", "8", 10000), "backend not Reconfigured");
        ck_assert(xs_write(fe, XBT_NULL, "/local/domain/1/device/vif/0/state", "4", 1));
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend not Connected again");
        xs_close(fe);
        ck_assert_int_eq(nbw_ping(&world, true, 2), 0);
        stream_verified(true, RECONNECT_BYTES, 7204, &st);
        nbw_down(&world);
}
END_TEST

static Suite *netback_features_suite(void)
{
        Suite *s = suite_create("netback_features");
        TCase *tc = tcase_create("features");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, rate_limit_and_live_change);
        tcase_add_test(tc, multicast_filter_drops_unjoined_groups);
        tcase_add_test(tc, hash_mapping_steers_each_flow);
        tcase_add_test(tc, frontend_reconnects_after_closed);
        tcase_add_test(tc, reconfiguring_applies_xdp_headroom);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netback_features_suite)
