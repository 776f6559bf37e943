/* A netdev's active offload features as `ethtool -k` shows them, read
 * through the ethtool ioctl and mapped to the offload layer's capability
 * bits (enum off_cap). Any netdev: the TAP a vif drives, the NIC an AF_XDP
 * uplink sits on. Not for changing them: that is the operator's `ethtool -K`. */
#ifndef PVBACK_NETDEV_FEATURES_H
#define PVBACK_NETDEV_FEATURES_H

#include <stddef.h>
#include <stdint.h>

/* ETH_GSTRING_LEN: one feature name in the kernel's string table. */
#define NETDEV_FEATURE_NAME_LEN 32

/* The enum off_cap bits the ethtool feature @name (at most
 * NETDEV_FEATURE_NAME_LEN bytes, NUL-ended if shorter) stands for; 0 for a
 * feature the offload layer has no use for. */
unsigned netdev_feature_cap(const char *name);

/* The capabilities of a netdev whose string table is @names (@count entries
 * of NETDEV_FEATURE_NAME_LEN bytes, ETH_SS_FEATURES order) and whose active
 * feature bits are @active (bit i of word i / 32). */
unsigned netdev_features_caps(const char *names, const uint32_t *active, uint32_t count);

/* Reads the active features of netdev @ifname now. 0 or -errno (-ENODEV:
 * no such netdev). */
int netdev_features_read(const char *ifname, unsigned *caps);
/* The same by ifindex, which a rename does not change. */
int netdev_features_read_index(unsigned ifindex, unsigned *caps);

#endif
