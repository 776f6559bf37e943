/* A kernel world in a forked child reporting over a pipe (see kworld.h). */
#include "kworld.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_NO_NETNS 2

static int report_fd = -1;

void kw_report(uint32_t tag, uint32_t aux, const void *p, uint32_t len)
{
        struct kw_record h = {.tag = tag, .aux = aux, .len = len};
        if (write(report_fd, &h, sizeof(h)) != sizeof(h) ||
            write(report_fd, p, len) != (ssize_t)len)
                _exit(3);
}

void kw_fail(uint32_t tag, const char *fmt, ...)
{
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (n < 0)
                n = 0;
        if (n >= (int)sizeof(msg))
                n = (int)sizeof(msg) - 1;
        kw_report(tag, 0, msg, (uint32_t)n);
        _exit(1);
}

void kw_sh(const char *cmd)
{
        if (system(cmd) != 0)
                kw_fail(KW_TAG_ERROR, "command failed: %s", cmd);
}

void kw_ethtool_set(uint32_t fail_tag, const char *dev, uint32_t cmd, uint32_t val)
{
        struct ethtool_value ev = {.cmd = cmd, .data = val};
        struct ifreq ifr = {0};
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
        ifr.ifr_data = (void *)&ev;
        if (s < 0 || ioctl(s, SIOCETHTOOL, &ifr) < 0)
                kw_fail(fail_tag, "ethtool %s cmd %#x: %s", dev, cmd, strerror(errno));
        close(s);
}

int kw_packet_socket(const char *dev)
{
        int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
        sll.sll_ifindex = (int)if_nametoindex(dev);
        if (s < 0 || !sll.sll_ifindex || bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0)
                kw_fail(KW_TAG_ERROR, "AF_PACKET on %s: %s", dev, strerror(errno));
        return s;
}

static int read_full(int fd, void *p, size_t n)
{
        uint8_t *b = p;
        while (n) {
                ssize_t r = read(fd, b, n);
                if (r <= 0)
                        return -1;
                b += r;
                n -= (size_t)r;
        }
        return 0;
}

/* A record for the run itself (error or skip), or the test's to take. */
static void dispatch(struct kw_run *r, const struct kw_record *h, uint8_t *data, bool *skip)
{
        if (h->tag == KW_TAG_ERROR || h->tag == KW_TAG_SKIP) {
                snprintf(r->error, sizeof(r->error), "%.*s", (int)h->len, (char *)data);
                *skip = h->tag == KW_TAG_SKIP;
                free(data);
                return;
        }
        r->take(r->ctx, h, data);
}

int kw_run(struct kw_run *r)
{
        int p[2];
        bool skip = false;
        r->error[0] = '\0';
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[0]);
                report_fd = p[1];
                if (unshare(r->unshare_flags) < 0)
                        _exit(EXIT_NO_NETNS);
                r->world();
                _exit(0);
        }
        close(p[1]);
        struct kw_record h;
        while (read_full(p[0], &h, sizeof(h)) == 0) {
                uint8_t *data = malloc(h.len + 1u);
                ck_assert_ptr_nonnull(data);
                ck_assert_int_eq(read_full(p[0], data, h.len), 0);
                data[h.len] = 0;
                dispatch(r, &h, data, &skip);
        }
        close(p[0]);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_NO_NETNS) {
                snprintf(r->error, sizeof(r->error), "cannot create a network namespace");
                return -1;
        }
        if (skip)
                return -1;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                if (!r->error[0])
                        snprintf(r->error, sizeof(r->error), "child status %#x", st);
                return 1;
        }
        return 0;
}
