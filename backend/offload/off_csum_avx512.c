/* AVX-512 checksum loops (off_csum_simd.h on 64-byte vectors, one VNNI
 * multiply-accumulate per vector), chosen at run time only where 512-bit
 * vectors cost no clock speed. x86-64 only. */
#include "offload/off_csum_impl.h"

#ifdef OFF_CSUM_HAVE_X86
#include <immintrin.h>

#define VEC           64u
#define VEC_T         __m512i
#define SIMD_TARGET   __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define V_LOAD(p)     _mm512_loadu_si512((const void *)(p))
#define V_STORE(p, v) _mm512_storeu_si512((void *)(p), (v))
#define V_ZERO()      _mm512_setzero_si512()
#define V_AND(a, b)   _mm512_and_si512((a), (b))
#define V_ADD32(a, b) _mm512_add_epi32((a), (b))
#define V_SWAP16(v)   _mm512_or_si512(_mm512_slli_epi16((v), 8), _mm512_srli_epi16((v), 8))
#define V_ACC(acc, w)                                                                              \
        _mm512_dpwssd_epi32((acc), _mm512_xor_si512((w), _mm512_set1_epi16(-0x8000)),              \
                            _mm512_set1_epi16(1))

SIMD_TARGET static inline int32_t v_hsum32(__m512i v)
{
        return _mm512_reduce_add_epi32(v);
}

#include "offload/off_csum_simd.h"

/* glibc's rule for its own string functions (sysdeps/x86/cpu-features.c):
 * cores that also have AVX-VNNI (Sapphire Rapids and later) do not lower
 * their clock for 512-bit vectors; on older AVX-512 cores the slowdown would
 * outlast the checksum and tax everything else the thread runs. */
static bool avx512_usable(void)
{
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avxvnni");
}

const struct off_csum_impl off_csum_impl_avx512 = {
    .name = "avx512",
    .usable = avx512_usable,
    .sum = simd_sum,
    .sum_copy = simd_sum_copy,
};
#endif
