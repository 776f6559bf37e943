/* Fuzzes the simulator's xenstored with what a guest can send: a stream of
 * requests (type, transaction id, payload) from unprivileged domains 1 and 2
 * interleaved with dom0's, processed in-process exactly as the socket layer
 * would hand them over. LeakSanitizer checks the store frees everything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/sim/xsd.h"
#include "tools/sim/xsd_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Drops every queued reply and event so queues do not grow across inputs. */
static void drain(struct xsd_conn *c)
{
        while (c->out_head) {
                struct xsd_out *o = c->out_head;
                c->out_head = o->next;
                free(o);
        }
        c->out_tail = NULL;
        c->out_bytes = 0;
        c->out_replies = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char payload[XENSTORE_PAYLOAD_MAX + 1];
        struct xsd *x;
        struct xsd_conn *conns[3];

        if (xsd_new(NULL, NULL, &x) < 0)
                return 0;
        for (uint16_t d = 0; d < 3; d++) {
                xsd_domain_introduce(x, d);
                conns[d] = xsd_conn_new(x, -1, d);
        }
        /* Each request: conn, type, tx_id, length (2 bytes), payload. */
        while (size >= 5) {
                struct xsd_conn *c = conns[data[0] % 3];
                struct xsd_sockmsg hdr = {
                        .type = data[1] % (XS_TYPE_COUNT + 2),
                        .req_id = 7,
                        .tx_id = data[2] % 4,
                };
                uint32_t len = ((uint32_t)data[3] << 8 | data[4]) % (XENSTORE_PAYLOAD_MAX + 1);
                data += 5;
                size -= 5;
                if (len > size)
                        len = (uint32_t)size;
                memcpy(payload, data, len);
                payload[len] = '\0';
                hdr.len = len;
                data += len;
                size -= len;
                if (!c->dead)
                        xsd_process(x, c, &hdr, payload);
                for (int d = 0; d < 3; d++)
                        drain(conns[d]);
        }
        xsd_destroy(x);
        return 0;
}
