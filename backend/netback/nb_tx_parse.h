/* Guest TX parsing: ring slots -> one validated packet descriptor. Pure: no
 * hypercalls, no allocation, no logging; each shared slot is copied exactly once.
 * Not for building grant copies or answering the guest (see nb_tx_gnttab.h). */
#ifndef PVBACK_NB_TX_PARSE_H
#define PVBACK_NB_TX_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netback/nb_limits.h"

/* What the caller must do with the slots at req_cons. */
enum nb_tx_verdict {
        NB_TX_EMPTY,      /* nothing published: consume nothing */
        NB_TX_OK,         /* a packet: copy it, answer every slot OKAY */
        NB_TX_MCAST,      /* multicast add/del dummy: answer, forward no data */
        NB_TX_DROP,       /* consume and answer every slot NETIF_RSP_ERROR */
        NB_TX_INCOMPLETE, /* slots not all published yet: consume nothing, retry */
        NB_TX_FATAL,      /* rogue frontend: answer nothing, disable the vif */
};

/* Why a packet was dropped, refused or deferred. a/b carry the values quoted
 * by nb_tx_fault_format() (see the table in nb_tx_parse.c). */
enum nb_tx_reason {
        NB_TX_R_NONE,
        NB_TX_R_RING_OVERFLOW, /* fatal: req_prod - req_cons > ring size */
        NB_TX_R_EXTRA_TYPE,    /* fatal: extra type 0 or >= MAX */
        NB_TX_R_EXTRA_MISSING, /* extra chain runs past the published slots */
        NB_TX_R_DATA_MISSING,  /* more_data runs past the published slots */
        NB_TX_R_SLOTS_FATAL,   /* fatal: more than fatal_slots after the first */
        NB_TX_R_CROSS_PAGE,    /* fatal: offset + size > page on a slot */
        NB_TX_R_GSO_SIZE,      /* fatal: GSO extra with size 0 */
        NB_TX_R_GSO_TYPE,      /* fatal: GSO extra with an unknown type */
        NB_TX_R_SLOTS_DROP,    /* drop: more than max_slots after the first */
        NB_TX_R_FRAG_TOO_BIG,  /* drop: fragment larger than what remains */
        NB_TX_R_RUNT,          /* drop: total size < ETH_HLEN */
        NB_TX_R_MCAST_ADD,     /* mcast dummy carrying MCAST_ADD */
        NB_TX_R_MCAST_DEL,     /* mcast dummy carrying MCAST_DEL */
};

struct nb_tx_fault {
        enum nb_tx_reason reason;
        uint32_t slot; /* offending slot, 0 = first slot of the packet */
        uint32_t a, b;
};

/* One data slot, copied out of the ring. */
struct nb_tx_frag {
        uint32_t gref;
        uint16_t offset;
        uint16_t len; /* bytes in this slot; slot 1: total minus the others */
        uint16_t id;  /* echoed in the response */
};

struct nb_tx_pkt {
        enum nb_tx_verdict verdict;
        struct nb_tx_fault fault;
        RING_IDX first;      /* ring index of the first slot */
        uint32_t nr_slots;   /* ring slots to consume (0 unless OK/MCAST/DROP) */
        uint32_t nr_extras;  /* extra-info slots (each answered NETIF_RSP_NULL) */
        uint32_t nr_frags;   /* data slots, first included; ids in frags[] */
        uint16_t total_len;  /* slot 1's size field */
        bool csum_blank;     /* NETTXF_csum_blank: CHECKSUM_PARTIAL */
        bool data_validated; /* NETTXF_data_validated: CHECKSUM_UNNECESSARY */

        bool has_gso;
        uint8_t gso_type; /* XEN_NETIF_GSO_TYPE_TCPV4/TCPV6 */
        uint16_t gso_size;
        uint16_t gso_features;

        bool has_hash; /* only for the four hash types Linux understands */
        uint8_t hash_type;
        uint8_t hash_alg;
        uint32_t hash_value; /* little-endian on the wire, host order here */

        bool mcast_add, mcast_del;
        uint8_t mcast_addr[6];

        bool has_xdp; /* accepted and ignored on TX, as Linux does */
        uint16_t xdp_headroom;

        struct nb_tx_frag frags[NB_TX_DESC_SLOTS];
};

struct nb_tx_parse_cfg {
        uint32_t max_slots;   /* drop above this many following slots (18) */
        uint32_t fatal_slots; /* disable above this many (Linux fatal_skb_slots, 20) */
        /* true: a packet running past req_prod is fatal, as in Linux (a correct
         * frontend publishes whole packets). false (default): wait for the
         * rest, as FreeBSD's xnb_ring2pkt does; still fatal when the packet
         * alone fills the ring, since then the rest can never be published. */
        bool partial_is_fatal;
};

/* Linux defaults: 18 / 20 / tolerant of partially published packets. */
void nb_tx_parse_cfg_default(struct nb_tx_parse_cfg *cfg);
/* 0, or -EINVAL if 18 <= max_slots <= fatal_slots <= NB_TX_FATAL_SLOTS_CAP fails. */
int nb_tx_parse_cfg_check(const struct nb_tx_parse_cfg *cfg);

/* Reads the packet at ring->req_cons, looking no further than req_prod (the
 * caller's snapshot of sring->req_prod, read before an rmb). Does not move
 * req_cons: the caller does, with nb_tx_consume(), unless the verdict is
 * EMPTY, INCOMPLETE or FATAL. Returns pkt->verdict. */
enum nb_tx_verdict nb_tx_parse_slots(const netif_tx_back_ring_t *ring, RING_IDX req_prod,
                                     const struct nb_tx_parse_cfg *cfg, struct nb_tx_pkt *pkt);

/* Advances req_cons past the slots of a parsed packet. */
static inline void nb_tx_consume(netif_tx_back_ring_t *ring, const struct nb_tx_pkt *pkt)
{
        ring->req_cons += pkt->nr_slots;
}

/* "slot 3 offset+size 4200 > 4096": the fault in words, for a log line the
 * caller prefixes with the vif and queue. Returns snprintf's value. */
int nb_tx_fault_format(const struct nb_tx_fault *f, char *buf, size_t len);
/* Short stable name of a reason ("cross-page"), for counters and xenstore. */
const char *nb_tx_reason_name(enum nb_tx_reason r);
const char *nb_tx_verdict_name(enum nb_tx_verdict v);

#endif
