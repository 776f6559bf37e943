/* The simulator's event-channel "hypervisor": owns every domain's port table
 * (unbound/interdomain state, pending, mask) and delivers notifications to the
 * sim provider's handles over unix sockets. */
#ifndef PVBACK_SIM_EVTCHN_BROKER_H
#define PVBACK_SIM_EVTCHN_BROKER_H

#include <stdint.h>

#include "evloop.h"

struct evtchn_broker;

int evtchn_broker_create(struct ev_loop *loop, const char *dir, struct evtchn_broker **out);
void evtchn_broker_destroy(struct evtchn_broker *b);
/* Opens <dir>/dom<N>/evtchn.sock; handles connecting there act as domain N. */
int evtchn_broker_domain_add(struct evtchn_broker *b, uint16_t domid);
/* Closes all of the domain's ports as Xen does on destruction: interdomain
 * peers become unbound (bindable again), its handles are disconnected. */
int evtchn_broker_domain_remove(struct evtchn_broker *b, uint16_t domid);

#endif
