/* Implementation of netdev_features.h: the three ethtool ioctls `ethtool -k`
 * itself falls back to without netlink (ETHTOOL_GSSET_INFO for the size of
 * the ETH_SS_FEATURES string table, ETHTOOL_GSTRINGS for the names,
 * ETHTOOL_GFEATURES for the bits). Names, not bit numbers: the bit layout
 * of netdev_features_t changes between kernels, the names do not. */
#include "uplink/netdev_features.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offload/off_caps.h"
#include "uplink/netdev_ethtool.h"

_Static_assert(NETDEV_FEATURE_NAME_LEN == ETH_GSTRING_LEN, "ethtool string length");

/* Far above the kernel's NETDEV_FEATURE_COUNT (about 70): only bounds what
 * a confused ioctl answer could make us allocate. */
#define NETDEV_FEATURES_MAX 1024u

/* The names are the kernel's netdev_features_strings[] (net/ethtool/common.c). */
static const struct {
        const char *name;
        unsigned caps;
} feature_caps[] = {
    {"tx-checksum-ipv4", OFF_CAP_CSUM4},
    {"tx-checksum-ipv6", OFF_CAP_CSUM6},
    /* NETIF_F_HW_CSUM: any csum_start/csum_offset, so both families. */
    {"tx-checksum-ip-generic", OFF_CAP_CSUM4 | OFF_CAP_CSUM6},
    {"tx-tcp-segmentation", OFF_CAP_TSO4},
    {"tx-tcp6-segmentation", OFF_CAP_TSO6},
    {"tx-scatter-gather", OFF_CAP_SG},
};

unsigned netdev_feature_cap(const char *name)
{
        for (size_t i = 0; i < sizeof(feature_caps) / sizeof(feature_caps[0]); i++)
                if (strncmp(name, feature_caps[i].name, NETDEV_FEATURE_NAME_LEN) == 0)
                        return feature_caps[i].caps;
        return 0;
}

unsigned netdev_features_caps(const char *names, const uint32_t *active, uint32_t count)
{
        unsigned caps = 0;
        for (uint32_t i = 0; i < count; i++)
                if (active[i / 32] & (1u << (i % 32)))
                        caps |= netdev_feature_cap(names + (size_t)i * NETDEV_FEATURE_NAME_LEN);
        return caps;
}

static int feature_count(int fd, const char *ifname, uint32_t *count)
{
        struct {
                struct ethtool_sset_info hdr;
                uint32_t buf[1];
        } ss;
        int rc;

        memset(&ss, 0, sizeof(ss));
        ss.hdr.cmd = ETHTOOL_GSSET_INFO;
        ss.hdr.sset_mask = 1ull << ETH_SS_FEATURES;
        if ((rc = netdev_ethtool_call(fd, ifname, &ss)) < 0)
                return rc;
        if (!(ss.hdr.sset_mask & (1ull << ETH_SS_FEATURES)) || ss.hdr.data[0] == 0 ||
            ss.hdr.data[0] > NETDEV_FEATURES_MAX)
                return -EOPNOTSUPP;
        *count = ss.hdr.data[0];
        return 0;
}

static int read_features(int fd, const char *ifname, unsigned *caps)
{
        struct ethtool_gstrings *strs = NULL;
        struct ethtool_gfeatures *feats = NULL;
        uint32_t *active = NULL;
        uint32_t count, blocks;
        int rc;

        if ((rc = feature_count(fd, ifname, &count)) < 0)
                return rc;
        blocks = (count + 31) / 32;
        strs = calloc(1, sizeof(*strs) + (size_t)count * ETH_GSTRING_LEN);
        feats = calloc(1, sizeof(*feats) + blocks * sizeof(feats->features[0]));
        active = calloc(blocks, sizeof(*active));
        if (!strs || !feats || !active) {
                rc = -ENOMEM;
                goto out;
        }
        strs->cmd = ETHTOOL_GSTRINGS;
        strs->string_set = ETH_SS_FEATURES;
        strs->len = count;
        feats->cmd = ETHTOOL_GFEATURES;
        feats->size = blocks;
        if ((rc = netdev_ethtool_call(fd, ifname, strs)) < 0 ||
            (rc = netdev_ethtool_call(fd, ifname, feats)) < 0)
                goto out;
        /* The kernel answers with its own sizes; trust neither beyond ours. */
        if (strs->len < count)
                count = strs->len;
        if (feats->size < blocks)
                count = count < feats->size * 32 ? count : feats->size * 32;
        for (uint32_t i = 0; i < (count + 31) / 32; i++)
                active[i] = feats->features[i].active;
        *caps = netdev_features_caps((const char *)strs->data, active, count);
out:
        free(strs);
        free(feats);
        free(active);
        return rc;
}

int netdev_features_read(const char *ifname, unsigned *caps)
{
        int fd = netdev_ethtool_open(ifname), rc;
        if (fd < 0)
                return fd;
        rc = read_features(fd, ifname, caps);
        close(fd);
        return rc;
}

int netdev_features_read_index(unsigned ifindex, unsigned *caps)
{
        char name[IF_NAMESIZE];
        if (!if_indextoname(ifindex, name))
                return errno == ENXIO ? -ENODEV : -errno;
        return netdev_features_read(name, caps);
}
