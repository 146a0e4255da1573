#include "CScan.h"

#include <string.h>

/* Any processor: one face and one subquantiser at a time. */
void lineup_pq4_scan_portable(const uint8_t *codes, size_t blocks, size_t subquantizers,
                          const uint8_t *table, uint16_t *scores) {
    for (size_t b = 0; b < blocks; b++) {
        uint16_t sums[32];
        memset(sums, 0, sizeof sums);
        const uint8_t *block = codes + b * subquantizers * 16;
        for (size_t m = 0; m < subquantizers; m++) {
            const uint8_t *row = block + m * 16, *entries = table + m * 16;
            for (int j = 0; j < 16; j++) {
                sums[j] += entries[row[j] & 15];
                sums[j + 16] += entries[row[j] >> 4];
            }
        }
        memcpy(scores + b * 32, sums, sizeof sums);
    }
}

/* The faces of one block whose sum is above floor, as bits. */
static uint32_t mask_above(const uint16_t *sums, int32_t floor) {
    if (floor < 0) return 0xffffffffu;
    uint32_t mask = 0;
    for (int i = 0; i < 32; i++) mask |= (uint32_t)(sums[i] > (uint32_t)floor) << i;
    return mask;
}

#if defined(__x86_64__)
#include <immintrin.h>

/* Two subquantisers per 256-bit step: each 128-bit lane shuffles one subquantiser's
   table by 16 faces' codes. The byte sums are widened to 16 bits as even and odd
   faces (masking and shifting 16-bit words), and the two lanes are added at the end. */
__attribute__((target("avx2")))
static void scan_avx2(const uint8_t *codes, size_t blocks, size_t subquantizers,
                      const uint8_t *table, int32_t floor, uint16_t *scores, uint32_t *above) {
    /* Unsigned 16-bit comparison as signed, both sides shifted by 0x8000. */
    const __m128i bias = _mm_set1_epi16((short)0x8000);
    const __m128i limit = _mm_set1_epi16((short)((floor < 0 ? 0 : (floor > 0xffff ? 0xffff : floor)) ^ 0x8000));
    const __m256i low4 = _mm256_set1_epi8(0x0f), low8 = _mm256_set1_epi16(0x00ff);
    const size_t pairs = subquantizers / 2;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *block = codes + b * subquantizers * 16;
        __m256i lowEven = _mm256_setzero_si256(), lowOdd = _mm256_setzero_si256();
        __m256i highEven = _mm256_setzero_si256(), highOdd = _mm256_setzero_si256();
        for (size_t p = 0; p < pairs; p++) {
            const __m256i code = _mm256_loadu_si256((const __m256i *)(block + p * 32));
            const __m256i entries = _mm256_loadu_si256((const __m256i *)(table + p * 32));
            const __m256i low = _mm256_shuffle_epi8(entries, _mm256_and_si256(code, low4));
            const __m256i high = _mm256_shuffle_epi8(entries, _mm256_and_si256(_mm256_srli_epi16(code, 4), low4));
            lowEven = _mm256_add_epi16(lowEven, _mm256_and_si256(low, low8));
            lowOdd = _mm256_add_epi16(lowOdd, _mm256_srli_epi16(low, 8));
            highEven = _mm256_add_epi16(highEven, _mm256_and_si256(high, low8));
            highOdd = _mm256_add_epi16(highOdd, _mm256_srli_epi16(high, 8));
        }
        __m128i le = _mm_add_epi16(_mm256_castsi256_si128(lowEven), _mm256_extracti128_si256(lowEven, 1));
        __m128i lo = _mm_add_epi16(_mm256_castsi256_si128(lowOdd), _mm256_extracti128_si256(lowOdd, 1));
        __m128i he = _mm_add_epi16(_mm256_castsi256_si128(highEven), _mm256_extracti128_si256(highEven, 1));
        __m128i ho = _mm_add_epi16(_mm256_castsi256_si128(highOdd), _mm256_extracti128_si256(highOdd, 1));
        if (subquantizers % 2) {
            /* The last subquantiser alone, in one 128-bit lane. */
            const __m128i code = _mm_loadu_si128((const __m128i *)(block + pairs * 32));
            const __m128i entries = _mm_loadu_si128((const __m128i *)(table + pairs * 32));
            const __m128i mask4 = _mm_set1_epi8(0x0f), mask8 = _mm_set1_epi16(0x00ff);
            const __m128i low = _mm_shuffle_epi8(entries, _mm_and_si128(code, mask4));
            const __m128i high = _mm_shuffle_epi8(entries, _mm_and_si128(_mm_srli_epi16(code, 4), mask4));
            le = _mm_add_epi16(le, _mm_and_si128(low, mask8));
            lo = _mm_add_epi16(lo, _mm_srli_epi16(low, 8));
            he = _mm_add_epi16(he, _mm_and_si128(high, mask8));
            ho = _mm_add_epi16(ho, _mm_srli_epi16(high, 8));
        }
        uint16_t *out = scores + b * 32;
        const __m128i s0 = _mm_unpacklo_epi16(le, lo), s1 = _mm_unpackhi_epi16(le, lo);
        const __m128i s2 = _mm_unpacklo_epi16(he, ho), s3 = _mm_unpackhi_epi16(he, ho);
        _mm_storeu_si128((__m128i *)(out + 0), s0);
        _mm_storeu_si128((__m128i *)(out + 8), s1);
        _mm_storeu_si128((__m128i *)(out + 16), s2);
        _mm_storeu_si128((__m128i *)(out + 24), s3);
        if (above) {
            if (floor < 0) {
                above[b] = 0xffffffffu;
            } else {
                const __m128i c0 = _mm_cmpgt_epi16(_mm_xor_si128(s0, bias), limit);
                const __m128i c1 = _mm_cmpgt_epi16(_mm_xor_si128(s1, bias), limit);
                const __m128i c2 = _mm_cmpgt_epi16(_mm_xor_si128(s2, bias), limit);
                const __m128i c3 = _mm_cmpgt_epi16(_mm_xor_si128(s3, bias), limit);
                const uint32_t low = (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(c0, c1));
                const uint32_t high = (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(c2, c3));
                above[b] = low | high << 16;
            }
        }
    }
}
#endif

static int has_avx2(void) {
#if defined(__x86_64__)
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx2") ? 1 : 0;
    return known;
#else
    return 0;
#endif
}

void lineup_pq4_scan(const uint8_t *codes, size_t blocks, size_t subquantizers,
                     const uint8_t *table, uint16_t *scores) {
#if defined(__x86_64__)
    if (has_avx2()) {
        scan_avx2(codes, blocks, subquantizers, table, -1, scores, NULL);
        return;
    }
#endif
    lineup_pq4_scan_portable(codes, blocks, subquantizers, table, scores);
}

void lineup_pq4_scan_above(const uint8_t *codes, size_t blocks, size_t subquantizers,
                           const uint8_t *table, int32_t floor, uint16_t *scores, uint32_t *above) {
#if defined(__x86_64__)
    if (has_avx2()) {
        scan_avx2(codes, blocks, subquantizers, table, floor, scores, above);
        return;
    }
#endif
    lineup_pq4_scan_portable(codes, blocks, subquantizers, table, scores);
    for (size_t b = 0; b < blocks; b++) above[b] = mask_above(scores + b * 32, floor);
}

const char *lineup_pq4_kernel(void) { return has_avx2() ? "avx2" : "portable"; }
