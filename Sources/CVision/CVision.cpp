#include "CVision.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cstring>
#include <string>
#include <vector>

struct lcv_image {
    cv::Mat mat;
};

struct lcv_video {
    cv::VideoCapture capture;
};

struct lcv_video_writer {
    cv::VideoWriter writer;
};

struct lcv_net {
    cv::dnn::Net net;
    std::vector<cv::Mat> outputs;
};

namespace {

void fail(lcv_error *error, const char *message) {
    if (error == nullptr) return;
    std::strncpy(error->message, message, sizeof(error->message) - 1);
    error->message[sizeof(error->message) - 1] = '\0';
}

void fail(lcv_error *error, const cv::Exception &e) {
    std::string text = e.err.empty() ? e.what() : e.err;
    if (!e.func.empty()) text += " (in " + e.func + ")";
    fail(error, text.c_str());
}

// Runs `body`, turning any exception into an error report.
template <typename T, typename Body>
T guarded(lcv_error *error, T failure, Body body) {
    try {
        return body();
    } catch (const cv::Exception &e) {
        fail(error, e);
    } catch (const std::exception &e) {
        fail(error, e.what());
    } catch (...) {
        fail(error, "unknown error");
    }
    return failure;
}

lcv_image *wrap(cv::Mat mat) {
    auto *image = new lcv_image;
    image->mat = std::move(mat);
    return image;
}

struct QuietLogs {
    QuietLogs() { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR); }
} quietLogs;

}  // namespace

extern "C" {

const char *lcv_opencv_version(void) { return CV_VERSION; }

void lcv_set_num_threads(int threads) { cv::setNumThreads(threads > 0 ? threads : -1); }

int lcv_get_num_threads(void) { return cv::getNumThreads(); }

lcv_image *lcv_image_decode(const uint8_t *bytes, size_t length, lcv_error *error) {
    return guarded<lcv_image *>(error, nullptr, [&]() -> lcv_image * {
        cv::Mat encoded(1, static_cast<int>(length), CV_8UC1, const_cast<uint8_t *>(bytes));
        cv::Mat decoded = cv::imdecode(encoded, cv::IMREAD_COLOR);
        if (decoded.empty()) {
            fail(error, "OpenCV could not decode the image data");
            return nullptr;
        }
        return wrap(std::move(decoded));
    });
}

lcv_image *lcv_image_from_bgr(const uint8_t *pixels, int width, int height, size_t stride, lcv_error *error) {
    return guarded<lcv_image *>(error, nullptr, [&]() -> lcv_image * {
        cv::Mat view(height, width, CV_8UC3, const_cast<uint8_t *>(pixels), stride);
        return wrap(view.clone());
    });
}

void lcv_image_free(lcv_image *image) { delete image; }

int lcv_image_width(const lcv_image *image) { return image->mat.cols; }

int lcv_image_height(const lcv_image *image) { return image->mat.rows; }

const uint8_t *lcv_image_pixels(const lcv_image *image, size_t *stride) {
    *stride = image->mat.step[0];
    return image->mat.ptr<uint8_t>(0);
}

lcv_image *lcv_image_resize(const lcv_image *image, int width, int height, lcv_error *error) {
    return guarded<lcv_image *>(error, nullptr, [&]() -> lcv_image * {
        cv::Mat out;
        bool shrinking = width * height < image->mat.cols * image->mat.rows;
        cv::resize(image->mat, out, cv::Size(width, height), 0, 0,
                   shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
        return wrap(std::move(out));
    });
}

lcv_image *lcv_image_warp_affine(const lcv_image *image, const double matrix[6], int width, int height,
                                 lcv_error *error) {
    return guarded<lcv_image *>(error, nullptr, [&]() -> lcv_image * {
        cv::Mat m(2, 3, CV_64F, const_cast<double *>(matrix));
        cv::Mat out;
        cv::warpAffine(image->mat, out, m, cv::Size(width, height), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
        return wrap(std::move(out));
    });
}

lcv_image *lcv_image_crop(const lcv_image *image, int x, int y, int width, int height, lcv_error *error) {
    return guarded<lcv_image *>(error, nullptr, [&]() -> lcv_image * {
        cv::Rect rect = cv::Rect(x, y, width, height) & cv::Rect(0, 0, image->mat.cols, image->mat.rows);
        if (rect.empty()) {
            fail(error, "the crop lies outside the image");
            return nullptr;
        }
        return wrap(image->mat(rect).clone());
    });
}

int lcv_image_encode(const lcv_image *image, const char *format, int quality, uint8_t **bytes, size_t *length,
                     lcv_error *error) {
    return guarded<int>(error, -1, [&]() -> int {
        std::vector<uchar> buffer;
        std::string extension = std::string(".") + format;
        std::vector<int> params;
        if (extension == ".jpg") params = {cv::IMWRITE_JPEG_QUALITY, quality};
        if (!cv::imencode(extension, image->mat, buffer, params)) {
            fail(error, "OpenCV could not encode the image");
            return -1;
        }
        *bytes = static_cast<uint8_t *>(std::malloc(buffer.size()));
        std::memcpy(*bytes, buffer.data(), buffer.size());
        *length = buffer.size();
        return 0;
    });
}

void lcv_buffer_free(uint8_t *bytes) { std::free(bytes); }

int lcv_image_to_planar(const lcv_image *image, int scaled_width, int scaled_height, int width, int height,
                        int swap_rb, int mirror, float *out, lcv_error *error) {
    return guarded<int>(error, -1, [&]() -> int {
        cv::Mat source = image->mat;
        if (scaled_width != source.cols || scaled_height != source.rows) {
            bool shrinking = scaled_width * scaled_height < source.cols * source.rows;
            cv::resize(source, source, cv::Size(scaled_width, scaled_height), 0, 0,
                       shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
        }
        if (mirror) cv::flip(source, source, 1);
        int rows = std::min(height, source.rows), cols = std::min(width, source.cols);
        std::memset(out, 0, sizeof(float) * 3 * width * height);
        std::vector<cv::Mat> planes;
        for (int c = 0; c < 3; ++c) planes.emplace_back(height, width, CV_32F, out + c * width * height);
        std::vector<cv::Mat> channels;
        cv::split(source(cv::Rect(0, 0, cols, rows)), channels);
        for (int c = 0; c < 3; ++c) {
            int from = swap_rb ? 2 - c : c;
            channels[from].convertTo(planes[c](cv::Rect(0, 0, cols, rows)), CV_32F);
        }
        return 0;
    });
}

lcv_net *lcv_net_load_onnx(const char *path, lcv_error *error) {
    return guarded<lcv_net *>(error, nullptr, [&]() -> lcv_net * {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
        if (net.empty()) {
            fail(error, "the ONNX model has no layers");
            return nullptr;
        }
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        auto *wrapper = new lcv_net;
        wrapper->net = std::move(net);
        return wrapper;
    });
}

void lcv_net_free(lcv_net *net) { delete net; }

int lcv_net_forward(lcv_net *net, const float *input, const int *shape, int rank, const char *const *names,
                    int name_count, const float **outputs, size_t *counts, lcv_error *error) {
    return guarded<int>(error, -1, [&]() -> int {
        cv::Mat blob(rank, shape, CV_32F, const_cast<float *>(input));
        net->net.setInput(blob);
        std::vector<cv::String> outputNames(names, names + name_count);
        net->outputs.clear();
        net->net.forward(net->outputs, outputNames);
        for (int i = 0; i < name_count; ++i) {
            cv::Mat &output = net->outputs[i];
            if (!output.isContinuous()) output = output.clone();
            outputs[i] = output.ptr<float>();
            counts[i] = output.total();
        }
        return 0;
    });
}

lcv_video *lcv_video_open(const char *path, lcv_error *error) {
    return guarded<lcv_video *>(error, nullptr, [&]() -> lcv_video * {
        auto *video = new lcv_video;
        if (!video->capture.open(path, cv::CAP_ANY)) {
            delete video;
            fail(error, "OpenCV could not open the video (unsupported container or codec, or not a video)");
            return nullptr;
        }
        return video;
    });
}

void lcv_video_free(lcv_video *video) { delete video; }

double lcv_video_fps(const lcv_video *video) { return video->capture.get(cv::CAP_PROP_FPS); }

lcv_image *lcv_video_next(lcv_video *video, int skip, lcv_error *error) {
    if (error) error->message[0] = '\0';
    return guarded<lcv_image *>(error, nullptr, [&]() -> lcv_image * {
        for (int i = 0; i < skip; ++i) {
            if (!video->capture.grab()) return nullptr;
        }
        cv::Mat frame;
        if (!video->capture.read(frame) || frame.empty()) return nullptr;
        if (frame.type() != CV_8UC3) cv::cvtColor(frame, frame, frame.channels() == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_BGRA2BGR);
        return wrap(std::move(frame));
    });
}

lcv_video_writer *lcv_video_writer_open(const char *path, const char *fourcc, double fps, int width, int height,
                                        lcv_error *error) {
    return guarded<lcv_video_writer *>(error, nullptr, [&]() -> lcv_video_writer * {
        auto *writer = new lcv_video_writer;
        int code = cv::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]);
        if (!writer->writer.open(path, code, fps, cv::Size(width, height))) {
            delete writer;
            fail(error, "OpenCV could not open the video for writing");
            return nullptr;
        }
        return writer;
    });
}

int lcv_video_writer_write(lcv_video_writer *writer, const lcv_image *frame, lcv_error *error) {
    return guarded<int>(error, -1, [&]() -> int {
        writer->writer.write(frame->mat);
        return 0;
    });
}

void lcv_video_writer_free(lcv_video_writer *writer) { delete writer; }

}  // extern "C"
