/* Verified frame bursts through a guest's echo (see nbecho.h). */
#include "nbecho.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc.h"

int nbecho_open(const char *ifname)
{
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        if (fd < 0)
                return -errno;
        sll.sll_ifindex = (int)if_nametoindex(ifname);
        if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
                int rc = -errno;
                close(fd);
                return rc;
        }
        return fd;
}

/* Frames the echo sent back (not our own, which the socket sees too). */
static void collect(int fd, struct nf_verify *v, uint64_t *last)
{
        static uint8_t in[65536];
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t r;
        while ((r = recvfrom(fd, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >
               0) {
                if (from.sll_pkttype != PACKET_OUTGOING) {
                        nf_verify_frame(v, in, (size_t)r, false, false);
                        *last = now_ms();
                }
                fl = sizeof(from);
        }
}

static int send_window(int fd, const struct nbecho_pace *p, struct nf_gen *g,
                       struct nbecho_result *r)
{
        static uint8_t frame[2048];
        while (g->frames < p->frames && g->frames - r->back.frames < p->window) {
                struct nf_frame f;
                int rc = nf_gen_next(g, frame, sizeof(frame), &f);
                if (rc < 0)
                        return rc;
                if (send(fd, f.data, f.len, 0) != (ssize_t)f.len)
                        return errno ? -errno : -EIO;
                r->sent_bytes += f.len;
        }
        return 0;
}

int nbecho_run(int fd, const struct nbecho_flow *f, const struct nbecho_pace *p,
               struct nbecho_result *r)
{
        const uint8_t d = f->domid;
        struct nf_gen_cfg cfg = {.min_size = 60,
                                 .max_size = 1514,
                                 .flows = f->flows,
                                 .seed = f->seed,
                                 .src_mac = {0x02, 0, 0, 0, 0, 0x01},
                                 .dst_mac = {0x00, 0x16, 0x3e, 0, 0, d},
                                 .saddr = {10, d, 0, 1},
                                 .daddr = {10, d, 0, 2}};
        struct nf_gen g;
        uint64_t last = now_ms();

        memset(r, 0, sizeof(*r));
        r->back.seed = cfg.seed;
        r->error = nf_gen_init(&g, &cfg);
        if (r->error < 0)
                return r->error;
        while (!r->error && r->back.frames < p->frames) {
                r->error = send_window(fd, p, &g, r);
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                if (!r->error && poll(&pfd, 1, 20) <= 0) {
                        if (now_ms() - last >= (uint64_t)p->stall_ms)
                                r->error = -ETIMEDOUT;
                        continue;
                }
                collect(fd, &r->back, &last);
        }
        r->sent_frames = g.frames;
        r->sent_payload = g.payload_bytes;
        r->sent_digest = g.digest;
        nf_gen_free(&g);
        return r->error;
}

int nbecho_run_on(const char *ifname, const struct nbecho_flow *f, const struct nbecho_pace *p,
                  struct nbecho_result *r)
{
        int fd = nbecho_open(ifname);
        if (fd < 0) {
                memset(r, 0, sizeof(*r));
                return r->error = fd;
        }
        int rc = nbecho_run(fd, f, p, r);
        close(fd);
        return rc;
}
