/* The netback end-to-end test world (see nbworld.h): processes are the
 * shipped binaries, started in the namespaces they belong to; the TCP stream
 * endpoints are forked children of the test. */
#include "nbworld.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "sim_paths.h"
#include "xb.h"

#define NBW_CHUNK (64u * 1024u)

static struct nbw *nbw_live;
static pid_t nbw_owner;

char *nbw_slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        size_t cap = 4096, n = 0;
        char *buf = malloc(cap);
        if (!buf)
                abort();
        while (f) {
                if (n + 2048 > cap) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        if (!buf)
                                abort();
                }
                size_t r = fread(buf + n, 1, cap - n - 1, f);
                if (r == 0)
                        break;
                n += r;
        }
        if (f)
                fclose(f);
        buf[n] = '\0';
        return buf;
}

static void dump_tail(const char *what, const char *path)
{
        char *text = nbw_slurp(path);
        size_t len = strlen(text);
        const char *start = len > 3000 ? text + len - 3000 : text;
        fprintf(stderr, "---- %s (%s), last lines:\n%s\n", what, path, start);
        free(text);
}

void nbw_dump_logs(const struct nbw *w)
{
        if (w->pvbackd_log[0])
                dump_tail("pvbackd", w->pvbackd_log);
        if (w->nf_log[0])
                dump_tail("pvback-netfront", w->nf_log);
}

/* Environment entries that make a process act as domain `domid`. */
struct nbw_env {
        char xs[PATH_MAX + 32], dir[PATH_MAX + 32], domid[48];
        const char *v[5];
};

static void env_for(const struct nbw *w, uint16_t domid, struct nbw_env *e)
{
        char sock[PATH_MAX];
        sim_path_dom(sock, sizeof(sock), w->host.dir, domid, SIM_XS_SOCK);
        snprintf(e->xs, sizeof(e->xs), "XENSTORED_PATH=%s", sock);
        snprintf(e->dir, sizeof(e->dir), "%s=%s", SIM_ENV_DIR, w->host.dir);
        snprintf(e->domid, sizeof(e->domid), "%s=%u", SIM_ENV_DOMID, domid);
        e->v[0] = e->xs;
        e->v[1] = e->dir;
        e->v[2] = e->domid;
        e->v[3] = "PVBACK_HYPERVISOR=sim";
        e->v[4] = NULL;
}

static void nbw_at_exit(void)
{
        if (nbw_live && getpid() == nbw_owner)
                nbw_down(nbw_live);
}

/* Runs `pvback-sim <args> --dir D` inside the host namespaces (the hotplug
 * script needs the bridge and a /sys showing it) and waits. */
static int nbw_toolstack(struct nbw *w, const char *const args[], const char *log)
{
        char bin[PATH_MAX];
        const char *argv[40];
        int n = 0;
        argv[n++] = simhost_bin("pvback-sim", bin, sizeof(bin));
        for (int i = 0; args[i] && n < 36; i++)
                argv[n++] = args[i];
        argv[n++] = "--dir";
        argv[n++] = w->host.dir;
        argv[n] = NULL;
        pid_t pid = netns_exec(&w->hostns, SIGKILL, argv, NULL, log);
        if (pid < 0)
                return pid;
        return simhost_wait(pid, 60000);
}

int nbw_pvbackd_start(struct nbw *w, const char *const wrapper[], const char *const args[])
{
        char bin[PATH_MAX];
        const char *argv[48];
        struct nbw_env env;
        int n = 0;
        for (int i = 0; wrapper && wrapper[i] && n < 24; i++)
                argv[n++] = wrapper[i];
        argv[n++] = simhost_bin("pvbackd", bin, sizeof(bin));
        argv[n++] = "--hypervisor";
        argv[n++] = "sim";
        argv[n++] = "--foreground";
        for (int i = 0; args && args[i] && n < 46; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        env_for(w, 0, &env);
        snprintf(w->pvbackd_log, sizeof(w->pvbackd_log), "%s/pvbackd.log", w->host.dir);
        /* SIGTERM if the test dies: pvbackd's own teardown removes its TAPs. */
        w->pvbackd = netns_exec(w->local ? NULL : &w->hostns, SIGTERM, argv, env.v, w->pvbackd_log);
        return w->pvbackd < 0 ? w->pvbackd : 0;
}

static int start_pvbackd(struct nbw *w, unsigned max_queues, const char *const *more)
{
        char opt[64];
        const char *args[24] = {"-o", opt};
        int n = 2;
        snprintf(opt, sizeof(opt), "vif.max-queues=%u", max_queues ? max_queues : 4);
        for (int i = 0; more && more[i] && n < 23; i++)
                args[n++] = more[i];
        args[n] = NULL;
        return nbw_pvbackd_start(w, NULL, args);
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

/* What vif-bridge does that matters without a bridge: the netdev goes up
 * and the script says so in hotplug-status. */
static void write_local_script(struct nbw *w)
{
        snprintf(w->script, sizeof(w->script), "%s/vif-up", w->host.dir);
        write_file(w->script, "#!/bin/sh\n"
                              "[ \"$1\" = online ] || exit 0\n"
                              "ip link set dev \"$vif\" up || exit 1\n"
                              "xenstore-write \"$XENBUS_PATH/hotplug-status\" connected\n");
        chmod(w->script, 0755);
}

/* The caller's own network namespace, fresh, before any child is forked:
 * every TAP in it dies with the test and its children. No IPv6
 * autoconfiguration chatter on the vifs: the only frames on them are the
 * ones the test sends. */
static int local_netns(char *why, size_t whylen)
{
        if (unshare(CLONE_NEWNET) < 0) {
                int rc = -errno;
                snprintf(why, whylen, "a private network namespace: %s", strerror(-rc));
                return rc;
        }
        if (system("ip link set lo up") != 0) {
                snprintf(why, whylen, "bringing lo up failed");
                return -EIO;
        }
        write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
        write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
        return 0;
}

static int local_up(struct nbw *w, const struct nbw_opts *o, char *why, size_t whylen)
{
        int rc = local_netns(why, whylen);
        if (rc < 0)
                return rc;
        if ((rc = simhost_start(&w->host)) < 0) {
                snprintf(why, whylen, "simulated host: %s", strerror(-rc));
                return rc;
        }
        for (const uint16_t *d = o->domids; d && *d; d++) {
                if ((rc = simhost_domain_create(&w->host, *d)) < 0) {
                        snprintf(why, whylen, "creating domain %u: %s", *d, strerror(-rc));
                        return rc;
                }
        }
        write_local_script(w);
        return 0;
}

int nbw_up(struct nbw *w, const struct nbw_opts *o, char *why, size_t whylen)
{
        int rc;
        memset(w, 0, sizeof(*w));
        nbw_live = w;
        nbw_owner = getpid();
        static bool registered;
        if (!registered) {
                atexit(nbw_at_exit);
                registered = true;
        }
        w->local = o && o->local;
        if (w->local)
                return local_up(w, o, why, whylen);
        if ((rc = simhost_start(&w->host)) < 0 ||
            (rc = simhost_domain_create(&w->host, NBW_DOMID)) < 0) {
                snprintf(why, whylen, "simulated host: %s", strerror(-rc));
                return rc;
        }
        if ((rc = netns_create(&w->hostns, "host")) < 0 ||
            (rc = netns_create(&w->guestns, "guest")) < 0) {
                snprintf(why, whylen, "network namespaces: %s", strerror(-rc));
                return rc;
        }
        rc = netns_run(&w->hostns, "ip link add xenbr0 type bridge && ip link set xenbr0 up && "
                                   "ip addr add " NBW_HOST_IP "/24 dev xenbr0");
        if (rc != 0) {
                snprintf(why, whylen, "creating bridge xenbr0: status %d", rc);
                return -EIO;
        }
        if ((rc = start_pvbackd(w, o ? o->max_queues : 0, o ? o->pvbackd_args : NULL)) < 0) {
                snprintf(why, whylen, "starting pvbackd: %s", strerror(-rc));
                return rc;
        }
        char log[PATH_MAX];
        snprintf(log, sizeof(log), "%s/attach.log", w->host.dir);
        const char *args[16] = {"vif",         "attach",   "--domid",    "1",        "--mac",
                                NBW_GUEST_MAC, "--script", "vif-bridge", "--bridge", "xenbr0"};
        int n = 10;
        if (o && o->rate) {
                args[n++] = "--rate";
                args[n++] = o->rate;
        }
        args[n] = NULL;
        rc = nbw_toolstack(w, args, log);
        if (rc != 0) {
                char *text = nbw_slurp(log);
                snprintf(why, whylen, "vif attach exited %d: %s", rc, text);
                free(text);
                nbw_dump_logs(w);
                return -EIO;
        }
        return 0;
}

void nbw_down(struct nbw *w)
{
        if (w->netfront > 0)
                nbw_netfront_stop(w);
        if (w->pvbackd > 0) {
                kill(w->pvbackd, SIGTERM);
                if (simhost_wait(w->pvbackd, 10000) == -ETIMEDOUT)
                        fprintf(stderr, "nbworld: pvbackd ignored SIGTERM; killed\n");
                w->pvbackd = 0;
        }
        netns_destroy(&w->guestns);
        netns_destroy(&w->hostns);
        simhost_stop(&w->host);
        if (nbw_live == w)
                nbw_live = NULL;
}

static bool log_has(const char *path, const char *needle)
{
        char *text = nbw_slurp(path);
        bool found = strstr(text, needle) != NULL;
        free(text);
        return found;
}

int nbw_netfront_start(struct nbw *w, const char *mode, const char *const args[], char *why,
                       size_t whylen)
{
        char bin[PATH_MAX];
        const char *argv[48];
        struct nbw_env env;
        int n = 0;
        bool tap = strcmp(mode, "tap") == 0;

        argv[n++] = simhost_bin("pvback-netfront", bin, sizeof(bin));
        argv[n++] = mode;
        if (tap) {
                argv[n++] = "--netns";
                argv[n++] = w->guestns.net_path;
                argv[n++] = "--ip";
                argv[n++] = NBW_GUEST_IP "/24";
        }
        for (int i = 0; args && args[i] && n < 46; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        env_for(w, NBW_DOMID, &env);
        snprintf(w->nf_log, sizeof(w->nf_log), "%s/netfront-%u.log", w->host.dir, ++w->nf_runs);
        /* The netfront enters the guest namespace itself (--netns). */
        w->netfront = netns_exec(NULL, SIGKILL, argv, env.v, w->nf_log);
        if (w->netfront < 0) {
                snprintf(why, whylen, "starting pvback-netfront: %s", strerror(-w->netfront));
                return w->netfront;
        }
        const char *ready = tap ? "tap: " : "connected: ";
        for (double end = now_s() + 30; now_s() < end; sleep_ms(20)) {
                if (log_has(w->nf_log, ready))
                        return 0;
                int status;
                if (waitpid(w->netfront, &status, WNOHANG) == w->netfront) {
                        w->netfront = 0;
                        break;
                }
        }
        char *text = nbw_slurp(w->nf_log);
        snprintf(why, whylen, "pvback-netfront %s did not come up: %s", mode, text);
        free(text);
        nbw_dump_logs(w);
        return -ETIMEDOUT;
}

int nbw_netfront_stop(struct nbw *w)
{
        if (w->netfront <= 0)
                return -ECHILD;
        kill(w->netfront, SIGTERM);
        int st = simhost_wait(w->netfront, 20000);
        w->netfront = 0;
        return st;
}

static void be_path(const struct nbw *w, const char *key, char *buf, size_t len)
{
        snprintf(buf, len, "/local/domain/0/backend/vif/%u/0/%s", NBW_DOMID, key);
}

char *nbw_be_read(struct nbw *w, const char *key)
{
        char path[256];
        unsigned len;
        struct xs_handle *xs = simhost_xs_open(&w->host, 0);
        if (!xs)
                return NULL;
        be_path(w, key, path, sizeof(path));
        char *v = xs_read(xs, XBT_NULL, path, &len);
        xs_close(xs);
        return v;
}

int nbw_be_write(struct nbw *w, const char *key, const char *value)
{
        char path[256];
        struct xs_handle *xs = simhost_xs_open(&w->host, 0);
        if (!xs)
                return -EIO;
        be_path(w, key, path, sizeof(path));
        bool ok = xs_write(xs, XBT_NULL, path, value, (unsigned)strlen(value));
        xs_close(xs);
        return ok ? 0 : -EIO;
}

bool nbw_be_wait(struct nbw *w, const char *key, const char *want, int ms)
{
        for (double end = now_s() + ms / 1000.0; now_s() < end; sleep_ms(20)) {
                char *v = nbw_be_read(w, key);
                bool ok = v && strcmp(v, want) == 0;
                free(v);
                if (ok)
                        return true;
        }
        return false;
}

int nbw_ping(struct nbw *w, bool from_guest, int count)
{
        return netns_run(from_guest ? &w->guestns : &w->hostns, "ping -c %d -i 0.2 -W 2 %s", count,
                         from_guest ? NBW_HOST_IP : NBW_GUEST_IP);
}

/* ---- verified TCP streams ------------------------------------------------ */

/* The stream's content: 64-bit words of a seeded mix of their index, so any
 * byte out of place (lost, duplicated, reordered, corrupted) is found. */
static uint64_t pattern_word(uint32_t seed, uint64_t i)
{
        uint64_t z = i * 0x9e3779b97f4a7c15ull + ((uint64_t)seed << 32 | seed);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static void pattern_fill(uint32_t seed, uint64_t off, uint8_t *buf, size_t len)
{
        for (size_t i = 0; i < len; i += 8) {
                uint64_t word = pattern_word(seed, (off + i) / 8);
                memcpy(buf + i, &word, 8);
        }
}

/* Digest of a chunk, chained; word-wise so it costs less than the copy. */
static uint64_t digest_chunk(uint64_t h, const uint8_t *p, size_t len)
{
        for (size_t i = 0; i < len; i += 8) {
                uint64_t word;
                memcpy(&word, p + i, 8);
                h = (h ^ word) * 0x100000001b3ull;
                h ^= h >> 29;
        }
        return h;
}

#define DIGEST_INIT 0xcbf29ce484222325ull

struct stream_job {
        struct nbw_stream *res; /* shared with the children */
        const char *ip;
        uint16_t port;
        uint64_t bytes;
        uint32_t seed;
        volatile int *listening;
};

/* The receiver's address; an IPv6 one when it has a colon. 0: unparsable. */
static socklen_t stream_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
        struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

        memset(ss, 0, sizeof(*ss));
        if (strchr(ip, ':')) {
                a6->sin6_family = AF_INET6;
                a6->sin6_port = htons(port);
                return inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1 ? sizeof(*a6) : 0;
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        return inet_pton(AF_INET, ip, &a4->sin_addr) == 1 ? sizeof(*a4) : 0;
}

static int stream_receiver(void *arg)
{
        struct stream_job *j = arg;
        struct nbw_stream *r = j->res;
        struct sockaddr_storage sa;
        socklen_t salen = stream_addr(j->ip, j->port, &sa);
        int one = 1, ls = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        uint8_t *buf = malloc(NBW_CHUNK), *want = malloc(NBW_CHUNK);
        if (ls < 0 || !buf || !want || !salen)
                return 10;
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(ls, (struct sockaddr *)&sa, salen) < 0 || listen(ls, 1) < 0)
                return 11;
        *j->listening = 1;
        struct pollfd p = {.fd = ls, .events = POLLIN};
        if (poll(&p, 1, 30000) != 1)
                return 12;
        int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (s < 0)
                return 13;
        uint64_t h = DIGEST_INIT, got = 0;
        size_t fill = 0;
        double t0 = 0;
        r->first_bad = UINT64_MAX;
        for (;;) {
                ssize_t n = read(s, buf + fill, NBW_CHUNK - fill);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return 14;
                if (n > 0 && t0 == 0)
                        t0 = now_s();
                fill += (size_t)n;
                if (fill == NBW_CHUNK || (n == 0 && fill)) {
                        size_t len = (fill + 7) & ~(size_t)7;
                        memset(buf + fill, 0, len - fill);
                        h = digest_chunk(h, buf, len);
                        pattern_fill(j->seed, got, want, len);
                        if (r->first_bad == UINT64_MAX && memcmp(buf, want, fill) != 0) {
                                size_t k = 0;
                                while (buf[k] == want[k])
                                        k++;
                                r->first_bad = got + k;
                        }
                        got += fill;
                        fill = 0;
                        r->bytes_received = got;
                }
                if (n == 0)
                        break;
        }
        r->seconds = now_s() - t0;
        r->digest_received = h;
        close(s);
        close(ls);
        return 0;
}

static int stream_sender(void *arg)
{
        struct stream_job *j = arg;
        struct nbw_stream *r = j->res;
        struct sockaddr_storage sa;
        socklen_t salen = stream_addr(j->ip, j->port, &sa);
        uint8_t *buf = malloc(NBW_CHUNK);
        int s = -1;
        if (!salen)
                return 20;
        /* The first SYN may wait for ARP through the whole path. */
        for (double end = now_s() + 20; s < 0 && now_s() < end;) {
                s = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (connect(s, (struct sockaddr *)&sa, salen) == 0)
                        break;
                close(s);
                s = -1;
                sleep_ms(100);
        }
        if (s < 0 || !buf)
                return 20;
        uint64_t h = DIGEST_INIT, off = 0;
        while (off < j->bytes) {
                size_t len = j->bytes - off < NBW_CHUNK ? (size_t)(j->bytes - off) : NBW_CHUNK;
                size_t padded = (len + 7) & ~(size_t)7;
                pattern_fill(j->seed, off, buf, padded);
                memset(buf + len, 0, padded - len);
                h = digest_chunk(h, buf, padded);
                for (size_t done = 0; done < len;) {
                        ssize_t n = write(s, buf + done, len - done);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return 21;
                        done += (size_t)n;
                }
                off += len;
                r->bytes_sent = off;
        }
        r->digest_sent = h;
        shutdown(s, SHUT_WR);
        /* Wait for the receiver's close so every byte was taken. */
        char c;
        while (read(s, &c, 1) > 0)
                ;
        close(s);
        return 0;
}

int nbw_tcp_stream(struct nbw *w, bool guest_to_host, uint64_t bytes, uint16_t port, uint32_t seed,
                   struct nbw_stream *out)
{
        struct netns *tx_ns = guest_to_host ? &w->guestns : &w->hostns;
        struct netns *rx_ns = guest_to_host ? &w->hostns : &w->guestns;
        const char *rx_ip = guest_to_host ? NBW_HOST_IP : NBW_GUEST_IP;
        return nbw_tcp_stream_ns(w, tx_ns, rx_ns, rx_ip, bytes, port, seed, out);
}

int nbw_tcp_stream_ns(struct nbw *w, struct netns *tx_ns, struct netns *rx_ns, const char *rx_ip,
                      uint64_t bytes, uint16_t port, uint32_t seed, struct nbw_stream *out)
{
        /* Shared with both children: results and the receiver's readiness. */
        struct shared {
                struct nbw_stream res;
                volatile int listening;
        } *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED)
                return -errno;
        memset(sh, 0, sizeof(*sh));
        struct stream_job j = {.res = &sh->res,
                               .ip = rx_ip,
                               .port = port,
                               .bytes = bytes,
                               .seed = seed,
                               .listening = &sh->listening};
        pid_t rx = netns_spawn(rx_ns, stream_receiver, &j);
        if (rx < 0) {
                munmap(sh, sizeof(*sh));
                return rx;
        }
        for (double end = now_s() + 10; !sh->listening && now_s() < end;)
                sleep_ms(5);
        pid_t tx = netns_spawn(tx_ns, stream_sender, &j);
        /* Generous: a slow sanitizer build still moves several MiB/s. */
        int limit_ms = 60000 + (int)(bytes / (1u << 20)) * 1000;
        sh->res.sender_status = tx < 0 ? tx : simhost_wait(tx, limit_ms);
        sh->res.receiver_status = simhost_wait(rx, 20000);
        *out = sh->res;
        munmap(sh, sizeof(*sh));
        if (out->sender_status != 0 || out->receiver_status != 0) {
                fprintf(stderr,
                        "nbworld: %s→%s stream on port %u: sender exit %d, receiver exit %d, "
                        "%llu of %llu bytes\n",
                        tx_ns->label, rx_ns->label, port, out->sender_status, out->receiver_status,
                        (unsigned long long)out->bytes_received, (unsigned long long)bytes);
                nbw_dump_logs(w);
                return -EIO;
        }
        return 0;
}

double nbw_mbps(const struct nbw_stream *s)
{
        return s->seconds > 0 ? (double)s->bytes_received * 8 / s->seconds / 1e6 : 0;
}
