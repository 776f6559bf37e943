/* The client end of pvbackd's control socket (common/ctl_proto.h): one
 * request, the whole answer, a deadline over both. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "inspect.h"

/* Far above any real answer (a few KiB per device), low enough that a
 * wrong socket cannot make us eat memory. */
#define INSPECT_ANSWER_MAX (64u << 20)

volatile sig_atomic_t inspect_interrupted;

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_for(int fd, short events, int64_t deadline)
{
        for (;;) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = {.fd = fd, .events = events};
                int n = poll(&p, 1, (int)left);
                if (n > 0)
                        return 0;
                if (n < 0 && (errno != EINTR || inspect_interrupted))
                        return -errno;
        }
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
        while (len) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                        buf += n;
                        len -= (size_t)n;
                        continue;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                int rc = wait_for(fd, POLLOUT, deadline);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

static int read_all(int fd, int64_t deadline, char **answer)
{
        size_t cap = 16384, len = 0;
        char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len + 1 == cap) {
                        char *bigger = cap < INSPECT_ANSWER_MAX ? realloc(buf, cap * 2) : NULL;
                        if (!bigger) {
                                free(buf);
                                return -EPROTO;
                        }
                        buf = bigger;
                        cap *= 2;
                }
                ssize_t n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
                if (n > 0) {
                        len += (size_t)n;
                        continue;
                }
                /* The daemon closes after its answer; a reset after the
                 * whole line is the same end. */
                if (n == 0 || (n < 0 && errno == ECONNRESET && len && buf[len - 1] == '\n'))
                        break;
                int rc = n < 0 && errno != EAGAIN && errno != EINTR
                             ? -errno
                             : wait_for(fd, POLLIN, deadline);
                if (rc < 0) {
                        free(buf);
                        return rc == -ECONNRESET ? -EPROTO : rc;
                }
        }
        buf[len] = '\0';
        if (!len || buf[len - 1] != '\n') {
                free(buf);
                return -EPROTO;
        }
        *answer = buf;
        return 0;
}

int inspect_ask(const char *path, const char *request, int timeout_ms, char **answer)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int64_t deadline = now_ms() + timeout_ms;
        char line[512];
        int fd, rc;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        size_t n = (size_t)snprintf(line, sizeof(line), "%s\n", request);
        if (n >= sizeof(line))
                return -EINVAL;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* A Unix connect is queued at once, or refused when nobody listens;
         * it waits only while the daemon's backlog is full, and no longer
         * than the send timeout (then EAGAIN). */
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                rc = -errno;
                close(fd);
                return rc == -EAGAIN ? -ETIMEDOUT : rc;
        }
        rc = send_all(fd, line, n, deadline);
        /* A daemon that already answered (an error) and closed resets a
         * late send: its answer is still there to read. */
        if (rc == 0 || rc == -EPIPE || rc == -ECONNRESET)
                rc = read_all(fd, deadline, answer);
        close(fd);
        return rc;
}
