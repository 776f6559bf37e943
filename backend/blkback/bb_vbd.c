/* The vbd class: the blkback side of the xenbus handshake (Linux
 * xen-blkback xenbus.c). Probe advertises the transport features before
 * InitWait; the backing store is opened once the hotplug script is done
 * (physical-device from the stock block script, or hotplug-status from
 * block-pvback); connect maps the frontend's rings onto workers; the device
 * properties go out in the transaction that writes Connected. */
#include "blkback/bb_vbd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkback/bb_config.h"
#include "blkback/bb_dyncap.h"
#include "log.h"
#include "worker.h"
#include "xb.h"

static struct bb_vbd *vbd_of(struct be_dev *dev)
{
        return dev->priv;
}

static int write_probe_keys(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        struct be_dev *dev = arg;
        int rc = 0;
        /* xen_blkbk_probe: indirect segments, queues and ring order are
         * transport features the frontend needs before it sets up rings. */
        if (bb_cfg.max_indirect_segs)
                rc = xb_printf(xs, t, dev->be_path, "feature-max-indirect-segments", "%u",
                               bb_cfg.max_indirect_segs);
        if (rc == 0)
                rc = xb_printf(xs, t, dev->be_path, "multi-queue-max-queues", "%u",
                               bb_config_max_queues());
        if (rc == 0)
                rc = xb_printf(xs, t, dev->be_path, "max-ring-page-order", "%u",
                               bb_cfg.max_ring_order);
        return rc;
}

static int bb_probe(struct be_dev *dev)
{
        struct bb_vbd *v = calloc(1, sizeof(*v));
        char *s = NULL;
        int rc;

        if (!v)
                return -ENOMEM;
        v->dev = dev;
        v->backing.fd = -1;
        /* Linux: read-only unless mode contains 'w'. */
        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "mode", &s) == 0) {
                v->readonly = !strchr(s, 'w');
                free(s);
        } else {
                v->readonly = true;
        }
        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "device-type", &s) == 0) {
                v->cdrom = !strcmp(s, "cdrom");
                free(s);
        }
        if (xb_read_bool_default(dev->xs, XBT_NULL, dev->be_path, "removable", false,
                                 &v->removable) < 0)
                v->removable = false;
        if (xb_read_bool_default(dev->xs, XBT_NULL, dev->be_path, "discard-enable", true,
                                 &v->discard_enable) < 0)
                v->discard_enable = true;
        if (xb_read_bool_default(dev->xs, XBT_NULL, dev->be_path, "direct-io-safe", false,
                                 &v->direct_io_safe) < 0)
                v->direct_io_safe = false;
        dev->priv = v;
        rc = xb_transact(dev->xs, write_probe_keys, dev);
        if (rc < 0) {
                dev->priv = NULL;
                free(v);
                return rc;
        }
        bb_dyncap_init(v);
        return 0;
}

/* Whether the hotplug script reported success (hotplug-status connected). */
static bool hotplug_connected(struct be_dev *dev)
{
        char *hs = NULL;
        bool ok;
        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "hotplug-status", &hs) < 0)
                return false;
        ok = !strcmp(hs, "connected");
        free(hs);
        return ok;
}

/* Which node to open: the block device the stock script set up
 * (physical-device, hex maj:min, Linux backend_changed), or params itself
 * once a script that sets up nothing (block-pvback) reported success. */
static int backing_path(struct be_dev *dev, char *path, size_t len)
{
        char *pd = NULL, *hint = NULL;
        unsigned maj, min;
        int rc;

        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "physical-device", &pd) == 0) {
                rc = bb_majmin_parse(pd, &maj, &min);
                if (rc < 0) {
                        be_dev_fatal(dev, rc, "physical-device %s is not maj:min", pd);
                        free(pd);
                        return rc;
                }
                free(pd);
                xb_read_str(dev->xs, XBT_NULL, dev->be_path, "physical-device-path", &hint);
                rc = bb_majmin_path(maj, min, hint, path, len);
                free(hint);
                /* The stock block script writes physical-device, then
                 * physical-device-path, then hotplug-status: Linux opens by
                 * maj:min at once, but we need a node, and without udev's
                 * /dev/block links only the path names one. Until the script
                 * is done, a node that is not there yet means "wait". */
                if (rc == 0 && access(path, F_OK) < 0 && !hotplug_connected(dev))
                        return -EAGAIN;
                return rc;
        }
        if (!hotplug_connected(dev))
                return -EAGAIN;
        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "params", &pd) < 0)
                return -ENOENT;
        rc = (size_t)snprintf(path, len, "%s", pd) >= len ? -ENAMETOOLONG : 0;
        free(pd);
        return rc;
}

static void compute_limits(struct bb_vbd *v)
{
        const struct bb_backing *b = &v->backing;
        struct bb_vbd_limits *l = &v->lim;
        l->sectors = b->bytes >> BB_SECTOR_SHIFT;
        /* Always 512: blkif.h says that with feature-large-sector-size every
         * sector quantity of a request is in sector-size units, and the
         * request path here works in 512-byte units. 512 is valid for every
         * frontend; the device's own block size goes out as
         * physical-sector-size, which tells frontends how to align. */
        l->sector_size = 512;
        l->max_indirect_segs = bb_cfg.max_indirect_segs;
        l->readonly = v->readonly;
        l->flush = true;
        l->discard = v->discard_enable && b->discard && !v->readonly;
        l->discard_secure = l->discard && b->discard_secure;
}

static void give_backing_to_queues(struct bb_vbd *v)
{
        if (!v->opened || !v->connected)
                return;
        compute_limits(v);
        for (unsigned i = 0; i < v->nr_queues; i++)
                bb_queue_set_backing(v->queues[i], &v->lim, v->backing.fd, v->backing.blkdev);
        /* Connected with the store open: what the capabilities describe. */
        bb_dyncap_changed(v);
}

static bool try_open(struct be_dev *dev)
{
        struct bb_vbd *v = vbd_of(dev);
        char path[PATH_MAX];
        bool direct;
        int rc;

        if (!v || v->opened)
                return v && v->opened;
        rc = backing_path(dev, path, sizeof(path));
        if (rc == -EAGAIN)
                return false;
        if (rc < 0) {
                if (dev->phase != BE_PHASE_CLOSING)
                        be_dev_fatal(dev, rc, "finding the backing store");
                return false;
        }
        direct = bb_cfg.direct_io == BB_DIO_ALWAYS ||
                 (bb_cfg.direct_io == BB_DIO_AUTO && v->direct_io_safe);
        rc = bb_backing_open(path, v->readonly, direct, &v->backing);
        if (rc < 0) {
                be_dev_fatal(dev, rc, "opening %s", path);
                return false;
        }
        v->opened = true;
        pv_info(dev->name, "%s %s: %llu bytes, %s%s%s", v->backing.blkdev ? "block device" : "file",
                path, (unsigned long long)v->backing.bytes, v->readonly ? "read-only" : "read-write",
                v->backing.direct ? ", O_DIRECT" : "",
                v->backing.discard ? ", discard" : "");
        give_backing_to_queues(v);
        return true;
}

static bool bb_backend_ready(struct be_dev *dev)
{
        return try_open(dev);
}

static void bb_backend_changed(struct be_dev *dev, const char *key)
{
        if (!strcmp(key, "physical-device") || !strcmp(key, "hotplug-status"))
                try_open(dev);
}

/* The frontend's keys of the dynamic capability exchange; the others are
 * read once, at connect. */
static void bb_frontend_changed(struct be_dev *dev, const char *key)
{
        struct bb_vbd *v = vbd_of(dev);
        if (v)
                bb_dyncap_frontend_key(v, key);
}

static void stop_queues(struct bb_vbd *v)
{
        for (unsigned i = v->nr_queues; i-- > 0;) {
                bb_queue_stop(v->queues[i]);
                worker_unload(v->workers[i], 1);
                v->queues[i] = NULL;
        }
        v->nr_queues = 0;
}

static int bb_connect(struct be_dev *dev)
{
        struct bb_vbd *v = vbd_of(dev);
        char err[256] = "";
        int rc;

        rc = bb_fe_read(dev->xs, dev->fe_path, bb_config_max_queues(), bb_cfg.max_ring_order,
                        &v->fe, err, sizeof(err));
        if (rc < 0) {
                be_dev_fatal(dev, rc, "%s", err);
                return rc;
        }
        v->fe.persistent = v->fe.persistent && bb_cfg.persistent;
        for (unsigned i = 0; i < v->fe.nr_queues; i++) {
                struct bb_queue_config qc = {
                    .dev = dev,
                    .index = i,
                    .fedom = dev->fedom,
                    .abi = v->fe.abi,
                    .nr_ring_pages = v->fe.q[i].nr_pages,
                    .evtchn = v->fe.q[i].evtchn,
                    .persistent = v->fe.persistent,
                    .max_pgrants = bb_cfg.max_pgrants,
                    .pgrant_idle_ms = bb_cfg.pgrant_idle_s * 1000u,
                    .max_buffer_pages = bb_cfg.max_buffer_pages,
                    .engine = bb_cfg.engine,
                };
                memcpy(qc.ring_refs, v->fe.q[i].refs, sizeof(qc.ring_refs));
                struct worker *w = worker_pool_pick(dev->workers, 1);
                rc = bb_queue_start(&qc, w, &v->queues[i]);
                if (rc < 0) {
                        worker_unload(w, 1);
                        stop_queues(v);
                        be_dev_fatal(dev, rc, "mapping ring for queue %u", i);
                        return rc;
                }
                v->workers[i] = w;
                v->nr_queues = i + 1;
        }
        v->connected = true;
        pv_info(dev->name, "frontend: %s, %u queue(s), ring order %u, persistent grants %s",
                bb_abi_name(v->fe.abi), v->fe.nr_queues, v->fe.ring_order,
                v->fe.persistent ? "on" : "off");
        give_backing_to_queues(v);
        bb_resize_add(v);
        return 0;
}

/* xen-blkback connect(): everything the frontend reads once it sees
 * Connected, in the same transaction as the state. */
static int bb_publish_connected(struct be_dev *dev, xs_transaction_t t)
{
        struct bb_vbd *v = vbd_of(dev);
        const char *be = dev->be_path;
        uint32_t info = 0;
        int rc = 0;

        compute_limits(v);
        if (v->readonly)
                info |= VDISK_READONLY;
        if (v->cdrom)
                info |= VDISK_CDROM;
        if (v->removable)
                info |= VDISK_REMOVABLE;
#define W(key, ...)                                                                                \
        do {                                                                                       \
                if (rc == 0)                                                                       \
                        rc = xb_printf(dev->xs, t, be, key, __VA_ARGS__);                          \
        } while (0)
        /* Linux ties both to the device's write cache; fdatasync is always
         * meaningful for a file or block device, so both are offered. */
        W("feature-flush-cache", "%d", 1);
        W("feature-barrier", "%d", 1);
        if (v->lim.discard) {
                W("discard-granularity", "%u", v->backing.discard_granularity);
                W("discard-alignment", "%u", v->backing.discard_alignment);
                W("discard-secure", "%d", v->lim.discard_secure ? 1 : 0);
                W("feature-discard", "%d", 1);
        } else if (rc == 0) {
                rc = xb_rm(dev->xs, t, be, "feature-discard");
        }
        W("feature-persistent", "%d", v->fe.persistent ? 1 : 0);
        W("sectors", "%llu", (unsigned long long)v->lim.sectors);
        W("info", "%u", info);
        W("sector-size", "%u", v->lim.sector_size);
        W("physical-sector-size", "%u",
          v->backing.physical > v->lim.sector_size ? v->backing.physical : v->lim.sector_size);
#undef W
        return rc;
}

static void bb_disconnect(struct be_dev *dev)
{
        struct bb_vbd *v = vbd_of(dev);
        if (!v)
                return;
        bb_resize_del(v);
        /* Each queue answers its in-flight I/O before it unmaps. */
        stop_queues(v);
        v->connected = false;
        bb_dyncap_disconnected(v);
}

static void bb_remove(struct be_dev *dev)
{
        struct bb_vbd *v = vbd_of(dev);
        if (!v)
                return;
        bb_disconnect(dev);
        bb_dyncap_free(v);
        bb_backing_close(&v->backing);
        free(v);
        dev->priv = NULL;
}

const struct be_class bb_class = {
    .kind = "vbd",
    .dump_class = bb_dump_class,
    .configure = bb_configure,
    .options_help = bb_options_help,
    .connect_on_initialised = true,
    .probe = bb_probe,
    .backend_ready = bb_backend_ready,
    .connect = bb_connect,
    .publish_connected = bb_publish_connected,
    .disconnect = bb_disconnect,
    .remove = bb_remove,
    .backend_changed = bb_backend_changed,
    .frontend_changed = bb_frontend_changed,
    .dump = bb_dump,
};
