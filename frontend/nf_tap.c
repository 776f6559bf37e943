/* TAP side of pvback-netfront's tap mode (see nf_tap.h). virtio_net_hdr
 * semantics map one to one onto the netif flags: NEEDS_CSUM is csum_blank
 * (partial sum seeded with the pseudo-header, as Linux CHECKSUM_PARTIAL),
 * DATA_VALID is data_validated, GSO TCPV4/6 is the GSO extra. */
#include "nf_tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "offload/off_csum.h"
#include "offload/off_parse.h"

static int enter_netns(const char *netns, char *err, size_t errlen)
{
        char path[256];
        if (!netns)
                return 0;
        snprintf(path, sizeof(path), strchr(netns, '/') ? "%s" : "/run/netns/%s", netns);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
                int e = errno;
                snprintf(err, errlen, "entering network namespace %s: %s", path, strerror(e));
                if (fd >= 0)
                        close(fd);
                return -e;
        }
        close(fd);
        return 0;
}

static int create_tap(struct nf_tap *t, const char *name, const struct nf_negotiated *neg,
                      char *err, size_t errlen)
{
        struct ifreq ifr = {0};
        t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (t->fd < 0) {
                snprintf(err, errlen, "opening /dev/net/tun: %s", strerror(errno));
                return -errno;
        }
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
                snprintf(err, errlen, "creating TAP %s: %s", name, strerror(errno));
                return -errno;
        }
        snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
        /* What the kernel may hand us is what the ring can carry. */
        unsigned off = 0;
        if (neg->tx_csum)
                off |= TUN_F_CSUM;
        if (neg->tx_csum && neg->tx_gso_tcpv4)
                off |= TUN_F_TSO4;
        if (neg->tx_csum && neg->tx_gso_tcpv6)
                off |= TUN_F_TSO6;
        if (ioctl(t->fd, TUNSETOFFLOAD, off) < 0) {
                snprintf(err, errlen, "TUNSETOFFLOAD on %s: %s", t->ifname, strerror(errno));
                return -errno;
        }
        return 0;
}

static int set_ipv4(int s, struct ifreq *ifr, const char *cidr, char *err, size_t errlen)
{
        char addr[64];
        int prefix = 24;
        snprintf(addr, sizeof(addr), "%s", cidr);
        char *slash = strchr(addr, '/');
        if (slash) {
                *slash = '\0';
                prefix = atoi(slash + 1);
        }
        struct sockaddr_in *sin = (struct sockaddr_in *)&ifr->ifr_addr;
        sin->sin_family = AF_INET;
        if (prefix < 0 || prefix > 32 || inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
                snprintf(err, errlen, "bad IPv4 address '%s' (want A.B.C.D/N)", cidr);
                return -EINVAL;
        }
        if (ioctl(s, SIOCSIFADDR, ifr) < 0)
                goto fail;
        sin->sin_addr.s_addr = htonl(prefix ? ~0u << (32 - prefix) : 0);
        if (ioctl(s, SIOCSIFNETMASK, ifr) < 0)
                goto fail;
        return 0;
fail:
        snprintf(err, errlen, "setting %s on %s: %s", cidr, ifr->ifr_name, strerror(errno));
        return -errno;
}

static int configure(struct nf_tap *t, const struct nf_tap_cfg *cfg, char *err, size_t errlen)
{
        struct ifreq ifr = {0};
        int rc = 0;
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -errno;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        memcpy(ifr.ifr_hwaddr.sa_data, cfg->mac, 6);
        if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
                rc = -errno;
        ifr.ifr_mtu = (int)cfg->mtu;
        if (rc == 0 && cfg->mtu && ioctl(s, SIOCSIFMTU, &ifr) < 0)
                rc = -errno;
        if (rc < 0)
                snprintf(err, errlen, "setting mac/mtu of %s: %s", t->ifname, strerror(-rc));
        if (rc == 0 && cfg->ipv4)
                rc = set_ipv4(s, &ifr, cfg->ipv4, err, errlen);
        if (rc == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
                ifr.ifr_flags |= IFF_UP;
                if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
                        rc = -errno;
                        snprintf(err, errlen, "bringing %s up: %s", t->ifname, strerror(errno));
                }
        }
        close(s);
        return rc;
}

int nf_tap_open(struct nf_tap *t, const struct nf_tap_cfg *cfg, const struct nf_negotiated *neg,
                char *err, size_t errlen)
{
        t->fd = -1;
        int rc = enter_netns(cfg->netns, err, errlen);
        if (rc == 0)
                rc = create_tap(t, cfg->ifname ? cfg->ifname : "eth0", neg, err, errlen);
        if (rc == 0)
                rc = configure(t, cfg, err, errlen);
        if (rc < 0)
                nf_tap_close(t);
        return rc;
}

void nf_tap_close(struct nf_tap *t)
{
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
}

static int tap_read_into(struct nf_tap *t, uint8_t *buf, struct nf_frame *f)
{
        struct virtio_net_hdr h;
        ssize_t n = read(t->fd, buf, sizeof(t->rbuf[0]));
        if (n < 0)
                return -errno;
        if ((size_t)n < sizeof(h) + OFF_ETH_HLEN)
                return -EPROTO;
        memcpy(&h, buf, sizeof(h));
        memset(f, 0, sizeof(*f));
        f->data = buf + sizeof(h);
        f->len = (uint32_t)((size_t)n - sizeof(h));
        f->csum_blank = h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
        f->data_validated = h.flags & VIRTIO_NET_HDR_F_DATA_VALID;
        switch (h.gso_type) {
        case VIRTIO_NET_HDR_GSO_NONE:
                return 0;
        case VIRTIO_NET_HDR_GSO_TCPV4:
                f->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
                break;
        case VIRTIO_NET_HDR_GSO_TCPV6:
                f->gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
                break;
        default: /* ECN and UDP GSO were not offered (TUNSETOFFLOAD) */
                return -EPROTO;
        }
        f->gso_size = h.gso_size;
        return 0;
}

int nf_tap_read(struct nf_tap *t, struct nf_frame *f)
{
        int rc = tap_read_into(t, t->rbuf[t->rnext], f);
        /* Only a frame handed out takes a turn: a refused one's buffer is
         * read into again, never the one the caller may still hold. */
        if (rc == 0)
                t->rnext ^= 1;
        return rc;
}

int nf_tap_write(struct nf_tap *t, const struct nf_rx_frame *f)
{
        struct virtio_net_hdr h = {0};
        struct off_pkt_info pi;
        const uint8_t *data = f->data;
        bool gso = f->gso_type != XEN_NETIF_GSO_TYPE_NONE;
        bool partial = f->csum_blank;
        if (f->len > sizeof(t->wbuf))
                return -EMSGSIZE;
        if ((partial || gso) && off_parse(f->data, f->len, gso ? OFF_PARSE_GSO : 0, &pi) == 0 &&
            (pi.flags & OFF_PKT_L4)) {
                if (gso && !partial) {
                        /* Linux netfront checksum_setup: a GSO frame must be
                         * partial; some backends forget the flag. */
                        memcpy(t->wbuf, f->data, f->len);
                        off_csum_seed_partial(t->wbuf, f->len, &pi);
                        data = t->wbuf;
                        partial = true;
                }
                h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
                h.csum_start = pi.l4_off;
                h.csum_offset = pi.l4_proto == IPPROTO_TCP ? 16 : 6;
                if (gso) {
                        h.gso_type = f->gso_type == XEN_NETIF_GSO_TYPE_TCPV6
                                         ? VIRTIO_NET_HDR_GSO_TCPV6
                                         : VIRTIO_NET_HDR_GSO_TCPV4;
                        h.gso_size = f->gso_size;
                        h.hdr_len = (uint16_t)(pi.l4_off + pi.l4_hdr_len);
                }
        } else if (f->data_validated) {
                h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
        }
        struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)data, f->len}};
        ssize_t n = writev(t->fd, iov, 2);
        if (n < 0)
                return -errno;
        return 0;
}
