/* Differential test of the offload layer against the Linux kernel as the
 * reference: the kernel's GSO output for TCPv4/TCPv6 packets written into a
 * TAP (IFF_VNET_HDR) must equal our segmenter's byte for byte, and packets
 * carrying checksums we computed must reach sockets through the kernel's
 * receive path. Needs root and /dev/net/tun; everything runs in a network
 * namespace private to a child process, so it vanishes when the child exits,
 * whatever happens (no named namespace, no teardown step to skip). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "kworld.h"
#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_gso.h"

#define FRAME_MAX    65600
#define MAX_SEGS     64
#define CAPTURE_MS   2000
#define QUIET_MS     300
#define BIG_MTU      "9000"
#define TAP_GSO      "offtap0"
#define TAP_RX       "offtap1"
#define CSUM_OFF_TCP 16
#define UDP_PORT     7000
#define TCP_PORT     7001
#define PEER_PORT    40001

static const uint8_t our_mac[OFF_ETH_ALEN] = {0x02, 0x00, 0x00, 0x00, 0x77, 0x01};
static const uint8_t tap_mac[OFF_ETH_ALEN] = {0x02, 0x00, 0x00, 0x00, 0x77, 0x02};
static const uint8_t ip_opts_ra[] = {0x94, 0x04, 0x00, 0x00}; /* Router Alert, RFC 2113 */
static const uint8_t tcp_opts_ts[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2};
static const uint8_t ext_hbh_dst[] = {IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
                                      IPPROTO_TCP,     0, 1, 4, 0, 0, 0, 0};

static const char *skip_reason(void)
{
        if (geteuid() != 0)
                return "not root";
        if (access("/dev/net/tun", R_OK | W_OK) != 0)
                return "/dev/net/tun absent";
        return NULL;
}

/* ---- child side: builds the namespace world, reports through a pipe ---- */

static void write_sysctl(const char *path, const char *val)
{
        int fd = open(path, O_WRONLY);
        if (fd < 0)
                return; /* IPv6 may be absent: then there is no noise either */
        if (write(fd, val, strlen(val)) < 0)
                kw_fail(KW_TAG_ERROR, "write %s: %s", path, strerror(errno));
        close(fd);
}

static int open_tap(const char *name, int vnet)
{
        struct ifreq ifr = {0};
        int fd = open("/dev/net/tun", O_RDWR);
        if (fd < 0)
                kw_fail(KW_TAG_ERROR, "open /dev/net/tun: %s", strerror(errno));
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                kw_fail(KW_TAG_ERROR, "TUNSETIFF %s: %s", name, strerror(errno));
        return fd;
}

static ssize_t recv_timeout(int fd, uint8_t *buf, size_t cap, int ms)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0)
                return -1;
        return read(fd, buf, cap); /* works for sockets and the TAP fd */
}

/* ---- the GSO packets both sides segment ---- */

struct gso_case {
        const char *name;
        uint16_t ethertype;
        const uint8_t *ip_opts, *tcp_opts, *ext;
        size_t ip_opts_len, tcp_opts_len, ext_len;
        uint8_t ext_first, flags;
        uint32_t seq;
        uint16_t ip_id, mss;
        size_t payload;
};

#define ALLF (OFF_TCP_ACK | OFF_TCP_PSH | OFF_TCP_FIN | OFF_TCP_CWR)
static const struct gso_case gso_cases[] = {
    {"tcp4 options", OFF_ETH_P_IPV4, ip_opts_ra, tcp_opts_ts, NULL, 4, 12, 0, 0, ALLF, 1000, 0x1234,
     1448, 5000},
    {"tcp4 odd mss, seq wrap", OFF_ETH_P_IPV4, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 0xFFFFF000u,
     0xFFFF, 1001, 7777},
    {"tcp4 large", OFF_ETH_P_IPV4, NULL, tcp_opts_ts, NULL, 0, 12, 0, 0, OFF_TCP_ACK | OFF_TCP_PSH,
     7, 1, 1448, 60000},
    {"tcp6 plain", OFF_ETH_P_IPV6, NULL, tcp_opts_ts, NULL, 0, 12, 0, 0, ALLF, 99, 0, 1440, 6000},
    {"tcp6 ext headers", OFF_ETH_P_IPV6, NULL, NULL, ext_hbh_dst, 0, 0, 16, IPPROTO_HOPOPTS, ALLF,
     5, 0, 999, 4321},
    /* At the segmenter's floor, Linux's TCP_MIN_GSO_SIZE: 403 = 50 * 8 + 3. */
    {"tcp4 floor mss", OFF_ETH_P_IPV4, NULL, tcp_opts_ts, NULL, 0, 12, 0, 0, ALLF, 0xFFFFFFF0u,
     0xFFF0, OFF_GSO_MSS_MIN, 403},
    {"tcp6 floor mss", OFF_ETH_P_IPV6, NULL, tcp_opts_ts, NULL, 0, 12, 0, 0, ALLF, 3, 0,
     OFF_GSO_MSS_MIN, 500},
};
#define N_GSO (sizeof(gso_cases) / sizeof(gso_cases[0]))

static size_t build_gso(const struct gso_case *c, uint8_t *buf, struct off_pkt_info *pi)
{
        struct off_build_spec s = {
            .ethertype = c->ethertype,
            .l4_proto = IPPROTO_TCP,
            .ip_opts = c->ip_opts,
            .ip_opts_len = c->ip_opts_len,
            .tcp_opts = c->tcp_opts,
            .tcp_opts_len = c->tcp_opts_len,
            .ext = c->ext,
            .ext_len = c->ext_len,
            .ext_first = c->ext_first,
            .sport = PEER_PORT,
            .dport = 5001,
            .seq = c->seq,
            .ack = 0x11223344,
            .tcp_flags = c->flags,
            .ip_id = c->ip_id,
            .payload_len = c->payload,
            .saddr = {10, 9, 0, 1},
            .daddr = {10, 9, 0, 2},
        };
        memcpy(s.dst_mac, tap_mac, OFF_ETH_ALEN);
        memcpy(s.src_mac, our_mac, OFF_ETH_ALEN);
        if (c->ethertype == OFF_ETH_P_IPV6) {
                s.saddr[0] = s.daddr[0] = 0xfd;
                s.saddr[15] = 1;
                s.daddr[15] = 2;
        }
        size_t len = 0;
        if (off_build_packet(buf, FRAME_MAX, &s, &len) != 0 ||
            off_parse(buf, len, OFF_PARSE_GSO, pi) != 0)
                return 0;
        /* What a virtio/netfront sender leaves in the field: the pseudo-header sum. */
        off_csum_seed_partial(buf, len, pi);
        return len;
}

static int our_frame(const uint8_t *f, size_t n)
{
        return n > OFF_ETH_HLEN && memcmp(f + OFF_ETH_ALEN, our_mac, OFF_ETH_ALEN) == 0;
}

/* TAP (vnet hdr) and veth offv0 are ports of a bridge; offv0 has checksum,
 * TSO and GSO off, so the kernel segments in validate_xmit_skb() and fills
 * full checksums; offv1, its peer, has GRO off and is where we capture. */
static void gso_world(void)
{
        write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
        write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
        int tap = open_tap(TAP_GSO, 1);
        kw_sh("ip link add offbr0 type bridge && ip link add offv0 type veth peer name offv1");
        kw_sh("ip link set offv0 mtu " BIG_MTU " && ip link set offv1 mtu " BIG_MTU
              " && ip link set " TAP_GSO " mtu " BIG_MTU);
        kw_sh("ip link set " TAP_GSO " master offbr0 && ip link set offv0 master offbr0");
        kw_ethtool_set(KW_TAG_ERROR, "offv0", ETHTOOL_STSO, 0);
        kw_ethtool_set(KW_TAG_ERROR, "offv0", ETHTOOL_SGSO, 0);
        kw_ethtool_set(KW_TAG_ERROR, "offv0", ETHTOOL_STXCSUM, 0);
        kw_ethtool_set(KW_TAG_ERROR, "offv1", ETHTOOL_SGRO, 0);
        kw_sh("ip link set offbr0 up && ip link set offv0 up && ip link set offv1 up && "
              "ip link set " TAP_GSO " up");
        int cap = kw_packet_socket("offv1");

        static uint8_t buf[sizeof(struct virtio_net_hdr) + FRAME_MAX], rx[FRAME_MAX];
        for (uint32_t k = 0; k < N_GSO; k++) {
                const struct gso_case *c = &gso_cases[k];
                struct off_pkt_info pi;
                struct virtio_net_hdr *vh = (struct virtio_net_hdr *)buf;
                size_t len = build_gso(c, buf + sizeof(*vh), &pi);
                if (!len)
                        kw_fail(KW_TAG_ERROR, "%s: build", c->name);
                memset(vh, 0, sizeof(*vh));
                vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
                vh->gso_type = c->ethertype == OFF_ETH_P_IPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
                                                              : VIRTIO_NET_HDR_GSO_TCPV6;
                if (c->flags & OFF_TCP_CWR)
                        vh->gso_type |= VIRTIO_NET_HDR_GSO_ECN;
                vh->hdr_len = (uint16_t)pi.payload_off;
                vh->gso_size = c->mss;
                vh->csum_start = pi.l4_off;
                vh->csum_offset = CSUM_OFF_TCP;
                if (write(tap, buf, sizeof(*vh) + len) != (ssize_t)(sizeof(*vh) + len))
                        kw_fail(KW_TAG_ERROR, "%s: write tap: %s", c->name, strerror(errno));
                uint32_t want = off_gso_seg_count(&pi, c->mss), got = 0;
                while (got < want) {
                        ssize_t n = recv_timeout(cap, rx, sizeof(rx), CAPTURE_MS);
                        if (n < 0)
                                break;
                        if (our_frame(rx, (size_t)n)) {
                                kw_report(k, 0, rx, (uint32_t)n);
                                got++;
                        }
                }
        }
        close(cap);
        close(tap);
}

/* ---- receive path: the kernel verifies checksums we computed ---- */

static size_t build_l4(uint8_t *buf, uint16_t ethertype, uint8_t proto, uint8_t flags,
                       size_t payload, struct off_pkt_info *pi)
{
        struct off_build_spec s = {
            .ethertype = ethertype,
            .l4_proto = proto,
            .sport = PEER_PORT,
            .dport = proto == IPPROTO_UDP ? UDP_PORT : TCP_PORT,
            .seq = 424242,
            .tcp_flags = flags,
            .payload_len = payload,
            .saddr = {10, 77, 0, 2},
            .daddr = {10, 77, 0, 1},
        };
        memcpy(s.src_mac, our_mac, OFF_ETH_ALEN);
        memcpy(s.dst_mac, tap_mac, OFF_ETH_ALEN);
        if (ethertype == OFF_ETH_P_IPV6) {
                memset(s.saddr, 0, sizeof(s.saddr));
                memset(s.daddr, 0, sizeof(s.daddr));
                s.saddr[0] = s.daddr[0] = 0xfd;
                s.saddr[1] = s.daddr[1] = 0x77;
                s.saddr[15] = 2;
                s.daddr[15] = 1;
        }
        size_t len = 0;
        if (off_build_packet(buf, FRAME_MAX, &s, &len) || off_parse(buf, len, 0, pi))
                kw_fail(KW_TAG_ERROR, "build l4");
        return len;
}

static int bound_socket(int family, int type, uint16_t port)
{
        int s = socket(family, type, 0);
        struct sockaddr_storage ss = {0};
        socklen_t sl;
        if (family == AF_INET) {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET;
                a->sin_port = htons(port);
                inet_pton(AF_INET, "10.77.0.1", &a->sin_addr);
                sl = sizeof(*a);
        } else {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons(port);
                inet_pton(AF_INET6, "fd77::1", &a->sin6_addr);
                sl = sizeof(*a);
        }
        if (s < 0 || bind(s, (struct sockaddr *)&ss, sl) < 0)
                kw_fail(KW_TAG_ERROR, "bind %d/%d: %s", family, type, strerror(errno));
        if (type == SOCK_STREAM && listen(s, 4) < 0)
                kw_fail(KW_TAG_ERROR, "listen: %s", strerror(errno));
        return s;
}

enum fill_how { FILL_SCRATCH, FILL_PARTIAL, FILL_CORRUPT };

static void fill(uint8_t *buf, size_t len, const struct off_pkt_info *pi, enum fill_how how)
{
        if (how == FILL_PARTIAL) {
                off_csum_seed_partial(buf, len, pi);
                off_csum_complete_partial(buf, len, pi->l4_off,
                                          pi->l4_proto == IPPROTO_TCP ? CSUM_OFF_TCP : 6);
        } else {
                off_csum_fill_l4(buf, len, pi);
        }
        if (how == FILL_CORRUPT)
                buf[len - 1] ^= 0x5a;
}

static int udp_delivered(int tap, int sock, uint16_t et, enum fill_how how)
{
        static uint8_t buf[FRAME_MAX], got[FRAME_MAX];
        struct off_pkt_info pi;
        size_t len = build_l4(buf, et, IPPROTO_UDP, 0, 1001, &pi);
        fill(buf, len, &pi, how);
        if (write(tap, buf, len) != (ssize_t)len)
                kw_fail(KW_TAG_ERROR, "write tap: %s", strerror(errno));
        ssize_t n =
            recv_timeout(sock, got, sizeof(got), how == FILL_CORRUPT ? QUIET_MS : CAPTURE_MS);
        return n == (ssize_t)pi.payload_len &&
               memcmp(got, buf + pi.payload_off, pi.payload_len) == 0;
}

/* A SYN is answered with a SYN-ACK only if the kernel accepted its checksum;
 * the SYN-ACK's own checksum, computed by the kernel, must pass our verifier. */
static int syn_answered(int tap, uint16_t et, enum fill_how how)
{
        static uint8_t buf[FRAME_MAX], rx[FRAME_MAX];
        struct off_pkt_info pi, rpi;
        size_t len = build_l4(buf, et, IPPROTO_TCP, OFF_TCP_SYN, 0, &pi);
        fill(buf, len, &pi, how);
        if (write(tap, buf, len) != (ssize_t)len)
                kw_fail(KW_TAG_ERROR, "write tap: %s", strerror(errno));
        for (;;) {
                ssize_t n =
                    recv_timeout(tap, rx, sizeof(rx), how == FILL_CORRUPT ? QUIET_MS : CAPTURE_MS);
                if (n < 0)
                        return 0;
                if (off_parse(rx, (size_t)n, 0, &rpi) || !(rpi.flags & OFF_PKT_L4) ||
                    rpi.l4_proto != IPPROTO_TCP || off_get_be16(rx + rpi.l4_off + 2) != PEER_PORT)
                        continue;
                if (rpi.tcp_flags != (OFF_TCP_SYN | OFF_TCP_ACK))
                        kw_fail(KW_TAG_ERROR, "reply flags %#x", rpi.tcp_flags);
                if (!off_csum_l4_ok(rx, (size_t)n, &rpi))
                        kw_fail(KW_TAG_ERROR, "kernel SYN-ACK fails our checksum verifier");
                return 1;
        }
}

static void rx_world(void)
{
        int tap = open_tap(TAP_RX, 0);
        char cmd[256];
        snprintf(cmd, sizeof(cmd),
                 "ip link set " TAP_RX " address 02:00:00:00:77:02 && ip link set " TAP_RX
                 " up && ip addr add 10.77.0.1/24 dev " TAP_RX
                 " && ip neigh add 10.77.0.2 lladdr 02:00:00:00:77:01 dev " TAP_RX
                 " nud permanent");
        kw_sh(cmd);
        int v6 = access("/proc/sys/net/ipv6", F_OK) == 0;
        if (v6)
                kw_sh("ip addr add fd77::1/64 dev " TAP_RX " nodad && ip -6 neigh add fd77::2 "
                      "lladdr 02:00:00:00:77:01 dev " TAP_RX " nud permanent");
        const uint16_t ets[] = {OFF_ETH_P_IPV4, OFF_ETH_P_IPV6};
        for (int k = 0; k < (v6 ? 2 : 1); k++) {
                int fam = k ? AF_INET6 : AF_INET;
                int us = bound_socket(fam, SOCK_DGRAM, UDP_PORT);
                int ls = bound_socket(fam, SOCK_STREAM, TCP_PORT);
                if (!udp_delivered(tap, us, ets[k], FILL_SCRATCH))
                        kw_fail(KW_TAG_ERROR, "v%d UDP with our checksum not delivered", k ? 6 : 4);
                if (!udp_delivered(tap, us, ets[k], FILL_PARTIAL))
                        kw_fail(KW_TAG_ERROR,
                                "v%d UDP with completed partial checksum not delivered", k ? 6 : 4);
                if (udp_delivered(tap, us, ets[k], FILL_CORRUPT))
                        kw_fail(KW_TAG_ERROR, "v%d UDP with a corrupt checksum delivered: no check",
                                k ? 6 : 4);
                if (!syn_answered(tap, ets[k], FILL_SCRATCH))
                        kw_fail(KW_TAG_ERROR, "v%d TCP SYN with our checksum not answered",
                                k ? 6 : 4);
                if (!syn_answered(tap, ets[k], FILL_PARTIAL))
                        kw_fail(KW_TAG_ERROR,
                                "v%d TCP SYN with completed partial checksum not answered",
                                k ? 6 : 4);
                if (syn_answered(tap, ets[k], FILL_CORRUPT))
                        kw_fail(KW_TAG_ERROR, "v%d TCP SYN with a corrupt checksum answered",
                                k ? 6 : 4);
                close(us);
                close(ls);
        }
        close(tap);
}

/* ---- parent side ---- */

struct capture {
        uint32_t n[N_GSO];
        uint8_t *frames[N_GSO][MAX_SEGS];
        uint32_t lens[N_GSO][MAX_SEGS];
        char error[256];
};

/* Runs @world in a child inside a fresh network namespace; collects its
 * reports. Returns 0, or 1 with cap->error set, or -1 if namespaces are
 * unavailable (skip). */
static void take_frame(void *ctx, const struct kw_record *r, uint8_t *f)
{
        struct capture *cap = ctx;
        if (r->tag < N_GSO && cap->n[r->tag] < MAX_SEGS) {
                cap->frames[r->tag][cap->n[r->tag]] = f;
                cap->lens[r->tag][cap->n[r->tag]++] = r->len;
        } else {
                free(f);
        }
}

static int run_world(void (*world)(void), struct capture *cap)
{
        struct kw_run r = {
            .unshare_flags = CLONE_NEWNET, .world = world, .take = take_frame, .ctx = cap};
        memset(cap, 0, sizeof(*cap));
        int rc = kw_run(&r);
        snprintf(cap->error, sizeof(cap->error), "%s", r.error);
        return rc;
}

static void free_capture(struct capture *cap)
{
        for (size_t k = 0; k < N_GSO; k++)
                for (uint32_t i = 0; i < cap->n[k]; i++)
                        free(cap->frames[k][i]);
}

static void hexdiff(const uint8_t *a, const uint8_t *b, size_t n, char *out, size_t cap)
{
        for (size_t i = 0; i < n; i++)
                if (a[i] != b[i]) {
                        snprintf(out, cap, "first difference at byte %zu: ours %02x kernel %02x", i,
                                 a[i], b[i]);
                        return;
                }
        snprintf(out, cap, "equal");
}

START_TEST(gso_segments_equal_kernel)
{
        const char *why = skip_reason();
        if (why) {
                printf("SKIP gso_segments_equal_kernel: %s\n", why);
                return;
        }
        static struct capture cap;
        int rc = run_world(gso_world, &cap);
        if (rc < 0) {
                printf("SKIP gso_segments_equal_kernel: cannot create a network namespace\n");
                return;
        }
        ck_assert_msg(rc == 0, "kernel side: %s", cap.error);

        static uint8_t pkt[FRAME_MAX], arena[FRAME_MAX * 2], frame[FRAME_MAX];
        static struct off_gso_seg segs[MAX_SEGS];
        for (size_t k = 0; k < N_GSO; k++) {
                const struct gso_case *c = &gso_cases[k];
                struct off_pkt_info pi;
                size_t len = build_gso(c, pkt, &pi);
                ck_assert_uint_gt(len, 0);
                struct off_gso_out o = {
                    .mem = arena, .mem_len = sizeof(arena), .segs = segs, .max_segs = MAX_SEGS};
                ck_assert_int_eq(off_gso_segment(pkt, len, &pi, c->mss, OFF_GSO_SLICE, &o), 0);
                ck_assert_msg(cap.n[k] == o.nsegs, "%s: kernel sent %u segments, we made %u",
                              c->name, cap.n[k], o.nsegs);
                for (uint32_t i = 0; i < o.nsegs; i++) {
                        size_t flen = segs[i].hdr_len + (size_t)segs[i].payload_len;
                        memcpy(frame, segs[i].hdr, segs[i].hdr_len);
                        memcpy(frame + segs[i].hdr_len, segs[i].payload, segs[i].payload_len);
                        char d[128];
                        hexdiff(frame, cap.frames[k][i],
                                flen < cap.lens[k][i] ? flen : cap.lens[k][i], d, sizeof(d));
                        ck_assert_msg(cap.lens[k][i] == flen &&
                                          memcmp(frame, cap.frames[k][i], flen) == 0,
                                      "%s segment %u: len ours %zu kernel %u, %s", c->name, i, flen,
                                      cap.lens[k][i], d);
                }
        }
        free_capture(&cap);
}
END_TEST

START_TEST(kernel_accepts_our_checksums)
{
        const char *why = skip_reason();
        if (why) {
                printf("SKIP kernel_accepts_our_checksums: %s\n", why);
                return;
        }
        static struct capture cap;
        int rc = run_world(rx_world, &cap);
        if (rc < 0) {
                printf("SKIP kernel_accepts_our_checksums: cannot create a network namespace\n");
                return;
        }
        ck_assert_msg(rc == 0, "%s", cap.error);
}
END_TEST

static Suite *off_kernel_diff_suite(void)
{
        Suite *s = suite_create("off_kernel_diff");
        TCase *tc = tcase_create("kernel");
        tcase_add_test(tc, gso_segments_equal_kernel);
        tcase_add_test(tc, kernel_accepts_our_checksums);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(off_kernel_diff_suite)
