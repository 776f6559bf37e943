/* Node access and transactions of the simulator's xenstored, after C
 * xenstored 4.17 (xenstored_transaction.c): every node a transaction touches
 * is copied into it on first access with the generation it had; at commit the
 * transaction fails with EAGAIN only if one of those nodes changed since, so
 * unrelated writes never cause a conflict. Watches for a transaction's changes
 * fire at commit, in access order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

struct xsd_acc {
        struct xsd_acc *next;
        char *name;
        uint64_t gen;   /* generation at first read (XSD_NO_GENERATION: absent) */
        bool check_gen; /* first access was a read: verify at commit */
        bool modified;
        bool exact;            /* removed as part of a subtree: exact watches only */
        struct xsd_node *node; /* transaction's view; NULL: absent */
        struct xsd_perms old;  /* perms before removal, for watch permission */
};

static bool conn_unpriv(const struct xsd_conn *c)
{
        return c && !xsd_conn_priv(c);
}

static struct xsd_acc *acc_new(struct xsd_conn *c, struct xsd_txn *t, const char *name)
{
        /* xenstored's quota_trans_nodes: a transaction may touch at most
         * this many nodes; exceeding it dooms the transaction. */
        if (conn_unpriv(c) && t->nacc >= XSD_QUOTA_TRANS_NODES) {
                t->fail = true;
                return NULL;
        }
        struct xsd_acc *a = calloc(1, sizeof(*a));
        if (!a || !(a->name = strdup(name)) || xsd_map_put(&t->acc, name, a, NULL)) {
                if (a)
                        free(a->name);
                free(a);
                t->fail = true;
                return NULL;
        }
        if (t->last)
                t->last->next = a;
        else
                t->first = a;
        t->last = a;
        t->nacc++;
        return a;
}

static void acc_free(void *p)
{
        struct xsd_acc *a = p;
        xsd_node_free(a->node);
        xsd_perms_clear(&a->old);
        free(a->name);
        free(a);
}

int xsd_read_node(struct xsd *x, struct xsd_conn *c, const char *name, struct xsd_node **out)
{
        struct xsd_txn *t = c ? c->cur : NULL;
        const struct xsd_node *src;

        *out = NULL;
        if (t) {
                struct xsd_acc *a = xsd_map_get(&t->acc, name);
                if (!a) {
                        const struct xsd_node *g = xsd_map_get(&x->nodes, name);
                        a = acc_new(c, t, name);
                        if (!a)
                                return conn_unpriv(c) && t->nacc >= XSD_QUOTA_TRANS_NODES ? -ENOSPC
                                                                                          : -ENOMEM;
                        a->check_gen = true;
                        a->gen = g ? g->gen : XSD_NO_GENERATION;
                        if (g && !(a->node = xsd_node_dup(g))) {
                                t->fail = true;
                                return -ENOMEM;
                        }
                }
                src = a->node;
        } else {
                src = xsd_map_get(&x->nodes, name);
        }
        if (!src)
                return -ENOENT;
        *out = xsd_node_dup(src);
        return *out ? 0 : -ENOMEM;
}

int xsd_write_node(struct xsd *x, struct xsd_conn *c, struct xsd_node *n, bool no_quota)
{
        struct xsd_txn *t = c ? c->cur : NULL;

        n->gen = x->generation++;
        /* xenstored checks the record size after recording the access, so a
         * refused write inside a transaction dooms the transaction. */
        if (!no_quota && conn_unpriv(c) && xsd_node_size(n) >= XSD_QUOTA_NODE_SIZE) {
                if (t)
                        t->fail = true;
                return -ENOSPC;
        }
        struct xsd_node *copy = xsd_node_dup(n);
        if (!copy) {
                if (t)
                        t->fail = true;
                return -ENOMEM;
        }
        if (t) {
                struct xsd_acc *a = xsd_map_get(&t->acc, n->name);
                if (!a && !(a = acc_new(c, t, n->name))) {
                        xsd_node_free(copy);
                        return t->nacc >= XSD_QUOTA_TRANS_NODES ? -ENOSPC : -ENOMEM;
                }
                xsd_node_free(a->node);
                a->node = copy;
                a->modified = true;
                a->exact = false;
                return 0;
        }
        void *old;
        if (xsd_map_put(&x->nodes, copy->name, copy, &old)) {
                xsd_node_free(copy);
                return -ENOMEM;
        }
        xsd_node_free(old);
        return 0;
}

int xsd_delete_node(struct xsd *x, struct xsd_conn *c, const struct xsd_node *n, bool exact)
{
        struct xsd_txn *t = c ? c->cur : NULL;

        x->generation++;
        if (t) {
                struct xsd_acc *a = xsd_map_get(&t->acc, n->name);
                if (!a && !(a = acc_new(c, t, n->name)))
                        return -ENOMEM;
                if (!a->old.num && xsd_perms_copy(&a->old, &n->perms)) {
                        t->fail = true;
                        return -ENOMEM;
                }
                a->exact = a->modified ? (a->exact && exact) : exact;
                xsd_node_free(a->node);
                a->node = NULL;
                a->modified = true;
                return 0;
        }
        xsd_node_free(xsd_map_del(&x->nodes, n->name));
        return 0;
}

void xsd_entry_add(struct xsd *x, struct xsd_conn *c, uint16_t domid, int delta)
{
        struct xsd_txn *t = c ? c->cur : NULL;
        if (t) {
                for (unsigned int i = 0; i < t->ndeltas; i++) {
                        if (t->deltas[i].domid == domid) {
                                t->deltas[i].delta += delta;
                                return;
                        }
                }
                struct xsd_delta *d = realloc(t->deltas, (t->ndeltas + 1) * sizeof(*d));
                if (!d) {
                        t->fail = true;
                        return;
                }
                t->deltas = d;
                d[t->ndeltas++] = (struct xsd_delta){.domid = domid, .delta = delta};
                return;
        }
        struct xsd_domain *d = xsd_domain_find(x, domid);
        if (d) {
                d->nbentry += delta;
                if (d->nbentry < 0)
                        d->nbentry = 0;
        }
}

int xsd_entry_count(struct xsd *x, struct xsd_conn *c)
{
        struct xsd_domain *d = xsd_domain_find(x, c->domid);
        int n = d ? d->nbentry : 0;
        if (c->cur)
                for (unsigned int i = 0; i < c->cur->ndeltas; i++)
                        if (c->cur->deltas[i].domid == c->domid)
                                n += c->cur->deltas[i].delta;
        return n;
}

struct xsd_txn *xsd_txn_find(struct xsd_conn *c, uint32_t id)
{
        for (struct xsd_txn *t = c->txns; t; t = t->next)
                if (t->id == id)
                        return t;
        return NULL;
}

int xsd_txn_start(struct xsd_conn *c, uint32_t *id)
{
        /* xenstored: "transaction_started > quota_max_transaction", so an
         * unprivileged connection gets one more than the quota. */
        if (conn_unpriv(c) && c->ntxns > XSD_QUOTA_TRANSACTIONS)
                return -ENOSPC;
        struct xsd_txn *t = calloc(1, sizeof(*t));
        if (!t || xsd_map_init(&t->acc)) {
                free(t);
                return -ENOMEM;
        }
        do {
                t->id = c->next_txid++;
        } while (t->id == 0 || xsd_txn_find(c, t->id));
        t->next = c->txns;
        c->txns = t;
        c->ntxns++;
        *id = t->id;
        return 0;
}

static void txn_free(struct xsd_txn *t)
{
        xsd_map_fini(&t->acc, acc_free);
        free(t->deltas);
        free(t);
}

static void txn_unlink(struct xsd_conn *c, struct xsd_txn *t)
{
        for (struct xsd_txn **pp = &c->txns; *pp; pp = &(*pp)->next) {
                if (*pp == t) {
                        *pp = t->next;
                        c->ntxns--;
                        return;
                }
        }
}

static int txn_check(struct xsd *x, struct xsd_conn *c, struct xsd_txn *t)
{
        if (t->fail)
                return -ENOMEM; /* as do_transaction_end() for a doomed transaction */
        for (unsigned int i = 0; i < t->ndeltas; i++) {
                struct xsd_domain *d = xsd_domain_find(x, t->deltas[i].domid);
                int cnt = (d ? d->nbentry : 0) + t->deltas[i].delta;
                /* transaction_fix_domains(): checked for every changed
                 * unprivileged domain, against the count after commit. */
                if (t->deltas[i].domid != 0 && cnt >= XSD_QUOTA_NODES)
                        return -ENOSPC;
        }
        for (struct xsd_acc *a = t->first; a; a = a->next) {
                if (!a->check_gen)
                        continue;
                const struct xsd_node *g = xsd_map_get(&x->nodes, a->name);
                if ((g ? g->gen : XSD_NO_GENERATION) != a->gen)
                        return -EAGAIN;
        }
        (void)c;
        return 0;
}

int xsd_txn_end(struct xsd *x, struct xsd_conn *c, bool commit)
{
        struct xsd_txn *t = c->cur;
        int rc = 0;

        txn_unlink(c, t);
        c->cur = NULL;
        if (commit && !(rc = txn_check(x, c, t))) {
                for (struct xsd_acc *a = t->first; a; a = a->next) {
                        if (!a->modified)
                                continue;
                        if (a->node) {
                                a->node->gen = x->generation++;
                                struct xsd_node *copy = xsd_node_dup(a->node);
                                void *old = NULL;
                                if (!copy || xsd_map_put(&x->nodes, copy->name, copy, &old)) {
                                        xsd_node_free(copy);
                                        rc = -ENOMEM; /* partial commit: keep going */
                                        continue;
                                }
                                xsd_node_free(old);
                        } else {
                                xsd_node_free(xsd_map_del(&x->nodes, a->name));
                        }
                }
                for (unsigned int i = 0; i < t->ndeltas; i++)
                        xsd_entry_add(x, NULL, t->deltas[i].domid, t->deltas[i].delta);
                for (struct xsd_acc *a = t->first; a; a = a->next)
                        if (a->modified)
                                xsd_fire_watches(x, c, a->name, a->node, a->exact,
                                                 a->old.num ? &a->old : NULL);
        }
        txn_free(t);
        return rc;
}

void xsd_txn_free_all(struct xsd_conn *c)
{
        while (c->txns) {
                struct xsd_txn *t = c->txns;
                c->txns = t->next;
                txn_free(t);
        }
        c->ntxns = 0;
        c->cur = NULL;
}
