/* The QoS allocator, demand estimator and rate syntax (see nb_qos_alloc.h):
 * pure functions, tested in tests/unit/test_nb_qos_alloc.c. */
#include "netback/nb_qos_alloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t u64_min(uint64_t a, uint64_t b)
{
        return a < b ? a : b;
}

static uint64_t u64_max(uint64_t a, uint64_t b)
{
        return a > b ? a : b;
}

static double clamp_level(double level, uint32_t weight, uint64_t lo, uint64_t hi)
{
        double v = level * (double)weight;
        if (v < (double)lo)
                return (double)lo;
        if (hi != NB_QOS_UNLIMITED && v > (double)hi)
                return (double)hi;
        return v;
}

static double fill_sum(const struct nb_qos_share *in, const uint64_t *lo, const uint64_t *hi,
                       size_t n, double level)
{
        double sum = 0;
        for (size_t i = 0; i < n; i++)
                sum += clamp_level(level, in[i].weight ? in[i].weight : 1, lo[i], hi[i]);
        return sum;
}

/* out[i] = clamp(weight_i * L, lo_i, hi_i) with L such that the sum is the
 * capacity, or hi_i for all when even that stays below it. The sum is
 * monotone in L: bisection, to well under a bit per second. */
static void water_fill(const struct nb_qos_share *in, const uint64_t *lo, const uint64_t *hi,
                       size_t n, uint64_t capacity, uint64_t *out)
{
        double cap = (double)capacity, top = cap, bottom = 0;
        bool bounded = true;

        for (size_t i = 0; i < n; i++) {
                if (hi[i] == NB_QOS_UNLIMITED)
                        bounded = false;
                else if ((double)hi[i] > top)
                        top = (double)hi[i];
        }
        if (bounded && fill_sum(in, lo, hi, n, top) <= cap) {
                memcpy(out, hi, n * sizeof(*out));
                return;
        }
        for (int it = 0; it < 200 && top - bottom > 1e-3; it++) {
                double mid = (top + bottom) / 2;
                if (fill_sum(in, lo, hi, n, mid) > cap)
                        top = mid;
                else
                        bottom = mid;
        }
        for (size_t i = 0; i < n; i++) {
                double v = clamp_level(bottom, in[i].weight ? in[i].weight : 1, lo[i], hi[i]);
                out[i] = u64_max(lo[i], (uint64_t)v);
        }
}

void nb_qos_allocate(const struct nb_qos_share *in, size_t n, uint64_t capacity, uint64_t *out)
{
        uint64_t lo[NB_QOS_GROUP_MAX] = {0}, hi[NB_QOS_GROUP_MAX] = {0},
                 first[NB_QOS_GROUP_MAX] = {0};
        double floors = 0;

        if (n > NB_QOS_GROUP_MAX)
                n = NB_QOS_GROUP_MAX;

        if (capacity == NB_QOS_UNLIMITED) {
                for (size_t i = 0; i < n; i++)
                        out[i] = in[i].max;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                hi[i] = u64_min(in[i].max, in[i].demand);
                lo[i] = u64_min(in[i].min, hi[i]);
                floors += (double)lo[i];
        }
        if (floors >= (double)capacity) {
                /* Minimums promised beyond the capacity: each keeps the same
                 * fraction of its own. */
                double f = floors > 0 ? (double)capacity / floors : 0;
                for (size_t i = 0; i < n; i++)
                        out[i] = (uint64_t)((double)lo[i] * f);
                return;
        }
        water_fill(in, lo, hi, n, capacity, first);
        /* Spare capacity no estimate asked for: up to each max. */
        for (size_t i = 0; i < n; i++)
                hi[i] = in[i].max;
        water_fill(in, first, hi, n, capacity, out);
}

void nb_qos_split(uint64_t total, const uint64_t *used, size_t n, uint64_t *out)
{
        unsigned __int128 sum_w = 0;
        uint64_t sum = 0;

        for (size_t i = 0; i < n; i++)
                sum += used[i];
        for (size_t i = 0; i < n; i++)
                sum_w += used[i] + sum / (NB_QOS_SPLIT_FLOOR * n) + 1;
        for (size_t i = 0; i < n; i++) {
                uint64_t w = used[i] + sum / (NB_QOS_SPLIT_FLOOR * n) + 1;
                out[i] = (uint64_t)((unsigned __int128)total * w / sum_w);
                if (out[i] == 0 && total)
                        out[i] = 1;
        }
}

static uint64_t sat_mul(uint64_t v, uint64_t k)
{
        return v > UINT64_MAX / k ? UINT64_MAX : v * k;
}

uint64_t nb_qos_demand_next(const struct nb_qos_demand_in *in)
{
        uint64_t d;
        bool saturated = in->alloc != NB_QOS_UNLIMITED && in->used >= in->alloc / 10 * 9;

        if (in->throttled || saturated) {
                d = sat_mul(u64_max(in->used, in->alloc == NB_QOS_UNLIMITED ? 0 : in->alloc), 2);
                d = u64_max(d, in->prev);
        } else {
                d = in->used + in->used / 4;
                d = u64_max(d, in->prev / 2);
        }
        d = u64_max(d, u64_max(in->dflt, NB_QOS_DEMAND_FLOOR));
        return u64_min(d, in->max);
}

int nb_qos_parse_rate(const char *s, bool allow_unlimited, uint64_t *out)
{
        char *end = NULL;
        double v, mult = 1;

        if (!s || !*s)
                return -EINVAL;
        if (!strcmp(s, "unlimited")) {
                if (!allow_unlimited)
                        return -EINVAL;
                *out = NB_QOS_UNLIMITED;
                return 0;
        }
        if (!(*s >= '0' && *s <= '9'))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s)
                return -EINVAL;
        switch (*end) {
        case '\0':
                break;
        case 'k':
        case 'K':
                mult = 1e3;
                break;
        case 'M':
                mult = 1e6;
                break;
        case 'G':
                mult = 1e9;
                break;
        case 'T':
                mult = 1e12;
                break;
        default:
                return -EINVAL;
        }
        if (*end && end[1] != '\0' && strcmp(end + 1, "bit") && strcmp(end + 1, "bps"))
                return -EINVAL;
        if (!isfinite(v) || v < 0)
                return -EINVAL;
        v *= mult;
        if (v >= 1.8e19)
                return -ERANGE;
        if (v < 1) {
                if (v != 0 || !allow_unlimited)
                        return v == 0 ? -ERANGE : -EINVAL;
                *out = NB_QOS_UNLIMITED;
                return 0;
        }
        *out = (uint64_t)llround(v);
        return 0;
}

void nb_qos_format_rate(uint64_t bps, char *buf, size_t len)
{
        static const struct {
                uint64_t div;
                const char *unit;
        } units[] = {
            {1000000000000ull, "T"}, {1000000000ull, "G"}, {1000000ull, "M"}, {1000ull, "k"}};

        if (bps == NB_QOS_UNLIMITED) {
                snprintf(buf, len, "unlimited");
                return;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (bps >= units[i].div && bps % units[i].div == 0) {
                        snprintf(buf, len, "%llu%s", (unsigned long long)(bps / units[i].div),
                                 units[i].unit);
                        return;
                }
        snprintf(buf, len, "%llu", (unsigned long long)bps);
}
