/* Generator and verifier of pvback-netfront's test traffic (see nf_gen.h).
 * Frames are built with the offload layer's builder and checksummed with its
 * checksum code; only the payload scheme lives here. */
#include "nf_gen.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "offload/off_build.h"
#include "offload/off_csum.h"
#include "offload/off_parse.h"

#define UDP_TAG_LEN 8 /* 'P' 'V' flow(16) offset(32), big endian */
#define NF_GEN_MAX_FLOWS 65535u

static uint64_t mix64(uint64_t x)
{
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

uint8_t nf_gen_pattern(uint32_t seed, uint32_t flow, uint32_t off)
{
        return off_build_pattern(seed ^ (flow * 0x9E3779B1u), (size_t)off);
}

uint64_t nf_gen_digest_byte(uint32_t flow, uint32_t off, uint8_t byte)
{
        return mix64((uint64_t)flow << 48 ^ off << 8 ^ byte);
}

int nf_gen_init(struct nf_gen *g, const struct nf_gen_cfg *cfg)
{
        memset(g, 0, sizeof(*g));
        if (cfg->flows == 0 || cfg->flows > NF_GEN_MAX_FLOWS || cfg->min_size < 60 ||
            cfg->max_size < cfg->min_size || cfg->max_size > NF_MAX_TX_SIZE ||
            (cfg->gso_size && !cfg->tcp))
                return -EINVAL;
        g->cfg = *cfg;
        g->flow_off = calloc(cfg->flows, sizeof(uint64_t));
        g->next_size = cfg->min_size;
        return g->flow_off ? 0 : -ENOMEM;
}

void nf_gen_free(struct nf_gen *g)
{
        free(g->flow_off);
        g->flow_off = NULL;
}

static size_t header_len(const struct nf_gen_cfg *c)
{
        return OFF_ETH_HLEN + (c->ipv6 ? OFF_IPV6_HLEN : OFF_IPV4_MIN_HLEN) +
               (c->tcp ? OFF_TCP_MIN_HLEN : OFF_UDP_HLEN + UDP_TAG_LEN);
}

/* Sizes sweep from min to max in steps, so every slot split shows up. */
static uint32_t next_size(struct nf_gen *g)
{
        uint32_t s = g->next_size;
        uint32_t step = (g->cfg.max_size - g->cfg.min_size) / 7 + 1;
        g->next_size = s + step > g->cfg.max_size ? g->cfg.min_size : s + step;
        return s;
}

static int finish_csum(uint8_t *buf, size_t len, const struct nf_gen_cfg *c, bool gso)
{
        struct off_pkt_info pi;
        int rc = off_parse(buf, len, gso ? OFF_PARSE_GSO : 0, &pi);
        if (rc < 0)
                return rc;
        return c->csum_partial || gso ? off_csum_seed_partial(buf, len, &pi)
                                      : off_csum_fill_l4(buf, len, &pi);
}

int nf_gen_next(struct nf_gen *g, uint8_t *buf, size_t cap, struct nf_frame *f)
{
        const struct nf_gen_cfg *c = &g->cfg;
        uint32_t flow = g->next_flow;
        g->next_flow = (flow + 1) % c->flows;
        uint32_t size = next_size(g);
        size_t hl = header_len(c);
        size_t n = size > hl ? size - hl : 0;
        uint64_t off = g->flow_off[flow];
        uint8_t payload[NF_MAX_TX_SIZE];
        size_t plen = 0;
        if (!c->tcp) {
                payload[0] = 'P';
                payload[1] = 'V';
                payload[2] = (uint8_t)(flow >> 8);
                payload[3] = (uint8_t)flow;
                for (int i = 0; i < 4; i++)
                        payload[4 + i] = (uint8_t)(off >> (24 - 8 * i));
                plen = UDP_TAG_LEN;
        }
        for (size_t i = 0; i < n; i++) {
                uint8_t b = nf_gen_pattern(c->seed, flow, (uint32_t)(off + i));
                payload[plen + i] = b;
                g->digest += nf_gen_digest_byte(flow, (uint32_t)(off + i), b);
        }
        plen += n;
        struct off_build_spec s = {
                .ethertype = c->ipv6 ? OFF_ETH_P_IPV6 : OFF_ETH_P_IPV4,
                .ip_id = (uint16_t)g->frames,
                .l4_proto = c->tcp ? IPPROTO_TCP : IPPROTO_UDP,
                .sport = (uint16_t)(NF_GEN_SPORT0 + flow),
                .dport = NF_GEN_PORT,
                .seq = (uint32_t)off,
                .tcp_flags = OFF_TCP_ACK | OFF_TCP_PSH,
                .tcp_window = 65535,
                .payload = payload,
                .payload_len = plen,
        };
        memcpy(s.dst_mac, c->dst_mac, 6);
        memcpy(s.src_mac, c->src_mac, 6);
        memcpy(s.saddr, c->saddr, 16);
        memcpy(s.daddr, c->daddr, 16);
        size_t len;
        int rc = off_build_packet(buf, cap, &s, &len);
        bool gso = c->gso_size && n > c->gso_size;
        if (rc == 0)
                rc = finish_csum(buf, len, c, gso);
        if (rc < 0)
                return rc;
        g->flow_off[flow] = off + n;
        g->frames++;
        g->payload_bytes += n;
        *f = (struct nf_frame){.data = buf,
                               .len = (uint32_t)len,
                               .csum_blank = c->csum_partial || gso,
                               .gso_type = !gso       ? XEN_NETIF_GSO_TYPE_NONE
                                           : c->ipv6 ? XEN_NETIF_GSO_TYPE_TCPV6
                                                     : XEN_NETIF_GSO_TYPE_TCPV4,
                               .gso_size = gso ? c->gso_size : 0};
        return 0;
}

/* Where a generator frame's pattern starts: flow, offset and payload span. */
static bool locate(const uint8_t *data, size_t len, const struct off_pkt_info *pi, uint32_t *flow,
                   uint64_t *off, size_t *start, size_t *n)
{
        if (!(pi->flags & OFF_PKT_L4) || (size_t)pi->l4_off + 8 > len)
                return false;
        uint16_t sport = (uint16_t)(data[pi->l4_off] << 8 | data[pi->l4_off + 1]);
        uint16_t dport = (uint16_t)(data[pi->l4_off + 2] << 8 | data[pi->l4_off + 3]);
        if (dport != NF_GEN_PORT || sport < NF_GEN_SPORT0)
                return false;
        *flow = sport - NF_GEN_SPORT0;
        *start = pi->payload_off;
        *n = pi->payload_len;
        if (pi->l4_proto == IPPROTO_TCP) {
                const uint8_t *p = data + pi->l4_off + 4;
                *off = (uint32_t)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]);
                return true;
        }
        const uint8_t *t = data + pi->payload_off;
        if (*n < UDP_TAG_LEN || t[0] != 'P' || t[1] != 'V')
                return false;
        *off = (uint32_t)(t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7]);
        *start += UDP_TAG_LEN;
        *n -= UDP_TAG_LEN;
        return true;
}

void nf_verify_frame(struct nf_verify *v, const uint8_t *data, size_t len, bool csum_blank,
                     bool data_validated)
{
        struct off_pkt_info pi;
        uint32_t flow;
        uint64_t off;
        size_t start, n;
        if (off_parse(data, len, 0, &pi) < 0 || !locate(data, len, &pi, &flow, &off, &start, &n)) {
                v->foreign++;
                return;
        }
        /* A partial sum is the sender's promise, not a checksum to check. */
        if (!csum_blank && !data_validated && !off_csum_l4_ok(data, len, &pi))
                v->bad_csum++;
        for (size_t i = 0; i < n; i++) {
                uint8_t b = data[start + i];
                if (b != nf_gen_pattern(v->seed, flow, (uint32_t)(off + i)))
                        v->bad_bytes++;
                v->digest += nf_gen_digest_byte(flow, (uint32_t)(off + i), b);
        }
        v->frames++;
        v->payload_bytes += n;
}
