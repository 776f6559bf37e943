/* The benchmarks' frame injector (see nbinject.h). */
#include "nbinject.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

#define STALL_NS 20000000ull

int nbinj_open(struct nbinj *j, const char *ifname, uint32_t window)
{
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
        int one = 1;
        memset(j, 0, sizeof(*j));
        j->window = window;
        j->stalled_since = now_ns();
        j->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        sll.sll_ifindex = (int)if_nametoindex(ifname);
        if (j->fd < 0 || bind(j->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
            setsockopt(j->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
            setsockopt(j->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
                int rc = -errno;
                nbinj_close(j);
                return rc;
        }
        return 0;
}

void nbinj_set(struct nbinj *j, uint32_t i, const struct virtio_net_hdr *vh, const void *frame,
               size_t len)
{
        j->iov[i][0] = (struct iovec){(void *)vh, sizeof(*vh)};
        j->iov[i][1] = (struct iovec){(void *)frame, len};
        j->msgs[i].msg_hdr.msg_iov = j->iov[i];
        j->msgs[i].msg_hdr.msg_iovlen = 2;
}

bool nbinj_window_open(struct nbinj *j, uint64_t received)
{
        if (j->sent - j->lost - received + NBINJ_BATCH <= j->window)
                return true;
        uint64_t t = now_ns();
        if (received != j->seen)
                j->seen = received, j->stalled_since = t;
        else if (t - j->stalled_since > STALL_NS)
                j->lost = j->sent - received, j->stalled_since = t;
        sleep_us(20);
        return false;
}

int nbinj_send(struct nbinj *j)
{
        int n = sendmmsg(j->fd, j->msgs, NBINJ_BATCH, 0);
        if (n < 0 && errno != ENOBUFS && errno != EAGAIN)
                return -errno;
        j->sent += n > 0 ? (uint64_t)n : 0;
        return 0;
}

void nbinj_close(struct nbinj *j)
{
        if (j->fd >= 0)
                close(j->fd);
        j->fd = -1;
}
