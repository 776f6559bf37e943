/* Implementation of nf_hints.h. */
#include "nf_hints.h"

#include <string.h>

/* A decimal of at most 9 digits, at least @lo, clamped to @hi; false for
 * anything else. */
static bool parse_bounded(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
        uint64_t v = 0;
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v < lo)
                return false;
        *out = v > hi ? hi : (uint32_t)v;
        return true;
}

void nf_hints_parse(const char *tx_kick_batch, const char *rx_poll_us, struct nf_hints *out)
{
        *out = (struct nf_hints){.tx_kick_batch = 1, .rx_poll_us = 0};
        out->tx_applied =
            parse_bounded(tx_kick_batch, 1, NF_HINT_KICK_BATCH_MAX, &out->tx_kick_batch);
        out->rx_applied = parse_bounded(rx_poll_us, 0, NF_HINT_RX_POLL_US_MAX, &out->rx_poll_us);
}

bool nf_hints_tx_push_now(uint32_t batch, uint32_t unpushed, bool more)
{
        return !more || batch <= 1 || unpushed >= batch;
}
