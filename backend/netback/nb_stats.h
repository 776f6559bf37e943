/* Per-queue netback counters: what the inspection tool and the benchmarks
 * read. Written only by the queue's worker; readers on other threads see
 * each 64-bit counter whole (aligned loads), not a consistent snapshot. */
#ifndef PVBACK_NB_STATS_H
#define PVBACK_NB_STATS_H

#include <stdint.h>

#include "offload/off_caps.h"
#include "offload/off_lro.h"

struct nb_queue_stats {
        /* guest → uplink */
        uint64_t tx_packets, tx_bytes;
        uint64_t tx_gcopy_calls, tx_gcopy_segs;
        uint64_t tx_events;       /* event-channel wake-ups for TX */
        uint64_t tx_notify;       /* notifications sent after TX responses */
        uint64_t tx_drop_parse;   /* NB_TX_DROP verdicts (runt, too many slots, ...) */
        uint64_t tx_drop_offload; /* headers unusable for the csum/GSO metadata */
        uint64_t tx_drop_uplink;  /* the uplink refused the frame */
        uint64_t tx_mcast_ok, tx_mcast_err;
        uint64_t tx_credit_waits; /* times the rate limiter held the queue */
        /* uplink → guest */
        uint64_t rx_packets, rx_bytes;
        uint64_t rx_gcopy_calls, rx_gcopy_segs;
        uint64_t rx_events;
        uint64_t rx_notify;
        uint64_t rx_gcopy_errors; /* segments the guest's grant refused */
        uint64_t rx_drop_mcast;   /* group address not subscribed */
        uint64_t rx_drop_size;    /* larger than the guest can take (no SG) */
        uint64_t rx_drop_gso;     /* GSO frame nobody can finish (UDP/ECN kind, bad metadata) */
        uint64_t rx_drop_stall;   /* dropped after the drain timeout */
        uint64_t rx_stalls;       /* times the guest had no buffers posted */
        uint64_t rx_hashed;       /* frames given a HASH extra */
        uint64_t rx_steered;      /* handed to the queue the hash mapping names */
        uint64_t rx_steered_in;   /* taken from other queues for this one */
        uint64_t rx_drop_steer;   /* that queue's inbox was full */
        /* QoS early drop: frames read from the uplink beyond the vif's RX
         * allocation, dropped before any planning or grant copy */
        uint64_t rx_drop_qos, rx_drop_qos_bytes;
        /* offload paths (off_caps.h): guest → uplink and uplink → guest */
        struct off_path_stats tx_off;
        struct off_path_stats rx_off; /* per frame as read, before LRO */
        struct off_lro_stats lro;     /* LRO on guest RX (copied from the merger each pass) */
};

#endif
