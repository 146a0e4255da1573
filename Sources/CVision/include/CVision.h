// CVision: the small C API over OpenCV 4 that Lineup's Vision module wraps.
//
// It only moves pixels and runs networks: decoding, resizing, affine warps,
// blob packing and ONNX inference through cv::dnn. Everything that decides
// something (output decoding, NMS, alignment geometry, quality, policy) lives
// in Swift. Functions that can fail return NULL or a non-zero status and fill
// `lcv_error` with OpenCV's message; no C++ exception crosses this boundary.
#ifndef LINEUP_CVISION_H
#define LINEUP_CVISION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lcv_image lcv_image;
typedef struct lcv_net lcv_net;

typedef struct lcv_error {
    char message[512];
} lcv_error;

/// OpenCV's version string, e.g. "4.6.0".
const char *lcv_opencv_version(void);

/// Sets the number of threads OpenCV uses for one operation (0 = OpenCV's default).
void lcv_set_num_threads(int threads);
int lcv_get_num_threads(void);

// MARK: Images (8-bit, 3-channel BGR)

/// Decodes JPEG, PNG, WebP, BMP or TIFF bytes to BGR, applying EXIF orientation.
lcv_image *lcv_image_decode(const uint8_t *bytes, size_t length, lcv_error *error);
/// Copies `height` rows of `width` BGR pixels, `stride` bytes apart.
lcv_image *lcv_image_from_bgr(const uint8_t *pixels, int width, int height, size_t stride, lcv_error *error);
void lcv_image_free(lcv_image *image);
int lcv_image_width(const lcv_image *image);
int lcv_image_height(const lcv_image *image);
/// Pointer to the first BGR row; `stride` receives the distance between rows in bytes.
const uint8_t *lcv_image_pixels(const lcv_image *image, size_t *stride);

/// Resizes with area interpolation when shrinking and linear when enlarging.
lcv_image *lcv_image_resize(const lcv_image *image, int width, int height, lcv_error *error);
/// Warps with the 2x3 affine matrix (row-major, source to destination), linear interpolation.
lcv_image *lcv_image_warp_affine(const lcv_image *image, const double matrix[6], int width, int height, lcv_error *error);
/// Crops the rectangle, clipped to the image; NULL when nothing is left.
lcv_image *lcv_image_crop(const lcv_image *image, int x, int y, int width, int height, lcv_error *error);

/// Encodes as JPEG (quality 1-100) or PNG (`format` "jpg" or "png"). Free with lcv_buffer_free.
int lcv_image_encode(const lcv_image *image, const char *format, int quality, uint8_t **bytes, size_t *length, lcv_error *error);
void lcv_buffer_free(uint8_t *bytes);

/// Writes one planar float image (3 x height x width) into `out`: the image resized to
/// `scaled_width` x `scaled_height`, placed at the top-left corner, zero padding
/// elsewhere; channels RGB when `swap_rb`, mirrored left-right when `mirror`.
/// Values stay in 0...255.
int lcv_image_to_planar(const lcv_image *image, int scaled_width, int scaled_height, int width, int height,
                        int swap_rb, int mirror, float *out, lcv_error *error);

// MARK: Networks

/// Loads an ONNX model for cv::dnn on the CPU.
lcv_net *lcv_net_load_onnx(const char *path, lcv_error *error);
void lcv_net_free(lcv_net *net);
/// Runs the network on a float NCHW input and fetches the named outputs. `outputs[i]`
/// and `counts[i]` receive each output's data and element count; the data stays owned
/// by the network and is valid until its next forward or free. Not thread-safe.
int lcv_net_forward(lcv_net *net, const float *input, const int *shape, int rank,
                    const char *const *names, int name_count,
                    const float **outputs, size_t *counts, lcv_error *error);

// MARK: Video

typedef struct lcv_video lcv_video;
typedef struct lcv_video_writer lcv_video_writer;

/// Opens a video file through OpenCV's videoio (FFmpeg on Debian).
lcv_video *lcv_video_open(const char *path, lcv_error *error);
void lcv_video_free(lcv_video *video);
/// Frames per second as the container states it (0 when unknown).
double lcv_video_fps(const lcv_video *video);
/// Skips `skip` frames without decoding them, then decodes the next one. Returns NULL
/// at the end of the video (with an empty error message) or on failure.
lcv_image *lcv_video_next(lcv_video *video, int skip, lcv_error *error);

/// Writes a video (`fourcc` such as "MJPG"), for tests and tools.
lcv_video_writer *lcv_video_writer_open(const char *path, const char *fourcc, double fps, int width, int height,
                                        lcv_error *error);
int lcv_video_writer_write(lcv_video_writer *writer, const lcv_image *frame, lcv_error *error);
void lcv_video_writer_free(lcv_video_writer *writer);

#ifdef __cplusplus
}
#endif

#endif
