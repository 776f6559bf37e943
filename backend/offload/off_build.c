/* Synthetic frame builder (see off_build.h): header layout only, in the
 * field order of RFC 791, RFC 8200, RFC 793 and RFC 768. */
#include <errno.h>
#include <netinet/in.h>

#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_csum.h"

#define DEFAULT_TTL 64
#define IPV4_VER_IHL(ihl_words) (uint8_t)(0x40 | (ihl_words))
#define IPV4_DF 0x4000
#define IPV6_VER_BYTE 0x60
#define IPV4_MAX_OPTS 40
#define TCP_MAX_OPTS 40
#define TCP_DEFAULT_WINDOW 65535
#define WORD_BYTES 4
#define PATTERN_MUL 131u
#define PATTERN_SHIFT 7

uint8_t off_build_pattern(uint32_t seed, size_t i)
{
        uint32_t x = seed + (uint32_t)i * PATTERN_MUL;
        return (uint8_t)(x ^ (x >> PATTERN_SHIFT) ^ (uint32_t)(i >> 8));
}

static size_t put_l2(uint8_t *p, const struct off_build_spec *s)
{
        size_t off = 2 * OFF_ETH_ALEN;
        memcpy(p, s->dst_mac, OFF_ETH_ALEN);
        memcpy(p + OFF_ETH_ALEN, s->src_mac, OFF_ETH_ALEN);
        if (s->vlan) {
                off_put_be16(p + off, OFF_ETH_P_8021Q);
                off_put_be16(p + off + 2, s->vlan_tci);
                off += OFF_VLAN_HLEN;
        }
        off_put_be16(p + off, s->ethertype);
        return off + 2;
}

static size_t put_ipv4(uint8_t *ip, const struct off_build_spec *s, size_t l4_len)
{
        size_t ihl = OFF_IPV4_MIN_HLEN + s->ip_opts_len;
        memset(ip, 0, OFF_IPV4_MIN_HLEN);
        ip[0] = IPV4_VER_IHL(ihl / WORD_BYTES);
        off_put_be16(ip + 2, (uint16_t)(ihl + l4_len));
        off_put_be16(ip + 4, s->ip_id);
        off_put_be16(ip + 6, IPV4_DF);
        ip[8] = s->ip_ttl ? s->ip_ttl : DEFAULT_TTL;
        ip[9] = s->l4_proto;
        memcpy(ip + 12, s->saddr, 4);
        memcpy(ip + 16, s->daddr, 4);
        if (s->ip_opts_len)
                memcpy(ip + OFF_IPV4_MIN_HLEN, s->ip_opts, s->ip_opts_len);
        off_csum_fill_ipv4_hdr(ip, ihl);
        return ihl;
}

static size_t put_ipv6(uint8_t *ip, const struct off_build_spec *s, size_t l4_len)
{
        memset(ip, 0, OFF_IPV6_HLEN);
        ip[0] = IPV6_VER_BYTE;
        off_put_be16(ip + 4, (uint16_t)(s->ext_len + l4_len));
        ip[6] = s->ext_len ? s->ext_first : s->l4_proto;
        ip[7] = s->ip_ttl ? s->ip_ttl : DEFAULT_TTL;
        memcpy(ip + 8, s->saddr, 16);
        memcpy(ip + 24, s->daddr, 16);
        if (s->ext_len)
                memcpy(ip + OFF_IPV6_HLEN, s->ext, s->ext_len);
        return OFF_IPV6_HLEN + s->ext_len;
}

static size_t put_l4(uint8_t *l4, const struct off_build_spec *s, size_t l4_len)
{
        off_put_be16(l4, s->sport);
        off_put_be16(l4 + 2, s->dport);
        if (s->l4_proto == IPPROTO_UDP) {
                off_put_be16(l4 + 4, (uint16_t)l4_len);
                off_put_be16(l4 + 6, 0);
                return OFF_UDP_HLEN;
        }
        size_t thl = OFF_TCP_MIN_HLEN + s->tcp_opts_len;
        memset(l4 + 4, 0, OFF_TCP_MIN_HLEN - 4);
        off_put_be32(l4 + 4, s->seq);
        off_put_be32(l4 + 8, s->ack);
        l4[12] = (uint8_t)((thl / WORD_BYTES) << 4);
        l4[13] = s->tcp_flags;
        off_put_be16(l4 + 14, s->tcp_window ? s->tcp_window : TCP_DEFAULT_WINDOW);
        if (s->tcp_opts_len)
                memcpy(l4 + OFF_TCP_MIN_HLEN, s->tcp_opts, s->tcp_opts_len);
        return thl;
}

static int spec_ok(const struct off_build_spec *s)
{
        if (s->ethertype != OFF_ETH_P_IPV4 && s->ethertype != OFF_ETH_P_IPV6)
                return 0;
        if (s->l4_proto != IPPROTO_TCP && s->l4_proto != IPPROTO_UDP)
                return 0;
        return s->ip_opts_len % WORD_BYTES == 0 && s->ip_opts_len <= IPV4_MAX_OPTS &&
               s->tcp_opts_len % WORD_BYTES == 0 && s->tcp_opts_len <= TCP_MAX_OPTS;
}

int off_build_packet(uint8_t *buf, size_t cap, const struct off_build_spec *s, size_t *len)
{
        if (!buf || !s || !len || !spec_ok(s))
                return -EINVAL;
        size_t l2 = OFF_ETH_HLEN + (s->vlan ? OFF_VLAN_HLEN : 0);
        size_t l3h = s->ethertype == OFF_ETH_P_IPV4 ? OFF_IPV4_MIN_HLEN + s->ip_opts_len
                                                     : OFF_IPV6_HLEN + s->ext_len;
        size_t l4h = s->l4_proto == IPPROTO_UDP ? OFF_UDP_HLEN : OFF_TCP_MIN_HLEN + s->tcp_opts_len;
        size_t total = l2 + l3h + l4h + s->payload_len;
        if (total > cap)
                return -ENOSPC;

        size_t l4_len = l4h + s->payload_len;
        size_t off = put_l2(buf, s);
        off += s->ethertype == OFF_ETH_P_IPV4 ? put_ipv4(buf + off, s, l4_len)
                                              : put_ipv6(buf + off, s, l4_len);
        off += put_l4(buf + off, s, l4_len);
        if (s->payload)
                memcpy(buf + off, s->payload, s->payload_len);
        else
                for (size_t i = 0; i < s->payload_len; i++)
                        buf[off + i] = off_build_pattern(s->seq, i);
        *len = total;
        return 0;
}
