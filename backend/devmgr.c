/* The device manager: device table, xenstore watches and the xenbus state
 * machine every backend class shares. It follows what libxl and the Linux
 * backends do (xenbus_probe_backend.c, netback/blkback frontend_changed):
 *   online=1, state=1    → probe, write features, state=InitWait
 *   frontend Connected   → (Initialised too for blkback) class connect; state
 *                          Connected once backend_ready (hotplug-status)
 *   frontend Closing     → disconnect, state=Closing
 *   frontend Closed      → disconnect, state=Closed; with online=0 remove
 *   frontend Initialising after Closed → InitWait again (reboot, kexec)
 *   backend dir removed, or the frontend domain released → destroy.
 * Every decision re-reads xenstore: watches fire spuriously and coalesce. */
#include "devmgr.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cpulist.h"
#include "evloop.h"
#include "log.h"
#include "pv_escape.h"
#include "worker.h"
#include "xb.h"

#define MAX_CLASSES   4
#define TOKEN_BACKEND "be"
#define TOKEN_FRONT   "fe"
#define TOKEN_RELEASE "rel"

struct mgr_dev {
        struct be_dev dev; /* first: be_dev pointers convert back */
        struct mgr_dev *next;
        uint64_t gen;
        bool probed;       /* class probe succeeded; remove() owed */
        bool connected;    /* class connect succeeded; disconnect() owed */
        bool watching;     /* frontend watch registered */
        bool reconfigured; /* answered Reconfigured; Connected again with the frontend */
};

struct guest_error {
        struct be_dev *dev;
        uint64_t gen;
        char reason[256];
        struct guest_error *next;
};

struct devmgr {
        struct xs_handle *xs;
        const struct xh_provider *hv;
        struct worker_pool *workers;
        struct ev_loop *loop;
        uint16_t self;
        char base[64]; /* /local/domain/<self>/backend */
        const struct be_class *classes[MAX_CLASSES];
        unsigned max_devices[MAX_CLASSES]; /* -o <kind>.max-devices */
        unsigned nr_classes;
        struct mgr_dev *devs;
        uint64_t next_gen;
        int mail_fd;
        pthread_mutex_t mail_lock;
        struct guest_error *mail;
};

static struct mgr_dev *md_of(struct be_dev *dev)
{
        return (struct mgr_dev *)dev;
}

/* ---- state writes ------------------------------------------------------- */

static void write_state(struct be_dev *dev, int state)
{
        int rc = xb_printf(dev->xs, XBT_NULL, dev->be_path, "state", "%d", state);
        if (rc < 0) {
                pv_err(dev->name, "cannot write state %s: %s", xb_state_name(state), strerror(-rc));
                return;
        }
        dev->be_state = state;
        pv_debug(dev->name, "backend state %s", xb_state_name(state));
}

/* xenbus_dev_error's node: error/<nodename>/error in our own domain, where
 * nodename is the backend path relative to it ("backend/vif/5/0"). */
static void write_error_node(struct be_dev *dev, int err, const char *msg)
{
        char dir[256];
        snprintf(dir, sizeof(dir), "/local/domain/%u/error/backend/%s/%u/%u", dev->self,
                 dev->cls->kind, dev->fedom, dev->devid);
        int rc = xb_printf(dev->xs, XBT_NULL, dir, "error", "%d %s", -err, msg);
        if (rc < 0)
                pv_warn(dev->name, "cannot write the error node: %s", strerror(-rc));
}

static void clear_error_node(struct be_dev *dev)
{
        char dir[256];
        snprintf(dir, sizeof(dir), "/local/domain/%u/error/backend/%s/%u/%u", dev->self,
                 dev->cls->kind, dev->fedom, dev->devid);
        xb_rm(dev->xs, XBT_NULL, dir, NULL);
}

void be_dev_fatal(struct be_dev *dev, int err, const char *fmt, ...)
{
        char raw[512], msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        /* Messages quote what a frontend wrote; the log, the error node the
         * toolstack shows and pvback-inspect get it with control bytes
         * escaped. */
        pv_escape(raw, msg, sizeof(msg));
        pv_err(dev->name, "%s: %s", msg, strerror(err < 0 ? -err : err));
        /* For pvback-inspect: the message cut to leave room for the errno
         * text (the log line above has it whole). */
        snprintf(dev->error, sizeof(dev->error), "%.200s: %s", msg, strerror(err < 0 ? -err : err));
        write_error_node(dev, err < 0 ? err : -err, msg);
        /* As xenbus_dev_fatal: Closing tells the frontend to give up too. */
        write_state(dev, XenbusStateClosing);
        dev->phase = BE_PHASE_CLOSING;
}

struct ev_loop *be_dev_loop(const struct be_dev *dev)
{
        return dev->mgr->loop;
}

/* ---- class calls -------------------------------------------------------- */

static void dev_disconnect(struct mgr_dev *md)
{
        if (md->connected) {
                md->dev.cls->disconnect(&md->dev);
                md->connected = false;
        }
}

static void dev_remove_class(struct mgr_dev *md)
{
        dev_disconnect(md);
        if (md->probed) {
                md->dev.cls->remove(&md->dev);
                md->probed = false;
        }
}

static unsigned class_slot(const struct devmgr *m, const struct be_class *cls)
{
        unsigned i = 0;
        while (i < m->nr_classes && m->classes[i] != cls)
                i++;
        return i;
}

/* Devices of cls that hold the class's resources (probed, not removed). */
static unsigned class_assigned(const struct devmgr *m, const struct be_class *cls)
{
        unsigned n = 0;
        for (const struct mgr_dev *md = m->devs; md; md = md->next)
                n += md->dev.cls == cls && md->probed;
        return n;
}

/* An operator's bound on what one daemon serves (netdevs, threads' rings,
 * memory): the device past it is refused like a failed probe, so the
 * toolstack and pvback-inspect see why in the error node. */
static int dev_check_limit(struct mgr_dev *md)
{
        struct be_dev *dev = &md->dev;
        struct devmgr *m = dev->mgr;
        unsigned max = m->max_devices[class_slot(m, dev->cls)];
        if (class_assigned(m, dev->cls) < max)
                return 0;
        be_dev_fatal(dev, -ENOSPC,
                     "pvbackd serves at most %u %s devices (-o %s.max-devices), all assigned", max,
                     dev->cls->kind, dev->cls->kind);
        return -ENOSPC;
}

static void dev_probe(struct mgr_dev *md)
{
        struct be_dev *dev = &md->dev;
        if (!md->probed) {
                if (dev_check_limit(md) < 0) {
                        dev->phase = BE_PHASE_FAILED;
                        return;
                }
                int rc = dev->cls->probe(dev);
                if (rc < 0) {
                        if (dev->phase != BE_PHASE_CLOSING)
                                be_dev_fatal(dev, rc, "setting up the device failed");
                        dev->phase = BE_PHASE_FAILED;
                        return;
                }
                md->probed = true;
        }
        dev->disabled = false;
        dev->error[0] = '\0';
        clear_error_node(dev);
        write_state(dev, XenbusStateInitWait);
        dev->phase = BE_PHASE_INITWAIT;
        pv_info(dev->name, "waiting for the frontend (InitWait)");
}

static void dev_connect(struct mgr_dev *md)
{
        struct be_dev *dev = &md->dev;
        int rc = dev->cls->connect(dev);
        if (rc < 0) {
                if (dev->phase != BE_PHASE_CLOSING)
                        be_dev_fatal(dev, rc, "connecting to the frontend failed");
                return;
        }
        md->connected = true;
        dev->phase = BE_PHASE_CONNECTING;
}

struct connected_txn {
        struct be_dev *dev;
};

static int publish_connected_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        struct be_dev *dev = ((struct connected_txn *)arg)->dev;
        if (dev->cls->publish_connected) {
                int rc = dev->cls->publish_connected(dev, t);
                if (rc < 0)
                        return rc;
        }
        return xb_printf(xs, t, dev->be_path, "state", "%d", XenbusStateConnected);
}

/* Connected only once the class says the backend side is complete: Linux
 * netback defers the state write until hotplug-status says "connected". */
static void dev_finish_connect(struct mgr_dev *md)
{
        struct be_dev *dev = &md->dev;
        if (dev->cls->backend_ready && !dev->cls->backend_ready(dev))
                return;
        struct connected_txn arg = {.dev = dev};
        int rc = xb_transact(dev->xs, publish_connected_txn, &arg);
        if (rc < 0) {
                be_dev_fatal(dev, rc, "publishing the connected state failed");
                return;
        }
        dev->phase = BE_PHASE_CONNECTED;
        dev->be_state = XenbusStateConnected;
        pv_info(dev->name, "connected");
}

static void dev_reconfigure(struct mgr_dev *md)
{
        struct be_dev *dev = &md->dev;
        if (dev->phase != BE_PHASE_CONNECTED || md->reconfigured || !dev->cls->reconfigure)
                return;
        int rc = dev->cls->reconfigure(dev);
        if (rc < 0) {
                if (dev->phase != BE_PHASE_CLOSING)
                        be_dev_fatal(dev, rc, "reconfiguring for the frontend failed");
                return;
        }
        md->reconfigured = true;
        write_state(dev, XenbusStateReconfigured);
}

static void dev_close(struct mgr_dev *md, int state)
{
        struct be_dev *dev = &md->dev;
        md->reconfigured = false;
        dev_disconnect(md);
        write_state(dev, state);
        dev->phase = state == XenbusStateClosed ? BE_PHASE_CLOSED : BE_PHASE_CLOSING;
}

/* ---- the state machine -------------------------------------------------- */

static bool frontend_domain_alive(struct devmgr *m, uint16_t domid)
{
        /* "F" is a definite no. A failed request (a driver domain may not be
         * allowed to ask) is not: assume alive and rely on the toolstack
         * removing the directories. */
        errno = 0;
        if (xs_is_domain_introduced(m->xs, domid))
                return true;
        return errno != 0 && errno != ENOENT && errno != ESRCH;
}

static void dev_follow_frontend(struct mgr_dev *md)
{
        struct be_dev *dev = &md->dev;
        int fe = xb_read_state(dev->xs, dev->fe_path);
        if (fe != dev->fe_state)
                pv_debug(dev->name, "frontend %s", xb_state_name(fe));
        dev->fe_state = fe;

        switch (fe) {
        case XenbusStateInitialising:
                if (dev->phase == BE_PHASE_CLOSED && dev->online) {
                        pv_info(dev->name, "frontend reinitialising: reconnecting");
                        dev_probe(md);
                }
                break;
        case XenbusStateInitialised:
                if (dev->cls->connect_on_initialised && dev->phase == BE_PHASE_INITWAIT)
                        dev_connect(md);
                break;
        case XenbusStateConnected:
                if (dev->phase == BE_PHASE_INITWAIT)
                        dev_connect(md);
                if (dev->phase == BE_PHASE_CONNECTED && md->reconfigured) {
                        md->reconfigured = false;
                        write_state(dev, XenbusStateConnected);
                }
                break;
        case XenbusStateReconfiguring:
                dev_reconfigure(md);
                break;
        case XenbusStateClosing:
                if (dev->phase == BE_PHASE_INITWAIT || dev->phase == BE_PHASE_CONNECTING ||
                    dev->phase == BE_PHASE_CONNECTED)
                        dev_close(md, XenbusStateClosing);
                break;
        case XenbusStateClosed:
        case XenbusStateUnknown:
                /* An unreadable frontend state is treated as Closed. */
                if (dev->phase != BE_PHASE_CLOSED && dev->phase != BE_PHASE_NEW)
                        dev_close(md, XenbusStateClosed);
                break;
        default:
                break;
        }
        if (dev->phase == BE_PHASE_CONNECTING)
                dev_finish_connect(md);
}

static void dev_free(struct devmgr *m, struct mgr_dev *md)
{
        dev_remove_class(md);
        if (md->watching)
                xs_unwatch(m->xs, md->dev.fe_path, TOKEN_FRONT);
        for (struct mgr_dev **pp = &m->devs; *pp; pp = &(*pp)->next) {
                if (*pp == md) {
                        *pp = md->next;
                        break;
                }
        }
        pv_info(md->dev.name, "removed");
        free(md);
}

static struct mgr_dev *dev_create(struct devmgr *m, const struct be_class *cls, uint16_t fedom,
                                  uint32_t devid);
static bool dev_reconcile(struct devmgr *m, struct mgr_dev *md);

/* Whether the toolstack removed this device and wrote it again at the same
 * path before we saw the removal (watches coalesce; a busy or slow daemon
 * reads only the end result). After creation only the backend writes its
 * state, except libxl's remove (Closing), so Initialising on a device we
 * already served means a new one. */
static bool dev_recreated(struct devmgr *m, const struct mgr_dev *md)
{
        return md->dev.phase != BE_PHASE_NEW &&
               xb_read_state(m->xs, md->dev.be_path) == XenbusStateInitialising;
}

/* Returns false if md was freed. */
static bool dev_reconcile(struct devmgr *m, struct mgr_dev *md)
{
        struct be_dev *dev = &md->dev;
        bool online = false;

        if (!xb_exists(m->xs, XBT_NULL, dev->be_path, NULL)) {
                dev_free(m, md);
                return false;
        }
        if (dev_recreated(m, md)) {
                const struct be_class *cls = dev->cls;
                uint16_t fedom = dev->fedom;
                uint32_t devid = dev->devid;
                pv_info(dev->name, "removed and added again by the toolstack");
                dev_free(m, md);
                struct mgr_dev *fresh = dev_create(m, cls, fedom, devid);
                if (fresh)
                        dev_reconcile(m, fresh);
                return false;
        }
        if (xb_read_bool_default(m->xs, XBT_NULL, dev->be_path, "online", false, &online) < 0)
                online = false;
        dev->online = online;

        if (dev->phase == BE_PHASE_NEW) {
                if (!online) {
                        /* Being removed before we ever served it: answer at
                         * once rather than let libxl wait out its timeout. */
                        write_state(dev, XenbusStateClosed);
                        dev->phase = BE_PHASE_CLOSED;
                        return true;
                }
                if (!frontend_domain_alive(m, dev->fedom))
                        return true;
                dev_probe(md);
        }
        dev_follow_frontend(md);

        /* libxl's remove: online=0 (+ state=5). A connected frontend is asked
         * to close by the toolstack's state=5; one that is not connected has
         * nothing to wait for. */
        if (!online && dev->phase != BE_PHASE_CLOSED && dev->fe_state != XenbusStateConnected &&
            dev->fe_state != XenbusStateInitialised && dev->fe_state != XenbusStateClosing)
                dev_close(md, XenbusStateClosed);
        if (!online && dev->phase == BE_PHASE_CLOSED && md->probed) {
                dev_remove_class(md);
                xb_rm(m->xs, XBT_NULL, dev->be_path, "hotplug-status");
        }
        return true;
}

/* ---- device table and watch dispatch ------------------------------------ */

static const struct be_class *class_by_kind(struct devmgr *m, const char *kind, size_t len)
{
        for (unsigned i = 0; i < m->nr_classes; i++)
                if (strlen(m->classes[i]->kind) == len && !strncmp(m->classes[i]->kind, kind, len))
                        return m->classes[i];
        return NULL;
}

static struct mgr_dev *dev_find(struct devmgr *m, const struct be_class *cls, uint16_t fedom,
                                uint32_t devid)
{
        for (struct mgr_dev *md = m->devs; md; md = md->next)
                if (md->dev.cls == cls && md->dev.fedom == fedom && md->dev.devid == devid)
                        return md;
        return NULL;
}

/* The frontend path comes from the toolstack's "frontend" key, but only the
 * one libxl would have written is accepted (as xenbus_read_otherend_details
 * checks frontend-id). */
static int dev_check_frontend_key(struct devmgr *m, struct be_dev *dev)
{
        char *fe = NULL;
        int rc = xb_read_str(m->xs, XBT_NULL, dev->be_path, "frontend", &fe);
        if (rc < 0)
                return rc;
        rc = strcmp(fe, dev->fe_path) == 0 ? 0 : -EINVAL;
        if (rc < 0)
                pv_err(dev->name, "backend key frontend=\"%s\", expected \"%s\"; ignoring device",
                       fe, dev->fe_path);
        free(fe);
        return rc;
}

static struct mgr_dev *dev_create(struct devmgr *m, const struct be_class *cls, uint16_t fedom,
                                  uint32_t devid)
{
        struct mgr_dev *md = calloc(1, sizeof(*md));
        if (!md)
                return NULL;
        struct be_dev *dev = &md->dev;
        dev->cls = cls;
        dev->mgr = m;
        dev->xs = m->xs;
        dev->hv = m->hv;
        dev->workers = m->workers;
        dev->self = m->self;
        dev->fedom = fedom;
        dev->devid = devid;
        dev->phase = BE_PHASE_NEW;
        dev->fe_state = XenbusStateUnknown;
        dev->be_state = XenbusStateUnknown;
        snprintf(dev->name, sizeof(dev->name), "%s%u.%u", cls->kind, fedom, devid);
        snprintf(dev->be_path, sizeof(dev->be_path), "%s/%s/%u/%u", m->base, cls->kind, fedom,
                 devid);
        snprintf(dev->fe_path, sizeof(dev->fe_path), "/local/domain/%u/device/%s/%u", fedom,
                 cls->kind, devid);
        md->gen = ++m->next_gen;
        if (dev_check_frontend_key(m, dev) < 0) {
                free(md);
                return NULL;
        }
        md->next = m->devs;
        m->devs = md;
        md->watching = xs_watch(m->xs, dev->fe_path, TOKEN_FRONT);
        if (!md->watching)
                pv_warn(dev->name, "cannot watch %s: %s", dev->fe_path, strerror(errno));
        pv_info(dev->name, "new device");
        return md;
}

/* Strict "<number>" component of at most len characters. */
static int parse_component(const char *s, size_t len, uint64_t max, uint64_t *out)
{
        char buf[16];
        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        return xb_parse_uint(buf, max, out);
}

static void scan_kind(struct devmgr *m, const struct be_class *cls)
{
        char path[128];
        unsigned n_dom = 0;
        snprintf(path, sizeof(path), "%s/%s", m->base, cls->kind);
        char **doms = xs_directory(m->xs, XBT_NULL, path, &n_dom);
        for (unsigned i = 0; doms && i < n_dom; i++) {
                uint64_t fedom, devid;
                if (xb_parse_uint(doms[i], DOMID_FIRST_RESERVED - 1, &fedom) < 0)
                        continue;
                char dpath[160];
                unsigned n_dev = 0;
                snprintf(dpath, sizeof(dpath), "%s/%s", path, doms[i]);
                char **devs = xs_directory(m->xs, XBT_NULL, dpath, &n_dev);
                for (unsigned j = 0; devs && j < n_dev; j++) {
                        if (xb_parse_uint(devs[j], UINT32_MAX, &devid) < 0)
                                continue;
                        struct mgr_dev *md = dev_find(m, cls, (uint16_t)fedom, (uint32_t)devid);
                        if (!md)
                                md = dev_create(m, cls, (uint16_t)fedom, (uint32_t)devid);
                        if (md)
                                dev_reconcile(m, md);
                }
                free(devs);
        }
        free(doms);
        /* Devices whose directory went away with a parent. */
        for (struct mgr_dev *md = m->devs, *next; md; md = next) {
                next = md->next;
                if (md->dev.cls == cls)
                        dev_reconcile(m, md);
        }
}

/* "<kind>[/<fedom>[/<devid>[/<key>]]]" below our backend directory. */
static void on_backend_event(struct devmgr *m, const char *rel)
{
        const char *slash = strchr(rel, '/');
        const struct be_class *cls =
            class_by_kind(m, rel, slash ? (size_t)(slash - rel) : strlen(rel));
        uint64_t fedom, devid;
        if (!cls)
                return;
        if (!slash) {
                scan_kind(m, cls);
                return;
        }
        const char *p = slash + 1;
        const char *s2 = strchr(p, '/');
        if (!s2 || parse_component(p, (size_t)(s2 - p), DOMID_FIRST_RESERVED - 1, &fedom) < 0) {
                scan_kind(m, cls);
                return;
        }
        p = s2 + 1;
        const char *s3 = strchr(p, '/');
        if (parse_component(p, s3 ? (size_t)(s3 - p) : strlen(p), UINT32_MAX, &devid) < 0)
                return;
        const char *key = s3 ? s3 + 1 : NULL;
        struct mgr_dev *md = dev_find(m, cls, (uint16_t)fedom, (uint32_t)devid);
        if (!md) {
                char be[160];
                snprintf(be, sizeof(be), "%s/%s/%u/%u", m->base, cls->kind, (unsigned)fedom,
                         (unsigned)devid);
                if (!xb_exists(m->xs, XBT_NULL, be, "online") &&
                    !xb_exists(m->xs, XBT_NULL, be, "state"))
                        return; /* the toolstack's transaction is not visible yet */
                md = dev_create(m, cls, (uint16_t)fedom, (uint32_t)devid);
                if (!md)
                        return;
        }
        if (!dev_reconcile(m, md))
                return;
        if (key && strcmp(key, "state") && md->probed && cls->backend_changed)
                cls->backend_changed(&md->dev, key);
}

/* "/local/domain/<fedom>/device/<kind>/<devid>[/<key>]" */
static void on_frontend_event(struct devmgr *m, const char *path)
{
        unsigned fedom, devid;
        char kind[16];
        int off = 0;
        if (sscanf(path, "/local/domain/%u/device/%15[^/]/%u%n", &fedom, kind, &devid, &off) != 3)
                return;
        const struct be_class *cls = class_by_kind(m, kind, strlen(kind));
        struct mgr_dev *md = cls ? dev_find(m, cls, (uint16_t)fedom, devid) : NULL;
        if (!md)
                return;
        const char *key = path[off] == '/' ? path + off + 1 : NULL;
        if (!dev_reconcile(m, md))
                return;
        if (key && strcmp(key, "state") && md->connected && cls->frontend_changed)
                cls->frontend_changed(&md->dev, key);
}

static void on_release_domain(struct devmgr *m)
{
        for (struct mgr_dev *md = m->devs, *next; md; md = next) {
                next = md->next;
                if (frontend_domain_alive(m, md->dev.fedom))
                        continue;
                pv_info(md->dev.name, "frontend domain %u is gone", md->dev.fedom);
                dev_free(m, md);
        }
}

static void dispatch_watch(struct devmgr *m, const char *path, const char *token)
{
        size_t blen = strlen(m->base);
        if (!strcmp(token, TOKEN_RELEASE))
                on_release_domain(m);
        else if (!strcmp(token, TOKEN_FRONT))
                on_frontend_event(m, path);
        else if (!strcmp(token, TOKEN_BACKEND) && !strncmp(path, m->base, blen) &&
                 path[blen] == '/')
                on_backend_event(m, path + blen + 1);
}

static void on_xenstore(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct devmgr *m = arg;
        char **vec;
        unsigned int n;
        (void)loop;
        (void)fd;
        (void)events;
        while ((vec = xs_check_watch(m->xs))) {
                (void)n;
                dispatch_watch(m, vec[XS_WATCH_PATH], vec[XS_WATCH_TOKEN]);
                free(vec);
        }
}

/* ---- guest errors reported by workers ----------------------------------- */

void be_dev_report_guest_error(struct be_dev *dev, const char *reason)
{
        struct devmgr *m = dev->mgr;
        struct guest_error *ge = calloc(1, sizeof(*ge));
        uint64_t one = 1;
        if (!ge)
                return;
        ge->dev = dev;
        ge->gen = md_of(dev)->gen;
        pv_escape(reason, ge->reason, sizeof(ge->reason)); /* may quote the guest */
        pthread_mutex_lock(&m->mail_lock);
        ge->next = m->mail;
        m->mail = ge;
        pthread_mutex_unlock(&m->mail_lock);
        if (write(m->mail_fd, &one, sizeof(one)) != sizeof(one))
                pv_err(dev->name, "cannot wake the control thread: %s", strerror(errno));
}

static void handle_guest_error(struct devmgr *m, struct guest_error *ge)
{
        for (struct mgr_dev *md = m->devs; md; md = md->next) {
                if (&md->dev != ge->dev || md->gen != ge->gen)
                        continue;
                struct be_dev *dev = &md->dev;
                if (dev->disabled)
                        return;
                dev->disabled = true;
                pv_err(dev->name, "%s; disabling %s", ge->reason, dev->name);
                snprintf(dev->error, sizeof(dev->error), "%s", ge->reason);
                write_error_node(dev, -EPROTO, ge->reason);
                dev_close(md, XenbusStateClosing);
                return;
        }
}

static void on_mail(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct devmgr *m = arg;
        uint64_t v;
        (void)loop;
        (void)events;
        if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                pv_warn("devmgr", "mailbox read: %s", strerror(errno));
        pthread_mutex_lock(&m->mail_lock);
        struct guest_error *list = m->mail;
        m->mail = NULL;
        pthread_mutex_unlock(&m->mail_lock);
        while (list) {
                struct guest_error *ge = list;
                list = ge->next;
                handle_guest_error(m, ge);
                free(ge);
        }
}

static void on_stop(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        (void)fd;
        (void)events;
        (void)arg;
        ev_stop(loop);
}

/* ---- lifecycle ---------------------------------------------------------- */

int devmgr_register_class(struct devmgr *m, const struct be_class *cls)
{
        if (m->nr_classes == MAX_CLASSES)
                return -ENOSPC;
        m->max_devices[m->nr_classes] = DEVMGR_DEFAULT_MAX_DEVICES;
        m->classes[m->nr_classes++] = cls;
        return 0;
}

/* "<kind>.max-devices=N", the one option every class has. */
static int configure_max_devices(struct devmgr *m, const struct be_class *cls, const char *value)
{
        uint64_t v;
        if (xb_parse_uint(value, DEVMGR_MAX_MAX_DEVICES, &v) < 0 || v == 0) {
                pv_err("pvbackd", "%s.max-devices=%s: expected 1..%u", cls->kind, value,
                       DEVMGR_MAX_MAX_DEVICES);
                return -EINVAL;
        }
        m->max_devices[class_slot(m, cls)] = (unsigned)v;
        return 0;
}

int devmgr_configure(struct devmgr *m, const char *option)
{
        const char *dot = strchr(option, '.');
        const char *eq = dot ? strchr(dot, '=') : NULL;
        if (!dot || !eq || eq == dot + 1) {
                pv_err("pvbackd", "option '%s' is not of the form <class>.<key>=<value>", option);
                return -EINVAL;
        }
        const struct be_class *cls = class_by_kind(m, option, (size_t)(dot - option));
        if (cls && (size_t)(eq - dot - 1) == strlen("max-devices") &&
            !strncmp(dot + 1, "max-devices", strlen("max-devices")))
                return configure_max_devices(m, cls, eq + 1);
        if (!cls || !cls->configure) {
                pv_err("pvbackd", "option '%s': no device class '%.*s' with options", option,
                       (int)(dot - option), option);
                return -ENOENT;
        }
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
        return cls->configure(key, eq + 1);
}

void devmgr_print_options(const struct devmgr *m)
{
        for (unsigned i = 0; i < m->nr_classes; i++)
                if (m->classes[i]->options_help)
                        fputs(m->classes[i]->options_help, stdout);
}

const struct be_class *devmgr_class(const struct devmgr *m, unsigned i)
{
        return i < m->nr_classes ? m->classes[i] : NULL;
}

void devmgr_class_usage(const struct devmgr *m, unsigned i, unsigned *max, unsigned *assigned)
{
        *max = i < m->nr_classes ? m->max_devices[i] : 0;
        *assigned = i < m->nr_classes ? class_assigned(m, m->classes[i]) : 0;
}

uint16_t devmgr_self(const struct devmgr *m)
{
        return m->self;
}

struct ev_loop *devmgr_loop(struct devmgr *m)
{
        return m->loop;
}

int devmgr_for_each_dev(struct devmgr *m, devmgr_dev_fn fn, void *arg)
{
        for (struct mgr_dev *md = m->devs; md; md = md->next) {
                int rc = fn(&md->dev, md->probed, arg);
                if (rc)
                        return rc;
        }
        return 0;
}

int devmgr_create(const struct devmgr_config *cfg, struct devmgr **out)
{
        struct devmgr *m = calloc(1, sizeof(*m));
        int rc;
        if (!m)
                return -ENOMEM;
        m->hv = cfg->hv;
        m->mail_fd = -1;
        pthread_mutex_init(&m->mail_lock, NULL);
        m->xs = xs_open(0);
        if (!m->xs) {
                rc = errno ? -errno : -EIO;
                pv_err("pvbackd", "cannot connect to xenstore: %s", strerror(-rc));
                goto fail;
        }
        if ((rc = xh_own_domid(m->xs, &m->self)) < 0) {
                pv_err("pvbackd", "cannot read our domain id (xenstore key 'domid'): %s",
                       strerror(-rc));
                goto fail;
        }
        snprintf(m->base, sizeof(m->base), "/local/domain/%u/backend", m->self);
        if ((rc = worker_pool_create(cfg->nr_workers, cfg->worker_cpus, &m->workers)) < 0) {
                pv_err("pvbackd", "cannot start %u worker threads: %s", cfg->nr_workers,
                       strerror(-rc));
                goto fail;
        }
        if (cfg->worker_cpus) {
                char list[PV_CPULIST_MAX];
                pv_cpulist_format(cfg->worker_cpus, list, sizeof(list));
                pv_info("pvbackd", "%u worker threads pinned to CPUs %s",
                        worker_pool_size(m->workers), list);
        }
        if ((m->mail_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
                rc = -errno;
                goto fail;
        }
        /* Here rather than in devmgr_run: the control socket joins the loop
         * before the devices are served. */
        if ((rc = ev_loop_create(&m->loop)) < 0)
                goto fail;
        *out = m;
        return 0;
fail:
        devmgr_destroy(m);
        return rc;
}

int devmgr_run(struct devmgr *m, int stop_fd)
{
        int rc;
        if ((rc = ev_add(m->loop, xs_fileno(m->xs), EPOLLIN, on_xenstore, m)) < 0 ||
            (rc = ev_add(m->loop, m->mail_fd, EPOLLIN, on_mail, m)) < 0 ||
            (rc = ev_add(m->loop, stop_fd, EPOLLIN, on_stop, m)) < 0)
                return rc;
        for (unsigned i = 0; i < m->nr_classes; i++) {
                char path[96];
                snprintf(path, sizeof(path), "%s/%s", m->base, m->classes[i]->kind);
                if (!xs_watch(m->xs, path, TOKEN_BACKEND)) {
                        rc = errno ? -errno : -EIO;
                        pv_err("pvbackd", "cannot watch %s: %s", path, strerror(-rc));
                        return rc;
                }
        }
        if (!xs_watch(m->xs, "@releaseDomain", TOKEN_RELEASE))
                pv_warn("pvbackd",
                        "cannot watch @releaseDomain (%s): devices of destroyed "
                        "domains go when the toolstack removes them",
                        strerror(errno));
        pv_info("pvbackd", "serving domain %u's backends with %u worker threads", m->self,
                worker_pool_size(m->workers));
        return ev_run(m->loop);
}

void devmgr_destroy(struct devmgr *m)
{
        if (!m)
                return;
        while (m->devs) {
                struct mgr_dev *md = m->devs;
                if (md->dev.phase != BE_PHASE_NEW && md->dev.phase != BE_PHASE_CLOSED)
                        dev_close(md, XenbusStateClosed);
                dev_free(m, md);
        }
        worker_pool_destroy(m->workers);
        while (m->mail) {
                struct guest_error *ge = m->mail;
                m->mail = ge->next;
                free(ge);
        }
        if (m->mail_fd >= 0)
                close(m->mail_fd);
        ev_loop_destroy(m->loop);
        if (m->xs)
                xs_close(m->xs);
        pthread_mutex_destroy(&m->mail_lock);
        free(m);
}
