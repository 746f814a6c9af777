#!/usr/bin/env bash
# IBM's own integration suites (test_iam_identity_v1.py, test_iam_policy_management_v1.py from
# IBM/platform-services-python-sdk), run unmodified against a live Portcullis: gunicorn and a Celery worker
# on PostgreSQL and Redis, a fresh database, the owner's API key and the installation's account id written
# into the suites' own config files (iam_identity.env, iam_policy_management.env) in a scratch folder.
#
# Usage: DATABASE_URL=postgres://… REDIS_URL=redis://… tests/ibm_suites/run.sh SUITES_DIR [pytest args…]
#   SUITES_DIR holds IBM's test files (a checkout's test/integration/); they are copied to the scratch folder
#   and never into this repository. A database named <its name>_ibm is made afresh beside DATABASE_URL's.
# Prints pytest's summary line for each suite; IBM_SUITES_KEEP=1 keeps the scratch folder (logs, reports).
# Not run by CI: it needs IBM's files, which this repository does not carry (a network fetch in CI would
# make it depend on GitHub); with them it takes about a minute. tests/e2e/test_ibm_sdk_suites.py holds this
# project's own tests of the same calls and runs in CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DATABASE_URL:?DATABASE_URL (PostgreSQL) is required}" "${REDIS_URL:?REDIS_URL is required}"
suites=$(cd "${1:?the folder holding IBM\'s test_iam_identity_v1.py and test_iam_policy_management_v1.py}" && pwd)
shift
PY=${PY:-$PWD/.venv/bin/python}
BIN=$(dirname "$PY")
repo=$PWD

work=$(mktemp -d /tmp/portcullis-ibm.XXXXXX)
pids=()
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  [ -n "${IBM_SUITES_KEEP:-}" ] && echo "ibm: kept $work" || rm -rf "$work"
}
trap cleanup EXIT

IBM_DATABASE_URL=$("$PY" - <<'PYEOF'
import os, psycopg
from urllib.parse import urlsplit, urlunsplit
url = urlsplit(os.environ["DATABASE_URL"])
name = url.path.lstrip("/") + "_ibm"
admin = urlunsplit(url._replace(scheme="postgresql", path="/postgres"))
with psycopg.connect(admin, autocommit=True) as db:
    db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    db.execute(f'CREATE DATABASE "{name}"')
print(urlunsplit(url._replace(path="/" + name)))
PYEOF
)
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export DATABASE_URL="$IBM_DATABASE_URL" IAM_VAR_DIR="$work/var" CACHE_KEY_PREFIX="portcullis-ibm-$port"
export SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))') LOG_LEVEL=WARNING
export IAM_SITE_URL="$base"
unset DEBUG ALLOWED_HOSTS CELERY_TASK_ALWAYS_EAGER

echo "ibm: migrating a fresh database"
"$PY" manage.py migrate --no-input -v 0
"$PY" manage.py bootstrap --email owner@example.com > "$work/bootstrap.log"
account_id=$(sed -n 's/.*account \([0-9a-f]\{32\}\)\..*/\1/p' "$work/bootstrap.log" | head -n 1)
"$PY" manage.py createapikey owner@example.com --name "IBM suites" > "$work/key.log"
apikey=$(sed -n 's/^apikey: *//p' "$work/key.log")
iam_id=$(sed -n 's/^iam_id: *//p' "$work/key.log")
[ -n "$account_id" ] && [ -n "$apikey" ] && [ -n "$iam_id" ] || { echo "ibm: bootstrap failed"; cat "$work"/*.log; exit 1; }

"$BIN/gunicorn" iam_project.wsgi --bind "127.0.0.1:$port" --workers 2 --timeout 60 \
  --access-logfile "$work/access.log" --access-logformat '%(s)s "%(r)s"' \
  --error-logfile "$work/server.log" --capture-output &
pids+=($!)
"$BIN/celery" -A iam_project worker --beat --loglevel=WARNING --concurrency 1 -s "$work/beat-schedule" \
  > "$work/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$base/healthz" >/dev/null

# The suites' own configuration (ibm-cloud-sdk-core reads <SERVICE>_* from IBM_CREDENTIALS_FILE). One
# installation is one account: the "enterprise" account the identity suite names is this one, and the
# policy suite's target account another (which this installation does not hold).
other_account=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
cat > "$work/iam_identity.env" <<ENV
IAM_IDENTITY_URL=$base
IAM_IDENTITY_AUTH_TYPE=iam
IAM_IDENTITY_AUTH_URL=$base
IAM_IDENTITY_APIKEY=$apikey
IAM_IDENTITY_ACCOUNT_ID=$account_id
IAM_IDENTITY_IAM_ID=$iam_id
IAM_IDENTITY_ENTERPRISE_ACCOUNT_ID=$account_id
IAM_IDENTITY_ENTERPRISE_SUBACCOUNT_ID=$other_account
ENV
cat > "$work/iam_policy_management.env" <<ENV
IAM_POLICY_MANAGEMENT_URL=$base
IAM_POLICY_MANAGEMENT_AUTH_TYPE=iam
IAM_POLICY_MANAGEMENT_AUTH_URL=$base
IAM_POLICY_MANAGEMENT_APIKEY=$apikey
IAM_POLICY_MANAGEMENT_TEST_ACCOUNT_ID=$account_id
IAM_POLICY_MANAGEMENT_TEST_TARGET_ACCOUNT_ID=$other_account
ENV
chmod 600 "$work"/*.env
cp "$suites/test_iam_identity_v1.py" "$suites/test_iam_policy_management_v1.py" "$work/"

status=0
for suite in test_iam_identity_v1.py test_iam_policy_management_v1.py; do
  echo "ibm: $suite against $base"
  # From the scratch folder (the suites read their .env from the working directory), without this
  # repository's pytest configuration (-c /dev/null) and with the platform's venv.
  (cd "$work" && env -u DATABASE_URL -u REDIS_URL -u DJANGO_SETTINGS_MODULE \
    "$PY" -m pytest -c /dev/null -p no:cacheprovider -p no:django -q -rfE --tb=line \
    --junitxml "$work/${suite%.py}.xml" "$suite" "$@" > "$work/${suite%.py}.log" 2>&1) || status=1
  grep -E "^(FAILED|ERROR) " "$work/${suite%.py}.log" | cut -c1-220 || true
  tail -n 1 "$work/${suite%.py}.log"
done
errors=$(grep -cE '^5[0-9]{2} ' "$work/access.log" || true)
echo "ibm: the server answered $errors requests with 5xx"
[ "$errors" -gt 0 ] && grep -E '^5[0-9]{2} ' "$work/access.log" | sort | uniq -c | head -n 20
exit "$status"
