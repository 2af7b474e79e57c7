#!/usr/bin/env bash
# Prepare a new GCP project for drTranscribe (staging and production in one project).
#
#   deploy/bootstrap.sh --project my-project --region europe-west2
#   deploy/bootstrap.sh --dry-run --project my-project --region europe-west2   # or DRY_RUN=1
#
# Creates, each only if `describe` does not find it: the APIs, an Artifact Registry
# repository, a VPC with the subnet Cloud Run's Direct VPC egress uses, Memorystore for
# Redis (Basic, 1 GB, in the region), the audio buckets (production and staging) with the
# 24 h chunk lifecycle rule (deploy/gcs-lifecycle.json), the session key buckets (no
# versioning, no soft delete, keys deleted after 3 days), the secrets, three service
# accounts (runtime, staging runtime, deployer), the least-privilege IAM bindings, the
# log-based metrics, the alert policies and the dashboard (deploy/monitoring/).
# Bindings, the lifecycle rule, metrics, policies and the dashboard are (re)applied on
# every run; all of that is idempotent, so the script can run again after any change.
#
# --dry-run prints every command ("+ ..." would run, "? ..." would be asked; in a dry run
# nothing is assumed to exist) and needs neither gcloud nor credentials.
#
# Options (or environment): --project (PROJECT_ID), --region (REGION, default
# europe-west2), --notification-channels (NOTIFICATION_CHANNELS, comma-separated
# projects/P/notificationChannels/ID for the alert policies), --dry-run (DRY_RUN=1).
# Provider keys: if GROQ_API_KEY / GEMINI_API_KEY / OPENAI_API_KEY / AZURE_OPENAI_API_KEY /
# AZURE_OPENAI_ENDPOINT are set, each becomes the first version of its secret (never
# printed); otherwise add them later (docs/runbook.md "Rotate a key").
# Client API keys: drtranscribe-api-keys (production) and drtranscribe-api-keys-staging
# hold the keys clients authenticate with (production refuses to start without one).
# When one has no version yet, a first key is made with `drtranscribe keys add` (from this
# checkout's .venv, `drtranscribe` on PATH, or `uv run`), stored as its SHA-256 only, and
# the plain key is printed once, on stderr. Manage keys later: docs/runbook.md "API keys".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="${PROJECT_ID:-}"
REGION="${REGION:-europe-west2}"
CHANNELS="${NOTIFICATION_CHANNELS:-}"
DRY_RUN="${DRY_RUN:-0}"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --project) PROJECT="${2:?--project needs a value}"; shift ;;
    --project=*) PROJECT="${1#*=}" ;;
    --region) REGION="${2:?--region needs a value}"; shift ;;
    --region=*) REGION="${1#*=}" ;;
    --notification-channels) CHANNELS="${2:?}"; shift ;;
    --notification-channels=*) CHANNELS="${1#*=}" ;;
    -h | --help) usage 0 ;;
    *) echo "bootstrap.sh: unknown argument: $1" >&2; usage 2 ;;
  esac
  shift
done
[[ -n "$PROJECT" ]] || { echo "bootstrap.sh: --project (or PROJECT_ID) is required" >&2; exit 2; }
[[ "$DRY_RUN" == 1 || "$DRY_RUN" == true ]] && DRY_RUN=1 || DRY_RUN=0

# ------------------------------------------------------------------ names (see also
# deploy/cloudrun-service.yaml and cloudbuild.yaml, which use the same ones)
REPOSITORY=drtranscribe
NETWORK=drt-vpc
SUBNET=drt-run
SUBNET_RANGE="${SUBNET_RANGE:-10.8.0.0/24}" # Direct VPC egress: >= /26; 2 IPs per instance and revision overlap
REDIS=drt-redis
BUCKET="${PROJECT}-drt-audio"
BUCKET_STAGING="${PROJECT}-drt-audio-staging"
KEYS_BUCKET="${PROJECT}-drt-keys"
KEYS_BUCKET_STAGING="${PROJECT}-drt-keys-staging"
KEYS_LIFECYCLE="$ROOT/deploy/gcs-keys-lifecycle.json"
LIFECYCLE="$ROOT/deploy/gcs-lifecycle.json"
MONITORING="$ROOT/deploy/monitoring"
RUNTIME_SA="drt-run@${PROJECT}.iam.gserviceaccount.com"
STAGING_SA="drt-run-staging@${PROJECT}.iam.gserviceaccount.com"
DEPLOYER_SA="drt-deployer@${PROJECT}.iam.gserviceaccount.com"
PROVIDER_SECRETS=(drt-groq-api-key drt-gemini-api-key drt-openai-api-key
  drt-azure-openai-api-key drt-azure-openai-endpoint)
declare -A SECRET_ENV=([drt-groq-api-key]=GROQ_API_KEY [drt-gemini-api-key]=GEMINI_API_KEY
  [drt-openai-api-key]=OPENAI_API_KEY [drt-azure-openai-api-key]=AZURE_OPENAI_API_KEY
  [drt-azure-openai-endpoint]=AZURE_OPENAI_ENDPOINT)
API_KEYS_SECRET=drtranscribe-api-keys # the name the service reads (auth.api_keys_secret)
API_KEYS_SECRET_STAGING=drtranscribe-api-keys-staging

# ------------------------------------------------------------------ helpers
quote() { printf ' %q' "$@"; }

# A command that changes something: printed in a dry run, run otherwise.
run() {
  if [[ "$DRY_RUN" == 1 ]]; then
    echo "+$(quote "$@")"
  else
    echo "+$(quote "$@")" >&2
    "$@"
  fi
}

# A describe: true if the resource exists. A dry run prints it and assumes "missing".
exists() {
  if [[ "$DRY_RUN" == 1 ]]; then
    echo "?$(quote "$@")"
    return 1
  fi
  "$@" >/dev/null 2>&1
}

# A read whose output the script needs. A dry run prints it and returns the placeholder.
read_value() { # PLACEHOLDER CMD...
  local placeholder="$1"
  shift
  if [[ "$DRY_RUN" == 1 ]]; then
    echo "?$(quote "$@")" >&2
    echo "$placeholder"
  else
    "$@"
  fi
}

# Adds a secret version from a value that is never printed.
add_secret_version() { # SECRET VALUE WHERE-FROM
  if [[ "$DRY_RUN" == 1 ]]; then
    echo "+ gcloud secrets versions add $1 --data-file=- --project=$PROJECT  # value from $3, not shown"
  else
    echo "+ gcloud secrets versions add $1 --data-file=- (value from $3)" >&2
    printf '%s' "$2" | gcloud secrets versions add "$1" --data-file=- --project="$PROJECT" >/dev/null
  fi
}

section() { echo "# --- $*"; }

# The `drtranscribe keys` helper, from wherever this checkout has it.
keys_cmd() {
  if [[ -x "$ROOT/.venv/bin/drtranscribe" ]]; then
    echo "$ROOT/.venv/bin/drtranscribe"
  elif command -v drtranscribe >/dev/null 2>&1; then
    command -v drtranscribe
  elif command -v uv >/dev/null 2>&1; then
    echo "uv run --project $ROOT --frozen drtranscribe"
  fi
}

# A first client API key for SECRET (tenant TENANT): the list (digest only) becomes the
# secret's first version; the plain key is shown once, on stderr, and stored nowhere.
first_api_key() { # SECRET TENANT
  local secret="$1" tenant="$2" cmd
  cmd="$(keys_cmd)"
  if [[ "$DRY_RUN" == 1 ]]; then
    echo "+ drtranscribe keys add --id $tenant-first --tenant $tenant | gcloud secrets versions add $secret --data-file=- --project=$PROJECT  # key shown once"
    return
  fi
  if [[ -z "$cmd" ]]; then
    echo "# $secret: no version, and no drtranscribe here to make a key: run 'make install', then" \
      "'drtranscribe keys add --id $tenant-first --tenant $tenant | gcloud secrets versions add $secret --data-file=-'" \
      "(docs/runbook.md \"API keys\")" >&2
    return
  fi
  local list key_file
  key_file="$(mktemp)"
  # shellcheck disable=SC2086 # cmd may be "uv run ... drtranscribe"
  if ! list="$($cmd keys add --id "$tenant-first" --tenant "$tenant" 2>"$key_file")"; then
    echo "bootstrap.sh: 'drtranscribe keys add' failed for $secret:" >&2
    cat "$key_file" >&2
    rm -f "$key_file"
    exit 1
  fi
  if ! add_secret_version "$secret" "$list" "drtranscribe keys add (SHA-256 only)"; then
    rm -f "$key_file" # the key was never stored: it is worth nothing, do not keep it
    exit 1
  fi
  {
    echo "# ---- $secret: first API key (id $tenant-first, tenant $tenant). Shown once, stored"
    echo "#      nowhere in plain text: copy it to your password manager now."
    tail -n 1 "$key_file"
  } >&2
  rm -f "$key_file"
}

if [[ "$DRY_RUN" != 1 ]]; then
  command -v gcloud >/dev/null || { echo "bootstrap.sh: gcloud not found (or use --dry-run)" >&2; exit 1; }
fi
for f in "$LIFECYCLE" "$KEYS_LIFECYCLE" "$MONITORING/dashboard.json"; do
  [[ -f "$f" ]] || { echo "bootstrap.sh: missing $f" >&2; exit 1; }
done

echo "# drTranscribe bootstrap: project $PROJECT, region $REGION$([[ "$DRY_RUN" == 1 ]] && echo ', dry run')"

# ------------------------------------------------------------------ APIs
section "APIs"
run gcloud services enable run.googleapis.com artifactregistry.googleapis.com \
  cloudbuild.googleapis.com redis.googleapis.com secretmanager.googleapis.com \
  compute.googleapis.com storage.googleapis.com iam.googleapis.com \
  logging.googleapis.com monitoring.googleapis.com --project="$PROJECT"

# ------------------------------------------------------------------ service accounts
section "service accounts"
for sa in "drt-run:drTranscribe runtime (production)" "drt-run-staging:drTranscribe runtime (staging)" \
  "drt-deployer:drTranscribe Cloud Build deployer"; do
  name="${sa%%:*}"
  exists gcloud iam service-accounts describe "$name@$PROJECT.iam.gserviceaccount.com" --project="$PROJECT" ||
    run gcloud iam service-accounts create "$name" --display-name="${sa#*:}" --project="$PROJECT"
done

# ------------------------------------------------------------------ Artifact Registry
section "Artifact Registry"
exists gcloud artifacts repositories describe "$REPOSITORY" --location="$REGION" --project="$PROJECT" ||
  run gcloud artifacts repositories create "$REPOSITORY" --repository-format=docker \
    --location="$REGION" --description="drTranscribe images" --project="$PROJECT"

# ------------------------------------------------------------------ network
section "VPC for Direct VPC egress"
exists gcloud compute networks describe "$NETWORK" --project="$PROJECT" ||
  run gcloud compute networks create "$NETWORK" --subnet-mode=custom --project="$PROJECT"
exists gcloud compute networks subnets describe "$SUBNET" --region="$REGION" --project="$PROJECT" ||
  run gcloud compute networks subnets create "$SUBNET" --network="$NETWORK" --region="$REGION" \
    --range="$SUBNET_RANGE" --enable-private-ip-google-access --project="$PROJECT"

# ------------------------------------------------------------------ Memorystore
section "Memorystore for Redis (Basic, 1 GB)"
exists gcloud redis instances describe "$REDIS" --region="$REGION" --project="$PROJECT" ||
  run gcloud redis instances create "$REDIS" --region="$REGION" --tier=basic --size=1 \
    --redis-version=redis_7_2 --network="projects/$PROJECT/global/networks/$NETWORK" \
    --connect-mode=direct-peering --enable-auth --project="$PROJECT"

# ------------------------------------------------------------------ buckets
section "audio buckets"
for bucket in "$BUCKET" "$BUCKET_STAGING"; do
  exists gcloud storage buckets describe "gs://$bucket" --project="$PROJECT" ||
    run gcloud storage buckets create "gs://$bucket" --location="$REGION" \
      --uniform-bucket-level-access --public-access-prevention \
      --default-storage-class=STANDARD --project="$PROJECT"
  run gcloud storage buckets update "gs://$bucket" --lifecycle-file="$LIFECYCLE" --project="$PROJECT"
done

# ------------------------------------------------------------------ key buckets
section "session key buckets (crypto-shredding: no versioning, no soft delete)"
# A deleted key must be gone at once: soft delete off (0 s) and versioning off, so an
# erased session's data key leaves no recoverable copy; keys older than any session
# (3 days) are deleted by the lifecycle rule, which shreds sessions that merely expired.
for bucket in "$KEYS_BUCKET" "$KEYS_BUCKET_STAGING"; do
  exists gcloud storage buckets describe "gs://$bucket" --project="$PROJECT" ||
    run gcloud storage buckets create "gs://$bucket" --location="$REGION" \
      --uniform-bucket-level-access --public-access-prevention \
      --default-storage-class=STANDARD --soft-delete-duration=0 --project="$PROJECT"
  run gcloud storage buckets update "gs://$bucket" --no-versioning --clear-soft-delete \
    --lifecycle-file="$KEYS_LIFECYCLE" --project="$PROJECT"
done

# ------------------------------------------------------------------ secrets
section "secrets (replicated in $REGION only)"
for secret in "${PROVIDER_SECRETS[@]}" drt-redis-url drt-redis-url-staging \
  "$API_KEYS_SECRET" "$API_KEYS_SECRET_STAGING"; do
  exists gcloud secrets describe "$secret" --project="$PROJECT" ||
    run gcloud secrets create "$secret" --replication-policy=user-managed \
      --locations="$REGION" --labels=app=drtranscribe --project="$PROJECT"
done
for secret in "${PROVIDER_SECRETS[@]}"; do
  var="${SECRET_ENV[$secret]}"
  if [[ -n "${!var:-}" ]]; then
    existing="$(read_value "" gcloud secrets versions list "$secret" --filter=state=enabled \
      --limit=1 --format='value(name)' --project="$PROJECT")"
    [[ -n "$existing" ]] || add_secret_version "$secret" "${!var}" "\$$var"
  else
    echo "# $secret: no \$$var here; add a version before the first deploy (docs/runbook.md)"
  fi
done
# Client API keys: a first key where the secret has none (never replaced once there).
for pair in "$API_KEYS_SECRET:production" "$API_KEYS_SECRET_STAGING:staging"; do
  secret="${pair%%:*}"
  existing="$(read_value "" gcloud secrets versions list "$secret" --filter=state=enabled \
    --limit=1 --format='value(name)' --project="$PROJECT")"
  [[ -n "$existing" ]] || first_api_key "$secret" "${pair#*:}"
done
# Redis URLs: the instance's address and AUTH string; production uses database 0, staging 1.
host="$(read_value "REDIS_HOST" gcloud redis instances describe "$REDIS" --region="$REGION" \
  --format='value(host)' --project="$PROJECT")"
port="$(read_value "6379" gcloud redis instances describe "$REDIS" --region="$REGION" \
  --format='value(port)' --project="$PROJECT")"
auth="$(read_value "REDIS_AUTH" gcloud redis instances get-auth-string "$REDIS" --region="$REGION" \
  --format='value(authString)' --project="$PROJECT")"
for pair in "drt-redis-url:0" "drt-redis-url-staging:1"; do
  secret="${pair%%:*}"
  url="redis://:${auth}@${host}:${port}/${pair#*:}"
  current="$(read_value "" gcloud secrets versions access latest --secret="$secret" \
    --project="$PROJECT" 2>/dev/null || true)"
  [[ "$current" == "$url" ]] || add_secret_version "$secret" "$url" "the $REDIS instance (db ${pair#*:})"
done

# ------------------------------------------------------------------ IAM (least privilege)
section "IAM: runtime service accounts"
# Runtime: its own bucket's objects, its own Redis URL and client API keys, the provider
# keys. No project-wide role: Cloud Run ships stdout/stderr logs and its own metrics
# without one.
for pair in "$RUNTIME_SA:$BUCKET:drt-redis-url:$API_KEYS_SECRET:$KEYS_BUCKET" \
  "$STAGING_SA:$BUCKET_STAGING:drt-redis-url-staging:$API_KEYS_SECRET_STAGING:$KEYS_BUCKET_STAGING"; do
  IFS=: read -r sa bucket redis_secret keys_secret keys_bucket <<<"$pair"
  for b in "$bucket" "$keys_bucket"; do
    run gcloud storage buckets add-iam-policy-binding "gs://$b" \
      --member="serviceAccount:$sa" --role=roles/storage.objectUser --project="$PROJECT"
  done
  for secret in "${PROVIDER_SECRETS[@]}" "$redis_secret" "$keys_secret"; do
    run gcloud secrets add-iam-policy-binding "$secret" --member="serviceAccount:$sa" \
      --role=roles/secretmanager.secretAccessor --project="$PROJECT"
  done
done

section "IAM: deployer (Cloud Build)"
# Push images to this one repository; deploy Cloud Run revisions; act as the *staging*
# runtime account only (so CI cannot start a revision as the production account); write
# its build logs.
run gcloud artifacts repositories add-iam-policy-binding "$REPOSITORY" --location="$REGION" \
  --member="serviceAccount:$DEPLOYER_SA" --role=roles/artifactregistry.writer --project="$PROJECT"
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$DEPLOYER_SA" \
  --role=roles/run.developer --condition=None
run gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$DEPLOYER_SA" \
  --role=roles/logging.logWriter --condition=None
run gcloud iam service-accounts add-iam-policy-binding "$STAGING_SA" \
  --member="serviceAccount:$DEPLOYER_SA" --role=roles/iam.serviceAccountUser --project="$PROJECT"

# ------------------------------------------------------------------ monitoring
section "log-based metrics"
for file in "$MONITORING"/metrics/*.yaml; do
  name="$(basename "$file" .yaml)"
  if exists gcloud logging metrics describe "$name" --project="$PROJECT"; then
    run gcloud logging metrics update "$name" --config-from-file="$file" --project="$PROJECT"
  else
    run gcloud logging metrics create "$name" --config-from-file="$file" --project="$PROJECT"
  fi
done

display_name() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["displayName"])' "$1"; }

section "alert policies"
create_channels=()
update_channels=()
if [[ -n "$CHANNELS" ]]; then
  create_channels=(--notification-channels="$CHANNELS")
  update_channels=(--set-notification-channels="$CHANNELS") # the file replaces the policy
else
  echo "# no --notification-channels: the policies open incidents but notify no one"
fi
for file in "$MONITORING"/alerts/*.json; do
  title="$(display_name "$file")"
  policy="$(read_value "" gcloud monitoring policies list --filter="displayName=\"$title\"" \
    --format='value(name)' --project="$PROJECT")"
  if [[ -n "$policy" ]]; then
    run gcloud monitoring policies update "$policy" --policy-from-file="$file" \
      "${update_channels[@]}" --project="$PROJECT"
  else
    run gcloud monitoring policies create --policy-from-file="$file" \
      "${create_channels[@]}" --project="$PROJECT"
  fi
done

section "dashboard"
title="$(display_name "$MONITORING/dashboard.json")"
dashboard="$(read_value "" gcloud monitoring dashboards list --filter="displayName=\"$title\"" \
  --format='value(name)' --project="$PROJECT")"
if [[ -n "$dashboard" ]]; then
  run gcloud monitoring dashboards update "$dashboard" \
    --config-from-file="$MONITORING/dashboard.json" --project="$PROJECT"
else
  run gcloud monitoring dashboards create --config-from-file="$MONITORING/dashboard.json" \
    --project="$PROJECT"
fi

cat <<EOF
# --- next (docs/deploy.md)
# 1. Provider keys: a version in each of ${PROVIDER_SECRETS[*]}
#    (the service YAML references all of them; for a provider you do not use, delete its
#    env entries from deploy/cloudrun-service.yaml instead).
#    Client API keys: $API_KEYS_SECRET / $API_KEYS_SECRET_STAGING (docs/runbook.md "API keys").
# 2. A Cloud Build trigger on main with cloudbuild.yaml, service account $DEPLOYER_SA,
#    substitution _REGION=$REGION: it deploys drtranscribe-staging.
# 3. Production, once: render deploy/cloudrun-service.yaml (SUFFIX empty) and
#    gcloud run services replace it; then promote releases (docs/runbook.md).
EOF
