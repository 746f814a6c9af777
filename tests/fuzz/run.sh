#!/usr/bin/env bash
# The schema fuzzer as CI's guard against server errors and an OpenAPI document that lies: Schemathesis
# runs every operation of /api/schema/ against a real gunicorn (DEBUG off, PostgreSQL, Redis), once as a
# read-only principal and once as the only owner, with the not_a_server_error check and response
# conformance (status code documented, content type, schema). Exit status 1 on any finding, any 5xx in
# the server's access log, or an identity that did not survive its run.
#
# Needs DATABASE_URL (PostgreSQL; a database named <its name>_fuzz is created afresh beside it) and
# REDIS_URL. Knobs: FUZZ_MAX_EXAMPLES (per operation, default 12), FUZZ_SEED (default fixed, so a run is
# reproducible), FUZZ_WORKERS (default 2), FUZZ_PHASES (default examples,coverage,fuzzing,stateful).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DATABASE_URL:?DATABASE_URL (PostgreSQL) is required}" "${REDIS_URL:?REDIS_URL is required}"
PY=${PY:-$PWD/.venv/bin/python}
BIN=$(dirname "$PY")
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-12}
SEED=${FUZZ_SEED:-20251126}
WORKERS=${FUZZ_WORKERS:-2}
PHASES=${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}

work=$(mktemp -d /tmp/portcullis-fuzz.XXXXXX)
server_pid=""
cleanup() {
  set +e
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "${FUZZ_KEEP:-}" ] && echo "fuzz: kept $work" || rm -rf "$work"
}
trap cleanup EXIT

# A fresh database of its own: the fuzzing owner must be the only owner, and nothing else is touched.
FUZZ_DATABASE_URL=$("$PY" - <<'EOF'
import os, psycopg
from urllib.parse import urlsplit, urlunsplit
url = urlsplit(os.environ["DATABASE_URL"])
name = url.path.lstrip("/") + "_fuzz"
admin = urlunsplit(url._replace(scheme="postgresql", path="/postgres"))
with psycopg.connect(admin, autocommit=True) as db:
    db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    db.execute(f'CREATE DATABASE "{name}"')
print(urlunsplit(url._replace(path="/" + name)))
EOF
)
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

export DATABASE_URL="$FUZZ_DATABASE_URL" IAM_VAR_DIR="$work/var" CACHE_KEY_PREFIX="portcullis-fuzz-$port"
export SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
export CELERY_TASK_ALWAYS_EAGER=1 IAM_ACCESS_TOKEN_SECONDS=7200 LOG_LEVEL=WARNING
# The limiter stays on (its code is fuzzed too), but the fuzzer's deliberate bad credentials must not
# lock its own address out of /identity/token between the two runs.
export IAM_RATELIMIT_FAILURES_PER_IP=1000000/m IAM_RATELIMIT_FAILURES_PER_CREDENTIAL=1000000/m
# The fuzzing owner signs in with its password alone (multi-factor sign-in is tested in tests/mfa and the
# browser tests): no role requires a second factor here.
export IAM_MFA_REQUIRED_ROLES=""
unset DEBUG ALLOWED_HOSTS

echo "fuzz: migrating a fresh database"
"$PY" manage.py migrate --no-input -v 0
"$PY" tests/fuzz/identities.py "$work/keys.json"

"$BIN/gunicorn" iam_project.wsgi --bind "127.0.0.1:$port" --workers 2 --timeout 60 \
  --access-logfile "$work/access.log" --access-logformat '%(s)s "%(r)s"' \
  --error-logfile "$work/server.log" --capture-output &
server_pid=$!
for _ in $(seq 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$base/healthz" >/dev/null

token_of() {  # a person's token: sign in, authorize (PKCE; first-party, so no consent page), exchange the code
  "$PY" - "$1" "$work/keys.json" "$base" <<'EOF'
import base64, hashlib, json, re, secrets, sys
from urllib.parse import parse_qs, urlsplit
import requests
who, keys, base = sys.argv[1], sys.argv[2], sys.argv[3]
creds = json.load(open(keys))
person, client = creds[who], creds["client"]
http = requests.Session()
page = http.get(f"{base}/oauth/login/", timeout=30)
csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
signed = http.post(f"{base}/oauth/login/", timeout=30, allow_redirects=False, headers={"Referer": page.url},
                   data={"csrfmiddlewaretoken": csrf, "username": person["email"], "password": person["password"]})
assert signed.status_code == 302, f"sign-in refused: {signed.status_code}"
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
answer = http.get(f"{base}/oauth/authorize/", timeout=30, allow_redirects=False, params={
    "response_type": "code", "client_id": client["id"], "redirect_uri": client["redirect_uri"],
    "scope": "openid *:*", "state": "fuzz", "code_challenge": challenge, "code_challenge_method": "S256"})
code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
token = requests.post(f"{base}/oauth/token/", timeout=30, data={
    "grant_type": "authorization_code", "code": code, "redirect_uri": client["redirect_uri"],
    "client_id": client["id"], "code_verifier": verifier})
token.raise_for_status()
print(token.json()["access_token"])
EOF
}
still_works() {  # the identity survived the run: its token still reads what it could read before
  local code
  code=$(curl -s -o "$work/still-works.json" -w '%{http_code}' -H "Authorization: Bearer $1" "$base/resources/iam/roles")
  [ "$code" = 200 ] && return 0
  echo "fuzz: GET /resources/iam/roles with the token answered $code: $(head -c 400 "$work/still-works.json")"
  return 1
}

status=0
for who in reader owner; do  # the reader first: the owner's run may change anything but itself
  token=$(token_of "$who")
  still_works "$token" || { echo "fuzz: the $who identity cannot read before its run"; exit 1; }
  echo "fuzz: as the $who — every operation, at most $MAX_EXAMPLES examples each, seed $SEED"
  # Run from the scratch folder: Schemathesis keeps its cache (.schemathesis/) in the working directory.
  (cd "$work" && "$BIN/st" run "$base/api/schema/" --no-color --seed "$SEED" --max-examples "$MAX_EXAMPLES" \
    --workers "$WORKERS" --phases "$PHASES" --request-timeout 30 --suppress-health-check all \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --header "Authorization: Bearer $token" --report junit --report-dir "$work/report-$who" \
    > "$work/st-$who.log" 2>&1) && st_status=0 || st_status=$?
  tail -n 40 "$work/st-$who.log"
  if [ "$st_status" != 0 ]; then
    status=1
    echo "fuzz: Schemathesis exited $st_status as the $who; its findings and errors:"
    # The sections above the summary, which the tail leaves out (capped: a long report is in FUZZ_KEEP's copy).
    sed -n '/^=* \(FAILURES\|ERRORS\) =*$/,/^=* SUMMARY =*$/p' "$work/st-$who.log" | head -n 200 || true
  fi
  if ! still_works "$token"; then
    echo "fuzz: the $who identity did not survive its run"; status=1
  fi
done

# One line per request, its status first (the request line as sent, so percent-encoded: one line each).
requests=$(grep -cE '^[0-9]{3} ' "$work/access.log" || true)
errors=$(grep -cE '^5[0-9]{2} ' "$work/access.log" || true)
echo "fuzz: $requests requests, $errors answered 5xx"
if [ "$errors" -gt 0 ]; then
  grep -E '^5[0-9]{2} ' "$work/access.log" | sort | uniq -c | sort -rn | head -n 20
  grep -E "^(Traceback|[A-Za-z_.]+(Error|Exception)\b)" "$work/server.log" | sort | uniq -c | sort -rn | head -n 20
  status=1
fi
# Schemathesis' own tally of both runs: test cases that passed every check, and those that did not.
"$PY" - "$work"/st-*.log <<'PYEOF'
import re, sys
passed = failed = 0
for name in sys.argv[1:]:
    text = open(name, encoding="utf-8", errors="replace").read()
    for generated, rest in re.findall(r"(\d+) generated, ([^\n]*)", text):
        found = re.search(r"(\d+) found", rest)
        failing = int(found.group(1)) if found else 0
        failed += failing
        passed += int(generated) - failing
print(f"fuzz: {passed} passed, {failed} failed")
PYEOF
[ "$status" = 0 ] || echo "fuzz: FAILED"
exit "$status"
