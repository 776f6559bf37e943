/* Change notifications for netdevs: an rtnetlink socket on the RTMGRP_LINK
 * group. The kernel sends RTM_NEWLINK for a feature change (NETDEV_FEAT_CHANGE,
 * what `ethtool -K` causes) as for carrier, flags, MTU or a rename, without
 * saying which: a listener re-reads whatever it cares about for that ifindex.
 * Not an event loop: the owner polls the fd and calls netdev_watch_drain. */
#ifndef PVBACK_NETDEV_WATCH_H
#define PVBACK_NETDEV_WATCH_H

#include <stddef.h>

/* Called per link message with the netdev's ifindex, or with 0 when the
 * kernel dropped messages (socket overrun): then re-read every netdev. */
typedef void (*netdev_watch_cb)(unsigned ifindex, void *arg);

/* A non-blocking NETLINK_ROUTE socket subscribed to RTMGRP_LINK in the
 * caller's network namespace: the fd, or -errno. The caller closes it. */
int netdev_watch_open(void);
/* Reads every pending message and reports each link change. 0 or -errno
 * (an overrun is reported through the callback, not as an error). */
int netdev_watch_drain(int fd, netdev_watch_cb cb, void *arg);
/* The pure part: reports the RTM_NEWLINK/RTM_DELLINK messages among the
 * @len bytes at @buf (one datagram from the socket); malformed trailing
 * bytes end the walk. Returns the messages reported. */
unsigned netdev_watch_parse(const void *buf, size_t len, netdev_watch_cb cb, void *arg);

#endif
