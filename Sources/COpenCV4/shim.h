// Only the C++ shim (CVision) includes OpenCV; this module exists so that
// SwiftPM passes the pkg-config flags of `opencv4` to it.
