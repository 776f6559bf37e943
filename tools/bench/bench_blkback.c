/* blkback benchmark (not a test): 4 KiB random read and write IOPS at queue
 * depth 32 and 1 MiB sequential read and write throughput through pvbackd
 * (pvback-blkfront load in domain 5 of a private simulated host), each as a
 * ratio of the same workload issued by a plain io_uring loop directly on the
 * same backing file, in this one run; plus pvbackd's grant operations per
 * request, persistent-grant hit rate, notifications and engine submits, from
 * the counters each queue logs when it stops, and the CPU time per I/O of
 * pvbackd, the frontend, the simulator and the direct loop. The file lives
 * in /dev/shm (tmpfs), not /tmp: on this disk-backed /tmp buffered writes
 * measure writeback, not the data path. There, both sides are CPU-bound.
 *
 * The 4 KiB lines are repeated on a second disk, a file on /var/tmp's real
 * file system attached with direct-io-safe so pvbackd opens it O_DIRECT, and
 * the direct loop opens it O_DIRECT too: what the path costs where device
 * latency, not page-cache copies, sets the pace. For those, the requests
 * in flight at that disk are sampled every millisecond on both sides: a
 * path that keeps fewer at the device shows it there. An argument picks the
 * workloads whose name contains it (to profile one). */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simhost.h"

#define FRONT_DOMID  5
#define FILE_BYTES   (256ull << 20)
#define DISK_DIR     "/var/tmp"
#define SECONDS      "2.5"
#define RATIO_TARGET 0.8

struct workload {
        const char *name;
        bool random, write;
        unsigned bs, depth;
        bool mib;  /* report MiB/s rather than IOPS */
        bool disk; /* the O_DIRECT file on DISK_DIR (xvdb), not tmpfs (xvda) */
};

/* 1 MiB at depth 4 with 256-segment indirect requests: one request per
 * I/O and 1024 pages in flight, inside the 1056 persistent grants a queue
 * keeps (Linux's default), as a tuned Linux guest would run it. */
static const struct workload loads[] = {
    {"4 KiB random read, QD32", true, false, 4096, 32, false, false},
    {"4 KiB random write, QD32", true, true, 4096, 32, false, false},
    {"1 MiB sequential read, QD4", false, false, 1u << 20, 4, true, false},
    {"1 MiB sequential write, QD4", false, true, 1u << 20, 4, true, false},
    {"disk: 4 KiB rand read, QD32", true, false, 4096, 32, false, true},
    {"disk: 4 KiB rand write, QD32", true, true, 4096, 32, false, true},
};
#define NLOADS (sizeof(loads) / sizeof(loads[0]))

/* What pvbackd's queues logged when the frontend disconnected. */
struct be_counts {
        unsigned long long requests, copy_segs, maps, unmaps, hits, misses;
        unsigned long long notifies, submits;
};

/* Requests in flight at the disk under DISK_DIR (its block device's
 * inflight file, sampled every millisecond during a disk run). */
struct depth_use {
        double mean; /* average of the samples */
        double idle; /* share of samples with nothing in flight */
        unsigned samples;
};

/* CPU seconds (user + system, every thread) spent during one run. */
struct cpu_use {
        double backend, frontend, sim, direct;
};

struct result {
        double iops, mib_s;
        uint64_t ios;
        double fe_notifies; /* the frontend's, per request */
        struct be_counts be;
        struct cpu_use cpu;
        struct depth_use depth;
};

static struct simhost host;
static pid_t daemon_pid = -1;
static char bench_dir[PATH_MAX], disk[PATH_MAX + 16], daemon_log[PATH_MAX + 16];
static char disk_dir[PATH_MAX], real_disk[PATH_MAX + 16];
static char inflight_path[PATH_MAX]; /* empty: not measurable here */

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cleanup(void)
{
        if (daemon_pid > 0) {
                kill(daemon_pid, SIGKILL);
                waitpid(daemon_pid, NULL, 0);
                daemon_pid = -1;
        }
        simhost_stop(&host);
        if (disk[0])
                unlink(disk);
        if (bench_dir[0])
                rmdir(bench_dir);
        if (real_disk[0])
                unlink(real_disk);
        if (disk_dir[0])
                rmdir(disk_dir);
}

static int die(const char *what)
{
        fprintf(stderr, "bench_blkback: %s\n", what);
        exit(1);
}

/* ---- the world ---------------------------------------------------------- */

struct exec_arg {
        const char *const *argv;
        int out_fd;
        const char *err_path;
};

static int exec_child(void *p)
{
        struct exec_arg *a = p;
        int fd = a->out_fd >= 0 ? a->out_fd : open("/dev/null", O_WRONLY);
        dup2(fd, STDOUT_FILENO);
        if (a->err_path) {
                int e = open(a->err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (e >= 0)
                        dup2(e, STDERR_FILENO);
        }
        close_range(3, ~0u, 0);
        execv(a->argv[0], (char *const *)a->argv);
        fprintf(stderr, "exec %s: %s\n", a->argv[0], strerror(errno));
        return 127;
}

/* A backing file in a new directory under base, every byte written (no
 * holes: reads hit real pages or blocks), and on stable storage. */
static void make_file(const char *base, char *dir, size_t dirlen, char *path, size_t pathlen)
{
        snprintf(dir, dirlen, "%s/pvback-bench-XXXXXX", base);
        if (!mkdtemp(dir))
                die("mkdtemp failed");
        snprintf(path, pathlen, "%s/disk.img", dir);
        int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        static unsigned char buf[1 << 20];
        uint64_t x = 0x9e3779b97f4a7c15ull;
        if (fd < 0)
                die("cannot create the backing file");
        for (uint64_t off = 0; off < FILE_BYTES; off += sizeof(buf)) {
                for (size_t i = 0; i < sizeof(buf); i += 8) {
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        memcpy(buf + i, &x, 8);
                }
                if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf))
                        die("cannot fill the backing file");
        }
        if (fsync(fd) < 0)
                die("cannot sync the backing file");
        close(fd);
}

static void make_disks(void)
{
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        make_file(base, bench_dir, sizeof(bench_dir), disk, sizeof(disk));
        make_file(DISK_DIR, disk_dir, sizeof(disk_dir), real_disk, sizeof(real_disk));
}

static void attach(const char *target, const char *vdev, const char *script, bool direct)
{
        const char *args[] = {"vbd",
                              "attach",
                              "--domid",
                              "5",
                              "--target",
                              target,
                              "--vdev",
                              vdev,
                              "--script",
                              script,
                              direct ? "--direct-io-safe" : NULL,
                              NULL};
        if (simhost_cli(&host, NULL, 0, args) != 0)
                die("vbd attach failed");
}

static void start_world(void)
{
        char bin[PATH_MAX], script[PATH_MAX];
        const char *src = getenv("PVBACK_SRC");
        atexit(cleanup);
        if (simhost_start(&host) < 0 || simhost_domain_create(&host, FRONT_DOMID) < 0)
                die("cannot start a simulated host");
        make_disks();
        snprintf(daemon_log, sizeof(daemon_log), "%s/pvbackd.log", host.dir);
        /* Info level: each queue logs its counters when it stops. */
        const char *argv[] = {simhost_bin("pvbackd", bin, sizeof(bin)),
                              "--hypervisor",
                              "sim",
                              "--foreground",
                              "--log-level",
                              "info",
                              NULL};
        struct exec_arg a = {.argv = argv, .out_fd = -1, .err_path = daemon_log};
        daemon_pid = simhost_spawn(&host, 0, exec_child, &a);
        if (daemon_pid < 0)
                die("cannot start pvbackd");
        char cwd[PATH_MAX];
        /* make bench runs from the top of the tree; the toolstack takes a
         * relative script name as relative to /etc/xen/scripts. */
        if (!src && !(src = getcwd(cwd, sizeof(cwd))))
                die("getcwd failed");
        snprintf(script, sizeof(script), "%s/tools/hotplug/block-pvback", src);
        attach(disk, "xvda", script, false);
        attach(real_disk, "xvdb", script, true);
}

/* ---- in-flight depth at the disk ------------------------------------------ */

/* The inflight file of the block device holding real_disk ("reads writes"),
 * a partition's own when the file system is on one. */
static void find_inflight(void)
{
        struct stat st;
        if (stat(real_disk, &st) < 0)
                return;
        snprintf(inflight_path, sizeof(inflight_path), "/sys/dev/block/%u:%u/inflight",
                 major(st.st_dev), minor(st.st_dev));
        if (access(inflight_path, R_OK) < 0)
                inflight_path[0] = '\0';
}

struct depth_sampler {
        pthread_t thread;
        atomic_bool stop;
        unsigned long long sum;
        unsigned n, zero;
        double cpu_s; /* its own CPU time */
};

static void *depth_sample(void *arg)
{
        struct depth_sampler *d = arg;
        const struct timespec ms = {0, 1000000};
        int fd = open(inflight_path, O_RDONLY | O_CLOEXEC);
        char buf[64];
        while (fd >= 0 && !atomic_load(&d->stop)) {
                unsigned r, w;
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                if (n > 0) {
                        buf[n] = '\0';
                        if (sscanf(buf, "%u %u", &r, &w) == 2) {
                                d->sum += r + w;
                                d->zero += r + w == 0;
                                d->n++;
                        }
                }
                nanosleep(&ms, NULL);
        }
        if (fd >= 0)
                close(fd);
        struct timespec cpu;
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
                d->cpu_s = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
        return NULL;
}

/* Both sides of a disk workload are sampled alike: the same thread in this
 * process, every millisecond. */
static bool depth_start(const struct workload *w, struct depth_sampler *d)
{
        memset(d, 0, sizeof(*d));
        return w->disk && inflight_path[0] &&
               pthread_create(&d->thread, NULL, depth_sample, d) == 0;
}

static void depth_stop(bool started, struct depth_sampler *d, struct depth_use *u)
{
        memset(u, 0, sizeof(*u));
        if (!started)
                return;
        atomic_store(&d->stop, true);
        pthread_join(d->thread, NULL);
        if (d->n) {
                u->mean = (double)d->sum / d->n;
                u->idle = (double)d->zero / d->n;
                u->samples = d->n;
        }
}

/* ---- CPU time ------------------------------------------------------------ */

/* utime + stime of a whole process (all its threads, io_uring's workers
 * included) from /proc/<pid>/stat, in seconds; 0 if unreadable. */
static double proc_cpu_s(pid_t pid)
{
        char path[64], buf[1024];
        unsigned long long ut = 0, st = 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return 0;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* The command name may hold spaces: fields count from its ')'. */
        const char *p = strrchr(buf, ')');
        if (!p ||
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return 0;
        return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double rusage_cpu_s(int who)
{
        struct rusage ru;
        getrusage(who, &ru);
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- through pvbackd ----------------------------------------------------- */

static int blkfront_run(const char *const args[], char *out, size_t outlen)
{
        char bin[PATH_MAX];
        const char *argv[32] = {simhost_bin("pvback-blkfront", bin, sizeof(bin))};
        int n = 1, pfd[2];
        for (int i = 0; args[i]; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -1;
        struct exec_arg a = {.argv = argv, .out_fd = pfd[1], .err_path = NULL};
        pid_t pid = simhost_spawn(&host, FRONT_DOMID, exec_child, &a);
        close(pfd[1]);
        size_t got = 0;
        ssize_t r;
        while (got + 1 < outlen && (r = read(pfd[0], out + got, outlen - 1 - got)) > 0)
                got += (size_t)r;
        out[got] = '\0';
        close(pfd[0]);
        return pid < 0 ? -1 : simhost_wait(pid, 60000);
}

/* Sums the "stopped:" lines pvbackd logged after offset *pos. */
static void read_be_counts(long *pos, struct be_counts *c)
{
        char line[1024];
        FILE *f = fopen(daemon_log, "re");
        memset(c, 0, sizeof(*c));
        if (!f)
                return;
        fseek(f, *pos, SEEK_SET);
        while (fgets(line, sizeof(line), f)) {
                struct be_counts q;
                const char *s = strstr(line, ": stopped: ");
                if (!s || sscanf(s,
                                 ": stopped: %llu requests (%*u failed), %*u segments, "
                                 "%*u grant-copy calls (%llu segments), %llu maps, %llu "
                                 "unmaps, persistent hits %llu misses %llu, %llu notifications, "
                                 "%llu engine submits",
                                 &q.requests, &q.copy_segs, &q.maps, &q.unmaps, &q.hits, &q.misses,
                                 &q.notifies, &q.submits) != 8)
                        continue;
                c->requests += q.requests;
                c->copy_segs += q.copy_segs;
                c->maps += q.maps;
                c->unmaps += q.unmaps;
                c->hits += q.hits;
                c->misses += q.misses;
                c->notifies += q.notifies;
                c->submits += q.submits;
        }
        *pos = ftell(f);
        fclose(f);
}

static void run_pvback(const struct workload *w, long *log_pos, struct result *r)
{
        char bs[16], depth[16], out[4096];
        snprintf(bs, sizeof(bs), "%u", w->bs);
        snprintf(depth, sizeof(depth), "%u", w->depth);
        const char *args[] = {"load",
                              "--bs",
                              bs,
                              "--depth",
                              depth,
                              "--pattern",
                              w->random ? "rand" : "seq",
                              "--rw",
                              w->write ? "write" : "read",
                              "--duration",
                              SECONDS,
                              "--indirect-segs",
                              "256",
                              "--vdev",
                              w->disk ? "xvdb" : "xvda",
                              "-q",
                              NULL};
        double be0 = proc_cpu_s(daemon_pid), sim0 = proc_cpu_s(host.pid);
        double fe0 = rusage_cpu_s(RUSAGE_CHILDREN);
        struct depth_sampler ds;
        bool sampling = depth_start(w, &ds);
        int rc = blkfront_run(args, out, sizeof(out));
        depth_stop(sampling, &ds, &r->depth);
        /* The frontend was reaped: its CPU time is in RUSAGE_CHILDREN. */
        r->cpu.frontend = rusage_cpu_s(RUSAGE_CHILDREN) - fe0;
        r->cpu.backend = proc_cpu_s(daemon_pid) - be0;
        r->cpu.sim = proc_cpu_s(host.pid) - sim0;
        const char *l = strstr(out, "load: ");
        unsigned long long ios = 0;
        double iops = 0, mib = 0;
        if (rc != 0 || !l || sscanf(l, "load: %llu I/Os", &ios) != 1 || !(l = strstr(l, " s: ")) ||
            sscanf(l, " s: %lf IOPS, %lf MiB/s", &iops, &mib) != 2) {
                fprintf(stderr, "bench_blkback: %s through pvbackd failed (exit %d):\n%s\n",
                        w->name, rc, out);
                exit(1);
        }
        r->iops = iops;
        r->mib_s = mib;
        r->ios = ios;
        r->fe_notifies = 0;
        if ((l = strstr(out, "grant calls, ")))
                sscanf(l, "grant calls, %lf notifications", &r->fe_notifies);
        read_be_counts(log_pos, &r->be);
}

/* ---- the same workload, plain io_uring on the file ---------------------- */

static uint64_t next_off(const struct workload *w, uint64_t *state, uint64_t *seq)
{
        uint64_t blocks = FILE_BYTES / w->bs;
        if (!w->random) {
                uint64_t off = *seq;
                *seq = (*seq + w->bs) % (blocks * w->bs);
                return off;
        }
        *state ^= *state << 13, *state ^= *state >> 7, *state ^= *state << 17;
        return (*state % blocks) * w->bs;
}

static void queue_one(struct io_uring *ring, const struct workload *w, int fd, void *buf,
                      uint64_t off)
{
        struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
        if (w->write)
                io_uring_prep_write(sqe, fd, buf, w->bs, off);
        else
                io_uring_prep_read(sqe, fd, buf, w->bs, off);
        io_uring_sqe_set_data(sqe, buf);
}

/* Keeps w->depth I/Os in flight for `secs`, one submit per completion
 * batch (as pvbackd does per ring drain), the file opened as pvbackd opens
 * it (read-write; buffered on tmpfs, O_DIRECT on the disk). */
static void run_direct(const struct workload *w, double secs, struct result *r)
{
        struct io_uring ring;
        struct io_uring_cqe *cqes[64];
        uint64_t rng = 0x2545f4914f6cdd1dull, seq = 0, done = 0;
        int fd = open(w->disk ? real_disk : disk, O_RDWR | O_CLOEXEC | (w->disk ? O_DIRECT : 0));
        if (fd < 0 && w->disk && errno == EINVAL) /* no O_DIRECT there: pvbackd falls back too */
                fd = open(real_disk, O_RDWR | O_CLOEXEC);
        if (fd < 0 || io_uring_queue_init(w->depth * 2, &ring, 0) < 0)
                die("io_uring setup failed");
        char *bufs = aligned_alloc(4096, (size_t)w->bs * w->depth);
        if (!bufs)
                die("out of memory");
        memset(bufs, 0xa5, (size_t)w->bs * w->depth);
        struct depth_sampler ds;
        bool sampling = depth_start(w, &ds);
        double cpu0 = rusage_cpu_s(RUSAGE_SELF);
        for (unsigned i = 0; i < w->depth; i++)
                queue_one(&ring, w, fd, bufs + (size_t)i * w->bs, next_off(w, &rng, &seq));
        io_uring_submit(&ring);
        unsigned inflight = w->depth;
        double start = now_s(), end = start + secs;
        bool stopping = false;
        while (inflight) {
                struct io_uring_cqe *cqe;
                if (io_uring_wait_cqe(&ring, &cqe) < 0)
                        die("io_uring wait failed");
                unsigned n = io_uring_peek_batch_cqe(&ring, cqes, 64);
                stopping = stopping || now_s() >= end;
                for (unsigned i = 0; i < n; i++) {
                        if (cqes[i]->res != (int)w->bs)
                                die("a direct I/O failed");
                        void *buf = io_uring_cqe_get_data(cqes[i]);
                        done++;
                        if (stopping)
                                inflight--;
                        else
                                queue_one(&ring, w, fd, buf, next_off(w, &rng, &seq));
                }
                io_uring_cq_advance(&ring, n);
                if (!stopping)
                        io_uring_submit(&ring);
        }
        double took = now_s() - start;
        /* This process and its io_uring workers (threads of it), less the
         * sampler's share, which the pvbackd side does not count. */
        double cpu1 = rusage_cpu_s(RUSAGE_SELF);
        depth_stop(sampling, &ds, &r->depth);
        r->cpu.direct = cpu1 - cpu0 - ds.cpu_s;
        r->ios = done;
        r->iops = (double)done / took;
        r->mib_s = r->iops * w->bs / (1 << 20);
        io_uring_queue_exit(&ring);
        free(bufs);
        close(fd);
}

/* ---- report -------------------------------------------------------------- */

static void print_row(const struct workload *w, const struct result *pv, const struct result *io)
{
        double a = w->mib ? pv->mib_s : pv->iops, b = w->mib ? io->mib_s : io->iops;
        double ratio = b > 0 ? a / b : 0;
        const char *unit = w->mib ? "MiB/s" : "IOPS";
        printf("%-28s %10.0f %-5s %10.0f %-5s %6.2f  %s\n", w->name, a, unit, b, unit, ratio,
               ratio >= RATIO_TARGET ? "PASS" : "BELOW");
}

static void print_grants(const struct workload *w, const struct be_counts *c, double fe_notifies)
{
        double reqs = c->requests ? (double)c->requests : 1;
        double looked = (double)(c->hits + c->misses);
        printf("%-28s %8.2f grant ops/request (%llu copy segments, %llu maps, %llu unmaps over "
               "%llu requests), persistent-grant hits %5.1f%%; per request %.3f notifications "
               "(frontend %.3f) and %.3f engine submits\n",
               w->name, (double)(c->copy_segs + c->maps + c->unmaps) / reqs, c->copy_segs, c->maps,
               c->unmaps, c->requests, looked > 0 ? 100.0 * (double)c->hits / looked : 0,
               (double)c->notifies / reqs, fe_notifies, (double)c->submits / reqs);
}

static double per_req_us(double cpu_s, uint64_t ios)
{
        return ios ? cpu_s * 1e6 / (double)ios : 0;
}

/* Per I/O, and as CPUs kept busy on average (the machine's are shared by
 * everything here: both sides are bound by them or by wake-up latency). */
static void print_cpu(const struct workload *w, const struct result *pv, const struct result *io)
{
        const struct cpu_use *c = &pv->cpu;
        double pv_us = per_req_us(c->backend + c->frontend + c->sim, pv->ios);
        double io_us = per_req_us(io->cpu.direct, io->ios);
        printf("%-28s %7.2f pvbackd + %5.2f frontend + %5.2f simulator = %6.2f us (%.2f CPUs)  |  "
               "%6.2f us (%.2f CPUs) direct\n",
               w->name, per_req_us(c->backend, pv->ios), per_req_us(c->frontend, pv->ios),
               per_req_us(c->sim, pv->ios), pv_us, pv_us * pv->iops / 1e6, io_us,
               io_us * io->iops / 1e6);
}

/* What the disk had in flight: a side that keeps fewer requests at the
 * device (a wait per round trip) shows it here. */
static void print_depth(const struct workload *w, const struct result *pv, const struct result *io)
{
        printf("%-28s pvbackd %5.1f average, idle %4.1f%% of %u samples  |  direct %5.1f average, "
               "idle %4.1f%% of %u samples\n",
               w->name, pv->depth.mean, 100 * pv->depth.idle, pv->depth.samples, io->depth.mean,
               100 * io->depth.idle, io->depth.samples);
}

/* An optional argument picks the workloads whose name contains it (for
 * profiling one of them); `make bench` runs them all. */
int main(int argc, char **argv)
{
        struct result pv[NLOADS], io[NLOADS];
        bool run[NLOADS];
        long log_pos = 0;
        signal(SIGPIPE, SIG_IGN);
        for (size_t i = 0; i < NLOADS; i++)
                run[i] = argc < 2 || strstr(loads[i].name, argv[1]);
        start_world();
        find_inflight();
        printf("blkback: pvbackd (sim) vs plain io_uring on the same %llu MiB file, %s s each: "
               "%s (buffered), disk: %s (O_DIRECT)\n",
               FILE_BYTES >> 20, SECONDS, disk, real_disk);
        for (size_t i = 0; i < NLOADS; i++) {
                if (!run[i])
                        continue;
                run_pvback(&loads[i], &log_pos, &pv[i]);
                run_direct(&loads[i], atof(SECONDS), &io[i]);
        }
        printf("%-28s %16s %16s %6s  target >= %.1f\n", "workload", "pvbackd", "io_uring direct",
               "ratio", RATIO_TARGET);
        for (size_t i = 0; i < NLOADS; i++)
                if (run[i])
                        print_row(&loads[i], &pv[i], &io[i]);
        printf("pvbackd grant work (from its queues' counters):\n");
        for (size_t i = 0; i < NLOADS; i++)
                if (run[i])
                        print_grants(&loads[i], &pv[i].be, pv[i].fe_notifies);
        printf("CPU time per I/O (user + system, all threads; simulator = pvback-sim's "
               "xenstored and event channels):\n");
        for (size_t i = 0; i < NLOADS; i++)
                if (run[i])
                        print_cpu(&loads[i], &pv[i], &io[i]);
        if (inflight_path[0]) {
                printf("requests in flight at the disk (%s, every ms):\n", inflight_path);
                for (size_t i = 0; i < NLOADS; i++)
                        if (run[i] && loads[i].disk)
                                print_depth(&loads[i], &pv[i], &io[i]);
        }
        return 0;
}
