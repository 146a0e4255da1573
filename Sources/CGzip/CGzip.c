#include "CGzip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct lgz_inflater {
    z_stream stream;
};

lgz_inflater *lgz_new(void) {
    lgz_inflater *inflater = calloc(1, sizeof *inflater);
    if (!inflater) return NULL;
    // 16 + 15: a gzip header and trailer around a deflate stream with a 32 KiB window.
    if (inflateInit2(&inflater->stream, 16 + MAX_WBITS) != Z_OK) {
        free(inflater);
        return NULL;
    }
    return inflater;
}

void lgz_free(lgz_inflater *inflater) {
    if (!inflater) return;
    inflateEnd(&inflater->stream);
    free(inflater);
}

void lgz_reset(lgz_inflater *inflater) { inflateReset(&inflater->stream); }

int lgz_inflate(lgz_inflater *inflater, const uint8_t *input, size_t length, size_t *consumed, uint8_t *output,
                size_t capacity, size_t *produced, char *message, size_t message_size) {
    z_stream *stream = &inflater->stream;
    // zlib counts in 32-bit units; the reader's chunks are far smaller.
    stream->next_in = (Bytef *)input;
    stream->avail_in = (uInt)(length > UINT32_MAX ? UINT32_MAX : length);
    stream->next_out = output;
    stream->avail_out = (uInt)(capacity > UINT32_MAX ? UINT32_MAX : capacity);
    int status = inflate(stream, Z_NO_FLUSH);
    *consumed = (size_t)(stream->next_in - input);
    *produced = (size_t)(stream->next_out - output);
    switch (status) {
    case Z_STREAM_END:
        return LGZ_MEMBER_END;
    case Z_OK:
    case Z_BUF_ERROR:
        return LGZ_CONTINUE;
    default:
        if (message && message_size)
            snprintf(message, message_size, "%s", stream->msg ? stream->msg : "not gzip data");
        return LGZ_DAMAGED;
    }
}

size_t lgz_member_bound(size_t length) { return compressBound((uLong)length) + 32; }

size_t lgz_deflate_member(const uint8_t *input, size_t length, uint8_t *output, size_t capacity) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    // 15 + 16: a gzip header and trailer around the deflate stream.
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    stream.next_in = (Bytef *)input;
    stream.avail_in = (uInt)length;
    stream.next_out = output;
    stream.avail_out = (uInt)capacity;
    int status = deflate(&stream, Z_FINISH);
    size_t written = stream.total_out;
    deflateEnd(&stream);
    return status == Z_STREAM_END ? written : 0;
}
