/* Guest TX offload benchmark (not a test): what negotiating TSO and checksum
 * offload is worth to one guest TCP-like stream on one queue through the
 * real pvbackd on a private simulated host. Three figures from one run:
 *   offload   the guest negotiated SG, GSO and checksum offload and sends
 *             64 KiB GSO frames with partial checksums; the uplink (the
 *             vif's TAP) has TSO and checksumming on, so they pass whole;
 *   none      the guest negotiated nothing and sends MSS-sized frames with
 *             full checksums, as a guest without offloads does;
 *   software  as offload, with `ethtool -K vif5.0 tx off tso off`: pvbackd
 *             segments and checksums in software.
 * The frames come from pvback-netfront's generator (nf_gen.h: a TCP flow
 * whose sequence numbers advance, one MSS of 1460 bytes, 44 per GSO frame),
 * prebuilt and sent in a loop by libpvfront in guest domain 5. The receiving
 * side is a reader in the host namespace: a packet socket on vif5.0 that
 * takes every frame the kernel got from pvbackd's TAP writes (sent to a
 * foreign MAC, so the host's stack drops them right after) and counts TCP
 * payload bytes. Rates are payload bytes per second at that reader; the
 * issue's target, from Menon et al. 2006, is offload/none >= 4. Grant-copy
 * calls and notifications per MiB of payload come from pvbackd's control
 * socket, read while the guest is connected; CPU time per MiB from the
 * scheduler's accounting of each process. Each figure is the median of
 * REPS runs interleaved with the others' (the best is shown too), each run
 * listed with the share of CPU time a hypervisor below this machine took
 * from it (steal): on a shared host that, more than pvbackd, makes runs
 * differ. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "nbstats.h"
#include "nbworld.h"
#include "nfguest.h"
#include "netfront.h"
#include "nf_gen.h"
#include "offload/off_caps.h"
#include "simhost.h"

#define GUEST        5
#define GUEST_S      "5"
#define VIF          "vif5.0"
#define RUN_NS       500000000ull /* each measurement */
#define REPS         5            /* odd: the median is a run */
#define MSS          1460u
#define GSO_SEGS     44u /* 64240 bytes of payload: the most whole MSS under 64 KiB */
#define HDRS         (14u + 20u + 20u)
#define RING_PAYLOAD (4u << 20) /* prebuilt payload per figure, sent round and round */
#define READ_BATCH   64u
#define READ_SNAP    128u /* headers are all the reader needs */
#define READ_NAP_US  50u  /* the reader's pause when the socket is empty */
#define RATIO_TARGET 4.0

static const uint8_t far_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

enum scen { S_OFFLOAD, S_NONE, S_SOFTWARE, S_COUNT };
static const char *const scen_name[S_COUNT] = {"offload", "none", "software"};
static const char *const scen_what[S_COUNT] = {
    "GSO 64 KiB + csum_blank, uplink tso/tx on: passed whole",
    "MSS frames with full checksums, nothing negotiated",
    "GSO 64 KiB + csum_blank, uplink tso/tx off: segmented in pvbackd",
};

static struct nbw world; /* local: pvbackd and the vif in this namespace */
static char sock[PATH_MAX + 64];
static pid_t guest_pid = -1, reader_pid = -1;

/* Shared between this process, the guest and the reader. */
struct shared {
        volatile int guest_ready, go, sent, release;
        volatile int reader_ready, reader_stop;
        char err[256];
        /* guest */
        uint64_t t0, t1, frames, payload;
        struct nf_stats st;
        /* reader */
        volatile uint64_t rx_frames;
        uint64_t rx_payload, rx_first, rx_last, rx_drops;
};

static struct shared *sh;

/* The children go at exit (nbworld takes pvbackd and the host). */
static void cleanup(void)
{
        proc_reap(&guest_pid);
        proc_reap(&reader_pid);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
        va_list ap;
        fprintf(stderr, "bench_tx_offload: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n");
        nbw_dump_logs(&world);
        exit(1);
}

/* ---- the guest: libpvfront in domain 5 ------------------------------------- */

struct guest_args {
        enum scen scen;
};

static int guest_fail(struct nf_dev *d, const char *what, int rc)
{
        return nfguest_fail(sh->err, sizeof(sh->err), d, what, rc);
}

/* The stream's frames, built once: RING_PAYLOAD of one flow. */
struct ring {
        uint8_t *mem;
        struct nf_frame *f;
        uint32_t n;
        uint64_t payload; /* per lap */
};

static int ring_build(struct nf_dev *d, bool gso, struct ring *r)
{
        uint32_t payload = gso ? MSS * GSO_SEGS : MSS, len = HDRS + payload;
        struct nf_gen_cfg c = {.min_size = len,
                               .max_size = len,
                               .flows = 1,
                               .tcp = true,
                               .gso_size = gso ? MSS : 0,
                               .csum_partial = gso,
                               .seed = 11,
                               .saddr = {10, GUEST, 0, 1},
                               .daddr = {10, GUEST, 0, 2}};
        struct nf_gen g;
        int rc;

        memcpy(c.src_mac, nf_mac(d), 6);
        memcpy(c.dst_mac, far_mac, 6);
        r->n = RING_PAYLOAD / payload;
        r->mem = malloc((size_t)r->n * len);
        r->f = calloc(r->n, sizeof(*r->f));
        if (!r->mem || !r->f)
                return -ENOMEM;
        if ((rc = nf_gen_init(&g, &c)) < 0)
                return rc;
        for (uint32_t i = 0; i < r->n && rc == 0; i++)
                rc = nf_gen_next(&g, r->mem + (size_t)i * len, len, &r->f[i]);
        r->payload = g.payload_bytes;
        nf_gen_free(&g);
        if (rc == 0 && (r->f[0].len != len || (r->f[0].gso_type != 0) != gso))
                rc = -EPROTO;
        return rc;
}

/* What the guest negotiated is what the figure is about. */
static bool negotiated_as_asked(const struct nf_negotiated *n, bool offload)
{
        if (offload)
                return n->tx_sg && n->tx_csum && n->tx_gso_tcpv4;
        return !n->tx_sg && !n->tx_csum && !n->tx_gso_tcpv4 && !n->tx_gso_tcpv6;
}

static int guest_main(void *arg)
{
        const struct guest_args *a = arg;
        bool offload = a->scen != S_NONE;
        struct nf_config cfg;
        struct nf_dev *d = NULL;
        struct ring r = {0};
        uint64_t n = 0, end;
        int rc;

        pv_log_init("bench_tx_offload", false, PV_LOG_WARN);
        nf_config_default(&cfg);
        cfg.queues = 1;
        cfg.timeout_ms = 20000;
        if (!offload) {
                cfg.sg = cfg.gso_tcpv4 = cfg.gso_tcpv6 = false;
                cfg.csum = cfg.ipv6_csum = false;
        }
        if (nf_open(&cfg, "sim", &d, sh->err, sizeof(sh->err)) < 0)
                return 1;
        if (nf_connect(d, sh->err, sizeof(sh->err)) < 0) {
                nf_close(d);
                return 1;
        }
        if (nf_num_queues(d) != 1 || !negotiated_as_asked(nf_negotiated(d), offload))
                return guest_fail(d, "negotiation", -EPROTO);
        if ((rc = ring_build(d, offload, &r)) < 0)
                return guest_fail(d, "building frames", rc);
        sh->guest_ready = 1;
        while (!sh->go)
                sleep_us(100);
        sh->t0 = now_ns();
        end = sh->t0 + RUN_NS;
        while (now_ns() < end) {
                rc = nf_xmit(d, 0, &r.f[n % r.n]);
                if (rc == 0)
                        n++;
                else if (rc != -EAGAIN)
                        return guest_fail(d, "sending", rc);
                else if ((rc = nfguest_wait(d, 1)) < 0)
                        return guest_fail(d, "waiting", rc);
        }
        for (uint64_t stop = now_ns() + 5000000000ull; !nf_tx_idle(d) && now_ns() < stop;)
                if ((rc = nfguest_wait(d, 1)) < 0)
                        return guest_fail(d, "draining", rc);
        sh->t1 = now_ns();
        if (!nf_tx_idle(d))
                return guest_fail(d, "draining", -ETIMEDOUT);
        sh->frames = n;
        sh->payload = n / r.n * r.payload;
        for (uint64_t i = 0; i < n % r.n; i++)
                sh->payload += r.f[i].len - HDRS;
        nf_stats_sum(d, &sh->st);
        sh->sent = 1;
        /* Connected until pvbackd's counters are read. */
        for (uint64_t stop = now_ns() + 20000000000ull; !sh->release && now_ns() < stop;)
                sleep_us(1000);
        nf_disconnect(d);
        nf_close(d);
        free(r.mem);
        free(r.f);
        return 0;
}

/* ---- the reader: a packet socket on the vif's netdev ------------------------ */

/* TCP payload of a generator frame (an untruncated length @len), or 0. */
static uint64_t frame_payload(const uint8_t *f, size_t snap, size_t len)
{
        if (snap < HDRS || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != IPPROTO_TCP)
                return 0;
        size_t ihl = (size_t)(f[14] & 0xf) * 4;
        if (ihl < 20 || snap < 14 + ihl + 20)
                return 0;
        const uint8_t *tcp = f + 14 + ihl;
        size_t doff = (size_t)(tcp[12] >> 4) * 4;
        if ((tcp[2] << 8 | tcp[3]) != NF_GEN_PORT || len < 14 + ihl + doff)
                return 0;
        return len - 14 - ihl - doff;
}

static int reader_main(void *arg)
{
        static uint8_t bufs[READ_BATCH][READ_SNAP];
        struct mmsghdr msgs[READ_BATCH];
        struct iovec iov[READ_BATCH];
        struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                                  .sll_protocol = htons(ETH_P_ALL),
                                  .sll_ifindex = (int)if_nametoindex(VIF)};
        int big = 64 << 20, fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

        (void)arg;
        if (fd < 0 || sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0) {
                snprintf(sh->err, sizeof(sh->err), "reader: packet socket on %s: %s", VIF,
                         strerror(errno));
                return 1;
        }
        memset(msgs, 0, sizeof(msgs));
        for (uint32_t i = 0; i < READ_BATCH; i++) {
                iov[i] = (struct iovec){bufs[i], READ_SNAP};
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
        }
        sh->reader_ready = 1;
        while (!sh->reader_stop) {
                /* MSG_TRUNC: each length is the frame's, not the copy's. */
                int n = recvmmsg(fd, msgs, READ_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
                if (n <= 0) {
                        /* A nap, not poll(): a reader asleep on the socket
                         * is woken by every frame, and the kernel does that
                         * in pvbackd's TAP write, on pvbackd's CPU. A bridge
                         * or NIC behind the vif wakes nobody; the buffer
                         * holds far more than a nap's worth. */
                        sleep_us(READ_NAP_US);
                        continue;
                }
                uint64_t t = now_ns();
                for (int i = 0; i < n; i++) {
                        size_t len = msgs[i].msg_len;
                        uint64_t pl =
                            frame_payload(bufs[i], len < READ_SNAP ? len : READ_SNAP, len);
                        if (!pl)
                                continue;
                        if (!sh->rx_frames)
                                sh->rx_first = t;
                        sh->rx_last = t;
                        sh->rx_frames++;
                        sh->rx_payload += pl;
                }
        }
        struct tpacket_stats ps;
        socklen_t sl = sizeof(ps);
        if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &ps, &sl) == 0)
                sh->rx_drops = ps.tp_drops;
        close(fd);
        return 0;
}

/* ---- one measurement ---------------------------------------------------------- */

/* CPU time a process (every thread of it) has run, from the scheduler's
 * own accounting (ns); 0 if it is gone. */
static uint64_t cpu_ns(pid_t pid)
{
        char path[64], line[128];
        uint64_t sum = 0;
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        DIR *dir = opendir(path);
        for (struct dirent *e; dir && (e = readdir(dir));) {
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
                FILE *f = fopen(path, "re");
                unsigned long long ns;
                if (f && fgets(line, sizeof(line), f) && sscanf(line, "%llu", &ns) == 1)
                        sum += ns;
                if (f)
                        fclose(f);
        }
        if (dir)
                closedir(dir);
        return sum;
}

/* /proc/stat's first line (ns): busy is what counts as neither idle,
 * iowait nor steal (softirqs in any context included); steal is the time a
 * hypervisor below this machine ran someone else. */
static void cpu_totals(uint64_t *busy, uint64_t *steal)
{
        unsigned long long v[8] = {0};
        uint64_t tick = 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
        FILE *f = fopen("/proc/stat", "re");
        int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                           &v[3], &v[4], &v[5], &v[6], &v[7])
                  : 0;
        if (f)
                fclose(f);
        if (n < 8)
                memset(v, 0, sizeof(v));
        /* user nice system idle iowait irq softirq steal */
        *busy = (v[0] + v[1] + v[2] + v[5] + v[6]) * tick;
        *steal = v[7] * tick;
}

enum who { W_PVBACKD, W_GUEST, W_READER, W_SIM, W_ALL, W_STEAL, W_COUNT };
static const char *const who_name[W_COUNT] = {"pvbackd",    "guest",    "reader",
                                              "pvback-sim", "all CPUs", "steal"};

static void cpu_sample(uint64_t out[W_COUNT])
{
        out[W_PVBACKD] = cpu_ns(world.pvbackd);
        out[W_GUEST] = cpu_ns(guest_pid);
        out[W_READER] = cpu_ns(reader_pid);
        out[W_SIM] = cpu_ns(world.host.pid);
        cpu_totals(&out[W_ALL], &out[W_STEAL]);
}

struct result {
        double mib_s;      /* payload at the reader */
        double sent_mib_s; /* payload the guest sent, over its send time */
        double calls_mib, notify_mib, events_mib, segs_mib;
        uint64_t reader_frames, reader_drops, payload_sent, payload_read;
        double cpu_ms_mib[W_COUNT]; /* CPU time per MiB of payload */
        double wall_s;
        double steal; /* share of all CPUs' time during the run */
        struct nb_queue_stats d;
        struct nf_stats fe;
};

static void wait_flag(volatile int *flag, pid_t child, const char *what)
{
        for (uint64_t end = now_ns() + 30000000000ull; !*flag; sleep_us(1000))
                if (now_ns() > end || waitpid(child, NULL, WNOHANG) != 0)
                        die("%s: %s", what, sh->err[0] ? sh->err : "no progress");
}

static struct nbstats stats_now(void)
{
        struct nbstats s;
        char why[512];
        if (nbstats_read(sock, VIF, &s, why, sizeof(why)) < 0)
                die("%s", why);
        return s;
}

/* The uplink's features, and until pvbackd has read them. */
static void uplink_set(const char *args, unsigned caps)
{
        char cmd[128], want[64];
        off_caps_str(caps, want, sizeof(want));
        snprintf(cmd, sizeof(cmd), "ethtool -K " VIF " %s >/dev/null 2>&1", args);
        if (system(cmd) != 0)
                die("%s failed", cmd);
        for (uint64_t end = now_ns() + 5000000000ull; now_ns() < end; sleep_us(10000))
                if (!strcmp(stats_now().tx_caps, want))
                        return;
        die("pvbackd did not see '%s' (uplink %s, want %s)", args, stats_now().tx_caps, want);
}

/* The path the figure is about, by pvbackd's counters; anything else means
 * the setup is wrong and the figure worthless. */
static void check_path(enum scen s, const struct result *r)
{
        const struct off_path_stats *o = &r->d.tx_off;
        bool ok;
        switch (s) {
        case S_OFFLOAD:
                ok = o->gso_pass > 0 && o->gso_sw == 0 && o->csum_sw == 0;
                break;
        case S_NONE:
                ok = o->gso_pass == 0 && o->gso_sw == 0 && o->csum_pass == 0 && o->csum_sw == 0;
                break;
        default:
                ok = o->gso_sw > 0 && o->gso_pass == 0 && o->gso_sw_segs >= o->gso_sw * GSO_SEGS;
                break;
        }
        ok = ok && o->dropped == 0 && r->d.tx_drop_offload == 0 && r->fe.tx_sw_gso == 0 &&
             r->fe.tx_sw_csum == 0 && r->fe.tx_rsp_error == 0;
        if (!ok)
                die("%s: unexpected path: tx_off gso_pass %" PRIu64 " gso_sw %" PRIu64
                    " segs %" PRIu64 " csum_pass %" PRIu64 " csum_sw %" PRIu64 " dropped %" PRIu64
                    ", drop_offload %" PRIu64 "; guest sw-gso %" PRIu64 " sw-csum %" PRIu64
                    " errors %" PRIu64,
                    scen_name[s], o->gso_pass, o->gso_sw, o->gso_sw_segs, o->csum_pass, o->csum_sw,
                    o->dropped, r->d.tx_drop_offload, r->fe.tx_sw_gso, r->fe.tx_sw_csum,
                    r->fe.tx_rsp_error);
}

static struct result measure(enum scen s)
{
        struct guest_args a = {s};
        struct result r = {0};

        memset(sh, 0, sizeof(*sh));
        reader_pid = simhost_spawn(&world.host, 0, reader_main, NULL);
        if (reader_pid < 0)
                die("starting the reader");
        wait_flag(&sh->reader_ready, reader_pid, "reader");
        guest_pid = simhost_spawn(&world.host, GUEST, guest_main, &a);
        if (guest_pid < 0)
                die("starting the guest");
        wait_flag(&sh->guest_ready, guest_pid, "guest connect");
        struct nbstats before = stats_now();
        uint64_t cpu0[W_COUNT], cpu1[W_COUNT], t0 = now_ns();
        cpu_sample(cpu0);
        sh->go = 1;
        wait_flag(&sh->sent, guest_pid, "guest send");
        /* The last frames left pvbackd before their responses: let the
         * reader take what the kernel queued for it. */
        for (uint64_t last = sh->rx_frames, end = now_ns() + 2000000000ull; now_ns() < end;) {
                sleep_us(20000);
                if (sh->rx_frames == last)
                        break;
                last = sh->rx_frames;
        }
        cpu_sample(cpu1);
        r.wall_s = (double)(now_ns() - t0) / 1e9;
        r.steal = (double)(cpu1[W_STEAL] - cpu0[W_STEAL]) / 1e9 /
                  (r.wall_s * (double)sysconf(_SC_NPROCESSORS_ONLN));
        struct nbstats after = stats_now();
        sh->release = 1;
        sh->reader_stop = 1;
        int grc = simhost_wait(guest_pid, 30000), rrc = simhost_wait(reader_pid, 10000);
        guest_pid = reader_pid = -1;
        if (grc != 0 || rrc != 0)
                die("%s: guest exited %d, reader %d: %s", scen_name[s], grc, rrc, sh->err);

        nbstats_delta(&before, &after, &r.d);
        r.fe = sh->st;
        r.payload_sent = sh->payload;
        r.payload_read = sh->rx_payload;
        r.reader_frames = sh->rx_frames;
        r.reader_drops = sh->rx_drops;
        double mib = (double)sh->payload / (1 << 20);
        if (sh->rx_last > sh->rx_first)
                r.mib_s = (double)sh->rx_payload / (1 << 20) /
                          ((double)(sh->rx_last - sh->rx_first) / 1e9);
        if (sh->t1 > sh->t0)
                r.sent_mib_s = mib / ((double)(sh->t1 - sh->t0) / 1e9);
        if (mib > 0) {
                r.calls_mib = (double)r.d.tx_gcopy_calls / mib;
                r.segs_mib = (double)r.d.tx_gcopy_segs / mib;
                r.notify_mib = (double)r.d.tx_notify / mib;
                r.events_mib = (double)r.d.tx_events / mib;
                for (int w = 0; w < W_COUNT; w++)
                        r.cpu_ms_mib[w] = (double)(cpu1[w] - cpu0[w]) / 1e6 / mib;
        }
        check_path(s, &r);
        return r;
}

_Static_assert(REPS % 2 == 1, "the median must be one of the runs");

/* The run of median rate among @n (odd): the figure's representative. */
static int median_run(const struct result *r, int n)
{
        int idx[REPS];
        for (int i = 0; i < n; i++)
                idx[i] = i;
        for (int i = 1; i < n; i++)
                for (int j = i; j > 0 && r[idx[j - 1]].mib_s > r[idx[j]].mib_s; j--) {
                        int t = idx[j];
                        idx[j] = idx[j - 1];
                        idx[j - 1] = t;
                }
        return idx[n / 2];
}

/* ---- the world -------------------------------------------------------------------- */

static void world_up(void)
{
        static const uint16_t doms[] = {GUEST, 0};
        static const char *const args[] = {"--workers", "2", "-o", "vif.max-queues=1", NULL};
        const struct nbw_opts o = {.local = true, .domids = doms};
        char why[512];
        atexit(cleanup);
        if (nbw_up(&world, &o, why, sizeof(why)) < 0)
                die("%s (needs root)", why);
        if (nbw_pvbackd_start(&world, NULL, args) < 0)
                die("starting pvbackd");
        nbstats_sock(&world.host, sock, sizeof(sock));
        const char *att[] = {"vif",      "attach",     "--domid", GUEST_S,
                             "--devid",  "0",          "--mac",   "00:16:3e:00:00:05",
                             "--script", world.script, NULL};
        if (simhost_cli(&world.host, NULL, 0, att) != 0)
                die("attaching " VIF);
}

int main(void)
{
        static struct result runs[S_COUNT][REPS];
        const struct result *med[S_COUNT], *best[S_COUNT];

        if (geteuid() != 0 || system("ethtool --version >/dev/null 2>&1") != 0) {
                printf("bench_tx_offload: skipped (needs root and ethtool)\n");
                return 0;
        }
        sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED)
                die("mmap: %s", strerror(errno));
        world_up();
        /* Interleaved, so that a slow spell of the machine hits every figure. */
        for (int rep = 0; rep < REPS; rep++) {
                for (int s = 0; s < S_COUNT; s++) {
                        if (s == S_SOFTWARE)
                                uplink_set("tx off tso off", OFF_CAP_SG);
                        runs[s][rep] = measure((enum scen)s);
                        if (s == S_SOFTWARE)
                                uplink_set("tx on tso on", OFF_CAP_ALL);
                }
        }
        for (int s = 0; s < S_COUNT; s++) {
                med[s] = &runs[s][median_run(runs[s], REPS)];
                best[s] = &runs[s][0];
                for (int rep = 1; rep < REPS; rep++)
                        if (runs[s][rep].mib_s > best[s]->mib_s)
                                best[s] = &runs[s][rep];
        }

        printf("guest TX offloads through pvbackd on the simulator: one TCP-like stream (MSS %u, "
               "%u per GSO frame), one queue, %ld CPUs, %d runs of %.2f s per figure, "
               "interleaved; the median run shown\n"
               "receiver: a packet socket on " VIF " in the host namespace (what the kernel took "
               "from pvbackd's TAP); rates are TCP payload bytes per second there\n",
               MSS, GSO_SEGS, sysconf(_SC_NPROCESSORS_ONLN), REPS, RUN_NS / 1e9);
        printf("%-9s %-64s %9s %9s %11s %6s %10s %11s %14s\n", "figure", "frames", "MiB/s", "best",
               "frames read", "drops", "gcopy/MiB", "notify/MiB", "guest-kick/MiB");
        for (int s = 0; s < S_COUNT; s++) {
                const struct result *r = med[s];
                printf("%-9s %-64s %9.1f %9.1f %11" PRIu64 " %6" PRIu64 " %10.2f %11.2f %14.2f\n",
                       scen_name[s], scen_what[s], r->mib_s, best[s]->mib_s, r->reader_frames,
                       r->reader_drops, r->calls_mib, r->notify_mib, r->events_mib);
        }
        for (int s = 0; s < S_COUNT; s++) {
                const struct result *r = med[s];
                const struct off_path_stats *o = &r->d.tx_off;
                printf("%-9s path: tx_off gso_pass %" PRIu64 " gso_sw %" PRIu64 " (%" PRIu64
                       " segments) csum_pass %" PRIu64 " csum_sw %" PRIu64
                       "; grant-copy segments/MiB %.1f; payload read %.1f%% of sent\n",
                       scen_name[s], o->gso_pass, o->gso_sw, o->gso_sw_segs, o->csum_pass,
                       o->csum_sw, r->segs_mib,
                       r->payload_sent ? 100.0 * (double)r->payload_read / (double)r->payload_sent
                                       : 0);
        }
        for (int s = 0; s < S_COUNT; s++) {
                const struct result *r = med[s];
                printf("%-9s CPU per MiB of payload:", scen_name[s]);
                for (int w = 0; w < W_COUNT; w++)
                        printf(" %s %.2f ms", who_name[w], r->cpu_ms_mib[w]);
                printf(" (over %.2f s of wall time)\n", r->wall_s);
        }
        for (int s = 0; s < S_COUNT; s++) {
                printf("%-9s every run, MiB/s (CPU time stolen by the host):", scen_name[s]);
                for (int rep = 0; rep < REPS; rep++)
                        printf(" %.1f (%.0f%%)", runs[s][rep].mib_s, 100 * runs[s][rep].steal);
                printf("\n");
        }
        double none = med[S_NONE]->mib_s, ratio = none > 0 ? med[S_OFFLOAD]->mib_s / none : 0;
        double bnone = best[S_NONE]->mib_s;
        printf("ratio offload/none (payload bytes/s, medians): %.2f (target >= %.1f, Menon et al. "
               "2006): %s; of the best runs: %.2f\n",
               ratio, RATIO_TARGET, ratio >= RATIO_TARGET ? "PASS" : "BELOW",
               bnone > 0 ? best[S_OFFLOAD]->mib_s / bnone : 0);
        printf("ratio software/none (payload bytes/s, medians): %.2f; of the best runs: %.2f\n",
               none > 0 ? med[S_SOFTWARE]->mib_s / none : 0,
               bnone > 0 ? best[S_SOFTWARE]->mib_s / bnone : 0);
        printf("pvbackd CPU per MiB, none/offload (medians): %.2f\n",
               med[S_OFFLOAD]->cpu_ms_mib[W_PVBACKD] > 0
                   ? med[S_NONE]->cpu_ms_mib[W_PVBACKD] / med[S_OFFLOAD]->cpu_ms_mib[W_PVBACKD]
                   : 0);
        return 0;
}
