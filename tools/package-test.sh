#!/usr/bin/env bash
# package-test.sh - builds slad's Debian package from a clean copy of the tree
# and tests it on this machine: install with apt-get, the binaries, the
# installed configuration passing `slad check-config` (against a throwaway
# PostgreSQL cluster), the FHS layout, the man pages (man renders each without
# a warning), the slad user, the service neither enabled nor running, then
# remove (conffiles stay) and purge (they go).
# Usage, as root on Debian 12: tools/package-test.sh [OUT_DIR]
# The .deb (with its .buildinfo and .changes) lands in OUT_DIR, by default
# build-deb/ in the tree (ignored by git). Installs the Debian packages it
# misses (deploy/packages.txt, tests/packages.txt). Refuses to run when a
# slad package is already installed; on failure it purges what it installed.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/build-deb}
[ "$(id -u)" = 0 ] || { echo "package-test: run as root (it installs and purges the package)" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
passed=0
ok() { printf '# ok: %s\n' "$*" >&2; passed=$((passed + 1)); }
status() { dpkg-query -W -f='${db:Status-Abbrev}' slad 2>/dev/null | tr -d ' ' || true; }

case $(status) in '' | un | pn) ;; *) fail "a slad package is already installed ($(status)): remove it first" ;; esac
"$SRC/deploy/install-packages.sh" "$SRC/deploy/packages.txt" "$SRC/tests/packages.txt"

WORK=$(mktemp -d /tmp/slad-pkg.XXXXXX)
chmod 755 "$WORK"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
user_existed=no
getent passwd slad >/dev/null && user_existed=yes
made_run_pg=no
slad_pid="" mock_pid=""
cleanup() {
	local rc=$?
	[ -z "$slad_pid" ] || kill -9 "$slad_pid" 2>/dev/null || true
	[ -z "$mock_pid" ] || kill -9 "$mock_pid" 2>/dev/null || true
	if [ -f "$WORK/pg/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
	fi
	case $(status) in '' | un | pn) ;; *) "${APT[@]}" purge slad >/dev/null 2>&1 || true ;; esac
	# Purging leaves the system user (as Debian does); the test removes the one it made.
	if [ $user_existed = no ] && getent passwd slad >/dev/null; then userdel slad 2>/dev/null || true; fi
	[ $made_run_pg = no ] || rmdir /run/postgresql 2>/dev/null || true
	if [ $rc -ne 0 ]; then
		for f in "$WORK"/*.log "$WORK"/pg/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 40 lines)" >&2
			tail -n 40 "$f" >&2
		done
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT

# 1. Build from a clean copy: what git tracks plus new files it does not ignore
# (no build directories), so the checkout gets no debian/ build litter.
version=$(sed -n 's/^project(slad VERSION \([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")
debversion=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
[ "${debversion%%-*}" = "$version" ] || fail "debian/changelog says $debversion, CMakeLists.txt $version"
copy=$WORK/build/slad-$version
mkdir -p "$copy"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$SRC" && git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done | tar --null -T - -cf -) | tar -xf - -C "$copy"
else
	tar -C "$SRC" --exclude='./build*' --exclude=./var -cf - . | tar -xf - -C "$copy"
fi
log=$WORK/dpkg-buildpackage.log
(cd "$copy" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -us -uc >"$log" 2>&1) ||
	fail "dpkg-buildpackage: $(tail -n 30 "$log")"
deb=$(ls "$WORK"/build/slad_"${debversion}"_*.deb)
mkdir -p "$OUT"
rm -f "$OUT"/slad_*.deb "$OUT"/slad-dbgsym_*.deb "$OUT"/slad_*.buildinfo "$OUT"/slad_*.changes
cp "$WORK"/build/slad*_*.deb "$WORK"/build/slad_*.buildinfo "$WORK"/build/slad_*.changes "$OUT"/
deb=$OUT/$(basename "$deb")
ok "built $OUT/$(basename "$deb")"
for f in "$SRC"/debian/.debhelper "$SRC"/debian/slad "$SRC"/debian/files "$SRC"/debian/debhelper-build-stamp "$SRC"/obj-*; do
	[ ! -e "$f" ] || fail "a build left $f in the tree"
done

# What the package will do, from its control data (the maintainer scripts).
dpkg-deb -e "$deb" "$WORK/control"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libpq5 librdkafka1 libevent-2.1-7 libprotobuf-c1 libjson-c5 libyaml-0-2 libsystemd0 libc6 tzdata; do
	grep -Eq "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
ok "Depends from shlibs: $depends"
grep -q 'systemd-sysusers.* slad.conf' "$WORK/control/postinst" || fail "postinst does not run systemd-sysusers"
# Starting goes through deb-systemd-invoke; enabling is allowed only where an
# admin had enabled slad before (dh_installsystemd --no-enable's snippet).
! grep -q 'deb-systemd-invoke' "$WORK/control/postinst" || fail "postinst would start slad"
grep -q "deb-systemd-helper debian-installed 'slad.service'" "$WORK/control/postinst" &&
	[ "$(grep -c 'deb-systemd-helper enable' "$WORK/control/postinst")" = 1 ] ||
	fail "postinst would enable slad: $(grep -E 'deb-systemd' "$WORK/control/postinst")"
! grep -Eq 'deb-systemd-invoke .*stop' "$WORK/control/preinst" 2>/dev/null || fail "preinst stops slad on upgrade"
grep -Eq '"\$1" = remove .*/run/systemd/system' "$WORK/control/prerm" && grep -Eq 'deb-systemd-invoke stop .*slad.service' "$WORK/control/prerm" || fail "prerm does not stop slad on remove"
ok "maintainer scripts: sysusers on configure; never enable or start; stop only on remove"

# 2. Install it as a user would.
(cd "$(dirname "$deb")" && "${APT[@]}" install "./$(basename "$deb")") >"$WORK/apt-install.log" 2>&1 ||
	fail "apt-get install: $(tail -n 20 "$WORK/apt-install.log")"
[ "$(status)" = ii ] || fail "slad is $(status) after install"
ok "apt-get install ./$(basename "$deb")"

[ "$(slad --version)" = "slad $version" ] || fail "slad --version: $(slad --version)"
[ "$(slactl --version)" = "slactl $version" ] || fail "slactl --version: $(slactl --version)"
[ "$(command -v slad)" = /usr/bin/slad ] && [ "$(command -v slactl)" = /usr/bin/slactl ] ||
	fail "slad and slactl are not in /usr/bin"
ok "slad --version and slactl --version: $version"

# Every file in an FHS place, the configuration as conffiles, the unit and
# the configuration byte for byte the tree's.
dpkg -L slad >"$WORK/files.txt"
nfiles=0
while read -r f; do
	[ -d "$f" ] && continue
	nfiles=$((nfiles + 1))
	case $f in
	/usr/bin/slad | /usr/bin/slactl | /etc/slad/* | /lib/systemd/system/slad.service | \
		/usr/lib/sysusers.d/slad.conf | /usr/share/slad/* | /usr/share/doc/slad/* | /usr/share/man/*) ;;
	*) fail "file outside the expected places: $f" ;;
	esac
done <"$WORK/files.txt"
for f in /usr/bin/slad /usr/bin/slactl /etc/slad/slad.conf /etc/slad/policies.yaml \
	/lib/systemd/system/slad.service /usr/lib/sysusers.d/slad.conf \
	/usr/share/slad/grafana/dashboards/slad.json /usr/share/slad/grafana/provisioning/dashboards/slad.yaml \
	/usr/share/slad/grafana/provisioning/datasources/slad.yaml /usr/share/doc/slad/operations.md \
	/usr/share/doc/slad/README.md /usr/share/doc/slad/copyright /usr/share/doc/slad/changelog.gz; do
	grep -qx "$f" "$WORK/files.txt" || fail "the package lacks $f"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' slad | awk '{ print $1 }' | sort | tr '\n' ' ')
[ "$conffiles" = "/etc/slad/policies.yaml /etc/slad/slad.conf " ] || fail "conffiles: [$conffiles]"
cmp -s /lib/systemd/system/slad.service "$copy/systemd/slad.service" || fail "installed unit differs from systemd/slad.service"
cmp -s /etc/slad/slad.conf "$copy/deploy/slad.conf" || fail "installed slad.conf differs from deploy/slad.conf"
cmp -s /etc/slad/policies.yaml "$copy/deploy/policies.yaml" || fail "installed policies.yaml differs"
exec_bin=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' /lib/systemd/system/slad.service)
[ -x "$exec_bin" ] || fail "ExecStart names $exec_bin, which is not installed"
doc=$(sed -n 's#^Documentation=file://##p' /lib/systemd/system/slad.service)
[ -f "$doc" ] || fail "Documentation= names $doc, which is not installed"
ok "$nfiles files, all in FHS places; conffiles $conffiles; unit's ExecStart $exec_bin and $doc exist"

# The man pages (compressed by dh_compress): man finds each by name and
# renders it without a warning, and lexgrog reads its NAME (for whatis/apropos).
for page in man8/slad.8 man1/slactl.1 man5/slad.conf.5; do
	f=/usr/share/man/$page.gz
	name=$(basename "$page")
	sect=${name##*.} name=${name%.*}
	grep -qx "$f" "$WORK/files.txt" || fail "the package lacks $f"
	[ -f "$f" ] || fail "$f is listed but not on disk (a dpkg path-exclude for /usr/share/man?)"
	LC_ALL=C.UTF-8 man -aw "$sect" "$name" 2>/dev/null | grep -qx "$f" ||
		fail "man -aw $sect $name does not find $f: $(LC_ALL=C.UTF-8 man -aw "$sect" "$name" 2>&1)"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>"$WORK/man.warn" >/dev/null ||
		fail "man -l $f: $(cat "$WORK/man.warn")"
	[ ! -s "$WORK/man.warn" ] || fail "man --warnings $f: $(cat "$WORK/man.warn")"
	LC_ALL=C.UTF-8 lexgrog "$f" | grep -q ": \"$name - " || fail "lexgrog $f: $(lexgrog "$f" 2>&1)"
done
ok "man pages slad(8), slactl(1), slad.conf(5) in /usr/share/man: found by man, no warnings, NAME for whatis"

systemd-analyze verify /lib/systemd/system/slad.service >"$WORK/verify.log" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$WORK/verify.log")"
[ ! -s "$WORK/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$WORK/verify.log")"
ok "systemd-analyze verify /lib/systemd/system/slad.service"

# The user, made by systemd-sysusers from the postinst.
entry=$(getent passwd slad) || fail "no user slad after install"
grep -Eq '^slad:x:[0-9]+:[0-9]+:.*:/:/usr/sbin/nologin$' <<<"$entry" || fail "user slad: $entry"
uid=$(echo "$entry" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "slad is not a system user (uid $uid)"
getent group slad >/dev/null || fail "no group slad"
[ "$(stat -c '%U:%G %a' /etc/slad/slad.conf)" = "root:slad 640" ] ||
	fail "/etc/slad/slad.conf is $(stat -c '%U:%G %a' /etc/slad/slad.conf), want root:slad 640"
ok "system user slad (uid $uid$([ $user_existed = yes ] && echo ', existed before' || echo ', created by postinst')); slad.conf root:slad 0640"

# Neither enabled nor running.
enabled=$(systemctl is-enabled slad.service 2>/dev/null || true)
[ "$enabled" = disabled ] || fail "systemctl is-enabled slad: [$enabled], want disabled"
! ls /etc/systemd/system/*.wants/slad.service >/dev/null 2>&1 || fail "slad.service is linked in a .wants directory"
if [ -d /run/systemd/system ]; then
	active=$(systemctl is-active slad.service 2>/dev/null || true)
	[ "$active" = inactive ] || fail "systemctl is-active slad: [$active], want inactive"
fi
! pgrep -u slad >/dev/null || fail "a process runs as slad: $(pgrep -a -u slad)"
ok "slad.service disabled and not running (systemd $([ -d /run/systemd/system ] && echo is || echo is not) PID 1 here)"

# 3. check-config on the installed configuration as shipped, run as slad. Its
# conninfo (host=/run/postgresql dbname=slad user=slad) is what a Debian
# PostgreSQL with peer authentication serves: a throwaway cluster in
# /run/postgresql on a free port (PGPORT), not the system's 5432.
[ -n "$PGBIN" ] || fail "no PostgreSQL server (Debian package postgresql)"
if [ ! -d /run/postgresql ]; then
	install -d -o postgres -g postgres -m 2775 /run/postgresql
	made_run_pg=yes
fi
port=""
for p in $(seq 55432 55532); do
	[ -e "/run/postgresql/.s.PGSQL.$p" ] || [ -e "/run/postgresql/.s.PGSQL.$p.lock" ] || { port=$p; break; }
done
[ -n "$port" ] || fail "no free socket name in /run/postgresql"
mkdir -p "$WORK/pg" && chown postgres "$WORK/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth-local=peer --auth-host=reject \
	--no-sync >"$WORK/initdb.log" 2>&1 || fail "initdb"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -w -l "$WORK/pg/postgres.log" \
	-o "-k /run/postgresql -c listen_addresses= -c fsync=off -c port=$port" start >/dev/null || fail "postgres did not start"
pg() { runuser -u postgres -- psql -h /run/postgresql -p "$port" -qAtX -v ON_ERROR_STOP=1 "$@"; }
pg -c "CREATE DATABASE slad" >/dev/null
# The schema owner migrates (docs/operations.md); the daemon's role only writes.
printf 'postgres:\n  conninfo: "host=/run/postgresql port=%s dbname=slad"\n' "$port" >"$WORK/owner.conf"
chmod 644 "$WORK/owner.conf"
runuser -u postgres -- slad migrate -c "$WORK/owner.conf" >"$WORK/migrate.log" 2>&1 || fail "slad migrate: $(cat "$WORK/migrate.log")"
pg -d slad -c "CREATE ROLE slad LOGIN IN ROLE sla_writer" >/dev/null
runuser -u slad -- env PGPORT="$port" slad check-config >"$WORK/check-config.log" 2>&1 ||
	fail "slad check-config on the installed /etc/slad/slad.conf: $(cat "$WORK/check-config.log")"
grep -qx 'configuration: /etc/slad/slad.conf' "$WORK/check-config.log" || fail "check-config did not read /etc/slad/slad.conf"
grep -q '^policies: /etc/slad/policies.yaml, version ' "$WORK/check-config.log" || fail "check-config did not read /etc/slad/policies.yaml"
grep -qx 'configuration OK' "$WORK/check-config.log" || fail "check-config: $(cat "$WORK/check-config.log")"
ok "runuser -u slad -- slad check-config: /etc/slad/slad.conf and policies.yaml as installed, OK ($(grep -c '^calendar ' "$WORK/check-config.log") calendars)"

# 4. The installed slad started by hand, as systemd is not PID 1 here: as the
# slad user, with the installed /etc/slad/slad.conf, JSON logs (log.format
# from the environment, as an operator would set it for a collector), the
# installed slactl's mock Kafka. It gets ready, consumes a published demo and
# every line on stderr is one JSON object.
slactl mock-kafka --partitions 2 >"$WORK/mock.out" 2>"$WORK/mock.log" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$WORK/mock.out" ] && break; sleep 0.1; done
brokers=$(head -n 1 "$WORK/mock.out")
[ -n "$brokers" ] || fail "slactl mock-kafka printed no bootstrap servers"
runuser -u slad -- env PGPORT="$port" SLAD_LOG_FORMAT=json SLAD_KAFKA_BROKERS="$brokers" \
	SLAD_HTTP_LISTEN=127.0.0.1:0 slad >"$WORK/slad.out" 2>"$WORK/slad.json" &
slad_pid=$!
ready=""
for _ in $(seq 300); do
	ready=$(jq -r 'select(.message | startswith("ready:")) | .message' "$WORK/slad.json" 2>/dev/null | head -n 1)
	[ -n "$ready" ] && break
	kill -0 "$slad_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$ready" ] || fail "the installed slad did not log ready in JSON: $(tail -n 5 "$WORK/slad.json")"
slactl gen --seed 3 --tickets 20 --out "$WORK/demo.jsonl" 2>/dev/null
SLAD_KAFKA_BROKERS="$brokers" slactl publish "$WORK/demo.jsonl" >/dev/null 2>"$WORK/publish.log" ||
	fail "slactl publish: $(cat "$WORK/publish.log")"
want=$(grep -c . "$WORK/demo.jsonl")
got=0
for _ in $(seq 300); do
	got=$(pg -d slad -c "SELECT count(*) FROM sla.ticket_events")
	[ "$got" = "$want" ] && break
	sleep 0.1
done
[ "$got" = "$want" ] || fail "the installed slad stored $got of $want events"
# runuser waits for slad and passes its exit status on: the signal goes to slad.
pkill -TERM -u slad -x slad || fail "no slad process of user slad"
wait "$slad_pid" || fail "slad exited $? on SIGTERM"
slad_pid=""
kill -TERM "$mock_pid" && wait "$mock_pid" || true
mock_pid=""
lines=$(grep -c . "$WORK/slad.json")
jq -s -e 'all(.[]; type == "object" and has("time") and has("level") and has("message"))' "$WORK/slad.json" >/dev/null 2>&1 ||
	fail "a log line is not a JSON object with time, level and message: $(head -n 3 "$WORK/slad.json")"
[ "$(jq -s length "$WORK/slad.json")" = "$lines" ] || fail "not one JSON object per line"
ok "the installed slad as user slad (outside systemd): ready, consumed $want events, $lines JSON log lines, exit 0 on SIGTERM"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null

# An upgrade (here: the same package again) keeps an edited conffile and its
# mode, and creates no second user.
echo "# edited by package-test" >>/etc/slad/slad.conf
(cd "$(dirname "$deb")" && "${APT[@]}" install --reinstall "./$(basename "$deb")") >"$WORK/apt-reinstall.log" 2>&1 ||
	fail "apt-get install --reinstall: $(tail -n 20 "$WORK/apt-reinstall.log")"
[ "$(tail -n 1 /etc/slad/slad.conf)" = "# edited by package-test" ] || fail "reinstall replaced the edited slad.conf"
[ "$(stat -c '%U:%G %a' /etc/slad/slad.conf)" = "root:slad 640" ] || fail "reinstall changed slad.conf's mode"
[ "$(getent passwd slad)" = "$entry" ] || fail "reinstall changed the user: $(getent passwd slad)"
[ "$(systemctl is-enabled slad.service 2>/dev/null || true)" = disabled ] || fail "reinstall enabled slad"
ok "apt-get install --reinstall: edited slad.conf kept (root:slad 0640), same user, still disabled"

# 4. Remove: the programs go, the conffiles stay. Purge: they go too.
"${APT[@]}" remove slad >"$WORK/apt-remove.log" 2>&1 || fail "apt-get remove: $(tail -n 20 "$WORK/apt-remove.log")"
[ "$(status)" = rc ] || fail "slad is $(status) after remove, want rc"
[ ! -e /usr/bin/slad ] && [ ! -e /usr/bin/slactl ] && [ ! -e /lib/systemd/system/slad.service ] ||
	fail "remove left the programs or the unit"
[ -f /etc/slad/slad.conf ] && [ -f /etc/slad/policies.yaml ] || fail "remove took the conffiles"
ok "apt-get remove slad: programs gone, /etc/slad/slad.conf and policies.yaml kept"

"${APT[@]}" purge slad >"$WORK/apt-purge.log" 2>&1 || fail "apt-get purge: $(tail -n 20 "$WORK/apt-purge.log")"
case $(status) in '' | un | pn) ;; *) fail "slad is $(status) after purge" ;; esac
[ ! -e /etc/slad ] || fail "purge left /etc/slad: $(ls -A /etc/slad)"
! dpkg-statoverride --list /etc/slad/slad.conf >/dev/null || fail "purge left the statoverride"
ok "apt-get purge slad: /etc/slad and the statoverride gone (the user slad stays, as Debian leaves system users)"
echo "$passed passed, 0 failed; the package is $OUT/$(basename "$deb")"
