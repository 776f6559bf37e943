/* Watches of the simulator's xenstored, after C xenstored 4.17
 * (xenstored_watch.c): a watch fires once when set, then for every change of
 * its path or anything below it, only for watchers that may read the node or
 * its parent; @introduceDomain/@releaseDomain go to whoever may read the
 * special node (privileged callers by default). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

int xsd_watch_add(struct xsd_conn *c, const char *path, const char *token)
{
        bool relative = path[0] != '/' && path[0] != '@';
        char *canon;

        if (path[0] == '@') {
                if (strlen(path) > XENSTORE_REL_PATH_MAX)
                        return -EINVAL;
                canon = strdup(path);
        } else {
                canon = xsd_path_canonical(c->domid, path);
                if (canon && !xsd_path_valid(canon)) {
                        free(canon);
                        return -EINVAL;
                }
        }
        if (!canon)
                return -ENOMEM;
        for (struct xsd_watch *w = c->watches; w; w = w->next) {
                if (!strcmp(w->path, canon) && !strcmp(w->token, token)) {
                        free(canon);
                        return -EEXIST;
                }
        }
        struct xsd_domain *d = xsd_domain_find(c->x, c->domid);
        /* do_watch(): "domain_watch(conn) > quota" - one more than the quota. */
        if (!xsd_conn_priv(c) && d && d->nbwatch > XSD_QUOTA_WATCHES) {
                free(canon);
                return -E2BIG;
        }
        struct xsd_watch *w = calloc(1, sizeof(*w));
        if (!w || !(w->token = strdup(token))) {
                free(w);
                free(canon);
                return -ENOMEM;
        }
        w->path = canon;
        /* Relative watches report paths relative to the home directory. */
        w->prefix_len = relative ? strlen(canon) - strlen(path) : 0;
        struct xsd_watch **pp = &c->watches;
        while (*pp)
                pp = &(*pp)->next;
        *pp = w;
        if (d)
                d->nbwatch++;
        return 0;
}

static void watch_free(struct xsd_conn *c, struct xsd_watch *w)
{
        struct xsd_domain *d = xsd_domain_find(c->x, c->domid);
        if (d && d->nbwatch > 0)
                d->nbwatch--;
        free(w->path);
        free(w->token);
        free(w);
}

int xsd_watch_del(struct xsd_conn *c, const char *path, const char *token)
{
        char *canon = xsd_path_canonical(c->domid, path);
        if (!canon)
                return -ENOMEM;
        for (struct xsd_watch **pp = &c->watches; *pp; pp = &(*pp)->next) {
                struct xsd_watch *w = *pp;
                if (!strcmp(w->path, canon) && !strcmp(w->token, token)) {
                        *pp = w->next;
                        watch_free(c, w);
                        free(canon);
                        return 0;
                }
        }
        free(canon);
        return -ENOENT;
}

void xsd_watch_free_all(struct xsd_conn *c)
{
        while (c->watches) {
                struct xsd_watch *w = c->watches;
                c->watches = w->next;
                watch_free(c, w);
        }
}

/* watch_permitted(): the old perms (a node being removed or re-permissioned),
 * else the node itself, else its parent must be readable. */
static bool watch_permitted(struct xsd *x, struct xsd_conn *c, const char *name,
                            const struct xsd_node *node, const struct xsd_perms *old)
{
        if (old && (xsd_conn_perm(c, old) & XS_PERM_READ))
                return true;
        if (!node)
                node = xsd_map_get(&x->nodes, name);
        if (!node)
                return false;
        if (xsd_conn_perm(c, &node->perms) & XS_PERM_READ)
                return true;
        char *pname = xsd_path_parent(node->name);
        if (!pname)
                return false;
        const struct xsd_node *parent = xsd_map_get(&x->nodes, pname);
        free(pname);
        return parent && (xsd_conn_perm(c, &parent->perms) & XS_PERM_READ);
}

static const struct xsd_perms *special_perms(struct xsd *x, const char *name)
{
        if (!strcmp(name, "@introduceDomain"))
                return &x->special_intro;
        if (!strcmp(name, "@releaseDomain"))
                return &x->special_release;
        return NULL;
}

void xsd_fire_watches(struct xsd *x, struct xsd_conn *origin, const char *name,
                      const struct xsd_node *node, bool exact, const struct xsd_perms *old)
{
        /* During a transaction nothing fires; the commit fires. */
        if (origin && origin->cur)
                return;
        for (struct xsd_conn *c = x->conns; c; c = c->next) {
                if (c->dead || !c->watches)
                        continue;
                if (name[0] == '@') {
                        const struct xsd_perms *sp = special_perms(x, name);
                        if (!sp || !(xsd_conn_perm(c, sp) & XS_PERM_READ))
                                continue;
                } else if (!watch_permitted(x, c, name, node, old)) {
                        continue;
                }
                for (struct xsd_watch *w = c->watches; w; w = w->next) {
                        bool hit =
                            exact ? !strcmp(name, w->path) : xsd_path_is_child(name, w->path);
                        if (hit)
                                xsd_conn_event(c, name + w->prefix_len, w->token);
                }
        }
}

void xsd_fire_special(struct xsd *x, const char *name)
{
        xsd_fire_watches(x, NULL, name, NULL, true, NULL);
}
