/* blkback lifecycle on the simulator: hundreds of vbd attach/detach cycles
 * (some with pvback-blkfront verifying data, some with a frontend stopped
 * mid-load or detached under load) and dozens of domain destroys under a
 * connected frontend leave pvbackd's fds, mappings, threads and RSS where
 * they were; the same lifecycle with pvbackd under valgrind ends leak-free.
 * Not for data integrity (test_blkback_data.c) or resize. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "check_main.h"
#include "sanitizer.h"
#include "proc.h"
#include "procstat.h"
#include "blkworld.h"
#include "simhost.h"

#define FRONT_DOMID      5
#define FRONT_DOMID_S    "5"
#define DISK_BYTES       (16u << 20)
#define BE_PATH          "/local/domain/0/backend/vbd/5/51712"
#define BLKFRONT_STOPPED 143 /* 128 + SIGTERM after a clean disconnect */

/* Under ASan, mappings and RSS are the sanitizer's: its allocator maps
 * regions as it goes and its quarantine holds up to 256 MiB of freed
 * memory. That build checks fds and threads, and leaks through
 * LeakSanitizer when pvbackd exits at the end. */
#define WARMUP_ATTACH    8
#define WARMUP_DESTROY   2
#define VALGRIND_ATTACH  24
#define VALGRIND_DESTROY 6

/* The RSS compared is RssAnon, pvbackd's private memory: the file-backed
 * part holds the pages of dead domains the sim provider keeps mapped (see
 * struct usage), which grows with every destroy by design. It may move by
 * what glibc keeps in its arenas' free lists and by pages the worker
 * threads' stacks and bounce-page free lists touched once: 1 MiB. A leaked
 * queue (its slot array alone is ~270 KiB) or a per-cycle leak of 4 KiB
 * over 250 cycles goes past it; smaller leaks are the valgrind test's job. */
#define RSS_SLACK_KB 1024

static struct simhost host;
static pid_t daemon_pid = -1, front_pid = -1;
static char disk[PATH_MAX + 16], script[PATH_MAX], vglog[PATH_MAX + 16];

/* pvbackd's own resources. The sim provider maps each incarnation of a
 * frontend domain once per process and keeps it for the process's life
 * (common/sim_dom.c: a zombie domain's pages outlive it, as in Xen): one
 * fd on domN/mem and two mappings (grant table, memory) per incarnation.
 * Those are counted apart in sim_doms, not in fds and maps; a grant mapping
 * pvbackd forgot to unmap is a mapping of its own and still counts. */
struct usage {
        unsigned fds, maps, threads, kernel_threads, sim_doms;
        unsigned long rss_kb, anon_kb;
};
#define SIM_MAPS_PER_DOMAIN 2

/* ---- processes ---------------------------------------------------------- */

/* Check's fork mode skips teardown after a failed assertion: clean up at exit. */
static void cleanup(void)
{
        proc_reap(&front_pid);
        proc_reap(&daemon_pid);
        simhost_stop(&host);
}

/* pvbackd and the blkfronts: stdout to the test's pipe or /dev/null,
 * stderr appended to log, none of the test's fds inherited (they would
 * count as the process's own), and hundreds of execs riding out a `make`
 * relinking the binary meanwhile in a shared tree. */
static struct proc_exec spawn_how(const char *log)
{
        return (struct proc_exec){.err_path = log,
                                  .append = true,
                                  .null_out = true,
                                  .close_fds = true,
                                  .retry_busy = true};
}

/* pvbackd as domain 0, optionally under a wrapper (valgrind ...). */
static void start_daemon(const char *const wrapper[])
{
        char bin[PATH_MAX], log[PATH_MAX + 16];
        const char *argv[32];
        int n = 0;
        for (int i = 0; wrapper && wrapper[i]; i++)
                argv[n++] = wrapper[i];
        argv[n++] = simhost_bin("pvbackd", bin, sizeof(bin));
        argv[n++] = "--hypervisor";
        argv[n++] = "sim";
        argv[n++] = "--foreground";
        argv[n++] = "--log-level";
        argv[n++] = "warning";
        argv[n] = NULL;
        snprintf(log, sizeof(log), "%s/pvbackd.log", host.dir);
        struct proc_exec e = spawn_how(log);
        e.argv = argv;
        daemon_pid = simhost_spawn_exec(&host, 0, &e);
        ck_assert_int_gt(daemon_pid, 0);
}

/* A host with the frontend domain and a backing file; pvbackd not yet. */
static void make_world(void)
{
        const char *src = getenv("PVBACK_SRC");
        atexit(cleanup);
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, FRONT_DOMID), 0);
        snprintf(script, sizeof(script), "%s/tools/hotplug/block-pvback", src ? src : ".");
        snprintf(disk, sizeof(disk), "%s/disk.img", host.dir);
        int fd = open(disk, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, DISK_BYTES), 0);
        close(fd);
}

/* ---- devices and frontends ---------------------------------------------- */

static void attach(const char *timeout)
{
        const char *args[] = {"vbd",       "attach", "--domid", FRONT_DOMID_S, "--target",
                              disk,        "--vdev", "xvda",    "--script",    script,
                              "--timeout", timeout,  NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, args), 0);
}

static void detach(const char *timeout)
{
        const char *args[] = {"vbd",  "detach",    "--domid", FRONT_DOMID_S, "--vdev",
                              "xvda", "--timeout", timeout,   NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, args), 0);
}

/* The last pvback-blkfront's stderr, for failure messages. */
static const char *front_log(void)
{
        static char text[2048];
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/blkfront.log", host.dir);
        text[0] = '\0';
        FILE *f = fopen(path, "re");
        if (f) {
                text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
                fclose(f);
        }
        return text;
}

/* pvback-blkfront as the frontend domain; returns its pid. */
static const struct proc_exec *front_how(void)
{
        static char log[PATH_MAX + 16];
        static struct proc_exec how;
        snprintf(log, sizeof(log), "%s/blkfront.log", host.dir);
        unlink(log);
        how = spawn_how(log);
        return &how;
}

static pid_t blkfront_spawn(const char *const args[], int out_fd)
{
        return blkw_front_spawn(&host, FRONT_DOMID, front_how(), args, out_fd);
}

/* Runs pvback-blkfront to completion; its stdout in out. */
static int blkfront_run(const char *const args[], char *out, size_t outlen, int timeout_ms)
{
        return blkw_front_run(&host, FRONT_DOMID, front_how(), args, out, outlen, timeout_ms);
}

/* Waits until the backend says Connected (a frontend's rings are mapped). */
static void wait_connected(struct xs_handle *xs, unsigned cycle, int timeout_ms)
{
        int status;
        for (int waited = 0; !simhost_xs_is(xs, BE_PATH "/state", "4"); waited += 5) {
                ck_assert_msg(waited < timeout_ms, "cycle %u: vbd not Connected after %d ms: %s",
                              cycle, timeout_ms, front_log());
                if (waitpid(front_pid, &status, WNOHANG) == front_pid) {
                        front_pid = -1;
                        ck_abort_msg("cycle %u: blkfront exited (status %#x) before the vbd "
                                     "was Connected: %s",
                                     cycle, (unsigned)status, front_log());
                }
                sleep_ms(5);
        }
}

static void front_verify(unsigned cycle, int timeout_ms)
{
        char out[2048], range[32], gen[16];
        snprintf(range, sizeof(range), "%u:256K", (cycle % 64) * 512);
        snprintf(gen, sizeof(gen), "%u", cycle + 1);
        const char *args[] = {"verify", "--range", range, "--generation", gen, "-q", NULL};
        int rc = blkfront_run(args, out, sizeof(out), timeout_ms);
        ck_assert_msg(rc == 0, "cycle %u: blkfront verify exited %d: %s%s", cycle, rc, out,
                      front_log());
        ck_assert_msg(strstr(out, " 512 checked") && strstr(out, " 0 mismatches, 0 I/O errors"),
                      "cycle %u: %s", cycle, out);
}

static const char *const load_args[] = {"load",    "--rw", "mix", "--duration", "120",
                                        "--depth", "16",   "-q",  NULL};

/* A frontend under load told to stop: it drains and closes (Closing, Closed). */
static void front_load_then_stop(struct xs_handle *xs, unsigned cycle, int timeout_ms)
{
        front_pid = blkfront_spawn(load_args, -1);
        wait_connected(xs, cycle, timeout_ms);
        sleep_ms(20);
        kill(front_pid, SIGTERM);
        int rc = simhost_wait(front_pid, timeout_ms);
        front_pid = -1;
        ck_assert_msg(rc == BLKFRONT_STOPPED,
                      "cycle %u: blkfront stopped with %d, not a clean "
                      "disconnect: %s",
                      cycle, rc, front_log());
}

/* The toolstack detaches while the frontend is mid-load: pvbackd waits for
 * the frontend to close (it answers what is in flight), the frontend gives
 * up its load and exits on its own. */
static void front_load_then_detach(struct xs_handle *xs, unsigned cycle, const char *timeout,
                                   int timeout_ms)
{
        front_pid = blkfront_spawn(load_args, -1);
        wait_connected(xs, cycle, timeout_ms);
        sleep_ms(20);
        detach(timeout);
        int rc = simhost_wait(front_pid, timeout_ms);
        front_pid = -1;
        ck_assert_msg(rc == 0 || rc == 1, "cycle %u: blkfront ended with %d after a detach: %s",
                      cycle, rc, front_log());
}

/* One attach/detach; by cycle number: verify, no frontend, stop under load,
 * detach under load. */
static void attach_detach_cycle(struct xs_handle *xs, unsigned cycle, const char *timeout,
                                int timeout_ms)
{
        attach(timeout);
        switch (cycle % 4) {
        case 0:
                front_verify(cycle, timeout_ms);
                break;
        case 1:
                break;
        case 2:
                front_load_then_stop(xs, cycle, timeout_ms);
                break;
        case 3:
                front_load_then_detach(xs, cycle, timeout, timeout_ms);
                ck_assert_msg(kill(daemon_pid, 0) == 0, "pvbackd died in cycle %u", cycle);
                return;
        }
        detach(timeout);
        ck_assert_msg(kill(daemon_pid, 0) == 0, "pvbackd died in cycle %u", cycle);
}

/* The frontend domain dies (xl destroy) while its vbd is connected and
 * busy; the domain is recreated for the next cycle. */
static void destroy_cycle(struct xs_handle *xs, unsigned cycle, const char *timeout, int timeout_ms)
{
        attach(timeout);
        front_pid = blkfront_spawn(load_args, -1);
        wait_connected(xs, cycle, timeout_ms);
        sleep_ms(10);
        ck_assert_int_eq(simhost_domain_destroy(&host, FRONT_DOMID), 0);
        /* Its vCPUs are gone with it. */
        proc_reap(&front_pid);
        ck_assert_msg(kill(daemon_pid, 0) == 0, "pvbackd died in destroy %u", cycle);
        ck_assert_int_eq(simhost_domain_create(&host, FRONT_DOMID), 0);
}

/* ---- measurements ------------------------------------------------------- */

static char sim_dom_prefix[PATH_MAX + 8]; /* "<host dir>/dom" */

/* Counts fds, and apart the sim provider's domN/mem ones. */
static void count_fd(void *ctx, const char *fd, const char *target)
{
        struct usage *u = ctx;
        size_t plen = strlen(sim_dom_prefix);
        (void)fd;
        if (!strncmp(target, sim_dom_prefix, plen) && strstr(target + plen, "/mem"))
                u->sim_doms++;
        else
                u->fds++;
}

/* io_uring's io-wq workers ("iou-wrk-N") are kernel threads the kernel
 * starts in our thread group for buffered file I/O and retires on its own
 * after the ring closes; they are counted apart from pvbackd's threads. */
static void count_thread(void *ctx, const char *comm)
{
        struct usage *u = ctx;
        if (!strncmp(comm, "iou-", 4))
                u->kernel_threads++;
        else
                u->threads++;
}

static struct usage read_usage(pid_t pid)
{
        struct usage u = {0};
        snprintf(sim_dom_prefix, sizeof(sim_dom_prefix), "%s/dom", host.dir);
        ck_assert_int_eq(procstat_each_fd(pid, count_fd, &u), 0);
        ck_assert_int_eq(procstat_each_thread(pid, count_thread, &u), 0);
        ck_assert_int_eq(procstat_maps(pid, NULL, &u.maps, NULL), 0);
        u.maps -= SIM_MAPS_PER_DOMAIN * u.sim_doms;
        ck_assert_int_eq(procstat_rss(pid, &u.rss_kb, &u.anon_kb), 0);
        return u;
}

static bool same_counts(const struct usage *a, const struct usage *b)
{
        return a->fds == b->fds && a->maps == b->maps && a->threads == b->threads &&
               a->kernel_threads == b->kernel_threads;
}

/* The last device is removed asynchronously after detach returns, and the
 * kernel retires io-wq workers on its own: wait until the counts hold
 * still (or match `want`) with no io-wq worker left, up to 10 s. */
static struct usage settled_usage(pid_t pid, const struct usage *want)
{
        struct usage prev = read_usage(pid), cur = prev;
        for (int waited = 0; waited < 10000; waited += 100) {
                sleep_ms(100);
                cur = read_usage(pid);
                if (cur.kernel_threads == 0 &&
                    (want ? same_counts(&cur, want) : same_counts(&cur, &prev)))
                        break;
                prev = cur;
        }
        return cur;
}

static void print_usage(const char *what, const struct usage *b, const struct usage *a)
{
        fprintf(stderr,
                "%s: fds %u -> %u, maps %u -> %u, threads %u -> %u, RssAnon %lu -> %lu kB "
                "(VmRSS %lu -> %lu kB; sim provider: %u -> %u domain incarnations mapped)\n",
                what, b->fds, a->fds, b->maps, a->maps, b->threads, a->threads, b->anon_kb,
                a->anon_kb, b->rss_kb, a->rss_kb, b->sim_doms, a->sim_doms);
}

/* What pvbackd holds open, for a failure message. */
static void print_fd(void *ctx, const char *fd, const char *target)
{
        (void)ctx;
        fprintf(stderr, "  fd %s -> %s\n", fd, target);
}

static void print_fds(pid_t pid)
{
        procstat_each_fd(pid, print_fd, NULL);
}

static void assert_flat(const char *what, const struct usage *b, const struct usage *a)
{
        print_usage(what, b, a);
        if (a->fds != b->fds)
                print_fds(daemon_pid);
        ck_assert_msg(a->fds == b->fds, "%s: %u fds before, %u after", what, b->fds, a->fds);
        ck_assert_msg(a->maps == b->maps || asan_build, "%s: %u mappings before, %u after", what,
                      b->maps, a->maps);
        ck_assert_msg(a->threads == b->threads, "%s: %u threads before, %u after", what, b->threads,
                      a->threads);
        ck_assert_msg(a->kernel_threads == 0, "%s: %u io-wq workers still alive", what,
                      a->kernel_threads);
        ck_assert_msg(a->anon_kb <= b->anon_kb + RSS_SLACK_KB || asan_build,
                      "%s: RssAnon %lu kB before, %lu after", what, b->anon_kb, a->anon_kb);
}

/* SIGTERM: pvbackd exits 0 after closing everything (and, in the ASan
 * build, after LeakSanitizer found nothing). */
static void stop_daemon_cleanly(void)
{
        char log[PATH_MAX + 16];
        kill(daemon_pid, SIGTERM);
        int status = simhost_wait(daemon_pid, 120000);
        daemon_pid = -1;
        snprintf(log, sizeof(log), "%s/pvbackd.log", host.dir);
        if (status != 0)
                proc_print_file(log);
        ck_assert_msg(status == 0, "pvbackd exited %d after SIGTERM", status);
}

/* ---- tests -------------------------------------------------------------- */

/* Flat fds, mappings, threads and RSS over the full cycle counts. */
START_TEST(cycles_leave_no_trace)
{
        make_world();
        start_daemon(NULL);
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        ck_assert_ptr_nonnull(xs);
        /* Warm-up: worker threads, malloc arenas, io_uring and the resize
         * monitor's first use settle before the baseline. */
        for (unsigned i = 0; i < WARMUP_ATTACH; i++)
                attach_detach_cycle(xs, i, "10", 20000);
        for (unsigned i = 0; i < WARMUP_DESTROY; i++)
                destroy_cycle(xs, i, "10", 20000);
        xs_close(xs);
        struct usage before = settled_usage(daemon_pid, NULL);

        xs = simhost_xs_open(&host, 0);
        ck_assert_ptr_nonnull(xs);
        for (unsigned i = 0; i < LIFECYCLE_ATTACH_CYCLES; i++)
                attach_detach_cycle(xs, WARMUP_ATTACH + i, "10", 20000);
        struct usage mid = settled_usage(daemon_pid, &before);
        assert_flat("after attach/detach cycles", &before, &mid);
        for (unsigned i = 0; i < LIFECYCLE_DESTROY_CYCLES; i++)
                destroy_cycle(xs, WARMUP_DESTROY + i, "10", 20000);
        xs_close(xs);
        struct usage after = settled_usage(daemon_pid, &before);
        fprintf(stderr, "%u attach/detach cycles, %u domain destroys%s\n", LIFECYCLE_ATTACH_CYCLES,
                LIFECYCLE_DESTROY_CYCLES, asan_build ? " (scaled down for ASan)" : "");
        assert_flat("after domain destroys", &before, &after);
        stop_daemon_cleanly();
}
END_TEST

/* The same lifecycle with pvbackd under valgrind: no definite or indirect
 * leak, no memory error, and a clean exit on SIGTERM. */
START_TEST(cycles_valgrind_clean)
{
        if (valgrind_skipped())
                return;
        char logopt[PATH_MAX + 32];
        const char *const valgrind[] = {VALGRIND_MEMCHECK, logopt, NULL};
        make_world();
        snprintf(vglog, sizeof(vglog), "%s/valgrind.log", host.dir);
        snprintf(logopt, sizeof(logopt), "--log-file=%s", vglog);
        start_daemon(valgrind);
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        ck_assert_ptr_nonnull(xs);
        /* Generous timeouts: everything in pvbackd runs ~30x slower, and
         * the first attach also waits for valgrind to load pvbackd (tens
         * of seconds on a busy machine with cold caches). */
        attach("180");
        detach("60");
        for (unsigned i = 0; i < VALGRIND_ATTACH; i++)
                attach_detach_cycle(xs, i, "60", 60000);
        for (unsigned i = 0; i < VALGRIND_DESTROY; i++)
                destroy_cycle(xs, i, "60", 60000);
        xs_close(xs);
        kill(daemon_pid, SIGTERM);
        int status = simhost_wait(daemon_pid, 120000);
        daemon_pid = -1;
        if (status != 0)
                proc_print_file(vglog);
        ck_assert_msg(status == 0, "pvbackd under valgrind exited %d (%s)", status,
                      VALGRIND_VERDICT(status));
}
END_TEST

static Suite *blkback_lifecycle_suite(void)
{
        Suite *s = suite_create("blkback_lifecycle");
        TCase *tc = tcase_create("sim");
        tcase_set_timeout(tc, 900);
        tcase_add_test(tc, cycles_leave_no_trace);
        tcase_add_test(tc, cycles_valgrind_clean);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(blkback_lifecycle_suite)
