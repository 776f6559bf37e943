/* netback against hostile frontends, on the simulator with the real pvbackd:
 * every malformed TX request class of `pvback-netfront hostile` is sent on
 * vif5.0 while vif6.0 carries verified traffic before, during and after
 * (generator frames injected at its TAP, reflected by `pvback-netfront echo`
 * in domain 6, payload digests compared). Fatal classes disable vif5.0 alone
 * (error node, log line, carrier 0); legal and drop classes are answered as
 * Linux netback answers them; pvbackd never dies. A GSO packet below the
 * software segmenter's floor, sent while vif5.0's TAP has tso off, is
 * answered OKAY as Linux netback would, dropped and counted, and the frame
 * after it is forwarded. Not for the parser's case table
 * (tests/unit/test_nb_tx_parse.c). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "check_main.h"
#include "proc.h"
#include "nbworld.h"
#include "nbecho.h"
#include "nf_gen.h"
#include "simhost.h"
#include "xb.h"

#define BAD_DOM      5 /* the hostile guest */
#define GOOD_DOM     6 /* the guest whose traffic must keep flowing */
#define GOOD_MAC     "00:16:3e:00:00:06"
#define BAD_MAC      "00:16:3e:00:00:05"
#define WINDOW       32u  /* frames in flight on the good vif */
#define BURST_BEFORE 512u /* frames before the first class and after the last */
#define BURST_DURING 64u  /* per round while a hostile frontend runs */
#define BURST_AFTER  256u /* after each class */
#define STALL_MS     5000

static struct nbw world; /* local: pvbackd and both vifs in this namespace */
static pid_t echo_pid = -1, hostile_pid = -1;

/* ---- processes ---------------------------------------------------------- */

/* Check's fork mode skips teardown after a failed assertion: the guests'
 * processes go at exit (nbworld takes pvbackd and the host). */
static void cleanup(void)
{
        proc_reap(&hostile_pid);
        proc_reap(&echo_pid);
}

static pid_t spawn(uint16_t domid, const char *const argv[], const char *out)
{
        const struct proc_exec e = {.argv = argv, .out_path = out, .append = true};
        pid_t pid = simhost_spawn_exec(&world.host, domid, &e);
        ck_assert_int_gt(pid, 0);
        return pid;
}

static void assert_daemon_alive(const char *when)
{
        ck_assert_msg(waitpid(world.pvbackd, NULL, WNOHANG) == 0, "pvbackd died %s", when);
}

/* How many times needle occurs in the file (the log grows over the test). */
static unsigned file_count(const char *path, const char *needle)
{
        static char buf[4 << 20];
        FILE *f = fopen(path, "re");
        unsigned count = 0;
        size_t n;
        if (!f)
                return 0;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        for (const char *p = buf; (p = strstr(p, needle)); p += strlen(needle))
                count++;
        return count;
}

/* ---- the world: namespace, host, pvbackd -------------------------------- */

static void make_world(void)
{
        static const uint16_t doms[] = {BAD_DOM, GOOD_DOM, 0};
        static const char *const args[] = {"--workers", "2", "--log-level", "info", NULL};
        const struct nbw_opts o = {.local = true, .domids = doms};
        char why[512];
        atexit(cleanup);
        ck_assert_msg(nbw_up(&world, &o, why, sizeof(why)) == 0, "%s", why);
        ck_assert_int_eq(nbw_pvbackd_start(&world, NULL, args), 0);
}

static void attach(uint16_t domid, const char *mac)
{
        char dom[8];
        snprintf(dom, sizeof(dom), "%u", domid);
        const char *args[] = {"vif",   "attach", "--domid",  dom,          "--devid", "0",
                              "--mac", mac,      "--script", world.script, NULL};
        ck_assert_msg(simhost_cli(&world.host, NULL, 0, args) == 0, "attaching a vif to domain %u",
                      domid);
}

static void detach(uint16_t domid)
{
        char dom[8], ifname[IFNAMSIZ];
        snprintf(dom, sizeof(dom), "%u", domid);
        snprintf(ifname, sizeof(ifname), "vif%u.0", domid);
        const char *args[] = {"vif", "detach", "--domid", dom, "--devid", "0", NULL};
        ck_assert_msg(simhost_cli(&world.host, NULL, 0, args) == 0, "detaching vif%u.0", domid);
        uint64_t end = now_ms() + 10000;
        while (if_nametoindex(ifname) != 0 && now_ms() < end)
                sleep_ms(10);
        ck_assert_msg(if_nametoindex(ifname) == 0, "%s still exists after detach", ifname);
}

/* A key of vif<domid>.0's backend directory, as dom0 reads it (NULL if none). */
static char *be_read(uint16_t domid, const char *key)
{
        char dir[96], *v = NULL;
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        snprintf(dir, sizeof(dir), "/local/domain/0/backend/vif/%u/0", domid);
        if (xs && xb_read_str(xs, XBT_NULL, dir, key, &v) < 0)
                v = NULL;
        if (xs)
                xs_close(xs);
        return v;
}

static bool be_key_is(uint16_t domid, const char *key, const char *want)
{
        char *v = be_read(domid, key);
        bool ok = v && !strcmp(v, want);
        free(v);
        return ok;
}

static bool wait_be_key(uint16_t domid, const char *key, const char *want, int ms)
{
        for (uint64_t end = now_ms() + (uint64_t)ms; now_ms() < end; sleep_ms(10))
                if (be_key_is(domid, key, want))
                        return true;
        return false;
}

/* xenbus_dev_error's node for vif<domid>.0, or NULL. */
static char *error_node(uint16_t domid)
{
        char dir[96], *v = NULL;
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        snprintf(dir, sizeof(dir), "/local/domain/0/error/backend/vif/%u/0", domid);
        if (xs && xb_read_str(xs, XBT_NULL, dir, "error", &v) < 0)
                v = NULL;
        if (xs)
                xs_close(xs);
        return v;
}

/* ---- verified traffic on the good vif ------------------------------------ */

/* Frames go into vif6.0 at the TAP (towards the guest), the guest's echo
 * sends them back with the addresses swapped, and the same packet socket
 * reads them: both directions of vif6.0 carry every byte, checked against
 * the generator's pattern and digest. */
struct good_link {
        int fd;
        int ifindex;
        uint32_t seed;
        uint64_t frames, bytes; /* verified so far, over all bursts */
};

static void good_link_open(struct good_link *l)
{
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
        int buf = 4 << 20;
        l->ifindex = (int)if_nametoindex("vif6.0");
        ck_assert_int_ne(l->ifindex, 0);
        l->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        ck_assert_int_ge(l->fd, 0);
        sll.sll_ifindex = l->ifindex;
        ck_assert_int_eq(bind(l->fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
        setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
        setsockopt(l->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
}

/* n frames through the echo and back; fails the test unless every one came
 * back intact. */
static void good_burst(struct good_link *l, uint32_t n, const char *when)
{
        const struct nbecho_flow f = {.domid = GOOD_DOM, .flows = 4, .seed = ++l->seed};
        const struct nbecho_pace p = {.frames = n, .window = WINDOW, .stall_ms = STALL_MS};
        struct nbecho_result r;
        int rc = nbecho_run(l->fd, &f, &p, &r);
        const struct nf_verify *v = &r.back;
        ck_assert_msg(rc != -ETIMEDOUT,
                      "%s: vif6.0 stalled: %llu of %u frames came back (%llu sent)", when,
                      (unsigned long long)v->frames, n, (unsigned long long)r.sent_frames);
        ck_assert_msg(rc == 0, "%s: injecting a frame: %s", when, strerror(-rc));
        ck_assert_msg(v->bad_bytes == 0 && v->bad_csum == 0,
                      "%s: vif6.0 corrupted traffic: %llu bad bytes, %llu bad checksums", when,
                      (unsigned long long)v->bad_bytes, (unsigned long long)v->bad_csum);
        ck_assert_msg(v->frames == r.sent_frames && v->digest == r.sent_digest &&
                          v->payload_bytes == r.sent_payload,
                      "%s: vif6.0 digest %016llx over %llu frames, sent %016llx over %llu", when,
                      (unsigned long long)v->digest, (unsigned long long)v->frames,
                      (unsigned long long)r.sent_digest, (unsigned long long)r.sent_frames);
        l->frames += v->frames;
        l->bytes += v->payload_bytes;
}

/* ---- the hostile classes ------------------------------------------------- */

enum expect { EXPECT_OKAY, EXPECT_DROP, EXPECT_FATAL };

struct hostile_case {
        const char *cls;
        enum expect expect;
        const char *reason; /* in the error node (fatal) or the drop warning */
        bool sw_gso;        /* vif5.0's TAP without tso: pvbackd segments GSO itself */
        bool idle_wait;     /* no vif6.0 traffic meanwhile: pvbackd's CPU time is judged */
};

/* What Linux netback does with each (xenvif_count_requests,
 * xenvif_tx_build_gops, xenvif_get_extras, xenvif_set_skb_gso; slots counted
 * after the first: >= 18 more drops the packet, >= 20 more is fatal). A grant
 * the guest cannot back is treated as hostile here (Linux answers an error
 * and keeps the vif): the issue asks for the vif to be disabled. */
static const struct hostile_case cases[] = {
    {"oversize-slot", EXPECT_FATAL, "slot 0 offset+size 4196 > 4096", false, false},
    {"too-many-slots", EXPECT_FATAL, "slot 21: 21 slots after the first > fatal limit 20", false,
     false},
    {"slots-18", EXPECT_OKAY, NULL, false, false},
    {"slots-19", EXPECT_OKAY, NULL, false, false},
    {"slots-20", EXPECT_DROP, "slot 19: 19 slots after the first > limit 18", false, false},
    {"slots-21", EXPECT_DROP, "slot 19: 19 slots after the first > limit 18", false, false},
    {"bad-gref", EXPECT_FATAL, "tx slot 0 gref 268435455: grant copy bad_gntref (-3)", false,
     false},
    /* The simulator says general_error where Xen says permission_denied. */
    {"foreign-gref", EXPECT_FATAL, ": grant copy ", false, false},
    {"bad-extra-type", EXPECT_FATAL, "slot 1 extra type 7 invalid", false, false},
    {"gso-without-size", EXPECT_FATAL, "slot 1 GSO size 0", false, false},
    {"req-prod-far", EXPECT_FATAL, "req_prod - req_cons = 1001 > ring size 256", false, false},
    {"tiny-slots", EXPECT_OKAY, NULL, false, false},
    /* Any non-zero size is legal (Linux xenvif_set_skb_gso); below the
     * segmenter's floor pvbackd cannot segment it and drops it alone. */
    {"gso-size-1", EXPECT_OKAY,
     "vif5.0 q0: dropping a tx gso packet of 254 bytes, mss 1, 54 header bytes: cannot segment "
     "it",
     true, false},
    /* Waiting for the rest of a frame is waiting, not spinning: pvbackd
     * takes almost no CPU while the guest holds the second slot back. */
    {"unfinished", EXPECT_OKAY, NULL, false, true},
};

static const char *const expect_arg[] = {"okay", "error", "fatal"};

/* ---- what reached vif5.0's TAP, and what pvbackd counted ------------------ */

static int bad_tap_open(void)
{
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
        ck_assert_int_ge(fd, 0);
        sll.sll_ifindex = (int)if_nametoindex("vif5.0");
        ck_assert_int_ne(sll.sll_ifindex, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
        return fd;
}

/* The hostile frames (IPv4 from BAD_MAC, ports 7 → 9) the TAP received, by
 * IP protocol: tcp for the GSO packet's segments, udp for the plain frame. */
static void bad_tap_count(int fd, unsigned *tcp, unsigned *udp)
{
        static const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0, 0, BAD_DOM};
        static uint8_t f[65536];
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t r;
        *tcp = *udp = 0;
        while ((r = recvfrom(fd, f, sizeof(f), 0, (struct sockaddr *)&from, &fl)) > 0) {
                fl = sizeof(from);
                if (from.sll_pkttype == PACKET_OUTGOING || r < 14 + 20 + 8 ||
                    memcmp(f + 6, mac, 6) || f[12] != 0x08 || f[13] != 0x00)
                        continue;
                const uint8_t *l4 = f + 14 + (f[14] & 0xf) * 4;
                if (l4 + 4 > f + r || l4[0] != 0 || l4[1] != 7 || l4[2] != 0 || l4[3] != 9)
                        continue;
                if (f[14 + 9] == IPPROTO_TCP)
                        (*tcp)++;
                else if (f[14 + 9] == IPPROTO_UDP)
                        (*udp)++;
        }
}

/* "tx offload ... dropped N" of vif5.0's queue 0 in the last counters line
 * pvbackd logged for it (at the disconnect), into v[0..6]. */
static bool bad_tx_offload(unsigned long long v[7])
{
        static const char key[] = "vif5.0 q0: tx ";
        char *log = nbw_slurp(world.pvbackd_log), *line = NULL, *p;
        bool ok = false;
        for (p = strstr(log, key); p; p = strstr(p + 1, key))
                line = p;
        if (line && (p = strstr(line, "; tx offload ")) != NULL)
                ok = sscanf(p,
                            "; tx offload gso_pass %llu gso_sw %llu gso_sw_segs %llu csum_pass "
                            "%llu csum_sw %llu linearized %llu dropped %llu",
                            &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) == 7;
        free(log);
        return ok;
}

/* CPU time of a process so far, in milliseconds (utime + stime). */
static uint64_t cpu_ms(pid_t pid)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* Fields 14 and 15, counted after the ")" that ends the name. */
        const char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0;
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st), 2);
        return (ut + st) * 1000ull / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* Runs one class against a freshly attached vif5.0, with vif6.0's traffic
 * going on meanwhile; checks what the guest saw, xenstore and the log. */
static void run_case(struct good_link *good, const struct hostile_case *c)
{
        char bin[PATH_MAX], out[PATH_MAX + 32], needle[256];
        static const char disabling[] = "; disabling vif5.0";
        snprintf(needle, sizeof(needle), "%s%s",
                 c->expect == EXPECT_DROP ? "vif5.0 q0: dropping a tx packet: " : "",
                 c->reason ? c->reason : "");
        unsigned logged = c->reason ? file_count(world.pvbackd_log, needle) : 0;
        unsigned disabled = file_count(world.pvbackd_log, disabling);
        unsigned counted = file_count(world.pvbackd_log, "vif5.0 q0: tx ");
        int tap_fd = -1;
        attach(BAD_DOM, BAD_MAC);
        if (c->sw_gso) {
                /* Before the guest connects: pvbackd reads the offloads then. */
                ck_assert_msg(system("ethtool -K vif5.0 tso off >/dev/null 2>&1") == 0,
                              "%s: ethtool -K vif5.0 tso off", c->cls);
                tap_fd = bad_tap_open();
        }
        snprintf(out, sizeof(out), "%s/hostile-%s.out", world.host.dir, c->cls);
        const char *argv[] = {simhost_bin("pvback-netfront", bin, sizeof(bin)),
                              "hostile",
                              "--class",
                              c->cls,
                              "--expect",
                              expect_arg[c->expect],
                              "--wait",
                              "3000",
                              "--timeout",
                              "10",
                              NULL};
        uint64_t cpu0 = cpu_ms(world.pvbackd), t0 = now_ms();
        hostile_pid = spawn(BAD_DOM, argv, out);
        int status = -1;
        uint64_t end = now_ms() + 30000;
        while (now_ms() < end) {
                pid_t r = waitpid(hostile_pid, &status, WNOHANG);
                if (r == hostile_pid)
                        break;
                if (c->idle_wait)
                        sleep_ms(20);
                else
                        good_burst(good, BURST_DURING, c->cls);
        }
        if (c->idle_wait) {
                uint64_t cpu = cpu_ms(world.pvbackd) - cpu0, wall = now_ms() - t0;
                fprintf(stderr, "%-16s pvbackd used %llu ms of CPU in %llu ms\n", c->cls,
                        (unsigned long long)cpu, (unsigned long long)wall);
                ck_assert_msg(cpu * 3 < wall, "%s: pvbackd used %llu ms of CPU in %llu ms", c->cls,
                              (unsigned long long)cpu, (unsigned long long)wall);
        }
        if (waitpid(hostile_pid, &status, WNOHANG) == 0) {
                proc_reap(&hostile_pid);
                ck_abort_msg("%s: the hostile frontend did not finish", c->cls);
        }
        hostile_pid = -1;
        int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (rc != 0)
                proc_print_file(out);
        ck_assert_msg(rc == 0, "%s: pvback-netfront hostile --expect %s exited %d", c->cls,
                      expect_arg[c->expect], rc);
        assert_daemon_alive(c->cls);

        char *err = error_node(BAD_DOM);
        if (c->expect == EXPECT_FATAL) {
                /* Disabled: the reason in the error node and in the log, the
                 * carrier off, the device closing or closed. */
                ck_assert_msg(err && strstr(err, "vif5.0 q0: ") && strstr(err, c->reason),
                              "%s: error node says \"%s\"", c->cls, err ? err : "(nothing)");
                ck_assert_msg(file_count(world.pvbackd_log, needle) == logged + 1 &&
                                  file_count(world.pvbackd_log, disabling) == disabled + 1,
                              "%s: no \"%s...%s\" in pvbackd's log", c->cls, needle, disabling);
                ck_assert_msg(wait_be_key(BAD_DOM, "carrier", "0", 5000), "%s: carrier still on",
                              c->cls);
                char *st = be_read(BAD_DOM, "state");
                ck_assert_msg(st && (!strcmp(st, "5") || !strcmp(st, "6")), "%s: backend state %s",
                              c->cls, st ? st : "(none)");
                free(st);
                fprintf(stderr, "%-16s disabled vif5.0: %s\n", c->cls, err);
        } else {
                ck_assert_msg(!err, "%s: vif5.0 has an error node: %s", c->cls, err);
                if (c->expect == EXPECT_DROP || c->sw_gso)
                        ck_assert_msg(file_count(world.pvbackd_log, needle) == logged + 1,
                                      "%s: no \"%s\" in pvbackd's log", c->cls, needle);
                ck_assert_msg(file_count(world.pvbackd_log, disabling) == disabled,
                              "%s: pvbackd disabled vif5.0", c->cls);
                fprintf(stderr, "%-16s answered %s, vif5.0 kept\n", c->cls,
                        c->expect == EXPECT_OKAY ? "okay" : "error (dropped)");
        }
        free(err);
        good_burst(good, BURST_AFTER, c->cls);
        if (c->sw_gso) {
                /* Nothing of the GSO packet left, the frame after it did. */
                unsigned tcp, udp;
                bad_tap_count(tap_fd, &tcp, &udp);
                close(tap_fd);
                ck_assert_msg(tcp == 0 && udp == 1,
                              "%s: vif5.0's TAP got %u TCP segments and %u plain frames, want 0 "
                              "and 1",
                              c->cls, tcp, udp);
        }
        detach(BAD_DOM);
        assert_daemon_alive(c->cls);
        if (c->sw_gso) {
                /* Counted where Linux would count it: one packet dropped by
                 * the offload path, no segment made. */
                unsigned long long v[7];
                ck_assert_msg(file_count(world.pvbackd_log, "vif5.0 q0: tx ") == counted + 1 &&
                                  bad_tx_offload(v),
                              "%s: no counters logged for vif5.0 q0", c->cls);
                ck_assert_msg(v[1] == 1 && v[2] == 0 && v[6] == 1,
                              "%s: tx offload gso_sw %llu gso_sw_segs %llu dropped %llu, want "
                              "1 0 1",
                              c->cls, v[1], v[2], v[6]);
                fprintf(stderr, "%-16s dropped in software and counted, the next frame passed\n",
                        c->cls);
        }
}

START_TEST(hostile_classes_disable_only_their_vif)
{
        char bin[PATH_MAX], out[PATH_MAX + 32];
        struct good_link good = {.fd = -1};
        make_world();
        attach(GOOD_DOM, GOOD_MAC);
        snprintf(out, sizeof(out), "%s/echo.out", world.host.dir);
        const char *argv[] = {simhost_bin("pvback-netfront", bin, sizeof(bin)), "echo", "--timeout",
                              "10", NULL};
        echo_pid = spawn(GOOD_DOM, argv, out);
        ck_assert_msg(wait_be_key(GOOD_DOM, "state", "4", 10000), "vif6.0 never Connected");
        good_link_open(&good);
        good_burst(&good, BURST_BEFORE, "before");

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                run_case(&good, &cases[i]);

        good_burst(&good, BURST_BEFORE, "after every class");
        ck_assert(be_key_is(GOOD_DOM, "carrier", "1"));
        ck_assert(be_key_is(GOOD_DOM, "state", "4"));
        char *err = error_node(GOOD_DOM);
        ck_assert_msg(!err, "vif6.0 has an error node: %s", err);
        fprintf(stderr, "vif6.0 carried %llu verified frames (%llu payload bytes) each way\n",
                (unsigned long long)good.frames, (unsigned long long)good.bytes);
        close(good.fd);

        /* The echo stops cleanly, then pvbackd does on SIGTERM. */
        kill(echo_pid, SIGTERM);
        ck_assert_int_eq(simhost_wait(echo_pid, 10000), 0);
        echo_pid = -1;
        kill(world.pvbackd, SIGTERM);
        int rc = simhost_wait(world.pvbackd, 20000);
        world.pvbackd = 0;
        ck_assert_msg(rc == 0, "pvbackd exited %d on SIGTERM", rc);
        ck_assert_int_eq(if_nametoindex("vif6.0"), 0);
}
END_TEST

static Suite *netback_hostile_suite(void)
{
        Suite *s = suite_create("netback_hostile");
        TCase *tc = tcase_create("sim");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, hostile_classes_disable_only_their_vif);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netback_hostile_suite)
