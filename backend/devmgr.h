/* pvbackd's device manager: watches /local/domain/<self>/backend/<kind> for
 * every registered class, keeps the device table, and drives each device
 * through the xenbus handshake exactly as libxl and the Linux backends expect
 * (see devmgr.c). Runs on the control thread. */
#ifndef PVBACK_DEVMGR_H
#define PVBACK_DEVMGR_H

#include "be_dev.h"

struct devmgr_config {
        const struct xh_provider *hv;
        unsigned nr_workers;
};

int devmgr_create(const struct devmgr_config *cfg, struct devmgr **out);
/* "<kind>.<key>=<value>" → the class's configure(). -ENOENT for an unknown
 * class, -EINVAL for a malformed option; the reason is logged. */
int devmgr_configure(struct devmgr *mgr, const char *option);
/* Serves devices until stop_fd becomes readable (a signalfd). Returns 0 or
 * -errno. Devices are still connected on return: see devmgr_destroy. */
int devmgr_run(struct devmgr *mgr, int stop_fd);
/* Disconnects every device cleanly (state Closed, rings unmapped, queues
 * stopped, netdevs removed), stops the workers, frees everything. */
void devmgr_destroy(struct devmgr *mgr);
/* The help text of every registered class's options. */
void devmgr_print_options(const struct devmgr *mgr);
uint16_t devmgr_self(const struct devmgr *mgr);

#endif
