/* A backend device as the device manager sees it, and the operations each
 * device class (vif, vbd) provides. The manager owns the xenbus handshake
 * (InitWait, hotplug-status, Connected, Closing/Closed, reconnect, removal);
 * a class owns what is specific to its protocol. Class callbacks run on the
 * control thread, which owns xenstore and device lifecycle. */
#ifndef PVBACK_BE_DEV_H
#define PVBACK_BE_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "xh.h"
#include <xen/io/xenbus.h>

struct devmgr;
struct worker_pool;
struct json_object;

/* Where a device is in its life; the xenbus states it writes follow from it. */
enum be_phase {
        BE_PHASE_NEW,         /* seen, not probed (online or state not yet 1) */
        BE_PHASE_INITWAIT,    /* probed, state=InitWait, waiting for the frontend */
        BE_PHASE_CONNECTING,  /* class connected; waiting for hotplug-status */
        BE_PHASE_CONNECTED,   /* state=Connected */
        BE_PHASE_CLOSING,     /* state=Closing */
        BE_PHASE_CLOSED,      /* state=Closed; may reconnect or be removed */
        BE_PHASE_FAILED,      /* probe failed: error node written, state=Closing */
};

struct be_dev {
        const struct be_class *cls;
        struct devmgr *mgr;
        struct xs_handle *xs; /* the control thread's handle */
        const struct xh_provider *hv;
        struct worker_pool *workers;
        uint16_t self;   /* backend domain */
        uint16_t fedom;  /* frontend domain */
        uint32_t devid;
        char name[40];   /* log context: "vif5.0", "vbd5.51712" */
        char be_path[128];
        char fe_path[128];
        enum be_phase phase;
        int be_state;    /* enum xenbus_state we last wrote */
        int fe_state;    /* enum xenbus_state last read from the frontend */
        bool online;     /* BE/online as last read */
        bool disabled;   /* the guest broke the protocol; see the error node */
        char error[256]; /* what the error node says, "" when none */
        void *priv;      /* the class's state */
};

struct be_class {
        const char *kind; /* "vif", "vbd": the directory under backend/ */
        /* `pvbackd -o <kind>.<key>=<value>`: 0, or -EINVAL/-ERANGE with a
         * message logged. Called before any device exists; may be NULL. */
        int (*configure)(const char *key, const char *value);
        /* One line per option for --help ("  vif.max-queues=N  ..."). */
        const char *options_help;
        /* netback connects on frontend Connected only; blkback also on
         * Initialised (xen-blkback frontend_changed). */
        bool connect_on_initialised;
        /* Before InitWait: allocate priv, publish features, create what the
         * hotplug script needs (the vif's netdev). Failing leaves the device
         * FAILED with the reason in the error node. */
        int (*probe)(struct be_dev *dev);
        /* Whether the backend side is complete (e.g. hotplug-status ==
         * "connected"; for vbd the device opened). Checked before Connected. */
        bool (*backend_ready)(struct be_dev *dev);
        /* Frontend is ready: read and validate its keys, map rings, bind
         * event channels, start queues on the workers. Must undo itself on
         * failure. */
        int (*connect)(struct be_dev *dev);
        /* The frontend went Reconfiguring (Linux netfront does to change
         * xdp-headroom on a live device): re-read what may change; on 0 the
         * manager answers Reconfigured and returns to Connected with the
         * frontend (netback frontend_changed). NULL: not supported, ignored. */
        int (*reconfigure)(struct be_dev *dev);
        /* Keys written in the same transaction as state=Connected (blkback's
         * sectors/info/...); may be NULL. */
        int (*publish_connected)(struct be_dev *dev, xs_transaction_t t);
        /* Stop queues, unmap, unbind; the device (and its netdev) stays. */
        void (*disconnect)(struct be_dev *dev);
        /* Free everything probe made. Called once, after disconnect. */
        void (*remove)(struct be_dev *dev);
        /* A key directly under the backend directory changed ("rate",
         * "physical-device", ...; never "state") while the device exists.
         * Watches fire spuriously too: re-read and compare. May be NULL. */
        void (*backend_changed)(struct be_dev *dev, const char *key);
        /* A key under the frontend directory other than "state" changed
         * ("request-multicast-control", "queue-0/..." relative to the
         * frontend directory). May be NULL. */
        void (*frontend_changed)(struct be_dev *dev, const char *key);
        /* The control socket's `show`: adds the class's members (what the
         * frontend negotiated, per-queue counters, ...) to the device's
         * JSON object. Called between probe and remove only, on the control
         * thread, so nothing of the device is freed meanwhile; counters a
         * worker writes may be read as they are (each aligned 64-bit value
         * whole, no consistent snapshot). 0 or -ENOMEM. May be NULL. */
        int (*dump)(struct be_dev *dev, struct json_object *obj);
        /* The control socket's `show`, daemon part: adds to the class's
         * facility object how it virtualizes ("virtualization", a phrase)
         * and what its devices share (netback's "uplinks"). Control thread,
         * like dump. 0 or -ENOMEM. May be NULL. */
        int (*dump_class)(struct devmgr *mgr, struct json_object *obj);
        /* The control socket's `set TARGET KEY VALUE`: a runtime setting (QoS,
         * coalescing, ...). With dev, TARGET named one of this class's
         * devices (probed, so priv is the class's); with dev NULL, TARGET is
         * something else the class may own: its kind ("vif") for class-wide
         * settings, or a shared resource ("uplink:xenbr0"). Control thread.
         * 0 when applied; -ENODEV: TARGET is not the class's (dev NULL only,
         * the next class is asked); -ENOENT: no such key; -EINVAL/-ERANGE: a
         * bad value; -EBUSY: not now. Every error fills err with a sentence
         * that says what is accepted. May be NULL: nothing to set. */
        int (*set)(struct be_dev *dev, const char *target, const char *key, const char *value,
                   char *err, size_t errlen);
};

/* Fatal device error found on the control thread (bad frontend keys, a map
 * that failed; classes may call it from probe and connect): logs, writes the error node as xenbus_dev_fatal does
 * ("error/backend/<kind>/<fedom>/<devid>/error" in our domain) and moves the
 * device to Closing. */
void be_dev_fatal(struct be_dev *dev, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* From any thread (a worker that caught a protocol violation): the device is
 * marked disabled and the control thread writes the reason to the error node
 * and calls the class's disconnect. The guest loses this device only. */
void be_dev_report_guest_error(struct be_dev *dev, const char *reason);

struct ev_loop;
/* The control thread's event loop, for a class that needs its own fds
 * watched there (netback's rtnetlink listener). Valid from probe to remove;
 * callbacks run on the control thread like every class callback. */
struct ev_loop *be_dev_loop(const struct be_dev *dev);

/* Registers a class with the manager (before devmgr_run). */
int devmgr_register_class(struct devmgr *mgr, const struct be_class *cls);

#endif
