/* Guest RX offload glue: the guest's negotiated features as capabilities, an
 * uplink frame as the input of off_decide(), and the packets the software
 * paths (segmenter, LRO) produce as what nb_rx_plan takes. Pure: no I/O, no
 * queue state; nb_rx.c does the work, the ordering and the counting. */
#ifndef PVBACK_NB_RX_OFF_H
#define PVBACK_NB_RX_OFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netback/nb_fe_parse.h"
#include "netback/nb_rx_plan.h"
#include "offload/off_caps.h"
#include "offload/off_gso.h"
#include "offload/off_lro.h"
#include "uplink/uplink.h"

/* Segments made in one turn: a GSO frame is segmented in turns, each
 * planned into the guest before the next is made in the same scratch, so
 * the scratch does not grow as the MSS floor falls (a 64 KiB frame at
 * OFF_GSO_MSS_MIN is 8192 segments). 128: a 64 KiB frame at an MSS of 512
 * or more is one turn, and a turn is two grant-copy batches. */
#define NB_RX_GSO_SEGS_MAX 128u
/* Scratch a turn is built in (OFF_GSO_COPY): a whole frame's payload plus
 * NB_RX_GSO_SEGS_MAX headers of up to 256 bytes (Ethernet + VLAN, IPv4 and
 * TCP with full options take 138); larger headers make shorter turns. Any
 * one segment fits: it is no larger than the frame. */
#define NB_RX_GSO_MEM (UPLINK_MAX_FRAME + NB_RX_GSO_SEGS_MAX * 256u)

/* What a guest can finish itself (enum off_cap), from what it negotiated. */
unsigned nb_rx_guest_caps(const struct nb_fe_cfg *cfg);

/* The decision's view of a frame from the uplink; @nr_bufs is the data
 * slots it needs in the guest (nb_rx_data_slots_needed). */
void nb_rx_off_meta(const struct uplink_meta *um, const uint8_t *frame, uint32_t len,
                    uint32_t nr_bufs, struct off_meta *m);

/* Checks that the GSO frame can be segmented here (TCP over the IP version
 * its GSO kind names, an MSS at or above the segmenter's floor) and fills
 * @pi for nb_rx_segment. 0, -EINVAL or -ERANGE. */
int nb_rx_segment_check(const uint8_t *frame, uint32_t len, const struct uplink_meta *um,
                        struct off_pkt_info *pi);

/* One turn: segments the frame from segment @first on into @go
 * (OFF_GSO_COPY: each segment is one contiguous frame in go->mem), as many
 * as @go and @max take, and writes one guest packet per segment into @out:
 * @tmpl (hash, headroom) with the segment's bytes, no GSO and
 * data_validated, as every segment carries its full checksum. Returns the
 * segment count (the next turn starts at @first plus it, until
 * off_gso_seg_count()) or a negative errno (off_gso_segment_from's). */
int nb_rx_segment(const uint8_t *frame, uint32_t len, const struct off_pkt_info *pi, uint16_t mss,
                  uint32_t first, struct off_gso_out *go, const struct nb_rx_pkt *tmpl,
                  struct nb_rx_pkt *out, uint32_t max);

/* Whether LRO may hold the frame: TCP (or an IPv6 extension header LRO
 * walks) over a family the guest takes GSO for, by @caps. Anything else
 * cannot belong to a held flow and skips it. */
bool nb_rx_lro_candidate(const uint8_t *frame, uint32_t len, unsigned caps);
/* off_lro_add's @rx (enum off_lro_rx) for a frame with this metadata. */
uint32_t nb_rx_lro_rx(const struct uplink_meta *um);
/* The guest packet for an LRO output that is not the caller's own frame:
 * a merged packet is a GSO packet, its checksum state maps as Linux netback
 * maps ip_summed (PARTIAL: csum_blank|data_validated; verified:
 * data_validated). Hash and headroom are the caller's. */
void nb_rx_pkt_from_lro(const struct off_lro_pkt *p, struct nb_rx_pkt *r);

/* LRO and L3 (README "Coalescing"): whether the flows LRO holds at the end
 * of a pass may stay open into later passes. Only while L3 holds the RX
 * notification: what they hold could not be announced before the hold ends
 * anyway, and later segments of the flow still merge into them. */
struct nb_rx_lro_hold {
        bool l3_holding;       /* L3 holds the queue's RX notification */
        uint64_t l3_deadline;  /* when that hold ends at the latest (0: none) */
        uint64_t lro_deadline; /* when LRO's oldest held packet is max_age old */
        uint64_t now;
};
/* What to do with the held flows now: OFF_LRO_R_NONE keep them open,
 * OFF_LRO_R_BATCH flush all (no hold: end of pass as ever), OFF_LRO_R_AGE
 * flush the expired (then ask again), OFF_LRO_R_HOLD_END flush all (the
 * hold ends now). Never keeps a packet at or past either deadline. */
enum off_lro_reason nb_rx_lro_pass_end(const struct nb_rx_lro_hold *h);
/* When flows kept open must be looked at again: the earlier deadline
 * (0 when nb_rx_lro_pass_end would not keep them). */
uint64_t nb_rx_lro_wake_at(const struct nb_rx_lro_hold *h);

/* "rx offload gso_pass N ...; lro frames N ..." for the queue's counters line. */
void nb_rx_off_format(const struct off_path_stats *o, const struct off_lro_stats *l, char *buf,
                      size_t len);

#endif
