#!/usr/bin/env bash
# The man pages slad(8), slactl(1) and slad.conf(5): `cmake --install` puts
# them in the man directory, man renders each without a warning and lexgrog
# finds its NAME; slad.conf(5) documents every key of the configuration table
# with the table's type, range, default, reloadability and variable, and
# deploy/slad.conf sets every key with the default and reloadability the
# table says; slactl(1) has every command of `slactl --help` and, in that
# command's part, every option of `slactl COMMAND --help` and no other; slad(8)
# has slad's commands and options.
. "$(dirname "$0")/lib.sh"
command -v man >/dev/null && command -v lexgrog >/dev/null ||
	fail "man and lexgrog are not installed (Debian packages man-db and groff-base)"
: "${MANDIR:?MANDIR must be the configured CMAKE_INSTALL_FULL_MANDIR}"
: "${CMAKE:=cmake}"
export LC_ALL=C.UTF-8 # man-db complains on stderr about a locale that is not installed
MKMAN=$BIN/slad_mkman
version=$("$BIN/slad" --version | sed -n 's/^slad //p')

# 1. Installed in section 8, 1 and 5 of the man directory, as built.
DESTDIR=$WORK/stage "$CMAKE" --install "$BIN" >"$WORK/install.log" 2>&1 || fail "cmake --install: $(tail -n 20 "$WORK/install.log")"
for p in man8/slad.8 man1/slactl.1 man5/slad.conf.5; do
	f=$WORK/stage$MANDIR/$p
	[ -f "$f" ] || fail "cmake --install did not install $MANDIR/$p"
	cmp -s "$f" "$BIN/man/${p#*/}" || fail "installed $p differs from $BIN/man/${p#*/}"
done
ok "cmake --install: $MANDIR/man8/slad.8, man1/slactl.1, man5/slad.conf.5"

# 2. Each renders without a warning, has a NAME lexgrog reads, and this version.
render() { MANWIDTH=80 man -E UTF-8 -l "$1" 2>/dev/null | col -bx; }
for name in slad.8 slactl.1 slad.conf.5; do
	page=$WORK/stage$MANDIR/man${name##*.}/$name
	MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>"$WORK/$name.warn" >/dev/null || fail "man -l $name failed: $(cat "$WORK/$name.warn")"
	[ ! -s "$WORK/$name.warn" ] || fail "man --warnings $name: $(cat "$WORK/$name.warn")"
	# Every groff warning, not only the macro ones.
	MANWIDTH=80 man --warnings=all -E UTF-8 -l "$page" 2>"$WORK/$name.warn" >/dev/null || true
	[ ! -s "$WORK/$name.warn" ] || fail "man --warnings=all $name: $(cat "$WORK/$name.warn")"
	whatis=$(lexgrog "$page") || fail "lexgrog $name: $whatis"
	grep -Eq "^$page: \"${name%.*} - .+\"$" <<<"$whatis" || fail "lexgrog $name: no NAME line: $whatis"
	render "$page" >"$WORK/$name.txt"
	grep -q "^slad $version " <<<"$(tail -n 1 "$WORK/$name.txt")" || fail "$name: footer is not slad $version: $(tail -n 1 "$WORK/$name.txt")"
	sections=(NAME SYNOPSIS DESCRIPTION ENVIRONMENT "SEE ALSO")
	case $name in slad.8) sections+=("EXIT STATUS" FILES) ;; slactl.1) sections+=("EXIT STATUS") ;; *) sections+=(FILES) ;; esac
	for section in "${sections[@]}"; do
		grep -qx "$section" "$WORK/$name.txt" || fail "$name has no $section section"
	done
	ok "$name: man --warnings quiet, lexgrog ${whatis#*: }, version $version"
done

# The text of one entry of a rendered page: from the line that is exactly
# the tag (at the page's indent) to the next tag or section, on one line.
entry() { # FILE TAG INDENT
	awk -v tag="$2" -v ind="$3" '
		function lead(s) { match(s, /^ */); return RLENGTH }
		inside && $0 != "" && lead($0) <= ind { exit }
		inside { print }
		!inside && lead($0) == ind && substr($0, ind + 1) == tag { inside = 1 }' "$1" | tr -s ' \n' '  '
}
# Options named in a text: -x and --long-name, after a space, bracket, comma or bar.
# grep -q reads here-strings, not pipes: under pipefail, a grep -q that
# stops at its first match can kill a writer still writing (bash's echo
# writes a line at a time) with SIGPIPE, and the check fails at random.
options() { grep -oE '(^|[][ ,|(])--?[A-Za-z][A-Za-z-]*' | sed 's/^[][ ,|(]//' | sort -u; }
without_examples() { sed '/^EXAMPLES$/,/^[A-Z]/{/^EXAMPLES$/d;/^[A-Z]/!d}' "$1"; }

# 3. slad.conf(5): every key of the table, with what the table says.
# Tab-separated; read splits on a non-blank separator so that empty fields stay.
"$MKMAN" --keys >"$WORK/keys.tsv" || fail "slad_mkman --keys"
tr '\t' '\037' <"$WORK/keys.tsv" >"$WORK/keys.us"
nkeys=$(wc -l <"$WORK/keys.tsv")
[ "$nkeys" -gt 10 ] || fail "slad_mkman --keys lists only $nkeys keys"
conf5=$WORK/slad.conf.5.txt
while IFS=$'\037' read -r key type def min max reload secret env values; do
	text=$(entry "$conf5" "$key" 7)
	[ -n "$text" ] || fail "slad.conf.5 has no entry for $key"
	want="$type"
	[ -z "$min" ] || want="$want from $min to $max"
	[ -z "$values" ] || want="$want, one of $(echo "$values" | sed 's/ /, /g')"
	if [ -n "$def" ]; then want="$want; default $def;"; else want="$want; default empty;"; fi
	[ "$reload" = yes ] && want="$want applied on SIGHUP." || want="$want needs a restart"
	case $text in " $want"*) ;; *) fail "slad.conf.5, $key: [$text] does not start with [$want]" ;; esac
	case $text in *"Environment: $env."*) ;; *) fail "slad.conf.5, $key: no Environment: $env" ;; esac
	[ "$secret" = no ] || case $text in *"never printed"*) ;; *) fail "slad.conf.5, $key: secret, not said" ;; esac
	grep -Eq "^ +$env +$key$" "$conf5" || fail "slad.conf.5, ENVIRONMENT: no $env for $key"
done <"$WORK/keys.us"
grep -q 'SLAD_KAFKA__PROPERTY' "$conf5" || fail "slad.conf.5 does not document SLAD_KAFKA__<PROPERTY>"
for prop in bootstrap.servers group.id enable.auto.commit; do
	[ -n "$(entry "$conf5" "$prop" 7)" ] || fail "slad.conf.5 does not list $prop among the refused Kafka properties"
done
ok "slad.conf.5: all $nkeys keys of the table with type, range or values, default, reload and variable"

# 4. deploy/slad.conf: check-config prints exactly the table's keys, and reads
# each of them from the file; each one's comment says what the table says.
cp "$SRC/deploy/slad.conf" "$WORK/slad.conf" # a short path: check-config's "where" keeps 80 characters
# No SLAD_* variable may interfere (lib.sh sets one); PostgreSQL need not answer,
# the keys are printed first.
env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
	"$BIN/slad" check-config -c "$WORK/slad.conf" >"$WORK/check.out" 2>"$WORK/check.err" || true
sed -n 's/^\([a-z][a-z0-9_.]*\) *= .* # \([^ ]*\)$/\1\t\2/p' "$WORK/check.out" >"$WORK/dump.tsv"
head -n "$nkeys" "$WORK/dump.tsv" | cut -f1 >"$WORK/dump.keys"
cut -f1 "$WORK/keys.tsv" | cmp -s - "$WORK/dump.keys" ||
	fail "slad check-config prints other keys than the table: $(cut -f1 "$WORK/keys.tsv" | diff - "$WORK/dump.keys")"
while IFS=$'\t' read -r key where; do
	case $where in "$WORK/slad.conf:"[0-9]*) ;; *) fail "deploy/slad.conf does not set $key (check-config: $where)" ;; esac
done < <(head -n "$nkeys" "$WORK/dump.tsv")

# deploy/slad.conf flattened: key, value, the comment above it (or above its
# group: the three input topics share one).
awk '
	function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
	/^ *#/ { c = $0; sub(/^ *# ?/, "", c); block = block " " c; next }
	/^ *$/ { block = ""; next }
	{
		match($0, /^ */); depth = RLENGTH / 2
		line = substr($0, RLENGTH + 1)
		colon = index(line, ":")
		name = substr(line, 1, colon - 1); value = trim(substr(line, colon + 1))
		sub(/ +#.*$/, "", value)
		if (value ~ /^".*"$/) value = substr(value, 2, length(value) - 2)
		path[depth] = name
		full = path[0]
		for (i = 1; i <= depth; i++) full = full "." path[i]
		if (value == "") { group = ""; block = ""; next }
		if (block != "") group = block
		printf "%s\t%s\t%s\n", full, value, group
		block = ""
	}' "$SRC/deploy/slad.conf" >"$WORK/file.tsv"
while IFS=$'\037' read -r key type def min max reload secret env values; do
	row=$(awk -F'\t' -v k="$key" '$1 == k' "$WORK/file.tsv")
	[ -n "$row" ] || fail "deploy/slad.conf has no line for $key"
	value=$(printf '%s' "$row" | cut -f2)
	comment=$(printf '%s' "$row" | cut -f3)
	case $comment in *"reload: $reload"*) ;; *) fail "deploy/slad.conf, $key: the table says reload: $reload; its comment: $comment" ;; esac
	if [ -n "$min" ]; then
		case $comment in *"$min to $max"* | *"$min or $max"*) ;; *) fail "deploy/slad.conf, $key: the table says $min to $max; its comment: $comment" ;; esac
	fi
	for v in $values; do
		grep -qw -- "$v" <<<"$comment" || fail "deploy/slad.conf, $key: the comment does not name the value $v"
	done
	# Every key is shown with its default, except the two a deployment must set.
	case $key in kafka.brokers | postgres.conninfo) continue ;; esac
	[ "$value" = "$def" ] || fail "deploy/slad.conf, $key: $value, but the default is $def"
done <"$WORK/keys.us"
ok "deploy/slad.conf: sets all $nkeys keys; comments agree with the table on reload, range, values; defaults equal"

# 5. slactl(1): every command, and in its part exactly its options.
slactl1=$WORK/slactl.1.txt
"$BIN/slactl" --help >"$WORK/slactl.help"
commands=$(sed -n '/^commands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$WORK/slactl.help")
[ "$(echo "$commands" | wc -w)" -ge 7 ] || fail "slactl --help lists only: $commands"
for c in $commands; do
	grep -qx "   $c" "$slactl1" || fail "slactl.1 has no part for slactl $c"
	part=$(awk -v c="$c" '/^[^ ]/ || /^   [^ ]/ { inside = ($0 == "   " c); next } inside' "$slactl1")
	"$BIN/slactl" "$c" --help >"$WORK/help.$c" || fail "slactl $c --help"
	have=$(echo "$part" | options)
	want=$(options <"$WORK/help.$c" | grep -vxE -- '-h|-V|--help|--version' || true)
	for o in $want; do
		grep -qx -- "$o" <<<"$have" || fail "slactl.1, $c: no $o (slactl $c --help has it)"
	done
	for o in $have; do
		grep -qx -- "$o" <<<"$(options <"$WORK/help.$c")" || fail "slactl.1, $c: $o, which slactl $c --help does not know"
	done
	log "slactl $c: $(echo $want)"
done
all=$(cat "$WORK"/help.* "$WORK/slactl.help" | options)
for o in $(without_examples "$slactl1" | options); do
	grep -qx -- "$o" <<<"$all" || fail "slactl.1 names $o, which no slactl --help has"
done
ok "slactl.1: $(echo $commands), each with the options of its --help"

# 6. slad(8): slad's commands, options and signals.
slad8=$WORK/slad.8.txt
"$BIN/slad" --help >"$WORK/slad.help"
for c in $(sed -n 's/^ *\(usage: \)\{0,1\}slad \([a-z][a-z-]*\) .*/\2/p' "$WORK/slad.help"); do
	grep -qx "       $c" "$slad8" || fail "slad.8 has no COMMANDS entry for $c"
done
for o in $(options <"$WORK/slad.help"); do
	grep -qE -- "(^|[ ,])$o( |,|$)" "$slad8" || fail "slad.8 lacks $o (slad --help has it)"
done
for o in $(without_examples "$slad8" | options); do
	grep -qx -- "$o" <<<"$(options <"$WORK/slad.help")" && continue
	# Not in the usage: then an alias of --help that the binary takes.
	[ "$("$BIN/slad" "$o" 2>&1)" = "$(cat "$WORK/slad.help")" ] || fail "slad.8 names $o, which slad neither lists nor takes"
done
for s in SIGHUP SIGTERM READY=1 /healthz /metrics /etc/slad/slad.conf /etc/slad/policies.yaml; do
	grep -q -- "$s" "$slad8" || fail "slad.8 does not mention $s"
done
ok "slad.8: the commands and options of slad --help, signals, sd_notify, /healthz, /metrics, files"
echo "$passed passed, 0 failed"
