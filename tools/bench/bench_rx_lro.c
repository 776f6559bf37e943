/* Guest RX LRO benchmark (not a test): one TCP stream of MTU-sized frames
 * on one queue through the real pvbackd with -o vif.lro=on and =off,
 * interleaved, in this one run, two ways:
 *  - synthetic: frames of one flow (1448-byte payloads, consecutive
 *    sequence numbers, partial checksums as a local sender leaves them)
 *    injected into the vif's TAP and received by a libpvfront guest with
 *    GSO that only counts them: what LRO costs and saves in pvbackd alone;
 *  - kernel: a host's TCP behind a veth with TSO/GSO off, bridged to the
 *    vif, sending to the guest kernel's TCP through pvback-netfront tap: what
 *    a guest stack gains from fewer, larger packets.
 * Prints payload throughput as a ratio on/off and, per MiB of payload, the
 * backend's and the guest's notifications and grant-copy calls and
 * segments. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nbinject.h"
#include "proc.h"
#include "nbworld.h"
#include "netfront.h"
#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "simhost.h"

#define GUEST         6
#define GUEST_S       "6"
#define VIF           "vif6.0"
#define RUN_NS        400000000ull   /* each synthetic measurement */
#define KERNEL_BYTES  (128ull << 20) /* each kernel stream */
#define SENDER_IP     "10.9.0.3"
#define REPS          3 /* the best of REPS per mode, modes interleaved */
#define MSS           1448u
#define HDRS          (14u + 20u + 20u)
#define INJECT_WINDOW 2048u /* frames sent and not yet seen by the guest */
#define TAP_QUEUE     4096u /* the TAP's txqueuelen: above the window, nothing dropped */
#define MIB           1048576.0

static const uint8_t guest_mac[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, GUEST};
static const uint8_t far_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x07};

static struct nbw world;
static pid_t child_pid = -1;

static void cleanup(void)
{
        proc_reap(&child_pid);
}

static void die(const char *what)
{
        fprintf(stderr, "bench_rx_lro: %s\n", what);
        nbw_dump_logs(&world);
        exit(1);
}

/* ---- shared with the guest -------------------------------------------------- */

struct shared {
        volatile int ready, go, stop;
        char err[200];
        volatile uint64_t rx_payload; /* TCP payload bytes the guest got */
        uint64_t rx_pkts, rx_first, rx_last;
        struct nf_stats st;
};

static struct shared *sh;

static void on_rx(void *arg, const struct nf_rx_frame *f)
{
        uint64_t t = now_ns();
        (void)arg;
        if (f->len <= HDRS)
                return;
        if (!sh->rx_pkts)
                sh->rx_first = t;
        sh->rx_last = t;
        sh->rx_pkts++;
        sh->rx_payload += f->len - HDRS;
}

static int guest_main(void *arg)
{
        struct nf_config cfg;
        struct nf_dev *d = NULL;
        (void)arg;
        pv_log_init("bench_rx_lro", false, PV_LOG_WARN);
        nf_config_default(&cfg);
        cfg.queues = 1;
        cfg.timeout_ms = 20000;
        if (nf_open(&cfg, "sim", &d, sh->err, sizeof(sh->err)) < 0)
                return 1;
        nf_set_rx_cb(d, on_rx, NULL);
        if (nf_connect(d, sh->err, sizeof(sh->err)) < 0) {
                nf_close(d);
                return 1;
        }
        sh->ready = 1;
        while (!sh->stop) {
                struct pollfd p = {.fd = nf_evtchn_fd(d), .events = POLLIN};
                poll(&p, 1, 10);
                if (nf_handle_events(d) < 0 || nf_poll_queues(d) < 0) {
                        snprintf(sh->err, sizeof(sh->err), "guest: %s", nf_broken_reason(d));
                        return 1;
                }
        }
        nf_stats_sum(d, &sh->st);
        nf_disconnect(d);
        nf_close(d);
        return 0;
}

/* ---- the stream: frames into the TAP from the kernel's side ------------------ */

struct stream {
        uint8_t frames[NBINJ_BATCH][HDRS + MSS];
        struct off_pkt_info pi;
        uint32_t seq;
        uint16_t id;
};

static void stream_init(struct stream *s)
{
        struct off_build_spec spec = {.ethertype = OFF_ETH_P_IPV4,
                                      .l4_proto = IPPROTO_TCP,
                                      .saddr = {10, GUEST, 0, 1},
                                      .daddr = {10, GUEST, 0, 2},
                                      .sport = 20000,
                                      .dport = 5001,
                                      .ack = 1,
                                      .tcp_flags = OFF_TCP_ACK,
                                      .tcp_window = 65535,
                                      .payload_len = MSS};
        size_t len;
        memcpy(spec.dst_mac, guest_mac, 6);
        memcpy(spec.src_mac, far_mac, 6);
        for (uint32_t i = 0; i < NBINJ_BATCH; i++) {
                if (off_build_packet(s->frames[i], sizeof(s->frames[i]), &spec, &len) < 0 ||
                    len != HDRS + MSS || off_parse(s->frames[i], len, 0, &s->pi) < 0 ||
                    off_csum_seed_partial(s->frames[i], len, &s->pi) < 0)
                        die("building frames");
        }
        s->seq = 1;
        s->id = 1;
}

/* Next frame of the stream in slot i: the sequence and IPv4 ID move on; the
 * partial TCP sum (pseudo-header only) stays. */
static void stream_next(struct stream *s, uint32_t i)
{
        uint8_t *f = s->frames[i];
        off_put_be16(f + s->pi.l3_off + 4, s->id++);
        off_csum_fill_ipv4_hdr(f + s->pi.l3_off, s->pi.l3_hdr_len);
        off_put_be32(f + s->pi.l4_off + 4, s->seq);
        s->seq += MSS;
}

/* A packet socket sends into the TAP (towards pvbackd) with the virtio
 * header a local sender's frames carry (NEEDS_CSUM), keeping at most
 * INJECT_WINDOW frames ahead of what the guest received. */
static uint64_t inject(uint64_t dur_ns)
{
        static struct stream s;
        static struct nbinj j;
        struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};

        stream_init(&s);
        vh.csum_start = s.pi.l4_off;
        vh.csum_offset = 16;
        if (nbinj_open(&j, VIF, INJECT_WINDOW) < 0)
                die("packet socket on " VIF);
        for (uint32_t i = 0; i < NBINJ_BATCH; i++)
                nbinj_set(&j, i, &vh, s.frames[i], HDRS + MSS);
        for (uint64_t end = now_ns() + dur_ns; now_ns() < end;) {
                if (!nbinj_window_open(&j, sh->rx_payload / MSS))
                        continue;
                for (uint32_t i = 0; i < NBINJ_BATCH; i++)
                        stream_next(&s, i);
                /* Frames not taken leave a gap the receiver sees as loss. */
                if (nbinj_send(&j) < 0)
                        die("sendmmsg");
        }
        nbinj_close(&j);
        return j.sent;
}

/* ---- pvbackd ------------------------------------------------------------------ */

static size_t log_size(void)
{
        struct stat st;
        return stat(world.pvbackd_log, &st) == 0 ? (size_t)st.st_size : 0;
}

static void pvbackd_start(bool lro)
{
        const char *args[] = {"--workers",   "2",
                              "--log-level", "info",
                              "-o",          "vif.max-queues=1",
                              "-o",          lro ? "vif.lro=on" : "vif.lro=off",
                              NULL};
        if (nbw_pvbackd_start(&world, NULL, args) < 0)
                die("starting pvbackd");
}

static void pvbackd_stop(void)
{
        kill(world.pvbackd, SIGTERM);
        if (simhost_wait(world.pvbackd, 20000) != 0)
                die("pvbackd did not stop cleanly");
        world.pvbackd = 0;
}

static void vif_cmd(const char *verb)
{
        const char *attach[] = {"vif",      "attach",     "--domid", GUEST_S,
                                "--devid",  "0",          "--mac",   "00:16:3e:00:00:06",
                                "--script", world.script, NULL};
        const char *detach[] = {"vif", "detach", "--domid", GUEST_S, "--devid", "0", NULL};
        if (simhost_cli(&world.host, NULL, 0, strcmp(verb, "attach") ? detach : attach) != 0)
                die(verb);
        for (uint64_t end = now_ns() + 10000000000ull; now_ns() < end; sleep_us(5000))
                if (!strcmp(verb, "attach") == (if_nametoindex(VIF) != 0))
                        break;
        if (!strcmp(verb, "attach") != (if_nametoindex(VIF) != 0))
                die("the netdev did not follow the vif");
        /* A window of frames in flight, not a ping-pong of small batches:
         * the figures then say what each path costs, not how fast the
         * processes wake each other. */
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "ip link set " VIF " txqueuelen %u", TAP_QUEUE);
        if (!strcmp(verb, "attach") && system(cmd) != 0)
                die(cmd);
}

struct be_stats {
        unsigned long long pkts, calls, segs, notify, lro_frames, merged, gso_out;
};

/* The queue's counters line in `text` (pvbackd's log since the start of the
 * measurement), logged when the queue stopped. */
static bool parse_be_stats(const char *text, const char *vif, struct be_stats *b)
{
        char key[32];
        snprintf(key, sizeof(key), "%s q0: tx ", vif);
        const char *q = strstr(text, key);
        const char *rx = q ? strstr(q, "; rx ") : NULL;
        const char *lro = q ? strstr(q, "; lro frames ") : NULL;
        return rx && lro &&
               sscanf(rx,
                      "; rx %llu pkts %*u B, %llu copy calls %llu segs, %*u events %llu notifies",
                      &b->pkts, &b->calls, &b->segs, &b->notify) == 4 &&
               sscanf(lro, "; lro frames %llu merged %llu gso_out %llu", &b->lro_frames, &b->merged,
                      &b->gso_out) == 3;
}

static struct be_stats read_be_stats(size_t from, const char *vif)
{
        struct be_stats b = {0};
        for (uint64_t end = now_ns() + 10000000000ull; now_ns() < end; sleep_us(5000)) {
                char *log = nbw_slurp(world.pvbackd_log);
                bool ok = parse_be_stats(strlen(log) > from ? log + from : "", vif, &b);
                free(log);
                if (ok)
                        return b;
        }
        die("pvbackd never logged the queue's counters");
        return b;
}

/* ---- one measurement ------------------------------------------------------------ */

struct result {
        double gbps; /* TCP payload the guest received */
        double mib;
        double be_notify_per_mib, fe_notify_per_mib, calls_per_mib, segs_per_mib;
        double frames_per_pkt;
        struct be_stats b;
};

static void per_mib(struct result *r, double payload, double gbps, uint64_t fe_notify)
{
        r->mib = payload / MIB;
        r->gbps = gbps;
        r->be_notify_per_mib = (double)r->b.notify / r->mib;
        r->fe_notify_per_mib = (double)fe_notify / r->mib;
        r->calls_per_mib = (double)r->b.calls / r->mib;
        r->segs_per_mib = (double)r->b.segs / r->mib;
        r->frames_per_pkt = r->b.pkts ? payload / MSS / (double)r->b.pkts : 0;
}

static struct result measure_synthetic(bool lro)
{
        struct result r = {0};
        size_t from = log_size();
        pvbackd_start(lro);
        vif_cmd("attach");
        memset(sh, 0, sizeof(*sh));
        child_pid = simhost_spawn(&world.host, GUEST, guest_main, NULL);
        for (uint64_t end = now_ns() + 20000000000ull; !sh->ready && now_ns() < end;)
                sleep_us(1000);
        if (!sh->ready)
                die(sh->err[0] ? sh->err : "the guest did not connect");
        inject(RUN_NS);
        sleep_us(20000); /* what is in flight lands */
        sh->stop = 1;
        int rc = simhost_wait(child_pid, 30000);
        child_pid = -1;
        if (rc != 0)
                die(sh->err[0] ? sh->err : "the guest failed");
        r.b = read_be_stats(from, VIF);
        vif_cmd("detach");
        pvbackd_stop();
        uint64_t dt = sh->rx_last - sh->rx_first;
        if (dt == 0 || sh->rx_payload == 0)
                die("the guest received nothing");
        per_mib(&r, (double)sh->rx_payload, (double)sh->rx_payload * 8 / (double)dt,
                sh->st.notify_rx);
        return r;
}

/* ---- through the guest's kernel ---------------------------------------------- */

/* A third host on the bridge whose TCP sends MTU-sized frames: TSO and GSO
 * off on its veth, no GRO where they enter the host namespace. */
static void kernel_sender_up(struct netns *snd)
{
        if (netns_create(snd, "sender") < 0 ||
            netns_run(&world.hostns,
                      "ip link add vsnd0 type veth peer name vsnd1 && ip link set vsnd1 netns %d "
                      "&& ip link set vsnd0 master xenbr0 && ethtool -K vsnd0 gro off >/dev/null "
                      "&& ip link set vsnd0 up",
                      (int)snd->holder) != 0 ||
            netns_run(snd, "ip addr add " SENDER_IP "/24 dev vsnd1 && ethtool -K vsnd1 tso off "
                           "gso off >/dev/null && ip link set vsnd1 up && "
                           "ping -c 2 -i 0.2 -W 2 " NBW_GUEST_IP " >/dev/null") != 0)
                die("setting up the sender behind a veth (needs ethtool)");
}

static struct result measure_kernel(bool lro, uint16_t port)
{
        const char *const pv_args[] = {"-o", lro ? "vif.lro=on" : "vif.lro=off", NULL};
        const char *const nf_args[] = {"--queues", "1", NULL};
        const struct nbw_opts o = {.max_queues = 1, .pvbackd_args = pv_args};
        struct result r = {0};
        struct nbw_stream st;
        struct netns snd = {0};
        unsigned long long fe_notify_rx = 0;
        char why[4096];

        if (nbw_up(&world, &o, why, sizeof(why)) < 0 ||
            nbw_netfront_start(&world, "tap", nf_args, why, sizeof(why)) < 0) {
                fprintf(stderr, "bench_rx_lro: %s\n", why);
                die("the kernel world");
        }
        if (!nbw_be_wait(&world, "state", "4", 10000))
                die("the backend did not connect");
        kernel_sender_up(&snd);
        if (nbw_tcp_stream_ns(&world, &snd, &world.guestns, NBW_GUEST_IP, KERNEL_BYTES, port, port,
                              &st) < 0 ||
            st.bytes_received != KERNEL_BYTES || st.digest_received != st.digest_sent)
                die("the stream did not arrive intact");
        if (nbw_netfront_stop(&world) != 0 || !nbw_be_wait(&world, "state", "6", 10000))
                die("the netfront did not stop cleanly");
        r.b = read_be_stats(0, "vif1.0");
        char *nf = nbw_slurp(world.nf_log);
        const char *n = strstr(nf, "notifications: sent tx ");
        if (!n || sscanf(n, "notifications: sent tx %*u, rx %llu", &fe_notify_rx) != 1)
                die("the netfront printed no notification counts");
        free(nf);
        netns_destroy(&snd);
        nbw_down(&world);
        per_mib(&r, (double)KERNEL_BYTES, nbw_mbps(&st) / 1e3, fe_notify_rx);
        return r;
}

static void print_row(const char *mode, const struct result *r)
{
        printf("%-8s %9.3f %9.1f %13.2f %13.2f %11.2f %10.1f %10.1f %9llu %9llu\n", mode, r->gbps,
               r->mib, r->be_notify_per_mib, r->fe_notify_per_mib, r->calls_per_mib,
               r->segs_per_mib, r->frames_per_pkt, r->b.merged, r->b.gso_out);
}

static void report(const char *title, const struct result best[2])
{
        printf("%s\n", title);
        printf("%-8s %9s %9s %13s %13s %11s %10s %10s %9s %9s\n", "lro", "Gbit/s", "MiB",
               "be-notify/MiB", "fe-notify/MiB", "copies/MiB", "segs/MiB", "frames/pkt", "merged",
               "gso_out");
        print_row("off", &best[0]);
        print_row("on", &best[1]);
        printf("LRO on/off: throughput %.2fx; per MiB: backend notifications %.2fx, guest "
               "notifications %.2fx, grant-copy calls %.2fx, grant-copy segments %.2fx\n\n",
               best[1].gbps / best[0].gbps,
               best[0].be_notify_per_mib > 0 ? best[1].be_notify_per_mib / best[0].be_notify_per_mib
                                             : 0.0,
               best[0].fe_notify_per_mib > 0 ? best[1].fe_notify_per_mib / best[0].fe_notify_per_mib
                                             : 0.0,
               best[1].calls_per_mib / best[0].calls_per_mib,
               best[1].segs_per_mib / best[0].segs_per_mib);
}

int main(void)
{
        static const uint16_t doms[] = {GUEST, 0};
        const struct nbw_opts o = {.local = true, .domids = doms};
        struct result synth[2] = {{0}}, kern[2] = {{0}};
        char why[512];

        if (geteuid() != 0) {
                printf("bench_rx_lro: skipped (needs root: namespaces and TAP devices)\n");
                return 0;
        }
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0) {
                printf("bench_rx_lro: skipped (needs /etc/xen/scripts/vif-bridge)\n");
                return 0;
        }
        sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED)
                die("mmap");
        atexit(cleanup);
        if (nbw_up(&world, &o, why, sizeof(why)) < 0) {
                fprintf(stderr, "bench_rx_lro: %s\n", why);
                die("a private network namespace and simulated host (needs root)");
        }
        /* The machine's noise moves single runs by tens of percent: the best
         * of REPS per mode, the modes interleaved. */
        for (int rep = 0; rep < REPS; rep++) {
                for (int lro = 0; lro < 2; lro++) {
                        struct result r = measure_synthetic(lro);
                        if (r.gbps > synth[lro].gbps)
                                synth[lro] = r;
                }
        }
        nbw_down(&world);
        for (int rep = 0; rep < REPS; rep++) {
                for (int lro = 0; lro < 2; lro++) {
                        struct result r = measure_kernel(lro, (uint16_t)(7400 + 2 * rep + lro));
                        if (r.gbps > kern[lro].gbps)
                                kern[lro] = r;
                }
        }
        printf("guest RX of one TCP stream of %u-byte segments on one queue through pvbackd on "
               "the simulator, -o vif.lro=on vs off, best of %d runs per mode (interleaved)\n\n",
               MSS, REPS);
        char title[256];
        snprintf(title, sizeof(title),
                 "synthetic: frames injected into the TAP for %.2f s, guest = libpvfront counting "
                 "them",
                 RUN_NS / 1e9);
        report(title, synth);
        snprintf(title, sizeof(title),
                 "kernel: %llu MiB from a host's TCP (veth, TSO/GSO off) to the guest kernel's TCP "
                 "(pvback-netfront tap), digest verified",
                 (unsigned long long)(KERNEL_BYTES >> 20));
        report(title, kern);
        return 0;
}
