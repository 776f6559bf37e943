/* The vbd device class (blkback) as the device manager sees it, and the
 * state one vbd keeps between the class callbacks. Shared by bb_vbd.c (the
 * xenbus side) and bb_resize.c (online resize). */
#ifndef PVBACK_BB_VBD_H
#define PVBACK_BB_VBD_H

#include <stdbool.h>
#include <stdint.h>

#include "be_dev.h"
#include "blkback/bb_backing.h"
#include "blkback/bb_fe.h"
#include "blkback/bb_queue.h"

extern const struct be_class bb_class;

struct bb_dyncap;

struct bb_vbd {
        struct be_dev *dev;
        /* From the toolstack's keys at probe. */
        bool readonly, cdrom, removable, discard_enable, direct_io_safe;
        /* The backing store, once the hotplug script is done. */
        bool opened;
        struct bb_backing backing;
        /* The frontend, once connected. */
        bool connected;
        struct bb_fe_info fe;
        struct bb_vbd_limits lim;
        struct bb_queue *queues[BB_FE_MAX_QUEUES];
        struct worker *workers[BB_FE_MAX_QUEUES];
        unsigned nr_queues;
        /* bb_resize's list; guarded by its lock. */
        struct bb_vbd *resize_next;
        bool resize_listed;
        /* The dynamic capability exchange (bb_dyncap.c); NULL when not
         * offered. */
        struct bb_dyncap *dyncap;
};

/* Online resize (bb_resize.c): a connected vbd's backing store is checked
 * every bb_cfg.resize_poll_ms; a new size is given to its queues and
 * published as `sectors`, with `state` rewritten so the frontend looks
 * (Linux xen_vbd_resize). */
void bb_resize_add(struct bb_vbd *v);
/* After this returns the monitor no longer touches v. */
void bb_resize_del(struct bb_vbd *v);

/* The class's dump hook (bb_dump.c): what pvback-inspect shows of a vbd. */
int bb_dump(struct be_dev *dev, struct json_object *obj);
/* The class's dump_class hook (bb_dump.c): how vbds are served. */
int bb_dump_class(struct devmgr *mgr, struct json_object *obj);

#endif
