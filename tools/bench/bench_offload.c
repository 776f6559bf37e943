/* Software offload throughput, as ratios to memcpy of the same bytes measured
 * in the same run (target >= 0.5): checksum, copy-and-checksum, and TCP
 * segmentation in both output modes. A benchmark, not a test. */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offload/off_build.h"
#include "offload/off_csum.h"
#include "offload/off_gso.h"

#define RUN_NS 300000000ull /* per measurement */
#define NS_PER_S 1e9
#define GSO_PAYLOAD 64000
#define MSS 1448
#define MAX_SEGS 64
#define TARGET_RATIO 0.5

static uint8_t src[GSO_PAYLOAD + 256], dst[GSO_PAYLOAD + 256];
static uint8_t arena[GSO_PAYLOAD + MAX_SEGS * 128];
static struct off_gso_seg segs[MAX_SEGS];
static volatile uint64_t sink;

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Keeps the compiler from proving a copy dead. */
static inline void clobber(void *p)
{
        __asm__ volatile("" : : "r"(p) : "memory");
}

struct job {
        const char *name;
        size_t bytes;
        void (*run)(size_t bytes);
};

static void run_memcpy(size_t n)
{
        memcpy(dst, src, n);
        clobber(dst);
}
static void run_csum(size_t n)
{
        sink += off_csum_partial(src, n, 0);
}
static void run_csum_copy(size_t n)
{
        sink += off_csum_copy(dst, src, n, 0);
        clobber(dst);
}

static struct off_pkt_info gso_pi;
static size_t gso_len;

static void run_gso(enum off_gso_mode mode)
{
        struct off_gso_out o = {.mem = arena, .mem_len = sizeof(arena), .segs = segs,
                                .max_segs = MAX_SEGS};
        if (off_gso_segment(src, gso_len, &gso_pi, MSS, mode, &o) != 0)
                abort();
        sink += o.nsegs;
        clobber(arena);
}
static void run_gso_slice(size_t n)
{
        run_gso(OFF_GSO_SLICE);
}
static void run_gso_copy(size_t n)
{
        run_gso(OFF_GSO_COPY);
}

static double gbps(void (*run)(size_t), size_t bytes)
{
        uint64_t iters = 0, t0 = now_ns(), t;
        do {
                for (int k = 0; k < 64; k++)
                        run(bytes);
                iters += 64;
                t = now_ns();
        } while (t - t0 < RUN_NS);
        return (double)iters * (double)bytes / ((double)(t - t0) / NS_PER_S) / 1e9;
}

static void build_gso_packet(void)
{
        struct off_build_spec s = {
            .ethertype = OFF_ETH_P_IPV4, .l4_proto = IPPROTO_TCP, .sport = 1, .dport = 2,
            .tcp_flags = 0x18, .payload_len = GSO_PAYLOAD, .saddr = {10, 0, 0, 1},
            .daddr = {10, 0, 0, 2},
        };
        if (off_build_packet(src, sizeof(src), &s, &gso_len) ||
            off_parse(src, gso_len, OFF_PARSE_GSO, &gso_pi))
                abort();
}

int main(void)
{
        const size_t sizes[] = {1500, GSO_PAYLOAD};
        int below = 0;
        for (size_t i = 0; i < sizeof(src); i++)
                src[i] = (uint8_t)(i * 131u + 7u);
        printf("bench_offload: software offload vs memcpy of the same bytes (target ratio >= %.1f)\n",
               TARGET_RATIO);
        printf("%-34s %8s %10s %8s\n", "operation", "bytes", "GB/s", "ratio");
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
                size_t n = sizes[k];
                double base = gbps(run_memcpy, n);
                printf("%-34s %8zu %10.2f %8s\n", "memcpy", n, base, "1.00");
                const struct job jobs[] = {{"checksum (off_csum_partial)", n, run_csum},
                                           {"copy+checksum (off_csum_copy)", n, run_csum_copy}};
                for (size_t j = 0; j < 2; j++) {
                        double r = gbps(jobs[j].run, n);
                        printf("%-34s %8zu %10.2f %8.2f\n", jobs[j].name, n, r, r / base);
                        below += r / base < TARGET_RATIO;
                }
        }
        build_gso_packet();
        double base = gbps(run_memcpy, gso_len);
        printf("%-34s %8zu %10.2f %8s\n", "memcpy (GSO packet)", gso_len, base, "1.00");
        const struct job gjobs[] = {{"TSO mss 1448, slice (zero-copy)", gso_len, run_gso_slice},
                                    {"TSO mss 1448, copy+checksum", gso_len, run_gso_copy}};
        for (size_t j = 0; j < 2; j++) {
                double r = gbps(gjobs[j].run, gso_len);
                printf("%-34s %8zu %10.2f %8.2f\n", gjobs[j].name, gso_len, r, r / base);
                below += r / base < TARGET_RATIO;
        }
        printf("%s: %d of 6 below target\n", below ? "BELOW TARGET" : "ok", below);
        return 0;
}
