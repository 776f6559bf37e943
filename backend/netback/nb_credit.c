/* Credit-based transmit shaping, Linux netback netback.c tx_add_credit /
 * tx_credit_exceeded / tx_credit_callback with nanoseconds for jiffies. */
#include "netback/nb_credit.h"

static void credit_add(struct nb_credit *c)
{
        uint64_t carry = c->credit_bytes + NB_CREDIT_CARRY;
        uint64_t burst;
        if (carry < c->credit_bytes) /* unlimited: credit_bytes is UINT64_MAX */
                carry = UINT64_MAX;
        burst = carry > NB_CREDIT_MIN_BURST ? carry : NB_CREDIT_MIN_BURST;
        uint64_t max = c->remaining + c->credit_bytes;
        if (max < c->remaining) /* wrapped */
                max = UINT64_MAX;
        c->remaining = max < burst ? max : burst;
}

void nb_credit_init(struct nb_credit *c, bool limited, uint64_t bytes, uint64_t usec,
                    uint64_t now_ns)
{
        c->limited = limited && bytes && usec;
        c->credit_bytes = c->limited ? bytes : UINT64_MAX;
        c->credit_ns = c->limited ? usec * 1000u : 0;
        c->remaining = c->credit_bytes;
        c->window_start = now_ns;
        c->timer_at = 0;
}

bool nb_credit_take(struct nb_credit *c, uint64_t now_ns, uint32_t size, uint64_t *wake_ns)
{
        uint64_t next;
        if (!c->limited)
                return true;
        if (c->timer_at) {
                *wake_ns = c->timer_at;
                return false;
        }
        next = c->window_start + c->credit_ns;
        if (now_ns >= next) {
                c->window_start = now_ns;
                credit_add(c);
                next = now_ns + c->credit_ns;
        }
        if (size > c->remaining) {
                c->timer_at = next;
                c->window_start = next;
                *wake_ns = next;
                return false;
        }
        c->remaining -= size;
        return true;
}

void nb_credit_refill(struct nb_credit *c, uint64_t now_ns)
{
        (void)now_ns;
        c->timer_at = 0;
        credit_add(c);
}
