/* Implementation of netdev_watch.h. */
#include "uplink/netdev_watch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for a burst of link messages (each is 1-2 KiB with its stats) before
 * the kernel overruns the socket; rmem_max caps it for the unprivileged. */
#define NETDEV_WATCH_RCVBUF (1 << 20)
#define NETDEV_WATCH_BUF    16384

int netdev_watch_open(void)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
        int sz = NETDEV_WATCH_RCVBUF;
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int rc = -errno;
                close(fd);
                return rc;
        }
        return fd;
}

unsigned netdev_watch_parse(const void *buf, size_t len, netdev_watch_cb cb, void *arg)
{
        unsigned n = 0;
        int left = len > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)len;
        for (const struct nlmsghdr *h = buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
                struct ifinfomsg ifi;
                if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
                        continue;
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifi)))
                        continue;
                memcpy(&ifi, NLMSG_DATA(h), sizeof(ifi));
                if (ifi.ifi_index <= 0)
                        continue;
                cb((unsigned)ifi.ifi_index, arg);
                n++;
        }
        return n;
}

int netdev_watch_drain(int fd, netdev_watch_cb cb, void *arg)
{
        /* nlmsghdr alignment for the walk. */
        static _Alignas(struct nlmsghdr) char buf[NETDEV_WATCH_BUF];
        for (;;) {
                struct sockaddr_nl from;
                socklen_t fromlen = sizeof(from);
                ssize_t r =
                    recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == ENOBUFS) {
                                cb(0, arg);
                                continue;
                        }
                        return -errno;
                }
                /* Only the kernel speaks on the link group (nl_pid 0). */
                if (fromlen < sizeof(from) || from.nl_pid != 0)
                        continue;
                /* A message larger than the buffer (a NIC with many VFs
                 * lists them all) lost its end: re-read everything. */
                if ((size_t)r > sizeof(buf))
                        cb(0, arg);
                else
                        netdev_watch_parse(buf, (size_t)r, cb, arg);
        }
}
