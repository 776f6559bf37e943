/* netback lifecycle on the simulator with the real pvbackd: hundreds of vif
 * attach/detach cycles (some with a frontend passing verified traffic, some
 * closing and reconnecting, some detached while connected) and dozens of
 * frontend-domain destroys under a connected vif leave pvbackd's fds,
 * mappings, threads and RSS where they were and no netdev behind; the same
 * lifecycle with pvbackd under valgrind ends leak-free. Not for hostile
 * frontends (test_netback_hostile.c) or the feature matrix. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
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
#include "sanitizer.h"
#include "proc.h"
#include "procstat.h"
#include "nbworld.h"
#include "nbecho.h"
#include "simhost.h"
#include "xb.h"

#define FRONT_DOMID   5
#define FRONT_DOMID_S "5"
#define FRONT_MAC     "00:16:3e:00:00:05"
#define VIF_NAME      "vif5.0"
#define BE_DIR        "/local/domain/0/backend/vif/5/0"
#define WINDOW        32u
#define BURST         128u
#define STALL_MS      10000

#define WARMUP_ATTACH    8
#define WARMUP_DESTROY   2
#define VALGRIND_ATTACH  16
#define VALGRIND_DESTROY 4

/* Anonymous RSS (heap, thread stacks; the guests' memory is file-backed and
 * counted apart) may move by what glibc keeps in its arenas' free lists:
 * each queue start allocates a 1 MiB TX arena and its RX state on a worker
 * thread, and freed blocks may stay resident in that worker's arena. 1 MiB
 * of slack (measured: 0 kB growth over 250 cycles); a leaked queue (its TX
 * arena alone is 1 MiB) goes past it at once, a 4 KiB leak per cycle
 * within 250 cycles; smaller leaks are the valgrind test's job. */
#define RSS_SLACK_KB 1024

static struct nbw world; /* local: pvbackd and the vif in this namespace */
static pid_t front_pid = -1;
static char front_out[PATH_MAX + 16];

/* pvbackd's own resources, and apart from them what the simulator's seam
 * provider holds for the guests' memory: it maps every domain incarnation
 * it touches once (its mem and grant-table files, one fd, two mappings) and
 * keeps a destroyed one mapped for the life of the process, as Xen keeps a
 * zombie domain's pages while anything may still point into them
 * (common/sim_dom.c). That is the simulator's model, not pvbackd's to free,
 * so it is counted apart and bounded by the number of incarnations. */
struct usage {
        unsigned fds, maps, threads;
        unsigned sim_fds, sim_maps;
        unsigned long rss_anon_kb, rss_kb;
        char fd_list[2048]; /* " fd:target" of pvbackd's own fds, to name a leak */
};

static char sim_dom_prefix[PATH_MAX + 8]; /* "<host dir>/dom" */

/* ---- processes ---------------------------------------------------------- */

/* Check's fork mode skips teardown after a failed assertion: the frontend
 * goes at exit (nbworld takes pvbackd and the host). */
static void cleanup(void)
{
        proc_reap(&front_pid);
}

static pid_t spawn(uint16_t domid, const char *const argv[], const char *out)
{
        const struct proc_exec e = {.argv = argv, .out_path = out};
        pid_t pid = simhost_spawn_exec(&world.host, domid, &e);
        ck_assert_int_gt(pid, 0);
        return pid;
}

/* ---- the world ------------------------------------------------------------ */

static void make_world(void)
{
        static const uint16_t doms[] = {FRONT_DOMID, 0};
        const struct nbw_opts o = {.local = true, .domids = doms};
        char why[512];
        atexit(cleanup);
        ck_assert_msg(nbw_up(&world, &o, why, sizeof(why)) == 0, "%s", why);
        snprintf(front_out, sizeof(front_out), "%s/netfront.out", world.host.dir);
        snprintf(sim_dom_prefix, sizeof(sim_dom_prefix), "%s/dom", world.host.dir);
}

/* pvbackd as domain 0, optionally under a wrapper (valgrind ...). */
static void start_daemon(const char *const wrapper[])
{
        static const char *const args[] = {"--workers", "2", "--log-level", "warning", NULL};
        ck_assert_int_eq(nbw_pvbackd_start(&world, wrapper, args), 0);
}

static void assert_daemon_alive(const char *what, unsigned cycle)
{
        ck_assert_msg(waitpid(world.pvbackd, NULL, WNOHANG) == 0, "pvbackd died in %s %u", what,
                      cycle);
}

static void attach(const char *timeout)
{
        const char *args[] = {"vif",       "attach", "--domid", FRONT_DOMID_S, "--devid",
                              "0",         "--mac",  FRONT_MAC, "--script",    world.script,
                              "--timeout", timeout,  NULL};
        ck_assert_int_eq(simhost_cli(&world.host, NULL, 0, args), 0);
}

static void detach(const char *timeout)
{
        const char *args[] = {"vif", "detach",    "--domid", FRONT_DOMID_S, "--devid",
                              "0",   "--timeout", timeout,   NULL};
        ck_assert_int_eq(simhost_cli(&world.host, NULL, 0, args), 0);
}

static void wait_netdev_gone(unsigned cycle, int timeout_ms)
{
        uint64_t end = now_ms() + (uint64_t)timeout_ms;
        while (if_nametoindex(VIF_NAME) != 0 && now_ms() < end)
                sleep_ms(5);
        ck_assert_msg(if_nametoindex(VIF_NAME) == 0, "cycle %u: %s still exists", cycle, VIF_NAME);
}

/* Waits until the backend says Connected, the frontend still running. */
static void wait_connected(struct xs_handle *xs, unsigned cycle, int timeout_ms)
{
        for (uint64_t end = now_ms() + (uint64_t)timeout_ms;
             !simhost_xs_is(xs, BE_DIR "/state", "4"); sleep_ms(5)) {
                if (now_ms() > end || waitpid(front_pid, NULL, WNOHANG) != 0) {
                        proc_print_file(front_out);
                        ck_abort_msg("cycle %u: vif not Connected after %d ms", cycle, timeout_ms);
                }
        }
}

/* ---- frontends and traffic ------------------------------------------------ */

/* pvback-netfront MODE in the frontend domain. */
static void front_start(const char *mode)
{
        static char bin[PATH_MAX];
        const char *argv[] = {simhost_bin("pvback-netfront", bin, sizeof(bin)), mode, "--timeout",
                              "30", NULL};
        front_pid = spawn(FRONT_DOMID, argv, front_out);
}

/* SIGTERM: the frontend closes (Closing, Closed) and exits 0. */
static void front_stop(unsigned cycle, int timeout_ms)
{
        kill(front_pid, SIGTERM);
        int rc = simhost_wait(front_pid, timeout_ms);
        front_pid = -1;
        if (rc != 0)
                proc_print_file(front_out);
        ck_assert_msg(rc == 0, "cycle %u: netfront stopped with %d, not a clean close", cycle, rc);
}

/* The backend went away under it: netfront says so and exits 1. */
static void front_wait_gone(unsigned cycle, int timeout_ms)
{
        int rc = simhost_wait(front_pid, timeout_ms);
        front_pid = -1;
        ck_assert_msg(rc == 0 || rc == 1, "cycle %u: netfront ended with %d after a detach", cycle,
                      rc);
}

/* BURST generator frames into the TAP, reflected by the guest's echo, read
 * back and checked byte for byte against the pattern and digest. */
static void echo_traffic(unsigned cycle)
{
        const struct nbecho_flow f = {.domid = FRONT_DOMID, .flows = 2, .seed = cycle + 1};
        const struct nbecho_pace p = {.frames = BURST, .window = WINDOW, .stall_ms = STALL_MS};
        struct nbecho_result r;
        int rc = nbecho_run_on(VIF_NAME, &f, &p, &r);
        if (rc == -ETIMEDOUT)
                proc_print_file(front_out);
        ck_assert_msg(rc != -ETIMEDOUT, "cycle %u: %llu of %u frames came back", cycle,
                      (unsigned long long)r.back.frames, BURST);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(r.back.bad_bytes == 0 && r.back.frames == r.sent_frames &&
                          r.back.digest == r.sent_digest,
                      "cycle %u: echoed digest %016llx (%llu frames, %llu bad bytes), sent "
                      "%016llx (%llu frames)",
                      cycle, (unsigned long long)r.back.digest, (unsigned long long)r.back.frames,
                      (unsigned long long)r.back.bad_bytes, (unsigned long long)r.sent_digest,
                      (unsigned long long)r.sent_frames);
}

/* One attach/detach; by cycle number:
 *   0: traffic, the frontend closes, reconnects after Closed (a guest
 *      reboot), traffic again, then the toolstack detaches it connected;
 *   1: no frontend at all;
 *   2: a frontend connects and closes before the detach;
 *   3: a frontend connects and is detached while connected. */
static void attach_detach_cycle(struct xs_handle *xs, unsigned cycle, const char *timeout,
                                int timeout_ms)
{
        attach(timeout);
        switch (cycle % 4) {
        case 0:
                front_start("echo");
                wait_connected(xs, cycle, timeout_ms);
                echo_traffic(cycle);
                front_stop(cycle, timeout_ms);
                front_start("echo");
                wait_connected(xs, cycle, timeout_ms);
                echo_traffic(cycle);
                detach(timeout);
                front_wait_gone(cycle, timeout_ms);
                break;
        case 1:
                detach(timeout);
                break;
        case 2:
                front_start("connect");
                wait_connected(xs, cycle, timeout_ms);
                front_stop(cycle, timeout_ms);
                detach(timeout);
                break;
        case 3:
                front_start("connect");
                wait_connected(xs, cycle, timeout_ms);
                detach(timeout);
                front_wait_gone(cycle, timeout_ms);
                break;
        }
        wait_netdev_gone(cycle, timeout_ms);
        assert_daemon_alive("attach/detach cycle", cycle);
}

/* The frontend domain dies (xl destroy) while its vif is connected and
 * busy; the domain is recreated for the next cycle. */
static void destroy_cycle(struct xs_handle *xs, unsigned cycle, const char *timeout, int timeout_ms)
{
        attach(timeout);
        front_start("echo");
        wait_connected(xs, cycle, timeout_ms);
        echo_traffic(cycle);
        ck_assert_int_eq(simhost_domain_destroy(&world.host, FRONT_DOMID), 0);
        /* Its vCPUs are gone with it. */
        proc_reap(&front_pid);
        /* The simulator's destroy removes the device directories as xl
         * destroy does; pvbackd must drop the device and its netdev. */
        wait_netdev_gone(cycle, timeout_ms);
        assert_daemon_alive("domain destroy", cycle);
        ck_assert_int_eq(simhost_domain_create(&world.host, FRONT_DOMID), 0);
}

/* ---- measurements ------------------------------------------------------- */

static bool is_sim_dom_file(const char *s)
{
        return strstr(s, sim_dom_prefix) != NULL;
}

/* pvbackd's own fds, named in fd_list; the simulated guests' memory apart. */
static void list_fd(void *ctx, const char *fd, const char *target)
{
        struct usage *u = ctx;
        size_t off = strlen(u->fd_list);
        if (is_sim_dom_file(target)) {
                u->sim_fds++;
                return;
        }
        u->fds++;
        snprintf(u->fd_list + off, sizeof(u->fd_list) - off, " %s:%s", fd, target);
}

static void count_thread(void *ctx, const char *comm)
{
        struct usage *u = ctx;
        (void)comm;
        u->threads++;
}

static struct usage read_usage(pid_t pid)
{
        struct usage u = {0};
        ck_assert_int_eq(procstat_each_fd(pid, list_fd, &u), 0);
        ck_assert_int_eq(procstat_each_thread(pid, count_thread, &u), 0);
        ck_assert_int_eq(procstat_maps(pid, is_sim_dom_file, &u.maps, &u.sim_maps), 0);
        ck_assert_int_eq(procstat_rss(pid, &u.rss_kb, &u.rss_anon_kb), 0);
        return u;
}

static bool same_counts(const struct usage *a, const struct usage *b)
{
        return a->fds == b->fds && a->maps == b->maps && a->threads == b->threads;
}

/* The last device goes asynchronously after detach returns: wait until the
 * counts hold still (or match want), up to 5 s. */
static struct usage settled_usage(pid_t pid, const struct usage *want)
{
        struct usage prev = read_usage(pid), cur = prev;
        for (int waited = 0; waited < 5000; waited += 100) {
                sleep_ms(100);
                cur = read_usage(pid);
                if (want ? same_counts(&cur, want) : same_counts(&cur, &prev))
                        break;
                prev = cur;
        }
        return cur;
}

/* Network devices in the test's namespace other than lo (netlink, not
 * /sys/class/net: sysfs shows the namespace it was mounted in). */
static unsigned count_netdevs(void)
{
        struct if_nameindex *all = if_nameindex();
        unsigned n = 0;
        ck_assert_ptr_nonnull(all);
        for (struct if_nameindex *i = all; i->if_index; i++)
                if (strcmp(i->if_name, "lo"))
                        n++;
        if_freenameindex(all);
        return n;
}

/* incarnations: frontend domains created so far (each may hold one sim fd
 * and two sim mappings, see struct usage). */
static void assert_flat(const char *what, const struct usage *b, const struct usage *a,
                        unsigned incarnations)
{
        fprintf(stderr,
                "%s: fds %u -> %u, maps %u -> %u, threads %u -> %u, RSS anon %lu -> %lu kB "
                "(total %lu -> %lu kB); simulated guest memory: %u -> %u fds, %u -> %u maps "
                "over %u domain incarnations\n",
                what, b->fds, a->fds, b->maps, a->maps, b->threads, a->threads, b->rss_anon_kb,
                a->rss_anon_kb, b->rss_kb, a->rss_kb, b->sim_fds, a->sim_fds, b->sim_maps,
                a->sim_maps, incarnations);
        ck_assert_msg(a->fds == b->fds, "%s: %u fds before (%s), %u after (%s)", what, b->fds,
                      b->fd_list, a->fds, a->fd_list);
        ck_assert_msg(a->threads == b->threads, "%s: %u threads before, %u after", what, b->threads,
                      a->threads);
        if (asan_build) {
                /* ASan's allocator maps memory on its own schedule and holds
                 * freed blocks in quarantine: mappings and RSS say nothing
                 * about pvbackd there (the release build asserts them). */
                fprintf(stderr, "%s: mappings and RSS not asserted under ASan\n", what);
        } else {
                ck_assert_msg(a->maps == b->maps, "%s: %u mappings before, %u after", what, b->maps,
                              a->maps);
                ck_assert_msg(a->rss_anon_kb <= b->rss_anon_kb + RSS_SLACK_KB,
                              "%s: anonymous RSS %lu kB before, %lu after", what, b->rss_anon_kb,
                              a->rss_anon_kb);
        }
        ck_assert_msg(a->sim_fds <= incarnations && a->sim_maps <= 2 * incarnations,
                      "%s: %u fds and %u mappings of simulated guest memory for %u domains", what,
                      a->sim_fds, a->sim_maps, incarnations);
        ck_assert_msg(count_netdevs() == 0 && system("ip -o link | grep -q vif") != 0,
                      "%s: a netdev was left behind", what);
}

/* ---- tests -------------------------------------------------------------- */

/* Flat fds, mappings, threads and RSS over the full cycle counts. */
START_TEST(cycles_leave_no_trace)
{
        make_world();
        start_daemon(NULL);
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        ck_assert_ptr_nonnull(xs);
        uint64_t t0 = now_ms();
        /* Warm-up: worker threads, malloc arenas and the TAP code paths
         * settle before the baseline. */
        for (unsigned i = 0; i < WARMUP_ATTACH; i++)
                attach_detach_cycle(xs, i, "10", 20000);
        for (unsigned i = 0; i < WARMUP_DESTROY; i++)
                destroy_cycle(xs, i, "10", 20000);
        struct usage before = settled_usage(world.pvbackd, NULL);

        for (unsigned i = 0; i < LIFECYCLE_ATTACH_CYCLES; i++)
                attach_detach_cycle(xs, WARMUP_ATTACH + i, "10", 20000);
        struct usage mid = settled_usage(world.pvbackd, &before);
        assert_flat("after attach/detach cycles", &before, &mid, 1 + WARMUP_DESTROY);
        for (unsigned i = 0; i < LIFECYCLE_DESTROY_CYCLES; i++)
                destroy_cycle(xs, WARMUP_DESTROY + i, "10", 20000);
        xs_close(xs);
        struct usage after = settled_usage(world.pvbackd, &before);
        fprintf(stderr,
                "%u attach/detach cycles (%u with verified traffic and a reconnect), %u "
                "domain destroys in %.1f s%s\n",
                LIFECYCLE_ATTACH_CYCLES, (LIFECYCLE_ATTACH_CYCLES + 3) / 4,
                LIFECYCLE_DESTROY_CYCLES, (now_ms() - t0) / 1000.0,
                asan_build ? " (scaled down for ASan)" : "");
        assert_flat("after domain destroys", &before, &after,
                    1 + WARMUP_DESTROY + LIFECYCLE_DESTROY_CYCLES);
        kill(world.pvbackd, SIGTERM);
        int rc = simhost_wait(world.pvbackd, 20000);
        world.pvbackd = 0;
        ck_assert_msg(rc == 0, "pvbackd exited %d on SIGTERM", rc);
}
END_TEST

/* The same lifecycle with pvbackd under valgrind: no definite or indirect
 * leak, no memory error, and a clean exit on SIGTERM. */
START_TEST(cycles_valgrind_clean)
{
        if (valgrind_skipped())
                return;
        char logopt[PATH_MAX + 32], vglog[PATH_MAX + 16];
        const char *const valgrind[] = {VALGRIND_MEMCHECK, logopt, NULL};
        make_world();
        snprintf(vglog, sizeof(vglog), "%s/valgrind.log", world.host.dir);
        snprintf(logopt, sizeof(logopt), "--log-file=%s", vglog);
        start_daemon(valgrind);
        struct xs_handle *xs = simhost_xs_open(&world.host, 0);
        ck_assert_ptr_nonnull(xs);
        attach_detach_cycle(xs, 1, "60", 60000);
        /* pvbackd really runs on valgrind's core (memcheck-<arch>-linux). */
        char comm[32];
        ck_assert_int_eq(procstat_comm(world.pvbackd, comm, sizeof(comm)), 0);
        ck_assert_msg(!strncmp(comm, "memcheck", 8), "pvbackd runs as %s", comm);
        /* Generous timeouts: everything in pvbackd runs ~30x slower. */
        for (unsigned i = 0; i < VALGRIND_ATTACH; i++)
                attach_detach_cycle(xs, i, "60", 60000);
        for (unsigned i = 0; i < VALGRIND_DESTROY; i++)
                destroy_cycle(xs, i, "60", 60000);
        xs_close(xs);
        kill(world.pvbackd, SIGTERM);
        int status = simhost_wait(world.pvbackd, 120000);
        world.pvbackd = 0;
        if (status != 0) {
                proc_print_file(vglog);
                proc_print_file(world.pvbackd_log);
        }
        ck_assert_msg(status == 0, "pvbackd under valgrind exited %d (%s)", status,
                      VALGRIND_VERDICT(status));
        ck_assert_int_eq(count_netdevs(), 0);
        fprintf(stderr,
                "valgrind: %u attach/detach cycles and %u domain destroys, no leak or "
                "error\n",
                VALGRIND_ATTACH + 1, VALGRIND_DESTROY);
}
END_TEST

static Suite *netback_lifecycle_suite(void)
{
        Suite *s = suite_create("netback_lifecycle");
        TCase *tc = tcase_create("sim");
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, cycles_leave_no_trace);
        tcase_add_test(tc, cycles_valgrind_clean);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netback_lifecycle_suite)
