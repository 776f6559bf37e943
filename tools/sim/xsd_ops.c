/* Request handlers of the simulator's xenstored: one function per xs_wire
 * message type, with the argument checks, permission decisions and errno
 * choices of C xenstored 4.17 (xenstored_core.c, xenstored_domain.c). Works on
 * connections without sockets, so unit tests drive it directly. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

typedef int (*xsd_handler)(struct xsd *x, struct xsd_conn *c, const char *p, size_t len);

/* The payload must be exactly one string (xenstored's onearg()). */
static const char *onearg(const char *p, size_t len)
{
        if (!len || memchr(p, 0, len) != p + len - 1)
                return NULL;
        return p;
}

static bool unpriv(const struct xsd_conn *c)
{
        return c && !xsd_conn_priv(c);
}

static int ack(struct xsd_conn *c, uint32_t type)
{
        if (c)
                xsd_conn_reply(c, type, "OK", 3);
        return 0;
}

/* errno_from_parents(): a missing or forbidden node reports EACCES unless the
 * nearest existing ancestor grants the access, so callers learn nothing about
 * trees they may not see. */
static int errno_from_parents(struct xsd *x, struct xsd_conn *c, const char *name, int err,
                              unsigned int perm)
{
        char *pname = strdup(name);
        struct xsd_node *p = NULL;
        unsigned int pperm = XS_PERM_NONE;

        if (!pname)
                return -ENOMEM;
        while (strcmp(pname, "/")) {
                char *up = xsd_path_parent(pname);
                free(pname);
                pname = up;
                if (!pname)
                        return -ENOMEM;
                int rc = xsd_read_node(x, c, pname, &p);
                if (!rc)
                        break;
                if (rc == -ENOMEM || rc == -ENOSPC) {
                        free(pname);
                        return rc;
                }
        }
        free(pname);
        if (p) {
                pperm = xsd_conn_perm(c, &p->perms);
                xsd_node_free(p);
        }
        return (pperm & perm) ? err : -EACCES;
}

static int get_node(struct xsd *x, struct xsd_conn *c, const char *name, unsigned int perm,
                    struct xsd_node **out)
{
        *out = NULL;
        if (!name || !xsd_path_valid(name))
                return -EINVAL;
        int rc = xsd_read_node(x, c, name, out);
        if (!rc) {
                if ((xsd_conn_perm(c, &(*out)->perms) & perm) == perm)
                        return 0;
                xsd_node_free(*out);
                *out = NULL;
                rc = -EACCES;
        }
        if (rc == -ENOMEM || rc == -ENOSPC)
                return rc;
        return errno_from_parents(x, c, name, rc, perm);
}

/* Canonicalises arg (NULL stays NULL: malformed payload, EINVAL). */
static int get_node_canon(struct xsd *x, struct xsd_conn *c, const char *arg, unsigned int perm,
                          struct xsd_node **out, char **canon)
{
        *canon = NULL;
        *out = NULL;
        if (arg && !(*canon = xsd_path_canonical(c ? c->domid : 0, arg)))
                return -ENOMEM;
        return get_node(x, c, *canon, perm, out);
}

/* construct_node() + create_node(): creates name and its missing parents,
 * each inheriting its parent's perms, owned by an unprivileged creator. */
static int create_node(struct xsd *x, struct xsd_conn *c, const char *name, const char *data,
                       size_t len, struct xsd_node **out)
{
        struct xsd_node **nodes = NULL; /* nodes[0]: name ... nodes[levels]: existing */
        unsigned int levels = 0, written = 0;
        char *pname = strdup(name);
        int rc = 0;

        *out = NULL;
        if (!pname)
                return -ENOMEM;
        for (;;) {
                struct xsd_node **nn = realloc(nodes, (levels + 2) * sizeof(*nodes));
                if (!nn) {
                        rc = -ENOMEM;
                        goto out;
                }
                nodes = nn;
                nodes[levels + 1] = NULL;
                nodes[levels] = xsd_node_new(pname);
                char *up = xsd_path_parent(pname);
                free(pname);
                pname = up;
                if (!nodes[levels] || !pname) {
                        levels += nodes[levels] != NULL;
                        rc = -ENOMEM;
                        goto out;
                }
                levels++;
                rc = xsd_read_node(x, c, pname, &nodes[levels]);
                if (!rc)
                        break;
                if (rc != -ENOENT || !strcmp(pname, "/"))
                        goto out;
        }
        for (unsigned int i = levels; i-- > 0;) {
                struct xsd_node *parent = nodes[i + 1];
                if ((rc = xsd_node_add_child(parent, xsd_path_base(nodes[i]->name))) ||
                    (rc = xsd_node_set_perms(nodes[i], &parent->perms)))
                        goto out;
                if (unpriv(c))
                        nodes[i]->perms.p[0].id = c->domid;
        }
        if ((rc = xsd_node_set_data(nodes[0], data, (uint32_t)len)))
                goto out;
        /* Written bottom up; new nodes count against the creator's quota. */
        for (written = 0; written <= levels; written++) {
                struct xsd_node *n = nodes[written];
                bool is_new = written < levels;
                if (is_new && unpriv(c) && xsd_entry_count(x, c) >= XSD_QUOTA_NODES) {
                        rc = -ENOSPC;
                        break;
                }
                if ((rc = xsd_write_node(x, c, n, false)))
                        break;
                if (is_new)
                        xsd_entry_add(x, c, (uint16_t)n->perms.p[0].id, 1);
        }
        if (rc) {
                for (unsigned int j = 0; j < written && j < levels; j++) {
                        xsd_delete_node(x, c, nodes[j], true);
                        xsd_entry_add(x, c, (uint16_t)nodes[j]->perms.p[0].id, -1);
                }
                if (c && c->cur)
                        c->cur->fail = true; /* as destroy_node() in a transaction */
                goto out;
        }
        *out = nodes[0];
        nodes[0] = NULL;
out:
        for (unsigned int i = 0; i <= levels && nodes; i++)
                xsd_node_free(nodes[i]);
        free(nodes);
        free(pname);
        return rc;
}

static int op_write(struct xsd *x, struct xsd_conn *c, const char *arg, const char *data,
                    size_t len)
{
        struct xsd_node *n;
        char *name;
        int rc = get_node_canon(x, c, arg, XS_PERM_WRITE, &n, &name);

        if (rc == -ENOENT) {
                rc = create_node(x, c, name, data, len, &n);
        } else if (!rc) {
                rc = xsd_node_set_data(n, data, (uint32_t)len);
                if (!rc)
                        rc = xsd_write_node(x, c, n, false);
        }
        if (!rc)
                xsd_fire_watches(x, c, name, n, false, NULL);
        xsd_node_free(n);
        free(name);
        return rc;
}

static int op_mkdir(struct xsd *x, struct xsd_conn *c, const char *arg)
{
        struct xsd_node *n;
        char *name;
        int rc = get_node_canon(x, c, arg, XS_PERM_WRITE, &n, &name);

        /* An existing node is fine and fires nothing. */
        if (rc == -ENOENT) {
                rc = create_node(x, c, name, NULL, 0, &n);
                if (!rc)
                        xsd_fire_watches(x, c, name, n, false, NULL);
        }
        xsd_node_free(n);
        free(name);
        return rc;
}

static int rm_subtree(struct xsd *x, struct xsd_conn *c, const char *name, const char *root)
{
        struct xsd_node *n;
        int rc = xsd_read_node(x, c, name, &n);

        if (rc)
                return rc == -ENOENT ? 0 : rc;
        for (uint32_t off = 0; off < n->childlen; off += (uint32_t)strlen(n->children + off) + 1) {
                char *child;
                if (asprintf(&child, "%s/%s", strcmp(name, "/") ? name : "", n->children + off) <
                    0) {
                        rc = -ENOMEM;
                        break;
                }
                rc = rm_subtree(x, c, child, root);
                free(child);
                if (rc)
                        break;
        }
        if (!rc) {
                /* Fired while the node's perms are still known; sub-nodes
                 * only to watches on exactly them (delnode_sub()). */
                bool exact = strcmp(root, name) != 0;
                rc = xsd_delete_node(x, c, n, exact);
                if (!rc) {
                        xsd_fire_watches(x, c, name, n, exact, NULL);
                        xsd_entry_add(x, c, (uint16_t)n->perms.p[0].id, -1);
                }
        }
        xsd_node_free(n);
        return rc;
}

int xsd_rm_node(struct xsd *x, struct xsd_conn *c, const char *name)
{
        char *pname = xsd_path_parent(name);
        struct xsd_node *parent;
        int rc;

        if (!pname)
                return -ENOMEM;
        rc = xsd_read_node(x, c, pname, &parent);
        free(pname);
        if (rc)
                return (rc == -ENOMEM || rc == -ENOSPC) ? rc : -EINVAL;
        rc = rm_subtree(x, c, name, name);
        if (!rc && !xsd_node_del_child(parent, xsd_path_base(name)))
                rc = xsd_write_node(x, c, parent, true);
        xsd_node_free(parent);
        return rc;
}

/* domain_alloc_permrefs(): entries naming domains that do not exist are kept
 * but ignored, so a later domain with that id inherits nothing. */
static void perms_mark_missing(struct xsd *x, struct xsd_perms *p)
{
        for (unsigned int i = 0; i < p->num; i++)
                if (p->p[i].id != 0 && !xsd_domain_find(x, (uint16_t)p->p[i].id))
                        p->p[i].perms |= XS_PERM_IGNORE;
}

static int op_set_perms(struct xsd *x, struct xsd_conn *c, const char *arg, struct xsd_perms *np)
{
        struct xsd_node *n;
        struct xsd_perms old;
        char *name;
        int rc;

        perms_mark_missing(x, np);
        if (np->p[0].perms & XS_PERM_IGNORE)
                return -ENOENT;
        if (arg[0] == '@') {
                struct xsd_perms *sp = !strcmp(arg, "@introduceDomain") ? &x->special_intro
                                       : !strcmp(arg, "@releaseDomain") ? &x->special_release
                                                                        : NULL;
                if (!sp)
                        return -ENOENT;
                if ((xsd_conn_perm(c, sp) & (XS_PERM_WRITE | XS_PERM_OWNER)) !=
                    (XS_PERM_WRITE | XS_PERM_OWNER))
                        return -EACCES;
                if (xsd_perms_copy(&old, np))
                        return -ENOMEM;
                xsd_perms_clear(sp);
                *sp = old;
                return 0;
        }
        rc = get_node_canon(x, c, arg, XS_PERM_WRITE | XS_PERM_OWNER, &n, &name);
        if (rc)
                goto out;
        /* Unprivileged domains may not give their nodes away. */
        if (unpriv(c) && np->p[0].id != n->perms.p[0].id) {
                rc = -EPERM;
                goto out;
        }
        if ((rc = xsd_perms_copy(&old, &n->perms)))
                goto out;
        if (!(rc = xsd_node_set_perms(n, np)) && !(rc = xsd_write_node(x, c, n, false))) {
                xsd_entry_add(x, c, (uint16_t)old.p[0].id, -1);
                xsd_entry_add(x, c, (uint16_t)np->p[0].id, 1);
                /* Watchers losing access are told too (old perms count). */
                xsd_fire_watches(x, c, name, n, false, &old);
        }
        xsd_perms_clear(&old);
out:
        xsd_node_free(n);
        free(name);
        return rc;
}

/* ---- wire handlers ---- */

static int do_read(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        struct xsd_node *n;
        char *name;
        int rc = get_node_canon(x, c, onearg(p, len), XS_PERM_READ, &n, &name);
        if (!rc)
                rc = xsd_conn_reply(c, XS_READ, n->data, n->datalen);
        xsd_node_free(n);
        free(name);
        return rc;
}

static int do_directory(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        struct xsd_node *n;
        char *name;
        int rc = get_node_canon(x, c, onearg(p, len), XS_PERM_READ, &n, &name);
        if (!rc)
                rc = xsd_conn_reply(c, XS_DIRECTORY, n->children, n->childlen);
        xsd_node_free(n);
        free(name);
        return rc;
}

/* send_directory_part(): "<generation>\0" then as many children as fit,
 * and a final empty string once the list is complete. */
static int do_directory_part(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        struct xsd_node *n;
        char *name, gen[24], *data = NULL;
        int rc;

        if (xsd_count_strings(p, len) != 2)
                return -EINVAL;
        if ((rc = get_node_canon(x, c, p, XS_PERM_READ, &n, &name)))
                goto out;
        unsigned int off = (unsigned int)atoi(p + strlen(p) + 1);
        size_t genlen = (size_t)snprintf(gen, sizeof(gen), "%" PRIu64, n->gen) + 1;
        if (off >= n->childlen) {
                char reply[sizeof(gen) + 1];
                memcpy(reply, gen, genlen);
                reply[genlen] = 0;
                rc = xsd_conn_reply(c, XS_DIRECTORY_PART, reply, genlen + 1);
                goto out;
        }
        size_t maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1, l = 0;
        const char *child = n->children + off;
        while (l + strlen(child) < maxlen) {
                l += strlen(child) + 1;
                child += strlen(child) + 1;
                if (off + l == n->childlen)
                        break;
        }
        data = malloc(genlen + l + 1);
        if (!data) {
                rc = -ENOMEM;
                goto out;
        }
        memcpy(data, gen, genlen);
        memcpy(data + genlen, n->children + off, l);
        if (off + l == n->childlen)
                data[genlen + l++] = 0;
        rc = xsd_conn_reply(c, XS_DIRECTORY_PART, data, genlen + l);
out:
        free(data);
        xsd_node_free(n);
        free(name);
        return rc;
}

static int do_get_perms(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        struct xsd_node *n;
        char *name, buf[XENSTORE_PAYLOAD_MAX];
        size_t l;
        int rc = get_node_canon(x, c, onearg(p, len), XS_PERM_READ, &n, &name);
        if (!rc && !(rc = xsd_perms_format(&n->perms, buf, sizeof(buf), &l)))
                rc = xsd_conn_reply(c, XS_GET_PERMS, buf, l);
        xsd_node_free(n);
        free(name);
        return rc;
}

static int do_write(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        /* Path, then binary data that may itself contain NULs. */
        if (!memchr(p, 0, len))
                return -EINVAL;
        size_t off = strlen(p) + 1;
        int rc = op_write(x, c, p, p + off, len - off);
        return rc ? rc : ack(c, XS_WRITE);
}

static int do_mkdir(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        int rc = op_mkdir(x, c, onearg(p, len));
        return rc ? rc : ack(c, XS_MKDIR);
}

static int do_rm(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        struct xsd_node *n;
        char *name;
        int rc = get_node_canon(x, c, onearg(p, len), XS_PERM_WRITE, &n, &name);

        if (rc == -ENOENT) {
                /* Removing a missing node is fine if its parent exists. */
                char *pname = xsd_path_parent(name);
                struct xsd_node *parent = NULL;
                if (!pname) {
                        rc = -ENOMEM;
                } else {
                        int prc = xsd_read_node(x, c, pname, &parent);
                        if (!prc)
                                rc = ack(c, XS_RM);
                        else if (prc == -ENOMEM || prc == -ENOSPC)
                                rc = prc;
                }
                xsd_node_free(parent);
                free(pname);
        } else if (!rc) {
                if (!strcmp(name, "/"))
                        rc = -EINVAL;
                else if (!(rc = xsd_rm_node(x, c, name)))
                        ack(c, XS_RM);
        }
        xsd_node_free(n);
        free(name);
        return rc;
}

static int do_set_perms(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        struct xsd_perms np;
        unsigned int num = xsd_count_strings(p, len);
        int rc;

        if (num < 2)
                return -EINVAL;
        num--;
        if (unpriv(c) && num > XSD_QUOTA_PERMS)
                return -ENOSPC;
        size_t off = strlen(p) + 1;
        if ((rc = xsd_perms_parse(p + off, len - off, num, &np)))
                return rc;
        rc = op_set_perms(x, c, p, &np);
        xsd_perms_clear(&np);
        return rc ? rc : ack(c, XS_SET_PERMS);
}

static int do_watch(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        if (xsd_count_strings(p, len) != 2)
                return -EINVAL;
        const char *token = p + strlen(p) + 1;
        int rc = xsd_watch_add(c, p, token);
        if (rc)
                return rc;
        ack(c, XS_WATCH);
        /* Fires once up front (do_watch()), with the path as given. */
        xsd_conn_event(c, p, token);
        (void)x;
        return 0;
}

static int do_unwatch(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        if (xsd_count_strings(p, len) != 2)
                return -EINVAL;
        int rc = xsd_watch_del(c, p, p + strlen(p) + 1);
        (void)x;
        return rc ? rc : ack(c, XS_UNWATCH);
}

static int do_reset_watches(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        xsd_watch_free_all(c);
        xsd_txn_free_all(c);
        (void)x, (void)p, (void)len;
        return ack(c, XS_RESET_WATCHES);
}

static int do_txn_start(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        char id_str[16];
        uint32_t id;
        int rc;

        (void)x, (void)p, (void)len;
        if (c->cur)
                return -EBUSY; /* no nested transactions */
        if ((rc = xsd_txn_start(c, &id)))
                return rc;
        snprintf(id_str, sizeof(id_str), "%u", id);
        return xsd_conn_reply(c, XS_TRANSACTION_START, id_str, strlen(id_str) + 1);
}

static int do_txn_end(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        const char *arg = onearg(p, len);
        if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
                return -EINVAL;
        if (!c->cur)
                return -ENOENT;
        int rc = xsd_txn_end(x, c, arg[0] == 'T');
        return rc ? rc : ack(c, XS_TRANSACTION_END);
}

static int do_get_domain_path(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        char path[32];
        const char *arg = onearg(p, len);
        (void)x;
        if (!arg)
                return -EINVAL;
        snprintf(path, sizeof(path), "/local/domain/%u", (unsigned int)atoi(arg));
        return xsd_conn_reply(c, XS_GET_DOMAIN_PATH, path, strlen(path) + 1);
}

static int do_is_domain_introduced(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        const char *arg = onearg(p, len);
        if (!arg)
                return -EINVAL;
        unsigned int domid = (unsigned int)atoi(arg);
        bool yes =
            domid == XSD_DOMID_SELF || (domid <= UINT16_MAX && xsd_domain_find(x, (uint16_t)domid));
        return xsd_conn_reply(c, XS_IS_DOMAIN_INTRODUCED, yes ? "T" : "F", 2);
}

static int arg_domain(struct xsd *x, const char *arg, struct xsd_domain **out)
{
        if (!arg)
                return -EINVAL;
        unsigned int domid = (unsigned int)atoi(arg);
        if (domid > UINT16_MAX)
                return -ENOENT;
        *out = xsd_domain_find(x, (uint16_t)domid);
        return *out ? 0 : -ENOENT;
}

static int do_resume(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        struct xsd_domain *d;
        const char *arg = onearg(p, len);
        if (arg && atoi(arg) == 0)
                return -EINVAL; /* onearg_domain() refuses dom0 */
        int rc = arg_domain(x, arg, &d);
        return rc ? rc : ack(c, XS_RESUME);
}

static int do_set_target(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        struct xsd_domain *d, *t;
        int rc;
        if (xsd_count_strings(p, len) < 2)
                return -EINVAL;
        if ((rc = arg_domain(x, p, &d)) || (rc = arg_domain(x, p + strlen(p) + 1, &t)))
                return rc;
        d->target = t->domid;
        return ack(c, XS_SET_TARGET);
}

/* Domains come and go through the pvback-sim daemon (xsd_domain_introduce/
 * release), never over the wire; CONTROL has no debug commands here. */
static int do_enosys(struct xsd *x, struct xsd_conn *c, const char *p, size_t len)
{
        (void)x, (void)c, (void)p, (void)len;
        return -ENOSYS;
}

#define FLAG_NOTID (1u << 0) /* ignores the transaction id */
#define FLAG_PRIV  (1u << 1) /* privileged callers only (EACCES otherwise) */

static const struct {
        xsd_handler fn;
        unsigned int flags;
} handlers[XS_TYPE_COUNT] = {
    [XS_CONTROL] = {do_enosys, FLAG_PRIV},
    [XS_DIRECTORY] = {do_directory, 0},
    [XS_READ] = {do_read, 0},
    [XS_GET_PERMS] = {do_get_perms, 0},
    [XS_WATCH] = {do_watch, FLAG_NOTID},
    [XS_UNWATCH] = {do_unwatch, FLAG_NOTID},
    [XS_TRANSACTION_START] = {do_txn_start, 0},
    [XS_TRANSACTION_END] = {do_txn_end, 0},
    [XS_INTRODUCE] = {do_enosys, FLAG_PRIV},
    [XS_RELEASE] = {do_enosys, FLAG_PRIV},
    [XS_GET_DOMAIN_PATH] = {do_get_domain_path, 0},
    [XS_WRITE] = {do_write, 0},
    [XS_MKDIR] = {do_mkdir, 0},
    [XS_RM] = {do_rm, 0},
    [XS_SET_PERMS] = {do_set_perms, 0},
    [XS_IS_DOMAIN_INTRODUCED] = {do_is_domain_introduced, FLAG_PRIV},
    [XS_RESUME] = {do_resume, FLAG_PRIV},
    [XS_SET_TARGET] = {do_set_target, FLAG_PRIV},
    [XS_RESET_WATCHES] = {do_reset_watches, 0},
    [XS_DIRECTORY_PART] = {do_directory_part, 0},
};

void xsd_process(struct xsd *x, struct xsd_conn *c, const struct xsd_sockmsg *hdr,
                 const char *payload)
{
        int rc;

        c->req = hdr;
        /* process_message(): unknown types (and replies-only types such as
         * WATCH_EVENT and ERROR) are ENOSYS in 4.17. */
        if (hdr->type >= XS_TYPE_COUNT || !handlers[hdr->type].fn) {
                rc = -ENOSYS;
        } else if ((handlers[hdr->type].flags & FLAG_PRIV) && unpriv(c)) {
                rc = -EACCES;
        } else {
                c->cur = NULL;
                if (!(handlers[hdr->type].flags & FLAG_NOTID) && hdr->tx_id &&
                    !(c->cur = xsd_txn_find(c, hdr->tx_id)))
                        rc = -ENOENT;
                else
                        rc = handlers[hdr->type].fn(x, c, payload, hdr->len);
        }
        if (rc)
                xsd_conn_error(c, -rc);
        c->cur = NULL;
        c->req = NULL;
}

int xsd_store_write(struct xsd *x, const char *path, const char *val)
{
        return op_write(x, NULL, path, val, strlen(val));
}

int xsd_store_mknod(struct xsd *x, const char *path, const struct xsd_perms *p)
{
        struct xsd_perms np;
        int rc = op_mkdir(x, NULL, path);
        if (rc || !p)
                return rc;
        if ((rc = xsd_perms_copy(&np, p)))
                return rc;
        rc = op_set_perms(x, NULL, path, &np);
        xsd_perms_clear(&np);
        return rc;
}
