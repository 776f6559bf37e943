/* pvback-demo's TCP transfer: a sender streaming a generated payload and a
 * receiver digesting what arrives, so the demo proves bytes crossed the
 * guest's netfront, pvbackd and the host's stack intact. */
#include "demo_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "demo_ring.h"

#define CHUNK (256 * 1024)

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The same xorshift stream the ring demo uses, 8 bytes at a time. */
static void fill(uint64_t *state, unsigned char *buf, size_t len)
{
        for (size_t i = 0; i < len; i += 8) {
                uint64_t x = *state;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *state = x;
                memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
        }
}

/* The sender digests 8-byte words of the stream; recv() splits it anywhere,
 * so a partial word is carried to the next call. */
struct stream_digest {
        uint64_t h;
        unsigned char carry[8];
        size_t ncarry;
};

static void stream_digest_add(struct stream_digest *sd, const unsigned char *p, size_t n)
{
        while (n) {
                if (sd->ncarry || n < 8) {
                        size_t take = 8 - sd->ncarry < n ? 8 - sd->ncarry : n;
                        memcpy(sd->carry + sd->ncarry, p, take);
                        sd->ncarry += take;
                        p += take;
                        n -= take;
                        if (sd->ncarry == 8) {
                                sd->h = demo_digest(sd->h, sd->carry, 8);
                                sd->ncarry = 0;
                        }
                        continue;
                }
                size_t whole = n & ~(size_t)7;
                sd->h = demo_digest(sd->h, p, (uint32_t)whole);
                p += whole;
                n -= whole;
        }
}

static uint64_t stream_digest_end(struct stream_digest *sd)
{
        return sd->ncarry ? demo_digest(sd->h, sd->carry, (uint32_t)sd->ncarry) : sd->h;
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
        char host[64];
        const char *colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host))
                return -EINVAL;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        memset(sa, 0, sizeof(*sa));
        sa->sin_family = AF_INET;
        sa->sin_port = htons((uint16_t)atoi(colon + 1));
        return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

int demo_tcp_send(const char *to, uint64_t total)
{
        struct sockaddr_in sa;
        unsigned char *buf = malloc(CHUNK);
        uint64_t prng = 0x9e3779b97f4a7c15ULL, digest = DEMO_DIGEST_INIT, sent = 0;
        int fd = -1, rc = 1;

        if (!buf || parse_addr(to, &sa) < 0) {
                fprintf(stderr, "tcp-send: bad address '%s' (want A.B.C.D:PORT)\n", to);
                goto out;
        }
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        /* The receiver may still be starting: retry for a few seconds. */
        for (int i = 0; i < 100; i++) {
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        break;
                if (i == 99) {
                        fprintf(stderr, "tcp-send: connect %s: %s\n", to, strerror(errno));
                        goto out;
                }
                close(fd);
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                usleep(50000);
        }
        double t0 = now_s();
        while (sent < total) {
                size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
                fill(&prng, buf, n);
                digest = demo_digest(digest, buf, (uint32_t)n);
                for (size_t off = 0; off < n;) {
                        ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0) {
                                fprintf(stderr, "tcp-send: %s\n", strerror(errno));
                                goto out;
                        }
                        off += (size_t)w;
                }
                sent += n;
        }
        shutdown(fd, SHUT_WR);
        char ack;
        if (recv(fd, &ack, 1, 0) < 0)
                fprintf(stderr, "tcp-send: waiting for the receiver: %s\n", strerror(errno));
        double dt = now_s() - t0;
        printf("tcp-send: %" PRIu64 " bytes in %.2f s (%.0f Mbit/s), digest %016" PRIx64 "\n",
               sent, dt, sent * 8 / dt / 1e6, digest);
        rc = 0;
out:
        if (fd >= 0)
                close(fd);
        free(buf);
        return rc;
}

/* The sender's payload is deterministic: the receiver regenerates it to
 * know what it should have got. */
static uint64_t expected_digest(uint64_t total, unsigned char *scratch)
{
        uint64_t prng = 0x9e3779b97f4a7c15ULL, digest = DEMO_DIGEST_INIT;
        for (uint64_t done = 0; done < total;) {
                size_t n = total - done < CHUNK ? (size_t)(total - done) : CHUNK;
                fill(&prng, scratch, n);
                digest = demo_digest(digest, scratch, (uint32_t)n);
                done += n;
        }
        return digest;
}

int demo_tcp_recv(const char *listen_on, uint64_t expect, const char *expect_digest)
{
        struct sockaddr_in sa;
        unsigned char *buf = malloc(CHUNK);
        struct stream_digest sd = {.h = DEMO_DIGEST_INIT};
        uint64_t digest, got = 0;
        int lfd = -1, fd = -1, one = 1, rc = 1;

        if (!buf || parse_addr(listen_on, &sa) < 0) {
                fprintf(stderr, "tcp-recv: bad address '%s' (want A.B.C.D:PORT)\n", listen_on);
                goto out;
        }
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
            (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
                fprintf(stderr, "tcp-recv: %s: %s\n", listen_on, strerror(errno));
                goto out;
        }
        for (;;) {
                ssize_t r = recv(fd, buf, CHUNK, 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        fprintf(stderr, "tcp-recv: %s\n", strerror(errno));
                        goto out;
                }
                if (r == 0)
                        break;
                got += (uint64_t)r;
                stream_digest_add(&sd, buf, (size_t)r);
        }
        digest = stream_digest_end(&sd);
        send(fd, "k", 1, MSG_NOSIGNAL);
        uint64_t want = expect_digest ? strtoull(expect_digest, NULL, 16)
                                      : expected_digest(expect, buf);
        bool check = expect_digest || expect;
        rc = (expect && got != expect) || (check && want != digest);
        printf("tcp-recv: %" PRIu64 " bytes, digest %016" PRIx64 "%s\n", got, digest,
               !check ? "" : rc ? " MISMATCH" : ": verified against the generated payload");
out:
        if (fd >= 0)
                close(fd);
        if (lfd >= 0)
                close(lfd);
        free(buf);
        return rc;
}
