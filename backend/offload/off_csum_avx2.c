/* AVX2 checksum loops (off_csum_simd.h on 32-byte vectors), chosen at run
 * time on CPUs that have AVX2. x86-64 only. */
#include "offload/off_csum_impl.h"

#ifdef OFF_CSUM_HAVE_X86
#include <immintrin.h>

#define VEC           32u
#define VEC_T         __m256i
#define SIMD_TARGET   __attribute__((target("avx2")))
#define V_LOAD(p)     _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define V_STORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define V_ZERO()      _mm256_setzero_si256()
#define V_AND(a, b)   _mm256_and_si256((a), (b))
#define V_ADD32(a, b) _mm256_add_epi32((a), (b))
#define V_SWAP16(v)   _mm256_or_si256(_mm256_slli_epi16((v), 8), _mm256_srli_epi16((v), 8))
#define V_ACC(acc, w)                                                                              \
        _mm256_add_epi32((acc),                                                                    \
                         _mm256_madd_epi16(_mm256_xor_si256((w), _mm256_set1_epi16(-0x8000)),      \
                                           _mm256_set1_epi16(1)))

SIMD_TARGET static inline int32_t v_hsum32(__m256i v)
{
        __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
        x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
        return _mm_cvtsi128_si32(x);
}

#include "offload/off_csum_simd.h"

static bool avx2_usable(void)
{
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
}

const struct off_csum_impl off_csum_impl_avx2 = {
    .name = "avx2",
    .usable = avx2_usable,
    .sum = simd_sum,
    .sum_copy = simd_sum_copy,
};
#endif
