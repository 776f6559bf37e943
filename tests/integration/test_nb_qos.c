/* Per-guest QoS end to end: pvbackd on a private simulated host with two
 * guests, domains 5 and 6, whose vifs the toolstack puts on bridge xenbr0
 * (the backend's `bridge` key), so they share one uplink group whose
 * capacity C is given at start (-o vif.uplink-capacity) and changed on the
 * control socket (`set uplink:xenbr0 capacity`). Each guest is libpvfront
 * in its domain on two queues, sending 64 KiB GSO frames on both as fast as
 * its rings take them (greedy) and counting the frames it receives. Rates are what pvbackd
 * moved per vif (its tx_bytes / rx_bytes counters) over windows of at
 * least a second, read on the control socket:
 *  - without a capacity both guests together go well above C (else the
 *    rest proves nothing), with it they stay within C;
 *  - guest A capped at C/4 (qos.max): guest B gets >= 90 % of the 3C/4 it
 *    frees, all of C when A is idle, and the `rate` key on B caps B while
 *    A takes the rest;
 *  - guest A with qos.min C/2 against a greedy B of weight 4 keeps >= 90 %
 *    of its minimum (by weight alone it would get C/5);
 *  - frames sent to guest A beyond its RX allocation are dropped before any
 *    grant copy: rx_drop_qos rises, the grant-copy segments follow what was
 *    delivered, and the guest receives exactly what pvbackd delivered; the
 *    same after the guest reconnects (settings stay with the device);
 *  - a flood to a multicast group guest A did not join costs A none of its
 *    RX allocation: the unicast sent to it beside the flood all arrives.
 * With the scheduler off every one of these fails: nothing caps the pair
 * at C, no minimum is defended, nothing is dropped early. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "ctl_proto.h"
#include "log.h"
#include "nbstats.h"
#include "nbworld.h"
#include "netfront.h"
#include "nf_gen.h"

#define CAP          300000000.0 /* C, bits/s */
#define CAP_S        "300M"
#define MSS          1460u
#define GSO_SEGS     44u
#define HDRS         (14u + 20u + 20u)
#define RING_FRAMES  64u
#define WARM_S       0.6 /* let the scheduler settle after a change */
#define WINDOW_S     1.5
#define ATTEMPTS     3
#define RX_ETHERTYPE 0x88b5 /* local experimental: only the test sends it */

static const uint16_t domids[2] = {5, 6};
static const char *const vifs[2] = {"vif5.0", "vif6.0"};
static const uint8_t far_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

struct guest_shared {
        volatile int ready, tx_on, stop, failed;
        volatile uint64_t rx_ours;
        char err[256];
};

static struct nbw world;
static char sock[PATH_MAX + 64];
static struct guest_shared *sh; /* [2], shared with the guests */
static pid_t guests[2] = {-1, -1};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
        struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        nanosleep(&ts, NULL);
}

static bool skip(void)
{
        if (geteuid() != 0 || !netns_supported()) {
                fprintf(stderr, "nb_qos: skipped: needs root and network namespaces\n");
                return true;
        }
        return false;
}

/* ---- the guests -------------------------------------------------------------- */

static void guest_rx(void *arg, const struct nf_rx_frame *f)
{
        struct guest_shared *g = arg;
        if (f->len >= 14 && f->data[12] == (RX_ETHERTYPE >> 8) &&
            f->data[13] == (RX_ETHERTYPE & 0xff))
                g->rx_ours++;
}

static int guest_fail(struct guest_shared *g, struct nf_dev *d, const char *what, int rc)
{
        snprintf(g->err, sizeof(g->err), "guest: %s: %s", what, strerror(-rc));
        g->failed = 1;
        if (d) {
                nf_disconnect(d);
                nf_close(d);
        }
        return 1;
}

static int guest_wait(struct nf_dev *d, int ms)
{
        struct pollfd p = {.fd = nf_evtchn_fd(d), .events = POLLIN};
        poll(&p, 1, ms);
        int rc = nf_handle_events(d);
        return rc < 0 ? rc : nf_poll_queues(d);
}

/* One flow of 64 KiB GSO frames, built once and sent round and round. */
static int frames_build(struct nf_dev *d, uint8_t *mem, struct nf_frame *f, uint8_t dom)
{
        uint32_t len = HDRS + MSS * GSO_SEGS;
        struct nf_gen_cfg c = {.min_size = len,
                               .max_size = len,
                               .flows = 1,
                               .tcp = true,
                               .gso_size = MSS,
                               .csum_partial = true,
                               .seed = dom,
                               .saddr = {10, dom, 0, 1},
                               .daddr = {10, dom, 0, 2}};
        struct nf_gen g;
        int rc;
        memcpy(c.src_mac, nf_mac(d), 6);
        memcpy(c.dst_mac, far_mac, 6);
        if ((rc = nf_gen_init(&g, &c)) < 0)
                return rc;
        for (uint32_t i = 0; i < RING_FRAMES && rc == 0; i++)
                rc = nf_gen_next(&g, mem + (size_t)i * len, len, &f[i]);
        nf_gen_free(&g);
        return rc;
}

static int guest_main(void *arg)
{
        struct guest_shared *g = &sh[(intptr_t)arg];
        uint8_t dom = (uint8_t)domids[(intptr_t)arg];
        static struct nf_frame f[RING_FRAMES];
        struct nf_config cfg;
        struct nf_dev *d = NULL;
        uint8_t *mem = malloc((size_t)RING_FRAMES * (HDRS + MSS * GSO_SEGS));
        uint64_t n = 0;
        int rc;

        pv_log_init("nb_qos_guest", false, PV_LOG_WARN);
        nf_config_default(&cfg);
        cfg.queues = 2;
        cfg.timeout_ms = 20000;
        if (!mem)
                return guest_fail(g, NULL, "memory", -ENOMEM);
        if (nf_open(&cfg, "sim", &d, g->err, sizeof(g->err)) < 0 ||
            nf_connect(d, g->err, sizeof(g->err)) < 0) {
                g->failed = 1;
                return 1;
        }
        nf_set_rx_cb(d, guest_rx, g);
        if ((rc = frames_build(d, mem, f, dom)) < 0)
                return guest_fail(g, d, "building frames", rc);
        g->ready = 1;
        while (!g->stop) {
                if (!g->tx_on) {
                        if ((rc = guest_wait(d, 5)) < 0)
                                return guest_fail(g, d, "waiting", rc);
                        continue;
                }
                /* Both queues busy: the vif's allocation is split between them. */
                rc = nf_xmit(d, (uint32_t)(n % 2), &f[n % RING_FRAMES]);
                if (rc == 0)
                        n++;
                else if (rc != -EAGAIN)
                        return guest_fail(g, d, "sending", rc);
                else if ((rc = guest_wait(d, 1)) < 0)
                        return guest_fail(g, d, "waiting", rc);
        }
        nf_disconnect(d);
        nf_close(d);
        free(mem);
        return 0;
}

static void guests_stop(void)
{
        for (int i = 0; i < 2; i++) {
                if (guests[i] <= 0)
                        continue;
                sh[i].stop = 1;
                if (simhost_wait(guests[i], 10000) != 0) {
                        kill(guests[i], SIGKILL);
                        waitpid(guests[i], NULL, 0);
                }
                guests[i] = -1;
        }
}

/* ---- the control socket ---------------------------------------------------------- */

/* One request, the whole JSON answer (malloc'd). */
static char *ctl(const char *line)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char req[CTL_REQ_MAX + 1];
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int n = snprintf(req, sizeof(req), "%s\n", line);

        ck_assert(buf && fd >= 0 && n > 0 && (size_t)n < sizeof(req));
        ck_assert(strlen(sock) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s", sock,
                      strerror(errno));
        ck_assert_int_eq(write(fd, req, (size_t)n), n);
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ck_assert_msg(poll(&p, 1, 5000) == 1, "no answer to %s", line);
                if (len + 1 == cap) {
                        buf = realloc(buf, cap *= 2);
                        ck_assert(buf);
                }
                ssize_t r = read(fd, buf + len, cap - 1 - len);
                if (r <= 0)
                        break;
                len += (size_t)r;
        }
        close(fd);
        buf[len] = '\0';
        return buf;
}

static void set(const char *target, const char *key, const char *value)
{
        char line[200];
        snprintf(line, sizeof(line), "set %s %s %s", target, key, value);
        char *a = ctl(line);
        ck_assert_msg(strstr(a, "\"ok\":true"), "%s: %s", line, a);
        free(a);
}

/* devices[0].qos.<key> of `show vif`: its value, -1 for null. */
static double qos_field(const char *vif, const char *key)
{
        char line[64];
        snprintf(line, sizeof(line), "show %s", vif);
        char *a = ctl(line);
        struct json_object *o = json_tokener_parse(a), *devs, *q, *v;
        double r;
        ck_assert_msg(
            o && json_object_object_get_ex(o, "devices", &devs) &&
                json_object_object_get_ex(json_object_array_get_idx(devs, 0), "qos", &q) &&
                json_object_object_get_ex(q, key, &v),
            "no qos.%s in %s", key, a);
        r = json_object_is_type(v, json_type_null) ? -1 : json_object_get_double(v);
        json_object_put(o);
        free(a);
        return r;
}

static struct nbstats stats(int i)
{
        struct nbstats s;
        char why[512];
        ck_assert_msg(nbstats_read(sock, vifs[i], &s, why, sizeof(why)) == 0, "%s", why);
        return s;
}

/* ---- the world ------------------------------------------------------------------- */

static void up(void)
{
        static const uint16_t doms[] = {5, 6, 0};
        static const char *const args[] = {
            "--workers", "2", "-o", "vif.max-queues=2", "-o", "vif.uplink-capacity=xenbr0:" CAP_S,
            NULL};
        const struct nbw_opts o = {.local = true, .domids = doms};
        char why[4096];

        setvbuf(stdout, NULL, _IONBF, 0);
        sh = mmap(NULL, 2 * sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert(sh != MAP_FAILED);
        memset(sh, 0, 2 * sizeof(*sh));
        ck_assert_msg(nbw_up(&world, &o, why, sizeof(why)) == 0, "%s", why);
        ck_assert_int_eq(nbw_pvbackd_start(&world, NULL, args), 0);
        nbstats_sock(&world.host, sock, sizeof(sock));
        for (int i = 0; i < 2; i++) {
                char dom[8], mac[24];
                snprintf(dom, sizeof(dom), "%u", domids[i]);
                snprintf(mac, sizeof(mac), "00:16:3e:00:00:%02x", domids[i]);
                const char *att[] = {"vif",   "attach", "--domid",  dom,          "--devid", "0",
                                     "--mac", mac,      "--script", world.script, NULL};
                ck_assert_msg(simhost_cli(&world.host, NULL, 0, att) == 0, "attaching %s", vifs[i]);
        }
        for (int i = 0; i < 2; i++) {
                guests[i] = simhost_spawn(&world.host, domids[i], guest_main, (void *)(intptr_t)i);
                ck_assert(guests[i] > 0);
        }
        for (double end = now_s() + 30; !(sh[0].ready && sh[1].ready); sleep_s(0.01)) {
                if (sh[0].failed || sh[1].failed || now_s() > end) {
                        nbw_dump_logs(&world);
                        ck_abort_msg("guests not connected: %s %s", sh[0].err, sh[1].err);
                }
        }
}

static void down(void)
{
        guests_stop();
        nbw_down(&world);
        munmap(sh, 2 * sizeof(*sh));
}

/* TX bits/s each vif moved over a window, after the scheduler settled. */
static void tx_rates(double out[2])
{
        struct nbstats b[2], a[2];
        sleep_s(WARM_S);
        double t0 = now_s();
        b[0] = stats(0);
        b[1] = stats(1);
        sleep_s(WINDOW_S);
        a[0] = stats(0);
        a[1] = stats(1);
        double dt = now_s() - t0;
        for (int i = 0; i < 2; i++)
                out[i] = (double)(a[i].sum.tx_bytes - b[i].sum.tx_bytes) * 8 / dt;
        ck_assert_msg(!sh[0].failed && !sh[1].failed, "%s %s", sh[0].err, sh[1].err);
}

static void both_greedy(void)
{
        sh[0].tx_on = sh[1].tx_on = 1;
}

/* Without a capacity the pair goes well above C: the test can tell. */
static void check_headroom(void)
{
        double r[2];
        set("uplink:xenbr0", "capacity", "unlimited");
        tx_rates(r);
        printf("nb_qos: unconstrained: A %.0f Mbit/s, B %.0f Mbit/s (C %.0f)\n", r[0] / 1e6,
               r[1] / 1e6, CAP / 1e6);
        ck_assert_msg(r[0] + r[1] > 1.5 * CAP,
                      "this machine moves only %.0f Mbit/s unconstrained, too close to C = %.0f",
                      (r[0] + r[1]) / 1e6, CAP / 1e6);
        set("uplink:xenbr0", "capacity", CAP_S);
}

/* ---- the tests ----------------------------------------------------------------- */

START_TEST(capped_guest_frees_capacity_to_its_neighbour)
{
        double r[2] = {0};
        bool ok = false;
        if (skip())
                return;
        up();
        /* -o vif.uplink-capacity, and the bridge key, as show reports them. */
        ck_assert_double_eq(qos_field(vifs[0], "group_capacity"), CAP);
        ck_assert_double_eq(qos_field(vifs[1], "group_capacity"), CAP);
        both_greedy();
        check_headroom();

        /* Both greedy within C: the group limit holds, shared evenly. */
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                tx_rates(r);
                printf("nb_qos: capacity %s: A %.1f, B %.1f Mbit/s\n", CAP_S, r[0] / 1e6,
                       r[1] / 1e6);
                ok = r[0] + r[1] <= 1.08 * CAP && r[0] + r[1] >= 0.85 * CAP && r[0] > 0.35 * CAP &&
                     r[1] > 0.35 * CAP;
        }
        ck_assert_msg(ok, "C not shared: A %.1f B %.1f Mbit/s", r[0] / 1e6, r[1] / 1e6);

        /* (a) A capped at C/4: B takes >= 90 % of the freed 3C/4. */
        set(vifs[0], "qos.max", "75M");
        ck_assert_double_eq(qos_field(vifs[0], "max"), 75e6);
        ok = false;
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                tx_rates(r);
                printf("nb_qos: A qos.max 75M: A %.1f, B %.1f Mbit/s (B wants >= %.1f)\n",
                       r[0] / 1e6, r[1] / 1e6, 0.9 * 0.75 * CAP / 1e6);
                ok =
                    r[0] <= 1.08 * CAP / 4 && r[1] >= 0.9 * 0.75 * CAP && r[0] + r[1] <= 1.08 * CAP;
        }
        ck_assert_msg(r[0] <= 1.08 * CAP / 4, "A above its max: %.1f Mbit/s", r[0] / 1e6);
        ck_assert_msg(r[1] >= 0.9 * 0.75 * CAP, "B got %.1f Mbit/s of the freed %.1f", r[1] / 1e6,
                      0.75 * CAP / 1e6);
        ck_assert_msg(r[0] + r[1] <= 1.08 * CAP, "the pair exceeds C: %.1f Mbit/s",
                      (r[0] + r[1]) / 1e6);
        double alloc = qos_field(vifs[1], "allocation_tx");
        ck_assert_msg(alloc >= 0.9 * 0.75 * CAP && alloc <= CAP, "B's allocation %.0f", alloc);
        ck_assert_msg(qos_field(vifs[1], "achieved_tx_bps") > 0.5 * 0.75 * CAP,
                      "achieved_tx_bps not shown");

        /* A idle: B alone takes >= 90 % of C (work-conserving). */
        sh[0].tx_on = 0;
        ok = false;
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                tx_rates(r);
                printf("nb_qos: A idle: A %.1f, B %.1f Mbit/s\n", r[0] / 1e6, r[1] / 1e6);
                ok = r[1] >= 0.9 * CAP && r[1] <= 1.08 * CAP;
        }
        ck_assert_msg(r[1] >= 0.9 * CAP && r[1] <= 1.08 * CAP, "B alone got %.1f of C", r[1] / 1e6);
        sh[0].tx_on = 1;

        /* (d) the `rate` key caps B (100 Mbit/s: 625000 bytes per 50 ms)
         * as a maximum; A, uncapped again, takes the rest of C. */
        set(vifs[0], "qos.max", "unlimited");
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        ck_assert(xs);
        ck_assert(xs_write(xs, XBT_NULL, "/local/domain/0/backend/vif/6/0/rate", "625000,50000",
                           strlen("625000,50000")));
        xs_close(xs);
        for (double end = now_s() + 5; qos_field(vifs[1], "max_tx_effective") != 100e6;
             sleep_s(0.05))
                ck_assert_msg(now_s() < end, "rate key not taken as B's max");
        ok = false;
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                tx_rates(r);
                printf("nb_qos: B rate 100 Mbit/s: A %.1f, B %.1f Mbit/s\n", r[0] / 1e6,
                       r[1] / 1e6);
                ok = r[1] <= 1.1 * 100e6 && r[1] >= 0.85 * 100e6 && r[0] >= 0.9 * (CAP - 100e6);
        }
        ck_assert_msg(r[1] <= 1.1 * 100e6 && r[1] >= 0.85 * 100e6, "B at %.1f under rate 100",
                      r[1] / 1e6);
        ck_assert_msg(r[0] >= 0.9 * (CAP - 100e6), "A got %.1f of the %.1f B leaves", r[0] / 1e6,
                      (CAP - 100e6) / 1e6);
        down();
}
END_TEST

START_TEST(minimum_holds_against_a_greedy_neighbour)
{
        double r[2] = {0};
        bool ok = false;
        if (skip())
                return;
        up();
        both_greedy();
        check_headroom();
        /* B weighs 4: by weight alone A would get C/5; its minimum is C/2. */
        set(vifs[1], "qos.weight", "4");
        set(vifs[0], "qos.min", "150M");
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                tx_rates(r);
                printf("nb_qos: A qos.min 150M, B weight 4: A %.1f, B %.1f Mbit/s\n", r[0] / 1e6,
                       r[1] / 1e6);
                ok = r[0] >= 0.9 * CAP / 2 && r[0] + r[1] <= 1.08 * CAP;
        }
        ck_assert_msg(r[0] >= 0.9 * CAP / 2, "A kept %.1f of its minimum %.1f Mbit/s", r[0] / 1e6,
                      CAP / 2e6);
        ck_assert_msg(r[0] + r[1] <= 1.08 * CAP, "the pair exceeds C: %.1f Mbit/s",
                      (r[0] + r[1]) / 1e6);
        /* Without the minimum, weights rule: A falls to about C/5. */
        set(vifs[0], "qos.min", "0");
        ok = false;
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                tx_rates(r);
                printf("nb_qos: A no minimum, B weight 4: A %.1f, B %.1f Mbit/s\n", r[0] / 1e6,
                       r[1] / 1e6);
                ok = r[0] <= 0.3 * CAP && r[1] >= 0.7 * CAP;
        }
        ck_assert_msg(r[0] <= 0.3 * CAP && r[1] >= 0.7 * CAP, "weights 1:4 gave %.1f / %.1f",
                      r[0] / 1e6, r[1] / 1e6);
        /* A bad value is refused with what is accepted. */
        set(vifs[0], "qos.max", "100M");
        char *a = ctl("set vif5.0 qos.min 200M");
        ck_assert_msg(strstr(a, "bad-value") && strstr(a, "above qos.max"), "%s", a);
        free(a);
        a = ctl("set vif5.0 qos.speed 1");
        ck_assert_msg(strstr(a, "unknown-key"), "%s", a);
        free(a);
        a = ctl("set uplink:xenbr0 capacity fast");
        ck_assert_msg(strstr(a, "bad-value"), "%s", a);
        free(a);
        /* An uplink neither this host nor any vif has is nobody's. */
        a = ctl("set uplink:nowhere capacity 1G");
        ck_assert_msg(strstr(a, "unknown-device"), "%s", a);
        free(a);
        down();
}
END_TEST

/* Sends frames for guest A into its netdev at rate_bps for `secs`, and
 * alongside them frames to a multicast group A never joined at mc_bps,
 * reading pvbackd's counters (and the guest's) after `warm` and at the end. */
struct rx_result {
        struct nb_queue_stats d;
        uint64_t guest_frames, sent, mc_sent;
        double dt;
};

static void rx_send(int fd, const uint8_t *frame, size_t len)
{
        if (send(fd, frame, len, 0) < 0 && errno != ENOBUFS && errno != EAGAIN)
                ck_abort_msg("send: %s", strerror(errno));
}

static struct rx_result rx_blast(double rate_bps, double mc_bps, double warm, double secs)
{
        static const uint8_t unjoined[6] = {0x01, 0x00, 0x5e, 0x0a, 0x0b, 0x0c};
        static uint8_t frame[1514], mc[1514];
        struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                                  .sll_protocol = htons(ETH_P_ALL),
                                  .sll_ifindex = (int)if_nametoindex(vifs[0])};
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        struct rx_result res = {0};
        struct nbstats before = {0}, after;
        uint64_t g0 = 0;
        bool measuring = false;

        ck_assert_msg(fd >= 0 && sll.sll_ifindex > 0 &&
                          bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == 0,
                      "packet socket on %s: %s", vifs[0], strerror(errno));
        memcpy(frame, (uint8_t[]){0x00, 0x16, 0x3e, 0x00, 0x00, 0x05}, 6);
        memcpy(frame + 6, far_mac, 6);
        frame[12] = RX_ETHERTYPE >> 8;
        frame[13] = RX_ETHERTYPE & 0xff;
        memcpy(mc, frame, sizeof(mc));
        memcpy(mc, unjoined, 6);
        double t0 = now_s(), t_meas = 0, per_frame = sizeof(frame) * 8 / rate_bps;
        double per_mc = mc_bps > 0 ? sizeof(mc) * 8 / mc_bps : 0;
        uint64_t sent = 0, mc_sent = 0, sent0 = 0, mc_sent0 = 0;
        for (;;) {
                double t = now_s() - t0;
                if (!measuring && t >= warm) {
                        before = stats(0);
                        g0 = sh[0].rx_ours;
                        t_meas = now_s();
                        sent0 = sent;
                        mc_sent0 = mc_sent;
                        measuring = true;
                }
                if (t >= warm + secs)
                        break;
                /* Paced: what is due by now, in bursts. */
                while ((double)sent * per_frame < t) {
                        rx_send(fd, frame, sizeof(frame));
                        sent++;
                }
                while (per_mc > 0 && (double)mc_sent * per_mc < t) {
                        rx_send(fd, mc, sizeof(mc));
                        mc_sent++;
                }
                sleep_s(0.001);
        }
        after = stats(0);
        res.dt = now_s() - t_meas;
        sleep_s(0.1); /* the guest takes what was delivered last */
        res.guest_frames = sh[0].rx_ours - g0;
        res.sent = sent - sent0;
        res.mc_sent = mc_sent - mc_sent0;
        nbstats_delta(&before, &after, &res.d);
        close(fd);
        return res;
}

START_TEST(rx_beyond_allocation_dropped_before_grant_copy)
{
        struct rx_result r = {0};
        bool ok = false;
        if (skip())
                return;
        up();
        /* A may receive 50 Mbit/s; 200 are sent to it. */
        set(vifs[0], "qos.max", "50M");
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                r = rx_blast(200e6, 0, WARM_S, WINDOW_S);
                double got = (double)r.d.rx_bytes * 8 / r.dt;
                printf("nb_qos: rx to A (max 50M) at 200 Mbit/s: delivered %.1f Mbit/s, %llu "
                       "packets, %llu grant-copy segments, %llu dropped early (%llu bytes), "
                       "guest got %llu\n",
                       got / 1e6, (unsigned long long)r.d.rx_packets,
                       (unsigned long long)r.d.rx_gcopy_segs, (unsigned long long)r.d.rx_drop_qos,
                       (unsigned long long)r.d.rx_drop_qos_bytes,
                       (unsigned long long)r.guest_frames);
                ok = got <= 1.1 * 50e6 && got >= 0.7 * 50e6 && r.d.rx_drop_qos > r.d.rx_packets;
        }
        double got = (double)r.d.rx_bytes * 8 / r.dt;
        ck_assert_msg(got <= 1.1 * 50e6 && got >= 0.7 * 50e6, "delivered %.1f Mbit/s, max 50",
                      got / 1e6);
        /* About three in four were beyond the allocation, dropped early. */
        ck_assert_msg(r.d.rx_drop_qos > r.d.rx_packets, "early drops %llu, delivered %llu",
                      (unsigned long long)r.d.rx_drop_qos, (unsigned long long)r.d.rx_packets);
        /* Grant copies only for what was delivered (a 1514-byte frame is
         * one segment, two at most if it straddled a page), none for the
         * dropped. */
        ck_assert_uint_ge(r.d.rx_gcopy_segs, r.d.rx_packets);
        ck_assert_uint_le(r.d.rx_gcopy_segs, 2 * r.d.rx_packets);
        ck_assert_uint_eq(r.d.rx_drop_stall + r.d.rx_drop_size + r.d.rx_gcopy_errors, 0);
        /* The guest got what pvbackd delivered (reads are not simultaneous:
         * a few frames either way). */
        ck_assert_msg(r.guest_frames + 64 >= r.d.rx_packets &&
                          r.guest_frames <= r.d.rx_packets + 64,
                      "guest received %llu, pvbackd delivered %llu",
                      (unsigned long long)r.guest_frames, (unsigned long long)r.d.rx_packets);
        ck_assert_msg(qos_field(vifs[0], "rx_drop_qos") > 0, "rx_drop_qos not shown");
        ck_assert_double_eq(qos_field(vifs[0], "allocation_rx"), 50e6);

        /* The guest reconnects: its settings stay, its counters start
         * again from zero, and the limit holds from the new baseline. */
        sh[0].stop = 1;
        ck_assert_int_eq(simhost_wait(guests[0], 10000), 0);
        memset((void *)&sh[0], 0, sizeof(sh[0]));
        guests[0] = simhost_spawn(&world.host, domids[0], guest_main, (void *)(intptr_t)0);
        ck_assert(guests[0] > 0);
        for (double end = now_s() + 30; !sh[0].ready; sleep_s(0.01))
                ck_assert_msg(!sh[0].failed && now_s() < end, "guest A did not reconnect: %s",
                              sh[0].err);
        ck_assert_double_eq(qos_field(vifs[0], "max"), 50e6);
        ok = false;
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                r = rx_blast(200e6, 0, WARM_S, WINDOW_S);
                got = (double)r.d.rx_bytes * 8 / r.dt;
                printf("nb_qos: after reconnecting: delivered %.1f Mbit/s, %llu dropped early\n",
                       got / 1e6, (unsigned long long)r.d.rx_drop_qos);
                ok = got <= 1.1 * 50e6 && got >= 0.7 * 50e6 && r.d.rx_drop_qos > r.d.rx_packets;
        }
        ck_assert_msg(ok, "after reconnecting: %.1f Mbit/s delivered, %llu dropped", got / 1e6,
                      (unsigned long long)r.d.rx_drop_qos);
        down();
}
END_TEST

/* A flood to a multicast group guest A never joined is dropped by the
 * multicast filter, and only what passes it is charged to A's RX
 * allocation: beside 200 Mbit/s of unjoined multicast, the 40 Mbit/s of
 * unicast under a 50M maximum all arrive, and QoS drops (next to) nothing.
 * Charged before the filter, the flood is counted as QoS drops (about
 * 190 Mbit/s of them), which also reads as demand to the scheduler. */
START_TEST(rx_unjoined_multicast_costs_no_allocation)
{
        struct rx_result r = {0};
        bool ok = false;
        double got = 0, qos = 0;
        if (skip())
                return;
        up();
        set(vifs[0], "qos.max", "50M");
        for (int i = 0; i < ATTEMPTS && !ok; i++) {
                r = rx_blast(40e6, 200e6, WARM_S, WINDOW_S);
                got = (double)r.d.rx_bytes * 8 / r.dt;
                qos = (double)r.d.rx_drop_qos_bytes * 8 / r.dt;
                printf("nb_qos: rx to A (max 50M): unicast 40 Mbit/s delivered at %.1f Mbit/s "
                       "beside 200 Mbit/s of unjoined multicast (%llu sent, %llu dropped by the "
                       "filter), %.1f Mbit/s dropped by QoS\n",
                       got / 1e6, (unsigned long long)r.mc_sent,
                       (unsigned long long)r.d.rx_drop_mcast, qos / 1e6);
                ok = got >= 0.85 * 40e6 && qos < 0.1 * 40e6 &&
                     r.d.rx_drop_mcast >= r.mc_sent * 9 / 10;
        }
        ck_assert_msg(r.d.rx_drop_mcast >= r.mc_sent * 9 / 10,
                      "%llu of %llu multicast frames dropped by the filter",
                      (unsigned long long)r.d.rx_drop_mcast, (unsigned long long)r.mc_sent);
        ck_assert_msg(qos < 0.1 * 40e6, "%.1f Mbit/s dropped by QoS", qos / 1e6);
        ck_assert_msg(got >= 0.85 * 40e6, "unicast delivered at %.1f Mbit/s of 40", got / 1e6);
        /* The guest got unicast only. */
        ck_assert_msg(r.guest_frames <= r.d.rx_packets + 64, "guest received %llu, pvbackd %llu",
                      (unsigned long long)r.guest_frames, (unsigned long long)r.d.rx_packets);
        down();
}
END_TEST

static Suite *nb_qos_suite(void)
{
        Suite *s = suite_create("nb_qos");
        TCase *tc = tcase_create("qos");
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, capped_guest_frees_capacity_to_its_neighbour);
        tcase_add_test(tc, minimum_holds_against_a_greedy_neighbour);
        tcase_add_test(tc, rx_beyond_allocation_dropped_before_grant_copy);
        tcase_add_test(tc, rx_unjoined_multicast_costs_no_allocation);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nb_qos_suite)
