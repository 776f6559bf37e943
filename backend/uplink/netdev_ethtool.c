/* Implementation of netdev_ethtool.h. */
#include "uplink/netdev_ethtool.h"

#include <errno.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int netdev_ethtool_open(const char *ifname)
{
        int fd;
        if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
                return -EINVAL;
        /* Any socket reaches the ethtool ioctl (dev_ioctl) in its network
         * namespace; AF_UNIX where IPv4 is compiled out. */
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        return fd < 0 ? -errno : fd;
}

int netdev_ethtool_call(int fd, const char *ifname, void *cmd)
{
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
        ifr.ifr_data = cmd;
        return ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
}
