#include "COpenVINO.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !__has_include(<openvino/c/openvino.h>)
#error "OpenVINO's C runtime is missing from .lineup/openvino: run scripts/setup.sh, then build again"
#endif

#include <openvino/c/openvino.h>
#include <pthread.h>

enum {
    MAX_RANK = 8,
    /// Shapes with a compilation of their own; each costs about 0.1 s to make.
    STATIC_SLOTS = 6,
    /// Shapes counted to find the frequent ones.
    COUNTED_SHAPES = 64,
    /// Sightings before a shape gets its own compilation.
    STATIC_AFTER = 2,
    MAX_OUTPUTS = 32,
};

typedef struct {
    int rank;
    int64_t dims[MAX_RANK];
} lov_shape;

typedef struct {
    lov_shape shape;
    ov_compiled_model_t *compiled;
    ov_infer_request_t *request;
} lov_compilation;

struct lov_network {
    char *path;
    /// The model as read, dynamic when its file is; never compiled itself.
    int dynamic;
    lov_compilation slots[STATIC_SLOTS];
    int slot_count;
    lov_compilation any_shape;
    lov_shape counted[COUNTED_SHAPES];
    int counts[COUNTED_SHAPES];
    int counted_count;
    ov_tensor_t *fetched[MAX_OUTPUTS];
    int fetched_count;
};

static ov_core_t *shared_core;
static ov_status_e shared_core_status = OK;
static pthread_once_t shared_core_once = PTHREAD_ONCE_INIT;
static char version_text[256];

static void make_core(void) {
    shared_core_status = ov_core_create(&shared_core);
    ov_version_t version;
    if (ov_get_openvino_version(&version) == OK) {
        snprintf(version_text, sizeof version_text, "%s", version.buildNumber);
        ov_version_free(&version);
    }
}

static int fail(lov_error *error, ov_status_e status, const char *doing) {
    if (error) {
        const char *detail = ov_get_last_err_msg();
        if (!detail || !*detail) detail = ov_get_error_info(status);
        snprintf(error->message, sizeof error->message, "OpenVINO could not %s: %s", doing, detail ? detail : "unknown error");
    }
    return -1;
}

static ov_core_t *core(lov_error *error) {
    pthread_once(&shared_core_once, make_core);
    if (shared_core_status != OK) {
        fail(error, shared_core_status, "start");
        return NULL;
    }
    return shared_core;
}

const char *lov_version(void) {
    pthread_once(&shared_core_once, make_core);
    return version_text;
}

lov_network *lov_network_load(const char *path, lov_error *error) {
    ov_core_t *ov = core(error);
    if (!ov) return NULL;
    ov_model_t *model = NULL;
    ov_status_e status = ov_core_read_model(ov, path, NULL, &model);
    if (status != OK) {
        fail(error, status, "read the ONNX model");
        return NULL;
    }
    lov_network *network = calloc(1, sizeof *network);
    if (!network || !(network->path = strdup(path))) {
        ov_model_free(model);
        free(network);
        if (error) snprintf(error->message, sizeof error->message, "out of memory");
        return NULL;
    }
    network->dynamic = ov_model_is_dynamic(model);
    ov_model_free(model);
    return network;
}

static void release(lov_compilation *compilation) {
    if (compilation->request) ov_infer_request_free(compilation->request);
    if (compilation->compiled) ov_compiled_model_free(compilation->compiled);
    memset(compilation, 0, sizeof *compilation);
}

static void release_fetched(lov_network *network) {
    for (int i = 0; i < network->fetched_count; ++i) ov_tensor_free(network->fetched[i]);
    network->fetched_count = 0;
}

void lov_network_free(lov_network *network) {
    if (!network) return;
    release_fetched(network);
    for (int i = 0; i < network->slot_count; ++i) release(&network->slots[i]);
    release(&network->any_shape);
    free(network->path);
    free(network);
}

/// Compiles the model for `shape` (NULL: as read, for every shape it allows).
static int compile(lov_network *network, const lov_shape *shape, lov_compilation *into, lov_error *error) {
    ov_core_t *ov = core(error);
    if (!ov) return -1;
    ov_model_t *model = NULL;
    ov_status_e status = ov_core_read_model(ov, network->path, NULL, &model);
    if (status != OK) return fail(error, status, "read the ONNX model");
    if (shape && network->dynamic) {
        ov_partial_shape_t partial;
        status = ov_partial_shape_create_static(shape->rank, shape->dims, &partial);
        if (status == OK) {
            status = ov_model_reshape_single_input(model, partial);
            ov_partial_shape_free(&partial);
        }
        if (status != OK) {
            ov_model_free(model);
            return fail(error, status, "set the network's input shape");
        }
    }
    // Full precision on one thread, never pinned: several workers each run their own
    // networks, and a template must not depend on whether the CPU has bf16 or AMX.
    const ov_property_t properties[] = {
        {ov_property_key_inference_num_threads, "1"},
        {ov_property_key_num_streams, "1"},
        {ov_property_key_hint_performance_mode, "LATENCY"},
        {ov_property_key_hint_inference_precision, "f32"},
        {ov_property_key_hint_enable_cpu_pinning, "NO"},
    };
    status = ov_core_compile_model_props(ov, model, "CPU", sizeof properties / sizeof properties[0], properties,
                                         &into->compiled);
    ov_model_free(model);
    if (status != OK) return fail(error, status, "compile the network for this CPU");
    status = ov_compiled_model_create_infer_request(into->compiled, &into->request);
    if (status != OK) {
        release(into);
        return fail(error, status, "create an inference request");
    }
    into->shape = shape ? *shape : (lov_shape){0};
    return 0;
}

static int same_shape(const lov_shape *a, const lov_shape *b) {
    return a->rank == b->rank && memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) == 0;
}

/// The compilation to run `shape` on: its own when it has one or has now been seen
/// often enough for one (while slots remain), otherwise the one for every shape.
static lov_compilation *compilation_for(lov_network *network, const lov_shape *shape, lov_error *error) {
    if (!network->dynamic) {
        if (network->slot_count == 0) {
            if (compile(network, NULL, &network->slots[0], error) != 0) return NULL;
            network->slot_count = 1;
        }
        return &network->slots[0];
    }
    for (int i = 0; i < network->slot_count; ++i) {
        if (same_shape(&network->slots[i].shape, shape)) return &network->slots[i];
    }
    if (network->slot_count < STATIC_SLOTS) {
        int seen = -1;
        for (int i = 0; i < network->counted_count; ++i) {
            if (same_shape(&network->counted[i], shape)) seen = i;
        }
        if (seen < 0 && network->counted_count < COUNTED_SHAPES) {
            seen = network->counted_count++;
            network->counted[seen] = *shape;
            network->counts[seen] = 0;
        }
        if (seen >= 0 && ++network->counts[seen] >= STATIC_AFTER) {
            lov_compilation *slot = &network->slots[network->slot_count];
            if (compile(network, shape, slot, error) != 0) return NULL;
            network->slot_count += 1;
            return slot;
        }
    }
    if (!network->any_shape.compiled && compile(network, NULL, &network->any_shape, error) != 0) return NULL;
    return &network->any_shape;
}

int lov_network_forward(lov_network *network, const float *input, const int64_t *shape, int rank,
                        const char *const *names, int name_count, const float **outputs, size_t *counts,
                        lov_error *error) {
    if (rank < 1 || rank > MAX_RANK || name_count < 0 || name_count > MAX_OUTPUTS) {
        if (error) snprintf(error->message, sizeof error->message, "unsupported input rank %d or %d outputs", rank, name_count);
        return -1;
    }
    lov_shape wanted = {.rank = rank};
    memcpy(wanted.dims, shape, sizeof(int64_t) * (size_t)rank);
    lov_compilation *compilation = compilation_for(network, &wanted, error);
    if (!compilation) return -1;
    release_fetched(network);

    ov_shape_t tensor_shape;
    ov_status_e status = ov_shape_create(rank, shape, &tensor_shape);
    if (status != OK) return fail(error, status, "describe the input");
    ov_tensor_t *tensor = NULL;
    status = ov_tensor_create_from_host_ptr(F32, tensor_shape, (void *)input, &tensor);
    ov_shape_free(&tensor_shape);
    if (status != OK) return fail(error, status, "wrap the input");
    status = ov_infer_request_set_input_tensor_by_index(compilation->request, 0, tensor);
    if (status == OK) status = ov_infer_request_infer(compilation->request);
    ov_tensor_free(tensor);
    if (status != OK) return fail(error, status, "run the network");

    for (int i = 0; i < name_count; ++i) {
        ov_tensor_t *output = NULL;
        status = ov_infer_request_get_tensor(compilation->request, names[i], &output);
        if (status != OK) return fail(error, status, "fetch an output");
        network->fetched[network->fetched_count++] = output;
        void *data = NULL;
        status = ov_tensor_data(output, &data);
        if (status == OK) status = ov_tensor_get_size(output, &counts[i]);
        if (status != OK) return fail(error, status, "read an output");
        outputs[i] = data;
    }
    return 0;
}
