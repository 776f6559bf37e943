/* Implementation of evloop.h. Entries removed during a dispatch pass are only
 * unlinked then and freed after the pass, so a callback may remove any fd
 * (another entry of the same epoll batch included) without use-after-free. */
#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct ev_entry {
        int fd;
        bool dead;
        ev_cb cb;
        void *arg;
        struct ev_entry *next; /* all live entries, or the graveyard */
};

struct ev_loop {
        int epfd;
        bool stop;
        struct ev_entry *entries;
        struct ev_entry *graveyard;
};

int ev_loop_create(struct ev_loop **out)
{
        struct ev_loop *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0) {
                int rc = -errno;
                free(l);
                return rc;
        }
        *out = l;
        return 0;
}

static void free_list(struct ev_entry *e)
{
        while (e) {
                struct ev_entry *n = e->next;
                free(e);
                e = n;
        }
}

void ev_loop_destroy(struct ev_loop *loop)
{
        if (!loop)
                return;
        close(loop->epfd);
        free_list(loop->entries);
        free_list(loop->graveyard);
        free(loop);
}

static struct ev_entry *find_entry(struct ev_loop *l, int fd, struct ev_entry ***link)
{
        for (struct ev_entry **pp = &l->entries; *pp; pp = &(*pp)->next) {
                if ((*pp)->fd == fd) {
                        if (link)
                                *link = pp;
                        return *pp;
                }
        }
        return NULL;
}

int ev_add(struct ev_loop *loop, int fd, uint32_t events, ev_cb cb, void *arg)
{
        struct ev_entry *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->fd = fd;
        e->cb = cb;
        e->arg = arg;
        struct epoll_event ev = {.events = events, .data.ptr = e};
        if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int rc = -errno;
                free(e);
                return rc;
        }
        e->next = loop->entries;
        loop->entries = e;
        return 0;
}

int ev_mod(struct ev_loop *loop, int fd, uint32_t events)
{
        struct ev_entry *e = find_entry(loop, fd, NULL);
        if (!e)
                return -ENOENT;
        struct epoll_event ev = {.events = events, .data.ptr = e};
        return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int ev_del(struct ev_loop *loop, int fd)
{
        struct ev_entry **link = NULL;
        struct ev_entry *e = find_entry(loop, fd, &link);
        if (!e)
                return -ENOENT;
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
        *link = e->next;
        e->dead = true;
        e->next = loop->graveyard;
        loop->graveyard = e;
        return 0;
}

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
        struct epoll_event evs[64];
        int n = epoll_wait(loop->epfd, evs, 64, timeout_ms);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                struct ev_entry *e = evs[i].data.ptr;
                if (!e->dead)
                        e->cb(loop, e->fd, evs[i].events, e->arg);
        }
        free_list(loop->graveyard);
        loop->graveyard = NULL;
        return n;
}

int ev_run(struct ev_loop *loop)
{
        while (!loop->stop) {
                int rc = ev_run_once(loop, -1);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

void ev_stop(struct ev_loop *loop)
{
        loop->stop = true;
}

bool ev_stopped(const struct ev_loop *loop)
{
        return loop->stop;
}
