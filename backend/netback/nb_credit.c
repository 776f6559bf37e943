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

void nb_credit_set(struct nb_credit *c, bool limited, uint64_t bytes, uint64_t usec,
                   uint64_t now_ns)
{
        uint64_t burst;
        limited = limited && bytes && usec;
        if (!c->limited || !limited) {
                nb_credit_init(c, limited, bytes, usec, now_ns);
                return;
        }
        c->credit_bytes = bytes;
        c->credit_ns = usec * 1000u;
        burst = bytes + NB_CREDIT_CARRY;
        if (burst < NB_CREDIT_MIN_BURST)
                burst = NB_CREDIT_MIN_BURST;
        if (c->remaining > burst)
                c->remaining = burst;
        /* A refill pending from a longer window would otherwise hand out
         * one short window's credit after a long wait. */
        if (c->timer_at && c->timer_at > now_ns + c->credit_ns) {
                c->timer_at = now_ns + c->credit_ns;
                c->window_start = c->timer_at;
        }
}

void nb_bucket_set(struct nb_bucket *b, uint64_t bytes_per_s, uint64_t now_ns)
{
        bool was_limited = b->bytes_per_s != 0;
        b->bytes_per_s = bytes_per_s;
        if (!bytes_per_s)
                return;
        b->burst = bytes_per_s / (1000000000ull / NB_BUCKET_BURST_NS);
        if (b->burst < NB_BUCKET_MIN_BURST)
                b->burst = NB_BUCKET_MIN_BURST;
        if (!was_limited) {
                b->tokens = b->burst;
                b->last_ns = now_ns;
        } else if (b->tokens > b->burst) {
                b->tokens = b->burst;
        }
}

bool nb_bucket_take(struct nb_bucket *b, uint64_t now_ns, uint32_t size)
{
        if (!b->bytes_per_s)
                return true;
        if (now_ns > b->last_ns) {
                uint64_t dt = now_ns - b->last_ns;
                /* Whole tokens only; the remainder of the interval is kept
                 * by advancing last_ns by what was credited. */
                unsigned __int128 add = (unsigned __int128)dt * b->bytes_per_s / 1000000000u;
                if (add >= b->burst - b->tokens) {
                        b->tokens = b->burst;
                        b->last_ns = now_ns;
                } else if (add > 0) {
                        b->tokens += (uint64_t)add;
                        b->last_ns += (uint64_t)(add * 1000000000u / b->bytes_per_s);
                }
        }
        if (size > b->tokens)
                return false;
        b->tokens -= size;
        return true;
}
