#!/usr/bin/env bash
# Installs the Debian packages ferry's tests and benchmarks need (Dovecot for
# internal/testimap, isync/mbsync, PostgreSQL, Chromium, Radicale for
# internal/testdav) and unpacks Cyrus
# IMAP and Courier-IMAP for internal/testimap.StartCyrus and StartCourier (see
# install_cyrus and install_courier below).
#
# Idempotent: installs only missing packages, downloads nothing that is
# already there and runs `apt-get update` (once) only when something is
# missing. Run as root on Debian 12. Services are not started: a temporary
# policy-rc.d denies service starts during the install.
set -euo pipefail

PACKAGES=(dovecot-core dovecot-imapd isync postgresql chromium radicale)

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

log=""
policy=/usr/sbin/policy-rc.d
policy_backup=""
policy_written=""

cleanup() {
	[[ -n $policy_written ]] || return 0
	# Restore whatever policy-rc.d was there before.
	if [[ -n $policy_backup ]]; then
		mv -f "$policy_backup" "$policy"
	else
		rm -f "$policy"
	fi
}
trap cleanup EXIT

fail() {
	[[ -n $log ]] || die "$*"
	echo "install-test-deps: error: $* (last lines of $log follow)" >&2
	tail -n 40 "$log" >&2 || true
	exit 1
}

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# prepare_apt runs once, before the first apt-get call: it opens the log,
# makes sure no service starts and refreshes the package lists.
prepare_apt() {
	[[ -z $log ]] || return 0
	log=$(mktemp /tmp/install-test-deps.XXXXXX.log)
	echo "install-test-deps: log: $log"
	# Never start services system-wide (invoke-rc.d and deb-systemd-invoke
	# obey policy-rc.d; exit code 101 = action forbidden).
	if [[ -e $policy || -L $policy ]]; then
		policy_backup=$(mktemp /usr/sbin/policy-rc.d.orig.XXXXXX)
		mv -f "$policy" "$policy_backup"
	fi
	policy_written=1
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	apt-get "${apt_opts[@]}" update >>"$log" 2>&1 || fail "apt-get update failed"
}

# install_missing installs those of the given packages that are not.
install_missing() {
	local pkg missing=()
	for pkg in "$@"; do
		installed "$pkg" || missing+=("$pkg")
	done
	[[ ${#missing[@]} -gt 0 ]] || return 0
	prepare_apt
	echo "install-test-deps: installing ${missing[*]}"
	apt-get "${apt_opts[@]}" install "${missing[@]}" >>"$log" 2>&1 || fail "apt-get install ${missing[*]} failed"
	for pkg in "${missing[@]}"; do
		installed "$pkg" || fail "package $pkg is still not installed"
	done
}

install_missing "${PACKAGES[@]}"
for bin in /usr/sbin/dovecot /usr/bin/doveadm /usr/bin/mbsync; do
	[[ -x $bin ]] || fail "$bin is missing after the install"
done

# --- Cyrus IMAP ---------------------------------------------------------------
# cyrus-imapd conflicts with dovecot-imapd (both provide imap-server), so it is
# not installed: the packages of the candidate version are downloaded and
# unpacked (dpkg -x) into CYRUS_ROOT, from where testimap.StartCyrus runs them.
# Only their shared-library dependencies are installed, with sasl2-bin
# (saslpasswd2 writes the test users' passwords), and the unprivileged system
# user `cyrus` that Cyrus's master switches to (the package's postinst, which
# would create it, does not run).
CYRUS_ROOT=${FERRY_CYRUS_ROOT:-/opt/ferry-test/cyrus}
CYRUS_PACKAGES=(cyrus-common cyrus-imapd)
CYRUS_BINS=(master imapd ctl_cyrusdb)

# cyrus_unresolved prints the shared libraries the unpacked binaries miss.
cyrus_unresolved() {
	local libdirs
	libdirs=$(printf '%s:' "$CYRUS_ROOT"/usr/lib/*-linux-gnu)
	for bin in "${CYRUS_BINS[@]}"; do
		LD_LIBRARY_PATH=$libdirs ldd "$CYRUS_ROOT/usr/lib/cyrus/bin/$bin" 2>&1 | awk '/not found/ {print $1}'
	done | sort -u
}

cyrus_ready() {
	[[ -s $CYRUS_ROOT/.version ]] || return 1
	for bin in "${CYRUS_BINS[@]}"; do
		[[ -x $CYRUS_ROOT/usr/lib/cyrus/bin/$bin ]] || return 1
	done
	[[ -x /usr/sbin/saslpasswd2 ]] && getent passwd cyrus >/dev/null && [[ -z $(cyrus_unresolved) ]]
}

install_cyrus() {
	if cyrus_ready; then
		echo "install-test-deps: Cyrus IMAP $(cat "$CYRUS_ROOT/.version") is unpacked in $CYRUS_ROOT"
		return 0
	fi
	prepare_apt
	local version
	version=$(apt-cache policy cyrus-imapd | awk '$1 == "Candidate:" {print $2}')
	[[ -n $version && $version != "(none)" ]] || fail "apt knows no cyrus-imapd package (is the Debian main archive in the sources?)"

	if [[ $(cat "$CYRUS_ROOT/.version" 2>/dev/null) != "$version" ]]; then
		echo "install-test-deps: unpacking Cyrus IMAP $version into $CYRUS_ROOT"
		local tmp pkg deb
		tmp=$(mktemp -d /tmp/install-test-deps-cyrus.XXXXXX)
		chmod 0755 "$tmp" # apt-get download fetches as _apt
		local wanted=()
		for pkg in "${CYRUS_PACKAGES[@]}"; do wanted+=("$pkg=$version"); done
		(cd "$tmp" && apt-get "${apt_opts[@]}" download "${wanted[@]}") >>"$log" 2>&1 ||
			fail "apt-get download ${wanted[*]} failed"
		rm -rf "$CYRUS_ROOT.new"
		mkdir -p "$CYRUS_ROOT.new"
		for deb in "$tmp"/*.deb; do
			dpkg -x "$deb" "$CYRUS_ROOT.new" >>"$log" 2>&1 || fail "dpkg -x $deb failed"
		done
		# Written last: a present .version means a complete unpack.
		printf '%s\n' "$version" >"$CYRUS_ROOT.new/.version"
		rm -rf "$CYRUS_ROOT" "$tmp"
		mv "$CYRUS_ROOT.new" "$CYRUS_ROOT"
	fi

	# The libraries the packages depend on ("libfoo (>= 1) | libbar" -> libfoo).
	local libs
	mapfile -t libs < <(apt-cache show --no-all-versions "${CYRUS_PACKAGES[@]/%/=$version}" |
		sed -n 's/^Depends: //p' | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/:any//; s/[[:space:]]//g' |
		grep '^lib' | sort -u)
	install_missing "${libs[@]}" sasl2-bin

	if ! getent passwd cyrus >/dev/null; then
		echo "install-test-deps: creating the system user cyrus (group mail)"
		useradd --system --gid mail --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin cyrus >>"$log" 2>&1 || fail "useradd cyrus failed"
	fi

	local unresolved
	unresolved=$(cyrus_unresolved)
	[[ -z $unresolved ]] || fail "Cyrus binaries in $CYRUS_ROOT still miss libraries: $unresolved"
	[[ -x /usr/sbin/saslpasswd2 ]] || fail "/usr/sbin/saslpasswd2 is missing after the install"
	echo "install-test-deps: Cyrus IMAP $version is ready in $CYRUS_ROOT"
}

install_cyrus

# --- Courier-IMAP -------------------------------------------------------------
# courier-imap conflicts with dovecot-imapd (both provide imap-server), so
# courier-imap and courier-base are only unpacked (dpkg -x, no maintainer
# scripts, no services) into COURIER_ROOT, from where testimap.StartCourier
# runs them. What they need and does not conflict comes from apt:
# courier-authlib (authdaemond, libcourierauth), its userdb module and the
# libraries.
COURIER_ROOT=${FERRY_COURIER_ROOT:-/opt/ferry-test/courier}
COURIER_APT_PACKAGES=(courier-authlib courier-authlib-userdb libcourier-unicode4 libgamin0 libgdbm6 libidn12 libgnutls30 libpcre3)
COURIER_UNPACKED=(courier-imap courier-base)

courier_unpacked() {
	[[ -f $COURIER_ROOT/.unpacked && -x $COURIER_ROOT/usr/bin/imapd ]]
}

install_courier() {
	install_missing "${COURIER_APT_PACKAGES[@]}"
	if ! courier_unpacked; then
		prepare_apt
		local tmp deb
		tmp=$(mktemp -d /tmp/install-test-deps-courier.XXXXXX)
		chmod 0755 "$tmp" # apt-get download fetches as _apt
		(cd "$tmp" && apt-get "${apt_opts[@]}" download "${COURIER_UNPACKED[@]}") >>"$log" 2>&1 ||
			fail "apt-get download ${COURIER_UNPACKED[*]} failed"
		# Replaced whole, so that a half-done earlier run leaves nothing.
		rm -rf "$COURIER_ROOT.new"
		mkdir -p "$COURIER_ROOT.new"
		for deb in "$tmp"/*.deb; do
			dpkg -x "$deb" "$COURIER_ROOT.new" >>"$log" 2>&1 || fail "dpkg -x $deb failed"
			dpkg-deb -f "$deb" Package Version >>"$COURIER_ROOT.new/.unpacked"
		done
		rm -rf "$tmp" "$COURIER_ROOT"
		mv "$COURIER_ROOT.new" "$COURIER_ROOT"
		echo "install-test-deps: unpacked ${COURIER_UNPACKED[*]} into $COURIER_ROOT"
	fi
	local bin
	for bin in "$COURIER_ROOT/usr/sbin/couriertcpd" "$COURIER_ROOT/usr/lib/courier/courier/imaplogin" \
		"$COURIER_ROOT/usr/bin/imapd" /usr/lib/courier/courier-authlib/authdaemond \
		/usr/lib/courier/courier-authlib/makedatprog /usr/bin/unshare /usr/bin/setpriv; do
		[[ -x $bin ]] || fail "$bin is missing after the install"
	done
}

install_courier

if [[ -n $log ]]; then
	rm -f "$log"
	echo "install-test-deps: done"
else
	echo "install-test-deps: all test dependencies are installed"
fi
