/* netback end to end on the simulator, as root, in a private network
 * namespace: pvbackd's device manager with the vif class serves dom0; vifs
 * are attached by the toolstack stand-in with a hotplug script that brings
 * the TAP up; a frontend written against the seam acts as the guest (rings,
 * grants, event channels) and the kernel is the far end (ping, UDP streams
 * whose payload digests are compared). Also: a hostile guest losing only its
 * vif, detach/reattach, and frontend-domain destroy. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "devmgr.h"
#include "log.h"
#include "netback/nb.h"
#include "netback/nb_limits.h"
#include "offload/off_build.h"
#include "offload/off_csum.h"
#include "simhost.h"
#include "xb.h"

#define NR_BUFS     256u
#define UDP_TX_PORT 5001
#define UDP_RX_PORT 6001
#define DGRAM_LEN   1200u

static struct simhost host;
static pid_t daemon_pid = -1;

/* ---- helpers -------------------------------------------------------------- */

static int run(const char *cmd)
{
        int rc = system(cmd);
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 0x100000001b3ull;
        return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

/* Polls a backend key of dom0's view until it equals want. */
static bool wait_be_key(uint16_t fedom, uint32_t devid, const char *key, const char *want, int ms)
{
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        char dir[128];
        bool ok = false;
        snprintf(dir, sizeof(dir), "/local/domain/0/backend/vif/%u/%u", fedom, devid);
        for (uint64_t end = now_ms() + (uint64_t)ms; xs && now_ms() < end && !ok; usleep(20000)) {
                char *v = NULL;
                if (xb_read_str(xs, XBT_NULL, dir, key, &v) == 0)
                        ok = !strcmp(v, want);
                free(v);
        }
        if (xs)
                xs_close(xs);
        return ok;
}

static char *read_error_node(uint16_t fedom, uint32_t devid)
{
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        char dir[128], *v = NULL;
        snprintf(dir, sizeof(dir), "/local/domain/0/error/backend/vif/%u/%u", fedom, devid);
        if (xs) {
                if (xb_read_str(xs, XBT_NULL, dir, "error", &v) < 0)
                        v = NULL;
                xs_close(xs);
        }
        return v;
}

/* ---- the daemon: pvbackd's device manager with the vif class -------------- */

static int daemon_main(void *arg)
{
        const struct xh_provider *hv;
        struct devmgr_config cfg = {0};
        struct devmgr *mgr;
        char err[256];
        sigset_t set;
        int stop, rc;
        (void)arg;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pv_log_init("pvbackd", false, PV_LOG_INFO);
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        stop = signalfd(-1, &set, SFD_CLOEXEC);
        if (xh_provider_select("sim", &hv, err, sizeof(err)) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        cfg.hv = hv;
        cfg.nr_workers = 2;
        rc = devmgr_create(&cfg, &mgr);
        rc = rc ?: devmgr_register_class(mgr, &nb_class);
        rc = rc ?: devmgr_configure(mgr, "vif.max-queues=4");
        if (rc < 0)
                return 1;
        rc = devmgr_run(mgr, stop);
        devmgr_destroy(mgr);
        return rc < 0 ? 1 : 0;
}

static void write_hotplug_script(char *path, size_t len)
{
        ck_assert_int_lt(snprintf(path, len, "%s/vif-test-hotplug", host.dir), (int)len);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        /* What vif-bridge does that matters here: the netdev exists, goes
         * up, and the script says so in hotplug-status. */
        fprintf(f, "#!/bin/sh\n"
                   "[ \"$1\" = online ] || exit 0\n"
                   "ip link show dev \"$vif\" >/dev/null 2>&1 || { xenstore-write "
                   "\"$XENBUS_PATH/hotplug-status\" error; exit 1; }\n"
                   "ip link set dev \"$vif\" up\n"
                   "xenstore-write \"$XENBUS_PATH/hotplug-status\" connected\n");
        fclose(f);
        chmod(path, 0755);
}

static void world_up(void)
{
        ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
        ck_assert_int_eq(run("ip link set lo up"), 0);
        ck_assert_int_eq(simhost_start(&host), 0);
        daemon_pid = simhost_spawn(&host, 0, daemon_main, NULL);
        ck_assert_int_gt(daemon_pid, 0);
}

static void world_down(void)
{
        if (daemon_pid > 0) {
                kill(daemon_pid, SIGTERM);
                simhost_wait(daemon_pid, 10000);
                daemon_pid = -1;
        }
        simhost_stop(&host);
}

static void attach_vif(uint16_t domid, const char *mac, const char *extra_arg,
                       const char *extra_val)
{
        char script[PATH_MAX], dom[8], cmd[256];
        const char *args[16];
        int n = 0;
        write_hotplug_script(script, sizeof(script));
        snprintf(dom, sizeof(dom), "%u", domid);
        args[n++] = "vif";
        args[n++] = "attach";
        args[n++] = "--domid";
        args[n++] = dom;
        args[n++] = "--devid";
        args[n++] = "0";
        args[n++] = "--mac";
        args[n++] = mac;
        args[n++] = "--script";
        args[n++] = script;
        if (extra_arg) {
                args[n++] = extra_arg;
                args[n++] = extra_val;
        }
        args[n] = NULL;
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, args), 0);
        /* The far end: an address on the vif and the guest as a neighbour. */
        snprintf(cmd, sizeof(cmd),
                 "ip addr add 10.%u.0.1/24 dev vif%u.0 && ip neigh replace 10.%u.0.2 lladdr %s dev "
                 "vif%u.0",
                 domid, domid, domid, mac, domid);
        ck_assert_int_eq(run(cmd), 0);
}

static int detach_vif(uint16_t domid)
{
        char dom[8];
        snprintf(dom, sizeof(dom), "%u", domid);
        const char *args[] = {"vif", "detach", "--domid", dom, "--devid", "0", NULL};
        return simhost_cli(&host, NULL, 0, args);
}

/* ---- the guest: a minimal netfront over the seam -------------------------- */

enum fe_mode {
        FE_TRAFFIC, /* ping + UDP both ways, digests checked */
        FE_HOSTILE, /* one TX slot with offset+size > 4096 */
        FE_IDLE,    /* connect and wait for Closing */
};

struct fe_result {
        int connected;
        int ping_ok;
        uint64_t tx_sent, tx_recv, tx_digest_sent, tx_digest_recv;
        uint64_t rx_sent, rx_recv, rx_digest_sent, rx_digest_recv;
        int closed_cleanly;
        char why[200];
};

struct fe_args {
        uint16_t domid;
        enum fe_mode mode;
        uint32_t dgrams;
        bool csum_blank;
        bool wait_close;    /* stay until the backend closes (detach tests) */
        bool shared_evtchn; /* one event-channel instead of -tx/-rx */
        bool shared_evtchn_next;
        struct fe_result *res; /* MAP_SHARED */
};

struct fe {
        struct fe_args *a;
        struct xs_handle *xs;
        struct xh_gntshr *gs;
        struct xh_evtchn *ev;
        char fe_path[96], be_path[96];
        void *rings; /* 2 pages: tx, rx */
        uint8_t *txb, *rxb;
        uint32_t ring_refs[2], tx_refs[NR_BUFS], rx_refs[NR_BUFS];
        uint32_t port_tx, port_rx;
        netif_tx_front_ring_t tx;
        netif_rx_front_ring_t rx;
        bool tx_busy[NR_BUFS];
        uint8_t mac[6];
        /* Last frames the guest received (the test protocol is tiny). */
        int udp_rx_sock, udp_tx_sock;
};

static const uint8_t vif_mac[6] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff};

static int fe_fail(struct fe *f, const char *what)
{
        snprintf(f->a->res->why, sizeof(f->a->res->why), "%s", what);
        return 1;
}

static int fe_wait_be_state(struct fe *f, int state, int ms)
{
        for (uint64_t end = now_ms() + (uint64_t)ms; now_ms() < end; usleep(10000))
                if (xb_read_state(f->xs, f->be_path) == state)
                        return 0;
        return -ETIMEDOUT;
}

static int fe_connect(struct fe *f)
{
        const struct xh_provider *hv;
        char err[200];
        uint32_t refs[2 + 2 * NR_BUFS];
        void *bufs;

        snprintf(f->fe_path, sizeof(f->fe_path), "/local/domain/%u/device/vif/0", f->a->domid);
        snprintf(f->be_path, sizeof(f->be_path), "/local/domain/0/backend/vif/%u/0", f->a->domid);
        if (xh_provider_select("sim", &hv, err, sizeof(err)) < 0)
                return fe_fail(f, err);
        f->xs = xs_open(0);
        if (!f->xs || xh_gntshr_open(hv, &f->gs) < 0 || xh_evtchn_open(hv, &f->ev) < 0)
                return fe_fail(f, "opening xenstore/gntshr/evtchn");
        if (fe_wait_be_state(f, XenbusStateInitWait, 10000) < 0)
                return fe_fail(f, "backend never reached InitWait");
        if (xh_gntshr_share(f->gs, 0, 2, refs, true, &f->rings) < 0 ||
            xh_gntshr_share(f->gs, 0, NR_BUFS, f->tx_refs, true, &bufs) < 0)
                return fe_fail(f, "sharing pages");
        f->txb = bufs;
        if (xh_gntshr_share(f->gs, 0, NR_BUFS, f->rx_refs, true, &bufs) < 0)
                return fe_fail(f, "sharing rx pages");
        f->rxb = bufs;
        memcpy(f->ring_refs, refs, sizeof(f->ring_refs));
        netif_tx_sring_t *txs = f->rings;
        netif_rx_sring_t *rxs = (void *)((uint8_t *)f->rings + NB_PAGE_SIZE);
        SHARED_RING_INIT(txs);
        SHARED_RING_INIT(rxs);
        FRONT_RING_INIT(&f->tx, txs, NB_PAGE_SIZE);
        FRONT_RING_INIT(&f->rx, rxs, NB_PAGE_SIZE);
        for (uint32_t i = 0; i < NR_BUFS; i++) {
                netif_rx_request_t *r = RING_GET_REQUEST(&f->rx, f->rx.req_prod_pvt++);
                r->id = (uint16_t)i;
                r->gref = f->rx_refs[i];
        }
        RING_PUSH_REQUESTS(&f->rx);
        if (xh_evtchn_bind_unbound(f->ev, 0, &f->port_tx) < 0)
                return fe_fail(f, "allocating event channels");
        if (f->a->shared_evtchn)
                f->port_rx = f->port_tx;
        else if (xh_evtchn_bind_unbound(f->ev, 0, &f->port_rx) < 0)
                return fe_fail(f, "allocating event channels");
        int rc = xb_printf(f->xs, XBT_NULL, f->fe_path, "tx-ring-ref", "%u", f->ring_refs[0]);
        rc = rc ?: xb_printf(f->xs, XBT_NULL, f->fe_path, "rx-ring-ref", "%u", f->ring_refs[1]);
        if (f->a->shared_evtchn) {
                rc =
                    rc ?: xb_printf(f->xs, XBT_NULL, f->fe_path, "event-channel", "%u", f->port_tx);
        } else {
                rc = rc
                         ?: xb_printf(f->xs, XBT_NULL, f->fe_path, "event-channel-tx", "%u",
                                      f->port_tx);
                rc = rc
                         ?: xb_printf(f->xs, XBT_NULL, f->fe_path, "event-channel-rx", "%u",
                                      f->port_rx);
        }
        rc = rc ?: xb_printf(f->xs, XBT_NULL, f->fe_path, "request-rx-copy", "1");
        rc = rc ?: xb_printf(f->xs, XBT_NULL, f->fe_path, "feature-rx-notify", "1");
        rc = rc ?: xb_printf(f->xs, XBT_NULL, f->fe_path, "feature-sg", "1");
        rc = rc ?: xb_printf(f->xs, XBT_NULL, f->fe_path, "state", "%d", XenbusStateConnected);
        if (rc < 0)
                return fe_fail(f, "writing frontend keys");
        if (fe_wait_be_state(f, XenbusStateConnected, 10000) < 0)
                return fe_fail(f, "backend never reached Connected");
        f->a->res->connected = 1;
        return 0;
}

static void fe_kick(struct fe *f, uint32_t port)
{
        xh_evtchn_notify(f->ev, port);
}

/* Collects TX responses; returns how many packets completed. */
static void fe_tx_reap(struct fe *f)
{
        RING_IDX rp = f->tx.sring->rsp_prod;
        xen_rmb();
        while (f->tx.rsp_cons != rp) {
                netif_tx_response_t *r = RING_GET_RESPONSE(&f->tx, f->tx.rsp_cons++);
                if (r->status != NETIF_RSP_NULL && r->id < NR_BUFS)
                        f->tx_busy[r->id] = false;
        }
}

static int fe_tx_send(struct fe *f, const uint8_t *frame, uint16_t len, uint16_t flags)
{
        int notify;
        for (uint64_t end = now_ms() + 5000; now_ms() < end;) {
                fe_tx_reap(f);
                for (uint16_t id = 0; id < NR_BUFS; id++) {
                        if (f->tx_busy[id])
                                continue;
                        if (RING_FULL(&f->tx))
                                break;
                        memcpy(f->txb + (size_t)id * NB_PAGE_SIZE, frame, len);
                        netif_tx_request_t *r = RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt++);
                        r->gref = f->tx_refs[id];
                        r->offset = 0;
                        r->flags = flags;
                        r->id = id;
                        r->size = len;
                        f->tx_busy[id] = true;
                        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->tx, notify);
                        if (notify)
                                fe_kick(f, f->port_tx);
                        return 0;
                }
                usleep(100);
        }
        return -ETIMEDOUT;
}

/* One received frame (single slot, as with MTU-sized frames), or 0. */
static int fe_rx_one(struct fe *f, uint8_t *out, size_t cap, uint16_t *flags)
{
        RING_IDX rp = f->rx.sring->rsp_prod;
        int notify, len = 0;
        xen_rmb();
        if (f->rx.rsp_cons == rp) {
                int more;
                RING_FINAL_CHECK_FOR_RESPONSES(&f->rx, more);
                if (!more)
                        return 0;
                rp = f->rx.sring->rsp_prod;
                xen_rmb();
        }
        netif_rx_response_t *r = RING_GET_RESPONSE(&f->rx, f->rx.rsp_cons++);
        uint16_t id = r->id;
        if (r->status > 0 && (size_t)r->status <= cap && id < NR_BUFS) {
                memcpy(out, f->rxb + (size_t)id * NB_PAGE_SIZE + r->offset, (size_t)r->status);
                len = r->status;
        } else {
                len = -1;
        }
        *flags = r->flags;
        /* Repost the same buffer. */
        netif_rx_request_t *q = RING_GET_REQUEST(&f->rx, f->rx.req_prod_pvt++);
        q->id = id;
        q->gref = id < NR_BUFS ? f->rx_refs[id] : 0;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->rx, notify);
        if (notify)
                fe_kick(f, f->port_rx);
        return len;
}

static void fe_drain_events(struct fe *f)
{
        uint32_t port;
        while (xh_evtchn_pending(f->ev, &port) == 0)
                xh_evtchn_unmask(f->ev, port);
}

static size_t fe_build(struct fe *f, uint8_t *buf, size_t cap, uint8_t proto, uint16_t sport,
                       uint16_t dport, const uint8_t *payload, size_t plen)
{
        struct off_build_spec s;
        size_t len;
        memset(&s, 0, sizeof(s));
        s.ethertype = OFF_ETH_P_IPV4;
        memcpy(s.dst_mac, vif_mac, 6);
        memcpy(s.src_mac, f->mac, 6);
        s.saddr[0] = 10, s.saddr[1] = (uint8_t)f->a->domid, s.saddr[3] = 2;
        s.daddr[0] = 10, s.daddr[1] = (uint8_t)f->a->domid, s.daddr[3] = 1;
        s.l4_proto = proto;
        s.sport = sport;
        s.dport = dport;
        s.payload = payload;
        s.payload_len = plen;
        if (off_build_packet(buf, cap, &s, &len) < 0)
                return 0;
        return len;
}

static int fe_ping(struct fe *f)
{
        /* ICMP echo request by hand: type 8, code 0, id, seq, 32 bytes. */
        uint8_t frame[128], in[2048];
        size_t len = 14 + 20 + 8 + 32;
        memset(frame, 0, sizeof(frame));
        memcpy(frame, vif_mac, 6);
        memcpy(frame + 6, f->mac, 6);
        frame[12] = 0x08;
        uint8_t *ip = frame + 14;
        ip[0] = 0x45;
        ip[3] = (uint8_t)(20 + 8 + 32);
        ip[8] = 64;
        ip[9] = 1;
        ip[12] = 10, ip[13] = (uint8_t)f->a->domid, ip[15] = 2;
        ip[16] = 10, ip[17] = (uint8_t)f->a->domid, ip[19] = 1;
        off_csum_fill_ipv4_hdr(ip, 20);
        uint8_t *icmp = ip + 20;
        icmp[0] = 8;
        icmp[4] = 0x12, icmp[5] = 0x34, icmp[7] = 1;
        for (int i = 0; i < 32; i++)
                icmp[8 + i] = (uint8_t)i;
        uint16_t c = off_csum_buf(icmp, 40);
        memcpy(icmp + 2, &c, 2);
        for (int attempt = 0; attempt < 5; attempt++) {
                if (fe_tx_send(f, frame, (uint16_t)len, 0) < 0)
                        return -1;
                for (uint64_t end = now_ms() + 1000; now_ms() < end;) {
                        uint16_t fl;
                        int n = fe_rx_one(f, in, sizeof(in), &fl);
                        fe_drain_events(f);
                        if (n <= 0) {
                                usleep(200);
                                continue;
                        }
                        if (n >= 14 + 20 + 8 + 32 && in[12] == 0x08 && in[23] == 1 && in[34] == 0 &&
                            !memcmp(in + 42, icmp + 8, 32))
                                return 0;
                }
        }
        return -1;
}

static void fill_payload(uint8_t *p, size_t n, uint32_t seq)
{
        memcpy(p, &seq, 4);
        for (size_t i = 4; i < n; i++)
                p[i] = off_build_pattern(seq, i);
}

/* Guest → far end: UDP datagrams, half of them with csum_blank. */
static int fe_tx_stream(struct fe *f)
{
        struct fe_result *r = f->a->res;
        uint8_t frame[2048], payload[DGRAM_LEN], got[4096];
        uint64_t dsent = FNV_INIT, drecv = FNV_INIT;
        uint32_t sent = 0, recvd = 0;
        uint64_t deadline = now_ms() + 60000;

        while (recvd < f->a->dgrams && now_ms() < deadline) {
                while (sent < f->a->dgrams && sent - recvd < 64) {
                        struct off_pkt_info pi;
                        uint16_t flags = 0;
                        fill_payload(payload, sizeof(payload), sent);
                        size_t len = fe_build(f, frame, sizeof(frame), 17, 7000, UDP_TX_PORT,
                                              payload, sizeof(payload));
                        off_parse(frame, len, 0, &pi);
                        if (f->a->csum_blank && (sent & 1)) {
                                off_csum_seed_partial(frame, len, &pi);
                                flags = NETTXF_csum_blank | NETTXF_data_validated;
                        } else {
                                off_csum_fill_l4(frame, len, &pi);
                        }
                        if (fe_tx_send(f, frame, (uint16_t)len, flags) < 0)
                                return fe_fail(f, "tx ring stuck");
                        dsent = fnv1a(dsent, payload, sizeof(payload));
                        sent++;
                }
                ssize_t n = recv(f->udp_rx_sock, got, sizeof(got), MSG_DONTWAIT);
                if (n > 0) {
                        drecv = fnv1a(drecv, got, (size_t)n);
                        recvd++;
                } else {
                        fe_tx_reap(f);
                        fe_drain_events(f);
                        struct pollfd p = {f->udp_rx_sock, POLLIN, 0};
                        poll(&p, 1, 5);
                }
        }
        r->tx_sent = sent;
        r->tx_recv = recvd;
        r->tx_digest_sent = dsent;
        r->tx_digest_recv = drecv;
        return 0;
}

/* Far end → guest: the kernel sends UDP to the guest's address. */
static int fe_rx_stream(struct fe *f)
{
        struct fe_result *r = f->a->res;
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(UDP_RX_PORT)};
        uint8_t payload[DGRAM_LEN], in[4096];
        uint64_t dsent = FNV_INIT, drecv = FNV_INIT;
        uint32_t sent = 0, recvd = 0;
        uint64_t deadline = now_ms() + 60000;

        to.sin_addr.s_addr = htonl(0x0a000002u | ((uint32_t)f->a->domid << 16));
        while (recvd < f->a->dgrams && now_ms() < deadline) {
                while (sent < f->a->dgrams && sent - recvd < 32) {
                        fill_payload(payload, sizeof(payload), sent);
                        if (sendto(f->udp_tx_sock, payload, sizeof(payload), 0, (void *)&to,
                                   sizeof(to)) != (ssize_t)sizeof(payload))
                                break;
                        dsent = fnv1a(dsent, payload, sizeof(payload));
                        sent++;
                }
                uint16_t fl;
                int n = fe_rx_one(f, in, sizeof(in), &fl);
                if (n <= 0) {
                        fe_drain_events(f);
                        usleep(100);
                        continue;
                }
                /* IPv4 UDP to our port: the payload follows 14 + 20 + 8. */
                if (n == 14 + 20 + 8 + (int)DGRAM_LEN && in[23] == 17 &&
                    ((in[36] << 8) | in[37]) == UDP_RX_PORT) {
                        drecv = fnv1a(drecv, in + 42, DGRAM_LEN);
                        recvd++;
                }
        }
        r->rx_sent = sent;
        r->rx_recv = recvd;
        r->rx_digest_sent = dsent;
        r->rx_digest_recv = drecv;
        return 0;
}

static int fe_hostile(struct fe *f)
{
        int notify;
        netif_tx_request_t *r = RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt++);
        r->gref = f->tx_refs[0];
        r->offset = 4000;
        r->flags = 0;
        r->id = 0;
        r->size = 200; /* 4000 + 200 > 4096: Linux disables the vif */
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->tx, notify);
        (void)notify;
        fe_kick(f, f->port_tx);
        return 0;
}

/* Answer the backend's Closing as netfront does, so detach completes. */
static void fe_wait_close(struct fe *f, int ms)
{
        for (uint64_t end = now_ms() + (uint64_t)ms; now_ms() < end; usleep(10000)) {
                int st = xb_read_state(f->xs, f->be_path);
                if (st == XenbusStateClosing || st == XenbusStateClosed ||
                    st == XenbusStateUnknown) {
                        xb_printf(f->xs, XBT_NULL, f->fe_path, "state", "%d", XenbusStateClosed);
                        f->a->res->closed_cleanly = 1;
                        return;
                }
        }
}

static int fe_main(void *arg)
{
        struct fe f;
        struct sockaddr_in a = {.sin_family = AF_INET};
        memset(&f, 0, sizeof(f));
        f.a = arg;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        memcpy(f.mac, (uint8_t[6]){0x00, 0x16, 0x3e, 0x00, 0x00, (uint8_t)f.a->domid}, 6);
        if (fe_connect(&f))
                return 1;
        switch (f.a->mode) {
        case FE_HOSTILE:
                fe_hostile(&f);
                break;
        case FE_TRAFFIC:
                f.udp_rx_sock = socket(AF_INET, SOCK_DGRAM, 0);
                f.udp_tx_sock = socket(AF_INET, SOCK_DGRAM, 0);
                a.sin_port = htons(UDP_TX_PORT);
                a.sin_addr.s_addr = htonl(0x0a000001u | ((uint32_t)f.a->domid << 16));
                if (bind(f.udp_rx_sock, (void *)&a, sizeof(a)) < 0)
                        return fe_fail(&f, "bind");
                if (fe_ping(&f) < 0)
                        return fe_fail(&f, "no echo reply");
                f.a->res->ping_ok = 1;
                if (fe_tx_stream(&f) || fe_rx_stream(&f))
                        return 1;
                break;
        case FE_IDLE:
                break;
        }
        if (f.a->wait_close || f.a->mode != FE_TRAFFIC)
                fe_wait_close(&f, 30000);
        return 0;
}

static pid_t start_frontend(uint16_t domid, enum fe_mode mode, uint32_t dgrams,
                            struct fe_result **res, struct fe_args *args)
{
        *res = mmap(NULL, sizeof(**res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(*res, MAP_FAILED);
        memset(*res, 0, sizeof(**res));
        args->domid = domid;
        args->mode = mode;
        args->dgrams = dgrams;
        args->csum_blank = true;
        args->wait_close = false;
        args->shared_evtchn = false;
        args->res = *res;
        return simhost_spawn(&host, domid, fe_main, args);
}

static pid_t start_frontend_wait_close(uint16_t domid, uint32_t dgrams, struct fe_result **res,
                                       struct fe_args *args)
{
        *res = mmap(NULL, sizeof(**res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(*res, MAP_FAILED);
        memset(*res, 0, sizeof(**res));
        args->domid = domid;
        args->mode = FE_TRAFFIC;
        args->dgrams = dgrams;
        args->csum_blank = true;
        args->wait_close = true;
        args->res = *res;
        /* Second round of the detach test: one shared event channel. */
        args->shared_evtchn = args->shared_evtchn_next;
        return simhost_spawn(&host, domid, fe_main, args);
}

static void check_traffic(const struct fe_result *r, uint32_t dgrams)
{
        ck_assert_msg(r->connected, "frontend did not connect: %s", r->why);
        ck_assert_msg(r->ping_ok, "ping failed: %s", r->why);
        ck_assert_uint_eq(r->tx_sent, dgrams);
        ck_assert_msg(r->tx_recv == dgrams, "guest->host: %llu of %u datagrams arrived",
                      (unsigned long long)r->tx_recv, dgrams);
        ck_assert_msg(r->tx_digest_sent == r->tx_digest_recv, "guest->host payload digest differs");
        ck_assert_msg(r->rx_recv == dgrams, "host->guest: %llu of %u datagrams arrived",
                      (unsigned long long)r->rx_recv, dgrams);
        ck_assert_msg(r->rx_digest_sent == r->rx_digest_recv, "host->guest payload digest differs");
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(ping_and_streams_both_ways)
{
        struct fe_result *r;
        struct fe_args a;
        const uint32_t n = 4096;
        world_up();
        ck_assert_int_eq(simhost_domain_create(&host, 5), 0);
        attach_vif(5, "00:16:3e:00:00:05", NULL, NULL);
        /* The vif's netdev exists with Linux netback's address, and is up. */
        ck_assert_int_ne(if_nametoindex("vif5.0"), 0);
        ck_assert_int_eq(run("ip link show vif5.0 | grep -q 'fe:ff:ff:ff:ff:ff'"), 0);
        pid_t fe = start_frontend(5, FE_TRAFFIC, n, &r, &a);
        ck_assert_int_eq(simhost_wait(fe, 120000), 0);
        check_traffic(r, n);
        ck_assert(wait_be_key(5, 0, "carrier", "1", 1000));
        world_down();
}
END_TEST

START_TEST(hostile_guest_loses_only_its_vif)
{
        struct fe_result *r5, *r6;
        struct fe_args a5, a6;
        world_up();
        ck_assert_int_eq(simhost_domain_create(&host, 5), 0);
        ck_assert_int_eq(simhost_domain_create(&host, 6), 0);
        attach_vif(5, "00:16:3e:00:00:05", NULL, NULL);
        attach_vif(6, "00:16:3e:00:00:06", NULL, NULL);
        pid_t bad = start_frontend(6, FE_HOSTILE, 0, &r6, &a6);
        /* Closing, then Closed once the frontend answers: either will do. */
        ck_assert_msg(wait_be_key(6, 0, "carrier", "0", 10000), "hostile vif still has carrier");
        int st = -1;
        for (uint64_t end = now_ms() + 10000; now_ms() < end && st != 5 && st != 6; usleep(10000)) {
                struct xs_handle *xs = simhost_xs_open(&host, 0);
                st = xb_read_state(xs, "/local/domain/0/backend/vif/6/0");
                xs_close(xs);
        }
        ck_assert_msg(st == 5 || st == 6, "hostile vif in state %d", st);
        char *e = read_error_node(6, 0);
        ck_assert_ptr_nonnull(e);
        ck_assert_msg(strstr(e, "vif6.0 q0") && strstr(e, "offset+size 4200 > 4096"), "error: %s",
                      e);
        free(e);
        ck_assert_int_eq(simhost_wait(bad, 10000), 0);
        ck_assert(r6->closed_cleanly);
        /* The other guest is untouched. */
        pid_t good = start_frontend(5, FE_TRAFFIC, 1024, &r5, &a5);
        ck_assert_int_eq(simhost_wait(good, 60000), 0);
        check_traffic(r5, 1024);
        world_down();
}
END_TEST

START_TEST(detach_reattach_and_destroy)
{
        struct fe_result *r;
        struct fe_args a;
        world_up();
        ck_assert_int_eq(simhost_domain_create(&host, 5), 0);
        for (int round = 0; round < 2; round++) {
                attach_vif(5, "00:16:3e:00:00:05", NULL, NULL);
                memset(&a, 0, sizeof(a));
                a.shared_evtchn_next = round == 1;
                pid_t fe = start_frontend_wait_close(5, 256, &r, &a);
                /* The frontend exits once it has answered the detach. */
                for (uint64_t end = now_ms() + 30000; !r->rx_recv && now_ms() < end;)
                        usleep(10000);
                usleep(200000);
                ck_assert_int_eq(detach_vif(5), 0);
                ck_assert_int_eq(simhost_wait(fe, 30000), 0);
                check_traffic(r, 256);
                ck_assert_int_eq(if_nametoindex("vif5.0"), 0);
        }
        /* Destroying a domain with a connected vif frees it. */
        attach_vif(5, "00:16:3e:00:00:05", NULL, NULL);
        pid_t fe = start_frontend(5, FE_IDLE, 0, &r, &a);
        for (uint64_t end = now_ms() + 10000; !r->connected && now_ms() < end;)
                usleep(10000);
        ck_assert(r->connected);
        kill(fe, SIGKILL);
        simhost_wait(fe, 5000);
        ck_assert_int_eq(simhost_domain_destroy(&host, 5), 0);
        bool gone = false;
        for (uint64_t end = now_ms() + 10000; !gone && now_ms() < end; usleep(20000))
                gone = if_nametoindex("vif5.0") == 0;
        ck_assert_msg(gone, "vif5.0 still exists after the domain was destroyed");
        world_down();
}
END_TEST

static Suite *netback_sim_suite(void)
{
        Suite *s = suite_create("netback_sim");
        TCase *tc = tcase_create("e2e");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, ping_and_streams_both_ways);
        tcase_add_test(tc, hostile_guest_loses_only_its_vif);
        tcase_add_test(tc, detach_reattach_and_destroy);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netback_sim_suite)
