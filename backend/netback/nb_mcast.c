/* Multicast filter list, Linux netback interface.c xenvif_mcast_add/del/match. */
#include <errno.h>
#include <string.h>

#include "netback/nb_mcast.h"

void nb_mcast_init(struct nb_mcast *m)
{
        m->n = 0;
}

static int mcast_find(const struct nb_mcast *m, const uint8_t addr[6])
{
        for (uint32_t i = 0; i < m->n; i++)
                if (memcmp(m->addr[i], addr, 6) == 0)
                        return (int)i;
        return -1;
}

int nb_mcast_add(struct nb_mcast *m, const uint8_t addr[6])
{
        if (mcast_find(m, addr) >= 0)
                return 0;
        if (m->n >= NB_MCAST_MAX)
                return -ENOSPC;
        memcpy(m->addr[m->n++], addr, 6);
        return 0;
}

void nb_mcast_del(struct nb_mcast *m, const uint8_t addr[6])
{
        int i = mcast_find(m, addr);
        if (i < 0)
                return;
        memmove(m->addr[i], m->addr[i + 1], (m->n - (uint32_t)i - 1) * 6u);
        m->n--;
}

bool nb_mcast_match(const struct nb_mcast *m, const uint8_t addr[6])
{
        return mcast_find(m, addr) >= 0;
}

bool nb_mcast_is_group(const uint8_t dst[6])
{
        static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        return (dst[0] & 1) && memcmp(dst, bcast, 6) != 0;
}
