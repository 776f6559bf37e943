/* A scripted peer domain for tests of the hypervisor seam: a child of the
 * test acting as another domain (simhost_spawn) that takes fixed-size
 * commands over one pipe and answers each over another, so one test drives
 * both ends of an event channel or a grant. Not for running shipped
 * binaries as a domain (simhost_spawn_exec). */
#ifndef PVBACK_TEST_SIMPEER_H
#define PVBACK_TEST_SIMPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "simhost.h"

struct simpeer {
        int cmd[2], rep[2];
        pid_t pid; /* 0: not running */
        int (*main)(struct simpeer *p, void *arg);
        void *arg;
};

/* Forks the peer as domid; in it, main(p, arg) runs with only its ends of
 * the pipes open and its value is the exit status. Returns 0 or -errno. */
int simpeer_start(struct simpeer *p, struct simhost *h, uint16_t domid,
                  int (*main)(struct simpeer *p, void *arg), void *arg);
/* In the peer: the next command (false at end of file or on a short read). */
bool simpeer_next(struct simpeer *p, void *cmd, size_t len);
/* In the peer: the answer to it (false if the test is gone). */
bool simpeer_reply(struct simpeer *p, const void *rep, size_t len);
/* In the test: sends a command and waits up to 10 s for its answer.
 * Returns 0, or -EIO / -ETIMEDOUT. */
int simpeer_ask(struct simpeer *p, const void *cmd, size_t cmdlen, void *rep, size_t replen);
/* Closes the test's ends (end of file: the peer's loop ends) and waits up
 * to 5 s for it. Idempotent. */
void simpeer_stop(struct simpeer *p);

#endif
