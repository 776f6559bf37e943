/* pvback-netfront: the userspace netfront as a command, run inside a (real
 * or simulated) guest domain: tap, gen, sink, echo and hostile modes over
 * one vif. Option parsing, the event loop and reporting live here; the
 * protocol is in libpvfront (netfront.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "fe_dyncap.h"
#include "log.h"
#include "netfront.h"
#include "nf_gen.h"
#include "nf_hostile.h"
#include "nf_tap.h"
#include "offload/off_gso.h"
#include "xb.h"

static const char usage[] =
    "NAME\n"
    "    pvback-netfront - userspace Xen netfront: tap, traffic generator, sink, echo,\n"
    "    hostile frontend\n"
    "\n"
    "SYNOPSIS\n"
    "    pvback-netfront MODE [--devid N] [FEATURE OPTIONS] [MODE OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
    "    Attaches to device/vif/N of the domain it runs in, waits for the backend's\n"
    "    InitWait, negotiates as Linux xen-netfront does, shares its rings and buffers,\n"
    "    writes its keys in one transaction and goes Connected. Run it as a domain of\n"
    "    the simulator with eval \"$(pvback-sim env --domid D)\", or in a real guest.\n"
    "    At the end it prints its counters and what was negotiated, one line per\n"
    "    feature. SIGINT/SIGTERM close the device cleanly (Closing, Closed, unshare).\n"
    "\n"
    "MODES\n"
    "    tap      expose the vif as a TAP device (IFF_VNET_HDR: checksum and GSO state\n"
    "             cross as ring flags) so kernel traffic flows through the backend\n"
    "    gen      send generated frames whose payload every receiver can verify\n"
    "    sink     count and verify received generator frames\n"
    "    echo     send every received frame back (MAC addresses swapped)\n"
    "    hostile  send one malformed request class and report the backend's answer\n"
    "    connect  negotiate, print, and stay connected until a signal\n"
    "\n"
    "COMMON OPTIONS\n"
    "    --devid N              vif device id (default 0)\n"
    "    --hypervisor xen|sim   seam provider (default: $PVBACK_HYPERVISOR, else detect)\n"
    "    --timeout SEC          wait for the backend this long (default 30)\n"
    "    --duration SEC         stop after SEC seconds (default: mode's own end)\n"
    "    -v, --verbose          log each step, print each capabilities generation applied\n"
    "    -h, --help             this text\n"
    "\n"
    "FEATURE OPTIONS (everything the backend offers is used unless turned off)\n"
    "    --queues N             queues, 1..8 (default min(backend max, CPUs, 8))\n"
    "    --no-split-evtchn      one event channel per queue instead of tx + rx\n"
    "    --no-sg                no scatter-gather (frames must fit one page)\n"
    "    --no-gso               neither GSO type; --no-gso-tcpv4, --no-gso-tcpv6 one\n"
    "    --no-csum              no checksum offload: writes feature-no-csum-offload=1\n"
    "                           and fills every checksum before sending\n"
    "    --no-ipv6-csum         no IPv6 checksum offload\n"
    "    --no-ctrl-ring         do not connect the control ring\n"
    "    --no-mcast             no request-multicast-control\n"
    "    --no-rx-notify         no feature-rx-notify: the backend must poll for buffers\n"
    "    --rx-buffers N         RX buffers kept posted per queue, 20..256 (default: the\n"
    "                           whole ring; fewer stand for a guest short of memory)\n"
    "    --no-xdp               do not write xdp-headroom\n"
    "    --xdp-headroom N       headroom to ask for (default 0, Linux without XDP)\n"
    "    --hash-key HEX         Toeplitz key (up to 40 bytes) set over the control ring\n"
    "    --hash-flags LIST      ipv4,ipv4-tcp,ipv6,ipv6-tcp (default all four)\n"
    "    --hash-mapping LIST    queue per mapping entry, e.g. 0,1,1,0 (default none)\n"
    "    --mcast-join MAC       send a multicast add for MAC after connecting\n"
    "    --flow-report          at exit, one line per received hash value and queue:\n"
    "                           rx-flow: hash 0xH queue Q frames N (any mode; shows\n"
    "                           which ring queue the backend steered each flow to)\n"
    "    --no-dynamic-capabilities  ignore pvbackd's capability exchange, as a standard\n"
    "                           frontend does (default: follow it when offered: apply\n"
    "                           and acknowledge each generation; -v prints each)\n"
    "    --prefer latency|throughput|default  capabilities-preference to state\n"
    "    --no-coalescing-hints  follow the exchange but apply none of its coalescing\n"
    "                           hints (tx-kick-batch, rx-poll-us), e.g. to compare\n"
    "\n"
    "GEN OPTIONS\n"
    "    --count N              frames to send (default 1000; 0 with --bytes)\n"
    "    --bytes SIZE           payload bytes to send (K, M, G suffixes)\n"
    "    --size MIN[-MAX]       frame sizes incl. Ethernet header (default 60-1514)\n"
    "    --flows N              flows (source ports 20000+i; default 1)\n"
    "    --rate PPS             frames per second (default: as fast as the ring takes)\n"
    "    --tcp                  TCP frames instead of UDP\n"
    "    --gso MSS              TCP frames above MSS go as GSO (implies --tcp)\n"
    "    --ipv6                 IPv6 instead of IPv4\n"
    "    --dst-mac MAC          destination (default broadcast)\n"
    "    --seed N               payload pattern seed (default 1; sink must match)\n"
    "    --verify-rx            also verify frames coming back (e.g. from an echo)\n"
    "\n"
    "SINK / ECHO OPTIONS\n"
    "    --count N, --bytes SIZE  stop after this many frames / payload bytes\n"
    "    --seed N               pattern seed of the generator (sink)\n"
    "\n"
    "TAP OPTIONS\n"
    "    --netns NAME|PATH      network namespace standing for the guest\n"
    "    --ifname NAME          TAP name (default eth0)\n"
    "    --ip A.B.C.D/N         IPv4 address of the TAP\n"
    "    --mtu N                MTU (default: frontend mtu key, else 1500)\n"
    "\n"
    "HOSTILE OPTIONS\n"
    "    --class C              one of:\n"
    "%s"
    "    --slots N              slot count for many-slots\n"
    "    --wait MS              how long to wait for the answer (default 2000)\n"
    "    --expect okay|error|fatal  exit 1 unless the backend did this\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 1 failure (the reason is printed); 2 bad usage.\n";

enum mode { M_TAP, M_GEN, M_SINK, M_ECHO, M_HOSTILE, M_CONNECT };

struct app {
        enum mode mode;
        struct nf_config cfg;
        const char *hv;
        double duration;
        bool verbose;
        /* gen */
        uint64_t count, bytes;
        bool count_set;
        struct nf_gen_cfg gen;
        double rate;
        bool verify_rx;
        /* --flow-report: frames per (hash value, ring queue) */
        bool flow_report;
        uint32_t nflows;
        struct {
                uint32_t hash, queue;
                uint64_t frames;
        } flows[256];
        /* tap */
        struct nf_tap_cfg tap;
        /* hostile */
        int hclass;
        uint32_t hslots;
        int hwait;
        int hexpect;
        bool mcast_join;
        uint8_t mcast_mac[6];
        /* runtime */
        struct nf_dev *dev;
        struct nf_tap tapdev;
        struct nf_verify verify;
        uint64_t echoed, echo_dropped, tap_dropped;
        int sigfd;
        bool stop;
        bool backend_gone;
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_size(const char *s, uint64_t *out)
{
        char *end;
        errno = 0;
        uint64_t v = strtoull(s, &end, 10);
        int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
        if (errno || end == s || (shift && end[1]) || (!shift && *end))
                return -EINVAL;
        *out = v << shift;
        return 0;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
        uint64_t v;
        int rc = xb_parse_uint(s, max, &v);
        if (rc == 0)
                *out = (uint32_t)v;
        return rc;
}

static int parse_hex(const char *s, uint8_t *out, uint32_t max, uint32_t *n)
{
        size_t len = strlen(s);
        if (len % 2 || len / 2 > max)
                return -EINVAL;
        for (size_t i = 0; i < len / 2; i++) {
                unsigned b;
                if (sscanf(s + 2 * i, "%2x", &b) != 1)
                        return -EINVAL;
                out[i] = (uint8_t)b;
        }
        *n = (uint32_t)(len / 2);
        return 0;
}

static int parse_hash_flags(const char *s, uint32_t *flags)
{
        static const char *const names[] = {"ipv4", "ipv4-tcp", "ipv6", "ipv6-tcp"};
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", s);
        *flags = 0;
        for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int i = 0;
                while (i < 4 && strcmp(t, names[i]))
                        i++;
                if (i == 4)
                        return -EINVAL;
                *flags |= 1u << i; /* _XEN_NETIF_CTRL_HASH_TYPE_* bit numbers */
        }
        return 0;
}

static int parse_mapping(const char *s, struct nf_hash_cfg *h)
{
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", s);
        h->mapping_size = 0;
        for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (h->mapping_size == NF_HASH_MAPPING_MAX ||
                    parse_u32(t, NF_MAX_QUEUES - 1, &h->mapping[h->mapping_size]) < 0)
                        return -EINVAL;
                h->mapping_size++;
        }
        return h->mapping_size ? 0 : -EINVAL;
}

static int parse_sizes(const char *s, struct nf_gen_cfg *g)
{
        unsigned a, b;
        char tail;
        int n = sscanf(s, "%u-%u%c", &a, &b, &tail);
        if (n == 1)
                b = a;
        else if (n != 2)
                return -EINVAL;
        g->min_size = a;
        g->max_size = b;
        return 0;
}

enum opt_id {
        O_DEVID = 256,
        O_HV,
        O_TIMEOUT,
        O_DURATION,
        O_QUEUES,
        O_NO_SPLIT,
        O_NO_SG,
        O_NO_GSO,
        O_NO_GSO4,
        O_NO_GSO6,
        O_NO_CSUM,
        O_NO_CSUM6,
        O_NO_CTRL,
        O_NO_MCAST,
        O_NO_RXN,
        O_RXBUFS,
        O_NO_XDP,
        O_XDP_HR,
        O_HKEY,
        O_HFLAGS,
        O_HMAP,
        O_MJOIN,
        O_COUNT,
        O_BYTES,
        O_SIZE,
        O_FLOWS,
        O_RATE,
        O_TCP,
        O_GSO,
        O_IPV6,
        O_DMAC,
        O_SEED,
        O_VRX,
        O_NETNS,
        O_IFNAME,
        O_IP,
        O_MTU,
        O_CLASS,
        O_SLOTS,
        O_WAIT,
        O_EXPECT,
        O_FLOWREP,
        O_NO_DYNCAP,
        O_PREFER,
        O_NO_HINTS,
};

static const struct option opts[] = {
    {"devid", required_argument, NULL, O_DEVID},
    {"hypervisor", required_argument, NULL, O_HV},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"duration", required_argument, NULL, O_DURATION},
    {"queues", required_argument, NULL, O_QUEUES},
    {"no-split-evtchn", no_argument, NULL, O_NO_SPLIT},
    {"no-sg", no_argument, NULL, O_NO_SG},
    {"no-gso", no_argument, NULL, O_NO_GSO},
    {"no-gso-tcpv4", no_argument, NULL, O_NO_GSO4},
    {"no-gso-tcpv6", no_argument, NULL, O_NO_GSO6},
    {"no-csum", no_argument, NULL, O_NO_CSUM},
    {"no-ipv6-csum", no_argument, NULL, O_NO_CSUM6},
    {"no-ctrl-ring", no_argument, NULL, O_NO_CTRL},
    {"no-mcast", no_argument, NULL, O_NO_MCAST},
    {"no-rx-notify", no_argument, NULL, O_NO_RXN},
    {"rx-buffers", required_argument, NULL, O_RXBUFS},
    {"no-xdp", no_argument, NULL, O_NO_XDP},
    {"xdp-headroom", required_argument, NULL, O_XDP_HR},
    {"hash-key", required_argument, NULL, O_HKEY},
    {"hash-flags", required_argument, NULL, O_HFLAGS},
    {"hash-mapping", required_argument, NULL, O_HMAP},
    {"mcast-join", required_argument, NULL, O_MJOIN},
    {"count", required_argument, NULL, O_COUNT},
    {"bytes", required_argument, NULL, O_BYTES},
    {"size", required_argument, NULL, O_SIZE},
    {"flows", required_argument, NULL, O_FLOWS},
    {"rate", required_argument, NULL, O_RATE},
    {"tcp", no_argument, NULL, O_TCP},
    {"gso", required_argument, NULL, O_GSO},
    {"ipv6", no_argument, NULL, O_IPV6},
    {"dst-mac", required_argument, NULL, O_DMAC},
    {"seed", required_argument, NULL, O_SEED},
    {"verify-rx", no_argument, NULL, O_VRX},
    {"netns", required_argument, NULL, O_NETNS},
    {"ifname", required_argument, NULL, O_IFNAME},
    {"ip", required_argument, NULL, O_IP},
    {"mtu", required_argument, NULL, O_MTU},
    {"class", required_argument, NULL, O_CLASS},
    {"slots", required_argument, NULL, O_SLOTS},
    {"wait", required_argument, NULL, O_WAIT},
    {"expect", required_argument, NULL, O_EXPECT},
    {"flow-report", no_argument, NULL, O_FLOWREP},
    {"no-dynamic-capabilities", no_argument, NULL, O_NO_DYNCAP},
    {"no-coalescing-hints", no_argument, NULL, O_NO_HINTS},
    {"prefer", required_argument, NULL, O_PREFER},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *opt_name(int c)
{
        for (const struct option *o = opts; o->name; o++)
                if (o->val == c)
                        return o->name;
        return "?";
}

static void print_usage(FILE *out)
{
        char list[2048];
        FILE *m = fmemopen(list, sizeof(list), "w");
        nf_hostile_list(m);
        fclose(m);
        fprintf(out, usage, list);
}

static int parse_mode(const char *s, enum mode *m)
{
        static const char *const names[] = {"tap", "gen", "sink", "echo", "hostile", "connect"};
        for (int i = 0; i < 6; i++)
                if (strcmp(s, names[i]) == 0) {
                        *m = (enum mode)i;
                        return 0;
                }
        return -EINVAL;
}

static void app_defaults(struct app *a)
{
        static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        nf_config_default(&a->cfg);
        a->count = 1000;
        a->gen.min_size = 60;
        a->gen.max_size = 1514;
        a->gen.flows = 1;
        a->gen.seed = 1;
        memcpy(a->gen.dst_mac, bcast, 6);
        a->hclass = -1;
        a->hwait = 2000;
        a->hexpect = -1;
        a->cfg.hash.flags = 0xF;
        a->sigfd = -1;
}

/* One option; 0, or -EINVAL for a bad value. */
static int apply_opt(struct app *a, int c, const char *v)
{
        uint32_t u = 0;
        double f;
        switch (c) {
        case O_DEVID:
                return parse_u32(v, UINT32_MAX, &a->cfg.devid);
        case O_HV:
                a->hv = v;
                return 0;
        case O_TIMEOUT:
                f = atof(v);
                a->cfg.timeout_ms = (int)(f * 1000);
                return f > 0 ? 0 : -EINVAL;
        case O_DURATION:
                a->duration = atof(v);
                return a->duration > 0 ? 0 : -EINVAL;
        case O_QUEUES:
                if (parse_u32(v, NF_MAX_QUEUES, &a->cfg.queues) < 0 || a->cfg.queues == 0)
                        return -EINVAL;
                return 0;
        case O_NO_SPLIT:
                a->cfg.split_evtchn = false;
                return 0;
        case O_NO_SG:
                a->cfg.sg = false;
                return 0;
        case O_NO_GSO:
                a->cfg.gso_tcpv4 = a->cfg.gso_tcpv6 = false;
                return 0;
        case O_NO_GSO4:
                a->cfg.gso_tcpv4 = false;
                return 0;
        case O_NO_GSO6:
                a->cfg.gso_tcpv6 = false;
                return 0;
        case O_NO_CSUM:
                a->cfg.csum = false;
                return 0;
        case O_NO_CSUM6:
                a->cfg.ipv6_csum = false;
                return 0;
        case O_NO_CTRL:
                a->cfg.ctrl_ring = false;
                return 0;
        case O_NO_MCAST:
                a->cfg.mcast_ctrl = false;
                return 0;
        case O_NO_RXN:
                a->cfg.rx_notify = false;
                return 0;
        case O_RXBUFS:
                if (parse_u32(v, NF_RX_RING_SIZE, &a->cfg.rx_buffers) < 0 ||
                    a->cfg.rx_buffers < NF_RX_BUFFERS_MIN)
                        return -EINVAL;
                return 0;
        case O_NO_XDP:
                a->cfg.xdp = false;
                return 0;
        case O_XDP_HR:
                if (parse_u32(v, NF_MAX_XDP_HEADROOM, &u) < 0)
                        return -EINVAL;
                a->cfg.xdp_headroom = (uint16_t)u;
                return 0;
        case O_HKEY:
                a->cfg.hash_set = true;
                return parse_hex(v, a->cfg.hash.key, NF_HASH_KEY_MAX, &a->cfg.hash.key_len);
        case O_HFLAGS:
                a->cfg.hash_set = true;
                return parse_hash_flags(v, &a->cfg.hash.flags);
        case O_HMAP:
                a->cfg.hash_set = true;
                return parse_mapping(v, &a->cfg.hash);
        case O_MJOIN:
                a->mcast_join = true;
                return xb_parse_mac(v, a->mcast_mac);
        case O_COUNT:
                a->count_set = true;
                return parse_size(v, &a->count);
        case O_BYTES:
                return parse_size(v, &a->bytes);
        case O_SIZE:
                return parse_sizes(v, &a->gen);
        case O_FLOWS:
                return parse_u32(v, 65535, &a->gen.flows);
        case O_RATE:
                a->rate = atof(v);
                return a->rate > 0 ? 0 : -EINVAL;
        case O_TCP:
                a->gen.tcp = true;
                return 0;
        case O_GSO:
                a->gen.tcp = true;
                if (parse_u32(v, 65535, &u) < 0 || u < OFF_GSO_MSS_MIN)
                        return -EINVAL;
                a->gen.gso_size = (uint16_t)u;
                return 0;
        case O_IPV6:
                a->gen.ipv6 = true;
                return 0;
        case O_DMAC:
                return xb_parse_mac(v, a->gen.dst_mac);
        case O_SEED:
                return parse_u32(v, UINT32_MAX, &a->gen.seed);
        case O_VRX:
                a->verify_rx = true;
                return 0;
        case O_NETNS:
                a->tap.netns = v;
                return 0;
        case O_IFNAME:
                a->tap.ifname = v;
                return strlen(v) < 16 ? 0 : -EINVAL;
        case O_IP:
                a->tap.ipv4 = v;
                return 0;
        case O_MTU:
                return parse_u32(v, NF_MAX_TX_SIZE, &a->tap.mtu);
        case O_CLASS:
                a->hclass = nf_hostile_parse(v, &a->hslots);
                return a->hclass < 0 ? -EINVAL : 0;
        case O_SLOTS:
                return parse_u32(v, NF_TX_MAX_SLOTS, &a->hslots);
        case O_WAIT:
                return parse_u32(v, 600000, (uint32_t *)&a->hwait);
        case O_EXPECT:
                for (int i = NF_H_OUT_OKAY; i <= NF_H_OUT_FATAL; i++)
                        if (strcmp(v, nf_hostile_outcome_name((enum nf_hostile_outcome)i)) == 0)
                                a->hexpect = i;
                return a->hexpect < 0 ? -EINVAL : 0;
        case O_FLOWREP:
                a->flow_report = true;
                return 0;
        case O_NO_DYNCAP:
                a->cfg.dyncap = false;
                return 0;
        case O_NO_HINTS:
                a->cfg.no_hints = true;
                return 0;
        case O_PREFER:
                a->cfg.prefer = v;
                return fe_dyncap_pref_ok(v) ? 0 : -EINVAL;
        case 'v':
                a->verbose = true;
                return 0;
        default:
                return -EINVAL;
        }
}

/* 0, 2 for bad usage (message printed), -1 after --help. */
static int parse_args(struct app *a, int argc, char **argv)
{
        int c;
        if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                print_usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : -1;
        }
        if (parse_mode(argv[1], &a->mode) < 0) {
                fprintf(stderr, "pvback-netfront: unknown mode '%s' (see --help)\n", argv[1]);
                return 2;
        }
        optind = 2;
        while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
                if (c == 'h') {
                        print_usage(stdout);
                        return -1;
                }
                if (c == '?' || apply_opt(a, c, optarg) < 0) {
                        if (c != '?')
                                fprintf(stderr, "pvback-netfront: bad value '%s' for --%s\n",
                                        optarg ? optarg : "", opt_name(c));
                        return 2;
                }
        }
        if (optind != argc) {
                fprintf(stderr, "pvback-netfront: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (a->mode == M_HOSTILE && a->hclass < 0) {
                fprintf(stderr, "pvback-netfront: hostile needs --class (see --help)\n");
                return 2;
        }
        if (a->mode == M_GEN && a->bytes && !a->count_set)
                a->count = 0;
        return 0;
}

/* ---- receive side ---------------------------------------------------- */

static void flow_count(struct app *a, const struct nf_rx_frame *f)
{
        uint32_t i = 0;
        while (i < a->nflows &&
               (a->flows[i].hash != f->hash_value || a->flows[i].queue != f->queue))
                i++;
        if (i == a->nflows) {
                if (a->nflows == sizeof(a->flows) / sizeof(a->flows[0]))
                        return;
                a->flows[a->nflows++] = (typeof(a->flows[0])){f->hash_value, f->queue, 0};
        }
        a->flows[i].frames++;
}

static void on_rx(void *arg, const struct nf_rx_frame *f)
{
        struct app *a = arg;
        static uint8_t buf[NF_RX_MAX_FRAME];
        if (a->flow_report && f->has_hash)
                flow_count(a, f);
        switch (a->mode) {
        case M_TAP:
                if (nf_tap_write(&a->tapdev, f) < 0)
                        a->tap_dropped++;
                break;
        case M_ECHO: {
                memcpy(buf, f->data, f->len);
                memcpy(buf, f->data + 6, 6);
                memcpy(buf + 6, f->data, 6);
                struct nf_frame out = {.data = buf,
                                       .len = f->len,
                                       .csum_blank = f->csum_blank,
                                       .data_validated = f->data_validated,
                                       .gso_type = f->gso_type,
                                       .gso_size = f->gso_size};
                if (nf_xmit(a->dev, f->queue < nf_num_queues(a->dev) ? f->queue : 0, &out) == 0)
                        a->echoed++;
                else
                        a->echo_dropped++;
                break;
        }
        default:
                nf_verify_frame(&a->verify, f->data, f->len, f->csum_blank, f->data_validated);
                break;
        }
}

/* ---- the event loop ---------------------------------------------------- */

/* One wait over signals, xenstore, the event channel and (tap) the TAP fd. */
static int wait_once(struct app *a, int timeout_ms, bool want_tap)
{
        struct pollfd p[4] = {{.fd = a->sigfd, .events = POLLIN},
                              {.fd = nf_xs_fd(a->dev), .events = POLLIN},
                              {.fd = nf_evtchn_fd(a->dev), .events = POLLIN},
                              {.fd = want_tap ? a->tapdev.fd : -1, .events = POLLIN}};
        /* Nothing batched waits while we sleep; with the backend's
         * rx-poll-us, responses about to land are caught without a
         * sleep and a wake-up. */
        nf_tx_flush(a->dev);
        if (timeout_ms > 0 && nf_rx_spin(a->dev))
                timeout_ms = 0;
        int n = poll(p, 4, timeout_ms);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        if (p[0].revents) {
                struct signalfd_siginfo si;
                if (read(a->sigfd, &si, sizeof(si)) > 0)
                        a->stop = true;
        }
        if (p[1].revents && nf_handle_xenstore(a->dev) == -ECONNRESET) {
                a->backend_gone = true;
                a->stop = true;
        }
        int rc = nf_handle_events(a->dev);
        return rc < 0 ? rc : (p[3].revents != 0);
}

static bool time_up(const struct app *a, double t0)
{
        return a->duration > 0 && now_s() - t0 >= a->duration;
}

static bool sink_done(const struct app *a)
{
        if (a->mode == M_ECHO)
                return a->count_set && a->echoed >= a->count;
        return (a->count_set && a->verify.frames >= a->count) ||
               (a->bytes && a->verify.payload_bytes >= a->bytes);
}

static int run_receive(struct app *a)
{
        double t0 = now_s();
        while (!a->stop && !sink_done(a) && !time_up(a, t0)) {
                int rc = wait_once(a, 200, false);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* Whether another frame waits in the TAP (asked only while batching). */
/* Frames go to the backend one behind the TAP: the frame read ahead tells
 * tx-kick-batch whether more follow, without a poll() per frame. */
static void tap_read_one(struct app *a, struct nf_frame *f, bool *have)
{
        int rc = nf_tap_read(&a->tapdev, f);
        if (rc == 0)
                *have = true;
        else if (rc != -EAGAIN)
                a->tap_dropped++;
}

static int run_tap(struct app *a)
{
        double t0 = now_s();
        struct nf_frame cur, next;
        bool have = false, have_next = false;
        while (!a->stop && !time_up(a, t0)) {
                if (!have && have_next) {
                        cur = next;
                        have = true;
                        have_next = false;
                }
                if (!have)
                        tap_read_one(a, &cur, &have);
                if (have) {
                        if (!have_next && nf_tx_batching(a->dev))
                                tap_read_one(a, &next, &have_next);
                        int rc = nf_xmit_more(a->dev, NF_QUEUE_ANY, &cur, have_next);
                        if (rc != -EAGAIN)
                                have = false;
                        if (rc < 0 && rc != -EAGAIN)
                                a->tap_dropped++;
                        if (rc == -EIO)
                                return rc;
                        if (rc == 0)
                                continue;
                }
                int rc = wait_once(a, 200, !have && !have_next);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

static bool gen_more(const struct app *a, const struct nf_gen *g)
{
        if (a->count && g->frames >= a->count)
                return false;
        if (a->bytes && g->payload_bytes >= a->bytes)
                return false;
        return a->count || a->bytes;
}

static int gen_drain(struct app *a, const struct nf_gen *g)
{
        /* Wait for every frame to be answered, and echoes if asked for. */
        double end = now_s() + a->cfg.timeout_ms / 1000.0, last = 0;
        uint64_t seen = 0;
        while (!a->stop && now_s() < end) {
                bool rx_done = !a->verify_rx || a->verify.frames >= g->frames ||
                               (last && now_s() - last > 2.0);
                if (nf_tx_idle(a->dev) && rx_done)
                        return 0;
                if (a->verify.frames != seen) {
                        seen = a->verify.frames;
                        last = now_s();
                }
                int rc = wait_once(a, 50, false);
                if (rc < 0)
                        return rc;
        }
        return a->stop ? 0 : -ETIMEDOUT;
}

static int run_gen(struct app *a, struct nf_gen *g)
{
        static uint8_t buf[NF_MAX_TX_SIZE + 64];
        double t0 = now_s();
        struct nf_frame f;
        bool have = false;
        while (!a->stop && !time_up(a, t0) && (have || gen_more(a, g))) {
                if (a->rate > 0) {
                        double due = t0 + (double)g->frames / a->rate;
                        if (now_s() < due) {
                                int rc = wait_once(a, (int)((due - now_s()) * 1000) + 1, false);
                                if (rc < 0)
                                        return rc;
                                continue;
                        }
                }
                int rc = have ? 0 : nf_gen_next(g, buf, sizeof(buf), &f);
                if (rc < 0)
                        return rc;
                have = true;
                /* Unpaced, the next frame follows at once: batchable. */
                rc = nf_xmit_more(a->dev, NF_QUEUE_ANY, &f, a->rate <= 0 && gen_more(a, g));
                if (rc == 0) {
                        have = false;
                } else if (rc == -EAGAIN) {
                        if ((rc = wait_once(a, 100, false)) < 0)
                                return rc;
                } else {
                        return rc;
                }
        }
        return gen_drain(a, g);
}

static void print_stats(const struct app *a)
{
        struct nf_stats s;
        nf_stats_sum(a->dev, &s);
        printf("tx: %" PRIu64 " frames, %" PRIu64 " bytes, %" PRIu64
               " slots; responses okay %" PRIu64 ", error %" PRIu64 ", dropped %" PRIu64
               "; busy %" PRIu64 ", sw-gso %" PRIu64 ", sw-csum %" PRIu64 "\n",
               s.tx_packets, s.tx_bytes, s.tx_slots, s.tx_rsp_okay, s.tx_rsp_error,
               s.tx_rsp_dropped, s.tx_busy, s.tx_sw_gso, s.tx_sw_csum);
        printf("rx: %" PRIu64 " frames, %" PRIu64 " bytes, %" PRIu64 " slots, %" PRIu64
               " errors, %" PRIu64 " gso, %" PRIu64 " csum-blank\n",
               s.rx_packets, s.rx_bytes, s.rx_slots, s.rx_errors, s.rx_gso, s.rx_csum_blank);
        printf("notifications: sent tx %" PRIu64 ", rx %" PRIu64 "; received %" PRIu64 "\n",
               s.notify_tx, s.notify_rx, s.events);
}

static void print_verify(const char *who, const struct nf_verify *v)
{
        printf("%s: %" PRIu64 " frames verified, %" PRIu64 " payload bytes, digest %016" PRIx64
               ", bad bytes %" PRIu64 ", bad checksums %" PRIu64 ", other frames %" PRIu64 "\n",
               who, v->frames, v->payload_bytes, v->digest, v->bad_bytes, v->bad_csum, v->foreign);
}

static int run_mode(struct app *a)
{
        char err[256];
        int rc = 0;
        switch (a->mode) {
        case M_TAP: {
                a->tap.mac = nf_mac(a->dev);
                if (!a->tap.mtu)
                        a->tap.mtu = nf_mtu(a->dev);
                if ((rc = nf_tap_open(&a->tapdev, &a->tap, nf_negotiated(a->dev), err,
                                      sizeof(err))) < 0) {
                        fprintf(stderr, "pvback-netfront: %s\n", err);
                        return rc;
                }
                printf("tap: %s up%s%s\n", a->tapdev.ifname, a->tap.netns ? " in netns " : "",
                       a->tap.netns ? a->tap.netns : "");
                fflush(stdout);
                rc = run_tap(a);
                nf_tap_close(&a->tapdev);
                return rc;
        }
        case M_GEN: {
                struct nf_gen g;
                memcpy(a->gen.src_mac, nf_mac(a->dev), 6);
                a->gen.csum_partial = nf_negotiated(a->dev)->tx_csum;
                a->gen.saddr[0] = 10, a->gen.saddr[3] = 1;
                a->gen.daddr[0] = 10, a->gen.daddr[3] = 2;
                if (a->gen.ipv6) {
                        a->gen.saddr[0] = a->gen.daddr[0] = 0xfd;
                        a->gen.saddr[15] = 1, a->gen.daddr[15] = 2;
                }
                if ((rc = nf_gen_init(&g, &a->gen)) < 0) {
                        fprintf(stderr, "pvback-netfront: bad generator settings (sizes %u-%u)\n",
                                a->gen.min_size, a->gen.max_size);
                        return rc;
                }
                double t0 = now_s();
                rc = run_gen(a, &g);
                double dt = now_s() - t0;
                printf("gen: %" PRIu64 " frames sent, %" PRIu64 " payload bytes in %.2f s "
                       "(%.0f frames/s), digest %016" PRIx64 "\n",
                       g.frames, g.payload_bytes, dt, dt > 0 ? g.frames / dt : 0.0, g.digest);
                if (a->verify_rx)
                        print_verify("gen rx", &a->verify);
                nf_gen_free(&g);
                return rc;
        }
        case M_SINK:
        case M_ECHO:
        case M_CONNECT:
                rc = run_receive(a);
                if (a->mode == M_SINK)
                        print_verify("sink", &a->verify);
                if (a->mode == M_ECHO)
                        printf("echo: %" PRIu64 " frames reflected, %" PRIu64 " dropped\n",
                               a->echoed, a->echo_dropped);
                return rc;
        case M_HOSTILE: {
                struct nf_hostile_report r;
                rc = nf_hostile_run(a->dev, (enum nf_hostile_class)a->hclass, a->hslots, a->hwait,
                                    &r);
                if (rc < 0)
                        return rc;
                nf_hostile_print(stdout, (enum nf_hostile_class)a->hclass, &r);
                if (a->hexpect >= 0 && (int)r.outcome != a->hexpect) {
                        fprintf(stderr, "pvback-netfront: expected outcome %s, got %s\n",
                                nf_hostile_outcome_name((enum nf_hostile_outcome)a->hexpect),
                                nf_hostile_outcome_name(r.outcome));
                        return -EPROTO;
                }
                return 0;
        }
        }
        return 0;
}

static int setup_signals(struct app *a)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        a->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        return a->sigfd < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
        static struct app a;
        char err[256];
        app_defaults(&a);
        int rc = parse_args(&a, argc, argv);
        if (rc)
                return rc < 0 ? 0 : rc;
        pv_log_init("pvback-netfront", false, a.verbose ? PV_LOG_DEBUG : PV_LOG_WARN);
        if (setup_signals(&a) < 0) {
                perror("pvback-netfront: signalfd");
                return 1;
        }
        if ((rc = nf_open(&a.cfg, a.hv, &a.dev, err, sizeof(err))) < 0) {
                fprintf(stderr, "pvback-netfront: %s\n", err);
                return 1;
        }
        nf_set_rx_cb(a.dev, on_rx, &a);
        /* Each generation's changes only on request; the summary always. */
        nf_dyncap_report(a.dev, a.verbose ? stdout : NULL);
        a.verify.seed = a.gen.seed;
        if ((rc = nf_connect(a.dev, err, sizeof(err))) < 0) {
                fprintf(stderr, "pvback-netfront: %s\n", err);
                nf_close(a.dev);
                return 1;
        }
        printf("connected: %s -> %s\n", nf_fe_dir(a.dev), nf_be_dir(a.dev));
        fflush(stdout);
        if (a.mcast_join && (rc = nf_mcast(a.dev, true, a.mcast_mac)) < 0)
                fprintf(stderr, "pvback-netfront: multicast join: %s\n", strerror(-rc));
        rc = run_mode(&a);
        print_stats(&a);
        for (uint32_t i = 0; a.flow_report && i < a.nflows; i++)
                printf("rx-flow: hash 0x%08" PRIx32 " queue %" PRIu32 " frames %" PRIu64 "\n",
                       a.flows[i].hash, a.flows[i].queue, a.flows[i].frames);
        printf("negotiated:\n");
        nf_print_negotiated(a.dev, stdout);
        const char *broken = nf_broken_reason(a.dev);
        if (broken)
                fprintf(stderr, "pvback-netfront: backend broke the protocol: %s\n", broken);
        else if (a.backend_gone)
                fprintf(stderr, "pvback-netfront: the backend closed the connection\n");
        else if (rc < 0 && rc != -EPROTO)
                fprintf(stderr, "pvback-netfront: %s failed: %s\n", argv[1], strerror(-rc));
        bool bad = a.mode == M_SINK && (a.verify.bad_bytes || a.verify.bad_csum);
        if (bad)
                fprintf(stderr, "pvback-netfront: received data does not match the pattern\n");
        nf_close(a.dev);
        return rc < 0 || broken || bad || (a.backend_gone && a.mode != M_TAP) ? 1 : 0;
}
