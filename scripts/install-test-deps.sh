#!/usr/bin/env bash
# Installs the Debian packages ferry's tests and benchmarks need (Dovecot for
# internal/testimap, isync/mbsync, PostgreSQL, Chromium).
#
# Idempotent: installs only missing packages and runs `apt-get update` (once)
# only when something is missing. Run as root on Debian 12. Services are not
# started: a temporary policy-rc.d denies service starts during the install.
set -euo pipefail

PACKAGES=(dovecot-core dovecot-imapd isync postgresql chromium)

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

missing=()
for pkg in "${PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
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

echo "install-test-deps: installing ${missing[*]} (log: $log)"
apt-get "${apt_opts[@]}" update >>"$log" 2>&1 || fail "apt-get update failed"
apt-get "${apt_opts[@]}" install "${missing[@]}" >>"$log" 2>&1 || fail "apt-get install ${missing[*]} failed"

for pkg in "${missing[@]}"; do
	installed "$pkg" || fail "package $pkg is still not installed"
done
for bin in /usr/sbin/dovecot /usr/bin/doveadm /usr/bin/mbsync; do
	[[ -x $bin ]] || fail "$bin is missing after the install"
done

rm -f "$log"
echo "install-test-deps: installed ${missing[*]}"
