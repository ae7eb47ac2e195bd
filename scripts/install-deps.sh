#!/usr/bin/env bash
# Installs what typeformer needs to build and test. Idempotent: a second run
# checks, prints where things are, and touches no network.
#
#   1. Debian packages (apt-get, only the missing ones).
#   2. ONNX, the C++ library (the graph's protobuf classes, the checker and
#      shape inference), built from the source distribution PyPI carries
#      (onnx-<version>.tar.gz, fetched by pip download, its sha256 pinned)
#      against Debian's protobuf, as static libraries with ONNX_ML=1 and
#      ONNX_NAMESPACE=onnx, into ${TYPEFORMER_DEPS:-<repo>/.deps}/onnx.
#      Debian's libonnx-dev (1.12) stops at opset 17; it is not used.
#   3. The ONNX Runtime C/C++ SDK, unless CMake can already find one on the
#      system. It is assembled into ${TYPEFORMER_DEPS:-<repo>/.deps}/onnxruntime:
#        lib/      libonnxruntime.so from the official Microsoft build that
#                  Maven Central ships (com.microsoft.onnxruntime:onnxruntime jar)
#        include/  the C/C++ API headers of the same upstream version, from
#                  Debian's libonnxruntime-dev package (fetched with apt-get
#                  download through a private apt state; nothing is installed)
#        lib/cmake/onnxruntime/  a CMake package: target onnxruntime::onnxruntime
#      Downloads are cached in ${TYPEFORMER_DEPS}/cache.
#
# Environment: TYPEFORMER_DEPS (default <repo>/.deps),
#              TYPEFORMER_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

# Pinned ONNX: the sdist on PyPI carries the C++ sources (no GitHub needed).
ONNX_VERSION=1.23.2
ONNX_SDIST_SHA256=008cb0467b2bbee41448acc7da8b6f4e704624cb0d327a2d5adafc7ce19bc5b8

# Pinned ONNX Runtime. Both sources must carry this exact upstream version:
# the Maven jar (its sha256 is pinned) and Debian's libonnxruntime-dev.
ORT_VERSION=1.23.2
ORT_JAR_SHA256=e0ab4a1af57d2da09097202f2dfd691e390c82e81183314788ccde4cf7c3cc38
ORT_DEBIAN_SUITES=(forky sid trixie experimental)
ORT_API=$(cut -d. -f2 <<<"$ORT_VERSION")   # ORT_API_VERSION is the minor number

APT_PACKAGES=(
  cmake ninja-build g++ pkg-config
  libprotobuf-dev protobuf-compiler
  libxtensor-dev xtl-dev libxtensor-blas-dev libopenblas-dev
  nlohmann-json3-dev libgtest-dev libbenchmark-dev libcli11-dev
  unzip time python3
  clang libclang-rt-dev
)

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps_dir=${TYPEFORMER_DEPS:-$repo_root/.deps}
ort_prefix=$deps_dir/onnxruntime
onnx_prefix=$deps_dir/onnx
cache_dir=$deps_dir/cache
debian_mirror=${TYPEFORMER_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { echo "typeformer: $*"; }
die() { echo "typeformer: error: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# ---------------------------------------------------------------- ONNX Runtime

# A config file that CMake's find_package(onnxruntime) would find by itself.
system_ort_config() {
  local pattern f
  for pattern in /usr/lib/cmake/onnxruntime/ /usr/lib/*/cmake/onnxruntime/ \
                 /usr/lib64/cmake/onnxruntime/ /usr/local/lib/cmake/onnxruntime/ \
                 /usr/local/lib/*/cmake/onnxruntime/ /usr/local/lib64/cmake/onnxruntime/ \
                 /usr/share/cmake/onnxruntime/ /usr/local/share/cmake/onnxruntime/; do
    for f in "$pattern"onnxruntimeConfig.cmake "$pattern"onnxruntime-config.cmake; do
      if [ -f "$f" ]; then echo "$f"; return 0; fi
    done
  done
  return 1
}

ort_prefix_complete() {
  [ -f "$ort_prefix/.typeformer-ort-version" ] &&
    [ "$(cat "$ort_prefix/.typeformer-ort-version")" = "$ORT_VERSION" ] &&
    [ -f "$ort_prefix/lib/libonnxruntime.so.$ORT_VERSION" ] &&
    [ -f "$ort_prefix/include/onnxruntime_cxx_api.h" ] &&
    [ -f "$ort_prefix/lib/cmake/onnxruntime/onnxruntimeConfig.cmake" ]
}

case "$(uname -m)" in
  x86_64) ort_jar_platform=linux-x64 ;;
  aarch64) ort_jar_platform=linux-aarch64 ;;
  *) ort_jar_platform= ;;
esac

ort_needed=false
ort_system_config=
if ort_system_config=$(system_ort_config); then
  :
elif ! ort_prefix_complete; then
  ort_needed=true
  [ -n "$ort_jar_platform" ] || die "no prebuilt ONNX Runtime for $(uname -m); install one where CMake finds it"
fi

# ------------------------------------------------------------------------ ONNX

onnx_prefix_complete() {
  [ -f "$onnx_prefix/.typeformer-onnx-version" ] &&
    [ "$(cat "$onnx_prefix/.typeformer-onnx-version")" = "$ONNX_VERSION" ] &&
    [ -f "$onnx_prefix/lib/libonnx.a" ] && [ -f "$onnx_prefix/lib/libonnx_proto.a" ] &&
    [ -f "$onnx_prefix/include/onnx/onnx-ml.pb.h" ] &&
    [ -f "$onnx_prefix/lib/cmake/ONNX/ONNXConfig.cmake" ]
}

onnx_needed=false
onnx_prefix_complete || onnx_needed=true

# ------------------------------------------------------------- Debian packages

packages=("${APT_PACKAGES[@]}")
# pip only fetches the ONNX sdist; needed only when that is to be done, the
# sdist is not cached yet and python3 has no pip.
if $onnx_needed && [ ! -f "$cache_dir/onnx-$ONNX_VERSION.tar.gz" ] &&
   ! python3 -m pip --version >/dev/null 2>&1; then
  packages+=(python3-pip)
fi
# Maven only fetches the ONNX Runtime jar; needed only when that is to be done
# and the jar is not cached yet.
if $ort_needed && [ ! -f "$cache_dir/onnxruntime-$ORT_VERSION.jar" ]; then
  packages+=(maven)
fi

installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for p in "${packages[@]}"; do
  grep -qx "$p installed" <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
else
  log "Debian packages: all ${#packages[@]} present"
fi

# ----------------------------------------------------------------- ONNX: build

fetch_onnx_sdist() {
  sdist=$cache_dir/onnx-$ONNX_VERSION.tar.gz
  if [ ! -f "$sdist" ]; then
    log "fetching the onnx $ONNX_VERSION source distribution from PyPI (pip download)"
    rm -rf "$cache_dir/pip-tmp"
    mkdir -p "$cache_dir/pip-tmp"
    # --no-binary onnx: the sdist, not a wheel. pip prepares its metadata in
    # an isolated environment (setuptools and the like, as wheels); nothing
    # is installed. (--no-binary :all: would build those from source too.)
    python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary onnx \
      -d "$cache_dir/pip-tmp" "onnx==$ONNX_VERSION" >"$cache_dir/pip.log" 2>&1 || {
      tail -n 20 "$cache_dir/pip.log" >&2
      die "pip could not download onnx==$ONNX_VERSION (log: $cache_dir/pip.log)"
    }
    rm -f "$cache_dir/pip.log"
    mv "$cache_dir/pip-tmp/onnx-$ONNX_VERSION.tar.gz" "$sdist" ||
      die "pip download gave no onnx-$ONNX_VERSION.tar.gz"
    rm -rf "$cache_dir/pip-tmp"
  fi
  echo "$ONNX_SDIST_SHA256  $sdist" | sha256sum -c --quiet - >/dev/null 2>&1 || {
    rm -f "$sdist"
    die "sha256 of onnx-$ONNX_VERSION.tar.gz is not the pinned one (deleted; rerun to refetch)"
  }
}

# The libraries, headers and CMake package (targets ONNX::onnx and
# ONNX::onnx_proto) of ONNX $ONNX_VERSION, linked against the system's shared
# libprotobuf: the one typeformer links.
build_onnx() {
  local rel_prefix=${onnx_prefix#"$repo_root"/}
  log "building ONNX $ONNX_VERSION (static onnx, onnx_proto) into $rel_prefix"
  mkdir -p "$cache_dir"
  local sdist  # set by fetch_onnx_sdist
  fetch_onnx_sdist

  local stage="$onnx_prefix.tmp.$$" work="$deps_dir/onnx-build.$$"
  rm -rf "$stage" "$work"
  mkdir -p "$stage" "$work"
  trap 'rm -rf "$stage" "$work"' EXIT
  tar -xzf "$sdist" -C "$work"
  local src=$work/onnx-$ONNX_VERSION
  [ -f "$src/CMakeLists.txt" ] || die "onnx-$ONNX_VERSION.tar.gz has no CMakeLists.txt"
  # ONNX asks for CMake 3.26; bookworm has 3.25.1, which configures, builds
  # and installs it as built here (no Python module, no tests) all the same.
  local cmake_version
  cmake_version=$(cmake --version | sed -n 's/^cmake version \([0-9.]*\).*/\1/p')
  if [ "$(printf '%s\n3.26\n' "$cmake_version" | sort -V | head -n1)" != 3.26 ]; then
    sed -i 's/^cmake_minimum_required(VERSION 3\.26)/cmake_minimum_required(VERSION 3.25)/' "$src/CMakeLists.txt"
  fi
  local jobs=${TYPEFORMER_ONNX_JOBS:-2} t0 t1
  t0=$(date +%s)
  cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$stage" -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF \
    -DONNX_ML=1 -DONNX_NAMESPACE=onnx -DONNX_USE_PROTOBUF_SHARED_LIBS=ON \
    -DONNX_BUILD_PYTHON=OFF -DONNX_BUILD_TESTS=OFF -DONNX_WERROR=OFF \
    >"$work/configure.log" 2>&1 || {
    tail -n 30 "$work/configure.log" >&2
    die "configuring ONNX $ONNX_VERSION failed"
  }
  cmake --build "$work/build" -j "$jobs" >"$work/build.log" 2>&1 || {
    tail -n 30 "$work/build.log" >&2
    die "building ONNX $ONNX_VERSION failed"
  }
  cmake --install "$work/build" >/dev/null || die "installing ONNX $ONNX_VERSION failed"
  t1=$(date +%s)
  echo "$ONNX_VERSION" >"$stage/.typeformer-onnx-version"
  rm -rf "$onnx_prefix"
  mv "$stage" "$onnx_prefix"
  rm -rf "$work"
  trap - EXIT
  log "ONNX $ONNX_VERSION built in $((t1 - t0)) s (-j$jobs)"
}

if $onnx_needed; then
  build_onnx
else
  log "ONNX $ONNX_VERSION: already in $onnx_prefix"
fi
log "ONNX prefix: $onnx_prefix (cmake/onnx.cmake finds it; or -DONNX_DIR=$onnx_prefix/lib/cmake/ONNX)"

# ------------------------------------------------------ ONNX Runtime: assemble

fetch_ort_jar() {
  jar=$cache_dir/onnxruntime-$ORT_VERSION.jar
  if [ ! -f "$jar" ]; then
    log "fetching com.microsoft.onnxruntime:onnxruntime:$ORT_VERSION from Maven Central"
    mkdir -p "$cache_dir/mvn-tmp"
    (cd "$cache_dir/mvn-tmp" &&
      mvn -B -q -C dependency:copy \
        "-Dartifact=com.microsoft.onnxruntime:onnxruntime:$ORT_VERSION:jar" \
        "-DoutputDirectory=$cache_dir/mvn-tmp") >"$cache_dir/mvn.log" 2>&1 || {
      tail -n 20 "$cache_dir/mvn.log" >&2
      die "mvn could not fetch com.microsoft.onnxruntime:onnxruntime:$ORT_VERSION (log: $cache_dir/mvn.log)"
    }
    rm -f "$cache_dir/mvn.log"
    mv "$cache_dir/mvn-tmp/onnxruntime-$ORT_VERSION.jar" "$jar"
    rm -rf "$cache_dir/mvn-tmp"
  fi
  echo "$ORT_JAR_SHA256  $jar" | sha256sum -c --quiet - >/dev/null 2>&1 || {
    rm -f "$jar"
    die "sha256 of onnxruntime-$ORT_VERSION.jar is not the pinned one (deleted; rerun to refetch)"
  }
}

# Debian's libonnxruntime-dev of the pinned upstream version, downloaded (not
# installed) through a private apt state so the system's sources stay as they are.
fetch_ort_headers_deb() {
  deb=$(compgen -G "$cache_dir/libonnxruntime-dev_${ORT_VERSION}[+-]*.deb" | head -n1 || true)
  [ -z "$deb" ] || return 0

  local apt_dir=$cache_dir/apt suite
  log "fetching the ONNX Runtime $ORT_VERSION headers (Debian libonnxruntime-dev)"
  rm -rf "$apt_dir"
  mkdir -p "$apt_dir"/{lists/partial,archives/partial,parts,prefs}
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg options=
  [ ! -f "$keyring" ] || options="[signed-by=$keyring] "
  local apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/parts"
    -o "Dir::Etc::Preferences=$apt_dir/prefs/none"
    -o "Dir::Etc::PreferencesParts=$apt_dir/prefs"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir"
    -o "Dir::Cache::archives=$apt_dir/archives"
    -o "Debug::NoLocking=1"
    -o "Acquire::Languages=none"
  )
  local target
  for target in DEP-11 DEP-11-icons-small DEP-11-icons DEP-11-icons-hidpi CNF; do
    apt_opts+=(-o "Acquire::IndexTargets::deb::$target::DefaultEnabled=false")
  done
  [ "$(id -u)" -ne 0 ] || apt_opts+=(-o "APT::Sandbox::User=root")
  # One suite at a time (about 10 MB of package lists each), first match wins.
  local suite version=
  for suite in "${ORT_DEBIAN_SUITES[@]}"; do
    echo "deb $options$debian_mirror $suite main" >"$apt_dir/sources.list"
    apt-get "${apt_opts[@]}" -qq update >/dev/null ||
      die "apt-get update of Debian suite $suite ($debian_mirror) failed"
    version=$(apt-cache "${apt_opts[@]}" madison libonnxruntime-dev 2>/dev/null |
      awk -F'|' '{gsub(/ /, "", $2); print $2}' |
      grep -E "^${ORT_VERSION//./\\.}([+~][^-]*)?-" | head -n1 || true)
    [ -z "$version" ] || break
  done
  [ -n "$version" ] || die "no Debian libonnxruntime-dev $ORT_VERSION in suites (${ORT_DEBIAN_SUITES[*]}); \
bump ORT_VERSION in scripts/install-deps.sh to a version that both Debian (libonnxruntime-dev) \
and Maven Central (com.microsoft.onnxruntime:onnxruntime) carry, and its ORT_JAR_SHA256"
  (cd "$cache_dir" && apt-get "${apt_opts[@]}" -qq download "libonnxruntime-dev=$version" >/dev/null) ||
    die "apt-get download libonnxruntime-dev=$version failed"
  rm -rf "$apt_dir"
  deb=$(compgen -G "$cache_dir/libonnxruntime-dev_${ORT_VERSION}[+-]*.deb" | head -n1 || true)
  [ -n "$deb" ] || die "libonnxruntime-dev .deb not found after download"
}

write_cmake_package() {
  local dir=$1/lib/cmake/onnxruntime soname=$2
  mkdir -p "$dir"
  cat >"$dir/onnxruntimeConfig.cmake" <<EOF
# Written by typeformer's scripts/install-deps.sh: ONNX Runtime $ORT_VERSION
# (libonnxruntime.so from the com.microsoft.onnxruntime:onnxruntime jar,
# headers from Debian's libonnxruntime-dev). Paths are relative to this file.
if(TARGET onnxruntime::onnxruntime)
  return()
endif()
get_filename_component(_typeformer_ort_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
add_library(onnxruntime::onnxruntime SHARED IMPORTED)
set_target_properties(onnxruntime::onnxruntime PROPERTIES
  IMPORTED_LOCATION "\${_typeformer_ort_prefix}/lib/libonnxruntime.so.$ORT_VERSION"
  IMPORTED_SONAME "$soname"
  INTERFACE_INCLUDE_DIRECTORIES "\${_typeformer_ort_prefix}/include")
set(onnxruntime_INCLUDE_DIRS "\${_typeformer_ort_prefix}/include")
set(onnxruntime_LIBRARIES onnxruntime::onnxruntime)
unset(_typeformer_ort_prefix)
EOF
  cat >"$dir/onnxruntimeConfigVersion.cmake" <<EOF
# Written by typeformer's scripts/install-deps.sh. Same-major compatibility.
set(PACKAGE_VERSION "$ORT_VERSION")
if(NOT CMAKE_SIZEOF_VOID_P STREQUAL "8")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
elseif(NOT PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION OR
       NOT PACKAGE_FIND_VERSION_MAJOR STREQUAL "${ORT_VERSION%%.*}")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
EOF
}

# Headers and library must be the pinned version: ORT_API_VERSION is the minor
# number, the library reports its version and must serve that API version.
verify_ort_prefix() {
  local prefix=$1 work=$2 out
  cat >"$work/check.cpp" <<'EOF'
#include <onnxruntime_cxx_api.h>
#include <cstdio>
#include <cstring>
int main(int argc, char** argv) {
  const OrtApiBase* base = OrtGetApiBase();
  const char* version = base->GetVersionString();
  std::printf("%s %d\n", version, ORT_API_VERSION);
  if (argc < 2 || std::strcmp(version, argv[1]) != 0) return 2;
  if (base->GetApi(ORT_API_VERSION) == nullptr) return 3;
  Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "typeformer-install-check");
  return 0;
}
EOF
  "${CXX:-c++}" -std=c++17 -o "$work/check" "$work/check.cpp" -I"$prefix/include" \
    -L"$prefix/lib" -lonnxruntime -Wl,-rpath,"$prefix/lib" ||
    die "the ONNX Runtime $ORT_VERSION headers do not compile against the library"
  out=$("$work/check" "$ORT_VERSION") || true
  [ "$out" = "$ORT_VERSION $ORT_API" ] || die "ONNX Runtime mismatch: library version and header \
ORT_API_VERSION are '$out', expected '$ORT_VERSION $ORT_API' (and the library must serve API $ORT_API)"
}

install_ort() {
  local rel_prefix=${ort_prefix#"$repo_root"/}
  log "installing ONNX Runtime $ORT_VERSION C/C++ SDK into $rel_prefix"
  mkdir -p "$cache_dir"
  local jar deb  # set by the two fetch functions
  fetch_ort_jar
  fetch_ort_headers_deb

  local stage="$ort_prefix.tmp.$$"
  rm -rf "$stage"
  mkdir -p "$stage/include" "$stage/lib" "$stage/work/deb"
  trap 'rm -rf "$stage"' EXIT

  # Library.
  unzip -q -o -j "$jar" "ai/onnxruntime/native/$ort_jar_platform/libonnxruntime.so" -d "$stage/work" ||
    die "no ai/onnxruntime/native/$ort_jar_platform/libonnxruntime.so in $(basename "$jar")"
  mv "$stage/work/libonnxruntime.so" "$stage/lib/libonnxruntime.so.$ORT_VERSION"
  local soname
  soname=$(readelf -d "$stage/lib/libonnxruntime.so.$ORT_VERSION" |
    sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
  [ -n "$soname" ] || die "libonnxruntime.so has no SONAME"
  [ "$soname" = "libonnxruntime.so.$ORT_VERSION" ] ||
    ln -s "libonnxruntime.so.$ORT_VERSION" "$stage/lib/$soname"
  [ "$soname" = libonnxruntime.so ] || ln -s "$soname" "$stage/lib/libonnxruntime.so"

  # Headers, flat in include/ as in Microsoft's release archives.
  dpkg-deb -x "$deb" "$stage/work/deb"
  [ -f "$stage/work/deb/usr/include/onnxruntime/onnxruntime_cxx_api.h" ] ||
    die "$(basename "$deb") has no usr/include/onnxruntime/onnxruntime_cxx_api.h"
  cp -R "$stage/work/deb/usr/include/onnxruntime/." "$stage/include/"

  write_cmake_package "$stage" "$soname"
  verify_ort_prefix "$stage" "$stage/work"
  rm -rf "$stage/work"
  echo "$ORT_VERSION" >"$stage/.typeformer-ort-version"

  rm -rf "$ort_prefix"
  mv "$stage" "$ort_prefix"
  trap - EXIT
  log "ONNX Runtime $ORT_VERSION (ORT_API_VERSION $ORT_API) verified"
}

if [ -n "$ort_system_config" ]; then
  log "ONNX Runtime: using the system's CMake package $ort_system_config"
  log "ONNX Runtime prefix: the system's ($(dirname "$ort_system_config"), found by CMake without hints)"
  exit 0
fi
if $ort_needed; then
  install_ort
else
  log "ONNX Runtime $ORT_VERSION: already in $ort_prefix"
fi
log "ONNX Runtime prefix: $ort_prefix (cmake/onnxruntime.cmake finds it; or -DCMAKE_PREFIX_PATH=$ort_prefix)"
