/* QoS decisions without I/O: how the capacity of an uplink is shared among
 * the vifs on it (weighted water-filling with minimums and maximums), how a
 * vif's demand is estimated from what it did in the last tick, and the rate
 * syntax. nb_qos.c feeds it measurements and applies what it returns.
 * Every rate here is in bits per second, like tc; NB_QOS_UNLIMITED is "no
 * limit". */
#ifndef PVBACK_NB_QOS_ALLOC_H
#define PVBACK_NB_QOS_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_QOS_UNLIMITED      UINT64_MAX
#define NB_QOS_WEIGHT_DEFAULT 1u
#define NB_QOS_WEIGHT_MAX     10000u
/* The least demand assumed of any vif: enough for a first burst to show. */
#define NB_QOS_DEMAND_FLOOR 1000000ull
/* vifs one allocation shares a capacity among; more on one bridge would
 * form a second group with the same capacity (not expected in practice) */
#define NB_QOS_GROUP_MAX 256u

struct nb_qos_share {
        uint64_t min;    /* guaranteed while the vif has demand */
        uint64_t max;    /* never more (NB_QOS_UNLIMITED: none) */
        uint32_t weight; /* share of the spare capacity, >= 1 */
        uint64_t demand; /* estimated (nb_qos_demand_next) */
};

/* The allocation of each of n vifs sharing `capacity`, into out[]:
 * 1. each vif gets min(demand, min, max); if those exceed the capacity they
 *    are scaled down in proportion and that is all;
 * 2. the rest is water-filled: allocation = clamp(weight * L, floor,
 *    min(max, demand)) with the level L that uses the capacity (a minimum
 *    is a floor, not an addition: a vif above its minimum by weight gets
 *    its weighted share, no more);
 * 3. what no demand takes is handed out the same way up to each max, so
 *    the capacity is always spent (work-conserving: a vif that grows
 *    finds room before the next estimate).
 * With an unlimited capacity every vif gets its max. n <= NB_QOS_GROUP_MAX. */
void nb_qos_allocate(const struct nb_qos_share *in, size_t n, uint64_t capacity, uint64_t *out);

/* A vif's allocation `total` (any unit) split over its n queues by what
 * each carried lately (used[]), each also keeping a
 * NB_QOS_SPLIT_FLOOR-th of an even split so that an idle queue can start.
 * The parts sum to at most total; none is 0 unless total is. */
#define NB_QOS_SPLIT_FLOOR 32u
void nb_qos_split(uint64_t total, const uint64_t *used, size_t n, uint64_t *out);

struct nb_qos_demand_in {
        uint64_t prev;  /* last estimate */
        uint64_t used;  /* measured over the last tick */
        uint64_t alloc; /* what it was allowed in that tick */
        bool throttled; /* the limiter held or dropped something */
        uint64_t dflt;  /* qos.default: the demand assumed of an idle vif */
        uint64_t max;   /* the vif's max */
};

/* Next demand estimate. A vif the limiter held, or that used 90 % of its
 * allocation, wants more than it got: twice as much (geometric growth, so
 * a greedy vif reaches any share in a few ticks). Otherwise what it used
 * plus a quarter, falling by at most half per tick. Never below
 * max(qos.default, NB_QOS_DEMAND_FLOOR), never above max. */
uint64_t nb_qos_demand_next(const struct nb_qos_demand_in *in);

/* "100M", "1G", "500k", "1.5G", "12000": bits per second (k, M, G, T are
 * powers of 1000, as tc). "unlimited" and "0" give NB_QOS_UNLIMITED when
 * allow_unlimited. 0, -EINVAL (syntax) or -ERANGE. */
int nb_qos_parse_rate(const char *s, bool allow_unlimited, uint64_t *out);
/* "250M"-style, exact: the largest unit that divides the rate. */
void nb_qos_format_rate(uint64_t bps, char *buf, size_t len);

#endif
