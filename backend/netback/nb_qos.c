/* The QoS scheduler and its settings (see nb_qos.h). Every NB_QOS_TICK_NS a
 * timerfd on the control thread's loop fires: each connected vif's traffic
 * since the last tick is read from its queues' counters, its demand per
 * direction estimated, each uplink group's capacity shared (nb_qos_allocate)
 * and each queue given its part of its vif's allocation, in proportion to
 * what it carried. The workers pick the parts up at their next pass; no
 * worker_call, so the control thread never waits on a busy data path and a
 * tick costs a few loads and stores per queue. */
#include "netback/nb_qos.h"

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ctl_json.h"
#include "evloop.h"
#include "log.h"
#include "netback/nb_qos_alloc.h"
#include "netback/nb_vif.h"
#include "xb.h"

enum nb_qos_dir_id { NB_QOS_TX, NB_QOS_RX, NB_QOS_DIRS };

struct nb_qos_dir {
        uint64_t demand;                      /* bits/s, estimated */
        uint64_t alloc;                       /* bits/s, NB_QOS_UNLIMITED: none */
        bool enforced;                        /* the queues were given a limit */
        uint64_t achieved;                    /* bits/s delivered, smoothed over about a second */
        uint64_t last_offered[NB_MAX_QUEUES]; /* counters at the last tick */
        uint64_t last_delivered[NB_MAX_QUEUES];
        uint64_t used[NB_MAX_QUEUES]; /* bytes offered per queue per tick, smoothed */
        uint64_t last_throttle;       /* tx_credit_waits / rx_drop_qos summed */
        unsigned throttle_hold;       /* ticks it still counts as held */
};

/* A limiter whose window is longer than a tick holds a greedy vif in some
 * ticks only: held within the last NB_QOS_HOLD_TICKS counts as held. */
#define NB_QOS_HOLD_TICKS 5u

struct nb_qos_vif {
        struct nb_qos_vif *next;
        struct nb_vif *vif;
        uint64_t min, dflt, max; /* bits/s; max NB_QOS_UNLIMITED: none */
        uint32_t weight;
        char group[32];        /* the bridge, "" when none */
        bool measuring;        /* the baseline is of the current connection */
        uint32_t seen_connect; /* ... which is vif->connects */
        bool grouped;          /* allocated this tick */
        struct nb_qos_dir dir[NB_QOS_DIRS];
};

#define NB_QOS_UPLINKS 64u
#define NB_QOS_NAME    NB_NETDEV_NAME_MAX

struct nb_qos_uplink {
        char name[NB_QOS_NAME];
        uint64_t capacity;
};

/* All control thread. */
static struct nb_qos_uplink nb_qos_uplinks[NB_QOS_UPLINKS];
static unsigned nb_qos_nr_uplinks;
static struct nb_qos_vif *nb_qos_vifs;
static struct ev_loop *nb_qos_loop;
static int nb_qos_timer = -1;
static uint64_t nb_qos_last_tick;

/* ---- uplink capacities ----------------------------------------------------- */

static uint64_t uplink_capacity(const char *name)
{
        if (!name[0])
                return NB_QOS_UNLIMITED;
        for (unsigned i = 0; i < nb_qos_nr_uplinks; i++)
                if (!strcmp(nb_qos_uplinks[i].name, name))
                        return nb_qos_uplinks[i].capacity;
        return NB_QOS_UNLIMITED;
}

static int uplink_set_capacity(const char *name, uint64_t cap)
{
        unsigned i;
        for (i = 0; i < nb_qos_nr_uplinks; i++)
                if (!strcmp(nb_qos_uplinks[i].name, name))
                        break;
        if (cap == NB_QOS_UNLIMITED) {
                if (i < nb_qos_nr_uplinks)
                        nb_qos_uplinks[i] = nb_qos_uplinks[--nb_qos_nr_uplinks];
                return 0;
        }
        if (i == nb_qos_nr_uplinks) {
                if (i == NB_QOS_UPLINKS)
                        return -ENOSPC;
                snprintf(nb_qos_uplinks[i].name, NB_QOS_NAME, "%s", name);
                nb_qos_nr_uplinks++;
        }
        nb_qos_uplinks[i].capacity = cap;
        return 0;
}

int nb_qos_configure(const char *key, const char *value)
{
        char name[NB_QOS_NAME];
        const char *colon;
        uint64_t cap;
        int rc;

        if (strcmp(key, "uplink-capacity"))
                return -ENOENT;
        colon = strchr(value, ':');
        if (!colon || (size_t)(colon - value) >= sizeof(name)) {
                pv_err("vif", "uplink-capacity=%s: expected BRIDGE:RATE, e.g. xenbr0:1G", value);
                return -EINVAL;
        }
        memcpy(name, value, (size_t)(colon - value));
        name[colon - value] = '\0';
        if (!nb_netdev_name_ok(name)) {
                pv_err("vif", "uplink-capacity=%s: %s is not a netdev name", value, name);
                return -EINVAL;
        }
        rc = nb_qos_parse_rate(colon + 1, true, &cap);
        if (rc == 0)
                rc = uplink_set_capacity(name, cap);
        if (rc < 0)
                pv_err("vif", "uplink-capacity=%s: %s", value,
                       rc == -ENOSPC ? "too many uplinks"
                                     : "the rate is bits/s, e.g. 400M, 1G, 500k, or unlimited");
        return rc;
}

/* ---- measuring ---------------------------------------------------------------- */

static uint64_t load_counter(const uint64_t *p)
{
        return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Bytes a queue was asked to carry (TX: sent, as the guest's ring backs up
 * behind the limiter; RX: delivered plus dropped here) and delivered. */
static void queue_bytes(const struct nb_queue *q, enum nb_qos_dir_id d, uint64_t *offered,
                        uint64_t *delivered)
{
        if (d == NB_QOS_TX) {
                *delivered = *offered = load_counter(&q->st.tx_bytes);
        } else {
                *delivered = load_counter(&q->st.rx_bytes);
                *offered = *delivered + load_counter(&q->st.rx_drop_qos_bytes);
        }
}

static uint64_t vif_throttle_count(const struct nb_vif *vif, enum nb_qos_dir_id d)
{
        uint64_t sum = 0;
        for (uint32_t i = 0; i < vif->nr_queues; i++)
                sum += load_counter(d == NB_QOS_TX ? &vif->queues[i].st.tx_credit_waits
                                                   : &vif->queues[i].st.rx_drop_qos);
        return sum;
}

/* The vif's maximum each way: qos.max, and on TX the `rate` key too (the
 * toolstack's limit is a maximum, Linux applies it to guest TX only). */
static uint64_t vif_max(const struct nb_qos_vif *v, enum nb_qos_dir_id d)
{
        const struct nb_fe_cfg *c = &v->vif->cfg;
        uint64_t m = v->max;
        if (d == NB_QOS_TX && c->has_rate && c->credit_usec) {
                unsigned __int128 bps =
                    (unsigned __int128)c->credit_bytes * 8u * 1000000u / c->credit_usec;
                if (bps < m)
                        m = (uint64_t)bps;
        }
        return m;
}

static void baseline(struct nb_qos_vif *v)
{
        const struct nb_vif *vif = v->vif;
        v->measuring = true;
        v->seen_connect = vif->connects;
        for (int d = 0; d < NB_QOS_DIRS; d++) {
                struct nb_qos_dir *s = &v->dir[d];
                for (uint32_t i = 0; i < vif->nr_queues; i++) {
                        queue_bytes(&vif->queues[i], d, &s->last_offered[i], &s->last_delivered[i]);
                        s->used[i] = 0;
                }
                s->last_throttle = vif_throttle_count(vif, d);
                s->throttle_hold = 0;
                s->demand = v->dflt > NB_QOS_DEMAND_FLOOR ? v->dflt : NB_QOS_DEMAND_FLOOR;
                s->achieved = 0;
        }
}

static uint64_t bits_per_s(uint64_t bytes, uint64_t dt_ns)
{
        return (uint64_t)((unsigned __int128)bytes * 8u * 1000000000u / dt_ns);
}

static void measure_dir(struct nb_qos_vif *v, enum nb_qos_dir_id d, uint64_t dt_ns)
{
        const struct nb_vif *vif = v->vif;
        struct nb_qos_dir *s = &v->dir[d];
        uint64_t offered = 0, delivered = 0, throttle = vif_throttle_count(vif, d);
        double a = (double)dt_ns / 1e9;

        if (throttle != s->last_throttle)
                s->throttle_hold = NB_QOS_HOLD_TICKS;
        else if (s->throttle_hold)
                s->throttle_hold--;
        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                uint64_t o, del;
                queue_bytes(&vif->queues[i], d, &o, &del);
                /* Smoothed over a few ticks for the split: one tick holds
                 * only a few large frames per queue. */
                s->used[i] = (3 * s->used[i] + (o - s->last_offered[i])) / 4;
                offered += o - s->last_offered[i];
                delivered += del - s->last_delivered[i];
                s->last_offered[i] = o;
                s->last_delivered[i] = del;
        }
        struct nb_qos_demand_in in = {.prev = s->demand,
                                      .used = bits_per_s(offered, dt_ns),
                                      .alloc = s->enforced ? s->alloc : NB_QOS_UNLIMITED,
                                      .throttled = s->throttle_hold > 0,
                                      .dflt = v->dflt,
                                      .max = vif_max(v, d)};
        s->last_throttle = throttle;
        s->demand = nb_qos_demand_next(&in);
        if (a > 1)
                a = 1;
        s->achieved = (uint64_t)((double)s->achieved +
                                 ((double)bits_per_s(delivered, dt_ns) - (double)s->achieved) * a);
}

/* ---- sharing --------------------------------------------------------------------- */

static bool vif_active(const struct nb_qos_vif *v)
{
        return v->vif->connected && v->vif->queues && v->measuring &&
               v->seen_connect == v->vif->connects;
}

/* Every active vif of v's group (v alone without a bridge) gets its
 * allocation each way. */
static void allocate_group(struct nb_qos_vif *v)
{
        struct nb_qos_vif *members[NB_QOS_GROUP_MAX];
        struct nb_qos_share in[NB_QOS_GROUP_MAX];
        uint64_t out[NB_QOS_GROUP_MAX], cap = uplink_capacity(v->group);
        size_t n = 0;

        for (struct nb_qos_vif *m = v; m && n < NB_QOS_GROUP_MAX; m = m->next) {
                if (m->grouped || !vif_active(m))
                        continue;
                if (m != v && (!v->group[0] || strcmp(m->group, v->group)))
                        continue;
                m->grouped = true;
                members[n++] = m;
        }
        for (int d = 0; d < NB_QOS_DIRS; d++) {
                for (size_t i = 0; i < n; i++)
                        in[i] = (struct nb_qos_share){.min = members[i]->min,
                                                      .max = vif_max(members[i], d),
                                                      .weight = members[i]->weight,
                                                      .demand = members[i]->dir[d].demand};
                nb_qos_allocate(in, n, cap, out);
                for (size_t i = 0; i < n; i++) {
                        struct nb_qos_dir *s = &members[i]->dir[d];
                        s->alloc = out[i];
                        /* The `rate` key alone keeps its own per-queue
                         * credit, exactly as before QoS (Linux). */
                        s->enforced =
                            cap != NB_QOS_UNLIMITED || members[i]->max != NB_QOS_UNLIMITED;
                }
        }
}

/* Each queue gets a part of the vif's allocation (nb_qos_split). */
static void push_dir(struct nb_qos_vif *v, enum nb_qos_dir_id d)
{
        struct nb_vif *vif = v->vif;
        const struct nb_qos_dir *s = &v->dir[d];
        uint64_t part[NB_MAX_QUEUES] = {0};

        if (s->enforced)
                nb_qos_split(s->alloc / 8, s->used, vif->nr_queues, part);
        for (uint32_t i = 0; i < vif->nr_queues; i++) {
                struct nb_queue *q = &vif->queues[i];
                /* 0 is no limit: an enforced part is at least 1 byte/s. */
                uint64_t bytes = s->enforced && !part[i] ? 1 : part[i];
                atomic_store_explicit(d == NB_QOS_TX ? &q->qos_tx_bytes_per_s
                                                     : &q->qos_rx_bytes_per_s,
                                      bytes, memory_order_relaxed);
        }
}

static void nb_qos_tick(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        uint64_t expirations, now = nb_now_ns(), dt = now - nb_qos_last_tick;
        ssize_t r = read(fd, &expirations, sizeof(expirations));
        (void)r;
        (void)loop;
        (void)events;
        (void)arg;
        nb_qos_last_tick = now;
        if (dt == 0)
                return;
        for (struct nb_qos_vif *v = nb_qos_vifs; v; v = v->next) {
                v->grouped = false;
                if (!v->vif->connected || !v->vif->queues) {
                        v->measuring = false;
                        continue;
                }
                if (!v->measuring || v->seen_connect != v->vif->connects) {
                        baseline(v);
                        continue;
                }
                measure_dir(v, NB_QOS_TX, dt);
                measure_dir(v, NB_QOS_RX, dt);
        }
        for (struct nb_qos_vif *v = nb_qos_vifs; v; v = v->next)
                if (!v->grouped && vif_active(v))
                        allocate_group(v);
        for (struct nb_qos_vif *v = nb_qos_vifs; v; v = v->next)
                if (v->grouped) {
                        push_dir(v, NB_QOS_TX);
                        push_dir(v, NB_QOS_RX);
                }
}

static int timer_start(struct ev_loop *loop)
{
        struct itimerspec its = {.it_interval = {0, (long)NB_QOS_TICK_NS},
                                 .it_value = {0, (long)NB_QOS_TICK_NS}};
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        int rc;
        if (fd < 0)
                return -errno;
        rc = timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
        rc = rc ?: ev_add(loop, fd, EPOLLIN, nb_qos_tick, NULL);
        if (rc < 0) {
                close(fd);
                return rc;
        }
        nb_qos_timer = fd;
        nb_qos_loop = loop;
        nb_qos_last_tick = nb_now_ns();
        return 0;
}

static void timer_stop(void)
{
        if (nb_qos_timer < 0)
                return;
        ev_del(nb_qos_loop, nb_qos_timer);
        close(nb_qos_timer);
        nb_qos_timer = -1;
        nb_qos_loop = NULL;
}

/* ---- vifs --------------------------------------------------------------------- */

int nb_qos_vif_add(struct nb_vif *vif)
{
        struct be_dev *dev = vif->dev;
        struct nb_qos_vif *v = calloc(1, sizeof(*v));
        int rc;

        if (!v)
                return -ENOMEM;
        v->vif = vif;
        v->max = NB_QOS_UNLIMITED;
        v->weight = NB_QOS_WEIGHT_DEFAULT;
        for (int d = 0; d < NB_QOS_DIRS; d++)
                v->dir[d].alloc = NB_QOS_UNLIMITED;
        /* The vifs on one bridge share its uplink. */
        snprintf(v->group, sizeof(v->group), "%s", vif->bridge);
        if (nb_qos_timer < 0 && (rc = timer_start(be_dev_loop(dev))) < 0) {
                pv_err(dev->name, "starting the QoS scheduler: %s", strerror(-rc));
                free(v);
                return rc;
        }
        v->next = nb_qos_vifs;
        nb_qos_vifs = v;
        vif->qos = v;
        return 0;
}

void nb_qos_vif_del(struct nb_vif *vif)
{
        for (struct nb_qos_vif **p = &nb_qos_vifs; *p; p = &(*p)->next)
                if (*p == vif->qos) {
                        *p = vif->qos->next;
                        break;
                }
        free(vif->qos);
        vif->qos = NULL;
        if (!nb_qos_vifs)
                timer_stop();
}

/* ---- set -------------------------------------------------------------------------- */

const char nb_qos_vif_keys[] =
    "vif keys: qos.min, qos.default, qos.max (bits/s: 400M, 1G, 500k; max also unlimited), "
    "qos.weight (1..10000)";

static int set_vif(struct be_dev *dev, const char *key, const char *value, char *err, size_t errlen)
{
        struct nb_vif *vif = dev->priv;
        struct nb_qos_vif *v = vif ? vif->qos : NULL;
        uint64_t x, min, max;
        char a[32], b[32];
        int rc;

        if (!v)
                return -EBUSY;
        if (!strcmp(key, "qos.weight")) {
                rc = xb_parse_uint(value, NB_QOS_WEIGHT_MAX, &x);
                if (rc < 0 || x == 0) {
                        snprintf(err, errlen, "qos.weight %.32s: expected 1..%u", value,
                                 NB_QOS_WEIGHT_MAX);
                        return rc < 0 ? rc : -ERANGE;
                }
                v->weight = (uint32_t)x;
                pv_info(dev->name, "qos.weight now %" PRIu64, x);
                return 0;
        }
        bool is_max = !strcmp(key, "qos.max");
        if (!is_max && strcmp(key, "qos.min") && strcmp(key, "qos.default")) {
                snprintf(err, errlen, "unknown key %.32s; %s", key, nb_qos_vif_keys);
                return -ENOENT;
        }
        if (!is_max && !strcmp(value, "0"))
                x = 0;
        else if ((rc = nb_qos_parse_rate(value, is_max, &x)) < 0) {
                snprintf(err, errlen, "%s %.32s: a rate in bits/s, e.g. 400M, 1G, 500k%s", key,
                         value, is_max ? ", or unlimited" : ", or 0");
                return rc;
        }
        min = !strcmp(key, "qos.min") ? x : v->min;
        max = is_max ? x : v->max;
        if (min > max) {
                nb_qos_format_rate(min, a, sizeof(a));
                nb_qos_format_rate(max, b, sizeof(b));
                snprintf(err, errlen, "qos.min %s would be above qos.max %s", a, b);
                return -ERANGE;
        }
        if (is_max)
                v->max = x;
        else if (!strcmp(key, "qos.min"))
                v->min = x;
        else
                v->dflt = x;
        nb_qos_format_rate(x, a, sizeof(a));
        pv_info(dev->name, "%s now %s", key, a);
        return 0;
}

static int set_uplink(const char *target, const char *key, const char *value, char *err,
                      size_t errlen)
{
        const char *name = target + strlen("uplink:");
        uint64_t cap;
        char a[32];
        int rc;

        if (!nb_netdev_name_ok(name)) {
                snprintf(err, errlen,
                         "%.40s is not a netdev name (uplink:BRIDGE, e.g. uplink:xenbr0)", name);
                return -EINVAL;
        }
        if (strcmp(key, "capacity")) {
                snprintf(err, errlen, "unknown key %.32s; an uplink has: capacity", key);
                return -ENOENT;
        }
        if ((rc = nb_qos_parse_rate(value, true, &cap)) < 0) {
                snprintf(err, errlen,
                         "capacity %.32s: a rate in bits/s, e.g. 400M, 1G, 500k, or unlimited",
                         value);
                return rc;
        }
        if ((rc = uplink_set_capacity(name, cap)) < 0) {
                snprintf(err, errlen, "too many uplinks with a capacity (%u)", NB_QOS_UPLINKS);
                return rc;
        }
        nb_qos_format_rate(cap, a, sizeof(a));
        pv_info("vif", "uplink %s: capacity now %s", name, a);
        return 0;
}

/* An uplink the administrator may name: a netdev of this host (a bridge a
 * guest will be put on), the bridge of a vif served now, or one already
 * given a capacity. Anything else is not ours to answer for. */
static bool uplink_known(const char *name)
{
        if (if_nametoindex(name) != 0)
                return true;
        for (unsigned i = 0; i < nb_qos_nr_uplinks; i++)
                if (!strcmp(nb_qos_uplinks[i].name, name))
                        return true;
        for (const struct nb_qos_vif *v = nb_qos_vifs; v; v = v->next)
                if (!strcmp(v->group, name))
                        return true;
        return false;
}

int nb_qos_set(struct be_dev *dev, const char *target, const char *key, const char *value,
               char *err, size_t errlen)
{
        if (dev) {
                if (strncmp(key, "qos.", 4)) {
                        snprintf(err, errlen, "unknown key %.32s; %s", key, nb_qos_vif_keys);
                        return -ENOENT;
                }
                return set_vif(dev, key, value, err, errlen);
        }
        if (strncmp(target, "uplink:", strlen("uplink:")))
                return -ENODEV;
        if (nb_netdev_name_ok(target + strlen("uplink:")) &&
            !uplink_known(target + strlen("uplink:")))
                return -ENODEV;
        return set_uplink(target, key, value, err, errlen);
}

int nb_qos_settings(const struct nb_vif *vif, struct nb_qos_settings *out)
{
        const struct nb_qos_vif *v = vif->qos;
        if (!v)
                return -ENOENT;
        *out = (struct nb_qos_settings){.min = v->min,
                                        .dflt = v->dflt,
                                        .max_tx = vif_max(v, NB_QOS_TX),
                                        .max_rx = vif_max(v, NB_QOS_RX),
                                        .capacity = uplink_capacity(v->group),
                                        .weight = v->weight};
        return 0;
}

/* ---- show ----------------------------------------------------------------------- */

static int json_rate(struct json_object *obj, const char *key, uint64_t bps)
{
        return bps == NB_QOS_UNLIMITED ? ctl_json_null(obj, key) : ctl_json_u64(obj, key, bps);
}

int nb_qos_dump(const struct nb_vif *vif, struct json_object *obj)
{
        const struct nb_qos_vif *v = vif->qos;
        struct json_object *q;
        uint64_t drops = 0, waits = 0;
        int rc;

        if (!v)
                return ctl_json_null(obj, "qos");
        if (!(q = ctl_json_child(obj, "qos")))
                return -ENOMEM;
        if (vif->queues) {
                drops = vif_throttle_count(vif, NB_QOS_RX);
                waits = vif_throttle_count(vif, NB_QOS_TX);
        }
        bool active = vif_active(v);
        rc = ctl_json_u64(q, "min", v->min);
        rc = rc ?: ctl_json_u64(q, "default", v->dflt);
        rc = rc ?: json_rate(q, "max", v->max);
        rc = rc ?: json_rate(q, "max_tx_effective", vif_max(v, NB_QOS_TX));
        rc = rc ?: ctl_json_u64(q, "weight", v->weight);
        rc = rc ?: ctl_json_str(q, "group", v->group[0] ? v->group : NULL);
        rc = rc ?: json_rate(q, "group_capacity", uplink_capacity(v->group));
        rc = rc
                 ?: json_rate(q, "allocation_tx",
                              active && v->dir[NB_QOS_TX].enforced ? v->dir[NB_QOS_TX].alloc
                                                                   : NB_QOS_UNLIMITED);
        rc = rc
                 ?: json_rate(q, "allocation_rx",
                              active && v->dir[NB_QOS_RX].enforced ? v->dir[NB_QOS_RX].alloc
                                                                   : NB_QOS_UNLIMITED);
        rc = rc ?: ctl_json_u64(q, "achieved_tx_bps", active ? v->dir[NB_QOS_TX].achieved : 0);
        rc = rc ?: ctl_json_u64(q, "achieved_rx_bps", active ? v->dir[NB_QOS_RX].achieved : 0);
        rc = rc ?: ctl_json_u64(q, "rx_drop_qos", drops);
        return rc ?: ctl_json_u64(q, "tx_credit_waits", waits);
}
