/* A vbd as the control socket shows it: what the frontend negotiated, the
 * backing store, and each queue's counters. Runs on the control thread,
 * which alone connects, disconnects and frees a vbd and its queues, so
 * nothing read here goes away meanwhile; the counters come from each
 * queue's worker (bb_queue_get_stats), one consistent copy per queue. */
#include <stdio.h>

#include "blkback/bb_config.h"
#include "blkback/bb_dyncap.h"
#include "blkback/bb_vbd.h"
#include "ctl_json.h"
#include "worker.h"

/* Every counter of struct bb_queue_stats, under its field's name. */
static int add_stats(struct json_object *obj, const struct bb_queue_stats *st)
{
        _Static_assert(sizeof(struct bb_queue_stats) == 12 * sizeof(uint64_t) + 16,
                       "struct bb_queue_stats changed: show the new counter here");
        int rc = ctl_json_str(obj, "engine", st->engine);
        rc = rc ?: ctl_json_u64(obj, "requests", st->requests);
        rc = rc ?: ctl_json_u64(obj, "errors", st->errors);
        rc = rc ?: ctl_json_u64(obj, "segments", st->segments);
        rc = rc ?: ctl_json_u64(obj, "copy_calls", st->copy_calls);
        rc = rc ?: ctl_json_u64(obj, "copy_segs", st->copy_segs);
        rc = rc ?: ctl_json_u64(obj, "maps", st->maps);
        rc = rc ?: ctl_json_u64(obj, "unmaps", st->unmaps);
        rc = rc ?: ctl_json_u64(obj, "pgrant_hits", st->pgrant_hits);
        rc = rc ?: ctl_json_u64(obj, "pgrant_misses", st->pgrant_misses);
        rc = rc ?: ctl_json_u64(obj, "notifies", st->notifies);
        rc = rc ?: ctl_json_u64(obj, "io_submits", st->io_submits);
        return rc ?: ctl_json_u64(obj, "io_ops", st->io_ops);
}

/* One consistent look from the queue's worker. */
static int add_occupancy(struct json_object *obj, struct bb_queue *q)
{
        struct bb_queue_occupancy o;
        struct json_object *r = ctl_json_child(obj, "ring");
        if (!r)
                return -ENOMEM;
        bb_queue_get_occupancy(q, &o);
        int rc = ctl_json_u64(r, "size", o.ring_size);
        /* A guest's req_prod out of range: no figure, and why. */
        if (o.ring_bogus)
                rc = rc ?: ctl_json_null(r, "pending") ?: ctl_json_bool(r, "bogus", true);
        else
                rc = rc ?: ctl_json_u64(r, "pending", o.ring_pending);
        rc = rc ?: ctl_json_u64(r, "inflight", o.inflight);
        return rc ?: ctl_json_u64(r, "io_inflight", o.io_inflight);
}

static int add_queues(struct json_object *obj, const struct bb_vbd *v)
{
        struct json_object *arr = json_object_new_array();
        int rc = ctl_json_add(obj, "queues", arr);
        for (unsigned i = 0; rc == 0 && i < v->nr_queues; i++) {
                struct json_object *q = ctl_json_append(arr), *st = NULL;
                struct bb_queue_stats s;
                if (!q)
                        return -ENOMEM;
                bb_queue_get_stats(v->queues[i], &s);
                s.engine[sizeof(s.engine) - 1] = '\0';
                rc = ctl_json_u64(q, "index", i);
                rc = rc ?: ctl_json_u64(q, "worker", worker_index(v->workers[i]));
                if (rc == 0 && !(st = ctl_json_child(q, "stats")))
                        rc = -ENOMEM;
                rc = rc ?: add_stats(st, &s);
                rc = rc ?: add_occupancy(q, v->queues[i]);
        }
        return rc;
}

static int add_negotiated(struct json_object *obj, const struct bb_vbd *v)
{
        struct json_object *n = ctl_json_child(obj, "negotiated");
        if (!n)
                return -ENOMEM;
        int rc = ctl_json_str(n, "abi", bb_abi_name(v->fe.abi));
        rc = rc ?: ctl_json_u64(n, "queues", v->fe.nr_queues);
        rc = rc ?: ctl_json_u64(n, "backend_max_queues", bb_config_max_queues());
        rc = rc ?: ctl_json_u64(n, "ring_order", v->fe.ring_order);
        rc = rc ?: ctl_json_u64(n, "ring_pages", 1u << v->fe.ring_order);
        rc = rc ?: ctl_json_bool(n, "persistent_grants", v->fe.persistent);
        rc = rc ?: ctl_json_bool(n, "large_sector", v->fe.large_sector);
        /* What we advertise; a frontend never says how many it uses. */
        return rc ?: ctl_json_u64(n, "max_indirect_segments", bb_cfg.max_indirect_segs);
}

static int add_backing(struct json_object *obj, const struct bb_vbd *v)
{
        const struct bb_backing *b = &v->backing;
        struct json_object *o = ctl_json_child(obj, "backing");
        if (!o)
                return -ENOMEM;
        /* bytes may move under an online resize (its own thread): one
         * whole 64-bit load. */
        uint64_t bytes = __atomic_load_n(&b->bytes, __ATOMIC_RELAXED);
        int rc = ctl_json_str(o, "path", b->path);
        rc = rc ?: ctl_json_str(o, "type", b->blkdev ? "block device" : "file");
        rc = rc ?: ctl_json_u64(o, "bytes", bytes);
        rc = rc ?: ctl_json_u64(o, "sectors", bytes >> BB_SECTOR_SHIFT);
        rc = rc ?: ctl_json_u64(o, "sector_size", 1u << BB_SECTOR_SHIFT);
        rc = rc ?: ctl_json_u64(o, "physical_sector_size", b->physical);
        rc = rc ?: ctl_json_bool(o, "read_only", v->readonly);
        rc = rc ?: ctl_json_bool(o, "direct", b->direct);
        /* Offered to the frontend only when the store can, the toolstack
         * allows it and the disk is writable (compute_limits). */
        return rc ?: ctl_json_bool(o, "discard", b->discard && v->discard_enable && !v->readonly);
}

int bb_dump(struct be_dev *dev, struct json_object *obj)
{
        const struct bb_vbd *v = dev->priv;
        int rc;
        if (!v)
                return 0;
        rc = ctl_json_bool(obj, "connected", v->connected);
        rc = rc ?: (v->connected ? add_negotiated(obj, v) : ctl_json_null(obj, "negotiated"));
        rc = rc ?: (v->opened ? add_backing(obj, v) : ctl_json_null(obj, "backing"));
        rc = rc ?: bb_dyncap_dump(v, obj);
        return rc ?: add_queues(obj, v);
}

int bb_dump_class(struct devmgr *mgr, struct json_object *obj)
{
        static const char *const engines[] = {
            [BB_ENGINE_AUTO] = "io_uring (threads where io_uring is missing)",
            [BB_ENGINE_URING] = "io_uring",
            [BB_ENGINE_THREADS] = "threads",
        };
        unsigned e = (unsigned)bb_cfg.engine;
        char text[160];
        (void)mgr;
        /* What a frontend is offered (-o vbd.feature-persistent, vbd.engine). */
        snprintf(text, sizeof(text), "paravirtual, %sgrant copy, %s",
                 bb_cfg.persistent ? "persistent grants + " : "",
                 e < sizeof(engines) / sizeof(engines[0]) && engines[e] ? engines[e] : "?");
        return ctl_json_str(obj, "virtualization", text);
}
