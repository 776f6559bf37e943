/* The ethtool ioctl (SIOCETHTOOL) on a netdev by name: what `ethtool -k`
 * (netdev_features.c) and `ethtool -c` (netdev_coalesce.c) both go
 * through. */
#ifndef PVBACK_NETDEV_ETHTOOL_H
#define PVBACK_NETDEV_ETHTOOL_H

/* A socket to issue the ioctl on, in the caller's network namespace, after
 * checking that ifname is a possible netdev name: the fd, or -EINVAL or
 * -errno. */
int netdev_ethtool_open(const char *ifname);
/* One ethtool command (a struct ethtool_* whose first member is cmd) on
 * ifname: 0 or -errno. */
int netdev_ethtool_call(int fd, const char *ifname, void *cmd);

#endif
