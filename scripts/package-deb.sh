#!/usr/bin/env bash
# Builds dist-pkg/ufc_<version>_<arch>.deb: the collector under /usr/share/ufc with its production
# Node.js dependencies, /usr/bin/ufc, the flowcoll.service unit (alias ufc.service), a system user
# and /var/lib/ufc. Usage: scripts/package-deb.sh [OUTDIR] [COMPRESSION: xz|gzip|none]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist-pkg}
compress=${2:-xz}
version=$(node -p "require('$root/package.json').version")
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# The archive's root is /: mktemp's 0700 would be recorded for it (and applied by dpkg-deb -x or tar).
chmod 0755 "$stage"

(cd "$root" && npm run --silent build)
app="$stage/usr/share/ufc"
mkdir -p "$app" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/ufc" "$stage/etc/systemd/system/flowcoll.service.d" "$stage/DEBIAN"
cp -r "$root/package.json" "$root/package-lock.json" "$root/bin" "$root/dist" "$root/docs" "$root/README.md" "$app/"
# bin/ufc is a shell launcher: executable whatever the checkout kept.
chmod 0755 "$app/bin/ufc"
# Static assets served at run time live beside their sources.
if [ -d "$root/src/web/static" ]; then mkdir -p "$app/src/web" && cp -r "$root/src/web/static" "$app/src/web/"; fi
if [ -d "$root/assets" ]; then cp -r "$root/assets" "$app/"; fi
rm -rf "$app/dist/test" "$app/dist/bench" "$app/dist/scripts"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
install -m 0755 "$root/packaging/deb/ufc" "$stage/usr/bin/ufc"
install -m 0644 "$root/packaging/deb/flowcoll.service" "$stage/lib/systemd/system/flowcoll.service"
# ufc.env is where keys go: not readable by other users (postinst gives it to group ufc). The drop-in
# is kept private too, though what its Environment= lines set any user can read (systemctl show).
install -m 0640 "$root/packaging/deb/ufc.env" "$stage/etc/ufc/ufc.env"
install -m 0600 "$root/packaging/deb/flowcoll.conf" "$stage/etc/systemd/system/flowcoll.service.d/flowcoll.conf"
for s in postinst prerm postrm; do install -m 0755 "$root/packaging/deb/$s" "$stage/DEBIAN/$s"; done
printf '%s\n' /etc/ufc/ufc.env /etc/systemd/system/flowcoll.service.d/flowcoll.conf > "$stage/DEBIAN/conffiles"
size=$(du -sk "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: ufc
Version: $version
Architecture: $arch
Maintainer: ufc developers <ufc@localhost>
Depends: nodejs (>= 20), adduser | passwd, libc6 (>= 2.25), libstdc++6, libgcc-s1
Installed-Size: $size
Section: net
Priority: optional
Homepage: https://github.com/ufc-collector/ufc
Description: unified flow collector with RiskIQ PassiveTotal threat intelligence
 Receives NetFlow v1/v5/v7/v9, IPFIX and sFlow v5, enriches each flow (locality,
 Community ID, GeoIP/ASN, threat intelligence) and writes it to an embedded store,
 Elasticsearch, OpenSearch, ClickHouse or Kafka. Configured with EF_* variables;
 runs as flowcoll.service (alias ufc.service).
CONTROL
mkdir -p "$out"
deb="$out/ufc_${version}_${arch}.deb"
case "$compress" in none) z=(-Znone) ;; gzip) z=(-Zgzip -z1) ;; *) z=(-Zxz) ;; esac
dpkg-deb --root-owner-group "${z[@]}" --build "$stage" "$deb" >/dev/null
echo "$deb"
