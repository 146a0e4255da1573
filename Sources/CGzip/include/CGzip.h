// CGzip: gzip members inflated one after another, through zlib, for reading web
// archives (a .warc.gz file is a series of gzip members, one per record). Each call
// says where a member ends, so the reader knows every record's offset in the file.
#ifndef LINEUP_CGZIP_H
#define LINEUP_CGZIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lgz_inflater lgz_inflater;

enum {
    /// More input is needed, or more output room.
    LGZ_CONTINUE = 0,
    /// The member ended; call lgz_reset before the next one.
    LGZ_MEMBER_END = 1,
    /// The data is not gzip or is damaged; `message` says how.
    LGZ_DAMAGED = -1,
};

lgz_inflater *lgz_new(void);
void lgz_free(lgz_inflater *inflater);
/// Starts a new member.
void lgz_reset(lgz_inflater *inflater);
/// Inflates from `input`, writing at most `capacity` bytes to `output`: `consumed` and
/// `produced` receive the bytes used of each.
int lgz_inflate(lgz_inflater *inflater, const uint8_t *input, size_t length, size_t *consumed, uint8_t *output,
                size_t capacity, size_t *produced, char *message, size_t message_size);

/// Compresses `length` bytes into one gzip member in `output` (room for
/// lgz_member_bound(length) bytes); returns the member's size, or 0 on failure.
size_t lgz_member_bound(size_t length);
size_t lgz_deflate_member(const uint8_t *input, size_t length, uint8_t *output, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif
