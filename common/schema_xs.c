/* Reads a live xenstore subtree into schema nodes (value and permissions of
 * every node), in one transaction so the snapshot is consistent. Used by
 * pvback-xs-validate and by tests that compare trees. */
#include "schema.h"
#include "schema_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node_vec {
        struct schema_node *v;
        size_t n, cap;
        /* Where a subtree we may not read is noted; NULL: that fails the read. */
        struct schema_findings *unreadable;
};

/* xenstore-ls -p notation: n (none), r, w, b (both), then the domid. */
static char *perms_string(const struct xs_permissions *p, unsigned n)
{
        size_t len = (size_t)n * 16 + 1, o = 0;
        char *s = malloc(len);
        if (!s)
                return NULL;
        s[0] = '\0';
        for (unsigned i = 0; i < n; i++) {
                unsigned rw = p[i].perms & (XS_PERM_READ | XS_PERM_WRITE);
                char c = rw == (XS_PERM_READ | XS_PERM_WRITE) ? 'b'
                         : rw == XS_PERM_READ                 ? 'r'
                         : rw == XS_PERM_WRITE                ? 'w'
                                                              : 'n';
                o += (size_t)snprintf(s + o, len - o, "%s%c%u", i ? "," : "", c, p[i].id);
        }
        return s;
}

static int vec_add(struct node_vec *ns, char *path, char *value, char *perms)
{
        if (ns->n == ns->cap) {
                size_t ncap = ns->cap ? ns->cap * 2 : 256;
                struct schema_node *nv = realloc(ns->v, ncap * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                ns->v = nv;
                ns->cap = ncap;
        }
        ns->v[ns->n++] = (struct schema_node){path, value, perms};
        return 0;
}

static int walk(struct xs_handle *xs, xs_transaction_t t, const char *path, struct node_vec *ns)
{
        unsigned len = 0, np = 0, num = 0;
        char *value = xs_read(xs, t, path, &len);
        if (!value) {
                int err = errno;
                if (err == EACCES && ns->unreadable)
                        return schema_finding_add(ns->unreadable, path,
                                                  "unreadable (permission denied): this subtree "
                                                  "was not checked");
                return err == ENOENT ? 0 : -err;
        }
        struct xs_permissions *p = xs_get_permissions(xs, t, path, &np);
        char *perms = p ? perms_string(p, np) : NULL;
        free(p);
        char *copy = strdup(path);
        if (!copy || vec_add(ns, copy, value, perms) < 0) {
                free(copy);
                free(value);
                free(perms);
                return -ENOMEM;
        }
        char **ents = xs_directory(xs, t, path, &num);
        int rc = 0;
        for (unsigned i = 0; ents && i < num && rc == 0; i++) {
                char *child = NULL;
                if (asprintf(&child, "%s/%s", strcmp(path, "/") ? path : "", ents[i]) < 0)
                        rc = -ENOMEM;
                else
                        rc = walk(xs, t, child, ns);
                free(child);
        }
        free(ents);
        return rc;
}

int schema_read_xs(struct xs_handle *xs, const char *const *paths, size_t npaths,
                   struct schema_node **nodes, size_t *n)
{
        return schema_read_xs_partial(xs, paths, npaths, nodes, n, NULL);
}

int schema_read_xs_partial(struct xs_handle *xs, const char *const *paths, size_t npaths,
                           struct schema_node **nodes, size_t *n,
                           struct schema_findings *unreadable)
{
        struct node_vec ns = {.unreadable = unreadable};
        xs_transaction_t t = xs_transaction_start(xs);
        int rc = 0;
        for (size_t i = 0; i < npaths && rc == 0; i++)
                rc = walk(xs, t, paths[i], &ns);
        if (t != XBT_NULL)
                xs_transaction_end(xs, t, true);
        if (rc < 0) {
                schema_nodes_free(ns.v, ns.n);
                return rc;
        }
        *nodes = ns.v;
        *n = ns.n;
        return 0;
}

void schema_nodes_free(struct schema_node *nodes, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free((char *)nodes[i].path);
                free((char *)nodes[i].value);
                free((char *)nodes[i].perms);
        }
        free(nodes);
}
