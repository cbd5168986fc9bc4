"""The command-line layer of the AWS tools: argument parsing, confirmation, exit codes and one-line errors.

`scripts/deploy`, `backfill`, `routes` and `teardown` run the `main` of the module of the same name here; the work is
done by `infra.aws`, which knows nothing of argv, terminals or exit codes."""
