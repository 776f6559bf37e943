/* L1 of coalescing: a netdev's interrupt coalescing as `ethtool -c` shows
 * it and `ethtool -C` sets it, through the ETHTOOL_GCOALESCE/SCOALESCE
 * ioctls by name. A NIC uplink has it; a TAP (the vif's own netdev) has no
 * interrupts and answers -EOPNOTSUPP, which callers report as "n/a". */
#ifndef PVBACK_NETDEV_COALESCE_H
#define PVBACK_NETDEV_COALESCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ethtool_coalesce;

/* The members pvbackd shows and tunes; the rest of the kernel's struct is
 * kept as read when writing. */
struct netdev_coalesce {
        uint32_t rx_usecs, rx_frames;
        uint32_t tx_usecs, tx_frames;
        bool adaptive_rx, adaptive_tx;
};

/* Between the kernel's struct and ours (pure). to_ethtool changes only the
 * members above. */
void netdev_coalesce_from_ethtool(const struct ethtool_coalesce *ec, struct netdev_coalesce *out);
void netdev_coalesce_to_ethtool(const struct netdev_coalesce *in, struct ethtool_coalesce *ec);
/* "rx 50 us/32 frames, tx 50 us/32 frames, adaptive rx off tx off". */
void netdev_coalesce_format(const struct netdev_coalesce *c, char *buf, size_t len);

/* Reads netdev @ifname's coalescing. 0 or -errno: -EOPNOTSUPP when the
 * driver has none (TAP, veth), -ENODEV without such a netdev. */
int netdev_coalesce_read(const char *ifname, struct netdev_coalesce *out);
/* Writes it (read, change our members, write back). 0 or -errno
 * (-EOPNOTSUPP, -EINVAL for values the driver refuses, -EPERM). */
int netdev_coalesce_write(const char *ifname, const struct netdev_coalesce *in);

#endif
