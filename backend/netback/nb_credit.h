/* The vif `rate` limiter: guest transmit credit per queue, refilled once per
 * window, as Linux netback's tx_credit_exceeded()/tx_add_credit(). A pure
 * state machine fed with the clock; the caller owns the timer it asks for. */
#ifndef PVBACK_NB_CREDIT_H
#define PVBACK_NB_CREDIT_H

#include <stdbool.h>
#include <stdint.h>

/* Linux: the burst is max(128 KiB, credit_bytes), so a 64 KiB GSO frame
 * always fits one window's credit. */
#define NB_CREDIT_MIN_BURST (128u * 1024u)
/* Credit a window could not spend because the next frame did not fit is
 * carried over, up to one largest frame. Linux caps at max(128 KiB,
 * credit_bytes) and loses it: with 64 KiB GSO frames and a window of
 * 250 kB that is up to a fifth of the configured rate. The carry keeps the
 * long-run average at the rate; a burst still never exceeds one window plus
 * one frame. */
#define NB_CREDIT_CARRY (64u * 1024u)

struct nb_credit {
        bool limited;
        uint64_t credit_bytes; /* per window */
        uint64_t credit_ns;    /* window length */
        uint64_t remaining;
        uint64_t window_start; /* ns */
        uint64_t timer_at;     /* ns; 0 when no refill is pending */
};

/* Unlimited when !limited (bytes/usec ignored). Starts with a full window. */
void nb_credit_init(struct nb_credit *c, bool limited, uint64_t bytes, uint64_t usec,
                    uint64_t now_ns);

/* May a frame of `size` bytes go at now_ns? true: it is charged. false: the
 * caller stops transmitting and calls nb_credit_refill() at *wake_ns (the
 * start of the next window; Linux mod_timer(credit_timeout, next_credit)). */
bool nb_credit_take(struct nb_credit *c, uint64_t now_ns, uint32_t size, uint64_t *wake_ns);

/* The timer fired (Linux tx_credit_callback): add one window's credit. */
void nb_credit_refill(struct nb_credit *c, uint64_t now_ns);

/* New parameters for a limiter in use (the QoS scheduler moves them every
 * tick): the window in progress and a pending refill stay, the credit left
 * is capped at the new burst, and a refill due later than one new window
 * from now is brought forward (the caller re-arms its timer at timer_at).
 * From unlimited it starts a full window, as nb_credit_init. */
void nb_credit_set(struct nb_credit *c, bool limited, uint64_t bytes, uint64_t usec,
                   uint64_t now_ns);

/* QoS on guest RX: a token bucket that never waits. A frame read from the
 * uplink either fits the tokens or is dropped on the spot, before anything
 * is copied for the guest. Tokens accrue at `bytes_per_s` up to the burst:
 * NB_BUCKET_BURST_NS of the rate, and at least one largest frame. */
#define NB_BUCKET_BURST_NS  20000000ull
#define NB_BUCKET_MIN_BURST (128u * 1024u)

struct nb_bucket {
        uint64_t bytes_per_s; /* 0: unlimited */
        uint64_t burst;
        uint64_t tokens;
        uint64_t last_ns;
};

/* Starts full; 0 is unlimited. Keeps the tokens (capped) on a change. */
void nb_bucket_set(struct nb_bucket *b, uint64_t bytes_per_s, uint64_t now_ns);
/* true: `size` bytes may pass now (charged); false: drop the frame. */
bool nb_bucket_take(struct nb_bucket *b, uint64_t now_ns, uint32_t size);

#endif
