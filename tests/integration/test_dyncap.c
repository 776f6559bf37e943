/* The dynamic capability exchange end to end on the simulator (nbworld:
 * pvbackd as dom0, vif1.0 on bridge xenbr0 through the stock vif-bridge,
 * pvback-netfront tap in the guest namespace):
 *  - the vif publishes generation 1 at connect and the netfront acknowledges
 *    it; the control socket shows it; the live keys pass the schema;
 *  - `ethtool -K vif1.0 tso off` while a verified guest→host TCP stream
 *    runs: a new generation with offload/tso4 = sw goes out during the
 *    stream, the netfront acknowledges it, the digest verifies;
 *  - a second vif joins the bridge: the first vif's generation bumps with
 *    uplink/shared = 1 (and again, back to 0, when it leaves), never a
 *    count of the bridge's vifs;
 *  - hostile acks (above the generation, garbage) are refused and counted,
 *    the device stays Connected;
 *  - a change of the guest's preference republishes coalesce/l3, at most
 *    once a second: a guest flipping it 50 times in a burst costs a few
 *    generations, the changes in between are counted as coalesced, and the
 *    last value written is the one in force once the second is over;
 *  - a netfront that ignores the extension still connects and passes
 *    verified traffic;
 *  - `set` of qos.* and coalesce.* keys and of an uplink's capacity
 *    republishes (an unchanged value does not, nor a class default); a
 *    netfront preferring latency gets no L3 hold unless the administrator
 *    sets L3 on the vif; the netfront applies the L5 hints (an unpaced
 *    burst with and without them: kicks compared, pushes deferred);
 *  - a vbd publishes its sections and pvback-blkfront acknowledges them,
 *    counting on from the generation an earlier pvbackd left. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "nbworld.h"
#include "sim_paths.h"

#if defined(__SANITIZE_ADDRESS__)
#define STREAM_BYTES (256ull << 20)
#else
#define STREAM_BYTES (768ull << 20)
#endif

/* Each of the two streams that compare TX kicks without and with hints. */
#define HINT_STREAM (32ull << 20)

/* pvbackd applies a guest's preference at most once per this gap
 * (NB_DYNCAP_PREF_GAP_NS); the test waits it out plus some slack. */
#define PREF_GAP_S  1.0
#define PREF_SETTLE ((useconds_t)((PREF_GAP_S + 0.5) * 1e6))
/* Preference writes of the burst. */
#define PREF_FLIPS 50

#define VIF     "vif1.0"
#define VIF_BE  "/local/domain/0/backend/vif/1/0"
#define VIF_FE  "/local/domain/1/device/vif/0"
#define VIF2_BE "/local/domain/0/backend/vif/1/1"
#define VBD_BE  "/local/domain/0/backend/vbd/1/51712"
#define VBD_FE  "/local/domain/1/device/vbd/51712"

static struct nbw world;

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool skip(void)
{
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0 || !netns_supported() ||
            system("which ethtool >/dev/null 2>&1") != 0) {
                fprintf(stderr, "dyncap: skipped: needs root, network namespaces, /dev/net/tun, "
                                "ethtool and /etc/xen/scripts/vif-bridge\n");
                return true;
        }
        return false;
}

/* ---- xenstore as dom0 ------------------------------------------------------ */

static char *xs_get(const char *path)
{
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        unsigned int len = 0;
        ck_assert_ptr_nonnull(xs);
        char *v = xs_read(xs, XBT_NULL, path, &len);
        xs_close(xs);
        return v;
}

static void xs_put(const char *path, const char *value)
{
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        ck_assert_ptr_nonnull(xs);
        ck_assert(xs_write(xs, XBT_NULL, path, value, strlen(value)));
        xs_close(xs);
}

/* A decimal key as a number; 0 when absent. */
static uint64_t xs_u64(const char *path)
{
        char *v = xs_get(path);
        uint64_t n = v ? strtoull(v, NULL, 10) : 0;
        free(v);
        return n;
}

static bool xs_is(const char *path, const char *want)
{
        char *v = xs_get(path);
        bool eq = v && !strcmp(v, want);
        free(v);
        return eq;
}

/* Lines of text that contain what. */
static unsigned count_lines(const char *text, const char *what)
{
        unsigned n = 0;
        for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
                n++;
        return n;
}

static bool wait_u64(const char *path, uint64_t want, int ms)
{
        for (double end = now_s() + ms / 1000.0; now_s() < end; usleep(20000))
                if (xs_u64(path) == want)
                        return true;
        return xs_u64(path) == want;
}

static bool wait_is(const char *path, const char *want, int ms)
{
        for (double end = now_s() + ms / 1000.0; now_s() < end; usleep(20000))
                if (xs_is(path, want))
                        return true;
        return xs_is(path, want);
}

static void check_key(const char *path, const char *want)
{
        char *v = xs_get(path);
        ck_assert_msg(v && !strcmp(v, want), "%s = %s, expected %s", path, v ? v : "(absent)",
                      want);
        free(v);
}

/* ---- the control socket ---------------------------------------------------- */

/* One control-socket request; the answer (free it). */
static char *ctl(const char *line)
{
        char path[PATH_MAX + 32], buf[65536];
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t n = 0;
        snprintf(path, sizeof(path), "%s/pvbackd-dom0.sock", world.host.dir);
        ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s", path);
        ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
        ck_assert_int_eq(write(fd, "\n", 1), 1);
        for (ssize_t r; n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0;)
                n += (size_t)r;
        close(fd);
        buf[n] = '\0';
        return strdup(buf);
}

static void ctl_ok(const char *line)
{
        char *a = ctl(line);
        ck_assert_msg(a && strstr(a, "\"ok\":true"), "%s: %s", line, a ? a : "(null)");
        free(a);
}

/* `show DEV`'s capabilities object (json_object_put the returned root). */
static struct json_object *show_caps(const char *dev, struct json_object **root)
{
        char path[PATH_MAX + 32], req[64], buf[65536];
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t n = 0;
        snprintf(path, sizeof(path), "%s/pvbackd-dom0.sock", world.host.dir);
        ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s", path);
        int len = snprintf(req, sizeof(req), "show %s\n", dev);
        ck_assert_int_eq(write(fd, req, (size_t)len), len);
        for (ssize_t r; n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0;)
                n += (size_t)r;
        close(fd);
        buf[n] = '\0';
        *root = json_tokener_parse(buf);
        ck_assert_msg(*root, "show %s: not JSON: %.200s", dev, buf);
        struct json_object *devs, *d, *caps;
        ck_assert(json_object_object_get_ex(*root, "devices", &devs));
        ck_assert_int_eq(json_object_array_length(devs), 1);
        d = json_object_array_get_idx(devs, 0);
        ck_assert_msg(json_object_object_get_ex(d, "capabilities", &caps),
                      "show %s has no capabilities", dev);
        return caps;
}

static uint64_t caps_u64(struct json_object *caps, const char *key)
{
        struct json_object *v;
        ck_assert_msg(json_object_object_get_ex(caps, key, &v), "capabilities.%s missing", key);
        return json_object_get_uint64(v);
}

/* The netfront acknowledged generation @gen, and pvbackd has read that
 * acknowledgement (its show says so) or 5 s went by. */
static void wait_acked(uint64_t gen)
{
        struct json_object *root;
        ck_assert_msg(wait_u64(VIF_FE "/capabilities-ack", gen, 5000), "generation %llu not acked",
                      (unsigned long long)gen);
        for (double end = now_s() + 5;; usleep(20000)) {
                uint64_t a = caps_u64(show_caps(VIF, &root), "acked");
                json_object_put(root);
                if (a == gen || now_s() > end)
                        break;
        }
}

static const char *caps_section(struct json_object *caps, const char *sec, const char *key)
{
        struct json_object *s, *x, *v;
        if (!json_object_object_get_ex(caps, "sections", &s) ||
            !json_object_object_get_ex(s, sec, &x) || !json_object_object_get_ex(x, key, &v))
                return NULL;
        return json_object_get_string(v);
}

/* A counter of the vif's queues' stats, summed. */
static uint64_t vif_stat(const char *name)
{
        struct json_object *root, *devs, *qs, *st, *v;
        uint64_t n = 0;
        show_caps(VIF, &root);
        json_object_object_get_ex(root, "devices", &devs);
        if (json_object_object_get_ex(json_object_array_get_idx(devs, 0), "queues", &qs))
                for (size_t i = 0; i < json_object_array_length(qs); i++)
                        if (json_object_object_get_ex(json_object_array_get_idx(qs, i), "stats",
                                                      &st) &&
                            json_object_object_get_ex(st, name, &v))
                                n += json_object_get_uint64(v);
        json_object_put(root);
        return n;
}

/* Guest packets pvbackd moved on the vif so far (every queue). */
static uint64_t vif_tx_packets(void)
{
        return vif_stat("tx_packets");
}

/* ---- pieces of the world ---------------------------------------------------- */

static void netfront_tap(const char *const *args)
{
        char why[4096];
        ck_assert_msg(nbw_netfront_start(&world, "tap", args, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend not Connected");
}

static char *netfront_stop_log(void)
{
        ck_assert_int_eq(nbw_netfront_stop(&world), 0);
        ck_assert_msg(nbw_be_wait(&world, "state", "6", 10000), "backend not Closed");
        return nbw_slurp(world.nf_log);
}

/* The netfront's capability lines, for the test's output. */
static void print_caps_lines(const char *log)
{
        for (const char *p = log; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                if (!strncmp(p, "capabilities:", 13) || !strncmp(p, "dynamic-capabilities:", 21))
                        printf("dyncap: netfront: %.*s\n", (int)len, p);
                p = nl ? nl + 1 : NULL;
        }
        fflush(stdout);
}

static void stream_ok(uint16_t port, uint64_t bytes, const struct nbw_stream *s, int rc)
{
        ck_assert_msg(rc == 0 && s->bytes_received == bytes && s->first_bad == UINT64_MAX &&
                          s->digest_received == s->digest_sent,
                      "port %u: %llu of %llu bytes, first bad %llu, digest %016llx vs %016llx",
                      port, (unsigned long long)s->bytes_received, (unsigned long long)bytes,
                      (unsigned long long)s->first_bad, (unsigned long long)s->digest_received,
                      (unsigned long long)s->digest_sent);
}

/* pvback-xs-validate over the device directories, as dom0. */
static void schema_valid(const char *const paths[])
{
        char bin[PATH_MAX], schema[PATH_MAX], log[PATH_MAX + 32], sock[PATH_MAX], xs[PATH_MAX + 32];
        const char *argv[16];
        int n = 0;
        argv[n++] = simhost_bin("pvback-xs-validate", bin, sizeof(bin));
        snprintf(schema, sizeof(schema), "%s/xenstore-schema",
                 getenv("PVBACK_SRC") ? getenv("PVBACK_SRC") : ".");
        argv[n++] = "--schema-dir";
        argv[n++] = schema;
        for (int i = 0; paths[i] && n < 15; i++)
                argv[n++] = paths[i];
        argv[n] = NULL;
        sim_path_dom(sock, sizeof(sock), world.host.dir, 0, SIM_XS_SOCK);
        snprintf(xs, sizeof(xs), "XENSTORED_PATH=%s", sock);
        const char *env[] = {xs, NULL};
        snprintf(log, sizeof(log), "%s/xs-validate.log", world.host.dir);
        pid_t pid = netns_exec(NULL, SIGKILL, argv, env, log);
        ck_assert_int_gt(pid, 0);
        int rc = simhost_wait(pid, 20000);
        char *text = nbw_slurp(log);
        ck_assert_msg(rc == 0, "pvback-xs-validate exited %d:\n%s", rc, text);
        free(text);
}

/* pvbackd's clean exit (SIGTERM): under the sanitizers a leak or a memory
 * error of any device's life makes it nonzero. */
static void pvbackd_exits_cleanly(void)
{
        ck_assert_msg(kill(world.pvbackd, 0) == 0, "pvbackd died");
        kill(world.pvbackd, SIGTERM);
        int st = simhost_wait(world.pvbackd, 20000);
        world.pvbackd = 0;
        if (st != 0)
                nbw_dump_logs(&world);
        ck_assert_msg(st == 0, "pvbackd exited %d", st);
}

/* ---- vif: publish, ethtool during a stream, a second vif, hostile acks --- */

struct bg_stream {
        uint16_t port;
        uint64_t bytes;
        struct nbw_stream s;
        int rc;
        volatile int done;
};

static void *bg_stream_run(void *arg)
{
        struct bg_stream *b = arg;
        b->rc = nbw_tcp_stream(&world, true, b->bytes, b->port, b->port, &b->s);
        b->done = 1;
        return NULL;
}

/* Waits until pvbackd has read capabilities-preference = @want (`show`'s
 * capabilities.preference is the last value the guest stated). */
static void pref_taken(const char *want)
{
        struct json_object *root, *caps, *pv;
        for (double end = now_s() + 5;; usleep(2000)) {
                caps = show_caps(VIF, &root);
                bool seen = json_object_object_get_ex(caps, "preference", &pv) &&
                            !strcmp(json_object_get_string(pv), want);
                json_object_put(root);
                if (seen)
                        return;
                if (now_s() >= end)
                        nbw_dump_logs(&world);
                ck_assert_msg(now_s() < end, "pvbackd did not take preference %s", want);
        }
}

/* Attaches vif1.1 on the same bridge and connects a second netfront to it
 * (connect mode: no traffic). Returns the netfront's pid; world.netfront
 * and its log stay the first one's. */
static pid_t second_vif_up(void)
{
        char bin[PATH_MAX], log[PATH_MAX + 32], why[4096], nf_log[sizeof(world.nf_log)];
        const char *argv[] = {simhost_bin("pvback-sim", bin, sizeof(bin)),
                              "vif",
                              "attach",
                              "--domid",
                              "1",
                              "--devid",
                              "1",
                              "--mac",
                              "00:16:3e:00:00:02",
                              "--script",
                              "vif-bridge",
                              "--bridge",
                              "xenbr0",
                              "--dir",
                              world.host.dir,
                              NULL};
        snprintf(log, sizeof(log), "%s/attach2.log", world.host.dir);
        pid_t pid = netns_exec(&world.hostns, SIGKILL, argv, NULL, log);
        ck_assert_int_gt(pid, 0);
        int rc = simhost_wait(pid, 60000);
        if (rc != 0) {
                char *text = nbw_slurp(log);
                ck_assert_msg(false, "attaching vif1.1 exited %d: %s", rc, text);
        }
        pid_t first = world.netfront;
        memcpy(nf_log, world.nf_log, sizeof(nf_log));
        const char *args[] = {"--devid", "1", NULL};
        rc = nbw_netfront_start(&world, "connect", args, why, sizeof(why));
        pid_t second = world.netfront;
        world.netfront = first;
        memcpy(world.nf_log, nf_log, sizeof(nf_log));
        ck_assert_msg(rc == 0, "%s", why);
        return second;
}

START_TEST(vif_follows_changes)
{
        char why[4096];
        struct json_object *root, *caps;
        if (skip())
                return;
        ck_assert_msg(nbw_up(&world, NULL, why, sizeof(why)) == 0, "%s", why);
        check_key(VIF_BE "/feature-dynamic-capabilities", "1");

        /* (a) published at connect, acknowledged by the netfront. */
        const char *prefer[] = {"--prefer", "throughput", "-v", NULL};
        netfront_tap(prefer);
        ck_assert_msg(wait_u64(VIF_BE "/capabilities/generation", 1, 5000), "no generation 1");
        ck_assert_msg(wait_u64(VIF_FE "/capabilities-ack", 1, 5000), "generation 1 not acked");
        check_key(VIF_BE "/capabilities/offload/tso4", "hw");
        check_key(VIF_BE "/capabilities/offload/csum4", "hw");
        check_key(VIF_BE "/capabilities/offload/sg", "hw");
        check_key(VIF_BE "/capabilities/uplink/bridge", "xenbr0");
        check_key(VIF_BE "/capabilities/uplink/shared", "0");
        char *count = xs_get(VIF_BE "/capabilities/uplink/vifs");
        ck_assert_msg(!count, "uplink/vifs published: %s", count);
        check_key(VIF_BE "/capabilities/queues/max", "4");
        char *used = xs_get(VIF_BE "/capabilities/queues/used");
        ck_assert_ptr_nonnull(used);
        ck_assert_uint_ge(strtoul(used, NULL, 10), 1);
        free(used);
        check_key(VIF_FE "/capabilities-preference", "throughput");
        for (double end = now_s() + 5;; usleep(20000)) {
                caps = show_caps(VIF, &root);
                if (caps_u64(caps, "acked") == 1 || now_s() > end)
                        break;
                json_object_put(root);
        }
        ck_assert_uint_eq(caps_u64(caps, "generation"), 1);
        ck_assert_uint_eq(caps_u64(caps, "acked"), 1);
        ck_assert_str_eq(caps_section(caps, "offload", "tso4"), "hw");
        ck_assert_str_eq(caps_section(caps, "uplink", "shared"), "0");
        struct json_object *pref;
        ck_assert(json_object_object_get_ex(caps, "preference", &pref));
        ck_assert_str_eq(json_object_get_string(pref), "throughput");
        json_object_put(root);

        /* (b) tso off, then on again, while a verified stream runs: each
         * switch is a new generation the netfront acknowledges. The first
         * comes as soon as guest packets flow. */
        struct bg_stream bg = {.port = 7301, .bytes = STREAM_BYTES};
        uint64_t tx0 = vif_tx_packets();
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, bg_stream_run, &bg), 0);
        for (double end = now_s() + 10; !bg.done && now_s() < end && vif_tx_packets() < tx0 + 50;)
                usleep(5000);
        bool running_at_ethtool = !bg.done;
        ck_assert_int_eq(netns_run(&world.hostns, "ethtool -K " VIF " tso off"), 0);
        double t0 = now_s();
        bool republished = wait_is(VIF_BE "/capabilities/offload/tso4", "sw", 10000);
        double t_pub = now_s() - t0;
        bool running_at_publish = !bg.done;
        uint64_t gen_off = xs_u64(VIF_BE "/capabilities/generation");
        char *tso6_off = xs_get(VIF_BE "/capabilities/offload/tso6");
        char *csum4_off = xs_get(VIF_BE "/capabilities/offload/csum4");
        bool acked = wait_u64(VIF_FE "/capabilities-ack", 2, 10000);
        double t_ack = now_s() - t0;
        bool running_at_ack = !bg.done;
        ck_assert_int_eq(netns_run(&world.hostns, "ethtool -K " VIF " tso on"), 0);
        bool back_on = wait_is(VIF_BE "/capabilities/offload/tso4", "hw", 10000);
        bool acked_on = wait_u64(VIF_FE "/capabilities-ack", 3, 10000);
        bool running_at_on = !bg.done;
        pthread_join(th, NULL);
        printf("dyncap: stream %.0f Mbit/s; tso off published %.3f s and acknowledged %.3f s "
               "after ethtool returned (stream running at ethtool %d, at publish %d, at ack %d, at "
               "tso "
               "on's ack %d)\n",
               nbw_mbps(&bg.s), t_pub, t_ack, running_at_ethtool, running_at_publish,
               running_at_ack, running_at_on);
        fflush(stdout);
        stream_ok(bg.port, bg.bytes, &bg.s, bg.rc);
        ck_assert_msg(running_at_ethtool, "the stream ended before ethtool ran: make it longer");
        ck_assert_msg(republished, "offload/tso4 did not become sw");
        ck_assert_msg(running_at_publish, "the new generation came after the stream ended");
        ck_assert_uint_eq(gen_off, 2);
        ck_assert_msg(acked, "the netfront did not acknowledge generation 2");
        ck_assert_msg(tso6_off && !strcmp(tso6_off, "sw"), "tso6 %s", tso6_off);
        ck_assert_msg(csum4_off && !strcmp(csum4_off, "hw"), "csum4 %s", csum4_off);
        free(tso6_off);
        free(csum4_off);
        ck_assert_msg(back_on && acked_on, "tso on: published %d, acknowledged %d", back_on,
                      acked_on);
        ck_assert_uint_eq(xs_u64(VIF_BE "/capabilities/generation"), 3);

        /* tx off turns both checksums to sw in one new generation; a netdev
         * change no section shows (txqueuelen) publishes nothing. */
        ck_assert_int_eq(netns_run(&world.hostns, "ethtool -K " VIF " tx off"), 0);
        ck_assert_msg(wait_is(VIF_BE "/capabilities/offload/csum4", "sw", 5000), "csum4 not sw");
        ck_assert_msg(wait_u64(VIF_FE "/capabilities-ack", 4, 5000), "generation 4 not acked");
        check_key(VIF_BE "/capabilities/offload/tso4", "sw"); /* Linux drops TSO with it */
        ck_assert_int_eq(netns_run(&world.hostns, "ip link set " VIF " txqueuelen 900"), 0);
        usleep(300000);
        ck_assert_uint_eq(xs_u64(VIF_BE "/capabilities/generation"), 4);

        /* (c) a second vif on the bridge: the first one republishes. */
        pid_t nf2 = second_vif_up();
        ck_assert_msg(wait_is(VIF_BE "/capabilities/uplink/shared", "1", 10000),
                      "vif1.0 did not see the second vif");
        ck_assert_uint_eq(xs_u64(VIF_BE "/capabilities/generation"), 5);
        ck_assert_msg(wait_u64(VIF_FE "/capabilities-ack", 5, 5000), "generation 5 not acked");
        ck_assert_msg(wait_is(VIF2_BE "/capabilities/uplink/shared", "1", 5000),
                      "vif1.1 does not see the bridge shared");
        const char *paths[] = {"/local/domain/0/backend/vif", "/local/domain/1/device/vif", NULL};
        schema_valid(paths);

        /* Hostile acks: refused, counted, the device stays up. pvbackd first
         * takes the netfront's own ack of 5, so that its event cannot read
         * one of the values below. */
        for (double end = now_s() + 5;; usleep(20000)) {
                caps = show_caps(VIF, &root);
                uint64_t a5 = caps_u64(caps, "acked");
                json_object_put(root);
                if (a5 == 5 || now_s() > end)
                        break;
        }
        xs_put(VIF_FE "/capabilities-ack", "99");
        xs_put(VIF_FE "/capabilities-ack", "4x");
        xs_put(VIF_FE "/capabilities-ack", "-1");
        xs_put(VIF_FE "/capabilities-preference", "fastest");
        for (double end = now_s() + 5;; usleep(20000)) {
                caps = show_caps(VIF, &root);
                if (caps_u64(caps, "rejected_acks") >= 3 || now_s() > end)
                        break;
                json_object_put(root);
        }
        ck_assert_uint_eq(caps_u64(caps, "rejected_acks"), 3);
        ck_assert_uint_eq(caps_u64(caps, "rejected_preferences"), 1);
        ck_assert_uint_eq(caps_u64(caps, "acked"), 5);
        ck_assert_uint_eq(caps_u64(caps, "generation"), 5);
        json_object_put(root);
        check_key(VIF_BE "/state", "4");

        /* A guest flipping its preference cannot flood pvbackd's log: the
         * lines about valid changes are rate-limited too (5 per 5 s). The
         * netfront stated throughput; the test puts it back at the end. */
        char *before = nbw_slurp(world.pvbackd_log);
        unsigned lines0 = count_lines(before, "frontend prefers");
        free(before);
        double t12 = now_s();
        for (int i = 0; i < 12; i++) {
                const char *want = i % 2 ? "throughput" : "latency";
                xs_put(VIF_FE "/capabilities-preference", want);
                pref_taken(want); /* each value before the next */
        }
        char *after = nbw_slurp(world.pvbackd_log);
        unsigned flood = count_lines(after, "frontend prefers") - lines0;
        free(after);
        double t12_s = now_s() - t12;
        printf("dyncap: 12 preference changes in %.3f s, %u log lines\n", t12_s, flood);
        fflush(stdout);
        ck_assert_msg(flood <= 5, "%u lines for 12 preference changes", flood);
        /* Each change moved L3 (latency: off, throughput: adaptive), but
         * one within a second of the last applied waits for the second to
         * be over, and goes out with the value stated by then: the first
         * went out at once, the others in at most one generation a
         * second. It ends where it began. */
        usleep(PREF_SETTLE);
        uint64_t gen = xs_u64(VIF_BE "/capabilities/generation");
        ck_assert_msg(gen >= 5 + 2 && gen <= 5 + 2 + (uint64_t)(t12_s / PREF_GAP_S),
                      "12 preference changes in %.3f s: generation %llu (was 5)", t12_s,
                      (unsigned long long)gen);
        check_key(VIF_BE "/capabilities/coalesce/l3", "adaptive");
        check_key(VIF_BE "/capabilities/coalesce/l3-source", "guest");
        wait_acked(gen);

        /* A guest flipping its preference as fast as pvbackd reads it: at
         * most one application (a worker_call per queue and a generation)
         * per second, the changes in between coalesced, and the last value
         * written in force once the second is over. It ends on latency
         * (L3 off), away from the throughput in force. */
        caps = show_caps(VIF, &root);
        uint64_t coalesced0 = caps_u64(caps, "coalesced_preferences");
        json_object_put(root);
        struct xs_handle *guest = simhost_xs_open(&world.host, 0);
        ck_assert_ptr_nonnull(guest);
        double t_flips = now_s();
        for (int i = 1; i <= PREF_FLIPS; i++) {
                const char *v = i % 2 ? "throughput" : "latency";
                ck_assert(
                    xs_write(guest, XBT_NULL, VIF_FE "/capabilities-preference", v, strlen(v)));
                /* Each value seen, so that none is lost to watches that
                 * coalesce: all 49 changes reach the debounce. */
                pref_taken(v);
        }
        double flips_s = now_s() - t_flips;
        xs_close(guest);
        usleep(PREF_SETTLE);
        uint64_t gen_flips = xs_u64(VIF_BE "/capabilities/generation");
        caps = show_caps(VIF, &root);
        uint64_t coalesced = caps_u64(caps, "coalesced_preferences") - coalesced0;
        json_object_put(root);
        /* One at once, then at most one per gap, the last within a gap of
         * the last write: 3 for a burst shorter than the gap. */
        uint64_t bound = 3 + (uint64_t)(flips_s / PREF_GAP_S);
        printf("dyncap: %d preference writes in %.3f s: %llu generations, %llu changes "
               "coalesced\n",
               PREF_FLIPS, flips_s, (unsigned long long)(gen_flips - gen),
               (unsigned long long)coalesced);
        fflush(stdout);
        ck_assert_msg(gen_flips > gen && gen_flips - gen <= bound,
                      "%d preference writes in %.3f s: %llu generations, at most %llu expected",
                      PREF_FLIPS, flips_s, (unsigned long long)(gen_flips - gen),
                      (unsigned long long)bound);
        /* Each change either went out at once (a generation) or waited. */
        ck_assert_msg(coalesced + bound >= PREF_FLIPS - 1,
                      "%llu of %d preference changes coalesced, %llu generations",
                      (unsigned long long)coalesced, PREF_FLIPS - 1,
                      (unsigned long long)(gen_flips - gen));
        check_key(VIF_BE "/capabilities/coalesce/l3", "off");
        check_key(VIF_BE "/capabilities/coalesce/l3-source", "guest");
        check_key(VIF_BE "/state", "4");
        gen = gen_flips;
        wait_acked(gen);
        ck_assert_int_eq(nbw_ping(&world, true, 2), 0);

        /* A value with an embedded NUL is refused and counted like the rest. */
        struct xs_handle *raw = simhost_xs_open(&world.host, 0);
        ck_assert_ptr_nonnull(raw);
        ck_assert(xs_write(raw, XBT_NULL, VIF_FE "/capabilities-ack", "5\0x", 3));
        xs_close(raw);
        for (double end = now_s() + 5;; usleep(20000)) {
                caps = show_caps(VIF, &root);
                if (caps_u64(caps, "rejected_acks") >= 4 || now_s() > end)
                        break;
                json_object_put(root);
        }
        ck_assert_uint_eq(caps_u64(caps, "rejected_acks"), 4);
        ck_assert_uint_eq(caps_u64(caps, "acked"), gen);
        json_object_put(root);
        ck_assert_int_eq(nbw_ping(&world, true, 2), 0);

        /* The second vif leaves: back to one. */
        kill(nf2, SIGTERM);
        ck_assert_int_eq(simhost_wait(nf2, 20000), 0);
        ck_assert_msg(wait_is(VIF_BE "/capabilities/uplink/shared", "0", 10000),
                      "vif1.0 did not see the second vif leave");
        ck_assert_uint_eq(xs_u64(VIF_BE "/capabilities/generation"), gen + 1);
        ck_assert_msg(wait_u64(VIF_FE "/capabilities-ack", gen + 1, 5000),
                      "generation %llu not acked", (unsigned long long)gen + 1);

        char *log = netfront_stop_log();
        print_caps_lines(log);
        char summary[96];
        snprintf(summary, sizeof(summary), "dynamic-capabilities: on, generation %llu acknowledged",
                 (unsigned long long)gen + 1);
        ck_assert_msg(strstr(log, summary), "netfront summary: %s", log);
        ck_assert_msg(strstr(log, "capabilities: generation 2 ") &&
                          strstr(log, "offload/tso4 hw->sw"),
                      "netfront did not report the tso change: %s", log);
        free(log);
        /* Withdrawn with the connection. */
        ck_assert_ptr_null(xs_get(VIF_BE "/capabilities"));

        /* (d) a frontend that ignores the extension. */
        const char *plain[] = {"--no-dynamic-capabilities", NULL};
        netfront_tap(plain);
        ck_assert_msg(wait_u64(VIF_BE "/capabilities/generation", gen + 2, 5000),
                      "no generation for the new connection");
        ck_assert_int_eq(nbw_ping(&world, true, 2), 0);
        struct nbw_stream s;
        int rc = nbw_tcp_stream(&world, true, 16ull << 20, 7302, 7302, &s);
        stream_ok(7302, 16ull << 20, &s, rc);
        rc = nbw_tcp_stream(&world, false, 16ull << 20, 7303, 7303, &s);
        stream_ok(7303, 16ull << 20, &s, rc);
        caps = show_caps(VIF, &root);
        ck_assert_uint_eq(caps_u64(caps, "acked"), 0); /* the stale 6 is not this connection's */
        json_object_put(root);
        log = netfront_stop_log();
        ck_assert_msg(strstr(log, "dynamic-capabilities: off (not implemented by request)"),
                      "netfront summary: %s", log);
        free(log);

        pvbackd_exits_cleanly();
        nbw_down(&world);
}
END_TEST

/* ---- vif: the administrator's settings and the guest's preference --------- */

/* Queue 0's coalesce.l3.mode and .source and coalesce.preference in `show`,
 * "mode/source/preference". */
static void show_l3(char *out, size_t len)
{
        struct json_object *root, *devs, *qs, *co, *l3, *m, *src, *pref;
        show_caps(VIF, &root);
        ck_assert(json_object_object_get_ex(root, "devices", &devs));
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(devs, 0), "queues", &qs));
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(qs, 0), "coalesce", &co));
        ck_assert(json_object_object_get_ex(co, "l3", &l3));
        ck_assert(json_object_object_get_ex(l3, "mode", &m));
        ck_assert_msg(json_object_object_get_ex(l3, "source", &src), "no coalesce.l3.source");
        ck_assert_msg(json_object_object_get_ex(co, "preference", &pref), "no coalesce.preference");
        snprintf(out, len, "%s/%s/%s", json_object_get_string(m), json_object_get_string(src),
                 json_object_get_string(pref));
        json_object_put(root);
}

/* The generation after @gen went out and the netfront acknowledged it. */
static void next_gen(uint64_t *gen, const char *why)
{
        ck_assert_msg(wait_u64(VIF_BE "/capabilities/generation", *gen + 1, 5000),
                      "%s: generation %llu, expected %llu", why,
                      (unsigned long long)xs_u64(VIF_BE "/capabilities/generation"),
                      (unsigned long long)*gen + 1);
        ck_assert_msg(wait_u64(VIF_FE "/capabilities-ack", *gen + 1, 5000), "%s: not acked", why);
        (*gen)++;
}

/* No new generation for a while after something that must not publish. */
static void same_gen(uint64_t gen, const char *why)
{
        usleep(300000);
        ck_assert_msg(xs_u64(VIF_BE "/capabilities/generation") == gen,
                      "%s published generation %llu (was %llu)", why,
                      (unsigned long long)xs_u64(VIF_BE "/capabilities/generation"),
                      (unsigned long long)gen);
}

/* A number from "KEY N" in the netfront's output, or -1. */
static long long log_number(const char *log, const char *key)
{
        const char *p = log ? strstr(log, key) : NULL;
        return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* One unpaced burst of the netfront's generator under the backend's
 * current settings, with or without the hints: frames sent, kicks, pushes
 * tx-kick-batch left for a later frame (-1: hint not applied). */
struct gen_burst {
        long long frames, kicks, deferred;
};

static void gen_burst(bool hints, struct gen_burst *out)
{
        char why[4096];
        const char *args[] = {"--count", "20000", hints ? NULL : "--no-coalescing-hints", NULL};
        ck_assert_msg(nbw_netfront_start(&world, "gen", args, why, sizeof(why)) == 0, "%s", why);
        ck_assert_int_eq(simhost_wait(world.netfront, 60000), 0);
        world.netfront = 0;
        ck_assert_msg(nbw_be_wait(&world, "state", "6", 10000), "backend not Closed");
        char *log = nbw_slurp(world.nf_log);
        out->frames = log_number(log, "tx: ");
        out->kicks = log_number(log, "notifications: sent tx ");
        out->deferred = log_number(log, "tx-kick-batch 32 (");
        free(log);
}

START_TEST(vif_settings_and_preference)
{
        char why[4096], l3[96];
        if (skip())
                return;
        ck_assert_msg(nbw_up(&world, NULL, why, sizeof(why)) == 0, "%s", why);

        /* (c) A guest preferring latency: L3 holds nothing for it from the
         * first generation on, and `show` says why. No -v: the netfront
         * prints no line per generation. */
        const char *latency[] = {"--prefer", "latency", NULL};
        netfront_tap(latency);
        uint64_t gen = 0;
        next_gen(&gen, "connect");
        check_key(VIF_BE "/capabilities/coalesce/l3", "off");
        check_key(VIF_BE "/capabilities/coalesce/l3-source", "guest");
        check_key(VIF_BE "/capabilities/coalesce/l2", "adaptive");
        check_key(VIF_BE "/capabilities/coalesce/l1", "n/a");
        check_key(VIF_BE "/capabilities/coalesce/tx-kick-batch", "1");
        check_key(VIF_BE "/capabilities/coalesce/rx-poll-us", "0");
        check_key(VIF_BE "/capabilities/qos/max", "0");
        check_key(VIF_BE "/capabilities/qos/weight", "1");
        char *cap = xs_get(VIF_BE "/capabilities/qos/capacity");
        ck_assert_msg(!cap, "qos/capacity without one set: %s", cap);
        show_l3(l3, sizeof(l3));
        ck_assert_str_eq(l3, "off/guest/latency");
        /* A guest->host stream without TX batching (tx-kick-batch 1), to
         * compare with the one under the hints below. */
        struct nbw_stream st;
        uint64_t pk0 = vif_stat("tx_packets"), ev0 = vif_stat("tx_events");
        int rc = nbw_tcp_stream(&world, true, HINT_STREAM, 7310, 7310, &st);
        stream_ok(7310, HINT_STREAM, &st, rc);
        uint64_t pk1 = vif_stat("tx_packets"), ev1 = vif_stat("tx_events");

        /* (a) qos.max: a new generation with it, acknowledged. */
        ctl_ok("set " VIF " qos.max 100M");
        next_gen(&gen, "qos.max 100M");
        check_key(VIF_BE "/capabilities/qos/max", "100000000");
        check_key(VIF_BE "/capabilities/qos/max-rx", "100000000");
        ctl_ok("set " VIF " qos.max 100M");
        same_gen(gen, "qos.max 100M again");

        /* (b) the administrator's L3 outranks the guest's preference; the
         * same value again, or a class default, publishes nothing. */
        ctl_ok("set " VIF " coalesce.l3 fixed");
        next_gen(&gen, "coalesce.l3 fixed");
        check_key(VIF_BE "/capabilities/coalesce/l3", "fixed");
        check_key(VIF_BE "/capabilities/coalesce/l3-source", "admin");
        ctl_ok("set " VIF " coalesce.l3 fixed");
        same_gen(gen, "coalesce.l3 fixed again");
        ctl_ok("set vif coalesce.l3 off");
        same_gen(gen, "a class default");
        ctl_ok("set " VIF " coalesce.l3 adaptive");
        next_gen(&gen, "coalesce.l3 adaptive");
        check_key(VIF_BE "/capabilities/coalesce/l3", "adaptive");
        check_key(VIF_BE "/capabilities/coalesce/tx-kick-batch", "32");
        check_key(VIF_BE "/capabilities/coalesce/rx-poll-us", "128");
        show_l3(l3, sizeof(l3));
        ck_assert_str_eq(l3, "adaptive/admin/latency");
        /* The guest changing its mind does not undo the administrator's. */
        xs_put(VIF_FE "/capabilities-preference", "throughput");
        same_gen(gen, "a preference under an administrator's L3");
        show_l3(l3, sizeof(l3));
        ck_assert_str_eq(l3, "adaptive/admin/throughput");

        /* (d) an uplink's capacity reaches every vif on it. */
        ctl_ok("set uplink:xenbr0 capacity 1G");
        next_gen(&gen, "uplink capacity 1G");
        check_key(VIF_BE "/capabilities/qos/capacity", "1000000000");
        const char *paths[] = {"/local/domain/0/backend/vif", "/local/domain/1/device/vif", NULL};
        schema_valid(paths);

        /* (e) traffic under the hints, then the netfront's summary. */
        uint64_t pk2 = vif_stat("tx_packets"), ev2 = vif_stat("tx_events");
        rc = nbw_tcp_stream(&world, true, HINT_STREAM, 7311, 7311, &st);
        stream_ok(7311, HINT_STREAM, &st, rc);
        uint64_t pk3 = vif_stat("tx_packets"), ev3 = vif_stat("tx_events");
        /* L3 differs between the two as well: the netfront's "pushes
         * deferred" is what the batch itself did. */
        printf("dyncap: guest->host %llu MiB: L3 off, tx-kick-batch 1: %llu packets, %llu TX "
               "wake-ups (%.1f per 1000); L3 adaptive, tx-kick-batch 32: %llu packets, %llu "
               "(%.1f per 1000)\n",
               (unsigned long long)(HINT_STREAM >> 20), (unsigned long long)(pk1 - pk0),
               (unsigned long long)(ev1 - ev0),
               pk1 > pk0 ? 1000.0 * (double)(ev1 - ev0) / (double)(pk1 - pk0) : 0.0,
               (unsigned long long)(pk3 - pk2), (unsigned long long)(ev3 - ev2),
               pk3 > pk2 ? 1000.0 * (double)(ev3 - ev2) / (double)(pk3 - pk2) : 0.0);
        ck_assert_int_eq(nbw_ping(&world, true, 3), 0);
        char *log = netfront_stop_log();
        ck_assert_msg(!strstr(log, "capabilities: generation"),
                      "a netfront without -v printed generations: %s", log);
        const char *hints = log ? strstr(log, "coalescing-hints:") : NULL;
        ck_assert_msg(hints, "no coalescing-hints line: %s", log);
        printf("dyncap: netfront %.*s\n", (int)strcspn(hints, "\n"), hints);
        const char *notif = strstr(log, "notifications:");
        if (notif)
                printf("dyncap: netfront %.*s\n", (int)strcspn(notif, "\n"), notif);
        fflush(stdout);
        ck_assert_msg(log_number(hints, "tx-kick-batch ") == 32, "%s", hints);
        ck_assert_msg(log_number(hints, "rx-poll-us ") == 128, "%s", hints);
        ck_assert_msg(log_number(hints, "us 128 (") > 0, "rx-poll-us never spun: %s", hints);
        free(log);

        /* The batch's own effect, the backend's settings unchanged: the
         * same unpaced burst without and with the hints. */
        struct gen_burst off, on;
        gen_burst(false, &off);
        gen_burst(true, &on);
        printf("dyncap: generator 20000 frames: without hints %lld kicks (%.1f per 1000 frames), "
               "with tx-kick-batch 32 %lld kicks (%.1f per 1000), %lld pushes deferred\n",
               off.kicks, off.frames > 0 ? 1000.0 * (double)off.kicks / (double)off.frames : 0.0,
               on.kicks, on.frames > 0 ? 1000.0 * (double)on.kicks / (double)on.frames : 0.0,
               on.deferred);
        fflush(stdout);
        ck_assert_int_eq(off.frames, 20000);
        ck_assert_int_eq(on.frames, 20000);
        ck_assert_int_eq(off.deferred, -1); /* --no-coalescing-hints: none applied */
        ck_assert_msg(on.deferred > 0, "tx-kick-batch deferred no push of an unpaced burst");

        pvbackd_exits_cleanly();
        nbw_down(&world);
}
END_TEST

/* ---- vbd ------------------------------------------------------------------ */

START_TEST(vbd_publishes_and_blkfront_acks)
{
        char why[4096], disk[PATH_MAX + 16], script[PATH_MAX + 64], bin[PATH_MAX],
            out[PATH_MAX + 32], sock[PATH_MAX], xs[PATH_MAX + 32];
        if (skip())
                return;
        ck_assert_msg(nbw_up(&world, NULL, why, sizeof(why)) == 0, "%s", why);
        snprintf(disk, sizeof(disk), "%s/disk.img", world.host.dir);
        int fd = open(disk, O_CREAT | O_RDWR, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, 16 << 20), 0);
        close(fd);
        snprintf(script, sizeof(script), "%s/tools/hotplug/block-pvback",
                 getenv("PVBACK_SRC") ? getenv("PVBACK_SRC") : ".");
        const char *attach[] = {"vbd",    "attach", "--domid",  "1",    "--target", disk,
                                "--vdev", "xvda",   "--script", script, NULL};
        ck_assert_int_eq(simhost_cli(&world.host, NULL, 0, attach), 0);
        check_key(VBD_BE "/feature-dynamic-capabilities", "1");
        /* What a pvbackd killed before this one left: a frontend that
         * applied its generation 41 would ignore a new 1, so the count
         * goes on from there. */
        xs_put(VBD_BE "/capabilities/generation", "41");

        /* A load long enough to look at the connected device. */
        const char *argv[] = {simhost_bin("pvback-blkfront", bin, sizeof(bin)),
                              "load",
                              "--duration",
                              "3",
                              "--queues",
                              "2",
                              "--prefer",
                              "latency",
                              NULL};
        sim_path_dom(sock, sizeof(sock), world.host.dir, 1, SIM_XS_SOCK);
        snprintf(xs, sizeof(xs), "XENSTORED_PATH=%s", sock);
        char dir[PATH_MAX + 32], dom[32];
        snprintf(dir, sizeof(dir), "%s=%s", SIM_ENV_DIR, world.host.dir);
        snprintf(dom, sizeof(dom), "%s=1", SIM_ENV_DOMID);
        const char *env[] = {xs, dir, dom, "PVBACK_HYPERVISOR=sim", NULL};
        snprintf(out, sizeof(out), "%s/blkfront.log", world.host.dir);
        pid_t pid = netns_exec(NULL, SIGKILL, argv, env, out);
        ck_assert_int_gt(pid, 0);
        bool gen = wait_u64(VBD_BE "/capabilities/generation", 42, 10000);
        bool acked = wait_u64(VBD_FE "/capabilities-ack", 42, 10000);
        if (!gen || !acked)
                nbw_dump_logs(&world);
        ck_assert_msg(gen, "vbd published no generation");
        ck_assert_msg(acked, "pvback-blkfront did not acknowledge generation 42");
        check_key(VBD_BE "/capabilities/queues/used", "2");
        check_key(VBD_FE "/capabilities-preference", "latency");
        char *engine = xs_get(VBD_BE "/capabilities/io/engine");
        ck_assert_msg(engine && (!strcmp(engine, "io_uring") || !strcmp(engine, "threads")),
                      "io/engine = %s", engine ? engine : "(absent)");
        free(engine);
        char *v = xs_get(VBD_BE "/capabilities/io/persistent-grants");
        ck_assert_ptr_nonnull(v);
        free(v);
        struct json_object *root, *caps = show_caps("vbd1.51712", &root);
        ck_assert_uint_eq(caps_u64(caps, "generation"), 42);
        ck_assert_str_eq(caps_section(caps, "queues", "used"), "2");
        struct json_object *pref;
        ck_assert(json_object_object_get_ex(caps, "preference", &pref));
        ck_assert_str_eq(json_object_get_string(pref), "latency");
        json_object_put(root);
        const char *paths[] = {"/local/domain/0/backend/vbd", "/local/domain/1/device/vbd", NULL};
        schema_valid(paths);
        ck_assert_int_eq(simhost_wait(pid, 30000), 0);
        char *text = nbw_slurp(out);
        ck_assert_msg(strstr(text, "dynamic-capabilities: on, generation 42 acknowledged"), "%s",
                      text);
        free(text);
        pvbackd_exits_cleanly();
        nbw_down(&world);
}
END_TEST

static Suite *dyncap_suite(void)
{
        Suite *s = suite_create("dyncap");
        TCase *tc = tcase_create("sim");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, vif_follows_changes);
        tcase_add_test(tc, vif_settings_and_preference);
        tcase_add_test(tc, vbd_publishes_and_blkfront_acks);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(dyncap_suite)
