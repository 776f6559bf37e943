/* Toeplitz hashing and the control operations that configure it, after Linux
 * xen-netback hash.c; the hash function itself is netif.h's reference one. */
#define XEN_NETIF_DEFINE_TOEPLITZ
#include "xh.h"
#include <xen/io/netif.h>

#include <string.h>

#include "netback/nb_hash.h"
#include "offload/off_parse.h"

void nb_hash_cfg_init(struct nb_hash_cfg *h)
{
        memset(h, 0, sizeof(*h));
        h->alg = XEN_NETIF_CTRL_HASH_ALGORITHM_NONE;
}

uint32_t nb_hash_set_alg(struct nb_hash_cfg *h, uint32_t alg)
{
        if (alg != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE &&
            alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
                return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        h->alg = alg;
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t nb_hash_get_flags(const struct nb_hash_cfg *h, uint32_t *flags)
{
        if (h->alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
                return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
        *flags = NB_HASH_FLAGS_ALL;
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t nb_hash_set_flags(struct nb_hash_cfg *h, uint32_t flags)
{
        if (flags & ~(uint32_t)NB_HASH_FLAGS_ALL)
                return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        if (h->alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
                return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        h->flags = flags;
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t nb_hash_set_key(struct nb_hash_cfg *h, const uint8_t *key, uint32_t len)
{
        /* netif.h: a key longer than the backend supports is BUFFER_OVERFLOW
         * (Linux answers INVALID_PARAMETER; the header is the contract). */
        if (len > NB_HASH_KEY_MAX)
                return XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
        memset(h->key, 0, sizeof(h->key));
        if (len)
                memcpy(h->key, key, len);
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t nb_hash_set_mapping_size(struct nb_hash_cfg *h, uint32_t size)
{
        if (size > NB_HASH_MAPPING_MAX)
                return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        h->size = size;
        memset(h->mapping, 0, sizeof(h->mapping));
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t nb_hash_check_mapping(const struct nb_hash_cfg *h, uint32_t off, uint32_t len)
{
        if (off + len < off || off + len > h->size || len > NB_PAGE_SIZE / sizeof(uint32_t))
                return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t nb_hash_set_mapping(struct nb_hash_cfg *h, uint32_t nr_queues, uint32_t off,
                             const uint32_t *entries, uint32_t len)
{
        uint32_t st = nb_hash_check_mapping(h, off, len);
        if (st != XEN_NETIF_CTRL_STATUS_SUCCESS)
                return st;
        /* All or nothing, as Linux's double-buffered table. */
        for (uint32_t i = 0; i < len; i++)
                if (entries[i] >= nr_queues)
                        return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
        memcpy(&h->mapping[off], entries, len * sizeof(uint32_t));
        return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

bool nb_hash_frame(const struct nb_hash_cfg *h, const uint8_t *frame, size_t len, uint32_t *hash,
                   uint8_t *type)
{
        struct off_pkt_info pi;
        uint8_t in[36];
        unsigned int n = 0;
        bool v4, tcp;

        if (h->alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ || h->flags == 0)
                return false;
        if (off_parse(frame, len, OFF_PARSE_GSO, &pi) < 0)
                return false;
        if (pi.ethertype != OFF_ETH_P_IPV4 && pi.ethertype != OFF_ETH_P_IPV6)
                return false;
        v4 = pi.ethertype == OFF_ETH_P_IPV4;
        tcp = (pi.flags & OFF_PKT_L4) && pi.l4_proto == 6 && !(pi.flags & OFF_PKT_FRAGMENT);
        /* Input: source and destination address, then ports (RSS order). */
        if (v4) {
                memcpy(in, frame + pi.l3_off + 12, 8);
                n = 8;
        } else {
                memcpy(in, frame + pi.l3_off + 8, 32);
                n = 32;
        }
        if (tcp && (h->flags &
                    (v4 ? XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP : XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP))) {
                memcpy(in + n, frame + pi.l4_off, 4);
                n += 4;
                *type =
                    v4 ? _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP : _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
        } else if (h->flags &
                   (v4 ? XEN_NETIF_CTRL_HASH_TYPE_IPV4 : XEN_NETIF_CTRL_HASH_TYPE_IPV6)) {
                *type = v4 ? _XEN_NETIF_CTRL_HASH_TYPE_IPV4 : _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
        } else {
                return false;
        }
        *hash = xen_netif_toeplitz_hash(h->key, sizeof(h->key), in, n);
        return true;
}

uint32_t nb_hash_queue(const struct nb_hash_cfg *h, uint32_t hash, uint32_t nr_queues)
{
        if (nr_queues == 0)
                return 0;
        if (h->size == 0)
                return hash % nr_queues;
        return h->mapping[hash % h->size] % nr_queues;
}
