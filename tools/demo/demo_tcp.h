/* pvback-demo's TCP transfer through a vif: generated payload, digest at both
 * ends. Exit codes: 0 ok (and, for the receiver, the expected size/digest). */
#ifndef PVBACK_DEMO_TCP_H
#define PVBACK_DEMO_TCP_H

#include <stdint.h>

int demo_tcp_send(const char *to, uint64_t total);
/* expect: bytes (0: any); expect_digest: hex (NULL: only print). */
int demo_tcp_recv(const char *listen_on, uint64_t expect, const char *expect_digest);

#endif
