/* Parser of the xenstore schema files (format: xenstore-schema/README.md).
 * Every malformed line is refused with its file and line number, so a typo in
 * a schema never silently weakens validation. */
#include "schema_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX 1024

struct parse_ctx {
        struct schema *s;
        const char *name;
        unsigned line;
        char *err;
        size_t errlen;
};

static int perr(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parse_ctx *c, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (c->err && c->errlen)
                snprintf(c->err, c->errlen, "%s:%u: %s", c->name, c->line, msg);
        return -EINVAL;
}

int schema_new(struct schema **out)
{
        *out = calloc(1, sizeof(**out));
        return *out ? 0 : -ENOMEM;
}

static void dir_free(struct schema_dir *d)
{
        free(d->name);
        free(d->pattern);
        free(d->perms);
        free(d->meaning);
        free(d->where);
}

static void key_free(struct schema_key *k)
{
        free(k->pattern);
        free(k->rel);
        free(k->values);
        free(k->def);
        free(k->perms);
        free(k->meaning);
        free(k->where);
}

/* Drops entries added after a failed load so a schema is never half-loaded. */
static void truncate_to(struct schema *s, size_t ndirs, size_t nkeys)
{
        while (s->nkeys > nkeys)
                key_free(&s->keys[--s->nkeys]);
        while (s->ndirs > ndirs)
                dir_free(&s->dirs[--s->ndirs]);
}

void schema_free(struct schema *s)
{
        if (!s)
                return;
        truncate_to(s, 0, 0);
        free(s->dirs);
        free(s->keys);
        free(s);
}

size_t schema_dir_count(const struct schema *s)
{
        return s->ndirs;
}

const struct schema_dir *schema_dir_at(const struct schema *s, size_t i)
{
        return i < s->ndirs ? &s->dirs[i] : NULL;
}

size_t schema_key_count(const struct schema *s)
{
        return s->nkeys;
}

const struct schema_key *schema_key_at(const struct schema *s, size_t i)
{
        return i < s->nkeys ? &s->keys[i] : NULL;
}

/* Next whitespace-separated field; returns its length, 0 at end of line,
 * -EINVAL if it does not fit. */
static int next_field(const char **p, char *buf, size_t len)
{
        const char *q = *p;
        size_t n = 0;
        while (*q == ' ' || *q == '\t')
                q++;
        while (*q && *q != ' ' && *q != '\t') {
                if (n + 1 >= len)
                        return -EINVAL;
                buf[n++] = *q++;
        }
        buf[n] = '\0';
        *p = q;
        return (int)n;
}

static const char *rest_of_line(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static long find_dir(const struct schema *s, const char *name, size_t len)
{
        for (size_t i = 0; i < s->ndirs; i++)
                if (strlen(s->dirs[i].name) == len && memcmp(s->dirs[i].name, name, len) == 0)
                        return (long)i;
        return -1;
}

/* "NAME/rest" → "<NAME's pattern>/rest"; an absolute pattern stays as it is.
 * *dir gets NAME's index (or -1). */
static int expand_ref(struct parse_ctx *c, const char *ref, char **out, long *dir)
{
        *dir = -1;
        if (ref[0] == '/') {
                *out = strdup(ref);
                return *out ? 0 : -ENOMEM;
        }
        const char *slash = strchr(ref, '/');
        size_t nlen = slash ? (size_t)(slash - ref) : strlen(ref);
        long d = find_dir(c->s, ref, nlen);
        if (d < 0)
                return perr(c,
                            "'%.*s' is neither an absolute path nor a directory declared "
                            "earlier",
                            (int)nlen, ref);
        *dir = d;
        if (asprintf(out, "%s%s", c->s->dirs[d].pattern, slash ? slash : "") < 0)
                return -ENOMEM;
        return 0;
}

static int check_pattern(struct parse_ctx *c, const char *pat)
{
        if (pat[0] != '/' || (strlen(pat) > 1 && pat[strlen(pat) - 1] == '/') || strstr(pat, "//"))
                return perr(c, "path pattern '%s' is not a clean absolute path", pat);
        if (schema_pattern_check(pat) < 0)
                return perr(c, "bad placeholder in '%s' (use {name}, at most %d per path)", pat,
                            SCHEMA_MAX_BINDS);
        return 0;
}

/* Permissions as xenstore-ls prints them: n|r|w|b followed by a domid or a
 * placeholder, comma-separated. */
static int check_perms(struct parse_ctx *c, const char *perms)
{
        const char *p = perms;
        for (;;) {
                if (!strchr("nrwb", *p) || !*p)
                        return perr(c, "bad permissions '%s' (expected e.g. n{bdom},r{fdom})",
                                    perms);
                p++;
                if (*p == '{') {
                        const char *e = strchr(p, '}');
                        if (!e || e == p + 1)
                                return perr(c, "bad permissions '%s'", perms);
                        p = e + 1;
                } else {
                        if (*p < '0' || *p > '9')
                                return perr(c, "bad permissions '%s'", perms);
                        while (*p >= '0' && *p <= '9')
                                p++;
                }
                if (!*p)
                        return 0;
                if (*p++ != ',')
                        return perr(c, "bad permissions '%s'", perms);
        }
}

static char *opt_dup(const char *field)
{
        if (strcmp(field, "-") == 0)
                return NULL;
        if (strcmp(field, "''") == 0)
                return strdup("");
        return strdup(field);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
        if (n < *cap)
                return 0;
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(*arr, ncap * elem);
        if (!p)
                return -ENOMEM;
        *arr = p;
        *cap = ncap;
        return 0;
}

static int where(struct parse_ctx *c, char **out)
{
        return asprintf(out, "%s:%u", c->name, c->line) < 0 ? -ENOMEM : 0;
}

/* dir NAME PATTERN PERMS MEANING... */
static int parse_dir(struct parse_ctx *c, const char *p)
{
        char name[FIELD_MAX], pat[FIELD_MAX], perms[FIELD_MAX];
        if (next_field(&p, name, sizeof(name)) <= 0 || next_field(&p, pat, sizeof(pat)) <= 0 ||
            next_field(&p, perms, sizeof(perms)) <= 0 || !*rest_of_line(p))
                return perr(c, "dir needs NAME PATTERN PERMS MEANING");
        for (const char *q = name; *q; q++)
                if (!(*q == '_' || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
                        return perr(c, "directory name '%s' must be upper case", name);
        if (find_dir(c->s, name, strlen(name)) >= 0)
                return perr(c, "directory '%s' declared twice", name);
        if (strcmp(perms, "-") != 0 && check_perms(c, perms) < 0)
                return -EINVAL;

        struct schema_dir d = {0};
        long parent;
        int rc = expand_ref(c, pat, &d.pattern, &parent);
        if (rc < 0)
                return rc;
        if ((rc = check_pattern(c, d.pattern)) < 0) {
                free(d.pattern);
                return rc;
        }
        d.name = strdup(name);
        d.perms = opt_dup(perms);
        d.meaning = strdup(rest_of_line(p));
        if (where(c, &d.where) < 0 || !d.name || !d.meaning ||
            grow((void **)&c->s->dirs, &c->s->capdirs, c->s->ndirs, sizeof(d)) < 0) {
                dir_free(&d);
                return -ENOMEM;
        }
        c->s->dirs[c->s->ndirs++] = d;
        return 0;
}

static const struct {
        const char *name;
        enum schema_type type;
} type_names[] = {
    {"string", SCHEMA_T_STRING}, {"uint", SCHEMA_T_UINT},     {"bool", SCHEMA_T_BOOL},
    {"enum", SCHEMA_T_ENUM},     {"mac", SCHEMA_T_MAC},       {"path", SCHEMA_T_PATH},
    {"fspath", SCHEMA_T_FSPATH}, {"state", SCHEMA_T_STATE},   {"domid", SCHEMA_T_DOMID},
    {"rate", SCHEMA_T_RATE},     {"majmin", SCHEMA_T_MAJMIN}, {"grant-ref", SCHEMA_T_GREF},
    {"port", SCHEMA_T_PORT},
};

static int parse_type(struct parse_ctx *c, const char *f, enum schema_type *t)
{
        for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
                if (strcmp(f, type_names[i].name) == 0) {
                        *t = type_names[i].type;
                        return 0;
                }
        return perr(c, "unknown type '%s'", f);
}

static int parse_writers(struct parse_ctx *c, const char *f, unsigned *w)
{
        static const char *const names[] = {"toolstack", "backend", "frontend", "hotplug"};
        char buf[FIELD_MAX];
        snprintf(buf, sizeof(buf), "%s", f);
        *w = 0;
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                size_t i;
                for (i = 0; i < 4 && strcmp(t, names[i]) != 0; i++)
                        ;
                if (i == 4)
                        return perr(c,
                                    "unknown writer '%s' (toolstack, backend, frontend, "
                                    "hotplug)",
                                    t);
                *w |= 1u << i;
        }
        return *w ? 0 : perr(c, "no writer");
}

/* "req", "opt", "req@N" or "req@N..M": required while the directory's state
 * is within N..M (M defaults to 8). The upper bound is for keys a backend
 * publishes at probe: one that failed there goes to Closing without them,
 * as Linux's xenbus_dev_fatal does. */
static int parse_required(struct parse_ctx *c, const char *f, struct schema_key *k)
{
        if (strcmp(f, "opt") == 0)
                return 0;
        if (strcmp(f, "req") == 0) {
                k->required = true;
                return 0;
        }
        if (strncmp(f, "req@", 4) == 0 && f[4] >= '1' && f[4] <= '8') {
                unsigned lo = (unsigned)(f[4] - '0'), hi = 8;
                if (f[5] == '.' && f[6] == '.' && f[7] >= '1' && f[7] <= '8' && !f[8])
                        hi = (unsigned)(f[7] - '0');
                else if (f[5])
                        goto bad;
                if (hi < lo)
                        return perr(c, "required state range '%s' is empty", f);
                k->required = true;
                k->req_state = lo;
                k->req_state_max = hi;
                return 0;
        }
bad:
        return perr(c, "required must be req, opt, req@STATE or req@LO..HI (states 1-8), not '%s'",
                    f);
}

/* Checks the VALUES field against the type; path values may start with a
 * directory name and are stored expanded. */
static int parse_values(struct parse_ctx *c, const char *f, struct schema_key *k)
{
        if (strcmp(f, "-") == 0)
                return k->type == SCHEMA_T_ENUM ? perr(c, "enum needs its values (a|b|c)") : 0;
        if (k->type == SCHEMA_T_PATH) { /* a pattern, possibly DIR/... */
                long d;
                int rc = expand_ref(c, f, &k->values, &d);
                if (rc < 0)
                        return rc;
                return check_pattern(c, k->values);
        }
        k->values = strdup(f);
        if (!k->values)
                return -ENOMEM;
        char msg[256];
        if (schema_values_check(k, msg, sizeof(msg)) < 0)
                return perr(c, "%s", msg);
        return 0;
}

/* key DIR/REL WRITERS TYPE VALUES DEFAULT REQUIRED PERMS MEANING... */
static int parse_key(struct parse_ctx *c, const char *p)
{
        char f[7][FIELD_MAX];
        for (int i = 0; i < 7; i++)
                if (next_field(&p, f[i], sizeof(f[i])) <= 0)
                        return perr(c, "key needs DIR/KEY WRITERS TYPE VALUES DEFAULT REQUIRED "
                                       "PERMS MEANING");
        if (!*rest_of_line(p))
                return perr(c, "key %s has no meaning", f[0]);
        if (f[0][0] == '/' || !strchr(f[0], '/'))
                return perr(c, "key '%s' must be DIR/KEY with a declared DIR", f[0]);

        struct schema_key k = {0};
        long dir;
        int rc = expand_ref(c, f[0], &k.pattern, &dir);
        if (rc < 0)
                return rc;
        k.dir = (size_t)dir;
        k.rel = strdup(strchr(f[0], '/') + 1);
        if (!k.rel) {
                rc = -ENOMEM;
                goto fail;
        }
        if ((rc = check_pattern(c, k.pattern)) < 0 ||
            (rc = parse_writers(c, f[1], &k.writers)) < 0 ||
            (rc = parse_type(c, f[2], &k.type)) < 0 || (rc = parse_values(c, f[3], &k)) < 0 ||
            (rc = parse_required(c, f[5], &k)) < 0)
                goto fail;
        if (strcmp(f[6], "-") != 0 && (rc = check_perms(c, f[6])) < 0)
                goto fail;
        k.def = opt_dup(f[4]);
        k.perms = opt_dup(f[6]);
        k.meaning = strdup(rest_of_line(p));
        if ((rc = where(c, &k.where)) < 0 || !k.meaning || (f[4][0] != '-' && !k.def) ||
            (f[6][0] != '-' && !k.perms)) {
                rc = -ENOMEM;
                goto fail;
        }
        char msg[256];
        if (k.def && schema_value_check(&k, k.def, NULL, msg, sizeof(msg)) < 0) {
                rc = perr(c, "default of %s: %s", f[0], msg);
                goto fail;
        }
        if ((rc = grow((void **)&c->s->keys, &c->s->capkeys, c->s->nkeys, sizeof(k))) < 0)
                goto fail;
        c->s->keys[c->s->nkeys++] = k;
        return 0;
fail:
        key_free(&k);
        return rc;
}

static int parse_line(struct parse_ctx *c, const char *line, bool *have_format)
{
        char kw[FIELD_MAX];
        const char *p = line;
        int n = next_field(&p, kw, sizeof(kw));
        if (n == 0 || kw[0] == '#')
                return 0;
        if (n < 0)
                return perr(c, "field too long");
        if (!*have_format) {
                char v[16];
                if (strcmp(kw, "format") != 0 || next_field(&p, v, sizeof(v)) <= 0 ||
                    strcmp(v, "1") != 0 || *rest_of_line(p))
                        return perr(c, "the first line must be 'format 1'");
                *have_format = true;
                return 0;
        }
        if (strcmp(kw, "dir") == 0)
                return parse_dir(c, p);
        if (strcmp(kw, "key") == 0)
                return parse_key(c, p);
        return perr(c, "unknown line type '%s' (dir, key, or # comment)", kw);
}

int schema_load_text(struct schema *s, const char *name, const char *text, char *err, size_t errlen)
{
        struct parse_ctx c = {.s = s, .name = name, .err = err, .errlen = errlen};
        size_t ndirs = s->ndirs, nkeys = s->nkeys;
        bool have_format = false;
        int rc = 0;

        for (const char *p = text; *p && rc == 0;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                char *line = strndup(p, len);
                if (!line) {
                        rc = -ENOMEM;
                        break;
                }
                if (len && line[len - 1] == '\r')
                        line[len - 1] = '\0';
                c.line++;
                rc = parse_line(&c, line, &have_format);
                free(line);
                p = nl ? nl + 1 : p + len;
        }
        if (rc == 0 && !have_format) {
                c.line = 1;
                rc = perr(&c, "empty schema: the first line must be 'format 1'");
        }
        if (rc < 0)
                truncate_to(s, ndirs, nkeys);
        return rc;
}

static int read_file(const char *path, char **out)
{
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        size_t cap = 8192, n = 0;
        char *buf = malloc(cap);
        int rc = 0;
        while (buf) {
                n += fread(buf + n, 1, cap - n - 1, f);
                if (n < cap - 1)
                        break;
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                        free(buf);
                        buf = NULL;
                        break;
                }
                buf = nb;
                cap *= 2;
        }
        if (!buf)
                rc = -ENOMEM;
        else if (ferror(f))
                rc = -EIO;
        fclose(f);
        if (rc < 0) {
                free(buf);
                return rc;
        }
        buf[n] = '\0';
        *out = buf;
        return 0;
}

int schema_load_file(struct schema *s, const char *path, char *err, size_t errlen)
{
        char *text = NULL;
        int rc = read_file(path, &text);
        if (rc < 0) {
                snprintf(err, errlen, "%s: %s", path, strerror(-rc));
                return rc;
        }
        const char *base = strrchr(path, '/');
        rc = schema_load_text(s, base ? base + 1 : path, text, err, errlen);
        free(text);
        return rc;
}

static int is_schema_file(const struct dirent *d)
{
        size_t n = strlen(d->d_name);
        return d->d_name[0] != '.' && n > 7 && strcmp(d->d_name + n - 7, ".schema") == 0;
}

int schema_load_dir(struct schema *s, const char *dir, char *err, size_t errlen)
{
        struct dirent **list;
        int n = scandir(dir, &list, is_schema_file, alphasort);
        if (n < 0) {
                int rc = -errno;
                snprintf(err, errlen, "%s: %s", dir, strerror(errno));
                return rc;
        }
        int rc = n ? 0 : -ENOENT;
        if (!n)
                snprintf(err, errlen, "%s: no *.schema files", dir);
        for (int i = 0; i < n; i++) {
                char path[4096];
                if (rc == 0) {
                        snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
                        rc = schema_load_file(s, path, err, errlen);
                }
                free(list[i]);
        }
        free(list);
        return rc;
}
