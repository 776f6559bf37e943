/* Tunables of the vbd class (`pvbackd -o vbd.KEY=VALUE`), defaults as the
 * Linux xen-blkback module parameters. Set before any device exists. */
#ifndef PVBACK_BB_CONFIG_H
#define PVBACK_BB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "blkback/bb_engine.h"

enum bb_direct_io {
        BB_DIO_AUTO,   /* O_DIRECT when the toolstack wrote direct-io-safe=1 */
        BB_DIO_ALWAYS,
        BB_DIO_NEVER,
};

struct bb_config {
        unsigned max_queues;         /* multi-queue-max-queues; 0 = online CPUs */
        unsigned max_ring_order;     /* max-ring-page-order, <= BB_MAX_RING_ORDER */
        unsigned max_indirect_segs;  /* feature-max-indirect-segments; 0 = off */
        bool persistent;             /* offer feature-persistent */
        uint32_t max_pgrants;        /* per queue */
        uint32_t pgrant_idle_s;
        uint32_t max_buffer_pages;   /* bounce pages kept per queue */
        enum bb_engine_kind engine;
        enum bb_direct_io direct_io;
        uint32_t resize_poll_ms;     /* 0 = no online-resize polling */
};

extern struct bb_config bb_cfg;
extern const char bb_options_help[];

int bb_configure(const char *key, const char *value);
/* max_queues resolved (CPUs when 0). */
unsigned bb_config_max_queues(void);

#endif
