/* Life cycle of the simulator's xenstored (xsd.h): the initial store as
 * xenstored's setup_structure() makes it, and teardown of every connection,
 * socket and node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

static void node_free_cb(void *p)
{
        xsd_node_free(p);
}

static int manual_node(struct xsd *x, const char *name, const char *child)
{
        struct xs_permissions p = {.id = 0, .perms = XS_PERM_NONE};
        struct xsd_perms ps = {.num = 1, .p = &p};
        struct xsd_node *n = xsd_node_new(name);
        if (!n || xsd_node_set_perms(n, &ps) || (child && xsd_node_add_child(n, child)) ||
            xsd_map_put(&x->nodes, name, n, NULL)) {
                xsd_node_free(n);
                return -ENOMEM;
        }
        n->gen = x->generation++;
        return 0;
}

int xsd_new(struct ev_loop *loop, const char *dir, struct xsd **out)
{
        struct xsd *x = calloc(1, sizeof(*x));
        struct xs_permissions p = {.id = 0, .perms = XS_PERM_NONE};
        struct xsd_perms ps = {.num = 1, .p = &p};

        if (!x)
                return -ENOMEM;
        x->loop = loop;
        if (dir && snprintf(x->dir, sizeof(x->dir), "%s", dir) >= (int)sizeof(x->dir)) {
                free(x);
                return -ENAMETOOLONG;
        }
        /* The special watch nodes start owned by dom0 and closed to others. */
        if (xsd_map_init(&x->nodes) || manual_node(x, "/", "tool") ||
            manual_node(x, "/tool", "xenstored") || manual_node(x, "/tool/xenstored", NULL) ||
            xsd_perms_copy(&x->special_intro, &ps) || xsd_perms_copy(&x->special_release, &ps)) {
                xsd_destroy(x);
                return -ENOMEM;
        }
        *out = x;
        return 0;
}

int xsd_create(struct ev_loop *loop, const char *dir, struct xsd **out)
{
        if (!loop || !dir)
                return -EINVAL;
        return xsd_new(loop, dir, out);
}

void xsd_destroy(struct xsd *x)
{
        if (!x)
                return;
        while (x->conns)
                xsd_conn_free(x->conns);
        while (x->domains) {
                struct xsd_domain *d = x->domains;
                x->domains = d->next;
                xsd_unlisten(x, d);
                free(d);
        }
        if (x->nodes.b)
                xsd_map_fini(&x->nodes, node_free_cb);
        xsd_perms_clear(&x->special_intro);
        xsd_perms_clear(&x->special_release);
        free(x);
}
