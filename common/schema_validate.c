/* Matching xenstore paths against schema patterns, checking values by type,
 * and validating a whole list of nodes. The list comes from a live store
 * (pvback-xs-validate) or from a test; nothing here talks to xenstore. */
#include "schema_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_BUF 3072 /* XENSTORE_ABS_PATH_MAX */

/* ---- patterns --------------------------------------------------------- */

/* Parses "{name}" at p; returns the length of the whole placeholder or 0. */
static size_t placeholder(const char *p, char name[SCHEMA_NAME_MAX])
{
        if (*p != '{')
                return 0;
        const char *e = strchr(p, '}');
        size_t n = e ? (size_t)(e - p - 1) : 0;
        if (!e || n == 0 || n >= SCHEMA_NAME_MAX)
                return 0;
        for (size_t i = 0; i < n; i++) {
                char ch = p[1 + i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
                        return 0;
        }
        memcpy(name, p + 1, n);
        name[n] = '\0';
        return n + 2;
}

int schema_pattern_check(const char *pat)
{
        char name[SCHEMA_NAME_MAX];
        int count = 0;
        for (const char *p = pat; *p;) {
                if (*p == '}')
                        return -EINVAL;
                if (*p != '{') {
                        p++;
                        continue;
                }
                size_t n = placeholder(p, name);
                /* Two adjacent placeholders would make the split ambiguous. */
                if (!n || ++count > SCHEMA_MAX_BINDS || p[n] == '{')
                        return -EINVAL;
                p += n;
        }
        return 0;
}

static const unsigned long long *bind_get(const struct schema_binds *b, const char *name)
{
        for (size_t i = 0; b && i < b->n; i++)
                if (strcmp(b->b[i].name, name) == 0)
                        return &b->b[i].val;
        return NULL;
}

bool schema_pattern_match(const char *pat, const char *path, struct schema_binds *b)
{
        char name[SCHEMA_NAME_MAX];
        b->n = 0;
        while (*pat) {
                size_t n = placeholder(pat, name);
                if (!n) {
                        if (*pat++ != *path++)
                                return false;
                        continue;
                }
                if (*path < '0' || *path > '9')
                        return false;
                unsigned long long v = 0;
                int digits = 0;
                for (; *path >= '0' && *path <= '9'; path++, digits++)
                        v = v * 10 + (unsigned)(*path - '0');
                if (digits > 18)
                        return false;
                const unsigned long long *old = bind_get(b, name);
                if (old && *old != v)
                        return false;
                if (!old && b->n < SCHEMA_MAX_BINDS) {
                        snprintf(b->b[b->n].name, SCHEMA_NAME_MAX, "%s", name);
                        b->b[b->n++].val = v;
                }
                pat += n;
        }
        return *path == '\0';
}

int schema_pattern_subst(const char *pat, const struct schema_binds *b, char *out, size_t len)
{
        char name[SCHEMA_NAME_MAX];
        size_t o = 0;
        while (*pat) {
                size_t n = placeholder(pat, name);
                int w;
                if (n) {
                        const unsigned long long *v = bind_get(b, name);
                        if (!v)
                                return -ENOENT;
                        w = snprintf(out + o, len - o, "%llu", *v);
                        pat += n;
                } else {
                        w = snprintf(out + o, len - o, "%c", *pat++);
                }
                if (w < 0 || (size_t)w >= len - o)
                        return -ENAMETOOLONG;
                o += (size_t)w;
        }
        if (len)
                out[o] = '\0';
        return 0;
}

/* Fills in the bound placeholders and keeps the others as they are. */
static int subst_partial(const char *pat, const struct schema_binds *b, char *out, size_t len)
{
        char name[SCHEMA_NAME_MAX];
        size_t o = 0;
        while (*pat) {
                size_t n = placeholder(pat, name);
                const unsigned long long *v = n ? bind_get(b, name) : NULL;
                int w = v   ? snprintf(out + o, len - o, "%llu", *v)
                        : n ? snprintf(out + o, len - o, "%.*s", (int)n, pat)
                            : snprintf(out + o, len - o, "%c", *pat);
                if (w < 0 || (size_t)w >= len - o)
                        return -ENAMETOOLONG;
                o += (size_t)w;
                pat += n ? n : 1;
        }
        return 0;
}

bool schema_pattern_equals(const char *pat, const struct schema_binds *b, const char *value)
{
        char partial[PATH_BUF];
        struct schema_binds any;
        return subst_partial(pat, b, partial, sizeof(partial)) == 0 &&
               schema_pattern_match(partial, value, &any);
}

/* ---- values ----------------------------------------------------------- */

static int fail(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t len, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool parse_u64(const char *s, int base, unsigned long long *v)
{
        char *end = NULL;
        if (!*s || *s == '-' || *s == '+' || *s == ' ')
                return false;
        errno = 0;
        *v = strtoull(s, &end, base);
        return !errno && *end == '\0';
}

static bool is_numeric_type(enum schema_type t)
{
        return t == SCHEMA_T_UINT || t == SCHEMA_T_STATE || t == SCHEMA_T_DOMID ||
               t == SCHEMA_T_GREF || t == SCHEMA_T_PORT;
}

static bool is_hex(char ch)
{
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool is_mac(const char *v)
{
        for (int i = 0; i < 6; i++, v += 3)
                if (!is_hex(v[0]) || !is_hex(v[1]) || v[2] != (i == 5 ? '\0' : ':'))
                        return false;
        return true;
}

/* Two numbers separated by sep, in the given base. */
static bool is_pair(const char *v, char sep, int base)
{
        char buf[64];
        unsigned long long x;
        const char *s = strchr(v, sep);
        if (!s || (size_t)(s - v) >= sizeof(buf))
                return false;
        memcpy(buf, v, (size_t)(s - v));
        buf[s - v] = '\0';
        return parse_u64(buf, base, &x) && parse_u64(s + 1, base, &x);
}

static int check_type(enum schema_type t, const char *v, char *msg, size_t len)
{
        unsigned long long x;
        unsigned long long max = 0;
        switch (t) {
        case SCHEMA_T_STRING:
        case SCHEMA_T_ENUM:
                return 0;
        case SCHEMA_T_UINT:
                max = ~0ULL;
                break;
        case SCHEMA_T_BOOL:
                max = 1;
                break;
        case SCHEMA_T_STATE:
                max = 8; /* XenbusStateReconfigured */
                break;
        case SCHEMA_T_DOMID:
                max = 0x7FEF; /* below DOMID_FIRST_RESERVED */
                break;
        case SCHEMA_T_GREF:
        case SCHEMA_T_PORT:
                max = 0xFFFFFFFFULL;
                break;
        case SCHEMA_T_MAC:
                return is_mac(v) ? 0 : fail(msg, len, "'%s' is not a MAC address", v);
        case SCHEMA_T_PATH:
        case SCHEMA_T_FSPATH:
                return v[0] == '/' ? 0 : fail(msg, len, "'%s' is not an absolute path", v);
        case SCHEMA_T_RATE:
                return is_pair(v, ',', 10) ? 0 : fail(msg, len, "'%s' is not <bytes>,<usecs>", v);
        case SCHEMA_T_MAJMIN:
                return is_pair(v, ':', 16)
                           ? 0
                           : fail(msg, len, "'%s' is not <major>:<minor> in hex", v);
        }
        if (!parse_u64(v, 10, &x))
                return fail(msg, len, "'%s' is not an unsigned integer", v);
        if (x > max)
                return fail(msg, len, "%s is out of range for its type (max %llu)", v, max);
        return 0;
}

static bool is_range(const char *values, unsigned long long *lo, unsigned long long *hi)
{
        char buf[64];
        const char *dots = strstr(values, "..");
        if (!dots || (size_t)(dots - values) >= sizeof(buf))
                return false;
        memcpy(buf, values, (size_t)(dots - values));
        buf[dots - values] = '\0';
        return parse_u64(buf, 10, lo) && parse_u64(dots + 2, 10, hi) && *lo <= *hi;
}

static bool is_bind_ref(const char *values, char name[SCHEMA_NAME_MAX])
{
        size_t n = placeholder(values, name);
        return n && values[n] == '\0';
}

static bool in_list(const char *list, const char *v)
{
        size_t vlen = strlen(v);
        for (const char *p = list;;) {
                const char *bar = strchr(p, '|');
                size_t n = bar ? (size_t)(bar - p) : strlen(p);
                bool empty_tok = n == 2 && p[0] == '\'' && p[1] == '\'';
                if ((empty_tok && vlen == 0) || (n == vlen && memcmp(p, v, n) == 0))
                        return true;
                if (!bar)
                        return false;
                p = bar + 1;
        }
}

int schema_values_check(const struct schema_key *k, char *msg, size_t len)
{
        unsigned long long lo, hi;
        char name[SCHEMA_NAME_MAX];
        const char *v = k->values;
        if (is_numeric_type(k->type) && strstr(v, ".."))
                return is_range(v, &lo, &hi) ? check_type(k->type, strstr(v, "..") + 2, msg, len)
                                             : fail(msg, len, "bad range '%s' (LO..HI)", v);
        if (v[0] == '{')
                return is_bind_ref(v, name) ? 0 : fail(msg, len, "bad placeholder '%s'", v);
        /* A list: every member must itself be a value of the type. */
        for (const char *p = v;;) {
                const char *bar = strchr(p, '|');
                char item[256];
                size_t n = bar ? (size_t)(bar - p) : strlen(p);
                if (n >= sizeof(item))
                        return fail(msg, len, "value list item too long");
                memcpy(item, p, n);
                item[n] = '\0';
                if (strcmp(item, "''") == 0)
                        item[0] = '\0';
                else if (n == 0)
                        return fail(msg, len, "empty item in '%s' (write '' for the empty string)",
                                    v);
                if (item[0] && check_type(k->type, item, msg, len) < 0)
                        return -EINVAL;
                if (!bar)
                        return 0;
                p = bar + 1;
        }
}

int schema_value_check(const struct schema_key *k, const char *value, const struct schema_binds *b,
                       char *msg, size_t len)
{
        unsigned long long lo, hi, x;
        char name[SCHEMA_NAME_MAX];
        const char *v = k->values;

        /* The empty string is legal where a list names it ('' in hotplug-status). */
        if (v && *value == '\0' && v[0] != '{' && !strstr(v, "..") && in_list(v, value))
                return 0;
        if (check_type(k->type, value, msg, len) < 0)
                return -EINVAL;
        if (!v)
                return 0;
        if (is_numeric_type(k->type) && is_range(v, &lo, &hi)) {
                parse_u64(value, 10, &x);
                return x >= lo && x <= hi ? 0 : fail(msg, len, "%s is outside %s", value, v);
        }
        if (is_bind_ref(v, name)) {
                const unsigned long long *want = bind_get(b, name);
                if (!want)
                        return 0;
                return parse_u64(value, 10, &x) && x == *want
                           ? 0
                           : fail(msg, len, "'%s' must be %llu (the %s of this path)", value, *want,
                                  v);
        }
        if (k->type == SCHEMA_T_PATH && v[0] == '/') {
                char want[PATH_BUF];
                if (!b || schema_pattern_equals(v, b, value))
                        return 0;
                subst_partial(v, b, want, sizeof(want));
                return fail(msg, len, "'%s' must be '%s'", value, want);
        }
        return in_list(v, value) ? 0 : fail(msg, len, "'%s' is not one of %s", value, v);
}

/* ---- validation ------------------------------------------------------- */

int schema_finding_add(struct schema_findings *f, const char *path, const char *fmt, ...)
{
        if (f->n == f->cap) {
                size_t ncap = f->cap ? f->cap * 2 : 16;
                struct schema_finding *nv = realloc(f->v, ncap * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                f->v = nv;
                f->cap = ncap;
        }
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        char *p = strdup(path);
        if (r < 0 || !p) {
                free(p);
                if (r >= 0)
                        free(msg);
                return -ENOMEM;
        }
        f->v[f->n].path = p;
        f->v[f->n].msg = msg;
        f->n++;
        return 0;
}

void schema_findings_free(struct schema_findings *f)
{
        for (size_t i = 0; i < f->n; i++) {
                free(f->v[i].path);
                free(f->v[i].msg);
        }
        free(f->v);
        f->v = NULL;
        f->n = f->cap = 0;
}

static long match_dir(const struct schema *s, const char *path, struct schema_binds *b)
{
        for (size_t i = 0; i < s->ndirs; i++)
                if (schema_pattern_match(s->dirs[i].pattern, path, b))
                        return (long)i;
        return -1;
}

static long match_key(const struct schema *s, const char *path, struct schema_binds *b)
{
        for (size_t i = 0; i < s->nkeys; i++)
                if (schema_pattern_match(s->keys[i].pattern, path, b))
                        return (long)i;
        return -1;
}

const struct schema_key *schema_find_key(const struct schema *s, const char *path)
{
        struct schema_binds b;
        long k = match_key(s, path, &b);
        return k < 0 ? NULL : &s->keys[k];
}

/* The nearest known directory strictly above path, or -1. */
static long ancestor_dir(const struct schema *s, const char *path)
{
        char buf[PATH_BUF];
        struct schema_binds b;
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *slash = strrchr(buf, '/'); slash && slash != buf; slash = strrchr(buf, '/')) {
                *slash = '\0';
                long d = match_dir(s, buf, &b);
                if (d >= 0)
                        return d;
        }
        return -1;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The nodes' paths, sorted, for presence and value look-ups. */
struct node_index {
        const struct schema_node **v;
        size_t n;
};

static int cmp_node(const void *a, const void *b)
{
        const struct schema_node *x = *(const struct schema_node *const *)a;
        const struct schema_node *y = *(const struct schema_node *const *)b;
        return cmp_str(&x->path, &y->path);
}

static const struct schema_node *index_find(const struct node_index *ix, const char *path)
{
        struct schema_node key = {.path = path};
        const struct schema_node *kp = &key;
        const struct schema_node **hit = bsearch(&kp, ix->v, ix->n, sizeof(*ix->v), cmp_node);
        return hit ? *hit : NULL;
}

/* The XenbusState governing a directory: its own "state" key, else that of
 * the nearest enclosing known directory (a queue-N directory follows its
 * device). -1 if none is readable. */
static long dir_state(const struct schema *s, const struct node_index *ix, const char *dirpath)
{
        char buf[PATH_BUF], st[PATH_BUF + 8];
        struct schema_binds b;
        unsigned long long v;
        snprintf(buf, sizeof(buf), "%s", dirpath);
        while (match_dir(s, buf, &b) >= 0) {
                snprintf(st, sizeof(st), "%s/state", buf);
                const struct schema_node *n = index_find(ix, st);
                if (n)
                        return parse_u64(n->value, 10, &v) && v <= 8 ? (long)v : -1;
                char *slash = strrchr(buf, '/');
                if (!slash || slash == buf)
                        break;
                *slash = '\0';
        }
        return -1;
}

static int check_perms(const char *pattern, const struct schema_binds *b,
                       const struct schema_node *n, struct schema_findings *out)
{
        char want[256];
        if (!pattern || !n->perms || schema_pattern_equals(pattern, b, n->perms))
                return 0;
        subst_partial(pattern, b, want, sizeof(want));
        return schema_finding_add(out, n->path, "permissions (%s) differ from the schema's (%s)",
                                  n->perms, want);
}

static const char *writer_names(unsigned w, char *buf, size_t len)
{
        static const char *const names[] = {"toolstack", "backend", "frontend", "hotplug"};
        size_t o = 0;
        buf[0] = '\0';
        for (int i = 0; i < 4; i++)
                if (w & (1u << i))
                        o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", names[i]);
        return buf;
}

static int check_required(const struct schema *s, const struct node_index *ix, size_t dir,
                          const char *dirpath, struct schema_findings *out)
{
        char path[PATH_BUF + 256], w[64];
        for (size_t i = 0; i < s->nkeys; i++) {
                const struct schema_key *k = &s->keys[i];
                if (k->dir != dir || !k->required || strchr(k->rel, '{'))
                        continue;
                if (k->req_state) {
                        long st = dir_state(s, ix, dirpath);
                        if (st < (long)k->req_state || st > (long)k->req_state_max)
                                continue;
                }
                snprintf(path, sizeof(path), "%s/%s", dirpath, k->rel);
                if (index_find(ix, path))
                        continue;
                int rc = schema_finding_add(out, path, "missing required key (written by %s; %s)",
                                            writer_names(k->writers, w, sizeof(w)), k->where);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

static int check_node(const struct schema *s, const struct node_index *ix,
                      const struct schema_node *n, struct schema_findings *out)
{
        struct schema_binds b;
        char msg[512];
        long d = match_dir(s, n->path, &b);
        if (d >= 0) {
                int rc = check_perms(s->dirs[d].perms, &b, n, out);
                return rc < 0 ? rc : check_required(s, ix, (size_t)d, n->path, out);
        }
        long k = match_key(s, n->path, &b);
        if (k >= 0) {
                const struct schema_key *key = &s->keys[k];
                if (schema_value_check(key, n->value, &b, msg, sizeof(msg)) < 0) {
                        int rc = schema_finding_add(out, n->path, "%s (%s)", msg, key->where);
                        if (rc < 0)
                                return rc;
                }
                return check_perms(key->perms, &b, n, out);
        }
        d = ancestor_dir(s, n->path);
        if (d < 0)
                return 0;
        return schema_finding_add(out, n->path, "unknown key under %s (%s)", s->dirs[d].name,
                                  s->dirs[d].where);
}

int schema_validate(const struct schema *s, const struct schema_node *nodes, size_t n,
                    struct schema_findings *out)
{
        struct node_index ix = {.v = calloc(n ? n : 1, sizeof(*ix.v)), .n = n};
        if (!ix.v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                ix.v[i] = &nodes[i];
        qsort(ix.v, n, sizeof(*ix.v), cmp_node);
        int rc = 0;
        /* Walk in path order so findings come out in a stable, readable order. */
        for (size_t i = 0; i < n && rc == 0; i++)
                rc = check_node(s, &ix, ix.v[i], out);
        free(ix.v);
        return rc;
}
