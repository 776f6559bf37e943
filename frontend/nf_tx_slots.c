/* TX slot building (see nf_tx_slots.h), in the order xennet_start_xmit uses:
 * first request, optional extras right after it, then the remaining data. */
#include "nf_tx_slots.h"

#include <errno.h>
#include <string.h>

static int check_frags(const struct nf_tx_meta *m, const struct nf_tx_frag *f, uint32_t n)
{
        uint32_t sum = 0;
        if (n == 0)
                return -EINVAL;
        if (m->len > NF_MAX_TX_SIZE)
                return -EMSGSIZE;
        for (uint32_t i = 0; i < n; i++) {
                /* netif.h: a slot never crosses its granted page. */
                if ((uint32_t)f[i].offset + f[i].len > NF_PAGE_SIZE)
                        return -EINVAL;
                sum += f[i].len;
        }
        return sum == m->len ? 0 : -EINVAL;
}

static int check_extras(const struct nf_tx_meta *m)
{
        if (m->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
                if (m->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 &&
                    m->gso_type != XEN_NETIF_GSO_TYPE_TCPV6)
                        return -EINVAL;
                if (m->gso_size == 0) /* netback treats it as fatal */
                        return -EINVAL;
        }
        if (m->mcast_type && m->mcast_type != XEN_NETIF_EXTRA_TYPE_MCAST_ADD &&
            m->mcast_type != XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
                return -EINVAL;
        return 0;
}

static void put_req(union nf_tx_slot *s, const struct nf_tx_frag *f, uint16_t size,
                    uint16_t flags)
{
        memset(s, 0, sizeof(*s));
        s->req.gref = f->gref;
        s->req.offset = f->offset;
        s->req.id = f->id;
        s->req.size = size;
        s->req.flags = flags;
}

static struct netif_extra_info *new_extra(union nf_tx_slot *s)
{
        memset(s, 0, sizeof(*s));
        return &s->extra;
}

int nf_tx_build_slots(const struct nf_tx_meta *m, const struct nf_tx_frag *frags,
                      uint32_t nfrags, union nf_tx_slot *out, uint32_t max, uint32_t *nslots)
{
        int rc = check_frags(m, frags, nfrags);
        if (rc == 0)
                rc = check_extras(m);
        if (rc < 0)
                return rc;
        uint32_t nextras = (m->gso_type != XEN_NETIF_GSO_TYPE_NONE) + (m->mcast_type != 0);
        if (nfrags + nextras > max)
                return -ENOSPC;

        uint16_t flags = 0;
        if (m->csum_blank) /* "local packet": Linux sets both */
                flags |= NETTXF_csum_blank | NETTXF_data_validated;
        else if (m->data_validated)
                flags |= NETTXF_data_validated;
        if (nextras)
                flags |= NETTXF_extra_info;
        if (nfrags > 1)
                flags |= NETTXF_more_data;
        put_req(&out[0], &frags[0], (uint16_t)m->len, flags);

        uint32_t k = 1;
        if (m->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
                struct netif_extra_info *e = new_extra(&out[k++]);
                e->type = XEN_NETIF_EXTRA_TYPE_GSO;
                e->u.gso.size = m->gso_size;
                e->u.gso.type = m->gso_type;
                e->flags = m->mcast_type ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
        }
        if (m->mcast_type) {
                struct netif_extra_info *e = new_extra(&out[k++]);
                e->type = m->mcast_type;
                memcpy(e->u.mcast.addr, m->mcast_addr, sizeof(e->u.mcast.addr));
        }
        for (uint32_t i = 1; i < nfrags; i++)
                put_req(&out[k++], &frags[i], frags[i].len,
                        i + 1 < nfrags ? NETTXF_more_data : 0);
        *nslots = k;
        return 0;
}

int nf_tx_layout(uint32_t len, bool sg, uint32_t head, uint16_t *lens, uint32_t max, uint32_t *n)
{
        if (len > NF_MAX_TX_SIZE || (!sg && len > NF_PAGE_SIZE))
                return -EMSGSIZE;
        if (head == 0 || head > NF_PAGE_SIZE)
                head = NF_PAGE_SIZE;
        uint32_t k = 0, left = len;
        do {
                uint32_t chunk = k == 0 ? head : NF_PAGE_SIZE;
                if (chunk > left)
                        chunk = left;
                if (k == max)
                        return -ENOSPC;
                lens[k++] = (uint16_t)chunk;
                left -= chunk;
        } while (left);
        if (!sg && k > 1)
                return -EMSGSIZE;
        *n = k;
        return 0;
}
