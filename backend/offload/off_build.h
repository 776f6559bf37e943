/* Builds well-formed Ethernet/IP/TCP|UDP frames from a small spec: synthetic
 * traffic for benchmarks and tests (and the null uplink's generator). It is
 * not a general packet crafting library: checksums are left to off_csum. */
#ifndef PVBACK_OFF_BUILD_H
#define PVBACK_OFF_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "offload/off_parse.h"

struct off_build_spec {
        uint16_t ethertype;             /* OFF_ETH_P_IPV4 or OFF_ETH_P_IPV6 */
        int vlan;                       /* insert one 802.1Q tag */
        uint16_t vlan_tci;
        uint8_t dst_mac[OFF_ETH_ALEN], src_mac[OFF_ETH_ALEN];
        uint8_t saddr[16], daddr[16];   /* IPv4 uses the first 4 bytes */
        uint16_t ip_id;                 /* IPv4 identification */
        uint8_t ip_ttl;                 /* or IPv6 hop limit; 0 -> 64 */
        const uint8_t *ip_opts;         /* IPv4 options, multiple of 4 bytes */
        size_t ip_opts_len;
        const uint8_t *ext;             /* IPv6 extension headers, chained by the caller */
        size_t ext_len;
        uint8_t ext_first;              /* Next Header naming the first of them */
        uint8_t l4_proto;               /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t sport, dport;
        uint32_t seq, ack;
        uint8_t tcp_flags;
        uint16_t tcp_window;
        const uint8_t *tcp_opts;        /* multiple of 4 bytes, at most 40 */
        size_t tcp_opts_len;
        const uint8_t *payload;         /* NULL: off_build_pattern() bytes */
        size_t payload_len;
};

/* Writes the frame into @buf (@cap bytes) and its length to @len. Length fields
 * and the IPv4 header checksum are set; the L4 checksum is 0.
 * 0, -EINVAL (bad spec) or -ENOSPC. */
int off_build_packet(uint8_t *buf, size_t cap, const struct off_build_spec *s, size_t *len);
/* Deterministic payload byte @i of a stream with @seed. */
uint8_t off_build_pattern(uint32_t seed, size_t i);

#endif
