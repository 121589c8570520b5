"""Every budget of the reliability suites in one place.

Hypothesis runs derandomized (fixed seed per test), so every `make test` run feeds the
same inputs and a failure found once is found again.

The fuzz budgets sum to at least 10,000 generated inputs per `make test` run
(``TOTAL_FUZZ_EXAMPLES``); they were sized to stay under about two minutes on 2 cores.
"""

from __future__ import annotations

# concurrency: processes x operations each
CONCURRENT_PROCESSES = 4
CONCURRENT_OPS = 40

# fuzzing: examples per property (measured cost per example in brackets, 2 cores)
FUZZ_CLI_ARGS = 3000  # generated argument lists for every command [~2 ms]
FUZZ_CLI_VALUES = 1000  # well-formed commands with generated values [~12 ms]
FUZZ_CLI_NOT_UTF8 = 300  # argument lists with bytes that are not UTF-8 [~2 ms]
FUZZ_CLI_POSTGRES = 300  # generated argument lists on PostgreSQL [~25 ms]
FUZZ_REGION_MUTATED = 1000  # mutated region config files [~15 ms]
FUZZ_REGION_TEXT = 300  # arbitrary text as a region config file [~1 ms]
FUZZ_WORKFLOW_MUTATED = 3000  # mutated workflow definition files [~1 ms]
FUZZ_WORKFLOW_TEXT = 1000  # arbitrary text as a workflow file [<1 ms]
FUZZ_TEXTS = 1000  # proposal titles and summaries through submit [~15 ms]
FUZZ_MAIL = 1500  # titles, texts and names through every mail template and header [~8 ms]

TOTAL_FUZZ_EXAMPLES = (
    FUZZ_CLI_ARGS
    + FUZZ_CLI_VALUES
    + FUZZ_CLI_NOT_UTF8
    + FUZZ_CLI_POSTGRES
    + FUZZ_REGION_MUTATED
    + FUZZ_REGION_TEXT
    + FUZZ_WORKFLOW_MUTATED
    + FUZZ_WORKFLOW_TEXT
    + FUZZ_TEXTS
    + FUZZ_MAIL
)
assert TOTAL_FUZZ_EXAMPLES >= 10_000

# crash suite (tests/reliability/test_crash.py; bench/crash.py runs 1,000 operations and
# 100 kills). About 1 s per kill (a restarted worker imports regie) plus ~25 ms per
# operation: ~30 s on 2 cores.
CRASH_KILLS = 20
CRASH_OPERATIONS = 150
CRASH_SEED = 9
