/* Device key sets and the xenstore writes of libxl_device.c: the generic add
 * (both directories, their permissions and the private /libxl copy in one
 * transaction) and the generic destroy. No waiting and no scripts here. */
#include "toolstack.h"
#include "xb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XS_PATH_MAX 3072 /* XENSTORE_ABS_PATH_MAX */

int ts_kvs_add(struct ts_kvs *kv, const char *key, const char *fmt, ...)
{
        if (kv->n == TS_MAX_KVS)
                return -ENOSPC;
        va_list ap;
        char *val = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&val, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        kv->v[kv->n].key = key;
        kv->v[kv->n].val = val;
        kv->n++;
        return 0;
}

const char *ts_kvs_get(const struct ts_kvs *kv, const char *key)
{
        for (size_t i = 0; i < kv->n; i++)
                if (strcmp(kv->v[i].key, key) == 0)
                        return kv->v[i].val;
        return NULL;
}

void ts_kvs_free(struct ts_kvs *kv)
{
        for (size_t i = 0; i < kv->n; i++)
                free(kv->v[i].val);
        kv->n = 0;
}

void ts_device_init(struct ts_device *d, const struct ts_kind *kind, uint32_t domid,
                    uint32_t backend_domid, uint32_t devid)
{
        memset(d, 0, sizeof(*d));
        d->kind = kind;
        d->domid = domid;
        d->backend_domid = backend_domid;
        d->devid = devid;
}

int ts_device_common_keys(struct ts_device *d)
{
        int rc = 0;
        rc = rc ?: ts_kvs_add(&d->back, "frontend-id", "%u", d->domid);
        rc = rc ?: ts_kvs_add(&d->back, "online", "1");
        rc = rc ?: ts_kvs_add(&d->back, "state", "1"); /* XenbusStateInitialising */
        rc = rc ?: ts_kvs_add(&d->front, "backend-id", "%u", d->backend_domid);
        rc = rc ?: ts_kvs_add(&d->front, "state", "1");
        return rc;
}

void ts_device_free(struct ts_device *d)
{
        ts_kvs_free(&d->back);
        ts_kvs_free(&d->front);
        ts_kvs_free(&d->ro_front);
}

static int fmt_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fmt_path(char *buf, size_t len, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, len, fmt, ap);
        va_end(ap);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ts_backend_path(const struct ts_device *d, char *buf, size_t len)
{
        return fmt_path(buf, len, "/local/domain/%u/backend/%s/%u/%u", d->backend_domid,
                        d->kind->name, d->domid, d->devid);
}

int ts_frontend_path(const struct ts_device *d, char *buf, size_t len)
{
        return fmt_path(buf, len, "/local/domain/%u/device/%s/%u", d->domid, d->kind->name,
                        d->devid);
}

int ts_libxl_path(const struct ts_device *d, char *buf, size_t len)
{
        return fmt_path(buf, len, "/libxl/%u/device/%s/%u", d->domid, d->kind->name, d->devid);
}

int ts_parse_backend_path(const char *path, uint32_t *backend_domid, char kind[16], uint32_t *domid,
                          uint32_t *devid)
{
        int n = 0;
        if (sscanf(path, "/local/domain/%u/backend/%15[^/]/%u/%u%n", backend_domid, kind, domid,
                   devid, &n) != 4 ||
            path[n] != '\0')
                return -EINVAL;
        return 0;
}

const char *ts_ctx(const struct ts_device *d, char *buf, size_t len)
{
        snprintf(buf, len, "Domain %u", d->domid);
        return buf;
}

static int xs_errno(void)
{
        return errno ? -errno : -EIO;
}

static int write_str(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *val)
{
        return xs_write(xs, t, path, val, (unsigned)strlen(val)) ? 0 : xs_errno();
}

static int rm_if_present(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
        return xs_rm(xs, t, path) || errno == ENOENT ? 0 : xs_errno();
}

/* libxl__xs_writev / libxl__xs_writev_perms: one write per key, then the
 * permissions on each key when perms is given (otherwise the new node
 * inherits its directory's, as xenstored does). */
static int writev(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                  const struct ts_kvs *kv, struct xs_permissions *perms, unsigned nperms)
{
        char path[XS_PATH_MAX + 64];
        for (size_t i = 0; i < kv->n; i++) {
                int rc = fmt_path(path, sizeof(path), "%s/%s", dir, kv->v[i].key);
                rc = rc ?: write_str(xs, t, path, kv->v[i].val);
                if (rc == 0 && perms && !xs_set_permissions(xs, t, path, perms, nperms))
                        rc = xs_errno();
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* An empty directory with the given permissions, replacing what was there. */
static int fresh_dir(struct xs_handle *xs, xs_transaction_t t, const char *path,
                     struct xs_permissions *perms, unsigned nperms)
{
        int rc = rm_if_present(xs, t, path);
        if (rc < 0)
                return rc;
        if (!xs_mkdir(xs, t, path) || !xs_set_permissions(xs, t, path, perms, nperms))
                return xs_errno();
        return 0;
}

struct dev_paths {
        char fe[XS_PATH_MAX], be[XS_PATH_MAX], lx[XS_PATH_MAX];
};

static int dev_paths(const struct ts_device *d, struct dev_paths *p)
{
        int rc = ts_frontend_path(d, p->fe, sizeof(p->fe));
        rc = rc ?: ts_backend_path(d, p->be, sizeof(p->be));
        return rc ?: ts_libxl_path(d, p->lx, sizeof(p->lx));
}

static int write_frontend(struct xs_handle *xs, xs_transaction_t t, const struct ts_device *d,
                          const struct dev_paths *p)
{
        /* The guest owns its directory and the backend may read it; keys the
         * guest must not change (vif mtu) belong to the backend domain and are
         * only readable by the guest. */
        struct xs_permissions fe_perms[2] = {{d->domid, XS_PERM_NONE},
                                             {d->backend_domid, XS_PERM_READ}};
        struct xs_permissions ro_perms[2] = {{d->backend_domid, XS_PERM_NONE},
                                             {d->domid, XS_PERM_READ}};
        char path[XS_PATH_MAX + 64];
        int rc = fresh_dir(xs, t, p->fe, fe_perms, 2);
        rc = rc ?: fmt_path(path, sizeof(path), "%s/backend", p->fe);
        rc = rc ?: write_str(xs, t, path, p->be);
        rc = rc ?: writev(xs, t, p->fe, &d->front, fe_perms, 2);
        return rc ?: writev(xs, t, p->fe, &d->ro_front, ro_perms, 2);
}

static int write_backend(struct xs_handle *xs, xs_transaction_t t, const struct ts_device *d,
                         const struct dev_paths *p)
{
        struct xs_permissions be_perms[2] = {{d->backend_domid, XS_PERM_NONE},
                                             {d->domid, XS_PERM_READ}};
        char path[XS_PATH_MAX + 64];
        int rc = fresh_dir(xs, t, p->be, be_perms, 2);
        rc = rc ?: fmt_path(path, sizeof(path), "%s/frontend", p->be);
        rc = rc ?: write_str(xs, t, path, p->fe);
        return rc ?: writev(xs, t, p->be, &d->back, NULL, 0);
}

int ts_device_write(struct xs_handle *xs, xs_transaction_t t, const struct ts_device *d)
{
        struct dev_paths p;
        char path[XS_PATH_MAX + 64];
        int rc = dev_paths(d, &p);
        if (rc < 0)
                return rc;

        /* libxl__device_exists looks at the private copy, not the backend. */
        unsigned len;
        char *old = xs_read(xs, t, p.lx, &len);
        if (old) {
                free(old);
                return -EEXIST;
        }
        rc = rm_if_present(xs, t, p.lx);
        rc = rc ?: fmt_path(path, sizeof(path), "%s/frontend", p.lx);
        rc = rc ?: write_str(xs, t, path, p.fe);
        rc = rc ?: fmt_path(path, sizeof(path), "%s/backend", p.lx);
        rc = rc ?: write_str(xs, t, path, p.be);
        rc = rc ?: write_frontend(xs, t, d, &p);
        rc = rc ?: write_backend(xs, t, d, &p);
        /* The private copy lets libxl rebuild the device without trusting the
         * backend's directory, which the backend domain may change. */
        return rc ?: writev(xs, t, p.lx, &d->back, NULL, 0);
}

int ts_path_cleanup(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
        char buf[XS_PATH_MAX];
        if (fmt_path(buf, sizeof(buf), "%s", path) < 0)
                return -ENAMETOOLONG;
        if (!xs_rm(xs, t, buf))
                return errno == ENOENT ? 0 : xs_errno();
        for (char *slash = strrchr(buf, '/'); slash && slash != buf; slash = strrchr(buf, '/')) {
                *slash = '\0';
                unsigned num = 0;
                char **ents = xs_directory(xs, t, buf, &num);
                free(ents);
                if (!ents || num != 0)
                        break;
                if (!xs_rm(xs, t, buf))
                        return xs_errno();
        }
        return 0;
}

static int destroy_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        const struct dev_paths *p = arg;
        /* As the toolstack domain: frontend and libxl paths, then the backend
         * path (libxl removes it too, down to empty parents). */
        int rc = ts_path_cleanup(xs, t, p->fe);
        rc = rc ?: ts_path_cleanup(xs, t, p->lx);
        return rc ?: ts_path_cleanup(xs, t, p->be);
}

int ts_device_destroy(struct xs_handle *xs, const struct ts_device *d)
{
        struct dev_paths p;
        int rc = dev_paths(d, &p);
        return rc ?: xb_transact(xs, destroy_txn, &p);
}
