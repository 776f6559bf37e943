/* pvback-inspect's parts: asking pvbackd over its control socket
 * (inspect_client.c) and turning its JSON into the operator's text
 * (inspect_text.c). main.c only parses options and picks exit codes. */
#ifndef PVBACK_INSPECT_H
#define PVBACK_INSPECT_H

#include <stdio.h>

#include <json-c/json.h>

/* Exit status, as --help documents it. */
enum inspect_exit {
        INSPECT_OK = 0,
        INSPECT_DAEMON_ERROR = 1, /* pvbackd answered with an error (no such device, ...) */
        INSPECT_USAGE = 2,
        INSPECT_NOT_RUNNING = 3, /* no pvbackd at the socket (or not allowed to ask) */
        INSPECT_BAD_ANSWER = 4,  /* no answer in time, or not the protocol */
};

/* Sends one request line to the socket at path and reads the answer up to
 * the daemon's close, within timeout_ms. 0 with *answer malloc'd and
 * NUL-terminated; -errno otherwise (-ENOENT, -ECONNREFUSED, -EACCES: nobody
 * to ask; -ETIMEDOUT, -EPROTO: no usable answer). */
int inspect_ask(const char *path, const char *request, int timeout_ms, char **answer);

/* The readable summary of a `show` answer. */
void inspect_print_show(FILE *out, struct json_object *show);

#endif
