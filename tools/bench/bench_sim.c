/* Simulator benchmark (not a test): grant-copy throughput of 4 KiB segments in
 * batches of 64 against plain memcpy of the same bytes, and event-channel
 * notify→wake-up latency, between two processes acting as dom0 and dom5 on a
 * private simulated host. Figures are ratios measured in this one run. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "simhost.h"
#include "proc.h"

#define FRONT        5
#define NPAGES       1024 /* 4 MiB of guest pages: more than the caches hold */
#define BATCH        64
#define ROUNDS       7
#define BYTES_ROUND  (512ull << 20)
#define PINGS        5000
#define RATIO_TARGET 0.8

/* dom5 → dom0 over a pipe: its refs, then the port it offers. */
struct offer {
        uint32_t refs[NPAGES];
        uint32_t clock_ref; /* one page for timestamps */
        uint32_t port;
        int32_t rc;
};

struct front_args {
        int to_back[2], from_back[2];
};

/* Shared clock page: [0] send time dom0→dom5, [1] send time dom5→dom0,
 * [2] latency dom5 measured for the last dom0→dom5 notify. */
static int front_pong(struct xh_evtchn *e, uint32_t port, volatile uint64_t *clk)
{
        struct pollfd pfd = {.fd = xh_evtchn_fd(e), .events = POLLIN};
        uint32_t got;

        for (int i = 0; i < PINGS + 1; i++) {
                /* The first ping comes after dom0's copy benchmark. */
                if (poll(&pfd, 1, i ? 5000 : 120000) != 1 || xh_evtchn_pending(e, &got) < 0)
                        return 1;
                clk[2] = now_ns() - clk[0];
                xh_evtchn_unmask(e, got);
                clk[1] = now_ns();
                __atomic_thread_fence(__ATOMIC_RELEASE);
                if (xh_evtchn_notify(e, port) < 0)
                        return 1;
        }
        return 0;
}

static int front_main(void *arg)
{
        struct front_args *a = arg;
        const struct xh_provider *p;
        struct xh_gntshr *s;
        struct xh_evtchn *e;
        static struct offer o;
        char err[256], go;
        void *pages, *clock;

        close(a->to_back[0]);
        close(a->from_back[1]);
        o.rc = xh_provider_select(NULL, &p, err, sizeof(err));
        if (!o.rc)
                o.rc = xh_gntshr_open(p, &s);
        if (!o.rc)
                o.rc = xh_gntshr_share(s, 0, NPAGES, o.refs, false, &pages);
        if (!o.rc)
                o.rc = xh_gntshr_share(s, 0, 1, &o.clock_ref, true, &clock);
        if (!o.rc)
                o.rc = xh_evtchn_open(p, &e);
        if (!o.rc)
                o.rc = xh_evtchn_bind_unbound(e, 0, &o.port);
        if (!o.rc)
                for (size_t i = 0; i < (size_t)NPAGES * 4096; i++)
                        ((uint8_t *)pages)[i] = (uint8_t)(i * 13 + (i >> 12));
        if (write(a->to_back[1], &o, sizeof(o)) != (ssize_t)sizeof(o) || o.rc)
                return 1;
        int rc = front_pong(e, o.port, clock);
        /* Stay until dom0 is done with the pages. */
        if (read(a->from_back[0], &go, 1) < 0)
                rc = 1;
        return rc;
}

static double gib_s(uint64_t bytes, uint64_t ns)
{
        return (double)bytes / (double)(1ull << 30) / ((double)ns / 1e9);
}

/* The segment tables are built once: what is timed is the hypervisor side
 * (validation, pins, copies), as it would be for a backend reusing its tables. */
static int copy_round(struct xh_gnttab *g, xh_copy_seg_t (*tables)[BATCH], uint64_t *ns)
{
        uint64_t batches = BYTES_ROUND / (BATCH * 4096u), t0 = now_ns();

        for (uint64_t b = 0; b < batches; b++) {
                xh_copy_seg_t *segs = tables[b % (NPAGES / BATCH)];
                if (xh_gnttab_copy(g, BATCH, segs) < 0)
                        return -EIO;
                for (int j = 0; j < BATCH; j++)
                        if (segs[j].status != GNTST_okay)
                                return -EIO;
        }
        *ns = now_ns() - t0;
        return 0;
}

static void build_tables(const struct offer *o, uint8_t *dst, xh_copy_seg_t (*tables)[BATCH])
{
        for (int b = 0; b < NPAGES / BATCH; b++) {
                for (int j = 0; j < BATCH; j++) {
                        xh_copy_seg_t *s = &tables[b][j];
                        s->flags = GNTCOPY_source_gref;
                        s->len = 4096;
                        s->source.foreign.ref = o->refs[b * BATCH + j];
                        s->source.foreign.offset = 0;
                        s->source.foreign.domid = FRONT;
                        s->dest.virt = dst + (size_t)j * 4096;
                }
        }
}

static void memcpy_round(const uint8_t *src, uint8_t *dst, uint64_t *ns)
{
        uint64_t batches = BYTES_ROUND / (BATCH * 4096u), t0 = now_ns();
        for (uint64_t b = 0; b < batches; b++)
                for (int j = 0; j < BATCH; j++)
                        memcpy(dst + (size_t)j * 4096,
                               src + ((b * BATCH + (uint64_t)j) % NPAGES) * 4096, 4096);
        __asm__ volatile("" ::"r"(dst) : "memory");
        *ns = now_ns() - t0;
}

/* Rounds alternate so both see the same machine; the best of each counts. */
static int bench_copy(struct xh_gnttab *g, const struct offer *o)
{
        void *src;
        static xh_copy_seg_t tables[NPAGES / BATCH][BATCH];
        uint8_t *dst = aligned_alloc(4096, BATCH * 4096);
        uint64_t best_copy = UINT64_MAX, best_mem = UINT64_MAX, ns;

        if (!dst || xh_gnttab_map(g, FRONT, NPAGES, o->refs, false, &src) < 0)
                return -EIO;
        build_tables(o, dst, tables);
        for (int r = 0; r < ROUNDS; r++) {
                if (copy_round(g, tables, &ns) < 0)
                        return -EIO;
                best_copy = ns < best_copy ? ns : best_copy;
                memcpy_round(src, dst, &ns);
                best_mem = ns < best_mem ? ns : best_mem;
        }
        double c = gib_s(BYTES_ROUND, best_copy), m = gib_s(BYTES_ROUND, best_mem);
        printf("grant copy (4 KiB segments, batches of %d): %.2f GiB/s\n", BATCH, c);
        printf("plain memcpy of the same bytes:            %.2f GiB/s\n", m);
        printf("ratio %.3f (target >= %.1f): %s\n", c / m, RATIO_TARGET,
               c / m >= RATIO_TARGET ? "PASS" : "FAIL");
        xh_gnttab_unmap(g, src, NPAGES);
        free(dst);
        return 0;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static void print_lat(const char *what, uint64_t *v, int n)
{
        qsort(v, (size_t)n, sizeof(*v), cmp_u64);
        printf("evtchn notify->wake-up %s: median %.1f us, p99 %.1f us (%d samples)\n", what,
               (double)v[n / 2] / 1e3, (double)v[(n * 99) / 100] / 1e3, n);
}

static int bench_evtchn(struct xh_gnttab *g, const struct offer *o)
{
        static uint64_t to_front[PINGS], to_back[PINGS];
        struct xh_evtchn *e;
        const struct xh_provider *p;
        char err[256];
        uint32_t port, got;
        volatile uint64_t *clk;
        void *page;

        if (xh_provider_select(NULL, &p, err, sizeof(err)) < 0 || xh_evtchn_open(p, &e) < 0 ||
            xh_gnttab_map(g, FRONT, 1, &o->clock_ref, true, &page) < 0 ||
            xh_evtchn_bind_interdomain(e, FRONT, o->port, &port) < 0)
                return -EIO;
        clk = page;
        struct pollfd pfd = {.fd = xh_evtchn_fd(e), .events = POLLIN};
        /* Xen marks a freshly bound port pending: drain that first. */
        if (poll(&pfd, 1, 2000) != 1 || xh_evtchn_pending(e, &got) < 0)
                return -EIO;
        xh_evtchn_unmask(e, got);
        for (int i = 0; i < PINGS + 1; i++) {
                clk[0] = now_ns();
                __atomic_thread_fence(__ATOMIC_RELEASE);
                if (xh_evtchn_notify(e, port) < 0 || poll(&pfd, 1, 5000) != 1 ||
                    xh_evtchn_pending(e, &got) < 0)
                        return -EIO;
                uint64_t back = now_ns() - clk[1];
                if (i > 0) { /* the first exchange warms both sides up */
                        to_front[i - 1] = clk[2];
                        to_back[i - 1] = back;
                }
                xh_evtchn_unmask(e, got);
        }
        print_lat("dom0->dom5", to_front, PINGS);
        print_lat("dom5->dom0", to_back, PINGS);
        xh_gnttab_unmap(g, page, 1);
        xh_evtchn_close(e);
        return 0;
}

static int run(struct simhost *h)
{
        static struct front_args fa;
        static struct offer o;
        const struct xh_provider *p;
        struct xh_gnttab *g;
        char err[256];
        int rc;

        if (simhost_domain_create(h, FRONT) < 0 || pipe(fa.to_back) < 0 || pipe(fa.from_back) < 0)
                return -EIO;
        pid_t pid = simhost_spawn(h, FRONT, front_main, &fa);
        if (pid < 0)
                return (int)pid;
        close(fa.to_back[1]);
        close(fa.from_back[0]);
        if (read(fa.to_back[0], &o, sizeof(o)) != (ssize_t)sizeof(o) || o.rc)
                return -EIO;
        simhost_enter(h, 0);
        if ((rc = xh_provider_select(NULL, &p, err, sizeof(err))) < 0 ||
            (rc = xh_gnttab_open(p, &g)) < 0)
                return rc;
        printf("pvback-sim bench: dom0 and dom5 are separate processes\n");
        rc = bench_copy(g, &o);
        if (rc == 0)
                rc = bench_evtchn(g, &o);
        xh_gnttab_close(g);
        close(fa.from_back[1]); /* dom5 may go */
        simhost_wait(pid, 5000);
        return rc;
}

int main(void)
{
        struct simhost h;
        int rc = simhost_start(&h);

        if (rc < 0) {
                fprintf(stderr, "bench_sim: cannot start a simulated host: %s\n", strerror(-rc));
                return 1;
        }
        rc = run(&h);
        simhost_stop(&h);
        if (rc < 0)
                fprintf(stderr, "bench_sim: failed: %s\n", strerror(-rc));
        return rc < 0 ? 1 : 0;
}
