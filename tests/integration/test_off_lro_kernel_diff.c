/* Differential test of the merger against Linux GRO as the reference: the
 * same TCP segment streams go through kernel GRO and through off_lro, and
 * the merged packets must be equal byte for byte, with equal gso metadata.
 * Needs root; runs in a network (and mount) namespace private to a child
 * process, so everything vanishes when the child exits, whatever happens.
 *
 * Where the kernel's merged packet is visible: a veth pair lrov0 -> lrov1,
 * GRO enabled on lrov1 (which gives veth a NAPI instance, Linux >= 5.13)
 * and TSO off on lrov0 (veth_skb_is_eligible_for_gro). Segments are written
 * raw into lrov0 with AF_PACKET; an AF_PACKET socket on lrov1 with
 * PACKET_VNET_HDR sees each skb as GRO left it (packet taps run in
 * __netif_receive_skb, after GRO) together with a virtio_net_hdr carrying
 * gso_type, gso_size and the CHECKSUM_PARTIAL start/offset.
 *
 * Making the kernel's boundaries deterministic: each write runs lrov1's
 * NAPI poll at once (softirq on local_bh_enable), and napi_complete_done
 * would flush GRO after every packet. With lrov1's gro_flush_timeout set,
 * it only flushes packets held since an earlier jiffy, and the timer
 * flushes the rest later. So a stream written within one jiffy is merged
 * by GRO's rules alone, then flushed whole, which is off_lro_add for each
 * segment followed by off_lro_flush_all. The child starts each stream just
 * after a tick (CLOCK_MONOTONIC_COARSE advances with jiffies) and retries
 * a stream whose writes crossed one.
 *
 * Fields that legitimately differ and are not compared: virtio hdr_len
 * (skb_headlen, an artifact of the skb layout) and the order of packets of
 * different flows (GRO flushes by hash bucket, off_lro oldest first):
 * packets are compared per flow, in order. Not exercised because Linux is
 * not deterministic or not order-preserving there: a flow label change in
 * mid-stream (Linux keeps both labels as separate held packets and may
 * deliver the newer first) and frames Linux refuses before its flow lookup
 * (IPv4 options, bad checksums), which it delivers ahead of the held packet;
 * off_lro emits the held packet first in both cases. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
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
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "kworld.h"
#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_lro.h"

#define TX_DEV            "lrov0"
#define RX_DEV            "lrov1"
#define FLUSH_TIMEOUT_NS  "20000000"
#define QUIET_MS          150
#define WARMUP_MS         3000
#define MAX_FRAMES        80
#define MAX_OUT           80
#define ATTEMPTS          6
#define FRAME_CAP         2048
#define RX_CAP            (sizeof(struct virtio_net_hdr) + OFF_LRO_FRAME_MAX)
#define PORT_BASE         41000
#define PORTS_PER_CASE    4
#define PORTS_PER_ATTEMPT 200
#define MSS4              1448 /* 1500 - 20 - 20 - 12 (timestamps) */
#define MSS6              1428 /* 1500 - 40 - 20 - 12 */
#define MSS6_EXT          1412 /* with 16 bytes of extension headers */

static const uint8_t src_mac[OFF_ETH_ALEN] = {0x02, 0, 0, 0, 0x66, 0x01};
static const uint8_t dst_mac[OFF_ETH_ALEN] = {0x02, 0, 0, 0, 0x66, 0x02};
static const uint8_t ext_hbh_dst[] = {IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
                                      IPPROTO_TCP,     0, 1, 4, 0, 0, 0, 0};
static uint8_t pattern[256 * 1024];

static const char *skip_reason(void)
{
        if (geteuid() != 0)
                return "not root";
        return NULL;
}

/* ---- the streams: generated identically on both sides ---- */

enum id_mode { ID_INC, ID_FIXED };

struct gen {
        int v6;
        uint16_t sport;
        uint32_t seq, ack, tsval;
        uint16_t win, id;
        uint8_t ttl, tos; /* IPv6: hop limit, traffic class */
        int no_df;
        enum id_mode id_mode;
        uint32_t flow_label;
        const uint8_t *ext;
        size_t ext_len;
        size_t pos;
};

struct stream {
        uint32_t n;
        size_t len[MAX_FRAMES];
        uint8_t frame[MAX_FRAMES][FRAME_CAP];
};

static struct gen gen_init(int v6, uint16_t sport)
{
        struct gen g = {.v6 = v6,
                        .sport = sport,
                        .seq = 0xFFFF0000u + sport,
                        .ack = 0x55667788,
                        .tsval = 1000,
                        .win = 502,
                        .id = 0x1234,
                        .ttl = 64,
                        .pos = (size_t)sport * 97 % 4096};
        return g;
}

/* IPv4 TOS/DF and the IPv6 first word are not in off_build's spec. */
static void edit_l3(const struct gen *g, uint8_t *f, const struct off_pkt_info *pi)
{
        uint8_t *ip = f + pi->l3_off;
        if (!g->v6) {
                ip[1] = g->tos;
                if (g->no_df)
                        ip[6] &= (uint8_t)~0x40;
                off_csum_fill_ipv4_hdr(ip, pi->l3_hdr_len);
        } else {
                uint32_t w = (6u << 28) | ((uint32_t)g->tos << 20) | (g->flow_label & 0xFFFFFu);
                off_put_be32(ip, w);
        }
}

static void seg(struct stream *s, struct gen *g, size_t plen, uint8_t flags)
{
        uint8_t opts[12] = {1, 1, 8, 10};
        off_put_be32(opts + 4, g->tsval);
        off_put_be32(opts + 8, 777);
        struct off_build_spec sp = {
            .ethertype = g->v6 ? OFF_ETH_P_IPV6 : OFF_ETH_P_IPV4,
            .l4_proto = IPPROTO_TCP,
            .sport = g->sport,
            .dport = 5001,
            .seq = g->seq,
            .ack = g->ack,
            .tcp_flags = (uint8_t)(OFF_TCP_ACK | flags),
            .tcp_window = g->win,
            .ip_id = g->id,
            .ip_ttl = g->ttl,
            .tcp_opts = opts,
            .tcp_opts_len = sizeof(opts),
            .ext = g->ext,
            .ext_len = g->ext_len,
            .ext_first = IPPROTO_HOPOPTS,
            .payload = pattern + g->pos % (sizeof(pattern) / 2),
            .payload_len = plen,
            .saddr = {10, 66, 0, 1},
            .daddr = {10, 66, 0, 2},
        };
        memcpy(sp.src_mac, src_mac, OFF_ETH_ALEN);
        memcpy(sp.dst_mac, dst_mac, OFF_ETH_ALEN);
        if (g->v6) {
                memset(sp.saddr, 0, sizeof(sp.saddr));
                memset(sp.daddr, 0, sizeof(sp.daddr));
                sp.saddr[0] = sp.daddr[0] = 0xfd;
                sp.saddr[1] = sp.daddr[1] = 0x66;
                sp.saddr[15] = 1;
                sp.daddr[15] = 2;
        }
        struct off_pkt_info pi;
        if (s->n >= MAX_FRAMES || off_build_packet(s->frame[s->n], FRAME_CAP, &sp, &s->len[s->n]) ||
            off_parse(s->frame[s->n], s->len[s->n], 0, &pi))
                abort(); /* a bug in the case table */
        edit_l3(g, s->frame[s->n], &pi);
        off_csum_fill_l4(s->frame[s->n], s->len[s->n], &pi);
        s->n++;
        g->seq += (uint32_t)plen;
        g->pos += plen;
        if (g->id_mode == ID_INC)
                g->id++;
}

static void segs(struct stream *s, struct gen *g, uint32_t n, size_t plen)
{
        for (uint32_t i = 0; i < n; i++)
                seg(s, g, plen, 0);
}

static void c_bulk4(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        segs(s, &g, 19, MSS4);
        seg(s, &g, MSS4, OFF_TCP_PSH);
        segs(s, &g, 3, MSS4);
}

static void c_limit4(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        segs(s, &g, 50, MSS4); /* 45 fit below 64 KiB */
}

static void c_seq4(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        segs(s, &g, 5, MSS4);
        g.seq += MSS4; /* a lost segment */
        g.pos += MSS4;
        segs(s, &g, 5, MSS4);
        g.seq -= 3 * MSS4; /* retransmissions */
        g.pos -= 3 * MSS4;
        segs(s, &g, 4, MSS4);
}

static void c_tcphdr4(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        segs(s, &g, 4, MSS4);
        g.ack += 2 * MSS4;
        segs(s, &g, 4, MSS4);
        g.tsval++;
        segs(s, &g, 4, MSS4);
        g.win++;
        segs(s, &g, 4, MSS4);
}

static void c_short4(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        segs(s, &g, 4, MSS4);
        seg(s, &g, 700, 0); /* short: merged, ends the packet */
        segs(s, &g, 4, MSS4);
        seg(s, &g, 0, 0); /* pure ACK */
        segs(s, &g, 3, MSS4);
        seg(s, &g, MSS4 + 0, OFF_TCP_PSH);
        seg(s, &g, 1000, 0);  /* gso_size 1000 ... */
        segs(s, &g, 3, MSS4); /* ... so larger segments start anew */
}

static void c_flags4(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        segs(s, &g, 3, MSS4);
        seg(s, &g, MSS4, OFF_TCP_CWR);
        segs(s, &g, 3, MSS4);
        seg(s, &g, MSS4, OFF_TCP_ECE);
        segs(s, &g, 2, MSS4);
        seg(s, &g, MSS4, OFF_TCP_URG);
        segs(s, &g, 2, MSS4);
        seg(s, &g, MSS4, OFF_TCP_FIN);
        segs(s, &g, 2, MSS4);
        seg(s, &g, 0, OFF_TCP_RST);
}

static void c_iphdr4(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        segs(s, &g, 3, MSS4);
        g.ttl = 63;
        segs(s, &g, 3, MSS4);
        g.tos = 0x10;
        segs(s, &g, 3, MSS4);
        g.id += 9;
        segs(s, &g, 3, MSS4);
        g.no_df = 1;
        segs(s, &g, 3, MSS4);
}

static void c_fixedid_df(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        g.id_mode = ID_FIXED;
        segs(s, &g, 6, MSS4);
        g.id_mode = ID_INC; /* the flow decided "fixed" at segment 2 */
        segs(s, &g, 3, MSS4);
}

static void c_fixedid_nodf(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(0, p);
        g.no_df = 1;
        g.id_mode = ID_FIXED;
        segs(s, &g, 6, MSS4);
        g.id_mode = ID_INC;
        segs(s, &g, 4, MSS4);
}

static void c_two_flows4(struct stream *s, uint16_t p)
{
        struct gen a = gen_init(0, p), b = gen_init(0, (uint16_t)(p + 1));
        for (uint32_t i = 0; i < 10; i++) {
                seg(s, &a, MSS4, 0);
                seg(s, &b, MSS4, i == 6 ? OFF_TCP_PSH : 0);
        }
}

static void c_bulk6(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(1, p);
        segs(s, &g, 15, MSS6);
        seg(s, &g, MSS6, OFF_TCP_PSH);
        segs(s, &g, 4, MSS6);
        g.seq += MSS6;
        segs(s, &g, 3, MSS6);
}

/* The flow label changes last: Linux holds segments with another label as
 * another flow, and a later flush of that one alone would deliver them
 * ahead of the earlier segments (the reordering off_lro refuses to do). */
static void c_iphdr6(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(1, p);
        segs(s, &g, 3, MSS6);
        g.ttl = 7;
        segs(s, &g, 3, MSS6);
        g.tos = 0x20;
        segs(s, &g, 3, MSS6);
        g.flow_label = 0x12345;
        segs(s, &g, 3, MSS6);
}

static void c_ext6(struct stream *s, uint16_t p)
{
        struct gen g = gen_init(1, p);
        g.ext = ext_hbh_dst;
        g.ext_len = sizeof(ext_hbh_dst);
        segs(s, &g, 10, MSS6_EXT);
        seg(s, &g, 500, 0);
}

struct kcase {
        const char *name;
        void (*build)(struct stream *s, uint16_t port);
};

static const struct kcase kcases[] = {
    {"v4 bulk, psh", c_bulk4},
    {"v4 64 KiB limit", c_limit4},
    {"v4 loss and retransmission", c_seq4},
    {"v4 ack, timestamp, window changes", c_tcphdr4},
    {"v4 short segment, pure ack, gso_size", c_short4},
    {"v4 cwr, ece, urg, fin, rst", c_flags4},
    {"v4 ttl, tos, id jump, df", c_iphdr4},
    {"v4 fixed ids with df", c_fixedid_df},
    {"v4 fixed ids without df", c_fixedid_nodf},
    {"v4 two interleaved flows", c_two_flows4},
    {"v6 bulk, psh, loss", c_bulk6},
    {"v6 hop limit, class, flow label", c_iphdr6},
    {"v6 extension headers", c_ext6},
};
#define N_KCASES (sizeof(kcases) / sizeof(kcases[0]))

static uint16_t case_port(uint32_t k, uint32_t attempt)
{
        return (uint16_t)(PORT_BASE + attempt * PORTS_PER_ATTEMPT + k * PORTS_PER_CASE);
}

/* ---- child side: the namespace world, reporting through a pipe ---- */

static void write_file(const char *path, const char *val, int must)
{
        int fd = open(path, O_WRONLY);
        if (fd < 0 || write(fd, val, strlen(val)) < 0) {
                if (must)
                        kw_fail(KW_TAG_SKIP, "cannot write %s: %s", path, strerror(errno));
        }
        if (fd >= 0)
                close(fd);
}

static int packet_socket(const char *dev, int vnet)
{
        int s = kw_packet_socket(dev);
        int one = 1, rcvbuf = 32 << 20;
        if (vnet && (setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
                     setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0))
                kw_fail(KW_TAG_ERROR, "PACKET_VNET_HDR: %s", strerror(errno));
        return s;
}

static uint64_t coarse_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Returns just after a tick, so a short burst fits in one jiffy. */
static uint64_t wait_tick(void)
{
        uint64_t t = coarse_ns(), u;
        while ((u = coarse_ns()) == t)
                ;
        return u;
}

static int ours(const uint8_t *rx, ssize_t n, uint16_t lo, uint16_t hi)
{
        struct off_pkt_info pi;
        const uint8_t *f = rx + sizeof(struct virtio_net_hdr);
        size_t len = (size_t)n - sizeof(struct virtio_net_hdr);
        if (n < (ssize_t)sizeof(struct virtio_net_hdr) + OFF_ETH_HLEN ||
            memcmp(f + OFF_ETH_ALEN, src_mac, OFF_ETH_ALEN) != 0 ||
            off_parse(f, len, OFF_PARSE_GSO, &pi) != 0 || !(pi.flags & OFF_PKT_L4))
                return 0;
        uint16_t sport = off_get_be16(f + pi.l4_off);
        return sport >= lo && sport < hi;
}

static void send_stream(int tx, const struct stream *s)
{
        struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_halen = OFF_ETH_ALEN};
        to.sll_ifindex = (int)if_nametoindex(TX_DEV);
        memcpy(to.sll_addr, dst_mac, OFF_ETH_ALEN);
        for (uint32_t i = 0; i < s->n; i++)
                if (sendto(tx, s->frame[i], s->len[i], 0, (struct sockaddr *)&to, sizeof(to)) !=
                    (ssize_t)s->len[i])
                        kw_fail(KW_TAG_ERROR, "send: %s", strerror(errno));
}

/* The qdisc goes live asynchronously (linkwatch): probe until a frame passes. */
static void warm_up(int tx, int rx)
{
        static struct stream s;
        static uint8_t buf[RX_CAP];
        struct gen g = gen_init(0, PORT_BASE - 1);
        s.n = 0;
        seg(&s, &g, 0, 0);
        for (int ms = 0; ms < WARMUP_MS; ms += 50) {
                send_stream(tx, &s);
                struct pollfd p = {.fd = rx, .events = POLLIN};
                while (poll(&p, 1, 50) > 0) {
                        ssize_t n = read(rx, buf, sizeof(buf));
                        if (ours(buf, n, PORT_BASE - 1, PORT_BASE))
                                return;
                }
        }
        kw_fail(KW_TAG_ERROR, "no frame crossed the veth pair");
}

static uint32_t capture(int rx, uint16_t lo, uint16_t hi, uint8_t **got, uint32_t *lens)
{
        static uint8_t buf[RX_CAP];
        uint32_t n = 0;
        struct pollfd p = {.fd = rx, .events = POLLIN};
        while (poll(&p, 1, QUIET_MS) > 0) {
                ssize_t r = read(rx, buf, sizeof(buf));
                if (!ours(buf, r, lo, hi))
                        continue;
                if (n == MAX_OUT)
                        kw_fail(KW_TAG_ERROR, "too many packets");
                got[n] = malloc((size_t)r);
                if (!got[n])
                        kw_fail(KW_TAG_ERROR, "oom");
                memcpy(got[n], buf, (size_t)r);
                lens[n++] = (uint32_t)r;
        }
        return n;
}

static void setup_world(void)
{
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
                kw_fail(KW_TAG_SKIP, "private sysfs: %s", strerror(errno));
        write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1", 0);
        if (system("ip link add name " TX_DEV " type veth peer name " RX_DEV) != 0)
                kw_fail(KW_TAG_SKIP, "no veth support");
        kw_ethtool_set(KW_TAG_SKIP, TX_DEV, ETHTOOL_STSO, 0);
        kw_ethtool_set(KW_TAG_SKIP, RX_DEV, ETHTOOL_SGRO, 1);
        write_file("/sys/class/net/" RX_DEV "/gro_flush_timeout", FLUSH_TIMEOUT_NS, 1);
        kw_sh("ip link set " RX_DEV " address 02:00:00:00:66:02 && ip link set " TX_DEV
              " up && ip link set " RX_DEV " up");
}

static void lro_world(void)
{
        static struct stream s;
        uint8_t *got[MAX_OUT];
        uint32_t lens[MAX_OUT];
        setup_world();
        int tx = packet_socket(TX_DEV, 0), rx = packet_socket(RX_DEV, 1);
        warm_up(tx, rx);
        for (uint32_t k = 0; k < N_KCASES; k++) {
                uint32_t a = 0;
                for (; a < ATTEMPTS; a++) {
                        uint16_t port = case_port(k, a);
                        s.n = 0;
                        kcases[k].build(&s, port);
                        uint64_t t0 = wait_tick();
                        send_stream(tx, &s);
                        int crossed = coarse_ns() != t0;
                        uint16_t end = (uint16_t)(port + PORTS_PER_CASE);
                        uint32_t n = capture(rx, port, end, got, lens);
                        for (uint32_t i = 0; i < n; i++) {
                                if (!crossed)
                                        kw_report(k, a, got[i], lens[i]);
                                free(got[i]);
                        }
                        if (!crossed)
                                break;
                }
                if (a == ATTEMPTS)
                        kw_fail(KW_TAG_ERROR, "%s: every attempt crossed a jiffy", kcases[k].name);
        }
        close(tx);
        close(rx);
}

/* ---- parent side ---- */

struct kpkt {
        struct virtio_net_hdr vh;
        uint8_t *data;
        uint32_t len;
};

struct kcapture {
        uint32_t attempt[N_KCASES];
        uint32_t n[N_KCASES];
        struct kpkt pkts[N_KCASES][MAX_OUT];
        char error[256];
};

static void store(void *ctx, const struct kw_record *h, uint8_t *buf)
{
        struct kcapture *cap = ctx;
        if (h->tag >= N_KCASES || cap->n[h->tag] >= MAX_OUT ||
            h->len < sizeof(struct virtio_net_hdr)) {
                free(buf);
                return;
        }
        struct kpkt *k = &cap->pkts[h->tag][cap->n[h->tag]++];
        cap->attempt[h->tag] = h->aux;
        memcpy(&k->vh, buf, sizeof(k->vh));
        k->len = h->len - (uint32_t)sizeof(k->vh);
        k->data = malloc(k->len ? k->len : 1);
        ck_assert_ptr_nonnull(k->data);
        memcpy(k->data, buf + sizeof(k->vh), k->len);
        free(buf);
}

/* Runs the world in a child in fresh network + mount namespaces. Returns 0,
 * 1 with cap->error set, or -1 (skip; cap->error says why). */
static int run_world(struct kcapture *cap)
{
        struct kw_run r = {.unshare_flags = CLONE_NEWNET | CLONE_NEWNS,
                           .world = lro_world,
                           .take = store,
                           .ctx = cap};
        int rc = kw_run(&r);
        snprintf(cap->error, sizeof(cap->error), "%s", r.error);
        return rc;
}

/* Our packets for a stream: every segment through off_lro_add, then the
 * flush the kernel's timer does. */
struct ours {
        uint32_t n;
        struct off_lro_pkt pkts[MAX_OUT];
        uint8_t *data[MAX_OUT];
};

static void collect(struct ours *o, const struct off_lro_out *out)
{
        for (uint32_t i = 0; i < out->n; i++) {
                ck_assert_uint_lt(o->n, MAX_OUT);
                o->pkts[o->n] = out->pkts[i];
                o->data[o->n] = malloc(out->pkts[i].len);
                ck_assert_ptr_nonnull(o->data[o->n]);
                memcpy(o->data[o->n], out->pkts[i].data, out->pkts[i].len);
                o->n++;
        }
}

static void run_ours(const struct stream *s, struct ours *o)
{
        struct off_lro *lro;
        struct off_lro_pkt pk[OFF_LRO_FLOWS_DEFAULT + 1];
        struct off_lro_out out = {.pkts = pk, .max = OFF_LRO_FLOWS_DEFAULT + 1};
        ck_assert_int_eq(off_lro_create(NULL, &lro), 0);
        o->n = 0;
        for (uint32_t i = 0; i < s->n; i++) {
                ck_assert_int_eq(
                    off_lro_add(lro, s->frame[i], s->len[i], OFF_LRO_RX_CSUM_VALID, 0, &out), 0);
                collect(o, &out);
        }
        ck_assert_int_eq(off_lro_flush_all(lro, 0, &out), 0);
        collect(o, &out);
        off_lro_destroy(lro);
}

static uint16_t sport_of(const uint8_t *f, size_t len)
{
        struct off_pkt_info pi;
        if (off_parse(f, len, OFF_PARSE_GSO, &pi) != 0 || !(pi.flags & OFF_PKT_L4))
                return 0;
        return off_get_be16(f + pi.l4_off);
}

/* The virtio_net_hdr off_lro's metadata stands for. */
static struct virtio_net_hdr vnet_of(const struct off_lro_pkt *p)
{
        struct virtio_net_hdr v = {0};
        if (p->csum == OFF_LRO_CSUM_PARTIAL) {
                v.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
                v.csum_start = p->csum_start;
                v.csum_offset = p->csum_offset;
        } else if (p->csum == OFF_LRO_CSUM_VALID) {
                v.flags = VIRTIO_NET_HDR_F_DATA_VALID;
        }
        if (p->gso_type != OFF_LRO_GSO_NONE) {
                v.gso_type = p->gso_type == OFF_LRO_GSO_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
                                                              : VIRTIO_NET_HDR_GSO_TCPV6;
                v.gso_size = p->gso_size;
        }
        return v;
}

static void first_diff(const uint8_t *a, const uint8_t *b, size_t n, char *out, size_t cap)
{
        for (size_t i = 0; i < n; i++)
                if (a[i] != b[i]) {
                        snprintf(out, cap, "first byte difference at %zu: ours %02x kernel %02x", i,
                                 a[i], b[i]);
                        return;
                }
        snprintf(out, cap, "bytes equal over the shorter length");
}

/* On a count mismatch, both sides' packet lists say where they part. */
static void dump_flow(const struct kpkt *const *kp, uint32_t kn, const struct ours *o,
                      const uint32_t *oi, uint32_t on)
{
        for (uint32_t j = 0; j < kn; j++)
                fprintf(stderr, "kernel %u: len %u gso type %u size %u flags %u\n", j, kp[j]->len,
                        kp[j]->vh.gso_type, kp[j]->vh.gso_size, kp[j]->vh.flags);
        for (uint32_t j = 0; j < on; j++) {
                const struct off_lro_pkt *p = &o->pkts[oi[j]];
                fprintf(stderr, "ours %u: len %zu segs %u (%s)\n", j, p->len, p->gso_segs,
                        off_lro_reason_str(p->reason));
        }
}

/* Per flow (source port), in order: same packets, same bytes, same metadata. */
static uint32_t compare_case(uint32_t k, const struct kcapture *cap, const struct ours *o,
                             uint16_t port, uint32_t nsegs)
{
        uint32_t merged = 0;
        for (uint16_t sp = port; sp < port + PORTS_PER_CASE; sp++) {
                const struct kpkt *kp[MAX_OUT];
                uint32_t kn = 0, on = 0, oi[MAX_OUT];
                for (uint32_t i = 0; i < cap->n[k]; i++)
                        if (sport_of(cap->pkts[k][i].data, cap->pkts[k][i].len) == sp)
                                kp[kn++] = &cap->pkts[k][i];
                for (uint32_t i = 0; i < o->n; i++)
                        if (sport_of(o->data[i], o->pkts[i].len) == sp)
                                oi[on++] = i;
                if (kn != on)
                        dump_flow(kp, kn, o, oi, on);
                ck_assert_msg(kn == on, "%s, port %u: kernel delivered %u packets, off_lro %u",
                              kcases[k].name, sp, kn, on);
                for (uint32_t j = 0; j < kn; j++) {
                        const struct off_lro_pkt *p = &o->pkts[oi[j]];
                        const uint8_t *d = o->data[oi[j]];
                        char why[128];
                        first_diff(d, kp[j]->data, p->len < kp[j]->len ? p->len : kp[j]->len, why,
                                   sizeof(why));
                        ck_assert_msg(p->len == kp[j]->len && memcmp(d, kp[j]->data, p->len) == 0,
                                      "%s, port %u, packet %u: length ours %zu kernel %u, %s",
                                      kcases[k].name, sp, j, p->len, kp[j]->len, why);
                        struct virtio_net_hdr v = vnet_of(p);
                        const struct virtio_net_hdr *kv = &kp[j]->vh;
                        ck_assert_msg(v.flags == kv->flags && v.gso_type == kv->gso_type &&
                                          v.gso_size == kv->gso_size &&
                                          v.csum_start == kv->csum_start &&
                                          v.csum_offset == kv->csum_offset,
                                      "%s, port %u, packet %u (%u segs): vnet ours flags %u type "
                                      "%u size %u start %u off %u, kernel %u %u %u %u %u",
                                      kcases[k].name, sp, j, p->gso_segs, v.flags, v.gso_type,
                                      v.gso_size, v.csum_start, v.csum_offset, kv->flags,
                                      kv->gso_type, kv->gso_size, kv->csum_start, kv->csum_offset);
                        merged += p->gso_segs > 1;
                }
        }
        printf("%-40s %2u segments -> %2u packets, %u merged, equal to kernel GRO\n",
               kcases[k].name, nsegs, o->n, merged);
        return merged;
}

START_TEST(lro_equals_kernel_gro)
{
        const char *why = skip_reason();
        if (why) {
                printf("SKIP lro_equals_kernel_gro: %s\n", why);
                return;
        }
        for (size_t i = 0; i < sizeof(pattern); i++)
                pattern[i] = off_build_pattern(4242, i);
        static struct kcapture cap;
        int rc = run_world(&cap);
        if (rc < 0) {
                printf("SKIP lro_equals_kernel_gro: %s\n", cap.error);
                return;
        }
        ck_assert_msg(rc == 0, "kernel side: %s", cap.error);
        static struct stream s;
        static struct ours o;
        uint32_t merged = 0;
        for (uint32_t k = 0; k < N_KCASES; k++) {
                uint16_t port = case_port(k, cap.attempt[k]);
                s.n = 0;
                kcases[k].build(&s, port);
                run_ours(&s, &o);
                merged += compare_case(k, &cap, &o, port, s.n);
                for (uint32_t i = 0; i < o.n; i++)
                        free(o.data[i]);
                for (uint32_t i = 0; i < cap.n[k]; i++)
                        free(cap.pkts[k][i].data);
        }
        /* The comparison means something only if GRO actually merged. */
        ck_assert_uint_ge(merged, N_KCASES);
}
END_TEST

static Suite *off_lro_kernel_diff_suite(void)
{
        Suite *s = suite_create("off_lro_kernel_diff");
        TCase *tc = tcase_create("kernel");
        tcase_add_test(tc, lro_equals_kernel_gro);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(off_lro_kernel_diff_suite)
