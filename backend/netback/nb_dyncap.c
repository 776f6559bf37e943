/* Implementation of nb_dyncap.h: the vif's capability sections and the
 * triggers that republish them. The list of connected vifs (for the
 * uplink section's "shared"), the per-bridge debounce timers and each
 * vif's preference debounce timer are the control thread's alone. Not the
 * publishing itself (dyncap_pub.c) nor the offload decision (off_caps.c). */
#include "netback/nb_dyncap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ctl_json.h"
#include "dyncap.h"
#include "evloop.h"
#include "log.h"
#include "netback/nb_coal.h"
#include "netback/nb_qos.h"
#include "netback/nb_qos_alloc.h"
#include "netback/nb_vif.h"
#include "offload/off_caps.h"
#include "xb.h"

struct nb_dyncap {
        struct dyncap dc;
        /* L3 as the administrator or the default set it (vif->coal.l3 is
         * what is in force, the guest's preference applied), whether the
         * administrator set it on this vif, and where the mode in force
         * comes from (enum nb_coal_src). */
        uint8_t l3_conf;
        bool l3_admin;
        uint8_t l3_src;
        /* The guest's preference as last applied to L3 (dc.pref is the
         * latest it stated), when that was, and the timer of an application
         * that waits for the gap (pref_tfd -1 while none is open). */
        enum dyncap_pref pref_applied;
        uint64_t pref_last_ns;
        struct ev_loop *pref_loop;
        int pref_tfd;
        bool pref_armed;
        /* Changes the guest stated within the gap: folded into the next
         * application (or into none, when it flipped back). */
        uint64_t prefs_coalesced;
};

struct nb_dyncap_list {
        struct nb_vif **v;
        size_t n, cap;
};

/* Connected vifs that publish capabilities. */
static struct nb_dyncap_list nb_dc_connected;

/* A guest cycling its vif must not make us rewrite every other vif on its
 * bridge each time: republishes a bridge's membership drives go out at
 * most once per NB_DYNCAP_BRIDGE_GAP_NS, the last always with the state
 * as it is by then. */
#define NB_DYNCAP_BRIDGE_GAP_NS 1000000000ull

struct nb_dyncap_bridge {
        char name[NB_NETDEV_NAME_MAX];
        struct ev_loop *loop;
        int tfd; /* timerfd, armed while a republish waits */
        bool armed;
        uint64_t last_ns; /* when the last republish went out */
        struct nb_dyncap_bridge *next;
};

static struct nb_dyncap_bridge *nb_dc_bridges;
static void bridge_free(struct nb_dyncap_bridge *b);

/* A guest may rewrite capabilities-preference in a loop, and each value
 * that moves L3 costs a worker_call per queue and a xenstore transaction on
 * the control thread. A change is applied at once when the vif's last
 * application is NB_DYNCAP_PREF_GAP_NS ago, else once the gap is over with
 * the value stated by then: at most one application per gap, whatever the
 * guest writes, and a second's delay is nothing to a preference that is
 * meant to describe a workload. */
#define NB_DYNCAP_PREF_GAP_NS 1000000000ull

/* ---- sections ------------------------------------------------------------- */

const char *nb_dyncap_offload_path(unsigned cap, bool negotiated, unsigned uplink_caps)
{
        unsigned need = cap;
        if (!negotiated)
                return "off";
        /* off_decide: GSO passes only to a peer with SG as well. */
        if (cap & (OFF_CAP_TSO4 | OFF_CAP_TSO6))
                need |= OFF_CAP_SG;
        return (uplink_caps & need) == need ? "hw" : "sw";
}

/* Per offload: off when the guest did not negotiate it, else who finishes
 * the guest's packets that carry it: the uplink (hw) or pvbackd (sw). */
static void build_offload(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct nb_vif *vif = dev;
        const struct nb_fe_cfg *c = &vif->cfg;
        unsigned up = atomic_load(&vif->tx_caps);
        const struct {
                const char *name;
                unsigned cap;
                bool negotiated;
        } offs[] = {
            {"csum4", OFF_CAP_CSUM4, c->csum_ipv4},
            {"csum6", OFF_CAP_CSUM6, c->csum_ipv6},
            {"tso4", OFF_CAP_TSO4, c->gso_tcpv4},
            {"tso6", OFF_CAP_TSO6, c->gso_tcpv6},
            {"sg", OFF_CAP_SG, c->sg},
        };
        for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
                dyncap_add(out, sec, offs[i].name, "%s",
                           nb_dyncap_offload_path(offs[i].cap, offs[i].negotiated, up));
}

static void build_queues(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct nb_vif *vif = dev;
        dyncap_add(out, sec, "max", "%u", (unsigned)vif->max_queues);
        dyncap_add(out, sec, "used", "%u", (unsigned)vif->nr_queues);
}

static bool same_bridge(const struct nb_vif *a, const struct nb_vif *b)
{
        return a->dyncap && b->dyncap && a->bridge[0] && !strcmp(a->bridge, b->bridge);
}

/* Whether another connected vif of this pvbackd is on the vif's bridge:
 * the uplink's bandwidth is shared. Only that, not how many: a count would
 * tell each guest how many tenants it shares the bridge with. */
static bool bridge_shared(const struct nb_vif *vif)
{
        for (size_t i = 0; i < nb_dc_connected.n; i++)
                if (nb_dc_connected.v[i] != vif && same_bridge(nb_dc_connected.v[i], vif))
                        return true;
        return false;
}

static void build_uplink(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct nb_vif *vif = dev;
        if (vif->bridge[0])
                dyncap_add(out, sec, "bridge", "%s", vif->bridge);
        dyncap_add(out, sec, "shared", "%u", bridge_shared(vif) ? 1u : 0u);
}

/* The settings of every level and the L5 hints they imply: only what an
 * administrator's `set` or the guest's preference changes, never the
 * controller's adaptive state (pvback-inspect shows that), which moves
 * every few milliseconds. */
static void build_coalesce(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct nb_vif *vif = dev;
        const struct nb_coal_cfg *c = &vif->coal;
        struct nb_coal_hints h;

        /* A TAP has no interrupts to coalesce; a NIC's are its own. */
        dyncap_add(out, sec, "l1", "%s",
                   vif->up && vif->up->ops && !strcmp(vif->up->ops->kind, "tap") ? "n/a"
                                                                                 : "uplink");
        dyncap_add(out, sec, "l2", "%s", nb_coal_mode_str(c->l2));
        dyncap_add(out, sec, "l2-budget", "%" PRIu32, c->l2_budget);
        dyncap_add(out, sec, "l2-poll-us", "%" PRIu32, c->l2_poll_us);
        dyncap_add(out, sec, "l3", "%s", nb_coal_mode_str(c->l3));
        dyncap_add(out, sec, "l3-source", "%s", nb_coal_src_str(vif->dyncap->l3_src));
        dyncap_add(out, sec, "l3-frames", "%" PRIu32, c->l3_frames);
        dyncap_add(out, sec, "l3-usecs", "%" PRIu32, c->l3_usecs);
        dyncap_add(out, sec, "l4", "%s", c->l4 ? "on" : "off");
        nb_coal_hints_cfg(c, &h);
        dyncap_add(out, sec, "tx-kick-batch", "%" PRIu32, h.tx_kick_batch);
        dyncap_add(out, sec, "rx-poll-us", "%" PRIu32, h.rx_poll_us);
}

/* 0 for none, as `set ... qos.max 0` says it. */
static void add_rate(struct dyncap_set *out, const char *sec, const char *key, uint64_t bps)
{
        dyncap_add(out, sec, key, "%" PRIu64, bps == NB_QOS_UNLIMITED ? 0 : bps);
}

/* The vif's QoS settings in bits/s; capacity only when its uplink has one. */
static void build_qos(const void *dev, const char *sec, struct dyncap_set *out)
{
        struct nb_qos_settings q;
        if (nb_qos_settings(dev, &q) < 0)
                return;
        dyncap_add(out, sec, "min", "%" PRIu64, q.min);
        dyncap_add(out, sec, "default", "%" PRIu64, q.dflt);
        add_rate(out, sec, "max", q.max_tx);
        add_rate(out, sec, "max-rx", q.max_rx);
        dyncap_add(out, sec, "weight", "%" PRIu32, q.weight);
        if (q.capacity != NB_QOS_UNLIMITED)
                dyncap_add(out, sec, "capacity", "%" PRIu64, q.capacity);
}

/* The vif's sections, in publishing order (xenstore-schema/vif.schema). */
static const struct dyncap_section nb_sections[] = {
    {"offload", build_offload},   {"queues", build_queues}, {"uplink", build_uplink},
    {"coalesce", build_coalesce}, {"qos", build_qos},
};

/* ---- lifecycle and triggers ------------------------------------------------- */

void nb_dyncap_init(struct nb_vif *vif)
{
        struct be_dev *dev = vif->dev;
        struct nb_dyncap *d = calloc(1, sizeof(*d));

        if (!d) {
                pv_warn(dev->name, "no memory for the dynamic capabilities: not offered");
                return;
        }
        dyncap_init(&d->dc, dev->name, dev->be_path, dev->fe_path);
        d->l3_conf = vif->coal.l3;
        d->pref_tfd = -1;
        if (dyncap_advertise(&d->dc, dev->xs) < 0) {
                free(d);
                return;
        }
        vif->dyncap = d;
}

static void list_del(struct nb_vif *vif)
{
        for (size_t i = 0; i < nb_dc_connected.n; i++) {
                if (nb_dc_connected.v[i] == vif) {
                        nb_dc_connected.v[i] = nb_dc_connected.v[--nb_dc_connected.n];
                        break;
                }
        }
        if (nb_dc_connected.n == 0) {
                free(nb_dc_connected.v);
                nb_dc_connected = (struct nb_dyncap_list){0};
        }
}

static int list_add(struct nb_vif *vif)
{
        if (nb_dc_connected.n == nb_dc_connected.cap) {
                size_t cap = nb_dc_connected.cap ? 2 * nb_dc_connected.cap : 8;
                struct nb_vif **v = realloc(nb_dc_connected.v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                nb_dc_connected.v = v;
                nb_dc_connected.cap = cap;
        }
        nb_dc_connected.v[nb_dc_connected.n++] = vif;
        return 0;
}

static void pref_timer_close(struct nb_dyncap *d)
{
        if (d->pref_tfd < 0)
                return;
        ev_del(d->pref_loop, d->pref_tfd);
        close(d->pref_tfd);
        d->pref_tfd = -1;
        d->pref_armed = false;
}

void nb_dyncap_free(struct nb_vif *vif)
{
        if (vif->dyncap)
                pref_timer_close(vif->dyncap);
        list_del(vif);
        /* The last vif gone: no bridge has anyone left to republish. */
        while (!nb_dc_connected.n && nb_dc_bridges)
                bridge_free(nb_dc_bridges);
        free(vif->dyncap);
        vif->dyncap = NULL;
}

static void publish(struct nb_vif *vif)
{
        struct dyncap_set *set = malloc(sizeof(*set));
        if (!set) {
                pv_warn(vif->dev->name, "no memory to build the capabilities");
                return;
        }
        dyncap_build(nb_sections, sizeof(nb_sections) / sizeof(nb_sections[0]), vif, set);
        dyncap_publish(&vif->dyncap->dc, vif->dev->xs, set);
        free(set);
}

static bool publishing(const struct nb_vif *vif)
{
        return vif->dyncap && vif->connected && vif->queues;
}

/* 0 when the last time (@last_ns, 0: never) is @gap_ns ago, else what is
 * left of the gap. */
static uint64_t gap_delay(uint64_t last_ns, uint64_t now_ns, uint64_t gap_ns)
{
        if (!last_ns || now_ns - last_ns >= gap_ns)
                return 0;
        return last_ns + gap_ns - now_ns;
}

uint64_t nb_dyncap_bridge_delay(uint64_t last_ns, uint64_t now_ns)
{
        return gap_delay(last_ns, now_ns, NB_DYNCAP_BRIDGE_GAP_NS);
}

/* A one-shot timerfd watched by @loop, firing @cb. The fd, or -errno. */
static int timer_open(struct ev_loop *loop, ev_cb cb, void *arg)
{
        int fd, rc;
        if (!loop)
                return -ENODEV;
        fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        rc = ev_add(loop, fd, EPOLLIN, cb, arg);
        if (rc < 0) {
                close(fd);
                return rc;
        }
        return fd;
}

/* In a timer's callback: whether it really expired (a spurious wake-up
 * reads nothing). */
static bool timer_expired(int fd)
{
        uint64_t ticks;
        return !(read(fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN);
}

/* One shot of a timerfd @wait_ns (> 0) from now. 0 or -errno. */
static int timer_arm(int tfd, uint64_t wait_ns)
{
        struct itimerspec its = {.it_value = {.tv_sec = (time_t)(wait_ns / 1000000000ull),
                                              .tv_nsec = (long)(wait_ns % 1000000000ull)}};
        return timerfd_settime(tfd, 0, &its, NULL) < 0 ? -errno : 0;
}

static uint64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every connected vif on the bridge, as things are now; a vif whose keys
 * did not change costs no transaction (dyncap_needs_publish). */
/* Every connected vif on the bridge publishes what it describes now. */
static void publish_bridge(const char *bridge)
{
        for (size_t i = 0; i < nb_dc_connected.n; i++) {
                struct nb_vif *o = nb_dc_connected.v[i];
                if (o->dyncap && !strcmp(o->bridge, bridge) && publishing(o))
                        publish(o);
        }
}

static void republish_now(struct nb_dyncap_bridge *b)
{
        b->last_ns = mono_ns();
        publish_bridge(b->name);
}

static void bridge_free(struct nb_dyncap_bridge *b)
{
        for (struct nb_dyncap_bridge **pp = &nb_dc_bridges; *pp; pp = &(*pp)->next) {
                if (*pp == b) {
                        *pp = b->next;
                        break;
                }
        }
        ev_del(b->loop, b->tfd);
        close(b->tfd);
        free(b);
}

static void bridge_timer_fired(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct nb_dyncap_bridge *b = arg;
        (void)loop;
        (void)events;
        if (!timer_expired(fd))
                return;
        b->armed = false;
        republish_now(b);
}

static struct nb_dyncap_bridge *bridge_get(const struct nb_vif *vif)
{
        for (struct nb_dyncap_bridge *b = nb_dc_bridges; b; b = b->next)
                if (!strcmp(b->name, vif->bridge))
                        return b;
        struct nb_dyncap_bridge *b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        memcpy(b->name, vif->bridge, sizeof(b->name));
        b->loop = be_dev_loop(vif->dev);
        b->tfd = timer_open(b->loop, bridge_timer_fired, b);
        if (b->tfd < 0) {
                free(b);
                return NULL;
        }
        b->next = nb_dc_bridges;
        nb_dc_bridges = b;
        return b;
}

/* @vif joined or left its bridge: the others' uplink/shared may have
 * moved. At once when the bridge's last republish is a gap ago, else once
 * the gap is over. */
static void republish_bridge(const struct nb_vif *vif)
{
        if (!vif->dyncap || !vif->bridge[0])
                return;
        struct nb_dyncap_bridge *b = bridge_get(vif);
        if (!b) {
                pv_warn(vif->dev->name,
                        "no timer for bridge %s: its other vifs keep their "
                        "uplink/shared until their next change",
                        vif->bridge);
                return;
        }
        if (b->armed)
                return; /* the pending republish will see this change too */
        uint64_t wait = nb_dyncap_bridge_delay(b->last_ns, mono_ns());
        if (!wait) {
                republish_now(b);
                return;
        }
        if (timer_arm(b->tfd, wait) < 0) {
                republish_now(b); /* better early than never */
                return;
        }
        b->armed = true;
}

uint8_t nb_dyncap_coal_l3(struct nb_vif *vif, uint8_t fallback)
{
        struct nb_dyncap *d = vif->dyncap;
        enum nb_coal_src src;
        if (!d)
                return fallback;
        uint8_t m = (uint8_t)nb_coal_l3_resolve(d->l3_conf, d->l3_admin,
                                                (enum nb_coal_pref)d->pref_applied, &src);
        d->l3_src = (uint8_t)src;
        return m;
}

void nb_dyncap_coal_admin(struct nb_vif *vif, uint8_t l3)
{
        if (!vif->dyncap)
                return;
        vif->dyncap->l3_conf = l3;
        vif->dyncap->l3_admin = true;
}

int nb_dyncap_coal_source(const struct nb_vif *vif)
{
        return vif->dyncap ? vif->dyncap->l3_src : NB_COAL_SRC_DEFAULT;
}

/* The guest's preference (or the administrator) may have changed the L3
 * mode in force: the running queues get it through the same worker_call
 * as `set`. The caller publishes. */
static void steer(struct nb_vif *vif)
{
        struct nb_coal_cfg c = vif->coal;
        char err[160] = "";
        c.l3 = nb_dyncap_coal_l3(vif, c.l3);
        if (c.l3 == vif->coal.l3)
                return;
        if (nb_set_coal_push(vif, &c, err, sizeof(err)) < 0)
                pv_warn(vif->dev->name, "coalescing for the guest's preference: %s", err);
        else if (dyncap_ratelimit_ok(&vif->dyncap->dc.rl, mono_ns()))
                pv_info(vif->dev->name, "coalescing l3 %s (%s)", nb_coal_mode_str(c.l3),
                        nb_coal_src_str(vif->dyncap->l3_src));
}

/* The preference the guest states now goes to L3 (a worker_call per queue
 * when the mode moves) and to the frontend (a transaction when a key
 * moves). Nothing when it is the one in force already. */
static void pref_apply(struct nb_vif *vif)
{
        struct nb_dyncap *d = vif->dyncap;
        if (d->dc.pref == d->pref_applied)
                return;
        d->pref_applied = d->dc.pref;
        d->pref_last_ns = mono_ns();
        steer(vif);
        publish(vif);
}

static void pref_timer_fired(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct nb_vif *vif = arg;
        (void)loop;
        (void)events;
        if (!timer_expired(fd))
                return;
        vif->dyncap->pref_armed = false;
        if (publishing(vif))
                pref_apply(vif);
}

/* Arms the vif's preference timer, opening it the first time. 0 or -errno. */
static int pref_timer_arm(struct nb_vif *vif, uint64_t wait_ns)
{
        struct nb_dyncap *d = vif->dyncap;
        int rc;
        if (d->pref_tfd < 0) {
                struct ev_loop *loop = be_dev_loop(vif->dev);
                int fd = timer_open(loop, pref_timer_fired, vif);
                if (fd < 0)
                        return fd;
                d->pref_loop = loop;
                d->pref_tfd = fd;
        }
        rc = timer_arm(d->pref_tfd, wait_ns);
        if (rc == 0)
                d->pref_armed = true;
        return rc;
}

/* The guest stated another preference: applied at once when the last
 * application is a gap ago, else once the gap is over with the value
 * stated by then (NB_DYNCAP_PREF_GAP_NS). */
static void pref_changed(struct nb_vif *vif)
{
        struct nb_dyncap *d = vif->dyncap;
        if (d->pref_armed) {
                d->prefs_coalesced++; /* the pending application takes it */
                return;
        }
        if (d->dc.pref == d->pref_applied)
                return; /* back to the value in force before anything moved */
        uint64_t wait = gap_delay(d->pref_last_ns, mono_ns(), NB_DYNCAP_PREF_GAP_NS);
        if (wait) {
                int rc = pref_timer_arm(vif, wait);
                if (rc == 0) {
                        d->prefs_coalesced++;
                        return;
                }
                if (dyncap_ratelimit_ok(&d->dc.rl, mono_ns()))
                        pv_warn(vif->dev->name,
                                "no timer for the guest's preference (%s): applied at once",
                                strerror(-rc));
        }
        pref_apply(vif);
}

void nb_dyncap_connected(struct nb_vif *vif)
{
        if (!publishing(vif))
                return;
        list_del(vif); /* listed once, whatever called us before */
        if (list_add(vif) < 0)
                pv_warn(vif->dev->name, "no memory: uplink/vifs leaves this vif out");
        /* This connection's preference, before its first set goes out:
         * applied at once, it starts the gap. */
        dyncap_frontend_key(&vif->dyncap->dc, vif->dev->xs, "capabilities-preference");
        vif->dyncap->pref_applied = vif->dyncap->dc.pref;
        vif->dyncap->pref_last_ns = mono_ns();
        steer(vif);
        publish(vif);
        /* The first publish samples the preference again (dyncap_publish);
         * the watch of a change in between finds it taken already. */
        if (vif->dyncap->dc.pref != vif->dyncap->pref_applied)
                pref_changed(vif);
        republish_bridge(vif);
}

void nb_dyncap_disconnected(struct nb_vif *vif)
{
        if (!vif->dyncap)
                return;
        list_del(vif);
        /* A pending application was about this connection. */
        pref_timer_close(vif->dyncap);
        dyncap_withdraw(&vif->dyncap->dc, vif->dev->xs);
        republish_bridge(vif);
}

void nb_dyncap_changed(struct nb_vif *vif)
{
        if (publishing(vif))
                publish(vif);
}

bool nb_dyncap_frontend_key(struct nb_vif *vif, const char *key)
{
        if (!vif->dyncap)
                return false;
        enum dyncap_pref before = vif->dyncap->dc.pref;
        if (!dyncap_frontend_key(&vif->dyncap->dc, vif->dev->xs, key))
                return false;
        if (vif->dyncap->dc.pref != before && publishing(vif))
                pref_changed(vif);
        return true;
}

void nb_dyncap_uplink_changed(const char *bridge)
{
        publish_bridge(bridge);
}

int nb_dyncap_dump(const struct nb_vif *vif, struct json_object *obj)
{
        struct json_object *c;
        if (!vif->dyncap)
                return 0;
        int rc = dyncap_dump(&vif->dyncap->dc, obj);
        if (rc || !json_object_object_get_ex(obj, "capabilities", &c))
                return rc;
        return ctl_json_u64(c, "coalesced_preferences", vif->dyncap->prefs_coalesced);
}

int nb_dyncap_preference(const struct nb_vif *vif)
{
        return vif->dyncap ? (int)vif->dyncap->dc.pref : DYNCAP_PREF_DEFAULT;
}
