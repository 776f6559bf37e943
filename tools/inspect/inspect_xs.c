/* What xenstore alone says about our domain's backend devices, for when
 * pvbackd is not there to ask: the toolstack's and the backend's last
 * states, the hotplug script's word, the error node a backend wrote, and
 * the keys the frontend negotiated with. Read-only; values are shown as
 * stored (a frontend writes what it likes), never interpreted further. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "inspect.h"
#include "xb.h"
#include "xh.h"

static const char *const kinds[] = {"vif", "vbd", NULL};

/* Frontend keys that record a negotiation (netif.h, blkif.h). */
static bool negotiation_key(const char *key)
{
        static const char *const exact[] = {"multi-queue-num-queues", "protocol",
                                            "ring-page-order",        "num-ring-pages",
                                            "xdp-headroom",           NULL};
        if (!strncmp(key, "feature-", 8) || !strncmp(key, "request-", 8))
                return true;
        for (unsigned i = 0; exact[i]; i++)
                if (!strcmp(key, exact[i]))
                        return true;
        return false;
}

static char *read_key(struct xs_handle *xs, const char *dir, const char *key)
{
        char path[512];
        unsigned len;
        snprintf(path, sizeof(path), "%s/%s", dir, key);
        return xs_read(xs, XBT_NULL, path, &len);
}

/* A key's value as a JSON string, or null when absent. */
static void add_key(struct json_object *obj, const char *name, struct xs_handle *xs,
                    const char *dir, const char *key)
{
        char *v = read_key(xs, dir, key);
        json_object_object_add(obj, name, v ? json_object_new_string(v) : NULL);
        free(v);
}

static void add_state(struct json_object *obj, struct xs_handle *xs, const char *dir)
{
        char *v = read_key(xs, dir, "state");
        uint64_t st;
        if (v && xb_parse_uint(v, 255, &st) == 0) {
                json_object_object_add(obj, "state", json_object_new_int((int)st));
                json_object_object_add(obj, "state_name",
                                       json_object_new_string(xb_state_name((int)st)));
        } else {
                json_object_object_add(obj, "state", NULL);
                json_object_object_add(obj, "state_name",
                                       json_object_new_string(v ? "unreadable" : "absent"));
        }
        free(v);
}

static void add_negotiated(struct json_object *dev, struct xs_handle *xs, const char *fe_path)
{
        struct json_object *n = json_object_new_object();
        unsigned count = 0;
        char **keys = xs_directory(xs, XBT_NULL, fe_path, &count);
        for (unsigned i = 0; keys && i < count; i++)
                if (negotiation_key(keys[i]))
                        add_key(n, keys[i], xs, fe_path, keys[i]);
        free(keys);
        json_object_object_add(dev, "negotiated", n);
}

static void add_device(struct json_object *arr, struct xs_handle *xs, uint16_t self,
                       const char *kind, const char *fedom, const char *devid)
{
        char be_path[256], fe_default[256], err_dir[256], name[64];
        struct json_object *dev = json_object_new_object();
        struct json_object *be = json_object_new_object(), *fe = json_object_new_object();
        snprintf(be_path, sizeof(be_path), "/local/domain/%u/backend/%s/%s/%s", self, kind, fedom,
                 devid);
        snprintf(fe_default, sizeof(fe_default), "/local/domain/%s/device/%s/%s", fedom, kind,
                 devid);
        snprintf(err_dir, sizeof(err_dir), "/local/domain/%u/error/backend/%s/%s/%s", self, kind,
                 fedom, devid);
        snprintf(name, sizeof(name), "%s%s.%s", kind, fedom, devid);

        /* The toolstack's "frontend" key says where the frontend is; one
         * outside /local/domain is not followed. */
        char *fe_key = read_key(xs, be_path, "frontend");
        const char *fe_path =
            fe_key && !strncmp(fe_key, "/local/domain/", 14) && strlen(fe_key) < 200 ? fe_key
                                                                                     : fe_default;
        json_object_object_add(dev, "name", json_object_new_string(name));
        json_object_object_add(dev, "class", json_object_new_string(kind));
        json_object_object_add(be, "path", json_object_new_string(be_path));
        add_state(be, xs, be_path);
        add_key(be, "online", xs, be_path, "online");
        add_key(be, "hotplug_status", xs, be_path, "hotplug-status");
        json_object_object_add(dev, "backend", be);
        json_object_object_add(fe, "path", json_object_new_string(fe_path));
        json_object_object_add(fe, "domid", json_object_new_int64(strtoll(fedom, NULL, 10)));
        json_object_object_add(fe, "devid", json_object_new_int64(strtoll(devid, NULL, 10)));
        add_state(fe, xs, fe_path);
        json_object_object_add(dev, "frontend", fe);
        add_key(dev, "error", xs, err_dir, "error");
        add_negotiated(dev, xs, fe_path);
        free(fe_key);
        json_object_array_add(arr, dev);
}

static bool all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static void add_kind(struct json_object *arr, struct xs_handle *xs, uint16_t self, const char *kind)
{
        char dir[128];
        unsigned ndom = 0;
        snprintf(dir, sizeof(dir), "/local/domain/%u/backend/%s", self, kind);
        char **doms = xs_directory(xs, XBT_NULL, dir, &ndom);
        for (unsigned i = 0; doms && i < ndom; i++) {
                char ddir[192];
                unsigned ndev = 0;
                if (!all_digits(doms[i]))
                        continue;
                snprintf(ddir, sizeof(ddir), "%s/%s", dir, doms[i]);
                char **devs = xs_directory(xs, XBT_NULL, ddir, &ndev);
                for (unsigned j = 0; devs && j < ndev; j++)
                        if (all_digits(devs[j]))
                                add_device(arr, xs, self, kind, doms[i], devs[j]);
                free(devs);
        }
        free(doms);
}

int inspect_xs_snapshot(struct json_object **out, char *err, size_t errlen)
{
        struct xs_handle *xs = xs_open(0);
        uint16_t self;
        int rc;
        if (!xs) {
                rc = errno ? -errno : -EIO;
                snprintf(err, errlen, "cannot reach xenstore either: %s", strerror(-rc));
                return rc;
        }
        if ((rc = xh_own_domid(xs, &self)) < 0) {
                snprintf(err, errlen, "cannot read our domain id from xenstore: %s", strerror(-rc));
                xs_close(xs);
                return rc;
        }
        struct json_object *snap = json_object_new_object(), *arr = json_object_new_array();
        json_object_object_add(snap, "source", json_object_new_string("xenstore"));
        json_object_object_add(snap, "pvbackd", json_object_new_string("not running"));
        json_object_object_add(snap, "domid", json_object_new_int(self));
        for (unsigned i = 0; kinds[i]; i++)
                add_kind(arr, xs, self, kinds[i]);
        json_object_object_add(snap, "devices", arr);
        xs_close(xs);
        *out = snap;
        return 0;
}
