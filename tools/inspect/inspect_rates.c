/* Rates for --watch: the main counters of each queue, per second between
 * two `show` answers, written into the newer answer so the text and the
 * JSON lines show the same figures. Only between answers of the same
 * daemon (pid, uptime) and the same connection of the device ("connects"):
 * a restart or reconnect restarts the counters. Pure: no I/O. */
#include <stdint.h>
#include <string.h>

#include "inspect.h"

#define MIB (1024.0 * 1024.0)

static struct json_object *member(struct json_object *obj, const char *key)
{
        struct json_object *v = NULL;
        return obj && json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static struct json_object *member_typed(struct json_object *obj, const char *key,
                                        enum json_type type)
{
        struct json_object *v = member(obj, key);
        return v && json_object_is_type(v, type) ? v : NULL;
}

static size_t arr_len(struct json_object *arr)
{
        return arr ? json_object_array_length(arr) : 0;
}

static const char *string(struct json_object *obj, const char *key)
{
        struct json_object *v = member_typed(obj, key, json_type_string);
        return v ? json_object_get_string(v) : NULL;
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
        struct json_object *devs = member_typed(show, "devices", json_type_array);
        for (size_t i = 0; i < arr_len(devs); i++) {
                struct json_object *d = json_object_array_get_idx(devs, i);
                const char *n = string(d, "name");
                if (n && !strcmp(n, name))
                        return d;
        }
        return NULL;
}

static struct json_object *find_queue(struct json_object *dev, uint64_t index)
{
        struct json_object *qs = member_typed(dev, "queues", json_type_array);
        for (size_t i = 0; i < arr_len(qs); i++) {
                struct json_object *q = json_object_array_get_idx(qs, i);
                uint64_t idx;
                if (counter(q, "index", &idx) && idx == index)
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
        struct json_object *cs = member_typed(q, "stats", json_type_object);
        struct json_object *ps = member_typed(pq, "stats", json_type_object);
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

/* The same pvbackd: same pid, and its uptime did not go back (a pid
 * reused by a restarted daemon). */
static bool same_daemon(struct json_object *cur, struct json_object *prev)
{
        struct json_object *cd = member_typed(cur, "daemon", json_type_object);
        struct json_object *pd = member_typed(prev, "daemon", json_type_object);
        uint64_t cpid, ppid, cup, pup;
        return counter(cd, "pid", &cpid) && counter(pd, "pid", &ppid) && cpid == ppid &&
               counter(cd, "uptime_s", &cup) && counter(pd, "uptime_s", &pup) && cup >= pup;
}

/* The same connection of the device: its "connects" did not move. */
static bool same_connection(struct json_object *d, struct json_object *pd)
{
        uint64_t c, p;
        return counter(d, "connects", &c) && counter(pd, "connects", &p) && c == p;
}

void inspect_add_rates(struct json_object *cur, struct json_object *prev, double interval_s)
{
        struct json_object *devs = member_typed(cur, "devices", json_type_array);
        if (!prev || interval_s <= 0 || !same_daemon(cur, prev))
                return;
        for (size_t i = 0; i < arr_len(devs); i++) {
                struct json_object *d = json_object_array_get_idx(devs, i);
                const char *name = string(d, "name"), *cls = string(d, "class");
                struct json_object *pd = name ? find_device(prev, name) : NULL;
                struct json_object *qs = member_typed(d, "queues", json_type_array);
                const struct rate_def *defs = cls && !strcmp(cls, "vbd") ? vbd_rates : vif_rates;
                if (!pd || !same_connection(d, pd))
                        continue;
                for (size_t j = 0; j < arr_len(qs); j++) {
                        struct json_object *q = json_object_array_get_idx(qs, j);
                        uint64_t idx;
                        struct json_object *pq =
                            counter(q, "index", &idx) ? find_queue(pd, idx) : NULL;
                        if (pq && json_object_is_type(q, json_type_object))
                                add_queue_rates(q, pq, defs, interval_s);
                }
        }
}
