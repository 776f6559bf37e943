/* pvbackd's control socket as both ends see it: where it is and what goes
 * over it. pvbackd serves it (backend/ctl_server.c), pvback-inspect and the
 * tests are its clients. Not the JSON layout: README.md documents that.
 *
 * Protocol (version CTL_PROTOCOL_VERSION), on a Unix stream socket:
 *   - the client connects and sends one request line: at most CTL_REQ_MAX
 *     bytes including the '\n' (a trailing '\r' is ignored; closing the
 *     writing side ends the line as well);
 *   - pvbackd answers with one JSON object and a '\n', then closes.
 * Requests (words separated by blanks):
 *   version          {"version": "...", "protocol": N}
 *   show             {"daemon": {...}, "devices": [{...}, ...]}
 *   show DEVICE      the same with one device ("vif5.0", "vbd5.51712")
 *   set TARGET KEY VALUE
 *                    a runtime setting of a device ("vif5.0") or of what a
 *                    device class shares ("vif", "uplink:xenbr0"):
 *                    {"ok": true, "target": ..., "key": ..., "value": ...}
 * A request that cannot be served is answered with
 *   {"error": {"code": "...", "message": "..."}}
 * where code is one of the CTL_ERR_* strings and message a sentence that says
 * what to do. A client that sends no complete line within
 * CTL_CLIENT_TIMEOUT_MS, or does not take its answer within that time, is
 * disconnected. Only `set` changes anything. */
#ifndef PVBACK_CTL_PROTO_H
#define PVBACK_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_PROTOCOL_VERSION  2
#define CTL_DEFAULT_DIR       "/run/pvback"
#define CTL_SOCK_NAME         "pvbackd.sock"
#define CTL_DEFAULT_PATH      CTL_DEFAULT_DIR "/" CTL_SOCK_NAME
#define CTL_REQ_MAX           256
#define CTL_CLIENT_TIMEOUT_MS 5000

#define CTL_ERR_BAD_REQUEST    "bad-request"
#define CTL_ERR_TOO_LONG       "request-too-long"
#define CTL_ERR_UNKNOWN_CMD    "unknown-command"
#define CTL_ERR_UNKNOWN_DEVICE "unknown-device"
#define CTL_ERR_BUSY           "busy"
#define CTL_ERR_INTERNAL       "internal"
#define CTL_ERR_UNKNOWN_KEY    "unknown-key"
#define CTL_ERR_BAD_VALUE      "bad-value"

/* With the simulator, beside the host's own files rather than in a domain's
 * directory, which holds only what the simulator made (sim_paths.h). */
#define CTL_SIM_SOCK_FMT "pvbackd-dom%u.sock"

/* The socket pvbackd uses when not told otherwise: CTL_DEFAULT_PATH, or with
 * the simulator (sim) "<$PVBACK_SIM_DIR>/pvbackd-dom<$PVBACK_SIM_DOMID>.sock",
 * so every simulated host and domain has its own. 0, -ENOENT (sim without
 * its environment) or -ENAMETOOLONG. */
int ctl_default_path(bool sim, char *buf, size_t len);

#endif
