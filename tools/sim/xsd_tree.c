/* Pure parts of the simulator's xenstored: the node record, the hash map the
 * store is kept in, path rules and permission decisions, each matching C
 * xenstored 4.17. No I/O, no connections, no transactions here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

/* ---- hash map ---- */

static size_t map_hash(const char *s)
{
        size_t h = 5381; /* djb2, as xenstored's hash_from_key_fn */
        while (*s)
                h = h * 33 + (unsigned char)*s++;
        return h;
}

int xsd_map_init(struct xsd_map *m)
{
        m->nb = 64;
        m->n = 0;
        m->b = calloc(m->nb, sizeof(*m->b));
        return m->b ? 0 : -ENOMEM;
}

void xsd_map_fini(struct xsd_map *m, void (*free_val)(void *))
{
        if (!m->b)
                return;
        for (size_t i = 0; i < m->nb; i++) {
                struct xsd_map_ent *e = m->b[i];
                while (e) {
                        struct xsd_map_ent *n = e->next;
                        if (free_val)
                                free_val(e->val);
                        free(e->key);
                        free(e);
                        e = n;
                }
        }
        free(m->b);
        m->b = NULL;
        m->n = m->nb = 0;
}

void *xsd_map_get(const struct xsd_map *m, const char *key)
{
        for (struct xsd_map_ent *e = m->b[map_hash(key) % m->nb]; e; e = e->next)
                if (!strcmp(e->key, key))
                        return e->val;
        return NULL;
}

static void map_grow(struct xsd_map *m)
{
        size_t nb = m->nb * 4;
        struct xsd_map_ent **b = calloc(nb, sizeof(*b));
        if (!b)
                return; /* keep working with longer chains */
        for (size_t i = 0; i < m->nb; i++) {
                struct xsd_map_ent *e = m->b[i];
                while (e) {
                        struct xsd_map_ent *n = e->next;
                        size_t h = map_hash(e->key) % nb;
                        e->next = b[h];
                        b[h] = e;
                        e = n;
                }
        }
        free(m->b);
        m->b = b;
        m->nb = nb;
}

int xsd_map_put(struct xsd_map *m, const char *key, void *val, void **old)
{
        size_t h = map_hash(key) % m->nb;
        if (old)
                *old = NULL;
        for (struct xsd_map_ent *e = m->b[h]; e; e = e->next) {
                if (!strcmp(e->key, key)) {
                        if (old)
                                *old = e->val;
                        e->val = val;
                        return 0;
                }
        }
        struct xsd_map_ent *e = malloc(sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->key = strdup(key);
        if (!e->key) {
                free(e);
                return -ENOMEM;
        }
        e->val = val;
        e->next = m->b[h];
        m->b[h] = e;
        if (++m->n > m->nb * 2)
                map_grow(m);
        return 0;
}

void *xsd_map_del(struct xsd_map *m, const char *key)
{
        for (struct xsd_map_ent **pp = &m->b[map_hash(key) % m->nb]; *pp; pp = &(*pp)->next) {
                struct xsd_map_ent *e = *pp;
                if (!strcmp(e->key, key)) {
                        void *v = e->val;
                        *pp = e->next;
                        free(e->key);
                        free(e);
                        m->n--;
                        return v;
                }
        }
        return NULL;
}

/* ---- nodes ---- */

struct xsd_node *xsd_node_new(const char *name)
{
        struct xsd_node *n = calloc(1, sizeof(*n));
        if (!n)
                return NULL;
        n->name = strdup(name);
        if (!n->name) {
                free(n);
                return NULL;
        }
        return n;
}

void xsd_node_free(struct xsd_node *n)
{
        if (!n)
                return;
        free(n->name);
        free(n->perms.p);
        free(n->data);
        free(n->children);
        free(n);
}

static int dup_bytes(char **dst, const char *src, uint32_t len)
{
        *dst = NULL;
        if (!len)
                return 0;
        *dst = malloc(len);
        if (!*dst)
                return -ENOMEM;
        memcpy(*dst, src, len);
        return 0;
}

struct xsd_node *xsd_node_dup(const struct xsd_node *src)
{
        struct xsd_node *n = xsd_node_new(src->name);
        if (!n)
                return NULL;
        n->gen = src->gen;
        n->datalen = src->datalen;
        n->childlen = src->childlen;
        if (xsd_perms_copy(&n->perms, &src->perms) ||
            dup_bytes(&n->data, src->data, src->datalen) ||
            dup_bytes(&n->children, src->children, src->childlen)) {
                xsd_node_free(n);
                return NULL;
        }
        return n;
}

int xsd_node_set_data(struct xsd_node *n, const void *data, uint32_t len)
{
        char *d;
        if (dup_bytes(&d, data, len))
                return -ENOMEM;
        free(n->data);
        n->data = d;
        n->datalen = len;
        return 0;
}

int xsd_node_set_perms(struct xsd_node *n, const struct xsd_perms *p)
{
        struct xsd_perms np;
        if (xsd_perms_copy(&np, p))
                return -ENOMEM;
        free(n->perms.p);
        n->perms = np;
        return 0;
}

int xsd_node_add_child(struct xsd_node *n, const char *base)
{
        size_t bl = strlen(base) + 1;
        char *c = realloc(n->children, n->childlen + bl);
        if (!c)
                return -ENOMEM;
        memcpy(c + n->childlen, base, bl);
        n->children = c;
        n->childlen += bl;
        return 0;
}

int xsd_node_del_child(struct xsd_node *n, const char *base)
{
        for (uint32_t off = 0; off < n->childlen;) {
                size_t l = strlen(n->children + off) + 1;
                if (!strcmp(n->children + off, base)) {
                        memmove(n->children + off, n->children + off + l, n->childlen - off - l);
                        n->childlen -= l;
                        return 0;
                }
                off += l;
        }
        return -ENOENT;
}

size_t xsd_node_size(const struct xsd_node *n)
{
        return XSD_NODE_HDR_SIZE + n->perms.num * sizeof(struct xs_permissions) + n->datalen +
               n->childlen;
}

/* ---- permissions ---- */

int xsd_perms_copy(struct xsd_perms *dst, const struct xsd_perms *src)
{
        dst->num = 0;
        dst->p = NULL;
        if (!src->num)
                return 0;
        dst->p = malloc(src->num * sizeof(*dst->p));
        if (!dst->p)
                return -ENOMEM;
        memcpy(dst->p, src->p, src->num * sizeof(*dst->p));
        dst->num = src->num;
        return 0;
}

void xsd_perms_clear(struct xsd_perms *p)
{
        free(p->p);
        p->p = NULL;
        p->num = 0;
}

/* xenstored's perm_for_conn(): owner (or the owner's controller via
 * SET_TARGET) and privileged callers get everything, then the first explicit
 * entry naming the caller, else the default in entry 0. */
unsigned int xsd_perm_for(const struct xsd_perms *p, uint16_t domid, bool priv, int target)
{
        const unsigned int all = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
        if (priv || !p->num)
                return priv ? all : XS_PERM_NONE;
        if (p->p[0].id == domid || (target >= 0 && p->p[0].id == (unsigned int)target))
                return all;
        for (unsigned int i = 1; i < p->num; i++) {
                if (p->p[i].perms & XS_PERM_IGNORE)
                        continue;
                if (p->p[i].id == domid || (target >= 0 && p->p[i].id == (unsigned int)target))
                        return p->p[i].perms & all;
        }
        return p->p[0].perms & all;
}

/* As libxenstore's xs_strings_to_perms(): letter then a number (strtol base 0). */
int xsd_perms_parse(const char *s, size_t len, unsigned int num, struct xsd_perms *out)
{
        out->num = 0;
        out->p = calloc(num ? num : 1, sizeof(*out->p));
        if (!out->p)
                return -ENOMEM;
        const char *p = s, *end = s + len;
        for (unsigned int i = 0; i < num; i++) {
                if (p >= end)
                        goto inval;
                switch (*p) {
                case 'r':
                        out->p[i].perms = XS_PERM_READ;
                        break;
                case 'w':
                        out->p[i].perms = XS_PERM_WRITE;
                        break;
                case 'b':
                        out->p[i].perms = XS_PERM_READ | XS_PERM_WRITE;
                        break;
                case 'n':
                        out->p[i].perms = XS_PERM_NONE;
                        break;
                default:
                        goto inval;
                }
                p++;
                char *e;
                errno = 0;
                long id = strtol(p, &e, 0);
                if (*e || !*p || errno || id < 0 || id > UINT16_MAX)
                        goto inval;
                out->p[i].id = (unsigned int)id;
                p = e + 1;
        }
        out->num = num;
        return 0;
inval:
        xsd_perms_clear(out);
        return -EINVAL;
}

int xsd_perms_format(const struct xsd_perms *p, char *buf, size_t len, size_t *outlen)
{
        size_t off = 0;
        for (unsigned int i = 0; i < p->num; i++) {
                char c;
                if (p->p[i].perms & XS_PERM_IGNORE)
                        continue;
                switch (p->p[i].perms & (XS_PERM_READ | XS_PERM_WRITE)) {
                case XS_PERM_READ:
                        c = 'r';
                        break;
                case XS_PERM_WRITE:
                        c = 'w';
                        break;
                case XS_PERM_READ | XS_PERM_WRITE:
                        c = 'b';
                        break;
                default:
                        c = 'n';
                        break;
                }
                int n = snprintf(buf + off, len - off, "%c%u", c, p->p[i].id);
                if (n < 0 || (size_t)n + 1 > len - off)
                        return -E2BIG;
                off += (size_t)n + 1;
        }
        *outlen = off;
        return 0;
}

/* ---- paths ---- */

bool xsd_path_valid(const char *path)
{
        static const char ok[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@";
        size_t len = strlen(path);
        if (path[0] != '/')
                return false;
        if (len > 1 && path[len - 1] == '/')
                return false;
        if (strstr(path, "//"))
                return false;
        /* XSA-323 rule of 4.17: the part below a domain's home counts. */
        unsigned int domid;
        int off = 0;
        if (sscanf(path, "/local/domain/%5u/%n", &domid, &off) != 1)
                off = 0;
        if (len > (size_t)off + XSD_QUOTA_PATH_LEN || len > XENSTORE_ABS_PATH_MAX)
                return false;
        return strspn(path, ok) == len;
}

char *xsd_path_canonical(uint16_t domid, const char *path)
{
        char *r;
        if (path[0] == '/' || path[0] == '@')
                return strdup(path);
        if (asprintf(&r, "/local/domain/%u/%s", domid, path) < 0)
                return NULL;
        return r;
}

char *xsd_path_parent(const char *path)
{
        const char *slash = strrchr(path + 1, '/');
        if (!slash)
                return strdup("/");
        return strndup(path, (size_t)(slash - path));
}

const char *xsd_path_base(const char *path)
{
        return strrchr(path, '/') + 1;
}

bool xsd_path_is_child(const char *child, const char *parent)
{
        size_t len = strlen(parent);
        if (!strcmp(parent, "/"))
                return true;
        if (strncmp(child, parent, len))
                return false;
        return child[len] == '/' || child[len] == '\0';
}

unsigned int xsd_count_strings(const char *s, size_t len)
{
        unsigned int n = 0;
        for (size_t i = 0; i < len; i++)
                if (!s[i])
                        n++;
        return n;
}
