/* Traffic of pvback-netfront's gen/sink modes: frames whose payload is a
 * deterministic pattern of (flow, stream offset), so any receiver can check
 * every byte, and an order- and segmentation-independent digest of what was
 * sent or received. UDP frames carry their offset in an 8-byte header; TCP
 * frames (GSO) use the sequence number, so segments stay verifiable. */
#ifndef PVBACK_NF_GEN_H
#define PVBACK_NF_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfront.h"

#define NF_GEN_PORT 9       /* discard: the destination port of every flow */
#define NF_GEN_SPORT0 20000 /* flow f uses source port NF_GEN_SPORT0 + f */

struct nf_gen_cfg {
        uint32_t min_size, max_size; /* frame sizes incl. Ethernet header */
        uint32_t flows;
        bool tcp;          /* TCP frames (needed for GSO) instead of UDP */
        uint16_t gso_size; /* non-zero: frames above one MSS go as GSO */
        bool ipv6;
        bool csum_partial; /* leave L4 sums partial (csum_blank) */
        uint32_t seed;
        uint8_t src_mac[6], dst_mac[6];
        uint8_t saddr[16], daddr[16];
};

struct nf_gen {
        struct nf_gen_cfg cfg;
        uint64_t *flow_off; /* next stream offset per flow */
        uint64_t frames, payload_bytes, digest;
        uint32_t next_flow, next_size;
};

int nf_gen_init(struct nf_gen *g, const struct nf_gen_cfg *cfg);
void nf_gen_free(struct nf_gen *g);
/* Builds the next frame into buf and describes it in f (data points to buf). */
int nf_gen_next(struct nf_gen *g, uint8_t *buf, size_t cap, struct nf_frame *f);

/* Receiver side. */
struct nf_verify {
        uint32_t seed;
        uint64_t frames, payload_bytes, digest;
        uint64_t bad_bytes;  /* payload bytes that differ from the pattern */
        uint64_t bad_csum;   /* L4 checksum wrong on a frame not marked partial/validated */
        uint64_t foreign;    /* frames not from a generator (ARP, ND, ...) */
};

/* Checks one received frame against the pattern; updates the counters. */
void nf_verify_frame(struct nf_verify *v, const uint8_t *data, size_t len, bool csum_blank,
                     bool data_validated);

/* The digest term of one payload byte (exposed for tests). */
/* Offsets are 32-bit (the TCP sequence space): streams wrap every 4 GiB. */
uint64_t nf_gen_digest_byte(uint32_t flow, uint32_t off, uint8_t byte);
uint8_t nf_gen_pattern(uint32_t seed, uint32_t flow, uint32_t off);

#endif
