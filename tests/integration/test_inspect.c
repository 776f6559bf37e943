/* pvbackd's control socket and pvback-inspect on the simulator: with a vif
 * (pvback-netfront echo) and a vbd (pvback-blkfront) connected, `show`
 * reports what really happened (frames sent and echoed, what was
 * negotiated, the disk), raw and through pvback-inspect's text and JSON;
 * bad requests get errors a user can act on; silent, vanished and surplus
 * clients never hold up others; the socket path is owned by one live
 * daemon; dumps racing detaches are safe (run under SANITIZE=1 too); and the
 * daemon's life with clients stays valgrind-clean. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "check_main.h"
#include "sanitizer.h"
#include "proc.h"
#include "procstat.h"
#include "ctl_proto.h"
#include "nbworld.h"
#include "nbecho.h"
#include "simhost.h"
#include "version.h"

#define FRONT_DOMID   5
#define FRONT_DOMID_S "5"
#define FRONT_MAC     "00:16:3e:00:00:05"
#define VIF_NAME      "vif5.0"
#define VBD_NAME      "vbd5.51712"
#define VBD_BE        "/local/domain/0/backend/vbd/5/51712"
#define SECTORS       32768u /* 16 MiB */
#define BURST         200u
#define WINDOW        32u

static struct nbw world; /* local: pvbackd and the vif in this namespace */
static pid_t netfront = -1, blkfront = -1;
static char sock_path[PATH_MAX + 32], disk[PATH_MAX + 16], nf_out[PATH_MAX + 16],
    bf_out[PATH_MAX + 16];
static int timeout_ms = 20000; /* per step; valgrind raises it */

/* ---- processes ------------------------------------------------------------ */

/* Check's fork mode skips teardown after a failed assertion: the frontends
 * go at exit (nbworld takes pvbackd and the host). */
static void cleanup(void)
{
        proc_reap(&netfront);
        proc_reap(&blkfront);
}

static pid_t spawn(uint16_t domid, const char *const argv[], const char *out, const char *err)
{
        const struct proc_exec e = {.argv = argv, .out_path = out, .err_path = err};
        pid_t pid = simhost_spawn_exec(&world.host, domid, &e);
        ck_assert_int_gt(pid, 0);
        return pid;
}

static void print_file(const char *path)
{
        char *text = nbw_slurp(path);
        fprintf(stderr, "---- %s:\n%s\n", path, text);
        free(text);
}

/* pvback-inspect as domain 0 (the environment pvbackd has): its exit
 * status, stdout and stderr (malloc'd). */
static int inspect(const char *const args[], char **out, char **err)
{
        char bin[PATH_MAX], o[PATH_MAX + 16], e[PATH_MAX + 16];
        const char *argv[16] = {simhost_bin("pvback-inspect", bin, sizeof(bin))};
        int n = 1;
        for (int i = 0; args[i] && n < 15; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        snprintf(o, sizeof(o), "%s/inspect.out", world.host.dir);
        snprintf(e, sizeof(e), "%s/inspect.err", world.host.dir);
        int rc = simhost_wait(spawn(0, argv, o, e), 30000);
        *out = nbw_slurp(o);
        *err = nbw_slurp(e);
        return rc;
}

/* ---- the control socket, raw ---------------------------------------------- */

static struct sockaddr_un unix_addr(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, strlen(path) + 1);
        return sa;
}

/* What a daemon that died leaves: a socket nobody listens on. */
static void make_stale_socket(const char *path)
{
        struct sockaddr_un sa = unix_addr(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(fd);
}

static int ctl_connect(const char *path)
{
        struct sockaddr_un sa = unix_addr(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Everything until the daemon closes (malloc'd), or NULL after ms. */
static char *read_to_eof(int fd, int ms)
{
        size_t cap = 65536, len = 0;
        char *buf = malloc(cap);
        uint64_t end = now_ms() + (uint64_t)ms;
        ck_assert_ptr_nonnull(buf);
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int left = (int)(end - now_ms());
                if (left <= 0 || poll(&p, 1, left) <= 0) {
                        free(buf);
                        return NULL;
                }
                if (len + 1 == cap) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        ck_assert_ptr_nonnull(buf);
                }
                ssize_t n = read(fd, buf + len, cap - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        return buf;
}

/* One request (the bytes as given) and the whole answer text. */
static char *ask_raw_at(const char *path, const void *req, size_t len)
{
        int fd = ctl_connect(path);
        ck_assert_msg(fd >= 0, "cannot connect to %s: %s", path, strerror(errno));
        ck_assert_int_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
        char *text = read_to_eof(fd, timeout_ms);
        close(fd);
        ck_assert_msg(text, "no answer to '%.*s' within %d ms", (int)len, (const char *)req,
                      timeout_ms);
        return text;
}

/* The request line's answer, parsed: one JSON object and a newline. */
static struct json_object *ask(const char *line)
{
        char req[512];
        int n = snprintf(req, sizeof(req), "%s\n", line);
        char *text = ask_raw_at(sock_path, req, (size_t)n);
        size_t len = strlen(text);
        ck_assert_msg(len && text[len - 1] == '\n' && !strchr(text, '\n')[1],
                      "answer to '%s' is not one line: %s", line, text);
        struct json_object *obj = json_tokener_parse(text);
        ck_assert_msg(obj && json_object_is_type(obj, json_type_object),
                      "answer to '%s' is not a JSON object: %s", line, text);
        free(text);
        return obj;
}

/* "a.b.2.c": members and array indexes. */
static struct json_object *jget(struct json_object *obj, const char *path)
{
        char buf[256], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k && obj; k = strtok_r(NULL, ".", &save)) {
                if (json_object_is_type(obj, json_type_array))
                        obj = json_object_array_get_idx(obj, (size_t)atoi(k));
                else if (!json_object_object_get_ex(obj, k, &obj))
                        obj = NULL;
        }
        return obj;
}

static uint64_t jnum(struct json_object *obj, const char *path)
{
        struct json_object *v = jget(obj, path);
        ck_assert_msg(v && json_object_is_type(v, json_type_int), "%s is not a number in %s", path,
                      json_object_to_json_string(obj));
        return json_object_get_uint64(v);
}

static const char *jstr(struct json_object *obj, const char *path)
{
        struct json_object *v = jget(obj, path);
        ck_assert_msg(v && json_object_is_type(v, json_type_string), "%s is not a string in %s",
                      path, json_object_to_json_string(obj));
        return json_object_get_string(v);
}

static bool jbool(struct json_object *obj, const char *path)
{
        struct json_object *v = jget(obj, path);
        ck_assert_msg(v && json_object_is_type(v, json_type_boolean), "%s is not a boolean in %s",
                      path, json_object_to_json_string(obj));
        return json_object_get_boolean(v);
}

static struct json_object *device(struct json_object *show, const char *name)
{
        struct json_object *devs = jget(show, "devices");
        for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
                struct json_object *d = json_object_array_get_idx(devs, i);
                if (!strcmp(jstr(d, "name"), name))
                        return d;
        }
        return NULL;
}

/* A counter summed over a device's queues ("stats.tx_packets"). */
static uint64_t sum_queues(struct json_object *dev, const char *path)
{
        struct json_object *qs = jget(dev, "queues");
        uint64_t sum = 0;
        ck_assert_ptr_nonnull(qs);
        for (size_t i = 0; i < json_object_array_length(qs); i++)
                sum += jnum(json_object_array_get_idx(qs, i), path);
        return sum;
}

static void assert_error(const char *line, const char *code, const char *in_message)
{
        struct json_object *a = ask(line);
        ck_assert_msg(!jget(a, "devices"), "'%s' answered as if it were fine", line);
        ck_assert_str_eq(jstr(a, "error.code"), code);
        ck_assert_msg(strstr(jstr(a, "error.message"), in_message),
                      "'%s': message \"%s\" does not mention \"%s\"", line,
                      jstr(a, "error.message"), in_message);
        json_object_put(a);
}

/* ---- the world -------------------------------------------------------------- */

static void wait_socket(const char *path, pid_t daemon)
{
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms; now_ms() < end; sleep_ms(10)) {
                int fd = ctl_connect(path);
                if (fd >= 0) {
                        close(fd);
                        return;
                }
                if (waitpid(daemon, NULL, WNOHANG) == daemon) {
                        world.pvbackd = 0;
                        print_file(world.pvbackd_log);
                        ck_abort_msg("pvbackd exited before its control socket was up");
                }
        }
        print_file(world.pvbackd_log);
        ck_abort_msg("no control socket at %s", path);
}

/* With valgrind, its log is <host dir>/valgrind.log; extra: more pvbackd
 * arguments (NULL-terminated) or NULL. */
static void make_world_with(bool valgrind, const char *const *extra)
{
        static char logopt[PATH_MAX + 32];
        const char *const vg[] = {VALGRIND_MEMCHECK, logopt, NULL};
        static const uint16_t doms[] = {FRONT_DOMID, 0};
        const char *args[16] = {"--workers",        "2",  "-o",
                                "vif.max-queues=2", "-o", "vbd.max-queues=2"};
        for (int i = 0, n = 6; extra && extra[i] && n < 15; i++)
                args[n++] = extra[i];
        const struct nbw_opts o = {.local = true, .domids = doms};
        char why[512];
        atexit(cleanup);
        ck_assert_msg(nbw_up(&world, &o, why, sizeof(why)) == 0, "%s", why);
        snprintf(nf_out, sizeof(nf_out), "%s/netfront.out", world.host.dir);
        snprintf(bf_out, sizeof(bf_out), "%s/blkfront.out", world.host.dir);
        snprintf(disk, sizeof(disk), "%s/disk.img", world.host.dir);
        int fd = open(disk, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, (off_t)SECTORS * 512), 0);
        close(fd);
        /* The default path on the simulator, in the host's directory. */
        snprintf(sock_path, sizeof(sock_path), "%s/pvbackd-dom0.sock", world.host.dir);
        snprintf(logopt, sizeof(logopt), "--log-file=%s/valgrind.log", world.host.dir);
        ck_assert_int_eq(nbw_pvbackd_start(&world, valgrind ? vg : NULL, args), 0);
        wait_socket(sock_path, world.pvbackd);
}

static void make_world(bool valgrind)
{
        make_world_with(valgrind, NULL);
}

static void teardown(void)
{
        cleanup();
        nbw_down(&world);
}

static void vif_attach(void)
{
        char t[16];
        snprintf(t, sizeof(t), "%d", timeout_ms / 1000);
        const char *args[] = {"vif",       "attach", "--domid", FRONT_DOMID_S, "--devid",
                              "0",         "--mac",  FRONT_MAC, "--script",    world.script,
                              "--timeout", t,        NULL};
        ck_assert_int_eq(simhost_cli(&world.host, NULL, 0, args), 0);
}

static void vif_detach(void)
{
        char t[16];
        snprintf(t, sizeof(t), "%d", timeout_ms / 1000);
        const char *args[] = {"vif", "detach",    "--domid", FRONT_DOMID_S, "--devid",
                              "0",   "--timeout", t,         NULL};
        ck_assert_int_eq(simhost_cli(&world.host, NULL, 0, args), 0);
}

static void vbd_attach(void)
{
        char t[16], script[PATH_MAX + 64];
        snprintf(t, sizeof(t), "%d", timeout_ms / 1000);
        snprintf(script, sizeof(script), "%s/tools/hotplug/block-pvback",
                 getenv("PVBACK_SRC") ? getenv("PVBACK_SRC") : ".");
        const char *args[] = {"vbd",       "attach", "--domid", FRONT_DOMID_S, "--target",
                              disk,        "--vdev", "xvda",    "--script",    script,
                              "--timeout", t,        NULL};
        ck_assert_int_eq(simhost_cli(&world.host, NULL, 0, args), 0);
}

static void vbd_detach(void)
{
        char t[16];
        snprintf(t, sizeof(t), "%d", timeout_ms / 1000);
        const char *args[] = {"vbd",  "detach",    "--domid", FRONT_DOMID_S, "--vdev",
                              "xvda", "--timeout", t,         NULL};
        ck_assert_int_eq(simhost_cli(&world.host, NULL, 0, args), 0);
}

/* Until the device's backend says Connected, as pvbackd itself reports it. */
static void wait_connected(const char *name, pid_t front, const char *front_out)
{
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms;; sleep_ms(20)) {
                struct json_object *a = ask("show");
                struct json_object *d = device(a, name);
                bool up = d && !strcmp(jstr(d, "backend.phase"), "connected");
                json_object_put(a);
                if (up)
                        return;
                if (now_ms() > end || waitpid(front, NULL, WNOHANG) != 0) {
                        print_file(front_out);
                        print_file(world.pvbackd_log);
                        ck_abort_msg("%s not connected after %d ms", name, timeout_ms);
                }
        }
}

static void netfront_start(void)
{
        static char bin[PATH_MAX];
        const char *argv[] = {simhost_bin("pvback-netfront", bin, sizeof(bin)),
                              "echo",
                              "--queues",
                              "2",
                              "--timeout",
                              "60",
                              NULL};
        netfront = spawn(FRONT_DOMID, argv, nf_out, NULL);
        wait_connected(VIF_NAME, netfront, nf_out);
}

static void blkfront_start(void)
{
        static char bin[PATH_MAX];
        const char *argv[] = {simhost_bin("pvback-blkfront", bin, sizeof(bin)),
                              "load",
                              "--queues",
                              "2",
                              "--depth",
                              "2",
                              "--rw",
                              "mix",
                              "--duration",
                              "300",
                              NULL};
        blkfront = spawn(FRONT_DOMID, argv, bf_out, NULL);
        wait_connected(VBD_NAME, blkfront, bf_out);
}

/* BURST generator frames into the TAP, each echoed back by the guest and
 * checked; returns the bytes sent (frames as on the wire). */
static uint64_t echo_traffic(void)
{
        const struct nbecho_pace p = {.frames = BURST, .window = WINDOW, .stall_ms = timeout_ms};
        const struct nbecho_flow f = {.domid = FRONT_DOMID, .flows = 4, .seed = 7};
        struct nbecho_result r;
        int rc = nbecho_run_on(VIF_NAME, &f, &p, &r);
        ck_assert_msg(rc != -ETIMEDOUT, "%llu of %u frames came back",
                      (unsigned long long)r.back.frames, BURST);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(r.back.bad_bytes == 0 && r.back.frames == r.sent_frames &&
                          r.back.foreign == 0,
                      "echo: %llu frames back (%llu bad bytes, %llu foreign) of %llu",
                      (unsigned long long)r.back.frames, (unsigned long long)r.back.bad_bytes,
                      (unsigned long long)r.back.foreign, (unsigned long long)r.sent_frames);
        return r.sent_bytes;
}

/* The vbd's counters stop moving once its frontend is paused (as xl pause
 * stops a guest) and the I/O in flight is answered. */
static struct json_object *show_settled(void)
{
        struct json_object *prev = ask("show"), *cur = NULL;
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms; now_ms() < end; sleep_ms(200)) {
                cur = ask("show");
                bool same = sum_queues(device(cur, VBD_NAME), "stats.requests") ==
                            sum_queues(device(prev, VBD_NAME), "stats.requests");
                json_object_put(prev);
                prev = cur;
                if (same)
                        return cur;
        }
        ck_abort_msg("the paused vbd's counters kept moving");
        return NULL;
}

static char *xs_read0(const char *path)
{
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        unsigned len;
        ck_assert_ptr_nonnull(xs);
        char *v = xs_read(xs, XBT_NULL, path, &len);
        xs_close(xs);
        return v;
}

/* ---- tests -------------------------------------------------------------- */

/* What show says against what happened: frames sent and echoed, the
 * negotiation both frontends asked for, the disk; then the same through
 * pvback-inspect's text and --json. */
START_TEST(show_reports_the_real_state)
{
        make_world(false);
        vif_attach();
        vbd_attach();
        netfront_start();
        blkfront_start();
        uint64_t bytes = echo_traffic();
        /* Some I/O done, then the guest is paused. */
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms;; sleep_ms(20)) {
                struct json_object *a = ask("show " VBD_NAME);
                uint64_t reqs = sum_queues(device(a, VBD_NAME), "stats.requests");
                json_object_put(a);
                if (reqs >= 64)
                        break;
                ck_assert_msg(now_ms() < end, "vbd: only %llu requests", (unsigned long long)reqs);
        }
        ck_assert_int_eq(kill(blkfront, SIGSTOP), 0);
        struct json_object *show = show_settled();

        /* The daemon. */
        ck_assert_str_eq(jstr(show, "daemon.version"), PVBACK_VERSION);
        ck_assert_str_eq(jstr(show, "daemon.hypervisor"), "sim");
        ck_assert_int_eq(jnum(show, "daemon.domid"), 0);
        ck_assert_int_eq(jnum(show, "daemon.workers"), 2);
        ck_assert_int_eq(jnum(show, "daemon.pid"), world.pvbackd);
        ck_assert_int_eq(jnum(show, "daemon.devices"), 2);
        /* The backend facility: both classes, their default limit, one
         * device each, and the vif's uplink as the vif itself reports it. */
        ck_assert_str_eq(jstr(show, "daemon.classes.0.kind"), "vif");
        ck_assert_str_eq(jstr(show, "daemon.classes.0.virtualization"),
                         "paravirtual, grant copy, TAP uplink");
        ck_assert_int_eq(jnum(show, "daemon.classes.0.max_devices"), 256);
        ck_assert_int_eq(jnum(show, "daemon.classes.0.assigned"), 1);
        ck_assert_str_eq(jstr(show, "daemon.classes.0.uplinks.0.device"), VIF_NAME);
        ck_assert_str_eq(jstr(show, "daemon.classes.0.uplinks.0.netdev"), VIF_NAME);
        ck_assert_str_eq(jstr(show, "daemon.classes.1.kind"), "vbd");
        ck_assert_msg(strstr(jstr(show, "daemon.classes.1.virtualization"), "grant copy"),
                      "vbd: %s", jstr(show, "daemon.classes.1.virtualization"));
        ck_assert_int_eq(jnum(show, "daemon.classes.1.assigned"), 1);
        /* Sorted by kind: the vbd first. */
        ck_assert_str_eq(jstr(show, "devices.0.name"), VBD_NAME);
        ck_assert_str_eq(jstr(show, "devices.1.name"), VIF_NAME);

        /* The vif: every frame the test sent reached the guest, every one
         * the guest echoed left it; both as frames on the wire. */
        struct json_object *vif = device(show, VIF_NAME);
        ck_assert_str_eq(jstr(vif, "class"), "vif");
        ck_assert_int_eq(jnum(vif, "frontend.domid"), FRONT_DOMID);
        ck_assert_int_eq(jnum(vif, "frontend.devid"), 0);
        ck_assert_int_eq(jnum(vif, "frontend.state"), 4);
        ck_assert_int_eq(jnum(vif, "backend.state"), 4);
        ck_assert_str_eq(jstr(vif, "backend.state_name"), "Connected");
        ck_assert(jget(vif, "error") == NULL && !jbool(vif, "disabled"));
        ck_assert_int_eq(jnum(vif, "negotiated.queues"), 2);
        ck_assert_int_eq(jnum(vif, "negotiated.backend_max_queues"), 2);
        ck_assert_str_eq(jstr(vif, "negotiated.event_channels"), "split");
        ck_assert(jbool(vif, "negotiated.sg") && jbool(vif, "negotiated.gso_tcpv4"));
        ck_assert_str_eq(jstr(vif, "negotiated.mac"), FRONT_MAC);
        ck_assert_str_eq(jstr(vif, "uplink.netdev"), VIF_NAME);
        ck_assert_str_eq(jstr(vif, "uplink.kind"), "tap");
        ck_assert_int_eq(json_object_array_length(jget(vif, "queues")), 2);
        ck_assert_int_eq(sum_queues(vif, "stats.rx_packets"), BURST);
        ck_assert_int_eq(sum_queues(vif, "stats.tx_packets"), BURST);
        ck_assert_int_eq(sum_queues(vif, "stats.rx_bytes"), bytes);
        ck_assert_int_eq(sum_queues(vif, "stats.tx_bytes"), bytes);
        ck_assert_int_ge(sum_queues(vif, "stats.tx_gcopy_calls"), 1);
        /* Every offload-path and LRO counter is there, by name. */
        static const char *const paths[] = {"gso_pass", "gso_sw",     "gso_sw_segs", "csum_pass",
                                            "csum_sw",  "linearized", "dropped"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                char p[64];
                snprintf(p, sizeof(p), "queues.0.stats.tx_off.%s", paths[i]);
                jnum(vif, p);
                snprintf(p, sizeof(p), "queues.1.stats.rx_off.%s", paths[i]);
                jnum(vif, p);
        }
        ck_assert_str_eq(jstr(show, "daemon.classes.0.uplinks.0.tx_caps"),
                         jstr(vif, "uplink.tx_caps"));
        /* Ring occupancy: the echo is done, so nothing waits on TX, and
         * netfront keeps its RX ring stocked. */
        for (int q = 0; q < 2; q++) {
                char p[64];
                snprintf(p, sizeof(p), "queues.%d.ring.tx_size", q);
                ck_assert_int_eq(jnum(vif, p), 256);
                snprintf(p, sizeof(p), "queues.%d.ring.tx_pending", q);
                ck_assert_int_eq(jnum(vif, p), 0);
                snprintf(p, sizeof(p), "queues.%d.ring.rx_posted", q);
                uint64_t posted = jnum(vif, p);
                ck_assert_msg(posted > 0 && posted <= 256, "q%d rx_posted %llu", q,
                              (unsigned long long)posted);
        }
        jnum(vif, "queues.0.stats.lro.frames");
        jnum(vif, "queues.0.stats.lro.flush.psh");
        jnum(vif, "queues.0.stats.lro.pass.not tcp");

        /* The vbd: what blkfront asked for and the disk itself. */
        struct json_object *vbd = device(show, VBD_NAME);
        char *sectors = xs_read0(VBD_BE "/sectors");
        ck_assert_ptr_nonnull(sectors);
        ck_assert_int_eq(jnum(vbd, "backing.sectors"), SECTORS);
        ck_assert_int_eq(jnum(vbd, "backing.sectors"), strtoull(sectors, NULL, 10));
        free(sectors);
        ck_assert_int_eq(jnum(vbd, "backing.bytes"), (uint64_t)SECTORS * 512);
        ck_assert_str_eq(jstr(vbd, "backing.path"), disk);
        ck_assert(!jbool(vbd, "backing.read_only"));
        ck_assert_int_eq(jnum(vbd, "negotiated.queues"), 2);
        ck_assert_str_eq(jstr(vbd, "negotiated.abi"), "x86_64-abi");
        ck_assert(jbool(vbd, "negotiated.persistent_grants"));
        ck_assert_int_eq(json_object_array_length(jget(vbd, "queues")), 2);
        ck_assert_int_ge(sum_queues(vbd, "stats.requests"), 64);
        ck_assert_int_eq(sum_queues(vbd, "stats.errors"), 0);
        /* The paused guest's I/O is all answered: nothing pending or in
         * flight, on a one-page ring of 32 slots. */
        ck_assert_int_eq(jnum(vbd, "queues.0.ring.size"), 32 * jnum(vbd, "negotiated.ring_pages"));
        ck_assert_int_eq(sum_queues(vbd, "ring.pending"), 0);
        ck_assert_int_eq(sum_queues(vbd, "ring.inflight"), 0);

        /* show DEVICE: the same device, alone. */
        struct json_object *one = ask("show " VIF_NAME);
        ck_assert_int_eq(json_object_array_length(jget(one, "devices")), 1);
        ck_assert_int_eq(sum_queues(device(one, VIF_NAME), "stats.tx_packets"), BURST);
        json_object_put(one);

        /* pvback-inspect --json (default socket path, as pvbackd's). */
        char *out, *err;
        const char *json_args[] = {"--json", VIF_NAME, NULL};
        ck_assert_msg(inspect(json_args, &out, &err) == 0, "pvback-inspect --json: %s", err);
        struct json_object *j = json_tokener_parse(out);
        ck_assert_msg(j, "pvback-inspect --json printed no JSON: %s", out);
        ck_assert_int_eq(sum_queues(device(j, VIF_NAME), "stats.tx_packets"), BURST);
        ck_assert_int_eq(sum_queues(device(j, VIF_NAME), "stats.rx_bytes"), bytes);
        json_object_put(j);
        free(out);
        free(err);

        /* pvback-inspect's text, with the numbers just read. */
        const char *text_args[] = {"--socket", sock_path, NULL};
        ck_assert_msg(inspect(text_args, &out, &err) == 0, "pvback-inspect: %s", err);
        char want[PATH_MAX + 256];
        const char *const lines[] = {"pvbackd ",
                                     ", hypervisor sim, domain 0, 2 workers,",
                                     "vif5.0: frontend domain 5 device 0, Connected (frontend "
                                     "Connected)",
                                     "negotiated: 2 queue(s) (backend max 2), split event channels",
                                     "uplink: tap netdev vif5.0",
                                     "vbd5.51712: frontend domain 5 device 51712, Connected",
                                     "negotiated: x86_64-abi, 2 queue(s)",
                                     "tx offload: gso hw ",
                                     "rx offload: gso hw ",
                                     "backend facility:\n  vif: paravirtual, ",
                                     "  vbd: paravirtual, persistent grants + grant copy, ",
                                     "  vif: paravirtual, grant copy, TAP uplink; 1 of at most "
                                     "256 devices assigned\n    uplink of vif5.0: tap netdev "
                                     "vif5.0, ",
                                     "    ring: tx 0 of 256 requests pending, rx "};
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                ck_assert_msg(strstr(out, lines[i]), "no \"%s\" in:\n%s", lines[i], out);
        for (int q = 0; q < 2; q++) {
                char p[64];
                snprintf(p, sizeof(p), "queues.%d.stats.tx_packets", q);
                uint64_t tx = jnum(vif, p);
                snprintf(p, sizeof(p), "queues.%d.stats.tx_bytes", q);
                snprintf(want, sizeof(want), "tx (from the guest): %llu packets, %llu bytes;",
                         (unsigned long long)tx, (unsigned long long)jnum(vif, p));
                ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
        }
        snprintf(want, sizeof(want), "backing: file %s, %llu bytes (%u sectors of 512), read-write",
                 disk, (unsigned long long)SECTORS * 512, SECTORS);
        ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
        snprintf(want, sizeof(want), "    ring: 0 of %llu requests pending, 0 in flight",
                 (unsigned long long)jnum(vbd, "queues.1.ring.size"));
        ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
        snprintf(want, sizeof(want), "queue 0 (worker %llu, ",
                 (unsigned long long)jnum(vbd, "queues.0.worker"));
        ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
        free(out);
        free(err);
        json_object_put(show);

        /* The echo's own count of what it sent is what pvbackd counted. */
        kill(netfront, SIGTERM);
        ck_assert_int_eq(simhost_wait(netfront, timeout_ms), 0);
        netfront = -1;
        char *nf = nbw_slurp(nf_out);
        snprintf(want, sizeof(want), "echo: %u frames reflected", BURST);
        ck_assert_msg(strstr(nf, want), "netfront says:\n%s", nf);
        free(nf);
        teardown();
}
END_TEST

/* Every way a request can be wrong gets an error that says what to do, and
 * pvback-inspect turns each into its documented exit status. */
START_TEST(errors_are_actionable)
{
        make_world(false);
        vif_attach();
        assert_error("show vif9.0", CTL_ERR_UNKNOWN_DEVICE,
                     "no device vif9.0; pvbackd serves vif5.0");
        assert_error("frobnicate", CTL_ERR_UNKNOWN_CMD, "commands: show");
        assert_error("show vif5.0 vbd5.51712", CTL_ERR_BAD_REQUEST, "at most one device");
        assert_error("version 2", CTL_ERR_BAD_REQUEST, "no argument");
        assert_error("", CTL_ERR_BAD_REQUEST, "empty request");
        assert_error("show \x01\x7f", CTL_ERR_BAD_REQUEST, "printable");
        assert_error("set vif5.0 qos.max", CTL_ERR_BAD_REQUEST, "a target, a key and a value");
        assert_error("set vif9.0 qos.max 1M", CTL_ERR_UNKNOWN_DEVICE, "no device or other target");
        assert_error("set uplink:nowhere capacity 1G", CTL_ERR_UNKNOWN_DEVICE, "uplink:nowhere");

        /* Longer than a request may be: an error, not a wait for more. */
        char big[CTL_REQ_MAX + 64];
        memset(big, 'x', sizeof(big));
        char *text = ask_raw_at(sock_path, big, sizeof(big));
        struct json_object *a = json_tokener_parse(text);
        ck_assert_msg(a, "oversized request: %s", text);
        ck_assert_str_eq(jstr(a, "error.code"), CTL_ERR_TOO_LONG);
        json_object_put(a);
        free(text);
        /* The longest request that fits is answered. */
        memset(big, ' ', CTL_REQ_MAX - 1);
        memcpy(big, "version", 7);
        big[CTL_REQ_MAX - 1] = '\n';
        text = ask_raw_at(sock_path, big, CTL_REQ_MAX);
        char proto[32];
        snprintf(proto, sizeof(proto), "\"protocol\":%d", CTL_PROTOCOL_VERSION);
        ck_assert_msg(strstr(text, proto), "full-size request: %s", text);
        free(text);
        /* A request ended by closing the writing side, "\r\n" too. */
        int fd = ctl_connect(sock_path);
        ck_assert_int_eq(send(fd, "version", 7, 0), 7);
        shutdown(fd, SHUT_WR);
        text = read_to_eof(fd, timeout_ms);
        close(fd);
        ck_assert_msg(text && strstr(text, "\"version\""), "request ended by EOF: %s", text);
        free(text);
        text = ask_raw_at(sock_path, "version\r\n", 9);
        ck_assert_msg(strstr(text, "\"version\""), "CRLF request: %s", text);
        free(text);

        /* pvback-inspect's exit statuses. */
        char *out, *err, stale[PATH_MAX + 16];
        const char *unknown[] = {VIF_NAME "x", NULL};
        ck_assert_int_eq(inspect(unknown, &out, &err), 1);
        ck_assert_msg(strstr(err, "no device vif5.0x"), "stderr: %s", err);
        free(out);
        free(err);
        const char *unknown_json[] = {"--json", "vbd1.2", NULL};
        ck_assert_int_eq(inspect(unknown_json, &out, &err), 1);
        ck_assert_msg(strstr(out, "\"unknown-device\""), "stdout: %s", out);
        free(out);
        free(err);
        const char *bad_usage[] = {"--frobnicate", NULL};
        ck_assert_int_eq(inspect(bad_usage, &out, &err), 2);
        free(out);
        free(err);
        const char *two_devices[] = {VIF_NAME, VBD_NAME, NULL};
        ck_assert_int_eq(inspect(two_devices, &out, &err), 2);
        free(out);
        free(err);
        const char *help[] = {"--help", NULL};
        ck_assert_int_eq(inspect(help, &out, &err), 0);
        ck_assert_msg(strstr(out, "Exit status:") && strstr(out, "3  pvbackd is not running"),
                      "--help: %s", out);
        free(out);
        free(err);
        /* Nobody there: no socket, and a socket nobody listens on. */
        snprintf(stale, sizeof(stale), "%s/none.sock", world.host.dir);
        const char *absent[] = {"--socket", stale, NULL};
        ck_assert_int_eq(inspect(absent, &out, &err), 3);
        ck_assert_msg(strstr(err, "pvbackd is not running"), "stderr: %s", err);
        free(out);
        free(err);
        make_stale_socket(stale);
        ck_assert_int_eq(inspect(absent, &out, &err), 3);
        ck_assert_msg(strstr(err, "pvbackd is not running"), "stderr: %s", err);
        free(out);
        free(err);
        teardown();
}
END_TEST

/* ---- set, --watch, --validate, the daemon down -------------------------- */

/* A stand-in for pvbackd at path: takes one request, writes the line it got
 * to line_file, answers with answer and exits. Its pid. */
static pid_t fake_daemon(const char *path, const char *answer, const char *line_file)
{
        struct sockaddr_un sa = unix_addr(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        unlink(path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 1), 0);
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char line[512];
                size_t n = 0;
                alarm(30); /* never outlives a failed test for long */
                int c = accept(fd, NULL, NULL);
                while (c >= 0 && n < sizeof(line) && !memchr(line, '\n', n)) {
                        ssize_t r = read(c, line + n, sizeof(line) - n);
                        if (r <= 0)
                                break;
                        n += (size_t)r;
                }
                FILE *f = fopen(line_file, "we");
                if (f) {
                        fwrite(line, 1, n, f);
                        fclose(f);
                }
                _exit(c >= 0 && write(c, answer, strlen(answer)) == (ssize_t)strlen(answer) ? 0
                                                                                            : 1);
        }
        close(fd);
        return pid;
}

static void expect_inspect(const char *const args[], int status, const char *in_out,
                           const char *in_err)
{
        char *out, *err;
        int rc = inspect(args, &out, &err);
        ck_assert_msg(rc == status,
                      "pvback-inspect %s ... exited %d, not %d; stdout:\n%s\nstderr:\n%s",
                      args[0] ? args[0] : "", rc, status, out, err);
        ck_assert_msg(!in_out || strstr(out, in_out), "no \"%s\" on stdout:\n%s", in_out, out);
        ck_assert_msg(!in_err || strstr(err, in_err), "no \"%s\" on stderr:\n%s", in_err, err);
        free(out);
        free(err);
}

/* set: both spellings send one request line, the confirmation or the
 * daemon's refusal is printed with its exit status, bad usage never
 * reaches the daemon. */
START_TEST(set_request_and_errors)
{
        make_world(false);
        vif_attach();
        char fake[PATH_MAX + 32], line_file[PATH_MAX + 32], none[PATH_MAX + 32];
        snprintf(fake, sizeof(fake), "%s/fake.sock", world.host.dir);
        snprintf(line_file, sizeof(line_file), "%s/fake.line", world.host.dir);
        snprintf(none, sizeof(none), "%s/none.sock", world.host.dir);

        static const char ok[] = "{\"ok\": true, \"target\": \"vif5.0\", \"key\": \"qos.max\", "
                                 "\"value\": \"100M\"}\n";
        const char *const forms[][7] = {
            {"--socket", fake, "set", VIF_NAME, "qos.max=100M", NULL},
            {"--socket", fake, "set", VIF_NAME, "qos.max", "100M", NULL},
        };
        for (int i = 0; i < 2; i++) {
                pid_t d = fake_daemon(fake, ok, line_file);
                expect_inspect(forms[i], 0, "vif5.0: qos.max set to 100M\n", NULL);
                ck_assert_int_eq(simhost_wait(d, timeout_ms), 0);
                char *line = nbw_slurp(line_file);
                ck_assert_str_eq(line, "set vif5.0 qos.max 100M\n");
                free(line);
        }
        /* A refusal: the daemon's sentence, exit 1; with --json the object. */
        pid_t d = fake_daemon(fake,
                              "{\"error\": {\"code\": \"unknown-key\", \"message\": \"vif5.0: no "
                              "key qos.frob; keys: qos.max\"}}\n",
                              line_file);
        const char *const refused[] = {"--socket", fake,         "--json", "set",
                                       VIF_NAME,   "qos.frob=1", NULL};
        expect_inspect(refused, 1, "\"unknown-key\"", "pvbackd: vif5.0: no key qos.frob");
        ck_assert_int_eq(simhost_wait(d, timeout_ms), 0);
        unlink(fake);
        unlink(line_file);

        /* The real daemon's refusals. */
        const char *const unknown_target[] = {"set", "vif9.0", "qos.max=1M", NULL};
        expect_inspect(unknown_target, 1, NULL, "no device or other target vif9.0");
        const char *const unknown_uplink[] = {"set", "uplink:nowhere", "capacity", "1G", NULL};
        expect_inspect(unknown_uplink, 1, NULL, "uplink:nowhere");
        const char *const no_key[] = {"set", VIF_NAME, "no.such-key=1", NULL};
        expect_inspect(no_key, 1, NULL, "pvbackd: " VIF_NAME);
        /* A class without runtime settings: unknown-key, not busy (which
         * says "try again later"). */
        vbd_attach();
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms;; sleep_ms(20)) {
                struct json_object *a = ask("set " VBD_NAME " qos.max 1M");
                bool busy = !strcmp(jstr(a, "error.code"), CTL_ERR_BUSY);
                json_object_put(a);
                if (!busy)
                        break;
                ck_assert_msg(now_ms() < end, VBD_NAME " never got set up");
        }
        assert_error("set " VBD_NAME " qos.max 1M", CTL_ERR_UNKNOWN_KEY,
                     VBD_NAME " has no runtime settings");

        /* Bad usage: exit 2, nothing asked. */
        const char *const bad[][7] = {
            {"set", NULL},
            {"set", VIF_NAME, NULL},
            {"set", VIF_NAME, "qos.max=", NULL},
            {"set", VIF_NAME, "=1", NULL},
            {"set", VIF_NAME, "a", "b", "c", NULL},
            {"set", VIF_NAME, "a", "two words", NULL},
            {"--watch", "set", VIF_NAME, "a=1", NULL},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                expect_inspect(bad[i], 2, NULL, "Try 'pvback-inspect --help'");
        const char *const nobody[] = {"--socket", none, "set", VIF_NAME, "qos.max=1M", NULL};
        expect_inspect(nobody, 3, NULL, "pvbackd is not running");
        teardown();
}
END_TEST

/* A stand-in that answers `answers` connections with answer (0: accepts
 * one and never answers, like a hung daemon). Its pid; SIGKILL ends it. */
static pid_t fake_daemon_serving(const char *path, const char *answer, int answers)
{
        struct sockaddr_un sa = unix_addr(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        unlink(path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 4), 0);
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                alarm(30);
                for (int i = 0; i < (answers ? answers : 1); i++) {
                        int c = accept(fd, NULL, NULL);
                        char line[512];
                        if (c < 0)
                                _exit(1);
                        if (read(c, line, sizeof(line)) < 0)
                                _exit(1);
                        if (!answers)
                                pause();
                        if (write(c, answer, strlen(answer)) != (ssize_t)strlen(answer))
                                _exit(1);
                        close(c);
                }
                _exit(0);
        }
        close(fd);
        return pid;
}

static void kill_fake(pid_t pid)
{
        kill(pid, SIGKILL);
        simhost_wait(pid, timeout_ms);
}

/* ---- coalescing and QoS ------------------------------------------------------ */

/* Echo bursts in a thread until told to stop, so show can be asked while
 * frames move. */
struct burst {
        int stop, rc; /* atomics: the test sets stop, the thread rc */
        uint64_t rounds;
};

static void *burst_loop(void *arg)
{
        struct burst *b = arg;
        const struct nbecho_pace p = {.frames = BURST, .window = WINDOW, .stall_ms = timeout_ms};
        const struct nbecho_flow f = {.domid = FRONT_DOMID, .flows = 4, .seed = 7};
        int rc = 0;
        while (!rc && !__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
                struct nbecho_result r;
                rc = nbecho_run_on(VIF_NAME, &f, &p, &r);
                if (!rc && r.back.frames != r.sent_frames)
                        rc = -EIO;
                b->rounds++;
                __atomic_store_n(&b->rc, rc, __ATOMIC_RELEASE);
        }
        return NULL;
}

/* A rate as the text writes it ("298.3M", "1G", "950") back in bits/s,
 * and the most the text's rounding may take off or add. */
static double text_rate(const char *text, const char *after, double *slack)
{
        const char *p = strstr(text, after);
        ck_assert_msg(p, "no \"%s\" in:\n%s", after, text);
        char *end;
        double v = strtod(p + strlen(after), &end);
        double unit = 1;
        switch (*end) {
        case 'k':
                unit = 1e3;
                break;
        case 'M':
                unit = 1e6;
                break;
        case 'G':
                unit = 1e9;
                break;
        case 'T':
                unit = 1e12;
                break;
        }
        ck_assert_msg(end != p + strlen(after), "no rate after \"%s\" in:\n%s", after, text);
        *slack = unit > 1 ? unit * 0.05 : 0;
        return v * unit;
}

static void assert_rate_shown(const char *text, const char *after, uint64_t bps)
{
        double slack, shown = text_rate(text, after, &slack);
        ck_assert_msg(shown >= (double)bps - slack && shown <= (double)bps + slack,
                      "\"%s\" %.0f in the text, %llu in the JSON", after, shown,
                      (unsigned long long)bps);
}

static size_t count(const char *text, const char *what)
{
        size_t n = 0;
        for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
                n++;
        return n;
}

/* The text and --json of one answer pvbackd gave while frames moved,
 * replayed to pvback-inspect by a stand-in so both render the same
 * figures. */
static void replayed(const char *answer, const char *fake, bool json, char **out)
{
        char *err;
        pid_t d = fake_daemon_serving(fake, answer, 1);
        const char *text_args[] = {"--socket", fake, VIF_NAME, NULL};
        const char *json_args[] = {"--socket", fake, "--json", VIF_NAME, NULL};
        int rc = inspect(json ? json_args : text_args, out, &err);
        ck_assert_msg(rc == 0, "pvback-inspect on the replayed answer: %d, %s", rc, err);
        free(err);
        ck_assert_int_eq(simhost_wait(d, timeout_ms), 0);
}

/* Counters of one answer in its text: the QoS line's, and per queue the
 * L2 polls and L3 holds. */
static void assert_same_answer(struct json_object *vif, const char *text)
{
        char want[256];
        assert_rate_shown(text, "achieved tx ", jnum(vif, "qos.achieved_tx_bps"));
        const char *achieved = strstr(text, "; achieved tx ");
        ck_assert_msg(achieved, "no achieved rates in:\n%s", text);
        const char *rx = strstr(achieved, " rx ");
        ck_assert_ptr_nonnull(rx);
        assert_rate_shown(rx, " rx ", jnum(vif, "qos.achieved_rx_bps"));
        snprintf(want, sizeof(want), "; early drops %llu (",
                 (unsigned long long)jnum(vif, "qos.rx_drop_qos"));
        ck_assert_msg(strstr(text, want), "no \"%s\" in:\n%s", want, text);
        snprintf(want, sizeof(want), "tx credit waits %llu\n",
                 (unsigned long long)jnum(vif, "qos.tx_credit_waits"));
        ck_assert_msg(strstr(text, want), "no \"%s\" in:\n%s", want, text);
        for (int q = 0; q < 2; q++) {
                char p[64];
                /* Each queue's block from its header on. */
                snprintf(want, sizeof(want), "  queue %d (worker", q);
                const char *from = strstr(text, want), *to;
                ck_assert_msg(from, "no \"%s\" in:\n%s", want, text);
                to = strstr(from + 1, "  queue ");
                char *block = strndup(from, to ? (size_t)(to - from) : strlen(from));
                ck_assert_ptr_nonnull(block);
                snprintf(p, sizeof(p), "queues.%d.coalesce.l2.polls", q);
                uint64_t polls = jnum(vif, p);
                if (polls) {
                        snprintf(want, sizeof(want), " of %llu polls)", (unsigned long long)polls);
                        ck_assert_msg(strstr(block, want), "no \"%s\" in:\n%s", want, block);
                }
                snprintf(p, sizeof(p), "queues.%d.coalesce.l3.rx.held", q);
                uint64_t held = jnum(vif, p);
                snprintf(p, sizeof(p), "queues.%d.coalesce.l3.rx.released", q);
                snprintf(want, sizeof(want), " held %llu, released %llu,", (unsigned long long)held,
                         (unsigned long long)jnum(vif, p));
                ck_assert_msg(strstr(block, want), "no \"%s\" in:\n%s", want, block);
                free(block);
        }
}

/* What pvback-inspect shows of coalescing and QoS is the daemon's state:
 * figures of one answer in text and JSON, settings changed with `set`
 * read back through both and straight from the socket, refusals with the
 * daemon's reason. */
START_TEST(coalesce_and_qos_shown)
{
        make_world(false);
        vif_attach();
        netfront_start();
        char fake[PATH_MAX + 32], want[256], *out, *err;
        snprintf(fake, sizeof(fake), "%s/fake.sock", world.host.dir);

        /* While frames move: one answer with traffic on both ways. */
        struct burst b = {0};
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, burst_loop, &b), 0);
        char *answer = NULL;
        struct json_object *busy = NULL;
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms; !answer; sleep_ms(50)) {
                char *text = ask_raw_at(sock_path, "show " VIF_NAME "\n", strlen(VIF_NAME) + 6);
                struct json_object *a = json_tokener_parse(text);
                struct json_object *d = a ? device(a, VIF_NAME) : NULL;
                if (d && jnum(d, "qos.achieved_tx_bps") && jnum(d, "qos.achieved_rx_bps")) {
                        answer = text;
                        busy = a;
                        break;
                }
                json_object_put(a);
                free(text);
                if (now_ms() > end || __atomic_load_n(&b.rc, __ATOMIC_ACQUIRE))
                        break;
        }
        __atomic_store_n(&b.stop, 1, __ATOMIC_RELEASE);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        ck_assert_msg(b.rc == 0, "echo bursts: %s after %llu", strerror(-b.rc),
                      (unsigned long long)b.rounds);
        ck_assert_msg(answer, "no achieved rate either way in %d ms", timeout_ms);
        struct json_object *vif = device(busy, VIF_NAME);
        ck_assert_int_gt(sum_queues(vif, "stats.tx_packets"), 0);
        replayed(answer, fake, false, &out);
        assert_same_answer(vif, out);
        /* The layout, not the generic lines. */
        ck_assert_msg(strstr(out, "\n  qos: min 0, max unlimited, weight 1, default 0 (group "
                                  "xenbr0, capacity unlimited); allocated tx "),
                      "qos line:\n%s", out);
        ck_assert_msg(count(out, "    coalesce: l1 n/a (tap); l2 adaptive poll ") == 2,
                      "coalesce lines:\n%s", out);
        ck_assert_msg(count(out, "    coalesce l3: adaptive up to 128 frames/512 us; rx ") == 2,
                      "l3 lines:\n%s", out);
        ck_assert_msg(!strstr(out, "achieved_tx_bps") && !strstr(out, "max_frames"),
                      "generic lines:\n%s", out);
        free(out);
        replayed(answer, fake, true, &out);
        struct json_object *j = json_tokener_parse(out);
        ck_assert_msg(j, "--json printed no JSON: %s", out);
        ck_assert_int_eq(jnum(device(j, VIF_NAME), "qos.achieved_tx_bps"),
                         jnum(vif, "qos.achieved_tx_bps"));
        ck_assert_int_eq(jnum(device(j, VIF_NAME), "qos.achieved_rx_bps"),
                         jnum(vif, "qos.achieved_rx_bps"));
        ck_assert_int_eq(jnum(device(j, VIF_NAME), "queues.1.coalesce.l2.polls"),
                         jnum(vif, "queues.1.coalesce.l2.polls"));
        json_object_put(j);
        free(out);
        json_object_put(busy);
        free(answer);

        /* qos.max: confirmed, then in the text, --json and the socket. */
        const char *const set_max[] = {"set", VIF_NAME, "qos.max=100M", NULL};
        expect_inspect(set_max, 0, "vif5.0: qos.max set to 100M\n", NULL);
        const char *const text_args[] = {VIF_NAME, NULL};
        const char *const json_args[] = {"--json", VIF_NAME, NULL};
        ck_assert_msg(inspect(text_args, &out, &err) == 0, "pvback-inspect: %s", err);
        ck_assert_msg(strstr(out, "\n  qos: min 0, max 100M, weight 1,"), "qos:\n%s", out);
        free(out);
        free(err);
        ck_assert_msg(inspect(json_args, &out, &err) == 0, "pvback-inspect --json: %s", err);
        j = json_tokener_parse(out);
        ck_assert_msg(j, "--json printed no JSON: %s", out);
        ck_assert_int_eq(jnum(device(j, VIF_NAME), "qos.max"), 100000000);
        json_object_put(j);
        free(out);
        free(err);
        struct json_object *a = ask("show " VIF_NAME);
        ck_assert_int_eq(jnum(device(a, VIF_NAME), "qos.max"), 100000000);
        json_object_put(a);

        /* L3 fixed at 300 us. */
        const char *const l3_fixed[] = {"set", VIF_NAME, "coalesce.l3", "fixed", NULL};
        expect_inspect(l3_fixed, 0, "vif5.0: coalesce.l3 set to fixed\n", NULL);
        const char *const l3_usecs[] = {"set", VIF_NAME, "coalesce.l3.usecs=300", NULL};
        expect_inspect(l3_usecs, 0, "vif5.0: coalesce.l3.usecs set to 300\n", NULL);
        a = ask("show " VIF_NAME);
        vif = device(a, VIF_NAME);
        for (int q = 0; q < 2; q++) {
                char p[64];
                snprintf(p, sizeof(p), "queues.%d.coalesce.l3.mode", q);
                ck_assert_str_eq(jstr(vif, p), "fixed");
                snprintf(p, sizeof(p), "queues.%d.coalesce.l3.max_usecs", q);
                ck_assert_int_eq(jnum(vif, p), 300);
                snprintf(p, sizeof(p), "queues.%d.coalesce.l3.usecs", q);
                ck_assert_int_eq(jnum(vif, p), 300);
        }
        ck_assert_msg(inspect(text_args, &out, &err) == 0, "pvback-inspect: %s", err);
        snprintf(want, sizeof(want), "    coalesce l3: fixed %llu frames/300 us; rx held ",
                 (unsigned long long)jnum(vif, "queues.0.coalesce.l3.max_frames"));
        ck_assert_msg(count(out, want) == 2, "no 2 \"%s\" in:\n%s", want, out);
        free(out);
        free(err);
        json_object_put(a);
        ck_assert_msg(inspect(json_args, &out, &err) == 0, "pvback-inspect --json: %s", err);
        j = json_tokener_parse(out);
        ck_assert_msg(j, "--json printed no JSON: %s", out);
        ck_assert_str_eq(jstr(device(j, VIF_NAME), "queues.1.coalesce.l3.mode"), "fixed");
        ck_assert_int_eq(jnum(device(j, VIF_NAME), "queues.1.coalesce.l3.max_usecs"), 300);
        json_object_put(j);
        free(out);
        free(err);

        /* A value out of range: exit 1 and the daemon's own reason. */
        a = ask("set " VIF_NAME " coalesce.l3.usecs 99999");
        ck_assert_str_eq(jstr(a, "error.code"), CTL_ERR_BAD_VALUE);
        snprintf(want, sizeof(want), "pvbackd: %s", jstr(a, "error.message"));
        const char *const bad_usecs[] = {"set", VIF_NAME, "coalesce.l3.usecs=99999", NULL};
        expect_inspect(bad_usecs, 1, NULL, want);
        const char *const bad_json[] = {"--json", "set", VIF_NAME, "coalesce.l3.usecs=99999", NULL};
        expect_inspect(bad_json, 1, "\"bad-value\"", NULL);
        json_object_put(a);
        a = ask("set " VIF_NAME " qos.max fast");
        ck_assert_str_eq(jstr(a, "error.code"), CTL_ERR_BAD_VALUE);
        snprintf(want, sizeof(want), "pvbackd: %s", jstr(a, "error.message"));
        const char *const bad_max[] = {"set", VIF_NAME, "qos.max=fast", NULL};
        expect_inspect(bad_max, 1, NULL, want);
        json_object_put(a);
        /* Refused settings changed nothing. */
        a = ask("show " VIF_NAME);
        ck_assert_int_eq(jnum(device(a, VIF_NAME), "queues.0.coalesce.l3.max_usecs"), 300);
        ck_assert_int_eq(jnum(device(a, VIF_NAME), "qos.max"), 100000000);
        json_object_put(a);

        /* The vif's bridge (xenbr0, as the toolstack wrote it) is its QoS
         * group: the uplink's capacity shows on the vif. */
        const char *const cap[] = {"set", "uplink:xenbr0", "capacity", "1G", NULL};
        expect_inspect(cap, 0, "uplink:xenbr0: capacity set to 1G\n", NULL);
        a = ask("show " VIF_NAME);
        ck_assert_str_eq(jstr(device(a, VIF_NAME), "qos.group"), "xenbr0");
        ck_assert_int_eq(jnum(device(a, VIF_NAME), "qos.group_capacity"), 1000000000);
        json_object_put(a);
        ck_assert_msg(inspect(text_args, &out, &err) == 0, "pvback-inspect: %s", err);
        ck_assert_msg(strstr(out, "(group xenbr0, capacity 1G); allocated tx "), "qos:\n%s", out);
        free(out);
        free(err);
        teardown();
}
END_TEST

/* Well-formed JSON of the wrong shape never aborts pvback-inspect: a
 * wrong top level is "not the protocol" (exit 4), deeper members of
 * unexpected types print as missing; what a guest wrote is escaped. */
START_TEST(odd_answers_are_survived)
{
        make_world(false);
        char fake[PATH_MAX + 32], line_file[PATH_MAX + 32];
        snprintf(fake, sizeof(fake), "%s/fake.sock", world.host.dir);
        snprintf(line_file, sizeof(line_file), "%s/fake.line", world.host.dir);
        static const struct {
                const char *answer;
                int status;
                const char *out, *err;
        } cases[] = {
            {"{\"daemon\": {}, \"devices\": 5}\n", 4, NULL, "not pvbackd's protocol"},
            {"{\"daemon\": [], \"devices\": []}\n", 4, NULL, "not pvbackd's protocol"},
            {"{\"daemon\": {\"classes\": {\"a\": 1}}}\n", 0, "pvbackd ? (pid 0)", NULL},
            {"{\"daemon\": {}, \"devices\": [{\"name\": \"vif5.0\", \"class\": \"vif\", "
             "\"negotiated\": {}, \"queues\": [{\"index\": 0, \"stats\": {\"lro\": "
             "{\"frames\": 3, \"flush\": 1}}}]}]}\n",
             0, "    lro: 3 frames", NULL},
            {"{\"daemon\": {}, \"devices\": [{\"name\": \"vif5.0\", \"class\": \"vif\", "
             "\"error\": \"bad \\u001b]0;x\\u0007ring\"}]}\n",
             0, "  error: bad \\x1b]0;x\\x07ring\n", NULL},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                pid_t d = fake_daemon(fake, cases[i].answer, line_file);
                const char *const args[] = {"--socket", fake, NULL};
                expect_inspect(args, cases[i].status, cases[i].out, cases[i].err);
                ck_assert_int_eq(simhost_wait(d, timeout_ms), 0);
        }
        /* No raw control byte reached the terminal. */
        char o[PATH_MAX + 16];
        snprintf(o, sizeof(o), "%s/inspect.out", world.host.dir);
        char *text = nbw_slurp(o);
        ck_assert_msg(!strchr(text, '\x1b') && !strchr(text, '\x07'), "raw bytes in: %s", text);
        free(text);

        /* --json --watch: rates between two answers whose queues is no
         * array. */
        pid_t d =
            fake_daemon_serving(fake,
                                "{\"daemon\": {\"pid\": 1, \"uptime_s\": 1}, \"devices\": "
                                "[{\"name\": \"vif5.0\", \"class\": \"vif\", \"connects\": 1, "
                                "\"queues\": {\"index\": 0}}]}\n",
                                2);
        char bin[PATH_MAX], wo[PATH_MAX + 16], we[PATH_MAX + 16];
        snprintf(wo, sizeof(wo), "%s/watch.out", world.host.dir);
        snprintf(we, sizeof(we), "%s/watch.err", world.host.dir);
        const char *argv[] = {simhost_bin("pvback-inspect", bin, sizeof(bin)),
                              "--json",
                              "--watch",
                              "0.2",
                              "--socket",
                              fake,
                              NULL};
        pid_t w = spawn(0, argv, wo, we);
        ck_assert_int_eq(simhost_wait(d, timeout_ms), 0);
        sleep_ms(300);
        kill(w, SIGINT);
        int rc = simhost_wait(w, timeout_ms);
        text = nbw_slurp(wo);
        ck_assert_msg(rc == 0, "--watch exited %d:\n%s", rc, text);
        ck_assert_msg(strstr(text, "\"queues\":{\"index\":0}"), "%s", text);
        free(text);
        unlink(fake);
        unlink(line_file);
        teardown();
}
END_TEST

/* --validate in a driver domain (7) that a guest's frontend directory
 * shuts out: that subtree is a finding, the rest is still checked. */
START_TEST(validate_reports_unreadable_subtrees)
{
        make_world(false);
        ck_assert_int_eq(simhost_domain_create(&world.host, 7), 0);
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        ck_assert_ptr_nonnull(xs);
        ck_assert(xs_write(xs, XBT_NULL, "/local/domain/7/backend/vif/5/9/frontend",
                           "/local/domain/5/device/vif/9", 28));
        ck_assert(xs_write(xs, XBT_NULL, "/local/domain/7/backend/vif/5/9/frobnicate", "1", 1));
        ck_assert(xs_write(xs, XBT_NULL, "/local/domain/5/device/vif/9/state", "1", 1));
        struct xs_permissions only_guest = {.id = FRONT_DOMID, .perms = XS_PERM_NONE};
        ck_assert(xs_set_permissions(xs, XBT_NULL, "/local/domain/5/device/vif/9", &only_guest, 1));
        xs_close(xs);

        char schema[PATH_MAX + 32], bin[PATH_MAX], o[PATH_MAX + 16], e[PATH_MAX + 16];
        snprintf(schema, sizeof(schema), "%s/xenstore-schema",
                 getenv("PVBACK_SRC") ? getenv("PVBACK_SRC") : ".");
        snprintf(o, sizeof(o), "%s/validate.out", world.host.dir);
        snprintf(e, sizeof(e), "%s/validate.err", world.host.dir);
        const char *argv[] = {simhost_bin("pvback-inspect", bin, sizeof(bin)), "--validate",
                              "--schema-dir", schema, NULL};
        int rc = simhost_wait(spawn(7, argv, o, e), 30000);
        char *out = nbw_slurp(o), *err = nbw_slurp(e);
        ck_assert_msg(rc == 1, "exit %d; stdout:\n%s\nstderr:\n%s", rc, out, err);
        ck_assert_msg(strstr(out, "/local/domain/5/device/vif/9: unreadable"), "%s", out);
        /* The readable rest was checked. */
        ck_assert_msg(strstr(out, "/local/domain/7/backend/vif/5/9/frobnicate: "), "%s", out);
        free(out);
        free(err);

        /* pvback-xs-validate reads the same way. */
        const char *xsv[] = {simhost_bin("pvback-xs-validate", bin, sizeof(bin)),
                             "--schema-dir",
                             schema,
                             "/local/domain/7/backend/vif",
                             "/local/domain/5/device/vif/9",
                             NULL};
        rc = simhost_wait(spawn(7, xsv, o, e), 30000);
        out = nbw_slurp(o);
        err = nbw_slurp(e);
        ck_assert_msg(rc == 1, "pvback-xs-validate exit %d; stdout:\n%s\nstderr:\n%s", rc, out,
                      err);
        ck_assert_msg(strstr(out, "/local/domain/5/device/vif/9: unreadable"), "%s", out);
        free(out);
        free(err);
        teardown();
}
END_TEST

/* A daemon that accepts and never answers does not hold --watch past ^C. */
START_TEST(watch_stops_on_sigint_while_daemon_hangs)
{
        make_world(false);
        char fake[PATH_MAX + 32], bin[PATH_MAX], wo[PATH_MAX + 16], we[PATH_MAX + 16];
        snprintf(fake, sizeof(fake), "%s/hung.sock", world.host.dir);
        snprintf(wo, sizeof(wo), "%s/watch.out", world.host.dir);
        snprintf(we, sizeof(we), "%s/watch.err", world.host.dir);
        pid_t d = fake_daemon_serving(fake, "", 0);
        const char *argv[] = {simhost_bin("pvback-inspect", bin, sizeof(bin)), "--watch",
                              "--socket", fake, NULL};
        pid_t w = spawn(0, argv, wo, we);
        sleep_ms(1000);
        uint64_t t0 = now_ms();
        ck_assert_int_eq(kill(w, SIGINT), 0);
        int rc = simhost_wait(w, timeout_ms);
        uint64_t took = now_ms() - t0;
        kill_fake(d);
        unlink(fake);
        fprintf(stderr, "watch: stopped %llu ms after SIGINT\n", (unsigned long long)took);
        ck_assert_msg(rc == 0, "--watch exited %d", rc);
        ck_assert_msg(took < 1500, "--watch took %llu ms to stop", (unsigned long long)took);
        teardown();
}
END_TEST

/* "rates over the last S s" of a frame header, or 0 (the first frame). */
static double frame_interval(const char *header)
{
        const char *p = strstr(header, "rates over the last ");
        return p && header[0] == '-' && (size_t)(p - header) < 80 ? atof(p + 20) : 0;
}

/* --watch redraws until SIGINT with per-queue rates, and the rates add up
 * to the traffic that really crossed the vif meanwhile. */
START_TEST(watch_redraws_with_rates)
{
        make_world(false);
        vif_attach();
        netfront_start();
        char bin[PATH_MAX], o[PATH_MAX + 16], e[PATH_MAX + 16];
        snprintf(o, sizeof(o), "%s/watch.out", world.host.dir);
        snprintf(e, sizeof(e), "%s/watch.err", world.host.dir);
        const char *argv[] = {simhost_bin("pvback-inspect", bin, sizeof(bin)), "--watch", "0.3",
                              VIF_NAME, NULL};
        uint64_t t0 = now_ms();
        pid_t w = spawn(0, argv, o, e);
        sleep_ms(700);
        echo_traffic();
        /* At least two more frames after the last frame crossed. */
        uint64_t spent = now_ms() - t0;
        sleep_ms(spent + 700 < 2500 ? (long)(2500 - spent) : 700);
        ck_assert_int_eq(kill(w, SIGINT), 0);
        ck_assert_int_eq(simhost_wait(w, timeout_ms), 0);
        char *text = nbw_slurp(o);

        unsigned frames = 0, rate_lines = 0, qos_lines = 0, achieving = 0;
        double interval = 0, rx_frames = 0, tx_frames = 0;
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                double txp, txm, rxp, rxm;
                const char *achieved = strstr(l, "; achieved tx ");
                if (!strncmp(l, "--- ", 4)) {
                        frames++;
                        interval = frame_interval(l);
                } else if (!strncmp(l, "  qos: ", 7) && achieved) {
                        /* The achieved rates as they change, per frame. */
                        qos_lines++;
                        achieving += strtod(achieved + strlen("; achieved tx "), NULL) > 0;
                } else if (sscanf(l, "    rate: tx %lf packets/s %lf MiB/s, rx %lf packets/s %lf",
                                  &txp, &txm, &rxp, &rxm) == 4) {
                        rate_lines++;
                        tx_frames += txp * interval;
                        rx_frames += rxp * interval;
                }
        }
        fprintf(stderr, "watch: %u frames, %u rate lines, %.1f frames in, %.1f out\n", frames,
                rate_lines, rx_frames, tx_frames);
        ck_assert_msg(frames >= 5, "%u frames in 2.5 s at 0.3 s", frames);
        ck_assert_uint_eq(qos_lines, frames);
        ck_assert_msg(achieving >= 1 && achieving < frames,
                      "achieved tx above 0 in %u of %u frames", achieving, frames);
        /* Two queues, rates from the second frame on. */
        ck_assert_uint_ge(rate_lines, 2 * (frames - 1));
        /* Every frame sent in was counted at the rate it went, once; each
         * printed rate is rounded to a whole packet per second. */
        double slack = 0.5 * 0.4 * rate_lines + 1;
        ck_assert_msg(rx_frames > BURST - slack && rx_frames < BURST + slack,
                      "rx rates add up to %.1f frames, not %u", rx_frames, BURST);
        ck_assert_msg(tx_frames > BURST - slack && tx_frames < BURST + slack,
                      "tx rates add up to %.1f frames, not %u", tx_frames, BURST);
        free(text);

        /* --json: one object per line, with rates from the second on. */
        const char *jargv[] = {argv[0], "--json", "--watch", "0.2", NULL};
        w = spawn(0, jargv, o, e);
        sleep_ms(1200);
        ck_assert_int_eq(kill(w, SIGTERM), 0);
        ck_assert_int_eq(simhost_wait(w, timeout_ms), 0);
        text = nbw_slurp(o);
        unsigned lines = 0, with_rates = 0;
        save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                struct json_object *a = json_tokener_parse(l);
                ck_assert_msg(a, "not a JSON line: %s", l);
                struct json_object *dev = device(a, VIF_NAME);
                ck_assert_ptr_nonnull(dev);
                with_rates += jget(dev, "queues.0.rates.rx_packets") != NULL;
                lines++;
                json_object_put(a);
        }
        ck_assert_msg(lines >= 3 && with_rates == lines - 1, "%u lines, %u with rates", lines,
                      with_rates);
        free(text);
        teardown();
}
END_TEST

/* One vif more than -o vif.max-devices is refused with a reason; then
 * pvbackd dies and pvback-inspect tells what xenstore knows, and checks
 * the tree against the schema. */
START_TEST(device_limit_and_daemon_down)
{
        static const char *const extra[] = {"-o", "vif.max-devices=1", NULL};
        make_world_with(false, extra);
        vif_attach();
        netfront_start();
        /* The schema check with pvbackd up and one connected vif. */
        char schema[PATH_MAX + 32];
        snprintf(schema, sizeof(schema), "%s/xenstore-schema",
                 getenv("PVBACK_SRC") ? getenv("PVBACK_SRC") : ".");
        const char *const validate[] = {"--validate", "--schema-dir", schema, NULL};
        expect_inspect(validate, 0, ", 0 findings\n", NULL);
        const char *second[] = {"vif",      "attach",     "--domid",   FRONT_DOMID_S,
                                "--devid",  "1",          "--mac",     "00:16:3e:00:01:05",
                                "--script", world.script, "--no-wait", NULL};
        ck_assert_int_eq(simhost_cli(&world.host, NULL, 0, second), 0);
        struct json_object *a = NULL;
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms;; sleep_ms(20)) {
                a = ask("show");
                struct json_object *d = device(a, "vif5.1");
                if (d && !strcmp(jstr(d, "backend.phase"), "failed"))
                        break;
                json_object_put(a);
                ck_assert_msg(now_ms() < end, "vif5.1 was not refused");
        }
        struct json_object *refused = device(a, "vif5.1");
        ck_assert_msg(strstr(jstr(refused, "error"), "at most 1 vif devices (-o vif.max-devices)"),
                      "error: %s", jstr(refused, "error"));
        ck_assert_int_eq(jnum(refused, "backend.state"), 5);
        ck_assert_int_eq(jnum(a, "daemon.classes.0.max_devices"), 1);
        ck_assert_int_eq(jnum(a, "daemon.classes.0.assigned"), 1);
        json_object_put(a);
        char *node = xs_read0("/local/domain/0/error/backend/vif/5/1/error");
        ck_assert_msg(node && strstr(node, "vif.max-devices"), "error node: %s", node);
        const char *const none[] = {NULL};
        expect_inspect(none, 0, "1 of at most 1 devices assigned", NULL);
        /* Refused at probe, it sits in Closing without the features a probe
         * publishes: the schema allows that. */
        expect_inspect(validate, 0, ", 0 findings\n", NULL);

        /* pvbackd dies without a word: xenstore still has the story. */
        kill(world.pvbackd, SIGKILL);
        simhost_wait(world.pvbackd, timeout_ms);
        world.pvbackd = 0;
        char *rx_copy = xs_read0("/local/domain/5/device/vif/0/request-rx-copy");
        char *queues = xs_read0("/local/domain/5/device/vif/0/multi-queue-num-queues");
        ck_assert_ptr_nonnull(rx_copy);
        ck_assert_ptr_nonnull(queues);
        char want[512];
        char *out, *err;
        ck_assert_int_eq(inspect(none, &out, &err), 3);
        ck_assert_msg(strstr(err, "pvbackd is not running"), "stderr: %s", err);
        const char *const lines[] = {
            "from xenstore (pvbackd not running): domain 0, 2 backend device(s)\n",
            "vif5.0: frontend domain 5 device 0, backend Connected, frontend Connected\n",
            "online 1, hotplug-status connected\n",
            "vif5.1: frontend domain 5 device 1, backend Closing,",
        };
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                ck_assert_msg(strstr(out, lines[i]), "no \"%s\" in:\n%s", lines[i], out);
        snprintf(want, sizeof(want), "  error: %s\n", node);
        ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
        snprintf(want, sizeof(want), " request-rx-copy=%s", rx_copy);
        ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
        snprintf(want, sizeof(want), " multi-queue-num-queues=%s", queues);
        ck_assert_msg(strstr(out, want), "no \"%s\" in:\n%s", want, out);
        free(out);
        free(err);

        const char *const json[] = {"--json", NULL};
        ck_assert_int_eq(inspect(json, &out, &err), 3);
        struct json_object *j = json_tokener_parse(out);
        ck_assert_msg(j, "not JSON: %s", out);
        ck_assert_str_eq(jstr(j, "source"), "xenstore");
        ck_assert_str_eq(jstr(j, "pvbackd"), "not running");
        struct json_object *v0 = device(j, VIF_NAME);
        ck_assert_ptr_nonnull(v0);
        ck_assert_int_eq(jnum(v0, "backend.state"), 4);
        ck_assert_int_eq(jnum(v0, "frontend.state"), 4);
        ck_assert_str_eq(jstr(v0, "backend.online"), "1");
        ck_assert_str_eq(jstr(v0, "negotiated.request-rx-copy"), rx_copy);
        ck_assert_str_eq(jstr(v0, "negotiated.multi-queue-num-queues"), queues);
        ck_assert(jget(v0, "error") == NULL);
        ck_assert_str_eq(jstr(device(j, "vif5.1"), "error"), node);
        json_object_put(j);
        free(out);
        free(err);

        /* --validate needs no daemon, and finds what does not belong. */
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        ck_assert_ptr_nonnull(xs);
        ck_assert(xs_write(xs, XBT_NULL, "/local/domain/0/backend/vif/5/0/frobnicate", "1", 1));
        ck_assert(xs_write(xs, XBT_NULL, "/local/domain/5/device/vif/0/request-rx-copy", "yes", 3));
        xs_close(xs);
        expect_inspect(validate, 1, "/local/domain/0/backend/vif/5/0/frobnicate: ", NULL);
        expect_inspect(validate, 1, "/local/domain/5/device/vif/0/request-rx-copy: ", NULL);
        const char *const validate_json[] = {"--validate", "--json", "--schema-dir", schema, NULL};
        expect_inspect(validate_json, 1, "\"path\": \"/local/domain/0/backend/vif/5/0/frobnicate\"",
                       NULL);
        free(node);
        free(rx_copy);
        free(queues);
        teardown();
}
END_TEST

/* Clients that say nothing, leave without reading, or come in a crowd
 * never hold up a client that asks. */
START_TEST(slow_and_vanished_clients_do_not_block)
{
        make_world(false);
        vif_attach();
        int silent = ctl_connect(sock_path);
        ck_assert_int_ge(silent, 0);
        uint64_t t0 = now_ms();
        for (int i = 0; i < 20; i++)
                json_object_put(ask("show"));
        ck_assert_msg(now_ms() - t0 < 2000, "20 requests took %llu ms beside a silent client",
                      (unsigned long long)(now_ms() - t0));
        /* The silent client is told why and dropped after the timeout
         * (checked once a second). */
        char *text = read_to_eof(silent, CTL_CLIENT_TIMEOUT_MS + 3000);
        ck_assert_msg(text && strstr(text, "no complete request line"), "silent client: %s",
                      text ? text : "still connected");
        free(text);
        close(silent);

        /* More silent clients than pvbackd serves at once: the oldest make
         * room, the asking one is answered. */
        int crowd[40];
        for (int i = 0; i < 40; i++) {
                crowd[i] = ctl_connect(sock_path);
                ck_assert_int_ge(crowd[i], 0);
        }
        json_object_put(ask("show " VIF_NAME));

        /* Clients that ask and vanish, some before pvbackd answers. */
        for (int i = 0; i < 50; i++) {
                int fd = ctl_connect(sock_path);
                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(send(fd, "show\n", 5, MSG_NOSIGNAL), 5);
                if (i % 2)
                        shutdown(fd, SHUT_RDWR);
                close(fd);
        }
        json_object_put(ask("show"));
        ck_assert_msg(waitpid(world.pvbackd, NULL, WNOHANG) == 0, "pvbackd died");
        /* The crowd's oldest were dropped with a reason. */
        text = read_to_eof(crowd[0], 1000);
        ck_assert_msg(text && strstr(text, CTL_ERR_BUSY), "evicted client: %s",
                      text ? text : "still connected");
        free(text);
        for (int i = 0; i < 40; i++)
                close(crowd[i]);
        json_object_put(ask("show"));
        teardown();
}
END_TEST

/* A second pvbackd given a path, its status and what it said. */
static int second_daemon(const char *path, char **log)
{
        char bin[PATH_MAX], out[PATH_MAX + 16];
        const char *argv[] = {simhost_bin("pvbackd", bin, sizeof(bin)),
                              "--hypervisor",
                              "sim",
                              "--foreground",
                              "--control-socket",
                              path,
                              NULL};
        static unsigned runs;
        /* A fresh log each time: an old one would say "serving" at once. */
        snprintf(out, sizeof(out), "%s/second-%u.log", world.host.dir, ++runs);
        pid_t pid = spawn(0, argv, out, NULL);
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms;; sleep_ms(10)) {
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        *log = nbw_slurp(out);
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                }
                *log = nbw_slurp(out);
                if (strstr(*log, "serving domain 0"))
                        break;
                free(*log);
                ck_assert_msg(now_ms() < end, "second pvbackd neither started nor exited");
        }
        /* Up, so it took the path: killed without any cleanup. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 0;
}

/* One live pvbackd per socket path; what a dead one left is taken over;
 * the directory and socket modes are what the README says. */
START_TEST(socket_path_has_one_owner)
{
        make_world(false);
        char *log, path[PATH_MAX + 64], dir[PATH_MAX + 16];
        struct stat st;

        ck_assert_int_eq(stat(sock_path, &st), 0);
        ck_assert_msg(S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600, "socket mode %o",
                      st.st_mode);
        /* The live daemon's path is refused, and the daemon keeps it. */
        ck_assert_int_eq(second_daemon(sock_path, &log), 1);
        ck_assert_msg(strstr(log, "another pvbackd is serving"), "second pvbackd said: %s", log);
        free(log);
        json_object_put(ask("version"));

        /* A socket left by a daemon that died (bound, never removed) is
         * replaced; the daemon is stopped by the wait's SIGKILL and leaves
         * its own for the next. */
        snprintf(dir, sizeof(dir), "%s/ctl", world.host.dir);
        snprintf(path, sizeof(path), "%s/stale.sock", dir);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        make_stale_socket(path);
        ck_assert_int_eq(second_daemon(path, &log), 0);
        ck_assert_msg(strstr(log, "replacing the stale control socket"), "log: %s", log);
        free(log);
        /* Killed without cleanup: its socket is stale again, and taken. */
        ck_assert_int_eq(second_daemon(path, &log), 0);
        ck_assert_msg(strstr(log, "replacing the stale control socket"), "log: %s", log);
        free(log);

        /* A missing directory is made, 0755. */
        snprintf(dir, sizeof(dir), "%s/newdir", world.host.dir);
        snprintf(path, sizeof(path), "%s/pvbackd.sock", dir);
        ck_assert_int_eq(second_daemon(path, &log), 0);
        free(log);
        ck_assert_int_eq(stat(dir, &st), 0);
        ck_assert_msg(S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0755, "directory mode %o",
                      st.st_mode);

        /* Something that is not a socket is never removed. */
        snprintf(path, sizeof(path), "%s/file", world.host.dir);
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(second_daemon(path, &log), 1);
        ck_assert_msg(strstr(log, "exists and is not a socket"), "log: %s", log);
        free(log);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));

        /* A clean stop removes the socket. */
        kill(world.pvbackd, SIGTERM);
        ck_assert_int_eq(simhost_wait(world.pvbackd, timeout_ms), 0);
        world.pvbackd = 0;
        ck_assert_int_eq(access(sock_path, F_OK), -1);
        teardown();
}
END_TEST

struct hammer {
        volatile int stop;
        uint64_t answers, with_devices;
        char bad[512];
};

/* Asks show as fast as answers come, until told to stop; every answer
 * must be a JSON object with a device list. */
static void hammer_run(struct hammer *h)
{
        while (!h->stop) {
                int fd = ctl_connect(sock_path);
                if (fd < 0 || send(fd, "show\n", 5, MSG_NOSIGNAL) != 5) {
                        snprintf(h->bad, sizeof(h->bad), "cannot ask: %s", strerror(errno));
                        _exit(1);
                }
                char *text = read_to_eof(fd, 30000);
                close(fd);
                struct json_object *a = text ? json_tokener_parse(text) : NULL;
                struct json_object *devs = NULL;
                if (!a || !json_object_object_get_ex(a, "devices", &devs)) {
                        snprintf(h->bad, sizeof(h->bad), "bad answer: %.400s",
                                 text ? text : "(none)");
                        _exit(1);
                }
                h->answers++;
                h->with_devices += json_object_array_length(devs) > 0;
                json_object_put(a);
                free(text);
        }
        _exit(0);
}

/* show never sees a device half gone: dumps race detaches (frontends
 * connected and busy) and domain destroys. Under SANITIZE=1, ASan watches
 * every read of a device the detach frees. */
START_TEST(show_during_detach)
{
        make_world(false);
        struct hammer *h =
            mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(h, MAP_FAILED);
        memset(h, 0, sizeof(*h));
        fflush(NULL);
        pid_t hammer = fork();
        ck_assert_int_ge(hammer, 0);
        if (hammer == 0)
                hammer_run(h);
        for (int cycle = 0; cycle < 3; cycle++) {
                vif_attach();
                vbd_attach();
                netfront_start();
                blkfront_start();
                echo_traffic();
                if (cycle == 2) {
                        /* xl destroy: everything of the domain goes at once. */
                        ck_assert_int_eq(simhost_domain_destroy(&world.host, FRONT_DOMID), 0);
                        proc_reap(&netfront);
                        proc_reap(&blkfront);
                        break;
                }
                vif_detach();
                vbd_detach();
                int rc = simhost_wait(netfront, timeout_ms);
                ck_assert_msg(rc == 0 || rc == 1, "netfront ended with %d after a detach", rc);
                netfront = -1;
                proc_reap(&blkfront);
        }
        /* Until pvbackd has dropped every device. */
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms;; sleep_ms(50)) {
                struct json_object *a = ask("show");
                uint64_t n = jnum(a, "daemon.devices");
                json_object_put(a);
                if (!n)
                        break;
                ck_assert_msg(now_ms() < end, "%llu devices left", (unsigned long long)n);
        }
        h->stop = 1;
        int rc = simhost_wait(hammer, 60000);
        ck_assert_msg(rc == 0, "hammer: %s", h->bad);
        fprintf(stderr, "show_during_detach: %llu answers, %llu with devices\n",
                (unsigned long long)h->answers, (unsigned long long)h->with_devices);
        ck_assert_uint_gt(h->with_devices, 0);
        ck_assert_msg(waitpid(world.pvbackd, NULL, WNOHANG) == 0, "pvbackd died");
        kill(world.pvbackd, SIGTERM);
        rc = simhost_wait(world.pvbackd, timeout_ms);
        world.pvbackd = 0;
        if (rc)
                print_file(world.pvbackd_log);
        ck_assert_msg(rc == 0, "pvbackd exited %d", rc);
        munmap(h, sizeof(*h));
        teardown();
}
END_TEST

/* pvbackd under valgrind answering every kind of client through a vif's
 * and a vbd's life: no leak, no memory error, a clean exit. */
START_TEST(clients_valgrind_clean)
{
        if (valgrind_skipped())
                return;
        char vglog[PATH_MAX + 16];
        timeout_ms = 90000;
        make_world(true);
        snprintf(vglog, sizeof(vglog), "%s/valgrind.log", world.host.dir);
        /* pvbackd really runs on valgrind's core (memcheck-<arch>-linux). */
        char comm[32];
        ck_assert_int_eq(procstat_comm(world.pvbackd, comm, sizeof(comm)), 0);
        ck_assert_msg(!strncmp(comm, "memcheck", 8), "pvbackd runs as %s", comm);
        vif_attach();
        vbd_attach();
        netfront_start();
        blkfront_start();
        echo_traffic();
        struct json_object *a = ask("show");
        ck_assert_int_eq(sum_queues(device(a, VIF_NAME), "stats.tx_packets"), BURST);
        json_object_put(a);
        json_object_put(ask("show " VBD_NAME));
        assert_error("show vif9.0", CTL_ERR_UNKNOWN_DEVICE, "no device");
        assert_error("frobnicate", CTL_ERR_UNKNOWN_CMD, "unknown command");
        char big[CTL_REQ_MAX + 16];
        memset(big, 'x', sizeof(big));
        free(ask_raw_at(sock_path, big, sizeof(big)));
        int silent = ctl_connect(sock_path);
        for (int i = 0; i < 5; i++) {
                int fd = ctl_connect(sock_path);
                ck_assert_int_eq(send(fd, "show\n", 5, MSG_NOSIGNAL), 5);
                close(fd);
        }
        vif_detach();
        vbd_detach();
        int rc = simhost_wait(netfront, timeout_ms);
        ck_assert_msg(rc == 0 || rc == 1, "netfront ended with %d after a detach", rc);
        netfront = -1;
        proc_reap(&blkfront);
        json_object_put(ask("show"));
        /* Still connected at the stop: the daemon drops it. */
        ck_assert_int_ge(silent, 0);
        kill(world.pvbackd, SIGTERM);
        int status = simhost_wait(world.pvbackd, 120000);
        world.pvbackd = 0;
        close(silent);
        if (status != 0) {
                print_file(vglog);
                print_file(world.pvbackd_log);
        }
        ck_assert_msg(status == 0, "pvbackd under valgrind exited %d (%s)", status,
                      VALGRIND_VERDICT(status));
        teardown();
}
END_TEST

static Suite *inspect_suite(void)
{
        Suite *s = suite_create("inspect");
        TCase *tc = tcase_create("sim");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, show_reports_the_real_state);
        tcase_add_test(tc, errors_are_actionable);
        tcase_add_test(tc, set_request_and_errors);
        tcase_add_test(tc, coalesce_and_qos_shown);
        tcase_add_test(tc, odd_answers_are_survived);
        tcase_add_test(tc, watch_stops_on_sigint_while_daemon_hangs);
        tcase_add_test(tc, validate_reports_unreadable_subtrees);
        tcase_add_test(tc, watch_redraws_with_rates);
        tcase_add_test(tc, device_limit_and_daemon_down);
        tcase_add_test(tc, slow_and_vanished_clients_do_not_block);
        tcase_add_test(tc, socket_path_has_one_owner);
        tcase_add_test(tc, show_during_detach);
        tcase_add_test(tc, clients_valgrind_clean);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(inspect_suite)
