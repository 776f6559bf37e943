/* Fuzzes netback's RX planning: hostile posted requests (ids, grefs,
 * producer index) against frames of any length and offload metadata. The
 * plan must stay inside the ring and the frame whatever the guest posted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netback/nb_rx_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static unsigned char page[XH_PAGE_SIZE] __attribute__((aligned(4096)));
        static unsigned char frame[65536];
        netif_rx_sring_t *sring = (netif_rx_sring_t *)page;
        netif_rx_back_ring_t ring;
        struct {
                uint32_t start, prod_ahead, len;
                uint16_t gso_size, headroom;
                uint8_t gso_type, csum, hash;
        } hdr;

        if (size < sizeof(hdr))
                return 0;
        memcpy(&hdr, data, sizeof(hdr));
        data += sizeof(hdr);
        size -= sizeof(hdr);

        memset(page, 0, sizeof(page));
        SHARED_RING_INIT(sring);
        BACK_RING_INIT(&ring, sring, XH_PAGE_SIZE);
        ring.req_cons = ring.rsp_prod_pvt = sring->rsp_prod = hdr.start;
        size_t slots_bytes = sizeof(sring->ring[0]) * RING_SIZE(&ring);
        memcpy(sring->ring, data, size < slots_bytes ? size : slots_bytes);
        RING_IDX req_prod = hdr.start + (hdr.prod_ahead & 0x8000 ? hdr.prod_ahead
                                                                  : hdr.prod_ahead % 300);
        sring->req_prod = req_prod;

        struct nb_rx_pkt pkt = {
                .data = frame,
                .len = hdr.len % (sizeof(frame) + 1),
                .gso_type = hdr.gso_type % 4,
                .gso_size = hdr.gso_size,
                .csum = (enum nb_rx_csum)(hdr.csum % 3),
                .has_hash = hdr.hash & 1,
                .hash_type = hdr.hash >> 1,
                .hash_value = hdr.start,
                .xdp_headroom = hdr.headroom,
        };
        for (int i = 0; i < 64; i++) {
                struct nb_rx_plan plan;
                if (nb_rx_plan_build(&ring, req_prod, 1, &pkt, &plan) < 0)
                        break;
                for (uint32_t s = 0; s < plan.nr_segs; s++)
                        if (plan.segs[s].dest.foreign.offset + plan.segs[s].len > XH_PAGE_SIZE ||
                            (const unsigned char *)plan.segs[s].source.virt < frame ||
                            (const unsigned char *)plan.segs[s].source.virt + plan.segs[s].len >
                                    frame + pkt.len)
                                abort();
                if (nb_rx_plan_write_responses(&ring, &plan) < 0)
                        abort();
                nb_rx_plan_apply_copy_status(&ring, &plan, plan.segs);
        }
        return 0;
}
