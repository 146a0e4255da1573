#ifndef LINEUP_CSCAN_H
#define LINEUP_CSCAN_H

#include <stddef.h>
#include <stdint.h>

/* Scores of 4-bit product-quantised codes against one query's look-up table, the
   inner loop of the scan index.

   Codes come in blocks of 32 faces. Within a block, each subquantiser has 16 bytes:
   byte j holds face j's 4-bit code in its low nibble and face j + 16's in its high
   nibble, so one 16-byte shuffle looks up 16 faces at once (the layout of FAISS's
   fast-scan indexes, after André, Kermarrec and Le Scouarnec, "Cache locality is not
   enough", VLDB 2015). The table holds 16 unsigned bytes per subquantiser; a face's
   score is the sum of its subquantisers' entries, in 16 bits (at most 257
   subquantisers, so it cannot overflow).

   codes:  blocks * subquantizers * 16 bytes
   table:  subquantizers * 16 bytes
   scores: blocks * 32 sums, face order */
void lineup_pq4_scan(const uint8_t *codes, size_t blocks, size_t subquantizers,
                     const uint8_t *table, uint16_t *scores);

/* The same sums, and for each block a mask of the faces whose sum is above `floor`
   (bit i: face i of the block; every bit when floor is negative), so that the caller
   looks only at the few faces that may enter its candidates.
   above: blocks masks */
void lineup_pq4_scan_above(const uint8_t *codes, size_t blocks, size_t subquantizers,
                           const uint8_t *table, int32_t floor, uint16_t *scores, uint32_t *above);

/* The same sums one at a time, on any processor (what the dispatch falls back to,
   and what tests compare the vector kernel with). */
void lineup_pq4_scan_portable(const uint8_t *codes, size_t blocks, size_t subquantizers,
                              const uint8_t *table, uint16_t *scores);

/* Which kernel lineup_pq4_scan runs on this processor: "avx2" or "portable". */
const char *lineup_pq4_kernel(void);

#endif
