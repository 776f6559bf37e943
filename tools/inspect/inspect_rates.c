/* Rates for --watch: the main counters of each queue, per second between
 * two `show` answers, written into the newer answer so the text and the
 * JSON lines show the same figures. Pure: no I/O. */
#include <stdint.h>
#include <string.h>

#include "inspect.h"

#define MIB (1024.0 * 1024.0)

static struct json_object *member(struct json_object *obj, const char *key)
{
        struct json_object *v = NULL;
        return obj && json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static bool counter(struct json_object *stats, const char *key, uint64_t *out)
{
        struct json_object *v = member(stats, key);
        if (!v || !json_object_is_type(v, json_type_int))
                return false;
        *out = json_object_get_uint64(v);
        return true;
}

static struct json_object *find_device(struct json_object *show, const char *name)
{
        struct json_object *devs = member(show, "devices");
        for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
                struct json_object *d = json_object_array_get_idx(devs, i);
                struct json_object *n = member(d, "name");
                if (n && !strcmp(json_object_get_string(n), name))
                        return d;
        }
        return NULL;
}

static struct json_object *find_queue(struct json_object *dev, uint64_t index)
{
        struct json_object *qs = member(dev, "queues");
        for (size_t i = 0; qs && i < json_object_array_length(qs); i++) {
                struct json_object *q = json_object_array_get_idx(qs, i);
                struct json_object *idx = member(q, "index");
                if (idx && json_object_get_uint64(idx) == index)
                        return q;
        }
        return NULL;
}

/* (cur - prev) / s of one counter, scaled; false when either is missing or
 * the counter went back (the queue restarted). */
static bool per_second(struct json_object *cur, struct json_object *prev, const char *key, double s,
                       double scale, double *out)
{
        uint64_t a, b;
        if (!counter(cur, key, &a) || !counter(prev, key, &b) || a < b)
                return false;
        *out = (double)(a - b) / s / scale;
        return true;
}

struct rate_def {
        const char *counter, *name;
        double scale;
};

static const struct rate_def vif_rates[] = {
    {"tx_packets", "tx_packets", 1},
    {"tx_bytes", "tx_mib", MIB},
    {"rx_packets", "rx_packets", 1},
    {"rx_bytes", "rx_mib", MIB},
    {NULL, NULL, 0},
};

static const struct rate_def vbd_rates[] = {
    {"requests", "requests", 1},
    {"segments", "segments", 1},
    {NULL, NULL, 0},
};

static void add_queue_rates(struct json_object *q, struct json_object *pq,
                            const struct rate_def *defs, double s)
{
        struct json_object *cs = member(q, "stats"), *ps = member(pq, "stats");
        struct json_object *r = json_object_new_object();
        if (!r)
                return;
        for (const struct rate_def *d = defs; d->counter; d++) {
                double v;
                if (!per_second(cs, ps, d->counter, s, d->scale, &v)) {
                        json_object_put(r);
                        return;
                }
                json_object_object_add(r, d->name, json_object_new_double(v));
        }
        json_object_object_add(q, "rates", r);
}

void inspect_add_rates(struct json_object *cur, struct json_object *prev, double interval_s)
{
        struct json_object *devs = member(cur, "devices");
        if (!prev || interval_s <= 0)
                return;
        for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
                struct json_object *d = json_object_array_get_idx(devs, i);
                struct json_object *name = member(d, "name"), *cls = member(d, "class");
                struct json_object *pd =
                    name ? find_device(prev, json_object_get_string(name)) : NULL;
                struct json_object *qs = member(d, "queues");
                const struct rate_def *defs =
                    cls && !strcmp(json_object_get_string(cls), "vbd") ? vbd_rates : vif_rates;
                for (size_t j = 0; pd && qs && j < json_object_array_length(qs); j++) {
                        struct json_object *q = json_object_array_get_idx(qs, j);
                        struct json_object *idx = member(q, "index");
                        struct json_object *pq =
                            idx ? find_queue(pd, json_object_get_uint64(idx)) : NULL;
                        if (pq)
                                add_queue_rates(q, pq, defs, interval_s);
                }
        }
}
