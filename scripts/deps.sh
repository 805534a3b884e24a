#!/usr/bin/env bash
# Installs the Debian 12 packages Wharf needs, only those missing.
#   scripts/deps.sh build   compilers and libraries
#   scripts/deps.sh test    the above plus third-party clients used by tests/e2e and bench/
# Only Debian's archive (apt) and the npm registry are used.
set -euo pipefail

build_pkgs=(g++ cmake ninja-build pkg-config
  libasio-dev libfmt-dev libspdlog-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libisal-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev librdkafka-dev librabbitmq-dev
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libjemalloc-dev)
test_pkgs=(kcat python3 python3-confluent-kafka python3-kafka python3-snappy python3-lz4 python3-zstandard
  python3-pika amqp-tools python3-stomp chromium clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then
  want+=("${test_pkgs[@]}")
  # Node.js for the kafkajs tests: Debian's nodejs/npm unless a node is already installed.
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
