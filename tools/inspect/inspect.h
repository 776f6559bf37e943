/* pvback-inspect's parts: asking pvbackd over its control socket
 * (inspect_client.c), turning its JSON into the operator's text
 * (inspect_text.c), rates between two answers (inspect_rates.c), what
 * xenstore alone says while pvbackd is down (inspect_xs.c) and the schema
 * check of the live tree (inspect_validate.c). main.c parses options, picks
 * the mode (show, --watch, set, --validate) and the exit status. */
#ifndef PVBACK_INSPECT_H
#define PVBACK_INSPECT_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

/* Exit status, as --help documents it. */
enum inspect_exit {
        INSPECT_OK = 0,
        INSPECT_DAEMON_ERROR = 1, /* pvbackd answered with an error; --validate: findings */
        INSPECT_USAGE = 2,
        INSPECT_NOT_RUNNING = 3, /* no pvbackd at the socket (or not allowed to ask) */
        INSPECT_BAD_ANSWER = 4,  /* no answer in time, or not the protocol */
};

/* Sends one request line to the socket at path and reads the answer up to
 * the daemon's close, within timeout_ms. 0 with *answer malloc'd and
 * NUL-terminated; -errno otherwise (-ENOENT, -ECONNREFUSED, -EACCES: nobody
 * to ask; -ETIMEDOUT, -EPROTO: no usable answer). */
int inspect_ask(const char *path, const char *request, int timeout_ms, char **answer);
/* Set by a signal handler that wants the program to stop: a wait of
 * inspect_ask that the signal interrupts ends at once with -EINTR instead
 * of waiting out its deadline. */
extern volatile sig_atomic_t inspect_interrupted;

/* The readable summary of a `show` answer: the daemon and its backend
 * facility, then every device; queue rates when inspect_add_rates put them
 * in; a vif's qos and each queue's coalesce levels on a line of their own.
 * Sections it has no layout for (capabilities, and any member a newer
 * daemon adds) are printed as indented "key value" lines. */
void inspect_print_show(FILE *out, struct json_object *show);
/* The same for the answer as JSON text (for tests): 0, -EINVAL when text
 * is not a JSON object, -EPROTO when it fails inspect_answer_shape_ok. */
int inspect_print_show_text(FILE *out, const char *text);
/* Whether an answer's top level is the protocol's: "daemon" and "error"
 * objects, "devices" an array, where present. Deeper members of another
 * type than expected are only printed as missing. */
bool inspect_answer_shape_ok(struct json_object *answer);

/* Adds to every queue of cur a "rates" object (per second, over
 * interval_s, against the same device's same queue in prev): vif
 * tx/rx packets and MiB, vbd requests and segments. None when the daemon
 * changed (pid, uptime went back), the device reconnected (its "connects"
 * differs or is missing) or the queue is absent from prev. */
void inspect_add_rates(struct json_object *cur, struct json_object *prev, double interval_s);

/* What xenstore knows of our domain's backends, for when pvbackd is down:
 * {"source": "xenstore", "pvbackd": "not running", "domid": N, "devices":
 * [{name, class, backend: {path, state, state_name, online,
 * hotplug_status}, frontend: {path, domid, devid, state, state_name},
 * error, negotiated: {frontend key: value}}]}. 0, or -errno with a sentence
 * in err (no xenstore). */
int inspect_xs_snapshot(struct json_object **out, char *err, size_t errlen);
void inspect_print_xs(FILE *out, struct json_object *snap);

/* --validate: our domain's backend/vif and backend/vbd trees, the error
 * nodes and every frontend directory they name, checked against the schema
 * in schema_dir. Prints the findings (JSON with json). INSPECT_OK clean,
 * INSPECT_DAEMON_ERROR findings, INSPECT_USAGE no schema or no xenstore. */
int inspect_validate(const char *schema_dir, bool json, FILE *out);

#endif
