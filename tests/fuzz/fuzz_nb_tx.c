/* Fuzzes netback's TX ring parsing with a hostile frontend: the input fills
 * a shared TX ring (slots, producer index placement) and the backend parses,
 * builds copy tables and answers every packet as the data path would. Any
 * out-of-bounds access, overflow or undefined behaviour is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netback/nb_tx_gnttab.h"
#include "netback/nb_tx_parse.h"

#define MAX_SEGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static unsigned char page[XH_PAGE_SIZE] __attribute__((aligned(4096)));
        static unsigned char pkt_buf[65536 + 4096];
        netif_tx_sring_t *sring = (netif_tx_sring_t *)page;
        netif_tx_back_ring_t ring;
        struct nb_tx_parse_cfg cfg;
        uint32_t start = 0, prod_ahead = 0;

        if (size < 8)
                return 0;
        memcpy(&start, data, 4);
        memcpy(&prod_ahead, data + 4, 4);
        data += 8;
        size -= 8;

        memset(page, 0, sizeof(page));
        SHARED_RING_INIT(sring);
        BACK_RING_INIT(&ring, sring, XH_PAGE_SIZE);
        /* Indices anywhere in the 32-bit space, wrap-around included. */
        ring.req_cons = start;
        ring.rsp_prod_pvt = start;
        sring->rsp_prod = start;
        size_t slots_bytes = sizeof(sring->ring[0]) * RING_SIZE(&ring);
        memcpy(sring->ring, data, size < slots_bytes ? size : slots_bytes);
        /* Mostly plausible producers, sometimes absurd ones. */
        RING_IDX req_prod = start + (prod_ahead & 0x8000 ? prod_ahead : prod_ahead % 300);
        sring->req_prod = req_prod;

        nb_tx_parse_cfg_default(&cfg);
        cfg.partial_is_fatal = prod_ahead & 1;
        for (int packets = 0; packets < 512; packets++) {
                struct nb_tx_pkt pkt;
                enum nb_tx_verdict v = nb_tx_parse_slots(&ring, req_prod, &cfg, &pkt);
                if (v == NB_TX_EMPTY || v == NB_TX_INCOMPLETE || v == NB_TX_FATAL)
                        break;
                nb_tx_consume(&ring, &pkt);
                int16_t status = NETIF_RSP_OKAY;
                if (v == NB_TX_OK) {
                        xh_copy_seg_t segs[MAX_SEGS];
                        struct nb_tx_copy_cursor cur;
                        unsigned int n = 0;
                        nb_tx_copy_cursor_init(&cur);
                        int rc;
                        do {
                                n = 0;
                                rc = nb_tx_build_copy_ops(&pkt, 1, pkt_buf, sizeof(pkt_buf), &cur,
                                                          segs, MAX_SEGS, &n);
                                for (unsigned int i = 0; i < n; i++)
                                        if (segs[i].len > XH_PAGE_SIZE ||
                                            segs[i].source.foreign.offset + segs[i].len >
                                                    XH_PAGE_SIZE)
                                                abort();
                        } while (rc == -ENOSPC);
                } else if (v == NB_TX_DROP) {
                        status = NETIF_RSP_ERROR;
                }
                if (nb_tx_make_responses(&ring, &pkt, status) < 0)
                        abort();
        }
        return 0;
}
