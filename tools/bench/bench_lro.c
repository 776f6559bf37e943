/* Software LRO (off_lro) throughput, as a ratio to memcpy of the same
 * payload bytes measured in the same run (target >= 0.5), for one bulk flow
 * and for eight interleaved flows, plus the per-packet cost of frames that
 * pass through unmerged. A benchmark, not a test. */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offload/off_build.h"
#include "offload/off_csum.h"
#include "offload/off_lro.h"
#include "proc.h"

#define ROUND_NS     10000000ull /* 10 ms per round */
#define ROUNDS       30
#define NS_PER_S     1e9
#define MSS          1448
#define SEGS         45 /* 45 x 1448 + 52 stays below 64 KiB: one merged packet */
#define FLOWS        8
#define FRAME_CAP    1600
#define TARGET_RATIO 0.5

static uint8_t frames[FLOWS][SEGS][FRAME_CAP];
static size_t lens[FLOWS][SEGS];
static uint8_t ack_frame[FRAME_CAP], udp_frame[FRAME_CAP];
static size_t ack_len, udp_len;
static uint8_t dst[FRAME_CAP + SEGS * MSS];
static struct off_lro *lro;
static struct off_lro_pkt pkts[OFF_LRO_FLOWS_DEFAULT + 1];
static volatile uint64_t sink;

/* Keeps the compiler from proving a copy dead. */
static inline void clobber(void *p)
{
        __asm__ volatile("" : : "r"(p) : "memory");
}

static size_t build(uint8_t *buf, uint8_t proto, uint16_t sport, uint32_t seq, size_t plen)
{
        static const uint8_t ts[] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
        struct off_build_spec s = {
            .ethertype = OFF_ETH_P_IPV4,
            .l4_proto = proto,
            .sport = sport,
            .dport = 5001,
            .seq = seq,
            .ack = 1,
            .tcp_flags = OFF_TCP_ACK,
            .tcp_window = 500,
            .ip_id = (uint16_t)(seq / MSS),
            .tcp_opts = proto == IPPROTO_TCP ? ts : NULL,
            .tcp_opts_len = proto == IPPROTO_TCP ? sizeof(ts) : 0,
            .payload_len = plen,
            .saddr = {10, 0, 0, 1},
            .daddr = {10, 0, 0, 2},
        };
        size_t len;
        struct off_pkt_info pi;
        if (off_build_packet(buf, FRAME_CAP, &s, &len) || off_parse(buf, len, 0, &pi) ||
            off_csum_fill_l4(buf, len, &pi))
                abort();
        return len;
}

static void emit(const struct off_lro_out *o)
{
        for (uint32_t i = 0; i < o->n; i++)
                sink += o->pkts[i].len;
}

static void add(const uint8_t *f, size_t len)
{
        struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_DEFAULT + 1};
        if (off_lro_add(lro, f, len, OFF_LRO_RX_CSUM_VALID, 0, &o))
                abort();
        emit(&o);
}

static void flush(void)
{
        struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_DEFAULT + 1};
        if (off_lro_flush_all(lro, 0, &o))
                abort();
        emit(&o);
}

/* The least a copying merger must do: the payloads, back to back, behind
 * the header at the same offset (so source and destination are aligned as
 * they are for off_lro, which copies each payload after the first header). */
static void run_memcpy(uint32_t nflows)
{
        for (uint32_t f = 0; f < nflows; f++) {
                size_t hdr = lens[f][0] - MSS;
                for (uint32_t i = 0; i < SEGS; i++)
                        memcpy(dst + hdr + (size_t)i * MSS, frames[f][i] + hdr, MSS);
        }
        clobber(dst);
}

static void run_lro(uint32_t nflows)
{
        for (uint32_t i = 0; i < SEGS; i++)
                for (uint32_t f = 0; f < nflows; f++)
                        add(frames[f][i], lens[f][i]);
        flush();
}

static void run_pass_ack(uint32_t n)
{
        for (uint32_t i = 0; i < n; i++)
                add(ack_frame, ack_len);
}

static void run_pass_udp(uint32_t n)
{
        for (uint32_t i = 0; i < n; i++)
                add(udp_frame, udp_len);
}

/* Seconds per call of run(arg) over one round of ROUND_NS. */
static double round_time(void (*run)(uint32_t), uint32_t arg)
{
        uint64_t iters = 0, t0 = now_ns(), t;
        do {
                run(arg);
                iters++;
                t = now_ns();
        } while (t - t0 < ROUND_NS);
        return (double)(t - t0) / NS_PER_S / (double)iters;
}

/* Rounds of a and b alternate and each keeps its best round, so a busy
 * machine skews neither side of the ratio. */
static void best_pair(void (*a)(uint32_t), void (*b)(uint32_t), uint32_t arg, double *ta,
                      double *tb)
{
        *ta = *tb = 1e30;
        for (int r = 0; r < ROUNDS; r++) {
                double x = round_time(a, arg), y = round_time(b, arg);
                *ta = x < *ta ? x : *ta;
                *tb = y < *tb ? y : *tb;
        }
}

int main(void)
{
        for (uint32_t f = 0; f < FLOWS; f++)
                for (uint32_t i = 0; i < SEGS; i++)
                        lens[f][i] = build(frames[f][i], IPPROTO_TCP, (uint16_t)(40000 + f),
                                           1000 + i * MSS, MSS);
        ack_len = build(ack_frame, IPPROTO_TCP, 39999, 1000, 0);
        udp_len = build(udp_frame, IPPROTO_UDP, 39998, 0, 64);
        if (off_lro_create(NULL, &lro))
                abort();

        printf(
            "bench_lro: software LRO vs memcpy of the same payload bytes (target ratio >= %.1f)\n",
            TARGET_RATIO);
        printf("%-36s %10s %10s %8s\n", "operation", "GB/s", "ns/seg", "ratio");
        int below = 0;
        const uint32_t nflows[] = {1, FLOWS};
        for (size_t k = 0; k < 2; k++) {
                uint32_t n = nflows[k];
                double bytes = (double)n * SEGS * MSS, segs = (double)n * SEGS;
                double tm, tl;
                best_pair(run_memcpy, run_lro, n, &tm, &tl);
                char name[64];
                snprintf(name, sizeof(name), "memcpy, %u flow%s x %u x %u B", n, n > 1 ? "s" : "",
                         SEGS, MSS);
                printf("%-36s %10.2f %10.1f %8s\n", name, bytes / tm / 1e9, tm / segs * NS_PER_S,
                       "1.00");
                snprintf(name, sizeof(name), "off_lro merge, %u flow%s", n, n > 1 ? "s" : "");
                printf("%-36s %10.2f %10.1f %8.2f\n", name, bytes / tl / 1e9, tl / segs * NS_PER_S,
                       tm / tl);
                below += tm / tl < TARGET_RATIO;
        }
        const uint32_t npass = 1024;
        double ta, tu;
        best_pair(run_pass_ack, run_pass_udp, npass, &ta, &tu);
        printf("%-36s %10s %10.1f\n", "pass-through, pure ACK", "-", ta / npass * NS_PER_S);
        printf("%-36s %10s %10.1f\n", "pass-through, UDP (not TCP)", "-", tu / npass * NS_PER_S);
        const struct off_lro_stats *st = off_lro_get_stats(lro);
        printf("merged %" PRIu64 " of %" PRIu64 " frames into %" PRIu64 " packets\n", st->merged,
               st->frames, st->gso_out);
        printf("%s: %d of 2 below target\n", below ? "BELOW TARGET" : "ok", below);
        off_lro_destroy(lro);
        return 0;
}
