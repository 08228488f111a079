#!/usr/bin/env bash
# Builds dist-pkg/ufc_<version>_<arch>.deb: the collector under /usr/share/ufc with its production
# Node.js dependencies, /usr/bin/ufc, the flowcoll.service unit (alias ufc.service), a system user
# and /var/lib/ufc. Usage: scripts/package-deb.sh [OUTDIR] [COMPRESSION: xz|gzip|none]
set -euo pipefail
# The modes of what is staged here are the package's: under a umask such as 027 the directories came out
# 0750, which dpkg-deb refuses for DEBIAN/ and which would keep the files from the service's user.
umask 022
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist-pkg}
compress=${2:-xz}
version=$(node -p "require('$root/package.json').version")
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/root"
build="$work/build"
mkdir "$stage" "$build"
# The archive's root is /: its mode is recorded (and applied by dpkg-deb -x or tar).
chmod 0755 "$stage"

# Compiled from a copy of the sources into an empty dist/, so that only this build's output ships (the
# checkout's dist/ keeps files of sources since removed or renamed). The copy has the checkout's layout,
# so the source maps name the same relative paths.
cp -r "$root/src" "$root/package.json" "$root/tsconfig.json" "$root/tsconfig.build.json" "$build/"
ln -s "$root/node_modules" "$build/node_modules"
(cd "$build" && "$root/node_modules/.bin/tsc" -p tsconfig.build.json)
app="$stage/usr/share/ufc"
mkdir -p "$app" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/ufc" "$stage/etc/systemd/system/flowcoll.service.d" "$stage/DEBIAN"
cp -r "$root/package.json" "$root/package-lock.json" "$root/bin" "$build/dist" "$root/docs" "$root/README.md" "$app/"
# Static assets served at run time live beside their sources.
if [ -d "$root/src/web/static" ]; then mkdir -p "$app/src/web" && cp -r "$root/src/web/static" "$app/src/web/"; fi
if [ -d "$root/assets" ]; then cp -r "$root/assets" "$app/"; fi
# cp keeps the checkout's modes, which a umask of 027 when it was cloned made 0640/0750: readable by all
# here, as installed programs are.
chmod -R u=rwX,go=rX "$app"
# bin/ufc is a shell launcher: executable whatever the checkout kept.
chmod 0755 "$app/bin/ufc"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
install -m 0755 "$root/packaging/deb/ufc" "$stage/usr/bin/ufc"
install -m 0644 "$root/packaging/deb/flowcoll.service" "$stage/lib/systemd/system/flowcoll.service"
# The licences: ufc's (Apache-2.0) and those of the bundled databases (CC BY 4.0, with attribution).
install -D -m 0644 "$root/packaging/deb/copyright" "$stage/usr/share/doc/ufc/copyright"
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
Depends: nodejs (>= 20.18.1), adduser | passwd, libc6 (>= 2.25), libstdc++6, libgcc-s1
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
