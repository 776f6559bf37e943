/* Pure half of dyncap.h: capability sets, their comparison, and the parsers
 * of what a frontend writes. No xenstore, no clock: unit-tested as is. */
#include "dyncap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xb.h"

#define DYNCAP_RL_WINDOW_NS 5000000000ull /* 5 s */
#define DYNCAP_RL_BURST     5u

void dyncap_set_init(struct dyncap_set *s)
{
        s->n = 0;
        s->err = 0;
}

/* A path element of ours: lower case, digits and '-', not empty. */
static bool name_ok(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return false;
        return true;
}

void dyncap_add(struct dyncap_set *s, const char *section, const char *key, const char *fmt, ...)
{
        struct dyncap_kv *kv;
        va_list ap;
        int n;

        if (s->err)
                return;
        if (!name_ok(section) || !name_ok(key)) {
                s->err = -EINVAL;
                return;
        }
        if (s->n == DYNCAP_KV_MAX) {
                s->err = -E2BIG;
                return;
        }
        kv = &s->kv[s->n];
        n = snprintf(kv->key, sizeof(kv->key), "%s/%s", section, key);
        if (n < 0 || (size_t)n >= sizeof(kv->key)) {
                s->err = -ENAMETOOLONG;
                return;
        }
        va_start(ap, fmt);
        n = vsnprintf(kv->val, sizeof(kv->val), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(kv->val)) {
                s->err = -ENAMETOOLONG;
                return;
        }
        s->n++;
}

const char *dyncap_get(const struct dyncap_set *s, const char *key)
{
        for (size_t i = 0; i < s->n; i++)
                if (!strcmp(s->kv[i].key, key))
                        return s->kv[i].val;
        return NULL;
}

bool dyncap_differs(const struct dyncap_set *cur, const struct dyncap_set *next)
{
        /* Keys are unique within a set (one builder per section, distinct
         * keys per builder), so equal counts plus every key of next found
         * with its value means equal sets. */
        if (cur->n != next->n)
                return true;
        for (size_t i = 0; i < next->n; i++) {
                const char *v = dyncap_get(cur, next->kv[i].key);
                if (!v || strcmp(v, next->kv[i].val))
                        return true;
        }
        return false;
}

bool dyncap_needs_publish(const struct dyncap *dc, const struct dyncap_set *next)
{
        return !next->err && (!dc->live || dyncap_differs(&dc->published, next));
}

uint64_t dyncap_next_generation(uint64_t own, uint64_t left)
{
        uint64_t last = left > own ? left : own;
        return last == UINT64_MAX ? UINT64_MAX : last + 1;
}

void dyncap_committed(struct dyncap *dc, const struct dyncap_set *next, uint64_t gen)
{
        dc->generation = gen;
        dc->published = *next;
        dc->live = true;
}

void dyncap_forget(struct dyncap *dc)
{
        dc->live = false;
        dyncap_set_init(&dc->published);
}

int dyncap_build(const struct dyncap_section *secs, size_t n, const void *dev,
                 struct dyncap_set *out)
{
        dyncap_set_init(out);
        for (size_t i = 0; i < n && !out->err; i++)
                if (secs[i].build)
                        secs[i].build(dev, secs[i].name, out);
        return out->err;
}

static const char *const pref_names[] = {
    [DYNCAP_PREF_DEFAULT] = "default",
    [DYNCAP_PREF_LATENCY] = "latency",
    [DYNCAP_PREF_THROUGHPUT] = "throughput",
};

int dyncap_parse_pref(const char *s, enum dyncap_pref *out)
{
        for (size_t i = 0; i < sizeof(pref_names) / sizeof(pref_names[0]); i++) {
                if (!strcmp(s, pref_names[i])) {
                        *out = (enum dyncap_pref)i;
                        return 0;
                }
        }
        return -EINVAL;
}

const char *dyncap_pref_name(enum dyncap_pref p)
{
        return (unsigned)p < sizeof(pref_names) / sizeof(pref_names[0]) ? pref_names[p] : "?";
}

int dyncap_parse_ack(const char *s, uint64_t published, uint64_t *out)
{
        /* A frontend may write up to a page: look no further than a u64's
         * digits before parsing. */
        if (strnlen(s, DYNCAP_ACK_DIGITS_MAX + 1) > DYNCAP_ACK_DIGITS_MAX)
                return -EINVAL;
        return xb_parse_uint(s, published, out);
}

bool dyncap_ratelimit_ok(struct dyncap_ratelimit *rl, uint64_t now_ns)
{
        if (rl->printed == 0 || now_ns - rl->window_start_ns >= DYNCAP_RL_WINDOW_NS) {
                rl->window_start_ns = now_ns;
                rl->printed = 0;
        }
        if (rl->printed < DYNCAP_RL_BURST) {
                rl->printed++;
                return true;
        }
        rl->suppressed++;
        return false;
}
