"""BidEngine's tooling, run from the repository root as modules (`python3 -m scripts.ci.image_check`)
so that the rooms import each other's code by name:
  ci/           the gates `make test` and `make lint` run (imports, chart, monitoring, report in a
                browser, image, Schemathesis, fuzzing, ruff and shellcheck)
  dev/          one-off measurements for a change under review (A/B runs, statement costs, plans,
                allocations)
  integration/  harnesses that drive real processes: reliability/ (leaks, soak, chaos, non-readers)
                and scaleout/ (a primary, a standby, several processes)
  lib/          what the rooms share: loadmix (service, cluster, load, report), check_report,
                scratch-pg.sh and venv.sh for the shell scripts
"""
