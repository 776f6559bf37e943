/* SSE2 checksum loops (off_csum_simd.h on 16-byte vectors): the x86-64
 * baseline, so usable on every x86-64 CPU. */
#include "offload/off_csum_impl.h"

#ifdef OFF_CSUM_HAVE_X86
#include <emmintrin.h>

#define VEC   16u
#define VEC_T __m128i
#define SIMD_TARGET
#define V_LOAD(p)     _mm_loadu_si128((const __m128i *)(const void *)(p))
#define V_STORE(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define V_ZERO()      _mm_setzero_si128()
#define V_AND(a, b)   _mm_and_si128((a), (b))
#define V_ADD32(a, b) _mm_add_epi32((a), (b))
#define V_SWAP16(v)   _mm_or_si128(_mm_slli_epi16((v), 8), _mm_srli_epi16((v), 8))
#define V_ACC(acc, w)                                                                              \
        _mm_add_epi32(                                                                             \
            (acc), _mm_madd_epi16(_mm_xor_si128((w), _mm_set1_epi16(-0x8000)), _mm_set1_epi16(1)))

static inline int32_t v_hsum32(__m128i x)
{
        x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
        x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
        return _mm_cvtsi128_si32(x);
}

#include "offload/off_csum_simd.h"

static bool sse2_usable(void)
{
        return true;
}

const struct off_csum_impl off_csum_impl_sse2 = {
    .name = "sse2",
    .usable = sse2_usable,
    .sum = simd_sum,
    .sum_copy = simd_sum_copy,
};
#endif
