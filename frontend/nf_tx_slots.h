/* Guest TX slot building: a frame's fragments and metadata become the ring
 * slots Linux netfront would write (xennet_start_xmit). Pure: no ring, no
 * grants; the queue copies the slots to the ring. Not for choosing buffers. */
#ifndef PVBACK_NF_TX_SLOTS_H
#define PVBACK_NF_TX_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "nf_proto.h"

/* One data slot: bytes [offset, offset+len) of the page granted as gref. */
struct nf_tx_frag {
        uint32_t gref;
        uint16_t offset;
        uint16_t len;
        uint16_t id; /* echoed in this slot's response */
};

struct nf_tx_meta {
        uint32_t len;        /* frame length: slot 1's size field */
        bool csum_blank;     /* CHECKSUM_PARTIAL: Linux sets data_validated too */
        bool data_validated; /* CHECKSUM_UNNECESSARY */
        uint8_t gso_type;    /* XEN_NETIF_GSO_TYPE_*; NONE: no GSO extra */
        uint16_t gso_size;
        uint8_t mcast_type;  /* XEN_NETIF_EXTRA_TYPE_MCAST_ADD/DEL or 0 */
        uint8_t mcast_addr[6];
};

/* Writes the slots into out[] (at most max) and their count to *nslots.
 * Slot 1 carries the total length and the checksum flags, extras follow it,
 * every data slot but the last has more_data. -EINVAL for a frame the
 * protocol cannot describe (fragment past its page, lengths not adding up,
 * GSO without size), -EMSGSIZE above 64 KiB, -ENOSPC if max is too small. */
int nf_tx_build_slots(const struct nf_tx_meta *m, const struct nf_tx_frag *frags,
                      uint32_t nfrags, union nf_tx_slot *out, uint32_t max, uint32_t *nslots);

/* Splits a frame of len bytes into data-slot lengths: the first slot takes
 * head (0: as much as fits), then full pages. With sg false the frame must fit
 * one page. -EMSGSIZE when it cannot; -ENOSPC above max slots. */
int nf_tx_layout(uint32_t len, bool sg, uint32_t head, uint16_t *lens, uint32_t max, uint32_t *n);

#endif
