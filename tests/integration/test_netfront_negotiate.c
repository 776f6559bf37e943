/* The userspace netfront against a backend this test plays by hand (dom0 on
 * a private simulated host): the vif directories as libxl writes them, the
 * backend's features and InitWait written here, then the exact keys netfront
 * publishes are checked, its grants mapped and its ports bound as a backend
 * would. A minimal echo backend built from netback's pure parts (nb_tx_parse,
 * nb_rx_plan) then carries generated frames guest -> dom0 -> guest, and the
 * guest verifies every payload byte and the digest. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "proc.h"
#include "netback/nb_rx_plan.h"
#include "netback/nb_tx_parse.h"
#include "netfront.h"
#include "nf_gen.h"
#include "simhost.h"
#include "xb.h"

#define FE_DOM 1
#define BE     "/local/domain/0/backend/vif/1/0"
#define FE     "/local/domain/1/device/vif/0"
#define MAXQ   4

static struct simhost host;
static struct xs_handle *xs;

/* ---- the backend's side (this process, dom0) ------------------------------ */

struct bq {
        netif_tx_back_ring_t tx;
        netif_rx_back_ring_t rx;
        void *tx_page, *rx_page;
        uint32_t port_tx, port_rx;
};

struct be {
        const struct xh_provider *hv;
        struct xh_gnttab *gt;
        struct xh_evtchn *ev;
        struct bq q[MAXQ];
        uint32_t nq;
        uint8_t buf[65536];
        uint64_t echoed;
};

static struct be be;

static void be_write(const char *key, const char *val)
{
        ck_assert_int_eq(xb_printf(xs, XBT_NULL, BE, key, "%s", val), 0);
}

/* What Linux netback wrote in phase B, then InitWait. */
static void be_advertise(bool rx_copy, const char *max_queues)
{
        static const char *const feats[] = {"feature-sg",
                                            "feature-gso-tcpv4",
                                            "feature-gso-tcpv6",
                                            "feature-ipv6-csum-offload",
                                            "feature-split-event-channels",
                                            "feature-multicast-control",
                                            "feature-ctrl-ring",
                                            "feature-xdp-headroom"};
        for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++)
                be_write(feats[i], "1");
        be_write("feature-rx-copy", rx_copy ? "1" : "0");
        be_write("feature-rx-flip", "0");
        be_write("multi-queue-max-queues", max_queues);
        be_write("hotplug-status", "connected");
        be_write("state", "2");
}

static int fe_state(void)
{
        return xb_read_state(xs, FE);
}

static bool wait_fe_state(int want, int timeout_ms)
{
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms; now_ms() < end;) {
                if (fe_state() == want)
                        return true;
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        return false;
}

static uint32_t fe_u32(const char *dir, const char *key)
{
        uint64_t v;
        ck_assert_msg(xb_read_uint(xs, XBT_NULL, dir, key, UINT32_MAX, &v) == 0, "%s/%s", dir, key);
        return (uint32_t)v;
}

/* Maps queue i's rings and binds its ports, as netback connect_data_rings. */
static void be_connect_queue(uint32_t i, const char *dir)
{
        struct bq *q = &be.q[i];
        uint32_t tref = fe_u32(dir, "tx-ring-ref"), rref = fe_u32(dir, "rx-ring-ref");
        ck_assert_int_eq(xh_gnttab_map(be.gt, FE_DOM, 1, &tref, true, &q->tx_page), 0);
        ck_assert_int_eq(xh_gnttab_map(be.gt, FE_DOM, 1, &rref, true, &q->rx_page), 0);
        BACK_RING_INIT(&q->tx, (netif_tx_sring_t *)q->tx_page, NB_PAGE_SIZE);
        BACK_RING_INIT(&q->rx, (netif_rx_sring_t *)q->rx_page, NB_PAGE_SIZE);
        bool split = xb_exists(xs, XBT_NULL, dir, "event-channel-tx");
        uint32_t ptx = fe_u32(dir, split ? "event-channel-tx" : "event-channel");
        ck_assert_int_eq(xh_evtchn_bind_interdomain(be.ev, FE_DOM, ptx, &q->port_tx), 0);
        q->port_rx = q->port_tx;
        if (split)
                ck_assert_int_eq(xh_evtchn_bind_interdomain(
                                     be.ev, FE_DOM, fe_u32(dir, "event-channel-rx"), &q->port_rx),
                                 0);
}

static void be_connect(uint32_t nq)
{
        char err[256], dir[128];
        ck_assert_int_eq(xh_provider_select("sim", &be.hv, err, sizeof(err)), 0);
        ck_assert_int_eq(xh_gnttab_open(be.hv, &be.gt), 0);
        ck_assert_int_eq(xh_evtchn_open(be.hv, &be.ev), 0);
        be.nq = nq;
        for (uint32_t i = 0; i < nq; i++) {
                snprintf(dir, sizeof(dir), nq == 1 ? "%s" : "%s/queue-%u", FE, i);
                be_connect_queue(i, dir);
        }
        be_write("state", "4");
}

/* Guest TX -> buffer -> guest RX: one packet. False when the guest has not
 * posted enough RX buffers yet: the packet then stays on the TX ring. */
static bool be_echo_packet(struct bq *q, const struct nb_tx_pkt *pkt)
{
        xh_copy_seg_t segs[NB_TX_DESC_SLOTS];
        uint32_t off = 0;
        for (uint32_t i = 0; i < pkt->nr_frags; i++) {
                const struct nb_tx_frag *f = &pkt->frags[i];
                segs[i] = (xh_copy_seg_t){
                    .source.foreign = {.ref = f->gref, .offset = f->offset, .domid = FE_DOM},
                    .dest.virt = be.buf + off,
                    .len = f->len,
                    .flags = GNTCOPY_source_gref};
                off += f->len;
        }
        ck_assert_int_eq(xh_gnttab_copy(be.gt, pkt->nr_frags, segs), 0);
        for (uint32_t i = 0; i < pkt->nr_frags; i++)
                ck_assert_int_eq(segs[i].status, GNTST_okay);
        struct nb_rx_pkt rp = {.data = be.buf,
                               .len = off,
                               .gso_type = pkt->has_gso ? pkt->gso_type : 0,
                               .gso_size = pkt->has_gso ? pkt->gso_size : 0,
                               .csum = pkt->csum_blank       ? NB_RX_CSUM_PARTIAL
                                       : pkt->data_validated ? NB_RX_CSUM_UNNECESSARY
                                                             : NB_RX_CSUM_NONE};
        static struct nb_rx_plan plan;
        int notify, rc = nb_rx_plan_build(&q->rx, q->rx.sring->req_prod, FE_DOM, &rp, &plan);
        if (rc == -EAGAIN)
                return false;
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(xh_gnttab_copy(be.gt, plan.nr_segs, plan.segs), 0);
        ck_assert_int_eq(nb_rx_plan_write_responses(&q->rx, &plan), 0);
        nb_rx_plan_apply_copy_status(&q->rx, &plan, plan.segs);
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->rx, notify);
        if (notify)
                xh_evtchn_notify(be.ev, q->port_rx);
        be.echoed++;
        return true;
}

static void be_respond(struct bq *q, const struct nb_tx_pkt *pkt)
{
        /* One response per slot: OKAY for data, NULL for extras (Linux). */
        for (uint32_t i = 0; i < pkt->nr_frags; i++) {
                netif_tx_response_t *r = RING_GET_RESPONSE(&q->tx, q->tx.rsp_prod_pvt++);
                r->id = pkt->frags[i].id;
                r->status = NETIF_RSP_OKAY;
                if (i == 0)
                        for (uint32_t e = 0; e < pkt->nr_extras; e++)
                                RING_GET_RESPONSE(&q->tx, q->tx.rsp_prod_pvt++)->status =
                                    NETIF_RSP_NULL;
        }
}

static void be_poll_queue(struct bq *q)
{
        struct nb_tx_parse_cfg cfg;
        struct nb_tx_pkt pkt;
        int more, notify;
        nb_tx_parse_cfg_default(&cfg);
        do {
                RING_IDX rp = q->tx.sring->req_prod;
                xen_rmb();
                bool stalled = false;
                while (nb_tx_parse_slots(&q->tx, rp, &cfg, &pkt) == NB_TX_OK) {
                        if ((stalled = !be_echo_packet(q, &pkt)))
                                break;
                        be_respond(q, &pkt);
                        nb_tx_consume(&q->tx, &pkt);
                }
                ck_assert(stalled || pkt.verdict == NB_TX_EMPTY || pkt.verdict == NB_TX_INCOMPLETE);
                RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->tx, notify);
                if (notify)
                        xh_evtchn_notify(be.ev, q->port_tx);
                if (stalled) /* wait for the guest's RX refill kick */
                        return;
                RING_FINAL_CHECK_FOR_REQUESTS(&q->tx, more);
        } while (more);
}

/* Serves until the frontend leaves Connected, then follows it to Closed. */
static void be_serve(int timeout_ms)
{
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms;
             now_ms() < end && fe_state() == XenbusStateConnected;) {
                struct pollfd p = {.fd = xh_evtchn_fd(be.ev), .events = POLLIN};
                if (poll(&p, 1, 20) > 0) {
                        uint32_t port;
                        while (xh_evtchn_pending(be.ev, &port) == 0)
                                xh_evtchn_unmask(be.ev, port);
                }
                for (uint32_t i = 0; i < be.nq; i++)
                        be_poll_queue(&be.q[i]);
        }
        be_write("state", "5");
        ck_assert(wait_fe_state(XenbusStateClosed, 5000) || fe_state() == XenbusStateClosing);
        be_write("state", "6");
}

/* ---- the guest's side (a child acting as domain 1) ------------------------- */

struct guest_job {
        struct nf_config cfg;
        struct nf_gen_cfg gen;
        uint32_t frames;
};

static struct guest_job job;
static struct nf_verify verify;

static void on_rx(void *arg, const struct nf_rx_frame *f)
{
        (void)arg;
        nf_verify_frame(&verify, f->data, f->len, f->csum_blank, f->data_validated);
}

static int guest_send(struct nf_dev *d, struct nf_gen *g)
{
        static uint8_t buf[70000];
        struct nf_frame f;
        uint64_t end = now_ms() + 20000;
        while (g->frames < job.frames && now_ms() < end) {
                if (nf_gen_next(g, buf, sizeof(buf), &f) < 0)
                        return 10;
                int rc;
                while ((rc = nf_xmit(d, NF_QUEUE_ANY, &f)) == -EAGAIN) {
                        struct pollfd p = {.fd = nf_evtchn_fd(d), .events = POLLIN};
                        poll(&p, 1, 20);
                        nf_handle_events(d);
                }
                if (rc < 0)
                        return 11;
        }
        while (verify.payload_bytes < g->payload_bytes && now_ms() < end) {
                struct pollfd p = {.fd = nf_evtchn_fd(d), .events = POLLIN};
                poll(&p, 1, 20);
                if (nf_handle_events(d) < 0)
                        return 12;
        }
        return 0;
}

static int guest(void *arg)
{
        (void)arg;
        struct nf_dev *d;
        struct nf_gen g;
        char err[256];
        int rc;
        if (nf_open(&job.cfg, "sim", &d, err, sizeof(err)) < 0) {
                fprintf(stderr, "guest: %s\n", err);
                return 2;
        }
        nf_set_rx_cb(d, on_rx, NULL);
        if (nf_connect(d, err, sizeof(err)) < 0) {
                fprintf(stderr, "guest: %s\n", err);
                nf_close(d);
                return 3;
        }
        memcpy(job.gen.src_mac, nf_mac(d), 6);
        job.gen.csum_partial = nf_negotiated(d)->tx_csum;
        verify.seed = job.gen.seed;
        if (nf_gen_init(&g, &job.gen) < 0)
                return 4;
        rc = guest_send(d, &g);
        if (rc == 0 && (verify.payload_bytes != g.payload_bytes || verify.digest != g.digest ||
                        verify.bad_bytes || verify.bad_csum)) {
                fprintf(
                    stderr,
                    "guest: sent %llu frames digest %llx, got %llu digest %llx, bad %llu/%llu\n",
                    (unsigned long long)g.frames, (unsigned long long)g.digest,
                    (unsigned long long)verify.frames, (unsigned long long)verify.digest,
                    (unsigned long long)verify.bad_bytes, (unsigned long long)verify.bad_csum);
                rc = 5;
        }
        nf_gen_free(&g);
        /* Stay connected until the backend closes, then Closing/Closed. */
        for (uint64_t end = now_ms() + 10000; now_ms() < end;) {
                struct pollfd p = {.fd = nf_xs_fd(d), .events = POLLIN};
                poll(&p, 1, 50);
                if (nf_handle_xenstore(d) == -ECONNRESET)
                        break;
        }
        nf_close(d);
        return rc;
}

/* ---- fixture ---------------------------------------------------------------- */

static void setup(void)
{
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, FE_DOM), 0);
        const char *args[] = {"vif", "attach", "--domid",           "1",         "--devid",
                              "0",   "--mac",  "00:16:3e:00:00:01", "--no-wait", NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, args), 0);
        simhost_enter(&host, 0); /* this process is the backend domain */
        xs = simhost_xs_open(&host, 0);
        ck_assert_ptr_nonnull(xs);
        memset(&be, 0, sizeof(be));
        memset(&verify, 0, sizeof(verify));
        nf_config_default(&job.cfg);
        job.cfg.timeout_ms = 10000;
        job.gen = (struct nf_gen_cfg){.min_size = 60,
                                      .max_size = 1514,
                                      .flows = 3,
                                      .seed = 7,
                                      .dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                      .saddr = {10, 0, 0, 1},
                                      .daddr = {10, 0, 0, 2}};
        job.frames = 2000;
}

static void teardown(void)
{
        if (be.ev)
                xh_evtchn_close(be.ev);
        if (be.gt)
                xh_gnttab_close(be.gt);
        if (xs)
                xs_close(xs);
        xs = NULL;
        simhost_stop(&host);
}

static const char *const linux_keys[] = {
    "event-channel-rx",          "event-channel-tx",  "feature-gso-tcpv4", "feature-gso-tcpv6",
    "feature-ipv6-csum-offload", "feature-rx-notify", "feature-sg",        "multi-queue-num-queues",
    "request-rx-copy",           "rx-ring-ref",       "tx-ring-ref",       "xdp-headroom"};

/* Exactly the keys Linux netfront wrote on real Xen, plus the toolstack's. */
static void check_linux_keys(void)
{
        static const char *const toolstack[] = {"backend", "backend-id", "handle", "mac",
                                                "mtu",     "state",      "trusted"};
        unsigned n;
        char **names = xs_directory(xs, XBT_NULL, FE, &n);
        ck_assert_ptr_nonnull(names);
        ck_assert_uint_eq(n, sizeof(linux_keys) / sizeof(linux_keys[0]) +
                                 sizeof(toolstack) / sizeof(toolstack[0]));
        for (size_t i = 0; i < sizeof(linux_keys) / sizeof(linux_keys[0]); i++)
                ck_assert_msg(xb_exists(xs, XBT_NULL, FE, linux_keys[i]), "missing %s",
                              linux_keys[i]);
        free(names);
        ck_assert_uint_eq(fe_u32(FE, "multi-queue-num-queues"), 1);
        ck_assert_uint_eq(fe_u32(FE, "request-rx-copy"), 1);
        ck_assert_uint_eq(fe_u32(FE, "xdp-headroom"), 0);
}

START_TEST(one_queue_writes_linux_keys_and_echoes_verified_frames)
{
        job.cfg.queues = 1;
        job.cfg.ctrl_ring = job.cfg.mcast_ctrl = false; /* Linux has neither */
        be_advertise(true, "2");
        pid_t pid = simhost_spawn(&host, FE_DOM, guest, NULL);
        ck_assert_int_gt(pid, 0);
        ck_assert_msg(wait_fe_state(XenbusStateConnected, 10000), "frontend never Connected");
        check_linux_keys();
        be_connect(1);
        be_serve(20000);
        ck_assert_int_eq(simhost_wait(pid, 15000), 0);
        ck_assert_uint_eq(be.echoed, 2000);
        ck_assert_int_eq(fe_state(), XenbusStateClosed);
}
END_TEST

START_TEST(four_queues_shared_channels_gso_in_software_and_no_csum)
{
        job.cfg.queues = 4;
        job.cfg.split_evtchn = false;
        job.cfg.gso_tcpv4 = job.cfg.gso_tcpv6 = false;
        job.cfg.csum = false;
        job.gen.tcp = true;
        job.gen.gso_size = 1448;
        job.gen.max_size = 20000;
        job.gen.flows = 8;
        job.frames = 300;
        be_advertise(true, "8");
        pid_t pid = simhost_spawn(&host, FE_DOM, guest, NULL);
        ck_assert_int_gt(pid, 0);
        ck_assert(wait_fe_state(XenbusStateConnected, 10000));
        ck_assert_uint_eq(fe_u32(FE, "multi-queue-num-queues"), 4);
        ck_assert_uint_eq(fe_u32(FE, "feature-no-csum-offload"), 1);
        ck_assert(!xb_exists(xs, XBT_NULL, FE, "feature-gso-tcpv4"));
        ck_assert(!xb_exists(xs, XBT_NULL, FE, "tx-ring-ref"));
        ck_assert(xb_exists(xs, XBT_NULL, FE "/queue-3", "event-channel"));
        ck_assert(xb_exists(xs, XBT_NULL, FE, "ctrl-ring-ref"));
        ck_assert(xb_exists(xs, XBT_NULL, FE, "request-multicast-control"));
        be_connect(4);
        be_serve(30000);
        /* The guest checks what came back; each GSO frame left as segments. */
        ck_assert_int_eq(simhost_wait(pid, 15000), 0);
        ck_assert_uint_gt(be.echoed, 300);
}
END_TEST

START_TEST(backend_without_rx_copy_is_refused)
{
        be_advertise(false, "1");
        pid_t pid = simhost_spawn(&host, FE_DOM, guest, NULL);
        ck_assert_int_eq(simhost_wait(pid, 15000), 3);
        ck_assert(!xb_exists(xs, XBT_NULL, FE, "tx-ring-ref"));
        ck_assert_int_ne(fe_state(), XenbusStateConnected);
}
END_TEST

static Suite *netfront_negotiate_suite(void)
{
        Suite *s = suite_create("netfront_negotiate");
        TCase *tc = tcase_create("hand-written backend");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, one_queue_writes_linux_keys_and_echoes_verified_frames);
        tcase_add_test(tc, four_queues_shared_channels_gso_in_software_and_no_csum);
        tcase_add_test(tc, backend_without_rx_copy_is_refused);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netfront_negotiate_suite)
