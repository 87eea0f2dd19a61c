"""The inline session policy that limits brokered dispatch credentials to three SageMaker calls + one PassRole."""

from __future__ import annotations

from typing import Any

DISPATCH_ACTIONS = ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"]
JOB_PREFIX = "kitaru-"
SECRET_PREFIX = "kitaru/kitaru-"  # secret names: kitaru/<training job name>


def partition_of(region: str) -> str:
    """The ARN partition of a region (aws, aws-cn, aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def account_of(role_arn: str) -> str:
    """The account id in an IAM role ARN."""
    return role_arn.split(":")[4]


def dispatch_policy(execution_role_arn: str, region: str, *, secrets: bool = False) -> dict[str, Any]:
    """Create/Describe/Stop training jobs named `kitaru-*` in `region`; PassRole of the execution role to SageMaker.

    CreateTrainingJob also needs `sagemaker:AddTags` when the request carries tags (AWS's rule since 2023),
    limited here to the create call itself via `sagemaker:TaggingAction`. With `secrets` (token_delivery
    `secretsmanager`): create and delete secrets named `kitaru/kitaru-*` (one per job, holding its token).
    """
    partition, account = partition_of(region), account_of(execution_role_arn)
    jobs = f"arn:{partition}:sagemaker:{region}:{account}:training-job/{JOB_PREFIX}*"
    statements: list[dict[str, Any]] = [
        {"Sid": "KitaruTrainingJobs", "Effect": "Allow", "Action": DISPATCH_ACTIONS, "Resource": jobs},
        {"Sid": "KitaruTagOnCreate", "Effect": "Allow", "Action": "sagemaker:AddTags", "Resource": jobs,
         "Condition": {"StringEquals": {"sagemaker:TaggingAction": "CreateTrainingJob"}}},
        {"Sid": "KitaruPassExecutionRole", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": execution_role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
    ]
    if secrets:
        statements.append({"Sid": "KitaruJobSecrets", "Effect": "Allow",
                           "Action": ["secretsmanager:CreateSecret", "secretsmanager:DeleteSecret"],
                           "Resource": f"arn:{partition}:secretsmanager:{region}:{account}:secret:{SECRET_PREFIX}*"})
    return {"Version": "2012-10-17", "Statement": statements}
