/* What a blkfront wrote into its xenstore directory, read and checked the
 * way Linux xen-blkback connect_ring / read_per_ring_refs does. Reads only;
 * mapping and binding are bb_queue's. */
#ifndef PVBACK_BB_FE_H
#define PVBACK_BB_FE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenstore.h>

#include "blkback/bb_abi.h"

#define BB_FE_MAX_QUEUES 64u

struct bb_fe_ring {
        unsigned nr_pages;
        uint32_t refs[BB_MAX_RING_PAGES];
        uint32_t evtchn;
};

struct bb_fe_info {
        enum bb_abi abi;
        unsigned nr_queues;
        unsigned ring_order;
        bool persistent;    /* the frontend asked for it */
        bool large_sector;  /* feature-large-sector-size */
        struct bb_fe_ring q[BB_FE_MAX_QUEUES];
};

/* -EINVAL/-ENOENT/-ERANGE with a sentence for the error node in err. */
int bb_fe_read(struct xs_handle *xs, const char *fe_path, unsigned max_queues, unsigned max_order,
               struct bb_fe_info *fe, char *err, size_t errlen);

#endif
