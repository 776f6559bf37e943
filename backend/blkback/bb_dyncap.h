/* blkback's side of the dynamic capability exchange (dyncap.h): what a vbd
 * publishes under capabilities/ and when. Sections are builders in a list
 * (bb_dyncap.c); coalescing and QoS add theirs there. Control thread only. */
#ifndef PVBACK_BB_DYNCAP_H
#define PVBACK_BB_DYNCAP_H

#include <stdbool.h>

struct bb_vbd;
struct json_object;

/* Probe: the vbd's state and feature-dynamic-capabilities = 1. A failure is
 * logged and leaves the vbd without the feature, nothing else. */
void bb_dyncap_init(struct bb_vbd *v);
void bb_dyncap_free(struct bb_vbd *v);
/* Connected with the backing store open: (re)builds and publishes a new
 * generation if the keys differ (nothing calls it from `set` yet). No-op
 * until both are true. */
void bb_dyncap_changed(struct bb_vbd *v);
/* Disconnect: capabilities/ goes. */
void bb_dyncap_disconnected(struct bb_vbd *v);
/* A frontend key changed: true when it was one of the exchange's. */
bool bb_dyncap_frontend_key(struct bb_vbd *v, const char *key);
/* "capabilities" in the vbd's show object. */
int bb_dyncap_dump(const struct bb_vbd *v, struct json_object *obj);

#endif
