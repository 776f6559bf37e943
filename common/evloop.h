/* A small epoll loop with per-fd callbacks, for control-plane code (the
 * simulator's daemons, pvbackd's control thread). Not for the data path:
 * workers run their own loops over the queues they own. */
#ifndef PVBACK_EVLOOP_H
#define PVBACK_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct ev_loop;
typedef void (*ev_cb)(struct ev_loop *loop, int fd, uint32_t events, void *arg);

int ev_loop_create(struct ev_loop **out);
/* Closes nothing: the owners of registered fds close them. */
void ev_loop_destroy(struct ev_loop *loop);
/* events: EPOLLIN/EPOLLOUT/...; the callback receives what epoll reported. */
int ev_add(struct ev_loop *loop, int fd, uint32_t events, ev_cb cb, void *arg);
int ev_mod(struct ev_loop *loop, int fd, uint32_t events);
/* Safe from inside any callback, including the fd's own. */
int ev_del(struct ev_loop *loop, int fd);
/* One epoll_wait (timeout_ms as epoll) and its dispatch. Returns events handled or -errno. */
int ev_run_once(struct ev_loop *loop, int timeout_ms);
/* Runs until ev_stop(); returns 0 or -errno. */
int ev_run(struct ev_loop *loop);
void ev_stop(struct ev_loop *loop);
bool ev_stopped(const struct ev_loop *loop);

#endif
