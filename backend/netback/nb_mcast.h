/* The vif's multicast filter (feature-multicast-control): up to 64 addresses
 * added and removed by the guest with MCAST_ADD/DEL extras on TX, matched on
 * RX when the frontend asked for filtering. Pure list operations; the caller
 * decides who may touch it when. Linux: interface.c xenvif_mcast_*. */
#ifndef PVBACK_NB_MCAST_H
#define PVBACK_NB_MCAST_H

#include <stdbool.h>
#include <stdint.h>

#include "netback/nb_limits.h"

struct nb_mcast {
        uint32_t n;
        uint8_t addr[NB_MCAST_MAX][6];
};

void nb_mcast_init(struct nb_mcast *m);
/* 0, or -ENOSPC when full (the guest gets NETIF_RSP_ERROR). Adding an
 * address already present is allowed and keeps one entry (Linux adds a
 * duplicate and would need two DELs; one entry is what the guest means). */
int nb_mcast_add(struct nb_mcast *m, const uint8_t addr[6]);
/* Removing an absent address is not an error (Linux ignores it). */
void nb_mcast_del(struct nb_mcast *m, const uint8_t addr[6]);
bool nb_mcast_match(const struct nb_mcast *m, const uint8_t addr[6]);
/* A frame the filter applies to: group address, not broadcast (Linux tests
 * skb->pkt_type == PACKET_MULTICAST). */
bool nb_mcast_is_group(const uint8_t dst[6]);

#endif
