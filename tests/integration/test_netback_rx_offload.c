/* Guest RX offload paths end to end through the shipped binaries (pvbackd,
 * the stock vif-bridge, pvback-netfront tap; see nbworld.h). The TAP uplink
 * takes every offload whatever the guest negotiated, so the host's TCP hands
 * it 64 KiB GSO frames with partial checksums, and netback finishes in
 * software what the guest cannot:
 *  - a guest without GSO, and one without checksum offload (hence without
 *    GSO, as Linux netfront negotiates), receive a host→guest stream intact,
 *    and pvbackd's counters show the frames were segmented here (none passed
 *    as GSO, none dropped), checksums completed for the second; likewise
 *    when the guest advertises a tiny MSS and the host's GSO frames come at
 *    an MSS of 52;
 *  - a guest with GSO receives a stream from a third host whose frames reach
 *    the TAP MTU-sized (its veth has TSO/GSO off, the bridge side has no
 *    GRO; the counters prove no GSO frame came from the TAP): with LRO on
 *    pvbackd merged them into GSO packets, with -o vif.lro=off it did not;
 *  - the same stream with L3 fixed at 2000 µs (`set vif1.0 coalesce.l3
 *    fixed` on the control socket) against L3 off: LRO keeps its flows open
 *    while the notification is held, so the guest gets fewer, larger
 *    packets, the flush counters show the hold ends, LRO's longest hold stays
 *    within the bound, and a lone request still gets its answer at once.
 * Counters come from the per-queue line pvbackd logs when the queues stop. */
#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "nbctl.h"
#include "nbstats.h"
#include "nbworld.h"

#if defined(__SANITIZE_ADDRESS__)
#define STREAM_BYTES    (16ull << 20)
#define SMALL_MSS_BYTES (1ull << 20)
#else
#define STREAM_BYTES    (64ull << 20)
#define SMALL_MSS_BYTES (4ull << 20)
#endif

#define SENDER_IP "10.9.0.3"

static struct nbw world;
static struct netns sender;

static bool skip(void)
{
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0 || !netns_supported() ||
            system("ethtool --version >/dev/null 2>&1") != 0) {
                fprintf(stderr, "netback_rx_offload: skipped: needs root, network namespaces, "
                                "/dev/net/tun, ethtool and /etc/xen/scripts/vif-bridge\n");
                return true;
        }
        return false;
}

/* Sums of the rx counters over the queues' lines. */
struct rx_counts {
        unsigned lines;
        uint64_t pkts, drop_size, drop_gso;
        uint64_t gso_pass, gso_sw, gso_sw_segs, csum_pass, csum_sw, linearized, dropped;
        uint64_t lro_frames, lro_merged, lro_gso_out, lro_single_out, lro_flushes;
        uint64_t lro_batch, lro_hold_end, lro_age, lro_hold_max_us;
};

static void parse_line(const char *line, struct rx_counts *c)
{
        unsigned long long v[12] = {0};
        const char *p = strstr(line, "; rx ");
        ck_assert_msg(p && sscanf(p, "; rx %llu pkts", &v[0]) == 1, "no rx part: %s", line);
        c->pkts += v[0];
        p = strstr(line, "drops mcast ");
        ck_assert_msg(p && sscanf(p, "drops mcast %*u size %llu gso %llu", &v[0], &v[1]) == 2,
                      "no rx drops: %s", line);
        c->drop_size += v[0];
        c->drop_gso += v[1];
        p = strstr(line, "rx offload gso_pass ");
        ck_assert_msg(p && sscanf(p,
                                  "rx offload gso_pass %llu gso_sw %llu gso_sw_segs %llu "
                                  "csum_pass %llu csum_sw %llu linearized %llu dropped %llu; "
                                  "lro frames %llu merged %llu gso_out %llu single_out %llu "
                                  "flushes %llu",
                                  &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
                                  &v[9], &v[10], &v[11]) == 12,
                      "rx offload counters unreadable: %s", line);
        c->gso_pass += v[0];
        c->gso_sw += v[1];
        c->gso_sw_segs += v[2];
        c->csum_pass += v[3];
        c->csum_sw += v[4];
        c->linearized += v[5];
        c->dropped += v[6];
        c->lro_frames += v[7];
        c->lro_merged += v[8];
        c->lro_gso_out += v[9];
        c->lro_single_out += v[10];
        c->lro_flushes += v[11];
        p = strstr(line, "(batch ");
        ck_assert_msg(p &&
                          sscanf(p, "(batch %llu hold_end %llu age %llu", &v[0], &v[1], &v[2]) == 3,
                      "lro flush reasons unreadable: %s", line);
        c->lro_batch += v[0];
        c->lro_hold_end += v[1];
        c->lro_age += v[2];
        p = strstr(line, "hold_max_us ");
        ck_assert_msg(p && sscanf(p, "hold_max_us %llu", &v[0]) == 1, "no hold_max_us: %s", line);
        if (v[0] > c->lro_hold_max_us)
                c->lro_hold_max_us = v[0];
        c->lines++;
}

/* Stops the netfront, waits for the backend to log its queues, and sums. */
static struct rx_counts stop_and_count(void)
{
        struct rx_counts c = {0};
        char *log = NULL;
        ck_assert_int_eq(nbw_netfront_stop(&world), 0);
        ck_assert_msg(nbw_be_wait(&world, "state", "6", 10000), "backend not Closed");
        for (int i = 0; i < 200; i++, usleep(20000)) {
                free(log);
                log = nbw_slurp(world.pvbackd_log);
                if (strstr(log, ": disconnected"))
                        break;
        }
        for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
                if (strstr(line, "rx offload gso_pass ")) {
                        if (getenv("PVBACK_TEST_VERBOSE"))
                                fprintf(stderr, "%s\n", line);
                        parse_line(line, &c);
                }
        free(log);
        ck_assert_msg(c.lines > 0, "pvbackd logged no queue counters");
        printf("netback_rx_offload: %u queue(s): rx %" PRIu64 " pkts; gso pass %" PRIu64
               " sw %" PRIu64 " (%" PRIu64 " segments), csum pass %" PRIu64 " sw %" PRIu64
               ", dropped %" PRIu64 " (drops size %" PRIu64 " gso %" PRIu64 "); lro frames %" PRIu64
               " merged %" PRIu64 " gso_out %" PRIu64 " single_out %" PRIu64 " flushes %" PRIu64
               "\n",
               c.lines, c.pkts, c.gso_pass, c.gso_sw, c.gso_sw_segs, c.csum_pass, c.csum_sw,
               c.dropped, c.drop_size, c.drop_gso, c.lro_frames, c.lro_merged, c.lro_gso_out,
               c.lro_single_out, c.lro_flushes);
        fflush(stdout);
        return c;
}

static void up(const struct nbw_opts *o, const char *const nf_args[])
{
        char why[4096];
        ck_assert_msg(nbw_up(&world, o, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_netfront_start(&world, "tap", nf_args, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend not Connected");
        ck_assert_msg(nbw_ping(&world, true, 2) == 0, "guest cannot ping the host");
}

static void assert_stream(const struct nbw_stream *s, uint64_t bytes, const char *what)
{
        ck_assert_msg(s->bytes_received == bytes && s->first_bad == UINT64_MAX &&
                          s->digest_received == s->digest_sent,
                      "%s: %llu of %llu bytes, first bad %llu, digest %016llx vs %016llx", what,
                      (unsigned long long)s->bytes_received, (unsigned long long)bytes,
                      (unsigned long long)s->first_bad, (unsigned long long)s->digest_received,
                      (unsigned long long)s->digest_sent);
        printf("netback_rx_offload: %s: %llu MiB verified at %.0f Mbit/s\n", what,
               (unsigned long long)(bytes >> 20), nbw_mbps(s));
}

static void assert_negotiated(const char *needle)
{
        char *log = nbw_slurp(world.nf_log);
        ck_assert_msg(strstr(log, needle), "netfront did not negotiate '%s':\n%s", needle, log);
        free(log);
}

/* ---- software segmentation ------------------------------------------------ */

static void segmented_for(const char *const nf_args[], bool no_csum, uint16_t port)
{
        struct nbw_stream s;
        up(NULL, nf_args);
        ck_assert_int_eq(nbw_tcp_stream(&world, false, STREAM_BYTES, port, port, &s), 0);
        assert_stream(&s, STREAM_BYTES,
                      no_csum ? "host→guest, guest without csum offload"
                              : "host→guest, guest without GSO");
        struct rx_counts c = stop_and_count();
        assert_negotiated("gso-tcpv4: off");
        if (no_csum)
                assert_negotiated("\ncsum-offload: off");
        /* The host's stack handed the TAP GSO frames; none reached this guest
         * as GSO, none was dropped for its GSO kind or failed here. */
        ck_assert_msg(c.gso_sw > 0, "no frame was segmented in software");
        ck_assert_msg(c.gso_sw_segs > c.gso_sw, "%" PRIu64 " frames gave %" PRIu64 " segments",
                      c.gso_sw, c.gso_sw_segs);
        ck_assert_uint_eq(c.gso_pass, 0);
        ck_assert_uint_eq(c.drop_gso, 0);
        ck_assert_uint_eq(c.dropped, 0);
        ck_assert_uint_eq(c.lro_frames, 0);
        /* Everything the guest got: the segments plus the unsegmented frames. */
        ck_assert_msg(c.pkts >= c.gso_sw_segs, "%" PRIu64 " packets for %" PRIu64 " segments",
                      c.pkts, c.gso_sw_segs);
        if (no_csum) {
                /* The SYN and FIN came with partial checksums too. */
                ck_assert_msg(c.csum_sw > 0, "no checksum completed in software");
                ck_assert_uint_eq(c.csum_pass, 0);
        }
        nbw_down(&world);
}

START_TEST(guest_without_gso_gets_segments)
{
        if (skip())
                return;
        const char *const args[] = {"--no-gso", NULL};
        segmented_for(args, false, 7301);
}
END_TEST

START_TEST(guest_without_csum_offload_gets_segments)
{
        if (skip())
                return;
        const char *const args[] = {"--no-csum", NULL};
        segmented_for(args, true, 7302);
}
END_TEST

/* The guest advertises MSS 64 (a route metric; TCP_MAXSEG refuses less than
 * 88), so the host's TCP, with timestamps, hands the TAP GSO frames at an
 * MSS of 52 (up to 1260 segments each, more than one turn of the segmenter),
 * or 76 where the kernel floors the advertised MSS at 88 as newer ones do:
 * segmented here into packets of at most that many payload bytes, none
 * dropped. */
START_TEST(guest_without_gso_gets_small_mss_segments)
{
        if (skip())
                return;
        const char *const args[] = {"--no-gso", NULL};
        struct nbw_stream s;
        up(NULL, args);
        ck_assert_int_eq(
            netns_run(&world.guestns, "ip route add " NBW_HOST_IP "/32 dev eth0 advmss 64"), 0);
        ck_assert_int_eq(nbw_tcp_stream(&world, false, SMALL_MSS_BYTES, 7303, 7303, &s), 0);
        assert_stream(&s, SMALL_MSS_BYTES, "host→guest at MSS 52, guest without GSO");
        struct rx_counts c = stop_and_count();
        ck_assert_msg(c.gso_sw > 0, "no frame was segmented in software");
        ck_assert_msg(c.gso_sw_segs >= 2 * c.gso_sw, "%" PRIu64 " frames gave %" PRIu64 " segments",
                      c.gso_sw, c.gso_sw_segs);
        ck_assert_uint_eq(c.gso_pass, 0);
        ck_assert_uint_eq(c.drop_gso, 0);
        ck_assert_uint_eq(c.dropped, 0);
        /* At most 76 bytes each: the guest got at least bytes / 76 packets. */
        ck_assert_msg(c.pkts >= SMALL_MSS_BYTES / 76, "%" PRIu64 " packets for %llu bytes", c.pkts,
                      (unsigned long long)SMALL_MSS_BYTES);
        nbw_down(&world);
}
END_TEST

/* ---- LRO ------------------------------------------------------------------ */

/* A third host on the bridge whose TCP sends MTU-sized frames: TSO and GSO
 * off on its veth, and no GRO where the frames enter the host namespace. */
static void sender_up(void)
{
        ck_assert_int_eq(netns_create(&sender, "sender"), 0);
        ck_assert_int_eq(netns_run(&world.hostns,
                                   "ip link add vsnd0 type veth peer name vsnd1 && "
                                   "ip link set vsnd1 netns %d && ip link set vsnd0 master xenbr0 "
                                   "&& ethtool -K vsnd0 gro off >/dev/null && "
                                   "ip link set vsnd0 up",
                                   (int)sender.holder),
                         0);
        ck_assert_int_eq(netns_run(&sender, "ip addr add " SENDER_IP "/24 dev vsnd1 && "
                                            "ethtool -K vsnd1 tso off gso off >/dev/null && "
                                            "ip link set vsnd1 up"),
                         0);
        ck_assert_msg(netns_run(&sender, "ping -c 2 -i 0.2 -W 2 " NBW_GUEST_IP) == 0,
                      "the sender cannot ping the guest");
}

/* `set vif1.0 key value` on pvbackd's control socket. */
static void set_ok(const char *key, const char *value)
{
        char sock[PATH_MAX + 64], code[32], why[512];
        nbstats_sock(&world.host, sock, sizeof(sock));
        int rc = nbctl_set(sock, "vif1.0", key, value, code, sizeof(code), why, sizeof(why));
        ck_assert_msg(rc == 0, "set %s %s: %s (%s)", key, value, why, code);
}

/* Coalescing settings applied once the vif is up: {key, value} pairs. */
struct coal_set {
        const char *key, *value;
};

static struct rx_counts mtu_streams_to_guest(const struct nbw_opts *o, uint16_t port,
                                             const struct coal_set *set, size_t nset,
                                             unsigned streams)
{
        struct nbw_stream s;
        const char *const args[] = {"--queues", "1", NULL};
        up(o, args);
        for (size_t i = 0; i < nset; i++)
                set_ok(set[i].key, set[i].value);
        sender_up();
        for (unsigned i = 0; i < streams; i++) {
                uint16_t p = (uint16_t)(port + 100 * i);
                ck_assert_int_eq(nbw_tcp_stream_ns(&world, &sender, &world.guestns, NBW_GUEST_IP,
                                                   STREAM_BYTES, p, p, &s),
                                 0);
                assert_stream(&s, STREAM_BYTES, "MTU-sized frames → guest with GSO");
        }
        struct rx_counts c = stop_and_count();
        assert_negotiated("gso-tcpv4: on");
        /* The premise: the TAP handed over MTU-sized frames only. */
        ck_assert_msg(c.gso_pass == 0 && c.gso_sw == 0,
                      "the TAP delivered GSO frames (%" PRIu64 " passed, %" PRIu64
                      " segmented): the sender's frames were merged before pvbackd",
                      c.gso_pass, c.gso_sw);
        ck_assert_uint_eq(c.dropped, 0);
        ck_assert_uint_eq(c.drop_size, 0);
        netns_destroy(&sender);
        nbw_down(&world);
        return c;
}

static struct rx_counts mtu_stream_to_guest(const struct nbw_opts *o, uint16_t port)
{
        return mtu_streams_to_guest(o, port, NULL, 0, 1);
}

START_TEST(lro_merges_mtu_stream)
{
        if (skip())
                return;
        struct rx_counts c = mtu_stream_to_guest(NULL, 7311);
        /* Every data frame of the stream: 1448-byte payloads. */
        ck_assert_msg(c.lro_frames > STREAM_BYTES / 1448, "LRO saw %" PRIu64 " frames",
                      c.lro_frames);
        ck_assert_msg(c.lro_merged > 0 && c.lro_gso_out > 0,
                      "no merge: %" PRIu64 " merged, %" PRIu64 " GSO packets out", c.lro_merged,
                      c.lro_gso_out);
        ck_assert_msg(c.pkts < c.lro_frames, "%" PRIu64 " packets for %" PRIu64 " frames", c.pkts,
                      c.lro_frames);
        ck_assert_msg(c.lro_flushes == c.lro_gso_out + c.lro_single_out,
                      "%" PRIu64 " flushes for %" PRIu64 " held packets out", c.lro_flushes,
                      c.lro_gso_out + c.lro_single_out);
}
END_TEST

START_TEST(lro_off_leaves_frames_alone)
{
        if (skip())
                return;
        const char *const args[] = {"-o", "vif.lro=off", NULL};
        struct nbw_opts o = {.pvbackd_args = args};
        struct rx_counts c = mtu_stream_to_guest(&o, 7312);
        ck_assert_uint_eq(c.lro_frames, 0);
        ck_assert_uint_eq(c.lro_merged, 0);
        ck_assert_uint_eq(c.lro_gso_out, 0);
        ck_assert_msg(c.pkts > STREAM_BYTES / 1448, "%" PRIu64 " packets", c.pkts);
}
END_TEST

/* LRO's bound is 100 µs; the allowance covers a loaded machine's timer and
 * scheduling delay, and stays below the L3 bound (2000 µs), which a hold
 * that waited for the notification instead of LRO's bound would reach.
 * Only where the guest ring never fills: a full ring keeps packets waiting
 * in LRO as in the backlog, whatever the bound (a bulk stream's longest
 * hold is printed, not checked). */
#define LRO_HOLD_ALLOW_US 1900u

/* L3 fixed at 2000 µs against L3 off, the same two MTU-sized streams each time:
 * with the notification held, LRO's flows stay open across passes, so each
 * held packet gathers more segments and the guest gets fewer packets. */
static double segs_per_held(const struct rx_counts *c)
{
        uint64_t out = c->lro_gso_out + c->lro_single_out;
        return out ? (double)(c->lro_merged + out) / (double)out : 0.0;
}

START_TEST(lro_stays_open_while_l3_holds)
{
        if (skip())
                return;
        const struct coal_set l3_off[] = {{"coalesce.l3", "off"}};
        const struct coal_set l3_fixed[] = {{"coalesce.l3", "fixed"},
                                            {"coalesce.l3.usecs", "2000"},
                                            {"coalesce.l3.frames", "1024"}};
        struct rx_counts off = mtu_streams_to_guest(NULL, 7313, l3_off, 1, 2);
        struct rx_counts held = mtu_streams_to_guest(NULL, 7314, l3_fixed, 3, 2);
        double s_off = segs_per_held(&off), s_held = segs_per_held(&held);

        printf("netback_rx_offload: L3 off: %" PRIu64 " packets, %.1f segments per merged "
               "packet (batch %" PRIu64 ", age %" PRIu64 "); L3 fixed 2000 us: %" PRIu64
               " packets, %.1f segments (hold ends %" PRIu64 ", age %" PRIu64 ", batch %" PRIu64
               "), longest LRO hold %" PRIu64 " us\n",
               off.pkts, s_off, off.lro_batch, off.lro_age, held.pkts, s_held, held.lro_hold_end,
               held.lro_age, held.lro_batch, held.lro_hold_max_us);
        fflush(stdout);
        /* Without a hold nothing stays open past a pass. */
        ck_assert_uint_eq(off.lro_hold_end, 0);
        /* The mechanism: flows closed by the hold's end, which only a flow
         * kept open past the end of its pass can be. Not a comparison of
         * cut counts: LRO's own 100 us age flushes come alike with and
         * without the hold (a sum with them failed one run in three), and
         * pass-end cuts without a hold (25-78 here) vanish in the slower
         * sanitizer build, where flows end by PSH or age first. */
        ck_assert_msg(held.lro_hold_end > 0,
                      "no flow stayed open across passes while L3 held (%" PRIu64
                      " pass-end cuts held, %" PRIu64 " without)",
                      held.lro_batch, off.lro_batch);
        /* Fewer, larger packets follow, but the sender's PSH marks end most
         * merges, so the gain (7-9 %) is within a few runs' noise: printed
         * above, not asserted. */
        ck_assert_msg(held.lro_flushes == held.lro_gso_out + held.lro_single_out,
                      "%" PRIu64 " flushes for %" PRIu64 " held packets out", held.lro_flushes,
                      held.lro_gso_out + held.lro_single_out);
}
END_TEST

/* A lone small message while L3 holds for 2000 µs: it arrives intact, and
 * a few request/response rounds (each one lone segment carrying PSH, which
 * LRO never holds) complete well within their time. */
START_TEST(lro_lone_packet_not_delayed)
{
        if (skip())
                return;
        const char *const args[] = {"--queues", "1", NULL};
        struct nbw_stream s;
        up(NULL, args);
        set_ok("coalesce.l3", "fixed");
        set_ok("coalesce.l3.usecs", "2000");
        for (int i = 0; i < 5; i++) {
                ck_assert_int_eq(nbw_tcp_stream(&world, false, 100, (uint16_t)(7320 + i),
                                                (uint32_t)(7320 + i), &s),
                                 0);
                assert_stream(&s, 100, "a lone 100-byte message → guest, L3 holding");
        }
        struct rx_counts c = stop_and_count();
        ck_assert_msg(c.lro_hold_max_us <= LRO_HOLD_ALLOW_US, "LRO held a packet %" PRIu64 " us",
                      c.lro_hold_max_us);
        ck_assert_uint_eq(c.dropped, 0);
        nbw_down(&world);
}
END_TEST

static Suite *netback_rx_offload_suite(void)
{
        Suite *s = suite_create("netback_rx_offload");
        TCase *tc = tcase_create("rx_offload");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, guest_without_gso_gets_segments);
        tcase_add_test(tc, guest_without_csum_offload_gets_segments);
        tcase_add_test(tc, guest_without_gso_gets_small_mss_segments);
        tcase_add_test(tc, lro_merges_mtu_stream);
        tcase_add_test(tc, lro_off_leaves_frames_alone);
        tcase_add_test(tc, lro_stays_open_while_l3_holds);
        tcase_add_test(tc, lro_lone_packet_not_delayed);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netback_rx_offload_suite)
