#!/usr/bin/env bash
# Submit a township-digest run to Slurm: a job array of N shards, then the merge, which starts
# only when every array task has ended well (--dependency=afterok) and is cancelled otherwise.
#
# Usage: deploy/slurm/submit.sh --shards N [--mode fast|full] [--bin PATH] [--models DIR]
#                               INPUT SHARDS_OUT DIGEST_OUT [-- SBATCH_OPTION...]
#
#   INPUT       reports folder (or file), on a file system every node sees
#   SHARDS_OUT  folder for the shards (shard-K-of-N/ each); give the same one to re-run
#   DIGEST_OUT  folder for the merged digest (digest.json/.md/.html, themes.csv, reports/)
#   --shards N  number of array tasks (shards), N >= 1
#   --mode      fast or full (default full)
#   --bin       the township-digest binary (default: township-digest on PATH, as seen by
#               the nodes); made absolute
#   --models    models folder (default: $TOWNSHIP_DIGEST_MODELS), made absolute; fetch it first:
#               TOWNSHIP_DIGEST_MODELS=DIR township-digest models fetch
#   after --    options for both sbatch calls (--partition=..., --account=..., --cpus-per-task=...);
#               sbatch's own SBATCH_* variables work too.
#
# Prints "ARRAY_JOB_ID MERGE_JOB_ID" on stdout; logs go to SHARDS_OUT/slurm-logs/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "submit.sh: $*" >&2; exit 2; }
abs() { # absolute path of $1 (need not exist yet)
  case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac
}

shards="" mode=full bin=township-digest models="${TOWNSHIP_DIGEST_MODELS:-}"
positional=() extra=()
while (($#)); do
  case "$1" in
    --shards) shards="${2:-}"; shift 2 || usage ;;
    --shards=*) shards="${1#*=}"; shift ;;
    --mode) mode="${2:-}"; shift 2 || usage ;;
    --mode=*) mode="${1#*=}"; shift ;;
    --bin) bin="${2:-}"; shift 2 || usage ;;
    --bin=*) bin="${1#*=}"; shift ;;
    --models) models="${2:-}"; shift 2 || usage ;;
    --models=*) models="${1#*=}"; shift ;;
    -h|--help) usage ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option $1 (sbatch options go after --)" ;;
    *) positional+=("$1"); shift ;;
  esac
done
((${#positional[@]} == 3)) || usage
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || die "--shards N: a whole number >= 1 is required (got '${shards}')"
[[ "$mode" == fast || "$mode" == full ]] || die "--mode must be fast or full (got '$mode')"
command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm login node"
input="$(abs "${positional[0]}")"
out="$(abs "${positional[1]}")"
digest="$(abs "${positional[2]}")"
[[ -e "$input" ]] || die "input $input does not exist"
if [[ "$bin" == */* ]]; then
  bin="$(abs "$bin")"
  [[ -x "$bin" ]] || die "binary $bin is not executable"
fi
[[ -n "$models" ]] || die "no models folder: pass --models DIR or set TOWNSHIP_DIGEST_MODELS"
models="$(abs "$models")"
[[ -d "$models" ]] || die "models folder $models does not exist: fetch it first (TOWNSHIP_DIGEST_MODELS=$models township-digest models fetch)"
# sbatch's --export list is comma-separated: a comma inside a value would split it.
for v in "$input" "$out" "$digest" "$bin" "$models"; do
  [[ "$v" != *,* ]] || die "a path holds a comma, which sbatch --export cannot pass: $v"
done

logs="$out/slurm-logs"
mkdir -p "$logs"
export_common="ALL,TD_BIN=$bin,TOWNSHIP_DIGEST_MODELS=$models"
array_id="$(sbatch --parsable --array="0-$((shards - 1))" \
  --output="$logs/shard-%A_%a.out" \
  --export="$export_common,TD_SHARDS=$shards,TD_INPUT=$input,TD_OUT=$out,TD_MODE=$mode" \
  "${extra[@]}" "$here/shards.sbatch")"
array_id="${array_id%%;*}" # --parsable prints "id" or "id;cluster"
merge_id="$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
  --output="$logs/merge-%j.out" \
  --export="$export_common,TD_OUT=$out,TD_DIGEST=$digest" \
  "${extra[@]}" "$here/merge.sbatch")"
merge_id="${merge_id%%;*}"
cat >&2 <<MSG
submitted: array job $array_id ($shards shards, $mode mode) -> $out
           merge job $merge_id (after every shard ended well) -> $digest
watch:     squeue -j $array_id,$merge_id
logs:      $logs/
MSG
echo "$array_id $merge_id"
