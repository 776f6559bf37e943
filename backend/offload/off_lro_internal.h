/* Private to the merger: the held-flow record and the per-IP-version hooks
 * that off_lro_tcp4.c and off_lro_tcp6.c plug into the core (off_lro.c). */
#ifndef PVBACK_OFF_LRO_INTERNAL_H
#define PVBACK_OFF_LRO_INTERNAL_H

#include "offload/off_lro.h"

#define OFF_LRO_ADDRS_MAX    32u       /* IPv6 source + destination */
#define OFF_LRO_NIL          UINT8_MAX /* no flow / no buffer */
#define OFF_LRO_VLAN_PRESENT 0x10000u  /* vlan_key bit: tagged, whatever the TCI */

struct off_lro_flow;

struct off_lro_l3_ops {
        uint16_t ethertype;
        enum off_lro_gso_type gso_type;
        uint16_t addrs_off; /* source then destination, from the L3 header */
        uint16_t addrs_len;
        /* Linux's preconditions for merging a frame at all (inet_gro_receive /
         * ipv6_gro_receive), whatever is held: R_NONE or why not. */
        enum off_lro_reason (*frame_ok)(const uint8_t *frame, size_t len,
                                        const struct off_pkt_info *pi);
        /* Records what the rules need of the first segment's IP header. */
        void (*start)(struct off_lro_flow *f, const uint8_t *l3);
        /* The frame's IP header against the held packet's first one: R_NONE
         * when mergeable. May record what the second segment decides (the
         * IPv4 ID mode), as Linux does in inet_gro_flush. */
        enum off_lro_reason (*compare)(struct off_lro_flow *f, const uint8_t *l3,
                                       const uint8_t *held_l3);
        /* Rewrites the held L3 header for a merged packet of @l3_len bytes. */
        void (*finish)(uint8_t *l3, uint32_t l3_len);
};

struct off_lro_flow {
        /* key: the TCP 4-tuple, IP version and VLAN */
        uint32_t hash;
        uint32_t vlan_key; /* 0, or OFF_LRO_VLAN_PRESENT | TCI */
        uint32_t ports;    /* as stored */
        uint8_t addrs[OFF_LRO_ADDRS_MAX];
        const struct off_lro_l3_ops *ops;
        /* the held packet */
        struct off_pkt_info pi; /* of the first segment */
        uint8_t *buf;           /* first frame, then the appended payloads */
        uint32_t len;
        uint32_t next_seq;
        uint16_t mss; /* first segment's payload: gso_size */
        uint16_t segs;
        uint16_t ip_id;     /* IPv4: first segment's identification */
        uint8_t ip_fixedid; /* IPv4: IDs do not increment (decided at segment 2) */
        uint8_t csum;       /* enum off_lro_csum of the first segment */
        uint64_t born_ns;
        /* links */
        uint8_t buf_idx;
        uint8_t older, newer; /* age list (creation order) */
        uint8_t hnext;        /* hash chain */
};

extern const struct off_lro_l3_ops off_lro_tcp4_ops;
extern const struct off_lro_l3_ops off_lro_tcp6_ops;

#endif
