/* Implementation of nb_dyncap.h: the vif's capability sections and the
 * triggers that republish them. The list of connected vifs (for the
 * uplink section's count per bridge) is the control thread's alone. Not the
 * publishing itself (dyncap_pub.c) nor the offload decision (off_caps.c). */
#include "netback/nb_dyncap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dyncap.h"
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

/* How many connected vifs of this pvbackd share the vif's bridge (itself
 * included): what the uplink's bandwidth is divided among. */
static unsigned bridge_vifs(const struct nb_vif *vif)
{
        unsigned n = 0;
        for (size_t i = 0; i < nb_dc_connected.n; i++)
                if (nb_dc_connected.v[i] == vif || same_bridge(nb_dc_connected.v[i], vif))
                        n++;
        return n ? n : 1;
}

static void build_uplink(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct nb_vif *vif = dev;
        if (vif->dyncap->bridge[0])
                dyncap_add(out, sec, "bridge", "%s", vif->dyncap->bridge);
        dyncap_add(out, sec, "vifs", "%u", bridge_vifs(vif));
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

/* Every other connected vif on @vif's bridge: their uplink/vifs moved. */
static void republish_bridge(const struct nb_vif *vif)
{
        for (size_t i = 0; i < nb_dc_connected.n; i++) {
                struct nb_vif *o = nb_dc_connected.v[i];
                if (o != vif && same_bridge(o, vif) && publishing(o))
                        publish(o);
        }
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
