/* Implementation of nb_txcaps.h. One rtnetlink socket serves every vif of
 * the class: the kernel multicasts each link message to every listener, so a
 * socket per vif would wake N sockets for every change. The table of vifs is
 * the control thread's alone; workers see only the atomic they load. */
#include "netback/nb_txcaps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "netback/nb_dyncap.h"
#include "netback/nb_vif.h"
#include "offload/off_caps.h"
#include "uplink/netdev_watch.h"

struct nb_txcaps_listener {
        struct ev_loop *loop;
        int fd;
        struct nb_vif **vifs;
        size_t n, cap;
};

static struct nb_txcaps_listener nb_lst = {.fd = -1};

static int nb_txcaps_read(struct nb_vif *vif, unsigned *caps)
{
        if (!vif->up->ops->tx_caps)
                return -EOPNOTSUPP;
        return uplink_tx_caps(vif->up, caps);
}

void nb_txcaps_refresh(struct nb_vif *vif)
{
        unsigned old = atomic_load(&vif->tx_caps), caps = 0;
        char was[64], now[64];
        int rc = nb_txcaps_read(vif, &caps);

        if (rc < 0) {
                pv_warn(vif->dev->name, "reading the offloads of netdev %s: %s; keeping %s",
                        vif->up->name, strerror(-rc), off_caps_str(old, was, sizeof(was)));
                return;
        }
        if (caps == old)
                return;
        atomic_store(&vif->tx_caps, caps);
        pv_info(vif->dev->name, "netdev %s tx offloads now %s (were %s)", vif->up->name,
                off_caps_str(caps, now, sizeof(now)), off_caps_str(old, was, sizeof(was)));
        /* Connected frontends that follow the exchange see the new paths. */
        nb_dyncap_changed(vif);
}

/* ifindex 0: the kernel dropped messages, any vif may have changed. */
static void nb_txcaps_link_changed(unsigned ifindex, void *arg)
{
        (void)arg;
        for (size_t i = 0; i < nb_lst.n; i++)
                if (ifindex == 0 || nb_lst.vifs[i]->up->ifindex == ifindex)
                        nb_txcaps_refresh(nb_lst.vifs[i]);
}

static void nb_txcaps_close(void)
{
        if (nb_lst.fd < 0)
                return;
        ev_del(nb_lst.loop, nb_lst.fd);
        close(nb_lst.fd);
        nb_lst.fd = -1;
        nb_lst.loop = NULL;
}

static void nb_txcaps_on_link(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)events;
        (void)arg;
        int rc = netdev_watch_drain(fd, nb_txcaps_link_changed, NULL);
        if (rc < 0) {
                /* Not EAGAIN or an overrun: the socket itself is broken, and
                 * leaving it in the loop would spin. */
                pv_warn("vif",
                        "rtnetlink listener failed (%s): offload changes now apply at "
                        "the next connect",
                        strerror(-rc));
                nb_txcaps_close();
        }
}

static int nb_txcaps_listen(struct ev_loop *loop)
{
        int fd, rc;
        if (nb_lst.fd >= 0)
                return nb_lst.loop == loop ? 0 : -EBUSY;
        if (!loop)
                return -ENOTCONN;
        fd = netdev_watch_open();
        if (fd < 0)
                return fd;
        rc = ev_add(loop, fd, EPOLLIN, nb_txcaps_on_link, NULL);
        if (rc < 0) {
                close(fd);
                return rc;
        }
        nb_lst.fd = fd;
        nb_lst.loop = loop;
        return 0;
}

void nb_txcaps_watch(struct nb_vif *vif)
{
        unsigned caps = 0;
        char buf[64];
        int rc;

        /* Listening first, reading second: a change in between is not lost. */
        if (nb_lst.n == nb_lst.cap) {
                size_t cap = nb_lst.cap ? 2 * nb_lst.cap : 8;
                struct nb_vif **v = realloc(nb_lst.vifs, cap * sizeof(*v));
                if (v) {
                        nb_lst.vifs = v;
                        nb_lst.cap = cap;
                }
        }
        if (nb_lst.n < nb_lst.cap) {
                nb_lst.vifs[nb_lst.n++] = vif;
                rc = nb_txcaps_listen(be_dev_loop(vif->dev));
        } else {
                rc = -ENOMEM;
        }
        if (rc < 0)
                pv_warn(vif->dev->name,
                        "cannot follow netdev changes over rtnetlink (%s): offload changes "
                        "apply at the next connect",
                        strerror(-rc));

        rc = nb_txcaps_read(vif, &caps);
        if (rc < 0)
                pv_warn(vif->dev->name,
                        "reading the offloads of netdev %s: %s; segmenting and checksumming "
                        "guest tx in software until it works",
                        vif->up->name, strerror(-rc));
        else
                pv_info(vif->dev->name, "netdev %s tx offloads %s", vif->up->name,
                        off_caps_str(caps, buf, sizeof(buf)));
        atomic_store(&vif->tx_caps, caps);
}

void nb_txcaps_unwatch(struct nb_vif *vif)
{
        for (size_t i = 0; i < nb_lst.n; i++) {
                if (nb_lst.vifs[i] != vif)
                        continue;
                nb_lst.vifs[i] = nb_lst.vifs[--nb_lst.n];
                break;
        }
        if (nb_lst.n == 0) {
                nb_txcaps_close();
                free(nb_lst.vifs);
                nb_lst.vifs = NULL;
                nb_lst.cap = 0;
        }
}
