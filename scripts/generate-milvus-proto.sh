#!/usr/bin/env bash
# Regenerates the Swift code of Lineup's part of Milvus's gRPC protocol:
#
#   Sources/Milvus/Protocol/milvus.proto  →  Sources/Milvus/Protocol/milvus.pb.swift
#                                            Sources/Milvus/Protocol/milvus.grpc.swift
#
# The generated files are committed: building the two protoc plugins takes about ten
# minutes, so neither the build nor CI runs this. Run it after editing milvus.proto.
# It installs Debian's protoc when missing and builds the plugins of the same
# swift-protobuf and grpc-swift-protobuf versions Package.swift names, in
# .lineup/protoc-plugins (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
plugins=$root/.lineup/protoc-plugins
protocol=Sources/Milvus/Protocol
say() { printf '==> %s\n' "$*" >&2; }

if ! command -v protoc >/dev/null; then
    say "installing Debian's protobuf-compiler"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq protobuf-compiler >/dev/null
fi

# The versions must match Package.swift's, or the generated code may not compile against them.
protobuf_version=$(sed -n 's|.*apple/swift-protobuf", exact: "\([0-9.]*\)".*|\1|p' Package.swift)
grpc_protobuf_version=$(sed -n 's|.*grpc/grpc-swift-protobuf", exact: "\([0-9.]*\)".*|\1|p' Package.swift)
[ -n "$protobuf_version" ] && [ -n "$grpc_protobuf_version" ] \
    || { echo "Package.swift names no exact swift-protobuf / grpc-swift-protobuf version" >&2; exit 1; }

mkdir -p "$plugins"
cat > "$plugins/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "ProtocPlugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "$protobuf_version"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "$grpc_protobuf_version"),
    ],
    targets: [.target(name: "Nothing", path: "Nothing")]
)
SWIFT
mkdir -p "$plugins/Nothing" && echo "// The plugins are the dependencies' products." > "$plugins/Nothing/Nothing.swift"
say "building protoc-gen-swift $protobuf_version and protoc-gen-grpc-swift-2 $grpc_protobuf_version (minutes the first time)"
(cd "$plugins" && swift build -c release --product protoc-gen-swift >/dev/null && swift build -c release --product protoc-gen-grpc-swift-2 >/dev/null)
bin=$(cd "$plugins" && swift build -c release --show-bin-path)

say "generating $protocol/milvus.pb.swift and milvus.grpc.swift"
protoc --proto_path="$protocol" \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" --swift_out="$protocol" --swift_opt=Visibility=Internal \
    --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" --grpc-swift_out="$protocol" \
    --grpc-swift_opt=Visibility=Internal,Server=false,Client=true \
    "$protocol/milvus.proto"
say "done; commit the two generated files with milvus.proto"
