/* The host's control socket: one text command per connection, answered with
 * zero or more lines and a final "ok" or "error: <reason>" line. Both the
 * daemon side and the client side (sim_ctl_call) live here so the protocol is
 * in one place. */
#include "host.h"
#include "host_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sim_paths.h"

#define CTL_LINE_MAX  256
#define CTL_REPLY_MAX 65536

struct ctl_conn {
        struct sim_host *host;
        int fd;
        size_t len;
        char buf[CTL_LINE_MAX];
};

static int ctl_addr(const char *dir, struct sockaddr_un *sa)
{
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        return sim_path_host(sa->sun_path, sizeof(sa->sun_path), dir, SIM_CTL_SOCK);
}

static int parse_domid(const char *s, uint16_t *out)
{
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v >= SIM_MAX_DOMID)
                return -EINVAL;
        *out = (uint16_t)v;
        return 0;
}

/* Appends the domain list to reply. */
static void list_domains(struct sim_host *h, char *reply, size_t len)
{
        size_t off = strlen(reply);
        for (unsigned d = 0; d < SIM_MAX_DOMID && off < len; d++) {
                if (!sim_host_has_domain(h, (uint16_t)d))
                        continue;
                int n = snprintf(reply + off, len - off, "%u\n", d);
                if (n < 0)
                        break;
                off += (size_t)n;
        }
}

/* Executes one command; the reply ends with the status line. */
static void ctl_execute(struct sim_host *h, char *line, char *reply, size_t len)
{
        char err[256] = "";
        char *save = NULL;
        char *verb = strtok_r(line, " \t", &save);
        char *what = verb ? strtok_r(NULL, " \t", &save) : NULL;
        char *arg = what ? strtok_r(NULL, " \t", &save) : NULL;
        uint16_t domid;
        int rc = 0;

        reply[0] = '\0';
        if (!verb) {
                snprintf(err, sizeof(err), "empty command");
                rc = -EINVAL;
        } else if (strcmp(verb, "ping") == 0) {
                snprintf(reply, len, "%ld\n", (long)getpid());
        } else if (strcmp(verb, "stop") == 0) {
                ev_stop(h->loop);
        } else if (strcmp(verb, "domain") == 0 && what && strcmp(what, "list") == 0) {
                list_domains(h, reply, len);
        } else if (strcmp(verb, "domain") == 0 && what && arg &&
                   (strcmp(what, "create") == 0 || strcmp(what, "destroy") == 0)) {
                if (parse_domid(arg, &domid) < 0) {
                        snprintf(err, sizeof(err), "invalid domid '%s'", arg);
                        rc = -EINVAL;
                } else if (what[1] == 'r') {
                        rc = sim_host_domain_create(h, domid, err, sizeof(err));
                } else {
                        rc = sim_host_domain_destroy(h, domid, err, sizeof(err));
                }
        } else {
                snprintf(err, sizeof(err), "unknown command '%s'", verb);
                rc = -EINVAL;
        }
        size_t off = strlen(reply);
        if (rc < 0)
                snprintf(reply + off, len - off, "error: %s\n", err);
        else
                snprintf(reply + off, len - off, "ok\n");
}

static void conn_close(struct ev_loop *loop, struct ctl_conn *c)
{
        ev_del(loop, c->fd);
        close(c->fd);
        free(c);
}

static void on_conn(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct ctl_conn *c = arg;
        ssize_t n = recv(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                conn_close(loop, c);
                return;
        }
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
        char *nl = strchr(c->buf, '\n');
        if (!nl && c->len < sizeof(c->buf) - 1)
                return;
        if (nl)
                *nl = '\0';
        char *reply = malloc(CTL_REPLY_MAX);
        if (reply) {
                if (!nl)
                        snprintf(reply, CTL_REPLY_MAX, "error: command too long\n");
                else
                        ctl_execute(c->host, c->buf, reply, CTL_REPLY_MAX);
                /* The client waits for the reply; a bounded send timeout keeps a
                 * client that stopped reading from stalling the host. */
                size_t off = 0, total = strlen(reply);
                while (off < total) {
                        ssize_t w = send(fd, reply + off, total - off, MSG_NOSIGNAL);
                        if (w <= 0)
                                break;
                        off += (size_t)w;
                }
                free(reply);
        }
        conn_close(loop, c);
}

static void on_accept(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct sim_host *h = arg;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0)
                return;
        struct timeval tv = {.tv_sec = 1};
        setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        struct ctl_conn *c = calloc(1, sizeof(*c));
        if (!c || ev_add(loop, cfd, EPOLLIN, on_conn, c) < 0) {
                free(c);
                close(cfd);
                return;
        }
        c->host = h;
        c->fd = cfd;
}

int sim_host_ctl_listen(struct sim_host *h)
{
        struct sockaddr_un sa;
        int rc = ctl_addr(h->dir, &sa);
        if (rc < 0)
                return rc;
        unlink(sa.sun_path);
        h->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (h->ctl_fd < 0)
                return -errno;
        if (bind(h->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(h->ctl_fd, 16) < 0) {
                rc = -errno;
                pv_err("sim", "cannot listen on %s: %s", sa.sun_path, strerror(errno));
                return rc;
        }
        return ev_add(h->loop, h->ctl_fd, EPOLLIN, on_accept, h);
}

void sim_host_ctl_close(struct sim_host *h)
{
        struct sockaddr_un sa;
        if (h->ctl_fd < 0)
                return;
        ev_del(h->loop, h->ctl_fd);
        close(h->ctl_fd);
        h->ctl_fd = -1;
        if (ctl_addr(h->dir, &sa) == 0)
                unlink(sa.sun_path);
}

static const char *const stale_dom_files[] = {SIM_XS_SOCK, SIM_EVTCHN_SOCK, SIM_GNTTAB_FILE,
                                              SIM_MEM_FILE};

/* Only names this host creates are removed: anything else in the directory
 * belongs to someone else and is left (and reported). */
int sim_host_clear_stale(struct sim_host *h)
{
        DIR *d = opendir(h->dir);
        struct dirent *de;
        char path[PATH_MAX];
        unsigned domid;
        char tail;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (sscanf(de->d_name, "dom%u%c", &domid, &tail) != 1 || domid >= SIM_MAX_DOMID)
                        continue;
                for (size_t i = 0; i < sizeof(stale_dom_files) / sizeof(stale_dom_files[0]); i++)
                        if (sim_path_dom(path, sizeof(path), h->dir, (uint16_t)domid,
                                         stale_dom_files[i]) == 0)
                                unlink(path);
                if (sim_path_dom(path, sizeof(path), h->dir, (uint16_t)domid, NULL) == 0 &&
                    rmdir(path) < 0)
                        pv_warn("sim", "leftover %s is not empty; leaving it", path);
        }
        closedir(d);
        if (sim_path_host(path, sizeof(path), h->dir, SIM_CTL_SOCK) == 0)
                unlink(path);
        if (sim_path_host(path, sizeof(path), h->dir, SIM_PID_FILE) == 0)
                unlink(path);
        return 0;
}

static int read_reply(int fd, char *buf, size_t len)
{
        size_t off = 0;
        while (off < len - 1) {
                ssize_t n = recv(fd, buf + off, len - 1 - off, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                off += (size_t)n;
        }
        buf[off] = '\0';
        return 0;
}

/* Splits the final status line off the reply. */
static int split_status(char *reply, char *out, size_t outlen, char *err, size_t errlen)
{
        size_t len = strlen(reply);
        if (len == 0 || reply[len - 1] != '\n') {
                snprintf(err, errlen, "the simulated host closed the connection without an answer");
                return -EPROTO;
        }
        reply[len - 1] = '\0';
        char *last = strrchr(reply, '\n');
        char *status = last ? last + 1 : reply;
        int rc = 0;
        if (strncmp(status, "error: ", 7) == 0) {
                snprintf(err, errlen, "%s", status + 7);
                rc = -EREMOTEIO;
        } else if (strcmp(status, "ok") != 0) {
                snprintf(err, errlen, "unexpected answer from the simulated host: %s", status);
                rc = -EPROTO;
        }
        if (last)
                last[1] = '\0';
        else
                reply[0] = '\0';
        if (out && outlen)
                snprintf(out, outlen, "%s", reply);
        return rc;
}

int sim_ctl_call(const char *dir, const char *cmd, char *out, size_t outlen, char *err,
                 size_t errlen)
{
        struct sockaddr_un sa;
        char *reply;
        int rc = ctl_addr(dir, &sa);
        if (rc < 0) {
                snprintf(err, errlen, "state directory path too long: %s", dir);
                return rc;
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct timeval tv = {.tv_sec = 30};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                rc = -errno;
                snprintf(err, errlen, "no simulated host is running in %s (%s); start one with "
                                      "'pvback-sim start --dir %s'",
                         dir, strerror(errno), dir);
                close(fd);
                return rc;
        }
        size_t clen = strlen(cmd);
        if (send(fd, cmd, clen, MSG_NOSIGNAL) != (ssize_t)clen ||
            send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
                rc = -errno;
                snprintf(err, errlen, "cannot send to the simulated host: %s", strerror(errno));
                close(fd);
                return rc;
        }
        reply = malloc(CTL_REPLY_MAX);
        if (!reply) {
                close(fd);
                return -ENOMEM;
        }
        rc = read_reply(fd, reply, CTL_REPLY_MAX);
        close(fd);
        if (rc == 0)
                rc = split_status(reply, out, outlen, err, errlen);
        else
                snprintf(err, errlen, "no answer from the simulated host: %s", strerror(-rc));
        free(reply);
        return rc;
}

long sim_host_pid(const char *dir)
{
        char out[64], err[256];
        if (sim_ctl_call(dir, "ping", out, sizeof(out), err, sizeof(err)) < 0)
                return -1;
        long pid = strtol(out, NULL, 10);
        return pid > 0 ? pid : -1;
}
