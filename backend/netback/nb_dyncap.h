/* netback's side of the dynamic capability exchange (dyncap.h): what a vif
 * publishes under capabilities/ and when. Sections are builders in a list
 * (nb_dyncap.c); the coalescing and QoS work add theirs there. Control
 * thread only. */
#ifndef PVBACK_NB_DYNCAP_H
#define PVBACK_NB_DYNCAP_H

#include <stdbool.h>
#include <stdint.h>

struct nb_vif;
struct json_object;

/* Probe: the vif's state and feature-dynamic-capabilities = 1. A failure is
 * logged and leaves the vif without the feature, nothing else. */
void nb_dyncap_init(struct nb_vif *vif);
/* Remove (after disconnect). */
void nb_dyncap_free(struct nb_vif *vif);
/* Connect: the first generation of this connection; the other connected
 * vifs on the same bridge republish (their uplink/shared may have changed),
 * at most once a second per bridge: changes in between are coalesced. */
void nb_dyncap_connected(struct nb_vif *vif);
/* Disconnect: capabilities/ goes; the bridge's other vifs republish, as on
 * connect. */
void nb_dyncap_disconnected(struct nb_vif *vif);
/* Something a section shows may have changed (the uplink's offloads, a
 * `set` of a coalesce.* or qos.* key): rebuilds and publishes a new
 * generation if the keys differ. No-op while the vif is not connected. */
void nb_dyncap_changed(struct nb_vif *vif);
/* `set uplink:BRIDGE capacity`: every connected vif on BRIDGE republishes
 * at once (an administrator's change, not a guest's: no debounce). */
void nb_dyncap_uplink_changed(const char *bridge);

/* Coalescing steered by the guest's preference (nb_coal_l3_resolve):
 * the administrator set coalesce.l3 (or coalesce) on this vif to @l3. */
void nb_dyncap_coal_admin(struct nb_vif *vif, uint8_t l3);
/* The L3 mode in force for the vif now (@fallback without the exchange);
 * records where it comes from for nb_dyncap_coal_source. */
uint8_t nb_dyncap_coal_l3(struct nb_vif *vif, uint8_t fallback);
/* enum nb_coal_src of the L3 mode in force. */
int nb_dyncap_coal_source(const struct nb_vif *vif);
/* A frontend key changed: true when it was capabilities-ack or
 * capabilities-preference (handled). */
bool nb_dyncap_frontend_key(struct nb_vif *vif, const char *key);
/* "capabilities" in the vif's show object. */
int nb_dyncap_dump(const struct nb_vif *vif, struct json_object *obj);
/* The frontend's stated preference (enum dyncap_pref), for the coalescing
 * controller; DYNCAP_PREF_DEFAULT without the exchange. */
int nb_dyncap_preference(const struct nb_vif *vif);

/* Pure, for tests: the value of offload/<name> for an offload the guest
 * did (@negotiated) or did not negotiate, on an uplink with @uplink_caps
 * (enum off_cap): "hw", "sw" or "off". @cap is one OFF_CAP_* bit. */
const char *nb_dyncap_offload_path(unsigned cap, bool negotiated, unsigned uplink_caps);

/* Pure, for tests: how long a bridge-driven republish waits when the
 * bridge's last one went out at @last_ns (0: never): 0 to go now, else the
 * nanoseconds left of the one-second gap. */
uint64_t nb_dyncap_bridge_delay(uint64_t last_ns, uint64_t now_ns);

#endif
