/* Domains of the simulator's xenstored: who is privileged, the tree libxl
 * 4.17 writes when it creates a domain (libxl__domain_make, libxl__build_post;
 * xen-init-dom0 for Domain-0), and what a domain's end removes (libxl's forced
 * destroy plus xenstored's domain_tree_remove()). Socket plumbing is in
 * xsd_conn.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xsd_internal.h"

#define LOG_CTX "xenstored"

struct xsd_domain *xsd_domain_find(struct xsd *x, uint16_t domid)
{
        for (struct xsd_domain *d = x->domains; d; d = d->next)
                if (d->domid == domid)
                        return d;
        return NULL;
}

/* Domain 0 is the only privileged domain (xenstored's dom0_domid and
 * priv_domid default to 0). */
bool xsd_conn_priv(const struct xsd_conn *c)
{
        return !c || c->domid == 0;
}

int xsd_conn_target(const struct xsd_conn *c)
{
        struct xsd_domain *d = c ? xsd_domain_find(c->x, c->domid) : NULL;
        return d ? d->target : -1;
}

unsigned int xsd_conn_perm(const struct xsd_conn *c, const struct xsd_perms *p)
{
        if (!c)
                return XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
        return xsd_perm_for(p, c->domid, xsd_conn_priv(c), xsd_conn_target(c));
}

static int mknod_perms(struct xsd *x, const char *path, uint16_t owner, unsigned int dflt,
                       int reader)
{
        struct xs_permissions p[2] = {{.id = owner, .perms = dflt},
                                      {.id = (unsigned int)reader, .perms = XS_PERM_READ}};
        struct xsd_perms ps = {.num = reader >= 0 ? 2 : 1, .p = p};
        return xsd_store_mknod(x, path, &ps);
}

#define TRY(expr)                                                                                  \
        do {                                                                                       \
                if ((rc = (expr)))                                                                 \
                        goto out;                                                                  \
        } while (0)

static int fmt(char *buf, size_t len, const char *f, unsigned int a, const char *s)
{
        int n = snprintf(buf, len, f, a, s);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* xen-init-dom0 and xenstored's own nodes for Domain-0. */
static int build_dom0(struct xsd *x)
{
        static const char vm[] = "/vm/00000000-0000-0000-0000-000000000000";
        int rc;
        TRY(xsd_store_write(x, "/local/domain/0/domid", "0"));
        TRY(xsd_store_write(x, "/local/domain/0/name", "Domain-0"));
        TRY(xsd_store_write(x, "/local/domain/0/vm", vm));
        TRY(xsd_store_write(x, "/vm/00000000-0000-0000-0000-000000000000/uuid",
                            "00000000-0000-0000-0000-000000000000"));
        TRY(xsd_store_write(x, "/vm/00000000-0000-0000-0000-000000000000/name", "Domain-0"));
out:
        return rc;
}

/* libxl__domain_make(): the home (dom0-owned, readable by the guest), the
 * guest-writable leaves, /vm and /libxl; then libxl__build_post()'s keys. */
static int build_domu(struct xsd *x, uint16_t domid)
{
        static const char *const ro[] = {"cpu", "memory", "device", "control"};
        static const char *const rw[] = {"control/shutdown",
                                         "control/feature-poweroff",
                                         "control/feature-reboot",
                                         "control/feature-suspend",
                                         "control/sysrq",
                                         "device/suspend/event-channel",
                                         "data",
                                         "drivers",
                                         "feature",
                                         "attr",
                                         "error"};
        char dom[64], vm[96], lx[64], p[192], uuid[40], name[16], id[8];
        int rc;

        snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012x", domid);
        snprintf(name, sizeof(name), "sim-%u", domid);
        snprintf(id, sizeof(id), "%u", domid);
        TRY(fmt(dom, sizeof(dom), "/local/domain/%u%s", domid, ""));
        snprintf(vm, sizeof(vm), "/vm/%s", uuid);
        TRY(fmt(lx, sizeof(lx), "/libxl/%u%s", domid, ""));

        TRY(mknod_perms(x, dom, 0, XS_PERM_NONE, domid));
        TRY(mknod_perms(x, vm, 0, XS_PERM_NONE, domid));
        TRY(mknod_perms(x, lx, 0, XS_PERM_NONE, -1));
        TRY(fmt(p, sizeof(p), "/libxl/%u/device%s", domid, ""));
        TRY(mknod_perms(x, p, 0, XS_PERM_NONE, -1));
        TRY(fmt(p, sizeof(p), "/local/domain/%u/vm%s", domid, ""));
        TRY(xsd_store_write(x, p, vm));
        TRY(fmt(p, sizeof(p), "/local/domain/%u/name%s", domid, ""));
        TRY(xsd_store_write(x, p, name));
        for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
                TRY(fmt(p, sizeof(p), "/local/domain/%u/%s", domid, ro[i]));
                TRY(mknod_perms(x, p, 0, XS_PERM_NONE, domid));
        }
        for (size_t i = 0; i < sizeof(rw) / sizeof(rw[0]); i++) {
                TRY(fmt(p, sizeof(p), "/local/domain/%u/%s", domid, rw[i]));
                TRY(mknod_perms(x, p, domid, XS_PERM_NONE, -1));
        }
        snprintf(p, sizeof(p), "%s/uuid", vm);
        TRY(xsd_store_write(x, p, uuid));
        snprintf(p, sizeof(p), "%s/name", vm);
        TRY(xsd_store_write(x, p, name));
        TRY(fmt(p, sizeof(p), "/local/domain/%u/%s", domid,
                "control/platform-feature-multiprocessor-suspend"));
        TRY(xsd_store_write(x, p, "1"));
        TRY(fmt(p, sizeof(p), "/local/domain/%u/%s", domid,
                "control/platform-feature-xs_reset_watches"));
        TRY(xsd_store_write(x, p, "1"));
        snprintf(p, sizeof(p), "%s/type", lx);
        TRY(xsd_store_write(x, p, "pv"));
        snprintf(p, sizeof(p), "%s/dm-version", lx);
        TRY(xsd_store_write(x, p, "qemu_xen"));
        /* libxl__build_post() */
        TRY(fmt(p, sizeof(p), "/local/domain/%u/%s", domid, "memory/static-max"));
        TRY(xsd_store_write(x, p, "131072"));
        TRY(fmt(p, sizeof(p), "/local/domain/%u/%s", domid, "memory/target"));
        TRY(xsd_store_write(x, p, "131072"));
        TRY(fmt(p, sizeof(p), "/local/domain/%u/%s", domid, "cpu/0/availability"));
        TRY(xsd_store_write(x, p, "online"));
        TRY(fmt(p, sizeof(p), "/local/domain/%u/%s", domid, "domid"));
        TRY(xsd_store_write(x, p, id));
        snprintf(p, sizeof(p), "%s/start_time", vm);
        TRY(xsd_store_write(x, p, "0"));
out:
        return rc;
}

int xsd_domain_introduce(struct xsd *x, uint16_t domid)
{
        int rc;

        if (xsd_domain_find(x, domid))
                return -EEXIST;
        struct xsd_domain *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->x = x;
        d->domid = domid;
        d->listen_fd = -1;
        d->target = -1;
        d->next = x->domains;
        x->domains = d;
        if (x->loop && (rc = xsd_listen(x, d))) {
                x->domains = d->next;
                free(d);
                return rc;
        }
        rc = domid ? build_domu(x, domid) : build_dom0(x);
        if (rc) {
                pv_err(LOG_CTX, "dom%u: cannot write its tree: %s", domid, strerror(-rc));
                if (domid)
                        xsd_domain_release(x, domid);
                return rc;
        }
        xsd_fire_special(x, "@introduceDomain");
        xsd_conn_flush_all(x);
        return 0;
}

static void rm_if_present(struct xsd *x, const char *path)
{
        if (xsd_map_get(&x->nodes, path))
                xsd_rm_node(x, NULL, path);
}

static int cmp_len(const void *a, const void *b)
{
        size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
        return la < lb ? -1 : la > lb;
}

/* domain_tree_remove(): what the domain still owns goes too, and entries
 * naming it are ignored from now on (domain_adjust_node_perms()). */
static void remove_owned(struct xsd *x, uint16_t domid)
{
        char **names = NULL;
        size_t n = 0, cap = 0;

        for (size_t i = 0; i < x->nodes.nb; i++) {
                for (struct xsd_map_ent *e = x->nodes.b[i]; e; e = e->next) {
                        struct xsd_node *node = e->val;
                        for (unsigned int k = 1; k < node->perms.num; k++)
                                if (node->perms.p[k].id == domid)
                                        node->perms.p[k].perms |= XS_PERM_IGNORE;
                        if (node->perms.p[0].id != domid || !strcmp(node->name, "/"))
                                continue;
                        if (n == cap) {
                                char **nn =
                                    realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));
                                if (!nn)
                                        goto out;
                                names = nn;
                        }
                        if (!(names[n] = strdup(node->name)))
                                goto out;
                        n++;
                }
        }
        if (n)
                qsort(names, n, sizeof(*names), cmp_len); /* parents before children */
        for (size_t i = 0; i < n; i++)
                rm_if_present(x, names[i]);
out:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* Every /local/domain/<b>/backend/<kind>/<domid>: collected first, since
 * each removal rewrites the nodes being walked. */
static void remove_backends(struct xsd *x, uint16_t domid)
{
        char **paths = NULL, p[160];
        size_t n = 0;
        const struct xsd_node *local = xsd_map_get(&x->nodes, "/local/domain");

        for (uint32_t o = 0; local && o < local->childlen;
             o += (uint32_t)strlen(local->children + o) + 1) {
                snprintf(p, sizeof(p), "/local/domain/%s/backend", local->children + o);
                const struct xsd_node *be = xsd_map_get(&x->nodes, p);
                for (uint32_t k = 0; be && k < be->childlen;
                     k += (uint32_t)strlen(be->children + k) + 1) {
                        char **np = realloc(paths, (n + 1) * sizeof(*np));
                        if (!np)
                                goto out;
                        paths = np;
                        if (asprintf(&paths[n], "%s/%s/%u", p, be->children + k, domid) < 0)
                                goto out;
                        n++;
                }
        }
out:
        for (size_t i = 0; i < n; i++) {
                rm_if_present(x, paths[i]);
                free(paths[i]);
        }
        free(paths);
}

int xsd_domain_release(struct xsd *x, uint16_t domid)
{
        struct xsd_domain *d = xsd_domain_find(x, domid);
        char p[128];

        if (!d)
                return -ENOENT;
        if (domid == 0)
                return -EINVAL;
        for (struct xsd_conn *c = x->conns; c; c = c->next)
                if (c->domid == domid)
                        xsd_conn_kill(c);
        xsd_conn_reap(x);
        xsd_unlisten(x, d);

        /* libxl's forced destroy: frontend home, every backend serving it. */
        snprintf(p, sizeof(p), "/local/domain/%u", domid);
        rm_if_present(x, p);
        remove_backends(x, domid);
        snprintf(p, sizeof(p), "/vm/00000000-0000-4000-8000-%012x", domid);
        rm_if_present(x, p);
        snprintf(p, sizeof(p), "/libxl/%u", domid);
        rm_if_present(x, p);
        remove_owned(x, domid);

        for (struct xsd_domain **pp = &x->domains; *pp; pp = &(*pp)->next) {
                if (*pp == d) {
                        *pp = d->next;
                        break;
                }
        }
        for (struct xsd_domain *o = x->domains; o; o = o->next)
                if (o->target == domid)
                        o->target = -1;
        free(d);
        xsd_fire_special(x, "@releaseDomain");
        xsd_conn_flush_all(x);
        return 0;
}
