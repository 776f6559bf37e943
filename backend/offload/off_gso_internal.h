/* Private to the segmenter: the common core and the per-protocol hooks the
 * small protocol files (off_gso_tcp4.c, off_gso_tcp6.c) plug into it. */
#ifndef PVBACK_OFF_GSO_INTERNAL_H
#define PVBACK_OFF_GSO_INTERNAL_H

#include <stdbool.h>

#include "offload/off_gso.h"

struct off_gso_l3_ops {
        uint16_t ethertype;
        /* Largest L3 length field value a segment may carry. */
        uint32_t (*l3_len_field)(const struct off_pkt_info *pi, uint32_t l3_len);
        /* Once per GSO packet: the unfolded sum of the parts of the L3 header
         * (at @l3) that every segment shares, for fix_l3 (0 if unused). */
        uint64_t (*l3_shared_sum)(const uint8_t *l3, const struct off_pkt_info *pi);
        /* Rewrites the L3 header of segment @idx (of a copy starting at the
         * L3 header) for an L3 packet of @l3_len bytes. */
        void (*fix_l3)(uint8_t *l3, const struct off_pkt_info *pi, uint32_t l3_len, uint32_t idx,
                       uint64_t shared_sum);
};

extern const struct off_gso_l3_ops off_gso_tcp4_ops, off_gso_tcp6_ops;

/* off_gso_segment (@whole: every segment or -ENOSPC) and off_gso_segment_from
 * over one protocol's hooks. */
int off_gso_segment_common(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                           uint16_t mss, uint32_t first, bool whole, enum off_gso_mode mode,
                           struct off_gso_out *out, const struct off_gso_l3_ops *ops);

#endif
