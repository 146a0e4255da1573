#!/usr/bin/env bash
# The web interface, from a fresh machine: set up, build, make a demo gallery of the
# sample portraits (and, with --lfw, the 4,992 shared LFW photos) with one account per
# role, print their tokens, and serve it at http://127.0.0.1:8080/ (--port to change).
# The gallery stays in .lineup/web-store; run again to serve it again, --fresh to remake it.
set -euo pipefail
cd "$(dirname "$0")/.."
port=8080 fresh=0 lfw=""
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port=$2; shift 2 ;;
        --fresh) fresh=1; shift ;;
        --lfw) lfw=${LINEUP_SHARED_FACES:-../shared/faces}/lfw-dev/images; shift ;;
        *) echo "serve: unknown option $1 (--port N, --fresh, --lfw)" >&2; exit 2 ;;
    esac
done
scripts/setup.sh
echo "==> building (release)" >&2
swift build -c release --product lineup 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
lineup=$(swift build -c release --show-bin-path)/lineup
store=.lineup/web-store
tokens=$store/demo-tokens.txt
[ "$fresh" -eq 1 ] && rm -rf "$store"
export LINEUP_STORE="$store"

if [ ! -f "$tokens" ]; then
    echo "==> making the demo gallery in $store" >&2
    token() { sed -n 's/.*"token" : "\(.*\)".*/\1/p'; }
    admin=$("$lineup" bootstrap --organisation Operations --type government --jurisdiction GB --admin root --json | token)
    "$lineup" org add Met --type law-enforcement --jurisdiction GB --token "$admin" >/dev/null
    supervisor=$("$lineup" account add sup --org Met --role supervisor --token "$admin" --json | token)
    investigator=$("$lineup" account add inv --org Met --role investigator --token "$supervisor" --json | token)
    "$lineup" account approve inv --token "$supervisor" >/dev/null
    officer=$("$lineup" account add dpo --org Operations --role privacy-officer --token "$admin" --json | token)
    auditor=$("$lineup" account add aud --org Operations --role auditor --token "$admin" --json | token)
    verifier=$("$lineup" account add ver --org Met --role verifier --token "$admin" --json | token)
    "$lineup" source add samples --root .lineup/samples --basis public-task --condition substantial-public-interest \
        --jurisdiction GB --retention-days 30 --collected licensed --token "$admin" >/dev/null
    "$lineup" ingest samples --token "$admin" >&2
    if [ -n "$lfw" ]; then
        [ -d "$lfw" ] || { echo "serve: no LFW photos at $lfw" >&2; exit 1; }
        "$lineup" source add lfw --root "$lfw" --basis public-task --condition substantial-public-interest \
            --jurisdiction GB --retention-days 30 --collected licensed --token "$admin" >/dev/null
        "$lineup" ingest lfw --token "$admin" >&2
    fi
    umask 077
    printf 'investigator  %s\nverifier      %s\nsupervisor    %s\nprivacy       %s\nauditor       %s\nadmin         %s\n' \
        "$investigator" "$verifier" "$supervisor" "$officer" "$auditor" "$admin" > "$tokens"
fi
echo
echo "Open http://127.0.0.1:$port/ and sign in with one of these tokens (kept in $tokens):"
cat "$tokens"
echo
exec "$lineup" serve --port "$port"
