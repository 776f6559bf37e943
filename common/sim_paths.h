/* Where the simulated host keeps its state. One directory per host:
 *   <dir>/ctl.sock                 control socket of the pvback-sim daemon
 *   <dir>/pid                      daemon pid
 *   <dir>/dom<N>/xenstored.sock    xenstored socket acting as domain N
 *   <dir>/dom<N>/evtchn.sock       event-channel broker socket for domain N
 *   <dir>/dom<N>/gnttab            domain N's grant table and sim bookkeeping
 *   <dir>/dom<N>/mem               domain N's memory (frames)
 * Shared by the daemon, the "sim" provider and the test harness. */
#ifndef PVBACK_SIM_PATHS_H
#define PVBACK_SIM_PATHS_H

#include <stddef.h>
#include <stdint.h>

#define SIM_DEFAULT_DIR  "/run/pvback-sim"
#define SIM_ENV_DIR      "PVBACK_SIM_DIR"
#define SIM_ENV_DOMID    "PVBACK_SIM_DOMID"

#define SIM_CTL_SOCK     "ctl.sock"
#define SIM_PID_FILE     "pid"
#define SIM_XS_SOCK      "xenstored.sock"
#define SIM_EVTCHN_SOCK  "evtchn.sock"
#define SIM_GNTTAB_FILE  "gnttab"
#define SIM_MEM_FILE     "mem"

/* Writes "<dir>/<name>" into buf. Returns 0, or -ENAMETOOLONG. */
int sim_path_host(char *buf, size_t len, const char *dir, const char *name);
/* Writes "<dir>/dom<domid>" (name NULL) or "<dir>/dom<domid>/<name>". */
int sim_path_dom(char *buf, size_t len, const char *dir, uint16_t domid, const char *name);
/* The state directory and domain this process acts as, from the environment
 * (PVBACK_SIM_DIR, PVBACK_SIM_DOMID). Returns -ENOENT with nothing set, -EINVAL
 * for a malformed domid. */
int sim_env_dir(const char **dir);
int sim_env_domid(uint16_t *domid);

#endif
