/* Implementation of off_caps.h. */
#include "offload/off_caps.h"

#include <stdio.h>
#include <string.h>

static unsigned csum_cap(bool ipv6)
{
        return ipv6 ? OFF_CAP_CSUM6 : OFF_CAP_CSUM4;
}

unsigned off_decide(const struct off_meta *m, unsigned peer_caps)
{
        unsigned act = OFF_ACT_PASS;

        switch (m->gso) {
        case OFF_GSO_KIND_NONE:
                if (m->csum_partial && !(peer_caps & csum_cap(m->ipv6)))
                        act |= OFF_ACT_CSUM;
                break;
        case OFF_GSO_KIND_TCP4:
        case OFF_GSO_KIND_TCP6: {
                unsigned tso = m->gso == OFF_GSO_KIND_TCP4 ? OFF_CAP_TSO4 : OFF_CAP_TSO6;
                /* Segments are built whole (one buffer each), with their
                 * checksums: nothing else is left to do for them. */
                if ((peer_caps & (tso | OFF_CAP_SG)) != (tso | OFF_CAP_SG))
                        return OFF_ACT_SEGMENT;
                break;
        }
        default:
                return OFF_ACT_DROP;
        }
        if (m->nr_bufs > 1 && !(peer_caps & OFF_CAP_SG))
                act |= OFF_ACT_LINEARIZE;
        return act;
}

void off_path_count(struct off_path_stats *st, const struct off_meta *m, unsigned act)
{
        if (act & OFF_ACT_DROP) {
                st->dropped++;
                return;
        }
        if (m->gso == OFF_GSO_KIND_TCP4 || m->gso == OFF_GSO_KIND_TCP6) {
                if (act & OFF_ACT_SEGMENT)
                        st->gso_sw++;
                else
                        st->gso_pass++;
        } else if (m->csum_partial) {
                if (act & OFF_ACT_CSUM)
                        st->csum_sw++;
                else
                        st->csum_pass++;
        }
        if (act & OFF_ACT_LINEARIZE)
                st->linearized++;
}

const char *off_caps_str(unsigned caps, char *buf, size_t len)
{
        static const char *const names[] = {"csum4", "csum6", "tso4", "tso6", "sg"};
        size_t used = 0;

        if (len == 0)
                return buf;
        buf[0] = '\0';
        for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (!(caps & (1u << i)))
                        continue;
                int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i]);
                if (n < 0 || (size_t)n >= len - used)
                        break;
                used += (size_t)n;
        }
        if (used == 0)
                snprintf(buf, len, "none");
        return buf;
}
