#!/usr/bin/env bash
# Installs everything the verifier needs that cargo does not: Debian packages, the ONNX Runtime
# shared library (from the PyPI onnxruntime wheel, pinned by version and SHA-256) and the models
# (copied from a mirror into .cache/models, each pinned by SHA-256 in models/manifest.toml).
# Idempotent: a second run finds everything in place and installs nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
ORT_VERSION=1.32.0
# SHA-256 of onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl as PyPI serves it.
ORT_WHEEL_SHA256_x86_64=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d
ORT_LIB="$CACHE/onnxruntime/libonnxruntime.so.$ORT_VERSION"

say() { printf '[setup] %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
# fonts-ocr-b and fonts-dejavu-core: the synthetic documents' MRZ and ordinary text.
# curl: model downloads from http(s) mirrors. python3-pip: fetching the onnxruntime wheel.
APT_PACKAGES=(fonts-ocr-b fonts-dejavu-core curl ca-certificates unzip)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- ONNX Runtime shared library ---------------------------------------------------------------
if [ ! -f "$ORT_LIB" ]; then
    arch="$(uname -m)"
    if [ "$arch" != "x86_64" ]; then
        echo "[setup] no pinned onnxruntime wheel for $arch; add its SHA-256 to scripts/setup.sh" >&2
        exit 1
    fi
    command -v python3 >/dev/null || { echo "[setup] python3 with pip is needed to fetch onnxruntime" >&2; exit 1; }
    say "fetching onnxruntime $ORT_VERSION from PyPI"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi cp311 \
        --platform manylinux_2_28_x86_64 -d "$tmp" "onnxruntime==$ORT_VERSION"
    wheel="$(ls "$tmp"/onnxruntime-*.whl)"
    echo "$ORT_WHEEL_SHA256_x86_64  $wheel" | sha256sum --check --quiet || {
        echo "[setup] $wheel does not have the pinned SHA-256 $ORT_WHEEL_SHA256_x86_64" >&2
        exit 1
    }
    mkdir -p "$CACHE/onnxruntime"
    unzip -q -o -j "$wheel" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" -d "$CACHE/onnxruntime"
    ln -sf "libonnxruntime.so.$ORT_VERSION" "$CACHE/onnxruntime/libonnxruntime.so"
fi

# --- Models ------------------------------------------------------------------------------------
# The verifier binary does the copying and hashing; `models fetch` is quiet when all is cached.
say "checking models"
# SETUP_CARGO_PROFILE picks the build the caller will use next (`release` for `make run`), so
# the verifier is compiled once.
cargo run --quiet --locked --profile "${SETUP_CARGO_PROFILE:-dev}" -p verifier -- models fetch >/dev/null
say "ready: onnxruntime $ORT_VERSION, models in $CACHE/models"
