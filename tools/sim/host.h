/* The simulated host daemon: owns the state directory, the event loop, the
 * xenstored, the event-channel broker and the set of domains, and serves the
 * control socket that `pvback-sim domain …` and `stop` talk to. */
#ifndef PVBACK_SIM_HOST_H
#define PVBACK_SIM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Runs the host under dir until stopped (ctl "stop", SIGTERM or SIGINT).
 * ready_fd >= 0 gets one byte once every socket exists ('0' ok, '1' failed
 * with the reason already logged), then is closed. Returns a process exit code. */
int sim_host_run(const char *dir, int ready_fd);

/* Client side of the control socket: sends one command line and copies the
 * reply (without the final status line) to out. Returns 0 if the daemon said
 * "ok", -EREMOTEIO with its message in err if it refused, -errno if it could not
 * be reached. */
int sim_ctl_call(const char *dir, const char *cmd, char *out, size_t outlen, char *err,
                 size_t errlen);

/* Pid of the daemon running under dir, or -1 if none answers. */
long sim_host_pid(const char *dir);

#endif
