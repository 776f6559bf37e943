/* Toeplitz receive-side hashing set up by the frontend over the control ring
 * (flags, key, mapping table), and the queue choice it implies. Pure: the
 * control-ring transport and grant copies live in nb_ctrl.c. Linux: hash.c. */
#ifndef PVBACK_NB_HASH_H
#define PVBACK_NB_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netback/nb_limits.h"

#define NB_HASH_KEY_MAX     40u  /* Linux XEN_NETBK_MAX_HASH_KEY_SIZE */
#define NB_HASH_MAPPING_MAX 128u /* Linux XEN_NETBK_MAX_HASH_MAPPING_SIZE */
#define NB_HASH_FLAGS_ALL                                                                          \
        (XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |                       \
         XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)

struct nb_hash_cfg {
        uint32_t alg;                 /* XEN_NETIF_CTRL_HASH_ALGORITHM_* */
        uint32_t flags;               /* XEN_NETIF_CTRL_HASH_TYPE_* */
        uint8_t key[NB_HASH_KEY_MAX]; /* zero-padded: Linux always hashes 40 bytes */
        uint32_t size;                /* mapping entries in use; 0: hash % queues */
        uint32_t mapping[NB_HASH_MAPPING_MAX];
};

void nb_hash_cfg_init(struct nb_hash_cfg *h);

/* Control operations; each returns an XEN_NETIF_CTRL_STATUS_* code. Data that
 * came from a grant (key, mapping) is passed in already copied. */
uint32_t nb_hash_set_alg(struct nb_hash_cfg *h, uint32_t alg);
uint32_t nb_hash_get_flags(const struct nb_hash_cfg *h, uint32_t *flags);
uint32_t nb_hash_set_flags(struct nb_hash_cfg *h, uint32_t flags);
uint32_t nb_hash_set_key(struct nb_hash_cfg *h, const uint8_t *key, uint32_t len);
uint32_t nb_hash_set_mapping_size(struct nb_hash_cfg *h, uint32_t size);
/* Checks a SET_HASH_MAPPING request before the copy (Linux order). */
uint32_t nb_hash_check_mapping(const struct nb_hash_cfg *h, uint32_t off, uint32_t len);
uint32_t nb_hash_set_mapping(struct nb_hash_cfg *h, uint32_t nr_queues, uint32_t off,
                             const uint32_t *entries, uint32_t len);

/* Hash of a frame per the enabled types (Linux xenvif_set_skb_hash): false
 * when no enabled type applies (no HASH extra then). *type is the
 * _XEN_NETIF_CTRL_HASH_TYPE_* bit number the HASH extra carries. */
bool nb_hash_frame(const struct nb_hash_cfg *h, const uint8_t *frame, size_t len, uint32_t *hash,
                   uint8_t *type);

/* The queue a frame with this hash goes to (Linux xenvif_select_queue). */
uint32_t nb_hash_queue(const struct nb_hash_cfg *h, uint32_t hash, uint32_t nr_queues);

#endif
