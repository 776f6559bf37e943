/* Implementation of bb_dyncap.h: the vbd's capability sections. Not the
 * publishing itself (dyncap_pub.c). */
#include "blkback/bb_dyncap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkback/bb_config.h"
#include "blkback/bb_vbd.h"
#include "dyncap.h"
#include "log.h"

struct bb_dyncap {
        struct dyncap dc;
        /* The engine queue 0 runs ("io_uring", "threads"), asked of its
         * worker before each build so the builders stay pure. */
        char engine[16];
};

static void build_queues(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct bb_vbd *v = dev;
        dyncap_add(out, sec, "max", "%u", bb_config_max_queues());
        dyncap_add(out, sec, "used", "%u", v->fe.nr_queues);
        dyncap_add(out, sec, "max-ring-page-order", "%u", bb_cfg.max_ring_order);
        dyncap_add(out, sec, "ring-page-order", "%u", v->fe.ring_order);
}

static void build_io(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct bb_vbd *v = dev;
        if (v->dyncap->engine[0])
                dyncap_add(out, sec, "engine", "%s", v->dyncap->engine);
        dyncap_add(out, sec, "direct", "%d", v->backing.direct ? 1 : 0);
        dyncap_add(out, sec, "indirect-segments", "%u", bb_cfg.max_indirect_segs);
        dyncap_add(out, sec, "persistent-grants", "%d", v->fe.persistent ? 1 : 0);
        dyncap_add(out, sec, "discard", "%d", v->lim.discard ? 1 : 0);
}

/* The vbd's sections, in publishing order. No coalesce/ (blkback notifies
 * every completion batch as the ring's event index asks: nothing to tune or
 * hint) and no qos/ (vbds have no QoS settings); vbd.schema says so. */
static const struct dyncap_section bb_sections[] = {
    {"queues", build_queues},
    {"io", build_io},
};

void bb_dyncap_init(struct bb_vbd *v)
{
        struct be_dev *dev = v->dev;
        struct bb_dyncap *d = calloc(1, sizeof(*d));
        if (!d) {
                pv_warn(dev->name, "no memory for the dynamic capabilities: not offered");
                return;
        }
        dyncap_init(&d->dc, dev->name, dev->be_path, dev->fe_path);
        if (dyncap_advertise(&d->dc, dev->xs) < 0) {
                free(d);
                return;
        }
        v->dyncap = d;
}

void bb_dyncap_free(struct bb_vbd *v)
{
        free(v->dyncap);
        v->dyncap = NULL;
}

void bb_dyncap_changed(struct bb_vbd *v)
{
        struct dyncap_set *set;
        if (!v->dyncap || !v->connected || !v->opened || v->nr_queues == 0)
                return;
        if (!(set = malloc(sizeof(*set)))) {
                pv_warn(v->dev->name, "no memory to build the capabilities");
                return;
        }
        struct bb_queue_stats st;
        bb_queue_get_stats(v->queues[0], &st);
        st.engine[sizeof(st.engine) - 1] = '\0';
        snprintf(v->dyncap->engine, sizeof(v->dyncap->engine), "%s", st.engine);
        dyncap_build(bb_sections, sizeof(bb_sections) / sizeof(bb_sections[0]), v, set);
        dyncap_publish(&v->dyncap->dc, v->dev->xs, set);
        free(set);
}

void bb_dyncap_disconnected(struct bb_vbd *v)
{
        if (v->dyncap)
                dyncap_withdraw(&v->dyncap->dc, v->dev->xs);
}

bool bb_dyncap_frontend_key(struct bb_vbd *v, const char *key)
{
        return v->dyncap && dyncap_frontend_key(&v->dyncap->dc, v->dev->xs, key);
}

int bb_dyncap_dump(const struct bb_vbd *v, struct json_object *obj)
{
        return v->dyncap ? dyncap_dump(&v->dyncap->dc, obj) : 0;
}
