#!/usr/bin/env bash
# demo/run.sh: a guided tour of Vigil's stale-SA recovery, on one machine.
#
# Builds vigild and vigil, wires up four network namespaces
#
#   hostA ── gwA ══ IPsec (192.0.2.0/24) ══ gwB ── hostB
#   10.1.0.0/24                              10.2.0.0/24
#
# runs a Vigil daemon on each gateway, brings the site-to-site tunnel up,
# sends traffic across it, then makes gwB silently forget its Child SA while its
# IKE SA lives on (a flushed SA table, a failover that synced IKE but not ESP
# state, a bug) and shows gwA noticing and repairing the tunnel on its own: the event timeline, the measured outage and
# the probe stream's loss. Everything is removed on exit, also on Ctrl-C.
#
# Usage: sudo ./demo/run.sh [--quick] [--keep] [--clean]
#   --quick  shorter pauses (used in CI); the same checks
#   --keep   leave the namespaces and daemons running and print how to poke them
#   --clean  remove what a --keep run (or a killed run) left behind, then exit
#
# Needs root, Debian 12 or similar, Go at /usr/local/go/bin (or on PATH).
# Missing iproute2, iputils-ping (and ca-certificates) are installed with apt-get.
# Exit status: 0 when the tunnel came up and recovery was observed, 1 otherwise,
# 2 on usage errors.
set -Eeuo pipefail

readonly PREFIX=vgdemo
readonly NS_HA=$PREFIX-hostA NS_GA=$PREFIX-gwA NS_GB=$PREFIX-gwB NS_HB=$PREFIX-hostB
readonly ALL_NS=("$NS_HA" "$NS_GA" "$NS_GB" "$NS_HB")
readonly HOST_A=10.1.0.2 GWA_LAN=10.1.0.1 GWA_WAN=192.0.2.1
readonly HOST_B=10.2.0.2 GWB_LAN=10.2.0.1 GWB_WAN=192.0.2.2
readonly NET_A=10.1.0.0/24 NET_B=10.2.0.0/24
readonly PROBE_INTERVAL=0.01 # seconds between probe-stream packets (100 per second)
readonly TUNNEL_DEADLINE=30  # seconds for the tunnel to come up
readonly RECOVERY_DEADLINE=30

QUICK=0
KEEP=0
CLEAN=0

usage() {
	sed -n '2,/^set -Eeuo/{/^#/s/^# \{0,1\}//p}' "$0"
}

for arg in "$@"; do
	case "$arg" in
	--quick) QUICK=1 ;;
	--keep) KEEP=1 ;;
	--clean) CLEAN=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "run.sh: unknown option $arg (try --help)" >&2
		exit 2
		;;
	esac
done

# Pauses that make the tour readable; --quick shortens them.
if ((QUICK)); then
	BASELINE=1 # seconds of probe traffic before the SA is lost
	AFTER=1    # seconds of probe traffic after recovery
else
	BASELINE=4
	AFTER=3
fi

# ---- output helpers ------------------------------------------------------------------------

if [ -t 1 ]; then
	BOLD=$'\e[1m' DIM=$'\e[2m' GREEN=$'\e[32m' RED=$'\e[31m' RESET=$'\e[0m'
else
	BOLD='' DIM='' GREEN='' RED='' RESET=''
fi
STEP=0
section() {
	STEP=$((STEP + 1))
	printf '\n%s== %d. %s%s\n' "$BOLD" "$STEP" "$*" "$RESET"
}
say() { printf '%s\n' "$*"; }
note() { printf '%s   %s%s\n' "$DIM" "$*" "$RESET"; }
# run: show a command as the reader would type it, then run it (indented).
run() {
	printf '%s$ %s%s\n' "$BOLD" "$*" "$RESET"
	"$@" 2>&1 | sed 's/^/  /'
}
# pause SECONDS: sleeps, but lets a SIGTERM or SIGINT to this script act at once.
pause() {
	sleep "$1" &
	PAUSE_PID=$!
	wait "$PAUSE_PID"
	PAUSE_PID=''
}
ok() { printf '%s✔ %s%s\n' "$GREEN" "$*" "$RESET"; }
die() {
	printf '%s✘ %s%s\n' "$RED" "$*" "$RESET" >&2
	FINISHED=1 # with --keep, leave everything in place for a look
	exit 1
}

# ---- cleanup -------------------------------------------------------------------------------

WORK=''
PIDS_VIGILD=()
PROBE_PID=''
FOLLOW_PID=''
PAUSE_PID=''
FINISHED=0 # set when the script ends by itself (success or failure), not on a signal

# stop_pid sends SIGTERM to pid and waits up to 5 s for it to go, then SIGKILLs it.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# remove_namespaces ends every process still inside the demo's namespaces (all of them
# were started by this script), then deletes the namespaces.
remove_namespaces() {
	local ns pid
	for ns in "${ALL_NS[@]}"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			stop_pid "$pid"
		done
		ip netns del "$ns" 2>/dev/null || true
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$PROBE_PID" ]; then
		kill -CONT "$PROBE_PID" 2>/dev/null || true
		kill -INT "$PROBE_PID" 2>/dev/null || true
		wait "$PROBE_PID" 2>/dev/null || true
	fi
	[ -n "$FOLLOW_PID" ] && { kill "$FOLLOW_PID" 2>/dev/null || true; wait "$FOLLOW_PID" 2>/dev/null || true; }
	[ -n "$PAUSE_PID" ] && { kill "$PAUSE_PID" 2>/dev/null || true; wait "$PAUSE_PID" 2>/dev/null || true; }
	if ((KEEP && FINISHED)) && [ -n "$WORK" ]; then
		keep_instructions
		exit "$rc"
	fi
	if ((${#PIDS_VIGILD[@]})) || [ -n "$WORK" ]; then
		printf '\n%s== cleaning up: stopping the daemons, deleting the namespaces and %s%s\n' "$DIM" "${WORK:-the work directory}" "$RESET"
	fi
	local pid
	for pid in "${PIDS_VIGILD[@]}"; do
		stop_pid "$pid" # SIGTERM: vigild deletes its SAs and removes its TUN device
	done
	remove_namespaces
	[ -n "$WORK" ] && rm -rf -- "$WORK"
	if ((${#PIDS_VIGILD[@]})) || [ -n "$WORK" ]; then
		printf '%s   done: no %s-* namespaces and no demo processes are left%s\n' "$DIM" "$PREFIX" "$RESET"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM

# clean_leftovers is --clean: removes what a --keep run left (namespaces, daemons, work dirs).
clean_leftovers() {
	local d
	remove_namespaces
	for d in /tmp/vgdemo.*; do
		[ -f "$d/.vgdemo" ] && rm -rf -- "$d"
	done
	echo "demo namespaces, daemons and work directories removed"
}

keep_instructions() {
	cat <<EOF

${BOLD}== the demo is still running (--keep)${RESET}
  binaries  $WORK/bin (vigil, vigild)
  gwA       config $WORK/gwA/vigil.toml, log $WORK/gwA/vigild.log, socket $SOCK_A
  gwB       config $WORK/gwB/vigil.toml, log $WORK/gwB/vigild.log, socket $SOCK_B

  Try:
    export PATH=$WORK/bin:\$PATH
    vigil --socket $SOCK_A tunnel list
    vigil --socket $SOCK_A sa list
    vigil --socket $SOCK_A events --follow        # in a second terminal
    ip netns exec $NS_HA ping $HOST_B
    vigil --socket $SOCK_B sa list                # note gwB's inbound SPI ("in 0x...")
    vigil --socket $SOCK_B sa delete --spi 0x... --no-notify   # lose the SA again
    vigil --socket $SOCK_A sa rekey --spi 0x...   # a make-before-break rekey
    vigil --socket $SOCK_A tunnel down site-b     # and: tunnel up site-b
    ip netns exec $NS_GA bash -c 'exec 3<>/dev/tcp/127.0.0.1/9745; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3' | grep ^vigil_

  When done:  sudo $0 --clean
EOF
}

if ((CLEAN)); then
	[ "$(id -u)" -eq 0 ] || die "--clean needs root (sudo $0 --clean)"
	clean_leftovers
	exit 0
fi

# ---- 1. preflight --------------------------------------------------------------------------

section "Preflight: root, packages, Go"
[ "$(id -u)" -eq 0 ] || die "run me as root: sudo $0 (network namespaces and TUN devices need it)"
cd "$(dirname "$0")/.."
REPO=$(pwd)
export PATH="$PATH:/usr/local/go/bin"

missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v ping >/dev/null || missing+=(iputils-ping)
# Go downloads the modules over HTTPS the first time.
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if ((${#missing[@]})); then
	say "installing ${missing[*]} ..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || die "Go not found (expected at /usr/local/go/bin)"
if [ ! -c /dev/net/tun ]; then
	modprobe tun 2>/dev/null || true
	[ -c /dev/net/tun ] || die "/dev/net/tun is missing (load the tun module)"
fi
ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here"
say "$(go version); $(ip -V); $(ping -V 2>&1 | head -n1)"

# Leftovers: a running demo (--keep) is left alone; namespaces from a killed run are removed.
for ns in "${ALL_NS[@]}"; do
	[ -e "/run/netns/$ns" ] || continue
	if [ -n "$(ip netns pids "$ns" 2>/dev/null)" ]; then
		die "a demo is already running (namespace $ns has processes); stop it with: sudo $0 --clean"
	fi
	note "removing leftover namespace $ns"
	ip netns del "$ns"
done
ok "ready"

WORK=$(mktemp -d /tmp/vgdemo.XXXXXX)
touch "$WORK/.vgdemo" # marks the directory for --clean
mkdir -p "$WORK/bin" "$WORK/gwA" "$WORK/gwB"
SOCK_A=$WORK/gwA/vigil.sock
SOCK_B=$WORK/gwB/vigil.sock
VIGIL=$WORK/bin/vigil
VIGILD=$WORK/bin/vigild

# ---- 2. build ------------------------------------------------------------------------------

section "Building vigild (the daemon) and vigil (its command-line client)"
say "go build from $REPO into $WORK/bin (the first build downloads modules; allow a minute)"
(cd "$REPO" && CGO_ENABLED=0 go build -o "$VIGILD" ./cmd/vigild && CGO_ENABLED=0 go build -o "$VIGIL" ./cmd/vigil) ||
	die "build failed"
run "$VIGILD" --version
ok "built"

# ---- 3. topology ---------------------------------------------------------------------------

section "Building the network: four namespaces, three links"
cat <<EOF
  $NS_HA   eth0 $HOST_A/24
        |                                        site A: $NET_A
  $NS_GA     lan0 $GWA_LAN/24   wan0 $GWA_WAN/24   <- vigild
        |  IKE + ESP                             "the internet": 192.0.2.0/24
  $NS_GB     wan0 $GWB_WAN/24   lan0 $GWB_LAN/24   <- vigild
        |                                        site B: $NET_B
  $NS_HB   eth0 $HOST_B/24
EOF
note "The gateways have no route to the far site: hostA can reach hostB only through the tunnel."

for ns in "${ALL_NS[@]}"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	# IPv6 off: no router solicitations or link-local chatter in the demo.
	# shellcheck disable=SC2016 # $f expands in the inner shell
	ip netns exec "$ns" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -e $f ] && echo 1 > $f; done; true'
done
# veth NS_A IF_A ADDR_A NS_B IF_B ADDR_B: a link between two namespaces.
veth() {
	ip -n "$1" link add "$2" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}
veth "$NS_HA" eth0 "$HOST_A/24" "$NS_GA" lan0 "$GWA_LAN/24"
veth "$NS_GA" wan0 "$GWA_WAN/24" "$NS_GB" wan0 "$GWB_WAN/24"
veth "$NS_GB" lan0 "$GWB_LAN/24" "$NS_HB" eth0 "$HOST_B/24"
ip -n "$NS_HA" route add default via "$GWA_LAN"
ip -n "$NS_HB" route add default via "$GWB_LAN"
for ns in "$NS_GA" "$NS_GB"; do
	ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
done
if ip netns exec "$NS_HA" ping -c 1 -W 1 -q "$HOST_B" >/dev/null 2>&1; then
	die "hostA reaches hostB without a tunnel; the topology is wrong"
fi
ok "namespaces ${ALL_NS[*]} are up; hostA cannot reach hostB yet (no tunnel)"

# ---- 4. configuration ----------------------------------------------------------------------

section "Writing the two gateway configurations"
# A fresh random pre-shared key for each run, shared by both gateways through a file.
head -c 24 /dev/urandom | base64 >"$WORK/demo.psk"
chmod 600 "$WORK/demo.psk"
# write_config DIR TUNNEL LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_NET REMOTE_NET
write_config() {
	cat >"$1/vigil.toml" <<EOF
# Vigil demo: gateway $(basename "$1")
[global]
socket = "$1/vigil.sock"   # control API: vigil --socket $1/vigil.sock ...
tun_name = "vigil0"          # the TUN device carrying the tunnel's cleartext side
log_level = "info"
metrics_addr = "127.0.0.1:9745"  # Prometheus /metrics, inside the namespace

[tunnel.$2]
local_addr = "$3"
remote_addr = "$4"
local_id = "$5"
remote_id = "$6"
psk_file = "../demo.psk"      # relative to this file
local_subnets = ["$7"]
remote_subnets = ["$8"]
start_action = "start"        # negotiate at start-up (and keep the tunnel up)
child_probe = "1s"            # probe a Child SA that sends but receives nothing for 1s (default 3s)
dpd_delay = "5s"              # liveness check after 5s of one-way silence (default 10s)
EOF
}
write_config "$WORK/gwA" site-b "$GWA_WAN" "$GWB_WAN" fqdn:gw-a.demo.example fqdn:gw-b.demo.example "$NET_A" "$NET_B"
write_config "$WORK/gwB" site-a "$GWB_WAN" "$GWA_WAN" fqdn:gw-b.demo.example fqdn:gw-a.demo.example "$NET_B" "$NET_A"
say "gwA's configuration ($WORK/gwA/vigil.toml); gwB's is its mirror image:"
sed 's/^/  /' "$WORK/gwA/vigil.toml"
run "$VIGIL" config check "$WORK/gwA/vigil.toml"
run "$VIGIL" config check "$WORK/gwB/vigil.toml"

# ---- 5. daemons ----------------------------------------------------------------------------

section "Starting vigild on both gateways"
# start_daemon NS DIR: runs vigild inside NS (ip netns exec execs it, so $! is vigild).
start_daemon() {
	ip netns exec "$1" "$VIGILD" --config "$2/vigil.toml" >"$2/vigild.log" 2>&1 &
	PIDS_VIGILD+=($!)
	say "vigild in $1: pid $!, log $2/vigild.log"
}
show_logs() {
	local d
	for d in gwA gwB; do
		echo "---- last lines of $d's log ($WORK/$d/vigild.log):" >&2
		tail -n 25 "$WORK/$d/vigild.log" >&2 || true
	done
}

# wait_api SOCKET: waits (up to 10 s) until the daemon answers on its control socket.
wait_api() {
	local end=$((SECONDS + 10))
	until "$VIGIL" --socket "$1" status >/dev/null 2>&1; do
		kill -0 "${PIDS_VIGILD[-1]}" 2>/dev/null || { show_logs; die "vigild exited at start"; }
		((SECONDS < end)) || { show_logs; die "vigild does not answer on $1"; }
		sleep 0.05
	done
}

# Both sides have start_action = "start". gwB goes first and tries to reach gwA, which is
# not running yet; gwA starts a moment later, initiates, and gwB answers as responder.
# (Starting both in the same millisecond makes the two IKE_AUTH exchanges cross; see the
# README's limits.)
start_daemon "$NS_GB" "$WORK/gwB"
wait_api "$SOCK_B"
start_daemon "$NS_GA" "$WORK/gwA"
wait_api "$SOCK_A"
run "$VIGIL" --socket "$SOCK_A" status

# installed_children SOCKET prints "SPI_IN SPI_OUT" for every installed Child SA.
installed_children() {
	{ "$VIGIL" --socket "$1" sa list -o json 2>/dev/null || true; } | awk '
		/"spi_in":/  { gsub(/[",]/, "", $2); in_ = $2 }
		/"spi_out":/ { gsub(/[",]/, "", $2); out = $2 }
		/"state": "installed"/ { print in_, out }'
}

# wait_tunnel DEADLINE: waits until gwA and gwB each have one installed Child SA and the
# SPIs pair up (A's outbound is B's inbound and vice versa); sets A_IN A_OUT.
wait_tunnel() {
	local end=$((SECONDS + $1)) a b pid
	while :; do
		for pid in "${PIDS_VIGILD[@]}"; do
			kill -0 "$pid" 2>/dev/null || { show_logs; die "vigild (pid $pid) exited"; }
		done
		a=$(installed_children "$SOCK_A")
		b=$(installed_children "$SOCK_B")
		if [ -n "$a" ] && [ "$(wc -l <<<"$a")" -eq 1 ] && [ "$(wc -l <<<"$b")" -eq 1 ]; then
			read -r A_IN A_OUT <<<"$a"
			read -r B_IN B_OUT <<<"$b"
			[ "$A_OUT" = "$B_IN" ] && [ "$A_IN" = "$B_OUT" ] && return 0
		fi
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}

T0=$(date +%s%N)
wait_tunnel "$TUNNEL_DEADLINE" || { show_logs; die "the tunnel did not come up within ${TUNNEL_DEADLINE}s"; }
ok "tunnel up after $((($(date +%s%N) - T0) / 1000000)) ms: IKE SA and Child SA established (IKEv2, PSK)"

section "The security associations, as each gateway sees them"
run "$VIGIL" --socket "$SOCK_A" sa list
run "$VIGIL" --socket "$SOCK_B" sa list
note "Child SA SPIs pair up: gwA sends with out $A_OUT, which is gwB's inbound SPI (in $B_IN)."
say ""
say "vigild routes the far site into its TUN device; the kernel never sees an IPsec policy:"
run ip -n "$NS_GA" route show

# ---- 6. traffic ----------------------------------------------------------------------------

section "Traffic from hostA ($HOST_A) to hostB ($HOST_B) through the tunnel"
run ip netns exec "$NS_HA" ping -c 3 -i 0.2 -W 2 "$HOST_B" ||
	{ show_logs; die "hostA cannot reach hostB through the tunnel"; }
ok "hostA reaches hostB; the packets travel as ESP between $GWA_WAN and $GWB_WAN"

say ""
say "Starting a probe stream: one ping every 10 ms from hostA to hostB, in the background,"
say "so that we can count what the outage costs. Baseline for ${BASELINE}s ..."
PROBE_LOG=$WORK/probe.txt
ip netns exec "$NS_HA" ping -n -i "$PROBE_INTERVAL" -W 2 "$HOST_B" >"$PROBE_LOG" 2>&1 &
PROBE_PID=$!
pause "$BASELINE"
kill -0 "$PROBE_PID" 2>/dev/null || { cat "$PROBE_LOG" >&2; die "the probe stream did not start"; }
say "$(grep -c 'bytes from' "$PROBE_LOG") probe replies so far"

# ---- 7. break it ---------------------------------------------------------------------------

section "Breaking it: gwB silently loses its Child SA"
cat <<EOF
gwB now deletes its half of the Child SA without telling gwA (--no-notify), while their
IKE SA lives on: what a flushed SA table, a failover that synced IKE but not ESP state,
or a bug does to a peer. gwA still believes the tunnel is fine and keeps encrypting for
SPI $B_IN, which gwB no longer knows. DPD does not notice (the IKE SA is alive and answers), so a gateway
without stale-SA recovery black-holes this traffic until the next rekey, which can be an
hour away. Watch gwA's event stream.
EOF
last_seq() {
	{ "$VIGIL" --socket "$1" events -o json 2>/dev/null || true; } | awk '/"seq":/ { gsub(/[^0-9]/, "", $2); s = $2 } END { print s + 0 }'
}
SEQ_A=$(last_seq "$SOCK_A")
SEQ_B=$(last_seq "$SOCK_B")
# The probe stream pauses for 50 ms around the delete, so that no echo reply is on its way
# back through gwB at that moment: gwB, holding a packet for gwA and no SA to send it with,
# would negotiate a new Child SA itself, healing the tunnel from its side before gwA ever
# noticed. A peer that lost its SA and has nothing to send is the case that hurts.
kill -STOP "$PROBE_PID"
sleep 0.05
run "$VIGIL" --socket "$SOCK_B" sa delete --spi "$B_IN" --no-notify
kill -CONT "$PROBE_PID"

# ---- 8. recovery ---------------------------------------------------------------------------

section "Recovery, live from gwA's event stream (vigil events --follow -o json)"
# json_field LINE NAME: the value of a string or number field of one NDJSON event.
json_field() {
	local re="\"$2\":(\"(([^\"\\\\]|\\\\.)*)\"|([0-9.eE+-]+))"
	if [[ $1 =~ $re ]]; then
		printf '%s' "${BASH_REMATCH[2]}${BASH_REMATCH[4]}"
	fi
}
exec {FOLLOW_FD}< <(exec "$VIGIL" --socket "$SOCK_A" events --follow -o json --since "$SEQ_A")
FOLLOW_PID=$!
RECOVERED=''
END=$((SECONDS + RECOVERY_DEADLINE))
while ((SECONDS < END)); do
	line=''
	if ! IFS= read -r -t "$((END - SECONDS))" -u "$FOLLOW_FD" line; then
		# A timeout, or the stream ended (daemon gone).
		[ -n "$line" ] || break
	fi
	kind=$(json_field "$line" kind)
	cause=$(json_field "$line" cause)
	msg=$(json_field "$line" message)
	t=$(date -d "$(json_field "$line" time)" +%T.%3N 2>/dev/null || echo '?')
	printf '  %s  %-9s  %-13s  %s\n' "$t" "$kind" "$cause" "$msg"
	if [ "$kind" = recovered ]; then
		RECOVERED=$(json_field "$line" outage_ms)
		break
	fi
done
kill "$FOLLOW_PID" 2>/dev/null || true
wait "$FOLLOW_PID" 2>/dev/null || true
FOLLOW_PID=''
exec {FOLLOW_FD}<&-
if [ -z "$RECOVERED" ]; then
	show_logs
	die "gwA did not report a recovery within ${RECOVERY_DEADLINE}s"
fi
ok "gwA recovered: the outage lasted $RECOVERED ms (detection to new Child SA installed)"

say ""
say "Letting the probe stream run ${AFTER}s more on the new Child SA ..."
pause "$AFTER"
kill -INT "$PROBE_PID" 2>/dev/null || true
wait "$PROBE_PID" 2>/dev/null || true
PROBE_PID=''

# ---- 9. the timeline -----------------------------------------------------------------------

section "gwA's timeline: detection, action, recovery"
run "$VIGIL" --socket "$SOCK_A" events
cat <<'EOF'
   detect     gwA learns that its peer lost the SA: gwB answered the stale ESP with an
              INVALID_SPI notify inside their IKE SA ("protected"), so it can be trusted.
              (Without it, the child probe would find out: outbound traffic, nothing
              inbound for child_probe, so gwA rekeys the Child SA and gets an error.)
   action     gwA deletes its stale half and negotiates a replacement (CREATE_CHILD_SA).
   recovered  the new Child SA is installed; OUTAGE is the time since detection.
EOF

section "gwB's side: ESP for an SPI it no longer has"
run "$VIGIL" --socket "$SOCK_B" events --since "$SEQ_B"
note "gwB answers ESP on an unknown SPI with a protected INVALID_SPI (at most 1/s per SPI, 10/s per peer)."

section "The new SAs"
run "$VIGIL" --socket "$SOCK_A" sa list
run "$VIGIL" --socket "$SOCK_B" sa list

# ---- 10. what the hosts saw ----------------------------------------------------------------

section "What the hosts saw: the probe stream (one ping every 10 ms)"
summary=$(grep -E 'packets transmitted' "$PROBE_LOG" || true)
[ -n "$summary" ] && printf '  %s\n' "$summary"
# Lost probes: sequence numbers without a reply, up to the last reply (a probe still in
# flight when the stream was stopped does not count). Late replies still count as replies.
read -r LOST SENT GAP < <(awk '
	/bytes from/ && match($0, /icmp_seq=[0-9]+/) {
		s = substr($0, RSTART + 9, RLENGTH - 9) + 0; got[s] = 1; if (s > last) last = s
	}
	END {
		lost = 0; run = 0; gap = 0
		for (i = 1; i <= last; i++) {
			if (i in got) { run = 0 } else { lost++; run++; if (run > gap) gap = run }
		}
		print lost, last, gap
	}' "$PROBE_LOG")
say "  probes lost: $LOST of $SENT; longest run of lost probes: $GAP (about $((GAP * 10)) ms of traffic)"
note "The first lost probe is the one gwB could not decrypt: it carried the stale SPI and"
note "triggered gwB's INVALID_SPI. Probes sent after the recovery travel in the new Child SA."

# ---- 11. metrics ---------------------------------------------------------------------------

section "Prometheus metrics (GET http://127.0.0.1:9745/metrics inside each gateway)"
metrics() {
	ip netns exec "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9745 && printf "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3' 2>/dev/null |
		grep -E "^($2)" | sed 's/^/  /' || true
}
say "gwA:"
metrics "$NS_GA" 'vigil_recoveries_total|vigil_outage_seconds_(sum|count)|vigil_invalid_spi_received_total|vigil_tunnel_up'
say "gwB:"
metrics "$NS_GB" 'vigil_invalid_spi_sent_total|vigil_unknown_spi_packets_total|vigil_tunnel_up'

# ---- done ----------------------------------------------------------------------------------

section "Summary"
say "  tunnel up, traffic flowing, SA lost on gwB without notice,"
say "  gwA recovered on its own in $RECOVERED ms; probes lost: $LOST of $SENT."
ok "demo finished"
FINISHED=1
