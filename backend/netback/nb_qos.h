/* Per-guest QoS for vifs: each vif's settings (qos.min, qos.default,
 * qos.max, qos.weight), the uplinks' capacities, and the scheduler that
 * every tick measures what each vif sent and received, shares each uplink
 * among its vifs (nb_qos_alloc.h) and hands each queue its part. Control
 * thread only; the workers enforce (nb_queue.c: TX credit, RX early drop). */
#ifndef PVBACK_NB_QOS_H
#define PVBACK_NB_QOS_H

#include <stddef.h>
#include <stdint.h>

#include "be_dev.h"

struct nb_vif;
struct json_object;

/* Scheduler period: short enough that a freed share is taken up within a
 * few tens of milliseconds, long enough to be a few frames' worth. */
#define NB_QOS_TICK_NS 20000000ull

/* `-o vif.uplink-capacity=BRIDGE:RATE` (repeatable). -ENOENT: not a QoS
 * option; else 0 or -EINVAL/-ERANGE (logged). */
int nb_qos_configure(const char *key, const char *value);
#define NB_QOS_OPTIONS_HELP                                                                        \
        "  vif.uplink-capacity=BRIDGE:RATE\n"                                                      \
        "                        the vifs on bridge BRIDGE share RATE each way\n"                  \
        "                        (bits/s: 400M, 1G, 500k); see `set uplink:BRIDGE capacity`\n"

/* probe: the vif joins the scheduler, in the group of its backend's
 * `bridge` key (none: a group of its own). remove: it leaves. */
int nb_qos_vif_add(struct nb_vif *vif);
void nb_qos_vif_del(struct nb_vif *vif);

/* be_class.set for the QoS keys: qos.min, qos.default, qos.max, qos.weight
 * on a vif (-ENOENT for other keys), capacity on uplink:BRIDGE where BRIDGE
 * is a netdev of this host, a served vif's bridge or an uplink already given
 * a capacity (-ENODEV for other targets). */
int nb_qos_set(struct be_dev *dev, const char *target, const char *key, const char *value,
               char *err, size_t errlen);

/* What the capability exchange publishes of a vif's QoS (bits/s,
 * NB_QOS_UNLIMITED: none): qos.min, qos.default, the maximum of guest TX
 * (qos.max and the `rate` key, the lower), of guest RX (qos.max), the
 * weight and the uplink's capacity. -ENOENT when the vif has no QoS. */
struct nb_qos_settings {
        uint64_t min, dflt, max_tx, max_rx, capacity;
        uint32_t weight;
};
int nb_qos_settings(const struct nb_vif *vif, struct nb_qos_settings *out);

/* The vif's "qos" object for `show`. 0 or -ENOMEM. */
int nb_qos_dump(const struct nb_vif *vif, struct json_object *obj);

/* The vif keys nb_qos_set takes, for an error message. */
extern const char nb_qos_vif_keys[];

#endif
