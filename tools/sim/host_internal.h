/* State shared between the host daemon's files (host.c, host_ctl.c). */
#ifndef PVBACK_SIM_HOST_INTERNAL_H
#define PVBACK_SIM_HOST_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "evtchn_broker.h"
#include "xsd.h"

/* DOMID_FIRST_RESERVED: ids from here on are special in Xen. */
#define SIM_MAX_DOMID 0x7FF0u

struct sim_host {
        char dir[PATH_MAX];
        bool made_dir;
        struct ev_loop *loop;
        struct xsd *xsd;
        struct evtchn_broker *broker;
        int sig_fd;
        int ctl_fd;
        uint8_t domains[SIM_MAX_DOMID / 8];
};

bool sim_host_has_domain(const struct sim_host *h, uint16_t domid);
int sim_host_domain_create(struct sim_host *h, uint16_t domid, char *err, size_t errlen);
int sim_host_domain_destroy(struct sim_host *h, uint16_t domid, char *err, size_t errlen);

int sim_host_ctl_listen(struct sim_host *h);
void sim_host_ctl_close(struct sim_host *h);
/* Removes what a crashed host left in its directory (sockets, dom* trees). */
int sim_host_clear_stale(struct sim_host *h);

#endif
