/* Netback benchmark (not a test): guest→TAP and TAP→guest rates through the
 * real pvbackd on a private simulated host, for 64 B, 1500 B and 64 KiB GSO
 * frames on 1 and 2 queues, with grant-copy calls and notifications per
 * packet, against a plain program writing and reading the same frames on a
 * TAP of its own. Every figure comes from this one run on this machine. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "log.h"
#include "nbinject.h"
#include "proc.h"
#include "nbworld.h"
#include "nfguest.h"
#include "netfront.h"
#include "offload/off_build.h"
#include "offload/off_csum.h"
#include "simhost.h"

#define GUEST   5
#define GUEST_S "5"
#define VIF     "vif5.0"
#define RAW_TAP "rawtap0"
#define RUN_NS  250000000ull /* each measurement */
#define REPS    5            /* the median of REPS, interleaved, for each figure */
#define FLOWS   16u          /* source ports: spread over TAP queues */
/* Frames injected but not yet received: under the TAP's own queue of 500
 * (the kernel's TUN_READQ_SIZE), so the TAP never drops, and over the
 * guest's 256-slot RX ring, so pvbackd has frames to read while the guest
 * empties its ring; at 256 the two took turns. */
#define INJECT_WINDOW 448u
#define GSO_MSS       1448u
#define GSO_SEGS      45u
#define RATIO_TARGET  0.8
#define COPY_TARGET   (1.0 / 16)

static const uint8_t guest_mac[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, GUEST};
static const uint8_t far_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

static struct nbw world; /* local: pvbackd, the vif and the raw TAP here */
static pid_t child_pid = -1;

/* The measurement's child goes at exit (nbworld takes pvbackd and the
 * host). */
static void cleanup(void)
{
        proc_reap(&child_pid);
}

/* pvbackd's log says why a connection failed. */
static void print_daemon_log(void)
{
        if (access(world.pvbackd_log, R_OK) != 0)
                return;
        fprintf(stderr, "--- pvbackd's log:\n");
        proc_print_file(world.pvbackd_log);
}

static void die(const char *what)
{
        fprintf(stderr, "bench_netback: %s\n", what);
        print_daemon_log();
        exit(1);
}

/* ---- frames --------------------------------------------------------------- */

enum size_kind { SZ_64, SZ_1500, SZ_GSO, SZ_COUNT };
static const char *const size_name[SZ_COUNT] = {"64 B", "1500 B", "64 KiB GSO"};

/* One frame per flow, with the virtio header that goes with it on a TAP. */
struct frames {
        uint8_t *data[FLOWS];
        uint32_t len;
        struct virtio_net_hdr vh;
        bool gso;
};

static void frames_build(struct frames *fr, enum size_kind k, const uint8_t dst[6],
                         const uint8_t src[6])
{
        struct off_build_spec s = {.ethertype = OFF_ETH_P_IPV4,
                                   .l4_proto = k == SZ_GSO ? 6 : 17,
                                   .dport = 9,
                                   .saddr = {10, GUEST, 0, 1},
                                   .daddr = {10, GUEST, 0, 2},
                                   .tcp_flags = 0x18,
                                   .tcp_window = 65535};
        size_t hdrs = 14 + 20 + (k == SZ_GSO ? 20 : 8);
        s.payload_len = k == SZ_64 ? 64 - hdrs : k == SZ_1500 ? 1514 - hdrs : GSO_MSS * GSO_SEGS;
        memcpy(s.dst_mac, dst, 6);
        memcpy(s.src_mac, src, 6);
        memset(&fr->vh, 0, sizeof(fr->vh));
        fr->gso = k == SZ_GSO;
        for (uint32_t f = 0; f < FLOWS; f++) {
                struct off_pkt_info pi;
                size_t len;
                fr->data[f] = malloc(70000);
                s.sport = (uint16_t)(20000 + f);
                if (!fr->data[f] || off_build_packet(fr->data[f], 70000, &s, &len) < 0 ||
                    off_parse(fr->data[f], len, fr->gso ? OFF_PARSE_GSO : 0, &pi) < 0)
                        die("building frames");
                /* GSO frames leave the TCP checksum partial, as a guest's
                 * stack (and the TAP's virtio header) has it. */
                if (fr->gso ? off_csum_seed_partial(fr->data[f], len, &pi) < 0
                            : off_csum_fill_l4(fr->data[f], len, &pi) < 0)
                        die("checksumming frames");
                fr->len = (uint32_t)len;
                if (fr->gso) {
                        fr->vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
                        fr->vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
                        fr->vh.hdr_len = (uint16_t)(pi.l4_off + pi.l4_hdr_len);
                        fr->vh.gso_size = GSO_MSS;
                        fr->vh.csum_start = (uint16_t)pi.l4_off;
                        fr->vh.csum_offset = 16;
                }
        }
}

static void frames_free(struct frames *fr)
{
        for (uint32_t f = 0; f < FLOWS; f++)
                free(fr->data[f]);
}

/* ---- what one measurement shares between its processes -------------------- */

struct shared {
        volatile int ready, go, stop;
        int rc;
        char err[200];
        uint64_t t0, t1;             /* sender: first and last frame */
        uint64_t frames;             /* sent (guest→TAP) */
        volatile uint64_t rx_frames; /* received (TAP→guest) */
        uint64_t rx_first, rx_last;
        struct nf_stats st; /* the frontend's counters */
};

static struct shared *sh;

static void shared_reset(void)
{
        memset(sh, 0, sizeof(*sh));
}

/* Frames and packets counted by the kernel for an interface of this
 * namespace (/proc/net/dev is per namespace; /sys/class/net is not). */
static uint64_t netdev_rx_packets(const char *ifname)
{
        char line[512];
        uint64_t v = 0;
        FILE *f = fopen("/proc/net/dev", "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f)) {
                char name[IFNAMSIZ + 1];
                unsigned long long bytes, pkts;
                if (sscanf(line, " %16[^:]: %llu %llu", name, &bytes, &pkts) == 3 &&
                    !strcmp(name, ifname))
                        v = pkts;
        }
        fclose(f);
        return v;
}

static void wait_ready(void)
{
        uint64_t end = now_ns() + 20000000000ull;
        while (!sh->ready && now_ns() < end && waitpid(child_pid, NULL, WNOHANG) == 0)
                sleep_us(1000);
        if (!sh->ready) {
                die(sh->err[0] ? sh->err : "child not ready");
        }
}

static void wait_child(void)
{
        int rc = simhost_wait(child_pid, 30000);
        child_pid = -1;
        if (rc != 0) {
                fprintf(stderr, "bench_netback: child exited %d\n", rc);
                die(sh->err);
        }
}

/* ---- the injector: frames into a TAP from the kernel's side ---------------- */

/* A packet socket sends into ifname (towards whoever reads the TAP), with
 * the virtio header for GSO frames, keeping at most INJECT_WINDOW frames
 * ahead of the receiver so that neither side spins on drops. */
static uint64_t inject(const char *ifname, const struct frames *fr, uint64_t dur_ns)
{
        static struct nbinj j;
        struct virtio_net_hdr vh = fr->vh;

        if (nbinj_open(&j, ifname, INJECT_WINDOW) < 0)
                die("packet socket");
        for (uint32_t i = 0; i < NBINJ_BATCH; i++)
                nbinj_set(&j, i, &vh, fr->data[i % FLOWS], fr->len);
        uint64_t end = now_ns() + dur_ns;
        while (now_ns() < end) {
                if (nbinj_window_open(&j, sh->rx_frames) && nbinj_send(&j) < 0)
                        die("sendmmsg");
        }
        nbinj_close(&j);
        return j.sent;
}

/* ---- the plain program: its own TAP, written and read directly ------------- */

static int raw_tap_open(void)
{
        struct ifreq ifr = {0};
        int hdr = sizeof(struct virtio_net_hdr);
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", RAW_TAP);
        /* The flags and offloads pvbackd's TAP uplink uses. */
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
        if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
            ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
                die("opening the raw TAP (needs root and /dev/net/tun)");
        if (system("ip link set " RAW_TAP " up") != 0)
                die("ip link set " RAW_TAP " up");
        return fd;
}

struct rate {
        double pps, gbps;
        uint64_t frames;
};

static struct rate rate_of(uint64_t frames, uint32_t len, uint64_t dt_ns)
{
        struct rate r = {0, 0, frames};
        if (dt_ns) {
                r.pps = (double)frames * 1e9 / (double)dt_ns;
                r.gbps = r.pps * len * 8 / 1e9;
        }
        return r;
}

/* writev of virtio header + frame, one per frame, as pvbackd writes. */
static struct rate raw_write(int fd, const struct frames *fr)
{
        struct virtio_net_hdr vh = fr->vh;
        uint64_t n = 0, before = netdev_rx_packets(RAW_TAP);
        uint64_t t0 = now_ns(), end = t0 + RUN_NS, t1;
        while ((t1 = now_ns()) < end) {
                struct iovec iov[2] = {{&vh, sizeof(vh)}, {fr->data[n % FLOWS], fr->len}};
                if (writev(fd, iov, 2) < 0)
                        die("writing the raw TAP");
                n++;
        }
        uint64_t delivered = netdev_rx_packets(RAW_TAP) - before;
        return rate_of(delivered < n ? delivered : n, fr->len, t1 - t0);
}

static int raw_reader(void *arg)
{
        int fd = *(int *)arg;
        static uint8_t buf[70000];
        struct virtio_net_hdr vh;
        struct iovec iov[2] = {{&vh, sizeof(vh)}, {buf, sizeof(buf)}};
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        sh->ready = 1;
        while (!sh->stop) {
                if (readv(fd, iov, 2) > 0) {
                        uint64_t t = now_ns();
                        if (!sh->rx_frames)
                                sh->rx_first = t;
                        sh->rx_last = t;
                        sh->rx_frames++;
                } else if (errno == EAGAIN) {
                        poll(&p, 1, 10);
                }
        }
        return 0;
}

static struct rate receiver_rate(uint32_t len)
{
        return rate_of(sh->rx_frames > 1 ? sh->rx_frames - 1 : 0, len, sh->rx_last - sh->rx_first);
}

/* The same injector feeding the raw TAP; a child process reads it. */
static struct rate raw_read(int fd, const struct frames *fr)
{
        shared_reset();
        child_pid = simhost_spawn(&world.host, 0, raw_reader, &fd);
        wait_ready();
        inject(RAW_TAP, fr, RUN_NS);
        sh->stop = 1;
        wait_child();
        /* The reader made the shared file description non-blocking. */
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        return receiver_rate(fr->len);
}

/* ---- the guest: libpvfront in domain 5 -------------------------------------- */

enum dir { GUEST_TO_TAP, TAP_TO_GUEST };

struct guest_args {
        enum dir dir;
        uint32_t queues;
        const struct frames *fr;
};

static void on_rx(void *arg, const struct nf_rx_frame *f)
{
        uint64_t t = now_ns();
        (void)arg;
        (void)f;
        if (!sh->rx_frames)
                sh->rx_first = t;
        sh->rx_last = t;
        sh->rx_frames++;
}

static int guest_fail(struct nf_dev *d, const char *what, int rc)
{
        return nfguest_fail(sh->err, sizeof(sh->err), d, what, rc);
}

static int guest_send(struct nf_dev *d, const struct guest_args *a)
{
        const struct frames *fr = a->fr;
        struct nf_frame f = {.len = fr->len,
                             .csum_blank = fr->gso,
                             .gso_type = fr->gso ? XEN_NETIF_GSO_TYPE_TCPV4 : 0,
                             .gso_size = fr->gso ? GSO_MSS : 0};
        uint64_t n = 0, end;
        int rc;
        sh->t0 = now_ns();
        end = sh->t0 + RUN_NS;
        while (now_ns() < end) {
                f.data = fr->data[n % FLOWS];
                rc = nf_xmit(d, (uint32_t)(n % a->queues), &f);
                if (rc == 0)
                        n++;
                else if (rc != -EAGAIN)
                        return rc;
                else if ((rc = nfguest_wait(d, 1)) < 0)
                        return rc;
        }
        for (uint64_t stop = now_ns() + 5000000000ull; !nf_tx_idle(d) && now_ns() < stop;)
                if ((rc = nfguest_wait(d, 1)) < 0)
                        return rc;
        sh->t1 = now_ns();
        sh->frames = n;
        return nf_tx_idle(d) ? 0 : -ETIMEDOUT;
}

static int guest_main(void *arg)
{
        const struct guest_args *a = arg;
        struct nf_config cfg;
        struct nf_dev *d = NULL;
        int rc;

        pv_log_init("bench_netback", false, PV_LOG_WARN);
        nf_config_default(&cfg);
        cfg.queues = a->queues;
        cfg.timeout_ms = 20000;
        if ((rc = nf_open(&cfg, "sim", &d, sh->err, sizeof(sh->err))) < 0)
                return 1;
        nf_set_rx_cb(d, on_rx, NULL);
        if ((rc = nf_connect(d, sh->err, sizeof(sh->err))) < 0) {
                nf_close(d);
                return 1;
        }
        if (nf_num_queues(d) != a->queues)
                return guest_fail(d, "queue count", -EPROTO);
        sh->ready = 1;
        while (!sh->go)
                sleep_us(100);
        if (a->dir == GUEST_TO_TAP) {
                if ((rc = guest_send(d, a)) < 0) {
                        struct nf_stats st;
                        nf_stats_sum(d, &st);
                        fprintf(stderr,
                                "guest: %" PRIu64 " frames, %" PRIu64
                                " slots, answered okay %" PRIu64 " error %" PRIu64 ", busy %" PRIu64
                                ", kicks %" PRIu64 ", events %" PRIu64 "\n",
                                st.tx_packets, st.tx_slots, st.tx_rsp_okay, st.tx_rsp_error,
                                st.tx_busy, st.notify_tx, st.events);
                        return guest_fail(d, "sending", rc);
                }
        } else {
                while (!sh->stop)
                        if ((rc = nfguest_wait(d, 10)) < 0)
                                return guest_fail(d, "receiving", rc);
        }
        nf_stats_sum(d, &sh->st);
        nf_disconnect(d);
        nf_close(d);
        return 0;
}

/* ---- pvbackd's counters: its per-queue log line at disconnect -------------- */

struct be_stats {
        uint64_t tx_pkts, tx_calls, tx_notify, rx_pkts, rx_calls, rx_notify;
};

static size_t log_size(void)
{
        struct stat st;
        return stat(world.pvbackd_log, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Sums the "vif5.0 qN: tx ..." lines written after offset `from`, once the
 * "disconnected" line after them is there. */
static struct be_stats read_be_stats(size_t from)
{
        struct be_stats b = {0};
        static char buf[1 << 20];
        for (uint64_t end = now_ns() + 10000000000ull; now_ns() < end; sleep_us(5000)) {
                FILE *f = fopen(world.pvbackd_log, "re");
                if (!f)
                        break;
                fseek(f, (long)from, SEEK_SET);
                size_t n = fread(buf, 1, sizeof(buf) - 1, f);
                fclose(f);
                buf[n] = '\0';
                if (!strstr(buf, VIF ": disconnected"))
                        continue;
                for (char *p = buf; (p = strstr(p, VIF " q")); p++) {
                        unsigned long long v[15];
                        char *t = strstr(p, ": tx ");
                        if (!t ||
                            sscanf(t,
                                   ": tx %llu pkts %llu B, %llu copy calls %llu segs, %llu "
                                   "events %llu notifies, drops parse %llu offload %llu "
                                   "uplink %llu; rx %llu pkts %llu B, %llu copy calls %llu "
                                   "segs, %llu events %llu notifies",
                                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
                                   &v[9], &v[10], &v[11], &v[12], &v[13], &v[14]) != 15)
                                continue;
                        b.tx_pkts += v[0];
                        b.tx_calls += v[2];
                        b.tx_notify += v[5];
                        b.rx_pkts += v[9];
                        b.rx_calls += v[11];
                        b.rx_notify += v[14];
                }
                return b;
        }
        die("pvbackd never logged the queues' counters");
        return b;
}

/* ---- one measurement through pvbackd ---------------------------------------- */

struct result {
        struct rate r;
        double copies_per_pkt, be_notify_per_pkt, fe_notify_per_pkt;
};

static struct result through_pvbackd(enum dir dir, uint32_t queues, const struct frames *fr)
{
        struct guest_args a = {dir, queues, fr};
        struct result res = {0};
        size_t from = log_size();
        shared_reset();
        child_pid = simhost_spawn(&world.host, GUEST, guest_main, &a);
        wait_ready();
        if (dir == GUEST_TO_TAP) {
                uint64_t before = netdev_rx_packets(VIF);
                sh->go = 1;
                wait_child();
                uint64_t delivered = netdev_rx_packets(VIF) - before;
                res.r = rate_of(delivered < sh->frames ? delivered : sh->frames, fr->len,
                                sh->t1 - sh->t0);
        } else {
                sh->go = 1;
                inject(VIF, fr, RUN_NS);
                sh->stop = 1;
                wait_child();
                res.r = receiver_rate(fr->len);
        }
        struct be_stats b = read_be_stats(from);
        uint64_t pkts = dir == GUEST_TO_TAP ? b.tx_pkts : b.rx_pkts;
        if (pkts) {
                res.copies_per_pkt = (double)(dir == GUEST_TO_TAP ? b.tx_calls : b.rx_calls) / pkts;
                res.be_notify_per_pkt =
                    (double)(dir == GUEST_TO_TAP ? b.tx_notify : b.rx_notify) / pkts;
                res.fe_notify_per_pkt =
                    (double)(dir == GUEST_TO_TAP ? sh->st.notify_tx : sh->st.notify_rx) / pkts;
        }
        return res;
}

/* ---- the world -------------------------------------------------------------- */

static void world_up(void)
{
        static const uint16_t doms[] = {GUEST, 0};
        static const char *const args[] = {"--workers",        "2", "--log-level", "info", "-o",
                                           "vif.max-queues=2", NULL};
        const struct nbw_opts o = {.local = true, .domids = doms};
        char why[512];
        atexit(cleanup);
        if (nbw_up(&world, &o, why, sizeof(why)) < 0) {
                fprintf(stderr, "bench_netback: %s\n", why);
                die("a private network namespace and simulated host (needs root)");
        }
        if (nbw_pvbackd_start(&world, NULL, args) < 0)
                die("starting pvbackd");
}

static void vif_attach(void)
{
        const char *args[] = {"vif",      "attach",     "--domid", GUEST_S,
                              "--devid",  "0",          "--mac",   "00:16:3e:00:00:05",
                              "--script", world.script, NULL};
        if (simhost_cli(&world.host, NULL, 0, args) != 0)
                die("attaching vif5.0");
}

/* A fresh frontend directory for another queue count: pvbackd refuses a
 * multi-queue frontend whose directory still holds the flat ring keys of an
 * earlier single-queue connection, which Linux netback ignores. */
static void vif_reattach(void)
{
        const char *args[] = {"vif", "detach", "--domid", GUEST_S, "--devid", "0", NULL};
        if (simhost_cli(&world.host, NULL, 0, args) != 0)
                die("detaching vif5.0");
        for (uint64_t end = now_ns() + 10000000000ull; if_nametoindex(VIF) && now_ns() < end;)
                sleep_us(5000);
        vif_attach();
}

/* ---- report ----------------------------------------------------------------- */

static int by_pps(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

/* The run whose packet rate is the median of REPS (odd). */
static unsigned median_run(const double pps[REPS])
{
        double sorted[REPS];
        memcpy(sorted, pps, sizeof(sorted));
        qsort(sorted, REPS, sizeof(sorted[0]), by_pps);
        for (unsigned i = 0; i < REPS; i++)
                if (pps[i] == sorted[REPS / 2])
                        return i;
        return 0;
}

static struct rate median_rate(const struct rate r[REPS])
{
        double pps[REPS];
        for (unsigned i = 0; i < REPS; i++)
                pps[i] = r[i].pps;
        return r[median_run(pps)];
}

static struct result median_result(const struct result r[REPS])
{
        double pps[REPS];
        for (unsigned i = 0; i < REPS; i++)
                pps[i] = r[i].r.pps;
        return r[median_run(pps)];
}

static const char *verdict(bool ok)
{
        return ok ? "PASS" : "BELOW";
}

int main(void)
{
        static struct rate raw_runs[2][SZ_COUNT][REPS];
        static struct result runs[2][2][SZ_COUNT][REPS]; /* [dir][queues-1][size][rep] */
        struct rate raw[2][SZ_COUNT];
        struct result res[2][2][SZ_COUNT];

        if (geteuid() != 0) {
                printf("bench_netback: skipped (needs root: namespaces and TAP devices)\n");
                return 0;
        }
        sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED)
                die("mmap");
        world_up();
        int raw_fd = raw_tap_open();
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        struct frames to_guest[SZ_COUNT], from_guest[SZ_COUNT];
        for (int k = 0; k < SZ_COUNT; k++) {
                frames_build(&from_guest[k], (enum size_kind)k, far_mac, guest_mac);
                frames_build(&to_guest[k], (enum size_kind)k, guest_mac, far_mac);
        }
        /* The machine's noise moves single runs by tens of percent, the
         * plain program's as much as pvbackd's: each figure is the median
         * of REPS runs, the raw ones interleaved with the single-queue ones
         * they are compared with. */
        for (uint32_t q = 1; q <= 2; q++) {
                if (q == 1)
                        vif_attach();
                else
                        vif_reattach();
                for (int k = 0; k < SZ_COUNT; k++) {
                        for (int rep = 0; rep < REPS; rep++) {
                                if (q == 1) {
                                        raw_runs[GUEST_TO_TAP][k][rep] =
                                            raw_write(raw_fd, &from_guest[k]);
                                        raw_runs[TAP_TO_GUEST][k][rep] =
                                            raw_read(raw_fd, &to_guest[k]);
                                }
                                runs[GUEST_TO_TAP][q - 1][k][rep] =
                                    through_pvbackd(GUEST_TO_TAP, q, &from_guest[k]);
                                runs[TAP_TO_GUEST][q - 1][k][rep] =
                                    through_pvbackd(TAP_TO_GUEST, q, &to_guest[k]);
                        }
                }
        }
        for (int dir = 0; dir < 2; dir++)
                for (int k = 0; k < SZ_COUNT; k++) {
                        raw[dir][k] = median_rate(raw_runs[dir][k]);
                        for (int q = 0; q < 2; q++)
                                res[dir][q][k] = median_result(runs[dir][q][k]);
                }
        for (int k = 0; k < SZ_COUNT; k++) {
                frames_free(&to_guest[k]);
                frames_free(&from_guest[k]);
        }
        close(raw_fd);

        printf("netback through pvbackd on the simulator, %ld CPUs, median of %d runs of %.2f s "
               "per figure\n(raw: a plain program writing/reading the same frames on its own TAP, "
               "same run; TAP->guest frames are injected by a packet socket in both cases)\n",
               cpus, REPS, RUN_NS / 1e9);
        printf("%-12s %-10s %2s %9s %9s %9s %7s %9s %11s %11s\n", "direction", "frames", "q",
               "Mpps", "Gbit/s", "raw Mpps", "ratio", "copy/pkt", "be-notify/p", "fe-notify/p");
        for (int dir = 0; dir < 2; dir++) {
                for (int k = 0; k < SZ_COUNT; k++) {
                        for (int q = 0; q < 2; q++) {
                                const struct result *r = &res[dir][q][k];
                                const struct rate *w = &raw[dir][k];
                                printf("%-12s %-10s %2d %9.3f %9.2f %9.3f %7.2f %9.4f %11.4f "
                                       "%11.4f\n",
                                       dir == GUEST_TO_TAP ? "guest->TAP" : "TAP->guest",
                                       size_name[k], q + 1, r->r.pps / 1e6, r->r.gbps, w->pps / 1e6,
                                       w->pps > 0 ? r->r.pps / w->pps : 0, r->copies_per_pkt,
                                       r->be_notify_per_pkt, r->fe_notify_per_pkt);
                        }
                }
        }
        printf("raw TAP: write %.3f/%.3f/%.3f Mpps, read %.3f/%.3f/%.3f Mpps (64 B/1500 B/GSO)\n",
               raw[0][0].pps / 1e6, raw[0][1].pps / 1e6, raw[0][2].pps / 1e6, raw[1][0].pps / 1e6,
               raw[1][1].pps / 1e6, raw[1][2].pps / 1e6);
        for (int dir = 0; dir < 2; dir++) {
                const struct result *r = &res[dir][0][SZ_64];
                double ratio = raw[dir][SZ_64].pps > 0 ? r->r.pps / raw[dir][SZ_64].pps : 0;
                const char *name = dir == GUEST_TO_TAP ? "guest->TAP" : "TAP->guest";
                printf("target %s 1 queue 64 B: %.2f of raw TAP packets/s (>= %.1f): %s\n", name,
                       ratio, RATIO_TARGET, verdict(ratio >= RATIO_TARGET));
                printf("target %s 1 queue 64 B: %.4f grant-copy calls per packet (<= 1/16): %s\n",
                       name, r->copies_per_pkt,
                       verdict(r->copies_per_pkt > 0 && r->copies_per_pkt <= COPY_TARGET));
        }
        return 0;
}
