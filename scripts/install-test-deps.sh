#!/usr/bin/env bash
# Installs the Debian packages ferry's tests and benchmarks need (Dovecot and
# Courier-IMAP for internal/testimap, isync/mbsync, PostgreSQL, Chromium).
#
# Idempotent: installs only missing packages and runs `apt-get update` (once)
# only when something is missing. Run as root on Debian 12. Services are not
# started: a temporary policy-rc.d denies service starts during the install.
set -euo pipefail

PACKAGES=(dovecot-core dovecot-imapd isync postgresql chromium)

# Courier-IMAP 5.0 (internal/testimap StartCourier). courier-imap conflicts
# with dovecot-imapd (both provide imap-server), so courier-imap and
# courier-base are only unpacked (dpkg -x, no maintainer scripts, no
# services) into COURIER_ROOT; what they need and does not conflict comes
# from apt: courier-authlib (authdaemond, libcourierauth), its userdb module
# and the libraries.
COURIER_APT_PACKAGES=(courier-authlib courier-authlib-userdb libcourier-unicode4 libgamin0 libgdbm6 libidn12 libgnutls30 libpcre3)
COURIER_UNPACKED=(courier-imap courier-base)
COURIER_ROOT=${FERRY_COURIER_ROOT:-/opt/ferry-test/courier}

die() {
	echo "install-test-deps: error: $*" >&2
	exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root (e.g. sudo $0)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found; this script supports Debian 12 only"
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found; this script supports Debian 12 only"

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

courier_unpacked() {
	[[ -f $COURIER_ROOT/.unpacked && -x $COURIER_ROOT/usr/bin/imapd ]]
}

missing=()
for pkg in "${PACKAGES[@]}" "${COURIER_APT_PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]] && courier_unpacked; then
	echo "install-test-deps: all test dependencies are installed"
	exit 0
fi

log=$(mktemp /tmp/install-test-deps.XXXXXX.log)
policy=/usr/sbin/policy-rc.d
policy_backup=""

cleanup() {
	# Restore whatever policy-rc.d was there before.
	if [[ -n $policy_backup ]]; then
		mv -f "$policy_backup" "$policy"
	else
		rm -f "$policy"
	fi
}

fail() {
	echo "install-test-deps: error: $* (last lines of $log follow)" >&2
	tail -n 40 "$log" >&2 || true
	exit 1
}

# Never start services system-wide (invoke-rc.d and deb-systemd-invoke obey
# policy-rc.d; exit code 101 = action forbidden).
if [[ -e $policy || -L $policy ]]; then
	policy_backup=$(mktemp /usr/sbin/policy-rc.d.orig.XXXXXX)
	mv -f "$policy" "$policy_backup"
fi
trap cleanup EXIT
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 0755 "$policy"

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

echo "install-test-deps: installing ${missing[*]:-nothing from apt} (log: $log)"
apt-get "${apt_opts[@]}" update >>"$log" 2>&1 || fail "apt-get update failed"
if [[ ${#missing[@]} -gt 0 ]]; then
	apt-get "${apt_opts[@]}" install "${missing[@]}" >>"$log" 2>&1 || fail "apt-get install ${missing[*]} failed"
fi

for pkg in "${missing[@]}"; do
	installed "$pkg" || fail "package $pkg is still not installed"
done
for bin in /usr/sbin/dovecot /usr/bin/doveadm /usr/bin/mbsync; do
	[[ -x $bin ]] || fail "$bin is missing after the install"
done

# Unpacks COURIER_UNPACKED into COURIER_ROOT (replacing it whole, so a
# half-done earlier run leaves nothing behind) and checks the programs
# internal/testimap runs.
install_courier() {
	local tmp deb bin
	tmp=$(mktemp -d /tmp/install-test-deps-courier.XXXXXX)
	(cd "$tmp" && apt-get "${apt_opts[@]}" download "${COURIER_UNPACKED[@]}") >>"$log" 2>&1 ||
		fail "apt-get download ${COURIER_UNPACKED[*]} failed"
	rm -rf "$COURIER_ROOT.new"
	mkdir -p "$COURIER_ROOT.new"
	for deb in "$tmp"/*.deb; do
		dpkg-deb -x "$deb" "$COURIER_ROOT.new" >>"$log" 2>&1 || fail "dpkg-deb -x $deb failed"
		dpkg-deb -f "$deb" Package Version >>"$COURIER_ROOT.new/.unpacked"
	done
	rm -rf "$tmp" "$COURIER_ROOT"
	mv "$COURIER_ROOT.new" "$COURIER_ROOT"
	for bin in "$COURIER_ROOT/usr/sbin/couriertcpd" "$COURIER_ROOT/usr/lib/courier/courier/imaplogin" \
		"$COURIER_ROOT/usr/bin/imapd" /usr/lib/courier/courier-authlib/authdaemond \
		/usr/lib/courier/courier-authlib/makedatprog /usr/bin/unshare /usr/bin/setpriv; do
		[[ -x $bin ]] || fail "$bin is missing after the install"
	done
	echo "install-test-deps: unpacked ${COURIER_UNPACKED[*]} into $COURIER_ROOT"
}
courier_unpacked || install_courier

rm -f "$log"
echo "install-test-deps: installed ${missing[*]:-nothing from apt}"
