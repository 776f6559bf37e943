/* The control socket's commands: a request line in, one JSON answer out.
 * The daemon's part and each device's common part (xenbus phase and states,
 * the error) are built here; a class adds its own through be_class.dump.
 * Runs on the control thread between two events, so the device table holds
 * still while it is read. Not for the socket (ctl_server.c). */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_json.h"
#include "ctl_proto.h"
#include "devmgr.h"
#include "version.h"
#include "xb.h"

#define CTL_MAX_WORDS 4

static const char ctl_commands[] =
    "show, show DEVICE (e.g. vif5.0, vbd5.51712), set TARGET KEY VALUE, version";

static char *to_text(struct json_object *obj)
{
        char *text = NULL;
        if (obj) {
                const char *s = json_object_to_json_string_ext(
                    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                if (s && asprintf(&text, "%s\n", s) < 0)
                        text = NULL;
                json_object_put(obj);
        }
        return text;
}

char *ctl_cmd_error(const char *code, const char *fmt, ...)
{
        struct json_object *obj = json_object_new_object(), *err;
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (!obj)
                return NULL;
        if (!(err = ctl_json_child(obj, "error")) || ctl_json_str(err, "code", code) ||
            ctl_json_str(err, "message", msg)) {
                json_object_put(obj);
                return NULL;
        }
        return to_text(obj);
}

/* ---- the device table, sorted ---------------------------------------------- */

struct dev_ref {
        struct be_dev *dev;
        bool probed;
};

struct dev_list {
        struct dev_ref *refs;
        size_t n, cap;
};

static int collect(struct be_dev *dev, bool probed, void *arg)
{
        struct dev_list *l = arg;
        if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 16;
                struct dev_ref *r = realloc(l->refs, cap * sizeof(*r));
                if (!r)
                        return -ENOMEM;
                l->refs = r;
                l->cap = cap;
        }
        l->refs[l->n++] = (struct dev_ref){dev, probed};
        return 0;
}

/* By kind, then frontend domain, then device id: what an operator scans. */
static int cmp_ref(const void *a, const void *b)
{
        const struct be_dev *x = ((const struct dev_ref *)a)->dev;
        const struct be_dev *y = ((const struct dev_ref *)b)->dev;
        int c = strcmp(x->cls->kind, y->cls->kind);
        if (c)
                return c;
        if (x->fedom != y->fedom)
                return x->fedom < y->fedom ? -1 : 1;
        return x->devid < y->devid ? -1 : x->devid > y->devid;
}

static int list_devices(struct devmgr *mgr, struct dev_list *l)
{
        *l = (struct dev_list){0};
        int rc = devmgr_for_each_dev(mgr, collect, l);
        if (rc < 0) {
                free(l->refs);
                return rc;
        }
        if (l->n > 1)
                qsort(l->refs, l->n, sizeof(*l->refs), cmp_ref);
        return 0;
}

/* ---- show ---------------------------------------------------------------- */

static const char *phase_name(enum be_phase phase)
{
        static const char *const names[] = {
            [BE_PHASE_NEW] = "new",
            [BE_PHASE_INITWAIT] = "initwait",
            [BE_PHASE_CONNECTING] = "connecting",
            [BE_PHASE_CONNECTED] = "connected",
            [BE_PHASE_CLOSING] = "closing",
            [BE_PHASE_CLOSED] = "closed",
            [BE_PHASE_FAILED] = "failed",
        };
        if ((size_t)phase < sizeof(names) / sizeof(names[0]) && names[phase])
                return names[phase];
        return "unknown";
}

static int add_state(struct json_object *obj, int state)
{
        return ctl_json_int(obj, "state", state)
                   ?: ctl_json_str(obj, "state_name", xb_state_name(state));
}

static int add_device(struct json_object *arr, const struct dev_ref *ref)
{
        struct be_dev *dev = ref->dev;
        struct json_object *obj = ctl_json_append(arr), *fe, *be;
        int rc;
        if (!obj)
                return -ENOMEM;
        rc = ctl_json_str(obj, "name", dev->name) ?: ctl_json_str(obj, "class", dev->cls->kind);
        if (rc || !(fe = ctl_json_child(obj, "frontend")))
                return -ENOMEM;
        rc = ctl_json_u64(fe, "domid", dev->fedom) ?: ctl_json_u64(fe, "devid", dev->devid);
        rc = rc ?: ctl_json_str(fe, "path", dev->fe_path) ?: add_state(fe, dev->fe_state);
        if (rc || !(be = ctl_json_child(obj, "backend")))
                return -ENOMEM;
        rc = ctl_json_str(be, "path", dev->be_path) ?: add_state(be, dev->be_state);
        rc = rc ?: ctl_json_str(be, "phase", phase_name(dev->phase));
        rc = rc ?: ctl_json_bool(be, "online", dev->online);
        rc = rc ?: ctl_json_bool(obj, "disabled", dev->disabled);
        rc = rc ?: ctl_json_str(obj, "error", dev->error[0] ? dev->error : NULL);
        if (rc == 0 && ref->probed && dev->cls->dump)
                rc = dev->cls->dump(dev, obj);
        return rc;
}

static uint64_t uptime_s(uint64_t started_ns)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        return (now - started_ns) / 1000000000u;
}

/* The backend facility: per class what it is, how it virtualizes, how
 * many devices it may serve and serves (assigned: set up, whatever their
 * frontend does), and what the class adds (netback's uplinks). */
static int add_classes(struct json_object *daemon, struct devmgr *mgr)
{
        struct json_object *arr = json_object_new_array(), *c;
        int rc = ctl_json_add(daemon, "classes", arr);
        const struct be_class *cls;
        for (unsigned i = 0; rc == 0 && (cls = devmgr_class(mgr, i)); i++) {
                unsigned max, assigned;
                if (!(c = ctl_json_append(arr)))
                        return -ENOMEM;
                devmgr_class_usage(mgr, i, &max, &assigned);
                rc = ctl_json_str(c, "kind", cls->kind);
                rc = rc ?: ctl_json_u64(c, "max_devices", max);
                rc = rc ?: ctl_json_u64(c, "assigned", assigned);
                if (rc == 0 && cls->dump_class)
                        rc = cls->dump_class(mgr, c);
        }
        return rc;
}

static int add_daemon(struct json_object *obj, const struct ctl_cmd_ctx *ctx, size_t nr_devices)
{
        struct json_object *d = ctl_json_child(obj, "daemon");
        if (!d)
                return -ENOMEM;
        return ctl_json_str(d, "version", PVBACK_VERSION)
                       ?: ctl_json_int(d, "protocol", CTL_PROTOCOL_VERSION)
                       ?: ctl_json_int(d, "pid", getpid())
                       ?: ctl_json_str(d, "hypervisor", ctx->info->hypervisor)
                       ?: ctl_json_u64(d, "domid", devmgr_self(ctx->mgr))
                       ?: ctl_json_u64(d, "workers", ctx->info->workers)
                       ?: ctl_json_u64(d, "uptime_s", uptime_s(ctx->started_ns))
                       ?: ctl_json_u64(d, "devices", nr_devices) ?: add_classes(d, ctx->mgr);
}

/* Names of the devices there are, for an error message. */
static void name_devices(const struct dev_list *l, char *buf, size_t len)
{
        size_t off = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < l->n && off + 1 < len; i++) {
                int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", l->refs[i].dev->name);
                if (n < 0 || (size_t)n >= len - off) {
                        snprintf(buf + off, len - off, "%s", i ? ", ..." : "...");
                        break;
                }
                off += (size_t)n;
        }
}

static char *cmd_show(const struct ctl_cmd_ctx *ctx, const char *name)
{
        struct dev_list l;
        struct json_object *obj = NULL, *arr;
        const struct dev_ref *one = NULL;
        char *text = NULL;

        if (list_devices(ctx->mgr, &l) < 0)
                return NULL;
        if (name) {
                for (size_t i = 0; i < l.n && !one; i++)
                        if (!strcmp(l.refs[i].dev->name, name))
                                one = &l.refs[i];
                if (!one) {
                        char names[200];
                        name_devices(&l, names, sizeof(names));
                        text =
                            l.n ? ctl_cmd_error(CTL_ERR_UNKNOWN_DEVICE,
                                                "no device %s; pvbackd serves %s", name, names)
                                : ctl_cmd_error(CTL_ERR_UNKNOWN_DEVICE,
                                                "no device %s; pvbackd serves no device now", name);
                        goto out;
                }
        }
        obj = json_object_new_object();
        if (!obj || add_daemon(obj, ctx, l.n) < 0)
                goto out;
        arr = json_object_new_array();
        if (ctl_json_add(obj, "devices", arr) < 0)
                goto out;
        for (size_t i = 0; i < l.n; i++)
                if ((!one || one == &l.refs[i]) && add_device(arr, &l.refs[i]) < 0)
                        goto out;
        text = to_text(obj);
        obj = NULL;
out:
        json_object_put(obj);
        free(l.refs);
        return text;
}

static char *cmd_version(void)
{
        struct json_object *obj = json_object_new_object();
        if (!obj || ctl_json_str(obj, "version", PVBACK_VERSION) ||
            ctl_json_int(obj, "protocol", CTL_PROTOCOL_VERSION)) {
                json_object_put(obj);
                return NULL;
        }
        return to_text(obj);
}

/* ---- set ------------------------------------------------------------------ */

static char *set_answer(const char *target, const char *key, const char *value)
{
        struct json_object *obj = json_object_new_object();
        if (!obj || ctl_json_bool(obj, "ok", true) || ctl_json_str(obj, "target", target) ||
            ctl_json_str(obj, "key", key) || ctl_json_str(obj, "value", value)) {
                json_object_put(obj);
                return NULL;
        }
        return to_text(obj);
}

static char *set_error(int rc, const char *target, const char *key, const char *err)
{
        const char *code = rc == -ENOENT  ? CTL_ERR_UNKNOWN_KEY
                           : rc == -EBUSY ? CTL_ERR_BUSY
                                          : CTL_ERR_BAD_VALUE;
        if (!err[0])
                return ctl_cmd_error(code, "%s: cannot set %s: %s", target, key, strerror(-rc));
        return ctl_cmd_error(code, "%s: %s", target, err);
}

/* A device by name first; then each class is offered the target (its kind,
 * or a resource it shares between devices, such as an uplink). */
static char *cmd_set(const struct ctl_cmd_ctx *ctx, const char *target, const char *key,
                     const char *value)
{
        char err[256] = "";
        struct dev_list l;
        int rc = -ENODEV;

        if (list_devices(ctx->mgr, &l) < 0)
                return NULL;
        for (size_t i = 0; i < l.n; i++) {
                struct be_dev *dev = l.refs[i].dev;
                bool probed = l.refs[i].probed;
                if (strcmp(dev->name, target))
                        continue;
                if (!probed) {
                        free(l.refs);
                        return ctl_cmd_error(CTL_ERR_BUSY,
                                             "%s is not set up yet (or failed); see show %s",
                                             target, target);
                }
                /* Nothing to wait for: no key of this class will ever do. */
                if (!dev->cls->set) {
                        free(l.refs);
                        return ctl_cmd_error(CTL_ERR_UNKNOWN_KEY, "%s has no runtime settings",
                                             target);
                }
                rc = dev->cls->set(dev, target, key, value, err, sizeof(err));
                free(l.refs);
                return rc == 0 ? set_answer(target, key, value) : set_error(rc, target, key, err);
        }
        free(l.refs);
        for (unsigned i = 0; rc == -ENODEV && devmgr_class(ctx->mgr, i); i++) {
                const struct be_class *cls = devmgr_class(ctx->mgr, i);
                if (cls->set)
                        rc = cls->set(NULL, target, key, value, err, sizeof(err));
        }
        if (rc == -ENODEV)
                return ctl_cmd_error(CTL_ERR_UNKNOWN_DEVICE,
                                     "no device or other target %s; pvback-inspect lists them",
                                     target);
        return rc == 0 ? set_answer(target, key, value) : set_error(rc, target, key, err);
}

/* ---- requests ------------------------------------------------------------ */

char *ctl_cmd_run(const struct ctl_cmd_ctx *ctx, const char *line)
{
        char buf[CTL_REQ_MAX + 1], *words[CTL_MAX_WORDS], *save = NULL;
        unsigned n = 0;

        for (const char *p = line; *p; p++)
                if ((*p < 0x20 && *p != '\t') || *p == 0x7f || (unsigned char)*p >= 0x80)
                        return ctl_cmd_error(CTL_ERR_BAD_REQUEST,
                                             "a request is one line of printable ASCII; "
                                             "commands: %s",
                                             ctl_commands);
        snprintf(buf, sizeof(buf), "%s", line);
        for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                if (n == CTL_MAX_WORDS)
                        return ctl_cmd_error(CTL_ERR_BAD_REQUEST, "too many words; commands: %s",
                                             ctl_commands);
                words[n++] = w;
        }
        if (n == 0)
                return ctl_cmd_error(CTL_ERR_BAD_REQUEST, "empty request; commands: %s",
                                     ctl_commands);
        if (!strcmp(words[0], "show")) {
                if (n > 2)
                        return ctl_cmd_error(CTL_ERR_BAD_REQUEST,
                                             "'show' takes at most one device name");
                char *text = cmd_show(ctx, n == 2 ? words[1] : NULL);
                return text
                           ?: ctl_cmd_error(CTL_ERR_INTERNAL,
                                            "pvbackd ran out of memory building the answer; "
                                            "see its log");
        }
        if (!strcmp(words[0], "set")) {
                if (n != 4)
                        return ctl_cmd_error(CTL_ERR_BAD_REQUEST,
                                             "'set' takes a target, a key and a value, "
                                             "e.g. set vif5.0 qos.max 100M");
                return cmd_set(ctx, words[1], words[2], words[3])
                           ?: ctl_cmd_error(CTL_ERR_INTERNAL, "out of memory");
        }
        if (!strcmp(words[0], "version")) {
                if (n > 1)
                        return ctl_cmd_error(CTL_ERR_BAD_REQUEST, "'version' takes no argument");
                return cmd_version() ?: ctl_cmd_error(CTL_ERR_INTERNAL, "out of memory");
        }
        return ctl_cmd_error(CTL_ERR_UNKNOWN_CMD, "unknown command '%.64s'; commands: %s", words[0],
                             ctl_commands);
}
