/* Software Internet checksum: the public entry points over the bulk loops of
 * off_csum_impl.h (picked for this CPU at start-up), copy-and-checksum in one
 * pass, pseudo-headers and L4 fills. Not for hardware offload decisions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_csum_impl.h"

#define LO32         0xFFFFFFFFull
#define LO16         0xFFFFu
#define HALF_BITS    32
#define QUARTER_BITS 16
#define BYTE_BITS    8

#define TCP_CHECK_OFF  16
#define UDP_CHECK_OFF  6
#define IPV4_CHECK_OFF 10
#define IPV4_SADDR_OFF 12
#define IPV4_DADDR_OFF 16
#define IPV6_SADDR_OFF 8
#define IPV4_ADDR_LEN  4
#define IPV6_ADDR_LEN  16

uint64_t off_csum_add(uint64_t a, uint64_t b)
{
        uint64_t s = a + b;
        return s + (s < a);
}

uint16_t off_csum_fold(uint64_t sum)
{
        sum = (sum & LO32) + (sum >> HALF_BITS);
        sum = (sum & LO32) + (sum >> HALF_BITS);
        sum = (sum & LO16) + (sum >> QUARTER_BITS);
        sum = (sum & LO16) + (sum >> QUARTER_BITS);
        return (uint16_t)sum;
}

uint16_t off_csum_finish(uint64_t sum)
{
        return (uint16_t)~off_csum_fold(sum);
}

uint64_t off_csum_block_add(uint64_t sum, uint64_t block, size_t offset)
{
        if (offset & 1) {
                uint16_t f = off_csum_fold(block);
                block = (uint16_t)((f << BYTE_BITS) | (f >> BYTE_BITS));
        }
        return off_csum_add(sum, block);
}

/* Best last: the constructor takes the last one this CPU runs. */
static const struct off_csum_impl *const impls[] = {
    &off_csum_impl_portable,
#ifdef OFF_CSUM_HAVE_X86
    &off_csum_impl_sse2,
    &off_csum_impl_avx2,
    &off_csum_impl_avx512,
#endif
};

static const struct off_csum_impl *active = &off_csum_impl_portable;

/* Chosen once before main(), so worker threads only ever read the pointer.
 * PVBACK_CSUM_IMPL=<name> pins a variant this CPU runs (to test a fallback
 * end to end, e.g. against the kernel); an unknown name keeps the best. */
__attribute__((constructor)) static void select_best(void)
{
        const char *want = getenv("PVBACK_CSUM_IMPL");
        for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
                if (impls[i]->usable())
                        active = impls[i];
        for (size_t i = 0; want && i < sizeof(impls) / sizeof(impls[0]); i++)
                if (!strcmp(impls[i]->name, want) && impls[i]->usable())
                        active = impls[i];
}

const struct off_csum_impl *off_csum_impl_at(size_t idx)
{
        return idx < sizeof(impls) / sizeof(impls[0]) ? impls[idx] : NULL;
}

const struct off_csum_impl *off_csum_impl_active(void)
{
        return active;
}

int off_csum_impl_use(const struct off_csum_impl *impl)
{
        if (!impl || !impl->usable())
                return -ENOTSUP;
        active = impl;
        return 0;
}

/* Below this, a call through the table and a vector unit's start-up cost more
 * than the few words: headers and pseudo-header pieces stay inline. */
#define SHORT_MAX 64u

/* Blocks start at multiples of OFF_CSUM_IMPL_MAX (even), so their sums add
 * directly. */
uint64_t off_csum_partial(const void *buf, size_t len, uint64_t sum)
{
        const uint8_t *p = buf;
        if (len < SHORT_MAX)
                return off_csum_add(sum, off_csum_sum_short(p, len));
        while (len > OFF_CSUM_IMPL_MAX) {
                sum = off_csum_add(sum, active->sum(p, OFF_CSUM_IMPL_MAX));
                p += OFF_CSUM_IMPL_MAX;
                len -= OFF_CSUM_IMPL_MAX;
        }
        return off_csum_add(sum, active->sum(p, len));
}

uint64_t off_csum_copy(void *dst, const void *src, size_t len, uint64_t sum)
{
        uint8_t *d = dst;
        const uint8_t *s = src;
        if (len < SHORT_MAX) {
                memcpy(d, s, len);
                return off_csum_add(sum, off_csum_sum_short(s, len));
        }
        while (len > OFF_CSUM_IMPL_MAX) {
                sum = off_csum_add(sum, active->sum_copy(d, s, OFF_CSUM_IMPL_MAX));
                d += OFF_CSUM_IMPL_MAX;
                s += OFF_CSUM_IMPL_MAX;
                len -= OFF_CSUM_IMPL_MAX;
        }
        return off_csum_add(sum, active->sum_copy(d, s, len));
}

uint16_t off_csum_buf(const void *buf, size_t len)
{
        return off_csum_finish(off_csum_partial(buf, len, 0));
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'); avoids the -0 pitfall of eqn. 2. */
uint16_t off_csum_update16(uint16_t check, uint16_t old_word, uint16_t new_word)
{
        uint64_t s = (uint16_t)~check;
        s += (uint16_t)~old_word;
        s += new_word;
        return off_csum_finish(s);
}

uint16_t off_csum_update32(uint16_t check, uint32_t old_word, uint32_t new_word)
{
        uint64_t s = (uint16_t)~check;
        s += (uint32_t)~old_word;
        s += new_word;
        return off_csum_finish(s);
}

/* The pseudo-header's protocol and length words are added in stored byte
 * order, the representation every sum here uses. */
uint64_t off_csum_pseudo_ipv4(const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
                              uint32_t l4_len)
{
        uint64_t s = off_csum_partial(saddr, IPV4_ADDR_LEN, 0);
        s = off_csum_partial(daddr, IPV4_ADDR_LEN, s);
        s += htons(proto);
        s += htons((uint16_t)l4_len);
        return s;
}

uint64_t off_csum_pseudo_ipv6(const uint8_t *saddr, const uint8_t *daddr, uint8_t proto,
                              uint32_t l4_len)
{
        uint64_t s = off_csum_partial(saddr, IPV6_ADDR_LEN, 0);
        s = off_csum_partial(daddr, IPV6_ADDR_LEN, s);
        s += htonl(l4_len);
        s += htonl(proto);
        return s;
}

/* RFC 8200 §8.1: the IPv6 pseudo-header uses the final destination, which
 * the parser located (past a routing header with segments left if any). */
uint64_t off_csum_pseudo(const uint8_t *pkt, const struct off_pkt_info *pi, uint32_t l4_len)
{
        const uint8_t *ip = pkt + pi->l3_off;
        if (pi->ethertype == OFF_ETH_P_IPV4)
                return off_csum_pseudo_ipv4(ip + IPV4_SADDR_OFF, ip + IPV4_DADDR_OFF, pi->l4_proto,
                                            l4_len);
        return off_csum_pseudo_ipv6(ip + IPV6_SADDR_OFF, pkt + pi->ipv6_dst_off, pi->l4_proto,
                                    l4_len);
}

/* Linux skb_checksum_help() stores CSUM_MANGLED_0 for a zero result, which
 * is equivalent for TCP and required for UDP; we match it byte for byte. */
int off_csum_complete_partial(uint8_t *pkt, size_t len, size_t csum_start, size_t csum_offset)
{
        if (!pkt || csum_start > len || csum_offset > len - csum_start ||
            len - csum_start - csum_offset < sizeof(uint16_t))
                return -EINVAL;
        uint16_t c = off_csum_finish(off_csum_partial(pkt + csum_start, len - csum_start, 0));
        off_put_raw16(pkt + csum_start + csum_offset, c ? c : OFF_CSUM_UDP_MANGLED_0);
        return 0;
}

static int l4_check_off(const struct off_pkt_info *pi, size_t *off)
{
        if (!(pi->flags & OFF_PKT_L4))
                return -EINVAL;
        if (pi->l4_proto == IPPROTO_TCP)
                *off = pi->l4_off + (size_t)TCP_CHECK_OFF;
        else if (pi->l4_proto == IPPROTO_UDP)
                *off = pi->l4_off + (size_t)UDP_CHECK_OFF;
        else
                return -EPROTONOSUPPORT;
        return 0;
}

static int l4_span_ok(size_t len, const struct off_pkt_info *pi)
{
        return (size_t)pi->l4_off + pi->l4_len <= len;
}

int off_csum_seed_partial(uint8_t *pkt, size_t len, const struct off_pkt_info *pi)
{
        size_t off;
        int rc = l4_check_off(pi, &off);
        if (rc)
                return rc;
        if (!l4_span_ok(len, pi))
                return -EINVAL;
        off_put_raw16(pkt + off, off_csum_fold(off_csum_pseudo(pkt, pi, pi->l4_len)));
        return 0;
}

int off_csum_fill_l4(uint8_t *pkt, size_t len, const struct off_pkt_info *pi)
{
        size_t off;
        int rc = l4_check_off(pi, &off);
        if (rc)
                return rc;
        if (!l4_span_ok(len, pi))
                return -EINVAL;
        off_put_raw16(pkt + off, 0);
        uint64_t s =
            off_csum_partial(pkt + pi->l4_off, pi->l4_len, off_csum_pseudo(pkt, pi, pi->l4_len));
        uint16_t c = off_csum_finish(s);
        if (c == 0 && pi->l4_proto == IPPROTO_UDP)
                c = OFF_CSUM_UDP_MANGLED_0;
        off_put_raw16(pkt + off, c);
        return 0;
}

bool off_csum_l4_ok(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi)
{
        size_t off;
        if (l4_check_off(pi, &off) || !l4_span_ok(len, pi))
                return false;
        /* RFC 768: UDP over IPv4 may carry no checksum; IPv6 forbids it (RFC 8200 §8.1). */
        if (pi->l4_proto == IPPROTO_UDP && pi->ethertype == OFF_ETH_P_IPV4 &&
            off_get_raw16(pkt + off) == 0)
                return true;
        uint64_t s =
            off_csum_partial(pkt + pi->l4_off, pi->l4_len, off_csum_pseudo(pkt, pi, pi->l4_len));
        return off_csum_fold(s) == LO16;
}

void off_csum_fill_ipv4_hdr(uint8_t *iph, size_t ihl_bytes)
{
        off_put_raw16(iph + IPV4_CHECK_OFF, 0);
        off_put_raw16(iph + IPV4_CHECK_OFF, off_csum_buf(iph, ihl_bytes));
}
