// COpenVINO: the small C API over OpenVINO's C runtime that Lineup's Vision module
// wraps to run its ONNX networks on the CPU.
//
// OpenVINO compiles a network for the processor it runs on (its CPU plugin picks
// AVX2, AVX-512, VNNI or AMX kernels at run time), so one build is fast on every
// x86-64 machine. Networks run in 32-bit floats on one thread: Lineup parallelises
// across photos, and templates must not depend on the machine that made them.
#ifndef LINEUP_COPENVINO_H
#define LINEUP_COPENVINO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lov_network lov_network;

typedef struct lov_error {
    char message[512];
} lov_error;

/// OpenVINO's build number, e.g. "2026.4.1-22982-…" ("" if it cannot start).
const char *lov_version(void);

/// Reads an ONNX model. Nothing is compiled until the first forward of each input shape.
lov_network *lov_network_load(const char *path, lov_error *error);
void lov_network_free(lov_network *network);

/// Runs the network on a float NCHW input and fetches the named outputs. `outputs[i]`
/// and `counts[i]` receive each output's data and element count; the data stays owned
/// by the network and is valid until its next forward or free. Not thread-safe.
///
/// The first shapes a network sees often (up to a handful) get a compilation of their
/// own, the fastest; any other shape runs on one compilation for every shape.
int lov_network_forward(lov_network *network, const float *input, const int64_t *shape, int rank,
                        const char *const *names, int name_count, const float **outputs, size_t *counts,
                        lov_error *error);

#ifdef __cplusplus
}
#endif

#endif
