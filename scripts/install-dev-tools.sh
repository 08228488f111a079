#!/usr/bin/env bash
# Installs the Debian tools and servers the tests use as oracles and peers:
# tshark (reference decoder), softflowd and pmacct (real exporters, nfacctd peer), nfdump (nfcapd peer),
# clickhouse-server (real store), chromium (browser tests), python3-scapy (pcap crafting), tcpreplay,
# openssl (certificates for the web server's HTTPS tests).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y -q --no-install-recommends \
  tshark softflowd pmacct nfdump clickhouse-server clickhouse-client chromium python3-scapy python3-cryptography netbase tcpreplay iproute2 procps openssl
