/* pvbackd's device manager: watches /local/domain/<self>/backend/<kind> for
 * every registered class, keeps the device table, and drives each device
 * through the xenbus handshake exactly as libxl and the Linux backends expect
 * (see devmgr.c). Runs on the control thread. */
#ifndef PVBACK_DEVMGR_H
#define PVBACK_DEVMGR_H

#include <sched.h>

#include "be_dev.h"

struct ev_loop;

/* Devices of one class served at once, unless -o <kind>.max-devices=N. */
#define DEVMGR_DEFAULT_MAX_DEVICES 256u
#define DEVMGR_MAX_MAX_DEVICES     65536u
/* --help lines of the options the manager takes for every class. */
#define DEVMGR_OPTIONS_HELP                                                                        \
        "  <class>.max-devices=N devices of the class (vif, vbd) served at once (default 256);\n"  \
        "                        the next one is refused, the reason in its error node\n"

struct devmgr_config {
        const struct xh_provider *hv;
        unsigned nr_workers;
        const cpu_set_t *worker_cpus; /* NULL: the workers go where the scheduler puts them */
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
/* The control thread's loop (exists from devmgr_create on), for other
 * control-plane fds such as the control socket. */
struct ev_loop *devmgr_loop(struct devmgr *mgr);
/* Calls fn for every device in the table until it returns non-zero (which
 * is returned). probed: the class's probe succeeded and remove is not done,
 * so dev->priv is the class's and its dump hook may run. Control thread. */
typedef int (*devmgr_dev_fn)(struct be_dev *dev, bool probed, void *arg);
int devmgr_for_each_dev(struct devmgr *mgr, devmgr_dev_fn fn, void *arg);
/* The registered classes, in registration order: the i-th, or NULL past
 * the last. */
const struct be_class *devmgr_class(const struct devmgr *mgr, unsigned i);
/* The i-th class's device limit and how many devices hold its resources
 * now (probed and not removed). Control thread. */
void devmgr_class_usage(const struct devmgr *mgr, unsigned i, unsigned *max, unsigned *assigned);

#endif
