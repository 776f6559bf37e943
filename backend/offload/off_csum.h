/* Internet checksum (RFC 1071) in software: buffer sums, copy-and-checksum,
 * incremental updates (RFC 1624), pseudo-headers and completion of partial
 * checksums with virtio_net_hdr / CHECKSUM_PARTIAL semantics.
 * Sums are "raw": 16-bit lanes in stored (network) byte order, read natively,
 * so a finished checksum is stored with memcpy, never htons (RFC 1071 §2(B)). */
#ifndef PVBACK_OFF_CSUM_H
#define PVBACK_OFF_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offload/off_parse.h"

/* RFC 768: a computed UDP checksum of 0 is sent as all ones; 0 means "none". */
#define OFF_CSUM_UDP_MANGLED_0 0xFFFFu

/* Ones' complement add of two unfolded sums (end-around carry). */
uint64_t off_csum_add(uint64_t a, uint64_t b);
/* Adds the sum of a block that starts at byte offset @offset of the summed
 * region: an odd offset swaps the block's bytes (RFC 1071 §2(B)). */
uint64_t off_csum_block_add(uint64_t sum, uint64_t block, size_t offset);
/* Folds to 16 bits without inverting. */
uint16_t off_csum_fold(uint64_t sum);
/* ~fold: the value stored in a checksum field. */
uint16_t off_csum_finish(uint64_t sum);

/* Adds @len bytes at @buf (any alignment, any length) to @sum. */
uint64_t off_csum_partial(const void *buf, size_t len, uint64_t sum);
/* Copies @len bytes and sums them in the same pass (buffers must not overlap). */
uint64_t off_csum_copy(void *dst, const void *src, size_t len, uint64_t sum);
/* The Internet checksum of a buffer (e.g. an IPv4 header with its field zeroed). */
uint16_t off_csum_buf(const void *buf, size_t len);

/* RFC 1624 eqn. 3: checksum field after a 16/32-bit word changed old -> new
 * (all values raw, as stored in the packet). */
uint16_t off_csum_update16(uint16_t check, uint16_t old_word, uint16_t new_word);
uint16_t off_csum_update32(uint16_t check, uint32_t old_word, uint32_t new_word);

/* Pseudo-header sums (RFC 793 §3.1 / RFC 768; RFC 8200 §8.1); addresses point
 * into the packet, @l4_len is the host-order upper-layer length. */
uint64_t off_csum_pseudo_ipv4(const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
                              uint32_t l4_len);
uint64_t off_csum_pseudo_ipv6(const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
                              uint32_t l4_len);
/* Pseudo-header sum for a parsed packet's L4 segment of @l4_len bytes. */
uint64_t off_csum_pseudo(const uint8_t *pkt, const struct off_pkt_info *pi, uint32_t l4_len);

/* CHECKSUM_PARTIAL completion (virtio spec 5.1.6.2, Linux skb_checksum_help):
 * the field at csum_start+csum_offset already holds the folded pseudo-header
 * sum; sum from csum_start to the end and store the result. 0 or -EINVAL. */
int off_csum_complete_partial(uint8_t *pkt, size_t len, size_t csum_start, size_t csum_offset);
/* Seeds the L4 checksum field with the pseudo-header sum, as a sender that
 * sets VIRTIO_NET_HDR_F_NEEDS_CSUM / NETTXF_csum_blank does. 0 or -EINVAL. */
int off_csum_seed_partial(uint8_t *pkt, size_t len, const struct off_pkt_info *pi);
/* Computes the TCP/UDP checksum from scratch over the parsed L4 span
 * (UDP: 0 -> 0xFFFF). 0, -EINVAL (no L4) or -EPROTONOSUPPORT. */
int off_csum_fill_l4(uint8_t *pkt, size_t len, const struct off_pkt_info *pi);
/* Receiver check: pseudo-header + L4 span sums to all ones (UDP 0 = none). */
bool off_csum_l4_ok(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi);
/* Recomputes an IPv4 header checksum in place; @ihl_bytes from the header. */
void off_csum_fill_ipv4_hdr(uint8_t *iph, size_t ihl_bytes);

#endif
