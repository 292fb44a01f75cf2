#!/usr/bin/env bash
# The unit file: `systemd-analyze verify` passes (on a copy pointing at the
# built binary), the sandbox rates "OK" or better in `systemd-analyze security`,
# it declares what interfaces.md asks for, and the sysusers file creates the
# dedicated user.
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (Debian package systemd)"
UNIT=$SRC/systemd/slad.service

mkdir -p "$WORK/units"
sed "s#^ExecStart=/usr/bin/slad #ExecStart=$BIN/slad #" "$UNIT" >"$WORK/units/slad.service"
grep -q "^ExecStart=$BIN/slad -c /etc/slad/slad.conf$" "$WORK/units/slad.service" || fail "ExecStart not found in $UNIT"
systemd-analyze verify "$WORK/units/slad.service" >"$WORK/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$WORK/verify.log")"
[ ! -s "$WORK/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$WORK/verify.log")"
ok "systemd-analyze verify"

systemd-analyze security --offline=true "$WORK/units/slad.service" >"$WORK/security.log" 2>&1 || true
line=$(grep 'Overall exposure level' "$WORK/security.log") || fail "no rating: $(tail -n 5 "$WORK/security.log")"
score=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1/p')
rating=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\2/p')
case "$rating" in PERFECT | SAFE | OK) ;; *) fail "systemd-analyze security rates the unit $score $rating" ;; esac
# Everything left is the network access slad needs (Kafka, PostgreSQL, HTTP): keep it there.
awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || fail "exposure $score went up (was 1.1)"
ok "systemd-analyze security: $score $rating"

has() { grep -Eq "^$1\$" "$UNIT" || fail "$UNIT lacks $1"; }
has 'Type=notify'
has 'ExecReload=/bin/kill -HUP \$MAINPID'
has 'Restart=on-failure'
has 'WatchdogSec=[0-9]+s'
has 'User=slad'
has 'NoNewPrivileges=yes'
has 'ProtectSystem=strict'
has 'SystemCallFilter=@system-service'
has 'CapabilityBoundingSet='
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$UNIT")
[ "${stop:-0}" -gt 10 ] || fail "TimeoutStopSec must exceed shutdown.timeout's default of 10 s"
ok "Type=notify, reload, restart, watchdog, dedicated user, hardening"

mkdir -p "$WORK/root/etc"
systemd-sysusers --root="$WORK/root" "$SRC/systemd/slad.sysusers" >"$WORK/sysusers.log" 2>&1 ||
	fail "systemd-sysusers: $(cat "$WORK/sysusers.log")"
grep -Eq '^slad:x:[0-9]+:[0-9]+:.*:/:/usr/sbin/nologin$' "$WORK/root/etc/passwd" ||
	fail "no slad user: $(cat "$WORK/root/etc/passwd")"
uid=$(awk -F: '$1 == "slad" { print $3 }' "$WORK/root/etc/passwd")
[ "$uid" -lt 1000 ] || fail "slad is not a system user (uid $uid)"
ok "sysusers creates the system user slad (uid $uid)"
echo "$passed passed, 0 failed"
