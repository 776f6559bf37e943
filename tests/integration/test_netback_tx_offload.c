/* Guest TX offloads against the uplink's capabilities, on real netdevs:
 *  - netdev_features reads what `ethtool -k` shows on a TAP made by the TAP
 *    uplink and on a veth pair, through every `ethtool -K` toggle; the
 *    kernel reports each change over rtnetlink; a TAP's settings survive
 *    queue re-attachment (a guest reconnect), while a second TUNSETOFFLOAD
 *    would undo them (why pvbackd sets it once, at create);
 *  - through pvbackd on the simulator: a guest with GSO and checksum offload
 *    streams TCP to the host while the vif's TAP has tso and tx-checksumming
 *    switched off with `ethtool -K` after the guest connected. pvbackd
 *    re-reads them without a reconnect, segments and checksums in software:
 *    every frame the TAP receives is MSS-sized with a correct TCP checksum
 *    (checked here from the bytes, and by the host kernel's counters), the
 *    payload digest verifies, and the per-queue counters show the software
 *    path. Switched back on, whole GSO frames pass again (gso_pass);
 *  - a Linux guest whose peer advertises a tiny MSS sends GSO at an MSS of
 *    52 or 76 (below the 88 of TCP_MIN_MSS, above the segmenter's floor): with
 *    the TAP's tso off pvbackd segments it, every frame carries at most that MSS in
 *    payload bytes, each segment a correct full checksum, the digest
 *    verifies and nothing is dropped;
 *  - 64 KiB GSO packets at the floor itself (OFF_GSO_MSS_MIN) become 8186
 *    segments each, every one on the TAP with a correct checksum.
 * The drop below the floor: test_netback_hostile.c. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "nbworld.h"
#include "nf_gen.h"
#include "offload/off_caps.h"
#include "offload/off_gso.h"
#include "uplink/netdev_features.h"
#include "uplink/netdev_watch.h"
#include "uplink/uplink.h"

#if defined(__SANITIZE_ADDRESS__)
#define STREAM_BYTES    (16ull << 20)
#define SMALL_MSS_BYTES (1ull << 20)
#else
#define STREAM_BYTES    (64ull << 20)
#define SMALL_MSS_BYTES (4ull << 20)
#endif

#define TSO_ALL  (OFF_CAP_TSO4 | OFF_CAP_TSO6)
#define CSUM_ALL (OFF_CAP_CSUM4 | OFF_CAP_CSUM6)

static const char *caps_name(unsigned caps)
{
        static char buf[4][64];
        static int i;
        i = (i + 1) % 4;
        return off_caps_str(caps, buf[i], sizeof(buf[i]));
}

/* ---- netdev_features on real netdevs --------------------------------------- */

static int run(const char *fmt, const char *dev, const char *args)
{
        char cmd[256];
        snprintf(cmd, sizeof(cmd), fmt, dev, args);
        int st = system(cmd);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* What `ethtool -k` prints, mapped here with our own table: the reference
 * the ioctl reader is compared with. */
static unsigned caps_from_ethtool_k(const char *dev)
{
        static const struct {
                const char *line;
                unsigned caps;
        } map[] = {
            {"tx-checksum-ipv4: on", OFF_CAP_CSUM4},    {"tx-checksum-ipv6: on", OFF_CAP_CSUM6},
            {"tx-checksum-ip-generic: on", CSUM_ALL},   {"tx-tcp-segmentation: on", OFF_CAP_TSO4},
            {"tx-tcp6-segmentation: on", OFF_CAP_TSO6}, {"tx-scatter-gather: on", OFF_CAP_SG},
        };
        char cmd[128], line[256];
        unsigned caps = 0;
        snprintf(cmd, sizeof(cmd), "ethtool -k %s", dev);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        while (fgets(line, sizeof(line), p)) {
                const char *l = line + strspn(line, " \t");
                for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                        if (!strncmp(l, map[i].line, strlen(map[i].line)))
                                caps |= map[i].caps;
        }
        ck_assert_int_eq(pclose(p), 0);
        return caps;
}

static unsigned read_caps(const char *dev)
{
        unsigned caps = ~0u;
        int rc = netdev_features_read(dev, &caps);
        ck_assert_msg(rc == 0, "netdev_features_read(%s): %s", dev, strerror(-rc));
        return caps;
}

/* `ethtool -K dev args`, then the reader agrees with `ethtool -k` and with
 * what the step expects. */
static void toggle(const char *dev, const char *args, unsigned want)
{
        ck_assert_msg(run("ethtool -K %s %s >/dev/null 2>&1", dev, args) == 0, "ethtool -K %s %s",
                      dev, args);
        unsigned got = read_caps(dev), ref = caps_from_ethtool_k(dev);
        ck_assert_msg(got == ref, "%s after '%s': read %s, ethtool -k shows %s", dev, args,
                      caps_name(got), caps_name(ref));
        ck_assert_msg(got == want, "%s after '%s': %s, expected %s", dev, args, caps_name(got),
                      caps_name(want));
}

struct link_seen {
        unsigned ifindex, hits;
};

static void link_hit(unsigned ifindex, void *arg)
{
        struct link_seen *s = arg;
        if (ifindex == s->ifindex || ifindex == 0)
                s->hits++;
}

/* Whether the listener reported a message for @ifindex within a second. */
static bool link_event(int fd, unsigned ifindex)
{
        struct link_seen s = {ifindex, 0};
        for (double end = now_s() + 1; !s.hits && now_s() < end;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 100) > 0)
                        ck_assert_int_eq(netdev_watch_drain(fd, link_hit, &s), 0);
        }
        return s.hits > 0;
}

static void drain_events(int fd)
{
        struct link_seen s = {0, 0};
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while (poll(&p, 1, 50) > 0)
                netdev_watch_drain(fd, link_hit, &s);
}

/* A private network namespace for this test's process: every netdev made
 * here vanishes with it, whatever ends the test. */
static bool private_netns(void)
{
        if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 ||
            unshare(CLONE_NEWNET) < 0 || system("which ethtool >/dev/null 2>&1") != 0) {
                fprintf(stderr, "netback_tx_offload: skipped: needs root, network namespaces, "
                                "/dev/net/tun and ethtool\n");
                return false;
        }
        return true;
}

START_TEST(tap_features_follow_ethtool)
{
        struct uplink *u = NULL;
        struct uplink_queue *q0 = NULL, *q1 = NULL;
        unsigned caps = 0;

        if (!private_netns())
                return;
        int wfd = netdev_watch_open();
        ck_assert_msg(wfd >= 0, "netdev_watch_open: %s", strerror(-wfd));
        ck_assert_int_eq(uplink_create(&uplink_tap_ops, "vifoff0", 2, &u), 0);
        ck_assert_uint_eq(u->ifindex, if_nametoindex("vifoff0"));
        drain_events(wfd);

        /* The TAP uplink offers everything at create; the netdev says so. */
        ck_assert_int_eq(uplink_tx_caps(u, &caps), 0);
        ck_assert_msg(caps == OFF_CAP_ALL, "fresh TAP: %s", caps_name(caps));
        ck_assert_uint_eq(caps_from_ethtool_k("vifoff0"), OFF_CAP_ALL);

        toggle("vifoff0", "tso off", CSUM_ALL | OFF_CAP_SG);
        ck_assert_msg(link_event(wfd, u->ifindex), "no RTM_NEWLINK after ethtool -K tso off");
        /* A guest reconnecting re-attaches queues: the operator's choice stays. */
        ck_assert_int_eq(uplink_queue_open(u, 0, &q0), 0);
        ck_assert_int_eq(uplink_queue_open(u, 1, &q1), 0);
        uplink_queue_close(q1);
        uplink_queue_close(q0);
        ck_assert_int_eq(uplink_tx_caps(u, &caps), 0);
        ck_assert_msg(caps == (CSUM_ALL | OFF_CAP_SG), "after queue re-attach: %s",
                      caps_name(caps));
        toggle("vifoff0", "tso on", OFF_CAP_ALL);
        ck_assert_msg(link_event(wfd, u->ifindex), "no RTM_NEWLINK after ethtool -K tso on");
        /* The kernel drops TSO with the checksum (netdev_fix_features)... */
        toggle("vifoff0", "tx off", OFF_CAP_SG);
        toggle("vifoff0", "tx on", OFF_CAP_ALL);
        /* ... and with scatter-gather. */
        toggle("vifoff0", "sg off", CSUM_ALL);
        toggle("vifoff0", "sg on", OFF_CAP_ALL);
        toggle("vifoff0", "tx-tcp6-segmentation off", OFF_CAP_ALL & ~OFF_CAP_TSO6);
        toggle("vifoff0", "tx-checksum-ip-generic off", OFF_CAP_SG);
        toggle("vifoff0", "tx-checksum-ip-generic on tx-tcp6-segmentation on", OFF_CAP_ALL);

        /* The kernel behaviour that makes pvbackd call TUNSETOFFLOAD only at
         * create: a second call rewrites the operator's bits. */
        toggle("vifoff0", "tso off", CSUM_ALL | OFF_CAP_SG);
        ck_assert_int_eq(
            uplink_set_offloads(u, UPLINK_OFF_CSUM | UPLINK_OFF_TSO4 | UPLINK_OFF_TSO6), 0);
        ck_assert_int_eq(uplink_tx_caps(u, &caps), 0);
        ck_assert_msg(caps == OFF_CAP_ALL, "TUNSETOFFLOAD after ethtool -K tso off: %s",
                      caps_name(caps));

        /* Renamed (as a hotplug script may): read by ifindex still. */
        ck_assert_int_eq(system("ip link set vifoff0 name vifoffX"), 0);
        toggle("vifoffX", "tso off", CSUM_ALL | OFF_CAP_SG);
        ck_assert_int_eq(uplink_tx_caps(u, &caps), 0);
        ck_assert_msg(caps == (CSUM_ALL | OFF_CAP_SG), "renamed: %s", caps_name(caps));
        ck_assert_int_eq(netdev_features_read("vifoff0", &caps), -ENODEV);

        unsigned ifindex = u->ifindex;
        uplink_destroy(u);
        /* Gone: an error, never a crash or a stale success. */
        ck_assert_int_eq(netdev_features_read_index(ifindex, &caps), -ENODEV);
        close(wfd);
}
END_TEST

START_TEST(veth_features_follow_ethtool)
{
        if (!private_netns())
                return;
        ck_assert_int_eq(system("ip link add vtx0 type veth peer name vtx1"), 0);
        unsigned base = read_caps("vtx0");
        ck_assert_msg(base == caps_from_ethtool_k("vtx0"), "veth: read %s, ethtool -k %s",
                      caps_name(base), caps_name(caps_from_ethtool_k("vtx0")));
        /* veth offers everything by default (veth_setup: VETH_FEATURES). */
        ck_assert_msg(base == OFF_CAP_ALL, "veth default: %s", caps_name(base));
        toggle("vtx0", "tso off", CSUM_ALL | OFF_CAP_SG);
        toggle("vtx0", "tso on", OFF_CAP_ALL);
        toggle("vtx0", "tx off", OFF_CAP_SG);
        toggle("vtx0", "tx on", OFF_CAP_ALL);
        toggle("vtx0", "sg off", CSUM_ALL);
        toggle("vtx0", "sg on", OFF_CAP_ALL);
        /* The peer is a netdev of its own. */
        ck_assert_uint_eq(read_caps("vtx1"), OFF_CAP_ALL);
        ck_assert_int_eq(system("ip link del vtx0"), 0);
        unsigned caps;
        ck_assert_int_eq(netdev_features_read("vtx0", &caps), -ENODEV);
}
END_TEST

/* ---- through pvbackd ------------------------------------------------------- */

#define VIF "vif1.0"

static struct nbw world;

/* What a packet socket on the vif's TAP saw of one TCP stream, in the host
 * namespace: every frame pvbackd wrote into the TAP, as the kernel got it. */
struct capture {
        volatile int ready, stop;
        uint16_t port;
        uint64_t frames;       /* TCP frames to port */
        uint64_t data_frames;  /* ... with payload */
        uint64_t max_len;      /* largest frame */
        uint64_t max_payload;  /* largest TCP payload */
        uint64_t at_max;       /* data frames carrying max_payload */
        uint64_t csum_checked; /* full TCP checksums verified here */
        uint64_t csum_bad;
        uint64_t csum_partial; /* frames the kernel holds as CHECKSUM_PARTIAL */
        uint64_t drops;        /* the socket's own (PACKET_STATISTICS) */
};

/* RFC 1071 over the pseudo-header and the segment, written from the RFC
 * (independent of the offload code under test). */
static bool tcp4_csum_ok(const uint8_t *ip, size_t l4_len, const uint8_t *l4)
{
        uint32_t sum = 0;
        for (int i = 12; i < 20; i += 2)
                sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
        sum += 6 + (uint32_t)l4_len;
        for (size_t i = 0; i + 1 < l4_len; i += 2)
                sum += (uint32_t)(l4[i] << 8 | l4[i + 1]);
        if (l4_len & 1)
                sum += (uint32_t)(l4[l4_len - 1] << 8);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return sum == 0xffff;
}

static void capture_frame(struct capture *c, const uint8_t *f, size_t len, size_t wire_len,
                          bool partial)
{
        if (len < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00)
                return;
        const uint8_t *ip = f + 14;
        size_t ihl = (size_t)(ip[0] & 0xf) * 4;
        if (ip[9] != 6 || ihl < 20 || len < 14 + ihl + 20)
                return;
        const uint8_t *tcp = ip + ihl;
        if ((uint16_t)(tcp[2] << 8 | tcp[3]) != c->port)
                return;
        size_t ip_len = (size_t)(ip[2] << 8 | ip[3]);
        size_t doff = (size_t)(tcp[12] >> 4) * 4;
        /* A plain frame's IP length bounds it (Ethernet padding follows);
         * a GSO frame is longer than its IP length says. */
        bool gso = wire_len - 14 > ip_len + 4;
        if (ip_len < ihl + doff && !gso)
                return;
        size_t l4_len = (gso ? wire_len - 14 : ip_len) - ihl;
        size_t payload = l4_len > doff ? l4_len - doff : 0;
        c->frames++;
        if (wire_len > c->max_len)
                c->max_len = wire_len;
        if (payload) {
                c->data_frames++;
                if (payload > c->max_payload) {
                        c->max_payload = payload;
                        c->at_max = 0;
                }
                if (payload == c->max_payload)
                        c->at_max++;
        }
        if (partial) {
                c->csum_partial++;
        } else if (!gso && len == wire_len) {
                c->csum_checked++;
                if (!tcp4_csum_ok(ip, l4_len, tcp))
                        c->csum_bad++;
        }
}

static int capture_run(void *arg)
{
        struct capture *c = arg;
        static uint8_t buf[70000];
        int one = 1, big = 64 << 20;
        int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                                  .sll_protocol = htons(ETH_P_ALL),
                                  .sll_ifindex = (int)if_nametoindex(VIF)};
        if (s < 0 || sll.sll_ifindex == 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0)
                return 1;
        setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
        setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
        c->ready = 1;
        for (;;) {
                struct pollfd p = {.fd = s, .events = POLLIN};
                int n = poll(&p, 1, 100);
                if (n <= 0) {
                        if (c->stop)
                                break;
                        continue;
                }
                char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
                struct sockaddr_ll from;
                struct iovec iov = {buf, sizeof(buf)};
                struct msghdr mh = {.msg_name = &from,
                                    .msg_namelen = sizeof(from),
                                    .msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = cbuf,
                                    .msg_controllen = sizeof(cbuf)};
                ssize_t r = recvmsg(s, &mh, MSG_TRUNC);
                if (r < 0 || from.sll_pkttype == PACKET_OUTGOING)
                        continue;
                bool partial = false;
                for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
                        if (cm->cmsg_level == SOL_PACKET && cm->cmsg_type == PACKET_AUXDATA) {
                                struct tpacket_auxdata aux;
                                memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
                                partial = aux.tp_status & TP_STATUS_CSUMNOTREADY;
                        }
                }
                size_t got = (size_t)r < sizeof(buf) ? (size_t)r : sizeof(buf);
                capture_frame(c, buf, got, (size_t)r, partial);
        }
        struct tpacket_stats st;
        socklen_t sl = sizeof(st);
        if (getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
                c->drops = st.tp_drops;
        close(s);
        return 0;
}

/* InCsumErrors of the host namespace's TCP (/proc/net/snmp, per namespace). */
static uint64_t host_tcp_csum_errors(void)
{
        char out[4096] = "";
        ck_assert_int_eq(netns_capture(&world.hostns, out, sizeof(out),
                                       "awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) "
                                       "if ($i == \"InCsumErrors\") c = i; h = 1 } "
                                       "else print $c }' /proc/net/snmp"),
                         0);
        ck_assert_msg(out[0] >= '0' && out[0] <= '9', "no InCsumErrors in /proc/net/snmp: '%s'",
                      out);
        return strtoull(out, NULL, 10);
}

/* Streams @bytes guest → host on @port while the capture watches the TAP. */
static void stream_captured(uint16_t port, uint64_t bytes, struct capture *c)
{
        struct nbw_stream s;
        memset(c, 0, sizeof(*c));
        c->port = port;
        pid_t cap = netns_spawn(&world.hostns, capture_run, c);
        ck_assert_int_gt(cap, 0);
        for (double end = now_s() + 5; !c->ready && now_s() < end;)
                usleep(5000);
        ck_assert_msg(c->ready, "the capture did not start");
        int rc = nbw_tcp_stream(&world, true, bytes, port, port, &s);
        c->stop = 1;
        ck_assert_int_eq(simhost_wait(cap, 10000), 0);
        ck_assert_msg(rc == 0 && s.bytes_received == bytes && s.first_bad == UINT64_MAX &&
                          s.digest_received == s.digest_sent,
                      "port %u: %llu of %llu bytes, first bad %llu, digest %016llx vs %016llx",
                      port, (unsigned long long)s.bytes_received, (unsigned long long)bytes,
                      (unsigned long long)s.first_bad, (unsigned long long)s.digest_received,
                      (unsigned long long)s.digest_sent);
        printf("netback_tx_offload: port %u: %.0f Mbit/s; the TAP received %llu frames (%llu "
               "with data, largest %llu B, payload %llu B in %llu), %llu checksums verified, "
               "%llu partial, %llu capture drops\n",
               port, nbw_mbps(&s), (unsigned long long)c->frames,
               (unsigned long long)c->data_frames, (unsigned long long)c->max_len,
               (unsigned long long)c->max_payload, (unsigned long long)c->at_max,
               (unsigned long long)c->csum_checked, (unsigned long long)c->csum_partial,
               (unsigned long long)c->drops);
        fflush(stdout);
}

static size_t log_size(void)
{
        char *log = nbw_slurp(world.pvbackd_log);
        size_t n = strlen(log);
        free(log);
        return n;
}

/* Waits for @needle in pvbackd's log after offset @from. */
static bool log_wait(size_t from, const char *needle, int ms)
{
        for (double end = now_s() + ms / 1000.0; now_s() < end; usleep(20000)) {
                char *log = nbw_slurp(world.pvbackd_log);
                bool found = strlen(log) > from && strstr(log + from, needle);
                free(log);
                if (found)
                        return true;
        }
        return false;
}

struct tx_off_sum {
        uint64_t gso_pass, gso_sw, gso_sw_segs, csum_pass, csum_sw, linearized, dropped;
        unsigned lines;
};

/* Sums the "tx offload ..." part of the per-queue lines pvbackd logged at
 * the disconnect after offset @from. */
static struct tx_off_sum tx_off_counters(size_t from)
{
        struct tx_off_sum t = {0};
        ck_assert_msg(log_wait(from, VIF ": disconnected", 10000), "no disconnect logged");
        char *log = nbw_slurp(world.pvbackd_log);
        for (char *p = strstr(log + from, "; tx offload "); p; p = strstr(p + 1, "; tx offload ")) {
                unsigned long long v[7];
                ck_assert_int_eq(sscanf(p,
                                        "; tx offload gso_pass %llu gso_sw %llu gso_sw_segs %llu "
                                        "csum_pass %llu csum_sw %llu linearized %llu dropped %llu",
                                        &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]),
                                 7);
                t.gso_pass += v[0];
                t.gso_sw += v[1];
                t.gso_sw_segs += v[2];
                t.csum_pass += v[3];
                t.csum_sw += v[4];
                t.linearized += v[5];
                t.dropped += v[6];
                t.lines++;
        }
        free(log);
        printf("netback_tx_offload: counters: gso_pass %llu gso_sw %llu gso_sw_segs %llu csum_pass "
               "%llu csum_sw %llu linearized %llu dropped %llu (%u queue lines)\n",
               (unsigned long long)t.gso_pass, (unsigned long long)t.gso_sw,
               (unsigned long long)t.gso_sw_segs, (unsigned long long)t.csum_pass,
               (unsigned long long)t.csum_sw, (unsigned long long)t.linearized,
               (unsigned long long)t.dropped, t.lines);
        ck_assert_uint_gt(t.lines, 0);
        return t;
}

static void host_ethtool(const char *args)
{
        ck_assert_msg(netns_run(&world.hostns, "ethtool -K " VIF " %s", args) == 0,
                      "ethtool -K " VIF " %s", args);
}

static void netfront_up(void)
{
        char why[4096];
        ck_assert_msg(nbw_netfront_start(&world, "tap", NULL, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend not Connected");
}

static void netfront_down(void)
{
        ck_assert_int_eq(nbw_netfront_stop(&world), 0);
        ck_assert_msg(nbw_be_wait(&world, "state", "6", 10000), "backend not Closed");
}

START_TEST(ethtool_off_segments_in_software)
{
        char why[4096];
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0 || !netns_supported()) {
                fprintf(stderr, "netback_tx_offload: skipped: needs root, network namespaces, "
                                "/dev/net/tun and /etc/xen/scripts/vif-bridge\n");
                return;
        }
        struct capture *c =
            mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(c, MAP_FAILED);
        ck_assert_msg(nbw_up(&world, NULL, why, sizeof(why)) == 0, "%s", why);

        /* Connected with the TAP offering everything. */
        size_t from = log_size();
        netfront_up();
        ck_assert_msg(log_wait(from, "uplink tx offloads csum4,csum6,tso4,tso6,sg", 5000),
                      "connect did not read the uplink's offloads");

        /* The operator switches tso and checksumming off on the connected
         * vif: pvbackd re-reads them from the kernel's notification. */
        from = log_size();
        host_ethtool("tso off tx off");
        if (!log_wait(from, VIF " tx offloads now sg (were csum4,csum6,tso4,tso6,sg)", 5000))
                nbw_dump_logs(&world);
        ck_assert_msg(log_wait(from, VIF " tx offloads now sg (were csum4,csum6,tso4,tso6,sg)", 1),
                      "pvbackd did not re-read the offloads after ethtool -K");
        uint64_t csum_err0 = host_tcp_csum_errors();
        stream_captured(7101, STREAM_BYTES, c);
        ck_assert_uint_eq(host_tcp_csum_errors(), csum_err0);
        /* Only MSS-sized frames reached the kernel, each with a correct
         * checksum and none left for the kernel to finish. */
        ck_assert_uint_gt(c->data_frames, STREAM_BYTES / 1500 / 2);
        ck_assert_msg(c->max_len <= 1514, "a %llu-byte frame reached the TAP",
                      (unsigned long long)c->max_len);
        ck_assert_msg(c->max_payload >= 1000 && c->max_payload <= 1460, "largest payload %llu",
                      (unsigned long long)c->max_payload);
        ck_assert_msg(c->at_max * 10 >= c->data_frames * 9,
                      "%llu of %llu data frames carry the MSS (%llu)",
                      (unsigned long long)c->at_max, (unsigned long long)c->data_frames,
                      (unsigned long long)c->max_payload);
        ck_assert_uint_eq(c->csum_partial, 0);
        ck_assert_uint_eq(c->csum_checked, c->frames);
        ck_assert_uint_eq(c->csum_bad, 0);

        from = log_size();
        netfront_down();
        struct tx_off_sum t = tx_off_counters(from);
        ck_assert_uint_gt(t.gso_sw, 0);
        ck_assert_uint_gt(t.gso_sw_segs, t.gso_sw);
        ck_assert_uint_eq(t.gso_pass, 0);
        ck_assert_uint_gt(t.csum_sw, 0);
        ck_assert_uint_eq(t.csum_pass, 0);
        ck_assert_uint_eq(t.dropped, 0);

        /* A reconnect keeps the operator's settings (no TUNSETOFFLOAD per
         * connect). */
        from = log_size();
        netfront_up();
        ck_assert_msg(log_wait(from, "uplink tx offloads sg", 5000),
                      "the reconnect changed the uplink's offloads");
        char out[512] = "";
        netns_capture(&world.hostns, out, sizeof(out), "ethtool -k " VIF);
        ck_assert_msg(strstr(out, "tcp-segmentation-offload: off"), "%s", out);

        /* Switched back on while connected: GSO passes whole again. */
        from = log_size();
        host_ethtool("tso on tx on");
        ck_assert_msg(
            log_wait(from, VIF " tx offloads now csum4,csum6,tso4,tso6,sg (were sg)", 5000),
            "pvbackd did not re-read the offloads after ethtool -K on");
        csum_err0 = host_tcp_csum_errors();
        stream_captured(7102, STREAM_BYTES, c);
        ck_assert_uint_eq(host_tcp_csum_errors(), csum_err0);
        ck_assert_msg(c->max_len > 1514, "no GSO frame reached the TAP (largest %llu)",
                      (unsigned long long)c->max_len);
        ck_assert_uint_gt(c->csum_partial, 0);

        from = log_size();
        netfront_down();
        t = tx_off_counters(from);
        ck_assert_uint_gt(t.gso_pass, 0);
        ck_assert_uint_eq(t.gso_sw, 0);
        ck_assert_uint_gt(t.csum_pass, 0);
        ck_assert_uint_eq(t.csum_sw, 0);
        ck_assert_uint_eq(t.dropped, 0);

        ck_assert_msg(kill(world.pvbackd, 0) == 0, "pvbackd died");
        munmap(c, sizeof(*c));
        nbw_down(&world);
}
END_TEST

/* ---- GSO at a small MSS ---------------------------------------------------- */

/* Advertised by the host through a route metric (TCP_MAXSEG refuses less
 * than 88): with timestamps the guest sends GSO at an MSS of 64 - 12, or
 * of 88 - 12 where the kernel floors the advertised MSS at 88 as newer ones
 * do. Either is below TCP_MIN_MSS and far below a turn of the segmenter. */
#define TINY_ADVMSS  64
#define TINY_MSS     52
#define TINY_MSS_NEW 76

/* The Linux guest's stack sends GSO at MSS 52 once the host advertises a
 * tiny MSS. With the uplink's TSO off pvbackd segments those: the TAP gets
 * only frames of at most that MSS, each with a full and correct
 * checksum, the stream's digest verifies, the counters show the software
 * path and no drop, and no warning is logged. */
START_TEST(small_mss_gso_is_segmented)
{
        char why[4096];
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0 || !netns_supported())
                return;
        struct capture *c =
            mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(c, MAP_FAILED);
        ck_assert_msg(nbw_up(&world, NULL, why, sizeof(why)) == 0, "%s", why);
        netfront_up();
        size_t from = log_size();
        host_ethtool("tso off");
        ck_assert_msg(log_wait(from, VIF " tx offloads now csum4,csum6,sg", 5000),
                      "pvbackd did not re-read the offloads");
        ck_assert_int_eq(netns_run(&world.hostns,
                                   "ip route add " NBW_GUEST_IP "/32 dev xenbr0 src " NBW_HOST_IP
                                   " advmss %d",
                                   TINY_ADVMSS),
                         0);

        uint64_t csum_err0 = host_tcp_csum_errors();
        stream_captured(7103, SMALL_MSS_BYTES, c);
        ck_assert_uint_eq(host_tcp_csum_errors(), csum_err0);
        const unsigned long long mss = c->max_payload;
        ck_assert_msg(mss == TINY_MSS || mss == TINY_MSS_NEW, "largest payload %llu, want %d or %d",
                      mss, TINY_MSS, TINY_MSS_NEW);
        ck_assert_msg(c->max_len <= 14 + 20 + 32 + mss, "a %llu-byte frame reached the TAP",
                      (unsigned long long)c->max_len);
        ck_assert_msg(c->data_frames >= SMALL_MSS_BYTES / mss, "%llu data frames",
                      (unsigned long long)c->data_frames);
        /* Segments carry full checksums, checked here; the guest's
         * single-segment packets pass with partial ones (the TAP still
         * has tx-checksumming), and the host's TCP counted no error. */
        ck_assert_uint_eq(c->csum_checked + c->csum_partial, c->frames);
        ck_assert_uint_ge(c->csum_checked, SMALL_MSS_BYTES / mss / 2);
        ck_assert_uint_eq(c->csum_bad, 0);
        ck_assert_int_eq(netns_run(&world.hostns, "ip route del " NBW_GUEST_IP "/32"), 0);

        from = log_size();
        netfront_down();
        struct tx_off_sum t = tx_off_counters(from);
        /* The guest's stack handed over GSO packets of many segments each. */
        ck_assert_uint_gt(t.gso_sw, 0);
        ck_assert_msg(t.gso_sw_segs >= 2 * t.gso_sw, "%llu packets gave %llu segments",
                      (unsigned long long)t.gso_sw, (unsigned long long)t.gso_sw_segs);
        ck_assert_uint_eq(t.gso_pass, 0);
        ck_assert_uint_eq(t.dropped, 0);
        char *log = nbw_slurp(world.pvbackd_log);
        ck_assert_msg(!strstr(log, "cannot segment"), "pvbackd refused a GSO packet");
        ck_assert_msg(!strstr(log, "disabling"), "pvbackd disabled the vif");
        free(log);
        ck_assert_msg(kill(world.pvbackd, 0) == 0, "pvbackd died");
        munmap(c, sizeof(*c));
        nbw_down(&world);
}
END_TEST

/* Generator frames of 65535 bytes (14 + 20 + 20 header bytes, 65481 of
 * payload = 8185 * 8 + 1) sent as GSO at the segmenter's floor, the TAP's
 * tso off before the guest connects: each becomes 8186 segments, every
 * segment reaches the TAP with a full, correct checksum, none is dropped. */
#define FLOOR_FRAMES 8u
#define FLOOR_SEGS   8186u

START_TEST(floor_mss_gso_is_segmented)
{
        char why[4096];
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0 || !netns_supported())
                return;
        struct capture *c =
            mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(c, MAP_FAILED);
        memset(c, 0, sizeof(*c));
        c->port = NF_GEN_PORT;
        ck_assert_msg(nbw_up(&world, NULL, why, sizeof(why)) == 0, "%s", why);
        host_ethtool("tso off");
        pid_t cap = netns_spawn(&world.hostns, capture_run, c);
        ck_assert_int_gt(cap, 0);
        for (double end = now_s() + 5; !c->ready && now_s() < end;)
                usleep(5000);
        ck_assert_msg(c->ready, "the capture did not start");

        char mss[8], count[8];
        snprintf(mss, sizeof(mss), "%u", OFF_GSO_MSS_MIN);
        snprintf(count, sizeof(count), "%u", FLOOR_FRAMES);
        const char *const args[] = {"--gso", mss, "--size", "65535", "--count", count, NULL};
        size_t from = log_size();
        ck_assert_msg(nbw_netfront_start(&world, "gen", args, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(log_wait(from, "uplink tx offloads csum4,csum6,sg", 5000),
                      "connect did not read the uplink's offloads");
        ck_assert_int_eq(simhost_wait(world.netfront, 60000), 0);
        world.netfront = 0;
        for (double end = now_s() + 10; c->frames < FLOOR_FRAMES * FLOOR_SEGS && now_s() < end;)
                usleep(20000);
        c->stop = 1;
        ck_assert_int_eq(simhost_wait(cap, 10000), 0);
        printf("netback_tx_offload: floor MSS: the TAP received %llu frames (payload %llu B at "
               "most), %llu checksums verified, %llu capture drops\n",
               (unsigned long long)c->frames, (unsigned long long)c->max_payload,
               (unsigned long long)c->csum_checked, (unsigned long long)c->drops);
        ck_assert_uint_eq(c->drops, 0);
        ck_assert_uint_eq(c->data_frames, FLOOR_FRAMES * FLOOR_SEGS);
        ck_assert_uint_eq(c->max_payload, OFF_GSO_MSS_MIN);
        ck_assert_uint_eq(c->csum_checked, c->frames);
        ck_assert_uint_eq(c->csum_bad, 0);

        struct tx_off_sum t = tx_off_counters(from);
        ck_assert_uint_eq(t.gso_sw, FLOOR_FRAMES);
        ck_assert_uint_eq(t.gso_sw_segs, FLOOR_FRAMES * FLOOR_SEGS);
        ck_assert_uint_eq(t.dropped, 0);
        ck_assert_msg(kill(world.pvbackd, 0) == 0, "pvbackd died");
        munmap(c, sizeof(*c));
        nbw_down(&world);
}
END_TEST

static Suite *netback_tx_offload_suite(void)
{
        Suite *s = suite_create("netback_tx_offload");
        TCase *tc = tcase_create("netdev");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, tap_features_follow_ethtool);
        tcase_add_test(tc, veth_features_follow_ethtool);
        suite_add_tcase(s, tc);
        tc = tcase_create("pvbackd");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, ethtool_off_segments_in_software);
        tcase_add_test(tc, small_mss_gso_is_segmented);
        tcase_add_test(tc, floor_mss_gso_is_segmented);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netback_tx_offload_suite)
