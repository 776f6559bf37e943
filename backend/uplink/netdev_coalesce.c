/* Implementation of netdev_coalesce.h, with the ioctls `ethtool -c/-C` fall
 * back to without netlink. */
#include "uplink/netdev_coalesce.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "uplink/netdev_ethtool.h"

void netdev_coalesce_from_ethtool(const struct ethtool_coalesce *ec, struct netdev_coalesce *out)
{
        out->rx_usecs = ec->rx_coalesce_usecs;
        out->rx_frames = ec->rx_max_coalesced_frames;
        out->tx_usecs = ec->tx_coalesce_usecs;
        out->tx_frames = ec->tx_max_coalesced_frames;
        out->adaptive_rx = ec->use_adaptive_rx_coalesce != 0;
        out->adaptive_tx = ec->use_adaptive_tx_coalesce != 0;
}

void netdev_coalesce_to_ethtool(const struct netdev_coalesce *in, struct ethtool_coalesce *ec)
{
        ec->rx_coalesce_usecs = in->rx_usecs;
        ec->rx_max_coalesced_frames = in->rx_frames;
        ec->tx_coalesce_usecs = in->tx_usecs;
        ec->tx_max_coalesced_frames = in->tx_frames;
        ec->use_adaptive_rx_coalesce = in->adaptive_rx;
        ec->use_adaptive_tx_coalesce = in->adaptive_tx;
}

void netdev_coalesce_format(const struct netdev_coalesce *c, char *buf, size_t len)
{
        snprintf(buf, len, "rx %u us/%u frames, tx %u us/%u frames, adaptive rx %s tx %s",
                 c->rx_usecs, c->rx_frames, c->tx_usecs, c->tx_frames,
                 c->adaptive_rx ? "on" : "off", c->adaptive_tx ? "on" : "off");
}

/* One ETHTOOL_[GS]COALESCE on netdev @ifname. */
static int coalesce_ioctl(const char *ifname, struct ethtool_coalesce *ec)
{
        int fd = netdev_ethtool_open(ifname), rc;
        if (fd < 0)
                return fd;
        rc = netdev_ethtool_call(fd, ifname, ec);
        close(fd);
        return rc;
}

int netdev_coalesce_read(const char *ifname, struct netdev_coalesce *out)
{
        struct ethtool_coalesce ec = {.cmd = ETHTOOL_GCOALESCE};
        int rc = coalesce_ioctl(ifname, &ec);
        if (rc == 0)
                netdev_coalesce_from_ethtool(&ec, out);
        return rc;
}

int netdev_coalesce_write(const char *ifname, const struct netdev_coalesce *in)
{
        struct ethtool_coalesce ec = {.cmd = ETHTOOL_GCOALESCE};
        int rc = coalesce_ioctl(ifname, &ec);
        if (rc < 0)
                return rc;
        netdev_coalesce_to_ethtool(in, &ec);
        ec.cmd = ETHTOOL_SCOALESCE;
        return coalesce_ioctl(ifname, &ec);
}
