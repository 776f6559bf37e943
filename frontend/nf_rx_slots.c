/* RX reassembly (see nf_rx_slots.h). Layout per netif.h and Linux rx.c: the
 * first data slot, then its extras (chained by XEN_NETIF_EXTRA_FLAG_MORE),
 * then the remaining data slots chained by NETRXF_more_data. */
#include "nf_rx_slots.h"

#include <errno.h>
#include <string.h>

/* Reads the extras after the first slot; *cons ends on the last extra. */
static int parse_extras(const netif_rx_front_ring_t *ring, RING_IDX rp, RING_IDX *cons,
                        struct nf_rx_desc *d)
{
        struct netif_extra_info extra;
        int err = 0;
        do {
                if (*cons + 1 == rp) /* "Missing extra info" */
                        return -EBADR;
                RING_COPY_RESPONSE(ring, ++*cons, (netif_rx_response_t *)&extra);
                switch (extra.type) {
                case XEN_NETIF_EXTRA_TYPE_GSO:
                        d->has_gso = true;
                        d->gso_type = extra.u.gso.type;
                        d->gso_size = extra.u.gso.size;
                        break;
                case XEN_NETIF_EXTRA_TYPE_HASH:
                        d->has_hash = true;
                        d->hash_type = extra.u.hash.type;
                        d->hash_value = (uint32_t)extra.u.hash.value[0] |
                                        (uint32_t)extra.u.hash.value[1] << 8 |
                                        (uint32_t)extra.u.hash.value[2] << 16 |
                                        (uint32_t)extra.u.hash.value[3] << 24;
                        break;
                case NF_EXTRA_TYPE_XDP: {
                        uint16_t headroom;
                        memcpy(&headroom, &extra.u, sizeof(headroom));
                        d->has_xdp = true;
                        d->xdp_headroom = headroom;
                        break;
                }
                case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
                case XEN_NETIF_EXTRA_TYPE_MCAST_DEL:
                        break; /* valid types netfront ignores on RX */
                default:       /* 0 or >= MAX: "Invalid extra type" */
                        err = -EINVAL;
                        break;
                }
        } while (extra.flags & XEN_NETIF_EXTRA_FLAG_MORE);
        return err;
}

/* xennet_set_skb_gso's checks. */
static int check_gso(const struct nf_rx_desc *d)
{
        if (!d->has_gso)
                return 0;
        if (d->gso_size == 0)
                return -EINVAL;
        if (d->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 && d->gso_type != XEN_NETIF_GSO_TYPE_TCPV6)
                return -EINVAL;
        return 0;
}

static void add_seg(struct nf_rx_desc *d, RING_IDX idx, const netif_rx_response_t *rx)
{
        if (d->nr_segs < NF_RX_DESC_SEGS) {
                d->segs[d->nr_segs++] =
                        (struct nf_rx_seg){.idx = idx, .offset = rx->offset, .len = (uint16_t)rx->status};
                d->len += (uint32_t)rx->status;
        }
}

int nf_rx_parse(const netif_rx_front_ring_t *ring, RING_IDX rp, struct nf_rx_desc *d)
{
        netif_rx_response_t rx;
        RING_IDX first = ring->rsp_cons, cons = first, idx = first;
        uint32_t slots = 1;
        int err = 0;

        memset(d, 0, sizeof(*d));
        RING_COPY_RESPONSE(ring, first, &rx);
        uint32_t max = NF_RX_MAX_DATA_SLOTS + (rx.status <= (int16_t)NF_RX_COPY_THRESHOLD);
        d->csum_blank = rx.flags & NETRXF_csum_blank;
        d->data_validated = rx.flags & NETRXF_data_validated;
        if (rx.flags & NETRXF_extra_info) {
                err = parse_extras(ring, rp, &cons, d);
                if (err == -EBADR) {
                        d->nr_slots = cons - first + 1;
                        return err;
                }
                /* With an XDP extra the data starts after the headroom. */
                if (!err && d->has_xdp)
                        rx.offset = d->xdp_headroom;
        }
        for (;;) {
                if (rx.status < 0 || (uint32_t)rx.offset + (uint32_t)rx.status > NF_PAGE_SIZE)
                        err = -EINVAL;
                else if (slots <= max)
                        add_seg(d, idx, &rx);
                if (!(rx.flags & NETRXF_more_data))
                        break;
                if (cons + slots == rp) { /* "Need more slots" */
                        err = -ENOENT;
                        break;
                }
                idx = cons + slots;
                RING_COPY_RESPONSE(ring, idx, &rx);
                slots++;
        }
        if (slots > max) /* "Too many slots" */
                err = -E2BIG;
        d->nr_slots = cons - first + slots;
        if (!err)
                err = check_gso(d);
        return err;
}
