/* Implementation of nb_dyncap.h: the vif's capability sections and the
 * triggers that republish them. The list of connected vifs (for the
 * uplink section's "shared") and the per-bridge debounce timers are the
 * control thread's alone. Not the publishing itself (dyncap_pub.c) nor the
 * offload decision (off_caps.c). */
#include "netback/nb_dyncap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "dyncap.h"
#include "evloop.h"
#include "log.h"
#include "netback/nb_vif.h"
#include "offload/off_caps.h"
#include "xb.h"

/* Longest bridge name we publish (IFNAMSIZ - 1 in Linux). */
#define NB_DYNCAP_BRIDGE_MAX 16

struct nb_dyncap {
        struct dyncap dc;
        /* BE/bridge as the toolstack wrote it at probe; "" when absent. */
        char bridge[NB_DYNCAP_BRIDGE_MAX];
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
        char name[NB_DYNCAP_BRIDGE_MAX];
        struct ev_loop *loop;
        int tfd; /* timerfd, armed while a republish waits */
        bool armed;
        uint64_t last_ns; /* when the last republish went out */
        struct nb_dyncap_bridge *next;
};

static struct nb_dyncap_bridge *nb_dc_bridges;
static void bridge_free(struct nb_dyncap_bridge *b);

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
        return a->dyncap && b->dyncap && a->dyncap->bridge[0] &&
               !strcmp(a->dyncap->bridge, b->dyncap->bridge);
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
        if (vif->dyncap->bridge[0])
                dyncap_add(out, sec, "bridge", "%s", vif->dyncap->bridge);
        dyncap_add(out, sec, "shared", "%u", bridge_shared(vif) ? 1u : 0u);
}

/* The vif's sections, in publishing order. Coalescing and QoS append their
 * builders here (xenstore-schema/vif.schema documents their slots): until
 * then coalesce/ and qos/ are not published at all. */
static const struct dyncap_section nb_sections[] = {
    {"offload", build_offload}, {"queues", build_queues}, {"uplink", build_uplink},
    /* {"coalesce", ...}: per-level coalescing parameters (nb_coal_hints()). */
    /* {"qos", ...}: min/default/max/weight and the uplink group. */
};

/* ---- lifecycle and triggers ------------------------------------------------- */

void nb_dyncap_init(struct nb_vif *vif)
{
        struct be_dev *dev = vif->dev;
        struct nb_dyncap *d = calloc(1, sizeof(*d));
        char *bridge = NULL;

        if (!d) {
                pv_warn(dev->name, "no memory for the dynamic capabilities: not offered");
                return;
        }
        dyncap_init(&d->dc, dev->name, dev->be_path, dev->fe_path);
        if (xb_read_str(dev->xs, XBT_NULL, dev->be_path, "bridge", &bridge) == 0) {
                if (strlen(bridge) < sizeof(d->bridge))
                        memcpy(d->bridge, bridge, strlen(bridge) + 1);
                else
                        pv_warn(dev->name, "bridge name \"%.16s...\" too long: not published",
                                bridge);
        }
        free(bridge);
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

void nb_dyncap_free(struct nb_vif *vif)
{
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

uint64_t nb_dyncap_bridge_delay(uint64_t last_ns, uint64_t now_ns)
{
        if (!last_ns || now_ns - last_ns >= NB_DYNCAP_BRIDGE_GAP_NS)
                return 0;
        return last_ns + NB_DYNCAP_BRIDGE_GAP_NS - now_ns;
}

static uint64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every connected vif on the bridge, as things are now; a vif whose keys
 * did not change costs no transaction (dyncap_needs_publish). */
static void republish_now(struct nb_dyncap_bridge *b)
{
        b->last_ns = mono_ns();
        for (size_t i = 0; i < nb_dc_connected.n; i++) {
                struct nb_vif *o = nb_dc_connected.v[i];
                if (o->dyncap && !strcmp(o->dyncap->bridge, b->name) && publishing(o))
                        publish(o);
        }
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
        uint64_t ticks;
        (void)loop;
        (void)events;
        if (read(fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
                return;
        b->armed = false;
        republish_now(b);
}

static struct nb_dyncap_bridge *bridge_get(const struct nb_vif *vif)
{
        for (struct nb_dyncap_bridge *b = nb_dc_bridges; b; b = b->next)
                if (!strcmp(b->name, vif->dyncap->bridge))
                        return b;
        struct nb_dyncap_bridge *b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        memcpy(b->name, vif->dyncap->bridge, sizeof(b->name));
        b->loop = be_dev_loop(vif->dev);
        b->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (b->tfd < 0 || !b->loop || ev_add(b->loop, b->tfd, EPOLLIN, bridge_timer_fired, b) < 0) {
                if (b->tfd >= 0)
                        close(b->tfd);
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
        if (!vif->dyncap || !vif->dyncap->bridge[0])
                return;
        struct nb_dyncap_bridge *b = bridge_get(vif);
        if (!b) {
                pv_warn(vif->dev->name,
                        "no timer for bridge %s: its other vifs keep their "
                        "uplink/shared until their next change",
                        vif->dyncap->bridge);
                return;
        }
        if (b->armed)
                return; /* the pending republish will see this change too */
        uint64_t wait = nb_dyncap_bridge_delay(b->last_ns, mono_ns());
        if (!wait) {
                republish_now(b);
                return;
        }
        struct itimerspec its = {.it_value = {.tv_sec = (time_t)(wait / 1000000000ull),
                                              .tv_nsec = (long)(wait % 1000000000ull)}};
        if (timerfd_settime(b->tfd, 0, &its, NULL) < 0) {
                republish_now(b); /* better early than never */
                return;
        }
        b->armed = true;
}

void nb_dyncap_connected(struct nb_vif *vif)
{
        if (!publishing(vif))
                return;
        list_del(vif); /* listed once, whatever called us before */
        if (list_add(vif) < 0)
                pv_warn(vif->dev->name, "no memory: uplink/vifs leaves this vif out");
        publish(vif);
        republish_bridge(vif);
}

void nb_dyncap_disconnected(struct nb_vif *vif)
{
        if (!vif->dyncap)
                return;
        list_del(vif);
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
        return dyncap_frontend_key(&vif->dyncap->dc, vif->dev->xs, key);
}

int nb_dyncap_dump(const struct nb_vif *vif, struct json_object *obj)
{
        if (!vif->dyncap)
                return 0;
        return dyncap_dump(&vif->dyncap->dc, obj);
}

int nb_dyncap_preference(const struct nb_vif *vif)
{
        return vif->dyncap ? (int)vif->dyncap->dc.pref : DYNCAP_PREF_DEFAULT;
}
