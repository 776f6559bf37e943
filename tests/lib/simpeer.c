/* A scripted peer domain driven over two pipes (see simpeer.h). */
#include "simpeer.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

static int peer_run(void *arg)
{
        struct simpeer *p = arg;
        close(p->cmd[1]);
        close(p->rep[0]);
        return p->main(p, p->arg);
}

static void close_pair(int fd[2])
{
        for (int i = 0; i < 2; i++) {
                if (fd[i] > STDERR_FILENO)
                        close(fd[i]);
                fd[i] = -1;
        }
}

int simpeer_start(struct simpeer *p, struct simhost *h, uint16_t domid,
                  int (*main)(struct simpeer *p, void *arg), void *arg)
{
        *p = (struct simpeer){.cmd = {-1, -1}, .rep = {-1, -1}, .main = main, .arg = arg};
        if (pipe(p->cmd) < 0 || pipe(p->rep) < 0) {
                int rc = -errno;
                close_pair(p->cmd);
                close_pair(p->rep);
                return rc;
        }
        pid_t pid = simhost_spawn(h, domid, peer_run, p);
        close(p->cmd[0]);
        close(p->rep[1]);
        p->cmd[0] = p->rep[1] = -1;
        if (pid < 0) {
                simpeer_stop(p);
                return pid;
        }
        p->pid = pid;
        return 0;
}

bool simpeer_next(struct simpeer *p, void *cmd, size_t len)
{
        return read(p->cmd[0], cmd, len) == (ssize_t)len;
}

bool simpeer_reply(struct simpeer *p, const void *rep, size_t len)
{
        return write(p->rep[1], rep, len) == (ssize_t)len;
}

int simpeer_ask(struct simpeer *p, const void *cmd, size_t cmdlen, void *rep, size_t replen)
{
        struct pollfd pfd = {.fd = p->rep[0], .events = POLLIN};
        if (write(p->cmd[1], cmd, cmdlen) != (ssize_t)cmdlen)
                return -EIO;
        if (poll(&pfd, 1, 10000) != 1)
                return -ETIMEDOUT;
        return read(p->rep[0], rep, replen) == (ssize_t)replen ? 0 : -EIO;
}

void simpeer_stop(struct simpeer *p)
{
        close_pair(p->cmd);
        close_pair(p->rep);
        if (p->pid > 0)
                simhost_wait(p->pid, 5000);
        p->pid = 0;
}
