"""Container entrypoint wrapper: load secret env vars from Secrets Manager, delete the secret, exec the command.

    python -m kitaru_sagemaker.entrypoint python -m kitaru.runtime EXEC_ID

Used with `token_delivery: secretsmanager`: `KITARU_SECRET_ENV_ARN` names a secret whose JSON object holds
the variables that must not appear in DescribeTrainingJob (the execution token). It is read with the
job's execution role and deleted at once (best effort), so it lives only until the container starts.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> None:
    """Merge the secret's variables into the environment, then replace this process with `argv`."""
    if not argv:
        sys.exit("usage: python -m kitaru_sagemaker.entrypoint COMMAND [ARGS...]")
    env = dict(os.environ)
    arn = env.pop("KITARU_SECRET_ENV_ARN", "")
    if arn:
        import boto3

        sm = boto3.client("secretsmanager")
        try:
            values = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
        except Exception as exc:  # noqa: BLE001 (the runtime cannot run without its token: say why, exit non-zero)
            sys.exit(f"kitaru: cannot read the execution's secret {arn}: {exc} (the execution role needs"
                     " secretsmanager:GetSecretValue on it)")
        env.update({str(k): str(v) for k, v in values.items()})
        try:
            sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        except Exception as exc:  # noqa: BLE001
            print(f"kitaru: could not delete {arn}: {exc}", file=sys.stderr)
    sys.stdout.flush()
    os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    main(sys.argv[1:])
