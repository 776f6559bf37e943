/* The L5 coalescing hints a pvback backend publishes to a frontend that
 * follows its dynamic capabilities (capabilities/coalesce/tx-kick-batch and
 * rx-poll-us, xenstore-schema/vif.schema), and the netfront's decisions on
 * them. Pure: parsing the backend's text and the TX push rule, unit-tested
 * in tests/unit/test_nf_hints.c; nf_txq.c and nf_dev.c apply them. */
#ifndef PVBACK_NF_HINTS_H
#define PVBACK_NF_HINTS_H

#include <stdbool.h>
#include <stdint.h>

/* What the netfront accepts: a larger batch would hold a ring's worth of
 * requests from the backend, a longer spin would burn a CPU for nothing. */
#define NF_HINT_KICK_BATCH_MAX 64u
#define NF_HINT_RX_POLL_US_MAX 1000u

struct nf_hints {
        uint32_t tx_kick_batch;      /* frames pushed per kick at most; 1: each at once */
        uint32_t rx_poll_us;         /* spin on the RX ring before sleeping; 0: never */
        bool tx_applied, rx_applied; /* the backend published a usable value */
};

/* From the backend's values (NULL: not published). Hostile text: only
 * decimal digits are applied, clamped to the bounds above (a batch of 0 is
 * refused); anything else leaves the hint at its neutral value (batch 1,
 * no spin), not applied. */
void nf_hints_parse(const char *tx_kick_batch, const char *rx_poll_us, struct nf_hints *out);

/* Whether to push the TX requests and kick now: @unpushed frames are on
 * the ring unpushed (this one included) and @more says another frame is
 * already waiting behind it. The last frame of a burst (!more) always goes
 * at once, so batching never delays it. */
bool nf_hints_tx_push_now(uint32_t batch, uint32_t unpushed, bool more);

#endif
